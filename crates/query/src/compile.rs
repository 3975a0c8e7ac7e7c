//! Type-checks a `$filter` tree against an entity type and lowers it to the store's
//! [`Filter`].
//!
//! - Names resolve case-insensitively and come out canonical (`DISPLAYNAME` -> `displayName`).
//! - A top-level property must be `FILTER`-flagged; members of a complex property (or of a
//!   complex collection element) are filterable when the top-level property is.
//! - `id` is the record id: [`PropPath::id`] compared as [`ValueKind::Guid`]; a string that is
//!   not a GUID is refused with Graph's `Invalid object identifier` rather than matching nothing.
//! - Literals must fit the property's EDM type. GUIDs become lower-case strings; date-times are
//!   normalised to UTC whole seconds (`2024-01-02T03:04:05Z`), the form the store keeps. A
//!   fraction is dropped and the operator adjusted so the result is unchanged against
//!   whole-second values (`ge 05.5` is `gt 05`, `lt 05.5` is `le 05`).
//! - Operators Graph only allows in advanced queries (`ne`, `not`, `endsWith`, `/$count`) are
//!   recorded in [`CompiledFilter::advanced`]; [`crate::options`] decides whether the request
//!   may use them.

use cerulean_schema::{ComplexType, EdmType, EntityType, Flags};
use cerulean_store::{CmpOp as StoreOp, Filter, PropPath, Scalar, ValueKind};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

use crate::ast::{CmpOp, Expr, LambdaKind, Literal};
use crate::dynamic::DynamicProperty;
use crate::error::{QueryError, unknown_property_text};

/// A compiled `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledFilter {
    pub filter: Filter,
    /// Operators used that Graph supports only with `ConsistencyLevel: eventual` and
    /// `$count=true`, in Graph's spelling (`ne`, `not`, `endsWith`, `$count`), first use first.
    pub advanced: Vec<&'static str>,
}

/// Compiles `expr` for objects of type `entity`.
pub fn compile_filter(expr: &Expr, entity: &EntityType) -> Result<CompiledFilter, QueryError> {
    compile_filter_with(expr, entity, &[])
}

/// [`compile_filter`], with the tenant's extension properties of the entity (`dynamic`) usable
/// as top-level properties.
pub fn compile_filter_with(
    expr: &Expr,
    entity: &EntityType,
    dynamic: &[DynamicProperty],
) -> Result<CompiledFilter, QueryError> {
    let mut c = Compiler { entity, advanced: Vec::new(), vars: Vec::new(), dynamic };
    let filter = c.expr(expr)?;
    Ok(CompiledFilter { filter, advanced: c.advanced })
}

/// The element type of a collection a lambda ranges over.
#[derive(Debug, Clone, Copy)]
enum Elem {
    Primitive(EdmType),
    Complex(&'static ComplexType),
}

struct RangeVar {
    name: String,
    elem: Elem,
}

/// A path resolved against the schema.
#[derive(Debug, Clone)]
struct Resolved {
    path: PropPath,
    ty: EdmType,
    collection: bool,
    is_id: bool,
    /// Canonical name of the last segment, for messages.
    name: String,
}

struct Compiler<'a> {
    entity: &'a EntityType,
    /// Extension properties the tenant defines on the entity.
    dynamic: &'a [DynamicProperty],
    advanced: Vec<&'static str>,
    /// Lambda range variables, innermost last.
    vars: Vec<RangeVar>,
}

fn not_boolean() -> QueryError {
    QueryError::bad_request("Invalid filter clause: The $filter expression must evaluate to a single boolean value.")
}

fn store_op(op: CmpOp) -> StoreOp {
    match op {
        CmpOp::Eq => StoreOp::Eq,
        CmpOp::Ne => StoreOp::Ne,
        CmpOp::Gt => StoreOp::Gt,
        CmpOp::Ge => StoreOp::Ge,
        CmpOp::Lt => StoreOp::Lt,
        CmpOp::Le => StoreOp::Le,
    }
}

/// The OData library's name of an operator, for type-mismatch messages.
fn op_kind(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "Equal",
        CmpOp::Ne => "NotEqual",
        CmpOp::Gt => "GreaterThan",
        CmpOp::Ge => "GreaterThanOrEqual",
        CmpOp::Lt => "LessThan",
        CmpOp::Le => "LessThanOrEqual",
    }
}

