//! Entra-shaped tokens for a signed-in user: v1 access tokens (what Entra issues for
//! Microsoft Graph), ID tokens (v2 and v1), the pairwise `sub`, and `client_info`.
//!
//! # Access token claims (v1, delegated)
//!
//! As a decoded Entra token for Graph obtained by a user: `aud`, `iss`, `iat`, `nbf`, `exp`,
//! `acct` (0: a member of the tenant), `acr` ("1"), `aio`, `amr` (`["pwd"]`),
//! `app_displayname`, `appid`, `appidacr`, `family_name`, `given_name` (each only when the
//! user has one), `idtyp: "user"`, `ipaddr` (when known), `name`, `oid`, `rh`, `scp`, `sub`
//! (pairwise: per user *and* application, so two apps cannot correlate a user by `sub`),
//! `tid`, `unique_name`, `upn`, `uti`, `ver: "1.0"`, `wids` (role template ids), `xms_tcdt`.
//!
//! # Access token claims (v2, for resources whose `accessTokenAcceptedVersion` is 2)
//!
//! As Microsoft's access token claims reference gives them: `iss` is `.../{tid}/v2.0`, `aud`
//! is always the resource's appId, `azp`/`azpacr` replace `appid`/`appidacr`,
//! `preferred_username` replaces `unique_name`/`upn`, and the v1-only claims (`acct`, `acr`,
//! `amr`, `app_displayname`, `family_name`, `given_name`, `ipaddr`, `xms_tcdt`) are absent.
//!
//! # ID token claims
//!
//! v2: `aud` (the client id), `iss` (`.../{tid}/v2.0`), `iat`, `nbf`, `exp`, `aio`, `name`,
//! `nonce` (when the request had one), `oid`, `preferred_username`, `rh`, `sub`, `tid`, `uti`,
//! `ver: "2.0"`. v1 adds `amr`, `family_name`, `given_name`, `unique_name`, `upn` and has
//! `iss` `.../{tid}/`.
//!
//! An ID token sent through the browser with a code or an access token (the hybrid and
//! implicit flows) also carries `c_hash` / `at_hash` (OpenID Connect Core 3.3.2.11: the
//! base64url of the left half of the SHA-256 of the code or access token), which binds them
//! to it so that neither can be swapped in the URL.

use aws_lc_rs::digest;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::b64;
use crate::jwt::HeaderStyle;
use crate::tokens::{ClientAuthMethod, ISSUED_AT_BACKDATE_SECS, MappedClaims, TokenIssuer, TokenVersion};
use crate::{IdentityError, Result, unix_now};

/// The user facts tokens carry.
#[derive(Debug, Clone, Default)]
pub struct UserFacts {
    pub object_id: Uuid,
    pub user_principal_name: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
}

/// A delegated access token to issue.
#[derive(Debug, Clone)]
pub struct UserTokenRequest {
    pub tenant_id: Uuid,
    /// `iss` (and `idp` is not emitted for home-tenant users, as Entra).
    pub issuer: String,
    pub audience: String,
    pub app_id: Uuid,
    pub app_display_name: String,
    pub client_auth: ClientAuthMethod,
    pub user: UserFacts,
    /// Delegated scopes (`scp`, space-separated in the token).
    pub scopes: Vec<String>,
    /// Role template ids (`wids`).
    pub wids: Vec<String>,
    /// Authentication methods (`amr`).
    pub amr: Vec<String>,
    pub ip_address: Option<String>,
    pub lifetime_secs: i64,
    pub tenant_created_at: Option<i64>,
    /// The format the resource accepts (its `accessTokenAcceptedVersion`).
    pub version: TokenVersion,
    /// Per the resource application's `groupMembershipClaims`.
    pub groups: GroupsClaim,
    /// The `value`s of the resource's app roles assigned to the user, directly or through
    /// groups (`roles`, left out when empty, as Entra).
    pub roles: Vec<String>,
    /// Optional claims the resource application's `optionalClaims.accessToken` asks for, with
    /// their values; added where the token does not already carry the claim.
    pub optional_claims: Map<String, Value>,
    /// What the resource's claims mapping policy does to the token.
    pub mapped: MappedClaims,
}

