//! The one JetStream stream that carries every event, created or updated at start-up.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::{BusError, Subjects};

/// Default duplicate window: it must outlast the relay's retry horizon, because a
/// republished event is only dropped as a duplicate while its id is still in the window.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(2 * 60 * 60);

/// Configuration of the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// Stream name (no whitespace, `.`, `*` or `>`).
    pub name: String,
    /// Subject scheme; the stream captures [`Subjects::all`].
    pub subjects: Subjects,
    /// Number of replicas: 1 in development, 3 in production.
    pub replicas: usize,
    /// Window within which a repeated `Nats-Msg-Id` is dropped.
    pub duplicate_window: Duration,
    /// Maximum age of messages; zero keeps them forever.
    pub max_age: Duration,
}

impl StreamSettings {
    /// Settings with one replica, the default duplicate window and no age limit.
    pub fn new(name: impl Into<String>, subjects: Subjects) -> Self {
        Self {
            name: name.into(),
            subjects,
            replicas: 1,
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            max_age: Duration::ZERO,
        }
    }

    /// The JetStream configuration these settings describe.
    pub fn config(&self) -> stream::Config {
        stream::Config {
            name: self.name.clone(),
            subjects: vec![self.subjects.all()],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            num_replicas: self.replicas.max(1),
            duplicate_window: self.duplicate_window,
            max_age: self.max_age,
            ..Default::default()
        }
    }
}

fn valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '.' | '*' | '>'))
}

/// Creates the stream, or updates its configuration when it already exists.
pub async fn ensure_stream(
    js: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<jetstream::stream::Stream, BusError> {
    if !valid_stream_name(&settings.name) {
        return Err(BusError::InvalidStreamName {
            name: settings.name.clone(),
        });
    }
    let stream_error = |source: Box<dyn std::error::Error + Send + Sync>| BusError::Stream {
        name: settings.name.clone(),
        source,
    };
    js.create_or_update_stream(settings.config())
        .await
        .map_err(|e| stream_error(Box::new(e)))?;
    let stream = js
        .get_stream(&settings.name)
        .await
        .map_err(|e| stream_error(Box::new(e)))?;
    tracing::info!(
        stream = %settings.name,
        subjects = %settings.subjects.all(),
        replicas = settings.replicas,
        "event stream ensured"
    );
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_uses_file_storage_limits_and_the_prefix() {
        let subjects = Subjects::new("t1").expect("valid prefix");
        let config = StreamSettings::new("EVENTS", subjects).config();
        assert_eq!(config.subjects, vec!["t1.v1.>".to_string()]);
        assert_eq!(config.storage, stream::StorageType::File);
        assert_eq!(config.retention, stream::RetentionPolicy::Limits);
        assert_eq!(config.duplicate_window, DEFAULT_DUPLICATE_WINDOW);
        assert_eq!(config.max_age, Duration::ZERO);
        assert_eq!(config.num_replicas, 1);
    }

    #[test]
    fn stream_names_are_checked() {
        assert!(valid_stream_name("KENDUREN"));
        assert!(valid_stream_name("KT-abc_1"));
        for bad in ["", "a.b", "a b", "a*", "a>"] {
            assert!(!valid_stream_name(bad), "{bad:?}");
        }
    }
}
