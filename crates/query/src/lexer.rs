//! Splits `$filter` text into tokens, each with its character position for error messages.
//!
//! Bare GUIDs and date-times are recognised here, before numbers and identifiers, because
//! both can start like either (`2024-01-02T...`, `abcdef01-...`).

use uuid::Uuid;

use crate::ast::Literal;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An identifier or keyword (`displayName`, `and`, `startswith`, `$count`); keywords are
    /// told apart by the parser, case-insensitively as Graph accepts `NOT`/`OR`.
    Ident(String),
    Lit(Literal),
    LParen,
    RParen,
    Comma,
    Slash,
    Colon,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Character (not byte) offset of the token's first character, from 0.
    pub pos: usize,
}

/// A lexing failure: what went wrong and where (character offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub pos: usize,
    pub message: String,
}

pub fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            ' ' | '\t' | '\r' | '\n' => {
                i += 1;
                continue;
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '/' => {
                i += 1;
                Tok::Slash
            }
            ':' => {
                i += 1;
                Tok::Colon
            }
            '\'' => {
                let (s, next) = string(&chars, i)?;
                i = next;
                Tok::Lit(Literal::String(s))
            }
            _ => {
                if let Some((lit, next)) = guid(&chars, i) {
                    i = next;
                    Tok::Lit(lit)
                } else if let Some(found) = date_time(&chars, i) {
                    let (lit, next) = found?;
                    i = next;
                    Tok::Lit(lit)
                } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
                    let (lit, next) = number(&chars, i)?;
                    i = next;
                    Tok::Lit(lit)
                } else if let Some((lit, next)) = enum_literal(&chars, i)? {
                    i = next;
                    Tok::Lit(lit)
                } else if is_ident_start(c) {
                    let mut j = i + 1;
                    while j < chars.len() && is_ident_char(chars[j]) {
                        j += 1;
                    }
                    let word: String = chars[i..j].iter().collect();
                    i = j;
                    if word.eq_ignore_ascii_case("null") {
                        Tok::Lit(Literal::Null)
                    } else if word.eq_ignore_ascii_case("true") {
                        Tok::Lit(Literal::Bool(true))
                    } else if word.eq_ignore_ascii_case("false") {
                        Tok::Lit(Literal::Bool(false))
                    } else {
                        Tok::Ident(word)
                    }
                } else {
                    return Err(LexError { pos: i, message: format!("character '{c}' is not valid") });
                }
            }
        };
        out.push(Token { tok, pos: start });
    }
    Ok(out)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// An enum literal at `i`: a qualified name (at least one `.`) directly followed by a quoted
/// member, `microsoft.graph.riskLevel'medium'` (OData ABNF `enumLiteral`). `None` when the text
/// at `i` is not one, so a plain identifier lexes as before.
fn enum_literal(chars: &[char], i: usize) -> Result<Option<(Literal, usize)>, LexError> {
    if !chars.get(i).copied().is_some_and(is_ident_start) {
        return Ok(None);
    }
    let mut j = i;
    let mut dotted = false;
    loop {
        if !chars.get(j).copied().is_some_and(is_ident_start) {
            return Ok(None);
        }
        j += 1;
        while j < chars.len() && is_ident_char(chars[j]) {
            j += 1;
        }
        match chars.get(j) {
            Some('.') => {
                dotted = true;
                j += 1;
            }
            Some('\'') if dotted => break,
            _ => return Ok(None),
        }
    }
    let ty: String = chars[i..j].iter().collect();
    let (member, next) = string(chars, j)?;
    Ok(Some((Literal::Enum { ty, member }, next)))
}

/// A single-quoted string from `chars[i] == '\''`; `''` is a quote. Returns the text and the
/// index after the closing quote.
fn string(chars: &[char], i: usize) -> Result<(String, usize), LexError> {
    let mut s = String::new();
    let mut j = i + 1;
    loop {
        match chars.get(j) {
            None => {
                return Err(LexError { pos: i, message: "unterminated string literal".into() });
            }
            Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                s.push('\'');
                j += 2;
            }
            Some('\'') => return Ok((s, j + 1)),
            Some(c) => {
                s.push(*c);
                j += 1;
            }
        }
    }
}

