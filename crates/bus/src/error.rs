//! Error types of the bus crate: one for talking to NATS, one for decoding envelopes.

use thiserror::Error;

/// Failure while configuring or talking to NATS / JetStream.
#[derive(Debug, Error)]
pub enum BusError {
    /// A subject prefix or token would break the subject scheme.
    #[error("invalid subject token {token:?}: {reason}")]
    InvalidToken {
        /// The offending token.
        token: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The stream name is not a valid JetStream name.
    #[error("invalid stream name {name:?}: must be non-empty and contain no whitespace, '.', '*' or '>'")]
    InvalidStreamName {
        /// The offending name.
        name: String,
    },
    /// The initial connection to the NATS server failed.
    #[error("cannot connect to NATS at {url}")]
    Connect {
        /// The URL that was tried.
        url: String,
        /// The client's error.
        #[source]
        source: async_nats::ConnectError,
    },
    /// Creating or updating the stream failed.
    #[error("cannot create or update stream {name}")]
    Stream {
        /// The stream name.
        name: String,
        /// The JetStream error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Why a NATS message is not a valid Kenduren CloudEvent (or an event cannot become one).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The message carried no headers at all, so it cannot be a binary-mode CloudEvent.
    #[error("message has no headers")]
    NoHeaders,
    /// A required header is absent.
    #[error("missing header {header}")]
    MissingHeader {
        /// Header name.
        header: &'static str,
    },
    /// A header is present more than once with different values.
    #[error("header {header} appears more than once with different values")]
    AmbiguousHeader {
        /// Header name.
        header: &'static str,
    },
    /// A required header is present but empty.
    #[error("header {header} is empty")]
    EmptyHeader {
        /// Header name.
        header: &'static str,
    },
    /// `ce-specversion` is not `1.0`.
    #[error("unsupported CloudEvents specversion {found:?} (expected \"1.0\")")]
    UnsupportedSpecVersion {
        /// The value found (truncated).
        found: String,
    },
    /// `ce-datacontenttype` is not `application/protobuf`.
    #[error("unsupported datacontenttype {found:?} (expected \"application/protobuf\")")]
    UnsupportedContentType {
        /// The value found (truncated).
        found: String,
    },
    /// A header that must hold a UUID does not.
    #[error("header {header} is not a UUID: {value:?}")]
    InvalidUuid {
        /// Header name.
        header: &'static str,
        /// The value found (truncated).
        value: String,
    },
    /// `ce-time` is not an RFC 3339 timestamp.
    #[error("header ce-time is not an RFC 3339 timestamp: {value:?}")]
    InvalidTime {
        /// The value found (truncated).
        value: String,
    },
    /// `ce-streamversion` is not a positive integer.
    #[error("header ce-streamversion is not a positive integer: {value:?}")]
    InvalidStreamVersion {
        /// The value found (truncated).
        value: String,
    },
    /// A value cannot be carried in a NATS header (it contains CR or LF).
    #[error("value for header {header} contains a line break")]
    InvalidHeaderValue {
        /// Header name.
        header: &'static str,
    },
}
