//! `$search` for directory objects: `"displayName:foo" OR ("mail:bar" AND "displayName:baz")`.
//!
//! Graph's rules (`concepts/search-query-parameter.md`): every clause is `"property:text"` in
//! double quotes (`\"` and `\\` escape), `AND`/`OR` are upper-case and outside the quotes,
//! parentheses group, and `AND` binds tighter than `OR`. Adjacent clauses are read as `AND`.
//!
//! A clause on a `SEARCH`-flagged property is tokenised search: the text is split into words
//! ([`search_terms`]) and each must be a word prefix of the property ([`Filter::WordPrefix`]).
//! Graph documents that any other filterable string property falls back to `startsWith`, so
//! those compile to [`Filter::StartsWith`] (or `any(startsWith)` on a string collection).

use cerulean_schema::{EdmType, EntityType, Flags};
use cerulean_store::{Filter, PropPath};

use crate::error::{QueryError, excerpt, unknown_property_text};

/// Longest `$search` text accepted, in bytes.
pub const MAX_SEARCH_LEN: usize = 4 * 1024;
const MAX_DEPTH: usize = 100;

/// A parsed `$search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchExpr {
    Clause { property: String, text: String },
    And(Vec<SearchExpr>),
    Or(Vec<SearchExpr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Clause(String),
    LParen,
    RParen,
    And,
    Or,
}

fn syntax(text: &str, pos: usize, what: impl std::fmt::Display) -> QueryError {
    QueryError::bad_request(format!("Syntax error: {what} at position {pos} in '{}'.", excerpt(text)))
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                out.push((Tok::LParen, i));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, i));
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(syntax(text, start, "unterminated quoted clause")),
                        Some('\\') => match chars.get(i + 1) {
                            Some(e @ ('"' | '\\')) => {
                                s.push(*e);
                                i += 2;
                            }
                            _ => return Err(syntax(text, i, "character '\\' is not valid")),
                        },
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Clause(s), start));
            }
            _ => {
                let mut j = i;
                while chars.get(j).is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"')) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                match word.as_str() {
                    "AND" => out.push((Tok::And, i)),
                    "OR" => out.push((Tok::Or, i)),
                    _ => {
                        return Err(syntax(text, i, format_args!("character '{c}' is not valid")));
                    }
                }
                i = j;
            }
        }
    }
    Ok(out)
}

/// Parses `$search` text.
pub fn parse_search(text: &str) -> Result<SearchExpr, QueryError> {
    if text.len() > MAX_SEARCH_LEN {
        return Err(QueryError::bad_request(format!(
            "The $search value is longer than the {MAX_SEARCH_LEN} characters allowed."
        )));
    }
    let toks = tokenize(text)?;
    let mut p = Parser { text, toks, i: 0, depth: 0 };
    let e = p.or()?;
    if let Some((_, pos)) = p.toks.get(p.i) {
        return Err(syntax(text, *pos, "unexpected token"));
    }
    Ok(e)
}

struct Parser<'t> {
    text: &'t str,
    toks: Vec<(Tok, usize)>,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.text.chars().count(), |t| t.1)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }

    fn or(&mut self) -> Result<SearchExpr, QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(syntax(self.text, self.pos(), format_args!("nested more than {MAX_DEPTH} levels deep")));
        }
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            items.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 { items.remove(0) } else { SearchExpr::Or(items) })
    }

    fn and(&mut self) -> Result<SearchExpr, QueryError> {
        let mut items = vec![self.primary()?];
        loop {
            match self.peek() {
                Some(Tok::And) => self.i += 1,
                Some(Tok::Clause(_) | Tok::LParen) => {}
                _ => break,
            }
            items.push(self.primary()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { SearchExpr::And(items) })
    }

    fn primary(&mut self) -> Result<SearchExpr, QueryError> {
        let pos = self.pos();
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.i += 1;
                let e = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(syntax(self.text, self.pos(), "expected ')'"));
                }
                self.i += 1;
                Ok(e)
            }
            Some(Tok::Clause(c)) => {
                self.i += 1;
                let Some((property, text)) = c.split_once(':') else {
                    return Err(syntax(
                        self.text,
                        pos,
                        format_args!("the clause \"{c}\" names no property (write \"property:text\")"),
                    ));
                };
                let property = property.trim();
                if property.is_empty() || !property.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(syntax(self.text, pos, format_args!("'{property}' is not a property name")));
                }
                if text.trim().is_empty() {
                    return Err(syntax(self.text, pos, format_args!("the clause \"{c}\" has no text to search for")));
                }
                Ok(SearchExpr::Clause { property: property.to_string(), text: text.to_string() })
            }
            _ => Err(syntax(self.text, pos, "expected a quoted \"property:text\" clause or '('")),
        }
    }
}

