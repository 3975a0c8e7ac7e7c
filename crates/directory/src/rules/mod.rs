//! Entra's dynamic membership rule language ("Dynamic membership rules for groups in
//! Microsoft Entra ID"): a hand-written lexer and parser into a typed [`Expr`], checked
//! against the documented property catalogue while parsing (so a wrong property, operator or
//! value is reported with its position at create/update, as Entra rejects the group), and an
//! evaluator over a user's (or device's) stored v1.0 document and its direct memberships.
//!
//! Grammar (keywords and operators case-insensitive, the hyphen optional):
//!
//! ```text
//! rule       := or
//! or         := and ( -or and )*
//! and        := unary ( -and unary )*
//! unary      := -not unary | '(' or ')' | condition
//! condition  := property ( -any | -all ) predicate | property operator value
//! predicate  := '(' or ')' | condition        (over the collection's elements)
//! property   := ( user | device ) '.' name | _ | assignedPlan '.' name | group '.' objectId
//! value      := "..." | '...' | true | false | null | number | date-time
//!             | system.now [ ( -plus | -minus ) duration ] | '[' value ( ',' value )* ']'
//! ```
//!
//! Operator precedence is the documented one: comparisons, then `-not`, `-and`, `-or`.

mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::fmt;

pub use eval::Subject;

/// Entra's limit on the length of a membership rule ("can't exceed 3,072 characters").
pub const MAX_RULE_CHARS: usize = 3072;
/// How deeply parentheses, `-not` and lambdas may nest: far beyond any real rule, low enough
/// that the recursive-descent parser and evaluator cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;
/// The most groups one `memberOf` rule may reference (Entra's documented limit).
pub const MAX_MEMBER_OF_GROUPS: usize = 50;

/// A parsed, checked membership rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub expr: Expr,
    /// What the rule selects: users or devices (a rule never mixes them).
    pub subject: SubjectKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    User,
    Device,
}

impl SubjectKind {
    /// The object type whose documents the rule is evaluated against.
    pub fn object_type(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::Device => "device",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        prop: Prop,
        op: CmpOp,
        value: Operand,
    },
    /// `property -any (predicate)` / `-all`: the predicate's properties are the elements'.
    Lambda {
        prop: Prop,
        all: bool,
        pred: Box<Expr>,
    },
}

/// A property reference: of the subject (`user.department`) or of a collection element
/// inside a lambda (`_`, `assignedPlan.servicePlanId`, `group.objectId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    pub object: Object,
    /// The canonical spelling (the catalogue's); empty for `_`.
    pub name: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    User,
    Device,
    /// `_`: an element of a string collection.
    Element,
    /// `assignedPlan.<property>` inside `user.assignedPlans -any (...)`.
    AssignedPlan,
    /// `group.objectId` inside `user.memberOf -any (...)`.
    Group,
}

/// What a property holds, which decides the operators and values it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Bool,
    DateTime,
    /// A collection of strings: string operators match when some element does (the negated
    /// ones when none does), and `-any`/`-all` take `_` predicates.
    StringCollection,
    /// `assignedPlans`: only `-any`/`-all` with `assignedPlan.*` predicates.
    Plans,
    /// `memberOf`: only `-any`/`-all` with `group.objectId` predicates.
    MemberOf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Contains,
    NotContains,
    Match,
    NotMatch,
    In,
    NotIn,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) const ALL: [CmpOp; 16] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::StartsWith,
        CmpOp::NotStartsWith,
        CmpOp::EndsWith,
        CmpOp::NotEndsWith,
        CmpOp::Contains,
        CmpOp::NotContains,
        CmpOp::Match,
        CmpOp::NotMatch,
        CmpOp::In,
        CmpOp::NotIn,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];

    /// The documented spelling, without the hyphen.
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::StartsWith => "startsWith",
            CmpOp::NotStartsWith => "notStartsWith",
            CmpOp::EndsWith => "endsWith",
            CmpOp::NotEndsWith => "notEndsWith",
            CmpOp::Contains => "contains",
            CmpOp::NotContains => "notContains",
            CmpOp::Match => "match",
            CmpOp::NotMatch => "notMatch",
            CmpOp::In => "in",
            CmpOp::NotIn => "notIn",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<CmpOp> {
        CmpOp::ALL.into_iter().find(|op| op.name().eq_ignore_ascii_case(name))
    }

    /// The negated operators hold when their positive counterpart does not.
    pub(crate) fn positive(self) -> (CmpOp, bool) {
        match self {
            CmpOp::Ne => (CmpOp::Eq, true),
            CmpOp::NotStartsWith => (CmpOp::StartsWith, true),
            CmpOp::NotEndsWith => (CmpOp::EndsWith, true),
            CmpOp::NotContains => (CmpOp::Contains, true),
            CmpOp::NotMatch => (CmpOp::Match, true),
            CmpOp::NotIn => (CmpOp::In, true),
            other => (other, false),
        }
    }
}

