use super::conditional::unquote_etag;
use super::*;

use std::fs;

/// Responses of Flask 3.1.3 / Werkzeug 3.1 (`tests/vectors/gen_static.py`).
const VECTORS: &str = include_str!("../../tests/vectors/static_files.json");

fn vectors() -> serde_json::Value {
    serde_json::from_str(VECTORS).expect("vectors parse")
}

/// The vectors store bytes as Latin-1 text.
fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

fn body_bytes(resp: &mut Response) -> Vec<u8> {
    resp.buffer().expect("read body").to_vec()
}

/// The vectors' static folder, recreated with the same bytes and mtime.
fn vector_root(v: &serde_json::Value) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    let mtime_ns = v["mtime_ns"].as_u64().expect("mtime");
    let mtime = UNIX_EPOCH + Duration::from_nanos(mtime_ns);
    for (name, data) in v["files"].as_object().expect("files") {
        let path = root.path().join("static").join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, latin1(data.as_str().expect("str"))).expect("write");
        let f = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        f.set_modified(mtime).expect("set mtime");
    }
    root
}

fn opts_for(case: &serde_json::Value) -> SendFileOptions {
    let o = &case["opts"];
    SendFileOptions {
        as_attachment: o["as_attachment"].as_bool().unwrap_or(false),
        download_name: o["download_name"].as_str().map(str::to_owned),
        max_age: o["max_age"].as_u64(),
        conditional: o["conditional"].as_bool().unwrap_or(true),
        etag: o["etag"].as_bool().unwrap_or(true),
        mimetype: o["mimetype"].as_str().map(str::to_owned),
        ..SendFileOptions::default()
    }
}

#[test]
fn responses_match_flask() {
    let v = vectors();
    let root = vector_root(&v);
    let static_dir = root.path().join("static");
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() > 70);
    // The vectors' ETags checksum their own absolute paths: map each to ours,
    // so conditional requests carry the tag this host sends.
    let mut tags: Vec<(String, String)> = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        for h in case["headers"].as_array().unwrap() {
            if h[0] == "ETag" {
                let path = static_dir.join(name);
                let meta = fs::metadata(&path).unwrap();
                let ours = werkzeug_etag(&path, meta.modified().unwrap(), meta.len());
                let theirs = unquote_etag(h[1].as_str().unwrap()).to_owned();
                tags.push((theirs, ours));
            }
        }
    }
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let method = case["method"].as_str().unwrap();
        let mut req = Request::new(method, "/");
        for h in case["request_headers"].as_array().unwrap() {
            let mut value = h[1].as_str().unwrap().to_owned();
            for (theirs, ours) in &tags {
                value = value.replace(theirs.as_str(), ours);
            }
            req = req.with_header(h[0].as_str().unwrap(), value);
        }
        let what = format!(
            "{} {method} {name} {:?}",
            case["route"], case["request_headers"]
        );
        let status = case["status"].as_u64().unwrap() as u16;
        let expected: Vec<(&str, &str)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
            .collect();
        match send_from_directory(&static_dir, name, &req, &opts_for(case)) {
            Err(err) => {
                assert_eq!(err.code, status, "{what}");
                // Flask adds only the page's own headers to the error's.
                let range = expected.iter().find(|(k, _)| *k == "Content-Range");
                assert_eq!(
                    err.headers.get("Content-Range"),
                    range.map(|r| r.1),
                    "{what}"
                );
            }
            Ok(mut resp) => {
                assert_eq!(resp.status, status, "{what}");
                let got: Vec<(String, String)> = resp
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                assert_eq!(got.len(), expected.len(), "{what}: {got:?}");
                for ((gk, gv), (ek, ev)) in got.iter().zip(&expected) {
                    assert_eq!(gk, ek, "{what}");
                    match gk.as_str() {
                        // Times of the request: same format, not the same value.
                        "Date" | "Expires" => assert!(httpdate::parse_http_date(gv).is_ok()),
                        // The checksum covers the absolute path, which differs.
                        "ETag" => {
                            let prefix = |s: &str| s.rsplit_once('-').unwrap().0.to_owned();
                            assert_eq!(prefix(gv), prefix(ev), "{what}");
                            let path = static_dir.join(name);
                            let meta = fs::metadata(&path).unwrap();
                            let tag = werkzeug_etag(&path, meta.modified().unwrap(), meta.len());
                            assert_eq!(*gv, format!("\"{tag}\""));
                        }
                        _ => assert_eq!(gv, ev, "{what}"),
                    }
                }
                // HEAD bodies are dropped by the app layer, not here.
                if method != "HEAD" {
                    let body = body_bytes(&mut resp);
                    assert_eq!(body, latin1(case["body"].as_str().unwrap()), "{what}");
                }
            }
        }
    }
}

