//! The rebuild benchmark: `N` generated events ([`crate::events`]) on a scratch
//! deployment's own stream, then `kenduren_reporting::rebuild` over them, timed; then
//! the rebuilt read model is checked against what was generated (every question,
//! answer, timeline row, session and check-in there; every event in the inbox; nothing
//! dead-lettered), so the rate is of a rebuild that did all the work.

use std::time::Instant;

use kenduren_runtime::Backbone;
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};

use crate::{
    events::{generate, Generated},
    scratch::{nats, pg, Scratch},
    stats::rate,
    BenchError,
};

/// What the rebuild phase measured and checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RebuildFigures {
    /// What was generated.
    pub generated: Generated,
    /// Seconds generating and publishing took (acks included).
    pub generate_seconds: f64,
    /// Generated events per second.
    pub generate_per_second: f64,
    /// Stream messages the rebuild replayed.
    pub replayed: u64,
    /// Seconds of the whole rebuild: replay, then the swap into place.
    pub seconds: f64,
    /// `generated.events / seconds`.
    pub events_per_second: f64,
    /// The rebuilt read model: questions.
    pub questions: u64,
    /// Questions with an answer.
    pub answered: u64,
    /// Timeline rows.
    pub timeline_rows: u64,
    /// Sessions.
    pub sessions: u64,
    /// Check-ins recorded.
    pub check_ins: u64,
    /// Events in the rebuilt inbox (applied).
    pub applied: u64,
    /// Events parked in dead letters.
    pub dead_letters: u64,
    /// Whether every count above equals what was generated and nothing was parked.
    pub complete: bool,
}

/// Generates `events` events on a scratch deployment on the server of `database_url`,
/// rebuilds reporting from them, checks the result and removes the scratch deployment.
pub async fn measure(
    database_url: &str,
    nats_url: &str,
    events: u64,
    progress: bool,
) -> Result<RebuildFigures, BenchError> {
    let scratch = Scratch::create(database_url, nats_url, "rb").await?;
    let outcome = run(&scratch, events, progress).await;
    let removed = scratch.remove().await;
    let figures = outcome?;
    removed?;
    Ok(figures)
}

async fn run(scratch: &Scratch, events: u64, progress: bool) -> Result<RebuildFigures, BenchError> {
    let backbone = Backbone::connect(scratch.settings.clone()).await.map_err(nats)?;
    let started = Instant::now();
    let generated = generate(&backbone.jetstream, &backbone.subjects, events, progress).await?;
    let generate_seconds = started.elapsed().as_secs_f64();
    if progress {
        eprintln!(
            "bench: generated {} events ({} questions) in {generate_seconds:.1} s; rebuilding reporting",
            generated.events, generated.questions
        );
    }

    let started = Instant::now();
    let mut last_line = Instant::now();
    let done = kenduren_reporting::rebuild(&scratch.settings, |p| {
        if progress && last_line.elapsed().as_secs_f64() >= 1.0 {
            last_line = Instant::now();
            eprintln!(
                "bench: rebuild replayed {} of {} ({:.0} events/s)",
                p.done,
                p.total,
                p.events_per_second()
            );
        }
    })
    .await
    .map_err(|e| BenchError::Postgres(format!("rebuild: {e}")))?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = backbone.nats.drain().await;

    let mut conn = PgConnection::connect(&scratch.settings.database_url)
        .await
        .map_err(pg)?;
    let counts: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM reporting.question_facts),
                (SELECT count(answered_at) FROM reporting.question_facts),
                (SELECT count(*) FROM reporting.timeline),
                (SELECT count(*) FROM reporting.sessions),
                (SELECT count(checked_in_at) FROM reporting.session_opds),
                (SELECT count(*) FROM reporting.inbox WHERE consumer = 'reporting'),
                (SELECT count(*) FROM reporting.dead_letters)",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(pg)?;
    let _ = conn.close().await;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let mut figures = RebuildFigures {
        generated,
        generate_seconds,
        generate_per_second: rate(generated.events, generate_seconds),
        replayed: done.done,
        seconds,
        events_per_second: rate(generated.events, seconds),
        questions: n(counts.0),
        answered: n(counts.1),
        timeline_rows: n(counts.2),
        sessions: n(counts.3),
        check_ins: n(counts.4),
        applied: n(counts.5),
        dead_letters: n(counts.6),
        complete: false,
    };
    figures.complete = figures.replayed == generated.events
        && figures.questions == generated.questions
        && figures.answered == generated.answered
        && figures.timeline_rows == generated.question_events
        && figures.sessions == generated.sessions
        && figures.check_ins == generated.check_ins
        && figures.applied == generated.events
        && figures.dead_letters == 0;
    Ok(figures)
}
