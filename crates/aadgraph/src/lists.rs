//! 1.6 collections: `$filter`, `$orderby`, `$top` and `$skiptoken` into the shared query plan,
//! and pages with a **relative** `odata.nextLink`.
//!
//! # Page tokens
//!
//! AAD Graph's next link carries no query options besides the token
//! (`directoryObjects/$/Microsoft.DirectoryServices.User?$skiptoken=X'4453...'`, seed: paging),
//! and clients such as `azure-graphrbac` send it back as is, adding only `api-version`. So the
//! token holds the whole listing position: the `$filter`, `$orderby` and `$top` of the first
//! request and the shared keyset cursor token of `cerulean_query::skiptoken` (bound to that
//! filter and order by its fingerprint), as JSON, hex-encoded in OData 3's binary literal form
//! `X'..'`. It stays opaque to clients and is checked like any cursor: a token that does not
//! decode or does not fit its own query is a 400.
//!
//! # Paging backward
//!
//! "This skip token can be combined with a previous-page=true query argument to page backward":
//! a token marks a boundary between two pages; without `previous-page` the page after it is
//! read, with `previous-page=true` the page before it ("a request is made using the skip token
//! returned in step 1 and the parameter &previous-page=true ... The response contains the
//! previous (first) page"). A backward page carries, when more items precede it, a token for the
//! boundary before its first item, which with `previous-page=true` pages backward again
//! (Microsoft Graph paging concepts, 2016, the AAD Graph heritage the seed's "$skiptoken and
//! previous-page" names). The store reads backward with a reversed keyset
//! ([`ListQuery::backward`]); the boundary after item X reads "up to X inclusive" as strictly
//! before (X's sort values, X's id + 1), and the boundary before item Y is stored as
//! (Y's values, Y's id − 1): ids are compared as 128-bit numbers, so no id lies in between.

use cerulean_query::skiptoken::{check_cursor, decode_skiptoken, encode_skiptoken, fingerprint};
use cerulean_query::{DynamicProperty, compile_filter_with, parse_filter, parse_orderby, parse_top};
use cerulean_schema::EntityType;
use cerulean_store::{ListQuery, ObjectRecord, Page, Scope};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::AadError;
use crate::wire;

/// Page size without `$top` (AAD Graph's default).
pub const DEFAULT_TOP: usize = 100;
/// Longest `$skiptoken` accepted, in characters.
const MAX_TOKEN: usize = 16 * 1024;

/// The list options of one request, as written by the client (1.6 names).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Options {
    pub filter: Option<String>,
    pub orderby: Option<String>,
    pub top: Option<String>,
    /// `$expand`, applied to each object of the page.
    pub expand: Option<String>,
    /// The shared cursor token, when continuing.
    pub cursor: Option<String>,
    /// `previous-page=true`: the page before the `$skiptoken` boundary.
    pub previous: bool,
}

/// Reads the list options; `$skiptoken` replaces the others with those it was issued for.
pub(crate) fn options(params: &[(String, String)]) -> Result<Options, AadError> {
    let mut out = Options::default();
    let mut skiptoken = None;
    let mut previous = false;
    for (key, value) in params {
        if key.eq_ignore_ascii_case("previous-page") {
            previous = match value.trim() {
                v if v.eq_ignore_ascii_case("true") => true,
                v if v.eq_ignore_ascii_case("false") => false,
                v => {
                    return Err(AadError::bad_request(format!(
                        "Invalid value '{v}' for previous-page: expected true or false."
                    )));
                }
            };
            continue;
        }
        let Some(name) = key.strip_prefix('$') else {
            continue;
        };
        let slot = match name.to_ascii_lowercase().as_str() {
            "filter" => &mut out.filter,
            "orderby" => &mut out.orderby,
            "top" => &mut out.top,
            "skiptoken" => &mut skiptoken,
            "format" => continue,
            "expand" => &mut out.expand,
            "select" => {
                return Err(AadError::new(
                    400,
                    "Request_UnsupportedQuery",
                    format!("The query option '{key}' is not supported by this server's Azure AD Graph front-end."),
                ));
            }
            _ => return Err(AadError::bad_request(format!("The query parameter '{key}' is not supported."))),
        };
        if slot.is_some() {
            return Err(AadError::bad_request(format!("Query option '{key}' was specified more than once.")));
        }
        *slot = Some(value.clone());
    }
    match (skiptoken, previous) {
        (Some(token), _) => Ok(Options { previous, ..decode_token(&token)? }),
        // There is no page before the first one: the boundary comes from a `$skiptoken`.
        (None, true) => {
            Err(AadError::bad_request("previous-page=true pages backward from a $skiptoken; the request has none."))
        }
        (None, false) => Ok(out),
    }
}

