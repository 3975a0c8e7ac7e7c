//! Differential query (`GET /{tenant}/{users|groups|directoryObjects}?deltaLink=...`): AAD
//! Graph's change tracking, over the directory's delta rounds ([`cerulean_directory::delta`]),
//! the same change log Microsoft Graph's `delta` functions read.
//!
//! Behaviour, from "Differential query | Graph API concepts" (Azure AD Graph reference):
//! - `deltaLink=` (empty) starts a round: the current state of the set, then, with the token of
//!   the last page, the changes since; every page ends with `aad.nextLink` (more to read now)
//!   or `aad.deltaLink` (nothing left; ask again later), both absolute URLs without
//!   `api-version`, carrying the token in their own `deltaLink` parameter;
//! - `users` reports users and their `Manager` links, `groups` groups and their `Member`
//!   links, `directoryObjects` both, narrowed by `$filter=isof('Microsoft.DirectoryServices.User')
//!   or isof(...)` (the filter only applies to `directoryObjects`; "otherwise, resourceSet
//!   overrides the filter"). The older namespace `Microsoft.WindowsAzure.ActiveDirectory` is
//!   accepted in `isof` too;
//! - links are `DirectoryLinkChange` entries (`associationType`, `sourceObjectId/Type/Uri`,
//!   `targetObjectId/Type/Uri`, `objectId` all zeros as in the reference's example);
//! - "Deleted objects and deleted links are indicated by the `aad.isDeleted` property with a
//!   value set to true";
//! - `$select` limits the returned (and tracked) properties: unqualified names on `users` and
//!   `groups`, `Type/name` on `directoryObjects`;
//! - the header `ocp-aad-dq-include-only-delta-token: true` answers only an `aad.deltaLink`
//!   ("sync from now");
//! - options sent beside a non-empty token are those of the token (it carries them).
//!
//! A round over several types pages them one type after another: each page holds one type's
//! entries, and the switch to the next type is an `aad.nextLink`.
//!
//! - the header `ocp-aad-dq-include-only-changed-properties: true` reports an updated object
//!   with only `odata.type`, `objectType`, `objectId` and the properties that changed (as in the
//!   reference's example), from the change log's record of each update
//!   ([`Directory::delta_changed_properties`](cerulean_directory::Directory::delta_changed_properties));
//!   created and restored objects stay whole.
//!
//! Not modelled: contacts (not held by this directory: `isof(...Contact)` selects nothing).
//!
//! Tokens: base64url of a version byte and compact JSON of the set, the type in progress and one
//! directory [`DeltaToken`] per type. They hold no secret; the directory refuses positions it
//! never reached and tokens of another tenant.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cerulean_directory::delta::{delta_type, invalid_token};
use cerulean_directory::delta_changed::ChangedProperties;
use cerulean_directory::{DeltaItem, DeltaPosition, DeltaQuery, DeltaToken, LinkChange};
use cerulean_query::{Expr, Literal};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::Ctx;
use crate::error::AadError;
use crate::wire::{self, AadType, Source};

/// Objects per page ("Zero to 200 DirectoryObject entities").
pub const PAGE_SIZE: usize = 200;
/// Format version of the token bytes.
const TOKEN_VERSION: u8 = 1;
/// Longest token accepted.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A resource set with differential query, and the types and links it reports.
struct DeltaSet {
    set: &'static str,
    /// (1.6 type, the relationship reported as `DirectoryLinkChange`, its `associationType`).
    types: &'static [(&'static AadType, &'static str, &'static str)],
}

static SETS: &[DeltaSet] = &[
    DeltaSet { set: "users", types: &[(&wire::USER, "manager", "Manager")] },
    DeltaSet { set: "groups", types: &[(&wire::GROUP, "members", "Member")] },
    DeltaSet {
        set: "directoryObjects",
        types: &[(&wire::USER, "manager", "Manager"), (&wire::GROUP, "members", "Member")],
    },
];

/// Whether a request is a differential query (it carries `deltaLink`, possibly empty).
pub(crate) fn requested(params: &[(String, String)]) -> bool {
    params.iter().any(|(k, _)| k == "deltaLink")
}

