"""CPython's atexit on the workloads of tests/suite/benches/registry.rs; prints
`name value unit` lines (medians of 5) for comparisons/compare.sh."""

import atexit
import statistics
import sys
import time

N = 1_000_000


def noop():
    pass


def register_ns():
    atexit._clear()
    reg = atexit.register
    start = time.perf_counter_ns()
    for _ in range(N):
        reg(noop)
    elapsed = time.perf_counter_ns() - start
    atexit._clear()
    return elapsed / N


def run_ns_per_handler():
    atexit._clear()
    for _ in range(N):
        atexit.register(noop)
    start = time.perf_counter_ns()
    atexit._run_exitfuncs()
    return (time.perf_counter_ns() - start) / N


def unregister_distinct_ms(count):
    atexit._clear()
    functions = [(lambda: None) for _ in range(count)]  # distinct objects
    for function in functions:
        atexit.register(function)
    start = time.perf_counter_ns()
    for function in functions:
        atexit.unregister(function)
    elapsed = time.perf_counter_ns() - start
    # (`_ncallbacks()` still counts the slots `unregister` emptied.)
    atexit._clear()
    return elapsed / 1e6


def median(measure, *args, runs=5):
    return statistics.median(measure(*args) for _ in range(runs))


def main():
    print(f"python {sys.version.split()[0]}")
    print(f"register_fn {median(register_ns):.1f} ns")
    print(f"run_1m {median(run_ns_per_handler):.1f} ns")
    for count in (1024, 4096, 16384):
        runs = 5 if count < 16384 else 3
        print(f"unregister_{count} {median(unregister_distinct_ms, count, runs=runs):.2f} ms")


main()
