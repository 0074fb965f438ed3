//! Mistakes that stop an app at start-up: exact messages with file:line:col.

use crate::common::load_error;

#[test]
fn handler_parameter_must_match_the_rule() {
    let msg = load_error("fn show_post(id) { id }\nroute(\"/post/<int:post_id>\", show_post);");
    assert_eq!(
        msg,
        "app.rhai:2:1: handler 'show_post' takes a parameter 'id' that rule '/post/<int:post_id>' does not supply: rename it to one of the rule's variables (post_id), or add <id> to the rule"
    );
    let msg = load_error("fn index() { 1 }\n\nroute(\"/<name>\", index);");
    assert_eq!(
        msg,
        "app.rhai:3:1: rule '/<name>' passes 'name', but handler 'index' has no parameter of that name (it takes ()): add a parameter named 'name'"
    );
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let msg = load_error("fn a() {\n    let x = ;\n}");
    assert!(msg.starts_with("app.rhai:2:13: "), "{msg}");
    assert!(msg.contains("2 >     let x = ;"), "{msg}");
}

#[test]
fn duplicate_endpoint_is_refused() {
    let msg =
        load_error(r#"route("/a", #{endpoint: "x"}, || 1); route("/b", #{endpoint: "x"}, || 2);"#);
    assert!(
        msg.ends_with("View function mapping is overwriting an existing endpoint function: x"),
        "{msg}"
    );
}

#[test]
fn shadowing_a_host_method_is_refused() {
    let msg = load_error("fn getlist(d, k) { 1 }\nroute(\"/\", || 1);");
    assert!(msg.starts_with("app.rhai:1:1: script function 'getlist' with 2 parameters shadows the host method 'getlist("), "{msg}");
    assert!(msg.contains("Rename the script function"), "{msg}");
}

#[test]
fn methods_option_on_a_shortcut_is_refused() {
    let msg = load_error(r#"get("/", #{methods: ["POST"]}, || 1);"#);
    assert_eq!(
        msg,
        "app.rhai:1:1: Use the 'route' function to use the 'methods' argument."
    );
}

#[test]
fn unknown_error_code_is_refused() {
    let msg = load_error("errorhandler(999, |e| 1);");
    assert!(
        msg.contains("'999' is not a recognized HTTP error code."),
        "{msg}"
    );
}

#[test]
fn bad_rules_are_refused() {
    let msg = load_error(r#"route("/<foo:bar>", |bar| 1);"#);
    assert!(msg.starts_with("app.rhai:1:1: "), "{msg}");
    assert!(msg.contains("foo"), "{msg}");
}

#[test]
fn a_handler_must_be_a_script_function() {
    let msg = load_error(r#"route("/", Fn("nothing"));"#);
    assert!(
        msg.contains("'nothing' is not a function defined in this script"),
        "{msg}"
    );
}
