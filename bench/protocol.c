/* The measurement protocol of the benchmarks: see protocol.h. */
#define _GNU_SOURCE /* wait4, getloadavg, sched_setaffinity */

#include "protocol.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- timing --------------------------------------------------------------- */

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *x, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(x, n, sizeof *x, compare_doubles);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static int evaluate(otad_tape *t, const bench_objective *o, int backward, double *value)
{
    otad_tape_reset(t);
    otad_var y = o->build(t, otad_param(t, o->n, 1, o->theta, o->grad), o->instance);
    if (backward)
        otad_backward(t, y);
    int rc = otad_tape_status(t);
    *value = rc == OTAD_OK ? otad_scalar(t, y) : NAN;
    return rc;
}

int bench_time_objective(otad_tape *t, const bench_objective *o, int backward, int warmups,
                         int repeats, double *value, double *seconds)
{
    double times[64];
    if (repeats < 1 || repeats > 64)
        return OTAD_EINVAL;
    for (int r = 0; r < warmups + repeats; r++) {
        double t0 = bench_now();
        int rc = evaluate(t, o, backward, value);
        *seconds = bench_now() - t0;
        if (rc != OTAD_OK)
            return rc;
        if (r >= warmups)
            times[r - warmups] = *seconds;
    }
    *seconds = bench_median(times, (size_t)repeats);
    return OTAD_OK;
}

double bench_time_calls(void (*f)(void *), void *arg, int repeats)
{
    double times[64];
    repeats = repeats < 1 ? 1 : repeats > 64 ? 64 : repeats;
    f(arg);
    for (int r = 0; r < repeats; r++) {
        double t0 = bench_now();
        f(arg);
        times[r] = bench_now() - t0;
    }
    return bench_median(times, (size_t)repeats);
}

double bench_time_second(void (*f)(void *), void *arg)
{
    double t0 = bench_now();
    f(arg);
    double once = bench_now() - t0;
    return bench_time_calls(f, arg, once > 1.0 / 3 ? 3 : once < 0.05 ? 20 : (int)(1 / once));
}

double bench_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* ---- the machine's peaks ---------------------------------------------------- */

/* The fastest of `repeats` calls: a peak, not a typical time. */
static double fastest_call(void (*f)(void *), void *arg, int repeats)
{
    double best = INFINITY;
    for (int r = 0; r < repeats; r++) {
        double t0 = bench_now();
        f(arg);
        best = fmin(best, bench_now() - t0);
    }
    return best;
}

typedef struct matrices {
    int n;
    double *a, *b, *c;
    double sum;
} matrices;

static void run_dgemm(void *arg)
{
    matrices *m = arg;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m->n, m->n, m->n, 1.0, m->a, m->n,
                m->b, m->n, 0.0, m->c, m->n);
}

static void run_dgemv(void *arg)
{
    matrices *m = arg;
    cblas_dgemv(CblasColMajor, CblasNoTrans, m->n, m->n, 1.0, m->a, m->n, m->b, 1, 0.0, m->c,
                1);
}

/* A read of the whole matrix with independent sums, over the threads, in
 * `streams` sequences of addresses at once (the prefetchers follow
 * several; a kernel reading a few columns of a matrix together streams
 * faster than one sequence does). */
typedef struct read_probe {
    matrices *m;
    size_t streams;
} read_probe;

static void run_sum(void *arg)
{
    const read_probe *p = arg;
    size_t length = (size_t)p->m->n * (size_t)p->m->n / p->streams / 8 * 8;
    double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (size_t at = 0; at < length; at += 8)
        for (size_t s = 0; s < p->streams; s++) {
            const double *x = p->m->a + s * length + at;
            total += ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
        }
    p->m->sum += total;
}

static int machine_worker(void)
{
    matrices m = {1500, NULL, NULL, NULL, 0};
    size_t big = 4000 * 4000;
    m.a = malloc(big * sizeof *m.a), m.b = malloc(big * sizeof *m.b);
    m.c = malloc(big * sizeof *m.c);
    if (!m.a || !m.b || !m.c)
        return 1;
    for (size_t i = 0; i < big; i++)
        m.a[i] = m.b[i] = m.c[i] = 1.0 / (double)(1 + i % 7);
    double n = m.n, dgemm = 2 * n * n * n / fastest_call(run_dgemm, &m, 3) * 1e-9;
    m.n = 4000;
    double bytes = (double)big * sizeof(double);
    double read = bytes / fastest_call(run_dgemv, &m, 5) * 1e-9;
    for (size_t streams = 1; streams <= 8; streams *= 2) {
        read_probe probe = {&m, streams};
        read = fmax(read, bytes / fastest_call(run_sum, &probe, 5) * 1e-9);
    }
    printf("RESULT {\"dgemm_gflops\": %.4g, \"read_gbs\": %.4g, \"check\": %.3g}\n", dgemm,
           read, m.sum);
    free(m.a), free(m.b), free(m.c);
    return 0;
}

