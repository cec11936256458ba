//! The seed corpus is valid input for its targets — a seed that no longer decodes
//! starts the fuzzer from nowhere — the files the fuzzer reads are the ones
//! `seeds::all()` makes, and the event list covers every event message.

use std::{collections::BTreeMap, fs, path::PathBuf};

use bytes::Bytes;
use kenduren_bus::CloudEvent;
use kenduren_domain::{
    calendar::parse_holiday_file, CategoryCode, Channel, OpdCode, QuestionKind, ReferenceData,
    ReferenceSources, RouteDecision, RouteQuery, SubmissionDraft,
};
use kenduren_fuzz_targets::{fuzz_key, seeds, split_fields, split_records, EVENT_TYPES, TARGETS};
use kenduren_proto::{AnyEvent, DecodeError};

#[test]
fn every_event_seed_decodes_as_its_type() {
    let all = seeds::all();
    let events: Vec<_> = all.iter().filter(|s| s.target == "event_decoding").collect();
    assert_eq!(events.len(), EVENT_TYPES.len(), "one seed per event type");
    for s in events {
        let ty = EVENT_TYPES[usize::from(s.data[0])];
        let event = AnyEvent::decode(ty, &s.data[1..]).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(event.type_name(), ty);
    }
}

#[test]
fn the_header_seed_is_a_valid_envelope() {
    let s = seeds::all()
        .into_iter()
        .find(|s| s.target == "cloudevent_headers")
        .expect("a header seed");
    let text = String::from_utf8(s.data).expect("text headers");
    let (block, payload) = text.split_once("\n\n").expect("a header block");
    let headers = block
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.parse().expect("name"), v.parse().expect("value")))
        .collect();
    let event =
        CloudEvent::from_message(Some(&headers), Bytes::from(payload.to_owned())).expect("valid envelope");
    assert_eq!(event.ty, EVENT_TYPES[0]);
}

#[test]
fn the_submission_seed_is_a_valid_submission() {
    let s = seeds::all()
        .into_iter()
        .find(|s| s.target == "submission_validation")
        .expect("a submission seed");
    let f = split_fields(&s.data, 9);
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("text");
    let reference = ReferenceData::parse(ReferenceSources {
        opds: include_str!("../../../data/opds.json"),
        categories: include_str!("../../../data/categories.json"),
        rules: include_str!("../../../data/rules.json"),
        gazetteer: include_str!("../../../data/gazetteer.json"),
    })
    .expect("shipped reference data");
    let draft = SubmissionDraft {
        request_id: text(f[0]),
        kind: Some(QuestionKind::Question),
        category: text(f[2]),
        text: text(f[3]),
        channel: Some(Channel::Web),
        kecamatan: text(f[6]),
        desa: text(f[7]),
        ..Default::default()
    };
    assert_eq!((f[1], f[4], f[8].len()), (&[0u8][..], &[1u8][..], 16));
    draft
        .validate(&reference.catalogue)
        .expect("the seed is a valid submission");
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    seeds::all()
        .into_iter()
        .find(|s| (s.target, s.name.as_str()) == (target, name))
        .unwrap_or_else(|| panic!("no seed {target}/{name}"))
        .data
}

#[test]
fn the_reference_seeds_parse_and_the_small_one_routes_by_keyword() {
    for name in ["shipped", "small"] {
        let data = seed("reference_data", name);
        let f: Vec<String> = split_fields(&data, 4)
            .into_iter()
            .map(|b| String::from_utf8(b.to_vec()).expect("text"))
            .collect();
        let reference = ReferenceData::parse(ReferenceSources {
            opds: &f[0],
            categories: &f[1],
            rules: &f[2],
            gazetteer: &f[3],
        })
        .unwrap_or_else(|e| panic!("reference_data/{name}: {e}"));
        if name == "small" {
            let q = RouteQuery {
                category: "jalan",
                kind: QuestionKind::Complaint,
                kecamatan: "bangil",
                text: "Lampu jalan mati",
            };
            assert!(matches!(
                reference.rules.route(&q, &[]),
                RouteDecision::Routed { rule_id, .. } if rule_id == "lampu"
            ));
        }
    }
}

