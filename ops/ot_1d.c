/* Exact optimal transport on the line for the cost |x − y|^p, p ≥ 1.
 *
 * The cost is a convex function of x − y, so on sorted supports the cost
 * matrix is Monge (c_ij + c_kl ≤ c_il + c_kj for i < k, j < l) and the
 * north-west corner rule — the quantile coupling — is optimal for any
 * masses.  The staircase it walks is a spanning tree of n + m − 1 cells
 * (some of mass 0 when partial sums of a and b meet), so the dual
 * potentials follow along it, one new point per step; Monge makes them
 * feasible everywhere, which the tests check. */
#include <math.h>
#include <stdlib.h>

#include "shape_rules.h"

/* Inputs as pointers and sizes, shared by the op and the plain function. */
typedef struct line_problem {
    size_t n, m;
    const double *x, *a, *y, *b;
    double p;
    double b_scale; /* Σa/Σb: b is used at a's mass */
} line_problem;

typedef struct sorted_point {
    double position;
    size_t index;
} sorted_point;

/* Ties broken by index, so the order (and the plan) does not depend on qsort. */
static int by_position(const void *l, const void *r)
{
    const sorted_point *u = l, *v = r;
    if (u->position != v->position)
        return u->position < v->position ? -1 : 1;
    return (u->index > v->index) - (u->index < v->index);
}

static void sort_points(const double *x, size_t n, sorted_point *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = (sorted_point){x[i], i};
    qsort(order, n, sizeof *order, by_position);
}

/* Validates one side; its total mass in *mass. */
static int check_side(const char *points, const double *x, const char *weights, const double *w,
                      size_t n, double *mass, otad_error *err)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return otad_error_set(err, OTAD_EDOMAIN, "%s[%zu] is %g (positions must be finite)",
                                  points, i, x[i]);
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return otad_error_set(err, OTAD_EDOMAIN, "%s[%zu] is %g (weights must be finite and "
                                  "non-negative)", weights, i, w[i]);
        sum += w[i];
    }
    if (!(sum > 0))
        return otad_error_set(err, OTAD_EDOMAIN, "%s is all zero (no mass to transport)",
                              weights);
    *mass = sum;
    return OTAD_OK;
}

static int check_problem(line_problem *pb, otad_error *err)
{
    if (!(pb->p >= 1) || !isfinite(pb->p))
        return otad_error_set(err, OTAD_EDOMAIN, "p is %g (must be finite and at least 1: "
                              "the cost |x − y|^p must be convex)", pb->p);
    if (pb->n == 0 || pb->m == 0)
        return otad_error_set(err, OTAD_EINVAL, "empty input: %zu points x, %zu points y",
                              pb->n, pb->m);
    if (pb->n > (size_t)1 << 40 || pb->m > (size_t)1 << 40)
        return otad_error_set(err, OTAD_EINVAL, "too large: %zu points x, %zu points y (at "
                              "most 2^40 each)", pb->n, pb->m);
    double mass_a, mass_b;
    int rc = check_side("x", pb->x, "a", pb->a, pb->n, &mass_a, err);
    if (rc == OTAD_OK)
        rc = check_side("y", pb->y, "b", pb->b, pb->m, &mass_b, err);
    if (rc != OTAD_OK)
        return rc;
    if (!(fabs(mass_a - mass_b) <= 1e-9 * fmax(mass_a, mass_b)))
        return otad_error_set(err, OTAD_EDOMAIN, "masses differ: a sums to %.17g, b to %.17g "
                              "(must agree to 1e-9 relative)", mass_a, mass_b);
    pb->b_scale = mass_a / mass_b;
    return OTAD_OK;
}

static double ground_cost(double d, double p)
{
    return p == 2 ? d * d : pow(fabs(d), p);
}

