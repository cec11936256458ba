//! Conversions between the protobuf enums and the domain's types, in one place.

use kenduren_domain::{Channel, QuestionKind, QuestionStatus};
use kenduren_proto::events::v1 as ev;

/// The domain kind for a protobuf enum value; `None` for unspecified or unknown values.
pub fn kind_from_proto(value: i32) -> Option<QuestionKind> {
    match ev::QuestionKind::try_from(value).ok()? {
        ev::QuestionKind::Question => Some(QuestionKind::Question),
        ev::QuestionKind::Complaint => Some(QuestionKind::Complaint),
        ev::QuestionKind::Aspiration => Some(QuestionKind::Aspiration),
        ev::QuestionKind::ServiceRequest => Some(QuestionKind::ServiceRequest),
        ev::QuestionKind::Unspecified => None,
    }
}

/// The protobuf value of a domain kind.
pub fn kind_to_proto(kind: QuestionKind) -> ev::QuestionKind {
    match kind {
        QuestionKind::Question => ev::QuestionKind::Question,
        QuestionKind::Complaint => ev::QuestionKind::Complaint,
        QuestionKind::Aspiration => ev::QuestionKind::Aspiration,
        QuestionKind::ServiceRequest => ev::QuestionKind::ServiceRequest,
    }
}

/// The domain channel for a protobuf enum value; `None` for unspecified or unknown values.
pub fn channel_from_proto(value: i32) -> Option<Channel> {
    match ev::Channel::try_from(value).ok()? {
        ev::Channel::OnSite => Some(Channel::OnSite),
        ev::Channel::Web => Some(Channel::Web),
        ev::Channel::Whatsapp => Some(Channel::Whatsapp),
        ev::Channel::Sms => Some(Channel::Sms),
        ev::Channel::Phone => Some(Channel::Phone),
        ev::Channel::Open311 => Some(Channel::Open311),
        ev::Channel::Unspecified => None,
    }
}

/// The protobuf value of a domain channel.
pub fn channel_to_proto(channel: Channel) -> ev::Channel {
    match channel {
        Channel::OnSite => ev::Channel::OnSite,
        Channel::Web => ev::Channel::Web,
        Channel::Whatsapp => ev::Channel::Whatsapp,
        Channel::Sms => ev::Channel::Sms,
        Channel::Phone => ev::Channel::Phone,
        Channel::Open311 => ev::Channel::Open311,
    }
}

/// The protobuf value of a domain status.
pub fn status_to_proto(status: QuestionStatus) -> ev::QuestionStatus {
    match status {
        QuestionStatus::Submitted => ev::QuestionStatus::Submitted,
        QuestionStatus::Triage => ev::QuestionStatus::Triage,
        QuestionStatus::Routed => ev::QuestionStatus::Routed,
        QuestionStatus::Acknowledged => ev::QuestionStatus::Acknowledged,
        QuestionStatus::Answered => ev::QuestionStatus::Answered,
        QuestionStatus::FollowUp => ev::QuestionStatus::FollowUp,
        QuestionStatus::Resolved => ev::QuestionStatus::Resolved,
        QuestionStatus::Withdrawn => ev::QuestionStatus::Withdrawn,
    }
}

/// The domain status for a protobuf enum value; `None` for unspecified or unknown values.
pub fn status_from_proto(value: i32) -> Option<QuestionStatus> {
    QuestionStatus::ALL
        .into_iter()
        .find(|s| status_to_proto(*s) as i32 == value)
}

/// Text form of a kind for storage (`QUESTION`, …).
pub fn kind_name(kind: QuestionKind) -> &'static str {
    match kind {
        QuestionKind::Question => "QUESTION",
        QuestionKind::Complaint => "COMPLAINT",
        QuestionKind::Aspiration => "ASPIRATION",
        QuestionKind::ServiceRequest => "SERVICE_REQUEST",
    }
}

/// Text form of a channel for storage (`ON_SITE`, …).
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::OnSite => "ON_SITE",
        Channel::Web => "WEB",
        Channel::Whatsapp => "WHATSAPP",
        Channel::Sms => "SMS",
        Channel::Phone => "PHONE",
        Channel::Open311 => "OPEN311",
    }
}

/// The kind stored as text by [`kind_name`].
pub fn kind_from_name(name: &str) -> Option<QuestionKind> {
    [
        QuestionKind::Question,
        QuestionKind::Complaint,
        QuestionKind::Aspiration,
        QuestionKind::ServiceRequest,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == name)
}

/// The channel stored as text by [`channel_name`].
pub fn channel_from_name(name: &str) -> Option<Channel> {
    [
        Channel::OnSite,
        Channel::Web,
        Channel::Whatsapp,
        Channel::Sms,
        Channel::Phone,
        Channel::Open311,
    ]
    .into_iter()
    .find(|c| channel_name(*c) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_and_unknown_values_are_none() {
        for s in QuestionStatus::ALL {
            assert_eq!(status_from_proto(status_to_proto(s) as i32), Some(s));
        }
        assert_eq!(status_from_proto(0), None);
        assert_eq!(kind_from_proto(99), None);
        assert_eq!(channel_from_proto(-1), None);
    }
}
