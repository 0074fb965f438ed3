"""Generates tests/vectors/passwords.json from Werkzeug 3.1's security module.

Run from the repository root: python3 tests/vectors/gen_passwords.py
The Rust unit tests (src/passwords/tests.rs) read the committed JSON; they
never run Python. Salts are random, so each run gives new (equally valid)
hashes.
"""

import importlib.metadata
import json

from werkzeug.security import (
    DEFAULT_PBKDF2_ITERATIONS,
    SALT_CHARS,
    _hash_internal,
    check_password_hash,
    generate_password_hash,
)

PASSWORDS = [
    "secret",
    "",
    "pässwörd",
    "密码🔑",
    "with $dollar: and colon",
    "a" * 200,
]

# Low-cost parameters keep the debug-build tests fast; the defaults are
# covered by one vector each.
METHODS = [
    ("scrypt:1024:8:1", 16),
    ("scrypt:2048:4:2", 8),
    ("scrypt:128:1:1", 1),
    ("scrypt:1024:16:1", 32),
    ("pbkdf2:sha256:1000", 16),
    ("pbkdf2:sha256:1", 4),
    ("pbkdf2:sha1:1000", 16),
    ("pbkdf2:sha224:700", 16),
    ("pbkdf2:sha384:600", 16),
    ("pbkdf2:sha512:500", 16),
    ("pbkdf2:SHA256:1000", 16),
]

matching = []
for i, (method, salt_length) in enumerate(METHODS):
    for password in PASSWORDS[i % 3 :: 2]:
        pwhash = generate_password_hash(password, method, salt_length)
        assert check_password_hash(pwhash, password)
        matching.append({"password": password, "hash": pwhash})

# Werkzeug's default scrypt cost is cheap enough for every test run (the
# scrypt crate is optimised in debug builds); its default pbkdf2 cost (1M
# rounds) takes seconds in a debug build, so it sits apart for an ignored test.
pwhash = generate_password_hash("correct horse")
matching.append({"password": "correct horse", "hash": pwhash})
default_pbkdf2 = {
    "password": "correct horse",
    "hash": generate_password_hash("correct horse", "pbkdf2"),
}

# A salt outside SALT_CHARS (hand-made hashes, other libraries): Werkzeug
# encodes it as UTF-8 like the password.
for method in ("scrypt:1024:8:1", "pbkdf2:sha256:1000"):
    h, actual = _hash_internal(method, "sälz", "pw")
    matching.append({"password": "pw", "hash": f"{actual}$sälz${h}"})
# An empty salt.
h, actual = _hash_internal("pbkdf2:sha256:1000", "", "pw")
matching.append({"password": "pw", "hash": f"{actual}$${h}"})


def werkzeug_check(pwhash, password):
    """check_password_hash, with Werkzeug's exceptions counted as False."""
    try:
        return check_password_hash(pwhash, password)
    except (ValueError, TypeError):
        return False


good = generate_password_hash("pw", "pbkdf2:sha256:1000", 8)
method, salt, hexval = good.split("$")
CASES = [
    good,
    good.upper(),  # hex compared as text: case matters
    f"{method}${salt}${hexval[:-2]}",  # truncated digest
    f"{method}${salt}${hexval}00",  # longer digest
    f"{method}${salt}",  # no digest field
    f"{method}",
    "",
    "$$",
    f"pbkdf2:sha1:1000${salt}${hexval}",  # another digest
    f"pbkdf2:sha256:1001${salt}${hexval}",  # other iterations
    f"pbkdf2:sha256:abc${salt}${hexval}",
    f"pbkdf2:sha256:0${salt}${hexval}",
    f"pbkdf2:sha256:1000:1${salt}${hexval}",
    f"pbkdf2:md4:1000${salt}${hexval}",
    f"pbkdf2:${salt}${hexval}",
    f"scrypt:1000:8:1${salt}${hexval}",  # n not a power of two
    f"scrypt:1024:8${salt}${hexval}",
    f"scrypt:1024:0:1${salt}${hexval}",
    f"scrypt:64:8:1${salt}${hexval}",  # OpenSSL's memory limit
    f"scrypt:65536:1:1${salt}${hexval}",  # N >= 2**(16 r)
    f"scrypt:1099511627776:8:1${salt}${hexval}",  # 2**40
    f"plain${salt}${hexval}",
    f"sha256${salt}${hexval}",
    f"md5${salt}${hexval}",
    f"{method}${salt}${hexval}$extra",  # '$' belongs to the digest field
]
checks = [
    {"hash": h, "password": "pw", "result": werkzeug_check(h, "pw")} for h in CASES
]
checks.append({"hash": good, "password": "PW", "result": werkzeug_check(good, "PW")})
checks.append({"hash": good, "password": "pw ", "result": werkzeug_check(good, "pw ")})

out = {
    "werkzeug": importlib.metadata.version("werkzeug"),
    "salt_chars": SALT_CHARS,
    "default_pbkdf2_iterations": DEFAULT_PBKDF2_ITERATIONS,
    "default_scrypt": generate_password_hash("x").split("$")[0],
    "matching": matching,
    "default_pbkdf2": default_pbkdf2,
    "checks": checks,
}
with open("tests/vectors/passwords.json", "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
