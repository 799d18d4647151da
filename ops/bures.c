/* The squared 2-Wasserstein distance between Gaussians (the Bures metric on
 * covariances) and the optimal linear map, from two symmetric
 * eigendecompositions:
 *     S1 = Q Λ Qᵀ,   S1^½ S2 S1^½ = V diag(μ) Vᵀ,   M = V diag(μ^½) Vᵀ.
 * With W = QᵀV every matrix the gradients need is a product B Bᵀ:
 *     T = S1^-½ M S1^-½          B = Q Λ^-½ W diag(μ^¼)
 *     T⁻¹ = S1^½ M⁻¹ S1^½        B = Q Λ^½ W diag(μ^-¼)
 * so both come out symmetric and positive semi-definite by construction. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shape_rules.h"

/* LAPACK's symmetric eigensolver (divide and conquer), exported by
 * libopenblas.  No LAPACKE header is installed here, so the Fortran symbol
 * is declared by hand: every argument by reference, then the hidden lengths
 * of the two character arguments, which gfortran passes as size_t. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork,
             int *info, size_t jobz_len, size_t uplo_len);

/* Beyond this d the eigensolver's workspace (1 + 6d + 2d² doubles) has more
 * entries than a Fortran integer counts. */
#define BURES_MAX_DIM 30000

typedef struct eigen {
    double *vectors; /* d×d, column k for values[k] */
    double *values;  /* d, ascending */
} eigen;

/* What the forward keeps for the gradients.  The matrices are factorised
 * scaled by powers of two, 2^-shift1 S1 and 2^-shift2 S2, whose largest
 * entries are near 1: S1^½ S2 S1^½ and the powers of the eigenvalues then
 * stay in range for any representable covariances (1e308·I squares to
 * infinity, 1e-300·I to zero).  The shifts are even, so that the square
 * roots undo them exactly. */
typedef struct bures_factors {
    eigen s1;      /* of sym(S1)·2^-shift1 */
    eigen product; /* of the product of the scaled matrices */
    int shift1, shift2;
} bures_factors;

/* Workspace of one factorisation, carved from one block. */
typedef struct bures_work {
    double *s2, *root, *tmp, *lapack;
    int *ilapack;
} bures_work;

static size_t lapack_doubles(size_t d) { return 1 + 6 * d + 2 * d * d; }
static size_t lapack_ints(size_t d) { return 3 + 5 * d; }

static size_t work_bytes(size_t d)
{
    return (3 * d * d + lapack_doubles(d)) * sizeof(double) + lapack_ints(d) * sizeof(int);
}

static bures_work work_in(void *block, size_t d)
{
    double *p = block;
    bures_work w = {p, p + d * d, p + 2 * d * d, p + 3 * d * d, NULL};
    w.ilapack = (int *)(w.lapack + lapack_doubles(d));
    return w;
}

static size_t factors_bytes(size_t d) { return (2 * d * d + 2 * d) * sizeof(double); }

static bures_factors factors_in(void *block, size_t d)
{
    double *p = block;
    return (bures_factors){{p, p + d * d}, {p + d * d + d, p + 2 * d * d + d}, 0, 0};
}

/* out = (s + sᵀ)/2 · 2^-shift, shift the even power of two that brings the
 * largest entry to [1/4, 1); failing on a non-finite entry. */
static int symmetrise(size_t d, const double *s, const char *name, double *out, int *shift,
                      otad_error *err)
{
    double largest = 0;
    for (size_t k = 0; k < d * d; k++) {
        if (!isfinite(s[k]))
            return otad_error_set(err, OTAD_EDOMAIN, "%s(%zu,%zu) is %g", name, k % d, k / d,
                                  s[k]);
        largest = fmax(largest, fabs(s[k]));
    }
    int e = 0;
    frexp(largest, &e);
    *shift = e + (e & 1);
    /* scaled before the sum, which may overflow */
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < d; i++)
            out[i + j * d] = 0.5 * (ldexp(s[i + j * d], -*shift) + ldexp(s[j + i * d], -*shift));
    return OTAD_OK;
}

/* Eigendecomposition of the symmetric a (overwritten by the vectors). */
static int eigen_decompose(size_t d, double *a, double *values, const bures_work *w,
                           const char *name, otad_error *err)
{
    int n = (int)d, lwork = (int)lapack_doubles(d), liwork = (int)lapack_ints(d), info = 0;
    dsyevd_("V", "L", &n, a, &n, values, w->lapack, &lwork, w->ilapack, &liwork, &info, 1, 1);
    if (info != 0)
        return otad_error_set(err, OTAD_ENOCONV, "the eigensolver failed on %s (info %d)", name,
                              info);
    return OTAD_OK;
}

/* Numerically positive definite: the smallest eigenvalue above d·2⁻⁵² times
 * the largest, so that the inverse square roots the gradient uses carry
 * some digits. */
