//! Property tests of the lifecycle over real events: random command sequences for one
//! question become the protobuf events the services append, travel the way the outbox
//! relay and the consumers carry them (stored row → CloudEvent → NATS headers and
//! payload bytes → CloudEvent → `AnyEvent`), and are folded through
//! [`transition_of`] and [`QuestionStatus::apply`] as every service folds them.
//!
//! What must hold: the events fold to the state and refusals their commands fold to;
//! a stream a service would write is read back without a single refusal; and folding
//! the decoded events is deterministic — twice, or in two parts resumed from the status
//! as the services store it.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use kenduren_bus::{CloudEvent, Subjects};
use kenduren_domain::{QuestionStatus, Transition, TransitionError};
use kenduren_proto::{events::v1 as ev, AnyEvent, EventMessage};
use kenduren_runtime::{new_event, timestamp, transition_of};
use kenduren_store::StoredEvent;
use proptest::{prelude::*, sample::Index};
use uuid::Uuid;

/// Every transition a command can ask for.
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

/// One thing that happens to the question.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// A command the lifecycle judges; its event carries the transition.
    Command(Transition),
    /// Routing restarted the clock: an event that moves no status.
    Rescheduled,
    /// An admin erased the citizen's identity: an event that moves no status.
    Erased,
}

/// An event as it was built, and its position in the steps (`None`: the submission).
#[derive(Debug, Clone)]
struct Sent {
    step: Option<usize>,
    original: AnyEvent,
    stored: StoredEvent,
}

/// Where a fold ended: the status, how many moves were accepted, and each refusal with
/// the position of the step it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Folded {
    status: QuestionStatus,
    accepted: usize,
    refused: Vec<(usize, TransitionError)>,
}

/// Folds `moves` (step position, transition) from `start`: a refused move leaves the
/// status as it was and is recorded, as the services' projections do.
fn fold_from(start: QuestionStatus, moves: impl IntoIterator<Item = (usize, Transition)>) -> Folded {
    let mut folded = Folded {
        status: start,
        accepted: 0,
        refused: Vec::new(),
    };
    for (at, t) in moves {
        match folded.status.apply(t) {
            Ok(next) => {
                folded.status = next;
                folded.accepted += 1;
            }
            Err(e) => folded.refused.push((at, e)),
        }
    }
    folded
}

/// The moves of decoded events, each numbered by the step that produced it.
fn moves_of<'a>(events: &'a [(Option<usize>, AnyEvent)]) -> impl Iterator<Item = (usize, Transition)> + 'a {
    events
        .iter()
        .filter_map(|(step, e)| Some((step.unwrap_or(usize::MAX), transition_of(e)?.1)))
}

/// The commands among `steps`, numbered by position.
fn commands(steps: &[Step]) -> impl Iterator<Item = (usize, Transition)> + '_ {
    steps.iter().enumerate().filter_map(|(i, s)| match s {
        Step::Command(t) => Some((i, *t)),
        Step::Rescheduled | Step::Erased => None,
    })
}

fn at(minute: usize) -> DateTime<Utc> {
    let start = Utc
        .with_ymd_and_hms(2025, 3, 3, 1, 0, 0)
        .single()
        .expect("a valid instant");
    start + TimeDelta::minutes(i64::try_from(minute).expect("a small step count"))
}

/// Builds the event of one message as the service appends it and stores it at `version`.
fn append<M: EventMessage + Clone>(
    message: M,
    wrap: fn(M) -> AnyEvent,
    question: Uuid,
    opd: Option<&str>,
    (step, version): (Option<usize>, i64),
) -> Sent {
    let subject = Subjects::new("kenduren")
        .expect("a valid prefix")
        .question(opd, M::NAME);
    let occurred_at = at(step.map_or(0, |s| s + 1));
    let new = new_event(&message, subject, Some(Uuid::now_v7()), occurred_at);
    let stored = StoredEvent {
        global_position: version,
        event_id: new.event_id,
        stream_id: question.to_string(),
        stream_version: version,
        event_type: new.event_type,
        subject: new.subject,
        payload: new.payload,
        occurred_at: new.occurred_at,
        causation_id: new.causation_id,
        traceparent: new.traceparent,
        recorded_at: occurred_at,
    };
    Sent {
        step,
        original: wrap(message),
        stored,
    }
}

