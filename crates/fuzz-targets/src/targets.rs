//! The targets: each takes arbitrary bytes, must not panic, and asserts what its code
//! promises for every input. An assertion failing here is a bug the fuzzer found.

use std::{collections::BTreeSet, sync::OnceLock};

use bytes::Bytes;
use kenduren_auth::{Role, TokenKey};
use kenduren_bus::CloudEvent;
use kenduren_domain::{
    Catalogue, CategoryCode, Channel, OpdCode, QuestionId, QuestionKind, ReferenceData, ReferenceSources,
    SubmissionDraft, Ticket,
};
use kenduren_proto::{AnyEvent, DecodeError};

use crate::input::{parse_headers, split_fields};

/// The CloudEvents type of every event payload in `kenduren.events.v1`.
pub const EVENT_TYPES: [&str; 21] = [
    "kenduren.events.v1.QuestionSubmitted",
    "kenduren.events.v1.QuestionWithdrawn",
    "kenduren.events.v1.AnswerRated",
    "kenduren.events.v1.QuestionRouted",
    "kenduren.events.v1.QuestionReassigned",
    "kenduren.events.v1.QuestionRescheduled",
    "kenduren.events.v1.QuestionEscalated",
    "kenduren.events.v1.QuestionTriaged",
    "kenduren.events.v1.QuestionAcknowledged",
    "kenduren.events.v1.QuestionAnswered",
    "kenduren.events.v1.FollowUpPlanned",
    "kenduren.events.v1.QuestionResolved",
    "kenduren.events.v1.AssignmentRejected",
    "kenduren.events.v1.SessionScheduled",
    "kenduren.events.v1.OpdCheckedIn",
    "kenduren.events.v1.OpdUpserted",
    "kenduren.events.v1.RuleUpserted",
    "kenduren.events.v1.RuleDeleted",
    "kenduren.events.v1.SlaPolicyUpdated",
    "kenduren.events.v1.HolidaysSet",
    "kenduren.events.v1.CitizenErased",
];

/// Event decoding. Input: one byte choosing the type (`EVENT_TYPES[b % 22]`, where 21
/// is a type no one knows), then the payload.
pub fn event_decoding(data: &[u8]) {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let ty = EVENT_TYPES.get(usize::from(selector) % (EVENT_TYPES.len() + 1));
    let ty = ty.copied().unwrap_or("kenduren.events.v1.NoSuchEvent");
    let first = AnyEvent::decode(ty, payload);
    match &first {
        Ok(event) => assert_eq!(event.type_name(), ty, "decoded as another type"),
        Err(DecodeError::UnknownType(t)) => assert!(!EVENT_TYPES.contains(&t.as_str())),
        Err(DecodeError::Payload { ty: named, .. }) => assert_eq!(named, ty),
    }
    assert_eq!(
        first,
        AnyEvent::decode(ty, payload),
        "decoding is not deterministic"
    );
}

/// CloudEvents envelope decoding. Input: `name: value` header lines, an empty line,
/// then the payload (see [`crate::headers_input`]).
pub fn cloudevent_headers(data: &[u8]) {
    let (headers, payload) = parse_headers(data);
    let payload = Bytes::copy_from_slice(payload);
    assert!(CloudEvent::from_message(None, payload.clone()).is_err());
    let Ok(event) = CloudEvent::from_message(Some(&headers), payload.clone()) else {
        return;
    };
    assert_eq!(event.data, payload, "the payload is passed through untouched");
    assert!(event.stream_version >= 1);
    // What was accepted can be sent on again, and reads back the same.
    let again = event
        .to_headers()
        .expect("an accepted envelope can be re-encoded");
    let back = CloudEvent::from_message(Some(&again), payload).expect("a re-encoded envelope decodes");
    assert_eq!(back, event, "the envelope does not round-trip");
}

/// The shipped catalogue and gazetteer, parsed once.
fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        ReferenceData::parse(ReferenceSources {
            opds: include_str!("../../../data/opds.json"),
            categories: include_str!("../../../data/categories.json"),
            rules: include_str!("../../../data/rules.json"),
            gazetteer: include_str!("../../../data/gazetteer.json"),
        })
        .expect("the shipped reference data parses")
        .catalogue
    })
}

