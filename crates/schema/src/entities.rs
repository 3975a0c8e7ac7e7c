//! The declared entity, complex and enum types. Names and EDM types follow the Graph v1.0
//! CSDL (`reference/msgraph-metadata/v1.0-cleanMetadata.xml`); the flags follow the property
//! descriptions of the Graph v1.0 `user` and `group` resource pages ("Returned by default",
//! "Supports `$filter`", "`$orderby`", "`$search`", "Read-only", "Required"). The 1.6 names are
//! those of the Azure AD Graph reference (`seeds/003_*.txt`).
//!
//! `crates/schema/tests/reference.rs` checks every name, type, collection-ness and nullability
//! here against the CSDL, and that each entity and complex type declares every structural
//! property the CSDL lists for it.

use crate::entities_apps as apps;
use crate::entities_conditional_access as ca;
use crate::entities_directory as dir;
use crate::entities_licences as lic;
use crate::entities_policies as policies;
use crate::entities_roles as roles;
use crate::types::{ComplexType, EdmType as T, EntityType, EnumType, Flags, NavProperty as Nav, Property as P};

/// Combines flags in a `const` context: `fl!(N, F, D)`.
macro_rules! fl {
    ($($f:ident),+) => { Flags(0 $(| $f.0)+) };
}

const NONE: Flags = Flags::NONE;
/// Required on create.
const Q: Flags = Flags::REQUIRED;
const R: Flags = Flags::READ_ONLY;
const F: Flags = Flags::FILTER;
const S: Flags = Flags::SORT;
const D: Flags = Flags::DEFAULT;
/// Write-only: accepted, never returned.
const W: Flags = Flags::WRITE_ONLY;
const N: Flags = Flags::NULLABLE;
/// `$search`.
const X: Flags = Flags::SEARCH;
/// Settable on create only.
const C: Flags = Flags::CREATE_ONLY;

const STR: T = T::String;
const BOOL: T = T::Boolean;
const INT: T = T::Int32;
const DTO: T = T::DateTimeOffset;
const GUID: T = T::Guid;

pub static DIRECTORY_OBJECT: EntityType = EntityType {
    name: "directoryObject",
    base: None,
    entity_set: Some("directoryObjects"),
    properties: &[
        // Declared on `graph.entity` in the CSDL; directoryObject is Cerulean's root type.
        P::new("id", STR, fl!(R, F, D)).aad("objectId"),
        P::new("deletedDateTime", DTO, fl!(N, R, F, S)).aad("deletionTimestamp"),
    ],
    navigation: &[],
    is_abstract: false,
    open: true,
    inherited_defaults: &[],
};

