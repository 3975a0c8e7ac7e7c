//! Licences: the tenant's subscribed SKUs, direct and group-based licence assignment, and what
//! an assignment shows on the user (`assignedLicenses`, `assignedPlans`, `provisionedPlans`,
//! `licenseAssignmentStates`, `licenseDetails`).
//!
//! A subscribed SKU is a stored object of type `subscribedSku` whose id is its `skuId` (unique
//! in a tenant, as Entra's are); Graph addresses it as `{tenantId}_{skuId}`. A fresh tenant
//! subscribes to every product of the [`catalog`]; fixtures add others (or more units).
//! `consumedUnits` is not stored: it is the number of live users holding the SKU, counted when
//! read, so it can never drift from the assignments.
//!
//! A user's `licenseAssignmentStates` are the source of truth: one entry per SKU assigned
//! directly (`assignedByGroup` null) and one per SKU and licensed group the user is a direct
//! member of. Every other licence property is derived from them by [`compose`]:
//! - `assignedLicenses`: the SKUs of `Active` states, a plan disabled only when every source
//!   of the SKU disables it (as Entra combines a direct and an inherited assignment);
//! - `assignedPlans`: one entry per enabled service plan, `capabilityStatus` `Enabled`, its
//!   `assignedDateTime` kept while it stays enabled; a plan no longer enabled stays listed as
//!   `Deleted`, as Entra keeps it;
//! - `provisionedPlans`: one entry per enabled plan's service.
//!
//! Group-based licensing follows "What is group-based licensing": licences apply to the
//! group's direct members only (nested groups' members do not inherit), joining or leaving
//! the group adds or removes the inherited licence, and an inherited licence that cannot be
//! granted (no units left) is recorded on the user as a state `Error` with error
//! `CountViolation` instead of failing the request ("Identify and resolve license assignment
//! problems for a group").

pub mod catalog;

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine;
use cerulean_store::{
    Change, CmpOp, EdgeKind, Filter, ListQuery, ObjectRecord, Op, PropPath, Scalar, Scope, StoreError, ValueKind,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit;
use crate::error::{DirectoryError, DirectoryResult};
use crate::users::WRITE_RETRIES;
use crate::validate::now;
use crate::{Caller, Directory};

/// The stored object type of a subscribed SKU.
pub const SUBSCRIBED_SKU: &str = "subscribedSku";
/// The internal document key mapping each service plan id to its `service` (not a Graph
/// property of `subscribedSku`, so never shaped onto the wire).
const PLAN_SERVICES: &str = "planServices";
/// The most SKUs one request may add or remove.
const MAX_LICENSES: usize = 100;

/// A licence to add: a SKU and the service plans left disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AddLicense {
    sku: Uuid,
    disabled: Vec<Uuid>,
}

/// The parsed body of `assignLicense`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AssignRequest {
    add: Vec<AddLicense>,
    remove: Vec<Uuid>,
}

fn bad(message: impl Into<String>) -> DirectoryError {
    DirectoryError::bad_request(message)
}

/// Graph's answer to a SKU the tenant does not subscribe to.
fn unknown_sku(sku: Uuid) -> DirectoryError {
    bad(format!("License {sku} does not correspond to a valid company License."))
}

fn guid(value: &Value) -> DirectoryResult<Uuid> {
    value
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| bad(format!("Cannot convert the literal '{value}' to the expected type 'Edm.Guid'.")))
}

/// Parses `{"addLicenses": [{"skuId", "disabledPlans"}], "removeLicenses": [skuId]}`. Both
/// parameters are required ("One or more parameters of the operation 'assignLicense' are
/// missing from the request payload", Graph's answer).
fn parse_assign(body: &Map<String, Value>) -> DirectoryResult<AssignRequest> {
    let missing: Vec<&str> =
        ["addLicenses", "removeLicenses"].into_iter().filter(|k| body.get(*k).is_none_or(Value::is_null)).collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: {}.",
            missing.join(", ")
        )));
    }
    let list = |k: &str| -> DirectoryResult<&Vec<Value>> {
        match body.get(k) {
            Some(Value::Array(items)) if items.len() <= MAX_LICENSES => Ok(items),
            Some(Value::Array(_)) => Err(bad(format!("At most {MAX_LICENSES} licenses may be given in '{k}'."))),
            _ => Err(bad(format!("The parameter '{k}' of the operation 'assignLicense' is not a collection."))),
        }
    };
    let mut add = Vec::new();
    for item in list("addLicenses")? {
        let Some(obj) = item.as_object() else {
            return Err(bad("An entry of 'addLicenses' is an assignedLicense object."));
        };
        let sku = guid(obj.get("skuId").unwrap_or(&Value::Null))?;
        let disabled = match obj.get("disabledPlans") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(plans)) => plans.iter().map(guid).collect::<DirectoryResult<Vec<_>>>()?,
            Some(_) => return Err(bad("'disabledPlans' is a collection of service plan ids.")),
        };
        if add.iter().any(|a: &AddLicense| a.sku == sku) {
            return Err(bad(format!("License {sku} is given more than once in 'addLicenses'.")));
        }
        add.push(AddLicense { sku, disabled: dedup(disabled) });
    }
    let remove = dedup(list("removeLicenses")?.iter().map(guid).collect::<DirectoryResult<Vec<_>>>()?);
    if let Some(both) = add.iter().find(|a| remove.contains(&a.sku)) {
        return Err(bad(format!("License {} cannot be both added and removed.", both.sku)));
    }
    Ok(AssignRequest { add, remove })
}

