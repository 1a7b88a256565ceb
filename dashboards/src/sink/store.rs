//! The store client: one batch of line protocol to `/api/v2/write` with the `influxdb2`
//! crate (`precision=ms`), bounded by a request timeout, and the failure classified as
//! worth retrying or not.
//!
//! `influxdb2` 0.5 is used for its write path only: `query()` (Flux) and `health()` do
//! not work against victoria-metrics, the store we test with. It is built without TLS
//! unless this crate's `tls` feature is on (it then brings reqwest 0.11's rustls), so an
//! `https` URL is refused at start instead of failing every write. `Client::new` panics
//! on a URL it cannot parse, so the URL is checked here first.

use std::time::Duration;

use influxdb2::RequestError;
use influxdb2::api::write::TimestampPrecision;

use super::SinkError;

/// How a failed write should be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteFailure {
    /// The store is away or overloaded: try again later.
    Retry(String),
    /// The store refused the batch itself: trying again cannot help.
    Reject(String),
}

/// A client for the v2 write API.
#[derive(Debug)]
pub struct Store {
    client: influxdb2::Client,
    org: String,
    bucket: String,
    timeout: Duration,
}

impl Store {
    /// A client for `url`; checks the URL so that the crate's own parser cannot panic.
    pub fn new(
        url: &str,
        org: &str,
        bucket: &str,
        token: &str,
        timeout_ms: u64,
    ) -> Result<Self, SinkError> {
        check_url(url)?;
        let client = influxdb2::ClientBuilder::new(url, org, token)
            .build()
            .map_err(|e| SinkError::BadUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            client,
            org: org.to_string(),
            bucket: bucket.to_string(),
            timeout: Duration::from_millis(timeout_ms.max(1)),
        })
    }

    /// Writes one batch (newline-separated lines, millisecond timestamps).
    pub async fn write(&self, payload: Vec<u8>) -> Result<(), WriteFailure> {
        let request = self.client.write_line_protocol_with_precision(
            &self.org,
            &self.bucket,
            payload,
            TimestampPrecision::Milliseconds,
        );
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(WriteFailure::Retry(format!(
                "write timed out after {} ms",
                self.timeout.as_millis()
            ))),
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(classify(&error)),
        }
    }
}

fn classify(error: &RequestError) -> WriteFailure {
    match error {
        RequestError::Http { status, text } => {
            let code = status.as_u16();
            let message = format!("store answered {code}: {}", truncate(text, 200));
            // 400: malformed lines; 413: batch too large; 422: unprocessable (outside
            // retention). Everything else (401/403/404 misconfiguration included) is
            // retried: the spill keeps the points until someone fixes it.
            if matches!(code, 400 | 413 | 422) {
                WriteFailure::Reject(message)
            } else {
                WriteFailure::Retry(message)
            }
        }
        other => WriteFailure::Retry(format!("write failed: {other}")),
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

fn check_url(url: &str) -> Result<(), SinkError> {
    let bad = |reason: &str| SinkError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    match parsed.scheme() {
        "http" => {}
        "https" if cfg!(feature = "tls") => {}
        "https" => return Err(bad("https needs the `tls` feature of sellout-dashboards")),
        _ => return Err(bad("scheme must be http or https")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("credentials belong in the token, not the URL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_are_errors_not_panics() {
        for url in ["", "/3242/23", "ftp://x", "http://", "http://u:p@host:1"] {
            assert!(
                Store::new(url, "o", "b", "t", 10).is_err(),
                "{url} should be refused"
            );
        }
        assert!(Store::new("http://127.0.0.1:8428", "o", "b", "t", 10).is_ok());
    }

    #[test]
    fn https_needs_the_tls_feature() {
        assert_eq!(
            Store::new("https://influx.example:8086", "o", "b", "", 10).is_ok(),
            cfg!(feature = "tls")
        );
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let store = Store::new("http://127.0.0.1:1", "o", "b", "sekrit-token", 10).unwrap();
        assert!(!format!("{store:?}").contains("sekrit"));
    }
}
