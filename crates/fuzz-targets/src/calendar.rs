//! Targets for what decides due dates: the holiday file an admin replaces, and the
//! deadlines an SLA policy within `UpdateSlaPolicy`'s limits gives a question.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use kenduren_domain::{
    calendar::{parse_holiday_file, wib},
    parse_holidays, Channel, SlaPolicy, SlaTarget, WorkCalendar,
};

use crate::targets::{CHANNELS, KINDS};

/// Holiday file parsing. Input: the text of a `holidays.json`.
pub fn holiday_file(data: &[u8]) {
    let json = String::from_utf8_lossy(data);
    let file = match parse_holiday_file(&json) {
        Ok(file) => file,
        Err(e) => {
            assert!(e.to_string().starts_with("holidays.json: "), "{e}");
            assert!(parse_holidays(&json).is_err(), "the two parsers disagree");
            return;
        }
    };
    assert_eq!(parse_holidays(&json).ok().as_ref(), Some(&file.holidays));
    for pair in file.holidays.windows(2) {
        assert!(
            pair[0].date < pair[1].date,
            "holidays out of order or repeated: {pair:?}"
        );
    }
    for pair in file.years.windows(2) {
        assert!(pair[0].year < pair[1].year, "years out of order or repeated");
    }
    for y in &file.years {
        assert!(
            file.holidays.iter().any(|h| h.date.year() == y.year),
            "year {} described without a holiday",
            y.year
        );
    }
    assert!(file.incomplete_years().all(|y| !y.complete));
    let calendar = WorkCalendar::new(file.holidays.iter().map(|h| h.date));
    for h in &file.holidays {
        assert!(
            !calendar.is_working_day(h.date),
            "{} is a holiday but a working day",
            h.date
        );
    }
}

/// The bytes of a target's input, read from the front; missing bytes read as zero.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    fn byte(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    /// A value in `1..=max`, as `UpdateSlaPolicy` accepts them.
    fn days(&mut self, max: u16) -> u32 {
        u32::from(u16::from_le_bytes(self.take()) % max) + 1
    }
}

/// The first instant `sla_deadlines` can pick.
fn base() -> DateTime<Utc> {
    DateTime::from_timestamp(1_577_836_800, 0).unwrap_or_default() // 2020-01-01T00:00Z
}

fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&wib()).date_naive()
}

/// Working days in `(after, until]`.
fn working_days_between(calendar: &WorkCalendar, after: NaiveDate, until: NaiveDate) -> u32 {
    after
        .iter_days()
        .skip(1)
        .take_while(|d| *d <= until)
        .map(|d| u32::from(calendar.is_working_day(d)))
        .sum()
}

/// A deadline is midnight WIB ending a working day; that day.
fn last_day(calendar: &WorkCalendar, due: DateTime<Utc>, what: &str) -> NaiveDate {
    let local = due.with_timezone(&wib());
    assert_eq!(
        (local.hour(), local.minute(), local.second()),
        (0, 0, 0),
        "{what} is not at midnight WIB"
    );
    let day = local_date(due - Duration::seconds(1));
    assert!(
        calendar.is_working_day(day),
        "{what} ends {day}, not a working day"
    );
    day
}

/// How specific a target is: kind and channel, then kind, then channel.
fn specificity(t: &SlaTarget) -> (bool, bool, bool) {
    (
        t.kind.is_some() && t.channel.is_some(),
        t.kind.is_some(),
        t.channel.is_some(),
    )
}

