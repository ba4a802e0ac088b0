//! `GET /admin/merchants/new` and `POST /admin/merchants`: the application form. An invalid
//! application comes back with what was entered and each field's problem next to it (400), and
//! nothing is stored.
use std::collections::HashMap;

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use domain::onboarding::{AccountType, ApplicationErrors, BusinessCategory, RawApplication};
use onboarding::{OnboardingError, applications};
use storage::{database::run_blocking, rates::PlanRow};

use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission, SignedIn},
    i18n::{Lang, MerchantLabels},
    pages::layout::{Chrome, Section},
    render,
};

#[derive(Template)]
#[template(path = "merchant_new.html")]
struct NewApplicationPage {
    chrome: Chrome,
    m: &'static MerchantLabels,
    groups: Vec<FieldGroup>,
    submit_now: bool,
    /// A problem that belongs to no single field.
    alert: Option<String>,
    has_errors: bool,
}

struct FieldGroup {
    title: &'static str,
    fields: Vec<Field>,
}

/// One input of the form. A field with choices is a select; otherwise a text input of
/// `input_type`.
struct Field {
    name: &'static str,
    label: &'static str,
    input_type: &'static str,
    value: String,
    choices: Vec<Choice>,
    required: bool,
    hint: Option<&'static str>,
    placeholder: &'static str,
    error: Option<String>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// What was entered, by field name, and what is wrong with it.
struct Entered<'a> {
    values: &'a HashMap<String, String>,
    errors: Option<&'a ApplicationErrors>,
}

impl Entered<'_> {
    fn field(&self, name: &'static str, label: &'static str, required: bool) -> Field {
        Field {
            name,
            label,
            input_type: "text",
            value: self.values.get(name).cloned().unwrap_or_default(),
            choices: Vec::new(),
            required,
            hint: None,
            placeholder: "",
            error: self.errors.and_then(|errors| errors.message_for(name)).map(str::to_string),
        }
    }

    fn select(&self, name: &'static str, label: &'static str, options: Vec<(String, String)>) -> Field {
        let mut field = self.field(name, label, true);
        field.choices =
            options.into_iter().map(|(value, label)| Choice { selected: value == field.value, value, label }).collect();
        field
    }
}

fn with(mut field: Field, hint: Option<&'static str>, placeholder: &'static str) -> Field {
    field.hint = hint;
    field.placeholder = placeholder;
    field
}

fn groups(lang: Lang, plans: &[PlanRow], entered: &Entered<'_>) -> Vec<FieldGroup> {
    let m = lang.labels().merchant;
    let blank = || (String::new(), "—".to_string());
    let categories = std::iter::once(blank())
        .chain(BusinessCategory::ALL.into_iter().map(|category| {
            let label = if lang == Lang::Zh { category.label_zh() } else { category.label_en() };
            (category.code().to_string(), label.to_string())
        }))
        .collect();
    let account_types = std::iter::once(blank())
        .chain(AccountType::ALL.into_iter().map(|kind| (kind.as_str().to_string(), m.account_type(kind).to_string())))
        .collect();
    let rate_plans = std::iter::once((String::new(), m.own_rates.to_string()))
        .chain(plans.iter().map(|plan| (plan.code.clone(), format!("{} · {}", plan.code, plan.name))))
        .collect();
    let schedules = ["daily", "weekly", "manual"]
        .into_iter()
        .map(|kind| (kind.to_string(), m.schedule(kind).to_string()))
        .collect();
    let weekdays = std::iter::once(blank())
        .chain(m.weekdays.iter().enumerate().map(|(index, day)| ((index + 1).to_string(), day.to_string())))
        .collect();
    let mut email = entered.field("contact_email", m.contact_email, true);
    email.input_type = "email";
    let mut mobile = entered.field("contact_mobile", m.contact_mobile, true);
    mobile.input_type = "tel";
    let mut weekday = entered.select("payout_weekday", m.payout_weekday, weekdays);
    weekday.required = false;
    weekday.hint = Some(m.weekday_hint);
    let mut rate_plan = entered.select("rate_plan", m.rate_plan, rate_plans);
    rate_plan.hint = Some(m.own_rates_hint);
    rate_plan.required = false;
    vec![
        FieldGroup {
            title: m.group_company,
            fields: vec![
                entered.field("legal_name", m.legal_name, true),
                entered.field("short_name", m.short_name, true),
                entered.field("unified_social_credit_code", m.credit_code, true),
                entered.field("legal_representative", m.legal_representative, true),
                entered.field("external_id", m.external_id, false),
            ],
        },
        FieldGroup {
            title: m.group_contact,
            fields: vec![entered.field("contact_name", m.contact_name, true), mobile, email],
        },
        FieldGroup {
            title: m.group_business,
            fields: vec![
                entered.select("business_category", m.business_category, categories),
                entered.field("site_name", m.site_name, true),
                with(entered.field("icp_filing_number", m.icp_filing_number, true), None, "闽ICP备12345678号-1"),
            ],
        },
        FieldGroup {
            title: m.group_account,
            fields: vec![
                entered.select("account_type", m.account_type, account_types),
                entered.field("account_holder", m.account_holder, true),
                entered.field("account_number", m.account_number, true),
                with(entered.field("bank_code", m.bank_code, true), None, "ICBC"),
                with(entered.field("branch_name", m.branch_name, false), Some(m.branch_hint), ""),
                with(entered.field("cnaps_code", m.cnaps_code, false), Some(m.branch_hint), ""),
            ],
        },
        FieldGroup {
            title: m.group_rates,
            fields: vec![
                rate_plan,
                with(entered.field("bank_commission_rate", m.bank_commission_rate, false), None, "0.00030"),
                with(entered.field("pay_platform_rate", m.pay_platform_rate, false), None, "0.00200"),
                with(entered.field("liquidator_commission_rate", m.liquidator_commission_rate, false), None, "0.00100"),
            ],
        },
        FieldGroup {
            title: m.group_payout,
            fields: vec![
                entered.select("payout_schedule", m.payout_schedule, schedules),
                weekday,
                with(entered.field("payout_cutoff", m.payout_cutoff, false), Some(m.cutoff_hint), "18:00"),
            ],
        },
    ]
}

