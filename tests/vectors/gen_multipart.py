"""Writes multipart.json (bodies and file contents zlib-compressed, base64): multipart/form-data bodies (most built with
werkzeug.test's encoder, some by hand) and what Werkzeug 3.1's
parse_form_data makes of them under given limits.
Run: python3 gen_multipart.py"""
import base64
import zlib
import json
import os
from io import BytesIO

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.formparser import parse_form_data
from werkzeug.test import encode_multipart

FLASK = {"max_content_length": None, "max_form_memory_size": 500_000, "max_form_parts": 1000}
CT = "multipart/form-data; boundary=B"


def z(data):
    """zlib + base64 keeps the large bodies small in the JSON."""
    return base64.b64encode(zlib.compress(data, 9)).decode()


def pattern(n, seed=0):
    return bytes((i * 31 + seed) % 251 for i in range(n))


def built(data):
    """A body from Werkzeug's test client encoder, with the shape of its
    random boundary but a fixed one."""
    boundary, body = encode_multipart(data, "---------------WerkzeugFormPart_1700000000.0.5")
    return f"multipart/form-data; boundary={boundary}", body


def fs(data, filename, content_type=None):
    return FileStorage(BytesIO(data), filename=filename, content_type=content_type)


def case(name, content_type, body, limits=None, content_length=None):
    lim = dict(FLASK, **(limits or {}))
    env = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body) if content_length is None else content_length),
        "wsgi.input": BytesIO(body),
    }
    try:
        _, form, files = parse_form_data(env, **lim)
        expect = {
            # Parts without a name land under the key None in Werkzeug; the
            # Rust side drops them, so they are left out here.
            "form": [[k, v] for k, v in form.items(multi=True) if k is not None],
            "files": [
                [k, f.filename, f.content_type, z(f.read())]
                for k, f in files.items(multi=True)
                if k is not None
            ],
        }
    except HTTPException as e:
        expect = {"error": e.code}
    return {
        "name": name,
        "content_type": content_type,
        "body_z": z(body),
        "content_length": content_length,
        "limits": lim,
        "expect": expect,
    }


def cases():
    out = []
    ct, body = built({"a": "1", "b": "h\u00e9llo \u20ac", "empty": ""})
    out.append(case("text fields", ct, body))
    ct, body = built(
        MultiDict(
            [
                ("f", fs(b"first", "a.txt", "text/plain")),
                ("f", fs(b"second\r\n--not-a-boundary\r\n", "b.bin")),
                ("g", fs(b"", "")),
                ("note", "x"),
                ("f", fs(pattern(3000), "c.png")),
            ]
        )
    )
    out.append(case("files, several per field, empty filename", ct, body))
    ct, body = built({"u": fs(b"data", "\u65e5\u672c \u00fcml\u00e4ut.txt", "text/plain")})
    out.append(case("unicode filename as raw UTF-8", ct, body))
    ct, body = built({"big": fs(pattern(150_000, 7), "big.bin"), "after": "y"})
    out.append(case("file spanning reads", ct, body))
    body = (
        b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"fallback.txt\"; "
        b"filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\nx\r\n--B--\r\n"
    )
    out.append(case("RFC 2231 filename*", CT, body))
    body = (
        b"--B\r\nContent-Disposition: form-data; name=\"l\"\r\n"
        b"Content-Type: text/plain; charset=ISO-8859-1\r\n\r\ncaf\xe9\r\n"
        b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\ncaf\xe9\r\n"
        b"--B\r\nContent-Disposition: form-data; name=\"k\"\r\n"
        b"Content-Type: text/plain; charset=koi8-r\r\n\r\ncaf\xc3\xa9 \xff\r\n--B--\r\n"
    )
    out.append(case("part charsets", CT, body))
    body = (
        b"preamble text\r\n--B \t\r\nContent-Disposition: form-data;\r\n name=\"folded\"\r\n\r\n"
        b"v\r\n--B\nContent-Disposition: form-data; name=\"lf\"\n\nline\none\n--B--  \r\nepilogue"
    )
    out.append(case("preamble, padding, folding, LF, epilogue", CT, body))
    body = b"--B\r\nContent-Disposition: form-data; filename=\"q\"\r\n\r\nx\r\n--B\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n1\r\n--B--\r\n"
    out.append(case("part without a name", CT, body))
    body = b"--B\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n1\r\n--B--\r\n"
    out.append(case("quoted boundary", 'multipart/form-data; boundary="B"', body))
    out.append(case("empty form", CT, b"--B--\r\n"))
    # Malformed: Werkzeug's silent parser gives empty dicts.
    out.append(case("missing boundary", "multipart/form-data", body))
    out.append(case("wrong boundary", "multipart/form-data; boundary=C", body))
    out.append(case("empty body", CT, b""))
    out.append(case("truncated", CT, body[:-12]))
    out.append(case("no closing boundary", CT, body[:-4]))
    out.append(case("no Content-Disposition", CT, b"--B\r\nX-A: 1\r\n\r\nx\r\n--B--\r\n"))
    out.append(
        case("non-UTF-8 header", CT, b"--B\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\nx\r\n--B--\r\n")
    )
    # Body shorter than Content-Length: ClientDisconnected.
    out.append(case("short body", CT, body, content_length=len(body) + 5))
    # Limits.
    ct, parts3 = built({"a": "1", "b": "2", "c": fs(b"3", "c.txt")})
    out.append(case("parts at limit", ct, parts3, {"max_form_parts": 3}))
    out.append(case("parts over limit", ct, parts3, {"max_form_parts": 2}))
    ct, field = built({"t": "x" * 100})
    out.append(case("field at memory limit", ct, field, {"max_form_memory_size": len(field)}))
    out.append(case("field over memory limit", ct, field, {"max_form_memory_size": 99}))
    ct, big = built({"t": "x" * 200_000})
    out.append(case("field over limit across reads", ct, big, {"max_form_memory_size": 150_000}))
    ct, f = built({"f": fs(pattern(5000), "f.bin")})
    out.append(case("file read over memory limit", ct, f, {"max_form_memory_size": 1000}))
    ct, f = built({"f": fs(pattern(100_000), "f.bin")})
    out.append(case("file over memory limit in small reads", ct, f, {"max_form_memory_size": 70_000}))
    out.append(case("content length over max", ct, f, {"max_content_length": len(f) - 1}))
    out.append(case("content length at max", ct, f, {"max_content_length": len(f)}))
    out.append(case("long preamble", CT, b"x" * 600_000 + body))
    out.append(case("long epilogue", CT, body + b"x" * 600_000))
    return out


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "multipart.json"), "w") as f:
        json.dump({"cases": cases()}, f, indent=1)
        f.write("\n")
