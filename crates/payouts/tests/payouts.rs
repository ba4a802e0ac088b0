//! Payout runs and payout orders against a real PostgreSQL (a fresh database per test) and the
//! sandbox channel: a run pays each due merchant once, with its reservation; every outcome the
//! channel can give is recorded once and booked; replays and reports out of order change nothing;
//! a payout marked submitted but never handed over is found and handed over under its own number.
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_trait::async_trait;
use channel::{ChannelError, PayOut, PayoutRequest, PayoutStatus, sandbox::Sandbox};
use chrono::{Duration, NaiveTime, Utc};
use diesel::PgConnection;
use domain::onboarding::{RatePlanCode, RawApplication};
use domain::{
    Amount, MerchantId,
    calendar::BusinessCalendar,
    ledger::AccountKind,
    payouts::{
        PayoutState, SkipReason, StopKind,
        calendar::PayoutCalendar,
        fee::FeeRule,
        schedule::{Cadence, Frequency, Schedule},
    },
};
use ledger::settlement::{self, Policy};
use orders::testing::{self, Shop};
use payouts::{
    Settings,
    outcome::{self, Outcome, Recorded},
    runs, send,
};
use storage::{
    Pool,
    payouts::{self as rows, RunRow, ScheduleRow},
    testing::TestDatabase,
};

fn ten() -> NaiveTime {
    NaiveTime::from_hms_opt(10, 0, 0).unwrap()
}

fn settings() -> Settings {
    Settings {
        weekends_are_payout_days: true,
        default_schedule: Schedule {
            cadence: Cadence::Daily,
            at: ten(),
            minimum: Amount::from_fen(100),
            retained: Amount::ZERO,
            fee: FeeRule::Fixed(Amount::from_fen(200)),
        },
        approval_above: Amount::from_fen(10_000_000),
        attention_after: Duration::hours(1),
        // Ask again at once: the tests drive the questions themselves.
        query_intervals_seconds: vec![0],
        run_batch: 2,
    }
}

/// Approved merchants, each with a card ending with its suffix (the sandbox's outcome rules read
/// it) and its total paid five days ago, then settled: available.
fn merchants_with_available(conn: &mut PgConnection, merchants: &[(&str, &str, i64)]) -> Vec<Shop> {
    let applications = merchants
        .iter()
        .map(|(external_id, suffix, total_fen)| {
            let mut raw = onboarding::testing::application(external_id);
            raw.account_number = Some(orders::testing::card_ending(suffix));
            (raw, *total_fen)
        })
        .collect();
    shops_with_available(conn, applications)
}

/// Approved merchants from these applications, each with its total paid five days ago, then
/// settled: available.
fn shops_with_available(conn: &mut PgConnection, applications: Vec<(RawApplication, i64)>) -> Vec<Shop> {
    let calendar = BusinessCalendar::default();
    let shops = applications
        .into_iter()
        .map(|(raw, total_fen)| {
            let shop = testing::shop_from(conn, &raw);
            let paid_at = Utc::now() - Duration::days(5);
            let external_id = raw.external_id.as_deref().expect("an external id");
            testing::paid(
                conn,
                &calendar,
                &shop,
                &format!("{}_PAID", external_id.replace('-', "_")),
                total_fen,
                paid_at,
            );
            shop
        })
        .collect();
    settlement::settle_due(conn, &Policy { calendar, require_reconciliation: false }, Utc::now(), 1_000)
        .expect("settled");
    shops
}

fn balance(conn: &mut PgConnection, merchant_id: MerchantId, kind: AccountKind) -> i64 {
    ledger::reports::merchant_balances(conn, merchant_id).expect("balances")[&kind].fen()
}

fn assert_ledger_balanced(conn: &mut PgConnection) {
    let trial = ledger::reports::trial_balance(conn).expect("trial balance");
    assert!(trial.is_balanced(), "{trial:?}");
}

