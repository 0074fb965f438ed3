//! What the script's top level registers: routes, hooks, error handlers and
//! run options (Flask's setup methods), checked as they are registered so a
//! mistake stops the app at start-up with its place in the script.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rhai::{Dynamic, FnPtr, Map, NativeCallContext};

use crate::error::SourceLocation;
use crate::routing::UrlMap;

/// A script callable the host calls later: a named function or a closure
/// (with its captured values), and the names of the parameters the caller
/// supplies.
#[derive(Debug, Clone)]
pub(crate) struct Handler {
    /// The script function to call (`anon$…` for closures).
    pub(crate) fn_name: String,
    /// Captured values, passed first.
    pub(crate) curry: Vec<Dynamic>,
    /// Declared parameters, after the captured ones.
    pub(crate) params: Vec<String>,
    /// How messages name it: `'show_post'` or `closure at app.rhai:3:10`.
    pub(crate) label: String,
}

/// What answers an endpoint.
#[derive(Debug, Clone)]
pub(crate) enum ViewKind {
    /// A script function or closure.
    Script(Handler),
    /// The built-in `static` endpoint: files from `static/`.
    Static,
}

/// One view: what answers it and per-route options.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) kind: ViewKind,
    /// `max_operations` given in the route's options.
    pub(crate) max_operations: Option<u64>,
}

impl View {
    /// The script function behind the view, if it is one.
    pub(crate) fn script_fn(&self) -> Option<&str> {
        match &self.kind {
            ViewKind::Script(h) => Some(&h.fn_name),
            ViewKind::Static => None,
        }
    }
}

/// The registrations of one load of the script.
#[derive(Debug, Default)]
pub(crate) struct SetupState {
    /// The script's path as shown in messages.
    pub(crate) file: String,
    /// Parameter names of every script function, by (name, arity).
    pub(crate) fn_params: HashMap<(String, usize), Vec<String>>,
    pub(crate) url_map: UrlMap,
    pub(crate) views: HashMap<String, View>,
    pub(crate) error_handlers: BTreeMap<u16, Handler>,
    pub(crate) before_request: Vec<Handler>,
    pub(crate) after_request: Vec<Handler>,
    pub(crate) teardown_request: Vec<Handler>,
    /// `run(#{...})` at the top level.
    pub(crate) run_options: Map,
    /// `cli_command(name, handler)`.
    pub(crate) cli_commands: BTreeMap<String, Handler>,
    /// Set once the app starts serving; setup methods refuse after that.
    pub(crate) finished: bool,
    pub(crate) closure_endpoints: usize,
}

/// The shared handle the engine's registration functions hold.
pub(crate) type Setup = Arc<Mutex<SetupState>>;

pub(crate) fn lock(s: &Setup) -> MutexGuard<'_, SetupState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl SetupState {
    /// Flask's `_check_setup_finished`.
    pub(crate) fn check_not_finished(&self, method: &str) -> Result<(), String> {
        if self.finished {
            Err(format!(
                "The setup method '{method}' can no longer be called on the application. It has already handled its first request, any changes will not be applied consistently. Make sure all imports, decorators, functions, etc. needed to set up the application are done before running it."
            ))
        } else {
            Ok(())
        }
    }

    /// Resolves a function pointer to a handler that will receive
    /// `supplied` arguments (by position), or says what is wrong.
    pub(crate) fn handler(
        &self,
        f: &FnPtr,
        supplied: Option<usize>,
        place: Option<&SourceLocation>,
    ) -> Result<Handler, String> {
        let name = f.fn_name();
        let curry = f.curry().to_vec();
        let mut candidates: Vec<(usize, &Vec<String>)> = self
            .fn_params
            .iter()
            .filter(|((n, arity), _)| n == name && *arity >= curry.len())
            .map(|((_, arity), p)| (*arity, p))
            .collect();
        candidates.sort_by_key(|(a, _)| *a);
        let chosen = match supplied {
            Some(n) => candidates
                .iter()
                .find(|(a, _)| *a == curry.len() + n)
                .or(candidates.first()),
            None => candidates.first(),
        };
        let Some((_, params)) = chosen else {
            return Err(format!(
                "'{name}' is not a function defined in this script; handlers must be script functions (fn {name}(...) {{ ... }}) or closures"
            ));
        };
        let params = params[curry.len()..].to_vec();
        let label = if is_closure(name) {
            match place {
                Some(p) => format!("closure at {p}"),
                None => "closure".to_owned(),
            }
        } else {
            format!("'{name}'")
        };
        Ok(Handler {
            fn_name: name.to_owned(),
            curry,
            params,
            label,
        })
    }

    /// An endpoint name for a closure route without `endpoint`: the rule's
    /// words joined by `_` (`/user/<name>` → `user_name`), `index` for `/`,
    /// made unique with a number.
    pub(crate) fn closure_endpoint(&mut self, rule: &str) -> String {
        let mut words = Vec::new();
        for seg in rule.split('/') {
            let seg = match (seg.find('<'), seg.rfind('>')) {
                (Some(a), Some(b)) if a < b => {
                    let inner = &seg[a + 1..b];
                    inner.rsplit(':').next().unwrap_or(inner)
                }
                _ => seg,
            };
            let w: String = seg
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '_' })
                .collect();
            let w = w.trim_matches('_');
            if !w.is_empty() {
                words.push(w.to_owned());
            }
        }
        let base = if words.is_empty() {
            "index".to_owned()
        } else {
            words.join("_")
        };
        let mut name = base.clone();
        while self.views.contains_key(&name) {
            self.closure_endpoints += 1;
            name = format!("{base}_{}", self.closure_endpoints);
        }
        name
    }
}

/// Whether a function name is one Rhai generated for a closure.
pub(crate) fn is_closure(name: &str) -> bool {
    name.starts_with("anon$")
}

/// The script place of a native call (`route(...)` at app.rhai:3:1).
pub(crate) fn call_place(ctx: &NativeCallContext<'_>, file: &str) -> Option<SourceLocation> {
    let src = ctx.call_source().unwrap_or(file);
    SourceLocation::from_pos(src, ctx.call_position())
}

/// Checks that a view's parameters are exactly the rule's variables (plus
/// its defaults), as Flask passes them by keyword.
pub(crate) fn check_view_params(
    handler: &Handler,
    rule: &str,
    arguments: &[String],
) -> Result<(), String> {
    for p in &handler.params {
        if !arguments.contains(p) {
            let hint = if arguments.is_empty() {
                format!("remove the parameter, or add <{p}> to the rule")
            } else {
                format!(
                    "rename it to one of the rule's variables ({}), or add <{p}> to the rule",
                    arguments.join(", ")
                )
            };
            return Err(format!(
                "handler {} takes a parameter '{p}' that rule '{rule}' does not supply: {hint}",
                handler.label
            ));
        }
    }
    for a in arguments {
        if !handler.params.contains(a) {
            return Err(format!(
                "rule '{rule}' passes '{a}', but handler {} has no parameter of that name (it takes ({})): add a parameter named '{a}'",
                handler.label,
                handler.params.join(", ")
            ));
        }
    }
    Ok(())
}
