//! `render_template` and `render_template_string`, and what templates see:
//! `request`, `session`, `g`, `config` (attribute access as in Jinja2),
//! `url_for` and `get_flashed_messages`.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr};
use minijinja::{Error as TplError, ErrorKind, State, Value};
use rhai::{Array, Blob, Dynamic, Engine, EvalAltResult, ImmutableString, Map};

use super::objects::current;
use super::runtime_err;
use super::session_api::{flashed_messages, with_session};
use crate::config::Config;
use crate::ctx::RequestContext;
use crate::http::MultiDict;
use crate::json_tag::Tagged;
use crate::markup::Markup;
use crate::templating::Templates;

/// A script value as a template value; Markup stays safe.
pub(crate) fn to_value(v: &Dynamic) -> Value {
    if v.is_unit() {
        return Value::from(());
    }
    if let Ok(b) = v.as_bool() {
        return Value::from(b);
    }
    if let Ok(i) = v.as_int() {
        return Value::from(i);
    }
    if let Ok(f) = v.as_float() {
        return Value::from(f);
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Value::from(s.as_str());
    }
    if let Some(m) = v.read_lock::<Markup>() {
        return Value::from_safe_string(m.0.clone());
    }
    if let Some(a) = v.read_lock::<Array>() {
        return Value::from(a.iter().map(to_value).collect::<Vec<_>>());
    }
    if let Some(m) = v.read_lock::<Map>() {
        return Value::from(
            m.iter()
                .map(|(k, v)| (k.to_string(), to_value(v)))
                .collect::<BTreeMap<String, Value>>(),
        );
    }
    if let Some(b) = v.read_lock::<Blob>() {
        return Value::from_bytes(b.to_vec());
    }
    Value::from(v.to_string())
}

/// A session value as a template value.
fn tagged_to_value(t: &Tagged) -> Value {
    match t {
        Tagged::Null => Value::from(()),
        Tagged::Bool(b) => Value::from(*b),
        Tagged::Int(i) => Value::from(*i),
        Tagged::Float(f) => Value::from(*f),
        Tagged::Str(s) | Tagged::Uuid(s) | Tagged::DateTime(s) => Value::from(s.as_str()),
        Tagged::List(items) | Tagged::Tuple(items) => {
            Value::from(items.iter().map(tagged_to_value).collect::<Vec<_>>())
        }
        Tagged::Dict(m) => Value::from(
            m.iter()
                .map(|(k, v)| (k.clone(), tagged_to_value(v)))
                .collect::<BTreeMap<String, Value>>(),
        ),
        Tagged::Bytes(b) => Value::from_bytes(b.clone()),
        Tagged::Markup(s) => Value::from_safe_string(s.clone()),
    }
}

/// Jinja2's `mapping.get(key, default=None)` for the views below: only
/// `get` is a method; `found` looks the key up.
fn get_method(
    method: &str,
    args: &[Value],
    found: impl FnOnce(&str) -> Option<Value>,
) -> Result<Value, TplError> {
    if method != "get" {
        return Err(TplError::from(ErrorKind::UnknownMethod));
    }
    let key = args.first().and_then(Value::as_str).unwrap_or("");
    Ok(found(key).unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::from(()))))
}

fn opt(v: Option<&str>) -> Value {
    v.map_or(Value::from(()), Value::from)
}

/// `request.args` & co. in templates: `args.q`, `args.get("q", "")`, `args.getlist("t")`.
#[derive(Debug)]
struct MultiDictView(Arc<MultiDict>);

impl Object for MultiDictView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str().and_then(|k| self.0.get(k)).map(Value::from)
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.keys().into_iter().map(Value::from).collect())
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, TplError> {
        if method == "getlist" {
            let key = args.first().and_then(Value::as_str).unwrap_or("");
            return Ok(Value::from(
                self.0.get_all(key).map(Value::from).collect::<Vec<_>>(),
            ));
        }
        get_method(method, args, |k| self.0.get(k).map(Value::from))
    }
}

/// `request.headers` in templates (case-insensitive).
#[derive(Debug)]
struct HeadersView(Arc<RequestContext>);

impl Object for HeadersView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        self.0
            .request
            .headers
            .get(k)
            .or_else(|| self.0.request.headers.get(&k.replace('_', "-")))
            .map(Value::from)
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, TplError> {
        get_method(method, args, |k| {
            self.0.request.headers.get(k).map(Value::from)
        })
    }
}

/// `request` in templates.
#[derive(Debug)]
struct RequestView(Arc<RequestContext>);

impl Object for RequestView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let c = &self.0;
        let r = &c.request;
        Some(match key.as_str()? {
            "method" => Value::from(r.method.as_str()),
            "path" => Value::from(r.path.as_str()),
            "full_path" => Value::from(r.full_path()),
            "script_root" => Value::from(r.script_root.as_str()),
            "url" => Value::from(r.url()),
            "base_url" => Value::from(r.base_url()),
            "url_root" => Value::from(r.url_root()),
            "host" => Value::from(r.host()),
            "scheme" => Value::from(r.scheme.as_str()),
            "remote_addr" => Value::from(r.remote_addr.as_str()),
            "user_agent" => Value::from(r.headers.get("User-Agent").unwrap_or("")),
            "content_type" => opt(r.headers.get("Content-Type")),
            "is_json" => Value::from(r.is_json()),
            "endpoint" => opt(c.endpoint.lock().ok()?.as_deref()),
            "view_args" => to_value(&Dynamic::from_map(c.view_args.lock().ok()?.clone())),
            "args" => Value::from_object(MultiDictView(c.args())),
            "form" => Value::from_object(MultiDictView(c.form().ok()?)),
            "cookies" => Value::from_object(MultiDictView(c.cookies())),
            "headers" => Value::from_object(HeadersView(c.clone())),
            _ => return None,
        })
    }
}

