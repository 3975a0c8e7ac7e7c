//! The `RegexReplace` claims transformation: a regular expression evaluated against the
//! `sourceClaim` input, each match replaced by a replacement pattern whose `{name}`
//! placeholders name a group of the expression or another input of the transformation (an
//! input claim or an input parameter; Entra's portal allows up to five of them). As .NET's
//! `Regex.Replace`, which Entra's transformation is modelled on, every match is replaced and an
//! input without a match is returned unchanged ("the transformation is skipped").
//!
//! The pattern is a .NET regular expression as Entra takes it; Cerulean evaluates it with the
//! `regex` crate, whose matching is linear in the input whatever the pattern (patterns come
//! from administrators but tokens are minted on every sign-in). .NET's `(?'name'...)` group
//! syntax is rewritten to `(?<name>...)`; constructs the crate does not have (look-around,
//! back-references) are refused when the policy is written, as are patterns longer than
//! [`MAX_PATTERN_CHARS`] (Cerulean's own bound: Entra documents none).

use std::sync::Arc;

use regex::{Captures, Regex, RegexBuilder};

/// Longest regex pattern and replacement pattern accepted (characters; Cerulean's bound).
pub const MAX_PATTERN_CHARS: usize = 1024;
/// Inputs a replacement may use besides `sourceClaim` (Entra's portal: "up to five more").
pub const MAX_ADDITIONAL_INPUTS: usize = 5;
/// Bound on the compiled program (bytes): a short pattern with large counted repetitions
/// (`a{1000}{1000}`) would otherwise compile to a very large automaton.
const COMPILED_SIZE_LIMIT: usize = 1 << 20;

/// A piece of a replacement pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// A group of the regular expression, by name or number.
    Group(String),
    /// Another input of the transformation, by its `TransformationClaimType` or parameter `ID`.
    Input(String),
}

/// A compiled `RegexReplace`: the pattern as written, its program, and the replacement.
#[derive(Debug, Clone)]
pub struct RegexReplace {
    pattern: String,
    regex: Arc<Regex>,
    replacement: Vec<Piece>,
}

impl PartialEq for RegexReplace {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern && self.replacement == other.replacement
    }
}

impl Eq for RegexReplace {}

