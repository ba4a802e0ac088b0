//! How the domain's closed sets (states, kinds, outcomes) are stored: as their text, in `TEXT`
//! columns that a database `CHECK` keeps to the same set. [`text_column!`] is the one place a type
//! is converted to and from its column, so a row is read straight into the enum and written from
//! it; no other code turns a state into a string to compare or store it. A value outside the set
//! read from the database is a corrupt row, and reading it fails loudly with the type named.
//!
//! This is encoding only (diesel's `ToSql`/`FromSql` for PostgreSQL); the domain still does no
//! I/O.

/// Maps `$type` to a `TEXT` column through its `as_str` and the given parser (`&str` →
/// `Option<$type>`). The type also derives `diesel::AsExpression` and `diesel::FromSqlRow` with
/// `#[diesel(sql_type = diesel::sql_types::Text)]`.
macro_rules! text_column {
    ($type:ty, $parse:expr) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $type {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $type {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = std::str::from_utf8(value.as_bytes())?;
                let parse: fn(&str) -> Option<$type> = $parse;
                parse(text).ok_or_else(|| format!("unknown {} {text:?} in the database", stringify!($type)).into())
            }
        }
    };
}

pub(crate) use text_column;