fn invalid_token() -> AadError {
    AadError::bad_request("The $skiptoken value is invalid or was issued for a different query.")
}

/// `X'<hex of JSON>'` → the options it holds.
fn decode_token(token: &str) -> Result<Options, AadError> {
    if token.len() > MAX_TOKEN {
        return Err(invalid_token());
    }
    let hex = token
        .strip_prefix("X'")
        .or_else(|| token.strip_prefix("x'"))
        .and_then(|t| t.strip_suffix('\''))
        .ok_or_else(invalid_token)?;
    if hex.len() % 2 != 0 {
        return Err(invalid_token());
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<_>>()
        .ok_or_else(invalid_token)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid_token())?;
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
    let cursor = text("c").ok_or_else(invalid_token)?;
    Ok(Options {
        filter: text("f"),
        orderby: text("o"),
        top: text("t"),
        expand: text("e"),
        cursor: Some(cursor),
        previous: false,
    })
}

/// The token continuing `opts` after the shared cursor token `cursor`.
fn encode_token(opts: &Options, cursor: &str) -> String {
    let mut v = json!({ "c": cursor });
    for (k, field) in [("f", &opts.filter), ("o", &opts.orderby), ("t", &opts.top), ("e", &opts.expand)] {
        if let Some(text) = field {
            v[k] = json!(text);
        }
    }
    let json = v.to_string();
    let mut out = String::with_capacity(json.len() * 2 + 3);
    out.push_str("X'");
    for b in json.bytes() {
        out.push_str(&format!("{b:02X}"));
    }
    out.push('\'');
    out
}

/// A compiled listing: the store query and the fingerprint its cursors are bound to.
pub(crate) struct Plan {
    pub query: ListQuery,
    fingerprint: u64,
    opts: Options,
}