#[test]
fn etags_match_werkzeug() {
    let v = vectors();
    for row in v["etags"].as_array().unwrap() {
        let path = Path::new(row[0].as_str().unwrap());
        let mtime = UNIX_EPOCH + Duration::from_nanos(row[1].as_u64().unwrap());
        let size = row[2].as_u64().unwrap();
        assert_eq!(werkzeug_etag(path, mtime, size), row[3].as_str().unwrap());
    }
}

#[test]
fn lexical_rules_match_werkzeug_safe_join() {
    let v = vectors();
    for row in v["safe_join"].as_array().unwrap() {
        let (base, part) = (row[0].as_str().unwrap(), row[1].as_str().unwrap());
        let expected = row[2].as_str();
        // Deliberately stricter than Werkzeug on Linux: backslashes are
        // refused on every OS.
        if part.contains('\\') {
            assert_eq!(check_untrusted(part), None, "{part:?}");
            continue;
        }
        let got = if part.is_empty() {
            Some(PathBuf::from(base))
        } else {
            check_untrusted(part)
                .map(|p| Path::new(if base.is_empty() { "." } else { base }).join(p))
        };
        assert_eq!(got, expected.map(PathBuf::from), "{base:?} + {part:?}");
    }
}

#[test]
fn windows_device_names_are_refused_everywhere() {
    for name in [
        "CON",
        "con",
        "con.txt",
        "NUL ",
        "nul.tar.gz",
        "sub/AUX",
        "COM1",
        "com9.log",
        "LPT¹",
        "lpt³.x",
        "CONIN$",
        "conout$.txt",
        "PRN",
        " aux .txt",
    ] {
        assert_eq!(check_untrusted(name), None, "{name:?}");
    }
    for name in ["CONSOLE", "COM0", "COM10", "nulls.txt", "xcon", "LPT"] {
        assert!(check_untrusted(name).is_some(), "{name:?}");
    }
}

/// A directory tree with `static/` and a secret beside it.
fn traversal_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let static_dir = root.path().join("static");
    fs::create_dir_all(static_dir.join("sub")).unwrap();
    fs::write(static_dir.join("ok.txt"), "ok").unwrap();
    fs::write(static_dir.join("sub/inner.txt"), "inner").unwrap();
    fs::write(root.path().join("secret.txt"), "SECRET").unwrap();
    root
}

