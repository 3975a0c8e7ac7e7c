//! The server-rendered pages: sign-in, device-code entry, the error page and the `form_post`
//! response. Plain HTML and a little CSS: every field has a `<label>`, the tab order is the
//! reading order, and no page needs JavaScript (the `form_post` page submits itself with a
//! script when it may, and shows a button when it may not).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0}\
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;box-shadow:0 2px 6px rgba(0,0,0,.2)}\
h1{font-size:1.5rem;margin:.5rem 0 1rem}.tenant{color:#555;margin:0}label{display:block;margin-top:1rem}\
input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}\
button{margin-top:1.5rem;padding:.5rem 1.5rem;font-size:1rem;background:#0067b8;color:#fff;border:0}\
button.secondary{background:#ccc;color:#000}button:focus,input:focus{outline:3px solid #000}\
.error{color:#a80000}code{font-size:1.1rem}";

/// A complete page around `body`, with no caching and no framing (clickjacking).
pub(crate) fn page(status: StatusCode, title: &str, tenant_name: &str, body: &str) -> Response {
    page_with_csp(
        status,
        title,
        tenant_name,
        body,
        "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'".into(),
    )
}

/// A page whose `body` holds the passkey script (see [`PASSKEY_SCRIPT`]): the CSP allows
/// that one inline script by a per-response nonce, nothing else.
pub(crate) fn page_with_script(
    status: StatusCode,
    title: &str,
    tenant_name: &str,
    body: &str,
    nonce: &str,
) -> Response {
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'"
    );
    page_with_csp(status, title, tenant_name, body, csp)
}

fn page_with_csp(status: StatusCode, title: &str, tenant_name: &str, body: &str, csp: String) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
<style>{STYLE}</style></head><body><main><p class=\"tenant\">{tenant}</p>{body}</main></body></html>",
        title = esc(title),
        tenant = esc(tenant_name),
    );
    let mut res = (status, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// What the sign-in form shows.
pub(crate) struct SignInForm<'a> {
    pub tenant_name: &'a str,
    pub app_name: &'a str,
    /// Where the form posts.
    pub action: &'a str,
    pub flow: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// Whether to offer "Cancel" (device code: declining ends the device's polling).
    pub can_decline: bool,
    /// The passkey offer: `PublicKeyCredentialRequestOptions` JSON and the script nonce.
    pub passkey: Option<(String, String)>,
}

pub(crate) fn sign_in(f: &SignInForm<'_>) -> Response {
    let error = f.error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default();
    let decline = if f.can_decline {
        "<button type=\"submit\" name=\"action\" value=\"decline\" class=\"secondary\">Cancel</button>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Sign in</h1><p>to continue to {app}</p>{error}\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"flow\" value=\"{flow}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"username\">Email, phone, or Skype</label>\
<input type=\"email\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required autofocus>\
<label for=\"password\">Password</label>\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\" name=\"action\" value=\"signin\">Sign in</button> {decline}</form>{passkey}",
        app = esc(f.app_name),
        action = esc(f.action),
        flow = esc(f.flow),
        csrf = esc(f.csrf),
        username = esc(f.username),
        passkey = f
            .passkey
            .as_ref()
            .map(|(options, nonce)| passkey_form(f.action, f.flow, f.csrf, options, nonce, "Sign in with a passkey"))
            .unwrap_or_default(),
    );
    match &f.passkey {
        Some((_, nonce)) => page_with_script(StatusCode::OK, "Sign in to your account", f.tenant_name, &body, nonce),
        None => page(StatusCode::OK, "Sign in to your account", f.tenant_name, &body),
    }
}

/// What the account picker (`prompt=select_account`) shows.
pub(crate) struct AccountPicker<'a> {
    pub tenant_name: &'a str,
    pub app_name: &'a str,
    /// Where the form posts (the sign-in endpoint).
    pub action: &'a str,
    pub flow: &'a str,
    pub csrf: &'a str,
    pub display_name: &'a str,
    pub user_principal_name: &'a str,
}

