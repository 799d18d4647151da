/* Gradient checking: dot-product, full Jacobian, Taylor remainder, adjoint. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "tape_internal.h"

void otad_check_opts_init(otad_check_opts *opts)
{
    if (!opts)
        return;
    opts->step = 1e-6;
    opts->tolerance = 1e-6;
    opts->abs_floor = 1e-12;
    opts->trials = 3;
    opts->seed = 1;
}

static size_t numel(otad_value v)
{
    return v.rows * v.cols;
}

static double max_abs(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

static double dot(const double *x, const double *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

/* Finite differences cannot resolve less than the rounding of f divided by
 * the step; the factor 100 allows for the rounding inside f. */
static double rounding_noise(double f_scale, double h)
{
    return 100 * DBL_EPSILON * f_scale / h;
}

static void result_init(otad_check_result *res, size_t n_inputs)
{
    memset(res, 0, sizeof *res);
    res->passed = 1;
    res->n_inputs = n_inputs;
    res->order = NAN;
    res->worst_row = res->worst_col = SIZE_MAX;
}

/* How far a comparison is past what it may differ by: > 1 fails. */
static double badness(double fd, double ad, double noise, const otad_check_opts *o)
{
    double abs_err = fabs(fd - ad), scale = fmax(fabs(fd), fabs(ad));
    double allowed = fmax(o->tolerance * scale, fmax(o->abs_floor, noise));
    return allowed > 0 ? abs_err / allowed : abs_err > 0 ? INFINITY : 0;
}

/* A check's result and how bad its worst comparison so far was. */
typedef struct verdict {
    otad_check_result *res;
    double worst;
} verdict;

/* Compare one finite-difference and one algorithmic derivative of input i
 * (entry (row, col) of it, or SIZE_MAX for a whole direction); the worst
 * so far is kept with its numbers. */
static int judge(verdict *v, size_t i, size_t row, size_t col, double fd, double ad,
                 double noise, const otad_check_opts *o)
{
    otad_check_result *res = v->res;
    double abs_err = fabs(fd - ad), scale = fmax(fabs(fd), fabs(ad));
    double rel_err = scale > 0 ? abs_err / scale : 0;
    if (!(abs_err <= res->max_abs_err[i]))
        res->max_abs_err[i] = abs_err;
    if (!(rel_err <= res->max_rel_err[i]))
        res->max_rel_err[i] = rel_err;
    double bad = badness(fd, ad, noise, o);
    if (!res->assigns && !(bad <= v->worst)) { /* once found, an assigning vjp is the news */
        v->worst = bad;
        res->worst_input = i, res->worst_row = row, res->worst_col = col;
        res->worst_expected = fd, res->worst_got = ad;
        res->tolerance = o->tolerance;
    }
    if (!(bad <= 1))
        res->passed = 0;
    return !(bad <= 1);
}

/* The report line; for a failure with the worst comparison, the reference
 * and the gradient named as given. */
static void report_errors(otad_check_result *res, const char *test, const char *expected,
                          const char *got)
{
    if (res->assigns)
        return; /* its report says so */
    size_t worst = 0;
    for (size_t i = 1; i < res->n_inputs; i++)
        if (!(res->max_rel_err[i] <= res->max_rel_err[worst]))
            worst = i;
    int n = snprintf(res->report, sizeof res->report,
                     "%s: %s, %zu input%s, max rel err %.2e (input %zu), max abs err %.2e", test,
                     res->passed ? "PASS" : "FAIL", res->n_inputs,
                     res->n_inputs == 1 ? "" : "s", res->max_rel_err[worst], worst,
                     res->max_abs_err[worst]);
    if (res->passed || n < 0 || (size_t)n >= sizeof res->report)
        return;
    char entry[64] = "";
    if (res->worst_row != SIZE_MAX)
        snprintf(entry, sizeof entry, " entry (%zu,%zu)", res->worst_row, res->worst_col);
    snprintf(res->report + n, sizeof res->report - (size_t)n, "; worst: input %zu%s, %.6e %s, "
             "%.6e %s (rel tolerance %.1e)", res->worst_input, entry, res->worst_expected,
             expected, res->worst_got, got, res->tolerance);
}

static int stopped(otad_check_result *res, const char *test, int rc, const char *why)
{
    res->passed = 0;
    snprintf(res->report, sizeof res->report, "%s: stopped: %s", test, why);
    return rc;
}

