/* Allocation failure everywhere (make check-faults): each scenario below is
 * run once to count the calls of every allocator it reaches, then once per
 * call k of each allocator with call k failing, and once more with call k
 * and every later call of that allocator failing.  Every run must return
 * (a watchdog catches a hang), either succeed with the answer of the clean
 * run or fail with OTAD_ENOMEM and a message that says memory, leave the
 * caller's buffers as they were, and leak nothing (LeakSanitizer).  Built
 * with the sanitizers only; tests/faults/inject.h says how allocators fail. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/lsan_interface.h>

#include "../support.h"
#include "plot/plot.h"
#include "inject.h"

/* What one run of a scenario gives. */
typedef struct outcome {
    int code;
    char message[512];
    double digest[64];   /* on success: numbers the clean run must match */
    size_t n_digest;
    int buffers_kept;    /* on failure: the caller's outputs are as they were */
} outcome;

typedef void (*scenario_fn)(outcome *o);

static const double sentinel = -12345.678;

static void fill_sentinel(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sentinel;
}

static int all_sentinel(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != sentinel)
            return 0;
    return 1;
}

static void keep(outcome *o, const double *x, size_t n)
{
    for (size_t i = 0; i < n && o->n_digest < 64; i++)
        o->digest[o->n_digest++] = x[i];
}

/* A tape on the counted allocator, with small chunks: many allocations.
 * NULL, with the code in o, when it cannot be made. */
static otad_tape *counted_tape(outcome *o)
{
    otad_tape_opts opts;
    otad_tape_opts_init(&opts);
    opts.allocator = &fault_tape_allocator;
    opts.chunk_bytes = 4096;
    otad_tape *t = NULL;
    o->code = otad_tape_new(&t, &opts);
    snprintf(o->message, sizeof o->message, "%s", otad_strerror(o->code));
    return t;
}

/* The outcome of a graph on tape t whose loss y is backpropagated into the
 * caller's buffer grad (n entries, filled with the sentinel before). */
static void finish_tape(outcome *o, otad_tape *t, otad_var y, const double *grad, size_t n)
{
    if (!t) {
        o->buffers_kept = all_sentinel(grad, n);
        return;
    }
    if (otad_tape_status(t) == OTAD_OK)
        otad_backward(t, y);
    o->code = otad_tape_status(t);
    snprintf(o->message, sizeof o->message, "%s", otad_tape_message(t));
    if (o->code == OTAD_OK) {
        keep(o, (double[]){otad_scalar(t, y)}, 1);
        keep(o, grad, n);
    }
    o->buffers_kept = all_sentinel(grad, n);
    otad_tape_free(&t);
}

static void error_outcome(outcome *o, int code, const otad_error *err)
{
    o->code = code;
    snprintf(o->message, sizeof o->message, "%s", code == OTAD_OK ? "" : err->message);
}

/* ---- the scenarios ---------------------------------------------------------- */

enum { N = 5, M = 4 };
static const double cost_5x4[N * M] = {0.1, 0.9, 0.4, 0.3, 0.7, 0.5, 0.2, 0.8, 0.6, 0.1,
                                       0.3, 0.6, 0.9, 0.2, 0.4, 0.8, 0.1, 0.5, 0.7, 0.3};
static const double a_5[N] = {0.1, 0.3, 0.2, 0.25, 0.15}, b_4[M] = {0.4, 0.1, 0.3, 0.2};

/* Balanced (ρ = ∞: the entropic value, the dual under ENVELOPE; under
 * CHECKPOINT and IMPLICIT with the centred and POT conventions' nodes) or
 * unbalanced (the KL primal, the KL dual under ENVELOPE). */
static void sinkhorn_in(outcome *o, otad_grad_mode mode, int log_domain, double rho)
{
    double grad[N * M];
    fill_sentinel(grad, N * M);
    otad_tape *t = counted_tape(o);
    otad_var y = {0, 0};
    if (t) {
        otad_sinkhorn_opts opts;
        otad_sinkhorn_opts_init(&opts);
        opts.iterations = 30;
        opts.mode = mode;
        opts.log_domain = log_domain;
        opts.rho_a = opts.rho_b = rho;
        if (isinf(rho) && mode == OTAD_CHECKPOINT)
            opts.convention = OTAD_GRADIENT_CENTRED;
        if (isinf(rho) && mode == OTAD_IMPLICIT)
            opts.convention = OTAD_GRADIENT_POT;
        otad_kernel k = otad_kernel_gibbs(t, otad_param(t, N, M, cost_5x4, grad), 0.2);
        otad_sinkhorn_value balanced = mode == OTAD_ENVELOPE ? OTAD_SINKHORN_DUAL
                                                             : OTAD_SINKHORN_ENTROPIC;
        otad_sinkhorn_value unbalanced = mode == OTAD_ENVELOPE ? OTAD_SINKHORN_KL_DUAL
                                                               : OTAD_SINKHORN_KL_PRIMAL;
        y = otad_sinkhorn_loss(t, k, otad_const(t, N, 1, a_5), otad_const(t, M, 1, b_4), &opts,
                               isinf(rho) ? balanced : unbalanced);
    }
    finish_tape(o, t, y, grad, N * M);
}

