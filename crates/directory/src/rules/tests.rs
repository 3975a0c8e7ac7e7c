//! Parser, checker and evaluator tests: every operator, quoting, case-insensitivity, errors
//! with positions, and property tests (the parser never panics; the canonical form parses
//! back to the same rule).

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::*;

fn doc(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn matches_with(rule: &str, d: &Map<String, Value>, member_of: &[Uuid]) -> bool {
    let rule = Rule::parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
    let id = Uuid::from_u128(7);
    rule.matches(&Subject { kind: SubjectKind::User, id, doc: d, member_of })
}

fn user() -> Map<String, Value> {
    doc(json!({
        "displayName": "David Jones",
        "department": "Sales",
        "city": "Lagos",
        "accountEnabled": true,
        "userType": "Member",
        "mail": "david@contoso.com",
        "otherMails": ["d@fabrikam.com", "dj@outlook.com"],
        "proxyAddresses": ["SMTP:david@contoso.com", "sip:david@contoso.com"],
        "businessPhones": ["+1 555 0100"],
        "mobilePhone": "+1 555 0199",
        "faxNumber": "+1 555 0111",
        "officeLocation": "B42",
        "onPremisesSyncEnabled": false,
        "employeeHireDate": "2020-06-10T18:13:20Z",
        "onPremisesExtensionAttributes": {"extensionAttribute15": "Marketing"},
        "extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber": "123",
        "assignedPlans": [
            {"servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0", "capabilityStatus": "Enabled", "service": "exchange"},
            {"servicePlanId": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e", "capabilityStatus": "Deleted", "service": "SCO"}
        ]
    }))
}

fn is(rule: &str) -> bool {
    matches_with(rule, &user(), &[])
}

fn err(rule: &str) -> RuleError {
    match Rule::parse(rule) {
        Ok(r) => panic!("{rule} parsed as {r}"),
        Err(e) => e,
    }
}

#[test]
fn every_comparison_operator() {
    let cases = [
        ("user.department -eq \"Sales\"", true),
        ("user.department -eq \"sales\"", true),
        ("user.department -ne \"Sales\"", false),
        ("user.department -ne \"Marketing\"", true),
        ("user.displayName -startsWith \"da\"", true),
        ("user.displayName -notStartsWith \"Da\"", false),
        ("user.displayName -endsWith \"JONES\"", true),
        ("user.displayName -notEndsWith \"x\"", true),
        ("user.displayName -contains \"id j\"", true),
        ("user.displayName -notContains \"vid\"", false),
        ("user.displayName -match \"^Da.*\"", true),
        ("user.displayName -match \".*vid\"", true),
        ("user.displayName -match \"^avid\"", false),
        ("user.displayName -notMatch \"^x\"", true),
        ("user.city -in [\"Lagos\", \"Ibadan\"]", true),
        ("user.city -in ['lagos']", true),
        ("user.city -notIn [\"Lagos\", \"Ibadan\", \"Kaduna\", \"Abuja\", \"Port Harcourt\"]", false),
        ("user.employeeHireDate -le 2020-06-10T18:13:20Z", true),
        ("user.employeeHireDate -lt \"2020-06-10T18:13:20Z\"", false),
        ("user.employeeHireDate -ge 2020-01-01T00:00:00Z", true),
        ("user.employeeHireDate -gt 2021-01-01T00:00:00Z", false),
        ("user.employeeHireDate -le system.now", true),
        ("user.employeeHireDate -ge system.now -minus P30D", false),
        ("user.employeeHireDate -ge system.now -plus p1d", false),
        ("user.accountEnabled -eq true", true),
        ("user.accountEnabled -ne true", false),
        ("user.dirSyncEnabled -eq false", true),
    ];
    for (rule, expected) in cases {
        assert_eq!(is(rule), expected, "{rule}");
    }
}

#[test]
fn logical_operators_and_precedence() {
    assert!(is("(user.department -eq \"Sales\") -or (user.department -eq \"Marketing\")"));
    assert!(is("(user.department -eq \"Sales\") -and -not (user.jobTitle -startsWith \"SDE\")"));
    // -and binds tighter than -or.
    assert!(is("user.city -eq \"x\" -and user.city -eq \"y\" -or user.department -eq \"Sales\""));
    assert!(!is("user.city -eq \"x\" -and (user.city -eq \"y\" -or user.department -eq \"Sales\")"));
    // Hyphens are optional and keywords case-insensitive; the en dash of the documentation works.
    assert!(is("user.department eq \"Sales\" AND user.city –eq \"Lagos\""));
}

#[test]
fn null_comparisons() {
    assert!(is("user.jobTitle -eq null"));
    assert!(!is("user.jobTitle -ne null"));
    assert!(is("user.mail –ne null"));
    assert!(is("user.objectId -ne null"), "the documented 'all users' rule");
    assert!(is("user.jobTitle -ne \"x\""), "a missing value satisfies negated operators");
    assert!(!is("user.jobTitle -startsWith \"x\""));
    assert!(!is("user.department -eq \"null\""), "a quoted null is a string");
}

#[test]
fn properties_map_to_the_stored_document() {
    assert!(is("user.mobile -eq \"+1 555 0199\""));
    assert!(is("user.telephoneNumber -eq \"+1 555 0100\""));
    assert!(is("user.facsimileTelephoneNumber -eq \"+1 555 0111\""));
    assert!(is("user.physicalDeliveryOfficeName -eq \"b42\""));
    assert!(is("user.sipProxyAddress -eq \"david@contoso.com\""));
    assert!(is("user.extensionAttribute15 -eq \"Marketing\""));
    assert!(is("user.extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber -eq \"123\""));
    assert!(is("user.objectId -eq \"00000000-0000-0000-0000-000000000007\""));
    // Property names are matched case-insensitively and printed canonically.
    let r = Rule::parse("USER.MAILNICKNAME -eq 'x'").expect("parses");
    assert_eq!(r.to_string(), "user.mailNickName -eq \"x\"");
}

#[test]
fn collections_any_all_and_underscore() {
    assert!(is(
        "user.assignedPlans -any (assignedPlan.servicePlanId -eq \"efb87545-963c-4e0d-99df-69c6916d9eb0\" -and assignedPlan.capabilityStatus -eq \"Enabled\")"
    ));
    assert!(!is(
        "user.assignedPlans -any (assignedPlan.servicePlanId -eq \"aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e\" -and assignedPlan.capabilityStatus -eq \"Enabled\")"
    ));
    assert!(is("user.assignedPlans -any (assignedPlan.service -eq \"SCO\")"));
    assert!(!is("user.assignedPlans -all (assignedPlan.servicePlanId -eq null)"));
    assert!(matches_with("user.assignedPlans -all (assignedPlan.servicePlanId -eq null)", &doc(json!({})), &[]));
    assert!(is("(user.proxyAddresses -any (_ -startsWith \"smtp\"))"));
    assert!(!is("user.proxyAddresses -all (_ -startsWith \"smtp\")"));
    assert!(is("user.otherMails -any _ -endsWith \"@outlook.com\""));
    // String operators on a collection match when some element does.
    assert!(is("user.otherMails -endsWith \"@fabrikam.com\""));
    assert!(!is("user.proxyAddresses -notEndsWith \"@contoso.com\""));
}

#[test]
fn member_of() {
    let g = Uuid::from_u128(42);
    let rule = format!("user.memberof -any (group.objectId -in ['{g}'])");
    assert!(matches_with(&rule, &user(), &[g]));
    assert!(!matches_with(&rule, &user(), &[Uuid::from_u128(43)]));
    assert!(Rule::parse(&rule).expect("parses").uses_member_of());
    assert!(!Rule::parse("user.city -eq 'x'").expect("parses").uses_member_of());
}

#[test]
fn quoting() {
    let d = doc(json!({"department": "R\"D", "jobTitle": "O'Neil"}));
    assert!(matches_with("user.department -eq \"R`\"D\"", &d, &[]));
    assert!(matches_with("user.jobTitle -eq 'O''Neil'", &d, &[]));
    assert!(matches_with("user.department -in ['x', \"R`\"D\"]", &d, &[]));
    let d = doc(json!({"department": "50001"}));
    assert!(matches_with("user.department -eq 50001", &d, &[]));
    assert!(matches_with("user.department -in [50001, 50002]", &d, &[]));
}

#[test]
fn devices() {
    let r = Rule::parse("(device.deviceOSType -eq \"iPad\") -or (device.deviceOSType -eq \"iOS\")").expect("parses");
    assert_eq!(r.subject, SubjectKind::Device);
    let d = doc(
        json!({"operatingSystem": "iOS", "physicalIds": ["[ZTDId]:x"], "extensionAttributes": {"extensionAttribute1": "v"}}),
    );
    let s = Subject { kind: SubjectKind::Device, id: Uuid::nil(), doc: &d, member_of: &[] };
    assert!(r.matches(&s));
    assert!(Rule::parse("device.devicePhysicalIDs -any _ -startsWith \"[ZTDId]\"").expect("parses").matches(&s));
    assert!(Rule::parse("device.extensionAttribute1 -eq 'v'").expect("parses").matches(&s));
    // A device rule never selects users.
    let u = user();
    assert!(!Rule::parse("device.objectId -ne null").expect("parses").matches(&Subject {
        kind: SubjectKind::User,
        id: Uuid::nil(),
        doc: &u,
        member_of: &[]
    }));
}

#[test]
fn errors_point_at_the_mistake() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "empty"),
        ("user.departmnt -eq \"x\"", 5, "not supported"),
        ("user.department -equals \"x\"", 16, "operator"),
        ("user.department -eq", 19, "value"),
        ("user.department -eq \"x", 20, "Unterminated"),
        ("(user.department -eq \"x\"", 24, "')'"),
        ("user.department -eq \"x\")", 23, "Unexpected"),
        ("user.accountEnabled -startsWith \"t\"", 20, "cannot be applied"),
        ("user.accountEnabled -eq \"maybe\"", 24, "true or false"),
        ("user.department -lt \"x\"", 16, "cannot be applied"),
        ("user.department -in \"x\"", 20, "list"),
        ("user.department -eq [\"x\"]", 20, "-in"),
        ("user.displayName -match \"(\"", 24, "regular expression"),
        ("user.city -eq 'x' -and device.displayName -eq 'y'", 23, "both user and device"),
        ("user.assignedPlans -eq \"x\"", 19, "multi-valued"),
        ("user.department -any (_ -eq 'x')", 0, "Invalid operands found for operator -any"),
        ("user.memberOf -any (group.displayName -eq 'x')", 26, "cannot be applied to object 'Group'"),
        ("user.proxyAddresses -any (user.city -eq 'x')", 26, "Wrong property applied"),
        ("_ -eq 'x'", 0, "Wrong property applied"),
        ("user.department -startsWith null", 28, "null"),
        ("user.employeeHireDate -ge yesterday", 26, "value"),
        ("user.employeeHireDate -ge system.now -plus P1Y", 43, "duration"),
        ("user.city -eq 'x' -and", 22, "property"),
        ("user.city -eq 'x' # 1", 18, "Unexpected character"),
    ];
    for (rule, pos, needle) in cases {
        let e = err(rule);
        assert!(e.message.contains(needle), "{rule}: {e}");
        assert_eq!(e.pos, *pos, "{rule}: {e}");
    }
    let e = err("user.city -eq 'x' -and");
    assert_eq!(
        e.to_string(),
        "Dynamic membership rule validation error: Expected a property such as user.department but the rule ends at position 22."
    );
}

