//! Claims mapping policies (`/policies/claimsMappingPolicies`), as Entra's "Claims mapping
//! policy type" reference documents them. A policy's `definition` is a one-element array
//! holding a JSON document in a string:
//! `{"ClaimsMappingPolicy":{"Version":1,"IncludeBasicClaimSet":"true","ClaimsSchema":[...]}}`.
//! Each `ClaimsSchema` entry names its data (a constant `Value`, a `Source`/`ID` pair or a
//! `Source`/`ExtensionID` pair) and the claim it is emitted as (`JwtClaimType`, and
//! `SamlClaimType` for SAML tokens, which this server does not issue). An entry of
//! `Source: transformation` takes the output of a `ClaimsTransformation` whose input claims
//! are other entries, named by their `ID` (an entry may itself be a transformation's output:
//! two levels, as the portal's claims customization offers). The methods are those the
//! reference lists for this policy type: `Join`, `ExtractMailPrefix`, `ToLowercase`,
//! `ToUppercase` and `RegexReplace` (see `regex_replace.rs`); an input claim with
//! `TreatAsMultiValue` is transformed value by value and the claim is then an array. A
//! `GroupFilter` (see `group_filter.rs`) narrows the `groups` claim.
//!
//! A definition that would not do what it says is refused rather than stored: an unknown
//! `Source` or `ID`, a claim type in Entra's restricted claim set (Entra would silently keep
//! the restricted claim), a policy that changes no JWT at all, a transformation that is
//! malformed (missing inputs, a regex or replacement pattern that cannot apply), and the
//! parts Entra honours only with an application-specific signing key
//! (`issuerWithApplicationId`, `audienceOverride`). Methods the portal's claims customization
//! offers but this policy type's reference does not list (`Contains`, `StartWith`, `Extract`,
//! `IfEmpty`, ...) are refused as unknown.

mod group_filter;
mod regex_replace;

use serde_json::{Map, Value};

use cerulean_store::ObjectRecord;

use crate::token_policies::{Envelope, policy_object};

pub use group_filter::{FilterType, GroupFilter, MatchOn};
pub use regex_replace::{MAX_ADDITIONAL_INPUTS, MAX_PATTERN_CHARS, RegexReplace};

/// Why a definition is refused; the message names the fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error("Property 'definition' must hold exactly one policy document.")]
    NotOne,
    #[error("The policy definition is not valid JSON: {0}")]
    NotJson(String),
    #[error("The policy definition must be an object with the single key 'ClaimsMappingPolicy'.")]
    WrongRoot,
    #[error("ClaimsMappingPolicy 'Version' must be 1.")]
    Version,
    #[error("ClaimsMappingPolicy property '{0}' is not supported.")]
    UnknownKey(String),
    #[error(
        "ClaimsMappingPolicy property '{0}' applies only with an application-specific signing key, which this server does not support; the policy would have no effect."
    )]
    SigningKeyOnly(String),
    #[error("ClaimsMappingPolicy 'GroupFilter': {0}")]
    GroupFilter(String),
    #[error("Claims transformation {0}: {1}")]
    Transformation(usize, String),
    #[error(
        "Claim schema entry {0}: TransformationId '{1}' names no claims transformation whose output is this entry's ID."
    )]
    NoTransformation(usize, String),
    #[error("ClaimsMappingPolicy 'IncludeBasicClaimSet' must be \"true\" or \"false\".")]
    IncludeBasic,
    #[error("ClaimsMappingPolicy 'ClaimsSchema' must be an array of claim schema entries.")]
    Schema,
    #[error("Claim schema entry {0}: property '{1}' is not supported.")]
    EntryKey(usize, String),
    #[error("Claim schema entry {0}: property '{1}' must be a string.")]
    NotText(usize, String),
    #[error("Claim schema entry {0} must name its data: a 'Value', or a 'Source' with an 'ID' or an 'ExtensionID'.")]
    NoData(usize),
    #[error(
        "Claim schema entry {0} must name its data once: a 'Value', or a 'Source' with an 'ID' or an 'ExtensionID'."
    )]
    TwoData(usize),
    #[error("Claim schema entry {0}: Source '{1}' is not one of user, application, resource, audience, company.")]
    UnknownSource(usize, String),
    #[error("Claim schema entry {0}: '{2}' is not an ID of Source '{1}'.")]
    UnknownId(usize, String, String),
    #[error(
        "Claim schema entry {0}: ExtensionID '{1}' must name a directory extension property 'extension_{{appId}}_{{name}}' of the user."
    )]
    ExtensionId(usize, String),
    #[error(
        "Claim schema entry {0} must set 'JwtClaimType' or 'SamlClaimType' (or be the input of a claims transformation)."
    )]
    NoClaimType(usize),
    #[error("Claim schema entry {0}: JwtClaimType '{1}' is in the restricted claim set and cannot be mapped.")]
    Restricted(usize, String),
    #[error("Claim schema entry {0}: JwtClaimType '{1}' is mapped more than once.")]
    Duplicate(usize, String),
    #[error(
        "The claims mapping policy changes no JSON web token: it keeps the basic claim set and maps no 'JwtClaimType'."
    )]
    Inert,
}

impl From<Envelope> for MappingError {
    fn from(e: Envelope) -> Self {
        match e {
            Envelope::NotOne => MappingError::NotOne,
            Envelope::NotJson(m) => MappingError::NotJson(m),
            Envelope::WrongRoot => MappingError::WrongRoot,
        }
    }
}

impl From<MappingError> for crate::error::DirectoryError {
    fn from(e: MappingError) -> Self {
        crate::error::DirectoryError::bad_request(e.to_string())
    }
}

