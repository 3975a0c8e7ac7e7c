//! Conditional Access: named locations (`ipNamedLocation`, `countryNamedLocation`) and
//! policies (`conditionalAccessPolicy`), their rules on write ("Create namedLocation",
//! "Create conditionalAccessPolicy", "Update ..."); the policy engine reads what is stored
//! here.
//!
//! Both are stored as documents in the generic object table (object types
//! `ipNamedLocation`, `countryNamedLocation`, `conditionalAccessPolicy`); they are not
//! directory objects, so `/directoryObjects/{id}` never returns them. A stored document is
//! always normalised: every collection present (empty when not given), the nested condition
//! sets present or `null` as Graph returns them, so readers (the engine) need no defaults.
//!
//! Validation follows Entra's: a policy names users (or groups, roles, guests) and
//! applications; named locations it references exist ("1040: NamedLocation with id {id} does
//! not exist in the directory."); `block` stands alone; `passwordChange` requires `mfa` with
//! `AND`, the user risk condition and all applications; a named location in use by a policy
//! cannot be deleted.

use std::net::IpAddr;

use cerulean_store::{Change, ListQuery, ObjectRecord, Op, Scope};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::WRITE_RETRIES;
use crate::validate::now;
use crate::{Caller, Directory};

/// The base type of named locations (the entity set's type; never stored itself).
pub const NAMED_LOCATION: &str = "namedLocation";
/// Object type of an IP ranges named location.
pub const IP_NAMED_LOCATION: &str = "ipNamedLocation";
/// Object type of a countries named location.
pub const COUNTRY_NAMED_LOCATION: &str = "countryNamedLocation";
/// Object type of a policy.
pub const POLICY: &str = "conditionalAccessPolicy";
/// Every object type of this module: none is a directory object.
pub const TYPES: &[&str] = &[IP_NAMED_LOCATION, COUNTRY_NAMED_LOCATION, POLICY];
/// Named locations the tenant may hold (Entra's documented limit is 195 in the portal; this
/// bounds list reads).
const MAX_OBJECTS: usize = 1000;
/// Entra's limit of IP ranges in one named location.
const MAX_IP_RANGES: usize = 2000;

const CLIENT_APP_TYPES: &[&str] =
    &["all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "easSupported", "other"];
const PLATFORMS: &[&str] = &["android", "iOS", "windows", "windowsPhone", "macOS", "all", "linux"];
const RISK_LEVELS: &[&str] = &["low", "medium", "high", "hidden", "none"];
const GRANT_CONTROLS: &[&str] = &[
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
    "passwordChange",
];
const STATES: &[&str] = &["enabled", "disabled", "enabledForReportingButNotEnforced"];

fn bad(message: impl Into<String>) -> DirectoryError {
    DirectoryError::BadRequest { code: "BadRequest", message: message.into() }
}

fn invalid_value(prop: &str, ty: &str) -> DirectoryError {
    bad(format!("Invalid value specified for property '{prop}' of resource '{ty}'."))
}

fn unknown_property(key: &str, ty: &str) -> DirectoryError {
    bad(format!(
        "The property '{key}' does not exist on type 'microsoft.graph.{ty}'. Make sure to only use property names that are defined by the type or mark the type as open type."
    ))
}

/// Whether `key` is a property the schema declares on `ty` (a complex type, else an entity
/// type, with their base types), spelt exactly.
fn is_declared(ty: &str, key: &str) -> bool {
    let found = match cerulean_schema::complex(ty) {
        Some(c) => c.property(key),
        None => cerulean_schema::entity(ty).and_then(|e| e.property(key)),
    };
    found.is_some_and(|p| p.name == key)
}

/// Checks a body's keys (annotations aside) against the schema's declaration of `ty`: a key
/// it does not declare is Graph's "does not exist on type" error. A declared key this module
/// does not `handle` (a condition or control Cerulean does not enforce) passes as `null`, which
/// is what a GET returns for it, so a GET body PATCHed back works; any other value is refused
/// rather than stored and silently not enforced.
fn only(obj: &Map<String, Value>, handled: &[&str], ty: &str) -> DirectoryResult<()> {
    for (k, v) in obj {
        if k.starts_with('@') || handled.contains(&k.as_str()) {
            continue;
        }
        if !is_declared(ty, k) {
            return Err(unknown_property(k, ty));
        }
        if !v.is_null() {
            return Err(bad(format!("'{k}' is not supported: Cerulean does not enforce it.")));
        }
    }
    Ok(())
}

/// An optional object member: absent or `null` is `None`.
fn object<'a>(obj: &'a Map<String, Value>, key: &str, ty: &str) -> DirectoryResult<Option<&'a Map<String, Value>>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(invalid_value(key, ty)),
    }
}

/// A string collection, each item checked by `ok`; absent or `null` is empty.
fn strings(obj: &Map<String, Value>, key: &str, ty: &str, ok: impl Fn(&str) -> bool) -> DirectoryResult<Vec<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v.as_str() {
                Some(s) if ok(s) => Ok(s.to_string()),
                _ => Err(invalid_value(key, ty)),
            })
            .collect(),
        Some(_) => Err(invalid_value(key, ty)),
    }
}