/// Every kind, in the order a target's kind byte picks them.
pub(crate) const KINDS: [QuestionKind; 4] = [
    QuestionKind::Question,
    QuestionKind::Complaint,
    QuestionKind::Aspiration,
    QuestionKind::ServiceRequest,
];
/// Every channel, in the order a target's channel byte picks them.
pub(crate) const CHANNELS: [Channel; 6] = [
    Channel::OnSite,
    Channel::Web,
    Channel::Whatsapp,
    Channel::Sms,
    Channel::Phone,
    Channel::Open311,
];

/// A field as text, invalid UTF-8 replaced.
pub(crate) fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// An enum field: its first byte picks a value, or none when out of range.
pub(crate) fn pick<T: Copy>(field: &[u8], values: &[T]) -> Option<T> {
    field.first().and_then(|b| values.get(usize::from(*b)).copied())
}

fn coordinate(field: &[u8]) -> Option<f64> {
    let bytes: [u8; 8] = field.get(..8)?.try_into().ok()?;
    Some(f64::from_le_bytes(bytes))
}

/// Submission validation against the shipped catalogue. Input: nine fields separated by
/// [`crate::FIELD_SEPARATOR`]: request id, kind (a byte: 0–3, else none), category,
/// text, channel (a byte: 0–5, else none), session id, kecamatan, desa, and 16 bytes of
/// coordinates (two little-endian `f64`, latitude then longitude; shorter: none).
pub fn submission_validation(data: &[u8]) {
    let f = split_fields(data, 9);
    let coordinates = coordinate(f[8]).zip(f[8].get(8..).and_then(coordinate));
    let draft = SubmissionDraft {
        request_id: text(f[0]),
        kind: pick(f[1], &KINDS),
        category: text(f[2]),
        text: text(f[3]),
        channel: pick(f[4], &CHANNELS),
        session_id: text(f[5]),
        kecamatan: text(f[6]),
        desa: text(f[7]),
        coordinates,
    };
    match draft.validate(catalogue()) {
        Ok(s) => {
            assert_eq!(s.text, s.text.trim());
            assert!(!s.text.is_empty() && s.text.chars().count() <= 4000);
            assert!(catalogue().gazetteer.contains_key(&s.kecamatan));
        }
        Err(bad) => {
            assert!(!bad.is_empty(), "refused without naming a field");
            let fields: BTreeSet<&str> = bad.iter().map(|v| v.field.as_str()).collect();
            assert_eq!(fields.len(), bad.len(), "a field reported twice: {bad:?}");
        }
    }
}

/// The key the `identifiers` target verifies tokens with; its seeds were minted with it.
pub fn fuzz_key() -> &'static TokenKey {
    static KEY: OnceLock<TokenKey> = OnceLock::new();
    KEY.get_or_init(|| TokenKey::from_bytes(b"kenduren-fuzz-target-key-not-a-secret").expect("32+ bytes"))
}

/// Identifiers and tokens as callers type or send them: the input, read as text, is
/// parsed as a ticket, an OPD code, a category code, a question id and a role, and
/// verified as a token.
pub fn identifiers(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(ticket) = Ticket::parse(&s) {
        assert_eq!(
            Ticket::parse(ticket.as_str()).as_ref(),
            Ok(&ticket),
            "a ticket re-parses to itself"
        );
        assert!(ticket.as_str().starts_with("KM-"));
    }
    if let Ok(code) = OpdCode::parse(&s) {
        assert!(
            kenduren_bus::validate_token(code.as_str()).is_ok(),
            "OPD code {code} is not a safe NATS subject token"
        );
    }
    if let Ok(category) = CategoryCode::parse(&s) {
        assert_eq!(category.as_str(), s, "a category code is taken as typed");
    }
    if let Ok(id) = QuestionId::parse(&s) {
        assert_eq!(QuestionId::parse(&id.to_string()), Ok(id));
    }
    if let Ok(role) = s.parse::<Role>() {
        assert_eq!(
            role.to_string().parse::<Role>().as_ref(),
            Ok(&role),
            "a role re-parses to itself"
        );
    }
    if let Ok(principal) = fuzz_key().verify(&s) {
        // Only a token this key signed can pass, and its role is always one of the five.
        assert_eq!(s.split('.').count(), 3, "accepted something that is not a JWT");
        assert!(principal.role.to_string().parse::<Role>().is_ok());
    }
}
