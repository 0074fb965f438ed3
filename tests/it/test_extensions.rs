//! Extensions: one init_app call registers script functions, globals,
//! template globals and filters, config defaults and request hooks.

use flaskrs::extensions::{Extension, ExtensionSetup};
use flaskrs::{App, HttpError, Response};

#[derive(Clone, Debug)]
struct Counter(std::sync::Arc<std::sync::atomic::AtomicI64>);

/// A test extension using every registration point.
struct Everything {
    teardowns: Counter,
}

impl Extension for Everything {
    fn name(&self) -> &str {
        "everything"
    }

    fn init_app(&self, app: &mut ExtensionSetup<'_>) {
        app.config_default("EXT_GREETING", "hi");
        app.engine().register_type_with_name::<Counter>("Counter");
        let c = Counter(Default::default());
        app.engine().register_fn("bump", |c: &mut Counter| {
            c.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
        });
        app.global("counter", rhai::Dynamic::from(c));
        app.template_global("ext_name", "everything");
        app.templates(|t| t.add_filter("shout", |s: String| s.to_uppercase()));
        app.before_request(|scope| {
            (scope.request().path == "/blocked").then(|| Err(HttpError::new(403)))
        });
        app.after_request(|scope, resp: &mut Response| {
            resp.headers.set("X-Ext-Path", scope.request().path.clone());
        });
        let t = self.teardowns.clone();
        app.teardown_request(move |_scope, error| {
            if error.is_some() {
                t.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }
}

#[test]
fn an_extension_registers_everything_in_one_call() {
    let teardowns = Counter(Default::default());
    let app = App::builder()
        .extension(Everything {
            teardowns: teardowns.clone(),
        })
        .load_source(
            "app.rhai",
            r#"route("/", || `${config.EXT_GREETING} ${counter.bump()} ${counter.bump()}`);
               route("/t", || render_template_string("{{ ext_name|shout }}"));
               route("/blocked", || "never");
               route("/fail", || throw "boom");"#,
        )
        .unwrap();
    let c = app.test_client();
    let r = c.get("/");
    assert_eq!(r.text(), "hi 1 2");
    assert_eq!(r.header("X-Ext-Path"), Some("/"));
    assert_eq!(c.get("/t").text(), "EVERYTHING");
    assert_eq!(c.get("/blocked").status, 403);
    assert_eq!(c.get("/fail").status, 500);
    assert_eq!(teardowns.0.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn the_script_overrides_config_defaults() {
    let app = App::builder()
        .extension(Everything {
            teardowns: Counter(Default::default()),
        })
        .load_source(
            "app.rhai",
            r#"config.EXT_GREETING = "yo"; route("/", || config.EXT_GREETING);"#,
        )
        .unwrap();
    assert_eq!(app.test_client().get("/").text(), "yo");
}