/* ∂/∂d |d|^p; 0 at d = 0 (for p = 1, the subgradient nearest 0). */
static double ground_cost_slope(double d, double p)
{
    double sign = (d > 0) - (d < 0);
    return p == 1 ? sign : p * pow(fabs(d), p - 1) * sign;
}

/* What a walk fills: n + m − 1 cells and the n and m potentials. */
typedef struct staircase {
    size_t *row, *col;
    double *mass;
    double *f, *g;
} staircase;

/* The north-west corner rule on the sorted supports.  A step leaves the row
 * or the column whose remaining mass is used up (the row on a tie: the next
 * cell then carries 0, and the cells still form a tree); the point entering
 * the tree gets the potential that makes its cell tight.  Returns the cost. */
static double walk_staircase(const line_problem *pb, const sorted_point *sx,
                             const sorted_point *sy, staircase *s)
{
    size_t i = 0, j = 0, ii = sx[0].index, jj = sy[0].index;
    double left_a = pb->a[ii], left_b = pb->b_scale * pb->b[jj], cost = 0;
    s->f[ii] = 0;
    s->g[jj] = ground_cost(pb->x[ii] - pb->y[jj], pb->p);
    for (size_t k = 0; k + 1 < pb->n + pb->m; k++) {
        double moved = fmin(left_a, left_b), c = ground_cost(pb->x[ii] - pb->y[jj], pb->p);
        s->row[k] = ii;
        s->col[k] = jj;
        s->mass[k] = moved;
        cost += moved * c;
        if (k + 2 == pb->n + pb->m)
            break;
        if (j + 1 == pb->m || (i + 1 < pb->n && left_a <= left_b)) {
            ii = sx[++i].index;
            left_b -= moved;
            left_a = pb->a[ii];
            s->f[ii] = ground_cost(pb->x[ii] - pb->y[jj], pb->p) - s->g[jj];
        } else {
            jj = sy[++j].index;
            left_a -= moved;
            left_b = pb->b_scale * pb->b[jj];
            s->g[jj] = ground_cost(pb->x[ii] - pb->y[jj], pb->p) - s->f[ii];
        }
    }
    return cost;
}

/* Sorts into order (n + m entries) and walks. */
static double solve_line(const line_problem *pb, sorted_point *order, staircase *s)
{
    sort_points(pb->x, pb->n, order);
    sort_points(pb->y, pb->m, order + pb->n);
    return walk_staircase(pb, order, order + pb->n, s);
}

/* ---- the op --------------------------------------------------------------- */

typedef struct ot_1d_saved {
    staircase plan;
    size_t cells;
} ot_1d_saved;

static line_problem problem_of(const otad_ctx *c)
{
    return (line_problem){c->in[0].rows, c->in[2].rows, c->in[0].data, c->in[1].data,
                          c->in[2].data, c->in[3].data, *(const double *)c->params, 1};
}

static int ot_1d_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    otad_value x = c->in[0], a = c->in[1], y = c->in[2], b = c->in[3];
    if (x.cols != 1 || a.cols != 1 || y.cols != 1 || b.cols != 1 || a.rows != x.rows ||
        b.rows != y.rows)
        return otad_fail(c, OTAD_ESHAPE, "x is %zux%zu, a %zux%zu, y %zux%zu, b %zux%zu (x and "
                         "a must be n×1, y and b m×1)", x.rows, x.cols, a.rows, a.cols, y.rows,
                         y.cols, b.rows, b.cols);
    return shape_scalar(c, rows, cols);
}

