//! Routing rules: which OPD a question goes to, and why.

use serde::{Deserialize, Serialize};

use crate::{ids::OpdCode, question::QuestionKind, CategoryCode};

/// Maps a category, optionally narrowed by kind, kecamatan or keywords, to an OPD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    /// Stable id, for audit and `ExplainRoute`.
    pub id: String,
    /// The category this rule covers.
    pub category: CategoryCode,
    /// Who answers.
    pub opd: OpdCode,
    /// Higher wins; ties go to the more specific rule, then the smaller id.
    pub priority: i32,
    /// Empty: any kind.
    #[serde(default)]
    pub kinds: Vec<QuestionKind>,
    /// Empty: any kecamatan.
    #[serde(default)]
    pub kecamatan: Vec<String>,
    /// Empty: any text; otherwise one of these words (case-insensitive) must appear.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// What routing needs to know about a question.
#[derive(Debug, Clone, Copy)]
pub struct RouteQuery<'a> {
    /// The question's category.
    pub category: &'a str,
    /// The question's kind.
    pub kind: QuestionKind,
    /// Where it comes from.
    pub kecamatan: &'a str,
    /// What the citizen wrote.
    pub text: &'a str,
}

/// The outcome of routing one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteDecision {
    /// A rule matched.
    Routed {
        /// The assigned OPD.
        opd: OpdCode,
        /// The rule that matched.
        rule_id: String,
        /// Why, in words.
        reason: String,
    },
    /// No rule matched: an admin routes it by hand.
    Triage {
        /// Why, in words.
        reason: String,
    },
}

impl RoutingRule {
    fn matches(&self, q: &RouteQuery<'_>) -> bool {
        self.category.as_str() == q.category
            && (self.kinds.is_empty() || self.kinds.contains(&q.kind))
            && (self.kecamatan.is_empty()
                || self.kecamatan.iter().any(|k| k.eq_ignore_ascii_case(q.kecamatan)))
            && (self.keywords.is_empty() || {
                let text = q.text.to_lowercase();
                self.keywords.iter().any(|w| text.contains(&w.to_lowercase()))
            })
    }

    /// How many narrowing conditions the rule has: the more, the more specific.
    fn specificity(&self) -> usize {
        usize::from(!self.kinds.is_empty())
            + usize::from(!self.kecamatan.is_empty())
            + usize::from(!self.keywords.is_empty())
    }

    fn explain(&self) -> String {
        let mut why = format!(
            "rule {} (priority {}): category {}",
            self.id, self.priority, self.category
        );
        if !self.kinds.is_empty() {
            why.push_str(&format!(", kind in {:?}", self.kinds));
        }
        if !self.kecamatan.is_empty() {
            why.push_str(&format!(", kecamatan in {:?}", self.kecamatan));
        }
        if !self.keywords.is_empty() {
            why.push_str(&format!(", text mentions one of {:?}", self.keywords));
        }
        why
    }
}

/// The rules in force, ordered so the first match is the winner.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<RoutingRule>,
}

