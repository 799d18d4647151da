/* Loops and their gradient modes.
 *
 * UNROLL records every step.  CHECKPOINT and IMPLICIT record each step,
 * keep the values they need, and rewind, so that the tape holds one loop
 * node whatever the number of steps; its vjp records steps again — segments
 * between checkpoints, or one step at the fixed point — and differentiates
 * them with a sweep of their own, during the backward that reached it. */
#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "args.h"
#include "tape_internal.h"

void otad_loop_opts_init(otad_loop_opts *opts)
{
    if (!opts)
        return;
    opts->mode = OTAD_UNROLL;
    opts->iterations = 100;
    opts->tolerance = 0;
    opts->check_every = 10;
    opts->residual = NULL;
    opts->checkpoint_every = 0;
    /* GMRES's residual does not go below rounding, about DBL_EPSILON·‖ξ‖/‖x̄‖.
     * Measured: 1e-16 to 1e-14 on most Sinkhorn adjoints, 3e-13 on the worst
     * of a fit (the ellipses' MKE at ε = 0.003), DBL_EPSILON/(1 − ρ) on an
     * affine loop contracting at ρ (2e-12 at ρ = 0.9999).  1e-12 leaves too
     * little room (a fit stopped by rounding); with 1e-10, that fit's gradient
     * is within 2e-9 (relative) of the exact one, far closer than a loop after
     * L iterations is to its fixed point. */
    opts->adjoint_tolerance = 1e-10;
    opts->adjoint_iterations = 10000;
    opts->adjoint_relative = 0;
}

/* What a loop node keeps for its vjp.  The state is packed: entry offset[i]
 * onwards holds state i, rows[i]×cols[i] values. */
typedef struct loop_record {
    otad_step_fn step;
    void *instance;
    otad_grad_mode mode;
    size_t n_state, n_params;
    size_t rows[OTAD_LOOP_MAX_STATE], cols[OTAD_LOOP_MAX_STATE];
    size_t offset[OTAD_LOOP_MAX_STATE + 1];
    otad_var params[OTAD_LOOP_MAX_PARAMS];
    int steps, every;
    double *checkpoints;  /* CHECKPOINT: the states at steps 0, every, 2·every, … */
    double *final;        /* the last state */
    double adjoint_tolerance;
    int adjoint_iterations, adjoint_relative;
} loop_record;

static size_t state_size(const loop_record *r)
{
    return r->offset[r->n_state];
}

/* Leaves holding a packed state: parameters when its gradient is wanted. */
static void state_leaves(otad_tape *t, const loop_record *r, const double *packed,
                         int as_params, otad_var *out)
{
    for (size_t i = 0; i < r->n_state; i++) {
        const double *v = packed + r->offset[i];
        out[i] = as_params ? otad_param(t, r->rows[i], r->cols[i], v, NULL)
                           : otad_const(t, r->rows[i], r->cols[i], v);
    }
}

/* A recorded state must keep the shapes of the initial one. */
static int check_state(otad_tape *t, const loop_record *r, const otad_var *state)
{
    for (size_t i = 0; i < r->n_state; i++) {
        otad_value v = otad_value_of(t, state[i]);
        if (!v.data)
            return otad_tape_status(t) != OTAD_OK
                       ? t->status : otad_tape_fail(t, OTAD_EINVAL, "loop: step gave no state");
        if (v.rows != r->rows[i] || v.cols != r->cols[i])
            return otad_tape_fail(t, OTAD_ESHAPE, "loop: step changed state %zu from %zux%zu to "
                                  "%zux%zu", i, r->rows[i], r->cols[i], v.rows, v.cols);
    }
    return OTAD_OK;
}

/* The values of a recorded state, packed. */
static int pack(otad_tape *t, const loop_record *r, const otad_var *state, double *packed)
{
    int rc = check_state(t, r, state);
    for (size_t i = 0; rc == OTAD_OK && i < r->n_state; i++) {
        otad_value v = otad_value_of(t, state[i]);
        memcpy(packed + r->offset[i], v.data, v.rows * v.cols * sizeof *packed);
    }
    return rc;
}

/* The largest change of an entry from before to after, and the largest
 * entry of after, updated with n more entries. */