/// Today's 10:00 run, made and worked through.
fn todays_run(conn: &mut PgConnection, settings: &Settings) -> RunRow {
    let calendar = PayoutCalendar::new(true, []);
    let now = Utc::now();
    let made = runs::create_due_runs(conn, settings, &calendar, now).expect("runs made");
    let run = match made.into_iter().find(|run| run.slot_time == ten()) {
        Some(run) => run,
        // Before 10:00 China time today's slot has not come; make it by hand.
        None => rows::insert_scheduled_run(conn, now.with_timezone(&domain::calendar::china()).date_naive(), ten())
            .expect("inserted")
            .expect("new"),
    };
    let progress = runs::work_through(conn, settings, &calendar, &BusinessCalendar::default(), &run, "sandbox")
        .expect("worked through");
    assert!(progress.complete);
    run
}

#[test]
fn a_run_pays_each_due_merchant_once_with_its_reservation() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let settings = settings();
    let mut shops = merchants_with_available(
        conn,
        &[
            ("m-paid", "2222", 100_000),
            ("m-held", "2222", 50_000),
            ("m-weekly", "2222", 50_000),
            ("m-small", "2222", 250),
        ],
    )
    .into_iter();
    let (paid, held, weekly, small) =
        (shops.next().unwrap(), shops.next().unwrap(), shops.next().unwrap(), shops.next().unwrap());
    rows::set_stop(conn, held.merchant_id, StopKind::Hold, "KYC review", "finn").unwrap();
    let not_today =
        (chrono::Datelike::weekday(&Utc::now().with_timezone(&domain::calendar::china())).num_days_from_monday() + 3)
            % 7
            + 1;
    rows::set_schedule(
        conn,
        &ScheduleRow {
            merchant_id: weekly.merchant_id,
            frequency: Frequency::Weekly,
            at_time: ten(),
            weekday: Some(i16::try_from(not_today).unwrap()),
            month_day: None,
            minimum_fen: Amount::from_fen(100),
            retained_fen: Amount::ZERO,
            fee_fixed_fen: Amount::ZERO,
            fee_rate: rust_decimal::Decimal::ZERO,
            fee_minimum_fen: Amount::ZERO,
            updated_by: "finn".into(),
        },
    )
    .unwrap();
    let available = balance(conn, paid.merchant_id, AccountKind::MerchantAvailable);
    assert!(available > 0);

    let run = todays_run(conn, &settings);
    let payouts = rows::of_run(conn, run.id).unwrap();
    assert_eq!(payouts.len(), 1, "{payouts:#?}");
    let payout = &payouts[0];
    assert_eq!((payout.merchant_id, payout.state), (paid.merchant_id, PayoutState::Created));
    assert_eq!((payout.amount_fen.fen(), payout.fee_fen.fen()), (available - 200, 200));
    assert_eq!(payout.out_trade_no, runs::out_trade_no(run.id, paid.merchant_id));
    assert_eq!(balance(conn, paid.merchant_id, AccountKind::MerchantAvailable), 0);
    assert_eq!(balance(conn, paid.merchant_id, AccountKind::MerchantPayoutInTransit), available - 200);
    assert_eq!(balance(conn, paid.merchant_id, AccountKind::PayoutFeeRevenue), 200);
    let skips: Vec<_> =
        rows::skips_of(conn, run.id).unwrap().into_iter().map(|skip| (skip.merchant_id, skip.reason)).collect();
    assert_eq!(skips, [(held.merchant_id, SkipReason::Held), (small.merchant_id, SkipReason::BelowMinimum)]);
    assert_eq!(jobs_of_kind(conn, "payouts.send"), 1, "the submit job was written with the payout");

    // The same slot again, from another node or after a restart: no second run, no second payout.
    let again = runs::create_due_runs(conn, &settings, &PayoutCalendar::new(true, []), Utc::now()).unwrap();
    assert!(again.iter().all(|made| made.slot_time != ten() || made.slot_date != run.slot_date));
    let progress = runs::work_through(
        conn,
        &settings,
        &PayoutCalendar::new(true, []),
        &BusinessCalendar::default(),
        &run,
        "sandbox",
    )
    .unwrap();
    assert_eq!((progress.payouts, progress.skipped), (0, 0));
    assert_eq!(rows::of_run(conn, run.id).unwrap().len(), 1);
    assert_ledger_balanced(conn);
}

