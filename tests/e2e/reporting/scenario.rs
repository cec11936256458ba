//! A small week with known answers (all times WIB, Monday 2 March 2026 = day 0).
//!
//! Session S-1 in Bangil expects DISPENDUKCAPIL, DINKES and BAPENDA; DISPENDUKCAPIL comes
//! on time, DINKES late, BAPENDA stays away.
//! - q1 on-site question, DISPENDUKCAPIL, answered the same morning (2 working hours), rated 5.
//! - q2 on-site complaint, DISPENDUKCAPIL, answered Wednesday (6+8+2 = 16 h), rated 1 and reopened.
//! - q3 on-site confidential aspiration, DINKES, due Wednesday, escalated to level 1, never answered.
//! - q4 web question from Pandaan, DINKES, answered Friday (8+8+8+7 = 31 h), rated 4.
//! - q5 on-site aspiration, withdrawn before routing.
//! - q6 web question from Pandaan, submitted Thursday, not routed yet.

use kenduren_proto::events::v1::{
    AnswerRated, Channel, Location, OpdCheckedIn, QuestionAnswered, QuestionEscalated, QuestionKind,
    QuestionRouted, QuestionSubmitted, QuestionWithdrawn, SessionScheduled,
};
use uuid::Uuid;

use super::events::{ts, wib, Events, Owner};

/// Text of the confidential question: must never leave reporting.
pub const SECRET: &str = "RAHASIA pungutan liar di kantor desa";

/// The scenario's question ids.
pub struct Ids {
    pub q: [String; 6],
}

#[allow(clippy::too_many_arguments)]
async fn submit(
    ev: &mut Events,
    id: &str,
    kind: QuestionKind,
    category: &str,
    channel: Channel,
    session: &str,
    kecamatan: &str,
    confidential: bool,
    at: chrono::DateTime<chrono::Utc>,
) {
    let text = if confidential {
        SECRET.to_owned()
    } else {
        format!("pertanyaan {category}")
    };
    ev.emit(
        Owner::Intake,
        id,
        &QuestionSubmitted {
            question_id: id.into(),
            ticket: format!("KM-2026-{}", &id[..6]),
            kind: kind as i32,
            category: category.into(),
            text,
            channel: channel as i32,
            session_id: session.into(),
            location: Some(Location {
                kecamatan: kecamatan.into(),
                desa: "Kalirejo".into(),
                latitude: None,
                longitude: None,
            }),
            anonymous: false,
            confidential,
            has_contact: true,
            submitted_at: ts(at),
        },
        at,
    )
    .await;
}

async fn route(
    ev: &mut Events,
    id: &str,
    opd: &str,
    at: chrono::DateTime<chrono::Utc>,
    due: chrono::DateTime<chrono::Utc>,
) {
    ev.emit(
        Owner::Routing,
        id,
        &QuestionRouted {
            question_id: id.into(),
            opd_code: opd.into(),
            due_at: ts(due),
            routed_at: ts(at),
            reason: "rule".into(),
            ..Default::default()
        },
        at,
    )
    .await;
}

async fn answer(ev: &mut Events, id: &str, opd: &str, at: chrono::DateTime<chrono::Utc>) {
    ev.emit(
        Owner::Answering,
        id,
        &QuestionAnswered {
            question_id: id.into(),
            opd_code: opd.into(),
            answer: "jawaban".into(),
            responder_name: "Budi".into(),
            responder_position: "Kasi".into(),
            attachments: vec![],
            answered_at: ts(at),
        },
        at,
    )
    .await;
}

async fn rate(ev: &mut Events, id: &str, rating: u32, reopens: bool, at: chrono::DateTime<chrono::Utc>) {
    ev.emit(
        Owner::Intake,
        id,
        &AnswerRated {
            question_id: id.into(),
            rating,
            comment: String::new(),
            reopens,
            rated_at: ts(at),
        },
        at,
    )
    .await;
}