static void add_change(const double *before, const double *after, size_t n, double *change,
                       double *size)
{
    double c = *change, s = *size; /* comparisons, not fmax: a library call per entry */
    for (size_t k = 0; k < n; k++) {
        double d = fabs(after[k] - before[k]), a = fabs(after[k]);
        c = d > c ? d : c;
        s = a > s ? a : s;
    }
    *change = c, *size = s;
}

static double relative(double change, double size)
{
    return size > 0 ? change / size : change;
}

/* Whether a tolerance asks for a convergence check after `steps` steps. */
static int check_due(const otad_loop_opts *o, int steps)
{
    return o->tolerance > 0 && steps % o->check_every == 0;
}

/* Whether the state is converged: the residual if one is given (what it
 * records is dropped), else `change`, the relative change of the last step. */
static int converged(otad_tape *t, const otad_loop_opts *o, const loop_record *r,
                     const otad_var *state, double change)
{
    if (!o->residual)
        return change <= o->tolerance;
    otad_mark m = otad_tape_mark(t);
    double res = o->residual(t, state, r->params, r->instance);
    otad_tape_rewind(t, m);
    return res <= o->tolerance;
}

/* ---- UNROLL ------------------------------------------------------------- */

/* Every state stays on the tape: the change of a step is read there. */
static int unroll(otad_tape *t, const otad_loop_opts *o, loop_record *r, const otad_var *init,
                  otad_var *final)
{
    otad_var cur[OTAD_LOOP_MAX_STATE], next[OTAD_LOOP_MAX_STATE];
    memcpy(cur, init, r->n_state * sizeof *cur);
    int rc = check_state(t, r, cur);
    for (int l = 0; rc == OTAD_OK && l < o->iterations; l++) {
        if ((rc = r->step(t, cur, r->params, next, r->instance)) != OTAD_OK ||
            (rc = check_state(t, r, next)) != OTAD_OK)
            break;
        r->steps = l + 1;
        double change = 0, size = 0;
        for (size_t i = 0; check_due(o, r->steps) && !o->residual && i < r->n_state; i++)
            add_change(otad_value_of(t, cur[i]).data, otad_value_of(t, next[i]).data,
                       r->rows[i] * r->cols[i], &change, &size);
        memcpy(cur, next, r->n_state * sizeof *cur);
        if (check_due(o, r->steps) && converged(t, o, r, cur, relative(change, size)))
            break;
    }
    memcpy(final, cur, r->n_state * sizeof *final);
    return otad_tape_status(t) != OTAD_OK ? t->status : rc;
}

/* ---- CHECKPOINT and IMPLICIT: forward ----------------------------------- */

/* The nodes from before the loop that its steps read: the loop node's
 * inputs, so that the backward reaches them (and allocates their gradients
 * before any step is recorded again and dropped).  They are the entries
 * from `first` on of the tape's stack of them, which a later evaluation
 * reuses. */
static int push_input(otad_tape *t, otad_var v)
{
    if (t->n_loop_reads == t->cap_loop_reads) {
        size_t cap = t->cap_loop_reads ? 2 * t->cap_loop_reads : 32;
        otad_var *grown = otadA_sys_alloc(&t->mem, cap * sizeof *grown);
        if (!grown)
            return otad_tape_fail(t, OTAD_ENOMEM, "loop: out of memory for its inputs");
        if (t->n_loop_reads)
            memcpy(grown, t->loop_reads, t->n_loop_reads * sizeof *grown);
        otadA_sys_free(&t->mem, t->loop_reads, t->cap_loop_reads * sizeof *t->loop_reads);
        t->loop_reads = grown;
        t->cap_loop_reads = cap;
    }
    t->loop_reads[t->n_loop_reads++] = v;
    return OTAD_OK;
}

static int add_input(otad_tape *t, size_t first, otad_var v)
{
    for (size_t k = first; k < t->n_loop_reads; k++)
        if (t->loop_reads[k].index == v.index)
            return OTAD_OK;
    return push_input(t, v);
}

/* Add what the nodes recorded after mark m read from before it. */
static int find_reads(otad_tape *t, otad_mark m, size_t first)
{
    for (size_t k = m.nodes; k < t->n_nodes; k++) {
        const node *n = &t->nodes[k];
        for (uint32_t i = 0; i < n->n_in; i++)
            if (n->inputs[i] < m.nodes &&
                add_input(t, first, (otad_var){n->inputs[i], t->generation}) != OTAD_OK)
                return t->status;
    }
    return OTAD_OK;
}

