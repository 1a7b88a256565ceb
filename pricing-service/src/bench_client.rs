//! The benchmark's load generator: keep-alive HTTP/1.1 over loopback, closed loop
//! (as fast as answers come) or paced at a fixed total rate.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{BenchError, EVENTS, PORTAL_KEY, TcpStream};

/// What one phase (or several merged) measured.
#[derive(Debug, Default)]
pub(super) struct Load {
    ok: u64,
    pub(super) errors: u64,
    secs: f64,
    pub(super) latencies_us: Vec<u64>,
}

impl Load {
    pub(super) fn rps(&self) -> f64 {
        self.ok as f64 / self.secs.max(1e-9)
    }

    /// Adds another phase's counts, time and latencies.
    pub(super) fn merge(&mut self, other: Load) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.secs += other.secs;
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Runs `conns` connections against `addr` for `phase`; paced at `rate` requests per
/// second in total when given (latency then counts from each scheduled send time).
pub(super) async fn load(
    addr: SocketAddr,
    conns: usize,
    phase: Duration,
    rate: Option<f64>,
) -> Result<Load, BenchError> {
    let started = Instant::now();
    let end = started + phase;
    let mut tasks = Vec::with_capacity(conns);
    for c in 0..conns {
        let interval = rate.map(|r| Duration::from_secs_f64(conns as f64 / r.max(1.0)));
        tasks.push(tokio::spawn(connection(addr, c, end, interval)));
    }
    let mut total = Load {
        ok: 0,
        errors: 0,
        secs: 0.0,
        latencies_us: Vec::new(),
    };
    for t in tasks {
        let one = t
            .await
            .map_err(|e| BenchError::Setup(format!("load task failed: {e}")))??;
        total.ok += one.ok;
        total.errors += one.errors;
        total.latencies_us.extend(one.latencies_us);
    }
    total.secs = started.elapsed().as_secs_f64();
    Ok(total)
}

async fn connection(
    addr: SocketAddr,
    c: usize,
    end: Instant,
    interval: Option<Duration>,
) -> Result<Load, BenchError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(8192);
    let mut out = Load {
        ok: 0,
        errors: 0,
        secs: 0.0,
        latencies_us: Vec::new(),
    };
    // Spread paced connections over one interval so they don't fire together.
    let mut next =
        Instant::now() + interval.map_or(Duration::ZERO, |i| i.mul_f64(c as f64 / 64.0 % 1.0));
    let mut n = c;
    while Instant::now() < end {
        // Paced: wait for the next slot. Latency counts from the slot when the
        // previous answer made us late (the server's fault: no coordinated omission),
        // from the actual send when we only waited for our own timer (whose
        // millisecond granularity is the client's, not the server's).
        let start = match interval {
            Some(_) if next > Instant::now() => {
                tokio::time::sleep_until(next.into()).await;
                Instant::now()
            }
            Some(_) => next,
            None => Instant::now(),
        };
        let req = format!(
            "GET /v1/events/ev-{}/prices HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {PORTAL_KEY}\r\n\r\n",
            n % EVENTS
        );
        n += 1;
        let status = exchange(&stream, req.as_bytes(), &mut buf).await?;
        if status == 200 {
            out.ok += 1;
        } else {
            out.errors += 1;
        }
        if let Some(i) = interval {
            out.latencies_us
                .push(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX));
            next += i;
        }
    }
    Ok(out)
}

/// Sends one request and reads its whole response; returns the status.
async fn exchange(stream: &TcpStream, req: &[u8], buf: &mut Vec<u8>) -> Result<u16, BenchError> {
    let mut sent = 0;
    while sent < req.len() {
        stream.writable().await?;
        match stream.try_write(&req[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
    }
    buf.clear();
    let mut chunk = [0u8; 8192];
    let mut need: Option<usize> = None;
    loop {
        if let Some(total) = need
            && buf.len() >= total
        {
            break;
        }
        stream.readable().await?;
        match stream.try_read(&mut chunk) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "server closed",
                )
                .into());
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e.into()),
        }
        if need.is_none()
            && let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            need = Some(head_end + 4 + length);
        }
    }
    let status = buf
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(status)
}
