//! The seed corpus: one valid input per case, from which the fuzzer's mutations start.
//! `cargo run -p kenduren-fuzz-targets --example write_seeds` writes them under `seeds/`.

use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use kenduren_auth::Role;
use kenduren_bus::CloudEvent;
use kenduren_proto::events::v1 as ev;
use prost::Message;
use uuid::Uuid;

mod admin;

use crate::{input::headers_input, targets::fuzz_key, EVENT_TYPES, FIELD_SEPARATOR};

/// One seed: its target, its file name and its bytes.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The target (and folder) it belongs to.
    pub target: &'static str,
    /// The file name inside the target's folder.
    pub name: String,
    /// The input.
    pub data: Vec<u8>,
}

fn seed(target: &'static str, name: impl Into<String>, data: Vec<u8>) -> Seed {
    Seed {
        target,
        name: name.into(),
        data,
    }
}

const QUESTION_ID: &str = "0195f6c2-7a3b-7c00-8000-000000000001";

/// A populated payload of each event type, encoded (in `EVENT_TYPES` order).
fn event_payloads() -> Vec<Vec<u8>> {
    let q = || QUESTION_ID.to_owned();
    let opd = || "DISPENDUKCAPIL".to_owned();
    vec![
        ev::QuestionSubmitted {
            question_id: q(),
            ticket: "KM-2026-000001".into(),
            category: "kependudukan".into(),
            text: "Bagaimana mengurus KTP-el yang hilang?".into(),
            kind: 1,
            channel: 2,
            location: Some(ev::Location {
                kecamatan: "Bangil".into(),
                desa: "Kalirejo".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionWithdrawn {
            question_id: q(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::AnswerRated {
            question_id: q(),
            rating: 2,
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionRouted {
            question_id: q(),
            opd_code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionReassigned {
            question_id: q(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionRescheduled {
            question_id: q(),
            opd_code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionEscalated {
            question_id: q(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionTriaged {
            question_id: q(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionAcknowledged {
            question_id: q(),
            opd_code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionAnswered {
            question_id: q(),
            opd_code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::FollowUpPlanned {
            question_id: q(),
            opd_code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::QuestionResolved {
            question_id: q(),
            opd_code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::AssignmentRejected {
            question_id: q(),
            opd_code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::SessionScheduled {
            session_id: "s-1".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::OpdCheckedIn {
            session_id: "s-1".into(),
            opd_code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::OpdUpserted {
            code: opd(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::RuleUpserted {
            rule_id: "r-1".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::RuleDeleted {
            rule_id: "r-1".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        ev::SlaPolicyUpdated::default().encode_to_vec(),
        ev::HolidaysSet::default().encode_to_vec(),
        ev::CitizenErased {
            question_id: q(),
            reason: "permintaan warga".into(),
            ..Default::default()
        }
        .encode_to_vec(),
    ]
}

fn short_name(ty: &str) -> &str {
    ty.rsplit('.').next().unwrap_or(ty)
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let payloads = event_payloads();
    for (i, (ty, payload)) in EVENT_TYPES.iter().zip(&payloads).enumerate() {
        let mut data = vec![u8::try_from(i).unwrap_or(0)];
        data.extend_from_slice(payload);
        seeds.push(seed("event_decoding", short_name(ty), data));
    }

    let event = CloudEvent {
        id: Uuid::from_u128(0x0195_f6c2_7a3b_7c00_8000_0000_0000_0002),
        source: "/kenduren/intake".into(),
        ty: EVENT_TYPES[0].into(),
        time: Utc
            .with_ymd_and_hms(2026, 3, 1, 8, 15, 30)
            .single()
            .unwrap_or_default(),
        subject: QUESTION_ID.into(),
        stream_version: 1,
        causation_id: Some(Uuid::from_u128(3)),
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        data: Bytes::from(payloads[0].clone()),
    };
    if let Ok(headers) = event.to_headers() {
        seeds.push(seed(
            "cloudevent_headers",
            "submitted",
            headers_input(&headers, &event.data),
        ));
    }

    let fields: [&[u8]; 9] = [
        b"r-1",
        &[0],
        b"kependudukan",
        "Bagaimana mengurus KTP-el yang hilang?".as_bytes(),
        &[1],
        b"",
        b"Bangil",
        b"Kalirejo",
        &[(-7.6f64).to_le_bytes(), 112.8f64.to_le_bytes()].concat(),
    ];
    seeds.push(seed(
        "submission_validation",
        "web_question",
        fields.join(&FIELD_SEPARATOR),
    ));

    for (name, text) in [
        ("ticket", "KM-2026-000123".to_owned()),
        ("opd_code", "DISPENDUKCAPIL".to_owned()),
        ("question_id", QUESTION_ID.to_owned()),
        ("role", "opd:DINKES".to_owned()),
        ("category", "kependudukan".to_owned()),
    ] {
        seeds.push(seed("identifiers", name, text.into_bytes()));
    }
    // A token the target's key accepts for a century, so mutations start from a valid one.
    let century = Duration::from_secs(100 * 366 * 24 * 3600);
    let token = "opd:DINKES"
        .parse::<Role>()
        .ok()
        .and_then(|role| fuzz_key().mint("fuzz", &role, century).ok());
    if let Some(token) = token {
        seeds.push(seed("identifiers", "token", token.into_bytes()));
    }
    seeds.extend(admin::all());
    seeds
}
