//! Plan -> SQL: compiles a [`ListQuery`] into a parameterised statement.
//!
//! The compiler owns the *shape* of the SQL (scope joins, three-valued-logic-safe negation,
//! keyset predicates, ordering); everything that differs between engines (placeholders, JSON
//! access, JSON array expansion, `LIKE`) goes through [`Dialect`], so a PostgreSQL dialect can
//! reuse the shape unchanged. Values are always bound parameters; only JSON paths are spliced
//! into the text, and those are validated first (an expression index needs the path as a literal).

use uuid::Uuid;

use crate::plan::{CmpOp, Cursor, Filter, ListQuery, OrderKey, PropPath, Scalar, Scope, ValueKind};
use crate::{IndexSpec, StoreError, StoreResult};

/// A bound parameter, independent of the driver.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// What differs between SQL engines.
pub(crate) trait Dialect {
    /// The placeholder of the `n`-th (1-based) parameter: `?1` or `$1`.
    fn placeholder(&self, n: usize) -> String;
    /// The SQL scalar at `path` under `base` (a JSON document or element expression); an empty
    /// path is `base` itself. It must be deterministic: expression indexes are built from it.
    fn json_scalar(&self, base: &str, path: &[String]) -> StoreResult<String>;
    /// The comparable expression of the value at `path` compared as `kind`: what filters,
    /// ordering and expression indexes all use. The default suits an engine whose JSON access
    /// already yields typed SQL values (SQLite): the raw scalar, case-folded for strings. An
    /// engine whose JSON access yields text or JSON (PostgreSQL) overrides it to cast per kind.
    fn value(&self, base: &str, path: &[String], kind: ValueKind) -> StoreResult<String> {
        let raw = self.json_scalar(base, path)?;
        Ok(match kind {
            ValueKind::String => self.lower(&raw),
            _ => raw,
        })
    }
    /// Case folding used for [`ValueKind::String`] on both sides of a comparison.
    fn lower(&self, expr: &str) -> String;
    /// A FROM item listing the elements of the JSON array at `path` under `base`, named `alias`,
    /// and the expression of one element.
    fn json_elements(&self, base: &str, path: &[String], alias: &str) -> StoreResult<(String, String)>;
    /// `expr LIKE pattern` where `pattern` escapes `%`, `_` and `\` with `\`.
    fn like(&self, expr: &str, pattern: &str) -> String;
    /// ORDER BY direction; nulls sort first ascending and last descending.
    fn direction(&self, descending: bool) -> &'static str;
    fn true_lit(&self) -> &'static str;
    fn false_lit(&self) -> &'static str;
    /// Whether a list of several types is one arm per type (`UNION ALL`, merged in page order)
    /// rather than one `object_type IN (...)` statement. SQLite needs the arms: for `IN (a, b)
    /// ORDER BY id` it walked the tenant's primary key, reading every object of every type to
    /// find a page of a rare one, while it merges ordered arms without a sort (`MERGE (UNION
    /// ALL)`). PostgreSQL plans `IN` from per-type statistics (a seek of the type index and a
    /// small sort for rare types, a primary-key walk stopped by the LIMIT for common ones) and
    /// never merges ordered `UNION ALL` arms (it appends and sorts them all), so it keeps `IN`.
    fn per_type_arms(&self) -> bool {
        true
    }
    /// `col` is one of the ids in `param`, a JSON array of GUID strings bound as text: one
    /// parameter however many ids, so a large set never meets a bound-parameter limit.
    fn id_in_json_array(&self, col: &str, param: &str) -> String {
        format!("{col} IN (SELECT value FROM json_each({param}))")
    }
}

/// The SQLite dialect: `json_extract`, `json_each`, `?N` placeholders.
pub(crate) struct Sqlite;

impl Dialect for Sqlite {
    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn json_scalar(&self, base: &str, path: &[String]) -> StoreResult<String> {
        if path.is_empty() {
            return Ok(base.to_string());
        }
        Ok(format!("json_extract({base}, {})", json_path_literal(path)?))
    }

    fn lower(&self, expr: &str) -> String {
        format!("lower({expr})")
    }

    fn json_elements(&self, base: &str, path: &[String], alias: &str) -> StoreResult<(String, String)> {
        let from = if path.is_empty() {
            format!("json_each({base}) AS {alias}")
        } else {
            format!("json_each({base}, {}) AS {alias}", json_path_literal(path)?)
        };
        Ok((from, format!("{alias}.value")))
    }

