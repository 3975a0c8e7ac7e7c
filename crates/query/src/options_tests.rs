//! Tests of whole query strings: option names, each option's checks, and the advanced-query
//! rules.

use cerulean_store::{Cursor, Filter, OrderKey, PropPath, Scalar, Scope, ValueKind};
use uuid::Uuid;

use super::*;
use crate::compile::tests::WIDGET;
use crate::skiptoken::encode_skiptoken;

const EVENTUAL: Context = Context { consistency_eventual: true };
const PLAIN: Context = Context { consistency_eventual: false };

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn parse(pairs: &[(&str, &str)], ctx: Context) -> Result<ListOptions, QueryError> {
    parse_list_options(&params(pairs), &WIDGET, &ctx)
}

fn err(pairs: &[(&str, &str)], ctx: Context) -> QueryError {
    match parse(pairs, ctx) {
        Ok(o) => panic!("{pairs:?} accepted: {o:?}"),
        Err(e) => e,
    }
}

fn name_eq(v: &str) -> Filter {
    Filter::Compare {
        path: PropPath::of("name"),
        kind: ValueKind::String,
        op: cerulean_store::CmpOp::Eq,
        value: Scalar::Str(v.into()),
    }
}

#[test]
fn option_names_with_or_without_dollar_in_any_case() {
    for key in ["$filter", "filter", "$FILTER", "Filter"] {
        assert_eq!(parse(&[(key, "name eq 'a'")], PLAIN).map(|o| o.filter), Ok(Some(name_eq("a"))), "{key}");
    }
    // Unknown `$` options are refused; other parameters belong to someone else.
    let e = err(&[("$skip", "10")], PLAIN);
    assert_eq!((e.code, e.message.as_str()), ("BadRequest", "The query parameter '$skip' is not supported."));
    let ignored = parse(&[("api-version", "1.6"), ("$format", "json")], PLAIN);
    assert_eq!(ignored.map(|o| ListOptions { fingerprint: 0, ..o }), Ok(ListOptions::default()));
    let e = err(&[("$top", "1"), ("top", "2")], PLAIN);
    assert!(e.message.contains("more than once"), "{e}");
}

#[test]
fn top() {
    assert_eq!(parse(&[("$top", "999")], PLAIN).map(|o| o.top), Ok(Some(999)));
    assert_eq!(parse(&[("$top", "1")], PLAIN).map(|o| o.top), Ok(Some(1)));
    for bad in ["0", "1000", "99999999999999999999999"] {
        let e = err(&[("$top", bad)], PLAIN);
        assert_eq!(e.code, "Request_UnsupportedQuery", "{bad}");
    }
    assert_eq!(
        err(&[("$top", "1000")], PLAIN).message,
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    );
    for bad in ["-1", "abc", "1.5", ""] {
        assert_eq!(err(&[("$top", bad)], PLAIN).code, "BadRequest", "{bad}");
    }
}

#[test]
fn count() {
    assert_eq!(parse(&[("$count", "true")], EVENTUAL).map(|o| o.count), Ok(true));
    assert_eq!(parse(&[("$count", "TRUE")], EVENTUAL).map(|o| o.count), Ok(true));
    assert_eq!(parse(&[("$count", "false")], EVENTUAL).map(|o| o.count), Ok(false));
    // Graph ignores $count=true without the header.
    assert_eq!(parse(&[("$count", "true")], PLAIN).map(|o| o.count), Ok(false));
    assert_eq!(err(&[("$count", "yes")], PLAIN).code, "BadRequest");
    assert_eq!(check_count_segment(&PLAIN).map_err(|e| e.message), Err("$count is not currently supported.".into()));
    assert!(check_count_segment(&EVENTUAL).is_ok());
}

#[test]
fn select() {
    assert_eq!(
        parse(&[("$select", "NAME, id,name,deleteddatetime")], PLAIN).map(|o| o.select),
        Ok(Some(vec!["name".into(), "id".into(), "deletedDateTime".into()]))
    );
    let e = err(&[("$select", "name,foo")], PLAIN);
    assert_eq!(
        (e.code, e.message.as_str()),
        ("BadRequest", "Could not find a property named 'foo' on type 'microsoft.graph.widget'.")
    );
    let e = err(&[("$select", "owners")], PLAIN);
    assert!(e.message.contains("navigation property"), "{e}");
    assert!(err(&[("$select", "profile/password")], PLAIN).message.contains("'profile/password'"));
    let all = parse(&[("$select", "*")], PLAIN).map(|o| o.select.unwrap_or_default()).unwrap_or_default();
    assert!(
        all.contains(&"name".to_string()) && all.contains(&"id".to_string()) && !all.contains(&"secret".to_string())
    );
    assert_eq!(parse(&[("$select", "")], PLAIN).map(|o| o.select), Ok(None));
}

#[test]
fn orderby() {
    let o = parse(&[("$orderby", "name desc, COUNT32")], PLAIN).map(|o| o.order);
    assert_eq!(
        o,
        Ok(vec![
            OrderKey { path: PropPath::of("name"), kind: ValueKind::String, descending: true },
            OrderKey { path: PropPath::of("count32"), kind: ValueKind::Number, descending: false },
        ])
    );
    let e = err(&[("$orderby", "enabled")], PLAIN);
    assert_eq!(
        (e.code, e.message.as_str()),
        ("Request_UnsupportedQuery", "Unsupported sort property 'enabled' for 'Widget'.")
    );
    assert_eq!(err(&[("$orderby", "foo")], PLAIN).code, "BadRequest");
    assert_eq!(err(&[("$orderby", "name sideways")], PLAIN).code, "BadRequest");
    assert_eq!(err(&[("$orderby", "name,")], PLAIN).code, "BadRequest");
    assert!(err(&[("$orderby", "name,name desc")], PLAIN).message.contains("Duplicate property named 'name'"));
}

