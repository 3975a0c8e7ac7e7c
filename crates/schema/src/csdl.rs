//! `$metadata`: the CSDL document for what is declared.

use crate::types::{ComplexType, EntityType, EnumType, Flags, Property};
use std::fmt::Write as _;

/// Renders the OData v4 CSDL (`application/xml`) for every declared type: entity types (with
/// their key, base type, open/abstract markers, properties and navigation properties), complex
/// types, enum types and the `GraphService` entity container with one entity set per type that
/// has one.
pub fn csdl_document() -> String {
    let mut out = String::with_capacity(32 * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n");
    out.push_str("  <edmx:DataServices>\n");
    out.push_str(
        "    <Schema Namespace=\"microsoft.graph\" Alias=\"graph\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n",
    );
    for e in crate::entities::ENUMS {
        enum_type(&mut out, e);
    }
    for e in crate::entities::ALL {
        entity_type(&mut out, e);
    }
    for c in crate::entities::COMPLEX {
        complex_type(&mut out, c);
    }
    out.push_str("      <EntityContainer Name=\"GraphService\">\n");
    for e in crate::entities::ALL {
        if let Some(set) = e.entity_set {
            let _ = writeln!(
                out,
                "        <EntitySet Name=\"{}\" EntityType=\"microsoft.graph.{}\" />",
                esc(set),
                esc(e.name)
            );
        }
    }
    out.push_str("      </EntityContainer>\n");
    out.push_str("    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n");
    out
}

fn entity_type(out: &mut String, e: &EntityType) {
    let _ = write!(out, "      <EntityType Name=\"{}\"", esc(e.name));
    if let Some(b) = e.base {
        let _ = write!(out, " BaseType=\"graph.{}\"", esc(b));
    }
    if e.is_abstract {
        out.push_str(" Abstract=\"true\"");
    }
    if e.open {
        out.push_str(" OpenType=\"true\"");
    }
    out.push_str(">\n");
    // The key is on the type that declares `id` first in its chain (`namedLocation` declares
    // its own below the key-less `policyDeletableItem`).
    let inherits_id = e.base.and_then(crate::entity).is_some_and(|b| b.property("id").is_some());
    if !inherits_id && e.properties.iter().any(|p| p.name == "id") {
        out.push_str("        <Key>\n          <PropertyRef Name=\"id\" />\n        </Key>\n");
    }
    for p in e.properties {
        property(out, p);
    }
    for n in e.navigation {
        let target = format!("graph.{}", n.target);
        let ty = if n.collection { format!("Collection({target})") } else { target };
        let _ = write!(out, "        <NavigationProperty Name=\"{}\" Type=\"{}\"", esc(n.name), esc(&ty));
        if n.contains_target {
            out.push_str(" ContainsTarget=\"true\"");
        }
        out.push_str(" />\n");
    }
    out.push_str("      </EntityType>\n");
}

fn complex_type(out: &mut String, c: &ComplexType) {
    let _ = write!(out, "      <ComplexType Name=\"{}\"", esc(c.name));
    if let Some(b) = c.base {
        let _ = write!(out, " BaseType=\"graph.{}\"", esc(b));
    }
    if c.is_abstract {
        out.push_str(" Abstract=\"true\"");
    }
    if c.open {
        out.push_str(" OpenType=\"true\"");
    }
    if c.properties.is_empty() {
        out.push_str(" />\n");
        return;
    }
    out.push_str(">\n");
    for p in c.properties {
        property(out, p);
    }
    out.push_str("      </ComplexType>\n");
}

fn enum_type(out: &mut String, e: &EnumType) {
    let _ = writeln!(out, "      <EnumType Name=\"{}\">", esc(e.name));
    for (i, m) in e.members.iter().enumerate() {
        let value = e.values.get(i).copied().unwrap_or(i as i64);
        let _ = writeln!(out, "        <Member Name=\"{}\" Value=\"{value}\" />", esc(m));
    }
    out.push_str("      </EnumType>\n");
}

fn property(out: &mut String, p: &Property) {
    let ty = p.ty.csdl_name();
    let ty = if p.collection { format!("Collection({ty})") } else { ty };
    let _ = write!(out, "        <Property Name=\"{}\" Type=\"{}\"", esc(p.name), esc(&ty));
    if !p.is(Flags::NULLABLE) {
        out.push_str(" Nullable=\"false\"");
    }
    out.push_str(" />\n");
}

/// XML-escapes text for use in an attribute value or element content.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of the element opened by `open` up to its end tag (or the self-closing `/>`).
    fn element<'a>(doc: &'a str, open: &str, end: &str) -> &'a str {
        let start = doc.find(open).unwrap_or_else(|| panic!("missing {open}"));
        let rest = &doc[start..];
        let head_end = rest.find('>').unwrap();
        if rest[..head_end].ends_with('/') {
            return &rest[..=head_end];
        }
        let stop = rest.find(end).unwrap_or_else(|| panic!("unterminated {open}"));
        &rest[..stop + end.len()]
    }

    #[test]
    fn renders_edmx_skeleton() {
        let doc = csdl_document();
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<edmx:Edmx Version=\"4.0\""));
        assert!(doc.contains("<Schema Namespace=\"microsoft.graph\" Alias=\"graph\""));
        assert!(doc.trim_end().ends_with("</edmx:Edmx>"));
        // Balanced element counts.
        for (open, close) in [
            ("<EntityType ", "</EntityType>"),
            ("<EnumType ", "</EnumType>"),
            ("<Schema ", "</Schema>"),
            ("<EntityContainer ", "</EntityContainer>"),
        ] {
            assert_eq!(doc.matches(open).count(), doc.matches(close).count(), "{open}");
        }
        let complex_open = doc.matches("<ComplexType ").count();
        let complex_closed = doc.matches("</ComplexType>").count();
        let complex_empty =
            doc.split("<ComplexType ").skip(1).filter(|s| s[..s.find('>').unwrap()].ends_with('/')).count();
        assert_eq!(complex_open, complex_closed + complex_empty);
    }

    #[test]
    fn directory_object_has_key_and_is_open() {
        let doc = csdl_document();
        let d = element(&doc, "<EntityType Name=\"directoryObject\"", "</EntityType>");
        assert!(d.contains("OpenType=\"true\""));
        assert!(d.contains("<Key>\n          <PropertyRef Name=\"id\" />\n        </Key>"));
        assert!(d.contains("<Property Name=\"id\" Type=\"Edm.String\" Nullable=\"false\" />"));
        assert!(d.contains("<Property Name=\"deletedDateTime\" Type=\"Edm.DateTimeOffset\" />"));
    }

    #[test]
    fn user_and_group_shapes() {
        let doc = csdl_document();
        let u = element(&doc, "<EntityType Name=\"user\"", "</EntityType>");
        assert!(u.contains("BaseType=\"graph.directoryObject\""));
        assert!(!u.contains("<Key>"));
        assert!(u.contains("<Property Name=\"businessPhones\" Type=\"Collection(Edm.String)\" Nullable=\"false\" />"));
        assert!(u.contains("<Property Name=\"passwordProfile\" Type=\"microsoft.graph.passwordProfile\" />"));
        assert!(u.contains("<NavigationProperty Name=\"memberOf\" Type=\"Collection(graph.directoryObject)\" />"));
        assert!(u.contains("<NavigationProperty Name=\"manager\" Type=\"graph.directoryObject\" />"));
        let g = element(&doc, "<EntityType Name=\"group\"", "</EntityType>");
        assert!(g.contains("<Property Name=\"accessType\" Type=\"microsoft.graph.groupAccessType\" />"));
        assert!(g.contains("<NavigationProperty Name=\"members\""));
        for e in crate::entities::ALL {
            let el = element(&doc, &format!("<EntityType Name=\"{}\"", e.name), "</EntityType>");
            assert_eq!(el.matches("<Property ").count(), e.properties.len(), "{}", e.name);
            assert_eq!(el.matches("<NavigationProperty ").count(), e.navigation.len());
        }
    }

    #[test]
    fn complex_and_enum_types() {
        let doc = csdl_document();
        let c = element(&doc, "<ComplexType Name=\"customSecurityAttributeValue\"", "/>");
        assert!(c.contains("OpenType=\"true\""));
        let s = element(&doc, "<ComplexType Name=\"serviceProvisioningError\"", "</ComplexType>");
        assert!(s.contains("Abstract=\"true\""));
        let w = element(&doc, "<ComplexType Name=\"workingHours\"", "</ComplexType>");
        assert!(w.contains("<Property Name=\"daysOfWeek\" Type=\"Collection(microsoft.graph.dayOfWeek)\" />"));
        let e = element(&doc, "<EnumType Name=\"userPurpose\"", "</EnumType>");
        assert!(e.contains("<Member Name=\"user\" Value=\"1\" />"));
        assert!(e.contains("<Member Name=\"unknownFutureValue\" Value=\"7\" />"));
    }

    #[test]
    fn derived_types_name_their_base() {
        let doc = csdl_document();
        // `namedLocation` holds the key below the key-less abstract `policyDeletableItem`.
        let root = element(&doc, "<EntityType Name=\"policyDeletableItem\"", "</EntityType>");
        assert!(root.contains("Abstract=\"true\"") && !root.contains("<Key>"), "{root}");
        let n = element(&doc, "<EntityType Name=\"namedLocation\"", "</EntityType>");
        assert!(n.contains("BaseType=\"graph.policyDeletableItem\"") && n.contains("<PropertyRef Name=\"id\" />"));
        let ip = element(&doc, "<EntityType Name=\"ipNamedLocation\"", "</EntityType>");
        assert!(ip.contains("BaseType=\"graph.namedLocation\"") && !ip.contains("<Key>"), "{ip}");
        let v4 = element(&doc, "<ComplexType Name=\"iPv4CidrRange\"", "</ComplexType>");
        assert!(v4.contains("BaseType=\"graph.ipRange\""), "{v4}");
        let sif = element(&doc, "<ComplexType Name=\"signInFrequencySessionControl\"", "</ComplexType>");
        assert!(sif.contains("BaseType=\"graph.conditionalAccessSessionControl\""), "{sif}");
        // A derived complex type finds its base's properties.
        let sif = crate::complex("signInFrequencySessionControl").expect("declared");
        assert!(sif.property("isEnabled").is_some() && sif.property("value").is_some());
    }

    #[test]
    fn entity_container() {
        let doc = csdl_document();
        let c = element(&doc, "<EntityContainer Name=\"GraphService\"", "</EntityContainer>");
        for (set, ty) in [("users", "user"), ("groups", "group"), ("directoryObjects", "directoryObject")] {
            assert!(c.contains(&format!("<EntitySet Name=\"{set}\" EntityType=\"microsoft.graph.{ty}\" />")), "{set}");
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(esc("plain"), "plain");
    }
}
