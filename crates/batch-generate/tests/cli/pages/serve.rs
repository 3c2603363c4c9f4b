//! A loopback HTTP server for the page tests: `GET` of a fixed set of paths, each mapped to a
//! file, on `127.0.0.1` and an ephemeral port; every request is logged with its status so a
//! test can check which requests a page made and how they were answered. One thread accepts,
//! one short-lived thread serves each connection (`Connection: close`, 10 s socket timeouts),
//! so an idle speculative connection of the browser cannot hold up the others.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request the server answered: the path as asked (query included) and the status sent.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request target, e.g. `/pipeline/package.html?id=npm%3Aa`.
    pub path: String,
    /// The status sent: 200, or 404 for a path not served.
    pub status: u16,
}

/// The running server; stops (and joins its accept thread) when dropped.
pub struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// Socket read and write timeout of one connection.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

impl Server {
    /// Serves `routes` (URL path without query, e.g. `/pipeline/index.html` → file); any other
    /// path gets 404.
    pub fn start(routes: BTreeMap<String, PathBuf>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let routes = Arc::new(routes);
        let accept = {
            let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (log, routes) = (Arc::clone(&log), Arc::clone(&routes));
                    std::thread::spawn(move || serve(conn, &routes, &log));
                }
            })
        };
        Server {
            addr,
            log,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests answered since the last call, in order.
    pub fn take_log(&self) -> Vec<Request> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Answers one connection: reads the request head (at most 64 KiB), sends the file or 404.
fn serve(mut conn: TcpStream, routes: &BTreeMap<String, PathBuf>, log: &Mutex<Vec<Request>>) {
    let _ = conn.set_read_timeout(Some(IO_TIMEOUT));
    let _ = conn.set_write_timeout(Some(IO_TIMEOUT));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.lines().next().unwrap_or("").split(' ');
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return; // a wake-up or speculative connection that sent nothing
    };
    let path = target.split('?').next().unwrap_or("");
    let body = (method == "GET")
        .then(|| routes.get(path))
        .flatten()
        .and_then(|file| std::fs::read(file).ok());
    let (status, reason, body) = match body {
        Some(b) => (200, "OK", b),
        None => (404, "Not Found", b"not found\n".to_vec()),
    };
    let kind = match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    };
    let reply = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    log.lock().unwrap().push(Request {
        path: target.to_owned(),
        status,
    });
    let _ = conn.write_all(reply.as_bytes());
    let _ = conn.write_all(&body);
    let _ = conn.flush();
}