fn literal_edm(lit: &Literal) -> &'static str {
    match lit {
        Literal::Null => "null",
        Literal::Bool(_) => "Edm.Boolean",
        Literal::Int(i) if i32::try_from(*i).is_ok() => "Edm.Int32",
        Literal::Int(_) => "Edm.Int64",
        Literal::Decimal(_) => "Edm.Double",
        Literal::String(_) => "Edm.String",
        Literal::Guid(_) => "Edm.Guid",
        Literal::DateTimeOffset(_) => "Edm.DateTimeOffset",
        Literal::Date(_) => "Edm.Date",
        Literal::Enum { .. } => "Edm.Enum",
    }
}

fn mismatch(ty: EdmType, lit: &Literal, kind: &str) -> QueryError {
    QueryError::bad_request(format!(
        "Invalid filter clause: A binary operator with incompatible types was detected. \
         Found operand types '{}' and '{}' for operator kind '{kind}'.",
        ty.csdl_name(),
        literal_edm(lit)
    ))
}

/// A converted literal; `fraction` is set when a date-time lost sub-second digits.
struct Value {
    kind: ValueKind,
    scalar: Scalar,
    fraction: bool,
}

impl<'a> Compiler<'a> {
    fn expr(&mut self, e: &Expr) -> Result<Filter, QueryError> {
        match e {
            Expr::Or(items) => Ok(Filter::Or(items.iter().map(|i| self.expr(i)).collect::<Result<_, _>>()?)),
            Expr::And(items) => Ok(Filter::And(items.iter().map(|i| self.expr(i)).collect::<Result<_, _>>()?)),
            Expr::Not(inner) => {
                self.note("not");
                Ok(Filter::Not(Box::new(self.expr(inner)?)))
            }
            Expr::Compare { op, left, right } => self.compare(*op, left, right),
            Expr::In { left, values } => self.in_list(left, values),
            Expr::Call { name, args } => self.call(name, args),
            Expr::Lambda { path, kind, body } => self.lambda(path, *kind, body.as_ref()),
            Expr::Path(segments) => {
                // A bare boolean property (`accountEnabled`) is `accountEnabled eq true`.
                let r = self.resolve(segments)?;
                if r.ty != EdmType::Boolean || r.collection {
                    return Err(not_boolean());
                }
                Ok(Filter::Compare { path: r.path, kind: ValueKind::Bool, op: StoreOp::Eq, value: Scalar::Bool(true) })
            }
            Expr::Literal(_) => Err(not_boolean()),
        }
    }

    fn note(&mut self, op: &'static str) {
        if !self.advanced.contains(&op) {
            self.advanced.push(op);
        }
    }

