//! What the gateway's onboarding methods rely on, against a real PostgreSQL: a create that is
//! idempotent on `external_id`, and replacing a settlement account only before it is verified.
use chrono::{Duration, Utc};
use diesel::PgConnection;
use domain::{
    AppRowId, Rate, Rates,
    onboarding::{ApplicationState, RawApplication, SignType},
};
use onboarding::{
    OnboardingError, applications,
    bank_account::{self, RawSettlementAccount},
    credentials,
    rates::{self, NewRates},
    replay,
};
use storage::{audit::Actor, testing::TestDatabase};

fn actor() -> Actor {
    Actor { operator_id: None, name: "app:test".into(), client_ip: None }
}

/// A complete, valid application (real check characters, a Luhn-valid card).
fn application(external_id: &str) -> RawApplication {
    onboarding::testing::application(external_id)
}

fn corporate_account() -> RawSettlementAccount {
    let text = |value: &str| Some(value.to_string());
    RawSettlementAccount {
        account_type: text("corporate"),
        account_holder: text("厦门示例科技有限公司"),
        account_number: text("3500 1234 5678 9012"),
        bank_code: text("ccb"),
        branch_name: text("中国建设银行厦门分行营业部"),
        cnaps_code: text("105393000011"),
    }
}

fn isv(conn: &mut PgConnection, name: &str) -> AppRowId {
    credentials::create_isv_app(conn, &Actor::cli(), name, SignType::Rsa2).unwrap().id
}

