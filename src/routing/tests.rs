//! Replays routing vectors recorded from real Flask 3.1.3 / Werkzeug 3.1
//! (`tests/vectors/routing_gen.py` writes `tests/vectors/routing.json`),
//! plus behaviour tests ported from Werkzeug's `tests/test_routing.py`.

use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!("../../tests/vectors/routing.json");

fn decode_value(v: &Value) -> RouteValue {
    let obj = v.as_object().expect("typed value object");
    let (tag, inner) = obj.iter().next().expect("one tag");
    match tag.as_str() {
        "s" => RouteValue::Str(inner.as_str().expect("str").to_owned()),
        "i" => RouteValue::Int(inner.as_i64().expect("int")),
        "f" => RouteValue::Float(inner.as_str().expect("float repr").parse().expect("float")),
        "b" => RouteValue::Bool(inner.as_bool().expect("bool")),
        other => panic!("unknown tag {other}"),
    }
}

fn decode_pairs(v: &Value) -> Vec<(String, RouteValue)> {
    v.as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            let p = p.as_array().expect("pair");
            (p[0].as_str().expect("key").to_owned(), decode_value(&p[1]))
        })
        .collect()
}

fn build_map(rules: &Value) -> UrlMap {
    let mut map = UrlMap::new();
    for r in rules.as_array().expect("rules") {
        let spec = RuleSpec {
            rule: r["rule"].as_str().expect("rule").to_owned(),
            endpoint: r["endpoint"].as_str().expect("endpoint").to_owned(),
            methods: r["methods"].as_array().map(|ms| {
                ms.iter()
                    .map(|m| m.as_str().expect("method").to_owned())
                    .collect()
            }),
            defaults: decode_pairs(&r["defaults"]).into_iter().collect(),
            strict_slashes: r["strict_slashes"].as_bool(),
            provide_automatic_options: r["auto_options"].as_bool().expect("auto_options"),
        };
        map.add(spec).expect("vector rules are valid");
    }
    map
}

fn describe_match(map: &UrlMap, path: &str, method: &str, query: &str) -> Value {
    match map.match_request(path, method, query) {
        Ok(m) => serde_json::json!({
            "endpoint": m.rule.endpoint,
            "rule": m.rule.rule,
            "args": m.args.iter().map(|(k, v)| serde_json::json!([k, encode_value(v)])).collect::<Vec<_>>(),
        }),
        Err(RoutingError::RequestRedirect { location }) => {
            serde_json::json!({ "redirect": location })
        }
        Err(RoutingError::MethodNotAllowed { allowed }) => serde_json::json!({ "405": allowed }),
        Err(RoutingError::NotFound) => serde_json::json!({ "404": true }),
    }
}

fn encode_value(v: &RouteValue) -> Value {
    match v {
        RouteValue::Str(s) => serde_json::json!({ "s": s }),
        RouteValue::Int(i) => serde_json::json!({ "i": i }),
        // Python's repr of a float equals its str().
        RouteValue::Float(_) => serde_json::json!({ "f": v.to_string() }),
        RouteValue::Bool(b) => serde_json::json!({ "b": b }),
    }
}

