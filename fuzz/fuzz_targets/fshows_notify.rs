//! The fshows upstream's payment notify as it posts it to `/channel/fshows/notify`.
//!
//! The input is a form body. Beyond "no panic": a form that names a field twice is refused; and a
//! notify the upstream really signed (over values taken from the input), then changed by the
//! input, is believed only if every signed value is still the one signed — and then says exactly
//! what was signed.
#![no_main]
use std::sync::OnceLock;

use channel::{
    CallbackError, PayIn,
    fshows::{Fshows, FshowsSettings},
    health::BreakerSettings,
};
use domain::Amount;
use fshows::signature::{SignType, Signer, VerifyingKeys, string_to_sign};
use libfuzzer_sys::fuzz_target;

mod forms;
use forms::{form, has_repeats, value};

/// The channel (verifying with the upstream's key) and the upstream's own signer.
fn parties() -> &'static (Fshows, Signer) {
    static PARTIES: OnceLock<(Fshows, Signer)> = OnceLock::new();
    PARTIES.get_or_init(|| {
        use rsa::pkcs8::DecodePrivateKey;
        let key = |pem| rsa::RsaPrivateKey::from_pkcs8_pem(pem).expect("a fuzzing key");
        let (ours, upstream) = (key(include_str!("../keys/ours.pem")), key(include_str!("../keys/upstream.pem")));
        let settings = FshowsSettings {
            url: "http://127.0.0.1:9/gateway".into(),
            app_id: "2026120600000001".into(),
            signer: Signer::new(ours).expect("our signer"),
            upstream_keys: VerifyingKeys::new(upstream.to_public_key(), None),
            timeout: std::time::Duration::from_secs(1),
            breaker: BreakerSettings::default(),
        };
        let channel = Fshows::new(settings, "http://127.0.0.1:9/channel/fshows/notify".into()).expect("a channel");
        (channel, Signer::new(upstream).expect("the upstream's signer"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (channel, upstream) = parties();
    let received = form(data);
    let read = channel.parse_callback(&received);
    if has_repeats(&received) {
        assert!(matches!(read, Err(CallbackError::RepeatedField(_))), "{read:?}");
    }

    // A notify the upstream signed over values taken from the input, with the input's form
    // appended (changing, repeating or adding fields). Signing is slow: one run in sixteen.
    if data.first().is_none_or(|first| first % 16 != 0) {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '|');
    let (trade_no, channel_reference, extra) =
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let amount = Amount::from_fen(i64::from(data.first().copied().unwrap_or(1)).max(1));
    let status = if data.len() % 2 == 0 { "2" } else { "1" };
    let mut signed: Vec<(String, String)> = [
        ("out_trade_no", trade_no.to_string()),
        ("trade_no", channel_reference.to_string()),
        ("total_fee", amount.to_yuan_string()),
        ("status", status.to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect();
    let message = string_to_sign(signed.iter().map(|(key, value)| (key.as_str(), value.as_str())));
    let sign = upstream.sign(SignType::Rsa2, message.as_bytes());
    signed.extend([("sign_type".to_string(), "RSA2".to_string()), ("sign".to_string(), sign)]);
    let original = signed.clone();
    signed.extend(form(extra.as_bytes()));
    match channel.parse_callback(&signed) {
        Ok(callback) => {
            assert!(!has_repeats(&signed));
            for (key, sent) in &original {
                assert_eq!(value(&signed, key), Some(sent.as_str()), "{key}");
            }
            let paid = status == "2";
            assert_eq!(
                (callback.trade_no.as_str(), callback.amount, callback.paid, callback.channel_reference.as_str()),
                (trade_no, amount, paid, channel_reference)
            );
        }
        // Refused: a field repeated or added (with a value: the string to sign leaves empty
        // values out), or a number that cannot be read (an empty one is not signed at all).
        Err(_) => {
            let added = form(extra.as_bytes()).iter().any(|(_, value)| !value.is_empty());
            assert!(has_repeats(&signed) || added || trade_no.is_empty() || channel_reference.is_empty(), "{signed:?}");
        }
    }
});
