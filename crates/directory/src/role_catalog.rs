//! The built-in directory roles, declared once: template id, display name, description and the
//! resource actions each grants, as the "Microsoft Entra built-in roles" reference
//! (learn.microsoft.com, `permissions-reference`) lists them. Only the `microsoft.directory`
//! actions are listed (the other namespaces — Microsoft 365 admin center, Azure support —
//! concern services Cerulean does not host), and for Global Administrator and Global Reader
//! only those over the resources the directory holds.
//!
//! Every other part derives from this table: `directoryRoleTemplates`, the built-in
//! `roleDefinitions` of each tenant, and the delegated-authorization checks, which ask whether
//! an assignment's actions [`covers`] the action an operation needs.

/// One built-in role.
#[derive(Debug, Clone, Copy)]
pub struct BuiltInRole {
    /// The template id, the same in every tenant (and the id of the built-in role definition).
    pub id: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    /// `rolePermissions[0].allowedResourceActions`.
    pub actions: &'static [&'static str],
}

pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
pub const GROUPS_ADMINISTRATOR: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
pub const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
pub const CLOUD_APPLICATION_ADMINISTRATOR: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
pub const HELPDESK_ADMINISTRATOR: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
/// The custom security attribute roles, which no other role (Global Administrator included)
/// implies.
pub const ATTRIBUTE_ASSIGNMENT_ADMINISTRATOR: &str = "58a13ea3-c632-46ae-9ee0-9c0d43cd7f3d";
pub const ATTRIBUTE_ASSIGNMENT_READER: &str = "ffd52fa5-98dc-465c-991d-fc073eb59f8f";
pub const ATTRIBUTE_DEFINITION_ADMINISTRATOR: &str = "8424c6f0-a189-499e-bbd0-26c1753c96d4";
pub const ATTRIBUTE_DEFINITION_READER: &str = "1d336d2c-4ae8-42ef-9711-b3604ce3fc2c";

const D: &str = "microsoft.directory";

/// The roles whose holders a User Administrator may still delete, disable, rename or reset
/// ("Who can perform sensitive actions" in the privileged roles reference): Directory Readers,
/// Guest Inviter, Helpdesk Administrator, Message Center Reader, Password Administrator,
/// Reports Reader, User Administrator, Usage Summary Reports Reader. A user holding any other
/// role is out of reach for everyone but a Global Administrator.
pub const LIMITED_ADMIN_ROLES: &[&str] = &[
    "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
    "95e79109-95c0-4d8e-aee3-d01accf2d47b",
    HELPDESK_ADMINISTRATOR,
    "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",
    "966707d0-3269-4727-9be2-8c3a10f19b9d",
    "4a5d8f65-41da-4de4-8968-e035b65339cf",
    USER_ADMINISTRATOR,
    "75934031-6c7e-415a-99d7-48dbd49e875e",
];

/// The built-in roles that can be assigned with administrative unit scope (Entra's list, as far
/// as this catalogue holds them): Authentication Administrator, Groups Administrator, Helpdesk
/// Administrator, License Administrator, Password Administrator, Privileged Authentication
/// Administrator, User Administrator. Every other built-in role is directory-wide only.
pub const AU_SCOPABLE_ROLES: &[&str] = &[
    "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    GROUPS_ADMINISTRATOR,
    HELPDESK_ADMINISTRATOR,
    "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
    "966707d0-3269-4727-9be2-8c3a10f19b9d",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    USER_ADMINISTRATOR,
];

macro_rules! actions {
    ($($a:literal),* $(,)?) => { &[$(concat!("microsoft.directory/", $a)),*] };
}