/// Rewrites .NET's `(?'name'` named groups to `(?<name>`, outside character classes and
/// escapes; everything else is left for the regex parser to accept or refuse.
fn dotnet_groups(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let (mut in_class, mut in_name) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '\'' if in_name => {
                in_name = false;
                out.push('>');
            }
            '(' if !in_class => {
                out.push(c);
                let mut ahead = chars.clone();
                if ahead.next() == Some('?') && ahead.next() == Some('\'') {
                    chars.next();
                    chars.next();
                    out.push_str("?<");
                    in_name = true;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

impl RegexReplace {
    /// Compiles `pattern` and parses `replacement`; `inputs` are the names of the other inputs
    /// (input claims besides `sourceClaim`, input parameters besides `regex` and
    /// `replacement`). Each placeholder must name a group or an input, and each input must be
    /// used, as Entra's transformation validations require. `Err` says what is wrong.
    pub fn new(pattern: &str, replacement: &str, inputs: &[String]) -> Result<RegexReplace, String> {
        if pattern.is_empty() {
            return Err("the 'regex' input parameter is empty.".into());
        }
        if pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(format!("the 'regex' input parameter is longer than {MAX_PATTERN_CHARS} characters."));
        }
        if replacement.chars().count() > MAX_PATTERN_CHARS {
            return Err(format!("the 'replacement' input parameter is longer than {MAX_PATTERN_CHARS} characters."));
        }
        if inputs.len() > MAX_ADDITIONAL_INPUTS {
            return Err(format!(
                "RegexReplace takes at most {MAX_ADDITIONAL_INPUTS} inputs besides 'sourceClaim', 'regex' and 'replacement'."
            ));
        }
        let regex = RegexBuilder::new(&dotnet_groups(pattern))
            .size_limit(COMPILED_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("the 'regex' input parameter is not a supported regular expression: {e}"))?;
        let groups: Vec<&str> = regex.capture_names().flatten().collect();
        let mut pieces = Vec::new();
        let mut used = vec![false; inputs.len()];
        let mut text = String::new();
        let mut rest = replacement;
        while let Some(open) = rest.find('{') {
            text.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                text.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let name = &after[..close];
            let piece = if groups.contains(&name) || name.parse::<usize>().is_ok_and(|n| n < regex.captures_len()) {
                Piece::Group(name.to_string())
            } else if let Some(k) = inputs.iter().position(|i| i.eq_ignore_ascii_case(name)) {
                used[k] = true;
                Piece::Input(inputs[k].clone())
            } else {
                return Err(format!(
                    "the replacement names '{{{name}}}', which is neither a group of the regular expression nor an input of the transformation."
                ));
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            rest = &after[close + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        if let Some(k) = used.iter().position(|u| !u) {
            return Err(format!("the input '{}' is not used by the replacement pattern.", inputs[k]));
        }
        Ok(RegexReplace { pattern: pattern.to_string(), regex: Arc::new(regex), replacement: pieces })
    }

    /// `input` with every match replaced; `input` itself when nothing matches. `inputs` gives
    /// the value of another input by name (an input without a value contributes nothing).
    pub fn apply(&self, input: &str, inputs: &dyn Fn(&str) -> Option<String>) -> String {
        if !self.regex.is_match(input) {
            return input.to_string();
        }
        let values: Vec<(String, String)> = self
            .replacement
            .iter()
            .filter_map(|p| match p {
                Piece::Input(name) => Some((name.clone(), inputs(name).unwrap_or_default())),
                _ => None,
            })
            .collect();
        self.regex
            .replace_all(input, |caps: &Captures<'_>| {
                let mut out = String::new();
                for piece in &self.replacement {
                    match piece {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Group(g) => {
                            let m = match g.parse::<usize>() {
                                Ok(n) => caps.get(n),
                                Err(_) => caps.name(g),
                            };
                            out.push_str(m.map(|m| m.as_str()).unwrap_or_default());
                        }
                        Piece::Input(name) => {
                            let v = values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
                            out.push_str(v.unwrap_or_default());
                        }
                    }
                }
                out
            })
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn microsofts_examples() {
        // Entra's claims customization example: the alias of a fabrikam.com address.
        let r = RegexReplace::new(
            r"(?'domain'^.*?)(?i)(\@fabrikam\.com)$",
            "{country}.{domain}@xyz.com",
            &["country".into()],
        )
        .expect("valid");
        let country = |n: &str| (n == "country").then(|| "US".to_string());
        assert_eq!(r.apply("swmal@Fabrikam.com", &country), "US.swmal@xyz.com");
        // No match: the input is kept.
        assert_eq!(r.apply("swmal@contoso.com", &country), "swmal@contoso.com");
        // Only the matched part is replaced.
        let r = RegexReplace::new("@(?<domain>.+)", "@company.com", &[]).expect("valid");
        assert_eq!(r.apply("adele@contoso.com", &none), "adele@company.com");
        let r = RegexReplace::new(r"acl_(?<group>\S{2})_.*", "{group}_Role", &[]).expect("valid");
        assert_eq!(r.apply("acl_HR_readers", &none), "HR_Role");
        // Numbered groups, every match.
        let r = RegexReplace::new("([a-z])-", "{1}+", &[]).expect("valid");
        assert_eq!(r.apply("a-b-c", &none), "a+b+c");
    }

    #[test]
    fn refusals() {
        let long = "a".repeat(MAX_PATTERN_CHARS + 1);
        let many: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
        let cases: [(&str, &str, &[String], &str); 7] = [
            ("", "x", &[], "empty"),
            (&long, "x", &[], "longer than"),
            ("(?<=a)b", "x", &[], "not a supported regular expression"),
            ("a{1000}{1000}", "x", &[], "not a supported regular expression"),
            ("(?<g>a)", "{nope}", &[], "'{nope}'"),
            ("(?<g>a)", "{g}", &["country".to_string()], "'country' is not used"),
            ("a", "x", &many, "at most 5"),
        ];
        for (pattern, replacement, inputs, message) in cases {
            let e = RegexReplace::new(pattern, replacement, inputs).expect_err(pattern);
            assert!(e.contains(message), "{pattern}: {e}");
        }
    }

    #[test]
    fn rewrites_only_dotnet_group_openers() {
        assert_eq!(dotnet_groups(r"(?'a'x)[(?'b']\(?'c'"), r"(?<a>x)[(?'b']\(?'c'");
    }
}
