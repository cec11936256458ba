//! The figures compared, in a form both sides fill: the simulator from its model,
//! reporting from its responses. Comparison is field by field and exact (floats by
//! their exact value).

use std::collections::{BTreeMap, BTreeSet};

use kenduren_proto::reporting::v1::{GetSessionReportResponse, LabelCount, OpdScorecard};

/// One OPD's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpdFigures {
    /// Questions (last) assigned to the OPD.
    pub assigned: u64,
    /// Of them, answered at least once.
    pub answered: u64,
    /// First answer no later than the due date.
    pub answered_within_due: u64,
    /// answered_within_due / answered × 100.
    pub answered_within_due_percent: f64,
    /// Still ROUTED or ACKNOWLEDGED (reopened ones included).
    pub open: u64,
    /// Open and past their due date.
    pub overdue: u64,
    /// Taken on site.
    pub on_site: u64,
    /// On-site questions first answered by the end of the day they were routed.
    pub answered_on_the_spot: u64,
    /// (level, questions that reached it while assigned to the OPD), ascending.
    pub escalated: Vec<(u32, u64)>,
    /// Median working hours from the (last) assignment to the first answer, rounded to
    /// the second, of the answered questions.
    pub median_working_hours_to_answer: f64,
    /// The same at the 90th percentile (nearest rank).
    pub p90_working_hours_to_answer: f64,
    /// Mean latest rating of rated questions.
    pub average_rating: f64,
    /// Rated questions.
    pub rated: u64,
    /// Questions reopened by a poor rating at least once.
    pub reopened: u64,
    /// Sessions that expected the OPD.
    pub sessions_expected: u64,
    /// Of them, those it checked in at.
    pub sessions_attended: u64,
}

impl OpdFigures {
    /// Reporting's scorecard in this form.
    pub fn from_scorecard(c: &OpdScorecard) -> Self {
        Self {
            assigned: c.assigned,
            answered: c.answered,
            answered_within_due: c.answered_within_due,
            answered_within_due_percent: c.answered_within_due_percent,
            open: c.open,
            overdue: c.overdue,
            on_site: c.on_site,
            answered_on_the_spot: c.answered_on_the_spot,
            escalated: c.escalated.iter().map(|e| (e.level, e.questions)).collect(),
            median_working_hours_to_answer: c.median_working_hours_to_answer,
            p90_working_hours_to_answer: c.p90_working_hours_to_answer,
            average_rating: c.average_rating,
            rated: c.rated,
            reopened: c.reopened,
            sessions_expected: c.sessions_expected,
            sessions_attended: c.sessions_attended,
        }
    }

    /// Every figure as (name, exact text), in table order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let levels = self
            .escalated
            .iter()
            .map(|(l, n)| format!("L{l}:{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        vec![
            ("assigned", self.assigned.to_string()),
            ("answered", self.answered.to_string()),
            ("within_due", self.answered_within_due.to_string()),
            ("within_due_%", exact(self.answered_within_due_percent)),
            ("open", self.open.to_string()),
            ("overdue", self.overdue.to_string()),
            ("on_site", self.on_site.to_string()),
            ("on_the_spot", self.answered_on_the_spot.to_string()),
            ("escalated", if levels.is_empty() { "-".into() } else { levels }),
            ("median_h", exact(self.median_working_hours_to_answer)),
            ("p90_h", exact(self.p90_working_hours_to_answer)),
            ("avg_rating", exact(self.average_rating)),
            ("rated", self.rated.to_string()),
            ("reopened", self.reopened.to_string()),
            ("sessions_exp", self.sessions_expected.to_string()),
            ("sessions_att", self.sessions_attended.to_string()),
        ]
    }
}

/// One session's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFigures {
    /// Local dates.
    pub dates: Vec<String>,
    /// Where.
    pub kecamatan: String,
    /// Which village.
    pub desa: String,
    /// Submissions taken at the session, withdrawn ones included.
    pub submissions: u64,
    /// Per kind (e.g. ASPIRATION), by label.
    pub by_kind: Vec<(String, u64)>,
    /// Per category, by label.
    pub by_category: Vec<(String, u64)>,
    /// First answered by the end of the day they were routed.
    pub answered_on_the_spot: u64,
    /// Not answered and not withdrawn.
    pub still_unanswered: u64,
    /// Aspirations / submissions × 100.
    pub aspiration_percent: f64,
    /// OPDs the session expected, by code.
    pub opds_expected: Vec<String>,
    /// OPDs that checked in (expected or not).
    pub opds_checked_in: Vec<String>,
    /// Expected, not checked in, and the session is over.
    pub opds_absent: Vec<String>,
    /// Expected and not checked in while the session has not ended yet.
    pub opds_awaited: Vec<String>,
}

