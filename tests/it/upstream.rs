//! A scripted upstream HTTP server on 127.0.0.1 for tests of live execution: it answers the requests
//! it receives with the replies of its script, in order, and records what it was sent. Plain
//! HTTP/1.1 over std's TcpListener, one connection per request (`Connection: close`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One scripted answer.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: String,
    /// Wait this long before answering.
    #[serde(default)]
    pub delay_ms: u64,
    /// Close the connection without answering.
    #[serde(default)]
    pub drop: bool,
    /// Instead of `body`: a JSON string of exactly this many bytes (`"xxx…"`).
    #[serde(default)]
    pub body_size: Option<usize>,
    /// Send the body chunked (`Transfer-Encoding: chunked`, 64 KiB chunks), without a
    /// `Content-Length`: its size is known only once it has been read.
    #[serde(default)]
    pub chunked: bool,
}

/// What the upstream received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

pub struct Upstream {
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Upstream {
    /// Starts serving `script` on a free port; runs until the test process ends.
    pub fn start(script: Vec<Reply>) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let base = format!(
            "http://{}",
            listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
        );
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let script = Arc::new(Mutex::new(script.into_iter()));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                let script = script.clone();
                thread::spawn(move || serve(stream, &log, &script));
            }
        });
        Upstream { base, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Received>>, script: &Mutex<std::vec::IntoIter<Reply>>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = script
        .lock()
        .ok()
        .and_then(|mut s| s.next())
        .unwrap_or(Reply {
            status: 599,
            body: "script exhausted".to_string(),
            ..Reply::default()
        });
    if let Ok(mut log) = log.lock() {
        log.push(Received {
            method,
            target,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    thread::sleep(Duration::from_millis(reply.delay_ms));
    if reply.drop {
        return;
    }
    let body = match reply.body_size {
        Some(size) => format!("\"{}\"", "x".repeat(size.saturating_sub(2))),
        None => reply.body.clone(),
    };
    let mut response = format!(
        "HTTP/1.1 {} Scripted\r\nConnection: close\r\n",
        reply.status
    );
    if reply.chunked {
        response.push_str("Transfer-Encoding: chunked\r\n");
    } else {
        response.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in &reply.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    let mut stream = stream;
    if !reply.chunked {
        response.push_str(&body);
        let _ = stream.write_all(response.as_bytes());
        let _ = stream.flush();
        return;
    }
    if stream.write_all(response.as_bytes()).is_err() {
        return;
    }
    for chunk in body.as_bytes().chunks(64 * 1024) {
        let head = format!("{:x}\r\n", chunk.len());
        // The reader may stop reading (and close) once the body is too large.
        if stream.write_all(head.as_bytes()).is_err()
            || stream.write_all(chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            return;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let _ = stream.flush();
}

/// An address where nothing listens (connection refused).
pub fn refused_base() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    drop(listener);
    format!("http://{address}")
}
