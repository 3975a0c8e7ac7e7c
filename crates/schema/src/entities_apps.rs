//! Applications, service principals and their relations: `application`, `servicePrincipal`,
//! `appRoleAssignment`, `oAuth2PermissionGrant`, `federatedIdentityCredential`, with the complex
//! and enum types they use. Names, EDM types and nullability follow the Graph v1.0 CSDL
//! (generated from `reference/msgraph-metadata/v1.0-cleanMetadata.xml`, checked by
//! `crates/schema/tests/reference.rs`); the flags follow the "application resource type",
//! "servicePrincipal resource type", "appRoleAssignment", "oAuth2PermissionGrant" and
//! "federatedIdentityCredential" pages (returned by default, `$filter`, `$orderby`, `$search`,
//! read-only, required on create, immutable after creation).
//!
//! `passwordCredentials` are read-only here: secrets are added with `addPassword`, which
//! generates them server-side (shown once) and stores only their hash.

use crate::types::{ComplexType, EdmType as T, EntityType, EnumType, Flags, NavProperty as Nav, Property as P};

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
const X: Flags = Flags::SEARCH;
const C: Flags = Flags::CREATE_ONLY;

const STR: T = T::String;
const BOOL: T = T::Boolean;
const INT: T = T::Int32;
const DTO: T = T::DateTimeOffset;
const GUID: T = T::Guid;

/// An application registration (`/applications`). Creating one does not create its service
/// principal, as in Entra.
pub static APPLICATION: EntityType = EntityType {
    name: "application",
    base: Some("directoryObject"),
    entity_set: Some("applications"),
    properties: &[
        P::collection("addIns", T::Complex("addIn"), D),
        P::new("api", T::Complex("apiApplication"), fl!(N, D)),
        P::new("appId", STR, fl!(N, R, F, D)),
        P::new("applicationTemplateId", STR, fl!(N, R, F, D)),
        P::collection("appRoles", T::Complex("appRole"), D),
        P::new("authenticationBehaviors", T::Complex("authenticationBehaviors"), N),
        P::new("certification", T::Complex("certification"), fl!(N, R, D)),
        P::new("createdByAppId", STR, fl!(N, R)),
        P::new("createdDateTime", DTO, fl!(N, R, F, S, D)),
        P::new("defaultRedirectUri", STR, fl!(N, D)),
        P::new("description", STR, fl!(N, F, X, D)),
        P::new("disabledByMicrosoftStatus", STR, fl!(N, F, D)),
        P::new("displayName", STR, fl!(N, F, S, X, D, Q)),
        P::new("groupMembershipClaims", STR, fl!(N, D)),
        P::collection("identifierUris", STR, fl!(F, D)),
        P::new("info", T::Complex("informationalUrl"), fl!(N, F, D)),
        P::new("isDeviceOnlyAuthSupported", BOOL, fl!(N, D)),
        P::new("isDisabled", BOOL, N),
        P::new("isFallbackPublicClient", BOOL, fl!(N, D)),
        P::collection("keyCredentials", T::Complex("keyCredential"), fl!(F, D)),
        P::collection("managerApplications", GUID, NONE),
        P::new("nativeAuthenticationApisEnabled", T::Enum("nativeAuthenticationApisEnabled"), fl!(N, D)),
        P::new("notes", STR, fl!(N, D)),
        P::new("oauth2RequirePostResponse", BOOL, NONE),
        P::new("optionalClaims", T::Complex("optionalClaims"), fl!(N, D)),
        P::new("parentalControlSettings", T::Complex("parentalControlSettings"), fl!(N, D)),
        P::collection("passwordCredentials", T::Complex("passwordCredential"), fl!(R, D)),
        P::new("publicClient", T::Complex("publicClientApplication"), fl!(N, D)),
        P::new("publisherDomain", STR, fl!(N, R, F, D)),
        P::new("requestSignatureVerification", T::Complex("requestSignatureVerification"), fl!(N, D)),
        P::collection("requiredResourceAccess", T::Complex("requiredResourceAccess"), fl!(F, D)),
        P::new("samlMetadataUrl", STR, fl!(N, D)),
        P::new("serviceManagementReference", STR, fl!(N, F, D)),
        P::new("servicePrincipalLockConfiguration", T::Complex("servicePrincipalLockConfiguration"), fl!(N, D)),
        P::new("signInAudience", STR, fl!(N, F, D)),
        P::new("spa", T::Complex("spaApplication"), fl!(N, D)),
        P::collection("tags", STR, fl!(F, D)),
        P::new("tokenEncryptionKeyId", GUID, fl!(N, D)),
        P::new("uniqueName", STR, fl!(N, F, D, C)),
        P::new("verifiedPublisher", T::Complex("verifiedPublisher"), fl!(N, R, D)),
        P::new("web", T::Complex("webApplication"), fl!(N, D)),
    ],
    navigation: &[
        Nav::one("createdOnBehalfOf", "directoryObject"),
        Nav::many("federatedIdentityCredentials", "federatedIdentityCredential").contained(),
        Nav::many("owners", "directoryObject"),
    ],
    is_abstract: false,
    open: true,
    inherited_defaults: &["deletedDateTime"],
};

