//! The 1.6 wire shape of directory objects: which properties each type shows, in the order the
//! reference's examples list them (`seeds/003_*.txt`: the User entity and the create-user
//! response), and how each maps onto the stored v1.0 document.
//!
//! The mapping is the schema's: a 1.6 name is a property's `.aad(...)` name, or its v1.0 name
//! when it has none (`mobile` is `mobilePhone`, `objectId` is `id`, nested
//! `passwordProfile.forceChangePasswordNextLogin` is `forceChangePasswordNextSignIn`). What the
//! schema cannot say — a 1.6 scalar over a v1.0 collection (`telephoneNumber` over
//! `businessPhones`), a value inside a v1.0 complex property (`replyUrls` over
//! `web.redirectUris`), a constant — is listed per type in [`AadType::computed`]. Nothing here
//! copies data: every value is read from, and written to, the one stored document.

use cerulean_query::{Expr, LambdaKind};
use cerulean_schema::{EdmType, EntityType, Flags, Property};
use cerulean_store::{ObjectRecord, TenantRecord};
use serde_json::{Map, Value, json};

use crate::error::AadError;

/// The content type of every JSON answer (OData 3 JSON light, as AAD Graph sends it).
pub const CONTENT_TYPE: &str = "application/json;odata=minimalmetadata;streaming=true;charset=utf-8";
/// The CSDL namespace of 1.6 types.
pub const NAMESPACE: &str = "Microsoft.DirectoryServices";

/// Where a 1.6 property the schema cannot map comes from.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    /// A value inside the document, by path of v1.0 names.
    Path(&'static [&'static str]),
    /// The first element of a v1.0 collection (1.6 scalar over a v1.0 list).
    First(&'static str),
    /// `true` unless the v1.0 property holds the first string; written as that string for
    /// `false` and as the second for `true`.
    NotEqual(&'static str, &'static str, &'static str),
    /// Always this JSON literal (`null`, `[]`, `false`).
    Const(&'static str),
    /// A member of the first element of a v1.0 collection of complex values whose `type` is
    /// the given one (any element when `None`): a contact's `mobile` is the number of its
    /// `mobile` phone, its `city` the city of its first address. Written into that entry on
    /// updates ([`body_from_aad_over`]).
    Entry(&'static str, Option<&'static str>, &'static str),
}

/// One 1.6 entity type over one schema entity.
pub(crate) struct AadType {
    /// The schema entity (`user`); empty for the tenant (not a stored object).
    pub entity: &'static str,
    /// The 1.6 type name (`User` → `Microsoft.DirectoryServices.User`).
    pub name: &'static str,
    /// The `objectType` value; empty for types that are not directory objects.
    pub object_type: &'static str,
    /// The 1.6 collection (`users`).
    pub set: &'static str,
    /// 1.6 properties, in the order responses list them.
    pub properties: &'static [&'static str],
    /// 1.6 properties the schema's names do not map.
    pub computed: &'static [(&'static str, Source)],
}

impl AadType {
    pub fn odata_type(&self) -> String {
        format!("{NAMESPACE}.{}", self.name)
    }

    pub fn schema(&self) -> Option<&'static EntityType> {
        cerulean_schema::entity(self.entity)
    }

    /// Whether objects of this type live in the `directoryObjects` set.
    pub fn is_directory_object(&self) -> bool {
        !self.object_type.is_empty()
    }
}

pub(crate) static USER: AadType = AadType {
    entity: "user",
    name: "User",
    object_type: "User",
    set: "users",
    properties: &[
        "accountEnabled",
        "assignedLicenses",
        "assignedPlans",
        "city",
        "country",
        "department",
        "dirSyncEnabled",
        "displayName",
        "facsimileTelephoneNumber",
        "givenName",
        "immutableId",
        "jobTitle",
        "lastDirSyncTime",
        "mail",
        "mailNickname",
        "mobile",
        "onPremisesSecurityIdentifier",
        "otherMails",
        "passwordPolicies",
        "passwordProfile",
        "physicalDeliveryOfficeName",
        "postalCode",
        "preferredLanguage",
        "provisionedPlans",
        "provisioningErrors",
        "proxyAddresses",
        "sipProxyAddress",
        "state",
        "streetAddress",
        "surname",
        "telephoneNumber",
        "usageLocation",
        "userPrincipalName",
        "userType",
    ],
    computed: &[
        ("telephoneNumber", Source::First("businessPhones")),
        ("sipProxyAddress", Source::First("imAddresses")),
        // Write-only: the seed's create response shows `"passwordProfile": null`.
        ("passwordProfile", Source::Const("null")),
        ("provisioningErrors", Source::Const("[]")),
    ],
};

