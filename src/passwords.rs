//! Password hashing: the twins of Werkzeug 3.1's
//! `werkzeug.security.generate_password_hash` and `check_password_hash`.
//!
//! Hashes are written in Werkzeug's own format, `method$salt$hexdigest`, so a
//! user table migrated from a Flask app keeps working in both directions:
//!
//! - `scrypt:32768:8:1$<salt>$<128 hex chars>`: scrypt with `n`, `r`, `p`
//!   and a 64-byte key (Python's `hashlib.scrypt` default), the default
//!   method;
//! - `pbkdf2:sha256:1000000$<salt>$<64 hex chars>`: PBKDF2-HMAC with the
//!   digest's own output length (`hashlib.pbkdf2_hmac`'s default). `sha1`,
//!   `sha224`, `sha384` and `sha512` are accepted too; other `hashlib` names
//!   (`md5`, `sha3_256`, ...) are not.
//!
//! The salt is [`DEFAULT_SALT_LENGTH`] characters drawn uniformly from
//! [`SALT_CHARS`] with the operating system's random generator; salt and
//! password enter the key derivation as UTF-8, as in Werkzeug.
//!
//! ```
//! use flaskrs::passwords::{check_password_hash, generate_password_hash};
//!
//! // Low-cost parameters for the example; use "scrypt" (the default) in apps.
//! let hash = generate_password_hash("hunter2", "scrypt:1024:8:1", 16).unwrap();
//! assert!(hash.starts_with("scrypt:1024:8:1$"));
//! assert!(check_password_hash(&hash, "hunter2"));
//! assert!(!check_password_hash(&hash, "hunter3"));
//! ```
//!
//! # Limits
//!
//! Werkzeug accepts whatever Python's `hashlib` accepts; this module accepts
//! the same parameters, checked the same way (so every hash generated here
//! verifies in Werkzeug), within caps that keep one check from exhausting
//! the host. A stored hash is data: a corrupted or hostile one must not make
//! a login request allocate gigabytes or spin for minutes.
//!
//! - scrypt: `n` a power of two above 1, `r`, `p` ≥ 1, and Python's
//!   `maxmem = 132·n·r·p` below 2³¹ with OpenSSL's own checks against it
//!   (these are Werkzeug's limits; `scrypt:64:8:1` fails there too). On top,
//!   the working memory `128·r·(n + p)` is capped at [`MAX_SCRYPT_MEMORY`]
//!   (256 MiB, eight times the default's 32 MiB).
//! - pbkdf2: iterations from 1 to [`MAX_PBKDF2_ITERATIONS`] (ten times
//!   Werkzeug's default).
//! - salt length: 1 to [`MAX_SALT_LENGTH`] characters when generating.
//! - numbers in a method are plain ASCII digits (Werkzeug's own output);
//!   Python's `int()` would also take `+`, `_` and spaces.
//!
//! Beyond these, [`check_password_hash`] answers `false` (where Werkzeug
//! would raise) and [`generate_password_hash`] returns a [`PasswordError`].

use std::fmt;

use ctutils::CtEq;
use sha2::{Sha224, Sha256, Sha384, Sha512};

/// The characters Werkzeug draws salts from (`werkzeug.security.SALT_CHARS`).
pub const SALT_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Werkzeug 3.1's default salt length (`salt_length=16`).
pub const DEFAULT_SALT_LENGTH: usize = 16;

/// Werkzeug 3.1's `DEFAULT_PBKDF2_ITERATIONS`, used by `"pbkdf2"` and
/// `"pbkdf2:<hash>"`.
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 1_000_000;

/// Werkzeug's scrypt defaults: `n = 2**15`, `r = 8`, `p = 1`.
pub const DEFAULT_SCRYPT_PARAMS: (u64, u32, u32) = (1 << 15, 8, 1);

/// The longest salt [`generate_password_hash`] makes (Werkzeug has no cap).
pub const MAX_SALT_LENGTH: usize = 1024;

