//! The commission ledger's rules (SPEC §7), free of storage: its accounts, the postings of every
//! booking, the check that an entry balances and that no merchant balance goes negative.
//!
//! Postings carry signed fen: a debit is positive, a credit negative, so an entry balances when its
//! postings sum to zero. A refund's give-back can be negative by a fen (SPEC §3); it then simply
//! becomes a posting in the other direction.
use std::{collections::BTreeMap, fmt, str::FromStr};

use crate::{Amount, FeeSplit};

/// The accounts of SPEC §7. Each exists once per sub-merchant; the platform's accounts are the sum
/// of their per-merchant rows.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    serde::Serialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    UpstreamReceivable,
    MerchantPending,
    MerchantAvailable,
    MerchantPayoutInTransit,
    BankCommissionPayable,
    PayPlatformFeePayable,
    LiquidatorCommissionRevenue,
    PayoutFeeRevenue,
    PayoutClearing,
    /// What the platform spends on micro-deposits (小额打款验证): it pays them, not the merchant.
    VerificationExpense,
    /// The provider's own funds at the channel (备付金): the upstream's settlements of paid orders
    /// come in, payouts and micro-deposits go out.
    ProviderReserve,
}

impl AccountKind {
    pub const ALL: [AccountKind; 11] = [
        AccountKind::UpstreamReceivable,
        AccountKind::MerchantPending,
        AccountKind::MerchantAvailable,
        AccountKind::MerchantPayoutInTransit,
        AccountKind::BankCommissionPayable,
        AccountKind::PayPlatformFeePayable,
        AccountKind::LiquidatorCommissionRevenue,
        AccountKind::PayoutFeeRevenue,
        AccountKind::PayoutClearing,
        AccountKind::VerificationExpense,
        AccountKind::ProviderReserve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::UpstreamReceivable => "upstream_receivable",
            AccountKind::MerchantPending => "merchant_pending",
            AccountKind::MerchantAvailable => "merchant_available",
            AccountKind::MerchantPayoutInTransit => "merchant_payout_in_transit",
            AccountKind::BankCommissionPayable => "bank_commission_payable",
            AccountKind::PayPlatformFeePayable => "pay_platform_fee_payable",
            AccountKind::LiquidatorCommissionRevenue => "liquidator_commission_revenue",
            AccountKind::PayoutFeeRevenue => "payout_fee_revenue",
            AccountKind::PayoutClearing => "payout_clearing",
            AccountKind::VerificationExpense => "verification_expense",
            AccountKind::ProviderReserve => "provider_reserve",
        }
    }

    /// Assets and expenses grow with debits; liabilities and revenue with credits.
    pub fn is_debit_normal(self) -> bool {
        matches!(
            self,
            AccountKind::UpstreamReceivable | AccountKind::VerificationExpense | AccountKind::ProviderReserve
        )
    }

    /// The money the platform holds for the merchant can never be negative.
    pub fn must_not_go_negative(self) -> bool {
        matches!(
            self,
            AccountKind::MerchantPending | AccountKind::MerchantAvailable | AccountKind::MerchantPayoutInTransit
        )
    }

    /// How a signed posting (debit positive) moves this account's balance on its normal side.
    pub fn balance_delta(self, amount_fen: Amount) -> Option<Amount> {
        if self.is_debit_normal() { Some(amount_fen) } else { amount_fen.checked_neg() }
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown ledger account kind {0:?}")]
pub struct UnknownAccountKind(pub String);

impl FromStr for AccountKind {
    type Err = UnknownAccountKind;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AccountKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownAccountKind(text.to_owned()))
    }
}

crate::sql::text_column!(AccountKind, |text| text.parse().ok());

crate::sql::text_enum! {
    /// What caused an entry.
    pub enum EntryKind {
        OrderPaid = "order_paid",
        Refund = "refund",
        Settlement = "settlement",
        PayoutReserved = "payout_reserved",
        PayoutSucceeded = "payout_succeeded",
        PayoutFailed = "payout_failed",
        PayoutReturned = "payout_returned",
        VerificationReserved = "verification_reserved",
        VerificationFailed = "verification_failed",
        VerificationReturned = "verification_returned",
        /// A payout's (or micro-deposit's) money left the provider's reserve: clearing → reserve.
        PayoutFunded = "payout_funded",
        /// A returned payout's money came back into the reserve: reserve → clearing.
        PayoutRefunded = "payout_refunded",
        /// The upstream settled a business day's paid orders and refunds of a merchant into the
        /// reserve, keeping the bank commission and the platform fee.
        UpstreamSettled = "upstream_settled",
        Reversal = "reversal",
    }
}

