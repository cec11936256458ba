//! The query benchmark: `GetOpdScorecards` and `ListUnanswered` latency over `N`
//! questions, through the real gRPC service with an analyst token.
//!
//! This phase measures the queries, not the projection: a scratch reporting service
//! starts on its own database and stream, and its read model is filled directly with
//! SQL (`sql/fill_*.sql`: a year of questions over 40 OPDs, 24 kecamatan, 23 categories,
//! statuses by age, escalations, sessions). Every answer is checked against a count
//! taken with SQL, so a fast wrong answer does not pass as a figure.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use kenduren_proto::reporting::v1::{
    reporting_service_client::ReportingServiceClient, GetOpdScorecardsRequest, ListUnansweredRequest,
};
use kenduren_runtime::{timestamp, Backbone, CancellationToken};
use serde::{Deserialize, Serialize};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};
use tonic::{metadata::MetadataValue, transport::Channel};

use crate::{
    connect,
    scratch::{nats, pg, Scratch},
    stats::{Recorder, Throughput},
    tokens::{authed, Tokens},
    BenchError,
};

/// OPDs and kecamatan the filtered listings cycle through (a subset of the filled ones).
const OPDS: [&str; 5] = ["DINKES", "DPUPR", "KEC_BANGIL", "DISDIK", "BAPENDA"];
const KECAMATAN: [&str; 5] = ["Bangil", "Tosari", "Pandaan", "Gempol", "Lekok"];

/// What the query phase measured and checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryFigures {
    /// Questions in the read model.
    pub questions: u64,
    /// How the read model was filled.
    pub filled_by: String,
    /// Seconds the fill took (rows, indexes, VACUUM ANALYZE).
    pub fill_seconds: f64,
    /// Calls per query (after five unmeasured warm-up calls), one at a time.
    pub iterations: u64,
    /// `GetOpdScorecards` for the last calendar month (WIB).
    pub scorecards_month: Throughput,
    /// `GetOpdScorecards` for the whole year of data.
    pub scorecards_year: Throughput,
    /// `ListUnanswered` first page (50), no filter.
    pub unanswered_first_page: Throughput,
    /// `ListUnanswered` first page filtered by one OPD (five OPDs in turn).
    pub unanswered_by_opd: Throughput,
    /// `ListUnanswered` first page filtered by one kecamatan (five in turn).
    pub unanswered_by_kecamatan: Throughput,
    /// Sum of `assigned` over the whole-year scorecards.
    pub year_assigned: u64,
    /// Questions with an OPD, counted with SQL.
    pub expected_assigned: u64,
    /// OPDs in the whole-year scorecards.
    pub year_opds: u64,
    /// `total` of the unfiltered listing.
    pub unanswered_total: u64,
    /// Open, non-confidential questions, counted with SQL.
    pub expected_unanswered: u64,
    /// Whether every call succeeded and every answer matched its SQL count.
    pub consistent: bool,
}

/// Fills a scratch reporting service with `questions` questions and measures the queries.
pub async fn measure(
    database_url: &str,
    nats_url: &str,
    questions: u64,
    iterations: u64,
    progress: bool,
) -> Result<QueryFigures, BenchError> {
    let scratch = Scratch::create(database_url, nats_url, "q").await?;
    let outcome = serve_and_measure(&scratch, questions, iterations, progress).await;
    let removed = scratch.remove().await;
    let figures = outcome?;
    removed?;
    Ok(figures)
}

