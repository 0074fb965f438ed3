"""Generates tests/vectors/routing.json: routing vectors from real Flask 3.1 / Werkzeug 3.1.

Run: python3 tests/vectors/routing_gen.py > tests/vectors/routing.json
The Rust tests (src/routing/tests.rs) replay the file; they never need Python.
"""
import json
import math
import sys
import uuid

from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BuildError, RequestRedirect


def enc(v):
    if isinstance(v, bool):
        return {"b": v}
    if isinstance(v, int):
        return {"i": v}
    if isinstance(v, float):
        return {"f": repr(v)}
    if isinstance(v, uuid.UUID):
        return {"s": str(v)}
    return {"s": v}


def R(rule, endpoint, methods=None, defaults=None, strict_slashes=None, auto_options=True):
    return dict(rule=rule, endpoint=endpoint, methods=methods, defaults=defaults or {},
                strict_slashes=strict_slashes, auto_options=auto_options)


def make_app(rules):
    app = Flask("vectors", static_folder=None)
    funcs = {}
    for r in rules:
        f = funcs.setdefault(r["endpoint"], lambda **kw: "")
        app.add_url_rule(r["rule"], r["endpoint"], view_func=f, methods=r["methods"],
                         defaults=r["defaults"] or None, strict_slashes=r["strict_slashes"],
                         provide_automatic_options=None if r["auto_options"] else False)
    return app


def do_match(app, path, method, query):
    adapter = app.url_map.bind("localhost", "/")
    try:
        rule, args = adapter.match(path, method, return_rule=True, query_args=query)
        return {"endpoint": rule.endpoint, "rule": rule.rule,
                "args": [[k, enc(v)] for k, v in args.items()]}
    except RequestRedirect as e:
        assert e.new_url.startswith("http://localhost/"), e.new_url
        return {"redirect": e.new_url[len("http://localhost"):]}
    except MethodNotAllowed as e:
        return {"405": sorted(e.valid_methods)}
    except NotFound:
        return {"404": True}


def do_build(app, endpoint, values, method, default_method):
    adapter = app.url_map.bind("localhost", "/", default_method=default_method)
    d = {}
    for k, v in values:
        if k in d:
            d[k] = (d[k] if isinstance(d[k], list) else [d[k]]) + [v]
        else:
            d[k] = v
    try:
        return {"url": adapter.build(endpoint, d, method=method)}
    except BuildError as e:
        return {"build_error": str(e)}
    except ValueError as e:
        return {"value_error": str(e)}


MAPS = []


def case(name, rules, matches=(), builds=(), allowed=()):
    MAPS.append((name, rules, matches, builds, allowed))


G = "GET"

case("basic", [R("/", "index"), R("/foo", "foo"), R("/bar/", "bar")],
     matches=[("/", G, ""), ("/foo", G, ""), ("/bar/", G, ""), ("/bar", G, ""), ("/bar", G, "aha=muhaha"),
              ("/blub", G, ""), ("/foo/", G, ""), ("/foo", "POST", ""), ("/bar", "POST", ""), ("/", "head", ""),
              ("", G, ""), ("//foo", G, "")],
     builds=[("index", [], None, G), ("foo", [], None, G), ("bar", [("x", 1)], None, G), ("urks", [], None, G)],
     allowed=["/", "/foo", "/bar/", "/bar", "/nope"])

case("strict_slash_methods",
     [R("/bar/", "get", methods=["GET"]), R("/bar", "post", methods=["POST"])],
     matches=[("/bar/", G, ""), ("/bar", "POST", ""), ("/bar", G, ""), ("/bar/", "POST", ""), ("/bar", "PUT", "")],
     allowed=["/bar", "/bar/"])

case("strict_slash_methods_reversed",
     [R("/bar", "post", methods=["POST"]), R("/bar/", "get", methods=["GET"])],
     matches=[("/bar/", G, ""), ("/bar", "POST", ""), ("/bar", G, ""), ("/bar/", "POST", "")])

case("only_slash_rule", [R("/bar/", "get", methods=["GET"])],
     matches=[("/bar/", G, ""), ("/bar", G, ""), ("/bar/", "POST", ""), ("/bar", "POST", "")])

