//! Directory objects beyond users and groups: `device`, `orgContact` and `administrativeUnit`,
//! with the complex and enum types they use. Names, EDM types and nullability follow the Graph
//! v1.0 CSDL (checked by `crates/schema/tests/reference.rs`); the flags follow the "device
//! resource type", "orgContact resource type" and "administrativeUnit resource type" pages
//! (every property is returned by default on these types; `$filter`, `$orderby`, `$search`,
//! read-only and required on create as those pages say).
//!
//! Deliberate differences from the resource pages, for a directory that has no Intune nor
//! Device Registration Service behind it: `isCompliant`, `isManaged`, `trustType` and
//! `approximateLastSignInDateTime` are writable (those services write them through the same
//! API in Entra), so that clients can register devices as they would be seen after enrolment.

use crate::types::{ComplexType, EdmType as T, EntityType, EnumType, Flags, NavProperty as Nav, Property as P};

macro_rules! fl {
    ($($f:ident),+) => { Flags(0 $(| $f.0)+) };
}

const Q: Flags = Flags::REQUIRED;
const R: Flags = Flags::READ_ONLY;
const F: Flags = Flags::FILTER;
const S: Flags = Flags::SORT;
const D: Flags = Flags::DEFAULT;
const N: Flags = Flags::NULLABLE;
const X: Flags = Flags::SEARCH;
const C: Flags = Flags::CREATE_ONLY;

const STR: T = T::String;
const BOOL: T = T::Boolean;
const INT: T = T::Int32;
const DTO: T = T::DateTimeOffset;

/// A device registered in the directory ("Create device": `accountEnabled`,
/// `alternativeSecurityIds`, `deviceId`, `displayName`, `operatingSystem` and
/// `operatingSystemVersion` are required, as `New-AzureADDevice` and `New-EntraDevice` state).
pub static DEVICE: EntityType = EntityType {
    name: "device",
    base: Some("directoryObject"),
    entity_set: Some("devices"),
    properties: &[
        P::new("accountEnabled", BOOL, fl!(N, F, D, Q)),
        P::collection("alternativeSecurityIds", T::Complex("alternativeSecurityId"), fl!(D, Q)),
        P::new("approximateLastSignInDateTime", DTO, fl!(N, F, S, D)).aad("approximateLastLogonTimestamp"),
        P::new("complianceExpirationDateTime", DTO, fl!(N, R, D)).aad("complianceExpiryTime"),
        P::new("deviceCategory", STR, fl!(N, D)),
        // The alternate key of the device (`devices(deviceId='...')`), fixed at registration.
        P::new("deviceId", STR, fl!(N, F, D, Q, C)),
        P::new("deviceMetadata", STR, fl!(N, D)),
        P::new("deviceOwnership", STR, fl!(N, D)),
        P::new("deviceVersion", INT, fl!(N, D)).aad("deviceObjectVersion"),
        P::new("displayName", STR, fl!(N, F, S, D, Q, X)),
        P::new("enrollmentProfileName", STR, fl!(N, D)),
        P::new("enrollmentType", STR, fl!(N, D)),
        P::new("isCompliant", BOOL, fl!(N, F, D)),
        P::new("isManaged", BOOL, fl!(N, F, D)),
        P::new("isManagementRestricted", BOOL, fl!(N, R)),
        P::new("isRooted", BOOL, fl!(N, D)),
        P::new("managementType", STR, fl!(N, D)),
        P::new("manufacturer", STR, fl!(N, D)).aad("deviceManufacturer"),
        P::new("mdmAppId", STR, fl!(N, D)).aad("deviceManagementAppId"),
        P::new("model", STR, fl!(N, D)).aad("deviceModel"),
        P::new("onPremisesLastSyncDateTime", DTO, fl!(N, R, F, D)).aad("lastDirSyncTime"),
        P::new("onPremisesSecurityIdentifier", STR, fl!(N, R, F, D)),
        P::new("onPremisesSyncEnabled", BOOL, fl!(N, R, F, D)).aad("dirSyncEnabled"),
        P::new("operatingSystem", STR, fl!(N, F, D, Q)).aad("deviceOSType"),
        P::new("operatingSystemVersion", STR, fl!(N, F, D, Q)).aad("deviceOSVersion"),
        P::collection("physicalIds", STR, fl!(F, D)).aad("devicePhysicalIds"),
        P::new("profileType", STR, fl!(N, F, D)),
        P::new("registrationDateTime", DTO, fl!(N, R, D)),
        P::collection("systemLabels", STR, fl!(F, D)),
        P::new("trustType", STR, fl!(N, F, D)).aad("deviceTrustType"),
    ],
    navigation: &[
        Nav::many("memberOf", "directoryObject"),
        Nav::many("registeredOwners", "directoryObject"),
        Nav::many("registeredUsers", "directoryObject"),
        Nav::many("transitiveMemberOf", "directoryObject"),
    ],
    is_abstract: false,
    open: true,
    inherited_defaults: &["deletedDateTime"],
};