    /// Resolves a property path in the current scope.
    fn resolve(&self, segments: &[String]) -> Result<Resolved, QueryError> {
        let Some(first) = segments.first() else {
            return Err(QueryError::unsupported_query());
        };
        let entity = self.entity.name;
        let (mut r, rest) = if let Some(var) = self.vars.last().filter(|v| v.name == *first) {
            let r = match var.elem {
                Elem::Primitive(ty) => {
                    Resolved { path: PropPath::element(), ty, collection: false, is_id: false, name: first.clone() }
                }
                Elem::Complex(c) => Resolved {
                    path: PropPath::element(),
                    ty: EdmType::Complex(c.name),
                    collection: false,
                    is_id: false,
                    name: first.clone(),
                },
            };
            (r, &segments[1..])
        } else if !self.vars.is_empty() {
            // An outer range variable or a property of the object itself, inside a lambda:
            // the store evaluates lambda bodies against the element alone.
            return Err(QueryError::unsupported_query());
        } else if first.eq_ignore_ascii_case(crate::dynamic::CUSTOM_SECURITY_ATTRIBUTES)
            && self.entity.property(first).is_some()
            && segments.len() == 3
        {
            // `customSecurityAttributes/{set}/{attribute}`: a searchable definition, passed in as
            // a dynamic property named by that path.
            let Some(d) = crate::dynamic::find(self.dynamic, &segments.join("/")) else {
                return Err(QueryError::bad_request(format!(
                    "Invalid filter clause: '{}_{}' is not a searchable custom security attribute.",
                    segments[1], segments[2]
                )));
            };
            let path = PropPath(d.name.split('/').map(str::to_string).collect());
            return Ok(Resolved { path, ty: d.ty, collection: d.collection, is_id: false, name: d.name.clone() });
        } else if self.entity.property(first).is_none()
            && let Some(d) = crate::dynamic::find(self.dynamic, first)
        {
            return d.resolve(&segments[1..], entity).map(|(path, ty, collection, name)| Resolved {
                path,
                ty,
                collection,
                is_id: false,
                name,
            });
        } else {
            let Some(prop) = self.entity.property(first) else {
                return Err(QueryError::bad_request(format!(
                    "Invalid filter clause: {}",
                    unknown_property_text(first, entity)
                )));
            };
            if !prop.is(Flags::FILTER) || prop.is(Flags::WRITE_ONLY) {
                return Err(QueryError::unfilterable(prop.name, entity));
            }
            let is_id = prop.name == "id" && segments.len() == 1;
            let path = if is_id { PropPath::id() } else { PropPath::of(prop.name) };
            (
                Resolved { path, ty: prop.ty, collection: prop.collection, is_id, name: prop.name.to_string() },
                &segments[1..],
            )
        };
        for seg in rest {
            let EdmType::Complex(cname) = r.ty else {
                return Err(QueryError::unsupported_query());
            };
            if r.collection {
                // `assignedLicenses/skuId` needs a lambda.
                return Err(QueryError::unfilterable(&r.name, entity));
            }
            let Some(complex) = cerulean_schema::complex(cname) else {
                return Err(QueryError::unsupported_query());
            };
            let Some(p) = complex.property(seg) else {
                return Err(QueryError::bad_request(format!(
                    "Invalid filter clause: {}",
                    unknown_property_text(seg, complex.name)
                )));
            };
            r.path.0.push(p.name.to_string());
            r.ty = p.ty;
            r.collection = p.collection;
            r.name = p.name.to_string();
        }
        Ok(r)
    }

    /// A scalar (non-collection, non-complex) path.
    fn scalar_path(&self, e: &Expr) -> Result<Resolved, QueryError> {
        let Expr::Path(segments) = e else {
            return Err(QueryError::unsupported_query());
        };
        let r = self.resolve(segments)?;
        if r.collection || matches!(r.ty, EdmType::Complex(_)) {
            return Err(QueryError::unfilterable(&r.name, self.entity.name));
        }
        Ok(r)
    }

