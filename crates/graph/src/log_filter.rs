//! `$filter` over the audit and sign-in logs.
//!
//! Log entries are not directory objects: their shape is fixed by Graph (`directoryAudit`,
//! `signIn`) and they live in their own store tables. A filter is therefore used twice:
//!
//! 1. **Push-down.** The top-level `and` conditions that name an indexed column (a time bound,
//!    `eq`/`in` on category, activity, initiator, user, app, error code, IP address, event
//!    type, correlation id) become a [`LogQuery`], so the store reads only candidate rows
//!    through an index.
//! 2. **Evaluation.** The whole expression is then evaluated on each candidate's Graph JSON, so
//!    what cannot be pushed down (`targetResources/any(...)`, `ne`, `startswith`, `or`) is
//!    still exact, and a push-down only ever narrows the scan, never changes the answer.
//!
//! String comparisons ignore case, as Entra's log filters do for names and UPNs.

use cerulean_query::ast::CmpOp;
use cerulean_query::{Expr, LambdaKind, Literal};
use cerulean_store::{LogColumn, LogQuery};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::GraphError;

/// How one log maps its Graph properties to store columns.
pub(crate) struct LogFields {
    /// The property holding the entry's time (`activityDateTime`, `createdDateTime`).
    pub time: &'static str,
    /// Property paths (slash-separated) compared by `eq`/`in` on an indexed column.
    pub columns: &'static [(&'static str, LogColumn)],
    /// Top-level properties a filter may name.
    pub properties: &'static [&'static str],
    /// Entity name for error messages (`microsoft.graph.signIn`).
    pub type_name: &'static str,
}

fn invalid(message: impl Into<String>) -> GraphError {
    GraphError::new(400, "BadRequest", message)
}

/// Checks that `expr` names only properties of the log and uses supported forms, and adds
/// its push-down conditions to `query`.
pub(crate) fn plan(expr: &Expr, fields: &LogFields, query: &mut LogQuery) -> Result<(), GraphError> {
    check(expr, fields, &[])?;
    let conjuncts: Vec<&Expr> = match expr {
        Expr::And(items) => items.iter().collect(),
        other => vec![other],
    };
    for c in conjuncts {
        push_down(c, fields, query);
    }
    Ok(())
}

fn check(expr: &Expr, fields: &LogFields, vars: &[&str]) -> Result<(), GraphError> {
    match expr {
        Expr::Literal(_) => Ok(()),
        Expr::Path(p) => {
            let first = p.first().map(String::as_str).unwrap_or_default();
            if vars.contains(&first) || fields.properties.iter().any(|n| n.eq_ignore_ascii_case(first)) {
                Ok(())
            } else {
                Err(invalid(format!("Could not find a property named '{first}' on type '{}'.", fields.type_name)))
            }
        }
        Expr::Or(items) | Expr::And(items) => items.iter().try_for_each(|e| check(e, fields, vars)),
        Expr::Not(e) => check(e, fields, vars),
        Expr::Compare { left, right, .. } => {
            check(left, fields, vars)?;
            check(right, fields, vars)
        }
        Expr::In { left, .. } => check(left, fields, vars),
        Expr::Call { name, args } => {
            if !matches!(name.as_str(), "startswith" | "endswith" | "contains") {
                return Err(invalid(format!("The function '{name}' is not supported on the audit logs.")));
            }
            args.iter().try_for_each(|e| check(e, fields, vars))
        }
        Expr::Lambda { path, body, .. } => {
            check(&Expr::Path(path.clone()), fields, vars)?;
            match body {
                Some((var, e)) => {
                    let mut inner = vars.to_vec();
                    inner.push(var);
                    check(e, fields, &inner)
                }
                None => Ok(()),
            }
        }
    }
}

/// A literal as the text the store compares: strings as written, GUIDs hyphenated, numbers in
/// decimal, date-times normalised to the stored second-precision UTC form.
fn literal_text(l: &Literal) -> Option<String> {
    match l {
        Literal::String(s) => Some(s.clone()),
        Literal::Guid(g) => Some(g.hyphenated().to_string()),
        Literal::Int(i) => Some(i.to_string()),
        Literal::DateTimeOffset(s) => parse_time(s).map(stored_time),
        _ => None,
    }
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    cerulean_query::compile::parse_date_time(s)
}

/// The stored form: UTC, whole seconds (rounded down, so a bound is never narrower than asked).
fn stored_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn path_is(p: &[String], name: &str) -> bool {
    p.join("/").eq_ignore_ascii_case(name)
}

