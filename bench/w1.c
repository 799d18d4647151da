/*
 * W1: the Sinkhorn loss W_L between n random points and m = n others in
 * [0,1]², ε = 0.05, L = 100, value and gradients to the weights a and the
 * points x, with B = 1 or 16 target histograms — the reference workload of
 * ../shared/anchors (same LCG inputs, same iterations), timed against the
 * PyTorch reference in the same run when /usr/bin/python3 has torch.  The
 * kernel is the Gibbs kernel of the two point sets (C from differences, as
 * the reference computes it, K = exp(−C/ε)), which keeps K only.
 *
 *   w1 [--sizes 500,2000,4000] [--threads 1,2] [--anchors DIR]
 *
 * Every configuration runs in a fresh process with its thread count set
 * before the libraries start, so that its peak RSS is its own.
 */
#include "measure.h"

#include <math.h>

#include "otad.h"

enum { L = 100 };
static const double eps = 0.05;

/* ---- worker: one configuration ------------------------------------------ */

typedef struct problem {
    size_t n, batch;
    double *x, *y, *a, *b, *grad_x, *grad_a;
} problem;

/* LCG(seed) draws: weights (0.5 + u_i)/Σ, points row by row. */
static void histogram(uint64_t seed, size_t n, double *h)
{
    otad_rng rng = {seed};
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i] = 0.5 + otad_rng_uniform(&rng);
    for (size_t i = 0; i < n; i++)
        h[i] /= s;
}

static void points(uint64_t seed, size_t n, double *p)
{
    otad_rng rng = {seed};
    for (size_t i = 0; i < n; i++) {
        p[i] = otad_rng_uniform(&rng);
        p[i + n] = otad_rng_uniform(&rng);
    }
}

static void problem_init(problem *p, size_t n, size_t batch)
{
    p->n = n, p->batch = batch;
    p->x = malloc(2 * n * sizeof *p->x), p->y = malloc(2 * n * sizeof *p->y);
    p->a = malloc(n * sizeof *p->a), p->b = malloc(n * batch * sizeof *p->b);
    p->grad_x = malloc(2 * n * sizeof *p->grad_x), p->grad_a = malloc(n * sizeof *p->grad_a);
    points(1, n, p->x);
    points(2, n, p->y);
    histogram(3, n, p->a);
    for (size_t k = 0; k < batch; k++)
        histogram(batch == 1 ? 4 : 100 + k, n, p->b + k * n);
}

/* Σ_k W_L(a, b_k) on a reset tape, and its gradients when asked. */
static double evaluate(otad_tape *t, problem *p, int backward)
{
    otad_tape_reset(t);
    size_t n = p->n;
    otad_var x = otad_param(t, n, 2, p->x, p->grad_x), a = otad_param(t, n, 1, p->a, p->grad_a);
    otad_kernel k = otad_kernel_gibbs_points(t, x, otad_const(t, n, 2, p->y), eps);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = L;
    otad_var w = otad_sum(t, otad_sinkhorn_loss(t, k, a, otad_const(t, n, p->batch, p->b), &o,
                                                OTAD_SINKHORN_COST));
    if (backward)
        otad_backward(t, w);
    return otad_tape_status(t) == OTAD_OK ? otad_scalar(t, w) : NAN;
}

/* Median of `repeats` evaluations after one untimed warm-up. */
static double median_seconds(otad_tape *t, problem *p, int backward, int repeats, double *value)
{
    double times[MAX_TIMED_REPEATS];
    *value = evaluate(t, p, backward);
    for (int r = 0; r < repeats; r++) {
        double t0 = now_seconds();
        evaluate(t, p, backward);
        times[r] = now_seconds() - t0;
    }
    return median_of(times, repeats);
}

static int worker(size_t n, size_t batch)
{
    problem p;
    problem_init(&p, n, batch);
    otad_tape *t;
    if (otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    int repeats = n <= 2000 ? 5 : 3;
    double value, fwd = median_seconds(t, &p, 0, repeats, &value);
    double fwdbwd = median_seconds(t, &p, 1, repeats, &value);
    otad_tape_stats s;
    otad_tape_stats_get(t, &s);
    printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"value\": %.17g, \"tape_mb\": %.1f}\n", fwd,
           fwdbwd, value, (double)s.peak_bytes / 1048576.0);
    otad_tape_free(&t);
    return isfinite(value) ? 0 : 1;
}

static int machine(void)
{
    printf("RESULT {\"dgemm_gflops\": %.4g, \"stream_gbs\": %.4g}\n", measured_dgemm_gflops(),
           measured_stream_gbs());
    return 0;
}

/* ---- driver ------------------------------------------------------------- */

/* The reference's median time of one evaluation, or NaN. */
static double reference(const char *anchors, size_t n, size_t batch, int backward, int threads,
                        double *peak_mb)
{
    if (!anchors)
        return NAN;
    char script[1024], config[256], out[8192];
    if (snprintf(script, sizeof script, "%s/w1_sinkhorn.py", anchors) >= (int)sizeof script)
        return NAN;
    const char *tool = batch == 1 ? (backward ? "torch_fwdbwd" : "torch_fwd")
                                  : (backward ? "torch_batched_fwdbwd" : "torch_batched_fwd");
    /* one timed run after a warm-up at n = 4000, where a run takes many seconds */
    const char *jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    int have_jemalloc = access(jemalloc, R_OK) == 0;
    snprintf(config, sizeof config, "{\"n\": %zu, \"tool\": \"%s\", \"repeats\": %d, "
             "\"warmup\": 1, \"threads\": %d, \"alloc\": \"%s\"}", n, tool, n >= 4000 ? 1 : 3,
             threads, have_jemalloc ? "jemalloc" : "default");
    char *const argv[] = {"/usr/bin/python3", script, "--worker", config, NULL};
    if (run_fresh(argv, threads, have_jemalloc ? jemalloc : NULL, out, sizeof out, peak_mb) != 0)
        return NAN;
    return json_number(out, "median_s");
}