    fn like(&self, expr: &str, pattern: &str) -> String {
        format!("{expr} LIKE {pattern} ESCAPE '\\'")
    }

    fn direction(&self, descending: bool) -> &'static str {
        // SQLite's defaults are NULLS FIRST for ASC and NULLS LAST for DESC, which is the order
        // the store promises; spelling them out would only risk defeating index use.
        if descending { " DESC" } else { "" }
    }

    fn true_lit(&self) -> &'static str {
        "1"
    }

    fn false_lit(&self) -> &'static str {
        "0"
    }
}

/// Renders a path as a single-quoted SQLite JSON path literal: `'$."a"."b"'`.
///
/// Segments are always double-quoted so every property name (including `@odata.type` or
/// `extension_..._x`) is addressed literally, and the text is identical wherever the same path
/// is used, which expression-index matching requires. SQLite's path syntax has no escape inside
/// a quoted label, so segments holding quotes, backslashes or control characters are refused.
pub(crate) fn json_path_literal(path: &[String]) -> StoreResult<String> {
    let mut out = String::from("'$");
    for seg in path {
        if seg.is_empty() || seg.chars().any(|c| c == '"' || c == '\'' || c == '\\' || c.is_control()) {
            return Err(StoreError::Invalid(format!("unsupported property name {seg:?}")));
        }
        out.push_str(".\"");
        out.push_str(seg);
        out.push('"');
    }
    out.push('\'');
    Ok(out)
}

/// The document column as the list query names it.
const DOC: &str = "objects.doc";
/// The id column as the list query names it (qualified: `json_each` has an `id` column too).
const ID: &str = "objects.id";

/// The comparable SQL expression of `path` of `kind` under `base`: the same text for filters,
/// ordering and index definitions.
fn value_expr(d: &dyn Dialect, base: &str, path: &[String], kind: ValueKind) -> StoreResult<String> {
    d.value(base, path, kind)
}

/// The expression an index spec indexes; `doc` is the document column as the index names it.
pub(crate) fn index_expr(d: &dyn Dialect, spec: &IndexSpec, doc: &str) -> StoreResult<String> {
    value_expr(d, doc, &spec.path.0, spec.kind)
}

/// Lower-cases ASCII only, matching SQLite's built-in `lower()` (without ICU). Using full
/// Unicode folding on the parameter side would make `eq` miss values SQLite folded differently.
fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The parameter for a literal compared as `kind`.
pub(crate) fn param(kind: ValueKind, v: &Scalar) -> Param {
    match v {
        Scalar::Null => Param::Null,
        Scalar::Bool(b) => Param::Int(i64::from(*b)),
        Scalar::Int(i) => Param::Int(*i),
        Scalar::Float(f) => Param::Real(*f),
        Scalar::Str(s) => match kind {
            ValueKind::String | ValueKind::Guid => Param::Text(fold(s)),
            _ => Param::Text(s.clone()),
        },
    }
}

/// Escapes `LIKE` metacharacters with `\` (the ESCAPE character every pattern declares).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The smallest string greater than every string starting with `prefix`, if there is one:
/// `prefix` with its last character incremented. Lets a `startswith` seek an index range.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Where a path is evaluated: the object itself or a lambda element.
#[derive(Clone)]
enum Ctx {
    Object,
    Element(String),
}

/// Accumulates bound parameters while SQL fragments are rendered.
struct Builder<'d> {
    d: &'d dyn Dialect,
    params: Vec<Param>,
    lambda_depth: usize,
}

