//! Licences: `subscribedSku` (the tenant's subscriptions, `/subscribedSkus`) and
//! `licenseDetails` (a user's licences, `/users/{id}/licenseDetails`), with the complex types
//! they use. Names, EDM types and nullability follow the Graph v1.0 CSDL (checked by
//! `crates/schema/tests/reference.rs`); every property is read-only and returned by default, as
//! the "subscribedSku resource type" and "licenseDetails resource type" pages show them.
//!
//! Neither type derives from `directoryObject`: a subscribed SKU's id is
//! `{tenantId}_{skuId}` and a licence detail's an opaque string, so both declare `id` as a
//! string of their own (as `graph.entity` does in the CSDL).

use crate::types::{ComplexType, EdmType as T, EntityType, Flags, Property as P};

macro_rules! fl {
    ($($f:ident),+) => { Flags(0 $(| $f.0)+) };
}

const R: Flags = Flags::READ_ONLY;
const F: Flags = Flags::FILTER;
const D: Flags = Flags::DEFAULT;
const N: Flags = Flags::NULLABLE;

const STR: T = T::String;
const INT: T = T::Int32;

/// A subscription of the tenant to a product (`/subscribedSkus`).
pub static SUBSCRIBED_SKU: EntityType = EntityType {
    name: "subscribedSku",
    base: None,
    entity_set: Some("subscribedSkus"),
    properties: &[
        // Declared on `graph.entity` in the CSDL: `{tenantId}_{skuId}`.
        P::new("id", STR, fl!(R, F, D)),
        P::new("accountId", STR, fl!(N, R, D)),
        P::new("accountName", STR, fl!(N, R, D)),
        P::new("appliesTo", STR, fl!(N, R, D)),
        P::new("capabilityStatus", STR, fl!(N, R, D)),
        P::new("consumedUnits", INT, fl!(N, R, D)),
        P::new("prepaidUnits", T::Complex("licenseUnitsDetail"), fl!(N, R, D)),
        P::collection("servicePlans", T::Complex("servicePlanInfo"), fl!(R, D)),
        P::new("skuId", T::Guid, fl!(N, R, D)),
        P::new("skuPartNumber", STR, fl!(N, R, D)),
        P::collection("subscriptionIds", STR, fl!(N, R, D)),
    ],
    navigation: &[],
    is_abstract: false,
    open: false,
    inherited_defaults: &[],
};

/// One licence of a user, with the state of each service plan (`/users/{id}/licenseDetails`).
pub static LICENSE_DETAILS: EntityType = EntityType {
    name: "licenseDetails",
    base: None,
    entity_set: None,
    properties: &[
        // Declared on `graph.entity` in the CSDL.
        P::new("id", STR, fl!(R, F, D)),
        P::collection("servicePlans", T::Complex("servicePlanInfo"), fl!(R, D)),
        P::new("skuId", T::Guid, fl!(N, R, D)),
        P::new("skuPartNumber", STR, fl!(N, R, D)),
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

pub static LICENSE_UNITS_DETAIL: ComplexType = complex(
    "licenseUnitsDetail",
    &[P::new("enabled", INT, N), P::new("lockedOut", INT, N), P::new("suspended", INT, N), P::new("warning", INT, N)],
);

pub static SERVICE_PLAN_INFO: ComplexType = complex(
    "servicePlanInfo",
    &[
        P::new("appliesTo", STR, N),
        P::new("provisioningStatus", STR, N),
        P::new("servicePlanId", T::Guid, N),
        P::new("servicePlanName", STR, N),
    ],
);
