//! File uploads: request.files, FileStorage, limits, secure_filename.

use crate::common::app;

const APP: &str = r#"
    post("/upload", || {
        let f = request.files["the_file"];
        #{ filename: f.filename, content_type: f.content_type, size: f.size,
           text: f.read().as_string(), field: request.form["comment"] }
    });
    post("/save", || {
        let f = request.files["the_file"];
        f.save("uploads/" + secure_filename(f.filename));
        "saved"
    });
    post("/many", || request.files.getlist("docs").map(|f| f.filename));
    post("/missing", || request.files["nope"].filename);
    route("/secure/<path:name>", |name| secure_filename(name));
"#;

#[test]
fn files_and_fields_from_a_multipart_form() {
    let c = app(APP).test_client();
    let r = c
        .request("POST", "/upload")
        .multipart(
            &[("comment", "nice")],
            &[("the_file", "notes.txt", "text/plain", b"hello file")],
        )
        .send();
    assert_eq!(
        r.json(),
        serde_json::json!({"filename": "notes.txt", "content_type": "text/plain", "size": 10,
            "text": "hello file", "field": "nice"})
    );
    let r = c
        .request("POST", "/many")
        .multipart(
            &[],
            &[
                ("docs", "a.txt", "text/plain", b"a"),
                ("docs", "b.txt", "text/plain", b"b"),
            ],
        )
        .send();
    assert_eq!(r.json(), serde_json::json!(["a.txt", "b.txt"]));
}

#[test]
fn save_resolves_from_the_app_folder_and_secure_filename_defuses_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("uploads")).unwrap();
    let script = dir.path().join("app.rhai");
    std::fs::write(&script, APP).unwrap();
    let a = flaskrs::App::from_file(&script).unwrap();
    let r = a
        .test_client()
        .request("POST", "/save")
        .multipart(
            &[],
            &[("the_file", "../../etc/passwd", "text/plain", b"root:x")],
        )
        .send();
    assert_eq!(r.text(), "saved");
    assert_eq!(
        std::fs::read(dir.path().join("uploads/etc_passwd")).unwrap(),
        b"root:x"
    );
}

#[test]
fn secure_filename_is_werkzeugs() {
    let c = app(APP).test_client();
    for (input, want) in [
        ("My%20cool%20movie.mov", "My_cool_movie.mov"),
        ("../../../etc/passwd", "etc_passwd"),
        (
            "i%20contain%20cool%20%C3%BCml%C3%A4uts.txt",
            "i_contain_cool_umlauts.txt",
        ),
        ("...", ""),
    ] {
        assert_eq!(c.get(&format!("/secure/{input}")).text(), want, "{input}");
    }
}

#[test]
fn a_missing_file_is_400_and_debug_mode_explains_enctype() {
    let c = app(APP).test_client();
    assert_eq!(c.post_form("/missing", &[("a", "b")]).status, 400);
    let a = app(&format!("run(#{{ \"debug\": true }});\n{APP}"));
    let r = a.test_client().post_form("/missing", &[("a", "b")]);
    assert_eq!(r.status, 500);
    assert!(
        r.text().contains("enctype=&#34;multipart/form-data&#34;"),
        "{}",
        r.text()
    );
}

#[test]
fn upload_limits_are_413_and_never_a_half_parsed_form() {
    let a = app(&format!(
        "config.MAX_CONTENT_LENGTH = 1000; config.MAX_FORM_PARTS = 3; config.MAX_FORM_MEMORY_SIZE = 100;\n{APP}"
    ));
    let c = a.test_client();
    let big = vec![b'x'; 2000];
    let r = c
        .request("POST", "/upload")
        .multipart(
            &[("comment", "c")],
            &[("the_file", "big.bin", "application/octet-stream", &big)],
        )
        .send();
    assert_eq!(r.status, 413);
    let r = c
        .request("POST", "/upload")
        .multipart(&[("a", "1"), ("b", "2"), ("c", "3"), ("comment", "4")], &[])
        .send();
    assert_eq!(r.status, 413);
    let long = "y".repeat(200);
    let r = c
        .request("POST", "/upload")
        .multipart(
            &[("comment", &long)],
            &[("the_file", "f.txt", "text/plain", b"x")],
        )
        .send();
    assert_eq!(r.status, 413);
}

#[test]
fn a_broken_multipart_body_is_rejected() {
    let c = app(&format!(
        "{APP}\npost(\"/form\", || `${{request.form.len()}} ${{request.files.len()}}`);"
    ))
    .test_client();
    let r = c
        .request("POST", "/form")
        .body(
            "multipart/form-data; boundary=abc",
            "--abc\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ntrunc",
        )
        .send();
    assert_eq!(r.status, 400);
    let r = c
        .request("POST", "/form")
        .body("multipart/form-data", "no boundary")
        .send();
    assert_eq!(r.status, 400);
}
