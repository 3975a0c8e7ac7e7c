//! The 1.6 resource paths (seed: "Resource Path"), dispatched by segment name
//! case-insensitively, each ending in the same [`Directory`](cerulean_directory::Directory)
//! call the Graph front-end makes for the same operation:
//!
//! | path | methods |
//! |---|---|
//! | `/{collection}` | GET (list, `$expand`; with `deltaLink`: differential query); POST (users, groups, applications, service principals, devices; contacts refused) |
//! | `/{collection}/{id}` | GET (`$expand`); PATCH, DELETE (users, groups, applications, service principals, devices, contacts) |
//! | `/{collection}/{id}/{navigation}` | GET (`memberOf`, `members`, `owners`, `ownedObjects`, `manager`, `directReports`, `registeredOwners`, `registeredUsers`) |
//! | `/directoryRoleTemplates[/{id}]` | GET: the role catalog |
//! | `/tenantDetails[/{id}]`, `/domains[...]` | see [`crate::tenant`] |
//! | `/{collection}/{id}/$links/{navigation}` | GET; PUT, DELETE (`manager`); POST (`members`, `owners`) |
//! | `/{collection}/{id}/$links/{navigation}/{id}` | DELETE (`members`, `owners`) |
//! | `/{collection}/{id}/{action}` | POST `checkMemberGroups`, `getMemberGroups`, `getMemberObjects`; `assignLicense` (users); `changePassword` (`me` only) |
//! | `/subscribedSkus[/{id}]` | GET: the tenant's subscriptions |
//! | `/isMemberOf`, `/getObjectsByObjectIds` | POST |
//! | `/directoryObjects/$/{type}` | GET: the next page of a typed collection |
//! | `/users/{id}/thumbnailPhoto` | GET, PUT: the user's photo as a stream (the same stored photo as Graph's `photo/$value`) |

use std::collections::HashSet;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_directory::{DirectoryError, NO_MANAGER, parse_reference};
use cerulean_store::{EdgeKind, ObjectRecord, Scope};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::Ctx;
use crate::auth::{Access, Area, require};
use crate::differential;
use crate::error::AadError;
use crate::expand;
use crate::lists;
use crate::ordered::json_response;
use crate::wire::{self, AadType};

/// `checkMemberGroups` accepts at most this many ids (as Graph's).
const MAX_CHECK_IDS: usize = 20;
/// `getObjectsByObjectIds` accepts at most this many ids.
const MAX_OBJECT_IDS: usize = 1000;

