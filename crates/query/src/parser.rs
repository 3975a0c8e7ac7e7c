//! Recursive-descent `$filter` parser with OData precedence: `not` binds tightest, then the
//! comparisons (`eq ne gt ge lt le in`, which do not chain), then `and`, then `or`.
//!
//! Hostile input is bounded twice: the text may be at most [`MAX_FILTER_LEN`] bytes, and
//! nesting (parentheses, `not`, lambdas, call arguments) at most [`MAX_DEPTH`] levels, so
//! neither the parser nor the later tree walks can exhaust the stack.

use crate::ast::{CmpOp, Expr, LambdaKind};
use crate::error::{QueryError, excerpt};
use crate::lexer::{Tok, Token, tokenize};

/// Longest `$filter` text accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;
/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 100;

/// Words that cannot start an operand.
const RESERVED: &[&str] = &["and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in"];

/// A syntax error: what was expected and at which character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: usize,
    pub message: String,
}

/// Parses `$filter` text into an untyped tree.
///
/// Errors are Graph's `BadRequest` with the OData library's wording
/// (`Invalid filter clause: Syntax error: ... at position N in '...'.`).
pub fn parse_filter(text: &str) -> Result<Expr, QueryError> {
    if text.len() > MAX_FILTER_LEN {
        return Err(QueryError::bad_request(format!(
            "Invalid filter clause: The filter is longer than the {MAX_FILTER_LEN} characters allowed."
        )));
    }
    parse_syntax(text).map_err(|e| {
        QueryError::bad_request(format!(
            "Invalid filter clause: Syntax error: {} at position {} in '{}'.",
            e.message,
            e.pos,
            excerpt(text)
        ))
    })
}

/// [`parse_filter`] without the Graph error shaping (and without the length bound).
pub fn parse_syntax(text: &str) -> Result<Expr, SyntaxError> {
    let toks = tokenize(text).map_err(|e| SyntaxError { pos: e.pos, message: e.message })?;
    let mut p = Parser { toks, i: 0, depth: 0, end: text.chars().count() };
    let expr = p.or()?;
    if let Some(t) = p.peek() {
        return Err(SyntaxError { pos: t.pos, message: format!("unexpected {}", describe(&t.tok)) });
    }
    Ok(expr)
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    /// Character length of the text: the position reported for "unexpected end".
    end: usize,
}