fn dedup(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(*id));
    ids
}

/// The service plan ids of a stored SKU, in order.
fn sku_plan_ids(sku: &ObjectRecord) -> Vec<Uuid> {
    sku.doc
        .get("servicePlans")
        .and_then(Value::as_array)
        .map(|plans| {
            plans
                .iter()
                .filter_map(|p| p.get("servicePlanId").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// The `service` of a plan of a stored SKU (its plan name when the SKU does not say).
fn plan_service(sku: &ObjectRecord, plan: Uuid) -> String {
    let id = plan.to_string();
    if let Some(s) = sku.doc.get(PLAN_SERVICES).and_then(|m| m.get(&id)).and_then(Value::as_str) {
        return s.to_string();
    }
    sku.doc
        .get("servicePlans")
        .and_then(Value::as_array)
        .and_then(|plans| plans.iter().find(|p| p.get("servicePlanId").and_then(Value::as_str) == Some(id.as_str())))
        .and_then(|p| p.get("servicePlanName").and_then(Value::as_str))
        .unwrap_or_default()
        .to_string()
}

/// Checks that each disabled plan is a plan of the SKU.
fn check_disabled_plans(sku: &ObjectRecord, disabled: &[Uuid]) -> DirectoryResult<()> {
    let plans = sku_plan_ids(sku);
    match disabled.iter().find(|d| !plans.contains(d)) {
        Some(plan) => Err(bad(format!("Service plan {plan} is not part of the license {}.", sku.id))),
        None => Ok(()),
    }
}

/// `prepaidUnits.enabled` of a stored SKU.
fn enabled_units(sku: &ObjectRecord) -> i64 {
    sku.doc.get("prepaidUnits").and_then(|u| u.get("enabled")).and_then(Value::as_i64).unwrap_or(0)
}

/// The document of a subscribed SKU.
fn sku_document(
    tenant: &cerulean_store::TenantRecord,
    sku_id: Uuid,
    part_number: &str,
    plans: &[(Uuid, String, String)],
    units: &Map<String, Value>,
    at: &str,
) -> Map<String, Value> {
    let unit = |k: &str| units.get(k).and_then(Value::as_i64).unwrap_or(0);
    let enabled = unit("enabled");
    let services: Map<String, Value> = plans.iter().map(|(id, _, s)| (id.to_string(), json!(s))).collect();
    let doc = json!({
        "skuId": sku_id.to_string(),
        "skuPartNumber": part_number,
        "appliesTo": "User",
        // "Enabled if prepaidUnits has at least 1 unit that is enabled, and LockedOut if the
        // customer cancelled their subscription" (subscribedSku resource type).
        "capabilityStatus": if enabled > 0 { "Enabled" } else if unit("lockedOut") > 0 { "LockedOut" } else if unit("suspended") > 0 { "Suspended" } else { "Enabled" },
        "prepaidUnits": {
            "enabled": enabled,
            "suspended": unit("suspended"),
            "warning": unit("warning"),
            "lockedOut": unit("lockedOut"),
        },
        "servicePlans": plans.iter().map(|(id, name, _)| json!({
            "servicePlanId": id.to_string(),
            "servicePlanName": name,
            "provisioningStatus": "Success",
            "appliesTo": "User",
        })).collect::<Vec<_>>(),
        "subscriptionIds": [Uuid::new_v4().to_string()],
        "accountId": tenant.id.to_string(),
        "accountName": tenant.display_name,
        "createdDateTime": at,
        PLAN_SERVICES: services,
    });
    doc.as_object().cloned().unwrap_or_default()
}

/// The catalog products a fresh tenant subscribes to, as store inserts.
pub(crate) fn default_sku_ops(tenant: &cerulean_store::TenantRecord, at: &str) -> Vec<Op> {
    catalog::CATALOG
        .iter()
        .filter_map(|spec| {
            let sku_id = Uuid::parse_str(spec.sku_id).ok()?;
            let plans: Vec<(Uuid, String, String)> = spec
                .plans
                .iter()
                .filter_map(|p| Some((Uuid::parse_str(p.id).ok()?, p.name.to_string(), p.service.to_string())))
                .collect();
            let units = json!({"enabled": spec.default_units}).as_object().cloned().unwrap_or_default();
            let doc = sku_document(tenant, sku_id, spec.part_number, &plans, &units, at);
            Some(Op::Insert {
                object: ObjectRecord {
                    id: sku_id,
                    object_type: SUBSCRIBED_SKU.into(),
                    version: 1,
                    doc,
                    deleted_at: None,
                },
                unique: Vec::new(),
            })
        })
        .collect()
}

/// A user's licence states, from its document.
fn states_of(doc: &Map<String, Value>) -> Vec<Map<String, Value>> {
    doc.get("licenseAssignmentStates")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default()
}

fn state_sku(state: &Map<String, Value>) -> Option<Uuid> {
    state.get("skuId").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
}

fn state_group(state: &Map<String, Value>) -> Option<Uuid> {
    state.get("assignedByGroup").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
}

fn state_disabled(state: &Map<String, Value>) -> Vec<Uuid> {
    state
        .get("disabledPlans")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok())).collect())
        .unwrap_or_default()
}

fn is_active(state: &Map<String, Value>) -> bool {
    state.get("state").and_then(Value::as_str) == Some("Active")
}

fn state(sku: Uuid, group: Option<Uuid>, disabled: &[Uuid], error: Option<&str>, at: &str) -> Map<String, Value> {
    let v = json!({
        "assignedByGroup": group.map(|g| g.to_string()),
        "disabledPlans": disabled.iter().map(Uuid::to_string).collect::<Vec<_>>(),
        "error": error.unwrap_or("None"),
        "lastUpdatedDateTime": at,
        "skuId": sku.to_string(),
        "state": if error.is_some() { "Error" } else { "Active" },
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Whether two state lists say the same (timestamps aside).
fn same_states(a: &[Map<String, Value>], b: &[Map<String, Value>]) -> bool {
    let key = |s: &Map<String, Value>| {
        let mut s = s.clone();
        s.remove("lastUpdatedDateTime");
        s
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

/// The group assignments a user's direct memberships give it.
struct GroupLicense {
    group: Uuid,
    sku: Uuid,
    disabled: Vec<Uuid>,
}

/// Derives `assignedLicenses`, `assignedPlans` and `provisionedPlans` from the states (see
/// the module documentation) and writes all four into the user's document.
fn compose(
    doc: &mut Map<String, Value>,
    states: Vec<Map<String, Value>>,
    skus: &HashMap<Uuid, ObjectRecord>,
    at: &str,
) {
    // SKU -> disabled plans common to every active source, in first-appearance order.
    let mut order: Vec<Uuid> = Vec::new();
    let mut disabled: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for s in states.iter().filter(|s| is_active(s)) {
        let Some(sku) = state_sku(s) else { continue };
        let d = state_disabled(s);
        match disabled.get_mut(&sku) {
            Some(common) => common.retain(|p| d.contains(p)),
            None => {
                order.push(sku);
                disabled.insert(sku, d);
            }
        }
    }
    let licenses: Vec<Value> = order
        .iter()
        .map(|sku| {
            let d: Vec<String> = disabled.get(sku).map(|d| d.iter().map(Uuid::to_string).collect()).unwrap_or_default();
            json!({"disabledPlans": d, "skuId": sku.to_string()})
        })
        .collect();
    // Enabled plans, with their service.
    let mut enabled: Vec<(Uuid, String)> = Vec::new();
    for sku in &order {
        let Some(record) = skus.get(sku) else { continue };
        let off = disabled.get(sku).cloned().unwrap_or_default();
        for plan in sku_plan_ids(record) {
            if !off.contains(&plan) && !enabled.iter().any(|(p, _)| *p == plan) {
                enabled.push((plan, plan_service(record, plan)));
            }
        }
    }
    let previous: Vec<Map<String, Value>> = doc
        .get("assignedPlans")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default();
    let mut plans: Vec<Value> = Vec::new();
    let mut listed: HashSet<Uuid> = HashSet::new();
    for old in &previous {
        let Some(id) = old.get("servicePlanId").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()) else {
            continue;
        };
        listed.insert(id);
        let was_enabled = old.get("capabilityStatus").and_then(Value::as_str) == Some("Enabled");
        let mut entry = old.clone();
        match enabled.iter().find(|(p, _)| *p == id) {
            Some(_) if was_enabled => {}
            Some((_, service)) => {
                entry.insert("capabilityStatus".into(), json!("Enabled"));
                entry.insert("assignedDateTime".into(), json!(at));
                entry.insert("service".into(), json!(service));
            }
            None => {
                entry.insert("capabilityStatus".into(), json!("Deleted"));
            }
        }
        plans.push(Value::Object(entry));
    }
    for (id, service) in &enabled {
        if !listed.contains(id) {
            plans.push(json!({
                "assignedDateTime": at,
                "capabilityStatus": "Enabled",
                "service": service,
                "servicePlanId": id.to_string(),
            }));
        }
    }
    let provisioned: Vec<Value> = enabled
        .iter()
        .map(|(_, service)| json!({"capabilityStatus": "Enabled", "provisioningStatus": "Success", "service": service}))
        .collect();
    doc.insert("assignedLicenses".into(), Value::Array(licenses));
    doc.insert("assignedPlans".into(), Value::Array(plans));
    doc.insert("provisionedPlans".into(), Value::Array(provisioned));
    doc.insert("licenseAssignmentStates".into(), Value::Array(states.into_iter().map(Value::Object).collect()));
}

/// One licence of a user as `licenseDetails` shows it: an opaque id and the document.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseDetail {
    pub id: String,
    pub doc: Map<String, Value>,
}

/// The id of a user's licence detail: the SKU and user ids, base64url (Graph's are opaque
/// base64url strings of the same length).
fn detail_id(user: Uuid, sku: Uuid) -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(sku.as_bytes());
    bytes.extend_from_slice(user.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An edit of a user's direct licences.
enum Edit {
    /// Recompute the inherited licences only.
    Reconcile,
    /// `assignLicense` on the user.
    Assign(AssignRequest),
}

impl Directory {
    /// The tenant's subscribed SKUs with their `consumedUnits`, by `skuPartNumber`.
    pub async fn subscribed_skus(&self, tenant: Uuid) -> DirectoryResult<Vec<ObjectRecord>> {
        let mut query = ListQuery::new(&[SUBSCRIBED_SKU], Scope::Live);
        query.top = 1000;
        let mut out = Vec::new();
        loop {
            let page = self.store.list(tenant, &query).await?;
            out.extend(page.items);
            match page.next {
                Some(cursor) => query.after = Some(cursor),
                None => break,
            }
        }
        for sku in &mut out {
            let consumed = self.consumed_units(tenant, sku.id).await?;
            sku.doc.insert("consumedUnits".into(), json!(consumed));
        }
        out.sort_by(|a, b| {
            let name = |o: &ObjectRecord| o.doc.get("skuPartNumber").and_then(Value::as_str).unwrap_or("").to_string();
            name(a).cmp(&name(b))
        });
        Ok(out)
    }

    /// Subscribes a tenant created without the bootstrap (from a fixture's `tenant` section that
    /// lists no `subscribedSkus`) to the catalog's products, as a bootstrapped tenant is: a
    /// fresh tenant always has licences to assign. SKUs it holds already are left alone.
    pub async fn subscribe_default_skus(&self, caller: &Caller) -> DirectoryResult<()> {
        let tenant = self.tenant_record(caller.tenant).await?;
        let mut ops = Vec::new();
        let mut targets = Vec::new();
        for op in default_sku_ops(&tenant, &now()) {
            if let Op::Insert { object, .. } = &op {
                if self.store.get(caller.tenant, object.id).await?.is_some() {
                    continue;
                }
                targets.push(audit::bare_target(object));
            }
            ops.push(op);
        }
        if ops.is_empty() {
            return Ok(());
        }
        let change =
            Change { ops, audit: audit::record(caller, "Add subscription", "DirectoryManagement", "Add", targets) };
        self.store.apply(caller.tenant, change).await?;
        Ok(())
    }

    /// One subscribed SKU by Graph's key `{tenantId}_{skuId}` (or its bare `skuId`), with its
    /// `consumedUnits`.
    pub async fn subscribed_sku(&self, tenant: Uuid, key: &str) -> DirectoryResult<ObjectRecord> {
        let sku_part = match key.split_once('_') {
            Some((t, sku)) if Uuid::parse_str(t).ok() == Some(tenant) => sku,
            Some(_) => return Err(DirectoryError::not_found(key)),
            None => key,
        };
        let sku = Uuid::parse_str(sku_part).map_err(|_| DirectoryError::not_found(key))?;
        let mut record = self.sku(tenant, sku).await?.ok_or_else(|| DirectoryError::not_found(key))?;
        let consumed = self.consumed_units(tenant, sku).await?;
        record.doc.insert("consumedUnits".into(), json!(consumed));
        Ok(record)
    }

    /// A stored SKU by `skuId`.
    async fn sku(&self, tenant: Uuid, sku: Uuid) -> DirectoryResult<Option<ObjectRecord>> {
        Ok(self.get(tenant, sku).await?.filter(|o| o.object_type == SUBSCRIBED_SKU))
    }

    /// Live users holding the SKU (`assignedLicenses/any(x: x/skuId eq {sku})`).
    async fn consumed_units(&self, tenant: Uuid, sku: Uuid) -> DirectoryResult<i64> {
        let mut query = ListQuery::new(&["user"], Scope::Live);
        query.filter = Some(Filter::Any {
            path: PropPath::of("assignedLicenses"),
            element: Some(Box::new(Filter::Compare {
                path: PropPath(vec!["skuId".into()]),
                kind: ValueKind::Guid,
                op: CmpOp::Eq,
                value: Scalar::Str(sku.to_string()),
            })),
        });
        query.top = 1;
        query.count = true;
        let page = self.store.list(tenant, &query).await?;
        Ok(page.count.map(|c| c as i64).unwrap_or(0))
    }

    /// The tenant's assigned plans (`organization.assignedPlans`, 1.6 `tenantDetails`): one
    /// `assignedPlan` per service plan of each subscribed SKU, `Enabled` while the SKU is.
    pub async fn tenant_assigned_plans(&self, tenant: Uuid) -> DirectoryResult<Vec<Value>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for sku in self.subscribed_skus(tenant).await? {
            let status = sku.doc.get("capabilityStatus").and_then(Value::as_str).unwrap_or("Enabled").to_string();
            let at = sku.doc.get("createdDateTime").cloned().unwrap_or(Value::Null);
            for plan in sku_plan_ids(&sku) {
                if seen.insert(plan) {
                    out.push(json!({
                        "assignedDateTime": at,
                        "capabilityStatus": status,
                        "service": plan_service(&sku, plan),
                        "servicePlanId": plan.to_string(),
                    }));
                }
            }
        }
        Ok(out)
    }

    /// Adds a SKU to the tenant from configuration (a fixture's `subscribedSkus` entry):
    /// `skuPartNumber` (required), `skuId`, `servicePlans` (`servicePlanId`, `servicePlanName`,
    /// optional `service`) and `prepaidUnits`. A product of the [`catalog`] named by its
    /// `skuPartNumber` or `skuId` brings its own id and plans. An existing SKU is left as it is.
    pub async fn create_subscribed_sku(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        preset_id: Option<Uuid>,
    ) -> DirectoryResult<ObjectRecord> {
        let part = body.get("skuPartNumber").and_then(Value::as_str).map(str::trim).unwrap_or_default();
        let given_id = match body.get("skuId") {
            None | Some(Value::Null) => None,
            Some(v) => Some(guid(v)?),
        };
        let known =
            catalog::by_name_or_id(part).or_else(|| given_id.and_then(|id| catalog::by_name_or_id(&id.to_string())));
        let part = if part.is_empty() { known.map(|k| k.part_number).unwrap_or_default() } else { part };
        if part.is_empty() || part.len() > 128 {
            return Err(bad("A subscribed SKU needs its 'skuPartNumber'."));
        }
        // The SKU's own id, else the catalog's, else the id the entry was exported with.
        let sku_id = match (given_id, known, preset_id) {
            (Some(id), _, _) => id,
            (None, Some(k), _) => Uuid::parse_str(k.sku_id).map_err(|e| DirectoryError::Internal(e.to_string()))?,
            (None, None, Some(id)) => id,
            (None, None, None) => {
                return Err(bad(format!("The SKU '{part}' is not a known product; give its 'skuId'.")));
            }
        };
        if let Some(existing) = self.sku(caller.tenant, sku_id).await? {
            return Ok(existing);
        }
        let plans: Vec<(Uuid, String, String)> = match body.get("servicePlans") {
            None | Some(Value::Null) => match known {
                Some(k) => k
                    .plans
                    .iter()
                    .filter_map(|p| Some((Uuid::parse_str(p.id).ok()?, p.name.to_string(), p.service.to_string())))
                    .collect(),
                None => return Err(bad(format!("The SKU '{part}' needs its 'servicePlans'."))),
            },
            Some(Value::Array(items)) => {
                let mut plans = Vec::new();
                for item in items.iter().take(200) {
                    let id = guid(item.get("servicePlanId").unwrap_or(&Value::Null))?;
                    let name = item
                        .get("servicePlanName")
                        .and_then(Value::as_str)
                        .filter(|n| !n.trim().is_empty())
                        .ok_or_else(|| bad("A service plan needs its 'servicePlanName'."))?;
                    let service = item.get("service").and_then(Value::as_str).unwrap_or(name);
                    if plans.iter().any(|(p, _, _): &(Uuid, String, String)| *p == id) {
                        return Err(bad(format!("The service plan {id} is listed twice.")));
                    }
                    plans.push((id, name.to_string(), service.to_string()));
                }
                plans
            }
            Some(_) => return Err(bad("'servicePlans' is a collection.")),
        };
        let mut units = Map::new();
        match body.get("prepaidUnits") {
            None | Some(Value::Null) => {
                units.insert("enabled".into(), json!(known.map(|k| k.default_units).unwrap_or(25)));
            }
            Some(Value::Object(given)) => {
                for (k, v) in given {
                    if !["enabled", "suspended", "warning", "lockedOut"].contains(&k.as_str()) {
                        return Err(bad(format!("'{k}' is not a property of 'prepaidUnits'.")));
                    }
                    match v.as_i64() {
                        Some(n) if (0..=10_000_000).contains(&n) => units.insert(k.clone(), json!(n)),
                        _ => return Err(bad(format!("'prepaidUnits.{k}' is a number of units."))),
                    };
                }
            }
            Some(_) => return Err(bad("'prepaidUnits' is an object.")),
        }
        let tenant = self.tenant_record(caller.tenant).await?;
        let doc = sku_document(&tenant, sku_id, part, &plans, &units, &now());
        let object = ObjectRecord { id: sku_id, object_type: SUBSCRIBED_SKU.into(), version: 1, doc, deleted_at: None };
        let change = Change {
            ops: vec![Op::Insert { object: object.clone(), unique: Vec::new() }],
            audit: audit::record(
                caller,
                "Add subscription",
                "DirectoryManagement",
                "Add",
                vec![audit::target(&object, None, Some(&object.doc))],
            ),
        };
        self.store.apply(caller.tenant, change).await?;
        Ok(object)
    }

    /// `POST /users/{id}/assignLicense`: returns the user as it is afterwards.
    pub async fn assign_user_licenses(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        let request = parse_assign(body)?;
        let user = self.find(caller.tenant, "user", key).await?;
        // "License assignment cannot be done for user with invalid usage location." (the
        // usage location is required to assign, not to remove).
        let location = user.doc.get("usageLocation").and_then(Value::as_str).map(str::trim).unwrap_or_default();
        if !request.add.is_empty() && location.is_empty() {
            return Err(bad("License assignment cannot be done for user with invalid usage location."));
        }
        for sku in request.add.iter().map(|a| a.sku).chain(request.remove.iter().copied()) {
            if self.sku(caller.tenant, sku).await?.is_none() {
                return Err(unknown_sku(sku));
            }
        }
        let record = self.write_licences(caller, user.id, Edit::Assign(request)).await?;
        self.reevaluate_member(caller.tenant, user.id).await?;
        Ok(self.get(caller.tenant, user.id).await?.unwrap_or(record))
    }

    /// `POST /groups/{id}/assignLicense`: sets the group's `assignedLicenses` and applies them
    /// to its direct user members. Returns the group.
    pub async fn assign_group_licenses(
        &self,
        caller: &Caller,
        key: &str,
        body: &Map<String, Value>,
    ) -> DirectoryResult<ObjectRecord> {
        let request = parse_assign(body)?;
        for sku in request.add.iter().map(|a| a.sku).chain(request.remove.iter().copied()) {
            if self.sku(caller.tenant, sku).await?.is_none() {
                return Err(unknown_sku(sku));
            }
        }
        for _ in 0..WRITE_RETRIES {
            let group = self.find(caller.tenant, "group", key).await?;
            // Group-based licensing applies to security groups (and Microsoft 365 groups
            // that are security-enabled) only.
            if group.doc.get("securityEnabled").and_then(Value::as_bool) != Some(true) {
                return Err(bad("Licenses can be assigned only to security-enabled groups."));
            }
            let mut licenses: Vec<AddLicense> = group
                .doc
                .get("assignedLicenses")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|l| {
                            let l = l.as_object()?;
                            Some(AddLicense { sku: state_sku(l)?, disabled: state_disabled(l) })
                        })
                        .collect()
                })
                .unwrap_or_default();
            for sku in &request.remove {
                if !licenses.iter().any(|l| l.sku == *sku) {
                    return Err(bad(format!("The group does not have the license {sku}.")));
                }
                licenses.retain(|l| l.sku != *sku);
            }
            for add in &request.add {
                let sku = self.sku(caller.tenant, add.sku).await?.ok_or_else(|| unknown_sku(add.sku))?;
                check_disabled_plans(&sku, &add.disabled)?;
                match licenses.iter_mut().find(|l| l.sku == add.sku) {
                    Some(l) => l.disabled = add.disabled.clone(),
                    None => licenses.push(add.clone()),
                }
            }
            let mut doc = group.doc.clone();
            doc.insert(
                "assignedLicenses".into(),
                Value::Array(
                    licenses
                        .iter()
                        .map(|l| {
                            json!({
                                "disabledPlans": l.disabled.iter().map(Uuid::to_string).collect::<Vec<_>>(),
                                "skuId": l.sku.to_string(),
                            })
                        })
                        .collect(),
                ),
            );
            doc.insert("licenseProcessingState".into(), json!({"state": "ProcessingComplete"}));
            let change = Change {
                ops: vec![Op::Update {
                    id: group.id,
                    expected_version: group.version,
                    doc: doc.clone(),
                    unique: crate::groups::group_claims(&doc),
                }],
                audit: audit::record(
                    caller,
                    "Change license assignment for group",
                    "GroupManagement",
                    "Update",
                    vec![audit::target(&group, Some(&group.doc), Some(&doc))],
                ),
            };
            match self.store.apply(caller.tenant, change).await {
                Ok(_) => {
                    let members = self.store.edge_ids(caller.tenant, EdgeKind::Member, group.id, false).await?;
                    self.reconcile_and_reevaluate(caller.tenant, &members).await?;
                    return self.find(caller.tenant, "group", &group.id.to_string()).await;
                }
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The group was modified concurrently; retry the request.".into()))
    }

    /// Recomputes the inherited licences of these objects (users among them; others are
    /// skipped), after their direct memberships of a licensed group changed. Returns the users
    /// whose assigned plans changed, for the caller to evaluate against dynamic groups again
    /// (not done here: the rule engine calls this, and must not recurse into itself).
    pub(crate) async fn reconcile_users(&self, tenant: Uuid, ids: &[Uuid]) -> DirectoryResult<Vec<Uuid>> {
        let mut changed = Vec::new();
        for chunk in ids.chunks(200) {
            for user in self.store.get_many(tenant, chunk).await? {
                if user.object_type != "user" || user.deleted_at.is_some() {
                    continue;
                }
                let before = user.doc.get("assignedPlans").cloned();
                let after = self.write_licences(&Caller::system(tenant), user.id, Edit::Reconcile).await?;
                if after.doc.get("assignedPlans").cloned() != before {
                    changed.push(user.id);
                }
            }
        }
        Ok(changed)
    }

    /// [`Self::reconcile_users`], then the dynamic groups of the users whose plans changed.
    pub(crate) async fn reconcile_and_reevaluate(&self, tenant: Uuid, ids: &[Uuid]) -> DirectoryResult<()> {
        for id in self.reconcile_users(tenant, ids).await? {
            self.reevaluate_member(tenant, id).await?;
        }
        Ok(())
    }

    /// Whether a group holds licences.
    pub(crate) fn is_licensed(group: &ObjectRecord) -> bool {
        group.object_type == "group"
            && group.doc.get("assignedLicenses").and_then(Value::as_array).is_some_and(|l| !l.is_empty())
    }

    /// Whether a change of `member`'s membership of `group` may change licences: the group
    /// holds licences, or the member holds some from it.
    pub(crate) fn licences_follow(group: &ObjectRecord, member: &ObjectRecord) -> bool {
        if member.object_type != "user" || group.object_type != "group" {
            return false;
        }
        Self::is_licensed(group) || states_of(&member.doc).iter().any(|s| state_group(s) == Some(group.id))
    }

    /// Applies an edit to a user's licences and writes the result (retrying on concurrent
    /// writes). Returns the user as written (or as it was, when nothing changed).
    async fn write_licences(&self, caller: &Caller, user_id: Uuid, edit: Edit) -> DirectoryResult<ObjectRecord> {
        let tenant = caller.tenant;
        for _ in 0..WRITE_RETRIES {
            let Some(user) = self.get(tenant, user_id).await? else {
                return Err(DirectoryError::not_found(&user_id.to_string()));
            };
            let current = states_of(&user.doc);
            let at = now();
            let mut skus: HashMap<Uuid, ObjectRecord> = HashMap::new();
            for sku in current.iter().filter_map(state_sku) {
                if let std::collections::hash_map::Entry::Vacant(e) = skus.entry(sku)
                    && let Some(record) = self.sku(tenant, sku).await?
                {
                    e.insert(record);
                }
            }
            // Direct states after the edit.
            let mut direct: Vec<Map<String, Value>> =
                current.iter().filter(|s| state_group(s).is_none()).cloned().collect();
            if let Edit::Assign(request) = &edit {
                for sku in &request.remove {
                    if !direct.iter().any(|s| state_sku(s) == Some(*sku)) {
                        if current.iter().any(|s| state_sku(s) == Some(*sku)) {
                            return Err(bad(
                                "User license is inherited from a group membership and it cannot be removed directly from the user.",
                            ));
                        }
                        return Err(bad(format!("User does not have a corresponding license {sku}.")));
                    }
                    direct.retain(|s| state_sku(s) != Some(*sku));
                }
                for add in &request.add {
                    let sku = match skus.get(&add.sku) {
                        Some(s) => s.clone(),
                        None => self.sku(tenant, add.sku).await?.ok_or_else(|| unknown_sku(add.sku))?,
                    };
                    check_disabled_plans(&sku, &add.disabled)?;
                    let held = current.iter().any(|s| state_sku(s) == Some(add.sku) && is_active(s));
                    if !held && self.consumed_units(tenant, add.sku).await? >= enabled_units(&sku) {
                        return Err(bad(format!(
                            "Subscription with SKU {} does not have any available licenses.",
                            add.sku
                        )));
                    }
                    skus.insert(add.sku, sku);
                    let entry = state(add.sku, None, &add.disabled, None, &at);
                    match direct.iter_mut().find(|s| state_sku(s) == Some(add.sku)) {
                        Some(s) => *s = entry,
                        None => direct.push(entry),
                    }
                }
            }
            // Inherited states: the licences of the groups the user is a direct member of.
            let mut inherited: Vec<GroupLicense> = Vec::new();
            let groups = self.store.edge_ids(tenant, EdgeKind::Member, user.id, true).await?;
            for chunk in groups.chunks(200) {
                for group in self.store.get_many(tenant, chunk).await? {
                    if group.object_type != "group" || group.deleted_at.is_some() {
                        continue;
                    }
                    for l in group.doc.get("assignedLicenses").and_then(Value::as_array).into_iter().flatten() {
                        let Some(l) = l.as_object() else { continue };
                        let Some(sku) = state_sku(l) else { continue };
                        inherited.push(GroupLicense { group: group.id, sku, disabled: state_disabled(l) });
                    }
                }
            }
            inherited.sort_by_key(|g| (g.group, g.sku));
            let mut states = direct;
            let mut counted: BTreeMap<Uuid, i64> = BTreeMap::new();
            for g in inherited {
                let previous = current.iter().find(|s| state_group(s) == Some(g.group) && state_sku(s) == Some(g.sku));
                let sku = match skus.get(&g.sku) {
                    Some(s) => Some(s.clone()),
                    None => self.sku(tenant, g.sku).await?,
                };
                let Some(sku) = sku else { continue };
                let held = current.iter().chain(states.iter()).any(|s| state_sku(s) == Some(g.sku) && is_active(s));
                let error = if held || previous.is_some_and(is_active) {
                    None
                } else {
                    let consumed = match counted.get(&g.sku) {
                        Some(n) => *n,
                        None => self.consumed_units(tenant, g.sku).await?,
                    };
                    counted.insert(g.sku, consumed);
                    (consumed >= enabled_units(&sku)).then_some("CountViolation")
                };
                let mut entry = state(g.sku, Some(g.group), &g.disabled, error, &at);
                if let Some(p) = previous
                    && same_states(std::slice::from_ref(p), std::slice::from_ref(&entry))
                {
                    entry = p.clone();
                }
                skus.insert(g.sku, sku);
                states.push(entry);
            }
            if same_states(&states, &current) && !matches!(edit, Edit::Assign(_)) {
                return Ok(user);
            }
            let mut doc = user.doc.clone();
            compose(&mut doc, states, &skus, &at);
            if doc == user.doc {
                return Ok(user);
            }
            let activity = match edit {
                Edit::Assign(_) => "Change user license",
                Edit::Reconcile => "Change user license",
            };
            let change = Change {
                ops: vec![Op::Update {
                    id: user.id,
                    expected_version: user.version,
                    doc: doc.clone(),
                    unique: crate::users::user_claims(&doc),
                }],
                audit: audit::record(
                    caller,
                    activity,
                    "UserManagement",
                    "Update",
                    vec![audit::target(&user, Some(&user.doc), Some(&doc))],
                ),
            };
            match self.store.apply(tenant, change).await {
                Ok(_) => return Ok(ObjectRecord { version: user.version + 1, doc, ..user }),
                Err(StoreError::VersionMismatch(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DirectoryError::Conflict("The user was modified concurrently; retry the request.".into()))
    }

    /// `GET /users/{id}/licenseDetails`: one entry per SKU the user holds, each service plan
    /// `Success` or `Disabled` (a plan disabled by every source of the SKU).
    pub async fn license_details(&self, tenant: Uuid, user_key: &str) -> DirectoryResult<Vec<LicenseDetail>> {
        let user = self.find(tenant, "user", user_key).await?;
        let mut out = Vec::new();
        for l in user.doc.get("assignedLicenses").and_then(Value::as_array).into_iter().flatten() {
            let Some(l) = l.as_object() else { continue };
            let Some(sku_id) = state_sku(l) else { continue };
            let Some(sku) = self.sku(tenant, sku_id).await? else { continue };
            let disabled = state_disabled(l);
            let plans: Vec<Value> = sku
                .doc
                .get("servicePlans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    let mut p = p.as_object().cloned().unwrap_or_default();
                    let id = p.get("servicePlanId").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
                    let off = id.is_some_and(|id| disabled.contains(&id));
                    p.insert("provisioningStatus".into(), json!(if off { "Disabled" } else { "Success" }));
                    Value::Object(p)
                })
                .collect();
            let id = detail_id(user.id, sku_id);
            let doc = json!({
                "id": id,
                "servicePlans": plans,
                "skuId": sku_id.to_string(),
                "skuPartNumber": sku.doc.get("skuPartNumber").cloned().unwrap_or(Value::Null),
            });
            out.push(LicenseDetail { id, doc: doc.as_object().cloned().unwrap_or_default() });
        }
        Ok(out)
    }

    /// `GET /users/{id}/licenseDetails/{id}`.
    pub async fn license_detail(&self, tenant: Uuid, user_key: &str, id: &str) -> DirectoryResult<LicenseDetail> {
        self.license_details(tenant, user_key)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| DirectoryError::not_found(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn both_parameters_are_required() {
        let e = parse_assign(&body(json!({"removeLicenses": []}))).unwrap_err();
        assert!(e.to_string().ends_with("The missing parameters are: addLicenses."), "{e}");
        let e = parse_assign(&body(json!({}))).unwrap_err();
        assert!(e.to_string().ends_with("addLicenses, removeLicenses."), "{e}");
        let ok = parse_assign(&body(json!({"addLicenses": [], "removeLicenses": []}))).unwrap();
        assert_eq!(ok, AssignRequest { add: vec![], remove: vec![] });
    }

    #[test]
    fn skus_and_plans_are_guids() {
        assert!(parse_assign(&body(json!({"addLicenses": [{"skuId": "nope"}], "removeLicenses": []}))).is_err());
        assert!(
            parse_assign(&body(json!({"addLicenses": [{"skuId": catalog::ENTERPRISEPACK.sku_id, "disabledPlans": [1]}], "removeLicenses": []})))
                .is_err()
        );
        let sku = catalog::ENTERPRISEPACK.sku_id;
        let e = parse_assign(&body(json!({"addLicenses": [{"skuId": sku}], "removeLicenses": [sku]}))).unwrap_err();
        assert!(e.to_string().contains("both added and removed"), "{e}");
    }

    #[test]
    fn compose_combines_sources_and_keeps_deleted_plans() {
        let tenant = cerulean_store::TenantRecord {
            id: Uuid::new_v4(),
            display_name: "Contoso".into(),
            domains: vec![],
            created_at: now(),
        };
        let spec = catalog::AAD_PREMIUM_P2;
        let sku_id = Uuid::parse_str(spec.sku_id).unwrap();
        let plans: Vec<(Uuid, String, String)> = spec
            .plans
            .iter()
            .map(|p| (Uuid::parse_str(p.id).unwrap(), p.name.to_string(), p.service.to_string()))
            .collect();
        let units = body(json!({"enabled": 5}));
        let doc = sku_document(&tenant, sku_id, spec.part_number, &plans, &units, "2024-01-01T00:00:00Z");
        let sku = ObjectRecord { id: sku_id, object_type: SUBSCRIBED_SKU.into(), version: 1, doc, deleted_at: None };
        let skus = HashMap::from([(sku_id, sku)]);
        let mfa = plans[2].0;
        let p2 = plans[1].0;
        let group = Uuid::new_v4();
        let mut user = Map::new();
        let states = vec![state(sku_id, None, &[mfa, p2], None, "t1"), state(sku_id, Some(group), &[mfa], None, "t1")];
        compose(&mut user, states, &skus, "t1");
        // Disabled only where every source disables: MFA.
        assert_eq!(
            user["assignedLicenses"],
            json!([{"disabledPlans": [mfa.to_string()], "skuId": sku_id.to_string()}])
        );
        let enabled = user["assignedPlans"].as_array().unwrap().len();
        assert_eq!(enabled, plans.len() - 1);
        assert_eq!(user["provisionedPlans"].as_array().unwrap().len(), plans.len() - 1);
        // Only the direct assignment left: P2 goes to Deleted, keeps its place.
        compose(&mut user, vec![state(sku_id, None, &[mfa, p2], None, "t2")], &skus, "t2");
        let p2_entry = user["assignedPlans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["servicePlanId"] == json!(p2.to_string()))
            .cloned()
            .unwrap();
        assert_eq!(p2_entry["capabilityStatus"], json!("Deleted"));
        assert_eq!(p2_entry["assignedDateTime"], json!("t1"));
        assert_eq!(user["provisionedPlans"].as_array().unwrap().len(), plans.len() - 2);
    }

    #[test]
    fn detail_ids_are_opaque_and_stable() {
        let (u, s) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(detail_id(u, s), detail_id(u, s));
        assert_eq!(detail_id(u, s).len(), 43);
        assert_ne!(detail_id(u, s), detail_id(s, u));
    }
}