int bench_measure_machine(int threads, bench_machine *m)
{
    char result[BENCH_RESULT_CAP];
    double peak;
    char *const argv[] = {(char *)bench_self(), "--bench-machine", NULL};
    *m = (bench_machine){0, 0};
    for (int blas = 0; blas < bench_blas_settings(); blas++) {
        if (bench_run(argv, threads, NULL, blas, result, sizeof result, &peak) != 0)
            return -1;
        m->dgemm_gflops = fmax(m->dgemm_gflops, bench_json_number(result, "dgemm_gflops"));
        m->read_gbs = fmax(m->read_gbs, bench_json_number(result, "read_gbs"));
    }
    return 0;
}

double bench_load(void)
{
    double load[1];
    return getloadavg(load, 1) == 1 ? load[0] : NAN;
}

void bench_print_machine_line(void)
{
    char cpu[256] = "unknown CPU", line[512], date[64];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            snprintf(cpu, sizeof cpu, "%.200s", colon ? colon + 2 : line);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    time_t now = time(NULL);
    struct tm utc;
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &utc));
    printf("Measured %s on %s (%ld cores), load average %.2f.\n", date, cpu,
           sysconf(_SC_NPROCESSORS_ONLN), bench_load());
}

/* ---- processes ---------------------------------------------------------------- */

/* glibc's "never return memory": no mmap for large blocks, no trimming, so a
 * freed block is reused without faulting fresh pages in again. */
const bench_allocator bench_allocators[BENCH_ALLOCATORS] = {
    {"glibc", NULL, NULL, NULL},
    {"glibc, no trim", NULL, "GLIBC_TUNABLES",
     "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=18446744073709551615"},
    {"jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "MALLOC_CONF",
     "dirty_decay_ms:-1,muzzy_decay_ms:-1"},
};

int bench_allocator_available(const bench_allocator *a)
{
    return !a->preload || access(a->preload, R_OK) == 0;
}

/* OpenBLAS's settings: its kernels as OPENBLAS_CORETYPE sets them or, when
 * the environment sets them, unset (OpenBLAS picks them for the CPU); its
 * build as installed (threads of its own) or, when the installed one is the
 * pthread build and the OpenMP build is there too, the OpenMP build, whose
 * threads are OpenMP's (found first on LD_LIBRARY_PATH).  Setting s is
 * kernels s % kernel_choices(), build s / kernel_choices(). */
static const char installed_blas[] = "/usr/lib/x86_64-linux-gnu/libopenblas.so.0";
static const char openmp_blas_dir[] = "/usr/lib/x86_64-linux-gnu/openblas-openmp";

static int kernel_choices(void)
{
    const char *set = getenv("OPENBLAS_CORETYPE");
    return set && *set ? 2 : 1;
}

static int build_choices(void)
{
    char installed[PATH_MAX], openmp[PATH_MAX + 32];
    snprintf(openmp, sizeof openmp, "%s/libopenblas.so.0", openmp_blas_dir);
    return realpath(installed_blas, installed) && strstr(installed, "/openblas-pthread/") &&
           access(openmp, R_OK) == 0 ? 2 : 1;
}

int bench_blas_settings(void)
{
    return kernel_choices() * build_choices();
}

int bench_blas_alone(void)
{
    return bench_blas_settings() - 1;
}

/* In a worker's process, before exec: OpenBLAS setting b. */
static void set_blas(int b)
{
    if (b % kernel_choices() == 1)
        unsetenv("OPENBLAS_CORETYPE");
    if (b / kernel_choices() == 1) {
        char path[PATH_MAX + 64];
        const char *before = getenv("LD_LIBRARY_PATH");
        snprintf(path, sizeof path, "%s%s%s", openmp_blas_dir, before && *before ? ":" : "",
                 before ? before : "");
        setenv("LD_LIBRARY_PATH", path, 1);
    }
}

