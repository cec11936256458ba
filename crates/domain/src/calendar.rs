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
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// The local date.
    pub date: NaiveDate,
    /// What it is, e.g. `Idul Fitri 1447 H`.
    pub name: String,
}

/// What a holiday file says about one year's list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayYear {
    /// The year.
    pub year: i32,
    /// `false` while the government has not published the year's full list (SKB), so
    /// due dates that year may fall on a holiday the file does not know yet.
    pub complete: bool,
    /// What is missing or where the list comes from.
    #[serde(default)]
    pub note: String,
}

/// A parsed holiday file: the days, and which years are known to be incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayCalendar {
    /// Every listed day, in date order.
    pub holidays: Vec<Holiday>,
    /// The years the file describes, in year order.
    pub years: Vec<HolidayYear>,
}

impl HolidayCalendar {
    /// The years marked incomplete: an admin must replace them with `SetHolidays`.
    pub fn incomplete_years(&self) -> impl Iterator<Item = &HolidayYear> {
        self.years.iter().filter(|y| !y.complete)
    }
}

// Strict: a misspelt field (`compelte`) is refused rather than silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayFile {
    /// For people reading the file.
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
    #[serde(default)]
    years: Vec<HolidayYear>,
    holidays: Vec<Holiday>,
}

/// Why a holiday file was refused.
#[derive(Debug, thiserror::Error)]
pub enum HolidayFileError {
    /// Not the expected JSON (`{"years": [{"year": 2027, "complete": false, "note": …}],
    /// "holidays": [{"date": "YYYY-MM-DD", "name": …}]}`).
    #[error("holidays.json: {0}")]
    Json(#[from] serde_json::Error),
    /// The same date is listed twice.
    #[error("holidays.json: {0} is listed twice")]
    Duplicate(NaiveDate),
    /// The same year is described twice in `years`.
    #[error("holidays.json: year {0} is described twice")]
    DuplicateYear(i32),
    /// `years` describes a year without a single listed day: most likely a typo.
    #[error("holidays.json: year {0} is described but has no holidays")]
    YearWithoutHolidays(i32),
}

/// Parses a holiday file (`data/holidays.json`), in date order.
pub fn parse_holidays(json: &str) -> Result<Vec<Holiday>, HolidayFileError> {
    Ok(parse_holiday_file(json)?.holidays)
}

/// Parses a holiday file with what it says about each year's completeness.
pub fn parse_holiday_file(json: &str) -> Result<HolidayCalendar, HolidayFileError> {
    let file = serde_json::from_str::<HolidayFile>(json)?;
    let mut holidays = file.holidays;
    holidays.sort();
    if let Some(w) = holidays.windows(2).find(|w| w[0].date == w[1].date) {
        return Err(HolidayFileError::Duplicate(w[0].date));
    }
    let mut years = file.years;
    years.sort_by_key(|y| y.year);
    if let Some(w) = years.windows(2).find(|w| w[0].year == w[1].year) {
        return Err(HolidayFileError::DuplicateYear(w[0].year));
    }
    if let Some(y) = years
        .iter()
        .find(|y| !holidays.iter().any(|h| h.date.year() == y.year))
    {
        return Err(HolidayFileError::YearWithoutHolidays(y.year));
    }
    Ok(HolidayCalendar { holidays, years })
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

    /// The deadlines of a question of `kind` from `channel`, submitted at `submitted_at`
    /// and assigned (routed, rerouted, reassigned or reopened) at `at`. The answer,
    /// level-2 and resolution deadlines count from the assignment; the on-the-spot one is
    /// the submission's own day, however late an admin routes it.
    pub fn deadlines(
        &self,
        calendar: &WorkCalendar,
        submitted_at: DateTime<Utc>,
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
        let on_the_spot_due = (channel == Channel::OnSite).then(|| calendar.end_of_local_day(submitted_at));
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
