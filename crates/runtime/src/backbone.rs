//! The connection to the event backbone: NATS and the stream, Postgres and each
//! service's own schema, migrations, and the service's event store.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream;
use kenduren_auth::{AuthInterceptor, TokenKey};
use kenduren_bus::{StreamSettings, Subjects};
use kenduren_store::EventStore;
use sqlx::{migrate::Migrator, PgPool};

use crate::{metrics::HandledCounts, tls::TlsSettings, Clock, RuntimeError};

/// Where the backbone lives; two deployments differ in at least stream and prefix.
#[derive(Debug, Clone)]
pub struct BackboneSettings {
    /// PostgreSQL URL; each service uses its own schema in this database.
    pub database_url: String,
    /// NATS URL.
    pub nats_url: String,
    /// JetStream stream name.
    pub stream: String,
    /// First subject token, so deployments sharing a NATS server do not see each other.
    pub subject_prefix: String,
    /// Stream replicas (1 in development, 3 in production).
    pub stream_replicas: usize,
    /// Connections per service pool.
    pub pool_size: u32,
    /// Token signing key, base64 of at least 32 bytes (`KENDUREN_AUTH_KEY`).
    pub auth_key: String,
    /// Key sealing citizens' contacts at rest (`KENDUREN_PII_KEY`, base64 of 32 bytes);
    /// empty derives one from `auth_key`.
    pub pii_key: String,
    /// How long a stopping server keeps serving after reporting NOT_SERVING, so load
    /// balancers and probes see it leave before its listener closes.
    pub drain_delay: Duration,
    /// TLS for gRPC and NATS (all optional).
    pub tls: TlsSettings,
    /// Where every timestamp the services write comes from (see [`Clock`]).
    pub clock: Clock,
    /// An admin's replacement reference files (`KENDUREN_REFERENCE_DIR`); `None`: the
    /// shipped ones.
    pub reference_dir: Option<std::path::PathBuf>,
}

impl Default for BackboneSettings {
    fn default() -> Self {
        Self {
            database_url: "postgres://postgres@127.0.0.1:5432/test".into(),
            nats_url: "nats://127.0.0.1:4222".into(),
            stream: "KENDUREN".into(),
            subject_prefix: "kenduren".into(),
            stream_replicas: 1,
            pool_size: 8,
            auth_key: String::new(),
            pii_key: String::new(),
            drain_delay: Duration::ZERO,
            tls: TlsSettings::default(),
            clock: Clock::system(),
            reference_dir: None,
        }
    }
}

/// A live connection to NATS with the stream ensured.
#[derive(Debug, Clone)]
pub struct Backbone {
    /// The settings it was made from.
    pub settings: BackboneSettings,
    /// The NATS client (drained on shutdown).
    pub nats: async_nats::Client,
    /// JetStream on that client.
    pub jetstream: jetstream::Context,
    /// Subject naming for this deployment.
    pub subjects: Subjects,
    /// Checks every API call's bearer token.
    pub auth: AuthInterceptor,
    /// The gRPC servers' TLS, when configured.
    pub server_tls: Option<tonic::transport::ServerTlsConfig>,
    /// Events this instance's consumers handled, per consumer (shared by its services).
    pub handled: Arc<HandledCounts>,
}

/// Everything one service needs: its pool (schema), its store, and the bus.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// Service name, also its schema, consumer and relay name.
    pub name: &'static str,
    /// Pool whose connections use the service's schema.
    pub pool: PgPool,
    /// The service's event store.
    pub store: EventStore,
    /// JetStream.
    pub jetstream: jetstream::Context,
    /// Subject naming.
    pub subjects: Subjects,
    /// The stream's name.
    pub stream: String,
    /// Checks every API call's bearer token.
    pub auth: AuthInterceptor,
    /// Serving time left after NOT_SERVING (see [`BackboneSettings::drain_delay`]).
    pub drain_delay: Duration,
    /// The gRPC server's TLS, when configured.
    pub server_tls: Option<tonic::transport::ServerTlsConfig>,
    /// The services' "now".
    pub clock: Clock,
    /// Events this instance's consumers handled (see [`Backbone::handled`]).
    pub handled: Arc<HandledCounts>,
}

impl Backbone {
    /// Closes the NATS connection at shutdown without losing what is in flight: flush
    /// first, because `drain` only queues its command and the acks of the last messages
    /// handled would die with the process (they would come back after `ack_wait`); then
    /// drain, so a publish in flight is not cut off. Failures are logged, not returned:
    /// the process is stopping either way.
    pub async fn close_nats(&self) {
        if let Err(e) = self.nats.flush().await {
            tracing::warn!(error = %e, "flushing the NATS connection failed");
        }
        if let Err(e) = self.nats.drain().await {
            tracing::warn!(error = %e, "draining the NATS connection failed");
        }
    }

    /// Connects to NATS and creates or updates the stream.
    pub async fn connect(settings: BackboneSettings) -> Result<Self, RuntimeError> {
        let key = TokenKey::from_base64(&settings.auth_key)
            .map_err(|e| RuntimeError::Config(format!("KENDUREN_AUTH_KEY: {e}")))?;
        let auth = AuthInterceptor::new(Arc::new(key));
        let subjects = Subjects::new(&settings.subject_prefix)?;
        let nats = kenduren_bus::connect_with_tls(
            &settings.nats_url,
            kenduren_bus::DEFAULT_CONNECTION_NAME,
            settings.tls.nats().as_ref(),
        )
        .await?;
        let server_tls = settings.tls.server()?;
        let jetstream = jetstream::new(nats.clone());
        let stream = StreamSettings {
            name: settings.stream.clone(),
            subjects: subjects.clone(),
            replicas: settings.stream_replicas,
            duplicate_window: Duration::from_secs(2 * 3600),
            max_age: Duration::ZERO,
        };
        kenduren_bus::ensure_stream(&jetstream, &stream).await?;
        Ok(Self {
            settings,
            nats,
            jetstream,
            subjects,
            auth,
            server_tls,
            handled: Arc::default(),
        })
    }

    /// Opens the service's schema, runs its migrations and returns its context.
    pub async fn service(
        &self,
        name: &'static str,
        migrations: &Migrator,
    ) -> Result<ServiceContext, RuntimeError> {
        let pool =
            kenduren_store::connect_pool(&self.settings.database_url, name, self.settings.pool_size).await?;
        kenduren_store::migrate(&pool, migrations).await?;
        Ok(ServiceContext {
            name,
            store: EventStore::new(pool.clone(), name),
            pool,
            jetstream: self.jetstream.clone(),
            subjects: self.subjects.clone(),
            stream: self.settings.stream.clone(),
            auth: self.auth.clone(),
            drain_delay: self.settings.drain_delay,
            server_tls: self.server_tls.clone(),
            clock: self.settings.clock,
            handled: self.handled.clone(),
        })
    }
}
