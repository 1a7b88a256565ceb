//! A victoria-metrics instance for one test: own loopback port and temp data path,
//! stoppable and restartable on both, and a reader of `/api/v1/export`.

#![allow(dead_code)]

pub mod points;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `victoria-metrics` package puts the binary.
pub const BINARY: &str = "/usr/bin/victoria-metrics";

/// Prints the skip line and says whether the store binary is missing.
pub fn missing() -> bool {
    if Path::new(BINARY).exists() {
        return false;
    }
    println!("skipped: victoria-metrics not installed (the README test command installs it)");
    true
}

/// A free loopback port (bound and released; the store binds it right after).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// One running (or stopped) victoria-metrics.
pub struct Store {
    pub port: u16,
    pub data: PathBuf,
    child: Option<Child>,
}

impl Store {
    /// Starts a fresh instance on a free port with its data under `data`.
    pub fn start(data: &Path) -> Store {
        let mut store = Store {
            port: free_port(),
            data: data.to_path_buf(),
            child: None,
        };
        store.restart();
        store
    }

    /// The base URL of the write and export APIs.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the process on the same port and data path; waits for `/health`.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(BINARY)
            .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
            .arg(format!("-storageDataPath={}", self.data.display()))
            .arg("-retentionPeriod=100y")
            .arg("-search.latencyOffset=0s")
            .arg("-search.disableCache")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start victoria-metrics");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if health(self.port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "victoria-metrics did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process with SIGTERM (it finishes in-flight requests and flushes) and
    /// waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn health(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: x\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

/// One stored sample: series name, labels, timestamp (ms), value.
pub type Sample = (String, BTreeMap<String, String>, i64, f64);

/// Every sample whose series name matches `regex`, sorted.
pub async fn export(http: &reqwest::Client, url: &str, regex: &str) -> Vec<Sample> {
    let _ = http.get(format!("{url}/internal/force_flush")).send().await;
    let body = http
        .get(format!("{url}/api/v1/export"))
        .query(&[("match[]", format!("{{__name__=~\"{regex}\"}}"))])
        .send()
        .await
        .expect("export request")
        .text()
        .await
        .expect("export body");
    let mut samples = Vec::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("export line is JSON");
        let mut labels: BTreeMap<String, String> = row["metric"]
            .as_object()
            .expect("metric object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let name = labels.remove("__name__").expect("series name");
        let values = row["values"].as_array().expect("values");
        let times = row["timestamps"].as_array().expect("timestamps");
        assert_eq!(values.len(), times.len());
        for (v, t) in values.iter().zip(times) {
            let v = v.as_f64().expect("numeric value");
            let t = t.as_i64().expect("ms timestamp");
            samples.push((name.clone(), labels.clone(), t, v));
        }
    }
    samples.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    samples
}

/// Polls the export until it holds `expected` samples or `deadline_s` passes.
pub async fn export_until(
    http: &reqwest::Client,
    url: &str,
    regex: &str,
    expected: usize,
    deadline_s: u64,
) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(deadline_s);
    loop {
        let samples = export(http, url, regex).await;
        if samples.len() >= expected || Instant::now() > deadline {
            return samples;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `check` until it is true or `deadline_s` passes; says which.
pub async fn wait_for(deadline_s: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(deadline_s);
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
