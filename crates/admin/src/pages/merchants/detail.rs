//! `GET /admin/merchants/{id}`: one application or merchant. Details with the account number,
//! credit code and mobile masked for everyone; the state history; the review actions that are
//! legal now and that the role allows; micro-deposit attempts (amounts for admins only);
//! credentials once approved; rates in force and their history; its ledger balances.
//!
//! The page is built from a view model that never holds a secret it does not show: masking
//! happens before the template sees anything (see `profile`).
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::Utc;
use domain::onboarding::{ApplicationState, DepositState, SignType, Transition};
use domain::{AppKeyId, MerchantId};
use onboarding::reveal::Revealed;
use onboarding::{
    OnboardingError,
    applications::{self, Merchant},
    rates::RatesInForce,
    verification,
};
use serde::Deserialize;
use storage::{
    apps::{self, AppRow, KeyRow},
    database::run_blocking,
    ledger::{self as ledger_rows, AccountRow},
    merchants::{self, HistoryRow},
    micro_deposits::MicroDepositRow,
    rates::{self as rate_rows, MerchantRatesRow, PlanRow, StoredRates},
};

use super::{
    StateBadge,
    payments::PaymentsPanel,
    payouts::PayoutPanel,
    profile::{self, Detail},
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{Permission, SignedIn},
    i18n::{Lang, MerchantLabels, PayoutLabels, UpstreamLabels},
    pages::{
        layout::{Chrome, Section},
        ledger::MerchantBalances,
    },
    render,
    view::{china_time, yuan},
};

/// While a micro-deposit is on its way the page reloads itself this often, so the answer form
/// appears without JavaScript.
const PENDING_REFRESH_SECONDS: u32 = 2;

#[derive(Template)]
#[template(path = "merchant.html")]
struct MerchantPage {
    chrome: Chrome,
    m: &'static MerchantLabels,
    id: MerchantId,
    state: StateBadge,
    notice: Option<String>,
    alert: Option<String>,
    revealed: bool,
    can_reveal: bool,
    details: Vec<Detail>,
    actions: Vec<Action>,
    history: Vec<HistoryView>,
    verification: VerificationView,
    credentials: Option<CredentialsView>,
    rates: RatesView,
    /// Once approved: its balances and a link to its statement.
    balances: Option<MerchantBalances>,
    /// T+N, and whether this operator may change it.
    settlement_days: i16,
    can_set_settlement_days: bool,
    /// Once approved: its payout schedule, stops and recent payouts.
    payouts: Option<PayoutPanel>,
    /// Once approved: the channel that takes its payments, and its registration upstream.
    payments: Option<PaymentsPanel>,
}

/// A review or management action: a small form posting to `path`.
struct Action {
    path: String,
    transition: &'static str,
    label: &'static str,
    reason: Reason,
    style: &'static str,
}

#[derive(PartialEq, Eq)]
enum Reason {
    None,
    Optional,
    Required,
}

struct HistoryView {
    at: String,
    actor: String,
    transition: String,
    from: Option<StateBadge>,
    to: StateBadge,
    reason: String,
}

struct VerificationView {
    attempts: Vec<DepositView>,
    show_amounts: bool,
    /// Verifying, and the micro-deposit has not been sent yet.
    pending: bool,
    can_answer: bool,
}

struct DepositView {
    created_at: String,
    state: String,
    wrong_answers: i32,
    sent_at: String,
    failure_reason: String,
    /// Only filled in for admins.
    amount: Option<String>,
}

