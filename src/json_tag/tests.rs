use super::*;

/// The committed vectors generated with Flask 3.1.3 (tests/vectors/gen_sessions.py).
fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../../tests/vectors/sessions.json")).expect("vectors")
}

fn dict(items: &[(&str, Tagged)]) -> Tagged {
    Tagged::Dict(
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

#[test]
fn flask_payloads_round_trip_byte_for_byte() {
    let v = vectors();
    let cases = v["cookies"].as_array().expect("cookies");
    assert!(cases.len() >= 20);
    for case in cases {
        let payload = case["payload"].as_str().expect("payload");
        let value = loads(payload).unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        assert_eq!(dumps(&value), payload, "{}", case["name"]);
    }
}

#[test]
fn flask_tags_decode_to_the_right_variants() {
    let v = vectors();
    let payload = v["cookies"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "tags"))
        .and_then(|c| c["payload"].as_str())
        .expect("tags case");
    let expected = dict(&[
        ("b", Tagged::Bytes(b"\x00\xffbytes".to_vec())),
        (
            "d",
            Tagged::DateTime("Wed, 21 Oct 2015 07:28:00 GMT".into()),
        ),
        ("dikey", dict(&[(" di", "x".into())])),
        ("m", Tagged::Markup("<i>x</i>".into())),
        ("notag", dict(&[(" x", Tagged::Int(1))])),
        (
            "t",
            Tagged::Tuple(vec![
                Tagged::Int(1),
                "two".into(),
                Tagged::Tuple(vec![Tagged::Int(3)]),
            ]),
        ),
        (
            "tagkey",
            dict(&[(" t", Tagged::List(vec![Tagged::Int(1)]))]),
        ),
        (
            "two",
            dict(&[(" t", Tagged::Int(1)), ("y", Tagged::Int(2))]),
        ),
        ("u", Tagged::Uuid("12345678123456781234567812345678".into())),
    ]);
    assert_eq!(loads(payload), Ok(expected.clone()));
    assert_eq!(dumps(&expected), payload);
}

#[test]
fn writes_python_scalars() {
    let v = Tagged::List(vec![
        Tagged::Null,
        true.into(),
        Tagged::Int(-7),
        Tagged::Float(1e16),
        Tagged::Float(f64::NAN),
        Tagged::Float(f64::NEG_INFINITY),
        "é\u{1F600}".into(),
    ]);
    let s = dumps(&v);
    assert_eq!(
        s,
        r#"[null,true,-7,1e+16,NaN,-Infinity,"\u00e9\ud83d\ude00"]"#
    );
    // NaN != NaN, so compare the re-serialisation.
    assert_eq!(dumps(&loads(&s).expect("loads")), s);
}

#[test]
fn single_tag_key_dict_is_escaped_at_any_level() {
    let top = dict(&[(" t", "top".into())]);
    assert_eq!(dumps(&top), r#"{" di":{" t__":"top"}}"#);
    assert_eq!(loads(r#"{" di":{" t__":"top"}}"#), Ok(top));
    // A key that is not a tag, or a dict with two keys, is left alone.
    assert_eq!(dumps(&dict(&[(" x", Tagged::Null)])), r#"{" x":null}"#);
    // TagDict.to_python drops the last two characters whatever they are.
    assert_eq!(
        loads(r#"{" di":{"abXY":1}}"#),
        Ok(dict(&[("ab", Tagged::Int(1))]))
    );
    assert_eq!(
        loads(r#"{" di":{"é":1}}"#),
        Ok(dict(&[("", Tagged::Int(1))]))
    );
}

#[test]
fn untag_converts_children_before_the_parent() {
    // {" di": {" t__": {" t": [1]}}} -> {" t": (1,)}
    assert_eq!(
        loads(r#"{" di":{" t__":{" t":[1]}}}"#),
        Ok(dict(&[(" t", Tagged::Tuple(vec![Tagged::Int(1)]))]))
    );
}

#[test]
fn integers_beyond_i64_are_rejected() {
    assert_eq!(
        loads("[9223372036854775808]"),
        Err(TagError::IntegerOutOfRange("9223372036854775808".into()))
    );
    assert_eq!(loads("-9223372036854775808"), Ok(Tagged::Int(i64::MIN)));
    // A float literal of the same size is fine.
    assert_eq!(loads("1e30"), Ok(Tagged::Float(1e30)));
    assert_eq!(loads("1e400"), Ok(Tagged::Float(f64::INFINITY)));
}

#[test]
fn rejects_what_python_json_rejects() {
    for bad in [
        "",
        "[",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        "1e",
        "-",
        "+1",
        ".5",
        "nul",
        "[1] x",
        "\"\t\"",
        "\"\\x\"",
        "\"abc",
        "{1:2}",
        "'a'",
        "\"\\u12\"",
    ] {
        assert!(matches!(loads(bad), Err(TagError::Json(_))), "{bad:?}");
    }
    // Lone surrogates are valid to Python but cannot be held in a String.
    assert!(loads(r#""\ud800""#).is_err());
    assert!(loads(r#""\udc00x""#).is_err());
}

#[test]
fn accepts_what_python_json_accepts() {
    assert_eq!(
        loads(" \t\n\r[ 1 , 2.5e1 ]\r\n"),
        Ok(Tagged::List(vec![Tagged::Int(1), Tagged::Float(25.0)]))
    );
    assert_eq!(
        loads(r#""\/\b\f\u00E9\ud83d\ude00""#),
        Ok("/\u{8}\u{c}é😀".into())
    );
    assert_eq!(loads("-0"), Ok(Tagged::Int(0)));
    // The last of repeated keys wins, as in a Python dict.
    assert_eq!(
        loads(r#"{"a":1,"a":2}"#),
        Ok(dict(&[("a", Tagged::Int(2))]))
    );
}

#[test]
fn nesting_is_bounded() {
    let deep = "[".repeat(100_000);
    assert!(matches!(loads(&deep), Err(TagError::Json(_))));
    let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
    assert!(loads(&ok).is_ok());
}

#[test]
fn malformed_tags_are_errors_not_panics() {
    for (bad, tag) in [
        (r#"{" b":"AP8"}"#, " b"),
        (r#"{" b":"A"}"#, " b"),
        (r#"{" b":1}"#, " b"),
        (r#"{" u":"not-a-uuid"}"#, " u"),
        (r#"{" t":"abc"}"#, " t"),
        (r#"{" m":[]}"#, " m"),
        (r#"{" d":5}"#, " d"),
        (r#"{" di":{}}"#, " di"),
        (r#"{" di":[1]}"#, " di"),
    ] {
        assert_eq!(loads(bad), Err(TagError::BadTag(tag)), "{bad}");
    }
}

#[test]
fn bytes_decode_like_b64decode() {
    assert_eq!(loads(r#"{" b":"AP8="}"#), Ok(Tagged::Bytes(vec![0, 255])));
    assert_eq!(
        loads(r#"{" b":"A P8=\n"}"#),
        Ok(Tagged::Bytes(vec![0, 255]))
    );
    assert_eq!(loads(r#"{" b":"!!!"}"#), Ok(Tagged::Bytes(vec![])));
    assert_eq!(loads(r#"{" b":"AP9="}"#), Ok(Tagged::Bytes(vec![0, 255])));
    assert_eq!(dumps(&Tagged::Bytes(vec![0, 255])), r#"{" b":"AP8="}"#);
}

#[test]
fn uuid_forms_python_accepts() {
    let want = Some(Tagged::Uuid("12345678123456781234567812345678".into()));
    for form in [
        "12345678-1234-5678-1234-567812345678",
        "{12345678-1234-5678-1234-567812345678}",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "12345678123456781234567812345678",
    ] {
        assert_eq!(Tagged::uuid(form), want, "{form}");
    }
    assert_eq!(
        Tagged::uuid("ABCDEF00123456781234567812345678"),
        Some(Tagged::Uuid("abcdef00123456781234567812345678".into()))
    );
    assert_eq!(Tagged::uuid("1234"), None);
    assert_eq!(Tagged::uuid("g2345678123456781234567812345678"), None);
}

#[test]
fn json_views() {
    let v = dict(&[
        ("t", Tagged::Tuple(vec![Tagged::Int(1)])),
        ("u", Tagged::Uuid("12345678123456781234567812345678".into())),
        ("n", Tagged::Float(f64::NAN)),
        ("m", Tagged::Markup("<b>".into())),
    ]);
    assert_eq!(
        v.to_json(),
        serde_json::json!({"t": [1], "u": "12345678-1234-5678-1234-567812345678", "n": null, "m": "<b>"})
    );
    let j = serde_json::json!({"a": [1, 2.5, "x", null, true, {" t": []}], "big": 18446744073709551615u64});
    assert_eq!(
        Tagged::from_json(&j),
        dict(&[
            (
                "a",
                Tagged::List(vec![
                    Tagged::Int(1),
                    Tagged::Float(2.5),
                    "x".into(),
                    Tagged::Null,
                    true.into(),
                    dict(&[(" t", Tagged::List(vec![]))]),
                ])
            ),
            ("big", Tagged::Float(18446744073709551615.0)),
        ])
    );
}

#[test]
fn truthiness_follows_python() {
    for falsy in [
        Tagged::Null,
        false.into(),
        Tagged::Int(0),
        Tagged::Float(0.0),
        "".into(),
        Tagged::List(vec![]),
        Tagged::Dict(BTreeMap::new()),
        Tagged::Bytes(vec![]),
    ] {
        assert!(!falsy.truthy(), "{falsy:?}");
    }
    for truthy in [
        true.into(),
        Tagged::Int(-1),
        "0".into(),
        Tagged::Tuple(vec![Tagged::Null]),
    ] {
        assert!(truthy.truthy(), "{truthy:?}");
    }
}