/* Run the steps recording and dropping each; keep the checkpoints and the
 * last state, and add what they read to the loop's inputs. */
static int run_and_drop(otad_tape *t, const otad_loop_opts *o, loop_record *r, double *cur,
                        double *next, size_t first_input)
{
    size_t size = state_size(r);
    if (r->mode == OTAD_CHECKPOINT)
        memcpy(r->checkpoints, cur, size * sizeof *cur);
    for (int l = 0; l < o->iterations; l++) {
        otad_mark m = otad_tape_mark(t);
        otad_var state[OTAD_LOOP_MAX_STATE], out[OTAD_LOOP_MAX_STATE];
        state_leaves(t, r, cur, 0, state);
        int rc = r->step(t, state, r->params, out, r->instance);
        if (rc == OTAD_OK)
            rc = find_reads(t, m, first_input);
        if (rc == OTAD_OK)
            rc = pack(t, r, out, next);
        int done = 0;
        if (rc == OTAD_OK && check_due(o, l + 1)) {
            double change = 0, size = 0;
            if (!o->residual)
                add_change(cur, next, state_size(r), &change, &size);
            done = converged(t, o, r, out, relative(change, size));
        }
        otad_tape_rewind(t, m);
        if (rc != OTAD_OK || otad_tape_status(t) != OTAD_OK)
            return otad_tape_status(t) != OTAD_OK ? t->status : rc;
        memcpy(cur, next, size * sizeof *cur);
        r->steps = l + 1;
        if (r->mode == OTAD_CHECKPOINT && r->steps % r->every == 0)
            memcpy(r->checkpoints + (size_t)(r->steps / r->every) * size, cur,
                   size * sizeof *cur);
        if (done)
            break;
    }
    memcpy(r->final, cur, size * sizeof *cur);
    return OTAD_OK;
}

/* ---- the loop node and its parts ---------------------------------------- */

static int loop_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const loop_record *r = *(loop_record *const *)c->params;
    *rows = state_size(r);
    *cols = 1;
    return OTAD_OK;
}

static int loop_forward(otad_ctx *c)
{
    const loop_record *r = *(loop_record *const *)c->params;
    memcpy(c->out.data, r->final, state_size(r) * sizeof(double));
    return OTAD_OK;
}

/* Seed the outputs of recorded steps with a packed gradient (added: two
 * states may be one node). */
static int seed(otad_tape *t, const loop_record *r, const otad_var *out, const double *bar)
{
    for (size_t i = 0; i < r->n_state; i++) {
        double *g = otadT_grad(t, otadT_node(t, out[i]));
        if (!g)
            return t->status;
        for (size_t k = 0; k < r->rows[i] * r->cols[i]; k++)
            g[k] += bar[r->offset[i] + k];
    }
    return OTAD_OK;
}

/* The gradients that reached the state leaves, packed (zero where none did). */
static void leaf_gradients(otad_tape *t, const loop_record *r, const otad_var *leaves,
                           double *bar)
{
    for (size_t i = 0; i < r->n_state; i++) {
        const double *g = otad_grad(t, leaves[i]);
        size_t n = r->rows[i] * r->cols[i];
        if (g)
            memcpy(bar + r->offset[i], g, n * sizeof *bar);
        else
            memset(bar + r->offset[i], 0, n * sizeof *bar);
    }
}

/* Record steps from a packed state; out gets the last state. */
static int record_steps(otad_tape *t, const loop_record *r, const double *from, int count,
                        otad_var *leaves, otad_var *out)
{
    state_leaves(t, r, from, 1, leaves);
    otad_var cur[OTAD_LOOP_MAX_STATE];
    memcpy(cur, leaves, r->n_state * sizeof *cur);
    for (int s = 0; s < count; s++) {
        int rc = r->step(t, cur, r->params, out, r->instance);
        if (rc != OTAD_OK || otad_tape_status(t) != OTAD_OK)
            return otad_tape_status(t) != OTAD_OK ? t->status : rc;
        memcpy(cur, out, r->n_state * sizeof *cur);
    }
    return otad_tape_status(t);
}

/* Forget the gradients of nodes lo..hi: the next sweep starts from zero. */
static void forget_gradients(otad_tape *t, size_t lo, size_t hi)
{
    for (size_t k = lo; k <= hi; k++)
        t->nodes[k].grad_epoch = 0;
}

