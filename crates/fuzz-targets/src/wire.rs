//! The target for what every request validator is built from: enum values and
//! timestamps as they arrive in protobuf, the text forms they are stored under, and the
//! refusal (`INVALID_ARGUMENT` naming each bad field) that goes back to the caller.

use http::HeaderMap;
use kenduren_domain::{FieldViolation, QuestionStatus};
use kenduren_proto::events::v1 as ev;
use kenduren_runtime::{
    convert::{
        channel_from_name, channel_from_proto, channel_name, channel_to_proto, kind_from_name,
        kind_from_proto, kind_name, kind_to_proto, status_from_proto, status_to_proto,
    },
    timestamp, to_datetime, ApiError,
};
use prost_types::Timestamp;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::{input::split_fields, targets::text};

/// Most violations one refusal in this target carries.
const MAX_VIOLATIONS: usize = 16;

fn enum_values(value: i32) {
    match kind_from_proto(value) {
        Some(k) => assert_eq!(kind_to_proto(k) as i32, value, "kind {value} does not round-trip"),
        None => assert!(
            ev::QuestionKind::try_from(value).is_err() || value == ev::QuestionKind::Unspecified as i32,
            "kind {value} refused"
        ),
    }
    match channel_from_proto(value) {
        Some(c) => assert_eq!(
            channel_to_proto(c) as i32,
            value,
            "channel {value} does not round-trip"
        ),
        None => assert!(
            ev::Channel::try_from(value).is_err() || value == ev::Channel::Unspecified as i32,
            "channel {value} refused"
        ),
    }
    match status_from_proto(value) {
        Some(s) => assert_eq!(
            status_to_proto(s) as i32,
            value,
            "status {value} does not round-trip"
        ),
        None => assert!(
            ev::QuestionStatus::try_from(value).is_err() || value == ev::QuestionStatus::Unspecified as i32,
            "status {value} refused"
        ),
    }
}

fn stored_names(name: &str) {
    if let Some(k) = kind_from_name(name) {
        assert_eq!(kind_name(k), name);
    }
    if let Some(c) = channel_from_name(name) {
        assert_eq!(channel_name(c), name);
    }
    if let Some(s) = QuestionStatus::parse(name) {
        assert_eq!(s.as_str(), name);
    }
}

fn timestamps(ts: Timestamp) {
    match to_datetime(&ts) {
        Some(at) => assert_eq!(timestamp(at), ts, "timestamp {ts:?} does not round-trip"),
        None => assert!(
            !(0..1_000_000_000).contains(&ts.nanos) || ts.seconds.unsigned_abs() > 8_000_000_000_000,
            "a plausible timestamp refused: {ts:?}"
        ),
    }
}

/// The refusal of `violations` reaches the caller with its code, its message and
/// every field, in order, however odd the text in them.
fn refusal(violations: Vec<FieldViolation>) {
    let status = Status::from(ApiError::InvalidArgument(violations.clone()));
    assert_eq!(status.code(), Code::InvalidArgument);
    let sent: Vec<(String, String)> = violations.into_iter().map(|v| (v.field, v.description)).collect();
    let listed = |status: &Status| -> Vec<(String, String)> {
        status
            .get_error_details()
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|v| (v.field.clone(), v.description.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(listed(&status), sent, "the details do not list every bad field");
    let mut headers = HeaderMap::new();
    status
        .add_header(&mut headers)
        .expect("a refusal always fits in gRPC trailers");
    let received = Status::from_header_map(&headers).expect("a grpc-status trailer");
    assert_eq!(received.code(), Code::InvalidArgument);
    assert_eq!(
        received.message(),
        status.message(),
        "the message changed on the wire"
    );
    assert_eq!(listed(&received), sent, "the fields changed on the wire");
}

/// Request fields. Input: four bytes (a little-endian `i32` read as a kind, a channel
/// and a status), twelve bytes (a protobuf timestamp: `i64` seconds, `i32` nanos),
/// then fields separated by [`crate::FIELD_SEPARATOR`]: the first is read as a stored
/// kind, channel and status name, the rest in pairs as the field and description of
/// each violation in a refusal (at most 16).
pub fn request_fields(data: &[u8]) {
    let mut head = [0u8; 16];
    let n = head.len().min(data.len());
    head[..n].copy_from_slice(&data[..n]);
    let rest = &data[n..];
    let [a, b, c, d, s @ ..] = head;
    enum_values(i32::from_le_bytes([a, b, c, d]));
    let (seconds, nanos) = s.split_at(8);
    timestamps(Timestamp {
        seconds: i64::from_le_bytes(seconds.try_into().unwrap_or_default()),
        nanos: i32::from_le_bytes(nanos.try_into().unwrap_or_default()),
    });
    let fields = split_fields(rest, 1 + 2 * MAX_VIOLATIONS);
    stored_names(&text(fields[0]));
    let violations: Vec<FieldViolation> = fields[1..]
        .chunks(2)
        .filter(|pair| pair.iter().any(|f| !f.is_empty()))
        .map(|pair| FieldViolation {
            field: text(pair[0]),
            description: text(pair[1]),
        })
        .collect();
    if !violations.is_empty() {
        refusal(violations);
    }
}