/// Entra's JWT restricted claim set (plus every `xms_` claim): a policy cannot map them.
const RESTRICTED: &[&str] = &[
    ".",
    "_claim_names",
    "_claim_sources",
    "aai",
    "access_token",
    "account_type",
    "acct",
    "acr",
    "acrs",
    "actor",
    "actortoken",
    "agegroup",
    "aio",
    "altsecid",
    "amr",
    "app_chain",
    "app_displayname",
    "app_res",
    "appctx",
    "appctxsender",
    "appid",
    "appidacr",
    "assertion",
    "at_hash",
    "aud",
    "auth_data",
    "auth_time",
    "authorization_code",
    "azp",
    "azpacr",
    "bk_claim",
    "bk_enclave",
    "bk_pub",
    "brk_client_id",
    "brk_redirect_uri",
    "c_hash",
    "ca_enf",
    "ca_policy_result",
    "capolids",
    "capolids_latebind",
    "cc",
    "cert_token_use",
    "child_client_id",
    "child_redirect_uri",
    "client_id",
    "client_ip",
    "cloud_graph_host_name",
    "cloud_instance_host_name",
    "cloud_instance_name",
    "cloudassignedmdmid",
    "cnf",
    "code",
    "controls",
    "controls_auds",
    "credential_keys",
    "csr",
    "csr_type",
    "ctry",
    "deviceid",
    "dns_names",
    "domain_dns_name",
    "domain_netbios_name",
    "e_exp",
    "email",
    "endpoint",
    "enfpolids",
    "exp",
    "expires_on",
    "fido_auth_data",
    "fido_ver",
    "fwd",
    "fwd_appidacr",
    "grant_type",
    "graph",
    "group_sids",
    "groups",
    "hasgroups",
    "hash_alg",
    "haswids",
    "home_oid",
    "home_puid",
    "home_tid",
    "iat",
    "identityprovider",
    "idp",
    "idtyp",
    "in_corp",
    "instance",
    "inviteticket",
    "ipaddr",
    "isbrowserhostedapp",
    "iss",
    "isviral",
    "jwk",
    "key_id",
    "key_type",
    "login_hint",
    "mam_compliance_url",
    "mam_enrollment_url",
    "mam_terms_of_use_url",
    "mdm_compliance_url",
    "mdm_enrollment_url",
    "mdm_terms_of_use_url",
    "msgraph_host",
    "msproxy",
    "nameid",
    "nbf",
    "netbios_name",
    "nickname",
    "nonce",
    "oid",
    "on_prem_id",
    "onprem_sam_account_name",
    "onprem_sid",
    "openid2_id",
    "origin_header",
    "password",
    "platf",
    "polids",
    "pop_jwk",
    "preferred_username",
    "previous_refresh_token",
    "primary_sid",
    "prov_data",
    "puid",
    "pwd_exp",
    "pwd_url",
    "rdp_bt",
    "redirect_uri",
    "refresh_token",
    "refresh_token_issued_on",
    "refreshtoken",
    "request_nonce",
    "resource",
    "rh",
    "role",
    "roles",
    "rp_id",
    "rt_type",
    "scope",
    "scp",
    "secaud",
    "sid",
    "signature",
    "signin_state",
    "source_anchor",
    "src1",
    "src2",
    "sub",
    "target_deviceid",
    "tbid",
    "tbidv2",
    "tenant_ctry",
    "tenant_display_name",
    "tenant_id",
    "tenant_region_scope",
    "tenant_region_sub_scope",
    "thumbnail_photo",
    "tid",
    "tokenautologonenabled",
    "trustedfordelegation",
    "ttr",
    "unique_name",
    "upn",
    "user_agent",
    "user_setting_sync_url",
    "username",
    "uti",
    "ver",
    "verified_primary_email",
    "verified_secondary_email",
    "vnet",
    "vsm_binding_key",
    "wamcompat_client_info",
    "wamcompat_id_token",
    "wamcompat_scopes",
    "wids",
    "win_ver",
    "x5c_ca",
    "xcb2b_rclient",
    "xcb2b_rcloud",
    "xcb2b_rtenant",
    "ztdid",
];

fn is_restricted(claim: &str) -> bool {
    let lower = claim.to_ascii_lowercase();
    lower.starts_with("xms_") || lower.starts_with("extn.") || RESTRICTED.contains(&lower.as_str())
}

/// The `user` IDs Entra documents (lower case) and the Graph property each reads; `None` for
/// on-premises facts a cloud directory never holds (the claim is then absent, as in Entra for
/// a cloud-only user).
const USER_IDS: &[(&str, Option<&str>)] = &[
    ("surname", Some("surname")),
    ("givenname", Some("givenName")),
    ("displayname", Some("displayName")),
    ("objectid", Some("id")),
    ("mail", Some("mail")),
    ("userprincipalname", Some("userPrincipalName")),
    ("department", Some("department")),
    ("onpremisessamaccountname", Some("onPremisesSamAccountName")),
    ("netbiosname", None),
    ("dnsdomainname", Some("onPremisesDomainName")),
    ("onpremisesecurityidentifier", Some("onPremisesSecurityIdentifier")),
    ("companyname", Some("companyName")),
    ("streetaddress", Some("streetAddress")),
    ("postalcode", Some("postalCode")),
    ("preferredlanguage", Some("preferredLanguage")),
    ("onpremisesuserprincipalname", Some("onPremisesUserPrincipalName")),
    ("mailnickname", Some("mailNickname")),
    ("othermail", Some("otherMails")),
    ("country", Some("country")),
    ("city", Some("city")),
    ("state", Some("state")),
    ("jobtitle", Some("jobTitle")),
    ("employeeid", Some("employeeId")),
    ("facsimiletelephonenumber", Some("faxNumber")),
    ("assignedroles", None),
    ("accountenabled", Some("accountEnabled")),
    ("consentprovidedforminor", Some("consentProvidedForMinor")),
    ("createddatetime", Some("createdDateTime")),
    ("creationtype", Some("creationType")),
    ("lastpasswordchangedatetime", Some("lastPasswordChangeDateTime")),
    ("mobilephone", Some("mobilePhone")),
    ("officelocation", Some("officeLocation")),
    ("onpremisesdomainname", Some("onPremisesDomainName")),
    ("onpremisesimmutableid", Some("onPremisesImmutableId")),
    ("onpremisessyncenabled", Some("onPremisesSyncEnabled")),
    ("preferreddatalocation", Some("preferredDataLocation")),
    ("proxyaddresses", Some("proxyAddresses")),
    ("usertype", Some("userType")),
    ("telephonenumber", Some("businessPhones")),
];