type PResult<T> = Result<T, SyntaxError>;

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(w) => format!("'{w}'"),
        Tok::Lit(l) => format!("literal {l}"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Slash => "'/'".into(),
        Tok::Colon => "':'".into(),
    }
}

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn error<T>(&self, expected: &str) -> PResult<T> {
        let message = match self.peek() {
            Some(t) => format!("expected {expected} but found {}", describe(&t.tok)),
            None => format!("expected {expected} but the text ended"),
        };
        Err(SyntaxError { pos: self.pos(), message })
    }

    /// Consumes the keyword `word` (any case) if it is next.
    fn eat_keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek_tok(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek_tok() == Some(tok) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> PResult<()> {
        if self.eat(tok) { Ok(()) } else { self.error(what) }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError {
                pos: self.pos(),
                message: format!("the expression is nested more than {MAX_DEPTH} levels deep"),
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn or(&mut self) -> PResult<Expr> {
        self.enter()?;
        let mut items = vec![self.and()?];
        while self.eat_keyword("or") {
            items.push(self.and()?);
        }
        self.leave();
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut items = vec![self.comparison()?];
        while self.eat_keyword("and") {
            items.push(self.comparison()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let left = self.unary()?;
        let op = match self.peek_tok() {
            Some(Tok::Ident(w)) => CmpOp::from_keyword(w),
            _ => None,
        };
        if let Some(op) = op {
            self.i += 1;
            let right = self.unary()?;
            return Ok(Expr::Compare { op, left: Box::new(left), right: Box::new(right) });
        }
        if self.eat_keyword("in") {
            self.expect(&Tok::LParen, "'(' after 'in'")?;
            let mut values = Vec::new();
            loop {
                match self.peek_tok() {
                    Some(Tok::Lit(l)) => {
                        values.push(l.clone());
                        self.i += 1;
                    }
                    _ => return self.error("a literal in the 'in' list"),
                }
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen, "',' or ')' in the 'in' list")?;
            return Ok(Expr::In { left: Box::new(left), values });
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.eat_keyword("not") {
            self.enter()?;
            let operand = self.unary()?;
            self.leave();
            return Ok(Expr::Not(Box::new(operand)));
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        let Some(tok) = self.peek_tok().cloned() else {
            return self.error("an expression");
        };
        match tok {
            Tok::LParen => {
                self.i += 1;
                let e = self.or()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::Lit(l) => {
                self.i += 1;
                Ok(Expr::Literal(l))
            }
            Tok::Ident(name) if !is_reserved(&name) => {
                self.i += 1;
                if self.eat(&Tok::LParen) {
                    return self.call(name);
                }
                self.path(name)
            }
            _ => self.error("an expression"),
        }
    }

    /// Arguments of `name(`, the parenthesis already consumed.
    fn call(&mut self, name: String) -> PResult<Expr> {
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.or()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen, "',' or ')' after a function argument")?;
        }
        Ok(Expr::Call { name: name.to_ascii_lowercase(), args })
    }

    /// The rest of a path whose first segment is `first`; ends in a lambda if a segment is
    /// `any(` or `all(`.
    fn path(&mut self, first: String) -> PResult<Expr> {
        let mut segments = vec![first];
        while self.eat(&Tok::Slash) {
            let Some(Tok::Ident(seg)) = self.peek_tok().cloned() else {
                return self.error("a property name after '/'");
            };
            self.i += 1;
            let kind = if seg.eq_ignore_ascii_case("any") {
                Some(LambdaKind::Any)
            } else if seg.eq_ignore_ascii_case("all") {
                Some(LambdaKind::All)
            } else {
                None
            };
            if let Some(kind) = kind
                && self.eat(&Tok::LParen)
            {
                return self.lambda(segments, kind);
            }
            segments.push(seg);
        }
        Ok(Expr::Path(segments))
    }

    /// The inside of `path/any(` or `path/all(`, the parenthesis already consumed.
    fn lambda(&mut self, path: Vec<String>, kind: LambdaKind) -> PResult<Expr> {
        if kind == LambdaKind::Any && self.eat(&Tok::RParen) {
            return Ok(Expr::Lambda { path, kind, body: None });
        }
        let var = match self.peek_tok() {
            Some(Tok::Ident(v)) if !is_reserved(v) => v.clone(),
            _ => return self.error("a range variable (as in 'x: ...')"),
        };
        self.i += 1;
        self.expect(&Tok::Colon, "':' after the range variable")?;
        let body = self.or()?;
        self.expect(&Tok::RParen, "')' closing the lambda")?;
        Ok(Expr::Lambda { path, kind, body: Some((var, Box::new(body))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Literal;
    use uuid::Uuid;

    fn p(text: &str) -> Expr {
        match parse_filter(text) {
            Ok(e) => e,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    fn path(s: &str) -> Expr {
        Expr::Path(s.split('/').map(String::from).collect())
    }

    fn lit(l: Literal) -> Expr {
        Expr::Literal(l)
    }

    fn cmp(op: CmpOp, l: Expr, r: Expr) -> Expr {
        Expr::Compare { op, left: Box::new(l), right: Box::new(r) }
    }

    fn s(v: &str) -> Expr {
        lit(Literal::String(v.into()))
    }

    #[test]
    fn every_comparison_operator() {
        for (word, op) in [
            ("eq", CmpOp::Eq),
            ("ne", CmpOp::Ne),
            ("gt", CmpOp::Gt),
            ("ge", CmpOp::Ge),
            ("lt", CmpOp::Lt),
            ("le", CmpOp::Le),
            ("EQ", CmpOp::Eq),
        ] {
            assert_eq!(p(&format!("a {word} 1")), cmp(op, path("a"), lit(Literal::Int(1))));
        }
        assert_eq!(
            p("a in ('x', 'y')"),
            Expr::In {
                left: Box::new(path("a")),
                values: vec![Literal::String("x".into()), Literal::String("y".into())]
            }
        );
    }

    #[test]
    fn every_literal() {
        let g = "184efa21-98c3-4e5d-95ab-d07053a96e67";
        let cases = [
            ("null", Literal::Null),
            ("true", Literal::Bool(true)),
            ("false", Literal::Bool(false)),
            ("42", Literal::Int(42)),
            ("-7", Literal::Int(-7)),
            ("3.25", Literal::Decimal(3.25)),
            ("'O''Brien'", Literal::String("O'Brien".into())),
            (g, Literal::Guid(Uuid::parse_str(g).unwrap_or_default())),
            ("2024-01-01T00:00:00Z", Literal::DateTimeOffset("2024-01-01T00:00:00Z".into())),
            ("2024-01-01T00:00:00.1234567-05:30", Literal::DateTimeOffset("2024-01-01T00:00:00.1234567-05:30".into())),
            ("2024-01-01", Literal::Date("2024-01-01".into())),
        ];
        for (text, l) in cases {
            assert_eq!(p(&format!("a eq {text}")), cmp(CmpOp::Eq, path("a"), lit(l)), "{text}");
        }
    }

    #[test]
    fn precedence_not_then_comparison_then_and_then_or() {
        // a or b and c  ==  a or (b and c)
        assert_eq!(
            p("a eq 1 or b eq 2 and c eq 3"),
            Expr::Or(vec![
                cmp(CmpOp::Eq, path("a"), lit(Literal::Int(1))),
                Expr::And(vec![
                    cmp(CmpOp::Eq, path("b"), lit(Literal::Int(2))),
                    cmp(CmpOp::Eq, path("c"), lit(Literal::Int(3))),
                ]),
            ])
        );
        // not binds tighter than eq, as OData specifies.
        assert_eq!(p("not a eq true"), cmp(CmpOp::Eq, Expr::Not(Box::new(path("a"))), lit(Literal::Bool(true))));
        assert_eq!(p("NOT (a eq 1)"), Expr::Not(Box::new(cmp(CmpOp::Eq, path("a"), lit(Literal::Int(1))))));
        // Parentheses group.
        assert_eq!(
            p("(a eq 1 or b eq 2) and c eq 3"),
            Expr::And(vec![
                Expr::Or(vec![
                    cmp(CmpOp::Eq, path("a"), lit(Literal::Int(1))),
                    cmp(CmpOp::Eq, path("b"), lit(Literal::Int(2)))
                ]),
                cmp(CmpOp::Eq, path("c"), lit(Literal::Int(3))),
            ])
        );
    }

    #[test]
    fn functions_paths_and_lambdas() {
        assert_eq!(
            p("startsWith(displayName,'Ad')"),
            Expr::Call { name: "startswith".into(), args: vec![path("displayName"), s("Ad")] }
        );
        assert_eq!(p("passwordProfile/password eq 'x'"), cmp(CmpOp::Eq, path("passwordProfile/password"), s("x")));
        assert_eq!(
            p("assignedLicenses/any(x:x/skuId eq 184efa21-98c3-4e5d-95ab-d07053a96e67)"),
            Expr::Lambda {
                path: vec!["assignedLicenses".into()],
                kind: LambdaKind::Any,
                body: Some((
                    "x".into(),
                    Box::new(cmp(
                        CmpOp::Eq,
                        path("x/skuId"),
                        lit(Literal::Guid(Uuid::parse_str("184efa21-98c3-4e5d-95ab-d07053a96e67").unwrap_or_default()))
                    ))
                ))
            }
        );
        assert_eq!(
            p("proxyAddresses/any()"),
            Expr::Lambda { path: vec!["proxyAddresses".into()], kind: LambdaKind::Any, body: None }
        );
        assert_eq!(
            p("proxyAddresses/any (p:endsWith(p, 'contoso.com'))"),
            Expr::Lambda {
                path: vec!["proxyAddresses".into()],
                kind: LambdaKind::Any,
                body: Some((
                    "p".into(),
                    Box::new(Expr::Call { name: "endswith".into(), args: vec![path("p"), s("contoso.com")] })
                ))
            }
        );
        assert_eq!(
            p("groupTypes/all(g: g eq 'Unified')"),
            Expr::Lambda {
                path: vec!["groupTypes".into()],
                kind: LambdaKind::All,
                body: Some(("g".into(), Box::new(cmp(CmpOp::Eq, path("g"), s("Unified")))))
            }
        );
    }

    fn err(text: &str) -> QueryError {
        match parse_filter(text) {
            Ok(e) => panic!("{text} parsed as {e:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let e = err("displayName eq");
        assert_eq!(e.status, 400);
        assert_eq!(e.code, "BadRequest");
        assert_eq!(
            e.message,
            "Invalid filter clause: Syntax error: expected an expression but the text ended at position 14 in 'displayName eq'."
        );
        assert!(err("startswith(displayName,%27Ka%27)").message.contains("character '%' is not valid at position 23"));
        assert!(err("a eq 1 eq 2").message.contains("unexpected 'eq' at position 7"));
        assert!(err("(a eq 1").message.contains("expected ')'"));
        assert!(err("a in ()").message.contains("a literal in the 'in' list"));
        assert!(err("a/all()").message.contains("range variable"));
        assert!(err("a eq 1 and").message.contains("expected an expression"));
        assert!(err("").message.contains("position 0"));
        assert!(err("and eq 1").message.contains("found 'and'"));
    }

    #[test]
    fn hostile_input_is_bounded() {
        let deep = format!("{}a eq 1{}", "(".repeat(3000), ")".repeat(3000));
        assert!(err(&deep).message.contains("nested more than 100"));
        let nots = format!("{}a", "not ".repeat(150));
        assert!(err(&nots).message.contains("nested more than 100"));
        let long = format!("a eq '{}'", "x".repeat(MAX_FILTER_LEN));
        assert!(err(&long).message.contains("longer than"));
        // Just inside the bounds parses.
        let ok = format!("{}a eq 1{}", "(".repeat(90), ")".repeat(90));
        assert!(parse_filter(&ok).is_ok());
    }
}
