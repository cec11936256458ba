//! `SubmitQuestion`: validate, take a ticket, append `QuestionSubmitted` — once per
//! idempotency key, with nothing half-written on any failure.
//!
//! The tracking PIN is kept readable in `requests` only so that a retry with the same
//! key can be answered with the same PIN, and only for [`PIN_REPLAY_HOURS`]: a tablet
//! retries within seconds or minutes, never a day later. Encrypting it instead would
//! keep every PIN recoverable for ever by whoever holds the database and the key; a
//! bounded window keeps none after a day. Tracking checks `questions.pin_hash`.

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use kenduren_domain::{
    calendar::wib, question::pair_coordinates, Channel, FieldViolation, QuestionId, QuestionStatus,
    SubmissionDraft, Ticket,
};
use kenduren_proto::{
    events::v1::{self as ev},
    intake::v1::{Citizen, SubmitQuestionRequest, SubmitQuestionResponse},
};
use kenduren_runtime::{
    convert::{channel_name, channel_to_proto, kind_name, kind_to_proto},
    new_event, timestamp, ApiError,
};
use kenduren_store::ExpectedVersion;
use prost::Message;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::api::Intake;

/// How long a submission's PIN is kept for answering retries of it.
pub const PIN_REPLAY_HOURS: i64 = 24;

/// The draft for the domain's checks, and the violation of a half-given position (the
/// domain's draft holds a position only as a pair).
fn draft_from(req: &SubmitQuestionRequest) -> (SubmissionDraft, Option<FieldViolation>) {
    let location = req.location.clone().unwrap_or_default();
    let (coordinates, half) = match pair_coordinates(location.latitude, location.longitude) {
        Ok(c) => (c, None),
        Err(v) => (None, Some(v)),
    };
    let draft = SubmissionDraft {
        request_id: req.request_id.clone(),
        kind: kenduren_runtime::convert::kind_from_proto(req.kind),
        category: req.category.clone(),
        text: req.text.clone(),
        channel: kenduren_runtime::convert::channel_from_proto(req.channel),
        session_id: req.session_id.clone(),
        kecamatan: location.kecamatan,
        desa: location.desa,
        coordinates,
    };
    (draft, half)
}

fn citizen_violations(c: &Citizen) -> Vec<FieldViolation> {
    let mut bad = Vec::new();
    let mut push = |field: &str, description: &str| {
        bad.push(FieldViolation {
            field: field.to_owned(),
            description: description.to_owned(),
        })
    };
    if c.name.trim().chars().count() > 200 {
        push("citizen.name", "nama paling banyak 200 karakter");
    }
    let phone = c.phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let phone_chars_ok = phone
        .chars()
        .all(|ch| ch.is_ascii_digit() || " +-()".contains(ch));
    if !phone.is_empty() && (!phone_chars_ok || !(6..=20).contains(&digits)) {
        push(
            "citizen.phone",
            "nomor telepon hanya angka (6–20 digit), boleh diawali +",
        );
    }
    let email = c.email.trim();
    let email_ok = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
    if !email.is_empty() && !email_ok {
        push("citizen.email", "alamat email tidak valid");
    }
    bad
}

/// A hash of everything but the key, so a retry with other content is detected.
fn fingerprint(req: &SubmitQuestionRequest) -> Vec<u8> {
    let mut content = req.clone();
    content.request_id.clear();
    Sha256::digest(content.encode_to_vec()).to_vec()
}

/// The PIN is hashed with the question id so equal PINs do not look equal at rest.
pub(crate) fn pin_hash(question_id: uuid::Uuid, pin: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(question_id.as_bytes());
    h.update(pin.trim().as_bytes());
    h.finalize().to_vec()
}