async fn plans(state: &ConsoleState) -> Result<Vec<PlanRow>, ConsoleError> {
    run_blocking(&state.pool, |conn| Ok::<_, ConsoleError>(storage::rates::list_plans(conn)?)).await
}

fn page(
    session: &SignedIn,
    plans: &[PlanRow],
    values: &HashMap<String, String>,
    errors: Option<&ApplicationErrors>,
    alert: Option<String>,
    submit_now: bool,
) -> NewApplicationPage {
    let m = session.lang.labels().merchant;
    NewApplicationPage {
        chrome: Chrome::titled(session, Section::Merchants, m.new_application),
        m,
        groups: groups(session.lang, plans, &Entered { values, errors }),
        submit_now,
        has_errors: errors.is_some() || alert.is_some(),
        alert,
    }
}

pub async fn form(session: SignedIn, state: web::Data<ConsoleState>) -> Result<HttpResponse, ConsoleError> {
    session.require(Permission::ManageMerchants)?;
    let plans = plans(&state).await?;
    let defaults = HashMap::from([("payout_schedule".to_string(), "daily".to_string())]);
    render::page(&page(&session, &plans, &defaults, None, None, true))
}

/// The posted fields that make the application; anything else is refused, like a misspelt JSON
/// field would be.
fn raw_application(values: &HashMap<String, String>) -> Result<RawApplication, ConsoleError> {
    let fields: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "csrf_token" | "submit_now"))
        .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
        .collect();
    serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|error| ConsoleError::BadRequest(error.to_string()))
}

pub async fn create(
    posted: ConsoleForm<Vec<(String, String)>>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let values: HashMap<String, String> = form.into_iter().collect();
    let submit_now = values.contains_key("submit_now");
    let raw = raw_application(&values)?;
    let actor = session.actor();
    let created =
        run_blocking(&state.pool, move |conn| applications::create(conn, &actor, &raw, None, submit_now)).await;
    let (errors, alert) = match created {
        Ok(merchant) => return Ok(render::see_other(&format!("/admin/merchants/{}?notice=created", merchant.id()))),
        Err(OnboardingError::InvalidApplication(errors)) => (errors, None),
        // Refusals that name a field are shown next to it, like the parse errors.
        Err(error @ OnboardingError::DuplicateExternalId) => (field_error("external_id", &error), None),
        Err(error @ OnboardingError::UnknownRatePlan(_)) => (field_error("rate_plan", &error), None),
        Err(error) => match ConsoleError::from(error) {
            ConsoleError::BadRequest(message) => (ApplicationErrors(Vec::new()), Some(message)),
            other => return Err(other),
        },
    };
    let plans = plans(&state).await?;
    render::page_with_status(
        &page(&session, &plans, &values, Some(&errors), alert, submit_now),
        StatusCode::BAD_REQUEST,
    )
}

fn field_error(field: &'static str, error: &OnboardingError) -> ApplicationErrors {
    ApplicationErrors(vec![domain::onboarding::FieldError { field, message: error.to_string() }])
}