fn is(segment: &str, name: &str) -> bool {
    segment.eq_ignore_ascii_case(name)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The permission area of a collection.
fn area_of(set: &str) -> Area {
    match set {
        "users" => Area::Users,
        "groups" => Area::Groups,
        "applications" | "servicePrincipals" => Area::Applications,
        _ => Area::Directory,
    }
}

/// The collections the reference lists that this server does not hold yet.
const NOT_SERVED: &[&str] = &[];

pub(crate) async fn route(ctx: &Ctx, segs: &[String]) -> Result<Response, AadError> {
    let Some(first) = segs.first() else {
        return Err(AadError::bad_url(""));
    };
    if let Some(set) = NOT_SERVED.iter().find(|s| is(first, s)) {
        return Err(AadError::new(
            400,
            "Request_BadRequest",
            format!("The resource '{set}' is not served by this server's Azure AD Graph front-end yet."),
        ));
    }
    // Tenant-level functions.
    if segs.len() == 1 && is(first, "isMemberOf") {
        post_only(ctx)?;
        require(&ctx.principal, Area::Membership, Access::Read)?;
        return is_member_of(ctx).await;
    }
    if segs.len() == 1 && is(first, "getAvailableExtensionProperties") {
        post_only(ctx)?;
        require(&ctx.principal, Area::Directory, Access::Read)?;
        return crate::extensions::available(ctx).await;
    }
    if is(first, "applications") && (3..=4).contains(&segs.len()) && is(&segs[2], "extensionProperties") {
        let access = if ctx.method == Method::GET { Access::Read } else { Access::Write };
        require(&ctx.principal, Area::Applications, access)?;
        return crate::extensions::route(ctx, &segs[1], segs.get(3).map(String::as_str)).await;
    }
    if segs.len() == 1 && is(first, "getObjectsByObjectIds") {
        post_only(ctx)?;
        require(&ctx.principal, Area::Directory, Access::Read)?;
        return objects_by_ids(ctx).await;
    }
    if is(first, "tenantDetails") {
        return crate::tenant::tenant_details(ctx, segs.get(1).map(String::as_str), segs.len()).await;
    }
    if crate::tenant::is_domains(first) {
        return crate::tenant::domains(ctx, segs).await;
    }
    if is(first, "subscribedSkus") {
        require(&ctx.principal, Area::Directory, Access::Read)?;
        get_only(ctx)?;
        return subscribed_skus(ctx, segs.get(1).map(String::as_str), segs.len()).await;
    }
    if is(first, "directoryRoleTemplates") {
        require(&ctx.principal, Area::Directory, Access::Read)?;
        get_only(ctx)?;
        return role_templates(ctx, segs.get(1).map(String::as_str), segs.len());
    }
    let is_objects = is(first, "directoryObjects");
    let t = if is_objects { None } else { Some(wire::by_set(first).ok_or_else(|| AadError::bad_url(first))?) };
    let set = t.map(|t| t.set).unwrap_or("directoryObjects");
    let area = area_of(set);
    match segs.len() {
        1 if ctx.method == Method::GET && differential::requested(&ctx.params) => {
            require(&ctx.principal, area, Access::Read)?;
            differential::serve(ctx, first).await
        }
        1 => match (&ctx.method, t) {
            (&Method::GET, Some(t)) => {
                require(&ctx.principal, area, Access::Read)?;
                list_collection(ctx, t).await
            }
            (&Method::POST, Some(t)) if writable(t) => {
                require(&ctx.principal, area, Access::Write)?;
                create(ctx, t).await
            }
            _ => Err(AadError::method_not_allowed()),
        },
        2 => {
            let key = segs[1].as_str();
            // `me` itself is the signed-in user's own profile.
            let area = if ctx.is_me && set == "users" { Area::OwnProfile } else { area };
            match ctx.method {
                Method::GET => {
                    require(&ctx.principal, area, Access::Read)?;
                    get_one(ctx, t, key).await
                }
                Method::PATCH if t.is_some_and(writable) => {
                    require(&ctx.principal, area, Access::Write)?;
                    update(ctx, t, key).await
                }
                Method::DELETE if t.is_some_and(writable) => {
                    require(&ctx.principal, area, Access::Write)?;
                    delete(ctx, t, key).await
                }
                _ => Err(AadError::method_not_allowed()),
            }
        }
        3 if is_objects && segs[1] == "$" => {
            // `directoryObjects/$/Microsoft.DirectoryServices.User?$skiptoken=...`.
            get_only(ctx)?;
            let t =
                wire::by_name(&segs[2]).filter(|t| !t.entity.is_empty()).ok_or_else(|| AadError::bad_url(&segs[2]))?;
            require(&ctx.principal, area_of(t.set), Access::Read)?;
            list_collection(ctx, t).await
        }
        3 => {
            let (key, name) = (segs[1].as_str(), segs[2].as_str());
            let subject = find(ctx, t, key).await?;
            if is(name, "thumbnailPhoto") && subject.object_type == "user" {
                return thumbnail_photo(ctx, &subject).await;
            }
            if ctx.method == Method::POST && is(name, "changePassword") {
                if !ctx.is_me {
                    return Err(AadError::bad_url(name));
                }
                require(&ctx.principal, Area::OwnPassword, Access::Write)?;
                return change_password(ctx).await;
            }
            if ctx.method == Method::POST && is(name, "assignLicense") {
                if subject.object_type != "user" {
                    return Err(AadError::bad_url(name));
                }
                require(&ctx.principal, Area::Users, Access::Write)?;
                return assign_license(ctx, &subject).await;
            }
            if ctx.method == Method::POST {
                let action = ["checkMemberGroups", "getMemberGroups", "getMemberObjects"]
                    .into_iter()
                    .find(|a| is(name, a))
                    .ok_or_else(|| AadError::bad_url(name))?;
                require(&ctx.principal, Area::Membership, Access::Read)?;
                return member_action(ctx, &subject, action).await;
            }
            get_only(ctx)?;
            require(&ctx.principal, area, Access::Read)?;
            if is_objects && let Some(cast) = wire::by_name(name) {
                // `directoryObjects/{id}/Microsoft.DirectoryServices.User`: the link form.
                if cast.entity != subject.object_type {
                    return Err(AadError::not_found(key));
                }
                return single(ctx, &subject);
            }
            navigation(ctx, set, key, &subject, name, false).await
        }
        4 | 5 if is(&segs[2], "$links") => {
            let (key, name) = (segs[1].as_str(), segs[3].as_str());
            let target = segs.get(4).map(String::as_str);
            let subject = find(ctx, t, key).await?;
            links(ctx, set, key, &subject, name, target, area).await
        }
        _ => Err(AadError::bad_url(segs.last().map(String::as_str).unwrap_or_default())),
    }
}

/// The types this front-end creates, updates and deletes.
fn writable(t: &AadType) -> bool {
    matches!(t.entity, "user" | "group" | "application" | "servicePrincipal" | "device" | "orgContact")
}

fn get_only(ctx: &Ctx) -> Result<(), AadError> {
    if ctx.method == Method::GET { Ok(()) } else { Err(AadError::method_not_allowed()) }
}

fn post_only(ctx: &Ctx) -> Result<(), AadError> {
    if ctx.method == Method::POST { Ok(()) } else { Err(AadError::method_not_allowed()) }
}

/// A live object of the collection's type (any type under `directoryObjects`); users by id or
/// UPN, as the directory resolves them.
async fn find(ctx: &Ctx, t: Option<&AadType>, key: &str) -> Result<ObjectRecord, AadError> {
    let object_type = t.map(|t| t.entity).unwrap_or("");
    Ok(ctx.state.directory.find(ctx.principal.tenant, object_type, key).await?)
}

/// `odata.metadata` of one object: `#directoryObjects/Microsoft.DirectoryServices.User/@Element`.
fn element_metadata(ctx: &Ctx, record: &ObjectRecord) -> String {
    match wire::by_entity(&record.object_type) {
        Some(t) if !t.is_directory_object() => ctx.metadata(&format!("{}/@Element", t.set)),
        Some(t) => ctx.metadata(&format!("directoryObjects/{}/@Element", t.odata_type())),
        None => ctx.metadata("directoryObjects/@Element"),
    }
}

fn single(ctx: &Ctx, record: &ObjectRecord) -> Result<Response, AadError> {
    let mut body = Map::new();
    body.insert("odata.metadata".into(), json!(element_metadata(ctx, record)));
    body.extend(wire::shape_any(record));
    Ok(json_response(StatusCode::OK, Value::Object(body)))
}

/// The body as a JSON object.
fn object_body(ctx: &Ctx) -> Result<Map<String, Value>, AadError> {
    if ctx.body.is_empty() {
        return Err(AadError::bad_request("The request body is empty; a JSON object is expected."));
    }
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AadError::bad_request("The request body must be a JSON object.")),
        Err(e) => Err(AadError::bad_request(format!("Invalid JSON in the request body: {e}"))),
    }
}