/// Deadlines under an SLA policy within `UpdateSlaPolicy`'s limits. Input, read from
/// the front (missing bytes are zero): answer working days, resolution days, level-2
/// working days (two bytes each, little-endian, brought into 1–60, 1–365, 1–30);
/// submission time (four bytes: seconds after 2020-01-01T00:00Z); assignment delay
/// (four bytes: seconds, modulo 400 days); kind and channel (a byte each, modulo 4
/// and 6); the number of targets (a byte, modulo 8) and four bytes per target (kind
/// modulo 5 and channel modulo 7, where 0 is "any"; answer and resolution days); then
/// holidays, two bytes each: days after the submission day, modulo 800.
pub fn sla_deadlines(data: &[u8]) {
    let mut r = Reader(data);
    let mut policy = SlaPolicy {
        answer_working_days: r.days(60),
        resolution_days: r.days(365),
        level2_after_working_days: r.days(30),
        targets: Vec::new(),
    };
    let submitted = base() + Duration::seconds(i64::from(u32::from_le_bytes(r.take())));
    let at = submitted + Duration::seconds(i64::from(u32::from_le_bytes(r.take()) % (400 * 86_400)));
    let kind = KINDS[usize::from(r.byte()) % KINDS.len()];
    let channel = CHANNELS[usize::from(r.byte()) % CHANNELS.len()];
    for _ in 0..r.byte() % 8 {
        let [k, c, answer, resolution] = r.take::<4>();
        policy.targets.push(SlaTarget {
            kind: usize::from(k % 5).checked_sub(1).map(|i| KINDS[i]),
            channel: usize::from(c % 7).checked_sub(1).map(|i| CHANNELS[i]),
            answer_working_days: u32::from(answer % 60) + 1,
            resolution_days: u32::from(resolution) + 1,
        });
    }
    let first = local_date(submitted);
    let mut holidays = Vec::new();
    while !r.0.is_empty() {
        let offset = u16::from_le_bytes(r.take()) % 800;
        holidays.extend(first.checked_add_days(chrono::Days::new(u64::from(offset))));
    }
    let calendar = WorkCalendar::new(holidays);

    let target = policy.target(kind, channel);
    let applies = |t: &SlaTarget| t.kind.is_none_or(|k| k == kind) && t.channel.is_none_or(|c| c == channel);
    match target {
        Some(t) => {
            assert!(applies(t), "target {t:?} is not for {kind:?} by {channel:?}");
            assert!(
                !policy
                    .targets
                    .iter()
                    .any(|o| applies(o) && specificity(o) > specificity(t)),
                "a more specific target than {t:?} applies"
            );
        }
        None => assert!(
            !policy.targets.iter().any(applies),
            "an applying target was missed"
        ),
    }
    let (answer_days, resolution_days) = target
        .map_or((policy.answer_working_days, policy.resolution_days), |t| {
            (t.answer_working_days, t.resolution_days)
        });

    let d = policy.deadlines(&calendar, submitted, at, kind, channel);
    let answer_day = last_day(&calendar, d.answer_due, "the answer deadline");
    assert!(d.answer_due > at);
    assert_eq!(
        working_days_between(&calendar, local_date(at), answer_day),
        answer_days,
        "the answer is due after another number of working days"
    );
    let level2_day = last_day(&calendar, d.level2_due, "level-2 escalation");
    assert_eq!(
        working_days_between(&calendar, answer_day, level2_day),
        policy.level2_after_working_days,
        "level 2 comes after another number of working days"
    );
    let resolution_day = local_date(at) + chrono::Days::new(u64::from(resolution_days));
    assert_eq!(
        local_date(d.resolution_due - Duration::seconds(1)),
        resolution_day
    );
    assert_eq!(
        d.resolution_due.with_timezone(&wib()).time(),
        chrono::NaiveTime::MIN
    );
    match d.on_the_spot_due {
        Some(due) => {
            assert_eq!(channel, Channel::OnSite, "an on-the-spot deadline off site");
            assert_eq!(
                local_date(due - Duration::seconds(1)),
                first,
                "not the submission's day"
            );
            assert!(due > submitted);
        }
        None => assert_ne!(channel, Channel::OnSite, "an on-site question without one"),
    }
    // A policy whose default never applies to this question changes nothing.
    if target.is_some() {
        let other = SlaPolicy {
            answer_working_days: policy.answer_working_days % 60 + 1,
            ..policy.clone()
        };
        assert_eq!(other.deadlines(&calendar, submitted, at, kind, channel), d);
    }
}
