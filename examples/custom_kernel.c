/*
 * A kernel written outside the library: a factored kernel K = A Bᵀ, here
 * through r landmarks c_k on the line,
 *     A_ik = s·exp(−(x_i − c_k)²/ε'),  B_jk = s·exp(−(y_j − c_k)²/ε'),
 * a Gaussian blur twice over: with landmarks a fraction of √ε' apart and
 * reaching past the points, the sum over them is the integral to rounding
 * (a Gaussian's sum on a uniform grid converges exponentially), so that K
 * is the Gibbs kernel exp(−(x − y)²/ε) at ε = 2ε' (s scales the sum into
 * the integral).  An apply costs 2(n + m)·r per column instead of 2·n·m.
 *
 * A kernel is a linear operator: the class below gives K x and Kᵀx on blocks
 * of columns, and a vjp that adds x̄ and its parameters' gradients (the two
 * factors: ordinary tape values, computed here from the points) into the
 * accumulator it is handed.  Nothing else is needed for Sinkhorn, its
 * values, barycenters and every gradient mode to work with it.
 *
 * Prints the class's adjoint check, Sinkhorn and a barycenter against the
 * exact Gibbs kernel, and a gradient check through the kernel to the points
 * and weights; writes custom_kernel.png, the two transport plans.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

/* ---- the kernel class ------------------------------------------------------ */

typedef struct factored {
    const double *a, *b; /* n×r and m×r */
    int n, m, r;
} factored;

static int factored_setup(otad_ctx *c, void *state, const void *config, otad_kernel_info *info)
{
    factored *f = state;
    otad_value a = c->in[0], b = c->in[1];
    if (a.cols != b.cols)
        return otad_fail(c, OTAD_ESHAPE, "factored: %zu and %zu columns", a.cols, b.cols);
    *f = (factored){a.data, b.data, (int)a.rows, (int)b.rows, (int)a.cols};
    *info = (otad_kernel_info){a.rows, b.rows, *(const double *)config, 0, 0,
                               2.0 * (double)(a.rows + b.rows) * (double)a.cols};
    return OTAD_OK;
}

/* op(K) = P Qᵀ: (P, Q) = (A, B) for K, (B, A) for Kᵀ. */
static void factors(const factored *f, unsigned product, const double **p, int *rows_p,
                    const double **q, int *rows_q)
{
    int t = product & OTAD_KERNEL_TRANSPOSE;
    *p = t ? f->b : f->a, *rows_p = t ? f->m : f->n;
    *q = t ? f->a : f->b, *rows_q = t ? f->n : f->m;
}

/* y ← β·y + P (Qᵀ x) */
static int factored_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                          const double *x, double beta, double *y)
{
    const factored *f = state;
    const double *p, *q;
    int np, nq, b = (int)ncols;
    factors(f, product, &p, &np, &q, &nq);
    double *z = otad_scratch(c, (size_t)f->r * ncols * sizeof *z);
    if (!z)
        return OTAD_ENOMEM;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, f->r, b, nq, 1, q, nq, x, nq, 0, z,
                f->r);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, np, b, f->r, 1, p, np, z, f->r, beta,
                y, np);
    return OTAD_OK;
}

/* With z = Qᵀx and w = Pᵀȳ: x̄ += Q w, P̄ += ȳ zᵀ, Q̄ += x wᵀ. */
static int factored_vjp(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                        const otad_kernel_grads *grads)
{
    const factored *f = state;
    const double *p, *q;
    int np, nq, b = (int)a->ncols, t = a->product & OTAD_KERNEL_TRANSPOSE;
    factors(f, a->product, &p, &np, &q, &nq);
    double *p_bar = grads->param[t ? 1 : 0], *q_bar = grads->param[t ? 0 : 1];
    double *z = otad_scratch(c, 2 * (size_t)f->r * a->ncols * sizeof *z), *w = z + f->r * b;
    if (!z)
        return OTAD_ENOMEM;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, f->r, b, np, 1, p, np, a->ybar, np, 0,
                w, f->r);
    if (a->xbar)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, nq, b, f->r, 1, q, nq, w, f->r,
                    1, a->xbar, nq);
    if (q_bar)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, nq, f->r, b, 1, a->x, nq, w, f->r,
                    1, q_bar, nq);
    if (p_bar) {
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, f->r, b, nq, 1, q, nq, a->x, nq, 0,
                    z, f->r);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, np, f->r, b, 1, a->ybar, np, z,
                    f->r, 1, p_bar, np);
    }
    return OTAD_OK;
}

