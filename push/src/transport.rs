//! The one HTTP stack both senders use: HTTP/2 over TLS (rustls with the ring provider,
//! ALPN `h2`) on hyper's client connection, with a small pool of long-lived connections.
//!
//! Each connection multiplexes many concurrent streams; a broken or closed connection
//! (GOAWAY, reset, TLS failure) is dropped and the next request on its slot reconnects.
//! Only one task reconnects a slot at a time; the others wait for it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::PushError;

/// Where requests go: the parsed base URL (`https://host[:port]`).
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// `host` or `host:port` as written, for the `:authority` pseudo-header.
    pub authority: String,
    host: String,
    port: u16,
}

impl Endpoint {
    /// Parses an `https://` base URL; a path other than `/` is rejected.
    pub fn parse(url: &str) -> Result<Self, PushError> {
        let (endpoint, path) = Self::parse_with_path(url)?;
        if !matches!(path.as_str(), "" | "/") {
            return Err(PushError::Config(format!(
                "base URL {url:?}: must have no path"
            )));
        }
        Ok(endpoint)
    }

    /// Parses an `https://` URL into its endpoint and its path (and query).
    pub fn parse_with_path(url: &str) -> Result<(Self, String), PushError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| PushError::Config(format!("URL {url:?}: {e}")))?;
        if uri.scheme_str() != Some("https") {
            return Err(PushError::Config(format!(
                "URL {url:?}: scheme must be https"
            )));
        }
        let auth = uri
            .authority()
            .ok_or_else(|| PushError::Config(format!("URL {url:?}: no host")))?;
        let host = auth
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        Ok((
            Self {
                authority: auth.as_str().to_owned(),
                host,
                port: auth.port_u16().unwrap_or(443),
            },
            path,
        ))
    }

    /// `https://authority` + `path_and_query`, the absolute form HTTP/2 requests need.
    pub fn uri(&self, path_and_query: &str) -> Result<http::Uri, PushError> {
        let mut s = String::with_capacity(8 + self.authority.len() + path_and_query.len());
        s.push_str("https://");
        s.push_str(&self.authority);
        s.push_str(path_and_query);
        s.parse()
            .map_err(|e| PushError::Config(format!("request path is not a valid URI: {e}")))
    }
}

/// A rustls client configuration trusting the system roots plus `extra_root_pem`.
pub(crate) fn client_tls(
    extra_root_pem: Option<&[u8]>,
) -> Result<Arc<rustls::ClientConfig>, PushError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let _ = roots.add_parsable_certificates(native.certs);
    if let Some(pem) = extra_root_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| PushError::Tls(format!("extra root certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| PushError::Tls(format!("extra root certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(PushError::Tls("extra root PEM holds no certificate".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PushError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(cfg))
}

/// Why a request got no HTTP answer. Always worth a retry on a fresh connection.
#[derive(Debug)]
pub(crate) struct TransportError(pub String);

/// One connection: a lock-free-ish fast path (a short std lock to clone the sender) and
/// an async lock so that only one task reconnects.
struct Slot {
    current: std::sync::Mutex<Option<(u64, SendRequest<Full<Bytes>>)>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Slot {
    fn live(&self) -> Option<(u64, SendRequest<Full<Bytes>>)> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match current.as_ref() {
            Some((generation, sender)) if !sender.is_closed() => {
                Some((*generation, sender.clone()))
            }
            _ => None,
        }
    }
}

/// A fixed number of HTTP/2 connections to one endpoint, used round-robin.
pub(crate) struct H2Pool {
    endpoint: Endpoint,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    slots: Vec<Slot>,
    next: AtomicUsize,
    generation: AtomicU64,
    connects: AtomicU64,
    timeout: Duration,
}

impl H2Pool {
    /// A pool of `connections` (at least 1) lazily opened connections.
    pub fn new(
        endpoint: Endpoint,
        tls: Arc<rustls::ClientConfig>,
        connections: usize,
        timeout: Duration,
    ) -> Result<Self, PushError> {
        let server_name = ServerName::try_from(endpoint.host.clone())
            .map_err(|e| PushError::Config(format!("host {:?}: {e}", endpoint.host)))?;
        let slots = (0..connections.max(1))
            .map(|_| Slot {
                current: std::sync::Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
            })
            .collect();
        Ok(Self {
            endpoint,
            server_name,
            tls: TlsConnector::from(tls),
            slots,
            next: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            timeout,
        })
    }

    /// The endpoint this pool talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// How many connections have been opened so far (reconnects included).
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }

    /// Sends one request and reads the whole (small) response body.
    pub async fn send(
        &self,
        req: http::Request<Full<Bytes>>,
    ) -> Result<(http::response::Parts, Bytes), TransportError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let (generation, mut sender) = self.sender(i).await?;
        let result = tokio::time::timeout(self.timeout, async {
            sender
                .ready()
                .await
                .map_err(|e| TransportError(format!("connection not ready: {e}")))?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| TransportError(format!("request failed: {e}")))?;
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| TransportError(format!("response body: {e}")))?;
            Ok((parts, body.to_bytes()))
        })
        .await
        .unwrap_or_else(|_| Err(TransportError("request timed out".into())));
        if result.is_err() {
            self.invalidate(i, generation);
        }
        result
    }

    async fn sender(&self, i: usize) -> Result<(u64, SendRequest<Full<Bytes>>), TransportError> {
        let slot = self
            .slots
            .get(i)
            .ok_or_else(|| TransportError("no slot".into()))?;
        if let Some(live) = slot.live() {
            return Ok(live);
        }
        let _one_at_a_time = slot.connecting.lock().await;
        if let Some(live) = slot.live() {
            return Ok(live);
        }
        let sender = tokio::time::timeout(self.timeout, self.connect())
            .await
            .unwrap_or_else(|_| {
                Err(PushError::Connect {
                    authority: self.endpoint.authority.clone(),
                    reason: "timed out".into(),
                })
            })
            .map_err(|e| TransportError(e.to_string()))?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *slot.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((generation, sender.clone()));
        Ok((generation, sender))
    }

    /// Forgets the connection `generation` of slot `i` after it failed a request.
    fn invalidate(&self, i: usize, generation: u64) {
        if let Some(slot) = self.slots.get(i) {
            let mut current = slot.current.lock().unwrap_or_else(PoisonError::into_inner);
            if current.as_ref().is_some_and(|(g, _)| *g == generation) {
                *current = None;
            }
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, PushError> {
        let fail = |reason: String| PushError::Connect {
            authority: self.endpoint.authority.clone(),
            reason,
        };
        self.connects.fetch_add(1, Ordering::Relaxed);
        let tcp = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
            .await
            .map_err(|e| fail(e.to_string()))?;
        tcp.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| fail(format!("tls: {e}")))?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(fail("server did not agree to HTTP/2 (ALPN h2)".into()));
        }
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .initial_stream_window_size(1 << 20)
            .initial_connection_window_size(8 << 20)
            .handshake(TokioIo::new(tls))
            .await
            .map_err(|e| fail(format!("http/2 handshake: {e}")))?;
        tokio::spawn(async move {
            if let Err(error) = conn.await {
                tracing::debug!(message = "Push connection closed.", %error);
            }
        });
        tracing::debug!(message = "Push connection opened.", authority = %self.endpoint.authority);
        Ok(sender)
    }
}
