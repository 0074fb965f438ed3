#!/usr/bin/env python3
"""Self cost of a callgrind profile per source file, line and function,
with inlined code charged to the file and line it came from.

callgrind_annotate charges inlined code to the function it was inlined into
(in a release build most of the request path inlines into the worker loop);
this reads the fi=/fe= records instead, which name the inlined source.

    python3 bench/tools/callgrind_lines.py callgrind.out [--top 40] [--grep flaskrs]
"""

import argparse
import re
import sys
from collections import Counter

NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")


def resolve(table, value):
    m = NAME.match(value)
    if not m:
        return value
    if m.group(2) is not None:
        table[m.group(1)] = m.group(2)
        return m.group(2)
    return table.get(m.group(1), value)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--grep", default="", help="only files containing this")
    a = ap.parse_args()
    files, fns = {}, {}
    fl = fi = fn = ""
    line = 0
    after_call = False
    by_file, by_line, by_fn, total = Counter(), Counter(), Counter(), 0
    with open(a.file) as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if not raw or raw[0] == "#":
                continue
            key, _, value = raw.partition("=")
            if key in ("fl", "fi", "fe"):
                name = resolve(files, value)
                if key == "fl":
                    fl = fi = name
                else:
                    fi = name
                continue
            if key == "fn":
                fn = resolve(fns, value)
                fi = fl
                continue
            if key in ("cfl", "cfi"):
                resolve(files, value)
                continue
            if key == "cfn":
                resolve(fns, value)
                continue
            if key in ("ob", "cob", "jump", "jcnd"):
                continue
            if key == "calls":
                after_call = True
                continue
            if not (raw[0].isdigit() or raw[0] in "+-*"):
                continue
            parts = raw.split()
            pos = parts[0]
            if pos == "*":
                pass
            elif pos[0] in "+-":
                line += int(pos)
            else:
                line = int(pos)
            cost = int(parts[1]) if len(parts) > 1 else 0
            if after_call:
                after_call = False
                continue
            total += cost
            by_file[fi] += cost
            by_line[(fi, line)] += cost
            by_fn[fn] += cost
    if not total:
        sys.exit("no cost found")

    def show(title, counter, fmt):
        print(f"\n== {title} (self cost, share of {total:,} Ir)")
        n = 0
        for k, v in counter.most_common():
            label = fmt(k)
            if a.grep and a.grep not in label:
                continue
            print(f"{100 * v / total:6.2f}%  {v:>14,}  {label}")
            n += 1
            if n >= a.top:
                break

    short = lambda p: re.sub(r"^.*/(registry/src/[^/]+/|rustc/[0-9a-f]+/)", "", p)
    show("by file", by_file, short)
    show("by line", by_line, lambda k: f"{short(k[0])}:{k[1]}")
    show("by function (inlined code charged to the caller)", by_fn, lambda k: k)


if __name__ == "__main__":
    main()
