//! Onboarding against a real PostgreSQL (a fresh database per test) and the sandbox channel.
use channel::sandbox::Sandbox;
use chrono::{Duration, Utc};
use diesel::PgConnection;
use domain::{
    Amount, MerchantId, Rate, Rates,
    calendar::BusinessCalendar,
    onboarding::{ApplicationState, RatePlanCode, RawApplication, SignType, Transition},
    payouts::{
        fee::FeeRule,
        schedule::{Cadence, Schedule},
    },
};
use onboarding::{
    OnboardingError, applications, credentials,
    keys::KeyError,
    platform_key::{self, MasterKey},
    rates::{self, NewRates},
    verification::{self, Answer, SendOutcome},
};
use payouts::verification::Route;
use storage::{Pool, audit::Actor, micro_deposits::MicroDepositRow, testing::TestDatabase};

fn actor() -> Actor {
    Actor { operator_id: None, name: "tester".into(), client_ip: None }
}

/// A complete, valid application (real check characters, a Luhn-valid card).
pub fn application() -> RawApplication {
    onboarding::testing::application("isv-001")
}

fn pool(database: &TestDatabase) -> Pool {
    storage::connect(database.url(), 4).unwrap()
}

fn route() -> Route {
    Route { channel: "sandbox", calendar: BusinessCalendar::default() }
}

/// Hands the micro-deposit's payout to the sandbox and follows its outcome, as the server's
/// workers do (the payout's submit job, then the settled job).
async fn send(pool: &Pool, deposit: &MicroDepositRow) -> SendOutcome {
    let settings = payouts::Settings {
        weekends_are_payout_days: true,
        default_schedule: Schedule {
            cadence: Cadence::Manual,
            at: chrono::NaiveTime::MIN,
            minimum: Amount::from_fen(100),
            retained: Amount::ZERO,
            fee: FeeRule::Fixed(Amount::ZERO),
        },
        approval_above: Amount::from_fen(5_000_000),
        attention_after: Duration::hours(1),
        query_intervals_seconds: vec![60],
        run_batch: 100,
    };
    let payout_id = deposit.payout_id.expect("a micro-deposit is a payout");
    let calendar = BusinessCalendar::default();
    payouts::send::submit(
        pool,
        calendar,
        &settings,
        &channel::Registry::with_sandbox(std::sync::Arc::new(Sandbox::default())),
        payout_id,
    )
    .await
    .unwrap();
    verification::follow(&mut pool.get().unwrap(), payout_id).unwrap()
}

async fn verified(pool: &Pool, raw: RawApplication) -> MerchantId {
    let mut conn = pool.get().unwrap();
    let merchant = applications::create(&mut conn, &actor(), &raw, None, true).unwrap();
    let (_, deposit) = verification::start(&mut conn, &actor(), merchant.id(), route()).unwrap();
    drop(conn);
    assert_eq!(send(pool, &deposit).await, SendOutcome::Sent);
    let mut conn = pool.get().unwrap();
    assert_eq!(verification::answer(&mut conn, &actor(), merchant.id(), deposit.amount_fen).unwrap(), Answer::Verified);
    merchant.id()
}

fn state(conn: &mut PgConnection, id: MerchantId) -> ApplicationState {
    applications::find(conn, id).unwrap().state
}

#[tokio::test]
async fn an_application_goes_from_submission_through_verification_to_approval() {
    let database = TestDatabase::new();
    let pool = pool(&database);
    let id = verified(&pool, application()).await;
    let mut conn = pool.get().unwrap();
    assert_eq!(state(&mut conn, id), ApplicationState::InReview);
    let approval = applications::approve(&mut conn, &actor(), id).unwrap();
    assert_eq!(approval.merchant.state, ApplicationState::Approved);
    assert_eq!(approval.sub_merchant_id.as_ref().len(), 20);
    let deposit = &verification::history(&mut conn, id).unwrap()[0];
    assert_eq!(deposit.state.as_str(), "verified");
    assert!(deposit.sent_at.is_some() && deposit.finished_at.is_some(), "the send time survives the verification");
    assert_eq!(approval.merchant.row.sub_merchant_id.as_deref(), Some(approval.sub_merchant_id.as_ref()));
    assert_eq!(
        (approval.app.kind.as_str(), approval.app.app_id.len(), approval.app.sign_type.as_str()),
        ("merchant", 16, "RSA2")
    );
    let history: Vec<_> =
        storage::merchants::history(&mut conn, id).unwrap().into_iter().map(|h| h.to_state.as_str()).collect();
    assert_eq!(history, ["draft", "submitted", "verifying_account", "in_review", "approved"]);
}

