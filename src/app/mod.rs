//! The application (Flask's `Flask` class): loading a script into a
//! [`LoadedApp`] — compiled once, top level run once, routes frozen — and
//! the public [`App`] handle that serves requests through middleware.

pub(crate) mod dispatch;
mod load;
mod reload;
pub(crate) mod setup;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rhai::{Dynamic, Engine, Module, Scope, AST};

use crate::config::Config;
use crate::error::{Error, ScriptError};
use crate::http::{Request, Response};
use crate::logging::{AppLogger, Level, LogCapture};
use crate::middleware::Middleware;
use crate::routing::UrlMap;
use crate::scripting::engine::{self, EngineHook};
use crate::scripting::SetupFailure;
use load::{add_static_route, check_shadowing, session_config};
use reload::{stamps, ReloadState};
use setup::{Handler, SetupState, View};

/// Stack reserved for script work. Rhai recurses on the native stack, and a
/// debug build needs several MiB for the configured call depth; a script
/// must never be able to overflow the stack of the thread it runs on (that
/// aborts the process). Less than `SCRIPT_RED_ZONE` left on the caller's
/// stack means the work moves to a fresh stack of `SCRIPT_STACK` (virtual
/// memory: only the pages used are touched). Server workers are spawned
/// with enough stack that this never triggers there.
pub(crate) const SCRIPT_STACK: usize = 64 << 20;
/// See [`SCRIPT_STACK`].
pub(crate) const SCRIPT_RED_ZONE: usize = 48 << 20;

/// The stack size for threads that call [`App::handle`] (and the server's
/// workers): with it, script work runs on the thread's own stack. A thread
/// with less (Rust's default is 2 MiB) still works, but each request then
/// maps and unmaps a fresh script stack, which costs about ten times a small
/// request's own work. Reserved address space, not memory: only the pages
/// used are touched. With tokio, pass it to `Builder::thread_stack_size`
/// for `spawn_blocking` threads (see `examples/axum_embed.rs`).
pub const SCRIPT_THREAD_STACK: usize = SCRIPT_STACK + (8 << 20);

/// Runs script work with enough native stack (see [`SCRIPT_STACK`]).
pub(crate) fn with_script_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(SCRIPT_RED_ZONE, SCRIPT_STACK, f)
}

/// Where an app's script comes from.
#[derive(Debug, Clone)]
enum AppSource {
    File(PathBuf),
    Text { name: String, text: String },
}

/// One compiled, set-up version of the app. Requests hold an `Arc` to the
/// version they started on, so a reload never changes a request in flight.
pub(crate) struct LoadedApp {
    pub(crate) engine: Engine,
    pub(crate) empty_ast: AST,
    pub(crate) url_map: UrlMap,
    pub(crate) views: HashMap<String, View>,
    pub(crate) error_handlers: BTreeMap<u16, Handler>,
    pub(crate) before_request: Vec<Handler>,
    pub(crate) after_request: Vec<Handler>,
    pub(crate) teardown_request: Vec<Handler>,
    pub(crate) config: Config,
    pub(crate) logger: Arc<AppLogger>,
    /// The session settings, resolved from the config once at load.
    pub(crate) session_config: crate::sessions::SessionConfig,
    /// Their signing serializer (keys derived once); `None` without a key.
    pub(crate) session_serializer: Option<crate::signing::Serializer>,
    /// `templates/` beside the script, compiled templates cached.
    pub(crate) templates: crate::templating::Templates,
    pub(crate) run_options: rhai::Map,
    /// The script's path as messages show it.
    pub(crate) file: String,
    /// The folder of the script: templates, static files, relative paths.
    pub(crate) root: PathBuf,
    /// Script sources by file, for error excerpts.
    pub(crate) sources: HashMap<String, String>,
    /// Debug mode: reload on change, detailed error pages for local clients.
    pub(crate) debug: bool,
    /// The script and the modules it imported, for the reloader.
    pub(crate) watched: Vec<PathBuf>,
    /// Hooks and globals registered by extensions.
    pub(crate) ext: crate::extensions::Registered,
    /// `cli_command(name, handler)` registrations.
    pub(crate) cli_commands: BTreeMap<String, Handler>,
    /// `proxy_fix(#{...})` from the script: applied before dispatch.
    pub(crate) proxy_fix: Option<crate::middleware::ProxyFix>,
}

