//! Payouts (代付, SPEC §8): a payout order's states and the closed set of transitions between
//! them, its kinds, and the rules a payout run follows — merchants' schedules on the payout
//! calendar ([`schedule`]) and the payout fee ([`fee`]).

pub mod calendar;
pub mod fee;
pub mod schedule;

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

crate::sql::text_enum! {
    /// What one exchange with the channel about a payout brought back: one of its states, no
    /// answer we can act on (a timeout, a system error), or "no such payout".
    pub enum ChannelAnswer {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        Returned = "returned",
        Unknown = "unknown",
        NotFound = "not_found",
    }
}

crate::sql::text_enum! {
    /// Where a payout order is: `created → (awaiting_approval →) submitted → succeeded | failed`,
    /// `succeeded → returned`, `awaiting_approval → rejected`.
    pub enum PayoutState {
        /// Written with its reservation, not yet handed to the channel.
        Created = "created",
        /// Above the approval amount: waits for a second operator (maker-checker).
        AwaitingApproval = "awaiting_approval",
        /// Handed to the channel (or about to be); its outcome is not known yet.
        Submitted = "submitted",
        Succeeded = "succeeded",
        Failed = "failed",
        /// Paid, then sent back by the payee's bank (REFU).
        Returned = "returned",
        Rejected = "rejected",
    }
}

impl PayoutState {
    /// No transition leaves it.
    pub fn is_final(self) -> bool {
        matches!(self, PayoutState::Failed | PayoutState::Returned | PayoutState::Rejected)
    }

    pub fn apply(self, transition: PayoutTransition) -> Result<PayoutState, IllegalPayoutTransition> {
        use PayoutState::*;
        use PayoutTransition::*;
        match (self, transition) {
            (Created, Submit) => Ok(Submitted),
            (AwaitingApproval, Approve) => Ok(Submitted),
            (AwaitingApproval, Reject) => Ok(Rejected),
            (Submitted, Succeed) => Ok(Succeeded),
            (Submitted, Fail) => Ok(Failed),
            (Succeeded, Return) => Ok(Returned),
            (from, transition) => Err(IllegalPayoutTransition { from, transition }),
        }
    }
}

/// Everything that can happen to a payout order after it is written. Each is applied by one
/// guarded update, with its history row and its ledger booking in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayoutTransition {
    /// Handed to the channel.
    Submit,
    /// A second operator approved it: handed to the channel.
    Approve,
    /// A second operator rejected it: the money goes back, the fee too.
    Reject,
    /// The channel paid it: in transit → clearing.
    Succeed,
    /// The channel refused it: the money goes back, the fee too.
    Fail,
    /// The payee's bank sent it back after success (REFU): back to available.
    Return,
}

impl PayoutTransition {
    pub const ALL: [PayoutTransition; 6] = [
        PayoutTransition::Submit,
        PayoutTransition::Approve,
        PayoutTransition::Reject,
        PayoutTransition::Succeed,
        PayoutTransition::Fail,
        PayoutTransition::Return,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} payout cannot {transition:?}")]
pub struct IllegalPayoutTransition {
    pub from: PayoutState,
    pub transition: PayoutTransition,
}

/// `out_withdraw_no`: the app's withdrawal number, unique per merchant; the rules of
/// `out_trade_no` (1–64 of `[A-Za-z0-9_]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct OutWithdrawNo(String);

impl OutWithdrawNo {
    pub fn parse(text: &str) -> Result<OutWithdrawNo, crate::IdError> {
        crate::ids::OutTradeNo::parse(text).map(|valid| OutWithdrawNo(valid.as_ref().to_string()))
    }
}

impl AsRef<str> for OutWithdrawNo {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

crate::sql::text_enum! {
    /// What a payout order pays out.
    pub enum PayoutKind {
        /// A merchant's available balance, on its schedule (a payout run).
        Scheduled = "scheduled",
        /// Asked for by the merchant's app (`witness.withdraw`).
        Withdrawal = "withdrawal",
        /// A micro-deposit verifying a settlement account, paid by the platform.
        Verification = "verification",
    }
}

crate::sql::text_enum! {
    /// Why a merchant's payouts are stopped.
    pub enum StopKind {
        /// An operator's hold, with a reason.
        Hold = "hold",
        /// Its bank returned a payout (REFU): paused until an operator confirms or changes the
        /// account, so a returned account is not paid again blindly.
        ReturnedAccount = "returned_account",
    }
}

crate::sql::text_enum! {
    /// Why a payout run made no payout for a merchant it considered.
    pub enum SkipReason {
        Frozen = "frozen",
        Closed = "closed",
        Held = "held",
        Paused = "paused",
        BelowMinimum = "below_minimum",
    }
}

crate::sql::text_enum! {
    /// What started a payout run.
    pub enum RunKind {
        /// A schedule slot (one run per slot).
        Scheduled = "scheduled",
        /// An operator, for every merchant or for one.
        Manual = "manual",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_is_legal_from_exactly_the_states_the_spec_names() {
        use PayoutState::*;
        use PayoutTransition::*;
        let legal = [
            (Created, Submit, Submitted),
            (AwaitingApproval, Approve, Submitted),
            (AwaitingApproval, Reject, Rejected),
            (Submitted, Succeed, Succeeded),
            (Submitted, Fail, Failed),
            (Succeeded, Return, Returned),
        ];
        for from in PayoutState::ALL {
            for transition in PayoutTransition::ALL {
                let expected = legal.iter().find(|(f, t, _)| f == from && *t == transition).map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(from.apply(transition), Ok(to)),
                    None => assert_eq!(
                        from.apply(transition),
                        Err(IllegalPayoutTransition { from: *from, transition }),
                        "{from} {transition:?}"
                    ),
                }
            }
        }
        assert!(
            PayoutState::ALL
                .iter()
                .filter(|state| state.is_final())
                .all(|state| { PayoutTransition::ALL.iter().all(|transition| state.apply(*transition).is_err()) })
        );
    }
}
