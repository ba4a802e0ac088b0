//! The settlement bank account that payouts go to: its type, number, bank and, for corporate
//! accounts, branch.

use std::fmt;

use serde::Serialize;

use super::text::{AccountHolder, BranchName, mask};

/// Whether payouts go to a company's account (对公) or a person's bank card (对私).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum AccountType {
    Corporate,
    Personal,
}

crate::sql::text_column!(AccountType, |text| AccountType::parse(text).ok());

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum AccountTypeError {
    #[error("account type must be corporate or personal")]
    Unknown,
}

impl AccountType {
    pub const ALL: [AccountType; 2] = [Self::Corporate, Self::Personal];

    pub fn parse(text: &str) -> Result<Self, AccountTypeError> {
        match text.trim() {
            "corporate" => Ok(Self::Corporate),
            "personal" => Ok(Self::Personal),
            _ => Err(AccountTypeError::Unknown),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Corporate => "corporate",
            Self::Personal => "personal",
        }
    }

    /// A payout to a corporate account must name its branch; to anything else it need not
    /// (seed 002: 只有代付到企业银行账户,需要传支行信息).
    pub fn requires_branch(self) -> bool {
        self == Self::Corporate
    }

    /// The digits an account number of this type may have: a bank card has 16 to 19, while
    /// corporate account numbers vary by bank.
    pub fn number_digits(self) -> (usize, usize) {
        match self {
            Self::Corporate => (8, 32),
            Self::Personal => (16, 19),
        }
    }
}

serialize_as_code!(AccountType => as_str);

/// An account number that is valid for its account type: bank cards pass the Luhn check.
///
/// It remembers the type it was checked for, so a settlement account can never pair a number
/// with a type whose rules it was not checked against. `Debug` shows it masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BankAccountNumber {
    digits: String,
    account_type: AccountType,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum AccountNumberError {
    #[error("account number may contain only digits and spaces")]
    NotDigits,
    #[error("account number must have {min} to {max} digits")]
    WrongLength { min: usize, max: usize },
    #[error("card number fails its check digit; it was probably mistyped")]
    LuhnCheckFailed,
}

impl BankAccountNumber {
    /// Parses an account number, ignoring the spaces people group digits with.
    pub fn parse(text: &str, account_type: AccountType) -> Result<Self, AccountNumberError> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AccountNumberError::NotDigits);
        }
        let (min, max) = account_type.number_digits();
        if !(min..=max).contains(&digits.len()) {
            return Err(AccountNumberError::WrongLength { min, max });
        }
        // Only bank cards carry a Luhn check digit; corporate account numbers follow each bank's
        // own scheme, so for them the length is all that can be checked.
        if account_type == AccountType::Personal && !passes_luhn(&digits) {
            return Err(AccountNumberError::LuhnCheckFailed);
        }
        Ok(Self { digits, account_type })
    }

    pub fn account_type(&self) -> AccountType {
        self.account_type
    }

    /// The first and last four digits, e.g. "6222***********0128".
    pub fn masked(&self) -> String {
        mask(&self.digits, 4, 4)
    }
}

impl AsRef<str> for BankAccountNumber {
    fn as_ref(&self) -> &str {
        &self.digits
    }
}

impl fmt::Display for BankAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

/// As the plain digits, like every other value type here.
impl Serialize for BankAccountNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.digits)
    }
}

impl fmt::Debug for BankAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BankAccountNumber")
            .field("digits", &self.masked())
            .field("account_type", &self.account_type)
            .finish()
    }
}

/// An account number as a row holds it (checked when it was written), for code that reads rows:
/// its `Debug` shows only the first and last four digits, so a row logged or printed in a panic
/// never carries the whole number. The digits themselves are [`StoredAccountNumber::digits`].
#[derive(Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize, diesel_derive_newtype::DieselNewType)]
#[serde(transparent)]
pub struct StoredAccountNumber(String);

impl StoredAccountNumber {
    pub fn new(digits: impl Into<String>) -> StoredAccountNumber {
        StoredAccountNumber(digits.into())
    }

    /// All the digits: for the channel that pays to it, an admin's reveal, a bank file.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The first and last four digits, e.g. "6222***********0128".
    pub fn masked(&self) -> String {
        mask(&self.0, 4, 4)
    }
}

