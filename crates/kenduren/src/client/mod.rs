//! Client subcommands: call the services' gRPC APIs so a person can walk a question
//! through by hand. Output is plain text, one fact per line. Each area (intake,
//! answering, reporting, …) owns its subcommands in its own module.

pub mod answering;
pub mod bench;
pub mod intake;
pub mod reporting;
pub mod republish;
pub mod routing;
pub mod simulate;
pub mod watch;

use anyhow::{Context, Result};
use kenduren_auth::BearerToken;
use kenduren_proto::events::v1::QuestionStatus;
use tonic::{service::interceptor::InterceptedService, transport::Channel};

/// A channel that sends the caller's bearer token with every call.
pub type Authed = InterceptedService<Channel, BearerToken>;

/// Connects to `url` and attaches `token` to every call. An `https://` URL uses TLS,
/// trusting `KENDUREN_TLS_CA` and presenting `KENDUREN_TLS_CLIENT_CERT`/`_KEY` when set.
pub async fn connect(url: &str, token: &str) -> Result<Authed> {
    let mut endpoint = Channel::from_shared(url.to_owned()).with_context(|| format!("invalid URL {url}"))?;
    if url.starts_with("https://") {
        let env_path = |name: &str| std::env::var_os(name).map(std::path::PathBuf::from);
        let tls = kenduren_runtime::TlsSettings {
            ca: env_path("KENDUREN_TLS_CA"),
            client_cert: env_path("KENDUREN_TLS_CLIENT_CERT"),
            client_key: env_path("KENDUREN_TLS_CLIENT_KEY"),
            ..Default::default()
        };
        endpoint = endpoint.tls_config(tls.client()?)?;
    }
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("cannot reach {url}; is `kenduren dev` running?"))?;
    let bearer = BearerToken::new(token).context("KENDUREN_TOKEN / --token")?;
    Ok(InterceptedService::new(channel, bearer))
}

/// A timestamp in Pasuruan's civil time, or `-`.
pub fn when(ts: Option<prost_types::Timestamp>) -> String {
    ts.and_then(|t| kenduren_runtime::to_datetime(&t))
        .map(|d| {
            d.with_timezone(&kenduren_domain::calendar::wib())
                .format("%Y-%m-%d %H:%M WIB")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

/// A status without its enum prefix.
pub fn status_name(v: i32) -> String {
    QuestionStatus::try_from(v)
        .map(|s| s.as_str_name().trim_start_matches("QUESTION_STATUS_").to_owned())
        .unwrap_or_else(|_| v.to_string())
}