/// The account picker: one button per signed-in account, then "Use another account".
pub(crate) fn account_picker(f: &AccountPicker<'_>) -> Response {
    let body = format!(
        "<h1>Pick an account</h1><p>to continue to {app}</p>\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"flow\" value=\"{flow}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\" name=\"action\" value=\"continue\" class=\"account\">{name}<br>{upn}</button> \
<button type=\"submit\" name=\"action\" value=\"other\" class=\"secondary\">Use another account</button></form>",
        app = esc(f.app_name),
        action = esc(f.action),
        flow = esc(f.flow),
        csrf = esc(f.csrf),
        name = esc(f.display_name),
        upn = esc(f.user_principal_name),
    );
    page(StatusCode::OK, "Pick an account", f.tenant_name, &body)
}

/// The hidden fields every step of a sign-in form carries.
fn step_fields(flow: &str, csrf: &str, step: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"flow\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<input type=\"hidden\" name=\"step\" value=\"{}\">",
        esc(flow),
        esc(csrf),
        esc(step)
    )
}

fn alert(error: Option<&str>) -> String {
    error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default()
}

/// The change-password step (`forceChangePasswordNextSignIn`), after the password.
pub(crate) fn change_password(
    tenant_name: &str,
    action: &str,
    flow: &str,
    csrf: &str,
    error: Option<&str>,
) -> Response {
    let body = format!(
        "<h1>Update your password</h1><p>You need to update your password because this is the first time you are \
signing in, or because your password has expired.</p>{error}\
<form method=\"post\" action=\"{action}\">{fields}\
<label for=\"new_password\">New password</label>\
<input type=\"password\" id=\"new_password\" name=\"new_password\" autocomplete=\"new-password\" required autofocus>\
<label for=\"confirm_password\">Confirm password</label>\
<input type=\"password\" id=\"confirm_password\" name=\"confirm_password\" autocomplete=\"new-password\" required>\
<button type=\"submit\">Sign in</button></form>",
        error = alert(error),
        action = esc(action),
        fields = step_fields(flow, csrf, "change_password"),
    );
    page(StatusCode::OK, "Update your password", tenant_name, &body)
}

/// The verification-code step for a user with an authenticator app (TOTP).
pub(crate) fn totp(tenant_name: &str, action: &str, flow: &str, csrf: &str, error: Option<&str>) -> Response {
    let body = format!(
        "<h1>Enter code</h1><p>Enter the code displayed in the authenticator app on your mobile device.</p>{error}\
<form method=\"post\" action=\"{action}\">{fields}\
<label for=\"otc\">Code</label>\
<input type=\"text\" id=\"otc\" name=\"otc\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
pattern=\"[0-9]{{6}}\" maxlength=\"6\" required autofocus>\
<button type=\"submit\">Verify</button></form>",
        error = alert(error),
        action = esc(action),
        fields = step_fields(flow, csrf, "totp"),
    );
    page(StatusCode::OK, "Enter code", tenant_name, &body)
}

/// The registration step when a second factor is required and the user has none: the secret
/// (and its `otpauth://` URI) to add to an authenticator app, then a code from the app.
#[allow(clippy::too_many_arguments)]
pub(crate) fn totp_enrol(
    tenant_name: &str,
    action: &str,
    flow: &str,
    csrf: &str,
    secret: &str,
    uri: &str,
    error: Option<&str>,
) -> Response {
    let grouped: Vec<String> = secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let body = format!(
        "<h1>Keep your account secure</h1><p>Your organization requires you to set up an authenticator app to \
prove who you are.</p>{error}\
<p>In your authenticator app, add a work or school account and enter this key (or open the link below on \
the device with the app):</p><p><code id=\"secret\">{grouped}</code></p>\
<p><a id=\"otpauth\" href=\"{uri}\">{uri}</a></p>\
<form method=\"post\" action=\"{action}\">{fields}\
<label for=\"otc\">Enter the 6-digit code the app shows</label>\
<input type=\"text\" id=\"otc\" name=\"otc\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
pattern=\"[0-9]{{6}}\" maxlength=\"6\" required autofocus>\
<button type=\"submit\">Next</button></form>",
        error = alert(error),
        grouped = esc(&grouped.join(" ")),
        uri = esc(uri),
        action = esc(action),
        fields = step_fields(flow, csrf, "enrol"),
    );
    page(StatusCode::OK, "Keep your account secure", tenant_name, &body)
}