static int ot_1d_forward(otad_ctx *c)
{
    line_problem pb = problem_of(c);
    otad_error err;
    int rc = check_problem(&pb, &err);
    if (rc != OTAD_OK)
        return otad_fail(c, rc, "%s", err.message);
    ot_1d_saved *sv = c->saved;
    size_t cells = pb.n + pb.m - 1;
    sv->cells = cells;
    sv->plan.row = otad_alloc(c, 2 * cells * sizeof(size_t));
    sv->plan.mass = otad_alloc(c, (cells + pb.n + pb.m) * sizeof(double));
    sorted_point *order = otad_scratch(c, (pb.n + pb.m) * sizeof *order);
    if (!sv->plan.row || !sv->plan.mass || !order)
        return otad_fail(c, OTAD_ENOMEM, "no memory for a plan of %zu cells", cells);
    sv->plan.col = sv->plan.row + cells;
    sv->plan.f = sv->plan.mass + cells;
    sv->plan.g = sv->plan.f + pb.n;
    c->out.data[0] = solve_line(&pb, order, &sv->plan);
    return OTAD_OK;
}

/* w̄ += ḡ (w − mean w): the potentials projected on mass-preserving changes. */
static void add_centred(double *grad, const double *potential, size_t n, double g)
{
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += potential[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        grad[i] += g * (potential[i] - mean);
}

static int ot_1d_vjp(otad_ctx *c)
{
    const ot_1d_saved *sv = c->saved;
    line_problem pb = problem_of(c);
    double g = c->out_grad[0], *gx = otad_wanted_grad(c, 0), *gy = otad_wanted_grad(c, 2);
    if (gx || gy)
        for (size_t k = 0; k < sv->cells; k++) {
            size_t i = sv->plan.row[k], j = sv->plan.col[k];
            double slope = g * sv->plan.mass[k] * ground_cost_slope(pb.x[i] - pb.y[j], pb.p);
            if (gx)
                gx[i] += slope;
            if (gy)
                gy[j] -= slope;
        }
    if (otad_needs_grad(c, 1))
        add_centred(c->in_grad[1], sv->plan.f, pb.n, g);
    if (otad_needs_grad(c, 3))
        add_centred(c->in_grad[3], sv->plan.g, pb.m, g);
    return OTAD_OK;
}

static const otad_op op_ot_1d = {.name = "ot_1d", .arity = 4, .params_bytes = sizeof(double),
                                 .saved_bytes = sizeof(ot_1d_saved), .shape = ot_1d_shape,
                                 .forward = ot_1d_forward, .vjp = ot_1d_vjp};

otad_var otad_ot_1d(otad_tape *t, otad_var x, otad_var a, otad_var y, otad_var b, double p)
{
    otad_var in[4] = {x, a, y, b};
    return otad_apply(t, &op_ot_1d, &p, 4, in);
}

/* ---- outside a tape --------------------------------------------------------- */

int otad_ot_1d_plan(size_t n, const double *x, const double *a, size_t m, const double *y,
                    const double *b, double p, otad_plan_1d *plan, otad_error *err)
{
    const char *null = !x ? "x" : !a ? "a" : !y ? "y" : !b ? "b" : !plan ? "plan"
                     : !plan->row ? "plan->row" : !plan->col ? "plan->col"
                     : !plan->mass ? "plan->mass" : NULL;
    if (null)
        return otad_error_set(err, OTAD_EINVAL, "ot_1d_plan: %s is NULL", null);
    line_problem pb = {n, m, x, a, y, b, p, 1};
    otad_error why;
    int rc = check_problem(&pb, &why);
    if (rc != OTAD_OK)
        return otad_error_set(err, rc, "ot_1d_plan: %s", why.message);
    sorted_point *order = malloc((n + m) * sizeof *order);
    double *own = malloc((n + m) * sizeof *own);
    if (!order || !own) {
        free(order), free(own);
        return otad_error_set(err, OTAD_ENOMEM, "ot_1d_plan: no memory to sort %zu points",
                              n + m);
    }
    /* the potentials are computed whether wanted or not: the walk needs them */
    staircase s = {plan->row, plan->col, plan->mass, plan->f ? plan->f : own,
                   plan->g ? plan->g : own + n};
    plan->cost = solve_line(&pb, order, &s);
    plan->cells = n + m - 1;
    free(order), free(own);
    return OTAD_OK;
}