struct CredentialsView {
    app_id: String,
    sign_type: &'static str,
    sign_types: [&'static str; 2],
    keys: Vec<KeyView>,
    key_text: String,
    can_manage: bool,
}

struct KeyView {
    id: AppKeyId,
    fingerprint: String,
    bits: i32,
    active: bool,
    created_at: String,
    created_by: String,
    revoked_at: String,
}

struct RatesView {
    in_force: Option<InForceView>,
    history: Vec<RateVersionView>,
    plans: Vec<(String, String)>,
    can_manage: bool,
}

struct InForceView {
    source: String,
    bank: String,
    platform: String,
    liquidator: String,
    effective_from: String,
}

struct RateVersionView {
    effective_from: String,
    source: String,
    /// Own rates; a plan's rates are on the rate plans page.
    rates: Option<[String; 3]>,
    created_by: String,
    status: &'static str,
    status_class: &'static str,
}

/// What a page render adds to the stored merchant: the outcome of the action just taken.
#[derive(Default)]
pub struct Extras {
    pub notice: Option<String>,
    pub alert: Option<String>,
    pub revealed: Option<Revealed>,
    pub key_text: String,
}

impl Extras {
    pub fn alert(message: String) -> Extras {
        Extras { alert: Some(message), ..Extras::default() }
    }
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
    remaining: Option<u8>,
}

fn notice_text(lang: Lang, query: NoticeQuery) -> Option<String> {
    let m = lang.labels().merchant;
    let text = match query.notice.as_deref()? {
        "created" => m.notice_created,
        "updated" => m.notice_updated,
        "verification_started" => m.notice_verification_started,
        "verified" => m.notice_verified,
        "wrong_answer" => return Some(format!("{} {}", m.notice_wrong_answer, query.remaining.unwrap_or(0))),
        "verification_failed" => m.notice_verification_failed,
        "approved" => m.notice_approved,
        "key_added" => m.notice_key_added,
        "key_revoked" => m.notice_key_revoked,
        "sign_type" => m.notice_sign_type,
        "rates" => m.notice_rates,
        "settlement_days" => m.notice_settlement_days,
        "payout_schedule" => PayoutLabels::of(lang).notice_schedule,
        "payout_channel" => PayoutLabels::of(lang).notice_channel,
        "pay_in_channel" => UpstreamLabels::of(lang).notice_channel,
        "upstream_asked" => UpstreamLabels::of(lang).notice_asked,
        "payout_hold" => PayoutLabels::of(lang).notice_hold,
        "payout_release" => PayoutLabels::of(lang).notice_release,
        "payout_confirm" => PayoutLabels::of(lang).notice_confirm,
        "payout_notify_url" => PayoutLabels::of(lang).notice_notify_url,
        _ => return None,
    };
    Some(text.to_string())
}

pub async fn show(
    session: SignedIn,
    state: web::Data<ConsoleState>,
    id: web::Path<MerchantId>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::Read)?;
    let notice = notice_text(session.lang, query.into_inner());
    render(&session, &state, id.into_inner(), Extras { notice, ..Extras::default() }, StatusCode::OK).await
}

/// Everything the page shows, read in one go.
struct Loaded {
    merchant: Merchant,
    history: Vec<HistoryRow>,
    deposits: Vec<MicroDepositRow>,
    app: Option<AppRow>,
    keys: Vec<KeyRow>,
    in_force: Option<RatesInForce>,
    rate_history: Vec<MerchantRatesRow>,
    plans: Vec<PlanRow>,
    accounts: Vec<AccountRow>,
    /// The merchant as payouts see it (its schedule's sources).
    payout_candidate: Option<storage::payouts::CandidateRow>,
    payout_stops: Vec<storage::payouts::StopRow>,
    recent_payouts: Vec<storage::payouts::PayoutRow>,
    registration: Option<storage::upstream::RegistrationRow>,
}

fn load(conn: &mut diesel::PgConnection, id: MerchantId) -> Result<Loaded, OnboardingError> {
    let merchant = applications::find(conn, id)?;
    let app = apps::find_by_merchant(conn, id)?;
    let keys = match &app {
        Some(app) => apps::keys(conn, app.id)?,
        None => Vec::new(),
    };
    Ok(Loaded {
        history: merchants::history(conn, id)?,
        deposits: verification::history(conn, id)?,
        in_force: onboarding::rates::in_force(conn, id, Utc::now())?,
        rate_history: rate_rows::merchant_rate_history(conn, id)?,
        plans: rate_rows::list_plans(conn)?,
        accounts: ledger_rows::accounts_of(conn, id)?,
        payout_candidate: storage::payouts::candidate(conn, id)?,
        payout_stops: storage::payouts::stops_of(conn, id)?,
        recent_payouts: storage::payouts::of_merchant(conn, id, RECENT_PAYOUTS)?,
        registration: storage::upstream::find_registration(conn, id)?,
        merchant,
        app,
        keys,
    })
}