pub(crate) static GROUP: AadType = AadType {
    entity: "group",
    name: "Group",
    object_type: "Group",
    set: "groups",
    properties: &[
        "description",
        "dirSyncEnabled",
        "displayName",
        "lastDirSyncTime",
        "mail",
        "mailEnabled",
        "mailNickname",
        "onPremisesDomainName",
        "onPremisesNetBiosName",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "provisioningErrors",
        "proxyAddresses",
        "securityEnabled",
    ],
    computed: &[("provisioningErrors", Source::Const("[]"))],
};

pub(crate) static DIRECTORY_ROLE: AadType = AadType {
    entity: "directoryRole",
    name: "DirectoryRole",
    object_type: "Role",
    set: "directoryRoles",
    properties: &["description", "displayName", "isSystem", "roleDisabled", "roleTemplateId"],
    computed: &[("isSystem", Source::Const("true")), ("roleDisabled", Source::Const("false"))],
};

pub(crate) static APPLICATION: AadType = AadType {
    entity: "application",
    name: "Application",
    object_type: "Application",
    set: "applications",
    properties: &[
        "addIns",
        "allowGuestsSignIn",
        "allowPassthroughUsers",
        "appId",
        "appLogoUrl",
        "appRoles",
        "availableToOtherTenants",
        "displayName",
        "errorUrl",
        "groupMembershipClaims",
        "homepage",
        "identifierUris",
        "informationalUrls",
        "isDeviceOnlyAuthSupported",
        "keyCredentials",
        "knownClientApplications",
        "logoutUrl",
        "oauth2AllowIdTokenImplicitFlow",
        "oauth2AllowImplicitFlow",
        "oauth2AllowUrlPathMatching",
        "oauth2Permissions",
        "oauth2RequirePostResponse",
        "optionalClaims",
        "orgRestrictions",
        "parentalControlSettings",
        "passwordCredentials",
        "preAuthorizedApplications",
        "publicClient",
        "publisherDomain",
        "recordConsentConditions",
        "replyUrls",
        "requiredResourceAccess",
        "samlMetadataUrl",
        "signInAudience",
        "tokenEncryptionKeyId",
    ],
    computed: &[
        ("allowGuestsSignIn", Source::Const("null")),
        ("allowPassthroughUsers", Source::Const("null")),
        ("appLogoUrl", Source::Const("null")),
        ("availableToOtherTenants", Source::NotEqual("signInAudience", "AzureADMyOrg", "AzureADMultipleOrgs")),
        ("errorUrl", Source::Const("null")),
        ("homepage", Source::Path(&["web", "homePageUrl"])),
        ("informationalUrls", Source::Path(&["info"])),
        ("knownClientApplications", Source::Path(&["api", "knownClientApplications"])),
        ("logoutUrl", Source::Path(&["web", "logoutUrl"])),
        ("oauth2AllowIdTokenImplicitFlow", Source::Path(&["web", "implicitGrantSettings", "enableIdTokenIssuance"])),
        ("oauth2AllowImplicitFlow", Source::Path(&["web", "implicitGrantSettings", "enableAccessTokenIssuance"])),
        ("oauth2AllowUrlPathMatching", Source::Const("false")),
        ("oauth2Permissions", Source::Path(&["api", "oauth2PermissionScopes"])),
        ("orgRestrictions", Source::Const("[]")),
        ("preAuthorizedApplications", Source::Path(&["api", "preAuthorizedApplications"])),
        ("publicClient", Source::Path(&["isFallbackPublicClient"])),
        ("recordConsentConditions", Source::Const("null")),
        ("replyUrls", Source::Path(&["web", "redirectUris"])),
    ],
};

pub(crate) static SERVICE_PRINCIPAL: AadType = AadType {
    entity: "servicePrincipal",
    name: "ServicePrincipal",
    object_type: "ServicePrincipal",
    set: "servicePrincipals",
    properties: &[
        "accountEnabled",
        "addIns",
        "alternativeNames",
        "appDisplayName",
        "appId",
        "appOwnerTenantId",
        "appRoleAssignmentRequired",
        "appRoles",
        "displayName",
        "errorUrl",
        "homepage",
        "keyCredentials",
        "logoutUrl",
        "oauth2Permissions",
        "passwordCredentials",
        "preferredTokenSigningKeyThumbprint",
        "publisherName",
        "replyUrls",
        "samlMetadataUrl",
        "servicePrincipalNames",
        "servicePrincipalType",
        "tags",
        "tokenEncryptionKeyId",
    ],
    computed: &[
        ("errorUrl", Source::Const("null")),
        ("publisherName", Source::Const("null")),
        ("samlMetadataUrl", Source::Const("null")),
    ],
};

