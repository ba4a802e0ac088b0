//! The demo's data: an admin, a rate plan, an ISV app and three approved sub-merchants it owns,
//! each with its own app and key pair (one signing with `RSA`, the others `RSA2`). Every step
//! looks for what an earlier run made first, so running the demo again reuses it.
use std::path::{Path, PathBuf};

use chrono::Utc;
use diesel::PgConnection;
use domain::onboarding::{RatePlanCode, RawApplication, SignType};
use onboarding::{OnboardingError, applications, credentials, rates};
use rand::{Rng, distributions::Alphanumeric};
use secrecy::SecretString;
use serde::Serialize;
use storage::{
    apps::{self, AppRow},
    audit::Actor,
    database::run_blocking,
    merchants,
    operators::{self as operator_rows, Role, Username},
};

use crate::{Application, keygen};

pub const ADMIN_USERNAME: &str = "admin";
const ISV_NAME: &str = "演示服务商 Demo ISV";
pub(super) const PLAN: &str = "standard";

fn actor() -> Actor {
    Actor { operator_id: None, name: "demo".into(), client_ip: None }
}

/// One demo sub-merchant: its application and how its app signs.
struct DemoMerchant {
    key_name: &'static str,
    sign_type: SignType,
    application: RawApplication,
}

fn text(value: &str) -> Option<String> {
    Some(value.to_string())
}

/// A demo merchant's application: the given names, the rest alike.
pub(super) fn demo_application(
    external_id: &str,
    legal: &str,
    short: &str,
    code: &str,
    category: &str,
) -> RawApplication {
    RawApplication {
        external_id: text(external_id),
        legal_name: text(legal),
        short_name: text(short),
        unified_social_credit_code: text(code),
        legal_representative: text("王五"),
        contact_name: text("赵六"),
        contact_mobile: text("13800138000"),
        contact_email: text("ops@example.com"),
        business_category: text(category),
        site_name: text("https://shop.example.com"),
        icp_filing_number: text("闽ICP备12345678号-1"),
        account_type: text("personal"),
        account_holder: text("王五"),
        bank_code: text("ICBC"),
        payout_schedule: text("daily"),
        ..RawApplication::default()
    }
}

fn merchants_to_seed() -> Vec<DemoMerchant> {
    let base = demo_application;
    let mut store = base("demo-001", "厦门演示便利店有限公司", "演示便利店", "91350200MA2Y0DEM1R", "retail");
    store.account_number = text("6222021000000001015");
    store.rate_plan = text(PLAN);
    let mut cafe = base("demo-002", "上海演示咖啡有限公司", "演示咖啡", "91310115MA1H0DEM27", "catering");
    cafe.account_number = text("6217002000000002024");
    cafe.bank_commission_rate = text("0.00050");
    cafe.pay_platform_rate = text("0.00300");
    cafe.liquidator_commission_rate = text("0.00200");
    let mut books = base("demo-003", "深圳演示书店有限公司", "演示书店", "91440300MA5G0DEM36", "e_commerce");
    books.account_type = text("corporate");
    books.account_holder = text("深圳演示书店有限公司");
    books.account_number = text("4000023009200181386");
    books.branch_name = text("中国工商银行深圳分行营业部");
    books.cnaps_code = text("102584002300");
    books.bank_commission_rate = text("0.00241");
    books.pay_platform_rate = text("0.01014");
    books.liquidator_commission_rate = text("0.00920");
    payout_weekly(&mut books);
    vec![
        DemoMerchant { key_name: "merchant1", sign_type: SignType::Rsa2, application: store },
        DemoMerchant { key_name: "merchant2", sign_type: SignType::Rsa, application: cafe },
        DemoMerchant { key_name: "merchant3", sign_type: SignType::Rsa2, application: books },
    ]
}

fn payout_weekly(application: &mut RawApplication) {
    application.payout_schedule = text("weekly");
    application.payout_weekday = text("5");
    application.payout_cutoff = text("17:00");
}

