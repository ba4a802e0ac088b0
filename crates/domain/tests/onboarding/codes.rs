use domain::IdError;
use domain::onboarding::{ExternalId, RatePlanCode, SignType, SignTypeError};

#[test]
fn external_ids_are_short_url_safe_codes() {
    assert_eq!(ExternalId::parse("ISV-merchant_0042").unwrap().as_ref(), "ISV-merchant_0042");
    assert_eq!(ExternalId::parse(" abc ").unwrap().as_ref(), "abc");
    assert!(ExternalId::parse(&"a".repeat(64)).is_ok());
    assert_eq!(ExternalId::parse(""), Err(IdError::Empty));
    assert_eq!(ExternalId::parse("  "), Err(IdError::Empty));
    assert_eq!(ExternalId::parse(&"a".repeat(65)), Err(IdError::TooLong { max: 64 }));
    for text in ["a b", "a.b", "a/b", "商户1", "a\n b"] {
        assert_eq!(ExternalId::parse(text), Err(IdError::InvalidCharacter), "{text:?}");
    }
    assert_eq!(serde_json::to_string(&ExternalId::parse("m-1").unwrap()).unwrap(), "\"m-1\"");
}

#[test]
fn rate_plan_codes_are_lower_case() {
    assert_eq!(RatePlanCode::parse("standard_2024-q1").unwrap().to_string(), "standard_2024-q1");
    assert!(RatePlanCode::parse(&"a".repeat(32)).is_ok());
    assert_eq!(RatePlanCode::parse(""), Err(IdError::Empty));
    assert_eq!(RatePlanCode::parse(&"a".repeat(33)), Err(IdError::TooLong { max: 32 }));
    for text in ["Standard", "std plan", "标准"] {
        assert_eq!(RatePlanCode::parse(text), Err(IdError::InvalidCharacter), "{text:?}");
    }
}

#[test]
fn sign_types_are_spelt_exactly() {
    assert_eq!(SignType::parse("RSA2"), Ok(SignType::Rsa2));
    assert_eq!(SignType::parse("RSA"), Ok(SignType::Rsa));
    assert_eq!(SignType::default(), SignType::Rsa2);
    for sign_type in SignType::ALL {
        assert_eq!(SignType::parse(sign_type.as_str()), Ok(sign_type));
        let json = serde_json::to_string(&sign_type).unwrap();
        assert_eq!(json, format!("\"{}\"", sign_type.as_str()));
    }
    for text in ["", "rsa2", "RSA2 ", "RSA256", "HMAC", "MD5"] {
        assert_eq!(SignType::parse(text), Err(SignTypeError::Unknown), "{text:?}");
    }
    assert_eq!(SignTypeError::Unknown.to_string(), "sign type must be RSA2 or RSA");
}
