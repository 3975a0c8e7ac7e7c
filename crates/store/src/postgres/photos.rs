//! Profile photos on PostgreSQL (see [`crate::PhotoRecord`]); the upload inserts only while
//! the owning object is live, as on SQLite.

use uuid::Uuid;

use super::read::col;
use super::{Attempt, Client, WithContext};
use crate::{PhotoRecord, StoreError};

pub(crate) async fn put(c: &Client, tenant: Uuid, p: &PhotoRecord) -> Attempt<()> {
    let st = c
        .prepare_cached(
            "INSERT INTO photos (tenant_id, object_id, content_type, width, height, etag, updated_at, bytes) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS \
             (SELECT 1 FROM objects WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL) \
             ON CONFLICT (tenant_id, object_id) DO UPDATE SET content_type = excluded.content_type, \
             width = excluded.width, height = excluded.height, etag = excluded.etag, \
             updated_at = excluded.updated_at, bytes = excluded.bytes",
        )
        .await
        .ctx("prepare put photo")?;
    let n = c
        .execute(&st, &[&tenant, &p.object_id, &p.content_type, &p.width, &p.height, &p.etag, &p.updated_at, &p.bytes])
        .await
        .ctx("put photo")?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("object {}", p.object_id)).into());
    }
    Ok(())
}

pub(crate) async fn get(c: &Client, tenant: Uuid, object: Uuid) -> Attempt<Option<PhotoRecord>> {
    let st = c
        .prepare_cached(
            "SELECT content_type, width, height, etag, updated_at, bytes FROM photos \
             WHERE tenant_id = $1 AND object_id = $2",
        )
        .await
        .ctx("prepare photo")?;
    let Some(r) = c.query_opt(&st, &[&tenant, &object]).await.ctx("read photo")? else {
        return Ok(None);
    };
    Ok(Some(PhotoRecord {
        object_id: object,
        content_type: col(&r, 0, "photo content type")?,
        width: col(&r, 1, "photo width")?,
        height: col(&r, 2, "photo height")?,
        etag: col(&r, 3, "photo etag")?,
        updated_at: col(&r, 4, "photo updated_at")?,
        bytes: col(&r, 5, "photo bytes")?,
    }))
}

pub(crate) async fn delete(c: &Client, tenant: Uuid, object: Uuid) -> Attempt<bool> {
    let st = c
        .prepare_cached("DELETE FROM photos WHERE tenant_id = $1 AND object_id = $2")
        .await
        .ctx("prepare delete photo")?;
    Ok(c.execute(&st, &[&tenant, &object]).await.ctx("delete photo")? > 0)
}
