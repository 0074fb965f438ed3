//! Response conversion (the contract's five rules), make_response, jsonify.

use crate::common::{app, client};

#[test]
fn maps_and_arrays_are_flask_json() {
    let c = client(
        r#"route("/m", || #{b: 1, a: "é", n: (), f: 1.0, big: 1e16});
           route("/a", || [#{id: 1}, #{id: 2}]);
           route("/s", || [1, 2, 3]);"#,
    );
    let r = c.get("/m");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(
        r.text(),
        "{\"a\":\"\\u00e9\",\"b\":1,\"big\":1e+16,\"f\":1.0,\"n\":null}\n"
    );
    assert_eq!(c.get("/a").text(), "[{\"id\":1},{\"id\":2}]\n");
    assert_eq!(c.get("/s").text(), "[1,2,3]\n");
}

#[test]
fn response_tuples() {
    let c = client(
        r#"route("/404", || ["nope", 404]);
           route("/h", || ["x", #{"X-A": "1"}]);
           route("/sh", || ["x", 201, #{"X-A": "1", "Content-Type": "text/plain"}]);
           route("/line", || ["x", "202 ACCEPTED", #{}]);
           route("/json201", || [jsonify(#{ok: true}), 201]);"#,
    );
    assert_eq!(c.get("/404").status, 404);
    let r = c.get("/h");
    assert_eq!((r.status, r.header("X-A")), (200, Some("1")));
    let r = c.get("/sh");
    assert_eq!(
        (r.status, r.header("Content-Type")),
        (201, Some("text/plain"))
    );
    assert_eq!(c.get("/line").status, 202);
    let r = c.get("/json201");
    assert_eq!((r.status, r.text()), (201, "{\"ok\":true}\n".to_owned()));
}

#[test]
fn invalid_return_values_are_500_with_flasks_reason_in_the_log() {
    let a = app(r#"route("/unit", || ()); route("/num", || 5);"#);
    let logs = a.capture_logs();
    let c = a.test_client();
    assert_eq!(c.get("/unit").status, 500);
    assert_eq!(c.get("/num").status, 500);
    let text = logs.text();
    assert!(
        text.contains("The view function for 'unit' did not return a valid response."),
        "{text}"
    );
    assert!(text.contains("but it was a int."), "{text}");
}

#[test]
fn make_response_and_response_attributes() {
    let c = client(
        r#"route("/", || {
               let resp = make_response("body", 201, #{"X-B": "b"});
               resp.headers["X-Something"] = "A value";
               resp.set_cookie("k", "v", #{max_age: 60, httponly: true});
               resp.mimetype = "text/plain";
               resp
           });
           route("/data", || { let r = make_response("abc"); r.data = "xyz"; `${r.status_code} ${r.get_data()} ${r.mimetype}` });
           route("/del", || { let r = make_response("x"); r.delete_cookie("k"); r });"#,
    );
    let r = c.get("/");
    assert_eq!(r.status, 201);
    assert_eq!(r.header("X-Something"), Some("A value"));
    assert_eq!(r.header("X-B"), Some("b"));
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let sc = r.header("Set-Cookie").unwrap();
    assert!(sc.starts_with("k=v; Expires="), "{sc}");
    assert!(sc.ends_with("; Max-Age=60; HttpOnly; Path=/"), "{sc}");
    assert_eq!(c.get("/data").text(), "200 xyz text/html");
    assert_eq!(
        c.get("/del").header("Set-Cookie"),
        Some("k=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/")
    );
}

#[test]
fn escape_and_markup() {
    let c = client(
        r#"fn hello(name) { `Hello, ${escape(name)}!` }
           route("/<name>", hello);
           route("/m/x", || { let m = Markup("<b>") + "<i>"; `${m} ${escape(m)}` });"#,
    );
    assert_eq!(
        c.get("/%3Cscript%3Ealert('x')%3C%5Cscript%3E").text(),
        "Hello, &lt;script&gt;alert(&#39;x&#39;)&lt;\\script&gt;!"
    );
    assert_eq!(c.get("/m/x").text(), "<b>&lt;i&gt; <b>&lt;i&gt;");
}

#[test]
fn header_injection_is_never_written() {
    let a = app(
        r#"route("/h", || ["x", #{ "X-Evil": "a\r\nSet-Cookie: pwned=1" }]);
           route("/c", || { let r = make_response("x"); r.set_cookie("k", "v", #{ path: "/\r\nX: y" }); r });
           route("/ok", || "fine");"#,
    );
    let logs = a.capture_logs();
    let c = a.test_client();
    for url in ["/h", "/c"] {
        let r = c.get(url);
        assert_eq!(r.status, 500, "{url}");
        assert!(r.headers.iter().all(|(_, v)| !v.contains('\n')), "{url}");
    }
    assert!(
        logs.text()
            .contains("the response header \"X-Evil\" contains a CR, LF or NUL"),
        "{}",
        logs.text()
    );
    assert!(
        logs.text().contains("the response header \"Set-Cookie\""),
        "{}",
        logs.text()
    );
    assert_eq!(c.get("/ok").text(), "fine");
}
