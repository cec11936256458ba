//! Property tests of routing rules, working-day due dates and submission validation:
//! random inputs, and the promises each one makes whatever the input.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use kenduren_domain::{
    calendar::wib, Catalogue, CategoryCode, Channel, OpdCode, QuestionKind, RouteDecision, RouteQuery,
    RoutingRule, RuleSet, SubmissionDraft, WorkCalendar,
};
use proptest::prelude::*;

const OPDS: [&str; 5] = ["DISPENDUKCAPIL", "DINKES", "BAPENDA", "DPUPR", "DISHUB"];
const CATEGORIES: [&str; 3] = ["kependudukan", "kesehatan", "infrastruktur"];
const KECAMATAN: [&str; 3] = ["Bangil", "Tosari", "Pandaan"];
const KINDS: [QuestionKind; 4] = [
    QuestionKind::Question,
    QuestionKind::Complaint,
    QuestionKind::Aspiration,
    QuestionKind::ServiceRequest,
];
const CHANNELS: [Channel; 6] = [
    Channel::OnSite,
    Channel::Web,
    Channel::Whatsapp,
    Channel::Sms,
    Channel::Phone,
    Channel::Open311,
];

fn opd(code: &str) -> OpdCode {
    OpdCode::parse(code).expect("a listed OPD code")
}

fn rule(id: usize) -> impl Strategy<Value = RoutingRule> {
    (
        prop::sample::select(CATEGORIES.to_vec()),
        prop::sample::select(OPDS.to_vec()),
        -5i32..5,
        prop::sample::subsequence(KINDS.to_vec(), 0..=2),
        prop::sample::subsequence(KECAMATAN.to_vec(), 0..=2),
        prop::sample::subsequence(vec!["ktp", "lampu", "jalan"], 0..=2),
    )
        .prop_map(
            move |(category, code, priority, kinds, kecamatan, keywords)| RoutingRule {
                id: format!("r{id}"),
                category: CategoryCode::parse(category).expect("a listed category"),
                opd: opd(code),
                priority,
                kinds,
                kecamatan: kecamatan.into_iter().map(str::to_owned).collect(),
                keywords: keywords.into_iter().map(str::to_owned).collect(),
            },
        )
}

fn rules() -> impl Strategy<Value = Vec<RoutingRule>> {
    (0usize..12).prop_flat_map(|n| (0..n).map(rule).collect::<Vec<_>>())
}

fn opd_of(d: &RouteDecision) -> Option<&OpdCode> {
    match d {
        RouteDecision::Routed { opd, .. } => Some(opd),
        RouteDecision::Triage { .. } => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// An OPD that rejected a question (or is inactive) is never chosen, and the rule
    /// that is chosen is one of the question's category and, if narrowed, its kind.
    #[test]
    fn routing_never_picks_an_excluded_opd(
        rules in rules(),
        excluded in prop::sample::subsequence(OPDS.to_vec(), 0..=5),
        category in prop::sample::select(CATEGORIES.to_vec()),
        kind in prop::sample::select(KINDS.to_vec()),
        kecamatan in prop::sample::select(KECAMATAN.to_vec()),
        text in "(KTP|lampu|jalan|[a-z ]){0,20}",
    ) {
        let set = RuleSet::new(rules);
        let excluded: Vec<OpdCode> = excluded.into_iter().map(opd).collect();
        let q = RouteQuery { category, kind, kecamatan, text: &text };
        let decision = set.route(&q, &excluded);
        if let RouteDecision::Routed { opd, rule_id, .. } = &decision {
            prop_assert!(!excluded.contains(opd), "routed to excluded {}", opd);
            let chosen = set.rules().iter().find(|r| &r.id == rule_id).expect("the chosen rule exists");
            prop_assert_eq!(chosen.category.as_str(), category);
            prop_assert_eq!(&chosen.opd, opd);
            // A rule narrowed to some kinds never takes a question of another kind.
            prop_assert!(
                chosen.kinds.is_empty() || chosen.kinds.contains(&kind),
                "rule {} for {:?} chosen for a {:?}", chosen.id, chosen.kinds, kind
            );
        }
        // Excluding everything always ends in triage.
        let all: Vec<OpdCode> = OPDS.into_iter().map(opd).collect();
        prop_assert!(opd_of(&set.route(&q, &all)).is_none());
    }

    /// The order rules are listed in does not change where a question goes.
    #[test]
    fn routing_does_not_depend_on_the_order_of_the_rules(
        (rules, shuffled) in rules().prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle())),
        category in prop::sample::select(CATEGORIES.to_vec()),
        kind in prop::sample::select(KINDS.to_vec()),
        text in "(KTP|lampu|jalan|[a-z ]){0,20}",
    ) {
        let q = RouteQuery { category, kind, kecamatan: "Bangil", text: &text };
        prop_assert_eq!(RuleSet::new(rules).route(&q, &[]), RuleSet::new(shuffled).route(&q, &[]));
    }
}

