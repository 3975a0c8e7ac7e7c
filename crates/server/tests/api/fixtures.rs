//! Fixtures: `cerulean import` / `serve --fixture` (idempotent, validated like the API) and
//! `cerulean export` (round trip equal), checked through the HTTP API.

use axum::http::StatusCode;
use cerulean::app::App;
use cerulean::cli::{ExportArgs, ImportArgs};
use cerulean::fixture::{export_from, import_into};
use cerulean_store::{SqliteStore, Store};
use serde_json::{Value, json};

use crate::harness::{Harness, PUBLIC_URL, open_store};

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const PASSWORD: &str = "xWwvJ]6NMw+bWH-d";
const SECRET: &str = "fixture-secret-0123456789abcdef";
const APP_ID: &str = "5d2ae4c9-3f2a-4c55-9a1f-2d7b3c1e9f01";
const ADELE: &str = "11111111-1111-4111-8111-111111111111";

/// A small tenant: users with and without passwords, a manager chain, nested groups named by
/// UPN, display name and id, an application with a secret, its service principal and a granted
/// Graph application permission.
fn sample() -> Value {
    json!({
        "users": [
            {"id": ADELE, "displayName": "Adele Vance", "mailNickname": "adele", "accountEnabled": true,
             "userPrincipalName": "adele@contoso.onmicrosoft.com", "department": "Sales", "password": PASSWORD},
            {"displayName": "Alex Wilber", "mailNickname": "alex", "accountEnabled": true,
             "userPrincipalName": "alex@contoso.onmicrosoft.com", "department": "Sales",
             "manager": "adele@contoso.onmicrosoft.com"},
            {"displayName": "Megan Bowen", "mailNickname": "megan", "accountEnabled": true,
             "userPrincipalName": "megan@contoso.onmicrosoft.com", "manager": ADELE}
        ],
        "groups": [
            {"displayName": "Sales", "mailNickname": "sales", "mailEnabled": false, "securityEnabled": true,
             "members": ["alex@contoso.onmicrosoft.com", ADELE], "owners": ["adele@contoso.onmicrosoft.com"]},
            {"displayName": "All staff", "mailNickname": "all", "mailEnabled": false, "securityEnabled": true,
             "members": ["Sales", "megan@contoso.onmicrosoft.com", "Fixture app"]}
        ],
        "applications": [
            {"displayName": "Fixture app", "appId": APP_ID, "signInAudience": "AzureADMyOrg",
             "requiredResourceAccess": [{"resourceAppId": GRAPH,
                 "resourceAccess": [{"id": "df021288-bdef-4463-88db-98f22de89214", "type": "Role"}]}],
             "passwordCredentials": [{"displayName": "ci", "secretText": SECRET}],
             "owners": ["adele@contoso.onmicrosoft.com"]}
        ],
        "servicePrincipals": [{"appId": APP_ID}],
        "appRoleAssignments": [{"principal": APP_ID, "resource": GRAPH, "appRole": "User.Read.All"}]
    })
}

const PRADEEP: &str = "22222222-2222-4222-8222-222222222222";
const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";

/// Devices with registered owners and users, organizational contacts (one synchronised), an
/// administrative unit with members, and role assignments tenant-wide and unit-scoped.
fn directory_sample() -> Value {
    json!({
        "users": [
            {"id": PRADEEP, "displayName": "Pradeep Gupta", "mailNickname": "pradeep", "accountEnabled": true,
             "userPrincipalName": "pradeep@contoso.onmicrosoft.com"},
            {"displayName": "Lidia Holloway", "mailNickname": "lidia", "accountEnabled": true,
             "userPrincipalName": "lidia@contoso.onmicrosoft.com"}
        ],
        "devices": [
            {"displayName": "Pradeep-Laptop", "accountEnabled": true, "deviceId": "6f6d0c2a-0b55-4f5e-9a35-8a4c2f3d1e01",
             "operatingSystem": "Windows", "operatingSystemVersion": "10.0.22631",
             "alternativeSecurityIds": [{"type": 2, "key": "Y3YxN2E1MWFlYw=="}],
             "registeredOwners": ["pradeep@contoso.onmicrosoft.com"],
             "registeredUsers": [PRADEEP, "lidia@contoso.onmicrosoft.com"]}
        ],
        "contacts": [
            {"displayName": "Fabrikam Support", "mail": "support@fabrikam.example", "companyName": "Fabrikam"},
            {"displayName": "Tailspin Legal", "mail": "legal@tailspin.example", "onPremisesSyncEnabled": true}
        ],
        "administrativeUnits": [
            {"displayName": "Seattle", "description": "Seattle office",
             "members": ["pradeep@contoso.onmicrosoft.com", "Pradeep-Laptop"]},
            {"displayName": "Empty unit"}
        ],
        "roleAssignments": [
            {"principal": "lidia@contoso.onmicrosoft.com", "role": "User Administrator", "administrativeUnit": "Seattle"},
            {"principal": PRADEEP, "roleDefinitionId": GLOBAL_READER},
            {"principal": "lidia@contoso.onmicrosoft.com", "roleDefinitionId": GLOBAL_READER, "directoryScopeId": "/"}
        ]
    })
}