/* Segments between checkpoints, last first: each recorded, seeded with the
 * gradient of its last state, swept, and dropped; its first state's
 * gradient seeds the segment before. */
static int checkpoint_vjp(otad_ctx *c, const loop_record *r, double *const *in_grad)
{
    otad_tape *t = c->tape;
    size_t size = state_size(r);
    double *bar = otad_alloc(c, size * sizeof *bar);
    if (!bar)
        return OTAD_ENOMEM;
    memcpy(bar, c->out_grad, size * sizeof *bar);
    for (int j = (r->steps + r->every - 1) / r->every; j-- > 0;) {
        int first = j * r->every, count = r->steps - first < r->every ? r->steps - first
                                                                        : r->every;
        otad_mark m = otad_tape_mark(t);
        otad_var leaves[OTAD_LOOP_MAX_STATE], out[OTAD_LOOP_MAX_STATE];
        int rc = record_steps(t, r, r->checkpoints + (size_t)j * size, count, leaves, out);
        if (rc == OTAD_OK)
            rc = seed(t, r, out, bar);
        if (rc == OTAD_OK)
            rc = otadT_sweep(t, t->n_nodes - 1, leaves[0].index);
        leaf_gradients(t, r, leaves, bar);
        otad_tape_rewind(t, m);
        if (rc != OTAD_OK)
            return rc;
    }
    for (size_t i = 0; i < r->n_state; i++)
        for (size_t k = 0; in_grad[i] && k < r->rows[i] * r->cols[i]; k++)
            in_grad[i][k] += bar[r->offset[i] + k];
    return OTAD_OK;
}

/* ---- IMPLICIT: the adjoint at the fixed point --------------------------- */

/* GMRES restarts after this many J products.  The basis holds one state per
 * product (memory restart × state) and each product is orthogonalised
 * against all of them (work restart × state, little beside a sweep through
 * a step).  A loop contracts slowly through a few eigenvalues of J_x near 1;
 * with fewer directions than those GMRES stagnates (10 does on the ellipses'
 * MKE loss at ε = 0.01).  With 30, its adjoints take one cycle at ε = 0.01 (15
 * products, where iterating ξ ← x̄ + J_xᵀξ took 500 to more than 10000) and
 * at most two at ε = 0.001. */
enum { ADJOINT_RESTART = 30 };

/* One step recorded at the fixed point, its sweeps kept from the loop's
 * parameters by the gradient floor: a sweep seeded with w gives J_xᵀw. */
typedef struct fixed_point_step {
    otad_ctx *c;
    const loop_record *r;
    otad_var leaves[OTAD_LOOP_MAX_STATE], out[OTAD_LOOP_MAX_STATE];
    size_t lo, hi;
    int products;   /* sweeps so far */
    double *scale;  /* the relative adjoint's D = |x*|, or NULL */
    double *scaled; /* D⁻¹w, for the sweep */
} fixed_point_step;

/* aw = (I − J_xᵀ)w: one sweep through the step, seeded with w; for the
 * relative adjoint aw = (I − D J_xᵀ D⁻¹)w. */
static int apply_adjoint_system(fixed_point_step *s, int n, const double *w, double *aw)
{
    otad_tape *t = s->c->tape;
    forget_gradients(t, s->lo, s->hi);
    for (int i = 0; s->scale && i < n; i++)
        s->scaled[i] = w[i] / s->scale[i];
    int rc = seed(t, s->r, s->out, s->scale ? s->scaled : w);
    if (rc == OTAD_OK)
        rc = otadT_sweep(t, s->hi, s->lo);
    if (rc != OTAD_OK)
        return rc;
    s->products++;
    leaf_gradients(t, s->r, s->leaves, aw);
    for (int i = 0; s->scale && i < n; i++)
        aw[i] *= s->scale[i];
    cblas_dscal(n, -1, aw, 1);
    cblas_daxpy(n, 1, w, 1, aw, 1);
    return OTAD_OK;
}

/* GMRES's memory: restart + 1 basis vectors of n values; the Hessenberg
 * matrix (column-major, restart + 1 rows), made upper triangular by a Givens
 * rotation per column as it grows; the rotations; the rotated right-hand
 * side. */
typedef struct gmres_work {
    int n, restart;
    double *basis, *hessenberg, *cosines, *sines, *rhs;
    double *extra; /* the caller's vectors */
} gmres_work;

/* ξ and GMRES's memory for a state of size values, then `extra` vectors of
 * that size, from the tape: NULL (the tape failed) when out of memory. */
