"""Reads what comparisons/compare.sh collected and prints the comparison table."""

import re
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])


def pairs(path):
    values = {}
    for line in (out / path).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                value = float(parts[1])
            except ValueError:
                continue
            values.setdefault(parts[0], []).append(value)
    return {key: statistics.median(found) for key, found in values.items()}


cpython, glibc = pairs("cpython.txt"), pairs("glibc.txt")
rust = {}
for line in (out / "rust.txt").read_text().splitlines():
    found = re.match(r"test (.+?) \.\.\. bench:\s+([\d,]+) ns/iter", line)
    if found:
        rust[found.group(1)] = float(found.group(2).replace(",", ""))
memory = {}
for line in (out / "memory.txt").read_text().splitlines():
    found = re.match(r"memory/(.+?)/(\d+) registrations: ([\d.]+) bytes", line)
    if found:
        memory[(found.group(1), int(found.group(2)))] = float(found.group(3))
startup = {}
for line in (out / "startup.txt").read_text().splitlines():
    found = re.match(r"startup/(.+?): .* added (-?[\d.]+) µs", line)
    if found:
        startup[found.group(1)] = float(found.group(2))

rows = [
    # metric, CPython, glibc, Rust, unit, target, met
    ("register fn item", cpython.get("register_fn"), glibc.get("register_fn"),
     rust.get("register/fn item"), "ns", "≤ 15 ns, ≥ 5× CPython, < glibc",
     lambda r, c, g: r <= 15 and c / r >= 5 and r < g),
    ("register closure (u64)", None, None, rust.get("register/closure capturing a u64"), "ns", "", None),
    ("register closure (String)", None, None, rust.get("register/closure capturing a String"), "ns", "", None),
    ("register, 2 threads (per thread)", None, None,
     rust.get("register/two threads at once (per thread)"), "ns", "", None),
    ("register + cancel_on_drop, 2 threads (per pair)", None, None,
     rust.get("register/register + cancel_on_drop, two threads (per pair)"), "ns", "≤ 40 ns",
     lambda r, c, g: r <= 40),
    ("handle unregister, 1k registered", None, None,
     rust.get("handle unregister/with registered/1000"), "ns", "≤ 50 ns", lambda r, c, g: r <= 50),
    ("handle unregister, 100k registered", None, None,
     rust.get("handle unregister/with registered/100000"), "ns", "≤ 50 ns", lambda r, c, g: r <= 50),
    ("run 1M handlers (each)", cpython.get("run_1m"), glibc.get("run_1m"),
     (rust.get("run/1M handlers") or 0) / 1e6 or None, "ns", "≤ 6 ns, ≥ 3.5× CPython",
     lambda r, c, g: r <= 6 and c / r >= 3.5),
]
for count in (1024, 4096, 16384):
    r = rust.get(f"unregister distinct functions (total)/{count}")
    # Issue 21: ≤ 100 ns a call at 4k and at 16k, ≥ 150× CPython at 4k.
    limit = count * 100 / 1e6  # ms
    target = {4096: "≤ 0.41 ms (100 ns a call), ≥ 150× CPython",
              16384: "≤ 1.64 ms (100 ns a call)"}.get(count, "")
    met = {4096: (lambda r, c, g, limit=limit: r <= limit and c / r >= 150),
           16384: (lambda r, c, g, limit=limit: r <= limit)}.get(count)
    rows.append((f"unregister {count} distinct (total)", cpython.get(f"unregister_{count}"), None,
                 r / 1e6 if r else None, "ms", target, met))
rows.append(("1,000 macro handlers, to main", None, None, startup.get("to main"), "µs", "≤ 100 µs",
             lambda r, c, g: r <= 100))
rows.append(("1,000 macro handlers, whole process", None, None, startup.get("whole process"), "µs", "", None))
for (kind, count), value in sorted(memory.items()):
    target, met = ("≤ 32 B", (lambda r, c, g: r <= 32.05)) if kind == "fn item" else ("", None)
    rows.append((f"memory, {kind}, {count:,}", None, None, value, "B", target, met))


def show(value, unit):
    return "—" if value is None else f"{value:,.1f} {unit}"


def ratio(other, mine):
    return "—" if other is None or not mine else f"{other / mine:,.1f}×"


print()
print("| metric | CPython | glibc | Rust | CPython / Rust | glibc / Rust | target | met |")
print("|---|---|---|---|---|---|---|---|")
for name, c, g, r, unit, target, met in rows:
    verdict = "" if met is None or r is None else ("yes" if met(r, c or float("inf"), g or float("inf")) else "**no**")
    print(f"| {name} | {show(c, unit)} | {show(g, unit)} | {show(r, unit)} | {ratio(c, r)} | {ratio(g, r)} | {target} | {verdict} |")
