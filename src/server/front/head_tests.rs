use super::*;

fn limits() -> ServerLimits {
    ServerLimits::default()
}

/// Scans and parses `raw` fed in one piece.
fn judge_raw(raw: &str) -> Result<Head, Reject> {
    let mut sc = Scanner::default();
    match sc.feed(raw.as_bytes(), &limits())? {
        Scan::Complete(n) => parse(&raw.as_bytes()[..n], &limits()),
        Scan::More => panic!("head incomplete: {raw:?}"),
    }
}

fn status(raw: &str) -> u16 {
    match judge_raw(raw) {
        Ok(h) => panic!("accepted {raw:?}: {h:?}"),
        Err(r) => r.status,
    }
}

fn ok(raw: &str) -> Head {
    judge_raw(raw).unwrap_or_else(|r| panic!("refused {raw:?}: {r:?}"))
}

#[test]
fn a_plain_request_is_accepted_and_forwarded_canonically() {
    let h = ok("GET /a?b HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: h2c\r\nTE: trailers\r\nX-Flaskrs-Peer: 6.6.6.6\r\nAccept:  */* \r\n\r\n");
    assert_eq!(h.method, "GET");
    assert_eq!(h.forward_target, "/a?b");
    assert!(h.keep_alive);
    assert_eq!(h.framing, Framing::None);
    let fwd = String::from_utf8(h.forward("127.0.0.1", false)).unwrap();
    assert_eq!(
        fwd,
        "GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nX-Flaskrs-Peer: 127.0.0.1\r\n\r\n"
    );
    let fwd = String::from_utf8(h.forward("1.2.3.4", true)).unwrap();
    assert!(
        fwd.starts_with("GET /a?b HTTP/1.1\r\nConnection: close\r\n"),
        "{fwd}"
    );
}

#[test]
fn bodies_are_forwarded_with_one_framing_header() {
    let h = ok("POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\nExpect: 100-Continue\r\n\r\n");
    assert_eq!(h.framing, Framing::Length(5));
    assert!(h.expect_continue);
    let fwd = String::from_utf8(h.forward("p", false)).unwrap();
    assert!(
        fwd.ends_with("X-Flaskrs-Peer: p\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"),
        "{fwd}"
    );
    let h = ok("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n");
    assert_eq!(h.framing, Framing::Chunked);
    let fwd = String::from_utf8(h.forward("p", true)).unwrap();
    assert!(fwd.ends_with("Transfer-Encoding: chunked\r\n\r\n"), "{fwd}");
    let h = ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(h.framing, Framing::Length(0));
}

#[test]
fn malformed_request_lines_are_400() {
    for raw in [
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1 junk\r\nHost: x\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /\r\nHost: x\r\n\r\n",
        "GET / http/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/x.y\r\nHost: x\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http:/// HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(status(raw), 400, "{raw:?}");
    }
}

