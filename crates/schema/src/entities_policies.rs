//! Token policies of the application-configuration policy family (`/policies/...`):
//! `tokenLifetimePolicy` and `claimsMappingPolicy`. Names, EDM types and nullability follow the Graph v1.0 CSDL
//! (`tokenLifetimePolicy` : `stsPolicy` : `policyBase` : `directoryObject`); `definition` holds Entra's
//! JSON-in-a-string policy document, checked by the directory before it is stored.

use crate::types::{EdmType as T, EntityType, Flags, NavProperty as Nav, Property as P};

macro_rules! fl {
    ($($f:ident),+) => { Flags(0 $(| $f.0)+) };
}

const Q: Flags = Flags::REQUIRED;
const F: Flags = Flags::FILTER;
const D: Flags = Flags::DEFAULT;
const N: Flags = Flags::NULLABLE;

/// The abstract root of Graph's policy types: a name and a description.
pub static POLICY_BASE: EntityType = EntityType {
    name: "policyBase",
    base: Some("directoryObject"),
    entity_set: None,
    properties: &[P::new("description", T::String, fl!(N, D)), P::new("displayName", T::String, fl!(N, F, D, Q))],
    navigation: &[],
    is_abstract: true,
    open: false,
    inherited_defaults: &[],
};

/// The abstract security-token-service policy: a JSON-in-a-string `definition`, assigned to
/// applications and service principals (`appliesTo`) or made the organization default.
pub static STS_POLICY: EntityType = EntityType {
    name: "stsPolicy",
    base: Some("policyBase"),
    entity_set: None,
    properties: &[
        P::collection("definition", T::String, fl!(D, Q)),
        P::new("isOrganizationDefault", T::Boolean, fl!(N, F, D)),
    ],
    navigation: &[Nav::many("appliesTo", "directoryObject")],
    is_abstract: true,
    open: false,
    inherited_defaults: &[],
};

/// A token lifetime policy (`/policies/tokenLifetimePolicies`): sets the lifetime of the
/// access and ID tokens issued for the applications it is assigned to, or for every
/// application when it is the organization default.
pub static TOKEN_LIFETIME_POLICY: EntityType = EntityType {
    name: "tokenLifetimePolicy",
    base: Some("stsPolicy"),
    entity_set: None,
    properties: &[],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// A claims mapping policy (`/policies/claimsMappingPolicies`): shapes the claims of the tokens
/// whose audience is a service principal it is assigned to.
pub static CLAIMS_MAPPING_POLICY: EntityType = EntityType {
    name: "claimsMappingPolicy",
    base: Some("stsPolicy"),
    entity_set: None,
    properties: &[],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};
