//! Property tests of the question lifecycle: random sequences of transitions, checked
//! against a table of allowed moves written out here from DESIGN.md — independently of
//! `QuestionStatus::apply` — so a change to either shows up as a disagreement.

use std::collections::BTreeSet;

use kenduren_domain::{QuestionStatus, Transition};
use proptest::prelude::*;

use QuestionStatus::*;

/// Every transition the lifecycle allows, as `(from, transition, to)`.
///
/// Straight from the picture in DESIGN.md, plus the cases it leaves to the
/// implementation, each marked:
/// - triage (README: routing sends a question no rule matches to triage, an admin
///   routes it from there);
/// - escalation needs an assigned OPD with a due date, so it applies to ROUTED and
///   ACKNOWLEDGED, not to SUBMITTED or TRIAGE;
/// - FOLLOW_UP is an answered status: it can be rated, and another follow-up planned;
/// - a reopening rating sends the question back to its OPD (ROUTED).
const ALLOWED: &[(QuestionStatus, Transition, QuestionStatus)] = &[
    // SUBMITTED --QuestionRouted--> ROUTED (and from triage, routed by hand)
    (Submitted, Transition::Route, Routed),
    (Triage, Transition::Route, Routed),
    // no rule matched
    (Submitted, Transition::Triage, Triage),
    // ROUTED --QuestionAcknowledged--> ACKNOWLEDGED
    (Routed, Transition::Acknowledge, Acknowledged),
    // ROUTED/ACKNOWLEDGED --QuestionAnswered--> ANSWERED
    (Routed, Transition::Answer, Answered),
    (Acknowledged, Transition::Answer, Answered),
    // ANSWERED --FollowUpPlanned--> FOLLOW_UP (another plan keeps it there)
    (Answered, Transition::PlanFollowUp, FollowUp),
    (FollowUp, Transition::PlanFollowUp, FollowUp),
    // FOLLOW_UP/ANSWERED --QuestionResolved--> RESOLVED
    (Answered, Transition::Resolve, Resolved),
    (FollowUp, Transition::Resolve, Resolved),
    // ROUTED/ACKNOWLEDGED --AssignmentRejected--> back to routing
    (Routed, Transition::RejectAssignment, Submitted),
    (Acknowledged, Transition::RejectAssignment, Submitted),
    // any open status --QuestionReassigned--> ROUTED
    (Submitted, Transition::Reassign, Routed),
    (Triage, Transition::Reassign, Routed),
    (Routed, Transition::Reassign, Routed),
    (Acknowledged, Transition::Reassign, Routed),
    // open and past due --QuestionEscalated--> stays
    (Routed, Transition::Escalate, Routed),
    (Acknowledged, Transition::Escalate, Acknowledged),
    // ANSWERED/RESOLVED (and FOLLOW_UP) --AnswerRated--> stays, or reopens
    (Answered, Transition::Rate { reopens: false }, Answered),
    (FollowUp, Transition::Rate { reopens: false }, FollowUp),
    (Resolved, Transition::Rate { reopens: false }, Resolved),
    (Answered, Transition::Rate { reopens: true }, Routed),
    (FollowUp, Transition::Rate { reopens: true }, Routed),
    (Resolved, Transition::Rate { reopens: true }, Routed),
    // before ANSWERED --QuestionWithdrawn--> WITHDRAWN
    (Submitted, Transition::Withdraw, Withdrawn),
    (Triage, Transition::Withdraw, Withdrawn),
    (Routed, Transition::Withdraw, Withdrawn),
    (Acknowledged, Transition::Withdraw, Withdrawn),
];

const TRANSITIONS: [Transition; 12] = [
    Transition::Route,
    Transition::Triage,
    Transition::Acknowledge,
    Transition::Answer,
    Transition::PlanFollowUp,
    Transition::Resolve,
    Transition::RejectAssignment,
    Transition::Reassign,
    Transition::Escalate,
    Transition::Rate { reopens: false },
    Transition::Rate { reopens: true },
    Transition::Withdraw,
];