/// The service principal a `Source` of `application`, `resource` or `audience` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// The client application's service principal.
    Application,
    /// The resource's service principal.
    Resource,
    /// The service principal the token is for (the resource of an access token, the client of
    /// an ID token).
    Audience,
}

/// Where a mapped claim's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimSource {
    Value(String),
    /// A user property (Graph name), or `extensionAttributeN` of `onPremisesExtensionAttributes`.
    User(String),
    /// The user's app roles on the token's audience.
    AssignedRoles,
    /// An on-premises fact a cloud directory never holds.
    Absent,
    /// A directory extension property of the user (`extension_{appId}_{name}`).
    Extension(String),
    /// `displayName`, `id` or `tags` of a service principal.
    Principal(Principal, String),
    /// The tenant's country (`countryLetterCode` of the organization).
    TenantCountry,
    /// A claims transformation of other sources.
    Transform(Transform),
}

/// The transformation methods of the claims mapping policy reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `string1` + `separator` + `string2`.
    Join,
    /// The part of an email address or UPN before `@` (all of it without one).
    ExtractMailPrefix,
    ToLowercase,
    ToUppercase,
    /// `sourceClaim` with the matches of `regex` replaced by `replacement`.
    RegexReplace,
}

/// An input claim of a transformation bound to its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Its `TransformationClaimType`.
    pub name: String,
    pub source: ClaimSource,
    /// `TreatAsMultiValue`: the transformation applies to every value, not the first.
    pub multi: bool,
}

/// A claims transformation bound to its inputs: named input claims and constant parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    pub method: Method,
    pub inputs: Vec<Input>,
    pub parameters: Vec<(String, String)>,
    /// The compiled pattern of a `RegexReplace`.
    pub regex: Option<RegexReplace>,
}

/// One entry of the policy's `ClaimsSchema` that a JWT carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedClaim {
    pub claim: String,
    pub source: ClaimSource,
}

/// A claims mapping policy's effect on JWTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsMapping {
    pub include_basic: bool,
    pub claims: Vec<MappedClaim>,
    /// Which groups the `groups` claim keeps (`None`: all the application asks for).
    pub group_filter: Option<GroupFilter>,
}

/// What a token's mapped claims are read from.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClaimFacts<'a> {
    pub user: Option<&'a ObjectRecord>,
    /// The `value`s of the user's app roles on the audience.
    pub assigned_roles: &'a [String],
    pub application: Option<&'a ObjectRecord>,
    pub resource: Option<&'a ObjectRecord>,
    pub audience: Option<&'a ObjectRecord>,
    pub tenant_country: Option<&'a str>,
}

impl ClaimsMapping {
    /// Whether the claims read the tenant's country (a read the token endpoint makes only then).
    pub fn needs_tenant_country(&self) -> bool {
        self.claims.iter().any(|c| c.source == ClaimSource::TenantCountry)
    }

    /// The mapped claims with values for these facts; a claim without a value is left out, as
    /// Entra leaves out empty claims. Multi-valued properties give their first value, as the
    /// reference documents (`othermail`, `tags`, ...), except the assigned roles.
    pub fn values(&self, facts: &ClaimFacts<'_>) -> Map<String, Value> {
        let mut out = Map::new();
        for entry in &self.claims {
            if let Some(v) = value_of(&entry.source, facts) {
                out.insert(entry.claim.clone(), v);
            }
        }
        out
    }
}

/// The value of a source as read: a multi-valued property stays an array.
fn raw_value(source: &ClaimSource, facts: &ClaimFacts<'_>) -> Option<Value> {
    match source {
        ClaimSource::Value(v) => Some(Value::String(v.clone())),
        ClaimSource::User(property) => facts.user.and_then(|u| user_value(u, property)),
        ClaimSource::Extension(name) => facts.user.and_then(|u| u.doc.get(name.as_str()).cloned()),
        ClaimSource::AssignedRoles => (facts.user.is_some() && !facts.assigned_roles.is_empty())
            .then(|| Value::from(facts.assigned_roles.to_vec())),
        ClaimSource::Absent => None,
        ClaimSource::Principal(which, id) => {
            let sp = match which {
                Principal::Application => facts.application,
                Principal::Resource => facts.resource,
                Principal::Audience => facts.audience,
            };
            sp.and_then(|sp| match id.as_str() {
                "objectid" => Some(Value::String(sp.id.to_string())),
                "displayname" => sp.doc.get("displayName").cloned(),
                _ => sp.doc.get("tags").cloned(),
            })
        }
        ClaimSource::TenantCountry => facts.tenant_country.map(|c| Value::String(c.to_string())),
        ClaimSource::Transform(t) => transform(t, facts),
    }
}

/// The claim value of a source: the first value of a multi-valued property, but every
/// assigned role and every value a multi-valued transformation produced.
fn value_of(source: &ClaimSource, facts: &ClaimFacts<'_>) -> Option<Value> {
    let raw = raw_value(source, facts);
    match source {
        ClaimSource::AssignedRoles | ClaimSource::Transform(_) => raw,
        _ => first(raw.as_ref()),
    }
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Every value of a source, as text (for `TreatAsMultiValue`).
fn all_values(source: &ClaimSource, facts: &ClaimFacts<'_>) -> Vec<String> {
    match raw_value(source, facts) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| first(Some(v))).map(text).collect(),
        other => first(other.as_ref()).map(text).into_iter().collect(),
    }
}