/// Renders the merchant's page; POST handlers use it too, to show a refusal or a reveal in place.
pub async fn render(
    session: &SignedIn,
    state: &ConsoleState,
    id: MerchantId,
    extras: Extras,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let mut loaded = run_blocking(&state.pool, move |conn| load(conn, id)).await?;
    let panel = payout_panel(session, state, &mut loaded)?;
    let payments = loaded.merchant.row.sub_merchant_id.is_some().then(|| {
        let own = loaded.merchant.row.pay_in_channel.clone();
        PaymentsPanel::of(session, state, own, loaded.registration.take())
    });
    let mut page = build(session, loaded, extras, panel);
    page.payments = payments;
    render::page_with_status(&page, status)
}

/// Payouts shown on a merchant page.
const RECENT_PAYOUTS: i64 = 5;

/// The merchant's payouts panel, once it has a ledger (approved).
fn payout_panel(
    session: &SignedIn,
    state: &ConsoleState,
    loaded: &mut Loaded,
) -> Result<Option<PayoutPanel>, ConsoleError> {
    if loaded.merchant.row.sub_merchant_id.is_none() {
        return Ok(None);
    }
    let Some(candidate) = loaded.payout_candidate.take() else { return Ok(None) };
    let schedule = payouts::schedules::effective(&candidate, &state.payouts.default_schedule)
        .map_err(|error| ConsoleError::Internal(error.to_string()))?;
    Ok(Some(PayoutPanel::of(
        PayoutLabels::of(session.lang),
        schedule,
        std::mem::take(&mut loaded.payout_stops),
        std::mem::take(&mut loaded.recent_payouts),
        loaded.merchant.row.payout_notify_url.clone(),
        session.can(Permission::ManagePayouts),
        super::payouts::ChannelChoice {
            own: candidate.payout_channel.clone(),
            platform: state.channels.payouts().map(|channel| channel.name()),
            choices: state.channels.pay_outs().map(|channel| channel.name()).collect(),
            can_choose: session.can(Permission::Administer),
        },
    )))
}

fn build(session: &SignedIn, loaded: Loaded, extras: Extras, payouts: Option<PayoutPanel>) -> MerchantPage {
    let m = session.lang.labels().merchant;
    let Loaded { merchant, history, deposits, app, keys, in_force, rate_history, plans, accounts, .. } = loaded;
    let id = merchant.id();
    let current = merchant.state;
    let can_manage = session.can(Permission::ManageMerchants);
    let latest_deposit = deposits.first().map(|deposit| deposit.state);
    let verifying = current == ApplicationState::VerifyingAccount;
    let pending = verifying && latest_deposit == Some(DepositState::Pending);
    let mut chrome = Chrome::titled(session, Section::Merchants, format!("{} · #{id}", merchant.row.short_name));
    if pending {
        chrome.refresh_seconds = Some(PENDING_REFRESH_SECONDS);
    }
    let revealed = extras.revealed.is_some();
    MerchantPage {
        chrome,
        m,
        id,
        state: StateBadge::of(m, current),
        notice: extras.notice,
        alert: extras.alert,
        revealed,
        can_reveal: session.can(Permission::Administer),
        actions: actions(session, m, id, current),
        history: history.into_iter().map(|entry| history_view(m, entry)).collect(),
        verification: VerificationView {
            show_amounts: session.can(Permission::Administer),
            attempts: deposits.into_iter().map(|deposit| deposit_view(session, m, deposit)).collect(),
            pending,
            can_answer: verifying && can_manage && latest_deposit == Some(DepositState::Sent),
        },
        credentials: app.map(|app| CredentialsView {
            app_id: app.app_id,
            sign_type: app.sign_type.as_str(),
            sign_types: SignType::ALL.map(SignType::as_str),
            keys: keys.into_iter().map(key_view).collect(),
            key_text: extras.key_text,
            can_manage,
        }),
        rates: rates_view(m, in_force, rate_history, plans, can_manage),
        balances: MerchantBalances::of(merchant.row.sub_merchant_id.as_deref(), &accounts),
        settlement_days: merchant.row.settlement_days,
        can_set_settlement_days: session.can(Permission::ManagePayouts),
        details: profile::details(session.lang, merchant.row, extras.revealed),
        payouts,
        payments: None,
    }
}

