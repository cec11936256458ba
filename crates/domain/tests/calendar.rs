//! Working days and due dates, the holiday file and the SLA policy: weekends, holidays
//! and year ends; which target wins; what each deadline counts from.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use kenduren_domain::{
    calendar::{parse_holiday_file, wib},
    parse_holidays, Channel, HolidayFileError, QuestionKind, SlaPolicy, SlaTarget, WorkCalendar,
};

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

#[test]
fn the_on_the_spot_deadline_is_the_submission_day_even_when_routed_days_later() {
    let policy = SlaPolicy::default();
    let cal = WorkCalendar::default();
    // Asked at the session on Thursday 26 Nov, left in triage, routed by hand on Monday.
    let submitted = wib_time(2026, 11, 26, 10);
    let routed = wib_time(2026, 11, 30, 9);
    let d = policy.deadlines(&cal, submitted, routed, QuestionKind::Question, Channel::OnSite);
    assert_eq!(d.on_the_spot_due, Some(wib_time(2026, 11, 27, 0)));
    // The answer deadline still counts from the assignment: Tue 1 … Mon 7 Dec.
    assert_eq!(d.answer_due, wib_time(2026, 12, 8, 0));
    let same_day = policy.deadlines(
        &cal,
        submitted,
        submitted,
        QuestionKind::Question,
        Channel::OnSite,
    );
    assert_eq!(
        same_day.on_the_spot_due, d.on_the_spot_due,
        "routing time does not move it"
    );
}

#[test]
fn a_late_evening_on_site_question_is_due_on_the_spot_the_same_local_day() {
    let policy = SlaPolicy::default();
    let cal = WorkCalendar::default();
    // 23:30 WIB is 16:30 UTC the same day; routed after local midnight.
    let submitted = wib()
        .with_ymd_and_hms(2026, 11, 26, 23, 30, 0)
        .single()
        .expect("valid")
        .with_timezone(&Utc);
    let routed = wib_time(2026, 11, 27, 1);
    let d = policy.deadlines(&cal, submitted, routed, QuestionKind::Question, Channel::OnSite);
    assert_eq!(d.on_the_spot_due, Some(wib_time(2026, 11, 27, 0)));
}

#[test]
fn the_shipped_file_marks_2027_incomplete_and_2026_complete() {
    let file = parse_holiday_file(include_str!("../../../data/holidays.json")).expect("shipped file");
    let incomplete: Vec<i32> = file.incomplete_years().map(|y| y.year).collect();
    assert_eq!(incomplete, [2027], "2027 waits for its SKB");
    let y2027 = file
        .years
        .iter()
        .find(|y| y.year == 2027)
        .expect("2027 described");
    assert!(y2027.note.contains("SKB"), "{}", y2027.note);
    assert!(file.years.iter().any(|y| y.year == 2026 && y.complete));
    assert_eq!(
        file.holidays.len(),
        parse_holidays(include_str!("../../../data/holidays.json"))
            .expect("shipped file")
            .len()
    );
}

#[test]
fn a_holiday_file_with_a_misspelt_or_contradictory_year_is_refused() {
    let day = r#"{"date":"2027-01-01","name":"Tahun Baru"}"#;
    let ok = format!(r#"{{"years":[{{"year":2027,"complete":false}}],"holidays":[{day}]}}"#);
    assert_eq!(
        parse_holiday_file(&ok).expect("valid").incomplete_years().count(),
        1
    );
    let cases = [
        // A typo in a field name must not pass as "complete".
        format!(r#"{{"years":[{{"year":2027,"compelte":false}}],"holidays":[{day}]}}"#),
        // `complete` has no default: the file says it or is refused.
        format!(r#"{{"years":[{{"year":2027}}],"holidays":[{day}]}}"#),
        // Nor may a day carry a field the loader does not know.
        r#"{"holidays":[{"date":"2027-01-01","name":"x","libur":true}]}"#.to_owned(),
        format!(r#"{{"holiday":[{day}]}}"#),
    ];
    for json in &cases {
        assert!(
            matches!(parse_holiday_file(json), Err(HolidayFileError::Json(_))),
            "{json}"
        );
    }
    let twice = format!(
        r#"{{"years":[{{"year":2027,"complete":true}},{{"year":2027,"complete":false}}],"holidays":[{day}]}}"#
    );
    assert!(matches!(
        parse_holiday_file(&twice),
        Err(HolidayFileError::DuplicateYear(2027))
    ));
    let empty_year = format!(r#"{{"years":[{{"year":2028,"complete":false}}],"holidays":[{day}]}}"#);
    assert!(matches!(
        parse_holiday_file(&empty_year),
        Err(HolidayFileError::YearWithoutHolidays(2028))
    ));
}