/// The state a differential-query token carries.
#[derive(Debug, Clone, PartialEq)]
struct State {
    set: String,
    /// The type whose entries the next page reports.
    index: usize,
    rounds: Vec<DeltaToken>,
}

/// `GET /{set}?deltaLink=...`.
pub(crate) async fn serve(ctx: &Ctx, set_name: &str) -> Result<Response, AadError> {
    let set = SETS.iter().find(|s| s.set.eq_ignore_ascii_case(set_name)).ok_or_else(|| {
        AadError::new(
            400,
            "Request_UnsupportedQuery",
            format!("Differential query is not supported on '{set_name}'; use users, groups or directoryObjects."),
        )
    })?;
    let mut token_text = None;
    let mut filter = None;
    let mut select = None;
    for (key, value) in &ctx.params {
        match key.as_str() {
            "deltaLink" => token_text = Some(value.trim()),
            k if k.eq_ignore_ascii_case("$filter") => filter = Some(value.as_str()),
            k if k.eq_ignore_ascii_case("$select") => select = Some(value.as_str()),
            k if k.eq_ignore_ascii_case("api-version") || k.eq_ignore_ascii_case("$format") => {}
            k if k.starts_with('$') => {
                return Err(AadError::new(
                    400,
                    "Request_UnsupportedQuery",
                    format!("The query option '{k}' is not supported with differential query."),
                ));
            }
            _ => {}
        }
    }
    let only_token = ctx
        .headers
        .get("ocp-aad-dq-include-only-delta-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let tenant = ctx.principal.tenant;
    let d = &ctx.state.directory;
    let state = match token_text.filter(|t| !t.is_empty()) {
        Some(text) => {
            let state = decode(text)?;
            if !state.set.eq_ignore_ascii_case(set.set) || state.rounds.iter().any(|r| r.tenant != tenant) {
                return Err(invalid_token().into());
            }
            if only_token {
                let mut rounds = Vec::with_capacity(state.rounds.len());
                for r in state.rounds {
                    rounds.push(d.delta_start(tenant, r.query, true).await?);
                }
                State { set: set.set.into(), index: 0, rounds }
            } else {
                state
            }
        }
        None => {
            let mut rounds = Vec::new();
            for (t, relation, _) in selected_types(set, filter)? {
                let query = DeltaQuery {
                    object_type: t.entity.to_string(),
                    types: Vec::new(),
                    select: select_for(set, t, select)?,
                    relations: vec![relation.to_string()],
                    ids: Vec::new(),
                };
                rounds.push(d.delta_start(tenant, query, only_token).await?);
            }
            State { set: set.set.into(), index: 0, rounds }
        }
    };
    let mut body = Map::new();
    body.insert("odata.metadata".into(), json!(ctx.metadata(set.set)));
    if only_token || state.rounds.is_empty() {
        body.insert("aad.deltaLink".into(), json!(link(ctx, set.set, &state)));
        body.insert("value".into(), json!([]));
        return Ok(respond(body));
    }
    let index = state.index.min(state.rounds.len() - 1);
    let round = &state.rounds[index];
    let (t, _, association) = set
        .types
        .iter()
        .find(|(t, _, _)| t.entity == round.query.object_type)
        .ok_or_else(|| AadError::from(invalid_token()))?;
    let page = d.delta_page(tenant, round, PAGE_SIZE).await?;
    let changed = match (only_changed(ctx), round.position, page.next.position) {
        (true, DeltaPosition::Changes { seq: after }, DeltaPosition::Changes { seq: through }) => {
            let ids: Vec<Uuid> = page
                .items
                .iter()
                .filter_map(|i| match i {
                    DeltaItem::Object { record, .. } => Some(record.id),
                    DeltaItem::Removed { .. } => None,
                })
                .collect();
            Some(d.delta_changed_properties(tenant, &round.query.object_type, after, through, &ids).await?)
        }
        _ => None,
    };
    let mut value = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let only = match (&changed, item) {
            (Some(map), DeltaItem::Object { record, .. }) => match map.get(&record.id) {
                Some(ChangedProperties::Some(names)) => Some(names.as_slice()),
                _ => None,
            },
            _ => None,
        };
        render(ctx, t, association, round.query.select.as_deref(), only, item, &mut value);
    }
    let mut next = state.clone();
    next.rounds[index] = page.next;
    let key = if !page.done {
        "aad.nextLink"
    } else if index + 1 < next.rounds.len() {
        next.index = index + 1;
        "aad.nextLink"
    } else {
        next.index = 0;
        "aad.deltaLink"
    };
    body.insert(key.into(), json!(link(ctx, set.set, &next)));
    body.insert("value".into(), Value::Array(value));
    Ok(respond(body))
}

