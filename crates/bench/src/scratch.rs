//! A throw-away deployment for the data phases (rebuild, queries): a fresh database on
//! the target's Postgres server, its own stream and subject prefix, a fresh signing
//! key. Nothing the measured services consume, so generated events and filled read
//! models never reach them (routing would route a generated submission).

use std::time::Duration;

use kenduren_runtime::BackboneSettings;

use crate::{create_database, drop_database, BenchError};

/// A scratch database and stream, removed by [`Scratch::remove`].
#[derive(Debug, Clone)]
pub struct Scratch {
    /// The database's name on the server.
    pub database: String,
    /// The server's URL as the caller gave it (the database is created and dropped there).
    pub server_url: String,
    /// Settings of a deployment on that database and stream.
    pub settings: BackboneSettings,
}

impl Scratch {
    /// Creates the database `kbench<what>_<uuid>`; the stream is created by whoever
    /// connects first (`Backbone::connect`).
    pub async fn create(server_url: &str, nats_url: &str, what: &str) -> Result<Self, BenchError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let database = format!("kbench{what}_{id}");
        let database_url = create_database(server_url, &database).await?;
        let settings = BackboneSettings {
            database_url,
            nats_url: nats_url.to_owned(),
            stream: format!("KBENCH{}_{id}", what.to_uppercase()),
            subject_prefix: format!("kb{what}{}", &id[..10]),
            stream_replicas: 1,
            pool_size: 8,
            auth_key: kenduren_auth::TokenKey::generate_base64(),
            drain_delay: Duration::ZERO,
            ..BackboneSettings::default()
        };
        Ok(Self {
            database,
            server_url: server_url.to_owned(),
            settings,
        })
    }

    /// Deletes the stream and drops the database.
    pub async fn remove(&self) -> Result<(), BenchError> {
        if let Ok(client) = async_nats::connect(&self.settings.nats_url).await {
            let _ = async_nats::jetstream::new(client)
                .delete_stream(&self.settings.stream)
                .await;
        }
        drop_database(&self.server_url, &self.database).await
    }
}

/// A Postgres error as a bench error.
pub(crate) fn pg(error: impl std::fmt::Display) -> BenchError {
    BenchError::Postgres(error.to_string())
}

/// A NATS error as a bench error.
pub(crate) fn nats(error: impl std::fmt::Display) -> BenchError {
    BenchError::Nats(error.to_string())
}
