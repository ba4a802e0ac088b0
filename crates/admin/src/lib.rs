//! The admin console: server-rendered pages under `/admin` (templates in `web/templates`).
//!
//! Owns sign-in (argon2 passwords, a short-lived JWT in an HttpOnly SameSite=Strict cookie),
//! CSRF protection, login throttling, role checks on every route, and the console pages. Handlers
//! extract, parse, call one function and render; they hold no SQL (queries live in `storage`) and
//! every state-changing action is written to the audit log in the same transaction.
pub mod auth;
mod chart;
mod error;
pub mod i18n;
pub mod operators;
mod pages;
mod render;
mod view;

use std::time::Duration;

use actix_web::web;
pub use auth::{password, session::SessionKeys};
pub use error::ConsoleError;
use storage::{Cache, Pool};

/// Everything the console needs, built once at start-up.
#[derive(Clone)]
pub struct ConsoleState {
    pub pool: Pool,
    pub cache: Cache,
    pub sessions: SessionKeys,
    pub throttle: ThrottleSettings,
    /// Sets the `Secure` flag on cookies (the console is served over https).
    pub secure_cookies: bool,
    /// The platform's public key (PKCS#8 PEM), offered for download on the settings page.
    pub platform_public_key_pem: std::sync::Arc<str>,
    /// Business days and their cut-off (refunds are booked on the day they happen).
    pub calendar: domain::calendar::BusinessCalendar,
    /// The deployment's channels (one instance each, shared with the gateway and the workers).
    pub channels: channel::Registry,
    /// Payout approvals and manual runs follow the platform's payout settings.
    pub payouts: payouts::Settings,
}

#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Failed sign-ins allowed per username within `window` before sign-in is refused.
    pub max_failures_per_username: i64,
    /// Failed sign-ins allowed per client address within `window`.
    pub max_failures_per_ip: i64,
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings { max_failures_per_username: 5, max_failures_per_ip: 20, window: Duration::from_secs(15 * 60) }
    }
}

