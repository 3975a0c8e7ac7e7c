//! The JSON writer of every 1.6 answer: OData 3 JSON light puts annotations in a fixed place,
//! and ODataLib-based readers (the WCF Data Services client, the .NET Graph client library of
//! 2014) read a payload as a stream, so they expect `odata.metadata` first in a payload and
//! `odata.type` first in each entity, before its properties. `serde_json`'s map is sorted by key
//! (the workspace does not enable `preserve_order`, and turning it on would change every other
//! front-end's output), so this writer orders keys itself, at every level:
//!
//! 1. `odata.metadata`, then `odata.type`, then other instance annotations (`odata.*`, `aad.*`,
//!    e.g. `aad.isDeleted`);
//! 2. the identity of a directory object as the reference's examples show it: `objectType`,
//!    `objectId`, `deletionTimestamp`;
//! 3. the other properties, by name (the reference lists them alphabetically);
//! 4. the paging links that close a feed: `odata.nextLink`, `aad.nextLink`, `aad.deltaLink`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::wire;

/// Feed annotations written after the entries, as AAD Graph writes them.
const TRAILING: &[&str] = &["odata.nextLink", "aad.nextLink", "aad.deltaLink"];

fn rank(key: &str) -> u8 {
    match key {
        "odata.metadata" => 0,
        "odata.type" => 1,
        k if TRAILING.contains(&k) => 7,
        k if k.starts_with("odata.") || k.starts_with("aad.") => 2,
        "objectType" => 3,
        "objectId" => 4,
        "deletionTimestamp" => 5,
        _ => 6,
    }
}

/// `value` as JSON text, keys in the order described in the module documentation.
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value);
    out
}

fn write(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => write_object(out, map),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item);
            }
            out.push(']');
        }
        // Scalars (strings escaped) as serde_json writes them.
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    // Stable: within a rank the map's own (alphabetical) order stays.
    entries.sort_by_key(|(k, _)| rank(k));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(k.clone()).to_string());
        out.push(':');
        write(out, v);
    }
    out.push('}');
}

/// A JSON answer with AAD Graph's content type and ordered keys.
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut res = (status, to_string(&body)).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(wire::CONTENT_TYPE));
    res
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn annotations_and_identity_lead_links_close() {
        let body = json!({
            "value": [{"accountEnabled": true, "objectId": "1", "odata.type": "T", "deletionTimestamp": null,
                       "objectType": "User", "aad.isDeleted": true, "a\"b": "x\ny"}],
            "odata.nextLink": "n",
            "odata.metadata": "m",
        });
        assert_eq!(
            super::to_string(&body),
            r#"{"odata.metadata":"m","value":[{"odata.type":"T","aad.isDeleted":true,"objectType":"User","objectId":"1","deletionTimestamp":null,"a\"b":"x\ny","accountEnabled":true}],"odata.nextLink":"n"}"#
        );
        // Same value as serde_json reads it back.
        let back: serde_json::Value = serde_json::from_str(&super::to_string(&body)).expect("valid JSON");
        assert_eq!(back, body);
    }
}
