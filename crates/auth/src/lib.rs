//! Who is calling: signed bearer tokens (HS256 JWT with an expiry) carrying one role —
//! `desk`, `opd:<CODE>`, `admin` or `analyst` — and the tonic interceptors that attach
//! them on the client side and check them on the server side.

mod role;
mod token;

use std::sync::Arc;

use tonic::{metadata::MetadataValue, service::Interceptor, Request, Status};

pub use role::{Role, RoleError};
pub use token::{AuthError, Principal, TokenKey};

/// Checks the bearer token of every call and puts the caller's [`Principal`] in the
/// request's extensions; a missing, expired or forged token is `UNAUTHENTICATED`.
#[derive(Clone)]
pub struct AuthInterceptor {
    key: Arc<TokenKey>,
}

impl std::fmt::Debug for AuthInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthInterceptor")
    }
}

impl AuthInterceptor {
    /// An interceptor verifying with `key`.
    pub fn new(key: Arc<TokenKey>) -> Self {
        Self { key }
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing bearer token (authorization: Bearer <token>)"))?;
        let value = header
            .to_str()
            .map_err(|_| Status::unauthenticated("the authorization header is not valid text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| Status::unauthenticated("the authorization header must be `Bearer <token>`"))?;
        let principal = self
            .key
            .verify(token.trim())
            .map_err(|e| Status::unauthenticated(e.to_string()))?;
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

/// The caller of a request that passed [`AuthInterceptor`], if its role is allowed;
/// otherwise `PERMISSION_DENIED` naming the roles that are.
pub fn authorize<T>(
    request: &Request<T>,
    allowed: &str,
    allow: impl Fn(&Role) -> bool,
) -> Result<Principal, Status> {
    let principal = request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no authenticated caller"))?;
    if allow(&principal.role) {
        Ok(principal)
    } else {
        Err(Status::permission_denied(format!(
            "role {} may not call this; allowed: {allowed}",
            principal.role
        )))
    }
}

/// Client side: attaches `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct BearerToken {
    header: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

impl BearerToken {
    /// Sends `token`; an empty token sends nothing (the server will refuse the call).
    pub fn new(token: &str) -> Result<Self, AuthError> {
        if token.is_empty() {
            return Ok(Self { header: None });
        }
        let header = format!("Bearer {token}")
            .parse()
            .map_err(|_| AuthError::Malformed("token contains characters not allowed in a header".into()))?;
        Ok(Self { header: Some(header) })
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(h) = &self.header {
            request.metadata_mut().insert("authorization", h.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_calls_carry_the_token() {
        let mut bearer = BearerToken::new("abc").expect("token fits a header");
        let request = bearer.call(Request::new(())).expect("intercepted");
        let got = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        assert_eq!(got, Some("Bearer abc"));
    }
}
