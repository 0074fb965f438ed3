//! `generate_password_hash` and `check_password_hash`, Werkzeug's twins:
//! hashes made by a Flask app verify here and the other way round.

use rhai::{Engine, EvalAltResult};

use super::runtime_err;
use crate::passwords::{check_password_hash, generate_password_hash, DEFAULT_SALT_LENGTH};

fn generate(password: &str, method: &str, salt_length: i64) -> Result<String, Box<EvalAltResult>> {
    let salt = usize::try_from(salt_length)
        .map_err(|_| runtime_err("ValueError: salt_length must be positive"))?;
    generate_password_hash(password, method, salt)
        .map_err(|e| runtime_err(format!("ValueError: {e}")))
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("generate_password_hash", |pw: &str| {
        generate(pw, "scrypt", DEFAULT_SALT_LENGTH as i64)
    });
    engine.register_fn("generate_password_hash", |pw: &str, method: &str| {
        generate(pw, method, DEFAULT_SALT_LENGTH as i64)
    });
    engine.register_fn(
        "generate_password_hash",
        |pw: &str, method: &str, salt_length: i64| generate(pw, method, salt_length),
    );
    engine.register_fn("check_password_hash", |hash: &str, pw: &str| {
        check_password_hash(hash, pw)
    });
}
