//! Apps and their keys: ISV apps, each merchant's own app (created at approval), the sign type,
//! and up to two active RSA public keys per app so clients rotate keys without downtime.
use diesel::PgConnection;
use domain::{AppId, AppKeyId, AppRowId, onboarding::SignType};
use rand::Rng;
use serde_json::json;
use storage::{
    apps::{self, AppRow, KeyRow, NewKey},
    audit::{self, Actor, NewEntry},
};

use crate::{OnboardingError, applications::china_now, keys::parse_public_key};

pub const MAX_ACTIVE_KEYS: usize = 2;

/// Creates the app of an ISV, which onboards merchants and acts only for those it onboarded.
pub fn create_isv_app(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    sign_type: SignType,
) -> Result<AppRow, OnboardingError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(OnboardingError::InvalidField { field: "name", message: "1 to 128 characters".into() });
    }
    storage::database::transaction(conn, |conn| {
        let app = insert_with_fresh_id(conn, name, sign_type)?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "app.create",
                target: format!("app:{}", app.app_id),
                before: None,
                after: Some(json!({ "kind": "isv", "name": name, "sign_type": sign_type.as_str() })),
            },
        )?;
        Ok(app)
    })
}

fn insert_with_fresh_id(conn: &mut PgConnection, name: &str, sign_type: SignType) -> Result<AppRow, OnboardingError> {
    for _ in 0..8 {
        let app_id = AppId::generate(china_now().date(), rand::thread_rng().gen_range(0..100_000_000));
        let inserted = storage::database::transaction(conn, |conn| {
            apps::insert(
                conn,
                apps::NewApp {
                    app_id: app_id.as_ref(),
                    kind: domain::onboarding::AppKind::Isv,
                    merchant_id: None,
                    name,
                    sign_type,
                },
            )
        });
        match inserted {
            Err(error) if error.is_unique_violation() => continue,
            other => return Ok(other?),
        }
    }
    Err(OnboardingError::IdExhausted)
}

pub fn find_app(conn: &mut PgConnection, app_id: &str) -> Result<AppRow, OnboardingError> {
    apps::find_by_app_id(conn, app_id)?.ok_or(OnboardingError::AppNotFound)
}

/// Registers a public key. Refused with a reason when it is not an RSA public key of at least
/// 2048 bits, when it is already registered, or when two keys are already active.
pub fn add_key(
    conn: &mut PgConnection,
    actor: &Actor,
    app_id: AppRowId,
    key_text: &str,
) -> Result<KeyRow, OnboardingError> {
    let parsed = parse_public_key(key_text)?;
    storage::database::transaction(conn, |conn| {
        // The app row lock serialises concurrent uploads, so the two-key limit holds.
        let app = apps::find_for_update(conn, app_id)?.ok_or(OnboardingError::AppNotFound)?;
        if apps::active_keys(conn, app.id)?.len() >= MAX_ACTIVE_KEYS {
            return Err(OnboardingError::TooManyActiveKeys);
        }
        let bits = i32::try_from(parsed.bits).unwrap_or(i32::MAX);
        let key = apps::insert_key(
            conn,
            NewKey {
                app_id: app.id,
                public_key_pem: &parsed.pem,
                fingerprint: &parsed.fingerprint,
                bits,
                created_by: &actor.name,
            },
        )
        .map_err(|error| if error.is_unique_violation() { OnboardingError::DuplicateKey } else { error.into() })?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "app.key.add",
                target: format!("app:{}", app.app_id),
                before: None,
                after: Some(json!({ "fingerprint": parsed.fingerprint, "bits": parsed.bits })),
            },
        )?;
        Ok(key)
    })
}

pub fn revoke_key(
    conn: &mut PgConnection,
    actor: &Actor,
    app_id: AppRowId,
    key_id: AppKeyId,
) -> Result<(), OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let app = apps::find_for_update(conn, app_id)?.ok_or(OnboardingError::AppNotFound)?;
        let key =
            apps::keys(conn, app.id)?.into_iter().find(|key| key.id == key_id).ok_or(OnboardingError::AppNotFound)?;
        if !apps::revoke_key(conn, app.id, key_id)? {
            return Err(OnboardingError::InvalidField { field: "key", message: "the key is already revoked".into() });
        }
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "app.key.revoke",
                target: format!("app:{}", app.app_id),
                before: Some(json!({ "fingerprint": key.fingerprint, "active": true })),
                after: Some(json!({ "active": false })),
            },
        )?;
        Ok(())
    })
}

pub fn set_sign_type(
    conn: &mut PgConnection,
    actor: &Actor,
    app_id: AppRowId,
    sign_type: SignType,
) -> Result<AppRow, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let app = apps::find_for_update(conn, app_id)?.ok_or(OnboardingError::AppNotFound)?;
        apps::set_sign_type(conn, app.id, sign_type)?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "app.sign_type",
                target: format!("app:{}", app.app_id),
                before: Some(json!({ "sign_type": app.sign_type })),
                after: Some(json!({ "sign_type": sign_type.as_str() })),
            },
        )?;
        apps::find(conn, app.id)?.ok_or(OnboardingError::AppNotFound)
    })
}