static double *adjoint_workspace(otad_ctx *c, size_t size, size_t extra, gmres_work *g)
{
    g->n = (int)size;
    /* the Krylov space has no more dimensions than the state */
    g->restart = size < ADJOINT_RESTART ? (int)size : ADJOINT_RESTART;
    size_t rows = (size_t)g->restart + 1, columns = (size_t)g->restart;
    double *xi = otad_alloc(c, ((1 + rows + extra) * size + rows * columns + 2 * columns +
                                rows) * sizeof *xi);
    if (!xi)
        return NULL;
    g->basis = xi + size;
    g->hessenberg = g->basis + rows * size;
    g->cosines = g->hessenberg + rows * columns;
    g->sines = g->cosines + columns;
    g->rhs = g->sines + columns;
    g->extra = g->rhs + rows;
    return xi;
}

/* One cycle from the residual basis[0]·beta.  Each product extends the
 * orthonormal basis of the Krylov space (Arnoldi, modified Gram–Schmidt) and
 * the triangular factor; |rhs[k]| is then the residual of the best
 * correction in the first k basis vectors, known without forming it.  Stops
 * once that is at most target, after the restart length, once the sweeps
 * reach max_products, or at a breakdown (the space is invariant: it holds
 * all GMRES can find).  *k gets the basis vectors used, rhs[0..k) the
 * triangular system's right-hand side; *singular is set when the last
 * product's column depends on the others: the system is singular on the
 * space and no correction in it lowers the residual below |rhs[k]|. */
static int gmres_cycle(fixed_point_step *s, gmres_work *g, double beta, double target,
                       int max_products, int *k, int *singular)
{
    int n = g->n, rows = g->restart + 1;
    cblas_dscal(n, 1 / beta, g->basis, 1);
    g->rhs[0] = beta;
    *k = 0;
    *singular = 0;
    for (int j = 0; j < g->restart && s->products < max_products; j++) {
        double *v = g->basis + (size_t)j * n, *w = v + n, *h = g->hessenberg + (size_t)j * rows;
        int rc = apply_adjoint_system(s, n, v, w);
        if (rc != OTAD_OK)
            return rc;
        /* w = (I − J_xᵀ)v_j, orthogonalised against the basis: a breakdown
         * when what is left of it is rounding */
        double image = cblas_dnrm2(n, w, 1);
        for (int i = 0; i <= j; i++) {
            const double *basis_i = g->basis + (size_t)i * n;
            h[i] = cblas_ddot(n, w, 1, basis_i, 1);
            cblas_daxpy(n, -h[i], basis_i, 1, w, 1);
        }
        double rest = cblas_dnrm2(n, w, 1);
        int breakdown = rest <= DBL_EPSILON * image;
        h[j + 1] = rest;
        /* the earlier rotations, then this column's, which zeroes h[j + 1]:
         * its pivot is the part of w that the earlier columns do not
         * account for; none, and the system is singular on the space */
        for (int i = 0; i < j; i++) {
            double upper = h[i], lower = h[i + 1];
            h[i] = g->cosines[i] * upper + g->sines[i] * lower;
            h[i + 1] = g->cosines[i] * lower - g->sines[i] * upper;
        }
        double pivot = hypot(h[j], h[j + 1]);
        if (pivot <= DBL_EPSILON * image) {
            *singular = 1;
            return OTAD_OK;
        }
        g->cosines[j] = h[j] / pivot;
        g->sines[j] = h[j + 1] / pivot;
        h[j] = pivot;
        h[j + 1] = 0;
        g->rhs[j + 1] = -g->sines[j] * g->rhs[j];
        g->rhs[j] *= g->cosines[j];
        *k = j + 1;
        if (fabs(g->rhs[j + 1]) <= target || breakdown)
            return OTAD_OK;
        cblas_dscal(n, 1 / rest, w, 1);
    }
    return OTAD_OK;
}

/* Solve (I − J_xᵀ)ξ = x̄ (beta = ‖x̄‖ > 0) by GMRES restarted every
 * g->restart products, until ‖x̄ − (I − J_xᵀ)ξ‖ ≤ tolerance·‖x̄‖.  From ξ = 0:
 * the first basis vector is x̄ itself, no sweep spent on a residual, and
 * the k-th iterate is the best in a space that holds the k-th fixed-point
 * iterate x̄ + J_xᵀx̄ + … + (J_xᵀ)^(k−1)x̄.  Each cycle ends with one more
 * sweep that computes the residual of the new ξ (rounding moves it from
 * what the rotations predict); max_products caps the sweeps.  OTAD_ENOCONV
 * when the residual stays above the tolerance: the cap, a singular system
 * (a loop with no fixed point, J_x = I), stagnation. */