/// No rule of the routing seed is one the target drops as `UpsertRule` would refuse it.
#[test]
fn the_routing_seed_holds_a_question_and_three_acceptable_rules() {
    let data = seed("routing_rules", "keyword_rule");
    let records: Vec<&[u8]> = split_records(&data).collect();
    assert_eq!(records.len(), 4);
    for rule in &records[1..] {
        let f = split_fields(rule, 7);
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("text");
        assert!(CategoryCode::parse(&text(f[1])).is_ok(), "{}", text(f[1]));
        assert!(OpdCode::parse(&text(f[2])).is_ok(), "{}", text(f[2]));
        assert!(text(f[3]).parse::<i32>().is_ok());
    }
}

#[test]
fn the_holiday_seed_is_a_valid_holiday_file() {
    let data = seed("holiday_file", "shipped");
    let file = parse_holiday_file(std::str::from_utf8(&data).expect("text")).expect("a valid file");
    assert!(file.holidays.len() > 10);
}

/// Every message in events.proto is either an event `AnyEvent` decodes and
/// `EVENT_TYPES` lists, or one of the value types events are made of.
#[test]
fn the_event_list_covers_every_event_message() {
    const VALUE_TYPES: [&str; 4] = ["Location", "ProgrammeItem", "SlaTarget", "Holiday"];
    let proto = include_str!("../../../proto/kenduren/events/v1/events.proto");
    for name in proto.lines().filter_map(|l| l.strip_prefix("message ")) {
        let name = name.trim_end_matches(" {").trim();
        let ty = format!("kenduren.events.v1.{name}");
        let known = !matches!(AnyEvent::decode(&ty, b""), Err(DecodeError::UnknownType(_)));
        assert_eq!(
            known,
            EVENT_TYPES.contains(&ty.as_str()),
            "{ty}: listed and decodable must agree"
        );
        assert!(
            known || VALUE_TYPES.contains(&name),
            "{ty} is neither an event nor a value type"
        );
    }
}

/// Every seed file under `seeds/`, as `(target, name) -> bytes`.
fn seeds_on_disk() -> BTreeMap<(String, String), Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut found = BTreeMap::new();
    for dir in fs::read_dir(&root)
        .expect("seeds/")
        .map(|e| e.expect("entry").path())
    {
        let target = dir.file_name().expect("name").to_string_lossy().into_owned();
        assert!(
            dir.is_dir() && TARGETS.contains(&target.as_str()),
            "seeds/{target} is not the folder of a target"
        );
        for file in fs::read_dir(&dir)
            .expect("a target's seeds")
            .map(|e| e.expect("entry").path())
        {
            let name = file.file_name().expect("name").to_string_lossy().into_owned();
            found.insert((target.clone(), name), fs::read(&file).expect("seed file"));
        }
    }
    found
}

/// The files the fuzzer starts from are exactly the seeds `seeds::all()` makes, byte
/// for byte: a changed event message with stale files would start the fuzzer from
/// inputs that no longer decode (rerun `cargo run -p kenduren-fuzz-targets --example
/// write_seeds`). The token seed embeds the time it was minted, so its file is only
/// checked to be a token the `identifiers` target's key accepts, for the same role.
#[test]
fn the_seed_files_on_disk_are_the_generated_seeds() {
    let mut on_disk = seeds_on_disk();
    let mut wrong = Vec::new();
    for s in seeds::all() {
        let key = (s.target.to_owned(), s.name.clone());
        let Some(file) = on_disk.remove(&key) else {
            wrong.push(format!("seeds/{}/{} is missing", s.target, s.name));
            continue;
        };
        if (s.target, s.name.as_str()) == ("identifiers", "token") {
            let text = String::from_utf8(file).expect("the token seed is text");
            assert_eq!(
                text.split('.').count(),
                3,
                "the token seed is not a JWT: {text:?}"
            );
            let on_file = fuzz_key()
                .verify(&text)
                .expect("the fuzz key accepts the token seed");
            let generated = fuzz_key()
                .verify(&String::from_utf8(s.data).expect("text"))
                .expect("a generated token");
            assert_eq!(on_file.role, generated.role, "the token seed's role");
        } else if file != s.data {
            wrong.push(format!("seeds/{}/{} differs from seeds::all()", s.target, s.name));
        }
    }
    for (target, name) in on_disk.keys() {
        wrong.push(format!("seeds/{target}/{name} is not a seed seeds::all() makes"));
    }
    assert!(
        wrong.is_empty(),
        "{}\n(rerun `cargo run -p kenduren-fuzz-targets --example write_seeds`)",
        wrong.join("\n")
    );
}