    fn compare(&mut self, op: CmpOp, left: &Expr, right: &Expr) -> Result<Filter, QueryError> {
        let (operand, lit, op) = match (left, right) {
            (other, Expr::Literal(l)) => (other, l, op),
            (Expr::Literal(l), other) => (other, l, op.flipped()),
            _ => return Err(QueryError::unsupported_query()),
        };
        if op == CmpOp::Ne {
            self.note("ne");
        }
        match operand {
            Expr::Path(segments) if segments.last().is_some_and(|s| s.eq_ignore_ascii_case("$count")) => {
                self.count_compare(&segments[..segments.len() - 1], op, lit)
            }
            // A custom security attribute: an advanced query; `eq` on a multi-valued one
            // matches when one of its values does.
            Expr::Path(segments)
                if segments.len() == 3
                    && segments[0].eq_ignore_ascii_case(crate::dynamic::CUSTOM_SECURITY_ATTRIBUTES) =>
            {
                self.note("eq");
                let mut r = self.resolve(segments)?;
                if op != CmpOp::Eq && (r.collection || op != CmpOp::Ne) {
                    return Err(QueryError::unsupported_query());
                }
                let collection = std::mem::replace(&mut r.collection, false);
                let v = self.value(&r, lit, op_kind(op))?;
                if v.scalar == Scalar::Null {
                    return Err(QueryError::unsupported_query());
                }
                if !collection {
                    return Ok(Filter::Compare { path: r.path, kind: v.kind, op: store_op(op), value: v.scalar });
                }
                let element =
                    Filter::Compare { path: PropPath::element(), kind: v.kind, op: store_op(op), value: v.scalar };
                Ok(Filter::Any { path: r.path, element: Some(Box::new(element)) })
            }
            Expr::Path(_) => {
                let r = self.scalar_path(operand)?;
                let v = self.value(&r, lit, op_kind(op))?;
                if v.scalar == Scalar::Null && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return Err(QueryError::unsupported_query());
                }
                // Whole-second store values against a fractional literal (see module docs).
                let op = match op {
                    CmpOp::Ge if v.fraction => CmpOp::Gt,
                    CmpOp::Lt if v.fraction => CmpOp::Le,
                    other => other,
                };
                Ok(Filter::Compare { path: r.path, kind: v.kind, op: store_op(op), value: v.scalar })
            }
            // `startswith(p, 'x') eq true`, `(a eq 1) eq false` and the like.
            other => {
                let Literal::Bool(b) = lit else {
                    return Err(QueryError::unsupported_query());
                };
                let inner = self.expr(other)?;
                match (op, *b) {
                    (CmpOp::Eq, true) | (CmpOp::Ne, false) => Ok(inner),
                    (CmpOp::Eq, false) | (CmpOp::Ne, true) => Ok(Filter::Not(Box::new(inner))),
                    _ => Err(QueryError::unsupported_query()),
                }
            }
        }
    }

    /// `collection/$count eq 0` and friends: emptiness tests, an advanced query in Graph.
    fn count_compare(&mut self, segments: &[String], op: CmpOp, lit: &Literal) -> Result<Filter, QueryError> {
        self.note("$count");
        if segments.is_empty() {
            return Err(QueryError::unsupported_query());
        }
        let r = self.resolve(segments)?;
        if !r.collection {
            return Err(QueryError::unfilterable(&r.name, self.entity.name));
        }
        let Literal::Int(n) = lit else {
            return Err(QueryError::unsupported_query());
        };
        let non_empty = Filter::Any { path: r.path, element: None };
        match (op, *n) {
            (CmpOp::Eq, 0) | (CmpOp::Le, 0) | (CmpOp::Lt, 1) => Ok(Filter::Not(Box::new(non_empty))),
            (CmpOp::Ne, 0) | (CmpOp::Gt, 0) | (CmpOp::Ge, 1) => Ok(non_empty),
            _ => Err(QueryError::unsupported_query()),
        }
    }

    fn in_list(&mut self, left: &Expr, values: &[Literal]) -> Result<Filter, QueryError> {
        let r = self.scalar_path(left)?;
        let mut kind = None;
        let mut out = Vec::with_capacity(values.len());
        for lit in values {
            let v = self.value(&r, lit, "In")?;
            kind = Some(v.kind);
            out.push(v.scalar);
        }
        let kind = kind.ok_or_else(QueryError::unsupported_query)?;
        Ok(Filter::In { path: r.path, kind, values: out })
    }

    fn call(&mut self, name: &str, args: &[Expr]) -> Result<Filter, QueryError> {
        let ends = match name {
            "startswith" => false,
            "endswith" => true,
            // Graph refuses `contains` on directory objects.
            "contains" => return Err(QueryError::unsupported_query()),
            _ => {
                return Err(QueryError::bad_request(format!(
                    "Invalid filter clause: An unknown function with name '{name}' was found."
                )));
            }
        };
        let [subject, Expr::Literal(lit)] = args else {
            return Err(QueryError::bad_request(format!(
                "Invalid filter clause: The function '{name}' takes a property and a string literal."
            )));
        };
        let r = self.scalar_path(subject)?;
        if !matches!(r.ty, EdmType::String | EdmType::Enum(_)) || r.is_id {
            return Err(QueryError::unfilterable(&r.name, self.entity.name));
        }
        let Literal::String(text) = lit else {
            return Err(QueryError::bad_request(format!(
                "Invalid filter clause: No function signature for the function with name '{name}' matches the specified arguments."
            )));
        };
        if ends {
            self.note("endsWith");
            Ok(Filter::EndsWith { path: r.path, suffix: text.clone() })
        } else {
            Ok(Filter::StartsWith { path: r.path, prefix: text.clone() })
        }
    }

    fn lambda(
        &mut self,
        path: &[String],
        kind: LambdaKind,
        body: Option<&(String, Box<Expr>)>,
    ) -> Result<Filter, QueryError> {
        let r = self.resolve(path)?;
        if !r.collection {
            return Err(QueryError::unfilterable(&r.name, self.entity.name));
        }
        let Some((var, body)) = body else {
            return Ok(Filter::Any { path: r.path, element: None });
        };
        let elem = match r.ty {
            EdmType::Complex(name) => match cerulean_schema::complex(name) {
                Some(c) => Elem::Complex(c),
                None => return Err(QueryError::unsupported_query()),
            },
            ty => Elem::Primitive(ty),
        };
        self.vars.push(RangeVar { name: var.clone(), elem });
        let element = self.expr(body);
        self.vars.pop();
        let element = Box::new(element?);
        Ok(match kind {
            LambdaKind::Any => Filter::Any { path: r.path, element: Some(element) },
            LambdaKind::All => Filter::All { path: r.path, element },
        })
    }

    /// Converts `lit` to the store's value for the property `r`.
    fn value(&self, r: &Resolved, lit: &Literal, op: &str) -> Result<Value, QueryError> {
        let plain = |kind, scalar| Ok(Value { kind, scalar, fraction: false });
        if r.is_id {
            return match lit {
                Literal::Null => plain(ValueKind::Guid, Scalar::Null),
                Literal::Guid(g) => plain(ValueKind::Guid, Scalar::Str(g.to_string())),
                Literal::String(s) => match Uuid::parse_str(s) {
                    Ok(g) => plain(ValueKind::Guid, Scalar::Str(g.hyphenated().to_string())),
                    Err(_) => Err(QueryError::request_bad_request(format!("Invalid object identifier '{s}'."))),
                },
                other => Err(mismatch(r.ty, other, op)),
            };
        }
        let kind = match r.ty {
            EdmType::String | EdmType::Enum(_) => ValueKind::String,
            EdmType::Boolean => ValueKind::Bool,
            EdmType::Int32 | EdmType::Int64 | EdmType::Double => ValueKind::Number,
            EdmType::DateTimeOffset | EdmType::Date => ValueKind::DateTime,
            EdmType::Guid => ValueKind::Guid,
            EdmType::Binary | EdmType::Stream | EdmType::Complex(_) => {
                return Err(QueryError::unfilterable(&r.name, self.entity.name));
            }
        };
        if *lit == Literal::Null {
            return plain(kind, Scalar::Null);
        }
        let scalar = match (r.ty, lit) {
            (EdmType::Enum(name), Literal::Enum { ty, member }) => {
                // `Namespace.Type'member'`: the type must be the property's own.
                let bare = ty.rsplit_once('.').map_or(ty.as_str(), |(ns, bare)| {
                    if ns.eq_ignore_ascii_case("microsoft.graph") { bare } else { ty.as_str() }
                });
                if !bare.eq_ignore_ascii_case(name) {
                    return Err(QueryError::bad_request(format!(
                        "Invalid filter clause: The enumeration type '{ty}' is not the type of property '{}' (microsoft.graph.{name}).",
                        r.name
                    )));
                }
                return self.value(r, &Literal::String(member.clone()), op);
            }
            (EdmType::Enum(name), Literal::String(s)) => match cerulean_schema::enumeration(name) {
                // Enum members compare as their canonical spelling.
                Some(e) => match e.member(s) {
                    Some(m) => Scalar::Str(m.to_string()),
                    None => {
                        return Err(QueryError::bad_request(format!(
                            "Invalid filter clause: The string '{s}' is not a valid enumeration type constant."
                        )));
                    }
                },
                None => Scalar::Str(s.clone()),
            },
            (EdmType::String, Literal::String(s)) => Scalar::Str(s.clone()),
            (EdmType::String, Literal::Guid(g)) => Scalar::Str(g.to_string()),
            (EdmType::Boolean, Literal::Bool(b)) => Scalar::Bool(*b),
            (EdmType::Int32, Literal::Int(i)) if i32::try_from(*i).is_ok() => Scalar::Int(*i),
            (EdmType::Int64, Literal::Int(i)) => Scalar::Int(*i),
            (EdmType::Double, Literal::Int(i)) => Scalar::Float(*i as f64),
            (EdmType::Double, Literal::Decimal(d)) => Scalar::Float(*d),
            (EdmType::Guid, Literal::Guid(g)) => Scalar::Str(g.to_string()),
            (EdmType::Guid, Literal::String(s)) => match Uuid::parse_str(s) {
                Ok(g) => Scalar::Str(g.to_string()),
                Err(_) => return Err(mismatch(r.ty, lit, op)),
            },
            (EdmType::DateTimeOffset, Literal::DateTimeOffset(s) | Literal::String(s)) => {
                let Some(dt) = parse_date_time(s) else {
                    return Err(mismatch(r.ty, lit, op));
                };
                let Some((text, fraction)) = normalise(dt) else {
                    return Err(mismatch(r.ty, lit, op));
                };
                return Ok(Value { kind, scalar: Scalar::Str(text), fraction });
            }
            (EdmType::DateTimeOffset, Literal::Date(s)) => Scalar::Str(format!("{s}T00:00:00Z")),
            (EdmType::Date, Literal::Date(s)) => Scalar::Str(s.clone()),
            (EdmType::Date, Literal::String(s)) if parse_date(s).is_some() => Scalar::Str(s.clone()),
            _ => return Err(mismatch(r.ty, lit, op)),
        };
        plain(kind, scalar)
    }
}