static const otad_kernel_class factored_class = {
    .name = "factored",
    .state_bytes = sizeof(factored),
    .setup = factored_setup,
    .apply = factored_apply,
    .vjp = factored_vjp,
};

/* ---- building it from points ---------------------------------------------- */

/* The factor of the points x (n×1) on the landmarks c (r×1, spaced by
 * `spacing`): s·exp(−(x − c)²/ε') with ε' = ε/2 and s² = spacing/√(πε/4),
 * so that Σ_k A_ik B_jk ≈ exp(−(x_i − y_j)²/ε). */
static otad_var landmark_factor(otad_tape *t, otad_var x, otad_var c, double eps,
                                double spacing)
{
    double s = sqrt(spacing / sqrt(acos(-1.0) * eps / 4));
    return otad_scale(t, otad_exp(t, otad_scale(t, otad_sqdist(t, x, c), -2 / eps)), s);
}

static otad_kernel landmark_kernel(otad_tape *t, otad_var x, otad_var y, otad_var c,
                                   double eps, double spacing)
{
    otad_var ab[2] = {landmark_factor(t, x, c, eps, spacing),
                      landmark_factor(t, y, c, eps, spacing)};
    return otad_kernel_new(t, &factored_class, &eps, 2, ab);
}

/* ---- the checks ------------------------------------------------------------- */

/* The kernel as a linear operator for otad_check_adjoint: each product
 * recorded on the tape after a mark, read, and dropped. */
typedef struct on_tape {
    otad_tape *tape;
    otad_kernel k;
    size_t n, m;
} on_tape;

static int kernel_operator(void *instance, int transpose, size_t ncols, const double *x,
                           double *y)
{
    on_tape *o = instance;
    otad_mark mark = otad_tape_mark(o->tape);
    size_t in = transpose ? o->n : o->m;
    otad_var kx = otad_kernel_apply(o->tape, o->k, transpose ? OTAD_KERNEL_TRANSPOSE : 0,
                                    otad_const(o->tape, in, ncols, x));
    otad_value v = otad_value_of(o->tape, kx);
    for (size_t i = 0; v.data && i < v.rows * v.cols; i++)
        y[i] = v.data[i];
    int rc = otad_tape_status(o->tape);
    otad_tape_rewind(o->tape, mark);
    return rc;
}

/* The Sinkhorn dual value between weights a = softmax(θ) on x and uniform
 * weights on y, through the landmark kernel: what the gradient check
 * differentiates, in x and θ. */
typedef struct loss_problem {
    const double *y, *landmarks, *b;
    size_t m, r;
    double eps, spacing;
} loss_problem;

static otad_var landmark_loss(otad_tape *t, const otad_var *in, void *instance)
{
    const loss_problem *p = instance;
    otad_kernel k = landmark_kernel(t, in[0], otad_const(t, p->m, 1, p->y),
                                    otad_const(t, p->r, 1, p->landmarks), p->eps, p->spacing);
    return otad_sinkhorn_loss(t, k, otad_softmax(t, in[1]), otad_const(t, p->m, 1, p->b), NULL,
                              OTAD_SINKHORN_DUAL);
}

/* ---- the plans as a picture ------------------------------------------------- */

enum { PIXELS = 200 };