impl std::fmt::Debug for LoadedApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedApp")
            .field("file", &self.file)
            .finish()
    }
}

/// Options kept across reloads.
#[derive(Clone, Default)]
struct AppOptions {
    hooks: Vec<EngineHook>,
    extensions: Vec<Arc<dyn crate::extensions::Extension>>,
    config: Vec<(String, Dynamic)>,
}

impl LoadedApp {
    fn load(source: &AppSource, options: &AppOptions) -> Result<LoadedApp, Error> {
        let (file, text, root) = match source {
            AppSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
                    path: path.clone(),
                    source: e,
                })?;
                let root = path
                    .parent()
                    .map(Path::to_path_buf)
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or_else(|| PathBuf::from("."));
                let root = std::fs::canonicalize(&root).unwrap_or(root);
                (path.display().to_string(), text, root)
            }
            AppSource::Text { name, text } => (
                name.clone(),
                text.clone(),
                std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            ),
        };
        let module_name = Path::new(&file)
            .file_stem()
            .map_or_else(|| "app".to_owned(), |s| s.to_string_lossy().into_owned());
        let config = Config::default();
        let logger = Arc::new(AppLogger::new(&module_name, Level::Warn));
        let setup = Arc::new(Mutex::new(SetupState {
            file: file.clone(),
            ..SetupState::default()
        }));
        add_static_route(&setup);
        let imported = Arc::new(Mutex::new(Vec::new()));
        let ext_globals = Arc::new(std::sync::OnceLock::new());
        let mut engine = engine::build(
            &root,
            &setup,
            &config,
            &logger,
            &options.hooks,
            &imported,
            &ext_globals,
        );
        let mut ext = crate::extensions::Registered::default();
        for e in &options.extensions {
            e.init_app(&mut crate::extensions::ExtensionSetup {
                engine: &mut engine,
                root: &root,
                config: &config,
                registered: &mut ext,
            });
        }
        let _ = ext_globals.set(ext.globals.iter().cloned().collect::<HashMap<_, _>>());
        let sources = HashMap::from([(file.clone(), text.clone())]);
        let render = |e: ScriptError| {
            let rendered = e.render_text(&|f| sources.get(f).cloned());
            Error::Script {
                error: Box::new(e),
                rendered,
            }
        };

        let mut ast = engine
            .compile(&text)
            .map_err(|e| render(ScriptError::from_parse(&e, &file)))?;
        ast.set_source(file.as_str());
        check_shadowing(&engine, &ast, &text, &file)?;
        {
            let mut s = setup::lock(&setup);
            for f in ast.iter_functions() {
                s.fn_params.insert(
                    (f.name.to_owned(), f.params.len()),
                    f.params.iter().map(|p| (*p).to_owned()).collect(),
                );
            }
        }

        let module = {
            // The top level gets a generous budget of its own so a runaway
            // loop at load time ends with an error instead of a hang.
            let _budget = crate::ctx::budget::start(
                500_000_000,
                Some(std::time::Instant::now() + std::time::Duration::from_secs(60)),
            );
            Module::eval_ast_as_new(Scope::new(), &ast, &engine).map_err(|e| {
                let se = ScriptError::from_eval(&e, &file);
                match e.unwrap_inner() {
                    rhai::EvalAltResult::ErrorRuntime(v, _) if v.is::<SetupFailure>() => {
                        Error::Setup {
                            message: v
                                .read_lock::<SetupFailure>()
                                .map(|f| f.0.clone())
                                .unwrap_or_default(),
                            location: se.location.clone(),
                        }
                    }
                    _ => render(se),
                }
            })?
        };
        engine.register_global_module(module.into());
        for (k, v) in &options.config {
            config.set(k, v.clone());
        }
        engine::apply_limits(&mut engine, &config);

        let mut s = setup::lock(&setup);
        s.finished = true;
        let debug = config.get_bool("DEBUG")
            || s.run_options
                .get("debug")
                .is_some_and(crate::config::truthy);
        let level = match config.get("LOG_LEVEL") {
            v if v.is_unit() => {
                if debug {
                    Level::Debug
                } else {
                    Level::Warn
                }
            }
            v => crate::scripting::api::parse_level(&v).unwrap_or(Level::Warn),
        };
        logger.set_level(level);
        let auto_reload = debug || config.get_bool("TEMPLATES_AUTO_RELOAD");
        let mut templates =
            crate::templating::Templates::new(Some(root.join("templates")), auto_reload);
        crate::scripting::template_api::install_globals(&mut templates);
        for hook in &ext.templates {
            hook(&mut templates);
        }
        let session_config = session_config(&config).map_err(|message| Error::Setup {
            message,
            location: None,
        })?;
        let mut watched = match source {
            AppSource::File(p) => vec![p.clone()],
            AppSource::Text { .. } => Vec::new(),
        };
        watched.extend(
            imported
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        Ok(LoadedApp {
            debug,
            watched,
            ext,
            cli_commands: std::mem::take(&mut s.cli_commands),
            proxy_fix: s.proxy_fix.take(),
            engine,
            empty_ast: AST::empty(),
            url_map: std::mem::take(&mut s.url_map),
            views: std::mem::take(&mut s.views),
            error_handlers: std::mem::take(&mut s.error_handlers),
            before_request: std::mem::take(&mut s.before_request),
            after_request: std::mem::take(&mut s.after_request),
            teardown_request: std::mem::take(&mut s.teardown_request),
            config,
            logger,
            session_serializer: session_config.serializer(),
            session_config,
            templates,
            run_options: std::mem::take(&mut s.run_options),
            file,
            root,
            sources,
        })
    }

    /// The text excerpt of a script error, for the log.
    pub(crate) fn render_error(&self, e: &ScriptError) -> String {
        e.render_text(&|f| self.sources.get(f).cloned())
    }
}

