//! Order value types (SPEC §5, seed 003) and the order state machine.
use std::net::IpAddr;

use crate::{ids::IdError, net};

/// `body`: the goods' description, 1–128 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct OrderBody(String);

impl OrderBody {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(text: &str) -> Result<OrderBody, OrderFieldError> {
        if text.trim().is_empty() {
            return Err(OrderFieldError::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(OrderFieldError::TooLong { max: Self::MAX_CHARS });
        }
        if text.chars().any(char::is_control) {
            return Err(OrderFieldError::ControlCharacter);
        }
        Ok(OrderBody(text.to_string()))
    }
}

impl AsRef<str> for OrderBody {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderFieldError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must be 0 (physical goods) or 1 (virtual goods)")]
    UnknownOrderType,
    #[error("must be an http or https URL")]
    NotHttpUrl,
    #[error("must not point at a private, loopback or link-local address")]
    PrivateAddress,
}

/// `order_type`: 0 physical goods, 1 virtual goods. Given as `"0"` or as the number `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum OrderType {
    Physical,
    Virtual,
}

impl OrderType {
    /// From the text of a JSON string or number.
    pub fn parse(text: &str) -> Result<OrderType, OrderFieldError> {
        match text {
            "0" => Ok(OrderType::Physical),
            "1" => Ok(OrderType::Virtual),
            _ => Err(OrderFieldError::UnknownOrderType),
        }
    }

    pub fn code(self) -> i16 {
        match self {
            OrderType::Physical => 0,
            OrderType::Virtual => 1,
        }
    }

    pub fn from_code(code: i16) -> Option<OrderType> {
        match code {
            0 => Some(OrderType::Physical),
            1 => Some(OrderType::Virtual),
            _ => None,
        }
    }
}

/// Where to POST notifications: http(s), at most 256 characters; hosts that are not public
/// refused unless the deployment allows them (a notification must not be a way to make the
/// platform call into its own network).
///
/// Parsed as a browser would (WHATWG, the `url` crate), so every spelling of an address —
/// `http://2130706433/`, `http://0x7f000001/`, `http://127.1/`, `http://[::127.0.0.1]/` — is
/// judged as the address it is. A host *name* is judged here only by [`net::is_local_name`]; what
/// it resolves to is checked by the gateway when the order is placed and again on every send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct NotifyUrl(String);

impl NotifyUrl {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(text: &str, allow_private: bool) -> Result<NotifyUrl, OrderFieldError> {
        if text.chars().count() > Self::MAX_CHARS {
            return Err(OrderFieldError::TooLong { max: Self::MAX_CHARS });
        }
        // The WHATWG parser silently drops tabs and newlines; a URL holding one is refused instead.
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(OrderFieldError::NotHttpUrl);
        }
        let url = url::Url::parse(text).map_err(|_| OrderFieldError::NotHttpUrl)?;
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
            return Err(OrderFieldError::NotHttpUrl);
        }
        let public = match url.host().ok_or(OrderFieldError::NotHttpUrl)? {
            url::Host::Domain(name) => !net::is_local_name(name),
            url::Host::Ipv4(address) => net::is_public_address(IpAddr::V4(address)),
            url::Host::Ipv6(address) => net::is_public_address(IpAddr::V6(address)),
        };
        if !allow_private && !public {
            return Err(OrderFieldError::PrivateAddress);
        }
        Ok(NotifyUrl(text.to_string()))
    }

    /// The host when it is a name (to be resolved), `None` when it is an address.
    pub fn host_name(&self) -> Option<String> {
        match url::Url::parse(&self.0).ok()?.host()? {
            url::Host::Domain(name) => Some(name.to_string()),
            _ => None,
        }
    }
}