#[test]
fn a_create_is_made_once_per_external_id_of_each_isv() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let owner = isv(conn, "ISV one");
    let other = isv(conn, "ISV two");

    let first = replay::create_or_replay(conn, &actor(), &application("shop-1"), owner).unwrap();
    assert!(!first.replayed);
    assert_eq!(first.merchant.state, ApplicationState::Submitted);
    assert_eq!(first.merchant.row.owner_app_id, Some(owner));

    // The same application, spelt differently (spaces, a rate without its trailing zero).
    let mut same = application(" shop-1 ");
    same.bank_commission_rate = Some("0.0003".into());
    same.account_number = Some("6222 0212 3456 7890 128".into());
    let again = replay::create_or_replay(conn, &actor(), &same, owner).unwrap();
    assert!(again.replayed);
    assert_eq!(again.merchant.id(), first.merchant.id());

    // A later rate change is a version of its own: the original create still replays.
    let rates = Rates::new(Rate::parse("0.00030").unwrap(), Rate::parse("0.00200").unwrap(), Rate::ZERO).unwrap();
    rates::set_merchant_rates(conn, &actor(), first.merchant.id(), NewRates::Own(rates), Utc::now()).unwrap();
    assert!(replay::create_or_replay(conn, &actor(), &application("shop-1"), owner).unwrap().replayed);

    let mut different = application("shop-1");
    different.contact_mobile = Some("13900139000".into());
    assert!(matches!(
        replay::create_or_replay(conn, &actor(), &different, owner),
        Err(OnboardingError::DuplicateExternalId)
    ));
    let mut other_rates = application("shop-1");
    other_rates.liquidator_commission_rate = Some("0.00200".into());
    assert!(matches!(
        replay::create_or_replay(conn, &actor(), &other_rates, owner),
        Err(OnboardingError::DuplicateExternalId)
    ));

    // Another ISV's ids are its own.
    let theirs = replay::create_or_replay(conn, &actor(), &application("shop-1"), other).unwrap();
    assert!(!theirs.replayed);
    assert_ne!(theirs.merchant.id(), first.merchant.id());

    let mut anonymous = application("x");
    anonymous.external_id = None;
    assert!(matches!(
        replay::create_or_replay(conn, &actor(), &anonymous, owner),
        Err(OnboardingError::InvalidField { field: "external_id", .. })
    ));
    let mut invalid = application("shop-2");
    invalid.business_category = Some("gambling".into());
    match replay::create_or_replay(conn, &actor(), &invalid, owner) {
        Err(OnboardingError::InvalidApplication(errors)) => {
            assert!(errors.message_for("business_category").unwrap().contains("prohibited"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_settlement_account_is_parsed_with_the_rules_of_an_application() {
    let account = bank_account::parse(&corporate_account()).unwrap();
    assert_eq!(account.number().as_ref(), "3500123456789012");
    assert_eq!(account.bank_code().as_ref(), "CCB");

    let first_error = |change: fn(&mut RawSettlementAccount)| {
        let mut raw = corporate_account();
        change(&mut raw);
        let error = bank_account::parse(&raw).unwrap_err();
        (error.field, error.message)
    };
    assert_eq!(first_error(|raw| raw.cnaps_code = None).0, "cnaps_code");
    assert_eq!(first_error(|raw| raw.branch_name = Some("  ".into())).0, "branch_name");
    assert_eq!(first_error(|raw| raw.cnaps_code = Some("10539300001".into())).0, "cnaps_code");
    assert_eq!(first_error(|raw| raw.account_type = Some("savings".into())).0, "account_type");
    assert_eq!(first_error(|raw| raw.account_holder = None), ("account_holder", "is required".to_string()));
    assert_eq!(first_error(|raw| raw.account_number = Some("1234".into())).0, "account_number");
    assert_eq!(first_error(|raw| raw.bank_code = Some("中国".into())).0, "bank_code");
    // A personal card needs no branch, but its number must pass the Luhn check.
    let personal = |number: &str| RawSettlementAccount {
        account_type: Some("personal".into()),
        account_holder: Some("张三".into()),
        account_number: Some(number.into()),
        bank_code: Some("ICBC".into()),
        ..RawSettlementAccount::default()
    };
    assert!(bank_account::parse(&personal("6222021234567890128")).is_ok());
    assert_eq!(bank_account::parse(&personal("6222021234567890127")).unwrap_err().field, "account_number");
}

#[test]
fn an_account_is_replaced_only_before_verification_and_a_repeat_changes_nothing() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let owner = isv(conn, "ISV");
    let id = replay::create_or_replay(conn, &actor(), &application("shop-1"), owner).unwrap().merchant.id();
    let corporate = bank_account::parse(&corporate_account()).unwrap();

    let bound = bank_account::bind(conn, &actor(), id, &corporate, None).unwrap();
    assert!(bound.changed);
    assert_eq!(bound.merchant.state, ApplicationState::Submitted);
    assert_eq!(
        (bound.merchant.row.account_type.as_str(), bound.merchant.row.account_number.digits()),
        ("corporate", "3500123456789012")
    );
    assert_eq!(bound.merchant.row.cnaps_code.as_deref(), Some("105393000011"));
    assert!(!bank_account::bind(conn, &actor(), id, &corporate, None).unwrap().changed, "the same account again");

    let audit = storage::audit::list(
        conn,
        &storage::audit::Filter { action: Some("merchant.bank_account".into()), ..Default::default() },
        10,
    )
    .unwrap();
    assert_eq!(audit.len(), 1, "one entry: the repeat changed nothing");
    let logged = format!("{:?} {:?}", audit[0].before, audit[0].after);
    assert!(logged.contains("3500********9012") && !logged.contains("3500123456789012"), "{logged}");

    // Once the micro-deposit is on its way, the account is fixed; the same one still binds.
    let personal = bank_account::parse(&RawSettlementAccount {
        account_type: Some("personal".into()),
        account_holder: Some("张三".into()),
        account_number: Some("6222021234567890128".into()),
        bank_code: Some("ICBC".into()),
        ..RawSettlementAccount::default()
    })
    .unwrap();
    let route = payouts::verification::Route { channel: "sandbox", calendar: Default::default() };
    onboarding::verification::start(conn, &actor(), id, route).unwrap();
    match bank_account::bind(conn, &actor(), id, &personal, None) {
        Err(OnboardingError::WrongState(message)) => {
            assert!(message.contains("verifying_account"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!bank_account::bind(conn, &actor(), id, &corporate, None).unwrap().changed);
    assert_eq!(applications::find(conn, id).unwrap().row.account_number.digits(), "3500123456789012");
}

#[test]
fn an_approved_merchants_account_is_refused_but_its_own_account_binds() {
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let owner = isv(conn, "ISV");
    let approval = applications::import_approved(conn, &Actor::cli(), &application("shop-1"), Some(owner)).unwrap();
    let id = approval.merchant.id();
    let current = bank_account::parse(&RawSettlementAccount {
        account_type: Some("personal".into()),
        account_holder: Some("张三".into()),
        account_number: Some("6222021234567890128".into()),
        bank_code: Some("icbc".into()),
        ..RawSettlementAccount::default()
    })
    .unwrap();
    assert!(!bank_account::bind(conn, &actor(), id, &current, None).unwrap().changed);
    let corporate = bank_account::parse(&corporate_account()).unwrap();
    match bank_account::bind(conn, &actor(), id, &corporate, None) {
        Err(OnboardingError::WrongState(message)) => {
            assert!(message.contains("approved") && message.contains("micro-deposit"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(applications::find(conn, id).unwrap().row.account_type.as_str(), "personal");
    // A future rate version does not disturb a replay of the create either.
    let rates = Rates::new(Rate::ZERO, Rate::ZERO, Rate::ZERO).unwrap();
    rates::set_merchant_rates(conn, &actor(), id, NewRates::Own(rates), Utc::now() + Duration::hours(1)).unwrap();
    let replayed = replay::create_or_replay(conn, &actor(), &application("shop-1"), owner).unwrap();
    assert!(replayed.replayed && replayed.merchant.state == ApplicationState::Approved);
}
