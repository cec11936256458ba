//! Runs every fuzz target with bolero. Under `cargo test` (stable) each target gets its
//! shipped seeds, the seeds mutated at random, and random bytes, for a bounded number
//! of iterations so the whole file takes a few seconds; under `cargo bolero test` the
//! same targets run coverage-guided. A panic or failed assertion is a finding: bolero
//! prints the input and the seed to replay it (`BOLERO_RANDOM_SEED=...`).

use std::{fs, path::PathBuf};

use kenduren_fuzz_targets::{run, TARGETS};

/// Random inputs per target and per way of making them.
const ITERATIONS: usize = 20_000;
/// Longest random input.
const MAX_LEN: usize = 4_096;

fn seed_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target)
}

/// The shipped seeds of `target`, read from `seeds/<target>/`.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = fs::read_dir(seed_dir(target))
        .unwrap_or_else(|e| panic!("seeds/{target}: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// One edit to a seed: at `at` (modulo its length) replace, insert or delete a byte.
type Edit = (u16, u8, u8);

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for &(at, op, byte) in edits {
        let at = usize::from(at) % (data.len() + 1);
        match op % 4 {
            0 if at < data.len() => data[at] = byte,
            1 => data.insert(at, byte),
            2 if at < data.len() => {
                data.remove(at);
            }
            3 => data.truncate(at),
            _ => {}
        }
    }
    data
}

fn fuzz(target: &'static str) {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "no seeds for {target}");
    for s in &seeds {
        assert!(run(target, s));
    }
    bolero::check!()
        .with_iterations(ITERATIONS)
        .with_type::<(u16, Vec<Edit>)>()
        .for_each(|(pick, edits)| {
            let seed = &seeds[usize::from(*pick) % seeds.len()];
            run(target, &mutate(seed, edits));
        });
    bolero::check!()
        .with_iterations(ITERATIONS)
        .with_max_len(MAX_LEN)
        .for_each(|data: &[u8]| {
            run(target, data);
        });
}

#[test]
fn event_decoding_survives_arbitrary_payloads() {
    fuzz("event_decoding");
}

#[test]
fn cloudevent_header_parsing_survives_arbitrary_headers() {
    fuzz("cloudevent_headers");
}

#[test]
fn submission_validation_survives_arbitrary_fields() {
    fuzz("submission_validation");
}

#[test]
fn identifier_and_token_parsing_survive_arbitrary_text() {
    fuzz("identifiers");
}

#[test]
fn reference_data_parsing_survives_arbitrary_files() {
    fuzz("reference_data");
}

#[test]
fn routing_survives_arbitrary_rules_and_picks_the_first_match() {
    fuzz("routing_rules");
}

#[test]
fn holiday_file_parsing_survives_arbitrary_text() {
    fuzz("holiday_file");
}

#[test]
fn sla_deadlines_count_working_days_for_any_policy_and_calendar() {
    fuzz("sla_deadlines");
}

#[test]
fn request_fields_and_refusals_survive_arbitrary_values() {
    fuzz("request_fields");
}

#[test]
fn every_target_has_its_seeds() {
    for target in TARGETS {
        assert!(seed_dir(target).is_dir(), "seeds/{target} is missing");
    }
}
