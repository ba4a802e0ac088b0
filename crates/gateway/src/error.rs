//! Gateway errors and their fshows codes (SPEC §5). Use [`GatewayError`] in every method: each
//! variant is one code with its message; `docs/gateway-errors.md` is the table clients read, and a
//! test checks the two agree. Replies carry HTTP 200 for all of these, as the protocol does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("签名错误 bad signature")]
    BadSignature,
    /// The message names the field, as fshows does: `无效参数 >> total_fee`.
    #[error("无效参数 >> {field}: {reason}")]
    InvalidParameter { field: &'static str, reason: String },
    #[error("无权限 permission denied: {0}")]
    PermissionDenied(String),
    #[error("通用错误 {0}")]
    General(String),
    #[error("服务器错误 server error")]
    ServerError,
    #[error("无效的清算方或应用 invalid app_id")]
    InvalidApp,
    #[error("商户无效 merchant invalid")]
    MerchantInvalid,
    #[error("sub_merchant_id 无效或未审核通过 sub_merchant_id invalid or not approved")]
    SubMerchantInvalid,
    #[error("订单号重复 duplicate order number: {0}")]
    Duplicate(&'static str),
    #[error("订单不存在 order does not exist")]
    OrderNotFound,
    #[error("账单未生成 bill not generated yet")]
    BillNotReady,
    #[error("无效费率 invalid rate: {0}")]
    InvalidRate(String),
    #[error("余额不足 insufficient balance")]
    InsufficientBalance,
    #[error("无效操作 invalid operation: {0}")]
    InvalidOperation(String),
    #[error("请求过于频繁 too many requests")]
    TooManyRequests,
    /// The upstream that takes the merchant's payments refused, or did not answer for certain
    /// (the message says which, and that a retry with the same number is safe).
    #[error("上游错误 upstream error: {0}")]
    Upstream(String),
    #[error("支付失败 payment failed")]
    PaymentFailed,
    #[error("退款失败 refund failed: {0}")]
    RefundFailed(String),
}

impl GatewayError {
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::BadSignature => "-100",
            GatewayError::InvalidParameter { .. } => "-101",
            GatewayError::PermissionDenied(_) => "-102",
            GatewayError::General(_) => "-103",
            GatewayError::ServerError => "-200",
            GatewayError::InvalidApp => "-201",
            GatewayError::MerchantInvalid => "-202",
            GatewayError::SubMerchantInvalid => "-203",
            GatewayError::Duplicate(_) => "-206",
            GatewayError::OrderNotFound => "-207",
            GatewayError::BillNotReady => "-209",
            GatewayError::InvalidRate(_) => "-211",
            GatewayError::InsufficientBalance => "-216",
            GatewayError::InvalidOperation(_) => "-220",
            GatewayError::TooManyRequests => "-221",
            GatewayError::Upstream(_) => "-300",
            GatewayError::PaymentFailed => "-301",
            GatewayError::RefundFailed(_) => "-302",
        }
    }

    pub fn invalid(field: &'static str, reason: impl std::fmt::Display) -> GatewayError {
        GatewayError::InvalidParameter { field, reason: reason.to_string() }
    }

    /// One example of every variant, for the documentation test.
    pub fn examples() -> Vec<GatewayError> {
        vec![
            GatewayError::BadSignature,
            GatewayError::invalid("total_fee", "x"),
            GatewayError::PermissionDenied("x".into()),
            GatewayError::General("x".into()),
            GatewayError::ServerError,
            GatewayError::InvalidApp,
            GatewayError::MerchantInvalid,
            GatewayError::SubMerchantInvalid,
            GatewayError::Duplicate("out_trade_no"),
            GatewayError::OrderNotFound,
            GatewayError::BillNotReady,
            GatewayError::InvalidRate("x".into()),
            GatewayError::InsufficientBalance,
            GatewayError::InvalidOperation("x".into()),
            GatewayError::TooManyRequests,
            GatewayError::Upstream("x".into()),
            GatewayError::PaymentFailed,
            GatewayError::RefundFailed("x".into()),
        ]
    }
}

impl From<orders::OrderError> for GatewayError {
    fn from(error: orders::OrderError) -> Self {
        use orders::OrderError::*;
        match error {
            UnknownSubMerchant | MerchantNotApproved => GatewayError::SubMerchantInvalid,
            NotYourMerchant => GatewayError::PermissionDenied("this app may not act for this sub-merchant".into()),
            DuplicateOutTradeNo => GatewayError::Duplicate("out_trade_no"),
            DuplicateOutRefundNo => GatewayError::Duplicate("out_refund_no"),
            OrderNotFound => GatewayError::OrderNotFound,
            RefundNotFound => GatewayError::General("the refund does not exist".into()),
            NoRates => GatewayError::InvalidRate("the sub-merchant has no rates in force".into()),
            IllegalTransition(illegal) => GatewayError::InvalidOperation(illegal.to_string()),
            InsufficientBalance => GatewayError::InsufficientBalance,
            RefundTooLarge => {
                GatewayError::RefundFailed("refund_fee is larger than the amount not yet refunded".into())
            }
            other => {
                tracing::error!(error = ?other, "order operation failed");
                GatewayError::ServerError
            }
        }
    }
}

impl From<storage::StorageError> for GatewayError {
    fn from(error: storage::StorageError) -> Self {
        tracing::error!(error = ?error, "gateway storage failure");
        GatewayError::ServerError
    }
}
