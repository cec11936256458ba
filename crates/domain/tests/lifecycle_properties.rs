//! Property tests of the question lifecycle: random sequences of transitions, checked
//! against a table of allowed moves written out here from DESIGN.md — independently of
//! `QuestionStatus::apply` — so a change to either shows up as a disagreement.

use std::collections::BTreeSet;

use kenduren_domain::{QuestionStatus, Transition, TransitionError};
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

/// Where a fold ended: the status, how many transitions were accepted, and each
/// refusal with its position in the sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Folded {
    status: QuestionStatus,
    accepted: usize,
    refused: Vec<(usize, TransitionError)>,
}

/// Folds `transitions` from `start` as every service does: a refused event leaves the
/// status as it was and is recorded. `offset` numbers the refusals of a sequence that
/// is folded in parts.
fn fold_from(start: QuestionStatus, transitions: &[Transition], offset: usize) -> Folded {
    let mut folded = Folded {
        status: start,
        accepted: 0,
        refused: Vec::new(),
    };
    for (i, t) in transitions.iter().enumerate() {
        match folded.status.apply(*t) {
            Ok(next) => {
                folded.status = next;
                folded.accepted += 1;
            }
            Err(e) => folded.refused.push((offset + i, e)),
        }
    }
    folded
}

/// Folds `transitions` from SUBMITTED.
fn fold(transitions: &[Transition]) -> Folded {
    fold_from(Submitted, transitions, 0)
}

/// A status stored and read back as the services keep it: intake, routing and
/// answering write `as_str` into a text column and parse it on the next command; the
/// JSON form is what a snapshot or a log would carry.
fn stored_and_read_back(status: QuestionStatus) -> QuestionStatus {
    let column = QuestionStatus::parse(status.as_str()).expect("a stored status parses");
    let json = serde_json::to_string(&column).expect("a status serializes");
    serde_json::from_str(&json).expect("a serialized status deserializes")
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

#[test]
fn every_status_reads_back_as_it_was_stored() {
    for status in QuestionStatus::ALL {
        assert_eq!(stored_and_read_back(status), status);
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

    /// Folding is incremental: folding a prefix, storing the status it reached as the
    /// services store it, reading it back and folding the rest from there ends exactly
    /// where folding everything at once does, with the same refusals, for any cut.
    #[test]
    fn folding_a_prefix_then_the_rest_from_the_stored_status_is_folding_all(
        seq in proptest::collection::vec(transition(), 0..40),
        cut in any::<prop::sample::Index>(),
    ) {
        let cut = cut.index(seq.len() + 1);
        let head = fold(&seq[..cut]);
        let tail = fold_from(stored_and_read_back(head.status), &seq[cut..], cut);
        let mut refused = head.refused;
        refused.extend(tail.refused);
        let resumed = Folded {
            status: tail.status,
            accepted: head.accepted + tail.accepted,
            refused,
        };
        prop_assert_eq!(resumed, fold(&seq));
    }

    /// Transitions survive serialization: none is lost or turned into another, not even
    /// a rating's `reopens` (the protobuf path of real events is checked in
    /// `crates/runtime/tests/lifecycle_events.rs`).
    #[test]
    fn transitions_survive_a_serialization_round_trip(
        seq in proptest::collection::vec(transition(), 0..40),
    ) {
        let json = serde_json::to_vec(&seq).expect("transitions serialize");
        let back: Vec<Transition> = serde_json::from_slice(&json).expect("and deserialize");
        prop_assert_eq!(&back, &seq);
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