/// `ocp-aad-dq-include-only-changed-properties: true`: updated objects carry only the
/// properties that changed (created and restored ones stay whole).
fn only_changed(ctx: &Ctx) -> bool {
    ctx.headers
        .get("ocp-aad-dq-include-only-changed-properties")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The stored (v1.0) property a 1.6 property of `t` is read from.
fn stored_name(t: &AadType, key: &str) -> Option<&'static str> {
    if let Some((_, source)) = t.computed.iter().find(|(n, _)| *n == key) {
        return match source {
            Source::First(n) | Source::NotEqual(n, _, _) => Some(n),
            Source::Path(path) => path.first().copied(),
            Source::Entry(list, _, _) => Some(list),
            Source::Const(_) => None,
        };
    }
    wire::property(t.schema()?, key).map(|p| p.name)
}

fn respond(body: Map<String, Value>) -> Response {
    crate::ordered::json_response(StatusCode::OK, Value::Object(body))
}

/// `{root}/{set}?deltaLink={token}` (the client appends `api-version`).
fn link(ctx: &Ctx, set: &str, state: &State) -> String {
    format!("{}/{set}?deltaLink={}", ctx.root(), encode(state))
}

/// The types a new round tracks: all of the set's, or those `isof(...)` names.
fn selected_types(
    set: &'static DeltaSet,
    filter: Option<&str>,
) -> Result<Vec<(&'static AadType, &'static str, &'static str)>, AadError> {
    let tracked = |t: &AadType| delta_type(t.entity).is_some();
    let all: Vec<_> = set.types.iter().copied().filter(|(t, _, _)| tracked(t)).collect();
    let Some(text) = filter.filter(|_| set.set == "directoryObjects") else {
        return Ok(all);
    };
    let mut names = Vec::new();
    isof_names(&cerulean_query::parse_filter(text)?, &mut names)?;
    let mut out = Vec::new();
    for name in names {
        let bare = name
            .strip_prefix("Microsoft.DirectoryServices.")
            .or_else(|| name.strip_prefix("Microsoft.WindowsAzure.ActiveDirectory."))
            .unwrap_or(&name);
        let known = wire::by_name(bare).is_some() || bare.eq_ignore_ascii_case("Contact");
        if !known {
            return Err(AadError::bad_request(format!("Invalid type '{name}' in the isof filter.")));
        }
        // A known type this directory does not hold (contacts) selects nothing.
        if let Some(entry) = all.iter().find(|(t, _, _)| t.name.eq_ignore_ascii_case(bare))
            && !out.iter().any(|(t, _, _): &(&AadType, &str, &str)| t.entity == entry.0.entity)
        {
            out.push(*entry);
        }
    }
    Ok(out)
}

fn unsupported_filter() -> AadError {
    AadError::new(
        400,
        "Request_UnsupportedQuery",
        "Differential query supports only $filter=isof('Microsoft.DirectoryServices.<Type>'), combined with 'or'.",
    )
}

fn isof_names(expr: &Expr, out: &mut Vec<String>) -> Result<(), AadError> {
    match expr {
        Expr::Or(items) => items.iter().try_for_each(|e| isof_names(e, out)),
        Expr::Call { name, args } if name == "isof" => match args.as_slice() {
            [Expr::Literal(Literal::String(s))] => {
                out.push(s.clone());
                Ok(())
            }
            _ => Err(unsupported_filter()),
        },
        _ => Err(unsupported_filter()),
    }
}

