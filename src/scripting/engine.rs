//! Building the `Engine` for one load of an app: limits, the globals
//! resolver, the progress callback, `print`/`debug` into the app log,
//! module resolution (app folder, then the embedded stdlib) and the API.

use std::path::Path;
use std::sync::Arc;

use rhai::module_resolvers::{FileModuleResolver, ModuleResolversCollection};
use rhai::{Dynamic, Engine, EvalAltResult, Module, ModuleResolver, Position, Shared};

use super::objects::{GObj, LoggerObj, RequestObj};
use crate::app::setup::Setup;
use crate::config::Config;
use crate::logging::{AppLogger, Level};

/// A hook that adds functions, types or modules to the engine; run on every
/// (re)load, before the script's top level.
pub type EngineHook = Arc<dyn Fn(&mut Engine) + Send + Sync>;

/// The modules in `stdlib/`, embedded so the binary works from any folder.
pub(crate) const STDLIB: &[(&str, &str)] = &[
    ("auth", include_str!("../../stdlib/auth.rhai")),
    ("forms", include_str!("../../stdlib/forms.rhai")),
];

/// Resolves `import "name"` to an embedded stdlib module, compiled once per
/// engine with that engine (so its functions see the host API).
#[derive(Default)]
struct StdlibResolver {
    cache: std::sync::Mutex<std::collections::HashMap<String, Shared<Module>>>,
}

impl ModuleResolver for StdlibResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = cache.get(path) {
            return Ok(m.clone());
        }
        let Some((_, src)) = STDLIB.iter().find(|(name, _)| *name == path) else {
            return Err(EvalAltResult::ErrorModuleNotFound(path.to_owned(), pos).into());
        };
        let mut ast = engine
            .compile(*src)
            .map_err(|e| EvalAltResult::ErrorInModule(path.to_owned(), e.into(), pos))?;
        ast.set_source(format!("<stdlib>/{path}.rhai"));
        let module: Shared<Module> =
            Module::eval_ast_as_new(rhai::Scope::new(), &ast, engine)?.into();
        cache.insert(path.to_owned(), module.clone());
        Ok(module)
    }
}

/// The app-folder module resolver, recording every file it resolves so the
/// debug-mode reloader can watch the modules a script imports.
struct TrackingResolver {
    inner: FileModuleResolver,
    seen: Arc<std::sync::Mutex<Vec<std::path::PathBuf>>>,
}

impl ModuleResolver for TrackingResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let file = self
            .inner
            .get_file_path(path, source.map(Path::new).and_then(Path::parent));
        let result = self.inner.resolve(engine, source, path, pos);
        if result.is_ok() {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if !seen.contains(&file) {
                seen.push(file);
            }
        }
        result
    }
}

/// Sets the engine's structural limits from the config; identical in debug
/// and release builds (Rhai's own defaults differ between them).
pub(crate) fn apply_limits(engine: &mut Engine, config: &Config) {
    let get = |k: &str, d: i64| usize::try_from(config.get_int(k).unwrap_or(d)).unwrap_or(0);
    engine.set_max_call_levels(get("MAX_CALL_LEVELS", 48));
    let depth = get("MAX_EXPR_DEPTH", 64);
    engine.set_max_expr_depths(depth, depth);
    engine.set_max_string_size(get("MAX_STRING_SIZE", 16 << 20));
    engine.set_max_array_size(get("MAX_ARRAY_SIZE", 1_000_000));
    engine.set_max_map_size(get("MAX_MAP_SIZE", 1_000_000));
    engine.set_max_modules(256);
    // Operations are budgeted per request by the progress callback instead,
    // so a route can raise or lower its own budget.
    engine.set_max_operations(0);
}

/// Builds the engine for one load of the app at `app_dir`.
pub(crate) fn build(
    app_dir: &Path,
    setup: &Setup,
    config: &Config,
    logger: &Arc<AppLogger>,
    hooks: &[EngineHook],
    imported: &Arc<std::sync::Mutex<Vec<std::path::PathBuf>>>,
    ext_globals: &Arc<std::sync::OnceLock<std::collections::HashMap<String, Dynamic>>>,
) -> Engine {
    let mut engine = Engine::new();
    apply_limits(&mut engine, config);
    engine.disable_symbol("eval");

    engine.on_progress(|ops| crate::ctx::budget::check(ops).map(Dynamic::from));

    let l = logger.clone();
    engine.on_print(move |s| l.log(Level::Info, s));
    let l = logger.clone();
    engine.on_debug(move |s, _src, _pos| {
        // Rhai's debug() quotes strings; the log wants the text.
        let text = s
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(s);
        l.log(Level::Debug, text);
    });

    let (c, l, extg) = (config.clone(), logger.clone(), ext_globals.clone());
    #[allow(deprecated)] // `on_var` is marked volatile, not deprecated.
    engine.on_var(move |name, index, _ctx| {
        // A positive index is a local variable the parser already found.
        if index > 0 {
            return Ok(None);
        }
        match name {
            "config" => Ok(Some(Dynamic::from(c.clone()))),
            "logger" => Ok(Some(Dynamic::from(LoggerObj(l.clone())))),
            // Proxies: they find the current request when used.
            "request" => Ok(Some(Dynamic::from(RequestObj))),
            "g" => Ok(Some(Dynamic::from(GObj))),
            "session" => Ok(Some(Dynamic::from(super::session_api::SessionObj))),
            other => Ok(extg.get().and_then(|m| m.get(other)).cloned()),
        }
    });

    let mut resolvers = ModuleResolversCollection::new();
    let mut files = FileModuleResolver::new_with_path(app_dir);
    files.enable_cache(true);
    resolvers.push(TrackingResolver {
        inner: files,
        seen: imported.clone(),
    });
    resolvers.push(StdlibResolver::default());
    engine.set_module_resolver(resolvers);

    super::array_fns::register(&mut engine);
    super::request_api::register(&mut engine);
    super::response_api::register(&mut engine);
    super::api::register(&mut engine, setup, config);
    super::session_api::register(&mut engine);
    super::template_api::register(&mut engine);
    super::files_api::register(&mut engine);
    super::upload_api::register(&mut engine);
    super::security_api::register(&mut engine);
    for hook in hooks {
        hook(&mut engine);
    }
    engine
}

/// Names and arities of the host's methods on its own types, for the
/// shadowing check: `(name, arity counting the receiver, signature)`.
pub(crate) fn host_methods(engine: &Engine) -> Vec<(String, usize, String)> {
    const HOST_TYPES: [&str; 12] = [
        "FileMultiDict",
        "FileStorage",
        "Request",
        "MultiDict",
        "Headers",
        "Response",
        "ResponseHeaders",
        "AppCtxGlobals",
        "Config",
        "Logger",
        "Session",
        "Markup",
    ];
    let mut out = Vec::new();
    for sig in engine.gen_fn_signatures(false) {
        let Some((name, rest)) = sig.split_once('(') else {
            continue;
        };
        if name.starts_with("get$") || name.starts_with("set$") || name.starts_with("index$") {
            continue;
        }
        let params = rest.split(')').next().unwrap_or("");
        let list: Vec<&str> = if params.trim().is_empty() {
            Vec::new()
        } else {
            params.split(',').collect()
        };
        let first_type = list
            .first()
            .and_then(|p| p.split(':').nth(1))
            .map(|t| t.trim().trim_start_matches("&mut ").trim());
        if first_type.is_some_and(|t| HOST_TYPES.contains(&t)) {
            out.push((name.to_owned(), list.len(), sig.clone()));
        }
    }
    out
}
