//! The dashboard: the platform at a glance. It grows as the business sections land.
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Days, NaiveDate, Utc};
use domain::{Amount, payouts::PayoutState};
use std::collections::BTreeMap;

use channel::health::Counts;
use storage::{
    audit, callbacks,
    database::run_blocking,
    jobs,
    ledger::DailyFigures,
    operators, orders,
    upstream_calls::{self, MethodTotals},
};

use super::layout::{Chrome, Section};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    chart::BarChart,
    i18n::{OrderLabels, PayoutLabels},
    render,
    view::{AuditRow, china_day, yuan},
};

/// One method of one upstream, as the dashboard shows it.
struct UpstreamRow {
    upstream: String,
    method: String,
    calls_hour: u64,
    /// Success rates as percentages with one decimal; `—` without calls that count.
    rate_hour: String,
    rate_day: String,
    mean_latency_ms: String,
    breaker_open: bool,
    degraded: bool,
}

impl UpstreamRow {
    /// One method: its deployment-wide counts of the last hour and day, and this node's breaker.
    fn of(upstream: String, method: String, hour: Counts, day: Counts, breaker_open: bool) -> UpstreamRow {
        let percent = |rate: Option<f64>| rate.map_or_else(|| "—".to_string(), |rate| format!("{:.1}%", rate * 100.0));
        UpstreamRow {
            degraded: hour.success_rate().is_some_and(|rate| rate < channel::health::HEALTHY_SUCCESS_RATE),
            upstream,
            method,
            calls_hour: hour.calls,
            rate_hour: percent(hour.success_rate()),
            rate_day: percent(day.success_rate()),
            mean_latency_ms: hour.mean_latency_ms().map_or_else(|| "—".into(), |ms| ms.to_string()),
            breaker_open,
        }
    }
}

/// The counts a stored total holds.
fn counts(totals: &MethodTotals) -> Counts {
    let whole = |count: i64| u64::try_from(count).unwrap_or(0);
    Counts {
        calls: whole(totals.calls),
        successes: whole(totals.successes),
        declines: whole(totals.declines),
        system_errors: whole(totals.system_errors),
        timeouts: whole(totals.timeouts),
        latency_ms_total: whole(totals.latency_ms_total),
    }
}

/// Every upstream method called in the last day anywhere in the deployment, or known to this
/// node, with the deployment's figures and this node's breaker.
fn upstream_rows(
    reports: &[channel::health::MethodReport],
    hour: &[MethodTotals],
    day: &[MethodTotals],
) -> Vec<UpstreamRow> {
    let mut methods: BTreeMap<(String, String), (Counts, Counts, bool)> = BTreeMap::new();
    for report in reports {
        methods.entry((report.upstream.into(), report.method.into())).or_default().2 = report.breaker_open;
    }
    for totals in day {
        methods.entry((totals.upstream.clone(), totals.method.clone())).or_default().1 = counts(totals);
    }
    for totals in hour {
        methods.entry((totals.upstream.clone(), totals.method.clone())).or_default().0 = counts(totals);
    }
    methods
        .into_iter()
        .map(|((upstream, method), (hour, day, open))| UpstreamRow::of(upstream, method, hour, day, open))
        .collect()
}

/// A chart with its caption, and an id for tests and links.
struct ChartPanel {
    id: &'static str,
    title: &'static str,
    chart: BarChart,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    o: &'static OrderLabels,
    /// Today: orders placed (in China), orders paid and their volume (the business day's).
    orders_today: i64,
    paid_today: i64,
    volume_today: String,
    commission_today: String,
    /// Paid of placed today, as a percentage with one decimal; `—` before the first order.
    success_rate_today: String,
    charts: Vec<ChartPanel>,
    callbacks_open: i64,
    p: &'static PayoutLabels,
    /// Payouts waiting for approval, in flight (submitted), and needing an operator.
    payouts_awaiting: i64,
    payouts_submitted: i64,
    payouts_attention: i64,
    database_up: bool,
    redis_up: bool,
    jobs_pending: i64,
    jobs_failed: i64,
    active_operators: usize,
    /// The outside upstreams' methods (none with the sandbox alone), and whether any is below
    /// the healthy success rate or has its breaker open.
    upstreams: Vec<UpstreamRow>,
    upstream_warning: bool,
    /// The latest verification of the ledger found mismatches: what to say, linking to it.
    ledger_alert: Option<String>,
    recent: Vec<AuditRow>,
    show_recent: bool,
}

