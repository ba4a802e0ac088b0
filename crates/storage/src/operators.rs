//! Console operators: who may sign in, and with which role.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::OperatorId;

use crate::{StorageError, schema::operators};

pub use domain::console::Role;

/// A console sign-in name: 2–32 characters of lower-case letters, digits, `_`, `.`, `-`, starting
/// with a letter or digit (the same rule as the database constraint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Username, UsernameError> {
        let text = text.trim().to_ascii_lowercase();
        let mut chars = text.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        match text.len() {
            0..=1 => Err(UsernameError::TooShort),
            33.. => Err(UsernameError::TooLong),
            _ if !(first_ok && rest_ok) => Err(UsernameError::InvalidCharacter),
            _ => Ok(Username(text)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username must be at least 2 characters")]
    TooShort,
    #[error("username must be at most 32 characters")]
    TooLong,
    #[error("username may contain only a-z, 0-9, '_', '.', '-' and must start with a letter or digit")]
    InvalidCharacter,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = operators)]
pub struct Operator {
    pub id: OperatorId,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub disabled_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub session_epoch: i32,
    pub created_at: DateTime<Utc>,
}

impl Operator {
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
}

pub fn insert(
    conn: &mut PgConnection,
    username: &Username,
    password_hash: &str,
    role: Role,
) -> Result<Operator, StorageError> {
    Ok(diesel::insert_into(operators::table)
        .values((
            operators::username.eq(username.as_str()),
            operators::password_hash.eq(password_hash),
            operators::role.eq(role),
        ))
        .returning(Operator::as_returning())
        .get_result(conn)?)
}

pub fn find_by_username(conn: &mut PgConnection, username: &str) -> Result<Option<Operator>, StorageError> {
    Ok(operators::table
        .filter(operators::username.eq(username))
        .select(Operator::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut PgConnection, id: OperatorId) -> Result<Option<Operator>, StorageError> {
    Ok(operators::table.find(id).select(Operator::as_select()).first(conn).optional()?)
}

/// Locks the row for the rest of the transaction, so a guarded change reads what it updates.
pub fn find_for_update(conn: &mut PgConnection, id: OperatorId) -> Result<Option<Operator>, StorageError> {
    Ok(operators::table.find(id).select(Operator::as_select()).for_update().first(conn).optional()?)
}

pub fn list(conn: &mut PgConnection) -> Result<Vec<Operator>, StorageError> {
    Ok(operators::table.order(operators::username.asc()).select(Operator::as_select()).load(conn)?)
}

pub fn count_active_admins(conn: &mut PgConnection) -> Result<i64, StorageError> {
    Ok(operators::table
        .filter(operators::role.eq(Role::Admin))
        .filter(operators::disabled_at.is_null())
        .count()
        .get_result(conn)?)
}

pub fn set_role(conn: &mut PgConnection, id: OperatorId, role: Role) -> Result<bool, StorageError> {
    let updated = diesel::update(operators::table.find(id)).set(operators::role.eq(role)).execute(conn)?;
    Ok(updated == 1)
}

/// Disables or re-enables; returns false if the operator was already in that state (guarded update).
pub fn set_disabled(conn: &mut PgConnection, id: OperatorId, disabled: bool) -> Result<bool, StorageError> {
    let target = operators::table.find(id);
    let updated = if disabled {
        diesel::update(target.filter(operators::disabled_at.is_null()))
            .set(operators::disabled_at.eq(crate::database::db_now()))
            .execute(conn)?
    } else {
        diesel::update(target.filter(operators::disabled_at.is_not_null()))
            .set(operators::disabled_at.eq(None::<DateTime<Utc>>))
            .execute(conn)?
    };
    Ok(updated == 1)
}

/// Ends every session of the operator (sign-out everywhere).
pub fn bump_session_epoch(conn: &mut PgConnection, id: OperatorId) -> Result<bool, StorageError> {
    let updated = diesel::update(operators::table.find(id))
        .set(operators::session_epoch.eq(operators::session_epoch + 1))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Sets a new password and ends the operator's existing sessions.
pub fn set_password_hash(conn: &mut PgConnection, id: OperatorId, password_hash: &str) -> Result<bool, StorageError> {
    let updated = diesel::update(operators::table.find(id))
        .set((operators::password_hash.eq(password_hash), operators::session_epoch.eq(operators::session_epoch + 1)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Serialises role and status changes for the rest of the transaction, so two admins cannot
/// demote each other at once and leave none. Sign-ins only read and are not blocked.
pub fn lock_for_role_change(conn: &mut PgConnection) -> Result<(), StorageError> {
    diesel::sql_query("LOCK TABLE operators IN SHARE ROW EXCLUSIVE MODE").execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_validated_and_lower_cased() {
        assert_eq!(Username::parse(" Admin ").unwrap().as_str(), "admin");
        assert_eq!(Username::parse("a"), Err(UsernameError::TooShort));
        assert_eq!(Username::parse(&"a".repeat(33)), Err(UsernameError::TooLong));
        assert_eq!(Username::parse("_ops"), Err(UsernameError::InvalidCharacter));
        assert_eq!(Username::parse("ops team"), Err(UsernameError::InvalidCharacter));
        assert_eq!(Username::parse("运营"), Err(UsernameError::InvalidCharacter));
        assert!(Username::parse("ops.finance-2").is_ok());
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
