//! Admin subcommands of the binary: operators, merchants, apps. Each parses its input into domain
//! types, calls the same business functions as the console (audited as actor `cli`), and prints a
//! line for people or, with `--json`, one line of JSON for scripts.
use std::{io::BufRead, path::Path};

use anyhow::Context;
use domain::onboarding::{RawApplication, SignType};
use secrecy::SecretString;
use serde_json::json;
use storage::{
    Pool,
    audit::Actor,
    database::run_blocking,
    operators::{Role, Username},
};

use crate::{Settings, startup};

async fn pool(settings: &Settings) -> anyhow::Result<Pool> {
    startup::connect_database(settings).await
}

pub async fn create_operator(settings: Settings, username: &str, role: &str) -> anyhow::Result<()> {
    let username = Username::parse(username)?;
    let role =
        Role::parse(role).with_context(|| format!("unknown role {role:?}: use viewer, operator, finance or admin"))?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("could not read the password from standard input")?;
    let password =
        admin::password::NewPassword::parse(SecretString::from(line.trim_end_matches(['\r', '\n']).to_string()))?;
    let hash = tokio::task::spawn_blocking(move || password.hash()).await??;
    let pool = pool(&settings).await?;
    let operator =
        run_blocking(&pool, move |conn| admin::operators::create(conn, &Actor::cli(), &username, role, &hash)).await?;
    println!("created operator {} ({})", operator.username, operator.role);
    Ok(())
}

pub async fn rebuild_rollups(settings: Settings) -> anyhow::Result<()> {
    let pool = pool(&settings).await?;
    let calendar = settings.ledger.policy()?.calendar;
    let (rebuilt, summarized, differences) = run_blocking(&pool, move |conn| {
        let rebuilt = ledger::rollups::rebuild(conn)?;
        let summarized = ledger::rollups::summarize_final_days(conn, &calendar, chrono::Utc::now())?;
        Ok::<_, ledger::LedgerError>((rebuilt, summarized, ledger::rollups::differences(conn, 10)?))
    })
    .await?;
    println!(
        "rollups rebuilt: {} merchant-days of the ledger ({} merchant-weeks), {} of orders placed, {} final days summed",
        rebuilt.ledger_rows,
        rebuilt.week_rows,
        rebuilt.order_rows,
        summarized.len()
    );
    anyhow::ensure!(differences.is_empty(), "the rollups still differ from the ledger: {differences:?}");
    Ok(())
}

fn read_application(file: &Path) -> anyhow::Result<RawApplication> {
    let text = std::fs::read_to_string(file).with_context(|| format!("could not read {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a valid application", file.display()))
}

pub async fn create_merchant(
    settings: Settings,
    file: &Path,
    approve: bool,
    owner_app: Option<String>,
    json_output: bool,
) -> anyhow::Result<()> {
    let raw = read_application(file)?;
    let pool = pool(&settings).await?;
    let result = run_blocking(&pool, move |conn| -> Result<_, onboarding::OnboardingError> {
        let owner = match owner_app {
            Some(app_id) => Some(onboarding::credentials::find_app(conn, &app_id)?.id),
            None => None,
        };
        if approve {
            let approval = onboarding::applications::import_approved(conn, &Actor::cli(), &raw, owner)?;
            Ok((approval.merchant, Some(approval.app.app_id)))
        } else {
            Ok((onboarding::applications::create(conn, &Actor::cli(), &raw, owner, true)?, None))
        }
    })
    .await?;
    let (merchant, app_id) = result;
    if json_output {
        let line = json!({
            "merchant_id": merchant.id(),
            "state": merchant.state.as_str(),
            "sub_merchant_id": merchant.row.sub_merchant_id,
            "app_id": app_id,
        });
        println!("{line}");
    } else {
        println!(
            "created merchant {} ({}){}",
            merchant.id(),
            merchant.state.as_str(),
            merchant.row.sub_merchant_id.as_deref().map(|id| format!(" sub_merchant_id {id}")).unwrap_or_default()
        );
    }
    Ok(())
}

pub struct AppArguments {
    pub isv_name: Option<String>,
    pub merchant: Option<String>,
    pub public_key: Option<std::path::PathBuf>,
    pub sign_type: Option<String>,
    pub json: bool,
}

pub async fn create_app(settings: Settings, arguments: AppArguments) -> anyhow::Result<()> {
    let sign_type = match &arguments.sign_type {
        Some(text) => Some(SignType::parse(text).map_err(|error| anyhow::anyhow!("--sign-type: {error}"))?),
        None => None,
    };
    let key_text = match &arguments.public_key {
        Some(path) => {
            Some(std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?)
        }
        None => None,
    };
    let pool = pool(&settings).await?;
    let (isv_name, merchant) = (arguments.isv_name.clone(), arguments.merchant.clone());
    let (app, fingerprint) = run_blocking(&pool, move |conn| -> Result<_, onboarding::OnboardingError> {
        let actor = Actor::cli();
        let app = match (isv_name, merchant) {
            (Some(name), _) => {
                onboarding::credentials::create_isv_app(conn, &actor, &name, sign_type.unwrap_or_default())?
            }
            (None, Some(sub_merchant_id)) => {
                let merchant = storage::merchants::find_by_sub_merchant_id(conn, &sub_merchant_id)?
                    .ok_or(onboarding::OnboardingError::MerchantNotFound)?;
                let app = storage::apps::find_by_merchant(conn, merchant.id)?
                    .ok_or(onboarding::OnboardingError::AppNotFound)?;
                match sign_type {
                    Some(sign_type) => onboarding::credentials::set_sign_type(conn, &actor, app.id, sign_type)?,
                    None => app,
                }
            }
            (None, None) => return Err(onboarding::OnboardingError::AppNotFound),
        };
        let fingerprint = match key_text {
            Some(text) => Some(onboarding::credentials::add_key(conn, &actor, app.id, &text)?.fingerprint),
            None => None,
        };
        Ok((app, fingerprint))
    })
    .await?;
    if arguments.json {
        println!(
            "{}",
            json!({ "app_id": app.app_id, "kind": app.kind, "sign_type": app.sign_type, "key_fingerprint": fingerprint })
        );
    } else {
        println!(
            "app {} ({}, {}){}",
            app.app_id,
            app.kind,
            app.sign_type.as_str(),
            fingerprint.map(|f| format!(" key {f}")).unwrap_or_default()
        );
    }
    Ok(())
}
