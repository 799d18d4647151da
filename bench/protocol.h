/*
 * The measurement protocol every benchmark follows, and the plumbing it needs.
 *
 * A benchmark is a driver and workers: the driver runs each configuration
 * (ours, or a reference program) in a fresh process with its thread count
 * set before the libraries start, and reads the worker's last output line
 * that starts with "RESULT " (a JSON object) and its peak RSS.  A worker
 * times its evaluations after an untimed warm-up and reports their median.
 *
 * A comparison with a reference (bench_compare):
 *   - the reference runs in every allocator configuration installed
 *     (bench_allocators: glibc as it comes, glibc that never returns memory,
 *     jemalloc that never purges), with the same threads as ours;
 *   - both ours and the reference run in every OpenBLAS setting
 *     (bench_blas_settings: the kernels the environment sets with
 *     OPENBLAS_CORETYPE and those OpenBLAS picks for the CPU; the pthread
 *     build and the OpenMP build), and each side's fastest setting is the
 *     one compared;
 *   - ours and the reference are interleaved in rounds (at least three), the
 *     order alternating, so that a slow period of the machine hits both;
 *   - a run on fewer threads than the machine has CPUs keeps to its first
 *     CPUs, both sides alike (a virtual machine's CPUs may differ in speed);
 *   - a configuration of the reference more than twice as slow as its
 *     fastest in the first round cannot become the fastest and is not run
 *     again;
 *   - the configuration with the lowest median over the rounds is the one
 *     compared: the ratio of its time to ours in the same round, printed as
 *     the range over the rounds, beside the rounds' load average and the
 *     peak RSS of both.
 * Nothing here picks the reference's configuration by hand.
 */
#ifndef OTAD_BENCH_PROTOCOL_H
#define OTAD_BENCH_PROTOCOL_H

#include <stddef.h>

#include "otad.h"

enum { BENCH_MAX_ROUNDS = 9, BENCH_RESULT_CAP = 8192, BENCH_ALLOCATORS = 3, BENCH_BLAS = 4,
       BENCH_CONFIGS = BENCH_BLAS * BENCH_ALLOCATORS };

/* ---- timing inside a worker ---------------------------------------------- */

double bench_now(void);

/* The median of n values (sorted in place). */
double bench_median(double *x, size_t n);

/* A model's objective at θ (n entries), its gradient going to grad. */
typedef struct bench_objective {
    otad_build_fn build;
    void *instance;
    size_t n;
    const double *theta;
    double *grad;
} bench_objective;

/* The median seconds of `repeats` evaluations (value only, or value and
 * gradient) after `warmups` untimed ones, on a tape reset before each; the
 * last value goes to *value.  A failing evaluation stops at once with its
 * code. */
int bench_time_objective(otad_tape *t, const bench_objective *o, int backward, int warmups,
                         int repeats, double *value, double *seconds);

/* Median seconds of `repeats` calls of f(arg) after one untimed call. */
double bench_time_calls(void (*f)(void *), void *arg, int repeats);

/* The median of about a second of calls of f(arg) (3 to 20), after an
 * untimed one. */
double bench_time_second(void (*f)(void *), void *arg);

/* This process's peak RSS so far, MB. */
double bench_peak_rss_mb(void);

/* ---- the machine --------------------------------------------------------- */

/* Peaks measured in a fresh process with the given threads, the higher of
 * OpenBLAS's settings (bench_blas_settings): dgemm at n = 1500 (GFLOP/s),
 * streaming read (GB/s: the fastest of dgemv on a 128 MB matrix and summing
 * loops over it reading 1, 2, 4 or 8 sequences of addresses at once, so
 * that no well-written streaming code can beat the bound). */
typedef struct bench_machine {
    double dgemm_gflops, read_gbs;
} bench_machine;

int bench_measure_machine(int threads, bench_machine *m);

/* "2026-12-06 21:40 UTC, AMD EPYC ... (2 cores), load 1.02": for the
 * header of every table. */
void bench_print_machine_line(void);

/* The 1-minute load average. */
double bench_load(void);

