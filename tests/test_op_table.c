/* Every op × every check.  Each row records one public op (or solver value)
 * from its inputs, and each row goes through:
 *   - the dot-product test and the full Jacobian test, both of which start
 *     gradient buffers at non-zero values to catch a vjp that assigns;
 *   - each input alone as a parameter (the others constants), whose gradient
 *     must be the one it gets with all of them: a vjp must do right by
 *     inputs that need no gradient;
 *   - the op applied to loop parameters inside a step, x ← x/2 + f(θ), under
 *     UNROLL, CHECKPOINT and IMPLICIT: the fixed point is 2 f(θ), reached to
 *     rounding from 0, so the three gradients agree with each other and with
 *     finite differences.
 * The public headers are read for every function that records an op; one
 * without a row fails the table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { MAX_ROW_INPUTS = 5, LOOP_STEPS = 60 };

typedef struct op_row {
    const char *functions;  /* the public functions the row records, space-separated */
    otad_record_fn record;
    size_t n_in;
    test_shape shapes[MAX_ROW_INPUTS];
    double lo, hi;          /* inputs drawn in [lo, hi) */
} op_row;

static otad_graph *grid3x3;        /* for the heat kernel and edge differences */
static otad_spd_pattern *tridiagonal;

/* ---- elementwise, reductions, linear algebra, arranging ----------------- */

/* A row's record function of one expression in the inputs x. */
#define RECORD(name, expression)                                            \
    static otad_var name(otad_tape *t, const otad_var *x, void *instance)   \
    {                                                                       \
        (void)instance;                                                     \
        return expression;                                                  \
    }

RECORD(rec_add, otad_add(t, x[0], x[1]))
RECORD(rec_sub, otad_sub(t, x[0], x[1]))
RECORD(rec_mul, otad_mul(t, x[0], x[1]))
RECORD(rec_div, otad_div(t, x[0], x[1]))
RECORD(rec_xlogy, otad_xlogy(t, x[0], x[1]))
RECORD(rec_scale, otad_scale(t, x[0], -1.7))
RECORD(rec_exp, otad_exp(t, x[0]))
RECORD(rec_log, otad_log(t, x[0]))
RECORD(rec_pow, otad_pow(t, x[0], 1.7))
RECORD(rec_tanh, otad_tanh(t, x[0]))
RECORD(rec_expm1, otad_expm1(t, x[0]))
RECORD(rec_maximum, otad_maximum(t, x[0], x[1]))
RECORD(rec_minimum, otad_minimum(t, x[0], x[1]))
RECORD(rec_sigmoid, otad_sigmoid(t, x[0]))
RECORD(rec_softplus, otad_softplus(t, x[0]))
RECORD(rec_sqrt, otad_sqrt(t, x[0]))
RECORD(rec_abs, otad_abs(t, x[0]))
RECORD(rec_relu, otad_relu(t, x[0]))
RECORD(rec_clip, otad_clip(t, x[0], -0.5, 0.5))
RECORD(rec_huber, otad_huber(t, x[0], 0.5))
RECORD(rec_mean, otad_mean(t, x[0]))
RECORD(rec_mean_cols, otad_mean_cols(t, x[0]))
RECORD(rec_mean_rows, otad_mean_rows(t, x[0]))
static const size_t five_rows[5] = {3, 0, 3, 1, 2}, four_entries[4] = {5, 0, 5, 2};
static const size_t grid_2d[2] = {3, 4}, grid_3d[3] = {2, 3, 2};
RECORD(rec_gather_rows, otad_gather_rows(t, x[0], 5, five_rows))
RECORD(rec_scatter_add_rows, otad_scatter_add_rows(t, x[0], 4, five_rows))
RECORD(rec_gather, otad_gather(t, x[0], 4, four_entries))
RECORD(rec_scatter_add, otad_scatter_add(t, x[0], 3, 2, four_entries))
RECORD(rec_tv_anisotropic, otad_total_variation(t, x[0], 2, grid_2d, 0.1, 0))
RECORD(rec_tv_isotropic, otad_total_variation(t, x[0], 3, grid_3d, 0.1, 1))
RECORD(rec_sum, otad_sum(t, x[0]))
RECORD(rec_sum_cols, otad_sum_cols(t, x[0]))
RECORD(rec_dot, otad_dot(t, x[0], x[1]))
RECORD(rec_softmax, otad_softmax(t, x[0]))
RECORD(rec_logsumexp, otad_logsumexp(t, x[0]))

/* Aᵀ B and A Bᵀ side by side (4×3 each). */
static otad_var rec_matmul(otad_tape *t, const otad_var *x, void *i)
{
    (void)i;
    otad_var parts[2] = {otad_matmul(t, x[0], 1, x[1], 0), otad_matmul(t, x[2], 0, x[3], 1)};
    return otad_hcat(t, 2, parts);
}