#[test]
fn flask_recorded_vectors() {
    let data: Value = serde_json::from_str(VECTORS).expect("valid vector json");
    let mut checked = 0;
    for case in data["maps"].as_array().expect("maps") {
        let name = case["name"].as_str().expect("name");
        let map = build_map(&case["rules"]);
        for m in case["matches"].as_array().expect("matches") {
            let path = m["path"].as_str().expect("path");
            let method = m["method"].as_str().expect("method");
            let query = m["query"].as_str().expect("query");
            let got = describe_match(&map, path, method, query);
            assert_eq!(
                got, m["result"],
                "[{name}] match {method} {path:?} ?{query}"
            );
            checked += 1;
        }
        for b in case["builds"].as_array().expect("builds") {
            let endpoint = b["endpoint"].as_str().expect("endpoint");
            let values = decode_pairs(&b["values"]);
            let method = b["method"].as_str();
            let default_method = b["default_method"].as_str().expect("default method");
            let got = match map.build_with_default_method(endpoint, &values, method, default_method)
            {
                Ok(url) => serde_json::json!({ "url": url }),
                Err(e) if e.kind() == BuildErrorKind::NoRule => {
                    serde_json::json!({ "build_error": e.to_string() })
                }
                Err(e) => serde_json::json!({ "value_error": e.to_string() }),
            };
            assert_eq!(
                got, b["result"],
                "[{name}] build {endpoint} {values:?} {method:?}"
            );
            checked += 1;
        }
        for a in case["allowed"].as_array().expect("allowed") {
            let path = a["path"].as_str().expect("path");
            let want: Vec<String> = serde_json::from_value(a["methods"].clone()).expect("methods");
            assert_eq!(map.allowed_methods(path), want, "[{name}] allowed {path}");
            checked += 1;
        }
    }
    assert!(checked > 250, "only {checked} vectors checked");
}

#[test]
fn flask_recorded_rule_errors() {
    let data: Value = serde_json::from_str(VECTORS).expect("valid vector json");
    for case in data["rule_errors"].as_array().expect("rule_errors") {
        let rule = case["rule"].as_str().expect("rule");
        let got = match UrlMap::new().add(RuleSpec::new(rule, "e")) {
            Ok(()) => Value::Null,
            Err(e) => serde_json::json!([e.kind(), e.message()]),
        };
        assert_eq!(got, case["error"], "rule {rule:?}");
    }
}

fn flask_map(specs: &[RuleSpec]) -> UrlMap {
    let mut map = UrlMap::new();
    for spec in specs {
        map.add(spec.clone()).unwrap();
    }
    map
}

fn pairs(items: &[(&str, RouteValue)]) -> Vec<(String, RouteValue)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn build_errors_read_like_flask() {
    let map = flask_map(&[RuleSpec::new("/user/<name>", "user")]);
    assert_eq!(
        map.build("user", &[], None).unwrap_err().to_string(),
        "Could not build url for endpoint 'user'. Did you forget to specify values ['name']?"
    );
    assert_eq!(
        map.build("usr", &pairs(&[("name", "x".into())]), None)
            .unwrap_err()
            .to_string(),
        "Could not build url for endpoint 'usr' with values ['name']. Did you mean 'user' instead?"
    );
    let err = map
        .build("user", &pairs(&[("name", "x".into())]), Some("POST"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Could not build url for endpoint 'user' ('POST') with values ['name']. \
         Did you mean to use methods ['GET', 'HEAD', 'OPTIONS']?"
    );
    assert_eq!(
        (err.kind(), err.python_class()),
        (BuildErrorKind::NoRule, "BuildError")
    );
    assert_eq!(err.endpoint(), "user");
    // No rules at all: no suggestion.
    assert_eq!(
        UrlMap::new().build("x", &[], None).unwrap_err().to_string(),
        "Could not build url for endpoint 'x'."
    );
}

#[test]
fn build_query_string_follows_werkzeug_urlencode() {
    let map = flask_map(&[RuleSpec::new("/login", "login")]);
    let url = |v: &[(&str, RouteValue)]| map.build("login", &pairs(v), None).unwrap();
    assert_eq!(url(&[("next", "/".into())]), "/login?next=/");
    assert_eq!(url(&[("next", "John Doe".into())]), "/login?next=John+Doe");
    // Booleans are Python's str(): True / False.
    assert_eq!(url(&[("remember", true.into())]), "/login?remember=True");
    // A repeated key is a list: its values stay together at its first place.
    assert_eq!(
        url(&[("a", 1i64.into()), ("b", 2i64.into()), ("a", 3i64.into())]),
        "/login?a=1&a=3&b=2"
    );
}

#[test]
fn converter_value_errors_are_not_build_errors() {
    let map = flask_map(&[RuleSpec::new("/post/<int:id>", "post")]);
    let err = map
        .build("post", &pairs(&[("id", "abc".into())]), None)
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::InvalidValue);
    assert_eq!(err.python_class(), "ValueError");
    assert_eq!(
        err.to_string(),
        "invalid literal for int() with base 10: 'abc'"
    );
}