#[test]
fn invalid_applications_name_every_bad_field_and_store_nothing() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let mut raw = application();
    raw.unified_social_credit_code = Some("91350100M000100Y44".into());
    raw.contact_mobile = Some("12345".into());
    raw.business_category = Some("gambling".into());
    let Err(OnboardingError::InvalidApplication(errors)) = applications::create(&mut conn, &actor(), &raw, None, true)
    else {
        panic!("refused")
    };
    let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
    assert_eq!(fields, ["unified_social_credit_code", "contact_mobile", "business_category"]);
    assert!(storage::merchants::list(&mut conn, &Default::default(), 10).unwrap().is_empty());
}

#[test]
fn external_ids_are_unique_per_owner_and_plans_must_exist() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    applications::create(&mut conn, &actor(), &application(), None, false).unwrap();
    assert!(matches!(
        applications::create(&mut conn, &actor(), &application(), None, false),
        Err(OnboardingError::DuplicateExternalId)
    ));
    let mut on_plan = application();
    on_plan.external_id = Some("isv-002".into());
    on_plan.bank_commission_rate = None;
    on_plan.pay_platform_rate = None;
    on_plan.liquidator_commission_rate = None;
    on_plan.rate_plan = Some("no_such_plan".into());
    assert!(matches!(
        applications::create(&mut conn, &actor(), &on_plan, None, false),
        Err(OnboardingError::UnknownRatePlan(_))
    ));
}

#[test]
fn illegal_transitions_change_nothing_and_reasons_are_required() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let draft = applications::create(&mut conn, &actor(), &application(), None, false).unwrap();
    assert!(matches!(
        applications::approve(&mut conn, &actor(), draft.id()),
        Err(OnboardingError::IllegalTransition(_))
    ));
    assert!(matches!(
        applications::transition(&mut conn, &actor(), draft.id(), Transition::Freeze, Some("why")),
        Err(OnboardingError::IllegalTransition(_))
    ));
    assert!(matches!(
        applications::transition(&mut conn, &actor(), draft.id(), Transition::Close, None),
        Err(OnboardingError::ReasonRequired)
    ));
    assert!(matches!(
        applications::transition(&mut conn, &actor(), draft.id(), Transition::Approve, None),
        Err(OnboardingError::InvalidField { .. })
    ));
    assert_eq!(state(&mut conn, draft.id()), ApplicationState::Draft);
    assert_eq!(storage::merchants::history(&mut conn, draft.id()).unwrap().len(), 1);

    applications::transition(&mut conn, &actor(), draft.id(), Transition::Submit, None).unwrap();
    applications::transition(&mut conn, &actor(), draft.id(), Transition::Close, Some("duplicate application"))
        .unwrap();
    assert_eq!(state(&mut conn, draft.id()), ApplicationState::Closed);
    assert!(matches!(
        applications::transition(&mut conn, &actor(), draft.id(), Transition::Close, Some("again")),
        Err(OnboardingError::IllegalTransition(_))
    ));
}

#[tokio::test]
async fn approved_merchants_freeze_unfreeze_and_close() {
    let database = TestDatabase::new();
    let pool = pool(&database);
    let id = verified(&pool, application()).await;
    let mut conn = pool.get().unwrap();
    applications::approve(&mut conn, &actor(), id).unwrap();
    for (transition, expected) in [
        (Transition::Freeze, ApplicationState::Frozen),
        (Transition::Unfreeze, ApplicationState::Approved),
        (Transition::Close, ApplicationState::Closed),
    ] {
        applications::transition(&mut conn, &actor(), id, transition, Some("operator decision")).unwrap();
        assert_eq!(state(&mut conn, id), expected);
        assert_eq!(state(&mut conn, id).can_transact(), expected == ApplicationState::Approved);
    }
}

#[tokio::test]
async fn concurrent_approvals_assign_exactly_one_sub_merchant_id() {
    let database = TestDatabase::new();
    let pool = pool(&database);
    let id = verified(&pool, application()).await;
    let approvers: Vec<_> = (0..8)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                applications::approve(&mut pool.get().unwrap(), &actor(), id).map(|a| a.sub_merchant_id.to_string())
            })
        })
        .collect();
    let results: Vec<_> = approvers.into_iter().map(|t| t.join().unwrap()).collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(OnboardingError::IllegalTransition(_)))));
    let mut conn = pool.get().unwrap();
    assert_eq!(applications::find(&mut conn, id).unwrap().row.sub_merchant_id.as_deref(), Some(winners[0].as_str()));
    assert_eq!(storage::apps::list(&mut conn, Some(domain::onboarding::AppKind::Merchant)).unwrap().len(), 1);
}

