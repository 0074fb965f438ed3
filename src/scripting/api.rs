//! The script API: setup methods (`route`, `errorhandler`, hooks, `run`)
//! and request-time helpers (`url_for`, `redirect`, `abort`,
//! `make_response`, `jsonify`), plus `g`, `config` and `logger`.

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext};

use super::convert::{dumps, to_route_values};
use super::objects::{lock_map, GObj, LoggerObj, ResponseObj};
use super::{abort_err, pure, runtime_err, setup_err, HttpAbort, ResponseAbort};
use crate::app::setup::{self, call_place, check_view_params, is_closure, Setup, View, ViewKind};
use crate::config::Config;
use crate::ctx::RequestContext;
use crate::http::{HttpError, Response};
use crate::logging::Level;
use crate::routing::{RouteValue, RuleSpec};

type RhaiResult = Result<Dynamic, Box<EvalAltResult>>;

const METHOD_SHORTCUTS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// `route(rule, options, handler)` and its shortcuts.
fn add_route(
    setup: &Setup,
    ctx: &NativeCallContext<'_>,
    rule: &str,
    opts: &Map,
    f: &FnPtr,
    shortcut: Option<&str>,
) -> Result<(), Box<EvalAltResult>> {
    let mut s = setup::lock(setup);
    let method_name = shortcut.unwrap_or("route");
    s.check_not_finished(method_name).map_err(setup_err)?;
    let place = call_place(ctx, &s.file);

    let mut methods: Option<Vec<String>> = None;
    let mut endpoint: Option<String> = None;
    let mut defaults = indexmap::IndexMap::new();
    let mut strict_slashes = None;
    let mut max_operations = None;
    let mut automatic_options = true;
    for (k, v) in opts {
        match k.as_str() {
            "methods" => {
                if shortcut.is_some() {
                    return Err(setup_err(
                        "Use the 'route' function to use the 'methods' argument.",
                    ));
                }
                let arr = v.read_lock::<Array>().ok_or_else(|| {
                    setup_err("route(): 'methods' must be an array of strings such as [\"GET\", \"POST\"]")
                })?;
                methods = Some(arr.iter().map(|m| m.to_string().to_ascii_uppercase()).collect());
            }
            "endpoint" => endpoint = Some(v.to_string()),
            "defaults" => {
                let m = v.read_lock::<Map>().ok_or_else(|| {
                    setup_err("route(): 'defaults' must be a map such as #{ page: 1 }")
                })?;
                for (dk, dv) in m.iter() {
                    let mut out = Vec::new();
                    to_route_values(dk, dv, &mut out);
                    if let Some((_, rv)) = out.pop() {
                        defaults.insert(dk.to_string(), rv);
                    }
                }
            }
            "strict_slashes" => strict_slashes = Some(crate::config::truthy(v)),
            "provide_automatic_options" => automatic_options = crate::config::truthy(v),
            "max_operations" => {
                max_operations = Some(
                    v.as_int()
                        .ok()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| setup_err("route(): 'max_operations' must be a positive integer"))?,
                )
            }
            other => {
                return Err(setup_err(format!(
                    "route() got an unexpected option '{other}'; expected methods, endpoint, defaults, strict_slashes, provide_automatic_options or max_operations"
                )))
            }
        }
    }
    if let Some(m) = shortcut {
        methods = Some(vec![m.to_ascii_uppercase()]);
    }
    let handler = s.handler(f, None, place.as_ref()).map_err(setup_err)?;
    let endpoint = match endpoint {
        Some(e) => e,
        None if is_closure(f.fn_name()) => s.closure_endpoint(rule),
        None => f.fn_name().to_owned(),
    };
    if let Some(existing) = s.views.get(&endpoint) {
        if existing.script_fn() != Some(handler.fn_name.as_str()) {
            return Err(setup_err(format!(
                "View function mapping is overwriting an existing endpoint function: {endpoint}"
            )));
        }
    }
    s.url_map
        .add(RuleSpec {
            rule: rule.to_owned(),
            endpoint: endpoint.clone(),
            methods,
            defaults,
            strict_slashes,
            provide_automatic_options: automatic_options,
        })
        .map_err(|e| setup_err(e.to_string()))?;
    let arguments = s
        .url_map
        .rules()
        .last()
        .map(|r| {
            let mut a = r.arguments.clone();
            for k in r.defaults.keys() {
                if !a.contains(k) {
                    a.push(k.clone());
                }
            }
            a
        })
        .unwrap_or_default();
    let handler = s
        .handler(f, Some(arguments.len()), place.as_ref())
        .map_err(setup_err)?;
    check_view_params(&handler, rule, &arguments).map_err(setup_err)?;
    s.views.insert(
        endpoint,
        View {
            kind: ViewKind::Script(handler),
            max_operations,
        },
    );
    Ok(())
}

