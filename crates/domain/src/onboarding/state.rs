//! The life cycle of an application (SPEC §4) as a closed set of transitions, so that callers
//! cannot invent a state change: storage turns `apply`'s answer into one guarded update
//! (`UPDATE … WHERE state = from`).
//!
//! The happy path is draft → submitted → verifying_account → in_review → approved. From review an
//! application may instead be rejected or sent back to draft for changes; a failed account
//! verification sends it back to submitted; an approved merchant can be frozen and unfrozen; and
//! every state but closed can be closed. [`Transition::from_states`] is the whole table.

use std::fmt;

#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum ApplicationState {
    Draft,
    Submitted,
    VerifyingAccount,
    InReview,
    Approved,
    Rejected,
    Frozen,
    Closed,
}

#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Transition {
    /// draft → submitted
    Submit,
    /// submitted → verifying_account, once the micro-deposit has been sent
    StartVerification,
    /// verifying_account → in_review, when the deposited amount was entered correctly
    AccountVerified,
    /// verifying_account → submitted, after three wrong answers
    VerificationFailed,
    /// in_review → draft, for the applicant to correct
    RequestChanges,
    /// in_review → approved
    Approve,
    /// in_review → rejected
    Reject,
    /// approved → frozen
    Freeze,
    /// frozen → approved
    Unfreeze,
    /// any state but closed → closed
    Close,
}

/// A transition asked of a state it does not start from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("cannot {} an application that is {}", .transition.verb(), .from.description())]
pub struct IllegalTransition {
    pub from: ApplicationState,
    pub transition: Transition,
}

impl ApplicationState {
    pub const ALL: [ApplicationState; 8] = [
        Self::Draft,
        Self::Submitted,
        Self::VerifyingAccount,
        Self::InReview,
        Self::Approved,
        Self::Rejected,
        Self::Frozen,
        Self::Closed,
    ];

    /// The fixed text stored in the database and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::VerifyingAccount => "verifying_account",
            Self::InReview => "in_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Frozen => "frozen",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// The state `transition` leads to from this one, or why it cannot be taken.
    pub fn apply(self, transition: Transition) -> Result<ApplicationState, IllegalTransition> {
        if transition.from_states().contains(&self) {
            Ok(transition.target())
        } else {
            Err(IllegalTransition { from: self, transition })
        }
    }

    /// The transitions that can be taken from this state, e.g. for the console's buttons.
    pub fn transitions(self) -> impl Iterator<Item = Transition> {
        Transition::ALL.into_iter().filter(move |transition| transition.from_states().contains(&self))
    }

    /// Only an approved merchant may create orders and receive payouts (SPEC §4). A frozen
    /// one keeps its balance, but nothing moves until it is unfrozen.
    pub fn can_transact(self) -> bool {
        self == Self::Approved
    }

    /// How the state reads after "an application that is", for error messages.
    fn description(self) -> &'static str {
        match self {
            Self::Draft => "still a draft",
            Self::Submitted => "submitted",
            Self::VerifyingAccount => "verifying its bank account",
            Self::InReview => "in review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Frozen => "frozen",
            Self::Closed => "closed",
        }
    }
}

impl Transition {
    pub const ALL: [Transition; 10] = [
        Self::Submit,
        Self::StartVerification,
        Self::AccountVerified,
        Self::VerificationFailed,
        Self::RequestChanges,
        Self::Approve,
        Self::Reject,
        Self::Freeze,
        Self::Unfreeze,
        Self::Close,
    ];

    /// The states this transition may start from.
    pub fn from_states(self) -> &'static [ApplicationState] {
        use ApplicationState::*;
        match self {
            Self::Submit => &[Draft],
            Self::StartVerification => &[Submitted],
            Self::AccountVerified | Self::VerificationFailed => &[VerifyingAccount],
            Self::RequestChanges | Self::Approve | Self::Reject => &[InReview],
            Self::Freeze => &[Approved],
            Self::Unfreeze => &[Frozen],
            // A rejected application is closed too, so that its external_id can be retired.
            Self::Close => &[Draft, Submitted, VerifyingAccount, InReview, Approved, Rejected, Frozen],
        }
    }

    pub fn target(self) -> ApplicationState {
        use ApplicationState::*;
        match self {
            Self::Submit | Self::VerificationFailed => Submitted,
            Self::StartVerification => VerifyingAccount,
            Self::AccountVerified => InReview,
            Self::RequestChanges => Draft,
            Self::Approve | Self::Unfreeze => Approved,
            Self::Reject => Rejected,
            Self::Freeze => Frozen,
            Self::Close => Closed,
        }
    }

    /// The fixed text recorded in the transition history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::StartVerification => "start_verification",
            Self::AccountVerified => "account_verified",
            Self::VerificationFailed => "verification_failed",
            Self::RequestChanges => "request_changes",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Freeze => "freeze",
            Self::Unfreeze => "unfreeze",
            Self::Close => "close",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|transition| transition.as_str() == text)
    }

    /// How the transition reads before "an application", for error messages.
    fn verb(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::StartVerification => "start bank account verification for",
            Self::AccountVerified => "confirm the bank account of",
            Self::VerificationFailed => "fail the bank account verification of",
            Self::RequestChanges => "request changes to",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Freeze => "freeze",
            Self::Unfreeze => "unfreeze",
            Self::Close => "close",
        }
    }
}

crate::sql::text_column!(ApplicationState, ApplicationState::parse);
crate::sql::text_column!(Transition, Transition::parse);

/// What a line of a merchant's history records: its creation, or a transition.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum HistoryStep {
    Create,
    Transition(Transition),
}

impl HistoryStep {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryStep::Create => "create",
            HistoryStep::Transition(transition) => transition.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<HistoryStep> {
        match text {
            "create" => Some(HistoryStep::Create),
            other => Transition::parse(other).map(HistoryStep::Transition),
        }
    }
}

crate::sql::text_column!(HistoryStep, HistoryStep::parse);

impl fmt::Display for ApplicationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

serialize_as_code!(ApplicationState => as_str, Transition => as_str, HistoryStep => as_str);