impl<'d> Builder<'d> {
    fn new(d: &'d dyn Dialect) -> Self {
        Builder { d, params: Vec::new(), lambda_depth: 0 }
    }

    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        self.d.placeholder(self.params.len())
    }

    fn value(&self, ctx: &Ctx, path: &PropPath, kind: ValueKind) -> StoreResult<String> {
        match ctx {
            Ctx::Object if path.is_id() => Ok(ID.to_string()),
            Ctx::Object => value_expr(self.d, DOC, &path.0, kind),
            Ctx::Element(v) => value_expr(self.d, v, &path.0, kind),
        }
    }

    /// Renders `f` (or its negation). Negation is pushed down to the leaves so that every
    /// emitted predicate is TRUE exactly when it holds: a missing property compares NULL, and a
    /// plain `NOT (...)` over NULL would drop rows that OData says match (`not (x eq 'a')`).
    fn filter(&mut self, f: &Filter, ctx: &Ctx, negate: bool) -> StoreResult<String> {
        match f {
            Filter::And(fs) | Filter::Or(fs) => {
                let is_and = matches!(f, Filter::And(_)) != negate;
                if fs.is_empty() {
                    // An empty AND is true, an empty OR false (before negation).
                    return Ok(if is_and { self.d.true_lit() } else { self.d.false_lit() }.to_string());
                }
                let parts = fs.iter().map(|x| self.filter(x, ctx, negate)).collect::<StoreResult<Vec<_>>>()?;
                Ok(format!("({})", parts.join(if is_and { " AND " } else { " OR " })))
            }
            Filter::Not(inner) => self.filter(inner, ctx, !negate),
            Filter::Compare { path, kind, op, value } => {
                let e = self.value(ctx, path, *kind)?;
                Ok(self.compare(&e, *kind, *op, value, negate))
            }
            Filter::In { path, kind, values } => {
                let e = self.value(ctx, path, *kind)?;
                Ok(self.in_list(&e, *kind, values, negate))
            }
            Filter::StartsWith { path, prefix } => {
                let e = self.value(ctx, path, ValueKind::String)?;
                let prefix = fold(prefix);
                let upper = prefix_upper_bound(&prefix);
                if let (false, Some(hi)) = (negate, upper) {
                    // In code-point (byte) order, which both engines use for these expressions,
                    // `p <= s < succ(p)` holds exactly when `s` starts with `p`: the range alone
                    // is exact, lets an index on `e` seek, and lets the index answer on its own
                    // (a `$count` or a page of ids never reads, let alone parses, a document).
                    let lo = self.bind(Param::Text(prefix));
                    let hi = self.bind(Param::Text(hi));
                    return Ok(format!("({e} >= {lo} AND {e} < {hi})"));
                }
                let pat = self.bind(Param::Text(format!("{}%", like_escape(&prefix))));
                let like = self.d.like(&e, &pat);
                if negate {
                    return Ok(format!("({e} IS NULL OR NOT ({like}))"));
                }
                // No upper bound (every character is the last code point): the lower bound
                // still seeks, LIKE keeps the exact meaning.
                let lo = self.bind(Param::Text(prefix));
                Ok(format!("({e} >= {lo} AND {like})"))
            }
            Filter::EndsWith { path, suffix } => {
                let e = self.value(ctx, path, ValueKind::String)?;
                let pat = self.bind(Param::Text(format!("%{}", like_escape(&fold(suffix)))));
                Ok(self.maybe_not(&e, self.d.like(&e, &pat), negate))
            }
            Filter::WordPrefix { path, term } => {
                let e = self.value(ctx, path, ValueKind::String)?;
                let term = like_escape(&fold(term));
                let first = self.bind(Param::Text(format!("{term}%")));
                let later = self.bind(Param::Text(format!("% {term}%")));
                let sql = format!("({} OR {})", self.d.like(&e, &first), self.d.like(&e, &later));
                Ok(self.maybe_not(&e, sql, negate))
            }
            Filter::Any { path, element } => {
                let (from, where_) = match element {
                    Some(el) => self.lambda(ctx, path, el, false)?,
                    None => (self.elements_from(ctx, path)?.0, None),
                };
                let exists = match where_ {
                    Some(w) => format!("EXISTS (SELECT 1 FROM {from} WHERE {w})"),
                    None => format!("EXISTS (SELECT 1 FROM {from})"),
                };
                Ok(if negate { format!("NOT {exists}") } else { exists })
            }
            Filter::All { path, element } => {
                // all(x: p) == NOT EXISTS (element where NOT p).
                let (from, where_) = self.lambda(ctx, path, element, true)?;
                let w = where_.unwrap_or_else(|| self.d.true_lit().to_string());
                let exists = format!("EXISTS (SELECT 1 FROM {from} WHERE {w})");
                Ok(if negate { exists } else { format!("NOT {exists}") })
            }
        }
    }

    /// Negates a predicate that is NULL when `e` is NULL, so the result is never NULL.
    fn maybe_not(&self, e: &str, sql: String, negate: bool) -> String {
        if negate { format!("({e} IS NULL OR NOT {sql})") } else { sql }
    }

    fn elements_from(&mut self, ctx: &Ctx, path: &PropPath) -> StoreResult<(String, String)> {
        self.lambda_depth += 1;
        let alias = format!("j{}", self.lambda_depth);
        let base = match ctx {
            Ctx::Object => DOC,
            Ctx::Element(v) => v.as_str(),
        };
        self.d.json_elements(base, &path.0, &alias)
    }

    fn lambda(
        &mut self,
        ctx: &Ctx,
        path: &PropPath,
        element: &Filter,
        negate: bool,
    ) -> StoreResult<(String, Option<String>)> {
        let (from, value) = self.elements_from(ctx, path)?;
        let w = self.filter(element, &Ctx::Element(value), negate)?;
        Ok((from, Some(w)))
    }

    fn compare(&mut self, e: &str, kind: ValueKind, op: CmpOp, value: &Scalar, negate: bool) -> String {
        let (t, f) = (self.d.true_lit(), self.d.false_lit());
        if matches!(value, Scalar::Null) {
            return match (op, negate) {
                (CmpOp::Eq, false) | (CmpOp::Ne, true) => format!("{e} IS NULL"),
                (CmpOp::Ne, false) | (CmpOp::Eq, true) => format!("{e} IS NOT NULL"),
                // Ordering against null is never true (OData), so its negation always is.
                (_, false) => f.to_string(),
                (_, true) => t.to_string(),
            };
        }
        let p = self.bind(param(kind, value));
        // `ne` holds for missing values; every other operator fails on them.
        let (sym, or_null) = match (op, negate) {
            (CmpOp::Eq, false) | (CmpOp::Ne, true) => ("=", false),
            (CmpOp::Ne, false) | (CmpOp::Eq, true) => ("<>", true),
            (CmpOp::Gt, false) | (CmpOp::Le, true) => (">", negate),
            (CmpOp::Ge, false) | (CmpOp::Lt, true) => (">=", negate),
            (CmpOp::Lt, false) | (CmpOp::Ge, true) => ("<", negate),
            (CmpOp::Le, false) | (CmpOp::Gt, true) => ("<=", negate),
        };
        if or_null { format!("({e} IS NULL OR {e} {sym} {p})") } else { format!("{e} {sym} {p}") }
    }

    fn in_list(&mut self, e: &str, kind: ValueKind, values: &[Scalar], negate: bool) -> String {
        let has_null = values.iter().any(|v| matches!(v, Scalar::Null));
        let ps: Vec<String> = values
            .iter()
            .filter(|v| !matches!(v, Scalar::Null))
            .map(|v| {
                let p = param(kind, v);
                self.bind(p)
            })
            .collect();
        let list = ps.join(", ");
        match (negate, ps.is_empty(), has_null) {
            (false, true, false) => self.d.false_lit().to_string(),
            (false, true, true) => format!("{e} IS NULL"),
            (false, false, false) => format!("{e} IN ({list})"),
            (false, false, true) => format!("({e} IS NULL OR {e} IN ({list}))"),
            (true, true, false) => self.d.true_lit().to_string(),
            (true, true, true) => format!("{e} IS NOT NULL"),
            (true, false, false) => format!("({e} IS NULL OR {e} NOT IN ({list}))"),
            (true, false, true) => format!("({e} IS NOT NULL AND {e} NOT IN ({list}))"),
        }
    }

    /// `FROM ... WHERE ...` of the scope, types and filter (shared by the page and the count).
    fn scope_clause(&mut self, tenant: Uuid, q: &ListQuery) -> StoreResult<String> {
        self.scope_clause_of(tenant, q, &q.types)
    }

    /// [`Self::scope_clause`] restricted to `types` instead of the query's own.
    fn scope_clause_of(&mut self, tenant: Uuid, q: &ListQuery, types: &[String]) -> StoreResult<String> {
        let t = self.bind(Param::Text(tenant.to_string()));
        let mut sql = match &q.scope {
            Scope::Live => {
                format!("FROM objects WHERE objects.tenant_id = {t} AND objects.deleted_at IS NULL")
            }
            Scope::Deleted => {
                format!("FROM objects WHERE objects.tenant_id = {t} AND objects.deleted_at IS NOT NULL")
            }
            Scope::Related { kind, id, reverse } => {
                let (anchor, other) = if *reverse { ("target_id", "source_id") } else { ("source_id", "target_id") };
                let k = self.bind(Param::Text(kind.as_str().to_string()));
                let a = self.bind(Param::Text(id.to_string()));
                format!(
                    "FROM edges JOIN objects ON objects.tenant_id = edges.tenant_id AND objects.id = edges.{other} \
                     WHERE edges.tenant_id = {t} AND edges.kind = {k} AND edges.{anchor} = {a} \
                     AND objects.tenant_id = {t} AND objects.deleted_at IS NULL"
                )
            }
            Scope::Among(ids) => {
                let list = serde_json::to_string(ids).map_err(|e| StoreError::Invalid(format!("id list: {e}")))?;
                let p = self.bind(Param::Text(list));
                let within = self.d.id_in_json_array("objects.id", &p);
                format!("FROM objects WHERE objects.tenant_id = {t} AND objects.deleted_at IS NULL AND {within}")
            }
        };
        match types {
            [] => {}
            [one] => {
                let p = self.bind(Param::Text(one.clone()));
                sql.push_str(&format!(" AND objects.object_type = {p}"));
            }
            many => {
                let ps: Vec<String> = many.iter().map(|ty| self.bind(Param::Text(ty.clone()))).collect();
                sql.push_str(&format!(" AND objects.object_type IN ({})", ps.join(", ")));
            }
        }
        if let Some(f) = &q.filter {
            let w = self.filter(f, &Ctx::Object, false)?;
            sql.push_str(" AND ");
            sql.push_str(&w);
        }
        Ok(sql)
    }

    /// Rows strictly after `cursor` in the order `keys` (each with its direction), then id ASC.
    /// NULLs sort first ascending and last descending.
    /// With `backward` (every key already reversed by the caller), the id too is descending.
    fn keyset(&mut self, keys: &[(String, bool, ValueKind)], cursor: &Cursor, backward: bool) -> StoreResult<String> {
        if cursor.values.len() != keys.len() {
            return Err(StoreError::Invalid("the cursor does not match the sort order".into()));
        }
        let mut alternatives = Vec::with_capacity(keys.len() + 1);
        let mut equal: Vec<String> = Vec::with_capacity(keys.len());
        let mut seek = None;
        for (i, ((e, desc, kind), v)) in keys.iter().zip(&cursor.values).enumerate() {
            let p = match v {
                Scalar::Null => None,
                v => Some(self.bind(param(*kind, v))),
            };
            let after = match (&p, desc) {
                (None, false) => Some(format!("{e} IS NOT NULL")),
                (None, true) => None,
                (Some(p), false) => Some(format!("{e} > {p}")),
                (Some(p), true) => Some(format!("({e} < {p} OR {e} IS NULL)")),
            };
            if let (0, Some(p), false) = (i, &p, desc) {
                // Redundant bound that lets an index on the first key seek instead of scan.
                seek = Some(format!("{e} >= {p}"));
            }
            if let Some(after) = after {
                let mut conj = equal.clone();
                conj.push(after);
                alternatives.push(conj.join(" AND "));
            }
            equal.push(match &p {
                None => format!("{e} IS NULL"),
                Some(p) => format!("{e} = {p}"),
            });
        }
        let id = self.bind(Param::Text(cursor.id.to_string()));
        let op = if backward { "<" } else { ">" };
        if keys.is_empty() {
            return Ok(format!("{ID} {op} {id}"));
        }
        equal.push(format!("{ID} {op} {id}"));
        alternatives.push(equal.join(" AND "));
        let ors = alternatives.into_iter().map(|a| format!("({a})")).collect::<Vec<_>>().join(" OR ");
        Ok(match seek {
            Some(s) => format!("{s} AND ({ors})"),
            None => format!("({ors})"),
        })
    }
}

