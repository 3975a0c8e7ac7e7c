//! The query options of a list request, validated together, with Graph's advanced-query rules.

use cerulean_schema::{EdmType, EntityType, Flags};
use cerulean_store::{Cursor, Filter, ListQuery, OrderKey, PropPath, Scope, ValueKind};

use crate::compile::compile_filter_with;
use crate::dynamic::DynamicProperty;
use crate::error::{QueryError, resource_name, unknown_property_text};
use crate::parser::parse_filter;
use crate::search::{compile_search, parse_search};
use crate::skiptoken::{check_cursor, decode_skiptoken};

/// Request facts outside the query string that change what is allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// The `ConsistencyLevel: eventual` header is present.
    pub consistency_eventual: bool,
}

/// One `$expand` item: a navigation property, and the `$select` inside its parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expand {
    /// Canonical navigation property name (`memberOf`).
    pub property: String,
    /// The entity type it leads to (`directoryObject`).
    pub target: String,
    pub collection: bool,
    /// Canonical property names, or `None` for the target's defaults.
    pub select: Option<Vec<String>>,
}

/// Validated options of a list request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListOptions {
    /// Canonical property names, first mention first; `None` for the default set.
    pub select: Option<Vec<String>>,
    pub filter: Option<Filter>,
    pub search: Option<Filter>,
    pub order: Vec<OrderKey>,
    pub top: Option<usize>,
    pub after: Option<Cursor>,
    /// `$count=true` with `ConsistencyLevel: eventual` (without the header Graph ignores it).
    pub count: bool,
    pub expand: Vec<Expand>,
    /// Identifies the query's filter, search and order; `$skiptoken`s are bound to it.
    pub fingerprint: u64,
}

/// Page size when `$top` is absent.
pub const DEFAULT_TOP: usize = 100;
/// Largest `$top`.
pub const MAX_TOP: usize = 999;

impl ListOptions {
    /// The `$skiptoken` of the page after `cursor`, for this query.
    pub fn skiptoken(&self, cursor: &Cursor) -> String {
        crate::skiptoken::encode_skiptoken(cursor, self.fingerprint)
    }

    /// The store query for these options: `$filter` and `$search` are combined with AND.
    pub fn to_list_query(&self, types: &[&str], scope: Scope) -> ListQuery {
        let mut q = ListQuery::new(types, scope);
        q.filter = match (&self.filter, &self.search) {
            (Some(f), Some(s)) => Some(Filter::And(vec![f.clone(), s.clone()])),
            (f, s) => f.clone().or_else(|| s.clone()),
        };
        q.order = self.order.clone();
        q.top = self.top.unwrap_or(DEFAULT_TOP);
        q.after = self.after.clone();
        q.count = self.count;
        q
    }
}

/// The options this module reads, by canonical name.
const KNOWN: &[&str] = &["filter", "search", "orderby", "select", "top", "count", "skiptoken", "expand"];
/// `$` options accepted and ignored (`$format=json` is what Graph serves anyway).
const IGNORED: &[&str] = &["format"];

/// Graph's answer to `/$count` without `ConsistencyLevel: eventual`.
pub fn check_count_segment(ctx: &Context) -> Result<(), QueryError> {
    if ctx.consistency_eventual {
        Ok(())
    } else {
        Err(QueryError::request_bad_request("$count is not currently supported."))
    }
}

/// Parses and validates the query options of a list of `entity` objects.
///
/// `params` are percent-decoded key/value pairs. Option names match with or without `$` and in
/// any case; unknown `$` options are refused, other parameters are left to the caller.
pub fn parse_list_options(
    params: &[(String, String)],
    entity: &EntityType,
    ctx: &Context,
) -> Result<ListOptions, QueryError> {
    parse_list_options_with(params, entity, ctx, &[])
}

