//! Targets for what admins change about routing: the reference data files (OPD
//! directory, categories, rules, gazetteer) and the rules themselves, which
//! `UpsertRule` accepts one at a time and the router applies in order.

use std::collections::BTreeSet;

use kenduren_domain::{
    CategoryCode, OpdCode, QuestionKind, ReferenceData, ReferenceSources, RouteDecision, RouteQuery,
    RoutingRule, RuleSet,
};

use crate::{
    input::{split_fields, split_records},
    targets::{pick, text, KINDS},
};

/// Reference data parsing. Input: four fields separated by [`crate::FIELD_SEPARATOR`]:
/// the texts of `opds.json`, `categories.json`, `rules.json` and `gazetteer.json`.
pub fn reference_data(data: &[u8]) {
    let f = split_fields(data, 4);
    let (opds, categories, rules, gazetteer) = (text(f[0]), text(f[1]), text(f[2]), text(f[3]));
    let parsed = ReferenceData::parse(ReferenceSources {
        opds: &opds,
        categories: &categories,
        rules: &rules,
        gazetteer: &gazetteer,
    });
    let reference = match parsed {
        Ok(reference) => reference,
        Err(e) => {
            // The admin is told which of the four files to fix.
            let message = e.to_string();
            assert!(
                ["opds.json", "categories.json", "rules.json", "gazetteer.json"]
                    .iter()
                    .any(|file| message.starts_with(file)),
                "a refusal that names no file: {message}"
            );
            return;
        }
    };
    let codes: BTreeSet<&OpdCode> = reference.opds.iter().map(|o| &o.code).collect();
    assert_eq!(codes.len(), reference.opds.len(), "an OPD code listed twice");
    for code in &codes {
        assert!(
            OpdCode::parse(code.as_str()).is_ok(),
            "OPD code {code} is not a subject token"
        );
    }
    let catalogue = &reference.catalogue;
    let mut ids = BTreeSet::new();
    for r in reference.rules.rules() {
        assert!(ids.insert(&r.id), "rule id {} listed twice", r.id);
        assert!(catalogue.categories.contains_key(r.category.as_str()));
        assert!(
            codes.contains(&r.opd),
            "rule {} names an OPD not in the directory",
            r.id
        );
    }
    assert_in_trial_order(reference.rules.rules());
    assert!(!catalogue.gazetteer.is_empty(), "accepted without a kecamatan");
    let names: Vec<&String> = catalogue.gazetteer.keys().collect();
    for (i, name) in names.iter().enumerate() {
        assert!(
            !name.is_empty() && name.trim() == name.as_str(),
            "kecamatan {name:?}"
        );
        assert!(
            !names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)),
            "kecamatan {name:?} listed twice in another case"
        );
        for v in &catalogue.gazetteer[*name] {
            assert!(!v.is_empty() && v.trim() == v.as_str(), "desa {v:?} of {name}");
        }
    }
    for k in &catalogue.incomplete_villages {
        assert!(
            catalogue.gazetteer.contains_key(k),
            "{k} is incomplete but unknown"
        );
    }
    // Every question the desk could file is routed by a rule of its category, or triaged.
    let kecamatan = names.first().map_or("", |n| n.as_str());
    for category in catalogue.categories.keys().take(8) {
        for kind in KINDS {
            let q = RouteQuery {
                category,
                kind,
                kecamatan,
                text: "jalan rusak dan lampu mati",
            };
            assert_route_is_first_match(&reference.rules, &q, &[]);
        }
    }
}

