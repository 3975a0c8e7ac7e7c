//! OData query options (`$filter`, `$search`, `$orderby`, `$select`, `$top`, `$count`,
//! `$skiptoken`, `$expand`) validated against the schema and compiled into the store's
//! protocol-neutral plan ([`cerulean_store::ListQuery`]).
//!
//! The layers: [`lexer`] and [`parser`] turn `$filter` text into an untyped [`ast::Expr`]
//! (printable back to canonical OData); [`compile`] type-checks it against an
//! [`EntityType`](cerulean_schema::EntityType) into a [`Filter`](cerulean_store::Filter);
//! [`search`] does the same for `$search`; [`options`] validates a whole query string and
//! applies Graph's advanced-query rules; [`skiptoken`] makes page cursors opaque.
//!
//! Front-ends call [`parse_list_options`] and [`ListOptions::to_list_query`], and render a
//! [`QueryError`] as Graph's `{"error": {"code", "message"}}` with its status.
//!
//! # Graph's advanced-query rules, as implemented
//!
//! "Advanced query parameters" are the `ConsistencyLevel: eventual` header *and* `$count=true`
//! (Microsoft Graph docs, `concepts/aad-advanced-queries.md`, "Advanced query capabilities on
//! Microsoft Entra ID objects", and `concepts/search-query-parameter.md`).
//!
//! | Request | Without the advanced parameters | Error (all 400) |
//! |---|---|---|
//! | `$search` | needs the header only (not `$count`) | `Request_UnsupportedQuery`: "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'" |
//! | `$count=true` | silently ignored without the header (`ListOptions::count` is false) | none |
//! | `/$count` segment | needs the header ([`check_count_segment`]) | `Request_BadRequest`: "$count is not currently supported." |
//! | `$filter` with `ne`, `not`, `endsWith`, `coll/$count` | needs header and `$count=true` | `Request_UnsupportedQuery`: "Operator 'ne' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information" |
//! | `$filter` together with `$orderby` | needs header and `$count=true` | `Request_UnsupportedQuery`: "Sorting not supported for current query." |
//! | `contains(...)` | never supported on directory objects | `Request_UnsupportedQuery`: "Unsupported query." |
//!
//! Other errors: a property that is not filterable gives `Request_UnsupportedQuery` "Unsupported
//! or invalid query filter clause specified for property 'X' of resource 'User'."; one that is
//! not sortable, "Unsupported sort property 'X' for 'User'."; an unknown name, `BadRequest`
//! "Could not find a property named 'foo' on type 'microsoft.graph.user'." (prefixed "Invalid
//! filter clause: " inside `$filter`); a syntax error, `BadRequest` "Invalid filter clause:
//! Syntax error: ... at position N in '...'."; `$top` outside 1..=999, `Request_UnsupportedQuery`
//! "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
//!
//! Not modelled: per-property advanced requirements (for example `$orderby=createdDateTime`
//! needing advanced parameters on users) — the schema flags say only whether a property sorts.

pub mod ast;
pub mod compile;
pub mod dynamic;
pub mod error;
pub mod lexer;
pub mod options;
pub mod parser;
pub mod search;
pub mod skiptoken;

pub use ast::{Expr, LambdaKind, Literal};
pub use compile::{CompiledFilter, compile_filter, compile_filter_with};
pub use dynamic::DynamicProperty;
pub use error::QueryError;
pub use options::{
    Context, DEFAULT_TOP, Expand, ListOptions, MAX_TOP, check_count_segment, parse_expand, parse_list_options,
    parse_list_options_with, parse_orderby, parse_select, parse_select_with, parse_top,
};
pub use parser::{MAX_DEPTH, MAX_FILTER_LEN, parse_filter};
pub use search::{SearchExpr, compile_search, parse_search, search_terms};
pub use skiptoken::{decode_skiptoken, encode_skiptoken};
