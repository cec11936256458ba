//! The simulator's own record of the season — what it did and what it observed — and
//! the figures that follow from it, computed here and nowhere else.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kenduren_domain::{QuestionKind, WorkCalendar};
use kenduren_proto::events::v1::QuestionStatus as Pb;

use crate::{
    figures::{Figures, OpdFigures, SessionFigures},
    hours::{percentile_hours, working_micros},
};

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
    /// When, as the tracking timeline dates it (the answer event's time).
    pub at: DateTime<Utc>,
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
    /// When the current (last) assignment was made: the tracking timeline's time of the
    /// last routing or reassignment event.
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
    /// The figures reporting should show at `now`, with working hours on `calendar`.
    pub(crate) fn expected(&self, now: DateTime<Utc>, calendar: &WorkCalendar) -> Figures {
        let mut opds: BTreeMap<String, OpdFigures> = BTreeMap::new();
        let mut ratings: BTreeMap<String, u64> = BTreeMap::new();
        let mut to_answer: BTreeMap<String, Vec<i64>> = BTreeMap::new();
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
                let worked = q.routed_at.map_or(0, |from| working_micros(calendar, from, a.at));
                to_answer.entry(opd.clone()).or_default().push(worked);
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
            let worked = to_answer.get(opd).map_or(&[][..], Vec::as_slice);
            c.median_working_hours_to_answer = percentile_hours(worked, 50);
            c.p90_working_hours_to_answer = percentile_hours(worked, 90);
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
            .map(|s| (s.id.clone(), self.session_figures(s, now)))
            .collect();
        Figures { opds, sessions }
    }

    fn session_figures(&self, s: &Session, now: DateTime<Utc>) -> SessionFigures {
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
        let stayed_away: Vec<String> = s.expected.difference(&s.checked_in).cloned().collect();
        let (absent, awaited) = if over(&s.dates, now) {
            (stayed_away, Vec::new())
        } else {
            (Vec::new(), stayed_away)
        };
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
            opds_absent: absent,
            opds_awaited: awaited,
        }
    }
}

/// Whether a session held on `dates` (YYYY-MM-DD, WIB) has ended at `now`: from midnight
/// WIB after its last day on, an expected OPD that never checked in is absent.
pub(crate) fn over(dates: &[String], now: DateTime<Utc>) -> bool {
    let last = dates
        .iter()
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .max();
    let Some(next) = last.and_then(|d| d.succ_opt()) else {
        return false;
    };
    // Midnight WIB is 17:00 UTC the day before.
    let end = next.and_time(NaiveTime::MIN).and_utc() - chrono::Duration::hours(7);
    now >= end
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
mod tests;
