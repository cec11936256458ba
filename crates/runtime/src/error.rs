//! Errors at the service boundary and their one mapping to gRPC status codes.

use kenduren_domain::{FieldViolation, TransitionError};
use kenduren_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// What an RPC handler can fail with; each variant has exactly one gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input: every bad field with what to fix.
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// Not there, or not the caller's to see.
    #[error("{0}")]
    NotFound(String),
    /// The lifecycle forbids this transition now.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A precondition other than the lifecycle failed.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Someone else changed it first (stale `expected_version`).
    #[error("{0}")]
    Aborted(String),
    /// An idempotency key reused with different content.
    #[error("{0}")]
    AlreadyExists(String),
    /// A dependency is down; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected state; details are logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(v: &[FieldViolation]) -> String {
    v.iter()
        .map(|f| format!("{}: {}", f.field, f.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// A single bad field.
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation {
            field: field.to_owned(),
            description: description.into(),
        }])
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if database_unavailable(&e) {
            Self::Unavailable(format!("database unavailable: {e}"))
        } else {
            Self::Internal(e.to_string())
        }
    }
}

/// Whether `e` says the database cannot be reached or is restarting, so the caller
/// should retry, rather than that the statement is wrong.
fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        // A restarting server answers a new connection's SSLRequest with garbage.
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        // SQLSTATE class 08 (connection exception) and 57P (shutting down, starting up).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => Self::Aborted(format!("{e}; reload and try again")),
            StoreError::Database(db) => db.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        let message = e.to_string();
        match e {
            ApiError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            ApiError::NotFound(_) => Status::not_found(message),
            ApiError::Transition(_) | ApiError::FailedPrecondition(_) => Status::failed_precondition(message),
            ApiError::Aborted(_) => Status::aborted(message),
            ApiError::AlreadyExists(_) => Status::already_exists(message),
            ApiError::Unavailable(_) => {
                tracing::warn!(error = %message, "dependency unavailable");
                Status::unavailable(message)
            }
            ApiError::Internal(_) => {
                tracing::error!(error = %message, "internal error");
                Status::internal("internal error; the details are in the service log")
            }
        }
    }
}

/// Why a service could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Postgres or the event store failed.
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A database call failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// NATS failed.
    #[error("NATS: {0}")]
    Bus(#[from] kenduren_bus::BusError),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Server reflection could not be built.
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// Reference data or configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A background task panicked or failed.
    #[error("task: {0}")]
    Task(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_is_down_or_restarting_is_unavailable_not_internal() {
        let restarting = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        let down = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        for e in [restarting, down, sqlx::Error::PoolTimedOut] {
            assert_eq!(Status::from(ApiError::from(e)).code(), Code::Unavailable);
        }
        assert_eq!(
            Status::from(ApiError::from(sqlx::Error::RowNotFound)).code(),
            Code::Internal
        );
    }
}
