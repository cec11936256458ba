//! Which lifecycle transition each event of record is: decided here once, so intake's
//! tracking, routing's view and answering's inboxes fold the same event the same way.
//!
//! The lifecycle rules themselves stay in the pure domain crate
//! ([`kenduren_domain::lifecycle`]); this module only names the protobuf event that
//! carries each [`Transition`], which the domain cannot do without depending on protobuf.
//!
//! Four question events are deliberately *not* transitions:
//! - `QuestionSubmitted` creates the question in `SUBMITTED`; there is no status before it.
//! - `QuestionRescheduled` carries a reopened question's new due dates; the reopening
//!   `AnswerRated` already moved the status.
//! - `QuestionEscalated` is routing's SLA clock speaking, and the domain's
//!   [`Transition::Escalate`] never changes a status. Routing appends it from its own
//!   view while answering may already have answered in its own store, so on the stream
//!   it can legitimately follow `QuestionAnswered`; folding it would turn that harmless
//!   race into a refused event that stalls a consumer. `Escalate` remains the check
//!   routing makes before escalating, not a step of the fold.
//! - `CitizenErased` destroys the citizen's contact, not the question's progress.

use kenduren_domain::Transition;
use kenduren_proto::{events::v1 as ev, AnyEvent};

/// An event message that moves one question through the lifecycle.
pub trait LifecycleEvent {
    /// The question this event moves.
    fn question_id(&self) -> &str;
    /// The transition this event is.
    fn transition(&self) -> Transition;
}

/// Events that are always the same transition.
macro_rules! fixed_transition {
    ($($msg:ident => $transition:ident),* $(,)?) => {
        $(impl LifecycleEvent for ev::$msg {
            fn question_id(&self) -> &str {
                &self.question_id
            }
            fn transition(&self) -> Transition {
                Transition::$transition
            }
        })*
    };
}

fixed_transition! {
    QuestionRouted => Route,
    QuestionTriaged => Triage,
    QuestionReassigned => Reassign,
    QuestionAcknowledged => Acknowledge,
    QuestionAnswered => Answer,
    FollowUpPlanned => PlanFollowUp,
    QuestionResolved => Resolve,
    AssignmentRejected => RejectAssignment,
    QuestionWithdrawn => Withdraw,
}

impl LifecycleEvent for ev::AnswerRated {
    fn question_id(&self) -> &str {
        &self.question_id
    }
    fn transition(&self) -> Transition {
        // A low rating reopens; the citizen's rating event says which it was.
        Transition::Rate {
            reopens: self.reopens,
        }
    }
}

