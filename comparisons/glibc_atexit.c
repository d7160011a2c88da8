/* glibc's atexit on the workloads of tests/suite/benches/registry.rs. With "register",
 * prints the ns per atexit() call for 1M calls; with "run", registers 1M
 * handlers, starts the clock and exits: the last handler to run (the first
 * registered) prints ns per handler. Used by comparisons/compare.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 1000000

static struct timespec started;
static long ran;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void noop(void) { ran++; }

static void report(void) {
    double elapsed = now_ns() - (started.tv_sec * 1e9 + started.tv_nsec);
    printf("%.1f\n", elapsed / (double)ran);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "register") == 0) {
        double start = now_ns();
        for (int i = 0; i < N; i++) atexit(noop);
        printf("%.1f\n", (now_ns() - start) / N);
        fflush(stdout);
        _exit(0); /* do not run the million handlers */
    }
    atexit(report);
    for (int i = 1; i < N; i++) atexit(noop);
    ran = 1;
    clock_gettime(CLOCK_MONOTONIC, &started);
    exit(0);
}