/// A service principal: an application's instance in a tenant (`/servicePrincipals`).
pub static SERVICE_PRINCIPAL: EntityType = EntityType {
    name: "servicePrincipal",
    base: Some("directoryObject"),
    entity_set: Some("servicePrincipals"),
    properties: &[
        P::new("accountEnabled", BOOL, fl!(N, F, D)),
        P::collection("addIns", T::Complex("addIn"), D),
        P::collection("alternativeNames", STR, fl!(F, D)),
        P::new("appDescription", STR, fl!(N, D)),
        P::new("appDisplayName", STR, fl!(N, R, F, D)),
        P::new("appId", STR, fl!(N, F, D, Q, C)),
        P::new("applicationTemplateId", STR, fl!(N, R, F, D)),
        P::new("appOwnerOrganizationId", GUID, fl!(N, R, F, D)).aad("appOwnerTenantId"),
        P::new("appRoleAssignmentRequired", BOOL, fl!(F, D)),
        P::collection("appRoles", T::Complex("appRole"), D),
        P::new("createdByAppId", STR, fl!(N, R)),
        P::new("customSecurityAttributes", T::Complex("customSecurityAttributeValue"), fl!(N, F)),
        P::new("description", STR, fl!(N, F, X, D)),
        P::new("disabledByMicrosoftStatus", STR, fl!(N, F, D)),
        P::new("displayName", STR, fl!(N, F, S, X, D)),
        P::new("homepage", STR, fl!(N, D)),
        P::new("info", T::Complex("informationalUrl"), fl!(N, F, D)),
        P::new("isDisabled", BOOL, N),
        P::collection("keyCredentials", T::Complex("keyCredential"), fl!(F, D)),
        P::new("loginUrl", STR, fl!(N, D)),
        P::new("logoutUrl", STR, fl!(N, D)),
        P::new("notes", STR, fl!(N, D)),
        P::collection("notificationEmailAddresses", STR, D),
        P::collection("oauth2PermissionScopes", T::Complex("permissionScope"), D).aad("oauth2Permissions"),
        P::collection("passwordCredentials", T::Complex("passwordCredential"), fl!(R, D)),
        P::new("preferredSingleSignOnMode", STR, fl!(N, F, D)),
        P::new("preferredTokenSigningKeyThumbprint", STR, fl!(N, D)),
        P::collection("replyUrls", STR, fl!(F, D)),
        P::collection("resourceSpecificApplicationPermissions", T::Complex("resourceSpecificPermission"), fl!(R, D)),
        P::new("samlSingleSignOnSettings", T::Complex("samlSingleSignOnSettings"), fl!(N, D)),
        P::collection("servicePrincipalNames", STR, fl!(F, D)),
        P::new("servicePrincipalType", STR, fl!(N, R, F, D)),
        P::new("signInAudience", STR, fl!(N, R, D)),
        P::collection("tags", STR, fl!(F, D)),
        P::new("tokenEncryptionKeyId", GUID, fl!(N, D)),
        P::new("verifiedPublisher", T::Complex("verifiedPublisher"), fl!(N, R, D)),
    ],
    navigation: &[
        Nav::many("appRoleAssignedTo", "appRoleAssignment").contained(),
        Nav::many("appRoleAssignments", "appRoleAssignment").contained(),
        Nav::many("createdObjects", "directoryObject"),
        Nav::many("federatedIdentityCredentials", "federatedIdentityCredential").contained(),
        Nav::many("memberOf", "directoryObject"),
        Nav::many("oauth2PermissionGrants", "oAuth2PermissionGrant"),
        Nav::many("ownedObjects", "directoryObject"),
        Nav::many("owners", "directoryObject"),
        Nav::many("transitiveMemberOf", "directoryObject"),
    ],
    is_abstract: false,
    open: true,
    inherited_defaults: &["deletedDateTime"],
};