struct AppShared {
    current: RwLock<Arc<LoadedApp>>,
    source: AppSource,
    options: AppOptions,
    /// Swapped whole by [`App::wrap`], so a request takes the chain with
    /// one reference count instead of copying it.
    middleware: RwLock<Arc<[Arc<dyn Middleware>]>>,
    reload: Mutex<ReloadState>,
}

/// A loaded Rhai app: call it with a [`Request`] and get a [`Response`],
/// wrap it in middleware, serve it, or test it with [`App::test_client`].
/// Cloning gives another handle to the same app.
#[derive(Clone)]
pub struct App {
    shared: Arc<AppShared>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("file", &self.current().file)
            .finish()
    }
}

/// Builds an [`App`]: register Rust functions and types for its scripts
/// and set configuration before the script is loaded.
pub struct AppBuilder {
    options: AppOptions,
}

impl Default for AppBuilder {
    fn default() -> Self {
        AppBuilder::bare()
            .extension(crate::ext::sqlite::Sqlite)
            .extension(crate::ext::csrf::Csrf)
    }
}

impl std::fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBuilder")
            .field("hooks", &self.options.hooks.len())
            .finish()
    }
}

impl AppBuilder {
    /// A builder with the first-party extensions (`db`, `csrf_protect`),
    /// as `flaskrs-host` runs apps.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with no extension at all.
    pub fn bare() -> Self {
        AppBuilder {
            options: AppOptions::default(),
        }
    }

    /// Adds an extension (Flask's `ext.init_app(app)`); see
    /// [`crate::extensions`].
    pub fn extension(mut self, ext: impl crate::extensions::Extension) -> Self {
        self.options.extensions.push(Arc::new(ext));
        self
    }

    /// Registers Rust functions, types or modules for the app's scripts.
    /// The hook runs each time the script is (re)loaded, before its top level.
    pub fn register(mut self, hook: impl Fn(&mut Engine) + Send + Sync + 'static) -> Self {
        self.options.hooks.push(Arc::new(hook));
        self
    }

    /// Sets a config value after the script's top level has run, so it wins
    /// over the script's own setting (as a test config does in Flask).
    pub fn config(mut self, key: &str, value: impl Into<Dynamic>) -> Self {
        self.options.config.push((key.to_owned(), value.into()));
        self
    }

    /// Loads the app from a script file.
    pub fn load_file(self, path: impl AsRef<Path>) -> Result<App, Error> {
        App::load(AppSource::File(path.as_ref().to_path_buf()), self.options)
    }