/// An organizational contact: synchronised from on-premises or imported, never created
/// through Graph.
pub static ORG_CONTACT: EntityType = EntityType {
    name: "orgContact",
    base: Some("directoryObject"),
    entity_set: Some("contacts"),
    properties: &[
        P::collection("addresses", T::Complex("physicalOfficeAddress"), fl!(N, D)),
        P::new("companyName", STR, fl!(N, F, D)),
        P::new("department", STR, fl!(N, F, D)),
        P::new("displayName", STR, fl!(N, F, S, D, X)),
        P::new("givenName", STR, fl!(N, F, D)),
        P::new("jobTitle", STR, fl!(N, F, D)),
        P::new("mail", STR, fl!(N, F, D)),
        P::new("mailNickname", STR, fl!(N, F, D)),
        P::new("onPremisesLastSyncDateTime", DTO, fl!(N, R, F, D)).aad("lastDirSyncTime"),
        P::collection("onPremisesProvisioningErrors", T::Complex("onPremisesProvisioningError"), fl!(N, R, F, D)),
        P::new("onPremisesSyncEnabled", BOOL, fl!(N, R, F, D)).aad("dirSyncEnabled"),
        P::collection("phones", T::Complex("phone"), fl!(N, D)),
        P::collection("proxyAddresses", STR, fl!(R, F, D)),
        P::collection("serviceProvisioningErrors", T::Complex("serviceProvisioningError"), fl!(N, R, F, D)),
        P::new("surname", STR, fl!(N, F, D)),
    ],
    navigation: &[
        Nav::many("directReports", "directoryObject"),
        Nav::one("manager", "directoryObject"),
        Nav::many("memberOf", "directoryObject"),
        Nav::many("transitiveMemberOf", "directoryObject"),
    ],
    is_abstract: false,
    open: true,
    inherited_defaults: &["deletedDateTime"],
};

/// An administrative unit (`/directory/administrativeUnits`; v1.0 has no entity set of its
/// own). `visibility` is `Public` (default) or `HiddenMembership`, set on create only.
pub static ADMINISTRATIVE_UNIT: EntityType = EntityType {
    name: "administrativeUnit",
    base: Some("directoryObject"),
    entity_set: None,
    properties: &[
        P::new("description", STR, fl!(N, F, D, X)),
        P::new("displayName", STR, fl!(N, F, S, D, Q, X)),
        P::new("isMemberManagementRestricted", BOOL, fl!(N, F, D, C)),
        P::new("membershipRule", STR, fl!(N, F, D)),
        P::new("membershipRuleProcessingState", STR, fl!(N, F, D)),
        P::new("membershipType", STR, fl!(N, F, D)),
        P::new("visibility", STR, fl!(N, F, D, C)),
    ],
    navigation: &[Nav::many("members", "directoryObject")],
    is_abstract: false,
    open: true,
    inherited_defaults: &["deletedDateTime"],
};