static const char *find_anchors(const char *given)
{
    static char path[1024];
    const char *dir = given ? given : getenv("OTAD_ANCHORS");
    if (snprintf(path, sizeof path, "%s/w1_sinkhorn.py", dir ? dir : "../shared/anchors") >=
            (int)sizeof path ||
        access(path, R_OK) != 0 ||
        system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        return NULL;
    snprintf(path, sizeof path, "%s", dir ? dir : "../shared/anchors");
    return path;
}

static size_t parse_list(const char *s, size_t *out, size_t cap)
{
    size_t k = 0;
    while (s && *s && k < cap) {
        out[k++] = strtoul(s, (char **)&s, 10);
        if (*s == ',')
            s++;
    }
    return k;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--worker") == 0)
        return worker(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
    if (argc == 2 && strcmp(argv[1], "--machine") == 0)
        return machine();
    size_t sizes[8] = {500, 2000, 4000}, threads[4] = {1, 2}, n_sizes = 3, n_threads = 2;
    const char *anchors_arg = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--sizes") == 0)
            n_sizes = parse_list(argv[i + 1], sizes, 8);
        else if (strcmp(argv[i], "--threads") == 0)
            n_threads = parse_list(argv[i + 1], threads, 4);
        else if (strcmp(argv[i], "--anchors") == 0)
            anchors_arg = argv[i + 1];
    }
    const char *anchors = find_anchors(anchors_arg);
    printf("W1: Sinkhorn loss W_L, eps %g, L = %d, value and gradients to a and x.\n", eps, L);
    printf("Reference: %s\n", anchors ? "PyTorch (../shared/anchors w1_sinkhorn.py, jemalloc), "
                                        "in this run" : "not available (needs /usr/bin/python3 "
                                        "with torch and the anchors)");
    for (size_t ti = 0; ti < n_threads; ti++) {
        char out[8192];
        double peak;
        char *const margv[] = {argv[0], "--machine", NULL};
        if (run_fresh(margv, (int)threads[ti], NULL, out, sizeof out, &peak) != 0)
            return 1;
        double gflops = json_number(out, "dgemm_gflops"), gbs = json_number(out, "stream_gbs");
        printf("\n%zu thread%s: machine dgemm %.1f GFLOP/s, streaming read %.1f GB/s\n",
               threads[ti], threads[ti] == 1 ? "" : "s", gflops, gbs);
        printf("%6s %3s %9s %9s %6s %10s %7s %8s %9s | %9s %10s %8s %8s\n", "n", "B", "fwd s",
               "bound s", "/bound", "fwd+bwd s", "bwd/fwd", "peak MB", "tape MB", "torch fwd",
               "torch f+b", "torch MB", "speedup");
        for (size_t si = 0; si < n_sizes; si++)
            for (size_t batch = 1; batch <= 16; batch += 15) {
                char n_arg[32], b_arg[32];
                snprintf(n_arg, sizeof n_arg, "%zu", sizes[si]);
                snprintf(b_arg, sizeof b_arg, "%zu", batch);
                char *const wargv[] = {argv[0], "--worker", n_arg, b_arg, NULL};
                if (run_fresh(wargv, (int)threads[ti], NULL, out, sizeof out, &peak) != 0) {
                    printf("%6zu %3zu   failed\n", sizes[si], batch);
                    continue;
                }
                double fwd = json_number(out, "fwd"), fb = json_number(out, "fwdbwd");
                double n2 = (double)sizes[si] * (double)sizes[si];
                /* K read twice per iteration; with 16 columns the products may be
                 * compute-bound instead */
                double bound = fmax(2.0 * L * n2 * 8 / (gbs * 1e9),
                                    4.0 * L * n2 * (double)batch / (gflops * 1e9));
                double ref_peak = NAN, ref_fwd = reference(anchors, sizes[si], batch, 0,
                                                           (int)threads[ti], &ref_peak);
                double ref_fb = reference(anchors, sizes[si], batch, 1, (int)threads[ti],
                                          &ref_peak);
                printf("%6zu %3zu %9.4f %9.4f %6.2f %10.4f %7.2f %8.0f %9.0f | %9.4f %10.4f "
                       "%8.0f %7.1fx\n", sizes[si], batch, fwd, bound, fwd / bound, fb,
                       (fb - fwd) / fwd, peak, json_number(out, "tape_mb"), ref_fwd, ref_fb,
                       ref_peak, ref_fb / fb);
                fflush(stdout);
            }
    }
    printf("\nfwd: value only; fwd+bwd: value and gradients to a and x (median of 5 runs, 3 at "
           "n = 4000).\nbound: K (n×n doubles) streamed twice per iteration at the measured "
           "read bandwidth, or the products at the dgemm rate if slower.\npeak MB: the "
           "process's peak RSS; speedup: torch fwd+bwd time over ours.\n");
    return 0;
}
