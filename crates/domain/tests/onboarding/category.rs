use std::collections::HashSet;

use domain::onboarding::{BusinessCategory, CategoryError, ProhibitedCategory};

#[test]
fn every_category_parses_from_its_own_code() {
    for category in BusinessCategory::ALL {
        assert_eq!(BusinessCategory::parse(category.code()), Ok(category));
        assert!(!category.label_zh().is_empty());
        assert!(!category.label_en().is_empty());
        let json = serde_json::to_string(&category).unwrap();
        assert_eq!(json, format!("\"{}\"", category.code()));
    }
    let codes: HashSet<_> = BusinessCategory::ALL.iter().map(|c| c.code()).collect();
    let labels: HashSet<_> = BusinessCategory::ALL.iter().map(|c| c.label_zh()).collect();
    assert_eq!(codes.len(), BusinessCategory::ALL.len(), "codes are unique");
    assert_eq!(labels.len(), BusinessCategory::ALL.len(), "labels are unique");
}

#[test]
fn codes_are_stable_snake_case() {
    let expected = [
        "retail",
        "catering",
        "e_commerce",
        "education",
        "travel",
        "entertainment",
        "software_services",
        "logistics",
        "healthcare",
        "life_services",
        "transport",
        "other",
    ];
    let codes: Vec<_> = BusinessCategory::ALL.iter().map(|c| c.code()).collect();
    assert_eq!(codes, expected);
    assert_eq!(BusinessCategory::ECommerce.label_zh(), "电子商务");
    assert_eq!(BusinessCategory::Catering.label_en(), "catering");
}

#[test]
fn parsing_ignores_case_and_surrounding_whitespace() {
    assert_eq!(BusinessCategory::parse(" E_Commerce "), Ok(BusinessCategory::ECommerce));
    assert_eq!(BusinessCategory::parse("RETAIL"), Ok(BusinessCategory::Retail));
}

#[test]
fn prohibited_categories_are_refused_with_their_reason() {
    use ProhibitedCategory::*;
    let cases = [
        ("politics", Politics),
        ("military_police_equipment", MilitaryPoliceEquipment),
        ("gambling", GamblingDrugsPornography),
        ("drugs", GamblingDrugsPornography),
        ("pornography", GamblingDrugsPornography),
        ("illegal_medical_devices", IllegalMedicalDevices),
        ("protected_species", ProtectedSpecies),
        ("telecom_fraud", TelecomFraud),
        ("illegal_virtual_currency", IllegalVirtualCurrency),
        ("counterfeit_goods", CounterfeitGoods),
        (" Gambling ", GamblingDrugsPornography),
    ];
    for (code, prohibited) in cases {
        assert_eq!(BusinessCategory::parse(code), Err(CategoryError::Prohibited(prohibited)), "{code:?}");
    }
    // Every prohibited category is reachable by some code.
    let reached: HashSet<_> = cases.iter().map(|(_, p)| *p).collect();
    assert_eq!(reached.len(), ProhibitedCategory::ALL.len());
}

#[test]
fn prohibited_reasons_follow_seed_001() {
    let seed = "凡涉政治类、军警器材治安类、黄赌毒及相关、非法医疗器械类、国家保护动植物类、\
                电信欺诈非法服务类、违法违规虚拟货币类、假冒伪劣产品类等不予合作";
    for prohibited in ProhibitedCategory::ALL {
        assert!(seed.contains(prohibited.reason_zh()), "{prohibited:?}");
        assert!(!prohibited.reason_en().is_empty());
    }
    assert_eq!(
        CategoryError::Prohibited(ProhibitedCategory::GamblingDrugsPornography).to_string(),
        "business category is prohibited: gambling, drugs or pornography"
    );
    assert_eq!(
        CategoryError::Prohibited(ProhibitedCategory::TelecomFraud).to_string(),
        "business category is prohibited: telecom fraud or illegal services"
    );
}

#[test]
fn no_allowed_code_is_also_prohibited() {
    for category in BusinessCategory::ALL {
        assert_eq!(ProhibitedCategory::parse(category.code()), None);
    }
}

#[test]
fn unknown_codes_are_refused() {
    for code in ["", "shop", "零售", "e-commerce", "retail_", "ecommerce"] {
        assert_eq!(BusinessCategory::parse(code), Err(CategoryError::Unknown), "{code:?}");
    }
    assert_eq!(CategoryError::Unknown.to_string(), "business category is not one of the allowed categories");
}
