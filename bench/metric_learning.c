/*
 * Ground metric learning on grid graphs (Heitz et al. 2020): the energy
 * E(z) of otad_metric_learning_build at z = 0 (w = 1) and its gradient, as the
 * PyTorch + SuperLU reference bench/metric_learning.py computes them, on 2-D
 * and 3-D grids.
 * Measured: value and value + gradient times and peak RSS, at 50² beside the
 * reference's (bench/protocol.h), E checked against its (exit status 1 when it
 * differs); the sweeps' GFLOP/s (2LB kernel applies to one column in a value,
 * 6LB in a value + gradient) beside dgemm; t500 beside Table 1 of the paper.
 * Grids above LARGE_VERTICES run once, one evaluation without a warm-up (it
 * takes minutes), on the largest thread count only.
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P = 10, L = 50, S = 20, B = 2 * (P - 2), LARGE_VERTICES = 20000 };
static const double eps = 4e-2, lambda_s = 0.03, sigma = 0.08;
static const double obstacle_radius = 0.15, obstacle_weight = 0.1, middle[3] = {0.5, 0.5, 0.5};
static const double end_centre[2][3] = {{0.2, 0.5, 0.5}, {0.8, 0.5, 0.5}}; /* the Gaussians' */

/* E(w = 1) on the 50² grid as the reference program computes it. */
static const double reference_energy_50 = 5.595241447497977, energy_tolerance = 1e-9;

/* t500 in hours: 500 iterations of 1.2 evaluations (the reference's L-BFGS). */
static double t500_hours(double seconds)
{
    return 500 * 1.2 * seconds / 3600;
}

typedef struct grid {
    size_t n;
    int dims; /* 2 or 3 */
} grid;

/* Table 1 of Heitz et al. 2020: t500 and memory, by the grid's spec. */
static const char *const paper[][2] = {{"50", "1.6 h, 1.3 GB"}, {"100", "13 h, 4 GB"},
    {"16c", "9 h, 1.7 GB"}, {"32c", "110 h, 10.9 GB (8 threads)"}};

static size_t vertices_of(grid g)
{
    return g.dims == 3 ? g.n * g.n * g.n : g.n * g.n;
}

/* "50,16c": the 50×50 and the 16×16×16 grid; the count, 0 when s is not
 * such a list of at most cap. */
static size_t parse_grids(const char *s, grid *out, size_t cap)
{
    size_t k = 0;
    for (int used; k < cap && sscanf(s, "%zu%n", &out[k].n, &used) == 1; k++) {
        s += used;
        out[k].dims = *s == 'c' ? 3 : 2;
        s += *s == 'c';
        if (out[k].n < 3 || out[k].n > (out[k].dims == 2 ? 4096u : 256u) || (*s && *s++ != ','))
            return 0;
    }
    return *s ? 0 : k;
}

/* Squared distance to c of the midpoint of vertices i and j (i = j: of i),
 * the coordinates in [0, 1], axis 0 varying fastest. */
static double distance2(grid g, size_t i, size_t j, const double *c)
{
    double d2 = 0, last = (double)(g.n - 1);
    for (int a = 0; a < g.dims; a++, i /= g.n, j /= g.n) {
        double d = 0.5 * ((double)(i % g.n) / last + (double)(j % g.n) / last) - c[a];
        d2 += d * d;
    }
    return d2;
}

