//! `POST /admin/merchants/{id}/rates`: a merchant's next rates (a plan, or its own three rates),
//! in force from a given time. The form parsing is shared with the rate plans page.
use actix_web::{HttpResponse, http::StatusCode, web};
use chrono::{DateTime, Utc};
use domain::{MerchantId, Rate, Rates, onboarding::RatePlanCode};
use onboarding::rates::{self, NewRates};
use serde::Deserialize;
use storage::database::run_blocking;

use super::{
    detail::{self, Extras},
    present, refusal,
};
use crate::{
    ConsoleError, ConsoleState,
    auth::{ConsoleForm, Permission},
    render, view,
};

/// The three rates as entered; each names itself in its error.
#[derive(Deserialize)]
pub struct RateFields {
    pub bank_commission_rate: Option<String>,
    pub pay_platform_rate: Option<String>,
    pub liquidator_commission_rate: Option<String>,
}

impl RateFields {
    pub fn parse(&self) -> Result<Rates, String> {
        let rate = |name: &str, text: &Option<String>| {
            let text = text.as_deref().map(str::trim).unwrap_or_default();
            if text.is_empty() {
                return Err(format!("{name}: is required"));
            }
            Rate::parse(text).map_err(|error| format!("{name}: {error}"))
        };
        Rates::new(
            rate("bank_commission_rate", &self.bank_commission_rate)?,
            rate("pay_platform_rate", &self.pay_platform_rate)?,
            rate("liquidator_commission_rate", &self.liquidator_commission_rate)?,
        )
        .map_err(|error| error.to_string())
    }

    fn any(&self) -> bool {
        [&self.bank_commission_rate, &self.pay_platform_rate, &self.liquidator_commission_rate]
            .iter()
            .any(|text| text.as_deref().is_some_and(|text| !text.trim().is_empty()))
    }
}

pub fn effective_from(text: Option<&str>) -> Result<DateTime<Utc>, String> {
    view::parse_china_time(text).map_err(|error| format!("effective_from: {error}"))
}

#[derive(Deserialize)]
pub struct MerchantRatesForm {
    rate_plan: Option<String>,
    #[serde(flatten)]
    rates: RateFields,
    effective_from: Option<String>,
}

enum Choice {
    Plan(RatePlanCode),
    Own(Rates),
}

fn parse(form: &MerchantRatesForm) -> Result<(Choice, DateTime<Utc>), String> {
    let choice = match present("rate_plan", form.rate_plan.clone(), 64).map_err(|error| error.to_string())? {
        Some(_) if form.rates.any() => return Err("give either a rate plan or own rates, not both".into()),
        Some(code) => Choice::Plan(RatePlanCode::parse(&code).map_err(|error| format!("rate_plan: {error}"))?),
        None => Choice::Own(form.rates.parse()?),
    };
    Ok((choice, effective_from(form.effective_from.as_deref())?))
}

pub async fn set(
    id: web::Path<MerchantId>,
    posted: ConsoleForm<MerchantRatesForm>,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let ConsoleForm { session, form } = posted;
    session.require(Permission::ManageMerchants)?;
    let id = id.into_inner();
    let (choice, from) = match parse(&form) {
        Ok(parsed) => parsed,
        Err(message) => {
            return detail::render(&session, &state, id, Extras::alert(message), StatusCode::BAD_REQUEST).await;
        }
    };
    let actor = session.actor();
    let result = run_blocking(&state.pool, move |conn| {
        let new_rates = match &choice {
            Choice::Plan(code) => NewRates::Plan(code),
            Choice::Own(rates) => NewRates::Own(*rates),
        };
        rates::set_merchant_rates(conn, &actor, id, new_rates, from)
    })
    .await;
    match refusal(result)? {
        Ok(()) => Ok(render::see_other(&format!("/admin/merchants/{id}?notice=rates"))),
        Err(message) => detail::render(&session, &state, id, Extras::alert(message), StatusCode::BAD_REQUEST).await,
    }
}
