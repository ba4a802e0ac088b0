//! What every outside upstream's HTTP client shares: a timeout on every call, no redirect followed
//! (an answer from elsewhere is not the upstream's), and a reply read only up to a bound, so an
//! upstream (or whatever answers in its place) cannot make the platform hold an endless body.
use std::time::Duration;

/// The client of one upstream.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder().timeout(timeout).redirect(reqwest::redirect::Policy::none()).build()
}

/// The reply's body, or why it could not be read: it broke off, or it is longer than `max` bytes.
pub async fn body(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| format!("the reply broke off: {error}"))? {
        if body.len() + chunk.len() > max {
            return Err(format!("the reply is longer than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
