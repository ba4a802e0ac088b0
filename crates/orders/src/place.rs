//! Placing an order (uniorder): who may, at which rates, and idempotently on `out_trade_no`.
use chrono::{DateTime, Duration, FixedOffset, Utc};
use diesel::{Connection, PgConnection};
use domain::{
    Amount, FeeSplit, OutTradeNo, SubMerchantId, TradeNo,
    onboarding::ApplicationState,
    orders::{NotifyUrl, OrderBody, OrderType},
};
use rand::{Rng, distributions::Alphanumeric};
use storage::{
    apps::AppRow,
    merchants::{self, MerchantRow},
    orders::{self as rows, NewOrderRow},
};

use crate::{Order, OrderError};

/// seed 003: the `qr_code` is valid for two hours.
pub const ORDER_LIFETIME_MINUTES: i64 = 120;

pub struct NewOrder {
    pub sub_merchant_id: SubMerchantId,
    pub out_trade_no: OutTradeNo,
    pub body: OrderBody,
    pub total: Amount,
    pub order_type: OrderType,
    pub notify_url: Option<NotifyUrl>,
    /// A hash of the request's business content: the same `out_trade_no` with the same
    /// fingerprint is a retry, with another one a conflict.
    pub content_fingerprint: String,
}

/// A new order, or the original one of an idempotent retry.
pub enum Placed {
    New(Order),
    Replay(Order),
}

impl Placed {
    pub fn order(&self) -> &Order {
        match self {
            Placed::New(order) | Placed::Replay(order) => order,
        }
    }
}

/// Whether `app` may act for `merchant`: its own app, or the ISV app that onboarded it.
pub fn may_act_for(app: &AppRow, merchant: &MerchantRow) -> bool {
    match app.kind.as_str() {
        "merchant" => app.merchant_id == Some(merchant.id),
        "isv" => merchant.owner_app_id == Some(app.id),
        _ => false,
    }
}

/// Finds the sub-merchant an app names and checks the app may use it and it may trade.
pub fn tradable_merchant(
    conn: &mut PgConnection,
    app: &AppRow,
    sub_merchant_id: &SubMerchantId,
) -> Result<MerchantRow, OrderError> {
    let merchant =
        merchants::find_by_sub_merchant_id(conn, sub_merchant_id.as_ref())?.ok_or(OrderError::UnknownSubMerchant)?;
    if !may_act_for(app, &merchant) {
        return Err(OrderError::NotYourMerchant);
    }
    if ApplicationState::parse(&merchant.state).is_none_or(|state| !state.can_transact()) {
        return Err(OrderError::MerchantNotApproved);
    }
    Ok(merchant)
}

fn china_now(now: DateTime<Utc>) -> chrono::NaiveDateTime {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    now.with_timezone(&offset).naive_local()
}

pub fn new_trade_no(now: DateTime<Utc>) -> TradeNo {
    TradeNo::generate(china_now(now), rand::thread_rng().gen_range(0..100_000_000_000_000))
}

fn in_transaction(conn: &mut PgConnection) -> bool {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_or(true, |depth| depth.is_some())
}

fn new_cashier_code() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(20).map(|c| char::from(c).to_ascii_lowercase()).collect()
}

/// An existing order under the same `out_trade_no`: the original if the content matches.
fn replay_or_conflict(existing: Order, fingerprint: &str) -> Result<Placed, OrderError> {
    if existing.row.content_fingerprint == fingerprint {
        Ok(Placed::Replay(existing))
    } else {
        Err(OrderError::DuplicateOutTradeNo)
    }
}

/// Places the order, or answers a retry with the original. New orders are the common case, so the
/// insert goes first and the `(app_id, out_trade_no)` constraint detects retries and concurrent
/// duplicates alike.
pub fn place(conn: &mut PgConnection, app: &AppRow, new: &NewOrder, now: DateTime<Utc>) -> Result<Placed, OrderError> {
    let merchant = match tradable_merchant(conn, app, &new.sub_merchant_id) {
        Ok(merchant) => merchant,
        // A retry of an order placed before the merchant was frozen still gets its original answer.
        Err(refused) => {
            return match crate::order::find_by_out_trade_no(conn, app.id, new.out_trade_no.as_ref())? {
                Some(existing) => replay_or_conflict(existing, &new.content_fingerprint),
                None => Err(refused),
            };
        }
    };
    let in_force = onboarding::rates::in_force(conn, merchant.id, now)?.ok_or(OrderError::NoRates)?;
    let split = FeeSplit::of_total(new.total, &in_force.rates)?;
    for _ in 0..8 {
        let trade_no = new_trade_no(now);
        let cashier_code = new_cashier_code();
        let row = NewOrderRow {
            trade_no: trade_no.as_ref(),
            app_id: app.id,
            merchant_id: merchant.id,
            out_trade_no: new.out_trade_no.as_ref(),
            body: new.body.as_ref(),
            total_fee_fen: new.total.fen(),
            order_type: new.order_type.code(),
            notify_url: new.notify_url.as_ref().map(AsRef::as_ref),
            bank_commission_rate: in_force.rates.bank_commission().as_decimal(),
            pay_platform_rate: in_force.rates.pay_platform().as_decimal(),
            liquidator_commission_rate: in_force.rates.liquidator_commission().as_decimal(),
            bank_commission_fen: split.bank_commission.fen(),
            pay_platform_fen: split.pay_platform.fen(),
            liquidator_commission_fen: split.liquidator_commission.fen(),
            net_receipt_fen: split.net_receipt.fen(),
            cashier_code: &cashier_code,
            content_fingerprint: &new.content_fingerprint,
            expires_at: now + Duration::minutes(ORDER_LIFETIME_MINUTES),
        };
        // One statement, atomic by itself. Inside a caller's transaction it gets a savepoint, so a
        // unique violation leaves that transaction usable.
        let inserted = if in_transaction(conn) {
            conn.transaction(|conn| rows::insert_with_created_event(conn, &row))
        } else {
            rows::insert_with_created_event(conn, &row)
        };
        match inserted {
            Ok(row) => return Ok(Placed::New(Order::from_row(row)?)),
            Err(error) if error.is_unique_violation() => {
                // A concurrent duplicate won the (app_id, out_trade_no) constraint: answer as a retry.
                if let Some(existing) = crate::order::find_by_out_trade_no(conn, app.id, new.out_trade_no.as_ref())? {
                    return replay_or_conflict(existing, &new.content_fingerprint);
                }
                // Otherwise a trade_no or cashier code collided: draw new ones.
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(OrderError::NumberExhausted)
}