pub(crate) static OAUTH2_PERMISSION_GRANT: AadType = AadType {
    entity: "oAuth2PermissionGrant",
    name: "OAuth2PermissionGrant",
    object_type: "",
    set: "oauth2PermissionGrants",
    properties: &["clientId", "consentType", "expiryTime", "principalId", "resourceId", "scope", "startTime"],
    computed: &[("expiryTime", Source::Const("null")), ("startTime", Source::Const("null"))],
};

/// A registered device (seed: "AlternativeSecurityId" of "the Device entity"); the 1.6 names
/// that differ from v1.0 (`deviceOSType`, `approximateLastLogonTimestamp`, ...) are the
/// schema's `.aad` names of the `device` properties.
pub(crate) static DEVICE: AadType = AadType {
    entity: "device",
    name: "Device",
    object_type: "Device",
    set: "devices",
    properties: &[
        "accountEnabled",
        "alternativeSecurityIds",
        "approximateLastLogonTimestamp",
        "complianceExpiryTime",
        "deviceCategory",
        "deviceId",
        "deviceManagementAppId",
        "deviceManufacturer",
        "deviceMetadata",
        "deviceModel",
        "deviceObjectVersion",
        "deviceOSType",
        "deviceOSVersion",
        "deviceOwnership",
        "devicePhysicalIds",
        "deviceTrustType",
        "dirSyncEnabled",
        "displayName",
        "enrollmentProfileName",
        "enrollmentType",
        "isCompliant",
        "isManaged",
        "isRooted",
        "lastDirSyncTime",
        "managementType",
        "onPremisesSecurityIdentifier",
        "profileType",
        "systemLabels",
    ],
    computed: &[],
};

/// An organizational contact (seed: "Contact"): its phones and first address are flattened
/// into the 1.6 scalars, as on a 1.6 user.
pub(crate) static CONTACT: AadType = AadType {
    entity: "orgContact",
    name: "Contact",
    object_type: "Contact",
    set: "contacts",
    properties: &[
        "city",
        "companyName",
        "country",
        "department",
        "dirSyncEnabled",
        "displayName",
        "facsimileTelephoneNumber",
        "givenName",
        "jobTitle",
        "lastDirSyncTime",
        "mail",
        "mailNickname",
        "mobile",
        "physicalDeliveryOfficeName",
        "postalCode",
        "provisioningErrors",
        "proxyAddresses",
        "sipProxyAddress",
        "state",
        "streetAddress",
        "surname",
        "telephoneNumber",
    ],
    computed: &[
        ("city", Source::Entry("addresses", None, "city")),
        ("country", Source::Entry("addresses", None, "countryOrRegion")),
        ("facsimileTelephoneNumber", Source::Entry("phones", Some("businessFax"), "number")),
        ("mobile", Source::Entry("phones", Some("mobile"), "number")),
        ("physicalDeliveryOfficeName", Source::Entry("addresses", None, "officeLocation")),
        ("postalCode", Source::Entry("addresses", None, "postalCode")),
        ("provisioningErrors", Source::Const("[]")),
        ("sipProxyAddress", Source::Const("null")),
        ("state", Source::Entry("addresses", None, "state")),
        ("streetAddress", Source::Entry("addresses", None, "street")),
        ("telephoneNumber", Source::Entry("phones", Some("business"), "number")),
    ],
};

/// A built-in role template (`directoryRoleTemplates`): the same in every tenant, from the
/// directory's role catalog rather than the store.
pub(crate) static DIRECTORY_ROLE_TEMPLATE: AadType = AadType {
    entity: "directoryRoleTemplate",
    name: "DirectoryRoleTemplate",
    object_type: "RoleTemplate",
    set: "directoryRoleTemplates",
    properties: &["description", "displayName"],
    computed: &[],
};

/// The tenant (`tenantDetails`): built from the tenant record, not a stored document.
pub(crate) static TENANT_DETAIL: AadType = AadType {
    entity: "",
    name: "TenantDetail",
    object_type: "Company",
    set: "tenantDetails",
    properties: &[
        "assignedPlans",
        "city",
        "companyLastDirSyncTime",
        "country",
        "countryLetterCode",
        "dirSyncEnabled",
        "displayName",
        "marketingNotificationEmails",
        "postalCode",
        "preferredLanguage",
        "provisionedPlans",
        "provisioningErrors",
        "securityComplianceNotificationMails",
        "securityComplianceNotificationPhones",
        "state",
        "street",
        "technicalNotificationMails",
        "telephoneNumber",
        "verifiedDomains",
    ],
    computed: &[],
};

