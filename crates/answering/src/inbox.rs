//! `ListInbox`: an OPD's questions, earliest due first, paged by a keyset token so
//! no item is lost or repeated while new questions arrive; filtered by status and by
//! "overdue only" (open and past its due date).

use chrono::{DateTime, Utc};
use kenduren_domain::{OpdCode, QuestionStatus};
use kenduren_proto::answering::v1::{InboxItem, ListInboxRequest, ListInboxResponse};
use kenduren_runtime::{
    convert::{kind_from_name, kind_to_proto, status_from_proto, status_to_proto},
    timestamp, ApiError,
};
use uuid::Uuid;

use crate::{api::Answering, check::Check, question::is_overdue};

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

type Row = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    i64,
);

/// Position after the last item of a page: (due date in µs, question id).
fn encode_token(due: Option<DateTime<Utc>>, id: Uuid) -> String {
    format!(
        "{}_{}",
        due.map(|d| d.timestamp_micros()).unwrap_or(i64::MAX),
        id.simple()
    )
}

fn decode_token(token: &str) -> Result<(i64, Uuid), ()> {
    let (micros, id) = token.split_once('_').ok_or(())?;
    Ok((
        micros.parse().map_err(|_| ())?,
        Uuid::parse_str(id).map_err(|_| ())?,
    ))
}

impl Answering {
    pub(crate) async fn inbox(&self, req: ListInboxRequest) -> Result<ListInboxResponse, ApiError> {
        let mut c = Check::default();
        let opd = c.parse("opd_code", OpdCode::parse(&req.opd_code));
        let page_size = match i64::from(req.page_size) {
            0 => DEFAULT_PAGE,
            n if n < 0 => {
                c.fail("page_size", "page_size must not be negative");
                DEFAULT_PAGE
            }
            n => n.min(MAX_PAGE),
        };
        let statuses: Vec<&'static str> = if req.statuses.is_empty() {
            QuestionStatus::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .map(QuestionStatus::as_str)
                .collect()
        } else {
            req.statuses
                .iter()
                .map(|v| status_from_proto(*v).map(QuestionStatus::as_str))
                .collect::<Option<_>>()
                .unwrap_or_else(|| {
                    c.fail("statuses", "unknown status value");
                    Vec::new()
                })
        };
        let after = match req.page_token.as_str() {
            "" => Some((i64::MIN, Uuid::nil())),
            token => decode_token(token)
                .map_err(|()| c.fail("page_token", "page_token is not one this service returned"))
                .ok(),
        };
        let (opd, (after_due, after_id)) = c.done(opd.zip(after))?;
        // Only an open question can be overdue: its SLA clock stops at the answer.
        let statuses: Vec<&'static str> = if req.overdue_only {
            statuses
                .into_iter()
                .filter(|s| QuestionStatus::parse(s).is_some_and(QuestionStatus::is_open))
                .collect()
        } else {
            statuses
        };
        let now = self.ctx.clock.now();
        // Questions without a due date sort last, as if due at the end of time.
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT question_id, ticket, status, kind, category, text, due_at, routed_at, version
             FROM questions
             WHERE opd_code = $1 AND status = ANY($2)
               AND (NOT $6 OR due_at < $7)
               AND (COALESCE((extract(epoch FROM due_at) * 1000000)::bigint, 9223372036854775807), question_id) > ($3, $4)
             ORDER BY COALESCE((extract(epoch FROM due_at) * 1000000)::bigint, 9223372036854775807), question_id
             LIMIT $5",
        )
        .bind(opd.as_str())
        .bind(&statuses)
        .bind(after_due)
        .bind(after_id)
        .bind(page_size + 1)
        .bind(req.overdue_only)
        .bind(now)
        .fetch_all(&self.ctx.pool)
        .await?;
        let more = rows.len() as i64 > page_size;
        let mut items = Vec::with_capacity(rows.len());
        let mut next_page_token = String::new();
        for (id, ticket, status, kind, category, text, due_at, routed_at, version) in
            rows.into_iter().take(page_size as usize)
        {
            next_page_token = encode_token(due_at, id);
            let status = QuestionStatus::parse(&status);
            items.push(InboxItem {
                question_id: id.to_string(),
                ticket,
                status: status.map(|s| status_to_proto(s) as i32).unwrap_or_default(),
                overdue: is_overdue(status, due_at, now),
                kind: kind_from_name(&kind)
                    .map(|k| kind_to_proto(k) as i32)
                    .unwrap_or_default(),
                category,
                text,
                due_at: due_at.map(timestamp),
                routed_at: routed_at.map(timestamp),
                version,
            });
        }
        if !more {
            next_page_token.clear();
        }
        Ok(ListInboxResponse {
            items,
            next_page_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        let due = DateTime::from_timestamp_micros(1_790_000_000_000_000);
        let (micros, back) = decode_token(&encode_token(due, id)).expect("round trip");
        assert_eq!((micros, back), (1_790_000_000_000_000, id));
        assert!(decode_token("nope").is_err());
    }
}
