//! Bearer tokens for the roles the benchmark plays (desk, each OPD, analyst), minted
//! from the deployment's signing key.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use kenduren_auth::{Role, TokenKey};
use tonic::metadata::MetadataValue;

use crate::BenchError;

/// Bearer tokens minted from the deployment key, one per role.
#[derive(Clone)]
pub struct Tokens {
    key: Arc<TokenKey>,
    cache: Arc<Mutex<HashMap<String, MetadataValue<tonic::metadata::Ascii>>>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(..)")
    }
}

impl Tokens {
    /// Tokens signed with `auth_key` (base64).
    pub fn new(auth_key: &str) -> Result<Self, BenchError> {
        let key =
            TokenKey::from_base64(auth_key).map_err(|e| BenchError::Config(format!("auth key: {e}")))?;
        Ok(Self {
            key: Arc::new(key),
            cache: Arc::default(),
        })
    }

    /// `Bearer <token>` for `role` (e.g. `desk`, `opd:DINKES`), an hour long.
    pub fn header(&self, role: &str) -> Result<MetadataValue<tonic::metadata::Ascii>, BenchError> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = cache.get(role) {
            return Ok(h.clone());
        }
        let parsed: Role = role
            .parse()
            .map_err(|e| BenchError::Config(format!("role {role}: {e}")))?;
        let token = self
            .key
            .mint("kenduren-bench", &parsed, Duration::from_secs(3600))
            .map_err(|e| BenchError::Config(e.to_string()))?;
        let value: MetadataValue<_> = format!("Bearer {token}")
            .parse()
            .map_err(|_| BenchError::Config("token is not a header".into()))?;
        cache.insert(role.to_owned(), value.clone());
        Ok(value)
    }
}

/// A request carrying `auth` as its bearer token.
pub(crate) fn authed<T>(message: T, auth: &MetadataValue<tonic::metadata::Ascii>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", auth.clone());
    request
}
