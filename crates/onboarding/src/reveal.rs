//! The audited "reveal" of a merchant's masked fields (SPEC §9, admin only).
//!
//! Looking changes nothing, but who saw a full account number, and when, must be on record: the
//! read and its audit row commit together, so a value is never shown without its entry.
use crate::{OnboardingError, applications};
use diesel::PgConnection;
use domain::MerchantId;
use serde_json::json;
use storage::audit::{self, Actor, NewEntry};

/// The fields the console otherwise masks, in full.
pub struct Revealed {
    pub account_number: String,
    pub credit_code: String,
    pub contact_mobile: String,
}

pub fn reveal(conn: &mut PgConnection, actor: &Actor, merchant_id: MerchantId) -> Result<Revealed, OnboardingError> {
    storage::database::transaction(conn, |conn| {
        let merchant = applications::find(conn, merchant_id)?;
        audit::record(
            conn,
            actor,
            NewEntry {
                action: "merchant.reveal",
                target: format!("merchant:{merchant_id}"),
                before: None,
                after: Some(json!({ "fields": ["account_number", "unified_social_credit_code", "contact_mobile"] })),
            },
        )?;
        Ok(Revealed {
            account_number: merchant.row.account_number.digits().to_string(),
            credit_code: merchant.row.unified_social_credit_code,
            contact_mobile: merchant.row.contact_mobile,
        })
    })
}