static int solve_adjoint(fixed_point_step *s, gmres_work *g, const double *xbar, double beta,
                         double tolerance, int max_products, double *xi)
{
    int n = g->n, k = 0, singular = 0;
    double target = tolerance * beta, residual = beta;
    memset(xi, 0, (size_t)n * sizeof *xi);
    memcpy(g->basis, xbar, (size_t)n * sizeof *xi);
    /* A cycle needs a product, and its residual another.  One that gains
     * nothing would be repeated exactly by the next (the same space): the
     * residual is down to rounding, or GMRES stagnates. */
    double before = INFINITY;
    while (!(residual <= target) && residual < before && s->products + 2 <= max_products) {
        before = residual;
        int rc = gmres_cycle(s, g, residual, target, max_products - 1, &k, &singular);
        if (rc != OTAD_OK)
            return rc;
        if (singular) {
            residual = fabs(g->rhs[k]);
            break;
        }
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, k, g->hessenberg,
                    g->restart + 1, g->rhs, 1);
        cblas_dgemv(CblasColMajor, CblasNoTrans, n, k, 1, g->basis, n, g->rhs, 1, 1, xi, 1);
        if ((rc = apply_adjoint_system(s, n, xi, g->basis)) != OTAD_OK)
            return rc;
        cblas_dscal(n, -1, g->basis, 1);
        cblas_daxpy(n, 1, xbar, 1, g->basis, 1);
        residual = cblas_dnrm2(n, g->basis, 1);
    }
    if (residual <= target && isfinite(residual))
        return OTAD_OK;
    return otad_fail(s->c, OTAD_ENOCONV, "implicit adjoint not converged after %d iterations "
                     "(relative residual %.2g): the loop may be far from its fixed point",
                     s->products, residual / beta);
}

/* At the fixed point x = F(x, θ) the adjoint ξ solves (I − J_xᵀ)ξ = x̄, J_x
 * the Jacobian of one step there: solved with one recorded step whose
 * sweeps give J_xᵀw and are kept from the parameters (the gradient floor),
 * then one sweep that gives them J_θᵀξ.  The initial state gets no
 * gradient. */
static int implicit_vjp(otad_ctx *c, const loop_record *r)
{
    otad_tape *t = c->tape;
    size_t size = state_size(r);
    if (size > INT_MAX)
        return otad_fail(c, OTAD_EINVAL, "implicit adjoint: a state of %zu values is more "
                         "than BLAS takes", size);
    if (cblas_dnrm2((int)size, c->out_grad, 1) == 0)
        return OTAD_OK;  /* ξ = 0: nothing reaches the parameters */
    otad_mark m = otad_tape_mark(t);  /* the rewind drops the workspace too */
    gmres_work g;
    double *xi = adjoint_workspace(c, size, r->adjoint_relative ? 3 : 0, &g);
    if (!xi) {
        otad_tape_rewind(t, m);
        return OTAD_ENOMEM;
    }
    /* the relative adjoint solves (I − D Jᵀ D⁻¹)η = D x̄, then ξ = D⁻¹η */
    fixed_point_step s = {.c = c, .r = r};
    const double *xbar = c->out_grad;
    if (r->adjoint_relative) {
        s.scale = g.extra, s.scaled = g.extra + size;
        double *scaled_xbar = g.extra + 2 * size;
        for (size_t i = 0; i < size; i++) {
            s.scale[i] = r->final[i] != 0 ? fabs(r->final[i]) : 1;
            scaled_xbar[i] = s.scale[i] * xbar[i];
        }
        xbar = scaled_xbar;
    }
    int rc = record_steps(t, r, r->final, 1, s.leaves, s.out);
    size_t floor = t->grad_floor;
    s.lo = s.leaves[0].index, s.hi = t->n_nodes - 1;
    t->grad_floor = s.lo;
    if (rc == OTAD_OK)
        rc = solve_adjoint(&s, &g, xbar, cblas_dnrm2((int)size, xbar, 1),
                           r->adjoint_tolerance, r->adjoint_iterations, xi);
    for (size_t i = 0; rc == OTAD_OK && s.scale && i < size; i++)
        xi[i] /= s.scale[i];
    t->grad_floor = floor;
    if (rc == OTAD_OK) {
        forget_gradients(t, s.lo, s.hi);
        rc = seed(t, r, s.out, xi);
    }
    if (rc == OTAD_OK)
        rc = otadT_sweep(t, s.hi, s.lo);
    otad_tape_rewind(t, m);
    return rc;
}

