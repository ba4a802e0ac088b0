use domain::onboarding::{IcpError, IcpFilingNumber};

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

#[test]
fn accepts_filings_and_licences() {
    for text in [
        "京ICP备12345678号",
        "京ICP备12345678号-1",
        "京ICP备12345678号-123",
        "沪ICP证123456号",
        "粤ICP备12345号",
        "浙ICP备1234567890号",
        "京ICP证030173号",
    ] {
        assert_eq!(IcpFilingNumber::parse(text).unwrap().as_ref(), text);
    }
}

#[test]
fn stores_the_canonical_spelling() {
    let number = IcpFilingNumber::parse("  京icp备12345678号-2 ").unwrap();
    assert_eq!(number.as_ref(), "京ICP备12345678号-2");
    assert_eq!(number.to_string(), "京ICP备12345678号-2");
    assert_eq!(serde_json::to_string(&number).unwrap(), "\"京ICP备12345678号-2\"");
}

#[test]
fn accepts_every_province_and_nothing_else() {
    assert_eq!(PROVINCES.chars().count(), 31);
    for province in PROVINCES.chars() {
        let text = format!("{province}ICP备12345678号");
        assert!(IcpFilingNumber::parse(&text).is_ok(), "{text}");
    }
    // Hong Kong, Macao and Taiwan do not issue ICP filings; 中 is not a province.
    for province in ['港', '澳', '台', '中', 'B'] {
        let text = format!("{province}ICP备12345678号");
        assert_eq!(IcpFilingNumber::parse(&text), Err(IcpError::Malformed), "{text}");
    }
}

#[test]
fn rejects_malformed_numbers() {
    for text in [
        "",
        "京",
        "ICP备12345678号",
        "京ICP12345678号",
        "京IC备12345678号",
        "京ICP案12345678号",
        "京ICP备1234号",
        "京ICP备12345678901号",
        "京ICP备12345678",
        "京ICP备号",
        "京ICP备12345678号-",
        "京ICP备12345678号-1234",
        "京ICP备12345678号-a",
        "京ICP备12345678号1",
        "京ICP备12345678号 -1",
        "京ICP备 12345678号",
        "京ICP备１２３４５６７８号",
        "京ICP备12345678号-1-2",
        "京公网安备11000002000001号",
        "京ICP备12345678号.",
    ] {
        assert_eq!(IcpFilingNumber::parse(text), Err(IcpError::Malformed), "{text:?}");
    }
}

#[test]
fn error_message_shows_the_expected_form() {
    assert_eq!(
        IcpError::Malformed.to_string(),
        "ICP filing number is not in the form 京ICP备12345678号 or 京ICP备12345678号-1"
    );
}
