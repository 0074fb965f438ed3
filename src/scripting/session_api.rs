//! `session`, `flash` and `get_flashed_messages` as scripts see them: a
//! proxy to the current request's session, opened lazily from the cookie on
//! first use and saved by `process_response`.

use std::time::{SystemTime, UNIX_EPOCH};

use rhai::{Array, Blob, Dynamic, Engine, EvalAltResult, ImmutableString, Map};

use super::objects::current;
use super::{pure, runtime_err};
use crate::ctx::RequestContext;
use crate::json_tag::Tagged;
use crate::markup::Markup;
use crate::sessions::{self, Session, NO_SECRET_KEY_MESSAGE};

/// `session`: finds the current request's session when used.
#[derive(Debug, Clone)]
pub(crate) struct SessionObj;

/// Seconds since the epoch, as the session cookie's timestamp.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `f` on the current request's session, opening it from the cookie
/// the first time (a null session when there is no secret key).
pub(crate) fn with_session<R>(ctx: &RequestContext, f: impl FnOnce(&mut Session) -> R) -> R {
    let mut slot = ctx.session.lock().unwrap_or_else(|e| e.into_inner());
    let session = slot.get_or_insert_with(|| {
        let cfg = &ctx.app.session_config;
        let cookies = ctx.cookies();
        let cookie = cookies.get(&cfg.cookie_name).map(String::as_str);
        sessions::open_session_with(cfg, ctx.app.session_serializer.as_ref(), cookie, now())
            .unwrap_or_else(|_| Session::null())
    });
    f(session)
}

fn no_key() -> Box<EvalAltResult> {
    runtime_err(format!("RuntimeError: {NO_SECRET_KEY_MESSAGE}"))
}

/// A script value as a session value (Flask's tagged JSON types).
pub(crate) fn to_tagged(v: &Dynamic) -> Result<Tagged, Box<EvalAltResult>> {
    if v.is_unit() {
        return Ok(Tagged::Null);
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Tagged::Bool(b));
    }
    if let Ok(i) = v.as_int() {
        return Ok(Tagged::Int(i));
    }
    if let Ok(f) = v.as_float() {
        return Ok(Tagged::Float(f));
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Ok(Tagged::Str(s.to_string()));
    }
    if let Ok(c) = v.as_char() {
        return Ok(Tagged::Str(c.to_string()));
    }
    if let Some(m) = v.read_lock::<Markup>() {
        return Ok(Tagged::Markup(m.0.clone()));
    }
    if let Some(b) = v.read_lock::<Blob>() {
        return Ok(Tagged::Bytes(b.to_vec()));
    }
    if let Some(a) = v.read_lock::<Array>() {
        return a
            .iter()
            .map(to_tagged)
            .collect::<Result<_, _>>()
            .map(Tagged::List);
    }
    if let Some(m) = v.read_lock::<Map>() {
        let mut out = std::collections::BTreeMap::new();
        for (k, val) in m.iter() {
            out.insert(k.to_string(), to_tagged(val)?);
        }
        return Ok(Tagged::Dict(out));
    }
    Err(runtime_err(format!(
        "TypeError: Object of type {} is not JSON serializable, so it cannot be stored in the session",
        v.type_name().rsplit("::").next().unwrap_or("?")
    )))
}

/// A session value as a script value: tuples are arrays, UUIDs and dates
/// their text.
pub(crate) fn from_tagged(t: &Tagged) -> Dynamic {
    match t {
        Tagged::Null => Dynamic::UNIT,
        Tagged::Bool(b) => (*b).into(),
        Tagged::Int(i) => (*i).into(),
        Tagged::Float(f) => (*f).into(),
        Tagged::Str(s) | Tagged::Uuid(s) | Tagged::DateTime(s) => s.clone().into(),
        Tagged::List(items) | Tagged::Tuple(items) => {
            Dynamic::from_array(items.iter().map(from_tagged).collect())
        }
        Tagged::Dict(m) => {
            let mut map = Map::new();
            for (k, v) in m {
                map.insert(k.as_str().into(), from_tagged(v));
            }
            Dynamic::from_map(map)
        }
        Tagged::Bytes(b) => Dynamic::from_blob(b.clone()),
        Tagged::Markup(s) => Dynamic::from(Markup(s.clone())),
    }
}

type RhaiResult = Result<Dynamic, Box<EvalAltResult>>;

fn read(f: impl FnOnce(&mut Session) -> Dynamic) -> RhaiResult {
    let ctx = current()?;
    Ok(with_session(&ctx, f))
}

fn write<R>(
    f: impl FnOnce(&mut Session) -> Result<R, sessions::NoSecretKey>,
) -> Result<R, Box<EvalAltResult>> {
    let ctx = current()?;
    with_session(&ctx, f).map_err(|_| no_key())
}