#[test]
fn traversal_attempts_never_leave_the_directory() {
    let root = traversal_root();
    let dir = root.path().join("static");
    let req = Request::new("GET", "/static/x");
    // The URL forms, decoded as the server decodes them before routing.
    let decoded = |raw: &str| Request::new("GET", &format!("/{raw}")).path[1..].to_owned();
    let attempts = [
        "../secret.txt".to_owned(),
        decoded("%2e%2e/secret.txt"),
        decoded("%2E%2E%2Fsecret.txt"),
        decoded("sub%2f..%2f..%2fsecret.txt"),
        "sub/../../secret.txt".to_owned(),
        "a/../../secret.txt".to_owned(),
        "/etc/passwd".to_owned(),
        "//etc/passwd".to_owned(),
        "..\\secret.txt".to_owned(),
        decoded("..%5csecret.txt"),
        "ok.txt\0".to_owned(),
        decoded("ok.txt%00.png"),
        "..".to_owned(),
        "./../secret.txt".to_owned(),
        "sub/./../../secret.txt".to_owned(),
        "CON".to_owned(),
    ];
    for attempt in &attempts {
        assert_eq!(safe_join(&dir, attempt), None, "{attempt:?}");
        let err = send_from_directory(&dir, attempt, &req, &SendFileOptions::default())
            .expect_err(attempt);
        assert_eq!(err.code, 404, "{attempt:?}");
    }
    // Normalization that stays inside is allowed, as in Werkzeug.
    assert_eq!(safe_join(&dir, "sub/../ok.txt"), Some(dir.join("ok.txt")));
    assert_eq!(
        safe_join(&dir, "./sub//inner.txt"),
        Some(dir.join("sub/inner.txt"))
    );
    assert_eq!(safe_join(&dir, ""), Some(dir.clone()));
    // Missing files have no canonical path.
    assert_eq!(safe_join(&dir, "nope.txt"), None);
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_directory_are_refused() {
    use std::os::unix::fs::symlink;
    let root = traversal_root();
    let dir = root.path().join("static");
    symlink(root.path().join("secret.txt"), dir.join("link.txt")).unwrap();
    symlink(root.path(), dir.join("up")).unwrap();
    symlink(dir.join("ok.txt"), dir.join("alias.txt")).unwrap();
    assert_eq!(safe_join(&dir, "link.txt"), None);
    assert_eq!(safe_join(&dir, "up/secret.txt"), None);
    // Through a link out and back in: the file itself is inside.
    assert_eq!(
        safe_join(&dir, "up/static/ok.txt"),
        Some(dir.join("up/static/ok.txt"))
    );
    let req = Request::new("GET", "/static/link.txt");
    let err = send_from_directory(&dir, "link.txt", &req, &SendFileOptions::default());
    assert_eq!(err.unwrap_err().code, 404);
    // A link that stays inside is fine, and is named by its own name.
    assert_eq!(safe_join(&dir, "alias.txt"), Some(dir.join("alias.txt")));
    let mut resp =
        send_from_directory(&dir, "alias.txt", &req, &SendFileOptions::default()).unwrap();
    assert_eq!(
        resp.headers.get("Content-Disposition"),
        Some("inline; filename=alias.txt")
    );
    assert_eq!(body_bytes(&mut resp), b"ok");
    // The directory itself may be reached through a symlink.
    let via = root.path().join("static-link");
    symlink(&dir, &via).unwrap();
    assert_eq!(safe_join(&via, "ok.txt"), Some(via.join("ok.txt")));
}

#[test]
fn send_file_missing_or_directory_is_404() {
    let root = traversal_root();
    let req = Request::new("GET", "/");
    let opts = SendFileOptions::default();
    let dir = root.path().join("static");
    assert_eq!(
        send_file(&dir.join("nope"), &req, &opts).unwrap_err().code,
        404
    );
    assert_eq!(
        send_file(&dir.join("sub"), &req, &opts).unwrap_err().code,
        404
    );
    assert_eq!(
        send_from_directory(&dir, "sub", &req, &opts)
            .unwrap_err()
            .code,
        404
    );
    assert_eq!(
        send_from_directory(&dir, "", &req, &opts).unwrap_err().code,
        404
    );
}

#[cfg(unix)]
#[test]
fn special_files_are_404_without_blocking() {
    let root = tempfile::tempdir().unwrap();
    let fifo = root.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo on this system
    }
    let req = Request::new("GET", "/");
    let opts = SendFileOptions::default();
    assert_eq!(send_file(&fifo, &req, &opts).unwrap_err().code, 404);
    assert_eq!(
        send_file(Path::new("/dev/null"), &req, &opts)
            .unwrap_err()
            .code,
        404
    );
}

#[test]
fn bodies_stream_from_the_file() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("big.bin");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&path, &data).unwrap();
    let opts = SendFileOptions::default();
    let mut resp = send_file(&path, &Request::new("GET", "/"), &opts).unwrap();
    assert!(matches!(resp.body, Body::Stream { len: 200_000, .. }));
    assert_eq!(body_bytes(&mut resp), data);
    let req = Request::new("GET", "/").with_header("Range", "bytes=100000-100009");
    let mut resp = send_file(&path, &req, &opts).unwrap();
    assert_eq!(resp.status, 206);
    assert!(matches!(resp.body, Body::Stream { len: 10, .. }));
    assert_eq!(body_bytes(&mut resp), &data[100_000..100_010]);
}

