//! Merchants and orders that live at an upstream which takes payments for this platform (an
//! fshows gateway, SPEC §6): where a merchant's registration there stands, and where an order
//! placed there stands.

crate::sql::text_enum! {
    /// A merchant's registration at an upstream: `creating → awaiting_approval → binding → rating
    /// → ready`, or `refused` when the upstream turned the application down.
    pub enum RegistrationState {
        /// `submerchant.create` not yet answered for certain.
        Creating = "creating",
        /// The upstream has the application and has not approved it yet.
        AwaitingApproval = "awaiting_approval",
        /// Approved there: its settlement account is bound next.
        Binding = "binding",
        /// Account bound: its rates are set next.
        Rating = "rating",
        /// Orders may be placed there.
        Ready = "ready",
        /// The upstream refused the application or rejected the merchant: an operator's to sort out.
        Refused = "refused",
    }
}

impl RegistrationState {
    /// Whether the periodic job still has something to ask the upstream.
    pub fn is_in_progress(self) -> bool {
        !matches!(self, RegistrationState::Ready | RegistrationState::Refused)
    }
}

crate::sql::text_enum! {
    /// An order placed at an upstream: `placing` until the upstream's answer is known, then
    /// `placed` (with the upstream's number and cashier code) or `refused`.
    pub enum UpstreamOrderState {
        Placing = "placing",
        Placed = "placed",
        Refused = "refused",
    }
}