#[test]
fn limits() {
    let long = format!("user.city -eq \"{}\"", "x".repeat(MAX_RULE_CHARS));
    assert!(err(&long).message.contains("3072"));
    let deep = format!("{}user.city -eq 'x'{}", "(".repeat(100), ")".repeat(100));
    assert!(err(&deep).message.contains("nests"));
    let nots = format!("{}user.city -eq 'x'", "-not ".repeat(100));
    assert!(err(&nots).message.contains("nests"));
    let ok = format!("{}user.city -eq 'x'{}", "(".repeat(20), ")".repeat(20));
    assert!(Rule::parse(&ok).is_ok());
}

#[test]
fn canonical_form_round_trips() {
    for rule in [
        "user.department -eq \"Sales\" -and -not (user.jobTitle -startsWith 'SDE') -or user.city -in ['a', \"b`\"c\"]",
        "user.assignedPlans -any (assignedPlan.servicePlanId -eq \"x\" -and assignedPlan.capabilityStatus -eq \"Enabled\")",
        "user.employeeHireDate -ge system.now -minus p2d -and user.accountEnabled eq true",
        "user.memberof -any (group.objectId -in ['00000000-0000-0000-0000-000000000001'])",
        "user.displayName -match '^a`b' -or user.mail -eq null",
    ] {
        let parsed = Rule::parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
        let printed = parsed.to_string();
        let again = Rule::parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        assert_eq!(parsed, again, "{printed}");
    }
}

