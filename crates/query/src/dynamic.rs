//! Properties an object carries beyond its type's declaration, defined per tenant at run time:
//! directory extensions (`extension_{appIdWithoutDashes}_{name}`, one primitive value or a
//! collection of them) and schema extensions (a complex value named by the schema extension's
//! id, with the members the schema extension declares).
//!
//! The schema layer's declarations are static; these are not, so a front-end looks the
//! tenant's definitions up (through the directory) and passes them to
//! [`crate::parse_list_options_with`]. They then work in `$select` (Graph returns them only
//! when selected) and in `$filter`, compiled to the same store plan as declared properties.

use cerulean_schema::EdmType;
use cerulean_store::PropPath;

use crate::error::{QueryError, unknown_property_text};

/// The property of custom security attribute values; a searchable attribute is passed as a
/// dynamic property named `customSecurityAttributes/{set}/{attribute}` (canonical case).
pub const CUSTOM_SECURITY_ATTRIBUTES: &str = "customSecurityAttributes";

/// One tenant-defined property of an entity type.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicProperty {
    /// The stored (canonical) name.
    pub name: String,
    /// The value's type; `EdmType::Complex("")` for a schema extension, whose members are in
    /// `members`.
    pub ty: EdmType,
    pub collection: bool,
    /// A schema extension's members: name and type.
    pub members: Vec<(String, EdmType)>,
}

impl DynamicProperty {
    /// A directory extension of a primitive type.
    pub fn primitive(name: impl Into<String>, ty: EdmType, collection: bool) -> DynamicProperty {
        DynamicProperty { name: name.into(), ty, collection, members: Vec::new() }
    }

    /// A schema extension: a complex value with these members.
    pub fn complex(name: impl Into<String>, members: Vec<(String, EdmType)>) -> DynamicProperty {
        DynamicProperty { name: name.into(), ty: EdmType::Complex(""), collection: false, members }
    }

    pub fn is_complex(&self) -> bool {
        matches!(self.ty, EdmType::Complex(_))
    }

    /// Resolves `self` followed by `rest` (a schema extension's member) into a store path, the
    /// type there, whether it is a collection, and the last segment's name.
    pub(crate) fn resolve(
        &self,
        rest: &[String],
        entity: &str,
    ) -> Result<(PropPath, EdmType, bool, String), QueryError> {
        match rest {
            [] => Ok((PropPath::of(&self.name), self.ty, self.collection, self.name.clone())),
            [member] if self.is_complex() => {
                let Some((name, ty)) = self.members.iter().find(|(n, _)| n.eq_ignore_ascii_case(member)) else {
                    return Err(QueryError::bad_request(format!(
                        "Invalid filter clause: {}",
                        unknown_property_text(member, &self.name)
                    )));
                };
                Ok((PropPath(vec![self.name.clone(), name.clone()]), *ty, false, name.clone()))
            }
            _ => Err(QueryError::unfilterable(&self.name, entity)),
        }
    }
}

/// The definition named `name` (case-insensitively, as Graph matches property names).
pub fn find<'a>(dynamic: &'a [DynamicProperty], name: &str) -> Option<&'a DynamicProperty> {
    dynamic.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// True when a query text may name a tenant-defined property: every extension name holds an
/// underscore and no declared Graph property name does, so a front-end can skip looking the
/// definitions up for the (overwhelmingly common) queries that do not.
pub fn may_name_extension(text: &str) -> bool {
    text.contains('_')
}
