//! Callback forms as the channels post them (`/channel/{name}/notify`, `/payout-notify`): the
//! sandbox's payment and payout callbacks, and JD Pay's payout notify.
//!
//! The input is a form body. Beyond "no panic": a form that names a field twice is refused; and
//! a callback the channel really signed (built from the input's values), then changed by the
//! input, is believed only if every signed value is still the one signed — and then says exactly
//! what was signed.
#![no_main]
use channel::{
    CallbackError, PayIn, PayOut, PayoutStatus,
    sandbox::{Sandbox, SandboxRules},
};
use domain::Amount;
use libfuzzer_sys::fuzz_target;

mod forms;
use forms::{form, has_repeats, value};

const SECRET: &[u8] = b"fuzzing-callback-secret";

fuzz_target!(|data: &[u8]| {
    let sandbox = Sandbox::new(SandboxRules::default(), SECRET);
    let received = form(data);
    let jd_key = jdpay::SignKey::new("fuzzing-jd-key").expect("a key");
    let jd = jdpay::Notify::from_form(&received, &jd_key);
    let payment = sandbox.parse_callback(&received);
    let payout = sandbox.parse_payout_callback(&received);
    if has_repeats(&received) {
        assert!(matches!(payment, Err(CallbackError::RepeatedField(_))), "{payment:?}");
        assert!(matches!(payout, Err(CallbackError::RepeatedField(_))), "{payout:?}");
        assert!(jd.is_err());
    }

    // A callback the sandbox signed over values taken from the input, with the input's form
    // appended (changing, repeating or adding fields).
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '|');
    let (trade_no, detail, extra) =
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let amount = Amount::from_fen(i64::from(data.first().copied().unwrap_or(1)).max(1));
    let paid = data.len() % 2 == 0;
    let mut signed = sandbox.payment_callback(trade_no, amount, paid, "2026-12-06 10:00:00");
    let original = signed.clone();
    signed.extend(form(extra.as_bytes()));
    match sandbox.parse_callback(&signed) {
        Ok(callback) => {
            assert!(!has_repeats(&signed));
            for (key, sent) in &original {
                assert_eq!(value(&signed, key), Some(sent.as_str()));
            }
            assert_eq!((callback.trade_no.as_str(), callback.amount, callback.paid), (trade_no, amount, paid));
        }
        Err(_) => assert!(has_repeats(&signed) || trade_no.is_empty() || original != signed[..original.len()]),
    }

    let status = match data.last().copied().unwrap_or(0) % 4 {
        0 => PayoutStatus::Pending { channel_reference: detail.to_string() },
        1 => PayoutStatus::Succeeded { channel_reference: detail.to_string() },
        2 => PayoutStatus::Failed { reason: detail.to_string() },
        _ => PayoutStatus::Returned { reason: detail.to_string() },
    };
    let mut signed = sandbox.payout_callback(trade_no, &status);
    let original = signed.clone();
    signed.extend(form(extra.as_bytes()));
    if let Ok(callback) = sandbox.parse_payout_callback(&signed) {
        assert!(!has_repeats(&signed));
        assert_eq!((callback.out_trade_no.as_str(), &callback.status), (trade_no, &status));
        for (key, sent) in &original {
            assert_eq!(value(&signed, key), Some(sent.as_str()));
        }
    } else {
        assert!(has_repeats(&signed) || trade_no.is_empty() || detail.is_empty(), "{signed:?}");
    }
});
