//! `CheckInOpd`: an OPD's representative checks in at a session. Whether it was late
//! is decided here, once, against [`super::starts_at`]; checking in again answers the
//! first check-in (a safe retry) and writes nothing. Once the session has ended no new
//! check-in is taken: an OPD that stayed away has been counted absent, and a check-in
//! weeks later must not turn that into "late".

use chrono::SubsecRound;
use kenduren_domain::{FieldViolation, OpdCode};
use kenduren_proto::{
    events::v1::OpdCheckedIn,
    intake::v1::{CheckInOpdRequest, CheckInOpdResponse},
};
use kenduren_runtime::{new_event, timestamp, ApiError};
use kenduren_store::ExpectedVersion;

use super::{attendance, ends_at, read, starts_at, CheckIn};
use crate::api::Intake;

const MAX_REPRESENTATIVE: usize = 200;

impl Intake {
    pub(crate) async fn check_in(&self, req: CheckInOpdRequest) -> Result<CheckInOpdResponse, ApiError> {
        let mut bad = Vec::new();
        let session_id = req.session_id.trim();
        if session_id.is_empty() {
            bad.push(FieldViolation {
                field: "session_id".into(),
                description: "sebut sesi Kenduren Mas".into(),
            });
        }
        let code = req.opd_code.trim();
        let known =
            OpdCode::parse(code).is_ok() && self.reference.opds.iter().any(|o| o.code.as_str() == code);
        if !known {
            bad.push(FieldViolation {
                field: "opd_code".into(),
                description: format!("OPD {code:?} tidak ada di direktori"),
            });
        }
        let representative = req.representative.trim();
        let chars = representative.chars().count();
        if chars == 0 || chars > MAX_REPRESENTATIVE {
            bad.push(FieldViolation {
                field: "representative".into(),
                description: format!("isi nama dan jabatan perwakilan OPD (1–{MAX_REPRESENTATIVE} karakter)"),
            });
        }
        if !bad.is_empty() {
            return Err(ApiError::InvalidArgument(bad));
        }

        let mut tx = self.ctx.pool.begin().await?;
        // The lock serialises check-ins at one session, so the stream version is current.
        let session = read::find(&mut tx, session_id, true)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no session {session_id:?}")))?;
        let first = session.dates.first().copied().unwrap_or_default();
        let last = session.dates.last().copied().unwrap_or(first);
        let existing = read::check_ins(&mut tx, std::slice::from_ref(&session.session_id))
            .await?
            .into_iter()
            .find(|c| c.opd_code == code);
        let check_in = match existing {
            Some(first_check_in) => first_check_in,
            None => {
                // Postgres keeps microseconds: the first answer and a retry's must agree.
                let now = self.ctx.clock.now().trunc_subsecs(6);
                let ended = ends_at(last);
                if now >= ended {
                    let counted = if session.expected_opds.iter().any(|o| o == code) {
                        "is recorded absent"
                    } else {
                        "was not expected and did not check in"
                    };
                    return Err(ApiError::FailedPrecondition(format!(
                        "session {} ended at {} WIB; {code} {counted} and can no longer check in",
                        session.session_id,
                        ended
                            .with_timezone(&kenduren_domain::calendar::wib())
                            .format("%Y-%m-%d %H:%M"),
                    )));
                }
                let late = now > session.starts_at.unwrap_or_else(|| starts_at(first));
                let event = OpdCheckedIn {
                    session_id: session.session_id.clone(),
                    opd_code: code.to_owned(),
                    representative: representative.to_owned(),
                    late,
                    checked_in_at: Some(timestamp(now)),
                };
                let new = new_event(&event, self.ctx.subjects.session("checkedin"), None, now);
                let version = self
                    .ctx
                    .store
                    .stream_version(&mut tx, &session.session_id)
                    .await?;
                self.ctx
                    .store
                    .append(
                        &mut tx,
                        &session.session_id,
                        ExpectedVersion::Exact(version),
                        vec![new],
                    )
                    .await?;
                sqlx::query(
                    "INSERT INTO check_ins (session_id, opd_code, representative, late, checked_in_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&session.session_id)
                .bind(code)
                .bind(representative)
                .bind(late)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                CheckIn {
                    session_id: session.session_id.clone(),
                    opd_code: code.to_owned(),
                    representative: representative.to_owned(),
                    late,
                    checked_in_at: now,
                }
            }
        };
        tx.commit().await?;
        let row = attendance(
            &session.expected_opds,
            std::slice::from_ref(&check_in),
            ends_at(last),
            self.ctx.clock.now(),
        )
        .into_iter()
        .find(|a| a.opd_code == code);
        Ok(CheckInOpdResponse { attendance: row })
    }
}
