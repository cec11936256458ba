//! An OPD's own subscription to its events: what `kenduren watch --opd CODE` does, as
//! library code the end-to-end tests run against the shipped NATS permissions too.
//!
//! Any OPD subscriber does five things with the shipped NATS configuration
//! (deploy/nats/README.md):
//!
//! 1. log in as the OPD's NATS user (`opd-<CODE>`) with the inbox prefix
//!    `_INBOX.opd-<CODE>` — the only inbox the user may subscribe to
//!    ([`connect_options`]);
//! 2. create (or re-bind) the durable pull consumer `opd-<CODE>` on the stream,
//!    filtered on `<prefix>.v1.question.<CODE>.>` — the only consumer and filter the
//!    user may create, so it never sees another OPD's questions ([`consumer`]);
//! 3. pull messages and decode the CloudEvents headers (`ce-type`, `ce-id`,
//!    `ce-subject` = question id, `ce-time`, …) with [`CloudEvent::from_message`];
//! 4. decode the protobuf payload named by `ce-type` with [`AnyEvent::decode`]
//!    (3 and 4: [`describe`]);
//! 5. ack only after handling, so an event is redelivered if the subscriber dies
//!    half-way (handle events idempotently: `ce-id` identifies each one).
//!
//! Payloads never carry citizen identity; fetch the contact over gRPC
//! (`AnsweringService.GetQuestion`) when the citizen allows it.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream::ConsumerError};
use kenduren_bus::{CloudEvent, Subjects};
use kenduren_domain::OpdCode;
use kenduren_proto::AnyEvent;

/// Why an OPD's consumer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The server refused or did not answer the consumer creation (with the shipped
    /// permissions: a name or filter that is not the OPD's own).
    #[error("cannot create consumer {consumer} on stream {stream}: {source}")]
    Consumer {
        /// The durable name asked for.
        consumer: String,
        /// The stream it was asked on.
        stream: String,
        /// What the client library reported.
        #[source]
        source: ConsumerError,
    },
}

/// The OPD's durable consumer name, as the shipped permissions expect it.
pub fn consumer_name(opd: &OpdCode) -> String {
    format!("opd-{}", opd.as_str())
}

/// The inbox prefix the OPD's NATS user may subscribe to.
pub fn inbox_prefix(opd: &OpdCode) -> String {
    format!("_INBOX.opd-{}", opd.as_str())
}

/// Step 1: connection options for the OPD, with its own inbox prefix (add the user and
/// password of `opd-<CODE>` for a server with the shipped configuration).
pub fn connect_options(opd: &OpdCode) -> async_nats::ConnectOptions {
    async_nats::ConnectOptions::new()
        .name(format!("kenduren-watch-{}", opd.as_str()))
        .custom_inbox_prefix(inbox_prefix(opd))
}

/// The configuration of the OPD's durable pull consumer: its own name, filtered on its
/// own subjects.
pub fn consumer_config(subjects: &Subjects, opd: &OpdCode) -> pull::Config {
    pull::Config {
        durable_name: Some(consumer_name(opd)),
        filter_subject: subjects.opd(opd.as_str()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(30),
        max_deliver: 10,
        ..Default::default()
    }
}

/// Step 2: creates the OPD's durable pull consumer, or re-binds to it and keeps its
/// position when it exists with the same configuration.
pub async fn consumer(
    js: &jetstream::Context,
    stream: &str,
    subjects: &Subjects,
    opd: &OpdCode,
) -> Result<jetstream::consumer::PullConsumer, WatchError> {
    // Names the stream instead of looking it up: the OPD user may not list streams.
    js.create_consumer_on_stream(consumer_config(subjects, opd), stream)
        .await
        .map_err(|source| WatchError::Consumer {
            consumer: consumer_name(opd),
            stream: stream.to_owned(),
            source,
        })
}

/// Steps 3 and 4: one line describing a received event (time, type, question, version,
/// event id) and a second with its decoded payload, or why it cannot be decoded.
pub fn describe(message: &async_nats::Message) -> String {
    let event = match CloudEvent::from_message(message.headers.as_ref(), message.payload.clone()) {
        Ok(e) => e,
        Err(e) => return format!("{}  (not a Kenduren event: {e})", message.subject),
    };
    let payload = match AnyEvent::decode(&event.ty, &event.data) {
        Ok(p) => format!("{p:?}"),
        Err(e) => format!("(payload not decoded: {e:?})"),
    };
    format!(
        "{}  {}  question {}  v{}  id {}\n    {}",
        event.time.to_rfc3339(),
        event.ty.trim_start_matches("kenduren.events.v1."),
        event.subject,
        event.stream_version,
        event.id,
        payload
    )
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use kenduren_proto::{events::v1::QuestionRouted, EventMessage};

    use super::*;

    /// The protobuf encoding (through the bound: this crate does not name prost).
    fn encoded<E: EventMessage>(event: &E) -> Vec<u8> {
        event.encode_to_vec()
    }

    fn message(headers: Option<async_nats::HeaderMap>, payload: Vec<u8>) -> async_nats::Message {
        async_nats::Message {
            subject: "kenduren.v1.question.DINKES.routed".into(),
            reply: None,
            length: payload.len(),
            payload: payload.into(),
            headers,
            status: None,
            description: None,
        }
    }

    #[test]
    fn describe_prints_the_cloudevent_and_the_decoded_payload() {
        let id = uuid::Uuid::parse_str("0192f3c4-1111-7abc-8def-0123456789ab").expect("uuid");
        let routed = QuestionRouted {
            question_id: "0192f3c4-2222-7abc-8def-0123456789ab".into(),
            opd_code: "DINKES".into(),
            ..Default::default()
        };
        let event = CloudEvent {
            id,
            source: "/kenduren/routing".into(),
            ty: QuestionRouted::TYPE.into(),
            time: Utc.with_ymd_and_hms(2026, 3, 2, 1, 30, 0).single().expect("time"),
            subject: routed.question_id.clone(),
            stream_version: 2,
            causation_id: None,
            traceparent: None,
            data: encoded(&routed).into(),
        };
        let line = describe(&message(
            Some(event.to_headers().expect("headers")),
            encoded(&routed),
        ));
        let (head, payload) = line.split_once('\n').expect("two lines");
        assert_eq!(
            head,
            "2026-03-02T01:30:00+00:00  QuestionRouted  question \
             0192f3c4-2222-7abc-8def-0123456789ab  v2  id 0192f3c4-1111-7abc-8def-0123456789ab"
        );
        assert!(payload.starts_with("    QuestionRouted("), "{payload}");
        assert!(payload.contains("opd_code: \"DINKES\""), "{payload}");
    }

    #[test]
    fn describe_says_when_a_message_is_not_a_kenduren_event() {
        let line = describe(&message(None, b"hello".to_vec()));
        assert!(
            line.starts_with("kenduren.v1.question.DINKES.routed  (not a Kenduren event:"),
            "{line}"
        );
    }

    #[test]
    fn the_consumer_is_the_opds_own_name_and_subjects() {
        let opd = OpdCode::parse("DINKES").expect("code");
        let config = consumer_config(&Subjects::new("kenduren").expect("prefix"), &opd);
        assert_eq!(config.durable_name.as_deref(), Some("opd-DINKES"));
        assert_eq!(config.filter_subject, "kenduren.v1.question.DINKES.>");
        assert_eq!(inbox_prefix(&opd), "_INBOX.opd-DINKES");
    }
}
