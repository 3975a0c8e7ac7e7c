//! `GET /{tenant}/$metadata`: the OData 3 CSDL of the `Microsoft.DirectoryServices` namespace
//! for what this front-end serves, generated from the 1.6 type table ([`crate::wire`]) and the
//! schema's property types and 1.6 names. Served without authentication (seed: "Service
//! metadata"). Navigation properties are not declared: OData 3 needs an `Association` per
//! relationship, and clients of this API address them by URL, not through the model.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cerulean_schema::EdmType;

use crate::wire::{self, AadType, NAMESPACE, Source};

pub(crate) fn metadata() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let doc = DOCUMENT.get_or_init(document);
    let mut res = (StatusCode::OK, doc.clone()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml;charset=utf-8"));
    res
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `assignedPlan` → `AssignedPlan`.
fn type_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The OData 3 type of a schema type; complex types met are noted for declaration.
fn edm(ty: EdmType, collection: bool, complex: &mut BTreeSet<&'static str>) -> String {
    let single = match ty {
        // OData 3 has no Edm.Date; AAD Graph's times are Edm.DateTime.
        EdmType::DateTimeOffset | EdmType::Date => "Edm.DateTime".to_string(),
        EdmType::Enum(_) => "Edm.String".to_string(),
        EdmType::Complex(n) => {
            complex.insert(n);
            format!("{NAMESPACE}.{}", type_name(n))
        }
        other => other.csdl_name(),
    };
    if collection { format!("Collection({single})") } else { single }
}

/// The type of one 1.6 property of `t`.
fn property_type(t: &AadType, name: &str, complex: &mut BTreeSet<&'static str>) -> String {
    let computed = t.computed.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
    let schema = t.schema();
    if !matches!(computed, Some(Source::First(_) | Source::Path(_) | Source::NotEqual(..) | Source::Entry(..)))
        && let Some(p) = schema.and_then(|e| wire::property(e, name))
    {
        return edm(p.ty, p.collection, complex);
    }
    match computed {
        Some(Source::First(v1)) => match schema.and_then(|e| e.property(v1)) {
            Some(p) => edm(p.ty, false, complex),
            None => "Edm.String".into(),
        },
        Some(Source::NotEqual(..)) => "Edm.Boolean".into(),
        Some(Source::Const("true" | "false")) => "Edm.Boolean".into(),
        Some(Source::Const("[]")) => "Collection(Edm.String)".into(),
        Some(Source::Path(path)) => {
            let mut prop = path.first().and_then(|f| schema.and_then(|e| e.property(f)));
            for seg in path.iter().skip(1) {
                prop = match prop.map(|p| p.ty) {
                    Some(EdmType::Complex(c)) => cerulean_schema::complex(c).and_then(|c| c.property(seg)),
                    _ => None,
                };
            }
            prop.map(|p| edm(p.ty, p.collection, complex)).unwrap_or_else(|| "Edm.String".into())
        }
        _ if t.name == "TenantDetail" => match name {
            "verifiedDomains" => format!("Collection({NAMESPACE}.VerifiedDomain)"),
            "dirSyncEnabled" => "Edm.Boolean".into(),
            "companyLastDirSyncTime" => "Edm.DateTime".into(),
            "assignedPlans"
            | "provisionedPlans"
            | "provisioningErrors"
            | "marketingNotificationEmails"
            | "securityComplianceNotificationMails"
            | "securityComplianceNotificationPhones"
            | "technicalNotificationMails" => "Collection(Edm.String)".into(),
            _ => "Edm.String".into(),
        },
        _ => "Edm.String".into(),
    }
}

fn document() -> String {
    let mut complex: BTreeSet<&'static str> = BTreeSet::new();
    let mut out = String::with_capacity(32 * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<edmx:Edmx Version=\"1.0\" xmlns:edmx=\"http://schemas.microsoft.com/ado/2007/06/edmx\">\n");
    out.push_str("  <edmx:DataServices m:DataServiceVersion=\"3.0\" m:MaxDataServiceVersion=\"3.0\" xmlns:m=\"http://schemas.microsoft.com/ado/2007/08/dataservices/metadata\">\n");
    let _ =
        writeln!(out, "    <Schema Namespace=\"{NAMESPACE}\" xmlns=\"http://schemas.microsoft.com/ado/2009/11/edm\">");
    out.push_str("      <EntityType Name=\"DirectoryObject\" OpenType=\"true\">\n");
    out.push_str("        <Key><PropertyRef Name=\"objectId\" /></Key>\n");
    out.push_str("        <Property Name=\"objectType\" Type=\"Edm.String\" />\n");
    out.push_str("        <Property Name=\"objectId\" Type=\"Edm.String\" Nullable=\"false\" />\n");
    out.push_str("        <Property Name=\"deletionTimestamp\" Type=\"Edm.DateTime\" />\n");
    out.push_str("      </EntityType>\n");
    for t in wire::TYPES {
        if t.is_directory_object() {
            let _ = writeln!(
                out,
                "      <EntityType Name=\"{}\" BaseType=\"{NAMESPACE}.DirectoryObject\" OpenType=\"true\">",
                esc(t.name)
            );
        } else {
            let _ = writeln!(out, "      <EntityType Name=\"{}\">", esc(t.name));
            out.push_str("        <Key><PropertyRef Name=\"objectId\" /></Key>\n");
            out.push_str("        <Property Name=\"objectId\" Type=\"Edm.String\" Nullable=\"false\" />\n");
        }
        for name in t.properties {
            let ty = property_type(t, name, &mut complex);
            let _ = writeln!(out, "        <Property Name=\"{}\" Type=\"{}\" />", esc(name), esc(&ty));
        }
        // A user's photo is a stream of its own (`users/{id}/thumbnailPhoto`), the same stored
        // photo as Graph v1.0's `photo/$value`.
        if t.name == "User" {
            out.push_str("        <Property Name=\"thumbnailPhoto\" Type=\"Edm.Stream\" Nullable=\"false\" />\n");
        }
        out.push_str("      </EntityType>\n");
    }
    // Directory extension definitions (`applications/{id}/extensionProperties`).
    let _ = writeln!(
        out,
        "      <EntityType Name=\"ExtensionProperty\" BaseType=\"{NAMESPACE}.DirectoryObject\" OpenType=\"true\">"
    );
    for (name, ty) in [
        ("appDisplayName", "Edm.String"),
        ("name", "Edm.String"),
        ("dataType", "Edm.String"),
        ("isSyncedFromOnPremises", "Edm.Boolean"),
        ("targetObjects", "Collection(Edm.String)"),
    ] {
        let _ = writeln!(out, "        <Property Name=\"{name}\" Type=\"{ty}\" />");
    }
    out.push_str("      </EntityType>\n");
    complex.insert("assignedLicense");
    // Complex types, including those nested in others.
    let mut done: BTreeSet<&'static str> = BTreeSet::new();
    while let Some(name) = complex.iter().copied().find(|n| !done.contains(n)) {
        done.insert(name);
        let Some(c) = cerulean_schema::complex(name) else { continue };
        let _ = writeln!(out, "      <ComplexType Name=\"{}\">", esc(&type_name(name)));
        for p in c.properties {
            let ty = edm(p.ty, p.collection, &mut complex);
            let _ = writeln!(
                out,
                "        <Property Name=\"{}\" Type=\"{}\" />",
                esc(p.aad_name.unwrap_or(p.name)),
                esc(&ty)
            );
        }
        out.push_str("      </ComplexType>\n");
    }
    out.push_str("      <ComplexType Name=\"VerifiedDomain\">\n");
    for (name, ty) in [
        ("capabilities", "Edm.String"),
        ("default", "Edm.Boolean"),
        ("id", "Edm.String"),
        ("initial", "Edm.Boolean"),
        ("name", "Edm.String"),
        ("type", "Edm.String"),
    ] {
        let _ = writeln!(out, "        <Property Name=\"{name}\" Type=\"{ty}\" />");
    }
    out.push_str("      </ComplexType>\n");
    // A domain is not a directory object: keyed by its name (see `tenant.rs`).
    out.push_str("      <EntityType Name=\"Domain\">\n");
    out.push_str("        <Key><PropertyRef Name=\"name\" /></Key>\n");
    for (name, ty) in [
        ("authenticationType", "Edm.String"),
        ("availabilityStatus", "Edm.String"),
        ("isAdminManaged", "Edm.Boolean"),
        ("isDefault", "Edm.Boolean"),
        ("isDefaultForCloudRedirections", "Edm.Boolean"),
        ("isInitial", "Edm.Boolean"),
        ("isRoot", "Edm.Boolean"),
        ("isVerified", "Edm.Boolean"),
        ("name", "Edm.String"),
        ("supportedServices", "Collection(Edm.String)"),
        ("passwordValidityPeriodInDays", "Edm.Int32"),
        ("passwordNotificationWindowInDays", "Edm.Int32"),
    ] {
        let nullable = if name == "name" { " Nullable=\"false\"" } else { "" };
        let _ = writeln!(out, "        <Property Name=\"{name}\" Type=\"{ty}\"{nullable} />");
    }
    out.push_str("      </EntityType>\n");
    out.push_str("      <EntityContainer Name=\"DirectoryDataService\" m:IsDefaultEntityContainer=\"true\">\n");
    let _ = writeln!(out, "        <EntitySet Name=\"domains\" EntityType=\"{NAMESPACE}.Domain\" />");
    let _ = writeln!(out, "        <EntitySet Name=\"directoryObjects\" EntityType=\"{NAMESPACE}.DirectoryObject\" />");
    let _ = writeln!(
        out,
        "        <EntitySet Name=\"oauth2PermissionGrants\" EntityType=\"{NAMESPACE}.OAuth2PermissionGrant\" />"
    );
    out.push_str("        <FunctionImport Name=\"isMemberOf\" ReturnType=\"Edm.Boolean\" IsBindable=\"false\">\n");
    out.push_str("          <Parameter Name=\"groupId\" Type=\"Edm.String\" />\n");
    out.push_str("          <Parameter Name=\"memberId\" Type=\"Edm.String\" />\n");
    out.push_str("        </FunctionImport>\n");
    let _ = writeln!(
        out,
        "        <FunctionImport Name=\"getObjectsByObjectIds\" ReturnType=\"Collection({NAMESPACE}.DirectoryObject)\" EntitySet=\"directoryObjects\" IsBindable=\"false\">"
    );
    out.push_str("          <Parameter Name=\"objectIds\" Type=\"Collection(Edm.String)\" />\n");
    out.push_str("          <Parameter Name=\"types\" Type=\"Collection(Edm.String)\" />\n");
    out.push_str("        </FunctionImport>\n");
    for (name, parameter, ty, returns) in [
        ("checkMemberGroups", "groupIds", "Collection(Edm.String)", "Collection(Edm.String)"),
        ("getMemberGroups", "securityEnabledOnly", "Edm.Boolean", "Collection(Edm.String)"),
        ("getMemberObjects", "securityEnabledOnly", "Edm.Boolean", "Collection(Edm.String)"),
    ] {
        let _ = writeln!(
            out,
            "        <FunctionImport Name=\"{name}\" ReturnType=\"{returns}\" IsBindable=\"true\" m:IsAlwaysBindable=\"true\">"
        );
        let _ = writeln!(out, "          <Parameter Name=\"bindingParameter\" Type=\"{NAMESPACE}.DirectoryObject\" />");
        let _ = writeln!(out, "          <Parameter Name=\"{parameter}\" Type=\"{ty}\" />");
        out.push_str("        </FunctionImport>\n");
    }
    let _ = writeln!(out, "        <EntitySet Name=\"subscribedSkus\" EntityType=\"{NAMESPACE}.SubscribedSku\" />");
    let _ = writeln!(
        out,
        "        <FunctionImport Name=\"getAvailableExtensionProperties\" ReturnType=\"Collection({NAMESPACE}.ExtensionProperty)\" EntitySet=\"directoryObjects\" IsBindable=\"false\" m:HttpMethod=\"POST\">"
    );
    out.push_str("          <Parameter Name=\"isSyncedFromOnPremises\" Type=\"Edm.Boolean\" />\n");
    out.push_str("        </FunctionImport>\n");
    let _ = writeln!(
        out,
        "        <FunctionImport Name=\"assignLicense\" ReturnType=\"{NAMESPACE}.User\" EntitySet=\"directoryObjects\" IsBindable=\"true\" m:IsAlwaysBindable=\"true\">"
    );
    let _ = writeln!(out, "          <Parameter Name=\"bindingParameter\" Type=\"{NAMESPACE}.User\" />");
    let _ =
        writeln!(out, "          <Parameter Name=\"addLicenses\" Type=\"Collection({NAMESPACE}.AssignedLicense)\" />");
    out.push_str("          <Parameter Name=\"removeLicenses\" Type=\"Collection(Edm.Guid)\" />\n");
    out.push_str("        </FunctionImport>\n");
    out.push_str("        <FunctionImport Name=\"changePassword\" IsBindable=\"true\" m:IsAlwaysBindable=\"true\">\n");
    let _ = writeln!(out, "          <Parameter Name=\"bindingParameter\" Type=\"{NAMESPACE}.User\" />");
    out.push_str("          <Parameter Name=\"currentPassword\" Type=\"Edm.String\" />\n");
    out.push_str("          <Parameter Name=\"newPassword\" Type=\"Edm.String\" />\n");
    out.push_str("        </FunctionImport>\n");
    out.push_str("      </EntityContainer>\n");
    out.push_str("    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn declares_users_with_1_6_names() {
        let doc = super::document();
        assert!(doc.contains("<EntityType Name=\"User\" BaseType=\"Microsoft.DirectoryServices.DirectoryObject\""));
        assert!(doc.contains("<Property Name=\"mobile\" Type=\"Edm.String\" />"));
        assert!(doc.contains("<Property Name=\"lastDirSyncTime\" Type=\"Edm.DateTime\" />"));
        assert!(doc.contains("<Property Name=\"forceChangePasswordNextLogin\" Type=\"Edm.Boolean\" />"));
        assert!(doc.contains("<ComplexType Name=\"AssignedPlan\">"));
        assert!(!doc.contains("mobilePhone"));
    }
}
