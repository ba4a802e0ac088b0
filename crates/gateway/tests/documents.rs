//! The documents clients rely on agree with the code: every error code is in
//! docs/gateway-errors.md (and no other), and every routed method is in the OpenAPI document.
use std::collections::BTreeSet;

#[test]
fn the_error_table_matches_the_code() {
    let doc = include_str!("../../../docs/gateway-errors.md");
    let documented: BTreeSet<&str> =
        doc.lines().filter_map(|line| line.strip_prefix("| -")).filter_map(|rest| rest.split(' ').next()).collect();
    let produced: BTreeSet<String> = gateway::GatewayError::examples()
        .iter()
        .map(|error| error.code().trim_start_matches('-').to_string())
        .collect();
    let produced: BTreeSet<&str> = produced.iter().map(String::as_str).collect();
    assert_eq!(documented, produced);
    for error in gateway::GatewayError::examples() {
        assert!(!error.to_string().is_empty(), "{error:?} has a message");
    }
}

#[test]
fn the_openapi_document_describes_every_method() {
    let document: serde_json::Value = serde_json::from_str(include_str!("../openapi.json")).expect("valid JSON");
    assert_eq!(document["openapi"], "3.1.0");
    for (method, _) in gateway::methods::METHODS {
        let entry = &document["x-methods"][method];
        assert!(
            entry["content"]["$ref"].is_string() && entry["return_value"]["$ref"].is_string(),
            "{method} is documented"
        );
        for part in ["content", "return_value"] {
            let reference = entry[part]["$ref"].as_str().unwrap();
            let name = reference.trim_start_matches("#/components/schemas/");
            assert!(document["components"]["schemas"][name].is_object(), "{reference} exists");
        }
    }
}
