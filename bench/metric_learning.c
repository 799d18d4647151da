/*
 * W3: ground metric learning on grid graphs (Heitz et al. 2020) as in
 * ../shared/anchors (w3_gml.py): p0 and p9 Gaussians of σ = 0.08 at
 * (0.2, 0.5) and (0.8, 0.5), the eight frames in between the displacement
 * interpolation at t = k/9 under the obstacle metric (w = 0.1 on the edges
 * whose midpoint lies within 0.15 of the centre, else 1), the heat kernel at
 * ε = 4e-2 with S = 20 solves, L = 50 barycenter iterations, λ_s = 0.03, the
 * energy E(z) of otad_metric_learning_build at z = 0 (w = 1).  On 3-D grids
 * the same in the unit cube: the Gaussians at (0.2, 0.5, 0.5) and
 * (0.8, 0.5, 0.5), the obstacle a ball.
 *
 * For each grid and thread count:
 *   - one evaluation, value only and value + gradient (z an otad_param, the
 *     tape reset before each evaluation, otad_backward): median of 5 after
 *     one warm-up; on grids of more than 20000 vertices (32³) one evaluation
 *     of each without a warm-up, since one takes minutes there.  The value
 *     runs first and touches the forward's memory, so the value + gradient
 *     time holds the first touch of the backward's only;
 *   - the sparse solves of an evaluation, counted from the algorithm, not
 *     instrumented: M = I − ε/(4S)·L_w is factored once, and each kernel
 *     apply is S solves with M, each a sweep with the Cholesky factor L and
 *     one with Lᵀ.  The barycenter applies K to B = 2(P − 2) = 16 columns
 *     twice per iteration, so the value is 2L applies × S block solves of B
 *     columns; the backward's vjp of each apply recomputes its S solves and
 *     runs the S adjoint ones beside them, S block solves of 2B columns.  One
 *     column through one solve costs 4·nnz(L) flops (otad_kernel_info: flops
 *     of an apply = 4·nnz(L)·S), so the sweeps of a value cost
 *     2L·B·flops(apply) and of a value + gradient 6L·B·flops(apply); their
 *     rate is that over the measured time, beside the dgemm rate measured in
 *     this run with the same threads;
 *   - t500 = 500 iterations × 1.2 evaluations per iteration (the reference's
 *     L-BFGS run) × the value + gradient time, beside Table 1 of the paper;
 *   - the peak RSS of each process (wait4).
 * At 50² it checks E(w = 1) against the reference's 5.595241447497977 (to
 * 1e-9 relative; the exit status is 1 when it differs) and runs the PyTorch
 * reference (w3_gml.py --worker, mode time, SuperLU, median of 3 without a
 * warm-up — its own protocol) with each thread count in the same run when
 * /usr/bin/python3 has torch, under jemalloc without purging when it is
 * installed; at 100² too with --reference-100 (one run, a few minutes).
 *
 *   metric_learning [--sizes 50,100,16c,32c] [--threads 1,2] [--anchors DIR]
 *                   [--no-reference] [--reference-100]
 *
 * A size n is the n×n grid, nc the n×n×n one.  Grids of more than 20000
 * vertices (32³) run on the largest thread count given only, where the
 * target is (--sizes 32c --threads 1 runs one thread).  The defaults take
 * about 15 minutes on an idle 2-core machine, half of it at 32³.
 * Every configuration runs in a fresh process with its thread count set
 * before the libraries start, so that its peak RSS is its own.  The anchors
 * are --anchors DIR, else $OTAD_ANCHORS, else ../shared/anchors from the
 * working directory (as `make bench` runs it) or from the repository above
 * the build directory that holds this program.
 */
#include "measure.h"

#include <limits.h>
#include <math.h>

#include "otad.h"

enum { P = 10, L = 50, S = 20, B = 2 * (P - 2), REPEATS = 5, LARGE_VERTICES = 20000 };
static const double eps = 4e-2, lambda_s = 0.03, sigma = 0.08;
static const double obstacle_radius = 0.15, obstacle_weight = 0.1;
static const double left_centre[3] = {0.2, 0.5, 0.5}, right_centre[3] = {0.8, 0.5, 0.5};
static const double middle[3] = {0.5, 0.5, 0.5};

