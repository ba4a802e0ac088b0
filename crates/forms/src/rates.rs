//! A merchant's or a rate plan's rates as the forms give them: three rates, or a plan's code, in
//! force from a time.
use chrono::{DateTime, Utc};
use domain::{Rate, Rates, onboarding::RatePlanCode};
use serde::{Deserialize, Serialize};

use crate::{text::present, time::parse_china_time};

/// The three rates as entered; each names itself in its error.
#[derive(Deserialize, Serialize, Debug, Clone, Default)]
pub struct RateFields {
    pub bank_commission_rate: Option<String>,
    pub pay_platform_rate: Option<String>,
    pub liquidator_commission_rate: Option<String>,
}

impl RateFields {
    /// The fields that show `rates`, as a form to edit them.
    pub fn of(rates: &Rates) -> RateFields {
        RateFields {
            bank_commission_rate: Some(rates.bank_commission().to_string()),
            pay_platform_rate: Some(rates.pay_platform().to_string()),
            liquidator_commission_rate: Some(rates.liquidator_commission().to_string()),
        }
    }

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

/// When new rates take effect; blank is `now`.
pub fn effective_from(text: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    parse_china_time(text, now).map_err(|error| format!("effective_from: {error}"))
}

/// `POST /admin/merchants/{id}/rates`: a plan, or the merchant's own three rates.
#[derive(Deserialize, Serialize, Debug, Clone, Default)]
pub struct MerchantRatesForm {
    pub rate_plan: Option<String>,
    #[serde(flatten)]
    pub rates: RateFields,
    pub effective_from: Option<String>,
}

/// What a merchant's rates form chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatesChoice {
    Plan(RatePlanCode),
    Own(Rates),
}

impl MerchantRatesForm {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<(RatesChoice, DateTime<Utc>), String> {
        let plan = present("rate_plan", self.rate_plan.clone(), 64).map_err(|error| error.to_string())?;
        let choice = match plan {
            Some(_) if self.rates.any() => return Err("give either a rate plan or own rates, not both".into()),
            Some(code) => RatesChoice::Plan(RatePlanCode::parse(&code).map_err(|error| format!("rate_plan: {error}"))?),
            None => RatesChoice::Own(self.rates.parse()?),
        };
        Ok((choice, effective_from(self.effective_from.as_deref(), now)?))
    }
}

/// `POST /admin/rate-plans`: a new plan, its first rates and when they take effect.
#[derive(Deserialize, Serialize, Debug, Clone, Default)]
pub struct PlanForm {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub rates: RateFields,
    pub effective_from: Option<String>,
}

impl PlanForm {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<(RatePlanCode, Rates, DateTime<Utc>), String> {
        let code = RatePlanCode::parse(&self.code).map_err(|error| format!("code: {error}"))?;
        Ok((code, self.rates.parse()?, effective_from(self.effective_from.as_deref(), now)?))
    }
}

/// `POST /admin/rate-plans/{code}/versions`: a plan's next rates.
#[derive(Deserialize, Serialize, Debug, Clone, Default)]
pub struct PlanVersionForm {
    #[serde(flatten)]
    pub rates: RateFields,
    pub effective_from: Option<String>,
}

impl PlanVersionForm {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<(Rates, DateTime<Utc>), String> {
        Ok((self.rates.parse()?, effective_from(self.effective_from.as_deref(), now)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(plan: &str, rates: [&str; 3]) -> MerchantRatesForm {
        let text = |text: &str| Some(text.to_string());
        MerchantRatesForm {
            rate_plan: text(plan),
            rates: RateFields {
                bank_commission_rate: text(rates[0]),
                pay_platform_rate: text(rates[1]),
                liquidator_commission_rate: text(rates[2]),
            },
            effective_from: None,
        }
    }

    #[test]
    fn a_plan_or_own_rates_never_both() {
        let now = Utc::now();
        let own = form("", ["0.002", "0.003", "0.001"]).parse(now).unwrap();
        let RatesChoice::Own(rates) = own.0 else { panic!("own rates expected: {own:?}") };
        assert_eq!(RateFields::of(&rates).parse(), Ok(rates));
        assert!(matches!(form("standard", ["", "", ""]).parse(now), Ok((RatesChoice::Plan(_), _))));
        assert!(form("standard", ["0.002", "", ""]).parse(now).is_err());
        let missing = form("", ["0.002", "", "0.001"]).parse(now).unwrap_err();
        assert!(missing.starts_with("pay_platform_rate"), "{missing}");
    }
}