pub static USER: EntityType = EntityType {
    name: "user",
    base: Some("directoryObject"),
    entity_set: Some("users"),
    properties: &[
        P::new("aboutMe", STR, N),
        P::new("accountEnabled", BOOL, fl!(N, F, Q)),
        P::new("ageGroup", STR, fl!(N, F)),
        P::collection("assignedLicenses", T::Complex("assignedLicense"), fl!(R, F)),
        P::collection("assignedPlans", T::Complex("assignedPlan"), fl!(R, F)),
        P::new("authorizationInfo", T::Complex("authorizationInfo"), fl!(N, F)),
        P::new("birthday", DTO, NONE),
        P::collection("businessPhones", STR, fl!(F, D)).aad("telephoneNumber"),
        P::new("city", STR, fl!(N, F)),
        P::new("companyName", STR, fl!(N, F)),
        P::new("consentProvidedForMinor", STR, fl!(N, F)),
        P::new("country", STR, fl!(N, F)),
        P::new("createdDateTime", DTO, fl!(N, R, F)),
        P::new("creationType", STR, fl!(N, R, F)),
        P::new("customSecurityAttributes", T::Complex("customSecurityAttributeValue"), fl!(N, F)),
        P::new("department", STR, fl!(N, F)),
        P::new("deviceEnrollmentLimit", INT, NONE),
        P::new("displayName", STR, fl!(N, F, S, D, Q, X)),
        P::new("employeeHireDate", DTO, fl!(N, F)),
        P::new("employeeId", STR, fl!(N, F)),
        P::new("employeeLeaveDateTime", DTO, fl!(N, F)),
        P::new("employeeOrgData", T::Complex("employeeOrgData"), fl!(N, F)),
        P::new("employeeType", STR, fl!(N, F)),
        P::new("externalUserState", STR, fl!(N, R, F)),
        P::new("externalUserStateChangeDateTime", DTO, fl!(N, R, F)),
        P::new("faxNumber", STR, fl!(N, F)).aad("facsimileTelephoneNumber"),
        P::new("givenName", STR, fl!(N, F, D)),
        P::new("hireDate", DTO, NONE),
        P::collection("identities", T::Complex("objectIdentity"), fl!(N, F)),
        P::new("identityParentId", STR, fl!(N, R)),
        P::collection("imAddresses", STR, fl!(N, R, F)),
        P::collection("interests", STR, N),
        P::new("isManagementRestricted", BOOL, fl!(N, R)),
        P::new("isResourceAccount", BOOL, N),
        P::new("jobTitle", STR, fl!(N, F, D)),
        P::new("lastPasswordChangeDateTime", DTO, fl!(N, R)),
        P::new("legalAgeGroupClassification", STR, fl!(N, R)),
        P::collection("licenseAssignmentStates", T::Complex("licenseAssignmentState"), fl!(N, R)),
        P::new("mail", STR, fl!(N, F, D)),
        P::new("mailboxSettings", T::Complex("mailboxSettings"), N),
        P::new("mailNickname", STR, fl!(N, F, Q)),
        P::new("mobilePhone", STR, fl!(N, F, D)).aad("mobile"),
        P::new("mySite", STR, N),
        P::new("officeLocation", STR, fl!(N, F, D)).aad("physicalDeliveryOfficeName"),
        P::new("onPremisesDistinguishedName", STR, fl!(N, R)),
        P::new("onPremisesDomainName", STR, fl!(N, R)),
        // Writable for cloud-only users (the source of authority is on-premises once synced).
        P::new("onPremisesExtensionAttributes", T::Complex("onPremisesExtensionAttributes"), fl!(N, F)),
        // Settable: required on create for a user of a federated domain.
        P::new("onPremisesImmutableId", STR, fl!(N, F)).aad("immutableId"),
        P::new("onPremisesLastSyncDateTime", DTO, fl!(N, R, F)).aad("lastDirSyncTime"),
        P::collection("onPremisesProvisioningErrors", T::Complex("onPremisesProvisioningError"), fl!(N, R, F)),
        P::new("onPremisesSamAccountName", STR, fl!(N, R, F)),
        P::new("onPremisesSecurityIdentifier", STR, fl!(N, R, F)),
        P::new("onPremisesSyncEnabled", BOOL, fl!(N, R, F)).aad("dirSyncEnabled"),
        P::new("onPremisesUserPrincipalName", STR, fl!(N, R, F)),
        P::collection("otherMails", STR, F),
        P::new("passwordPolicies", STR, fl!(N, F)),
        P::new("passwordProfile", T::Complex("passwordProfile"), fl!(N, W, Q)),
        P::collection("pastProjects", STR, N),
        P::new("postalCode", STR, fl!(N, F)),
        P::new("preferredDataLocation", STR, N),
        P::new("preferredLanguage", STR, fl!(N, F, D)),
        P::new("preferredName", STR, N),
        P::new("print", T::Complex("userPrint"), fl!(N, R)),
        P::collection("provisionedPlans", T::Complex("provisionedPlan"), fl!(R, F)),
        P::collection("proxyAddresses", STR, fl!(R, F)),
        P::collection("responsibilities", STR, N),
        P::collection("schools", STR, N),
        P::new("securityIdentifier", STR, fl!(N, R, F)),
        P::collection("serviceProvisioningErrors", T::Complex("serviceProvisioningError"), fl!(N, R, F)),
        P::new("showInAddressList", BOOL, fl!(N, F)),
        P::new("signInActivity", T::Complex("signInActivity"), fl!(N, R, F)),
        P::new("signInSessionsValidFromDateTime", DTO, fl!(N, R)),
        P::collection("skills", STR, N),
        P::new("state", STR, fl!(N, F)),
        P::new("streetAddress", STR, fl!(N, F)),
        P::new("surname", STR, fl!(N, F, D)),
        P::new("usageLocation", STR, fl!(N, F)),
        P::new("userPrincipalName", STR, fl!(N, F, S, D, Q)),
        P::new("userType", STR, fl!(N, F)),
    ],
    navigation: &[
        Nav::many("createdObjects", "directoryObject"),
        Nav::many("directReports", "directoryObject"),
        Nav::many("extensions", "extension").contained(),
        Nav::one("manager", "directoryObject"),
        Nav::many("memberOf", "directoryObject"),
        Nav::many("ownedDevices", "directoryObject"),
        Nav::many("ownedObjects", "directoryObject"),
        Nav::many("registeredDevices", "directoryObject"),
        Nav::many("transitiveMemberOf", "directoryObject"),
    ],
    is_abstract: false,
    open: true,
    inherited_defaults: &[],
};

