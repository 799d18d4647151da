/*
 * What warm starts save in fits that solve Sinkhorn once per evaluation:
 * each fit runs with its Sinkhorn solves converged (IMPLICIT, marginal
 * error at most 10⁻⁷, the gradient the converged problem's), once starting
 * every solve from v = 1 and once from the last evaluation's potentials
 * (otad_sinkhorn_start).  Both fits take the same L-BFGS path up to the
 * solves' tolerance, so they reach the same loss; the time is what differs.
 *   - Minimum Kantorovich estimation of three ellipses (the problem of
 *     bench/mke.c: 600 model points against 1800 data points, ε = 0.01,
 *     the transport cost), 15 L-BFGS iterations at most.
 *   - Barycentric coordinates on the 64×64 grid (the problem of
 *     bench/barycoords.c, the barycenter after 50 updates) fitted with the
 *     debiased Sinkhorn divergence (its dual value, ENVELOPE), 20 iterations
 *     at most.
 * Cold and warm alternate in one process; the row is over --rounds fresh
 * processes.  Ours only: the comparison is of two ways to start.
 *
 *   warm_starts [--threads 1] [--rounds 3]
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/w2_database.h"

enum { ELLIPSES = 3, SAMPLES = 200, N_DATA = 1800, N_PARAMS = 6 * ELLIPSES };
enum { GRID = 64, MKE_ITERATIONS = 15, BARYCOORDS_ITERATIONS = 20 };
static const double tolerance = 1e-7;

typedef struct fit_outcome {
    double seconds, loss;
    int evaluations;
    long found; /* solves that started from kept potentials */
} fit_outcome;

static otad_sinkhorn_opts converged(otad_grad_mode mode, otad_sinkhorn_start *start)
{
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.mode = mode;
    o.iterations = 100000;
    o.tolerance = tolerance;
    o.mass_tolerance = 0;
    o.start = start;
    return o;
}

/* ---- minimum Kantorovich estimation ---------------------------------------- */

typedef struct mke_case {
    otad_value data, theta_init;
    double z[2 * SAMPLES];
    otad_mke_ellipses ellipses;
    otad_mke problem;
} mke_case;

static int mke_setup(mke_case *c, otad_error *err)
{
    char path[PATH_MAX];
    bench_repository_path("tests/data/w4/data_points.npy", path, sizeof path);
    int rc = otad_npy_read_matrix(path, &c->data, err);
    bench_repository_path("tests/data/w4/theta_init.npy", path, sizeof path);
    if (rc == OTAD_OK)
        rc = otad_npy_read_matrix(path, &c->theta_init, err);
    if (rc == OTAD_OK && (c->data.rows != N_DATA || c->theta_init.rows != N_PARAMS))
        rc = otad_error_set(err, OTAD_ESHAPE, "tests/data/w4: not the workload's shape");
    if (rc != OTAD_OK)
        return rc;
    otad_disk_samples(SAMPLES, c->z);
    otad_mke *p = &c->problem;
    otad_mke_init(p);
    p->dim = 2, p->n_data = N_DATA, p->data = c->data.data, p->eps = 0.01;
    rc = otad_mke_use_ellipses(p, &c->ellipses, ELLIPSES, SAMPLES, c->z, err);
    return rc == OTAD_OK ? otad_mke_check(p, err) : rc;
}

static int mke_fit(mke_case *c, otad_sinkhorn_start *start, fit_outcome *out, otad_error *err)
{
    c->problem.sinkhorn = converged(OTAD_IMPLICIT, start);
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params), params.max_iterations = MKE_ITERATIONS;
    otad_mke_result r = {0};
    double t0 = bench_now();
    int rc = otad_mke_fit(&c->problem, c->theta_init.data, &params, &r, err);
    *out = (fit_outcome){bench_now() - t0, r.lbfgs.loss, r.lbfgs.evaluations, 0};
    otad_sinkhorn_start_counts(start, &out->found, NULL);
    otad_mke_result_free(&r);
    return rc;
}

/* ---- barycentric coordinates ------------------------------------------------ */

typedef struct barycoords_case {
    double *database, *q;
    otad_barycoords problem;
} barycoords_case;

static int barycoords_setup(barycoords_case *c, otad_error *err)
{
    size_t n2 = GRID * GRID;
    if (!(c->database = malloc(n2 * (W2_SHAPES + 1) * sizeof *c->database)))
        return otad_error_set(err, OTAD_ENOMEM, "out of memory for the grid");
    w2_database(GRID, c->database);
    c->q = c->database + n2 * W2_SHAPES;
    otad_barycoords *p = &c->problem;
    otad_barycoords_init(p);
    p->support = otad_support_grid(2, (size_t[]){GRID, GRID}, W2_EPS);
    p->size = n2, p->n_histograms = W2_SHAPES, p->database = c->database;
    p->loss = OTAD_LOSS_SINKHORN;
    int rc = otad_barycoords_project(p, w2_lambda_true, 1, c->q, err);
    p->n_targets = 1, p->targets = c->q;
    return rc == OTAD_OK ? otad_barycoords_check(p, err) : rc;
}

