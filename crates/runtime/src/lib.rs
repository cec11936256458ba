//! What every Kenduren service shares: the connection to the event backbone
//! (Postgres schema, NATS stream), the gRPC server with health and reflection,
//! the one place where errors become `tonic::Status`, and graceful shutdown.

pub mod backbone;
pub mod clock;
pub mod convert;
pub mod error;
pub mod event;
pub mod lifecycle;
pub mod logged;
pub mod metrics;
pub mod server;
pub mod service;
pub mod tls;

pub use backbone::{Backbone, BackboneSettings, ServiceContext};
pub use clock::Clock;
pub use error::{ApiError, RuntimeError};
pub use event::{new_event, timestamp, to_datetime};
pub use lifecycle::{transition_of, LifecycleEvent};
pub use logged::logged;
pub use server::{serve_grpc, GrpcServer};
pub use tls::TlsSettings;
pub use tokio_util::sync::CancellationToken;