impl fmt::Debug for StoredAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl From<&BankAccountNumber> for StoredAccountNumber {
    fn from(number: &BankAccountNumber) -> StoredAccountNumber {
        StoredAccountNumber(number.digits.clone())
    }
}

/// The Luhn (mod 10) check: from the right, every second digit is doubled (minus 9 when over 9),
/// and the sum of all digits must be a multiple of 10.
fn passes_luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .map(|b| u32::from(b - b'0'))
        .enumerate()
        .map(|(position, digit)| match (position % 2, digit * 2) {
            (1, doubled) if doubled > 9 => doubled - 9,
            (1, doubled) => doubled,
            _ => digit,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The bank's code, e.g. "ICBC", "CMB", or its three-digit number "102". Stored in capitals.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct BankCode(String);

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum BankCodeError {
    #[error("bank code must be 2 to 12 characters long")]
    WrongLength,
    #[error("bank code may contain only the letters A to Z and digits")]
    InvalidCharacter,
}

const BANK_CODE_CHARS: std::ops::RangeInclusive<usize> = 2..=12;

impl BankCode {
    pub fn parse(text: &str) -> Result<Self, BankCodeError> {
        let code = text.trim().to_ascii_uppercase();
        if !code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return Err(BankCodeError::InvalidCharacter);
        }
        // ASCII by now, so bytes and characters count the same.
        if !BANK_CODE_CHARS.contains(&code.len()) {
            return Err(BankCodeError::WrongLength);
        }
        Ok(Self(code))
    }
}

/// The 12-digit CNAPS bank code (联行号) of the branch that holds a corporate account.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct CnapsCode(String);

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum CnapsError {
    #[error("CNAPS code may contain only digits")]
    NotDigits,
    #[error("CNAPS code must be exactly 12 digits")]
    WrongLength,
}

const CNAPS_DIGITS: usize = 12;

impl CnapsCode {
    pub fn parse(text: &str) -> Result<Self, CnapsError> {
        let code = text.trim();
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CnapsError::NotDigits);
        }
        if code.len() != CNAPS_DIGITS {
            return Err(CnapsError::WrongLength);
        }
        Ok(Self(code.to_owned()))
    }
}

string_views!(BankCode, CnapsCode);

/// Where a sub-merchant's payouts go. A corporate account always has its branch name and CNAPS
/// code, because a payout to it cannot be made without them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SettlementAccount {
    holder: AccountHolder,
    number: BankAccountNumber,
    bank_code: BankCode,
    branch_name: Option<BranchName>,
    cnaps_code: Option<CnapsCode>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SettlementAccountError {
    #[error("a corporate account needs its branch name")]
    MissingBranchName,
    #[error("a corporate account needs its CNAPS code")]
    MissingCnapsCode,
}

impl SettlementAccount {
    /// The account type is the one `number` was checked for. Branch details are kept for a
    /// personal account when given, since they do no harm and some banks route faster with them.
    pub fn new(
        holder: AccountHolder,
        number: BankAccountNumber,
        bank_code: BankCode,
        branch_name: Option<BranchName>,
        cnaps_code: Option<CnapsCode>,
    ) -> Result<Self, SettlementAccountError> {
        if number.account_type().requires_branch() {
            if branch_name.is_none() {
                return Err(SettlementAccountError::MissingBranchName);
            }
            if cnaps_code.is_none() {
                return Err(SettlementAccountError::MissingCnapsCode);
            }
        }
        Ok(Self { holder, number, bank_code, branch_name, cnaps_code })
    }

    pub fn account_type(&self) -> AccountType {
        self.number.account_type()
    }

    pub fn holder(&self) -> &AccountHolder {
        &self.holder
    }

    pub fn number(&self) -> &BankAccountNumber {
        &self.number
    }

    pub fn bank_code(&self) -> &BankCode {
        &self.bank_code
    }

    pub fn branch_name(&self) -> Option<&BranchName> {
        self.branch_name.as_ref()
    }

    pub fn cnaps_code(&self) -> Option<&CnapsCode> {
        self.cnaps_code.as_ref()
    }
}