/* The process ends after it: it frees nothing. */
static int worker(grid g)
{
    size_t n = vertices_of(g), m = g.dims * n; /* at least the edges */
    double *frames = calloc(n * P + 3 * m, sizeof *frames), *metric = frames + n * P;
    double energy, fwd, fwdbwd, times[P - 2];
    otad_graph *graph = NULL;
    otad_tape *t = NULL;
    otad_metric_learning p;
    otad_error err = {"out of memory"};
    int large = n > LARGE_VERTICES;
    int rc = !frames || otad_tape_new(&t, NULL) ? OTAD_ENOMEM
             : g.dims == 2 ? otad_graph_grid2d(&graph, g.n, g.n, &err)
                           : otad_graph_grid3d(&graph, g.n, g.n, g.n, &err);
    if (rc == OTAD_OK) {
        otad_metric_learning_init(&p);
        p.graph = graph, p.eps = eps, p.steps = S, p.size = n, p.n_frames = P;
        p.frames = frames, p.lambda_s = lambda_s, p.barycenter.iterations = L;
        /* The ends are the Gaussians, the frames in between their
         * interpolation under the obstacle metric, as the reference's are. */
        for (int end = 0; end < 2; end++) {
            double *h = frames + end * (P - 1) * n, mass = 0;
            for (size_t v = 0; v < n; v++)
                mass += h[v] = exp(-distance2(g, v, v, end_centre[end]) / (2 * sigma * sigma));
            for (size_t v = 0; v < n; v++)
                h[v] /= mass;
        }
        for (size_t e = 0, i, j; e < otad_graph_edges(graph); e++) {
            otad_graph_edge(graph, e, &i, &j);
            metric[e] = distance2(g, i, j, middle) < obstacle_radius * obstacle_radius
                            ? obstacle_weight : 1.0;
        }
        for (int k = 1; k < P - 1; k++)
            times[k - 1] = (double)k / (double)(P - 1);
        rc = otad_metric_learning_interpolate(&p, metric, P - 2, times, frames + n, NULL, &err);
    }
    if (rc == OTAD_OK)
        rc = otad_metric_learning_check(&p, &err);
    /* z = 0 and the gradient after the metric.  The value runs first: the
     * value + gradient's first touch is the backward's memory only. */
    bench_objective o = {otad_metric_learning_build, &p, graph ? otad_graph_edges(graph) : 0,
                         metric + m, metric + 2 * m};
    if (rc == OTAD_OK &&
        ((rc = bench_time_objective(t, &o, 0, !large, large ? 1 : 5, &energy, &fwd)) ||
         (rc = bench_time_objective(t, &o, 1, !large, large ? 1 : 5, &energy, &fwdbwd))))
        otad_error_set(&err, rc, "%s", otad_tape_message(t));
    if (rc != OTAD_OK) {
        fprintf(stderr, "metric_learning: %s (%s)\n", err.message, otad_strerror(rc));
        return 1;
    }
    /* The flops of one apply to one column (the factor's pattern does not depend on w). */
    otad_tape_reset(t);
    otad_kernel k = otad_kernel_heat(t, graph, otad_const_fill(t, o.n, 1, 1.0), eps, S);
    printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"energy\": %.17g, \"apply_flops\": "
           "%.17g}\n", fwd, fwdbwd, energy, otad_kernel_info_of(t, k).flops);
    return 0;
}

typedef struct options {
    grid grids[8];
    size_t threads[4], n_grids, n_threads, rounds;
    int reference;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{{50, 2}, {100, 2}, {16, 3}, {32, 3}}, {1, 2}, 4, 2, 3, 1};
    for (int i = 1; i < argc; i++) {
        int v = i + 1 < argc;
        size_t rounds[1];
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--sizes") == 0 && v)
            o->n_grids = parse_grids(argv[++i], o->grids, 8);
        else if (strcmp(argv[i], "--threads") == 0 && v)
            o->n_threads = bench_parse_list(argv[++i], o->threads, 4, 64);
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            o->rounds = bench_parse_list(argv[++i], rounds, 1, BENCH_MAX_ROUNDS) ? rounds[0] : 0;
        else
            return -1;
        if (!o->n_grids || !o->n_threads || o->rounds < 3)
            return -1;
    }
    return 0;
}

