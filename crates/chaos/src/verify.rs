//! After a scenario: wait for quiescence (every outbox published, every consumer caught
//! up), then follow each acknowledged question through every store and count what was
//! lost or duplicated.

use std::{
    collections::{BTreeSet, HashMap},
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use async_nats::jetstream;
use futures::TryStreamExt;
use sqlx::PgPool;

use crate::load::Acked;

const SCHEMAS: [&str; 4] = ["intake", "routing", "answering", "reporting"];
const SUBMITTED: &str = "kenduren.events.v1.QuestionSubmitted";
const ROUTED: &str = "kenduren.events.v1.QuestionRouted";
const ANSWERED: &str = "kenduren.events.v1.QuestionAnswered";

/// Waits until, three checks in a row a second apart, no outbox row is unpublished and
/// the four services' consumers have nothing pending or unacknowledged. Returns how long
/// it took.
pub async fn quiesce(
    db: &PgPool,
    js: &jetstream::Context,
    stream: &str,
    limit: Duration,
) -> Result<Duration> {
    let started = Instant::now();
    let mut calm = 0;
    let mut last = String::new();
    while started.elapsed() < limit {
        match backlog(db, js, stream).await {
            Ok((0, consumers, _)) if consumers >= SCHEMAS.len() => calm += 1,
            Ok((_, _, what)) => {
                calm = 0;
                last = what;
            }
            Err(e) => {
                calm = 0;
                last = format!("{e:#}");
            }
        }
        if calm >= 3 {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bail!("not quiescent after {} s: {last}", limit.as_secs())
}

/// Unpublished outbox rows plus consumer backlog, the number of consumers, and a
/// description.
async fn backlog(db: &PgPool, js: &jetstream::Context, stream: &str) -> Result<(u64, usize, String)> {
    let mut total = 0u64;
    let mut parts = Vec::new();
    for schema in SCHEMAS {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {schema}.outbox WHERE NOT published"
        )))
        .fetch_one(db)
        .await?;
        total += n.max(0) as u64;
        parts.push(format!("{schema} outbox {n}"));
    }
    let stream = js.get_stream(stream).await?;
    let infos: Vec<_> = stream.consumers().try_collect().await?;
    for info in &infos {
        let pending = info.num_pending + info.num_ack_pending as u64;
        total += pending;
        parts.push(format!("consumer {} {pending}", info.name));
    }
    Ok((total, infos.len(), parts.join(", ")))
}

/// One row of the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// Scenario name.
    pub scenario: String,
    /// Submissions the desk saw acknowledged.
    pub acknowledged: usize,
    /// Of those, in the OPD's inbox (answering's store).
    pub in_inbox: usize,
    /// Of those, with QuestionSubmitted and QuestionRouted in reporting's timeline.
    pub in_reporting: usize,
    /// Answers the OPD saw acknowledged.
    pub answered: usize,
    /// Acknowledged submissions or answers missing anywhere along the way.
    pub lost: usize,
    /// Questions with an event stored or applied more than once.
    pub duplicated: usize,
    /// Rows in every schema's `dead_letters`.
    pub dead_letters: i64,
    /// Failed calls the client retried.
    pub failed_calls: u64,
    /// What else the scenario checked, and any failure.
    pub notes: Vec<String>,
    /// Whether the scenario's own expectations held (besides lost and duplicated).
    pub expectations_met: bool,
}

impl Row {
    /// Whether this row passes.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.expectations_met
    }
}

