//! `request` and its multi-dicts and headers, as scripts see them.

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::convert::{blob, from_json};
use super::objects::{current, HeadersObj, MultiDictObj, RequestObj};
use super::{abort_err, pure};
use crate::http::HttpError;

type RhaiResult = Result<Dynamic, Box<EvalAltResult>>;

/// Werkzeug's `BadRequestKeyError`: a missing key in `form`, `args` or
/// `headers` ends the request with 400 and Werkzeug's body.
fn missing_key(_key: &str) -> Box<EvalAltResult> {
    abort_err(HttpError::new(400))
}

fn opt_str(v: Option<&str>) -> Dynamic {
    v.map_or(Dynamic::UNIT, |s| s.to_owned().into())
}

/// `get_json` as Flask does it: 415 unless JSON (or `force`), 400 when the
/// body does not parse; `silent` turns both into `()`.
fn get_json(force: bool, silent: bool) -> RhaiResult {
    let c = current()?;
    let req = &c.request;
    if !force && !req.is_json() {
        return if silent {
            Ok(Dynamic::UNIT)
        } else {
            Err(abort_err(HttpError::with_description(
                415,
                "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
            )))
        };
    }
    let data = c.data().map_err(abort_err)?;
    match serde_json::from_slice::<serde_json::Value>(&data) {
        Ok(v) => Ok(from_json(&v)),
        Err(_) if silent => Ok(Dynamic::UNIT),
        Err(_) => Err(abort_err(HttpError::new(400))),
    }
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<RequestObj>("Request");
    engine.register_type_with_name::<MultiDictObj>("MultiDict");
    engine.register_type_with_name::<HeadersObj>("Headers");

    pure!(engine, "get$method", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.method.clone()))
    });
    pure!(engine, "get$path", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.path.clone()))
    });
    pure!(
        engine,
        "get$full_path",
        |_: &mut RequestObj| -> RhaiResult {
            let c = current()?;
            Ok(Dynamic::from(c.request.full_path()))
        }
    );
    pure!(
        engine,
        "get$script_root",
        |_: &mut RequestObj| -> RhaiResult {
            let c = current()?;
            Ok(Dynamic::from(c.request.script_root.clone()))
        }
    );
    pure!(engine, "get$url", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.url()))
    });
    pure!(engine, "get$base_url", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.base_url()))
    });
    pure!(engine, "get$url_root", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.url_root()))
    });
    pure!(engine, "get$host_url", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.url_root()))
    });
    pure!(engine, "get$host", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.host().to_owned()))
    });
    pure!(engine, "get$scheme", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.scheme.clone()))
    });
    pure!(
        engine,
        "get$query_string",
        |_: &mut RequestObj| -> RhaiResult {
            let c = current()?;
            Ok(Dynamic::from(c.request.query_string.clone()))
        }
    );
    pure!(
        engine,
        "get$remote_addr",
        |_: &mut RequestObj| -> RhaiResult {
            let c = current()?;
            Ok(Dynamic::from(c.request.remote_addr.clone()))
        }
    );
    pure!(engine, "get$endpoint", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from({
            let e = c.endpoint.lock().unwrap_or_else(|e| e.into_inner());
            opt_str(e.as_deref())
        }))
    });
    pure!(
        engine,
        "get$view_args",
        |_: &mut RequestObj| -> RhaiResult {
            let c = current()?;
            let args = c
                .view_args
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            Ok(Dynamic::from(args))
        }
    );
    pure!(engine, "get$headers", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(HeadersObj(c.clone())))
    });
    pure!(engine, "get$cookies", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(MultiDictObj(c.cookies())))
    });
    pure!(engine, "get$args", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(MultiDictObj(c.args())))
    });
    pure!(engine, "get$form", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(MultiDictObj(c.form().map_err(abort_err)?)))
    });
    pure!(engine, "get$values", |_: &mut RequestObj| -> RhaiResult {
        // Werkzeug's CombinedMultiDict of args then form (GET has no form).
        let c = current()?;
        let mut all = (*c.args()).clone();
        if c.request.method != "GET" {
            for (k, v) in c.form().map_err(abort_err)?.iter() {
                all.append(k, v.clone());
            }
        }
        Ok(Dynamic::from(MultiDictObj(std::sync::Arc::new(all))))
    });
    pure!(engine, "get$data", |_: &mut RequestObj| -> RhaiResult {
        Ok(blob(&current()?.data().map_err(abort_err)?))
    });
    pure!(engine, "get_data", |_: &mut RequestObj| -> RhaiResult {
        let d = current()?.data().map_err(abort_err)?;
        Ok(String::from_utf8_lossy(&d).into_owned().into())
    });
    pure!(engine, "get$is_json", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.is_json()))
    });
    pure!(engine, "get$mimetype", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from(c.request.mimetype()))
    });
    pure!(
        engine,
        "get$content_type",
        |_: &mut RequestObj| -> RhaiResult {
            let c = current()?;
            Ok(Dynamic::from({
                opt_str(c.request.headers.get("Content-Type"))
            }))
        }
    );
    pure!(
        engine,
        "get$content_length",
        |_: &mut RequestObj| -> RhaiResult {
            let c = current()?;
            Ok(Dynamic::from({
                c.request
                    .content_length()
                    .and_then(|n| i64::try_from(n).ok())
                    .map_or(Dynamic::UNIT, Dynamic::from)
            }))
        }
    );
    pure!(
        engine,
        "get$user_agent",
        |_: &mut RequestObj| -> RhaiResult {
            let c = current()?;
            Ok(Dynamic::from({
                c.request.headers.get("User-Agent").unwrap_or("").to_owned()
            }))
        }
    );
    pure!(engine, "get$json", |_: &mut RequestObj| get_json(
        false, false
    ));
    pure!(engine, "get_json", |_: &mut RequestObj| get_json(
        false, false
    ));
    pure!(engine, "get_json", |_: &mut RequestObj, opts: Map| {
        let flag = |k: &str| opts.get(k).is_some_and(crate::config::truthy);
        get_json(flag("force"), flag("silent"))
    });
    pure!(engine, "to_string", |_: &mut RequestObj| -> RhaiResult {
        let c = current()?;
        Ok(Dynamic::from({
            format!("<Request '{}' [{}]>", c.request.url(), c.request.method)
        }))
    });

    // Multi-dicts: args, form, cookies.
    pure!(engine, "index$get$", |d: &mut MultiDictObj,
                                 k: &str|
     -> RhaiResult {
        d.0.get(k)
            .map(|v| Dynamic::from(v.clone()))
            .ok_or_else(|| missing_key(k))
    });
    pure!(engine, "get", |d: &mut MultiDictObj, k: &str| opt_str(
        d.0.get(k).map(String::as_str)
    ));
    pure!(engine, "get", |d: &mut MultiDictObj,
                          k: &str,
                          default: Dynamic| {
        d.0.get(k).map_or(default, |v| v.clone().into())
    });
    pure!(engine, "getlist", |d: &mut MultiDictObj, k: &str| {
        d.0.get_all(k)
            .map(|v| Dynamic::from(v.clone()))
            .collect::<Array>()
    });
    pure!(engine, "contains", |d: &mut MultiDictObj, k: &str| d
        .0
        .contains_key(k));
    pure!(engine, "keys", |d: &mut MultiDictObj| {
        d.0.keys()
            .into_iter()
            .map(|k| Dynamic::from(k.to_owned()))
            .collect::<Array>()
    });
    pure!(engine, "values", |d: &mut MultiDictObj| {
        d.0.keys()
            .into_iter()
            .filter_map(|k| d.0.get(k).map(|v| Dynamic::from(v.clone())))
            .collect::<Array>()
    });
    pure!(engine, "items", |d: &mut MultiDictObj| {
        d.0.keys()
            .into_iter()
            .filter_map(|k| {
                d.0.get(k)
                    .map(|v| Dynamic::from_array(vec![k.to_owned().into(), v.clone().into()]))
            })
            .collect::<Array>()
    });
    pure!(engine, "to_map", |d: &mut MultiDictObj| {
        let mut m = Map::new();
        for k in d.0.keys() {
            if let Some(v) = d.0.get(k) {
                m.insert(k.into(), v.clone().into());
            }
        }
        m
    });
    pure!(engine, "len", |d: &mut MultiDictObj| d.0.keys().len()
        as i64);
    pure!(engine, "is_empty", |d: &mut MultiDictObj| d.0.is_empty());
    pure!(engine, "to_string", |d: &mut MultiDictObj| {
        let items: Vec<String> = d.0.iter().map(|(k, v)| format!("('{k}', '{v}')")).collect();
        format!("MultiDict([{}])", items.join(", "))
    });

    // Headers: case-insensitive.
    pure!(engine, "index$get$", |h: &mut HeadersObj,
                                 k: &str|
     -> RhaiResult {
        h.0.request
            .headers
            .get(k)
            .map(|v| Dynamic::from(v.to_owned()))
            .ok_or_else(|| missing_key(k))
    });
    pure!(engine, "get", |h: &mut HeadersObj, k: &str| opt_str(
        h.0.request.headers.get(k)
    ));
    pure!(engine, "get", |h: &mut HeadersObj,
                          k: &str,
                          default: Dynamic| {
        h.0.request
            .headers
            .get(k)
            .map_or(default, |v| v.to_owned().into())
    });
    pure!(engine, "getlist", |h: &mut HeadersObj, k: &str| {
        h.0.request
            .headers
            .get_all(k)
            .map(|v| Dynamic::from(v.to_owned()))
            .collect::<Array>()
    });
    pure!(engine, "contains", |h: &mut HeadersObj, k: &str| h
        .0
        .request
        .headers
        .contains(k));
    pure!(engine, "keys", |h: &mut HeadersObj| {
        h.0.request
            .headers
            .iter()
            .map(|(k, _)| Dynamic::from(k.to_owned()))
            .collect::<Array>()
    });
    pure!(engine, "to_map", |h: &mut HeadersObj| {
        let mut m = Map::new();
        for (k, v) in h.0.request.headers.iter() {
            m.entry(k.into()).or_insert_with(|| v.to_owned().into());
        }
        m
    });
    pure!(
        engine,
        "len",
        |h: &mut HeadersObj| h.0.request.headers.len() as i64
    );
}