/* P = diag(u) K diag(v), K given entry by entry (kernel n×m) or as A Bᵀ,
 * summed into PIXELS×PIXELS blocks (rows: x, columns: y). */
static void plan_image(const otad_tape *t, const otad_sinkhorn *s, const double *kernel,
                       size_t n, size_t m, const double *a, const double *b, size_t r,
                       double *image)
{
    const double *u = otad_value_of(t, s->u).data, *v = otad_value_of(t, s->v).data;
    for (size_t k = 0; k < PIXELS * PIXELS; k++)
        image[k] = 0;
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++) {
            double kij = 0;
            if (kernel)
                kij = kernel[i + j * n];
            else
                for (size_t q = 0; q < r; q++)
                    kij += a[i + q * n] * b[j + q * m];
            image[(i * PIXELS / n) * PIXELS + j * PIXELS / m] += u[i] * kij * v[j];
        }
}

/* Seconds of the fastest of 5 applies of k to the 16 columns of x. */
static double apply_seconds(otad_tape *t, otad_kernel k, otad_var x)
{
    double best = INFINITY;
    for (int r = 0; r < 5; r++) {
        otad_mark mark = otad_tape_mark(t);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        otad_kernel_apply(t, k, 0, x);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        otad_tape_rewind(t, mark);
        double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        best = fmin(best, seconds);
    }
    return best;
}

/* ---- main -------------------------------------------------------------------- */

enum { N = 1000, M = 800, SMALL_N = 40, SMALL_M = 30 };

/* A bump of width w at c, plus a floor, on the points x. */
static void bump(const double *x, size_t n, double c, double w, double *h)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += h[i] = 0.05 + exp(-(x[i] - c) * (x[i] - c) / (w * w));
    for (size_t i = 0; i < n; i++)
        h[i] /= total;
}

static double l1_relative(const double *p, const double *q, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        d += fabs(p[i] - q[i]), s += fabs(q[i]);
    return d / s;
}