async fn serve_and_measure(
    scratch: &Scratch,
    questions: u64,
    iterations: u64,
    progress: bool,
) -> Result<QueryFigures, BenchError> {
    let backbone = Backbone::connect(scratch.settings.clone()).await.map_err(nats)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| BenchError::Config(format!("listening: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BenchError::Config(format!("listening: {e}")))?;
    let stop = CancellationToken::new();
    let service = tokio::spawn({
        let (backbone, stop) = (backbone.clone(), stop.clone());
        async move { kenduren_reporting::run(&backbone, listener, stop).await }
    });
    let outcome = async {
        let tokens = Tokens::new(&scratch.settings.auth_key)?;
        let auth = tokens.header("analyst")?;
        let mut client = ReportingServiceClient::new(ready(&format!("http://{addr}"), &auth).await?);
        let started = Instant::now();
        let expected = fill(&scratch.settings.database_url, questions, progress).await?;
        let fill_seconds = started.elapsed().as_secs_f64();
        if progress {
            eprintln!("bench: filled {questions} questions in {fill_seconds:.1} s; querying");
        }
        run_queries(&mut client, &auth, iterations, expected, fill_seconds, questions).await
    }
    .await;
    stop.cancel();
    let _ = service.await;
    let _ = backbone.nats.drain().await;
    outcome
}

/// A channel to the scratch service once it answers an analyst (it has migrated).
async fn ready(url: &str, auth: &MetadataValue<tonic::metadata::Ascii>) -> Result<Channel, BenchError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(channel) = connect(url).await {
            let mut client = ReportingServiceClient::new(channel.clone());
            if client
                .get_opd_scorecards(authed(GetOpdScorecardsRequest::default(), auth))
                .await
                .is_ok()
            {
                return Ok(channel);
            }
        }
        if Instant::now() > deadline {
            return Err(BenchError::Connect {
                url: url.into(),
                reason: "the scratch reporting service did not answer within 30 s".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SQL counts the answers must match: (questions with an OPD, open public questions).
type Expected = (i64, i64);

/// Fills the read model and returns the counts to check the answers against.
async fn fill(database_url: &str, questions: u64, progress: bool) -> Result<Expected, BenchError> {
    // The fill's statements take tens of seconds by design: no slow-statement warnings.
    let options = database_url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .map_err(pg)?
        .disable_statement_logging();
    let mut conn = PgConnection::connect_with(&options).await.map_err(pg)?;
    conn.execute("SET search_path = reporting").await.map_err(pg)?;
    // The same questions on every run of the same size.
    conn.execute("SELECT setseed(0.42)").await.map_err(pg)?;
    if progress {
        eprintln!("bench: filling reporting's read model with {questions} questions (SQL)");
    }
    sqlx::query(include_str!("sql/fill_questions.sql"))
        .bind(i64::try_from(questions).unwrap_or(i64::MAX))
        .bind(Utc::now())
        .execute(&mut conn)
        .await
        .map_err(pg)?;
    sqlx::raw_sql(include_str!("sql/fill_others.sql"))
        .execute(&mut conn)
        .await
        .map_err(pg)?;
    // The scorecard summaries are filled by question_facts' triggers during the insert.
    for table in [
        "question_facts",
        "escalations",
        "sessions",
        "session_opds",
        "scorecard_days",
        "scorecard_months",
        "escalation_days",
        "escalation_months",
        "attendance_days",
        "attendance_months",
    ] {
        // VACUUM sets the visibility map, as autovacuum would on a settled table.
        conn.execute(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
            .await
            .map_err(pg)?;
    }
    let expected: Expected = sqlx::query_as(
        "SELECT count(opd_code),
                count(*) FILTER (WHERE status IN ('SUBMITTED', 'TRIAGE', 'ROUTED', 'ACKNOWLEDGED')
                                   AND NOT confidential)
         FROM question_facts",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(pg)?;
    let _ = conn.close().await;
    Ok(expected)
}

/// The first instant of the calendar month (WIB) before the one `now` is in, and of `now`'s.
fn last_month(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let Some(wib) = chrono::FixedOffset::east_opt(7 * 3600) else {
        return (now - chrono::Duration::days(30), now);
    };
    let local = now.with_timezone(&wib);
    let (y, m) = (local.year(), local.month());
    let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    let first = |y, m| {
        wib.with_ymd_and_hms(y, m, 1, 0, 0, 0)
            .single()
            .map_or(now, |t| t.with_timezone(&Utc))
    };
    (first(py, pm), first(y, m))
}

async fn run_queries(
    client: &mut ReportingServiceClient<Channel>,
    auth: &MetadataValue<tonic::metadata::Ascii>,
    iterations: u64,
    expected: Expected,
    fill_seconds: f64,
    questions: u64,
) -> Result<QueryFigures, BenchError> {
    let now = Utc::now();
    let (month_from, month_to) = last_month(now);
    let month = GetOpdScorecardsRequest {
        from: Some(timestamp(month_from)),
        to: Some(timestamp(month_to)),
    };
    let year = GetOpdScorecardsRequest {
        from: Some(timestamp(now - chrono::Duration::days(366))),
        to: Some(timestamp(now + chrono::Duration::days(1))),
    };
    let mut ok = true;

    let scorecards_month = timed(iterations, |_| {
        let (mut c, r) = (client.clone(), authed(month, auth));
        async move { c.get_opd_scorecards(r).await.is_ok() }
    })
    .await;
    let year_reply = client
        .get_opd_scorecards(authed(year, auth))
        .await
        .map_err(|e| BenchError::Config(format!("GetOpdScorecards: {e}")))?
        .into_inner();
    let year_assigned: u64 = year_reply.scorecards.iter().map(|c| c.assigned).sum();
    let scorecards_year = timed(iterations, |_| {
        let (mut c, r) = (client.clone(), authed(year, auth));
        async move { c.get_opd_scorecards(r).await.is_ok() }
    })
    .await;

    let page = |opd: &str, kecamatan: &str| ListUnansweredRequest {
        opd_code: opd.into(),
        kecamatan: kecamatan.into(),
        page_size: 50,
        ..Default::default()
    };
    let first = client
        .list_unanswered(authed(page("", ""), auth))
        .await
        .map_err(|e| BenchError::Config(format!("ListUnanswered: {e}")))?
        .into_inner();
    ok &= first.questions.len() as u64 == first.total.min(50);
    let unanswered_first_page = timed(iterations, |_| {
        let (mut c, r) = (client.clone(), authed(page("", ""), auth));
        async move {
            c.list_unanswered(r)
                .await
                .is_ok_and(|p| !p.get_ref().questions.is_empty())
        }
    })
    .await;
    let unanswered_by_opd = timed(iterations, |i| {
        let (mut c, r) = (client.clone(), authed(page(OPDS[i % OPDS.len()], ""), auth));
        async move { c.list_unanswered(r).await.is_ok() }
    })
    .await;
    let unanswered_by_kecamatan = timed(iterations, |i| {
        let (mut c, r) = (
            client.clone(),
            authed(page("", KECAMATAN[i % KECAMATAN.len()]), auth),
        );
        async move { c.list_unanswered(r).await.is_ok() }
    })
    .await;

    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let mut figures = QueryFigures {
        questions,
        filled_by: "SQL INSERT ... SELECT generate_series into reporting's read model (measures the queries, not the projection)".into(),
        fill_seconds,
        iterations,
        scorecards_month,
        scorecards_year,
        unanswered_first_page,
        unanswered_by_opd,
        unanswered_by_kecamatan,
        year_assigned,
        expected_assigned: n(expected.0),
        year_opds: year_reply.scorecards.len() as u64,
        unanswered_total: first.total,
        expected_unanswered: n(expected.1),
        consistent: false,
    };
    let all = [
        &figures.scorecards_month,
        &figures.scorecards_year,
        &figures.unanswered_first_page,
        &figures.unanswered_by_opd,
        &figures.unanswered_by_kecamatan,
    ];
    ok &= all.iter().all(|t| t.errors == 0 && t.ok == iterations);
    figures.consistent = ok
        && figures.year_assigned == figures.expected_assigned
        && figures.unanswered_total == figures.expected_unanswered;
    Ok(figures)
}

/// Runs `call(i)` `iterations` times one after another, after five unmeasured warm-ups.
async fn timed<F, Fut>(iterations: u64, mut call: F) -> Throughput
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for i in 0..5 {
        call(i).await;
    }
    let mut recorder = Recorder::new();
    let mut errors = 0;
    let started = Instant::now();
    for i in 0..iterations as usize {
        let sent = Instant::now();
        if call(i).await {
            recorder.record(sent.elapsed());
        } else {
            errors += 1;
        }
    }
    Throughput::new(&recorder, errors, started.elapsed())
}