/// The browser half of both passkey ceremonies: decodes the base64url fields of the options
/// into `ArrayBuffer`s, calls `navigator.credentials.create` (options with a `user`) or `.get`,
/// and posts the credential back with its binary fields base64url-encoded (no padding), which
/// is what the server decodes.
const PASSKEY_SCRIPT: &str = r#"(function(){
var b2u=function(b){var s='';new Uint8Array(b).forEach(function(c){s+=String.fromCharCode(c);});
return btoa(s).replace(/\+/g,'-').replace(/\//g,'_').replace(/=+$/,'');};
var u2b=function(t){t=t.replace(/-/g,'+').replace(/_/g,'/');while(t.length%4){t+='=';}
var r=atob(t),a=new Uint8Array(r.length);for(var i=0;i<r.length;i++){a[i]=r.charCodeAt(i);}return a.buffer;};
var data=document.getElementById('passkey-options'),form=document.getElementById('passkey-form');
if(!data||!form||!window.PublicKeyCredential){return;}
var button=document.getElementById('passkey-button');button.hidden=false;
button.addEventListener('click',function(ev){ev.preventDefault();
var o=JSON.parse(data.textContent).publicKey;o.challenge=u2b(o.challenge);
if(o.user){o.user.id=u2b(o.user.id);}
(o.excludeCredentials||[]).forEach(function(c){c.id=u2b(c.id);});
(o.allowCredentials||[]).forEach(function(c){c.id=u2b(c.id);});
var p=o.user?navigator.credentials.create({publicKey:o}):navigator.credentials.get({publicKey:o});
p.then(function(c){var r=c.response,out={clientDataJSON:b2u(r.clientDataJSON)};
if(r.attestationObject){out.attestationObject=b2u(r.attestationObject);}
if(r.authenticatorData){out.authenticatorData=b2u(r.authenticatorData);out.signature=b2u(r.signature);
out.userHandle=r.userHandle?b2u(r.userHandle):null;}
form.elements['credential'].value=JSON.stringify({id:c.id,rawId:b2u(c.rawId),type:c.type,response:out});
form.submit();}).catch(function(e){document.getElementById('passkey-error').textContent='The passkey was not used ('+e.name+').';});
});})();"#;

/// JSON for a `<script type="application/json">` block: `<` escaped so no `</script>` ends it.
fn json_block(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// The passkey part of a page: the options, a form (with a `credential` field the script
/// fills) that posts to `action` with step `passkey`, and the script.
fn passkey_form(action: &str, flow: &str, csrf: &str, options: &str, nonce: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\" id=\"passkey-form\">{fields}\
<input type=\"hidden\" name=\"credential\" value=\"\">\
<button type=\"submit\" id=\"passkey-button\" class=\"secondary\" hidden>{label}</button>\
<p id=\"passkey-error\" class=\"error\" role=\"alert\"></p></form>\
<script type=\"application/json\" id=\"passkey-options\">{options}</script>\
<script nonce=\"{nonce}\">{PASSKEY_SCRIPT}</script>",
        action = esc(action),
        fields = step_fields(flow, csrf, "passkey"),
        label = esc(label),
        options = json_block(options),
        nonce = esc(nonce),
    )
}

/// The passkey step after the password (a user with a passkey proves the second factor).
pub(crate) fn passkey_step(
    tenant_name: &str,
    action: &str,
    flow: &str,
    csrf: &str,
    offer: &(String, String),
    error: Option<&str>,
) -> Response {
    let body = format!(
        "<h1>Verify your identity</h1><p>Use your passkey (security key or device) to sign in.</p>{error}{form}",
        error = alert(error),
        form = passkey_form(action, flow, csrf, &offer.0, &offer.1, "Use a passkey"),
    );
    page_with_script(StatusCode::OK, "Verify your identity", tenant_name, &body, &offer.1)
}