static otad_var rec_concat(otad_tape *t, const otad_var *x, void *i)
{
    (void)i;
    otad_var side = otad_hcat(t, 2, x), rows[2] = {side, otad_tile_cols(t, x[2], 3)};
    return otad_vcat(t, 2, rows);
}

static otad_var rec_slices(otad_tape *t, const otad_var *x, void *i)
{
    (void)i;
    otad_var block = otad_slice(t, x[0], 1, 2, 1, 2);           /* 2×2 */
    otad_var cols = otad_reshape(t, otad_cols(t, x[0], 0, 2), 2, 4);  /* 2×4 */
    otad_var parts[2] = {block, otad_repeat_cols(t, otad_cols(t, cols, 1, 1), 2)};
    return otad_hcat(t, 2, parts);
}

RECORD(rec_combine, otad_combine_blocks(t, x[0], x[1]))

RECORD(rec_sqdist, otad_sqdist(t, x[0], x[1]))

static otad_var rec_losses(otad_tape *t, const otad_var *x, void *i)
{
    (void)i;
    otad_var parts[3] = {otad_loss_l1(t, x[0], x[1]), otad_loss_l2(t, x[0], x[1]),
                         otad_loss_kl(t, x[0], x[2])};
    return otad_hcat(t, 3, parts);
}

/* ---- kernels ---------------------------------------------------------------- */

/* K x and (K⊙C)ᵀ z, or their log-domain forms, one above the other. */
static otad_var kernel_products(otad_tape *t, otad_kernel k, otad_var x, otad_var z, int log)
{
    otad_var kx = log ? otad_kernel_apply_log(t, k, 0, x) : otad_kernel_apply(t, k, 0, x);
    unsigned cost = otad_kernel_info_of(t, k).has_cost ? OTAD_KERNEL_COST : 0;
    unsigned product = OTAD_KERNEL_TRANSPOSE | cost;
    otad_var kz = log ? otad_kernel_apply_log(t, k, product, z)
                      : otad_kernel_apply(t, k, product, z);
    otad_var parts[2] = {kx, kz};
    return otad_vcat(t, 2, parts);
}

/* inputs C (4×3), x (3×2), z (4×2) */
RECORD(rec_gibbs, kernel_products(t, otad_kernel_gibbs(t, x[0], 0.5), x[1], x[2], 0))

RECORD(rec_gibbs_log, kernel_products(t, otad_kernel_gibbs(t, x[0], 0.5), x[1], x[2], 1))

/* inputs X (4×2), Y (3×2), x (3×2), z (4×2) */
static otad_var rec_gibbs_points(otad_tape *t, const otad_var *x, void *i)
{
    otad_kernel k = otad_kernel_gibbs_points(t, x[0], x[1], 0.5);
    return kernel_products(t, k, x[2], x[3], i != NULL);
}

/* inputs X (4×2), Y (3×2), x (3×2), z (4×2); the Euclidean cost */
static otad_var rec_points_online(otad_tape *t, const otad_var *x, void *i)
{
    otad_kernel k = otad_kernel_points_online(t, x[0], x[1], 0.5, 1);
    return kernel_products(t, k, x[2], x[3], i != NULL);
}

/* inputs x, z (12×2) on the 3×4 grid */
static otad_var rec_grid(otad_tape *t, const otad_var *x, void *i)
{
    otad_kernel k = otad_kernel_grid(t, 2, (size_t[]){3, 4}, 0.5);
    return kernel_products(t, k, x[0], x[1], i != NULL);
}

/* inputs w (12 edges), x (9×2) on the 3×3 grid graph */
static otad_var rec_heat(otad_tape *t, const otad_var *x, void *i)
{
    (void)i;
    otad_kernel k = otad_kernel_heat(t, grid3x3, x[0], 0.5, 3);
    otad_var parts[2] = {otad_kernel_apply(t, k, 0, x[1]),
                         otad_kernel_apply(t, k, OTAD_KERNEL_TRANSPOSE, x[1])};
    return otad_hcat(t, 2, parts);
}

RECORD(rec_edge_differences, otad_edge_differences(t, grid3x3, x[0]))

/* The tridiagonal 4×4 pattern's 7 values from x: diagonal 2 + x², so that
 * any x gives a positive definite matrix; b is 4×2. */
static otad_var rec_spd_solve(otad_tape *t, const otad_var *x, void *i)
{
    (void)i;
    static const double shift[7] = {2, 0, 2, 0, 2, 0, 2};
    otad_var values = otad_add(t, otad_mul(t, x[0], x[0]), otad_const(t, 7, 1, shift));
    return otad_spd_solve(t, tridiagonal, values, x[1]);
}

/* A kernel written outside the library: K = A, a dense n×m matrix that is
 * its own parameter, with the gradient ȳxᵀ of each apply added at once. */
