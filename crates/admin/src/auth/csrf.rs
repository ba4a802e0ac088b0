//! CSRF tokens. Signed-in forms carry the token stored in the session JWT; the sign-in form,
//! which has no session yet, uses a double-submit cookie. SameSite=Strict cookies already stop
//! most cross-site posts; the token covers older browsers and same-site attackers.
use actix_web::cookie::{Cookie, SameSite};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use subtle::ConstantTimeEq;

pub const LOGIN_CSRF_COOKIE: &str = "liq_login_csrf";
/// The form field every console POST must carry.
pub const FIELD: &str = "csrf_token";

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Constant-time comparison; an empty expected token never matches.
pub fn matches(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

pub fn login_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(LOGIN_CSRF_COOKIE, token)
        .path("/admin/login")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_exactly() {
        let token = new_token();
        assert_ne!(token, new_token());
        assert!(matches(&token, &token));
        assert!(!matches(&token, &token[1..]));
        assert!(!matches("", ""));
    }
}
