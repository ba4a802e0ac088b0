//! What the gateway is configured with, shared by the pipeline and the methods.

#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Where `qr_code`s point: the sandbox cashier page, `{public_url}/cashier/code`.
    pub cashier_url: String,
    /// Accept notify URLs on private, loopback or link-local addresses (the demo and tests).
    pub allow_private_notify_urls: bool,
    /// Token bucket per app: sustained calls per second, and the burst above it.
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// Business days: which day a refund is booked on, and when a day's bill is ready.
    pub calendar: domain::calendar::BusinessCalendar,
    /// Withdrawals: the payout settings, and the channel payouts go through (none: withdrawals
    /// are refused).
    pub payouts: payouts::Settings,
    pub payout_channel: Option<&'static str>,
}