/// A deployment whose one pay-out channel is `channel`.
fn registry(channel: Arc<dyn PayOut>) -> channel::Registry {
    let mut registry = channel::Registry::default();
    registry.add_pay_out(channel);
    registry
}

fn jobs_of_kind(conn: &mut PgConnection, kind: &str) -> i64 {
    use diesel::prelude::*;
    storage::schema::jobs::table.filter(storage::schema::jobs::kind.eq(kind)).count().get_result(conn).unwrap()
}

fn pool_of(database: &TestDatabase) -> Pool {
    storage::database::connect(database.url(), 4).expect("pool")
}

#[tokio::test]
async fn every_outcome_is_recorded_once_and_booked() {
    let database = TestDatabase::new();
    let pool = pool_of(&database);
    let settings = settings();
    let calendar = BusinessCalendar::default();
    let sandbox: Arc<dyn PayOut> = Arc::new(Sandbox::default());
    let suffixes = ["2222", "4444", "5555", "6666", "7777"];
    let (run, shops) = {
        let conn = &mut database.connection();
        let ids: Vec<String> = (0..suffixes.len()).map(|index| format!("m{index}")).collect();
        let merchants: Vec<(&str, &str, i64)> =
            ids.iter().zip(suffixes).map(|(id, suffix)| (id.as_str(), suffix, 100_000)).collect();
        let shops = merchants_with_available(conn, &merchants);
        (todays_run(conn, &settings), shops)
    };
    let conn = &mut database.connection();
    let payouts = rows::of_run(conn, run.id).unwrap();
    assert_eq!(payouts.len(), suffixes.len());
    for payout in &payouts {
        send::submit(&pool, calendar, &settings, &registry(sandbox.clone()), payout.id).await.expect("submitted");
    }
    let state_of = |conn: &mut PgConnection, shop: &Shop| {
        let payout =
            rows::of_run(conn, run.id).unwrap().into_iter().find(|p| p.merchant_id == shop.merchant_id).unwrap();
        (payout.state, payout)
    };
    let (succeeded, paid) = state_of(conn, &shops[0]);
    assert_eq!(succeeded, PayoutState::Succeeded);
    assert_eq!(balance(conn, shops[0].merchant_id, AccountKind::ProviderReserve), -paid.amount_fen.fen());
    assert_eq!(balance(conn, shops[0].merchant_id, AccountKind::MerchantPayoutInTransit), 0);
    let (failed, refused) = state_of(conn, &shops[1]);
    assert_eq!(failed, PayoutState::Failed);
    assert_eq!(
        balance(conn, shops[1].merchant_id, AccountKind::MerchantAvailable),
        refused.amount_fen.fen() + refused.fee_fen.fen(),
        "the money and the fee are back"
    );
    assert_eq!(state_of(conn, &shops[2]).0, PayoutState::Submitted, "pending at the channel");
    assert!(state_of(conn, &shops[2]).1.channel_reference.is_some());
    let (returned, sent_back) = state_of(conn, &shops[3]);
    assert_eq!(returned, PayoutState::Returned);
    assert_eq!(balance(conn, shops[3].merchant_id, AccountKind::MerchantAvailable), sent_back.amount_fen.fen());
    assert!(
        rows::stops_of(conn, shops[3].merchant_id).unwrap().iter().any(|stop| stop.kind == StopKind::ReturnedAccount)
    );
    assert_eq!(state_of(conn, &shops[4]).0, PayoutState::Submitted, "a timeout: outcome unknown, still submitted");

    // Replays and reports out of order change nothing; a contradiction is flagged, not applied.
    let replay = Outcome::Succeeded { channel_reference: "SBX".into() };
    assert!(matches!(outcome::record(conn, &calendar, paid.id, &replay, "callback").unwrap(), Recorded::Unchanged(_)));
    assert!(
        matches!(outcome::record(conn, &calendar, sent_back.id, &replay, "callback").unwrap(), Recorded::Unchanged(_)),
        "FINI after REFU"
    );
    let late_failure = Outcome::Failed { reason: "CLOS".into() };
    assert!(matches!(
        outcome::record(conn, &calendar, paid.id, &late_failure, "callback").unwrap(),
        Recorded::Contradiction(_)
    ));
    assert!(rows::find(conn, paid.id).unwrap().unwrap().needs_attention);
    assert_eq!(rows::find(conn, paid.id).unwrap().unwrap().state, PayoutState::Succeeded);

    // The unknown one is asked about and found paid.
    let asked = send::query_due(&pool, calendar, &settings, &registry(sandbox.clone())).await.unwrap();
    assert_eq!(asked, 2, "the pending and the unknown payout");
    assert_eq!(state_of(conn, &shops[4]).0, PayoutState::Succeeded);
    assert_eq!(state_of(conn, &shops[2]).0, PayoutState::Submitted, "still pending");

    // The merchant whose payout came back is paused, so the next run skips it with the reason.
    let next = runs::manual_run(conn, &settings, &PayoutCalendar::new(true, []), &calendar, None, "olivia", "sandbox")
        .unwrap()
        .0;
    let paused: Vec<_> =
        rows::skips_of(conn, next.id).unwrap().into_iter().filter(|skip| skip.reason == SkipReason::Paused).collect();
    assert_eq!(paused.iter().map(|skip| skip.merchant_id).collect::<Vec<_>>(), [shops[3].merchant_id]);
    assert_ledger_balanced(conn);
}