impl AsRef<str> for NotifyUrl {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// `out_refund_no`: the caller's refund number, unique per order; same rules as `out_trade_no`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct OutRefundNo(String);

impl OutRefundNo {
    pub fn parse(text: &str) -> Result<OutRefundNo, IdError> {
        crate::ids::OutTradeNo::parse(text).map(|valid| OutRefundNo(valid.as_ref().to_string()))
    }
}

impl AsRef<str> for OutRefundNo {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// SPEC §5: `waiting → paid → (partially_refunded →) refunded`; `waiting → closed`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Waiting,
    Paid,
    PartiallyRefunded,
    Refunded,
    Closed,
}

impl OrderState {
    pub const ALL: [OrderState; 5] = [
        OrderState::Waiting,
        OrderState::Paid,
        OrderState::PartiallyRefunded,
        OrderState::Refunded,
        OrderState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Waiting => "waiting",
            OrderState::Paid => "paid",
            OrderState::PartiallyRefunded => "partially_refunded",
            OrderState::Refunded => "refunded",
            OrderState::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// The query methods' `status`: 1 waiting, 2 paid (refunds included), 9 closed.
    pub fn status_code(self) -> u8 {
        match self {
            OrderState::Waiting => 1,
            OrderState::Paid | OrderState::PartiallyRefunded | OrderState::Refunded => 2,
            OrderState::Closed => 9,
        }
    }

    /// Whether money was received (so refunds are possible while some remains).
    pub fn is_paid(self) -> bool {
        matches!(self, OrderState::Paid | OrderState::PartiallyRefunded | OrderState::Refunded)
    }

    pub fn apply(self, event: OrderEvent) -> Result<OrderState, IllegalOrderTransition> {
        use OrderEvent::*;
        use OrderState::*;
        match (self, event) {
            (Waiting, Pay) => Ok(Paid),
            (Waiting, Close | Expire) => Ok(Closed),
            (Paid | PartiallyRefunded, RefundPart) => Ok(PartiallyRefunded),
            (Paid | PartiallyRefunded, RefundRest) => Ok(Refunded),
            (PartiallyRefunded | Refunded, UndoRefund) => Ok(PartiallyRefunded),
            (PartiallyRefunded | Refunded, UndoLastRefund) => Ok(Paid),
            (from, event) => Err(IllegalOrderTransition { from, event }),
        }
    }
}

crate::sql::text_column!(OrderState, OrderState::parse);

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    Pay,
    Close,
    Expire,
    /// A refund that leaves some of the order unrefunded.
    RefundPart,
    /// A refund of everything that remained.
    RefundRest,
    /// A refund the channel refused, given back, with other refunds still standing.
    UndoRefund,
    /// A refund the channel refused, given back, the only one: nothing is refunded any more.
    UndoLastRefund,
}

impl OrderEvent {
    pub const ALL: [OrderEvent; 7] = [
        OrderEvent::Pay,
        OrderEvent::Close,
        OrderEvent::Expire,
        OrderEvent::RefundPart,
        OrderEvent::RefundRest,
        OrderEvent::UndoRefund,
        OrderEvent::UndoLastRefund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderEvent::Pay => "pay",
            OrderEvent::Close => "close",
            OrderEvent::Expire => "expire",
            OrderEvent::RefundPart => "refund",
            OrderEvent::RefundRest => "refund",
            OrderEvent::UndoRefund | OrderEvent::UndoLastRefund => "refund_failed",
        }
    }
}

crate::sql::text_enum! {
    /// Why an order's state changed, as its history records it.
    pub enum EventCause {
        Created = "created",
        ChannelCallback = "channel_callback",
        Closed = "closed",
        Expired = "expired",
        Refund = "refund",
        /// The channel refused a refund: it was given back.
        RefundFailed = "refund_failed",
    }
}