#[test]
fn expand() {
    let o = parse(&[("$expand", "OWNERS($select=id,displayName)")], PLAIN).map(|o| o.expand);
    let want_select = cerulean_schema::entities::ALL
        .iter()
        .any(|e| e.is_a("directoryObject") && e.property("displayName").is_some())
        .then(|| vec!["id".to_string(), "displayName".to_string()]);
    if let Some(select) = want_select {
        assert_eq!(
            o,
            Ok(vec![Expand {
                property: "owners".into(),
                target: "directoryObject".into(),
                collection: true,
                select: Some(select)
            }])
        );
    }
    assert_eq!(
        parse(&[("$expand", "owners")], PLAIN).map(|o| o.expand),
        Ok(vec![Expand {
            property: "owners".into(),
            target: "directoryObject".into(),
            collection: true,
            select: None
        }])
    );
    assert_eq!(
        err(&[("$expand", "nope")], PLAIN).message,
        "Could not find a property named 'nope' on type 'microsoft.graph.widget'."
    );
    assert_eq!(err(&[("$expand", "owners($filter=id eq 'x')")], PLAIN).code, "BadRequest");
    assert_eq!(err(&[("$expand", "owners($select=nope)")], PLAIN).code, "BadRequest");
    assert_eq!(err(&[("$expand", "owners(")], PLAIN).code, "BadRequest");
    assert_eq!(err(&[("$expand", "owners,owners")], PLAIN).code, "BadRequest");
}

#[test]
fn search_needs_the_header_but_not_count() {
    let e = err(&[("$search", "\"name:ad\"")], PLAIN);
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            "Request_UnsupportedQuery",
            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"
        )
    );
    let o = parse(&[("$search", "\"name:ad\""), ("$filter", "name eq 'a'")], EVENTUAL);
    let search = Filter::WordPrefix { path: PropPath::of("name"), term: "ad".into() };
    assert_eq!(o.as_ref().map(|o| o.search.clone()), Ok(Some(search.clone())));
    let q = o.map(|o| o.to_list_query(&["widget"], Scope::Live));
    assert_eq!(q.as_ref().map(|q| q.filter.clone()), Ok(Some(Filter::And(vec![name_eq("a"), search]))));
    assert_eq!(q.map(|q| (q.top, q.types)), Ok((100, vec!["widget".to_string()])));
}

#[test]
fn advanced_operators_need_header_and_count() {
    for (filter, op) in [
        ("name ne 'a'", "ne"),
        ("not (name eq 'a')", "not"),
        ("endswith(name, 'a')", "endsWith"),
        ("tags/$count eq 0", "$count"),
    ] {
        let e = err(&[("$filter", filter)], PLAIN);
        assert_eq!(e.code, "Request_UnsupportedQuery");
        assert!(
            e.message.starts_with(&format!(
                "Operator '{op}' is not supported because the required parameters might be missing."
            )),
            "{e}"
        );
        // The header alone is not enough; $count alone is not either.
        assert!(parse(&[("$filter", filter)], EVENTUAL).is_err());
        assert!(parse(&[("$filter", filter), ("$count", "true")], PLAIN).is_err());
        assert!(parse(&[("$filter", filter), ("$count", "true")], EVENTUAL).is_ok(), "{filter}");
    }
}

#[test]
fn filter_with_orderby_is_advanced() {
    let e = err(&[("$filter", "name eq 'a'"), ("$orderby", "name")], PLAIN);
    assert_eq!((e.code, e.message.as_str()), ("Request_UnsupportedQuery", "Sorting not supported for current query."));
    assert!(parse(&[("$filter", "name eq 'a'"), ("$orderby", "name"), ("$count", "true")], EVENTUAL).is_ok());
    assert!(parse(&[("$orderby", "name")], PLAIN).is_ok());
}

#[test]
fn skiptoken_round_trips_and_must_fit_the_order() {
    let c = Cursor { values: vec![Scalar::Str("Adele".into())], id: Uuid::from_u128(7) };
    let ordered = parse(&[("$orderby", "name")], PLAIN).expect("options");
    let t = ordered.skiptoken(&c);
    let o = parse(&[("$orderby", "name"), ("$skiptoken", &t)], PLAIN);
    assert_eq!(o.map(|o| o.after), Ok(Some(c.clone())));
    assert_eq!(err(&[("$skiptoken", &t)], PLAIN).code, "Request_BadRequest", "issued for another order");
    let forged = encode_skiptoken(&c, parse(&[], PLAIN).expect("options").fingerprint);
    assert_eq!(err(&[("$skiptoken", &forged)], PLAIN).code, "Request_BadRequest", "one value too many for no $orderby");
    assert_eq!(err(&[("$skiptoken", "garbage!")], PLAIN).code, "Request_BadRequest");
    let plain = Cursor { values: vec![], id: Uuid::from_u128(7) };
    let token = parse(&[], PLAIN).expect("options").skiptoken(&plain);
    let q = parse(&[("$skiptoken", &token), ("$top", "5")], PLAIN).map(|o| o.to_list_query(&[], Scope::Deleted));
    assert_eq!(q.map(|q| (q.after, q.top, q.scope)), Ok((Some(plain), 5, Scope::Deleted)));
}
