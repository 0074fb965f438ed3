//! before_request / after_request / teardown_request, and g.

use crate::common::{app, client};

#[test]
fn hooks_run_in_flasks_order() {
    let a = app(r#"
        before_request(|| { g.order = ["before1"]; });
        before_request(|| { g.order.push("before2"); });
        after_request(|resp| { resp.headers["X-After-1"] = "a1"; resp });
        after_request(|resp| { resp.headers["X-Seen"] = g.order.len(); resp });
        teardown_request(|err| { logger.warning(`teardown ${type_of(err)}`); });
        route("/", || { g.order.push("view"); g.order });
        "#);
    let logs = a.capture_logs();
    let r = a.test_client().get("/");
    assert_eq!(r.json(), serde_json::json!(["before1", "before2", "view"]));
    assert_eq!(r.header("X-After-1"), Some("a1"));
    assert_eq!(r.header("X-Seen"), Some("3"));
    assert!(logs.text().contains("teardown ()"), "{}", logs.text());
}

#[test]
fn before_request_returning_a_value_ends_the_request() {
    let c = client(
        r#"before_request(|| if request.args.get("deny") == "1" { ["denied", 403] });
           route("/", || "view");"#,
    );
    assert_eq!(c.get("/").text(), "view");
    let r = c.get("/?deny=1");
    assert_eq!((r.status, r.text()), (403, "denied".to_owned()));
}

#[test]
fn teardown_sees_the_error() {
    let a = app(
        r#"teardown_request(|err| { logger.warning(`teardown got: ${err}`); });
           route("/", || throw "bad thing");"#,
    );
    let logs = a.capture_logs();
    assert_eq!(a.test_client().get("/").status, 500);
    assert!(logs.text().contains("teardown got: "), "{}", logs.text());
    assert!(logs.text().contains("bad thing"));
}

#[test]
fn g_is_fresh_for_each_request() {
    let c = client(r#"route("/", || { let n = g.get("n", 0); g.n = n + 1; `${g.n}` });"#);
    assert_eq!(c.get("/").text(), "1");
    assert_eq!(c.get("/").text(), "1");
}

#[test]
fn after_request_must_return_the_response() {
    let a = app(r#"after_request(|resp| { resp.headers["X"] = "1"; }); route("/", || "x");"#);
    let logs = a.capture_logs();
    assert_eq!(a.test_client().get("/").status, 500);
    assert!(
        logs.text().contains("must return the response"),
        "{}",
        logs.text()
    );
}

#[test]
fn logger_levels_follow_debug_mode() {
    let a = app(
        r#"route("/", || { logger.info("info line"); logger.log("WARNING", "warn line"); print("printed"); "ok" });"#,
    );
    let logs = a.capture_logs();
    a.test_client().get("/");
    let recs = logs.records();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].level, flaskrs::logging::Level::Info);
    assert_eq!(recs[1].message, "warn line");
    assert_eq!(recs[2].message, "printed");
}
