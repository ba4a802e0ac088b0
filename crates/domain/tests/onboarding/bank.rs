use domain::onboarding::{
    AccountHolder, AccountNumberError, AccountType, AccountTypeError, BankAccountNumber, BankCode, BankCodeError,
    BranchName, CnapsCode, CnapsError, SettlementAccount, SettlementAccountError,
};

use AccountType::{Corporate, Personal};

/// The Luhn check written out independently of the crate, to confirm which test numbers are
/// valid cards.
fn reference_luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (position, c) in digits.chars().rev().enumerate() {
        let mut digit = c.to_digit(10).unwrap();
        if position % 2 == 1 {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
    }
    sum % 10 == 0
}

/// Card numbers in real formats: a UnionPay debit card (BIN 622202, 19 digits), the
/// Agricultural Bank of China's published sandbox card, and the Visa test card (16 digits).
const VALID_CARDS: [&str; 3] = ["6222021234567890128", "6228480402564890018", "4111111111111111"];
/// The same formats with the check digit wrong: 6222021234567890123 is a commonly used example
/// that is not, in fact, Luhn-valid.
const INVALID_CARDS: [&str; 3] = ["6222021234567890123", "6228480402564890019", "4111111111111112"];

#[test]
fn the_test_cards_are_what_they_claim() {
    for card in VALID_CARDS {
        assert!(reference_luhn(card), "{card}");
    }
    for card in INVALID_CARDS {
        assert!(!reference_luhn(card), "{card}");
    }
}

#[test]
fn account_types_parse_from_their_codes() {
    for account_type in AccountType::ALL {
        assert_eq!(AccountType::parse(account_type.as_str()), Ok(account_type));
    }
    assert_eq!(AccountType::parse(" corporate "), Ok(Corporate));
    for text in ["", "Corporate", "business", "对公"] {
        assert_eq!(AccountType::parse(text), Err(AccountTypeError::Unknown), "{text:?}");
    }
    assert!(Corporate.requires_branch());
    assert!(!Personal.requires_branch());
    assert_eq!(serde_json::to_string(&Personal).unwrap(), "\"personal\"");
    assert_eq!(AccountTypeError::Unknown.to_string(), "account type must be corporate or personal");
}

#[test]
fn personal_accounts_are_luhn_checked_bank_cards() {
    for card in VALID_CARDS {
        let number = BankAccountNumber::parse(card, Personal).unwrap();
        assert_eq!(number.as_ref(), card);
        assert_eq!(number.account_type(), Personal);
    }
    for card in INVALID_CARDS {
        assert_eq!(BankAccountNumber::parse(card, Personal), Err(AccountNumberError::LuhnCheckFailed), "{card}");
    }
    // Grouped as printed on the card.
    let grouped = BankAccountNumber::parse(" 6222 0212 3456 7890 128 ", Personal).unwrap();
    assert_eq!(grouped.as_ref(), "6222021234567890128");
}

#[test]
fn corporate_accounts_are_checked_by_length_only() {
    let number = BankAccountNumber::parse("1100 1018 5000 5300 6751", Corporate).unwrap();
    assert_eq!(number.as_ref(), "11001018500053006751");
    assert_eq!(number.account_type(), Corporate);
    // Not a card, so a failing Luhn check is no reason to refuse it.
    assert!(BankAccountNumber::parse(INVALID_CARDS[0], Corporate).is_ok());
    assert!(BankAccountNumber::parse("12345678", Corporate).is_ok());
    assert!(BankAccountNumber::parse(&"9".repeat(32), Corporate).is_ok());
}

#[test]
fn lengths_are_checked_per_type() {
    let corporate = Err(AccountNumberError::WrongLength { min: 8, max: 32 });
    let personal = Err(AccountNumberError::WrongLength { min: 16, max: 19 });
    assert_eq!(BankAccountNumber::parse("1234567", Corporate), corporate);
    assert_eq!(BankAccountNumber::parse(&"9".repeat(33), Corporate), corporate);
    assert_eq!(BankAccountNumber::parse("", Corporate), corporate);
    // 15 and 20 digits, each Luhn-valid, so only the length is wrong.
    assert!(reference_luhn("622202123456782"));
    assert_eq!(BankAccountNumber::parse("622202123456782", Personal), personal);
    assert!(reference_luhn("62220212345678901234"));
    assert_eq!(BankAccountNumber::parse("62220212345678901234", Personal), personal);
    assert_eq!(BankAccountNumber::parse("   ", Personal), personal);
}

#[test]
fn only_digits_and_spaces_are_accepted() {
    for text in ["6222-0212-3456-7890-128", "6222021234567890l28", "６２２２021234567890128", "+6222021234567890128"]
    {
        for account_type in AccountType::ALL {
            assert_eq!(BankAccountNumber::parse(text, account_type), Err(AccountNumberError::NotDigits), "{text:?}");
        }
    }
}

#[test]
fn account_numbers_are_masked_in_debug_output() {
    let number = BankAccountNumber::parse("6222021234567890128", Personal).unwrap();
    assert_eq!(number.masked(), "6222***********0128");
    let debug = format!("{number:?}");
    assert!(debug.contains("6222***********0128"), "{debug}");
    assert!(!debug.contains("6222021234567890128"), "{debug}");
    assert_eq!(number.to_string(), "6222021234567890128");
    assert_eq!(serde_json::to_string(&number).unwrap(), "\"6222021234567890128\"");
    // A short corporate number still hides at least four digits.
    let short = BankAccountNumber::parse("12345678", Corporate).unwrap();
    assert_eq!(short.masked(), "****5678");
    let twelve = BankAccountNumber::parse("123456789012", Corporate).unwrap();
    assert_eq!(twelve.masked(), "1234****9012");
}

