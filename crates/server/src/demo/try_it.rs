//! The ready-to-run signed `curl` call the demo prints (SPEC §10): a uniorder for the first
//! sub-merchant, signed with its key, so a new user places an order with one paste.
use anyhow::Context;
use fshows::signature::{SignType, Signer, string_to_sign};
use rsa::{RsaPrivateKey, pkcs8::DecodePrivateKey};

use super::seed::SubMerchant;

const METHOD: &str = "fshows.liquidation.jdpay.uniorder";

/// `curl` posting a signed uniorder of 0.01 for `merchant`; `out_trade_no` makes it new.
pub fn curl_call(base_url: &str, merchant: &SubMerchant, out_trade_no: &str) -> anyhow::Result<String> {
    let pem = std::fs::read_to_string(&merchant.private_key_pem_path)
        .with_context(|| format!("could not read {}", merchant.private_key_pem_path.display()))?;
    let key = RsaPrivateKey::from_pkcs8_pem(&pem).context("the merchant's key is not a PKCS#8 RSA key")?;
    let sign_type = SignType::parse(&merchant.sign_type).map_err(|error| anyhow::anyhow!("{error}"))?;
    let content = serde_json::json!({
        "out_trade_no": out_trade_no,
        "sub_merchant_id": merchant.sub_merchant_id,
        "body": "demo",
        "total_fee": "0.01",
        "order_type": "0",
    })
    .to_string();
    let fields = [("app_id", merchant.app_id.as_str()), ("content", &content), ("method", METHOD), ("version", "1.0")];
    let signer = Signer::new(key).map_err(|error| anyhow::anyhow!("{error}"))?;
    let sign = signer.sign(sign_type, string_to_sign(fields).as_bytes());
    let arguments: Vec<String> = fields
        .iter()
        .chain(&[("sign", sign.as_str())])
        .map(|(name, value)| format!("--data-urlencode '{name}={value}'"))
        .collect();
    Ok(format!("curl -s {base_url}/gateway {}", arguments.join(" ")))
}

#[cfg(test)]
mod tests {
    use fshows::signature::verify;
    use rsa::{
        RsaPublicKey,
        pkcs8::{EncodePrivateKey, LineEnding},
    };

    use super::*;

    #[test]
    fn the_call_is_signed_with_the_merchants_key_over_its_own_fields() {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("key");
        let folder = std::env::temp_dir().join(format!("try-it-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let path = folder.join("merchant.pem");
        std::fs::write(&path, key.to_pkcs8_pem(LineEnding::LF).expect("pem").as_bytes()).expect("written");
        let merchant = SubMerchant {
            sub_merchant_id: "20261205120000000001".into(),
            app_id: "2026120500000001".into(),
            private_key_pem_path: path,
            sign_type: "RSA2".into(),
            rates: Default::default(),
        };
        let call = curl_call("http://127.0.0.1:8080", &merchant, "TRY1").expect("call");
        assert!(call.starts_with("curl -s http://127.0.0.1:8080/gateway --data-urlencode 'app_id=2026120500000001'"));
        let field = |name: &str| {
            let start = call.find(&format!("'{name}=")).expect(name) + name.len() + 2;
            call[start..].split('\'').next().expect("value").to_string()
        };
        let (content, sign) = (field("content"), field("sign"));
        assert!(content.contains(r#""out_trade_no":"TRY1""#), "{content}");
        let message = format!("app_id=2026120500000001&content={content}&method={METHOD}&version=1.0");
        assert!(verify(SignType::Rsa2, &[RsaPublicKey::from(&key)], message.as_bytes(), &sign));
        std::fs::remove_dir_all(folder).ok();
    }
}
