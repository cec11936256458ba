//! How a period is read: its whole months and whole days from the summaries, its
//! partial first and last days from the facts.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::queries::Period;

/// WIB (Asia/Jakarta): UTC+7, no daylight saving; the summaries' days are WIB days.
const WIB_SECONDS: i64 = 7 * 3600;

/// How a period is read: whole months and whole days from the summaries, partial days
/// (`raw`, UTC ranges) from the facts. Empty ranges read nothing.
#[derive(Debug, PartialEq)]
pub(super) struct Slots {
    pub(super) months: (NaiveDate, NaiveDate),
    pub(super) days: [(NaiveDate, NaiveDate); 2],
    pub(super) raw: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Unbounded on both sides: questions without an assignment time count too.
    pub(super) unbounded: bool,
}

/// The WIB day `t` falls in, and whether `t` is that day's midnight.
fn wib_day(t: DateTime<Utc>) -> (NaiveDate, bool) {
    let local = t.naive_utc() + Duration::seconds(WIB_SECONDS);
    (local.date(), local.time() == NaiveTime::MIN)
}

/// The instant a WIB day starts.
fn wib_midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&(day.and_time(NaiveTime::MIN) - Duration::seconds(WIB_SECONDS)))
}

/// The first day of `day`'s month.
fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Splits `period` into what the summaries answer and what the facts must.
pub(super) fn slots(period: Period) -> Slots {
    // An open side reads every slot; real assignment days are far inside these.
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(9999, 12, 1).unwrap_or(NaiveDate::MAX);
    let mut raw = Vec::new();
    let from_day = match period.from {
        None => first,
        Some(f) => match wib_day(f) {
            (day, true) => day,
            (day, false) => day.succ_opt().unwrap_or(day),
        },
    };
    let to_day = period.to.map_or(last, |t| wib_day(t).0);
    if let (Some(f), Some(t)) = (period.from, period.to) {
        if from_day >= to_day {
            // No whole day inside: all of it from the facts.
            return Slots {
                months: (first, first),
                days: [(first, first), (first, first)],
                raw: vec![(f, t)],
                unbounded: false,
            };
        }
    }
    if let Some(f) = period.from {
        if f < wib_midnight(from_day) {
            raw.push((f, wib_midnight(from_day)));
        }
    }
    if let Some(t) = period.to {
        if wib_midnight(to_day) < t {
            raw.push((wib_midnight(to_day), t));
        }
    }
    let first_month = if from_day.day() == 1 {
        from_day
    } else {
        month_of(from_day)
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(last)
    };
    let last_month = month_of(to_day);
    let (months, days) = if first_month < last_month {
        (
            (first_month, last_month),
            [(from_day, first_month), (last_month, to_day)],
        )
    } else {
        ((first, first), [(from_day, to_day), (first, first)])
    };
    Slots {
        months,
        days,
        raw,
        unbounded: period.from.is_none() && period.to.is_none(),
    }
}

/// `assigned_at` within the period, for the facts' side of a statement: only the bounds
/// the period has, numbered from `$first` (an `$n IS NULL OR …` filter would make the
/// prepared statement's generic plan ignore the index).
pub(super) fn bounds_sql(period: Period, column: &str, first: usize) -> String {
    let mut sql = String::new();
    let mut n = first;
    if period.from.is_some() {
        sql.push_str(&format!(" AND {column} >= ${n}"));
        n += 1;
    }
    if period.to.is_some() {
        sql.push_str(&format!(" AND {column} < ${n}"));
    }
    sql
}
