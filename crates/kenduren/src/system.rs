//! All four services in one process, each on its own port: what `kenduren dev` runs
//! and what the end-to-end tests start against their own database and stream.

use std::{net::SocketAddr, sync::Arc};

use kenduren_domain::ReferenceData;
use kenduren_runtime::{Backbone, BackboneSettings, CancellationToken, RuntimeError};
use tokio::{net::TcpListener, task::JoinSet};

/// Where each service listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceAddrs {
    /// Intake's gRPC address.
    pub intake: SocketAddr,
    /// Routing's gRPC address.
    pub routing: SocketAddr,
    /// Answering's gRPC address.
    pub answering: SocketAddr,
    /// Reporting's gRPC address.
    pub reporting: SocketAddr,
}

impl ServiceAddrs {
    /// The development defaults: 127.0.0.1:50051–50054.
    pub fn dev() -> Self {
        let at = |port| SocketAddr::from(([127, 0, 0, 1], port));
        Self {
            intake: at(50051),
            routing: at(50052),
            answering: at(50053),
            reporting: at(50054),
        }
    }

    /// Any free ports on localhost (for tests).
    pub fn ephemeral() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            intake: any,
            routing: any,
            answering: any,
            reporting: any,
        }
    }
}

/// The four services running in this process.
#[derive(Debug)]
pub struct RunningSystem {
    /// Where they actually listen (ports resolved).
    pub addrs: ServiceAddrs,
    /// The backbone they share.
    pub backbone: Backbone,
    shutdown: CancellationToken,
    tasks: JoinSet<(&'static str, Result<(), RuntimeError>)>,
}

/// How answering reaches intake for citizens' contacts: a service token minted here from
/// the deployment key. It never leaves the process except in calls to intake, and lives
/// a year so a long-running answering service does not silently lose contacts.
pub fn intake_contacts(
    auth_key: &str,
    intake_url: &str,
    tls: &kenduren_runtime::TlsSettings,
) -> Result<kenduren_answering::IntakeContacts, RuntimeError> {
    let key = kenduren_auth::TokenKey::from_base64(auth_key)
        .map_err(|e| RuntimeError::Config(format!("KENDUREN_AUTH_KEY: {e}")))?;
    let token = key
        .mint(
            "answering",
            &kenduren_auth::Role::Service,
            std::time::Duration::from_secs(365 * 24 * 3600),
        )
        .map_err(|e| RuntimeError::Config(e.to_string()))?;
    let client_tls = intake_url
        .starts_with("https://")
        .then(|| tls.client())
        .transpose()?;
    kenduren_answering::IntakeContacts::new(
        intake_url,
        &token,
        kenduren_answering::contact::DEFAULT_TIMEOUT,
        client_tls,
    )
    .map_err(|e| RuntimeError::Config(format!("KENDUREN_INTAKE_URL: {e}")))
}

async fn bind(addr: SocketAddr, service: &str) -> Result<TcpListener, RuntimeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| RuntimeError::Config(format!("{service} cannot listen on {addr}: {e}")))
}

impl RunningSystem {
    /// Connects the backbone, binds every port, and starts the services.
    pub async fn start(
        settings: BackboneSettings,
        addrs: ServiceAddrs,
        reference: ReferenceData,
    ) -> Result<Self, RuntimeError> {
        let backbone = Backbone::connect(settings).await?;
        let reference = Arc::new(reference);
        let listeners = (
            bind(addrs.intake, "intake").await?,
            bind(addrs.routing, "routing").await?,
            bind(addrs.answering, "answering").await?,
            bind(addrs.reporting, "reporting").await?,
        );
        let local = |l: &TcpListener| l.local_addr().map_err(|e| RuntimeError::Config(e.to_string()));
        let bound = ServiceAddrs {
            intake: local(&listeners.0)?,
            routing: local(&listeners.1)?,
            answering: local(&listeners.2)?,
            reporting: local(&listeners.3)?,
        };
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let (b, r, s) = (backbone.clone(), reference.clone(), shutdown.clone());
        tasks.spawn(async move { ("intake", kenduren_intake::run(&b, r, listeners.0, s).await) });
        let (b, r, s) = (backbone.clone(), reference.clone(), shutdown.clone());
        tasks.spawn(async move { ("routing", kenduren_routing::run(&b, r, listeners.1, s).await) });
        let (b, s) = (backbone.clone(), shutdown.clone());
        let scheme = if backbone.server_tls.is_some() {
            "https"
        } else {
            "http"
        };
        let intake_url = format!("{scheme}://{}", bound.intake);
        let contacts = intake_contacts(&backbone.settings.auth_key, &intake_url, &backbone.settings.tls)?;
        tasks.spawn(async move {
            (
                "answering",
                kenduren_answering::run_with_contacts(&b, listeners.2, s, contacts).await,
            )
        });
        let (b, s) = (backbone.clone(), shutdown.clone());
        tasks.spawn(async move { ("reporting", kenduren_reporting::run(&b, listeners.3, s).await) });
        Ok(Self {
            addrs: bound,
            backbone,
            shutdown,
            tasks,
        })
    }

    /// A token that stops every service when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until every service has stopped; the first failure stops the others.
    pub async fn wait(mut self) -> Result<(), RuntimeError> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let result = match joined {
                Ok((name, Err(e))) => Err(RuntimeError::Task(format!("{name}: {e}"))),
                Ok((_, Ok(()))) => Ok(()),
                Err(e) => Err(RuntimeError::Task(e.to_string())),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "a service stopped with an error; stopping the others");
                self.shutdown.cancel();
                first_error.get_or_insert(e);
            }
        }
        self.backbone.close_nats().await;
        first_error.map_or(Ok(()), Err)
    }

    /// Stops every service gracefully and waits for them.
    pub async fn stop(self) -> Result<(), RuntimeError> {
        self.shutdown.cancel();
        self.wait().await
    }
}
