use std::io::{Cursor, Read};

use base64::Engine;

use super::*;

fn limits() -> FormLimits {
    FormLimits::default()
}

fn run(body: Vec<u8>, limits: &FormLimits) -> Result<ParsedForm, HttpError> {
    let len = body.len() as u64;
    parse_multipart(
        "multipart/form-data; boundary=B",
        Some(len),
        Box::new(Cursor::new(body)),
        limits,
    )
}

fn unz(b64: &str) -> Vec<u8> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut out)
        .expect("zlib");
    out
}

fn opt_u64(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
}

/// Bodies and results from tests/vectors/gen_multipart.py (Werkzeug 3.1's
/// encoder and parse_form_data).
#[test]
fn matches_werkzeug_vectors() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/vectors/multipart.json"))
            .expect("vectors");
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 25);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let body = unz(case["body_z"].as_str().expect("body"));
        let l = &case["limits"];
        let limits = FormLimits {
            max_content_length: opt_u64(&l["max_content_length"]),
            max_form_memory_size: opt_u64(&l["max_form_memory_size"]),
            max_form_parts: opt_u64(&l["max_form_parts"]).map(|n| n as usize),
            ..FormLimits::default()
        };
        let content_length = opt_u64(&case["content_length"]).unwrap_or(body.len() as u64);
        let got = parse_multipart(
            case["content_type"].as_str().expect("ct"),
            Some(content_length),
            Box::new(Cursor::new(body)),
            &limits,
        );
        let expect = &case["expect"];
        if let Some(code) = expect["error"].as_u64() {
            assert_eq!(got.map(|_| ()).unwrap_err().code as u64, code, "{name}");
            continue;
        }
        let (form, files) = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        let want_form: Vec<(String, String)> =
            serde_json::from_value(expect["form"].clone()).expect("form");
        let got_form: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        assert_eq!(got_form, want_form, "{name}");
        let want_files = expect["files"].as_array().expect("files");
        assert_eq!(files.len(), want_files.len(), "{name}");
        for ((key, file), want) in files.iter().zip(want_files) {
            assert_eq!(key, want[0].as_str().expect("key"), "{name}");
            assert_eq!(file.name(), key, "{name}");
            assert_eq!(file.filename(), want[1].as_str().expect("fn"), "{name}");
            assert_eq!(file.content_type(), want[2].as_str(), "{name}");
            let data = unz(want[3].as_str().expect("data"));
            assert_eq!(file.size(), data.len() as u64, "{name}");
            assert_eq!(file.read().expect("read"), data, "{name}");
        }
    }
}

fn file_part(name: &str, filename: &str, data: &[u8]) -> Vec<u8> {
    let mut part = format!(
        "--B\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    part.extend_from_slice(data);
    part.extend_from_slice(b"\r\n");
    part
}

fn field_part(name: &str, value: &str) -> Vec<u8> {
    format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        .into_bytes()
}

fn body(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = parts.concat();
    b.extend_from_slice(b"--B--\r\n");
    b
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn large_file_is_spooled_and_removed_with_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(3 << 20);
    let limits = FormLimits {
        spool_dir: Some(dir.path().to_owned()),
        ..limits()
    };
    let (form, files) = run(
        body(&[
            file_part("big", "big.bin", &data),
            file_part("small", "s.txt", b"tiny"),
            field_part("after", "ok"),
        ]),
        &limits,
    )
    .unwrap();
    assert_eq!(form.get("after").map(String::as_str), Some("ok"));
    let big = files.get("big").unwrap();
    let path = big.spooled_path().expect("spooled").to_owned();
    assert!(path.starts_with(dir.path()));
    assert_eq!(big.size(), data.len() as u64);
    assert_eq!(big.read().unwrap(), data);
    assert_eq!(files.get("small").unwrap().spooled_path(), None);
    let saved = dir.path().join("saved.bin");
    big.save(&saved).unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), data);
    std::fs::remove_file(&saved).unwrap();
    drop((form, files));
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn spool_threshold_is_exclusive() {
    let dir = tempfile::tempdir().unwrap();
    let limits = FormLimits {
        spool_threshold: 10,
        spool_dir: Some(dir.path().to_owned()),
        ..limits()
    };
    let (_, files) = run(
        body(&[
            file_part("a", "a", &[b'x'; 10]),
            file_part("b", "b", &[b'x'; 11]),
        ]),
        &limits,
    )
    .unwrap();
    assert!(files.get("a").unwrap().spooled_path().is_none());
    assert!(files.get("b").unwrap().spooled_path().is_some());
}

