//! Checks the schema declarations, the permission catalogue and the authorization table
//! against the official references in `<workspace>/../shared/reference/`:
//!
//! - `msgraph-metadata/v1.0-cleanMetadata.xml`: every declared entity, complex and enum type
//!   matches the Graph v1.0 CSDL (names, EDM types, collection-ness, nullability, open/abstract
//!   markers, navigation targets), and every CSDL structural property is declared;
//! - `graph-permissions/provisioningInfo.json` and `permissions.json`: every permission has the
//!   public-cloud GUIDs and consent texts of the reference;
//! - `graph-permissions/permissions.json`: every route rule lists exactly the permissions the
//!   reference lists for its method and path.
//!
//! The reference directory must exist: without it these tests fail, they never pass silently.

#[path = "../../graph/src/authz_table.rs"]
mod authz_table;

use cerulean_schema::{EdmType, Flags, entities, permissions};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

fn reference_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/reference"));
    assert!(
        dir.is_dir(),
        "reference directory {} is missing: the schema, permission and authorization checks need \
         the official references (msgraph-metadata, graph-permissions) checked out beside the \
         workspace as shared/reference/",
        dir.display()
    );
    dir
}

fn read(rel: &str) -> String {
    let path = reference_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read reference file {}: {e}", path.display()))
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

// ---------------------------------------------------------------------------------------------
// A tiny CSDL scanner: enough for the flat, generated layout of the Graph metadata.

struct Csdl {
    /// The `microsoft.graph` schema element only (other namespaces reuse type names).
    schema: String,
}

#[derive(Debug)]
struct Element {
    attrs: HashMap<String, String>,
    body: String,
}

fn csdl() -> &'static Csdl {
    static CSDL: OnceLock<Csdl> = OnceLock::new();
    CSDL.get_or_init(|| {
        let text = read("msgraph-metadata/v1.0-cleanMetadata.xml");
        let start = text.find("<Schema Namespace=\"microsoft.graph\" ").expect("no microsoft.graph schema in the CSDL");
        let len = text[start..].find("</Schema>").expect("unterminated schema");
        Csdl { schema: text[start..start + len].to_string() }
    })
}