/// Splits search text into lower-case words the way Graph tokenises directory `$search`: at
/// whitespace and symbols, between letters and digits, and where lower-case turns upper-case
/// (`HelloWorld` -> `hello`, `world`; `HELLOworld` stays one word). The store must split the
/// document's value the same way for [`Filter::WordPrefix`] to match.
pub fn search_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let boundary = (p.is_numeric() != c.is_numeric()) || (p.is_lowercase() && c.is_uppercase());
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
        prev = Some(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Compiles a parsed `$search` for objects of type `entity`.
pub fn compile_search(expr: &SearchExpr, entity: &EntityType) -> Result<Filter, QueryError> {
    match expr {
        SearchExpr::And(items) => {
            Ok(Filter::And(items.iter().map(|i| compile_search(i, entity)).collect::<Result<_, _>>()?))
        }
        SearchExpr::Or(items) => {
            Ok(Filter::Or(items.iter().map(|i| compile_search(i, entity)).collect::<Result<_, _>>()?))
        }
        SearchExpr::Clause { property, text } => {
            let Some(prop) = entity.property(property) else {
                return Err(QueryError::bad_request(unknown_property_text(property, entity.name)));
            };
            let stringy = matches!(prop.ty, EdmType::String | EdmType::Enum(_));
            if !stringy || prop.name == "id" || prop.is(Flags::WRITE_ONLY) {
                return Err(QueryError::unfilterable(prop.name, entity.name));
            }
            let path = PropPath::of(prop.name);
            if prop.is(Flags::SEARCH) && !prop.collection {
                let mut terms: Vec<Filter> = search_terms(text)
                    .into_iter()
                    .map(|term| Filter::WordPrefix { path: path.clone(), term })
                    .collect();
                return Ok(match terms.len() {
                    // Only symbols: search for them as written.
                    0 => Filter::WordPrefix { path, term: text.trim().to_lowercase() },
                    1 => terms.remove(0),
                    _ => Filter::And(terms),
                });
            }
            if !prop.is(Flags::FILTER) {
                return Err(QueryError::unfilterable(prop.name, entity.name));
            }
            let prefix = text.clone();
            Ok(if prop.collection {
                Filter::Any { path, element: Some(Box::new(Filter::StartsWith { path: PropPath::element(), prefix })) }
            } else {
                Filter::StartsWith { path, prefix }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> &'static EntityType {
        cerulean_schema::entity("user").expect("user is declared")
    }

    fn clause(p: &str, t: &str) -> SearchExpr {
        SearchExpr::Clause { property: p.into(), text: t.into() }
    }

    #[test]
    fn grammar() {
        assert_eq!(parse_search("\"displayName:foo\""), Ok(clause("displayName", "foo")));
        assert_eq!(
            parse_search("\"displayName:a\" OR \"mail:b\" AND \"x:c\""),
            Ok(SearchExpr::Or(vec![
                clause("displayName", "a"),
                SearchExpr::And(vec![clause("mail", "b"), clause("x", "c")])
            ]))
        );
        assert_eq!(
            parse_search("(\"a:1\" OR \"b:2\") \"c:3\""),
            Ok(SearchExpr::And(vec![SearchExpr::Or(vec![clause("a", "1"), clause("b", "2")]), clause("c", "3")]))
        );
        assert_eq!(
            parse_search(r#""displayName:say \"hi\" \\ there: now""#),
            Ok(clause("displayName", "say \"hi\" \\ there: now"))
        );
    }

    #[test]
    fn syntax_errors() {
        let e = parse_search("displayName:foo").err().unwrap_or_else(|| QueryError::bad_request(""));
        assert_eq!(e.code, "BadRequest");
        assert_eq!(e.message, "Syntax error: character 'd' is not valid at position 0 in 'displayName:foo'.");
        assert!(parse_search("\"a:b\" or \"c:d\"").is_err(), "operators must be upper-case");
        assert!(parse_search("\"foo\"").is_err(), "a clause names its property");
        assert!(parse_search("\"displayName:\"").is_err());
        assert!(parse_search("\"a:b").is_err());
        assert!(parse_search("(\"a:b\"").is_err());
        assert!(parse_search("").is_err());
        assert!(parse_search(&format!("{}\"a:b\"{}", "(".repeat(500), ")".repeat(500))).is_err());
    }

    #[test]
    fn tokenisation_follows_graph() {
        assert_eq!(search_terms("hello world"), ["hello", "world"]);
        assert_eq!(search_terms("HelloWorld"), ["hello", "world"]);
        assert_eq!(search_terms("HELLOworld"), ["helloworld"]);
        assert_eq!(search_terms("HelloWORld"), ["hello", "world"]);
        assert_eq!(search_terms("hello.world"), ["hello", "world"]);
        assert_eq!(search_terms("hello123world"), ["hello", "123", "world"]);
        assert_eq!(search_terms("李四(David Li)"), ["李四", "david", "li"]);
    }

    #[test]
    fn compiles_to_word_prefixes_or_startswith() {
        let e = parse_search("\"displayName:OneVideo\" OR \"mailNickname:one\"").unwrap_or_else(|_| clause("", ""));
        assert_eq!(
            compile_search(&e, user()),
            Ok(Filter::Or(vec![
                Filter::And(vec![
                    Filter::WordPrefix { path: PropPath::of("displayName"), term: "one".into() },
                    Filter::WordPrefix { path: PropPath::of("displayName"), term: "video".into() },
                ]),
                Filter::StartsWith { path: PropPath::of("mailNickname"), prefix: "one".into() },
            ]))
        );
        assert_eq!(
            compile_search(&clause("DISPLAYNAME", "Ad"), user()),
            Ok(Filter::WordPrefix { path: PropPath::of("displayName"), term: "ad".into() })
        );
        assert_eq!(
            compile_search(&clause("proxyAddresses", "smtp:"), user()),
            Ok(Filter::Any {
                path: PropPath::of("proxyAddresses"),
                element: Some(Box::new(Filter::StartsWith { path: PropPath::element(), prefix: "smtp:".into() }))
            })
        );
        let unknown = compile_search(&clause("foo", "x"), user()).err();
        assert_eq!(
            unknown.map(|e| (e.code, e.message)),
            Some(("BadRequest", "Could not find a property named 'foo' on type 'microsoft.graph.user'.".to_string()))
        );
        let unsupported = compile_search(&clause("accountEnabled", "x"), user()).err();
        assert_eq!(unsupported.map(|e| e.code), Some("Request_UnsupportedQuery"));
    }
}
