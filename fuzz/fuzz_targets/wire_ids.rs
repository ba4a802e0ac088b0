//! The numbers and short texts an order carries over the wire: `out_trade_no`, `trade_no`,
//! `out_refund_no`, `sub_merchant_id`, `app_id`, `body`, `notify_url`, and the console's T+N.
//!
//! Beyond "no panic": every accepted id is kept exactly as sent (it is what the merchant will
//! look it up by), ids never hold a character that would need escaping in a form, a URL path or
//! CSV, and a notify URL accepted without private addresses is accepted with them too and names
//! a host.
#![no_main]
use domain::{
    AppId, OutTradeNo, SubMerchantId, TradeNo,
    calendar::SettlementDays,
    orders::{NotifyUrl, OrderBody, OutRefundNo},
};
use libfuzzer_sys::fuzz_target;

fn plain(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fuzz_target!(|text: &str| {
    for kept in [
        OutTradeNo::parse(text).ok().map(|id| id.to_string()),
        TradeNo::parse(text).ok().map(|id| id.to_string()),
        SubMerchantId::parse(text).ok().map(|id| id.to_string()),
        AppId::parse(text).ok().map(|id| id.to_string()),
        OutRefundNo::parse(text).ok().map(|id| id.as_ref().to_string()),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(kept, text);
        assert!(plain(&kept), "{kept:?}");
    }
    if let Ok(body) = OrderBody::parse(text) {
        assert_eq!(body.as_ref(), text);
        assert!(!text.chars().any(char::is_control));
    }
    if let Ok(url) = NotifyUrl::parse(text, false) {
        assert_eq!(url.as_ref(), text);
        assert!(NotifyUrl::parse(text, true).is_ok(), "{text:?}");
        let parsed = url::Url::parse(text).expect("an accepted notify URL is a URL");
        assert!(matches!(parsed.scheme(), "http" | "https"));
        assert!(parsed.host().is_some());
    }
    if let Ok(days) = SettlementDays::parse(text) {
        assert!((1..=SettlementDays::MAX).contains(&days.get()));
        assert_eq!(text.trim().parse::<u16>().ok(), Some(days.get()));
    }
});