static void sinkhorn_unroll(outcome *o) { sinkhorn_in(o, OTAD_UNROLL, 0, INFINITY); }
static void sinkhorn_checkpoint(outcome *o) { sinkhorn_in(o, OTAD_CHECKPOINT, 0, INFINITY); }
static void sinkhorn_implicit(outcome *o) { sinkhorn_in(o, OTAD_IMPLICIT, 0, INFINITY); }
static void sinkhorn_envelope(outcome *o) { sinkhorn_in(o, OTAD_ENVELOPE, 0, INFINITY); }
static void sinkhorn_log_domain(outcome *o) { sinkhorn_in(o, OTAD_UNROLL, 1, INFINITY); }
static void unbalanced_unroll(outcome *o) { sinkhorn_in(o, OTAD_UNROLL, 0, 0.5); }
static void unbalanced_implicit(outcome *o) { sinkhorn_in(o, OTAD_IMPLICIT, 0, 0.5); }
static void unbalanced_envelope(outcome *o) { sinkhorn_in(o, OTAD_ENVELOPE, 0, 0.5); }
static void unbalanced_log_domain(outcome *o) { sinkhorn_in(o, OTAD_UNROLL, 1, 0.5); }

/* ε-scaling, then a second solve from the first one's warm start, on one
 * tape: the start's malloc fails as the tape's allocations do. */
static void sinkhorn_scaled_warm(outcome *o)
{
    double grad[N * M];
    fill_sentinel(grad, N * M);
    otad_sinkhorn_start *start = otad_sinkhorn_start_new();
    if (!start) {
        o->code = OTAD_ENOMEM;
        snprintf(o->message, sizeof o->message, "no memory for a warm start");
        o->buffers_kept = all_sentinel(grad, N * M);
        return;
    }
    otad_tape *t = counted_tape(o);
    otad_var y = {0, 0};
    if (t) {
        otad_sinkhorn_opts opts;
        otad_sinkhorn_opts_init(&opts);
        opts.iterations = 30;
        opts.mode = OTAD_IMPLICIT;
        opts.log_domain = 1;
        opts.eps_start = 2;
        opts.start = start;
        otad_kernel k = otad_kernel_gibbs(t, otad_param(t, N, M, cost_5x4, grad), 0.2);
        otad_var a = otad_const(t, N, 1, a_5), b = otad_const(t, M, 1, b_4);
        y = otad_add(t, otad_sinkhorn_loss(t, k, a, b, &opts, OTAD_SINKHORN_ENTROPIC),
                     otad_sinkhorn_loss(t, k, a, b, &opts, OTAD_SINKHORN_ENTROPIC));
    }
    finish_tape(o, t, y, grad, N * M);
    otad_sinkhorn_start_free(start);
}

/* Barycenters of three histograms on a 1-D grid, weights softmax(θ). */
enum { GRID = 12, INPUTS = 3 };

/* Each column of the rows×cols x scaled to mass 1. */
static void normalise_columns(double *x, size_t rows, size_t cols)
{
    for (size_t j = 0; j < cols; j++) {
        double mass = 0;
        for (size_t i = 0; i < rows; i++)
            mass += x[i + j * rows];
        for (size_t i = 0; i < rows; i++)
            x[i + j * rows] /= mass;
    }
}

/* INPUTS positive bumps on the grid, one per column, of mass 1. */
static void grid_bumps(double *h)
{
    for (size_t r = 0; r < INPUTS; r++)
        for (size_t i = 0; i < GRID; i++)
            h[i + r * GRID] = exp(-pow((double)i - 4.0 * (double)r - 1, 2) / 4) + 1e-3;
    normalise_columns(h, GRID, INPUTS);
}

static void barycenter_in(outcome *o, otad_grad_mode mode)
{
    double inputs[GRID * INPUTS], target[GRID], theta[INPUTS] = {0.2, -0.1, 0.4}, grad[INPUTS];
    grid_bumps(inputs);
    for (size_t i = 0; i < GRID; i++)
        target[i] = 1.0 / GRID;
    fill_sentinel(grad, INPUTS);
    otad_tape *t = counted_tape(o);
    otad_var y = {0, 0};
    if (t) {
        otad_barycenter_opts opts;
        otad_barycenter_opts_init(&opts);
        opts.iterations = 20;
        opts.mode = mode;
        size_t shape[1] = {GRID};
        otad_kernel k = otad_kernel_grid(t, 1, shape, 0.05);
        otad_var in = otad_const(t, GRID, INPUTS, inputs);
        otad_var w = otad_softmax(t, otad_param(t, INPUTS, 1, theta, grad));
        otad_var p = otad_barycenter(t, k, in, w, &opts);
        y = otad_loss_l2(t, p, otad_const(t, GRID, 1, target));
    }
    finish_tape(o, t, y, grad, INPUTS);
}