// ---- collections ----

/// A page of a collection, with `odata.metadata`, `value` and a relative `odata.nextLink`.
async fn page(
    ctx: &Ctx,
    t: Option<&AadType>,
    scope: Scope,
    metadata_fragment: &str,
    next_path: &str,
    links: bool,
) -> Result<Response, AadError> {
    let opts = lists::options(&ctx.params)?;
    let expand = match (&opts.expand, t) {
        (None, _) => Vec::new(),
        (Some(text), Some(t)) if !links && !t.entity.is_empty() => expand::parse(text, t.entity)?,
        (Some(_), _) => {
            return Err(AadError::new(
                400,
                "Request_UnsupportedQuery",
                "$expand is supported on single objects and on collections of one type (users, groups, ...).",
            ));
        }
    };
    let entity = t.and_then(AadType::schema).or_else(|| cerulean_schema::entity("directoryObject"));
    let entity = entity.ok_or_else(AadError::internal)?;
    let types: Vec<&str> = t.map(|t| vec![t.entity]).unwrap_or_default();
    // Directory extensions are filterable by name (`extension_{appId}_{name} eq '...'`).
    let dynamic = match (&opts.filter, t) {
        (Some(text), Some(t)) if cerulean_query::dynamic::may_name_extension(text) && !t.entity.is_empty() => ctx
            .state
            .directory
            .extension_definitions(ctx.principal.tenant, t.entity)
            .await?
            .iter()
            .map(|d| cerulean_query::DynamicProperty::primitive(d.name.clone(), d.edm_type(), d.multi_valued))
            .collect(),
        _ => Vec::new(),
    };
    let plan = lists::plan(opts, entity, &types, scope, &dynamic)?;
    let mut result = ctx.state.directory.list(ctx.principal.tenant, &plan.query).await?;
    plan.arrange(&mut result);
    let value = if links {
        result.items.iter().map(|r| json!({ "url": link_url(ctx, r) })).collect()
    } else if expand.is_empty() {
        lists::shaped(&result.items, t)
    } else {
        let mut out = Vec::with_capacity(result.items.len());
        for record in &result.items {
            let mut shaped = wire::shape_any(record);
            expand::apply(ctx, record, &expand, &mut shaped).await?;
            out.push(Value::Object(shaped));
        }
        out
    };
    let mut body = Map::new();
    body.insert("odata.metadata".into(), json!(ctx.metadata(metadata_fragment)));
    body.insert("value".into(), Value::Array(value));
    if let Some(next) = plan.next_link(next_path, &result) {
        body.insert("odata.nextLink".into(), json!(next));
    }
    Ok(json_response(StatusCode::OK, Value::Object(body)))
}

