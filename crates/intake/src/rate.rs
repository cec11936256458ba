//! `RateAnswer`: the citizen rates an answer once; a poor rating soon after the answer
//! sends the question back to its OPD.

use chrono::{DateTime, Utc};
use kenduren_domain::{FieldViolation, Transition, WorkCalendar};
use kenduren_proto::{
    events::v1 as ev,
    intake::v1::{RateAnswerRequest, RateAnswerResponse},
};
use kenduren_runtime::{convert::status_to_proto, timestamp, ApiError};

use crate::{api::Intake, citizen::locate, withdraw::note_violation};

/// Ratings at or below this reopen the question (within the window).
pub const REOPENING_RATING: u32 = 2;
/// Working days after the answer during which a poor rating reopens.
pub const REOPEN_WINDOW_WORKING_DAYS: u32 = 10;

/// Whether a rating given at `rated_at` for an answer given at `answered_at` reopens.
pub fn reopens(
    calendar: &WorkCalendar,
    rating: u32,
    answered_at: DateTime<Utc>,
    rated_at: DateTime<Utc>,
) -> bool {
    rating <= REOPENING_RATING && rated_at < calendar.due_after(answered_at, REOPEN_WINDOW_WORKING_DAYS)
}

impl Intake {
    pub(crate) async fn rate(&self, req: RateAnswerRequest) -> Result<RateAnswerResponse, ApiError> {
        let mut bad: Vec<FieldViolation> = note_violation("comment", &req.comment).into_iter().collect();
        if !(1..=5).contains(&req.rating) {
            bad.push(FieldViolation {
                field: "rating".into(),
                description: "beri nilai 1 (sangat buruk) sampai 5 (sangat baik)".into(),
            });
        }
        if !bad.is_empty() {
            return Err(ApiError::InvalidArgument(bad));
        }
        let mut tx = self.ctx.pool.begin().await?;
        let question = locate(&mut tx, &req.ticket, &req.tracking_pin).await?;
        tracing::Span::current().record("question_id", tracing::field::display(question.question_id));
        let status = question.status()?;
        // Probe the lifecycle first so an unanswered question names its status.
        status.apply(Transition::Rate { reopens: false })?;
        if question.rated {
            return Err(ApiError::FailedPrecondition(format!(
                "this answer was already rated; the question is {status}"
            )));
        }
        let now = self.ctx.clock.now();
        let calendar = crate::projection::calendar(&mut tx).await?;
        let reopen = reopens(&calendar, req.rating, question.answered_at.unwrap_or(now), now);
        let next = status.apply(Transition::Rate { reopens: reopen })?;
        let event = ev::AnswerRated {
            question_id: question.question_id.to_string(),
            rating: req.rating,
            comment: req.comment.trim().to_owned(),
            reopens: reopen,
            rated_at: Some(timestamp(now)),
        };
        let summary = if reopen {
            format!(
                "Dinilai {}/5; dibuka kembali untuk {}",
                req.rating,
                question.opd_code.as_deref().unwrap_or("OPD")
            )
        } else {
            format!("Dinilai {}/5", req.rating)
        };
        self.append_question_event(&mut tx, &question, &event, &summary)
            .await?;
        sqlx::query(
            "UPDATE questions SET status = $2, rating = $3, rating_comment = $4, rated = true, updated_at = now()
             WHERE question_id = $1",
        )
        .bind(question.question_id)
        .bind(next.as_str())
        .bind(i32::try_from(req.rating).unwrap_or(0))
        .bind(req.comment.trim())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RateAnswerResponse {
            question_id: question.question_id.to_string(),
            status: status_to_proto(next) as i32,
            reopened: reopen,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use kenduren_domain::calendar::wib;

    use super::*;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        wib()
            .with_ymd_and_hms(2026, 3, d, h, 0, 0)
            .single()
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_poor_rating_within_ten_working_days_reopens() {
        let cal = WorkCalendar::default();
        // Answered Monday 2 March; ten working days end with Monday 16 March.
        assert!(reopens(&cal, 1, at(2, 10), at(16, 23)));
        assert!(reopens(&cal, 2, at(2, 10), at(3, 9)));
        assert!(!reopens(&cal, 2, at(2, 10), at(17, 0)));
    }

    #[test]
    fn a_fair_or_good_rating_never_reopens() {
        let cal = WorkCalendar::default();
        for rating in 3..=5 {
            assert!(!reopens(&cal, rating, at(2, 10), at(2, 11)));
        }
    }
}
