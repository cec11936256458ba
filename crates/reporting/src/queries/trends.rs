//! Weekly or monthly series per OPD, kecamatan or category: submitted (by submission
//! time), answered and answered within due (by first-answer time), in WIB periods.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use kenduren_domain::FieldViolation;
use kenduren_proto::reporting::v1::{TrendDimension, TrendGranularity, TrendPoint, TrendSeries};
use kenduren_runtime::ApiError;
use sqlx::{AssertSqlSafe, PgPool};

use super::{count, Period};

/// Checks the request's enums, listing every bad field; returns the SQL `date_trunc`
/// unit and the column the series are keyed on.
pub fn parse(granularity: i32, dimension: i32) -> Result<(&'static str, &'static str), ApiError> {
    let mut violations = Vec::new();
    let unit = match TrendGranularity::try_from(granularity) {
        Ok(TrendGranularity::Week) => "week",
        Ok(TrendGranularity::Month) => "month",
        _ => {
            violations.push(FieldViolation {
                field: "granularity".into(),
                description: "must be TREND_GRANULARITY_WEEK or TREND_GRANULARITY_MONTH".into(),
            });
            ""
        }
    };
    let column = match TrendDimension::try_from(dimension) {
        Ok(TrendDimension::Opd) => "opd_code",
        Ok(TrendDimension::Kecamatan) => "kecamatan",
        Ok(TrendDimension::Category) => "category",
        _ => {
            violations.push(FieldViolation {
                field: "dimension".into(),
                description: "must be TREND_DIMENSION_OPD, _KECAMATAN or _CATEGORY".into(),
            });
            ""
        }
    };
    if violations.is_empty() {
        Ok((unit, column))
    } else {
        Err(ApiError::InvalidArgument(violations))
    }
}

/// The series, keys in order, points in time order.
pub async fn trends(
    pool: &PgPool,
    unit: &'static str,
    column: &'static str,
    period: Period,
) -> Result<Vec<TrendSeries>, ApiError> {
    let bucket = |time: &str| format!("date_trunc('{unit}', {time} AT TIME ZONE 'Asia/Jakarta')::date");
    let submitted: Vec<(String, NaiveDate, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {column}, {b}, count(*) FROM question_facts
         WHERE {column} IS NOT NULL
           AND ($1::timestamptz IS NULL OR submitted_at >= $1) AND ($2::timestamptz IS NULL OR submitted_at < $2)
         GROUP BY 1, 2",
        b = bucket("submitted_at")
    )))
    .bind(period.from)
    .bind(period.to)
    .fetch_all(pool)
    .await?;
    let answered: Vec<(String, NaiveDate, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {column}, {b}, count(*), count(*) FILTER (WHERE answered_within_due) FROM question_facts
         WHERE {column} IS NOT NULL AND answered_at IS NOT NULL
           AND ($1::timestamptz IS NULL OR answered_at >= $1) AND ($2::timestamptz IS NULL OR answered_at < $2)
         GROUP BY 1, 2",
        b = bucket("answered_at")
    )))
    .bind(period.from)
    .bind(period.to)
    .fetch_all(pool)
    .await?;
    let mut series: Series = BTreeMap::new();
    for (key, start, n) in submitted {
        point(&mut series, key, start).submitted = count(n);
    }
    for (key, start, n, within) in answered {
        let p = point(&mut series, key, start);
        p.answered = count(n);
        p.answered_within_due = count(within);
    }
    Ok(series
        .into_iter()
        .map(|(key, points)| TrendSeries {
            key,
            points: points.into_values().collect(),
        })
        .collect())
}

type Series = BTreeMap<String, BTreeMap<NaiveDate, TrendPoint>>;

/// The point of `key` for the period starting `start`, created empty on first use.
fn point(series: &mut Series, key: String, start: NaiveDate) -> &mut TrendPoint {
    series
        .entry(key)
        .or_default()
        .entry(start)
        .or_insert_with(|| TrendPoint {
            period_start: start.format("%Y-%m-%d").to_string(),
            ..Default::default()
        })
}
