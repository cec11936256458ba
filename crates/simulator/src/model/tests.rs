//! The model's figures on small hand-made seasons with known answers.

use super::*;

fn question(opd: Option<&str>, status: Status) -> Question {
    Question {
        id: String::new(),
        ticket: String::new(),
        pin: String::new(),
        kind: QuestionKind::Aspiration,
        category: "umkm".into(),
        on_site: true,
        session: Some("s1".into()),
        status,
        opd: opd.map(str::to_owned),
        due: None,
        routed_at: None,
        routings: 1,
        awaiting_route: false,
        answers: 0,
        rejected_by: Vec::new(),
        first_answer: None,
        rating: None,
        reopened: 0,
        escalations: BTreeSet::new(),
        clock_levels: BTreeSet::new(),
    }
}

#[test]
fn escalations_count_for_the_opd_of_the_time_and_triage_for_nobody() {
    let mut moved = question(Some("B"), Status::Routed);
    moved.escalations.insert(("A".into(), 1));
    moved.escalations.insert(("B".into(), 1));
    let mut answered = question(Some("B"), Status::Answered);
    answered.first_answer = Some(FirstAnswer {
        at: Utc::now(),
        within_due: true,
        on_the_spot: true,
    });
    answered.rating = Some(2);
    answered.reopened = 1;
    let model = Model {
        questions: vec![moved, answered, question(None, Status::Triage)],
        sessions: vec![Session {
            id: "s1".into(),
            dates: vec!["2026-03-02".into()],
            kecamatan: "Bangil".into(),
            desa: "Kalirejo".into(),
            expected: ["A".to_owned(), "B".to_owned()].into(),
            checked_in: ["B".to_owned(), "C".to_owned()].into(),
        }],
    };
    let f = model.expected(Utc::now(), &WorkCalendar::default());
    assert_eq!(f.opds["A"].escalated, vec![(1, 1)]);
    assert_eq!((f.opds["A"].assigned, f.opds["A"].sessions_attended), (0, 0));
    let b = &f.opds["B"];
    assert_eq!(
        (b.assigned, b.answered, b.open, b.reopened, b.rated),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(b.average_rating, 2.0);
    assert_eq!(
        (f.opds["C"].sessions_expected, f.opds["C"].sessions_attended),
        (0, 0)
    );
    let s = &f.sessions["s1"];
    assert_eq!(
        (s.submissions, s.still_unanswered, s.answered_on_the_spot),
        (3, 2, 1)
    );
    assert_eq!(s.aspiration_percent, 100.0);
    assert_eq!(s.opds_absent, vec!["A".to_owned()]);
    assert!(s.opds_awaited.is_empty());
}

/// `h:00` WIB on `d` March 2026 (the 2nd is a Monday).
fn wib(d: u32, h: u32) -> DateTime<Utc> {
    use chrono::TimeZone;
    kenduren_domain::calendar::wib()
        .with_ymd_and_hms(2026, 3, d, h, 0, 0)
        .single()
        .expect("valid time")
        .with_timezone(&Utc)
}

fn answered(opd: &str, routed: DateTime<Utc>, at: DateTime<Utc>) -> Question {
    let mut q = question(Some(opd), Status::Answered);
    q.routed_at = Some(routed);
    q.first_answer = Some(FirstAnswer {
        at,
        within_due: true,
        on_the_spot: false,
    });
    q
}

#[test]
fn working_hours_to_answer_run_from_the_last_assignment_to_the_first_answer() {
    let model = Model {
        questions: vec![
            // Monday 09:00 → 11:00: 2 h.
            answered("A", wib(2, 9), wib(2, 11)),
            // Monday 10:00 → Wednesday 10:00: 6 + 8 + 2 h.
            answered("A", wib(2, 10), wib(4, 10)),
            // Tuesday 08:00 → Friday 15:00: 8 + 8 + 8 + 7 h.
            answered("B", wib(3, 8), wib(6, 15)),
            // Still open: no answer, no figure.
            question(Some("B"), Status::Routed),
        ],
        sessions: vec![],
    };
    let f = model.expected(wib(20, 12), &WorkCalendar::default());
    let hours = |o: &str| {
        (
            f.opds[o].median_working_hours_to_answer,
            f.opds[o].p90_working_hours_to_answer,
        )
    };
    assert_eq!(hours("A"), (2.0, 16.0));
    assert_eq!(hours("B"), (31.0, 31.0));
    let wednesday_off = WorkCalendar::new([NaiveDate::from_ymd_opt(2026, 3, 4).expect("date")]);
    let f = model.expected(wib(20, 12), &wednesday_off);
    assert_eq!(f.opds["A"].p90_working_hours_to_answer, 6.0 + 8.0);
    assert_eq!(f.opds["B"].median_working_hours_to_answer, 8.0 + 8.0 + 7.0);
}

#[test]
fn an_expected_opd_not_checked_in_is_awaited_until_midnight_after_the_last_day() {
    let model = Model {
        questions: vec![],
        sessions: vec![Session {
            id: "s1".into(),
            dates: vec!["2026-03-03".into(), "2026-03-02".into()],
            kecamatan: "Bangil".into(),
            desa: "Kalirejo".into(),
            expected: ["A".to_owned(), "B".to_owned()].into(),
            checked_in: ["B".to_owned()].into(),
        }],
    };
    let at = |now| {
        let s = &model.expected(now, &WorkCalendar::default()).sessions["s1"];
        (s.opds_absent.clone(), s.opds_awaited.clone())
    };
    let a = vec!["A".to_owned()];
    assert_eq!(at(wib(1, 12)), (vec![], a.clone()), "the day before");
    assert_eq!(at(wib(3, 23)), (vec![], a.clone()), "late on the last day");
    assert_eq!(at(wib(4, 0)), (a.clone(), vec![]), "from midnight after it");
    assert!(!over(&[], wib(20, 0)), "a session without dates never ends");
}