/* ---- processes ------------------------------------------------------------ */

/* An allocator configuration of a process: LD_PRELOAD and one more
 * variable, each NULL when unset. */
typedef struct bench_allocator {
    const char *name, *preload, *variable, *value;
} bench_allocator;

extern const bench_allocator bench_allocators[BENCH_ALLOCATORS];

int bench_allocator_available(const bench_allocator *a);

/* OpenBLAS's settings, numbered from 0 (as the environment has it): its
 * kernels, and OPENBLAS_CORETYPE unset when the environment sets it; its
 * pthread build as installed, and its OpenMP build when that is installed
 * too.  The number of settings, 1 to BENCH_BLAS. */
int bench_blas_settings(void);

/* The setting ours runs in when it is not compared (bench_repeat): the last
 * (the OpenMP build, the kernels OpenBLAS picks for the CPU, where there
 * are). */
int bench_blas_alone(void);

/* Configuration k of a reference (k < BENCH_CONFIGS): allocator
 * k % BENCH_ALLOCATORS, OpenBLAS setting k / BENCH_ALLOCATORS; its name
 * ("jemalloc", "glibc, OpenMP OpenBLAS, OPENBLAS_CORETYPE unset") into out. */
const char *bench_config_name(int k, char *out, size_t cap);

/* Call first in main: answers the workers the protocol itself runs
 * ("--bench-machine") and finds this program's path.  Returns -1 when the
 * process was such a worker and must exit with *status. */
int bench_init(int argc, char **argv, int *status);

/* This program's path (workers are this program again). */
const char *bench_self(void);

/* Runs argv in a fresh process with `threads` BLAS/OpenMP threads (on the
 * first `threads` CPUs when there are more) under
 * allocator a (NULL: glibc) and OpenBLAS setting `blas`; its last RESULT
 * line goes to result, its peak RSS to *peak_mb.  Returns 0 on success; on
 * failure result holds the last line it wrote to stderr. */
int bench_run(char *const *argv, int threads, const bench_allocator *a, int blas, char *result,
              size_t cap, double *peak_mb);

/* ---- the comparison ------------------------------------------------------- */

/* A program and where its seconds are in its RESULT line: a number
 * ("fwdbwd", or "fwdbwd.median_s" for a member of a nested object), or an
 * array of the times of its evaluations, of which the median after the
 * first `warmups` is taken (for a program that times its warm-up too). */
typedef struct bench_side {
    char *const *argv;
    const char *seconds;
    int warmups;
} bench_side;

typedef struct bench_runs {
    int count;
    double seconds[BENCH_MAX_ROUNDS];
    double peak_mb;                 /* the largest over the rounds */
    char result[BENCH_RESULT_CAP];  /* the last RESULT, or why it failed */
} bench_runs;

typedef struct bench_comparison {
    int rounds;
    bench_runs ours;                /* ours in its fastest OpenBLAS setting, ours_blas */
    bench_runs ours_in[BENCH_BLAS]; /* ours in each setting */
    bench_runs reference[BENCH_CONFIGS];
    int ours_blas;
    int compared;                   /* the reference configuration compared, or -1 */
    double ratio_lo, ratio_hi;      /* its seconds over ours, over the rounds */
    double load_lo, load_hi;
} bench_comparison;

/* Ours in every OpenBLAS setting and, when reference is not NULL, the
 * reference in every available configuration, interleaved in `rounds`
 * rounds (3 to BENCH_MAX_ROUNDS; 1 for a run too long to repeat, which the
 * table must call a single run), ours with `threads` threads and glibc.
 * Returns 0 when ours ran every round (the reference may have failed:
 * compared is then -1). */
int bench_compare(const bench_side *ours, const bench_side *reference, int threads,
                  int rounds, const char *label, bench_comparison *c);

/* Several of ours (n sides, comparison i in c[i]) against one set of
 * reference runs: every round runs each of ours and the reference, so each
 * ratio is still of the same round.  One of ours that fails is not run
 * again (its ours.count stays below rounds, ours.result says why); returns
 * 0 when all of ours ran every round. */
