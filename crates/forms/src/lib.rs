//! The console's posted forms that carry money, ids, rates and times, read and parsed without the
//! web framework: the console's handlers call these, and `fuzz/` sends them arbitrary bodies.
//!
//! A body is read into its form once ([`body::read`]), refusing a field named twice; each field's
//! text is then parsed into the domain value it holds, and a refusal names the field. What the
//! console fills into a form for editing ([`schedule::fields`]) parses back to what it shows.

pub mod body;
pub mod rates;
pub mod refund;
pub mod schedule;
pub mod text;
pub mod time;
