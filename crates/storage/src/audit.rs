//! The audit log: every state-changing action, with who, when, what, before and after.
//! Rows are written in the same transaction as the change they describe; the table refuses
//! updates and deletes.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::OperatorId;
use serde_json::Value;

use crate::{StorageError, schema::audit_log};

/// Who did it: a signed-in operator, or the command line / system for automated actions.
#[derive(Debug, Clone)]
pub struct Actor {
    pub operator_id: Option<OperatorId>,
    pub name: String,
    pub client_ip: Option<String>,
}

impl Actor {
    pub fn cli() -> Actor {
        Actor { operator_id: None, name: "cli".into(), client_ip: None }
    }
    pub fn system() -> Actor {
        Actor { operator_id: None, name: "system".into(), client_ip: None }
    }
}

pub struct NewEntry<'a> {
    pub action: &'a str,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_log)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub operator_id: Option<OperatorId>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub client_ip: Option<String>,
}

pub fn record(conn: &mut PgConnection, actor: &Actor, entry: NewEntry<'_>) -> Result<i64, StorageError> {
    Ok(diesel::insert_into(audit_log::table)
        .values((
            audit_log::operator_id.eq(actor.operator_id),
            audit_log::actor.eq(&actor.name),
            audit_log::action.eq(entry.action),
            audit_log::target.eq(crate::text::storable(&entry.target)),
            audit_log::before.eq(entry.before.map(storable_value)),
            audit_log::after.eq(entry.after.map(storable_value)),
            audit_log::client_ip.eq(&actor.client_ip),
        ))
        .returning(audit_log::id)
        .get_result(conn)?)
}

/// The audit trail keeps what an operator typed; PostgreSQL cannot hold every character of it.
fn storable_value(value: Value) -> Value {
    match crate::text::storable_json(&value) {
        std::borrow::Cow::Borrowed(_) => value,
        std::borrow::Cow::Owned(stored) => stored,
    }
}

/// Filters of the audit page. `before_id` is the keyset cursor: rows older than it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub before_id: Option<i64>,
}

/// Newest first, at most `limit` rows.
pub fn list(conn: &mut PgConnection, filter: &Filter, limit: i64) -> Result<Vec<Entry>, StorageError> {
    let mut query = audit_log::table.select(Entry::as_select()).into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_log::actor.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.like(format!("{}%", escape_like(action))));
    }
    if let Some(target) = &filter.target {
        query = query.filter(audit_log::target.like(format!("%{}%", escape_like(target))));
    }
    if let Some(before_id) = filter.before_id {
        query = query.filter(audit_log::id.lt(before_id));
    }
    Ok(query.order(audit_log::id.desc()).limit(limit).load(conn)?)
}

/// Who did `action` on `target` last, if anyone (e.g. who last changed a merchant's bank account).
pub fn last_actor(conn: &mut PgConnection, action: &str, target: &str) -> Result<Option<Entry>, StorageError> {
    Ok(audit_log::table
        .filter(audit_log::action.eq(action))
        .filter(audit_log::target.eq(target))
        .order(audit_log::id.desc())
        .select(Entry::as_select())
        .first(conn)
        .optional()?)
}

/// Escapes LIKE wildcards so a search term matches literally.
pub fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
