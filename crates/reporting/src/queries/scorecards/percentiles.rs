//! The exact nearest-rank median and p90: the summed histogram locates the bucket that
//! holds the rank, the facts of that one bucket give the value.

use std::collections::BTreeMap;

use kenduren_runtime::ApiError;
use sqlx::{AssertSqlSafe, PgPool};

use super::{slots::bounds_sql, Totals};
use crate::queries::Period;

/// The nearest rank ⌈p·n⌉ (at least 1) of `n` values, computed as `percentile_disc` does.
fn rank(p: f64, n: i64) -> i64 {
    ((p * n as f64).ceil() as i64).max(1)
}

/// The bucket holding the `rank`-th value of `hist`, and the rank's offset inside it.
fn locate(hist: &[i64], rank: i64) -> Option<(i32, i64)> {
    let mut below = 0;
    for (bucket, n) in hist.iter().enumerate() {
        if below + n >= rank {
            return Some((i32::try_from(bucket).ok()?, rank - below - 1));
        }
        below += n;
    }
    None
}

/// Each OPD's exact median and p90 working seconds to answer over the period.
pub(super) async fn percentiles(
    pool: &PgPool,
    period: Period,
    totals: &BTreeMap<String, Totals>,
) -> Result<BTreeMap<String, (i64, i64)>, ApiError> {
    // One target per OPD and percentile: (OPD, whether it is the p90).
    let mut targets = Vec::new();
    let (mut opds, mut buckets, mut offsets) = (Vec::new(), Vec::new(), Vec::new());
    for (opd, t) in totals {
        let n: i64 = t.hist.iter().sum();
        if n == 0 {
            continue;
        }
        for (p, is_p90) in [(0.5, false), (0.9, true)] {
            if let Some((bucket, offset)) = locate(&t.hist, rank(p, n)) {
                targets.push((opd.clone(), is_p90));
                opds.push(opd.clone());
                buckets.push(bucket);
                offsets.push(offset);
            }
        }
    }
    if opds.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "SELECT t.i, (
             SELECT q.answer_working_seconds FROM question_facts q
             WHERE q.opd_code = t.opd AND scorecard_bucket(q.answer_working_seconds) = t.bucket
               AND q.answered_at IS NOT NULL AND q.answer_working_seconds IS NOT NULL{}
             ORDER BY q.answer_working_seconds OFFSET t.skip LIMIT 1)
         FROM unnest($1::text[], $2::int[], $3::bigint[]) WITH ORDINALITY AS t(opd, bucket, skip, i)",
        bounds_sql(period, "q.assigned_at", 4)
    );
    let mut query = sqlx::query_as::<_, (i64, Option<i64>)>(AssertSqlSafe(sql))
        .bind(opds)
        .bind(buckets)
        .bind(offsets);
    for bound in [period.from, period.to].into_iter().flatten() {
        query = query.bind(bound);
    }
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (i, value) in query.fetch_all(pool).await? {
        // Ordinality counts from 1.
        let Some((opd, is_p90)) = usize::try_from(i - 1).ok().and_then(|i| targets.get(i)) else {
            continue;
        };
        let entry = out.entry(opd.clone()).or_default();
        if *is_p90 {
            entry.1 = value.unwrap_or(0);
        } else {
            entry.0 = value.unwrap_or(0);
        }
    }
    Ok(out)
}