static int loop_vjp(otad_ctx *c)
{
    const loop_record *r = *(loop_record *const *)c->params;
    /* c's argument arrays are the tape's, which the steps recorded here
     * reuse: the initial states' gradients are taken first (NULL for those
     * that need none: the sweeps here may move the tape's sink) */
    double *in_grad[OTAD_LOOP_MAX_STATE];
    for (size_t i = 0; i < r->n_state; i++)
        in_grad[i] = otad_needs_grad(c, i) ? c->in_grad[i] : NULL;
    return r->mode == OTAD_CHECKPOINT ? checkpoint_vjp(c, r, in_grad) : implicit_vjp(c, r);
}

static const otad_op op_loop = {.name = "loop", .arity = OTAD_VARIADIC,
                                .params_bytes = sizeof(loop_record *), .shape = loop_shape,
                                .forward = loop_forward, .vjp = loop_vjp};

/* State i of a loop node. */
typedef struct part_params {
    const loop_record *record;
    size_t i;
} part_params;

static int part_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const part_params *p = c->params;
    *rows = p->record->rows[p->i];
    *cols = p->record->cols[p->i];
    return OTAD_OK;
}

static int part_forward(otad_ctx *c)
{
    const part_params *p = c->params;
    memcpy(c->out.data, c->in[0].data + p->record->offset[p->i],
           c->out.rows * c->out.cols * sizeof(double));
    return OTAD_OK;
}

static int part_vjp(otad_ctx *c)
{
    const part_params *p = c->params; /* called only when the loop node needs a gradient */
    double *g = c->in_grad[0] + p->record->offset[p->i];
    for (size_t k = 0; k < c->out.rows * c->out.cols; k++)
        g[k] += c->out_grad[k];
    return OTAD_OK;
}

static const otad_op op_loop_part = {.name = "loop_state", .arity = 1,
                                     .params_bytes = sizeof(part_params), .shape = part_shape,
                                     .forward = part_forward, .vjp = part_vjp};

/* ---- entry -------------------------------------------------------------- */

static int check_options(const otad_loop_opts *o, otad_error *err)
{
    int rc = otadV_enum(err, "loop", "mode", (int)o->mode, OTAD_UNROLL, OTAD_IMPLICIT,
                        "OTAD_UNROLL, OTAD_CHECKPOINT or OTAD_IMPLICIT");
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, "loop", "iterations", o->iterations, 1, INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, "loop", "tolerance", o->tolerance);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, "loop", "check_every", o->check_every, 1, INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, "loop", "checkpoint_every", o->checkpoint_every, 0, INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, "loop", "adjoint_tolerance", o->adjoint_tolerance);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, "loop", "adjoint_iterations", o->adjoint_iterations, 1,
                             INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, "loop", "adjoint_relative", o->adjoint_relative, 0, 1);
    return rc;
}

static int check_loop(otad_tape *t, otad_step_fn step, size_t n_state, const otad_var *init,
                      size_t n_params, const otad_var *params, const otad_loop_opts *o,
                      otad_var *final)
{
    otad_error err;
    int rc = step ? OTAD_OK : otad_error_set(&err, OTAD_EINVAL, "loop: step is NULL");
    if (rc == OTAD_OK && (n_state == 0 || n_state > OTAD_LOOP_MAX_STATE))
        rc = otad_error_set(&err, OTAD_EINVAL, "loop: n_state is %zu, must be 1 to %d", n_state,
                            OTAD_LOOP_MAX_STATE);
    if (rc == OTAD_OK && n_params > OTAD_LOOP_MAX_PARAMS)
        rc = otad_error_set(&err, OTAD_EINVAL, "loop: n_params is %zu, must be 0 to %d",
                            n_params, OTAD_LOOP_MAX_PARAMS);
    if (rc == OTAD_OK)
        rc = otadV_not_null(&err, "loop", "init", init);
    if (rc == OTAD_OK && n_params)
        rc = otadV_not_null(&err, "loop", "params", params);
    if (rc == OTAD_OK)
        rc = otadV_not_null(&err, "loop", "final", final);
    if (rc == OTAD_OK)
        rc = check_options(o, &err);
    if (rc != OTAD_OK)
        return otadV_on_tape(t, rc, &err);
    for (size_t i = 0; i < n_state + n_params; i++)
        if (!otadT_node(t, i < n_state ? init[i] : params[i - n_state]))
            return otad_tape_fail(t, OTAD_EINVAL, "loop: %s %zu is not a node of this tape",
                                  i < n_state ? "state" : "param", i < n_state ? i : i - n_state);
    return OTAD_OK;
}