/// An ID token to issue.
#[derive(Debug, Clone)]
pub struct IdTokenRequest {
    pub tenant_id: Uuid,
    pub issuer: String,
    /// The client id (`aud`).
    pub client_id: Uuid,
    pub user: UserFacts,
    pub nonce: Option<String>,
    pub amr: Vec<String>,
    pub version: TokenVersion,
    pub lifetime_secs: i64,
    /// Per the client application's `groupMembershipClaims`.
    pub groups: GroupsClaim,
    /// The authorization code sent with this ID token (hybrid flow): `c_hash`.
    pub code: Option<String>,
    /// Whether the access token signed with it is sent with it (implicit flow): `at_hash`.
    pub hash_access_token: bool,
    /// The `value`s of the client application's app roles assigned to the user (`roles`,
    /// left out when empty).
    pub roles: Vec<String>,
    /// Optional claims the client application's `optionalClaims.idToken` asks for, with their
    /// values; added where the token does not already carry the claim.
    pub optional_claims: Map<String, Value>,
    /// The browser session of the sign-in (`sid`, which front-channel logout names).
    pub sid: Option<String>,
    /// What the client's claims mapping policy does to the token (its audience is the client).
    pub mapped: MappedClaims,
}

/// `c_hash` / `at_hash` of `value`: base64url of the left half of its SHA-256 (the ID token
/// is RS256, so the hash is SHA-256).
pub fn half_hash(value: &str) -> String {
    let d = digest::digest(&digest::SHA256, value.as_bytes());
    b64::url_encode(&d.as_ref()[..16])
}

/// Most group ids a JWT carries; past it Entra omits `groups` and points to Graph instead
/// (the "overage" claim).
pub const JWT_GROUPS_LIMIT: usize = 200;
/// Most group ids a token returned in a URL fragment (implicit and hybrid flows) carries; past
/// it Entra emits `hasgroups: true` ("six or more groups", to keep the URL short).
pub const FRAGMENT_GROUPS_LIMIT: usize = 5;

/// The `groups` claim of a token after Entra's size limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GroupsClaim {
    /// The application asks for no groups (or the user is in none).
    #[default]
    None,
    /// The ids, within the limit.
    Groups(Vec<String>),
    /// Too many for a JWT: `_claim_names`/`_claim_sources` name where to read them.
    Overage { endpoint: String },
    /// Too many for a URL fragment: `hasgroups: true`.
    HasGroups,
}

impl GroupsClaim {
    /// The claim for `ids`, for a token sent in a URL fragment or not; `endpoint` is where
    /// an overage claim sends the resource (the user's `getMemberObjects` on Graph).
    pub fn limited(ids: Vec<String>, fragment: bool, endpoint: impl FnOnce() -> String) -> GroupsClaim {
        match ids.len() {
            0 => GroupsClaim::None,
            n if fragment && n > FRAGMENT_GROUPS_LIMIT => GroupsClaim::HasGroups,
            n if n > JWT_GROUPS_LIMIT => GroupsClaim::Overage { endpoint: endpoint() },
            _ => GroupsClaim::Groups(ids),
        }
    }
}

/// Adds the groups claims of `g` to a claim set.
fn insert_groups(c: &mut Map<String, Value>, g: &GroupsClaim) {
    match g {
        GroupsClaim::None => {}
        GroupsClaim::Groups(ids) => {
            c.insert("groups".into(), json!(ids));
        }
        GroupsClaim::Overage { endpoint } => {
            c.insert("_claim_names".into(), json!({"groups": "src1"}));
            c.insert("_claim_sources".into(), json!({"src1": {"endpoint": endpoint}}));
        }
        GroupsClaim::HasGroups => {
            c.insert("hasgroups".into(), json!(true));
        }
    }
}

