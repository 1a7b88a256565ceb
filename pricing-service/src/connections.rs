//! A listener that admits at most `max_connections` connections and answers the rest
//! with 503 and `Retry-After` (then closes them).
//!
//! Clients that keep their connections open (the sales portal's pool, a load
//! generator) each hold a request outstanding. Served in turn, a request's latency is
//! the number of such connections times the time one request takes, whatever the
//! service does inside: counting requests in flight never sees that queue, because it
//! sits in the sockets. Bounding the connections bounds the queue, so the requests
//! that are admitted stay fast, and the shed ones learn when to come back. A shed
//! connection's request is read (up to the end of its head, for at most a second) so
//! that closing it sends the answer rather than a reset.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest request head read from a connection that is being refused.
const MAX_REFUSED_HEAD: usize = 16 * 1024;

/// A [`TcpListener`] with a bound on open connections (see the module docs).
pub struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    retry_after_s: u32,
    refused: Arc<AtomicU64>,
}

impl LimitedListener {
    /// Admits at most `max_connections` at once; refuses more with `Retry-After:
    /// retry_after_s`, counting them in `refused`.
    pub fn new(
        inner: TcpListener,
        max_connections: usize,
        retry_after_s: u32,
        refused: Arc<AtomicU64>,
    ) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            retry_after_s,
            refused,
        }
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little, as axum does.
                    tracing::warn!(message = "Accept failed.", %error);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    return (
                        LimitedStream {
                            stream,
                            _permit: permit,
                        },
                        addr,
                    );
                }
                Err(_) => {
                    self.refused.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(refuse(stream, self.retry_after_s));
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Reads the refused connection's request head, answers 503, and closes.
async fn refuse(stream: TcpStream, retry_after_s: u32) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read_head = async {
        loop {
            if stream.readable().await.is_err() {
                return false;
            }
            match stream.try_read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    head.extend_from_slice(&buf[..n]);
                    if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() > MAX_REFUSED_HEAD {
                        return true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(1), read_head).await {
        Ok(true) | Err(_) => {}
        Ok(false) => return,
    }
    let body = r#"{"error":"too many connections: retry later"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: {retry_after_s}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut left = answer.as_bytes();
    while !left.is_empty() {
        if stream.writable().await.is_err() {
            return;
        }
        match stream.try_write(left) {
            Ok(n) => left = &left[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
    if let Ok(std) = stream.into_std() {
        let _ = std.shutdown(std::net::Shutdown::Write);
    }
}

/// An admitted connection; its slot is free again when it closes.
pub struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_connection_over_the_limit_gets_503_with_retry_after_and_a_freed_slot_admits() {
        let inner = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = inner.local_addr().expect("addr");
        let refused = Arc::new(AtomicU64::new(0));
        let listener = LimitedListener::new(inner, 1, 3, refused.clone());
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let answers = tokio::task::spawn_blocking(move || {
            let close = b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
            let get = |mut s: std::net::TcpStream| {
                s.write_all(close).expect("write");
                let mut out = String::new();
                s.read_to_string(&mut out).expect("read");
                out
            };
            // The first connection is answered and kept open: it holds the only slot.
            let mut first = std::net::TcpStream::connect(addr).expect("connect");
            first
                .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                .expect("write");
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"ok") {
                let n = first.read(&mut buf).expect("read");
                assert!(n > 0, "closed early");
                got.extend_from_slice(&buf[..n]);
            }
            let second = get(std::net::TcpStream::connect(addr).expect("connect"));
            drop(first);
            // Once the server has seen the first one close, a new connection is admitted.
            let third = (0..200)
                .map(|_| get(std::net::TcpStream::connect(addr).expect("connect")))
                .find(|a| a.starts_with("HTTP/1.1 200"))
                .unwrap_or_default();
            (String::from_utf8_lossy(&got).into_owned(), second, third)
        })
        .await
        .expect("join");
        assert!(answers.1.starts_with("HTTP/1.1 503"), "{}", answers.1);
        assert!(answers.1.contains("retry-after: 3"), "{}", answers.1);
        assert!(answers.0.starts_with("HTTP/1.1 200"), "{}", answers.0);
        assert!(
            answers.2.ends_with("ok"),
            "the freed slot admits: {}",
            answers.2
        );
        assert!(refused.load(Ordering::Relaxed) >= 1);
    }
}
