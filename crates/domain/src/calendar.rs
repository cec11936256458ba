//! Working days and due dates: Monday to Friday minus configured public holidays, in
//! Pasuruan's time zone (WIB, UTC+7), which is what "answer within 5 working days"
//! means there; the holiday file format; and the SLA policy that turns a question's
//! kind and channel into its deadlines.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::question::{Channel, QuestionKind};

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

/// A day that is not a working day (libur nasional or cuti bersama).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Holiday {
    /// The local date.
    pub date: NaiveDate,
    /// What it is, e.g. `Idul Fitri 1447 H`.
    pub name: String,
}

#[derive(Deserialize)]
struct HolidayFile {
    holidays: Vec<Holiday>,
}

/// Why a holiday file was refused.
#[derive(Debug, thiserror::Error)]
pub enum HolidayFileError {
    /// Not the expected JSON (`{"holidays": [{"date": "YYYY-MM-DD", "name": …}]}`).
    #[error("holidays.json: {0}")]
    Json(#[from] serde_json::Error),
    /// The same date is listed twice.
    #[error("holidays.json: {0} is listed twice")]
    Duplicate(NaiveDate),
}

/// Parses a holiday file (`data/holidays.json`), in date order.
pub fn parse_holidays(json: &str) -> Result<Vec<Holiday>, HolidayFileError> {
    let mut holidays = serde_json::from_str::<HolidayFile>(json)?.holidays;
    holidays.sort();
    if let Some(w) = holidays.windows(2).find(|w| w[0].date == w[1].date) {
        return Err(HolidayFileError::Duplicate(w[0].date));
    }
    Ok(holidays)
}

/// Answer targets for one kind and/or channel; `None` matches any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaTarget {
    /// The kind this target is for; `None`: any kind.
    pub kind: Option<QuestionKind>,
    /// The channel this target is for; `None`: any channel.
    pub channel: Option<Channel>,
    /// Working days to answer.
    pub answer_working_days: u32,
    /// Calendar days to resolve.
    pub resolution_days: u32,
}

/// How long OPDs have, by the national rules unless an admin changed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    /// Working days to answer when no target matches (5 by the national rule).
    pub answer_working_days: u32,
    /// Calendar days to resolve when no target matches (60 by the national rule).
    pub resolution_days: u32,
    /// Working days after the answer deadline before level-2 escalation.
    pub level2_after_working_days: u32,
    /// Narrower targets; the most specific match wins (kind and channel, then kind, then channel).
    pub targets: Vec<SlaTarget>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            answer_working_days: 5,
            resolution_days: 60,
            level2_after_working_days: 3,
            targets: Vec::new(),
        }
    }
}

/// Every deadline of one assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// The answer is due; level-1 escalation when it passes.
    pub answer_due: DateTime<Utc>,
    /// Level-2 escalation when this passes without an answer.
    pub level2_due: DateTime<Utc>,
    /// The matter should be resolved.
    pub resolution_due: DateTime<Utc>,
    /// For `ON_SITE` questions: answered on the spot, the same session day.
    pub on_the_spot_due: Option<DateTime<Utc>>,
}

impl SlaPolicy {
    /// The target for `kind` taken through `channel`, if one is narrower than the default.
    pub fn target(&self, kind: QuestionKind, channel: Channel) -> Option<&SlaTarget> {
        self.targets
            .iter()
            .filter(|t| t.kind.is_none_or(|k| k == kind) && t.channel.is_none_or(|c| c == channel))
            // Kind and channel beats kind alone, which beats channel alone.
            .max_by_key(|t| {
                (
                    t.kind.is_some() && t.channel.is_some(),
                    t.kind.is_some(),
                    t.channel.is_some(),
                )
            })
    }

    /// The deadlines of a question of `kind` from `channel`, assigned at `at`.
    pub fn deadlines(
        &self,
        calendar: &WorkCalendar,
        at: DateTime<Utc>,
        kind: QuestionKind,
        channel: Channel,
    ) -> Deadlines {
        let (answer_days, resolution_days) = self
            .target(kind, channel)
            .map(|t| (t.answer_working_days, t.resolution_days))
            .unwrap_or((self.answer_working_days, self.resolution_days));
        let answer_due = calendar.due_after(at, answer_days.max(1));
        // The last instant of the answer's last day, so counting starts the day after.
        let level2_due = calendar.due_after(
            answer_due - Duration::seconds(1),
            self.level2_after_working_days.max(1),
        );
        let local = at.with_timezone(&wib()).date_naive();
        let resolution_due = end_of_day(
            local
                .checked_add_days(chrono::Days::new(u64::from(resolution_days.max(1))))
                .unwrap_or(local),
        );
        let on_the_spot_due = (channel == Channel::OnSite).then(|| calendar.end_of_local_day(at));
        Deadlines {
            answer_due,
            level2_due,
            resolution_due,
            on_the_spot_due,
        }
    }
}