/* The reference's evaluations per L-BFGS iteration (24 in 20 iterations). */
static const double evals_per_iteration = 1.2;
static const int t500_iterations = 500;

/* The energy at w = 1 on the 50² grid (../shared/anchors/README.md § W3). */
static const double reference_energy_50 = 5.595241447497977, energy_tolerance = 1e-9;

/* The performance targets: 50², one thread, against PyTorch in this run, and
 * 32³ on two threads against the paper's 110 h on eight. */
static const double target_speedup = 10.0, target_rss_mb = 100.0;
static const double target_t500_h = 24.0, target_large_rss_mb = 2048.0;

typedef struct grid {
    size_t n;
    int dims; /* 2 or 3 */
} grid;

/* Table 1 of the paper: t500 in hours, memory in GB. */
typedef struct paper_row {
    grid g;
    double hours, gb;
    const char *note;
} paper_row;

static const paper_row paper[] = {
    {{50, 2}, 1.6, 1.3, ""},
    {{100, 2}, 13, 4, ""},
    {{16, 3}, 9, 1.7, ""},
    {{32, 3}, 110, 10.9, " (8 thr)"},
};

static const paper_row *paper_of(grid g)
{
    for (size_t i = 0; i < sizeof paper / sizeof *paper; i++)
        if (paper[i].g.n == g.n && paper[i].g.dims == g.dims)
            return &paper[i];
    return NULL;
}

static size_t vertices_of(grid g)
{
    return g.dims == 3 ? g.n * g.n * g.n : g.n * g.n;
}

/* Columns count characters, not the bytes of their UTF-8. */
static void print_padded(int width, const char *s)
{
    int chars = 0;
    for (const char *c = s; *c; c++)
        chars += (*c & 0xC0) != 0x80;
    printf("%*s%s", width > chars ? width - chars : 0, "", s);
}

static const char *grid_name(grid g)
{
    static char name[4][32];
    static int next;
    char *s = name[next++ % 4];
    snprintf(s, sizeof name[0], "%zu%s", g.n, g.dims == 3 ? "³" : "²");
    return s;
}

/* "50" is the 50×50 grid, "16c" the 16×16×16 one. */
static int parse_grid(const char *s, const char **end, grid *g)
{
    char *e;
    unsigned long n = strtoul(s, &e, 10);
    if (e == s || n < 3)
        return -1;
    g->n = n, g->dims = 2;
    if (*e == 'c')
        g->dims = 3, e++;
    *end = e;
    return 0;
}

/* ---- workers: one configuration each --------------------------------------- */

typedef struct w3 {
    grid g;
    otad_graph *graph;
    double *frames, *z, *grad;
    otad_metric_learning problem;
} w3;

static void w3_free(w3 *w)
{
    otad_graph_free(&w->graph);
    free(w->frames), free(w->z), free(w->grad);
}

/* Coordinate a of vertex v in [0, 1]: axis 0 varies fastest. */
static double coordinate(grid g, size_t v, int a)
{
    for (int k = 0; k < a; k++)
        v /= g.n;
    return (double)(v % g.n) / (double)(g.n - 1);
}

static void gaussian(grid g, const double *centre, double *out)
{
    size_t count = vertices_of(g);
    double mass = 0;
    for (size_t v = 0; v < count; v++) {
        double d2 = 0;
        for (int a = 0; a < g.dims; a++) {
            double d = coordinate(g, v, a) - centre[a];
            d2 += d * d;
        }
        out[v] = exp(-d2 / (2 * sigma * sigma));
        mass += out[v];
    }
    for (size_t v = 0; v < count; v++)
        out[v] /= mass;
}