fn add_hook(
    setup: &Setup,
    ctx: &NativeCallContext<'_>,
    which: &str,
    f: &FnPtr,
) -> Result<(), Box<EvalAltResult>> {
    let mut s = setup::lock(setup);
    s.check_not_finished(which).map_err(setup_err)?;
    let place = call_place(ctx, &s.file);
    let wanted = usize::from(which != "before_request");
    let h = s
        .handler(f, Some(wanted), place.as_ref())
        .map_err(setup_err)?;
    if h.params.len() != wanted {
        return Err(setup_err(format!(
            "{which} handler {} must take {wanted} parameter{} ({}), not {}",
            h.label,
            if wanted == 1 { "" } else { "s" },
            match which {
                "after_request" => "the response",
                "teardown_request" => "the error, or ()",
                _ => "none",
            },
            h.params.len()
        )));
    }
    match which {
        "before_request" => s.before_request.push(h),
        "after_request" => s.after_request.push(h),
        _ => s.teardown_request.push(h),
    }
    Ok(())
}

/// The parts of `url_for`'s values that are not route values.
struct UrlOptions {
    external: bool,
    anchor: Option<String>,
    method: Option<String>,
    scheme: Option<String>,
    values: Vec<(String, RouteValue)>,
}

fn url_options(values: &Map) -> Result<UrlOptions, String> {
    let mut o = UrlOptions {
        external: false,
        anchor: None,
        method: None,
        scheme: None,
        values: Vec::new(),
    };
    for (k, v) in values {
        match k.as_str() {
            "_external" => o.external = crate::config::truthy(v),
            "_anchor" => o.anchor = (!v.is_unit()).then(|| v.to_string()),
            "_method" => o.method = (!v.is_unit()).then(|| v.to_string().to_ascii_uppercase()),
            "_scheme" => o.scheme = (!v.is_unit()).then(|| v.to_string()),
            _ => to_route_values(k, v, &mut o.values),
        }
    }
    if o.scheme.is_some() && !o.external {
        return Err("When specifying '_scheme', '_external' must be True.".to_owned());
    }
    Ok(o)
}

fn finish_url(o: UrlOptions, built: &str, host: &str, script_root: &str, scheme: &str) -> String {
    let mut url = format!("{script_root}{built}");
    if o.external {
        url = format!("{}://{host}{url}", o.scheme.as_deref().unwrap_or(scheme));
    }
    if let Some(a) = o.anchor {
        url.push('#');
        url.push_str(&crate::urls::quote_fragment(&a));
    }
    url
}

/// `url_for` inside a request: the request's URL map, method, host and
/// script root (also used by templates).
pub(crate) fn url_for_in(
    ctx: &RequestContext,
    endpoint: &str,
    values: &Map,
) -> Result<String, String> {
    let o = url_options(values)?;
    let built = ctx
        .app
        .url_map
        .build_with_default_method(
            endpoint,
            &o.values,
            o.method.as_deref(),
            &ctx.request.method,
        )
        .map_err(|e| e.to_string())?;
    let r = &ctx.request;
    Ok(finish_url(o, &built, r.host(), &r.script_root, &r.scheme))
}

/// `url_for`: in a request through [`url_for_in`]; at the top level through
/// the routes registered so far, as under `test_request_context()`.
fn url_for(
    setup: &Setup,
    config: &Config,
    endpoint: &str,
    values: &Map,
) -> Result<String, Box<EvalAltResult>> {
    if let Some(ctx) = crate::ctx::current() {
        return url_for_in(&ctx, endpoint, values).map_err(runtime_err);
    }
    let o = url_options(values).map_err(runtime_err)?;
    let built = setup::lock(setup)
        .url_map
        .build(endpoint, &o.values, o.method.as_deref())
        .map_err(|e| runtime_err(e.to_string()))?;
    let host = config
        .get_str("SERVER_NAME")
        .unwrap_or_else(|| "localhost".to_owned());
    let root = config.get_str("APPLICATION_ROOT").unwrap_or_default();
    let scheme = config
        .get_str("PREFERRED_URL_SCHEME")
        .unwrap_or_else(|| "http".to_owned());
    Ok(finish_url(
        o,
        &built,
        &host,
        root.trim_end_matches('/'),
        &scheme,
    ))
}