/// Midnight WIB at the end of `day`.
pub(crate) fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
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
    fn a_deadline_over_new_year_skips_both_holidays_and_the_weekend() {
        let cal = WorkCalendar::new([date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)]);
        // Wed 23 Dec 2026 → Mon 28, Tue 29, Wed 30, Thu 31, (Fri 1 Jan holiday), Mon 4 Jan.
        assert_eq!(
            cal.due_after(wib_time(2026, 12, 23, 14), 5),
            wib_time(2027, 1, 5, 0)
        );
        // A submission on a holiday counts from the next working day.
        assert_eq!(
            cal.due_after(wib_time(2027, 1, 1, 10), 1),
            wib_time(2027, 1, 5, 0)
        );
    }

    #[test]
    fn idul_fitri_2026_leave_is_counted_out() {
        let holidays = parse_holidays(include_str!("../../../data/holidays.json")).expect("shipped file");
        let cal = WorkCalendar::new(holidays.iter().map(|h| h.date));
        // Tue 17 Mar 2026 (the day after, 18 – 24 Mar, is Nyepi and Idul Fitri): Wed 25, Thu 26,
        // Fri 27, Mon 30, Tue 31.
        assert_eq!(
            cal.due_after(wib_time(2026, 3, 17, 9), 5),
            wib_time(2026, 4, 1, 0)
        );
    }

    #[test]
    fn the_shipped_holiday_file_parses_and_a_duplicate_is_refused() {
        let holidays = parse_holidays(include_str!("../../../data/holidays.json")).expect("shipped file");
        assert!(holidays.iter().any(|h| h.date == date(2026, 3, 21)));
        assert!(holidays
            .iter()
            .all(|h| h.date.year() == 2026 || h.date.year() == 2027));
        let twice = r#"{"holidays":[{"date":"2026-01-01","name":"a"},{"date":"2026-01-01","name":"b"}]}"#;
        assert!(matches!(
            parse_holidays(twice),
            Err(HolidayFileError::Duplicate(_))
        ));
        assert!(parse_holidays(r#"{"holidays":[{"date":"2026-13-01","name":"x"}]}"#).is_err());
    }

    #[test]
    fn the_default_policy_gives_five_working_days_then_three_more_for_level_two() {
        let cal = WorkCalendar::default();
        let d = SlaPolicy::default().deadlines(
            &cal,
            wib_time(2026, 11, 26, 10),
            QuestionKind::Question,
            Channel::Web,
        );
        assert_eq!(d.answer_due, wib_time(2026, 12, 4, 0));
        // Fri 4, Mon 7, Tue 8 Dec.
        assert_eq!(d.level2_due, wib_time(2026, 12, 9, 0));
        assert_eq!(d.resolution_due, wib_time(2027, 1, 26, 0));
        assert_eq!(d.on_the_spot_due, None);
    }

    #[test]
    fn on_site_questions_are_also_due_on_the_spot() {
        let d = SlaPolicy::default().deadlines(
            &WorkCalendar::default(),
            wib_time(2026, 11, 26, 10),
            QuestionKind::Question,
            Channel::OnSite,
        );
        assert_eq!(d.on_the_spot_due, Some(wib_time(2026, 11, 27, 0)));
    }

    #[test]
    fn the_most_specific_target_wins() {
        let target = |kind, channel, days| SlaTarget {
            kind,
            channel,
            answer_working_days: days,
            resolution_days: 60,
        };
        let policy = SlaPolicy {
            targets: vec![
                target(None, Some(Channel::Whatsapp), 2),
                target(Some(QuestionKind::Complaint), None, 3),
                target(Some(QuestionKind::Complaint), Some(Channel::Whatsapp), 1),
            ],
            ..SlaPolicy::default()
        };
        let days = |k, c| policy.target(k, c).map(|t| t.answer_working_days);
        assert_eq!(days(QuestionKind::Complaint, Channel::Whatsapp), Some(1));
        assert_eq!(days(QuestionKind::Complaint, Channel::Web), Some(3));
        assert_eq!(days(QuestionKind::Question, Channel::Whatsapp), Some(2));
        assert_eq!(days(QuestionKind::Question, Channel::Web), None);
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
