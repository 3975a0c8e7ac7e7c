//! Tests of the `$filter` compile step, against a local entity type that has one property of
//! every shape, so they do not depend on the user/group declarations as they grow.

use cerulean_schema::{EdmType as T, EntityType, Flags, NavProperty, Property as P};
use cerulean_store::{CmpOp as S, Filter, PropPath, Scalar, ValueKind as K};

use super::*;
use crate::parser::parse_filter;

const F: Flags = Flags::FILTER;

pub(crate) static WIDGET: EntityType = EntityType {
    name: "widget",
    base: Some("directoryObject"),
    entity_set: Some("widgets"),
    properties: &[
        P::new("name", T::String, Flags(F.0 | Flags::SORT.0 | Flags::SEARCH.0)),
        P::new("hidden", T::String, Flags::NONE),
        P::new("enabled", T::Boolean, F),
        P::new("count32", T::Int32, Flags(F.0 | Flags::SORT.0)),
        P::new("big", T::Int64, F),
        P::new("score", T::Double, F),
        P::new("sku", T::Guid, F),
        P::new("created", T::DateTimeOffset, Flags(F.0 | Flags::SORT.0)),
        P::new("born", T::Date, F),
        P::new("kind", T::Enum("widgetKind"), F),
        P::collection("tags", T::String, F),
        P::collection("skuIds", T::Guid, F),
        P::new("profile", T::Complex("passwordProfile"), F),
        P::collection("profiles", T::Complex("passwordProfile"), F),
        P::new("secret", T::String, Flags(F.0 | Flags::WRITE_ONLY.0)),
        P::new("blob", T::Binary, F),
    ],
    navigation: &[NavProperty::many("owners", "directoryObject")],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

fn run(text: &str) -> Result<CompiledFilter, QueryError> {
    compile_filter(&parse_filter(text)?, &WIDGET)
}

fn ok(text: &str) -> Filter {
    match run(text) {
        Ok(c) => c.filter,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn err(text: &str) -> QueryError {
    match run(text) {
        Ok(c) => panic!("{text} compiled to {:?}", c.filter),
        Err(e) => e,
    }
}

fn cmp(path: &str, kind: K, op: S, value: Scalar) -> Filter {
    Filter::Compare { path: PropPath::of(path), kind, op, value }
}

fn s(v: &str) -> Scalar {
    Scalar::Str(v.into())
}

#[test]
fn strings_enums_and_case_insensitive_names() {
    assert_eq!(ok("NAME eq 'Adele'"), cmp("name", K::String, S::Eq, s("Adele")));
    assert_eq!(ok("kind eq 'large'"), cmp("kind", K::String, S::Eq, s("large")));
    assert_eq!(ok("'Adele' lt name"), cmp("name", K::String, S::Gt, s("Adele")), "operands swap");
    assert_eq!(ok("name eq null"), cmp("name", K::String, S::Eq, Scalar::Null));
}

#[test]
fn enum_literals_name_the_property_type() {
    // `Namespace.EnumType'member'` (Graph's riskyUser example: `microsoft.graph.riskLevel'medium'`).
    assert_eq!(ok("kind eq microsoft.graph.widgetKind'large'"), cmp("kind", K::String, S::Eq, s("large")));
    assert_eq!(ok("kind ne Microsoft.Graph.WidgetKind'small'"), cmp("kind", K::String, S::Ne, s("small")));
    let e = err("kind eq microsoft.graph.riskLevel'large'");
    assert!(e.to_string().contains("'microsoft.graph.riskLevel' is not the type of property 'kind'"), "{e}");
    let e = err("kind eq other.ns.widgetKind'large'");
    assert!(e.to_string().contains("is not the type"), "{e}");
    // Not an enum property: a type mismatch, as for any literal of the wrong type.
    assert!(run("name eq microsoft.graph.widgetKind'large'").is_err());
    assert!(run("kind in (microsoft.graph.widgetKind'large', 'small')").is_ok());
}

#[test]
fn scalars_of_every_type() {
    assert_eq!(ok("enabled eq true"), cmp("enabled", K::Bool, S::Eq, Scalar::Bool(true)));
    assert_eq!(ok("enabled"), cmp("enabled", K::Bool, S::Eq, Scalar::Bool(true)), "a bare boolean");
    assert_eq!(ok("count32 ge 5"), cmp("count32", K::Number, S::Ge, Scalar::Int(5)));
    assert_eq!(ok("big le 9000000000"), cmp("big", K::Number, S::Le, Scalar::Int(9_000_000_000)));
    assert_eq!(ok("score gt 1.5"), cmp("score", K::Number, S::Gt, Scalar::Float(1.5)));
    assert_eq!(ok("score gt 2"), cmp("score", K::Number, S::Gt, Scalar::Float(2.0)));
    assert_eq!(
        ok("sku eq 8A7F1C2E-0B1D-4C3E-9F00-AABBCCDDEEFF"),
        cmp("sku", K::Guid, S::Eq, s("8a7f1c2e-0b1d-4c3e-9f00-aabbccddeeff"))
    );
    assert_eq!(
        ok("sku eq '8A7F1C2E-0B1D-4C3E-9F00-AABBCCDDEEFF'"),
        cmp("sku", K::Guid, S::Eq, s("8a7f1c2e-0b1d-4c3e-9f00-aabbccddeeff")),
        "a quoted GUID is accepted for a Guid property"
    );
    assert_eq!(ok("born eq 2024-02-29"), cmp("born", K::DateTime, S::Eq, s("2024-02-29")));
}

#[test]
fn date_times_are_normalised_to_utc_seconds() {
    assert_eq!(ok("created ge 2024-01-01T00:00:00Z"), cmp("created", K::DateTime, S::Ge, s("2024-01-01T00:00:00Z")));
    assert_eq!(
        ok("created lt 2024-01-01T02:30:00+02:00"),
        cmp("created", K::DateTime, S::Lt, s("2024-01-01T00:30:00Z"))
    );
    assert_eq!(ok("created gt 2024-01-01"), cmp("created", K::DateTime, S::Gt, s("2024-01-01T00:00:00Z")));
    assert_eq!(ok("created gt '2024-01-01T00:00:00Z'"), cmp("created", K::DateTime, S::Gt, s("2024-01-01T00:00:00Z")));
    // A fraction is dropped and the operator adjusted to mean the same on whole seconds.
    assert_eq!(ok("created ge 2024-01-01T00:00:05.5Z"), cmp("created", K::DateTime, S::Gt, s("2024-01-01T00:00:05Z")));
    assert_eq!(ok("created lt 2024-01-01T00:00:05.5Z"), cmp("created", K::DateTime, S::Le, s("2024-01-01T00:00:05Z")));
    assert_eq!(ok("created gt 2024-01-01T00:00:05.5Z"), cmp("created", K::DateTime, S::Gt, s("2024-01-01T00:00:05Z")));
    assert_eq!(ok("created le 2024-01-01T00:00:05.5Z"), cmp("created", K::DateTime, S::Le, s("2024-01-01T00:00:05Z")));
    assert_eq!(
        ok("created ge 2024-01-01T00:00:05.000Z"),
        cmp("created", K::DateTime, S::Ge, s("2024-01-01T00:00:05Z"))
    );
    assert_eq!(ok("deletedDateTime eq null"), cmp("deletedDateTime", K::DateTime, S::Eq, Scalar::Null));
    assert_eq!(err("created gt 'yesterday'").code, "BadRequest");
}

#[test]
fn the_id_is_a_guid_record_field() {
    let g = "8a7f1c2e-0b1d-4c3e-9f00-aabbccddeeff";
    let want = Filter::Compare { path: PropPath::id(), kind: K::Guid, op: S::Eq, value: s(g) };
    assert_eq!(ok(&format!("id eq '{}'", g.to_uppercase())), want);
    assert_eq!(ok(&format!("ID eq {g}")), want);
    let e = err("id eq 'not-a-guid'");
    assert_eq!(
        (e.status, e.code, e.message.as_str()),
        (400, "Request_BadRequest", "Invalid object identifier 'not-a-guid'.")
    );
    assert_eq!(ok(&format!("id in ('{g}')")), Filter::In { path: PropPath::id(), kind: K::Guid, values: vec![s(g)] });
}

#[test]
fn in_and_functions() {
    assert_eq!(
        ok("name in ('a', 'b')"),
        Filter::In { path: PropPath::of("name"), kind: K::String, values: vec![s("a"), s("b")] }
    );
    assert_eq!(ok("startswith(name, 'Ad')"), Filter::StartsWith { path: PropPath::of("name"), prefix: "Ad".into() });
    let c = run("endsWith(name, 'son')");
    assert_eq!(
        c.map(|c| (c.filter, c.advanced)),
        Ok((Filter::EndsWith { path: PropPath::of("name"), suffix: "son".into() }, vec!["endsWith"]))
    );
    assert_eq!(
        ok("startswith(name, 'A') eq false"),
        Filter::Not(Box::new(Filter::StartsWith { path: PropPath::of("name"), prefix: "A".into() }))
    );
    let e = err("contains(name, 'x')");
    assert_eq!((e.code, e.message.as_str()), ("Request_UnsupportedQuery", "Unsupported query."));
    assert_eq!(
        err("substringof('x', name)").message,
        "Invalid filter clause: An unknown function with name 'substringof' was found."
    );
    assert_eq!(err("startswith(count32, 'x')").code, "Request_UnsupportedQuery");
    assert_eq!(err("startswith(name, 5)").code, "BadRequest");
    assert_eq!(err("startswith(name)").code, "BadRequest");
}

#[test]
fn logic_and_advanced_operators() {
    let c = run("not (name eq 'a') and count32 ne 3 or enabled eq false");
    let want = Filter::Or(vec![
        Filter::And(vec![
            Filter::Not(Box::new(cmp("name", K::String, S::Eq, s("a")))),
            cmp("count32", K::Number, S::Ne, Scalar::Int(3)),
        ]),
        cmp("enabled", K::Bool, S::Eq, Scalar::Bool(false)),
    ]);
    assert_eq!(c.map(|c| (c.filter, c.advanced)), Ok((want, vec!["not", "ne"])));
    assert_eq!(run("name eq 'a'").map(|c| c.advanced), Ok(vec![]));
}

#[test]
fn lambdas() {
    assert_eq!(
        ok("tags/any(t: t eq 'x')"),
        Filter::Any {
            path: PropPath::of("tags"),
            element: Some(Box::new(Filter::Compare {
                path: PropPath::element(),
                kind: K::String,
                op: S::Eq,
                value: s("x")
            }))
        }
    );
    assert_eq!(
        ok("tags/any(t: startswith(t, 'smtp:'))"),
        Filter::Any {
            path: PropPath::of("tags"),
            element: Some(Box::new(Filter::StartsWith { path: PropPath::element(), prefix: "smtp:".into() }))
        }
    );
    assert_eq!(ok("tags/any()"), Filter::Any { path: PropPath::of("tags"), element: None });
    assert_eq!(
        ok("skuIds/all(x: x ne 8a7f1c2e-0b1d-4c3e-9f00-aabbccddeeff)"),
        Filter::All {
            path: PropPath::of("skuIds"),
            element: Box::new(Filter::Compare {
                path: PropPath::element(),
                kind: K::Guid,
                op: S::Ne,
                value: s("8a7f1c2e-0b1d-4c3e-9f00-aabbccddeeff")
            })
        }
    );
    assert_eq!(
        ok("profiles/any(p: p/PASSWORD eq 'x' and p/forceChangePasswordNextSignIn eq true)"),
        Filter::Any {
            path: PropPath::of("profiles"),
            element: Some(Box::new(Filter::And(vec![
                Filter::Compare { path: PropPath(vec!["password".into()]), kind: K::String, op: S::Eq, value: s("x") },
                Filter::Compare {
                    path: PropPath(vec!["forceChangePasswordNextSignIn".into()]),
                    kind: K::Bool,
                    op: S::Eq,
                    value: Scalar::Bool(true)
                },
            ])))
        }
    );
    assert_eq!(
        ok("tags/$count eq 0"),
        Filter::Not(Box::new(Filter::Any { path: PropPath::of("tags"), element: None }))
    );
    // Lambdas need a collection; inside, only the range variable is in scope.
    assert_eq!(err("name/any(x: x eq 'a')").code, "Request_UnsupportedQuery");
    assert_eq!(err("tags/any(x: name eq 'a')").code, "Request_UnsupportedQuery");
    assert_eq!(err("tags eq 'a'").code, "Request_UnsupportedQuery");
    assert_eq!(err("profiles/password eq 'a'").code, "Request_UnsupportedQuery");
    assert!(err("profiles/any(p: p/nope eq 'a')").message.contains("on type 'microsoft.graph.passwordProfile'"));
}

#[test]
fn complex_paths() {
    assert_eq!(
        ok("profile/password eq 'x'"),
        Filter::Compare {
            path: PropPath(vec!["profile".into(), "password".into()]),
            kind: K::String,
            op: S::Eq,
            value: s("x")
        }
    );
}

#[test]
fn refusals() {
    let e = err("hidden eq 'a'");
    assert_eq!(
        (e.status, e.code, e.message.as_str()),
        (
            400,
            "Request_UnsupportedQuery",
            "Unsupported or invalid query filter clause specified for property 'hidden' of resource 'Widget'."
        )
    );
    let e = err("nope eq 'a'");
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            "BadRequest",
            "Invalid filter clause: Could not find a property named 'nope' on type 'microsoft.graph.widget'."
        )
    );
    assert_eq!(err("secret eq 'a'").code, "Request_UnsupportedQuery");
    assert_eq!(err("blob eq 'a'").code, "Request_UnsupportedQuery");
    assert_eq!(err("profile eq 'a'").code, "Request_UnsupportedQuery");
    let e = err("enabled eq 'true'");
    assert_eq!(
        e.message,
        "Invalid filter clause: A binary operator with incompatible types was detected. \
         Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."
    );
    assert_eq!(err("name eq 5").code, "BadRequest");
    assert_eq!(err("count32 eq 1.5").code, "BadRequest");
    assert_eq!(err("count32 eq 9000000000").code, "BadRequest");
    assert_eq!(err("sku eq 'nope'").code, "BadRequest");
    assert_eq!(err("name gt null").code, "Request_UnsupportedQuery");
    assert_eq!(err("name eq name").code, "Request_UnsupportedQuery");
    assert_eq!(err("name").code, "BadRequest", "not a boolean");
    assert_eq!(err("true").code, "BadRequest");
}

#[test]
fn against_the_real_user_type() {
    let Some(user) = cerulean_schema::entity("user") else {
        return;
    };
    let c = parse_filter("userPrincipalName eq 'a@b.c' and proxyAddresses/any(p: p eq 'SMTP:a@b.c')")
        .and_then(|e| compile_filter(&e, user));
    assert!(c.is_ok(), "{c:?}");
    let e = parse_filter("passwordProfile/password eq 'x'").and_then(|e| compile_filter(&e, user)).err();
    assert_eq!(e.map(|e| e.code), Some("Request_UnsupportedQuery"));
    if cerulean_schema::complex("assignedLicense").is_some_and(|c| c.property("skuId").is_some()) {
        let c = parse_filter("assignedLicenses/any(x: x/skuId eq 184EFA21-98C3-4E5D-95AB-D07053A96E67)")
            .and_then(|e| compile_filter(&e, user));
        assert_eq!(
            c.map(|c| c.filter),
            Ok(Filter::Any {
                path: PropPath::of("assignedLicenses"),
                element: Some(Box::new(Filter::Compare {
                    path: PropPath(vec!["skuId".into()]),
                    kind: K::Guid,
                    op: S::Eq,
                    value: s("184efa21-98c3-4e5d-95ab-d07053a96e67")
                }))
            })
        );
    }
}

#[test]
fn date_time_parser_edges() {
    assert!(parse_date_time("2024-01-01T00:00Z").is_some(), "seconds are optional");
    assert!(parse_date_time("2024-01-01T00:00:00.123456789123Z").is_some());
    assert!(parse_date_time("2024-01-01T24:00:00Z").is_none());
    assert!(parse_date_time("2024-01-01T00:00:00").is_none(), "an offset is required");
    assert!(parse_date_time("2024-01-01T00:00:00+1:00").is_none());
    assert!(parse_date_time("２024-01-01T00:00:00Z").is_none());
    assert!(parse_date("2023-02-29").is_none());
    assert_eq!(parse_date_time("0001-01-01T00:30:00+01:00").and_then(normalise), None, "before year 1 once in UTC");
}
