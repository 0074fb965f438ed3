"""Regenerates tests/vectors/static_files.json: the responses Flask 3.1.3 /
Werkzeug 3.1 give for static files, plus Werkzeug's safe_join and ETag values.

Run from the repo root:
    python3 tests/vectors/gen_static.py > tests/vectors/static_files.json
src/static_files tests read the JSON; they never need Python. Files get a fixed
mtime (ns precision) so Last-Modified and the ETag's mtime part are fixed; the
ETag's checksum part depends on the absolute path, recorded as "root".
"""
import json
import os
import tempfile
import zlib

import flask
from werkzeug.security import safe_join

MTIME_NS = 1700000000_123456789

FILES = {
    "style.css": b"body { color: red; }\n",
    "app.js": b"console.log('hi');\n",
    "data.json": b'{"a": 1}\n',
    "notes.txt": b"0123456789abcdefghij",
    "empty.txt": b"",
    "pic.png": b"\x89PNG\r\n\x1a\n\x00\x01",
    "logo.svg": b"<svg/>",
    "feed.xml": b"<a/>",
    "page.xhtml": b"<p/>",
    "font.woff2": b"wOF2",
    "bundle.css.gz": b"\x1f\x8b",
    "archive.tgz": b"\x1f\x8b",
    "sub/page.html": b"<p>hi</p>",
    "script.rhai": b"fn x() {}",
    "file name.txt": b"spaces",
    "r\xc3\xa9sum\xc3\xa9.txt".encode("latin-1").decode("utf-8"): b"accent",
}


