//! The request object: fields, args, form, headers, cookies, data, JSON.

use crate::common::{client, werkzeug_page};

#[test]
fn request_fields() {
    let c = client(
        r#"route("/a b/c", || [request.method, request.path, request.full_path, request.url,
            request.base_url, request.url_root, request.host, request.scheme,
            request.remote_addr, request.endpoint, request.script_root, request.user_agent].map(|v| `${v}`));"#,
    );
    let r = c
        .request("GET", "/a%20b/c?x=1")
        .header("User-Agent", "test/1.0")
        .header("Host", "example.com")
        .send();
    assert_eq!(
        r.json(),
        serde_json::json!([
            "GET",
            "/a b/c",
            "/a b/c?x=1",
            "http://example.com/a%20b/c?x=1",
            "http://example.com/a%20b/c",
            "http://example.com/",
            "example.com",
            "http",
            "127.0.0.1",
            "a_b_c",
            "",
            "test/1.0"
        ])
    );
}

#[test]
fn args_are_a_multidict() {
    let c = client(
        r#"route("/", || #{q: request.args.get("q", ""), missing: request.args.get("nope"),
            tags: request.args.getlist("tag"), has: "q" in request.args,
            keys: request.args.keys(), first: request.args.to_map()});"#,
    );
    let j = c.get("/?tag=b&q=hello+world&tag=a").json();
    assert_eq!(
        j,
        serde_json::json!({"q": "hello world", "missing": null, "tags": ["b", "a"], "has": true,
            "keys": ["tag", "q"], "first": {"q": "hello world", "tag": "b"}})
    );
}

#[test]
fn missing_form_key_is_werkzeugs_400() {
    let c = client(r#"post("/", || request.form["username"]);"#);
    let ok = c.post_form("/", &[("username", "bob")]);
    assert_eq!(ok.text(), "bob");
    let r = c.post_form("/", &[("other", "x")]);
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), werkzeug_page(400));
    let r = c.get("/?x");
    assert_eq!(r.status, 405);
}

#[test]
fn form_of_another_content_type_is_empty() {
    let c = client(r#"post("/", || `${request.form.len()} ${request.get_data()}`);"#);
    let r = c.request("POST", "/").body("text/plain", "a=b").send();
    assert_eq!(r.text(), "0 a=b");
}

#[test]
fn headers_are_case_insensitive() {
    let c = client(
        r#"route("/", || `${request.headers["x-token"]} ${request.headers.get("X-Missing", "d")} ${"X-TOKEN" in request.headers}`);"#,
    );
    let r = c.request("GET", "/").header("X-Token", "abc").send();
    assert_eq!(r.text(), "abc d true");
    assert_eq!(c.get("/").status, 400);
}

#[test]
fn cookies_are_read() {
    let c = client(r#"route("/", || request.cookies.get("username", "anon"));"#);
    assert_eq!(c.get("/").text(), "anon");
    c.set_cookie("username", "bob");
    assert_eq!(c.get("/").text(), "bob");
}

#[test]
fn json_follows_flasks_415_and_400_rules() {
    let c = client(
        r#"post("/", || #{got: request.json});
           post("/silent", || #{got: request.get_json(#{silent: true})});
           post("/force", || #{got: request.get_json(#{force: true})});"#,
    );
    let r = c.post_json("/", &serde_json::json!({"a": [1, null]}));
    assert_eq!(r.json(), serde_json::json!({"got": {"a": [1, null]}}));
    let r = c.request("POST", "/").body("text/plain", "{}").send();
    assert_eq!(r.status, 415);
    assert_eq!(
        r.text(),
        "<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>\n<p>Did not attempt to load JSON data because the request Content-Type was not &#39;application/json&#39;.</p>\n"
    );
    let r = c
        .request("POST", "/")
        .body("application/json", "{bad")
        .send();
    assert_eq!((r.status, r.text()), (400, werkzeug_page(400)));
    let r = c
        .request("POST", "/silent")
        .body("application/json", "{bad")
        .send();
    assert_eq!(r.json(), serde_json::json!({"got": null}));
    let r = c.request("POST", "/force").body("text/plain", "[1]").send();
    assert_eq!(r.json(), serde_json::json!({"got": [1]}));
    let r = c
        .request("POST", "/")
        .body("application/vnd.api+json", "2")
        .send();
    assert_eq!(r.json(), serde_json::json!({"got": 2}));
}

#[test]
fn data_is_a_blob_and_body_limit_is_413() {
    let a = crate::common::app(r#"post("/", || `${request.data.len()}`);"#);
    a.config().set("MAX_CONTENT_LENGTH", 4_i64.into());
    let c = a.test_client();
    assert_eq!(
        c.request("POST", "/")
            .body("application/octet-stream", "abcd")
            .send()
            .text(),
        "4"
    );
    assert_eq!(
        c.request("POST", "/")
            .body("application/octet-stream", "abcde")
            .send()
            .status,
        413
    );
}

#[test]
fn request_outside_a_request_is_an_error_at_load() {
    let msg = crate::common::load_error(r#"let m = request.method;"#);
    assert!(msg.contains("Working outside of request context"), "{msg}");
}
