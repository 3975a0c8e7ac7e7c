//! Evaluates a rule against one object: its stored v1.0 document, its id and its direct group
//! memberships. String comparisons ignore case, as Entra's do ("Regex and string operations
//! aren't case sensitive"); a missing or null property satisfies `-eq null` and every negated
//! operator, and nothing else.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::parser::{Source, lookup};
use super::{CmpOp, Expr, Kind, Object, Operand, Prop, SubjectKind};

/// The object a rule is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub kind: SubjectKind,
    pub id: Uuid,
    pub doc: &'a Map<String, Value>,
    /// Ids of the groups the object is a direct member of (for `memberOf` rules).
    pub member_of: &'a [Uuid],
}

/// A property's value, as the comparison sees it.
enum Got {
    Missing,
    Str(String),
    Bool(bool),
    Many(Vec<String>),
}

fn scalar(v: Option<&Value>) -> Got {
    match v {
        None | Some(Value::Null) => Got::Missing,
        Some(Value::String(s)) => Got::Str(s.clone()),
        Some(Value::Bool(b)) => Got::Bool(*b),
        Some(Value::Number(n)) => Got::Str(n.to_string()),
        Some(Value::Array(items)) => Got::Many(items.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        Some(Value::Object(_)) => Got::Missing,
    }
}

fn subject_value(prop: &Prop, subject: &Subject<'_>) -> Got {
    let Some((_, _, source)) = lookup(subject.kind, &prop.name) else { return Got::Missing };
    let doc = subject.doc;
    match source {
        Source::Key(k) => scalar(doc.get(k)),
        Source::Nested(a, b) => scalar(doc.get(a).and_then(|o| o.get(b))),
        Source::Id => Got::Str(subject.id.to_string()),
        Source::FirstOf(k) => scalar(doc.get(k).and_then(Value::as_array).and_then(|a| a.first())),
        Source::Sip => doc
            .get("proxyAddresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(|a| a.get(..4).filter(|p| p.eq_ignore_ascii_case("sip:")).map(|_| Got::Str(a[4..].to_string())))
            .unwrap_or(Got::Missing),
        Source::MemberOf => Got::Many(subject.member_of.iter().map(Uuid::to_string).collect()),
        Source::Custom => scalar(doc.get(&prop.name)),
    }
}

fn element_value(prop: &Prop, element: Option<&Value>) -> Got {
    match prop.object {
        Object::AssignedPlan => scalar(element.and_then(|e| e.get(&prop.name))),
        _ => scalar(element),
    }
}

pub(crate) fn eval(expr: &Expr, subject: &Subject<'_>, element: Option<&Value>) -> bool {
    match expr {
        Expr::Or(a, b) => eval(a, subject, element) || eval(b, subject, element),
        Expr::And(a, b) => eval(a, subject, element) && eval(b, subject, element),
        Expr::Not(a) => !eval(a, subject, element),
        Expr::Compare { prop, op, value } => {
            let got = match prop.object {
                Object::User | Object::Device => subject_value(prop, subject),
                _ => element_value(prop, element),
            };
            let (positive, negated) = op.positive();
            compare(&got, positive, value) != negated
        }
        Expr::Lambda { prop, all, pred } => {
            let elements: Vec<Value> = match prop.kind {
                Kind::MemberOf => subject.member_of.iter().map(|id| Value::String(id.to_string())).collect(),
                _ => {
                    let Some((_, _, Source::Key(k))) = lookup(subject.kind, &prop.name) else { return false };
                    subject.doc.get(k).and_then(Value::as_array).cloned().unwrap_or_default()
                }
            };
            if *all {
                elements.iter().all(|e| eval(pred, subject, Some(e)))
            } else {
                elements.iter().any(|e| eval(pred, subject, Some(e)))
            }
        }
    }
}

/// `got <op> value` for a positive operator.
fn compare(got: &Got, op: CmpOp, value: &Operand) -> bool {
    match (got, value) {
        (Got::Missing, Operand::Null) => op == CmpOp::Eq,
        (Got::Str(s), Operand::Null) => op == CmpOp::Eq && s.is_empty(),
        (Got::Bool(_), Operand::Null) => false,
        (Got::Many(items), Operand::Null) => op == CmpOp::Eq && items.is_empty(),
        (Got::Missing, _) => false,
        (Got::Bool(b), Operand::Bool(v)) => op == CmpOp::Eq && b == v,
        (Got::Str(s), Operand::Bool(v)) => op == CmpOp::Eq && s.eq_ignore_ascii_case(if *v { "true" } else { "false" }),
        (Got::Str(s), _) => compare_str(s, op, value),
        // A string collection matches when some element does.
        (Got::Many(items), _) => items.iter().any(|s| compare_str(s, op, value)),
        (Got::Bool(_), _) => false,
    }
}

fn compare_str(s: &str, op: CmpOp, value: &Operand) -> bool {
    let lower = s.to_lowercase();
    match (op, value) {
        (CmpOp::Eq, Operand::Str(v)) => lower == v.to_lowercase(),
        (CmpOp::StartsWith, Operand::Str(v)) => lower.starts_with(&v.to_lowercase()),
        (CmpOp::EndsWith, Operand::Str(v)) => lower.ends_with(&v.to_lowercase()),
        (CmpOp::Contains, Operand::Str(v)) => lower.contains(&v.to_lowercase()),
        (CmpOp::Match, Operand::Regex(re)) => re.is_match(s),
        (CmpOp::In, Operand::List(items)) => items.iter().any(|v| v.to_lowercase() == lower),
        (op, Operand::DateTime(v)) => compare_time(s, op, v),
        (op, Operand::Now { seconds, .. }) => {
            let at = cerulean_store::clock::now() + time::Duration::seconds(*seconds);
            compare_time(s, op, &crate::validate::format_datetime(at))
        }
        _ => false,
    }
}

/// Date-times are stored normalised (`YYYY-MM-DDTHH:MM:SSZ`), so they order as text; a stored
/// value in another form is normalised first.
fn compare_time(s: &str, op: CmpOp, v: &str) -> bool {
    let Some(s) = crate::validate::normalise_datetime(s) else { return false };
    let ord = s.as_str().cmp(v);
    match op {
        CmpOp::Eq => ord.is_eq(),
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Le => ord.is_le(),
        CmpOp::Gt => ord.is_gt(),
        CmpOp::Ge => ord.is_ge(),
        _ => false,
    }
}