case("defaults",
     [R("/foo/", "foo", defaults={"page": 1}), R("/foo/<int:page>", "foo")],
     matches=[("/foo/", G, ""), ("/foo/1", G, ""), ("/foo/1", G, "x=y"), ("/foo/2", G, ""), ("/foo/01", G, "")],
     builds=[("foo", [], None, G), ("foo", [("page", 1)], None, G), ("foo", [("page", 2)], None, G),
             ("foo", [("page", 1.0)], None, G), ("foo", [("page", True)], None, G), ("foo", [("page", "1")], None, G)])

case("defaults_leaf",
     [R("/foo", "foo", defaults={"bar": 42}), R("/foo/<int:bar>", "foo")],
     matches=[("/foo/42", G, ""), ("/foo/41", G, ""), ("/foo", G, "")])

case("greedy",
     [R("/foo", "foo"), R("/<path:bar>", "bar"), R("/<path:bar>/<path:blub>", "bar")],
     matches=[("/foo", G, ""), ("/blub", G, ""), ("/he/he", G, ""), ("/a/b/c", G, "")],
     builds=[("foo", [], None, G), ("bar", [("bar", "blub")], None, G),
             ("bar", [("bar", "blub"), ("blub", "bar")], None, G)])

case("path",
     [R("/", "page", defaults={"name": "FrontPage"}), R("/Special", "special"), R("/<int:year>", "year"),
      R("/<path:name>", "page"), R("/<path:name>/edit", "editpage"),
      R("/<path:name>/silly/<path:name2>", "sillypage"),
      R("/<path:name>/silly/<path:name2>/edit", "editsillypage"),
      R("/Talk:<path:name>", "talk"), R("/User:<username>", "user"),
      R("/User:<username>/<path:name>", "userpage"), R("/Files/<path:file>", "files")],
     matches=[("/", G, ""), ("/FrontPage", G, ""), ("/Special", G, ""), ("/2007", G, ""), ("/Some/Page", G, ""),
              ("/Some/Page/edit", G, ""), ("/Foo/silly/bar", G, ""), ("/Foo/silly/bar/edit", G, ""),
              ("/Talk:Foo/Bar", G, ""), ("/User:thomas", G, ""), ("/User:thomas/projects/werkzeug", G, ""),
              ("/Files/downloads/werkzeug/0.2.zip", G, ""), ("/a\nb", G, ""), ("/Some/Page/", G, "")],
     builds=[("page", [], None, G), ("page", [("name", "FrontPage")], None, G), ("page", [("name", "a b/c")], None, G),
             ("talk", [("name", "x/y")], None, G)])

case("complex",
     [R("/", "index"), R("/<int:blub>", "an_int"), R("/<blub>", "a_string"), R("/foo/", "nested"),
      R("/foobar/", "nestedbar"), R("/foo/<path:testing>/", "nested_show"),
      R("/foo/<path:testing>/edit", "nested_edit"), R("/users/", "users", defaults={"page": 1}),
      R("/users/page/<int:page>", "users"), R("/foox", "foox"),
      R("/<path:bar>/<path:blub>", "barx_path_path")],
     matches=[("/", G, ""), ("/42", G, ""), ("/blub", G, ""), ("/foo/", G, ""), ("/foobar/", G, ""),
              ("/foo/1/2/3/", G, ""), ("/foo/1/2/3/edit", G, ""), ("/users/", G, ""), ("/users/page/2", G, ""),
              ("/users/page/1", G, ""), ("/foox", G, ""), ("/1/2/3", G, ""), ("/foo/1/2/3", G, ""),
              ("/foo", G, ""), ("/users", G, "")])