fn parse_attrs(tag: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].rsplit(|c: char| c.is_whitespace()).next().unwrap_or("").to_string();
        let after = &rest[eq + 2..];
        let end = after.find('"').expect("unterminated attribute");
        out.insert(key, after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

impl Csdl {
    fn element(&self, kind: &str, name: &str) -> Option<Element> {
        let needle = format!("<{kind} Name=\"{name}\"");
        let mut from = 0;
        while let Some(i) = self.schema[from..].find(&needle) {
            let start = from + i;
            let rest = &self.schema[start..];
            let head_end = rest.find('>').expect("unterminated tag");
            let head = &rest[..head_end];
            let next = rest.as_bytes()[needle.len()];
            if next == b' ' || next == b'>' || next == b'/' {
                let attrs = parse_attrs(head);
                if head.ends_with('/') {
                    return Some(Element { attrs, body: String::new() });
                }
                let close = format!("</{kind}>");
                let end = rest.find(&close).expect("unterminated element");
                return Some(Element { attrs, body: rest[head_end + 1..end].to_string() });
            }
            from = start + needle.len();
        }
        None
    }
}

impl Element {
    fn children(&self, tag: &str) -> Vec<HashMap<String, String>> {
        let needle = format!("<{tag} ");
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(i) = rest.find(&needle) {
            let after = &rest[i..];
            let end = after.find('>').expect("unterminated child tag");
            out.push(parse_attrs(&after[..end]));
            rest = &after[end..];
        }
        out
    }

    fn flag(&self, attr: &str) -> bool {
        self.attrs.get(attr).is_some_and(|v| v == "true")
    }
}

/// The CSDL type of a declared property, in the CSDL's own spelling (`graph.` alias).
fn csdl_type(ty: &EdmType, collection: bool) -> String {
    let name = ty.csdl_name().replace("microsoft.graph.", "graph.");
    if collection { format!("Collection({name})") } else { name }
}

/// CSDL properties deliberately not declared yet, with the reason. Keep this list short.
const KNOWN_GAPS: &[(&str, &str, &str)] = &[
    ("workingHours", "startTime", "Edm.TimeOfDay: no EdmType variant yet"),
    ("workingHours", "endTime", "Edm.TimeOfDay: no EdmType variant yet"),
];

/// Compares declared properties with the CSDL's `<Property>` children; returns the problems.
fn compare_properties(
    owner: &str,
    declared: &[cerulean_schema::Property],
    reference: &[HashMap<String, String>],
    problems: &mut Vec<String>,
) {
    let by_name: BTreeMap<&str, &HashMap<String, String>> = reference.iter().map(|p| (p["Name"].as_str(), p)).collect();
    for p in declared {
        let Some(r) = by_name.get(p.name) else {
            problems.push(format!("{owner}.{}: not in the CSDL", p.name));
            continue;
        };
        let want = &r["Type"];
        let got = csdl_type(&p.ty, p.collection);
        if &got != want {
            problems.push(format!("{owner}.{}: type {got}, CSDL says {want}", p.name));
        }
        let nullable = r.get("Nullable").is_none_or(|v| v != "false");
        if nullable != p.is(Flags::NULLABLE) {
            problems.push(format!(
                "{owner}.{}: NULLABLE is {}, CSDL Nullable is {nullable}",
                p.name,
                p.is(Flags::NULLABLE)
            ));
        }
    }
    for (name, r) in &by_name {
        if r["Type"] == "Edm.Stream" {
            continue;
        }
        if let Some(gap) = KNOWN_GAPS.iter().find(|g| g.0 == owner && g.1 == *name) {
            assert!(!declared.iter().any(|p| p.name == *name), "{owner}.{name} is declared now");
            assert_eq!(r["Type"], "Edm.TimeOfDay", "{owner}.{name}: {}", gap.2);
            continue;
        }
        if !declared.iter().any(|p| p.name == *name) {
            problems.push(format!("{owner}.{name}: in the CSDL ({}) but not declared", r["Type"]));
        }
    }
}

#[test]
fn entity_types_match_the_csdl() {
    let csdl = csdl();
    let mut problems = Vec::new();
    for e in entities::ALL {
        let el =
            csdl.element("EntityType", e.name).unwrap_or_else(|| panic!("entity type {} is not in the CSDL", e.name));
        let mut reference = el.children("Property");
        match (e.base, el.attrs.get("BaseType").map(String::as_str)) {
            (Some(b), Some(r)) => assert_eq!(format!("graph.{b}"), r, "{} base type", e.name),
            // Cerulean's root type folds the CSDL's abstract `entity` (which holds `id`) in.
            (None, Some("graph.entity")) => {
                reference.extend(csdl.element("EntityType", "entity").unwrap().children("Property"))
            }
            (None, None) => {}
            (ours, theirs) => panic!("{}: base {ours:?}, CSDL {theirs:?}", e.name),
        }
        assert_eq!(e.open, el.flag("OpenType"), "{} OpenType", e.name);
        assert_eq!(e.is_abstract, el.flag("Abstract"), "{} Abstract", e.name);
        compare_properties(e.name, e.properties, &reference, &mut problems);

        let navs = el.children("NavigationProperty");
        for n in e.navigation {
            let Some(r) = navs.iter().find(|r| r["Name"] == n.name) else {
                problems.push(format!("{}.{}: navigation not in the CSDL", e.name, n.name));
                continue;
            };
            let target = format!("graph.{}", n.target);
            let want = if n.collection { format!("Collection({target})") } else { target };
            if r["Type"] != want {
                problems.push(format!("{}.{}: {want}, CSDL says {}", e.name, n.name, r["Type"]));
            }
            let contains = r.get("ContainsTarget").is_some_and(|v| v == "true");
            if contains != n.contains_target {
                problems.push(format!("{}.{}: ContainsTarget differs", e.name, n.name));
            }
        }
    }
    assert!(problems.is_empty(), "entity types differ from the CSDL:\n{}", problems.join("\n"));
}

#[test]
fn complex_types_match_the_csdl() {
    let csdl = csdl();
    let mut problems = Vec::new();
    for c in entities::COMPLEX {
        let el =
            csdl.element("ComplexType", c.name).unwrap_or_else(|| panic!("complex type {} is not in the CSDL", c.name));
        assert_eq!(c.open, el.flag("OpenType"), "{} OpenType", c.name);
        assert_eq!(c.is_abstract, el.flag("Abstract"), "{} Abstract", c.name);
        // A derived complex type (`iPv4CidrRange` : `ipRange`) names its base, as the CSDL does,
        // and declares only its own properties; the base is itself declared and checked here.
        let base = c.base.map(|b| format!("graph.{b}"));
        assert_eq!(base.as_deref(), el.attrs.get("BaseType").map(String::as_str), "{} base type", c.name);
        if let Some(b) = c.base {
            assert!(cerulean_schema::complex(b).is_some(), "{}: base {b} is not declared", c.name);
        }
        compare_properties(c.name, c.properties, &el.children("Property"), &mut problems);
    }
    assert!(problems.is_empty(), "complex types differ from the CSDL:\n{}", problems.join("\n"));
}

#[test]
fn enum_types_match_the_csdl() {
    let csdl = csdl();
    for e in entities::ENUMS {
        let el = csdl.element("EnumType", e.name).unwrap_or_else(|| panic!("enum type {} is not in the CSDL", e.name));
        let members: Vec<(String, i64)> = el
            .children("Member")
            .into_iter()
            .map(|m| (m["Name"].clone(), m["Value"].parse().expect("enum value")))
            .collect();
        let ours: Vec<(String, i64)> = e.members.iter().zip(e.values).map(|(m, v)| (m.to_string(), *v)).collect();
        assert_eq!(ours, members, "enum {}", e.name);
    }
}

#[test]
fn entity_sets_match_the_csdl() {
    let container = csdl().element("EntityContainer", "GraphService").expect("no container");
    let sets = container.children("EntitySet");
    for e in entities::ALL {
        if let Some(set) = e.entity_set {
            let r =
                sets.iter().find(|s| s["Name"] == set).unwrap_or_else(|| panic!("entity set {set} is not in the CSDL"));
            assert_eq!(r["EntityType"], format!("microsoft.graph.{}", e.name), "{set}");
        }
    }
}

#[test]
fn every_referenced_type_is_declared_and_checked() {
    // Everything the declared properties reference is itself declared (and so checked above).
    let entity_props = entities::ALL.iter().flat_map(|e| e.properties.iter().map(move |p| (e.name, p)));
    let complex_props = entities::COMPLEX.iter().flat_map(|c| c.properties.iter().map(move |p| (c.name, p)));
    for (owner, p) in entity_props.chain(complex_props) {
        match p.ty {
            EdmType::Complex(n) => assert!(cerulean_schema::complex(n).is_some(), "{owner}.{}: {n}", p.name),
            EdmType::Enum(n) => assert!(cerulean_schema::enumeration(n).is_some(), "{owner}.{}: {n}", p.name),
            _ => {}
        }
    }
    for e in entities::ALL {
        if let Some(b) = e.base {
            assert!(cerulean_schema::entity(b).is_some(), "{}: base {b} is not declared", e.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Permissions.

/// Scopes of the Microsoft Graph application that the permission reference does not list.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The public-cloud Microsoft Graph deployment of `name` in `scheme`, per `provisioningInfo.json`
/// (its `resourceAppId` names the workload behind the permission, not the resource).
fn graph_deployment<'a>(deployments: &'a Value, name: &str, scheme: &str) -> Option<&'a Value> {
    deployments[name].as_array()?.iter().find(|d| {
        d["environment"] == "public"
            && d["scheme"] == scheme
            // The nil GUID marks a permission not provisioned yet; a malformed one (the reference
            // has one) cannot be an appRole or scope id.
            && d["id"].as_str().is_some_and(|id| {
                id != "00000000-0000-0000-0000-000000000000"
                    && id.split('-').map(str::len).eq([8, 4, 4, 4, 12])
                    && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            })
    })
}

#[test]
fn permissions_match_the_reference() {
    let texts = json("graph-permissions/permissions.json");
    let provisioning = json("graph-permissions/provisioningInfo.json");
    let texts = &texts["permissions"];
    let deployments = &provisioning["permissionDeployments"];

    let public_id = |name: &str, scheme: &str| -> Option<String> {
        graph_deployment(deployments, name, scheme).and_then(|d| d["id"].as_str().map(str::to_string))
    };

    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    for p in permissions::all() {
        if !names.insert(p.name.to_ascii_lowercase()) {
            problems.push(format!("{}: declared twice", p.name));
        }
        if OIDC_SCOPES.contains(&p.name) {
            assert!(
                texts.get(p.name).is_none() && deployments.get(p.name).is_none(),
                "{} is now in the reference: check it like the others",
                p.name
            );
            continue;
        }
        let app_id = public_id(p.name, "Application");
        let del_id = public_id(p.name, "DelegatedWork");
        // Two names sharing a GUID (an alias) keep it once, on the documented name.
        let alias = |id: &Option<String>| {
            id.as_deref().is_some_and(|id| {
                permissions::all()
                    .any(|q| q.name != p.name && (q.application_id == Some(id) || q.delegated_id == Some(id)))
            })
        };
        if p.application_id.map(str::to_string) != app_id && !(p.application_id.is_none() && alias(&app_id)) {
            problems.push(format!("{}: app role id {:?}, reference {app_id:?}", p.name, p.application_id));
        }
        if p.delegated_id.map(str::to_string) != del_id && !(p.delegated_id.is_none() && alias(&del_id)) {
            problems.push(format!("{}: scope id {:?}, reference {del_id:?}", p.name, p.delegated_id));
        }
        let enabled = [("Application", p.application_id), ("DelegatedWork", p.delegated_id)]
            .iter()
            .filter(|(_, id)| id.is_some())
            .all(|(scheme, _)| graph_deployment(deployments, p.name, scheme).is_some_and(|d| d["isEnabled"] != false));
        if p.enabled != enabled {
            problems.push(format!("{}: enabled {}, reference {enabled}", p.name, p.enabled));
        }
        // Consent texts: those of permissions.json where it documents the permission (about a
        // quarter of the deployed permissions are undocumented; they show their name).
        let Some(schemes) = texts[p.name]["schemes"].as_object() else {
            if p.admin_display_name != p.name {
                problems.push(format!("{}: undocumented, but titled {:?}", p.name, p.admin_display_name));
            }
            continue;
        };
        let app = schemes.get("Application");
        let del = schemes.get("DelegatedWork");
        let Some(admin) = del.or(app) else {
            problems.push(format!("{}: no schemes in permissions.json", p.name));
            continue;
        };
        let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
        // An empty text in the reference falls back: a title to the permission's name, an app
        // role's texts to the admin texts.
        let or = |text: String, fallback: &str| if text.is_empty() { fallback.to_string() } else { text };
        let mut checks = vec![
            ("adminDisplayName", p.admin_display_name.to_string(), or(s(admin, "adminDisplayName"), p.name)),
            ("adminDescription", p.admin_description.to_string(), s(admin, "adminDescription")),
        ];
        if let (Some(d), true) = (del, p.delegated_id.is_some()) {
            checks.push(("userDisplayName", p.user_display_name.to_string(), s(d, "userDisplayName")));
            checks.push(("userDescription", p.user_description.to_string(), s(d, "userDescription")));
        }
        if let (Some(a), true) = (app, p.application_id.is_some()) {
            checks.push((
                "app role displayName",
                p.app_role_display_name.unwrap_or("-").to_string(),
                or(s(a, "adminDisplayName"), p.admin_display_name),
            ));
            checks.push((
                "app role description",
                p.app_role_description.unwrap_or("-").to_string(),
                or(s(a, "adminDescription"), p.admin_description),
            ));
        }
        for (what, ours, theirs) in checks {
            if ours != theirs {
                problems.push(format!("{}: {what} {ours:?}, reference {theirs:?}", p.name));
            }
        }
        if p.delegated_id.is_some() {
            if let Some(d) = del
                && Some(p.requires_admin_consent) != d["requiresAdminConsent"].as_bool()
            {
                problems.push(format!("{}: requiresAdminConsent differs", p.name));
            }
        } else if !p.requires_admin_consent {
            problems.push(format!("{}: an application-only permission always needs admin consent", p.name));
        }
    }
    assert!(problems.is_empty(), "permissions differ from the reference:\n{}", problems.join("\n"));
}

/// The catalogue is complete: every Microsoft Graph permission the reference deploys in the
/// public cloud is declared, under its name, with its GUID (an alias sharing another name's
/// GUID excepted).
#[test]
fn permission_catalogue_is_the_full_public_graph_catalogue() {
    let provisioning = json("graph-permissions/provisioningInfo.json");
    let deployments = provisioning["permissionDeployments"].as_object().expect("deployments object");
    let mut missing = Vec::new();
    let mut checked = 0;
    for name in deployments.keys() {
        for scheme in ["Application", "DelegatedWork"] {
            let Some(d) = graph_deployment(&provisioning["permissionDeployments"], name, scheme) else { continue };
            let id = d["id"].as_str().unwrap_or_default();
            checked += 1;
            let ours = permissions::by_name(name)
                .filter(|p| p.name == name.as_str())
                .and_then(|p| if scheme == "Application" { p.application_id } else { p.delegated_id });
            let aliased = permissions::by_app_role_id(id).or_else(|| permissions::by_scope_id(id)).is_some();
            if ours != Some(id) && !(ours.is_none() && aliased) {
                missing.push(format!("{name} ({scheme}) {id}: ours {ours:?}"));
            }
        }
    }
    assert!(checked > 1700, "only {checked} public Graph deployments found: has the reference's shape changed?");
    assert!(missing.is_empty(), "{} public Graph permissions are missing:\n{}", missing.len(), missing.join("\n"));
    assert!(permissions::all().count() > 680, "the catalogue is not the full one");
}

#[test]
fn permission_catalogue_covers_what_cerulean_uses() {
    for name in [
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "User.Read",
        "User.Read.All",
        "User.ReadWrite.All",
        "User.ReadBasic.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "GroupMember.Read.All",
        "GroupMember.ReadWrite.All",
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Application.ReadWrite.OwnedBy",
        "AppRoleAssignment.ReadWrite.All",
        "RoleManagement.Read.Directory",
        "RoleManagement.ReadWrite.Directory",
        "Policy.Read.All",
        "Policy.ReadWrite.ConditionalAccess",
        "AuditLog.Read.All",
        "IdentityRiskyUser.Read.All",
        "IdentityRiskyUser.ReadWrite.All",
        "IdentityRiskEvent.Read.All",
        "Device.Read.All",
        "Device.ReadWrite.All",
        "AdministrativeUnit.ReadWrite.All",
        "OrgContact.Read.All",
        "Domain.Read.All",
        "Domain.ReadWrite.All",
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        "UserAuthenticationMethod.ReadWrite.All",
        "openid",
        "profile",
        "email",
        "offline_access",
    ] {
        assert!(permissions::by_name(name).is_some(), "{name} is missing from the catalogue");
    }
}

// ---------------------------------------------------------------------------------------------
// The authorization table.

/// Lower-case, every `{...}` placeholder as `{id}`.
fn normalise_path(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') && s.ends_with('}') { "{id}".to_string() } else { s.to_ascii_lowercase() })
        .collect::<Vec<_>>()
        .join("/")
}

type Grants = BTreeMap<&'static str, BTreeSet<String>>;

/// (method, normalised path) -> scheme -> permission names.
fn reference_routes() -> HashMap<(String, String), Grants> {
    let texts = json("graph-permissions/permissions.json");
    let mut out: HashMap<(String, String), Grants> = HashMap::new();
    for (name, p) in texts["permissions"].as_object().expect("permissions object") {
        for set in p["pathSets"].as_array().into_iter().flatten() {
            let schemes: Vec<&str> =
                set["schemeKeys"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let methods = set["methods"].as_array().into_iter().flatten().filter_map(Value::as_str);
            let paths: Vec<String> =
                set["paths"].as_object().into_iter().flatten().map(|(k, _)| normalise_path(k)).collect();
            for method in methods {
                for path in &paths {
                    let grants = out.entry((method.to_ascii_uppercase(), path.clone())).or_default();
                    for scheme in &schemes {
                        let key = match *scheme {
                            "Application" => "Application",
                            "DelegatedWork" => "DelegatedWork",
                            _ => continue,
                        };
                        grants.entry(key).or_default().insert(name.clone());
                    }
                }
            }
        }
    }
    out
}

#[test]
fn authz_table_equals_the_reference() {
    let reference = reference_routes();
    let mut problems = Vec::new();
    for rule in authz_table::RULES {
        let key = (rule.method.to_string(), normalise_path(rule.path));
        let Some(grants) = reference.get(&key) else {
            problems.push(format!("{} {}: not in permissions.json", rule.method, rule.path));
            continue;
        };
        for (scheme, ours) in [("Application", rule.application), ("DelegatedWork", rule.delegated)] {
            let ours: BTreeSet<String> = ours.iter().map(|s| s.to_string()).collect();
            let theirs = grants.get(scheme).cloned().unwrap_or_default();
            if ours != theirs {
                let missing: Vec<_> = theirs.difference(&ours).collect();
                let extra: Vec<_> = ours.difference(&theirs).collect();
                problems.push(format!(
                    "{} {} {scheme}: missing {missing:?}, not in the reference {extra:?}",
                    rule.method, rule.path
                ));
            }
        }
    }
    assert!(problems.is_empty(), "authorization table differs:\n{}", problems.join("\n"));
}

#[test]
fn routes_without_reference_entries_stay_out_of_the_table() {
    // Served (or to be served) by Cerulean, but permissions.json lists no permission for them.
    // When the reference gains one, this fails: add the rule to the table then.
    let reference = reference_routes();
    for (method, path) in [
        ("GET", "/users/$count"),
        ("GET", "/groups/$count"),
        ("POST", "/groups/{id}/members"),
        ("GET", "/directory/deleteditems/microsoft.graph.user"),
        ("GET", "/directory/deleteditems/microsoft.graph.group"),
        ("GET", "/directory/deleteditems/{id}"),
        ("DELETE", "/directory/deleteditems/{id}"),
        ("DELETE", "/directoryobjects/{id}"),
        ("PATCH", "/me"),
        ("PATCH", "/contacts/{id}"),
        ("DELETE", "/contacts/{id}"),
    ] {
        assert!(
            !reference.contains_key(&(method.to_string(), path.to_string())),
            "{method} {path} is now in permissions.json: add it to the authorization table"
        );
        assert!(authz_table::lookup(method, path).is_none(), "{method} {path} has a rule");
    }
}

#[test]
fn authz_table_covers_the_served_routes() {
    for (method, path) in [
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/users/{id}"),
        ("PATCH", "/users/{id}"),
        ("DELETE", "/users/{id}"),
        ("GET", "/users/{id}/memberof"),
        ("GET", "/users/{id}/transitivememberof"),
        ("GET", "/users/{id}/manager"),
        ("PUT", "/users/{id}/manager/$ref"),
        ("DELETE", "/users/{id}/manager/$ref"),
        ("GET", "/users/{id}/directreports"),
        ("GET", "/users/{id}/ownedobjects"),
        ("POST", "/users/{id}/checkmembergroups"),
        ("POST", "/users/{id}/getmembergroups"),
        ("GET", "/groups"),
        ("POST", "/groups"),
        ("GET", "/groups/{id}"),
        ("PATCH", "/groups/{id}"),
        ("DELETE", "/groups/{id}"),
        ("GET", "/groups/{id}/members"),
        ("DELETE", "/groups/{id}/members/{id}/$ref"),
        ("GET", "/groups/{id}/owners"),
        ("POST", "/groups/{id}/owners/$ref"),
        ("DELETE", "/groups/{id}/owners/{id}/$ref"),
        ("GET", "/groups/{id}/memberof"),
        ("GET", "/groups/{id}/transitivemembers"),
        ("GET", "/groups/{id}/transitivememberof"),
        ("POST", "/groups/{id}/checkmembergroups"),
        ("POST", "/directory/deleteditems/{id}/restore"),
        ("GET", "/directoryobjects/{id}"),
        ("POST", "/directoryobjects/getbyids"),
        ("POST", "/directoryobjects/validateproperties"),
        ("POST", "/devices"),
        ("GET", "/devices/{id}/registeredowners"),
        ("POST", "/devices/{id}/registeredusers/$ref"),
        ("GET", "/contacts/{id}/transitivememberof"),
        ("POST", "/directory/administrativeunits/{id}/members/$ref"),
        ("DELETE", "/directory/administrativeunits/{id}/members/{id}/$ref"),
    ] {
        assert!(authz_table::lookup(method, path).is_some(), "no rule for {method} {path}");
    }
}

#[test]
fn aad_graph_permissions_match_provisioning_info() {
    // Every Azure AD Graph permission listed in provisioningInfo.json (public, enabled, not
    // hidden) is declared with its GUIDs; the classic ones it does not list are the only others.
    let provisioning = json("graph-permissions/provisioningInfo.json");
    let deployments = provisioning["permissionDeployments"].as_object().expect("deployments");
    let mut listed: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    for (name, deps) in deployments {
        for d in deps.as_array().into_iter().flatten() {
            let id = d["id"].as_str().unwrap_or("");
            if d["resourceAppId"] != permissions::AAD_GRAPH_APP_ID
                || d["environment"] != "public"
                || id.is_empty()
                || d["isEnabled"] != true
                || d["isHidden"] == true
            {
                continue;
            }
            let entry = listed.entry(name.clone()).or_default();
            match d["scheme"].as_str() {
                Some("Application") => entry.0 = Some(id.to_string()),
                Some("DelegatedWork") => entry.1 = Some(id.to_string()),
                _ => {}
            }
        }
    }
    const CLASSIC: &[&str] = &[
        "Directory.AccessAsUser.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "User.Read",
        "User.Read.All",
        "User.ReadBasic.All",
    ];
    let ours = permissions::aad_graph_all();
    for (name, (app, del)) in &listed {
        let p = ours.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name} is not declared"));
        assert_eq!(p.application_id.map(str::to_string), *app, "{name} app role");
        assert_eq!(p.delegated_id.map(str::to_string), *del, "{name} scope");
    }
    for p in ours {
        assert!(listed.contains_key(p.name) || CLASSIC.contains(&p.name), "{} is not in the reference", p.name);
    }
}
