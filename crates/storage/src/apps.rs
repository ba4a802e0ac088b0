//! Apps (who may call the gateway) and their public keys.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::onboarding::{AppKind, SignType};
use domain::{AppKeyId, AppRowId, MerchantId};

use crate::{
    StorageError,
    schema::{app_keys, apps},
};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = apps)]
pub struct AppRow {
    pub id: AppRowId,
    pub app_id: String,
    pub kind: AppKind,
    pub merchant_id: Option<MerchantId>,
    pub name: String,
    pub sign_type: SignType,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub struct NewApp<'a> {
    pub app_id: &'a str,
    pub kind: AppKind,
    pub merchant_id: Option<MerchantId>,
    pub name: &'a str,
    pub sign_type: SignType,
}

pub fn insert(conn: &mut PgConnection, app: NewApp<'_>) -> Result<AppRow, StorageError> {
    Ok(diesel::insert_into(apps::table)
        .values((
            apps::app_id.eq(app.app_id),
            apps::kind.eq(app.kind),
            apps::merchant_id.eq(app.merchant_id),
            apps::name.eq(app.name),
            apps::sign_type.eq(app.sign_type),
        ))
        .returning(AppRow::as_returning())
        .get_result(conn)?)
}

pub fn find(conn: &mut PgConnection, id: AppRowId) -> Result<Option<AppRow>, StorageError> {
    Ok(apps::table.find(id).select(AppRow::as_select()).first(conn).optional()?)
}

pub fn find_for_update(conn: &mut PgConnection, id: AppRowId) -> Result<Option<AppRow>, StorageError> {
    Ok(apps::table.find(id).select(AppRow::as_select()).for_update().first(conn).optional()?)
}

pub fn find_by_app_id(conn: &mut PgConnection, app_id: &str) -> Result<Option<AppRow>, StorageError> {
    Ok(apps::table.filter(apps::app_id.eq(app_id)).select(AppRow::as_select()).first(conn).optional()?)
}

pub fn find_by_merchant(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Option<AppRow>, StorageError> {
    Ok(apps::table.filter(apps::merchant_id.eq(merchant_id)).select(AppRow::as_select()).first(conn).optional()?)
}

pub fn list(conn: &mut PgConnection, kind: Option<AppKind>) -> Result<Vec<AppRow>, StorageError> {
    let mut query = apps::table.select(AppRow::as_select()).into_boxed();
    if let Some(kind) = kind {
        query = query.filter(apps::kind.eq(kind));
    }
    Ok(query.order(apps::id.asc()).load(conn)?)
}

pub fn set_sign_type(conn: &mut PgConnection, id: AppRowId, sign_type: SignType) -> Result<bool, StorageError> {
    Ok(diesel::update(apps::table.find(id)).set(apps::sign_type.eq(sign_type)).execute(conn)? == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = app_keys)]
pub struct KeyRow {
    pub id: AppKeyId,
    pub app_id: AppRowId,
    pub public_key_pem: String,
    pub fingerprint: String,
    pub bits: i32,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewKey<'a> {
    pub app_id: AppRowId,
    pub public_key_pem: &'a str,
    pub fingerprint: &'a str,
    pub bits: i32,
    pub created_by: &'a str,
}

pub fn insert_key(conn: &mut PgConnection, key: NewKey<'_>) -> Result<KeyRow, StorageError> {
    Ok(diesel::insert_into(app_keys::table)
        .values((
            app_keys::app_id.eq(key.app_id),
            app_keys::public_key_pem.eq(key.public_key_pem),
            app_keys::fingerprint.eq(key.fingerprint),
            app_keys::bits.eq(key.bits),
            app_keys::created_by.eq(key.created_by),
        ))
        .returning(KeyRow::as_returning())
        .get_result(conn)?)
}

/// Every key of the app, active ones first, newest first.
pub fn keys(conn: &mut PgConnection, app_id: AppRowId) -> Result<Vec<KeyRow>, StorageError> {
    Ok(app_keys::table
        .filter(app_keys::app_id.eq(app_id))
        .order((app_keys::revoked_at.is_not_null(), app_keys::id.desc()))
        .select(KeyRow::as_select())
        .load(conn)?)
}

pub fn active_keys(conn: &mut PgConnection, app_id: AppRowId) -> Result<Vec<KeyRow>, StorageError> {
    Ok(app_keys::table
        .filter(app_keys::app_id.eq(app_id))
        .filter(app_keys::revoked_at.is_null())
        .order(app_keys::id.desc())
        .select(KeyRow::as_select())
        .load(conn)?)
}

/// Revokes one active key of the app (guarded); false if it was not active.
pub fn revoke_key(conn: &mut PgConnection, app_id: AppRowId, key_id: AppKeyId) -> Result<bool, StorageError> {
    Ok(diesel::update(
        app_keys::table.find(key_id).filter(app_keys::app_id.eq(app_id)).filter(app_keys::revoked_at.is_null()),
    )
    .set(app_keys::revoked_at.eq(crate::database::db_now()))
    .execute(conn)?
        == 1)
}