/* w_true: slow edges whose midpoint lies inside the obstacle. */
static void obstacle_metric(const w3 *w, double *metric)
{
    size_t m = otad_graph_edges(w->graph);
    for (size_t e = 0; e < m; e++) {
        size_t i, j;
        otad_graph_edge(w->graph, e, &i, &j);
        double d2 = 0;
        for (int a = 0; a < w->g.dims; a++) {
            double d = 0.5 * (coordinate(w->g, i, a) + coordinate(w->g, j, a)) - middle[a];
            d2 += d * d;
        }
        metric[e] = d2 < obstacle_radius * obstacle_radius ? obstacle_weight : 1.0;
    }
}

/* The ends are the Gaussians themselves, the frames in between their
 * interpolation under w_true, as the reference's frames are. */
static int make_frames(w3 *w, otad_error *err)
{
    size_t n = w->problem.size, m = otad_graph_edges(w->graph);
    double *metric = malloc(m * sizeof *metric), *inner = malloc(n * (P - 2) * sizeof *inner);
    double times[P - 2];
    int rc = OTAD_OK;
    if (!metric || !inner)
        rc = otad_error_set(err, OTAD_ENOMEM, "out of memory for the frames");
    if (rc == OTAD_OK) {
        gaussian(w->g, left_centre, w->frames);
        gaussian(w->g, right_centre, w->frames + (P - 1) * n);
        obstacle_metric(w, metric);
        for (int k = 1; k < P - 1; k++)
            times[k - 1] = (double)k / (double)(P - 1);
        rc = otad_metric_learning_interpolate(&w->problem, metric, P - 2, times, inner, NULL,
                                              err);
    }
    if (rc == OTAD_OK)
        memcpy(w->frames + n, inner, n * (P - 2) * sizeof *inner);
    free(metric), free(inner);
    return rc;
}

static int w3_setup(w3 *w, grid g, double *frames_seconds, otad_error *err)
{
    memset(w, 0, sizeof *w);
    w->g = g;
    if (g.n < 3 || g.n > (g.dims == 2 ? 4096u : 256u))
        return otad_error_set(err, OTAD_EINVAL, "grid size %zu is not in 3..%d", g.n,
                              g.dims == 2 ? 4096 : 256);
    int rc = g.dims == 2 ? otad_graph_grid2d(&w->graph, g.n, g.n, err)
                         : otad_graph_grid3d(&w->graph, g.n, g.n, g.n, err);
    if (rc != OTAD_OK)
        return rc;
    size_t n = otad_graph_vertices(w->graph), m = otad_graph_edges(w->graph);
    w->frames = calloc(n * P, sizeof *w->frames);
    w->z = calloc(m, sizeof *w->z);
    w->grad = calloc(m, sizeof *w->grad);
    if (!w->frames || !w->z || !w->grad)
        return otad_error_set(err, OTAD_ENOMEM, "out of memory for the %s grid", grid_name(g));
    otad_metric_learning *p = &w->problem;
    otad_metric_learning_init(p);
    p->graph = w->graph;
    p->eps = eps;
    p->steps = S;
    p->size = n;
    p->n_frames = P;
    p->frames = w->frames;
    p->lambda_s = lambda_s;
    p->barycenter.iterations = L;
    double t0 = now_seconds();
    rc = make_frames(w, err);
    *frames_seconds = now_seconds() - t0;
    return rc == OTAD_OK ? otad_metric_learning_check(p, err) : rc;
}

/* Flops of one heat-kernel apply to one column at w = 1: 4·nnz(L)·S.  The
 * factor's pattern does not depend on w. */
static double apply_flops(otad_tape *t, const w3 *w)
{
    otad_tape_reset(t);
    size_t m = otad_graph_edges(w->graph);
    otad_kernel k = otad_kernel_heat(t, w->graph, otad_const_fill(t, m, 1, 1.0), eps, S);
    double flops = otad_kernel_info_of(t, k).flops;
    otad_tape_reset(t);
    return flops;
}

