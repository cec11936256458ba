//! One session's report: what citizens brought, what was answered on the spot, what
//! still waits, how many ideas, and which OPDs came, on time or late (intake's verdict
//! at check-in). An expected OPD that has not checked in is absent only once the session
//! is over (the domain's definition, which intake's attendance shares); before that it
//! is awaited.

use chrono::{DateTime, NaiveDate, Utc};
use kenduren_domain::session;
use kenduren_proto::reporting::v1::{GetSessionReportResponse, LabelCount};
use kenduren_runtime::ApiError;
use sqlx::{AssertSqlSafe, PgPool};

use super::{count, OPEN_STATUSES};
use crate::figures::percent;

type SessionRow = (Vec<String>, String, String);
/// One OPD at a session: code, expected, checked in, checked in late.
type Attendance = (String, bool, bool, bool);

/// The report of `session_id` as of `now`; NOT_FOUND when reporting knows neither the
/// session nor any submission taken at it.
pub async fn report(
    pool: &PgPool,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<GetSessionReportResponse, ApiError> {
    let session: Option<SessionRow> =
        sqlx::query_as("SELECT dates, kecamatan, desa FROM sessions WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(pool)
            .await?;
    let labels = |column: &'static str| {
        sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(format!(
            "SELECT {column}, count(*) FROM question_facts WHERE session_id = $1 GROUP BY 1 ORDER BY 1"
        )))
        .bind(session_id)
        .fetch_all(pool)
    };
    let to_labels = |rows: Vec<(String, i64)>| {
        rows.into_iter()
            .map(|(label, n)| LabelCount {
                label,
                count: count(n),
            })
            .collect::<Vec<_>>()
    };
    let by_kind = to_labels(labels("kind").await?);
    let by_category = to_labels(labels("category").await?);
    let (submissions, on_spot, unanswered, aspirations): (i64, i64, i64, i64) =
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT count(*),
                    count(*) FILTER (WHERE answered_on_the_spot),
                    count(*) FILTER (WHERE status IN {OPEN_STATUSES}),
                    count(*) FILTER (WHERE kind = 'ASPIRATION')
             FROM question_facts WHERE session_id = $1"
        )))
        .bind(session_id)
        .fetch_one(pool)
        .await?;
    if session.is_none() && submissions == 0 {
        return Err(ApiError::NotFound(format!(
            "no session {session_id} in reporting"
        )));
    }
    let opds: Vec<Attendance> = sqlx::query_as(
        "SELECT opd_code, expected, checked_in_at IS NOT NULL, late FROM session_opds
         WHERE session_id = $1 ORDER BY opd_code",
    )
    .bind(session_id)
    .fetch_all(pool)
    .await?;
    let pick = |keep: fn(&Attendance) -> bool| {
        opds.iter()
            .filter(|a| keep(a))
            .map(|(code, ..)| code.clone())
            .collect::<Vec<_>>()
    };
    let (dates, kecamatan, desa) = session.unwrap_or_default();
    let (opds_absent, opds_awaited) = stayed_away(
        pick(|&(_, expected, checked_in, _)| expected && !checked_in),
        &dates,
        now,
    );
    Ok(GetSessionReportResponse {
        session_id: session_id.to_owned(),
        dates,
        kecamatan,
        desa,
        submissions: count(submissions),
        by_kind,
        by_category,
        answered_on_the_spot: count(on_spot),
        still_unanswered: count(unanswered),
        aspiration_percent: percent(count(aspirations), count(submissions)),
        opds_expected: pick(|&(_, expected, ..)| expected),
        opds_checked_in: pick(|&(_, _, checked_in, _)| checked_in),
        opds_absent,
        opds_awaited,
        // `late` is only ever set together with a check-in; testing both keeps it so.
        opds_late: pick(|&(_, _, checked_in, late)| checked_in && late),
        opds_present: pick(|&(_, _, checked_in, late)| checked_in && !late),
    })
}

/// Splits the expected OPDs that have not checked in into (absent, awaited): all absent
/// once the session held on `dates` is over, all awaited before.
fn stayed_away(
    not_checked_in: Vec<String>,
    dates: &[String],
    now: DateTime<Utc>,
) -> (Vec<String>, Vec<String>) {
    let days: Vec<NaiveDate> = dates
        .iter()
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .collect();
    if session::is_over(&days, now) {
        (not_checked_in, Vec::new())
    } else {
        (Vec::new(), not_checked_in)
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
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn opds_that_did_not_come_are_awaited_until_the_session_is_over_then_absent() {
        let dates = vec!["2026-03-03".to_owned(), "2026-03-04".to_owned()];
        let missing = || vec!["BAPENDA".to_owned()];
        assert_eq!(
            stayed_away(missing(), &dates, at(4, 23)),
            (vec![], vec!["BAPENDA".to_owned()]),
            "on the last evening"
        );
        assert_eq!(
            stayed_away(missing(), &dates, at(5, 0)),
            (vec!["BAPENDA".to_owned()], vec![]),
            "from midnight after the last day"
        );
    }

    #[test]
    fn a_session_reporting_has_no_dates_for_awaits_its_opds() {
        assert_eq!(
            stayed_away(vec!["DINKES".into()], &["bad".to_owned()], at(20, 12)),
            (vec![], vec!["DINKES".to_owned()])
        );
    }
}