#[test]
fn an_error_after_spooling_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let limits = FormLimits {
        spool_dir: Some(dir.path().to_owned()),
        spool_threshold: 0,
        max_form_parts: Some(1),
        ..limits()
    };
    let err = run(
        body(&[file_part("a", "a", b"data"), field_part("b", "x")]),
        &limits,
    )
    .unwrap_err();
    assert_eq!(err.code, 413);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn spool_failure_is_a_500() {
    let dir = tempfile::tempdir().unwrap();
    let limits = FormLimits {
        spool_dir: Some(dir.path().join("missing")),
        spool_threshold: 0,
        ..limits()
    };
    let err = run(body(&[file_part("a", "a", b"data")]), &limits).unwrap_err();
    assert_eq!(err.code, 500);
}

#[test]
fn malformed_is_empty_when_silent_and_400_otherwise() {
    let strict = FormLimits {
        silent: false,
        ..limits()
    };
    let truncated = field_part("a", "1");
    let (form, files) = run(truncated.clone(), &limits()).unwrap();
    assert!(form.is_empty() && files.is_empty());
    assert_eq!(run(truncated, &strict).unwrap_err().code, 400);
    let ok = body(&[field_part("a", "1")]);
    let no_boundary = parse_multipart(
        "multipart/form-data",
        None,
        Box::new(Cursor::new(ok.clone())),
        &strict,
    );
    assert_eq!(no_boundary.unwrap_err().code, 400);
    let non_ascii = parse_multipart(
        "multipart/form-data; boundary=\"é\"",
        None,
        Box::new(Cursor::new(ok.clone())),
        &limits(),
    );
    assert!(non_ascii.unwrap().0.is_empty());
    assert_eq!(run(ok, &strict).unwrap().0.len(), 1);
}

/// A reader that fails after handing out some bytes, as a dropped socket.
struct Failing(Cursor<Vec<u8>>);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(std::io::ErrorKind::ConnectionReset.into()),
            n => Ok(n),
        }
    }
}

#[test]
fn read_errors_and_short_bodies_are_400_even_when_silent() {
    let b = body(&[field_part("a", "1")]);
    let failing = Failing(Cursor::new(b[..10].to_vec()));
    let got = parse_multipart(
        "multipart/form-data; boundary=B",
        None,
        Box::new(failing),
        &limits(),
    );
    assert_eq!(got.unwrap_err().code, 400);
    let len = b.len() as u64 + 1;
    let short = parse_multipart(
        "multipart/form-data; boundary=B",
        Some(len),
        Box::new(Cursor::new(b)),
        &limits(),
    );
    assert_eq!(short.unwrap_err().code, 400);
}

#[test]
fn content_length_bounds_the_read() {
    // Bytes past Content-Length are not the body's.
    let mut b = body(&[field_part("a", "1")]);
    let len = b.len() as u64;
    b.extend_from_slice(b"garbage that is never read");
    let (form, _) = parse_multipart(
        "multipart/form-data; boundary=B",
        Some(len),
        Box::new(Cursor::new(b)),
        &limits(),
    )
    .unwrap();
    assert_eq!(form.get("a").map(String::as_str), Some("1"));
}

#[test]
fn streamed_body_against_max_content_length() {
    let b = body(&[field_part("a", "1")]);
    let n = b.len() as u64;
    let streamed = |max: u64| {
        let limits = FormLimits {
            max_content_length: Some(max),
            ..limits()
        };
        parse_multipart(
            "multipart/form-data; boundary=B",
            None,
            Box::new(Cursor::new(b.clone())),
            &limits,
        )
        .map(|(form, _)| form.len())
    };
    assert_eq!(streamed(n + 1), Ok(1));
    // Werkzeug's LimitedStream(is_max=True) raises on the read after the
    // limit, even when the body ends exactly there.
    assert_eq!(streamed(n).unwrap_err().code, 413);
    assert_eq!(streamed(n - 1).unwrap_err().code, 413);
    // With Content-Length, the declared size is what counts.
    let declared = FormLimits {
        max_content_length: Some(n),
        ..limits()
    };
    assert_eq!(run(b.clone(), &declared).unwrap().0.len(), 1);
    let under = FormLimits {
        max_content_length: Some(n - 1),
        ..limits()
    };
    assert_eq!(run(b, &under).unwrap_err().code, 413);
}

