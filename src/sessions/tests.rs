use super::*;

const TS: u64 = 1_700_000_000;

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../../tests/vectors/sessions.json")).expect("vectors")
}

fn cfg(key: &str) -> SessionConfig {
    SessionConfig {
        secret_key: Some(key.as_bytes().to_vec()),
        ..SessionConfig::default()
    }
}

fn headers(resp: &Response) -> Vec<(String, String)> {
    resp.headers
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn big_blob() -> String {
    (0..1200u64)
        .map(|i| format!("{:08x}", (i * 2_654_435_761) % (1 << 32)))
        .collect()
}

/// Replays tests/vectors/gen_sessions.py's requests and compares the
/// Set-Cookie and Vary headers with Flask 3.1.3's.
#[test]
fn responses_match_flask() {
    let v = vectors();
    let cases = v["responses"].as_array().expect("responses");
    assert_eq!(cases.len(), 11);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let mut c = cfg("resp-key");
        for (k, val) in case["config"].as_object().expect("config") {
            match k.as_str() {
                "SESSION_COOKIE_DOMAIN" => c.domain = val.as_str().map(str::to_owned),
                "SESSION_COOKIE_PATH" => c.path = val.as_str().expect("path").to_owned(),
                "SESSION_COOKIE_SECURE" => c.secure = val == true,
                "SESSION_COOKIE_HTTPONLY" => c.httponly = val == true,
                "SESSION_COOKIE_SAMESITE" => c.samesite = val.as_str().map(str::to_owned),
                "SESSION_COOKIE_PARTITIONED" => c.partitioned = val == true,
                "SESSION_COOKIE_NAME" => c.cookie_name = val.as_str().expect("name").to_owned(),
                "PERMANENT_SESSION_LIFETIME" => {
                    c.permanent_lifetime = val.as_f64().expect("secs") as u64
                }
                "SESSION_REFRESH_EACH_REQUEST" => c.refresh_each_request = val == true,
                other => panic!("unknown config {other}"),
            }
        }
        let mut s = open_session(&c, case["cookie"].as_str(), TS).expect("key");
        match name {
            "set" => s.set("user", "alice".into()).expect("set"),
            "permanent" | "permanent_odd_config" => {
                s.set_permanent(true).expect("set");
                s.set("user", "alice".into()).expect("set");
            }
            n if n.starts_with("clear") => s.clear().expect("clear"),
            "read_only" => assert_eq!(s.get("user"), Some(&"alice".into())),
            "untouched" | "refresh_permanent" | "no_refresh_permanent" => {}
            "big" => s.set("blob", big_blob().into()).expect("set"),
            other => panic!("unknown case {other}"),
        }
        let mut resp = Response::new(200);
        let warning = save_session(&c, &s, &mut resp, TS).expect("save");
        let want: Vec<(String, String)> = case["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| {
                (
                    h[0].as_str().expect("k").to_owned(),
                    h[1].as_str().expect("v").to_owned(),
                )
            })
            .collect();
        assert_eq!(headers(&resp), want, "{name}");
        let want_warnings: Vec<&str> = case["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .map(|w| w.as_str().expect("w"))
            .collect();
        assert_eq!(
            warning.as_deref().into_iter().collect::<Vec<_>>(),
            want_warnings,
            "{name}"
        );
    }
}

