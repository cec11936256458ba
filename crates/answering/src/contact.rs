//! The citizen's contact, fetched from intake over gRPC when an OPD opens a question.
//!
//! Identity never travels on the event stream; intake keeps it and answers
//! `kenduren.intake.v1.IntakeService/GetCitizenContact` for a service token. The call
//! has a short timeout, and any failure (intake down or too slow) makes
//! the contact "unavailable" rather than failing the caller's request.

use std::time::Duration;

use kenduren_auth::BearerToken;
use kenduren_domain::QuestionId;
use kenduren_proto::{
    answering::v1::CitizenContact,
    intake::v1::{intake_service_client::IntakeServiceClient, GetCitizenContactRequest},
};
use tonic::{
    service::interceptor::InterceptedService,
    transport::{Channel, Endpoint},
};

/// The service's own calls to intake: its bearer token, and the caller's trace context
/// so the contact look-up joins the question's trace.
#[derive(Debug, Clone)]
struct Outgoing(BearerToken);

impl tonic::service::Interceptor for Outgoing {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        kenduren_telemetry::TracingInterceptor.call(self.0.call(request)?)
    }
}

/// How long an OPD waits for intake before seeing "contact unavailable".
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(800);

/// What asking intake gave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lookup {
    /// The contact.
    Found(CitizenContact),
    /// Intake holds none (or the citizen is anonymous after all).
    None,
    /// Intake could not be asked.
    Unavailable,
}

/// Where and how answering asks intake for contacts.
#[derive(Clone)]
pub struct IntakeContacts {
    target: Option<InterceptedService<Channel, Outgoing>>,
    timeout: Duration,
}

impl std::fmt::Debug for IntakeContacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeContacts")
            .field("configured", &self.target.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A contact client that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// The intake URL is not a valid endpoint.
    #[error("intake URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// The service token cannot be sent as a header.
    #[error("service token: {0}")]
    Token(#[from] kenduren_auth::AuthError),
}

impl IntakeContacts {
    /// No intake configured: every contact is unavailable.
    pub fn disabled() -> Self {
        Self {
            target: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Asks intake at `intake_url` with `service_token` (over TLS when `tls` is given);
    /// connects lazily, so intake may start later than answering.
    pub fn new(
        intake_url: &str,
        service_token: &str,
        timeout: Duration,
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Result<Self, ContactError> {
        let bad_url = |e: &dyn std::fmt::Display| ContactError::Url {
            url: intake_url.to_owned(),
            reason: e.to_string(),
        };
        let mut endpoint = Endpoint::from_shared(intake_url.to_owned())
            .map_err(|e| bad_url(&e))?
            .connect_timeout(timeout)
            .timeout(timeout);
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).map_err(|e| bad_url(&e))?;
        }
        let outgoing = Outgoing(BearerToken::new(service_token)?);
        Ok(Self {
            target: Some(InterceptedService::new(endpoint.connect_lazy(), outgoing)),
            timeout,
        })
    }

    /// The contact of the citizen who asked `id`; never an error for the caller.
    pub(crate) async fn fetch(&self, id: &QuestionId) -> Lookup {
        let Some(target) = self.target.clone() else {
            return Lookup::Unavailable;
        };
        let call = async move {
            IntakeServiceClient::new(target)
                .get_citizen_contact(GetCitizenContactRequest {
                    question_id: id.to_string(),
                })
                .await
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(r)) => {
                let r = r.into_inner();
                if r.anonymous || (r.name.is_empty() && r.phone.is_empty() && r.email.is_empty()) {
                    Lookup::None
                } else {
                    Lookup::Found(CitizenContact {
                        name: r.name,
                        phone: r.phone,
                        email: r.email,
                    })
                }
            }
            Ok(Err(status)) if status.code() == tonic::Code::NotFound => Lookup::None,
            Ok(Err(status)) => {
                tracing::warn!(code = ?status.code(), "intake did not give a contact; showing it as unavailable");
                Lookup::Unavailable
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.timeout.as_millis() as u64,
                    "intake too slow; contact unavailable"
                );
                Lookup::Unavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    #[tokio::test]
    async fn an_unreachable_intake_makes_the_contact_unavailable_not_an_error() {
        // Nothing listens on port 1: the call fails fast and degrades.
        let contacts = IntakeContacts::new("http://127.0.0.1:1", "token", Duration::from_millis(300), None)
            .expect("valid url");
        assert_eq!(contacts.fetch(&QuestionId::new()).await, Lookup::Unavailable);
        assert_eq!(
            IntakeContacts::disabled().fetch(&QuestionId::new()).await,
            Lookup::Unavailable
        );
    }

    #[test]
    fn calls_to_intake_carry_the_token_and_the_callers_trace() {
        let _exporter = kenduren_telemetry::install_in_memory_exporter();
        let caller = tracing::info_span!("caller");
        let traceparent = kenduren_telemetry::span_traceparent(&caller).expect("the caller is traced");
        let mut outgoing = Outgoing(BearerToken::new("abc").expect("token fits a header"));
        let request = caller
            .in_scope(|| outgoing.call(tonic::Request::new(())))
            .expect("intercepted");
        let get = |key: &str| request.metadata().get(key).and_then(|v| v.to_str().ok());
        assert_eq!(get("authorization"), Some("Bearer abc"));
        assert_eq!(get("traceparent"), Some(traceparent.as_str()));
    }
}
