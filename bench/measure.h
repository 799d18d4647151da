/* Timing, memory and machine-peak helpers shared by the benchmarks. */
#ifndef OTAD_BENCH_MEASURE_H
#define OTAD_BENCH_MEASURE_H

/* wait4, for the peak RSS of one child: include this header first. */
#define _DEFAULT_SOURCE

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "otad.h"

static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n times, sorted in place. */
static inline double median_of(double *times, int n)
{
    qsort(times, (size_t)n, sizeof *times, compare_double);
    return times[n / 2];
}

enum { MAX_TIMED_REPEATS = 16 };

/* A model's objective at θ (n entries), its gradient going to grad. */
typedef struct objective {
    otad_build_fn build;
    void *instance;
    size_t n;
    const double *theta;
    double *grad;
} objective;

/* The objective on a reset tape, and its gradient when backward. */
static inline int evaluate_objective(otad_tape *t, const objective *o, int backward,
                                     double *value)
{
    otad_tape_reset(t);
    otad_var y = o->build(t, otad_param(t, o->n, 1, o->theta, o->grad), o->instance);
    if (backward)
        otad_backward(t, y);
    int rc = otad_tape_status(t);
    *value = rc == OTAD_OK ? otad_scalar(t, y) : NAN;
    return rc;
}

/* Median seconds of `repeats` (at most MAX_TIMED_REPEATS) evaluations after
 * `warmups` untimed ones.  A failure stops at once (a failing evaluation
 * can take long): *seconds is then the failed evaluation's time. */
static inline int median_time(otad_tape *t, const objective *o, int backward, int warmups,
                              int repeats, double *value, double *seconds)
{
    double times[MAX_TIMED_REPEATS];
    int rc = OTAD_OK;
    for (int r = 0; r < warmups + repeats; r++) {
        double t0 = now_seconds();
        rc = evaluate_objective(t, o, backward, value);
        *seconds = now_seconds() - t0;
        if (rc != OTAD_OK)
            return rc;
        if (r >= warmups)
            times[r - warmups] = *seconds;
    }
    *seconds = median_of(times, repeats);
    return rc;
}

/* Peak resident set size of this process so far, in MB. */
static inline double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* Best of `repeats` runs of f(arg), in seconds. */
static inline double best_time(void (*f)(void *), void *arg, int repeats)
{
    double best = 1e300;
    for (int r = 0; r < repeats; r++) {
        double t0 = now_seconds();
        f(arg);
        double dt = now_seconds() - t0;
        best = dt < best ? dt : best;
    }
    return best;
}

typedef struct dgemm_run {
    int n;
    double *a, *b, *c;
} dgemm_run;

static inline void run_dgemm(void *arg)
{
    dgemm_run *r = arg;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, r->n, r->n, r->n, 1.0, r->a, r->n,
                r->b, r->n, 0.0, r->c, r->n);
}

/* The machine's dgemm rate at n = 1500 with the current thread count, GFLOP/s. */
static inline double measured_dgemm_gflops(void)
{
    dgemm_run r = {1500, NULL, NULL, NULL};
    size_t bytes = (size_t)r.n * r.n * sizeof(double);
    r.a = malloc(bytes), r.b = malloc(bytes), r.c = malloc(bytes);
    if (!r.a || !r.b || !r.c)
        return 0;
    for (size_t i = 0; i < (size_t)r.n * r.n; i++)
        r.a[i] = r.b[i] = 1.0 / (double)(1 + i % 7);
    double t = best_time(run_dgemm, &r, 3);
    free(r.a), free(r.b), free(r.c);
    return 2.0 * r.n * r.n * (double)r.n / t * 1e-9;
}

typedef struct copy_run {
    size_t bytes;
    void *src, *dst;
} copy_run;

static inline void run_copy(void *arg)
{
    copy_run *r = arg;
    memcpy(r->dst, r->src, r->bytes);
}

/* Copy bandwidth between already-mapped 64 MB buffers (read + write), GB/s. */
static inline double measured_copy_gbs(void)
{
    copy_run r = {(size_t)64 << 20, NULL, NULL};
    r.src = malloc(r.bytes), r.dst = malloc(r.bytes);
    if (!r.src || !r.dst)
        return 0;
    memset(r.src, 1, r.bytes);
    memset(r.dst, 0, r.bytes);
    double t = best_time(run_copy, &r, 5);
    free(r.src), free(r.dst);
    return 2.0 * (double)r.bytes / t * 1e-9;
}

typedef struct gemv_run {
    int n;
    double *a, *x, *y;
} gemv_run;

static inline void run_gemv(void *arg)
{
    gemv_run *r = arg;
    cblas_dgemv(CblasColMajor, CblasNoTrans, r->n, r->n, 1.0, r->a, r->n, r->x, 1, 0.0, r->y, 1);
}

/* Streaming read bandwidth, GB/s: dgemv on a 4000×4000 matrix (128 MB, far
 * beyond the caches) reads it once per call. */
