//! Placing an order (uniorder): who may, at which rates, and idempotently on `out_trade_no`.
use std::{
    collections::HashMap,
    sync::{Arc, Condvar, Mutex},
};

use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use domain::{
    Amount, FeeSplit, OutTradeNo, Rates, SubMerchantId, TradeNo,
    orders::{NotifyUrl, OrderBody, OrderType},
};
use onboarding::{access::may_act_for, rates::rates_of};
use rand::{Rng, distributions::Alphanumeric};
use storage::{
    apps::AppRow,
    merchants::{self, MerchantRow, TradingRow},
    orders::{self as rows, GuardedOrder, OrderRow},
    rates::{self as rate_rows, MerchantRatesRow, PlanVersionRow},
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

    pub fn into_order(self) -> Order {
        match self {
            Placed::New(order) | Placed::Replay(order) => order,
        }
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
    if !may_act_for(app, merchant.id, merchant.owner_app_id) {
        return Err(OrderError::NotYourMerchant);
    }
    if !merchant.state.can_transact() {
        return Err(OrderError::MerchantNotApproved);
    }
    Ok(merchant)
}

fn china_now(now: DateTime<Utc>) -> chrono::NaiveDateTime {
    let offset = domain::calendar::china();
    now.with_timezone(&offset).naive_local()
}

pub fn new_trade_no(now: DateTime<Utc>) -> TradeNo {
    TradeNo::generate(china_now(now), rand::thread_rng().gen_range(0..100_000_000_000_000))
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

/// What placing an order needs to know about a merchant, read together: who may trade for it and
/// whether it may trade ([`TradingRow`]), every version of its rates, and every version of the
/// plans those follow. Rates are versioned by `effective_from`, so the rates in force at any
/// instant can be worked out from the snapshot without asking the database again.
#[derive(Debug, Clone)]
pub struct MerchantSnapshot {
    pub merchant: TradingRow,
    /// Newest effective first.
    rates: Vec<MerchantRatesRow>,
    /// Per plan, its versions newest effective first.
    plans: Vec<(i64, Vec<PlanVersionRow>)>,
}

/// The rates in force at an instant, and the versions they come from: the insert checks those are
/// still the versions in force, so a snapshot that went stale is noticed, never used.
struct InForce {
    rates: Rates,
    merchant_rates_id: i64,
    plan_version: Option<(i64, i64)>,
}

impl MerchantSnapshot {
    pub fn load(conn: &mut PgConnection, sub_merchant_id: &str) -> Result<Option<MerchantSnapshot>, OrderError> {
        let Some(merchant) = merchants::find_trading_by_sub_merchant_id(conn, sub_merchant_id)? else {
            return Ok(None);
        };
        let rates = rate_rows::merchant_rate_history(conn, merchant.id)?;
        let mut plans: Vec<(i64, Vec<PlanVersionRow>)> = Vec::new();
        for plan_id in rates.iter().filter_map(|row| row.rate_plan_id) {
            if !plans.iter().any(|(id, _)| *id == plan_id) {
                plans.push((plan_id, rate_rows::plan_versions(conn, plan_id)?));
            }
        }
        Ok(Some(MerchantSnapshot { merchant, rates, plans }))
    }

    /// As `onboarding::rates::in_force` answers it: the merchant's latest version effective by `at`,
    /// and if that follows a plan, the plan's latest version effective by `at`.
    fn in_force(&self, at: DateTime<Utc>) -> Result<Option<InForce>, OrderError> {
        let Some(row) = self.rates.iter().find(|row| row.effective_from <= at) else {
            return Ok(None);
        };
        if let Some(own) = row.own_rates() {
            return Ok(Some(InForce { rates: rates_of(own)?, merchant_rates_id: row.id, plan_version: None }));
        }
        let Some(plan_id) = row.rate_plan_id else {
            return Ok(None);
        };
        let version = self
            .plans
            .iter()
            .find(|(id, _)| *id == plan_id)
            .and_then(|(_, versions)| versions.iter().find(|version| version.effective_from <= at));
        let Some(version) = version else {
            return Ok(None);
        };
        Ok(Some(InForce {
            rates: rates_of(version.rates())?,
            merchant_rates_id: row.id,
            plan_version: Some((plan_id, version.id)),
        }))
    }

    /// Whether `app` may place orders for the merchant now, as [`tradable_merchant`] decides.
    fn check(&self, app: &AppRow) -> Result<(), OrderError> {
        if !may_act_for(app, self.merchant.id, self.merchant.owner_app_id) {
            return Err(OrderError::NotYourMerchant);
        }
        if !self.merchant.state.can_transact() {
            return Err(OrderError::MerchantNotApproved);
        }
        Ok(())
    }
}

/// Merchant snapshots kept per node, so placing an order for a known merchant reads nothing before
/// its insert. They cannot go stale unnoticed: the insert itself checks, in the same statement,
/// that the merchant's state and owner and the rate versions in force are still the snapshot's,
/// and inserts nothing otherwise; the snapshot is then read again. So a merchant frozen, or given
/// new rates, on any node is seen by the very next order. The time to live only bounds how long an
/// unused snapshot is kept.
struct MerchantCache {
    /// `None` when caching is off (a zero time to live): every order reads its merchant.
    entries: Option<moka::sync::Cache<String, Arc<MerchantSnapshot>>>,
}

/// Bounds memory if very many merchants trade at once (the least used go first).
const MERCHANT_CACHE_LIMIT: u64 = 10_000;

impl MerchantCache {
    fn new(ttl: std::time::Duration) -> MerchantCache {
        let entries = (!ttl.is_zero())
            .then(|| moka::sync::Cache::builder().max_capacity(MERCHANT_CACHE_LIMIT).time_to_live(ttl).build());
        MerchantCache { entries }
    }

    fn get(&self, sub_merchant_id: &str) -> Option<Arc<MerchantSnapshot>> {
        self.entries.as_ref()?.get(sub_merchant_id)
    }

    fn put(&self, sub_merchant_id: &str, snapshot: Arc<MerchantSnapshot>) {
        if let Some(entries) = &self.entries {
            entries.insert(sub_merchant_id.to_string(), snapshot);
        }
    }

    fn forget(&self, sub_merchant_id: &str) {
        if let Some(entries) = &self.entries {
            entries.invalidate(sub_merchant_id);
        }
    }

    /// The snapshot, from memory or read now; `None` if there is no such merchant. The flag says
    /// whether it was read now.
    fn snapshot(
        &self,
        conn: &mut PgConnection,
        sub_merchant_id: &str,
        reload: bool,
    ) -> Result<Option<(Arc<MerchantSnapshot>, bool)>, OrderError> {
        if let Some(snapshot) = self.get(sub_merchant_id).filter(|_| !reload) {
            return Ok(Some((snapshot, false)));
        }
        let Some(snapshot) = MerchantSnapshot::load(conn, sub_merchant_id)? else {
            self.forget(sub_merchant_id);
            return Ok(None);
        };
        let snapshot = Arc::new(snapshot);
        self.put(sub_merchant_id, snapshot.clone());
        Ok(Some((snapshot, true)))
    }
}

/// What a node keeps to place orders quickly: merchant snapshots, and the insert that places
/// the orders of concurrent requests together.
pub struct Placer {
    merchants: MerchantCache,
    inserts: Option<GroupInsert>,
}

impl Placer {
    /// Snapshots kept up to `ttl`, and concurrent inserts grouped.
    pub fn new(ttl: std::time::Duration) -> Placer {
        Placer { merchants: MerchantCache::new(ttl), inserts: Some(GroupInsert::default()) }
    }

    /// Reads every merchant afresh and inserts each order by itself.
    pub fn uncached() -> Placer {
        Placer { merchants: MerchantCache::new(std::time::Duration::ZERO), inserts: None }
    }
}

/// Places the order, or answers a retry with the original, reading the merchant afresh.
pub fn place(conn: &mut PgConnection, app: &AppRow, new: &NewOrder, now: DateTime<Utc>) -> Result<Placed, OrderError> {
    place_with(conn, &Placer::uncached(), app, new, now)
}

/// Places the order, or answers a retry with the original. New orders are the common case, so the
/// insert goes first and the `(app_id, out_trade_no)` constraint detects retries and concurrent
/// duplicates alike. With the merchant in the placer's cache that insert is the only statement.
pub fn place_with(
    conn: &mut PgConnection,
    placer: &Placer,
    app: &AppRow,
    new: &NewOrder,
    now: DateTime<Utc>,
) -> Result<Placed, OrderError> {
    let sub_merchant_id = new.sub_merchant_id.as_ref();
    let mut reload = false;
    for _ in 0..8 {
        let Some((snapshot, fresh)) = placer.merchants.snapshot(conn, sub_merchant_id, reload)? else {
            return refuse(conn, app, new, OrderError::UnknownSubMerchant);
        };
        let verdict = match snapshot.check(app) {
            Ok(()) => snapshot.in_force(now)?.ok_or(OrderError::NoRates),
            Err(refused) => Err(refused),
        };
        let in_force = match verdict {
            Ok(in_force) => in_force,
            // A refusal from memory is checked against the database before it is given.
            Err(_) if !fresh => {
                reload = true;
                continue;
            }
            Err(OrderError::NoRates) => return Err(OrderError::NoRates),
            Err(refused) => return refuse(conn, app, new, refused),
        };
        let insert = guarded_order(app, new, &snapshot, &in_force, now)?;
        let inserted = insert_one(conn, placer, &insert);
        match inserted {
            Ok(Some(row)) => return Ok(Placed::New(Order::from_row(row)?)),
            // The merchant or its rates changed since the snapshot: read them again.
            Ok(None) => reload = true,
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

/// The row to insert for `new`, with what it was worked out from (the merchant as read and the
/// rates in force at `now`), so the insert can check they still hold.
fn guarded_order(
    app: &AppRow,
    new: &NewOrder,
    snapshot: &MerchantSnapshot,
    in_force: &InForce,
    now: DateTime<Utc>,
) -> Result<GuardedOrder, OrderError> {
    let split = FeeSplit::of_total(new.total, &in_force.rates)?;
    let (plan_id, plan_version_id) = in_force.plan_version.unzip();
    Ok(GuardedOrder {
        trade_no: new_trade_no(now).as_ref().to_string(),
        app_id: app.id,
        merchant_id: snapshot.merchant.id,
        out_trade_no: new.out_trade_no.as_ref().to_string(),
        body: new.body.as_ref().to_string(),
        total_fee_fen: new.total,
        order_type: new.order_type.code(),
        notify_url: new.notify_url.as_ref().map(|url| url.as_ref().to_string()),
        bank_commission_rate: in_force.rates.bank_commission().as_decimal(),
        pay_platform_rate: in_force.rates.pay_platform().as_decimal(),
        liquidator_commission_rate: in_force.rates.liquidator_commission().as_decimal(),
        bank_commission_fen: split.bank_commission,
        pay_platform_fen: split.pay_platform,
        liquidator_commission_fen: split.liquidator_commission,
        net_receipt_fen: split.net_receipt,
        cashier_code: new_cashier_code(),
        content_fingerprint: new.content_fingerprint.clone(),
        expires_at: now + Duration::minutes(ORDER_LIFETIME_MINUTES),
        merchant_state: snapshot.merchant.state,
        owner_app_id: snapshot.merchant.owner_app_id,
        at: now,
        merchant_rates_id: in_force.merchant_rates_id,
        rate_plan_id: plan_id,
        plan_version_id,
    })
}

/// Inserts one order: by itself, or grouped with concurrent requests' orders when the placer
/// groups them. `None` when the merchant or its rates changed since they were read.
fn insert_one(
    conn: &mut PgConnection,
    placer: &Placer,
    insert: &GuardedOrder,
) -> Result<Option<OrderRow>, storage::StorageError> {
    // One statement, atomic by itself. Inside a caller's transaction it gets a savepoint, so a
    // unique violation leaves that transaction usable.
    if storage::database::in_transaction(conn) {
        return storage::database::transaction(conn, |conn| rows::insert_if_current(conn, insert));
    }
    match &placer.inserts {
        // Grouped with concurrent requests' orders; any order the group did not place (a
        // duplicate, a stale snapshot, a failed group) is tried by itself, to learn why.
        Some(group) => match group.insert(conn, insert.clone()) {
            Some(row) => Ok(Some(row)),
            None => rows::insert_if_current(conn, insert),
        },
        None => rows::insert_if_current(conn, insert),
    }
}

/// A refused order, unless it is a retry of one placed before (say, before the merchant was
/// frozen): that still gets its original answer.
fn refuse(conn: &mut PgConnection, app: &AppRow, new: &NewOrder, refused: OrderError) -> Result<Placed, OrderError> {
    match crate::order::find_by_out_trade_no(conn, app.id, new.out_trade_no.as_ref())? {
        Some(existing) => replay_or_conflict(existing, &new.content_fingerprint),
        None => Err(refused),
    }
}

/// Group commit for new orders. Requests that arrive while [`GROUPS_AT_ONCE`] inserts are running
/// queue up; when one ends, one of them inserts the queue in one statement (and one commit) on its
/// own connection and hands each request its row. Each order is as durable as before — its request
/// answers only after the commit that holds it — and is checked exactly as a single insert would
/// be. Without concurrency every order is a group of one, with no waiting at all.
#[derive(Default)]
struct GroupInsert {
    state: Mutex<GroupState>,
    done: Condvar,
}

#[derive(Default)]
struct GroupState {
    queue: Vec<(GuardedOrder, Slot)>,
    /// Groups being inserted now.
    inserting: usize,
}

/// Large enough to take a burst in a few statements, small enough to keep one statement short.
const GROUP_LIMIT: usize = 64;
/// Groups inserted at the same time. One: under load the queue then forms behind it and groups
/// grow. Measured with gateway_bench, three at once left groups small and cost PostgreSQL about
/// 2.5 times the CPU per order (0.45 ms against 0.18 ms).
const GROUPS_AT_ONCE: usize = 1;

impl GroupInsert {
    /// The order's row once placed, or `None` if its group did not place it (a unique violation,
    /// a stale snapshot, or a failed statement): the caller then tries the order by itself.
    fn insert(&self, conn: &mut PgConnection, order: GuardedOrder) -> Option<OrderRow> {
        let slot: Slot = Arc::default();
        let mut state = self.state.lock().ok()?;
        state.queue.push((order, slot.clone()));
        loop {
            if let Some(outcome) = slot.lock().ok()?.take() {
                return outcome;
            }
            if state.inserting < GROUPS_AT_ONCE {
                break;
            }
            state = self.done.wait(state).ok()?;
        }
        // Fewer groups than allowed are being inserted and this order is still queued: this
        // request inserts a group, its own order first, then as many queued as fit.
        let position = state.queue.iter().position(|(_, other)| Arc::ptr_eq(other, &slot))?;
        let mut group = vec![state.queue.remove(position)];
        let others = state.queue.len().min(GROUP_LIMIT - 1);
        group.extend(state.queue.drain(..others));
        state.inserting += 1;
        drop(state);
        let _inserting = Inserting(self);
        let orders: Vec<GuardedOrder> = group.iter().map(|(order, _)| order.clone()).collect();
        let placed = match orders.as_slice() {
            [single] => rows::insert_if_current(conn, single).map(|row| row.into_iter().collect()),
            _ => rows::insert_many_if_current(conn, &orders),
        };
        let placed: HashMap<String, OrderRow> = match placed {
            Ok(rows) => rows.into_iter().map(|row| (row.trade_no.clone(), row)).collect(),
            Err(error) => {
                tracing::warn!(error = ?error, orders = orders.len(), "a grouped order insert failed; each order is tried by itself");
                HashMap::new()
            }
        };
        let mut mine = None;
        for (index, (order, other)) in group.iter().enumerate() {
            let row = placed.get(&order.trade_no).filter(|row| {
                row.app_id == order.app_id
                    && row.out_trade_no == order.out_trade_no
                    && row.cashier_code == order.cashier_code
            });
            if index == 0 {
                mine = row.cloned();
            } else if let Ok(mut outcome) = other.lock() {
                *outcome = Some(row.cloned());
            }
        }
        mine
    }
}

/// Where a queued request finds its outcome: set once, by the request that inserted its group.
type Slot = Arc<Mutex<Option<Option<OrderRow>>>>;

/// Ends an insert, however it ends (a panic included): another group may start, and every waiting
/// request looks at its slot.
struct Inserting<'a>(&'a GroupInsert);

impl Drop for Inserting<'_> {
    fn drop(&mut self) {
        match self.0.state.lock() {
            Ok(mut state) => state.inserting = state.inserting.saturating_sub(1),
            Err(poisoned) => {
                let mut state = poisoned.into_inner();
                state.inserting = state.inserting.saturating_sub(1);
            }
        }
        self.0.done.notify_all();
    }
}