static double norm2(const double *x, size_t count)
{
    double s = 0;
    for (size_t i = 0; i < count; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

static int eval_worker(grid g)
{
    w3 w;
    otad_error err = {""};
    otad_tape *t = NULL;
    double frames_s = NAN;
    int rc = w3_setup(&w, g, &frames_s, &err);
    if (rc == OTAD_OK && (rc = otad_tape_new(&t, NULL)) != OTAD_OK)
        otad_error_set(&err, rc, "cannot create a tape");
    int large = vertices_of(g) > LARGE_VERTICES, repeats = large ? 1 : REPEATS;
    double fwd = NAN, fwdbwd = NAN, energy = NAN, energy_fwd = NAN;
    objective o = {otad_metric_learning_build, &w.problem,
                   rc == OTAD_OK ? otad_graph_edges(w.graph) : 0, w.z, w.grad};
    if (rc == OTAD_OK &&
        ((rc = median_time(t, &o, 0, !large, repeats, &energy_fwd, &fwd)) != OTAD_OK ||
         (rc = median_time(t, &o, 1, !large, repeats, &energy, &fwdbwd)) != OTAD_OK))
        otad_error_set(&err, rc, "%s", otad_tape_message(t));
    if (rc == OTAD_OK) {
        otad_tape_stats s;
        otad_tape_stats_get(t, &s);
        size_t m = otad_graph_edges(w.graph);
        printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"energy\": %.17g, \"grad_norm\": "
               "%.17g, \"apply_flops\": %.17g, \"vertices\": %zu, \"edges\": %zu, "
               "\"tape_mb\": %.2f, \"frames_s\": %.4g, \"repeats\": %d}\n", fwd, fwdbwd,
               energy, norm2(w.grad, m), apply_flops(t, &w), otad_graph_vertices(w.graph), m,
               (double)s.peak_bytes / 1048576.0, frames_s, repeats);
    } else {
        fprintf(stderr, "metric_learning %s: %s (%s)\n", grid_name(g), err.message,
                otad_strerror(rc));
    }
    otad_tape_free(&t);
    w3_free(&w);
    return rc == OTAD_OK && isfinite(energy) ? 0 : 1;
}

/* ---- the reference ---------------------------------------------------------- */

/* Runs one w3_gml.py worker (the mode and solver of run_w3.sh's timings);
 * its JSON goes to out.  Returns 0 on success. */
static int reference(const char *anchors, size_t n, int threads, char *out, size_t cap,
                     double *peak_mb)
{
    if (!anchors)
        return -1;
    char script[1100], config[256];
    snprintf(script, sizeof script, "%s/w3_gml.py", anchors);
    snprintf(config, sizeof config, "{\"mode\": \"time\", \"n\": %zu, \"S\": %d, \"backend\": "
             "\"splu\", \"repeats\": %d, \"threads\": %d, \"alloc\": \"%s\"}", n, S,
             n > 50 ? 1 : 3, threads, have_jemalloc() ? "jemalloc" : "default");
    return run_python_worker(script, config, threads, out, cap, peak_mb);
}

static int has_script(const char *dir)
{
    char script[1100];
    snprintf(script, sizeof script, "%s/w3_gml.py", dir);
    return access(script, R_OK) == 0;
}

/* The anchors directory when the reference can run there, else NULL and why. */
static const char *find_anchors(const char *given, const char *self, const char **why)
{
    static char dir[1024];
    const char *d = given ? given : getenv("OTAD_ANCHORS");
    snprintf(dir, sizeof dir, "%s", d ? d : "../shared/anchors");
    if (!d && !has_script(dir)) {
        /* self is <repository>/<build>/bench/metric_learning */
        const char *end = self + strlen(self);
        for (int up = 0; up < 3 && end > self; up++)
            while (--end > self && *end != '/')
                ;
        snprintf(dir, sizeof dir, "%.*s/../shared/anchors", (int)(end - self), self);
    }
    if (!has_script(dir)) {
        *why = "w3_gml.py not found (--anchors DIR or OTAD_ANCHORS)";
        return NULL;
    }
    if (system("/usr/bin/python3 -c 'import torch, scipy' >/dev/null 2>&1") != 0) {
        *why = "/usr/bin/python3 cannot import torch and scipy";
        return NULL;
    }
    static char resolved[PATH_MAX];
    return realpath(dir, resolved) ? resolved : dir;
}

/* ---- driver ----------------------------------------------------------------- */

typedef struct row {
    double fwd, fwdbwd, energy, grad_norm, flops, vertices, edges, tape_mb, frames_s, repeats;
    double peak;
    double ref_fwd, ref_fwdbwd, ref_energy, ref_grad_norm, ref_peak;
} row;

static void measure(row *r, const char *anchors, grid g, int threads, int with_reference)
{
    char out[8192], spec[32];
    snprintf(spec, sizeof spec, "%zu%s", g.n, g.dims == 3 ? "c" : "");
    char *const argv[] = {self_path, "--eval", spec, NULL};
    r->fwd = r->fwdbwd = r->energy = r->grad_norm = r->flops = r->vertices = r->edges = NAN;
    r->tape_mb = r->frames_s = r->repeats = r->peak = NAN;
    fflush(stdout);
    if (run_fresh(argv, threads, NULL, out, sizeof out, &r->peak) == 0) {
        r->fwd = json_number(out, "fwd"), r->fwdbwd = json_number(out, "fwdbwd");
        r->energy = json_number(out, "energy"), r->grad_norm = json_number(out, "grad_norm");
        r->flops = json_number(out, "apply_flops"), r->vertices = json_number(out, "vertices");
        r->edges = json_number(out, "edges"), r->tape_mb = json_number(out, "tape_mb");
        r->frames_s = json_number(out, "frames_s"), r->repeats = json_number(out, "repeats");
    } else {
        r->peak = NAN;
    }
    r->ref_fwd = r->ref_fwdbwd = r->ref_energy = r->ref_grad_norm = r->ref_peak = NAN;
    if (with_reference && g.dims == 2 &&
        reference(anchors, g.n, threads, out, sizeof out, &r->ref_peak) == 0) {
        r->ref_fwd = json_nested(out, "fwd", "median_s");
        r->ref_fwdbwd = json_nested(out, "fwdbwd", "median_s");
        r->ref_energy = json_number(out, "energy_at_w1");
        r->ref_grad_norm = json_number(out, "grad_norm");
    } else {
        r->ref_peak = NAN;
    }
}

/* Sweep flops of a value (2L applies to B columns) and of a value +
 * gradient (as many vjps again, each on 2B columns). */
static double value_flops(const row *r)
{
    return 2.0 * L * B * r->flops;
}

static double gradient_flops(const row *r)
{
    return 6.0 * L * B * r->flops;
}

static double t500_hours(double seconds)
{
    return t500_iterations * evals_per_iteration * seconds / 3600.0;
}

static void print_work(const row *r, grid g)
{
    /* one solve with one column: 4·nnz(L) flops */
    double nnz = r->flops / (4.0 * S);
    print_padded(5, grid_name(g));
    printf(" %8.0f %8.0f %10.0f %10.0f %5d / %-5d %7d / %-7d %8.2f / %-8.2f %8.2f\n",
           r->vertices, r->edges, nnz, r->flops, 2 * L * S, 4 * L * S,
           2 * L * S * B, 6 * L * S * B, value_flops(r) * 1e-9, gradient_flops(r) * 1e-9,
           r->frames_s);
}

static void print_work_header(void)
{
    printf("\nWork per evaluation (B = %d columns per kernel apply, %d applies per value):\n",
           B, 2 * L);
    printf("%5s %8s %8s %10s %10s %13s %17s %19s %8s\n", "grid", "vertices", "edges",
           "nnz(L)", "flops/apply", "block solves", "column solves", "sweep GFLOP", "frames s");
    printf("%5s %8s %8s %10s %10s %13s %17s %19s %8s\n", "", "", "", "", "(1 column)",
           "v / v+g", "v / v+g", "v / v+g", "");
}

static void print_evaluation_header(void)
{
    printf("\nOne evaluation at z = 0 (seconds, median of reps):\n");
    printf("%5s %3s %4s %9s %9s %7s | %8s %8s %7s | %7s %7s %7s | %6s %6s %6s %5s | %7s %7s "
           "| %7s %13s\n", "grid", "thr", "reps", "value", "val+grad", "bwd/fwd", "ref val",
           "ref v+g", "speedup", "peak MB", "ref MB", "tape MB", "GF/s v", "GF/s g", "dgemm",
           "%peak", "E", "E diff", "t500 h", "paper h / GB");
}

static void print_evaluation(const row *r, grid g, size_t threads, double dgemm)
{
    double gflops_v = value_flops(r) / r->fwd * 1e-9, gflops_g = gradient_flops(r) / r->fwdbwd
                                                                 * 1e-9;
    print_padded(5, grid_name(g));
    printf(" %3zu", threads);
    cell(4, 0, r->repeats);
    cell(9, 3, r->fwd), cell(9, 3, r->fwdbwd), cell(7, 2, (r->fwdbwd - r->fwd) / r->fwd);
    printf(" |");
    cell(8, 3, r->ref_fwd), cell(8, 3, r->ref_fwdbwd), cell_ratio(r->ref_fwdbwd / r->fwdbwd);
    printf(" |");
    cell(7, 0, r->peak), cell(7, 0, r->ref_peak), cell(7, 1, r->tape_mb), printf(" |");
    cell(6, 2, gflops_v), cell(6, 2, gflops_g), cell(6, 1, dgemm);
    cell(5, 1, 100 * gflops_g / dgemm), printf(" |");
    cell(7, 4, r->energy), cell_sci(7, 1, fabs(r->energy - r->ref_energy) / fabs(r->ref_energy));
    printf(" |");
    cell(7, 2, t500_hours(r->fwdbwd));
    const paper_row *pr = paper_of(g);
    if (pr)
        printf(" %5.1f / %-4.1f%s", pr->hours, pr->gb, pr->note);
    printf("\n");
    fflush(stdout);
}

static const char *verdict(int met)
{
    return met ? "met" : "NOT met";
}

/* E(w = 1) at 50² against the reference's value; 0 when it agrees. */
static int check_energy(const row *r)
{
    double diff = fabs(r->energy - reference_energy_50) / reference_energy_50;
    int ok = diff <= energy_tolerance;
    printf("  E(w = 1) at 50², S = %d: %.16g against %.16g, relative difference %.1e (≤ %.0e): "
           "%s\n", S, r->energy, reference_energy_50, diff, energy_tolerance,
           isnan(r->energy) ? "no figure (the worker failed)" : ok ? "ok" : "DIFFERS");
    if (!isnan(r->ref_grad_norm))
        printf("  |∇E| at w = 1: %.10g, the reference's in this run %.10g (relative difference "
               "%.1e)\n", r->grad_norm, r->ref_grad_norm,
               fabs(r->grad_norm - r->ref_grad_norm) / r->ref_grad_norm);
    return ok ? 0 : 1;
}

static void print_small_targets(const row *r)
{
    double speedup = r->ref_fwdbwd / r->fwdbwd;
    if (isnan(speedup))
        printf("  50², 1 thread: value + gradient ≥ %.0f× faster than PyTorch: no reference "
               "figure in this run\n", target_speedup);
    else
        printf("  50², 1 thread: value + gradient ≥ %.0f× faster than PyTorch: %.1f× (%.3f s "
               "against %.3f s) — %s\n", target_speedup, speedup, r->fwdbwd, r->ref_fwdbwd,
               verdict(speedup >= target_speedup));
    printf("  50², 1 thread: peak RSS ≤ %.0f MB: %.0f MB — %s\n", target_rss_mb, r->peak,
           verdict(r->peak <= target_rss_mb));
}

static void print_large_targets(const row *r)
{
    double hours = t500_hours(r->fwdbwd);
    printf("  32³, 2 threads: t500 < %.0f h: %.1f h (%.1f s per value + gradient; the paper "
           "110 h on 8 threads) — %s\n", target_t500_h, hours, r->fwdbwd,
           verdict(hours < target_t500_h));
    printf("  32³, 2 threads: peak RSS < %.0f GB: %.0f MB (the paper 10.9 GB) — %s\n",
           target_large_rss_mb / 1024, r->peak, verdict(r->peak < target_large_rss_mb));
}

typedef struct options {
    grid grids[8];
    size_t threads[4], n_grids, n_threads;
    const char *anchors;
    int reference, reference_100;
} options;

static size_t parse_threads(const char *s, size_t *out, size_t cap)
{
    size_t k = 0;
    while (s && *s && k < cap) {
        char *end;
        out[k] = strtoul(s, &end, 10);
        if (end == s || out[k] == 0 || out[k] > 64)
            return 0;
        s = *end == ',' ? end + 1 : end;
        k++;
    }
    return k;
}

static size_t parse_grids(const char *s, grid *out, size_t cap)
{
    size_t k = 0;
    while (s && *s && k < cap) {
        const char *end;
        if (parse_grid(s, &end, &out[k]) != 0 || (*end != ',' && *end != '\0'))
            return 0;
        s = *end == ',' ? end + 1 : end;
        k++;
    }
    return k;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{{50, 2}, {100, 2}, {16, 3}, {32, 3}}, {1, 2}, 4, 2, NULL, 1, 0};
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--reference-100") == 0)
            o->reference_100 = 1;
        else if (strcmp(argv[i], "--sizes") == 0 && has_value)
            o->n_grids = parse_grids(argv[++i], o->grids, 8);
        else if (strcmp(argv[i], "--threads") == 0 && has_value)
            o->n_threads = parse_threads(argv[++i], o->threads, 4);
        else if (strcmp(argv[i], "--anchors") == 0 && has_value)
            o->anchors = argv[++i];
        else
            return -1;
        if (o->n_grids == 0 || o->n_threads == 0)
            return -1;
    }
    return 0;
}

