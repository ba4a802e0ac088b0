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
pub struct UpstreamLabels {
    upstream: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamCallLabels {
    upstream: String,
    method: String,
    /// `success`, `decline`, `system_error` or `timeout`.
    outcome: String,
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
    /// What the latest verification of the ledger found amiss, and how long ago it finished.
    pub ledger_mismatches: Gauge,
    pub ledger_verified_seconds_ago: Gauge,
    /// Calls to each upstream method since this process started, by how they ended.
    upstream_calls: Family<UpstreamCallLabels, Gauge>,
    /// Each upstream method's success rate over the last hour, in thousandths (declines not counted).
    upstream_success_permille: Family<UpstreamLabels, Gauge>,
    /// 1 when a method is below the healthy success rate or its breaker is open.
    upstream_degraded: Family<UpstreamLabels, Gauge>,
    upstream_breaker_open: Family<UpstreamLabels, Gauge>,
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
        let (ledger_mismatches, ledger_verified_seconds_ago) = (Gauge::default(), Gauge::default());
        registry.register(
            "ledger_mismatches",
            "Balances not equal to their postings and unbalanced entries found by the latest verification",
            ledger_mismatches.clone(),
        );
        registry.register(
            "ledger_verified_seconds_ago",
            "Seconds since the latest verification of the ledger finished (-1: never)",
            ledger_verified_seconds_ago.clone(),
        );
        let upstream_calls = Family::<UpstreamCallLabels, Gauge>::default();
        let upstream_success_permille = Family::<UpstreamLabels, Gauge>::default();
        let upstream_degraded = Family::<UpstreamLabels, Gauge>::default();
        let upstream_breaker_open = Family::<UpstreamLabels, Gauge>::default();
        registry.register(
            "upstream_calls",
            "Calls to an upstream method since this process started, by how they ended",
            upstream_calls.clone(),
        );
        registry.register(
            "upstream_success_permille",
            "An upstream method's success rate over the last hour, in thousandths (declines not counted)",
            upstream_success_permille.clone(),
        );
        registry.register(
            "upstream_degraded",
            "1 when an upstream method is below a 98% success rate over the last hour or its breaker is open",
            upstream_degraded.clone(),
        );
        registry.register(
            "upstream_breaker_open",
            "1 while an upstream method's circuit breaker is open",
            upstream_breaker_open.clone(),
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
            ledger_mismatches,
            ledger_verified_seconds_ago,
            upstream_calls,
            upstream_success_permille,
            upstream_degraded,
            upstream_breaker_open,
        })
    }

    /// The upstreams' figures as they are now.
    pub fn set_upstreams(&self, reports: &[channel::health::MethodReport]) {
        for report in reports {
            let labels = UpstreamLabels { upstream: report.upstream.into(), method: report.method.into() };
            let total = &report.since_start;
            for (outcome, count) in [
                ("success", total.successes),
                ("decline", total.declines),
                ("system_error", total.system_errors),
                ("timeout", total.timeouts),
            ] {
                let labels = UpstreamCallLabels {
                    upstream: labels.upstream.clone(),
                    method: labels.method.clone(),
                    outcome: outcome.into(),
                };
                self.upstream_calls.get_or_create(&labels).set(i64::try_from(count).unwrap_or(i64::MAX));
            }
            if let Some(rate) = report.last_hour.success_rate() {
                // A rate between 0 and 1: its thousandths fit any integer.
                self.upstream_success_permille.get_or_create(&labels).set((rate * 1000.0).round() as i64);
            }
            self.upstream_degraded.get_or_create(&labels).set(i64::from(report.degraded() || report.breaker_open));
            self.upstream_breaker_open.get_or_create(&labels).set(i64::from(report.breaker_open));
        }
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
