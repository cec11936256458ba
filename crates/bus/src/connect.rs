//! Connecting to NATS with the options every Kenduren process wants.

use async_nats::ConnectOptions;

use crate::BusError;

/// Connection name used by [`connect`], visible in the server's connection list.
pub const DEFAULT_CONNECTION_NAME: &str = "kenduren";

/// Connects to `url` under the name [`DEFAULT_CONNECTION_NAME`]; see [`connect_with_name`].
pub async fn connect(url: &str) -> Result<async_nats::Client, BusError> {
    connect_with_name(url, DEFAULT_CONNECTION_NAME).await
}

/// TLS to the NATS server: the CA that signed its certificate, and a client identity
/// when the server asks for one.
#[derive(Debug, Clone)]
pub struct NatsTls {
    /// PEM file of the CA to trust.
    pub ca: std::path::PathBuf,
    /// PEM files of this client's certificate and key.
    pub client_cert: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// Connects to `url`, failing fast if the server is not there now (the caller decides
/// whether to retry start-up), but reconnecting forever once connected: a broker
/// restart must not turn into a dead service.
pub async fn connect_with_name(url: &str, name: &str) -> Result<async_nats::Client, BusError> {
    connect_with_tls(url, name, None).await
}

/// [`connect_with_name`], over TLS when `tls` is given.
pub async fn connect_with_tls(
    url: &str,
    name: &str,
    tls: Option<&NatsTls>,
) -> Result<async_nats::Client, BusError> {
    let mut options = ConnectOptions::new();
    if let Some(tls) = tls {
        options = options.require_tls(true).add_root_certificates(tls.ca.clone());
        if let Some((cert, key)) = &tls.client_cert {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
    }
    // async-nats ignores user-info in the URL, so credentials are passed explicitly.
    if let Some((user, password)) = credentials(url) {
        options = options.user_and_password(user, password);
    }
    options
        .name(name)
        .max_reconnects(None)
        .connect(url)
        .await
        .map_err(|source| BusError::Connect {
            url: redact(url),
            source,
        })
}

/// `user:password` from the URL's user-info, percent-decoded.
fn credentials(url: &str) -> Option<(String, String)> {
    let addr: async_nats::ServerAddr = url.split(',').next()?.trim().parse().ok()?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(addr.username()?), decode(addr.password()?)))
}

/// The URL without its user-info, so credentials never end up in an error or a log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        (None, Some(at)) => format!("***@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{credentials, redact};

    #[test]
    fn credentials_come_from_the_url_user_info() {
        assert_eq!(
            credentials("nats://svc:p%40ss@host:4222"),
            Some(("svc".to_owned(), "p@ss".to_owned()))
        );
        assert_eq!(credentials("nats://host:4222"), None);
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(redact("nats://u:p@host:4222"), "nats://***@host:4222");
        assert_eq!(redact("u:p@host"), "***@host");
        assert_eq!(redact("nats://host:4222"), "nats://host:4222");
    }
}
