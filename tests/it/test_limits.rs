//! Limits: a runaway script ends its own request (503 for budget and time,
//! 500 for depth and size) and never anyone else's.

use std::time::Duration;

use crate::common::app;

#[test]
fn an_endless_loop_answers_503_while_other_requests_are_served() {
    let a = app(
        r#"config.REQUEST_TIMEOUT = 1; config.MAX_OPERATIONS = 1_000_000_000_000;
           route("/spin", || { loop {} });
           route("/", || "fine");"#,
    );
    let logs = a.capture_logs();
    let spinner = a.clone();
    let slow = std::thread::spawn(move || spinner.test_client().get("/spin"));
    let c = a.test_client();
    let mut served_while_spinning = 0;
    while !slow.is_finished() {
        assert_eq!(c.get("/").text(), "fine");
        if !slow.is_finished() {
            served_while_spinning += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let r = slow.join().unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), crate::common::werkzeug_page(503));
    assert!(served_while_spinning > 0);
    let text = logs.text();
    assert!(
        text.contains(
            "Request /spin [GET] (endpoint 'spin') stopped: it ran past REQUEST_TIMEOUT (1 s)"
        ),
        "{text}"
    );
}

#[test]
fn the_operations_budget_is_per_route() {
    let a = app(r#"config.MAX_OPERATIONS = 50_000;
           fn work() { let n = 0; while n < 100_000 { n += 1; } `${n}` }
           route("/default", work);
           route("/raised", #{ max_operations: 10_000_000, endpoint: "raised" }, work);"#);
    let logs = a.capture_logs();
    let c = a.test_client();
    assert_eq!(c.get("/default").status, 503);
    assert_eq!(c.get("/raised").text(), "100000");
    let text = logs.text();
    assert!(
        text.contains("(endpoint 'work') stopped: it used up its operations budget"),
        "{text}"
    );
    assert!(text.contains(" operations and "), "{text}");
}

#[test]
fn deep_recursion_and_huge_strings_are_500_for_that_request_only() {
    let a = app(r#"config.MAX_STRING_SIZE = 1000;
           fn deep(n) { deep(n + 1) }
           route("/deep", || deep(0));
           route("/big", || { let s = "x"; loop { s += s; } });
           route("/", || "ok");"#);
    let c = a.test_client();
    assert_eq!(c.get("/deep").status, 500);
    assert_eq!(c.get("/big").status, 500);
    assert_eq!(c.get("/").text(), "ok");
}

#[test]
fn limits_are_set_explicitly_and_equal_in_debug_and_release() {
    // Rhai's own default call depth is 8 in debug builds and 64 in
    // release; the host sets MAX_CALL_LEVELS (48) in both.
    let c = app(r#"fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } } route("/<int:n>", |n| `${depth(n)}`);"#).test_client();
    assert_eq!(c.get("/40").text(), "40");
    assert_eq!(c.get("/60").status, 500);
}

#[test]
fn eval_is_disabled() {
    let msg = crate::common::load_error(r#"route("/", || eval("1 + 1"));"#);
    assert!(msg.contains("eval"), "{msg}");
}