/// The real event for a step, with the ids, timestamps and free text a service writes.
fn event_for(step: &Step, question: Uuid, opd: &str, text: &str, position: (Option<usize>, i64)) -> Sent {
    let q = question.to_string();
    let now = Some(timestamp(at(position.0.map_or(0, |s| s + 1))));
    let due = Some(timestamp(at(10_000)));
    let opd_owned = opd.to_owned();
    let text = text.to_owned();
    let o = Some(opd);
    match step {
        Step::Rescheduled => {
            let m = ev::QuestionRescheduled {
                question_id: q,
                opd_code: opd_owned,
                due_at: due,
                resolution_due_at: due,
                reason: text,
                rescheduled_at: now,
            };
            append(m, AnyEvent::QuestionRescheduled, question, o, position)
        }
        Step::Erased => {
            let m = ev::CitizenErased {
                question_id: q,
                actor: "admin".into(),
                reason: text,
                erased_at: now,
            };
            append(m, AnyEvent::CitizenErased, question, None, position)
        }
        Step::Command(t) => match *t {
            Transition::Route => {
                let m = ev::QuestionRouted {
                    question_id: q,
                    opd_code: opd_owned,
                    rule_id: "r-1".into(),
                    due_at: due,
                    routed_at: now,
                    reason: text,
                    ticket: "KDR-2025-000001".into(),
                    on_the_spot_due_at: None,
                    resolution_due_at: due,
                };
                append(m, AnyEvent::QuestionRouted, question, o, position)
            }
            Transition::Triage => {
                let m = ev::QuestionTriaged {
                    question_id: q,
                    reason: text,
                    triaged_at: now,
                };
                append(m, AnyEvent::QuestionTriaged, question, None, position)
            }
            Transition::Acknowledge => {
                let m = ev::QuestionAcknowledged {
                    question_id: q,
                    opd_code: opd_owned,
                    staff_name: text,
                    acknowledged_at: now,
                };
                append(m, AnyEvent::QuestionAcknowledged, question, o, position)
            }
            Transition::Answer => {
                let m = ev::QuestionAnswered {
                    question_id: q,
                    opd_code: opd_owned,
                    answer: text,
                    responder_name: "Petugas".into(),
                    responder_position: "Kepala Seksi".into(),
                    attachments: vec!["https://example.org/a.pdf".into()],
                    answered_at: now,
                };
                append(m, AnyEvent::QuestionAnswered, question, o, position)
            }
            Transition::PlanFollowUp => {
                let m = ev::FollowUpPlanned {
                    question_id: q,
                    opd_code: opd_owned,
                    plan: text,
                    planned_by: due,
                    planned_at: now,
                };
                append(m, AnyEvent::FollowUpPlanned, question, o, position)
            }
            Transition::Resolve => {
                let m = ev::QuestionResolved {
                    question_id: q,
                    opd_code: opd_owned,
                    note: text,
                    resolved_at: now,
                };
                append(m, AnyEvent::QuestionResolved, question, o, position)
            }
            Transition::RejectAssignment => {
                let m = ev::AssignmentRejected {
                    question_id: q,
                    opd_code: opd_owned,
                    reason: text,
                    rejected_at: now,
                };
                append(m, AnyEvent::AssignmentRejected, question, o, position)
            }
            Transition::Reassign => {
                let m = ev::QuestionReassigned {
                    question_id: q,
                    from_opd_code: "DINSOS".into(),
                    to_opd_code: opd_owned,
                    reason: text,
                    due_at: due,
                    reassigned_at: now,
                };
                append(m, AnyEvent::QuestionReassigned, question, o, position)
            }
            Transition::Escalate => {
                let m = ev::QuestionEscalated {
                    question_id: q,
                    opd_code: opd_owned,
                    level: 1,
                    due_at: due,
                    escalated_at: now,
                };
                append(m, AnyEvent::QuestionEscalated, question, o, position)
            }
            Transition::Rate { reopens } => {
                let m = ev::AnswerRated {
                    question_id: q,
                    rating: if reopens { 1 } else { 5 },
                    comment: text,
                    reopens,
                    rated_at: now,
                };
                append(m, AnyEvent::AnswerRated, question, o, position)
            }
            Transition::Withdraw => {
                let m = ev::QuestionWithdrawn {
                    question_id: q,
                    reason: text,
                    withdrawn_at: now,
                };
                append(m, AnyEvent::QuestionWithdrawn, question, None, position)
            }
        },
    }
}

/// The question's stream: its submission, then one event per step.
fn stream(steps: &[Step], question: Uuid, opd: &str, text: &str) -> Vec<Sent> {
    let submitted = ev::QuestionSubmitted {
        question_id: question.to_string(),
        ticket: "KDR-2025-000001".into(),
        text: text.to_owned(),
        submitted_at: Some(timestamp(at(0))),
        ..Default::default()
    };
    let mut sent = vec![append(
        submitted,
        AnyEvent::QuestionSubmitted,
        question,
        None,
        (None, 1),
    )];
    for (i, step) in steps.iter().enumerate() {
        let version = i64::try_from(i).expect("a small step count") + 2;
        sent.push(event_for(step, question, opd, text, (Some(i), version)));
    }
    sent
}

/// What a consumer gets: the relay's envelope on NATS headers and payload bytes,
/// received, checked and decoded by its CloudEvents type.
fn through_the_bus(sent: &Sent) -> Result<AnyEvent, String> {
    let published = sent.stored.to_cloud_event("/kenduren/test");
    let headers = published.to_headers().map_err(|e| e.to_string())?;
    let received =
        CloudEvent::from_message(Some(&headers), published.data.clone()).map_err(|e| e.to_string())?;
    if received != published {
        return Err(format!("the envelope changed on the way: {received:?}"));
    }
    AnyEvent::decode(&received.ty, &received.data).map_err(|e| e.to_string())
}

