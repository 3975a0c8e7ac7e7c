//! Property tests: the parsers never panic on arbitrary input, and for generated trees
//! `parse(display(e)) == e`.

use cerulean_query::ast::{CmpOp, Expr, LambdaKind, Literal};
use cerulean_query::{
    Context, compile_filter, decode_skiptoken, encode_skiptoken, parse_filter, parse_list_options, parse_search,
};
use cerulean_store::{Cursor, Scalar};
use proptest::prelude::*;
use uuid::Uuid;

/// Words the grammar reserves (or reads as literals), which a generated name must avoid.
const RESERVED: &[&str] =
    &["and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in", "true", "false", "null", "any", "all"];

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,7}".prop_filter("reserved word", |s| !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)))
}

fn date() -> impl Strategy<Value = String> {
    (1000..=9999i32, 1..=12u8, 1..=28u8).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

fn date_time() -> impl Strategy<Value = String> {
    let offset = prop_oneof![
        Just("Z".to_string()),
        (prop::bool::ANY, 0..=14u8, 0..=59u8)
            .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' }))
    ];
    let seconds = prop_oneof![
        Just(String::new()),
        (0..=59u8).prop_map(|s| format!(":{s:02}")),
        (0..=59u8, "[0-9]{1,12}").prop_map(|(s, f)| format!(":{s:02}.{f}"))
    ];
    (date(), 0..=23u8, 0..=59u8, seconds, offset).prop_map(|(d, h, m, s, o)| format!("{d}T{h:02}:{m:02}{s}{o}"))
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        any::<i64>().prop_map(Literal::Int),
        any::<f64>().prop_filter("finite", |d| d.is_finite()).prop_map(Literal::Decimal),
        any::<String>().prop_map(Literal::String),
        any::<u128>().prop_map(|u| Literal::Guid(Uuid::from_u128(u))),
        date_time().prop_map(Literal::DateTimeOffset),
        date().prop_map(Literal::Date),
        ("[a-z][a-z0-9]{0,5}(\\.[a-zA-Z][a-zA-Z0-9]{0,7}){1,2}", any::<String>())
            .prop_map(|(ty, member)| Literal::Enum { ty, member }),
    ]
}

fn path() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(ident(), 1..=3)
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![Just(CmpOp::Eq), Just(CmpOp::Ne), Just(CmpOp::Gt), Just(CmpOp::Ge), Just(CmpOp::Lt), Just(CmpOp::Le)]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![literal().prop_map(Expr::Literal), path().prop_map(Expr::Path)];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..=4).prop_map(Expr::Or),
            prop::collection::vec(inner.clone(), 2..=4).prop_map(Expr::And),
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            (cmp_op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::Compare {
                op,
                left: Box::new(l),
                right: Box::new(r)
            }),
            (inner.clone(), prop::collection::vec(literal(), 1..=3))
                .prop_map(|(l, values)| { Expr::In { left: Box::new(l), values } }),
            (ident(), prop::collection::vec(inner.clone(), 0..=3))
                .prop_map(|(n, args)| { Expr::Call { name: n.to_ascii_lowercase(), args } }),
            (path(), ident(), inner.clone()).prop_map(|(p, v, b)| Expr::Lambda {
                path: p,
                kind: LambdaKind::All,
                body: Some((v, Box::new(b)))
            }),
            (path(), prop::option::of((ident(), inner))).prop_map(|(p, body)| Expr::Lambda {
                path: p,
                kind: LambdaKind::Any,
                body: body.map(|(v, b)| (v, Box::new(b)))
            }),
        ]
    })
}

/// Text shaped like filters, so the parser gets deep before failing.
fn filterish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("("),
            Just(")"),
            Just(" and "),
            Just(" or "),
            Just("not "),
            Just(" eq "),
            Just(" in "),
            Just("'x'"),
            Just("''"),
            Just("'"),
            Just("a/any(x: "),
            Just("x/b"),
            Just("startswith("),
            Just(","),
            Just("1.5e"),
            Just("-"),
            Just("2024-01-01T"),
            Just("8a7f1c2e-0b1d-4c3e-9f00-aabbccddeeff"),
            Just("null"),
            Just(":"),
            Just("/"),
            Just("displayName"),
            Just("$count"),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn display_round_trips(e in expr()) {
        let text = e.to_string();
        let back = parse_filter(&text);
        prop_assert_eq!(back.as_ref(), Ok(&e), "text: {}", text);
    }

    #[test]
    fn filter_parser_never_panics(text in any::<String>()) {
        let _ = parse_filter(&text);
    }

    #[test]
    fn filterish_text_never_panics_and_compiles_safely(text in filterish()) {
        if let Ok(e) = parse_filter(&text)
            && let Some(user) = cerulean_schema::entity("user")
        {
            let _ = compile_filter(&e, user);
        }
    }

    #[test]
    fn compile_never_panics(e in expr()) {
        if let Some(user) = cerulean_schema::entity("user") {
            let _ = compile_filter(&e, user);
        }
    }

    #[test]
    fn search_parser_never_panics(text in any::<String>()) {
        let _ = parse_search(&text);
    }

    #[test]
    fn options_never_panic(pairs in prop::collection::vec(
        (prop_oneof![Just("$filter".to_string()), Just("$search".to_string()), Just("$orderby".to_string()), Just("$select".to_string()),
                     Just("$top".to_string()), Just("$count".to_string()), Just("$skiptoken".to_string()), Just("$expand".to_string()),
                     any::<String>()],
         any::<String>()),
        0..6,
    ), eventual in any::<bool>()) {
        if let Some(user) = cerulean_schema::entity("user") {
            let _ = parse_list_options(&pairs, user, &Context { consistency_eventual: eventual });
        }
    }

    #[test]
    fn skiptokens_round_trip(values in prop::collection::vec(prop_oneof![
        Just(Scalar::Null), any::<bool>().prop_map(Scalar::Bool), any::<i64>().prop_map(Scalar::Int), any::<String>().prop_map(Scalar::Str),
    ], 0..4), id in any::<u128>()) {
        let c = Cursor { values, id: Uuid::from_u128(id) };
        prop_assert_eq!(decode_skiptoken(&encode_skiptoken(&c, id as u64), id as u64), Ok(c));
    }

    #[test]
    fn skiptoken_decoder_never_panics(text in any::<String>()) {
        let _ = decode_skiptoken(&text, 0);
    }
}