#[tokio::test]
async fn three_wrong_answers_fail_the_verification() {
    let database = TestDatabase::new();
    let pool = pool(&database);
    let mut conn = pool.get().unwrap();
    let merchant = applications::create(&mut conn, &actor(), &application(), None, true).unwrap();
    let (_, deposit) = verification::start(&mut conn, &actor(), merchant.id(), route()).unwrap();
    let wrong = Amount::from_fen(if deposit.amount_fen.fen() == 1 { 2 } else { 1 });
    assert!(matches!(
        verification::answer(&mut conn, &actor(), merchant.id(), wrong),
        Err(OnboardingError::MicroDepositNotSent)
    ));
    drop(conn);
    assert_eq!(send(&pool, &deposit).await, SendOutcome::Sent);
    assert_eq!(send(&pool, &deposit).await, SendOutcome::AlreadyHandled, "sent once");
    let mut conn = pool.get().unwrap();
    assert_eq!(
        verification::answer(&mut conn, &actor(), merchant.id(), wrong).unwrap(),
        Answer::Wrong { remaining: 2 }
    );
    assert_eq!(
        verification::answer(&mut conn, &actor(), merchant.id(), wrong).unwrap(),
        Answer::Wrong { remaining: 1 }
    );
    assert_eq!(verification::answer(&mut conn, &actor(), merchant.id(), wrong).unwrap(), Answer::Failed);
    assert_eq!(state(&mut conn, merchant.id()), ApplicationState::Submitted);
    let last = storage::merchants::history(&mut conn, merchant.id()).unwrap().pop().unwrap();
    assert_eq!(last.reason.as_deref(), Some("three wrong micro-deposit answers"));
    // A new verification can start again from submitted.
    verification::start(&mut conn, &actor(), merchant.id(), route()).unwrap();
}

#[tokio::test]
async fn a_micro_deposit_the_bank_refuses_sends_the_application_back() {
    let database = TestDatabase::new();
    let pool = pool(&database);
    let mut raw = application();
    raw.account_number = Some("6222000000000004444".into());
    let mut conn = pool.get().unwrap();
    let merchant = applications::create(&mut conn, &actor(), &raw, None, true).unwrap();
    let (_, deposit) = verification::start(&mut conn, &actor(), merchant.id(), route()).unwrap();
    drop(conn);
    assert_eq!(send(&pool, &deposit).await, SendOutcome::Failed);
    let mut conn = pool.get().unwrap();
    assert_eq!(state(&mut conn, merchant.id()), ApplicationState::Submitted);
    // The platform paid nothing: the refused micro-deposit's expense was undone.
    let accounts = storage::ledger::accounts_of(&mut conn, merchant.id()).unwrap();
    assert!(accounts.iter().all(|account| account.balance_fen == Amount::ZERO), "{accounts:?}");
    let entries = storage::ledger::entries_of_payout(&mut conn, deposit.payout_id.unwrap()).unwrap();
    let kinds: Vec<_> = entries.iter().map(|entry| entry.kind.as_str()).collect();
    assert_eq!(kinds, ["verification_reserved", "verification_failed"]);
}

fn public_pem(bits: usize) -> String {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap();
    rsa::RsaPublicKey::from(&private).to_public_key_pem(LineEnding::LF).unwrap()
}

#[test]
fn apps_hold_at_most_two_active_keys_and_rotate() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let app = credentials::create_isv_app(&mut conn, &actor(), "Example ISV", SignType::Rsa).unwrap();
    assert_eq!(app.sign_type.as_str(), "RSA");
    let first = credentials::add_key(&mut conn, &actor(), app.id, &public_pem(2048)).unwrap();
    let second_pem = public_pem(2048);
    credentials::add_key(&mut conn, &actor(), app.id, &second_pem).unwrap();
    assert!(matches!(
        credentials::add_key(&mut conn, &actor(), app.id, &public_pem(2048)),
        Err(OnboardingError::TooManyActiveKeys)
    ));
    assert!(matches!(
        credentials::add_key(&mut conn, &actor(), app.id, &public_pem(1024)),
        Err(OnboardingError::Key(KeyError::TooShort { bits: 1024 }))
    ));
    assert!(matches!(
        credentials::add_key(&mut conn, &actor(), app.id, "garbage"),
        Err(OnboardingError::Key(KeyError::Malformed))
    ));
    credentials::revoke_key(&mut conn, &actor(), app.id, first.id).unwrap();
    assert!(matches!(
        credentials::add_key(&mut conn, &actor(), app.id, &second_pem),
        Err(OnboardingError::DuplicateKey)
    ));
    credentials::add_key(&mut conn, &actor(), app.id, &public_pem(2048)).unwrap();
    assert_eq!(storage::apps::active_keys(&mut conn, app.id).unwrap().len(), 2);
    assert_eq!(storage::apps::keys(&mut conn, app.id).unwrap().len(), 3, "revoked keys stay in the history");
}

