//! `GET /$metadata`: the CSDL of what the schema declares. Served without authentication, as
//! Graph does.

use axum::http::header;
use axum::response::IntoResponse;

pub(crate) async fn metadata() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/xml;charset=utf-8")], cerulean_schema::csdl_document())
}