/// A bare GUID at `i`, if one is there (exactly 8-4-4-4-12 hex digits, not followed by an
/// identifier character).
fn guid(chars: &[char], i: usize) -> Option<(Literal, usize)> {
    const LEN: usize = 36;
    let cand = chars.get(i..i + LEN)?;
    if chars.get(i + LEN).is_some_and(|c| is_ident_char(*c) || *c == '-') {
        return None;
    }
    for (k, c) in cand.iter().enumerate() {
        let ok = if matches!(k, 8 | 13 | 18 | 23) { *c == '-' } else { c.is_ascii_hexdigit() };
        if !ok {
            return None;
        }
    }
    let text: String = cand.iter().collect();
    Uuid::parse_str(&text).ok().map(|u| (Literal::Guid(u), i + LEN))
}

/// A bare `Edm.Date` (`2024-01-02`) or `Edm.DateTimeOffset` (`2024-01-02T03:04:05.123+01:00`)
/// at `i`, if one is there. The shape is matched here; calendar validity is checked with
/// [`crate::compile::parse_date_time`] so no invalid date (`2024-02-30`) reaches the tree.
fn date_time(chars: &[char], i: usize) -> Option<Result<(Literal, usize), LexError>> {
    let digits = |from: usize, n: usize| -> bool {
        chars.get(from..from + n).is_some_and(|s| s.iter().all(|c| c.is_ascii_digit()))
    };
    let at = |k: usize, c: char| chars.get(k) == Some(&c);
    if !(digits(i, 4) && at(i + 4, '-') && digits(i + 5, 2) && at(i + 7, '-') && digits(i + 8, 2)) {
        return None;
    }
    let mut j = i + 10;
    let is_dto = matches!(chars.get(j), Some('T' | 't'));
    if is_dto {
        // THH:MM[:SS[.f+]] then Z or +HH:MM / -HH:MM.
        if !(digits(j + 1, 2) && at(j + 3, ':') && digits(j + 4, 2)) {
            return None;
        }
        j += 6;
        if at(j, ':') {
            if !digits(j + 1, 2) {
                return None;
            }
            j += 3;
            if at(j, '.') {
                let mut k = j + 1;
                while chars.get(k).is_some_and(|c| c.is_ascii_digit()) {
                    k += 1;
                }
                if k == j + 1 {
                    return None;
                }
                j = k;
            }
        }
        match chars.get(j) {
            Some('Z' | 'z') => j += 1,
            Some('+' | '-') if digits(j + 1, 2) && at(j + 3, ':') && digits(j + 4, 2) => j += 6,
            _ => return None,
        }
    }
    if chars.get(j).is_some_and(|c| is_ident_char(*c) || *c == '.' || *c == ':') {
        return None;
    }
    let text: String = chars[i..j].iter().collect();
    let valid = if is_dto {
        crate::compile::parse_date_time(&text).is_some()
    } else {
        crate::compile::parse_date(&text).is_some()
    };
    if !valid {
        return Some(Err(LexError { pos: i, message: format!("'{text}' is not a valid date or time") }));
    }
    Some(Ok((if is_dto { Literal::DateTimeOffset(text) } else { Literal::Date(text) }, j)))
}

