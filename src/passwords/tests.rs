use super::*;

/// Made by tests/vectors/gen_passwords.py with real Werkzeug.
fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../../tests/vectors/passwords.json")).expect("vectors")
}

fn str_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().expect(key)
}

/// Splits a hash made here into (method, salt, hex digest).
fn fields(hash: &str) -> (&str, &str, &str) {
    let mut it = hash.splitn(3, '$');
    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
}

fn assert_werkzeug_shape(hash: &str, method: &str, salt_length: usize, hex_len: usize) {
    let (m, salt, digest) = fields(hash);
    assert_eq!(m, method, "{hash}");
    assert_eq!(salt.len(), salt_length, "{hash}");
    assert!(salt.chars().all(|c| SALT_CHARS.contains(c)), "{hash}");
    assert_eq!(digest.len(), hex_len, "{hash}");
    assert!(
        digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{hash}"
    );
}

#[test]
fn constants_match_werkzeug() {
    let v = vectors();
    assert_eq!(str_of(&v, "salt_chars"), SALT_CHARS);
    assert_eq!(
        v["default_pbkdf2_iterations"].as_u64(),
        Some(u64::from(DEFAULT_PBKDF2_ITERATIONS))
    );
    let (n, r, p) = DEFAULT_SCRYPT_PARAMS;
    assert_eq!(str_of(&v, "default_scrypt"), format!("scrypt:{n}:{r}:{p}"));
}

/// Every (password, hash) pair Werkzeug made verifies, and a wrong password
/// does not; this includes one hash with Werkzeug's default scrypt cost.
#[test]
fn werkzeug_hashes_verify() {
    let v = vectors();
    let matching = v["matching"].as_array().expect("matching");
    assert!(matching.len() >= 30);
    for case in matching {
        let (hash, password) = (str_of(case, "hash"), str_of(case, "password"));
        assert!(check_password_hash(hash, password), "{hash} / {password:?}");
        let wrong = format!("{password}x");
        assert!(!check_password_hash(hash, &wrong), "{hash} / {wrong:?}");
    }
}

/// Malformed hashes and mismatches: Werkzeug's answer, with its exceptions
/// (bad parameters, unknown methods) counted as `false`.
#[test]
#[ignore = "1M PBKDF2 rounds take ~6 s in a debug build; run with --ignored or in release"]
fn werkzeug_default_pbkdf2_hash_verifies() {
    let v = vectors();
    let case = &v["default_pbkdf2"];
    let (hash, password) = (str_of(case, "hash"), str_of(case, "password"));
    assert!(hash.starts_with("pbkdf2:sha256:1000000$"), "{hash}");
    assert!(check_password_hash(hash, password));
    assert!(!check_password_hash(hash, "wrong"));
}

#[test]
fn werkzeug_check_cases() {
    let v = vectors();
    for case in v["checks"].as_array().expect("checks") {
        let (hash, password) = (str_of(case, "hash"), str_of(case, "password"));
        let expected = case["result"].as_bool().expect("result");
        assert_eq!(
            check_password_hash(hash, password),
            expected,
            "{hash} / {password:?}"
        );
    }
}

#[test]
fn generated_scrypt_hash_has_werkzeug_shape_and_verifies() {
    let hash = generate_password_hash("pässwörd 密码", "scrypt:1024:8:1", 16).unwrap();
    assert_werkzeug_shape(&hash, "scrypt:1024:8:1", 16, 128);
    assert!(check_password_hash(&hash, "pässwörd 密码"));
    assert!(!check_password_hash(&hash, "passwörd 密码"));
}

#[test]
fn generated_pbkdf2_hashes_have_werkzeug_shape_and_verify() {
    for (method, hex_len) in [
        ("pbkdf2:sha256:1000", 64),
        ("pbkdf2:sha1:1000", 40),
        ("pbkdf2:sha224:1000", 56),
        ("pbkdf2:sha384:1000", 96),
        ("pbkdf2:sha512:1000", 128),
        ("pbkdf2:SHA256:1000", 64),
    ] {
        let hash = generate_password_hash("secret", method, 8).unwrap();
        assert_werkzeug_shape(&hash, method, 8, hex_len);
        assert!(check_password_hash(&hash, "secret"), "{hash}");
        assert!(!check_password_hash(&hash, "Secret"), "{hash}");
    }
}

#[test]
fn each_hash_gets_a_fresh_salt() {
    let a = generate_password_hash("pw", "pbkdf2:sha256:1", 16).unwrap();
    let b = generate_password_hash("pw", "pbkdf2:sha256:1", 16).unwrap();
    assert_ne!(fields(&a).1, fields(&b).1);
    assert_ne!(a, b);
}