/// A subscription of the tenant (`subscribedSkus`): not a directory object; its `objectId`
/// is `{tenantId}_{skuId}` and its `consumedUnits` counted when read (see
/// `cerulean_directory::licences`).
pub(crate) static SUBSCRIBED_SKU: AadType = AadType {
    entity: "subscribedSku",
    name: "SubscribedSku",
    object_type: "",
    set: "subscribedSkus",
    properties: &[
        "appliesTo",
        "capabilityStatus",
        "consumedUnits",
        "prepaidUnits",
        "servicePlans",
        "skuId",
        "skuPartNumber",
    ],
    computed: &[],
};

/// Every type served, stored ones first.
pub(crate) static TYPES: &[&AadType] = &[
    &USER,
    &GROUP,
    &DIRECTORY_ROLE,
    &APPLICATION,
    &SERVICE_PRINCIPAL,
    &DEVICE,
    &CONTACT,
    &DIRECTORY_ROLE_TEMPLATE,
    &OAUTH2_PERMISSION_GRANT,
    &TENANT_DETAIL,
    &SUBSCRIBED_SKU,
];

/// The 1.6 type of a stored object type (`user` → `User`).
pub(crate) fn by_entity(object_type: &str) -> Option<&'static AadType> {
    TYPES.iter().copied().find(|t| !t.entity.is_empty() && t.entity == object_type)
}

/// The 1.6 type named in a cast or a `types` list (`User`, `Microsoft.DirectoryServices.User`,
/// or its `objectType`, `Role`), case-insensitively.
pub(crate) fn by_name(name: &str) -> Option<&'static AadType> {
    let bare = name.strip_prefix("Microsoft.DirectoryServices.").unwrap_or(name);
    let bare = bare.strip_prefix("microsoft.directoryservices.").unwrap_or(bare);
    TYPES.iter().copied().find(|t| t.name.eq_ignore_ascii_case(bare) || t.object_type.eq_ignore_ascii_case(bare))
}

/// The 1.6 collection named by a path segment (`users`, `Users`).
pub(crate) fn by_set(set: &str) -> Option<&'static AadType> {
    TYPES.iter().copied().find(|t| t.set.eq_ignore_ascii_case(set))
}

/// The schema property a 1.6 name stands for: the one whose `.aad` name it is, else the one
/// of that v1.0 name that has no other 1.6 name.
pub(crate) fn property(entity: &EntityType, aad_name: &str) -> Option<&'static Property> {
    let all = entity.all_properties();
    all.iter()
        .copied()
        .find(|p| p.aad_name.is_some_and(|a| a.eq_ignore_ascii_case(aad_name)))
        .or_else(|| all.into_iter().find(|p| p.aad_name.is_none() && p.name.eq_ignore_ascii_case(aad_name)))
}

/// The 1.6 name of a v1.0 property.
fn aad_name_of(p: &Property) -> &'static str {
    p.aad_name.unwrap_or(p.name)
}