/// [`parse_list_options`], with the tenant's extension properties of `entity` (`dynamic`)
/// selectable and filterable.
pub fn parse_list_options_with(
    params: &[(String, String)],
    entity: &EntityType,
    ctx: &Context,
    dynamic: &[DynamicProperty],
) -> Result<ListOptions, QueryError> {
    let mut raw: [Option<&str>; KNOWN.len()] = [None; KNOWN.len()];
    for (key, value) in params {
        let (dollar, name) = match key.strip_prefix('$') {
            Some(rest) => (true, rest),
            None => (false, key.as_str()),
        };
        match KNOWN.iter().position(|k| k.eq_ignore_ascii_case(name)) {
            Some(i) => {
                if raw[i].is_some() {
                    return Err(QueryError::bad_request(format!(
                        "Query option '${}' was specified more than once, but it must be specified at most once.",
                        KNOWN[i]
                    )));
                }
                raw[i] = Some(value.as_str());
            }
            None if dollar && !IGNORED.iter().any(|k| k.eq_ignore_ascii_case(name)) => {
                return Err(QueryError::bad_request(format!("The query parameter '{key}' is not supported.")));
            }
            None => {}
        }
    }
    let [filter, search, orderby, select, top, count, skiptoken, expand] = raw;
    let mut out = ListOptions::default();

    let count_requested = match count.map(str::trim) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(QueryError::bad_request(format!(
                "Invalid value '{v}' for $count query option found. Valid values are 'true', 'false'."
            )));
        }
    };
    // Graph silently ignores `$count=true` without the header (aad-advanced-queries.md).
    out.count = count_requested && ctx.consistency_eventual;
    let advanced = count_requested && ctx.consistency_eventual;

    if let Some(top) = top {
        out.top = Some(parse_top(top)?);
    }
    if let Some(select) = select {
        out.select = parse_select_with(select, entity, dynamic)?;
    }
    if let Some(expand) = expand {
        out.expand = parse_expand(expand, entity)?;
    }
    if let Some(text) = filter {
        let compiled = compile_filter_with(&parse_filter(text)?, entity, dynamic)?;
        if let Some(op) = compiled.advanced.first()
            && !advanced
        {
            return Err(QueryError::needs_advanced(op));
        }
        out.filter = Some(compiled.filter);
    }
    if let Some(text) = search {
        if !ctx.consistency_eventual {
            return Err(QueryError::unsupported(
                "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
            ));
        }
        out.search = Some(compile_search(&parse_search(text)?, entity)?);
    }
    if let Some(text) = orderby {
        out.order = parse_orderby(text, entity)?;
        if filter.is_some() && !advanced {
            return Err(QueryError::unsupported("Sorting not supported for current query."));
        }
    }
    out.fingerprint = crate::skiptoken::fingerprint(&[
        &format!("{:?}", out.filter),
        &format!("{:?}", out.search),
        &format!("{:?}", out.order),
    ]);
    if let Some(token) = skiptoken {
        let cursor = decode_skiptoken(token, out.fingerprint)?;
        check_cursor(&cursor, &out.order)?;
        out.after = Some(cursor);
    }
    Ok(out)
}

/// `$top`: an integer in 1..=999.
pub fn parse_top(text: &str) -> Result<usize, QueryError> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QueryError::bad_request(format!(
            "Invalid value '{text}' for $top query option found. The $top query option requires a non-negative integer value."
        )));
    }
    match t.parse::<usize>() {
        Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
        _ => Err(QueryError::unsupported(format!(
            "Invalid page size specified: '{t}'. Must be between 1 and {MAX_TOP} inclusive."
        ))),
    }
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// `$select` against `entity`.
pub fn parse_select(text: &str, entity: &EntityType) -> Result<Option<Vec<String>>, QueryError> {
    parse_select_with(text, entity, &[])
}

/// [`parse_select`], with the tenant's extension properties (`dynamic`) selectable by name.
pub fn parse_select_with(
    text: &str,
    entity: &EntityType,
    dynamic: &[DynamicProperty],
) -> Result<Option<Vec<String>>, QueryError> {
    select_list(
        text,
        |name| {
            if let Some(p) = entity.property(name) {
                return Ok(p.name.to_string());
            }
            if let Some(d) = crate::dynamic::find(dynamic, name) {
                return Ok(d.name.clone());
            }
            Err(unselectable(name, entity.name, entity.navigation_property(name).is_some()))
        },
        || entity.all_properties(),
    )
}

fn unselectable(name: &str, entity: &str, navigation: bool) -> QueryError {
    if navigation {
        QueryError::bad_request(format!(
            "'{name}' is a navigation property of 'microsoft.graph.{entity}' and cannot be selected; use $expand={name}."
        ))
    } else {
        QueryError::bad_request(unknown_property_text(name, entity))
    }
}