pub static GROUP: EntityType = EntityType {
    name: "group",
    base: Some("directoryObject"),
    entity_set: Some("groups"),
    properties: &[
        P::new("accessType", T::Enum("groupAccessType"), N),
        P::new("allowExternalSenders", BOOL, N),
        P::collection("assignedLabels", T::Complex("assignedLabel"), fl!(N, R)),
        P::collection("assignedLicenses", T::Complex("assignedLicense"), fl!(N, R, F)),
        P::new("autoSubscribeNewMembers", BOOL, N),
        P::new("classification", STR, fl!(N, F, D)),
        P::new("createdDateTime", DTO, fl!(N, R, F, D)),
        P::new("description", STR, fl!(N, F, D, X)),
        P::new("displayName", STR, fl!(N, F, S, D, Q, X)),
        P::new("expirationDateTime", DTO, fl!(N, R, F, D)),
        P::collection("groupTypes", STR, fl!(F, D)),
        // Filter-only: never returned on GET.
        P::new("hasMembersWithLicenseErrors", BOOL, fl!(N, R, F)),
        P::new("hideFromAddressLists", BOOL, N),
        P::new("hideFromOutlookClients", BOOL, N),
        P::collection("infoCatalogs", STR, NONE),
        P::new("isArchived", BOOL, N),
        P::new("isAssignableToRole", BOOL, fl!(N, F, D, C)),
        P::new("isFavorite", BOOL, N),
        P::new("isManagementRestricted", BOOL, fl!(N, R)),
        P::new("isSubscribedByMail", BOOL, N),
        P::new("licenseProcessingState", T::Complex("licenseProcessingState"), fl!(N, R)),
        P::new("mail", STR, fl!(N, R, F, D)),
        P::new("mailEnabled", BOOL, fl!(N, F, D, Q)),
        P::new("mailNickname", STR, fl!(N, F, D, Q)),
        P::new("membershipRule", STR, fl!(N, F, D)),
        P::new("membershipRuleProcessingState", STR, fl!(N, F, D)),
        P::new("onPremisesDomainName", STR, fl!(N, R, D)),
        P::new("onPremisesExtensionAttributes", T::Complex("onPremisesExtensionAttributes"), fl!(N, F)),
        P::new("onPremisesLastSyncDateTime", DTO, fl!(N, R, F, D)).aad("lastDirSyncTime"),
        P::new("onPremisesNetBiosName", STR, fl!(N, R, D)),
        P::collection("onPremisesProvisioningErrors", T::Complex("onPremisesProvisioningError"), fl!(N, R, F, D)),
        P::new("onPremisesSamAccountName", STR, fl!(N, R, F, D)),
        P::new("onPremisesSecurityIdentifier", STR, fl!(N, R, F, D)),
        P::new("onPremisesSyncEnabled", BOOL, fl!(N, R, F, D)).aad("dirSyncEnabled"),
        P::new("organizationId", STR, fl!(N, R)),
        P::new("preferredDataLocation", STR, fl!(N, D)),
        P::new("preferredLanguage", STR, fl!(N, F, D)),
        P::collection("proxyAddresses", STR, fl!(R, F, D)),
        P::new("renewedDateTime", DTO, fl!(N, R, F, D)),
        P::collection("resourceBehaviorOptions", STR, fl!(D, C)),
        P::collection("resourceProvisioningOptions", STR, fl!(D, C)),
        P::new("securityEnabled", BOOL, fl!(N, F, D, Q)),
        P::new("securityIdentifier", STR, fl!(N, R, D)),
        P::collection("serviceProvisioningErrors", T::Complex("serviceProvisioningError"), fl!(N, R, F, D)),
        P::new("theme", STR, fl!(N, D)),
        P::new("uniqueName", STR, fl!(N, F, D, C)),
        P::new("unseenConversationsCount", INT, fl!(N, R)),
        P::new("unseenCount", INT, fl!(N, R)),
        P::new("unseenMessagesCount", INT, fl!(N, R)),
        P::new("visibility", STR, fl!(N, D)),
        P::new("welcomeMessageEnabled", BOOL, N),
    ],
    navigation: &[
        Nav::many("acceptedSenders", "directoryObject"),
        Nav::one("createdOnBehalfOf", "directoryObject"),
        Nav::many("extensions", "extension").contained(),
        Nav::many("memberOf", "directoryObject"),
        Nav::many("members", "directoryObject"),
        Nav::many("membersWithLicenseErrors", "directoryObject"),
        Nav::many("owners", "directoryObject"),
        Nav::many("rejectedSenders", "directoryObject"),
        Nav::many("transitiveMemberOf", "directoryObject"),
        Nav::many("transitiveMembers", "directoryObject"),
    ],
    is_abstract: false,
    open: true,
    inherited_defaults: &["deletedDateTime"],
};