/// Werkzeug's default method at its full cost: fast in debug builds too
/// (about 0.2 s) because Cargo.toml optimises the scrypt crates in the dev
/// profile.
#[test]
fn default_scrypt_hash_shape() {
    let hash = generate_password_hash("pw", "scrypt", DEFAULT_SALT_LENGTH).unwrap();
    assert_werkzeug_shape(&hash, "scrypt:32768:8:1", 16, 128);
    assert!(check_password_hash(&hash, "pw"));
}

/// The parse of `"pbkdf2"` is checked cheaply in
/// `method_parsing_spells_out_defaults`; this pays for the full cost.
#[test]
#[ignore = "1M PBKDF2 rounds take ~6 s in a debug build; run with --ignored or in release"]
fn default_pbkdf2_hash_shape() {
    let hash = generate_password_hash("pw", "pbkdf2", DEFAULT_SALT_LENGTH).unwrap();
    assert_werkzeug_shape(&hash, "pbkdf2:sha256:1000000", 16, 64);
}

/// Werkzeug fills in defaults and writes the parsed numbers back, so the
/// stored method always names every parameter.
#[test]
fn method_parsing_spells_out_defaults() {
    for (method, canonical) in [
        ("scrypt", "scrypt:32768:8:1"),
        ("scrypt:16384:8:1", "scrypt:16384:8:1"),
        ("scrypt:01024:08:1", "scrypt:1024:8:1"),
        ("pbkdf2", "pbkdf2:sha256:1000000"),
        ("pbkdf2:sha512", "pbkdf2:sha512:1000000"),
        ("pbkdf2:sha256:600000", "pbkdf2:sha256:600000"),
        ("pbkdf2:SHA256:0600000", "pbkdf2:SHA256:600000"),
    ] {
        assert_eq!(
            Method::parse(method).unwrap().canonical(),
            canonical,
            "{method}"
        );
    }
}

#[test]
fn invalid_methods_are_errors_with_werkzeugs_messages() {
    for (method, message) in [
        ("plain", "Invalid hash method 'plain'."),
        ("", "Invalid hash method ''."),
        ("argon2", "Invalid hash method 'argon2'."),
        ("scrypt:1024:8", "'scrypt' takes 3 arguments."),
        ("scrypt:1024:8:1:1", "'scrypt' takes 3 arguments."),
        ("scrypt:a:8:1", "'scrypt' takes 3 arguments."),
        ("scrypt:-1024:8:1", "'scrypt' takes 3 arguments."),
        ("scrypt:1000:8:1", "n must be a power of 2."),
        ("scrypt:1:8:1", "n must be a power of 2."),
        ("scrypt:0:8:1", "n must be a power of 2."),
        ("pbkdf2:sha256:1:2", "'pbkdf2' takes 2 arguments."),
        ("pbkdf2:sha256:0", "iteration value must be greater than 0."),
        ("pbkdf2:md5:1000", "unsupported hash type md5"),
        ("pbkdf2::1000", "unsupported hash type "),
    ] {
        let err = generate_password_hash("pw", method, 16).unwrap_err();
        assert_eq!(
            err,
            PasswordError::InvalidMethod(message.into()),
            "{method}"
        );
        assert_eq!(err.to_string(), message);
    }
}

/// The limits Python's hashlib.scrypt and OpenSSL put on Werkzeug's
/// `maxmem = 132·n·r·p` (the vectors show Werkzeug failing on these too).
#[test]
fn scrypt_parameters_follow_werkzeugs_memory_checks() {
    let mem_err = "[digital envelope routines] memory limit exceeded";
    assert_eq!(check_scrypt(64, 8, 1).unwrap_err().to_string(), mem_err);
    assert_eq!(check_scrypt(2, 8, 1).unwrap_err().to_string(), mem_err);
    // N must stay below 2^(16 r).
    assert_eq!(check_scrypt(65536, 1, 1).unwrap_err().to_string(), mem_err);
    assert!(check_scrypt(32768, 1, 1).is_ok());
    assert!(check_scrypt(128, 1, 1).is_ok());
    assert!(check_scrypt(1024, 8, 2).is_ok());
    assert!(check_scrypt(1024, 0, 1).is_err());
    assert!(check_scrypt(1024, 8, 0).is_err());
    assert_eq!(
        check_scrypt(1 << 40, 8, 1).unwrap_err().to_string(),
        "maxmem must be positive and smaller than 2147483647"
    );
    assert!(check_scrypt(u64::MAX / 2 + 1, u64::MAX, u64::MAX).is_err());
}