def main():
    with tempfile.TemporaryDirectory() as root:
        root = os.path.realpath(root)
        static = os.path.join(root, "static")
        for name, data in FILES.items():
            p = os.path.join(static, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
            os.utime(p, ns=(MTIME_NS, MTIME_NS))

        app = flask.Flask("gen", root_path=root)

        @app.route("/dl/<path:name>", methods=["GET", "POST"])
        def dl(name):
            return flask.send_from_directory("static", name, as_attachment=True)

        @app.route("/named/<path:name>")
        def named(name):
            return flask.send_from_directory(
                "static", name, download_name=flask.request.args["n"]
            )

        @app.route("/cached/<path:name>")
        def cached(name):
            return flask.send_from_directory("static", name, max_age=int(flask.request.args["age"]))

        @app.route("/plain/<path:name>")
        def plain(name):
            return flask.send_from_directory(
                "static", name, conditional=False, etag=False, mimetype="text/x-custom"
            )

        client = app.test_client()
        lm = "Tue, 14 Nov 2023 22:13:20 GMT"
        cases = []

        def case(route, name, opts, method="GET", headers=(), query=""):
            url = f"/{route}/{name}" + (f"?{query}" if query else "")
            rv = client.open(url, method=method, headers=list(headers))
            cases.append(
                {
                    "route": route,
                    "name": name,
                    "opts": opts,
                    "method": method,
                    "request_headers": [list(h) for h in headers],
                    "status": rv.status_code,
                    "headers": [list(h) for h in rv.headers.items()],
                    "body": rv.get_data().decode("latin-1"),
                }
            )
            return rv

        first = case("static", "style.css", {})
        etag = first.headers["ETag"]
        for name in FILES:
            if name != "style.css":
                case("static", name, {})
        case("static", "style.css", {}, method="HEAD")
        case("static", "style.css", {}, headers=[("If-None-Match", etag)])
        case("static", "style.css", {}, method="HEAD", headers=[("If-None-Match", etag)])
        case("static", "style.css", {}, headers=[("If-None-Match", "W/" + etag)])
        case("static", "style.css", {}, headers=[("If-None-Match", f'"x", {etag}')])
        case("static", "style.css", {}, headers=[("If-None-Match", '"other"')])
        case("static", "style.css", {}, headers=[("If-None-Match", "*")])
        case("static", "style.css", {}, headers=[("If-Modified-Since", lm)])
        case("static", "style.css", {}, headers=[("If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT")])
        case("static", "style.css", {}, headers=[("If-Modified-Since", "Tue, 14 Nov 2023 22:13:19 GMT")])
        case("static", "style.css", {}, headers=[("If-Modified-Since", "Tuesday, 14-Nov-23 22:13:20 GMT")])
        case("static", "style.css", {}, headers=[("If-Modified-Since", "Tue Nov 14 22:13:20 2023")])
        case("static", "style.css", {}, headers=[("If-Modified-Since", "Tue, 14 Nov 2023 23:13:20 +0100")])
        case("static", "style.css", {}, headers=[("If-Modified-Since", "garbage")])
        case("static", "style.css", {}, headers=[("If-None-Match", '"other"'), ("If-Modified-Since", lm)])
        case("static", "style.css", {}, headers=[("If-Match", etag)])
        case("static", "style.css", {}, headers=[("If-Match", '"nope"')])
        case("static", "style.css", {}, headers=[("If-Match", '"nope"'), ("If-None-Match", etag)])
        for rng in [
            "bytes=0-3", "bytes=-5", "bytes=5-", "bytes=15-100", "bytes=0-0", "bytes=19-19",
            "bytes=20-", "bytes=100-200", "bytes=-0", "bytes=-100", "bytes=0-1,3-4", "bytes=4-2",
            "foo", "items=0-3", "bytes=a-b", "bytes= 2 - 4 ", "BYTES=1-2", "bytes=+1-2",
        ]:
            case("static", "notes.txt", {}, headers=[("Range", rng)])
        case("static", "notes.txt", {}, method="HEAD", headers=[("Range", "bytes=0-3")])
        notes_etag = client.get("/static/notes.txt").headers["ETag"]
        case("static", "notes.txt", {}, headers=[("Range", "bytes=0-3"), ("If-Range", notes_etag)])
        case("static", "notes.txt", {}, headers=[("Range", "bytes=0-3"), ("If-Range", '"other"')])
        case("static", "notes.txt", {}, headers=[("Range", "bytes=0-3"), ("If-Range", lm)])
        case("static", "notes.txt", {}, headers=[("Range", "bytes=0-3"), ("If-Range", "Mon, 13 Nov 2023 00:00:00 GMT")])
        case("static", "notes.txt", {}, headers=[("If-Range", notes_etag)])
        case("static", "notes.txt", {}, headers=[("Range", "bytes=0-3"), ("If-None-Match", notes_etag)])
        case("static", "notes.txt", {}, headers=[("Range", "bytes=50-"), ("If-None-Match", notes_etag)])
        case("static", "empty.txt", {}, headers=[("Range", "bytes=0-3")])
        case("static", "missing.css", {})
        case("static", "sub", {})
        case("static", "sub/", {})
        case("dl", "notes.txt", {"as_attachment": True})
        case("dl", "notes.txt", {"as_attachment": True}, method="POST", headers=[("Range", "bytes=0-3")])
        case("dl", "bundle.css.gz", {"as_attachment": True})
        case("dl", "résumé.txt", {"as_attachment": True})
        case("dl", "file name.txt", {"as_attachment": True})
        for n in ['a"b\\c.txt', "x;y.txt", "naïve file.txt", "日本.txt", ""]:
            case("named", "notes.txt", {"download_name": n}, query="n=" + flask.helpers.url_quote(n) if hasattr(flask.helpers, "url_quote") else "n=" + __import__("urllib.parse").parse.quote(n))
        case("cached", "style.css", {"max_age": 0}, query="age=0")
        case("cached", "style.css", {"max_age": 3600}, query="age=3600")
        case("plain", "style.css", {"conditional": False, "etag": False, "mimetype": "text/x-custom"}, headers=[("Range", "bytes=0-3")])

    joins = []
    for base, parts in [
        ("a", "b/c"), ("a", "../b/c"), ("a", "b/../c"), ("a", "b/../../c"), ("a", "/b"),
        ("a", "//b"), ("a", ".."), ("a", "../"), ("a", "./b"), ("a", "b/."), ("a", "b//c"),
        ("a", "."), ("a", ""), ("a", "b\\c"), ("a", "..\\b"), ("a", "b/"), ("a", "..b"),
        ("a", "b.."), ("a", ".b"), ("", "b"), ("a", "b/./../c"), ("a", "b/c/../.."), ("a", "b/c/../../.."),
    ]:
        joins.append([base, parts, safe_join(base, parts)])

    etags = []
    for path, mtime_ns, size in [
        ("/srv/app/static/style.css", MTIME_NS, 21),
        ("/tmp/x", 1700000000_000000000, 0),
        ("/tmp/résumé.txt", 1_500_000, 5),
        ("/a/b", 1234567890_999999999, 123456789),
        ("/a/b", 1234567890_500000000, 1),
    ]:
        sec, nsec = divmod(mtime_ns, 10**9)
        mtime = sec + nsec * 1e-9
        check = zlib.adler32(path.encode()) & 0xFFFFFFFF
        etags.append([path, mtime_ns, size, f"{mtime}-{size}-{check}"])

    print(json.dumps({"root": root, "mtime_ns": MTIME_NS, "files": {k: v.decode("latin-1") for k, v in FILES.items()},
                      "cases": cases, "safe_join": joins, "etags": etags}, indent=1, ensure_ascii=False))


main()
