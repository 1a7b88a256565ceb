//! A small Chrome DevTools Protocol client for tests: launches Debian's headless
//! `chromium`, finds its page target, and speaks CDP over a minimal WebSocket client
//! (std only: text frames out, masked; frames in, fragmented or not; pings answered).

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium with its own profile, killed on drop.
pub struct Browser {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium on `about:blank` with a DevTools port of its choosing.
    pub fn launch(binary: &Path) -> io::Result<Browser> {
        let profile = tempfile::tempdir()?;
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--window-size=1280,1000",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut browser = Browser {
            child,
            port: 0,
            profile,
        };
        let file: PathBuf = browser.profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Some(Ok(port)) = text.lines().next().map(str::parse::<u16>)
                && text.lines().count() >= 2
            {
                browser.port = port;
                return Ok(browser);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(io::Error::other(
            "chromium wrote no DevToolsActivePort in 30 s",
        ))
    }

    /// Connects to the first page target.
    pub fn page(&self) -> io::Result<Page> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let list = http_get(self.port, "/json/list")?;
            let targets: Value = serde_json::from_str(&list).map_err(io::Error::other)?;
            let url = targets.as_array().and_then(|ts| {
                ts.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            });
            if let Some(url) = url {
                let path = url
                    .split_once("/devtools/")
                    .map(|(_, p)| format!("/devtools/{p}"))
                    .ok_or_else(|| io::Error::other(format!("odd target url {url}")))?;
                return Page::connect(self.port, &path);
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("no page target"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> io::Result<String> {
    // DevTools' HTTP server keeps the connection open: read exactly Content-Length.
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().map_err(io::Error::other)?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// One page target over CDP.
pub struct Page {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_id: u64,
    /// Events received (CDP messages with a `method`), oldest first.
    pub events: Vec<Value>,
}

impl Page {
    fn connect(port: u16, path: &str) -> io::Result<Page> {
        let mut writer = TcpStream::connect(("127.0.0.1", port))?;
        write!(
            writer,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )?;
        let mut reader = BufReader::new(writer.try_clone()?);
        let mut status = String::new();
        reader.read_line(&mut status)?;
        if !status.contains(" 101 ") {
            return Err(io::Error::other(format!("no websocket upgrade: {status}")));
        }
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Ok(Page {
            reader,
            writer,
            next_id: 1,
            events: Vec::new(),
        })
    }

    fn send(&mut self, text: &str) -> io::Result<()> {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65_536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.writer.write_all(&frame)
    }

    /// The next whole message, or `None` if none starts within `wait`.
    fn recv(&mut self, wait: Duration) -> io::Result<Option<String>> {
        let mut message = Vec::new();
        loop {
            if message.is_empty() {
                self.reader
                    .get_ref()
                    .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
                match self.reader.fill_buf() {
                    Ok([]) => return Err(io::Error::other("devtools closed the socket")),
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        return Ok(None);
                    }
                    Err(e) => return Err(e),
                }
            }
            // A frame has started: read it whole.
            self.reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_secs(30)))?;
            let mut head = [0u8; 2];
            self.reader.read_exact(&mut head)?;
            let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0f);
            let masked = head[1] & 0x80 != 0;
            let len = match head[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.reader.read_exact(&mut b)?;
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.reader.read_exact(&mut b)?;
                    u64::from_be_bytes(b)
                }
                n => u64::from(n),
            };
            let mut mask = [0u8; 4];
            if masked {
                self.reader.read_exact(&mut mask)?;
            }
            let mut payload = vec![0u8; len as usize];
            self.reader.read_exact(&mut payload)?;
            if masked {
                payload
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, b)| *b ^= mask[i % 4]);
            }
            match opcode {
                0x0..=0x2 => {
                    message.extend_from_slice(&payload);
                    if fin {
                        return Ok(Some(String::from_utf8_lossy(&message).into_owned()));
                    }
                }
                0x8 => return Err(io::Error::other("devtools closed the websocket")),
                0x9 => {
                    let mut pong = vec![0x8a, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                    pong.extend_from_slice(&payload);
                    self.writer.write_all(&pong)?;
                }
                _ => {}
            }
        }
    }

    /// Calls `method` and returns its `result`; events met meanwhile are kept.
    pub fn call(&mut self, method: &str, params: Value) -> io::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "id": id, "method": method, "params": params }).to_string())?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let Some(text) = self.recv(Duration::from_secs(1))? else {
                continue;
            };
            let v: Value = serde_json::from_str(&text).map_err(io::Error::other)?;
            if v["id"] == id {
                if let Some(error) = v.get("error") {
                    return Err(io::Error::other(format!("{method}: {error}")));
                }
                return Ok(v["result"].clone());
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
        Err(io::Error::other(format!("{method}: no answer in 60 s")))
    }

    /// Evaluates `expression` in the page and returns its value.
    pub fn eval(&mut self, expression: &str) -> io::Result<Value> {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(io::Error::other(format!("{expression}: {e}")));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Collects events for `duration`.
    pub fn pump(&mut self, duration: Duration) -> io::Result<()> {
        let deadline = Instant::now() + duration;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Some(text) = self.recv(left)? {
                let v: Value = serde_json::from_str(&text).map_err(io::Error::other)?;
                if v.get("method").is_some() {
                    self.events.push(v);
                }
            }
        }
        Ok(())
    }

    /// Console errors, uncaught exceptions and error log entries among the events.
    pub fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Runtime.consoleAPICalled"
                    if matches!(e["params"]["type"].as_str(), Some("error" | "assert")) =>
                {
                    Some(e["params"]["args"].to_string())
                }
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"].to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// A PNG of the whole page (at most 4000 px tall).
    pub fn screenshot(&mut self) -> io::Result<Vec<u8>> {
        use base64::Engine as _;
        let metrics = self.call("Page.getLayoutMetrics", json!({}))?;
        let size = &metrics["cssContentSize"];
        let clip = json!({
            "x": 0, "y": 0, "scale": 1,
            "width": size["width"].as_f64().unwrap_or(1280.0),
            "height": size["height"].as_f64().unwrap_or(1000.0).min(4000.0),
        });
        let r = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "clip": clip, "captureBeyondViewport": true }),
        )?;
        let data = r["data"].as_str().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(io::Error::other)
    }
}

/// The board page's live counters (`window.boardLive`: updates received and applied,
/// bytes, points per chart, heat-map cells), `null` before the page set them.
pub fn live(page: &mut Page) -> Value {
    let text = page
        .eval("JSON.stringify(window.boardLive || null)")
        .expect("eval");
    serde_json::from_str(text.as_str().unwrap_or("null")).expect("json")
}