fn date(days_from_2026: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid") + Duration::days(days_from_2026)
}

/// The local (WIB) working day a deadline closes: the day before its midnight.
fn last_day(due: DateTime<Utc>) -> NaiveDate {
    (due - Duration::seconds(1)).with_timezone(&wib()).date_naive()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A deadline ends at midnight WIB after a working day, never on a weekend or a
    /// holiday, after the moment it counts from, and later for more days.
    #[test]
    fn due_dates_fall_on_working_days_and_grow_with_n(
        holidays in prop::collection::btree_set(0i64..800, 0..120),
        at_secs in 0i64..(730 * 86_400),
        n in 0u32..40,
    ) {
        let cal = WorkCalendar::new(holidays.iter().map(|d| date(*d)));
        let at = Utc.timestamp_opt(1_767_225_600 + at_secs, 0).single().expect("in range");
        let due = cal.due_after(at, n);
        let local_midnight = due.with_timezone(&wib());
        prop_assert_eq!((local_midnight.hour(), local_midnight.minute()), (0, 0));
        let day = last_day(due);
        prop_assert!(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun), "{} is a weekend", day);
        prop_assert!(!holidays.contains(&(day - date(0)).num_days()), "{} is a holiday", day);
        prop_assert!(cal.is_working_day(day));
        prop_assert!(due > at);
        // Exactly max(n, 1) working days from the day after `at` up to the last day.
        let start = at.with_timezone(&wib()).date_naive().succ_opt().expect("in range");
        let counted = start.iter_days().take_while(|d| *d <= day).filter(|d| cal.is_working_day(*d)).count();
        prop_assert_eq!(counted, n.max(1) as usize);
        let next = cal.due_after(at, n + 1);
        if n == 0 {
            prop_assert_eq!(next, due, "0 working days counts as 1");
        } else {
            prop_assert!(next > due, "n + 1 days ({}) not after n days ({})", next, due);
        }
    }
}

fn catalogue() -> Catalogue {
    let mut c = Catalogue::default();
    c.categories.insert("kependudukan".into(), BTreeSet::new());
    c.categories
        .insert("usulan".into(), [QuestionKind::Aspiration].into());
    c.gazetteer
        .insert("Bangil".into(), ["Kalirejo".to_owned()].into());
    c.gazetteer.insert("Tosari".into(), BTreeSet::new());
    c
}

/// Text that is sometimes valid, sometimes hostile: any Unicode, control characters,
/// the catalogue's own words, and occasionally very long.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,30}",
        prop::sample::select(vec![
            "kependudukan",
            "usulan",
            "Bangil",
            "bangil",
            "Kalirejo",
            "Tosari",
            " ",
            ""
        ])
        .prop_map(str::to_owned),
        (0usize..5000).prop_map(|n| "é".repeat(n)),
    ]
}

fn coordinate() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -8.1f64..-7.4,
        112.4f64..113.2,
        Just(f64::NAN),
        Just(f64::INFINITY)
    ]
}

fn draft() -> impl Strategy<Value = SubmissionDraft> {
    (
        (
            text(),
            prop::option::of(prop::sample::select(KINDS.to_vec())),
            text(),
            text(),
        ),
        (
            prop::option::of(prop::sample::select(CHANNELS.to_vec())),
            text(),
            text(),
            text(),
        ),
        prop::option::of((coordinate(), coordinate())),
    )
        .prop_map(
            |((request_id, kind, category, text), (channel, session_id, kecamatan, desa), coordinates)| {
                SubmissionDraft {
                    request_id,
                    kind,
                    category,
                    text,
                    channel,
                    session_id,
                    kecamatan,
                    desa,
                    coordinates,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Validation never panics, names each bad field at most once, and what it accepts
    /// keeps its promises (trimmed, bounded text; a known place; coordinates inside).
    #[test]
    fn validation_reports_each_field_at_most_once(d in draft()) {
        match d.validate(&catalogue()) {
            Err(bad) => {
                prop_assert!(!bad.is_empty(), "refused without a reason");
                let fields: Vec<&str> = bad.iter().map(|v| v.field.as_str()).collect();
                let unique: BTreeSet<&str> = fields.iter().copied().collect();
                prop_assert_eq!(unique.len(), fields.len(), "a field reported twice: {:?}", fields);
                prop_assert!(bad.iter().all(|v| !v.description.is_empty()));
            }
            Ok(s) => {
                prop_assert_eq!(s.text.trim(), s.text.as_str());
                prop_assert!(!s.text.is_empty() && s.text.chars().count() <= 4000);
                prop_assert!(catalogue().gazetteer.contains_key(&s.kecamatan));
                if let Some((lat, lon)) = s.coordinates {
                    prop_assert!(lat.is_finite() && lon.is_finite());
                }
            }
        }
    }
}