/// Compiles options for objects of `entity` (1.6 names mapped to the schema's), of `types`, in
/// `scope`. AAD Graph supports `eq`, `ge`, `le`, `startswith`, `any`, `and`, `or`; the operators
/// Graph reserves for advanced queries (`ne`, `not`, `endswith`) and `$filter` with `$orderby`
/// are refused as Graph refuses them without `ConsistencyLevel`.
pub(crate) fn plan(
    opts: Options,
    entity: &EntityType,
    types: &[&str],
    scope: Scope,
    dynamic: &[DynamicProperty],
) -> Result<Plan, AadError> {
    let scope_is_live = scope == Scope::Live;
    let mut query = ListQuery::new(types, scope);
    if let Some(text) = &opts.filter {
        let expr = wire::filter_from_aad(entity, parse_filter(text)?);
        let compiled = compile_filter_with(&expr, entity, dynamic)?;
        if let Some(op) = compiled.advanced.first() {
            return Err(AadError::new(
                400,
                "Request_UnsupportedQuery",
                format!("Unsupported query: the operator '{op}' is not supported."),
            ));
        }
        query.filter = Some(compiled.filter);
    }
    if let Some(text) = &opts.orderby {
        if opts.filter.is_some() {
            return Err(AadError::new(400, "Request_UnsupportedQuery", "Sorting not supported for current query."));
        }
        // "Two sort orders are currently supported: DisplayName for User and Group objects, and
        // UserPrincipalName for User objects" (supported queries reference).
        for item in text.split(',') {
            let name = item.split_whitespace().next().unwrap_or_default();
            let allowed = name.eq_ignore_ascii_case("displayName") && matches!(entity.name, "user" | "group")
                || name.eq_ignore_ascii_case("userPrincipalName") && entity.name == "user";
            if !allowed {
                return Err(AadError::new(
                    400,
                    "Request_UnsupportedQuery",
                    format!(
                        "Sorting by '{name}' is not supported; only displayName (users, groups) and userPrincipalName (users)."
                    ),
                ));
            }
        }
        query.order = parse_orderby(&wire::orderby_from_aad(entity, text), entity)?;
    } else if opts.filter.is_none() && entity.name == "user" && types == ["user"] && scope_is_live {
        // "The result set of a query for all users is ordered by the UserPrincipalName property."
        query.order = parse_orderby("userPrincipalName", entity)?;
    }
    query.top = match &opts.top {
        Some(t) => parse_top(t)?,
        None => DEFAULT_TOP,
    };
    let fingerprint =
        fingerprint(&["aad", &format!("{:?}", query.filter), &format!("{:?}", query.order), &query.top.to_string()]);
    if let Some(token) = &opts.cursor {
        let mut cursor = decode_skiptoken(token, fingerprint)?;
        check_cursor(&cursor, &query.order)?;
        if opts.previous {
            // Up to the boundary's item inclusive: strictly before the next possible id.
            cursor.id = Uuid::from_u128(cursor.id.as_u128().saturating_add(1));
            query.backward = true;
        }
        query.after = Some(cursor);
    }
    Ok(Plan { query, fingerprint, opts })
}

const QUERY_VALUE: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'&').add(b'+').add(b'<').add(b'>').add(b'%');

impl Plan {
    /// Puts the items of a backward page (read closest first) in the collection's order.
    pub fn arrange(&self, page: &mut Page) {
        if self.query.backward {
            page.items.reverse();
        }
    }

    /// The relative next link of `page`: `{path}?$skiptoken=X'..'`, or `None` on the last page
    /// (going backward: on the first).
    pub fn next_link(&self, path: &str, page: &Page) -> Option<String> {
        let mut cursor = page.next.clone()?;
        if self.query.backward {
            // The boundary before the page's first item (`next` of a backward read).
            cursor.id = Uuid::from_u128(cursor.id.as_u128().saturating_sub(1));
        }
        let token = encode_token(&self.opts, &encode_skiptoken(&cursor, self.fingerprint));
        Some(format!("{path}?$skiptoken={}", utf8_percent_encode(&token, QUERY_VALUE)))
    }
}

/// The records of a page in 1.6 shape: of `t` when given, else each in its own type's shape.
pub(crate) fn shaped(items: &[ObjectRecord], t: Option<&wire::AadType>) -> Vec<Value> {
    items
        .iter()
        .map(|r| {
            Value::Object(match t {
                Some(t) => wire::shape(t, r),
                None => wire::shape_any(r),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_carry_the_query() {
        let opts =
            Options { filter: Some("startswith(displayName,'a')".into()), top: Some("5".into()), ..Default::default() };
        let token = encode_token(&opts, "abc");
        assert!(token.starts_with("X'") && token.ends_with('\''));
        let back = decode_token(&token).expect("decodes");
        assert_eq!(back.filter, opts.filter);
        assert_eq!(back.top, opts.top);
        assert_eq!(back.cursor.as_deref(), Some("abc"));
        assert!(decode_token("X'zz'").is_err());
        assert!(decode_token("abc").is_err());
    }

    #[test]
    fn skiptoken_replaces_other_options() {
        let token = encode_token(&Options { top: Some("2".into()), ..Default::default() }, "c");
        let params = vec![("$top".to_string(), "50".to_string()), ("$skiptoken".to_string(), token)];
        let opts = options(&params).expect("options");
        assert_eq!(opts.top.as_deref(), Some("2"));
        assert!(options(&[("$bogus".to_string(), String::new())]).is_err());
    }
}
