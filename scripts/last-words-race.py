#!/usr/bin/env python3
"""How often a shell could see a TUI's raw mode after `kill -9` (issue 24).

The watchdog restores the terminal after a SIGKILL, but it races the shell:
the shell's `waitpid` returns when the kernel wakes it, the watchdog acts
when it is scheduled after the socket's end of file (CRASH-FACTS §3). This
script measures that race with the real example:

- a "shell": `setsid`, the pty's slave as its controlling terminal,
  SIGTTOU ignored; for each run it forks `examples/last_words wait DIR`
  in a process group of its own, makes that group the foreground
  (`tcsetpgrp`), and blocks in `waitpid`. The moment `waitpid` returns it
  reads the tty's mode (`tcgetattr`), then takes the foreground back;
- the harness waits for the program's `ready` file (written after it
  entered raw mode and the watchdog looked), waits 3 ms so that the shell
  is surely blocked, and sends SIGKILL.

It prints how many runs of N the shell's first look saw the raw mode (a
shell that reads the mode then, bash's job control or readline saving it,
would have kept it), how many runs ended with the mode restored (within
5 s), and the slowest restore after the shell's look.

    cargo build --example last_words
    scripts/last-words-race.py [RUNS] [PATH TO last_words]

Record results in TESTING.md.
"""
import fcntl
import os
import pty
import shutil
import signal
import sys
import tempfile
import termios
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
PROGRAM = sys.argv[2] if len(sys.argv) > 2 else os.path.join(target, "debug", "examples", "last_words")


def cooked(attrs):
    return bool(attrs[3] & termios.ICANON) and bool(attrs[3] & termios.ECHO)


def shell(slave_name, orders, results):
    """The shell's side: reads a directory per run from `orders`, answers
    `pid raw-at-first-look seconds-since-waitpid` lines on `results`."""
    os.setsid()
    fd = os.open(slave_name, os.O_RDWR)  # becomes the controlling terminal
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    signal.signal(signal.SIGTTIN, signal.SIG_IGN)
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    saved = termios.tcgetattr(fd)
    orders = os.fdopen(orders, "r")
    results = os.fdopen(results, "w", buffering=1)
    for line in orders:
        directory = line.strip()
        termios.tcsetattr(fd, termios.TCSANOW, saved)
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            signal.signal(signal.SIGTTIN, signal.SIG_DFL)
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            for std in (0, 1):
                os.dup2(fd, std)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.execv(PROGRAM, [PROGRAM, "wait", directory])
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        os.tcsetpgrp(fd, pid)
        results.write(f"pid {pid}\n")
        os.waitpid(pid, 0)
        first = termios.tcgetattr(fd)
        looked = time.monotonic()
        os.tcsetpgrp(fd, os.getpgrp())
        restored_after = None
        while time.monotonic() - looked < 5:
            if cooked(termios.tcgetattr(fd)):
                restored_after = time.monotonic() - looked
                break
            time.sleep(0.0005)
        results.write(f"done {int(not cooked(first))} {restored_after}\n")
    os._exit(0)


def main():
    if not os.path.exists(PROGRAM):
        sys.exit(f"{PROGRAM}: build it first (cargo build --example last_words)")
    master, slave = pty.openpty()
    slave_name = os.ttyname(slave)
    orders_r, orders_w = os.pipe()
    results_r, results_w = os.pipe()
    shell_pid = os.fork()
    if shell_pid == 0:
        os.close(master)
        os.close(slave)
        os.close(orders_w)
        os.close(results_r)
        shell(slave_name, orders_r, results_w)
    os.close(orders_r)
    os.close(results_w)
    os.set_blocking(master, False)
    orders = os.fdopen(orders_w, "w", buffering=1)
    results = os.fdopen(results_r, "r")
    raw_seen = restored = 0
    slowest = 0.0
    for run in range(RUNS):
        directory = tempfile.mkdtemp(prefix="atexit-race-")
        orders.write(directory + "\n")
        pid = int(results.readline().split()[1])
        ready = os.path.join(directory, "ready")
        deadline = time.monotonic() + 30
        while not os.path.exists(ready):
            if time.monotonic() > deadline:
                sys.exit(f"run {run}: the program never got ready")
            time.sleep(0.001)
        time.sleep(0.003)
        os.kill(pid, signal.SIGKILL)
        _, raw, after = results.readline().split()
        raw_seen += int(raw)
        if after != "None":
            restored += 1
            slowest = max(slowest, float(after))
        try:
            while os.read(master, 65536):
                pass
        except BlockingIOError:
            pass
        shutil.rmtree(directory, ignore_errors=True)
    orders.close()
    os.waitpid(shell_pid, 0)
    print(f"runs: {RUNS}")
    print(f"shell's first look after waitpid saw the raw mode: {raw_seen}/{RUNS}")
    print(f"mode restored by the watchdog within 5 s: {restored}/{RUNS}")
    print(f"slowest restore after the shell's look: {slowest * 1000:.1f} ms")


if __name__ == "__main__":
    main()
