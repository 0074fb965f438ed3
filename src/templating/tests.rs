use super::*;

use std::fs;

/// Reference outputs from Flask 3.1.3 / Jinja2 3.1.6
/// (`tests/vectors/gen_templating.py`).
const VECTORS: &str = include_str!("../../tests/vectors/templating.json");

fn vectors() -> serde_json::Value {
    serde_json::from_str(VECTORS).expect("vectors parse")
}

/// Writes `files` under a fresh directory and builds `Templates` on it.
fn setup(files: &[(&str, &str)], auto_reload: bool) -> (tempfile::TempDir, Templates) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, src) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, src).expect("write");
    }
    let t = Templates::new(Some(dir.path().to_path_buf()), auto_reload);
    (dir, t)
}

/// The vectors' context, with `html` as a safe (Markup) value.
fn vector_ctx(v: &serde_json::Value) -> Value {
    let mut map = std::collections::BTreeMap::new();
    for (k, val) in v["ctx"].as_object().expect("ctx") {
        let value = if k == "html" {
            Value::from_safe_string(val.as_str().expect("str").to_owned())
        } else {
            Value::from(minijinja::value::Serde(val))
        };
        map.insert(k.clone(), value);
    }
    Value::from(map)
}

fn vector_templates(v: &serde_json::Value) -> (tempfile::TempDir, Templates) {
    let files: Vec<(String, String)> = v["templates"]
        .as_object()
        .expect("templates")
        .iter()
        .map(|(k, s)| (k.clone(), s.as_str().expect("src").to_owned()))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    setup(&refs, false)
}

#[test]
fn files_render_byte_identical_to_flask() {
    let v = vectors();
    let (_dir, t) = vector_templates(&v);
    let ctx = vector_ctx(&v);
    let mut checked = 0;
    for (name, expected) in v["files"].as_object().expect("files") {
        let got = t
            .render(name, ctx.clone())
            .unwrap_or_else(|e| panic!("{name}: {}", describe_error(&e)));
        assert_eq!(got, expected.as_str().expect("str"), "template {name}");
        checked += 1;
    }
    assert_eq!(checked, 13);
}

#[test]
fn for_else_renders_like_flask() {
    let v = vectors();
    let (_dir, t) = vector_templates(&v);
    let ctx = Value::from(minijinja::value::Serde(serde_json::json!({ "items": [] })));
    assert_eq!(t.render("list.html", ctx).unwrap(), v["empty_list"]);
}

#[test]
fn strings_render_autoescaped_like_flask() {
    let v = vectors();
    let (_dir, t) = vector_templates(&v);
    let ctx = vector_ctx(&v);
    let sources = v["strings_src"].as_array().expect("src");
    for (src, expected) in sources.iter().zip(v["strings"].as_array().expect("out")) {
        let got = t.render_string(src.as_str().unwrap(), ctx.clone()).unwrap();
        assert_eq!(got, expected.as_str().unwrap(), "source {src}");
    }
}

#[test]
fn autoescape_follows_flasks_extension_list() {
    for name in [
        "a.html",
        "a.htm",
        "a.xml",
        "a.xhtml",
        "a.svg",
        STRING_TEMPLATE_NAME,
    ] {
        assert_eq!(select_autoescape(name), AutoEscape::Html, "{name}");
    }
    // Flask does not strip `.j2` and compares case-sensitively.
    for name in ["a.txt", "a.js", "a.json", "a.html.j2", "a.HTML", "html"] {
        assert_eq!(select_autoescape(name), AutoEscape::None, "{name}");
    }
}

#[test]
fn only_markupsafes_five_characters_are_escaped() {
    let t = Templates::new(None, false);
    let ctx = minijinja::context! { s => "</a> & 'q' \"d\" =`" };
    assert_eq!(
        t.render_string("{{ s }}", ctx).unwrap(),
        "&lt;/a&gt; &amp; &#39;q&#39; &#34;d&#34; =`"
    );
}

#[test]
fn safe_values_are_not_escaped_twice() {
    let t = Templates::new(None, false);
    let ctx =
        minijinja::context! { m => Value::from_safe_string("<b>&amp;</b>".into()), s => "<i>" };
    let src = "{{ m }}|{{ m|e }}|{{ s|safe }}|{{ s|e|e }}|{{ m|forceescape }}";
    assert_eq!(
        t.render_string(src, ctx).unwrap(),
        "<b>&amp;</b>|<b>&amp;</b>|<i>|&lt;i&gt;|&lt;b&gt;&amp;amp;&lt;/b&gt;"
    );
}