fn one_of(list: &'static [&'static str]) -> impl Fn(&str) -> bool {
    move |s| list.contains(&s)
}

fn guid_or(words: &'static [&'static str]) -> impl Fn(&str) -> bool {
    move |s| words.iter().any(|w| w.eq_ignore_ascii_case(s)) || Uuid::parse_str(s).is_ok()
}

/// The bare type name of `@odata.type` (`#microsoft.graph.x` → `x`; the namespace in any case).
fn odata_type(obj: &Map<String, Value>) -> Option<&str> {
    obj.get("@odata.type").and_then(Value::as_str).map(|t| {
        let t = t.trim_start_matches('#');
        const NS: &str = "microsoft.graph.";
        match t.get(..NS.len()) {
            Some(ns) if ns.eq_ignore_ascii_case(NS) => &t[NS.len()..],
            _ => t,
        }
    })
}

/// The id of Entra's built-in "MFA Trusted IPs" location, which a policy may include or
/// exclude without it being a stored named location (Graph's "Use all conditions and
/// controls" example excludes it). Cerulean has no MFA trusted IPs setting, so it matches no
/// sign-in.
pub const MFA_TRUSTED_IPS_LOCATION: Uuid = Uuid::nil();

/// Parses `a.b.c.d/n` or `x::y/n`; the family must be the range's declared one.
pub fn parse_cidr(cidr: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = cidr.trim().split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

/// Whether `ip` is inside `cidr` (`a.b.c.d/n`, `x::y/n`).
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((net, len)) = parse_cidr(cidr) else { return false };
    let ip = match (net, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        _ => ip,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The normalised `ipRanges` of an IP named location.
fn ip_ranges(value: Option<&Value>) -> DirectoryResult<Vec<Value>> {
    const TY: &str = "ipNamedLocation";
    let Some(Value::Array(items)) = value else { return Err(invalid_value("ipRanges", TY)) };
    if items.is_empty() || items.len() > MAX_IP_RANGES {
        return Err(invalid_value("ipRanges", TY));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(range) = item.as_object() else { return Err(invalid_value("ipRanges", TY)) };
        // Compared in any case (samples write `IPv4CidrRange`); stored in Graph's casing.
        let kind = odata_type(range).unwrap_or_default();
        let (kind, v4) = match kind {
            k if k.eq_ignore_ascii_case("iPv4CidrRange") => ("iPv4CidrRange", true),
            k if k.eq_ignore_ascii_case("iPv6CidrRange") => ("iPv6CidrRange", false),
            _ => {
                return Err(bad(
                    "An ipRange must say its type: '@odata.type' is '#microsoft.graph.iPv4CidrRange' or '#microsoft.graph.iPv6CidrRange'.",
                ));
            }
        };
        only(range, &["cidrAddress"], kind)?;
        let cidr = range.get("cidrAddress").and_then(Value::as_str).unwrap_or_default();
        match parse_cidr(cidr) {
            Some((addr, _)) if addr.is_ipv4() == v4 => {}
            _ => {
                return Err(bad(format!(
                    "The cidrAddress '{cidr}' is not a valid {} CIDR range.",
                    if v4 { "IPv4" } else { "IPv6" }
                )));
            }
        }
        out.push(json!({ "@odata.type": format!("#microsoft.graph.{kind}"), "cidrAddress": cidr.trim() }));
    }
    Ok(out)
}

/// Builds the stored document of a named location from the current one (if any) and a body.
fn named_location_doc(
    kind: &str,
    current: Option<&Map<String, Value>>,
    body: &Map<String, Value>,
) -> DirectoryResult<Map<String, Value>> {
    let mut doc = current.cloned().unwrap_or_default();
    match body.get("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 256 => {
            doc.insert("displayName".into(), json!(s));
        }
        None if current.is_some() => {}
        _ => return Err(invalid_value("displayName", kind)),
    }
    // `null` for an optional member is its default (as absent), like Graph.
    let common = ["displayName", "id", "createdDateTime", "modifiedDateTime"];
    if kind == IP_NAMED_LOCATION {
        let allowed: Vec<&str> = common.iter().copied().chain(["ipRanges", "isTrusted"]).collect();
        only(body, &allowed, kind)?;
        if body.contains_key("ipRanges") || current.is_none() {
            doc.insert("ipRanges".into(), Value::Array(ip_ranges(body.get("ipRanges"))?));
        }
        match body.get("isTrusted") {
            Some(Value::Bool(b)) => {
                doc.insert("isTrusted".into(), json!(b));
            }
            None | Some(Value::Null) => {
                doc.entry("isTrusted").or_insert(json!(false));
            }
            Some(_) => return Err(invalid_value("isTrusted", kind)),
        }
    } else {
        let allowed: Vec<&str> = common
            .iter()
            .copied()
            .chain(["countriesAndRegions", "includeUnknownCountriesAndRegions", "countryLookupMethod"])
            .collect();
        only(body, &allowed, kind)?;
        if body.contains_key("countriesAndRegions") || current.is_none() {
            let countries = strings(body, "countriesAndRegions", kind, |c| {
                c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic())
            })?;
            let countries: Vec<String> = countries.iter().map(|c| c.to_ascii_uppercase()).collect();
            doc.insert("countriesAndRegions".into(), json!(countries));
        }
        match body.get("includeUnknownCountriesAndRegions") {
            Some(Value::Bool(b)) => {
                doc.insert("includeUnknownCountriesAndRegions".into(), json!(b));
            }
            None | Some(Value::Null) => {
                doc.entry("includeUnknownCountriesAndRegions").or_insert(json!(false));
            }
            Some(_) => return Err(invalid_value("includeUnknownCountriesAndRegions", kind)),
        }
        match body.get("countryLookupMethod") {
            Some(Value::String(m)) if m == "clientIpAddress" || m == "authenticatorAppGps" => {
                doc.insert("countryLookupMethod".into(), json!(m));
            }
            None | Some(Value::Null) => {
                doc.entry("countryLookupMethod").or_insert(json!("clientIpAddress"));
            }
            Some(_) => return Err(invalid_value("countryLookupMethod", kind)),
        }
        let empty = doc.get("countriesAndRegions").and_then(Value::as_array).is_none_or(Vec::is_empty);
        if empty && doc.get("includeUnknownCountriesAndRegions") != Some(&json!(true)) {
            return Err(invalid_value("countriesAndRegions", kind));
        }
    }
    Ok(doc)
}