int bench_compare_several(const bench_side *ours, size_t n, const bench_side *reference,
                          int threads, int rounds, const char *label, bench_comparison *c);

/* Ours alone, `rounds` fresh processes (OpenBLAS setting bench_blas_alone). */
int bench_repeat(const bench_side *ours, int threads, int rounds, const char *label,
                 bench_runs *r);

/* bench_repeat, keeping the number at each of the n_keys `keys` of every
 * round's RESULT: values[k][round] (NaN when absent), for a worker that
 * reports several figures. */
int bench_repeat_numbers(const bench_side *ours, int threads, int rounds, const char *label,
                         const char *const *keys, size_t n_keys,
                         double (*values)[BENCH_MAX_ROUNDS], bench_runs *r);

double bench_runs_min(const bench_runs *r);
double bench_runs_max(const bench_runs *r);
double bench_runs_median(const bench_runs *r);

/* ---- RESULT lines ------------------------------------------------------- */

/* The number at `key` ("a" or "a.b" inside the object at "a"), NaN when
 * absent. */
double bench_json_number(const char *json, const char *key);

/* The median of the array at `key` after its first `skip` entries (or the
 * number there), NaN when absent. */
double bench_json_median(const char *json, const char *key, int skip);

/* The string at `key` into out ("" when absent). */
void bench_json_string(const char *json, const char *key, char *out, size_t cap);

/* ---- Markdown tables -------------------------------------------------------- */

void bench_table_header(const char *const *columns, size_t n);

/* A cell: printf-formatted text, a number ("-" for NaN), a range "lo–hi"
 * (one number when they print alike), a ratio range "lo–hi×". */
void bench_cell_text(const char *format, ...) __attribute__((format(printf, 1, 2)));
void bench_cell(const char *format, double x);
void bench_cell_range(const char *format, double lo, double hi);
void bench_cell_ratio(const bench_comparison *c);
void bench_row_end(void);

/* "- what: ours 0.5–0.6 s (50 MB); glibc 3.1–3.3 s (900 MB); **compared**
 * jemalloc ...; 3 rounds, load 1.02–1.10", each of ours' settings too when
 * there are several, for notes under a table. */
void bench_print_comparison_note(const char *what, const bench_comparison *c);

/* ---- options and files ------------------------------------------------------ */

/* A comma-separated list of positive integers up to max; the count, or 0
 * when s is not one. */
size_t bench_parse_list(const char *s, size_t *out, size_t cap, size_t max);

/* Options "--threads 1,2" (up to 4 counts) and "--rounds 3" (rounds[0], 1
 * to BENCH_MAX_ROUNDS), nothing else: 0, or -1 with a usage line on stderr. */
int bench_parse_threads_rounds(int argc, char **argv, size_t *threads, size_t *n_threads,
                               size_t *rounds);

/* The reference program `name` in dir (the repository's bench/ folder, from
 * bench_repository_path) and a /usr/bin/python3 that imports `modules`
 * ("torch, scipy").  Writes the program's path, or returns -1 with why. */
int bench_find_reference(const char *dir, const char *name, const char *modules, char *path,
                         size_t cap, const char **why);

/* A path in this program's repository (<repository>/<build>/bench/<program>). */
void bench_repository_path(const char *relative, char *out, size_t cap);

/* The inputs of the point-cloud workloads, from the LCG of the reference
 * programs seeded with seed: n points of [0,1]² drawn row by row into p
 * (n×2, column-major), and n weights 0.5 + u_i scaled to sum 1 into h. */
void bench_points(uint64_t seed, size_t n, double *p);
void bench_histogram(uint64_t seed, size_t n, double *h);
/* n points of [0,1]^d drawn row by row (bench_points is d = 2). */
void bench_points_in(uint64_t seed, size_t n, size_t d, double *p);

/* Exponentials per second on this process's threads: glibc's vector exp
 * over a buffer in cache for about a quarter of a second. */
double bench_exp_rate(void);

#endif
