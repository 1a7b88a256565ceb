//! Lingering close for the local endpoints' sockets. When an HTTP/2 session ends
//! (after a GOAWAY, say), the server has sent its last frames and a FIN, but the client
//! may still be sending (a WINDOW_UPDATE, a PING ACK, a request written before it read
//! the GOAWAY). Closing a socket with unread bytes makes the kernel answer with a
//! reset, and a reset can make the client's kernel throw away responses it received
//! but had not read yet: the client then sees its request fail after the server
//! handled it, and sends it again. Servers linger to prevent that (nginx's
//! `lingering_close`); so do these: the socket is drained for up to [`LINGER`] after
//! the session is over, then closed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;

use super::server::ServerStats;

/// How long a closed session's socket is drained at most.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// A connection's socket that lingers when dropped (see the module docs).
pub(crate) struct Lingering {
    tcp: Option<TcpStream>,
    stats: Arc<ServerStats>,
}

impl Lingering {
    pub(crate) fn new(tcp: TcpStream, stats: Arc<ServerStats>) -> Self {
        Self {
            tcp: Some(tcp),
            stats,
        }
    }

    fn tcp(&mut self) -> io::Result<&mut TcpStream> {
        self.tcp
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(tcp) = self.tcp.take() else { return };
        // Outside a runtime (never, in practice) the socket just closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(linger(tcp, Arc::clone(&self.stats)));
        }
    }
}

/// Sends FIN (if the session hasn't), then reads and drops what the peer still sends
/// until it closes too, or [`LINGER`] is over.
async fn linger(mut tcp: TcpStream, stats: Arc<ServerStats>) {
    let _ = tcp.shutdown().await;
    let mut buf = [0u8; 4096];
    let mut drained = 0u64;
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(n @ 1..) = tcp.read(&mut buf).await {
            drained += n as u64;
        }
    })
    .await;
    if drained > 0 {
        stats.lingered.fetch_add(1, Ordering::Relaxed);
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().tcp() {
            Ok(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().tcp() {
            Ok(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().tcp() {
            Ok(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.as_ref().is_some_and(|t| t.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().tcp() {
            Ok(tcp) => Pin::new(tcp).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().tcp() {
            Ok(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// The server answers, then its session ends while the client's last bytes sit
    /// unread: the client reads the whole answer and a clean end, and is not reset.
    /// (Dropping the bare socket instead makes the kernel answer with a reset, and
    /// drop whatever it had not transmitted yet.)
    #[tokio::test]
    async fn a_session_ended_with_unread_bytes_still_delivers_its_last_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let (tcp, _) = listener.accept().await.expect("accept");
        let stats = Arc::new(ServerStats::default());
        let mut server = Lingering::new(tcp, Arc::clone(&stats));

        // The client sends something the server will never read (a WINDOW_UPDATE, a
        // request written before it saw the GOAWAY), and the server answers after.
        client
            .write_all(b"late frames")
            .await
            .expect("client write");
        client.flush().await.expect("client flush");
        // Make sure the late bytes have arrived before the server closes.
        let mut seen = [0u8; 1];
        let n = server
            .tcp()
            .expect("open")
            .peek(&mut seen)
            .await
            .expect("peek");
        assert_eq!(n, 1);
        server
            .write_all(b"the last answer")
            .await
            .expect("server write");
        server.shutdown().await.expect("server shutdown");
        drop(server);

        let mut got = Vec::new();
        client
            .read_to_end(&mut got)
            .await
            .expect("a reset instead of a clean end");
        assert_eq!(got, b"the last answer");
        // The socket was not reset: what the client still sends is taken (and dropped).
        client
            .write_all(b"a PING after the end")
            .await
            .expect("the server reset the connection");
        drop(client);
        // The drain saw the late bytes and counted the connection.
        tokio::time::timeout(LINGER * 2, async {
            while stats.lingered() == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the linger task never counted the drained connection");
    }
}