/// The named-location kind a body declares (`@odata.type`), required on create and update.
fn location_kind(body: &Map<String, Value>) -> DirectoryResult<&'static str> {
    match odata_type(body) {
        Some(t) if t.eq_ignore_ascii_case(IP_NAMED_LOCATION) => Ok(IP_NAMED_LOCATION),
        Some(t) if t.eq_ignore_ascii_case(COUNTRY_NAMED_LOCATION) => Ok(COUNTRY_NAMED_LOCATION),
        _ => Err(bad(
            "The '@odata.type' of a named location is required: '#microsoft.graph.ipNamedLocation' or '#microsoft.graph.countryNamedLocation'.",
        )),
    }
}

/// The normalised `conditions` of a policy; `locations` the tenant's named location ids.
fn conditions(value: Option<&Value>, locations: &[Uuid]) -> DirectoryResult<Map<String, Value>> {
    const TY: &str = "conditionalAccessConditionSet";
    let Some(Value::Object(c)) = value else {
        return Err(bad("The policy has no conditions: 'conditions' is required."));
    };
    only(
        c,
        &[
            "users",
            "applications",
            "clientAppTypes",
            "locations",
            "platforms",
            "signInRiskLevels",
            "userRiskLevels",
            "servicePrincipalRiskLevels",
            "clientApplications",
        ],
        TY,
    )?;

    let Some(users) = object(c, "users", TY)? else {
        return Err(bad("The policy has no users condition: 'conditions.users' is required."));
    };
    const UT: &str = "conditionalAccessUsers";
    only(
        users,
        &["includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles"],
        UT,
    )?;
    const USER_WORDS: &[&str] = &["All", "None", "GuestsOrExternalUsers"];
    let users_out = json!({
        "includeUsers": strings(users, "includeUsers", UT, guid_or(USER_WORDS))?,
        "excludeUsers": strings(users, "excludeUsers", UT, guid_or(&["GuestsOrExternalUsers"]))?,
        "includeGroups": strings(users, "includeGroups", UT, guid_or(&[]))?,
        "excludeGroups": strings(users, "excludeGroups", UT, guid_or(&[]))?,
        "includeRoles": strings(users, "includeRoles", UT, guid_or(&[]))?,
        "excludeRoles": strings(users, "excludeRoles", UT, guid_or(&[]))?,
        "includeGuestsOrExternalUsers": null,
        "excludeGuestsOrExternalUsers": null,
    });
    let included = ["includeUsers", "includeGroups", "includeRoles"]
        .iter()
        .any(|k| users_out[k].as_array().is_some_and(|a| !a.is_empty()));
    if !included {
        return Err(bad("The policy includes no users: set 'includeUsers', 'includeGroups' or 'includeRoles'."));
    }

    let Some(apps) = object(c, "applications", TY)? else {
        return Err(bad("The policy has no applications condition: 'conditions.applications' is required."));
    };
    const AT: &str = "conditionalAccessApplications";
    only(
        apps,
        &[
            "includeApplications",
            "excludeApplications",
            "includeUserActions",
            "includeAuthenticationContextClassReferences",
        ],
        AT,
    )?;
    const APP_WORDS: &[&str] = &["All", "None", "Office365", "MicrosoftAdminPortals"];
    let apps_out = json!({
        "includeApplications": strings(apps, "includeApplications", AT, guid_or(APP_WORDS))?,
        "excludeApplications": strings(apps, "excludeApplications", AT, guid_or(&["Office365", "MicrosoftAdminPortals"]))?,
        "includeUserActions": strings(apps, "includeUserActions", AT, one_of(&["urn:user:registersecurityinfo", "urn:user:registerdevice"]))?,
        "includeAuthenticationContextClassReferences": strings(apps, "includeAuthenticationContextClassReferences", AT, |s| !s.is_empty())?,
        "applicationFilter": null,
    });
    if apps_out["includeApplications"].as_array().is_none_or(Vec::is_empty)
        && apps_out["includeUserActions"].as_array().is_none_or(Vec::is_empty)
    {
        return Err(bad("The policy includes no applications: set 'includeApplications'."));
    }

    let mut client_app_types = strings(c, "clientAppTypes", TY, one_of(CLIENT_APP_TYPES))?;
    if client_app_types.is_empty() {
        client_app_types.push("all".into());
    }

    let locations_out = match object(c, "locations", TY)? {
        None => Value::Null,
        Some(l) => {
            const LT: &str = "conditionalAccessLocations";
            only(l, &["includeLocations", "excludeLocations"], LT)?;
            let include = strings(l, "includeLocations", LT, guid_or(&["All", "AllTrusted"]))?;
            let exclude = strings(l, "excludeLocations", LT, guid_or(&["AllTrusted"]))?;
            for id in include.iter().chain(&exclude) {
                if let Ok(u) = Uuid::parse_str(id)
                    && u != MFA_TRUSTED_IPS_LOCATION
                    && !locations.contains(&u)
                {
                    return Err(bad(format!("1040: NamedLocation with id {id} does not exist in the directory.")));
                }
            }
            if include.is_empty() {
                return Err(invalid_value("includeLocations", LT));
            }
            json!({ "includeLocations": include, "excludeLocations": exclude })
        }
    };
    let platforms_out = match object(c, "platforms", TY)? {
        None => Value::Null,
        Some(p) => {
            const PT: &str = "conditionalAccessPlatforms";
            only(p, &["includePlatforms", "excludePlatforms"], PT)?;
            let include = strings(p, "includePlatforms", PT, one_of(PLATFORMS))?;
            if include.is_empty() {
                return Err(invalid_value("includePlatforms", PT));
            }
            json!({ "includePlatforms": include, "excludePlatforms": strings(p, "excludePlatforms", PT, one_of(PLATFORMS))? })
        }
    };
    let mut out = Map::new();
    out.insert("users".into(), users_out);
    out.insert("applications".into(), apps_out);
    out.insert("clientAppTypes".into(), json!(client_app_types));
    out.insert("locations".into(), locations_out);
    out.insert("platforms".into(), platforms_out);
    out.insert("signInRiskLevels".into(), json!(strings(c, "signInRiskLevels", TY, one_of(RISK_LEVELS))?));
    out.insert("userRiskLevels".into(), json!(strings(c, "userRiskLevels", TY, one_of(RISK_LEVELS))?));
    out.insert(
        "servicePrincipalRiskLevels".into(),
        json!(strings(c, "servicePrincipalRiskLevels", TY, one_of(RISK_LEVELS))?),
    );
    let client_applications = client_applications(c)?;
    if !client_applications.is_null() {
        workload_only(&out)?;
    }
    out.insert("clientApplications".into(), client_applications);
    for k in ["devices", "authenticationFlows", "insiderRiskLevels"] {
        out.insert(k.into(), Value::Null);
    }
    Ok(out)
}

