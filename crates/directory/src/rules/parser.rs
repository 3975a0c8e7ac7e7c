//! Recursive descent over the tokens, checking every condition against the documented property
//! catalogue as it goes, so each problem is reported at the token that causes it.

use super::lexer::{Tok, Token, tokenize};
use super::{CmpOp, Expr, Kind, MAX_DEPTH, Object, Operand, Prop, Rule, RuleError, SubjectKind};

/// Where a property's value lives in the stored v1.0 document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A top-level property of the document.
    Key(&'static str),
    /// A property of a complex property (`onPremisesExtensionAttributes.extensionAttribute1`).
    Nested(&'static str, &'static str),
    /// The object's id (a record field, not a document property).
    Id,
    /// The first element of a collection (`telephoneNumber` is `businessPhones[0]`).
    FirstOf(&'static str),
    /// The `SIP:` entry of `proxyAddresses`, without its prefix.
    Sip,
    /// The object's direct group memberships (edges, not document properties).
    MemberOf,
    /// A directory extension property (`extension_<appId>_<name>`), stored under its name.
    Custom,
}

/// User properties of the documented catalogue: the rule name, its kind, and where the v1.0
/// document holds it (the rule language keeps the older AAD Graph names, e.g. `mobile`,
/// `facsimileTelephoneNumber`, `dirSyncEnabled`).
const USER: &[(&str, Kind, Source)] = &[
    ("accountEnabled", Kind::Bool, Source::Key("accountEnabled")),
    ("dirSyncEnabled", Kind::Bool, Source::Key("onPremisesSyncEnabled")),
    ("employeeHireDate", Kind::DateTime, Source::Key("employeeHireDate")),
    ("city", Kind::String, Source::Key("city")),
    ("country", Kind::String, Source::Key("country")),
    ("companyName", Kind::String, Source::Key("companyName")),
    ("department", Kind::String, Source::Key("department")),
    ("displayName", Kind::String, Source::Key("displayName")),
    ("employeeId", Kind::String, Source::Key("employeeId")),
    ("facsimileTelephoneNumber", Kind::String, Source::Key("faxNumber")),
    ("givenName", Kind::String, Source::Key("givenName")),
    ("jobTitle", Kind::String, Source::Key("jobTitle")),
    ("mail", Kind::String, Source::Key("mail")),
    ("mailNickName", Kind::String, Source::Key("mailNickname")),
    ("memberOf", Kind::MemberOf, Source::MemberOf),
    ("mobile", Kind::String, Source::Key("mobilePhone")),
    ("objectId", Kind::String, Source::Id),
    ("onPremisesDistinguishedName", Kind::String, Source::Key("onPremisesDistinguishedName")),
    ("onPremisesSecurityIdentifier", Kind::String, Source::Key("onPremisesSecurityIdentifier")),
    ("passwordPolicies", Kind::String, Source::Key("passwordPolicies")),
    ("physicalDeliveryOfficeName", Kind::String, Source::Key("officeLocation")),
    ("postalCode", Kind::String, Source::Key("postalCode")),
    ("preferredLanguage", Kind::String, Source::Key("preferredLanguage")),
    ("sipProxyAddress", Kind::String, Source::Sip),
    ("state", Kind::String, Source::Key("state")),
    ("streetAddress", Kind::String, Source::Key("streetAddress")),
    ("surname", Kind::String, Source::Key("surname")),
    ("telephoneNumber", Kind::String, Source::FirstOf("businessPhones")),
    ("usageLocation", Kind::String, Source::Key("usageLocation")),
    ("userPrincipalName", Kind::String, Source::Key("userPrincipalName")),
    ("userType", Kind::String, Source::Key("userType")),
    ("otherMails", Kind::StringCollection, Source::Key("otherMails")),
    ("proxyAddresses", Kind::StringCollection, Source::Key("proxyAddresses")),
    ("assignedPlans", Kind::Plans, Source::Key("assignedPlans")),
];

/// Device properties of the documented catalogue, mapped to the v1.0 `device` resource.
const DEVICE: &[(&str, Kind, Source)] = &[
    ("accountEnabled", Kind::Bool, Source::Key("accountEnabled")),
    ("isRooted", Kind::Bool, Source::Key("isRooted")),
    ("deviceCategory", Kind::String, Source::Key("deviceCategory")),
    ("deviceId", Kind::String, Source::Key("deviceId")),
    ("deviceManagementAppId", Kind::String, Source::Key("deviceManagementAppId")),
    ("deviceManufacturer", Kind::String, Source::Key("manufacturer")),
    ("deviceModel", Kind::String, Source::Key("model")),
    ("displayName", Kind::String, Source::Key("displayName")),
    ("deviceOSType", Kind::String, Source::Key("operatingSystem")),
    ("deviceOSVersion", Kind::String, Source::Key("operatingSystemVersion")),
    ("deviceOwnership", Kind::String, Source::Key("deviceOwnership")),
    ("devicePhysicalIds", Kind::StringCollection, Source::Key("physicalIds")),
    ("deviceTrustType", Kind::String, Source::Key("trustType")),
    ("enrollmentProfileName", Kind::String, Source::Key("enrollmentProfileName")),
    ("managementType", Kind::String, Source::Key("managementType")),
    ("memberOf", Kind::MemberOf, Source::MemberOf),
    ("objectId", Kind::String, Source::Id),
    ("profileType", Kind::String, Source::Key("profileType")),
    ("systemLabels", Kind::StringCollection, Source::Key("systemLabels")),
];

const EXTENSION_ATTRIBUTES: [&str; 15] = [
    "extensionAttribute1",
    "extensionAttribute2",
    "extensionAttribute3",
    "extensionAttribute4",
    "extensionAttribute5",
    "extensionAttribute6",
    "extensionAttribute7",
    "extensionAttribute8",
    "extensionAttribute9",
    "extensionAttribute10",
    "extensionAttribute11",
    "extensionAttribute12",
    "extensionAttribute13",
    "extensionAttribute14",
    "extensionAttribute15",
];

const PLAN_PROPERTIES: [&str; 3] = ["capabilityStatus", "service", "servicePlanId"];

/// Looks a subject property up, case-insensitively: its canonical name, kind and source.
pub(crate) fn lookup(subject: SubjectKind, name: &str) -> Option<(String, Kind, Source)> {
    let table = match subject {
        SubjectKind::User => USER,
        SubjectKind::Device => DEVICE,
    };
    if let Some((n, k, s)) = table.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name)) {
        return Some((n.to_string(), *k, *s));
    }
    if let Some(n) = EXTENSION_ATTRIBUTES.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        let parent = match subject {
            SubjectKind::User => "onPremisesExtensionAttributes",
            SubjectKind::Device => "extensionAttributes",
        };
        return Some((n.to_string(), Kind::String, Source::Nested(parent, n)));
    }
    if subject == SubjectKind::User && is_custom_extension(name) {
        return Some((name.to_string(), Kind::String, Source::Custom));
    }
    None
}

