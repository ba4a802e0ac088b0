//! Who is signed in, and what they may do.
pub mod csrf;
pub mod password;
pub mod permission;
pub mod session;
pub mod signed_in;
pub mod throttle;

pub use permission::Permission;
pub use signed_in::{ConsoleForm, SignedIn};
