//! CloudEvents 1.0 envelope in binary mode on NATS headers, as the CloudEvents NATS
//! protocol binding defines it, plus Kenduren's extensions (`ce-streamversion`,
//! `ce-causationid`) and W3C `traceparent`.
//!
//! Decoding never panics: every missing or malformed header maps to an
//! [`EnvelopeError`] variant, because consumers dead-letter such messages and move on.

use async_nats::header::{HeaderMap, HeaderValue};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::EnvelopeError;

#[cfg(test)]
mod tests;

/// The only CloudEvents specification version understood here.
pub const SPEC_VERSION: &str = "1.0";
/// Content type of every Kenduren event payload (protobuf messages from `proto/`).
pub const DATA_CONTENT_TYPE: &str = "application/protobuf";

/// Header names used by the envelope.
pub mod headers {
    /// CloudEvents spec version.
    pub const SPEC_VERSION: &str = "ce-specversion";
    /// Event id (a UUID).
    pub const ID: &str = "ce-id";
    /// Producing service, e.g. `/kenduren/intake`.
    pub const SOURCE: &str = "ce-source";
    /// Full protobuf message name.
    pub const TYPE: &str = "ce-type";
    /// When the event occurred (RFC 3339).
    pub const TIME: &str = "ce-time";
    /// Event stream id (e.g. a question id).
    pub const SUBJECT: &str = "ce-subject";
    /// Payload content type.
    pub const DATA_CONTENT_TYPE: &str = "ce-datacontenttype";
    /// Extension: version of the event within its stream.
    pub const STREAM_VERSION: &str = "ce-streamversion";
    /// Extension: id of the event that caused this one.
    pub const CAUSATION_ID: &str = "ce-causationid";
    /// W3C trace context.
    pub const TRACEPARENT: &str = "traceparent";
    /// JetStream de-duplication id.
    pub const NATS_MSG_ID: &str = "Nats-Msg-Id";
}

/// One event as it travels on NATS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEvent {
    /// Event id; also the `Nats-Msg-Id`, so retries are dropped by the stream.
    pub id: Uuid,
    /// Producing service, e.g. `/kenduren/intake`.
    pub source: String,
    /// Full protobuf message name, e.g. `kenduren.events.v1.QuestionSubmitted`.
    pub ty: String,
    /// When the event occurred.
    pub time: DateTime<Utc>,
    /// The event stream id (e.g. a question id).
    pub subject: String,
    /// Version of this event within its stream, starting at 1.
    pub stream_version: i64,
    /// Id of the event that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// W3C `traceparent` of the trace this event belongs to, if any.
    pub traceparent: Option<String>,
    /// Protobuf-encoded payload.
    pub data: Bytes,
}

fn header_value(header: &'static str, value: &str) -> Result<HeaderValue, EnvelopeError> {
    value
        .parse()
        .map_err(|_| EnvelopeError::InvalidHeaderValue { header })
}

/// At most 64 characters of a foreign value, so errors and logs stay bounded.
fn snippet(value: &str) -> String {
    value.chars().take(64).collect()
}

/// W3C trace-context `traceparent`: `vv-<32 hex>-<16 hex>-<2 hex>`, ids not all zero.
fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    parts.len() >= 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && parts[1].bytes().any(|b| b != b'0')
        && hex(parts[2], 16)
        && parts[2].bytes().any(|b| b != b'0')
        && hex(parts[3], 2)
        && (parts[0] != "00" || parts.len() == 4)
}

/// Finds one header's value, matching the name case-insensitively because other
/// clients may canonicalise header names.
fn lookup<'a>(map: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, EnvelopeError> {
    let mut found: Option<&str> = None;
    for (key, values) in map.iter() {
        if !key.to_string().eq_ignore_ascii_case(name) {
            continue;
        }
        for value in values {
            let value = value.as_str();
            match found {
                Some(previous) if previous != value => {
                    return Err(EnvelopeError::AmbiguousHeader { header: name })
                }
                _ => found = Some(value),
            }
        }
    }
    Ok(found)
}

fn required<'a>(map: &'a HeaderMap, name: &'static str) -> Result<&'a str, EnvelopeError> {
    match lookup(map, name)? {
        None => Err(EnvelopeError::MissingHeader { header: name }),
        Some(value) if value.trim().is_empty() => Err(EnvelopeError::EmptyHeader { header: name }),
        Some(value) => Ok(value),
    }
}