/* OpenBLAS setting b: "OpenMP OpenBLAS, OPENBLAS_CORETYPE unset" and the like,
 * naming only what varies here. */
static const char *blas_name(int b, char *out, size_t cap)
{
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    char kernels[64] = "";
    if (kernel_choices() == 2 && b % 2 == 0)
        snprintf(kernels, sizeof kernels, "OPENBLAS_CORETYPE=%.40s", coretype);
    else if (kernel_choices() == 2)
        snprintf(kernels, sizeof kernels, "OPENBLAS_CORETYPE unset");
    const char *build = build_choices() == 1 ? ""
                        : b / kernel_choices() == 1 ? "OpenMP OpenBLAS"
                                                    : "pthread OpenBLAS";
    snprintf(out, cap, "%s%s%s", build, *build && *kernels ? ", " : "", kernels);
    return out;
}

const char *bench_config_name(int k, char *out, size_t cap)
{
    char blas[128];
    const char *allocator = bench_allocators[k % BENCH_ALLOCATORS].name;
    if (bench_blas_settings() == 1)
        snprintf(out, cap, "%s", allocator);
    else
        snprintf(out, cap, "%s, %s", allocator, blas_name(k / BENCH_ALLOCATORS, blas, sizeof blas));
    return out;
}

static char self_path[PATH_MAX];

const char *bench_self(void)
{
    return self_path;
}

int bench_init(int argc, char **argv, int *status)
{
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len > 0)
        self_path[len] = '\0';
    else
        snprintf(self_path, sizeof self_path, "%s", argv[0]);
    if (argc == 2 && strcmp(argv[1], "--bench-machine") == 0) {
        *status = machine_worker();
        return -1;
    }
    return 0;
}