fn actions(session: &SignedIn, m: &MerchantLabels, id: MerchantId, current: ApplicationState) -> Vec<Action> {
    current
        .transitions()
        .filter_map(|transition| {
            let permission =
                if transition == Transition::Close { Permission::Administer } else { Permission::ManageMerchants };
            if !session.can(permission) {
                return None;
            }
            let (route, reason, style) = match transition {
                Transition::Submit => ("transition", Reason::None, "primary"),
                Transition::StartVerification => ("verification", Reason::None, "primary"),
                Transition::Approve => ("approve", Reason::None, "primary"),
                Transition::RequestChanges => ("transition", Reason::Required, "secondary"),
                Transition::Reject | Transition::Freeze | Transition::Close => {
                    ("transition", Reason::Required, "danger")
                }
                Transition::Unfreeze => ("transition", Reason::Optional, "secondary"),
                // Taken by answering the micro-deposit, never by a button.
                Transition::AccountVerified | Transition::VerificationFailed => return None,
            };
            Some(Action {
                path: format!("/admin/merchants/{id}/{route}"),
                transition: transition.as_str(),
                label: m.transition(transition),
                reason,
                style,
            })
        })
        .collect()
}

fn history_view(m: &MerchantLabels, entry: HistoryRow) -> HistoryView {
    HistoryView {
        at: china_time(entry.at),
        transition: m.history_step(entry.transition).to_string(),
        from: entry.from_state.map(|state| StateBadge::of(m, state)),
        to: StateBadge::of(m, entry.to_state),
        actor: entry.actor,
        reason: entry.reason.unwrap_or_default(),
    }
}

fn deposit_view(session: &SignedIn, m: &MerchantLabels, deposit: MicroDepositRow) -> DepositView {
    DepositView {
        created_at: china_time(deposit.created_at),
        state: m.deposit_state(deposit.state).to_string(),
        wrong_answers: deposit.wrong_answers,
        sent_at: deposit.sent_at.map(china_time).unwrap_or_default(),
        failure_reason: deposit.failure_reason.unwrap_or_default(),
        // The amount proves the account; below admin it is never put on a page (issue 3).
        amount: session.can(Permission::Administer).then(|| yuan(deposit.amount_fen)),
    }
}

fn key_view(key: KeyRow) -> KeyView {
    KeyView {
        id: key.id,
        fingerprint: key.fingerprint,
        bits: key.bits,
        active: key.revoked_at.is_none(),
        created_at: china_time(key.created_at),
        created_by: key.created_by,
        revoked_at: key.revoked_at.map(china_time).unwrap_or_default(),
    }
}

fn rate_texts(rates: StoredRates) -> [String; 3] {
    [rates.bank_commission, rates.pay_platform, rates.liquidator_commission].map(|rate| format!("{rate:.5}"))
}

fn rates_view(
    m: &MerchantLabels,
    in_force: Option<RatesInForce>,
    history: Vec<MerchantRatesRow>,
    plans: Vec<PlanRow>,
    can_manage: bool,
) -> RatesView {
    let now = Utc::now();
    let plan_code = |plan_id: i64| {
        plans
            .iter()
            .find(|plan| plan.id == plan_id)
            .map(|plan| plan.code.clone())
            .unwrap_or_else(|| plan_id.to_string())
    };
    // Newest effective first: the first one already in effect is the one in force.
    let in_force_index = history.iter().position(|row| row.effective_from <= now);
    let history = history
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let (status, status_class) = match in_force_index {
                _ if row.effective_from > now => (m.scheduled, "scheduled"),
                Some(current) if current == index => (m.in_force, "in-force"),
                _ => (m.superseded, "superseded"),
            };
            RateVersionView {
                effective_from: china_time(row.effective_from),
                source: match row.rate_plan_id {
                    Some(plan_id) => plan_code(plan_id),
                    None => m.own_rates.to_string(),
                },
                rates: row.own_rates().map(rate_texts),
                created_by: row.created_by,
                status,
                status_class,
            }
        })
        .collect();
    RatesView {
        in_force: in_force.map(|current| InForceView {
            source: current.plan.unwrap_or_else(|| m.own_rates.to_string()),
            bank: current.rates.bank_commission().to_string(),
            platform: current.rates.pay_platform().to_string(),
            liquidator: current.rates.liquidator_commission().to_string(),
            effective_from: china_time(current.effective_from),
        }),
        history,
        plans: plans.into_iter().map(|plan| (plan.code, plan.name)).collect(),
        can_manage,
    }
}