/// The step-up before adding a passkey: the user proves a method they already have (a passkey
/// ceremony with `offer`, and/or a code from the authenticator app with `totp`).
pub(crate) fn passkey_step_up(
    tenant_name: &str,
    action: &str,
    offer: Option<&(String, String)>,
    totp: bool,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let passkey =
        offer.map(|(options, nonce)| passkey_form(action, "", "", options, nonce, "Use a passkey")).unwrap_or_default();
    let code = if totp {
        format!(
            "<form method=\"post\" action=\"{action}\" id=\"code-form\">{fields}\
<label for=\"otc\">Code from your authenticator app</label>\
<input type=\"text\" id=\"otc\" name=\"otc\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
pattern=\"[0-9]{{6}}\" maxlength=\"6\" required>\
<button type=\"submit\">Verify</button></form>",
            action = esc(action),
            fields = step_fields("", "", "totp"),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Verify your identity</h1><p id=\"step-up\">You already have a way to verify your identity. Before you add \
a passkey, use it to verify it's you: adding a passkey requires multifactor authentication within the last 5 \
minutes.</p>{error}{passkey}{code}",
        error = alert(message),
    );
    match offer {
        Some((_, nonce)) => page_with_script(status, "Verify your identity", tenant_name, &body, nonce),
        None => page(status, "Verify your identity", tenant_name, &body),
    }
}

/// The registration page of a signed-in user: a name for the passkey and the button that
/// creates it. `done` is the id of a passkey just registered.
pub(crate) fn passkey_register(
    tenant_name: &str,
    action: &str,
    offer: &(String, String),
    done: Option<&str>,
    error: Option<&str>,
) -> Response {
    let done = done
        .map(|id| format!("<p role=\"status\">Passkey registered: <code id=\"method\">{}</code></p>", esc(id)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Add a passkey</h1><p>Sign in without a password: add a security key, or a passkey on this device.</p>\
{done}{error}<form method=\"post\" action=\"{action}\" id=\"passkey-form\">\
<input type=\"hidden\" name=\"credential\" value=\"\">\
<label for=\"display_name\">Name</label>\
<input type=\"text\" id=\"display_name\" name=\"display_name\" maxlength=\"64\" value=\"Passkey\">\
<button type=\"submit\" id=\"passkey-button\" hidden>Add passkey</button>\
<p id=\"passkey-error\" class=\"error\" role=\"alert\"></p></form>\
<script type=\"application/json\" id=\"passkey-options\">{options}</script>\
<script nonce=\"{nonce}\">{PASSKEY_SCRIPT}</script>",
        error = alert(error),
        action = esc(action),
        options = json_block(&offer.0),
        nonce = esc(&offer.1),
    );
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page_with_script(status, "Add a passkey", tenant_name, &body, &offer.1)
}

/// The error page: the AADSTS code, the message, and the request's ids, as Entra shows them.
pub(crate) fn error(tenant_name: &str, status: StatusCode, code: u32, message: &str, trace_id: &str) -> Response {
    let body = format!(
        "<h1>Sorry, but we're having trouble signing you in.</h1>\
<p class=\"error\" role=\"alert\"><strong>AADSTS{code}</strong>: {message}</p>\
<p>Request Id: {trace}</p>",
        message = esc(message),
        trace = esc(trace_id),
    );
    page(status, "Sign in error", tenant_name, &body)
}

/// The device-code entry form.
pub(crate) fn device_entry(tenant_name: &str, action: &str, csrf: &str, error: Option<&str>) -> Response {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "<h1>Enter code</h1><p>Enter the code displayed on your app or device.</p>{error}\
<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"otc\">Code</label>\
<input type=\"text\" id=\"otc\" name=\"otc\" autocomplete=\"off\" required autofocus>\
<button type=\"submit\">Next</button></form>",
        action = esc(action),
        csrf = esc(csrf),
    );
    page(StatusCode::OK, "Enter code", tenant_name, &body)
}

/// What the device page shows once the device is signed in (or declined).
pub(crate) fn device_done(tenant_name: &str, app_name: &str, approved: bool) -> Response {
    let body = if approved {
        format!(
            "<h1>You're signed in</h1><p>You have signed in to the {} application on your device. You may now close this window.</p>",
            esc(app_name)
        )
    } else {
        "<h1>Sign-in cancelled</h1><p>The device will not be signed in. You may now close this window.</p>".to_string()
    };
    page(StatusCode::OK, "Device sign-in", tenant_name, &body)
}

/// `response_mode=form_post`: an HTML form of the response parameters posted to the redirect
/// URI. The button makes it work without scripts; the inline script (allowed by a hash-free
/// nonce-less CSP only for this page) submits it at once when scripts run.
pub(crate) fn form_post(redirect_uri: &str, params: &[(&str, String)]) -> Response {
    let fields: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(k), esc(v)))
        .collect();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Working...</title></head>\
<body><form method=\"post\" name=\"hiddenform\" action=\"{action}\">{fields}\
<noscript><p>Script is disabled. Click Submit to continue.</p></noscript>\
<button type=\"submit\">Submit</button></form>\
<script>document.forms[0].submit();</script></body></html>",
        action = esc(redirect_uri),
    );
    let mut res = (StatusCode::OK, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_attributes() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