typedef struct dense {
    const double *a;
    size_t n, m;
} dense;

static int dense_setup(otad_ctx *c, void *state, const void *config, otad_kernel_info *info)
{
    (void)config;
    dense *d = state;
    *d = (dense){c->in[0].data, c->in[0].rows, c->in[0].cols};
    *info = (otad_kernel_info){d->n, d->m, 1, 0, 0, 2.0 * (double)(d->n * d->m)};
    return OTAD_OK;
}

static int dense_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                       const double *x, double beta, double *y)
{
    (void)c;
    const dense *d = state;
    int t = product & OTAD_KERNEL_TRANSPOSE;
    size_t out = t ? d->m : d->n, in = t ? d->n : d->m;
    for (size_t col = 0; col < ncols; col++)
        for (size_t i = 0; i < out; i++) {
            double s = beta == 0 ? 0 : y[i + col * out];
            for (size_t j = 0; j < in; j++)
                s += (t ? d->a[j + i * d->n] : d->a[i + j * d->n]) * x[j + col * in];
            y[i + col * out] = s;
        }
    return OTAD_OK;
}

static int dense_vjp(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                     const otad_kernel_grads *grads)
{
    const dense *d = state;
    int t = a->product & OTAD_KERNEL_TRANSPOSE;
    if (a->xbar)
        dense_apply(c, state, a->product ^ OTAD_KERNEL_TRANSPOSE, a->ncols, a->ybar, 1, a->xbar);
    if (!grads->param[0])
        return OTAD_OK;
    /* y = A x: Ā += ȳ xᵀ; y = Aᵀx: Ā += x ȳᵀ */
    size_t in = t ? d->n : d->m, out = t ? d->m : d->n;
    for (size_t col = 0; col < a->ncols; col++)
        for (size_t j = 0; j < d->m; j++)
            for (size_t i = 0; i < d->n; i++)
                grads->param[0][i + j * d->n] +=
                    t ? a->x[i + col * in] * a->ybar[j + col * out]
                      : a->ybar[i + col * out] * a->x[j + col * in];
    return OTAD_OK;
}

static const otad_kernel_class dense_class = {.name = "dense", .state_bytes = sizeof(dense),
                                              .setup = dense_setup, .apply = dense_apply,
                                              .vjp = dense_vjp};

/* inputs A (4×3), x (3×2), z (4×2) */
RECORD(rec_kernel_new,
       kernel_products(t, otad_kernel_new(t, &dense_class, NULL, 1, &x[0]), x[1], x[2], 0))

/* Scaling pairs on the Gibbs kernel of x[0] (4×3): Kᵀ then K on one column
 * (the class's fused pair), K then Kᵀ on two with num broadcast (its two
 * applies); and on the dense kernel A = x[0], which has no pair of its own.
 * Inputs: x[0], x[1] (4×1), x[2] (3×1), x[3] (3×2), x[4] (4×1). */
static otad_var rec_scaling_pair(otad_tape *t, const otad_var *x, void *i)
{
    (void)i;
    otad_kernel gibbs = otad_kernel_gibbs(t, x[0], 0.5);
    otad_kernel dense = otad_kernel_new(t, &dense_class, NULL, 1, &x[0]);
    otad_var parts[3] = {otad_kernel_scaling_pair(t, gibbs, OTAD_KERNEL_TRANSPOSE, x[1], x[2]),
                         otad_kernel_scaling_pair(t, gibbs, 0, x[3], x[4]),
                         otad_kernel_scaling_pair(t, dense, OTAD_KERNEL_TRANSPOSE, x[1], x[2])};
    return otad_hcat(t, 3, parts);
}

/* The same with s = num ⊙ p^(−0.7): the Gibbs kernel's fused pair, its two
 * applies, the dense kernel.  Inputs as rec_scaling_pair's. */
static otad_var rec_scaling_pair_power(otad_tape *t, const otad_var *x, void *i)
{
    (void)i;
    otad_kernel gibbs = otad_kernel_gibbs(t, x[0], 0.5);
    otad_kernel dense = otad_kernel_new(t, &dense_class, NULL, 1, &x[0]);
    otad_var parts[3] = {
        otad_kernel_scaling_pair_power(t, gibbs, OTAD_KERNEL_TRANSPOSE, x[1], x[2], 0.7),
        otad_kernel_scaling_pair_power(t, gibbs, 0, x[3], x[4], 0.7),
        otad_kernel_scaling_pair_power(t, dense, OTAD_KERNEL_TRANSPOSE, x[1], x[2], 0.7)};
    return otad_hcat(t, 3, parts);
}

/* ---- closed forms and exact OT ------------------------------------------ */

