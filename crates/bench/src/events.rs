//! Synthetic but valid events for the rebuild benchmark, published exactly as the
//! services' relays publish theirs: CloudEvents headers, `Nats-Msg-Id`, the owner's
//! source, per-source stream versions from 1 without holes, and each event caused by
//! the one before it on its question (or session), which is always published earlier.
//!
//! Questions go through in waves of [`WAVE`]: all submitted, then routed (1% triaged),
//! acknowledged, some escalated, answered (some withdrawn instead), some rated; a
//! session with check-ins every [`SESSION_EVERY`] questions. Publishes are pipelined:
//! up to [`IN_FLIGHT`] acks outstanding.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use async_nats::jetstream::{self, context::PublishAckFuture};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kenduren_bus::{CloudEvent, Subjects};
use kenduren_proto::{events::v1 as ev, EventMessage};
use kenduren_runtime::timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{scratch::nats, BenchError};

/// Questions per wave.
const WAVE: usize = 500;
/// A session is scheduled once per this many questions.
const SESSION_EVERY: usize = 250;
/// Publish acks awaited at most this far behind.
const IN_FLIGHT: usize = 4096;
const OPDS: [&str; 8] = [
    "DISPENDUKCAPIL",
    "BAPENDA",
    "DPUPR",
    "DINKES",
    "DISDIK",
    "DINSOS",
    "DPMPTSP",
    "PERUMDA_AIR",
];
const KECAMATAN: [&str; 6] = ["Bangil", "Beji", "Gempol", "Pandaan", "Prigen", "Tosari"];

/// What was generated, to check the rebuilt read model against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    /// Events published and acked.
    pub events: u64,
    /// Of those, about questions (one timeline row each).
    pub question_events: u64,
    /// Questions submitted.
    pub questions: u64,
    /// Questions answered.
    pub answered: u64,
    /// Sessions scheduled.
    pub sessions: u64,
    /// Check-ins at them.
    pub check_ins: u64,
}

/// A small deterministic generator (SplitMix64): the same run makes the same mix.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[((self.next() * from.len() as f64) as usize).min(from.len() - 1)]
    }
}

/// One question's place in its streams.
struct Question {
    id: String,
    opd: &'static str,
    submitted_at: DateTime<Utc>,
    versions: [i64; 3],
    last: Option<Uuid>,
    acknowledged: bool,
    answered: bool,
}

/// Owners, by index into `Question::versions`.
const INTAKE: usize = 0;
const ROUTING: usize = 1;
const ANSWERING: usize = 2;
const SOURCES: [&str; 3] = ["/kenduren/intake", "/kenduren/routing", "/kenduren/answering"];