/// A channel that loses the first payout it is handed (the request never arrives: a crash or a
/// network cut before the channel got it), then behaves.
struct LosesTheFirst {
    inner: Sandbox,
    lost: AtomicBool,
}

#[async_trait]
impl PayOut for LosesTheFirst {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        if !self.lost.swap(true, Ordering::SeqCst) {
            return Err(ChannelError::OutcomeUnknown("connection reset".into()));
        }
        self.inner.payout(request).await
    }

    async fn query_payout(&self, request: &PayoutRequest) -> Result<PayoutStatus, ChannelError> {
        self.inner.query_payout(request).await
    }

    fn parse_payout_callback(
        &self,
        fields: &[(String, String)],
    ) -> Result<channel::PayoutCallback, channel::CallbackError> {
        self.inner.parse_payout_callback(fields)
    }
}

#[tokio::test]
async fn a_payout_the_channel_never_got_is_handed_over_again_under_its_own_number() {
    let database = TestDatabase::new();
    let pool = pool_of(&database);
    let settings = settings();
    let calendar = BusinessCalendar::default();
    let losing = Arc::new(LosesTheFirst { inner: Sandbox::default(), lost: AtomicBool::new(false) });
    let channel: Arc<dyn PayOut> = losing.clone();
    let conn = &mut database.connection();
    let shop = merchants_with_available(conn, &[("m-lost", "2222", 100_000)]).remove(0);
    let run = todays_run(conn, &settings);
    let payout = rows::of_run(conn, run.id).unwrap().remove(0);
    send::submit(&pool, calendar, &settings, &registry(channel.clone()), payout.id).await.unwrap();
    assert_eq!(rows::find(conn, payout.id).unwrap().unwrap().state, PayoutState::Submitted, "unknown, never failed");
    assert_eq!(losing.inner.query_payout(&send::request(&payout, None).unwrap()).await, Err(ChannelError::NotFound));

    send::query_due(&pool, calendar, &settings, &registry(channel.clone())).await.unwrap();
    let done = rows::find(conn, payout.id).unwrap().unwrap();
    assert_eq!((done.state, done.out_trade_no.as_str()), (PayoutState::Succeeded, payout.out_trade_no.as_str()));
    assert_eq!(balance(conn, shop.merchant_id, AccountKind::ProviderReserve), -payout.amount_fen.fen());
    let history: Vec<_> = rows::events_of(conn, payout.id).unwrap().into_iter().map(|event| event.to_state).collect();
    assert_eq!(history, [PayoutState::Created, PayoutState::Submitted, PayoutState::Succeeded]);
    assert_ledger_balanced(conn);
}

