//! Who may act for a sub-merchant through the gateway: the rule in one place, for placing orders,
//! reading them, balances, and the ISV's onboarding methods alike.
use domain::{AppRowId, MerchantId, onboarding::AppKind};
use storage::apps::AppRow;

/// Whether `app` may act for the merchant `merchant_id` (onboarded by `owner_app_id`): its own
/// merchant app, or the ISV app that onboarded it.
pub fn may_act_for(app: &AppRow, merchant_id: MerchantId, owner_app_id: Option<AppRowId>) -> bool {
    match app.kind {
        AppKind::Merchant => app.merchant_id == Some(merchant_id),
        AppKind::Isv => owner_app_id == Some(app.id),
    }
}
