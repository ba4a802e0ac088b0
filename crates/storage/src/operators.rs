//! Console operators: who may sign in, and with which role.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::{StorageError, schema::operators};

/// What an operator may do. Stored as fixed strings; converted only here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Finance,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Finance, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Finance => "finance",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = operators)]
struct OperatorRow {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    disabled_at: Option<DateTime<Utc>>,
    session_epoch: i32,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Operator {
    pub id: i64,
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

impl TryFrom<OperatorRow> for Operator {
    type Error = StorageError;
    fn try_from(row: OperatorRow) -> Result<Self, Self::Error> {
        let role = Role::parse(&row.role).ok_or_else(|| {
            StorageError::Query(diesel::result::Error::DeserializationError(
                format!("unknown role {:?}", row.role).into(),
            ))
        })?;
        Ok(Operator {
            id: row.id,
            username: row.username,
            password_hash: row.password_hash,
            role,
            disabled_at: row.disabled_at,
            session_epoch: row.session_epoch,
            created_at: row.created_at,
        })
    }
}

pub fn insert(
    conn: &mut PgConnection,
    username: &Username,
    password_hash: &str,
    role: Role,
) -> Result<Operator, StorageError> {
    let row: OperatorRow = diesel::insert_into(operators::table)
        .values((
            operators::username.eq(username.as_str()),
            operators::password_hash.eq(password_hash),
            operators::role.eq(role.as_str()),
        ))
        .returning(OperatorRow::as_returning())
        .get_result(conn)?;
    row.try_into()
}

pub fn find_by_username(conn: &mut PgConnection, username: &str) -> Result<Option<Operator>, StorageError> {
    operators::table
        .filter(operators::username.eq(username))
        .select(OperatorRow::as_select())
        .first(conn)
        .optional()?
        .map(Operator::try_from)
        .transpose()
}

pub fn find(conn: &mut PgConnection, id: i64) -> Result<Option<Operator>, StorageError> {
    operators::table
        .find(id)
        .select(OperatorRow::as_select())
        .first(conn)
        .optional()?
        .map(Operator::try_from)
        .transpose()
}

/// Locks the row for the rest of the transaction, so a guarded change reads what it updates.
pub fn find_for_update(conn: &mut PgConnection, id: i64) -> Result<Option<Operator>, StorageError> {
    operators::table
        .find(id)
        .select(OperatorRow::as_select())
        .for_update()
        .first(conn)
        .optional()?
        .map(Operator::try_from)
        .transpose()
}

pub fn list(conn: &mut PgConnection) -> Result<Vec<Operator>, StorageError> {
    operators::table
        .order(operators::username.asc())
        .select(OperatorRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Operator::try_from)
        .collect()
}

pub fn count_active_admins(conn: &mut PgConnection) -> Result<i64, StorageError> {
    Ok(operators::table
        .filter(operators::role.eq(Role::Admin.as_str()))
        .filter(operators::disabled_at.is_null())
        .count()
        .get_result(conn)?)
}

pub fn set_role(conn: &mut PgConnection, id: i64, role: Role) -> Result<bool, StorageError> {
    let updated = diesel::update(operators::table.find(id)).set(operators::role.eq(role.as_str())).execute(conn)?;
    Ok(updated == 1)
}

/// Disables or re-enables; returns false if the operator was already in that state (guarded update).
pub fn set_disabled(conn: &mut PgConnection, id: i64, disabled: bool) -> Result<bool, StorageError> {
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
pub fn bump_session_epoch(conn: &mut PgConnection, id: i64) -> Result<bool, StorageError> {
    let updated = diesel::update(operators::table.find(id))
        .set(operators::session_epoch.eq(operators::session_epoch + 1))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Sets a new password and ends the operator's existing sessions.
pub fn set_password_hash(conn: &mut PgConnection, id: i64, password_hash: &str) -> Result<bool, StorageError> {
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