static inline double measured_stream_gbs(void)
{
    gemv_run r = {4000, NULL, NULL, NULL};
    size_t n = (size_t)r.n;
    r.a = malloc(n * n * sizeof *r.a), r.x = malloc(n * sizeof *r.x);
    r.y = malloc(n * sizeof *r.y);
    if (!r.a || !r.x || !r.y)
        return 0;
    for (size_t i = 0; i < n * n; i++)
        r.a[i] = 1.0 / (double)(1 + i % 7);
    for (size_t i = 0; i < n; i++)
        r.x[i] = 1;
    double t = best_time(run_gemv, &r, 5);
    free(r.a), free(r.x), free(r.y);
    return (double)(n * n * sizeof(double)) / t * 1e-9;
}

/* This program's path: workers are this program again, and /proc/self/exe
 * finds it also when it was run from PATH.  Set by find_self. */
static char self_path[1024];

static inline void find_self(const char *argv0)
{
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len > 0)
        self_path[len] = '\0';
    else
        snprintf(self_path, sizeof self_path, "%s", argv0);
}

/* <repository> from <repository>/<build>/bench/<program>. */
static inline void repository_of_self(char *out, size_t cap)
{
    const char *end = self_path + strlen(self_path);
    for (int up = 0; up < 3 && end > self_path; up++)
        while (--end > self_path && *end != '/')
            ;
    snprintf(out, cap, "%.*s", (int)(end - self_path), self_path);
}

/* Runs argv[0] with args in a fresh process whose BLAS and OpenMP use
 * `threads` threads (set before the libraries start); copies its last output
 * line that starts with "RESULT " into out and gives its peak RSS in MB.
 * Returns 0 on success. */
static inline int run_fresh(char *const *argv, int threads, const char *preload, char *out,
                            size_t cap, double *peak_mb)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char t[16];
        snprintf(t, sizeof t, "%d", threads);
        setenv("OPENBLAS_NUM_THREADS", t, 1);
        setenv("OMP_NUM_THREADS", t, 1);
        setenv("MKL_NUM_THREADS", t, 1);
        if (preload) {
            setenv("LD_PRELOAD", preload, 1);
            setenv("MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1", 1);
        }
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[8192];
    out[0] = '\0';
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "RESULT ", 7) == 0)
            snprintf(out, cap, "%s", line + 7);
    if (f)
        fclose(f);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    *peak_mb = (double)ru.ru_maxrss / 1024.0;
    return out[0] ? 0 : -1;
}

/* The number after `"key": ` in a JSON line (NaN when absent). */
static inline double json_number(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = strstr(json, pattern);
    return p ? strtod(p + strlen(pattern), NULL) : 0.0 / 0.0;
}

/* The number after `"key": ` in the object that follows `"outer": `. */
static inline double json_nested(const char *json, const char *outer, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": {", outer);
    const char *p = strstr(json, pattern);
    return p ? json_number(p + strlen(pattern), key) : NAN;
}

/* A worker that prints the machine's dgemm rate as a RESULT line. */
static inline int machine_worker(void)
{
    printf("RESULT {\"dgemm_gflops\": %.4g}\n", measured_dgemm_gflops());
    return 0;
}

/* The dgemm rate with each of the n thread counts, each in a fresh process
 * of self (which answers `--machine` with machine_worker). */
static inline int measure_machine(char *self, const size_t *threads, size_t n, double *dgemm)
{
    for (size_t ti = 0; ti < n; ti++) {
        char out[256];
        double peak;
        char *const argv[] = {self, "--machine", NULL};
        fflush(stdout);
        if (run_fresh(argv, (int)threads[ti], NULL, out, sizeof out, &peak) != 0)
            return -1;
        dgemm[ti] = json_number(out, "dgemm_gflops");
    }
    return 0;
}

/* The references run under jemalloc without purging when it is installed
 * (their faster configuration; ../shared/anchors/README.md). */
static const char jemalloc_path[] = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

static inline int have_jemalloc(void)
{
    return access(jemalloc_path, R_OK) == 0;
}

/* Runs `script --worker config` with /usr/bin/python3 as run_fresh does,
 * under jemalloc when it is installed. */
static inline int run_python_worker(const char *script, const char *config, int threads,
                                    char *out, size_t cap, double *peak_mb)
{
    char *const argv[] = {"/usr/bin/python3", (char *)script, "--worker", (char *)config, NULL};
    fflush(stdout);
    return run_fresh(argv, threads, have_jemalloc() ? jemalloc_path : NULL, out, cap, peak_mb);
}

/* Table cells: a number, one in scientific notation, a ratio; "-" for NaN. */
static inline void cell(int width, int precision, double x)
{
    if (x != x)
        printf(" %*s", width, "-");
    else
        printf(" %*.*f", width, precision, x);
}

static inline void cell_sci(int width, int precision, double x)
{
    if (x != x)
        printf(" %*s", width, "-");
    else
        printf(" %*.*e", width, precision, x);
}

static inline void cell_ratio(double x)
{
    if (x != x)
        printf(" %7s", "-");
    else
        printf(" %6.1fx", x);
}

#endif
