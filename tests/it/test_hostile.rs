//! The server under fire (issue 5): every hostile input from the issue, over
//! real sockets on 127.0.0.1. After each one, a normal `GET /` must be
//! answered at once. Timeouts are shortened (1 s) so the suite stays fast;
//! every wait is bounded.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flaskrs::server::{Server, ServerConfig, ServerHandle, ServerLimits};
use flaskrs::static_files::{send_from_directory, SendFileOptions};
use flaskrs::App;

/// The longest any single read in these tests waits.
const WAIT: Duration = Duration::from_secs(5);

/// What "at once" means for the health check.
const AT_ONCE: Duration = Duration::from_secs(1);

const SCRIPT: &str = r#"
route("/", || "Hello World!");
route("/echo", #{ methods: ["GET", "POST"] }, || `${request.data.len()} bytes`);
route("/crlf", || ["x", 200, #{ "X-Evil": "a\r\nSet-Cookie: evil=1" }]);
route("/lf", || ["x", 200, #{ "X-Evil": "a\nb" }]);
route("/side-effect", || "should never run");
"#;

const SECRET: &str = "TOP-SECRET-MARKER";

/// A server for one test, with the paths its handler saw.
struct Srv {
    handle: Option<ServerHandle>,
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Drop for Srv {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

fn limits() -> ServerLimits {
    ServerLimits {
        max_content_length: Some(1 << 20),
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        keep_alive_timeout: Duration::from_secs(1),
        send_timeout: Duration::from_secs(2),
        ..ServerLimits::default()
    }
}

fn serve() -> Srv {
    serve_with(limits())
}

fn serve_with(limits: ServerLimits) -> Srv {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let static_dir = root.join("static");
    std::fs::create_dir(&static_dir).unwrap();
    std::fs::write(static_dir.join("ok.txt"), "public file").unwrap();
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    std::os::unix::fs::symlink(root.join("secret.txt"), static_dir.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(&root, static_dir.join("up")).unwrap();
    let app = App::from_source("app.rhai", SCRIPT).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let handler = move |req: flaskrs::Request| {
        log.lock().unwrap().push(req.path.clone());
        if let Some(rest) = req.path.strip_prefix("/static/") {
            return send_from_directory(&static_dir, rest, &req, &SendFileOptions::default())
                .unwrap_or_else(|e| e.to_response());
        }
        app.handle(req)
    };
    let config = ServerConfig {
        host: "127.0.0.1".to_owned(),
        port: 0,
        threads: 4,
        limits,
        log_requests: false,
    };
    let handle = Server::bind(config, Arc::new(handler)).unwrap();
    Srv {
        addr: handle.addr(),
        handle: Some(handle),
        seen,
        _dir: dir,
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

/// Everything the server sent until it closed (or `WAIT` passed), and
/// whether it closed.
fn read_all(s: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let until = Instant::now() + WAIT;
    while Instant::now() < until && out.len() < (4 << 20) {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (out, false)
            }
            // A reset also closes.
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

/// The statuses of every response in `raw`, in order.
fn statuses(raw: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(raw);
    text.match_indices("HTTP/1.")
        .filter_map(|(i, _)| text.get(i + 9..i + 12))
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Sends `raw` on a new connection and returns what came back, asserting
/// the server closed the connection.
fn hostile(srv: &Srv, raw: &[u8]) -> Vec<u8> {
    let mut s = connect(srv.addr);
    // The server may refuse and close before everything is written.
    let _ = s.write_all(raw);
    let (out, closed) = read_all(&mut s);
    assert!(
        closed,
        "connection left open after {:?}",
        String::from_utf8_lossy(&raw[..raw.len().min(200)])
    );
    out
}

/// The first status answered to `raw` (the connection must close).
fn status_of(srv: &Srv, raw: &str) -> u16 {
    let out = hostile(srv, raw.as_bytes());
    *statuses(&out)
        .first()
        .unwrap_or_else(|| panic!("no answer to {raw:?}"))
}

/// A normal request is answered at once, with the right body.
fn healthy(addr: SocketAddr) {
    let t = Instant::now();
    let mut s = connect(addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (out, _) = read_all(&mut s);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nHello World!"), "{text}");
    assert!(t.elapsed() < AT_ONCE, "GET / took {:?}", t.elapsed());
}

/// During a flood a newcomer may meet a full cap of connections whose
/// threads have not yet looked at them (so none counts as idle); it gets
/// 503 and closes, and is served as soon as the flood can be evicted.
fn served_soon(addr: SocketAddr) {
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let mut s = connect(addr);
        s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (out, _) = read_all(&mut s);
        let text = String::from_utf8_lossy(&out).into_owned();
        if text.starts_with("HTTP/1.1 200 OK\r\n") {
            assert!(text.ends_with("\r\n\r\nHello World!"), "{text}");
            return;
        }
        assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
        assert!(Instant::now() < until, "still refused after 3 s: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check(srv: &Srv, cases: &[(&str, u16)]) {
    for (raw, want) in cases {
        assert_eq!(status_of(srv, raw), *want, "{raw:?}");
        healthy(srv.addr);
    }
}

#[test]
fn malformed_request_lines() {
    let srv = serve();
    check(
        &srv,
        &[
            ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1 junk\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/x.y\r\nHost: x\r\n\r\n", 400),
            ("GET / http/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1.1\r\nHost: x\r\n\r\n", 400),
            ("GET /\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
            ("GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
            ("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("\x16\x03\x01\x02\x00\x01\x00\x01\x03\x03\r\n\r\n", 400),
        ],
    );
    // Well-formed absolute-form and asterisk targets are served.
    let mut s = connect(srv.addr);
    s.write_all(b"GET http://example.com/ HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (out, _) = read_all(&mut s);
    assert_eq!(statuses(&out), [200]);
    let mut s = connect(srv.addr);
    s.write_all(b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (out, _) = read_all(&mut s);
    assert_eq!(statuses(&out).len(), 1, "{}", String::from_utf8_lossy(&out));
    healthy(srv.addr);
}

#[test]
fn oversize_urls_and_headers() {
    let srv = serve();
    let url = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let line = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "v".repeat(8193)
    );
    let many: String = (0..101).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let total: String = (0..9)
        .map(|i| format!("X-{i}: {}\r\n", "v".repeat(8000)))
        .collect();
    let total = format!("GET / HTTP/1.1\r\nHost: x\r\n{total}\r\n");
    let endless = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Endless: {}",
        "v".repeat(256 * 1024)
    );
    check(
        &srv,
        &[
            (&url, 414),
            (&line, 431),
            (&many, 431),
            (&total, 431),
            (&endless, 431),
        ],
    );
    // At the limits exactly: served.
    let hundred: String = (0..99).map(|i| format!("X-H{i}: v\r\n")).collect();
    let mut s = connect(srv.addr);
    s.write_all(
        format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{hundred}\r\n").as_bytes(),
    )
    .unwrap_or(());
    let (out, _) = read_all(&mut s);
    assert_eq!(statuses(&out), [431], "101 lines with Connection");
    let hundred: String = (0..98).map(|i| format!("X-H{i}: v\r\n")).collect();
    let mut s = connect(srv.addr);
    s.write_all(
        format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{hundred}\r\n").as_bytes(),
    )
    .unwrap();
    let (out, _) = read_all(&mut s);
    assert_eq!(statuses(&out), [200], "100 header lines");
}

#[test]
fn control_bytes_and_bare_lf_in_headers() {
    let srv = serve();
    check(
        &srv,
        &[
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\nHost: x\n\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\n\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n", 400),
            (
                "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n",
                400,
            ),
            ("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ],
    );
}

#[test]
fn host_rules() {
    let srv = serve();
    check(
        &srv,
        &[
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
        ],
    );
    // HTTP/1.0 may leave Host out.
    let mut s = connect(srv.addr);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let (out, closed) = read_all(&mut s);
    assert_eq!(statuses(&out), [200]);
    assert!(closed, "HTTP/1.0 without keep-alive stays open");
}

#[test]
fn framing_smuggling_attempts() {
    let srv = serve();
    let post = |h: &str| format!("POST /echo HTTP/1.1\r\nHost: x\r\n{h}\r\nhello");
    let cases: Vec<(String, u16)> = vec![
        (
            post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
            400,
        ),
        (
            post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
            400,
        ),
        (post("Transfer-Encoding: gzip\r\n"), 501),
        (post("Transfer-Encoding: gzip, chunked\r\n"), 501),
        (post("Transfer-Encoding: chunked, identity\r\n"), 501),
        (
            post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
            400,
        ),
        (post("Transfer-Encoding : chunked\r\n"), 400),
        (
            "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                .to_owned(),
            400,
        ),
        (post("Content-Length: 5\r\nContent-Length: 5\r\n"), 400),
        (post("Content-Length: 5\r\nContent-Length: 6\r\n"), 400),
        (post("Content-Length: +5\r\n"), 400),
        (post("Content-Length: -5\r\n"), 400),
        (post("Content-Length: 0x5\r\n"), 400),
        (post("Content-Length: 5, 5\r\n"), 400),
        (post("Content-Length: abc\r\n"), 400),
        (post("Content-Length: 99999999999999999999999\r\n"), 413),
        (post("Content-Length: 9223372036854775000\r\n"), 413),
        (post("Content-Length: 18446744073709551615\r\n"), 413),
        (post("Content-Length: 18446744073709551616\r\n"), 413),
        (post("Content-Length: 1048577\r\n"), 413),
    ];
    for (raw, want) in &cases {
        assert_eq!(status_of(&srv, raw), *want, "{raw:?}");
        healthy(srv.addr);
    }
    // A valid body of each framing is served.
    let mut s = connect(srv.addr);
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloPOST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        .unwrap();
    let (out, closed) = read_all(&mut s);
    let text = String::from_utf8_lossy(&out);
    assert!(
        closed && text.contains("\r\n\r\n5 bytes") && text.ends_with("\r\n\r\n3 bytes"),
        "{text}"
    );
    // The bodies never ran as requests.
    let seen = srv.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|p| p == "/" || p == "/echo"), "{seen:?}");
}

#[test]
fn short_and_broken_bodies() {
    let srv = serve();
    // Shorter than declared, then the client half-closes.
    let mut s = connect(srv.addr);
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (out, closed) = read_all(&mut s);
    assert!(closed);
    assert!(
        statuses(&out).iter().all(|&st| st == 400),
        "{}",
        String::from_utf8_lossy(&out)
    );
    healthy(srv.addr);
    // Longer than the early-read threshold of tiny_http, cut short.
    let mut s = connect(srv.addr);
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
        .unwrap();
    s.write_all(&[b'y'; 2000]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (out, closed) = read_all(&mut s);
    assert!(closed);
    assert!(
        statuses(&out).iter().all(|&st| st == 400),
        "{}",
        String::from_utf8_lossy(&out)
    );
    healthy(srv.addr);
    // Chunked bodies that break off, mid-size line and mid-data.
    for cut in ["5\r\nab", "5\r\nhello\r\n1", "5\r\nhello\r\n"] {
        let mut s = connect(srv.addr);
        s.write_all(
            format!("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{cut}")
                .as_bytes(),
        )
        .unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let (out, closed) = read_all(&mut s);
        assert!(closed, "{cut:?}");
        let st = statuses(&out);
        assert!(
            st.iter().all(|&x| x == 400),
            "{cut:?}: {}",
            String::from_utf8_lossy(&out)
        );
        healthy(srv.addr);
    }
    // Bad chunk sizes: never a 200, always closed.
    for bad in [
        "zz\r\nhello\r\n0\r\n\r\n",
        "-5\r\n",
        "+5\r\nhello\r\n0\r\n\r\n",
        "5 \r\nhello\r\n0\r\n\r\n",
        "fffffffffffffffff\r\n",
        "ffffffffffffff\r\nabc",
        "5\r\nhelloXX0\r\n\r\n",
        "5\nhello\n0\n\n",
    ] {
        let out = hostile(
            &srv,
            format!("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{bad}")
                .as_bytes(),
        );
        let st = statuses(&out);
        assert!(
            !st.is_empty() && st.iter().all(|&x| x == 400 || x == 413),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out)
        );
        healthy(srv.addr);
    }
}

#[test]
fn expect_100_continue_with_an_oversize_body_gets_413_and_no_100() {
    let srv = serve();
    let out = hostile(
        &srv,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
    healthy(srv.addr);
    // Within the limit, a 100 comes first: from the front door for a body
    // it reads whole, from tiny_http for one streamed to the app.
    for len in [3000, 100_000] {
        let mut s = connect(srv.addr);
        let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
        s.write_all(head.as_bytes()).unwrap();
        let mut interim = Vec::new();
        let mut byte = [0u8; 1];
        while !interim.ends_with(b"\r\n\r\n") && interim.len() < 1024 {
            s.read_exact(&mut byte).unwrap();
            interim.push(byte[0]);
        }
        assert!(interim.starts_with(b"HTTP/1.1 100 Continue\r\n"));
        s.write_all(&vec![b'z'; len]).unwrap();
        let (out, _) = read_all(&mut s);
        let text = String::from_utf8_lossy(&out);
        assert!(text.ends_with(&format!("\r\n\r\n{len} bytes")), "{text}");
    }
    assert_eq!(
        status_of(&srv, "POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n"),
        417
    );
    healthy(srv.addr);
}

#[test]
fn pipelined_requests_after_a_400_are_never_dispatched() {
    let srv = serve();
    let out = hostile(
        &srv,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET  / HTTP/1.1\r\nHost: x\r\n\r\nGET /side-effect HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(statuses(&out), [200, 400]);
    let out = hostile(
        &srv,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nGET /side-effect HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(statuses(&out), [400]);
    std::thread::sleep(Duration::from_millis(100));
    let seen = srv.seen.lock().unwrap().clone();
    assert!(!seen.contains(&"/side-effect".to_owned()), "{seen:?}");
    healthy(srv.addr);
}

/// Bodies are read whole by the front door before a worker sees the
/// request (in memory up to 64 KiB, in a temporary file above): clients
/// that stall mid-body, more of them than there are workers, hold only
/// their own connections. (Not 1 KiB or less: tiny_http itself reads
/// those before dispatching.)
#[test]
fn clients_stalling_mid_body_hold_no_worker() {
    let srv = serve_with(ServerLimits {
        body_timeout: Duration::from_secs(5),
        ..limits()
    });
    // Four of each kind: any kind alone would hold all four workers.
    let sizes = [5000, 5000, 5000, 5000, 200_000, 200_000, 200_000, 200_000];
    let stalled: Vec<(TcpStream, usize)> = sizes
        .iter()
        .map(|&len| {
            let mut s = connect(srv.addr);
            let head = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n");
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&vec![b'a'; len / 2]).unwrap();
            (s, len)
        })
        .collect();
    let _chunked: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(srv.addr);
            s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap();
            s.write_all(format!("1000\r\n{}\r\n800\r\nab", "c".repeat(4096)).as_bytes())
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // Four workers, twelve stalled bodies: served at once all the same.
    healthy(srv.addr);
    // Stalled bodies that resume are still served whole.
    for (mut s, len) in stalled.into_iter().skip(3).take(2) {
        s.write_all(&vec![b'b'; len - len / 2]).unwrap();
        let (out, _) = read_all(&mut s);
        let text = String::from_utf8_lossy(&out);
        assert!(text.ends_with(&format!("\r\n\r\n{len} bytes")), "{text}");
    }
}

/// Past the bound on spooled bytes, the rest of a body streams through:
/// what was spooled and what follows reach the app whole and in order.
#[test]
fn bodies_past_the_spool_bound_stream_the_rest() {
    let srv = serve_with(ServerLimits {
        spool_max: 100_000,
        ..limits()
    });
    let body: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut s = connect(srv.addr);
    let head =
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\nConnection: close\r\n\r\n";
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let (out, _) = read_all(&mut s);
    let text = String::from_utf8_lossy(&out);
    assert!(text.ends_with("\r\n\r\n300000 bytes"), "{text}");
    // The same body chunked: spooled up to the bound, the rest streamed.
    let mut s = connect(srv.addr);
    let head =
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    s.write_all(head.as_bytes()).unwrap();
    for part in body.chunks(10_000) {
        s.write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .unwrap();
        s.write_all(part).unwrap();
        s.write_all(b"\r\n").unwrap();
    }
    s.write_all(b"0\r\n\r\n").unwrap();
    let (out, _) = read_all(&mut s);
    let text = String::from_utf8_lossy(&out);
    assert!(text.ends_with("\r\n\r\n300000 bytes"), "{text}");
    healthy(srv.addr);
}

#[test]
fn slow_headers_and_slow_bodies_are_cut_off() {
    let srv = serve();
    // One byte every 300 ms: the 1 s header deadline is not extended.
    let mut s = connect(srv.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t = Instant::now();
    let mut out = Vec::new();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let closed = loop {
        assert!(t.elapsed() < Duration::from_secs(5), "slow head kept open");
        if s.write_all(b"X").is_err() {
            break true;
        }
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break true,
        }
    };
    assert!(closed);
    // The 1 s deadline, then at most 1 s of lingering close.
    assert!(
        t.elapsed() < Duration::from_millis(3500),
        "{:?}",
        t.elapsed()
    );
    let st = statuses(&out);
    assert!(
        st.is_empty() || st == [408],
        "{}",
        String::from_utf8_lossy(&out)
    );
    healthy(srv.addr);
    // A body that stalls: answered (408 or the app's 400) or closed within
    // the body timeout.
    let mut s = connect(srv.addr);
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        .unwrap();
    let t = Instant::now();
    let (out, closed) = read_all(&mut s);
    assert!(
        closed && t.elapsed() < Duration::from_millis(3500),
        "{:?}",
        t.elapsed()
    );
    let st = statuses(&out);
    assert!(
        st.iter().all(|&x| x == 408 || x == 400),
        "{}",
        String::from_utf8_lossy(&out)
    );
    healthy(srv.addr);
    // A silent connection is closed after the header timeout.
    let mut s = connect(srv.addr);
    let t = Instant::now();
    let (out, closed) = read_all(&mut s);
    assert!(
        closed && out.is_empty() && t.elapsed() < Duration::from_millis(1800),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn five_hundred_idle_connections_do_not_shut_others_out() {
    let srv = serve_with(ServerLimits {
        header_timeout: Duration::from_secs(20),
        keep_alive_timeout: Duration::from_secs(20),
        ..limits()
    });
    let idle: Vec<TcpStream> = (0..500).map(|_| connect(srv.addr)).collect();
    // Keep-alive connections that sent one request and went quiet.
    let mut kept: Vec<TcpStream> = Vec::new();
    for _ in 0..20 {
        let mut s = connect(srv.addr);
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        kept.push(s);
    }
    let server_side = wait_for(|| srv.handle.as_ref().unwrap().open_connections() >= 520);
    assert!(server_side, "not all connections were accepted");
    for _ in 0..5 {
        healthy(srv.addr);
    }
    drop(idle);
    drop(kept);
    assert!(wait_for(
        || srv.handle.as_ref().unwrap().open_connections() == 0
    ));
    healthy(srv.addr);
}

#[test]
fn at_the_connection_cap_the_idle_make_room_and_the_busy_get_503() {
    let srv = serve_with(ServerLimits {
        max_connections: 8,
        header_timeout: Duration::from_secs(20),
        ..limits()
    });
    assert_eq!(srv.handle.as_ref().unwrap().connection_cap(), 8);
    // 50 idle connections: each newcomer closes the longest-idle one.
    let idle: Vec<TcpStream> = (0..50).map(|_| connect(srv.addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    assert!(srv.handle.as_ref().unwrap().open_connections() <= 9);
    healthy(srv.addr);
    drop(idle);
    // Let the server see those go (and the healthy one close) first, so
    // the cap below is filled by the busy connections alone.
    assert!(wait_for(
        || srv.handle.as_ref().unwrap().open_connections() == 0
    ));
    // 8 connections in the middle of a head are busy: the next gets 503.
    let busy: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = connect(srv.addr);
            s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    assert!(wait_for(
        || srv.handle.as_ref().unwrap().open_connections() == 8
    ));
    let out = hostile(&srv, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(statuses(&out), [503], "{}", String::from_utf8_lossy(&out));
    drop(busy);
    assert!(wait_for(
        || srv.handle.as_ref().unwrap().open_connections() == 0
    ));
    healthy(srv.addr);
}

fn wait_for(cond: impl Fn() -> bool) -> bool {
    let until = Instant::now() + WAIT;
    while Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

#[test]
fn a_descriptor_limit_flood_is_survived() {
    // The server binary runs with 96 descriptors (lowered in the child
    // only): its connection cap drops to (96 - 48) / 4 = 12.
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("hello.rhai");
    std::fs::write(&app, "route(\"/\", || \"Hello World!\");\n").unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -n 96 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_flaskrs-host"))
        .args([app.to_str().unwrap(), "--port", "0", "--threads", "2"]);
    let (mut child, port, mut err) = crate::common::spawn_host(cmd);
    // Keep the child's stderr flowing (access log lines).
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = err.read_to_end(&mut sink);
    });
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    healthy(addr);
    // Far more connections than the process has descriptors.
    let flood: Vec<TcpStream> = (0..400)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    assert!(flood.len() > 96, "only {} connections opened", flood.len());
    for _ in 0..3 {
        served_soon(addr);
    }
    assert!(child.0.try_wait().unwrap().is_none(), "the server died");
    drop(flood);
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..3 {
        healthy(addr);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let code = child.0.wait().unwrap();
    assert_eq!(code.code(), Some(0));
}

#[test]
fn static_paths_never_leave_static() {
    let srv = serve();
    let mut s = connect(srv.addr);
    s.write_all(b"GET /static/ok.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (out, _) = read_all(&mut s);
    assert!(String::from_utf8_lossy(&out).ends_with("public file"));
    for path in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/..\\secret.txt",
        "/static/%252e%252e/secret.txt",
        "/static/%252e%252e%252fsecret.txt",
        "/static/.%2e/secret.txt",
        "/static/ok.txt%00../../secret.txt",
        "/static/%00",
        "/static/link.txt",
        "/static/up/secret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/CON",
        "/static/NUL.txt",
        "/static/aux",
        "/static/com1.txt",
        "/static/..",
        "/static/./../secret.txt",
        "/static/%c0%ae%c0%ae/secret.txt",
        "/static/..;/secret.txt",
    ] {
        let mut s = connect(srv.addr);
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let (out, _) = read_all(&mut s);
        let text = String::from_utf8_lossy(&out);
        assert!(
            !text.contains(SECRET) && !text.contains("root:"),
            "{path}: {text}"
        );
        let st = statuses(&out);
        assert!(st.len() == 1 && st[0] != 200, "{path}: {text}");
    }
    healthy(srv.addr);
}

#[test]
fn cr_lf_from_a_script_never_reaches_the_wire() {
    let srv = serve();
    for path in ["/crlf", "/lf"] {
        let mut s = connect(srv.addr);
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let (out, _) = read_all(&mut s);
        let text = String::from_utf8_lossy(&out);
        assert_eq!(statuses(&out), [500], "{text}");
        assert!(!text.contains("evil") && !text.contains("X-Evil"), "{text}");
        healthy(srv.addr);
    }
}