/// A transformation's output: a string, or an array when an input is treated as
/// multi-valued (one output per input value); `None` when its input has no value.
fn transform(t: &Transform, facts: &ClaimFacts<'_>) -> Option<Value> {
    match t.inputs.iter().position(|i| i.multi) {
        None => apply(t, facts, None).map(Value::String),
        Some(k) => {
            let out: Vec<Value> = all_values(&t.inputs[k].source, facts)
                .into_iter()
                .filter_map(|v| apply(t, facts, Some((k, v))))
                .map(Value::String)
                .collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
    }
}

/// One application of a transformation; `bound` fixes the value of one input (the one
/// treated as multi-valued).
fn apply(t: &Transform, facts: &ClaimFacts<'_>, bound: Option<(usize, String)>) -> Option<String> {
    let input = |i: usize| -> Option<String> {
        match &bound {
            Some((k, v)) if *k == i => Some(v.clone()),
            _ => value_of(&t.inputs[i].source, facts).and_then(|v| first(Some(&v))).map(text),
        }
    };
    let named = |name: &str| -> Option<String> {
        match t.inputs.iter().position(|i| i.name.eq_ignore_ascii_case(name)) {
            Some(i) => input(i),
            None => t.parameters.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()),
        }
    };
    match t.method {
        Method::Join => {
            let left = named("string1")?;
            let separator = named("separator").unwrap_or_default();
            match named("string2") {
                Some(right) => Some(format!("{left}{separator}{right}")),
                None => Some(left),
            }
        }
        Method::ExtractMailPrefix => input(0).map(|v| v.split('@').next().unwrap_or_default().to_string()),
        Method::ToLowercase => input(0).map(|v| v.to_lowercase()),
        Method::ToUppercase => input(0).map(|v| v.to_uppercase()),
        Method::RegexReplace => {
            let regex = t.regex.as_ref()?;
            let source = named("sourceClaim")?;
            Some(regex.apply(&source, &|name: &str| named(name)))
        }
    }
}

/// A user property as stored (`id` is the object's id; `extensionAttributeN` is read from
/// `onPremisesExtensionAttributes`).
fn user_value(user: &ObjectRecord, property: &str) -> Option<Value> {
    if property == "id" {
        return Some(Value::String(user.id.to_string()));
    }
    if let Some(n) = property.strip_prefix("extensionAttribute") {
        let attrs = user.doc.get("onPremisesExtensionAttributes")?;
        return attrs.get(format!("extensionAttribute{n}").as_str()).cloned();
    }
    user.doc.get(property).cloned()
}

/// A scalar as a claim value; the first element of an array; nothing for null or "".
fn first(value: Option<&Value>) -> Option<Value> {
    match value? {
        Value::Array(items) => first(items.first()),
        Value::String(s) if s.is_empty() => None,
        Value::Null => None,
        v @ (Value::String(_) | Value::Bool(_) | Value::Number(_)) => Some(v.clone()),
        Value::Object(_) => None,
    }
}

/// Top-level keys Entra defines; the ones this server refuses say why.
fn check_top_key(key: &str) -> Result<(), MappingError> {
    match key.to_ascii_lowercase().as_str() {
        "version" | "includebasicclaimset" | "claimsschema" | "claimstransformation" | "claimstransformations" => {
            Ok(())
        }
        "groupfilter" => Ok(()),
        "issuerwithapplicationid" | "audienceoverride" => Err(MappingError::SigningKeyOnly(key.to_string())),
        _ => Err(MappingError::UnknownKey(key.to_string())),
    }
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// The claims mapping a `definition` array sets, or why it is refused.
pub fn parse_definition(definition: &Value) -> Result<ClaimsMapping, MappingError> {
    let policy = &policy_object(definition, "ClaimsMappingPolicy")?;
    for key in policy.keys() {
        check_top_key(key)?;
    }
    if get_ci(policy, "Version").and_then(Value::as_i64) != Some(1) {
        return Err(MappingError::Version);
    }
    // Entra writes the flag as a string ("true"); a JSON boolean means the same.
    let include_basic = match get_ci(policy, "IncludeBasicClaimSet") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(MappingError::IncludeBasic),
    };
    let entries = match get_ci(policy, "ClaimsSchema") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(MappingError::Schema),
    };
    let transformations =
        match get_ci(policy, "ClaimsTransformation").or_else(|| get_ci(policy, "ClaimsTransformations")) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                items.iter().enumerate().map(|(i, t)| parse_transformation(i + 1, t)).collect::<Result<Vec<_>, _>>()?
            }
            Some(_) => return Err(MappingError::Transformation(1, "'ClaimsTransformation' must be an array.".into())),
        };
    let group_filter = get_ci(policy, "GroupFilter").map(GroupFilter::parse).transpose()?;
    let mut raw = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        raw.push(parse_entry(i + 1, entry.as_object().ok_or(MappingError::Schema)?)?);
    }
    let inputs_of = |t: &TransformationDef| t.input_claims.iter().map(|c| c.reference.clone()).collect::<Vec<_>>();
    let referenced: Vec<String> = transformations.iter().flat_map(inputs_of).collect();
    let mut claims: Vec<MappedClaim> = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let n = i + 1;
        let is_input = entry.id.as_ref().is_some_and(|id| referenced.iter().any(|r| r.eq_ignore_ascii_case(id)));
        let source = match &entry.data {
            RawData::Source(source) => source.clone(),
            RawData::Transformation(tid) => bind_transformation(n, entry, tid, &transformations, &raw, 1)?,
        };
        let claim = match (&entry.jwt, entry.saml) {
            (None, false) if is_input => continue,
            (None, false) => return Err(MappingError::NoClaimType(n)),
            (None, true) => continue,
            (Some(claim), _) if is_restricted(claim) => return Err(MappingError::Restricted(n, claim.clone())),
            (Some(claim), _) => claim.clone(),
        };
        if claims.iter().any(|c| c.claim.eq_ignore_ascii_case(&claim)) {
            return Err(MappingError::Duplicate(n, claim));
        }
        claims.push(MappedClaim { claim, source });
    }
    if include_basic && claims.is_empty() && group_filter.is_none() {
        return Err(MappingError::Inert);
    }
    Ok(ClaimsMapping { include_basic, claims, group_filter })
}

/// A `ClaimsTransformation` entry as written.
struct TransformationDef {
    id: String,
    method: Method,
    input_claims: Vec<InputClaimDef>,
    parameters: Vec<(String, String)>,
    output: String,
    regex: Option<RegexReplace>,
}

/// An `InputClaims` item as written.
struct InputClaimDef {
    /// `ClaimTypeReferenceId`: the `ID` of a claim schema entry.
    reference: String,
    /// `TransformationClaimType`: the input's name for the method.
    name: String,
    /// `TreatAsMultiValue`.
    multi: bool,
}

