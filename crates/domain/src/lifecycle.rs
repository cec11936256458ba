//! The question lifecycle: which event may move a question from which status.
//!
//! Every service folds a question's events through [`QuestionStatus::apply`], so a
//! transition the lifecycle forbids is refused the same way everywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a question stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuestionStatus {
    /// Accepted, waiting for routing (also after an OPD rejected it).
    Submitted,
    /// No rule matched; an admin must route it by hand.
    Triage,
    /// Assigned to an OPD.
    Routed,
    /// The OPD has seen it.
    Acknowledged,
    /// The OPD answered.
    Answered,
    /// Answered, with a follow-up (tindak lanjut) planned.
    FollowUp,
    /// Closed by the OPD.
    Resolved,
    /// The citizen withdrew it before an answer.
    Withdrawn,
}

impl QuestionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [QuestionStatus; 8] = [
        Self::Submitted,
        Self::Triage,
        Self::Routed,
        Self::Acknowledged,
        Self::Answered,
        Self::FollowUp,
        Self::Resolved,
        Self::Withdrawn,
    ];

    /// Still waiting for an answer (the SLA clock runs).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::Triage | Self::Routed | Self::Acknowledged
        )
    }

    /// Upper-case name, as in the protobuf enum without its prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Triage => "TRIAGE",
            Self::Routed => "ROUTED",
            Self::Acknowledged => "ACKNOWLEDGED",
            Self::Answered => "ANSWERED",
            Self::FollowUp => "FOLLOW_UP",
            Self::Resolved => "RESOLVED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    /// Parses the upper-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The status after `transition`, or why the lifecycle forbids it.
    pub fn apply(self, transition: Transition) -> Result<QuestionStatus, TransitionError> {
        use QuestionStatus::*;
        use Transition as T;
        let next = match (self, transition) {
            (Submitted | Triage, T::Route) => Routed,
            (Submitted, T::Triage) => Triage,
            (Routed, T::Acknowledge) => Acknowledged,
            (Routed | Acknowledged, T::Answer) => Answered,
            (Answered | FollowUp, T::PlanFollowUp) => FollowUp,
            (Answered | FollowUp, T::Resolve) => Resolved,
            (Routed | Acknowledged, T::RejectAssignment) => Submitted,
            (Submitted | Triage | Routed | Acknowledged, T::Reassign) => Routed,
            (Routed | Acknowledged, T::Escalate) => self,
            (Answered | FollowUp | Resolved, T::Rate { reopens: false }) => self,
            (Answered | FollowUp | Resolved, T::Rate { reopens: true }) => Routed,
            (Submitted | Triage | Routed | Acknowledged, T::Withdraw) => Withdrawn,
            (from, transition) => return Err(TransitionError { from, transition }),
        };
        Ok(next)
    }
}

impl fmt::Display for QuestionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event does to a question's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transition {
    /// `QuestionRouted`.
    Route,
    /// `QuestionTriaged`: no rule matched.
    Triage,
    /// `QuestionAcknowledged`.
    Acknowledge,
    /// `QuestionAnswered`.
    Answer,
    /// `FollowUpPlanned`.
    PlanFollowUp,
    /// `QuestionResolved`.
    Resolve,
    /// `AssignmentRejected`: back to routing.
    RejectAssignment,
    /// `QuestionReassigned`.
    Reassign,
    /// `QuestionEscalated`.
    Escalate,
    /// `AnswerRated`; a low rating may reopen.
    Rate {
        /// Whether this rating reopens the question.
        reopens: bool,
    },
    /// `QuestionWithdrawn`.
    Withdraw,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Route => "route",
            Self::Triage => "triage",
            Self::Acknowledge => "acknowledge",
            Self::Answer => "answer",
            Self::PlanFollowUp => "plan a follow-up for",
            Self::Resolve => "resolve",
            Self::RejectAssignment => "reject",
            Self::Reassign => "reassign",
            Self::Escalate => "escalate",
            Self::Rate { .. } => "rate",
            Self::Withdraw => "withdraw",
        };
        f.write_str(s)
    }
}

/// A transition the lifecycle forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {transition} a question that is {from}")]
pub struct TransitionError {
    /// The question's current status.
    pub from: QuestionStatus,
    /// What was attempted.
    pub transition: Transition,
}

#[cfg(test)]
mod tests {
    use super::{QuestionStatus::*, Transition as T, *};

    #[test]
    fn the_happy_path_reaches_resolved() {
        let end = [T::Route, T::Acknowledge, T::Answer, T::PlanFollowUp, T::Resolve]
            .into_iter()
            .try_fold(Submitted, QuestionStatus::apply);
        assert_eq!(end, Ok(Resolved));
    }

    #[test]
    fn an_answer_before_routing_is_refused_with_the_current_status() {
        let err = Submitted.apply(T::Answer).unwrap_err();
        assert_eq!(err.from, Submitted);
        assert_eq!(err.to_string(), "cannot answer a question that is SUBMITTED");
    }

    #[test]
    fn a_rejected_assignment_goes_back_to_routing() {
        assert_eq!(Acknowledged.apply(T::RejectAssignment), Ok(Submitted));
        assert!(Answered.apply(T::RejectAssignment).is_err());
    }

    #[test]
    fn withdrawal_is_only_possible_before_an_answer() {
        for st in [Submitted, Triage, Routed, Acknowledged] {
            assert_eq!(st.apply(T::Withdraw), Ok(Withdrawn));
        }
        for st in [Answered, FollowUp, Resolved, Withdrawn] {
            assert!(st.apply(T::Withdraw).is_err());
        }
    }

    #[test]
    fn a_low_rating_reopens_and_a_good_one_does_not() {
        assert_eq!(Answered.apply(T::Rate { reopens: true }), Ok(Routed));
        assert_eq!(Resolved.apply(T::Rate { reopens: false }), Ok(Resolved));
        assert!(Routed.apply(T::Rate { reopens: false }).is_err());
    }

    #[test]
    fn nothing_moves_a_withdrawn_question() {
        for t in [
            T::Route,
            T::Triage,
            T::Acknowledge,
            T::Answer,
            T::PlanFollowUp,
            T::Resolve,
            T::RejectAssignment,
            T::Reassign,
            T::Escalate,
            T::Rate { reopens: true },
            T::Withdraw,
        ] {
            assert!(Withdrawn.apply(t).is_err(), "{t} moved a withdrawn question");
        }
    }

    #[test]
    fn status_names_round_trip() {
        for st in QuestionStatus::ALL {
            assert_eq!(QuestionStatus::parse(st.as_str()), Some(st));
        }
    }
}
