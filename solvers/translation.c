/* The unbalanced update's translation factor as one op (sinkhorn.c): per
 * column, c = (A / B)^κ with A = Σ_i a_i (u/a)_i^(−α_a),
 * B = Σ_j b_j (v/b)_j^(−α_b), κ = 1/(α_a + α_b), α = ε/ρ (0 for a
 * constraint).  As separate ops it was eight, four of them keeping an
 * n×B value per update; here one pass keeps two sums a column, and the vjp
 * recomputes the powers. */
#include <math.h>

#include "../ops/vector_pow.h"
#include "solvers_internal.h"

enum { MASS_A, RATIO_A, MASS_B, RATIO_B };

typedef struct translation_params {
    double alpha[2]; /* α_a, α_b */
    size_t rows_b;   /* v/b: the first rows of its input (the rest is K v) */
} translation_params;

typedef struct translation_saved {
    double *sums; /* A and B per column */
} translation_saved;

static int translation_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const translation_params *p = c->params;
    otad_value ru = c->in[RATIO_A], rv = c->in[RATIO_B];
    otad_value a = c->in[MASS_A], b = c->in[MASS_B];
    if (rv.cols != ru.cols || rv.rows < p->rows_b || a.rows != ru.rows ||
        b.rows != p->rows_b || (a.cols != 1 && a.cols != ru.cols) ||
        (b.cols != 1 && b.cols != ru.cols))
        return otad_fail(c, OTAD_ESHAPE, "u/a %zux%zu, v/b %zu of %zux%zu, a %zux%zu, b %zux%zu",
                         ru.rows, ru.cols, p->rows_b, rv.rows, rv.cols, a.rows, a.cols, b.rows,
                         b.cols);
    *rows = 1;
    *cols = ru.cols;
    return OTAD_OK;
}

/* Σ_i mass_i ratio_i^(−α) over column j (the mass's column 0 when it has
 * one); the ratio's column has `stride` rows, of which the first n count. */
static double decayed(otad_value mass, const double *ratio, size_t n, double alpha, size_t j)
{
    const double *m = mass.data + (mass.cols == 1 ? 0 : j * n);
    double s = 0;
    if (alpha == 0) {
        for (size_t i = 0; i < n; i++)
            s += m[i];
        return s;
    }
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++)
        s += m[i] * pow(ratio[i], -alpha);
    return s;
}

static int translation_forward(otad_ctx *c)
{
    const translation_params *p = c->params;
    translation_saved *saved = c->saved;
    otad_value ru = c->in[RATIO_A], rv = c->in[RATIO_B];
    size_t cols = ru.cols;
    if (!(saved->sums = otad_alloc(c, 2 * cols * sizeof *saved->sums)))
        return OTAD_ENOMEM;
    double kappa = 1 / (p->alpha[0] + p->alpha[1]);
    for (size_t j = 0; j < cols; j++) {
        double a = decayed(c->in[MASS_A], ru.data + j * ru.rows, ru.rows, p->alpha[0], j);
        double b = decayed(c->in[MASS_B], rv.data + j * rv.rows, p->rows_b, p->alpha[1], j);
        saved->sums[2 * j] = a, saved->sums[2 * j + 1] = b;
        c->out.data[j] = exp(kappa * (log(a) - log(b)));
        if (!(a > 0) || !(b > 0) || !isfinite(c->out.data[j]))
            return otad_fail(c, OTAD_ERANGE, "column %zu: decayed masses %g and %g (the "
                             "scaling domain's range: use the log domain)", j, a, b);
    }
    return OTAD_OK;
}

/* With ḡ = c̄ c κ: mass_i gets ±ḡ/S · ratio_i^(−α), ratio_i ∓ḡ/S · α mass_i
 * ratio_i^(−α) / ratio_i, for S = A (+) or B (−). */
static void decayed_vjp(otad_ctx *c, int side, size_t n, double alpha, size_t j, double g)
{
    otad_value mass = c->in[side ? MASS_B : MASS_A], ratio = c->in[side ? RATIO_B : RATIO_A];
    const double *m = mass.data + (mass.cols == 1 ? 0 : j * n), *r = ratio.data + j * ratio.rows;
    double *mbar = otad_wanted_grad(c, side ? MASS_B : MASS_A);
    double *rbar = otad_wanted_grad(c, side ? RATIO_B : RATIO_A);
    mbar = mbar ? mbar + (mass.cols == 1 ? 0 : j * n) : NULL;
    rbar = rbar ? rbar + j * ratio.rows : NULL;
    if (alpha == 0) {
        for (size_t i = 0; mbar && i < n; i++)
            mbar[i] += g;
        return;
    }
    double g_ratio = -g * alpha; /* one branch-free loop per case: they vectorise */
    if (mbar && rbar) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            double decay = pow(r[i], -alpha);
            mbar[i] += g * decay;
            rbar[i] += g_ratio * m[i] * decay / r[i];
        }
    } else if (mbar) {
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            mbar[i] += g * pow(r[i], -alpha);
    } else if (rbar) {
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            rbar[i] += g_ratio * m[i] * pow(r[i], -alpha) / r[i];
    }
}

static int translation_vjp(otad_ctx *c)
{
    const translation_params *p = c->params;
    const translation_saved *saved = c->saved;
    otad_value ru = c->in[RATIO_A];
    double kappa = 1 / (p->alpha[0] + p->alpha[1]);
    for (size_t j = 0; j < ru.cols; j++) {
        double g = c->out_grad[j] * c->out.data[j] * kappa;
        decayed_vjp(c, 0, ru.rows, p->alpha[0], j, g / saved->sums[2 * j]);
        decayed_vjp(c, 1, p->rows_b, p->alpha[1], j, -g / saved->sums[2 * j + 1]);
    }
    return OTAD_OK;
}

static const otad_op op_translation = {.name = "unbalanced_translation", .arity = 4,
                                       .params_bytes = sizeof(translation_params),
                                       .saved_bytes = sizeof(translation_saved),
                                       .shape = translation_shape,
                                       .forward = translation_forward,
                                       .vjp = translation_vjp};

otad_var otadS_translation(otad_tape *t, otad_var a, otad_var ru, otad_var b, otad_var rv,
                           size_t rows_b, double alpha_a, double alpha_b)
{
    translation_params p = {{alpha_a, alpha_b}, rows_b};
    otad_var in[4] = {a, ru, b, rv};
    return otad_apply(t, &op_translation, &p, 4, in);
}
