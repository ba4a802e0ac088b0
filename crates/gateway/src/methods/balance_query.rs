//! `fshows.liquidation.witness.balance.query`: a sub-merchant's balances, straight from the ledger.
//!
//! Content: `sub_merchant_id`. Reply: `sub_merchant_id`, `pending_balance` (unsettled, 不可用余额),
//! `available_balance` (settled, can be paid out), `in_transit_balance` (reserved for payouts in
//! flight), as Price numbers. The merchant's own app or the ISV that onboarded it may ask; `-203`
//! for an unknown id, `-102` for a merchant the app may not act for.
use domain::{SubMerchantId, ledger::AccountKind};

use super::{Call, ReturnValue};
use fshows::reply::ReplyValue;

use crate::error::GatewayError;

pub fn call(call: &mut Call<'_>) -> Result<ReturnValue, GatewayError> {
    let sub_merchant_id = SubMerchantId::parse(&call.content.required("sub_merchant_id")?)
        .map_err(|e| GatewayError::invalid("sub_merchant_id", e))?;
    let merchant = storage::merchants::find_by_sub_merchant_id(call.conn, sub_merchant_id.as_ref())?
        .ok_or(GatewayError::SubMerchantInvalid)?;
    if !onboarding::access::may_act_for(call.app, merchant.id, merchant.owner_app_id) {
        return Err(GatewayError::PermissionDenied("this app may not act for this sub-merchant".into()));
    }
    let balances = ledger::reports::merchant_balances(call.conn, merchant.id).map_err(ledger_error)?;
    let balance = |kind| ReplyValue::amount(balances.get(&kind).copied().unwrap_or(domain::Amount::ZERO));
    Ok(vec![
        ("sub_merchant_id", ReplyValue::text(sub_merchant_id.as_ref().to_owned())),
        ("pending_balance", balance(AccountKind::MerchantPending)),
        ("available_balance", balance(AccountKind::MerchantAvailable)),
        ("in_transit_balance", balance(AccountKind::MerchantPayoutInTransit)),
    ])
}

pub(super) fn ledger_error(error: ledger::LedgerError) -> GatewayError {
    tracing::error!(?error, "ledger read failed");
    GatewayError::ServerError
}