static int check_positive_definite(size_t d, const double *values, int shift, const char *name,
                                   otad_error *err)
{
    if (!(values[0] > (double)d * DBL_EPSILON * values[d - 1]) || !(values[d - 1] > 0))
        return otad_error_set(err, OTAD_ENOTPOSDEF, "%s is not positive definite: eigenvalues "
                              "from %g to %g", name, ldexp(values[0], shift),
                              ldexp(values[d - 1], shift));
    return OTAD_OK;
}

/* out = x diag(scale) yᵀ, all d×d (x and out distinct). */
static void scaled_product(size_t d, const double *x, const double *scale, const double *y,
                           double *tmp, double *out)
{
    int n = (int)d;
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < d; i++)
            tmp[i + j * d] = x[i + j * d] * scale[j];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, tmp, n, y, n, 0.0, out,
                n);
}

/* The two eigendecompositions from S1 and S2 (any d×d, symmetrised and
 * scaled here); tr (S1^½ S2 S1^½)^½ in *trace_root. */
static int factorise(size_t d, const double *s1, const double *s2, bures_factors *f,
                     const bures_work *w, double *trace_root, otad_error *err)
{
    int n = (int)d, rc = symmetrise(d, s1, "S1", f->s1.vectors, &f->shift1, err);
    if (rc == OTAD_OK)
        rc = symmetrise(d, s2, "S2", w->s2, &f->shift2, err);
    int shift = f->shift1 + f->shift2; /* of the product */
    if (rc == OTAD_OK)
        rc = eigen_decompose(d, f->s1.vectors, f->s1.values, w, "S1", err);
    if (rc == OTAD_OK)
        rc = check_positive_definite(d, f->s1.values, f->shift1, "S1", err);
    if (rc != OTAD_OK)
        return rc;
    /* S2 is tested on its own, not through the product, whose condition
     * number is up to the product of theirs; its eigenvalues, then S1's
     * square roots, pass through product.values before μ lands there */
    memcpy(w->root, w->s2, d * d * sizeof *w->root);
    rc = eigen_decompose(d, w->root, f->product.values, w, "S2", err);
    if (rc == OTAD_OK)
        rc = check_positive_definite(d, f->product.values, f->shift2, "S2", err);
    if (rc != OTAD_OK)
        return rc;
    for (size_t k = 0; k < d; k++)
        f->product.values[k] = sqrt(f->s1.values[k]);
    scaled_product(d, f->s1.vectors, f->product.values, f->s1.vectors, w->tmp, w->root);
    double *product = f->product.vectors;
    cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, n, n, 1.0, w->s2, n, w->root, n, 0.0,
                w->tmp, n);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, w->root, n, w->tmp, n,
                0.0, product, n);
    rc = eigen_decompose(d, product, f->product.values, w, "S1^½ S2 S1^½", err);
    if (rc == OTAD_OK && !(f->product.values[0] > 0))
        rc = otad_error_set(err, OTAD_ERANGE, "S1^½ S2 S1^½ is numerically singular: "
                            "eigenvalues from %g to %g", ldexp(f->product.values[0], shift),
                            ldexp(f->product.values[d - 1], shift));
    if (rc != OTAD_OK)
        return rc;
    double trace = 0;
    for (size_t k = 0; k < d; k++)
        trace += sqrt(f->product.values[k]);
    *trace_root = ldexp(trace, shift / 2);
    return OTAD_OK;
}

/* out = B Bᵀ with B = Q Λ^α W diag(μ^β), W = QᵀV: T for (α, β) = (−½, ¼),
 * T⁻¹ for (½, −¼).  Λ and μ are those of the scaled matrices, 2^-shift1 and
 * 2^-(shift1 + shift2) times the true ones, so B B ᵀ is the true one times
 * 2^-(2α·shift1 + 2β·(shift1 + shift2)): an integer power, undone at the
 * end.  tmp and b are d×d workspaces. */
static void map_power(size_t d, const bures_factors *f, double alpha, double beta, double *tmp,
                      double *b, double *out)
{
    int n = (int)d;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, f->s1.vectors, n,
                f->product.vectors, n, 0.0, tmp, n);
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < d; i++)
            tmp[i + j * d] *= pow(f->s1.values[i], alpha) * pow(f->product.values[j], beta);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, f->s1.vectors, n, tmp,
                n, 0.0, b, n);
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, n, 1.0, b, n, 0.0, out, n);
    int shift = (int)(2 * alpha * f->shift1 + 2 * beta * (f->shift1 + f->shift2));
    for (size_t j = 0; j < d; j++)
        for (size_t i = j; i < d; i++)
            out[j + i * d] = out[i + j * d] = ldexp(out[i + j * d], shift);
}

/* ---- the op --------------------------------------------------------------- */

enum { MEAN1, COV1, MEAN2, COV2 };

static int bures_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    otad_value m1 = c->in[MEAN1], s1 = c->in[COV1], m2 = c->in[MEAN2], s2 = c->in[COV2];
    size_t d = m1.rows;
    if (m1.cols != 1 || m2.rows != d || m2.cols != 1 || s1.rows != d || s1.cols != d ||
        s2.rows != d || s2.cols != d)
        return otad_fail(c, OTAD_ESHAPE, "m1 is %zux%zu, S1 %zux%zu, m2 %zux%zu, S2 %zux%zu "
                         "(means must be d×1, covariances d×d)", m1.rows, m1.cols, s1.rows,
                         s1.cols, m2.rows, m2.cols, s2.rows, s2.cols);
    if (d > BURES_MAX_DIM)
        return otad_fail(c, OTAD_ESHAPE, "dimension %zu: beyond what LAPACK can index", d);
    return shape_scalar(c, rows, cols);
}

