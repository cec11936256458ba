//! Round-trip and garbage-header tests of the envelope; no server needed.

use super::*;
use async_nats::header::HeaderName;

fn sample() -> CloudEvent {
    CloudEvent {
        id: Uuid::new_v4(),
        source: "/kenduren/intake".into(),
        ty: "kenduren.events.v1.QuestionSubmitted".into(),
        time: DateTime::parse_from_rfc3339("2026-03-01T08:15:30.123456Z")
            .expect("valid time")
            .with_timezone(&Utc),
        subject: "0195f6c2-question".into(),
        stream_version: 3,
        causation_id: Some(Uuid::new_v4()),
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        data: Bytes::from_static(&[0x0a, 0x03, 0xff, 0x00, 0x80]),
    }
}

fn decode(map: &HeaderMap) -> Result<CloudEvent, EnvelopeError> {
    CloudEvent::from_message(Some(map), Bytes::from_static(b"\x08\x01"))
}

/// A copy of `map` without `name`.
fn without(map: &HeaderMap, name: &str) -> HeaderMap {
    map.iter()
        .filter(|(key, _)| key.to_string() != name)
        .flat_map(|(key, values)| values.iter().map(move |v| (key.clone(), v.clone())))
        .collect()
}

/// A copy of `map` with `name` set to `value`.
fn with(map: &HeaderMap, name: &'static str, value: &str) -> HeaderMap {
    let mut map = without(map, name);
    map.insert(name, value.parse::<HeaderValue>().expect("no line breaks"));
    map
}

#[test]
fn round_trips_every_field() {
    let event = sample();
    let map = event.to_headers().expect("encodable");
    assert_eq!(map.get(headers::SPEC_VERSION).map(|v| v.as_str()), Some("1.0"));
    assert_eq!(
        map.get(headers::DATA_CONTENT_TYPE).map(|v| v.as_str()),
        Some("application/protobuf")
    );
    assert_eq!(map.get(headers::STREAM_VERSION).map(|v| v.as_str()), Some("3"));
    assert_eq!(
        map.get(headers::NATS_MSG_ID).map(|v| v.as_str().to_owned()),
        Some(event.id.to_string())
    );
    assert_eq!(
        map.get(headers::TIME).map(|v| v.as_str()),
        Some("2026-03-01T08:15:30.123456Z")
    );
    let back = CloudEvent::from_message(Some(&map), event.data.clone()).expect("decodable");
    assert_eq!(back, event);
}

#[test]
fn optional_headers_may_be_absent() {
    let event = CloudEvent {
        causation_id: None,
        traceparent: None,
        ..sample()
    };
    let map = event.to_headers().expect("encodable");
    assert!(map.get(headers::CAUSATION_ID).is_none());
    assert!(map.get(headers::TRACEPARENT).is_none());
    assert_eq!(decode(&map).expect("decodable").causation_id, None);
}

#[test]
fn no_headers_is_refused() {
    assert_eq!(
        CloudEvent::from_message(None, Bytes::new()),
        Err(EnvelopeError::NoHeaders)
    );
}

#[test]
fn garbage_headers_are_refused() {
    let mut map = HeaderMap::new();
    map.insert("x-garbage", "\u{1}\u{7f}zz");
    map.insert("Nats-Msg-Id", "not-a-cloudevent");
    assert_eq!(
        decode(&map),
        Err(EnvelopeError::MissingHeader {
            header: headers::SPEC_VERSION
        })
    );
}

#[test]
fn each_required_header_is_reported_by_name() {
    let map = sample().to_headers().expect("encodable");
    for header in [
        headers::SPEC_VERSION,
        headers::ID,
        headers::SOURCE,
        headers::TYPE,
        headers::TIME,
        headers::SUBJECT,
        headers::DATA_CONTENT_TYPE,
        headers::STREAM_VERSION,
    ] {
        assert_eq!(
            decode(&without(&map, header)),
            Err(EnvelopeError::MissingHeader { header }),
            "{header}"
        );
        assert_eq!(
            decode(&with(&map, header, "  ")),
            Err(EnvelopeError::EmptyHeader { header }),
            "{header}"
        );
    }
}

#[test]
fn wrong_specversion_is_refused() {
    let map = sample().to_headers().expect("encodable");
    assert_eq!(
        decode(&with(&map, headers::SPEC_VERSION, "0.3")),
        Err(EnvelopeError::UnsupportedSpecVersion { found: "0.3".into() })
    );
}

#[test]
fn invalid_uuids_are_refused() {
    let map = sample().to_headers().expect("encodable");
    assert_eq!(
        decode(&with(&map, headers::ID, "1234")),
        Err(EnvelopeError::InvalidUuid {
            header: headers::ID,
            value: "1234".into()
        })
    );
    assert!(matches!(
        decode(&with(&map, headers::CAUSATION_ID, "nope")),
        Err(EnvelopeError::InvalidUuid {
            header: headers::CAUSATION_ID,
            ..
        })
    ));
}

#[test]
fn invalid_time_is_refused() {
    let map = sample().to_headers().expect("encodable");
    for bad in [
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-03-01 08:15:30",
        "1712345678",
    ] {
        assert!(
            matches!(
                decode(&with(&map, headers::TIME, bad)),
                Err(EnvelopeError::InvalidTime { .. })
            ),
            "{bad}"
        );
    }
    let offset = decode(&with(&map, headers::TIME, "2026-03-01T15:15:30+07:00")).expect("valid");
    assert_eq!(offset.time.to_rfc3339(), "2026-03-01T08:15:30+00:00");
}

