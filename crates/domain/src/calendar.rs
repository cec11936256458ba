//! Working days: Monday to Friday minus configured public holidays, in Pasuruan's
//! time zone (WIB, UTC+7), which is what "answer within 5 working days" means there.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};

/// Western Indonesian Time, the regency's civil time.
pub fn wib() -> FixedOffset {
    // 7 hours east of UTC is always in range, so this never fails.
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

/// Which days count as working days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    holidays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// A calendar with these public holidays and collective leave days.
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            holidays: holidays.into_iter().collect(),
        }
    }

    /// The configured holidays, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.holidays.iter().copied()
    }

    /// Monday to Friday and not a holiday.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&day)
    }

    /// The `n`-th working day after `day` (`n = 0` is `day` itself if it is a working day,
    /// else the next one).
    pub fn working_day_after(&self, day: NaiveDate, n: u32) -> NaiveDate {
        let mut d = day;
        while !self.is_working_day(d) {
            d = d.succ_opt().unwrap_or(d);
        }
        let mut left = n;
        while left > 0 {
            d = d.succ_opt().unwrap_or(d);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The deadline for something taken at `at` that must be done within `n` working
    /// days: the end (midnight WIB) of the `n`-th working day after the local date of `at`.
    pub fn due_after(&self, at: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let local = at.with_timezone(&wib()).date_naive();
        let last = self.working_day_after(local.succ_opt().unwrap_or(local), n.saturating_sub(1));
        end_of_day(last)
    }

    /// The end (midnight WIB) of `at`'s local day: the "answered on the spot" deadline.
    pub fn end_of_local_day(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        end_of_day(at.with_timezone(&wib()).date_naive())
    }
}

fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    wib()
        .from_local_datetime(&midnight)
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight) - Duration::hours(7))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn wib_time(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        wib()
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn five_working_days_skip_the_weekend() {
        let cal = WorkCalendar::default();
        // Thursday 2026-11-26 10:00 WIB: Fri, Mon, Tue, Wed, Thu → due end of Thu 3 Dec.
        let due = cal.due_after(wib_time(2026, 11, 26, 10), 5);
        assert_eq!(due, wib_time(2026, 12, 4, 0));
    }

    #[test]
    fn holidays_do_not_count() {
        let cal = WorkCalendar::new([date(2026, 12, 25)]);
        // Wed 23 Dec → Thu 24, (Fri 25 holiday), Mon 28, Tue 29, Wed 30, Thu 31.
        let due = cal.due_after(wib_time(2026, 12, 23, 9), 5);
        assert_eq!(due, wib_time(2027, 1, 1, 0));
    }

    #[test]
    fn a_late_evening_submission_counts_from_its_local_date() {
        let cal = WorkCalendar::default();
        // 23:30 WIB Friday is 16:30 UTC Friday; 1 working day → end of Monday.
        let at = wib()
            .with_ymd_and_hms(2026, 11, 27, 23, 30, 0)
            .single()
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(cal.due_after(at, 1), wib_time(2026, 12, 1, 0));
    }

    #[test]
    fn weekends_and_holidays_are_not_working_days() {
        let cal = WorkCalendar::new([date(2027, 1, 1)]);
        assert!(!cal.is_working_day(date(2026, 11, 28))); // Saturday
        assert!(!cal.is_working_day(date(2027, 1, 1))); // New Year, a Friday
        assert!(cal.is_working_day(date(2026, 11, 30)));
        assert_eq!(cal.working_day_after(date(2026, 12, 31), 1), date(2027, 1, 4));
    }

    #[test]
    fn on_the_spot_means_the_same_local_day() {
        let cal = WorkCalendar::default();
        assert_eq!(
            cal.end_of_local_day(wib_time(2026, 11, 26, 15)),
            wib_time(2026, 11, 27, 0)
        );
    }
}
