//! Payouts (代付, SPEC §8): the closed sets they are described with.

crate::sql::text_enum! {
    /// What a channel says of a payout it was asked for (seed 002: accepted and in progress,
    /// paid, refused, or paid and then sent back by the payee's bank — REFU).
    pub enum ChannelPayoutState {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        Returned = "returned",
    }
}