/// An integer or decimal at `i` (optionally negative).
fn number(chars: &[char], i: usize) -> Result<(Literal, usize), LexError> {
    let mut j = i;
    if chars[j] == '-' {
        j += 1;
    }
    let run = |mut k: usize| {
        while chars.get(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
        }
        k
    };
    j = run(j);
    let mut decimal = false;
    if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(|c| c.is_ascii_digit()) {
        decimal = true;
        j = run(j + 1);
    }
    if matches!(chars.get(j), Some('e' | 'E')) {
        let mut k = j + 1;
        if matches!(chars.get(k), Some('+' | '-')) {
            k += 1;
        }
        if chars.get(k).is_some_and(|c| c.is_ascii_digit()) {
            decimal = true;
            j = run(k);
        }
    }
    if chars.get(j).is_some_and(|c| is_ident_char(*c)) {
        return Err(LexError { pos: j, message: format!("character '{}' is not valid", chars[j]) });
    }
    let text: String = chars[i..j].iter().collect();
    let lit = if decimal {
        match text.parse::<f64>() {
            Ok(d) if d.is_finite() => Literal::Decimal(d),
            _ => {
                return Err(LexError { pos: i, message: format!("the number '{text}' is out of range") });
            }
        }
    } else {
        match text.parse::<i64>() {
            Ok(n) => Literal::Int(n),
            Err(_) => {
                return Err(LexError { pos: i, message: format!("the number '{text}' is out of range") });
            }
        }
    };
    Ok((lit, j))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(text: &str) -> Vec<Tok> {
        tokenize(text).map(|t| t.into_iter().map(|t| t.tok).collect()).unwrap_or_default()
    }

    #[test]
    fn guids_dates_and_numbers_are_told_apart() {
        let g = "8a7f1c2e-0b1d-4c3e-9f00-aabbccddeeff";
        assert_eq!(lits(g), vec![Tok::Lit(Literal::Guid(Uuid::parse_str(g).unwrap_or_default()))]);
        assert_eq!(lits("2024-01-02"), vec![Tok::Lit(Literal::Date("2024-01-02".into()))]);
        assert_eq!(
            lits("2024-01-02T03:04:05.123+01:00"),
            vec![Tok::Lit(Literal::DateTimeOffset("2024-01-02T03:04:05.123+01:00".into()))]
        );
        assert_eq!(lits("-12"), vec![Tok::Lit(Literal::Int(-12))]);
        assert_eq!(lits("1.5e3"), vec![Tok::Lit(Literal::Decimal(1500.0))]);
        assert_eq!(lits("'it''s'"), vec![Tok::Lit(Literal::String("it's".into()))]);
        assert_eq!(lits("NULL True"), vec![Tok::Lit(Literal::Null), Tok::Lit(Literal::Bool(true))]);
    }

    #[test]
    fn enum_literals_are_qualified_names_before_a_quote() {
        let e = |ty: &str, m: &str| Tok::Lit(Literal::Enum { ty: ty.into(), member: m.into() });
        assert_eq!(
            lits("riskLevel eq microsoft.graph.riskLevel'medium'"),
            vec![Tok::Ident("riskLevel".into()), Tok::Ident("eq".into()), e("microsoft.graph.riskLevel", "medium")]
        );
        assert_eq!(lits("ns.t'it''s'"), vec![e("ns.t", "it's")]);
        // Without a dot it stays an identifier then a string; a dotted name without a quote
        // is still refused at the dot.
        assert_eq!(lits("t'x'"), vec![Tok::Ident("t".into()), Tok::Lit(Literal::String("x".into()))]);
        assert_eq!(tokenize("a.b eq 1").map(|_| ()).map_err(|e| e.pos), Err(1));
        assert!(tokenize("ns.t'open").is_err());
    }

    #[test]
    fn errors_carry_positions() {
        assert_eq!(
            tokenize("a eq %27x").map(|_| ()),
            Err(LexError { pos: 5, message: "character '%' is not valid".into() })
        );
        assert_eq!(tokenize("a eq 'x").map(|_| ()).map_err(|e| e.pos), Err(5));
        assert!(tokenize("99999999999999999999").is_err());
        assert!(tokenize("2024-13-01").is_err(), "month 13 is not a date, and not a number either");
        assert!(tokenize("12abc").is_err());
    }
}