static void barycenter_unroll(outcome *o) { barycenter_in(o, OTAD_UNROLL); }
static void barycenter_implicit(outcome *o) { barycenter_in(o, OTAD_IMPLICIT); }

/* The online kernel of two point sets: a scaling-domain loss (its pairs and
 * the pending terms of the points' gradient) plus a log-domain one. */
static void online_kernel(outcome *o)
{
    double grad[N * 2], x[N * 2];
    for (size_t i = 0; i < N * 2; i++)
        x[i] = cost_5x4[i];
    fill_sentinel(grad, N * 2);
    otad_tape *t = counted_tape(o);
    otad_var y = {0, 0};
    if (t) {
        otad_sinkhorn_opts opts;
        otad_sinkhorn_opts_init(&opts);
        opts.iterations = 30;
        otad_var px = otad_param(t, N, 2, x, grad);
        otad_kernel k = otad_kernel_points_online(t, px, otad_const(t, M, 2, cost_5x4 + 10), 0.2,
                                                  2);
        otad_var a = otad_const(t, N, 1, a_5), b = otad_const(t, M, 1, b_4);
        otad_var w = otad_sinkhorn_loss(t, k, a, b, &opts, OTAD_SINKHORN_COST);
        opts.log_domain = 1;
        y = otad_add(t, w, otad_sinkhorn_loss(t, k, a, b, &opts, OTAD_SINKHORN_COST));
    }
    finish_tape(o, t, y, grad, N * 2);
}

/* A heat kernel on a 4×3 grid graph built in the run: apply, the edge
 * differences, and the gradient to the edge weights. */
static void heat_kernel(outcome *o)
{
    enum { EDGES = 3 * 3 + 4 * 2, VERTICES = 12 };
    double w[EDGES], x[VERTICES], grad[EDGES];
    for (size_t e = 0; e < EDGES; e++)
        w[e] = 1 + 0.05 * (double)e;
    for (size_t v = 0; v < VERTICES; v++)
        x[v] = 1 + sin((double)v);
    fill_sentinel(grad, EDGES);
    otad_graph *g = NULL;
    otad_error err;
    int rc = otad_graph_grid2d(&g, 4, 3, &err);
    if (rc != OTAD_OK) {
        error_outcome(o, rc, &err);
        o->buffers_kept = all_sentinel(grad, EDGES);
        return;
    }
    const size_t *list;
    size_t count = 0;
    if (otad_graph_edge_neighbours(g, 4, &list, &count, &err) == OTAD_OK)
        keep(o, (double[]){(double)count}, 1);
    otad_tape *t = counted_tape(o);
    otad_var y = {0, 0};
    if (t) {
        otad_var wv = otad_param(t, EDGES, 1, w, grad);
        otad_kernel k = otad_kernel_heat(t, g, wv, 0.1, 3);
        otad_var kx = otad_kernel_apply(t, k, 0, otad_const(t, VERTICES, 1, x));
        otad_var d = otad_edge_differences(t, g, wv);
        y = otad_add(t, otad_dot(t, kx, kx), otad_dot(t, d, d));
    }
    finish_tape(o, t, y, grad, EDGES);
    otad_graph_free(&g);
}

/* A graph from an edge list (a triangle with a tail), its default edge
 * neighbours, then the caller's. */
static void edge_list_graph(outcome *o)
{
    static const size_t ends[] = {0, 1, 1, 2, 2, 0, 2, 3};
    static const double scale[] = {1, 2, 0.5, 1};
    static const size_t start[] = {0, 1, 1, 2, 3}, list[] = {3, 0, 1};
    otad_graph *g = NULL;
    otad_error err;
    int rc = otad_graph_new(&g, 4, 4, ends, scale, &err);
    for (size_t e = 0; rc == OTAD_OK && e < 4; e++) {
        const size_t *neighbours;
        size_t count;
        rc = otad_graph_edge_neighbours(g, e, &neighbours, &count, &err);
        keep(o, (double[]){(double)count}, 1);
    }
    if (rc == OTAD_OK)
        rc = otad_graph_set_edge_neighbours(g, start, list, &err);
    error_outcome(o, rc, &err);
    o->buffers_kept = 1; /* the graph is the only output */
    otad_graph_free(&g);
}