/// The most PBKDF2 iterations accepted, when generating and checking.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// The most working memory (`128·r·(n + p)` bytes) one scrypt hash may use.
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;

/// Python's `hashlib.scrypt` rejects a `maxmem` above C's `INT_MAX`.
const PYTHON_MAXMEM_LIMIT: u128 = i32::MAX as u128;

/// Why a password hash could not be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordError {
    /// The method is not `scrypt[:n:r:p]` or `pbkdf2[:hash[:iterations]]`,
    /// or its parameters are malformed or out of range; the message follows
    /// Werkzeug's `ValueError` where it has one.
    InvalidMethod(String),
    /// The salt length is 0 or above [`MAX_SALT_LENGTH`].
    InvalidSaltLength(usize),
    /// The operating system's random generator failed.
    Random(String),
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordError::InvalidMethod(msg) => f.write_str(msg),
            PasswordError::InvalidSaltLength(0) => f.write_str("Salt length must be at least 1."),
            PasswordError::InvalidSaltLength(n) => {
                write!(
                    f,
                    "Salt length {n} is above the limit of {MAX_SALT_LENGTH}."
                )
            }
            PasswordError::Random(msg) => write!(f, "random generator failed: {msg}"),
        }
    }
}

impl std::error::Error for PasswordError {}

/// Hashes `password` for storage, like Werkzeug's
/// `generate_password_hash(password, method, salt_length)`.
///
/// `method` is `"scrypt"` (Werkzeug's default, `scrypt:32768:8:1`),
/// `"scrypt:N:R:P"`, `"pbkdf2"` (`pbkdf2:sha256:1000000`), `"pbkdf2:HASH"` or
/// `"pbkdf2:HASH:ITERATIONS"`; the stored method always spells out every
/// parameter, as Werkzeug's does. Pass [`DEFAULT_SALT_LENGTH`] for
/// Werkzeug's default salt.
///
/// # Errors
/// [`PasswordError`] for an unknown method, parameters outside the module's
/// [limits](self#limits), a salt length of 0 or above [`MAX_SALT_LENGTH`],
/// or a failing random generator.
pub fn generate_password_hash(
    password: &str,
    method: &str,
    salt_length: usize,
) -> Result<String, PasswordError> {
    if salt_length == 0 || salt_length > MAX_SALT_LENGTH {
        return Err(PasswordError::InvalidSaltLength(salt_length));
    }
    let method = Method::parse(method)?;
    let salt = gen_salt(salt_length)?;
    let digest = method
        .derive(password.as_bytes(), salt.as_bytes())
        .ok_or_else(|| invalid("scrypt rejected its parameters."))?;
    Ok(format!("{}${salt}${}", method.canonical(), hex(&digest)))
}

/// Checks `password` against a hash made by [`generate_password_hash`] or by
/// Werkzeug, like Werkzeug's `check_password_hash(pwhash, password)`.
///
/// Never panics: a malformed hash, an unknown method or parameters outside
/// the module's [limits](self#limits) give `false`. The digests are compared
/// in constant time (Python's `hmac.compare_digest`), as lowercase hex text,
/// exactly as Werkzeug compares them.
#[must_use]
pub fn check_password_hash(pwhash: &str, password: &str) -> bool {
    // Werkzeug: `pwhash.split("$", 2)`: the digest field keeps any further '$'.
    let mut parts = pwhash.splitn(3, '$');
    let (Some(method), Some(salt), Some(stored)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(method) = Method::parse(method) else {
        return false;
    };
    let Some(digest) = method.derive(password.as_bytes(), salt.as_bytes()) else {
        return false;
    };
    hex(&digest).as_bytes().ct_eq(stored.as_bytes()).into()
}

/// A parsed, validated hashing method.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Method {
    Scrypt {
        n: u64,
        r: u32,
        p: u32,
    },
    Pbkdf2 {
        digest: Digest,
        /// The hash name as written: Werkzeug keeps the caller's spelling
        /// (`pbkdf2:SHA256:...` stays upper case).
        name: String,
        iterations: u32,
    },
}