pub async fn show(session: SignedIn, state: web::Data<ConsoleState>) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let show_recent = session.can(Permission::Administer);
    let today = china_day(Utc::now());
    let business_today = state.calendar.date_of(Utc::now());
    let first_day = business_today.checked_sub_days(Days::new(CHART_DAYS - 1)).unwrap_or(business_today);
    let (depth, active_operators, recent, placed_today, callbacks_open, figures, payouts, upstream_calls, verified) =
        run_blocking(&state.pool, move |conn| {
            let depth = jobs::depth(conn)?;
            let active = operators::list(conn)?.iter().filter(|operator| operator.is_active()).count();
            let recent = if show_recent { audit::list(conn, &audit::Filter::default(), 8)? } else { Vec::new() };
            let placed_today = orders::placed_on(conn, today)?;
            let figures = storage::ledger::daily_figures(conn, first_day, business_today)?;
            let callbacks_open = callbacks::count_needing_attention(conn)?;
            let payouts = storage::payouts::counts(conn)?;
            let now = Utc::now();
            let upstream_calls = (
                upstream_calls::totals_since(conn, now - chrono::Duration::hours(1))?,
                upstream_calls::totals_since(conn, now - chrono::Duration::days(1))?,
            );
            let verified = storage::ledger_verification::latest_finished(conn)?;
            Ok::<_, ConsoleError>((
                depth,
                active,
                recent,
                placed_today,
                callbacks_open,
                figures,
                payouts,
                upstream_calls,
                verified,
            ))
        })
        .await?;
    let days = every_day(first_day, business_today, &figures);
    let today_figures = days.last().copied();
    let commission_today = today_figures.map_or(Amount::ZERO, |day| day.commission_fen);
    let (paid_today, volume_today) = today_figures.map_or((0, Amount::ZERO), |day| (day.paid_orders, day.volume_fen));
    let o = session.lang.labels().order;
    let (payouts_by_state, payouts_attention) = payouts;
    let in_state = |state: PayoutState| payouts_by_state.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
    let upstreams = upstream_rows(&state.channels.health(), &upstream_calls.0, &upstream_calls.1);
    let upstream_warning = upstreams.iter().any(|row| row.degraded || row.breaker_open);
    render::page(&DashboardPage {
        chrome: Chrome::new(&session, Section::Dashboard),
        o,
        orders_today: placed_today,
        paid_today,
        volume_today: yuan(volume_today),
        commission_today: yuan(commission_today),
        success_rate_today: success_rate(paid_today, placed_today),
        charts: charts(o, &days),
        callbacks_open,
        p: PayoutLabels::of(session.lang),
        payouts_awaiting: in_state(PayoutState::AwaitingApproval),
        payouts_submitted: in_state(PayoutState::Submitted),
        payouts_attention,
        database_up: true,
        redis_up: state.cache.ping().await,
        jobs_pending: depth.pending,
        jobs_failed: depth.failed,
        active_operators,
        upstreams,
        upstream_warning,
        ledger_alert: verified.filter(|verification| verification.mismatch_count > 0).map(|verification| {
            let l = session.lang.labels().ledger;
            format!("{}: {} {}", l.verification, l.mismatches_found, verification.mismatch_count)
        }),
        recent: recent.into_iter().map(AuditRow::from).collect(),
        show_recent,
    })
}

/// Days shown in the charts, today included.
const CHART_DAYS: u64 = 30;

/// One row per day from `first` to `last`, zero where the ledger has nothing.
fn every_day(first: NaiveDate, last: NaiveDate, figures: &[DailyFigures]) -> Vec<DailyFigures> {
    first
        .iter_days()
        .take_while(|day| *day <= last)
        .map(|day| {
            figures.iter().find(|f| f.business_date == day).copied().unwrap_or(DailyFigures {
                business_date: day,
                paid_orders: 0,
                volume_fen: Amount::ZERO,
                commission_fen: Amount::ZERO,
            })
        })
        .collect()
}

fn charts(o: &OrderLabels, days: &[DailyFigures]) -> Vec<ChartPanel> {
    // The chart scales plain numbers; its labels turn them back into yuan.
    let series =
        |value: fn(&DailyFigures) -> Amount| days.iter().map(|d| (d.business_date, value(d).fen())).collect::<Vec<_>>();
    let yuan = |fen: i64| yuan(Amount::from_fen(fen));
    vec![
        ChartPanel {
            id: "volume-chart",
            title: o.volume_30_days,
            chart: BarChart::daily(&series(|d| d.volume_fen), yuan),
        },
        ChartPanel {
            id: "commission-chart",
            title: o.commission_30_days,
            chart: BarChart::daily(&series(|d| d.commission_fen), yuan),
        },
    ]
}

/// Orders paid today of those placed today. Orders placed before midnight and paid after it count
/// on the day they were paid, so the rate is held at 100%.
fn success_rate(paid: i64, placed: i64) -> String {
    if placed <= 0 {
        return "—".into();
    }
    let per_mille = paid.min(placed).saturating_mul(1_000) / placed;
    format!("{}.{}%", per_mille / 10, per_mille % 10)
}
