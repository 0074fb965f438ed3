//! Flask's `make_response`: what a handler returns becomes a Response by
//! the contract's five rules.
//!
//! 1. a Response is used as it is;
//! 2. a string (or Markup) is an HTML body, a blob raw bytes;
//! 3. a map, or an array that is not a response tuple, is JSON;
//! 4. a response tuple is an array `[body, status]`, `[body, headers]` or
//!    `[body, status, headers]` whose body is a string, Markup, blob or
//!    Response, whose status is an integer (or a status line such as
//!    `"201 CREATED"`) and whose headers are a map;
//! 5. anything else is a `TypeError`: 500, and the log says why.

use rhai::{Array, Blob, Dynamic, EvalAltResult, ImmutableString, Map};

use crate::http::Response;
use crate::markup::Markup;
use crate::scripting::convert;
use crate::scripting::objects::ResponseObj;
use crate::scripting::runtime_err;

/// Why a return value is not a response: the text of Flask's `TypeError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidResponse(pub String);

fn is_body(v: &Dynamic) -> bool {
    v.is::<ImmutableString>() || v.is::<Blob>() || v.is::<ResponseObj>() || v.is::<Markup>()
}

fn is_status(v: &Dynamic) -> bool {
    v.is::<rhai::INT>() || v.is::<ImmutableString>()
}

/// Whether an array is a response tuple (rule 4) rather than JSON (rule 3).
fn is_response_tuple(a: &Array) -> bool {
    match a.len() {
        2 => is_body(&a[0]) && (a[1].is::<rhai::INT>() || a[1].is::<Map>()),
        3 => is_body(&a[0]) && is_status(&a[1]) && a[2].is::<Map>(),
        _ => false,
    }
}

fn type_label(v: &Dynamic) -> &'static str {
    if v.is::<rhai::INT>() {
        "int"
    } else if v.is::<rhai::FLOAT>() {
        "float"
    } else if v.is::<bool>() {
        "bool"
    } else if v.is::<char>() {
        "char"
    } else if v.is::<rhai::FnPtr>() {
        "function pointer"
    } else {
        "host object"
    }
}

/// Converts a handler's return value. `endpoint` names the view in errors.
pub fn make_response(rv: Dynamic, endpoint: &str) -> Result<Response, InvalidResponse> {
    if rv.is_unit() {
        return Err(InvalidResponse(format!(
            "The view function for '{endpoint}' did not return a valid response. The function either returned () or ended without a value."
        )));
    }
    if let Some(a) = rv.read_lock::<Array>() {
        if is_response_tuple(&a) {
            let (status, headers) = match a.len() {
                3 => (Some(a[1].clone()), Some(a[2].clone())),
                _ if a[1].is::<Map>() => (None, Some(a[1].clone())),
                _ => (Some(a[1].clone()), None),
            };
            let mut resp = body_response(a[0].clone(), endpoint)?;
            if let Some(s) = status {
                apply_status(&mut resp, &s).map_err(InvalidResponse)?;
            }
            if let Some(h) = headers {
                if let Some(m) = h.read_lock::<Map>() {
                    apply_headers(&mut resp, &m);
                }
            }
            return Ok(resp);
        }
    }
    body_response(rv, endpoint)
}

/// Rules 1–3 and 5 for a single value.
fn body_response(rv: Dynamic, endpoint: &str) -> Result<Response, InvalidResponse> {
    if let Some(r) = rv.read_lock::<ResponseObj>() {
        return Ok(r.take());
    }
    if let Some(s) = rv.read_lock::<ImmutableString>() {
        return Ok(Response::html(s.as_str()));
    }
    if let Some(m) = rv.read_lock::<Markup>() {
        return Ok(Response::html(m.0.clone()));
    }
    if let Some(b) = rv.read_lock::<Blob>() {
        return Ok(Response::with_body("text/html; charset=utf-8", b.to_vec()));
    }
    if rv.is::<Map>() || rv.is::<Array>() {
        return convert::dumps(&rv)
            .map(Response::json_text)
            .map_err(|e| InvalidResponse(format!("The view function for '{endpoint}' returned a value that cannot be sent as JSON: {e}")));
    }
    if rv.is_unit() {
        return Err(InvalidResponse(format!(
            "The view function for '{endpoint}' did not return a valid response. The function either returned () or ended without a value."
        )));
    }
    Err(InvalidResponse(format!(
        "The view function did not return a valid response. The return type must be a string, map, array, response tuple ([body, status], [body, headers] or [body, status, headers]) or Response, but it was a {}.",
        type_label(&rv)
    )))
}