case("converters",
     [R("/int/<int:x>", "int"), R("/signed/<int(signed=True):x>", "signed"),
      R("/fixed/<int(fixed_digits=3):x>", "fixed"), R("/range/<int(min=1, max=5):x>", "range"),
      R("/float/<float:x>", "float"), R("/sfloat/<float(signed=True):x>", "sfloat"),
      R("/fmax/<float(max=2.5):x>", "fmax"),
      R("/uuid/<uuid:u>", "uuid"), R("/any/<any(about, help, \"foo,bar\"):page>", "any"),
      R("/len/<string(length=2):lang>", "len"), R("/minmax/<string(minlength=2, maxlength=3):s>", "minmax"),
      R("/pos/<string(2, 3):s>", "pos"), R("/path/<path:p>", "path")],
     matches=[("/int/42", G, ""), ("/int/-1", G, ""), ("/int/4.2", G, ""), ("/int/\u0661\u0662", G, ""),
              ("/int/99999999999", G, ""), ("/signed/-7", G, ""), ("/signed/7", G, ""), ("/signed/--7", G, ""),
              ("/fixed/007", G, ""), ("/fixed/07", G, ""), ("/fixed/1234", G, ""), ("/range/0", G, ""),
              ("/range/1", G, ""), ("/range/5", G, ""), ("/range/6", G, ""), ("/float/1.5", G, ""),
              ("/float/1", G, ""), ("/float/.5", G, ""), ("/float/-1.5", G, ""), ("/sfloat/-1.5", G, ""),
              ("/fmax/2.5", G, ""), ("/fmax/2.51", G, ""),
              ("/uuid/ABCDEF01-2345-6789-abcd-ef0123456789", G, ""), ("/uuid/abcdef01-2345-6789-abcd-ef012345678", G, ""),
              ("/any/about", G, ""), ("/any/help", G, ""), ("/any/foo,bar", G, ""), ("/any/other", G, ""),
              ("/len/en", G, ""), ("/len/eng", G, ""), ("/len/e", G, ""), ("/minmax/a", G, ""), ("/minmax/ab", G, ""),
              ("/minmax/abcd", G, ""), ("/pos/abc", G, ""), ("/path/a/b/c.txt", G, ""), ("/path/", G, ""),
              ("/path", G, ""), ("/int/", G, "")],
     builds=[("int", [("x", 5)], None, G), ("int", [("x", "5")], None, G), ("int", [("x", "abc")], None, G),
             ("int", [("x", 2.9)], None, G), ("int", [("x", True)], None, G),
             ("fixed", [("x", 5)], None, G), ("fixed", [("x", -5)], None, G), ("fixed", [("x", 12345)], None, G),
             ("range", [("x", 99)], None, G),
             ("float", [("x", 1.5)], None, G), ("float", [("x", 3)], None, G), ("float", [("x", "2")], None, G),
             ("float", [("x", "x")], None, G), ("float", [("x", 1e100)], None, G), ("float", [("x", float("inf"))], None, G),
             ("uuid", [("u", "ABCDEF01-2345-6789-abcd-ef0123456789")], None, G),
             ("any", [("page", "help")], None, G), ("any", [("page", "nope")], None, G),
             ("any", [("page", "foo,bar")], None, G),
             ("len", [("lang", "toolong")], None, G), ("path", [("p", "a b/c%d?e#f")], None, G),
             ("minmax", [("s", "a/b c")], None, G)])

case("priorities",
     [R("/<x>", "string"), R("/<int:x>", "int"), R("/<float:x>", "float"), R("/static", "static"),
      R("/<path:x>/edit", "path_edit"), R("/s<x>", "prefixed"), R("/<x>.html", "suffixed"),
      R("/<a>-<b>", "pair"), R("/<int:a>.<int:b>", "intpair")],
     matches=[("/abc", G, ""), ("/12", G, ""), ("/1.5", G, ""), ("/static", G, ""), ("/a/b/edit", G, ""),
              ("/sx", G, ""), ("/x.html", G, ""), ("/s.html", G, ""), ("/x-y-z", G, ""), ("/1.2", G, ""),
              ("/1.2.3", G, ""), ("/a-b.html", G, "")])

case("shared_int_part",
     [R("/<int(min=5):a>", "A"), R("/<int:b>", "B")],
     matches=[("/3", G, ""), ("/7", G, "")])

case("strict_false",
     [R("/foo/", "foo", strict_slashes=False), R("/bar", "bar", strict_slashes=False), R("/baz/", "baz"),
      R("/files/<path:p>/", "files"), R("/leaf/<path:p>", "leaf", strict_slashes=False)],
     matches=[("/foo", G, ""), ("/foo/", G, ""), ("/bar", G, ""), ("/bar/", G, ""), ("/baz", G, ""),
              ("/files/a/b", G, "q=1"), ("/files/a/b/", G, ""), ("/files/a//", G, ""), ("/leaf/a/b/", G, ""),
              ("/bar/", "POST", ""), ("/foo", "POST", "")])