/// The question an event moves and the transition it is, or `None` for an event that
/// changes no question's status (see the module documentation for which and why).
pub fn transition_of(event: &AnyEvent) -> Option<(&str, Transition)> {
    // Every variant is named, so a new event type cannot compile until someone decides
    // whether it moves the lifecycle.
    let moving: &dyn LifecycleEvent = match event {
        AnyEvent::QuestionRouted(e) => e,
        AnyEvent::QuestionTriaged(e) => e,
        AnyEvent::QuestionReassigned(e) => e,
        AnyEvent::QuestionAcknowledged(e) => e,
        AnyEvent::QuestionAnswered(e) => e,
        AnyEvent::FollowUpPlanned(e) => e,
        AnyEvent::QuestionResolved(e) => e,
        AnyEvent::AssignmentRejected(e) => e,
        AnyEvent::AnswerRated(e) => e,
        AnyEvent::QuestionWithdrawn(e) => e,
        AnyEvent::QuestionSubmitted(_)
        | AnyEvent::QuestionRescheduled(_)
        | AnyEvent::QuestionEscalated(_)
        | AnyEvent::CitizenErased(_)
        | AnyEvent::SessionScheduled(_)
        | AnyEvent::OpdCheckedIn(_)
        | AnyEvent::OpdUpserted(_)
        | AnyEvent::RuleUpserted(_)
        | AnyEvent::RuleDeleted(_)
        | AnyEvent::SlaPolicyUpdated(_)
        | AnyEvent::HolidaysSet(_) => return None,
    };
    Some((moving.question_id(), moving.transition()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "0190d6a2-0000-7000-8000-000000000001";

    fn q() -> String {
        Q.to_owned()
    }

    /// Every question event with the transition it must be, written out by hand.
    fn question_events() -> Vec<(AnyEvent, Option<Transition>)> {
        vec![
            (
                AnyEvent::QuestionSubmitted(ev::QuestionSubmitted {
                    question_id: q(),
                    ..Default::default()
                }),
                None,
            ),
            (
                AnyEvent::QuestionRouted(ev::QuestionRouted {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::Route),
            ),
            (
                AnyEvent::QuestionTriaged(ev::QuestionTriaged {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::Triage),
            ),
            (
                AnyEvent::QuestionReassigned(ev::QuestionReassigned {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::Reassign),
            ),
            (
                AnyEvent::QuestionAcknowledged(ev::QuestionAcknowledged {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::Acknowledge),
            ),
            (
                AnyEvent::QuestionAnswered(ev::QuestionAnswered {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::Answer),
            ),
            (
                AnyEvent::FollowUpPlanned(ev::FollowUpPlanned {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::PlanFollowUp),
            ),
            (
                AnyEvent::QuestionResolved(ev::QuestionResolved {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::Resolve),
            ),
            (
                AnyEvent::AssignmentRejected(ev::AssignmentRejected {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::RejectAssignment),
            ),
            (
                AnyEvent::AnswerRated(ev::AnswerRated {
                    question_id: q(),
                    rating: 5,
                    reopens: false,
                    ..Default::default()
                }),
                Some(Transition::Rate { reopens: false }),
            ),
            (
                AnyEvent::AnswerRated(ev::AnswerRated {
                    question_id: q(),
                    rating: 1,
                    reopens: true,
                    ..Default::default()
                }),
                Some(Transition::Rate { reopens: true }),
            ),
            (
                AnyEvent::QuestionWithdrawn(ev::QuestionWithdrawn {
                    question_id: q(),
                    ..Default::default()
                }),
                Some(Transition::Withdraw),
            ),
            (
                AnyEvent::QuestionRescheduled(ev::QuestionRescheduled {
                    question_id: q(),
                    ..Default::default()
                }),
                None,
            ),
            (
                AnyEvent::QuestionEscalated(ev::QuestionEscalated {
                    question_id: q(),
                    level: 1,
                    ..Default::default()
                }),
                None,
            ),
            (
                AnyEvent::CitizenErased(ev::CitizenErased {
                    question_id: q(),
                    ..Default::default()
                }),
                None,
            ),
        ]
    }

    #[test]
    fn each_question_event_is_the_transition_the_lifecycle_names_and_moves_its_own_question() {
        for (event, want) in question_events() {
            let got = transition_of(&event);
            assert_eq!(
                got.map(|(_, t)| t),
                want,
                "{} is the wrong transition",
                event.type_name()
            );
            if let Some((id, _)) = got {
                assert_eq!(id, Q, "{} names another question", event.type_name());
            }
        }
    }

    #[test]
    fn every_transition_but_escalate_has_an_event_that_carries_it() {
        let carried: Vec<Transition> = question_events()
            .iter()
            .filter_map(|(event, _)| transition_of(event).map(|(_, t)| t))
            .collect();
        for t in [
            Transition::Route,
            Transition::Triage,
            Transition::Acknowledge,
            Transition::Answer,
            Transition::PlanFollowUp,
            Transition::Resolve,
            Transition::RejectAssignment,
            Transition::Reassign,
            Transition::Rate { reopens: false },
            Transition::Rate { reopens: true },
            Transition::Withdraw,
        ] {
            assert!(carried.contains(&t), "no event carries {t:?}");
        }
        assert!(!carried.contains(&Transition::Escalate));
    }

    #[test]
    fn events_about_no_question_move_nothing() {
        for event in [
            AnyEvent::SessionScheduled(Default::default()),
            AnyEvent::OpdCheckedIn(Default::default()),
            AnyEvent::OpdUpserted(Default::default()),
            AnyEvent::RuleUpserted(Default::default()),
            AnyEvent::RuleDeleted(Default::default()),
            AnyEvent::SlaPolicyUpdated(Default::default()),
            AnyEvent::HolidaysSet(Default::default()),
        ] {
            assert_eq!(transition_of(&event), None, "{}", event.type_name());
        }
    }
}
