//! `GetSession` and `ListSessions`: sessions with their attendance as of now.

use chrono::{DateTime, NaiveDate, Utc};
use kenduren_proto::intake::v1::{
    GetSessionRequest, GetSessionResponse, ListSessionsRequest, ListSessionsResponse, Session,
};
use kenduren_runtime::{timestamp, ApiError};
use sqlx::PgConnection;

use super::{attendance, decode_item, ends_at, starts_at, CheckIn};
use crate::api::Intake;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

/// A `sessions` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) session_id: String,
    pub(crate) kecamatan: String,
    pub(crate) desa: String,
    pub(crate) dates: Vec<NaiveDate>,
    pub(crate) expected_opds: Vec<String>,
    pub(crate) programme: Vec<String>,
    pub(crate) starts_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "session_id, kecamatan, desa, dates, expected_opds, programme, starts_at";

impl SessionRow {
    /// The API form, with attendance computed from `check_ins` as of `now`.
    pub(crate) fn to_proto(&self, check_ins: &[CheckIn], now: DateTime<Utc>) -> Session {
        let first = self.dates.first().copied().unwrap_or_default();
        let last = self.dates.last().copied().unwrap_or(first);
        let mine: Vec<CheckIn> = check_ins
            .iter()
            .filter(|c| c.session_id == self.session_id)
            .cloned()
            .collect();
        Session {
            session_id: self.session_id.clone(),
            dates: self.dates.iter().map(|d| d.to_string()).collect(),
            kecamatan: self.kecamatan.clone(),
            desa: self.desa.clone(),
            programme: self.programme.iter().map(|p| decode_item(p)).collect(),
            expected_opd_codes: self.expected_opds.clone(),
            starts_at: Some(timestamp(self.starts_at.unwrap_or_else(|| starts_at(first)))),
            attendance: attendance(&self.expected_opds, &mine, ends_at(last), now),
        }
    }
}

/// The session `id`, locked for update when `lock` is set.
pub(crate) async fn find(
    conn: &mut PgConnection,
    id: &str,
    lock: bool,
) -> Result<Option<SessionRow>, ApiError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sessions WHERE session_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The check-ins of these sessions.
pub(crate) async fn check_ins(conn: &mut PgConnection, ids: &[String]) -> Result<Vec<CheckIn>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT session_id, opd_code, representative, late, checked_in_at FROM check_ins
         WHERE session_id = ANY($1) ORDER BY checked_in_at",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?)
}

/// The session `id` with its attendance as of `now`, or NOT_FOUND.
pub(crate) async fn load(conn: &mut PgConnection, id: &str, now: DateTime<Utc>) -> Result<Session, ApiError> {
    let row = find(conn, id, false)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no session {id:?}")))?;
    let ins = check_ins(conn, std::slice::from_ref(&row.session_id)).await?;
    Ok(row.to_proto(&ins, now))
}

/// A page token: the first date and id of the last session on the previous page.
fn parse_token(token: &str) -> Result<Option<(NaiveDate, String)>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || {
        ApiError::field(
            "page_token",
            "page_token tidak valid; pakai next_page_token apa adanya",
        )
    };
    let (date, id) = token.split_once('/').ok_or_else(bad)?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
    Ok(Some((date, id.to_owned())))
}

impl Intake {
    pub(crate) async fn get_session(&self, req: GetSessionRequest) -> Result<GetSessionResponse, ApiError> {
        let mut conn = self.ctx.pool.acquire().await?;
        let session = load(&mut conn, req.session_id.trim(), self.ctx.clock.now()).await?;
        Ok(GetSessionResponse {
            session: Some(session),
        })
    }

    pub(crate) async fn list_sessions(
        &self,
        req: ListSessionsRequest,
    ) -> Result<ListSessionsResponse, ApiError> {
        let size = match i64::from(req.page_size) {
            n if n < 0 => return Err(ApiError::field("page_size", "page_size tidak boleh negatif")),
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let after = parse_token(&req.page_token)?;
        let (after_date, after_id) = after.unzip();
        let mut conn = self.ctx.pool.acquire().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions
             WHERE ($1 = '' OR lower(kecamatan) = lower($1))
               AND ($2::date IS NULL OR (dates[1], session_id) > ($2, $3))
             ORDER BY dates[1], session_id LIMIT $4"
        );
        let mut rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(req.kecamatan.trim())
            .bind(after_date)
            .bind(after_id.unwrap_or_default())
            .bind(size + 1)
            .fetch_all(&mut *conn)
            .await?;
        let more = rows.len() as i64 > size;
        rows.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        let next_page_token = match rows.last() {
            Some(last) if more => format!(
                "{}/{}",
                last.dates.first().copied().unwrap_or_default(),
                last.session_id
            ),
            _ => String::new(),
        };
        let ids: Vec<String> = rows.iter().map(|r| r.session_id.clone()).collect();
        let ins = check_ins(&mut conn, &ids).await?;
        Ok(ListSessionsResponse {
            sessions: rows
                .iter()
                .map(|r| r.to_proto(&ins, self.ctx.clock.now()))
                .collect(),
            next_page_token,
        })
    }
}
