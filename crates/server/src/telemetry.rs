//! Structured logs to stderr. Each request's span carries its request id, so every line logged
//! while serving it names the request.
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber once; later calls (tests start many apps) are no-ops.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match settings.format {
        LogFormat::Json => registry.with(fmt::layer().json().with_writer(std::io::stderr)).try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().with_writer(std::io::stderr)).try_init(),
    };
    // Already installed: keep the first.
    drop(result);
}

/// The request span of every HTTP request (tracing-actix-web's), with one event when a handler
/// ends in an error, at the level its status deserves: a fault (5xx) is an error, a refused
/// request (4xx) a warning, and anything else — the console's redirect to sign-in is carried as
/// an error but is normal traffic — only information.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_start(request)
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let failure = match outcome {
            Ok(response) => response.response().error().map(|error| (response.status(), error.to_string())),
            Err(error) => Some((error.as_response_error().status_code(), error.to_string())),
        };
        if let Some((status, error)) = failure {
            let _entered = span.enter();
            if status.is_server_error() {
                tracing::error!(status = status.as_u16(), %error, "request failed");
            } else if status.is_client_error() {
                tracing::warn!(status = status.as_u16(), %error, "request refused");
            } else {
                tracing::info!(status = status.as_u16(), %error, "request answered with a redirect");
            }
        }
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
