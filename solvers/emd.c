/* Exact OT (otad_emd) and its cost as an op; the network simplex itself is
 * LEMON's, in emd_lemon.cpp. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ad/args.h"
#include "network_simplex.h"
#include "solvers.h"

void otad_emd_opts_init(otad_emd_opts *opts)
{
    if (!opts)
        return;
    opts->mass_tolerance = 1e-9;
}

static int check_histogram(const char *name, size_t n, const double *h, double *mass,
                           otad_error *err)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(h[i] >= 0) || !isfinite(h[i]))
            return otad_error_set(err, OTAD_EDOMAIN, "%s[%zu] = %g is not a finite "
                                  "non-negative mass", name, i, h[i]);
        sum += h[i];
    }
    if (!(sum > 0))
        return otad_error_set(err, OTAD_EDOMAIN, "%s has zero mass", name);
    *mass = sum;
    return OTAD_OK;
}

/* Sizes the network simplex takes, checked before anything is allocated
 * from them. */
static int check_sizes(size_t n, size_t m, otad_error *err)
{
    if (n == 0 || m == 0)
        return otad_error_set(err, OTAD_EINVAL, "empty histogram (n = %zu, m = %zu)", n, m);
    if (n > INT_MAX / m)
        return otad_error_set(err, OTAD_EINVAL, "%zu×%zu arcs exceed the network "
                              "simplex's 2^31 − 1", n, m);
    return OTAD_OK;
}

/* Everything but the solve: sizes, masses, costs.  Gives the masses. */
static int check_problem(size_t n, size_t m, const double *a, const double *b,
                         const double *cost, const otad_emd_opts *opts, double *mass_a,
                         double *mass_b, otad_error *err)
{
    int rc = check_sizes(n, m, err);
    if (rc == OTAD_OK)
        rc = check_histogram("a", n, a, mass_a, err);
    if (rc == OTAD_OK)
        rc = check_histogram("b", m, b, mass_b, err);
    if (rc != OTAD_OK)
        return rc;
    if (!(fabs(*mass_a - *mass_b) <= opts->mass_tolerance * fmax(*mass_a, *mass_b)))
        return otad_error_set(err, OTAD_EDOMAIN, "a sums to %.17g, b to %.17g "
                              "(see mass_tolerance)", *mass_a, *mass_b);
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(cost[i + j * n]))
                return otad_error_set(err, OTAD_EDOMAIN, "cost[%zu, %zu] = %g is not "
                                      "finite", i, j, cost[i + j * n]);
    return OTAD_OK;
}

/* a, and b scaled to a's mass, rounded to whole multiples of one power of two
 * q ≈ 2^-52·Σa, then b's entries moved by q in turn until both sum to
 * exactly the same.  Every sum and difference of such masses below 2Σa is
 * exact, so the simplex, which only adds and subtracts flows, balances them
 * exactly (with masses as given, rounding leaves the problem infeasible by
 * an ulp).  Each entry moves by a few q at most. */
static void exact_masses(size_t n, size_t m, const double *a, const double *b, double mass_a,
                         double mass_b, double *a_exact, double *b_exact)
{
    int exponent;
    frexp(2 * mass_a, &exponent);
    double q = ldexp(1, exponent - 53), scale = mass_a / mass_b, sum_a = 0, sum_b = 0;
    for (size_t i = 0; i < n; i++)
        sum_a += a_exact[i] = nearbyint(a[i] / q) * q;
    for (size_t j = 0; j < m; j++)
        sum_b += b_exact[j] = nearbyint(b[j] * scale / q) * q;
    double step = sum_a > sum_b ? q : -q;
    for (size_t j = 0; sum_b != sum_a; j = (j + 1) % m)
        if (b_exact[j] + step >= 0) {
            b_exact[j] += step;
            sum_b += step;
        }
}

/* Solves into res, whose arrays have room for n + m triplets and the
 * potentials; work is n + m doubles.  Messages name the problem only: the
 * callers say who found it. */
static int solve(size_t n, size_t m, const double *a, const double *b, const double *cost,
                 const otad_emd_opts *opts, double *work, otad_emd_result *res,
                 otad_error *err)
{
    double mass_a = 0, mass_b = 0;
    int rc = check_problem(n, m, a, b, cost, opts, &mass_a, &mass_b, err);
    if (rc != OTAD_OK)
        return rc;
    double *a_exact = work, *b_exact = work + n;
    exact_masses(n, m, a, b, mass_a, mass_b, a_exact, b_exact);
    long nonzeros = otadS_network_simplex(n, m, a_exact, b_exact, cost, res->row, res->col,
                                          res->mass, res->f, res->g);
    if (nonzeros < 0)
        return otad_error_set(err, (int)nonzeros, "the network simplex %s",
                              nonzeros == OTAD_ENOMEM ? "ran out of memory"
                                                      : "did not reach an optimal basis");
    res->n = n;
    res->m = m;
    res->nonzeros = (size_t)nonzeros;
    res->cost = 0;
    for (size_t k = 0; k < res->nonzeros; k++)
        res->cost += res->mass[k] * cost[res->row[k] + res->col[k] * n];

    /* Potentials are defined up to f + s, g − s: take s with ⟨a, f⟩ = ⟨b, g⟩. */
    double af = 0, bg = 0;
    for (size_t i = 0; i < n; i++)
        af += a_exact[i] * res->f[i];
    for (size_t j = 0; j < m; j++)
        bg += b_exact[j] * res->g[j];
    double shift = (bg - af) / (2 * mass_a);
    for (size_t i = 0; i < n; i++)
        res->f[i] += shift;
    for (size_t j = 0; j < m; j++)
        res->g[j] -= shift;
    return OTAD_OK;
}

