//! An order as the rest of the platform sees it: the stored row with its state and split typed.
use chrono::{DateTime, NaiveDate, Utc};
use domain::{
    Amount, AppRowId, FeeSplit, MerchantId, OrderId,
    orders::{OrderState, OrderType},
};
use storage::{StorageError, orders::OrderRow};

use crate::OrderError;

#[derive(Debug, Clone)]
pub struct Order {
    pub(crate) row: OrderRow,
    pub state: OrderState,
    pub order_type: OrderType,
}

impl Order {
    pub fn from_row(row: OrderRow) -> Result<Order, OrderError> {
        let corrupt = |what: &str| {
            OrderError::Storage(StorageError::Query(diesel::result::Error::DeserializationError(
                what.to_string().into(),
            )))
        };
        let state = row.state;
        let order_type = OrderType::from_code(row.order_type).ok_or_else(|| corrupt("unknown order type"))?;
        Ok(Order { row, state, order_type })
    }

    pub fn id(&self) -> OrderId {
        self.row.id
    }

    /// The platform's order number (`trade_no`).
    pub fn trade_no(&self) -> &str {
        &self.row.trade_no
    }

    /// The merchant's own order number (`out_trade_no`), unique per app.
    pub fn out_trade_no(&self) -> &str {
        &self.row.out_trade_no
    }

    /// The app that placed the order.
    pub fn app_id(&self) -> AppRowId {
        self.row.app_id
    }

    pub fn merchant_id(&self) -> MerchantId {
        self.row.merchant_id
    }

    pub fn body(&self) -> &str {
        &self.row.body
    }

    /// Where the merchant's server is told of the payment and its refunds, if anywhere.
    pub fn notify_url(&self) -> Option<&str> {
        self.row.notify_url.as_deref()
    }

    /// The code of the order's cashier page.
    pub fn cashier_code(&self) -> &str {
        &self.row.cashier_code
    }

    /// What identifies the placing request's content, to tell a replay from a conflicting reuse
    /// of the same `out_trade_no`.
    pub fn content_fingerprint(&self) -> &str {
        &self.row.content_fingerprint
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// Until when the order can be paid.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.row.expires_at
    }

    pub fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.row.paid_at
    }

    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.row.closed_at
    }

    /// The business day the payment was booked on (SPEC §7).
    pub fn paid_business_date(&self) -> Option<NaiveDate> {
        self.row.paid_business_date
    }

    pub fn total(&self) -> Amount {
        self.row.total_fee_fen
    }

    pub fn refunded(&self) -> Amount {
        self.row.refunded_fen
    }

    /// What can still be refunded. The database keeps `refunded_fen` between zero and the total,
    /// so the difference always fits.
    pub fn unrefunded(&self) -> Amount {
        self.row.total_fee_fen.checked_sub(self.row.refunded_fen).unwrap_or(Amount::ZERO)
    }

    /// The split snapshotted at creation.
    pub fn split(&self) -> FeeSplit {
        FeeSplit {
            net_receipt: self.row.net_receipt_fen,
            bank_commission: self.row.bank_commission_fen,
            pay_platform: self.row.pay_platform_fen,
            liquidator_commission: self.row.liquidator_commission_fen,
        }
    }

    /// The rates snapshotted at creation.
    pub fn rates(&self) -> Result<domain::Rates, OrderError> {
        let rates = onboarding::rates::rates_of(storage::rates::StoredRates {
            bank_commission: self.row.bank_commission_rate,
            pay_platform: self.row.pay_platform_rate,
            liquidator_commission: self.row.liquidator_commission_rate,
        })?;
        Ok(rates)
    }
}

pub fn find_by_trade_no(conn: &mut diesel::PgConnection, trade_no: &str) -> Result<Option<Order>, OrderError> {
    storage::orders::find_by_trade_no(conn, trade_no)?.map(Order::from_row).transpose()
}

pub fn find_by_out_trade_no(
    conn: &mut diesel::PgConnection,
    app_id: AppRowId,
    out_trade_no: &str,
) -> Result<Option<Order>, OrderError> {
    storage::orders::find_by_out_trade_no(conn, app_id, out_trade_no)?.map(Order::from_row).transpose()
}

pub fn find(conn: &mut diesel::PgConnection, id: OrderId) -> Result<Option<Order>, OrderError> {
    storage::orders::find(conn, id)?.map(Order::from_row).transpose()
}

/// The order, its row locked until the transaction ends.
pub fn lock(conn: &mut diesel::PgConnection, id: OrderId) -> Result<Order, OrderError> {
    Order::from_row(storage::orders::find_for_update(conn, id)?.ok_or(OrderError::OrderNotFound)?)
}