/* s into out, cut to fit. */
static void copy_text(char *out, size_t cap, const char *s)
{
    size_t len = strlen(s) < cap ? strlen(s) : cap - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

/* The last non-empty line of f into out. */
static void last_line(FILE *f, char *out, size_t cap)
{
    char line[BENCH_RESULT_CAP];
    rewind(f);
    while (fgets(line, sizeof line, f))
        if (line[0] != '\n')
            copy_text(out, cap, line);
    out[strcspn(out, "\n")] = '\0';
}

/* In a worker's process, before exec: a run on fewer threads than there
 * are CPUs keeps to the first `threads` of them, ours and the reference's
 * alike.  A virtual machine's CPUs may run the same code at different
 * speeds (this one's were measured so); left to the scheduler, a run would
 * land on one or the other by chance, and a ratio compare two CPUs. */
static void keep_to_first_cpus(int threads)
{
    cpu_set_t all, first;
    if (sched_getaffinity(0, sizeof all, &all) != 0 || threads >= CPU_COUNT(&all))
        return;
    CPU_ZERO(&first);
    for (int c = 0, taken = 0; c < CPU_SETSIZE && taken < threads; c++)
        if (CPU_ISSET(c, &all))
            CPU_SET(c, &first), taken++;
    sched_setaffinity(0, sizeof first, &first);
}

int bench_run(char *const *argv, int threads, const bench_allocator *a, int blas, char *result,
              size_t cap, double *peak_mb)
{
    int fd[2];
    FILE *errors = tmpfile();
    result[0] = '\0';
    *peak_mb = NAN;
    fflush(stdout);
    if (!errors || pipe(fd) != 0) {
        snprintf(result, cap, "cannot create a pipe");
        if (errors)
            fclose(errors);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char t[16];
        snprintf(t, sizeof t, "%d", threads);
        setenv("OPENBLAS_NUM_THREADS", t, 1);
        setenv("OMP_NUM_THREADS", t, 1);
        setenv("MKL_NUM_THREADS", t, 1);
        unsetenv("LD_PRELOAD");
        set_blas(blas);
        keep_to_first_cpus(threads);
        if (a && a->preload)
            setenv("LD_PRELOAD", a->preload, 1);
        if (a && a->variable)
            setenv(a->variable, a->value, 1);
        dup2(fd[1], STDOUT_FILENO);
        dup2(fileno(errors), STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    FILE *out = pid > 0 ? fdopen(fd[0], "r") : NULL;
    char line[BENCH_RESULT_CAP];
    while (out && fgets(line, sizeof line, out))
        if (strncmp(line, "RESULT ", 7) == 0)
            copy_text(result, cap, line + 7);
    if (out)
        fclose(out);
    else
        close(fd[0]);
    int status = -1;
    struct rusage ru;
    int ok = pid > 0 && wait4(pid, &status, 0, &ru) == pid && WIFEXITED(status) &&
             WEXITSTATUS(status) == 0 && result[0];
    if (ok) {
        *peak_mb = (double)ru.ru_maxrss / 1024.0;
    } else {
        last_line(errors, result, cap);
        if (!result[0])
            snprintf(result, cap, "%s failed (status %d)", argv[0], status);
    }
    fclose(errors);
    return ok ? 0 : -1;
}

/* ---- the comparison ----------------------------------------------------------- */

static int run_side(const bench_side *s, int threads, int config, bench_runs *r)
{
    double peak;
    const bench_allocator *a = &bench_allocators[config % BENCH_ALLOCATORS];
    if (bench_run(s->argv, threads, a, config / BENCH_ALLOCATORS, r->result, sizeof r->result,
                  &peak) != 0)
        return -1;
    double seconds = bench_json_median(r->result, s->seconds, s->warmups);
    if (!isfinite(seconds)) {
        snprintf(r->result, sizeof r->result, "no \"%s\" in the worker's result", s->seconds);
        return -1;
    }
    r->seconds[r->count++] = seconds;
    r->peak_mb = r->count == 1 ? peak : fmax(r->peak_mb, peak);
    return 0;
}

double bench_runs_min(const bench_runs *r)
{
    double x = r->count ? INFINITY : NAN;
    for (int i = 0; i < r->count; i++)
        x = fmin(x, r->seconds[i]);
    return x;
}

double bench_runs_max(const bench_runs *r)
{
    double x = r->count ? -INFINITY : NAN;
    for (int i = 0; i < r->count; i++)
        x = fmax(x, r->seconds[i]);
    return x;
}

double bench_runs_median(const bench_runs *r)
{
    double x[BENCH_MAX_ROUNDS];
    memcpy(x, r->seconds, (size_t)r->count * sizeof *x);
    return bench_median(x, (size_t)r->count);
}

static void progress(const char *label, int round, const bench_comparison *c, size_t n,
                     const int *ran)
{
    char name[160];
    fprintf(stderr, "  %s, round %d/%d: ours", label, round + 1, c->rounds);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < bench_blas_settings(); b++)
            if (c[i].ours_in[b].count > round)
                fprintf(stderr, "%s %.3g s", i || b ? "," : "", c[i].ours_in[b].seconds[round]);
            else
                fprintf(stderr, "%s failed", i || b ? "," : "");
    for (int k = 0; k < BENCH_CONFIGS; k++)
        if (ran[k])
            fprintf(stderr, ", %s %.3g s", bench_config_name(k, name, sizeof name),
                    c->reference[k].seconds[c->reference[k].count - 1]);
    fprintf(stderr, ", load %.2f\n", bench_load());
}

/* After the first round: a configuration more than twice as slow as the
 * fastest cannot become the fastest. */
static void drop_slow(bench_comparison *c, int *active)
{
    double fastest = INFINITY;
    for (int k = 0; k < BENCH_CONFIGS; k++)
        if (active[k])
            fastest = fmin(fastest, c->reference[k].seconds[0]);
    for (int k = 0; k < BENCH_CONFIGS; k++)
        if (active[k] && c->reference[k].seconds[0] > 2 * fastest)
            active[k] = 0;
}

/* The fastest of ours' settings (by the median over the rounds) as ours,
 * then the reference's fastest configuration and the ratio. */
static void choose_compared(bench_comparison *c)
{
    c->ours_blas = 0;
    if (c->ours.count == c->rounds) { /* every setting ran every round; else ours.result says why */
        for (int b = 1; b < bench_blas_settings(); b++)
            if (bench_runs_median(&c->ours_in[b]) < bench_runs_median(&c->ours_in[c->ours_blas]))
                c->ours_blas = b;
        c->ours = c->ours_in[c->ours_blas];
    }
    c->compared = -1;
    double best = INFINITY;
    for (int k = 0; k < BENCH_CONFIGS; k++)
        if (c->reference[k].count == c->rounds && bench_runs_median(&c->reference[k]) < best)
            best = bench_runs_median(&c->reference[k]), c->compared = k;
    c->ratio_lo = c->ratio_hi = NAN;
    if (c->compared < 0 || c->ours.count < c->rounds)
        return;
    c->ratio_lo = INFINITY, c->ratio_hi = -INFINITY;
    for (int r = 0; r < c->rounds; r++) {
        double ratio = c->reference[c->compared].seconds[r] / c->ours.seconds[r];
        c->ratio_lo = fmin(c->ratio_lo, ratio), c->ratio_hi = fmax(c->ratio_hi, ratio);
    }
}

/* Each of ours that ran every round so far runs round `round` in every
 * OpenBLAS setting (glibc), in an order reversed every round (so that no
 * setting always runs right after the reference); the number still
 * running.  One that fails stops, with why in ours.result. */
static size_t run_ours(const bench_side *ours, size_t n, int threads, int round,
                       bench_comparison *c)
{
    size_t running = 0;
    int settings = bench_blas_settings();
    for (size_t i = 0; i < n; i++) {
        int ok = c[i].ours.count == round;
        for (int k = 0; ok && k < settings; k++) {
            int b = round % 2 == 0 ? k : settings - 1 - k;
            if (run_side(&ours[i], threads, b * BENCH_ALLOCATORS, &c[i].ours_in[b]) != 0) {
                memcpy(c[i].ours.result, c[i].ours_in[b].result, sizeof c[i].ours.result);
                ok = 0;
            }
        }
        c[i].ours.count += ok;
        running += ok;
    }
    return running;
}

int bench_compare_several(const bench_side *ours, size_t n, const bench_side *reference,
                          int threads, int rounds, const char *label, bench_comparison *c)
{
    memset(c, 0, n * sizeof *c);
    c->rounds = rounds < 1 ? 1 : rounds > BENCH_MAX_ROUNDS ? BENCH_MAX_ROUNDS : rounds;
    c->load_lo = INFINITY, c->load_hi = -INFINITY;
    int active[BENCH_CONFIGS];
    for (int k = 0; k < BENCH_CONFIGS; k++) {
        active[k] = reference && k / BENCH_ALLOCATORS < bench_blas_settings() &&
                    bench_allocator_available(&bench_allocators[k % BENCH_ALLOCATORS]);
        if (!active[k])
            snprintf(c->reference[k].result, sizeof c->reference[k].result, "not run");
    }
    for (int r = 0; r < c->rounds; r++) {
        int ran[BENCH_CONFIGS] = {0};
        if (r % 2 == 0 && run_ours(ours, n, threads, r, c) == 0)
            return -1;
        for (int i = 0; i < BENCH_CONFIGS; i++) {
            int k = r % 2 == 0 ? i : BENCH_CONFIGS - 1 - i;
            if (active[k])
                active[k] = ran[k] = run_side(reference, threads, k, &c->reference[k]) == 0;
        }
        if (r % 2 == 1 && run_ours(ours, n, threads, r, c) == 0)
            return -1;
        if (r == 0)
            drop_slow(c, active);
        double load = bench_load();
        c->load_lo = fmin(c->load_lo, load), c->load_hi = fmax(c->load_hi, load);
        progress(label, r, c, n, ran);
    }
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            c[i].rounds = c->rounds, c[i].load_lo = c->load_lo, c[i].load_hi = c->load_hi;
            memcpy(c[i].reference, c->reference, sizeof c->reference);
        }
        choose_compared(&c[i]);
        all = all && c[i].ours.count == c->rounds;
    }
    return all ? 0 : -1;
}

