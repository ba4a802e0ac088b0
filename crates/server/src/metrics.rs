//! Prometheus metrics: request rates and latencies per route, dependency health and queue depth.
use std::{sync::Arc, time::Instant};

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    method: String,
    /// The route pattern (e.g. `/admin/operators/{id}/role`), never the raw path, so ids do not
    /// explode the number of series.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    method: String,
    route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pub database_up: Gauge,
    pub redis_up: Gauge,
    pub jobs_pending: Gauge,
    pub jobs_failed: Gauge,
    /// Payouts waiting for a second operator's approval.
    pub payouts_awaiting_approval: Gauge,
    /// Payouts flagged for an operator: no outcome for too long, or a contradicting report.
    pub payouts_needing_attention: Gauge,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("liquidator");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        });
        let (database_up, redis_up, jobs_pending, jobs_failed) =
            (Gauge::default(), Gauge::default(), Gauge::default(), Gauge::default());
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register("http_request_duration_seconds", "Time to serve an HTTP request", latency.clone());
        registry.register("database_up", "1 when PostgreSQL answered the last check", database_up.clone());
        registry.register("redis_up", "1 when Redis answered the last check (0: running degraded)", redis_up.clone());
        registry.register("jobs_pending", "Background jobs waiting or running", jobs_pending.clone());
        registry.register("jobs_failed", "Background jobs parked after their last attempt", jobs_failed.clone());
        let (payouts_awaiting_approval, payouts_needing_attention) = (Gauge::default(), Gauge::default());
        registry.register(
            "payouts_awaiting_approval",
            "Payouts waiting for a second operator's approval",
            payouts_awaiting_approval.clone(),
        );
        registry.register(
            "payouts_needing_attention",
            "Payouts without an outcome for too long, or with a contradicting report",
            payouts_needing_attention.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            database_up,
            redis_up,
            jobs_pending,
            jobs_failed,
            payouts_awaiting_approval,
            payouts_needing_attention,
        })
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        if encode(&mut text, &self.registry).is_err() {
            tracing::error!("could not encode metrics");
        }
        text
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { method: method.into(), route: route.into(), status }).inc();
        self.latency.get_or_create(&RouteLabels { method: method.into(), route: route.into() }).observe(seconds);
    }
}

/// Middleware recording every request.
pub async fn record(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let method = request.method().to_string();
    let route = request.match_pattern().unwrap_or_else(|| "unmatched".into());
    let response = next.call(request).await?;
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    }
    Ok(response)
}
