//! The payout calendar as configured: the weekend setting and the special days kept in the
//! database.
use diesel::PgConnection;
use domain::payouts::calendar::PayoutCalendar;

use crate::{PayoutError, Settings};

pub fn load(conn: &mut PgConnection, settings: &Settings) -> Result<PayoutCalendar, PayoutError> {
    let special = storage::payouts::calendar_days(conn)?;
    Ok(PayoutCalendar::new(settings.weekends_are_payout_days, special))
}