async fn list_collection(ctx: &Ctx, t: &'static AadType) -> Result<Response, AadError> {
    if t.is_directory_object() {
        let fragment = format!("directoryObjects/{}", t.odata_type());
        let next = format!("directoryObjects/$/{}", t.odata_type());
        page(ctx, Some(t), Scope::Live, &fragment, &next, false).await
    } else {
        page(ctx, Some(t), Scope::Live, t.set, t.set, false).await
    }
}

/// `directoryRoleTemplates[/{id}]`: the built-in roles of the directory's catalog, the same in
/// every tenant (not stored, so neither filtered nor paged: the catalog is one short page).
fn role_templates(ctx: &Ctx, key: Option<&str>, depth: usize) -> Result<Response, AadError> {
    let t = &wire::DIRECTORY_ROLE_TEMPLATE;
    let fragment = format!("directoryObjects/{}", t.odata_type());
    match (key, depth) {
        (None, _) => {
            if let Some((k, _)) = ctx.params.iter().find(|(k, _)| k.starts_with('$')) {
                return Err(AadError::new(
                    400,
                    "Request_UnsupportedQuery",
                    format!("The query option '{k}' is not supported on directoryRoleTemplates."),
                ));
            }
            let value: Vec<Value> =
                cerulean_directory::roles::role_templates().iter().map(|r| Value::Object(wire::shape(t, r))).collect();
            Ok(json_response(StatusCode::OK, json!({ "odata.metadata": ctx.metadata(&fragment), "value": value })))
        }
        (Some(k), 2) => {
            let record = cerulean_directory::roles::role_template(k)?;
            single(ctx, &record)
        }
        (Some(_), _) => Err(AadError::bad_url("directoryRoleTemplates")),
    }
}

/// `subscribedSkus[/{tenantId}_{skuId}]`: the tenant's subscriptions, with `consumedUnits`
/// (not paged: a tenant holds a handful).
async fn subscribed_skus(ctx: &Ctx, key: Option<&str>, depth: usize) -> Result<Response, AadError> {
    let tenant = ctx.principal.tenant;
    let shaped = |record: &ObjectRecord| {
        let mut item = wire::shape(&wire::SUBSCRIBED_SKU, record);
        item.insert("objectId".into(), json!(format!("{tenant}_{}", record.id)));
        item
    };
    match (key, depth) {
        (None, _) => {
            let skus = ctx.state.directory.subscribed_skus(tenant).await?;
            let value: Vec<Value> = skus.iter().map(|r| Value::Object(shaped(r))).collect();
            Ok(json_response(
                StatusCode::OK,
                json!({ "odata.metadata": ctx.metadata("subscribedSkus"), "value": value }),
            ))
        }
        (Some(k), 2) => {
            let record = ctx.state.directory.subscribed_sku(tenant, k).await?;
            let mut body = Map::new();
            body.insert("odata.metadata".into(), json!(ctx.metadata("subscribedSkus/@Element")));
            body.extend(shaped(&record));
            Ok(json_response(StatusCode::OK, Value::Object(body)))
        }
        (Some(_), _) => Err(AadError::bad_url("subscribedSkus")),
    }
}

/// `POST users/{id}/assignLicense` (and `me/assignLicense`): `addLicenses` and
/// `removeLicenses` as on Graph; 200 with the user in its 1.6 shape.
async fn assign_license(ctx: &Ctx, user: &ObjectRecord) -> Result<Response, AadError> {
    let body = object_body(ctx)?;
    let record = ctx.state.directory.assign_user_licenses(&ctx.caller(), &user.id.to_string(), &body).await?;
    let mut out = Map::new();
    out.insert("odata.metadata".into(), json!(element_metadata(ctx, &record)));
    out.extend(wire::shape(&wire::USER, &record));
    Ok(json_response(StatusCode::OK, Value::Object(out)))
}

// ---- single objects ----