/// Sets the status from an integer or a status line (`"201 CREATED"`).
fn apply_status(resp: &mut Response, s: &Dynamic) -> Result<(), String> {
    let code = if let Ok(i) = s.as_int() {
        u16::try_from(i).ok()
    } else {
        s.to_string()
            .split_whitespace()
            .next()
            .and_then(|c| c.parse().ok())
    };
    match code.filter(|c| (100..=999).contains(c)) {
        Some(c) => {
            resp.status = c;
            Ok(())
        }
        None => Err(format!("{s} is not a valid HTTP status code")),
    }
}

/// `resp.headers.update(headers)`: each key replaces what was there; an
/// array value sets several headers of that name.
fn apply_headers(resp: &mut Response, headers: &Map) {
    for (k, v) in headers {
        if let Some(list) = v.read_lock::<Array>() {
            resp.headers.remove(k);
            for item in list.iter() {
                resp.headers.append(k.as_str(), item.to_string());
            }
        } else {
            resp.headers.set(k.as_str(), v.to_string());
        }
    }
}

/// The script's `make_response(body[, status[, headers]])`.
pub(crate) fn make_response_obj(
    body: Dynamic,
    status: Option<Dynamic>,
    headers: Option<Map>,
) -> Result<ResponseObj, Box<EvalAltResult>> {
    let endpoint = crate::ctx::current()
        .and_then(|c| c.endpoint.lock().ok().and_then(|e| e.clone()))
        .unwrap_or_default();
    let mut resp = make_response(body, &endpoint).map_err(|e| runtime_err(e.0))?;
    if let Some(s) = status {
        apply_status(&mut resp, &s).map_err(runtime_err)?;
    }
    if let Some(h) = headers {
        apply_headers(&mut resp, &h);
    }
    Ok(ResponseObj::new(resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(items: Vec<Dynamic>) -> Dynamic {
        Dynamic::from_array(items)
    }

    #[test]
    fn the_five_rules() {
        let r = make_response("hi".into(), "v").unwrap();
        assert_eq!(
            r.headers.get("Content-Type"),
            Some("text/html; charset=utf-8")
        );
        let mut m = Map::new();
        m.insert("b".into(), 1_i64.into());
        m.insert("a".into(), "é".into());
        let r = make_response(Dynamic::from_map(m.clone()), "v").unwrap();
        assert_eq!(r.bytes().unwrap(), b"{\"a\":\"\\u00e9\",\"b\":1}\n");
        assert_eq!(r.headers.get("Content-Type"), Some("application/json"));
        let r = make_response(arr(vec!["x".into(), 201_i64.into()]), "v").unwrap();
        assert_eq!(r.status, 201);
        let mut h = Map::new();
        h.insert("X-A".into(), "1".into());
        let r = make_response(
            arr(vec![
                "x".into(),
                404_i64.into(),
                Dynamic::from_map(h.clone()),
            ]),
            "v",
        )
        .unwrap();
        assert_eq!((r.status, r.headers.get("X-A")), (404, Some("1")));
        let r = make_response(arr(vec!["x".into(), Dynamic::from_map(h)]), "v").unwrap();
        assert_eq!((r.status, r.headers.get("X-A")), (200, Some("1")));
        // An array of records is JSON, not a tuple.
        let r = make_response(
            arr(vec![Dynamic::from_map(m.clone()), Dynamic::from_map(m)]),
            "v",
        )
        .unwrap();
        assert_eq!(r.headers.get("Content-Type"), Some("application/json"));
        let e = make_response(Dynamic::UNIT, "index").unwrap_err();
        assert!(e
            .0
            .starts_with("The view function for 'index' did not return a valid response."));
        let e = make_response(5_i64.into(), "index").unwrap_err();
        assert!(e.0.ends_with("but it was a int."), "{}", e.0);
    }
}
