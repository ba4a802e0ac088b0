//! Operational endpoints of the server itself.
pub mod health;
pub mod platform_key;
