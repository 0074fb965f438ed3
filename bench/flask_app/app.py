"""The Flask twin of bench/app/bench.rhai: same endpoints, same bodies.

Templates and static files are shared with the Rhai app (../app/templates,
../app/static), so both render the very same files.

    gunicorn --chdir bench/flask_app app:app
"""

from pathlib import Path

from flask import Flask, render_template, request, session
from markupsafe import escape

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent / "app"

app = Flask(
    __name__,
    template_folder=str(SHARED / "templates"),
    static_folder=str(SHARED / "static"),
)
app.config["SECRET_KEY"] = "bench-secret-key-not-for-production"

# Built once at import time, as the Rhai app builds it at start-up.
ITEMS = [
    {
        "id": i,
        "name": f'Item <{i}> & "friends"',
        "note": "it's <b>escaped</b>",
        "price": i * 3 + 1,
    }
    for i in range(20)
]


@app.route("/")
def hello():
    return "Hello, World!"


@app.route("/user/<name>")
def user(name):
    return f"Hello, {escape(name)}!"


@app.route("/page")
def page():
    return render_template(
        "page.html",
        title="Items & <prices>",
        heading="Bench <page>",
        footer="(c) bench & co",
        user="<script>alert('x')</script>",
        items=ITEMS,
    )


@app.route("/counter")
def counter():
    n = session.get("count", 0) + 1
    session["count"] = n
    return f"Count: {n}"


@app.post("/form")
def form():
    f = request.form
    return f"Thanks, {escape(f['name'])} <{escape(f['email'])}>: {len(f['message'])} characters"


@app.route("/api/items")
def api_items():
    return {
        "count": len(ITEMS),
        "items": [{"id": it["id"], "name": it["name"], "price": it["price"]} for it in ITEMS],
        "ok": True,
    }
