//! The simulator's own record of the season — what it did and what it observed — and
//! the figures that follow from it, computed here and nowhere else.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use kenduren_domain::QuestionKind;
use kenduren_proto::events::v1::QuestionStatus as Pb;

use crate::figures::{Figures, OpdFigures, SessionFigures};

/// How an OPD behaves during the season.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Profile {
    /// Checks in and answers everything at once.
    Prompt,
    /// Sometimes checks in; answers only part of its questions, late (after escalation).
    Slow,
    /// Never checks in and never answers.
    Absent,
    /// Checks in; rejects part of its assignments (before and after escalation) and
    /// answers the rest.
    Rejecting,
}

impl Profile {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prompt => "prompt",
            Self::Slow => "slow",
            Self::Absent => "absent",
            Self::Rejecting => "rejecting",
        }
    }
}

/// Where a question is in its life, as the simulator drove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Submitted,
    Triage,
    Routed,
    Acknowledged,
    Answered,
    Withdrawn,
}

impl Status {
    /// The status intake's tracking should show.
    pub(crate) fn proto(self) -> Pb {
        match self {
            Self::Submitted => Pb::Submitted,
            Self::Triage => Pb::Triage,
            Self::Routed => Pb::Routed,
            Self::Acknowledged => Pb::Acknowledged,
            Self::Answered => Pb::Answered,
            Self::Withdrawn => Pb::Withdrawn,
        }
    }

    /// Still waiting for its OPD (what inboxes list and scorecards call open).
    pub(crate) fn with_opd(self) -> bool {
        matches!(self, Self::Routed | Self::Acknowledged)
    }

    /// Neither answered nor withdrawn.
    pub(crate) fn unanswered(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::Triage | Self::Routed | Self::Acknowledged
        )
    }
}

/// The first answer as the citizen's tracking showed it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FirstAnswer {
    /// Answered no later than the due date in force then.
    pub within_due: bool,
    /// On site and answered before the end of the WIB day it was (last) routed.
    pub on_the_spot: bool,
}

/// One citizen's submission.
#[derive(Debug, Clone)]
pub(crate) struct Question {
    pub id: String,
    pub ticket: String,
    pub pin: String,
    pub kind: QuestionKind,
    pub category: String,
    pub on_site: bool,
    pub session: Option<String>,
    pub status: Status,
    /// Current OPD (none in triage or while being rerouted).
    pub opd: Option<String>,
    /// Due date of the current assignment, from tracking.
    pub due: Option<DateTime<Utc>>,
    /// When the current assignment was made, from tracking.
    pub routed_at: Option<DateTime<Utc>>,
    /// Routing outcomes (routed, triaged, reassigned) the model has caused so far.
    pub routings: usize,
    /// Waiting for routing to act on a rejection or a manual route.
    pub awaiting_route: bool,
    /// Answers the model gave (a reopened question may get a second).
    pub answers: usize,
    pub rejected_by: Vec<String>,
    pub first_answer: Option<FirstAnswer>,
    pub rating: Option<u32>,
    pub reopened: u32,
    /// (OPD, level) of every escalation the model expects.
    pub escalations: BTreeSet<(String, u32)>,
    /// Levels already escalated on the current SLA clock (each goes out once per clock).
    pub clock_levels: BTreeSet<u32>,
}

/// One scheduled session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub dates: Vec<String>,
    pub kecamatan: String,
    pub desa: String,
    pub expected: BTreeSet<String>,
    pub checked_in: BTreeSet<String>,
}

/// Everything the season did.
#[derive(Debug, Default)]
pub(crate) struct Model {
    pub questions: Vec<Question>,
    pub sessions: Vec<Session>,
}

