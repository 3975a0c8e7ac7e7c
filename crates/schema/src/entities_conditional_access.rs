//! Conditional Access (`/identity/conditionalAccess/...`): `namedLocation` with its derived
//! `ipNamedLocation` and `countryNamedLocation`, and `conditionalAccessPolicy`, on their common
//! abstract root `policyDeletableItem`; the complex types of a policy's conditions and controls
//! (`ipRange` and `conditionalAccessSessionControl` are abstract bases of derived complex types)
//! and their enums. Names, EDM types and nullability follow the Graph v1.0 CSDL (checked by
//! `crates/schema/tests/reference.rs`); the flags follow the "namedLocation" and
//! "conditionalAccessPolicy" resource pages and their List operations (`$count`, `$filter`,
//! `$orderby`, `$select`, `$top`). The directory (`crates/directory/src/conditional_access.rs`)
//! checks bodies with Entra's rules; these declarations type `$select`/`$filter`, shape the
//! responses and describe the types in `$metadata`.

use crate::types::{ComplexType, EdmType as T, EntityType, EnumType, Flags, Property as P};

macro_rules! fl {
    ($($f:ident),+) => { Flags(0 $(| $f.0)+) };
}

const NONE: Flags = Flags::NONE;
const Q: Flags = Flags::REQUIRED;
const R: Flags = Flags::READ_ONLY;
const F: Flags = Flags::FILTER;
const S: Flags = Flags::SORT;
const D: Flags = Flags::DEFAULT;
const N: Flags = Flags::NULLABLE;

const STR: T = T::String;
const BOOL: T = T::Boolean;
const DTO: T = T::DateTimeOffset;

/// The abstract root of the Conditional Access objects (soft-deletable policy items).
pub static POLICY_DELETABLE_ITEM: EntityType = EntityType {
    name: "policyDeletableItem",
    base: None,
    entity_set: None,
    properties: &[P::new("deletedDateTime", DTO, fl!(N, R))],
    navigation: &[],
    is_abstract: true,
    open: false,
    inherited_defaults: &[],
};