/// The built-in roles, by display name.
pub static BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        id: APPLICATION_ADMINISTRATOR,
        display_name: "Application Administrator",
        description: "Can create and manage all aspects of app registrations and enterprise apps.",
        actions: actions![
            "adminConsentRequestPolicy/allProperties/allTasks",
            "appConsent/appConsentRequests/allProperties/read",
            "applications/appRoles/update",
            "applications/audience/update",
            "applications/authentication/update",
            "applications/basic/update",
            "applications/create",
            "applications/credentials/update",
            "applications/delete",
            "applications/extensionProperties/update",
            "applications/notes/update",
            "applications/owners/update",
            "applications/permissions/update",
            "applications/policies/update",
            "applications/tag/update",
            "applications/verification/update",
            "applicationTemplates/instantiate",
            "auditLogs/allProperties/read",
            "deletedItems.applications/delete",
            "deletedItems.applications/restore",
            "oAuth2PermissionGrants/allProperties/allTasks",
            "provisioningLogs/allProperties/read",
            "servicePrincipals/appRoleAssignedTo/update",
            "servicePrincipals/audience/update",
            "servicePrincipals/authentication/update",
            "servicePrincipals/basic/update",
            "servicePrincipals/create",
            "servicePrincipals/credentials/update",
            "servicePrincipals/delete",
            "servicePrincipals/disable",
            "servicePrincipals/enable",
            "servicePrincipals/managePermissionGrantsForAll.microsoft-application-admin",
            "servicePrincipals/notes/update",
            "servicePrincipals/owners/update",
            "servicePrincipals/permissions/update",
            "servicePrincipals/policies/update",
            "servicePrincipals/tag/update",
            "signInReports/allProperties/read",
        ],
    },
    BuiltInRole {
        id: "cf1c38e5-3621-4004-a7cb-879624dced7c",
        display_name: "Application Developer",
        description: "Can create application registrations independent of the 'Users can register applications' setting.",
        actions: actions![
            "applications/createAsOwner",
            "oAuth2PermissionGrants/createAsOwner",
            "servicePrincipals/createAsOwner",
        ],
    },
    BuiltInRole {
        id: ATTRIBUTE_ASSIGNMENT_ADMINISTRATOR,
        display_name: "Attribute Assignment Administrator",
        description: "Assign custom security attribute keys and values to supported Microsoft Entra objects.",
        actions: actions![
            "attributeSets/allProperties/read",
            "customSecurityAttributeDefinitions/allProperties/read",
            "servicePrincipals/customSecurityAttributes/read",
            "servicePrincipals/customSecurityAttributes/update",
            "users/customSecurityAttributes/read",
            "users/customSecurityAttributes/update",
        ],
    },
    BuiltInRole {
        id: ATTRIBUTE_ASSIGNMENT_READER,
        display_name: "Attribute Assignment Reader",
        description: "Read custom security attribute keys and values for supported Microsoft Entra objects.",
        actions: actions![
            "attributeSets/allProperties/read",
            "customSecurityAttributeDefinitions/allProperties/read",
            "servicePrincipals/customSecurityAttributes/read",
            "users/customSecurityAttributes/read",
        ],
    },
    BuiltInRole {
        id: ATTRIBUTE_DEFINITION_ADMINISTRATOR,
        display_name: "Attribute Definition Administrator",
        description: "Define and manage the definition of custom security attributes.",
        actions: actions![
            "attributeSets/allProperties/allTasks",
            "customSecurityAttributeDefinitions/allProperties/allTasks",
        ],
    },
    BuiltInRole {
        id: ATTRIBUTE_DEFINITION_READER,
        display_name: "Attribute Definition Reader",
        description: "Read the definition of custom security attributes.",
        actions: actions!["attributeSets/allProperties/read", "customSecurityAttributeDefinitions/allProperties/read",],
    },
    BuiltInRole {
        id: "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        display_name: "Authentication Administrator",
        description: "Can access to view, set and reset authentication method information for any non-admin user.",
        actions: actions![
            "deviceResourceCredentials/standard/read",
            "users/authenticationMethods/create",
            "users/authenticationMethods/delete",
            "users/authenticationMethods/standard/read",
            "users/authenticationMethods/basic/update",
            "users/invalidateAllRefreshTokens",
            "users/password/update",
        ],
    },
    BuiltInRole {
        id: CLOUD_APPLICATION_ADMINISTRATOR,
        display_name: "Cloud Application Administrator",
        description: "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
        actions: actions![
            "adminConsentRequestPolicy/allProperties/allTasks",
            "appConsent/appConsentRequests/allProperties/read",
            "applications/appRoles/update",
            "applications/audience/update",
            "applications/authentication/update",
            "applications/basic/update",
            "applications/create",
            "applications/credentials/update",
            "applications/delete",
            "applications/extensionProperties/update",
            "applications/notes/update",
            "applications/owners/update",
            "applications/permissions/update",
            "applications/policies/update",
            "applications/tag/update",
            "applications/verification/update",
            "applicationTemplates/instantiate",
            "auditLogs/allProperties/read",
            "deletedItems.applications/delete",
            "deletedItems.applications/restore",
            "oAuth2PermissionGrants/allProperties/allTasks",
            "provisioningLogs/allProperties/read",
            "servicePrincipals/appRoleAssignedTo/update",
            "servicePrincipals/audience/update",
            "servicePrincipals/authentication/update",
            "servicePrincipals/basic/update",
            "servicePrincipals/create",
            "servicePrincipals/credentials/update",
            "servicePrincipals/delete",
            "servicePrincipals/disable",
            "servicePrincipals/enable",
            "servicePrincipals/managePermissionGrantsForAll.microsoft-application-admin",
            "servicePrincipals/notes/update",
            "servicePrincipals/owners/update",
            "servicePrincipals/permissions/update",
            "servicePrincipals/policies/update",
            "servicePrincipals/tag/update",
            "signInReports/allProperties/read",
        ],
    },
    BuiltInRole {
        id: "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        display_name: "Directory Readers",
        description: "Can read basic directory information. Commonly used to grant directory read access to applications and guests.",
        actions: actions![
            "administrativeUnits/members/read",
            "administrativeUnits/standard/read",
            "applications/standard/read",
            "applications/owners/read",
            "applications/policies/read",
            "contacts/memberOf/read",
            "contacts/standard/read",
            "devices/memberOf/read",
            "devices/registeredOwners/read",
            "devices/registeredUsers/read",
            "devices/standard/read",
            "directoryRoles/eligibleMembers/read",
            "directoryRoles/members/read",
            "directoryRoles/standard/read",
            "domains/standard/read",
            "groups/appRoleAssignments/read",
            "groups/memberOf/read",
            "groups/members/read",
            "groups/owners/read",
            "groups/settings/read",
            "groups/standard/read",
            "groupSettings/standard/read",
            "groupSettingTemplates/standard/read",
            "oAuth2PermissionGrants/standard/read",
            "organization/standard/read",
            "organization/trustedCAsForPasswordlessAuth/read",
            "roleAssignments/standard/read",
            "roleDefinitions/standard/read",
            "servicePrincipals/appRoleAssignedTo/read",
            "servicePrincipals/appRoleAssignments/read",
            "servicePrincipals/memberOf/read",
            "servicePrincipals/oAuth2PermissionGrants/read",
            "servicePrincipals/ownedObjects/read",
            "servicePrincipals/owners/read",
            "servicePrincipals/standard/read",
            "subscribedSkus/standard/read",
            "users/appRoleAssignments/read",
            "users/deviceForResourceAccount/read",
            "users/directReports/read",
            "users/invitedBy/read",
            "users/licenseDetails/read",
            "users/manager/read",
            "users/memberOf/read",
            "users/oAuth2PermissionGrants/read",
            "users/ownedDevices/read",
            "users/ownedObjects/read",
            "users/photo/read",
            "users/registeredDevices/read",
            "users/scopedRoleMemberOf/read",
            "users/sponsors/read",
            "users/standard/read",
        ],
    },
    BuiltInRole {
        id: "9360feb5-f418-4baa-8175-e2a00bac4301",
        display_name: "Directory Writers",
        description: "Can read and write basic directory information. For granting access to applications, not intended for users.",
        actions: actions![
            "applications/extensionProperties/update",
            "groups/assignLicense",
            "groups/basic/update",
            "groups/classification/update",
            "groups/create",
            "groups/dynamicMembershipRule/update",
            "groups/groupType/update",
            "groups/members/update",
            "groups/onPremWriteBack/update",
            "groups/owners/update",
            "groups/settings/update",
            "groups/visibility/update",
            "groupSettings/basic/update",
            "groupSettings/create",
            "groupSettings/delete",
            "oAuth2PermissionGrants/allProperties/allTasks",
            "servicePrincipals/managePermissionGrantsForSelf.microsoft-dynamically-managed-permissions-for-team",
            "servicePrincipals/managePermissionGrantsForSelf.microsoft-all-application-permissions",
            "users/assignLicense",
            "users/basic/update",
            "users/manager/update",
            "users/photo/update",
            "users/sponsors/update",
            "users/userPrincipalName/update",
        ],
    },
    BuiltInRole {
        id: GLOBAL_ADMINISTRATOR,
        display_name: "Global Administrator",
        description: "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
        actions: actions![
            "accessReviews/allProperties/allTasks",
            "administrativeUnits/allProperties/allTasks",
            "applications/allProperties/allTasks",
            "auditLogs/allProperties/read",
            "contacts/allProperties/allTasks",
            "contracts/allProperties/allTasks",
            "deletedItems/delete",
            "deletedItems/restore",
            "devices/allProperties/allTasks",
            "directoryRoles/allProperties/allTasks",
            "directoryRoleTemplates/allProperties/allTasks",
            "domains/allProperties/allTasks",
            "groups/allProperties/allTasks",
            "groupsAssignableToRoles/allProperties/update",
            "groupsAssignableToRoles/create",
            "groupsAssignableToRoles/delete",
            "groupsAssignableToRoles/restore",
            "groupSettings/allProperties/allTasks",
            "groupSettingTemplates/allProperties/allTasks",
            "oAuth2PermissionGrants/allProperties/allTasks",
            "organization/allProperties/allTasks",
            "policies/allProperties/allTasks",
            "roleAssignments/allProperties/allTasks",
            "roleDefinitions/allProperties/allTasks",
            "scopedRoleMemberships/allProperties/allTasks",
            "servicePrincipals/allProperties/allTasks",
            "signInReports/allProperties/read",
            "subscribedSkus/allProperties/allTasks",
            "users/allProperties/allTasks",
        ],
    },
    BuiltInRole {
        id: GLOBAL_READER,
        display_name: "Global Reader",
        description: "Can read everything that a Global Administrator can, but not update anything.",
        actions: actions![
            "accessReviews/allProperties/read",
            "administrativeUnits/allProperties/read",
            "applications/allProperties/read",
            "auditLogs/allProperties/read",
            "contacts/allProperties/read",
            "devices/allProperties/read",
            "directoryRoles/allProperties/read",
            "directoryRoleTemplates/allProperties/read",
            "domains/allProperties/read",
            "groups/allProperties/read",
            "groupSettings/allProperties/read",
            "groupSettingTemplates/allProperties/read",
            "identityProtection/allProperties/read",
            "oAuth2PermissionGrants/allProperties/read",
            "organization/allProperties/read",
            "policies/allProperties/read",
            "roleAssignments/allProperties/read",
            "roleDefinitions/allProperties/read",
            "scopedRoleMemberships/allProperties/read",
            "servicePrincipals/allProperties/read",
            "signInReports/allProperties/read",
            "subscribedSkus/allProperties/read",
            "users/allProperties/read",
        ],
    },
    BuiltInRole {
        id: GROUPS_ADMINISTRATOR,
        display_name: "Groups Administrator",
        description: "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.",
        actions: actions![
            "deletedItems.groups/delete",
            "deletedItems.groups/restore",
            "groups/assignedLabels/update",
            "groups/assignLicense",
            "groups/basic/update",
            "groups/classification/update",
            "groups/create",
            "groups/delete",
            "groups/dynamicMembershipRule/update",
            "groups/groupType/update",
            "groups/hiddenMembers/read",
            "groups/members/update",
            "groups/onPremWriteBack/update",
            "groups/owners/update",
            "groups/reprocessLicenseAssignment",
            "groups/restore",
            "groups/settings/update",
            "groups/visibility/update",
        ],
    },
    BuiltInRole {
        id: "95e79109-95c0-4d8e-aee3-d01accf2d47b",
        display_name: "Guest Inviter",
        description: "Can invite guest users independent of the 'members can invite guests' setting.",
        actions: actions!["users/appRoleAssignments/read", "users/inviteGuest", "users/standard/read"],
    },
    BuiltInRole {
        id: HELPDESK_ADMINISTRATOR,
        display_name: "Helpdesk Administrator",
        description: "Can reset passwords for non-administrators and Helpdesk Administrators.",
        actions: actions![
            "bitlockerKeys/key/read",
            "deviceLocalCredentials/standard/read",
            "users/invalidateAllRefreshTokens",
            "users/password/update",
        ],
    },
    BuiltInRole {
        id: "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
        display_name: "License Administrator",
        description: "Can manage product licenses on users and groups.",
        actions: actions![
            "groups/assignLicense",
            "groups/reprocessLicenseAssignment",
            "users/assignLicense",
            "users/reprocessLicenseAssignment",
            "users/usageLocation/update",
        ],
    },
    BuiltInRole {
        id: "966707d0-3269-4727-9be2-8c3a10f19b9d",
        display_name: "Password Administrator",
        description: "Can reset passwords for non-administrators and Password Administrators.",
        actions: actions!["users/password/update"],
    },
    BuiltInRole {
        id: "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        display_name: "Privileged Authentication Administrator",
        description: "Can access to view, set and reset authentication method information for any user (admin or non-admin).",
        actions: actions![
            "users/authenticationMethods/basic/update",
            "users/authenticationMethods/create",
            "users/authenticationMethods/delete",
            "users/authenticationMethods/standard/read",
            "users/invalidateAllRefreshTokens",
            "users/password/update",
        ],
    },
    BuiltInRole {
        id: PRIVILEGED_ROLE_ADMINISTRATOR,
        display_name: "Privileged Role Administrator",
        description: "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
        actions: actions![
            "accessReviews/definitions.applications/allProperties/read",
            "accessReviews/definitions.directoryRoles/allProperties/allTasks",
            "accessReviews/definitions.groups/allProperties/read",
            "administrativeUnits/allProperties/allTasks",
            "authorizationPolicy/allProperties/allTasks",
            "directoryRoles/allProperties/allTasks",
            "groupsAssignableToRoles/allProperties/update",
            "groupsAssignableToRoles/assignLicense",
            "groupsAssignableToRoles/create",
            "groupsAssignableToRoles/delete",
            "groupsAssignableToRoles/reprocessLicenseAssignment",
            "groupsAssignableToRoles/restore",
            "oAuth2PermissionGrants/allProperties/allTasks",
            "permissionGrantPolicies/allProperties/read",
            "permissionGrantPolicies/allProperties/update",
            "permissionGrantPolicies/create",
            "permissionGrantPolicies/delete",
            "privilegedIdentityManagement/allProperties/allTasks",
            "roleAssignments/allProperties/allTasks",
            "roleDefinitions/allProperties/allTasks",
            "scopedRoleMemberships/allProperties/allTasks",
            "servicePrincipals/appRoleAssignedTo/update",
            "servicePrincipals/managePermissionGrantsForAll.microsoft-company-admin",
            "servicePrincipals/permissions/update",
        ],
    },
    BuiltInRole {
        id: "4a5d8f65-41da-4de4-8968-e035b65339cf",
        display_name: "Reports Reader",
        description: "Can read sign-in and audit reports.",
        actions: actions![
            "auditLogs/allProperties/read",
            "provisioningLogs/allProperties/read",
            "signInReports/allProperties/read"
        ],
    },
    BuiltInRole {
        id: "194ae4cb-b126-40b2-bd5b-6091b380977d",
        display_name: "Security Administrator",
        description: "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
        actions: actions![
            "applications/policies/update",
            "auditLogs/allProperties/read",
            "authorizationPolicy/standard/read",
            "bitlockerKeys/key/read",
            "conditionalAccessPolicies/allProperties/allTasks",
            "identityProtection/allProperties/allTasks",
            "namedLocations/allProperties/allTasks",
            "policies/basic/update",
            "policies/create",
            "policies/delete",
            "policies/owners/update",
            "policies/standard/read",
            "privilegedIdentityManagement/allProperties/read",
            "provisioningLogs/allProperties/read",
            "servicePrincipals/policies/update",
            "signInReports/allProperties/read",
        ],
    },
    BuiltInRole {
        id: "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
        display_name: "Security Operator",
        description: "Creates and manages security events.",
        actions: actions![
            "auditLogs/allProperties/read",
            "cloudAppSecurity/allProperties/allTasks",
            "identityProtection/allProperties/allTasks",
            "privilegedIdentityManagement/allProperties/read",
            "signInReports/allProperties/read",
        ],
    },
    BuiltInRole {
        id: "5d6b6bb7-de71-4623-b4af-96380a352509",
        display_name: "Security Reader",
        description: "Can read security information and reports in Microsoft Entra ID and Office 365.",
        actions: actions![
            "accessReviews/definitions/allProperties/read",
            "auditLogs/allProperties/read",
            "authorizationPolicy/standard/read",
            "bitlockerKeys/key/read",
            "identityProtection/allProperties/read",
            "policies/conditionalAccess/standard/read",
            "policies/standard/read",
            "privilegedIdentityManagement/allProperties/read",
            "provisioningLogs/allProperties/read",
            "signInReports/allProperties/read",
        ],
    },
    BuiltInRole {
        id: USER_ADMINISTRATOR,
        display_name: "User Administrator",
        description: "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
        actions: actions![
            "accessReviews/definitions.applications/allProperties/allTasks",
            "accessReviews/definitions.directoryRoles/allProperties/read",
            "accessReviews/definitions.entitlementManagement/allProperties/allTasks",
            "accessReviews/definitions.groups/allProperties/read",
            "accessReviews/definitions.groups/allProperties/update",
            "accessReviews/definitions.groups/create",
            "accessReviews/definitions.groups/delete",
            "contacts/basic/update",
            "contacts/create",
            "contacts/delete",
            "deletedItems.groups/restore",
            "deletedItems.users/restore",
            "entitlementManagement/allProperties/allTasks",
            "groups.unified/assignedLabels/update",
            "groups/assignLicense",
            "groups/basic/update",
            "groups/classification/update",
            "groups/create",
            "groups/delete",
            "groups/dynamicMembershipRule/update",
            "groups/groupType/update",
            "groups/hiddenMembers/read",
            "groups/members/update",
            "groups/onPremWriteBack/update",
            "groups/owners/update",
            "groups/reprocessLicenseAssignment",
            "groups/restore",
            "groups/settings/update",
            "groups/visibility/update",
            "oAuth2PermissionGrants/allProperties/allTasks",
            "onPremisesSynchronization/standard/read",
            "policies/standard/read",
            "servicePrincipals/appRoleAssignedTo/update",
            "users/assignLicense",
            "users/basic/update",
            "users/convertExternalToInternalMemberUser",
            "users/create",
            "users/delete",
            "users/disable",
            "users/enable",
            "users/invalidateAllRefreshTokens",
            "users/inviteGuest",
            "users/lifeCycleInfo/read",
            "users/manager/update",
            "users/password/update",
            "users/photo/update",
            "users/reprocessLicenseAssignment",
            "users/restore",
            "users/sponsors/update",
            "users/usageLocation/update",
            "users/userPrincipalName/update",
        ],
    },
];