async fn get_one(ctx: &Ctx, t: Option<&AadType>, key: &str) -> Result<Response, AadError> {
    let record = find(ctx, t, key).await?;
    let expand = ctx.params.iter().find(|(k, _)| k.eq_ignore_ascii_case("$expand")).map(|(_, v)| v.as_str());
    let Some(text) = expand else {
        return single(ctx, &record);
    };
    let names = expand::parse(text, &record.object_type)?;
    let mut body = Map::new();
    body.insert("odata.metadata".into(), json!(element_metadata(ctx, &record)));
    body.extend(wire::shape_any(&record));
    expand::apply(ctx, &record, &names, &mut body).await?;
    Ok(json_response(StatusCode::OK, Value::Object(body)))
}

/// `Location` of a new object, as AAD Graph gives it.
fn location(ctx: &Ctx, record: &ObjectRecord) -> String {
    link_url(ctx, record)
}

async fn create(ctx: &Ctx, t: &'static AadType) -> Result<Response, AadError> {
    let body = wire::body_from_aad(t, &object_body(ctx)?)?;
    let d = &ctx.state.directory;
    let record = match t.entity {
        // Contacts are refused there: "You cannot create organizational contacts with the Graph
        // API." Directory-extension values in the body are written as on v1.0.
        "user" | "group" | "application" | "servicePrincipal" | "device" | "orgContact" => {
            d.create_in_set(&ctx.caller(), t.entity, &body).await?
        }
        _ => return Err(AadError::method_not_allowed()),
    };
    // `Prefer: return-no-content` suppresses the echo (batch reference: "To suppress the
    // response content echo when creating an entity").
    let no_echo = ctx
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("return-no-content")));
    let mut res = if no_echo {
        let mut res = no_content();
        res.headers_mut().insert("preference-applied", HeaderValue::from_static("return-no-content"));
        res
    } else {
        let mut out = Map::new();
        out.insert("odata.metadata".into(), json!(element_metadata(ctx, &record)));
        out.extend(wire::shape(t, &record));
        json_response(StatusCode::CREATED, Value::Object(out))
    };
    if let Ok(v) = HeaderValue::from_str(&location(ctx, &record)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{}/directoryObjects/{}", ctx.root(), record.id)) {
        res.headers_mut().insert("dataserviceid", v);
    }
    Ok(res)
}

async fn update(ctx: &Ctx, t: Option<&'static AadType>, key: &str) -> Result<Response, AadError> {
    let t = t.ok_or_else(AadError::method_not_allowed)?;
    let raw = object_body(ctx)?;
    let d = &ctx.state.directory;
    // A 1.6 scalar over an entry of a v1.0 collection (a contact's phones and address) is
    // written into the collection as it stands.
    let body = if wire::writes_entries(t, &raw) {
        let current = d.find(ctx.principal.tenant, t.entity, key).await?;
        wire::body_from_aad_over(t, &raw, Some(&current.doc))?
    } else {
        wire::body_from_aad(t, &raw)?
    };
    match t.entity {
        // Directory-extension values in the body are written as on v1.0.
        "user" | "group" | "application" | "servicePrincipal" | "device" | "orgContact" => {
            d.update_in_set(&ctx.caller(), t.entity, key, &body).await?
        }
        _ => return Err(AadError::method_not_allowed()),
    }
    Ok(no_content())
}

async fn delete(ctx: &Ctx, t: Option<&'static AadType>, key: &str) -> Result<Response, AadError> {
    let t = t.ok_or_else(AadError::method_not_allowed)?;
    let d = &ctx.state.directory;
    match t.entity {
        // An application takes its service principal along ("Delete application").
        "application" => d.delete_application(&ctx.caller(), key).await?,
        "servicePrincipal" => d.delete_service_principal(&ctx.caller(), key).await?,
        // A device is deleted for good; a synchronised contact is refused.
        "device" | "orgContact" => d.delete_in_set(&ctx.caller(), t.entity, key).await?,
        _ => d.delete_object(&ctx.caller(), t.entity, key).await?,
    }
    Ok(no_content())
}

// ---- navigation properties and $links ----

