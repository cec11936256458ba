//! NATS JetStream plumbing: subjects, stream set-up and the CloudEvents envelope.
//!
//! Everything a service needs to talk to the event backbone without knowing about
//! Postgres: the subject scheme (so NATS permissions can confine an OPD to its own
//! questions), the stream configuration, the client connection, and the CloudEvents 1.0
//! binary-mode envelope carried on NATS headers.

mod connect;
mod envelope;
mod error;
mod stream;
mod subjects;

pub use connect::{connect, connect_with_name, connect_with_tls, NatsTls, DEFAULT_CONNECTION_NAME};
pub use envelope::{headers, CloudEvent, DATA_CONTENT_TYPE, SPEC_VERSION};
pub use error::{BusError, EnvelopeError};
pub use stream::{ensure_stream, StreamSettings, DEFAULT_DUPLICATE_WINDOW};
pub use subjects::{validate_token, Subjects, UNASSIGNED};

/// Re-exported so callers name the same async-nats version as this crate.
pub use async_nats;