fn parse_transformation(n: usize, t: &Value) -> Result<TransformationDef, MappingError> {
    let fault = |m: &str| MappingError::Transformation(n, m.to_string());
    let t = t.as_object().ok_or_else(|| fault("must be an object."))?;
    for key in t.keys() {
        if !["ID", "TransformationMethod", "InputClaims", "InputParameters", "OutputClaims"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
        {
            return Err(fault(&format!("property '{key}' is not supported.")));
        }
    }
    let id = get_ci(t, "ID").and_then(Value::as_str).ok_or_else(|| fault("'ID' is required."))?;
    let method_name = get_ci(t, "TransformationMethod").and_then(Value::as_str).unwrap_or_default();
    let method = match method_name.trim_end_matches("()").to_ascii_lowercase().as_str() {
        "join" => Method::Join,
        "extractmailprefix" => Method::ExtractMailPrefix,
        "tolowercase" => Method::ToLowercase,
        "touppercase" => Method::ToUppercase,
        "regexreplace" => Method::RegexReplace,
        _ => {
            return Err(fault(&format!(
                "TransformationMethod '{method_name}' is not one of Join, ExtractMailPrefix, ToLowercase, ToUppercase, RegexReplace."
            )));
        }
    };
    let list = |key: &str| -> Result<Vec<&Map<String, Value>>, MappingError> {
        let Some(list) = get_ci(t, key) else { return Ok(Vec::new()) };
        let list = list.as_array().ok_or_else(|| fault(&format!("'{key}' must be an array.")))?;
        list.iter()
            .map(|item| item.as_object().ok_or_else(|| fault(&format!("each of '{key}' must be an object."))))
            .collect()
    };
    let pair = |key: &str, item: &Map<String, Value>, a: &str, b: &str| -> Result<(String, String), MappingError> {
        let field = |k: &str| get_ci(item, k).and_then(Value::as_str).map(str::to_string);
        match (field(a), field(b)) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err(fault(&format!("each of '{key}' needs '{a}' and '{b}'."))),
        }
    };
    let mut input_claims = Vec::new();
    for item in list("InputClaims")? {
        let (reference, name) = pair("InputClaims", item, "ClaimTypeReferenceId", "TransformationClaimType")?;
        // Entra writes the flag as a string ("true"); a JSON boolean means the same.
        let multi = match get_ci(item, "TreatAsMultiValue") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err(fault("'TreatAsMultiValue' must be \"true\" or \"false\".")),
        };
        if input_claims.iter().any(|c: &InputClaimDef| c.name.eq_ignore_ascii_case(&name)) {
            return Err(fault(&format!("the input claim '{name}' is given more than once.")));
        }
        input_claims.push(InputClaimDef { reference, name, multi });
    }
    if input_claims.iter().filter(|c| c.multi).count() > 1 {
        return Err(fault("at most one input claim may set 'TreatAsMultiValue'."));
    }
    let parameters = list("InputParameters")?
        .into_iter()
        .map(|item| pair("InputParameters", item, "ID", "Value"))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = list("OutputClaims")?
        .into_iter()
        .map(|item| pair("OutputClaims", item, "ClaimTypeReferenceId", "TransformationClaimType"))
        .collect::<Result<Vec<_>, _>>()?;
    let [(output, _)] = outputs.as_slice() else {
        return Err(fault("'OutputClaims' must hold exactly one output claim."));
    };
    let has_input = |name: &str| input_claims.iter().any(|c| c.name.eq_ignore_ascii_case(name));
    let parameter = |name: &str| parameters.iter().find(|(id, _)| id.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let regex = match method {
        Method::Join if !has_input("string1") => return Err(fault("Join needs the input claim 'string1'.")),
        Method::Join => None,
        Method::RegexReplace => {
            if !has_input("sourceClaim") {
                return Err(fault("RegexReplace needs the input claim 'sourceClaim'."));
            }
            let (Some(pattern), Some(replacement)) = (parameter("regex"), parameter("replacement")) else {
                return Err(fault("RegexReplace needs the input parameters 'regex' and 'replacement'."));
            };
            // The other inputs a replacement pattern may name.
            let others: Vec<String> = input_claims
                .iter()
                .map(|c| &c.name)
                .chain(parameters.iter().map(|(id, _)| id))
                .filter(|name| !["sourceClaim", "regex", "replacement"].iter().any(|k| k.eq_ignore_ascii_case(name)))
                .cloned()
                .collect();
            Some(RegexReplace::new(pattern, replacement, &others).map_err(|e| fault(&e))?)
        }
        _ if input_claims.len() != 1 => return Err(fault("the method needs exactly one input claim.")),
        _ => None,
    };
    Ok(TransformationDef { id: id.to_string(), method, input_claims, parameters, output: output.clone(), regex })
}

/// The source of a `Source: transformation` entry: its transformation, with each input claim
/// bound to the entry of the same ID.
///
/// An input claim may itself be the output of a transformation (Entra's claims customization
/// offers a "second level" transformation); `level` counts them, and a chain of more than two
/// (which also rules out cycles) is refused.
fn bind_transformation(
    n: usize,
    entry: &RawEntry,
    tid: &str,
    transformations: &[TransformationDef],
    raw: &[RawEntry],
    level: usize,
) -> Result<ClaimSource, MappingError> {
    let own_id = entry.id.as_deref().unwrap_or_default();
    let t = transformations
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(tid) && t.output.eq_ignore_ascii_case(own_id))
        .ok_or_else(|| MappingError::NoTransformation(n, tid.to_string()))?;
    let mut inputs = Vec::new();
    for InputClaimDef { reference, name, multi } in &t.input_claims {
        let input = raw.iter().find(|e| e.id.as_ref().is_some_and(|id| id.eq_ignore_ascii_case(reference)));
        let source = match input.map(|e| (e, &e.data)) {
            Some((_, RawData::Source(source))) => source.clone(),
            Some((_, RawData::Transformation(_))) if level >= MAX_TRANSFORMATION_LEVELS => {
                return Err(MappingError::Transformation(
                    n,
                    format!(
                        "input claim '{reference}' is the output of a transformation that takes another transformation's output; transformations chain {MAX_TRANSFORMATION_LEVELS} levels at most."
                    ),
                ));
            }
            Some((e, RawData::Transformation(inner))) => {
                bind_transformation(n, e, inner, transformations, raw, level + 1)?
            }
            None => {
                return Err(MappingError::Transformation(
                    n,
                    format!("input claim '{reference}' is not the ID of a claim schema entry."),
                ));
            }
        };
        inputs.push(Input { name: name.clone(), source, multi: *multi });
    }
    Ok(ClaimSource::Transform(Transform {
        method: t.method,
        inputs,
        parameters: t.parameters.clone(),
        regex: t.regex.clone(),
    }))
}

