//! Sessions: the script API, Flask's cookie rules, and cookies shared with
//! Flask (vectors made by Flask 3.1.3 in tests/vectors/sessions.json).

use crate::common::app;
use flaskrs::signing::{Digest, Serializer};

const APP: &str = r#"
    config.SECRET_KEY = "test key";
    route("/set/<k>/<v>", |k, v| { session[k] = v; "ok" });
    route("/get/<k>", |k| `${session.get(k, "none")}`);
    route("/has/<k>", |k| `${k in session}`);
    route("/pop/<k>", |k| `${session.pop(k, "gone")}`);
    route("/clear", || { session.clear(); "cleared" });
    route("/permanent", || { session.permanent = true; session.user = "p"; "ok" });
    route("/keys", || session.keys());
    route("/untouched", || "nothing");
    route("/map", || { session.data = #{ n: 1, list: [1, "a", ()], nested: #{ ok: true } }; session.data });
"#;

fn cookie_of(resp: &flaskrs::TestResponse) -> Option<String> {
    resp.headers
        .get_all("Set-Cookie")
        .find(|c| c.starts_with("session="))
        .map(str::to_owned)
}

#[test]
fn set_get_pop_clear() {
    let c = app(APP).test_client();
    assert_eq!(c.get("/get/user").text(), "none");
    let r = c.get("/set/user/ann");
    let sc = cookie_of(&r).expect("a session cookie");
    assert!(sc.ends_with("; HttpOnly; Path=/"), "{sc}");
    assert_eq!(r.header("Vary"), Some("Cookie"));
    assert_eq!(c.get("/get/user").text(), "ann");
    assert_eq!(c.get("/has/user").text(), "true");
    assert_eq!(c.get("/keys").json(), serde_json::json!(["user"]));
    assert_eq!(c.get("/pop/user").text(), "ann");
    assert_eq!(c.get("/pop/user").text(), "gone");
    c.get("/set/a/1");
    let r = c.get("/clear");
    let sc = cookie_of(&r).expect("a deleting cookie");
    assert!(
        sc.starts_with("session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0;"),
        "{sc}"
    );
    assert_eq!(c.get("/get/a").text(), "none");
}

#[test]
fn values_round_trip_through_the_cookie() {
    let c = app(APP).test_client();
    c.get("/map");
    assert_eq!(
        c.get("/get/data").text(),
        format!(
            "{}",
            "#{\"list\": [1, \"a\", ()], \"n\": 1, \"nested\": #{\"ok\": true}}"
        )
    );
}

#[test]
fn no_set_cookie_when_nothing_changed_and_vary_only_when_read() {
    let c = app(APP).test_client();
    c.get("/set/user/ann");
    let r = c.get("/get/user");
    assert!(cookie_of(&r).is_none());
    assert_eq!(r.header("Vary"), Some("Cookie"));
    let r = c.get("/untouched");
    assert!(cookie_of(&r).is_none());
    assert_eq!(r.header("Vary"), None);
}

#[test]
fn permanent_sessions_get_an_expiry() {
    let c = app(APP).test_client();
    let sc = cookie_of(&c.get("/permanent")).unwrap();
    assert!(sc.contains("; Expires="), "{sc}");
    // Refreshed on each request while permanent (SESSION_REFRESH_EACH_REQUEST).
    assert!(cookie_of(&c.get("/get/user")).is_some());
}

#[test]
fn tampered_or_foreign_cookies_are_an_empty_session() {
    let c = app(APP).test_client();
    c.get("/set/user/ann");
    let good = c.cookie("session").unwrap();
    let mut bad = good.clone();
    bad.pop();
    bad.push(if good.ends_with('A') { 'B' } else { 'A' });
    c.set_cookie("session", &bad);
    assert_eq!(c.get("/get/user").text(), "none");
    c.set_cookie("session", "garbage");
    assert_eq!(c.get("/get/user").text(), "none");
}

#[test]
fn without_a_secret_key_reading_works_and_writing_is_a_500() {
    let a = app(
        r#"route("/r", || `${session.get("x", "empty")}`); route("/w", || { session.x = 1; "no" });"#,
    );
    let logs = a.capture_logs();
    let c = a.test_client();
    assert_eq!(c.get("/r").text(), "empty");
    assert_eq!(c.get("/w").status, 500);
    assert!(
        logs.text().contains("The session is unavailable because no secret key was set.  Set the secret_key on the application to something unique and secret."),
        "{}",
        logs.text()
    );
}

#[test]
fn cookie_attributes_come_from_config() {
    let a = app(
        r#"config.SECRET_KEY = "k"; config.SESSION_COOKIE_NAME = "sid";
           config.SESSION_COOKIE_SECURE = true; config.SESSION_COOKIE_SAMESITE = "Lax";
           config.SESSION_COOKIE_DOMAIN = "example.com";
           route("/", || { session.a = 1; "ok" });"#,
    );
    let r = a.test_client().get("/");
    let sc = r.header("Set-Cookie").unwrap();
    assert!(sc.starts_with("sid="), "{sc}");
    assert!(
        sc.ends_with("; Domain=example.com; Secure; HttpOnly; Path=/; SameSite=Lax"),
        "{sc}"
    );
}

/// A cookie Flask 3.1.3 signed with SHA-1 and the key "secret-sha1"
/// (tests/vectors/sessions.json, "flashes").
fn flask_cookie(name: &str, digest: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/sessions.json")).unwrap();
    v["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name && c["digest"] == digest)
        .unwrap()["cookie"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn reads_flasks_own_cookie_with_its_flashes() {
    let a = app(
        r#"config.SECRET_KEY = "secret-sha1"; config.SESSION_DIGEST = "sha1";
           config.PERMANENT_SESSION_LIFETIME = 100 * 365 * 24 * 3600;
           route("/", || get_flashed_messages(#{ with_categories: true }).map(|p| `${p[0]}:${p[1]}`));"#,
    );
    let c = a.test_client();
    c.set_cookie("session", &flask_cookie("flashes", "sha1"));
    assert_eq!(
        c.get("/").json(),
        serde_json::json!(["message:Hello", "error:<b>bad</b>"])
    );
    // Popped: gone on the next request.
    assert_eq!(c.get("/").json(), serde_json::json!([]));
}

#[test]
fn key_fallbacks_verify_and_the_new_key_signs() {
    let a = app(
        r#"config.SECRET_KEY = "new-key"; config.SECRET_KEY_FALLBACKS = ["older-key", "old-key"];
           config.SESSION_DIGEST = "sha1"; config.PERMANENT_SESSION_LIFETIME = 100 * 365 * 24 * 3600;
           route("/", || { let u = session.user; session.seen = true; `${u}` });"#,
    );
    let c = a.test_client();
    c.set_cookie("session", &flask_cookie("fallback_verifies", "sha1"));
    assert_eq!(c.get("/").text(), "rotated");
    let fresh = c.cookie("session").unwrap();
    let new_only =
        Serializer::new(vec![b"new-key".to_vec()], "cookie-session", Digest::Sha1).unwrap();
    assert!(new_only.loads(&fresh, None, u64::MAX / 2).is_ok());
}

#[test]
fn flashes_are_stored_as_flask_stores_them() {
    let a = app(
        r#"config.SECRET_KEY = "k"; route("/", || { flash("Hi"); flash("Bad", "error"); "ok" });"#,
    );
    let c = a.test_client();
    c.get("/");
    let cookie = c.cookie("session").unwrap();
    let s = Serializer::new(vec![b"k".to_vec()], "cookie-session", Digest::Sha256).unwrap();
    let payload = s.loads(&cookie, None, u64::MAX / 2).unwrap();
    assert_eq!(
        payload,
        r#"{"_flashes":[{" t":["message","Hi"]},{" t":["error","Bad"]}]}"#
    );
}

#[test]
fn an_oversized_cookie_logs_werkzeugs_warning() {
    let a = app(
        r#"config.SECRET_KEY = "k"; route("/", || { let s = ""; for i in 0..2000 { s += `${i * 7919 % 10007},`; } session.blob = s; "ok" });"#,
    );
    let logs = a.capture_logs();
    let r = a.test_client().get("/");
    assert!(r.header("Set-Cookie").is_some_and(|c| c.len() > 4093));
    let text = logs.text();
    assert!(text.contains("The 'session' cookie is too large"), "{text}");
    assert!(text.contains("4093"), "{text}");
}