impl Model {
    /// The figures reporting should show at `now`.
    pub(crate) fn expected(&self, now: DateTime<Utc>) -> Figures {
        let mut opds: BTreeMap<String, OpdFigures> = BTreeMap::new();
        let mut ratings: BTreeMap<String, u64> = BTreeMap::new();
        let mut escalated: BTreeMap<(String, u32), u64> = BTreeMap::new();
        for q in &self.questions {
            for key in &q.escalations {
                *escalated.entry(key.clone()).or_default() += 1;
            }
            let Some(opd) = &q.opd else { continue };
            let c = opds.entry(opd.clone()).or_default();
            c.assigned += 1;
            if let Some(a) = q.first_answer {
                c.answered += 1;
                c.answered_within_due += u64::from(a.within_due);
                c.answered_on_the_spot += u64::from(a.on_the_spot && q.on_site);
            }
            if q.status.with_opd() {
                c.open += 1;
                c.overdue += u64::from(q.due.is_some_and(|d| d < now));
            }
            c.on_site += u64::from(q.on_site);
            if let Some(r) = q.rating {
                c.rated += 1;
                *ratings.entry(opd.clone()).or_default() += u64::from(r);
            }
            c.reopened += u64::from(q.reopened > 0);
        }
        for ((opd, level), n) in escalated {
            opds.entry(opd).or_default().escalated.push((level, n));
        }
        for s in &self.sessions {
            for opd in s.expected.union(&s.checked_in) {
                let c = opds.entry(opd.clone()).or_default();
                if s.expected.contains(opd) {
                    c.sessions_expected += 1;
                    c.sessions_attended += u64::from(s.checked_in.contains(opd));
                }
            }
        }
        for (opd, c) in &mut opds {
            c.answered_within_due_percent = percent(c.answered_within_due, c.answered);
            let sum = ratings.get(opd).copied().unwrap_or(0);
            c.average_rating = if c.rated == 0 {
                0.0
            } else {
                sum as f64 / c.rated as f64
            };
        }
        let sessions = self
            .sessions
            .iter()
            .map(|s| (s.id.clone(), self.session_figures(s)))
            .collect();
        Figures { opds, sessions }
    }

    fn session_figures(&self, s: &Session) -> SessionFigures {
        let taken: Vec<&Question> = self
            .questions
            .iter()
            .filter(|q| q.session.as_deref() == Some(s.id.as_str()))
            .collect();
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        let mut categories: BTreeMap<String, u64> = BTreeMap::new();
        for q in &taken {
            *kinds.entry(kind_label(q.kind).to_owned()).or_default() += 1;
            *categories.entry(q.category.clone()).or_default() += 1;
        }
        let submissions = taken.len() as u64;
        let aspirations = kinds.get("ASPIRATION").copied().unwrap_or(0);
        SessionFigures {
            dates: s.dates.clone(),
            kecamatan: s.kecamatan.clone(),
            desa: s.desa.clone(),
            submissions,
            by_kind: kinds.into_iter().collect(),
            by_category: categories.into_iter().collect(),
            answered_on_the_spot: taken
                .iter()
                .filter(|q| q.first_answer.is_some_and(|a| a.on_the_spot))
                .count() as u64,
            still_unanswered: taken.iter().filter(|q| q.status.unanswered()).count() as u64,
            aspiration_percent: percent(aspirations, submissions),
            opds_expected: s.expected.iter().cloned().collect(),
            opds_checked_in: s.checked_in.iter().cloned().collect(),
            opds_absent: s.expected.difference(&s.checked_in).cloned().collect(),
        }
    }
}

/// The label a kind is reported under.
pub(crate) fn kind_label(kind: QuestionKind) -> &'static str {
    match kind {
        QuestionKind::Question => "QUESTION",
        QuestionKind::Complaint => "COMPLAINT",
        QuestionKind::Aspiration => "ASPIRATION",
        QuestionKind::ServiceRequest => "SERVICE_REQUEST",
    }
}

/// `part` of `whole` in percent; 0 of nothing.
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
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
            within_due: true,
            on_the_spot: true,
        });
        answered.rating = Some(2);
        answered.reopened = 1;
        let model = Model {
            questions: vec![moved, answered, question(None, Status::Triage)],
            sessions: vec![Session {
                id: "s1".into(),
                dates: vec![],
                kecamatan: "Bangil".into(),
                desa: "Kalirejo".into(),
                expected: ["A".to_owned(), "B".to_owned()].into(),
                checked_in: ["B".to_owned(), "C".to_owned()].into(),
            }],
        };
        let f = model.expected(Utc::now());
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
    }
}
