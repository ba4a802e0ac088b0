//! `npp10/defray_pay`, the payout request. The form carries `customer_no`, `sign_type=SHA-256`,
//! `sign_data`, `encrypt_type=RSA` and `encrypt_data`; the business fields travel only inside
//! `encrypt_data`, as the string to sign, which `sign_data` signs with the shared key and the CMS
//! SignedData with the merchant's RSA key.
use std::fmt;

use rsa::rand_core::CryptoRngCore;

use crate::envelope::{SealError, open, seal};
use crate::error::FormError;
use crate::fields::{
    AccountType, BankAccountNumber, BankCode, CURRENCY, CardType, CnapsCode, CustomerNo, MainlandMobile, NotifyUrl,
    OutTradeNo, PAY_TOOL, PayeeAccountName, RequestDateTime, TradeAmount, TradeSubject, account_type_code,
    expect_constant, parse_account_type,
};
use crate::form::{Fields, to_owned_pairs};
use crate::keys::Credentials;
use crate::sign::{SIGN_TYPE, sign_string, string_to_sign, verify_sign_data};

/// `encrypt_type`: JD's name for its CMS envelope.
pub const ENCRYPT_TYPE: &str = "RSA";

/// The fields of the form itself.
const FORM_FIELDS: [&str; 5] = ["customer_no", "sign_type", "sign_data", "encrypt_type", "encrypt_data"];

/// The fields inside `encrypt_data`.
const BUSINESS_FIELDS: [&str; 15] = [
    "customer_no",
    "request_datetime",
    "out_trade_no",
    "trade_amount",
    "trade_currency",
    "trade_subject",
    "pay_tool",
    "payee_bank_code",
    "payee_card_type",
    "payee_account_type",
    "payee_account_no",
    "payee_account_name",
    "payee_bank_associated_code",
    "payee_mobile",
    "notify_url",
];

/// A corporate account without its branch code; JD cannot route the transfer (seed 002: 只有代付到
/// 企业银行账户,需要传支行信息).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("a corporate account (payee_account_type C) needs payee_bank_associated_code, its branch's CNAPS code")]
pub struct MissingBankAssociatedCode;

/// Whom the payout goes to. The account type (`P`/`C`) is the one the account number was checked
/// for, and a corporate account always has its CNAPS code; a personal one may carry one too.
#[derive(Clone, PartialEq, Eq)]
pub struct Payee {
    bank_code: BankCode,
    card_type: CardType,
    account_no: BankAccountNumber,
    account_name: PayeeAccountName,
    bank_associated_code: Option<CnapsCode>,
    mobile: Option<MainlandMobile>,
}

impl Payee {
    pub fn new(
        bank_code: BankCode,
        card_type: CardType,
        account_no: BankAccountNumber,
        account_name: PayeeAccountName,
        bank_associated_code: Option<CnapsCode>,
        mobile: Option<MainlandMobile>,
    ) -> Result<Payee, MissingBankAssociatedCode> {
        if account_no.account_type().requires_branch() && bank_associated_code.is_none() {
            return Err(MissingBankAssociatedCode);
        }
        Ok(Payee { bank_code, card_type, account_no, account_name, bank_associated_code, mobile })
    }

    pub fn bank_code(&self) -> &BankCode {
        &self.bank_code
    }

    pub fn card_type(&self) -> CardType {
        self.card_type
    }

    pub fn account_type(&self) -> AccountType {
        self.account_no.account_type()
    }

    pub fn account_no(&self) -> &BankAccountNumber {
        &self.account_no
    }

    pub fn account_name(&self) -> &PayeeAccountName {
        &self.account_name
    }

    pub fn bank_associated_code(&self) -> Option<&CnapsCode> {
        self.bank_associated_code.as_ref()
    }

    pub fn mobile(&self) -> Option<&MainlandMobile> {
        self.mobile.as_ref()
    }
}

/// The account number, name and mobile show masked, by their own `Debug`s.
impl fmt::Debug for Payee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payee")
            .field("bank_code", &self.bank_code)
            .field("card_type", &self.card_type)
            .field("account_no", &self.account_no)
            .field("account_name", &self.account_name)
            .field("bank_associated_code", &self.bank_associated_code)
            .field("mobile", &self.mobile)
            .finish()
    }
}

/// One payout request. `trade_currency` (CNY) and `pay_tool` (TRAN) are fixed and not fields here.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DefrayPay {
    pub customer_no: CustomerNo,
    pub request_datetime: RequestDateTime,
    pub out_trade_no: OutTradeNo,
    pub trade_amount: TradeAmount,
    pub trade_subject: TradeSubject,
    pub payee: Payee,
    pub notify_url: NotifyUrl,
}