/// Appends the whole scenario.
pub async fn build(ev: &mut Events) -> Ids {
    let q: [String; 6] = std::array::from_fn(|_| Uuid::now_v7().to_string());
    let due = wib(8, 0, 0); // end of Monday 9 March: 5 working days
    ev.emit(
        Owner::Intake,
        "S-1",
        &SessionScheduled {
            session_id: "S-1".into(),
            dates: vec!["2026-03-02".into(), "2026-03-03".into()],
            kecamatan: "Bangil".into(),
            desa: "Kalirejo".into(),
            expected_opd_codes: vec!["DISPENDUKCAPIL".into(), "DINKES".into(), "BAPENDA".into()],
            scheduled_at: ts(wib(0, 6, 0)),
            ..Default::default()
        },
        wib(0, 7, 0),
    )
    .await;
    // DISPENDUKCAPIL on time; DINKES after the 13:00 start, which intake calls late.
    for (opd, late, hour) in [("DISPENDUKCAPIL", false, 8), ("DINKES", true, 13)] {
        ev.emit(
            Owner::Intake,
            "S-1",
            &OpdCheckedIn {
                session_id: "S-1".into(),
                opd_code: opd.into(),
                representative: "Petugas".into(),
                late,
                checked_in_at: ts(wib(0, hour, 30)),
            },
            wib(0, hour, 30),
        )
        .await;
    }
    use Channel::{OnSite, Web};
    use QuestionKind::{Aspiration, Complaint, Question};
    submit(
        ev,
        &q[0],
        Question,
        "kependudukan",
        OnSite,
        "S-1",
        "Bangil",
        false,
        wib(0, 9, 0),
    )
    .await;
    route(ev, &q[0], "DISPENDUKCAPIL", wib(0, 9, 0), due).await;
    answer(ev, &q[0], "DISPENDUKCAPIL", wib(0, 11, 0)).await;
    rate(ev, &q[0], 5, false, wib(0, 12, 0)).await;

    submit(
        ev,
        &q[1],
        Complaint,
        "kependudukan",
        OnSite,
        "S-1",
        "Bangil",
        false,
        wib(0, 10, 0),
    )
    .await;
    route(ev, &q[1], "DISPENDUKCAPIL", wib(0, 10, 0), due).await;
    answer(ev, &q[1], "DISPENDUKCAPIL", wib(2, 10, 0)).await;
    rate(ev, &q[1], 1, true, wib(2, 12, 0)).await;

    submit(
        ev,
        &q[2],
        Aspiration,
        "pariwisata",
        OnSite,
        "S-1",
        "Bangil",
        true,
        wib(0, 11, 0),
    )
    .await;
    route(ev, &q[2], "DINKES", wib(0, 11, 0), wib(2, 0, 0)).await;
    ev.emit(
        Owner::Routing,
        &q[2],
        &QuestionEscalated {
            question_id: q[2].clone(),
            opd_code: "DINKES".into(),
            level: 1,
            due_at: ts(wib(2, 0, 0)),
            escalated_at: ts(wib(2, 8, 0)),
        },
        wib(2, 8, 0),
    )
    .await;

    submit(
        ev,
        &q[3],
        Question,
        "kesehatan",
        Web,
        "",
        "Pandaan",
        false,
        wib(1, 8, 0),
    )
    .await;
    route(ev, &q[3], "DINKES", wib(1, 8, 0), wib(9, 0, 0)).await;
    answer(ev, &q[3], "DINKES", wib(4, 15, 0)).await;
    rate(ev, &q[3], 4, false, wib(4, 16, 0)).await;

    submit(
        ev,
        &q[4],
        Aspiration,
        "kependudukan",
        OnSite,
        "S-1",
        "Bangil",
        false,
        wib(0, 12, 0),
    )
    .await;
    ev.emit(
        Owner::Intake,
        &q[4],
        &QuestionWithdrawn {
            question_id: q[4].clone(),
            reason: "sudah jelas".into(),
            withdrawn_at: ts(wib(0, 13, 0)),
        },
        wib(0, 13, 0),
    )
    .await;

    submit(
        ev,
        &q[5],
        Question,
        "kesehatan",
        Web,
        "",
        "Pandaan",
        false,
        wib(3, 9, 0),
    )
    .await;
    Ids { q }
}