/// A complex type that is neither open nor abstract.
const fn complex(name: &'static str, properties: &'static [P]) -> ComplexType {
    ComplexType { name, base: None, properties, open: false, is_abstract: false }
}

pub static ASSIGNED_LABEL: ComplexType =
    complex("assignedLabel", &[P::new("displayName", STR, N), P::new("labelId", STR, N)]);

pub static ASSIGNED_LICENSE: ComplexType =
    complex("assignedLicense", &[P::collection("disabledPlans", GUID, NONE), P::new("skuId", GUID, N)]);

pub static ASSIGNED_PLAN: ComplexType = complex(
    "assignedPlan",
    &[
        P::new("assignedDateTime", DTO, N).aad("assignedTimestamp"),
        P::new("capabilityStatus", STR, N),
        P::new("service", STR, N),
        P::new("servicePlanId", GUID, N),
    ],
);

pub static AUTHORIZATION_INFO: ComplexType =
    complex("authorizationInfo", &[P::collection("certificateUserIds", STR, N)]);

pub static AUTOMATIC_REPLIES_SETTING: ComplexType = complex(
    "automaticRepliesSetting",
    &[
        P::new("externalAudience", T::Enum("externalAudienceScope"), N),
        P::new("externalReplyMessage", STR, N),
        P::new("internalReplyMessage", STR, N),
        P::new("scheduledEndDateTime", T::Complex("dateTimeTimeZone"), N),
        P::new("scheduledStartDateTime", T::Complex("dateTimeTimeZone"), N),
        P::new("status", T::Enum("automaticRepliesStatus"), N),
    ],
);

/// Open: its properties are the attribute sets, each an open object of attributes.
pub static CUSTOM_SECURITY_ATTRIBUTE_VALUE: ComplexType =
    ComplexType { name: "customSecurityAttributeValue", base: None, properties: &[], open: true, is_abstract: false };

pub static DATE_TIME_TIME_ZONE: ComplexType =
    complex("dateTimeTimeZone", &[P::new("dateTime", STR, NONE), P::new("timeZone", STR, N)]);

pub static EMPLOYEE_ORG_DATA: ComplexType =
    complex("employeeOrgData", &[P::new("costCenter", STR, N), P::new("division", STR, N)]);

pub static LICENSE_ASSIGNMENT_STATE: ComplexType = complex(
    "licenseAssignmentState",
    &[
        P::new("assignedByGroup", STR, N),
        P::collection("disabledPlans", GUID, N),
        P::new("error", STR, N),
        P::new("lastUpdatedDateTime", DTO, N),
        P::new("skuId", GUID, N),
        P::new("state", STR, N),
    ],
);

pub static LICENSE_PROCESSING_STATE: ComplexType = complex("licenseProcessingState", &[P::new("state", STR, N)]);

pub static LOCALE_INFO: ComplexType = complex("localeInfo", &[P::new("displayName", STR, N), P::new("locale", STR, N)]);

pub static MAILBOX_SETTINGS: ComplexType = complex(
    "mailboxSettings",
    &[
        P::new("archiveFolder", STR, N),
        P::new("automaticRepliesSetting", T::Complex("automaticRepliesSetting"), N),
        P::new("dateFormat", STR, N),
        P::new("delegateMeetingMessageDeliveryOptions", T::Enum("delegateMeetingMessageDeliveryOptions"), N),
        P::new("language", T::Complex("localeInfo"), N),
        P::new("timeFormat", STR, N),
        P::new("timeZone", STR, N),
        P::new("userPurpose", T::Enum("userPurpose"), N),
        P::new("workingHours", T::Complex("workingHours"), N),
    ],
);

