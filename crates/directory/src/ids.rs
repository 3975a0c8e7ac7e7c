//! Object references as clients send them: `@odata.id` and `@odata.bind` URLs.

use uuid::Uuid;

/// Extracts the object id from a reference URL such as
/// `https://graph.microsoft.com/v1.0/directoryObjects/{id}`, `.../users/{id}`,
/// `directoryObjects('{id}')` or a bare id. Returns `None` when no GUID can be found in the
/// final segment.
pub fn parse_reference(reference: &str) -> Option<Uuid> {
    let trimmed = reference.trim().trim_end_matches('/');
    if trimmed.len() > 2048 {
        return None;
    }
    let last = trimmed.rsplit('/').next()?;
    let candidate = match (last.find("('"), last.ends_with("')")) {
        (Some(i), true) => &last[i + 2..last.len() - 2],
        _ => match (last.find('('), last.ends_with(')')) {
            (Some(i), true) => &last[i + 1..last.len() - 1],
            _ => last,
        },
    };
    Uuid::parse_str(candidate).ok()
}

/// The security identifier Entra derives from an object id: `S-1-12-1-` followed by the GUID's
/// 16 bytes read as four little-endian 32-bit integers.
pub fn security_identifier(id: Uuid) -> String {
    let b = id.to_bytes_le();
    let part = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    format!("S-1-12-1-{}-{}-{}-{}", part(0), part(4), part(8), part(12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_forms() {
        let id = "2a0c4f5e-6b7d-4e8f-9a0b-1c2d3e4f5a6b";
        for r in [
            format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}"),
            format!("https://127.0.0.1:8443/v1.0/users/{id}/"),
            format!("directoryObjects('{id}')"),
            id.to_string(),
        ] {
            assert_eq!(parse_reference(&r).map(|u| u.to_string()), Some(id.to_string()), "{r}");
        }
        assert_eq!(parse_reference("https://x/v1.0/users/not-a-guid"), None);
    }

    #[test]
    fn sid_matches_entra_layout() {
        let id = Uuid::parse_str("00000001-0000-0000-0000-000000000000").expect("uuid");
        assert!(security_identifier(id).starts_with("S-1-12-1-"));
    }
}
