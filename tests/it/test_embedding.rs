//! The library API: loading, registering Rust functions, middleware,
//! driving without a socket.

use flaskrs::{App, Middleware, ProxyFix, Request, Response};

#[test]
fn app_from_file_resolves_relative_to_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("util.rhai"), "fn shout(s) { s.to_upper() }").unwrap();
    let path = dir.path().join("app.rhai");
    std::fs::write(
        &path,
        "import \"util\" as util;\nfn index() { util::shout(\"hi\") }\nroute(\"/\", index);",
    )
    .unwrap();
    let app = App::from_file(&path).unwrap();
    assert_eq!(app.test_client().get("/").text(), "HI");
}

#[test]
fn stdlib_modules_import_by_name() {
    let c = crate::common::client(
        r#"import "forms" as forms;
           post("/", || { let e = forms::require(request.form, ["a", "b"]); if e.len() > 0 { [e[0], 400] } else { "ok" } });"#,
    );
    let r = c.post_form("/", &[("a", "1"), ("b", "  ")]);
    assert_eq!((r.status, r.text()), (400, "b is required.".to_owned()));
    assert_eq!(c.post_form("/", &[("a", "1"), ("b", "2")]).text(), "ok");
}

#[test]
fn rust_types_can_be_registered() {
    #[derive(Clone)]
    struct Counter(std::sync::Arc<std::sync::atomic::AtomicI64>);
    let counter = Counter(Default::default());
    let c2 = counter.clone();
    let app = App::builder()
        .register(move |engine| {
            let c = c2.clone();
            engine.register_fn("hits", move || {
                c.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
            });
        })
        .load_source("app.rhai", r#"route("/", || `${hits()}`);"#)
        .unwrap();
    let client = app.test_client();
    assert_eq!(client.get("/").text(), "1");
    assert_eq!(client.get("/").text(), "2");
}

#[test]
fn builder_config_overrides_the_script() {
    let app = App::builder()
        .config("GREETING", "from rust")
        .load_source(
            "app.rhai",
            r#"config.GREETING = "from script"; route("/", || config.GREETING);"#,
        )
        .unwrap();
    assert_eq!(app.test_client().get("/").text(), "from rust");
}

#[test]
fn middleware_wraps_the_app_outermost_last() {
    struct Tag(&'static str);
    impl Middleware for Tag {
        fn handle(&self, req: Request, next: &dyn Fn(Request) -> Response) -> Response {
            let mut r = next(req);
            let seen = r.headers.get("X-Order").unwrap_or("").to_owned();
            r.headers.set("X-Order", format!("{seen}{}", self.0));
            r
        }
    }
    let app = crate::common::app(r#"route("/", || "x");"#);
    app.wrap(Tag("inner")).wrap(Tag("outer"));
    assert_eq!(
        app.test_client().get("/").header("X-Order"),
        Some("innerouter")
    );
}

#[test]
fn proxy_fix_makes_external_urls_and_remote_addr_right() {
    let app = crate::common::app(
        r#"route("/", || `${url_for("index", #{_external: true})} ${request.remote_addr}`);"#,
    );
    app.wrap(ProxyFix::new(1, 1, 1, 0, 1));
    let r = app
        .test_client()
        .request("GET", "/")
        .header("X-Forwarded-For", "203.0.113.9")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "example.org")
        .header("X-Forwarded-Prefix", "/shop")
        .send();
    assert_eq!(r.text(), "https://example.org/shop/ 203.0.113.9");
}

#[test]
fn reload_swaps_in_a_new_version_and_keeps_the_old_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.rhai");
    std::fs::write(&path, r#"route("/", || "v1");"#).unwrap();
    let app = App::from_file(&path).unwrap();
    let c = app.test_client();
    assert_eq!(c.get("/").text(), "v1");
    std::fs::write(&path, r#"route("/", || "v2");"#).unwrap();
    app.reload().unwrap();
    assert_eq!(c.get("/").text(), "v2");
    std::fs::write(&path, r#"route("/", || "v3""#).unwrap();
    assert!(app.reload().is_err());
    assert_eq!(c.get("/").text(), "v2");
}

#[test]
fn test_client_keeps_cookies_and_follows_redirects() {
    let c = crate::common::client(
        r#"route("/set", || { let r = redirect("/read"); r.set_cookie("flavour", "oat"); r });
           route("/read", || request.cookies.get("flavour", "none"));
           route("/clear", || { let r = make_response("cleared"); r.delete_cookie("flavour"); r });"#,
    );
    let r = c.request("GET", "/set").follow_redirects().send();
    assert_eq!(r.text(), "oat");
    assert_eq!(r.history, vec![(302, "/read".to_owned())]);
    c.get("/clear");
    assert_eq!(c.get("/read").text(), "none");
}

#[test]
fn proxy_fix_from_the_script() {
    let app = crate::common::app(
        r#"proxy_fix(#{ x_for: 1, x_proto: 1, x_host: 1 });
           route("/", || `${url_for("index", #{_external: true})} ${request.remote_addr}`);"#,
    );
    let r = app
        .test_client()
        .request("GET", "/")
        .header("X-Forwarded-For", "198.51.100.1, 203.0.113.9")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "example.org")
        .send();
    assert_eq!(r.text(), "https://example.org/ 203.0.113.9");
    let msg = crate::common::load_error(r#"proxy_fix(#{ x_four: 1 });"#);
    assert!(msg.contains("unexpected option 'x_four'"), "{msg}");
}