/// `$select` for type `t` in 1.6 names, as the stored (v1.0) names the delta round tracks.
fn select_for(set: &DeltaSet, t: &AadType, select: Option<&str>) -> Result<Option<Vec<String>>, AadError> {
    let Some(text) = select else {
        return Ok(None);
    };
    let entity = t.schema().ok_or_else(AadError::internal)?;
    let qualified = set.set == "directoryObjects";
    let mut names = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let name = match (qualified, item.split_once('/')) {
            (true, Some((ty, name))) => {
                if !ty.eq_ignore_ascii_case(t.name) {
                    continue;
                }
                name
            }
            (true, None) => {
                return Err(AadError::bad_request(format!(
                    "Property '{item}' must be qualified with its type (for example User/displayName) on directoryObjects."
                )));
            }
            (false, _) => item,
        };
        let p = wire::property(entity, name).ok_or_else(|| {
            AadError::bad_request(format!("The property '{name}' does not exist on type '{}'.", t.odata_type()))
        })?;
        if !names.iter().any(|n| n == p.name) {
            names.push(p.name.to_string());
        }
    }
    Ok(Some(names))
}

/// One delta item as 1.6 entries: the object (or its deletion), then its link changes.
fn render(
    ctx: &Ctx,
    t: &AadType,
    association: &str,
    select: Option<&[String]>,
    changed: Option<&[String]>,
    item: &DeltaItem,
    out: &mut Vec<Value>,
) {
    match item {
        DeltaItem::Removed { id, .. } => {
            let mut v = Map::new();
            v.insert("odata.type".into(), json!(t.odata_type()));
            v.insert("objectType".into(), json!(t.object_type));
            v.insert("objectId".into(), json!(id.to_string()));
            v.insert("deletionTimestamp".into(), Value::Null);
            v.insert("aad.isDeleted".into(), json!(true));
            out.push(Value::Object(v));
        }
        DeltaItem::Object { record, links } => {
            let mut shaped = wire::shape(t, record);
            if let (Some(select), Some(entity)) = (select, t.schema()) {
                shaped.retain(|k, _| {
                    matches!(k.as_str(), "odata.type" | "objectType" | "objectId" | "deletionTimestamp")
                        || wire::property(entity, k).is_some_and(|p| select.iter().any(|s| s == p.name))
                });
            }
            if let Some(changed) = changed {
                shaped.retain(|k, _| {
                    matches!(k.as_str(), "odata.type" | "objectType" | "objectId")
                        || stored_name(t, k).is_some_and(|n| changed.iter().any(|c| c == n))
                });
            }
            out.push(Value::Object(shaped));
            for l in links {
                out.push(link_change(ctx, t, record.id, association, l));
            }
        }
    }
}

/// A `DirectoryLinkChange` entry.
fn link_change(ctx: &Ctx, source: &AadType, source_id: Uuid, association: &str, l: &LinkChange) -> Value {
    let uri = |t: Option<&AadType>, id: Uuid| match t {
        Some(t) => format!("{}/{}/{id}", ctx.root(), t.set),
        None => format!("{}/directoryObjects/{id}", ctx.root()),
    };
    let target = l.target_type.as_deref().and_then(wire::by_entity);
    let mut v = json!({
        "odata.type": format!("{}.DirectoryLinkChange", wire::NAMESPACE),
        "objectType": "DirectoryLinkChange",
        "objectId": Uuid::nil().to_string(),
        "deletionTimestamp": null,
        "associationType": association,
        "sourceObjectId": source_id.to_string(),
        "sourceObjectType": source.object_type,
        "sourceObjectUri": uri(Some(source), source_id),
        "targetObjectId": l.target.to_string(),
        "targetObjectType": target.map(|t| t.object_type).unwrap_or("DirectoryObject"),
        "targetObjectUri": uri(target, l.target),
    });
    if l.removed {
        v["aad.isDeleted"] = json!(true);
    }
    v
}

