//! Response objects, `Markup` and the error object handlers receive.

use rhai::{Blob, Dynamic, Engine, EvalAltResult, ImmutableString, Map};

use super::objects::{ErrorObj, ResponseHeadersObj, ResponseObj};
use super::{pure, runtime_err};
use crate::http::cookies::CookieOptions;
use crate::markup::Markup;

/// `escape(value)`: a Markup stays as it is; anything else is stringified
/// and escaped, as MarkupSafe's `escape` does.
pub(crate) fn escape_value(v: &Dynamic) -> Markup {
    match v.read_lock::<Markup>() {
        Some(m) => m.clone(),
        None => Markup::escape(&v.to_string()),
    }
}

/// Flask's `Response.mimetype` setter: text types get `; charset=utf-8`.
pub(crate) fn content_type_for_mimetype(mimetype: &str) -> String {
    let mt = mimetype.trim();
    if mt.starts_with("text/")
        || matches!(
            mt,
            "application/xml" | "application/javascript" | "application/ecmascript"
        )
        || (mt.starts_with("application/") && mt.ends_with("+xml"))
    {
        format!("{mt}; charset=utf-8")
    } else {
        mt.to_owned()
    }
}

/// `set_cookie`'s keyword arguments from a script map.
fn cookie_options(opts: &Map) -> Result<CookieOptions, Box<EvalAltResult>> {
    let mut o = CookieOptions {
        path: Some("/".to_owned()),
        ..CookieOptions::default()
    };
    for (k, v) in opts {
        match k.as_str() {
            "max_age" => {
                o.max_age = if v.is_unit() {
                    None
                } else {
                    Some(v.as_int().map_err(|_| runtime_err("set_cookie: max_age must be an integer number of seconds"))?)
                }
            }
            "expires" => {
                o.expires = if v.is_unit() {
                    None
                } else if let Ok(ts) = v.as_int() {
                    let t = std::time::UNIX_EPOCH
                        + std::time::Duration::from_secs(u64::try_from(ts).unwrap_or(0));
                    Some(httpdate::fmt_http_date(t))
                } else {
                    Some(v.to_string())
                }
            }
            "path" => o.path = (!v.is_unit()).then(|| v.to_string()),
            "domain" => o.domain = (!v.is_unit()).then(|| v.to_string()),
            "secure" => o.secure = crate::config::truthy(v),
            "httponly" => o.httponly = crate::config::truthy(v),
            "samesite" => {
                o.samesite = if v.is_unit() {
                    None
                } else {
                    let s = v.to_string();
                    let norm = match s.to_ascii_lowercase().as_str() {
                        "strict" => "Strict",
                        "lax" => "Lax",
                        "none" => "None",
                        _ => {
                            return Err(runtime_err(
                                "SameSite must be 'Strict', 'Lax', or 'None'.",
                            ))
                        }
                    };
                    Some(norm.to_owned())
                }
            }
            other => {
                return Err(runtime_err(format!(
                    "set_cookie() got an unexpected keyword argument '{other}'; expected max_age, expires, path, domain, secure, httponly or samesite"
                )))
            }
        }
    }
    Ok(o)
}