#[test]
fn account_number_errors_name_the_problem() {
    assert_eq!(AccountNumberError::NotDigits.to_string(), "account number may contain only digits and spaces");
    assert_eq!(
        AccountNumberError::WrongLength { min: 16, max: 19 }.to_string(),
        "account number must have 16 to 19 digits"
    );
    assert_eq!(
        AccountNumberError::LuhnCheckFailed.to_string(),
        "card number fails its check digit; it was probably mistyped"
    );
}

#[test]
fn bank_codes_are_short_capitalised_codes() {
    assert_eq!(BankCode::parse(" icbc ").unwrap().as_ref(), "ICBC");
    assert_eq!(BankCode::parse("CMB").unwrap().as_ref(), "CMB");
    assert_eq!(BankCode::parse("102").unwrap().as_ref(), "102");
    assert_eq!(BankCode::parse("AB").unwrap().as_ref(), "AB");
    assert_eq!(BankCode::parse("ABCDEFGHIJ12").unwrap().as_ref(), "ABCDEFGHIJ12");
    for text in ["", "C", "ABCDEFGHIJ123"] {
        assert_eq!(BankCode::parse(text), Err(BankCodeError::WrongLength), "{text:?}");
    }
    for text in ["IC-BC", "I CBC", "工商银行", "ＩＣＢＣ"] {
        assert_eq!(BankCode::parse(text), Err(BankCodeError::InvalidCharacter), "{text:?}");
    }
    assert_eq!(BankCodeError::WrongLength.to_string(), "bank code must be 2 to 12 characters long");
    assert_eq!(BankCodeError::InvalidCharacter.to_string(), "bank code may contain only the letters A to Z and digits");
}

#[test]
fn cnaps_codes_are_twelve_digits() {
    // The CNAPS code of ICBC's head office business department.
    assert_eq!(CnapsCode::parse(" 102100099996 ").unwrap().as_ref(), "102100099996");
    for text in ["", "10210009999", "1021000999961"] {
        assert_eq!(CnapsCode::parse(text), Err(CnapsError::WrongLength), "{text:?}");
    }
    for text in ["10210009999X", "102 100099996", "１02100099996"] {
        assert_eq!(CnapsCode::parse(text), Err(CnapsError::NotDigits), "{text:?}");
    }
    assert_eq!(CnapsError::WrongLength.to_string(), "CNAPS code must be exactly 12 digits");
    assert_eq!(CnapsError::NotDigits.to_string(), "CNAPS code may contain only digits");
}

fn holder() -> AccountHolder {
    AccountHolder::parse("北京百度网讯科技有限公司").unwrap()
}

fn branch() -> Option<BranchName> {
    Some(BranchName::parse("中国工商银行北京上地支行").unwrap())
}

fn cnaps() -> Option<CnapsCode> {
    Some(CnapsCode::parse("102100099996").unwrap())
}

fn icbc() -> BankCode {
    BankCode::parse("ICBC").unwrap()
}

#[test]
fn corporate_accounts_need_their_branch_and_cnaps_code() {
    let number = BankAccountNumber::parse("11001018500053006751", Corporate).unwrap();
    let account = SettlementAccount::new(holder(), number.clone(), icbc(), branch(), cnaps()).unwrap();
    assert_eq!(account.account_type(), Corporate);
    assert_eq!(account.holder(), &holder());
    assert_eq!(account.number(), &number);
    assert_eq!(account.bank_code(), &icbc());
    assert_eq!(account.branch_name(), branch().as_ref());
    assert_eq!(account.cnaps_code(), cnaps().as_ref());

    assert_eq!(
        SettlementAccount::new(holder(), number.clone(), icbc(), None, cnaps()),
        Err(SettlementAccountError::MissingBranchName)
    );
    assert_eq!(
        SettlementAccount::new(holder(), number, icbc(), branch(), None),
        Err(SettlementAccountError::MissingCnapsCode)
    );
    assert_eq!(SettlementAccountError::MissingBranchName.to_string(), "a corporate account needs its branch name");
    assert_eq!(SettlementAccountError::MissingCnapsCode.to_string(), "a corporate account needs its CNAPS code");
}

#[test]
fn personal_accounts_need_no_branch() {
    let number = BankAccountNumber::parse(VALID_CARDS[0], Personal).unwrap();
    let account = SettlementAccount::new(holder(), number.clone(), icbc(), None, None).unwrap();
    assert_eq!(account.account_type(), Personal);
    assert_eq!(account.branch_name(), None);
    assert_eq!(account.cnaps_code(), None);
    // Kept when given anyway.
    let with_branch = SettlementAccount::new(holder(), number, icbc(), branch(), None).unwrap();
    assert_eq!(with_branch.branch_name(), branch().as_ref());
}

#[test]
fn a_stored_account_number_shows_only_its_ends_in_debug() {
    let stored = domain::onboarding::StoredAccountNumber::new("6222020000010006666");
    assert_eq!(format!("{stored:?}"), "6222***********6666");
    assert_eq!(stored.digits(), "6222020000010006666", "the digits are there for who needs them");
    let card = BankAccountNumber::parse("6222 0200 0001 0006 666", Personal).expect("a valid card");
    let from_card = domain::onboarding::StoredAccountNumber::from(&card);
    assert_eq!(from_card, stored, "stored as its digits");
    assert!(!format!("{from_card:?}").contains("0200000100"));
}