/// A finance operator, as the console's actor for them.
fn operator(conn: &mut PgConnection, name: &str) -> storage::audit::Actor {
    let username = storage::operators::Username::parse(name).unwrap();
    let existing = storage::operators::find_by_username(conn, username.as_str()).unwrap();
    let row = match existing {
        Some(row) => row,
        None => storage::operators::insert(conn, &username, "-", storage::operators::Role::Finance).unwrap(),
    };
    storage::audit::Actor { operator_id: Some(row.id), name: name.into(), client_ip: None }
}

#[tokio::test]
async fn a_large_payout_waits_for_a_second_operator_who_neither_triggered_it_nor_changed_the_account() {
    use payouts::approval::{self, ApprovalError};
    let database = TestDatabase::new();
    let pool = pool_of(&database);
    let settings = Settings { approval_above: Amount::from_fen(10_000), ..settings() };
    let calendar = BusinessCalendar::default();
    let conn = &mut database.connection();
    let shops = merchants_with_available(conn, &[("m-big", "2222", 100_000), ("m-other", "2222", 100_000)]);
    let (olivia, finn, grace) = (operator(conn, "olivia"), operator(conn, "finn"), operator(conn, "grace"));
    // finn last changed the first merchant's bank account.
    let changed = storage::audit::NewEntry {
        action: "merchant.bank_account",
        target: format!("merchant:{}", shops[0].merchant_id),
        before: None,
        after: None,
    };
    storage::audit::record(conn, &finn, changed).unwrap();
    let (run, _) =
        runs::manual_run(conn, &settings, &PayoutCalendar::new(true, []), &calendar, None, "olivia", "sandbox")
            .unwrap();
    let payouts = rows::of_run(conn, run.id).unwrap();
    assert!(payouts.iter().all(|payout| payout.state == PayoutState::AwaitingApproval), "{payouts:#?}");
    assert_eq!(jobs_of_kind(conn, "payouts.send"), 0, "nothing goes to the channel before approval");
    let (big, other) = (&payouts[0], &payouts[1]);

    let refused = |result: Result<_, ApprovalError>| result.err().map(|error| error.to_string());
    assert_eq!(
        refused(approval::approve(conn, &calendar, &settings, &olivia, big.id)),
        Some(ApprovalError::SameAsTrigger.to_string())
    );
    assert_eq!(
        refused(approval::approve(conn, &calendar, &settings, &finn, big.id)),
        Some(ApprovalError::ChangedTheAccount.to_string())
    );
    assert!(matches!(approval::reject(conn, &calendar, &grace, other.id, "  "), Err(ApprovalError::ReasonRequired)));
    assert_eq!(
        rows::find(conn, big.id).unwrap().unwrap().state,
        PayoutState::AwaitingApproval,
        "refusals change nothing"
    );

    let approved = approval::approve(conn, &calendar, &settings, &grace, big.id).unwrap();
    assert_eq!(approved.state, PayoutState::Submitted);
    assert_eq!(jobs_of_kind(conn, "payouts.send"), 1);
    send::submit(&pool, calendar, &settings, &registry(Arc::new(Sandbox::default())), big.id).await.unwrap();
    assert_eq!(rows::find(conn, big.id).unwrap().unwrap().state, PayoutState::Succeeded);

    let rejected = approval::reject(conn, &calendar, &grace, other.id, "amount looks wrong").unwrap();
    assert_eq!(
        (rejected.state, rejected.failure_reason.as_deref()),
        (PayoutState::Rejected, Some("amount looks wrong"))
    );
    assert_eq!(
        balance(conn, shops[1].merchant_id, AccountKind::MerchantAvailable),
        rejected.amount_fen.fen() + rejected.fee_fen.fen(),
        "the money and the fee are back"
    );
    assert!(matches!(approval::approve(conn, &calendar, &settings, &grace, other.id), Err(ApprovalError::NotAwaiting)));
    let decisions: Vec<String> = storage::audit::list(conn, &Default::default(), 10)
        .unwrap()
        .into_iter()
        .filter(|entry| entry.action.starts_with("payout."))
        .map(|entry| format!("{} {}", entry.actor, entry.action))
        .collect();
    assert_eq!(decisions, ["grace payout.reject", "grace payout.approve"]);
    assert_ledger_balanced(conn);
}

