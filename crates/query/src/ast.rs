//! The untyped `$filter` syntax tree, and its canonical text.
//!
//! The tree knows nothing of the schema: [`crate::compile`] resolves names and types. Its
//! `Display` prints canonical OData (lower-case keywords, minimal parentheses) such that parsing
//! the printed text gives back an equal tree; the property tests hold it to that.

use std::fmt;

use uuid::Uuid;

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    /// A number with a fraction or an exponent. Always finite.
    Decimal(f64),
    /// A single-quoted string, unescaped.
    String(String),
    /// A bare GUID (`8a7f...-...`).
    Guid(Uuid),
    /// A bare `Edm.DateTimeOffset` literal, as written (validated by the lexer; normalised to
    /// UTC by the compile step).
    DateTimeOffset(String),
    /// A bare `Edm.Date` literal (`2024-01-02`), as written.
    Date(String),
    /// An OData enum literal `Namespace.EnumType'member'` (`microsoft.graph.riskLevel'high'`,
    /// as Graph's riskyUser examples write it): the qualified type name as written, and the
    /// member, unescaped.
    Enum {
        ty: String,
        member: String,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn keyword(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
        }
    }

    pub fn from_keyword(word: &str) -> Option<CmpOp> {
        const ALL: [CmpOp; 6] = [CmpOp::Eq, CmpOp::Ne, CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le];
        ALL.into_iter().find(|op| op.keyword().eq_ignore_ascii_case(word))
    }

    /// The operator with its operands swapped (`5 lt x` is `x gt 5`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            other => other,
        }
    }
}

/// `any` or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaKind {
    Any,
    All,
}

impl LambdaKind {
    pub fn keyword(self) -> &'static str {
        match self {
            LambdaKind::Any => "any",
            LambdaKind::All => "all",
        }
    }
}

/// A `$filter` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// A property path: `displayName`, `passwordProfile/password`, `x/skuId` (a lambda
    /// variable first). Never empty.
    Path(Vec<String>),
    /// Two or more operands of `or`. A nested `Or` only arises from parentheses.
    Or(Vec<Expr>),
    /// Two or more operands of `and`.
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// `left op right`. Comparisons do not chain: `a eq b eq c` is a syntax error.
    Compare {
        op: CmpOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `left in (v1, v2, ...)`, at least one value.
    In {
        left: Box<Expr>,
        values: Vec<Literal>,
    },
    /// A function call; the name is stored lower-case (`startswith`).
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `path/any(var: body)`, `path/all(var: body)`, or `path/any()` (no variable or body).
    Lambda {
        path: Vec<String>,
        kind: LambdaKind,
        body: Option<(String, Box<Expr>)>,
    },
}

/// Binding strength, loosest first; `Display` parenthesises by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Compare,
    Not,
    Primary,
}

impl Expr {
    fn prec(&self) -> Prec {
        match self {
            Expr::Or(_) => Prec::Or,
            Expr::And(_) => Prec::And,
            Expr::Compare { .. } | Expr::In { .. } => Prec::Compare,
            Expr::Not(_) => Prec::Not,
            Expr::Literal(_) | Expr::Path(_) | Expr::Call { .. } | Expr::Lambda { .. } => Prec::Primary,
        }
    }

    /// Writes `self`, in parentheses unless it binds more tightly than `than`.
    fn write_tighter(&self, f: &mut fmt::Formatter<'_>, than: Prec) -> fmt::Result {
        if self.prec() > than { write!(f, "{self}") } else { write!(f, "({self})") }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Decimal(d) => {
                // Rust prints the shortest text that reads back to the same f64, but prints
                // `1` for 1.0; keep a fraction so it reads back as a decimal, not an integer.
                let text = d.to_string();
                if text.contains(['.', 'e', 'E']) { f.write_str(&text) } else { write!(f, "{text}.0") }
            }
            Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Guid(g) => write!(f, "{}", g.hyphenated()),
            Literal::DateTimeOffset(s) | Literal::Date(s) => f.write_str(s),
            Literal::Enum { ty, member } => write!(f, "{ty}'{}'", member.replace('\'', "''")),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(l) => write!(f, "{l}"),
            Expr::Path(p) => f.write_str(&p.join("/")),
            Expr::Or(items) | Expr::And(items) => {
                let (word, prec) = if matches!(self, Expr::Or(_)) { (" or ", Prec::Or) } else { (" and ", Prec::And) };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    item.write_tighter(f, prec)?;
                }
                Ok(())
            }
            Expr::Not(e) => {
                f.write_str("not ")?;
                // `not` applies to a unary operand: anything looser needs parentheses.
                if e.prec() >= Prec::Not { write!(f, "{e}") } else { write!(f, "({e})") }
            }
            Expr::Compare { op, left, right } => {
                left.write_tighter(f, Prec::Compare)?;
                write!(f, " {} ", op.keyword())?;
                right.write_tighter(f, Prec::Compare)
            }
            Expr::In { left, values } => {
                left.write_tighter(f, Prec::Compare)?;
                f.write_str(" in (")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Expr::Call { name, args } => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Lambda { path, kind, body } => {
                write!(f, "{}/{}(", path.join("/"), kind.keyword())?;
                if let Some((var, body)) = body {
                    write!(f, "{var}: {body}")?;
                }
                f.write_str(")")
            }
        }
    }
}