/// The right-hand side of a comparison, already checked against the property's kind.
#[derive(Debug, Clone)]
pub enum Operand {
    Null,
    Bool(bool),
    Str(String),
    List(Vec<String>),
    /// `-match`/`-notMatch`: compiled once at parse time, case-insensitively.
    Regex(regex::Regex),
    /// A date-time, normalised to UTC `YYYY-MM-DDTHH:MM:SSZ` as the store keeps them.
    DateTime(String),
    /// `system.now`, shifted by `-plus`/`-minus` an ISO 8601 duration (kept as written,
    /// upper-cased, for printing; `seconds` is its signed length).
    Now {
        shift: Option<String>,
        seconds: i64,
    },
}

impl PartialEq for Operand {
    fn eq(&self, other: &Operand) -> bool {
        match (self, other) {
            (Operand::Null, Operand::Null) => true,
            (Operand::Bool(a), Operand::Bool(b)) => a == b,
            (Operand::Str(a), Operand::Str(b)) => a == b,
            (Operand::List(a), Operand::List(b)) => a == b,
            (Operand::Regex(a), Operand::Regex(b)) => a.as_str() == b.as_str(),
            (Operand::DateTime(a), Operand::DateTime(b)) => a == b,
            (Operand::Now { shift: a, seconds: x }, Operand::Now { shift: b, seconds: y }) => a == b && x == y,
            _ => false,
        }
    }
}

/// A rule that does not parse or check: what is wrong, and at which character (from 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub pos: usize,
    pub message: String,
}

impl RuleError {
    pub(crate) fn new(pos: usize, message: impl Into<String>) -> RuleError {
        RuleError { pos, message: message.into() }
    }
}

impl fmt::Display for RuleError {
    /// Entra's portal and Graph prefix rule problems with "Dynamic membership rule validation
    /// error:"; the position is Cerulean's addition, so a client can point at the mistake.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dynamic membership rule validation error: {} at position {}.", self.message, self.pos)
    }
}