/// `extension_<appId without hyphens>_<name>`: 32 hexadecimal digits, then a name.
fn is_custom_extension(name: &str) -> bool {
    let Some(rest) = name.get(..10).filter(|p| p.eq_ignore_ascii_case("extension_")).map(|_| &name[10..]) else {
        return false;
    };
    let Some((app, attr)) = rest.split_once('_') else { return false };
    app.len() == 32 && app.bytes().all(|b| b.is_ascii_hexdigit()) && !attr.is_empty()
}

/// What a lambda's predicate may refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Top,
    Elements(Object),
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    /// Character length of the rule: the position reported for "unexpected end".
    end: usize,
    subject: Option<SubjectKind>,
    depth: usize,
}

pub(crate) fn parse(text: &str) -> Result<Rule, RuleError> {
    let toks = tokenize(text)?;
    let mut p = Parser { toks, i: 0, end: text.chars().count(), subject: None, depth: 0 };
    if p.toks.is_empty() {
        return Err(RuleError::new(0, "The rule is empty"));
    }
    let expr = p.or(Scope::Top)?;
    if let Some(t) = p.peek() {
        return Err(RuleError::new(t.pos, format!("Unexpected {}", describe(&t.tok))));
    }
    let subject = p.subject.ok_or_else(|| RuleError::new(0, "The rule names no user or device property"))?;
    Ok(Rule { expr, subject })
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Op(o) => format!("'-{o}'"),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Dot => "'.'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::Comma => "','".into(),
    }
}

/// A value as written, before it is checked against the property's kind.
enum Raw {
    Null,
    Bool(bool),
    /// Quoted.
    Str(String),
    /// Unquoted, starting with a digit or sign.
    Bare(String),
    List(Vec<String>),
    Now {
        shift: Option<String>,
        seconds: i64,
    },
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn pos(&self) -> usize {
        self.peek().map(|t| t.pos).unwrap_or(self.end)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.i).cloned();
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> RuleError {
        match self.peek() {
            Some(t) => RuleError::new(t.pos, format!("Expected {expected} but found {}", describe(&t.tok))),
            None => RuleError::new(self.end, format!("Expected {expected} but the rule ends")),
        }
    }