int main(void)
{
    const double eps = 0.004, spacing = 0.01;
    enum { R = 141 }; /* landmarks from −0.2 to 1.2 */
    static double x[N], y[M], a[2 * N], b[M], landmarks[R], exact_k[N * M];
    static double image[2][PIXELS * PIXELS];
    for (size_t i = 0; i < N; i++)
        x[i] = (double)i / (N - 1);
    for (size_t j = 0; j < M; j++)
        y[j] = (double)j / (M - 1);
    for (size_t k = 0; k < R; k++)
        landmarks[k] = -0.2 + spacing * (double)k;
    bump(x, N, 0.25, 0.1, a);
    bump(x, N, 0.8, 0.05, a + N);
    bump(y, M, 0.6, 0.15, b);

    otad_tape *t;
    if (otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    otad_var px = otad_const(t, N, 1, x), py = otad_const(t, M, 1, y);
    otad_var pc = otad_const(t, R, 1, landmarks);
    otad_kernel k = landmark_kernel(t, px, py, pc, eps, spacing);
    otad_kernel exact = otad_kernel_gibbs_points(t, px, py, eps);

    on_tape op = {t, k, N, M};
    otad_check_result res;
    otad_check_opts opts;
    otad_check_opts_init(&opts);
    opts.tolerance = 1e-12;
    otad_check_adjoint(kernel_operator, &op, N, M, 3, &opts, &res);
    printf("kernel through %d landmarks, %dx%d: %s\n", R, N, M, res.report);
    int failed = !res.passed;

    static double columns[M * 16];
    for (size_t i = 0; i < M * 16; i++)
        columns[i] = 1;
    otad_var x16 = otad_const(t, M, 16, columns);
    printf("one apply to 16 columns: Gibbs kernel %.2f ms, landmarks %.2f ms\n",
           1e3 * apply_seconds(t, exact, x16), 1e3 * apply_seconds(t, k, x16));

    /* Sinkhorn and a barycenter with either kernel */
    otad_sinkhorn s_exact, s_landmarks;
    otad_var va = otad_const(t, N, 1, a), vb = otad_const(t, M, 1, b);
    otad_sinkhorn_opts so;
    otad_sinkhorn_opts_init(&so);
    so.iterations = 300;
    otad_sinkhorn_solve(t, exact, va, vb, &so, &s_exact);
    otad_sinkhorn_solve(t, k, va, vb, &so, &s_landmarks);
    double dual[2] = {otad_scalar(t, otad_sinkhorn_dual(t, &s_exact)),
                      otad_scalar(t, otad_sinkhorn_dual(t, &s_landmarks))};
    printf("Sinkhorn dual value, eps %g, 300 iterations: exact Gibbs %.6f, landmarks %.6f "
           "(relative difference %.1e)\n", eps, dual[0], dual[1],
           fabs(dual[1] - dual[0]) / fabs(dual[0]));
    double weights[2] = {0.3, 0.7};
    otad_var hist = otad_const(t, N, 2, a), w = otad_const(t, 2, 1, weights);
    otad_var bar[2] = {otad_barycenter(t, exact, hist, w, NULL),
                       otad_barycenter(t, k, hist, w, NULL)};
    if (otad_tape_status(t) != OTAD_OK) {
        fprintf(stderr, "%s\n", otad_tape_message(t));
        return 1;
    }
    printf("barycenter with weights (0.3, 0.7), 50 iterations: L1 distance between the two "
           "kernels' %.1e (relative)\n",
           l1_relative(otad_value_of(t, bar[1]).data, otad_value_of(t, bar[0]).data, M));

    /* the gradient through the kernel to the points and the weights */
    static double small_x[SMALL_N], theta[SMALL_N], small_y[SMALL_M], small_b[SMALL_M];
    otad_rng rng = {7};
    for (size_t i = 0; i < SMALL_N; i++)
        small_x[i] = x[i * (N / SMALL_N)];
    for (size_t j = 0; j < SMALL_M; j++)
        small_y[j] = y[j * (M / SMALL_M)], small_b[j] = 1.0 / SMALL_M;
    otad_rng_fill(&rng, theta, SMALL_N, -0.5, 0.5);
    loss_problem lp = {small_y, landmarks, small_b, SMALL_M, R, 0.02, spacing};
    otad_value in[2] = {{small_x, SMALL_N, 1}, {theta, SMALL_N, 1}};
    otad_check_graph(landmark_loss, &lp, 2, in, NULL, &res);
    printf("gradient of the dual value to the points and the weights: %s\n", res.report);
    failed |= !res.passed;

    /* the two plans */
    for (size_t j = 0; j < M; j++)
        for (size_t i = 0; i < N; i++)
            exact_k[i + j * N] = exp(-(x[i] - y[j]) * (x[i] - y[j]) / eps);
    otad_value fa = otad_value_of(t, landmark_factor(t, px, pc, eps, spacing));
    otad_value fb = otad_value_of(t, landmark_factor(t, py, pc, eps, spacing));
    if (!fa.data || !fb.data)
        return 1;
    plan_image(t, &s_exact, exact_k, N, M, NULL, NULL, 0, image[0]);
    plan_image(t, &s_landmarks, NULL, N, M, fa.data, fb.data, R, image[1]);
    otad_tape_free(&t);
    printf("plans: L1 distance %.1e (relative)\n", l1_relative(image[1], image[0],
                                                               PIXELS * PIXELS));

    const double *images[2] = {image[0], image[1]};
    const char *captions[2] = {"Gibbs kernel", "141 landmarks"};
    otad_image_opts io;
    otad_image_opts_init(&io);
    io.colorbar = 1;
    io.captions = captions;
    otad_error err;
    failed |= written("custom_kernel.png",
                      otad_png_write_strip("custom_kernel.png", images, 2, PIXELS, PIXELS, &io,
                                           &err),
                      &err);
    return failed;
}
