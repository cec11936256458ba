//! Building events to append, and converting timestamps between chrono and protobuf.

use chrono::{DateTime, TimeZone, Utc};
use kenduren_proto::EventMessage;
use kenduren_store::NewEvent;
use prost_types::Timestamp;
use uuid::Uuid;

/// An event that happened at `occurred_at`, ready to append: a fresh id, the payload
/// encoded, the current trace attached.
pub fn new_event<M: EventMessage>(
    message: &M,
    subject: String,
    causation_id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: M::TYPE.to_owned(),
        subject,
        payload: message.encode_to_vec(),
        occurred_at,
        causation_id,
        traceparent: kenduren_telemetry::current_traceparent(),
    }
}

/// A protobuf timestamp for `at`.
pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// The instant of a protobuf timestamp, if it is a valid one.
pub fn to_datetime(ts: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(ts.nanos).ok()?;
    Utc.timestamp_opt(ts.seconds, nanos).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_garbage_is_none() {
        let now = Utc::now();
        assert_eq!(to_datetime(&timestamp(now)), Some(now));
        assert_eq!(
            to_datetime(&Timestamp {
                seconds: 0,
                nanos: -1
            }),
            None
        );
    }
}