/// The digests PBKDF2 may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digest {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Method {
    /// Parses and validates `method`, following Werkzeug's `_hash_internal`.
    fn parse(method: &str) -> Result<Method, PasswordError> {
        let mut args = method.split(':');
        let name = args.next().unwrap_or_default();
        let args: Vec<&str> = args.collect();
        match name {
            "scrypt" => {
                let (n, r, p) = match args.as_slice() {
                    [] => DEFAULT_SCRYPT_PARAMS,
                    [n, r, p] => match (parse_int(n), parse_int(r), parse_int(p)) {
                        (Some(n), Some(r), Some(p)) => check_scrypt(n, r, p)?,
                        _ => return Err(invalid("'scrypt' takes 3 arguments.")),
                    },
                    _ => return Err(invalid("'scrypt' takes 3 arguments.")),
                };
                Ok(Method::Scrypt { n, r, p })
            }
            "pbkdf2" => {
                let (hash_name, iterations) = match args.as_slice() {
                    [] => ("sha256", DEFAULT_PBKDF2_ITERATIONS),
                    [hash_name] => (*hash_name, DEFAULT_PBKDF2_ITERATIONS),
                    [hash_name, iterations] => {
                        let iterations = parse_int(iterations).ok_or_else(|| {
                            invalid(&format!("invalid pbkdf2 iterations '{iterations}'"))
                        })?;
                        (*hash_name, check_iterations(iterations)?)
                    }
                    _ => return Err(invalid("'pbkdf2' takes 2 arguments.")),
                };
                let digest = match hash_name.to_ascii_lowercase().as_str() {
                    "sha1" => Digest::Sha1,
                    "sha224" => Digest::Sha224,
                    "sha256" => Digest::Sha256,
                    "sha384" => Digest::Sha384,
                    "sha512" => Digest::Sha512,
                    _ => return Err(invalid(&format!("unsupported hash type {hash_name}"))),
                };
                Ok(Method::Pbkdf2 {
                    digest,
                    name: hash_name.to_owned(),
                    iterations,
                })
            }
            _ => Err(invalid(&format!("Invalid hash method '{name}'."))),
        }
    }

    /// The method as stored in the hash, every parameter spelled out.
    fn canonical(&self) -> String {
        match self {
            Method::Scrypt { n, r, p } => format!("scrypt:{n}:{r}:{p}"),
            Method::Pbkdf2 {
                name, iterations, ..
            } => format!("pbkdf2:{name}:{iterations}"),
        }
    }

    /// The derived key: 64 bytes for scrypt, the digest size for PBKDF2.
    /// `None` only if the scrypt crate rejects parameters that
    /// `check_scrypt` admitted (a broken invariant, not an input error).
    fn derive(&self, password: &[u8], salt: &[u8]) -> Option<Vec<u8>> {
        match *self {
            Method::Scrypt { n, r, p } => {
                let mut out = vec![0u8; 64];
                let log_n = u8::try_from(n.trailing_zeros()).ok()?;
                let params = scrypt::Params::new(log_n, r, p).ok()?;
                scrypt::scrypt(password, salt, &params, &mut out).ok()?;
                Some(out)
            }
            Method::Pbkdf2 {
                digest, iterations, ..
            } => {
                let (len, f): (usize, Pbkdf2Fn) = match digest {
                    Digest::Sha1 => (20, pbkdf2::pbkdf2_hmac::<sha1::Sha1>),
                    Digest::Sha224 => (28, pbkdf2::pbkdf2_hmac::<Sha224>),
                    Digest::Sha256 => (32, pbkdf2::pbkdf2_hmac::<Sha256>),
                    Digest::Sha384 => (48, pbkdf2::pbkdf2_hmac::<Sha384>),
                    Digest::Sha512 => (64, pbkdf2::pbkdf2_hmac::<Sha512>),
                };
                let mut out = vec![0u8; len];
                f(password, salt, iterations, &mut out);
                Some(out)
            }
        }
    }
}