/// A built-in role by template id (case-insensitive).
pub fn built_in(id: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// The resource types whose actions custom roles may grant ("Microsoft Entra role
/// permissions available for custom roles": applications, service principals, users, groups,
/// devices and the delegated-permission grants).
const CUSTOM_ROLE_TYPES: &[&str] =
    &["applications", "servicePrincipals", "users", "groups", "devices", "oAuth2PermissionGrants"];

/// Why a resource action cannot be part of a custom role, in Microsoft's words.
pub fn custom_action_error(action: &str) -> Option<String> {
    let mut parts = action.split('/');
    let namespace = parts.next().unwrap_or_default();
    if !namespace.eq_ignore_ascii_case(D) {
        return Some(format!("Resource category '{namespace}' is not supported."));
    }
    let entity = parts.next().unwrap_or_default();
    let known = BUILT_IN_ROLES.iter().flat_map(|r| r.actions.iter()).any(|a| a.eq_ignore_ascii_case(action))
        || ["allProperties/allTasks", "allProperties/read", "allProperties/update", "standard/read", "basic/update"]
            .iter()
            .any(|tail| action.len() > tail.len() && action[action.len() - tail.len()..].eq_ignore_ascii_case(tail));
    let allowed_type = CUSTOM_ROLE_TYPES.iter().any(|t| t.eq_ignore_ascii_case(entity));
    if !allowed_type || !known || action.split('/').count() < 3 {
        return Some(format!("Action '{action}' is not supported for Custom Role creation"));
    }
    None
}

/// Whether holding resource action `held` grants `wanted`. Actions are
/// `namespace/resource[.subtype]/[propertySet/]verb`: `allProperties/allTasks` grants every
/// action on the resource, `allProperties/<verb>` every action with that verb, and a holder of
/// `resource/verb` holds it on every subtype (`deletedItems/restore` covers
/// `deletedItems.users/restore`).
pub fn covers(held: &str, wanted: &str) -> bool {
    if held.eq_ignore_ascii_case(wanted) {
        return true;
    }
    let h: Vec<&str> = held.split('/').collect();
    let w: Vec<&str> = wanted.split('/').collect();
    if h.len() < 3 || w.len() < 3 || !h[0].eq_ignore_ascii_case(w[0]) {
        return false;
    }
    let (h_res, w_res) = (h[1], w[1]);
    let same_resource = h_res.eq_ignore_ascii_case(w_res)
        || (w_res.len() > h_res.len()
            && w_res[..h_res.len()].eq_ignore_ascii_case(h_res)
            && w_res.as_bytes()[h_res.len()] == b'.');
    if !same_resource {
        return false;
    }
    let (h_rest, w_rest) = (&h[2..], &w[2..]);
    if h_rest.len() == 2 && h_rest[0].eq_ignore_ascii_case("allProperties") {
        let verb = h_rest[1];
        let w_verb = w_rest.last().copied().unwrap_or_default();
        return verb.eq_ignore_ascii_case("allTasks") || verb.eq_ignore_ascii_case(w_verb);
    }
    h_rest.len() == w_rest.len() && h_rest.iter().zip(w_rest).all(|(a, b)| a.eq_ignore_ascii_case(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_well_formed() {
        for (i, r) in BUILT_IN_ROLES.iter().enumerate() {
            assert!(uuid::Uuid::parse_str(r.id).is_ok(), "{}", r.display_name);
            assert!(!BUILT_IN_ROLES[..i].iter().any(|o| o.id == r.id || o.display_name == r.display_name));
            assert!(r.actions.iter().all(|a| a.starts_with("microsoft.directory/") && a.split('/').count() >= 3));
        }
        assert_eq!(
            built_in("62E90394-69F5-4237-9190-012177145E10").map(|r| r.display_name),
            Some("Global Administrator")
        );
    }

    #[test]
    fn coverage() {
        let d = |s: &str| format!("microsoft.directory/{s}");
        assert!(covers(&d("users/allProperties/allTasks"), &d("users/create")));
        assert!(covers(&d("users/allProperties/allTasks"), &d("users/password/update")));
        assert!(covers(&d("users/allProperties/read"), &d("users/manager/read")));
        assert!(!covers(&d("users/allProperties/read"), &d("users/basic/update")));
        assert!(covers(&d("deletedItems/restore"), &d("deletedItems.users/restore")));
        assert!(!covers(&d("deletedItems.users/restore"), &d("deletedItems.groups/restore")));
        assert!(!covers(&d("users/basic/update"), &d("users/password/update")));
        assert!(!covers(&d("groups/allProperties/allTasks"), &d("groupsAssignableToRoles/create")));
        assert!(!covers(&d("users/allProperties/allTasks"), "microsoft.azure/users/allProperties/allTasks"));
    }

    #[test]
    fn custom_role_actions() {
        assert_eq!(custom_action_error("microsoft.directory/users/basic/update"), None);
        assert_eq!(custom_action_error("microsoft.directory/applications/credentials/update"), None);
        assert_eq!(
            custom_action_error("microsoft.office365.network/performance/allProperties/read").as_deref(),
            Some("Resource category 'microsoft.office365.network' is not supported.")
        );
        assert!(custom_action_error("microsoft.directory/roleAssignments/allProperties/allTasks").is_some());
        assert!(custom_action_error("microsoft.directory/users/frobnicate").is_some());
    }
}
