//! itsdangerous 2.2's `URLSafeTimedSerializer`, as Flask's
//! `SecureCookieSessionInterface` configures it: HMAC key derivation
//! (`HMAC(secret_key, salt)`), an HMAC signature with SHA-1 (Flask's default)
//! or SHA-256, key rotation (the newest key signs, every key verifies), and
//! the token layout `payload.timestamp.signature`, each part base64url
//! without padding; the payload is zlib-compressed behind a leading `.` when
//! that makes it shorter.
//!
//! Tokens are byte-identical to itsdangerous's for the same keys, salt,
//! payload and timestamp: the payload is compressed by C zlib at level 6,
//! the same library and level Python's `zlib.compress` uses (a Python built
//! against zlib-ng would compress differently; its tokens still verify).
//!
//! Reading is defensive where itsdangerous is lenient: the signature is
//! checked in constant time before anything is decompressed or parsed,
//! decompression stops at [`MAX_PAYLOAD_BYTES`], and only the base64url
//! alphabet is accepted (Python skips stray characters; Flask never writes
//! any, so only forged or mangled tokens differ).

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hmac::Mac as _;

/// Largest decompressed payload accepted, in bytes (1 MiB). A browser keeps
/// cookies of at most about 4 KiB, which zlib cannot inflate past a few
/// MiB, and real sessions are far smaller; the cap stops a zip bomb (which
/// would anyway need a valid signature) from costing memory.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// The hash used for key derivation and the HMAC signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Digest {
    /// SHA-1, Flask's default (`digest_method = hashlib.sha1`).
    #[default]
    Sha1,
    /// SHA-256, for apps that set `digest_method = hashlib.sha256`.
    Sha256,
}

impl Digest {
    /// HMAC of the concatenated `parts` under `key`.
    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Digest::Sha1 => mac::<hmac::Hmac<sha1::Sha1>>(key, parts)
                .finalize()
                .into_bytes()
                .to_vec(),
            Digest::Sha256 => mac::<hmac::Hmac<sha2::Sha256>>(key, parts)
                .finalize()
                .into_bytes()
                .to_vec(),
        }
    }

    /// Whether `tag` is the HMAC of `msg` under `key`, compared in
    /// constant time (`hmac.compare_digest` in itsdangerous).
    fn verify(self, key: &[u8], msg: &[u8], tag: &[u8]) -> bool {
        match self {
            Digest::Sha1 => mac::<hmac::Hmac<sha1::Sha1>>(key, &[msg])
                .verify_slice(tag)
                .is_ok(),
            Digest::Sha256 => mac::<hmac::Hmac<sha2::Sha256>>(key, &[msg])
                .verify_slice(tag)
                .is_ok(),
        }
    }
}

fn mac<M: hmac::Mac + hmac::KeyInit>(key: &[u8], parts: &[&[u8]]) -> M {
    // HMAC accepts keys of any length (long keys are hashed), so this
    // constructor cannot fail for the HMAC types used here.
    let mut m = <M as hmac::KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m
}

/// Why a token was refused. itsdangerous raises `BadSignature` (or its
/// subclasses `BadTimeSignature`, `SignatureExpired`) or `BadPayload`;
/// Flask's session layer treats each of them as "no session".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadSignature {
    /// Not shaped like `payload.timestamp.signature`, or a part is not
    /// base64url, or the timestamp is longer than 8 bytes.
    Malformed(&'static str),
    /// No key produced this signature.
    Mismatch,
    /// Signed more than `max_age` seconds ago.
    Expired {
        /// Seconds since signing.
        age: u64,
        /// The allowed age.
        max_age: u64,
    },
    /// Signed in the future (itsdangerous: "Signature age N < 0 seconds").
    FromTheFuture {
        /// Seconds until the signing time.
        ahead: u64,
    },
    /// Correctly signed, but the payload would not decode (bad base64,
    /// corrupt or oversized zlib data, not UTF-8).
    BadPayload(&'static str),
}

impl std::fmt::Display for BadSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadSignature::Malformed(why) => write!(f, "malformed token: {why}"),
            BadSignature::Mismatch => f.write_str("signature does not match"),
            BadSignature::Expired { age, max_age } => {
                write!(f, "Signature age {age} > {max_age} seconds")
            }
            BadSignature::FromTheFuture { ahead } => {
                write!(f, "Signature age -{ahead} < 0 seconds")
            }
            BadSignature::BadPayload(why) => write!(f, "bad payload: {why}"),
        }
    }
}

