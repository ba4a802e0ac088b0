//! The session: a short-lived HS256 JWT in an HttpOnly, SameSite=Strict cookie.
//!
//! The token carries the operator id and the session's CSRF token. It is not trusted for the role
//! or for being enabled: every request re-reads the operator, so a role change or a disable takes
//! effect at once.
use domain::OperatorId;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

pub const SESSION_COOKIE: &str = "liq_session";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The operator id, as a string (JWT subjects are strings).
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    /// Must come back in every form posted during this session.
    pub csrf: String,
    /// The operator's session epoch at sign-in; a later epoch revokes this token.
    pub epoch: i32,
}

#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub ttl: Duration,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys").field("secret", &"[redacted]").field("ttl", &self.ttl).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session token is invalid or expired")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("session token could not be issued")]
    Issue,
}

impl SessionKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> SessionKeys {
        SessionKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), ttl }
    }

    pub fn issue(
        &self,
        operator_id: OperatorId,
        epoch: i32,
        now_seconds: u64,
    ) -> Result<(String, Claims), SessionError> {
        let claims = Claims {
            epoch,
            sub: operator_id.to_string(),
            iat: now_seconds,
            exp: now_seconds.saturating_add(self.ttl.as_secs()),
            csrf: super::csrf::new_token(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|_| SessionError::Issue)?;
        Ok((token, claims))
    }

    /// Verifies signature, algorithm and expiry (no leeway: the session is short anyway).
    pub fn verify(&self, token: &str) -> Result<Claims, SessionError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(decode::<Claims>(token, &self.decoding, &validation)?.claims)
    }

    /// The operator a verified token belongs to.
    pub fn operator_id(claims: &Claims) -> Option<OperatorId> {
        claims.sub.parse().ok()
    }

    pub fn cookie(&self, token: String, secure: bool) -> Cookie<'static> {
        let max_age = CookieDuration::seconds(i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX));
        Cookie::build(SESSION_COOKIE, token)
            .path("/admin")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Strict)
            .max_age(max_age)
            .finish()
    }
}

/// A cookie that replaces the session cookie with an expired, empty one.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/admin")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_and_verifies() {
        let keys = SessionKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(600));
        let now = jsonwebtoken::get_current_timestamp();
        let (token, claims) = keys.issue(OperatorId::new(42), 0, now).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), claims);
        assert_eq!(SessionKeys::operator_id(&claims), Some(OperatorId::new(42)));
    }

    #[test]
    fn rejects_forged_expired_and_other_algorithms() {
        let keys = SessionKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(600));
        let other = SessionKeys::new(b"another secret of the same size!", Duration::from_secs(600));
        let now = jsonwebtoken::get_current_timestamp();
        let (forged, _) = other.issue(OperatorId::new(1), 0, now).unwrap();
        assert!(keys.verify(&forged).is_err());
        let (expired, _) = keys.issue(OperatorId::new(1), 0, now - 3600).unwrap();
        assert!(keys.verify(&expired).is_err());
        // An unsigned token ("alg": "none") must never pass.
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwiaWF0IjoxLCJleHAiOjk5OTk5OTk5OTksImNzcmYiOiJ4IiwiZXBvY2giOjB9.";
        assert!(keys.verify(unsigned).is_err());
        assert!(keys.verify("garbage").is_err());
    }
}
