//! A reconciliation bill, as an operator imports it on the console or an upstream's
//! `downloadbill` returns it.
//!
//! Beyond "no panic": a bill that is read writes back to CSV that reads to the same lines, and no
//! line read holds a control character.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(lines) = channel::bill::from_csv(text) else { return };
    let written = channel::bill::to_csv(&lines).expect("a bill that was read can be written");
    assert_eq!(channel::bill::from_csv(&written).expect("a written bill reads"), lines);
});
