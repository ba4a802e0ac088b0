use domain::onboarding::{CreditCodeError, UnifiedSocialCreditCode};

/// Codes of real, registered companies, as published on their business licences and in the
/// National Enterprise Credit Information Publicity System.
const REAL_CODES: [(&str, &str); 6] = [
    ("91110000802100433B", "北京百度网讯科技有限公司"),
    ("9144030071526726XG", "腾讯科技（深圳）有限公司"),
    ("914403001922038216", "华为技术有限公司"),
    ("91110108551385082Q", "小米科技有限责任公司"),
    ("91330100799655058B", "阿里巴巴（中国）有限公司"),
    ("91100000100003962T", "中国工商银行股份有限公司"),
];

/// The sample code in the documentation of many GB 32100 validators, with a letter in its body.
const SAMPLE_CODE: &str = "91350100M000100Y43";

const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100-2015's check character, computed independently of the crate: the weights are
/// generated as 3^i mod 31 here instead of read from a table.
fn reference_check_character(first_seventeen: &str) -> char {
    let mut weight = 1_u32;
    let mut sum = 0_u32;
    for c in first_seventeen.chars() {
        let value = u32::try_from(ALPHABET.find(c).expect("code character")).unwrap();
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    ALPHABET.chars().nth(check as usize).unwrap()
}

#[test]
fn real_codes_pass_and_agree_with_the_reference_algorithm() {
    for (code, company) in REAL_CODES.into_iter().chain([(SAMPLE_CODE, "sample")]) {
        let (body, check) = code.split_at(17);
        assert_eq!(reference_check_character(body).to_string(), check, "{company}");
        let parsed = UnifiedSocialCreditCode::parse(code).unwrap();
        assert_eq!(parsed.as_ref(), code, "{company}");
        assert_eq!(parsed.to_string(), code);
    }
}

#[test]
fn accepts_lower_case_and_surrounding_whitespace() {
    let parsed = UnifiedSocialCreditCode::parse("  9144030071526726xg\n").unwrap();
    assert_eq!(parsed.as_ref(), "9144030071526726XG");
}

#[test]
fn every_single_character_change_is_caught() {
    for (code, _) in REAL_CODES {
        let original: Vec<char> = code.chars().collect();
        for position in 0..18 {
            for replacement in ALPHABET.chars().filter(|&c| c != original[position]) {
                let mut changed = original.clone();
                changed[position] = replacement;
                let changed: String = changed.into_iter().collect();
                let expected = reference_check_character(&changed[..17]);
                assert_eq!(
                    UnifiedSocialCreditCode::parse(&changed),
                    Err(CreditCodeError::CheckCharacterMismatch { expected }),
                    "{changed}"
                );
                // A changed check character is reported with the right one.
                if position == 17 {
                    assert_eq!(Some(expected), original.last().copied());
                }
            }
        }
    }
}

#[test]
fn swapped_neighbours_are_caught() {
    let code = "91110000802100433B";
    let swapped = "91110000820100433B";
    assert!(matches!(UnifiedSocialCreditCode::parse(swapped), Err(CreditCodeError::CheckCharacterMismatch { .. })));
    assert!(UnifiedSocialCreditCode::parse(code).is_ok());
}

#[test]
fn rejects_wrong_lengths() {
    for text in ["", "   ", "91110000802100433", "91110000802100433BB", "110108000673293", "统一社会信用代码"] {
        assert_eq!(UnifiedSocialCreditCode::parse(text), Err(CreditCodeError::WrongLength), "{text:?}");
    }
}

#[test]
fn rejects_characters_outside_the_alphabet() {
    // I, O, S, V and Z are not used; neither is punctuation or a full-width digit.
    for text in [
        "9111000080210043IB",
        "9111000080210043OB",
        "9111000080210043SB",
        "9111000080210043VB",
        "9111000080210043ZB",
        "91110000-802100433",
        "９1110000802100433B",
    ] {
        assert_eq!(UnifiedSocialCreditCode::parse(text), Err(CreditCodeError::InvalidCharacter), "{text:?}");
    }
}

#[test]
fn masks_the_middle() {
    let code = UnifiedSocialCreditCode::parse("91110000802100433B").unwrap();
    assert_eq!(code.masked(), "9111**********433B");
}

#[test]
fn serializes_as_the_plain_string() {
    let code = UnifiedSocialCreditCode::parse("914403001922038216").unwrap();
    assert_eq!(serde_json::to_string(&code).unwrap(), "\"914403001922038216\"");
}

#[test]
fn error_messages_name_the_problem() {
    assert_eq!(
        CreditCodeError::WrongLength.to_string(),
        "unified social credit code must be exactly 18 characters long"
    );
    assert!(CreditCodeError::InvalidCharacter.to_string().contains("except I, O, S, V and Z"));
    assert_eq!(
        CreditCodeError::CheckCharacterMismatch { expected: 'B' }.to_string(),
        "unified social credit code has a wrong check character (expected B)"
    );
}