#[test]
fn default_method_prefers_the_request_method() {
    let map = flask_map(&[
        RuleSpec::new("/a", "ep").methods(&["GET"]),
        RuleSpec::new("/b", "ep").methods(&["POST"]),
    ]);
    assert_eq!(map.build("ep", &[], None).unwrap(), "/a");
    assert_eq!(
        map.build_with_default_method("ep", &[], None, "POST")
            .unwrap(),
        "/b"
    );
}

#[test]
fn redirects_quote_the_path_and_keep_the_query() {
    let map = flask_map(&[
        RuleSpec::new("/a b/", "spaced"),
        RuleSpec::new("/x/y", "xy"),
    ]);
    assert_eq!(
        map.match_request("/a b", "GET", "q=%20&r").unwrap_err(),
        RoutingError::RequestRedirect {
            location: "/a%20b/?q=%20&r".into()
        }
    );
    assert_eq!(
        map.match_request("/x//y", "GET", "").unwrap_err(),
        RoutingError::RequestRedirect {
            location: "/x/y".into()
        }
    );
    // Leading slashes are stripped before matching, as Werkzeug does.
    assert_eq!(
        map.match_request("///x/y", "GET", "")
            .unwrap()
            .rule
            .endpoint,
        "xy"
    );
}

#[test]
fn method_not_allowed_lists_the_union_sorted() {
    let map = flask_map(&[
        RuleSpec::new("/item", "get_item"),
        RuleSpec::new("/item", "edit_item").methods(&["put", "delete"]),
    ]);
    let expected = ["DELETE", "GET", "HEAD", "OPTIONS", "PUT"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        map.match_request("/item", "PATCH", "").unwrap_err(),
        RoutingError::MethodNotAllowed {
            allowed: expected.clone()
        }
    );
    assert_eq!(map.allowed_methods("/item"), expected);
    assert!(map.allowed_methods("/nothing").is_empty());
    // Methods are matched case-insensitively.
    assert_eq!(
        map.match_request("/item", "put", "").unwrap().rule.endpoint,
        "edit_item"
    );
}

#[test]
fn match_args_include_defaults_and_rules_keep_registration_order() {
    let map = flask_map(&[
        RuleSpec::new("/page/<int:n>", "page"),
        RuleSpec::new("/", "page").default_value("n", 1i64),
        RuleSpec::new("/about", "about"),
    ]);
    let m = map.match_request("/", "GET", "").unwrap();
    assert_eq!(m.args.get("n"), Some(&RouteValue::Int(1)));
    let listed: Vec<&str> = map.rules().iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(listed, ["/page/<int:n>", "/", "/about"]);
    // Build order puts the rule with defaults first (Werkzeug's
    // build_compare_key), so /page/1 redirects to /.
    let built: Vec<&str> = map
        .endpoint_rules("page")
        .map(|r| r.rule.as_str())
        .collect();
    assert_eq!(built, ["/", "/page/<int:n>"]);
    assert_eq!(
        map.match_request("/page/1", "GET", "").unwrap_err(),
        RoutingError::RequestRedirect {
            location: "/".into()
        }
    );
}

#[test]
fn many_rules_match_through_the_tree() {
    // A thousand static rules plus dynamic ones: every lookup must land on
    // its own rule (the tree, not a scan, decides).
    let mut map = UrlMap::new();
    for i in 0..1000 {
        map.add(RuleSpec::new(format!("/static{i}/page"), format!("s{i}")))
            .unwrap();
    }
    map.add(RuleSpec::new("/<name>/page", "dynamic")).unwrap();
    assert_eq!(
        map.match_request("/static999/page", "GET", "")
            .unwrap()
            .rule
            .endpoint,
        "s999"
    );
    let m = map.match_request("/other/page", "GET", "").unwrap();
    assert_eq!(m.rule.endpoint, "dynamic");
    assert_eq!(m.args["name"], RouteValue::from("other"));
}