fn body_from(v: &Dynamic) -> Vec<u8> {
    match v.read_lock::<Blob>() {
        Some(b) => b.to_vec(),
        None => v.to_string().into_bytes(),
    }
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<ResponseObj>("Response");
    engine.register_type_with_name::<ResponseHeadersObj>("ResponseHeaders");
    engine.register_type_with_name::<Markup>("Markup");
    engine.register_type_with_name::<ErrorObj>("HTTPException");

    pure!(engine, "get$status_code", |r: &mut ResponseObj| i64::from(
        r.lock().status
    ));
    pure!(engine, "set$status_code", |r: &mut ResponseObj,
                                      code: i64|
     -> Result<
        (),
        Box<EvalAltResult>,
    > {
        r.lock().status = u16::try_from(code)
            .ok()
            .filter(|c| (100..=999).contains(c))
            .ok_or_else(|| {
                runtime_err(format!(
                    "status_code {code} is not a valid HTTP status code"
                ))
            })?;
        Ok(())
    });
    pure!(engine, "get$status", |r: &mut ResponseObj| {
        let s = r.lock().status;
        format!("{s} {}", crate::http::status_reason(s).to_ascii_uppercase())
    });
    pure!(engine, "get$headers", |r: &mut ResponseObj| {
        ResponseHeadersObj(r.clone())
    });
    pure!(engine, "get$mimetype", |r: &mut ResponseObj| {
        r.lock()
            .mimetype()
            .map_or(Dynamic::UNIT, |m| m.to_owned().into())
    });
    pure!(engine, "set$mimetype", |r: &mut ResponseObj, m: &str| {
        r.lock()
            .headers
            .set("Content-Type", content_type_for_mimetype(m));
    });
    pure!(engine, "get$content_type", |r: &mut ResponseObj| {
        r.lock()
            .headers
            .get("Content-Type")
            .map_or(Dynamic::UNIT, |m| m.to_owned().into())
    });
    pure!(
        engine,
        "set$content_type",
        |r: &mut ResponseObj, m: &str| {
            r.lock().headers.set("Content-Type", m);
        }
    );
    pure!(engine, "get$data", |r: &mut ResponseObj| -> Result<
        Dynamic,
        Box<EvalAltResult>,
    > {
        let mut resp = r.lock();
        let bytes = resp.buffer().map_err(|e| runtime_err(e.to_string()))?;
        Ok(Dynamic::from_blob(bytes.to_vec()))
    });
    pure!(engine, "set$data", |r: &mut ResponseObj, v: Dynamic| {
        r.lock().set_data(body_from(&v));
    });
    pure!(engine, "get_data", |r: &mut ResponseObj| -> Result<
        String,
        Box<EvalAltResult>,
    > {
        let mut resp = r.lock();
        let bytes = resp.buffer().map_err(|e| runtime_err(e.to_string()))?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    });
    pure!(
        engine,
        "set_cookie",
        |r: &mut ResponseObj, name: &str, value: &str| {
            r.lock().set_cookie(
                name,
                value,
                &cookie_options(&Map::new()).unwrap_or_default(),
            );
        }
    );
    pure!(
        engine,
        "set_cookie",
        |r: &mut ResponseObj,
         name: &str,
         value: &str,
         opts: Map|
         -> Result<(), Box<EvalAltResult>> {
            let o = cookie_options(&opts)?;
            r.lock().set_cookie(name, value, &o);
            Ok(())
        }
    );
    pure!(
        engine,
        "delete_cookie",
        |r: &mut ResponseObj, name: &str| {
            r.lock().delete_cookie(name, None, None);
        }
    );
    pure!(
        engine,
        "delete_cookie",
        |r: &mut ResponseObj, name: &str, opts: Map| {
            let get = |k: &str| opts.get(k).filter(|v| !v.is_unit()).map(|v| v.to_string());
            r.lock()
                .delete_cookie(name, get("path").as_deref(), get("domain").as_deref());
        }
    );
    pure!(engine, "to_string", |r: &mut ResponseObj| {
        let resp = r.lock();
        format!(
            "<Response {} bytes [{} {}]>",
            resp.body.len(),
            resp.status,
            crate::http::status_reason(resp.status).to_ascii_uppercase()
        )
    });

    pure!(
        engine,
        "index$get$",
        |h: &mut ResponseHeadersObj, k: &str| {
            h.0.lock()
                .headers
                .get(k)
                .map_or(Dynamic::UNIT, |v| v.to_owned().into())
        }
    );
    pure!(
        engine,
        "index$set$",
        |h: &mut ResponseHeadersObj, k: &str, v: Dynamic| {
            h.0.lock().headers.set(k, v.to_string());
        }
    );
    pure!(engine, "get", |h: &mut ResponseHeadersObj, k: &str| {
        h.0.lock()
            .headers
            .get(k)
            .map_or(Dynamic::UNIT, |v| v.to_owned().into())
    });
    pure!(engine, "get", |h: &mut ResponseHeadersObj,
                          k: &str,
                          d: Dynamic| {
        h.0.lock().headers.get(k).map_or(d, |v| v.to_owned().into())
    });
    pure!(engine, "add", |h: &mut ResponseHeadersObj,
                          k: &str,
                          v: Dynamic| {
        h.0.lock().headers.append(k, v.to_string());
    });
    pure!(engine, "remove", |h: &mut ResponseHeadersObj, k: &str| h
        .0
        .lock()
        .headers
        .remove(k));
    pure!(engine, "contains", |h: &mut ResponseHeadersObj, k: &str| h
        .0
        .lock()
        .headers
        .contains(k));

    // Markup: safe HTML; adding plain text escapes the plain side.
    engine.register_fn("Markup", |v: Dynamic| match v.read_lock::<Markup>() {
        Some(m) => m.clone(),
        None => Markup::new(v.to_string()),
    });
    engine.register_fn("escape", |v: Dynamic| escape_value(&v));
    engine.register_fn("to_string", |m: &mut Markup| m.0.clone());
    engine.register_fn("to_debug", |m: &mut Markup| format!("Markup({:?})", m.0));
    engine.register_fn("len", |m: &mut Markup| m.0.chars().count() as i64);
    engine.register_fn("+", |a: Markup, b: Markup| {
        Markup(format!("{}{}", a.0, b.0))
    });
    engine.register_fn("+", |a: Markup, b: ImmutableString| a.concat_plain(&b));
    engine.register_fn("+", |a: ImmutableString, b: Markup| {
        Markup(format!("{}{}", crate::markup::escape(&a), b.0))
    });
    engine.register_fn("==", |a: Markup, b: Markup| a == b);
    engine.register_fn("==", |a: Markup, b: ImmutableString| a.0 == b.as_str());
    engine.register_fn("striptags", |m: &mut Markup| striptags(&m.0));

    pure!(engine, "get$code", |e: &mut ErrorObj| e.code);
    pure!(engine, "get$name", |e: &mut ErrorObj| e.name.clone());
    pure!(engine, "get$description", |e: &mut ErrorObj| e
        .description
        .clone());
    pure!(engine, "get$original", |e: &mut ErrorObj| {
        e.original.clone().map_or(Dynamic::UNIT, Dynamic::from)
    });
    pure!(engine, "to_string", |e: &mut ErrorObj| {
        format!("{} {}: {}", e.code, e.name, e.description)
    });
}

/// MarkupSafe's `striptags`: drop tags and comments, unescape, collapse spaces.
fn striptags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let un = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    un.split_whitespace().collect::<Vec<_>>().join(" ")
}