impl EntryKind {
    /// The accounts an entry of this kind may read or post to: what a booking locks. Its rules
    /// posting anywhere else is refused (the account is not locked, so it has no id to post to).
    pub fn accounts(self) -> &'static [AccountKind] {
        use AccountKind::*;
        match self {
            EntryKind::OrderPaid => &[
                UpstreamReceivable,
                MerchantPending,
                BankCommissionPayable,
                PayPlatformFeePayable,
                LiquidatorCommissionRevenue,
            ],
            EntryKind::Refund => &[
                UpstreamReceivable,
                MerchantPending,
                MerchantAvailable,
                BankCommissionPayable,
                PayPlatformFeePayable,
                LiquidatorCommissionRevenue,
            ],
            EntryKind::Settlement => &[MerchantPending, MerchantAvailable],
            EntryKind::PayoutReserved
            | EntryKind::PayoutSucceeded
            | EntryKind::PayoutFailed
            | EntryKind::PayoutReturned => {
                &[MerchantAvailable, MerchantPayoutInTransit, PayoutFeeRevenue, PayoutClearing]
            }
            EntryKind::VerificationReserved | EntryKind::VerificationFailed | EntryKind::VerificationReturned => {
                &[VerificationExpense, MerchantPayoutInTransit, PayoutClearing]
            }
            EntryKind::PayoutFunded | EntryKind::PayoutRefunded => &[PayoutClearing, ProviderReserve],
            EntryKind::UpstreamSettled => {
                &[UpstreamReceivable, BankCommissionPayable, PayPlatformFeePayable, ProviderReserve]
            }
            EntryKind::Reversal => &AccountKind::ALL,
        }
    }

    /// Whether an entry of this kind is built from, or may lower, a balance that must not go
    /// negative: then its booking locks the accounts before reading them. A paid order only adds
    /// to the merchant's balances, so booking one reads the account ids without a lock (the
    /// database's CHECKs stay the last word either way).
    pub fn needs_locked_balances(self) -> bool {
        self != EntryKind::OrderPaid
    }
}

/// One line of an entry: signed fen, debit positive.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Posting {
    pub account: AccountKind,
    pub amount_fen: Amount,
}

impl Posting {
    pub fn debit(account: AccountKind, amount: Amount) -> Posting {
        Posting { account, amount_fen: amount }
    }

    /// A credit of a (possibly negative) amount: a negative credit is a debit.
    pub fn credit(account: AccountKind, amount: Amount) -> Result<Posting, EntryError> {
        let amount_fen = amount.checked_neg().ok_or(EntryError::Overflow)?;
        Ok(Posting { account, amount_fen })
    }
}

/// Why a set of postings cannot be an entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EntryError {
    #[error("an entry needs at least two non-zero postings")]
    TooFewPostings,
    #[error("the postings do not balance: debits minus credits = {0} fen")]
    Unbalanced(i128),
    #[error("a posting overflowed")]
    Overflow,
}

/// Postings that balance: at least two, none zero, summing to zero. The only way to build an
/// entry, so an unbalanced one cannot be written from Rust.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BalancedPostings(Vec<Posting>);

impl BalancedPostings {
    /// Drops zero postings, merges postings to the same account, then checks the balance.
    pub fn new(postings: impl IntoIterator<Item = Posting>) -> Result<BalancedPostings, EntryError> {
        let mut by_account: BTreeMap<AccountKind, Amount> = BTreeMap::new();
        for posting in postings {
            let sum = by_account.entry(posting.account).or_insert(Amount::ZERO);
            *sum = sum.checked_add(posting.amount_fen).ok_or(EntryError::Overflow)?;
        }
        let lines: Vec<Posting> = by_account
            .into_iter()
            .filter(|(_, amount_fen)| *amount_fen != Amount::ZERO)
            .map(|(account, amount_fen)| Posting { account, amount_fen })
            .collect();
        let total: i128 = lines.iter().map(|line| i128::from(line.amount_fen.fen())).sum();
        if total != 0 {
            return Err(EntryError::Unbalanced(total));
        }
        if lines.len() < 2 {
            return Err(EntryError::TooFewPostings);
        }
        Ok(BalancedPostings(lines))
    }

