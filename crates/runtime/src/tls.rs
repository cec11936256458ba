//! TLS for gRPC (server, and mutual TLS as an option) and for NATS, configured by
//! file paths from the environment. Everything is optional: without a server
//! certificate the services speak plaintext, as in development.

use std::path::PathBuf;

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::RuntimeError;

/// Certificate and key files (PEM) for gRPC and NATS.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// This server's certificate chain (`KENDUREN_TLS_CERT`); set to serve gRPC over TLS.
    pub server_cert: Option<PathBuf>,
    /// This server's private key (`KENDUREN_TLS_KEY`).
    pub server_key: Option<PathBuf>,
    /// CA whose client certificates the server requires (`KENDUREN_TLS_CLIENT_CA`): mutual TLS.
    pub client_ca: Option<PathBuf>,
    /// CA a caller trusts for the services' certificates (`KENDUREN_TLS_CA`).
    pub ca: Option<PathBuf>,
    /// A caller's own certificate and key for mutual TLS (`KENDUREN_TLS_CLIENT_CERT`, `…_KEY`).
    pub client_cert: Option<PathBuf>,
    /// See `client_cert`.
    pub client_key: Option<PathBuf>,
    /// CA of the NATS server (`KENDUREN_NATS_TLS_CA`); set to require TLS to NATS.
    pub nats_ca: Option<PathBuf>,
    /// Client certificate for NATS (`KENDUREN_NATS_TLS_CERT`), when the server asks for one.
    pub nats_cert: Option<PathBuf>,
    /// See `nats_cert` (`KENDUREN_NATS_TLS_KEY`).
    pub nats_key: Option<PathBuf>,
}

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>, RuntimeError> {
    std::fs::read(path).map_err(|e| RuntimeError::Config(format!("{what} {}: {e}", path.display())))
}

impl TlsSettings {
    /// The server side, if a certificate is configured.
    pub fn server(&self) -> Result<Option<ServerTlsConfig>, RuntimeError> {
        let (cert, key) = match (&self.server_cert, &self.server_key) {
            (None, None) => return Ok(None),
            (Some(c), Some(k)) => (read(c, "KENDUREN_TLS_CERT")?, read(k, "KENDUREN_TLS_KEY")?),
            _ => {
                return Err(RuntimeError::Config(
                    "KENDUREN_TLS_CERT and KENDUREN_TLS_KEY go together".into(),
                ))
            }
        };
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = &self.client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca, "KENDUREN_TLS_CLIENT_CA")?));
        }
        Ok(Some(config))
    }

    /// The caller side for `https://` URLs: the CA to trust and, for mutual TLS, an identity.
    pub fn client(&self) -> Result<ClientTlsConfig, RuntimeError> {
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &self.ca {
            config = config.ca_certificate(Certificate::from_pem(read(ca, "KENDUREN_TLS_CA")?));
        }
        match (&self.client_cert, &self.client_key) {
            (Some(c), Some(k)) => {
                let identity = Identity::from_pem(
                    read(c, "KENDUREN_TLS_CLIENT_CERT")?,
                    read(k, "KENDUREN_TLS_CLIENT_KEY")?,
                );
                config = config.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(RuntimeError::Config(
                    "KENDUREN_TLS_CLIENT_CERT and KENDUREN_TLS_CLIENT_KEY go together".into(),
                ))
            }
        }
        Ok(config)
    }

    /// NATS TLS, if a CA is configured.
    pub fn nats(&self) -> Option<kenduren_bus::NatsTls> {
        self.nats_ca.as_ref().map(|ca| kenduren_bus::NatsTls {
            ca: ca.clone(),
            client_cert: self.nats_cert.clone().zip(self.nats_key.clone()),
        })
    }
}