#[test]
fn invalid_stream_versions_are_refused() {
    let map = sample().to_headers().expect("encodable");
    for bad in ["0", "-1", "abc", "1.5", "99999999999999999999999"] {
        assert!(
            matches!(
                decode(&with(&map, headers::STREAM_VERSION, bad)),
                Err(EnvelopeError::InvalidStreamVersion { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn content_type_must_be_protobuf() {
    let map = sample().to_headers().expect("encodable");
    assert!(matches!(
        decode(&with(&map, headers::DATA_CONTENT_TYPE, "application/json")),
        Err(EnvelopeError::UnsupportedContentType { .. })
    ));
    let with_params = with(
        &map,
        headers::DATA_CONTENT_TYPE,
        "application/protobuf; proto=kenduren.events.v1.QuestionSubmitted",
    );
    assert!(decode(&with_params).is_ok());
}

#[test]
fn conflicting_duplicate_headers_are_refused() {
    let mut map = sample().to_headers().expect("encodable");
    map.append(headers::ID, Uuid::new_v4().to_string().as_str());
    assert_eq!(
        decode(&map),
        Err(EnvelopeError::AmbiguousHeader { header: headers::ID })
    );
    let mut same = sample().to_headers().expect("encodable");
    let source = same.get(headers::SOURCE).cloned().expect("present");
    same.append(headers::SOURCE, source);
    assert!(decode(&same).is_ok());
}

#[test]
fn header_names_match_case_insensitively() {
    let event = sample();
    let map: HeaderMap = event
        .to_headers()
        .expect("encodable")
        .iter()
        .flat_map(|(key, values)| {
            let upper: HeaderName = key.to_string().to_uppercase().parse().expect("valid name");
            values.iter().map(move |v| (upper.clone(), v.clone()))
        })
        .collect();
    assert_eq!(decode(&map).map(|e| e.id), Ok(event.id));
}

#[test]
fn invalid_traceparent_is_dropped_not_refused() {
    let map = sample().to_headers().expect("encodable");
    for bad in [
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ] {
        let event = decode(&with(&map, headers::TRACEPARENT, bad)).expect("still decodable");
        assert_eq!(event.traceparent, None, "{bad}");
    }
}

#[test]
fn line_breaks_cannot_reach_the_headers() {
    let event = CloudEvent {
        source: "/kenduren/intake\r\nce-type: forged".into(),
        ..sample()
    };
    assert_eq!(
        event.to_headers(),
        Err(EnvelopeError::InvalidHeaderValue {
            header: headers::SOURCE
        })
    );
    let event = CloudEvent {
        traceparent: Some("00-\n".into()),
        ..sample()
    };
    assert_eq!(
        event.to_headers(),
        Err(EnvelopeError::InvalidHeaderValue {
            header: headers::TRACEPARENT
        })
    );
}

/// Header bytes that are not UTF-8 never reach a `HeaderMap` (async-nats refuses them
/// while parsing); what does arrive is their lossy form, which must be refused cleanly.
/// Non-UTF-8 payloads are normal (protobuf) and pass through untouched.
#[test]
fn non_utf8_input_is_handled() {
    let map = sample().to_headers().expect("encodable");
    let lossy = String::from_utf8_lossy(b"\xff\xfe0195f6c2-\xc3\x28").into_owned();
    assert!(matches!(
        decode(&with(&map, headers::ID, &lossy)),
        Err(EnvelopeError::InvalidUuid { .. })
    ));
    assert!(matches!(
        decode(&with(&map, headers::TIME, &lossy)),
        Err(EnvelopeError::InvalidTime { .. })
    ));
    let payload = Bytes::from_static(b"\xff\xfe\x00\xc3\x28");
    let event = CloudEvent::from_message(Some(&map), payload.clone()).expect("decodable");
    assert_eq!(event.data, payload);
}

#[test]
fn long_values_are_truncated_in_errors() {
    let map = sample().to_headers().expect("encodable");
    let long = "x".repeat(10_000);
    match decode(&with(&map, headers::ID, &long)) {
        Err(EnvelopeError::InvalidUuid { value, .. }) => assert_eq!(value.len(), 64),
        other => panic!("unexpected {other:?}"),
    }
}

/// Deterministic garbage: random header sets built from a fixed seed must never panic.
#[test]
fn random_garbage_never_panics() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let names = [
        headers::SPEC_VERSION,
        headers::ID,
        headers::SOURCE,
        headers::TYPE,
        headers::TIME,
        headers::SUBJECT,
        headers::DATA_CONTENT_TYPE,
        headers::STREAM_VERSION,
        headers::CAUSATION_ID,
        headers::TRACEPARENT,
    ];
    let alphabet: Vec<char> = "01-9aZ:.T+ \u{e9}\u{fffd}/\t;".chars().collect();
    for _ in 0..2_000 {
        let mut map = sample().to_headers().expect("encodable");
        for _ in 0..(next() % 4) {
            let name = names[(next() % names.len() as u64) as usize];
            let len = (next() % 40) as usize;
            let value: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            map = with(&map, name, &value);
        }
        let _ = decode(&map);
    }
}
