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
//! String comparisons ignore case, as Entra's log filters do for names and UPNs, except
//! `eq`/`ne`/`in` on an indexed column the store compares exactly ([`exact_column`]: category,
//! activity, correlation id, IP address, event type, risk event type, level and state), which
//! evaluation compares exactly too, so the answer is the same whether or not the condition was
//! pushed down (`category eq 'usermanagement'` matches nothing, alone or inside an `or`).

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
        Literal::String(s) | Literal::Enum { member: s, .. } => Some(s.clone()),
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

/// Whether the store compares `column` of the log of type `type_name` exactly: its values are
/// stored as written (`crates/store/src/logs.rs`). The others are uuids (parsed), digits
/// (error codes), or stored lower-cased and compared with the value lower-cased (UPN; the
/// appId of the risk tables), so case cannot change what they match.
fn exact_column(column: LogColumn, type_name: &str) -> bool {
    use LogColumn::*;
    match column {
        Category | Activity | CorrelationId | IpAddress | EventType | RiskEventType | RiskLevel | RiskState => true,
        AppId => type_name == "microsoft.graph.signIn",
        _ => false,
    }
}

// ---- evaluation on the Graph JSON ----

/// Whether `item` (an entry's Graph JSON) satisfies `expr`; `fields` says which columns compare
/// exactly.
pub(crate) fn matches(expr: &Expr, fields: &LogFields, item: &Value) -> bool {
    let cx = Cx { columns: fields.columns, type_name: fields.type_name };
    cx.eval(expr, item, &[]).as_bool().unwrap_or(false)
}

/// A lambda variable: its name, the element it stands for, and whether the collection it
/// ranges over is an exactly compared column.
type Vars<'a> = [(&'a str, &'a Value, bool)];

fn lookup<'a>(path: &[String], item: &'a Value, vars: &Vars<'a>) -> Value {
    let Some((first, rest)) = path.split_first() else { return Value::Null };
    let mut cur = match vars.iter().rev().find(|(n, _, _)| n == first) {
        Some((_, v, _)) => *v,
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
        // Log items are JSON: an enum-typed value is its member's name.
        Literal::Enum { member, .. } => Value::String(member.clone()),
        Literal::Guid(g) => Value::String(g.hyphenated().to_string()),
    }
}

/// What evaluation needs of the log's fields.
struct Cx {
    columns: &'static [(&'static str, LogColumn)],
    type_name: &'static str,
}

impl Cx {
    /// Whether `path` (outside any lambda variable) is an exactly compared column.
    fn exact_path(&self, path: &[String]) -> bool {
        self.columns.iter().find(|(name, _)| path_is(path, name)).is_some_and(|(_, c)| exact_column(*c, self.type_name))
    }

    /// Whether `e` names an exactly compared column: such a path, or a lambda variable ranging
    /// over one (`signInEventTypes/any(t: t eq 'x')`).
    fn exact(&self, e: &Expr, vars: &Vars<'_>) -> bool {
        let Expr::Path(p) = e else { return false };
        match p.first().and_then(|first| vars.iter().rev().find(|(n, _, _)| n == first)) {
            Some((_, _, exact)) => p.len() == 1 && *exact,
            None => self.exact_path(p),
        }
    }