static void spd_solve(outcome *o)
{
    enum { SIZE = 6, NNZ = 13 };
    static const size_t col_start[SIZE + 1] = {0, 3, 6, 8, 10, 12, 13};
    static const size_t row[NNZ] = {0, 1, 5, 1, 2, 4, 2, 3, 3, 4, 4, 5, 5};
    double values[NNZ], b[SIZE], grad[NNZ];
    for (size_t k = 0; k < NNZ; k++)
        values[k] = 0.3 * cos((double)k);
    for (size_t j = 0; j < SIZE; j++)
        values[col_start[j]] = 4, b[j] = 1 + (double)j;
    fill_sentinel(grad, NNZ);
    otad_spd_pattern *p = NULL;
    otad_error err;
    int rc = otad_spd_pattern_new(&p, SIZE, col_start, row, &err);
    if (rc != OTAD_OK) {
        error_outcome(o, rc, &err);
        o->buffers_kept = all_sentinel(grad, NNZ);
        return;
    }
    otad_tape *t = counted_tape(o);
    otad_var y = {0, 0};
    if (t) {
        otad_var x = otad_spd_solve(t, p, otad_param(t, NNZ, 1, values, grad),
                                    otad_const(t, SIZE, 1, b));
        y = otad_dot(t, x, x);
    }
    finish_tape(o, t, y, grad, NNZ);
    otad_spd_pattern_free(&p);
}

static void emd(outcome *o)
{
    otad_emd_result res;
    memset(&res, 0x5a, sizeof res);
    otad_error err;
    int rc = otad_emd(N, M, a_5, b_4, cost_5x4, NULL, &res, &err);
    error_outcome(o, rc, &err);
    if (rc == OTAD_OK) {
        keep(o, &res.cost, 1);
        keep(o, res.f, N);
        keep(o, res.g, M);
        otad_emd_result_free(&res);
    } else {
        /* "res is then empty" */
        o->buffers_kept = !res.row && !res.col && !res.mass && !res.f && !res.g &&
                          res.nonzeros == 0;
    }
}

static void emd_cost_op(outcome *o)
{
    double grad[N * M];
    fill_sentinel(grad, N * M);
    otad_tape *t = counted_tape(o);
    otad_var y = {0, 0};
    if (t)
        y = otad_emd_cost(t, otad_const(t, N, 1, a_5), otad_const(t, M, 1, b_4),
                          otad_param(t, N, M, cost_5x4, grad), NULL);
    finish_tape(o, t, y, grad, N * M);
}

/* The ops that allocate outside the tape: 1-D OT (its sort) and the Bures
 * distance (LAPACK's work space), with the plan and the map outside a tape. */
static void ot_1d_and_bures(outcome *o)
{
    static const double S1[4] = {2, 0.5, 0.5, 1}, S2[4] = {1, -0.2, -0.2, 3};
    static const double mean[4] = {0, 1, 0.5, -1};
    double grad[N + 8], map[4], mass[N + M - 1];
    size_t row[N + M - 1], col[N + M - 1];
    fill_sentinel(grad, N + 8);
    fill_sentinel(map, 4);
    fill_sentinel(mass, N + M - 1);
    otad_plan_1d plan = {row, col, mass, NULL, NULL, 0, 0};
    otad_error err;
    int rc = otad_ot_1d_plan(N, cost_5x4, a_5, M, cost_5x4 + N, b_4, 2, &plan, &err);
    int planned = rc == OTAD_OK;
    if (planned)
        rc = otad_gaussian_map(2, S1, S2, map, &err);
    if (rc != OTAD_OK) {
        error_outcome(o, rc, &err);
        o->buffers_kept = all_sentinel(map, 4) && (planned || all_sentinel(mass, N + M - 1));
        return;
    }
    keep(o, mass, N + M - 1);
    keep(o, map, 4);
    otad_tape *t = counted_tape(o);
    otad_var y = {0, 0};
    if (t) {
        otad_var x = otad_param(t, N, 1, cost_5x4, grad);
        otad_var w2 = otad_gaussian_w2(t, otad_const(t, 2, 1, mean),
                                       otad_param(t, 2, 2, S1, grad + N),
                                       otad_const(t, 2, 1, mean + 2),
                                       otad_param(t, 2, 2, S2, grad + N + 4));
        y = otad_add(t, w2, otad_ot_1d(t, x, otad_const(t, N, 1, a_5),
                                       otad_const(t, M, 1, cost_5x4 + N),
                                       otad_const(t, M, 1, b_4), 2));
    }
    finish_tape(o, t, y, grad, N + 8);
}

/* The gradient checks, on Sinkhorn's entropic value as a function of the
 * cost (the dot-product, Jacobian and Taylor tests). */
static otad_var entropic_of_cost(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    otad_sinkhorn_opts opts;
    otad_sinkhorn_opts_init(&opts);
    opts.iterations = 10;
    return otad_sinkhorn_loss(t, otad_kernel_gibbs(t, in[0], 0.3), otad_const(t, N, 1, a_5),
                              otad_const(t, M, 1, b_4), &opts, OTAD_SINKHORN_ENTROPIC);
}

static otad_var entropic_of_theta(otad_tape *t, otad_var theta, void *instance)
{
    return entropic_of_cost(t, (otad_var[]){otad_reshape(t, theta, N, M)}, instance);
}