static void print_notes(void)
{
    printf("\nvalue: E(z) only; val+grad: E and its gradient to z; bwd/fwd: (val+grad − value)"
           "/value; reps: timed\nevaluations (5: after one warm-up; 1: no warm-up).  ref: "
           "PyTorch + SuperLU, median of 3 (value: 2)\nwithout a warm-up; speedup: its "
           "val+grad over ours.  peak MB: the process's peak RSS (frames included);\ntape MB: "
           "the tape's peak arena bytes.  GF/s v, g: the sweep flops of a value (2L·B·flops/"
           "apply) and\nof a value + gradient (6L·B·flops/apply) over its time, beside dgemm at "
           "n = 1500 with the same threads;\n%%peak: GF/s g over dgemm.  E diff: |ours − ref|"
           "/ref.  t500: %d iterations × %.1f evaluations/iteration\n× val+grad, extrapolated; "
           "paper: Table 1 of Heitz et al. (their machine and threads).\nBlock solves: a value "
           "runs 2L applies × S solves of B columns; a value + gradient as many again\nin the "
           "backward, each of 2B columns (the apply's S solves recomputed beside S adjoint "
           "solves).\nColumn solves: those per right-hand side; each is one sweep with L and "
           "one with Lᵀ, 4·nnz(L) flops.\nframes s: computing the eight interior frames (one "
           "interpolation under w_true).\n", t500_iterations, evals_per_iteration);
}

