//! Names and decoding of the event payloads: each event message knows its CloudEvents
//! type (its full protobuf name) and the last token of its NATS subject.

use prost::Message;

use crate::events::v1 as ev;

/// A payload of `kenduren.events.v1`.
pub trait EventMessage: Message + Default {
    /// Full protobuf name, used as `ce-type`.
    const TYPE: &'static str;
    /// Subject token, e.g. `submitted` in `kenduren.v1.question.unassigned.submitted`.
    const NAME: &'static str;
}

macro_rules! events {
    ($($msg:ident => $name:literal),* $(,)?) => {
        $(impl EventMessage for ev::$msg {
            const TYPE: &'static str = concat!("kenduren.events.v1.", stringify!($msg));
            const NAME: &'static str = $name;
        })*

        /// Any event payload, decoded by its CloudEvents type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum AnyEvent {
            $(
                #[doc = concat!("`", stringify!($msg), "`.")]
                $msg(ev::$msg),
            )*
        }

        impl AnyEvent {
            /// Decodes `data` as the message named by `ty`.
            pub fn decode(ty: &str, data: &[u8]) -> Result<Self, DecodeError> {
                match ty {
                    $(<ev::$msg as EventMessage>::TYPE => ev::$msg::decode(data)
                        .map(AnyEvent::$msg)
                        .map_err(|e| DecodeError::Payload { ty: ty.to_owned(), reason: e.to_string() }),)*
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }

            /// The CloudEvents type of this event.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(AnyEvent::$msg(_) => <ev::$msg as EventMessage>::TYPE,)*
                }
            }

            /// The subject token of this event.
            pub fn name(&self) -> &'static str {
                match self {
                    $(AnyEvent::$msg(_) => <ev::$msg as EventMessage>::NAME,)*
                }
            }
        }
    };
}

events! {
    QuestionSubmitted => "submitted",
    QuestionWithdrawn => "withdrawn",
    AnswerRated => "rated",
    QuestionRouted => "routed",
    QuestionReassigned => "reassigned",
    QuestionRescheduled => "rescheduled",
    QuestionEscalated => "escalated",
    QuestionTriaged => "triaged",
    QuestionAcknowledged => "acknowledged",
    QuestionAnswered => "answered",
    FollowUpPlanned => "followup",
    QuestionResolved => "resolved",
    AssignmentRejected => "rejected",
    SessionScheduled => "scheduled",
    OpdCheckedIn => "checkedin",
    OpdUpserted => "opdupserted",
    RuleUpserted => "ruleupserted",
    RuleDeleted => "ruledeleted",
    SlaPolicyUpdated => "slapolicyupdated",
    HolidaysSet => "holidaysset",
    CitizenErased => "erased",
}

/// Why an event payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// `ce-type` names no known event.
    UnknownType(String),
    /// The bytes are not that message.
    Payload {
        /// The type it claimed to be.
        ty: String,
        /// The decoder's complaint.
        reason: String,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownType(t) => write!(f, "unknown event type {t:?}"),
            Self::Payload { ty, reason } => write!(f, "payload is not a valid {ty}: {reason}"),
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_through_its_type_name() {
        let msg = ev::QuestionRouted {
            question_id: "q".into(),
            opd_code: "DINKES".into(),
            ..Default::default()
        };
        let back = AnyEvent::decode(ev::QuestionRouted::TYPE, &msg.encode_to_vec());
        assert_eq!(back, Ok(AnyEvent::QuestionRouted(msg)));
        assert_eq!(ev::QuestionRouted::TYPE, "kenduren.events.v1.QuestionRouted");
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        assert!(matches!(
            AnyEvent::decode("nope", b""),
            Err(DecodeError::UnknownType(_))
        ));
        assert!(matches!(
            AnyEvent::decode(ev::QuestionSubmitted::TYPE, &[0xff, 0xff, 0xff]),
            Err(DecodeError::Payload { .. })
        ));
    }
}
