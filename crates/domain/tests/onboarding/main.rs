//! Tests of sub-merchant onboarding (SPEC §4): every field type with valid and invalid input,
//! the whole-application parser, and the application life cycle. One test binary, so the crate
//! is linked once.

mod application;
mod bank;
mod category;
mod codes;
mod contact;
mod credit_code;
mod icp;
mod never_panics;
mod round_trip;
mod schedule;
mod state;
mod text;