impl Rule {
    /// Parses and checks a membership rule.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        if text.chars().count() > MAX_RULE_CHARS {
            return Err(RuleError::new(
                MAX_RULE_CHARS,
                format!("The rule is longer than the maximum of {MAX_RULE_CHARS} characters"),
            ));
        }
        let rule = parser::parse(text)?;
        rule.check_member_of()?;
        Ok(rule)
    }

    /// The group ids (lower case, each once) a `memberOf` rule compares against; empty for
    /// other rules.
    pub fn member_of_groups(&self) -> Vec<String> {
        if !self.uses_member_of() {
            return Vec::new();
        }
        fn groups(e: &Expr, out: &mut Vec<String>) {
            match e {
                Expr::Or(a, b) | Expr::And(a, b) => {
                    groups(a, out);
                    groups(b, out);
                }
                Expr::Not(a) | Expr::Lambda { pred: a, .. } => groups(a, out),
                Expr::Compare { value: Operand::Str(v), .. } => out.push(v.to_ascii_lowercase()),
                Expr::Compare { value: Operand::List(vs), .. } => out.extend(vs.iter().map(|v| v.to_ascii_lowercase())),
                Expr::Compare { .. } => {}
            }
        }
        let mut ids = Vec::new();
        groups(&self.expr, &mut ids);
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Entra's limits on `memberOf` rules ("dynamic membership groups with memberOf"): the
    /// `user.memberOf -any (...)` condition stands alone, never combined with other conditions
    /// or operators, and references at most [`MAX_MEMBER_OF_GROUPS`] groups.
    fn check_member_of(&self) -> Result<(), RuleError> {
        if !self.uses_member_of() {
            return Ok(());
        }
        let Expr::Lambda { prop, .. } = &self.expr else {
            return Err(RuleError::new(0, "A memberOf rule cannot be combined with other rules or operators"));
        };
        if prop.kind != Kind::MemberOf {
            return Err(RuleError::new(0, "A memberOf rule cannot be combined with other rules or operators"));
        }
        let ids = self.member_of_groups();
        if ids.len() > MAX_MEMBER_OF_GROUPS {
            return Err(RuleError::new(
                0,
                format!(
                    "A memberOf rule can reference at most {MAX_MEMBER_OF_GROUPS} groups; this one references {}",
                    ids.len()
                ),
            ));
        }
        Ok(())
    }

    /// Whether the rule reads the subject's group memberships (`memberOf`), so that it must be
    /// re-evaluated when those change.
    pub fn uses_member_of(&self) -> bool {
        fn walk(e: &Expr) -> bool {
            match e {
                Expr::Or(a, b) | Expr::And(a, b) => walk(a) || walk(b),
                Expr::Not(a) => walk(a),
                Expr::Compare { prop, .. } => prop.kind == Kind::MemberOf,
                Expr::Lambda { prop, pred, .. } => prop.kind == Kind::MemberOf || walk(pred),
            }
        }
        walk(&self.expr)
    }

    /// Whether `subject` satisfies the rule.
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        subject.kind == self.subject && eval::eval(&self.expr, subject, None)
    }
}

impl fmt::Display for Rule {
    /// The canonical form: every property as catalogued, every operator hyphenated, every
    /// string double-quoted, every operand of `-and`/`-or`/`-not` parenthesised. Parsing it
    /// gives back the same rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(a, b) => write!(f, "({a}) -or ({b})"),
            Expr::And(a, b) => write!(f, "({a}) -and ({b})"),
            Expr::Not(a) => write!(f, "-not ({a})"),
            Expr::Compare { prop, op, value } => write!(f, "{prop} -{} {value}", op.name()),
            Expr::Lambda { prop, all, pred } => write!(f, "{prop} -{} ({pred})", if *all { "all" } else { "any" }),
        }
    }
}

impl fmt::Display for Prop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.object {
            Object::User => write!(f, "user.{}", self.name),
            Object::Device => write!(f, "device.{}", self.name),
            Object::Element => write!(f, "_"),
            Object::AssignedPlan => write!(f, "assignedPlan.{}", self.name),
            Object::Group => write!(f, "group.{}", self.name),
        }
    }
}

/// A double-quoted string, a backtick escaping quotes and backticks.
fn quote(s: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        if c == '"' || c == '`' {
            f.write_str("`")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Null => f.write_str("null"),
            Operand::Bool(b) => write!(f, "{b}"),
            Operand::Str(s) | Operand::DateTime(s) => quote(s, f),
            Operand::Regex(r) => quote(r.as_str(), f),
            Operand::List(items) => {
                f.write_str("[")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    quote(s, f)?;
                }
                f.write_str("]")
            }
            Operand::Now { shift: None, .. } => f.write_str("system.now"),
            Operand::Now { shift: Some(d), seconds } => {
                write!(f, "system.now -{} {d}", if *seconds < 0 { "minus" } else { "plus" })
            }
        }
    }
}
