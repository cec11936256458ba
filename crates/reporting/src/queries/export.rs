//! The question export: one row per question in submission order, read in pages so
//! that a large export streams instead of loading everything at once.

use chrono::{DateTime, Utc};
use kenduren_proto::reporting::v1::{ExportQuestionsResponse, QuestionRow};
use kenduren_runtime::{timestamp, ApiError};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tonic::Status;
use uuid::Uuid;

use super::{count, Period};

/// Rows read per query.
const PAGE: i64 = 500;

#[derive(sqlx::FromRow)]
struct Row {
    question_id: Uuid,
    ticket: String,
    kind: String,
    category: String,
    channel: String,
    kecamatan: String,
    desa: String,
    session_id: String,
    confidential: bool,
    text: Option<String>,
    status: String,
    opd_code: Option<String>,
    submitted_at: DateTime<Utc>,
    assigned_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>,
    answered_within_due: Option<bool>,
    answered_on_the_spot: bool,
    escalation_level: i32,
    rating: Option<i32>,
    reopened: i32,
}

impl Row {
    fn into_proto(self) -> QuestionRow {
        QuestionRow {
            question_id: self.question_id.to_string(),
            ticket: self.ticket,
            kind: self.kind,
            category: self.category,
            channel: self.channel,
            kecamatan: self.kecamatan,
            desa: self.desa,
            session_id: self.session_id,
            confidential: self.confidential,
            // Never stored for confidential questions; filtered again to be sure.
            text: if self.confidential {
                String::new()
            } else {
                self.text.unwrap_or_default()
            },
            status: self.status,
            opd_code: self.opd_code.unwrap_or_default(),
            submitted_at: Some(timestamp(self.submitted_at)),
            assigned_at: self.assigned_at.map(timestamp),
            due_at: self.due_at.map(timestamp),
            answered_at: self.answered_at.map(timestamp),
            answered_within_due: self.answered_within_due.unwrap_or(false),
            answered_on_the_spot: self.answered_on_the_spot,
            escalation_level: u32::try_from(self.escalation_level).unwrap_or(0),
            rating: self.rating.and_then(|r| u32::try_from(r).ok()).unwrap_or(0),
            reopened: u32::try_from(self.reopened).unwrap_or(0),
        }
    }
}

/// Number of questions the export of `period` has.
pub async fn total(pool: &PgPool, period: Period) -> Result<u64, ApiError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM question_facts
         WHERE ($1::timestamptz IS NULL OR submitted_at >= $1) AND ($2::timestamptz IS NULL OR submitted_at < $2)",
    )
    .bind(period.from)
    .bind(period.to)
    .fetch_one(pool)
    .await?;
    Ok(count(n))
}

/// Sends every row of `period` to `tx`, page by page, until done or the caller hangs up.
pub async fn stream(
    pool: PgPool,
    period: Period,
    total: u64,
    tx: mpsc::Sender<Result<ExportQuestionsResponse, Status>>,
) {
    let mut after: Option<(DateTime<Utc>, Uuid)> = None;
    loop {
        let page: Result<Vec<Row>, sqlx::Error> = sqlx::query_as(
            "SELECT question_id, ticket, kind, category, channel, kecamatan, desa, session_id, confidential,
                    text, status, opd_code, submitted_at, assigned_at, due_at, answered_at,
                    answered_within_due, answered_on_the_spot, escalation_level, rating, reopened
             FROM question_facts
             WHERE ($1::timestamptz IS NULL OR submitted_at >= $1) AND ($2::timestamptz IS NULL OR submitted_at < $2)
               AND ($3::timestamptz IS NULL OR (submitted_at, question_id) > ($3, $4))
             ORDER BY submitted_at, question_id LIMIT $5",
        )
        .bind(period.from)
        .bind(period.to)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(PAGE)
        .fetch_all(&pool)
        .await;
        let rows = match page {
            Ok(rows) => rows,
            Err(error) => {
                let _ = tx.send(Err(ApiError::from(error).into())).await;
                return;
            }
        };
        let last = rows.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
        for row in rows {
            after = Some((row.submitted_at, row.question_id));
            let message = ExportQuestionsResponse {
                total,
                question: Some(row.into_proto()),
            };
            if tx.send(Ok(message)).await.is_err() {
                return; // the caller went away
            }
        }
        if last {
            return;
        }
    }
}