/// The edge scope of a collection-valued navigation property of `subject`, when it has it.
pub(crate) fn navigation_scope(ty: &str, id: Uuid, name: &str) -> Option<(&'static str, Scope)> {
    let related = |kind, reverse| Scope::Related { kind, id, reverse };
    let (canonical, scope) =
        if is(name, "memberOf") && matches!(ty, "user" | "group" | "servicePrincipal" | "device" | "orgContact") {
            ("memberOf", related(EdgeKind::Member, true))
        } else if is(name, "members") && matches!(ty, "group" | "directoryRole") {
            ("members", related(EdgeKind::Member, false))
        } else if is(name, "owners") && matches!(ty, "group" | "application" | "servicePrincipal") {
            ("owners", related(EdgeKind::Owner, false))
        } else if is(name, "ownedObjects") && matches!(ty, "user" | "servicePrincipal") {
            ("ownedObjects", related(EdgeKind::Owner, true))
        } else if is(name, "directReports") && matches!(ty, "user" | "orgContact") {
            ("directReports", related(EdgeKind::Manager, true))
        } else if is(name, "registeredOwners") && ty == "device" {
            ("registeredOwners", related(EdgeKind::Owner, false))
        } else if is(name, "registeredUsers") && ty == "device" {
            ("registeredUsers", related(EdgeKind::RegisteredUser, false))
        } else {
            return None;
        };
    Some((canonical, scope))
}

/// `GET /{set}/{id}/{navigation}` (objects) and, with `links`, `GET .../$links/{navigation}`.
async fn navigation(
    ctx: &Ctx,
    set: &str,
    key: &str,
    subject: &ObjectRecord,
    name: &str,
    links: bool,
) -> Result<Response, AadError> {
    if is(name, "manager") && subject.object_type == "user" {
        let Some(manager) = ctx.state.directory.manager_of(ctx.principal.tenant, subject.id).await? else {
            return Err(DirectoryError::NotFound { message: NO_MANAGER.into() }.into());
        };
        if links {
            return Ok(json_response(
                StatusCode::OK,
                json!({
                    "odata.metadata": ctx.metadata("directoryObjects/$links/manager"),
                    "url": link_url(ctx, &manager),
                }),
            ));
        }
        return single(ctx, &manager);
    }
    let (canonical, scope) =
        navigation_scope(&subject.object_type, subject.id, name).ok_or_else(|| AadError::bad_url(name))?;
    let (fragment, next) = if links {
        (format!("directoryObjects/$links/{canonical}"), format!("{set}/{key}/$links/{canonical}"))
    } else {
        ("directoryObjects".to_string(), format!("{set}/{key}/{canonical}"))
    };
    page(ctx, None, scope, &fragment, &next, links).await
}

/// A link to an object: `{root}/directoryObjects/{id}/Microsoft.DirectoryServices.User`.
fn link_url(ctx: &Ctx, record: &ObjectRecord) -> String {
    match wire::by_entity(&record.object_type) {
        Some(t) if t.is_directory_object() => {
            format!("{}/directoryObjects/{}/{}", ctx.root(), record.id, t.odata_type())
        }
        Some(t) => format!("{}/{}/{}", ctx.root(), t.set, record.id),
        None => format!("{}/directoryObjects/{}", ctx.root(), record.id),
    }
}

/// The object a `$links` write names: `{"url": ".../directoryObjects/{id}[/Microsoft.DirectoryServices.X]"}`.
fn link_target(ctx: &Ctx) -> Result<Uuid, AadError> {
    let body = object_body(ctx)?;
    let url = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("url"))
        .and_then(|(_, v)| v.as_str())
        .ok_or_else(|| AadError::bad_request("The request body must contain a 'url' naming the linked object."))?;
    let trimmed = url.trim().trim_end_matches('/');
    let without_cast = match trimmed.rsplit_once('/') {
        Some((rest, last)) if last.to_ascii_lowercase().starts_with("microsoft.directoryservices.") => rest,
        _ => trimmed,
    };
    parse_reference(without_cast).ok_or_else(|| AadError::bad_request(format!("Invalid object identifier '{url}'.")))
}