#[test]
fn opens_flasks_cookies_for_both_digests() {
    let v = vectors();
    for case in v["cookies"].as_array().expect("cookies") {
        let keys: Vec<Vec<u8>> = case["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k.as_str().expect("k").as_bytes().to_vec())
            .collect();
        let (newest, fallbacks) = keys.split_last().expect("a key");
        let c = SessionConfig {
            secret_key: Some(newest.clone()),
            fallback_keys: fallbacks.to_vec(),
            digest: if case["digest"] == "sha256" {
                Digest::Sha256
            } else {
                Digest::Sha1
            },
            ..SessionConfig::default()
        };
        let payload = case["payload"].as_str().expect("payload");
        let mut s = open_session(&c, case["cookie"].as_str(), TS).expect("key");
        assert!(!s.modified() && !s.accessed());
        assert_eq!(
            s.to_tagged(),
            json_tag::loads(payload).expect("payload"),
            "{}",
            case["name"]
        );
        assert!(!s.is_empty(), "{}", case["name"]);
        // Saving the modified session again writes Flask's exact cookie.
        if case["decode_only"] != true {
            s.set_modified(true);
            let mut resp = Response::new(200);
            save_session(&c, &s, &mut resp, TS).expect("save");
            let line = resp.headers.get("Set-Cookie").expect("cookie");
            let cookie = case["cookie"].as_str().expect("cookie");
            assert!(
                line.starts_with(&format!("session={cookie}; ")),
                "{}: {line}",
                case["name"]
            );
        }
    }
}

#[test]
fn unusable_cookies_give_an_empty_session() {
    let c = cfg("k");
    let signer = c.serializer().expect("key");
    let good = signer.dumps(r#"{"a":1}"#, TS);
    assert_eq!(
        open_session(&c, Some(&good), TS).expect("key").peek("a"),
        Some(&Tagged::Int(1))
    );
    let lifetime = c.permanent_lifetime;
    let mut tampered = good.clone();
    tampered.replace_range(0..1, "f");
    for (what, value, now) in [
        ("missing", None, TS),
        ("empty", Some(""), TS),
        ("garbage", Some("%%%not base64%%%"), TS),
        ("tampered", Some(tampered.as_str()), TS),
        ("truncated", Some(&good[..good.len() - 2]), TS),
        (
            "wrong key",
            Some(
                &cfg("other")
                    .serializer()
                    .expect("key")
                    .dumps(r#"{"a":1}"#, TS),
            ),
            TS,
        ),
        ("expired", Some(good.as_str()), TS + lifetime + 1),
        ("future", Some(good.as_str()), TS - 1),
        ("not a dict", Some(&signer.dumps("[1,2]", TS)), TS),
        (
            "big int",
            Some(&signer.dumps(r#"{"a":99999999999999999999}"#, TS)),
            TS,
        ),
        (
            "bad tag",
            Some(&signer.dumps(r#"{"a":{" u":"x"}}"#, TS)),
            TS,
        ),
        ("not json", Some(&signer.dumps("{", TS)), TS),
    ] {
        let s = open_session(&c, value, now).expect("key");
        assert!(
            s.data().is_empty() && !s.modified() && !s.is_null(),
            "{what}"
        );
    }
    // Exactly at the lifetime it is still valid (itsdangerous: age > max_age).
    assert!(!open_session(&c, Some(&good), TS + lifetime)
        .expect("key")
        .data()
        .is_empty());
}

#[test]
fn no_secret_key_means_a_null_session() {
    for c in [SessionConfig::default(), cfg("")] {
        assert_eq!(open_session(&c, Some("x.y.z"), TS), Err(NoSecretKey));
        assert!(c.serializer().is_none());
    }
    assert_eq!(
        NoSecretKey.to_string(),
        "The session is unavailable because no secret key was set.  Set the secret_key on the application to something unique and secret."
    );
    let mut s = Session::null();
    assert!(s.is_null());
    // Reads work and see nothing.
    assert_eq!(s.get("a"), None);
    assert!(!s.contains("a") && s.is_empty() && !s.permanent());
    // Every write fails, even popping a missing key, as NullSession's do.
    assert_eq!(s.set("a", Tagged::Null), Err(NoSecretKey));
    assert_eq!(s.remove("a"), Err(NoSecretKey));
    assert_eq!(s.clear(), Err(NoSecretKey));
    assert_eq!(s.setdefault("a", Tagged::Null).err(), Some(NoSecretKey));
    assert_eq!(s.set_permanent(true), Err(NoSecretKey));
    assert_eq!(flash(&mut s, "m".into(), "message"), Err(NoSecretKey));
    assert!(get_flashed_messages(&mut s, &mut None, false, &[]).is_empty());
    // A null session is never saved, whatever its flags.
    s.set_modified(true);
    let mut resp = Response::new(200);
    assert_eq!(
        save_session(&SessionConfig::default(), &s, &mut resp, TS),
        Ok(None)
    );
    assert!(resp.headers.is_empty());
    // A real session with no key to sign it is a save error.
    let mut s = Session::new();
    s.set("a", Tagged::Int(1)).expect("set");
    assert_eq!(
        save_session(&SessionConfig::default(), &s, &mut resp, TS),
        Err(SaveError::NoSecretKey)
    );
}

#[test]
fn dict_semantics_track_modified_and_accessed() {
    let mut s = Session::from_data([
        ("b".to_owned(), Tagged::Int(1)),
        ("a".to_owned(), Tagged::Int(2)),
    ]);
    assert!(!s.modified() && !s.accessed());
    assert_eq!(s.peek("a"), Some(&Tagged::Int(2)));
    assert!(!s.accessed(), "peek does not count as access");
    assert_eq!(s.get("a"), Some(&Tagged::Int(2)));
    assert!(s.accessed() && !s.modified());
    assert_eq!(s.remove("missing"), Ok(None));
    assert!(!s.modified(), "popping a missing key is not a change");
    assert_eq!(s.setdefault("a", Tagged::Null), Ok(&Tagged::Int(2)));
    assert!(
        !s.modified(),
        "setdefault of an existing key is not a change"
    );
    assert_eq!(s.setdefault("c", Tagged::Null), Ok(&Tagged::Null));
    assert!(s.modified());
    // Insertion order, as a Python dict keeps it.
    assert_eq!(s.keys(), ["b", "a", "c"]);
    assert_eq!(s.remove("b"), Ok(Some(Tagged::Int(1))));
    assert_eq!(s.keys(), ["a", "c"]);
    assert_eq!(s.items().len(), 2);
    assert_eq!(s.len(), 2);

    let mut s = Session::new();
    s.clear().expect("clear");
    assert!(s.modified(), "clear always modifies, even when empty");
    let mut s = Session::new();
    s.set_modified(true);
    assert!(
        s.accessed(),
        "setting modified goes through the session object"
    );
    let mut s = Session::new();
    s.mark_accessed();
    assert!(s.accessed() && !s.modified());
    // permanent follows the truthiness of _permanent.
    let mut s = Session::from_data([("_permanent".to_owned(), Tagged::Int(1))]);
    assert!(s.permanent());
    s.set_permanent(false).expect("set");
    assert!(!s.permanent() && s.modified());
    assert_eq!(s.peek("_permanent"), Some(&Tagged::Bool(false)));
}

#[test]
fn saved_sessions_reopen_and_rotate_keys() {
    let old = cfg("old");
    let mut s = open_session(&old, None, TS).expect("key");
    s.set("user", "alice".into()).expect("set");
    s.set("t", Tagged::Tuple(vec![Tagged::Int(1)]))
        .expect("set");
    let mut resp = Response::new(200);
    save_session(&old, &s, &mut resp, TS).expect("save");
    let line = resp.headers.get("Set-Cookie").expect("cookie").to_owned();
    let value = line
        .strip_prefix("session=")
        .and_then(|l| l.split(';').next())
        .expect("value");
    let rotated = SessionConfig {
        secret_key: Some(b"new".to_vec()),
        fallback_keys: vec![b"old".to_vec()],
        ..SessionConfig::default()
    };
    let mut back = open_session(&rotated, Some(value), TS + 5).expect("key");
    assert_eq!(back.data(), s.data());
    back.set("n", Tagged::Int(2)).expect("set");
    let mut resp = Response::new(200);
    save_session(&rotated, &back, &mut resp, TS + 5).expect("save");
    let line = resp.headers.get("Set-Cookie").expect("cookie");
    let value = line
        .strip_prefix("session=")
        .and_then(|l| l.split(';').next())
        .expect("value");
    // Signed with the new key: the old key alone no longer reads it.
    assert!(open_session(&cfg("old"), Some(value), TS + 5)
        .expect("key")
        .data()
        .is_empty());
    assert_eq!(
        open_session(&cfg("new"), Some(value), TS + 5)
            .expect("key")
            .peek("n"),
        Some(&Tagged::Int(2))
    );
}

#[test]
fn invalid_samesite_is_a_save_error_only_when_writing() {
    let c = SessionConfig {
        samesite: Some("Often".into()),
        ..cfg("k")
    };
    let mut s = Session::new();
    s.get("x");
    let mut resp = Response::new(200);
    assert_eq!(save_session(&c, &s, &mut resp, TS), Ok(None));
    s.set("x", Tagged::Null).expect("set");
    assert_eq!(
        save_session(&c, &s, &mut resp, TS),
        Err(SaveError::InvalidSameSite("Often".into()))
    );
}

#[test]
fn flashes_match_flask_cookie() {
    let v = vectors();
    let case = v["cookies"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["name"] == "flashes" && c["digest"] == "sha1")
        })
        .expect("flashes case");
    let c = cfg("secret-sha1");
    let mut s = open_session(&c, None, TS).expect("key");
    flash(&mut s, "Hello".into(), "message").expect("flash");
    flash(&mut s, Tagged::Markup("<b>bad</b>".into()), "error").expect("flash");
    assert!(s.modified());
    let mut resp = Response::new(200);
    save_session(&c, &s, &mut resp, TS).expect("save");
    let cookie = case["cookie"].as_str().expect("cookie");
    assert_eq!(
        resp.headers.get("Set-Cookie"),
        Some(format!("session={cookie}; HttpOnly; Path=/").as_str())
    );

    // The next request reads them: popped once, then stable from the cache.
    let mut s = open_session(&c, Some(cookie), TS).expect("key");
    let mut cache = None;
    let all = get_flashed_messages(&mut s, &mut cache, false, &[]);
    assert_eq!(
        all,
        [Tagged::from("Hello"), Tagged::Markup("<b>bad</b>".into())]
    );
    assert!(s.modified() && s.data().is_empty());
    let errors = get_flashed_messages(&mut s, &mut cache, true, &["error".to_owned()]);
    assert_eq!(
        errors,
        [Tagged::Tuple(vec![
            "error".into(),
            Tagged::Markup("<b>bad</b>".into())
        ])]
    );
    assert_eq!(
        get_flashed_messages(&mut s, &mut cache, false, &[]).len(),
        2
    );
    // Emptied by the pop, so the cookie is deleted.
    let mut resp = Response::new(200);
    save_session(&c, &s, &mut resp, TS).expect("save");
    assert!(resp
        .headers
        .get("Set-Cookie")
        .is_some_and(|l| l.starts_with("session=; Expires=Thu, 01 Jan 1970")));
}

#[test]
fn reading_flashes_with_none_stored() {
    let mut s = Session::new();
    let mut cache = None;
    assert!(get_flashed_messages(&mut s, &mut cache, false, &[]).is_empty());
    assert!(s.accessed() && !s.modified());
    assert_eq!(cache, Some(vec![]));
    // A flash after the first read is not seen in this request (the cache
    // is fixed), as in Flask.
    flash(&mut s, "later".into(), "info").expect("flash");
    assert!(get_flashed_messages(&mut s, &mut cache, false, &[]).is_empty());
    assert_eq!(s.peek("_flashes").map(Tagged::truthy), Some(true));
}

#[test]
fn malformed_flash_entries_are_skipped() {
    let mut s = Session::from_data([(
        "_flashes".to_owned(),
        Tagged::List(vec![
            Tagged::List(vec!["message".into(), "ok".into()]),
            Tagged::Int(3),
            Tagged::Tuple(vec![Tagged::Int(1), "x".into()]),
            Tagged::Tuple(vec!["a".into()]),
        ]),
    )]);
    assert_eq!(
        get_flashed_messages(&mut s, &mut None, false, &[]),
        [Tagged::from("ok")]
    );
    // Something that is not a list is replaced when flashing.
    let mut s = Session::from_data([("_flashes".to_owned(), Tagged::Int(1))]);
    flash(&mut s, "m".into(), "message").expect("flash");
    assert_eq!(
        s.peek("_flashes"),
        Some(&Tagged::List(vec![Tagged::Tuple(vec![
            "message".into(),
            "m".into()
        ])]))
    );
}

#[test]
fn permanent_expiry_is_clamped_not_a_panic() {
    let c = SessionConfig {
        permanent_lifetime: u64::MAX,
        ..cfg("k")
    };
    let mut s = Session::new();
    s.set_permanent(true).expect("set");
    let mut resp = Response::new(200);
    save_session(&c, &s, &mut resp, TS).expect("save");
    assert!(resp
        .headers
        .get("Set-Cookie")
        .is_some_and(|l| l.contains("; Expires=Fri, 31 Dec 9999 23:59:59 GMT; ")));
}
