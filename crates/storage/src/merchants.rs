//! Merchant rows: an application and, once approved, the sub-merchant. State changes are guarded
//! updates (`WHERE state = from`) recorded in `merchant_state_history`.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::onboarding::{AccountType, ApplicationState, HistoryStep};
use domain::{AppRowId, MerchantId};

use crate::{
    StorageError,
    schema::{merchant_state_history, merchants},
};

/// The application's fields as stored: canonical strings written by the onboarding crate.
#[derive(Debug, Clone, Insertable, AsChangeset, serde::Serialize)]
#[diesel(table_name = merchants, treat_none_as_null = true)]
pub struct MerchantFields {
    pub external_id: Option<String>,
    pub legal_name: String,
    pub short_name: String,
    pub unified_social_credit_code: String,
    pub legal_representative: String,
    pub contact_name: String,
    pub contact_mobile: String,
    pub contact_email: String,
    pub business_category: String,
    pub site_name: String,
    pub icp_filing_number: String,
    pub account_type: AccountType,
    pub account_holder: String,
    pub account_number: domain::onboarding::StoredAccountNumber,
    pub bank_code: String,
    pub branch_name: Option<String>,
    pub cnaps_code: Option<String>,
    pub payout_schedule: String,
    pub payout_weekday: Option<String>,
    pub payout_cutoff: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = merchants)]
pub struct MerchantRow {
    pub id: MerchantId,
    pub state: ApplicationState,
    pub sub_merchant_id: Option<String>,
    pub owner_app_id: Option<AppRowId>,
    pub external_id: Option<String>,
    pub legal_name: String,
    pub short_name: String,
    pub unified_social_credit_code: String,
    pub legal_representative: String,
    pub contact_name: String,
    pub contact_mobile: String,
    pub contact_email: String,
    pub business_category: String,
    pub site_name: String,
    pub icp_filing_number: String,
    pub account_type: AccountType,
    pub account_holder: String,
    pub account_number: domain::onboarding::StoredAccountNumber,
    pub bank_code: String,
    pub branch_name: Option<String>,
    pub cnaps_code: Option<String>,
    pub payout_schedule: String,
    pub payout_weekday: Option<String>,
    pub payout_cutoff: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// T+N: business days before a day's payments become available.
    pub settlement_days: i16,
    /// Where its scheduled payouts' results are told, if anywhere.
    pub payout_notify_url: Option<String>,
    /// The channel its payouts go through; `None`: the platform's.
    pub payout_channel: Option<String>,
    /// The channel that takes its payments; `None`: the platform's.
    pub pay_in_channel: Option<String>,
}

