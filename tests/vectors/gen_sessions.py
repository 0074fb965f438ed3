"""Generates tests/vectors/sessions.json from Flask 3.1.3 / itsdangerous 2.2.

Run from the repository root: python3 tests/vectors/gen_sessions.py
The Rust unit tests read the committed JSON; they never run Python.
"""

import hashlib
import importlib.metadata
import json
import uuid
import warnings
from datetime import datetime, timezone, timedelta

import flask
import flask.sessions
import itsdangerous.timed
from markupsafe import Markup
from flask.sessions import SecureCookieSessionInterface, session_json_serializer

TS = 1700000000  # fixed signing time
NOW = datetime.fromtimestamp(TS, tz=timezone.utc)


class FixedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW


itsdangerous.timed.time.time = lambda: TS  # TimestampSigner.get_timestamp
flask.sessions.datetime = FixedDatetime  # get_expiration_time


class Sha256Interface(SecureCookieSessionInterface):
    digest_method = staticmethod(hashlib.sha256)


def make_app(digest, key, fallbacks=(), **config):
    app = flask.Flask("vectors")
    app.secret_key = key
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    app.config.update(config)
    if digest == "sha256":
        app.session_interface = Sha256Interface()
    return app


def serializer(app):
    return app.session_interface.get_signing_serializer(app)


SESSIONS = {
    "plain": {"user": "alice", "n": 42, "ok": True, "none": None, "f": 1.5},
    "compressed": {"history": ["page-%d" % (i % 5) for i in range(60)]},
    "flashes": {"_flashes": [("message", "Hello"), ("error", Markup("<b>bad</b>"))]},
    "nested": {"a": {"b": [1, 2.25, {"c": "d"}], "e": []}, "z": [[], {}], "big": 2**62},
    "unicode": {"name": "Jos\u00e9 \u2603 \U0001F600", "\u00e9": "key"},
    "tags": {
        "t": (1, "two", (3,)),
        "b": b"\x00\xffbytes",
        "m": Markup("<i>x</i>"),
        "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "d": datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc),
        "tagkey": {" t": [1]},
        "dikey": {" di": "x"},
        "notag": {" x": 1},
        "two": {" t": 1, "y": 2},
    },
    "floats": {"f": [0.1, 1e16, 1e-7, -0.0, 123456789.0]},
    "permanent": {"_permanent": True, "user": "bob"},
    "single_tag_top": {" t": "top"},
    "escapes": {"s": "a\"b\\c\n\t\u0001</script>"},
}

cases = []
for digest in ("sha1", "sha256"):
    for name, data in SESSIONS.items():
        app = make_app(digest, "secret-" + digest)
        with app.app_context():
            s = serializer(app)
            cookie = s.dumps(dict(data))
            payload = session_json_serializer.dumps(dict(data))
        cases.append({
            "name": name, "digest": digest, "keys": ["secret-" + digest],
            "timestamp": TS, "payload": payload, "cookie": cookie,
        })
    # Key rotation: old cookie signed by a fallback key, new ones by the newest key.
    old = make_app(digest, "old-key")
    with old.app_context():
        old_cookie = serializer(old).dumps({"user": "rotated"})
    rotated = make_app(digest, "new-key", fallbacks=["older-key", "old-key"])
    with rotated.app_context():
        s = serializer(rotated)
        assert s.loads(old_cookie) == {"user": "rotated"}
        new_cookie = s.dumps({"user": "rotated"})
        payload = session_json_serializer.dumps({"user": "rotated"})
    cases.append({
        "name": "fallback_verifies", "digest": digest,
        "keys": ["older-key", "old-key", "new-key"], "timestamp": TS,
        "payload": payload, "cookie": old_cookie, "decode_only": True,
    })
    cases.append({
        "name": "newest_signs", "digest": digest,
        "keys": ["older-key", "old-key", "new-key"], "timestamp": TS,
        "payload": payload, "cookie": new_cookie,
    })

# Whole responses: the Set-Cookie and Vary headers Flask 3.1.3 writes.
def run(config, view, cookie=None, digest="sha1"):
    app = make_app(digest, "resp-key", **config)
    app.add_url_rule("/", "v", view)
    client = app.test_client()
    if cookie is not None:
        client.set_cookie("session" if "SESSION_COOKIE_NAME" not in config else config["SESSION_COOKIE_NAME"], cookie)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        resp = client.get("/")
    headers = [[k, v] for k, v in resp.headers if k in ("Set-Cookie", "Vary")]
    return headers, [str(x.message) for x in w]


def view_set():
    flask.session["user"] = "alice"
    return "ok"

def view_permanent():
    flask.session.permanent = True
    flask.session["user"] = "alice"
    return "ok"

def view_clear():
    flask.session.clear()
    return "ok"

def view_read():
    flask.session.get("user")
    return "ok"

def view_none():
    return "ok"

def view_big():
    flask.session["blob"] = "".join("%08x" % (i * 2654435761 % 2**32) for i in range(1200))
    return "ok"

app0 = make_app("sha1", "resp-key")
with app0.app_context():
    s0 = serializer(app0)
    existing = s0.dumps({"user": "alice"})
    existing_perm = s0.dumps({"_permanent": True, "user": "alice"})

odd = {
    "SESSION_COOKIE_DOMAIN": ".Example.com:8080",
    "SESSION_COOKIE_PATH": "/app x;y",
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_HTTPONLY": False,
    "SESSION_COOKIE_SAMESITE": "lax",
    "SESSION_COOKIE_PARTITIONED": True,
    "SESSION_COOKIE_NAME": "sid",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=1),
}
responses = []
for name, config, view, cookie in [
    ("set", {}, view_set, None),
    ("permanent", {}, view_permanent, None),
    ("permanent_odd_config", odd, view_permanent, None),
    ("clear_existing", {}, view_clear, existing),
    ("clear_existing_odd_config", odd, view_clear, existing),
    ("clear_nothing", {}, view_clear, None),
    ("read_only", {}, view_read, existing),
    ("untouched", {}, view_none, existing),
    ("refresh_permanent", {}, view_none, existing_perm),
    ("no_refresh_permanent", {"SESSION_REFRESH_EACH_REQUEST": False}, view_none, existing_perm),
    ("big", {}, view_big, None),
]:
    headers, warns = run(config, view, cookie)
    responses.append({"name": name, "config": {k: (v.total_seconds() if isinstance(v, timedelta) else v) for k, v in config.items()},
                      "cookie": cookie, "headers": headers, "warnings": warns})

out = {
    "generated_by": "tests/vectors/gen_sessions.py with Flask %s" % importlib.metadata.version("flask"),
    "now": TS,
    "cookies": cases,
    "responses": responses,
}
with open("tests/vectors/sessions.json", "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=True)
    f.write("\n")
print(len(cases), "cookies,", len(responses), "responses")