async fn links(
    ctx: &Ctx,
    set: &str,
    key: &str,
    subject: &ObjectRecord,
    name: &str,
    target: Option<&str>,
    area: Area,
) -> Result<Response, AadError> {
    let d = &ctx.state.directory;
    let write_area = if subject.object_type == "group" { Area::Groups } else { area };
    match (&ctx.method, target) {
        (&Method::GET, None) => {
            require(&ctx.principal, area, Access::Read)?;
            navigation(ctx, set, key, subject, name, true).await
        }
        (&Method::PUT, None) if is(name, "manager") && subject.object_type == "user" => {
            require(&ctx.principal, write_area, Access::Write)?;
            let manager = link_target(ctx)?;
            d.set_manager(&ctx.caller(), &subject.id.to_string(), manager).await?;
            Ok(no_content())
        }
        (&Method::DELETE, None) if is(name, "manager") && subject.object_type == "user" => {
            require(&ctx.principal, write_area, Access::Write)?;
            d.remove_manager(&ctx.caller(), &subject.id.to_string()).await?;
            Ok(no_content())
        }
        (&Method::POST, None) if subject.object_type == "group" => {
            require(&ctx.principal, write_area, Access::Write)?;
            let kind = group_link_kind(name)?;
            let other = link_target(ctx)?;
            d.add_group_link(&ctx.caller(), &subject.id.to_string(), kind, other).await?;
            Ok(no_content())
        }
        (&Method::DELETE, Some(member)) if subject.object_type == "group" => {
            require(&ctx.principal, write_area, Access::Write)?;
            let kind = group_link_kind(name)?;
            let other = Uuid::parse_str(member).map_err(|_| AadError::not_found(member))?;
            d.remove_group_link(&ctx.caller(), &subject.id.to_string(), kind, other).await?;
            Ok(no_content())
        }
        // Owners of applications and service principals: the same rules as Graph's `owners/$ref`
        // (users and service principals only).
        (&Method::POST, None) if is(name, "owners") && is_app_object(subject) => {
            require(&ctx.principal, write_area, Access::Write)?;
            let other = link_target(ctx)?;
            d.add_app_owner(&ctx.caller(), &subject.object_type, &subject.id.to_string(), other).await?;
            Ok(no_content())
        }
        (&Method::DELETE, Some(owner)) if is(name, "owners") && is_app_object(subject) => {
            require(&ctx.principal, write_area, Access::Write)?;
            let other = Uuid::parse_str(owner).map_err(|_| AadError::not_found(owner))?;
            d.remove_app_owner(&ctx.caller(), &subject.object_type, &subject.id.to_string(), other).await?;
            Ok(no_content())
        }
        _ => Err(AadError::method_not_allowed()),
    }
}

fn is_app_object(subject: &ObjectRecord) -> bool {
    matches!(subject.object_type.as_str(), "application" | "servicePrincipal")
}

fn group_link_kind(name: &str) -> Result<EdgeKind, AadError> {
    if is(name, "members") {
        Ok(EdgeKind::Member)
    } else if is(name, "owners") {
        Ok(EdgeKind::Owner)
    } else {
        Err(AadError::bad_url(name))
    }
}

// ---- functions and actions ----

fn body_value<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn guid(value: Option<&Value>, name: &str) -> Result<Uuid, AadError> {
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| AadError::bad_request(format!("The parameter '{name}' is required.")))?;
    Uuid::parse_str(text).map_err(|_| AadError::bad_request(format!("Invalid object identifier '{text}'.")))
}

fn guid_list(body: &Map<String, Value>, name: &str, max: usize) -> Result<Vec<Uuid>, AadError> {
    let items = body_value(body, name)
        .and_then(Value::as_array)
        .ok_or_else(|| AadError::bad_request(format!("The parameter '{name}' must be a collection of strings.")))?;
    if items.len() > max {
        return Err(AadError::bad_request(format!("The number of values in '{name}' exceeds the maximum of {max}.")));
    }
    items.iter().map(|v| guid(Some(v), name)).collect()
}

fn security_enabled_only(body: &Map<String, Value>) -> Result<bool, AadError> {
    match body_value(body, "securityEnabledOnly") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(AadError::bad_request("The parameter 'securityEnabledOnly' must be a Boolean.")),
    }
}

fn string_collection(ctx: &Ctx, ids: &[Uuid]) -> Response {
    let value: Vec<Value> = ids.iter().map(|i| json!(i.to_string())).collect();
    json_response(StatusCode::OK, json!({ "odata.metadata": ctx.metadata("Collection(Edm.String)"), "value": value }))
}

/// `checkMemberGroups`, `getMemberGroups`, `getMemberObjects` on a user, group or directory
/// object: transitive, from the directory's membership graph.
async fn member_action(ctx: &Ctx, subject: &ObjectRecord, action: &str) -> Result<Response, AadError> {
    let body = object_body(ctx)?;
    let d = &ctx.state.directory;
    let tenant = ctx.principal.tenant;
    let ids = match action {
        "checkMemberGroups" => {
            let wanted = guid_list(&body, "groupIds", MAX_CHECK_IDS)?;
            d.check_member_of(tenant, subject.id, &wanted, true).await?
        }
        "getMemberGroups" => d.member_of_ids(tenant, subject.id, true, security_enabled_only(&body)?).await?,
        _ => d.member_of_ids(tenant, subject.id, false, security_enabled_only(&body)?).await?,
    };
    Ok(string_collection(ctx, &ids))
}