#[test]
fn macro_output_is_not_escaped_again() {
    let t = Templates::new(None, false);
    let src = "{% macro m(x) %}<b>{{ x }}</b>{% endmacro %}{{ m('<') }}";
    assert_eq!(
        t.render_string(src, Value::UNDEFINED).unwrap(),
        "<b>&lt;</b>"
    );
}

#[test]
fn tojson_matches_flask_for_edge_values() {
    let t = Templates::new(None, false);
    let ctx = Value::from(minijinja::value::Serde(serde_json::json!({
        "nums": [1e100, -0.0, 12345678901234567890u64, 0.1],
        "empty": [{}, []],
    })));
    assert_eq!(
        t.render_string(
            "{{ nums|tojson }} {{ empty|tojson }} {{ empty|tojson(0) }}",
            ctx
        )
        .unwrap(),
        "[1e+100, -0.0, 12345678901234567890, 0.1] [{}, []] [\n{},\n[]\n]"
    );
    let err = t
        .render_string("{{ missing|tojson }}", Value::UNDEFINED)
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("Object of type Undefined is not JSON serializable"));
}

#[test]
fn python_str_of_special_values() {
    let t = Templates::new(None, false);
    let ctx = minijinja::context! {
        f => vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 100.0, 1e-5],
        s => vec!["a\nb\\", "é\u{1}", "\u{a0}"],
    };
    assert_eq!(
        t.render_string(
            "{% autoescape false %}{{ f }} {{ s }}{% endautoescape %}",
            ctx
        )
        .unwrap(),
        r"[nan, inf, -inf, 100.0, 1e-05] ['a\nb\\', 'é\x01', '\xa0']"
    );
}

#[test]
fn missing_template_and_unsafe_names_are_not_found() {
    let (dir, t) = setup(&[("ok.html", "ok"), ("sub/x.html", "x")], false);
    fs::write(dir.path().parent().unwrap().join("outside.html"), "secret").ok();
    assert_eq!(t.render("ok.html", Value::UNDEFINED).unwrap(), "ok");
    // Jinja2 skips empty and `.` segments: these stay inside templates/.
    assert_eq!(t.render("/ok.html", Value::UNDEFINED).unwrap(), "ok");
    assert_eq!(t.render("./sub//x.html", Value::UNDEFINED).unwrap(), "x");
    for name in [
        "../outside.html",
        "sub/../../outside.html",
        "sub/../ok.html",
        "..\\outside.html",
        "sub\\x.html",
        "ok.html\0",
        "",
        "sub",
        "nope.html",
    ] {
        let err = t.render(name, Value::UNDEFINED).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TemplateNotFound, "{name:?}");
    }
}

#[test]
fn split_template_path_follows_jinja2() {
    assert_eq!(split_template_path("a/./b//c"), Some(vec!["a", "b", "c"]));
    assert_eq!(split_template_path("/a"), Some(vec!["a"]));
    assert_eq!(split_template_path("a/../b"), None);
    assert_eq!(split_template_path("a\\b"), None);
    assert_eq!(split_template_path("a\0"), None);
    // A leading dot in a file name is allowed, as in Jinja2.
    assert_eq!(
        split_template_path(".hidden.html"),
        Some(vec![".hidden.html"])
    );
}

#[test]
fn without_a_template_dir_only_strings_render() {
    let t = Templates::new(None, false);
    assert_eq!(
        t.render("x.html", Value::UNDEFINED).unwrap_err().kind(),
        ErrorKind::TemplateNotFound
    );
    assert_eq!(
        t.render_string("{{ 1 + 1 }}", Value::UNDEFINED).unwrap(),
        "2"
    );
}

#[test]
fn auto_reload_picks_up_edits() {
    let (dir, t) = setup(
        &[("a.html", "one"), ("b.html", "{% include 'a.html' %}!")],
        true,
    );
    assert_eq!(t.render("b.html", Value::UNDEFINED).unwrap(), "one!");
    // A different size is a different stamp even if the mtime is coarse.
    fs::write(dir.path().join("a.html"), "two-2").unwrap();
    assert_eq!(t.render("b.html", Value::UNDEFINED).unwrap(), "two-2!");
    assert_eq!(t.render("a.html", Value::UNDEFINED).unwrap(), "two-2");
    let mut watched = t.watched_files();
    watched.sort();
    assert_eq!(
        watched,
        vec![dir.path().join("a.html"), dir.path().join("b.html")]
    );
    fs::remove_file(dir.path().join("a.html")).unwrap();
    assert_eq!(
        t.render("a.html", Value::UNDEFINED).unwrap_err().kind(),
        ErrorKind::TemplateNotFound
    );
}