/* ---- evaluating a recorded graph at perturbed inputs -------------------- */

typedef struct graph {
    otad_tape *tape;
    otad_record_fn record;
    void *instance;
    size_t n_in;
    const otad_value *inputs;
    otad_var vars[OTAD_CHECK_MAX_INPUTS];
    double *grads[OTAD_CHECK_MAX_INPUTS]; /* gradients at the base point */
    double *moved;                        /* an input moved along a direction */
    otad_var out;
    size_t n_out;
} graph;

/* Record the graph at the inputs, input `which` replaced by x (unless x is
 * NULL); as parameters with gradient buffers when with_grads. */
static int record_at(graph *g, size_t which, const double *x, int with_grads, otad_value *y)
{
    otad_tape_reset(g->tape);
    for (size_t i = 0; i < g->n_in; i++) {
        otad_value in = g->inputs[i];
        const double *data = x && i == which ? x : in.data;
        g->vars[i] = with_grads ? otad_param(g->tape, in.rows, in.cols, data, g->grads[i])
                                : otad_const(g->tape, in.rows, in.cols, data);
    }
    g->out = g->record(g->tape, g->vars, g->instance);
    int rc = otad_tape_status(g->tape);
    if (rc == OTAD_OK && !otad_var_valid(g->out))
        rc = otad_tape_fail(g->tape, OTAD_EINVAL, "check: the graph returned no node");
    if (rc != OTAD_OK)
        return rc;
    *y = otad_value_of(g->tape, g->out);
    if (g->n_out && numel(*y) != g->n_out)
        return otad_tape_fail(g->tape, OTAD_ESHAPE, "check: output size changed with the input");
    g->n_out = numel(*y);
    return OTAD_OK;
}

/* Work buffers: the output seed ū, f(x + hv) kept for the difference, a direction v. */
typedef struct buffers {
    double *ubar, *plus, *dir;
} buffers;

static int graph_open(graph *g, otad_record_fn record, void *instance, size_t n_in,
                      const otad_value *inputs)
{
    memset(g, 0, sizeof *g);
    g->record = record;
    g->instance = instance;
    g->n_in = n_in;
    g->inputs = inputs;
    if (!record || !inputs || n_in == 0 || n_in > OTAD_CHECK_MAX_INPUTS)
        return OTAD_EINVAL;
    size_t largest = 0;
    for (size_t i = 0; i < n_in; i++) {
        if (!inputs[i].data || numel(inputs[i]) == 0)
            return OTAD_EINVAL;
        largest = numel(inputs[i]) > largest ? numel(inputs[i]) : largest;
        if (!(g->grads[i] = malloc(numel(inputs[i]) * sizeof(double))))
            return OTAD_ENOMEM;
    }
    if (!(g->moved = malloc(largest * sizeof(double))))
        return OTAD_ENOMEM;
    return otad_tape_new(&g->tape, NULL);
}

static void graph_close(graph *g)
{
    otad_tape_free(&g->tape);
    for (size_t i = 0; i < OTAD_CHECK_MAX_INPUTS; i++)
        free(g->grads[i]);
    free(g->moved);
}

/* Close g and say why the test stopped: the tape's message if it has one. */
static int graph_stop(graph *g, otad_check_result *res, const char *test, int rc)
{
    const char *why = g->tape && otad_tape_status(g->tape) != OTAD_OK
                          ? otad_tape_message(g->tape) : otad_strerror(rc);
    stopped(res, test, rc, why);
    graph_close(g);
    return rc;
}

/* Open g and record it once at the inputs; on failure g is closed and res
 * says why. */
static int graph_start(graph *g, otad_check_result *res, const char *test,
                       otad_record_fn record, void *instance, size_t n_in,
                       const otad_value *inputs, int with_grads)
{
    result_init(res, n_in);
    otad_value y;
    int rc = graph_open(g, record, instance, n_in, inputs);
    if (rc == OTAD_OK)
        rc = record_at(g, 0, NULL, with_grads, &y);
    return rc == OTAD_OK ? OTAD_OK : graph_stop(g, res, test, rc);
}

static size_t largest_input(const graph *g)
{
    size_t largest = 0;
    for (size_t i = 0; i < g->n_in; i++)
        largest = numel(g->inputs[i]) > largest ? numel(g->inputs[i]) : largest;
    return largest;
}

