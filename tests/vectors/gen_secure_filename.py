"""Writes secure_filename.json: werkzeug.utils.secure_filename outputs for
POSIX and (by patching os) Windows. Run: python3 gen_secure_filename.py"""
import json
import os
import posixpath

from werkzeug.utils import secure_filename

INPUTS = [
    # Werkzeug's docstring and test_utils.py
    "My cool movie.mov",
    "../../../etc/passwd",
    "i contain cool \xfcml\xe4uts.txt",
    "__filename__",
    "foo$&^*)bar",
    # separators, dots and underscores
    "..\\..\\windows\\system32",
    "C:\\Users\\me\\photo.JPG",
    "/absolute/path.txt",
    "...",
    "._.hidden_.",
    "_.-._",
    ".bashrc",
    "a..b",
    "-dash-",
    # whitespace of every kind Python splits on
    "a\tb\nc\rd\x0be\x0cf\x1cg\x1dh\x1ei\x1fj",
    "  spaced   out  name  .txt ",
    "a\u00a0b\u2003c\u3000d",
    "a\x85b",
    # Unicode: compatibility decompositions and things NFKD cannot help
    "\ufb01le.txt",
    "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48.txt",
    "\u2460\u2461\u2462.png",
    "\u00bd \u2153.txt",
    "Stra\u00dfe.txt",
    "\u00c5ngstr\u00f6m \u212b.txt",
    "na\u0308i\u0308ve.txt",
    "\u65e5\u672c\u8a9e.txt",
    "\U0001f600.png",
    "\u0130stanbul.txt",
    "\u00e6\u00f8\u00e5.txt",
    "\u2126\u00b5\u00ba.txt",
    "",
    " ",
    "\u00e9",
    # Windows device names
    "CON",
    "con.txt",
    "Nul.tar.gz",
    "LPT1",
    "lpt9.log",
    "COM\u00b9.txt",
    "COM1x",
    "AUX_",
    "PRN.",
    "_CON",
    "CONIN$",
    "conout$.txt",
    "foo/CON",
]


def run():
    out = {"posix": [[s, secure_filename(s)] for s in INPUTS]}
    saved = os.name, os.sep, posixpath.altsep
    os.name, os.sep, posixpath.altsep = "nt", "\\", "/"
    try:
        out["nt"] = [[s, secure_filename(s)] for s in INPUTS]
    finally:
        os.name, os.sep, posixpath.altsep = saved
    return out


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "secure_filename.json"), "w") as f:
        json.dump(run(), f, indent=1, ensure_ascii=True)
        f.write("\n")
