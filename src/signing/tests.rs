use super::*;

const MONTH: u64 = 31 * 24 * 3600;

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../../tests/vectors/sessions.json")).expect("vectors")
}

fn digest_of(case: &serde_json::Value) -> Digest {
    match case["digest"].as_str() {
        Some("sha256") => Digest::Sha256,
        _ => Digest::Sha1,
    }
}

fn keys_of(case: &serde_json::Value) -> Vec<Vec<u8>> {
    case["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k.as_str().expect("key").as_bytes().to_vec())
        .collect()
}

fn ser(key: &str) -> Serializer {
    Serializer::new(
        vec![key.as_bytes().to_vec()],
        "cookie-session",
        Digest::Sha1,
    )
    .expect("serializer")
}

/// Signs an arbitrary `payload.timestamp` string as a key holder could,
/// to reach the checks that come after the signature.
fn sign_raw(s: &Serializer, signed: &str) -> String {
    let sig = s.digest.hmac(&s.derived[0], &[signed.as_bytes()]);
    format!("{signed}.{}", B64.encode(sig))
}

fn zlib(data: &[u8]) -> Vec<u8> {
    compress(data).expect("compress")
}

#[test]
fn reads_and_writes_flasks_cookies_for_both_digests() {
    let v = vectors();
    let cases = v["cookies"].as_array().expect("cookies");
    let mut compressed = 0;
    for case in cases {
        let name = format!("{}/{}", case["name"], case["digest"]);
        let s = Serializer::new(keys_of(case), "cookie-session", digest_of(case)).expect("keys");
        let ts = case["timestamp"].as_u64().expect("ts");
        let cookie = case["cookie"].as_str().expect("cookie");
        let payload = case["payload"].as_str().expect("payload");
        assert_eq!(
            s.loads(cookie, Some(MONTH), ts).as_deref(),
            Ok(payload),
            "{name}"
        );
        if case["decode_only"] != true {
            assert_eq!(s.dumps(payload, ts), cookie, "{name}");
        }
        compressed += usize::from(cookie.starts_with('.'));
    }
    // The vectors cover compressed and plain payloads with both digests.
    assert!(compressed >= 4, "{compressed}");
    assert!(cases.iter().any(|c| c["digest"] == "sha256"));
}

#[test]
fn fallback_keys_verify_but_only_the_newest_signs() {
    let old = ser("old");
    let token = old.dumps("{}", 10);
    let rotated = Serializer::new(
        vec![b"old".to_vec(), b"new".to_vec()],
        "cookie-session",
        Digest::Sha1,
    )
    .expect("keys");
    assert_eq!(rotated.loads(&token, None, 10).as_deref(), Ok("{}"));
    let fresh = rotated.dumps("{}", 10);
    assert_eq!(ser("new").loads(&fresh, None, 10).as_deref(), Ok("{}"));
    assert_eq!(old.loads(&fresh, None, 10), Err(BadSignature::Mismatch));
}

#[test]
fn salt_and_digest_separate_signatures() {
    let a = ser("k").dumps("{}", 1);
    let other_salt = Serializer::new(vec![b"k".to_vec()], "other", Digest::Sha1).expect("keys");
    assert_eq!(other_salt.loads(&a, None, 1), Err(BadSignature::Mismatch));
    let sha256 =
        Serializer::new(vec![b"k".to_vec()], "cookie-session", Digest::Sha256).expect("keys");
    assert_eq!(sha256.loads(&a, None, 1), Err(BadSignature::Mismatch));
}

#[test]
fn tampering_is_refused() {
    let s = ser("k");
    let token = s.dumps(r#"{"user":"alice"}"#, 1000);
    assert_eq!(
        ser("wrong").loads(&token, None, 1000),
        Err(BadSignature::Mismatch)
    );
    // Change each character of the token in turn: nothing else verifies.
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let t = String::from_utf8(bytes).expect("ascii");
        assert!(s.loads(&t, None, 1000).is_err(), "position {i}");
    }
    for cut in 0..token.len() {
        assert!(s.loads(&token[..cut], None, 1000).is_err(), "cut at {cut}");
    }
    assert_eq!(
        s.loads("nodots", None, 0),
        Err(BadSignature::Malformed("no '.' found in value"))
    );
    assert_eq!(s.loads("a.b.!!!", None, 0), Err(BadSignature::Mismatch));
    assert_eq!(s.loads("é.é.é", None, 0), Err(BadSignature::Mismatch));
    assert_eq!(
        s.loads("", None, 0),
        Err(BadSignature::Malformed("no '.' found in value"))
    );
}

#[test]
fn max_age_and_future_timestamps() {
    let s = ser("k");
    let token = s.dumps("{}", 1000);
    assert!(s.loads(&token, Some(60), 1060).is_ok());
    assert_eq!(
        s.loads(&token, Some(60), 1061),
        Err(BadSignature::Expired {
            age: 61,
            max_age: 60
        })
    );
    assert_eq!(
        s.loads(&token, Some(60), 999),
        Err(BadSignature::FromTheFuture { ahead: 1 })
    );
    // Without max_age the time is not checked at all, as in itsdangerous.
    assert!(s.loads(&token, None, 0).is_ok());
    assert!(s.loads(&token, None, u64::MAX).is_ok());
}

#[test]
fn timestamps_are_minimal_big_endian() {
    let s = ser("k");
    // int_to_bytes(0) is b"": an empty timestamp segment.
    let zero = s.dumps("{}", 0);
    assert_eq!(zero.split('.').nth(1), Some(""));
    assert!(s.loads(&zero, Some(0), 0).is_ok());
    // 1700000000 = 0x6553F100 -> "ZVPxAA", as in the Flask vectors.
    assert_eq!(
        s.dumps("{}", 1_700_000_000).split('.').nth(1),
        Some("ZVPxAA")
    );
    let max = s.dumps("{}", u64::MAX);
    assert!(s.loads(&max, None, 0).is_ok());
    // Nine bytes do not fit itsdangerous's 64-bit timestamp.
    let long = sign_raw(&s, &format!("e30.{}", B64.encode([1u8; 9])));
    assert_eq!(
        s.loads(&long, None, 0),
        Err(BadSignature::Malformed("malformed timestamp"))
    );
    let missing = sign_raw(&s, "e30");
    assert_eq!(
        s.loads(&missing, None, 0),
        Err(BadSignature::Malformed("timestamp missing"))
    );
}

#[test]
fn compresses_only_when_it_saves_two_bytes() {
    let s = ser("k");
    assert!(!s.dumps(r#"{"a":1}"#, 1).starts_with('.'));
    let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(200));
    let token = s.dumps(&long, 1);
    assert!(token.starts_with('.'));
    assert_eq!(s.loads(&token, None, 1), Ok(long));
}

#[test]
fn zip_bombs_and_corrupt_payloads_are_refused_after_the_signature() {
    let s = ser("k");
    let bomb = zlib(&vec![b' '; MAX_PAYLOAD_BYTES + 1]);
    assert!(bomb.len() < 4096, "{}", bomb.len());
    let t = sign_raw(&s, &format!(".{}.AQ", B64.encode(&bomb)));
    assert_eq!(
        s.loads(&t, None, 1),
        Err(BadSignature::BadPayload("decompressed payload too large"))
    );
    // Exactly at the limit is still accepted.
    let full = zlib(&vec![b' '; MAX_PAYLOAD_BYTES]);
    let t = sign_raw(&s, &format!(".{}.AQ", B64.encode(&full)));
    assert_eq!(s.loads(&t, None, 1).map(|p| p.len()), Ok(MAX_PAYLOAD_BYTES));
    // Cut short, not zlib at all, empty.
    let good = zlib(b"{\"a\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}");
    for bad in [&good[..good.len() - 3], &good[..2], b"not zlib data", b""] {
        let t = sign_raw(&s, &format!(".{}.AQ", B64.encode(bad)));
        assert_eq!(
            s.loads(&t, None, 1),
            Err(BadSignature::BadPayload(
                "could not zlib decompress the payload"
            )),
            "{bad:?}"
        );
    }
    // Trailing bytes after the stream are ignored, as zlib.decompress does.
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"junk");
    let t = sign_raw(&s, &format!(".{}.AQ", B64.encode(&trailing)));
    assert!(s.loads(&t, None, 1).is_ok());
    let t = sign_raw(&s, &format!("{}.AQ", B64.encode([0xff, 0xfe])));
    assert_eq!(
        s.loads(&t, None, 1),
        Err(BadSignature::BadPayload("payload is not UTF-8"))
    );
    let t = sign_raw(&s, "e30!.AQ");
    assert_eq!(
        s.loads(&t, None, 1),
        Err(BadSignature::BadPayload("invalid base64"))
    );
}

#[test]
fn construction_and_debug() {
    assert!(Serializer::new(vec![], "cookie-session", Digest::Sha1).is_none());
    let dbg = format!("{:?}", ser("supersecret"));
    assert!(!dbg.contains("supersecret"));
    assert_eq!(Digest::default(), Digest::Sha1);
    assert_eq!(
        BadSignature::Expired { age: 5, max_age: 3 }.to_string(),
        "Signature age 5 > 3 seconds"
    );
}

#[test]
fn the_reused_deflate_state_writes_what_a_fresh_one_writes() {
    use std::io::Write as _;
    let fresh = |data: &[u8]| {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        z.write_all(data).unwrap();
        z.finish().unwrap()
    };
    // Incompressible bytes larger than the first output guess, so the
    // output has to grow, between small payloads on the same thread.
    let mut noise = Vec::with_capacity(300_000);
    let mut x: u32 = 12345;
    while noise.len() < 300_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        noise.push((x >> 16) as u8);
    }
    let inputs: [&[u8]; 5] = [
        br#"{"count":1}"#,
        &noise,
        br#"{"_flashes":[{" t":["message","x"]}],"count":2}"#,
        b"",
        &[b'a'; 100_000],
    ];
    for data in inputs {
        assert_eq!(zlib(data), fresh(data), "{} bytes", data.len());
    }
}