/// Parses digits only (no sign), as `u32`.
fn digits(s: Option<&str>) -> Option<u32> {
    let s = s?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY-MM-DD` into a calendar date.
pub fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 10 || !s.is_ascii() || s.get(4..5) != Some("-") || s.get(7..8) != Some("-") {
        return None;
    }
    let year = digits(s.get(0..4))?;
    let month = Month::try_from(u8::try_from(digits(s.get(5..7))?).ok()?).ok()?;
    let day = u8::try_from(digits(s.get(8..10))?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, day).ok()
}

/// Parses an OData `Edm.DateTimeOffset`: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` then `Z` or
/// `+HH:MM`/`-HH:MM`. Fractions beyond nanoseconds are truncated.
pub fn parse_date_time(s: &str) -> Option<OffsetDateTime> {
    if !s.is_ascii() {
        return None;
    }
    let date = parse_date(s.get(0..10)?)?;
    if !matches!(s.get(10..11), Some("T" | "t")) || s.get(13..14) != Some(":") {
        return None;
    }
    let hour = digits(s.get(11..13))?;
    let minute = digits(s.get(14..16))?;
    let mut i = 16;
    let (mut second, mut nanos) = (0, 0);
    if s.get(i..i + 1) == Some(":") {
        second = digits(s.get(i + 1..i + 3))?;
        i += 3;
        if s.get(i..i + 1) == Some(".") {
            let frac: String = s[i + 1..].chars().take_while(char::is_ascii_digit).collect();
            if frac.is_empty() {
                return None;
            }
            let mut nine: String = frac.chars().take(9).collect();
            while nine.len() < 9 {
                nine.push('0');
            }
            nanos = nine.parse().ok()?;
            i += 1 + frac.len();
        }
    }
    let offset = match s.get(i..i + 1)? {
        "Z" | "z" => {
            i += 1;
            UtcOffset::UTC
        }
        sign @ ("+" | "-") => {
            if s.get(i + 3..i + 4) != Some(":") {
                return None;
            }
            let h = i8::try_from(digits(s.get(i + 1..i + 3))?).ok()?;
            let m = i8::try_from(digits(s.get(i + 4..i + 6))?).ok()?;
            i += 6;
            let k = if sign == "-" { -1 } else { 1 };
            UtcOffset::from_hms(k * h, k * m, 0).ok()?
        }
        _ => return None,
    };
    if i != s.len() {
        return None;
    }
    let time =
        Time::from_hms_nano(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?, nanos)
            .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// UTC whole-second text (`2024-01-02T03:04:05Z`) and whether a fraction was dropped. `None`
/// when the instant falls outside years 0001..=9999 once in UTC.
pub fn normalise(dt: OffsetDateTime) -> Option<(String, bool)> {
    let u = dt.to_offset(UtcOffset::UTC);
    if !(1..=9999).contains(&u.year()) {
        return None;
    }
    let text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        u.year(),
        u8::from(u.month()),
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    );
    Some((text, u.nanosecond() != 0))
}

#[cfg(test)]
#[path = "compile_tests.rs"]
pub(crate) mod tests;