    pub fn lines(&self) -> &[Posting] {
        &self.0
    }

    /// Sum of the debits (equal to the sum of the credits).
    /// Sum of the debits (equal to the sum of the credits); None if it overflows.
    pub fn debits(&self) -> Option<Amount> {
        Amount::checked_sum(self.0.iter().map(|line| line.amount_fen.max(Amount::ZERO)))
    }

    pub fn amount_on(&self, account: AccountKind) -> Amount {
        self.0.iter().find(|line| line.account == account).map_or(Amount::ZERO, |line| line.amount_fen)
    }
}

/// A merchant's balances (normal side), as locked before a booking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Balances(BTreeMap<AccountKind, Amount>);

/// A booking would take a merchant balance below zero.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum BalanceError {
    #[error("{account} would go negative ({} fen)", balance_fen.fen())]
    Negative { account: AccountKind, balance_fen: Amount },
    #[error("a balance overflowed")]
    Overflow,
}

impl Balances {
    pub fn new(balances: impl IntoIterator<Item = (AccountKind, Amount)>) -> Balances {
        Balances(balances.into_iter().collect())
    }

    pub fn get(&self, account: AccountKind) -> Amount {
        self.0.get(&account).copied().unwrap_or(Amount::ZERO)
    }

    /// The balances after `postings`, refused if a merchant balance would go negative. The same
    /// rule as the database's CHECK, checked first so a refusal is a clear error, not a fault.
    pub fn after(&self, postings: &BalancedPostings) -> Result<Balances, BalanceError> {
        let mut next = self.clone();
        for line in postings.lines() {
            let delta = line.account.balance_delta(line.amount_fen).ok_or(BalanceError::Overflow)?;
            let balance = next.0.entry(line.account).or_insert(Amount::ZERO);
            *balance = balance.checked_add(delta).ok_or(BalanceError::Overflow)?;
            if line.account.must_not_go_negative() && balance.is_negative() {
                return Err(BalanceError::Negative { account: line.account, balance_fen: *balance });
            }
        }
        Ok(next)
    }
}

/// The refund's net give-back exceeds the merchant's pending and available balances together
/// (SPEC §5, `-216`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error(
    "insufficient balance: the refund needs {} fen, pending and available hold {} fen",
    needed_fen.fen(),
    held_fen.fen()
)]
pub struct InsufficientBalance {
    pub needed_fen: Amount,
    pub held_fen: Amount,
}

/// Why a booking's postings could not be made.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum BookingError {
    #[error(transparent)]
    Insufficient(#[from] InsufficientBalance),
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error("a booking amount must be positive")]
    NonPositiveAmount,
}

/// Order paid: the channel owes us the total; it divides into the merchant's pending net and the
/// three fees (the order's snapshotted split).
pub fn order_paid(split: &FeeSplit) -> Result<BalancedPostings, BookingError> {
    let total = split.total().ok_or(EntryError::Overflow)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::UpstreamReceivable, total),
        Posting::credit(AccountKind::MerchantPending, split.net_receipt)?,
        Posting::credit(AccountKind::BankCommissionPayable, split.bank_commission)?,
        Posting::credit(AccountKind::PayPlatformFeePayable, split.pay_platform)?,
        Posting::credit(AccountKind::LiquidatorCommissionRevenue, split.liquidator_commission)?,
    ])?)
}

/// Refund: the give-back split reversed. The merchant's net comes from pending first, then
/// available; a negative net give-back goes back to pending.
pub fn refund(give_back: &FeeSplit, balances: &Balances) -> Result<BalancedPostings, BookingError> {
    let total = give_back.total().ok_or(EntryError::Overflow)?;
    let net_fen = give_back.net_receipt;
    let pending_fen = balances.get(AccountKind::MerchantPending);
    let available_fen = balances.get(AccountKind::MerchantAvailable);
    let from_pending_fen = net_fen.min(pending_fen.max(Amount::ZERO));
    let from_available_fen = net_fen.checked_sub(from_pending_fen).ok_or(EntryError::Overflow)?;
    if from_available_fen > available_fen {
        let held_fen = pending_fen.checked_add(available_fen).ok_or(EntryError::Overflow)?;
        return Err(InsufficientBalance { needed_fen: net_fen, held_fen }.into());
    }
    Ok(BalancedPostings::new([
        Posting::credit(AccountKind::UpstreamReceivable, total)?,
        Posting::debit(AccountKind::MerchantPending, from_pending_fen),
        Posting::debit(AccountKind::MerchantAvailable, from_available_fen),
        Posting::debit(AccountKind::BankCommissionPayable, give_back.bank_commission),
        Posting::debit(AccountKind::PayPlatformFeePayable, give_back.pay_platform),
        Posting::debit(AccountKind::LiquidatorCommissionRevenue, give_back.liquidator_commission),
    ])?)
}