/// The normalised `clientApplications` of a workload-identity policy (`null` when absent):
/// service principal ids or `ServicePrincipalsInMyTenant`. Filters on custom security
/// attributes are refused: Cerulean has no custom security attributes.
fn client_applications(c: &Map<String, Value>) -> DirectoryResult<Value> {
    const CT: &str = "conditionalAccessClientApplications";
    let Some(apps) = object(c, "clientApplications", "conditionalAccessConditionSet")? else {
        return Ok(Value::Null);
    };
    only(apps, &["includeServicePrincipals", "excludeServicePrincipals", "servicePrincipalFilter"], CT)?;
    if apps.get("servicePrincipalFilter").is_some_and(|f| !f.is_null()) {
        return Err(bad("'servicePrincipalFilter' is not supported: Cerulean has no custom security attributes."));
    }
    let include = strings(apps, "includeServicePrincipals", CT, guid_or(&["ServicePrincipalsInMyTenant"]))?;
    let exclude = strings(apps, "excludeServicePrincipals", CT, guid_or(&[]))?;
    if include.is_empty() && exclude.is_empty() {
        return Ok(Value::Null);
    }
    if include.is_empty() {
        return Err(invalid_value("includeServicePrincipals", CT));
    }
    Ok(
        json!({ "includeServicePrincipals": include, "excludeServicePrincipals": exclude, "servicePrincipalFilter": null }),
    )
}