#[test]
fn holds_and_returned_accounts_stop_payouts_until_an_operator_lets_them_go() {
    use payouts::stops::{self, StopError};
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let settings = settings();
    let calendar = BusinessCalendar::default();
    let shop = merchants_with_available(conn, &[("m-stop", "2222", 100_000)]).remove(0);
    let olivia = operator(conn, "olivia");
    let manual = |conn: &mut PgConnection| {
        runs::manual_run(
            conn,
            &settings,
            &PayoutCalendar::new(true, []),
            &calendar,
            Some(shop.merchant_id),
            "olivia",
            "sandbox",
        )
        .unwrap()
        .0
    };
    assert!(matches!(stops::hold(conn, &olivia, shop.merchant_id, " "), Err(StopError::ReasonRequired)));
    stops::hold(conn, &olivia, shop.merchant_id, "KYC review").unwrap();
    rows::set_stop(conn, shop.merchant_id, StopKind::ReturnedAccount, "payout PO1M1 returned", "channel:sandbox")
        .unwrap();
    let held = manual(conn);
    assert_eq!(rows::skips_of(conn, held.id).unwrap()[0].reason, SkipReason::Held);
    stops::release(conn, &olivia, shop.merchant_id).unwrap();
    assert!(matches!(stops::release(conn, &olivia, shop.merchant_id), Err(StopError::NotStopped)));
    let paused = manual(conn);
    assert_eq!(rows::skips_of(conn, paused.id).unwrap()[0].reason, SkipReason::Paused);
    stops::confirm_account(conn, &olivia, shop.merchant_id).unwrap();
    let paying = manual(conn);
    assert_eq!(rows::of_run(conn, paying.id).unwrap().len(), 1, "paid once the account is confirmed");
}

#[test]
fn no_run_is_made_on_a_holiday_and_a_make_up_saturday_pays() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let settings = Settings { weekends_are_payout_days: false, ..settings() };
    // A Friday that is a holiday, then a Saturday that is a make-up working day.
    let friday = chrono::NaiveDate::from_ymd_opt(2030, 10, 4).unwrap();
    let saturday = friday.succ_opt().unwrap();
    let calendar = PayoutCalendar::new(
        false,
        [
            (friday, domain::payouts::calendar::SpecialDay::Holiday),
            (saturday, domain::payouts::calendar::SpecialDay::WorkingDay),
        ],
    );
    let at = |date: chrono::NaiveDate| orders::testing::at(&format!("{date} 11:00"));
    assert!(runs::create_due_runs(conn, &settings, &calendar, at(friday)).unwrap().is_empty(), "a holiday");
    let made = runs::create_due_runs(conn, &settings, &calendar, at(saturday)).unwrap();
    assert_eq!(made.iter().map(|run| run.slot_date).collect::<Vec<_>>(), [saturday], "a make-up working day");
    let sunday = saturday.succ_opt().unwrap();
    assert!(runs::create_due_runs(conn, &settings, &calendar, at(sunday)).unwrap().is_empty(), "an ordinary Sunday");
}

