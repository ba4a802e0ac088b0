//! ICP filing numbers (ICP备案号 / ICP证): a website or app in mainland China must be filed with
//! the telecom authority of its province, and JD Pay onboards only sites that are (seed 001).

use serde::Serialize;

/// A filing number such as "京ICP备12345678号", "京ICP备12345678号-1" or "沪ICP证123456号".
///
/// Stored in canonical form: "ICP" in capitals, whatever case it was typed in.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct IcpFilingNumber(String);

#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum IcpError {
    #[error("ICP filing number is not in the form 京ICP备12345678号 or 京ICP备12345678号-1")]
    Malformed,
}

/// The one-character abbreviations of the 31 provincial-level regions that issue filings.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
const SERIAL_DIGITS: std::ops::RangeInclusive<usize> = 5..=10;
const SITE_DIGITS: std::ops::RangeInclusive<usize> = 1..=3;

impl IcpFilingNumber {
    pub fn parse(text: &str) -> Result<Self, IcpError> {
        read(text.trim()).ok_or(IcpError::Malformed).map(Self)
    }
}

string_views!(IcpFilingNumber);

/// Reads the number piece by piece, returning its canonical text, or None at the first piece
/// that does not fit.
fn read(text: &str) -> Option<String> {
    let province = text.chars().next().filter(|&c| PROVINCES.contains(c))?;
    let rest = text.strip_prefix(province)?;
    let rest = rest.get(..3).filter(|icp| icp.eq_ignore_ascii_case("ICP")).and(rest.get(3..))?;
    // 备 is a filing (备案); 证 is an operating licence (经营许可证) for commercial sites.
    let kind = rest.chars().next().filter(|&c| c == '备' || c == '证')?;
    let rest = rest.strip_prefix(kind)?;
    let (serial, rest) = leading_digits(rest);
    if !SERIAL_DIGITS.contains(&serial.len()) {
        return None;
    }
    let rest = rest.strip_prefix('号')?;
    // The optional "-N" numbers one site among several filed under the same number.
    let site = if rest.is_empty() {
        String::new()
    } else {
        let (digits, tail) = leading_digits(rest.strip_prefix('-')?);
        if !(SITE_DIGITS.contains(&digits.len()) && tail.is_empty()) {
            return None;
        }
        format!("-{digits}")
    };
    Some(format!("{province}ICP{kind}{serial}号{site}"))
}

/// Splits off the leading ASCII digits.
fn leading_digits(text: &str) -> (&str, &str) {
    let end = text.bytes().take_while(u8::is_ascii_digit).count();
    // The digits are ASCII, so `end` is a character boundary.
    text.split_at_checked(end).unwrap_or((text, ""))
}