async fn import(h: &Harness, fixture: &Value) -> Result<cerulean_directory::ImportReport, cerulean::ServerError> {
    import_into(&h.app, h.store.as_ref(), &h.dir, fixture, None, "contoso.onmicrosoft.com").await.map(|(_, r)| r)
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        v["value"].as_array().expect("value").iter().map(|o| o["id"].as_str().expect("id").to_string()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn import_creates_the_objects_and_relations_and_a_second_import_nothing() {
    let h = Harness::new().await;
    let report = import(&h, &sample()).await.expect("import");
    assert_eq!(report.created.get("users"), Some(&3));
    assert_eq!(report.created.get("groups"), Some(&2));
    assert_eq!(report.created.get("applications"), Some(&1));
    assert_eq!(report.created.get("servicePrincipals"), Some(&1));
    assert_eq!(report.created.get("appRoleAssignments"), Some(&1));
    // 2 managers, 2 + 3 members, 1 group owner, 1 app owner.
    assert_eq!(report.links_added, 9);

    let r = h.get(&format!("/v1.0/users/{ADELE}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["displayName"], "Adele Vance");
    let r = h.get("/v1.0/users/alex@contoso.onmicrosoft.com/manager").await;
    assert_eq!(r.json["id"], ADELE, "{}", r.text);
    let r = h.get("/v1.0/users/megan@contoso.onmicrosoft.com/manager").await;
    assert_eq!(r.json["id"], ADELE, "{}", r.text);

    let all = h.get("/v1.0/groups?$filter=displayName%20eq%20'All%20staff'").await;
    let all_id = all.json["value"][0]["id"].as_str().expect("All staff").to_string();
    let sales = h.get("/v1.0/groups?$filter=displayName%20eq%20'Sales'").await;
    let sales_id = sales.json["value"][0]["id"].as_str().expect("Sales").to_string();
    let alex = h.get("/v1.0/users/alex@contoso.onmicrosoft.com").await.json["id"].as_str().expect("alex").to_string();
    let megan = h.get("/v1.0/users/megan@contoso.onmicrosoft.com").await.json["id"].as_str().expect("m").to_string();
    let sp = h.get(&format!("/v1.0/servicePrincipals(appId='{APP_ID}')")).await;
    assert_eq!(sp.status, StatusCode::OK, "{}", sp.text);
    let sp_id = sp.json["id"].as_str().expect("sp").to_string();
    // Nested: All staff -> Sales -> Alex, Adele.
    let r = h.get(&format!("/v1.0/groups/{all_id}/transitiveMembers")).await;
    let mut want = vec![ADELE.to_string(), alex.clone(), megan, sales_id.clone(), sp_id];
    want.sort();
    assert_eq!(ids(&r.json), want, "{}", r.text);
    let r = h.get(&format!("/v1.0/groups/{sales_id}/owners")).await;
    assert_eq!(ids(&r.json), vec![ADELE.to_string()]);
    let r = h.get(&format!("/v1.0/applications(appId='{APP_ID}')/owners")).await;
    assert_eq!(ids(&r.json), vec![ADELE.to_string()], "{}", r.text);

    // The fixture's secret and granted permission work: a client-credentials token with the role.
    let token = h.app_token(APP_ID, SECRET).await;
    let r = h.graph_with(axum::http::Method::GET, "/v1.0/users?$top=1", None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The secret is stored hashed; the application lists its hint only.
    let app = h.get(&format!("/v1.0/applications(appId='{APP_ID}')")).await;
    assert_eq!(app.json["passwordCredentials"][0]["hint"], &SECRET[..3]);
    assert!(!app.text.contains(SECRET));
    // The fixture's password signs in; the user without one cannot.
    let ropc = |user: &'static str| {
        let h = &h;
        async move {
            h.form(
                &format!("/{}/oauth2/v2.0/token", h.boot.tenant_id),
                &[
                    ("grant_type", "password"),
                    ("client_id", &h.boot.client_id),
                    ("client_secret", &h.boot.client_secret),
                    ("username", user),
                    ("password", PASSWORD),
                    ("scope", "https://graph.microsoft.com/User.Read"),
                ],
                None,
            )
            .await
        }
    };
    assert_eq!(ropc("adele@contoso.onmicrosoft.com").await.status, StatusCode::OK);
    assert_eq!(ropc("alex@contoso.onmicrosoft.com").await.status, StatusCode::BAD_REQUEST);

    // Idempotent: the same file again creates nothing and links nothing.
    let again = import(&h, &sample()).await.expect("re-import");
    assert_eq!(again.total_created(), 0, "{again:?}");
    assert_eq!(again.links_added, 0, "{again:?}");
    assert_eq!(again.existing.get("users"), Some(&3));
    let r = h.get(&format!("/v1.0/groups/{sales_id}/members")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn import_applies_the_api_rules_and_names_the_entry() {
    let h = Harness::new().await;
    let user = |extra: Value| {
        let mut u = json!({"displayName": "Nestor", "mailNickname": "nestor", "accountEnabled": true,
                           "userPrincipalName": "nestor@contoso.onmicrosoft.com"});
        for (k, v) in extra.as_object().expect("object") {
            u[k] = v.clone();
        }
        json!({"users": [u]})
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"people": []}), "The fixture section 'people' is unknown."),
        (json!({"users": {}}), "The fixture's 'users' is not an array."),
        (
            user(json!({"userPrincipalName": "nestor@fabrikam.com"})),
            "users[0]: The domain portion of the userPrincipalName property is invalid.",
        ),
        (user(json!({"favouriteColour": "blue"})), "users[0]: The property 'favouriteColour' does not exist"),
        (user(json!({"password": "short"})), "users[0]: "),
        (user(json!({"passwordHash": "sha1:abc"})), "users[0]: Invalid value specified for property 'passwordHash'"),
        (
            user(json!({"manager": "nobody@contoso.onmicrosoft.com"})),
            "users[0]: The reference 'nobody@contoso.onmicrosoft.com' names no user",
        ),
        (user(json!({"id": "not-a-guid"})), "users[0]: Invalid object identifier 'not-a-guid'."),
        (
            json!({"groups": [{"displayName": "Loop", "mailNickname": "loop", "mailEnabled": false,
                               "securityEnabled": true, "members": ["Loop"]}]}),
            "groups[0]: A group cannot be a member of itself.",
        ),
        (
            json!({"groups": [{"displayName": "Dyn", "mailNickname": "dyn", "mailEnabled": false, "securityEnabled": true,
                               "groupTypes": ["DynamicMembership"], "membershipRule": "user.department -eq \"Sales\"",
                               "members": ["admin@contoso.onmicrosoft.com"]}]}),
            "groups[0]: The members of a group with dynamic membership are computed",
        ),
        (
            json!({"applications": [{"displayName": "A", "passwordCredentials": [{"secretText": "short"}]}]}),
            "applications[0]: A password credential needs either 'secretText'",
        ),
        (
            json!({"servicePrincipals": [{"appId": "6d2ae4c9-3f2a-4c55-9a1f-2d7b3c1e9f01"}]}),
            "servicePrincipals[0]: The appId '6d2ae4c9-3f2a-4c55-9a1f-2d7b3c1e9f01' of the service principal does not reference a valid application object.",
        ),
        (
            json!({"appRoleAssignments": [{"principal": "admin@contoso.onmicrosoft.com", "resource": GRAPH, "appRole": "No.Such.Role"}]}),
            "appRoleAssignments[0]: The resource",
        ),
    ];
    for (fixture, message) in cases {
        let err = import(&h, &fixture).await.expect_err(&fixture.to_string()).to_string();
        assert!(err.contains(message), "{fixture}: {err}");
    }
    // An invalid entry stops the import before its set is written: the valid entry before it
    // is not created either.
    let fixture = json!({"users": [
        {"displayName": "Ok", "mailNickname": "ok", "accountEnabled": true, "userPrincipalName": "ok@contoso.onmicrosoft.com"},
        {"displayName": "Bad", "mailNickname": "bad", "accountEnabled": true, "userPrincipalName": "bad@fabrikam.com"}
    ]});
    let err = import(&h, &fixture).await.expect_err("invalid").to_string();
    assert!(err.contains("users[1]: "), "{err}");
    let r = h.get("/v1.0/users/ok@contoso.onmicrosoft.com").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

/// Export, import the export into an empty store, export again: the same file. The imported
/// tenant keeps its id, objects, relationships and credentials: the original's bootstrap
/// client secret still gets a token.
#[tokio::test]
async fn export_then_import_into_an_empty_store_round_trips() {
    let h = Harness::new().await;
    import(&h, &sample()).await.expect("import");
    import(&h, &directory_sample()).await.expect("import devices, contacts, units, roles");
    let r = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "Dynamic sales", "mailNickname": "dynsales", "mailEnabled": false,
                   "securityEnabled": true, "groupTypes": ["DynamicMembership"],
                   "membershipRule": "user.department -eq \"Sales\""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let first = export_from(&h.app, h.store.as_ref(), None).await.expect("export");
    assert_eq!(first["tenant"]["id"], h.boot.tenant_id);
    assert_eq!(first["users"].as_array().map(Vec::len), Some(6));
    let text = first.to_string();
    assert!(!text.contains(SECRET) && !text.contains(PASSWORD) && !text.contains(&h.boot.client_secret));
    assert!(text.contains("\"passwordHash\":\"$argon2id$"));

    let dir = std::env::temp_dir().join(format!("cerulean-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (store, _db) = open_store(&dir).await;
    let app = App::new(store.clone(), PUBLIC_URL);
    let (tenant, report) =
        import_into(&app, store.as_ref(), &dir, &first, None, "ignored.onmicrosoft.com").await.expect("import");
    assert_eq!(tenant.to_string(), h.boot.tenant_id);
    assert!(report.total_created() > 0);
    let second = export_from(&app, store.as_ref(), None).await.expect("export again");
    let mut diffs = Vec::new();
    for (key, value) in first.as_object().expect("object") {
        let (a, b) =
            (value.as_array().cloned().unwrap_or_default(), second[key].as_array().cloned().unwrap_or_default());
        for (x, y) in a.iter().zip(b.iter()).filter(|(x, y)| x != y) {
            let mut keys: Vec<String> =
                x.as_object().into_iter().chain(y.as_object()).flat_map(|o| o.keys().cloned()).collect();
            keys.sort();
            keys.dedup();
            keys.retain(|k| x[k.as_str()] != y[k.as_str()]);
            diffs.push(format!("{key} {}: {keys:?}", x["id"]));
        }
        if a.len() != b.len() {
            diffs.push(format!("{key}: {} vs {} entries", a.len(), b.len()));
        }
    }
    assert!(diffs.is_empty(), "{diffs:?}");
    assert_eq!(first, second);
    // The dynamic group's members were computed again from its rule.
    let dynamic = first["groups"].as_array().expect("groups").iter().find(|g| g["displayName"] == "Dynamic sales");
    let dynamic = dynamic.and_then(|g| g["id"].as_str()).and_then(|s| s.parse().ok()).expect("dynamic group");
    let members = store.edge_ids(tenant, cerulean_store::EdgeKind::Member, dynamic, false).await.expect("members");
    assert_eq!(members.len(), 2);
    // Devices, contacts, units and role assignments made the trip, relationships included.
    for (key, n) in [("devices", 1), ("contacts", 2), ("administrativeUnits", 2)] {
        assert_eq!(first[key].as_array().map(Vec::len), Some(n), "{key}");
    }
    // The bootstrap administrator's Global Administrator assignment and the fixture's three.
    assert_eq!(first["roleAssignments"].as_array().map(Vec::len), Some(4));
    let laptop = &first["devices"][0];
    assert_eq!(laptop["registeredOwners"], json!([PRADEEP]));
    assert!(first["contacts"].as_array().expect("contacts").iter().any(|c| c["onPremisesSyncEnabled"] == true));
    let scoped = first["roleAssignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .filter(|a| a["directoryScopeId"].as_str().is_some_and(|s| s.starts_with("/administrativeUnits/")));
    assert_eq!(scoped.count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_commands_import_and_export_a_data_directory() {
    let dir = std::env::temp_dir().join(format!("cerulean-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fixture = dir.join("fixture.json");
    std::fs::write(&fixture, sample().to_string()).expect("fixture");
    let data_dir = dir.join("data");
    let import_args = ImportArgs {
        data_dir: data_dir.clone(),
        database_url: None,
        tenant: None,
        tenant_domain: "contoso.onmicrosoft.com".into(),
        public_url: PUBLIC_URL.into(),
        file: fixture.clone(),
    };
    let summary = cerulean::fixture::import(&import_args).await.expect("import");
    assert!(summary.contains("created 8 objects"), "{summary}");
    assert!(data_dir.join("bootstrap.json").exists(), "an empty data directory is bootstrapped first");
    let summary = cerulean::fixture::import(&import_args).await.expect("import again");
    assert!(summary.contains("created 0 objects"), "{summary}");

    let out = dir.join("export.json");
    let export_args =
        ExportArgs { data_dir: data_dir.clone(), database_url: None, tenant: None, force: false, file: out.clone() };
    let summary = cerulean::fixture::export(&export_args).await.expect("export");
    assert!(summary.contains("4 users"), "{summary}");
    let exported: Value = serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("json");
    assert_eq!(exported["applications"].as_array().map(Vec::len), Some(2));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).expect("meta").permissions().mode() & 0o777, 0o600);
    }
    let err = cerulean::fixture::export(&export_args).await.expect_err("exists").to_string();
    assert!(err.contains("pass --force"), "{err}");
    // A running server holds the data directory: both commands refuse.
    let lock = cerulean::backup::DataDirLock::acquire(&data_dir, "test").expect("lock");
    let err = cerulean::fixture::import(&import_args).await.expect_err("locked").to_string();
    assert!(err.contains("stop the server first"), "{err}");
    drop(lock);
    let err = cerulean::fixture::export(&ExportArgs { data_dir: dir.join("nothing"), force: true, ..export_args })
        .await
        .expect_err("no store")
        .to_string();
    assert!(err.contains("holds no store"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn devices_contacts_units_and_role_assignments_import_idempotently() {
    let h = Harness::new().await;
    let report = import(&h, &directory_sample()).await.expect("import");
    assert_eq!(report.created.get("devices"), Some(&1), "{report:?}");
    assert_eq!(report.created.get("contacts"), Some(&2), "{report:?}");
    assert_eq!(report.created.get("administrativeUnits"), Some(&2), "{report:?}");
    assert_eq!(report.created.get("roleAssignments"), Some(&3), "{report:?}");
    // 1 owner + 2 users of the laptop, 2 unit members.
    assert_eq!(report.links_added, 5, "{report:?}");

    let lidia =
        h.get("/v1.0/users/lidia@contoso.onmicrosoft.com").await.json["id"].as_str().expect("lidia").to_string();
    let r = h.get("/v1.0/devices?$filter=displayName%20eq%20'Pradeep-Laptop'").await;
    let laptop = r.json["value"][0]["id"].as_str().unwrap_or_else(|| panic!("laptop: {}", r.text)).to_string();
    assert_eq!(ids(&h.get(&format!("/v1.0/devices/{laptop}/registeredOwners")).await.json), vec![PRADEEP.to_string()]);
    let mut users = vec![PRADEEP.to_string(), lidia.clone()];
    users.sort();
    assert_eq!(ids(&h.get(&format!("/v1.0/devices/{laptop}/registeredUsers")).await.json), users);

    let r = h.get("/v1.0/contacts?$filter=displayName%20eq%20'Tailspin%20Legal'").await;
    assert_eq!(r.json["value"][0]["onPremisesSyncEnabled"], true, "{}", r.text);
    let synced = r.json["value"][0]["id"].as_str().expect("contact").to_string();
    // A synchronised contact stays read-only, as an imported one should.
    let r = h.patch(&format!("/v1.0/contacts/{synced}"), json!({"jobTitle": "Counsel"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = h.get("/v1.0/directory/administrativeUnits?$filter=displayName%20eq%20'Seattle'").await;
    let seattle = r.json["value"][0]["id"].as_str().unwrap_or_else(|| panic!("unit: {}", r.text)).to_string();
    let mut members = vec![PRADEEP.to_string(), laptop.clone()];
    members.sort();
    assert_eq!(ids(&h.get(&format!("/v1.0/directory/administrativeUnits/{seattle}/members")).await.json), members);

    // The unit-scoped assignment is a scoped role membership of the unit; the others are
    // tenant-wide (and make their holders members of the activated directory role).
    let r = h.get(&format!("/v1.0/users/{lidia}/scopedRoleMemberOf")).await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert_eq!(r.json["value"][0]["administrativeUnitId"], seattle.as_str());
    let r = h
        .get(&format!(
            "/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId%20eq%20'{USER_ADMINISTRATOR}'"
        ))
        .await;
    assert_eq!(r.json["value"][0]["directoryScopeId"], format!("/administrativeUnits/{seattle}"), "{}", r.text);
    let r = h
        .get(&format!(
            "/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId%20eq%20'{GLOBAL_READER}'"
        ))
        .await;
    assert_eq!(r.json["value"].as_array().map(Vec::len), Some(2), "{}", r.text);
    assert!(r.json["value"].as_array().expect("value").iter().all(|a| a["directoryScopeId"] == "/"));
    let r = h.get(&format!("/v1.0/users/{PRADEEP}/memberOf")).await;
    assert!(r.text.contains("Global Reader"), "{}", r.text);

    // Idempotent.
    let again = import(&h, &directory_sample()).await.expect("re-import");
    assert_eq!(again.total_created(), 0, "{again:?}");
    assert_eq!(again.links_added, 0, "{again:?}");
    assert_eq!(again.existing.get("roleAssignments"), Some(&3), "{again:?}");

    // The API's rules apply, and the error names the entry.
    let bad = json!({"roleAssignments": [
        {"principal": "lidia@contoso.onmicrosoft.com", "roleDefinitionId": GLOBAL_READER, "administrativeUnit": "Seattle"}
    ]});
    let err = import(&h, &bad).await.expect_err("not at unit scope").to_string();
    assert!(err.contains("roleAssignments[0]") && err.contains("administrative unit scope"), "{err}");
    let bad = json!({"roleAssignments": [{"principal": "lidia@contoso.onmicrosoft.com", "role": "Chief Wizard"}]});
    let err = import(&h, &bad).await.expect_err("unknown role").to_string();
    assert!(err.contains("'Chief Wizard' is not a built-in role"), "{err}");
    let bad = json!({"devices": [{"displayName": "No OS", "accountEnabled": true}]});
    assert!(import(&h, &bad).await.is_err());
}

/// The sample tenant of the repository (`fixtures/contoso.json`, made by
/// `fixtures/generate.py contoso`) imports, and its people, groups and apps read back through
/// the API as generated.
#[tokio::test]
async fn the_sample_fixture_builds_a_realistic_tenant() {
    let fixture: Value =
        serde_json::from_str(include_str!("../../../../fixtures/contoso.json")).expect("fixtures/contoso.json");
    let h = Harness::new().await;
    let report = import(&h, &fixture).await.expect("import");
    assert_eq!(report.created.get("users"), Some(&275), "{report:?}");
    assert_eq!(report.created.get("groups"), Some(&48), "{report:?}");
    assert_eq!(report.created.get("appRoleAssignments"), Some(&3), "{report:?}");
    assert_eq!(report.created.get("devices"), Some(&8), "{report:?}");
    assert_eq!(report.created.get("contacts"), Some(&3), "{report:?}");
    assert_eq!(report.created.get("administrativeUnits"), Some(&4), "{report:?}");
    assert_eq!(report.created.get("roleAssignments"), Some(&4), "{report:?}");

    let count = |path: &'static str| {
        let h = &h;
        async move {
            let r = h.get_eventual(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
            r.text.trim().parse::<usize>().expect("a count")
        }
    };
    assert_eq!(count("/v1.0/users/$count").await, 276, "275 people and the administrator");
    assert_eq!(count("/v1.0/users/$count?$filter=department%20eq%20'Engineering'").await, 72);
    let group = |name: &'static str| {
        let h = &h;
        async move {
            let r = h.get(&format!("/v1.0/groups?$filter=displayName%20eq%20'{}'", name.replace(' ', "%20"))).await;
            r.json["value"][0]["id"].as_str().unwrap_or_else(|| panic!("group {name}: {}", r.text)).to_string()
        }
    };
    // Nesting: All Staff > departments > teams > people; everyone but the administrator.
    let all = group("All Staff").await;
    let r = h.get_eventual(&format!("/v1.0/groups/{all}/transitiveMembers/microsoft.graph.user/$count")).await;
    assert_eq!(r.text.trim(), "275", "{}", r.text);
    let engineering = group("Engineering").await;
    let r = h.get_eventual(&format!("/v1.0/groups/{engineering}/transitiveMembers/microsoft.graph.user/$count")).await;
    assert_eq!(r.text.trim(), "72", "{}", r.text);
    // The dynamic group computed its members from the rule.
    let dynamic = group("Engineering (dynamic)").await;
    let r = h.get_eventual(&format!("/v1.0/groups/{dynamic}/members/$count")).await;
    assert_eq!(r.text.trim(), "72", "{}", r.text);

    // Management chain: a specialist's manager is a team lead, whose manager heads the
    // department and reports to the CEO.
    let r = h.get("/v1.0/users?$filter=jobTitle%20eq%20'Sales%20Specialist'&$top=1").await;
    let specialist = r.json["value"][0]["id"].as_str().expect("a specialist").to_string();
    let lead = h.get(&format!("/v1.0/users/{specialist}/manager")).await;
    assert_eq!(lead.json["jobTitle"], "Sales Team Lead", "{}", lead.text);
    let head = h.get(&format!("/v1.0/users/{}/manager", lead.json["id"].as_str().expect("lead"))).await;
    assert_eq!(head.json["jobTitle"], "Head of Sales", "{}", head.text);
    let ceo = h.get(&format!("/v1.0/users/{}/manager", head.json["id"].as_str().expect("head"))).await;
    assert_eq!(ceo.json["jobTitle"], "Chief Executive Officer", "{}", ceo.text);
    let reports = h.get(&format!("/v1.0/users/{}/directReports", ceo.json["id"].as_str().expect("ceo"))).await;
    assert_eq!(reports.json["value"].as_array().map(Vec::len), Some(8), "{}", reports.text);

    // The daemon app signs in with its demo secret and holds the granted Graph roles.
    let sync = &fixture["applications"][1];
    let token = h.app_token(sync["appId"].as_str().expect("appId"), "contoso-directory-sync-demo-secret").await;
    let r = h.graph_with(axum::http::Method::GET, &format!("/v1.0/groups/{all}/members"), None, &token, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The Finance group holds the Expenses app's Approver role.
    let finance = group("Finance").await;
    let r = h.get(&format!("/v1.0/groups/{finance}/appRoleAssignments")).await;
    assert_eq!(r.json["value"][0]["resourceDisplayName"], "Contoso Expenses", "{}", r.text);
}

/// `serve --fixture` on an empty data directory bootstraps the fixture's domain and imports it
/// before serving; a restart with the same fixture imports nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_imports_its_fixture_before_serving() {
    let dir = std::env::temp_dir().join(format!("cerulean-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fixture = dir.join("fixture.json");
    let text = sample().to_string().replace("contoso.onmicrosoft.com", "fabrikam.onmicrosoft.com");
    let mut value: Value = serde_json::from_str(&text).expect("json");
    value["tenant"] = json!({"domains": ["fabrikam.onmicrosoft.com"]});
    std::fs::write(&fixture, value.to_string()).expect("fixture");
    let data_dir = dir.join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    // Parsed as the command line would be, so every other option keeps its default.
    let listen = format!("127.0.0.1:{port}");
    let (data, fixture_arg) = (data_dir.display().to_string(), fixture.display().to_string());
    let argv = ["cerulean", "serve", "--data-dir", &data, "--listen", &listen, "--http", "--fixture", &fixture_arg];
    let cli = <cerulean::cli::Cli as clap::Parser>::try_parse_from(argv).expect("arguments");
    let cerulean::cli::Command::Serve(args) = cli.command else { panic!("not serve") };
    let server = tokio::spawn(cerulean::serve::run(args));
    // The server listens only after the import: once the port answers, the users are there.
    let mut listening = false;
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            listening = true;
            break;
        }
        assert!(!server.is_finished(), "serve stopped early");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listening, "serve never listened");
    let boot: Value =
        serde_json::from_slice(&std::fs::read(data_dir.join("bootstrap.json")).expect("bootstrap.json")).expect("json");
    assert_eq!(boot["tenantDomain"], "fabrikam.onmicrosoft.com", "the fixture's domain was bootstrapped");
    let store = SqliteStore::open(&data_dir.join("cerulean.db"), &cerulean_directory::index_specs()).expect("store");
    let tenant = boot["tenantId"].as_str().and_then(|t| t.parse().ok()).expect("tenant");
    let adele = store.find_unique(tenant, "upn", "adele@fabrikam.onmicrosoft.com").await.expect("read");
    assert_eq!(adele.map(|u| u.to_string()).as_deref(), Some(ADELE));
    server.abort();
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A YAML fixture is the same fixture as its JSON: `fixtures/sample.yaml` reads through
/// `read_fixture` (by its extension), imports, and reads back through the API; the JSON sample
/// written as YAML (`.yml`) reads back to the same value.
#[tokio::test]
async fn yaml_fixtures_import_like_json() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sample.yaml");
    let fixture = cerulean::fixture::read_fixture(&root).expect("fixtures/sample.yaml");
    assert_eq!(fixture["tenant"]["domains"][0]["name"], "northwind.onmicrosoft.com");
    let h = Harness::with_domain("northwind.onmicrosoft.com").await;
    let report = import_into(&h.app, h.store.as_ref(), &h.dir, &fixture, None, "northwind.onmicrosoft.com")
        .await
        .expect("import");
    assert_eq!(report.1.created.get("users"), Some(&4), "{:?}", report.1);
    assert_eq!(report.1.created.get("groups"), Some(&2), "{:?}", report.1);
    let r = h.get("/v1.0/users/andrew@northwind.onmicrosoft.com/manager").await;
    assert_eq!(r.json["userPrincipalName"], "nancy@northwind.onmicrosoft.com", "{}", r.text);
    let r = h.get("/v1.0/groups?$filter=displayName%20eq%20'Everyone'").await;
    let everyone = r.json["value"][0]["id"].as_str().expect("Everyone").to_string();
    let r = h.get_eventual(&format!("/v1.0/groups/{everyone}/transitiveMembers/microsoft.graph.user/$count")).await;
    assert_eq!(r.text.trim(), "4", "{}", r.text);
    // Idempotent, as JSON.
    let again = import_into(&h.app, h.store.as_ref(), &h.dir, &fixture, None, "northwind.onmicrosoft.com")
        .await
        .expect("again");
    assert_eq!(again.1.total_created(), 0, "{:?}", again.1);

    let dir = std::env::temp_dir().join(format!("cerulean-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let yml = dir.join("sample.yml");
    std::fs::write(&yml, serde_yaml_ng::to_string(&sample()).expect("yaml")).expect("write");
    assert_eq!(cerulean::fixture::read_fixture(&yml).expect("yml"), sample());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A malformed YAML fixture is refused with the file, the line and the column of the fault.
#[tokio::test]
async fn malformed_yaml_names_the_line_and_column() {
    let dir = std::env::temp_dir().join(format!("cerulean-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("broken.yaml");
    std::fs::write(&path, "users:\n  - displayName: A\n    mailNickname: [unclosed\n").expect("write");
    let err = cerulean::fixture::read_fixture(&path).expect_err("malformed").to_string();
    assert!(err.contains("broken.yaml is not a YAML fixture"), "{err}");
    assert!(err.contains("line 4") || err.contains("line 3"), "{err}");
    assert!(err.contains("column"), "{err}");
    // The same fault through the command names it too, and imports nothing.
    let args = ImportArgs {
        data_dir: dir.join("data"),
        database_url: None,
        tenant: None,
        tenant_domain: "contoso.onmicrosoft.com".into(),
        public_url: PUBLIC_URL.into(),
        file: path.clone(),
    };
    let err = cerulean::fixture::import(&args).await.expect_err("malformed").to_string();
    assert!(err.contains("column"), "{err}");
    assert!(!dir.join("data").exists(), "nothing was created");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A top-level `tenants` list imports several tenants from one file, each into its own tenant;
/// the shapes a list cannot take are refused.
#[tokio::test]
async fn a_tenants_list_imports_each_tenant() {
    const FIRST: &str = "7a1b2c3d-0000-4000-8000-000000000001";
    const SECOND: &str = "7a1b2c3d-0000-4000-8000-000000000002";
    let tenant = |id: &str, domain: &str, alias: &str| {
        json!({
            "tenant": {"id": id, "domains": [domain]},
            "users": [{"displayName": alias, "mailNickname": alias, "accountEnabled": true,
                       "userPrincipalName": format!("{alias}@{domain}")}],
        })
    };
    let fixture = json!({
        "description": "two tenants",
        "tenants": [tenant(FIRST, "first.onmicrosoft.com", "ann"), tenant(SECOND, "second.onmicrosoft.com", "bo")],
    });
    let h = Harness::new().await;
    let imported =
        cerulean::fixture::import_all(&h.app, h.store.as_ref(), &h.dir, &fixture, None, "x").await.expect("import");
    let ids: Vec<String> = imported.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(ids, [FIRST, SECOND]);
    for (tenant, upn, other) in [
        (FIRST, "ann@first.onmicrosoft.com", "bo@second.onmicrosoft.com"),
        (SECOND, "bo@second.onmicrosoft.com", "ann@first.onmicrosoft.com"),
    ] {
        let id = tenant.parse().expect("guid");
        assert!(h.store.find_unique(id, "upn", upn).await.expect("read").is_some(), "{upn} in {tenant}");
        assert!(h.store.find_unique(id, "upn", other).await.expect("read").is_none(), "{other} not in {tenant}");
    }
    // Importing again creates nothing.
    let again =
        cerulean::fixture::import_all(&h.app, h.store.as_ref(), &h.dir, &fixture, None, "x").await.expect("again");
    assert!(again.iter().all(|(_, r)| r.total_created() == 0), "{again:?}");

    for (bad, says) in [
        (json!({"tenants": []}), "non-empty list"),
        (json!({"tenants": [tenant(FIRST, "first.onmicrosoft.com", "ann")], "users": []}), "move the other sections"),
        (json!({"tenants": [{"users": []}, {"users": []}]}), "tenant.id"),
    ] {
        let err = cerulean::fixture::import_all(&h.app, h.store.as_ref(), &h.dir, &bad, None, "x")
            .await
            .expect_err("refused")
            .to_string();
        assert!(err.contains(says), "{err}");
    }
    let err = cerulean::fixture::import_all(&h.app, h.store.as_ref(), &h.dir, &fixture, Some(FIRST), "x")
        .await
        .expect_err("--tenant with several")
        .to_string();
    assert!(err.contains("describes several"), "{err}");
}