#[test]
fn a_merchant_without_its_own_schedule_is_paid_on_its_declared_cadence_with_its_plans_defaults() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let settings = settings();
    let finance = operator(conn, "fiona");
    let gold = RatePlanCode::parse("gold").unwrap();
    let rate = |text| domain::Rate::parse(text).unwrap();
    let rates = domain::Rates::new(rate("0.00030"), rate("0.00200"), rate("0.00100")).unwrap();
    onboarding::rates::create_plan(conn, &finance, &gold, "Gold", &rates, Utc::now()).unwrap();
    let plan_defaults = Schedule {
        cadence: Cadence::Daily,
        at: ten(),
        minimum: Amount::from_fen(100),
        retained: Amount::from_fen(1_000),
        fee: FeeRule::Fixed(Amount::from_fen(50)),
    };
    payouts::schedules::set_plan_defaults(conn, &finance, &gold, &plan_defaults).unwrap();
    let today = Utc::now().with_timezone(&domain::calendar::china()).date_naive();
    let another_weekday = (chrono::Datelike::weekday(&today).succ().number_from_monday()).to_string();
    let application = |external_id: &str, schedule: &str, weekday: Option<&str>, plan: Option<&str>| {
        let mut raw = onboarding::testing::application(external_id);
        raw.payout_schedule = Some(schedule.into());
        raw.payout_weekday = weekday.map(str::to_string);
        if let Some(plan) = plan {
            raw.rate_plan = Some(plan.into());
            (raw.bank_commission_rate, raw.pay_platform_rate, raw.liquidator_commission_rate) = (None, None, None);
        }
        (raw, 100_000)
    };
    let shops = shops_with_available(
        conn,
        vec![
            application("on-plan", "daily", None, Some("gold")),
            application("own-rates", "daily", None, None),
            application("weekly-other-day", "weekly", Some(&another_weekday), Some("gold")),
            application("manual", "manual", None, None),
        ],
    );
    let (on_plan, own_rates) = (shops[0].merchant_id, shops[1].merchant_id);
    let available = |conn: &mut PgConnection, id| balance(conn, id, AccountKind::MerchantAvailable);
    let (plan_before, own_before) = (available(conn, on_plan), available(conn, own_rates));

    let run = todays_run(conn, &settings);

    let paid: Vec<_> = rows::of_run(conn, run.id)
        .unwrap()
        .into_iter()
        .map(|p| (p.merchant_id, p.amount_fen.fen(), p.fee_fen.fen()))
        .collect();
    assert_eq!(
        paid,
        vec![(on_plan, plan_before - 1_000 - 50, 50), (own_rates, own_before - 200, 200),],
        "the plan's retained amount and fee; the platform's fee for a merchant on its own rates; \
         none for the weekly merchant on another day nor the manual one"
    );
    assert!(rows::skips_of(conn, run.id).unwrap().is_empty(), "not due is not skipped");
    let (schedule, source) =
        payouts::schedules::effective_of(conn, shops[2].merchant_id, &settings.default_schedule).unwrap().unwrap();
    assert_eq!(source, payouts::schedules::Source::RatePlan);
    assert_eq!(schedule.fee, FeeRule::Fixed(Amount::from_fen(50)));
    assert!(matches!(schedule.cadence, Cadence::Weekly(_)), "{schedule:?}");

    assert!(payouts::schedules::remove_plan_defaults(conn, &finance, &gold).unwrap());
    let (_, source) = payouts::schedules::effective_of(conn, on_plan, &settings.default_schedule).unwrap().unwrap();
    assert_eq!(source, payouts::schedules::Source::Platform, "back to the platform's defaults");
    let filter = storage::audit::Filter { action: Some("rate_plan.payout_defaults".into()), ..Default::default() };
    assert_eq!(storage::audit::list(conn, &filter, 10).unwrap().len(), 2, "set and removed, both audited");
}