int otad_loop(otad_tape *t, otad_step_fn step, void *instance, size_t n_state,
              const otad_var *init, size_t n_params, const otad_var *params,
              const otad_loop_opts *opts, otad_var *final, int *steps)
{
    otad_loop_opts o;
    if (opts)
        o = *opts;
    else
        otad_loop_opts_init(&o);
    if (!t || t->status != OTAD_OK ||
        check_loop(t, step, n_state, init, n_params, params, &o, final) != OTAD_OK)
        return t ? t->status : OTAD_EINVAL;
    /* Everything the loop node keeps, allocated before any step is recorded
     * (and dropped): a rewind must not take it. */
    loop_record *r = otadA_alloc(&t->mem, sizeof *r);
    if (!r)
        return otad_tape_fail(t, OTAD_ENOMEM, "loop: out of memory");
    *r = (loop_record){.step = step, .instance = instance, .mode = o.mode, .n_state = n_state,
                       .n_params = n_params, .adjoint_tolerance = o.adjoint_tolerance,
                       .adjoint_iterations = o.adjoint_iterations,
                       .adjoint_relative = o.adjoint_relative};
    if (n_params)
        memcpy(r->params, params, n_params * sizeof *params);
    for (size_t i = 0; i < n_state; i++) {
        otad_value v = otad_value_of(t, init[i]);
        r->rows[i] = v.rows, r->cols[i] = v.cols;
        r->offset[i + 1] = r->offset[i] + v.rows * v.cols;
    }
    if (o.mode == OTAD_UNROLL) {
        int rc = unroll(t, &o, r, init, final);
        if (steps)
            *steps = r->steps;
        return rc;
    }
    size_t size = state_size(r), n_checkpoints = 0;
    if (o.mode == OTAD_CHECKPOINT) {
        r->every = o.checkpoint_every ? o.checkpoint_every
                                      : (int)ceil(sqrt((double)o.iterations));
        n_checkpoints = (size_t)(o.iterations / r->every) + 1;
    }
    double *buffers = otadA_alloc(&t->mem, (3 + n_checkpoints) * size * sizeof *buffers);
    if (!buffers)
        return otad_tape_fail(t, OTAD_ENOMEM, "loop: out of memory for %zu states",
                              3 + n_checkpoints);
    double *cur = buffers, *next = buffers + size;
    r->final = buffers + 2 * size;
    r->checkpoints = n_checkpoints ? buffers + 3 * size : NULL;
    /* the loop node's inputs: the initial states (input i is state i), then
     * the params and whatever else the steps read */
    size_t first = t->n_loop_reads;
    int rc = OTAD_OK;
    for (size_t i = 0; i < n_state && rc == OTAD_OK; i++)
        rc = push_input(t, init[i]);
    for (size_t i = 0; i < n_params && rc == OTAD_OK; i++)
        rc = add_input(t, first, params[i]);
    if (rc == OTAD_OK && (rc = pack(t, r, init, cur)) == OTAD_OK)
        rc = run_and_drop(t, &o, r, cur, next, first);
    if (steps)
        *steps = r->steps;
    otad_var node = rc == OTAD_OK ? otad_apply(t, &op_loop, &r, t->n_loop_reads - first,
                                               t->loop_reads + first)
                                  : (otad_var){0, 0};
    t->n_loop_reads = first;
    for (size_t i = 0; i < n_state && rc == OTAD_OK; i++) {
        part_params p = {r, i};
        final[i] = otad_apply(t, &op_loop_part, &p, 1, &node);
    }
    return otad_tape_status(t) != OTAD_OK ? t->status : rc;
}
