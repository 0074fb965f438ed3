//! The static endpoint, send_file and send_from_directory.

fn app_with_static(script: &str) -> (tempfile::TempDir, flaskrs::App) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("static/sub")).unwrap();
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    std::fs::write(dir.path().join("static/style.css"), "body{}").unwrap();
    std::fs::write(dir.path().join("static/sub/a.txt"), "0123456789").unwrap();
    std::fs::write(dir.path().join("files/report.txt"), "report").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    let p = dir.path().join("app.rhai");
    std::fs::write(&p, script).unwrap();
    let app = flaskrs::App::from_file(&p).unwrap();
    (dir, app)
}

#[test]
fn static_files_with_type_etag_and_conditional_requests() {
    let (_d, a) =
        app_with_static(r#"route("/", || url_for("static", #{ filename: "style.css" }));"#);
    let c = a.test_client();
    assert_eq!(c.get("/").text(), "/static/style.css");
    let r = c.get("/static/style.css");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "body{}");
    assert_eq!(r.header("Content-Type"), Some("text/css; charset=utf-8"));
    assert_eq!(r.header("Cache-Control"), Some("no-cache"));
    let etag = r.header("ETag").unwrap().to_owned();
    assert!(r.header("Last-Modified").is_some());
    let r304 = c
        .request("GET", "/static/style.css")
        .header("If-None-Match", &etag)
        .send();
    assert_eq!(r304.status, 304);
    assert!(r304.body.is_empty());
    let head = c.head("/static/style.css");
    assert_eq!(
        (head.status, head.header("Content-Length")),
        (200, Some("6"))
    );
    assert!(head.body.is_empty());
}

#[test]
fn ranges() {
    let (_d, a) = app_with_static("");
    let c = a.test_client();
    let r = c
        .request("GET", "/static/sub/a.txt")
        .header("Range", "bytes=2-4")
        .send();
    assert_eq!((r.status, r.text()), (206, "234".to_owned()));
    assert_eq!(r.header("Content-Range"), Some("bytes 2-4/10"));
    let r = c
        .request("GET", "/static/sub/a.txt")
        .header("Range", "bytes=50-60")
        .send();
    assert_eq!(r.status, 416);
}

#[test]
fn never_a_byte_from_outside_static() {
    let (_d, a) = app_with_static("");
    let c = a.test_client();
    for url in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/sub/..%2f..%2fsecret.txt",
        "/static/%2E%2E%5Csecret.txt",
        "/static/sub%00/a.txt",
        "/static//etc/passwd",
        "/static/CON",
    ] {
        let r = c.get(url);
        assert!(
            !r.text().contains("secret") && !r.text().contains("root:"),
            "{url}: {}",
            r.text()
        );
        assert!(r.status == 404 || r.status == 308, "{url}: {}", r.status);
    }
}

#[test]
fn send_from_directory_and_send_file_are_confined() {
    let (_d, a) = app_with_static(
        r#"route("/files/<path:name>", |name| send_from_directory("files", name));
           route("/f/<path:name>", |name| send_file(name));"#,
    );
    let c = a.test_client();
    assert_eq!(c.get("/files/report.txt").text(), "report");
    assert_eq!(c.get("/files/../secret.txt").status, 404);
    assert_eq!(c.get("/f/secret.txt").text(), "secret");
    assert_eq!(c.get("/f/../../etc/passwd").status, 404);
}
