//! Templates: files beside the script, autoescaping, globals, Markup,
//! errors, reload in debug mode.

use crate::common::{app, client};

fn app_in(dir: &tempfile::TempDir, script: &str, templates: &[(&str, &str)]) -> flaskrs::App {
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    for (name, src) in templates {
        std::fs::write(dir.path().join("templates").join(name), src).unwrap();
    }
    let p = dir.path().join("app.rhai");
    std::fs::write(&p, script).unwrap();
    flaskrs::App::from_file(&p).unwrap()
}

#[test]
fn render_template_with_inheritance_and_autoescape() {
    let dir = tempfile::tempdir().unwrap();
    let a = app_in(
        &dir,
        r#"route("/<name>", |name| render_template("child.html", #{ name: name, safe: Markup("<b>ok</b>") }));
           route("/t/<name>", |name| render_template("plain.txt", #{ name: name }));"#,
        &[
            ("base.html", "<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}"),
            ("child.html", "{% extends 'base.html' %}{% block title %}T{% endblock %}{% block body %}{{ name }} {{ safe }} {{ name|safe }}{% endblock %}"),
            ("plain.txt", "{{ name }}"),
        ],
    );
    let c = a.test_client();
    assert_eq!(
        c.get("/%3Ci%3E'%22&").text(),
        "<title>T</title>&lt;i&gt;&#39;&#34;&amp; <b>ok</b> <i>'\"&"
    );
    assert_eq!(c.get("/t/%3Ci%3E").text(), "<i>");
}

#[test]
fn svg_and_xhtml_are_escaped_too() {
    let dir = tempfile::tempdir().unwrap();
    let a = app_in(
        &dir,
        r#"route("/<f>", |f| render_template(f, #{ v: "<x>" }));"#,
        &[
            ("a.svg", "{{ v }}"),
            ("a.xhtml", "{{ v }}"),
            ("a.htm", "{{ v }}"),
            ("a.xml", "{{ v }}"),
        ],
    );
    let c = a.test_client();
    for f in ["a.svg", "a.xhtml", "a.htm", "a.xml"] {
        assert_eq!(c.get(&format!("/{f}")).text(), "&lt;x&gt;", "{f}");
    }
}

#[test]
fn globals_request_session_g_config_url_for() {
    let c = client(
        r#"config.SECRET_KEY = "k"; config.SITE = "Demo";
           route("/login", || "l");
           route("/", || { session.user = "ann"; g.x = 5;
               render_template_string("{{ request.method }} {{ request.args.q }} {{ request.args.get('z', 'dz') }} {{ session.user }} {{ g.x }} {{ config.SITE }} {{ url_for('login', next='/') }}") });"#,
    );
    assert_eq!(c.get("/?q=hi").text(), "GET hi dz ann 5 Demo /login?next=/");
}

#[test]
fn template_errors_are_500_and_name_the_template_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let a = app_in(
        &dir,
        r#"route("/", || render_template("bad.html"));"#,
        &[("bad.html", "line one\n{% if %}\n")],
    );
    let logs = a.capture_logs();
    assert_eq!(a.test_client().get("/").status, 500);
    let text = logs.text();
    assert!(text.contains("bad.html"), "{text}");
    assert!(text.contains("bad.html:2"), "{text}");
    assert!(text.contains("{% if %}"), "{text}");
}

#[test]
fn a_runaway_template_runs_out_of_fuel() {
    let a = app(
        r#"route("/", || render_template_string("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"));"#,
    );
    let logs = a.capture_logs();
    assert_eq!(a.test_client().get("/").status, 500);
    assert!(
        logs.text().to_lowercase().contains("fuel"),
        "{}",
        logs.text()
    );
}

#[test]
fn changed_templates_are_picked_up_in_debug_mode() {
    let dir = tempfile::tempdir().unwrap();
    let a = app_in(
        &dir,
        r#"run(#{ "debug": true }); route("/", || render_template("t.html"));"#,
        &[("t.html", "v1")],
    );
    let c = a.test_client();
    assert_eq!(c.get("/").text(), "v1");
    let path = dir.path().join("templates/t.html");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut n = 0;
    loop {
        // Rewrite with growing content so size and mtime both change.
        n += 1;
        std::fs::write(&path, format!("v2{}", " ".repeat(n))).unwrap();
        if c.get("/").text().starts_with("v2") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the edit was never picked up"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
