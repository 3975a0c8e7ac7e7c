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
    ComplexType { name, base: None, properties, open: false, is_abstract: false }
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

// ---- Organization and domains (issue 4, item 8) ----
//
// Flags follow the "organization" and "domain" resource pages. On `organization` the business
// address, phones, notification mail lists, privacy profile and `preferredLanguage` are
// writable (the issue asks for the business address to be editable; Graph v1.0's "Update
// organization" lists the notification lists, `privacyProfile` and `onPremisesSyncEnabled`);
// what Entra computes (`verifiedDomains`, plans, `createdDateTime`, `tenantType`, `displayName`,
// `countryLetterCode`) is read-only. On `domain` only `isDefault`, `supportedServices` and the
// password policy are writable ("Update domain"); `id` (the name) is set on create.

/// The tenant (`/organization`): one object whose id is the tenant id.
pub static ORGANIZATION: EntityType = EntityType {
    name: "organization",
    base: Some("directoryObject"),
    entity_set: Some("organization"),
    properties: &[
        P::collection("assignedPlans", T::Complex("assignedPlan"), fl!(R, D)),
        P::collection("businessPhones", STR, D),
        P::new("city", STR, fl!(N, D)),
        P::new("country", STR, fl!(N, D)),
        P::new("countryLetterCode", STR, fl!(N, R, D)),
        P::new("createdDateTime", DTO, fl!(N, R, D)),
        P::new("defaultUsageLocation", STR, fl!(N, D)),
        P::new("displayName", STR, fl!(N, R, D)),
        P::collection("marketingNotificationEmails", STR, D),
        P::new("mobileDeviceManagementAuthority", T::Enum("mdmAuthority"), fl!(R, D)),
        P::new("onPremisesLastSyncDateTime", DTO, fl!(N, R, D)),
        P::new("onPremisesSyncEnabled", BOOL, fl!(N, D)),
        P::new("partnerTenantType", T::Enum("partnerTenantType"), fl!(N, R, D)),
        P::new("postalCode", STR, fl!(N, D)),
        P::new("preferredLanguage", STR, fl!(N, D)),
        P::new("privacyProfile", T::Complex("privacyProfile"), fl!(N, D)),
        P::collection("provisionedPlans", T::Complex("provisionedPlan"), fl!(R, D)),
        P::collection("securityComplianceNotificationMails", STR, D),
        P::collection("securityComplianceNotificationPhones", STR, D),
        P::new("state", STR, fl!(N, D)),
        P::new("street", STR, fl!(N, D)),
        P::collection("technicalNotificationMails", STR, D),
        P::new("tenantType", STR, fl!(N, R, D)),
        P::collection("verifiedDomains", T::Complex("verifiedDomain"), fl!(R, D)),
    ],
    navigation: &[],
    is_abstract: false,
    open: true,
    inherited_defaults: &[],
};

/// A domain of the tenant (`/domains/{name}`): the id is the fully qualified name.
pub static DOMAIN: EntityType = EntityType {
    name: "domain",
    base: None,
    entity_set: Some("domains"),
    properties: &[
        // Declared on `graph.entity` in the CSDL: the domain name, given on create.
        P::new("id", STR, fl!(F, D, Q, C)),
        P::new("authenticationType", STR, fl!(R, D)),
        P::new("availabilityStatus", STR, fl!(N, R, D)),
        P::new("isAdminManaged", BOOL, fl!(R, D)),
        P::new("isDefault", BOOL, D),
        P::new("isInitial", BOOL, fl!(R, D)),
        P::new("isRoot", BOOL, fl!(R, D)),
        P::new("isVerified", BOOL, fl!(R, D)),
        P::new("manufacturer", STR, fl!(N, R, D)),
        P::new("model", STR, fl!(N, R, D)),
        P::new("passwordNotificationWindowInDays", INT, fl!(N, D)),
        P::new("passwordValidityPeriodInDays", INT, fl!(N, D)),
        P::new("state", T::Complex("domainState"), fl!(N, R, D)),
        P::collection("supportedServices", STR, D),
    ],
    navigation: &[
        Nav::many("domainNameReferences", "directoryObject"),
        Nav::many("serviceConfigurationRecords", "domainDnsRecord").contained(),
        Nav::many("verificationDnsRecords", "domainDnsRecord").contained(),
    ],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A DNS record a domain needs (`verificationDnsRecords`, `serviceConfigurationRecords`).
pub static DOMAIN_DNS_RECORD: EntityType = EntityType {
    name: "domainDnsRecord",
    base: None,
    entity_set: None,
    properties: &[
        P::new("id", STR, fl!(R, D)),
        P::new("isOptional", BOOL, fl!(R, D)),
        P::new("label", STR, fl!(R, D)),
        P::new("recordType", STR, fl!(N, R, D)),
        P::new("supportedService", STR, fl!(R, D)),
        P::new("ttl", INT, fl!(R, D)),
    ],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// The TXT record that proves ownership (`MS=ms{code}`), and SPF for Exchange.
pub static DOMAIN_DNS_TXT_RECORD: EntityType = EntityType {
    name: "domainDnsTxtRecord",
    base: Some("domainDnsRecord"),
    entity_set: None,
    properties: &[P::new("text", STR, fl!(R, D))],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// The MX alternative of the verification record, and Exchange's mail exchanger.
pub static DOMAIN_DNS_MX_RECORD: EntityType = EntityType {
    name: "domainDnsMxRecord",
    base: Some("domainDnsRecord"),
    entity_set: None,
    properties: &[P::new("mailExchange", STR, fl!(R, D)), P::new("preference", INT, fl!(N, R, D))],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A CNAME a service needs (`autodiscover`, `lyncdiscover`, ...).
pub static DOMAIN_DNS_CNAME_RECORD: EntityType = EntityType {
    name: "domainDnsCnameRecord",
    base: Some("domainDnsRecord"),
    entity_set: None,
    properties: &[P::new("canonicalName", STR, fl!(N, R, D))],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

pub static VERIFIED_DOMAIN: ComplexType = complex(
    "verifiedDomain",
    &[
        P::new("capabilities", STR, N),
        P::new("isDefault", BOOL, N),
        P::new("isInitial", BOOL, N),
        P::new("name", STR, N),
        P::new("type", STR, N),
    ],
);

pub static PRIVACY_PROFILE: ComplexType =
    complex("privacyProfile", &[P::new("contactEmail", STR, N), P::new("statementUrl", STR, N)]);

pub static DOMAIN_STATE: ComplexType = complex(
    "domainState",
    &[P::new("lastActionDateTime", DTO, N), P::new("operation", STR, N), P::new("status", STR, N)],
);

pub static MDM_AUTHORITY: EnumType =
    EnumType { name: "mdmAuthority", members: &["unknown", "intune", "sccm", "office365"], values: &[0, 1, 2, 3] };

pub static PARTNER_TENANT_TYPE: EnumType = EnumType {
    name: "partnerTenantType",
    members: &[
        "microsoftSupport",
        "syndicatePartner",
        "breadthPartner",
        "breadthPartnerDelegatedAdmin",
        "resellerPartnerDelegatedAdmin",
        "valueAddedResellerPartnerDelegatedAdmin",
        "unknownFutureValue",
    ],
    values: &[1, 2, 3, 4, 5, 6, 7],
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