/// Signed user tokens.
#[derive(Debug, Clone)]
pub struct IssuedUserTokens {
    pub access_token: String,
    pub id_token: Option<String>,
    pub expires_in: i64,
    pub expires_on: i64,
    pub not_before: i64,
}

fn random_b64(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| IdentityError::Crypto("random generation"))?;
    Ok(b64::url_encode(buf))
}

/// The pairwise subject of `user` for `app_id`: base64url SHA-256 over tenant, user and
/// application (43 characters, like Entra's), stable for a pair and unrelated across apps.
pub fn pairwise_subject(tenant: Uuid, user: Uuid, app_id: Uuid) -> String {
    let input = format!("cerulean-sub:{tenant}:{user}:{app_id}");
    b64::url_encode(digest::digest(&digest::SHA256, input.as_bytes()).as_ref())
}

/// `client_info` of a token response: base64url of `{"uid": oid, "utid": tid}`, which MSAL
/// uses as the account's home identifier.
pub fn client_info(user: Uuid, tenant: Uuid) -> String {
    b64::url_encode(json!({"uid": user.to_string(), "utid": tenant.to_string()}).to_string())
}

fn insert_opt(c: &mut Map<String, Value>, name: &str, v: &Option<String>) {
    if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
        c.insert(name.into(), json!(v));
    }
}

/// The claims of a delegated access token issued at `now` (see the module docs).
pub fn user_access_token_claims(req: &UserTokenRequest, now: i64) -> Result<Map<String, Value>> {
    if req.lifetime_secs <= 0 {
        return Err(IdentityError::InvalidRequest("token lifetime must be positive".into()));
    }
    let issued = now - ISSUED_AT_BACKDATE_SECS;
    let u = &req.user;
    let v1 = req.version == TokenVersion::V1;
    let mut c = Map::new();
    c.insert("aud".into(), json!(req.audience));
    c.insert("iss".into(), json!(req.issuer));
    c.insert("iat".into(), json!(issued));
    c.insert("nbf".into(), json!(issued));
    c.insert("exp".into(), json!(now + req.lifetime_secs));
    insert_groups(&mut c, &req.groups);
    if v1 {
        c.insert("acct".into(), json!(0));
        c.insert("acr".into(), json!("1"));
    }
    c.insert("aio".into(), json!(random_b64(42)?));
    if v1 {
        c.insert("amr".into(), json!(req.amr));
        c.insert("app_displayname".into(), json!(req.app_display_name));
        c.insert("appid".into(), json!(req.app_id.to_string()));
        c.insert("appidacr".into(), json!(req.client_auth.acr()));
        insert_opt(&mut c, "family_name", &u.surname);
        insert_opt(&mut c, "given_name", &u.given_name);
    } else {
        c.insert("azp".into(), json!(req.app_id.to_string()));
        c.insert("azpacr".into(), json!(req.client_auth.acr()));
    }
    c.insert("idtyp".into(), json!("user"));
    if v1 {
        insert_opt(&mut c, "ipaddr", &req.ip_address);
    }
    c.insert("name".into(), json!(u.display_name.clone().unwrap_or_default()));
    c.insert("oid".into(), json!(u.object_id.to_string()));
    if !v1 {
        c.insert("preferred_username".into(), json!(u.user_principal_name));
    }
    c.insert("rh".into(), json!(format!("0.{}", random_b64(33)?)));
    if !req.roles.is_empty() {
        c.insert("roles".into(), json!(req.roles));
    }
    c.insert("scp".into(), json!(req.scopes.join(" ")));
    c.insert("sub".into(), json!(pairwise_subject(req.tenant_id, u.object_id, req.app_id)));
    c.insert("tid".into(), json!(req.tenant_id.to_string()));
    if v1 {
        c.insert("unique_name".into(), json!(u.user_principal_name));
        c.insert("upn".into(), json!(u.user_principal_name));
    }
    c.insert("uti".into(), json!(random_b64(16)?));
    c.insert("ver".into(), json!(if v1 { "1.0" } else { "2.0" }));
    c.insert("wids".into(), json!(req.wids));
    if let (true, Some(tcdt)) = (v1, req.tenant_created_at) {
        c.insert("xms_tcdt".into(), json!(tcdt));
    }
    insert_optional(&mut c, &req.optional_claims);
    req.mapped.apply(&mut c);
    Ok(c)
}