fn push_down(expr: &Expr, fields: &LogFields, query: &mut LogQuery) {
    match expr {
        Expr::Compare { op, left, right } => {
            let (path, lit, op) = match (left.as_ref(), right.as_ref()) {
                (Expr::Path(p), Expr::Literal(l)) => (p, l, *op),
                (Expr::Literal(l), Expr::Path(p)) => (p, l, op.flipped()),
                _ => return,
            };
            if path_is(path, fields.time) {
                let Some(t) = (match lit {
                    Literal::DateTimeOffset(s) | Literal::String(s) => parse_time(s).map(stored_time),
                    Literal::Date(d) => Some(format!("{d}T00:00:00Z")),
                    _ => None,
                }) else {
                    return;
                };
                match op {
                    CmpOp::Ge | CmpOp::Gt => query.from = Some(query.from.take().map_or(t.clone(), |f| f.max(t))),
                    CmpOp::Le | CmpOp::Lt => query.to = Some(query.to.take().map_or(t.clone(), |f| f.min(t))),
                    CmpOp::Eq => {
                        query.from = Some(t.clone());
                        query.to = Some(t);
                    }
                    CmpOp::Ne => {}
                }
                return;
            }
            if op != CmpOp::Eq {
                return;
            }
            if let (Some(column), Some(v)) = (column_of(path, fields), literal_text(lit)) {
                query.equals.push((column, vec![v]));
            }
        }
        Expr::In { left, values } => {
            let Expr::Path(path) = left.as_ref() else { return };
            let Some(column) = column_of(path, fields) else { return };
            let texts: Option<Vec<String>> = values.iter().map(literal_text).collect();
            if let Some(texts) = texts.filter(|t| t.len() <= 16) {
                query.equals.push((column, texts));
            }
        }
        // `signInEventTypes/any(t: t eq 'x' or t eq 'y')`: each sign-in has one event type.
        Expr::Lambda { path, kind: LambdaKind::Any, body: Some((var, body)) } => {
            let Some(column) = column_of(path, fields) else { return };
            let mut values = Vec::new();
            if collect_var_eq(body, var, &mut values) && !values.is_empty() && values.len() <= 16 {
                query.equals.push((column, values));
            }
        }
        _ => {}
    }
}

