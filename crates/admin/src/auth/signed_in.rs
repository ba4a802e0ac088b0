//! Extractors for signed-in requests. `SignedIn` proves a valid session of an enabled operator;
//! `ConsoleForm<T>` additionally proves the form carries this session's CSRF token, so a
//! state-changing handler cannot forget the check.
use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;
use storage::{
    audit::Actor,
    database::run_blocking,
    operators::{self, Operator},
};

use super::{
    Permission, csrf,
    session::{SESSION_COOKIE, SessionKeys},
};
use crate::{ConsoleError, ConsoleState, i18n::Lang};

/// Largest console form accepted, unless a route asks for more (a pasted bill).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

pub struct SignedIn {
    pub operator: Operator,
    pub csrf_token: String,
    pub lang: Lang,
    pub client_ip: String,
}

impl SignedIn {
    pub fn require(&self, permission: Permission) -> Result<(), ConsoleError> {
        if permission.granted_to(self.operator.role) { Ok(()) } else { Err(ConsoleError::Forbidden) }
    }

    pub fn can(&self, permission: Permission) -> bool {
        permission.granted_to(self.operator.role)
    }

    /// The audit log's "who".
    pub fn actor(&self) -> Actor {
        Actor {
            operator_id: Some(self.operator.id),
            name: self.operator.username.clone(),
            client_ip: Some(self.client_ip.clone()),
        }
    }
}

pub fn client_ip(request: &HttpRequest) -> String {
    request.peer_addr().map(|address| address.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

fn state(request: &HttpRequest) -> Result<web::Data<ConsoleState>, ConsoleError> {
    request
        .app_data::<web::Data<ConsoleState>>()
        .cloned()
        .ok_or_else(|| ConsoleError::Internal("console state is not configured".into()))
}

fn sign_in_required(request: &HttpRequest) -> ConsoleError {
    ConsoleError::SignInRequired { next: request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default() }
}

async fn signed_in(request: HttpRequest) -> Result<SignedIn, ConsoleError> {
    let state = state(&request)?;
    let cookie = request.cookie(SESSION_COOKIE).ok_or_else(|| sign_in_required(&request))?;
    let claims = state.sessions.verify(cookie.value()).map_err(|_| sign_in_required(&request))?;
    let operator_id = SessionKeys::operator_id(&claims).ok_or_else(|| sign_in_required(&request))?;
    let operator = run_blocking(&state.pool, move |conn| Ok::<_, ConsoleError>(operators::find(conn, operator_id)?))
        .await?
        .filter(|operator| operator.is_active() && operator.session_epoch == claims.epoch)
        .ok_or_else(|| sign_in_required(&request))?;
    Ok(SignedIn { operator, csrf_token: claims.csrf, lang: Lang::of(&request), client_ip: client_ip(&request) })
}

impl FromRequest for SignedIn {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(signed_in(request.clone()))
    }
}

/// A posted console form of a signed-in operator, CSRF-checked, at most `MAX_BYTES` long (the
/// route's `PayloadConfig` must allow as much).
pub struct ConsoleForm<T, const MAX_BYTES: usize = MAX_FORM_BYTES> {
    pub session: SignedIn,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf_token: Option<String>,
}

impl<T: DeserializeOwned + 'static, const MAX_BYTES: usize> FromRequest for ConsoleForm<T, MAX_BYTES> {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let body = web::Bytes::from_request(&request, payload);
        Box::pin(async move {
            let session = signed_in(request).await?;
            let body = body.await.map_err(|error| match error.as_error::<actix_web::error::PayloadError>() {
                Some(actix_web::error::PayloadError::Overflow) => ConsoleError::TooLarge,
                _ => ConsoleError::BadRequest("the form could not be read".into()),
            })?;
            if body.len() > MAX_BYTES {
                return Err(ConsoleError::TooLarge);
            }
            // Only the token is read here: a repeat of another field is the form's to refuse.
            let submitted: CsrfField = serde_urlencoded::from_bytes(&body).map_err(|_| ConsoleError::CsrfRejected)?;
            if !csrf::matches(&session.csrf_token, submitted.csrf_token.as_deref().unwrap_or_default()) {
                return Err(ConsoleError::CsrfRejected);
            }
            let form = forms::body::read(&body).map_err(|error| ConsoleError::BadRequest(error.to_string()))?;
            Ok(ConsoleForm { session, form })
        })
    }
}