/* Grids this large run on the largest thread count given only: one
 * evaluation takes minutes there. */
static size_t largest_threads(const options *o)
{
    size_t best = 0;
    for (size_t ti = 1; ti < o->n_threads; ti++)
        if (o->threads[ti] > o->threads[best])
            best = ti;
    return best;
}

static int runs_on(const options *o, grid g, size_t ti)
{
    return vertices_of(g) <= LARGE_VERTICES || ti == largest_threads(o);
}

static int print_checks(const options *o, row rows[][4])
{
    printf("\nChecks and targets:\n");
    int failed = 0, energy = 0, small = 0, large = 0;
    for (size_t gi = 0; gi < o->n_grids; gi++)
        for (size_t ti = 0; ti < o->n_threads; ti++) {
            grid g = o->grids[gi];
            const row *r = &rows[gi][ti];
            if (g.dims == 2 && g.n == 50 && !energy)
                failed |= check_energy(r), energy = 1;
            if (g.dims == 2 && g.n == 50 && o->threads[ti] == 1)
                print_small_targets(r), small = 1;
            if (g.dims == 3 && g.n == 32 && o->threads[ti] == 2 && runs_on(o, g, ti))
                print_large_targets(r), large = 1;
        }
    if (!energy)
        printf("  E(w = 1) at 50²: not checked in this run (--sizes 50)\n");
    if (!small)
        printf("  50², 1 thread: not measured in this run (--sizes 50 --threads 1)\n");
    if (!large)
        printf("  32³, 2 threads: not measured in this run (--sizes 32c --threads 2)\n");
    return failed;
}

