//! The JD Pay direct payout (代付) wire format (SPEC §6, `jdpay`), shared by both ends of the
//! protocol: the channel client that calls JD's `npp10/defray_pay` and `npp10/trade_query`, and
//! the fake JD server the tests run it against, which must open and verify exactly what JD would.
//!
//! - [`sign`]: `sign_data`, the upper-case hex SHA-256 of the string to sign followed by the
//!   shared sign key, and its constant-time check;
//! - [`keys`]: the merchant's and JD's RSA keys and X.509 certificates, loaded once;
//! - [`envelope`]: `encrypt_data`, a CMS EnvelopedData (DES-EDE3-CBC, RSA key transport) around a
//!   CMS SignedData (SHA1withRSA), both directions;
//! - [`defray`], [`query`], [`reply`], [`notify`]: the messages as typed values, each formatted
//!   and parsed (with its signature checked) by the same code;
//! - [`fields`]: the value types of the fields, each valid once held.
//!
//! Everything here is a pure function of its input: no I/O, no clock, no database, no HTTP, and no
//! panic on any input. Randomness (content keys, IVs, RSA blinding) comes from the caller's RNG.
//!
//! Why it is built this way:
//!
//! - **The algorithms are JD's, not ours.** JD's published demos sign with SHA-256 over the sorted
//!   fields plus a shared key, and encrypt with BouncyCastle's CMS generators: SHA1withRSA for the
//!   signature and DES-EDE3-CBC for the content. Neither SHA-1 nor 3DES would be our choice, but
//!   JD's gateway accepts nothing else, so both are here, and only here.
//! - **Standard CMS, written with RustCrypto's `cms` types.** The envelope is plain RFC 5652 DER
//!   (`ContentInfo(EnvelopedData)` whose encrypted content is the DER of a
//!   `ContentInfo(SignedData)`), so `openssl cms -decrypt` / `-verify` read it and what openssl
//!   writes we read; a test proves both directions. The `cms` builder only offers AES content
//!   encryption, so the structures are assembled by hand from `cms`'s types; that also keeps the
//!   choices explicit: no signed attributes (their `signingTime` would need a clock, and RFC 5652
//!   allows signing the content directly when it is `id-data`), the signer's certificate embedded,
//!   recipients and signers named by issuer and serial number, as BouncyCastle does.
//! - **One string, three uses.** The business fields travel only inside `encrypt_data`, as the
//!   very string that is signed (`k=v&k=v`, sorted, empties dropped, without the key). That string
//!   has no escaping, so a value containing `&` could not be read back: every field type refuses
//!   `&`, which makes every message this crate can build one the other side can parse.
//! - **Strict in what we answer for, lenient in what JD sends.** The request parsers (used by the
//!   fake server) refuse unknown fields, so a client bug shows; the reply and notify parsers (used
//!   by the client) accept fields JD may add, which the signature covers all the same.
//! - **Decryption fails one way.** RSA PKCS#1 v1.5 key transport and unauthenticated CBC invite
//!   padding oracles; a wrong content key is replaced by a derived one (implicit rejection,
//!   RFC 3218 §2.3) and every failure up to a readable SignedData is one error,
//!   [`envelope::OpenError::Undecryptable`].
pub mod defray;
pub mod envelope;
pub mod error;
pub mod fields;
pub mod keys;
pub mod notify;
pub mod query;
pub mod reply;
pub mod sign;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

mod form;

#[cfg(test)]
mod tests;

pub use defray::{DefrayPay, Payee};
pub use envelope::{OpenError, SealError, open, seal};
pub use error::FormError;
pub use keys::{Credentials, Identity, KeyError, PeerCertificate};
pub use notify::{NOTIFY_ACKNOWLEDGEMENT, Notify};
pub use query::TradeQuery;
pub use reply::{Reply, ReplyError, ResponseCode, Status, TradeResult};
pub use sign::{SignKey, sign_data, string_to_sign, verify_sign_data};