case("merge_slashes",
     [R("/a/b", "ab"), R("/a/b/", "ab_slash"), R("/x/<path:p>", "xp"), R("/y/<name>", "y"), R("/m", "post_only", methods=["POST"])],
     matches=[("/a//b", G, "x=1"), ("/a//b//", G, ""), ("/a/b//", G, ""), ("/x/a//b", G, ""), ("/y//n", G, ""),
              ("//y///n", G, ""), ("/a//b", "POST", ""), ("/y//n//", G, ""), ("/m//", "POST", ""), ("/m//", G, "")])

case("methods",
     [R("/item", "get_item"), R("/item", "post_item", methods=["POST"]), R("/item", "put_item", methods=["put", "DELETE"]),
      R("/only", "only", methods=["PATCH"], auto_options=False), R("/opt", "opt", methods=["GET", "OPTIONS"]),
      R("/empty", "empty", methods=[])],
     matches=[("/item", G, ""), ("/item", "HEAD", ""), ("/item", "POST", ""), ("/item", "PUT", ""), ("/item", "delete", ""),
              ("/item", "OPTIONS", ""), ("/item", "TRACE", ""), ("/only", G, ""), ("/only", "OPTIONS", ""),
              ("/opt", "OPTIONS", ""), ("/empty", G, ""), ("/empty", "OPTIONS", "")],
     builds=[("get_item", [], None, G), ("post_item", [], None, G), ("post_item", [], "GET", G),
             ("put_item", [], "PUT", G), ("only", [], None, G)],
     allowed=["/item", "/only", "/opt", "/empty", "/none"])

case("method_selected_build",
     [R("/a", "ep", methods=["GET"]), R("/b", "ep", methods=["POST"]), R("/c/<x>", "ep", methods=["PUT"])],
     builds=[("ep", [], None, G), ("ep", [], None, "POST"), ("ep", [], "POST", G), ("ep", [], "PUT", G),
             ("ep", [("x", 1)], "PUT", G), ("ep", [("x", 1)], None, "PUT"), ("ep", [], "DELETE", G),
             ("ep", [], "post", G), ("ep", [("x", 1)], None, "DELETE")])

case("quickstart",
     [R("/", "index"), R("/hello", "hello"), R("/user/<username>", "show_user_profile"),
      R("/post/<int:post_id>", "show_post"), R("/path/<path:subpath>", "show_subpath"),
      R("/projects/", "projects"), R("/about", "about"), R("/login", "login", methods=["GET", "POST"]),
      R("/static/<path:filename>", "static"), R("/user/<name>/posts/<int:page>", "user_posts")],
     matches=[("/", G, ""), ("/hello", G, ""), ("/user/John Doe", G, ""), ("/user/", G, ""), ("/post/3", G, ""),
              ("/post/x", G, ""), ("/path/a/b", G, ""), ("/projects", G, "page=2&x=%20"), ("/projects/", G, ""),
              ("/about/", G, ""), ("/login", "POST", ""), ("/login", "PUT", ""), ("/static/css/app.css", G, ""),
              ("/user/\u00e9/posts/2", G, ""), ("/proj\u00e9cts", G, ""), ("/hello", "OPTIONS", "")],
     builds=[("index", [], None, G), ("login", [], None, G), ("login", [("next", "/")], None, G),
             ("login", [("next", "John Doe")], None, G), ("show_user_profile", [("username", "John Doe")], None, G),
             ("show_user_profile", [], None, G), ("show_usr_profile", [("username", "x")], None, G),
             ("show_user_profile", [("username", "x")], "POST", G), ("show_post", [("post_id", 3)], None, G),
             ("static", [("filename", "style.css")], None, G), ("static", [("filename", "a b/c.css")], None, G),
             ("show_subpath", [("subpath", "a/b c")], None, G),
             ("index", [("a", 1), ("b", True), ("c", 1.5), ("d", "&=+?/#%\u00e9~!$'()*,;:@ ")], None, G),
             ("index", [("a", 1), ("b", 2), ("a", 3)], None, G), ("index", [("q", "")], None, G),
             ("user_posts", [("name", "bob")], None, G), ("user_posts", [("page", 1)], None, G),
             ("user_posts", [("name", "bob"), ("page", 2), ("x", "y")], None, G),
             ("user_posts", [("name", "bob"), ("page", 2)], "DELETE", G),
             ("helo", [], None, G), ("prjects", [], None, G), ("user", [], None, G), ("", [], None, G),
             ("show", [("post_id", 1)], None, G), ("show_post", [("post", 1)], None, G),
             ("it's", [], None, G), ("post", [("x", 1)], "POST", G)])