#[test]
fn other_major_versions_are_505_and_higher_minors_are_1_1() {
    assert_eq!(status("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
    assert_eq!(status("GET / HTTP/3.0\r\nHost: x\r\n\r\n"), 505);
    assert_eq!(status("GET / HTTP/0.9\r\nHost: x\r\n\r\n"), 505);
    assert_eq!(
        ok("GET / HTTP/1.2\r\nHost: x\r\n\r\n").version,
        Version::Http11
    );
    let h = ok("GET / HTTP/1.0\r\n\r\n");
    assert_eq!(h.version, Version::Http10);
    assert!(!h.keep_alive);
    assert!(ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    assert!(!ok("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
}

#[test]
fn absolute_form_and_asterisk_targets() {
    let h = ok("GET http://Example.com:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n");
    assert_eq!(h.forward_target, "/p?q");
    assert_eq!(
        h.headers,
        [("Host".to_owned(), "Example.com:8080".to_owned())]
    );
    assert_eq!(
        ok("GET HTTPS://e.com HTTP/1.1\r\nHost: e.com\r\n\r\n").forward_target,
        "/"
    );
    assert_eq!(
        ok("GET http://e.com?x HTTP/1.1\r\nHost: e.com\r\n\r\n").forward_target,
        "/?x"
    );
    assert_eq!(
        ok("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").forward_target,
        "*"
    );
}

#[test]
fn header_syntax_is_strict() {
    for raw in [
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: caf\u{e9}\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX(A): a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n",
    ] {
        assert_eq!(status(raw), 400, "{raw:?}");
    }
}

#[test]
fn bare_lf_is_400_wherever_it_is() {
    for raw in [
        "GET / HTTP/1.1\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\n",
        "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let mut sc = Scanner::default();
        let r = sc.feed(raw.as_bytes(), &limits());
        assert_eq!(r.unwrap_err().status, 400, "{raw:?}");
    }
}

#[test]
fn host_rules() {
    assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
    assert_eq!(status("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), 400);
    for bad in [
        "a b", "a/b", "a@b", "a:x", "[::1", "[zz]", "a:123456", "a\\b",
    ] {
        assert_eq!(
            status(&format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n")),
            400,
            "{bad}"
        );
    }
    for good in [
        "",
        "a",
        "a.b-c:80",
        "[::1]:5000",
        "127.0.0.1",
        "xn--caf-dma.example",
    ] {
        ok(&format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n"));
    }
    ok("GET / HTTP/1.0\r\n\r\n");
}

#[test]
fn framing_ambiguities_are_refused() {
    let with = |h: &str| status(&format!("POST / HTTP/1.1\r\nHost: x\r\n{h}\r\n"));
    assert_eq!(
        with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
        400
    );
    assert_eq!(
        with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
        400
    );
    assert_eq!(with("Transfer-Encoding: gzip\r\n"), 501);
    assert_eq!(with("Transfer-Encoding: gzip, chunked\r\n"), 501);
    assert_eq!(with("Transfer-Encoding: chunked, chunked\r\n"), 501);
    assert_eq!(with("Transfer-Encoding: identity\r\n"), 501);
    assert_eq!(
        with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        400
    );
    assert_eq!(
        status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        400
    );
    for cl in ["+5", "-1", "5x", "0x5", "5, 5", "5,5", "1e3", "", " "] {
        assert_eq!(with(&format!("Content-Length: {cl}\r\n")), 400, "{cl:?}");
    }
    assert_eq!(with("Content-Length: 5\r\nContent-Length: 5\r\n"), 400);
    for cl in [
        "16777217",
        "9223372036854775000",
        "18446744073709551615",
        "99999999999999999999999",
    ] {
        assert_eq!(with(&format!("Content-Length: {cl}\r\n")), 413, "{cl}");
    }
    assert_eq!(
        ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\n").framing,
        Framing::Length(7)
    );
}

#[test]
fn expectations() {
    assert_eq!(
        status("POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n"),
        417
    );
    // Oversize with 100-continue: refused before any 100 could be sent.
    assert_eq!(
        status("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n"),
        413
    );
}

#[test]
fn size_limits_are_enforced_while_the_head_is_incomplete() {
    let l = limits();
    // 414 as soon as the request line crosses its limit, without a CRLF.
    let mut sc = Scanner::default();
    let long = format!("GET /{}", "a".repeat(8200));
    assert_eq!(sc.feed(long.as_bytes(), &l).unwrap_err().status, 414);
    // An 8 KiB request line is fine.
    let fine = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(8192 - 14));
    assert_eq!(fine.find("\r\n"), Some(8192));
    ok(&fine);
    // One header line too long, still open.
    let mut sc = Scanner::default();
    let big = format!("GET / HTTP/1.1\r\nX-Big: {}", "v".repeat(8200));
    assert_eq!(sc.feed(big.as_bytes(), &l).unwrap_err().status, 431);
    // 100 headers pass, 101 do not.
    let hundred: String = (0..99).map(|i| format!("X-{i}: v\r\n")).collect();
    ok(&format!("GET / HTTP/1.1\r\nHost: x\r\n{hundred}\r\n"));
    let more: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
    assert_eq!(
        status(&format!("GET / HTTP/1.1\r\nHost: x\r\n{more}\r\n")),
        431
    );
    // Total: nine lines of 8000 bytes exceed 64 KiB.
    let eight = "v".repeat(8000);
    let lots: String = (0..9).map(|i| format!("X-{i}: {eight}\r\n")).collect();
    let mut sc = Scanner::default();
    let raw = format!("GET / HTTP/1.1\r\nHost: x\r\n{lots}\r\n");
    assert_eq!(sc.feed(raw.as_bytes(), &l).unwrap_err().status, 431);
}

#[test]
fn scanning_byte_by_byte_finds_the_same_end() {
    let raw = b"\r\nGET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\nGET /next";
    let mut sc = Scanner::default();
    let mut end = None;
    for i in 1..=raw.len() {
        if let Scan::Complete(n) = sc.feed(&raw[..i], &limits()).unwrap() {
            end = Some(n);
            break;
        }
    }
    assert_eq!(end, Some(raw.len() - "GET /next".len()));
    assert!(sc.has_bytes());
    assert_eq!(
        parse(&raw[..end.unwrap()], &limits())
            .unwrap()
            .forward_target,
        "/"
    );
}

#[test]
fn request_lines_are_split_for_the_log() {
    let l = request_line_parts(b"GET /x HTTP/9.9\r\n");
    assert_eq!(
        l.parts,
        Some(("GET".into(), "/x".into(), "HTTP/9.9".into()))
    );
    assert_eq!(request_line_parts(b"garbage").parts, None);
}

#[test]
fn direct_forwards_name_the_connection_and_drop_expect() {
    let h = ok("POST /u HTTP/1.1\r\nHost: x\r\nX-Flaskrs-Conn: 7\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    let mut out = Vec::new();
    h.forward_into(
        &mut out,
        "p",
        false,
        Some((42, Via::Direct { last: false })),
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "POST /u HTTP/1.1\r\nHost: x\r\nX-Flaskrs-Peer: p\r\nX-Flaskrs-Conn: 42\r\nContent-Length: 2\r\n\r\n"
    );
    // A client's copy never reaches tiny_http.
    let fwd = String::from_utf8(h.forward("p", false)).unwrap();
    assert!(!fwd.contains("X-Flaskrs-Conn"), "{fwd}");
    assert!(fwd.contains("Expect: 100-continue\r\n"), "{fwd}");
}

#[test]
fn direct_forwards_say_what_the_answer_tells_the_client() {
    use crate::server::answer::Persist;
    let conn_value = |raw: &str, last: bool| {
        let mut out = Vec::new();
        ok(raw).forward_into(&mut out, "p", false, Some((9, Via::Direct { last })));
        let text = String::from_utf8(out).unwrap();
        let value = text
            .split("\r\n")
            .find_map(|l| l.strip_prefix("X-Flaskrs-Conn: "))
            .unwrap()
            .to_owned();
        parse_conn_header(&value).unwrap()
    };
    let v11 = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let v10 = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    assert_eq!(conn_value(v11, false), (9, Some(Persist::Default)));
    assert_eq!(conn_value(v11, true), (9, Some(Persist::Close)));
    assert_eq!(conn_value(v10, false), (9, Some(Persist::KeepAlive)));
    assert_eq!(conn_value(v10, true), (9, Some(Persist::Close)));
    assert_eq!(parse_conn_header("12"), Some((12, Some(Persist::Default))));
    // A relayed request keeps its `Expect` and names its connection too.
    let h = ok("POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n");
    let fwd = String::from_utf8(h.forward_relayed("p", 5)).unwrap();
    assert!(fwd.contains("\r\nX-Flaskrs-Conn: 5; relayed\r\n"), "{fwd}");
    assert!(fwd.contains("Expect: 100-continue\r\n"), "{fwd}");
    assert!(fwd.contains("\r\nConnection: close\r\n"), "{fwd}");
    assert_eq!(parse_conn_header("5; relayed"), Some((5, None)));
    assert_eq!(parse_conn_header("12; upgrade"), None);
    assert_eq!(parse_conn_header("x; close"), None);
}