int bench_compare(const bench_side *ours, const bench_side *reference, int threads,
                  int rounds, const char *label, bench_comparison *c)
{
    return bench_compare_several(ours, 1, reference, threads, rounds, label, c);
}

int bench_repeat(const bench_side *ours, int threads, int rounds, const char *label,
                 bench_runs *r)
{
    return bench_repeat_numbers(ours, threads, rounds, label, NULL, 0, NULL, r);
}

int bench_repeat_numbers(const bench_side *ours, int threads, int rounds, const char *label,
                         const char *const *keys, size_t n_keys,
                         double (*values)[BENCH_MAX_ROUNDS], bench_runs *r)
{
    memset(r, 0, sizeof *r);
    rounds = rounds < 1 ? 1 : rounds > BENCH_MAX_ROUNDS ? BENCH_MAX_ROUNDS : rounds;
    for (int i = 0; i < rounds; i++) {
        if (run_side(ours, threads, bench_blas_alone() * BENCH_ALLOCATORS, r) != 0)
            return -1;
        for (size_t k = 0; k < n_keys; k++)
            values[k][i] = bench_json_number(r->result, keys[k]);
        fprintf(stderr, "  %s, run %d/%d: %.3g s, load %.2f\n", label, i + 1, rounds,
                r->seconds[i], bench_load());
    }
    return 0;
}

