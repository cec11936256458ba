//! Open questions, overdue first. Confidential questions are only counted.

use chrono::{DateTime, Utc};
use kenduren_domain::FieldViolation;
use kenduren_proto::reporting::v1::{ListUnansweredRequest, ListUnansweredResponse, UnansweredQuestion};
use kenduren_runtime::{timestamp, ApiError};
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use super::{count, OPEN_STATUSES};

/// Page size when the caller gives none.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page.
pub const MAX_PAGE_SIZE: i64 = 500;

/// A validated request: filters, page size and offset.
#[derive(Debug)]
pub struct Query {
    opd_code: String,
    kecamatan: String,
    category: String,
    min_level: i32,
    limit: i64,
    offset: i64,
}

impl Query {
    /// Checks the request, listing every bad field.
    pub fn parse(req: &ListUnansweredRequest) -> Result<Self, ApiError> {
        let mut violations = Vec::new();
        if req.page_size < 0 {
            violations.push(FieldViolation {
                field: "page_size".into(),
                description: "must not be negative".into(),
            });
        }
        let offset = if req.page_token.is_empty() {
            0
        } else {
            match req.page_token.parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    violations.push(FieldViolation {
                        field: "page_token".into(),
                        description: "not a token from a previous response".into(),
                    });
                    0
                }
            }
        };
        let min_level = i32::try_from(req.min_escalation_level).unwrap_or_else(|_| {
            violations.push(FieldViolation {
                field: "min_escalation_level".into(),
                description: "too large".into(),
            });
            0
        });
        if !violations.is_empty() {
            return Err(ApiError::InvalidArgument(violations));
        }
        let limit = match i64::from(req.page_size) {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        Ok(Self {
            opd_code: req.opd_code.clone(),
            kecamatan: req.kecamatan.clone(),
            category: req.category.clone(),
            min_level,
            limit,
            offset,
        })
    }
}

impl Query {
    /// The filters, shared by the listing and the counts, and their values in order
    /// (`$1`, `$2`, ...). Only the filters the caller gave are in the SQL, so each
    /// combination is its own prepared statement and the planner picks the matching
    /// partial index (a `$1 = '' OR opd_code = $1` would defeat it in a generic plan).
    fn filters(&self) -> (String, Vec<&str>) {
        let mut sql = format!("status IN {OPEN_STATUSES} AND escalation_level >= $1");
        let mut values = Vec::new();
        for (column, value) in [
            ("opd_code", &self.opd_code),
            ("kecamatan", &self.kecamatan),
            ("category", &self.category),
        ] {
            if !value.is_empty() {
                values.push(value.as_str());
                sql.push_str(&format!(" AND {column} = ${}", values.len() + 1));
            }
        }
        (sql, values)
    }
}

type Row = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    i32,
    Option<String>,
);

/// One page of open questions matching `query`.
pub async fn list(
    pool: &PgPool,
    query: &Query,
    now: DateTime<Utc>,
) -> Result<ListUnansweredResponse, ApiError> {
    let (filters, values) = query.filters();
    let mut counts = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT count(*) FILTER (WHERE NOT confidential), count(*) FILTER (WHERE confidential)
         FROM question_facts WHERE {filters}"
    )))
    .bind(query.min_level);
    for value in &values {
        counts = counts.bind(*value);
    }
    let (total, confidential): (i64, i64) = counts.fetch_one(pool).await?;
    // Overdue first, then by due date, the undated last: as due dates before `now` come
    // before the others, that is the due date ascending, undated last.
    let n = values.len();
    let mut page = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT question_id, ticket, kind, category, kecamatan, desa, session_id, opd_code, status,
                submitted_at, due_at, escalation_level, text
         FROM question_facts WHERE NOT confidential AND {filters}
         ORDER BY due_at ASC NULLS LAST, submitted_at, question_id
         LIMIT ${} OFFSET ${}",
        n + 2,
        n + 3
    )))
    .bind(query.min_level);
    for value in &values {
        page = page.bind(*value);
    }
    let rows: Vec<Row> = page.bind(query.limit).bind(query.offset).fetch_all(pool).await?;
    let next = query.offset + rows.len() as i64;
    let next_page_token = if next < total {
        next.to_string()
    } else {
        String::new()
    };
    let questions = rows
        .into_iter()
        .map(
            |(
                id,
                ticket,
                kind,
                category,
                kecamatan,
                desa,
                session_id,
                opd,
                status,
                submitted_at,
                due_at,
                level,
                text,
            )| {
                UnansweredQuestion {
                    question_id: id.to_string(),
                    ticket,
                    kind,
                    category,
                    kecamatan,
                    desa,
                    session_id,
                    opd_code: opd.unwrap_or_default(),
                    status,
                    submitted_at: Some(timestamp(submitted_at)),
                    due_at: due_at.map(timestamp),
                    overdue: due_at.is_some_and(|d| d < now),
                    escalation_level: u32::try_from(level).unwrap_or(0),
                    text: text.unwrap_or_default(),
                }
            },
        )
        .collect();
    Ok(ListUnansweredResponse {
        questions,
        next_page_token,
        confidential_count: count(confidential),
        total: count(total),
    })
}