/// The model: where the table says `transition` takes `from`, if anywhere.
fn model(from: QuestionStatus, transition: Transition) -> Option<QuestionStatus> {
    ALLOWED
        .iter()
        .find(|(f, t, _)| *f == from && *t == transition)
        .map(|(_, _, to)| *to)
}

/// Folds `transitions` from SUBMITTED as every service does: a refused event leaves the
/// status as it was. Returns the final status and how many were accepted.
fn fold(transitions: &[Transition]) -> (QuestionStatus, usize) {
    transitions
        .iter()
        .fold((Submitted, 0), |(st, n), t| match st.apply(*t) {
            Ok(next) => (next, n + 1),
            Err(_) => (st, n),
        })
}

fn transition() -> impl Strategy<Value = Transition> {
    proptest::sample::select(TRANSITIONS.to_vec())
}

fn status() -> impl Strategy<Value = QuestionStatus> {
    proptest::sample::select(QuestionStatus::ALL.to_vec())
}

#[test]
fn the_table_lists_each_move_once() {
    let keys: BTreeSet<String> = ALLOWED.iter().map(|(f, t, _)| format!("{f:?} {t:?}")).collect();
    assert_eq!(
        keys.len(),
        ALLOWED.len(),
        "a (status, transition) pair is listed twice"
    );
}

#[test]
fn apply_agrees_with_the_table_on_every_status_and_transition() {
    for from in QuestionStatus::ALL {
        for t in TRANSITIONS {
            match (from.apply(t), model(from, t)) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{from} --{t}-->"),
                (Err(e), None) => {
                    assert_eq!((e.from, e.transition), (from, t), "the refusal names the move");
                    assert!(e.to_string().contains(from.as_str()), "{e}");
                }
                (got, want) => panic!("{from} --{t}-->: apply says {got:?}, the lifecycle says {want:?}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every step of a random command sequence does what the table says, so the
    /// sequence never reaches a status the lifecycle forbids.
    #[test]
    fn random_sequences_follow_the_table(seq in proptest::collection::vec(transition(), 0..40)) {
        let mut st = Submitted;
        let mut answered_once = false;
        for t in &seq {
            let next = st.apply(*t);
            prop_assert_eq!(next.ok(), model(st, *t), "{} --{}-->", st, t);
            let before = st;
            st = next.unwrap_or(st);
            // Withdrawn is final; an answered status is only reached through an answer.
            prop_assert!(before != Withdrawn || st == Withdrawn);
            answered_once |= st == Answered;
            if matches!(st, FollowUp | Resolved) {
                prop_assert!(answered_once, "{} without an answer first", st);
            }
        }
    }

    /// The same events fold to the same status, every time.
    #[test]
    fn folding_is_deterministic(seq in proptest::collection::vec(transition(), 0..40)) {
        prop_assert_eq!(fold(&seq), fold(&seq));
    }

    /// Folding is prefix-closed: folding a prefix and then the rest from where the
    /// prefix ended gives the same status as folding everything at once.
    #[test]
    fn folding_a_prefix_then_the_rest_is_folding_all(
        seq in proptest::collection::vec(transition(), 0..40),
        cut in any::<prop::sample::Index>(),
    ) {
        let cut = cut.index(seq.len() + 1);
        let (mid, _) = fold(&seq[..cut]);
        let end = seq[cut..].iter().fold(mid, |st, t| st.apply(*t).unwrap_or(st));
        prop_assert_eq!(end, fold(&seq).0);
    }

    /// A refused transition changes nothing, from any status.
    #[test]
    fn a_refused_transition_leaves_the_status_unchanged(from in status(), t in transition()) {
        if let Err(e) = from.apply(t) {
            prop_assert_eq!(e.from, from);
            prop_assert!(model(from, t).is_none());
        }
    }
}
