//! The vocabulary of declarations: EDM types, properties, flags, entity and complex types.

/// An EDM primitive or a reference to a declared complex or enum type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdmType {
    String,
    Boolean,
    Int32,
    Int64,
    Double,
    /// `Edm.DateTimeOffset`, stored and returned as RFC 3339 UTC (`2024-01-02T03:04:05Z`).
    DateTimeOffset,
    /// `Edm.Date` (`2024-01-02`).
    Date,
    Guid,
    /// `Edm.Binary`, base64 on the wire.
    Binary,
    /// `Edm.Stream`; never part of the JSON document.
    Stream,
    /// A complex type declared in [`crate::entities::COMPLEX`], by name.
    Complex(&'static str),
    /// An enum type declared in [`crate::entities::ENUMS`], by name; a string on the wire.
    Enum(&'static str),
}

impl EdmType {
    /// The qualified CSDL name (`Edm.String`, `microsoft.graph.passwordProfile`).
    pub fn csdl_name(&self) -> String {
        match self {
            EdmType::String => "Edm.String".into(),
            EdmType::Boolean => "Edm.Boolean".into(),
            EdmType::Int32 => "Edm.Int32".into(),
            EdmType::Int64 => "Edm.Int64".into(),
            EdmType::Double => "Edm.Double".into(),
            EdmType::DateTimeOffset => "Edm.DateTimeOffset".into(),
            EdmType::Date => "Edm.Date".into(),
            EdmType::Guid => "Edm.Guid".into(),
            EdmType::Binary => "Edm.Binary".into(),
            EdmType::Stream => "Edm.Stream".into(),
            EdmType::Complex(n) | EdmType::Enum(n) => format!("microsoft.graph.{n}"),
        }
    }

    /// True for types whose values are JSON strings (and so compare as strings).
    pub fn is_stringlike(&self) -> bool {
        matches!(
            self,
            EdmType::String
                | EdmType::DateTimeOffset
                | EdmType::Date
                | EdmType::Guid
                | EdmType::Binary
                | EdmType::Enum(_)
        )
    }
}

/// Per-property flags. Combine with `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u32);

impl Flags {
    pub const NONE: Flags = Flags(0);
    /// Must be supplied on create.
    pub const REQUIRED: Flags = Flags(1);
    /// Set by the server; a client that sends it gets `Request_BadRequest`.
    pub const READ_ONLY: Flags = Flags(1 << 1);
    /// Usable in `$filter`.
    pub const FILTER: Flags = Flags(1 << 2);
    /// Usable in `$orderby`.
    pub const SORT: Flags = Flags(1 << 3);
    /// Part of the default property set returned without `$select`.
    pub const DEFAULT: Flags = Flags(1 << 4);
    /// Accepted on create and update but never returned (for example `passwordProfile`).
    pub const WRITE_ONLY: Flags = Flags(1 << 5);
    /// May be null (nullable in CSDL). Non-nullable properties are declared without it.
    pub const NULLABLE: Flags = Flags(1 << 6);
    /// Usable in `$search` (tokenized, with `ConsistencyLevel: eventual`).
    pub const SEARCH: Flags = Flags(1 << 7);
    /// Settable on create only; a PATCH that sends it is refused.
    pub const CREATE_ONLY: Flags = Flags(1 << 8);

    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

/// One declared property.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// The Graph v1.0 name, exactly as in the CSDL.
    pub name: &'static str,
    pub ty: EdmType,
    /// `Collection(...)` of `ty`.
    pub collection: bool,
    pub flags: Flags,
    /// The Azure AD Graph 1.6 name where it differs (`mobile` for `mobilePhone`).
    pub aad_name: Option<&'static str>,
}

impl Property {
    pub const fn new(name: &'static str, ty: EdmType, flags: Flags) -> Property {
        Property { name, ty, collection: false, flags, aad_name: None }
    }
    pub const fn collection(name: &'static str, ty: EdmType, flags: Flags) -> Property {
        Property { name, ty, collection: true, flags, aad_name: None }
    }
    pub const fn aad(mut self, aad_name: &'static str) -> Property {
        self.aad_name = Some(aad_name);
        self
    }
    pub fn is(&self, flag: Flags) -> bool {
        self.flags.contains(flag)
    }
}

/// A navigation property (relationship) of an entity type.
#[derive(Debug, Clone, Copy)]
pub struct NavProperty {
    pub name: &'static str,
    /// The target entity type's name.
    pub target: &'static str,
    pub collection: bool,
    /// `ContainsTarget="true"` in the CSDL (the targets live inside the parent).
    pub contains_target: bool,
}

impl NavProperty {
    /// A single-valued relationship (`manager`).
    pub const fn one(name: &'static str, target: &'static str) -> NavProperty {
        NavProperty { name, target, collection: false, contains_target: false }
    }
    /// A collection-valued relationship (`memberOf`).
    pub const fn many(name: &'static str, target: &'static str) -> NavProperty {
        NavProperty { name, target, collection: true, contains_target: false }
    }
    /// Marks the relationship as containment (`ContainsTarget="true"`).
    pub const fn contained(mut self) -> NavProperty {
        self.contains_target = true;
        self
    }
}

/// A declared entity type.
#[derive(Debug)]
pub struct EntityType {
    /// The Graph name (`user`).
    pub name: &'static str,
    /// The base type's name (`directoryObject`), if any.
    pub base: Option<&'static str>,
    /// The entity set at the service root (`users`), if it has one.
    pub entity_set: Option<&'static str>,
    /// Properties declared on this type (not its base).
    pub properties: &'static [Property],
    pub navigation: &'static [NavProperty],
    pub is_abstract: bool,
    /// An open type (`OpenType="true"`): accepts undeclared (extension) properties.
    pub open: bool,
    /// Base-type properties this type returns by default although the base type does not
    /// (groups return `deletedDateTime`, users do not).
    pub inherited_defaults: &'static [&'static str],
}

