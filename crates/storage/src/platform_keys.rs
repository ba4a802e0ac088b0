//! The platform's signing key pair (private half encrypted by the caller before it gets here).
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{StorageError, schema::platform_keys};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = platform_keys)]
pub struct PlatformKeyRow {
    pub id: i64,
    pub public_key_pem: String,
    pub encrypted_private_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub fingerprint: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

pub fn active(conn: &mut PgConnection) -> Result<Option<PlatformKeyRow>, StorageError> {
    Ok(platform_keys::table
        .filter(platform_keys::active.eq(true))
        .select(PlatformKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts the active key unless another node did first; returns whichever is active.
pub fn insert_active_if_absent(
    conn: &mut PgConnection,
    public_key_pem: &str,
    encrypted_private_key: &[u8],
    nonce: &[u8],
    fingerprint: &str,
) -> Result<PlatformKeyRow, StorageError> {
    diesel::insert_into(platform_keys::table)
        .values((
            platform_keys::public_key_pem.eq(public_key_pem),
            platform_keys::encrypted_private_key.eq(encrypted_private_key),
            platform_keys::nonce.eq(nonce),
            platform_keys::fingerprint.eq(fingerprint),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    active(conn)?.ok_or(StorageError::Query(diesel::result::Error::NotFound))
}
