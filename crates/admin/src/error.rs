//! Console errors. Use [`ConsoleError`] in every console handler: each variant is one kind of
//! failure with its own status. Unexpected failures are logged with their cause and shown to the
//! operator as an opaque message — never a database error text.
use actix_web::{HttpRequest, HttpResponse, ResponseError, error::InternalError, http::StatusCode};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session, an invalid or expired one, or a disabled operator: back to the sign-in page.
    #[error("sign-in required")]
    SignInRequired { next: String },
    #[error("your role does not allow this")]
    Forbidden,
    #[error("the form has expired or did not come from this console; reload the page and try again")]
    CsrfRejected,
    #[error("{0}")]
    BadRequest(String),
    #[error("the form is too large")]
    TooLarge,
    #[error("not found")]
    NotFound,
    #[error("internal error")]
    Storage(#[from] storage::StorageError),
    #[error("internal error")]
    Internal(String),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden | ConsoleError::CsrfRejected => StatusCode::FORBIDDEN,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Storage(_) | ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignInRequired { next } => {
                let location = if next.is_empty() || !next.starts_with("/admin") {
                    "/admin/login".to_string()
                } else {
                    format!("/admin/login?next={}", urlencode(next))
                };
                return HttpResponse::SeeOther().insert_header(("Location", location)).finish();
            }
            ConsoleError::Storage(error) => {
                tracing::error!(error = ?error, "console request failed")
            }
            ConsoleError::Internal(error) => tracing::error!(%error, "console request failed"),
            _ => {}
        }
        let status = self.status_code();
        let message = self.to_string();
        let body =
            ErrorPage { status: status.as_u16(), message: &message }.render().unwrap_or_else(|_| message.clone());
        HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).map(|encoded| encoded[1..].to_string()).unwrap_or_default()
}

/// A form that cannot be read is a 400 page; one too large to read at all, a 413.
pub(crate) fn form_error(error: actix_web::error::UrlencodedError, _: &HttpRequest) -> actix_web::Error {
    let response = match error {
        actix_web::error::UrlencodedError::Overflow { .. } => ConsoleError::TooLarge,
        _ => ConsoleError::BadRequest(format!("the form could not be read: {error}")),
    }
    .error_response();
    InternalError::from_response(error, response).into()
}

pub(crate) fn query_error(error: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let response = ConsoleError::BadRequest(format!("invalid search parameters: {error}")).error_response();
    InternalError::from_response(error, response).into()
}

/// Onboarding refusals are the operator's to fix and are shown as they are worded; a missing
/// merchant is a 404; anything from storage or the outside world stays opaque.
impl From<forms::text::ControlCharacter> for ConsoleError {
    fn from(error: forms::text::ControlCharacter) -> Self {
        ConsoleError::BadRequest(error.to_string())
    }
}

impl From<onboarding::OnboardingError> for ConsoleError {
    fn from(error: onboarding::OnboardingError) -> Self {
        use onboarding::OnboardingError::*;
        match error {
            MerchantNotFound | AppNotFound => ConsoleError::NotFound,
            Storage(error) => ConsoleError::Storage(error),
            Payout(_) | PlatformKey(_) | IdExhausted | BrokenInvariant(_) => ConsoleError::Internal(error.to_string()),
            other => ConsoleError::BadRequest(other.to_string()),
        }
    }
}

/// Order refusals an operator can act on (a refund too large, a reused number, a state that does
/// not allow it) are shown as worded; a missing order is a 404; the rest stays opaque. The refund
/// form words the common ones itself, in the console's language.
impl From<orders::OrderError> for ConsoleError {
    fn from(error: orders::OrderError) -> Self {
        use orders::OrderError::*;
        match error {
            OrderNotFound | RefundNotFound => ConsoleError::NotFound,
            Storage(error) => ConsoleError::Storage(error),
            Onboarding(error) => ConsoleError::from(error),
            Split(_) | NumberExhausted | NoRates | BrokenInvariant(_) => ConsoleError::Internal(error.to_string()),
            other => ConsoleError::BadRequest(other.to_string()),
        }
    }
}