/* Σ ubar·(f(x + h·dir) − f(x − h·dir)) / 2h with input `which` moved, and the
 * scale Σ|ubar||f| of the sum (for its rounding noise); plus is workspace. */
static int central_difference(graph *g, size_t which, const double *dir, double h,
                              const double *ubar, double *plus, double *fd, double *f_scale)
{
    otad_value x = g->inputs[which], y;
    size_t n = numel(x);
    for (size_t e = 0; e < n; e++)
        g->moved[e] = x.data[e] + h * dir[e];
    int rc = record_at(g, which, g->moved, 0, &y);
    if (rc != OTAD_OK)
        return rc;
    memcpy(plus, y.data, g->n_out * sizeof *plus);
    for (size_t e = 0; e < n; e++)
        g->moved[e] = x.data[e] - h * dir[e];
    if ((rc = record_at(g, which, g->moved, 0, &y)) != OTAD_OK)
        return rc;
    double s = 0, scale = 0;
    for (size_t k = 0; k < g->n_out; k++) {
        double u = ubar ? ubar[k] : (double)(k == 0);
        s += u * (plus[k] - y.data[k]);
        scale += fabs(u) * fmax(fabs(plus[k]), fabs(y.data[k]));
    }
    *fd = s / (2 * h);
    *f_scale = scale;
    return OTAD_OK;
}

/* The op that used node k and its place among the op's inputs: the first
 * found (name "?" when none). */
static const char *consumer_of(const otad_tape *t, size_t k, size_t *slot)
{
    for (size_t m = k + 1; m < t->n_nodes; m++)
        for (uint32_t i = 0; i < t->nodes[m].n_in; i++)
            if (t->nodes[m].inputs[i] == k && t->nodes[m].op) {
                *slot = i;
                return t->nodes[m].op->name;
            }
    *slot = 0;
    return "?";
}

/* The graph's backward seeded with ubar (NULL: 1), audited (see ad.h); a
 * vjp that assigns fails the check, its report naming the op. */
static int audited_backward(graph *g, const double *ubar, otad_check_result *res,
                            const char *test)
{
    static const double one = 1.0;
    grad_audit a;
    int rc = otadT_backward_audited(g->tape, g->out, ubar ? ubar : &one, &a);
    if (rc != OTAD_OK || !a.differs || res->assigns)
        return rc;
    size_t slot, rows = g->tape->nodes[a.node].value.rows;
    const char *op = consumer_of(g->tape, a.node, &slot);
    res->passed = 0;
    res->assigns = 1;
    res->worst_input = SIZE_MAX;
    for (size_t i = 0; i < g->n_in; i++)
        if (g->vars[i].index == a.node)
            res->worst_input = i;
    res->worst_row = a.entry % rows, res->worst_col = a.entry / rows;
    res->worst_expected = a.from_zero, res->worst_got = a.from_pattern;
    res->tolerance = 1.0 / 64 + 1e-8 * a.scale;
    snprintf(res->report, sizeof res->report, "%s: FAIL, the vjp of '%s' assigns to its input "
             "%zu's gradient instead of adding: entry (%zu,%zu) is %.6e from a zero start, "
             "%.6e from a non-zero one (tolerance %.2g)", test, op, slot, res->worst_row,
             res->worst_col, a.from_zero, a.from_pattern, res->tolerance);
    return OTAD_OK;
}

static double step_for(const otad_check_opts *o, otad_value x)
{
    return o->step * fmax(1.0, max_abs(x.data, numel(x)));
}

static const otad_check_opts *or_defaults(const otad_check_opts *opts, otad_check_opts *d)
{
    if (opts)
        return opts;
    otad_check_opts_init(d);
    return d;
}

/* The options, the function checked (named what) and the inputs (named
 * input i, or name when there is one): a bad one stops the check with
 * res->report naming it. */
