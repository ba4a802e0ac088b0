//! The application's fields as the merchant's page shows them: the account number, credit code
//! and mobile masked for everyone, unless an admin has just revealed them.
use domain::onboarding::{BankAccountNumber, BusinessCategory, MainlandMobile, UnifiedSocialCreditCode};
use onboarding::reveal::Revealed;
use storage::merchants::MerchantRow;

use crate::{
    i18n::{Lang, MerchantLabels},
    view::china_time,
};

pub struct Detail {
    pub label: &'static str,
    pub value: String,
    /// Masked, or revealed: shown in a monospace font and marked.
    pub sensitive: bool,
}

/// Masks that do not depend on the stored text being valid: if it somehow is not, nothing of it
/// is shown.
fn masked_account(row: &MerchantRow) -> String {
    BankAccountNumber::parse(row.account_number.digits(), row.account_type)
        .ok()
        .map(|number| number.masked())
        .unwrap_or_else(|| "********".into())
}

fn masked_credit_code(row: &MerchantRow) -> String {
    UnifiedSocialCreditCode::parse(&row.unified_social_credit_code)
        .map(|code| code.masked())
        .unwrap_or_else(|_| "********".into())
}

fn masked_mobile(row: &MerchantRow) -> String {
    MainlandMobile::parse(&row.contact_mobile).map(|mobile| mobile.masked()).unwrap_or_else(|_| "********".into())
}

fn schedule_text(m: &MerchantLabels, row: &MerchantRow) -> String {
    let weekday = row
        .payout_weekday
        .as_deref()
        .and_then(|day| day.parse::<usize>().ok())
        .and_then(|day| m.weekdays.get(day.wrapping_sub(1)))
        .copied();
    [Some(m.schedule(&row.payout_schedule)), weekday, row.payout_cutoff.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}

pub fn details(lang: Lang, row: MerchantRow, revealed: Option<Revealed>) -> Vec<Detail> {
    let m = lang.labels().merchant;
    let category = BusinessCategory::parse(&row.business_category)
        .map(|category| if lang == Lang::Zh { category.label_zh() } else { category.label_en() })
        .unwrap_or(&row.business_category)
        .to_string();
    let account_type = m.account_type(row.account_type).to_string();
    let (account_number, credit_code, mobile) = match revealed {
        Some(full) => (full.account_number, full.credit_code, full.contact_mobile),
        None => (masked_account(&row), masked_credit_code(&row), masked_mobile(&row)),
    };
    let plain = |label, value: String| Detail { label, value, sensitive: false };
    let secret = |label, value: String| Detail { label, value, sensitive: true };
    vec![
        plain(m.legal_name, row.legal_name.clone()),
        plain(m.short_name, row.short_name.clone()),
        secret(m.credit_code, credit_code),
        plain(m.legal_representative, row.legal_representative.clone()),
        plain(m.external_id, row.external_id.clone().unwrap_or_default()),
        plain(m.contact_name, row.contact_name.clone()),
        secret(m.contact_mobile, mobile),
        plain(m.contact_email, row.contact_email.clone()),
        plain(m.business_category, category),
        plain(m.site_name, row.site_name.clone()),
        plain(m.icp_filing_number, row.icp_filing_number.clone()),
        plain(m.account_type, account_type),
        plain(m.account_holder, row.account_holder.clone()),
        secret(m.account_number, account_number),
        plain(m.bank_code, row.bank_code.clone()),
        plain(m.branch_name, row.branch_name.clone().unwrap_or_default()),
        plain(m.cnaps_code, row.cnaps_code.clone().unwrap_or_default()),
        plain(m.payout_schedule, schedule_text(m, &row)),
        plain(m.sub_merchant_id, row.sub_merchant_id.clone().unwrap_or_else(|| m.assigned_on_approval.to_string())),
        plain(lang.labels().created_at, china_time(row.created_at)),
    ]
}
