//! `SubmitQuestion`: validate, take a ticket, append `QuestionSubmitted` — once per
//! idempotency key, with nothing half-written on any failure.

use chrono::Datelike;
use kenduren_domain::{calendar::wib, FieldViolation, QuestionId, QuestionStatus, SubmissionDraft, Ticket};
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

use crate::api::Intake;

fn draft_from(req: &SubmitQuestionRequest) -> SubmissionDraft {
    let location = req.location.clone().unwrap_or_default();
    SubmissionDraft {
        request_id: req.request_id.clone(),
        kind: kenduren_runtime::convert::kind_from_proto(req.kind),
        category: req.category.clone(),
        text: req.text.clone(),
        channel: kenduren_runtime::convert::channel_from_proto(req.channel),
        session_id: req.session_id.clone(),
        kecamatan: location.kecamatan,
        desa: location.desa,
        coordinates: location.latitude.zip(location.longitude),
    }
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
        let mut violations = citizen_violations(&citizen);
        let submission = match draft_from(&req).validate(&self.reference.catalogue) {
            Ok(s) if violations.is_empty() => s,
            Ok(_) => return Err(ApiError::InvalidArgument(violations)),
            Err(mut bad) => {
                bad.append(&mut violations);
                return Err(ApiError::InvalidArgument(bad));
            }
        };

        let mut tx = self.ctx.pool.begin().await?;
        if !submission.session_id.is_empty() {
            let known: Option<(String,)> =
                sqlx::query_as("SELECT session_id FROM sessions WHERE session_id = $1")
                    .bind(&submission.session_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_none() {
                return Err(ApiError::field(
                    "session_id",
                    format!("sesi {:?} tidak terjadwal", submission.session_id),
                ));
            }
        }
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
            "INSERT INTO requests (request_id, fingerprint, question_id, ticket, tracking_pin)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(&submission.request_id)
        .bind(&fingerprint)
        .bind(question_id)
        .bind(&answer.ticket)
        .bind(&pin)
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

    /// The first answer for `request_id`, if the key was used with the same content.
    async fn replay(
        &self,
        request_id: &str,
        fingerprint: &[u8],
    ) -> Result<Option<SubmitQuestionResponse>, ApiError> {
        let row: Option<(Vec<u8>, uuid::Uuid, String, String)> = sqlx::query_as(
            "SELECT fingerprint, question_id, ticket, tracking_pin FROM requests WHERE request_id = $1",
        )
        .bind(request_id.trim())
        .fetch_optional(&self.ctx.pool)
        .await?;
        match row {
            None => Ok(None),
            Some((stored, question_id, ticket, tracking_pin)) if stored == fingerprint => {
                Ok(Some(SubmitQuestionResponse {
                    question_id: question_id.to_string(),
                    ticket,
                    tracking_pin,
                }))
            }
            Some(_) => Err(ApiError::AlreadyExists(format!(
                "request_id {request_id:?} was already used for a different submission"
            ))),
        }
    }
}