/* ---- RESULT lines -------------------------------------------------------------- */

/* Where the value of `key` starts ("a.b": b inside the object at a). */
static const char *json_find(const char *json, const char *key)
{
    const char *dot = strchr(key, '.');
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%.*s\": ", dot ? (int)(dot - key) : (int)strlen(key),
             key);
    const char *p = json ? strstr(json, pattern) : NULL;
    if (!p)
        return NULL;
    p += strlen(pattern);
    return dot ? json_find(p, dot + 1) : p;
}

double bench_json_number(const char *json, const char *key)
{
    const char *p = json_find(json, key);
    char *end;
    double x = p ? strtod(p, &end) : NAN;
    return p && end != p ? x : NAN;
}

double bench_json_median(const char *json, const char *key, int skip)
{
    const char *p = json_find(json, key);
    if (!p || *p != '[')
        return bench_json_number(json, key);
    double x[64];
    size_t n = 0;
    for (p++; n < 64;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            break;
        if (skip > 0)
            skip--;
        else
            x[n++] = v;
        for (p = end; *p == ',' || *p == ' '; p++)
            ;
    }
    return bench_median(x, n);
}

void bench_json_string(const char *json, const char *key, char *out, size_t cap)
{
    const char *p = json_find(json, key);
    size_t k = 0;
    if (p && *p == '"')
        for (p++; *p && *p != '"' && k + 1 < cap; p++) {
            if (*p == '\\' && p[1])
                p++;
            out[k++] = *p;
        }
    out[k] = '\0';
}

/* ---- Markdown tables -------------------------------------------------------------- */

void bench_table_header(const char *const *columns, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("| %s ", columns[i]);
    printf("|\n");
    for (size_t i = 0; i < n; i++)
        printf("|---");
    printf("|\n");
}

void bench_cell_text(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    printf("| ");
    vprintf(format, args);
    printf(" ");
    va_end(args);
}

void bench_cell(const char *format, double x)
{
    if (isnan(x)) {
        printf("| - ");
        return;
    }
    printf("| ");
    printf(format, x);
    printf(" ");
}

/* "lo–hi" into out, or one number when they print alike. */
static const char *range_text(char *out, size_t cap, const char *format, double lo, double hi)
{
    char a[64], b[64];
    snprintf(a, sizeof a, format, lo);
    snprintf(b, sizeof b, format, hi);
    if (strcmp(a, b) == 0)
        snprintf(out, cap, "%s", a);
    else
        snprintf(out, cap, "%s–%s", a, b);
    return out;
}

static void print_range(const char *format, double lo, double hi, const char *unit)
{
    char text[160];
    if (isnan(lo) || isnan(hi))
        printf("| - ");
    else
        printf("| %s%s ", range_text(text, sizeof text, format, lo, hi), unit);
}

void bench_cell_range(const char *format, double lo, double hi)
{
    print_range(format, lo, hi, "");
}

void bench_cell_ratio(const bench_comparison *c)
{
    print_range("%.1f", c->ratio_lo, c->ratio_hi, "×");
}

void bench_row_end(void)
{
    printf("|\n");
    fflush(stdout);
}

/* "[**compared** ]name lo–hi s (peak MB)", or why it did not run every round. */
static void print_runs(const char *name, const bench_runs *r, int rounds, int compared)
{
    char text[160];
    if (r->count == 0)
        printf("%s: %s", name, r->result);
    else if (r->count < rounds)
        printf("%s %.3g s (%.0f MB, dropped after round 1)", name, r->seconds[0], r->peak_mb);
    else
        printf("%s%s%s%s s (%.0f MB)", compared ? "**compared** " : "", name, *name ? " " : "",
               range_text(text, sizeof text, "%.3g", bench_runs_min(r), bench_runs_max(r)),
               r->peak_mb);
}