/// Every event of `sent` through the bus, each with the step that produced it.
fn received(sent: &[Sent]) -> Result<Vec<(Option<usize>, AnyEvent)>, String> {
    sent.iter().map(|s| Ok((s.step, through_the_bus(s)?))).collect()
}

/// Random steps: mostly commands the lifecycle allows from where the question stands
/// (so sequences get deep), some random ones (so refusals happen), and now and then an
/// event that moves no status.
fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec((0u8..10, any::<Index>()), 0..40).prop_map(|picks| {
        let mut status = QuestionStatus::Submitted;
        let mut steps = Vec::with_capacity(picks.len());
        for (kind, pick) in picks {
            let step = match kind {
                0 => Step::Rescheduled,
                1 => Step::Erased,
                2 | 3 => Step::Command(TRANSITIONS[pick.index(TRANSITIONS.len())]),
                _ => {
                    let allowed: Vec<Transition> = TRANSITIONS
                        .into_iter()
                        .filter(|t| status.apply(*t).is_ok())
                        .collect();
                    let from = if allowed.is_empty() {
                        TRANSITIONS.to_vec()
                    } else {
                        allowed
                    };
                    Step::Command(from[pick.index(from.len())])
                }
            };
            if let Step::Command(t) = step {
                status = status.apply(t).unwrap_or(status);
            }
            steps.push(step);
        }
        steps
    })
}

fn opd() -> impl Strategy<Value = String> {
    proptest::sample::select(vec!["DINKES".to_owned(), "DISDIK".to_owned(), "PUPR".to_owned()])
}

/// The status as the services keep it: written as text, parsed on the next event.
fn stored_and_read_back(status: QuestionStatus) -> QuestionStatus {
    QuestionStatus::parse(status.as_str()).expect("a stored status parses")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The decoded events are the events that were built, each names its own question,
    /// and they fold to the state and refusals their commands fold to. `QuestionEscalated`
    /// moves no status by design (see `kenduren_runtime::lifecycle`), so its command's
    /// refusals are the only ones the events do not repeat — and since the domain's
    /// `Escalate` never changes a status, the status agrees with every command folded.
    #[test]
    fn events_through_the_bus_fold_like_their_commands(
        steps in steps(),
        question in any::<u128>(),
        opd in opd(),
        text in "\\PC{0,40}",
    ) {
        let question = Uuid::from_u128(question);
        let sent = stream(&steps, question, &opd, &text);
        let decoded = received(&sent).map_err(TestCaseError::fail)?;
        for (s, (_, d)) in sent.iter().zip(&decoded) {
            prop_assert_eq!(d, &s.original);
            if let Some((id, _)) = transition_of(d) {
                prop_assert_eq!(id, question.to_string());
            }
        }

        let by_events = fold_from(QuestionStatus::Submitted, moves_of(&decoded));
        let without_escalations = commands(&steps).filter(|(_, t)| *t != Transition::Escalate);
        prop_assert_eq!(&by_events, &fold_from(QuestionStatus::Submitted, without_escalations));
        prop_assert_eq!(by_events.status, fold_from(QuestionStatus::Submitted, commands(&steps)).status);
    }

    /// A stream a service would write — an event only for each command the lifecycle
    /// accepted — is read back by every consumer without a single refusal, and ends
    /// where the commands did: writers and readers agree on what each event means.
    #[test]
    fn a_stream_of_accepted_commands_is_read_back_without_refusals(
        steps in steps(),
        opd in opd(),
    ) {
        let mut status = QuestionStatus::Submitted;
        let mut written = Vec::new();
        for step in steps {
            if let Step::Command(t) = step {
                match status.apply(t) {
                    Ok(next) => status = next,
                    Err(_) => continue,
                }
            }
            written.push(step);
        }
        let sent = stream(&written, Uuid::now_v7(), &opd, "isi");
        let decoded = received(&sent).map_err(TestCaseError::fail)?;
        let folded = fold_from(QuestionStatus::Submitted, moves_of(&decoded));
        prop_assert_eq!(folded.refused, vec![]);
        prop_assert_eq!(folded.status, status);
    }

    /// Folding decoded events resumes: folding a prefix, storing the status it reached
    /// as the services store it, and folding the rest from there gives the whole fold,
    /// for any cut.
    #[test]
    fn folding_decoded_events_resumes_from_the_stored_status(
        steps in steps(),
        opd in opd(),
        cut in any::<Index>(),
    ) {
        let sent = stream(&steps, Uuid::now_v7(), &opd, "isi");
        let decoded = received(&sent).map_err(TestCaseError::fail)?;
        let whole = fold_from(QuestionStatus::Submitted, moves_of(&decoded));

        let cut = cut.index(decoded.len() + 1);
        let head = fold_from(QuestionStatus::Submitted, moves_of(&decoded[..cut]));
        let tail = fold_from(stored_and_read_back(head.status), moves_of(&decoded[cut..]));
        let mut refused = head.refused;
        refused.extend(tail.refused);
        let resumed = Folded {
            status: tail.status,
            accepted: head.accepted + tail.accepted,
            refused,
        };
        prop_assert_eq!(resumed, whole);
    }
}