/// Generates well-formed rules from the grammar, to check the printer round trip.
fn arb_rule() -> impl Strategy<Value = String> {
    let string = "[a-zA-Z0-9 '\"`_.-]{0,8}".prop_map(|s| {
        let mut q = String::from("\"");
        for c in s.chars() {
            if c == '"' || c == '`' {
                q.push('`');
            }
            q.push(c);
        }
        q.push('"');
        q
    });
    let prop = prop_oneof![
        Just("user.department"),
        Just("user.city"),
        Just("user.extensionAttribute3"),
        Just("user.otherMails")
    ];
    let op = prop_oneof![
        Just("-eq"),
        Just("-ne"),
        Just("-startsWith"),
        Just("-notEndsWith"),
        Just("-contains"),
        Just("-notContains")
    ];
    let leaf = prop_oneof![
        (prop.clone(), op, string.clone()).prop_map(|(p, o, s)| format!("{p} {o} {s}")),
        (prop.clone(), proptest::collection::vec(string.clone(), 0..3))
            .prop_map(|(p, items)| format!("{p} -notIn [{}]", items.join(", "))),
        Just("user.accountEnabled -eq false".to_string()),
        Just("user.mail -ne null".to_string()),
        string.prop_map(|s| format!("user.proxyAddresses -any (_ -startsWith {s})")),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) -and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} -or {b}")),
            inner.prop_map(|a| format!("-not ({a})")),
        ]
    })
}

proptest! {
    #[test]
    fn parser_never_panics(text in "\\PC{0,200}") {
        let _ = Rule::parse(&text);
    }

    #[test]
    fn parser_never_panics_on_rule_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("user."), Just("device."), Just("department"), Just(" -eq "), Just(" -any "), Just("("),
                Just(")"), Just("["), Just("]"), Just(","), Just("\""), Just("'"), Just("`"), Just("_"),
                Just("null"), Just("system.now"), Just(" -plus "), Just("P1D"), Just(" -and "), Just("-not "),
                Just("assignedPlan.service"), Just("group.objectId"), Just("–"), Just("2020-01-01T00:00:00Z"),
            ],
            0..40,
        )
    ) {
        let text: String = parts.concat();
        if let Err(e) = Rule::parse(&text) {
            prop_assert!(e.pos <= text.chars().count(), "{text}: {e}");
        }
    }

    #[test]
    fn canonical_form_parses_back_to_the_same_rule(rule in arb_rule()) {
        let parsed = Rule::parse(&rule).map_err(|e| TestCaseError::fail(format!("{rule}: {e}")))?;
        let printed = parsed.to_string();
        let again = Rule::parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        prop_assert_eq!(parsed, again);
    }
}
