/* Timing, memory and machine-peak helpers shared by the benchmarks. */
#ifndef OTAD_BENCH_MEASURE_H
#define OTAD_BENCH_MEASURE_H

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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

#endif