int otad_emd(size_t n, size_t m, const double *a, const double *b, const double *cost,
             const otad_emd_opts *opts, otad_emd_result *res, otad_error *err)
{
    otad_emd_opts defaults;
    if (!opts) {
        otad_emd_opts_init(&defaults);
        opts = &defaults;
    }
    if (!res)
        return otad_error_set(err, OTAD_EINVAL, "emd: no result given");
    memset(res, 0, sizeof *res);
    otad_error why;
    int rc = otadV_not_null(err, "emd", "a", a);
    if (rc == OTAD_OK)
        rc = otadV_not_null(err, "emd", "b", b);
    if (rc == OTAD_OK)
        rc = otadV_not_null(err, "emd", "cost", cost);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, "emd", "mass_tolerance", opts->mass_tolerance);
    if (rc != OTAD_OK)
        return rc;
    if ((rc = check_sizes(n, m, &why)) != OTAD_OK)
        return otad_error_set(err, rc, "emd: %s", why.message);
    res->row = malloc((n + m) * sizeof *res->row);
    res->col = malloc((n + m) * sizeof *res->col);
    res->mass = malloc((n + m) * sizeof *res->mass);
    res->f = malloc(n * sizeof *res->f);
    res->g = malloc(m * sizeof *res->g);
    double *work = malloc((n + m) * sizeof *work);
    rc = res->row && res->col && res->mass && res->f && res->g && work
                 ? solve(n, m, a, b, cost, opts, work, res, &why)
                 : otad_error_set(&why, OTAD_ENOMEM, "out of memory");
    free(work);
    if (rc != OTAD_OK) {
        otad_emd_result_free(res);
        return otad_error_set(err, rc, "emd: %s", why.message);
    }
    return OTAD_OK;
}

void otad_emd_result_free(otad_emd_result *res)
{
    if (!res)
        return;
    free(res->row);
    free(res->col);
    free(res->mass);
    free(res->f);
    free(res->g);
    memset(res, 0, sizeof *res);
}

/* ---- the op ----------------------------------------------------------------- */

typedef struct emd_saved {
    otad_emd_result solution; /* arrays on the tape's arena */
} emd_saved;

static int emd_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    size_t n = c->in[0].rows, m = c->in[1].rows;
    if (c->in[0].cols != 1 || c->in[1].cols != 1 || c->in[2].rows != n || c->in[2].cols != m)
        return otad_fail(c, OTAD_ESHAPE, "a must be n×1, b m×1 and the cost n×m; got %zu×%zu, "
                         "%zu×%zu and %zu×%zu", n, c->in[0].cols, m, c->in[1].cols,
                         c->in[2].rows, c->in[2].cols);
    *rows = *cols = 1;
    return OTAD_OK;
}

static int emd_forward(otad_ctx *c)
{
    size_t n = c->in[0].rows, m = c->in[1].rows;
    emd_saved *s = c->saved;
    otad_emd_result *res = &s->solution;
    res->row = otad_alloc(c, (n + m) * sizeof *res->row);
    res->col = otad_alloc(c, (n + m) * sizeof *res->col);
    res->mass = otad_alloc(c, (n + m) * sizeof *res->mass);
    res->f = otad_alloc(c, (n + m) * sizeof *res->f);
    double *work = otad_scratch(c, (n + m) * sizeof *work);
    if (!res->row || !res->col || !res->mass || !res->f || !work)
        return otad_tape_status(c->tape);
    res->g = res->f + n;
    otad_error why;
    int rc = solve(n, m, c->in[0].data, c->in[1].data, c->in[2].data, c->params, work,
                   res, &why);
    if (rc != OTAD_OK)
        return otad_fail(c, rc, "%s", why.message);
    c->out.data[0] = res->cost;
    return OTAD_OK;
}

/* in_grad += scale·(x − mean x) */
static void add_centred(double *in_grad, const double *x, size_t n, double scale)
{
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        in_grad[i] += scale * (x[i] - mean);
}

static int emd_vjp(otad_ctx *c)
{
    const otad_emd_result *res = &((const emd_saved *)c->saved)->solution;
    double ybar = c->out_grad[0];
    if (otad_needs_grad(c, 0))
        add_centred(c->in_grad[0], res->f, res->n, ybar);
    if (otad_needs_grad(c, 1))
        add_centred(c->in_grad[1], res->g, res->m, ybar);
    if (otad_needs_grad(c, 2))
        for (size_t k = 0; k < res->nonzeros; k++)
            c->in_grad[2][res->row[k] + res->col[k] * res->n] += ybar * res->mass[k];
    return OTAD_OK;
}

static const otad_op emd_op = {
    .name = "emd",
    .arity = 3,
    .params_bytes = sizeof(otad_emd_opts),
    .saved_bytes = sizeof(emd_saved),
    .shape = emd_shape,
    .forward = emd_forward,
    .vjp = emd_vjp,
};

otad_var otad_emd_cost(otad_tape *tape, otad_var a, otad_var b, otad_var cost,
                       const otad_emd_opts *opts)
{
    otad_emd_opts defaults;
    if (!opts) {
        otad_emd_opts_init(&defaults);
        opts = &defaults;
    }
    otad_error err;
    int rc = otadV_nonnegative(&err, "emd", "mass_tolerance", opts->mass_tolerance);
    if (rc != OTAD_OK) {
        otadV_on_tape(tape, rc, &err);
        return (otad_var){0, 0};
    }
    otad_var inputs[3] = {a, b, cost};
    return otad_apply(tape, &emd_op, opts, 3, inputs);
}