impl Intake {
    pub(crate) async fn submit(
        &self,
        req: SubmitQuestionRequest,
    ) -> Result<SubmitQuestionResponse, ApiError> {
        let fingerprint = fingerprint(&req);
        if let Some(first) = self.replay(&req.request_id, &fingerprint).await? {
            return Ok(first);
        }
        let citizen = req.citizen.clone().unwrap_or_default();
        let (draft, half_position) = draft_from(&req);
        let unknown_session = self.unknown_session(&draft).await?;
        let submission = draft.validate(&self.reference.catalogue);
        let mut bad = submission.as_ref().err().cloned().unwrap_or_default();
        // Every violation at once, each where the request has the field: the session
        // after the channel, half a position with the location, the citizen last.
        let at_location = bad
            .iter()
            .position(|v| v.field.starts_with("location."))
            .unwrap_or(bad.len());
        if let Some(v) = unknown_session {
            bad.insert(at_location, v);
        }
        bad.extend(half_position);
        bad.extend(citizen_violations(&citizen));
        let submission = match submission {
            Ok(s) if bad.is_empty() => s,
            _ => return Err(ApiError::InvalidArgument(bad)),
        };

        let mut tx = self.ctx.pool.begin().await?;
        let now = self.ctx.clock.now();
        let (number,): (i64,) = sqlx::query_as("SELECT nextval('ticket_seq')")
            .fetch_one(&mut *tx)
            .await?;
        let ticket = Ticket::new(now.with_timezone(&wib()).year(), number.unsigned_abs());
        let question_id = QuestionId::new().as_uuid();
        let pin = format!("{:06}", rand::rng().random_range(0..1_000_000));
        let answer = SubmitQuestionResponse {
            question_id: question_id.to_string(),
            ticket: ticket.to_string(),
            tracking_pin: pin.clone(),
        };

        let claimed = sqlx::query(
            "INSERT INTO requests (request_id, fingerprint, question_id, ticket, tracking_pin, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(&submission.request_id)
        .bind(&fingerprint)
        .bind(question_id)
        .bind(&answer.ticket)
        .bind(&pin)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            // A concurrent retry with the same key won the race: answer as it did.
            tx.rollback().await?;
            return self
                .replay(&req.request_id, &fingerprint)
                .await?
                .ok_or_else(|| ApiError::Internal("idempotency key vanished".into()));
        }

        let has_contact = !(citizen.name.trim().is_empty()
            && citizen.phone.trim().is_empty()
            && citizen.email.trim().is_empty());
        let event = ev::QuestionSubmitted {
            question_id: question_id.to_string(),
            ticket: answer.ticket.clone(),
            kind: kind_to_proto(submission.kind) as i32,
            category: submission.category.to_string(),
            text: submission.text.clone(),
            channel: channel_to_proto(submission.channel) as i32,
            session_id: submission.session_id.clone(),
            location: Some(ev::Location {
                kecamatan: submission.kecamatan.clone(),
                desa: submission.desa.clone(),
                latitude: submission.coordinates.map(|c| c.0),
                longitude: submission.coordinates.map(|c| c.1),
            }),
            anonymous: citizen.anonymous,
            confidential: citizen.confidential,
            has_contact,
            submitted_at: Some(timestamp(now)),
        };
        let subject = self.ctx.subjects.question(None, "submitted");
        let new = new_event(&event, subject, None, now);
        let event_id = new.event_id;
        self.ctx
            .store
            .append(
                &mut tx,
                &question_id.to_string(),
                ExpectedVersion::NoStream,
                vec![new],
            )
            .await?;

        sqlx::query(
            "INSERT INTO questions (question_id, ticket, pin_hash, status, kind, category, channel, session_id,
                                    kecamatan, desa, submitted_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(question_id)
        .bind(&answer.ticket)
        .bind(pin_hash(question_id, &pin))
        .bind(QuestionStatus::Submitted.as_str())
        .bind(kind_name(submission.kind))
        .bind(submission.category.as_str())
        .bind(channel_name(submission.channel))
        .bind(&submission.session_id)
        .bind(&submission.kecamatan)
        .bind(&submission.desa)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if has_contact {
            let contact = crate::vault::Contact {
                name: citizen.name.trim().to_owned(),
                phone: citizen.phone.trim().to_owned(),
                email: citizen.email.trim().to_owned(),
            };
            crate::vault::store(
                &mut tx,
                &self.vault,
                question_id,
                &contact,
                citizen.anonymous,
                citizen.confidential,
            )
            .await?;
        }
        sqlx::query("INSERT INTO timeline (question_id, event_id, event_type, at, summary) VALUES ($1, $2, $3, $4, $5)")
            .bind(question_id)
            .bind(event_id)
            .bind("QuestionSubmitted")
            .bind(now)
            .bind(format!("Diterima dengan tiket {}", answer.ticket))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// The violation of an `ON_SITE` submission naming a session that was never
    /// scheduled (other channels carry no session; a missing one the domain reports).
    async fn unknown_session(&self, draft: &SubmissionDraft) -> Result<Option<FieldViolation>, ApiError> {
        let session_id = draft.session_id.trim();
        if draft.channel != Some(Channel::OnSite) || session_id.is_empty() {
            return Ok(None);
        }
        // Sessions are never deleted, so checking before the transaction is as good as in it.
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sessions WHERE session_id = $1)")
            .bind(session_id)
            .fetch_one(&self.ctx.pool)
            .await?;
        Ok((!known).then(|| FieldViolation {
            field: "session_id".into(),
            description: format!("sesi {session_id:?} tidak terjadwal"),
        }))
    }

    /// The first answer for `request_id`, if the key was used with the same content.
    async fn replay(
        &self,
        request_id: &str,
        fingerprint: &[u8],
    ) -> Result<Option<SubmitQuestionResponse>, ApiError> {
        let row: Option<RequestRow> = sqlx::query_as(
            "SELECT fingerprint, question_id, ticket, tracking_pin, created_at FROM requests WHERE request_id = $1",
        )
        .bind(request_id.trim())
        .fetch_optional(&self.ctx.pool)
        .await?;
        match row {
            None => Ok(None),
            Some((stored, _, _, _, _)) if stored != fingerprint => Err(ApiError::AlreadyExists(format!(
                "request_id {request_id:?} was already used for a different submission"
            ))),
            Some((_, question_id, ticket, Some(tracking_pin), created_at))
                if created_at > replay_horizon(self.ctx.clock.now()) =>
            {
                Ok(Some(SubmitQuestionResponse {
                    question_id: question_id.to_string(),
                    ticket,
                    tracking_pin,
                }))
            }
            Some((_, _, ticket, _, _)) => Err(ApiError::FailedPrecondition(format!(
                "request_id {request_id:?} was submitted more than {PIN_REPLAY_HOURS} h ago as ticket \
                 {ticket}; its tracking PIN is no longer kept, so it cannot be given again"
            ))),
        }
    }
}

/// A stored idempotency key: fingerprint, question, ticket, the PIN while it is kept,
/// and when it was first used.
type RequestRow = (Vec<u8>, uuid::Uuid, String, Option<String>, DateTime<Utc>);

/// Submissions made before this instant are past the replay window.
fn replay_horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    now - TimeDelta::hours(PIN_REPLAY_HOURS)
}

/// Clears the readable PINs of submissions past the replay window (a bounded batch, and
/// rows another instance is clearing are skipped). Returns how many were cleared.
pub(crate) async fn forget_old_pins(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE requests SET tracking_pin = NULL
         WHERE request_id IN (SELECT request_id FROM requests
                              WHERE tracking_pin IS NOT NULL AND created_at <= $1
                              LIMIT 1000 FOR UPDATE SKIP LOCKED)",
    )
    .bind(replay_horizon(now))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
