//! Why a season could not run to its end.

/// A season stopped before its figures could be compared.
#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    /// A call the season depends on failed.
    #[error("{during}: {status}")]
    Rpc {
        /// What the simulator was doing.
        during: String,
        /// The service's answer.
        status: Box<tonic::Status>,
    },
    /// A role token could not be made.
    #[error("minting a token: {0}")]
    Token(#[from] kenduren_auth::AuthError),
    /// The services did not reach the state the model waits for in time.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// The deployment cannot host a season (e.g. no routing rules).
    #[error("cannot simulate: {0}")]
    Setup(String),
}

/// Attaches what the simulator was doing to a failed call.
pub(crate) trait During<T> {
    /// Names the step of a failed call.
    fn during(self, what: impl FnOnce() -> String) -> Result<T, SimulationError>;
}

impl<T> During<T> for Result<tonic::Response<T>, tonic::Status> {
    fn during(self, what: impl FnOnce() -> String) -> Result<T, SimulationError> {
        self.map(tonic::Response::into_inner)
            .map_err(|status| SimulationError::Rpc {
                during: what(),
                status: Box::new(status),
            })
    }
}
