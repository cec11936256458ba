//! The contract between the consumer runner and a service's read-model code.

use std::future::Future;

use kenduren_bus::CloudEvent;
use sqlx::PgConnection;

/// Boxed error carried by [`HandlerError::Transient`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Preconditions are not met yet (e.g. a related event has not arrived): retry later.
    #[error("not applicable yet: {0}")]
    Gap(String),
    /// The event can never be applied: dead-letter it now.
    #[error("cannot ever be applied: {0}")]
    Poison(String),
    /// Something failed that may work next time (database hiccup, timeout).
    #[error("transient failure: {0}")]
    Transient(#[source] BoxError),
}

impl HandlerError {
    /// Wraps any error as [`HandlerError::Transient`].
    pub fn transient(error: impl Into<BoxError>) -> Self {
        Self::Transient(error.into())
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Transient(Box::new(error))
    }
}

/// Applies events to a service's read models.
///
/// `handle` runs inside the consumer's transaction: everything it writes through `conn`
/// commits together with the inbox row, or not at all. It must not commit, and it
/// should not log payloads. Implementations may write it as a plain `async fn` as long
/// as the future is `Send`.
pub trait EventHandler: Send + Sync + 'static {
    /// Applies one event.
    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a CloudEvent,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;
}