    fn eval<'a>(&self, expr: &Expr, item: &'a Value, vars: &Vars<'a>) -> Value {
        match expr {
            Expr::Literal(l) => literal_value(l),
            Expr::Path(p) => lookup(p, item, vars),
            Expr::And(items) => Value::Bool(items.iter().all(|e| self.eval(e, item, vars).as_bool() == Some(true))),
            Expr::Or(items) => Value::Bool(items.iter().any(|e| self.eval(e, item, vars).as_bool() == Some(true))),
            Expr::Not(e) => Value::Bool(self.eval(e, item, vars).as_bool() != Some(true)),
            Expr::Compare { op, left, right } => {
                let (l, r) = (self.eval(left, item, vars), self.eval(right, item, vars));
                let exact = matches!(op, CmpOp::Eq | CmpOp::Ne) && (self.exact(left, vars) || self.exact(right, vars));
                Value::Bool(if exact { compare_exact(*op, &l, &r) } else { compare(*op, &l, &r) })
            }
            Expr::In { left, values } => {
                let l = self.eval(left, item, vars);
                let exact = self.exact(left, vars);
                Value::Bool(values.iter().any(|v| {
                    let v = literal_value(v);
                    if exact { compare_exact(CmpOp::Eq, &l, &v) } else { compare(CmpOp::Eq, &l, &v) }
                }))
            }
            Expr::Call { name, args } => {
                let texts: Vec<Option<String>> =
                    args.iter().map(|a| self.eval(a, item, vars).as_str().map(str::to_lowercase)).collect();
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
                let over_var = path.first().is_some_and(|f| vars.iter().any(|(n, _, _)| n == f));
                let exact = !over_var && self.exact_path(path);
                let test = |el: &Value| {
                    let mut inner: Vec<(&str, &Value, bool)> = vars.to_vec();
                    inner.push((var.as_str(), el, exact));
                    self.eval(body, item, &inner).as_bool() == Some(true)
                };
                Value::Bool(match kind {
                    LambdaKind::Any => elements.iter().any(test),
                    LambdaKind::All => elements.iter().all(test),
                })
            }
        }
    }
}

/// `eq`/`ne` as the store compares an exact column: strings as written.
fn compare_exact(op: CmpOp, l: &Value, r: &Value) -> bool {
    let equal = match (l, r) {
        (Value::String(a), Value::String(b)) => a == b,
        _ => return compare(op, l, r),
    };
    if op == CmpOp::Ne { !equal } else { equal }
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
        let matches = |text: &str, item: &Value| super::matches(&parse(text), &FIELDS, item);
        assert!(matches("targetResources/any(t: t/id eq 'B')", &item));
        assert!(!matches("targetResources/any(t: t/id eq 'c')", &item));
        assert!(matches("activityDateTime gt 2024-05-01T09:59:59.9Z and result ne 'failure'", &item));
        assert!(matches("startswith(category, 'user')", &item));
        assert!(!matches("category in ('GroupManagement')", &item));
    }

    #[test]
    fn pushed_down_equalities_evaluate_as_the_store_compares() {
        // The store compares `category` as written: so does evaluation, whether the condition
        // is pushed down (alone) or not (inside an `or`), so the answer never depends on it.
        let item = json!({ "category": "UserManagement", "result": "success", "initiatedBy": {"user": {"id": "A1"}} });
        let matches = |text: &str| super::matches(&parse(text), &FIELDS, &item);
        assert!(matches("category eq 'UserManagement'"));
        assert!(!matches("category eq 'usermanagement'"));
        assert!(!matches("category eq 'usermanagement' or result eq 'nope'"));
        assert!(matches("category ne 'usermanagement'"));
        assert!(!matches("category in ('usermanagement')"));
        assert!(matches("category in ('UserManagement')"));
        // Not an exact column: case is ignored, as before.
        assert!(matches("result eq 'SUCCESS'"));
        assert!(matches("initiatedBy/user/id eq 'a1'"));
        // A lambda over an exact column compares its elements exactly.
        const SIGN_INS: LogFields = LogFields {
            time: "createdDateTime",
            columns: &[("signInEventTypes", LogColumn::EventType), ("appId", LogColumn::AppId)],
            properties: &["createdDateTime", "signInEventTypes", "appId"],
            type_name: "microsoft.graph.signIn",
        };
        let row = json!({ "signInEventTypes": ["interactiveUser"], "appId": "abc" });
        let on_row = |text: &str| super::matches(&parse(text), &SIGN_INS, &row);
        assert!(on_row("signInEventTypes/any(t: t eq 'interactiveUser')"));
        assert!(!on_row("signInEventTypes/any(t: t eq 'interactiveuser')"));
        assert!(!on_row("appId eq 'ABC'"));
    }
}