impl DefrayPay {
    /// The business fields, as they are signed and sealed (optional ones only when present).
    pub fn business_fields(&self) -> Vec<(&'static str, String)> {
        let payee = &self.payee;
        let mut fields = vec![
            ("customer_no", self.customer_no.to_string()),
            ("request_datetime", self.request_datetime.to_string()),
            ("out_trade_no", self.out_trade_no.to_string()),
            ("trade_amount", self.trade_amount.to_string()),
            ("trade_currency", CURRENCY.to_owned()),
            ("trade_subject", self.trade_subject.to_string()),
            ("pay_tool", PAY_TOOL.to_owned()),
            ("payee_bank_code", payee.bank_code.to_string()),
            ("payee_card_type", payee.card_type.as_str().to_owned()),
            ("payee_account_type", account_type_code(payee.account_type()).to_owned()),
            ("payee_account_no", payee.account_no.to_string()),
            ("payee_account_name", payee.account_name.to_string()),
        ];
        if let Some(code) = &payee.bank_associated_code {
            fields.push(("payee_bank_associated_code", code.to_string()));
        }
        if let Some(mobile) = &payee.mobile {
            fields.push(("payee_mobile", mobile.to_string()));
        }
        fields.push(("notify_url", self.notify_url.to_string()));
        fields
    }

    /// The form to POST: signed with the shared key, sealed with the sender's identity to the
    /// peer's certificate.
    pub fn to_form(
        &self,
        credentials: &Credentials,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<(String, String)>, SealError> {
        let fields = self.business_fields();
        let plain = string_to_sign(fields.iter().map(|(key, value)| (*key, value.as_str())));
        let sign_data = sign_string(&plain, &credentials.sign_key);
        let encrypt_data = seal(&plain, &credentials.own_identity, &credentials.peer_certificate, rng)?;
        Ok(to_owned_pairs([
            ("customer_no", self.customer_no.to_string()),
            ("sign_type", SIGN_TYPE.to_owned()),
            ("sign_data", sign_data),
            ("encrypt_type", ENCRYPT_TYPE.to_owned()),
            ("encrypt_data", encrypt_data),
        ]))
    }

    /// What JD does with the form: open `encrypt_data` (ours to open, the peer's signature),
    /// check `sign_data` over the fields inside it, then parse each field. Unknown fields, in the
    /// form or inside the envelope, are refused.
    pub fn from_form(
        form: &[(String, String)],
        credentials: &Credentials,
        rng: &mut impl CryptoRngCore,
    ) -> Result<DefrayPay, FormError> {
        let form = Fields::from_form(form)?;
        form.refuse_unknown(&FORM_FIELDS)?;
        form.parse("sign_type", |text| expect_constant(text, SIGN_TYPE))?;
        form.parse("encrypt_type", |text| expect_constant(text, ENCRYPT_TYPE))?;
        let form_customer_no = form.require("customer_no")?;
        let sign_data = form.require("sign_data")?;
        let encrypt_data = form.require("encrypt_data")?;

        let content = open(encrypt_data, &credentials.own_identity, &credentials.peer_certificate, rng)?;
        let fields = Fields::from_signed_string(&content)?;
        fields.refuse_unknown(&BUSINESS_FIELDS)?;
        if !verify_sign_data(fields.pairs().chain([("sign_data", sign_data)]), &credentials.sign_key) {
            return Err(FormError::BadSign);
        }
        if fields.require("customer_no")? != form_customer_no {
            return Err(FormError::CustomerNoMismatch);
        }
        DefrayPay::from_fields(&fields)
    }

    fn from_fields(fields: &Fields<'_>) -> Result<DefrayPay, FormError> {
        fields.parse("trade_currency", |text| expect_constant(text, CURRENCY))?;
        fields.parse("pay_tool", |text| expect_constant(text, PAY_TOOL))?;
        let account_type = fields.parse("payee_account_type", parse_account_type)?;
        let payee = Payee::new(
            fields.parse("payee_bank_code", BankCode::parse)?,
            fields.parse("payee_card_type", CardType::parse)?,
            fields.parse("payee_account_no", |text| BankAccountNumber::parse(text, account_type))?,
            fields.parse("payee_account_name", PayeeAccountName::parse)?,
            fields.parse_optional("payee_bank_associated_code", CnapsCode::parse)?,
            fields.parse_optional("payee_mobile", MainlandMobile::parse)?,
        )
        .map_err(|_| FormError::MissingField("payee_bank_associated_code"))?;
        Ok(DefrayPay {
            customer_no: fields.parse("customer_no", CustomerNo::parse)?,
            request_datetime: fields.parse("request_datetime", RequestDateTime::parse)?,
            out_trade_no: fields.parse("out_trade_no", OutTradeNo::parse)?,
            trade_amount: fields.parse("trade_amount", TradeAmount::parse)?,
            trade_subject: fields.parse("trade_subject", TradeSubject::parse)?,
            payee,
            notify_url: fields.parse("notify_url", NotifyUrl::parse)?,
        })
    }
}