/* inputs x (4×1), weight logits (4×1), y (3×1), weight logits (3×1) */
RECORD(rec_ot_1d, otad_ot_1d(t, x[0], otad_softmax(t, x[1]), x[2], otad_softmax(t, x[3]), 1.5))

/* S = AᵀA + I from a 2×2 A: positive definite whatever A */
static otad_var spd_of(otad_tape *t, otad_var a)
{
    static const double identity[4] = {1, 0, 0, 1};
    return otad_add(t, otad_matmul(t, a, 1, a, 0), otad_const(t, 2, 2, identity));
}

/* inputs m1 (2×1), A1 (2×2), m2 (2×1), A2 (2×2) */
RECORD(rec_gaussian_w2, otad_gaussian_w2(t, x[0], spd_of(t, x[1]), x[2], spd_of(t, x[3])))

/* inputs weight logits (4×1), (3×1), C (4×3) */
RECORD(rec_emd_cost, otad_emd_cost(t, otad_softmax(t, x[0]), otad_softmax(t, x[1]), x[2], NULL))

/* ---- Sinkhorn and barycenters ---------------------------------------------- */

typedef struct solver_case {
    otad_sinkhorn_value value;
    int log_domain;
    otad_grad_mode mode;
} solver_case;

/* UNROLL and CHECKPOINT differentiate 30 iterations; IMPLICIT and ENVELOPE
 * the fixed point, which they need reached. */
static otad_sinkhorn_opts sinkhorn_opts(const solver_case *sc)
{
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = 30;
    if (sc->mode == OTAD_IMPLICIT || sc->mode == OTAD_ENVELOPE)
        o.iterations = 1000, o.tolerance = 1e-14, o.check_every = 1;
    o.log_domain = sc->log_domain;
    o.mode = sc->mode;
    return o;
}

/* inputs weight logits a (4×2), b (3×2), C (4×3): cost, dual and entropic
 * values of one solve */
static otad_var rec_sinkhorn_values(otad_tape *t, const otad_var *x, void *i)
{
    otad_sinkhorn_opts o = sinkhorn_opts(i);
    otad_sinkhorn s;
    otad_sinkhorn_solve(t, otad_kernel_gibbs(t, x[2], 0.5), otad_softmax(t, x[0]),
                        otad_softmax(t, x[1]), &o, &s);
    otad_var parts[3] = {otad_sinkhorn_cost(t, &s), otad_sinkhorn_dual(t, &s),
                         otad_sinkhorn_entropic(t, &s)};
    return otad_hcat(t, 3, parts);
}

/* inputs weight logits a (4×2), b (3×2), C (4×3): the KL values of an
 * unbalanced solve, ρ_a = 0.5 and ρ_b = 2, masses 1 and 1.5 (under
 * ENVELOPE the dual only) */
static otad_var rec_sinkhorn_kl_values(otad_tape *t, const otad_var *x, void *i)
{
    const solver_case *sc = i;
    otad_sinkhorn_opts o = sinkhorn_opts(sc);
    o.rho_a = 0.5, o.rho_b = 2;
    otad_sinkhorn s;
    otad_sinkhorn_solve(t, otad_kernel_gibbs(t, x[2], 0.5), otad_softmax(t, x[0]),
                        otad_scale(t, otad_softmax(t, x[1]), 1.5), &o, &s);
    if (sc->mode == OTAD_ENVELOPE)
        return otad_sinkhorn_kl_dual(t, &s);
    otad_var parts[2] = {otad_sinkhorn_kl_primal(t, &s), otad_sinkhorn_kl_dual(t, &s)};
    return otad_hcat(t, 2, parts);
}

static otad_var rec_sinkhorn_loss(otad_tape *t, const otad_var *x, void *i)
{
    const solver_case *sc = i;
    otad_sinkhorn_opts o = sinkhorn_opts(sc);
    return otad_sinkhorn_loss(t, otad_kernel_gibbs(t, x[2], 0.5), otad_softmax(t, x[0]),
                              otad_softmax(t, x[1]), &o, sc->value);
}

/* inputs X (4×2), Y (3×2), weight logits a (4×1), b (3×1) */
static otad_var rec_divergence(otad_tape *t, const otad_var *x, void *i)
{
    const solver_case *sc = i;
    otad_sinkhorn_opts o = sinkhorn_opts(sc);
    otad_kernel xy = otad_kernel_gibbs_points(t, x[0], x[1], 0.5);
    otad_kernel xx = otad_kernel_gibbs_points(t, x[0], x[0], 0.5);
    otad_kernel yy = otad_kernel_gibbs_points(t, x[1], x[1], 0.5);
    return otad_sinkhorn_divergence(t, xy, xx, yy, otad_softmax(t, x[2]), otad_softmax(t, x[3]),
                                    &o, sc->value);
}