/// Whether normalised conditions target workload identities (`clientApplications` is only
/// kept when it names service principals).
fn is_workload(conditions: &Map<String, Value>) -> bool {
    conditions.get("clientApplications").is_some_and(|c| !c.is_null())
}

/// The conditions Entra allows in a policy for workload identities: no users (`includeUsers`
/// is `None`), all client app types, and neither platforms nor user or sign-in risk (which
/// describe a person's sign-in); locations and service principal risk remain.
fn workload_only(conditions: &Map<String, Value>) -> DirectoryResult<()> {
    let users = conditions.get("users").unwrap_or(&Value::Null);
    let none_only = users["includeUsers"]
        .as_array()
        .is_some_and(|a| a.len() == 1 && a[0].as_str().is_some_and(|s| s.eq_ignore_ascii_case("None")))
        && ["excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles"]
            .iter()
            .all(|k| users[k].as_array().is_none_or(Vec::is_empty));
    if !none_only {
        return Err(bad(
            "A policy for workload identities cannot target users: set 'conditions.users.includeUsers' to ['None'].",
        ));
    }
    let all_client_apps = conditions.get("clientAppTypes") == Some(&json!(["all"]));
    let personal = conditions.get("platforms").is_some_and(|p| !p.is_null())
        || ["signInRiskLevels", "userRiskLevels"]
            .iter()
            .any(|k| conditions.get(*k).and_then(Value::as_array).is_some_and(|a| !a.is_empty()));
    if !all_client_apps || personal {
        return Err(bad(
            "A policy for workload identities supports only the applications, locations and service principal risk conditions.",
        ));
    }
    Ok(())
}

/// The normalised `grantControls` (`None` when absent or `null`).
fn grant_controls(value: Option<&Value>, conditions: &Map<String, Value>) -> DirectoryResult<Value> {
    const GT: &str = "conditionalAccessGrantControls";
    let g = match value {
        None | Some(Value::Null) => return Ok(Value::Null),
        Some(Value::Object(g)) => g,
        Some(_) => return Err(invalid_value("grantControls", "conditionalAccessPolicy")),
    };
    only(g, &["operator", "builtInControls", "customAuthenticationFactors", "termsOfUse"], GT)?;
    let operator = match g.get("operator") {
        None | Some(Value::Null) => "OR".to_string(),
        Some(Value::String(o)) if o.eq_ignore_ascii_case("AND") || o.eq_ignore_ascii_case("OR") => {
            o.to_ascii_uppercase()
        }
        Some(_) => return Err(invalid_value("operator", GT)),
    };
    let controls = strings(g, "builtInControls", GT, one_of(GRANT_CONTROLS))?;
    if controls.is_empty() {
        return Err(bad("The grant controls name no control: set 'builtInControls'."));
    }
    if controls.iter().any(|c| c == "block") && controls.len() > 1 {
        return Err(bad("'block' cannot be combined with other grant controls."));
    }
    if is_workload(conditions) && controls != ["block"] {
        return Err(bad("A policy for workload identities can only block access: set 'builtInControls' to ['block']."));
    }
    if controls.iter().any(|c| c == "passwordChange") {
        let user_risk = conditions.get("userRiskLevels").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        let all_apps = conditions["applications"]["includeApplications"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("All"))));
        if !(user_risk && all_apps && operator == "AND" && controls.iter().any(|c| c == "mfa")) {
            return Err(bad(
                "'passwordChange' requires 'mfa' with the 'AND' operator, the user risk condition and all applications.",
            ));
        }
    }
    for list in ["customAuthenticationFactors", "termsOfUse"] {
        if !strings(g, list, GT, |_| true)?.is_empty() {
            return Err(bad(format!("'{list}' is not supported: Cerulean has no custom controls nor terms of use.")));
        }
    }
    Ok(
        json!({ "operator": operator, "builtInControls": controls, "customAuthenticationFactors": [], "termsOfUse": [] }),
    )
}

