#!/usr/bin/env python3
"""Checks the links into the generated docs that rustdoc does not check.

rustdoc's `-D warnings` catches a broken intra-doc link, but not a missing
`#fragment`, nor a docs.rs URL written in README.md or in a doc comment. This
script checks both against the docs built by

    cargo doc --no-deps --all-features -p atexit

- every `https://docs.rs/atexit/latest/atexit/...` URL in README.md,
  BENCHMARKS.md, TESTING.md, docs/*.md and the crates' sources names a file
  of target/doc/atexit (`.../atexit/` alone is index.html), and its
  fragment, if any, is an `id` in that file;
- every intra-doc link with a fragment in docs/*.md and src/lib.rs,
  `[text](page#fragment)`, names a page whose file has that `id`.

Usage: python3 scripts/check-doc-links.py [DOC_DIR]
(DOC_DIR defaults to $CARGO_TARGET_DIR/doc, else target/doc). Exit status 1
if a link is broken.
"""
import glob
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
doc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target")), "doc")
crate = os.path.join(doc, "atexit")
if not os.path.isfile(os.path.join(crate, "index.html")):
    sys.exit(f"no docs in {crate}: run `cargo doc --no-deps --all-features -p atexit`")

ids = {}


def has(path, fragment):
    if not os.path.isfile(path):
        return False
    if fragment is None:
        return True
    if path not in ids:
        with open(path, encoding="utf-8") as f:
            ids[path] = set(re.findall(r'id="([^"]+)"', f.read()))
    return fragment in ids[path]


def files(*patterns):
    for pattern in patterns:
        yield from sorted(glob.glob(os.path.join(root, pattern), recursive=True))


broken = checked = 0
url = re.compile(r"https://docs\.rs/atexit/latest/atexit/([^\s)\"'>`]*)")
for name in files("*.md", "docs/*.md", "src/**/*.rs", "atexit-core/src/**/*.rs",
                  "atexit-macros/src/**/*.rs"):
    text = open(name, encoding="utf-8").read()
    for m in url.finditer(text):
        rest = m.group(1).rstrip(".,;:")
        path, _, fragment = rest.partition("#")
        target = os.path.join(crate, path or "index.html")
        if os.path.isdir(target):
            target = os.path.join(target, "index.html")
        checked += 1
        if not has(target, fragment or None):
            broken += 1
            line = text.count("\n", 0, m.start()) + 1
            print(f"{os.path.relpath(name, root)}:{line}: no such page or anchor: {m.group(0)}")

intra = re.compile(r"\]\(([a-z_]+)#([a-z0-9-]+)\)")
for name in files("docs/*.md", "src/lib.rs"):
    text = open(name, encoding="utf-8").read()
    # A link may be split over two `//!` lines in src/lib.rs.
    for m in intra.finditer(text):
        page, fragment = m.groups()
        checked += 1
        if not has(os.path.join(crate, page, "index.html"), fragment):
            broken += 1
            line = text.count("\n", 0, m.start()) + 1
            print(f"{os.path.relpath(name, root)}:{line}: no such page or anchor: {page}#{fragment}")

print(f"{checked} links checked, {broken} broken")
sys.exit(1 if broken else 0)
