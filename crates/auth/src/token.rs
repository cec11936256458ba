//! Minting and verifying tokens: HS256 JWTs with subject, role, issue and expiry times,
//! signed with the deployment's key (`KENDUREN_AUTH_KEY`).

use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::role::Role;

/// Issuer written into and required from every token.
const ISSUER: &str = "kenduren";
/// Shortest key accepted: 256 bits, the HS256 block's worth.
const MIN_KEY_BYTES: usize = 32;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who (free text chosen when the token was minted, e.g. a staff id).
    pub subject: String,
    /// What they may do.
    pub role: Role,
}

/// Why a token or key was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The key is too short or not valid base64.
    #[error("auth key: {0}")]
    Key(String),
    /// The token expired.
    #[error("token expired")]
    Expired,
    /// The signature does not match this deployment's key, or the token is mangled.
    #[error("token rejected: {0}")]
    Invalid(String),
    /// The token is well signed but its content is not usable.
    #[error("malformed token: {0}")]
    Malformed(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    iss: String,
    iat: i64,
    exp: i64,
}

/// The signing key of a deployment.
pub struct TokenKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// A key from raw bytes (at least 32).
    pub fn from_bytes(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(AuthError::Key(format!(
                "at least {MIN_KEY_BYTES} bytes are needed, got {}",
                secret.len()
            )));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        })
    }

    /// A key from its configured text form: standard base64 of at least 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, AuthError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| AuthError::Key(format!("not base64: {e}")))?;
        Self::from_bytes(&bytes)
    }

    /// A fresh random key in its text form (for `kenduren dev` and for operators).
    pub fn generate_base64() -> String {
        let bytes: [u8; 32] = rand::random();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A token for `subject` acting as `role`, valid for `ttl`.
    pub fn mint(&self, subject: &str, role: &Role, ttl: Duration) -> Result<String, AuthError> {
        let now = Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).map_err(|_| AuthError::Malformed("ttl too long".into()))?;
        let claims = Claims {
            sub: subject.to_owned(),
            role: role.to_string(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now.saturating_add(ttl),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Malformed(e.to_string()))
    }

    /// The caller a token stands for, if it is signed by this key and not expired.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid(e.to_string()),
        })?;
        let role = data
            .claims
            .role
            .parse()
            .map_err(|e: crate::RoleError| AuthError::Malformed(e.to_string()))?;
        Ok(Principal {
            subject: data.claims.sub,
            role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::from_base64(&TokenKey::generate_base64()).expect("generated key is valid")
    }

    #[test]
    fn a_minted_token_verifies_to_its_role() {
        let k = key();
        let role: Role = "opd:DINKES".parse().expect("role");
        let token = k.mint("staff-7", &role, Duration::from_secs(60)).expect("mint");
        let p = k.verify(&token).expect("verify");
        assert_eq!((p.subject.as_str(), p.role), ("staff-7", role));
    }

    #[test]
    fn a_token_from_another_key_is_rejected() {
        let token = key()
            .mint("x", &Role::Admin, Duration::from_secs(60))
            .expect("mint");
        assert!(matches!(key().verify(&token), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn an_expired_token_is_rejected() {
        let k = key();
        let mut claims = Claims {
            sub: "x".into(),
            role: "admin".into(),
            iss: ISSUER.into(),
            iat: 0,
            exp: Utc::now().timestamp() - 60,
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &k.encoding).expect("encode");
        assert!(matches!(k.verify(&token), Err(AuthError::Expired)));
        claims.exp = Utc::now().timestamp() + 60;
        claims.role = "root".into();
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &k.encoding).expect("encode");
        assert!(matches!(k.verify(&token), Err(AuthError::Malformed(_))));
    }

    #[test]
    fn garbage_and_short_keys_are_refused() {
        assert!(key().verify("not.a.token").is_err());
        assert!(key().verify("").is_err());
        assert!(TokenKey::from_bytes(&[0; 16]).is_err());
        assert!(TokenKey::from_base64("%%%").is_err());
    }
}
