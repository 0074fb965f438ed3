//! Message flashing: categories, filters, popped once, stable within a request.

use crate::common::client;

const APP: &str = r#"
    config.SECRET_KEY = "k";
    route("/flash", || { flash("one"); flash("two", "error"); flash("three", "info"); "ok" });
    route("/plain", || get_flashed_messages());
    route("/cats", || get_flashed_messages(#{ with_categories: true }));
    route("/errors", || get_flashed_messages(#{ category_filter: ["error"] }));
    route("/twice", || [get_flashed_messages(), get_flashed_messages()]);
    route("/tpl", || render_template_string("{% for c, m in get_flashed_messages(with_categories=true) %}[{{ c }}:{{ m }}]{% endfor %}"));
"#;

#[test]
fn messages_and_categories() {
    let c = client(APP);
    c.get("/flash");
    assert_eq!(
        c.get("/cats").json(),
        serde_json::json!([["message", "one"], ["error", "two"], ["info", "three"]])
    );
    assert_eq!(c.get("/plain").json(), serde_json::json!([]));
}

#[test]
fn category_filter() {
    let c = client(APP);
    c.get("/flash");
    assert_eq!(c.get("/errors").json(), serde_json::json!(["two"]));
}

#[test]
fn popped_on_first_read_and_stable_for_the_request() {
    let c = client(APP);
    c.get("/flash");
    assert_eq!(
        c.get("/twice").json(),
        serde_json::json!([["one", "two", "three"], ["one", "two", "three"]])
    );
    assert_eq!(c.get("/plain").json(), serde_json::json!([]));
}

#[test]
fn templates_see_flashed_messages() {
    let c = client(APP);
    c.get("/flash");
    assert_eq!(c.get("/tpl").text(), "[message:one][error:two][info:three]");
}
