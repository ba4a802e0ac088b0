//! Managing operators: create, change role, disable, enable. Shared by the console and the CLI;
//! each change and its audit row commit together, and no change may leave the platform without an
//! active admin.
use diesel::PgConnection;
use domain::OperatorId;
use serde_json::json;
use storage::{
    StorageError,
    audit::{self, Actor, NewEntry},
    operators::{self, Operator, Role, Username},
};

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("an operator with this username already exists")]
    UsernameTaken,
    #[error("no such operator")]
    NotFound,
    #[error("this would leave no active admin")]
    LastAdmin,
    #[error("you cannot disable yourself")]
    SelfDisable,
    #[error("nothing to change")]
    Unchanged,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    username: &Username,
    role: Role,
    password_hash: &str,
) -> Result<Operator, OperatorError> {
    storage::database::transaction(conn, |conn| {
        let operator = operators::insert(conn, username, password_hash, role)
            .map_err(|error| if error.is_unique_violation() { OperatorError::UsernameTaken } else { error.into() })?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "operator.create",
                target: format!("operator:{}", operator.username),
                before: None,
                after: Some(json!({ "username": operator.username, "role": role })),
            },
        )?;
        Ok(operator)
    })
}

/// Locks the operator and checks that, after the change, an active admin remains.
fn lock_and_check(
    conn: &mut PgConnection,
    id: OperatorId,
    stays_active_admin: bool,
) -> Result<Operator, OperatorError> {
    operators::lock_for_role_change(conn)?;
    let operator = operators::find_for_update(conn, id)?.ok_or(OperatorError::NotFound)?;
    let is_active_admin = operator.role == Role::Admin && operator.is_active();
    if is_active_admin && !stays_active_admin && operators::count_active_admins(conn)? <= 1 {
        return Err(OperatorError::LastAdmin);
    }
    Ok(operator)
}

pub fn change_role(
    conn: &mut PgConnection,
    actor: &Actor,
    id: OperatorId,
    role: Role,
) -> Result<Operator, OperatorError> {
    storage::database::transaction(conn, |conn| {
        let before = lock_and_check(conn, id, role == Role::Admin)?;
        if before.role == role {
            return Err(OperatorError::Unchanged);
        }
        operators::set_role(conn, id, role)?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "operator.change_role",
                target: format!("operator:{}", before.username),
                before: Some(json!({ "role": before.role })),
                after: Some(json!({ "role": role })),
            },
        )?;
        operators::find(conn, id)?.ok_or(OperatorError::NotFound)
    })
}

pub fn set_disabled(
    conn: &mut PgConnection,
    actor: &Actor,
    id: OperatorId,
    disabled: bool,
) -> Result<Operator, OperatorError> {
    if disabled && actor.operator_id == Some(id) {
        return Err(OperatorError::SelfDisable);
    }
    storage::database::transaction(conn, |conn| {
        let before = lock_and_check(conn, id, !disabled)?;
        if !operators::set_disabled(conn, id, disabled)? {
            return Err(OperatorError::Unchanged);
        }
        audit::record(
            conn,
            actor,
            NewEntry {
                action: if disabled { "operator.disable" } else { "operator.enable" },
                target: format!("operator:{}", before.username),
                before: Some(json!({ "active": before.is_active() })),
                after: Some(json!({ "active": !disabled })),
            },
        )?;
        operators::find(conn, id)?.ok_or(OperatorError::NotFound)
    })
}

/// Sets a new password (the `demo` command and `operator create` on an existing name use this).
pub fn reset_password(
    conn: &mut PgConnection,
    actor: &Actor,
    id: OperatorId,
    password_hash: &str,
) -> Result<(), OperatorError> {
    storage::database::transaction(conn, |conn| {
        let operator = operators::find_for_update(conn, id)?.ok_or(OperatorError::NotFound)?;
        operators::set_password_hash(conn, id, password_hash)?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "operator.reset_password",
                target: format!("operator:{}", operator.username),
                before: None,
                after: None,
            },
        )?;
        Ok(())
    })
}