/// An app role granted to a user, group or service principal on a resource service principal.
/// Contained in the principal (`appRoleAssignments`) and the resource (`appRoleAssignedTo`).
pub static APP_ROLE_ASSIGNMENT: EntityType = EntityType {
    name: "appRoleAssignment",
    base: Some("directoryObject"),
    entity_set: None,
    properties: &[
        P::new("appRoleId", GUID, fl!(D, Q, C)),
        P::new("createdDateTime", DTO, fl!(N, R, D)),
        P::new("principalDisplayName", STR, fl!(N, R, D)),
        P::new("principalId", GUID, fl!(N, F, D, Q, C)),
        P::new("principalType", STR, fl!(N, R, D)),
        P::new("resourceDisplayName", STR, fl!(N, R, F, D)),
        P::new("resourceId", GUID, fl!(N, F, D, Q, C)),
    ],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &["deletedDateTime"],
};

/// A delegated permission grant (`/oauth2PermissionGrants`): scopes a client may use on a
/// resource for all users (`AllPrincipals`) or one user (`Principal`).
pub static OAUTH2_PERMISSION_GRANT: EntityType = EntityType {
    name: "oAuth2PermissionGrant",
    base: None,
    entity_set: Some("oauth2PermissionGrants"),
    properties: &[
        P::new("id", STR, fl!(R, F, D)),
        P::new("clientId", STR, fl!(F, D, Q, C)),
        P::new("consentType", STR, fl!(N, F, D, Q, C)),
        P::new("principalId", STR, fl!(N, F, D, C)),
        P::new("resourceId", STR, fl!(F, D, Q, C)),
        P::new("scope", STR, fl!(N, D)),
    ],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A federated identity credential of an application: tokens of `issuer` for `subject` and
/// `audiences` are accepted as the application's credential. Kept inside the application.
pub static FEDERATED_IDENTITY_CREDENTIAL: EntityType = EntityType {
    name: "federatedIdentityCredential",
    base: None,
    entity_set: None,
    properties: &[
        P::new("id", STR, fl!(R, F, D)),
        P::collection("audiences", STR, fl!(D, Q)),
        P::new("description", STR, fl!(N, D)),
        P::new("issuer", STR, fl!(F, D, Q)),
        P::new("name", STR, fl!(F, D, Q, C)),
        P::new("subject", STR, fl!(N, F, D, Q)),
    ],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A complex type that is neither open nor abstract.
const fn complex(name: &'static str, properties: &'static [P]) -> ComplexType {
    ComplexType { name, base: None, properties, open: false, is_abstract: false }
}

pub static ADD_IN: ComplexType = complex(
    "addIn",
    &[P::new("id", GUID, N), P::collection("properties", T::Complex("keyValue"), NONE), P::new("type", STR, NONE)],
);

pub static API_APPLICATION: ComplexType = complex(
    "apiApplication",
    &[
        P::new("acceptMappedClaims", BOOL, N),
        P::collection("knownClientApplications", GUID, N),
        P::collection("oauth2PermissionScopes", T::Complex("permissionScope"), NONE),
        P::collection("preAuthorizedApplications", T::Complex("preAuthorizedApplication"), N),
        P::new("requestedAccessTokenVersion", INT, N),
    ],
);

pub static APP_ROLE: ComplexType = complex(
    "appRole",
    &[
        P::collection("allowedMemberTypes", STR, NONE),
        P::new("description", STR, N),
        P::new("displayName", STR, N),
        P::new("id", GUID, NONE),
        P::new("isEnabled", BOOL, NONE),
        P::new("origin", STR, N),
        P::new("value", STR, N),
    ],
);

pub static AUTHENTICATION_BEHAVIORS: ComplexType = complex(
    "authenticationBehaviors",
    &[
        P::new("blockAzureADGraphAccess", BOOL, N),
        P::new("removeUnverifiedEmailClaim", BOOL, N),
        P::new("requireClientServicePrincipal", BOOL, N),
    ],
);

pub static CERTIFICATION: ComplexType = complex(
    "certification",
    &[
        P::new("certificationDetailsUrl", STR, N),
        P::new("certificationExpirationDateTime", DTO, N),
        P::new("isCertifiedByMicrosoft", BOOL, N),
        P::new("isPublisherAttested", BOOL, N),
        P::new("lastCertificationDateTime", DTO, N),
    ],
);

pub static IMPLICIT_GRANT_SETTINGS: ComplexType = complex(
    "implicitGrantSettings",
    &[P::new("enableAccessTokenIssuance", BOOL, N), P::new("enableIdTokenIssuance", BOOL, N)],
);

pub static INFORMATIONAL_URL: ComplexType = complex(
    "informationalUrl",
    &[
        P::new("logoUrl", STR, N),
        P::new("marketingUrl", STR, N),
        P::new("privacyStatementUrl", STR, N),
        P::new("supportUrl", STR, N),
        P::new("termsOfServiceUrl", STR, N),
    ],
);

pub static KEY_CREDENTIAL: ComplexType = complex(
    "keyCredential",
    &[
        P::new("customKeyIdentifier", T::Binary, N),
        P::new("displayName", STR, N),
        P::new("endDateTime", DTO, N),
        P::new("key", T::Binary, N),
        P::new("keyId", GUID, N),
        P::new("startDateTime", DTO, N),
        P::new("type", STR, N),
        P::new("usage", STR, N),
    ],
);

pub static KEY_VALUE: ComplexType = complex("keyValue", &[P::new("key", STR, N), P::new("value", STR, N)]);

pub static OPTIONAL_CLAIM: ComplexType = complex(
    "optionalClaim",
    &[
        P::collection("additionalProperties", STR, N),
        P::new("essential", BOOL, NONE),
        P::new("name", STR, NONE),
        P::new("source", STR, N),
    ],
);

pub static OPTIONAL_CLAIMS: ComplexType = complex(
    "optionalClaims",
    &[
        P::collection("accessToken", T::Complex("optionalClaim"), N),
        P::collection("idToken", T::Complex("optionalClaim"), N),
        P::collection("saml2Token", T::Complex("optionalClaim"), N),
    ],
);

pub static PARENTAL_CONTROL_SETTINGS: ComplexType = complex(
    "parentalControlSettings",
    &[P::collection("countriesBlockedForMinors", STR, N), P::new("legalAgeGroupRule", STR, N)],
);

pub static PASSWORD_CREDENTIAL: ComplexType = complex(
    "passwordCredential",
    &[
        P::new("customKeyIdentifier", T::Binary, N),
        P::new("displayName", STR, N),
        P::new("endDateTime", DTO, N),
        P::new("hint", STR, N),
        P::new("keyId", GUID, N),
        P::new("secretText", STR, N),
        P::new("startDateTime", DTO, N),
    ],
);

pub static PERMISSION_SCOPE: ComplexType = complex(
    "permissionScope",
    &[
        P::new("adminConsentDescription", STR, N),
        P::new("adminConsentDisplayName", STR, N),
        P::new("id", GUID, NONE),
        P::new("isEnabled", BOOL, NONE),
        P::new("origin", STR, N),
        P::new("type", STR, N),
        P::new("userConsentDescription", STR, N),
        P::new("userConsentDisplayName", STR, N),
        P::new("value", STR, N),
    ],
);

pub static PRE_AUTHORIZED_APPLICATION: ComplexType =
    complex("preAuthorizedApplication", &[P::new("appId", STR, N), P::collection("delegatedPermissionIds", STR, NONE)]);

pub static PUBLIC_CLIENT_APPLICATION: ComplexType =
    complex("publicClientApplication", &[P::collection("redirectUris", STR, NONE)]);

pub static REDIRECT_URI_SETTINGS: ComplexType =
    complex("redirectUriSettings", &[P::new("index", INT, N), P::new("uri", STR, N)]);

pub static REQUEST_SIGNATURE_VERIFICATION: ComplexType = complex(
    "requestSignatureVerification",
    &[P::new("allowedWeakAlgorithms", T::Enum("weakAlgorithms"), N), P::new("isSignedRequestRequired", BOOL, NONE)],
);

pub static REQUIRED_RESOURCE_ACCESS: ComplexType = complex(
    "requiredResourceAccess",
    &[P::collection("resourceAccess", T::Complex("resourceAccess"), NONE), P::new("resourceAppId", STR, NONE)],
);

pub static RESOURCE_ACCESS: ComplexType =
    complex("resourceAccess", &[P::new("id", GUID, NONE), P::new("type", STR, N)]);

pub static RESOURCE_SPECIFIC_PERMISSION: ComplexType = complex(
    "resourceSpecificPermission",
    &[
        P::new("description", STR, N),
        P::new("displayName", STR, N),
        P::new("id", GUID, NONE),
        P::new("isEnabled", BOOL, NONE),
        P::new("value", STR, N),
    ],
);

pub static SAML_SINGLE_SIGN_ON_SETTINGS: ComplexType =
    complex("samlSingleSignOnSettings", &[P::new("relayState", STR, N)]);

pub static SERVICE_PRINCIPAL_LOCK_CONFIGURATION: ComplexType = complex(
    "servicePrincipalLockConfiguration",
    &[
        P::new("allProperties", BOOL, N),
        P::new("credentialsWithUsageSign", BOOL, N),
        P::new("credentialsWithUsageVerify", BOOL, N),
        P::new("isEnabled", BOOL, NONE),
        P::new("tokenEncryptionKeyId", BOOL, N),
    ],
);

pub static SPA_APPLICATION: ComplexType = complex("spaApplication", &[P::collection("redirectUris", STR, NONE)]);

pub static VERIFIED_PUBLISHER: ComplexType = complex(
    "verifiedPublisher",
    &[P::new("addedDateTime", DTO, N), P::new("displayName", STR, N), P::new("verifiedPublisherId", STR, N)],
);

pub static WEB_APPLICATION: ComplexType = complex(
    "webApplication",
    &[
        P::new("homePageUrl", STR, N),
        P::new("implicitGrantSettings", T::Complex("implicitGrantSettings"), N),
        P::new("logoutUrl", STR, N),
        P::collection("redirectUris", STR, NONE),
        P::collection("redirectUriSettings", T::Complex("redirectUriSettings"), NONE),
    ],
);

pub static NATIVE_AUTHENTICATION_APIS_ENABLED: EnumType = EnumType {
    name: "nativeAuthenticationApisEnabled",
    members: &["none", "all", "unknownFutureValue"],
    values: &[0, 1, 2],
};

pub static WEAK_ALGORITHMS: EnumType =
    EnumType { name: "weakAlgorithms", members: &["rsaSha1", "unknownFutureValue"], values: &[1, 2] };
