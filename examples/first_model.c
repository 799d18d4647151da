/* A model of one's own, as docs/guide.md builds it: k weighted atoms fitted
 * to a cloud of points by minimising the debiased Sinkhorn divergence with
 * L-BFGS, after a Taylor test of its gradient.  θ holds the atoms'
 * positions (k×2, column-major) and the logits of their weights. */
#include <math.h>
#include <stdio.h>

#include "otad.h"

enum { K = 3, N = 300 };

typedef struct cloud {
    const double *y; /* N×2 data points, column-major */
    double eps;
    otad_sinkhorn_start *start; /* the last potentials, to start the next solves */
} cloud;

/* The objective: records S_ε(Σ_k softmax(logits)_k δ_{x_k}, (1/N) Σ_j δ_{y_j})
 * from θ on the tape, and returns it (1×1). */
static otad_var build(otad_tape *t, otad_var theta, void *instance)
{
    const cloud *c = instance;
    otad_var x = otad_reshape(t, otad_slice(t, theta, 0, 2 * K, 0, 1), K, 2);
    otad_var a = otad_softmax(t, otad_slice(t, theta, 2 * K, K, 0, 1));
    otad_var y = otad_const(t, N, 2, c->y);
    otad_var b = otad_const_fill(t, N, 1, 1.0 / N);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.mode = OTAD_ENVELOPE; /* Danskin's gradient of the converged dual */
    o.iterations = 10000;
    o.tolerance = 1e-9;
    o.start = c->start;
    return otad_sinkhorn_divergence(t, otad_kernel_gibbs_points(t, x, y, c->eps),
                                    otad_kernel_gibbs_points(t, x, x, c->eps),
                                    otad_kernel_gibbs_points(t, y, y, c->eps), a, b, &o,
                                    OTAD_SINKHORN_DUAL);
}

int main(void)
{
    /* data: three clusters of 200, 60 and 40 points */
    static const double centre[K][2] = {{0.25, 0.3}, {0.7, 0.75}, {0.75, 0.25}};
    static const int size[K] = {200, 60, 40};
    double y[2 * N];
    otad_rng rng = {2026};
    for (int k = 0, j = 0; k < K; k++)
        for (int i = 0; i < size[k]; i++, j++)
            for (int d = 0; d < 2; d++)
                y[j + d * N] = centre[k][d] + 0.05 * otad_rng_gaussian(&rng);
    cloud c = {y, 0.02, NULL};

    /* start: atoms at random places, equal weights */
    double theta[3 * K] = {0};
    otad_rng_fill(&rng, theta, 2 * K, 0.2, 0.8);

    otad_check_result check;
    if (otad_check_taylor(build, &c, 3 * K, theta, NULL, &check) != OTAD_OK || !check.passed) {
        fprintf(stderr, "gradient check: %s\n", check.report);
        return 1;
    }
    printf("Taylor test of the gradient: remainder order %.2f (2 for a right gradient)\n",
           check.order);

    /* The fit starts each solve from the last one's potentials.  Not for the
     * test above: a warm solve stops as soon as it is within the tolerance,
     * and the test's smallest steps would measure that tolerance. */
    c.start = otad_sinkhorn_start_new();

    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = 60;
    otad_lbfgs_result result;
    if (otad_lbfgs(build, &c, 3 * K, theta, &params, &result) != OTAD_OK) {
        fprintf(stderr, "fit: %s\n", result.message);
        otad_lbfgs_result_free(&result);
        return 1;
    }
    printf("%s after %d iterations: divergence %.3e (%.3e at the start)\n",
           result.lbfgs_message, result.iterations, result.loss, result.losses[0]);
    double weight[K], total = 0;
    for (int k = 0; k < K; k++)
        total += weight[k] = exp(theta[2 * K + k]);
    for (int k = 0; k < K; k++)
        printf("atom %d at (%.3f, %.3f), weight %.3f\n", k, theta[k], theta[K + k],
               weight[k] / total);
    printf("clusters at (0.25, 0.30), (0.70, 0.75), (0.75, 0.25), weights 0.667, 0.200, 0.133\n");
    otad_lbfgs_result_free(&result);
    otad_sinkhorn_start_free(c.start);
    return 0;
}