/// How many transformations may feed one another (the first and second levels of Entra's
/// claims customization).
const MAX_TRANSFORMATION_LEVELS: usize = 2;

/// A `ClaimsSchema` entry as written.
struct RawEntry {
    id: Option<String>,
    data: RawData,
    jwt: Option<String>,
    saml: bool,
}

enum RawData {
    Source(ClaimSource),
    /// `Source: transformation` with its `TransformationId`.
    Transformation(String),
}

/// One `ClaimsSchema` entry.
fn parse_entry(n: usize, entry: &Map<String, Value>) -> Result<RawEntry, MappingError> {
    const KEYS: &[&str] = &[
        "Source",
        "ID",
        "ExtensionID",
        "Value",
        "TransformationId",
        "JwtClaimType",
        "SamlClaimType",
        "SamlNameFormat",
        "SAMLNameForm",
    ];
    let mut text: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    for (key, value) in entry {
        let Some(known) = KEYS.iter().find(|k| k.eq_ignore_ascii_case(key)) else {
            return Err(MappingError::EntryKey(n, key.clone()));
        };
        let Value::String(s) = value else { return Err(MappingError::NotText(n, key.clone())) };
        text.insert(known, s.clone());
    }
    let transformation = text.get("Source").is_some_and(|s| s.eq_ignore_ascii_case("transformation"));
    let data = match (text.get("Value"), text.get("Source"), text.get("ID"), text.get("ExtensionID")) {
        _ if transformation => match (text.get("TransformationId"), text.get("ID"), text.get("Value")) {
            (Some(tid), Some(_), None) => RawData::Transformation(tid.clone()),
            (None, _, _) | (_, None, _) => return Err(MappingError::NoData(n)),
            _ => return Err(MappingError::TwoData(n)),
        },
        _ if text.contains_key("TransformationId") => return Err(MappingError::EntryKey(n, "TransformationId".into())),
        (Some(v), None, None, None) => RawData::Source(ClaimSource::Value(v.clone())),
        (None, Some(source), Some(id), None) => RawData::Source(source_of(n, source, id)?),
        (None, Some(source), None, Some(ext)) => {
            if !source.eq_ignore_ascii_case("user") {
                return Err(MappingError::UnknownSource(n, source.clone()));
            }
            if !is_extension_name(ext) {
                return Err(MappingError::ExtensionId(n, ext.clone()));
            }
            RawData::Source(ClaimSource::Extension(ext.to_ascii_lowercase()))
        }
        (None, None, None, None) | (None, Some(_), None, None) => return Err(MappingError::NoData(n)),
        _ => return Err(MappingError::TwoData(n)),
    };
    let id = match &data {
        // An ExtensionID entry is referenced by its extension name.
        RawData::Source(ClaimSource::Extension(ext)) => Some(ext.clone()),
        _ => text.get("ID").cloned(),
    };
    Ok(RawEntry {
        id,
        data,
        jwt: text.get("JwtClaimType").filter(|t| !t.is_empty()).cloned(),
        saml: text.get("SamlClaimType").is_some_and(|t| !t.is_empty()),
    })
}

fn source_of(n: usize, source: &str, id: &str) -> Result<ClaimSource, MappingError> {
    let lower = id.to_ascii_lowercase();
    let unknown = || MappingError::UnknownId(n, source.to_string(), id.to_string());
    match source.to_ascii_lowercase().as_str() {
        "user" => {
            if let Some(k) = lower.strip_prefix("extensionattribute")
                && let Ok(k) = k.parse::<u8>()
                && (1..=15).contains(&k)
                && lower == format!("extensionattribute{k}")
            {
                return Ok(ClaimSource::User(format!("extensionAttribute{k}")));
            }
            match USER_IDS.iter().find(|(i, _)| *i == lower) {
                Some(("assignedroles", _)) => Ok(ClaimSource::AssignedRoles),
                Some((_, Some(property))) => Ok(ClaimSource::User((*property).to_string())),
                Some((_, None)) => Ok(ClaimSource::Absent),
                None => Err(unknown()),
            }
        }
        which @ ("application" | "resource" | "audience") => {
            if !matches!(lower.as_str(), "displayname" | "objectid" | "tags") {
                return Err(unknown());
            }
            let principal = match which {
                "application" => Principal::Application,
                "resource" => Principal::Resource,
                _ => Principal::Audience,
            };
            Ok(ClaimSource::Principal(principal, lower))
        }
        "company" if lower == "tenantcountry" => Ok(ClaimSource::TenantCountry),
        "company" => Err(unknown()),
        _ => Err(MappingError::UnknownSource(n, source.to_string())),
    }
}