/// Adds optional claims the token does not already carry (a standard claim keeps its value).
fn insert_optional(c: &mut Map<String, Value>, optional: &Map<String, Value>) {
    for (name, value) in optional {
        c.entry(name.clone()).or_insert_with(|| value.clone());
    }
}

/// The claims of an ID token issued at `now` (see the module docs).
pub fn id_token_claims(req: &IdTokenRequest, now: i64) -> Result<Map<String, Value>> {
    let issued = now - ISSUED_AT_BACKDATE_SECS;
    let u = &req.user;
    let mut c = Map::new();
    c.insert("aud".into(), json!(req.client_id.to_string()));
    c.insert("iss".into(), json!(req.issuer));
    c.insert("iat".into(), json!(issued));
    c.insert("nbf".into(), json!(issued));
    c.insert("exp".into(), json!(now + req.lifetime_secs));
    insert_groups(&mut c, &req.groups);
    c.insert("aio".into(), json!(random_b64(42)?));
    if req.version == TokenVersion::V1 {
        c.insert("amr".into(), json!(req.amr));
        insert_opt(&mut c, "family_name", &u.surname);
        insert_opt(&mut c, "given_name", &u.given_name);
    }
    c.insert("name".into(), json!(u.display_name.clone().unwrap_or_default()));
    if let Some(nonce) = &req.nonce {
        c.insert("nonce".into(), json!(nonce));
    }
    if let Some(code) = &req.code {
        c.insert("c_hash".into(), json!(half_hash(code)));
    }
    c.insert("oid".into(), json!(u.object_id.to_string()));
    if req.version == TokenVersion::V2 {
        c.insert("preferred_username".into(), json!(u.user_principal_name));
    }
    c.insert("rh".into(), json!(format!("0.{}", random_b64(33)?)));
    if !req.roles.is_empty() {
        c.insert("roles".into(), json!(req.roles));
    }
    if let Some(sid) = &req.sid {
        c.insert("sid".into(), json!(sid));
    }
    c.insert("sub".into(), json!(pairwise_subject(req.tenant_id, u.object_id, req.client_id)));
    c.insert("tid".into(), json!(req.tenant_id.to_string()));
    if req.version == TokenVersion::V1 {
        c.insert("unique_name".into(), json!(u.user_principal_name));
        c.insert("upn".into(), json!(u.user_principal_name));
    }
    c.insert("uti".into(), json!(random_b64(16)?));
    c.insert(
        "ver".into(),
        json!(match req.version {
            TokenVersion::V1 => "1.0",
            TokenVersion::V2 => "2.0",
        }),
    );
    insert_optional(&mut c, &req.optional_claims);
    req.mapped.apply(&mut c);
    Ok(c)
}

impl TokenIssuer {
    /// Signs a delegated access token and, when asked, an ID token with the tenant's key.
    pub async fn issue_user_tokens(
        &self,
        access: &UserTokenRequest,
        id: Option<&IdTokenRequest>,
    ) -> Result<IssuedUserTokens> {
        let ring = self.tenant_keys(access.tenant_id).await?;
        let now = unix_now();
        // v1 access tokens carry `x5t` beside `kid`; v2 ones only `kid` (as Entra's).
        let style = match access.version {
            TokenVersion::V1 => HeaderStyle::KidAndX5t,
            TokenVersion::V2 => HeaderStyle::KidOnly,
        };
        let access_token = ring.signer().sign(&user_access_token_claims(access, now)?, style)?;
        let id_token = match id {
            Some(req) => {
                let mut claims = id_token_claims(req, now)?;
                if req.hash_access_token {
                    claims.insert("at_hash".into(), json!(half_hash(&access_token)));
                }
                Some(ring.signer().sign(&claims, HeaderStyle::KidOnly)?)
            }
            None => None,
        };
        Ok(IssuedUserTokens {
            access_token,
            id_token,
            expires_in: access.lifetime_secs,
            expires_on: now + access.lifetime_secs,
            not_before: now - ISSUED_AT_BACKDATE_SECS,
        })
    }
}

