use domain::onboarding::{BranchName, LegalName, PersonName, ShortName, SiteName, TextError};

#[test]
fn accepts_and_trims_names() {
    let name = LegalName::parse("  北京百度网讯科技有限公司\u{3000}").unwrap();
    assert_eq!(name.as_ref(), "北京百度网讯科技有限公司");
    assert_eq!(name.to_string(), "北京百度网讯科技有限公司");
    assert_eq!(ShortName::parse("百度").unwrap().as_ref(), "百度");
    assert_eq!(PersonName::parse("\t张三 ").unwrap().as_ref(), "张三");
    assert_eq!(SiteName::parse("https://www.example.com").unwrap().as_ref(), "https://www.example.com");
    assert_eq!(BranchName::parse("中国工商银行北京上地支行").unwrap().as_ref(), "中国工商银行北京上地支行");
    // Inner spaces are part of the name.
    assert_eq!(PersonName::parse("Li  Si").unwrap().as_ref(), "Li  Si");
}

/// Parses a text and counts the characters of what was kept.
type CharsOf = fn(&str) -> Result<usize, TextError>;

#[test]
fn limits_count_characters_not_bytes() {
    let cases: [(CharsOf, usize); 5] = [
        (|t| LegalName::parse(t).map(|n| n.as_ref().chars().count()), 128),
        (|t| ShortName::parse(t).map(|n| n.as_ref().chars().count()), 32),
        (|t| PersonName::parse(t).map(|n| n.as_ref().chars().count()), 64),
        (|t| SiteName::parse(t).map(|n| n.as_ref().chars().count()), 128),
        (|t| BranchName::parse(t).map(|n| n.as_ref().chars().count()), 128),
    ];
    for (parse, max) in cases {
        // Three bytes each, so a byte limit would reject these long before `max`.
        assert_eq!(parse(&"京".repeat(max)), Ok(max));
        assert_eq!(parse(&"京".repeat(max + 1)), Err(TextError::TooLong { max }));
        // Surrounding whitespace does not count towards the limit.
        assert_eq!(parse(&format!("  {}  ", "a".repeat(max))), Ok(max));
    }
    assert_eq!(LegalName::MAX_CHARS, 128);
    assert_eq!(ShortName::MAX_CHARS, 32);
    assert_eq!(PersonName::MAX_CHARS, 64);
    assert_eq!(SiteName::MAX_CHARS, 128);
    assert_eq!(BranchName::MAX_CHARS, 128);
}

#[test]
fn rejects_empty_and_blank_text() {
    for text in ["", " ", "\t\n", "\u{3000}"] {
        assert_eq!(LegalName::parse(text), Err(TextError::Empty), "{text:?}");
        assert_eq!(BranchName::parse(text), Err(TextError::Empty), "{text:?}");
    }
}

#[test]
fn rejects_control_and_direction_changing_characters() {
    for text in [
        "张\n三",
        "张\u{0}三",
        "a\u{7f}b",
        "Acme\u{202E}moc.evil",
        "Acme\u{2066}x\u{2069}",
        "Ac\u{200B}me",
        "Acme\u{200F}",
        "\u{FEFF}Acme",
        "Acme\u{2028}Ltd",
    ] {
        assert_eq!(ShortName::parse(text), Err(TextError::ControlCharacter), "{text:?}");
    }
    // A leading or trailing newline is just whitespace and is trimmed away.
    assert!(ShortName::parse("Acme\n").is_ok());
}

#[test]
fn serializes_as_the_plain_string() {
    let name = ShortName::parse(" 百度 ").unwrap();
    assert_eq!(serde_json::to_string(&name).unwrap(), "\"百度\"");
}

#[test]
fn error_messages_name_the_problem() {
    assert_eq!(TextError::Empty.to_string(), "text is empty");
    assert_eq!(TextError::TooLong { max: 32 }.to_string(), "text is longer than 32 characters");
    assert_eq!(TextError::ControlCharacter.to_string(), "text contains a control character");
}

#[test]
fn a_corporate_account_holder_may_be_as_long_as_a_legal_name() {
    use domain::onboarding::AccountHolder;
    let company = "某".repeat(128);
    assert_eq!(AccountHolder::parse(&company).unwrap().as_ref(), company);
    assert_eq!(AccountHolder::parse(&"某".repeat(129)), Err(TextError::TooLong { max: 128 }));
    assert_eq!(AccountHolder::MAX_CHARS, LegalName::MAX_CHARS);
}
