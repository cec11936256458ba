//! When a Kenduren Mas session is over. Until then an expected OPD that has not checked
//! in is still awaited; from then on it is absent. Intake's attendance and reporting's
//! session report both decide it here, so they never disagree about who stayed away.

use chrono::{DateTime, NaiveDate, Utc};

use crate::calendar::end_of_day;

/// The instant a session whose last day is `last_day` is over: midnight WIB after it.
pub fn ends_at(last_day: NaiveDate) -> DateTime<Utc> {
    end_of_day(last_day)
}

/// Whether a session held on `days` (local dates, any order) is over at `now`. A session
/// without days is never over: nobody can have stayed away from it yet.
pub fn is_over(days: &[NaiveDate], now: DateTime<Utc>) -> bool {
    days.iter().max().is_some_and(|last| now >= ends_at(*last))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::calendar::wib;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("valid date")
    }

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        wib()
            .with_ymd_and_hms(2026, 3, d, h, m, 0)
            .single()
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_session_ends_at_midnight_wib_after_its_last_day() {
        // Midnight WIB is 17:00 UTC the day before.
        assert_eq!(ends_at(day(5)).to_rfc3339(), "2026-03-05T17:00:00+00:00");
    }

    #[test]
    fn a_session_is_over_from_the_midnight_after_its_last_day_whatever_the_order_of_days() {
        let days = [day(5), day(4)];
        assert!(!is_over(&days, at(4, 9, 0)), "on day one");
        assert!(!is_over(&days, at(5, 23, 59)), "late on the last day");
        assert!(is_over(&days, at(6, 0, 0)), "at midnight after it");
        assert!(is_over(&days, at(20, 12, 0)));
    }

    #[test]
    fn a_session_without_days_is_never_over() {
        assert!(!is_over(&[], at(20, 12, 0)));
    }
}