/// A named location (`/identity/conditionalAccess/namedLocations`): stored and returned as one
/// of its derived types, with `@odata.type`.
pub static NAMED_LOCATION: EntityType = EntityType {
    name: "namedLocation",
    base: Some("policyDeletableItem"),
    entity_set: None,
    properties: &[
        P::new("createdDateTime", DTO, fl!(N, R, F, S, D)),
        P::new("displayName", STR, fl!(F, S, D, Q)),
        // Declared on `namedLocation` itself in the CSDL (its key).
        P::new("id", STR, fl!(R, F, D)),
        P::new("modifiedDateTime", DTO, fl!(N, R, F, S, D)),
    ],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A named location of IPv4 and IPv6 ranges, trusted or not.
pub static IP_NAMED_LOCATION: EntityType = EntityType {
    name: "ipNamedLocation",
    base: Some("namedLocation"),
    entity_set: None,
    properties: &[P::collection("ipRanges", T::Complex("ipRange"), fl!(D, Q)), P::new("isTrusted", BOOL, fl!(F, D))],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A named location of countries and regions (ISO 3166 two-letter codes).
pub static COUNTRY_NAMED_LOCATION: EntityType = EntityType {
    name: "countryNamedLocation",
    base: Some("namedLocation"),
    entity_set: None,
    properties: &[
        P::collection("countriesAndRegions", STR, fl!(D, Q)),
        P::new("countryLookupMethod", T::Enum("countryLookupMethodType"), fl!(N, D)),
        P::new("includeUnknownCountriesAndRegions", BOOL, D),
    ],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A Conditional Access policy (`/identity/conditionalAccess/policies`).
pub static CONDITIONAL_ACCESS_POLICY: EntityType = EntityType {
    name: "conditionalAccessPolicy",
    base: Some("policyDeletableItem"),
    entity_set: None,
    properties: &[
        P::new("conditions", T::Complex("conditionalAccessConditionSet"), fl!(D, Q)),
        P::new("createdDateTime", DTO, fl!(N, R, F, S, D)),
        P::new("description", STR, fl!(N, D)),
        P::new("displayName", STR, fl!(F, S, D, Q)),
        P::new("grantControls", T::Complex("conditionalAccessGrantControls"), fl!(N, D)),
        P::new("id", STR, fl!(R, F, D)),
        P::new("modifiedDateTime", DTO, fl!(N, R, F, S, D)),
        P::new("sessionControls", T::Complex("conditionalAccessSessionControls"), fl!(N, D)),
        P::new("state", T::Enum("conditionalAccessPolicyState"), fl!(F, S, D, Q)),
        P::new("templateId", STR, fl!(N, R, F, D)),
    ],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

const fn complex(name: &'static str, properties: &'static [P]) -> ComplexType {
    ComplexType { name, base: None, properties, open: false, is_abstract: false }
}

const fn derived(name: &'static str, base: &'static str, properties: &'static [P]) -> ComplexType {
    ComplexType { name, base: Some(base), properties, open: false, is_abstract: false }
}

const fn strings(name: &'static str) -> P {
    P::collection(name, STR, NONE)
}

/// The abstract IP range of an `ipNamedLocation`; values are `iPv4CidrRange` or `iPv6CidrRange`.
pub static IP_RANGE: ComplexType =
    ComplexType { name: "ipRange", base: None, properties: &[], open: false, is_abstract: true };
pub static IPV4_CIDR_RANGE: ComplexType = derived("iPv4CidrRange", "ipRange", &[P::new("cidrAddress", STR, NONE)]);
pub static IPV6_CIDR_RANGE: ComplexType = derived("iPv6CidrRange", "ipRange", &[P::new("cidrAddress", STR, NONE)]);

pub static CONDITION_SET: ComplexType = complex(
    "conditionalAccessConditionSet",
    &[
        P::new("applications", T::Complex("conditionalAccessApplications"), N),
        P::new("authenticationFlows", T::Complex("conditionalAccessAuthenticationFlows"), N),
        P::new("clientApplications", T::Complex("conditionalAccessClientApplications"), N),
        P::collection("clientAppTypes", T::Enum("conditionalAccessClientApp"), NONE),
        P::new("devices", T::Complex("conditionalAccessDevices"), N),
        P::new("insiderRiskLevels", T::Enum("conditionalAccessInsiderRiskLevels"), N),
        P::new("locations", T::Complex("conditionalAccessLocations"), N),
        P::new("platforms", T::Complex("conditionalAccessPlatforms"), N),
        P::collection("servicePrincipalRiskLevels", T::Enum("riskLevel"), NONE),
        P::collection("signInRiskLevels", T::Enum("riskLevel"), NONE),
        P::collection("userRiskLevels", T::Enum("riskLevel"), NONE),
        P::new("users", T::Complex("conditionalAccessUsers"), N),
    ],
);

pub static APPLICATIONS: ComplexType = complex(
    "conditionalAccessApplications",
    &[
        P::new("applicationFilter", T::Complex("conditionalAccessFilter"), N),
        strings("excludeApplications"),
        strings("includeApplications"),
        strings("includeAuthenticationContextClassReferences"),
        strings("includeUserActions"),
    ],
);

pub static AUTHENTICATION_FLOWS: ComplexType = complex(
    "conditionalAccessAuthenticationFlows",
    &[P::new("transferMethods", T::Enum("conditionalAccessTransferMethods"), NONE)],
);

pub static CLIENT_APPLICATIONS: ComplexType = complex(
    "conditionalAccessClientApplications",
    &[
        strings("excludeServicePrincipals"),
        strings("includeServicePrincipals"),
        P::new("servicePrincipalFilter", T::Complex("conditionalAccessFilter"), N),
    ],
);

pub static DEVICES: ComplexType =
    complex("conditionalAccessDevices", &[P::new("deviceFilter", T::Complex("conditionalAccessFilter"), N)]);

pub static FILTER: ComplexType =
    complex("conditionalAccessFilter", &[P::new("mode", T::Enum("filterMode"), NONE), P::new("rule", STR, NONE)]);

pub static LOCATIONS: ComplexType =
    complex("conditionalAccessLocations", &[strings("excludeLocations"), strings("includeLocations")]);

pub static PLATFORMS: ComplexType = complex(
    "conditionalAccessPlatforms",
    &[
        P::collection("excludePlatforms", T::Enum("conditionalAccessDevicePlatform"), NONE),
        P::collection("includePlatforms", T::Enum("conditionalAccessDevicePlatform"), NONE),
    ],
);

pub static USERS: ComplexType = complex(
    "conditionalAccessUsers",
    &[
        strings("excludeGroups"),
        P::new("excludeGuestsOrExternalUsers", T::Complex("conditionalAccessGuestsOrExternalUsers"), N),
        strings("excludeRoles"),
        strings("excludeUsers"),
        strings("includeGroups"),
        P::new("includeGuestsOrExternalUsers", T::Complex("conditionalAccessGuestsOrExternalUsers"), N),
        strings("includeRoles"),
        strings("includeUsers"),
    ],
);

pub static GUESTS_OR_EXTERNAL_USERS: ComplexType = complex(
    "conditionalAccessGuestsOrExternalUsers",
    &[
        P::new("externalTenants", T::Complex("conditionalAccessExternalTenants"), N),
        P::new("guestOrExternalUserTypes", T::Enum("conditionalAccessGuestOrExternalUserTypes"), NONE),
    ],
);

/// Abstract: values are `conditionalAccessAllExternalTenants` or `...EnumeratedExternalTenants`.
pub static EXTERNAL_TENANTS: ComplexType = ComplexType {
    name: "conditionalAccessExternalTenants",
    base: None,
    properties: &[P::new("membershipKind", T::Enum("conditionalAccessExternalTenantsMembershipKind"), N)],
    open: false,
    is_abstract: true,
};

pub static GRANT_CONTROLS: ComplexType = complex(
    "conditionalAccessGrantControls",
    &[
        P::collection("builtInControls", T::Enum("conditionalAccessGrantControl"), NONE),
        strings("customAuthenticationFactors"),
        P::new("operator", STR, N),
        strings("termsOfUse"),
    ],
);

pub static SESSION_CONTROLS: ComplexType = complex(
    "conditionalAccessSessionControls",
    &[
        P::new("applicationEnforcedRestrictions", T::Complex("applicationEnforcedRestrictionsSessionControl"), N),
        P::new("cloudAppSecurity", T::Complex("cloudAppSecuritySessionControl"), N),
        P::new("disableResilienceDefaults", BOOL, N),
        P::new("persistentBrowser", T::Complex("persistentBrowserSessionControl"), N),
        P::new("secureSignInSession", T::Complex("secureSignInSessionControl"), N),
        P::new("signInFrequency", T::Complex("signInFrequencySessionControl"), N),
    ],
);

/// The abstract base of the session controls: whether the control is enabled.
pub static SESSION_CONTROL: ComplexType = ComplexType {
    name: "conditionalAccessSessionControl",
    base: None,
    properties: &[P::new("isEnabled", BOOL, N)],
    open: false,
    is_abstract: true,
};

pub static APPLICATION_ENFORCED_RESTRICTIONS: ComplexType =
    derived("applicationEnforcedRestrictionsSessionControl", "conditionalAccessSessionControl", &[]);
pub static CLOUD_APP_SECURITY: ComplexType = derived(
    "cloudAppSecuritySessionControl",
    "conditionalAccessSessionControl",
    &[P::new("cloudAppSecurityType", T::Enum("cloudAppSecuritySessionControlType"), N)],
);
pub static PERSISTENT_BROWSER: ComplexType = derived(
    "persistentBrowserSessionControl",
    "conditionalAccessSessionControl",
    &[P::new("mode", T::Enum("persistentBrowserSessionMode"), N)],
);
pub static SECURE_SIGN_IN_SESSION: ComplexType =
    derived("secureSignInSessionControl", "conditionalAccessSessionControl", &[]);
pub static SIGN_IN_FREQUENCY: ComplexType = derived(
    "signInFrequencySessionControl",
    "conditionalAccessSessionControl",
    &[
        P::new("authenticationType", T::Enum("signInFrequencyAuthenticationType"), N),
        P::new("frequencyInterval", T::Enum("signInFrequencyInterval"), N),
        P::new("type", T::Enum("signinFrequencyType"), N),
        P::new("value", T::Int32, N),
    ],
);

macro_rules! enumeration {
    ($id:ident, $name:literal, [$($m:literal = $v:literal),+ $(,)?]) => {
        pub static $id: EnumType = EnumType { name: $name, members: &[$($m),+], values: &[$($v),+] };
    };
}

enumeration!(
    COUNTRY_LOOKUP_METHOD_TYPE,
    "countryLookupMethodType",
    ["clientIpAddress" = 0, "authenticatorAppGps" = 1, "unknownFutureValue" = 2,]
);
enumeration!(
    POLICY_STATE,
    "conditionalAccessPolicyState",
    ["enabled" = 0, "disabled" = 1, "enabledForReportingButNotEnforced" = 2,]
);
enumeration!(SIGNIN_FREQUENCY_TYPE, "signinFrequencyType", ["days" = 0, "hours" = 1]);
enumeration!(
    SIGN_IN_FREQUENCY_INTERVAL,
    "signInFrequencyInterval",
    ["timeBased" = 0, "everyTime" = 1, "unknownFutureValue" = 2,]
);
enumeration!(
    SIGN_IN_FREQUENCY_AUTHENTICATION_TYPE,
    "signInFrequencyAuthenticationType",
    ["primaryAndSecondaryAuthentication" = 0, "secondaryAuthentication" = 1, "unknownFutureValue" = 2,]
);
enumeration!(PERSISTENT_BROWSER_SESSION_MODE, "persistentBrowserSessionMode", ["always" = 0, "never" = 1]);
enumeration!(
    CLOUD_APP_SECURITY_SESSION_CONTROL_TYPE,
    "cloudAppSecuritySessionControlType",
    ["mcasConfigured" = 0, "monitorOnly" = 1, "blockDownloads" = 2, "unknownFutureValue" = 3,]
);
enumeration!(
    GRANT_CONTROL,
    "conditionalAccessGrantControl",
    [
        "block" = 0,
        "mfa" = 1,
        "compliantDevice" = 2,
        "domainJoinedDevice" = 3,
        "approvedApplication" = 4,
        "compliantApplication" = 5,
        "passwordChange" = 6,
        "unknownFutureValue" = 7,
        "riskRemediation" = 8,
    ]
);
// A flags enum in the CSDL (`IsFlags="true"`).
enumeration!(
    GUEST_OR_EXTERNAL_USER_TYPES,
    "conditionalAccessGuestOrExternalUserTypes",
    [
        "none" = 0,
        "internalGuest" = 1,
        "b2bCollaborationGuest" = 2,
        "b2bCollaborationMember" = 4,
        "b2bDirectConnectUser" = 8,
        "otherExternalUser" = 16,
        "serviceProvider" = 32,
        "unknownFutureValue" = 64,
    ]
);
enumeration!(
    EXTERNAL_TENANTS_MEMBERSHIP_KIND,
    "conditionalAccessExternalTenantsMembershipKind",
    ["all" = 0, "enumerated" = 1, "unknownFutureValue" = 2,]
);
enumeration!(
    RISK_LEVEL,
    "riskLevel",
    ["low" = 0, "medium" = 1, "high" = 2, "hidden" = 3, "none" = 4, "unknownFutureValue" = 5,]
);
enumeration!(
    DEVICE_PLATFORM,
    "conditionalAccessDevicePlatform",
    [
        "android" = 0,
        "iOS" = 1,
        "windows" = 2,
        "windowsPhone" = 3,
        "macOS" = 4,
        "all" = 5,
        "unknownFutureValue" = 6,
        "linux" = 7,
    ]
);
// A flags enum in the CSDL (`IsFlags="true"`).
enumeration!(
    INSIDER_RISK_LEVELS,
    "conditionalAccessInsiderRiskLevels",
    ["minor" = 1, "moderate" = 2, "elevated" = 4, "unknownFutureValue" = 8,]
);
enumeration!(FILTER_MODE, "filterMode", ["include" = 0, "exclude" = 1]);
enumeration!(
    CLIENT_APP,
    "conditionalAccessClientApp",
    [
        "all" = 0,
        "browser" = 1,
        "mobileAppsAndDesktopClients" = 2,
        "exchangeActiveSync" = 3,
        "easSupported" = 4,
        "other" = 5,
        "unknownFutureValue" = 6,
    ]
);
// A flags enum in the CSDL (`IsFlags="true"`).
enumeration!(
    TRANSFER_METHODS,
    "conditionalAccessTransferMethods",
    ["none" = 0, "deviceCodeFlow" = 1, "authenticationTransfer" = 2, "unknownFutureValue" = 4,]
);
