//! Fuzz targets for everything Kenduren reads from outside its own process: event
//! payloads (protobuf), CloudEvents headers on NATS messages, submissions, the reference
//! data and routing rules admins change, holiday files and SLA deadlines, the enum
//! values, timestamps and refusals of every request, and the identifiers and tokens
//! callers type or send.
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

mod calendar;
mod input;
mod rules;
pub mod seeds;
mod targets;
mod wire;

pub use calendar::{holiday_file, sla_deadlines};
pub use input::{headers_input, split_fields, split_records, FIELD_SEPARATOR, RECORD_SEPARATOR};
pub use rules::{reference_data, routing_rules};
pub use targets::{
    cloudevent_headers, event_decoding, fuzz_key, identifiers, submission_validation, EVENT_TYPES,
};
pub use wire::request_fields;

/// The names of the targets, which are also the folders of their seeds.
pub const TARGETS: [&str; 9] = [
    "event_decoding",
    "cloudevent_headers",
    "submission_validation",
    "identifiers",
    "reference_data",
    "routing_rules",
    "holiday_file",
    "sla_deadlines",
    "request_fields",
];

/// Runs the target called `name` on `data`; `false` if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "event_decoding" => event_decoding(data),
        "cloudevent_headers" => cloudevent_headers(data),
        "submission_validation" => submission_validation(data),
        "identifiers" => identifiers(data),
        "reference_data" => reference_data(data),
        "routing_rules" => routing_rules(data),
        "holiday_file" => holiday_file(data),
        "sla_deadlines" => sla_deadlines(data),
        "request_fields" => request_fields(data),
        _ => return false,
    }
    true
}