pub static OBJECT_IDENTITY: ComplexType = complex(
    "objectIdentity",
    &[P::new("issuer", STR, N), P::new("issuerAssignedId", STR, N), P::new("signInType", STR, N)],
);

pub static ON_PREMISES_EXTENSION_ATTRIBUTES: ComplexType = complex(
    "onPremisesExtensionAttributes",
    &[
        P::new("extensionAttribute1", STR, N),
        P::new("extensionAttribute2", STR, N),
        P::new("extensionAttribute3", STR, N),
        P::new("extensionAttribute4", STR, N),
        P::new("extensionAttribute5", STR, N),
        P::new("extensionAttribute6", STR, N),
        P::new("extensionAttribute7", STR, N),
        P::new("extensionAttribute8", STR, N),
        P::new("extensionAttribute9", STR, N),
        P::new("extensionAttribute10", STR, N),
        P::new("extensionAttribute11", STR, N),
        P::new("extensionAttribute12", STR, N),
        P::new("extensionAttribute13", STR, N),
        P::new("extensionAttribute14", STR, N),
        P::new("extensionAttribute15", STR, N),
    ],
);

pub static ON_PREMISES_PROVISIONING_ERROR: ComplexType = complex(
    "onPremisesProvisioningError",
    &[
        P::new("category", STR, N),
        P::new("occurredDateTime", DTO, N),
        P::new("propertyCausingError", STR, N),
        P::new("value", STR, N),
    ],
);

pub static PASSWORD_PROFILE: ComplexType = complex(
    "passwordProfile",
    &[
        P::new("forceChangePasswordNextSignIn", BOOL, N).aad("forceChangePasswordNextLogin"),
        P::new("forceChangePasswordNextSignInWithMfa", BOOL, N),
        P::new("password", STR, N),
    ],
);

pub static PROVISIONED_PLAN: ComplexType = complex(
    "provisionedPlan",
    &[P::new("capabilityStatus", STR, N), P::new("provisioningStatus", STR, N), P::new("service", STR, N)],
);

/// Abstract: items are `serviceProvisioningXmlError` on the wire.
pub static SERVICE_PROVISIONING_ERROR: ComplexType = ComplexType {
    name: "serviceProvisioningError",
    base: None,
    properties: &[P::new("createdDateTime", DTO, N), P::new("isResolved", BOOL, N), P::new("serviceInstance", STR, N)],
    open: false,
    is_abstract: true,
};

pub static SIGN_IN_ACTIVITY: ComplexType = complex(
    "signInActivity",
    &[
        P::new("lastNonInteractiveSignInDateTime", DTO, N),
        P::new("lastNonInteractiveSignInRequestId", STR, N),
        P::new("lastSignInDateTime", DTO, N),
        P::new("lastSignInRequestId", STR, N),
        P::new("lastSuccessfulSignInDateTime", DTO, N),
        P::new("lastSuccessfulSignInRequestId", STR, N),
    ],
);

pub static TIME_ZONE_BASE: ComplexType = complex("timeZoneBase", &[P::new("name", STR, N)]);

/// Only a navigation property (`recentPrinterShares`) in the CSDL: no structural properties.
pub static USER_PRINT: ComplexType = complex("userPrint", &[]);

/// `startTime` and `endTime` (`Edm.TimeOfDay` in the CSDL) are not declared yet: `EdmType` has
/// no `TimeOfDay` variant, and adding one breaks the exhaustive matches of other crates. The
/// reference test lists them as the only known gaps.
pub static WORKING_HOURS: ComplexType = complex(
    "workingHours",
    &[P::collection("daysOfWeek", T::Enum("dayOfWeek"), N), P::new("timeZone", T::Complex("timeZoneBase"), N)],
);

pub static AUTOMATIC_REPLIES_STATUS: EnumType = EnumType {
    name: "automaticRepliesStatus",
    members: &["disabled", "alwaysEnabled", "scheduled"],
    values: &[0, 1, 2],
};

pub static DAY_OF_WEEK: EnumType = EnumType {
    name: "dayOfWeek",
    members: &["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"],
    values: &[0, 1, 2, 3, 4, 5, 6],
};

