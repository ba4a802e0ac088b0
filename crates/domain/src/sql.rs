//! How the domain's closed sets (states, kinds, outcomes) are stored: as their text, in `TEXT`
//! columns that a database `CHECK` keeps to the same set. [`text_column!`] is the one place a type
//! is converted to and from its column, so a row is read straight into the enum and written from
//! it; no other code turns a state into a string to compare or store it. A value outside the set
//! read from the database is a corrupt row, and reading it fails loudly with the type named.
//!
//! This is encoding only (diesel's `ToSql`/`FromSql` for PostgreSQL); the domain still does no
//! I/O.

/// Maps `$type` to a `TEXT` column through its `as_str` and the given parser (`&str` →
/// `Option<$type>`). The type also derives `diesel::expression::AsExpression` and `diesel::deserialize::FromSqlRow` with
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

/// A closed set stored as text: the enum with its texts, `ALL`, `as_str`, `parse`, `Display`,
/// serde as the text, and its column mapping, from one list of `Variant = "text"`.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::sql::text_column!($name, $name::parse);
    };
}

pub(crate) use text_column;
pub(crate) use text_enum;
