//! The one binary's library half: configuration, start-up wiring, workers, operational routes
//! and the command-line subcommands. Every route of the platform is registered in [`startup`].
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod keygen;
pub mod metrics;
pub mod platform;
mod routes;
mod sandbox_store;
pub mod startup;
pub mod telemetry;
pub mod worker;

pub use config::Settings;
pub use startup::Application;