/* inputs histogram logits (4×3: R = 3 inputs), weight logits (3×2: F = 2),
 * C (4×3): two barycenters on 3 points */
static otad_var rec_barycenter(otad_tape *t, const otad_var *x, void *i)
{
    const solver_case *sc = i;
    otad_barycenter_opts o;
    otad_barycenter_opts_init(&o);
    o.iterations = 20;
    o.log_domain = sc->log_domain;
    o.mode = sc->mode;
    return otad_barycenter(t, otad_kernel_gibbs(t, x[2], 0.7), otad_softmax(t, x[0]),
                           otad_softmax(t, x[1]), &o);
}

/* ---- the table ------------------------------------------------------------- */

static const solver_case scaling = {OTAD_SINKHORN_COST, 0, OTAD_UNROLL};
static const solver_case log_domain = {OTAD_SINKHORN_DUAL, 1, OTAD_UNROLL};
static const solver_case entropic_implicit = {OTAD_SINKHORN_ENTROPIC, 0, OTAD_IMPLICIT};
static const solver_case dual_envelope = {OTAD_SINKHORN_DUAL, 0, OTAD_ENVELOPE};
static const solver_case checkpointed = {OTAD_SINKHORN_COST, 1, OTAD_CHECKPOINT};
static const int log_flag = 1;

typedef struct table_row {
    op_row op;
    const void *instance;
} table_row;

#define ROW(functions_, record_, instance_, lo_, hi_, n_, ...) \
    {{functions_, record_, n_, {__VA_ARGS__}, lo_, hi_}, instance_}
#define S(r, c) {r, c}