impl EntityType {
    /// `#microsoft.graph.user`
    pub fn odata_type(&self) -> String {
        format!("#microsoft.graph.{}", self.name)
    }

    /// This type's properties followed by those of its base types.
    pub fn all_properties(&self) -> Vec<&'static Property> {
        let mut out: Vec<&'static Property> = self.properties.iter().collect();
        let mut base = self.base;
        while let Some(b) = base.and_then(crate::entity) {
            out.extend(b.properties.iter());
            base = b.base;
        }
        out
    }

    /// Finds a property by name (case-insensitively, as Graph does), on this type or a base.
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        // On the hot path (shaping every response): walk the chain without allocating.
        let mut found = self.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name));
        let mut base = self.base;
        while found.is_none()
            && let Some(b) = base.and_then(crate::entity)
        {
            found = b.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name));
            base = b.base;
        }
        found
    }

    /// Finds a navigation property by name on this type or a base.
    pub fn navigation_property(&self, name: &str) -> Option<&'static NavProperty> {
        let mut ty = Some(self);
        while let Some(t) = ty {
            if let Some(n) = t.navigation.iter().find(|n| n.name.eq_ignore_ascii_case(name)) {
                return Some(n);
            }
            ty = t.base.and_then(crate::entity);
        }
        None
    }

    /// Names of the properties returned when no `$select` is given.
    pub fn default_properties(&self) -> Vec<&'static str> {
        // Base-type properties (the `id`) come first, as Graph returns them.
        let mut props = self.all_properties();
        props.reverse();
        props
            .into_iter()
            .filter(|p| p.is(Flags::DEFAULT) || self.inherited_defaults.contains(&p.name))
            .map(|p| p.name)
            .collect()
    }

    /// True when this type is `other` or derives from it.
    pub fn is_a(&self, other: &str) -> bool {
        let mut ty = Some(self);
        while let Some(t) = ty {
            if t.name.eq_ignore_ascii_case(other) {
                return true;
            }
            ty = t.base.and_then(crate::entity);
        }
        false
    }
}

/// A declared complex type.
#[derive(Debug)]
pub struct ComplexType {
    pub name: &'static str,
    /// The base complex type's name (`ipRange` for `iPv4CidrRange`), if any: values of a
    /// derived type carry `@odata.type` and the base type's properties too.
    pub base: Option<&'static str>,
    /// Properties declared on this type (not its base).
    pub properties: &'static [Property],
    /// An open type (`OpenType="true"`, e.g. `customSecurityAttributeValue`).
    pub open: bool,
    /// `Abstract="true"`: values on the wire are of a derived type and carry `@odata.type`.
    pub is_abstract: bool,
}

impl ComplexType {
    /// Finds a property by name (case-insensitively), on this type or a base.
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        let mut found = self.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name));
        let mut base = self.base;
        while found.is_none()
            && let Some(b) = base.and_then(crate::complex)
        {
            found = b.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name));
            base = b.base;
        }
        found
    }
}

/// A declared enum type (values are strings on the wire).
#[derive(Debug)]
pub struct EnumType {
    pub name: &'static str,
    pub members: &'static [&'static str],
    /// The CSDL `Value` of each member, parallel to `members`.
    pub values: &'static [i64],
}

impl EnumType {
    /// The member with this name (case-insensitively, as Graph accepts enum literals).
    pub fn member(&self, name: &str) -> Option<&'static str> {
        self.members.iter().copied().find(|m| m.eq_ignore_ascii_case(name))
    }

    /// The CSDL value of a member.
    pub fn value_of(&self, name: &str) -> Option<i64> {
        let i = self.members.iter().position(|m| m.eq_ignore_ascii_case(name))?;
        self.values.get(i).copied()
    }
}
