//! Merchants registered and orders placed at an upstream that takes payments for this platform.
//! Every change is a guarded update (`WHERE state = from`); the calls to the upstream happen
//! between these statements, never inside a transaction.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{
    MerchantId, OrderId,
    upstream::{RegistrationState, UpstreamOrderState},
};

use crate::{
    StorageError,
    schema::{merchants, upstream_merchants, upstream_orders},
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = upstream_merchants)]
pub struct RegistrationRow {
    pub merchant_id: MerchantId,
    pub channel: String,
    pub state: RegistrationState,
    pub upstream_sub_merchant_id: Option<String>,
    pub detail: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Starts the registration of every approved merchant whose payments go to one of `upstreams`
/// (its own pay-in channel, or `default_channel` when it has none) and that has none yet.
/// Returns how many were started.
pub fn start_registrations(
    conn: &mut PgConnection,
    default_channel: &str,
    upstreams: &[&str],
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    use diesel::sql_types::{Array, Text, Timestamptz};
    Ok(diesel::sql_query(
        "INSERT INTO upstream_merchants (merchant_id, channel, state, next_attempt_at)
         SELECT m.id, COALESCE(m.pay_in_channel, $1), 'creating', $3
         FROM merchants m
         WHERE m.state = 'approved' AND COALESCE(m.pay_in_channel, $1) = ANY($2)
           AND NOT EXISTS (SELECT 1 FROM upstream_merchants u WHERE u.merchant_id = m.id)
         ON CONFLICT (merchant_id) DO NOTHING",
    )
    .bind::<Text, _>(default_channel)
    .bind::<Array<Text>, _>(upstreams)
    .bind::<Timestamptz, _>(now)
    .execute(conn)?)
}

/// Claims up to `limit` registrations due by `now`, moving their next attempt to `lease_until`,
/// so a node working on one is never joined by another.
pub fn claim_due_registrations(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<RegistrationRow>, StorageError> {
    use diesel::sql_types::{BigInt, Timestamptz};
    Ok(diesel::sql_query(
        "UPDATE upstream_merchants SET next_attempt_at = $2
         WHERE merchant_id IN (
             SELECT merchant_id FROM upstream_merchants
             WHERE state NOT IN ('ready', 'refused') AND next_attempt_at <= $1
             ORDER BY next_attempt_at
             LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING *",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(lease_until)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

pub fn find_registration(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
) -> Result<Option<RegistrationRow>, StorageError> {
    Ok(upstream_merchants::table.find(merchant_id).select(RegistrationRow::as_select()).first(conn).optional()?)
}

/// A registration's step: from `from` to `to`, with the upstream's id once it has given one.
pub struct RegistrationStep<'a> {
    pub from: RegistrationState,
    pub to: RegistrationState,
    pub upstream_sub_merchant_id: Option<&'a str>,
    pub detail: &'a str,
    pub next_attempt_at: DateTime<Utc>,
}

/// Applies the step if the registration is still in `from`; false if it moved on meanwhile.
/// Staying in the same state counts an attempt.
pub fn step_registration(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    step: &RegistrationStep<'_>,
) -> Result<bool, StorageError> {
    use upstream_merchants as u;
    // A step to another state starts its attempts afresh.
    let attempts = if step.from == step.to { "attempts + 1" } else { "0" };
    let updated = diesel::update(u::table.find(merchant_id).filter(u::state.eq(step.from)))
        .set((
            u::state.eq(step.to),
            step.upstream_sub_merchant_id.map(|id| u::upstream_sub_merchant_id.eq(id)),
            u::detail.eq(step.detail),
            u::attempts.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(attempts)),
            u::next_attempt_at.eq(step.next_attempt_at),
            u::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The merchant's pay-in channel as set on it (`None`: the platform's).
pub fn pay_in_channel(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Option<String>, StorageError> {
    Ok(merchants::table.find(merchant_id).select(merchants::pay_in_channel).first(conn).optional()?.flatten())
}

/// Sets (or clears) the channel that takes the merchant's payments; false if it was that already.
pub fn set_pay_in_channel(
    conn: &mut PgConnection,
    merchant_id: MerchantId,
    channel: Option<&str>,
) -> Result<bool, StorageError> {
    let updated = diesel::update(merchants::table.find(merchant_id))
        .filter(merchants::pay_in_channel.is_distinct_from(channel))
        .set(merchants::pay_in_channel.eq(channel))
        .execute(conn)?;
    Ok(updated == 1)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = upstream_orders)]
pub struct UpstreamOrderRow {
    pub order_id: OrderId,
    pub channel: String,
    pub state: UpstreamOrderState,
    pub upstream_trade_no: Option<String>,
    pub qr_code: Option<String>,
    pub detail: String,
    pub updated_at: DateTime<Utc>,
}

/// Notes that the order is being placed at `channel`, before the upstream is asked; an order
/// noted already keeps its row. Returns the row as it is.
pub fn note_placing(
    conn: &mut PgConnection,
    order_id: OrderId,
    channel: &str,
) -> Result<UpstreamOrderRow, StorageError> {
    use upstream_orders as u;
    diesel::insert_into(u::table)
        .values((u::order_id.eq(order_id), u::channel.eq(channel), u::state.eq(UpstreamOrderState::Placing)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(u::table.find(order_id).select(UpstreamOrderRow::as_select()).first(conn)?)
}

pub fn find_order(conn: &mut PgConnection, order_id: OrderId) -> Result<Option<UpstreamOrderRow>, StorageError> {
    Ok(upstream_orders::table.find(order_id).select(UpstreamOrderRow::as_select()).first(conn).optional()?)
}

/// The upstream placed the order: its number and cashier code. False if it was not `placing`.
pub fn mark_placed(
    conn: &mut PgConnection,
    order_id: OrderId,
    upstream_trade_no: &str,
    qr_code: &str,
) -> Result<bool, StorageError> {
    use upstream_orders as u;
    let updated = diesel::update(u::table.find(order_id).filter(u::state.eq(UpstreamOrderState::Placing)))
        .set((
            u::state.eq(UpstreamOrderState::Placed),
            u::upstream_trade_no.eq(upstream_trade_no),
            u::qr_code.eq(qr_code),
            u::detail.eq(""),
            u::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The upstream refused the order (or a `placing` one's outcome, `detail`, is noted again).
pub fn note_order(
    conn: &mut PgConnection,
    order_id: OrderId,
    to: UpstreamOrderState,
    detail: &str,
) -> Result<bool, StorageError> {
    use upstream_orders as u;
    let updated = diesel::update(u::table.find(order_id).filter(u::state.eq(UpstreamOrderState::Placing)))
        .set((u::state.eq(to), u::detail.eq(detail), u::updated_at.eq(diesel::dsl::now)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Orders still `placing` whose last word is older than `before`: the query job asks about them.
pub fn placing_before(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<UpstreamOrderRow>, StorageError> {
    use upstream_orders as u;
    Ok(u::table
        .filter(u::state.eq(UpstreamOrderState::Placing))
        .filter(u::updated_at.lt(before))
        .order(u::updated_at)
        .limit(limit)
        .select(UpstreamOrderRow::as_select())
        .load(conn)?)
}