/// A compiled list query: the page statement and, when asked, the count statement.
pub(crate) struct CompiledList {
    /// The page statement selecting only the id and the sort keys, in order: what an index can
    /// answer without reading documents, so the engine fetches the documents of the page alone
    /// afterwards instead of carrying every candidate's document through the sort.
    pub ids_sql: String,
    pub params: Vec<Param>,
    pub key_kinds: Vec<ValueKind>,
    pub count: Option<(String, Vec<Param>)>,
}

/// The columns every page statement selects first, in this order.
pub(crate) const OBJECT_COLUMNS: &str =
    "objects.id, objects.object_type, objects.version, objects.doc, objects.deleted_at";

pub(crate) fn compile_list(d: &dyn Dialect, tenant: Uuid, q: &ListQuery) -> StoreResult<CompiledList> {
    let mut b = Builder::new(d);
    let mut keys = order_keys(&b, &q.order)?;
    if q.backward {
        for k in &mut keys {
            k.1 = !k.1;
        }
    }

    let mut key_columns = String::new();
    for (e, _, _) in &keys {
        key_columns.push_str(", ");
        key_columns.push_str(e);
    }
    // `FROM ... WHERE ...` of the page: the scope, types, filter and keyset position.
    let body = |b: &mut Builder<'_>, types: &[String]| -> StoreResult<String> {
        let mut sql = format!(" {}", b.scope_clause_of(tenant, q, types)?);
        if let Some(cursor) = &q.after {
            let k = b.keyset(&keys, cursor, q.backward)?;
            sql.push_str(" AND ");
            sql.push_str(&k);
        }
        Ok(sql)
    };
    let ids_sql = if q.types.len() > 1 && d.per_type_arms() {
        // Several types: one arm per type, merged in the page order. With `object_type IN
        // (a, b) ORDER BY id`, neither engine can walk an index in id order for both types at
        // once, and SQLite walked the tenant's whole primary key instead, reading (and
        // parsing) every object of every type to find a page of a rare one. Each arm seeks its
        // own type's index in order; SQLite merges them (`MERGE (UNION ALL)`) and the LIMIT
        // stops the merge after a page (see `Dialect::per_type_arms`).
        let mut ids_arms = Vec::with_capacity(q.types.len());
        for ty in &q.types {
            let body = body(&mut b, std::slice::from_ref(ty))?;
            ids_arms.push(format!("SELECT {ID}{key_columns}{body}"));
        }
        // A compound statement orders by result-column positions: the id is column 1 and the
        // keys follow it.
        let order = {
            let mut o = String::from(" ORDER BY ");
            for (i, (_, desc, _)) in keys.iter().enumerate() {
                o.push_str(&(2 + i).to_string());
                o.push_str(d.direction(*desc));
                o.push_str(", ");
            }
            o.push('1');
            if q.backward {
                o.push_str(" DESC");
            }
            o
        };
        format!("{}{order}", ids_arms.join(" UNION ALL "))
    } else {
        let body = body(&mut b, &q.types)?;
        let mut order = String::from(" ORDER BY ");
        for (e, desc, _) in &keys {
            order.push_str(e);
            order.push_str(d.direction(*desc));
            order.push_str(", ");
        }
        order.push_str(ID);
        if q.backward {
            order.push_str(" DESC");
        }
        format!("SELECT {ID}{key_columns}{body}{order}")
    };
    let limit = i64::try_from(q.top.max(1)).unwrap_or(i64::MAX - 1).saturating_add(1);
    let l = b.bind(Param::Int(limit));
    let ids_sql = format!("{ids_sql} LIMIT {l}");
    let page_params = std::mem::take(&mut b.params);

    let count = if q.count {
        let mut cb = Builder::new(d);
        let sql = if q.types.len() > 1 && d.per_type_arms() {
            // A sum of per-type counts, each a seek: with `object_type IN (...)` SQLite may
            // scan the whole table instead (it did once the statistics called the tenant large).
            let mut parts = Vec::with_capacity(q.types.len());
            for ty in &q.types {
                let fw = cb.scope_clause_of(tenant, q, std::slice::from_ref(ty))?;
                parts.push(format!("(SELECT COUNT(*) {fw})"));
            }
            format!("SELECT {}", parts.join(" + "))
        } else {
            format!("SELECT COUNT(*) {}", cb.scope_clause(tenant, q)?)
        };
        Some((sql, cb.params))
    } else {
        None
    };
    Ok(CompiledList { ids_sql, params: page_params, key_kinds: keys.iter().map(|k| k.2).collect(), count })
}

