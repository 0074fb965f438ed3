//! # flaskrs
//!
//! Flask's Quickstart on a Rust host: web apps written in Rhai.
//!
//! An app is a Rhai script:
//!
//! ```rhai
//! fn hello_world() { "Hello World!" }
//! route("/", hello_world);
//! ```
//!
//! `flaskrs-host apps/hello.rhai` serves it. This crate is the host as a
//! library: load an app, register Rust functions for its scripts, wrap it in
//! middleware, serve it, or hand it single requests without a socket.
//!
//! ## Driving an app without a socket
//!
//! ```
//! use flaskrs::App;
//!
//! let app = App::from_source("hello.rhai", r#"
//!     fn hello(name) { `Hello ${name}!` }
//!     route("/hello/<name>", hello);
//! "#).unwrap();
//! let client = app.test_client();
//! let resp = client.get("/hello/Rhai");
//! assert_eq!(resp.status, 200);
//! assert_eq!(resp.text(), "Hello Rhai!");
//! ```
//!
//! ## Registering Rust functions for scripts
//!
//! ```
//! use flaskrs::App;
//!
//! let app = App::builder()
//!     .register(|engine| {
//!         engine.register_fn("double", |x: i64| x * 2);
//!     })
//!     .load_source("app.rhai", r#"route("/", || `${double(21)}`);"#)
//!     .unwrap();
//! assert_eq!(app.test_client().get("/").text(), "42");
//! ```
//!
//! ## Handing requests over from your own code
//!
//! ```
//! use flaskrs::{App, Request};
//!
//! let app = App::from_source("app.rhai", r#"post("/echo", || request.get_data());"#).unwrap();
//! let resp = app.handle(Request::new("POST", "/echo").with_body("ping"));
//! assert_eq!(resp.bytes(), Some(&b"ping"[..]));
//! ```
//!
//! ## Extensions
//!
//! An [`extensions::Extension`] is the twin of a Flask extension's
//! `init_app(app)`: in one call it registers script functions and types,
//! script globals, template globals and filters, config defaults and hooks
//! around every request. The first-party ones ([`ext::sqlite::Sqlite`] for
//! `db`, [`ext::csrf::Csrf`] for `csrf_protect()`) are loaded by
//! [`App::builder`]; [`AppBuilder::bare`] leaves them out.
//!
//! ```
//! use flaskrs::extensions::{Extension, ExtensionSetup};
//!
//! struct Version;
//! impl Extension for Version {
//!     fn name(&self) -> &str { "version" }
//!     fn init_app(&self, app: &mut ExtensionSetup<'_>) {
//!         app.engine().register_fn("app_version", || "1.0");
//!         app.template_global("version", "1.0");
//!     }
//! }
//!
//! let app = flaskrs::App::builder()
//!     .extension(Version)
//!     .load_source("app.rhai", r#"route("/", || render_template_string("v{{ version }} " + app_version()));"#)
//!     .unwrap();
//! assert_eq!(app.test_client().get("/").text(), "v1.0 1.0");
//! ```
//!
//! ## Serving
//!
//! ```no_run
//! use std::sync::Arc;
//! use flaskrs::{App, server::{Server, ServerConfig}};
//!
//! let app = App::from_file("apps/hello.rhai").unwrap();
//! let handle = Server::bind(
//!     ServerConfig { port: 0, ..ServerConfig::default() },
//!     Arc::new(move |req| app.handle(req)),
//! ).unwrap();
//! println!("listening on {}", handle.addr());
//! handle.shutdown();
//! ```
#![forbid(unsafe_code)]

pub(crate) mod app;
pub mod cli;
pub mod config;
mod ctx;
pub mod db;
pub mod debug;
pub mod error;
pub mod ext;
pub mod extensions;
pub mod http;
pub mod json;
pub mod json_tag;
pub mod logging;
pub mod markup;
pub mod middleware;
pub mod passwords;
pub mod routing;
mod scripting;
pub mod server;
pub mod sessions;
pub mod signing;
pub mod static_files;
pub mod templating;
pub mod testing;
pub mod urls;
pub mod utils;
pub mod wrappers;

pub use app::{App, AppBuilder, RouteInfo, SCRIPT_THREAD_STACK};
pub use config::Config;
pub use error::{Error, ScriptError, SourceLocation};
pub use http::{HttpError, Request, Response};
pub use middleware::{Middleware, ProxyFix};
pub use scripting::engine::EngineHook;
pub use testing::{TestClient, TestResponse};

/// Re-exported so embedders register functions with the same Rhai version.
pub use rhai;