/// Publishes `total` events on `subjects` (their stream must exist), with a progress
/// line on stderr about once a second when `progress`.
pub async fn generate(
    js: &jetstream::Context,
    subjects: &Subjects,
    total: u64,
    progress: bool,
) -> Result<Generated, BenchError> {
    let mut out = Publisher {
        js,
        progress,
        pending: VecDeque::with_capacity(IN_FLIGHT),
        generated: Generated::default(),
        total,
        started: Instant::now(),
        reported: Instant::now(),
    };
    let mut dice = Dice(0x4b45_4e44_5552_454e);
    // A year of questions up to now, about 4.5 events each.
    let questions = (total / 4).max(1);
    let step = Duration::from_secs(365 * 86_400).as_secs_f64() / questions as f64;
    let start = Utc::now() - chrono::Duration::days(365);
    let mut n = 0u64;
    while !out.full() {
        let mut wave: Vec<Question> = (0..WAVE)
            .map(|i| {
                let k = n + i as u64;
                Question {
                    id: Uuid::now_v7().to_string(),
                    opd: OPDS[(k as usize * 7 + (k as usize / 3)) % OPDS.len()],
                    submitted_at: start + chrono::Duration::milliseconds((k as f64 * step * 1000.0) as i64),
                    versions: [0; 3],
                    last: None,
                    acknowledged: false,
                    answered: false,
                }
            })
            .collect();
        n += WAVE as u64;
        for (i, q) in wave.iter_mut().enumerate() {
            if i % SESSION_EVERY == 0 {
                out.session(subjects, &mut dice, q.submitted_at).await?;
            }
            let on_site = dice.next() < 0.3;
            let submitted = ev::QuestionSubmitted {
                question_id: q.id.clone(),
                ticket: format!("KM-{n:08}-{i}"),
                kind: 1 + (dice.next() * 4.0) as i32 % 4,
                category: "kesehatan".into(),
                text: "Mohon penjelasan tentang layanan puskesmas di desa kami.".into(),
                channel: if on_site { 1 } else { 2 },
                session_id: String::new(),
                location: Some(ev::Location {
                    kecamatan: dice.pick(&KECAMATAN).into(),
                    desa: "Desa 1".into(),
                    ..Default::default()
                }),
                confidential: dice.next() < 0.05,
                submitted_at: Some(timestamp(q.submitted_at)),
                ..Default::default()
            };
            out.question(
                q,
                INTAKE,
                subjects.question(None, ev::QuestionSubmitted::NAME),
                &submitted,
                q.submitted_at,
            )
            .await?;
        }
        for q in wave.iter_mut() {
            let at = q.submitted_at + chrono::Duration::minutes(2);
            if dice.next() < 0.01 {
                let triaged = ev::QuestionTriaged {
                    question_id: q.id.clone(),
                    reason: "no rule matched".into(),
                    triaged_at: Some(timestamp(at)),
                };
                out.question(
                    q,
                    ROUTING,
                    subjects.question(None, ev::QuestionTriaged::NAME),
                    &triaged,
                    at,
                )
                .await?;
                continue;
            }
            let routed = ev::QuestionRouted {
                question_id: q.id.clone(),
                opd_code: q.opd.into(),
                rule_id: "r1".into(),
                due_at: Some(timestamp(at + chrono::Duration::days(7))),
                routed_at: Some(timestamp(at)),
                reason: "category kesehatan".into(),
                ..Default::default()
            };
            out.question(
                q,
                ROUTING,
                subjects.question(Some(q.opd), ev::QuestionRouted::NAME),
                &routed,
                at,
            )
            .await?;
            q.acknowledged = dice.next() < 0.92;
        }
        for q in wave.iter_mut().filter(|q| q.acknowledged) {
            let at = q.submitted_at + chrono::Duration::hours(1);
            let ack = ev::QuestionAcknowledged {
                question_id: q.id.clone(),
                opd_code: q.opd.into(),
                staff_name: "Petugas".into(),
                acknowledged_at: Some(timestamp(at)),
            };
            let subject = subjects.question(Some(q.opd), ev::QuestionAcknowledged::NAME);
            out.question(q, ANSWERING, subject, &ack, at).await?;
        }
        for q in wave.iter_mut().filter(|q| q.acknowledged) {
            let delay = chrono::Duration::seconds((dice.next().powi(3) * 16.0 * 86_400.0) as i64 + 3600);
            let at = q.submitted_at + delay;
            if delay > chrono::Duration::days(7) {
                let escalated = ev::QuestionEscalated {
                    question_id: q.id.clone(),
                    opd_code: q.opd.into(),
                    level: 1,
                    escalated_at: Some(timestamp(q.submitted_at + chrono::Duration::days(7))),
                    ..Default::default()
                };
                let subject = subjects.question(Some(q.opd), ev::QuestionEscalated::NAME);
                out.question(q, ROUTING, subject, &escalated, at).await?;
            }
            if dice.next() < 0.03 {
                let withdrawn = ev::QuestionWithdrawn {
                    question_id: q.id.clone(),
                    reason: "sudah selesai".into(),
                    withdrawn_at: Some(timestamp(at)),
                };
                let subject = subjects.question(Some(q.opd), ev::QuestionWithdrawn::NAME);
                out.question(q, INTAKE, subject, &withdrawn, at).await?;
                continue;
            }
            let answered = ev::QuestionAnswered {
                question_id: q.id.clone(),
                opd_code: q.opd.into(),
                answer: "Sudah kami tindak lanjuti; silakan datang ke puskesmas terdekat.".into(),
                responder_name: "Kepala Bidang".into(),
                responder_position: "Kabid Pelayanan".into(),
                answered_at: Some(timestamp(at)),
                ..Default::default()
            };
            let subject = subjects.question(Some(q.opd), ev::QuestionAnswered::NAME);
            out.question(q, ANSWERING, subject, &answered, at).await?;
            q.answered = true;
        }
        for q in wave.iter_mut().filter(|q| q.answered) {
            if dice.next() >= 0.4 {
                continue;
            }
            let at = q.submitted_at + chrono::Duration::days(17);
            let rated = ev::AnswerRated {
                question_id: q.id.clone(),
                rating: 1 + (dice.next() * 5.0) as u32 % 5,
                reopens: false,
                rated_at: Some(timestamp(at)),
                ..Default::default()
            };
            let subject = subjects.question(Some(q.opd), ev::AnswerRated::NAME);
            out.question(q, INTAKE, subject, &rated, at).await?;
        }
    }
    out.finish().await?;
    Ok(out.generated)
}