static int check_args(otad_check_result *res, const char *test, const char *what,
                      const void *fn, size_t n_in, const otad_value *inputs, const char *name,
                      const otad_check_opts *o)
{
    otad_error e;
    int rc = otadV_not_null(&e, test, what, fn);
    if (rc == OTAD_OK && (n_in == 0 || n_in > OTAD_CHECK_MAX_INPUTS))
        rc = otad_error_set(&e, OTAD_EINVAL, "%s: n_in is %zu, must be 1 to %d", test, n_in,
                            OTAD_CHECK_MAX_INPUTS);
    if (rc == OTAD_OK)
        rc = otadV_not_null(&e, test, name ? name : "inputs", inputs);
    for (size_t i = 0; rc == OTAD_OK && i < n_in; i++) {
        char input[32];
        snprintf(input, sizeof input, "input %zu", i);
        rc = otadV_not_null(&e, test, name ? name : input, inputs[i].data);
        if (rc == OTAD_OK)
            rc = otadV_size(&e, test, name ? name : input, inputs[i].rows, inputs[i].cols);
    }
    if (rc == OTAD_OK)
        rc = otadV_positive(&e, test, "step", o->step);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(&e, test, "tolerance", o->tolerance);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(&e, test, "abs_floor", o->abs_floor);
    if (rc == OTAD_OK)
        rc = otadV_int_range(&e, test, "trials", o->trials, 1, INT_MAX);
    if (rc != OTAD_OK) {
        result_init(res, n_in);
        res->passed = 0;
        snprintf(res->report, sizeof res->report, "%s", e.message);
    }
    return rc;
}

/* ---- dot-product test --------------------------------------------------- */

/* Input i's entries one by one (the first LOCATE_MAX of them), to name the
 * worst after its directions failed: ⟨ū, ∂f/∂x_e⟩ by differences against
 * the gradient's entry e. */
#define LOCATE_MAX 4096

static int locate_worst(graph *g, verdict *v, size_t i, const buffers *b,
                        const otad_check_opts *o)
{
    otad_value x = g->inputs[i];
    size_t n = numel(x), count = n < LOCATE_MAX ? n : LOCATE_MAX;
    double h = step_for(o, x), fd, f_scale;
    memset(b->dir, 0, n * sizeof *b->dir);
    v->worst = -1; /* from now on the worst is an entry */
    for (size_t e = 0; e < count; e++) {
        b->dir[e] = 1;
        int rc = central_difference(g, i, b->dir, h, b->ubar, b->plus, &fd, &f_scale);
        b->dir[e] = 0;
        if (rc != OTAD_OK)
            return rc;
        judge(v, i, e % x.rows, e / x.rows, fd, g->grads[i][e], rounding_noise(f_scale, h), o);
    }
    return OTAD_OK;
}

int otad_check_graph(otad_record_fn record, void *instance, size_t n_in,
                     const otad_value *inputs, const otad_check_opts *opts,
                     otad_check_result *res)
{
    static const char test[] = "dot-product test";
    otad_check_opts defaults;
    const otad_check_opts *o = or_defaults(opts, &defaults);
    graph g;
    if (!res)
        return OTAD_EINVAL;
    int rc = check_args(res, test, "record", record, n_in, inputs, NULL, o);
    if (rc == OTAD_OK)
        rc = graph_start(&g, res, test, record, instance, n_in, inputs, 1);
    if (rc != OTAD_OK)
        return rc;
    buffers b = {malloc(g.n_out * sizeof(double)), malloc(g.n_out * sizeof(double)),
                 malloc(largest_input(&g) * sizeof(double))};
    otad_rng rng = {o->seed};
    verdict v = {res, -1};
    int failed[OTAD_CHECK_MAX_INPUTS] = {0}, any_failed = 0;
    if (!b.ubar || !b.plus || !b.dir)
        rc = OTAD_ENOMEM;
    if (rc == OTAD_OK) {
        otad_rng_fill(&rng, b.ubar, g.n_out, -1, 1);
        rc = audited_backward(&g, b.ubar, res, test);
    }
    for (int trial = 0; rc == OTAD_OK && trial < o->trials; trial++)
        for (size_t i = 0; rc == OTAD_OK && i < n_in; i++) {
            size_t n = numel(inputs[i]);
            otad_rng_fill(&rng, b.dir, n, -1, 1);
            double h = step_for(o, inputs[i]), fd, f_scale;
            rc = central_difference(&g, i, b.dir, h, b.ubar, b.plus, &fd, &f_scale);
            if (rc == OTAD_OK && judge(&v, i, SIZE_MAX, SIZE_MAX, fd, dot(g.grads[i], b.dir, n),
                                       rounding_noise(f_scale, h), o))
                failed[i] = any_failed = 1;
        }
    for (size_t i = 0; rc == OTAD_OK && any_failed && !res->assigns && i < n_in; i++)
        if (failed[i])
            rc = locate_worst(&g, &v, i, &b, o);
    free(b.ubar), free(b.plus), free(b.dir);
    if (rc != OTAD_OK)
        return graph_stop(&g, res, test, rc);
    graph_close(&g);
    report_errors(res, test, "by differences", "by the gradient");
    return OTAD_OK;
}

