//! Pure arithmetic behind the figures: working hours between two instants, nearest-rank
//! percentiles and "answered on the spot". No I/O, so the definitions are unit-tested
//! here and a simulator can reuse them.

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use kenduren_domain::{calendar::wib, WorkCalendar};

/// Start of the working day in WIB.
pub const WORKDAY_START_HOUR: u32 = 8;
/// End of the working day in WIB.
pub const WORKDAY_END_HOUR: u32 = 16;

/// Working hours between `from` and `to`: the part of `[from, to)` that falls on a
/// working day of `calendar` (Mon–Fri minus holidays, by the WIB date) between 08:00
/// and 16:00 WIB, in hours, exact to the microsecond (figures round once, with
/// [`round_hours`], not per day). Zero when `to` is not after `from`.
pub fn working_hours(calendar: &WorkCalendar, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    if to <= from {
        return 0.0;
    }
    let tz = wib();
    let last = to.with_timezone(&tz).date_naive();
    let mut day = from.with_timezone(&tz).date_naive();
    let mut micros: i64 = 0;
    while day <= last {
        if calendar.is_working_day(day) {
            let at = |hour| {
                let time = NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default();
                tz.from_local_datetime(&day.and_time(time))
                    .single()
                    .map(|t| t.with_timezone(&Utc))
            };
            if let (Some(open), Some(close)) = (at(WORKDAY_START_HOUR), at(WORKDAY_END_HOUR)) {
                let start = open.max(from);
                let end = close.min(to);
                if end > start {
                    micros += (end - start).num_microseconds().unwrap_or(0);
                }
            }
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    micros as f64 / 3_600_000_000.0
}

/// Nearest-rank percentile `p` (0 < p ≤ 100) of `values`: the value at rank
/// ⌈p/100 · n⌉ of the sorted values. The median is `percentile(values, 50.0)`.
/// Zero for no values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// Whether a question submitted at `submitted_at` and first answered at `answered_at`
/// was answered on the spot: before routing's on-the-spot deadline when it gave one,
/// else by the end of the WIB day it was submitted.
pub fn answered_on_the_spot(
    submitted_at: DateTime<Utc>,
    on_the_spot_due_at: Option<DateTime<Utc>>,
    answered_at: DateTime<Utc>,
) -> bool {
    let deadline =
        on_the_spot_due_at.unwrap_or_else(|| WorkCalendar::default().end_of_local_day(submitted_at));
    answered_at < deadline
}

/// `part / whole` as a percentage; zero when `whole` is zero.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Rounds an hours figure to the second, so that floating-point sums compare exactly.
pub fn round_hours(hours: f64) -> f64 {
    (hours * 3600.0).round() / 3600.0
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        wib()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn hours_within_one_working_day_count_fully() {
        // Thursday 26 Nov 2026.
        let h = working_hours(
            &WorkCalendar::default(),
            at(2026, 11, 26, 9, 0),
            at(2026, 11, 26, 11, 30),
        );
        assert_eq!(h, 2.5);
    }

    #[test]
    fn hours_outside_08_to_16_do_not_count() {
        let cal = WorkCalendar::default();
        assert_eq!(
            working_hours(&cal, at(2026, 11, 26, 6, 0), at(2026, 11, 26, 9, 0)),
            1.0
        );
        assert_eq!(
            working_hours(&cal, at(2026, 11, 26, 15, 0), at(2026, 11, 26, 22, 0)),
            1.0
        );
        assert_eq!(
            working_hours(&cal, at(2026, 11, 26, 17, 0), at(2026, 11, 27, 7, 0)),
            0.0
        );
    }

    #[test]
    fn a_weekend_contributes_nothing() {
        // Friday 15:00 to Monday 09:00: one hour on Friday, one on Monday.
        let h = working_hours(
            &WorkCalendar::default(),
            at(2026, 11, 27, 15, 0),
            at(2026, 11, 30, 9, 0),
        );
        assert_eq!(h, 2.0);
    }

    #[test]
    fn holidays_contribute_nothing() {
        let cal = WorkCalendar::new([NaiveDate::from_ymd_opt(2026, 12, 24).expect("date")]);
        // Wed 23 Dec 08:00 → Fri 25 Dec 16:00 with Thursday a holiday: 8 + 0 + 8.
        assert_eq!(
            working_hours(&cal, at(2026, 12, 23, 8, 0), at(2026, 12, 25, 16, 0)),
            16.0
        );
    }

    #[test]
    fn fractions_of_a_second_add_up_before_the_figure_is_rounded() {
        let cal = WorkCalendar::default();
        let half = chrono::Duration::milliseconds(500);
        // 0.5 s before Friday's close and 0.5 s after Monday's opening: one second.
        let h = working_hours(
            &cal,
            at(2026, 11, 27, 16, 0) - half,
            at(2026, 11, 30, 8, 0) + half,
        );
        assert_eq!(round_hours(h), 1.0 / 3600.0);
    }

    #[test]
    fn time_running_backwards_is_zero_hours() {
        let cal = WorkCalendar::default();
        assert_eq!(
            working_hours(&cal, at(2026, 11, 26, 12, 0), at(2026, 11, 26, 10, 0)),
            0.0
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&v, 50.0), 3.0);
        assert_eq!(percentile(&v, 90.0), 5.0);
        assert_eq!(percentile(&[1.0, 2.0], 50.0), 1.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 90.0), 9.0);
    }

    #[test]
    fn on_the_spot_means_before_midnight_wib_of_the_submission_day() {
        assert!(answered_on_the_spot(
            at(2026, 11, 26, 10, 0),
            None,
            at(2026, 11, 26, 23, 59)
        ));
        assert!(!answered_on_the_spot(
            at(2026, 11, 26, 10, 0),
            None,
            at(2026, 11, 27, 0, 0)
        ));
    }

    #[test]
    fn routings_on_the_spot_deadline_wins_when_given() {
        let due = Some(at(2026, 11, 27, 16, 0));
        assert!(answered_on_the_spot(
            at(2026, 11, 26, 10, 0),
            due,
            at(2026, 11, 27, 12, 0)
        ));
        assert!(!answered_on_the_spot(
            at(2026, 11, 26, 10, 0),
            due,
            at(2026, 11, 27, 17, 0)
        ));
    }

    #[test]
    fn percentages_of_nothing_are_zero() {
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(1, 4), 25.0);
    }
}
