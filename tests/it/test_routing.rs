//! url_for: building, query strings, external URLs and BuildError text
//! (expected strings produced with Flask 3.1.3).

use crate::common::{app, client};

const APP: &str = r#"
    fn login() { "login" }
    fn profile(username) { username }
    fn show(subpath) { subpath }
    route("/login", login);
    route("/user/<username>", profile);
    route("/p/<path:subpath>", show);
    route("/build", || {
        let q = request.args;
        let values = #{};
        for k in q.keys() { if k != "endpoint" { values[k] = q.get(k); } }
        if q.get("external") == "1" { values._external = true; values.remove("external"); }
        url_for(q["endpoint"], values)
    });
"#;

fn build(query: &str) -> String {
    client(APP).get(&format!("/build?{query}")).text()
}

#[test]
fn unknown_values_become_the_query_string() {
    let c = client(
        r#"route("/login", || "l");
           route("/", || url_for("login", #{next: "/"}));
           route("/2", || url_for("login", #{next: "John Doe", tag: ["a", "b"]}));"#,
    );
    assert_eq!(c.get("/").text(), "/login?next=/");
    assert_eq!(c.get("/2").text(), "/login?next=John+Doe&tag=a&tag=b");
}

#[test]
fn path_values_are_quoted_as_werkzeug_quotes_them() {
    assert_eq!(
        build("endpoint=profile&username=John%20Doe"),
        "/user/John%20Doe"
    );
    assert_eq!(
        build("endpoint=show&subpath=a%20b/c%25/%C3%A9%3F"),
        "/p/a%20b/c%25/%C3%A9%3F"
    );
}

#[test]
fn external_anchor_and_scheme() {
    let c = client(
        r#"route("/login", || "l");
           route("/e", || url_for("login", #{_external: true}));
           route("/a", || url_for("login", #{_external: true, _anchor: "x y#é"}));
           route("/s", || url_for("login", #{_external: true, _scheme: "https"}));
           route("/bad", || url_for("login", #{_scheme: "https"}));"#,
    );
    assert_eq!(c.get("/e").text(), "http://localhost/login");
    assert_eq!(c.get("/a").text(), "http://localhost/login#x%20y#%C3%A9");
    assert_eq!(c.get("/s").text(), "https://localhost/login");
    assert_eq!(c.get("/bad").status, 500);
}

#[test]
fn external_urls_use_the_request_host_and_script_root() {
    let a = app(r#"route("/login", || url_for("login", #{_external: true}));"#);
    let mut req = flaskrs::Request::new("GET", "/login").with_header("Host", "example.com:8080");
    req.script_root = "/app".to_owned();
    let resp = a.handle(req);
    assert_eq!(resp.bytes().unwrap(), b"http://example.com:8080/app/login");
}

#[test]
fn method_selects_the_rule() {
    let c = client(
        r#"get("/read", #{endpoint: "item"}, || "r");
           post("/write", #{endpoint: "item_w"}, || "w");
           route("/", || url_for("item", #{_method: "GET"}));"#,
    );
    assert_eq!(c.get("/").text(), "/read");
}

#[test]
fn build_errors_use_flasks_words() {
    let a = app(APP);
    let logs = a.capture_logs();
    let c = a.test_client();
    assert_eq!(c.get("/build?endpoint=profile").status, 500);
    assert!(
        logs.text().contains(
            "Could not build url for endpoint 'profile'. Did you forget to specify values ['username']?"
        ),
        "{}",
        logs.text()
    );
    assert_eq!(c.get("/build?endpoint=logn").status, 500);
    assert!(
        logs.text()
            .contains("Could not build url for endpoint 'logn'. Did you mean 'login' instead?"),
        "{}",
        logs.text()
    );
}

#[test]
fn url_for_works_at_the_top_level() {
    let a = app(r#"route("/login", || "l");
           const LOGIN = url_for("login", #{next: "/"});
           route("/", || global::LOGIN);"#);
    assert_eq!(a.test_client().get("/").text(), "/login?next=/");
}