impl SessionFigures {
    /// Reporting's session report in this form.
    pub fn from_report(r: &GetSessionReportResponse) -> Self {
        let labels = |v: &[LabelCount]| v.iter().map(|l| (l.label.clone(), l.count)).collect();
        Self {
            dates: r.dates.clone(),
            kecamatan: r.kecamatan.clone(),
            desa: r.desa.clone(),
            submissions: r.submissions,
            by_kind: labels(&r.by_kind),
            by_category: labels(&r.by_category),
            answered_on_the_spot: r.answered_on_the_spot,
            still_unanswered: r.still_unanswered,
            aspiration_percent: r.aspiration_percent,
            opds_expected: r.opds_expected.clone(),
            opds_checked_in: r.opds_checked_in.clone(),
            opds_absent: r.opds_absent.clone(),
            opds_awaited: r.opds_awaited.clone(),
        }
    }

    /// Every figure as (name, exact text), in table order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let labels = |v: &[(String, u64)]| {
            v.iter()
                .map(|(l, n)| format!("{l}:{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        vec![
            ("dates", self.dates.join(",")),
            ("place", format!("{}/{}", self.kecamatan, self.desa)),
            ("submissions", self.submissions.to_string()),
            ("by_kind", labels(&self.by_kind)),
            ("by_category", labels(&self.by_category)),
            ("on_the_spot", self.answered_on_the_spot.to_string()),
            ("unanswered", self.still_unanswered.to_string()),
            ("aspiration_%", exact(self.aspiration_percent)),
            ("opds_expected", self.opds_expected.join(",")),
            ("opds_checked_in", self.opds_checked_in.join(",")),
            ("opds_absent", self.opds_absent.join(",")),
            ("opds_awaited", self.opds_awaited.join(",")),
        ]
    }
}

/// Both kinds of figures of one season.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Per OPD code.
    pub opds: BTreeMap<String, OpdFigures>,
    /// Per session id.
    pub sessions: BTreeMap<String, SessionFigures>,
}

/// One figure that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `opd DINKES` or `session <id>`.
    pub subject: String,
    /// The figure's name.
    pub figure: &'static str,
    /// What the simulator expected.
    pub expected: String,
    /// What reporting said.
    pub reported: String,
}

/// Every difference between `expected` and `reported`, including an OPD or session
/// present on one side only.
pub fn compare(expected: &Figures, reported: &Figures) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let opds: BTreeSet<&String> = expected.opds.keys().chain(reported.opds.keys()).collect();
    for code in opds {
        let subject = format!("opd {code}");
        diff(
            &mut out,
            &subject,
            expected.opds.get(code).map(OpdFigures::fields),
            reported.opds.get(code).map(OpdFigures::fields),
        );
    }
    let sessions: BTreeSet<&String> = expected.sessions.keys().chain(reported.sessions.keys()).collect();
    for id in sessions {
        let subject = format!("session {id}");
        diff(
            &mut out,
            &subject,
            expected.sessions.get(id).map(SessionFigures::fields),
            reported.sessions.get(id).map(SessionFigures::fields),
        );
    }
    out
}

type Fields = Vec<(&'static str, String)>;

fn diff(out: &mut Vec<Mismatch>, subject: &str, expected: Option<Fields>, reported: Option<Fields>) {
    match (expected, reported) {
        (Some(e), Some(r)) => {
            for ((figure, ev), (_, rv)) in e.into_iter().zip(r) {
                if ev != rv {
                    out.push(Mismatch {
                        subject: subject.to_owned(),
                        figure,
                        expected: ev,
                        reported: rv,
                    });
                }
            }
        }
        (e, r) => out.push(Mismatch {
            subject: subject.to_owned(),
            figure: "present",
            expected: e.is_some().to_string(),
            reported: r.is_some().to_string(),
        }),
    }
}

/// A float's exact value (shortest text that reads back to the same bits).
fn exact(v: f64) -> String {
    format!("{v:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_figures_have_no_mismatch() {
        let mut f = Figures::default();
        f.opds.insert(
            "DINKES".into(),
            OpdFigures {
                assigned: 2,
                ..Default::default()
            },
        );
        assert!(compare(&f, &f.clone()).is_empty());
    }

    #[test]
    fn a_different_figure_and_a_missing_opd_are_both_reported() {
        let mut e = Figures::default();
        e.opds.insert(
            "DINKES".into(),
            OpdFigures {
                assigned: 2,
                ..Default::default()
            },
        );
        e.opds.insert("DLH".into(), OpdFigures::default());
        let mut r = Figures::default();
        r.opds.insert(
            "DINKES".into(),
            OpdFigures {
                assigned: 3,
                ..Default::default()
            },
        );
        let m = compare(&e, &r);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].figure, m[0].expected.as_str(), m[0].reported.as_str()),
            ("assigned", "2", "3")
        );
        assert_eq!((m[1].subject.as_str(), m[1].figure), ("opd DLH", "present"));
    }

    #[test]
    fn floats_compare_exactly() {
        let a = OpdFigures {
            average_rating: 0.1 + 0.2,
            ..Default::default()
        };
        let b = OpdFigures {
            average_rating: 0.3,
            ..Default::default()
        };
        let (mut e, mut r) = (Figures::default(), Figures::default());
        e.opds.insert("X".into(), a);
        r.opds.insert("X".into(), b);
        assert_eq!(compare(&e, &r).len(), 1);
    }
}