pub static DELEGATE_MEETING_MESSAGE_DELIVERY_OPTIONS: EnumType = EnumType {
    name: "delegateMeetingMessageDeliveryOptions",
    members: &["sendToDelegateAndInformationToPrincipal", "sendToDelegateAndPrincipal", "sendToDelegateOnly"],
    values: &[0, 1, 2],
};

pub static EXTERNAL_AUDIENCE_SCOPE: EnumType =
    EnumType { name: "externalAudienceScope", members: &["none", "contactsOnly", "all"], values: &[0, 1, 2] };

pub static GROUP_ACCESS_TYPE: EnumType = EnumType {
    name: "groupAccessType",
    members: &["none", "private", "secret", "public", "unknownFutureValue"],
    values: &[0, 1, 2, 3, 4],
};

pub static USER_PURPOSE: EnumType = EnumType {
    name: "userPurpose",
    members: &["user", "linked", "shared", "room", "equipment", "others", "unknownFutureValue"],
    values: &[1, 2, 3, 4, 5, 6, 7],
};

/// A directory role activated in the tenant (Global Administrator, ...). Served as a member
/// type (`memberOf`) now; its own routes come with role management.
pub static DIRECTORY_ROLE: EntityType = EntityType {
    name: "directoryRole",
    base: Some("directoryObject"),
    entity_set: Some("directoryRoles"),
    properties: &[
        P::new("description", STR, fl!(N, R, D)),
        P::new("displayName", STR, fl!(N, R, D)),
        P::new("roleTemplateId", STR, fl!(N, F, D)),
    ],
    navigation: &[Nav::many("members", "directoryObject")],
    is_abstract: false,
    open: true,
    inherited_defaults: &[],
};

pub static ALL: &[&EntityType] = &[
    &DIRECTORY_OBJECT,
    &USER,
    &GROUP,
    &DIRECTORY_ROLE,
    // Applications and service principals (entities_apps.rs).
    &apps::APPLICATION,
    &apps::SERVICE_PRINCIPAL,
    &apps::APP_ROLE_ASSIGNMENT,
    &apps::OAUTH2_PERMISSION_GRANT,
    &apps::FEDERATED_IDENTITY_CREDENTIAL,
    // Devices, organizational contacts, administrative units (entities_directory.rs).
    &dir::DEVICE,
    &dir::ORG_CONTACT,
    &dir::ADMINISTRATIVE_UNIT,
    // Organization and domains (entities_directory.rs).
    &dir::ORGANIZATION,
    &dir::DOMAIN,
    &dir::DOMAIN_DNS_RECORD,
    &dir::DOMAIN_DNS_TXT_RECORD,
    &dir::DOMAIN_DNS_MX_RECORD,
    &dir::DOMAIN_DNS_CNAME_RECORD,
    // Directory extensions and partner contracts (entities_directory.rs).
    &dir::EXTENSION_PROPERTY,
    &dir::CONTRACT,
    &dir::EXTENSION,
    &dir::OPEN_TYPE_EXTENSION,
    // Roles (entities_roles.rs).
    &roles::DIRECTORY_ROLE_TEMPLATE,
    &roles::UNIFIED_ROLE_DEFINITION,
    &roles::UNIFIED_ROLE_ASSIGNMENT,
    // Token policies (entities_policies.rs).
    &policies::POLICY_BASE,
    &policies::STS_POLICY,
    &policies::TOKEN_LIFETIME_POLICY,
    &policies::CLAIMS_MAPPING_POLICY,
    // Licences (entities_licences.rs).
    &lic::SUBSCRIBED_SKU,
    &lic::LICENSE_DETAILS,
    // Conditional Access (entities_conditional_access.rs).
    &ca::POLICY_DELETABLE_ITEM,
    &ca::NAMED_LOCATION,
    &ca::IP_NAMED_LOCATION,
    &ca::COUNTRY_NAMED_LOCATION,
    &ca::CONDITIONAL_ACCESS_POLICY,
];

