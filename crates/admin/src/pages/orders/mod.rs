//! The orders section: the orders list, each order's page with its refund and "send again"
//! actions, and — as tabs of the same section — the gateway request log and the channel callbacks
//! waiting for an operator.
pub mod actions;
pub mod detail;
pub mod list;

use domain::orders::OrderState;

use crate::i18n::OrderLabels;

/// An order state as a coloured badge (`order-{state}` in the stylesheet).
pub struct OrderBadge {
    pub class: &'static str,
    pub label: String,
}

impl OrderBadge {
    pub fn of(o: &OrderLabels, state: OrderState) -> OrderBadge {
        OrderBadge { class: state.as_str(), label: o.state(state).to_string() }
    }
}

/// The pages of the section, shown as tabs above each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Orders,
    GatewayLog,
    Callbacks,
}

pub struct TabLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
    /// Shown next to the label when something waits (callbacks to handle).
    pub count: Option<i64>,
}

pub fn tabs(o: &OrderLabels, active: Tab, open_callbacks: i64) -> Vec<TabLink> {
    [
        (Tab::Orders, "/admin/orders", o.orders, None),
        (Tab::GatewayLog, "/admin/gateway-log", o.gateway_log, None),
        (Tab::Callbacks, "/admin/callbacks", o.callbacks, Some(open_callbacks)),
    ]
    .into_iter()
    .map(|(tab, href, label, count)| TabLink { href, label, active: tab == active, count })
    .collect()
}