#[test]
fn without_auto_reload_the_cache_is_kept() {
    let (dir, t) = setup(&[("a.html", "one")], false);
    assert_eq!(t.render("a.html", Value::UNDEFINED).unwrap(), "one");
    fs::write(dir.path().join("a.html"), "two-2").unwrap();
    assert_eq!(t.render("a.html", Value::UNDEFINED).unwrap(), "one");
}

#[test]
fn a_broken_edit_errors_and_a_fix_recovers() {
    let (dir, t) = setup(&[("a.html", "ok")], true);
    assert_eq!(t.render("a.html", Value::UNDEFINED).unwrap(), "ok");
    fs::write(dir.path().join("a.html"), "{% if %}").unwrap();
    assert_eq!(
        t.render("a.html", Value::UNDEFINED).unwrap_err().kind(),
        ErrorKind::SyntaxError
    );
    fs::write(dir.path().join("a.html"), "fixed!").unwrap();
    assert_eq!(t.render("a.html", Value::UNDEFINED).unwrap(), "fixed!");
}

#[test]
fn runaway_loops_run_out_of_fuel() {
    let mut t = Templates::new(None, false);
    assert_eq!(t.fuel(), Some(DEFAULT_FUEL));
    let src = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let err = t.render_string(src, Value::UNDEFINED).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutOfFuel);
    t.set_fuel(Some(50));
    let err = t
        .render_string(
            "{% for i in range(100) %}{{ i }}{% endfor %}",
            Value::UNDEFINED,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutOfFuel);
    t.set_fuel(None);
    assert_eq!(t.fuel(), None);
}

#[test]
fn registered_functions_filters_and_globals_are_visible() {
    let mut t = Templates::new(None, false);
    t.add_function("url_for", |endpoint: String| format!("/{endpoint}"));
    t.add_filter("shout", |s: String| format!("{s}!"));
    t.add_global("config", minijinja::context! { DEBUG => false });
    assert_eq!(
        t.render_string(
            "{{ url_for('x') }} {{ 'a'|shout }} {{ config.DEBUG }}",
            Value::UNDEFINED
        )
        .unwrap(),
        "/x a! False"
    );
}

#[test]
fn templates_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Templates>();
}

#[test]
fn describe_error_shows_name_line_source_and_marker() {
    let (_dir, t) = setup(
        &[(
            "page.html",
            "<ul>\n  <li>{{ items }}</li>\n  {{ 1 + x.y.z }}\n</ul>\n",
        )],
        false,
    );
    let err = t.render("page.html", Value::UNDEFINED).unwrap_err();
    let text = describe_error(&err);
    let expected = format!(
        "undefined value: `x` is undefined (in page.html:3)\n{:-^79}\n   1 | <ul>\n   2 |   <li>{{{{ items }}}}</li>\n   3 >   {{{{ 1 + x.y.z }}}}\n     i          ^^^ undefined value\n   4 | </ul>\n{}",
        " page.html ",
        "~".repeat(79)
    );
    assert_eq!(text, expected);
}

#[test]
fn describe_error_names_included_template_and_syntax_errors() {
    let (_dir, t) = setup(
        &[
            ("outer.html", "a\n{% include 'inner.html' %}"),
            ("inner.html", "x\n{% for %}"),
        ],
        false,
    );
    let err = t.render("outer.html", Value::UNDEFINED).unwrap_err();
    let text = describe_error(&err);
    assert!(text.contains("(in inner.html:2)"), "{text}");
    assert!(text.contains("   2 > {% for %}"), "{text}");
    let err = t.render_string("{{ 1 +", Value::UNDEFINED).unwrap_err();
    let text = describe_error(&err);
    assert!(text.starts_with("syntax error: "), "{text}");
    assert!(text.contains("(in <template>:1)"), "{text}");
    assert!(text.contains("   1 > {{ 1 +"), "{text}");
}

#[test]
fn describe_error_lists_causes() {
    let err = Error::new(ErrorKind::InvalidOperation, "outer")
        .with_source(std::io::Error::other("disk on fire"));
    assert_eq!(
        describe_error(&err),
        "invalid operation: outer\ncaused by: disk on fire"
    );
}

#[test]
fn lenient_undefined_prints_empty() {
    let t = Templates::new(None, false);
    let ctx = minijinja::context! { d => minijinja::context! {} };
    assert_eq!(
        t.render_string("[{{ nope }}{{ d.nope }}{{ d['x'] }}]", ctx)
            .unwrap(),
        "[]"
    );
}