static void gradient_checks(outcome *o)
{
    otad_value cost = {(double *)cost_5x4, N, M};
    otad_check_result res = {0};
    int rc = otad_check_graph(entropic_of_cost, NULL, 1, &cost, NULL, &res);
    double passed[3] = {0};
    passed[0] = res.passed;
    if (rc == OTAD_OK)
        rc = otad_check_jacobian(entropic_of_cost, NULL, 1, &cost, NULL, &res);
    passed[1] = res.passed;
    if (rc == OTAD_OK)
        rc = otad_check_taylor(entropic_of_theta, NULL, N * M, cost_5x4, NULL, &res);
    passed[2] = res.passed;
    keep(o, passed, 3);
    o->code = rc;
    snprintf(o->message, sizeof o->message, "%s", res.report);
    o->buffers_kept = 1; /* the result only */
}

/* L-BFGS on a Rosenbrock valley, from a point the caller keeps. */
static otad_var rosenbrock(otad_tape *t, otad_var x, void *instance)
{
    (void)instance;
    otad_var x0 = otad_slice(t, x, 0, 1, 0, 1), x1 = otad_slice(t, x, 1, 1, 0, 1);
    otad_var r = otad_sub(t, x1, otad_mul(t, x0, x0));
    otad_var s = otad_sub(t, otad_const_fill(t, 1, 1, 1), x0);
    return otad_add(t, otad_scale(t, otad_mul(t, r, r), 10), otad_mul(t, s, s));
}

static void lbfgs(outcome *o)
{
    double theta[2] = {-1.2, 1}, start[2] = {-1.2, 1};
    otad_tape_opts tape_opts;
    otad_tape_opts_init(&tape_opts);
    tape_opts.allocator = &fault_tape_allocator;
    tape_opts.chunk_bytes = 4096;
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = 20;
    params.tape_opts = &tape_opts;
    otad_lbfgs_result r;
    o->code = otad_lbfgs(rosenbrock, NULL, 2, theta, &params, &r);
    snprintf(o->message, sizeof o->message, "%s", r.message);
    if (o->code == OTAD_OK) {
        keep(o, theta, 2);
        keep(o, &r.loss, 1);
    }
    o->buffers_kept = memcmp(theta, start, sizeof theta) == 0;
    otad_lbfgs_result_free(&r);
}

static const char *in_dir(const char *name);

/* L-BFGS writing a checkpoint every iteration, then resuming from it; a
 * failure of either call must leave theta as that call found it. */
static void lbfgs_checkpoint(outcome *o)
{
    double theta[2] = {-1.2, 1}, before[2] = {-1.2, 1};
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = 4;
    params.checkpoint = in_dir("fit.checkpoint");
    params.checkpoint_every = 1;
    otad_lbfgs_result r;
    o->code = otad_lbfgs(rosenbrock, NULL, 2, theta, &params, &r);
    if (o->code == OTAD_OK) {
        otad_lbfgs_result_free(&r);
        memcpy(before, theta, sizeof theta);
        params.resume = params.checkpoint, params.max_iterations = 8;
        o->code = otad_lbfgs(rosenbrock, NULL, 2, theta, &params, &r);
    }
    snprintf(o->message, sizeof o->message, "%s", r.message);
    if (o->code == OTAD_OK) {
        keep(o, theta, 2);
        keep(o, &r.loss, 1);
    }
    o->buffers_kept = memcmp(theta, before, sizeof theta) == 0;
    otad_lbfgs_result_free(&r);
}

/* Adam on the same valley, step by step, with a checkpoint and a resume. */
static otad_var rosenbrock_step(otad_tape *t, otad_var x, int step, void *instance)
{
    (void)step;
    return rosenbrock(t, x, instance);
}

static void stochastic(outcome *o)
{
    double theta[2] = {-1.2, 1}, before[2] = {-1.2, 1};
    otad_tape_opts tape_opts;
    otad_tape_opts_init(&tape_opts);
    tape_opts.allocator = &fault_tape_allocator;
    tape_opts.chunk_bytes = 4096;
    otad_stochastic_params params;
    otad_stochastic_params_init(&params);
    params.steps = 5;
    params.tape_opts = &tape_opts;
    params.checkpoint = in_dir("adam.checkpoint");
    params.checkpoint_every = 2;
    otad_stochastic_result r;
    o->code = otad_stochastic(rosenbrock_step, NULL, 2, theta, &params, &r);
    if (o->code == OTAD_OK) {
        otad_stochastic_result_free(&r);
        memcpy(before, theta, sizeof theta);
        params.resume = params.checkpoint, params.steps = 8;
        o->code = otad_stochastic(rosenbrock_step, NULL, 2, theta, &params, &r);
    }
    snprintf(o->message, sizeof o->message, "%s", r.message);
    if (o->code == OTAD_OK)
        keep(o, theta, 2);
    o->buffers_kept = memcmp(theta, before, sizeof theta) == 0;
    otad_stochastic_result_free(&r);
}

/* The three models, each on a problem small enough to fit in a few
 * iterations, their driver's tape on the counted allocator. */
