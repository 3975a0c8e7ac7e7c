//! The declared entity, complex and enum types. Names and EDM types follow the Graph v1.0
//! CSDL (`reference/msgraph-metadata/v1.0-cleanMetadata.xml`).

use crate::types::{ComplexType, EdmType as T, EntityType, EnumType, Flags, NavProperty, Property as P};

const R: Flags = Flags::READ_ONLY;
const F: Flags = Flags::FILTER;
const S: Flags = Flags::SORT;
const D: Flags = Flags::DEFAULT;
const N: Flags = Flags::NULLABLE;

pub static DIRECTORY_OBJECT: EntityType = EntityType {
    name: "directoryObject",
    base: None,
    entity_set: Some("directoryObjects"),
    properties: &[
        P::new("id", T::String, Flags(R.0 | F.0 | D.0)).aad("objectId"),
        P::new("deletedDateTime", T::DateTimeOffset, Flags(R.0 | N.0 | F.0 | S.0)),
    ],
    navigation: &[],
    is_abstract: false,
};

pub static USER: EntityType = EntityType {
    name: "user",
    base: Some("directoryObject"),
    entity_set: Some("users"),
    properties: &[
        P::new("accountEnabled", T::Boolean, Flags(N.0 | F.0 | Flags::REQUIRED.0)),
        P::new("displayName", T::String, Flags(N.0 | F.0 | S.0 | D.0 | Flags::REQUIRED.0 | Flags::SEARCH.0)),
        P::new("mailNickname", T::String, Flags(N.0 | F.0 | Flags::REQUIRED.0)),
        P::new("userPrincipalName", T::String, Flags(N.0 | F.0 | S.0 | D.0 | Flags::REQUIRED.0)),
        P::new("passwordProfile", T::Complex("passwordProfile"), Flags(N.0 | Flags::WRITE_ONLY.0 | Flags::REQUIRED.0)),
        P::collection("proxyAddresses", T::String, Flags(R.0 | F.0)),
    ],
    navigation: &[
        NavProperty { name: "memberOf", target: "directoryObject", collection: true },
    ],
    is_abstract: false,
};

pub static GROUP: EntityType = EntityType {
    name: "group",
    base: Some("directoryObject"),
    entity_set: Some("groups"),
    properties: &[
        P::new("displayName", T::String, Flags(N.0 | F.0 | S.0 | D.0 | Flags::REQUIRED.0 | Flags::SEARCH.0)),
        P::new("mailEnabled", T::Boolean, Flags(N.0 | F.0 | D.0 | Flags::REQUIRED.0)),
        P::new("mailNickname", T::String, Flags(N.0 | F.0 | D.0 | Flags::REQUIRED.0)),
        P::new("securityEnabled", T::Boolean, Flags(N.0 | F.0 | D.0 | Flags::REQUIRED.0)),
        P::collection("groupTypes", T::String, Flags(F.0 | D.0)),
    ],
    navigation: &[
        NavProperty { name: "members", target: "directoryObject", collection: true },
        NavProperty { name: "owners", target: "directoryObject", collection: true },
        NavProperty { name: "memberOf", target: "directoryObject", collection: true },
    ],
    is_abstract: false,
};

pub static PASSWORD_PROFILE: ComplexType = ComplexType {
    name: "passwordProfile",
    properties: &[
        P::new("forceChangePasswordNextSignIn", T::Boolean, N),
        P::new("forceChangePasswordNextSignInWithMfa", T::Boolean, N),
        P::new("password", T::String, N),
    ],
};

pub static ALL: &[&EntityType] = &[&DIRECTORY_OBJECT, &USER, &GROUP];
pub static COMPLEX: &[&ComplexType] = &[&PASSWORD_PROFILE];
pub static ENUMS: &[&EnumType] = &[];
