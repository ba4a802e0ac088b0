use domain::onboarding::{Email, EmailError, MainlandMobile, MobileError};

#[test]
fn accepts_mainland_mobiles_in_their_usual_spellings() {
    for text in [
        "13800138000",
        " 13800138000 ",
        "138 0013 8000",
        "138-0013-8000",
        "+8613800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "8613800138000",
        "86 138 0013 8000",
    ] {
        let mobile = MainlandMobile::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(mobile.as_ref(), "13800138000", "{text:?}");
    }
    for network in '3'..='9' {
        let text = format!("1{network}912345678");
        assert_eq!(MainlandMobile::parse(&text).unwrap().as_ref(), text);
    }
}

#[test]
fn rejects_wrong_lengths() {
    for text in ["", "   ", "+", "1380013800", "138001380001", "+86", "+861380013800"] {
        assert_eq!(MainlandMobile::parse(text), Err(MobileError::WrongLength), "{text:?}");
    }
}

#[test]
fn rejects_non_digits() {
    for text in
        ["1380013800O", "138.0013.8000", "(138)00138000", "１３８００１３８０００", "+86+13800138000", "13800138000+"]
    {
        assert_eq!(MainlandMobile::parse(text), Err(MobileError::NotDigits), "{text:?}");
    }
}

#[test]
fn rejects_numbers_that_are_not_mainland_mobiles() {
    for text in [
        "23800138000",    // not starting with 1
        "12800138000",    // no network 2
        "10086100861",    // no network 0
        "+85291234567",   // Hong Kong
        "+14155552671",   // United States
        "86138001380",    // 11 digits, so 86 is not a country code here
        "+8623800138000", // mainland, but not a mobile
    ] {
        assert_eq!(MainlandMobile::parse(text), Err(MobileError::NotMainland), "{text:?}");
    }
}

#[test]
fn masks_the_middle_digits_even_in_debug_output() {
    let mobile = MainlandMobile::parse("13812341234").unwrap();
    assert_eq!(mobile.masked(), "138****1234");
    let debug = format!("{mobile:?}");
    assert!(debug.contains("138****1234"), "{debug}");
    assert!(!debug.contains("13812341234"), "{debug}");
    assert_eq!(serde_json::to_string(&mobile).unwrap(), "\"13812341234\"");
}

#[test]
fn accepts_common_email_addresses_and_lower_cases_the_domain() {
    let cases = [
        ("li.si@example.com", "li.si@example.com"),
        ("  Li.Si@Example.COM ", "Li.Si@example.com"),
        ("ops+onboarding@mail.example.com.cn", "ops+onboarding@mail.example.com.cn"),
        ("a_b-c@xn--fiqs8s.cn", "a_b-c@xn--fiqs8s.cn"),
        ("12345@qq.com", "12345@qq.com"),
        ("o'brien@a-b.example", "o'brien@a-b.example"),
    ];
    for (text, stored) in cases {
        assert_eq!(Email::parse(text).unwrap().as_ref(), stored, "{text:?}");
    }
    let longest_local = format!("{}@example.com", "a".repeat(64));
    assert!(Email::parse(&longest_local).is_ok());
    // 64 + 1 + 189 = 254 characters, the most allowed.
    let longest_domain = format!("{}.{}.{}.com", "b".repeat(63), "c".repeat(63), "d".repeat(57));
    let longest = format!("{}@{longest_domain}", "a".repeat(64));
    assert_eq!(longest.len(), 254);
    assert_eq!(Email::parse(&longest).unwrap().as_ref(), longest);
    let one_more = longest.replace(".com", "d.com");
    assert_eq!(one_more.len(), 255);
    assert_eq!(Email::parse(&one_more), Err(EmailError::TooLong));
}

#[test]
fn rejects_empty_and_too_long_addresses() {
    assert_eq!(Email::parse(""), Err(EmailError::Empty));
    assert_eq!(Email::parse("   "), Err(EmailError::Empty));
    let long_local = format!("{}@example.com", "a".repeat(65));
    assert_eq!(Email::parse(&long_local), Err(EmailError::TooLong));
    let labels = vec!["a".repeat(60); 5].join(".");
    let long_total = format!("someone@{labels}.com");
    assert!(long_total.len() > 254);
    assert_eq!(Email::parse(&long_total), Err(EmailError::TooLong));
}

#[test]
fn rejects_malformed_addresses() {
    for text in [
        "plainaddress",
        "@example.com",
        "li.si@",
        "li@si@example.com",
        "li si@example.com",
        "li.si@example",
        "li.si@example..com",
        "li.si@.example.com",
        "li.si@example.com.",
        "li.si@-example.com",
        "li.si@example-.com",
        "li.si@exa_mple.com",
        "li.si@例子.公司",
        ".lisi@example.com",
        "lisi.@example.com",
        "li..si@example.com",
        "\"li si\"@example.com",
        "li,si@example.com",
        "<li@example.com>",
        "李四@example.com",
        "li.si@192.168.0.1",
        "li.si@[192.168.0.1]",
    ] {
        assert_eq!(Email::parse(text), Err(EmailError::Malformed), "{text:?}");
    }
    let long_label = format!("li@{}.com", "a".repeat(64));
    assert_eq!(Email::parse(&long_label), Err(EmailError::Malformed));
}

#[test]
fn error_messages_name_the_problem() {
    assert_eq!(MobileError::WrongLength.to_string(), "mobile number must have 11 digits");
    assert_eq!(
        MobileError::NotDigits.to_string(),
        "mobile number may contain only digits, spaces, hyphens and a leading +86"
    );
    assert_eq!(MobileError::NotMainland.to_string(), "mobile number is not a mainland China mobile number");
    assert_eq!(EmailError::Empty.to_string(), "email address is empty");
    assert!(EmailError::TooLong.to_string().contains("at most 254 characters"));
    assert_eq!(EmailError::Malformed.to_string(), "email address is not in the form name@example.com");
}
