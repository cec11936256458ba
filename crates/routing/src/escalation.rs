//! Escalation that never forgets: a sweep takes each stored deadline that has passed on
//! an open question, one at a time under a row lock that other instances skip, appends
//! `QuestionEscalated` and marks the deadline done in the same transaction — so every
//! level of every clock is escalated exactly once, across restarts and instances.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kenduren_proto::events::v1 as ev;
use kenduren_runtime::{new_event, timestamp, ApiError, CancellationToken, ServiceContext};
use kenduren_store::ExpectedVersion;
use uuid::Uuid;

/// How often the service sweeps on its own unless `KENDUREN_ESCALATION_INTERVAL_SECS` says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The sweep interval from `KENDUREN_ESCALATION_INTERVAL_SECS` (seconds, at least 1).
pub fn interval_from_env() -> Duration {
    std::env::var("KENDUREN_ESCALATION_INTERVAL_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_INTERVAL, Duration::from_secs)
}

/// The next passed deadline of a running clock on an open question, locked. Level 2
/// waits for level 1 of the same clock, so levels go out in order.
const NEXT_DUE: &str = r#"
SELECT d.question_id, d.clock, d.level, d.due_at, q.opd_code
FROM deadlines d
JOIN questions q ON q.question_id = d.question_id AND q.clock = d.clock
WHERE d.escalated_at IS NULL
  AND d.due_at <= $1
  AND q.status IN ('ROUTED', 'ACKNOWLEDGED')
  AND NOT (d.question_id = ANY($2))
  AND (d.level = 1 OR EXISTS (
        SELECT 1 FROM deadlines p
        WHERE p.question_id = d.question_id AND p.clock = d.clock AND p.level = d.level - 1
          AND p.escalated_at IS NOT NULL))
ORDER BY d.due_at, d.level
LIMIT 1
FOR UPDATE OF d, q SKIP LOCKED
"#;

/// A passed deadline: question, clock, level, due, assigned OPD.
type DueRow = (Uuid, i32, i32, DateTime<Utc>, Option<String>);

/// Escalates everything due by `as_of`; returns the events appended.
#[tracing::instrument(skip_all, fields(as_of = %as_of), err)]
pub(crate) async fn sweep(
    ctx: &ServiceContext,
    as_of: DateTime<Utc>,
) -> Result<Vec<ev::QuestionEscalated>, ApiError> {
    let mut escalated = Vec::new();
    // Questions that failed this sweep (e.g. a concurrent append): retried next sweep.
    let mut skipped: Vec<Uuid> = Vec::new();
    loop {
        let mut tx = ctx.pool.begin().await?;
        let row: Option<DueRow> = sqlx::query_as(NEXT_DUE)
            .bind(as_of)
            .bind(&skipped)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((id, clock, level, due_at, opd)) = row else {
            break;
        };
        let stream = id.to_string();
        let opd = opd.unwrap_or_default();
        let event = ev::QuestionEscalated {
            question_id: stream.clone(),
            opd_code: opd.clone(),
            level: u32::try_from(level).unwrap_or(0),
            due_at: Some(timestamp(due_at)),
            escalated_at: Some(timestamp(as_of)),
        };
        let version = ctx.store.stream_version(&mut tx, &stream).await?;
        let subject = ctx.subjects.question(Some(&opd), "escalated");
        let appended = ctx
            .store
            .append(
                &mut tx,
                &stream,
                ExpectedVersion::Exact(version),
                vec![new_event(&event, subject, None, ctx.clock.now())],
            )
            .await;
        if let Err(e) = appended {
            tracing::warn!(question_id = %id, error = %e, "escalation postponed to the next sweep");
            skipped.push(id);
            continue;
        }
        sqlx::query(
            "UPDATE deadlines SET escalated_at = $4 WHERE question_id = $1 AND clock = $2 AND level = $3",
        )
        .bind(id)
        .bind(clock)
        .bind(level)
        .bind(as_of)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // Counted after the commit: each escalation once, whichever instance made it.
        metrics::counter!("kenduren_escalations_total", "level" => level.to_string()).increment(1);
        tracing::info!(question_id = %id, level, "escalated");
        escalated.push(event);
    }
    Ok(escalated)
}

/// Sweeps every `interval` until `shutdown`; a failed sweep is logged and retried.
pub(crate) async fn run_loop(ctx: ServiceContext, interval: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {
                // Errors are logged by the span; the next tick tries again.
                let _ = sweep(&ctx, ctx.clock.now()).await;
            }
        }
    }
}