static int barycoords_fit(barycoords_case *c, otad_sinkhorn_start *start, fit_outcome *out,
                          otad_error *err)
{
    c->problem.sinkhorn = converged(OTAD_ENVELOPE, start);
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params), params.max_iterations = BARYCOORDS_ITERATIONS;
    otad_barycoords_result r = {0};
    double t0 = bench_now();
    int rc = otad_barycoords_fit(&c->problem, NULL, &params, &r, err);
    *out = (fit_outcome){bench_now() - t0, r.lbfgs.loss, r.lbfgs.evaluations, 0};
    otad_sinkhorn_start_counts(start, &out->found, NULL);
    otad_barycoords_result_free(&r);
    return rc;
}

/* ---- worker: cold, then warm (a fresh start), in one process ----------------- */

static int worker(const char *which)
{
    static mke_case mke;
    static barycoords_case bc;
    otad_error err = {"unknown workload"};
    int is_mke = strcmp(which, "mke") == 0, rc = OTAD_EINVAL;
    if (is_mke || strcmp(which, "barycoords") == 0)
        rc = is_mke ? mke_setup(&mke, &err) : barycoords_setup(&bc, &err);
    fit_outcome side[2];
    for (int warm = 0; rc == OTAD_OK && warm < 2; warm++) {
        otad_sinkhorn_start *start = warm ? otad_sinkhorn_start_new() : NULL;
        if (warm && !start)
            rc = otad_error_set(&err, OTAD_ENOMEM, "no memory for a warm start");
        else
            rc = is_mke ? mke_fit(&mke, start, &side[warm], &err)
                        : barycoords_fit(&bc, start, &side[warm], &err);
        otad_sinkhorn_start_free(start);
    }
    if (rc != OTAD_OK) {
        fprintf(stderr, "warm_starts %s: %s\n", which, err.message);
        return 1;
    }
    printf("RESULT {\"cold\": %.6g, \"warm\": %.6g, \"ratio\": %.4g, \"cold_evals\": %d, "
           "\"warm_evals\": %d, \"loss_gap\": %.3g, \"found\": %ld}\n", side[0].seconds,
           side[1].seconds, side[1].seconds / side[0].seconds, side[0].evaluations,
           side[1].evaluations, fabs(side[1].loss - side[0].loss) / fabs(side[0].loss),
           side[1].found);
    return 0;
}

/* ---- driver ------------------------------------------------------------------ */

enum { COLD, WARM, RATIO, COLD_EVALS, WARM_EVALS, LOSS_GAP, KEYS };
static const char *const keys[KEYS] = {"cold", "warm", "ratio", "cold_evals", "warm_evals",
                                       "loss_gap"};

static int row(const char *which, const char *title, size_t threads, size_t rounds)
{
    char label[64];
    double v[KEYS][BENCH_MAX_ROUNDS];
    bench_runs r;
    snprintf(label, sizeof label, "%s, %zu thread(s)", which, threads);
    char *const argv[] = {(char *)bench_self(), "--worker", (char *)which, NULL};
    bench_side side = {argv, "warm", 0};
    bench_cell_text("%s", title), bench_cell_text("%zu", threads);
    if (bench_repeat_numbers(&side, (int)threads, (int)rounds, label, keys, KEYS, v, &r) != 0) {
        bench_cell_text("failed: %s", r.result);
        bench_row_end();
        return -1;
    }
    size_t count = (size_t)r.count, last = count - 1;
    for (int k = 0; k < KEYS; k++)
        bench_median(v[k], count);
    bench_cell_range("%.0f", v[COLD_EVALS][0], v[COLD_EVALS][last]);
    bench_cell_range("%.3g", v[COLD][0], v[COLD][last]);
    bench_cell_range("%.0f", v[WARM_EVALS][0], v[WARM_EVALS][last]);
    bench_cell_range("%.3g", v[WARM][0], v[WARM][last]);
    bench_cell_range("%.3g", v[RATIO][0], v[RATIO][last]);
    bench_cell("%.1e", v[LOSS_GAP][last]);
    bench_row_end();
    return 0;
}

int main(int argc, char **argv)
{
    int status, failed = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(argv[2]);
    size_t threads[4] = {1}, n_threads = 1, rounds[1] = {3};
    if (bench_parse_threads_rounds(argc, argv, threads, &n_threads, rounds) != 0) {
        fprintf(stderr, "usage: %s [--threads 1] [--rounds 3]\n", argv[0]);
        return 2;
    }
    printf("## Warm starts in fits\n\n");
    bench_print_machine_line();
    printf("L-BFGS fits whose every evaluation solves Sinkhorn to a marginal error of %g "
           "(IMPLICIT; ENVELOPE for the divergence's dual), each solve started from v = 1 "
           "(cold) or from the last evaluation's potentials (warm).  Seconds for the fit; "
           "the last column is the largest relative gap between the two fits' final "
           "losses.\n\n", tolerance);
    static const char *const columns[] = {"fit", "threads", "cold evaluations", "cold s",
        "warm evaluations", "warm s", "warm / cold", "loss gap"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    for (size_t t = 0; t < n_threads; t++) {
        failed |= row("mke", "three ellipses (minimum Kantorovich estimation)", threads[t],
                      rounds[0]) != 0;
        failed |= row("barycoords", "barycentric coordinates, 64×64 grid", threads[t],
                      rounds[0]) != 0;
    }
    return failed;
}
