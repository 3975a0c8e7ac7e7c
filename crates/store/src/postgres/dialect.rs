//! The PostgreSQL dialect of the shared plan compiler (`sqlite/compile.rs`).
//!
//! The compiler owns the shape of the SQL; this file only says how PostgreSQL spells JSON
//! access, typed values, case folding, array expansion and null ordering. Documents are `jsonb`,
//! so a path is a chain of `->` (JSON) ending in `->>` (text), cast per [`ValueKind`]:
//!
//! - strings fold ASCII `A`-`Z` only (`translate`, not `lower`), exactly as SQLite's built-in
//!   `lower()` and the compiler's parameter folding do, so both engines agree on what `eq`,
//!   `startswith` and `$orderby` mean for non-ASCII text whatever the database's locale;
//! - every text expression is `COLLATE "C"`: byte order of UTF-8, which is code-point order and
//!   SQLite's `BINARY`, so sort order and `startswith` ranges do not depend on the database's
//!   collation and a b-tree index can serve `LIKE 'prefix%'`;
//! - numbers and booleans are guarded by `jsonb_typeof`, so a value of another JSON type
//!   compares as missing instead of failing the whole query with a cast error.
//!
//! Every expression is immutable, which PostgreSQL requires of an expression index, and the
//! same text is produced for a filter, an ordering and an index definition of the same path.

use crate::plan::ValueKind;
use crate::sqlite::compile::Dialect;
use crate::{StoreError, StoreResult};

/// The PostgreSQL dialect: `jsonb` operators, `$N` placeholders, explicit null ordering.
pub(crate) struct Postgres;

/// ASCII-only case folding; see the module documentation.
const FOLD: &str = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'";

/// A path segment as a SQL string literal. The accepted names are exactly those SQLite's path
/// syntax accepts, so a filter valid on one engine is valid on the other.
fn segment(seg: &str) -> StoreResult<String> {
    if seg.is_empty() || seg.chars().any(|c| c == '"' || c == '\'' || c == '\\' || c.is_control()) {
        return Err(StoreError::Invalid(format!("unsupported property name {seg:?}")));
    }
    Ok(format!("'{seg}'"))
}

impl Postgres {
    /// The value at `path` as text (JSON strings unquoted; SQL NULL for a JSON null or a
    /// missing property).
    fn text(&self, base: &str, path: &[String]) -> StoreResult<String> {
        match path.split_last() {
            None => Ok(format!("({base} #>> '{{}}')")),
            Some((last, init)) => {
                let mut out = format!("({base}");
                for seg in init {
                    out.push_str(" -> ");
                    out.push_str(&segment(seg)?);
                }
                out.push_str(" ->> ");
                out.push_str(&segment(last)?);
                out.push(')');
                Ok(out)
            }
        }
    }

    /// `expr` when the JSON at `path` has `json_type`, else NULL.
    fn typed(&self, base: &str, path: &[String], json_type: &str, cast: &str) -> StoreResult<String> {
        let json = self.json_scalar(base, path)?;
        let text = self.text(base, path)?;
        Ok(format!("(CASE WHEN jsonb_typeof({json}) = '{json_type}' THEN {text}::{cast} END)"))
    }
}

impl Dialect for Postgres {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    /// The `jsonb` at `path` (not a scalar: [`Dialect::value`] casts it per kind).
    fn json_scalar(&self, base: &str, path: &[String]) -> StoreResult<String> {
        if path.is_empty() {
            return Ok(base.to_string());
        }
        let mut out = format!("({base}");
        for seg in path {
            out.push_str(" -> ");
            out.push_str(&segment(seg)?);
        }
        out.push(')');
        Ok(out)
    }

    fn lower(&self, expr: &str) -> String {
        format!("translate({expr}, {FOLD})")
    }

    fn value(&self, base: &str, path: &[String], kind: ValueKind) -> StoreResult<String> {
        Ok(match kind {
            ValueKind::String => format!("({} COLLATE \"C\")", self.lower(&self.text(base, path)?)),
            ValueKind::DateTime | ValueKind::Guid => format!("({} COLLATE \"C\")", self.text(base, path)?),
            ValueKind::Number => self.typed(base, path, "number", "float8")?,
            ValueKind::Bool => self.typed(base, path, "boolean", "boolean")?,
        })
    }

    /// Only arrays have elements: anything else (missing, null, a scalar) yields no rows rather
    /// than the error `jsonb_array_elements` raises for a non-array.
    fn json_elements(&self, base: &str, path: &[String], alias: &str) -> StoreResult<(String, String)> {
        let json = self.json_scalar(base, path)?;
        let from =
            format!("jsonb_array_elements(CASE WHEN jsonb_typeof({json}) = 'array' THEN {json} END) AS {alias}(value)");
        Ok((from, format!("{alias}.value")))
    }

    /// PostgreSQL's default `LIKE` escape character is `\`, the one the compiler escapes with;
    /// leaving out `ESCAPE '\'` avoids depending on `standard_conforming_strings`.
    fn like(&self, expr: &str, pattern: &str) -> String {
        format!("{expr} LIKE {pattern}")
    }

    /// PostgreSQL sorts nulls last ascending and first descending by default, the opposite of
    /// the store's contract, so the order is spelled out. The expression indexes are built
    /// `NULLS FIRST`, so both directions walk them (descending backwards).
    fn direction(&self, descending: bool) -> &'static str {
        if descending { " DESC NULLS LAST" } else { " NULLS FIRST" }
    }

    fn per_type_arms(&self) -> bool {
        false
    }

    fn true_lit(&self) -> &'static str {
        "TRUE"
    }

    fn false_lit(&self) -> &'static str {
        "FALSE"
    }

    /// `= ANY(ARRAY(...))` rather than `IN (SELECT ...)`: the planner then evaluates the list
    /// once and looks each id up in the primary key; with `IN (SELECT ...)` it estimated 100
    /// rows for the set-returning function and hash-joined against a scan of the tenant's
    /// objects, so a transitive-membership page cost grew with the tenant's size.
    fn id_in_json_array(&self, col: &str, param: &str) -> String {
        format!("{col} = ANY(ARRAY(SELECT jsonb_array_elements_text({param}::text::jsonb)::uuid))")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segs: &[&str]) -> Vec<String> {
        segs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn typed_expressions() {
        let d = Postgres;
        assert_eq!(
            d.value("doc", &p(&["a", "b"]), ValueKind::String).ok().as_deref(),
            Some(
                "(translate((doc -> 'a' ->> 'b'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE \"C\")"
            )
        );
        assert_eq!(
            d.value("j1.value", &[], ValueKind::Guid).ok().as_deref(),
            Some("((j1.value #>> '{}') COLLATE \"C\")")
        );
        assert_eq!(
            d.value("doc", &p(&["age"]), ValueKind::Number).ok().as_deref(),
            Some("(CASE WHEN jsonb_typeof((doc -> 'age')) = 'number' THEN (doc ->> 'age')::float8 END)")
        );
    }

    #[test]
    fn unsafe_segments_are_refused() {
        let d = Postgres;
        assert!(d.value("doc", &p(&["x') OR 1=1 --"]), ValueKind::String).is_err());
        assert!(d.json_elements("doc", &p(&["a\\b"]), "j1").is_err());
    }
}