/// A stored (v1.0) value of type `ty` in its 1.6 form: complex members renamed.
fn value_to_aad(ty: EdmType, value: &Value) -> Value {
    let EdmType::Complex(name) = ty else {
        return value.clone();
    };
    let Some(complex) = cerulean_schema::complex(name) else {
        return value.clone();
    };
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| value_to_aad(ty, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match complex.property(k) {
                    Some(p) => (aad_name_of(p).to_string(), value_to_aad(p.ty, v)),
                    None => (k.clone(), v.clone()),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A 1.6 value of type `ty` in its stored form: complex members renamed back.
fn value_from_aad(ty: EdmType, value: &Value) -> Value {
    let EdmType::Complex(name) = ty else {
        return value.clone();
    };
    let Some(complex) = cerulean_schema::complex(name) else {
        return value.clone();
    };
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| value_from_aad(ty, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let member = complex
                        .properties
                        .iter()
                        .find(|p| p.aad_name.is_some_and(|a| a.eq_ignore_ascii_case(k)))
                        .or_else(|| complex.property(k));
                    match member {
                        Some(p) => (p.name.to_string(), value_from_aad(p.ty, v)),
                        None => (k.clone(), v.clone()),
                    }
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn computed_value(record: &ObjectRecord, source: Source) -> Value {
    match source {
        Source::Path(path) => {
            let mut cur = path.first().and_then(|first| record.doc.get(*first));
            for seg in path.iter().skip(1) {
                cur = cur.and_then(|v| v.get(*seg));
            }
            cur.cloned().unwrap_or(Value::Null)
        }
        Source::First(name) => {
            record.doc.get(name).and_then(|v| v.as_array()).and_then(|a| a.first()).cloned().unwrap_or(Value::Null)
        }
        Source::NotEqual(name, literal, _) => {
            Value::Bool(record.doc.get(name).and_then(Value::as_str).is_none_or(|s| s != literal))
        }
        Source::Const(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        Source::Entry(list, kind, member) => record
            .doc
            .get(list)
            .and_then(Value::as_array)
            .and_then(|items| {
                items.iter().find(|e| kind.is_none_or(|k| e.get("type").and_then(Value::as_str) == Some(k)))
            })
            .and_then(|e| e.get(member))
            .cloned()
            .unwrap_or(Value::Null),
    }
}

/// Renders a stored object in its 1.6 shape: `odata.type`, `objectType`, `objectId`,
/// `deletionTimestamp` (directory objects), then the type's properties.
pub(crate) fn shape(t: &AadType, record: &ObjectRecord) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("odata.type".into(), json!(t.odata_type()));
    if t.is_directory_object() {
        out.insert("objectType".into(), json!(t.object_type));
    }
    out.insert("objectId".into(), json!(record.id.to_string()));
    if t.is_directory_object() {
        out.insert("deletionTimestamp".into(), record.deleted_at.clone().map(Value::String).unwrap_or(Value::Null));
    }
    let entity = t.schema();
    for name in t.properties {
        let value = if let Some((_, source)) = t.computed.iter().find(|(n, _)| n == name) {
            computed_value(record, *source)
        } else {
            match entity.and_then(|e| property(e, name)) {
                Some(p) => match record.doc.get(p.name) {
                    Some(v) => value_to_aad(p.ty, v),
                    None if p.collection => Value::Array(Vec::new()),
                    None => Value::Null,
                },
                None => Value::Null,
            }
        };
        out.insert((*name).to_string(), value);
    }
    // Directory extension values are part of an object's 1.6 shape (a deleted definition's
    // values are removed from the objects, so what the document holds is current).
    for (k, v) in &record.doc {
        if cerulean_directory::extensions::is_extension_name(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// A directory object of a type without a 1.6 shape here: its identity only.
pub(crate) fn shape_any(record: &ObjectRecord) -> Map<String, Value> {
    match by_entity(&record.object_type) {
        Some(t) => shape(t, record),
        None => {
            let mut out = Map::new();
            out.insert("odata.type".into(), json!(format!("{NAMESPACE}.DirectoryObject")));
            out.insert("objectType".into(), json!(capitalised(&record.object_type)));
            out.insert("objectId".into(), json!(record.id.to_string()));
            out.insert("deletionTimestamp".into(), record.deleted_at.clone().map(Value::String).unwrap_or(Value::Null));
            out
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The tenant as a `TenantDetail` (objectType `Company`): the directory's organization (v1.0
/// names, derived properties filled in) under its 1.6 names.
pub(crate) fn tenant_detail(org: &ObjectRecord, tenant: &TenantRecord) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("odata.type".into(), json!(TENANT_DETAIL.odata_type()));
    out.insert("objectType".into(), json!(TENANT_DETAIL.object_type));
    out.insert("objectId".into(), json!(tenant.id.to_string()));
    out.insert("deletionTimestamp".into(), Value::Null);
    let doc = &org.doc;
    let list = |k: &str| doc.get(k).filter(|v| v.is_array()).cloned().unwrap_or_else(|| json!([]));
    for name in TENANT_DETAIL.properties {
        let value = match *name {
            "verifiedDomains" => Value::Array(
                tenant
                    .domains
                    .iter()
                    .filter(|d| d.is_verified)
                    .map(|d| {
                        json!({
                            "capabilities": if d.is_initial { "Email, OfficeCommunicationsOnline" } else { "None" },
                            "default": d.is_default,
                            "id": format!("{:016X}", fnv(&d.name)),
                            "initial": d.is_initial,
                            "name": d.name,
                            "type": "Managed",
                        })
                    })
                    .collect(),
            ),
            "telephoneNumber" => doc
                .get("businessPhones")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .cloned()
                .unwrap_or(Value::Null),
            "dirSyncEnabled" => doc.get("onPremisesSyncEnabled").cloned().unwrap_or(Value::Null),
            "companyLastDirSyncTime" => doc.get("onPremisesLastSyncDateTime").cloned().unwrap_or(Value::Null),
            "provisioningErrors" => json!([]),
            "assignedPlans"
            | "marketingNotificationEmails"
            | "provisionedPlans"
            | "securityComplianceNotificationMails"
            | "securityComplianceNotificationPhones"
            | "technicalNotificationMails" => list(name),
            other => doc.get(other).cloned().unwrap_or(Value::Null),
        };
        out.insert((*name).to_string(), value);
    }
    out
}

/// A stable id for a verified domain entry (1.6 gives each one a hex id).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Translates a 1.6 request body into the v1.0 document the directory validates: names mapped
/// through the schema (nested ones too), OData 3 annotations (`odata.type`) and the read-only
/// discriminator dropped, `telephoneNumber` written as the one business phone.
pub(crate) fn body_from_aad(t: &AadType, body: &Map<String, Value>) -> Result<Map<String, Value>, AadError> {
    body_from_aad_over(t, body, None)
}

/// Whether `body` writes a 1.6 property flattened from a v1.0 collection ([`Source::Entry`]):
/// such a write needs the object's current document ([`body_from_aad_over`]).
pub(crate) fn writes_entries(t: &AadType, body: &Map<String, Value>) -> bool {
    body.keys().any(|k| t.computed.iter().any(|(n, s)| n.eq_ignore_ascii_case(k) && matches!(s, Source::Entry(..))))
}

/// [`body_from_aad`] for an update of an object whose document is `current`: a 1.6 scalar over
/// an entry of a v1.0 collection (a contact's `mobile`, `telephoneNumber`,
/// `facsimileTelephoneNumber` over `phones`; `streetAddress`, `city`, `state`, `postalCode`,
/// `country`, `physicalDeliveryOfficeName` over its first of `addresses`) is written into that
/// entry, and the whole collection, otherwise as it was, goes into the v1.0 body — so it reads
/// back the same through both APIs. A phone set to `null` or `""` is removed; an address member
/// set to `null` is cleared. Without `current` such a property is refused as read-only.
pub(crate) fn body_from_aad_over(
    t: &AadType,
    body: &Map<String, Value>,
    current: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, AadError> {
    let Some(entity) = t.schema() else {
        return Err(AadError::internal());
    };
    let mut out = Map::new();
    let mut collections: Map<String, Value> = Map::new();
    for (key, value) in body {
        if key.starts_with("odata.") || key.eq_ignore_ascii_case("objectType") {
            continue;
        }
        if t.entity == "user" && key.eq_ignore_ascii_case("telephoneNumber") {
            let phones = match value {
                Value::Null => json!([]),
                Value::String(s) if s.is_empty() => json!([]),
                other => json!([other]),
            };
            out.insert("businessPhones".into(), phones);
            continue;
        }
        if let Some((_, source)) = t.computed.iter().find(|(n, _)| n.eq_ignore_ascii_case(key))
            && !key.eq_ignore_ascii_case("passwordProfile")
        {
            // Written to where it is read from; a constant only as itself.
            match (source, value) {
                (Source::Path(path), _) => insert_path(&mut out, path, value.clone()),
                (Source::NotEqual(name, when_false, when_true), Value::Bool(b)) => {
                    out.insert((*name).to_string(), json!(if *b { when_true } else { when_false }));
                }
                (Source::Const(text), _) if serde_json::from_str::<Value>(text).ok().as_ref() == Some(value) => {}
                (Source::Entry(list, kind, member), _) if current.is_some() => {
                    let text = match value {
                        Value::Null => None,
                        Value::String(v) => Some(v.clone()),
                        _ => {
                            return Err(AadError::bad_request(format!(
                                "Invalid value for property '{key}': expected a string or null."
                            )));
                        }
                    };
                    let slot = collections.entry((*list).to_string()).or_insert_with(|| {
                        current.and_then(|c| c.get(*list)).filter(|v| v.is_array()).cloned().unwrap_or(json!([]))
                    });
                    write_entry(slot, *kind, member, text);
                }
                _ => {
                    return Err(AadError::bad_request(format!(
                        "Property '{key}' is read-only and cannot be set through this API."
                    )));
                }
            }
            continue;
        }
        match property(entity, key) {
            // Refused here, not by the directory, so the message names the 1.6 property
            // (`dirSyncEnabled`, not `onPremisesSyncEnabled`).
            Some(p) if p.is(Flags::READ_ONLY) => {
                return Err(AadError::bad_request(format!("Property '{key}' is read-only and cannot be set.")));
            }
            Some(p) => {
                out.insert(p.name.to_string(), value_from_aad(p.ty, value));
            }
            None if entity.property(key).is_some() => {
                // A v1.0 name whose 1.6 name differs (`mobilePhone` for `mobile`).
                return Err(AadError::bad_request(format!(
                    "The property '{key}' does not exist on type '{}'.",
                    t.odata_type()
                )));
            }
            // Left to the directory, which knows extension properties and refuses the rest.
            None => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out.extend(collections);
    Ok(out)
}

/// Writes `member` of the entry of `list` that a [`Source::Entry`] reads: the entry of that
/// `type` (created when missing, removed when the value is cleared), or the first entry.
fn write_entry(list: &mut Value, kind: Option<&str>, member: &str, value: Option<String>) {
    let Value::Array(items) = list else {
        return;
    };
    match kind {
        Some(k) => {
            let at = items.iter().position(|e| e.get("type").and_then(Value::as_str) == Some(k));
            match (at, value.filter(|v| !v.is_empty())) {
                (Some(i), Some(v)) => items[i][member] = json!(v),
                (None, Some(v)) => items.push(json!({ "type": k, member: v })),
                (Some(i), None) => {
                    items.remove(i);
                }
                (None, None) => {}
            }
        }
        None => match (items.first_mut(), value) {
            (Some(first), v) if first.is_object() => first[member] = json!(v),
            (_, Some(v)) => items.insert(0, json!({ member: v })),
            (_, None) => {}
        },
    }
}

/// Sets `value` at `path` (v1.0 names) in a body, merging with what the body already sets there
/// (`replyUrls` and `homepage` both land in `web`).
fn insert_path(out: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = out;
    for p in parents {
        let slot = cur.entry((*p).to_string()).or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else {
            return;
        };
        cur = next;
    }
    cur.insert((*last).to_string(), value);
}

/// Rewrites a `$filter` written with 1.6 names into v1.0 names, so the shared compiler types it
/// against the schema. `telephoneNumber eq 'x'` becomes `businessPhones/any(t: t eq 'x')`.
pub(crate) fn filter_from_aad(entity: &EntityType, expr: Expr) -> Expr {
    rewrite(entity, expr, &[])
}

/// Lambda variables in scope, with the complex type of their elements (if complex).
type Vars<'a> = &'a [(String, Option<&'static str>)];

fn rewrite(entity: &EntityType, expr: Expr, vars: Vars<'_>) -> Expr {
    match expr {
        Expr::Path(segs) => Expr::Path(map_path(entity, segs, vars)),
        Expr::Or(items) => Expr::Or(items.into_iter().map(|e| rewrite(entity, e, vars)).collect()),
        Expr::And(items) => Expr::And(items.into_iter().map(|e| rewrite(entity, e, vars)).collect()),
        Expr::Not(inner) => Expr::Not(Box::new(rewrite(entity, *inner, vars))),
        Expr::Compare { op, left, right } => {
            if entity.name == "user"
                && let Expr::Path(segs) = left.as_ref()
                && segs.len() == 1
                && segs[0].eq_ignore_ascii_case("telephoneNumber")
                && vars.is_empty()
            {
                let var = "t".to_string();
                return Expr::Lambda {
                    path: vec!["businessPhones".into()],
                    kind: LambdaKind::Any,
                    body: Some((
                        var.clone(),
                        Box::new(Expr::Compare { op, left: Box::new(Expr::Path(vec![var])), right }),
                    )),
                };
            }
            Expr::Compare {
                op,
                left: Box::new(rewrite(entity, *left, vars)),
                right: Box::new(rewrite(entity, *right, vars)),
            }
        }
        Expr::In { left, values } => Expr::In { left: Box::new(rewrite(entity, *left, vars)), values },
        Expr::Call { name, args } => {
            Expr::Call { name, args: args.into_iter().map(|a| rewrite(entity, a, vars)).collect() }
        }
        Expr::Lambda { path, kind, body } => {
            let element = element_complex(entity, &path, vars);
            let path = map_path(entity, path, vars);
            let body = body.map(|(var, inner)| {
                let mut scope: Vec<(String, Option<&'static str>)> = vars.to_vec();
                scope.push((var.clone(), element));
                (var, Box::new(rewrite(entity, *inner, &scope)))
            });
            Expr::Lambda { path, kind, body }
        }
        literal @ Expr::Literal(_) => literal,
    }
}

/// The complex element type of the collection a lambda ranges over (1.6 path).
fn element_complex(entity: &EntityType, path: &[String], vars: Vars<'_>) -> Option<&'static str> {
    if path.len() != 1 || vars.iter().any(|(v, _)| *v == path[0]) {
        return None;
    }
    match property(entity, &path[0])?.ty {
        EdmType::Complex(name) => Some(name),
        _ => None,
    }
}

fn map_path(entity: &EntityType, segs: Vec<String>, vars: Vars<'_>) -> Vec<String> {
    let mut out = Vec::with_capacity(segs.len());
    let mut iter = segs.into_iter();
    let Some(first) = iter.next() else {
        return out;
    };
    let mut ty: Option<&'static str>;
    if let Some((_, element)) = vars.iter().find(|(v, _)| *v == first) {
        ty = *element;
        out.push(first);
    } else {
        match property(entity, &first) {
            Some(p) => {
                ty = match p.ty {
                    EdmType::Complex(n) => Some(n),
                    _ => None,
                };
                out.push(p.name.to_string());
            }
            None => {
                ty = None;
                out.push(first);
            }
        }
    }
    for seg in iter {
        let member = ty.and_then(cerulean_schema::complex).and_then(|c| {
            c.properties
                .iter()
                .find(|p| p.aad_name.is_some_and(|a| a.eq_ignore_ascii_case(&seg)))
                .or_else(|| c.property(&seg))
        });
        match member {
            Some(p) => {
                ty = match p.ty {
                    EdmType::Complex(n) => Some(n),
                    _ => None,
                };
                out.push(p.name.to_string());
            }
            None => {
                ty = None;
                out.push(seg);
            }
        }
    }
    out
}

/// Maps `$orderby` items (`displayName desc`) from 1.6 names to v1.0 names.
pub(crate) fn orderby_from_aad(entity: &EntityType, text: &str) -> String {
    text.split(',')
        .map(|item| {
            let trimmed = item.trim();
            let (name, rest) = trimmed.split_once(char::is_whitespace).unwrap_or((trimmed, ""));
            let mapped = property(entity, name).map(|p| p.name).unwrap_or(name);
            if rest.is_empty() { mapped.to_string() } else { format!("{mapped} {}", rest.trim()) }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> &'static EntityType {
        cerulean_schema::entity("user").expect("user")
    }

    #[test]
    fn aad_names_resolve_through_the_schema() {
        assert_eq!(property(user(), "mobile").map(|p| p.name), Some("mobilePhone"));
        assert_eq!(property(user(), "objectId").map(|p| p.name), Some("id"));
        assert_eq!(property(user(), "displayName").map(|p| p.name), Some("displayName"));
        assert!(property(user(), "mobilePhone").is_none());
    }

    #[test]
    fn bodies_map_names_and_nested_names() {
        let body = json!({
            "odata.type": "Microsoft.DirectoryServices.User",
            "mobile": "+1 555",
            "telephoneNumber": "+1 444",
            "passwordProfile": {"password": "x", "forceChangePasswordNextLogin": true},
        });
        let out = body_from_aad(&USER, body.as_object().expect("object")).expect("maps");
        assert_eq!(out["mobilePhone"], "+1 555");
        assert_eq!(out["businessPhones"], json!(["+1 444"]));
        assert_eq!(out["passwordProfile"]["forceChangePasswordNextSignIn"], true);
        assert!(!out.contains_key("odata.type"));
        let v1 = json!({"mobilePhone": "1"});
        assert!(body_from_aad(&USER, v1.as_object().expect("object")).is_err());
    }

    #[test]
    fn filters_use_v1_names() {
        let e = cerulean_query::parse_filter("mobile eq '1' and objectId eq 'x' or telephoneNumber eq '2'")
            .expect("parses");
        let text = filter_from_aad(user(), e).to_string();
        assert!(text.contains("mobilePhone eq '1'"), "{text}");
        assert!(text.contains("id eq 'x'"), "{text}");
        assert!(
            text.contains("businessPhones/any(t:t eq '2')") || text.contains("businessPhones/any(t: t eq '2')"),
            "{text}"
        );
    }

    #[test]
    fn shape_follows_the_seed() {
        let rec = ObjectRecord {
            id: uuid::Uuid::nil(),
            object_type: "user".into(),
            version: 1,
            doc: json!({"displayName": "Alex Wu", "mobilePhone": "1", "businessPhones": ["2"], "userType": "Member"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            deleted_at: None,
        };
        let out = shape(&USER, &rec);
        assert_eq!(out["odata.type"], "Microsoft.DirectoryServices.User");
        assert_eq!(out["objectType"], "User");
        assert_eq!(out["mobile"], "1");
        assert_eq!(out["telephoneNumber"], "2");
        assert_eq!(out["otherMails"], json!([]));
        assert_eq!(out["passwordProfile"], Value::Null);
        assert_eq!(out.len(), USER.properties.len() + 4);
    }
}