/// `flash(message, category)`.
fn flash(message: &Dynamic, category: &str) -> Result<(), Box<EvalAltResult>> {
    let msg = to_tagged(message)?;
    write(|s| sessions::flash(s, msg, category))
}

/// `get_flashed_messages(#{ with_categories, category_filter })`.
pub(crate) fn flashed_messages(
    ctx: &RequestContext,
    with_categories: bool,
    filter: &[String],
) -> Vec<Tagged> {
    let mut cache = ctx.flashes.lock().unwrap_or_else(|e| e.into_inner());
    with_session(ctx, |s| {
        sessions::get_flashed_messages(s, &mut cache, with_categories, filter)
    })
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<SessionObj>("Session");
    pure!(engine, "index$get$", |_: &mut SessionObj, k: &str| {
        read(|s| s.get(k).map_or(Dynamic::UNIT, from_tagged))
    });
    pure!(
        engine,
        "index$set$",
        |_: &mut SessionObj, k: &str, v: Dynamic| -> Result<(), Box<EvalAltResult>> {
            let t = to_tagged(&v)?;
            write(|s| s.set(k, t))
        }
    );
    pure!(engine, "get", |_: &mut SessionObj, k: &str| {
        read(|s| s.get(k).map_or(Dynamic::UNIT, from_tagged))
    });
    pure!(engine, "get", |_: &mut SessionObj, k: &str, d: Dynamic| {
        read(|s| s.get(k).map_or(d, from_tagged))
    });
    pure!(
        engine,
        "contains",
        |_: &mut SessionObj, k: &str| -> Result<bool, Box<EvalAltResult>> {
            let ctx = current()?;
            Ok(with_session(&ctx, |s| s.contains(k)))
        }
    );
    pure!(engine, "pop", |_: &mut SessionObj, k: &str| -> RhaiResult {
        write(|s| s.remove(k)).map(|v| v.as_ref().map_or(Dynamic::UNIT, from_tagged))
    });
    pure!(engine, "pop", |_: &mut SessionObj,
                          k: &str,
                          d: Dynamic|
     -> RhaiResult {
        write(|s| s.remove(k)).map(|v| v.as_ref().map_or(d, from_tagged))
    });
    pure!(
        engine,
        "clear",
        |_: &mut SessionObj| -> Result<(), Box<EvalAltResult>> { write(Session::clear) }
    );
    pure!(engine, "keys", |_: &mut SessionObj| {
        read(|s| Dynamic::from_array(s.keys().into_iter().map(Dynamic::from).collect()))
    });
    pure!(
        engine,
        "len",
        |_: &mut SessionObj| -> Result<i64, Box<EvalAltResult>> {
            let ctx = current()?;
            Ok(with_session(&ctx, |s| s.len() as i64))
        }
    );
    pure!(engine, "to_map", |_: &mut SessionObj| {
        read(|s| from_tagged(&s.to_tagged()))
    });
    pure!(engine, "get$permanent", |_: &mut SessionObj| -> Result<
        bool,
        Box<EvalAltResult>,
    > {
        let ctx = current()?;
        Ok(with_session(&ctx, |s| s.permanent()))
    });
    pure!(engine, "set$permanent", |_: &mut SessionObj,
                                    v: bool|
     -> Result<
        (),
        Box<EvalAltResult>,
    > {
        write(|s| s.set_permanent(v))
    });
    pure!(engine, "to_string", |_: &mut SessionObj| -> Result<
        String,
        Box<EvalAltResult>,
    > {
        let ctx = current()?;
        Ok(with_session(&ctx, |s| {
            format!(
                "<SecureCookieSession {}>",
                crate::json_tag::dumps(&s.to_tagged())
            )
        }))
    });

    engine.register_fn("flash", |m: Dynamic| flash(&m, "message"));
    engine.register_fn("flash", |m: Dynamic, category: &str| flash(&m, category));
    engine.register_fn("get_flashed_messages", || -> RhaiResult {
        let ctx = current()?;
        Ok(Dynamic::from_array(
            flashed_messages(&ctx, false, &[])
                .iter()
                .map(from_tagged)
                .collect(),
        ))
    });
    engine.register_fn("get_flashed_messages", |opts: Map| -> RhaiResult {
        let ctx = current()?;
        let with = opts
            .get("with_categories")
            .is_some_and(crate::config::truthy);
        let filter: Vec<String> = opts
            .get("category_filter")
            .and_then(|v| {
                v.read_lock::<Array>()
                    .map(|a| a.iter().map(ToString::to_string).collect())
            })
            .unwrap_or_default();
        Ok(Dynamic::from_array(
            flashed_messages(&ctx, with, &filter)
                .iter()
                .map(from_tagged)
                .collect(),
        ))
    });
}