void bench_print_comparison_note(const char *what, const bench_comparison *c)
{
    char text[160], name[160];
    int settings = bench_blas_settings();
    printf("- %s: ours ", what);
    for (int b = 0; b < settings; b++) {
        printf("%s", b ? ", " : "");
        print_runs(settings > 1 ? blas_name(b, name, sizeof name) : "", &c->ours_in[b],
                   c->rounds, settings > 1 && b == c->ours_blas);
    }
    for (int k = 0; k < settings * BENCH_ALLOCATORS; k++) {
        printf("; ");
        print_runs(bench_config_name(k, name, sizeof name), &c->reference[k], c->rounds,
                   k == c->compared);
    }
    printf("; %d round%s, load %s\n", c->rounds, c->rounds == 1 ? "" : "s",
           range_text(text, sizeof text, "%.2f", c->load_lo, c->load_hi));
}

/* ---- options and files ----------------------------------------------------------- */

size_t bench_parse_list(const char *s, size_t *out, size_t cap, size_t max)
{
    size_t k = 0;
    while (s && *s) {
        char *end;
        unsigned long x = strtoul(s, &end, 10);
        if (end == s || x == 0 || x > max || k == cap || (*end != ',' && *end != '\0'))
            return 0;
        out[k++] = x;
        s = *end == ',' ? end + 1 : end;
    }
    return k;
}

int bench_parse_threads_rounds(int argc, char **argv, size_t *threads, size_t *n_threads,
                               size_t *rounds)
{
    int ok = argc % 2 == 1;
    for (int i = 1; ok && i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--threads") == 0)
            ok = (*n_threads = bench_parse_list(argv[i + 1], threads, 4, 64)) > 0;
        else
            ok = strcmp(argv[i], "--rounds") == 0 &&
                 bench_parse_list(argv[i + 1], rounds, 1, BENCH_MAX_ROUNDS) == 1;
    if (!ok)
        fprintf(stderr, "usage: %s [--threads 1,2] [--rounds 3]\n", argv[0]);
    return ok ? 0 : -1;
}

void bench_repository_path(const char *relative, char *out, size_t cap)
{
    const char *end = self_path + strlen(self_path);
    for (int up = 0; up < 3 && end > self_path; up++)
        while (--end > self_path && *end != '/')
            ;
    snprintf(out, cap, "%.*s/%s", (int)(end - self_path), self_path, relative);
}

void bench_points_in(uint64_t seed, size_t n, size_t d, double *p)
{
    otad_rng rng = {seed};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++)
            p[i + k * n] = otad_rng_uniform(&rng);
}

void bench_points(uint64_t seed, size_t n, double *p)
{
    bench_points_in(seed, n, 2, p);
}

/* glibc's vector exp, which <math.h> declares for simd loops only under
 * -ffast-math; the sum keeps every exponential. */
#pragma omp declare simd notinbranch
double exp(double);

double bench_exp_rate(void)
{
    enum { SIZE = 1 << 12 };
    static double arg[SIZE];
    double done = 0, sink = 0;
    for (size_t i = 0; i < SIZE; i++)
        arg[i] = -(double)i / SIZE * 30;
    double t0 = bench_now();
    while (bench_now() - t0 < 0.25) {
#pragma omp parallel reduction(+ : sink, done)
        for (int r = 0; r < 64; r++) {
            const double *a = arg;
            double s = 0;
#pragma omp simd reduction(+ : s)
            for (size_t i = 0; i < SIZE; i++)
                s += exp(a[i]);
            sink += s, done += SIZE;
        }
    }
    return sink > 0 ? done / (bench_now() - t0) : NAN;
}

void bench_histogram(uint64_t seed, size_t n, double *h)
{
    otad_rng rng = {seed};
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i] = 0.5 + otad_rng_uniform(&rng);
    for (size_t i = 0; i < n; i++)
        h[i] /= s;
}

int bench_find_reference(const char *dir, const char *name, const char *modules, char *path,
                         size_t cap, const char **why)
{
    static char missing[PATH_MAX + 128];
    char script[PATH_MAX + 64], resolved[PATH_MAX], command[512];
    snprintf(script, sizeof script, "%.3000s/%.60s", dir, name);
    if (access(script, R_OK) != 0) {
        snprintf(missing, sizeof missing, "the reference program %s was not found", script);
        *why = missing;
        return -1;
    }
    snprintf(path, cap, "%s", realpath(script, resolved) ? resolved : script);
    snprintf(command, sizeof command, "/usr/bin/python3 -c 'import %.400s' >/dev/null 2>&1",
             modules);
    snprintf(missing, sizeof missing, "/usr/bin/python3 cannot import %.400s", modules);
    *why = system(command) == 0 ? NULL : missing;
    return *why ? -1 : 0;
}