/// A list query compiled into one statement (see [`compile_list_single`]).
pub(crate) struct CompiledSingle {
    pub sql: String,
    pub params: Vec<Param>,
    pub key_kinds: Vec<ValueKind>,
    /// Whether the statement's last column is the count of every match.
    pub counted: bool,
}

/// Compiles a list query into one statement, for an engine where each statement is a round
/// trip (PostgreSQL): the page's ids and sort keys first, in a subquery an index can answer
/// alone (an index-only scan of the matching range and a small top-N sort), then the
/// documents of the page only, by primary key; with `count`, the count of every match in the
/// same statement, so the page and its count read one snapshot without a transaction around
/// them (one round trip instead of five: begin, page, count, commit).
///
/// Result columns: the object's five [`OBJECT_COLUMNS`], then the sort keys in order, then
/// (`counted`) the count. With a count the statement always returns a row: when the page is
/// empty (nothing matches, or the cursor is past the end), one row whose id is NULL carries
/// the count. Several types are one `object_type IN (...)` (engines with per-type arms use
/// [`compile_list`]).
pub(crate) fn compile_list_single(d: &dyn Dialect, tenant: Uuid, q: &ListQuery) -> StoreResult<CompiledSingle> {
    let mut b = Builder::new(d);
    let mut keys = order_keys(&b, &q.order)?;
    if q.backward {
        for k in &mut keys {
            k.1 = !k.1;
        }
    }
    let count = if q.count { Some(format!("SELECT COUNT(*) AS n {}", b.scope_clause(tenant, q)?)) } else { None };

    let mut ids = format!("SELECT {ID} AS id");
    for (i, (e, _, _)) in keys.iter().enumerate() {
        ids.push_str(&format!(", {e} AS k{i}"));
    }
    ids.push(' ');
    ids.push_str(&b.scope_clause(tenant, q)?);
    if let Some(cursor) = &q.after {
        let k = b.keyset(&keys, cursor, q.backward)?;
        ids.push_str(" AND ");
        ids.push_str(&k);
    }
    let tail = if q.backward { " DESC" } else { "" };
    let mut inner_order = String::from(" ORDER BY ");
    let mut outer_order = String::from(" ORDER BY ");
    for (i, (e, desc, _)) in keys.iter().enumerate() {
        let dir = d.direction(*desc);
        inner_order.push_str(&format!("{e}{dir}, "));
        outer_order.push_str(&format!("p.k{i}{dir}, "));
    }
    inner_order.push_str(&format!("{ID}{tail}"));
    outer_order.push_str(&format!("p.id{tail}"));
    let limit = i64::try_from(q.top.max(1)).unwrap_or(i64::MAX - 1).saturating_add(1);
    let l = b.bind(Param::Int(limit));
    ids.push_str(&format!("{inner_order} LIMIT {l}"));

    let t = b.bind(Param::Text(tenant.to_string()));
    let mut columns = String::from(OBJECT_COLUMNS);
    for i in 0..keys.len() {
        columns.push_str(&format!(", p.k{i}"));
    }
    let docs = format!("objects ON objects.tenant_id = {t} AND objects.id = p.id");
    let sql = match &count {
        None => format!("SELECT {columns} FROM ({ids}) AS p JOIN {docs}{outer_order}"),
        Some(count) => {
            format!(
                "SELECT {columns}, c.n FROM ({count}) AS c LEFT JOIN ({ids}) AS p ON TRUE LEFT JOIN {docs}{outer_order}"
            )
        }
    };
    Ok(CompiledSingle { sql, params: b.params, key_kinds: keys.iter().map(|k| k.2).collect(), counted: q.count })
}

fn order_keys(b: &Builder<'_>, order: &[OrderKey]) -> StoreResult<Vec<(String, bool, ValueKind)>> {
    order.iter().map(|k| Ok((b.value(&Ctx::Object, &k.path, k.kind)?, k.descending, k.kind))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bounds() {
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }

    #[test]
    fn paths_are_quoted_or_refused() {
        assert_eq!(json_path_literal(&["a".into(), "b.c".into()]).ok().as_deref(), Some("'$.\"a\".\"b.c\"'"));
        assert!(json_path_literal(&["x'); DROP TABLE objects; --".into()]).is_err());
        assert!(json_path_literal(&["a\"b".into()]).is_err());
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}
