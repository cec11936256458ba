//! Fuzz targets for everything Kenduren reads from outside its own process: event
//! payloads (protobuf), CloudEvents headers on NATS messages, submissions, and the
//! identifiers and tokens callers type or send.
//!
//! Each target takes raw bytes, never panics on them, and checks the promises its code
//! makes whatever the input (a decoded envelope re-encodes to itself, a parsed ticket
//! parses again to itself, a refused submission names each field at most once). The
//! byte layout of each target's input is documented on the target, so the seed corpus
//! under `seeds/<target>/` (written by `cargo run -p kenduren-fuzz-targets --example
//! write_seeds`) can hold valid inputs for mutation to start from.
//!
//! `tests/fuzz.rs` runs every target with bolero: on stable as a plain `cargo test`
//! (the seeds, seeds mutated at random, and random inputs, for a bounded number of
//! iterations), and coverage-guided under `cargo bolero test` where a nightly toolchain
//! and libfuzzer are available.

mod input;
pub mod seeds;
mod targets;

pub use input::{headers_input, split_fields, FIELD_SEPARATOR};
pub use targets::{
    cloudevent_headers, event_decoding, fuzz_key, identifiers, submission_validation, EVENT_TYPES,
};

/// The names of the targets, which are also the folders of their seeds.
pub const TARGETS: [&str; 4] = [
    "event_decoding",
    "cloudevent_headers",
    "submission_validation",
    "identifiers",
];

/// Runs the target called `name` on `data`; `false` if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "event_decoding" => event_decoding(data),
        "cloudevent_headers" => cloudevent_headers(data),
        "submission_validation" => submission_validation(data),
        "identifiers" => identifiers(data),
        _ => return false,
    }
    true
}