fn encode(state: &State) -> String {
    let rounds: Vec<Value> = state
        .rounds
        .iter()
        .map(|r| {
            let (k, q, x) = match r.position {
                DeltaPosition::Snapshot { seq, after } => ("p", seq, after),
                DeltaPosition::Changes { seq } => ("c", seq, None),
            };
            json!({
                "a": r.tenant,
                "t": r.query.object_type,
                "s": r.query.select,
                "r": r.query.relations,
                "k": k,
                "q": q,
                "x": x,
            })
        })
        .collect();
    let v = json!({ "s": state.set, "i": state.index, "r": rounds });
    let mut bytes = vec![TOKEN_VERSION];
    bytes.extend(v.to_string().into_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode(text: &str) -> Result<State, AadError> {
    let bad = || AadError::from(invalid_token());
    if text.len() > MAX_TOKEN_LEN {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| bad())?;
    let Some((&TOKEN_VERSION, body)) = bytes.split_first() else {
        return Err(bad());
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let set = v.get("s").and_then(Value::as_str).ok_or_else(bad)?.to_string();
    let index = v.get("i").and_then(Value::as_u64).ok_or_else(bad)? as usize;
    let items = v.get("r").and_then(Value::as_array).ok_or_else(bad)?;
    if items.is_empty() || items.len() > SETS.iter().map(|s| s.types.len()).max().unwrap_or(0) || index >= items.len() {
        return Err(bad());
    }
    let mut rounds = Vec::with_capacity(items.len());
    for r in items {
        let text = |k: &str| r.get(k).and_then(Value::as_str);
        let strings = |k: &str| -> Option<Vec<String>> {
            r.get(k)?.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
        };
        let tenant = text("a").and_then(|a| Uuid::parse_str(a).ok()).ok_or_else(bad)?;
        let seq = r.get("q").and_then(Value::as_u64).ok_or_else(bad)?;
        let after = match r.get("x") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Uuid::parse_str(s).map_err(|_| bad())?),
            Some(_) => return Err(bad()),
        };
        let position = match text("k") {
            Some("p") => DeltaPosition::Snapshot { seq, after },
            Some("c") => DeltaPosition::Changes { seq },
            _ => return Err(bad()),
        };
        let select = match r.get("s") {
            None | Some(Value::Null) => None,
            Some(_) => Some(strings("s").ok_or_else(bad)?),
        };
        rounds.push(DeltaToken {
            tenant,
            query: DeltaQuery {
                object_type: text("t").ok_or_else(bad)?.to_string(),
                types: Vec::new(),
                select,
                relations: strings("r").ok_or_else(bad)?,
                ids: Vec::new(),
            },
            position,
        });
    }
    Ok(State { set, index, rounds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let round = |t: &str, position| DeltaToken {
            tenant: Uuid::from_u128(9),
            query: DeltaQuery {
                object_type: t.into(),
                types: Vec::new(),
                select: Some(vec!["displayName".into()]),
                relations: vec!["members".into()],
                ids: Vec::new(),
            },
            position,
        };
        let state = State {
            set: "directoryObjects".into(),
            index: 1,
            rounds: vec![
                round("user", DeltaPosition::Changes { seq: 4 }),
                round("group", DeltaPosition::Snapshot { seq: 4, after: Some(Uuid::from_u128(3)) }),
            ],
        };
        let text = encode(&state);
        assert!(text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(decode(&text).ok(), Some(state));
        for bad in ["", "!!", "AQ", "e30", &"A".repeat(MAX_TOKEN_LEN + 1)] {
            assert_eq!(decode(bad).err().map(|e| e.status.as_u16()), Some(400), "{bad}");
        }
    }

    #[test]
    fn isof_filters() {
        let objects = &SETS[2];
        let two = selected_types(
            objects,
            Some("isof('Microsoft.DirectoryServices.Group') or isof('Microsoft.WindowsAzure.ActiveDirectory.Contact')"),
        )
        .expect("filter");
        assert_eq!(two.iter().map(|(t, _, _)| t.entity).collect::<Vec<_>>(), vec!["group"]);
        assert!(selected_types(objects, Some("displayName eq 'x'")).is_err());
        assert!(selected_types(objects, Some("isof('Microsoft.DirectoryServices.Nope')")).is_err());
        // The set overrides the filter elsewhere.
        assert_eq!(selected_types(&SETS[0], Some("isof('Group')")).expect("users").len(), 1);
    }
}