impl std::error::Error for BadSignature {}

/// base64url as itsdangerous writes it: no padding. Reading tolerates
/// padding and non-zero trailing bits, as Python's decoder does.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A `URLSafeTimedSerializer` over text payloads (the JSON the caller made).
#[derive(Clone)]
pub struct Serializer {
    /// Derived signing keys, newest first (the order itsdangerous tries them).
    derived: Vec<Vec<u8>>,
    digest: Digest,
}

impl std::fmt::Debug for Serializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Serializer")
            .field("keys", &self.derived.len())
            .field("digest", &self.digest)
            .finish()
    }
}

impl Serializer {
    /// A serializer for `secret_keys`, oldest to newest (the newest signs),
    /// with `salt` (Flask's sessions use `cookie-session`). `None` when no
    /// key is given, since nothing could be signed.
    pub fn new(secret_keys: Vec<Vec<u8>>, salt: &str, digest: Digest) -> Option<Self> {
        if secret_keys.is_empty() {
            return None;
        }
        // key_derivation="hmac": HMAC(secret_key, salt), computed once here
        // instead of on every request.
        let derived = secret_keys
            .iter()
            .rev()
            .map(|k| digest.hmac(k, &[salt.as_bytes()]))
            .collect();
        Some(Serializer { derived, digest })
    }

    /// Signs `payload_json` as if at `timestamp` (seconds since the epoch).
    pub fn dumps(&self, payload_json: &str, timestamp: u64) -> String {
        let json = payload_json.as_bytes();
        let mut token = String::new();
        match compress(json) {
            // Compressed only when that saves at least two bytes, as
            // itsdangerous decides it (`len(compressed) < len(json) - 1`).
            Some(z) if z.len() + 1 < json.len() => {
                token.push('.');
                token.push_str(&B64.encode(z));
            }
            _ => token.push_str(&B64.encode(json)),
        }
        token.push('.');
        // int_to_bytes: big-endian with leading zero bytes stripped.
        let ts = timestamp.to_be_bytes();
        let first = ts.iter().position(|b| *b != 0).unwrap_or(ts.len());
        token.push_str(&B64.encode(&ts[first..]));
        let newest = self.derived.first().map_or(&[][..], Vec::as_slice);
        let sig = self.digest.hmac(newest, &[token.as_bytes()]);
        token.push('.');
        token.push_str(&B64.encode(sig));
        token
    }