#[test]
fn last_modified_option_overrides_mtime() {
    let root = traversal_root();
    let path = root.path().join("static/ok.txt");
    let opts = SendFileOptions {
        last_modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        ..SendFileOptions::default()
    };
    let req = Request::new("GET", "/");
    let resp = send_file(&path, &req, &opts).unwrap();
    assert_eq!(
        resp.headers.get("Last-Modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    let req = req.with_header("If-Modified-Since", "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_eq!(send_file(&path, &req, &opts).unwrap().status, 304);
}

#[test]
fn content_disposition_quotes_like_werkzeug() {
    assert_eq!(
        content_disposition("inline", "a.txt"),
        "inline; filename=a.txt"
    );
    assert_eq!(
        content_disposition("attachment", "a b.txt"),
        "attachment; filename=\"a b.txt\""
    );
    assert_eq!(
        content_disposition("inline", "ﬁle.txt"),
        "inline; filename=file.txt; filename*=UTF-8''%EF%AC%81le.txt"
    );
}

#[test]
fn normpath_is_pythons() {
    assert_eq!(normpath("a/b/../c"), "a/c");
    assert_eq!(normpath("a/../.."), "..");
    assert_eq!(normpath("../a/.."), "..");
    assert_eq!(normpath("./"), ".");
    assert_eq!(normpath("a//b/./"), "a/b");
}

/// The one-call path below a directory: what the kernel opens is inside;
/// what it refuses (leaving the directory, here through symlinks) is left
/// to the canonical check, which still allows a link that comes back in.
#[cfg(target_os = "linux")]
#[test]
fn files_below_the_directory_open_in_one_call_and_escapes_fall_back() {
    use std::os::unix::fs::symlink;
    let root = traversal_root();
    let dir = root.path().join("static");
    symlink(root.path().join("secret.txt"), dir.join("link.txt")).unwrap();
    symlink(root.path(), dir.join("up")).unwrap();
    symlink("sub/inner.txt", dir.join("rel.txt")).unwrap();

    let read = |part: &str| {
        let (mut file, meta) = beneath::open(&dir, part).expect("decided").expect("opened");
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        (text, meta.len())
    };
    assert_eq!(read("ok.txt"), ("ok".to_owned(), 2));
    assert_eq!(read("sub/inner.txt"), ("inner".to_owned(), 5));
    // A relative link that stays inside needs no fallback.
    assert_eq!(read("rel.txt"), ("inner".to_owned(), 5));

    let not_found = |part: &str| {
        let err = beneath::open(&dir, part).expect("decided").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{part}");
    };
    not_found("nope.txt");
    not_found("sub");
    not_found("");
    not_found("ok.txt/x");

    // The kernel refuses these; the canonical path decides.
    assert!(beneath::open(&dir, "link.txt").is_none());
    assert!(beneath::open(&dir, "up/secret.txt").is_none());
    assert!(beneath::open(&dir, "up/static/ok.txt").is_none());
    let req = Request::new("GET", "/static/x");
    let opts = SendFileOptions::default();
    assert_eq!(
        send_from_directory(&dir, "link.txt", &req, &opts)
            .unwrap_err()
            .code,
        404
    );
    let mut resp = send_from_directory(&dir, "up/static/ok.txt", &req, &opts).unwrap();
    assert_eq!(body_bytes(&mut resp), b"ok");
}

/// A FIFO below the static directory is a 404 at once on the one-call
/// path too (opening it must not wait for a writer).
#[cfg(target_os = "linux")]
#[test]
fn a_fifo_below_the_directory_is_404_without_blocking() {
    let root = traversal_root();
    let dir = root.path().join("static");
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("pipe"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo on this system
    }
    let req = Request::new("GET", "/static/pipe");
    let opts = SendFileOptions::default();
    assert_eq!(
        send_from_directory(&dir, "pipe", &req, &opts)
            .unwrap_err()
            .code,
        404
    );
}
