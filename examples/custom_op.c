/*
 * Writing an op: the generalized Kullback-Leibler divergence of Heitz et al.
 * (2020), eq. (12), per column of two N×B values:
 *
 *     KL(p, q) = Σ_i p_i log(p_i / q_i) − p_i + q_i
 *
 * An op is a static descriptor and four small functions.  The engine copies
 * the parameters, allocates the output, checks it is finite, and calls vjp
 * in the reverse sweep with the gradients that are needed.
 */
#include <math.h>
#include <stdio.h>

#include "otad.h"

static int kl_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    otad_value p = c->in[0], q = c->in[1];
    if (p.rows != q.rows || p.cols != q.cols)
        return otad_fail(c, OTAD_ESHAPE, "p is %zux%zu but q is %zux%zu", p.rows, p.cols,
                         q.rows, q.cols);
    *rows = 1;       /* one divergence per column */
    *cols = p.cols;
    return OTAD_OK;
}

static int kl_forward(otad_ctx *c)
{
    size_t n = c->in[0].rows;
    for (size_t j = 0; j < c->out.cols; j++) {
        const double *p = c->in[0].data + j * n, *q = c->in[1].data + j * n;
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            if (!(p[i] > 0 && q[i] > 0))
                return otad_fail(c, OTAD_EDOMAIN, "entry (%zu,%zu) of %s is not positive", i,
                                 j, p[i] > 0 ? "q" : "p");
            s += p[i] * log(p[i] / q[i]) - p[i] + q[i];
        }
        c->out.data[j] = s;
    }
    return OTAD_OK;
}

/* ∂KL/∂p = log(p/q), ∂KL/∂q = 1 − p/q; in_grad[i] is NULL when input i
 * needs no gradient, and gradients are added, never assigned. */
static int kl_vjp(otad_ctx *c)
{
    size_t n = c->in[0].rows;
    for (size_t j = 0; j < c->out.cols; j++) {
        const double *p = c->in[0].data + j * n, *q = c->in[1].data + j * n;
        double g = c->out_grad[j];
        for (size_t i = 0; i < n; i++) {
            if (c->in_grad[0])
                c->in_grad[0][i + j * n] += g * log(p[i] / q[i]);
            if (c->in_grad[1])
                c->in_grad[1][i + j * n] += g * (1 - p[i] / q[i]);
        }
    }
    return OTAD_OK;
}

static const otad_op op_kl = {.name = "kl", .arity = 2, .shape = kl_shape,
                              .forward = kl_forward, .vjp = kl_vjp};

static otad_var kl(otad_tape *t, otad_var p, otad_var q)
{
    otad_var in[2] = {p, q};
    return otad_apply(t, &op_kl, NULL, 2, in);
}

/* A model using it: q = softmax(θ) fitted to a fixed histogram p. */
enum { N = 8 };
static const double target[N] = {.05, .1, .2, .3, .15, .1, .06, .04};

static otad_var build(otad_tape *t, otad_var theta, void *instance)
{
    (void)instance;
    return otad_sum(t, kl(t, otad_const(t, N, 1, target), otad_softmax(t, theta)));
}

int main(void)
{
    double theta[N], grad[N];
    otad_rng rng = {42};
    otad_rng_fill(&rng, theta, N, -1, 1);

    /* One evaluation: record, read the value, backward, read the gradient. */
    otad_tape *tape;
    if (otad_tape_new(&tape, NULL) != OTAD_OK)
        return 1;
    otad_var loss = build(tape, otad_param(tape, N, 1, theta, grad), NULL);
    if (otad_backward(tape, loss) != OTAD_OK) {
        fprintf(stderr, "%s\n", otad_tape_message(tape));
        return 1;
    }
    printf("KL(p, softmax(theta)) = %.6f, gradient[0..2] = %.6f %.6f %.6f\n",
           otad_scalar(tape, loss), grad[0], grad[1], grad[2]);
    otad_tape_free(&tape);

    /* Check the op alone (dot-product test at random positive inputs), then
     * the whole objective (Taylor remainder test). */
    double p[N * 3], q[N * 3];
    otad_rng_fill(&rng, p, N * 3, 0.1, 1);
    otad_rng_fill(&rng, q, N * 3, 0.1, 1);
    otad_value inputs[2] = {{p, N, 3}, {q, N, 3}};
    otad_check_result op_check, model_check;
    otad_check_op(&op_kl, NULL, 2, inputs, NULL, &op_check);
    otad_check_taylor(build, NULL, N, theta, NULL, &model_check);
    printf("kl op   %s\nmodel   %s\n", op_check.report, model_check.report);
    return op_check.passed && model_check.passed ? 0 : 1;
}