/// `extension_{32 hex}_{name}`.
fn is_extension_name(name: &str) -> bool {
    let Some(rest) = name.get(..10).filter(|p| p.eq_ignore_ascii_case("extension_")).map(|_| &name[10..]) else {
        return false;
    };
    let (app, prop) = rest.split_at(rest.len().min(32));
    app.len() == 32
        && app.chars().all(|c| c.is_ascii_hexdigit())
        && prop
            .strip_prefix('_')
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(inner: &str) -> Value {
        json!([format!(r#"{{"ClaimsMappingPolicy":{{"Version":1,{inner}}}}}"#)])
    }

    #[test]
    fn accepts_the_documented_shapes() {
        let d = def(
            r#""IncludeBasicClaimSet":"true","ClaimsSchema":[{"Source":"user","ID":"employeeid","SamlClaimType":"http://x/employeeid","JwtClaimType":"employee_id"},{"Value":"Sandbox","JwtClaimType":"env"},{"Source":"company","ID":"tenantcountry","JwtClaimType":"country"},{"Source":"User","ID":"extensionattribute10","JwtClaimType":"ea10"},{"Source":"user","ExtensionID":"extension_0123456789abcdef0123456789abcdef_costCenter","JwtClaimType":"cost_center"}]"#,
        );
        let m = parse_definition(&d).expect("valid");
        assert!(m.include_basic);
        assert_eq!(m.claims.len(), 5);
        assert_eq!(m.claims[0].source, ClaimSource::User("employeeId".into()));
        assert_eq!(m.claims[3].source, ClaimSource::User("extensionAttribute10".into()));
        assert!(m.needs_tenant_country());
        // Omitting the basic claim set is a policy of its own (Entra's "omit basic claims").
        let m = parse_definition(&def(r#""IncludeBasicClaimSet":"false""#)).expect("valid");
        assert!(!m.include_basic && m.claims.is_empty());
    }

    #[test]
    fn refuses_what_would_not_apply() {
        let cases = [
            (def(r#""IncludeBasicClaimSet":"true""#), MappingError::Inert),
            (
                def(r#""ClaimsSchema":[{"Source":"user","ID":"mail","SamlClaimType":"http://x/mail"}]"#),
                MappingError::Inert,
            ),
            (
                def(r#""ClaimsSchema":[{"Source":"user","ID":"shoesize","JwtClaimType":"s"}]"#),
                MappingError::UnknownId(1, "user".into(), "shoesize".into()),
            ),
            (
                def(r#""ClaimsSchema":[{"Source":"user","ID":"extensionattribute16","JwtClaimType":"s"}]"#),
                MappingError::UnknownId(1, "user".into(), "extensionattribute16".into()),
            ),
            (
                def(r#""ClaimsSchema":[{"Source":"device","ID":"objectid","JwtClaimType":"s"}]"#),
                MappingError::UnknownSource(1, "device".into()),
            ),
            (
                def(r#""ClaimsSchema":[{"Source":"user","ID":"mail","JwtClaimType":"upn"}]"#),
                MappingError::Restricted(1, "upn".into()),
            ),
            (
                def(r#""ClaimsSchema":[{"Source":"user","ID":"mail","JwtClaimType":"xms_mail"}]"#),
                MappingError::Restricted(1, "xms_mail".into()),
            ),
            (def(r#""ClaimsSchema":[{"JwtClaimType":"x"}]"#), MappingError::NoData(1)),
            (
                def(r#""ClaimsSchema":[{"Value":"a","Source":"user","ID":"mail","JwtClaimType":"x"}]"#),
                MappingError::TwoData(1),
            ),
            (def(r#""ClaimsSchema":[{"Value":"a"}]"#), MappingError::NoClaimType(1)),
            (
                def(r#""ClaimsSchema":[{"Value":"a","JwtClaimType":"x"},{"Value":"b","JwtClaimType":"X"}]"#),
                MappingError::Duplicate(2, "X".into()),
            ),
            (def(r#""IncludeBasicClaimSet":"maybe""#), MappingError::IncludeBasic),
            (def(r#""audienceOverride":"https://x""#), MappingError::SigningKeyOnly("audienceOverride".into())),
            (
                def(r#""GroupFilter":{"MatchOn":"displayname","Type":"prefix"}"#),
                MappingError::GroupFilter("'Value' is required and must be a string.".into()),
            ),
            (
                def(
                    r#""ClaimsSchema":[{"Source":"transformation","ID":"out","TransformationId":"nope","JwtClaimType":"x"}]"#,
                ),
                MappingError::NoTransformation(1, "nope".into()),
            ),
            (def(r#""Colour":"blue""#), MappingError::UnknownKey("Colour".into())),
        ];
        for (d, want) in cases {
            assert_eq!(parse_definition(&d), Err(want), "{d}");
        }
        let v2 = json!([r#"{"ClaimsMappingPolicy":{"Version":2,"IncludeBasicClaimSet":"false"}}"#]);
        assert_eq!(parse_definition(&v2), Err(MappingError::Version));
        assert_eq!(parse_definition(&json!([])), Err(MappingError::NotOne));
        assert!(matches!(parse_definition(&json!(["{"])), Err(MappingError::NotJson(_))));
    }

    #[test]
    fn transformations_as_documented() {
        // Microsoft's example: an input entry without a claim type, joined with a constant.
        let m = parse_definition(&def(
            r#""IncludeBasicClaimSet":"true","ClaimsSchema":[{"Source":"user","ID":"extensionattribute1"},{"Source":"transformation","ID":"DataJoin","TransformationId":"JoinTheData","JwtClaimType":"JoinedData"},{"Source":"user","ID":"userprincipalname"},{"Source":"transformation","ID":"Alias","TransformationId":"Prefix","JwtClaimType":"alias"},{"Source":"transformation","ID":"Up","TransformationId":"Upper","JwtClaimType":"upper_alias"}],"ClaimsTransformation":[{"ID":"JoinTheData","TransformationMethod":"Join","InputClaims":[{"ClaimTypeReferenceId":"extensionattribute1","TransformationClaimType":"string1"}],"InputParameters":[{"ID":"string2","Value":"sandbox"},{"ID":"separator","Value":"."}],"OutputClaims":[{"ClaimTypeReferenceId":"DataJoin","TransformationClaimType":"outputClaim"}]},{"ID":"Prefix","TransformationMethod":"ExtractMailPrefix","InputClaims":[{"ClaimTypeReferenceId":"userprincipalname","TransformationClaimType":"mail"}],"OutputClaims":[{"ClaimTypeReferenceId":"Alias","TransformationClaimType":"outputClaim"}]},{"ID":"Upper","TransformationMethod":"ToUppercase()","InputClaims":[{"ClaimTypeReferenceId":"userprincipalname","TransformationClaimType":"string"}],"OutputClaims":[{"ClaimTypeReferenceId":"Up","TransformationClaimType":"outputClaim"}]}]"#,
        ))
        .expect("valid");
        assert_eq!(m.claims.len(), 3, "{m:?}");
        let user = ObjectRecord {
            id: uuid::Uuid::new_v4(),
            object_type: "user".into(),
            version: 1,
            doc: json!({"userPrincipalName": "adele@contoso.com", "onPremisesExtensionAttributes": {"extensionAttribute1": "E1"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            deleted_at: None,
        };
        let v = m.values(&ClaimFacts { user: Some(&user), ..ClaimFacts::default() });
        assert_eq!(v.get("JoinedData"), Some(&json!("E1.sandbox")));
        assert_eq!(v.get("alias"), Some(&json!("adele")));
        assert_eq!(v.get("upper_alias"), Some(&json!("ADELE@CONTOSO.COM")));
        let bad = [
            (r#"{"ID":"t","TransformationMethod":"Reverse","InputClaims":[],"OutputClaims":[]}"#, "not one of"),
            (
                r#"{"ID":"t","TransformationMethod":"Join","OutputClaims":[{"ClaimTypeReferenceId":"o","TransformationClaimType":"outputClaim"}]}"#,
                "string1",
            ),
            (
                r#"{"ID":"t","TransformationMethod":"ToLowercase","InputClaims":[{"ClaimTypeReferenceId":"o","TransformationClaimType":"s"}]}"#,
                "exactly one output",
            ),
        ];
        for (t, message) in bad {
            let d = def(&format!(r#""IncludeBasicClaimSet":"false","ClaimsTransformation":[{t}]"#));
            let e = parse_definition(&d).expect_err("refused").to_string();
            assert!(e.contains(message), "{e}");
        }
        // An input that names no entry.
        let d = def(
            r#""ClaimsSchema":[{"Source":"transformation","ID":"o","TransformationId":"t","JwtClaimType":"x"}],"ClaimsTransformation":[{"ID":"t","TransformationMethod":"ToLowercase","InputClaims":[{"ClaimTypeReferenceId":"ghost","TransformationClaimType":"s"}],"OutputClaims":[{"ClaimTypeReferenceId":"o","TransformationClaimType":"outputClaim"}]}]"#,
        );
        assert!(parse_definition(&d).expect_err("refused").to_string().contains("'ghost'"));
    }

    #[test]
    fn transformations_chain_two_levels() {
        let user = ObjectRecord {
            id: uuid::Uuid::new_v4(),
            object_type: "user".into(),
            version: 1,
            doc: json!({"userPrincipalName": "adele.vance@contoso.com"}).as_object().cloned().unwrap_or_default(),
            deleted_at: None,
        };
        let prefix = r#"{"ID":"p","TransformationMethod":"ExtractMailPrefix","InputClaims":[{"ClaimTypeReferenceId":"userprincipalname","TransformationClaimType":"mail"}],"OutputClaims":[{"ClaimTypeReferenceId":"Alias","TransformationClaimType":"outputClaim"}]}"#;
        let regex = r#"{"ID":"r","TransformationMethod":"RegexReplace","InputClaims":[{"ClaimTypeReferenceId":"Alias","TransformationClaimType":"sourceClaim"}],"InputParameters":[{"ID":"regex","Value":"^(?<first>[^.]+)\\.(?<last>.+)$"},{"ID":"replacement","Value":"{last}_{first}"}],"OutputClaims":[{"ClaimTypeReferenceId":"Swapped","TransformationClaimType":"outputClaim"}]}"#;
        let upper = r#"{"ID":"u","TransformationMethod":"ToUppercase","InputClaims":[{"ClaimTypeReferenceId":"Swapped","TransformationClaimType":"string"}],"OutputClaims":[{"ClaimTypeReferenceId":"Loud","TransformationClaimType":"outputClaim"}]}"#;
        let schema = r#"{"Source":"user","ID":"userprincipalname"},{"Source":"transformation","ID":"Alias","TransformationId":"p"},{"Source":"transformation","ID":"Swapped","TransformationId":"r","JwtClaimType":"swapped"}"#;
        let m =
            parse_definition(&def(&format!(r#""ClaimsSchema":[{schema}],"ClaimsTransformation":[{prefix},{regex}]"#)))
                .expect("two levels");
        let v = m.values(&ClaimFacts { user: Some(&user), ..ClaimFacts::default() });
        assert_eq!(v.get("swapped"), Some(&json!("vance_adele")), "{v:?}");
        // A third level, and a transformation fed by its own output, are refused.
        let third = format!(
            r#""ClaimsSchema":[{schema},{{"Source":"transformation","ID":"Loud","TransformationId":"u","JwtClaimType":"loud"}}],"ClaimsTransformation":[{prefix},{regex},{upper}]"#
        );
        let e = parse_definition(&def(&third)).expect_err("three levels").to_string();
        assert!(e.contains("2 levels at most"), "{e}");
        let cycle = r#""ClaimsSchema":[{"Source":"transformation","ID":"o","TransformationId":"t","JwtClaimType":"x"}],"ClaimsTransformation":[{"ID":"t","TransformationMethod":"ToLowercase","InputClaims":[{"ClaimTypeReferenceId":"o","TransformationClaimType":"s"}],"OutputClaims":[{"ClaimTypeReferenceId":"o","TransformationClaimType":"outputClaim"}]}]"#;
        let e = parse_definition(&def(cycle)).expect_err("cycle").to_string();
        assert!(e.contains("levels at most"), "{e}");
    }

    #[test]
    fn values_come_from_their_sources() {
        let m = parse_definition(&def(
            r#""ClaimsSchema":[{"Source":"user","ID":"othermail","JwtClaimType":"alt"},{"Source":"user","ID":"department","JwtClaimType":"dept"},{"Source":"audience","ID":"displayname","JwtClaimType":"api"},{"Source":"user","ID":"extensionattribute3","JwtClaimType":"ea3"}]"#,
        ))
        .expect("valid");
        let user = ObjectRecord {
            id: uuid::Uuid::new_v4(),
            object_type: "user".into(),
            version: 1,
            doc: json!({"otherMails": ["a@x", "b@x"], "department": "", "onPremisesExtensionAttributes": {"extensionAttribute3": "three"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            deleted_at: None,
        };
        let facts = ClaimFacts { user: Some(&user), ..ClaimFacts::default() };
        let v = m.values(&facts);
        assert_eq!(v.get("alt"), Some(&json!("a@x")));
        assert_eq!(v.get("ea3"), Some(&json!("three")));
        assert!(v.get("dept").is_none() && v.get("api").is_none());
    }
}