static int run(const options *o, const char *anchors, const double *dgemm)
{
    static row rows[8][4];
    print_evaluation_header();
    for (size_t gi = 0; gi < o->n_grids; gi++) {
        grid g = o->grids[gi];
        int with_reference = g.dims == 2 && (g.n == 50 || (g.n == 100 && o->reference_100));
        for (size_t ti = 0; ti < o->n_threads; ti++)
            if (runs_on(o, g, ti)) {
                measure(&rows[gi][ti], anchors, g, (int)o->threads[ti], with_reference);
                print_evaluation(&rows[gi][ti], g, o->threads[ti], dgemm[ti]);
            } else {
                print_padded(5, grid_name(g));
                printf(" %3zu  not run: grids of more than %d vertices run on %zu threads "
                       "only (--sizes %zu%s --threads %zu runs it)\n", o->threads[ti],
                       LARGE_VERTICES, o->threads[largest_threads(o)], g.n,
                       g.dims == 3 ? "c" : "", o->threads[ti]);
            }
    }
    print_work_header();
    for (size_t gi = 0; gi < o->n_grids; gi++)
        for (size_t ti = 0; ti < o->n_threads; ti++)
            if (runs_on(o, o->grids[gi], ti) && !isnan(rows[gi][ti].flops)) {
                print_work(&rows[gi][ti], o->grids[gi]);
                break;
            }
    print_notes();
    return print_checks(o, rows);
}