/// Registers every console route. All of them are visible here, with the permission they need
/// enforced inside each handler through [`auth::SignedIn::require`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .app_data(web::FormConfig::default().limit(64 * 1024).error_handler(error::form_error))
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            .route("", web::get().to(pages::dashboard::show))
            .route("/", web::get().to(pages::dashboard::show))
            .route("/login", web::get().to(pages::login::form))
            .route("/login", web::post().to(pages::login::submit))
            .route("/logout", web::post().to(pages::login::logout))
            .route("/lang/{lang}", web::get().to(pages::language::switch))
            .route("/operators", web::get().to(pages::operators::list))
            .route("/operators", web::post().to(pages::operators::create))
            .route("/operators/{id}/role", web::post().to(pages::operators::change_role))
            .route("/operators/{id}/disable", web::post().to(pages::operators::disable))
            .route("/operators/{id}/enable", web::post().to(pages::operators::enable))
            .route("/merchants", web::get().to(pages::merchants::list::list))
            .route("/merchants", web::post().to(pages::merchants::new::create))
            .route("/merchants/new", web::get().to(pages::merchants::new::form))
            .route("/merchants/{id}", web::get().to(pages::merchants::detail::show))
            .route("/merchants/{id}/transition", web::post().to(pages::merchants::actions::transition))
            .route("/merchants/{id}/verification", web::post().to(pages::merchants::actions::start_verification))
            .route("/merchants/{id}/verification/answer", web::post().to(pages::merchants::actions::answer))
            .route("/merchants/{id}/approve", web::post().to(pages::merchants::actions::approve))
            .route("/merchants/{id}/reveal", web::post().to(pages::merchants::actions::reveal))
            .route("/merchants/{id}/keys", web::post().to(pages::merchants::credentials::add_key))
            .route("/merchants/{id}/keys/{key_id}/revoke", web::post().to(pages::merchants::credentials::revoke_key))
            .route("/merchants/{id}/sign-type", web::post().to(pages::merchants::credentials::set_sign_type))
            .route("/merchants/{id}/rates", web::post().to(pages::merchants::rates::set))
            .route("/merchants/{id}/settlement-days", web::post().to(pages::merchants::settlement::set))
            .route("/merchants/{id}/payout-schedule", web::post().to(pages::merchants::payouts::set_schedule))
            .route("/merchants/{id}/payout-hold", web::post().to(pages::merchants::payouts::hold))
            .route("/merchants/{id}/payout-notify-url", web::post().to(pages::merchants::payouts::set_notify_url))
            .route("/merchants/{id}/payout-channel", web::post().to(pages::merchants::payouts::set_channel))
            .route("/merchants/{id}/pay-in-channel", web::post().to(pages::merchants::payments::set_channel))
            .route("/merchants/{id}/upstream/ask-again", web::post().to(pages::merchants::payments::ask_again))
            .route("/merchants/{id}/payout-release", web::post().to(pages::merchants::payouts::release))
            .route("/merchants/{id}/payout-confirm-account", web::post().to(pages::merchants::payouts::confirm_account))
            .route("/orders", web::get().to(pages::orders::list::list))
            .route("/orders/{id}", web::get().to(pages::orders::detail::show))
            .route("/orders/{id}/refund", web::post().to(pages::orders::actions::refund))
            .route(
                "/orders/{id}/notifications/{notification_id}/send-again",
                web::post().to(pages::orders::actions::send_again),
            )
            .route("/gateway-log", web::get().to(pages::gateway_log::list))
            .route("/gateway-log/{id}", web::get().to(pages::gateway_log::show))
            .route("/callbacks", web::get().to(pages::callbacks::list))
            .route("/callbacks/{id}/resolve", web::post().to(pages::callbacks::resolve))
            .route("/ledger", web::get().to(pages::ledger::trial_balance::show))
            .route("/ledger/verify", web::post().to(pages::ledger::trial_balance::verify))
            .route("/ledger/accounts", web::get().to(pages::ledger::accounts::list))
            .route("/ledger/accounts/{id}", web::get().to(pages::ledger::accounts::show))
            .route("/ledger/statement", web::get().to(pages::ledger::statement::show))
            .route("/ledger/commission", web::get().to(pages::ledger::commission::show))
            .route("/ledger/days", web::get().to(pages::ledger::days::list))
            .route("/ledger/days/{date}/release", web::post().to(pages::ledger::days::release))
            .route("/reconciliation", web::get().to(pages::reconciliation::list))
            .service(
                web::resource("/reconciliation/import")
                    .app_data(web::PayloadConfig::new(pages::reconciliation::MAX_BILL_BYTES))
                    .route(web::post().to(pages::reconciliation::import)),
            )
            .route("/reconciliation/runs/{id}", web::get().to(pages::reconciliation::show))
            .route("/reconciliation/differences/{id}/resolve", web::post().to(pages::reconciliation::resolve))
            .route("/payouts", web::get().to(pages::payouts::list))
            .route("/payouts/calendar", web::get().to(pages::payout_calendar::show))
            .route("/payouts/calendar", web::post().to(pages::payout_calendar::set_day))
            .route("/payouts/calendar/import", web::post().to(pages::payout_calendar::import))
            .route("/payouts/calendar/{day}/remove", web::post().to(pages::payout_calendar::remove_day))
            .route("/payouts/runs", web::get().to(pages::payouts::runs))
            .route("/payouts/runs", web::post().to(pages::payouts::manual_run))
            .route("/payouts/runs/{id}", web::get().to(pages::payouts::run))
            .route("/payouts/{id}", web::get().to(pages::payouts::show))
            .route("/payouts/{id}/approve", web::post().to(pages::payouts::approve))
            .route("/payouts/{id}/reject", web::post().to(pages::payouts::reject))
            .route("/payouts/{id}/query", web::post().to(pages::payouts::query_now))
            .route("/rate-plans", web::get().to(pages::rate_plans::list))
            .route("/rate-plans", web::post().to(pages::rate_plans::create))
            .route("/rate-plans/{code}/versions", web::post().to(pages::rate_plans::add_version))
            .route("/rate-plans/{code}/payout-defaults", web::post().to(pages::rate_plans::set_payout_defaults))
            .route(
                "/rate-plans/{code}/payout-defaults/remove",
                web::post().to(pages::rate_plans::remove_payout_defaults),
            )
            .route("/settings", web::get().to(pages::settings::show))
            .route("/audit", web::get().to(pages::audit::list))
            .route("/static/{file}", web::get().to(pages::assets::serve)),
    );
}