/// Settlement: pending becomes available.
pub fn settlement(amount: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::MerchantPending, amount),
        Posting::credit(AccountKind::MerchantAvailable, amount)?,
    ])?)
}

/// Payout created: the amount and its fee leave available; the amount waits in transit and the
/// fee is earned.
pub fn payout_reserved(amount: Amount, fee: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    let debit = amount.checked_add(fee).ok_or(EntryError::Overflow)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::MerchantAvailable, debit),
        Posting::credit(AccountKind::MerchantPayoutInTransit, amount)?,
        Posting::credit(AccountKind::PayoutFeeRevenue, fee)?,
    ])?)
}

/// Payout succeeded: the money in transit has gone to the bank.
pub fn payout_succeeded(amount: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::MerchantPayoutInTransit, amount),
        Posting::credit(AccountKind::PayoutClearing, amount)?,
    ])?)
}

/// Payout failed: the amount comes back to available and the fee is given back.
pub fn payout_failed(amount: Amount, fee: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    let credit = amount.checked_add(fee).ok_or(EntryError::Overflow)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::MerchantPayoutInTransit, amount),
        Posting::debit(AccountKind::PayoutFeeRevenue, fee),
        Posting::credit(AccountKind::MerchantAvailable, credit)?,
    ])?)
}

/// Payout returned by the bank after success (REFU): the money is the merchant's again. The fee
/// stays earned: the payout was made.
pub fn payout_returned(amount: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::PayoutClearing, amount),
        Posting::credit(AccountKind::MerchantAvailable, amount)?,
    ])?)
}

/// A micro-deposit leaves: the platform pays it (an expense) into the merchant's in-transit.
pub fn verification_reserved(amount: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::VerificationExpense, amount),
        Posting::credit(AccountKind::MerchantPayoutInTransit, amount)?,
    ])?)
}

/// A micro-deposit the bank refused: the platform spent nothing.
pub fn verification_failed(amount: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::MerchantPayoutInTransit, amount),
        Posting::credit(AccountKind::VerificationExpense, amount)?,
    ])?)
}

/// A micro-deposit sent back after it was paid: the money is the platform's again, never the
/// merchant's available balance.
pub fn verification_returned(amount: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::PayoutClearing, amount),
        Posting::credit(AccountKind::VerificationExpense, amount)?,
    ])?)
}

/// A payout's money leaves the provider's reserve: what was sent to the bank (clearing) is paid
/// out of the reserve.
pub fn payout_funded(amount: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::PayoutClearing, amount),
        Posting::credit(AccountKind::ProviderReserve, amount)?,
    ])?)
}

/// A returned payout's money comes back into the reserve, to clearing, from where the return
/// gives it back ([`payout_returned`], [`verification_returned`]).
pub fn payout_refunded(amount: Amount) -> Result<BalancedPostings, BookingError> {
    positive(amount)?;
    Ok(BalancedPostings::new([
        Posting::debit(AccountKind::ProviderReserve, amount),
        Posting::credit(AccountKind::PayoutClearing, amount)?,
    ])?)
}

/// What a merchant's business day moved on the accounts the upstream settles: signed sums of the
/// day's payment and refund postings (debit positive), so `receivable_fen` is positive and the
/// payables negative on an ordinary day.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DayMovements {
    pub receivable_fen: Amount,
    pub bank_commission_fen: Amount,
    pub pay_platform_fen: Amount,
}