crate::sql::text_enum! {
    /// A refund: recorded `succeeded` when the ledger books it (the sandbox channel settles at
    /// once); `pending` and `failed` are for channels that answer later.
    pub enum RefundState {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

crate::sql::text_enum! {
    /// What became of a payment callback from a channel.
    pub enum CallbackOutcome {
        /// The order became paid.
        Applied = "applied",
        /// It was paid already: nothing changed.
        Duplicate = "duplicate",
        /// It was closed when the money came: an operator must look at it.
        LatePayment = "late_payment",
        /// Refused: bad signature, unknown order, wrong amount.
        Rejected = "rejected",
    }
}

crate::sql::text_enum! {
    /// What a notification to a sub-merchant announces.
    pub enum NotificationKind {
        OrderPaid = "order_paid",
        Refund = "refund",
        Payout = "payout",
    }
}

crate::sql::text_enum! {
    /// A notification: waiting for its next send, acknowledged, or given up after the last one.
    pub enum NotificationState {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} an order that is {}", event.as_str(), from.as_str())]
pub struct IllegalOrderTransition {
    pub from: OrderState,
    pub event: OrderEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_state_table() {
        use OrderEvent::*;
        use OrderState::*;
        let legal = [
            (Waiting, Pay, Paid),
            (Waiting, Close, Closed),
            (Waiting, Expire, Closed),
            (Paid, RefundPart, PartiallyRefunded),
            (Paid, RefundRest, Refunded),
            (PartiallyRefunded, RefundPart, PartiallyRefunded),
            (PartiallyRefunded, RefundRest, Refunded),
            (PartiallyRefunded, UndoRefund, PartiallyRefunded),
            (Refunded, UndoRefund, PartiallyRefunded),
            (PartiallyRefunded, UndoLastRefund, Paid),
            (Refunded, UndoLastRefund, Paid),
        ];
        for from in OrderState::ALL {
            for event in OrderEvent::ALL {
                let expected = legal.iter().find(|(f, e, _)| *f == from && *e == event).map(|(_, _, to)| *to);
                assert_eq!(from.apply(event).ok(), expected, "{from:?} + {event:?}");
            }
        }
        assert_eq!(Closed.apply(Pay).unwrap_err().to_string(), "cannot pay an order that is closed");
    }

    #[test]
    fn status_codes_and_round_trips() {
        let codes: Vec<_> = OrderState::ALL.iter().map(|s| s.status_code()).collect();
        assert_eq!(codes, [1, 2, 2, 2, 9]);
        for state in OrderState::ALL {
            assert_eq!(OrderState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn bodies_and_order_types() {
        assert!(OrderBody::parse("京东公仔").is_ok());
        assert_eq!(OrderBody::parse("  "), Err(OrderFieldError::Empty));
        assert_eq!(OrderBody::parse(&"好".repeat(129)), Err(OrderFieldError::TooLong { max: 128 }));
        assert!(OrderBody::parse(&"好".repeat(128)).is_ok());
        assert_eq!(OrderBody::parse("a\nb"), Err(OrderFieldError::ControlCharacter));
        assert_eq!(OrderType::parse("0"), Ok(OrderType::Physical));
        assert_eq!(OrderType::parse("1"), Ok(OrderType::Virtual));
        for bad in ["2", "", "00", "-0", "1.0", "x"] {
            assert_eq!(OrderType::parse(bad), Err(OrderFieldError::UnknownOrderType), "{bad:?}");
        }
    }

    #[test]
    fn notify_urls() {
        for good in ["http://cc.ngrok.cc/test", "https://example.com:8443/notify?x=1", "https://8.8.8.8/n"] {
            assert!(NotifyUrl::parse(good, false).is_ok(), "{good}");
        }
        for private in [
            "http://127.0.0.1/n",
            "http://localhost:8080/",
            "http://10.1.2.3/",
            "http://192.168.0.1",
            "http://172.16.5.4/",
            "http://169.254.169.254/latest",
            "http://[::1]:80/",
            "http://[fe80::1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "http://[::ffff:127.0.0.1]/",
            // Issue 11: every spelling of loopback a browser accepts.
            "http://0x7f000001/",
            "http://2130706433/",
            "http://127.1/",
            "http://0177.0.0.1/",
            "http://0/",
            "http://127.0.0.1./",
            "http://localhost./",
            "http://[::127.0.0.1]/",
            "http://[fd00::1]/",
            "http://224.0.0.1/",
            "http://192.0.2.1/",
        ] {
            assert_eq!(NotifyUrl::parse(private, false), Err(OrderFieldError::PrivateAddress), "{private}");
            assert!(NotifyUrl::parse(private, true).is_ok(), "{private} allowed when configured");
        }
        for bad in [
            "ftp://example.com",
            "example.com",
            "http://",
            "http://user@example.com/",
            "http://exa mple.com/",
            "javascript:alert(1)",
        ] {
            assert_eq!(NotifyUrl::parse(bad, false), Err(OrderFieldError::NotHttpUrl), "{bad}");
        }
        assert_eq!(
            NotifyUrl::parse(&format!("https://example.com/{}", "a".repeat(240)), false),
            Err(OrderFieldError::TooLong { max: 256 })
        );
    }
}