/// A comma list of property names, each canonicalised by `resolve`; `*` stands for every
/// property that is ever returned (`all` gives the candidates).
fn select_list(
    text: &str,
    resolve: impl Fn(&str) -> Result<String, QueryError>,
    all: impl Fn() -> Vec<&'static cerulean_schema::Property>,
) -> Result<Option<Vec<String>>, QueryError> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    };
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if item == "*" {
            for p in all().into_iter().filter(|p| !p.is(Flags::WRITE_ONLY)) {
                push(p.name);
            }
        } else {
            push(&resolve(item)?);
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// The store's comparison kind for a scalar EDM type, or `None` when it cannot be sorted.
fn kind_of(ty: EdmType) -> Option<ValueKind> {
    match ty {
        EdmType::String | EdmType::Enum(_) => Some(ValueKind::String),
        EdmType::Boolean => Some(ValueKind::Bool),
        EdmType::Int32 | EdmType::Int64 | EdmType::Double => Some(ValueKind::Number),
        EdmType::DateTimeOffset | EdmType::Date => Some(ValueKind::DateTime),
        EdmType::Guid => Some(ValueKind::Guid),
        EdmType::Binary | EdmType::Stream | EdmType::Complex(_) => None,
    }
}

/// `$orderby`: `name [asc|desc]`, comma-separated; only `SORT`-flagged properties.
pub fn parse_orderby(text: &str, entity: &EntityType) -> Result<Vec<OrderKey>, QueryError> {
    let mut keys: Vec<OrderKey> = Vec::new();
    for item in text.split(',') {
        let words: Vec<&str> = item.split_whitespace().collect();
        let (name, descending) = match words.as_slice() {
            [name] => (*name, false),
            [name, dir] if dir.eq_ignore_ascii_case("asc") => (*name, false),
            [name, dir] if dir.eq_ignore_ascii_case("desc") => (*name, true),
            _ => {
                return Err(QueryError::bad_request(format!(
                    "Syntax error: '{}' is not a valid $orderby item (expected 'property', 'property asc' or 'property desc').",
                    item.trim()
                )));
            }
        };
        let mut segments = name.split('/');
        let first = segments.next().unwrap_or_default();
        let Some(prop) = entity.property(first) else {
            return Err(QueryError::bad_request(unknown_property_text(first, entity.name)));
        };
        let unsortable = || {
            QueryError::unsupported(format!("Unsupported sort property '{name}' for '{}'.", resource_name(entity.name)))
        };
        if !prop.is(Flags::SORT) || prop.collection {
            return Err(unsortable());
        }
        let mut path = if prop.name == "id" { PropPath::id() } else { PropPath::of(prop.name) };
        let mut ty = prop.ty;
        for seg in segments {
            let EdmType::Complex(cname) = ty else {
                return Err(unsortable());
            };
            let Some(member) = cerulean_schema::complex(cname).and_then(|c| c.property(seg)) else {
                return Err(QueryError::bad_request(unknown_property_text(seg, cname)));
            };
            if member.collection {
                return Err(unsortable());
            }
            path.0.push(member.name.to_string());
            ty = member.ty;
        }
        let kind = if path.is_id() { Some(ValueKind::Guid) } else { kind_of(ty) };
        let Some(kind) = kind else {
            return Err(unsortable());
        };
        if keys.iter().any(|k| k.path == path) {
            return Err(QueryError::bad_request(format!(
                "Duplicate property named '{}' is not supported in '$orderby'.",
                path.0.join("/")
            )));
        }
        keys.push(OrderKey { path, kind, descending });
    }
    Ok(keys)
}

/// `$expand`: navigation properties, each optionally with `($select=...)`.
pub fn parse_expand(text: &str, entity: &EntityType) -> Result<Vec<Expand>, QueryError> {
    let mut out: Vec<Expand> = Vec::new();
    for item in split_top_level(text).into_iter().map(str::trim).filter(|i| !i.is_empty()) {
        let (name, nested) = match item.split_once('(') {
            Some((name, rest)) => match rest.strip_suffix(')') {
                Some(inner) => (name.trim(), Some(inner)),
                None => {
                    return Err(QueryError::bad_request(format!(
                        "Syntax error: '{item}' is not a valid $expand item."
                    )));
                }
            },
            None => (item, None),
        };
        let Some(nav) = entity.navigation_property(name) else {
            return Err(QueryError::bad_request(unknown_property_text(name, entity.name)));
        };
        let mut select = None;
        for option in nested.into_iter().flat_map(|n| n.split(';')).map(str::trim).filter(|o| !o.is_empty()) {
            let (key, value) = option.split_once('=').unwrap_or((option, ""));
            let key = key.trim();
            if !key.trim_start_matches('$').eq_ignore_ascii_case("select") {
                return Err(QueryError::bad_request(format!(
                    "The query option '{key}' is not supported inside $expand; only $select is."
                )));
            }
            select = parse_nested_select(value, nav.target)?;
        }
        if out.iter().any(|e| e.property == nav.name) {
            return Err(QueryError::bad_request(format!("Duplicate navigation property '{}' in $expand.", nav.name)));
        }
        out.push(Expand {
            property: nav.name.to_string(),
            target: nav.target.to_string(),
            collection: nav.collection,
            select,
        });
    }
    Ok(out)
}

/// `$select` inside `$expand`. The target is often the abstract-ish `directoryObject` (members,
/// memberOf) whose items are users, groups, ...; Graph accepts their properties there, so a
/// name is valid if the target type or any type derived from it declares it.
fn parse_nested_select(text: &str, target: &str) -> Result<Option<Vec<String>>, QueryError> {
    let family: Vec<&'static EntityType> =
        cerulean_schema::entities::ALL.iter().copied().filter(|e| e.is_a(target)).collect();
    let Some(root) = cerulean_schema::entity(target) else {
        return Err(QueryError::unsupported_query());
    };
    select_list(
        text,
        |name| {
            if let Some(p) = family.iter().find_map(|e| e.property(name)) {
                return Ok(p.name.to_string());
            }
            let navigation = family.iter().any(|e| e.navigation_property(name).is_some());
            Err(unselectable(name, root.name, navigation))
        },
        || root.all_properties(),
    )
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
