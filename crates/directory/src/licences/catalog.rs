//! The products Cerulean knows by name: real Microsoft SKUs with their real service plans, so
//! that scripts written against Entra (`skuPartNumber -eq 'ENTERPRISEPACK'`, a dynamic rule on
//! `assignedPlan.servicePlanId -eq "efb87545-..."`) find what they expect.
//!
//! Sources: the GUIDs and string ids are those of Microsoft's "Product names and service plan
//! identifiers for licensing" list (learn.microsoft.com, `licensing-service-plan-reference`);
//! the Office 365 E3 plans and their `service` names are those of the Azure AD Graph reference's
//! sample user (`seeds/003_*.txt`: exchange, SharePoint, MicrosoftCommunicationsOnline,
//! MicrosoftOffice, RMSOnline), completed with E3's Teams, Yammer, Sway and Planner plans; the
//! Entra ID P2 plans as `Get-MgSubscribedSku` lists them (AAD_PREMIUM, AAD_PREMIUM_P2,
//! MFA_PREMIUM, ADALLOM_S_DISCOVERY, EXCHANGE_S_FOUNDATION).

/// One service plan of a SKU: its id, its `servicePlanName` and the `service` it provisions
/// (`assignedPlans[].service`, `provisionedPlans[].service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub service: &'static str,
}

/// A product of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkuSpec {
    pub sku_id: &'static str,
    pub part_number: &'static str,
    pub plans: &'static [PlanSpec],
    /// The units a fresh tenant holds (`prepaidUnits.enabled`).
    pub default_units: i64,
}

const fn plan(id: &'static str, name: &'static str, service: &'static str) -> PlanSpec {
    PlanSpec { id, name, service }
}

/// Office 365 E3.
pub const ENTERPRISEPACK: SkuSpec = SkuSpec {
    sku_id: "6fd2c87f-b296-42f0-b197-1e91e994b900",
    part_number: "ENTERPRISEPACK",
    plans: &[
        plan("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE", "exchange"),
        plan("5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE", "SharePoint"),
        plan("e95bec33-7c88-4a70-8e19-b10bd9d0c014", "SHAREPOINTWAC", "SharePoint"),
        plan("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MCOSTANDARD", "MicrosoftCommunicationsOnline"),
        plan("43de0ff5-c92c-492b-9116-175376d08c38", "OFFICESUBSCRIPTION", "MicrosoftOffice"),
        plan("bea4c11e-220a-4e6d-8eb8-8ea15d019f90", "RMS_S_ENTERPRISE", "RMSOnline"),
        plan("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1", "TeamspaceAPI"),
        plan("7547a3fe-08ee-4ccb-b430-5077c5041653", "YAMMER_ENTERPRISE", "YammerEnterprise"),
        plan("a23b959c-7ce8-4e57-9140-b90eb88a9e97", "SWAY", "Sway"),
        plan("b737dad2-2f6c-4c65-90e3-ca563267e8b9", "PROJECTWORKMANAGEMENT", "ProjectWorkManagement"),
    ],
    default_units: 25,
};

/// Microsoft Entra ID P2 (formerly Azure Active Directory Premium P2).
pub const AAD_PREMIUM_P2: SkuSpec = SkuSpec {
    sku_id: "84a661c4-e949-4bd2-a560-ed7766fcaf2b",
    part_number: "AAD_PREMIUM_P2",
    plans: &[
        plan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", "AADPremiumService"),
        plan("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2", "AADPremiumService"),
        plan("8a256a2b-b617-496d-b51b-e76466e88db0", "MFA_PREMIUM", "MultiFactorService"),
        plan("932ad362-64a8-4783-9106-97849a1a30b9", "ADALLOM_S_DISCOVERY", "Adallom"),
        plan("113feb6c-3fe4-4440-bddc-54d774bf0318", "EXCHANGE_S_FOUNDATION", "exchange"),
    ],
    default_units: 25,
};

/// Every product of the catalog; a fresh tenant subscribes to each of them.
pub static CATALOG: &[SkuSpec] = &[ENTERPRISEPACK, AAD_PREMIUM_P2];

/// A catalog product by `skuPartNumber` (case-insensitive) or `skuId`.
pub fn by_name_or_id(key: &str) -> Option<&'static SkuSpec> {
    CATALOG.iter().find(|s| s.part_number.eq_ignore_ascii_case(key) || s.sku_id.eq_ignore_ascii_case(key))
}