/* A row: ours (one run on a large grid), beside the reference when script is set; 0: ours ran. */
static int measure(size_t rounds, const char *script, grid g, size_t threads, double dgemm,
                   bench_comparison *c)
{
    char spec[32], config[256], label[64];
    snprintf(spec, sizeof spec, "%zu%s", g.n, g.dims == 3 ? "c" : "");
    snprintf(config, sizeof config, "{\"mode\": \"time\", \"n\": %zu, \"S\": %d, \"backend\": "
             "\"splu\", \"repeats\": 4, \"threads\": %zu}", g.n, S, threads);
    snprintf(label, sizeof label, "%s, %zu thread%s", spec, threads, threads == 1 ? "" : "s");
    char *const ours_argv[] = {(char *)bench_self(), "--worker", spec, NULL};
    char *const ref_argv[] = {"/usr/bin/python3", "-B", (char *)script, "--worker", config, NULL};
    bench_side ours = {ours_argv, "fwdbwd", 0}, reference = {ref_argv, "fwdbwd.runs_s", 1};
    memset(c, 0, sizeof *c);
    c->rounds = 1, c->compared = -1, c->ratio_lo = c->ratio_hi = NAN;
    c->load_lo = c->load_hi = bench_load(); /* a large grid's one run */
    int rc = vertices_of(g) > LARGE_VERTICES
                 ? bench_repeat(&ours, (int)threads, 1, label, &c->ours)
                 : bench_compare(&ours, script ? &reference : NULL, (int)threads, (int)rounds,
                                 label, c);
    if (rc != 0) {
        printf("| %s | %zu | failed: %s |\n", spec, threads, c->ours.result);
        return -1;
    }
    const bench_runs *ref = c->compared >= 0 ? &c->reference[c->compared] : NULL;
    double fwd = bench_json_number(c->ours.result, "fwd");
    double sweeps = L * B * bench_json_number(c->ours.result, "apply_flops") * 1e-9;
    const char *figures = "-";
    for (size_t i = 0; i < sizeof paper / sizeof *paper; i++)
        figures = strcmp(paper[i][0], spec) == 0 ? paper[i][1] : figures;
    bench_cell_text("%zu%s", g.n, g.dims == 3 ? "³" : "²"), bench_cell_text("%zu", threads);
    bench_cell_text("%d", c->ours.count), bench_cell("%.3g", fwd);
    bench_cell_range("%.3g", bench_runs_min(&c->ours), bench_runs_max(&c->ours));
    bench_cell_range("%.3g", ref ? bench_runs_min(ref) : NAN, ref ? bench_runs_max(ref) : NAN);
    bench_cell_ratio(c), bench_cell("%.0f", c->ours.peak_mb);
    bench_cell("%.0f", ref ? ref->peak_mb : NAN), bench_cell("%.2f", 2 * sweeps / fwd);
    bench_cell("%.2f", 6 * sweeps / bench_runs_median(&c->ours)), bench_cell("%.1f", dgemm);
    bench_cell_range("%.2f", t500_hours(bench_runs_min(&c->ours)),
                     t500_hours(bench_runs_max(&c->ours)));
    bench_cell_text("%s", figures), bench_cell_range("%.2f", c->load_lo, c->load_hi);
    bench_row_end();
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const verdict[] = {"NOT met", "met"};
    int status;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    grid g;
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return parse_grids(argv[2], &g, 1) == 1 ? worker(g) : 2;
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 50,100,16c,32c] [--threads 1,2] [--rounds 3] "
                "[--no-reference]\n", argv[0]);
        return 2;
    }
    /* the reference is in this repository, beside this program's source */
    char script[PATH_MAX], bench_dir[PATH_MAX];
    const char *why = "switched off (--no-reference)";
    bench_repository_path("bench", bench_dir, sizeof bench_dir);
    int have_reference = o.reference && bench_find_reference(bench_dir, "metric_learning.py",
        "torch, numpy, scipy", script, sizeof script, &why) == 0;
    printf("## Ground metric learning on grid graphs\n\n");
    bench_print_machine_line();
    printf("P = %d frames, L = %d, ε = %g, S = %d, λ_s = %g; E and its gradient at w = 1; "
           "reference at 50²: %s.\n\n", P, L, eps, S, lambda_s,
           have_reference ? "PyTorch + SuperLU (metric_learning.py)" : why);
    bench_machine machine[4];
    size_t largest = 0;
    for (size_t ti = 0; ti < o.n_threads; ti++) {
        if (bench_measure_machine((int)o.threads[ti], &machine[ti]) != 0)
            return 1;
        largest = o.threads[ti] > largest ? o.threads[ti] : largest;
    }
    static const char *const columns[] = {"grid", "threads", "runs", "value s",
        "value+gradient s", "reference v+g s", "ratio", "peak MB", "reference MB",
        "sweeps GFLOP/s, value", "sweeps GFLOP/s, v+g", "dgemm GFLOP/s", "t500 h",
        "paper: t500, memory", "load"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    static bench_comparison rows[8][4];
    const bench_comparison *at_50[65] = {NULL}, *large = NULL; /* by thread count */
    int failed = 0;
    for (size_t gi = 0; gi < o.n_grids; gi++)
        for (size_t ti = 0; ti < o.n_threads; ti++) {
            size_t threads = o.threads[ti];
            int is_50 = o.grids[gi].dims == 2 && o.grids[gi].n == 50;
            if (vertices_of(o.grids[gi]) > LARGE_VERTICES && threads != largest)
                continue;
            if (measure(o.rounds, have_reference && is_50 ? script : NULL, o.grids[gi], threads,
                        machine[ti].dgemm_gflops, &rows[gi][ti]) != 0)
                failed = 1;
            else if (is_50)
                at_50[threads] = &rows[gi][ti];
            else if (o.grids[gi].dims == 3 && o.grids[gi].n == 32 && threads == 2)
                large = &rows[gi][ti];
        }
    printf("\nSeconds per evaluation (the median in each process; a run of one evaluation "
           "without a warm-up above %d vertices), ranges over the runs; ratio: the reference's "
           "value + gradient time over ours in the same round; t500: 500 × 1.2 × value + "
           "gradient.\n\nChecks and targets:\n\n", LARGE_VERTICES);
    for (size_t ti = 0; ti < o.n_threads; ti++) {
        size_t k = o.threads[ti];
        const bench_comparison *c = at_50[k];
        if (!c)
            continue;
        char what[32];
        snprintf(what, sizeof what, "50², %zu thread%s", k, k == 1 ? "" : "s");
        double energy = bench_json_number(c->ours.result, "energy");
        double diff = fabs(energy - reference_energy_50) / reference_energy_50;
        failed |= !(diff <= energy_tolerance);
        printf("- %s: E(w = 1) %.16g against %.16g, relative difference %.1e (≤ %.0e) — %s\n",
               what, energy, reference_energy_50, diff, energy_tolerance,
               diff <= energy_tolerance ? "ok" : "DIFFERS");
        int target = k == 1 ? 10 : 15; /* the speed-ups, on the lower end of the range */
        if (k <= 2)
            printf("- %s: value + gradient ≥ %d× the reference: ", what, target);
        if (k <= 2 && c->compared < 0)
            printf("no reference in this run\n");
        else if (k <= 2)
            printf("%.1f–%.1f× — %s\n", c->ratio_lo, c->ratio_hi, verdict[c->ratio_lo >= target]);
        if (k == 1)
            printf("- %s: peak RSS ≤ 100 MB: %.0f MB — %s\n", what, c->ours.peak_mb,
                   verdict[c->ours.peak_mb <= 100]);
        if (have_reference)
            bench_print_comparison_note(what, c);
    }
    if (!at_50[1] || !at_50[2])
        printf("- 50², 1 and 2 threads: not both measured in this run (--sizes 50)\n");
    double hours = large ? t500_hours(bench_runs_max(&large->ours)) : NAN;
    if (large)
        printf("- 32³, 2 threads, one run: t500 < 12 h: %.1f h — %s; peak RSS < 2 GB: %.0f MB "
               "— %s\n", hours, verdict[hours < 12], large->ours.peak_mb,
               verdict[large->ours.peak_mb < 2048]);
    else
        printf("- 32³, 2 threads: t500 < 12 h, peak RSS < 2 GB: not measured in this run\n");
    return failed;
}