/// The normalised `sessionControls` (only `signInFrequency` is enforced here).
fn session_controls(value: Option<&Value>) -> DirectoryResult<Value> {
    const ST: &str = "conditionalAccessSessionControls";
    let s = match value {
        None | Some(Value::Null) => return Ok(Value::Null),
        Some(Value::Object(s)) => s,
        Some(_) => return Err(invalid_value("sessionControls", "conditionalAccessPolicy")),
    };
    only(s, &["signInFrequency", "disableResilienceDefaults"], ST)?;
    let frequency = match object(s, "signInFrequency", ST)? {
        None => Value::Null,
        Some(f) => {
            const FT: &str = "signInFrequencySessionControl";
            only(f, &["isEnabled", "value", "type", "authenticationType", "frequencyInterval"], FT)?;
            let enabled = f.get("isEnabled").and_then(Value::as_bool).unwrap_or(false);
            let interval = f.get("frequencyInterval").and_then(Value::as_str).unwrap_or("timeBased");
            if interval != "timeBased" && interval != "everyTime" {
                return Err(invalid_value("frequencyInterval", FT));
            }
            let auth =
                f.get("authenticationType").and_then(Value::as_str).unwrap_or("primaryAndSecondaryAuthentication");
            if auth != "primaryAndSecondaryAuthentication" && auth != "secondaryAuthentication" {
                return Err(invalid_value("authenticationType", FT));
            }
            let (value, ty) = if enabled && interval == "timeBased" {
                let ty = f.get("type").and_then(Value::as_str).unwrap_or_default();
                let max = match ty {
                    "days" => 365,
                    "hours" => 24,
                    _ => return Err(invalid_value("type", FT)),
                };
                match f.get("value").and_then(Value::as_i64) {
                    Some(v) if (1..=max).contains(&v) => (json!(v), json!(ty)),
                    _ => return Err(invalid_value("value", FT)),
                }
            } else {
                (Value::Null, Value::Null)
            };
            json!({ "isEnabled": enabled, "value": value, "type": ty, "authenticationType": auth, "frequencyInterval": interval })
        }
    };
    let resilience = match s.get("disableResilienceDefaults") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Bool(b)) => json!(b),
        Some(_) => return Err(invalid_value("disableResilienceDefaults", ST)),
    };
    Ok(json!({
        "signInFrequency": frequency,
        "disableResilienceDefaults": resilience,
        "applicationEnforcedRestrictions": null,
        "cloudAppSecurity": null,
        "persistentBrowser": null,
        "secureSignInSession": null,
    }))
}

/// Builds a policy's stored document: the current one (PATCH) overlaid with the body.
fn policy_doc(
    current: Option<&Map<String, Value>>,
    body: &Map<String, Value>,
    locations: &[Uuid],
) -> DirectoryResult<Map<String, Value>> {
    const TY: &str = POLICY;
    only(
        body,
        &[
            "displayName",
            "description",
            "state",
            "conditions",
            "grantControls",
            "sessionControls",
            "id",
            "createdDateTime",
            "modifiedDateTime",
            "templateId",
        ],
        TY,
    )?;
    let mut doc = current.cloned().unwrap_or_default();
    match body.get("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 256 => {
            doc.insert("displayName".into(), json!(s));
        }
        None if current.is_some() => {}
        _ => return Err(invalid_value("displayName", TY)),
    }
    match body.get("description") {
        Some(v @ (Value::String(_) | Value::Null)) => {
            doc.insert("description".into(), v.clone());
        }
        None => {
            doc.entry("description").or_insert(Value::Null);
        }
        Some(_) => return Err(invalid_value("description", TY)),
    }
    match body.get("state") {
        Some(Value::String(s)) if STATES.contains(&s.as_str()) => {
            doc.insert("state".into(), json!(s));
        }
        None if current.is_some() => {}
        _ => return Err(invalid_value("state", TY)),
    }
    if body.contains_key("conditions") || current.is_none() {
        doc.insert("conditions".into(), Value::Object(conditions(body.get("conditions"), locations)?));
    }
    let conds = doc.get("conditions").and_then(Value::as_object).cloned().unwrap_or_default();
    if body.contains_key("grantControls") || current.is_none() || body.contains_key("conditions") {
        let source = if body.contains_key("grantControls") {
            body.get("grantControls")
        } else {
            doc.get("grantControls").filter(|v| !v.is_null())
        };
        let source = source.cloned();
        doc.insert("grantControls".into(), grant_controls(source.as_ref(), &conds)?);
    }
    if body.contains_key("sessionControls") || current.is_none() {
        doc.insert("sessionControls".into(), session_controls(body.get("sessionControls"))?);
    }
    if is_workload(&conds) && doc.get("sessionControls").is_some_and(|s| !s.is_null()) {
        return Err(bad("A policy for workload identities cannot have session controls."));
    }
    if doc.get("grantControls").is_none_or(Value::is_null) && doc.get("sessionControls").is_none_or(Value::is_null) {
        return Err(bad("The policy has no controls: set 'grantControls' or 'sessionControls'."));
    }
    doc.entry("templateId").or_insert(Value::Null);
    Ok(doc)
}

