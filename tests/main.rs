//! Every end-to-end test, in one binary: each module starts the real server on a random port
//! against its own database (see `support/lib.rs`).
mod browser;
mod cashier;
mod console_auth;
mod console_ledger;
mod console_merchants;
mod console_operators;
mod console_orders;
mod console_reconciliation;
mod console_roles;
mod faults;
mod fshows_client;
mod fshows_upstream;
mod gateway;
mod gateway_ledger;
mod gateway_onboarding;
mod health;
mod hostile_input;
mod jdpay_channel;
mod notifications;
mod payouts;
mod retention;
mod sandbox_channel;
mod soak;