fn parse_uuid(header: &'static str, value: &str) -> Result<Uuid, EnvelopeError> {
    Uuid::try_parse(value).map_err(|_| EnvelopeError::InvalidUuid {
        header,
        value: snippet(value),
    })
}

impl CloudEvent {
    /// The `Nats-Msg-Id` this event is published with: its id.
    pub fn nats_msg_id(&self) -> String {
        self.id.to_string()
    }

    /// The NATS headers of this event in CloudEvents binary mode.
    ///
    /// Fails (instead of panicking, as async-nats would) when a text field contains a
    /// line break, which a NATS header cannot carry.
    pub fn to_headers(&self) -> Result<HeaderMap, EnvelopeError> {
        let mut map = HeaderMap::new();
        let id = self.id.to_string();
        map.insert(
            headers::SPEC_VERSION,
            header_value(headers::SPEC_VERSION, SPEC_VERSION)?,
        );
        map.insert(headers::ID, header_value(headers::ID, &id)?);
        map.insert(headers::SOURCE, header_value(headers::SOURCE, &self.source)?);
        map.insert(headers::TYPE, header_value(headers::TYPE, &self.ty)?);
        let time = self.time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        map.insert(headers::TIME, header_value(headers::TIME, &time)?);
        map.insert(headers::SUBJECT, header_value(headers::SUBJECT, &self.subject)?);
        map.insert(
            headers::DATA_CONTENT_TYPE,
            header_value(headers::DATA_CONTENT_TYPE, DATA_CONTENT_TYPE)?,
        );
        map.insert(
            headers::STREAM_VERSION,
            header_value(headers::STREAM_VERSION, &self.stream_version.to_string())?,
        );
        if let Some(causation) = self.causation_id {
            map.insert(
                headers::CAUSATION_ID,
                header_value(headers::CAUSATION_ID, &causation.to_string())?,
            );
        }
        if let Some(traceparent) = &self.traceparent {
            map.insert(
                headers::TRACEPARENT,
                header_value(headers::TRACEPARENT, traceparent)?,
            );
        }
        map.insert(headers::NATS_MSG_ID, header_value(headers::NATS_MSG_ID, &id)?);
        Ok(map)
    }

    /// Decodes a received message. `ce-causationid` and `traceparent` are optional; an
    /// invalid `traceparent` is dropped rather than refused, as W3C trace context asks.
    pub fn from_message(headers: Option<&HeaderMap>, payload: Bytes) -> Result<Self, EnvelopeError> {
        let map = headers.ok_or(EnvelopeError::NoHeaders)?;

        let spec = required(map, headers::SPEC_VERSION)?;
        if spec.trim() != SPEC_VERSION {
            return Err(EnvelopeError::UnsupportedSpecVersion { found: snippet(spec) });
        }
        let id = parse_uuid(headers::ID, required(map, headers::ID)?.trim())?;
        let source = required(map, headers::SOURCE)?.to_owned();
        let ty = required(map, headers::TYPE)?.to_owned();
        let time_text = required(map, headers::TIME)?;
        let time = DateTime::parse_from_rfc3339(time_text.trim())
            .map_err(|_| EnvelopeError::InvalidTime {
                value: snippet(time_text),
            })?
            .with_timezone(&Utc);
        let subject = required(map, headers::SUBJECT)?.to_owned();
        let content_type = required(map, headers::DATA_CONTENT_TYPE)?;
        // Parameters such as `; proto=...` are allowed; the media type itself must match.
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case(DATA_CONTENT_TYPE) {
            return Err(EnvelopeError::UnsupportedContentType {
                found: snippet(content_type),
            });
        }
        let version_text = required(map, headers::STREAM_VERSION)?;
        let stream_version = version_text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| EnvelopeError::InvalidStreamVersion {
                value: snippet(version_text),
            })?;
        let causation_id = match lookup(map, headers::CAUSATION_ID)? {
            Some(value) if !value.trim().is_empty() => Some(parse_uuid(headers::CAUSATION_ID, value.trim())?),
            _ => None,
        };
        let traceparent = lookup(map, headers::TRACEPARENT)?
            .map(str::trim)
            .filter(|v| valid_traceparent(v))
            .map(str::to_owned);

        Ok(Self {
            id,
            source,
            ty,
            time,
            subject,
            stream_version,
            causation_id,
            traceparent,
            data: payload,
        })
    }
}
