//! Dynamic membership groups: members computed from `membershipRule`, following user changes,
//! frozen while `Paused`, invalid rules and manual member writes refused.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, id_of, user_body};

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

async fn user_in(h: &Harness, alias: &str, department: &str) -> String {
    let mut body = user_body(alias, alias);
    body["department"] = json!(department);
    let r = h.post("/v1.0/users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id_of(&r.json)
}

/// The body creating a dynamic security group with `rule`.
fn dynamic_body(nickname: &str, rule: &str) -> Value {
    json!({
        "displayName": nickname, "mailEnabled": false, "mailNickname": nickname, "securityEnabled": true,
        "groupTypes": ["DynamicMembership"], "membershipRule": rule,
    })
}

async fn dynamic_group(h: &Harness, nickname: &str, rule: &str) -> Value {
    let r = h.post("/v1.0/groups", dynamic_body(nickname, rule)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json
}

async fn members(h: &Harness, group: &str) -> Vec<String> {
    let r = h.get(&format!("/v1.0/groups/{group}/members?$select=id")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut ids: Vec<String> = r.json["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|m| m["id"].as_str().unwrap_or_default().into())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn members_follow_the_rule_and_user_changes() {
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales").await;
    let bob = user_in(&h, "bob", "Marketing").await;
    let g = dynamic_group(&h, "sales", "user.department -eq \"sales\"").await;
    assert_eq!(g["groupTypes"], json!(["DynamicMembership"]));
    assert_eq!(g["membershipRuleProcessingState"], "On");
    let gid = id_of(&g);
    assert_eq!(members(&h, &gid).await, vec![alice.clone()]);

    // A new user that matches joins; a changed department moves a user in and out.
    let carol = user_in(&h, "carol", "SALES").await;
    assert_eq!(members(&h, &gid).await, sorted(&[&alice, &carol]));
    let r = h.patch(&format!("/v1.0/users/{bob}"), json!({"department": "Sales"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.patch(&format!("/v1.0/users/{alice}"), json!({"department": "Finance"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &gid).await, sorted(&[&bob, &carol]));
    // memberOf of the user shows the group.
    let r = h.get(&format!("/v1.0/users/{bob}/memberOf?$select=id")).await;
    assert!(r.json["value"].as_array().expect("value").iter().any(|g| g["id"] == gid.as_str()), "{}", r.text);

    // The engine's writes are audited as Entra's dynamic-group service principal.
    let audits = h.store.audit_records(h.tenant(), 50).await.expect("audit");
    let add = audits.iter().find(|a| a.activity == "Add member to group").expect("audited add");
    assert_eq!(add.actor.kind, "system");
    assert_eq!(add.actor.display_name.as_deref(), Some("Microsoft Approval Management"));
    assert!(audits.iter().any(|a| a.activity == "Remove member from group"));

    // Changing the rule recomputes every member.
    let r = h
        .patch(
            &format!("/v1.0/groups/{gid}"),
            json!({"membershipRule": "user.department -in ['Finance', 'Marketing']"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &gid).await, vec![alice.clone()]);

    // Deleting a user drops it; restoring brings it back when it still matches.
    assert_eq!(h.delete(&format!("/v1.0/users/{alice}")).await.status, StatusCode::NO_CONTENT);
    assert!(members(&h, &gid).await.is_empty());
    let r = h.post(&format!("/v1.0/directory/deletedItems/{alice}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(members(&h, &gid).await, vec![alice.clone()]);

    // "All users".
    let all = id_of(&dynamic_group(&h, "everyone", "user.objectId -ne null").await);
    let every = members(&h, &all).await;
    assert!(every.contains(&alice) && every.contains(&bob) && every.contains(&carol), "{every:?}");
}

#[tokio::test]
async fn paused_freezes_membership() {
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales").await;
    let gid = id_of(&dynamic_group(&h, "sales", "user.department -eq 'Sales'").await);
    let r = h.patch(&format!("/v1.0/groups/{gid}"), json!({"membershipRuleProcessingState": "paused"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/groups/{gid}?$select=membershipRuleProcessingState")).await;
    assert_eq!(r.json["membershipRuleProcessingState"], "Paused");
    let bob = user_in(&h, "bob", "Sales").await;
    let r = h.patch(&format!("/v1.0/users/{alice}"), json!({"department": "Finance"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(members(&h, &gid).await, vec![alice.clone()], "paused: nothing changes");
    // Switching back on applies the rule to everyone.
    let r = h.patch(&format!("/v1.0/groups/{gid}"), json!({"membershipRuleProcessingState": "On"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &gid).await, vec![bob]);
    let r = h.patch(&format!("/v1.0/groups/{gid}"), json!({"membershipRuleProcessingState": "Sometimes"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn invalid_rules_are_refused_with_the_position() {
    let h = Harness::new().await;
    let base = |rule: Value| {
        json!({
            "displayName": "Dyn", "mailEnabled": false, "mailNickname": "dyn", "securityEnabled": true,
            "groupTypes": ["DynamicMembership"], "membershipRule": rule,
        })
    };
    let r = h.post("/v1.0/groups", base(json!("user.departmnt -eq \"Sales\""))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.code(), "Request_BadRequest");
    assert_eq!(
        r.message(),
        "Dynamic membership rule validation error: Property 'departmnt' is not supported for object 'user' at position 5."
    );
    let r = h.post("/v1.0/groups", base(json!("user.department -eq \"Sales\" -and"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("at position 32"), "{}", r.message());
    // A dynamic group needs a rule; a rule needs a dynamic group.
    let r = h.post("/v1.0/groups", base(Value::Null)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("membershipRule"), "{}", r.message());
    let r = h
        .post(
            "/v1.0/groups",
            json!({"displayName": "S", "mailEnabled": false, "mailNickname": "s", "securityEnabled": true, "membershipRule": "user.city -eq 'x'"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // An update with a broken rule leaves the group as it was.
    let gid = id_of(&dynamic_group(&h, "ok", "user.city -eq 'Oslo'").await);
    let r = h.patch(&format!("/v1.0/groups/{gid}"), json!({"membershipRule": "user.city -eq"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("position 13"), "{}", r.message());
    let r = h.get(&format!("/v1.0/groups/{gid}?$select=membershipRule")).await;
    assert_eq!(r.json["membershipRule"], "user.city -eq 'Oslo'");
}

#[tokio::test]
async fn members_of_dynamic_groups_cannot_be_written() {
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales").await;
    let bob = user_in(&h, "bob", "Marketing").await;
    let gid = id_of(&dynamic_group(&h, "sales", "user.department -eq 'Sales'").await);
    let r = h.post(&format!("/v1.0/groups/{gid}/members/$ref"), reference(&bob)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "Authorization_RequestDenied");
    assert_eq!(r.message(), "Insufficient privileges to complete the operation.");
    let r = h.delete(&format!("/v1.0/groups/{gid}/members/{alice}/$ref")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let bind = json!({"members@odata.bind": [format!("https://graph.microsoft.com/v1.0/directoryObjects/{bob}")]});
    let r = h.patch(&format!("/v1.0/groups/{gid}"), bind.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let mut body = json!({
        "displayName": "D2", "mailEnabled": false, "mailNickname": "d2", "securityEnabled": true,
        "groupTypes": ["DynamicMembership"], "membershipRule": "user.department -eq 'Sales'",
    });
    body["members@odata.bind"] = bind["members@odata.bind"].clone();
    let r = h.post("/v1.0/groups", body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(members(&h, &gid).await, vec![alice.clone()]);

    // Turning the group into an assigned one keeps its members and allows edits again.
    let r = h.patch(&format!("/v1.0/groups/{gid}"), json!({"groupTypes": []})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.get(&format!("/v1.0/groups/{gid}?$select=membershipRule,groupTypes")).await;
    assert_eq!(r.json["membershipRule"], Value::Null, "{}", r.text);
    assert_eq!(members(&h, &gid).await, vec![alice.clone()]);
    let r = h.post(&format!("/v1.0/groups/{gid}/members/$ref"), reference(&bob)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // And back: existing members that do not match are removed.
    let r = h
        .patch(
            &format!("/v1.0/groups/{gid}"),
            json!({"groupTypes": ["DynamicMembership"], "membershipRule": "user.department -eq 'Marketing'"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &gid).await, vec![bob]);
}

#[tokio::test]
async fn member_of_rules_follow_the_referenced_group() {
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales").await;
    let bob = user_in(&h, "bob", "Sales").await;
    let source = id_of(&h.group("source", "Source").await);
    // Entra refuses memberOf combined with any other condition, and more than 50 groups.
    let rule = format!("user.memberof -any (group.objectId -in ['{source}']) -and user.department -eq 'Sales'");
    let r = h.post("/v1.0/groups", dynamic_body("combined", &rule)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("cannot be combined"), "{}", r.text);
    let many: Vec<String> = (0..51).map(|i| format!("'g{i}'")).collect();
    let rule = format!("user.memberOf -any (group.objectId -in [{}])", many.join(", "));
    let r = h.post("/v1.0/groups", dynamic_body("many", &rule)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("at most 50 groups"), "{}", r.text);
    let rule = format!("user.memberof -any (group.objectId -in ['{source}'])");
    let gid = id_of(&dynamic_group(&h, "nested", &rule).await);
    assert!(members(&h, &gid).await.is_empty());
    let r = h.post(&format!("/v1.0/groups/{source}/members/$ref"), reference(&alice)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &gid).await, vec![alice.clone()]);
    let r = h.delete(&format!("/v1.0/groups/{source}/members/{alice}/$ref")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(members(&h, &gid).await.is_empty());
    // A dynamic group referencing another dynamic group follows it one level.
    let sales = id_of(&dynamic_group(&h, "sales", "user.department -eq 'Sales'").await);
    let rule = format!("user.memberOf -any (group.objectId -eq '{sales}')");
    let chained = id_of(&dynamic_group(&h, "chained", &rule).await);
    assert_eq!(members(&h, &chained).await, sorted(&[&alice, &bob]));
    // ...but not a group whose own rule uses memberOf.
    let rule = format!("user.memberOf -any (group.objectId -eq '{chained}')");
    let r = h.post("/v1.0/groups", dynamic_body("twice", &rule)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("cannot reference a group whose rule uses memberOf"), "{}", r.text);
    let r = h.patch(&format!("/v1.0/users/{bob}"), json!({"department": "Finance"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(members(&h, &chained).await, vec![alice]);
}

/// The rule language's operators over HTTP: each group's membership is computed at creation and
/// follows a PATCH that moves a user in and out.
#[tokio::test]
async fn rule_operators_move_users_in_and_out() {
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales EMEA").await;
    let bob = user_in(&h, "bob", "Marketing").await;
    let cases: &[(&str, &[&String])] = &[
        ("user.department -startsWith \"Sales\"", &[&alice]),
        ("user.department -notContains \"EMEA\"", &[&bob]),
        ("user.department -match \"^Mark.*\"", &[&bob]),
        ("user.department -notIn ['Marketing', 'Finance']", &[&alice]),
        ("(user.department -eq \"Marketing\") -or (user.department -eq \"Sales EMEA\")", &[&alice, &bob]),
        ("-not (user.department -eq \"Marketing\")", &[&alice]),
    ];
    // The bootstrap administrator (no department) also satisfies the negative rules; only the
    // two users made here are compared.
    let ours = |ids: Vec<String>| -> Vec<String> { ids.into_iter().filter(|i| *i == alice || *i == bob).collect() };
    let mut groups = Vec::new();
    for (i, (rule, want)) in cases.iter().enumerate() {
        let g = id_of(&dynamic_group(&h, &format!("rule{i}"), rule).await);
        assert_eq!(ours(members(&h, &g).await), sorted(want), "{rule}");
        groups.push(g);
    }
    // Bob moves to Sales EMEA: every rule now sees him as it sees Alice.
    let r = h.patch(&format!("/v1.0/users/{bob}"), json!({"department": "Sales EMEA"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let after: [&[&String]; 6] = [&[&alice, &bob], &[], &[], &[&alice, &bob], &[&alice, &bob], &[&alice, &bob]];
    for ((g, want), (rule, _)) in groups.iter().zip(after).zip(cases) {
        assert_eq!(ours(members(&h, g).await), sorted(want), "{rule} after the move");
    }
}

/// `user.extensionAttribute1` reads `onPremisesExtensionAttributes.extensionAttribute1`.
#[tokio::test]
async fn extension_attribute_rules_follow_the_attribute() {
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales").await;
    let g = id_of(&dynamic_group(&h, "tier", "user.extensionAttribute1 -eq \"Gold\"").await);
    assert_eq!(members(&h, &g).await, Vec::<String>::new());
    let body = json!({"onPremisesExtensionAttributes": {"extensionAttribute1": "Gold"}});
    let r = h.patch(&format!("/v1.0/users/{alice}"), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &g).await, vec![alice.clone()]);
    let body = json!({"onPremisesExtensionAttributes": {"extensionAttribute1": "Silver"}});
    let r = h.patch(&format!("/v1.0/users/{alice}"), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &g).await, Vec::<String>::new());
}

/// A directory extension (`extension_{appId}_{name}`, defined through `extensionProperties`) in
/// a rule: setting and changing the value on the user moves them in and out.
#[tokio::test]
async fn directory_extension_rules_follow_the_value() {
    let h = Harness::new().await;
    let r = h.post("/v1.0/applications", json!({"displayName": "HR sync"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let app_id = r.json["appId"].as_str().expect("appId").replace('-', "");
    let body = json!({"name": "costCenter", "dataType": "String", "targetObjects": ["User"]});
    let r = h.post(&format!("/v1.0/applications/{}/extensionProperties", id_of(&r.json)), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let name = format!("extension_{app_id}_costCenter");
    let alice = user_in(&h, "alice", "Sales").await;
    let g = id_of(&dynamic_group(&h, "cc", &format!("user.{name} -eq \"CC-100\"")).await);
    assert_eq!(members(&h, &g).await, Vec::<String>::new());
    let r = h.patch(&format!("/v1.0/users/{alice}"), json!({ name.clone(): "CC-100" })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &g).await, vec![alice.clone()]);
    let r = h.patch(&format!("/v1.0/users/{alice}"), json!({ name.clone(): "CC-200" })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &g).await, Vec::<String>::new());
}

/// `-gt` / `-le` compare date-times: a changed `employeeHireDate` moves the user between groups.
#[tokio::test]
async fn date_comparisons_follow_the_value() {
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales").await;
    let r = h.patch(&format!("/v1.0/users/{alice}"), json!({"employeeHireDate": "2020-03-01T00:00:00Z"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let recent = id_of(&dynamic_group(&h, "recent", "user.employeeHireDate -gt \"2025-01-01T00:00:00Z\"").await);
    let veteran = id_of(&dynamic_group(&h, "veteran", "user.employeeHireDate -le \"2025-01-01T00:00:00Z\"").await);
    assert_eq!(members(&h, &recent).await, Vec::<String>::new());
    assert_eq!(members(&h, &veteran).await, vec![alice.clone()]);
    let r = h.patch(&format!("/v1.0/users/{alice}"), json!({"employeeHireDate": "2026-02-01T00:00:00Z"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(members(&h, &recent).await, vec![alice.clone()]);
    assert_eq!(members(&h, &veteran).await, Vec::<String>::new());
}

/// The operators the tests above leave out (`-contains`, `-notStartsWith`, `-notMatch` on a
/// string, `-lt` and `-ge` on a date-time), each following a PATCH of the value.
#[tokio::test]
async fn remaining_operators_follow_the_value() {
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales EMEA").await;
    let r = h.patch(&format!("/v1.0/users/{alice}"), json!({"employeeHireDate": "2020-03-01T00:00:00Z"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let rules = [
        ("contains", "user.department -contains \"EMEA\""),
        ("notstarts", "user.department -notStartsWith \"Sales\""),
        ("notmatch", "user.department -notMatch \"^Sales.*\""),
        ("early", "user.employeeHireDate -lt \"2025-01-01T00:00:00Z\""),
        ("late", "user.employeeHireDate -ge \"2025-01-01T00:00:00Z\""),
    ];
    let mut groups = Vec::new();
    for (name, rule) in rules {
        groups.push((rule, id_of(&dynamic_group(&h, name, rule).await)));
    }
    // The bootstrap administrator (no department, no hire date) may satisfy the negations;
    // only Alice is compared.
    let has_alice = |ids: Vec<String>| ids.contains(&alice);
    let before = [true, false, false, true, false];
    for ((rule, g), want) in groups.iter().zip(before) {
        assert_eq!(has_alice(members(&h, g).await), want, "{rule}");
    }
    let body = json!({"department": "Marketing", "employeeHireDate": "2025-01-01T00:00:00Z"});
    let r = h.patch(&format!("/v1.0/users/{alice}"), body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let after = [false, true, true, false, true];
    for ((rule, g), want) in groups.iter().zip(after) {
        assert_eq!(has_alice(members(&h, g).await), want, "{rule} after the PATCH");
    }
}

/// `user.assignedPlans -all (...)` with `-any`: assigning E3 (every plan Enabled) moves the user
/// in, removing it moves them out.
#[tokio::test]
async fn assigned_plan_rules_follow_licences() {
    const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
    const EXCHANGE: &str = "efb87545-963c-4e0d-99df-69c6916d9eb0";
    let h = Harness::new().await;
    let alice = user_in(&h, "alice", "Sales").await;
    let r = h.patch(&format!("/v1.0/users/{alice}"), json!({"usageLocation": "NO"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let rule = format!(
        "(user.assignedPlans -any (assignedPlan.servicePlanId -eq \"{EXCHANGE}\")) -and \
         (user.assignedPlans -all (assignedPlan.capabilityStatus -eq \"Enabled\"))"
    );
    let g = id_of(&dynamic_group(&h, "licensed", &rule).await);
    assert_eq!(members(&h, &g).await, Vec::<String>::new());
    let add = json!({"addLicenses": [{"skuId": E3, "disabledPlans": []}], "removeLicenses": []});
    let r = h.post(&format!("/v1.0/users/{alice}/assignLicense"), add).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(members(&h, &g).await, vec![alice.clone()]);
    let remove = json!({"addLicenses": [], "removeLicenses": [E3]});
    let r = h.post(&format!("/v1.0/users/{alice}/assignLicense"), remove).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(members(&h, &g).await, Vec::<String>::new());
}