/// `session` in templates: reading marks the session accessed, as in Flask.
#[derive(Debug)]
struct SessionView(Arc<RequestContext>);

impl Object for SessionView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        with_session(&self.0, |s| s.get(k).map(tagged_to_value))
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            with_session(&self.0, |s| s.keys())
                .into_iter()
                .map(Value::from)
                .collect(),
        )
    }
    fn is_true(self: &Arc<Self>) -> bool {
        with_session(&self.0, |s| !s.is_empty())
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, TplError> {
        get_method(method, args, |k| {
            with_session(&self.0, |s| s.get(k).map(tagged_to_value))
        })
    }
}

/// `config` in templates.
#[derive(Debug)]
struct ConfigView(Config);

impl Object for ConfigView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        self.0.contains(k).then(|| to_value(&self.0.get(k)))
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.keys().into_iter().map(Value::from).collect())
    }
}

/// The context of one render: Flask's globals, then the caller's values.
fn context(ctx: Option<&Arc<RequestContext>>, config: &Config, values: &Map) -> Value {
    let mut m = BTreeMap::new();
    m.insert(
        "config".to_owned(),
        Value::from_object(ConfigView(config.clone())),
    );
    if let Some(c) = ctx {
        m.insert(
            "request".to_owned(),
            Value::from_object(RequestView(c.clone())),
        );
        m.insert(
            "session".to_owned(),
            Value::from_object(SessionView(c.clone())),
        );
        let g = c.g.lock().unwrap_or_else(|e| e.into_inner()).clone();
        m.insert("g".to_owned(), to_value(&Dynamic::from_map(g)));
    }
    for (k, v) in values {
        m.insert(k.to_string(), to_value(v));
    }
    Value::from(m)
}

/// Installs `url_for` and `get_flashed_messages` as template globals.
pub(crate) fn install_globals(templates: &mut Templates) {
    templates.add_function(
        "url_for",
        |endpoint: String, kwargs: Kwargs| -> Result<String, TplError> {
            let mut values = Map::new();
            for key in kwargs.args() {
                let v: Value = kwargs.get(key)?;
                values.insert(key.into(), value_to_dynamic(&v));
            }
            let ctx = crate::ctx::current().ok_or_else(|| {
                TplError::new(
                    ErrorKind::InvalidOperation,
                    "url_for needs an active request",
                )
            })?;
            super::api::url_for_in(&ctx, &endpoint, &values)
                .map_err(|e| TplError::new(ErrorKind::InvalidOperation, e))
        },
    );
    templates.add_function(
        "get_flashed_messages",
        |kwargs: Kwargs| -> Result<Value, TplError> {
            let with: bool = kwargs
                .get::<Option<bool>>("with_categories")?
                .unwrap_or(false);
            let filter: Vec<String> = kwargs
                .get::<Option<Vec<String>>>("category_filter")?
                .unwrap_or_default();
            kwargs.assert_all_used()?;
            let ctx = crate::ctx::current().ok_or_else(|| {
                TplError::new(
                    ErrorKind::InvalidOperation,
                    "get_flashed_messages needs an active request",
                )
            })?;
            Ok(Value::from(
                flashed_messages(&ctx, with, &filter)
                    .iter()
                    .map(tagged_to_value)
                    .collect::<Vec<_>>(),
            ))
        },
    );
}

/// A template value passed to `url_for` back as a script value.
fn value_to_dynamic(v: &Value) -> Dynamic {
    if v.is_none() || v.is_undefined() {
        Dynamic::UNIT
    } else if let Some(b) = v.as_str() {
        b.to_owned().into()
    } else if let Ok(i) = i64::try_from(v.clone()) {
        i.into()
    } else if let Ok(f) = f64::try_from(v.clone()) {
        f.into()
    } else if v.is_true() && v.kind() == minijinja::value::ValueKind::Bool {
        true.into()
    } else if v.kind() == minijinja::value::ValueKind::Bool {
        false.into()
    } else {
        v.to_string().into()
    }
}

/// What to render: a file from `templates/`, or source text.
enum Template<'a> {
    Named(&'a str),
    Source(&'a str),
}

fn render(template: Template<'_>, values: &Map) -> Result<String, Box<EvalAltResult>> {
    let ctx = current()?;
    let app = &ctx.app;
    let tpl_ctx = context(Some(&ctx), &app.config, values);
    let result = match template {
        Template::Named(n) => app.templates.render(n, tpl_ctx),
        Template::Source(s) => app.templates.render_string(s, tpl_ctx),
    };
    result.map_err(|e| {
        runtime_err(format!(
            "TemplateError: {}",
            crate::templating::describe_error(&e)
        ))
    })
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("render_template", |name: &str| {
        render(Template::Named(name), &Map::new())
    });
    engine.register_fn("render_template", |name: &str, values: Map| {
        render(Template::Named(name), &values)
    });
    engine.register_fn("render_template_string", |src: &str| {
        render(Template::Source(src), &Map::new())
    });
    engine.register_fn("render_template_string", |src: &str, values: Map| {
        render(Template::Source(src), &values)
    });
}