/// The upstream settles a merchant's day: the receivable is cleared, the upstream keeps the bank
/// commission and its platform fee (the payables are cleared), the rest comes into the reserve.
/// A day of more refunds than payments moves the other way.
pub fn upstream_settled(day: DayMovements) -> Result<BalancedPostings, BookingError> {
    let neg = |amount: Amount| amount.checked_neg().ok_or(EntryError::Overflow);
    let net = Amount::checked_sum([day.receivable_fen, day.bank_commission_fen, day.pay_platform_fen])
        .ok_or(EntryError::Overflow)?;
    Ok(BalancedPostings::new([
        Posting { account: AccountKind::UpstreamReceivable, amount_fen: neg(day.receivable_fen)? },
        Posting { account: AccountKind::BankCommissionPayable, amount_fen: neg(day.bank_commission_fen)? },
        Posting { account: AccountKind::PayPlatformFeePayable, amount_fen: neg(day.pay_platform_fen)? },
        Posting::debit(AccountKind::ProviderReserve, net),
    ])?)
}

/// The exact opposite of an entry, to correct it.
pub fn reversal(of: &BalancedPostings) -> Result<BalancedPostings, BookingError> {
    let lines = of
        .lines()
        .iter()
        .map(|line| line.amount_fen.checked_neg().map(|amount_fen| Posting { account: line.account, amount_fen }))
        .collect::<Option<Vec<_>>>()
        .ok_or(EntryError::Overflow)?;
    Ok(BalancedPostings::new(lines)?)
}

fn positive(amount: Amount) -> Result<(), BookingError> {
    if amount > Amount::ZERO { Ok(()) } else { Err(BookingError::NonPositiveAmount) }
}

crate::sql::text_enum! {
    /// How a line of a channel's bill differs from the day's bookings (reconciliation, SPEC §7).
    pub enum DifferenceKind {
        /// In the bill, not booked by us (e.g. a payment for an order we had closed).
        MissingOurs = "missing_ours",
        /// Booked by us, not in the bill.
        MissingUpstream = "missing_upstream",
        AmountMismatch = "amount_mismatch",
        /// The bill reports it as something other than a success.
        StatusMismatch = "status_mismatch",
        /// Same amount, different split.
        FeeMismatch = "fee_mismatch",
    }
}

/// A line of a daily bill: a payment or a refund, spelled `PAY` and `REFUND` in the bill's CSV
/// and in the database.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "UPPERCASE")]
pub enum BillKind {
    Pay,
    Refund,
}

impl BillKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BillKind::Pay => "PAY",
            BillKind::Refund => "REFUND",
        }
    }

    pub fn parse(text: &str) -> Option<BillKind> {
        match text {
            "PAY" => Some(BillKind::Pay),
            "REFUND" => Some(BillKind::Refund),
            _ => None,
        }
    }
}

crate::sql::text_column!(BillKind, BillKind::parse);

#[cfg(test)]
mod tests {
    use super::*;
    use AccountKind::*;

    fn fen(amount_fen: i64) -> Amount {
        Amount::from_fen(amount_fen)
    }

    fn split(net: i64, bank: i64, platform: i64, liquidator: i64) -> FeeSplit {
        FeeSplit {
            net_receipt: fen(net),
            bank_commission: fen(bank),
            pay_platform: fen(platform),
            liquidator_commission: fen(liquidator),
        }
    }

    fn lines(postings: &BalancedPostings) -> Vec<(AccountKind, i64)> {
        postings.lines().iter().map(|line| (line.account, line.amount_fen.fen())).collect()
    }

    #[test]
    fn order_paid_debits_the_receivable_and_credits_the_split() {
        let postings = order_paid(&split(9_940, 30, 20, 10)).expect("books");
        assert_eq!(
            lines(&postings),
            vec![
                (UpstreamReceivable, 10_000),
                (MerchantPending, -9_940),
                (BankCommissionPayable, -30),
                (PayPlatformFeePayable, -20),
                (LiquidatorCommissionRevenue, -10),
            ]
        );
        assert_eq!(postings.debits(), Some(fen(10_000)));
    }

    #[test]
    fn a_zero_fee_is_left_out() {
        let postings = order_paid(&split(100, 0, 0, 0)).expect("books");
        assert_eq!(lines(&postings), vec![(UpstreamReceivable, 100), (MerchantPending, -100)]);
    }

    #[test]
    fn refund_takes_pending_first_then_available() {
        let balances = Balances::new([(MerchantPending, fen(3_000)), (MerchantAvailable, fen(10_000))]);
        let postings = refund(&split(4_970, 15, 10, 5), &balances).expect("books");
        assert_eq!(
            lines(&postings),
            vec![
                (UpstreamReceivable, -5_000),
                (MerchantPending, 3_000),
                (MerchantAvailable, 1_970),
                (BankCommissionPayable, 15),
                (PayPlatformFeePayable, 10),
                (LiquidatorCommissionRevenue, 5),
            ]
        );
        let after = balances.after(&postings).expect("non-negative");
        assert_eq!((after.get(MerchantPending), after.get(MerchantAvailable)), (fen(0), fen(8_030)));
    }