int main(int argc, char **argv)
{
    find_self(argv[0]);
    grid g;
    const char *end;
    if (argc == 3 && strcmp(argv[1], "--eval") == 0)
        return parse_grid(argv[2], &end, &g) == 0 && *end == '\0' ? eval_worker(g) : 2;
    if (argc == 2 && strcmp(argv[1], "--machine") == 0)
        return machine_worker();
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 50,100,16c,32c] [--threads 1,2] [--anchors DIR] "
                "[--no-reference] [--reference-100]\n", argv[0]);
        return 2;
    }
    const char *why = "switched off (--no-reference)";
    const char *anchors = o.reference ? find_anchors(o.anchors, self_path, &why) : NULL;
    printf("W3: ground metric learning, n×n (n²) and n×n×n (n³) grid graphs, P = %d frames, "
           "L = %d, eps %g, S = %d,\nlambda_s %g, energy and gradient at z = 0 (w = 1); frames "
           "from the obstacle metric (w = %g within %g of the centre).\n", P, L, eps, S,
           lambda_s, obstacle_weight, obstacle_radius);
    if (anchors)
        printf("Reference: PyTorch + SuperLU (%s/w3_gml.py, %s), in this run, at 50²%s.\n",
               anchors, have_jemalloc() ? "jemalloc" : "glibc malloc",
               o.reference_100 ? " and 100²" : "");
    else
        printf("Reference: not available — %s; ours only.\n", why);
    printf("Targets: at 50², S = %d, 1 thread, value + gradient ≥ %.0f× faster than PyTorch and "
           "peak RSS ≤ %.0f MB;\nat 32³, S = %d, 2 threads, t500 < %.0f h and peak RSS < %.0f "
           "GB.\n", S, target_speedup, target_rss_mb, S, target_t500_h,
           target_large_rss_mb / 1024);
    double dgemm[4];
    if (measure_machine(self_path, o.threads, o.n_threads, dgemm) != 0) {
        fprintf(stderr, "metric_learning: measuring dgemm failed\n");
        return 1;
    }
    return run(&o, anchors, dgemm);
}