/// A new opaque refresh token for `tenant`: a version prefix, the tenant (so the `common`
/// endpoint can find the store partition; it is no secret) and 256 random bits.
pub fn new_refresh_token(tenant: Uuid) -> Result<String> {
    Ok(format!("1.{}.{}", tenant.simple(), random_b64(32)?))
}

/// The tenant a refresh token names, if it is one of ours.
pub fn refresh_token_tenant(token: &str) -> Option<Uuid> {
    let mut parts = token.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("1"), Some(t), Some(_)) => Uuid::try_parse(t).ok(),
        _ => None,
    }
}

/// The hash under which a refresh token is stored (hex SHA-256; the token has 256 random
/// bits, so a fast hash is enough: nothing can be guessed from it).
pub fn refresh_token_hash(token: &str) -> String {
    digest::digest(&digest::SHA256, token.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserFacts {
        UserFacts {
            object_id: Uuid::new_v4(),
            user_principal_name: "adele@contoso.com".into(),
            display_name: Some("Adele Vance".into()),
            given_name: Some("Adele".into()),
            surname: None,
        }
    }

    #[test]
    fn access_and_id_token_claims() {
        let tenant = Uuid::new_v4();
        let req = UserTokenRequest {
            tenant_id: tenant,
            issuer: format!("https://x/{tenant}/"),
            audience: "https://graph.microsoft.com".into(),
            app_id: Uuid::new_v4(),
            app_display_name: "app".into(),
            client_auth: ClientAuthMethod::PublicClient,
            user: user(),
            scopes: vec!["User.Read".into(), "openid".into()],
            wids: vec![MEMBER.into()],
            amr: vec!["pwd".into()],
            ip_address: None,
            lifetime_secs: 3599,
            tenant_created_at: Some(1_600_000_000),
            version: TokenVersion::V1,
            groups: GroupsClaim::None,
            roles: Vec::new(),
            optional_claims: Map::new(),
            mapped: MappedClaims::default(),
        };
        let c = user_access_token_claims(&req, 1_700_000_000).expect("claims");
        assert_eq!(c["ver"], "1.0");
        assert_eq!(c["appid"], req.app_id.to_string());
        assert_eq!(c["upn"], "adele@contoso.com");
        assert_eq!(c["unique_name"], "adele@contoso.com");
        assert_eq!(c["amr"], json!(["pwd"]));
        assert!(c.get("azp").is_none() && c.get("preferred_username").is_none());
        // v2: azp/azpacr, preferred_username, no v1-only claims.
        let v2 = UserTokenRequest { version: TokenVersion::V2, ..req.clone() };
        let c2 = user_access_token_claims(&v2, 1_700_000_000).expect("claims");
        assert_eq!(c2["ver"], "2.0");
        assert_eq!(c2["azp"], req.app_id.to_string());
        assert_eq!(c2["azpacr"], "0");
        assert_eq!(c2["preferred_username"], "adele@contoso.com");
        assert_eq!(c2["scp"], "User.Read openid");
        assert_eq!(c2["sub"], c["sub"]);
        for absent in [
            "appid",
            "appidacr",
            "upn",
            "unique_name",
            "amr",
            "acr",
            "acct",
            "app_displayname",
            "given_name",
            "xms_tcdt",
        ] {
            assert!(c2.get(absent).is_none(), "{absent}");
        }
        assert_eq!(c["scp"], "User.Read openid");
        assert_eq!(c["idtyp"], "user");
        assert_eq!(c["appidacr"], "0");
        assert_eq!(c["given_name"], "Adele");
        assert!(c.get("family_name").is_none() && c.get("ipaddr").is_none());
        assert_eq!(c["sub"].as_str().map(str::len), Some(43));
        assert_ne!(c["sub"], c["oid"]);
        let other_app = pairwise_subject(tenant, req.user.object_id, Uuid::new_v4());
        assert_ne!(c["sub"].as_str(), Some(other_app.as_str()));

        let id = IdTokenRequest {
            tenant_id: tenant,
            issuer: format!("https://x/{tenant}/v2.0"),
            client_id: req.app_id,
            user: req.user.clone(),
            nonce: Some("n-1".into()),
            amr: vec!["pwd".into()],
            version: TokenVersion::V2,
            lifetime_secs: 3600,
            groups: GroupsClaim::Groups(vec!["g1".into()]),
            roles: Vec::new(),
            code: Some("abc".into()),
            hash_access_token: false,
            optional_claims: Map::new(),
            sid: None,
            mapped: MappedClaims::default(),
        };
        let i = id_token_claims(&id, 1_700_000_000).expect("id");
        assert_eq!(i["aud"], req.app_id.to_string());
        assert_eq!(i["nonce"], "n-1");
        // OpenID Connect Core 3.3.2.11: left half of SHA-256, base64url.
        assert_eq!(i["c_hash"], "ungWv48Bz-pBQUDeXa4iIw");
        assert_eq!(i["preferred_username"], "adele@contoso.com");
        assert_eq!(i["ver"], "2.0");
        assert_eq!(i["sub"], c["sub"], "same app, same subject");
        assert!(i.get("upn").is_none());
        assert_eq!(i["groups"], json!(["g1"]));
        assert!(c.get("groups").is_none() && c.get("_claim_names").is_none());
    }

    #[test]
    fn groups_overage_follows_entras_limits() {
        let ids = |n: usize| (0..n).map(|i| format!("g{i}")).collect::<Vec<_>>();
        let endpoint = || "https://x/v1.0/users/u/getMemberObjects".to_string();
        assert_eq!(GroupsClaim::limited(vec![], false, endpoint), GroupsClaim::None);
        assert_eq!(GroupsClaim::limited(ids(200), false, endpoint), GroupsClaim::Groups(ids(200)));
        let over = GroupsClaim::limited(ids(201), false, endpoint);
        assert_eq!(over, GroupsClaim::Overage { endpoint: endpoint() });
        assert_eq!(GroupsClaim::limited(ids(5), true, endpoint), GroupsClaim::Groups(ids(5)));
        assert_eq!(GroupsClaim::limited(ids(6), true, endpoint), GroupsClaim::HasGroups);
        let mut c = Map::new();
        insert_groups(&mut c, &over);
        assert_eq!(c["_claim_names"], json!({"groups": "src1"}));
        assert_eq!(c["_claim_sources"]["src1"]["endpoint"], endpoint());
        assert!(c.get("groups").is_none());
        let mut c = Map::new();
        insert_groups(&mut c, &GroupsClaim::HasGroups);
        assert_eq!(c["hasgroups"], true);
    }

    const MEMBER: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";

    #[test]
    fn refresh_tokens_name_their_tenant_and_hash_stably() {
        let t = Uuid::new_v4();
        let a = new_refresh_token(t).expect("rt");
        assert_eq!(refresh_token_tenant(&a), Some(t));
        assert_ne!(a, new_refresh_token(t).expect("rt"));
        assert_eq!(refresh_token_hash(&a), refresh_token_hash(&a));
        assert_eq!(refresh_token_hash(&a).len(), 64);
        assert_eq!(refresh_token_tenant("garbage"), None);
        let info = client_info(Uuid::nil(), t);
        let decoded: Value = serde_json::from_slice(&b64::url_decode(&info).expect("b64")).expect("json");
        assert_eq!(decoded["utid"], t.to_string());
    }
}
