//! One module per console page.
pub mod assets;
pub mod audit;
pub mod callbacks;
pub mod dashboard;
pub mod gateway_log;
pub mod language;
mod layout;
pub mod ledger;
pub mod login;
pub mod merchants;
pub mod operators;
pub mod orders;
pub mod payout_calendar;
pub mod payouts;
pub mod rate_plans;
pub mod reconciliation;
pub mod settings;

/// A list page's query string from its non-empty parameters (filters, keyset cursor).
pub fn query_string(pairs: &[(&str, &str)]) -> Result<String, crate::ConsoleError> {
    let pairs: Vec<_> = pairs.iter().filter(|(_, value)| !value.is_empty()).collect();
    serde_urlencoded::to_string(pairs).map_err(|error| crate::ConsoleError::Internal(error.to_string()))
}

pub use forms::text::{present, present_note};

/// The form of an action that carries nothing but its CSRF token (checked by `ConsoleForm`).
#[derive(serde::Deserialize)]
pub struct Empty {}

/// The keyset links of a list page (newest first): the next page holds rows older than the last
/// one shown; the first page keeps the filters and drops the cursor.
pub struct Pager {
    pub next_page: Option<String>,
    pub first_page: Option<String>,
}

impl Pager {
    /// `filters` are the page's own query parameters; `last_id` the last row shown; `has_more`
    /// whether a row beyond the page was found; `paged` whether this page had a cursor.
    pub fn new(
        filters: &[(&str, &str)],
        last_id: Option<i64>,
        has_more: bool,
        paged: bool,
    ) -> Result<Pager, crate::ConsoleError> {
        let next_page = match last_id {
            Some(last) if has_more => {
                let before = last.to_string();
                let mut pairs = filters.to_vec();
                pairs.push(("before", &before));
                Some(query_string(&pairs)?)
            }
            _ => None,
        };
        let first_page = if paged { Some(query_string(filters)?) } else { None };
        Ok(Pager { next_page, first_page })
    }
}
