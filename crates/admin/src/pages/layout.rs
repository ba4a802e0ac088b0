//! What every signed-in page shows around its content: navigation, language switch, sign-out.
use crate::{
    auth::{Permission, SignedIn},
    i18n::{Labels, Lang},
};

/// The sections of the console; a section appears in the navigation only once it is built and
/// only for roles that may open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Merchants,
    /// Orders, the gateway request log and the channel callbacks waiting for an operator.
    Orders,
    /// The ledger's reports, business days and reconciliation.
    Ledger,
    /// Payout orders and runs (代付).
    Payouts,
    RatePlans,
    Operators,
    Audit,
    Settings,
}

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

pub struct Chrome {
    pub t: &'static Labels,
    pub lang: Lang,
    pub username: String,
    pub role_label: &'static str,
    pub csrf_token: String,
    pub nav: Vec<NavLink>,
    pub title: String,
    /// Reload the page after this many seconds (while something finishes in the background).
    pub refresh_seconds: Option<u32>,
}

impl Chrome {
    pub fn new(session: &SignedIn, active: Section) -> Chrome {
        let t = session.lang.labels();
        let sections = [
            (Section::Dashboard, "/admin", t.dashboard, Permission::Read),
            (Section::Merchants, "/admin/merchants", t.merchants, Permission::Read),
            (Section::Orders, "/admin/orders", t.order.orders, Permission::Read),
            (Section::Ledger, "/admin/ledger", t.ledger.ledger, Permission::Read),
            (Section::Payouts, "/admin/payouts", t.payouts, Permission::Read),
            (Section::RatePlans, "/admin/rate-plans", t.rate_plans, Permission::Read),
            (Section::Operators, "/admin/operators", t.operators, Permission::Administer),
            (Section::Audit, "/admin/audit", t.audit_log, Permission::Administer),
            (Section::Settings, "/admin/settings", t.settings, Permission::Read),
        ];
        let nav = sections
            .into_iter()
            .filter(|(_, _, _, permission)| session.can(*permission))
            .map(|(section, href, label, _)| NavLink { href, label, active: section == active })
            .collect();
        let title = match active {
            Section::Dashboard => t.dashboard,
            Section::Merchants => t.merchants,
            Section::Orders => t.order.orders,
            Section::Ledger => t.ledger.ledger,
            Section::Payouts => t.payouts,
            Section::RatePlans => t.rate_plans,
            Section::Operators => t.operators,
            Section::Audit => t.audit_log,
            Section::Settings => t.settings,
        };
        Chrome {
            t,
            lang: session.lang,
            username: session.operator.username.clone(),
            role_label: t.role(session.operator.role),
            csrf_token: session.csrf_token.clone(),
            nav,
            title: title.to_string(),
            refresh_seconds: None,
        }
    }

    /// A page inside a section whose heading is not the section's name.
    pub fn titled(session: &SignedIn, active: Section, title: impl Into<String>) -> Chrome {
        Chrome { title: title.into(), ..Chrome::new(session, active) }
    }
}