/// Collects `var eq 'x'` alternatives (joined by `or`); false if the body is anything else.
fn collect_var_eq(e: &Expr, var: &str, out: &mut Vec<String>) -> bool {
    match e {
        Expr::Or(items) => items.iter().all(|i| collect_var_eq(i, var, out)),
        Expr::Compare { op: CmpOp::Eq, left, right } => match (left.as_ref(), right.as_ref()) {
            (Expr::Path(p), Expr::Literal(l)) | (Expr::Literal(l), Expr::Path(p)) if p.len() == 1 && p[0] == var => {
                match literal_text(l) {
                    Some(v) => {
                        out.push(v);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        },
        _ => false,
    }
}

fn column_of(path: &[String], fields: &LogFields) -> Option<LogColumn> {
    fields.columns.iter().find(|(name, _)| path_is(path, name)).map(|(_, c)| *c)
}

// ---- evaluation on the Graph JSON ----

/// Whether `item` (an entry's Graph JSON) satisfies `expr`.
pub(crate) fn matches(expr: &Expr, item: &Value) -> bool {
    eval(expr, item, &[]).as_bool().unwrap_or(false)
}

type Vars<'a> = [(&'a str, &'a Value)];

fn lookup<'a>(path: &[String], item: &'a Value, vars: &Vars<'a>) -> Value {
    let Some((first, rest)) = path.split_first() else { return Value::Null };
    let mut cur = match vars.iter().rev().find(|(n, _)| n == first) {
        Some((_, v)) => *v,
        None => match field(item, first) {
            Some(v) => v,
            None => return Value::Null,
        },
    };
    for seg in rest {
        match field(cur, seg) {
            Some(v) => cur = v,
            None => return Value::Null,
        }
    }
    cur.clone()
}

/// A property of an object by name, ignoring case (Graph property names in filters are).
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn literal_value(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(i) => Value::from(*i),
        Literal::Decimal(d) => Value::from(*d),
        Literal::String(s) | Literal::DateTimeOffset(s) | Literal::Date(s) => Value::String(s.clone()),
        Literal::Guid(g) => Value::String(g.hyphenated().to_string()),
    }
}

fn eval<'a>(expr: &Expr, item: &'a Value, vars: &Vars<'a>) -> Value {
    match expr {
        Expr::Literal(l) => literal_value(l),
        Expr::Path(p) => lookup(p, item, vars),
        Expr::And(items) => Value::Bool(items.iter().all(|e| eval(e, item, vars).as_bool() == Some(true))),
        Expr::Or(items) => Value::Bool(items.iter().any(|e| eval(e, item, vars).as_bool() == Some(true))),
        Expr::Not(e) => Value::Bool(eval(e, item, vars).as_bool() != Some(true)),
        Expr::Compare { op, left, right } => {
            Value::Bool(compare(*op, &eval(left, item, vars), &eval(right, item, vars)))
        }
        Expr::In { left, values } => {
            let l = eval(left, item, vars);
            Value::Bool(values.iter().any(|v| compare(CmpOp::Eq, &l, &literal_value(v))))
        }
        Expr::Call { name, args } => {
            let texts: Vec<Option<String>> =
                args.iter().map(|a| eval(a, item, vars).as_str().map(str::to_lowercase)).collect();
            let (Some(Some(a)), Some(Some(b))) = (texts.first(), texts.get(1)) else {
                return Value::Bool(false);
            };
            Value::Bool(match name.as_str() {
                "startswith" => a.starts_with(b.as_str()),
                "endswith" => a.ends_with(b.as_str()),
                _ => a.contains(b.as_str()),
            })
        }
        Expr::Lambda { path, kind, body } => {
            let collection = lookup(path, item, vars);
            let elements = collection.as_array().map(Vec::as_slice).unwrap_or_default();
            let Some((var, body)) = body else {
                return Value::Bool(!elements.is_empty());
            };
            let test = |el: &Value| {
                let mut inner: Vec<(&str, &Value)> = vars.to_vec();
                inner.push((var.as_str(), el));
                eval(body, item, &inner).as_bool() == Some(true)
            };
            Value::Bool(match kind {
                LambdaKind::Any => elements.iter().any(test),
                LambdaKind::All => elements.iter().all(test),
            })
        }
    }
}

fn compare(op: CmpOp, l: &Value, r: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (l, r) {
        (Value::String(a), Value::String(b)) => match (parse_time(a), parse_time(b)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        },
        (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    };
    match (op, ord) {
        (CmpOp::Eq, o) => o == Some(Ordering::Equal),
        (CmpOp::Ne, o) => o != Some(Ordering::Equal),
        (_, None) => false,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: LogFields = LogFields {
        time: "activityDateTime",
        columns: &[("category", LogColumn::Category), ("initiatedBy/user/id", LogColumn::ActorId)],
        properties: &["activityDateTime", "category", "initiatedBy", "targetResources", "result"],
        type_name: "microsoft.graph.directoryAudit",
    };

    fn parse(text: &str) -> Expr {
        cerulean_query::parse_filter(text).expect("parse")
    }

    #[test]
    fn pushes_down_bounds_and_equalities() {
        let mut q = LogQuery::default();
        let e = parse(
            "activityDateTime ge 2024-05-01T10:00:00.5+02:00 and category eq 'UserManagement' and \
             targetResources/any(t: t/id eq 'x')",
        );
        plan(&e, &FIELDS, &mut q).expect("plan");
        assert_eq!(q.from.as_deref(), Some("2024-05-01T08:00:00Z"));
        assert_eq!(q.equals, vec![(LogColumn::Category, vec!["UserManagement".to_string()])]);
        assert!(plan(&parse("nope eq 1"), &FIELDS, &mut LogQuery::default()).is_err());
    }

    #[test]
    fn evaluates_on_the_json() {
        let item = json!({
            "activityDateTime": "2024-05-01T10:00:00Z",
            "category": "UserManagement",
            "result": "success",
            "targetResources": [{"id": "a"}, {"id": "b"}],
        });
        assert!(matches(&parse("targetResources/any(t: t/id eq 'B')"), &item));
        assert!(!matches(&parse("targetResources/any(t: t/id eq 'c')"), &item));
        assert!(matches(&parse("activityDateTime gt 2024-05-01T09:59:59.9Z and result ne 'failure'"), &item));
        assert!(matches(&parse("startswith(category, 'user')"), &item));
        assert!(!matches(&parse("category in ('GroupManagement')"), &item));
    }
}
