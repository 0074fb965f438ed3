//! Routing, methods, HEAD/OPTIONS, 404/405, slash redirects, error pages.

use crate::common::{app, client, werkzeug_page};

#[test]
fn hello_world() {
    let c = client(r#"fn hello_world() { "Hello World!" } route("/", hello_world);"#);
    let r = c.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "Hello World!");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("Content-Length"), Some("12"));
}

#[test]
fn unknown_url_is_werkzeugs_404() {
    let r = client(r#"route("/", || "x");"#).get("/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), werkzeug_page(404));
}

#[test]
fn wrong_method_is_405_with_sorted_allow() {
    let c = client(r#"route("/", #{methods: ["POST", "GET"]}, || "x"); put("/", || "p");"#);
    let r = c.delete("/");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS, POST, PUT"));
    assert_eq!(r.text(), werkzeug_page(405));
}

#[test]
fn head_has_get_headers_and_no_body() {
    let c = client(r#"route("/", || "Hello World!");"#);
    let r = c.head("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("12"));
    assert!(r.body.is_empty());
}

#[test]
fn automatic_options_answers_allow() {
    let c = client(r#"route("/", #{methods: ["GET", "POST"]}, || "x");"#);
    let r = c.options("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS, POST"));
    assert!(r.body.is_empty());
}

#[test]
fn method_shortcuts_register_one_method() {
    let c = client(
        r#"get("/login", || "form"); post("/login", #{endpoint: "do_login"}, || "posted");"#,
    );
    assert_eq!(c.get("/login").text(), "form");
    assert_eq!(c.post_form("/login", &[]).text(), "posted");
    assert_eq!(c.request("PUT", "/login").send().status, 405);
}

#[test]
fn canonical_slash_redirects_with_308_and_keeps_the_query() {
    let c = client(r#"route("/projects/", || "projects"); route("/about", || "about");"#);
    let r = c.get("/projects?x=1");
    assert_eq!(r.status, 308);
    assert_eq!(r.header("Location"), Some("http://localhost/projects/?x=1"));
    assert!(r.text().contains("Redirecting..."));
    assert_eq!(
        c.request("GET", "/projects")
            .follow_redirects()
            .send()
            .text(),
        "projects"
    );
    // A rule without a slash does not match with one.
    assert_eq!(c.get("/about/").status, 404);
    assert_eq!(c.get("/about").text(), "about");
}

#[test]
fn merged_slashes_redirect() {
    let c = client(r#"route("/a/b", || "ab");"#);
    let r = c.get("/a//b");
    assert_eq!(r.status, 308);
    assert_eq!(r.header("Location"), Some("http://localhost/a/b"));
}

#[test]
fn strict_slashes_false_matches_both() {
    let c = client(r#"route("/x/", #{strict_slashes: false}, || "x");"#);
    assert_eq!(c.get("/x").status, 200);
    assert_eq!(c.get("/x/").status, 200);
}

#[test]
fn static_parts_beat_dynamic_ones() {
    let c = client(
        r#"fn user(name) { `user ${name}` } route("/user/<name>", user); route("/user/me", || "me");"#,
    );
    assert_eq!(c.get("/user/me").text(), "me");
    assert_eq!(c.get("/user/bob").text(), "user bob");
}

#[test]
fn converters_pass_typed_values_by_name() {
    let c = client(
        r#"
        fn post(post_id) { `${type_of(post_id)} ${post_id + 1}` }
        fn sub(subpath) { subpath }
        fn price(v) { `${v * 2.0}` }
        fn ident(id) { id }
        fn page(page) { page }
        route("/post/<int:post_id>", post);
        route("/path/<path:subpath>", sub);
        route("/price/<float:v>", price);
        route("/id/<uuid:id>", ident);
        route("/<any(about, help):page>", page);
        "#,
    );
    assert_eq!(c.get("/post/41").text(), "i64 42");
    assert_eq!(c.get("/post/abc").status, 404);
    assert_eq!(c.get("/path/a/b/c.txt").text(), "a/b/c.txt");
    assert_eq!(c.get("/price/1.5").text(), "3.0");
    assert_eq!(
        c.get("/id/6BA7B810-9DAD-11D1-80B4-00C04FD430C8").text(),
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
    );
    assert_eq!(c.get("/help").text(), "help");
    assert_eq!(c.get("/other").status, 404);
}

#[test]
fn route_defaults_reach_the_handler() {
    let c = client(
        r#"
        fn users(page) { `page ${page}` }
        route("/users/", #{defaults: #{page: 1}}, users);
        route("/users/page/<int:page>", users);
        "#,
    );
    assert_eq!(c.get("/users/").text(), "page 1");
    assert_eq!(c.get("/users/page/3").text(), "page 3");
}

#[test]
fn abort_runs_the_registered_error_handler() {
    let c = client(
        r#"
        fn not_found(e) { [`custom ${e.code} ${e.name}`, 404] }
        errorhandler(404, not_found);
        route("/gone", || abort(404));
        route("/teapot", || abort(418, "short and stout"));
        "#,
    );
    let r = c.get("/gone");
    assert_eq!(
        (r.status, r.text()),
        (404, "custom 404 Not Found".to_owned())
    );
    // Routing 404s go through the handler too.
    assert_eq!(c.get("/nowhere").text(), "custom 404 Not Found");
    let r = c.get("/teapot");
    assert_eq!(r.status, 418);
    assert!(r.text().contains("<p>short and stout</p>"));
}

#[test]
fn abort_with_an_unknown_code_is_a_500() {
    let a = app(r#"route("/", || abort(999));"#);
    let logs = a.capture_logs();
    let r = a.test_client().get("/");
    assert_eq!(r.status, 500);
    assert!(
        logs.text().contains("no exception for 999"),
        "{}",
        logs.text()
    );
}

#[test]
fn redirect_defaults_to_302_with_werkzeugs_body() {
    let c = client(
        r#"route("/", || redirect(url_for("login"))); route("/login", || "login");
           route("/moved", || redirect("/login", 301));"#,
    );
    let r = c.get("/");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("Location"), Some("/login"));
    assert_eq!(
        r.text(),
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"/login\">/login</a>. If not, click the link.\n"
    );
    assert_eq!(c.get("/moved").status, 301);
}

#[test]
fn script_error_is_plain_500_and_logged_with_place() {
    let a = app("fn boom() {\n    let x = 1;\n    x.nope\n}\nroute(\"/\", boom);");
    let logs = a.capture_logs();
    let r = a.test_client().get("/");
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), werkzeug_page(500));
    let text = logs.text();
    assert!(text.contains("Exception on / [GET]"), "{text}");
    assert!(text.contains("app.rhai:3:"), "{text}");
}

#[test]
fn errorhandler_500_gets_the_original_error() {
    let c = client(
        r#"
        errorhandler(500, |e| [`oops: ${e.original}`, 500]);
        route("/", || throw "kaput");
        "#,
    );
    let r = c.get("/");
    assert_eq!(r.status, 500);
    assert!(r.text().starts_with("oops: "), "{}", r.text());
    assert!(r.text().contains("kaput"));
}

#[test]
fn a_panicking_rust_function_is_a_500_and_the_app_lives_on() {
    let a = flaskrs::App::builder()
        .register(|e| {
            e.register_fn("explode", || -> i64 { panic!("boom") });
        })
        .load_source(
            "app.rhai",
            r#"route("/", || explode()); route("/ok", || "ok");"#,
        )
        .unwrap();
    let c = a.test_client();
    assert_eq!(c.get("/").status, 500);
    assert_eq!(c.get("/ok").text(), "ok");
}

#[test]
fn global_constants_are_visible_in_handlers() {
    let c =
        client(r#"const GREETING = "Hi"; fn h() { `${global::GREETING} there` } route("/", h);"#);
    assert_eq!(c.get("/").text(), "Hi there");
}

#[test]
fn closures_get_endpoints_from_their_rule() {
    let a = app(r#"route("/user/<name>", |name| name); route("/", || "i");"#);
    let eps: Vec<String> = a.routes().into_iter().map(|r| r.endpoint).collect();
    assert_eq!(eps, ["static", "user_name", "index"]);
}
