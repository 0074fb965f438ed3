"""Regenerates tests/vectors/templating.json, the Jinja2 reference outputs that
src/templating/tests.rs compares against (`ctx.html` is a Markup value).

Run from the repo root: python3 tests/vectors/gen_templating.py > tests/vectors/templating.json
The tests themselves never need Python.
"""
import json
import os
import tempfile

import flask
from markupsafe import Markup

TEMPLATES = {
    "base.html": (
        "<!doctype html>\n<title>{% block title %}Site{% endblock %} - App</title>\n"
        "<body>{% block body %}{% endblock %}</body>\n"
    ),
    "child.html": (
        '{% extends "base.html" %}\n{% block title %}{{ title }} | {{ super() }}{% endblock %}\n'
        "{% block body %}<p>{{ text }}</p><p>{{ html }}</p><p>{{ text|safe }}</p>"
        "<p>{{ text|e }}</p>{% endblock %}\n"
    ),
    "macros.html": (
        '{% macro field(name, value="") -%}\n'
        '<input name="{{ name }}" value="{{ value }}">\n'
        "{%- endmacro %}\n"
        "{% macro box(t) %}<div>{{ caller() }}|{{ t }}</div>{% endmacro %}\n"
    ),
    "form.html": (
        '{% import "macros.html" as m %}{% from "macros.html" import field %}'
        '{{ m.field("q", text) }}\n{{ field("r") }}\n'
        '{% call m.box("<t>") %}<b>{{ text }}</b>{% endcall %}\n'
    ),
    "row.html": "<i>{{ item }}</i>",
    "list.html": "<ul>\n{% for item in items %}<li class={{ loop.cycle('odd', 'even') }}>{{ loop.index }}/{{ loop.length }} "
    "{% include 'row.html' %}{% if loop.first %} first{% endif %}{% if loop.last %} last{% endif %} "
    "rev={{ loop.revindex0 }}</li>\n{% else %}<li>none</li>{% endfor %}</ul>\n",
    "values.html": (
        "{{ none }}|{{ yes }}|{{ no }}|{{ one }}|{{ f1 }}|{{ big }}|{{ small }}|{{ lst }}|{{ dct }}"
        "|{{ missing }}|{{ dct.missing }}|{% if missing %}x{% endif %}|{{ missing|default('d') }}\n"
    ),
    "plain.txt": "{{ text }}|{{ text|e }}|{{ html }}|{{ lst }}\n",
    "pic.svg": "<svg><text>{{ text }}</text></svg>",
    "page.xhtml": "<p>{{ text }}</p>",
    "page.htm": "<p>{{ text }}</p>",
    "feed.xml": "<t>{{ text }}</t>",
    "data.html": "<script>var d = {{ data|tojson }};</script>\n<div data-x='{{ data|tojson }}'></div>\n{{ lst|tojson(indent=2) }}",
    "ws.html": "<ul>\n{%- for i in [1, 2] %}\n  <li>{{ i }}</li>\n{%- endfor %}\n</ul>\n\n",
    "filters.html": '{{ "%s - %d"|format(text, 3) }}|{{ lst|join(", ") }}|{{ text|upper }}|{{ lst|length }}|{{ "a b"|title }}|{{ text|urlencode }}',
    "sub/inner.html": "inner {{ text }}",
    "uses_sub.html": "{% include 'sub/inner.html' %}|{% include './sub//inner.html' %}",
}

CTX = {
    "title": "Tom & Jerry's",
    "text": "<a href=\"/x?a=1&b='2'\">",
    "html": Markup("<em>safe</em>"),
    "items": ["a<", "b", "c"],
    "none": None,
    "yes": True,
    "no": False,
    "one": 1,
    "f1": 1.0,
    "big": 1e16,
    "small": 1.5e-07,
    "lst": ["x", "it's", None, 2, 0.5, True],
    "dct": {"a": "<v>", "b": [1]},
    "data": {"z": "</script><!--", "a": ["it's", "&", "é\u2028"], "n": None, "f": 2.5, "t": True},
}

STRINGS = [
    "Hello {{ text }}!",
    "{{ html }} {{ lst }}",
    "{% extends 'base.html' %}{% block body %}{{ text }}{% endblock %}",
]


def main():
    with tempfile.TemporaryDirectory() as d:
        for name, src in TEMPLATES.items():
            path = os.path.join(d, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(src)
        app = flask.Flask("gen", template_folder=d)
        with app.app_context():
            out = {}
            for name in TEMPLATES:
                if name in ("base.html", "macros.html", "row.html", "sub/inner.html"):
                    continue
                out[name] = flask.render_template(name, **CTX)
            empty = flask.render_template("list.html", **dict(CTX, items=[]))
            strings = [flask.render_template_string(s, **CTX) for s in STRINGS]
    print(json.dumps({"ctx": {k: str(v) if isinstance(v, Markup) else v for k, v in CTX.items()}, "strings_src": STRINGS, "templates": TEMPLATES, "files": out, "empty_list": empty, "strings": strings}, indent=1))


main()