/// Parameters Werkzeug accepts but that would cost too much per check.
#[test]
fn caps_refuse_hashes_that_cost_too_much() {
    // 2^20·8·128 bytes = 1 GiB: within Werkzeug's maxmem, above our cap.
    assert!(check_scrypt(1 << 20, 8, 1).is_err());
    // 128 MiB (OWASP's scrypt recommendation) fits; 256 MiB plus B does not.
    assert!(check_scrypt(1 << 17, 8, 1).is_ok());
    assert!(check_scrypt(1 << 18, 8, 1).is_err());
    // A huge p with a tiny n passes Werkzeug's checks but needs 1 GiB for B.
    assert!(check_scrypt(2, 1, 8_000_000).is_err());
    assert!(!check_password_hash("scrypt:1048576:8:1$salt$00", "pw"));
    assert!(generate_password_hash("pw", "scrypt:1048576:8:1", 16).is_err());
    let over = u64::from(MAX_PBKDF2_ITERATIONS) + 1;
    assert!(!check_password_hash(
        &format!("pbkdf2:sha256:{over}$s$00"),
        "pw"
    ));
    assert!(generate_password_hash("pw", &format!("pbkdf2:sha256:{over}"), 16).is_err());
    assert!(Method::parse(&format!("pbkdf2:sha256:{MAX_PBKDF2_ITERATIONS}")).is_ok());
    // n = 2^40 is refused before anything is allocated.
    assert!(!check_password_hash("scrypt:1099511627776:8:1$s$00", "pw"));
    assert!(!check_password_hash(
        "pbkdf2:sha256:99999999999999999999999$s$00",
        "pw"
    ));
}

#[test]
fn salt_length_is_checked() {
    assert_eq!(
        generate_password_hash("pw", "pbkdf2:sha256:1", 0).unwrap_err(),
        PasswordError::InvalidSaltLength(0)
    );
    assert_eq!(
        PasswordError::InvalidSaltLength(0).to_string(),
        "Salt length must be at least 1."
    );
    assert!(generate_password_hash("pw", "pbkdf2:sha256:1", MAX_SALT_LENGTH + 1).is_err());
    let hash = generate_password_hash("pw", "pbkdf2:sha256:1", MAX_SALT_LENGTH).unwrap();
    assert_eq!(fields(&hash).1.len(), MAX_SALT_LENGTH);
    let hash = generate_password_hash("pw", "pbkdf2:sha256:1", 1).unwrap();
    assert_eq!(fields(&hash).1.len(), 1);
}

/// Every SALT_CHARS character turns up: the draw covers the whole alphabet.
#[test]
fn salt_uses_the_whole_alphabet() {
    let salt = gen_salt(62 * 100).unwrap();
    assert_eq!(salt.len(), 62 * 100);
    for c in SALT_CHARS.chars() {
        assert!(salt.contains(c), "{c} never drawn");
    }
    assert!(salt.chars().all(|c| SALT_CHARS.contains(c)));
}

#[test]
fn malformed_hashes_are_false_not_panics() {
    for hash in [
        "",
        "$",
        "$$",
        "$$$",
        "scrypt",
        "scrypt$",
        "scrypt$$",
        "scrypt:::$$",
        ":::$$",
        "pbkdf2:sha1:1$salt$",
        "pbkdf2:sha256:1$salt$",
        "scrypt:1024:8:1$salt$",
        "scrypt:0:0:0$a$b",
        "scrypt:1024:8:1$salt$ünïcödé",
        "pbkdf2:sha256:+1000$s$00",
        "pbkdf2:sha256: 1000$s$00",
        "\u{0}$\u{0}$\u{0}",
    ] {
        assert!(!check_password_hash(hash, ""), "{hash:?}");
        assert!(!check_password_hash(hash, "pw"), "{hash:?}");
    }
}

/// Werkzeug compares the hex text: an upper-case digest does not match.
#[test]
fn digest_is_compared_as_lowercase_hex_text() {
    let hash = generate_password_hash("pw", "pbkdf2:sha256:1", 4).unwrap();
    let (method, salt, digest) = fields(&hash);
    assert!(check_password_hash(
        &format!("{method}${salt}${digest}"),
        "pw"
    ));
    let upper = format!("{method}${salt}${}", digest.to_ascii_uppercase());
    assert!(!check_password_hash(&upper, "pw"));
    let short = format!("{method}${salt}${}", &digest[..62]);
    assert!(!check_password_hash(&short, "pw"));
}

#[test]
fn hex_is_lowercase_like_python() {
    assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    assert_eq!(hex(&[]), "");
}