/// A complex type that is neither open nor abstract.
const fn complex(name: &'static str, properties: &'static [P]) -> ComplexType {
    ComplexType { name, properties, open: false, is_abstract: false }
}

pub static ALTERNATIVE_SECURITY_ID: ComplexType = complex(
    "alternativeSecurityId",
    &[P::new("identityProvider", STR, N), P::new("key", T::Binary, N), P::new("type", INT, N)],
);

pub static PHONE: ComplexType = complex(
    "phone",
    &[
        P::new("language", STR, N),
        P::new("number", STR, N),
        P::new("region", STR, N),
        P::new("type", T::Enum("phoneType"), N),
    ],
);

pub static PHYSICAL_OFFICE_ADDRESS: ComplexType = complex(
    "physicalOfficeAddress",
    &[
        P::new("city", STR, N),
        P::new("countryOrRegion", STR, N),
        P::new("officeLocation", STR, N),
        P::new("postalCode", STR, N),
        P::new("state", STR, N),
        P::new("street", STR, N),
    ],
);

pub static PHONE_TYPE: EnumType = EnumType {
    name: "phoneType",
    members: &[
        "home",
        "business",
        "mobile",
        "other",
        "assistant",
        "homeFax",
        "businessFax",
        "otherFax",
        "pager",
        "radio",
    ],
    values: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
};

/// A directory extension definition (`/applications/{id}/extensionProperties`): the
/// application that defines it owns it, and `name` is `extension_{appIdWithoutDashes}_{name}`.
/// Everything is set on create; Graph has no update of an extension property.
pub static EXTENSION_PROPERTY: EntityType = EntityType {
    name: "extensionProperty",
    base: Some("directoryObject"),
    entity_set: None,
    properties: &[
        P::new("appDisplayName", STR, fl!(N, R, D)),
        P::new("dataType", STR, fl!(D, Q, C)),
        P::new("isMultiValued", BOOL, fl!(D, C)),
        P::new("isSyncedFromOnPremises", BOOL, fl!(N, R, D)),
        P::new("name", STR, fl!(F, D, Q, C)),
        P::collection("targetObjects", STR, fl!(D, Q, C)),
    ],
    navigation: &[],
    is_abstract: false,
    open: true,
    inherited_defaults: &["deletedDateTime"],
};

/// A partner relationship (`/contracts`): read-only through Graph; entries come from fixtures.
pub static CONTRACT: EntityType = EntityType {
    name: "contract",
    base: Some("directoryObject"),
    entity_set: Some("contracts"),
    properties: &[
        P::new("contractType", STR, fl!(N, R, F, D)),
        P::new("customerId", T::Guid, fl!(N, R, F, D)),
        P::new("defaultDomainName", STR, fl!(N, R, F, D)),
        P::new("displayName", STR, fl!(N, R, F, D)),
    ],
    navigation: &[],
    is_abstract: false,
    open: true,
    inherited_defaults: &["deletedDateTime"],
};

/// The abstract base of extensions (`/users/{id}/extensions`); open type.
pub static EXTENSION: EntityType = EntityType {
    name: "extension",
    base: None,
    entity_set: None,
    // Declared on `graph.entity` in the CSDL: an open extension's id is its name.
    properties: &[P::new("id", STR, fl!(R, D))],
    navigation: &[],
    is_abstract: true,
    open: true,
    inherited_defaults: &[],
};

/// An open extension: a name and untyped custom properties.
pub static OPEN_TYPE_EXTENSION: EntityType = EntityType {
    name: "openTypeExtension",
    base: Some("extension"),
    entity_set: None,
    properties: &[P::new("extensionName", STR, fl!(D, Q, C))],
    navigation: &[],
    is_abstract: false,
    open: true,
    inherited_defaults: &[],
};
