//! Platform-wide values generated once and shared by every node.
use diesel::prelude::*;

use crate::{StorageError, schema::platform_settings};

/// Returns the stored value for `key`, storing `generate()` first if there is none. Concurrent
/// first starts on several nodes all end up with the one value that won the insert.
pub fn get_or_init(
    conn: &mut PgConnection,
    key: &str,
    generate: impl FnOnce() -> String,
) -> Result<String, StorageError> {
    diesel::insert_into(platform_settings::table)
        .values((platform_settings::key.eq(key), platform_settings::value.eq(generate())))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(platform_settings::table.find(key).select(platform_settings::value).first(conn)?)
}