static otad_lbfgs_params few_iterations(otad_tape_opts *tape_opts)
{
    otad_tape_opts_init(tape_opts);
    tape_opts->allocator = &fault_tape_allocator;
    tape_opts->chunk_bytes = 16384;
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = 3;
    params.tape_opts = tape_opts;
    return params;
}

static void barycoords_fit(outcome *o)
{
    double database[GRID * INPUTS], target[GRID];
    grid_bumps(database);
    for (size_t i = 0; i < GRID; i++)
        target[i] = 0.2 * database[i] + 0.5 * database[i + GRID] + 0.3 * database[i + 2 * GRID];
    otad_barycoords p;
    otad_barycoords_init(&p);
    size_t shape[1] = {GRID};
    p.support = otad_support_grid(1, shape, 0.05);
    p.size = GRID;
    p.n_histograms = INPUTS;
    p.database = database;
    p.n_targets = 1;
    p.targets = target;
    p.barycenter.iterations = 10;
    otad_tape_opts tape_opts;
    otad_lbfgs_params params = few_iterations(&tape_opts);
    otad_barycoords_result r;
    otad_error err;
    error_outcome(o, otad_barycoords_fit(&p, NULL, &params, &r, &err), &err);
    if (o->code == OTAD_OK) {
        keep(o, r.weights, INPUTS);
        keep(o, r.target_losses, 1);
    }
    o->buffers_kept = o->code == OTAD_OK || (!r.weights && !r.target_losses);
    otad_barycoords_result_free(&r);
}

static void metric_learning_fit(outcome *o)
{
    enum { SIDE = 4, VERTICES = SIDE * SIDE, FRAMES = 3 };
    double frames[VERTICES * FRAMES];
    for (size_t f = 0; f < FRAMES; f++)
        for (size_t v = 0; v < VERTICES; v++)
            frames[v + f * VERTICES] =
                exp(-pow((double)(v % SIDE) - (double)f, 2) - pow((double)(v / SIDE) - 1, 2)) +
                0.01;
    normalise_columns(frames, VERTICES, FRAMES);
    otad_graph *g = NULL;
    otad_error err;
    int rc = otad_graph_grid2d(&g, SIDE, SIDE, &err);
    if (rc != OTAD_OK) {
        error_outcome(o, rc, &err);
        o->buffers_kept = !g;
        return;
    }
    otad_metric_learning p;
    otad_metric_learning_init(&p);
    p.graph = g;
    p.size = VERTICES;
    p.n_frames = FRAMES;
    p.frames = frames;
    p.steps = 3;
    p.barycenter.iterations = 8;
    otad_tape_opts tape_opts;
    otad_lbfgs_params params = few_iterations(&tape_opts);
    params.max_iterations = 2;
    otad_metric_learning_result r;
    error_outcome(o, otad_metric_learning_fit(&p, NULL, &params, &r, &err), &err);
    if (o->code == OTAD_OK) {
        keep(o, r.weights, otad_graph_edges(g));
        keep(o, &r.energy.total, 1);
    }
    o->buffers_kept = o->code == OTAD_OK || (!r.weights && !r.reconstructions);
    otad_metric_learning_result_free(&r);
    otad_graph_free(&g);
}

static void mke_fit(outcome *o)
{
    enum { POINTS = 8 };
    double data[POINTS * 2];
    for (size_t j = 0; j < POINTS; j++) {
        data[j] = (j < POINTS / 2 ? 0.2 : 0.8) + 0.03 * sin((double)j);
        data[j + POINTS] = 0.5 + 0.03 * cos((double)j);
    }
    otad_mke p;
    otad_mke_init(&p);
    p.dim = 2;
    p.n_data = POINTS;
    p.data = data;
    p.eps = 0.05;
    p.debiased = 1;
    p.sinkhorn.iterations = 20;
    otad_mke_atoms atoms;
    otad_error err;
    int rc = otad_mke_use_atoms(&p, &atoms, 2, &err);
    if (rc != OTAD_OK) {
        error_outcome(o, rc, &err);
        o->buffers_kept = 1; /* nothing of the caller's yet */
        return;
    }
    double theta[6] = {0.3, 0.7, 0.4, 0.6, 0, 0};
    otad_tape_opts tape_opts;
    otad_lbfgs_params params = few_iterations(&tape_opts);
    otad_mke_result r;
    error_outcome(o, otad_mke_fit(&p, theta, &params, &r, &err), &err);
    if (o->code == OTAD_OK) {
        keep(o, r.theta, 6);
        keep(o, &r.lbfgs.loss, 1);
    }
    o->buffers_kept = o->code == OTAD_OK || (!r.theta && !r.points && !r.weights);
    otad_mke_result_free(&r);
}

/* The readers and writers, on files in a directory made before the runs. */
static char dir[64];

