//! Script values to and from JSON and route values.

use rhai::{Array, Blob, Dynamic, ImmutableString, Map};
use serde_json::Value;

use crate::markup::Markup;
use crate::routing::RouteValue;

/// A script value as JSON, as Flask's provider serializes Python values:
/// `()` is `null`, Markup is its text; blobs and host objects cannot be
/// serialized and name their type in the error.
pub(crate) fn to_json(v: &Dynamic) -> Result<Value, String> {
    if v.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = v.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = v.as_float() {
        return Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Ok(Value::String(s.to_string()));
    }
    if let Ok(c) = v.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if let Some(m) = v.read_lock::<Markup>() {
        return Ok(Value::String(m.0.clone()));
    }
    if let Some(a) = v.read_lock::<Array>() {
        return a
            .iter()
            .map(to_json)
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Some(m) = v.read_lock::<Map>() {
        let mut out = serde_json::Map::new();
        for (k, val) in m.iter() {
            out.insert(k.to_string(), to_json(val)?);
        }
        return Ok(Value::Object(out));
    }
    Err(format!(
        "Object of type {} is not JSON serializable",
        v.type_name().rsplit("::").next().unwrap_or("?")
    ))
}

/// JSON as a script value: `null` is `()`, integers that fit are `i64`,
/// other numbers are floats.
pub(crate) fn from_json(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or(f64::NAN).into(),
        },
        Value::String(s) => s.clone().into(),
        Value::Array(a) => Dynamic::from_array(a.iter().map(from_json).collect()),
        Value::Object(m) => {
            let mut map = Map::new();
            for (k, val) in m {
                map.insert(k.as_str().into(), from_json(val));
            }
            Dynamic::from_map(map)
        }
    }
}

/// A script value for `url_for`: scalars convert; arrays give several
/// values of one key (`?tag=a&tag=b`); `()` is left out, as Werkzeug drops
/// `None`.
pub(crate) fn to_route_values(key: &str, v: &Dynamic, out: &mut Vec<(String, RouteValue)>) {
    if v.is_unit() {
        return;
    }
    if let Some(a) = v.read_lock::<Array>() {
        for item in a.iter() {
            to_route_values(key, item, out);
        }
        return;
    }
    let rv = if let Ok(i) = v.as_int() {
        RouteValue::Int(i)
    } else if let Ok(f) = v.as_float() {
        RouteValue::Float(f)
    } else if let Ok(b) = v.as_bool() {
        RouteValue::Bool(b)
    } else {
        RouteValue::Str(v.to_string())
    };
    out.push((key.to_owned(), rv));
}

/// A route value as the script sees it in a handler's parameter.
pub(crate) fn route_value_to_dynamic(v: &RouteValue) -> Dynamic {
    match v {
        RouteValue::Str(s) => s.clone().into(),
        RouteValue::Int(i) => (*i).into(),
        RouteValue::Float(f) => (*f).into(),
        RouteValue::Bool(b) => (*b).into(),
    }
}

/// Bytes as a script blob.
pub(crate) fn blob(bytes: &[u8]) -> Dynamic {
    Dynamic::from_blob(Blob::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let v = serde_json::json!({"a": [1, 2.5, null, true], "b": {"c": "é"}});
        let d = from_json(&v);
        assert_eq!(to_json(&d).unwrap(), v);
    }
}