fn rates(b: &str, p: &str, l: &str) -> Rates {
    Rates::new(Rate::parse(b).unwrap(), Rate::parse(p).unwrap(), Rate::parse(l).unwrap()).unwrap()
}

#[test]
fn rate_versions_take_effect_at_their_instant() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let code = RatePlanCode::parse("standard").unwrap();
    let now = Utc::now();
    rates::create_plan(&mut conn, &actor(), &code, "标准费率", &rates("0.00030", "0.00200", "0.00100"), now).unwrap();
    let mut raw = application();
    raw.bank_commission_rate = None;
    raw.pay_platform_rate = None;
    raw.liquidator_commission_rate = None;
    raw.rate_plan = Some("standard".into());
    let merchant = applications::create(&mut conn, &actor(), &raw, None, false).unwrap();

    let next_month = now + Duration::days(30);
    rates::add_plan_version(&mut conn, &actor(), &code, &rates("0.00030", "0.00200", "0.00300"), next_month).unwrap();
    let today = rates::in_force(&mut conn, merchant.id(), now + Duration::seconds(1)).unwrap().unwrap();
    assert_eq!(
        (today.rates.liquidator_commission().to_string(), today.plan.as_deref()),
        ("0.00100".into(), Some("standard"))
    );
    let later = rates::in_force(&mut conn, merchant.id(), next_month + Duration::seconds(1)).unwrap().unwrap();
    assert_eq!(later.rates.liquidator_commission().to_string(), "0.00300");

    let in_two_months = now + Duration::days(60);
    rates::set_merchant_rates(
        &mut conn,
        &actor(),
        merchant.id(),
        NewRates::Own(rates("0.00050", "0.00250", "0.00150")),
        in_two_months,
    )
    .unwrap();
    let own = rates::in_force(&mut conn, merchant.id(), in_two_months).unwrap().unwrap();
    assert_eq!((own.rates.bank_commission().to_string(), own.plan), ("0.00050".into(), None));
    assert_eq!(
        rates::in_force(&mut conn, merchant.id(), now - Duration::days(1)).unwrap().map(|r| r.plan),
        None,
        "nothing before creation"
    );
    assert!(matches!(
        rates::add_plan_version(&mut conn, &actor(), &code, &rates("0", "0", "0"), now - Duration::days(1)),
        Err(OnboardingError::EffectiveInPast)
    ));
    assert!(matches!(
        rates::create_plan(&mut conn, &actor(), &code, "again", &rates("0", "0", "0"), now),
        Err(OnboardingError::DuplicateRatePlan)
    ));
}

#[test]
fn the_platform_key_is_generated_once_and_needs_its_master_key() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let master = MasterKey::generate();
    let first = platform_key::load_or_create(&mut conn, &master).unwrap();
    let again = platform_key::load_or_create(&mut conn, &master).unwrap();
    assert_eq!(first.fingerprint, again.fingerprint);
    assert!(first.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(!first.public_key_base64.contains('\n'));
    assert!(matches!(
        platform_key::load_or_create(&mut conn, &MasterKey::generate()),
        Err(OnboardingError::PlatformKey(_))
    ));
    assert!(format!("{master:?}").contains("redacted"));
    assert!(MasterKey::from_base64(&master.to_base64()).is_ok());
    assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
}

#[test]
fn importing_walks_every_state_in_the_open() {
    let database = TestDatabase::new();
    let mut conn = database.connection();
    let approval = applications::import_approved(&mut conn, &actor(), &application(), None).unwrap();
    assert_eq!(approval.merchant.state, ApplicationState::Approved);
    let history = storage::merchants::history(&mut conn, approval.merchant.id()).unwrap();
    let steps: Vec<_> = history.iter().map(|h| (h.to_state.as_str(), h.reason.as_deref())).collect();
    assert_eq!(steps[2], ("verifying_account", Some(applications::IMPORT_REASON)));
    assert_eq!(steps[3], ("in_review", Some(applications::IMPORT_REASON)));
    assert_eq!(steps.last().unwrap().0, "approved");
    // A second import of the same external id is refused and leaves nothing half-done.
    assert!(matches!(
        applications::import_approved(&mut conn, &actor(), &application(), None),
        Err(OnboardingError::DuplicateExternalId)
    ));
    assert_eq!(storage::merchants::list(&mut conn, &Default::default(), 10).unwrap().len(), 1);
}