static const char *in_dir(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void npy_io(outcome *o)
{
    double values[6] = {1, -2, 3.5, 0, 1e-300, 7};
    otad_array a = {values, 2, {2, 3}}, back;
    memset(&back, 0x5a, sizeof back);
    const otad_array before = back;
    otad_error err;
    int rc = otad_npy_write(in_dir("a.npy"), &a, &err);
    if (rc == OTAD_OK)
        rc = otad_npy_read(in_dir("a.npy"), &back, &err);
    error_outcome(o, rc, &err);
    if (rc == OTAD_OK) {
        keep(o, back.data, otad_array_size(&back));
        otad_array_free(&back);
    } else {
        o->buffers_kept = memcmp(&back, &before, sizeof back) == 0;
    }
}

static void png_io(outcome *o)
{
    enum { W = 7, H = 5 };
    double image[W * H];
    for (size_t i = 0; i < W * H; i++)
        image[i] = (double)i / (W * H);
    static double untouched;
    otad_value gray = {&untouched, 3, 4};
    double *rgb = &untouched;
    size_t width = 0, height = 0;
    otad_error err;
    int rc = otad_png_write_heatmap(in_dir("a.png"), image, W, H, NULL, &err);
    if (rc == OTAD_OK)
        rc = otad_png_read_gray(in_dir("a.png"), &gray, &width, &height, &err);
    if (rc == OTAD_OK) {
        keep(o, gray.data, 8);
        free(gray.data);
        rc = otad_png_read_rgb(in_dir("a.png"), &rgb, &width, &height, &err);
        if (rc == OTAD_OK) {
            keep(o, rgb, 8);
            free(rgb);
        } else {
            o->buffers_kept = rgb == &untouched;
        }
    } else {
        o->buffers_kept = gray.data == &untouched && gray.rows == 3 && gray.cols == 4;
    }
    error_outcome(o, rc, &err);
}

static void png_plot(outcome *o)
{
    static const double y[] = {3, 1, 4, 1, 5, 9, 2, 6}, values[] = {0.2, 0.5, 0.3};
    otad_plot_series line = {NULL, y, 8, OTAD_PLOT_LINE, 0, "digits"};
    otad_bar_series bars = {values, 0, "weights"};
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "a plot";
    otad_error err;
    int rc = otad_png_write_plot(in_dir("plot.png"), &line, 1, &opts, &err);
    if (rc == OTAD_OK)
        rc = otad_png_write_bars(in_dir("bars.png"), &bars, 1, 3, NULL, &opts, &err);
    error_outcome(o, rc, &err);
    o->buffers_kept = 1; /* the files: written whole or not at all (test_png) */
}

/* ---- the harness -------------------------------------------------------------- */

/* What is failing, for the messages: "emd: new call 3" or "emd: new calls
 * from 3 on". */
static char failing[128];

/* The library never hangs: a run that has not returned after this long is
 * reported as a hang. */
enum { WATCHDOG_SECONDS = 30 };

static void on_watchdog(int signal)
{
    (void)signal;
    char line[256];
    int n = snprintf(line, sizeof line, "HANG: %s failing, no return in %d s\n", failing,
                     WATCHDOG_SECONDS);
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        _exit(3);
    _exit(2);
}

static void run(const char *name, scenario_fn scenario, fault_allocator target, size_t call,
                int persistent, outcome *o)
{
    snprintf(failing, sizeof failing, persistent ? "%s: %s calls from %zu on" : "%s: %s call %zu",
             name, target < FAULT_ALLOCATORS ? fault_allocator_names[target] : "no", call);
    memset(o, 0, sizeof *o);
    alarm(WATCHDOG_SECONDS);
    fault_arm(target, call, persistent);
    scenario(o);
    fault_disarm();
    alarm(0);
    if (__lsan_do_recoverable_leak_check())
        fail_msg("%s failing: a leak (report above)", failing);
}

/* One failed run: the clean answer, or a clean error. */
static void judge(const outcome *o, const outcome *clean, size_t *failed, size_t *absorbed)
{
    if (o->code == OTAD_OK) {
        for (size_t i = 0; i < clean->n_digest; i++)
            if (o->n_digest != clean->n_digest ||
                !(fabs(o->digest[i] - clean->digest[i]) <= 1e-12 * fmax(1, fabs(clean->digest[i]))))
                fail_msg("%s failing: it succeeded with another answer (entry %zu: %.17g, "
                         "not %.17g)", failing, i, o->digest[i], clean->digest[i]);
        ++*absorbed;
        return;
    }
    ++*failed;
    if (o->code != OTAD_ENOMEM || !strstr(o->message, "memory"))
        fail_msg("%s failing: it returned %s \"%s\", not out of memory", failing,
                 otad_strerror(o->code), o->message);
    if (!o->buffers_kept)
        fail_msg("%s failing: the caller's buffers were changed", failing);
}

static void exercise(const char *name, scenario_fn scenario)
{
    outcome clean, o;
    run(name, scenario, FAULT_ALLOCATORS, 0, 0, &clean);
    if (clean.code != OTAD_OK)
        fail_msg("%s: the clean run failed: %s", name, clean.message);
    size_t calls[FAULT_ALLOCATORS], failed = 0, absorbed = 0;
    for (int a = 0; a < FAULT_ALLOCATORS; a++)
        calls[a] = fault_calls((fault_allocator)a);
    /* call k fails alone, then with every later call of its allocator */
    for (int persistent = 0; persistent < 2; persistent++)
        for (int a = 0; a < FAULT_ALLOCATORS; a++)
            for (size_t k = 1; k <= calls[a]; k++) {
                run(name, scenario, (fault_allocator)a, k, persistent, &o);
                if (fault_fired()) /* else an earlier failure took another path */
                    judge(&o, &clean, &failed, &absorbed);
            }
    printf("%-20s tape %3zu  malloc %3zu  CHOLMOD %3zu  new %2zu calls: %3zu runs failed "
           "cleanly, %3zu absorbed\n", name, calls[FAULT_TAPE], calls[FAULT_MALLOC],
           calls[FAULT_CHOLMOD], calls[FAULT_NEW], failed, absorbed);
}

#define SCENARIO(fn) \
    static void test_##fn(void **state) \
    { \
        (void)state; \
        exercise(#fn, fn); \
    }
SCENARIO(sinkhorn_unroll)
SCENARIO(sinkhorn_checkpoint)
SCENARIO(sinkhorn_implicit)
SCENARIO(sinkhorn_envelope)
SCENARIO(sinkhorn_log_domain)
SCENARIO(unbalanced_unroll)
SCENARIO(unbalanced_implicit)
SCENARIO(unbalanced_envelope)
SCENARIO(unbalanced_log_domain)
SCENARIO(sinkhorn_scaled_warm)
SCENARIO(barycenter_unroll)
SCENARIO(barycenter_implicit)
SCENARIO(online_kernel)
SCENARIO(heat_kernel)
SCENARIO(edge_list_graph)
SCENARIO(spd_solve)
SCENARIO(emd)
SCENARIO(emd_cost_op)
SCENARIO(ot_1d_and_bures)
SCENARIO(gradient_checks)
SCENARIO(lbfgs)
SCENARIO(lbfgs_checkpoint)
SCENARIO(stochastic)
SCENARIO(barycoords_fit)
SCENARIO(metric_learning_fit)
SCENARIO(mke_fit)
SCENARIO(npy_io)
SCENARIO(png_io)
SCENARIO(png_plot)

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", "/tmp/otad-faults-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    /* distinct return addresses: where the library (or the tape, through its
     * allocator hook) calls the allocator; CHOLMOD's are inside SuiteSparse */
    printf("call sites failed: tape %zu, malloc %zu, new %zu\n", fault_sites(FAULT_TAPE),
           fault_sites(FAULT_MALLOC), fault_sites(FAULT_NEW));
    unlink(in_dir("a.npy"));
    unlink(in_dir("a.png"));
    unlink(in_dir("plot.png"));
    unlink(in_dir("bars.png"));
    unlink(in_dir("fit.checkpoint"));
    unlink(in_dir("adam.checkpoint"));
    return rmdir(dir);
}

/* An argument runs the scenarios whose test names match it (test_emd*). */
int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    fault_install();
    signal(SIGALRM, on_watchdog);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sinkhorn_unroll),
        cmocka_unit_test(test_sinkhorn_checkpoint),
        cmocka_unit_test(test_sinkhorn_implicit),
        cmocka_unit_test(test_sinkhorn_envelope),
        cmocka_unit_test(test_sinkhorn_log_domain),
        cmocka_unit_test(test_unbalanced_unroll),
        cmocka_unit_test(test_unbalanced_implicit),
        cmocka_unit_test(test_unbalanced_envelope),
        cmocka_unit_test(test_unbalanced_log_domain),
        cmocka_unit_test(test_sinkhorn_scaled_warm),
        cmocka_unit_test(test_barycenter_unroll),
        cmocka_unit_test(test_barycenter_implicit),
        cmocka_unit_test(test_online_kernel),
        cmocka_unit_test(test_heat_kernel),
        cmocka_unit_test(test_edge_list_graph),
        cmocka_unit_test(test_spd_solve),
        cmocka_unit_test(test_emd),
        cmocka_unit_test(test_emd_cost_op),
        cmocka_unit_test(test_ot_1d_and_bures),
        cmocka_unit_test(test_gradient_checks),
        cmocka_unit_test(test_lbfgs),
        cmocka_unit_test(test_lbfgs_checkpoint),
        cmocka_unit_test(test_stochastic),
        cmocka_unit_test(test_barycoords_fit),
        cmocka_unit_test(test_metric_learning_fit),
        cmocka_unit_test(test_mke_fit),
        cmocka_unit_test(test_npy_io),
        cmocka_unit_test(test_png_io),
        cmocka_unit_test(test_png_plot),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
