//! `$metadata`: the CSDL document for what is declared.

/// Renders the OData v4 CSDL (`application/xml`) for every declared type.
pub fn csdl_document() -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">\n<edmx:DataServices>\n<Schema Namespace=\"microsoft.graph\" Alias=\"graph\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">\n",
    );
    for e in crate::entities::ALL {
        out.push_str(&format!("<EntityType Name=\"{}\"", e.name));
        if let Some(b) = e.base {
            out.push_str(&format!(" BaseType=\"graph.{b}\""));
        }
        out.push_str(">\n");
        for p in e.properties {
            let ty = p.ty.csdl_name();
            let ty = if p.collection { format!("Collection({ty})") } else { ty };
            out.push_str(&format!("<Property Name=\"{}\" Type=\"{}\" />\n", p.name, ty));
        }
        out.push_str("</EntityType>\n");
    }
    out.push_str("</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n");
    out
}
