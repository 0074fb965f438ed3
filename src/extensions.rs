//! Extensions: the twin of a Flask extension's `init_app(app)`. One call
//! on the app before it runs registers functions, types and modules for
//! scripts, script globals (`db`), template globals and filters, config
//! defaults, and Rust hooks around every request.
//!
//! ```
//! use flaskrs::extensions::{Extension, ExtensionSetup};
//! use flaskrs::App;
//!
//! /// Adds `greeting()` for scripts, a config default and a header.
//! struct Greeter;
//!
//! impl Extension for Greeter {
//!     fn name(&self) -> &str {
//!         "greeter"
//!     }
//!     fn init_app(&self, app: &mut ExtensionSetup<'_>) {
//!         app.config_default("GREETING", "Hello");
//!         let config = app.config().clone();
//!         app.engine().register_fn("greeting", move |name: &str| {
//!             format!("{}, {name}!", config.get("GREETING"))
//!         });
//!         app.template_global("site_name", "Demo");
//!         app.after_request(|_scope, resp| {
//!             resp.headers.set("X-Greeter", "yes");
//!         });
//!     }
//! }
//!
//! let app = App::builder()
//!     .extension(Greeter)
//!     .load_source("app.rhai", r#"
//!         route("/", || greeting("Ann"));
//!         route("/t", || render_template_string("{{ site_name }}"));
//!     "#)
//!     .unwrap();
//! let client = app.test_client();
//! let resp = client.get("/");
//! assert_eq!(resp.text(), "Hello, Ann!");
//! assert_eq!(resp.header("X-Greeter"), Some("yes"));
//! assert_eq!(client.get("/t").text(), "Demo");
//! ```

use std::sync::Arc;

use rhai::{Dynamic, Engine};

use crate::config::Config;
use crate::ctx::RequestContext;
use crate::http::{HttpError, MultiDict, Request, Response};
use crate::json_tag::Tagged;
use crate::templating::Templates;

/// A Flask-style extension. `init_app` runs on every load of the app
/// (again on each reload in debug mode), before the script's top level.
pub trait Extension: Send + Sync + 'static {
    /// The extension's name, for messages.
    fn name(&self) -> &str;
    /// Registers what the extension offers.
    fn init_app(&self, app: &mut ExtensionSetup<'_>);
}

/// A hook run before the script's `before_request` handlers; `Some`
/// ends the request with that response (or HTTP error).
pub type BeforeHook =
    Arc<dyn Fn(&RequestScope) -> Option<Result<Response, HttpError>> + Send + Sync>;
/// A hook run after the script's `after_request` handlers.
pub type AfterHook = Arc<dyn Fn(&RequestScope, &mut Response) + Send + Sync>;
/// A hook run at teardown with the request's error, if any.
pub type TeardownHook = Arc<dyn Fn(&RequestScope, Option<&str>) + Send + Sync>;
/// A change to the template environment, applied when it is built.
pub type TemplateHook = Arc<dyn Fn(&mut Templates) + Send + Sync>;

/// What extensions registered for one load of the app.
#[derive(Default, Clone)]
pub(crate) struct Registered {
    pub(crate) globals: Vec<(String, Dynamic)>,
    pub(crate) templates: Vec<TemplateHook>,
    pub(crate) before: Vec<BeforeHook>,
    pub(crate) after: Vec<AfterHook>,
    pub(crate) teardown: Vec<TeardownHook>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("globals", &self.globals.len())
            .field("before", &self.before.len())
            .finish_non_exhaustive()
    }
}

/// What `init_app` gets: the app being set up.
pub struct ExtensionSetup<'a> {
    pub(crate) engine: &'a mut Engine,
    pub(crate) root: &'a std::path::Path,
    pub(crate) config: &'a Config,
    pub(crate) registered: &'a mut Registered,
}

impl std::fmt::Debug for ExtensionSetup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionSetup").finish_non_exhaustive()
    }
}

impl ExtensionSetup<'_> {
    /// The script engine: register functions, types and modules.
    pub fn engine(&mut self) -> &mut Engine {
        self.engine
    }

    /// The app's folder (where its script lives): relative paths resolve
    /// from here.
    pub fn root(&self) -> &std::path::Path {
        self.root
    }

    /// The app's config (the script's top level has not run yet).
    pub fn config(&self) -> &Config {
        self.config
    }

    /// Sets `key` unless something already did (Flask's
    /// `app.config.setdefault`); the script may still override it.
    pub fn config_default(&mut self, key: &str, value: impl Into<Dynamic>) {
        if self.config.get(key).is_unit() {
            self.config.set(key, value.into());
        }
    }

    /// A global variable for scripts (`db` for the SQLite extension). Make
    /// it a handle type whose methods are registered pure: scripts see
    /// globals as constants.
    pub fn global(&mut self, name: &str, value: impl Into<Dynamic>) {
        self.registered
            .globals
            .push((name.to_owned(), value.into()));
    }

    /// A global value for templates.
    pub fn template_global(&mut self, name: &'static str, value: impl Into<minijinja::Value>) {
        let value = value.into();
        self.registered
            .templates
            .push(Arc::new(move |t: &mut Templates| {
                t.add_global(name, value.clone())
            }));
    }

    /// Any change to the template environment (filters, functions).
    pub fn templates(&mut self, f: impl Fn(&mut Templates) + Send + Sync + 'static) {
        self.registered.templates.push(Arc::new(f));
    }

    /// Runs before the script's `before_request` handlers.
    pub fn before_request(
        &mut self,
        f: impl Fn(&RequestScope) -> Option<Result<Response, HttpError>> + Send + Sync + 'static,
    ) {
        self.registered.before.push(Arc::new(f));
    }

    /// Runs after the script's `after_request` handlers.
    pub fn after_request(
        &mut self,
        f: impl Fn(&RequestScope, &mut Response) + Send + Sync + 'static,
    ) {
        self.registered.after.push(Arc::new(f));
    }

    /// Runs at teardown with the request's error (`None` when it succeeded).
    pub fn teardown_request(
        &mut self,
        f: impl Fn(&RequestScope, Option<&str>) + Send + Sync + 'static,
    ) {
        self.registered.teardown.push(Arc::new(f));
    }
}

/// The running request as Rust hooks and extension functions see it.
#[derive(Debug, Clone)]
pub struct RequestScope(pub(crate) Arc<RequestContext>);

impl RequestScope {
    /// The request running on this thread, if any (for functions an
    /// extension registers for scripts).
    pub fn current() -> Option<RequestScope> {
        crate::ctx::current().map(RequestScope)
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.0.request
    }

    /// The urlencoded form (empty for other content types).
    pub fn form(&self) -> Result<Arc<MultiDict>, HttpError> {
        self.0.form()
    }

    /// A session value (marks the session accessed, as Flask does).
    pub fn session_get(&self, key: &str) -> Option<Tagged> {
        crate::scripting::session_api::with_session(&self.0, |s| s.get(key).cloned())
    }

    /// Sets a session value; `Err` when the app has no secret key.
    pub fn session_set(
        &self,
        key: &str,
        value: Tagged,
    ) -> Result<(), crate::sessions::NoSecretKey> {
        crate::scripting::session_api::with_session(&self.0, |s| s.set(key, value))
    }

    /// A value from `g`.
    pub fn g_get(&self, key: &str) -> Option<Dynamic> {
        self.0
            .g
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// Sets a value in `g`.
    pub fn g_set(&self, key: &str, value: impl Into<Dynamic>) {
        self.0
            .g
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.into(), value.into());
    }

    /// The app's config.
    pub fn config(&self) -> &Config {
        &self.0.app.config
    }
}