/// `POST /isMemberOf` `{"groupId", "memberId"}`: whether the member is in the group, directly
/// or through nested groups.
async fn is_member_of(ctx: &Ctx) -> Result<Response, AadError> {
    let body = object_body(ctx)?;
    let group = guid(body_value(&body, "groupId"), "groupId")?;
    let member = guid(body_value(&body, "memberId"), "memberId")?;
    let d = &ctx.state.directory;
    let tenant = ctx.principal.tenant;
    d.find(tenant, "group", &group.to_string()).await?;
    d.find(tenant, "", &member.to_string()).await?;
    let found = d.check_member_of(tenant, member, &[group], true).await?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "odata.metadata": ctx.metadata("Edm.Boolean"), "value": !found.is_empty() }),
    ))
}

/// `POST /getObjectsByObjectIds` `{"objectIds": [...], "types": ["User", ...]}`.
async fn objects_by_ids(ctx: &Ctx) -> Result<Response, AadError> {
    let body = object_body(ctx)?;
    let ids = guid_list(&body, "objectIds", MAX_OBJECT_IDS)?;
    let types: Vec<&str> = match body_value(&body, "types") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                let name = v.as_str().unwrap_or_default();
                wire::by_name(name)
                    .filter(|t| !t.entity.is_empty())
                    .map(|t| t.entity)
                    .ok_or_else(|| AadError::bad_request(format!("Invalid value '{name}' in parameter 'types'.")))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(AadError::bad_request("The parameter 'types' must be a collection of strings.")),
    };
    let found = ctx.state.directory.directory_objects_by_ids(ctx.principal.tenant, &ids).await?;
    let mut seen = HashSet::new();
    let value: Vec<Value> = found
        .iter()
        .filter(|r| types.is_empty() || types.contains(&r.object_type.as_str()))
        .filter(|r| seen.insert(r.id))
        .map(|r| Value::Object(wire::shape_any(r)))
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "odata.metadata": ctx.metadata("directoryObjects"), "value": value })))
}

/// `POST /me/changePassword` `{"currentPassword", "newPassword"}`: 204. The signed-in user
/// proves the current password; the new one follows the tenant's policy.
async fn change_password(ctx: &Ctx) -> Result<Response, AadError> {
    let body = object_body(ctx)?;
    let field = |k: &str| body_value(&body, k).and_then(Value::as_str).filter(|v| !v.is_empty());
    let (Some(current), Some(new)) = (field("currentPassword"), field("newPassword")) else {
        return Err(AadError::bad_request("Both currentPassword and newPassword are required."));
    };
    ctx.state.directory.change_own_password(&ctx.caller(), ctx.principal.object_id, current, new).await?;
    Ok(no_content())
}

/// `users/{id}/thumbnailPhoto` (`Edm.Stream`): GET answers the image, PUT stores one (204).
/// The same stored photo as Graph's `/users/{id}/photo/$value`, under the same rules (JPEG or
/// PNG checked from the bytes, 4 MB).
async fn thumbnail_photo(ctx: &Ctx, user: &ObjectRecord) -> Result<Response, AadError> {
    use cerulean_directory::photos::PhotoError;
    let key = user.id.to_string();
    match ctx.method {
        Method::GET => {
            require(&ctx.principal, Area::Users, Access::Read)?;
            let photo = ctx
                .state
                .directory
                .photo(ctx.principal.tenant, "user", &key)
                .await?
                .ok_or_else(|| AadError::not_found("thumbnailPhoto"))?;
            let content_type = HeaderValue::from_str(&photo.content_type).map_err(|_| AadError::internal())?;
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], photo.bytes).into_response())
        }
        Method::PUT => {
            require(&ctx.principal, Area::Users, Access::Write)?;
            let content_type = ctx.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let result =
                ctx.state.directory.put_photo(&ctx.caller(), "user", &key, content_type, ctx.body.to_vec()).await;
            match result {
                Ok(_) => Ok(no_content()),
                Err(PhotoError::Directory(e)) => Err(e.into()),
                Err(e @ PhotoError::TooLarge) => Err(AadError::new(413, "Request_BadRequest", e.to_string())),
                Err(e @ PhotoError::UnsupportedType(_)) => {
                    Err(AadError::new(415, "Request_UnsupportedMediaType", e.to_string()))
                }
                Err(e @ PhotoError::InvalidImage(_)) => Err(AadError::bad_request(e.to_string())),
            }
        }
        _ => Err(AadError::method_not_allowed()),
    }
}