    /// Whether the next token is the keyword `name`, hyphenated or not.
    fn at_keyword(&self, name: &str) -> bool {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Op(o)) => o.eq_ignore_ascii_case(name),
            Some(Tok::Word(w)) => w.eq_ignore_ascii_case(name),
            _ => false,
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<usize, RuleError> {
        match self.peek() {
            Some(t) if t.tok == tok => {
                let pos = t.pos;
                self.i += 1;
                Ok(pos)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn enter(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::new(self.pos(), format!("The rule nests more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    fn or(&mut self, scope: Scope) -> Result<Expr, RuleError> {
        let mut left = self.and(scope)?;
        while self.at_keyword("or") {
            self.i += 1;
            let right = self.and(scope)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, scope: Scope) -> Result<Expr, RuleError> {
        let mut left = self.unary(scope)?;
        while self.at_keyword("and") {
            self.i += 1;
            let right = self.unary(scope)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, scope: Scope) -> Result<Expr, RuleError> {
        if self.at_keyword("not") {
            self.i += 1;
            self.enter()?;
            let inner = self.unary(scope)?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if matches!(self.peek().map(|t| &t.tok), Some(Tok::LParen)) {
            self.i += 1;
            self.enter()?;
            let inner = self.or(scope)?;
            self.depth -= 1;
            self.expect(Tok::RParen, "')'")?;
            return Ok(inner);
        }
        self.condition(scope)
    }

    fn condition(&mut self, scope: Scope) -> Result<Expr, RuleError> {
        let prop_pos = self.pos();
        let prop = self.property(scope)?;
        let op_pos = self.pos();
        if self.at_keyword("any") || self.at_keyword("all") {
            let all = self.at_keyword("all");
            self.i += 1;
            return self.lambda(prop, all, scope, prop_pos);
        }
        let op = match self.peek().map(|t| &t.tok) {
            Some(Tok::Op(o)) | Some(Tok::Word(o)) => CmpOp::from_name(o),
            _ => None,
        };
        let Some(op) = op else {
            return Err(self.unexpected("an operator"));
        };
        self.i += 1;
        let value_pos = self.pos();
        let raw = self.value()?;
        let value = check_operand(&prop, op, raw, op_pos, value_pos)?;
        Ok(Expr::Compare { prop, op, value })
    }

    fn lambda(&mut self, prop: Prop, all: bool, scope: Scope, prop_pos: usize) -> Result<Expr, RuleError> {
        let word = if all { "-all" } else { "-any" };
        if scope != Scope::Top {
            return Err(RuleError::new(
                prop_pos,
                format!("Operator '{word}' cannot be nested inside '-any' or '-all'"),
            ));
        }
        let element = match prop.kind {
            Kind::StringCollection => Object::Element,
            Kind::Plans => Object::AssignedPlan,
            Kind::MemberOf => Object::Group,
            _ => {
                return Err(RuleError::new(
                    prop_pos,
                    format!("Invalid operands found for operator {word}: property '{prop}' is not multi-valued"),
                ));
            }
        };
        self.enter()?;
        let pred = if matches!(self.peek().map(|t| &t.tok), Some(Tok::LParen)) {
            self.i += 1;
            let inner = self.or(Scope::Elements(element))?;
            self.expect(Tok::RParen, "')'")?;
            inner
        } else {
            self.condition(Scope::Elements(element))?
        };
        self.depth -= 1;
        Ok(Expr::Lambda { prop, all, pred: Box::new(pred) })
    }

    fn word(&mut self, what: &str) -> Result<(String, usize), RuleError> {
        match self.peek() {
            Some(Token { tok: Tok::Word(w), pos }) => {
                let out = (w.clone(), *pos);
                self.i += 1;
                Ok(out)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn property(&mut self, scope: Scope) -> Result<Prop, RuleError> {
        let (object, pos) = self.word("a property such as user.department")?;
        if object == "_" {
            return match scope {
                Scope::Elements(Object::Element) => {
                    Ok(Prop { object: Object::Element, name: String::new(), kind: Kind::String })
                }
                _ => Err(RuleError::new(
                    pos,
                    "Wrong property applied. '_' stands for an element of a string collection inside -any or -all",
                )),
            };
        }
        if !matches!(self.peek().map(|t| &t.tok), Some(Tok::Dot)) {
            return Err(RuleError::new(
                pos,
                format!("Expected a property such as user.department but found '{object}'"),
            ));
        }
        self.i += 1;
        let (name, name_pos) = self.word("a property name")?;
        let lower = object.to_ascii_lowercase();
        match (scope, lower.as_str()) {
            (Scope::Top, "user" | "device") => {
                let subject = if lower == "user" { SubjectKind::User } else { SubjectKind::Device };
                match self.subject {
                    Some(s) if s != subject => {
                        return Err(RuleError::new(pos, "A rule cannot contain both user and device properties"));
                    }
                    _ => self.subject = Some(subject),
                }
                let (canonical, kind, _) = lookup(subject, &name).ok_or_else(|| {
                    RuleError::new(name_pos, format!("Property '{name}' is not supported for object '{lower}'"))
                })?;
                let object = if subject == SubjectKind::User { Object::User } else { Object::Device };
                Ok(Prop { object, name: canonical, kind })
            }
            (Scope::Elements(Object::AssignedPlan), "assignedplan") => {
                let canonical = PLAN_PROPERTIES.iter().find(|p| p.eq_ignore_ascii_case(&name)).ok_or_else(|| {
                    RuleError::new(name_pos, format!("Property '{name}' cannot be applied to object 'assignedPlan'"))
                })?;
                Ok(Prop { object: Object::AssignedPlan, name: canonical.to_string(), kind: Kind::String })
            }
            (Scope::Elements(Object::Group), "group") => {
                if !name.eq_ignore_ascii_case("objectId") {
                    return Err(RuleError::new(
                        name_pos,
                        format!("Wrong property applied. Property '{name}' cannot be applied to object 'Group'"),
                    ));
                }
                Ok(Prop { object: Object::Group, name: "objectId".into(), kind: Kind::String })
            }
            (Scope::Top, _) => Err(RuleError::new(
                pos,
                format!("Wrong property applied. '{object}.{name}' can only be used inside -any or -all"),
            )),
            (Scope::Elements(e), _) => Err(RuleError::new(
                pos,
                format!(
                    "Wrong property applied. Inside this -any or -all only {} can be used",
                    match e {
                        Object::AssignedPlan => "assignedPlan properties",
                        Object::Group => "group.objectId",
                        _ => "'_'",
                    }
                ),
            )),
        }
    }

    fn value(&mut self) -> Result<Raw, RuleError> {
        let Some(t) = self.next() else {
            return Err(RuleError::new(self.end, "Expected a value but the rule ends"));
        };
        match t.tok {
            Tok::Str(s) => Ok(Raw::Str(s)),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") || w.eq_ignore_ascii_case("$null") => Ok(Raw::Null),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Ok(Raw::Bool(true)),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Ok(Raw::Bool(false)),
            Tok::Word(w) if w.eq_ignore_ascii_case("system") => {
                self.expect(Tok::Dot, "'.now' after 'system'")?;
                let (now, now_pos) = self.word("'now'")?;
                if !now.eq_ignore_ascii_case("now") {
                    return Err(RuleError::new(now_pos, format!("Expected 'now' but found '{now}'")));
                }
                let sign = if self.at_keyword("plus") {
                    1
                } else if self.at_keyword("minus") {
                    -1
                } else {
                    return Ok(Raw::Now { shift: None, seconds: 0 });
                };
                self.i += 1;
                let (d, d_pos) = self.word("an ISO 8601 duration such as P1D")?;
                let seconds = duration_seconds(&d).ok_or_else(|| {
                    RuleError::new(d_pos, format!("Invalid duration '{d}'; use for example P1D or PT12H"))
                })?;
                Ok(Raw::Now { shift: Some(d.to_ascii_uppercase()), seconds: sign * seconds })
            }
            Tok::Word(w) if w.starts_with(|c: char| c.is_ascii_digit() || c == '-') => Ok(Raw::Bare(w)),
            Tok::LBracket => {
                let mut items = Vec::new();
                if matches!(self.peek().map(|t| &t.tok), Some(Tok::RBracket)) {
                    self.i += 1;
                    return Ok(Raw::List(items));
                }
                loop {
                    match self.next() {
                        Some(Token { tok: Tok::Str(s), .. }) => items.push(s),
                        Some(Token { tok: Tok::Word(w), .. })
                            if w.starts_with(|c: char| c.is_ascii_digit() || c == '-') =>
                        {
                            items.push(w)
                        }
                        Some(t) => {
                            return Err(RuleError::new(
                                t.pos,
                                format!("Expected a quoted value in the list but found {}", describe(&t.tok)),
                            ));
                        }
                        None => return Err(RuleError::new(self.end, "Expected ']' but the rule ends")),
                    }
                    match self.next() {
                        Some(Token { tok: Tok::Comma, .. }) => continue,
                        Some(Token { tok: Tok::RBracket, .. }) => return Ok(Raw::List(items)),
                        Some(t) => {
                            return Err(RuleError::new(
                                t.pos,
                                format!("Expected ',' or ']' but found {}", describe(&t.tok)),
                            ));
                        }
                        None => return Err(RuleError::new(self.end, "Expected ']' but the rule ends")),
                    }
                }
            }
            other => Err(RuleError::new(t.pos, format!("Expected a value but found {}", describe(&other)))),
        }
    }
}

/// `P[nW][nD][T[nH][nM][nS]]` in seconds; years and months (of no fixed length) are refused.
fn duration_seconds(text: &str) -> Option<i64> {
    let upper = text.to_ascii_uppercase();
    let rest = upper.strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut in_time = false;
    let mut number = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' if !in_time && number.is_empty() => in_time = true,
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                let factor = match (in_time, unit) {
                    (false, 'W') => 7 * 86_400,
                    (false, 'D') => 86_400,
                    (true, 'H') => 3_600,
                    (true, 'M') => 60,
                    (true, 'S') => 1,
                    _ => return None,
                };
                total = total.checked_add(n.checked_mul(factor)?)?;
            }
        }
    }
    number.is_empty().then_some(total)
}

/// Checks a value against the property's kind and the operator, giving the typed operand.
fn check_operand(prop: &Prop, op: CmpOp, raw: Raw, op_pos: usize, value_pos: usize) -> Result<Operand, RuleError> {
    let wrong_operator =
        || RuleError::new(op_pos, format!("Operator '-{}' cannot be applied to property '{prop}'", op.name()));
    let invalid = |what: &str| {
        RuleError::new(value_pos, format!("Invalid operand for operator '-{}' on property '{prop}': {what}", op.name()))
    };
    match prop.kind {
        Kind::Plans | Kind::MemberOf => Err(RuleError::new(
            op_pos,
            format!("Property '{prop}' is multi-valued; use -any or -all, e.g. {prop} -any (...)"),
        )),
        Kind::Bool => {
            if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                return Err(wrong_operator());
            }
            match raw {
                Raw::Bool(b) => Ok(Operand::Bool(b)),
                Raw::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Operand::Bool(true)),
                Raw::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Operand::Bool(false)),
                Raw::Null => Ok(Operand::Null),
                _ => Err(invalid("expected true or false")),
            }
        }
        Kind::DateTime => {
            if !matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) {
                return Err(wrong_operator());
            }
            match raw {
                Raw::Null if matches!(op, CmpOp::Eq | CmpOp::Ne) => Ok(Operand::Null),
                Raw::Now { shift, seconds } => Ok(Operand::Now { shift, seconds }),
                Raw::Str(s) | Raw::Bare(s) => crate::validate::normalise_datetime(&s)
                    .map(Operand::DateTime)
                    .ok_or_else(|| invalid("expected a date-time such as 2020-06-10T18:13:20Z or system.now")),
                _ => Err(invalid("expected a date-time such as 2020-06-10T18:13:20Z or system.now")),
            }
        }
        Kind::String | Kind::StringCollection => match op {
            CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => Err(wrong_operator()),
            CmpOp::In | CmpOp::NotIn => match raw {
                Raw::List(items) => Ok(Operand::List(items)),
                _ => Err(invalid("expected a list of values in brackets, e.g. [\"a\", \"b\"]")),
            },
            _ => {
                let text = match raw {
                    Raw::Str(s) | Raw::Bare(s) => s,
                    Raw::Null if matches!(op, CmpOp::Eq | CmpOp::Ne) => return Ok(Operand::Null),
                    Raw::Null => return Err(invalid("null can only be compared with -eq or -ne")),
                    Raw::List(_) => return Err(invalid("a list of values takes -in or -notIn")),
                    _ => return Err(invalid("expected a quoted string")),
                };
                if matches!(op, CmpOp::Match | CmpOp::NotMatch) {
                    let re = regex::RegexBuilder::new(&text)
                        .case_insensitive(true)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|_| RuleError::new(value_pos, format!("Invalid regular expression \"{text}\"")))?;
                    return Ok(Operand::Regex(re));
                }
                Ok(Operand::Str(text))
            }
        },
    }
}
