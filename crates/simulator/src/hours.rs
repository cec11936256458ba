//! The simulator's own working-time arithmetic for "working hours to answer", written
//! apart from reporting's so the two can disagree: working time is 08:00–16:00 WIB on
//! working days (Monday to Friday minus the holidays routing lists), measured to the
//! microsecond; a figure is the nearest-rank percentile of the answers' working times,
//! rounded once to the second and given in hours.
//!
//! Where reporting walks the days between two instants, this reads both off one
//! "working clock" that counts working time from the start of the first instant's day,
//! with whole weeks counted by arithmetic.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use kenduren_domain::WorkCalendar;

const MICROS_PER_HOUR: i64 = 3_600_000_000;
/// Opening and closing time of a working day, in microseconds after local midnight.
const OPENS: i64 = 8 * MICROS_PER_HOUR;
const CLOSES: i64 = 16 * MICROS_PER_HOUR;
/// WIB is UTC+7 all year.
const WIB_OFFSET: chrono::Duration = chrono::Duration::hours(7);

/// Working time between `from` and `to` in microseconds: the part of `[from, to)` between
/// 08:00 and 16:00 WIB on a working day of `calendar`. Zero when `to` is not after `from`.
pub fn working_micros(calendar: &WorkCalendar, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    if to <= from {
        return 0;
    }
    let origin = local(from).0;
    clock(calendar, origin, to) - clock(calendar, origin, from)
}

/// The figure for working times `micros`: their nearest-rank `percent`-th percentile
/// (the value at rank ⌈percent/100 · n⌉ in ascending order), rounded to the second, in
/// hours. Zero for no values.
pub fn percentile_hours(micros: &[i64], percent: usize) -> f64 {
    let mut sorted = micros.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let rank = (percent * n).div_ceil(100).clamp(1, n);
    let seconds = (sorted[rank - 1] + 500_000).div_euclid(1_000_000);
    seconds as f64 / 3600.0
}

/// The WIB date of `t` and the microseconds since that date's local midnight.
fn local(t: DateTime<Utc>) -> (NaiveDate, i64) {
    let wall = t.naive_utc() + WIB_OFFSET;
    let since_midnight = wall - wall.date().and_hms_opt(0, 0, 0).unwrap_or(wall);
    (wall.date(), since_midnight.num_microseconds().unwrap_or(0))
}

/// Working time from local midnight starting `origin` up to `t` (not before `origin`).
fn clock(calendar: &WorkCalendar, origin: NaiveDate, t: DateTime<Utc>) -> i64 {
    let (day, into) = local(t);
    let whole_days = working_days(calendar, origin, day) * (CLOSES - OPENS);
    let today = if calendar.is_working_day(day) {
        into.clamp(OPENS, CLOSES) - OPENS
    } else {
        0
    };
    whole_days + today
}

/// Working days in `[a, b)`: weekdays, by whole weeks and the days left over, less the
/// holidays that fall on a weekday in the range.
fn working_days(calendar: &WorkCalendar, a: NaiveDate, b: NaiveDate) -> i64 {
    let span = (b - a).num_days();
    if span <= 0 {
        return 0;
    }
    let weeks = span / 7;
    let mut weekdays = weeks * 5;
    let mut d = a + Days::new(u64::try_from(weeks * 7).unwrap_or(0));
    while d < b {
        weekdays += i64::from(is_weekday(d));
        d = d.succ_opt().unwrap_or(b);
    }
    let off = calendar
        .holidays()
        .filter(|h| (a..b).contains(h) && is_weekday(*h))
        .count();
    weekdays - i64::try_from(off).unwrap_or(0)
}

fn is_weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// `h:m` WIB on `d` November 2026 (the 27th is a Friday).
    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        kenduren_domain::calendar::wib()
            .with_ymd_and_hms(2026, 11, d, h, m, 0)
            .single()
            .expect("valid time")
            .with_timezone(&Utc)
    }

    fn hours(calendar: &WorkCalendar, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        working_micros(calendar, from, to) as f64 / MICROS_PER_HOUR as f64
    }

    #[test]
    fn only_08_to_16_on_working_days_counts() {
        let cal = WorkCalendar::default();
        assert_eq!(hours(&cal, at(26, 9, 0), at(26, 11, 30)), 2.5);
        assert_eq!(hours(&cal, at(26, 6, 0), at(26, 22, 0)), 8.0);
        assert_eq!(hours(&cal, at(26, 17, 0), at(27, 7, 0)), 0.0);
        // Friday 15:00 to Monday 09:00: an hour each side of the weekend.
        assert_eq!(hours(&cal, at(27, 15, 0), at(30, 9, 0)), 2.0);
    }

    #[test]
    fn weeks_and_holidays_are_counted_by_day() {
        let cal = WorkCalendar::default();
        // Monday 2 Nov 08:00 to Monday 30 Nov 08:00: four weeks of five days.
        assert_eq!(hours(&cal, at(2, 8, 0), at(30, 8, 0)), 160.0);
        let holidays = [2, 3, 7].map(|d| NaiveDate::from_ymd_opt(2026, 11, d).expect("date"));
        // Mon 2 and Tue 3 off; Saturday 7 was no working day anyway.
        let cal = WorkCalendar::new(holidays);
        assert_eq!(hours(&cal, at(2, 8, 0), at(30, 8, 0)), 144.0);
        assert_eq!(hours(&cal, at(2, 9, 0), at(4, 9, 0)), 1.0);
    }

    #[test]
    fn backwards_or_empty_intervals_are_no_time() {
        let cal = WorkCalendar::default();
        assert_eq!(working_micros(&cal, at(26, 12, 0), at(26, 10, 0)), 0);
        assert_eq!(working_micros(&cal, at(26, 12, 0), at(26, 12, 0)), 0);
    }

    #[test]
    fn microseconds_count_and_the_figure_rounds_once_to_the_second() {
        let cal = WorkCalendar::default();
        let from = at(26, 10, 0) + chrono::Duration::microseconds(250_001);
        let to = at(26, 10, 0) + chrono::Duration::microseconds(2_750_002);
        assert_eq!(working_micros(&cal, from, to), 2_500_001);
        assert_eq!(percentile_hours(&[2_500_001], 50), 3.0 / 3600.0);
        assert_eq!(percentile_hours(&[2_499_999], 50), 2.0 / 3600.0);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let h = MICROS_PER_HOUR;
        let five = [5 * h, h, 3 * h, 2 * h, 4 * h];
        assert_eq!(percentile_hours(&five, 50), 3.0);
        assert_eq!(percentile_hours(&five, 90), 5.0);
        assert_eq!(percentile_hours(&[h, 2 * h], 50), 1.0);
        let ten: Vec<i64> = (1..=10).map(|i| i * h).collect();
        assert_eq!(percentile_hours(&ten, 90), 9.0);
        assert_eq!(percentile_hours(&[], 90), 0.0);
    }
}
