//! Flaskr, Flask's tutorial blog (apps/flaskr), walked end to end through
//! the test client, as Flask's tutorial tests walk it.

use std::path::Path;

use flaskrs::{App, TestClient};

struct Flaskr {
    _dir: tempfile::TempDir,
    app: App,
}

fn flaskr() -> Flaskr {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("test.sqlite");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("apps/flaskr/flaskr.rhai");
    let app = App::builder()
        .config("DATABASE", db.display().to_string())
        .load_file(&script)
        .unwrap();
    let out = app.run_command("init-db", &[]).unwrap();
    assert_eq!(out.to_string(), "Initialized the database.");
    Flaskr { _dir: dir, app }
}

/// The CSRF token of the form on `page`, as a browser would send it back.
fn token(c: &TestClient, page: &str) -> String {
    let html = c.get(page).text();
    let start = html
        .find("name=\"csrf_token\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF token on {page}: {html}"))
        + "name=\"csrf_token\" value=\"".len();
    html[start..start + 64].to_owned()
}

fn post(
    c: &TestClient,
    form_page: &str,
    url: &str,
    fields: &[(&str, &str)],
) -> flaskrs::TestResponse {
    let t = token(c, form_page);
    let mut all = fields.to_vec();
    all.push(("csrf_token", &t));
    c.post_form(url, &all)
}

fn register(c: &TestClient, user: &str, pw: &str) -> flaskrs::TestResponse {
    post(
        c,
        "/auth/register",
        "/auth/register",
        &[("username", user), ("password", pw)],
    )
}

fn login(c: &TestClient, user: &str, pw: &str) -> flaskrs::TestResponse {
    post(
        c,
        "/auth/login",
        "/auth/login",
        &[("username", user), ("password", pw)],
    )
}

#[test]
fn the_whole_flow() {
    let f = flaskr();
    let c = f.app.test_client();
    assert!(c.get("/").text().contains("Log In"));

    let r = register(&c, "ann", "pw1");
    assert_eq!((r.status, r.header("Location")), (302, Some("/auth/login")));
    let r = login(&c, "ann", "pw1");
    assert_eq!((r.status, r.header("Location")), (302, Some("/")));
    let home = c.get("/").text();
    assert!(
        home.contains("<span>ann</span>") && home.contains("Log Out"),
        "{home}"
    );

    let r = post(
        &c,
        "/create",
        "/create",
        &[("title", "First <post>"), ("body", "Hello")],
    );
    assert_eq!(r.status, 302);
    let home = c.get("/").text();
    assert!(home.contains("<h1>First &lt;post&gt;</h1>"), "{home}");
    assert!(home.contains("href=\"/1/update\""), "{home}");

    let r = post(
        &c,
        "/1/update",
        "/1/update",
        &[("title", "Edited"), ("body", "Changed")],
    );
    assert_eq!(r.status, 302);
    assert!(c.get("/").text().contains("<h1>Edited</h1>"));

    let r = post(&c, "/1/update", "/1/delete", &[]);
    assert_eq!((r.status, r.header("Location")), (302, Some("/")));
    assert!(!c.get("/").text().contains("Edited"));

    let r = c.get("/auth/logout");
    assert_eq!(r.status, 302);
    assert!(c.get("/").text().contains("Register"));
}

#[test]
fn error_paths() {
    let f = flaskr();
    let c = f.app.test_client();
    let logs = f.app.capture_logs();
    register(&c, "ann", "pw1");
    let r = register(&c, "ann", "again");
    assert_eq!(r.status, 200, "{}", logs.text());
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("User ann is already registered."),
        "{}",
        r.text()
    );
    let r = register(&c, "", "x");
    assert!(r.text().contains("Username is required."));

    let r = login(&c, "nobody", "x");
    assert!(r.text().contains("Incorrect username."));
    let r = login(&c, "ann", "wrong");
    assert!(r.text().contains("Incorrect password."));

    // Anonymous users are sent to the login page.
    let r = c.get("/create");
    assert_eq!((r.status, r.header("Location")), (302, Some("/auth/login")));

    // Ann writes a post; Bob may not edit or delete it.
    login(&c, "ann", "pw1");
    post(
        &c,
        "/create",
        "/create",
        &[("title", "Ann's"), ("body", "mine")],
    );
    let bob = f.app.test_client();
    register(&bob, "bob", "pw2");
    login(&bob, "bob", "pw2");
    assert_eq!(bob.get("/1/update").status, 403);
    assert_eq!(post(&bob, "/create", "/1/delete", &[]).status, 403);
    assert!(c.get("/").text().contains("Ann&#39;s"));

    // A missing post is 404 with Flaskr's message.
    let r = c.get("/99/update");
    assert_eq!(r.status, 404);
    assert!(
        r.text().contains("Post id 99 doesn&#39;t exist."),
        "{}",
        r.text()
    );

    // Title is required.
    let r = post(&c, "/create", "/create", &[("title", ""), ("body", "x")]);
    assert!(r.text().contains("Title is required."));
}

#[test]
fn forms_without_the_csrf_token_are_refused() {
    let f = flaskr();
    let c = f.app.test_client();
    let r = c.post_form("/auth/register", &[("username", "eve"), ("password", "x")]);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("The CSRF"), "{}", r.text());
    let t = token(&c, "/auth/register");
    // A token one digit off (never the real one).
    let last = if t.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &t[..63]);
    let r = c.post_form(
        "/auth/register",
        &[
            ("username", "eve"),
            ("password", "x"),
            ("csrf_token", &wrong),
        ],
    );
    assert!(
        r.text().contains("The CSRF tokens do not match."),
        "{}",
        r.text()
    );
}

#[test]
fn a_failed_request_rolls_its_writes_back() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::builder()
        .config(
            "DATABASE",
            dir.path().join("t.sqlite").display().to_string(),
        )
        .load_source(
            "app.rhai",
            r#"cli_command("init", || db.execute("CREATE TABLE t (v TEXT)"));
               route("/ok", || { db.execute("INSERT INTO t VALUES ('ok')"); "ok" });
               route("/fail", || { db.execute("INSERT INTO t VALUES ('lost')"); throw "boom"; });
               route("/rows", || db.query("SELECT v FROM t").map(|r| r.v));"#,
        )
        .unwrap();
    let _ = app.run_command("init", &[]).unwrap();
    let c = app.test_client();
    assert_eq!(c.get("/ok").text(), "ok");
    assert_eq!(c.get("/fail").status, 500);
    assert_eq!(c.get("/rows").json(), serde_json::json!(["ok"]));
}

#[test]
fn passwords_verify_with_werkzeugs_own_hashes() {
    // Made by Werkzeug 3.1's generate_password_hash (tests/vectors/passwords.json).
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/passwords.json")).unwrap();
    let case = v["matching"][0].clone();
    let (pw, hash) = (
        case["password"].as_str().unwrap(),
        case["hash"].as_str().unwrap(),
    );
    let app = flaskrs::App::from_source(
        "app.rhai",
        r#"post("/", || `${check_password_hash(request.form["h"], request.form["p"])} ${check_password_hash(request.form["h"], "nope")}`);
           route("/new", || { let h = generate_password_hash("s3cret", "pbkdf2:sha256:1000"); `${h.split("$")[0]} ${check_password_hash(h, "s3cret")}` });"#,
    )
    .unwrap();
    let c = app.test_client();
    assert_eq!(
        c.post_form("/", &[("h", hash), ("p", pw)]).text(),
        "true false"
    );
    assert_eq!(c.get("/new").text(), "pbkdf2:sha256:1000 true");
}
