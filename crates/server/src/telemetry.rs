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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use actix_web::{HttpResponse, ResponseError, test::TestRequest};
    use tracing::{Level, Subscriber};
    use tracing_actix_web::RootSpanBuilder;
    use tracing_subscriber::{Layer, layer::Context};

    use super::*;

    /// Records the level of every event.
    #[derive(Clone, Default)]
    struct Levels(Arc<Mutex<Vec<Level>>>);

    impl<S: Subscriber> Layer<S> for Levels {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            if let Ok(mut levels) = self.0.lock() {
                levels.push(*event.metadata().level());
            }
        }
    }

    fn level_logged_for(error: admin::ConsoleError) -> Vec<Level> {
        let levels = Levels::default();
        let subscriber = tracing_subscriber::registry().with(levels.clone());
        tracing::subscriber::with_default(subscriber, || {
            let request = TestRequest::default().to_srv_request();
            // The middleware's own span needs its request id; any span does for the event.
            let span = tracing::info_span!("request");
            let (request, _) = request.into_parts();
            let response = actix_web::dev::ServiceResponse::new(request, HttpResponse::from_error(error));
            RequestSpan::on_request_end(span, &Ok(response));
        });
        levels.0.lock().map(|levels| levels.clone()).unwrap_or_default()
    }

    #[test]
    fn a_redirect_to_sign_in_is_information_a_refusal_a_warning_a_fault_an_error() {
        let redirect = admin::ConsoleError::SignInRequired { next: "/admin".into() };
        assert_eq!(redirect.status_code().as_u16(), 303);
        assert_eq!(level_logged_for(redirect), [Level::INFO]);
        assert_eq!(level_logged_for(admin::ConsoleError::Forbidden), [Level::WARN]);
        // The console logs an internal fault's cause itself as well.
        let fault = level_logged_for(admin::ConsoleError::Internal("boom".into()));
        assert_eq!(fault.last(), Some(&Level::ERROR));
    }
}
