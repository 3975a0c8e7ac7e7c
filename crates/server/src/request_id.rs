//! Every response carries a fresh `request-id` and a `client-request-id`: the client's own
//! when it sent one, else the request id (as Graph answers). Both are also put on the request,
//! so front-ends can write them into error bodies (Graph's `innerError`, OAuth's
//! `trace_id`/`correlation_id`) and the audit log (`correlationId`).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub async fn request_ids(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let id_value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("0"));
    req.headers_mut().insert("request-id", id_value.clone());
    // Keep only a sane client-request-id (bounded, visible ASCII).
    let client = req
        .headers()
        .get("client-request-id")
        .filter(|v| v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
        .cloned()
        .unwrap_or_else(|| id_value.clone());
    req.headers_mut().insert("client-request-id", client.clone());
    let trace = tracing::enabled!(target: "cerulean::http", tracing::Level::DEBUG)
        .then(|| (std::time::Instant::now(), req.method().clone(), req.uri().path().to_string()));
    let mut res = next.run(req).await;
    if let Some((started, method, path)) = trace {
        tracing::debug!(
            target: "cerulean::http",
            request_id = %id,
            method = %method,
            path = %path,
            status = res.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    }
    res.headers_mut().insert("request-id", id_value);
    res.headers_mut().insert("client-request-id", client);
    res
}