    /// Loads the app from script text; `name` stands for the file in messages.
    pub fn load_source(self, name: &str, source: &str) -> Result<App, Error> {
        App::load(
            AppSource::Text {
                name: name.to_owned(),
                text: source.to_owned(),
            },
            self.options,
        )
    }
}

impl App {
    fn load(source: AppSource, options: AppOptions) -> Result<App, Error> {
        let loaded = with_script_stack(|| LoadedApp::load(&source, &options))?;
        let reload = ReloadState {
            checked: std::time::Instant::now(),
            stamps: stamps(&loaded.watched),
            error: None,
        };
        Ok(App {
            shared: Arc::new(AppShared {
                current: RwLock::new(Arc::new(loaded)),
                source,
                options,
                middleware: RwLock::new(Arc::from(Vec::new())),
                reload: Mutex::new(reload),
            }),
        })
    }

    /// A builder, to register Rust functions before loading.
    pub fn builder() -> AppBuilder {
        AppBuilder::new()
    }

    /// Loads the app from a script file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<App, Error> {
        AppBuilder::new().load_file(path)
    }

    /// Loads the app from script text; `name` stands for the file in messages.
    pub fn from_source(name: &str, source: &str) -> Result<App, Error> {
        AppBuilder::new().load_source(name, source)
    }

    pub(crate) fn current(&self) -> Arc<LoadedApp> {
        self.shared
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reloads the script (and its config), swapping the new version in
    /// atomically; on failure the running version stays and the error is
    /// returned.
    pub fn reload(&self) -> Result<(), Error> {
        let fresh =
            with_script_stack(|| LoadedApp::load(&self.shared.source, &self.shared.options))?;
        let mut state = self.shared.reload.lock().unwrap_or_else(|e| e.into_inner());
        state.stamps = stamps(&fresh.watched);
        state.error = None;
        *self
            .shared
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// Wraps the app in middleware (the twin of
    /// `app.wsgi_app = ProxyFix(app.wsgi_app)`): the last one added runs first.
    pub fn wrap(&self, middleware: impl Middleware) -> &Self {
        let mut chain = self
            .shared
            .middleware
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let mut longer = chain.to_vec();
        longer.push(Arc::new(middleware));
        *chain = Arc::from(longer);
        drop(chain);
        self
    }

    /// Handles one request: middleware, then the app (Flask's `wsgi_app`).
    /// Never panics: a panic inside is logged and answered 500. Call it
    /// from a thread with [`SCRIPT_THREAD_STACK`] of stack for speed.
    pub fn handle(&self, request: Request) -> Response {
        let chain = Arc::clone(
            &self
                .shared
                .middleware
                .read()
                .unwrap_or_else(|e| e.into_inner()),
        );
        self.handle_through(&chain, request)
    }

    fn handle_through(&self, chain: &[Arc<dyn Middleware>], request: Request) -> Response {
        match chain.split_last() {
            Some((outer, rest)) => outer.handle(request, &|r| self.handle_through(rest, r)),
            None => {
                if self.current().debug && matches!(self.shared.source, AppSource::File(_)) {
                    // A broken edit: the developer's own browser sees the error;
                    // anyone else keeps being served by the last good version.
                    if let Some(err) = self.reload_if_changed() {
                        if crate::debug::is_loopback(&request.remote_addr) {
                            return dispatch::broken_reload_response(
                                &self.current(),
                                &request,
                                &err,
                            );
                        }
                    }
                }
                let loaded = self.current();
                let request = match &loaded.proxy_fix {
                    Some(fix) => fix.apply(request),
                    None => request,
                };
                let method = request.method.clone();
                let path = request.path.clone();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    with_script_stack(|| dispatch::wsgi_app(&loaded, request))
                }))
                .unwrap_or_else(|panic| {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".to_owned());
                    loaded.logger.log(
                        Level::Error,
                        &format!("Exception on {path} [{method}]\nRust panic: {why}"),
                    );
                    crate::http::HttpError::new(500).to_response()
                })
            }
        }
    }

    /// The app's configuration (shared: changes are seen by the app).
    pub fn config(&self) -> Config {
        self.current().config.clone()
    }

    /// Starts capturing everything the app logs, for tests and embedding.
    pub fn capture_logs(&self) -> LogCapture {
        self.current().logger.capture()
    }

    /// The script file the app was loaded from (as given).
    pub fn file(&self) -> String {
        self.current().file.clone()
    }

    /// The folder the app's relative paths resolve from.
    pub fn root(&self) -> PathBuf {
        self.current().root.clone()
    }

    /// Whether the app runs in debug mode (`config.DEBUG` or `run(#{"debug": true})`).
    pub fn debug(&self) -> bool {
        let c = self.current();
        c.config.get_bool("DEBUG")
            || c.run_options
                .get("debug")
                .is_some_and(crate::config::truthy)
    }

    /// What `run(#{...})` recorded at the top level (`host`, `port`, `debug`, `threads`).
    pub fn run_options(&self) -> rhai::Map {
        self.current().run_options.clone()
    }

    /// The URL map as `flask routes` lists it: (endpoint, methods, rule).
    pub fn routes(&self) -> Vec<RouteInfo> {
        self.current()
            .url_map
            .rules()
            .iter()
            .map(|r| RouteInfo {
                endpoint: r.endpoint.clone(),
                methods: r.methods.iter().cloned().collect(),
                rule: r.rule.clone(),
            })
            .collect()
    }

    /// The commands the script registered with `cli_command`, by name.
    pub fn cli_commands(&self) -> Vec<String> {
        self.current().cli_commands.keys().cloned().collect()
    }

    /// Runs a script command (Flask's `@app.cli.command`), outside any
    /// request. A handler with one parameter gets `args` as an array; one
    /// with none must get no arguments. Returns what the handler returned.
    pub fn run_command(&self, name: &str, args: &[String]) -> Result<Dynamic, Error> {
        let app = self.current();
        let Some(h) = app.cli_commands.get(name) else {
            let known: Vec<&str> = app.cli_commands.keys().map(String::as_str).collect();
            return Err(Error::Setup {
                message: format!(
                    "No such command '{name}'. The script registers: {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
                location: None,
            });
        };
        let call_args: Vec<Dynamic> = match (h.params.len(), args.len()) {
            (0, 0) => Vec::new(),
            (1, _) => vec![Dynamic::from_array(args.iter().map(|a| Dynamic::from(a.clone())).collect())],
            (0, n) => {
                return Err(Error::Setup {
                    message: format!("Command '{name}' takes no arguments, but {n} were given."),
                    location: None,
                })
            }
            (n, _) => {
                return Err(Error::Setup {
                    message: format!(
                        "Command '{name}' must take no parameter or one (the array of arguments), not {n}."
                    ),
                    location: None,
                })
            }
        };
        with_script_stack(|| {
            let _budget = crate::ctx::budget::start(u64::MAX, None);
            dispatch::call(&app, h, call_args)
        })
        .map_err(|e| {
            let se = ScriptError::from_eval(&e, &app.file);
            let rendered = app.render_error(&se);
            Error::Script {
                error: Box::new(se),
                rendered,
            }
        })
    }

    /// A test client that drives this app without a socket.
    pub fn test_client(&self) -> crate::testing::TestClient {
        crate::testing::TestClient::new(self.clone())
    }
}

/// One row of the URL map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The endpoint name (`url_for`'s first argument).
    pub endpoint: String,
    /// The methods the rule answers, sorted (HEAD and OPTIONS included).
    pub methods: Vec<String>,
    /// The rule text (`/post/<int:post_id>`).
    pub rule: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How far the stack pointer is from the stack's end, as seen inside
    /// `with_script_stack`, and whether it ran on the caller's stack.
    fn runs_in_place(stack: usize) -> bool {
        std::thread::Builder::new()
            .stack_size(stack)
            .spawn(|| {
                let outside = stacker::remaining_stack().unwrap_or(0);
                let inside = with_script_stack(|| stacker::remaining_stack().unwrap_or(0));
                // The same stack: a little less left inside. A fresh one:
                // about SCRIPT_STACK left, far more than the thread had.
                inside <= outside
            })
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn script_work_stays_on_a_thread_with_the_documented_stack() {
        assert!(runs_in_place(SCRIPT_THREAD_STACK));
        // A default-sized thread gets a fresh stack instead (still safe).
        assert!(!runs_in_place(2 << 20));
    }
}
