//! A whole application parsed at once. Every field is checked even after one fails, so the
//! applicant sees every problem in one reply instead of fixing them one round trip at a time.

use crate::{Rate, Rates};

use super::bank::{AccountType, BankAccountNumber, BankCode, CnapsCode, SettlementAccount, SettlementAccountError};
use super::category::BusinessCategory;
use super::codes::{ExternalId, RatePlanCode};
use super::contact::{Email, MainlandMobile};
use super::credit_code::UnifiedSocialCreditCode;
use super::field_errors::{ApplicationErrors, Checker, REQUIRED, present};
use super::icp::IcpFilingNumber;
use super::raw::RawApplication;
use super::schedule::{PayoutSchedule, ScheduleError};
use super::text::{AccountHolder, BranchName, LegalName, PersonName, ShortName, SiteName};

/// A merchant's rates come from a named plan (费率模板) or are its own; never both, so there is
/// no question which one applies.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RateChoice {
    Plan(RatePlanCode),
    Own(Rates),
}

/// A complete, valid application. The fields are public because each is already valid on its
/// own and they constrain nothing across each other beyond what their types hold.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Application {
    pub external_id: Option<ExternalId>,
    pub legal_name: LegalName,
    pub short_name: ShortName,
    pub credit_code: UnifiedSocialCreditCode,
    pub legal_representative: PersonName,
    pub contact_name: PersonName,
    pub contact_mobile: MainlandMobile,
    pub contact_email: Email,
    pub business_category: BusinessCategory,
    pub site_name: SiteName,
    pub icp_filing_number: IcpFilingNumber,
    pub settlement_account: SettlementAccount,
    pub rates: RateChoice,
    pub payout_schedule: PayoutSchedule,
}

impl Application {
    /// Parses every field and reports every invalid one, not just the first. Blank text counts
    /// as absent, since that is what an untouched form input sends.
    pub fn parse(raw: &RawApplication) -> Result<Application, ApplicationErrors> {
        let mut check = Checker::default();
        let external_id = check.optional("external_id", &raw.external_id, ExternalId::parse);
        let legal_name = check.required("legal_name", &raw.legal_name, LegalName::parse);
        let short_name = check.required("short_name", &raw.short_name, ShortName::parse);
        let credit_code = check.required(
            "unified_social_credit_code",
            &raw.unified_social_credit_code,
            UnifiedSocialCreditCode::parse,
        );
        let legal_representative = check.required("legal_representative", &raw.legal_representative, PersonName::parse);
        let contact_name = check.required("contact_name", &raw.contact_name, PersonName::parse);
        let contact_mobile = check.required("contact_mobile", &raw.contact_mobile, MainlandMobile::parse);
        let contact_email = check.required("contact_email", &raw.contact_email, Email::parse);
        let business_category = check.required("business_category", &raw.business_category, BusinessCategory::parse);
        let site_name = check.required("site_name", &raw.site_name, SiteName::parse);
        let icp_filing_number = check.required("icp_filing_number", &raw.icp_filing_number, IcpFilingNumber::parse);
        let settlement_account = check.settlement_account(raw);
        let rates = check.rates(raw);
        let payout_schedule = check.payout_schedule(raw);

        let application = (|| {
            Some(Application {
                external_id: external_id?,
                legal_name: legal_name?,
                short_name: short_name?,
                credit_code: credit_code?,
                legal_representative: legal_representative?,
                contact_name: contact_name?,
                contact_mobile: contact_mobile?,
                contact_email: contact_email?,
                business_category: business_category?,
                site_name: site_name?,
                icp_filing_number: icp_filing_number?,
                settlement_account: settlement_account?,
                rates: rates?,
                payout_schedule: payout_schedule?,
            })
        })();
        // Every part that is None has recorded an error, so the errors are never empty here.
        match application {
            Some(application) if check.errors.is_empty() => Ok(application),
            _ => Err(ApplicationErrors(check.errors)),
        }
    }

    /// The application in raw form with canonical text (rates with five decimals, cutoff
    /// "HH:MM", weekday "1" to "7"), so storage can keep plain columns and `parse(to_raw())`
    /// gives back the same application.
    pub fn to_raw(&self) -> RawApplication {
        fn text(value: &impl AsRef<str>) -> Option<String> {
            Some(value.as_ref().to_owned())
        }
        let account = &self.settlement_account;
        let (rate_plan, own_rates) = match &self.rates {
            RateChoice::Plan(code) => (text(code), None),
            RateChoice::Own(rates) => (None, Some(rates)),
        };
        let own_rate = |rate: fn(&Rates) -> Rate| own_rates.map(|rates| rate(rates).to_string());
        RawApplication {
            external_id: self.external_id.as_ref().and_then(text),
            legal_name: text(&self.legal_name),
            short_name: text(&self.short_name),
            unified_social_credit_code: text(&self.credit_code),
            legal_representative: text(&self.legal_representative),
            contact_name: text(&self.contact_name),
            contact_mobile: text(&self.contact_mobile),
            contact_email: text(&self.contact_email),
            business_category: Some(self.business_category.code().to_owned()),
            site_name: text(&self.site_name),
            icp_filing_number: text(&self.icp_filing_number),
            account_type: Some(account.account_type().as_str().to_owned()),
            account_holder: text(account.holder()),
            account_number: text(account.number()),
            bank_code: text(account.bank_code()),
            branch_name: account.branch_name().and_then(text),
            cnaps_code: account.cnaps_code().and_then(text),
            rate_plan,
            bank_commission_rate: own_rate(Rates::bank_commission),
            pay_platform_rate: own_rate(Rates::pay_platform),
            liquidator_commission_rate: own_rate(Rates::liquidator_commission),
            payout_schedule: Some(self.payout_schedule.kind().to_owned()),
            payout_weekday: self.payout_schedule.weekday_number().map(|n| n.to_string()),
            payout_cutoff: self.payout_schedule.cutoff_text(),
        }
    }
}

