/* The unbalanced update's translation factor as one op (sinkhorn.c): per
 * column, c = (A / B)^κ, κ = 1/(α_a + α_b), α = ε/ρ (0 for a constraint),
 * with the decayed masses A = Σ_i a_i (u/a)_i^(−α_a), B = Σ_j b_j (v/b)_j^(−α_b).
 *
 * No power is taken.  The update has just formed u/a = (K v)^(−λ_a), and
 * λ α = ε/(ρ + ε) = 1 − λ, so (u/a)^(−α_a) = (K v)^(1−λ_a) = (u/a)·(K v):
 * A = Σ u ⊙ K v, the mass of the plan diag(u) K diag(v); B = Σ v ⊙ Kᵀu the
 * same way.  Each side is a sum of products scaling ⊙ product, whose inputs
 * the update hands in (the product read from a given row of its value, so
 * that the state's K v needs no copy).  A function of the update's inputs,
 * it is the same function as the powers, so every gradient mode
 * differentiates the same update. */
#include <math.h>

#include "solvers_internal.h"

enum { SCALING_A, PRODUCT_A, SCALING_B, PRODUCT_B, SIDES = 2, PER_SIDE = 2 };

typedef struct translation_params {
    double kappa;
    size_t first_row[SIDES]; /* where each side's product starts in its input */
} translation_params;

typedef struct translation_saved {
    double *sums; /* A and B per column */
} translation_saved;

static int translation_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const translation_params *p = c->params;
    size_t batch = c->in[SCALING_A].cols;
    for (int s = 0; s < SIDES; s++) {
        otad_value x = c->in[SCALING_A + PER_SIDE * s], k = c->in[PRODUCT_A + PER_SIDE * s];
        if (x.cols != batch || k.cols != batch || k.rows < p->first_row[s] + x.rows)
            return otad_fail(c, OTAD_ESHAPE, "side %c: scaling %zux%zu, product %zux%zu from "
                             "row %zu", "ab"[s], x.rows, x.cols, k.rows, k.cols,
                             p->first_row[s]);
    }
    *rows = 1;
    *cols = batch;
    return OTAD_OK;
}

/* One side's column j: its scaling and product, and in the vjp their
 * gradients where wanted (NULL otherwise). */
typedef struct side_column {
    size_t n;
    const double *x, *k;
    double *x_bar, *k_bar;
} side_column;

static side_column column(const otad_ctx *c, int side, size_t j, int in_vjp)
{
    const translation_params *p = c->params;
    size_t in_x = SCALING_A + PER_SIDE * side, in_k = in_x + 1;
    otad_value x = c->in[in_x], k = c->in[in_k];
    size_t x_at = j * x.rows, k_at = j * k.rows + p->first_row[side];
    double *x_bar = in_vjp ? otad_wanted_grad(c, in_x) : NULL;
    double *k_bar = in_vjp ? otad_wanted_grad(c, in_k) : NULL;
    return (side_column){x.rows, x.data + x_at, k.data + k_at, x_bar ? x_bar + x_at : NULL,
                         k_bar ? k_bar + k_at : NULL};
}

static double plan_mass(side_column s)
{
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (size_t i = 0; i < s.n; i++)
        sum += s.x[i] * s.k[i];
    return sum;
}

static int translation_forward(otad_ctx *c)
{
    const translation_params *p = c->params;
    translation_saved *saved = c->saved;
    size_t batch = c->out.cols;
    if (!(saved->sums = otad_alloc(c, SIDES * batch * sizeof *saved->sums)))
        return OTAD_ENOMEM;
    for (size_t j = 0; j < batch; j++) {
        double a = plan_mass(column(c, 0, j, 0)), b = plan_mass(column(c, 1, j, 0));
        saved->sums[SIDES * j] = a, saved->sums[SIDES * j + 1] = b;
        c->out.data[j] = exp(p->kappa * (log(a) - log(b)));
        if (!(a > 0) || !(b > 0) || !isfinite(c->out.data[j]))
            return otad_fail(c, OTAD_ERANGE, "column %zu: decayed masses %g and %g (the "
                             "scaling domain's range: use the log domain)", j, a, b);
    }
    return OTAD_OK;
}

/* Each of scaling and product gets g times the other. */
static void plan_mass_vjp(side_column s, double g)
{
    if (s.x_bar)
#pragma omp simd
        for (size_t i = 0; i < s.n; i++)
            s.x_bar[i] += g * s.k[i];
    if (s.k_bar)
#pragma omp simd
        for (size_t i = 0; i < s.n; i++)
            s.k_bar[i] += g * s.x[i];
}

/* c = (A/B)^κ: ∂c/∂A = κ c / A, ∂c/∂B = −κ c / B. */
static int translation_vjp(otad_ctx *c)
{
    const translation_params *p = c->params;
    const translation_saved *saved = c->saved;
    for (size_t j = 0; j < c->out.cols; j++) {
        double g = c->out_grad[j] * c->out.data[j] * p->kappa;
        plan_mass_vjp(column(c, 0, j, 1), g / saved->sums[SIDES * j]);
        plan_mass_vjp(column(c, 1, j, 1), -g / saved->sums[SIDES * j + 1]);
    }
    return OTAD_OK;
}

static const otad_op op_translation = {.name = "unbalanced_translation", .arity = 4,
                                       .params_bytes = sizeof(translation_params),
                                       .saved_bytes = sizeof(translation_saved),
                                       .shape = translation_shape,
                                       .forward = translation_forward,
                                       .vjp = translation_vjp};

otad_var otadS_translation(otad_tape *t, otad_var u, otad_var kv, size_t kv_first_row, otad_var v,
                           otad_var ktu, size_t ktu_first_row, double alpha_a, double alpha_b)
{
    translation_params p = {1 / (alpha_a + alpha_b), {kv_first_row, ktu_first_row}};
    otad_var in[4] = {u, kv, v, ktu};
    return otad_apply(t, &op_translation, &p, 4, in);
}