#[derive(Debug, Serialize)]
pub struct AppKeys {
    pub app_id: String,
    pub private_key_pem_path: PathBuf,
    pub sign_type: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Rates {
    pub bank_commission_rate: String,
    pub pay_platform_rate: String,
    pub liquidator_commission_rate: String,
}

#[derive(Debug, Serialize)]
pub struct SubMerchant {
    pub sub_merchant_id: String,
    pub app_id: String,
    pub private_key_pem_path: PathBuf,
    pub sign_type: String,
    pub rates: Rates,
}

pub struct Seeded {
    pub admin_password: String,
    pub isv_app: AppKeys,
    pub sub_merchants: Vec<SubMerchant>,
}

/// A key pair in `keys/`, generated the first time and reused afterwards.
fn key_pair(data_dir: &Path, name: &str) -> anyhow::Result<(PathBuf, String)> {
    let folder = data_dir.join("keys");
    let private_path = folder.join(format!("{name}_private_key.pem"));
    let public_path = folder.join(format!("{name}_public_key.pem"));
    if !(private_path.exists() && public_path.exists()) {
        keygen::write_key_pair(&folder, name, keygen::MIN_KEY_BITS)?;
    }
    Ok((std::path::absolute(&private_path)?, std::fs::read_to_string(&public_path)?))
}

/// Registers the key unless the app already has it.
fn ensure_key(conn: &mut PgConnection, app: &AppRow, public_pem: &str) -> Result<(), OnboardingError> {
    match credentials::add_key(conn, &actor(), app.id, public_pem) {
        Ok(_) | Err(OnboardingError::DuplicateKey) => Ok(()),
        Err(error) => Err(error),
    }
}

pub async fn seed(
    application: &Application,
    data_dir: &Path,
    payout_settings: payouts::Settings,
) -> anyhow::Result<Seeded> {
    let admin_password = seed_admin(application).await?;
    let isv_key = key_pair(data_dir, "isv")?;
    let merchant_keys: Vec<_> =
        merchants_to_seed().iter().map(|m| key_pair(data_dir, m.key_name)).collect::<anyhow::Result<_>>()?;
    let policy = application.ledger_policy();
    let (isv_app, sub_merchants) = run_blocking(application.pool(), move |conn| {
        seed_business(conn, &policy, &payout_settings, isv_key, merchant_keys)
    })
    .await?;
    Ok(Seeded { admin_password, isv_app, sub_merchants })
}

fn seed_business(
    conn: &mut PgConnection,
    policy: &ledger::settlement::Policy,
    payout_settings: &payouts::Settings,
    isv_key: (PathBuf, String),
    merchant_keys: Vec<(PathBuf, String)>,
) -> anyhow::Result<(AppKeys, Vec<SubMerchant>)> {
    let plan = RatePlanCode::parse(PLAN).map_err(|error| anyhow::anyhow!("{error}"))?;
    if storage::rates::find_plan_by_code(conn, PLAN)?.is_none() {
        let standard = domain::Rates::new(
            domain::Rate::parse("0.00030")?,
            domain::Rate::parse("0.00200")?,
            domain::Rate::parse("0.00100")?,
        )?;
        rates::create_plan(conn, &actor(), &plan, "标准费率 Standard", &standard, Utc::now())?;
        backdate_plan(conn)?;
    }
    let isv =
        match apps::list(conn, Some(domain::onboarding::AppKind::Isv))?.into_iter().find(|app| app.name == ISV_NAME) {
            Some(app) => app,
            None => credentials::create_isv_app(conn, &actor(), ISV_NAME, SignType::Rsa2)?,
        };
    ensure_key(conn, &isv, &isv_key.1)?;
    let mut seeded = Vec::new();
    for (merchant, (private_path, public_pem)) in merchants_to_seed().into_iter().zip(merchant_keys) {
        let external_id = merchant.application.external_id.clone().unwrap_or_default();
        let row = match merchants::find_by_external_id(conn, Some(isv.id), &external_id)? {
            Some(row) => row,
            None => {
                let row =
                    applications::import_approved(conn, &actor(), &merchant.application, Some(isv.id))?.merchant.row;
                backdate_rates(conn, row.id)?;
                row
            }
        };
        let app = apps::find_by_merchant(conn, row.id)?.ok_or(OnboardingError::AppNotFound)?;
        let app = credentials::set_sign_type(conn, &actor(), app.id, merchant.sign_type)?;
        ensure_key(conn, &app, &public_pem)?;
        let in_force =
            rates::in_force(conn, row.id, Utc::now())?.ok_or(OnboardingError::UnknownRatePlan(PLAN.into()))?;
        seeded.push(SubMerchant {
            sub_merchant_id: row.sub_merchant_id.unwrap_or_default(),
            app_id: app.app_id,
            private_key_pem_path: private_path,
            sign_type: app.sign_type.as_str().to_string(),
            rates: Rates {
                bank_commission_rate: in_force.rates.bank_commission().to_string(),
                pay_platform_rate: in_force.rates.pay_platform().to_string(),
                liquidator_commission_rate: in_force.rates.liquidator_commission().to_string(),
            },
        });
    }
    super::payouts::payees(conn, policy, &isv)?;
    super::orders::seed(conn, policy, &isv, &seeded)?;
    super::payouts::run(conn, policy, payout_settings, &isv)?;
    let isv_app =
        AppKeys { app_id: isv.app_id, private_key_pem_path: isv_key.0, sign_type: isv.sign_type.as_str().to_string() };
    Ok((isv_app, seeded))
}

/// The demo admin, with a fresh random password each run (created, or reset if it exists).
async fn seed_admin(application: &Application) -> anyhow::Result<String> {
    let password: String = rand::thread_rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect();
    let new_password = admin::password::NewPassword::parse(SecretString::from(password.clone()))?;
    let hash = tokio::task::spawn_blocking(move || new_password.hash()).await??;
    run_blocking(application.pool(), move |conn| -> anyhow::Result<()> {
        let username = Username::parse(ADMIN_USERNAME)?;
        match operator_rows::find_by_username(conn, username.as_str())? {
            None => {
                admin::operators::create(conn, &actor(), &username, Role::Admin, &hash)?;
            }
            Some(existing) => {
                admin::operators::reset_password(conn, &actor(), existing.id, &hash)?;
                if !existing.is_active() {
                    admin::operators::set_disabled(conn, &actor(), existing.id, false)?;
                }
                if existing.role != Role::Admin {
                    admin::operators::change_role(conn, &actor(), existing.id, Role::Admin)?;
                }
            }
        }
        Ok(())
    })
    .await?;
    Ok(password)
}

/// Makes the demo's rate plan take effect from the start of its history as well (an earlier
/// version with the same rates). Straight to storage, as [`backdate_rates`] explains.
fn backdate_plan(conn: &mut PgConnection) -> anyhow::Result<()> {
    let plan =
        storage::rates::find_plan_by_code(conn, PLAN)?.ok_or_else(|| anyhow::anyhow!("plan {PLAN} is missing"))?;
    let current = storage::rates::plan_versions(conn, plan.id)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("plan {PLAN} has no version"))?;
    storage::rates::insert_plan_version(conn, plan.id, current.rates(), super::orders::history_start(), "demo")?;
    Ok(())
}

/// Makes a newly seeded merchant's rates take effect from the start of the demo's history as well
/// (the same source, an earlier version), so its orders of past days are placed at their own time
/// under the rates then in force. Written straight to storage: no rule lets an operator back-date
/// rates, and only the demo's own history needs it.
pub(super) fn backdate_rates(conn: &mut PgConnection, merchant_id: domain::MerchantId) -> anyhow::Result<()> {
    let current = storage::rates::merchant_rate_history(conn, merchant_id)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("merchant {merchant_id} was approved without rates"))?;
    let source = match (current.rate_plan_id, current.own_rates()) {
        (Some(plan_id), _) => storage::rates::RateSource::Plan(plan_id),
        (None, Some(own)) => storage::rates::RateSource::Own(own),
        (None, None) => anyhow::bail!("merchant {merchant_id}'s rates follow neither a plan nor its own"),
    };
    storage::rates::insert_merchant_rates(conn, merchant_id, &source, super::orders::history_start(), "demo")?;
    Ok(())
}