/// A comma-separated list, trimmed, without empty entries (as `UpsertRule` stores it).
fn list(field: &[u8]) -> Vec<String> {
    text(field)
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A rule as `UpsertRule` would store it, or `None` where it would refuse one.
fn rule(record: &[u8]) -> Option<RoutingRule> {
    let f = split_fields(record, 7);
    Some(RoutingRule {
        id: text(f[0]),
        category: CategoryCode::parse(&text(f[1])).ok()?,
        opd: OpdCode::parse(&text(f[2])).ok()?,
        priority: text(f[3]).trim().parse().unwrap_or(0),
        kinds: f[4]
            .iter()
            .map(|b| KINDS[usize::from(*b) % KINDS.len()])
            .collect(),
        kecamatan: list(f[5]),
        keywords: list(f[6]),
    })
}

/// Routing with arbitrary rules. Input: records separated by [`crate::RECORD_SEPARATOR`],
/// each of fields separated by [`crate::FIELD_SEPARATOR`]. The first record is the
/// question: category, kind (a byte: 0–3, else 0), kecamatan, text, and the OPDs that
/// rejected it (comma-separated). Every further record is a rule: id, category, OPD,
/// priority (decimal), kinds (a byte each, modulo 4), kecamatan and keywords (both
/// comma-separated). Rules `UpsertRule` would refuse (bad category or OPD code) and
/// repeated ids are dropped.
pub fn routing_rules(data: &[u8]) {
    let mut records = split_records(data);
    let q = split_fields(records.next().unwrap_or_default(), 5);
    let (category, kecamatan, question) = (text(q[0]), text(q[2]), text(q[3]));
    let excluded: Vec<OpdCode> = list(q[4]).iter().filter_map(|c| OpdCode::parse(c).ok()).collect();
    let query = RouteQuery {
        category: &category,
        kind: pick(q[1], &KINDS).unwrap_or(QuestionKind::Question),
        kecamatan: &kecamatan,
        text: &question,
    };
    let mut ids = BTreeSet::new();
    let rules: Vec<RoutingRule> = records
        .take(64)
        .filter_map(rule)
        .filter(|r| ids.insert(r.id.clone()))
        .collect();
    let mut reversed = rules.clone();
    reversed.reverse();
    let set = RuleSet::new(rules);
    assert_in_trial_order(set.rules());
    let decision = assert_route_is_first_match(&set, &query, &excluded);
    assert_eq!(
        RuleSet::new(reversed).route(&query, &excluded),
        decision,
        "the decision depends on the order the rules were given in"
    );
}

/// Rules are tried by priority (highest first), then specificity, then id.
fn assert_in_trial_order(rules: &[RoutingRule]) {
    let key = |r: &RoutingRule| {
        let specificity = usize::from(!r.kinds.is_empty())
            + usize::from(!r.kecamatan.is_empty())
            + usize::from(!r.keywords.is_empty());
        (
            std::cmp::Reverse(r.priority),
            std::cmp::Reverse(specificity),
            r.id.clone(),
        )
    };
    for pair in rules.windows(2) {
        assert!(key(&pair[0]) <= key(&pair[1]), "rules out of order: {pair:?}");
    }
}

/// What the README says a rule matches: its category, and each condition it has.
fn matches(rule: &RoutingRule, q: &RouteQuery<'_>) -> bool {
    let text = q.text.to_lowercase();
    rule.category.as_str() == q.category
        && (rule.kinds.is_empty() || rule.kinds.contains(&q.kind))
        && (rule.kecamatan.is_empty() || rule.kecamatan.iter().any(|k| k.eq_ignore_ascii_case(q.kecamatan)))
        && (rule.keywords.is_empty() || rule.keywords.iter().any(|w| text.contains(&w.to_lowercase())))
}

/// Routes `q` and checks the decision is the first matching rule not left out, or
/// triage when there is none; returns the decision.
fn assert_route_is_first_match(set: &RuleSet, q: &RouteQuery<'_>, excluded: &[OpdCode]) -> RouteDecision {
    let decision = set.route(q, excluded);
    let first = set
        .rules()
        .iter()
        .find(|r| !excluded.contains(&r.opd) && matches(r, q));
    match (&decision, first) {
        (RouteDecision::Routed { opd, rule_id, reason }, Some(rule)) => {
            assert_eq!(
                (rule_id, opd),
                (&rule.id, &rule.opd),
                "not the first matching rule"
            );
            assert!(!excluded.contains(opd), "routed back to an OPD that rejected it");
            assert!(
                reason.contains(rule_id.as_str()),
                "the reason does not name the rule"
            );
        }
        (RouteDecision::Triage { reason }, None) => {
            assert!(
                reason.contains(q.category),
                "the reason does not name the category"
            );
        }
        (decision, rule) => panic!("decided {decision:?}, but the first matching rule is {rule:?}"),
    }
    decision
}
