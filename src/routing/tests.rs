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
        Err(RoutingError::RequestRedirect { location }) => serde_json::json!({ "redirect": location }),
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
            assert_eq!(got, m["result"], "[{name}] match {method} {path:?} ?{query}");
            checked += 1;
        }
        for b in case["builds"].as_array().expect("builds") {
            let endpoint = b["endpoint"].as_str().expect("endpoint");
            let values = decode_pairs(&b["values"]);
            let method = b["method"].as_str();
            let default_method = b["default_method"].as_str().expect("default method");
            let got = match map.build_with_default_method(endpoint, &values, method, default_method) {
                Ok(url) => serde_json::json!({ "url": url }),
                Err(e) if e.kind() == BuildErrorKind::NoRule => {
                    serde_json::json!({ "build_error": e.to_string() })
                }
                Err(e) => serde_json::json!({ "value_error": e.to_string() }),
            };
            assert_eq!(got, b["result"], "[{name}] build {endpoint} {values:?} {method:?}");
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