pub static COMPLEX: &[&ComplexType] = &[
    &ASSIGNED_LABEL,
    &ASSIGNED_LICENSE,
    &ASSIGNED_PLAN,
    &AUTHORIZATION_INFO,
    &AUTOMATIC_REPLIES_SETTING,
    &CUSTOM_SECURITY_ATTRIBUTE_VALUE,
    &DATE_TIME_TIME_ZONE,
    &EMPLOYEE_ORG_DATA,
    &LICENSE_ASSIGNMENT_STATE,
    &LICENSE_PROCESSING_STATE,
    &LOCALE_INFO,
    &MAILBOX_SETTINGS,
    &OBJECT_IDENTITY,
    &ON_PREMISES_EXTENSION_ATTRIBUTES,
    &ON_PREMISES_PROVISIONING_ERROR,
    &PASSWORD_PROFILE,
    &PROVISIONED_PLAN,
    &SERVICE_PROVISIONING_ERROR,
    &SIGN_IN_ACTIVITY,
    &TIME_ZONE_BASE,
    &USER_PRINT,
    &WORKING_HOURS,
    // Applications and service principals (entities_apps.rs).
    &apps::ADD_IN,
    &apps::API_APPLICATION,
    &apps::APP_ROLE,
    &apps::AUTHENTICATION_BEHAVIORS,
    &apps::CERTIFICATION,
    &apps::IMPLICIT_GRANT_SETTINGS,
    &apps::INFORMATIONAL_URL,
    &apps::KEY_CREDENTIAL,
    &apps::KEY_VALUE,
    &apps::OPTIONAL_CLAIM,
    &apps::OPTIONAL_CLAIMS,
    &apps::PARENTAL_CONTROL_SETTINGS,
    &apps::PASSWORD_CREDENTIAL,
    &apps::PERMISSION_SCOPE,
    &apps::PRE_AUTHORIZED_APPLICATION,
    &apps::PUBLIC_CLIENT_APPLICATION,
    &apps::REDIRECT_URI_SETTINGS,
    &apps::REQUEST_SIGNATURE_VERIFICATION,
    &apps::REQUIRED_RESOURCE_ACCESS,
    &apps::RESOURCE_ACCESS,
    &apps::RESOURCE_SPECIFIC_PERMISSION,
    &apps::SAML_SINGLE_SIGN_ON_SETTINGS,
    &apps::SERVICE_PRINCIPAL_LOCK_CONFIGURATION,
    &apps::SPA_APPLICATION,
    &apps::VERIFIED_PUBLISHER,
    &apps::WEB_APPLICATION,
    // Devices, organizational contacts, administrative units (entities_directory.rs).
    &dir::ALTERNATIVE_SECURITY_ID,
    &dir::PHONE,
    &dir::PHYSICAL_OFFICE_ADDRESS,
    &dir::VERIFIED_DOMAIN,
    &dir::PRIVACY_PROFILE,
    &dir::DOMAIN_STATE,
    // Roles (entities_roles.rs).
    &roles::UNIFIED_ROLE_PERMISSION,
    // Licences (entities_licences.rs).
    &lic::LICENSE_UNITS_DETAIL,
    &lic::SERVICE_PLAN_INFO,
    // Conditional Access (entities_conditional_access.rs).
    &ca::IP_RANGE,
    &ca::IPV4_CIDR_RANGE,
    &ca::IPV6_CIDR_RANGE,
    &ca::CONDITION_SET,
    &ca::APPLICATIONS,
    &ca::AUTHENTICATION_FLOWS,
    &ca::CLIENT_APPLICATIONS,
    &ca::DEVICES,
    &ca::FILTER,
    &ca::LOCATIONS,
    &ca::PLATFORMS,
    &ca::USERS,
    &ca::GUESTS_OR_EXTERNAL_USERS,
    &ca::EXTERNAL_TENANTS,
    &ca::GRANT_CONTROLS,
    &ca::SESSION_CONTROLS,
    &ca::SESSION_CONTROL,
    &ca::APPLICATION_ENFORCED_RESTRICTIONS,
    &ca::CLOUD_APP_SECURITY,
    &ca::PERSISTENT_BROWSER,
    &ca::SECURE_SIGN_IN_SESSION,
    &ca::SIGN_IN_FREQUENCY,
];