case("unicode",
     [R("/", "index"), R("/\u043b\u043e\u0448\u0430\u0434\u044c", "horse"), R("/\u00f6\u00e4\u00fc/", "umlaut"),
      R("/a b/<x>", "spaced")],
     matches=[("/\u043b\u043e\u0448\u0430\u0434\u044c", G, ""), ("/\u0431\u0430\u0440\u0441\u0443\u043a", G, ""),
              ("/\u00f6\u00e4\u00fc", G, ""), ("/a b/c d", G, ""), ("/a b", G, "")],
     builds=[("umlaut", [], None, G), ("spaced", [("x", "\u00e9 %")], None, G), ("horse", [("q", "\u00e9")], None, G)])

case("defaults_build",
     [R("/all/", "all_entries", defaults={"page": 1}), R("/all/page/<int:page>", "all_entries"),
      R("/x/<int:id>", "x", defaults={"id": 5, "fmt": "html"}), R("/x/<int:id>.<fmt>", "x")],
     matches=[("/all/", G, ""), ("/all/page/1", G, ""), ("/all/page/3", G, ""), ("/x/5", G, ""), ("/x/5.html", G, ""),
              ("/x/5.json", G, ""), ("/x/6.html", G, "")],
     builds=[("all_entries", [], None, G), ("all_entries", [("page", 1)], None, G), ("all_entries", [("page", 3)], None, G),
             ("x", [], None, G), ("x", [("id", 5), ("fmt", "html")], None, G), ("x", [("id", 6)], None, G),
             ("x", [("id", 7), ("fmt", "json")], None, G), ("x", [("fmt", "json")], None, G)])

# Werkzeug sorts capture groups by name, so the 11th value lands third.
case("many_captures", [R("/" + "".join(f"<path:v{i}>-" for i in range(11)) + "end", "many")],
     matches=[("/a-b-c-d-e-f-g-h-i-j-k-end", G, "")])

RULE_ERRORS = [
    "x", "", "/<x", "/<int(:x>", "/<foo:x>", "/<a>/<a>", "/<int(foo=1):x>", "/<string(2, minlength=3):x>",
    "/<string(length=x):x>", "/<any(1, 2):x>", "/<string(1,2,3,4):x>", "/<string(1, 2, 3, 4):x>",
    "/<float(fixed_digits=2):x>", "/<any(a, b=1):x>", "/<string(maxlength=-1):x>", "/<int(min=1, @):x>",
    "/<x:>", "/<:x>", "/<x y>", "//<1x>", "/<string(length=None):x>", "/<string(minlength=None):x>",
    "/<int(a b):x>", "/<path(anything=1):x>", "/a/<x>/<y>/<x>", "/<int(signed=True, min=-5):x>",
    "/<any(a, 'b c', u\"d\"):x>", "/<string(length=2.0):x>", "/x>y", "/<int(4):x>",
]


def rule_error(rule):
    try:
        make_app([R(rule, "e")])
        return None
    except Exception as e:
        return [type(e).__name__, str(e)]


if __name__ == "__main__":
    out = {"rule_errors": [{"rule": r, "error": rule_error(r)} for r in RULE_ERRORS], "maps": []}
    for name, rules, matches, builds, allowed in MAPS:
        app = make_app(rules)
        out["maps"].append({
            "name": name,
            "rules": [dict(r, defaults=[[k, enc(v)] for k, v in r["defaults"].items()]) for r in rules],
            "matches": [{"path": p, "method": m, "query": q, "result": do_match(app, p, m, q)}
                        for p, m, q in matches],
            "builds": [{"endpoint": e, "values": [[k, enc(v)] for k, v in vals], "method": meth,
                        "default_method": dm, "result": do_build(app, e, vals, meth, dm)}
                       for e, vals, meth, dm in builds],
            "allowed": [{"path": p, "methods": sorted(app.url_map.bind("localhost", "/").allowed_methods(p))}
                        for p in allowed],
        })
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