static int bures_forward(otad_ctx *c)
{
    otad_value m1 = c->in[MEAN1], m2 = c->in[MEAN2];
    size_t d = m1.rows;
    bures_factors *saved = c->saved;
    void *factors = otad_alloc(c, factors_bytes(d)), *block = otad_scratch(c, work_bytes(d));
    if (!factors || !block)
        return otad_fail(c, OTAD_ENOMEM, "no memory for d = %zu", d);
    *saved = factors_in(factors, d);
    bures_work w = work_in(block, d);
    double trace_root, value = 0;
    otad_error err;
    int rc = factorise(d, c->in[COV1].data, c->in[COV2].data, saved, &w, &trace_root, &err);
    if (rc != OTAD_OK)
        return otad_fail(c, rc, "%s", err.message);
    for (size_t i = 0; i < d; i++) {
        double gap = m1.data[i] - m2.data[i];
        value += gap * gap + c->in[COV1].data[i + i * d] + c->in[COV2].data[i + i * d];
    }
    c->out.data[0] = value - 2 * trace_root;
    return OTAD_OK;
}

/* grad += g (I − map): ∂/∂S1 with map = T, ∂/∂S2 with map = T⁻¹. */
static void add_identity_minus(size_t d, const double *map, double g, double *grad)
{
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < d; i++)
            grad[i + j * d] += g * ((i == j) - map[i + j * d]);
}

static int bures_vjp(otad_ctx *c)
{
    const bures_factors *saved = c->saved;
    size_t d = c->in[MEAN1].rows;
    double g = c->out_grad[0];
    for (size_t i = 0; i < d; i++) {
        double gap = 2 * g * (c->in[MEAN1].data[i] - c->in[MEAN2].data[i]);
        if (otad_needs_grad(c, MEAN1))
            c->in_grad[MEAN1][i] += gap;
        if (otad_needs_grad(c, MEAN2))
            c->in_grad[MEAN2][i] -= gap;
    }
    if (!otad_needs_grad(c, COV1) && !otad_needs_grad(c, COV2))
        return OTAD_OK;
    double *tmp = otad_scratch(c, 3 * d * d * sizeof *tmp);
    if (!tmp)
        return otad_fail(c, OTAD_ENOMEM, "no memory for d = %zu", d);
    if (otad_needs_grad(c, COV1)) {
        map_power(d, saved, -0.5, 0.25, tmp, tmp + d * d, tmp + 2 * d * d);
        add_identity_minus(d, tmp + 2 * d * d, g, c->in_grad[COV1]);
    }
    if (otad_needs_grad(c, COV2)) {
        map_power(d, saved, 0.5, -0.25, tmp, tmp + d * d, tmp + 2 * d * d);
        add_identity_minus(d, tmp + 2 * d * d, g, c->in_grad[COV2]);
    }
    return OTAD_OK;
}

static const otad_op op_gaussian_w2 = {.name = "gaussian_w2", .arity = 4,
                                       .saved_bytes = sizeof(bures_factors),
                                       .shape = bures_shape, .forward = bures_forward,
                                       .vjp = bures_vjp};

otad_var otad_gaussian_w2(otad_tape *t, otad_var m1, otad_var s1, otad_var m2, otad_var s2)
{
    otad_var in[4] = {m1, s1, m2, s2};
    return otad_apply(t, &op_gaussian_w2, NULL, 4, in);
}

/* ---- outside a tape --------------------------------------------------------- */

int otad_gaussian_map(size_t d, const double *s1, const double *s2, double *map,
                      otad_error *err)
{
    if (!s1 || !s2 || !map)
        return otad_error_set(err, OTAD_EINVAL, "gaussian_map: %s is NULL",
                              !s1 ? "S1" : !s2 ? "S2" : "T");
    if (d == 0 || d > BURES_MAX_DIM)
        return otad_error_set(err, OTAD_EINVAL, "gaussian_map: dimension %zu (must be 1 to "
                              "%d)", d, BURES_MAX_DIM);
    void *factors = malloc(factors_bytes(d)), *block = malloc(work_bytes(d));
    if (!factors || !block) {
        free(factors), free(block);
        return otad_error_set(err, OTAD_ENOMEM, "gaussian_map: no memory for d = %zu", d);
    }
    bures_factors f = factors_in(factors, d);
    bures_work w = work_in(block, d);
    double trace_root;
    otad_error why;
    int rc = factorise(d, s1, s2, &f, &w, &trace_root, &why);
    if (rc == OTAD_OK)
        map_power(d, &f, -0.5, 0.25, w.tmp, w.root, map);
    else
        otad_error_set(err, rc, "gaussian_map: %s", why.message);
    free(factors), free(block);
    return rc;
}