    #[test]
    fn refund_larger_than_pending_and_available_is_insufficient() {
        let balances = Balances::new([(MerchantPending, fen(3_000)), (MerchantAvailable, fen(1_000))]);
        let refused = refund(&split(4_970, 15, 10, 5), &balances);
        assert_eq!(
            refused,
            Err(BookingError::Insufficient(InsufficientBalance { needed_fen: fen(4_970), held_fen: fen(4_000) }))
        );
    }

    #[test]
    fn a_negative_give_back_is_a_posting_the_other_way() {
        // The liquidator's commission grows by a fen on this refund (SPEC §3).
        let balances = Balances::new([(MerchantPending, fen(100))]);
        let postings = refund(&split(100, 1, 0, -1), &balances).expect("books");
        assert_eq!(postings.amount_on(LiquidatorCommissionRevenue), fen(-1));
        assert_eq!(postings.amount_on(UpstreamReceivable), fen(-100));
        // A net give-back below zero goes back to pending, even when pending is empty.
        let postings = refund(&split(-1, 2, 0, 0), &Balances::default()).expect("books");
        assert_eq!(lines(&postings), vec![(UpstreamReceivable, -1), (MerchantPending, -1), (BankCommissionPayable, 2)]);
    }

    #[test]
    fn payouts_move_money_and_fees_both_ways() {
        let start = Balances::new([(MerchantAvailable, fen(10_000))]);
        let reserved = start.after(&payout_reserved(fen(9_000), fen(200)).expect("books")).expect("covered");
        assert_eq!(reserved.get(MerchantAvailable), fen(800));
        assert_eq!(reserved.get(MerchantPayoutInTransit), fen(9_000));
        assert_eq!(reserved.get(PayoutFeeRevenue), fen(200));
        let failed = reserved.after(&payout_failed(fen(9_000), fen(200)).expect("books")).expect("covered");
        assert_eq!(
            failed,
            Balances::new([
                (MerchantAvailable, fen(10_000)),
                (MerchantPayoutInTransit, fen(0)),
                (PayoutFeeRevenue, fen(0))
            ])
        );
        let succeeded = reserved.after(&payout_succeeded(fen(9_000)).expect("books")).expect("covered");
        assert_eq!(succeeded.get(PayoutClearing), fen(9_000));
        let returned = succeeded.after(&payout_returned(fen(9_000)).expect("books")).expect("covered");
        assert_eq!((returned.get(MerchantAvailable), returned.get(PayoutClearing)), (fen(9_800), fen(0)));
        assert_eq!(
            start.after(&payout_reserved(fen(10_000), fen(1)).expect("books")),
            Err(BalanceError::Negative { account: MerchantAvailable, balance_fen: fen(-1) })
        );
    }

    #[test]
    fn unbalanced_or_single_postings_are_refused() {
        let debit = |account, amount_fen| Posting { account, amount_fen: fen(amount_fen) };
        assert_eq!(
            BalancedPostings::new([debit(UpstreamReceivable, 5), debit(MerchantPending, -4)]),
            Err(EntryError::Unbalanced(1))
        );
        assert_eq!(
            BalancedPostings::new([debit(MerchantPending, 5), debit(MerchantPending, -5)]),
            Err(EntryError::TooFewPostings)
        );
        assert_eq!(BalancedPostings::new([]), Err(EntryError::TooFewPostings));
        assert_eq!(settlement(Amount::ZERO), Err(BookingError::NonPositiveAmount));
    }

    #[test]
    fn a_reversal_undoes_an_entry() {
        let paid = order_paid(&split(9_940, 30, 20, 10)).expect("books");
        let start = Balances::default();
        let after = start.after(&paid).and_then(|b| b.after(&reversal(&paid).expect("reverses")));
        assert!(after.expect("applies").0.values().all(|balance| *balance == Amount::ZERO));
    }

    #[test]
    fn account_kinds_round_trip() {
        for kind in AccountKind::ALL {
            assert_eq!(kind.as_str().parse::<AccountKind>(), Ok(kind));
        }
        assert!("cash".parse::<AccountKind>().is_err());
    }
}
