//! proto/asyncapi.yaml tells subscribers which subject carries which event: every
//! channel must name a real event type, and end in the subject token the services
//! publish that event under.

use std::path::Path;

use kenduren_proto::AnyEvent;

/// (channel subject, message name) pairs, read line by line (the file's layout is
/// one `'subject':` key per channel followed by its `subscribe` message reference).
fn channels(yaml: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut subject = None;
    for line in yaml.lines() {
        if let Some(key) = line.strip_prefix("  '").and_then(|rest| rest.strip_suffix("':")) {
            subject = Some(key.to_owned());
        } else if let Some((_, rest)) = line.split_once("$ref: '#/components/messages/") {
            let name = rest.split('\'').next().unwrap_or_default().to_owned();
            if let Some(subject) = subject.take() {
                pairs.push((subject, name));
            }
        }
    }
    pairs
}

#[test]
fn every_channel_carries_a_real_event_under_its_own_subject_token() {
    let yaml =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/asyncapi.yaml"))
            .expect("proto/asyncapi.yaml");
    let pairs = channels(&yaml);
    assert!(pairs.len() >= 21, "only {} channels read: {pairs:?}", pairs.len());
    for (subject, message) in &pairs {
        // Empty bytes are a valid protobuf message of any type: this checks the name.
        let event = AnyEvent::decode(&format!("kenduren.events.v1.{message}"), &[])
            .unwrap_or_else(|e| panic!("{subject}: {message} is not an event: {e:?}"));
        assert!(
            subject.ends_with(&format!(".{}", event.name())),
            "{subject} carries {message}, which is published under .{}",
            event.name()
        );
    }
    for (message, subject) in [
        ("CitizenErased", "{prefix}.v1.question.{opd}.erased"),
        ("QuestionRescheduled", "{prefix}.v1.question.{opd}.rescheduled"),
        ("HolidaysSet", "{prefix}.v1.routing.holidaysset"),
    ] {
        assert!(
            pairs.contains(&(subject.to_owned(), message.to_owned())),
            "{message} on {subject} is missing"
        );
    }
}