/// Publishes with acks pipelined, counting what is published, stopping at `total`.
struct Publisher<'a> {
    js: &'a jetstream::Context,
    progress: bool,
    pending: VecDeque<PublishAckFuture>,
    generated: Generated,
    total: u64,
    started: Instant,
    reported: Instant,
}

impl Publisher<'_> {
    fn full(&self) -> bool {
        self.generated.events >= self.total
    }

    /// Publishes one event of `q` owned by `owner`, caused by the question's last event.
    async fn question<M: EventMessage>(
        &mut self,
        q: &mut Question,
        owner: usize,
        subject: String,
        message: &M,
        at: DateTime<Utc>,
    ) -> Result<(), BenchError> {
        if self.full() {
            return Ok(());
        }
        q.versions[owner] += 1;
        let id = self
            .publish(
                SOURCES[owner],
                &q.id,
                q.versions[owner],
                q.last,
                subject,
                message,
                at,
            )
            .await?;
        q.last = Some(id);
        self.generated.question_events += 1;
        match M::NAME {
            "submitted" => self.generated.questions += 1,
            "answered" => self.generated.answered += 1,
            _ => {}
        }
        Ok(())
    }

    /// A session (intake's stream of that session) with up to five check-ins.
    async fn session(
        &mut self,
        subjects: &Subjects,
        dice: &mut Dice,
        at: DateTime<Utc>,
    ) -> Result<(), BenchError> {
        if self.full() {
            return Ok(());
        }
        let session_id = format!("S-{}", Uuid::now_v7().simple());
        let day = at.date_naive().format("%Y-%m-%d").to_string();
        let scheduled = ev::SessionScheduled {
            session_id: session_id.clone(),
            dates: vec![day],
            kecamatan: dice.pick(&KECAMATAN).into(),
            desa: "Desa 1".into(),
            expected_opd_codes: OPDS[..5].iter().map(|s| (*s).to_owned()).collect(),
            scheduled_at: Some(timestamp(at - chrono::Duration::days(14))),
            ..Default::default()
        };
        let subject = subjects.session(ev::SessionScheduled::NAME);
        let mut last = self
            .publish(SOURCES[INTAKE], &session_id, 1, None, subject, &scheduled, at)
            .await?;
        self.generated.sessions += 1;
        for (i, opd) in OPDS[..5].iter().enumerate() {
            if self.full() {
                break;
            }
            let check_in = ev::OpdCheckedIn {
                session_id: session_id.clone(),
                opd_code: (*opd).into(),
                representative: "Staf".into(),
                late: dice.next() < 0.1,
                checked_in_at: Some(timestamp(at)),
            };
            let subject = subjects.session(ev::OpdCheckedIn::NAME);
            let version = i as i64 + 2;
            last = self
                .publish(
                    SOURCES[INTAKE],
                    &session_id,
                    version,
                    Some(last),
                    subject,
                    &check_in,
                    at,
                )
                .await?;
            self.generated.check_ins += 1;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn publish<M: EventMessage>(
        &mut self,
        source: &str,
        stream_id: &str,
        version: i64,
        cause: Option<Uuid>,
        subject: String,
        message: &M,
        at: DateTime<Utc>,
    ) -> Result<Uuid, BenchError> {
        let event = CloudEvent {
            id: Uuid::now_v7(),
            source: source.to_owned(),
            ty: M::TYPE.to_owned(),
            time: at,
            subject: stream_id.to_owned(),
            stream_version: version,
            causation_id: cause,
            traceparent: None,
            data: Bytes::from(message.encode_to_vec()),
        };
        let headers = event.to_headers().map_err(nats)?;
        while self.pending.len() >= IN_FLIGHT {
            self.await_oldest().await?;
        }
        let ack = self
            .js
            .publish_with_headers(subject, headers, event.data)
            .await
            .map_err(nats)?;
        self.pending.push_back(ack);
        self.generated.events += 1;
        Ok(event.id)
    }

    async fn await_oldest(&mut self) -> Result<(), BenchError> {
        if let Some(ack) = self.pending.pop_front() {
            let ack = ack.await.map_err(nats)?;
            if ack.duplicate {
                return Err(BenchError::Nats("a generated event was a duplicate".into()));
            }
        }
        if self.progress && self.reported.elapsed() >= Duration::from_secs(1) {
            self.reported = Instant::now();
            let acked = self.generated.events - self.pending.len() as u64;
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!(
                "bench: generated {acked} of {} events ({:.0}/s)",
                self.total,
                acked as f64 / secs
            );
        }
        Ok(())
    }

    async fn finish(&mut self) -> Result<(), BenchError> {
        while !self.pending.is_empty() {
            self.await_oldest().await?;
        }
        Ok(())
    }
}