/// Sets (or clears) the channel the merchant's payouts go through; false if it was that already.
pub fn set_payout_channel(
    conn: &mut PgConnection,
    id: MerchantId,
    channel: Option<&str>,
) -> Result<bool, StorageError> {
    let updated = diesel::update(merchants::table.find(id))
        .filter(merchants::payout_channel.is_distinct_from(channel))
        .set(merchants::payout_channel.eq(channel))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Sets (or clears) where the merchant's scheduled payouts' results are told; false if it was
/// that already.
pub fn set_payout_notify_url(conn: &mut PgConnection, id: MerchantId, url: Option<&str>) -> Result<bool, StorageError> {
    let updated = diesel::update(merchants::table.find(id))
        .filter(merchants::payout_notify_url.is_distinct_from(url))
        .set(merchants::payout_notify_url.eq(url))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn insert(
    conn: &mut PgConnection,
    fields: &MerchantFields,
    owner_app_id: Option<AppRowId>,
    state: ApplicationState,
) -> Result<MerchantRow, StorageError> {
    Ok(diesel::insert_into(merchants::table)
        .values((fields, merchants::owner_app_id.eq(owner_app_id), merchants::state.eq(state)))
        .returning(MerchantRow::as_returning())
        .get_result(conn)?)
}

pub fn find(conn: &mut PgConnection, id: MerchantId) -> Result<Option<MerchantRow>, StorageError> {
    Ok(merchants::table.find(id).select(MerchantRow::as_select()).first(conn).optional()?)
}

/// The merchants with these ids (those that exist), in one query.
pub fn find_many(conn: &mut PgConnection, ids: &[MerchantId]) -> Result<Vec<MerchantRow>, StorageError> {
    Ok(merchants::table.filter(merchants::id.eq_any(ids)).select(MerchantRow::as_select()).load(conn)?)
}

/// Locks the row until the transaction ends: every state change reads what it then updates.
pub fn find_for_update(conn: &mut PgConnection, id: MerchantId) -> Result<Option<MerchantRow>, StorageError> {
    Ok(merchants::table.find(id).select(MerchantRow::as_select()).for_update().first(conn).optional()?)
}

pub fn find_by_sub_merchant_id(
    conn: &mut PgConnection,
    sub_merchant_id: &str,
) -> Result<Option<MerchantRow>, StorageError> {
    Ok(merchants::table
        .filter(merchants::sub_merchant_id.eq(sub_merchant_id))
        .select(MerchantRow::as_select())
        .first(conn)
        .optional()?)
}

/// Only what decides whether an app may place orders for a merchant: no names, no bank account,
/// so it may be kept in memory (the gateway's merchant cache).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = merchants)]
pub struct TradingRow {
    pub id: MerchantId,
    pub state: ApplicationState,
    pub owner_app_id: Option<AppRowId>,
}

pub fn find_trading_by_sub_merchant_id(
    conn: &mut PgConnection,
    sub_merchant_id: &str,
) -> Result<Option<TradingRow>, StorageError> {
    Ok(merchants::table
        .filter(merchants::sub_merchant_id.eq(sub_merchant_id))
        .select(TradingRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_external_id(
    conn: &mut PgConnection,
    owner_app_id: Option<AppRowId>,
    external_id: &str,
) -> Result<Option<MerchantRow>, StorageError> {
    let query =
        merchants::table.filter(merchants::external_id.eq(external_id)).select(MerchantRow::as_select()).into_boxed();
    let query = match owner_app_id {
        Some(owner) => query.filter(merchants::owner_app_id.eq(owner)),
        None => query.filter(merchants::owner_app_id.is_null()),
    };
    Ok(query.first(conn).optional()?)
}

/// Moves `id` from `from` to `to` only if it is still in `from`. Returns false when another
/// transaction changed it first.
pub fn set_state(
    conn: &mut PgConnection,
    id: MerchantId,
    from: ApplicationState,
    to: ApplicationState,
) -> Result<bool, StorageError> {
    let updated = diesel::update(merchants::table.find(id).filter(merchants::state.eq(from)))
        .set(merchants::state.eq(to))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The approval itself: state and the new sub-merchant id in one guarded update.
pub fn approve(
    conn: &mut PgConnection,
    id: MerchantId,
    from: ApplicationState,
    sub_merchant_id: &str,
) -> Result<bool, StorageError> {
    let updated = diesel::update(merchants::table.find(id).filter(merchants::state.eq(from)))
        .set((
            merchants::state.eq(ApplicationState::Approved),
            merchants::sub_merchant_id.eq(sub_merchant_id),
            merchants::approved_at.eq(crate::database::db_now()),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Replaces the application's fields (only while it is a draft: guarded).
pub fn update_fields(
    conn: &mut PgConnection,
    id: MerchantId,
    state: ApplicationState,
    fields: &MerchantFields,
) -> Result<bool, StorageError> {
    let updated =
        diesel::update(merchants::table.find(id).filter(merchants::state.eq(state))).set(fields).execute(conn)?;
    Ok(updated == 1)
}

pub struct HistoryEntry<'a> {
    pub merchant_id: MerchantId,
    pub from_state: Option<ApplicationState>,
    pub to_state: ApplicationState,
    pub step: HistoryStep,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
}

pub fn record_history(conn: &mut PgConnection, entry: HistoryEntry<'_>) -> Result<(), StorageError> {
    diesel::insert_into(merchant_state_history::table)
        .values((
            merchant_state_history::merchant_id.eq(entry.merchant_id),
            merchant_state_history::from_state.eq(entry.from_state),
            merchant_state_history::to_state.eq(entry.to_state),
            merchant_state_history::transition.eq(entry.step),
            merchant_state_history::actor.eq(entry.actor),
            merchant_state_history::reason.eq(entry.reason),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = merchant_state_history)]
pub struct HistoryRow {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub from_state: Option<ApplicationState>,
    pub to_state: ApplicationState,
    pub transition: HistoryStep,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

pub fn history(conn: &mut PgConnection, merchant_id: MerchantId) -> Result<Vec<HistoryRow>, StorageError> {
    Ok(merchant_state_history::table
        .filter(merchant_state_history::merchant_id.eq(merchant_id))
        .order(merchant_state_history::id.asc())
        .select(HistoryRow::as_select())
        .load(conn)?)
}

/// Filters of the applications list; `before_id` is the keyset cursor (newest first).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<ApplicationState>,
    /// Matches legal or short name, sub-merchant id, external id or credit code.
    pub search: Option<String>,
    pub owner_app_id: Option<AppRowId>,
    pub before_id: Option<i64>,
}

pub fn list(conn: &mut PgConnection, filter: &Filter, limit: i64) -> Result<Vec<MerchantRow>, StorageError> {
    let mut query = merchants::table.select(MerchantRow::as_select()).into_boxed();
    if let Some(state) = filter.state {
        query = query.filter(merchants::state.eq(state));
    }
    if let Some(owner) = filter.owner_app_id {
        query = query.filter(merchants::owner_app_id.eq(owner));
    }
    if let Some(search) = &filter.search {
        let pattern = format!("%{}%", crate::audit::escape_like(search));
        query = query.filter(
            merchants::legal_name
                .ilike(pattern.clone())
                .or(merchants::short_name.ilike(pattern.clone()))
                .or(merchants::sub_merchant_id.eq(search))
                .or(merchants::external_id.eq(search))
                .or(merchants::unified_social_credit_code.eq(search.to_ascii_uppercase())),
        );
    }
    if let Some(before) = filter.before_id {
        query = query.filter(merchants::id.lt(before));
    }
    Ok(query.order(merchants::id.desc()).limit(limit).load(conn)?)
}

/// How many merchants are in each state (dashboard and list tabs).
pub fn count_by_state(conn: &mut PgConnection) -> Result<Vec<(ApplicationState, i64)>, StorageError> {
    Ok(merchants::table.group_by(merchants::state).select((merchants::state, diesel::dsl::count_star())).load(conn)?)
}

/// Sets a merchant's T+N; returns the value it had, or `None` if the merchant does not exist.
pub fn set_settlement_days(conn: &mut PgConnection, id: MerchantId, days: i16) -> Result<Option<i16>, StorageError> {
    let Some(before) =
        merchants::table.find(id).select(merchants::settlement_days).for_update().first(conn).optional()?
    else {
        return Ok(None);
    };
    diesel::update(merchants::table.find(id)).set(merchants::settlement_days.eq(days)).execute(conn)?;
    Ok(Some(before))
}