/// Counts per question id.
async fn counts(db: &PgPool, sql: &str, ids: &[String]) -> Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(ids)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Follows every acknowledged question end to end and fills the row's counts.
pub async fn check(db: &PgPool, acked: &[Acked], answered: &BTreeSet<String>, row: &mut Row) -> Result<()> {
    let ids: Vec<String> = acked.iter().map(|a| a.question_id.clone()).collect();
    let events = |schema: &str, ty: &str| {
        format!(
            "SELECT stream_id, count(*) FROM {schema}.events \
             WHERE event_type = '{ty}' AND stream_id = ANY($1) GROUP BY stream_id"
        )
    };
    let submitted = counts(db, &events("intake", SUBMITTED), &ids).await?;
    let routed = counts(db, &events("routing", ROUTED), &ids).await?;
    let answers = counts(db, &events("answering", ANSWERED), &ids).await?;
    let inbox = counts(
        db,
        "SELECT question_id::text, count(*) FROM answering.questions \
         WHERE question_id::text = ANY($1) AND opd_code IS NOT NULL GROUP BY 1",
        &ids,
    )
    .await?;
    let tracked_answer = counts(
        db,
        "SELECT question_id::text, count(*) FROM intake.questions \
         WHERE question_id::text = ANY($1) AND answer IS NOT NULL GROUP BY 1",
        &ids,
    )
    .await?;
    let timeline: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT question_id::text, event_type, count(*) FROM reporting.timeline \
         WHERE question_id::text = ANY($1) GROUP BY 1, 2",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    let mut reported: HashMap<&str, HashMap<&str, i64>> = HashMap::new();
    for (q, ty, n) in &timeline {
        reported.entry(q.as_str()).or_default().insert(ty.as_str(), *n);
    }

    let mut lost_examples = Vec::new();
    let mut dup_examples = Vec::new();
    let distinct: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    row.acknowledged = distinct.len();
    if distinct.len() != ids.len() {
        row.notes.push(format!(
            "{} acknowledgements repeated a question id",
            ids.len() - distinct.len()
        ));
    }
    let tickets: HashMap<&str, &str> = acked
        .iter()
        .map(|a| (a.question_id.as_str(), a.ticket.as_str()))
        .collect();
    for q in distinct {
        let n = |m: &HashMap<String, i64>| m.get(q).copied().unwrap_or(0);
        let empty = HashMap::new();
        let r = reported.get(q).unwrap_or(&empty);
        let rn = |ty: &str| r.get(ty).copied().unwrap_or(0);
        let in_inbox = n(&inbox) > 0;
        let in_reporting = rn(SUBMITTED) > 0 && rn(ROUTED) > 0;
        row.in_inbox += usize::from(in_inbox);
        row.in_reporting += usize::from(in_reporting);
        let was_answered = answered.contains(q);
        let mut missing = Vec::new();
        if n(&submitted) == 0 {
            missing.push("intake store");
        }
        if n(&routed) == 0 {
            missing.push("routing store");
        }
        if !in_inbox {
            missing.push("OPD inbox");
        }
        if !in_reporting {
            missing.push("reporting");
        }
        if was_answered && n(&answers) == 0 {
            missing.push("answering store (its answer)");
        }
        if was_answered && rn(ANSWERED) == 0 {
            missing.push("reporting (its answer)");
        }
        if was_answered && n(&tracked_answer) == 0 {
            missing.push("intake tracking (its answer)");
        }
        if !missing.is_empty() {
            row.lost += 1;
            let ticket = tickets.get(q).copied().unwrap_or("?");
            lost_examples.push(format!("{q} ({ticket}): not in {}", missing.join(", ")));
        }
        // Escalations legitimately repeat (one per level); nothing else may.
        let repeated: Vec<&str> = r
            .iter()
            .filter(|(ty, count)| **count > 1 && !ty.ends_with("QuestionEscalated"))
            .map(|(ty, _)| *ty)
            .collect();
        if n(&submitted) > 1 || n(&routed) > 1 || n(&answers) > 1 || !repeated.is_empty() {
            row.duplicated += 1;
            dup_examples.push(format!(
                "{q}: submitted {} routed {} answered {} in stores, repeated in reporting {:?}",
                n(&submitted),
                n(&routed),
                n(&answers),
                repeated
            ));
        }
    }
    row.answered = answered.len();
    for (what, examples) in [("lost", lost_examples), ("duplicated", dup_examples)] {
        for e in examples.iter().take(5) {
            row.notes.push(format!("{what}: {e}"));
        }
    }
    row.dead_letters = dead_letters(db).await?;
    Ok(())
}

/// Rows in every schema's `dead_letters`.
pub async fn dead_letters(db: &PgPool) -> Result<i64> {
    let mut total = 0;
    for schema in SCHEMAS {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {schema}.dead_letters"
        )))
        .fetch_one(db)
        .await?;
        total += n;
    }
    Ok(total)
}

/// Dead letters per consumer whose subject is `subject`.
pub async fn parked_on(db: &PgPool, subject: &str) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for schema in SCHEMAS {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {schema}.dead_letters WHERE subject = $1"
        )))
        .bind(subject)
        .fetch_one(db)
        .await?;
        out.push((schema.to_owned(), n));
    }
    Ok(out)
}