/// `abort(code)`: unknown codes are a LookupError in Flask, a 500 here.
fn abort(code: i64, description: Option<String>) -> Box<EvalAltResult> {
    match u16::try_from(code).ok().filter(|c| HttpError::is_known(*c)) {
        Some(c) => abort_err(HttpError {
            code: c,
            description,
            headers: crate::http::Headers::new(),
        }),
        None => runtime_err(format!("no exception for {code}")),
    }
}

/// `jsonify(value)`: always a JSON response.
pub(crate) fn jsonify(v: &Dynamic) -> Result<ResponseObj, Box<EvalAltResult>> {
    let json = dumps(v).map_err(runtime_err)?;
    Ok(ResponseObj::new(Response::json_text(json)))
}

pub(crate) fn register(engine: &mut Engine, setup: &Setup, config: &Config) {
    // Setup methods.
    let s = setup.clone();
    engine.register_fn(
        "route",
        move |ctx: NativeCallContext<'_>, rule: &str, f: FnPtr| {
            add_route(&s, &ctx, rule, &Map::new(), &f, None)
        },
    );
    let s = setup.clone();
    engine.register_fn(
        "route",
        move |ctx: NativeCallContext<'_>, rule: &str, opts: Map, f: FnPtr| {
            add_route(&s, &ctx, rule, &opts, &f, None)
        },
    );
    for m in METHOD_SHORTCUTS {
        let s = setup.clone();
        engine.register_fn(
            m,
            move |ctx: NativeCallContext<'_>, rule: &str, f: FnPtr| {
                add_route(&s, &ctx, rule, &Map::new(), &f, Some(m))
            },
        );
        let s = setup.clone();
        engine.register_fn(
            m,
            move |ctx: NativeCallContext<'_>, rule: &str, opts: Map, f: FnPtr| {
                add_route(&s, &ctx, rule, &opts, &f, Some(m))
            },
        );
    }
    for hook in ["before_request", "after_request", "teardown_request"] {
        let s = setup.clone();
        engine.register_fn(hook, move |ctx: NativeCallContext<'_>, f: FnPtr| {
            add_hook(&s, &ctx, hook, &f)
        });
    }
    let s = setup.clone();
    engine.register_fn(
        "errorhandler",
        move |ctx: NativeCallContext<'_>, code: i64, f: FnPtr| -> Result<(), Box<EvalAltResult>> {
            let mut st = setup::lock(&s);
            st.check_not_finished("errorhandler").map_err(setup_err)?;
            let code = u16::try_from(code).ok().filter(|c| HttpError::is_known(*c)).ok_or_else(|| {
                setup_err(format!(
                    "'{code}' is not a recognized HTTP error code. Use one of the codes Werkzeug knows (400-431, 451, 500-505)."
                ))
            })?;
            let place = call_place(&ctx, &st.file);
            let h = st.handler(&f, Some(1), place.as_ref()).map_err(setup_err)?;
            if h.params.len() != 1 {
                return Err(setup_err(format!(
                    "error handler {} must take 1 parameter (the error), not {}",
                    h.label,
                    h.params.len()
                )));
            }
            st.error_handlers.insert(code, h);
            Ok(())
        },
    );
    let s = setup.clone();
    engine.register_fn(
        "cli_command",
        move |ctx: NativeCallContext<'_>, name: &str, f: FnPtr| -> Result<(), Box<EvalAltResult>> {
            let mut st = setup::lock(&s);
            st.check_not_finished("cli_command").map_err(setup_err)?;
            let place = call_place(&ctx, &st.file);
            let h = st.handler(&f, None, place.as_ref()).map_err(setup_err)?;
            if h.params.len() > 1 {
                return Err(setup_err(format!(
                    "command handler {} must take no parameter or one (the array of arguments)",
                    h.label
                )));
            }
            if matches!(name, "run" | "routes") {
                return Err(setup_err(format!(
                    "'{name}' is a built-in command; choose another name"
                )));
            }
            st.cli_commands.insert(name.to_owned(), h);
            Ok(())
        },
    );
    let s = setup.clone();
    engine.register_fn("proxy_fix", move |opts: Map| -> Result<(), Box<EvalAltResult>> {
        let mut st = setup::lock(&s);
        st.check_not_finished("proxy_fix").map_err(setup_err)?;
        let mut fix = crate::middleware::ProxyFix::default();
        for (k, v) in &opts {
            let n = v
                .as_int()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| setup_err(format!("proxy_fix(): '{k}' must be the number of proxies (0 or more)")))?;
            match k.as_str() {
                "x_for" => fix.x_for = n,
                "x_proto" => fix.x_proto = n,
                "x_host" => fix.x_host = n,
                "x_port" => fix.x_port = n,
                "x_prefix" => fix.x_prefix = n,
                other => {
                    return Err(setup_err(format!(
                        "proxy_fix() got an unexpected option '{other}'; expected x_for, x_proto, x_host, x_port or x_prefix"
                    )))
                }
            }
        }
        st.proxy_fix = Some(fix);
        Ok(())
    });
    let s = setup.clone();
    engine.register_fn("run", move |opts: Map| -> Result<(), Box<EvalAltResult>> {
        let mut st = setup::lock(&s);
        for (k, v) in opts {
            match k.as_str() {
                "host" | "port" | "debug" | "threads" | "load_dotenv" | "use_reloader" => {
                    st.run_options.insert(k, v);
                }
                other => {
                    return Err(setup_err(format!(
                        "run() got an unexpected option '{other}'; expected host, port, debug or threads"
                    )))
                }
            }
        }
        Ok(())
    });

    // Request-time helpers.
    let (s, c) = (setup.clone(), config.clone());
    engine.register_fn("url_for", move |endpoint: &str| {
        url_for(&s, &c, endpoint, &Map::new())
    });
    let (s, c) = (setup.clone(), config.clone());
    engine.register_fn("url_for", move |endpoint: &str, values: Map| {
        url_for(&s, &c, endpoint, &values)
    });
    engine.register_fn("redirect", |location: &str| {
        ResponseObj::new(Response::redirect(location, 302))
    });
    engine.register_fn(
        "redirect",
        |location: &str, code: i64| -> Result<ResponseObj, Box<EvalAltResult>> {
            let code = u16::try_from(code)
                .ok()
                .filter(|c| (300..400).contains(c))
                .ok_or_else(|| {
                    runtime_err(format!(
                        "redirect(): {code} is not a redirect status code (300-399)"
                    ))
                })?;
            Ok(ResponseObj::new(Response::redirect(location, code)))
        },
    );
    engine.register_fn("abort", |code: i64| -> RhaiResult {
        Err(abort(code, None))
    });
    engine.register_fn("abort", |code: i64, description: &str| -> RhaiResult {
        Err(abort(code, Some(description.to_owned())))
    });
    engine.register_fn("abort", |resp: ResponseObj| -> RhaiResult {
        Err(
            EvalAltResult::ErrorRuntime(Dynamic::from(ResponseAbort(resp)), rhai::Position::NONE)
                .into(),
        )
    });
    engine.register_fn("make_response", |body: Dynamic| {
        crate::wrappers::make_response_obj(body, None, None)
    });
    engine.register_fn("make_response", |body: Dynamic, status: Dynamic| {
        crate::wrappers::make_response_obj(body, Some(status), None)
    });
    engine.register_fn(
        "make_response",
        |body: Dynamic, status: Dynamic, headers: Map| {
            crate::wrappers::make_response_obj(body, Some(status), Some(headers))
        },
    );
    engine.register_fn("jsonify", |v: Dynamic| jsonify(&v));
    engine.register_type_with_name::<HttpAbort>("HttpAbort");

    // g: a map for one request.
    engine.register_type_with_name::<GObj>("AppCtxGlobals");
    pure!(engine, "index$get$", |g: &mut GObj,
                                 k: &str|
     -> RhaiResult {
        Ok(lock_map(&g.map()?).get(k).cloned().unwrap_or(Dynamic::UNIT))
    });
    pure!(
        engine,
        "index$set$",
        |g: &mut GObj, k: &str, v: Dynamic| -> Result<(), Box<EvalAltResult>> {
            lock_map(&g.map()?).insert(k.into(), v);
            Ok(())
        }
    );
    pure!(engine, "get", |g: &mut GObj, k: &str| -> RhaiResult {
        Ok(lock_map(&g.map()?).get(k).cloned().unwrap_or(Dynamic::UNIT))
    });
    pure!(engine, "get", |g: &mut GObj,
                          k: &str,
                          d: Dynamic|
     -> RhaiResult {
        Ok(lock_map(&g.map()?).get(k).cloned().unwrap_or(d))
    });
    pure!(engine, "pop", |g: &mut GObj, k: &str| -> RhaiResult {
        Ok(lock_map(&g.map()?).remove(k).unwrap_or(Dynamic::UNIT))
    });
    pure!(engine, "pop", |g: &mut GObj,
                          k: &str,
                          d: Dynamic|
     -> RhaiResult {
        Ok(lock_map(&g.map()?).remove(k).unwrap_or(d))
    });
    pure!(
        engine,
        "contains",
        |g: &mut GObj, k: &str| -> Result<bool, Box<EvalAltResult>> {
            Ok(lock_map(&g.map()?).contains_key(k))
        }
    );
    pure!(
        engine,
        "keys",
        |g: &mut GObj| -> Result<Array, Box<EvalAltResult>> {
            Ok(lock_map(&g.map()?)
                .keys()
                .map(|k| Dynamic::from(k.clone()))
                .collect())
        }
    );
    pure!(engine, "to_string", |g: &mut GObj| -> Result<
        String,
        Box<EvalAltResult>,
    > {
        Ok(format!(
            "<flask.g of {:?}>",
            lock_map(&g.map()?).keys().collect::<Vec<_>>()
        ))
    });

    // config: the app's settings.
    engine.register_type_with_name::<Config>("Config");
    pure!(engine, "index$get$", |c: &mut Config, k: &str| c.get(k));
    pure!(
        engine,
        "index$set$",
        |c: &mut Config, k: &str, v: Dynamic| c.set(k, v)
    );
    pure!(engine, "get", |c: &mut Config, k: &str| c.get(k));
    pure!(engine, "get", |c: &mut Config, k: &str, d: Dynamic| {
        if c.contains(k) {
            c.get(k)
        } else {
            d
        }
    });
    pure!(engine, "contains", |c: &mut Config, k: &str| c.contains(k));
    pure!(engine, "keys", |c: &mut Config| {
        c.keys().into_iter().map(Dynamic::from).collect::<Array>()
    });
    pure!(engine, "update", |c: &mut Config, m: Map| {
        for (k, v) in m {
            c.set(&k, v);
        }
    });

    // logger.
    engine.register_type_with_name::<LoggerObj>("Logger");
    for (name, level) in [
        ("info", Level::Info),
        ("warning", Level::Warn),
        ("warn", Level::Warn),
        ("error", Level::Error),
        ("exception", Level::Error),
        ("critical", Level::Error),
    ] {
        pure!(engine, name, move |l: &mut LoggerObj, msg: Dynamic| l
            .0
            .log(level, &msg.to_string()));
    }
    pure!(engine, "log", |l: &mut LoggerObj,
                          level: Dynamic,
                          msg: Dynamic|
     -> Result<(), Box<EvalAltResult>> {
        let lv = parse_level(&level).ok_or_else(|| {
            runtime_err(format!(
                "logger.log(): unknown level {level}; use \"DEBUG\", \"INFO\", \"WARNING\", \"ERROR\" or \"CRITICAL\" (or 10-50)"
            ))
        })?;
        l.0.log(lv, &msg.to_string());
        Ok(())
    });
}

/// A Python logging level by name or number.
pub(crate) fn parse_level(v: &Dynamic) -> Option<Level> {
    if let Ok(n) = v.as_int() {
        return Some(match n {
            i64::MIN..=10 => Level::Debug,
            11..=20 => Level::Info,
            21..=30 => Level::Warn,
            _ => Level::Error,
        });
    }
    match v.to_string().to_ascii_uppercase().as_str() {
        "DEBUG" => Some(Level::Debug),
        "INFO" => Some(Level::Info),
        "WARNING" | "WARN" => Some(Level::Warn),
        "ERROR" | "CRITICAL" | "FATAL" => Some(Level::Error),
        _ => None,
    }
}