typedef struct op_instance {
    const otad_op *op;
    const void *params;
    size_t n_in;
} op_instance;

static otad_var record_op(otad_tape *tape, const otad_var *inputs, void *instance)
{
    const op_instance *oi = instance;
    return otad_apply(tape, oi->op, oi->params, oi->n_in, inputs);
}

int otad_check_op(const otad_op *op, const void *params, size_t n_in,
                  const otad_value *inputs, const otad_check_opts *opts,
                  otad_check_result *res)
{
    if (!op) {
        otad_check_opts defaults;
        return res ? check_args(res, "dot-product test", "op", op, n_in, inputs, NULL,
                                or_defaults(opts, &defaults))
                   : OTAD_EINVAL;
    }
    op_instance oi = {op, params, n_in};
    return otad_check_graph(record_op, &oi, n_in, inputs, opts, res);
}

/* ---- full Jacobian ------------------------------------------------------ */

#define JACOBIAN_MAX_ENTRIES ((size_t)1 << 20)

/* The finite-difference Jacobian, n_out × (all input entries), by columns,
 * and the rounding noise of each column. */
static int jacobian_by_differences(graph *g, const otad_check_opts *o, double *jac,
                                   double *plus, double *noise)
{
    size_t col = 0;
    for (size_t i = 0; i < g->n_in; i++) {
        otad_value x = g->inputs[i], y;
        double h = step_for(o, x);
        memcpy(g->moved, x.data, numel(x) * sizeof *g->moved);
        for (size_t e = 0; e < numel(x); e++, col++) {
            g->moved[e] = x.data[e] + h;
            int rc = record_at(g, i, g->moved, 0, &y);
            if (rc != OTAD_OK)
                return rc;
            memcpy(plus, y.data, g->n_out * sizeof *plus);
            g->moved[e] = x.data[e] - h;
            if ((rc = record_at(g, i, g->moved, 0, &y)) != OTAD_OK)
                return rc;
            g->moved[e] = x.data[e];
            for (size_t k = 0; k < g->n_out; k++)
                jac[col * g->n_out + k] = (plus[k] - y.data[k]) / (2 * h);
            double f_scale = fmax(max_abs(plus, g->n_out), max_abs(y.data, g->n_out));
            noise[col] = rounding_noise(f_scale, h);
        }
    }
    return OTAD_OK;
}

int otad_check_jacobian(otad_record_fn record, void *instance, size_t n_in,
                        const otad_value *inputs, const otad_check_opts *opts,
                        otad_check_result *res)
{
    static const char test[] = "jacobian test";
    otad_check_opts defaults;
    const otad_check_opts *o = or_defaults(opts, &defaults);
    graph g;
    otad_value y;
    if (!res)
        return OTAD_EINVAL;
    int rc = check_args(res, test, "record", record, n_in, inputs, NULL, o);
    if (rc == OTAD_OK)
        rc = graph_start(&g, res, test, record, instance, n_in, inputs, 0);
    if (rc != OTAD_OK)
        return rc;
    size_t n_cols = 0;
    for (size_t i = 0; i < n_in; i++)
        n_cols += numel(inputs[i]);
    if (n_cols > JACOBIAN_MAX_ENTRIES / g.n_out) {
        graph_close(&g);
        return stopped(res, test, OTAD_EINVAL,
                       "too large for a full Jacobian (use otad_check_graph)");
    }
    double *jac = malloc(n_cols * g.n_out * sizeof *jac), *noise = malloc(n_cols * sizeof *noise);
    buffers b = {calloc(g.n_out, sizeof(double)), malloc(g.n_out * sizeof(double)), NULL};
    if (!jac || !noise || !b.ubar || !b.plus)
        rc = OTAD_ENOMEM;
    if (rc == OTAD_OK)
        rc = jacobian_by_differences(&g, o, jac, b.plus, noise);
    if (rc == OTAD_OK)
        rc = record_at(&g, 0, NULL, 1, &y);
    /* Row k of the Jacobian is the gradient of output k. */
    verdict v = {res, -1};
    for (size_t k = 0; rc == OTAD_OK && k < g.n_out; k++) {
        b.ubar[k] = 1;
        rc = audited_backward(&g, b.ubar, res, test);
        b.ubar[k] = 0;
        for (size_t i = 0, col = 0; rc == OTAD_OK && i < n_in; i++)
            for (size_t e = 0; e < numel(inputs[i]); e++, col++)
                judge(&v, i, e % inputs[i].rows, e / inputs[i].rows, jac[col * g.n_out + k],
                      g.grads[i][e], noise[col], o);
    }
    free(jac), free(noise), free(b.ubar), free(b.plus);
    if (rc != OTAD_OK)
        return graph_stop(&g, res, test, rc);
    graph_close(&g);
    report_errors(res, test, "by differences", "by the gradient");
    return OTAD_OK;
}