/// `pbkdf2::pbkdf2_hmac::<D>` for one digest `D`.
type Pbkdf2Fn = fn(&[u8], &[u8], u32, &mut [u8]);

fn invalid(msg: &str) -> PasswordError {
    PasswordError::InvalidMethod(msg.to_owned())
}

/// A non-negative decimal as Werkzeug writes it: ASCII digits only.
fn parse_int(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn check_iterations(iterations: u64) -> Result<u32, PasswordError> {
    if iterations == 0 {
        return Err(invalid("iteration value must be greater than 0."));
    }
    match u32::try_from(iterations) {
        Ok(i) if i <= MAX_PBKDF2_ITERATIONS => Ok(i),
        _ => Err(invalid(&format!(
            "pbkdf2 iterations {iterations} are above the limit of {MAX_PBKDF2_ITERATIONS}"
        ))),
    }
}

/// Applies the checks Python's `hashlib.scrypt` and OpenSSL make for
/// Werkzeug's `maxmem = 132 * n * r * p`, then this module's memory cap.
fn check_scrypt(n: u64, r: u64, p: u64) -> Result<(u64, u32, u32), PasswordError> {
    if n < 2 || !n.is_power_of_two() {
        return Err(invalid("n must be a power of 2."));
    }
    if r == 0 || p == 0 {
        return Err(invalid("scrypt r and p must be positive."));
    }
    let (n128, r128, p128) = (u128::from(n), u128::from(r), u128::from(p));
    // Three u64 factors can overflow u128: checked, and an overflow is far
    // above the limit anyway. Past this check every product below is small.
    let maxmem = [n128, r128, p128]
        .iter()
        .try_fold(132u128, |acc, &x| acc.checked_mul(x))
        .unwrap_or(u128::MAX);
    if maxmem > PYTHON_MAXMEM_LIMIT {
        return Err(invalid(
            "maxmem must be positive and smaller than 2147483647",
        ));
    }
    // OpenSSL's EVP_PBE_scrypt: N < 2^(16 r) (RFC 7914), then B and V
    // (128·r·p + 128·r·(N + 2) bytes) must fit in maxmem.
    let rfc_bound = 16 * r128 < 64 && n128 >= 1u128 << (16 * r128);
    if rfc_bound || 128 * r128 * (n128 + 2 + p128) > maxmem {
        return Err(invalid("[digital envelope routines] memory limit exceeded"));
    }
    if 128 * r128 * (n128 + p128) > u128::from(MAX_SCRYPT_MEMORY) {
        return Err(invalid(&format!(
            "scrypt:{n}:{r}:{p} needs more than the {MAX_SCRYPT_MEMORY}-byte memory cap"
        )));
    }
    // maxmem < 2^31 bounds r and p far below u32::MAX.
    match (u32::try_from(r), u32::try_from(p)) {
        (Ok(r), Ok(p)) => Ok((n, r, p)),
        _ => Err(invalid("scrypt r and p are too large.")),
    }
}

/// `length` characters drawn uniformly from [`SALT_CHARS`], like Werkzeug's
/// `gen_salt` (which uses `secrets.choice`).
fn gen_salt(length: usize) -> Result<String, PasswordError> {
    let chars = SALT_CHARS.as_bytes();
    // Bytes at or above the largest multiple of 62 are rejected so every
    // character is equally likely (no modulo bias).
    let limit = 256 - 256 % chars.len();
    let mut salt = String::with_capacity(length);
    let mut buf = [0u8; 64];
    while salt.len() < length {
        getrandom::fill(&mut buf).map_err(|e| PasswordError::Random(e.to_string()))?;
        for &b in &buf {
            if usize::from(b) < limit && salt.len() < length {
                salt.push(char::from(chars[usize::from(b) % chars.len()]));
            }
        }
    }
    Ok(salt)
}

/// Lowercase hex, as Python's `bytes.hex()`.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests;