static const table_row table[] = {
    ROW("otad_add", rec_add, NULL, -1, 1, 2, S(4, 3), S(4, 1)),
    ROW("otad_sub", rec_sub, NULL, -1, 1, 2, S(4, 3), S(1, 3)),
    ROW("otad_mul", rec_mul, NULL, -1, 1, 2, S(4, 3), S(1, 1)),
    ROW("otad_div", rec_div, NULL, 0.5, 1.5, 2, S(4, 3), S(4, 3)),
    ROW("otad_xlogy", rec_xlogy, NULL, 0.5, 1.5, 2, S(4, 3), S(4, 1)),
    ROW("otad_scale", rec_scale, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_exp", rec_exp, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_log", rec_log, NULL, 0.5, 1.5, 1, S(4, 3)),
    ROW("otad_pow", rec_pow, NULL, 0.5, 1.5, 1, S(4, 3)),
    ROW("otad_tanh", rec_tanh, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_expm1", rec_expm1, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_maximum", rec_maximum, NULL, -1, 1, 2, S(4, 3), S(4, 1)),
    ROW("otad_minimum", rec_minimum, NULL, -1, 1, 2, S(1, 3), S(4, 3)),
    ROW("otad_sigmoid", rec_sigmoid, NULL, -3, 3, 1, S(4, 3)),
    ROW("otad_softplus", rec_softplus, NULL, -3, 3, 1, S(4, 3)),
    ROW("otad_sqrt", rec_sqrt, NULL, 0.5, 1.5, 1, S(4, 3)),
    ROW("otad_abs", rec_abs, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_relu", rec_relu, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_clip", rec_clip, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_huber", rec_huber, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_mean", rec_mean, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_mean_cols", rec_mean_cols, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_mean_rows", rec_mean_rows, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_gather_rows", rec_gather_rows, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_scatter_add_rows", rec_scatter_add_rows, NULL, -1, 1, 1, S(5, 3)),
    ROW("otad_gather", rec_gather, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_scatter_add", rec_scatter_add, NULL, -1, 1, 1, S(4, 1)),
    ROW("otad_total_variation", rec_tv_anisotropic, NULL, -1, 1, 1, S(12, 2)),
    ROW("otad_total_variation", rec_tv_isotropic, NULL, -1, 1, 1, S(12, 2)),
    ROW("otad_sum", rec_sum, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_sum_cols", rec_sum_cols, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_dot", rec_dot, NULL, -1, 1, 2, S(4, 3), S(4, 3)),
    ROW("otad_softmax", rec_softmax, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_logsumexp", rec_logsumexp, NULL, -1, 1, 1, S(4, 3)),
    ROW("otad_matmul", rec_matmul, NULL, -1, 1, 4, S(2, 4), S(2, 3), S(4, 2), S(3, 2)),
    ROW("otad_hcat otad_vcat otad_tile_cols", rec_concat, NULL, -1, 1, 3, S(3, 2), S(3, 1),
        S(2, 1)),
    ROW("otad_slice otad_cols otad_reshape otad_repeat_cols", rec_slices, NULL, -1, 1, 1,
        S(4, 3)),
    ROW("otad_combine_blocks", rec_combine, NULL, -1, 1, 2, S(4, 6), S(3, 2)),
    ROW("otad_sqdist", rec_sqdist, NULL, -1, 1, 2, S(4, 2), S(3, 2)),
    ROW("otad_loss_l1 otad_loss_l2 otad_loss_kl", rec_losses, NULL, 0.5, 1.5, 3, S(4, 3),
        S(4, 3), S(4, 1)),
    ROW("otad_kernel_gibbs otad_kernel_apply", rec_gibbs, NULL, 0, 1, 3, S(4, 3), S(3, 2),
        S(4, 2)),
    ROW("otad_kernel_gibbs otad_kernel_apply_log", rec_gibbs_log, NULL, 0, 1, 3, S(4, 3),
        S(3, 2), S(4, 2)),
    ROW("otad_kernel_gibbs_points", rec_gibbs_points, NULL, 0, 1, 4, S(4, 2), S(3, 2), S(3, 2),
        S(4, 2)),
    ROW("otad_kernel_gibbs_points otad_kernel_apply_log", rec_gibbs_points, &log_flag, 0, 1, 4,
        S(4, 2), S(3, 2), S(3, 2), S(4, 2)),
    ROW("otad_kernel_points_online", rec_points_online, NULL, 0, 1, 4, S(4, 2), S(3, 2),
        S(3, 2), S(4, 2)),
    ROW("otad_kernel_points_online otad_kernel_apply_log", rec_points_online, &log_flag, 0, 1,
        4, S(4, 2), S(3, 2), S(3, 2), S(4, 2)),
    ROW("otad_kernel_grid", rec_grid, NULL, 0, 1, 2, S(12, 2), S(12, 2)),
    ROW("otad_kernel_grid otad_kernel_apply_log", rec_grid, &log_flag, 0, 1, 2, S(12, 2),
        S(12, 2)),
    ROW("otad_kernel_heat", rec_heat, NULL, 0.5, 1.5, 2, S(12, 1), S(9, 2)),
    ROW("otad_edge_differences", rec_edge_differences, NULL, -1, 1, 1, S(12, 2)),
    ROW("otad_spd_solve", rec_spd_solve, NULL, -1, 1, 2, S(7, 1), S(4, 2)),
    ROW("otad_kernel_new", rec_kernel_new, NULL, 0, 1, 3, S(4, 3), S(3, 2), S(4, 2)),
    ROW("otad_kernel_scaling_pair", rec_scaling_pair, NULL, 0.5, 1.5, 5, S(4, 3), S(4, 1),
        S(3, 1), S(3, 2), S(4, 1)),
    ROW("otad_kernel_scaling_pair_power", rec_scaling_pair_power, NULL, 0.5, 1.5, 5, S(4, 3),
        S(4, 1), S(3, 1), S(3, 2), S(4, 1)),
    ROW("otad_ot_1d", rec_ot_1d, NULL, -1, 1, 4, S(4, 1), S(4, 1), S(3, 1), S(3, 1)),
    ROW("otad_gaussian_w2", rec_gaussian_w2, NULL, -1, 1, 4, S(2, 1), S(2, 2), S(2, 1),
        S(2, 2)),
    ROW("otad_emd_cost", rec_emd_cost, NULL, 0, 1, 3, S(4, 1), S(3, 1), S(4, 3)),
    ROW("otad_sinkhorn_cost otad_sinkhorn_dual otad_sinkhorn_entropic", rec_sinkhorn_values,
        &scaling, 0, 1, 3, S(4, 2), S(3, 2), S(4, 3)),
    ROW("otad_sinkhorn_cost otad_sinkhorn_dual otad_sinkhorn_entropic", rec_sinkhorn_values,
        &checkpointed, 0, 1, 3, S(4, 2), S(3, 2), S(4, 3)),
    ROW("otad_sinkhorn_kl_primal otad_sinkhorn_kl_dual", rec_sinkhorn_kl_values, &scaling, 0,
        1, 3, S(4, 2), S(3, 2), S(4, 3)),
    ROW("otad_sinkhorn_kl_primal otad_sinkhorn_kl_dual", rec_sinkhorn_kl_values, &checkpointed,
        0, 1, 3, S(4, 2), S(3, 2), S(4, 3)),
    ROW("otad_sinkhorn_kl_primal otad_sinkhorn_kl_dual", rec_sinkhorn_kl_values,
        &entropic_implicit, 0, 1, 3, S(4, 2), S(3, 2), S(4, 3)),
    ROW("otad_sinkhorn_kl_dual", rec_sinkhorn_kl_values, &dual_envelope, 0, 1, 3, S(4, 2),
        S(3, 2), S(4, 3)),
    ROW("otad_sinkhorn_loss", rec_sinkhorn_loss, &log_domain, 0, 1, 3, S(4, 2), S(3, 2),
        S(4, 3)),
    ROW("otad_sinkhorn_loss", rec_sinkhorn_loss, &entropic_implicit, 0, 1, 3, S(4, 2), S(3, 2),
        S(4, 3)),
    ROW("otad_sinkhorn_loss", rec_sinkhorn_loss, &dual_envelope, 0, 1, 3, S(4, 2), S(3, 2),
        S(4, 3)),
    ROW("otad_sinkhorn_divergence", rec_divergence, &scaling, 0, 1, 4, S(4, 2), S(3, 2),
        S(4, 1), S(3, 1)),
    ROW("otad_barycenter", rec_barycenter, &scaling, 0, 1, 3, S(4, 3), S(3, 2), S(4, 3)),
    ROW("otad_barycenter", rec_barycenter, &log_domain, 0, 1, 3, S(4, 3), S(3, 2), S(4, 3)),
    ROW("otad_barycenter", rec_barycenter, &checkpointed, 0, 1, 3, S(4, 3), S(3, 2), S(4, 3)),
};

enum { N_ROWS = sizeof table / sizeof *table };

/* ---- the checks -------------------------------------------------------------- */

typedef struct row_inputs {
    otad_value in[MAX_ROW_INPUTS];
} row_inputs;

static row_inputs draw_inputs(const op_row *r, uint64_t seed)
{
    row_inputs ri;
    for (size_t i = 0; i < r->n_in; i++)
        ri.in[i] = (otad_value){random_matrix(seed + i, r->shapes[i].rows, r->shapes[i].cols,
                                              r->lo, r->hi),
                                r->shapes[i].rows, r->shapes[i].cols};
    return ri;
}

static void free_inputs(const op_row *r, row_inputs *ri)
{
    for (size_t i = 0; i < r->n_in; i++)
        free(ri->in[i].data);
}

/* The gradients of ⟨ubar, f⟩ with the inputs in `as_params` (a mask) as
 * parameters and the rest constants; returns f's size. */
static size_t gradients(const table_row *row, const row_inputs *ri, unsigned as_params,
                        const double *ubar, double **grads)
{
    const op_row *r = &row->op;
    otad_tape *t = new_tape();
    otad_var vars[MAX_ROW_INPUTS];
    for (size_t i = 0; i < r->n_in; i++) {
        otad_value v = ri->in[i];
        vars[i] = (as_params >> i & 1) ? otad_param(t, v.rows, v.cols, v.data, grads[i])
                                       : otad_const(t, v.rows, v.cols, v.data);
    }
    otad_var y = r->record(t, vars, (void *)row->instance);
    assert_tape_ok(t);
    otad_value vy = otad_value_of(t, y);
    if (ubar && otad_backward_seeded(t, y, ubar) != OTAD_OK)
        fail_msg("%s: %s", r->functions, otad_tape_message(t));
    otad_tape_free(&t);
    return vy.rows * vy.cols;
}

/* Each input alone needing a gradient gets the gradient it gets with all. */
static void check_inputs_alone(const table_row *row, const row_inputs *ri)
{
    const op_row *r = &row->op;
    double *all[MAX_ROW_INPUTS], *alone[MAX_ROW_INPUTS];
    size_t n_out = gradients(row, ri, 0, NULL, all);
    double *ubar = random_matrix(99, n_out, 1, -1, 1);
    for (size_t i = 0; i < r->n_in; i++) {
        all[i] = malloc(ri->in[i].rows * ri->in[i].cols * sizeof(double));
        alone[i] = malloc(ri->in[i].rows * ri->in[i].cols * sizeof(double));
    }
    gradients(row, ri, (1u << r->n_in) - 1, ubar, all);
    for (size_t i = 0; i < r->n_in; i++) {
        gradients(row, ri, 1u << i, ubar, alone);
        char what[160];
        snprintf(what, sizeof what, "%s: input %zu alone against all inputs", r->functions, i);
        assert_rel_close(what, alone[i], all[i], ri->in[i].rows * ri->in[i].cols, 1e-13);
    }
    for (size_t i = 0; i < r->n_in; i++)
        free(all[i]), free(alone[i]);
    free(ubar);
}

/* The row's op inside a loop step: x ← x/2 + f(θ) from x = 0, θ the loop's
 * parameters. */
typedef struct in_loop {
    const table_row *row;
    otad_grad_mode mode;
} in_loop;

static int half_plus_op(otad_tape *t, const otad_var *state, const otad_var *params,
                        otad_var *next, void *instance)
{
    const table_row *row = instance;
    next[0] = otad_add(t, otad_scale(t, state[0], 0.5),
                       row->op.record(t, params, (void *)row->instance));
    return otad_tape_status(t);
}

static otad_var rec_in_loop(otad_tape *t, const otad_var *x, void *instance)
{
    const in_loop *l = instance;
    otad_value shape = otad_value_of(t, l->row->op.record(t, x, (void *)l->row->instance));
    if (!shape.data)
        return (otad_var){0, 0};
    otad_var init = otad_const_fill(t, shape.rows, shape.cols, 0), out;
    otad_loop_opts o;
    otad_loop_opts_init(&o);
    o.mode = l->mode;
    o.iterations = LOOP_STEPS;
    otad_loop(t, half_plus_op, (void *)l->row, 1, &init, l->row->op.n_in, x, &o, &out, NULL);
    return out;
}

static void check_in_loop(const table_row *row, const row_inputs *ri)
{
    const op_row *r = &row->op;
    double *grads[3][MAX_ROW_INPUTS];
    size_t n_out = 0;
    double *ubar = NULL;
    for (int mode = 0; mode < 3; mode++) {
        in_loop l = {row, (otad_grad_mode)mode};
        table_row looped = {{r->functions, rec_in_loop, r->n_in, {{0, 0}}, r->lo, r->hi}, &l};
        otad_check_result res;
        int rc = otad_check_graph(rec_in_loop, &l, r->n_in, ri->in, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("%s in a loop step, mode %d: %s", r->functions, mode, res.report);
        for (size_t i = 0; i < r->n_in; i++)
            grads[mode][i] = malloc(ri->in[i].rows * ri->in[i].cols * sizeof(double));
        if (!ubar) {
            n_out = gradients(&looped, ri, 0, NULL, grads[mode]);
            ubar = random_matrix(98, n_out, 1, -1, 1);
        }
        gradients(&looped, ri, (1u << r->n_in) - 1, ubar, grads[mode]);
    }
    for (int mode = 1; mode < 3; mode++)
        for (size_t i = 0; i < r->n_in; i++) {
            char what[160];
            snprintf(what, sizeof what, "%s in a loop: input %zu, mode %d against UNROLL",
                     r->functions, i, mode);
            assert_rel_close(what, grads[mode][i], grads[0][i],
                             ri->in[i].rows * ri->in[i].cols, 1e-10);
        }
    for (int mode = 0; mode < 3; mode++)
        for (size_t i = 0; i < r->n_in; i++)
            free(grads[mode][i]);
    free(ubar);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_ROWS; k++) {
        const table_row *row = &table[k];
        const op_row *r = &row->op;
        row_inputs ri = draw_inputs(r, 100 + 10 * k);
        otad_check_result res;
        int rc = otad_check_graph(r->record, (void *)row->instance, r->n_in, ri.in, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("row %zu (%s): %s", k, r->functions, res.report);
        rc = otad_check_jacobian(r->record, (void *)row->instance, r->n_in, ri.in, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("row %zu (%s): %s", k, r->functions, res.report);
        check_inputs_alone(row, &ri);
        check_in_loop(row, &ri);
        free_inputs(r, &ri);
    }
}

/* ---- every public op has a row ---------------------------------------------- */

/* Whether name is one of the functions of some row. */
static int has_row(const char *name)
{
    size_t len = strlen(name);
    for (size_t k = 0; k < N_ROWS; k++)
        for (const char *f = table[k].op.functions; (f = strstr(f, name)); f += len)
            if ((f == table[k].op.functions || f[-1] == ' ') && (f[len] == ' ' || !f[len]))
                return 1;
    return 0;
}

/* A function a public header declares that records an op: one that returns
 * an otad_var or an otad_kernel.  instance counts them. */
static void check_declared(const char *path, const char *name, const char *line, void *instance)
{
    if (strncmp(line, "otad_var ", 9) != 0 && strncmp(line, "otad_kernel ", 12) != 0)
        return;
    if (!has_row(name))
        fail_msg("%s declares %s, which has no row in the op table", path, name);
    ++*(size_t *)instance;
}

static size_t check_header(const char *path)
{
    size_t found = 0;
    for_each_declared_function(path, check_declared, &found);
    return found;
}

static void test_every_public_op_has_a_row(void **state)
{
    (void)state;
    size_t ops = check_header("ops/ops.h"), solvers = check_header("solvers/solvers.h");
    print_message("%zu ops and %zu solver values, %d rows\n", ops, solvers, (int)N_ROWS);
    assert_true(ops >= 39 && solvers >= 7);
}

static int setup(void **state)
{
    (void)state;
    static const size_t start[5] = {0, 2, 4, 6, 7}, rows[7] = {0, 1, 1, 2, 2, 3, 3};
    return otad_graph_grid2d(&grid3x3, 3, 3, NULL) != OTAD_OK ||
           otad_spd_pattern_new(&tridiagonal, 4, start, rows, NULL) != OTAD_OK;
}

static int teardown(void **state)
{
    (void)state;
    otad_graph_free(&grid3x3);
    otad_spd_pattern_free(&tridiagonal);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_public_op_has_a_row),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