/* ---- Taylor remainder test ---------------------------------------------- */

typedef struct objective {
    otad_build_fn build;
    void *instance;
} objective;

static otad_var record_objective(otad_tape *tape, const otad_var *inputs, void *instance)
{
    const objective *obj = instance;
    otad_var loss = obj->build(tape, inputs[0], obj->instance);
    otad_value v = otad_value_of(tape, loss);
    if (otad_var_valid(loss) && (v.rows != 1 || v.cols != 1))
        otad_tape_fail(tape, OTAD_ESHAPE, "check: the objective is %zux%zu, not a scalar",
                       v.rows, v.cols);
    return loss;
}

#define TAYLOR_STEPS 20
#define TAYLOR_FIT_POINTS 5

/* Least-squares slope of log r against log h over points [first, last]. */
static double fitted_order(const double *h, const double *r, int first, int last)
{
    double n = last - first + 1, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int k = first; k <= last; k++) {
        double x = log(h[k]), y = log(r[k]);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/* Remainders r_k = |f(θ + h_k v) − f(θ) − h_k g·v| for halving h_k. */
static int taylor_remainders(graph *g, const double *dir, double f0, double slope,
                             double *h, double *r, double *noise)
{
    otad_value theta = g->inputs[0], y;
    size_t n = numel(theta);
    double h0 = 1e-2 * fmax(1.0, max_abs(theta.data, n));
    *noise = 0;
    for (int k = 0; k < TAYLOR_STEPS; k++) {
        h[k] = ldexp(h0, -k);
        for (size_t e = 0; e < n; e++)
            g->moved[e] = theta.data[e] + h[k] * dir[e];
        int rc = record_at(g, 0, g->moved, 0, &y);
        if (rc != OTAD_OK)
            return rc;
        r[k] = fabs(y.data[0] - f0 - h[k] * slope);
        *noise = fmax(*noise, 1e3 * DBL_EPSILON * fmax(fabs(y.data[0]), fabs(f0)));
    }
    return OTAD_OK;
}

int otad_check_taylor(otad_build_fn build, void *instance, size_t n, const double *theta,
                      const otad_check_opts *opts, otad_check_result *res)
{
    static const char test[] = "taylor test";
    otad_check_opts defaults;
    const otad_check_opts *o = or_defaults(opts, &defaults);
    if (!res)
        return OTAD_EINVAL;
    objective obj = {build, instance};
    otad_value input = {(double *)theta, n, 1};
    graph g;
    int rc = check_args(res, test, "build", build, 1, &input, "theta", o);
    if (rc == OTAD_OK)
        rc = graph_start(&g, res, test, record_objective, &obj, 1, &input, 1);
    if (rc != OTAD_OK)
        return rc;
    if ((rc = audited_backward(&g, NULL, res, test)) != OTAD_OK)
        return graph_stop(&g, res, test, rc);
    double f0 = otad_scalar(g.tape, g.out), h[TAYLOR_STEPS], r[TAYLOR_STEPS];
    double noise, plus, fd, f_scale;
    double *dir = malloc(n * sizeof *dir);
    if (!dir)
        return graph_stop(&g, res, test, OTAD_ENOMEM);
    otad_rng rng = {o->seed};
    otad_rng_fill(&rng, dir, n, -1, 1);
    double slope = dot(g.grads[0], dir, n);
    rc = taylor_remainders(&g, dir, f0, slope, h, r, &noise);
    /* The directional derivative too, so a report shows how far off a wrong
     * gradient is and not only that its remainder falls as h. */
    if (rc == OTAD_OK)
        rc = central_difference(&g, 0, dir, step_for(o, input), NULL, &plus, &fd, &f_scale);
    free(dir);
    if (rc != OTAD_OK)
        return graph_stop(&g, res, test, rc);
    verdict v = {res, -1};
    judge(&v, 0, SIZE_MAX, SIZE_MAX, fd, slope, rounding_noise(f_scale, step_for(o, input)), o);
    graph_close(&g);
    if (res->assigns)
        return OTAD_OK;

    /* Fit the smallest steps whose remainder is clear of rounding: where a
     * wrong gradient's O(h) term dominates and a right one is asymptotic. */
    int last = -1;
    for (int k = 0; k < TAYLOR_STEPS; k++)
        if (r[k] > noise)
            last = k;
    int first = last - TAYLOR_FIT_POINTS + 1 < 0 ? 0 : last - TAYLOR_FIT_POINTS + 1;
    if (last < 2) {
        /* Too few remainders clear of rounding to fit an order: f is linear
         * along v to working precision; the directional derivative decides. */
        snprintf(res->report, sizeof res->report, "%s: %s, remainder at rounding level "
                 "(f linear along the direction), directional derivative rel err %.2e", test,
                 res->passed ? "PASS" : "FAIL", res->max_rel_err[0]);
        return OTAD_OK;
    }
    res->order = fitted_order(h, r, first, last);
    res->passed = res->order >= 1.8;
    int len = snprintf(res->report, sizeof res->report, "%s: %s, remainder order %.2f over h in "
                     "[%.1e, %.1e] (2 expected), directional derivative rel err %.2e", test,
                     res->passed ? "PASS" : "FAIL", res->order, h[last], h[first],
                     res->max_rel_err[0]);
    if (!res->passed && len > 0 && (size_t)len < sizeof res->report)
        snprintf(res->report + len, sizeof res->report - (size_t)len, " (%.6e by differences, "
                 "%.6e by the gradient)", res->worst_expected, res->worst_got);
    return OTAD_OK;
}

/* ---- adjoint identity --------------------------------------------------- */

int otad_check_adjoint(otad_linop_fn apply, void *instance, size_t rows, size_t cols,
                       size_t ncols, const otad_check_opts *opts, otad_check_result *res)
{
    static const char test[] = "adjoint test";
    otad_check_opts defaults;
    const otad_check_opts *o = or_defaults(opts, &defaults);
    if (!res)
        return OTAD_EINVAL;
    result_init(res, 1);
    otad_error e;
    int rc = otadV_not_null(&e, test, "apply", apply);
    if (rc == OTAD_OK)
        rc = otadV_size(&e, test, "A", rows, cols);
    if (rc == OTAD_OK)
        rc = otadV_size(&e, test, "x", cols, ncols);
    if (rc == OTAD_OK)
        rc = otadV_size(&e, test, "y", rows, ncols);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(&e, test, "tolerance", o->tolerance);
    if (rc == OTAD_OK)
        rc = otadV_int_range(&e, test, "trials", o->trials, 1, INT_MAX);
    if (rc != OTAD_OK) {
        res->passed = 0;
        snprintf(res->report, sizeof res->report, "%s", e.message);
        return rc;
    }
    double *x = malloc(cols * ncols * sizeof *x), *ax = malloc(rows * ncols * sizeof *ax);
    double *y = malloc(rows * ncols * sizeof *y), *aty = malloc(cols * ncols * sizeof *aty);
    rc = x && ax && y && aty ? OTAD_OK : OTAD_ENOMEM;
    otad_rng rng = {o->seed};
    verdict v = {res, -1};
    for (int trial = 0; rc == OTAD_OK && trial < o->trials; trial++) {
        /* Positive x and y: no cancellation in ⟨Ax, y⟩ for a positive kernel,
         * so the relative error measures the operators, not the sum. */
        otad_rng_fill(&rng, x, cols * ncols, 0, 1);
        otad_rng_fill(&rng, y, rows * ncols, 0, 1);
        if ((rc = apply(instance, 0, ncols, x, ax)) != OTAD_OK ||
            (rc = apply(instance, 1, ncols, y, aty)) != OTAD_OK)
            break;
        judge(&v, 0, SIZE_MAX, SIZE_MAX, dot(ax, y, rows * ncols), dot(x, aty, cols * ncols), 0,
              o);
    }
    free(x), free(ax), free(y), free(aty);
    if (rc != OTAD_OK)
        return stopped(res, test, rc, otad_strerror(rc));
    report_errors(res, test, "as <Ax, y>", "as <x, A^T y>");
    return OTAD_OK;
}
