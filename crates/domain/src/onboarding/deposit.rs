//! A micro-deposit that verifies a settlement account (SPEC §4): sent through the payout channel,
//! then answered by the applicant with the amount that arrived.

crate::sql::text_enum! {
    /// `pending → sent → verified | exhausted`, or `pending → send_failed`. `cancelled` is in the
    /// stored set for a verification withdrawn by an operator.
    pub enum DepositState {
        Pending = "pending",
        Sent = "sent",
        Verified = "verified",
        Exhausted = "exhausted",
        SendFailed = "send_failed",
        Cancelled = "cancelled",
    }
}

impl DepositState {
    /// Nothing happens to it any more.
    pub fn is_final(self) -> bool {
        !matches!(self, DepositState::Pending | DepositState::Sent)
    }
}

/// What can happen to a micro-deposit; each event has one state it starts from and one it leads
/// to, applied as one guarded update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositEvent {
    /// Its payout reached the account: the applicant may name the amount.
    Sent,
    /// Its payout was refused or returned by the bank.
    SendFailed,
    /// The applicant entered the right amount.
    Verified,
    /// The applicant ran out of answers.
    Exhausted,
}

impl DepositEvent {
    pub fn from(self) -> DepositState {
        match self {
            DepositEvent::Sent | DepositEvent::SendFailed => DepositState::Pending,
            DepositEvent::Verified | DepositEvent::Exhausted => DepositState::Sent,
        }
    }

    pub fn to(self) -> DepositState {
        match self {
            DepositEvent::Sent => DepositState::Sent,
            DepositEvent::SendFailed => DepositState::SendFailed,
            DepositEvent::Verified => DepositState::Verified,
            DepositEvent::Exhausted => DepositState::Exhausted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_leads_from_an_open_state_to_its_own() {
        for event in [DepositEvent::Sent, DepositEvent::SendFailed, DepositEvent::Verified, DepositEvent::Exhausted] {
            assert!(!event.from().is_final(), "{event:?}");
            assert_ne!(event.from(), event.to());
        }
        let finals: Vec<_> = DepositState::ALL.iter().filter(|state| state.is_final()).map(|s| s.as_str()).collect();
        assert_eq!(finals, ["verified", "exhausted", "send_failed", "cancelled"]);
        assert_eq!(DepositState::parse("send_failed"), Some(DepositState::SendFailed));
    }
}
