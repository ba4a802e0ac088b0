//! Changing a merchant's settlement account (the gateway's `submerchant.bank.bind`).
//!
//! The account is where payouts go, so a new one must be verified before money is sent to it. It
//! can therefore be replaced only before verification starts — while the application is a draft
//! or submitted, when the micro-deposit will go to the new account. Once the micro-deposit has been
//! sent (and for an approved merchant) the account is fixed: re-verifying a new account for an
//! approved merchant would need a second, pending account beside the one payouts use now, which
//! does not exist yet. Binding the account a merchant already has always succeeds and changes
//! nothing, in any state, so a retried call gets the same answer.
use diesel::PgConnection;
use domain::onboarding::{
    AccountHolder, AccountType, ApplicationState, BankAccountNumber, BankCode, BranchName, CnapsCode, FieldError,
    SettlementAccount, SettlementAccountError, StoredAccountNumber,
};
use domain::{MerchantId, orders::NotifyUrl};
use serde_json::json;
use storage::{
    audit::{self, Actor, NewEntry},
    merchants::{self, MerchantFields, MerchantRow},
};

use crate::{
    OnboardingError,
    applications::{self, Merchant},
};

/// A settlement account as received, before any field is checked; the field names are those of
/// an application.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct RawSettlementAccount {
    pub account_type: Option<String>,
    pub account_holder: Option<String>,
    pub account_number: Option<String>,
    pub bank_code: Option<String>,
    pub branch_name: Option<String>,
    pub cnaps_code: Option<String>,
}

/// Parses a settlement account with the rules of an application (the same domain parsers, and a
/// corporate account needs its branch name and CNAPS code), stopping at the first invalid field
/// in the order of the application's fields.
pub fn parse(raw: &RawSettlementAccount) -> Result<SettlementAccount, FieldError> {
    let account_type = check("account_type", AccountType::parse(required("account_type", &raw.account_type)?))?;
    let holder = check("account_holder", AccountHolder::parse(required("account_holder", &raw.account_holder)?))?;
    let number = check(
        "account_number",
        BankAccountNumber::parse(required("account_number", &raw.account_number)?, account_type),
    )?;
    let bank_code = check("bank_code", BankCode::parse(required("bank_code", &raw.bank_code)?))?;
    let branch_name =
        present(&raw.branch_name).map(|text| check("branch_name", BranchName::parse(text))).transpose()?;
    let cnaps_code = present(&raw.cnaps_code).map(|text| check("cnaps_code", CnapsCode::parse(text))).transpose()?;
    SettlementAccount::new(holder, number, bank_code, branch_name, cnaps_code).map_err(|error| {
        let field = match error {
            SettlementAccountError::MissingBranchName => "branch_name",
            SettlementAccountError::MissingCnapsCode => "cnaps_code",
        };
        FieldError { field, message: error.to_string() }
    })
}

/// Blank text is absent text, as in an application.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.trim().is_empty())
}

fn required<'a>(field: &'static str, value: &'a Option<String>) -> Result<&'a str, FieldError> {
    present(value).ok_or_else(|| FieldError { field, message: "is required".into() })
}

fn check<T, E: std::fmt::Display>(field: &'static str, result: Result<T, E>) -> Result<T, FieldError> {
    result.map_err(|error| FieldError { field, message: error.to_string() })
}

/// The account columns exactly as the onboarding crate stores them.
#[derive(PartialEq, Eq, Debug)]
struct AccountColumns {
    account_type: AccountType,
    account_holder: String,
    account_number: StoredAccountNumber,
    bank_code: String,
    branch_name: Option<String>,
    cnaps_code: Option<String>,
}

impl AccountColumns {
    fn of(account: &SettlementAccount) -> AccountColumns {
        AccountColumns {
            account_type: account.account_type(),
            account_holder: account.holder().to_string(),
            account_number: StoredAccountNumber::from(account.number()),
            bank_code: account.bank_code().to_string(),
            branch_name: account.branch_name().map(ToString::to_string),
            cnaps_code: account.cnaps_code().map(ToString::to_string),
        }
    }

    fn stored(row: &MerchantRow) -> AccountColumns {
        AccountColumns {
            account_type: row.account_type,
            account_holder: row.account_holder.clone(),
            account_number: row.account_number.clone(),
            bank_code: row.bank_code.clone(),
            branch_name: row.branch_name.clone(),
            cnaps_code: row.cnaps_code.clone(),
        }
    }

    /// For the audit log: the number masked, as everywhere it is shown.
    fn audited(&self) -> serde_json::Value {
        let masked = BankAccountNumber::parse(self.account_number.digits(), self.account_type)
            .map_or_else(|_| "****".to_owned(), |number| number.masked());
        json!({
            "account_type": self.account_type,
            "account_holder": self.account_holder,
            "account_number": masked,
            "bank_code": self.bank_code,
            "branch_name": self.branch_name,
            "cnaps_code": self.cnaps_code,
        })
    }
}

/// The merchant after a bind, and whether its account changed (false for a repeated bind).
#[derive(Debug, Clone)]
pub struct Bound {
    pub merchant: Merchant,
    pub changed: bool,
}

/// The states in which the account may still be replaced: verification has not started.
fn may_replace(state: ApplicationState) -> bool {
    matches!(state, ApplicationState::Draft | ApplicationState::Submitted)
}