#[test]
fn text_field_limit_is_per_field() {
    let limits = FormLimits {
        max_form_memory_size: Some(10),
        ..limits()
    };
    // Each read of the body must fit too, so keep it small.
    let ok = body(&[field_part("a", "0123456789")]);
    assert!(ok.len() <= 80);
    let limits = FormLimits {
        max_form_memory_size: Some(ok.len() as u64),
        ..limits
    };
    assert_eq!(run(ok.clone(), &limits).unwrap().0.len(), 1);
    let tight = FormLimits {
        max_form_memory_size: Some(ok.len() as u64 - 1),
        ..limits
    };
    assert_eq!(run(ok, &tight).unwrap_err().code, 413);
    let field_over = FormLimits {
        max_form_memory_size: Some(100_000),
        ..FormLimits::default()
    };
    let big = body(&[field_part("a", &"x".repeat(100_001))]);
    assert_eq!(run(big, &field_over).unwrap_err().code, 413);
    // Files are not text fields: a 200 KB file passes a 100 KB limit.
    let file = body(&[file_part("f", "f", &pattern(200_000))]);
    assert_eq!(run(file, &field_over).unwrap().1.len(), 1);
}

#[test]
fn part_limit_counts_files_and_fields() {
    let parts: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            if i % 2 == 0 {
                field_part(&format!("f{i}"), "v")
            } else {
                file_part("up", &format!("{i}.txt"), b"x")
            }
        })
        .collect();
    let (form, files) = run(body(&parts), &limits()).unwrap();
    assert_eq!((form.len(), files.len()), (500, 500));
    let mut more = parts;
    more.push(field_part("last", "v"));
    assert_eq!(run(body(&more), &limits()).unwrap_err().code, 413);
    let unlimited = FormLimits {
        max_form_parts: None,
        ..limits()
    };
    assert_eq!(run(body(&more), &unlimited).unwrap().0.len(), 501);
}

#[test]
fn multi_megabyte_bodies_parse_in_one_pass() {
    // No timing assertions: these exercise the shapes that would be
    // quadratic if a search restarted from the buffer's start (a file full
    // of boundary look-alikes, thousands of tiny parts, a long preamble).
    let mut tricky = Vec::with_capacity(5 << 20);
    while tricky.len() < 5 << 20 {
        tricky.extend_from_slice(b"\r\n--B-\r\n--\r\r\n\n--");
    }
    let mut parts = vec![file_part("f", "f.bin", &tricky)];
    parts.extend((0..20_000).map(|i| field_part("n", &i.to_string())));
    let unlimited = FormLimits {
        max_form_parts: None,
        ..limits()
    };
    let (form, files) = run(body(&parts), &unlimited).unwrap();
    assert_eq!(files.get("f").unwrap().read().unwrap(), tricky);
    assert_eq!(form.len(), 20_000);
    assert_eq!(form.get_all("n").last().map(String::as_str), Some("19999"));

    let no_memory_limit = FormLimits {
        max_form_memory_size: None,
        ..limits()
    };
    let mut preamble = vec![b'-'; 5 << 20];
    preamble.extend(body(&[field_part("a", "1")]));
    let (form, _) = run(preamble, &no_memory_limit).unwrap();
    assert_eq!(form.get("a").map(String::as_str), Some("1"));
}

#[test]
fn field_charset_and_unicode_filename() {
    let mut latin = b"--B\r\nContent-Disposition: form-data; name=\"l\"\r\n\
Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n\r\ncaf\xe9\r\n"
        .to_vec();
    latin.extend(file_part("u", "\u{65e5}\u{672c}.txt", b"x"));
    latin.extend(b"--B\r\nContent-Disposition: form-data; name=\"bad\"\r\n\r\n\xff\r\n");
    let (form, files) = run(body(&[latin]), &limits()).unwrap();
    assert_eq!(form.get("l").map(String::as_str), Some("caf\u{e9}"));
    assert_eq!(form.get("bad").map(String::as_str), Some("\u{FFFD}"));
    assert_eq!(files.get("u").unwrap().filename(), "\u{65e5}\u{672c}.txt");
    assert_eq!(
        files.get("u").unwrap().mimetype(),
        "application/octet-stream"
    );
}
