//! Script values to and from JSON and route values.

use rhai::{Array, Blob, Dynamic, ImmutableString, Map};
use serde_json::Value;

use crate::json;
use crate::markup::Markup;
use crate::routing::RouteValue;

/// A script value as JSON text, as Flask's provider serializes Python
/// values (see [`crate::json`]): `()` is `null`, Markup is its text, map
/// keys come sorted (a Rhai map is ordered by code point, as Python sorts
/// `str` keys); blobs and host objects cannot be serialized and name their
/// type in the error. Written straight from the script value: no
/// intermediate `serde_json::Value` per request.
pub(crate) fn dumps(v: &Dynamic) -> Result<String, String> {
    let mut out = String::new();
    write_json(v, &mut out)?;
    Ok(out)
}

fn write_json(v: &Dynamic, out: &mut String) -> Result<(), String> {
    if v.is_unit() {
        out.push_str("null");
    } else if let Ok(b) = v.as_bool() {
        out.push_str(if b { "true" } else { "false" });
    } else if let Ok(i) = v.as_int() {
        json::write_int(i, out);
    } else if let Ok(f) = v.as_float() {
        // Not finite: `null`, as before (serde_json has no NaN).
        if f.is_finite() {
            out.push_str(&json::float_repr(f));
        } else {
            out.push_str("null");
        }
    } else if let Some(s) = v.read_lock::<ImmutableString>() {
        json::write_str(&s, out);
    } else if let Ok(c) = v.as_char() {
        json::write_str(c.encode_utf8(&mut [0; 4]), out);
    } else if let Some(m) = v.read_lock::<Markup>() {
        json::write_str(&m.0, out);
    } else if let Some(a) = v.read_lock::<Array>() {
        out.push('[');
        for (i, item) in a.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json(item, out)?;
        }
        out.push(']');
    } else if let Some(m) = v.read_lock::<Map>() {
        out.push('{');
        for (i, (k, val)) in m.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(k, out);
            out.push(':');
            write_json(val, out)?;
        }
        out.push('}');
    } else {
        return Err(format!(
            "Object of type {} is not JSON serializable",
            v.type_name().rsplit("::").next().unwrap_or("?")
        ));
    }
    Ok(())
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
        assert_eq!(dumps(&d).unwrap(), json::dumps(&v));
    }

    /// Written straight from script values, the text is what the
    /// serde_json writer gives for the same data, byte for byte.
    #[test]
    fn script_values_dump_as_flask_json() {
        let v = serde_json::json!({
            "z": [1, -2, 2.5, 1e16, 1e-7, 0.0, null, true, false],
            "a": {"é": "caf\u{e9} \"q\" \\ \n\t\u{1}\u{1F600}", "": []},
            "M": {},
        });
        let text = dumps(&from_json(&v)).unwrap();
        assert_eq!(text, json::dumps(&v));
        assert_eq!(
            text,
            r#"{"M":{},"a":{"":[],"\u00e9":"caf\u00e9 \"q\" \\ \n\t\u0001\ud83d\ude00"},"z":[1,-2,2.5,1e+16,1e-07,0.0,null,true,false]}"#
        );
        let mut m = Map::new();
        m.insert("m".into(), Dynamic::from(Markup::new("<b>")));
        m.insert("c".into(), Dynamic::from('x'));
        m.insert("nan".into(), Dynamic::from(f64::NAN));
        assert_eq!(
            dumps(&Dynamic::from_map(m)).unwrap(),
            r#"{"c":"x","m":"<b>","nan":null}"#
        );
        let err = dumps(&blob(b"x")).unwrap_err();
        assert!(err.ends_with("is not JSON serializable"), "{err}");
    }
}