    /// Verifies `token` and returns its payload text. `max_age` (seconds)
    /// refuses tokens signed longer ago than that, or in the future, judged
    /// at `now` (seconds since the epoch).
    pub fn loads(
        &self,
        token: &str,
        max_age: Option<u64>,
        now: u64,
    ) -> Result<String, BadSignature> {
        // 1. The signature, before anything else is looked at.
        let (signed, sig) = token
            .rsplit_once('.')
            .ok_or(BadSignature::Malformed("no '.' found in value"))?;
        let sig = B64.decode(sig).map_err(|_| BadSignature::Mismatch)?;
        let ok = self
            .derived
            .iter()
            .any(|key| self.digest.verify(key, signed.as_bytes(), &sig));
        if !ok {
            return Err(BadSignature::Mismatch);
        }
        // 2. The timestamp.
        let (payload, ts) = signed
            .rsplit_once('.')
            .ok_or(BadSignature::Malformed("timestamp missing"))?;
        let ts = B64
            .decode(ts)
            .ok()
            .filter(|b| b.len() <= 8)
            .ok_or(BadSignature::Malformed("malformed timestamp"))?;
        let ts = ts.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if let Some(max_age) = max_age {
            if now < ts {
                return Err(BadSignature::FromTheFuture { ahead: ts - now });
            }
            let age = now - ts;
            if age > max_age {
                return Err(BadSignature::Expired { age, max_age });
            }
        }
        // 3. The payload.
        let (compressed, payload) = match payload.strip_prefix('.') {
            Some(p) => (true, p),
            None => (false, payload),
        };
        let mut bytes = B64
            .decode(payload)
            .map_err(|_| BadSignature::BadPayload("invalid base64"))?;
        if compressed {
            bytes = inflate_bounded(&bytes, MAX_PAYLOAD_BYTES)?;
        } else if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(BadSignature::BadPayload("payload too large"));
        }
        String::from_utf8(bytes).map_err(|_| BadSignature::BadPayload("payload is not UTF-8"))
    }
}

/// `zlib.compress(data)`: a zlib stream at the default level (6).
///
/// Every session save calls this (itsdangerous compresses to see whether it
/// pays), and a deflate state is about 270 KiB that zlib zeroes: made anew
/// per call it cost more than the rest of the request (allocation, page
/// faults, the allocator handing it back). So each thread keeps one and
/// resets it.
fn compress(data: &[u8]) -> Option<Vec<u8>> {
    use std::cell::RefCell;
    thread_local! {
        static DEFLATE: RefCell<flate2::Compress> =
            RefCell::new(flate2::Compress::new(flate2::Compression::new(6), true));
    }
    DEFLATE.with_borrow_mut(|z| {
        z.reset();
        // zlib's bound for one call: the input, 5 bytes per 16 KiB block,
        // the header and the checksum, with room to spare.
        let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 64);
        loop {
            let consumed = usize::try_from(z.total_in()).ok()?;
            let status = z
                .compress_vec(
                    data.get(consumed..)?,
                    &mut out,
                    flate2::FlushCompress::Finish,
                )
                .ok()?;
            if status == flate2::Status::StreamEnd {
                return Some(out);
            }
            out.reserve(out.capacity().max(64));
        }
    })
}

/// Inflates one zlib stream, refusing output beyond `limit` bytes and
/// streams that are corrupt or cut short (as `zlib.decompress` refuses
/// them). Bytes after the end of the stream are ignored, as Python does.
fn inflate_bounded(input: &[u8], limit: usize) -> Result<Vec<u8>, BadSignature> {
    let corrupt = BadSignature::BadPayload("could not zlib decompress the payload");
    let mut z = flate2::Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity((input.len() * 4).clamp(64, limit + 1));
    loop {
        if out.len() == out.capacity() {
            // Grow geometrically but never past limit + 1: one byte over
            // the limit is enough to know the payload is too large.
            let room = out.capacity().min(limit + 1 - out.len()).max(1);
            out.reserve_exact(room);
        }
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let rest = input.get(consumed..).ok_or_else(|| corrupt.clone())?;
        let before = out.len();
        let status = z
            .decompress_vec(rest, &mut out, flate2::FlushDecompress::None)
            .map_err(|_| corrupt.clone())?;
        if out.len() > limit {
            return Err(BadSignature::BadPayload("decompressed payload too large"));
        }
        if status == flate2::Status::StreamEnd {
            return Ok(out);
        }
        let stuck = out.len() == before
            && usize::try_from(z.total_in()).unwrap_or(usize::MAX) == consumed
            && out.len() < out.capacity();
        if stuck {
            // No input left to make progress with: the stream was cut short.
            return Err(corrupt);
        }
    }
}

#[cfg(test)]
mod tests;
