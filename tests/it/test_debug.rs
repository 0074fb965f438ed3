//! Debug mode: the error page (local clients only), and reloading edits
//! inside the running process.

use std::time::{Duration, Instant};

use crate::common::app;

#[test]
fn debug_page_shows_error_place_source_and_stack_to_local_clients() {
    let a = app(
        "run(#{ \"debug\": true });\nfn inner(x) {\n    x.missing_method()\n}\nfn view() { inner(#{ a: \"<b>\" }) }\nroute(\"/\", view);",
    );
    let c = a.test_client();
    let r = c.get("/?x=<script>");
    assert_eq!(r.status, 500);
    let html = r.text();
    assert!(html.contains("Runtime error"), "{html}");
    assert!(html.contains("app.rhai:3:"), "{html}");
    assert!(
        html.contains("<span class=current>3 |     x.missing_method()"),
        "{html}"
    );
    assert!(html.contains("<code>inner</code>"), "{html}");
    assert!(html.contains("GET /?x=&lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>"));
    // Another machine gets Werkzeug's plain 500.
    let r = c.request("GET", "/").remote_addr("203.0.113.7").send();
    assert_eq!(r.text(), crate::common::werkzeug_page(500));
}

#[test]
fn invalid_return_values_get_the_page_too() {
    let a = app("run(#{ \"debug\": true }); route(\"/\", || 5);");
    let html = a.test_client().get("/").text();
    assert!(
        html.contains("TypeError: The view function did not return a valid response."),
        "{html}"
    );
}

#[test]
fn no_debug_page_outside_debug_mode() {
    let a = app("route(\"/\", || { let x = 1; x.nope });");
    assert_eq!(
        a.test_client().get("/").text(),
        crate::common::werkzeug_page(500)
    );
}

fn wait_for(c: &flaskrs::TestClient, url: &str, want: &str, touch: &mut dyn FnMut()) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        touch();
        let text = c.get(url).text();
        if text.contains(want) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {want:?}; last answer: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn edits_to_the_script_and_its_modules_are_picked_up_and_broken_edits_keep_the_last_good_version() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.rhai");
    let module = dir.path().join("words.rhai");
    std::fs::write(&module, "fn word() { \"one\" }").unwrap();
    std::fs::write(
        &script,
        "import \"words\" as w;\nrun(#{ \"debug\": true });\nroute(\"/\", || `v1 ${w::word()}`);",
    )
    .unwrap();
    let a = flaskrs::App::from_file(&script).unwrap();
    let c = a.test_client();
    assert_eq!(c.get("/").text(), "v1 one");

    let mut n = 0;
    wait_for(&c, "/", "v2 one", &mut || {
        n += 1;
        std::fs::write(&script, format!("import \"words\" as w;\nrun(#{{ \"debug\": true }});\nroute(\"/\", || `v2 ${{w::word()}}`);{}", " ".repeat(n))).unwrap();
    });
    wait_for(&c, "/", "v2 two", &mut || {
        n += 1;
        std::fs::write(&module, format!("fn word() {{ \"two\" }}{}", " ".repeat(n))).unwrap();
    });

    // A broken edit: the local developer sees the compile error...
    let page = wait_for(&c, "/", "Syntax error", &mut || {
        n += 1;
        std::fs::write(
            &script,
            format!(
                "run(#{{ \"debug\": true }});\nroute(\"/\", || \"v3\"{}",
                " ".repeat(n)
            ),
        )
        .unwrap();
    });
    assert!(page.contains("app.rhai:"), "{page}");
    // ...while other clients are still served by the last good version.
    let r = c.request("GET", "/").remote_addr("203.0.113.7").send();
    assert_eq!(r.text(), "v2 two");

    wait_for(&c, "/", "v4", &mut || {
        n += 1;
        std::fs::write(
            &script,
            format!(
                "run(#{{ \"debug\": true }});\nroute(\"/\", || \"v4\");{}",
                " ".repeat(n)
            ),
        )
        .unwrap();
    });
}

#[test]
fn requests_in_flight_finish_on_their_version() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.rhai");
    std::fs::write(
        &script,
        "run(#{ \"debug\": true });\nroute(\"/slow\", || { let n = 0; while n < 200000 { n += 1; } \"old\" });\nroute(\"/\", || \"old\");",
    )
    .unwrap();
    let a = flaskrs::App::from_file(&script).unwrap();
    let a2 = a.clone();
    let slow = std::thread::spawn(move || a2.test_client().get("/slow").text());
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        &script,
        "run(#{ \"debug\": true });\nroute(\"/slow\", || \"new\");\nroute(\"/\", || \"new\");",
    )
    .unwrap();
    let c = a.test_client();
    wait_for(&c, "/", "new", &mut || {});
    assert_eq!(slow.join().unwrap(), "old");
}