impl Checker {
    fn settlement_account(&mut self, raw: &RawApplication) -> Option<SettlementAccount> {
        let account_type = self.required("account_type", &raw.account_type, AccountType::parse);
        let holder = self.required("account_holder", &raw.account_holder, AccountHolder::parse);
        let number = match account_type {
            Some(account_type) => self
                .required("account_number", &raw.account_number, |text| BankAccountNumber::parse(text, account_type)),
            // Which rules the number must meet depends on the type, which is already reported
            // as wrong; only a missing number can be reported as well.
            None => {
                if present(&raw.account_number).is_none() {
                    self.report("account_number", REQUIRED);
                }
                None
            }
        };
        let bank_code = self.required("bank_code", &raw.bank_code, BankCode::parse);
        let branch_name = self.optional("branch_name", &raw.branch_name, BranchName::parse);
        let cnaps_code = self.optional("cnaps_code", &raw.cnaps_code, CnapsCode::parse);
        // SettlementAccount::new stops at the first missing branch detail; checking both here
        // reports them together, and then new() has nothing left to refuse.
        if account_type.is_some_and(AccountType::requires_branch) {
            let missing_branch = matches!(branch_name, Some(None));
            let missing_cnaps = matches!(cnaps_code, Some(None));
            if missing_branch {
                self.report("branch_name", SettlementAccountError::MissingBranchName);
            }
            if missing_cnaps {
                self.report("cnaps_code", SettlementAccountError::MissingCnapsCode);
            }
            if missing_branch || missing_cnaps {
                return None;
            }
        }
        let result = SettlementAccount::new(holder?, number?, bank_code?, branch_name?, cnaps_code?);
        result
            .map_err(|error| {
                let field = match error {
                    SettlementAccountError::MissingBranchName => "branch_name",
                    SettlementAccountError::MissingCnapsCode => "cnaps_code",
                };
                self.report(field, error);
            })
            .ok()
    }

    fn rates(&mut self, raw: &RawApplication) -> Option<RateChoice> {
        let plan = present(&raw.rate_plan);
        let own = [
            ("bank_commission_rate", present(&raw.bank_commission_rate)),
            ("pay_platform_rate", present(&raw.pay_platform_rate)),
            ("liquidator_commission_rate", present(&raw.liquidator_commission_rate)),
        ];
        let any_own = own.iter().any(|(_, text)| text.is_some());
        match (plan, any_own) {
            (Some(_), true) => {
                self.report("rate_plan", "give either a rate plan or own rates, not both");
                None
            }
            (None, false) => {
                self.report("rate_plan", "give a rate plan or all three own rates");
                None
            }
            (Some(plan), false) => self.check("rate_plan", RatePlanCode::parse(plan)).map(RateChoice::Plan),
            (None, true) => {
                let [bank, platform, liquidator] = own.map(|(field, text)| match text {
                    Some(text) => self.check(field, Rate::parse(text)),
                    None => {
                        self.report(field, "is required when rates are given without a rate plan");
                        None
                    }
                });
                // The sum involves all three; it is reported on the liquidator's rate, the one
                // the provider sets and so the one an operator can change.
                let rates = Rates::new(bank?, platform?, liquidator?);
                self.check("liquidator_commission_rate", rates).map(RateChoice::Own)
            }
        }
    }

    /// An absent kind means daily, so a cutoff alone is enough to move the daily payout.
    fn payout_schedule(&mut self, raw: &RawApplication) -> Option<PayoutSchedule> {
        let kind = present(&raw.payout_schedule).unwrap_or("daily");
        let weekday = present(&raw.payout_weekday);
        let cutoff = present(&raw.payout_cutoff);
        let error = match PayoutSchedule::parse(kind, weekday, cutoff) {
            Ok(schedule) => return Some(schedule),
            Err(error) => error,
        };
        let field = match error {
            ScheduleError::UnknownKind => "payout_schedule",
            ScheduleError::MissingWeekday | ScheduleError::InvalidWeekday | ScheduleError::UnexpectedWeekday => {
                "payout_weekday"
            }
            ScheduleError::InvalidCutoff | ScheduleError::UnexpectedCutoff => "payout_cutoff",
        };
        self.report(field, error);
        // The schedule stops at its first problem; a malformed weekday or cutoff elsewhere is
        // worth reporting in the same reply.
        if field != "payout_weekday"
            && let Some(Err(error)) = weekday.map(PayoutSchedule::parse_weekday)
        {
            self.report("payout_weekday", error);
        }
        if field != "payout_cutoff"
            && let Some(Err(error)) = cutoff.map(PayoutSchedule::parse_cutoff)
        {
            self.report("payout_cutoff", error);
        }
        None
    }
}