/// Why the account of a merchant in `state` cannot be replaced, for the API caller.
fn refusal(state: ApplicationState) -> String {
    let why = match state {
        ApplicationState::VerifyingAccount => "a micro-deposit has been sent to the current account to verify it",
        ApplicationState::InReview => "the current account has been verified and the application is in review",
        ApplicationState::Approved | ApplicationState::Frozen => {
            "an approved merchant's new account must first be verified by micro-deposit, which only the \
             provider's operators can arrange"
        }
        ApplicationState::Rejected | ApplicationState::Closed => "the application has ended",
        ApplicationState::Draft | ApplicationState::Submitted => "",
    };
    format!(
        "the settlement account can be changed only while the application is a draft or submitted; this one is {} ({why})",
        state.as_str()
    )
}

/// Replaces the settlement account of merchant `merchant_id` (see the module documentation for
/// when), in one transaction with its audit entry. A refusal because of the state is
/// [`OnboardingError::InvalidField`] on the field `state`, as for editing anything but a draft.
///
/// With a `payout_notify_url`, also sets where the merchant's scheduled payouts' results are told,
/// in the same transaction (in any state: it moves no money).
pub fn bind(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    account: &SettlementAccount,
    payout_notify_url: Option<&NotifyUrl>,
) -> Result<Bound, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let merchant = applications::lock(conn, merchant_id)?;
        let url_changed = match payout_notify_url {
            Some(url) => set_payout_notify_url_locked(conn, actor, merchant_id, Some(url))?,
            None => false,
        };
        let new = AccountColumns::of(account);
        let old = AccountColumns::stored(&merchant.row);
        if new == old {
            let merchant = if url_changed { applications::find(conn, merchant_id)? } else { merchant };
            return Ok(Bound { merchant, changed: url_changed });
        }
        if !may_replace(merchant.state) {
            return Err(OnboardingError::WrongState(refusal(merchant.state)));
        }
        let row = &merchant.row;
        let fields = MerchantFields {
            external_id: row.external_id.clone(),
            legal_name: row.legal_name.clone(),
            short_name: row.short_name.clone(),
            unified_social_credit_code: row.unified_social_credit_code.clone(),
            legal_representative: row.legal_representative.clone(),
            contact_name: row.contact_name.clone(),
            contact_mobile: row.contact_mobile.clone(),
            contact_email: row.contact_email.clone(),
            business_category: row.business_category.clone(),
            site_name: row.site_name.clone(),
            icp_filing_number: row.icp_filing_number.clone(),
            account_type: new.account_type,
            account_holder: new.account_holder.clone(),
            account_number: new.account_number.clone(),
            bank_code: new.bank_code.clone(),
            branch_name: new.branch_name.clone(),
            cnaps_code: new.cnaps_code.clone(),
            payout_schedule: row.payout_schedule.clone(),
            payout_weekday: row.payout_weekday.clone(),
            payout_cutoff: row.payout_cutoff.clone(),
        };
        // Guarded by the state the lock saw, like every other change of a merchant.
        if !merchants::update_fields(conn, merchant_id, merchant.state, &fields)? {
            return Err(OnboardingError::ConcurrentChange);
        }
        // A new account (or the same one confirmed by binding it again) lifts the pause a returned
        // payout put on the merchant's payouts.
        storage::payouts::clear_stop(conn, merchant_id, domain::payouts::StopKind::ReturnedAccount)?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "merchant.bank_account",
                target: format!("merchant:{merchant_id}"),
                before: Some(old.audited()),
                after: Some(new.audited()),
            },
        )?;
        Ok(Bound { merchant: applications::find(conn, merchant_id)?, changed: true })
    })
}

/// Sets (or with `None` clears) where the merchant's scheduled payouts' results are told, with its
/// audit entry. False when it was that already.
/// Sets (or clears, back to the platform's) the channel the merchant's payouts go through, with
/// its audit row; false if it was that already. The caller checks the name is a pay-out channel of
/// the deployment.
pub fn set_payout_channel(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    channel: Option<&str>,
) -> Result<bool, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        applications::lock(conn, merchant_id)?;
        let before = storage::merchants::find(conn, merchant_id)?.and_then(|row| row.payout_channel);
        if !merchants::set_payout_channel(conn, merchant_id, channel)? {
            return Ok(false);
        }
        let entry = NewEntry {
            action: "merchant.payout_channel",
            target: format!("merchant:{merchant_id}"),
            before: Some(json!({ "payout_channel": before })),
            after: Some(json!({ "payout_channel": channel })),
        };
        audit::record(conn, actor, entry)?;
        Ok(true)
    })
}

pub fn set_payout_notify_url(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    url: Option<&NotifyUrl>,
) -> Result<bool, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        applications::lock(conn, merchant_id)?;
        set_payout_notify_url_locked(conn, actor, merchant_id, url)
    })
}

fn set_payout_notify_url_locked(
    conn: &mut PgConnection,
    actor: &Actor,
    merchant_id: MerchantId,
    url: Option<&NotifyUrl>,
) -> Result<bool, OnboardingError> {
    let url = url.map(AsRef::as_ref);
    let before = storage::merchants::find(conn, merchant_id)?.and_then(|row| row.payout_notify_url);
    if !merchants::set_payout_notify_url(conn, merchant_id, url)? {
        return Ok(false);
    }
    audit::record(
        conn,
        actor,
        NewEntry {
            action: "merchant.payout_notify_url",
            target: format!("merchant:{merchant_id}"),
            before: Some(json!({ "payout_notify_url": before })),
            after: Some(json!({ "payout_notify_url": url })),
        },
    )?;
    Ok(true)
}
