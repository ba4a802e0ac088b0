//! Where a `notify_url` may lead: resolved as the system resolves it, and refused if any address
//! of the answer is not public ([`domain::net::is_public_address`], the one rule). Used when an
//! order is placed, so a merchant learns at once that its URL will never be called, and by the
//! notification client on every send, on the very addresses it connects to (so a name that
//! resolves differently the second time — DNS rebinding — gains nothing).
use std::{net::SocketAddr, time::Duration};

use domain::{net::is_public_address, orders::NotifyUrl};

/// How long placing an order waits for a name to resolve. A lookup that fails or takes longer
/// does not refuse the order: the address is checked again on every send, which is what keeps a
/// notification off a private network; this early check only reports what is known now.
pub const PLACING_RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("private address")]
    NotPublic,
    #[error("could not resolve the host: {0}")]
    Lookup(#[from] std::io::Error),
}

/// Every address `host` resolves to, if all of them are public.
pub async fn resolve_public(host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    if addresses.iter().any(|address| !is_public_address(address.ip())) {
        return Err(ResolveError::NotPublic);
    }
    Ok(addresses)
}

/// For placing an order, on a blocking thread inside the runtime: `Err` only when the URL's host
/// name is known to resolve to an address that is not public.
pub fn check_at_placing(url: &NotifyUrl) -> Result<(), ResolveError> {
    let Some(host) = url.host_name() else { return Ok(()) };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return Ok(()) };
    match runtime.block_on(tokio::time::timeout(PLACING_RESOLVE_TIMEOUT, resolve_public(&host))) {
        Ok(Err(ResolveError::NotPublic)) => Err(ResolveError::NotPublic),
        Ok(Ok(_) | Err(ResolveError::Lookup(_))) | Err(_) => Ok(()),
    }
}