pub static ENUMS: &[&EnumType] = &[
    &AUTOMATIC_REPLIES_STATUS,
    &DAY_OF_WEEK,
    &DELEGATE_MEETING_MESSAGE_DELIVERY_OPTIONS,
    &EXTERNAL_AUDIENCE_SCOPE,
    &GROUP_ACCESS_TYPE,
    &USER_PURPOSE,
    &apps::NATIVE_AUTHENTICATION_APIS_ENABLED,
    &apps::WEAK_ALGORITHMS,
    &dir::PHONE_TYPE,
    &dir::MDM_AUTHORITY,
    &dir::PARTNER_TENANT_TYPE,
    // Conditional Access (entities_conditional_access.rs).
    &ca::COUNTRY_LOOKUP_METHOD_TYPE,
    &ca::POLICY_STATE,
    &ca::SIGNIN_FREQUENCY_TYPE,
    &ca::SIGN_IN_FREQUENCY_INTERVAL,
    &ca::SIGN_IN_FREQUENCY_AUTHENTICATION_TYPE,
    &ca::PERSISTENT_BROWSER_SESSION_MODE,
    &ca::CLOUD_APP_SECURITY_SESSION_CONTROL_TYPE,
    &ca::GRANT_CONTROL,
    &ca::GUEST_OR_EXTERNAL_USER_TYPES,
    &ca::EXTERNAL_TENANTS_MEMBERSHIP_KIND,
    &ca::RISK_LEVEL,
    &ca::DEVICE_PLATFORM,
    &ca::INSIDER_RISK_LEVELS,
    &ca::FILTER_MODE,
    &ca::CLIENT_APP,
    &ca::TRANSFER_METHODS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_referenced_type_is_declared() {
        let all_props =
            ALL.iter().flat_map(|e| e.properties.iter()).chain(COMPLEX.iter().flat_map(|c| c.properties.iter()));
        for p in all_props {
            match p.ty {
                T::Complex(n) => assert!(crate::complex(n).is_some(), "{}: {n}", p.name),
                T::Enum(n) => assert!(crate::enumeration(n).is_some(), "{}: {n}", p.name),
                _ => {}
            }
        }
        for e in ALL {
            for n in e.navigation {
                assert!(crate::entity(n.target).is_some(), "{}.{}", e.name, n.name);
            }
        }
        for e in ENUMS {
            assert_eq!(e.members.len(), e.values.len(), "{}", e.name);
        }
    }

    #[test]
    fn names_are_unique_per_type() {
        for e in ALL {
            let mut names: Vec<_> = e.all_properties().iter().map(|p| p.name).collect();
            names.extend(e.navigation.iter().map(|n| n.name));
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(n, names.len(), "{}", e.name);
        }
    }

    #[test]
    fn user_default_set_is_graphs() {
        let mut got = USER.default_properties();
        got.sort_unstable();
        let mut want = vec![
            "businessPhones",
            "displayName",
            "givenName",
            "jobTitle",
            "mail",
            "mobilePhone",
            "officeLocation",
            "preferredLanguage",
            "surname",
            "userPrincipalName",
            "id",
        ];
        want.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn required_on_create() {
        let req = |e: &EntityType| {
            let mut v: Vec<_> =
                e.all_properties().into_iter().filter(|p| p.is(Flags::REQUIRED)).map(|p| p.name).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(
            req(&USER),
            ["accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"]
        );
        assert_eq!(req(&GROUP), ["displayName", "mailEnabled", "mailNickname", "securityEnabled"]);
        assert!(USER.property("passwordProfile").unwrap().is(Flags::WRITE_ONLY));
        assert!(!USER.property("passwordProfile").unwrap().is(Flags::DEFAULT));
    }

    #[test]
    fn aad_names() {
        let aad = |n: &str| USER.property(n).and_then(|p| p.aad_name);
        assert_eq!(aad("id"), Some("objectId"));
        assert_eq!(aad("mobilePhone"), Some("mobile"));
        assert_eq!(aad("businessPhones"), Some("telephoneNumber"));
        assert_eq!(aad("onPremisesSyncEnabled"), Some("dirSyncEnabled"));
        assert_eq!(aad("displayName"), None);
    }

    #[test]
    fn no_flag_contradictions() {
        let props = ALL.iter().flat_map(|e| e.properties.iter());
        for p in props {
            assert!(!(p.is(Flags::READ_ONLY) && p.is(Flags::REQUIRED)), "{}", p.name);
            assert!(!(p.is(Flags::WRITE_ONLY) && p.is(Flags::DEFAULT)), "{}", p.name);
            assert!(!(p.is(Flags::READ_ONLY) && p.is(Flags::CREATE_ONLY)), "{}", p.name);
            assert!(!(p.is(Flags::SORT) && p.collection), "{}", p.name);
        }
    }
}
