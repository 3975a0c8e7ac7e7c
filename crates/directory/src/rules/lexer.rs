//! Splits a membership rule into tokens, each with its character position for error messages.
//!
//! Entra's rule text is forgiving in a few documented ways that the lexer absorbs, so the
//! parser sees one shape: operators may be written with or without the leading hyphen (the
//! parser decides whether a bare word is an operator by where it stands), the hyphen may be
//! the en dash that Microsoft's own documentation prints (`user.mail –ne null` copied from
//! the page must work), strings are quoted with `"..."` (a backtick escapes the next
//! character, `` `" `` being a quote) or `'...'` (a doubled `''` is a quote).

use super::RuleError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier or keyword (`user`, `department`, `_`, `true`, `null`, `and`), or an
    /// unquoted value that starts with a digit or sign (`50001`, `2020-06-10T18:13:20Z`).
    Word(String),
    /// A hyphenated operator, lower-cased, without its hyphen (`eq`, `startswith`, `any`).
    Op(String),
    /// A quoted string, unescaped.
    Str(String),
    Dot,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Character (not byte) offset of the token's first character, from 0.
    pub pos: usize,
}

/// Hyphens Entra accepts before an operator: ASCII, and the en and em dashes that word
/// processors and the documentation substitute for it.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2013}' | '\u{2014}')
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Characters of an unquoted value that starts with a digit: numbers and ISO 8601
/// date-times (`2020-06-10T18:13:20Z`, `2020-06-10T18:13:20.5+01:00`).
fn is_bare_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '+')
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, RuleError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            c if c.is_whitespace() => {
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
            '[' => {
                i += 1;
                Tok::LBracket
            }
            ']' => {
                i += 1;
                Tok::RBracket
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '.' => {
                i += 1;
                Tok::Dot
            }
            '"' => {
                let (s, next) = double_quoted(&chars, i)?;
                i = next;
                Tok::Str(s)
            }
            '\'' => {
                let (s, next) = single_quoted(&chars, i)?;
                i = next;
                Tok::Str(s)
            }
            c if is_dash(c) => match chars.get(i + 1) {
                Some(n) if n.is_alphabetic() => {
                    i += 1;
                    let begin = i;
                    while i < chars.len() && chars[i].is_alphabetic() {
                        i += 1;
                    }
                    Tok::Op(chars[begin..i].iter().collect::<String>().to_lowercase())
                }
                Some(n) if n.is_ascii_digit() => {
                    i += 1;
                    let mut s = String::from("-");
                    while i < chars.len() && is_bare_value_char(chars[i]) {
                        s.push(chars[i]);
                        i += 1;
                    }
                    Tok::Word(s)
                }
                _ => return Err(RuleError::new(start, "Expected an operator after '-'")),
            },
            c if c.is_ascii_digit() => {
                while i < chars.len() && is_bare_value_char(chars[i]) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            c if is_word_start(c) => {
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            other => return Err(RuleError::new(start, format!("Unexpected character '{other}'"))),
        };
        out.push(Token { tok, pos: start });
    }
    Ok(out)
}

/// `"..."`: a backtick escapes the character after it (Entra's documented way to put a
/// double quote in a value, borrowed from PowerShell).
fn double_quoted(chars: &[char], open: usize) -> Result<(String, usize), RuleError> {
    let mut s = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '`' => {
                let Some(&next) = chars.get(i + 1) else { break };
                s.push(next);
                i += 2;
            }
            '"' => return Ok((s, i + 1)),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(RuleError::new(open, "Unterminated string"))
}

/// `'...'`: a doubled quote stands for one.
fn single_quoted(chars: &[char], open: usize) -> Result<(String, usize), RuleError> {
    let mut s = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        if chars[i] == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                s.push('\'');
                i += 2;
                continue;
            }
            return Ok((s, i + 1));
        }
        s.push(chars[i]);
        i += 1;
    }
    Err(RuleError::new(open, "Unterminated string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).expect("lexes").into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn operators_words_and_strings() {
        assert_eq!(
            toks(r#"user.department -EQ "Sales""#),
            vec![
                Tok::Word("user".into()),
                Tok::Dot,
                Tok::Word("department".into()),
                Tok::Op("eq".into()),
                Tok::Str("Sales".into())
            ]
        );
        // The en dash of the documentation's examples.
        assert_eq!(toks("–ne")[0], Tok::Op("ne".into()));
        assert_eq!(
            toks("['a', 'b']"),
            vec![Tok::LBracket, Tok::Str("a".into()), Tok::Comma, Tok::Str("b".into()), Tok::RBracket]
        );
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(toks(r#""say `"hi`"""#), vec![Tok::Str(r#"say "hi""#.into())]);
        assert_eq!(toks("'it''s'"), vec![Tok::Str("it's".into())]);
        assert_eq!(toks("\"a`b\""), vec![Tok::Str("ab".into())]);
        assert_eq!(toks("2020-06-10T18:13:20Z"), vec![Tok::Word("2020-06-10T18:13:20Z".into())]);
        assert_eq!(toks("-5"), vec![Tok::Word("-5".into())]);
    }

    #[test]
    fn errors_carry_positions() {
        assert_eq!(tokenize("user.city -eq \"x").unwrap_err().pos, 14);
        assert_eq!(tokenize("a 'b").unwrap_err().pos, 2);
        assert_eq!(tokenize("a # b").unwrap_err().pos, 2);
        assert_eq!(tokenize("a - b").unwrap_err().pos, 2);
    }
}
