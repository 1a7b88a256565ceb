//! The HTTP/2-over-TLS server loop both local endpoints run on: a self-signed
//! certificate made at start (rcgen, ring backend), ALPN `h2`, one task per connection,
//! stream statistics, the optional GOAWAY after N streams, and a lingering close
//! ([`super::linger`]).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use super::linger::Lingering;
use crate::PushError;

/// A response the local endpoints build.
pub(crate) type Resp = http::Response<Full<Bytes>>;
/// A boxed handler future.
pub(crate) type RespFuture = Pin<Box<dyn Future<Output = Resp> + Send>>;
/// The request handler: head and whole body in, response out.
pub(crate) type Handler = Arc<dyn Fn(http::request::Parts, Bytes) -> RespFuture + Send + Sync>;

/// Connection and stream counters of a local endpoint.
#[derive(Debug, Default)]
pub struct ServerStats {
    connections: AtomicU64,
    streams: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    goaways: AtomicU64,
    pub(crate) lingered: AtomicU64,
}

impl ServerStats {
    /// TLS connections accepted.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
    /// Requests (streams) received.
    pub fn streams(&self) -> u64 {
        self.streams.load(Ordering::Relaxed)
    }
    /// The most requests ever being handled at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::Relaxed)
    }
    /// GOAWAY frames sent because of the `goaway_after_streams` option.
    pub fn goaways(&self) -> u64 {
        self.goaways.load(Ordering::Relaxed)
    }
    /// Closed connections whose client was still sending when the session ended (the
    /// bytes were drained instead of answered with a reset; see [`super::linger`]).
    pub fn lingered(&self) -> u64 {
        self.lingered.load(Ordering::Relaxed)
    }
}

/// How the loop behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeOptions {
    pub max_concurrent_streams: u32,
    pub goaway_after_streams: Option<u64>,
}

/// A running server: its address and certificate; stops when dropped.
pub(crate) struct Running {
    pub addr: SocketAddr,
    pub cert_pem: String,
    pub stats: Arc<ServerStats>,
    shutdown: watch::Sender<bool>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn tls_acceptor() -> Result<(TlsAcceptor, String), PushError> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| PushError::Tls(format!("self-signed certificate: {e}")))?;
    let cert_pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PushError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .map_err(|e| PushError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(cfg)), cert_pem))
}

/// Binds `127.0.0.1:0` and serves `handler` until the returned value is dropped.
pub(crate) async fn start(handler: Handler, opts: ServeOptions) -> Result<Running, PushError> {
    let (acceptor, cert_pem) = tls_acceptor()?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(ServerStats::default());
    let (shutdown, watch_rx) = watch::channel(false);
    let loop_stats = Arc::clone(&stats);
    let mut stop = watch_rx.clone();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.changed() => return,
            };
            let Ok((tcp, _)) = accepted else { continue };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(connection(
                tcp,
                acceptor.clone(),
                Arc::clone(&handler),
                opts,
                Arc::clone(&loop_stats),
                watch_rx.clone(),
            ));
        }
    });
    Ok(Running {
        addr,
        cert_pem,
        stats,
        shutdown,
    })
}

async fn connection(
    tcp: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    handler: Handler,
    opts: ServeOptions,
    stats: Arc<ServerStats>,
    mut stop: watch::Receiver<bool>,
) {
    let tcp = Lingering::new(tcp, Arc::clone(&stats));
    let Ok(tls) = acceptor.accept(tcp).await else {
        return;
    };
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let goaway = Arc::new(Notify::new());
    let on_conn = Arc::new(AtomicU64::new(0));
    let svc_stats = Arc::clone(&stats);
    let svc_goaway = Arc::clone(&goaway);
    let svc = service_fn(move |req: http::Request<Incoming>| {
        let handler = Arc::clone(&handler);
        let stats = Arc::clone(&svc_stats);
        let n = on_conn.fetch_add(1, Ordering::Relaxed) + 1;
        if opts.goaway_after_streams == Some(n) {
            stats.goaways.fetch_add(1, Ordering::Relaxed);
            svc_goaway.notify_one();
        }
        async move {
            stats.streams.fetch_add(1, Ordering::Relaxed);
            let now = stats.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            stats.max_in_flight.fetch_max(now, Ordering::Relaxed);
            let (parts, body) = req.into_parts();
            let resp = match body.collect().await {
                Ok(b) => handler(parts, b.to_bytes()).await,
                Err(_) => plain(400, "unreadable body"),
            };
            stats.in_flight.fetch_sub(1, Ordering::Relaxed);
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .max_concurrent_streams(opts.max_concurrent_streams)
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(8 << 20)
        .serve_connection(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = goaway.notified(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A plain-text response (for requests no real endpoint would route).
pub(crate) fn plain(status: u16, text: &'static str) -> Resp {
    let mut r = http::Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    r
}

/// A JSON response with `status` and `body`.
pub(crate) fn json(status: u16, body: Vec<u8>) -> Resp {
    let mut r = http::Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}