fn policy_target(
    object: &ObjectRecord,
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> cerulean_store::AuditTarget {
    audit::target(object, old, new)
}

/// The object types of named locations (the set `namedLocations` holds both).
const LOCATION_TYPES: &[&str] = &[IP_NAMED_LOCATION, COUNTRY_NAMED_LOCATION];

impl Directory {
    async fn ca_list(&self, tenant: Uuid, types: &[&str]) -> DirectoryResult<Vec<ObjectRecord>> {
        // One query per type: SQLite answers `object_type IN (a, b) ORDER BY id` by walking the
        // tenant's whole primary key (every object, at 100k users ~0.2 s), where one type seeks
        // its index. This runs at every sign-in and token.
        let mut items = Vec::new();
        for ty in types {
            let mut query = ListQuery::new(&[*ty], Scope::Live);
            query.top = MAX_OBJECTS;
            items.extend(self.store.list(tenant, &query).await?.items);
        }
        items.sort_by(|a, b| {
            let created =
                |o: &ObjectRecord| o.doc.get("createdDateTime").and_then(Value::as_str).unwrap_or_default().to_string();
            created(a).cmp(&created(b)).then(a.id.cmp(&b.id))
        });
        Ok(items)
    }

    async fn ca_find(&self, tenant: Uuid, types: &[&str], key: &str) -> DirectoryResult<ObjectRecord> {
        let id = Uuid::parse_str(key).map_err(|_| DirectoryError::not_found(key))?;
        match self.get(tenant, id).await? {
            Some(o) if types.contains(&o.object_type.as_str()) => Ok(o),
            _ => Err(DirectoryError::not_found(key)),
        }
    }

    /// Writes a new Conditional Access object, audited as `activity`.
    async fn ca_insert(&self, caller: &Caller, object: ObjectRecord, activity: &str) -> DirectoryResult<ObjectRecord> {
        let change = Change {
            audit: audit::record(
                caller,
                activity,
                "Policy",
                "Add",
                vec![policy_target(&object, None, Some(&object.doc))],
            ),
            ops: vec![Op::Insert { object: object.clone(), unique: Vec::new() }],
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(object)
    }

    /// Replaces the document of the object `key` (one of `types`) with what `next` builds from
    /// the current one, stamping `modifiedDateTime`; retried when a concurrent write got there
    /// first, so `next` always sees the version it replaces.
    async fn ca_update(
        &self,
        caller: &Caller,
        types: &[&str],
        key: &str,
        activity: &str,
        next: impl Fn(&ObjectRecord) -> DirectoryResult<Map<String, Value>>,
    ) -> DirectoryResult<()> {
        for _ in 0..WRITE_RETRIES {
            let current = self.ca_find(caller.tenant, types, key).await?;
            let mut doc = next(&current)?;
            doc.insert("modifiedDateTime".into(), json!(now()));
            let target = policy_target(&current, Some(&current.doc), Some(&doc));
            let change = Change {
                ops: vec![Op::Update { id: current.id, expected_version: current.version, doc, unique: Vec::new() }],
                audit: audit::record(caller, activity, "Policy", "Update", vec![target]),
            };
            match self.apply_change(caller.tenant, change).await {
                Ok(_) => return Ok(()),
                Err(cerulean_store::StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The object changed too often while it was updated; retry.".into()))
    }

    /// Removes a Conditional Access object for good, audited as `activity`.
    async fn ca_purge(&self, caller: &Caller, current: &ObjectRecord, activity: &str) -> DirectoryResult<()> {
        let change = Change {
            ops: vec![Op::Purge { id: current.id }],
            audit: audit::record(
                caller,
                activity,
                "Policy",
                "Delete",
                vec![policy_target(current, Some(&current.doc), None)],
            ),
        };
        self.apply_change(caller.tenant, change).await?;
        Ok(())
    }

    /// Every named location of the tenant, oldest first (what the policy engine reads).
    pub async fn named_locations(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        self.ca_list(tenant, LOCATION_TYPES).await
    }

    /// `GET /identity/conditionalAccess/namedLocations/{id}`.
    pub async fn named_location(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        self.ca_find(tenant, LOCATION_TYPES, key).await
    }

    /// Every policy of the tenant, oldest first (what the policy engine reads).
    pub async fn ca_policies(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        self.ca_list(tenant, &[POLICY]).await
    }

    /// `GET /identity/conditionalAccess/policies/{id}`.
    pub async fn ca_policy(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        self.ca_find(tenant, &[POLICY], key).await
    }

    /// `POST /identity/conditionalAccess/namedLocations`.
    pub async fn create_named_location(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        let kind = location_kind(body)?;
        let mut doc = named_location_doc(kind, None, body)?;
        let at = now();
        doc.insert("createdDateTime".into(), json!(at));
        doc.insert("modifiedDateTime".into(), json!(at));
        let object = ObjectRecord { id: Uuid::new_v4(), object_type: kind.into(), version: 1, doc, deleted_at: None };
        self.ca_insert(caller, object, "Add named location").await
    }

    /// `PATCH /identity/conditionalAccess/namedLocations/{id}`: the body names the location's
    /// type (`@odata.type`), as Graph requires.
    pub async fn update_named_location(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let kind = location_kind(body)?;
        self.ca_update(caller, LOCATION_TYPES, key, "Update named location", |current| {
            if current.object_type != kind {
                return Err(bad(format!("The named location is a {}; its type cannot change.", current.object_type)));
            }
            named_location_doc(kind, Some(&current.doc), body)
        })
        .await
    }

    /// `DELETE /identity/conditionalAccess/namedLocations/{id}`: refused while a policy uses it.
    pub async fn delete_named_location(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let current = self.named_location(caller.tenant, key).await?;
        let id = current.id.to_string();
        for policy in self.ca_policies(caller.tenant).await? {
            let l = &policy.doc["conditions"]["locations"];
            let uses = ["includeLocations", "excludeLocations"]
                .iter()
                .any(|k| l[k].as_array().is_some_and(|a| a.iter().any(|v| v.as_str() == Some(id.as_str()))));
            if uses {
                return Err(bad(format!(
                    "1049: NamedLocation with id {id} is referenced by conditional access policy {} and cannot be deleted.",
                    policy.id
                )));
            }
        }
        self.ca_purge(caller, &current, "Delete named location").await
    }

    async fn location_ids(&self, tenant: Uuid) -> DirectoryResult<Vec<Uuid>> {
        Ok(self.named_locations(tenant).await?.iter().map(|l| l.id).collect())
    }

    /// `POST /identity/conditionalAccess/policies`.
    pub async fn create_ca_policy(&self, caller: &Caller, body: &Map<String, Value>) -> DirectoryResult<ObjectRecord> {
        let locations = self.location_ids(caller.tenant).await?;
        let mut doc = policy_doc(None, body, &locations)?;
        doc.insert("createdDateTime".into(), json!(now()));
        doc.insert("modifiedDateTime".into(), Value::Null);
        let object = ObjectRecord { id: Uuid::new_v4(), object_type: POLICY.into(), version: 1, doc, deleted_at: None };
        self.ca_insert(caller, object, "Add conditional access policy").await
    }

    /// `PATCH /identity/conditionalAccess/policies/{id}`.
    pub async fn update_ca_policy(&self, caller: &Caller, key: &str, body: &Map<String, Value>) -> DirectoryResult<()> {
        let locations = self.location_ids(caller.tenant).await?;
        self.ca_update(caller, &[POLICY], key, "Update conditional access policy", |current| {
            policy_doc(Some(&current.doc), body, &locations)
        })
        .await
    }

    /// `DELETE /identity/conditionalAccess/policies/{id}`.
    pub async fn delete_ca_policy(&self, caller: &Caller, key: &str) -> DirectoryResult<()> {
        let current = self.ca_policy(caller.tenant, key).await?;
        self.ca_purge(caller, &current, "Delete conditional access policy").await
    }
}

impl Directory {
    /// The sign-in context of `user` for the policy engine: their transitive groups, role
    /// templates, guest status and current user risk, with what the endpoint knows.
    pub async fn user_sign_in_context(
        &self,
        tenant: Uuid,
        user: &ObjectRecord,
        app_id: &str,
        client_app_type: &str,
        ip: Option<IpAddr>,
        country: Option<String>,
    ) -> DirectoryResult<crate::ca_engine::SignInContext> {
        let group_ids =
            self.transitive_ids(tenant, user.id, crate::membership::Direction::MemberOf, &["group"]).await?;
        let role_template_ids = self.user_role_templates(tenant, user).await?;
        let user_risk = self.risk_level(tenant, crate::risk_subject::RiskSubject::User, user.id).await?;
        Ok(crate::ca_engine::SignInContext {
            user_id: Some(user.id),
            service_principal_id: None,
            is_guest: user.doc.get("userType").and_then(Value::as_str) == Some("Guest"),
            group_ids,
            role_template_ids,
            app_id: app_id.to_string(),
            client_app_type: client_app_type.to_string(),
            ip,
            country,
            platform: None,
            sign_in_risk: "none".into(),
            user_risk,
            service_principal_risk: "none".into(),
            mfa_done: false,
            password_changed: false,
        })
    }

    /// Evaluates the tenant's policies for a sign-in (see [`crate::ca_engine`]).
    pub async fn evaluate_conditional_access(
        &self,
        tenant: Uuid,
        ctx: &crate::ca_engine::SignInContext,
    ) -> DirectoryResult<crate::ca_engine::Evaluation> {
        // Read at every sign-in and token: kept while the change log has not moved.
        let seq = self.cache_seq(tenant).await;
        let objects = match self.caches.conditional_access.get(&tenant, seq) {
            Some(hit) => hit,
            None => {
                let policies = self.ca_policies(tenant).await?;
                let locations = self.named_locations(tenant).await?;
                let read = std::sync::Arc::new(crate::seq_cache::ConditionalAccessObjects { policies, locations });
                self.caches.conditional_access.put(tenant, seq, read.clone());
                read
            }
        };
        let p: Vec<(Uuid, &Map<String, Value>)> = objects.policies.iter().map(|o| (o.id, &o.doc)).collect();
        let l: Vec<(Uuid, &str, &Map<String, Value>)> =
            objects.locations.iter().map(|o| (o.id, o.object_type.as_str(), &o.doc)).collect();
        Ok(crate::ca_engine::evaluate(&p, &l, ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        assert!(cidr_contains("10.0.0.0/8", "10.2.3.4".parse().unwrap()));
        assert!(!cidr_contains("10.0.0.0/8", "11.2.3.4".parse().unwrap()));
        assert!(cidr_contains("2001:db8::/32", "2001:db8::1".parse().unwrap()));
        assert!(!cidr_contains("2001:db8::/32", "10.0.0.1".parse().unwrap()));
        assert!(cidr_contains("0.0.0.0/0", "8.8.8.8".parse().unwrap()));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("10.0.0.0").is_none());
    }
}