impl RuleSet {
    /// Orders `rules` by priority, then specificity, then id, so routing is deterministic.
    pub fn new(mut rules: Vec<RoutingRule>) -> Self {
        rules.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(b.specificity().cmp(&a.specificity()))
                .then(a.id.cmp(&b.id))
        });
        Self { rules }
    }

    /// The rules in the order they are tried.
    pub fn rules(&self) -> &[RoutingRule] {
        &self.rules
    }

    /// Routes `q`, skipping the OPDs in `excluded` (those that already rejected it).
    pub fn route(&self, q: &RouteQuery<'_>, excluded: &[OpdCode]) -> RouteDecision {
        let found = self
            .rules
            .iter()
            .filter(|r| !excluded.contains(&r.opd))
            .find(|r| r.matches(q));
        match found {
            Some(rule) => RouteDecision::Routed {
                opd: rule.opd.clone(),
                rule_id: rule.id.clone(),
                reason: rule.explain(),
            },
            None if excluded.is_empty() => RouteDecision::Triage {
                reason: format!("no rule matches category {}", q.category),
            },
            None => RouteDecision::Triage {
                reason: format!(
                    "no rule matches category {} once the OPDs left out are skipped ({}: they rejected it or are inactive)",
                    q.category,
                    excluded
                        .iter()
                        .map(OpdCode::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, category: &str, opd: &str, priority: i32) -> RoutingRule {
        RoutingRule {
            id: id.into(),
            category: CategoryCode::parse(category).expect("category"),
            opd: OpdCode::parse(opd).expect("opd"),
            priority,
            kinds: vec![],
            kecamatan: vec![],
            keywords: vec![],
        }
    }

    fn query<'a>(category: &'a str, text: &'a str) -> RouteQuery<'a> {
        RouteQuery {
            category,
            kind: QuestionKind::Question,
            kecamatan: "Bangil",
            text,
        }
    }

    fn opd_of(d: RouteDecision) -> String {
        match d {
            RouteDecision::Routed { opd, .. } => opd.to_string(),
            RouteDecision::Triage { .. } => "TRIAGE".into(),
        }
    }

    #[test]
    fn the_category_rule_routes_its_questions() {
        let rules = RuleSet::new(vec![rule("r1", "kependudukan", "DISPENDUKCAPIL", 10)]);
        assert_eq!(
            opd_of(rules.route(&query("kependudukan", "KTP hilang"), &[])),
            "DISPENDUKCAPIL"
        );
    }

    #[test]
    fn higher_priority_wins_and_a_keyword_narrows() {
        let mut roads = rule("r2", "infrastruktur", "DPUPR", 10);
        let mut lights = rule("r3", "infrastruktur", "DISHUB", 20);
        lights.keywords = vec!["lampu".into()];
        roads.kinds = vec![];
        let rules = RuleSet::new(vec![roads, lights]);
        assert_eq!(
            opd_of(rules.route(&query("infrastruktur", "Lampu jalan mati"), &[])),
            "DISHUB"
        );
        assert_eq!(
            opd_of(rules.route(&query("infrastruktur", "Jalan berlubang"), &[])),
            "DPUPR"
        );
    }

    #[test]
    fn equal_priority_goes_to_the_more_specific_rule() {
        let general = rule("a", "kesehatan", "DINKES", 10);
        let mut local = rule("b", "kesehatan", "RSUD_BANGIL", 10);
        local.kecamatan = vec!["bangil".into()];
        let rules = RuleSet::new(vec![general, local]);
        assert_eq!(
            opd_of(rules.route(&query("kesehatan", "antrian"), &[])),
            "RSUD_BANGIL"
        );
    }

    #[test]
    fn a_complaint_only_rule_wins_for_complaints_and_not_for_questions() {
        let general = rule("a", "sosial", "DINSOS", 10);
        let mut complaints = rule("b", "sosial", "INSPEKTORAT", 20);
        complaints.kinds = vec![QuestionKind::Complaint];
        let rules = RuleSet::new(vec![general, complaints]);
        let complaint = RouteQuery {
            kind: QuestionKind::Complaint,
            ..query("sosial", "bansos tidak sampai")
        };
        assert_eq!(opd_of(rules.route(&complaint, &[])), "INSPEKTORAT");
        assert_eq!(
            opd_of(rules.route(&query("sosial", "bansos tidak sampai"), &[])),
            "DINSOS",
            "a question is not a complaint, however high the complaint rule's priority"
        );
    }

    #[test]
    fn an_opd_that_rejected_never_gets_it_back() {
        let rules = RuleSet::new(vec![
            rule("r1", "pajak", "BAPENDA", 20),
            rule("r2", "pajak", "BPKAD", 10),
        ]);
        let bapenda = OpdCode::parse("BAPENDA").expect("opd");
        let bpkad = OpdCode::parse("BPKAD").expect("opd");
        assert_eq!(
            opd_of(rules.route(&query("pajak", "PBB"), std::slice::from_ref(&bapenda))),
            "BPKAD"
        );
        assert_eq!(
            opd_of(rules.route(&query("pajak", "PBB"), &[bapenda, bpkad])),
            "TRIAGE"
        );
    }

    #[test]
    fn an_unknown_category_goes_to_triage_with_a_reason() {
        let rules = RuleSet::new(vec![rule("r1", "pajak", "BAPENDA", 20)]);
        match rules.route(&query("lainnya", "?"), &[]) {
            RouteDecision::Triage { reason } => assert!(reason.contains("lainnya")),
            other => panic!("expected triage, got {other:?}"),
        }
    }
}
