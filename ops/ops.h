/** @file
 * otad ops — differentiable operations recorded on a tape.
 *
 * Every function records one op and returns its node, or an invalid handle
 * when the tape has failed (then otad_tape_status/otad_tape_message say why:
 * messages start with the op's name).  Values are column-major; columns are
 * the batch dimension.
 */
#ifndef OTAD_OPS_H
#define OTAD_OPS_H

#include "../ad/ad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- elementwise -------------------------------------------------------- */

/**@{*/
/** a ∘ b entry by entry (+, −, ·).  Shapes broadcast per dimension: each of a and b has
 * the output's rows or 1 row, and its columns or 1 column — so a scalar (1×1),
 * a column (N×1) or a row (1×B) combines with an N×B value.  Gradients of a
 * broadcast operand are summed over the dimensions it was repeated along. */
otad_var otad_add(otad_tape *tape, otad_var a, otad_var b);
otad_var otad_sub(otad_tape *tape, otad_var a, otad_var b);
otad_var otad_mul(otad_tape *tape, otad_var a, otad_var b);
/**@}*/
/** a / b, broadcast as otad_add; b must have no zero. */
otad_var otad_div(otad_tape *tape, otad_var a, otad_var b);
/** x·log(y), 0 where x = 0 (so 0·log 0 = 0); y > 0 where x ≠ 0. */
otad_var otad_xlogy(otad_tape *tape, otad_var x, otad_var y);
/**@{*/
/** The larger (smaller) of a and b, a NaN on either side the result; where
 * they tie, each gets half the gradient. */
otad_var otad_maximum(otad_tape *tape, otad_var a, otad_var b);
otad_var otad_minimum(otad_tape *tape, otad_var a, otad_var b);
/**@}*/

otad_var otad_scale(otad_tape *tape, otad_var x, double alpha);   /**< αx */
otad_var otad_exp(otad_tape *tape, otad_var x);                   /**< e^x */
otad_var otad_expm1(otad_tape *tape, otad_var x);                 /**< e^x − 1, accurate near 0 */
otad_var otad_log(otad_tape *tape, otad_var x);                   /**< x > 0 */
/** x^p; x ≥ 0 unless p is an integer, and x ≠ 0 when p < 0. */
otad_var otad_pow(otad_tape *tape, otad_var x, double p);
otad_var otad_tanh(otad_tape *tape, otad_var x);                  /**< an activation */
otad_var otad_sigmoid(otad_tape *tape, otad_var x);               /**< 1/(1 + e^(−x)) */
otad_var otad_softplus(otad_tape *tape, otad_var x);              /**< log(1 + e^x), stable */
/** √x, x ≥ 0; its gradient at 0 is infinite, as the derivative. */
otad_var otad_sqrt(otad_tape *tape, otad_var x);

/**@{*/
/** With kinks, the gradient at a kink one side's: abs and relu give 0 at 0;
 * clip passes it on for lo ≤ x ≤ hi (lo ≤ hi, either may be infinite). */
otad_var otad_abs(otad_tape *tape, otad_var x);
otad_var otad_relu(otad_tape *tape, otad_var x);                  /**< max(x, 0) */
otad_var otad_clip(otad_tape *tape, otad_var x, double lo, double hi);
/**@}*/
/** Huber's penalty: x²/2 where |x| ≤ δ, δ(|x| − δ/2) beyond (δ > 0, finite):
 * quadratic near 0, linear in the tails, smooth. */
otad_var otad_huber(otad_tape *tape, otad_var x, double delta);

/* ---- reductions ----------------------------------------------------------- */

otad_var otad_sum(otad_tape *tape, otad_var x);        /**< 1×1: all entries */
otad_var otad_sum_cols(otad_tape *tape, otad_var x);   /**< 1×B: each column */
otad_var otad_mean(otad_tape *tape, otad_var x);       /**< 1×1: all entries */
otad_var otad_mean_cols(otad_tape *tape, otad_var x);  /**< 1×B: each column */
otad_var otad_mean_rows(otad_tape *tape, otad_var x);  /**< N×1: each row */
otad_var otad_dot(otad_tape *tape, otad_var a, otad_var b); /**< 1×1: Σ a_ij b_ij, same shapes */

/** Per column, stable for any finite input (the column maximum is shifted out). */
otad_var otad_softmax(otad_tape *tape, otad_var x);    /**< N×B */
otad_var otad_logsumexp(otad_tape *tape, otad_var x);  /**< 1×B */

/* ---- linear algebra ----------------------------------------------------- */

/** op(a)·op(b) through cblas_dgemm, op(x) = xᵀ when its flag is set. */
otad_var otad_matmul(otad_tape *tape, otad_var a, int transpose_a, otad_var b, int transpose_b);

/* ---- arranging values --------------------------------------------------- */

/**@{*/
/** Side by side (same rows) or one above the other (same columns). */
otad_var otad_hcat(otad_tape *tape, size_t n, const otad_var *xs);
otad_var otad_vcat(otad_tape *tape, size_t n, const otad_var *xs);
/**@}*/

/** The block of rows [row, row+rows) and columns [col, col+cols) of x. */
otad_var otad_slice(otad_tape *tape, otad_var x, size_t row, size_t rows, size_t col, size_t cols);

/** Columns [first, first+count) of x. */
otad_var otad_cols(otad_tape *tape, otad_var x, size_t first, size_t count);

/** The same entries in column-major order as a rows×cols value. */
otad_var otad_reshape(otad_tape *tape, otad_var x, size_t rows, size_t cols);

/** The columns of x, each repeated `times` times in a row: column f of x
 * becomes columns f·times … f·times + times − 1. */
otad_var otad_repeat_cols(otad_tape *tape, otad_var x, size_t times);

/** x side by side with itself `times` times: [x x … x]. */
otad_var otad_tile_cols(otad_tape *tape, otad_var x, size_t times);

/**@{*/
/** Indexing by a list of n positions (a position may repeat).  Each of the
 * gathers is the adjoint of the scatter-add of the same index: rows
 * index[0..n) of x (n×cols), and a rows×cols value, zero but for row
 * index[k] of it getting row k of x (x has n = x.rows rows); the same for
 * entries, by column-major position (the gather n×1, the scatter's x any
 * shape with n entries).  An index out of range is OTAD_EINVAL naming it. */
otad_var otad_gather_rows(otad_tape *tape, otad_var x, size_t n, const size_t *index);
otad_var otad_scatter_add_rows(otad_tape *tape, otad_var x, size_t rows, const size_t *index);
otad_var otad_gather(otad_tape *tape, otad_var x, size_t n, const size_t *index);
otad_var otad_scatter_add(otad_tape *tape, otad_var x, size_t rows, size_t cols,
                          const size_t *index);
/**@}*/

/** Per block: x is N×(R·F), w is R×F; column f of the N×F result is
 * Σ_r w[r, f] · x[:, f·R + r] (F weighted combinations of R columns each). */
otad_var otad_combine_blocks(otad_tape *tape, otad_var x, otad_var w);

/* ---- penalties ------------------------------------------------------------ */

/** The smoothed total variation of each column of x, a function on a grid of
 * dims[0] × … × dims[n_axes − 1] points (n_axes 1 to 3, the first axis
 * fastest, as column-major images): with Δ_a the forward difference along
 * axis a (none past an axis's last point) and η > 0 the smoothing,
 *   anisotropic: Σ_points Σ_a (√(Δ_a² + η²) − η),
 *   isotropic:   Σ_points (√(Σ_a Δ_a² + η²) − η),
 * 0 for a constant, and TV itself as η → 0 (where it is not smooth).  1×B. */
otad_var otad_total_variation(otad_tape *tape, otad_var x, size_t n_axes, const size_t *dims,
                              double eta, int isotropic);

/* ---- costs -------------------------------------------------------------- */

/** C_ij = ‖x_i − y_j‖² between the rows of x (n×d) and of y (m×d): n×m,
 * differentiable in both point sets.  Any n×m tape value can serve as a
 * cost as well. */
otad_var otad_sqdist(otad_tape *tape, otad_var x, otad_var y);

/* ---- kernels ------------------------------------------------------------ */

/** The most parameters a kernel takes. */
#define OTAD_KERNEL_MAX_PARAMS 4

/** A kernel is a linear operator K (rows×cols) on blocks of columns, living on
 * a tape as one node whose inputs are its parameters (a cost matrix, edge
 * weights: ordinary tape values).  Sinkhorn, barycenters and losses use
 * kernels only through otad_kernel_apply and otad_kernel_apply_log, so they
 * work with any kernel below or a new one (see "writing a kernel").  A step
 * of otad_loop may apply a kernel it reaches through its instance: the loop
 * finds the kernel and its parameters by itself. */
typedef struct otad_kernel {
    otad_var node; /**< the kernel's node on its tape */
} otad_kernel;

/** What an apply multiplies by: K, or Kᵀ, or the cost-weighted K ⊙ C (C the
 * cost the kernel stands for: K = exp(−C/ε)), or its transpose. */
enum {
    OTAD_KERNEL_TRANSPOSE = 1u, /**< Kᵀ instead of K */
    OTAD_KERNEL_COST = 2u       /**< K ⊙ C instead of K */
};

/** op(K)·x for the N×B columns of x. */
otad_var otad_kernel_apply(otad_tape *tape, otad_kernel k, unsigned product, otad_var x);

/** log(op(K)·exp(x)) per column, computed without forming exp(x), so that it
 * stays finite where exp(x) or the product leaves the range of doubles (the
 * log-domain Sinkhorn).  Only for kernels whose class has apply_log. */
otad_var otad_kernel_apply_log(otad_tape *tape, otad_kernel k, unsigned product, otad_var x);

/** The two applies of a scaling update (Sinkhorn's u = a ⊘ K v, v = b ⊘ Kᵀu)
 * as one op: with p = op(K)·x, s = num ⊘ p and y = op(K)ᵀ·s, the value
 * stacks s above y, (R + N)×B for op(K) of size R×N, x N×B and num R×B or
 * R×1.  A kernel whose class has apply_pair reads itself once for both
 * products.  An entry of p that is not positive, or of s that is not
 * finite, fails with OTAD_ERANGE. */
otad_var otad_kernel_scaling_pair(otad_tape *tape, otad_kernel k, unsigned product, otad_var x,
                                  otad_var num);
/** The unbalanced update's pair (Sinkhorn's v/b = (Kᵀu)^(−λ), then K v):
 * with p = op(K)·x, r = p^(−λ) and y = op(K)ᵀ·(num ⊙ r), the value stacks
 * r above y; λ finite and > 0.  Errors as the above's. */
otad_var otad_kernel_scaling_pair_power(otad_tape *tape, otad_kernel k, unsigned product,
                                        otad_var x, otad_var num, double lambda);

/** What a kernel is (otad_kernel_info_of). */
typedef struct otad_kernel_info {
    size_t rows;        /**< K is rows×cols */
    size_t cols;        /**< (it maps cols-vectors to rows-vectors) */
    double eps;         /**< the ε of K = exp(−C/ε) */
    int has_cost;       /**< OTAD_KERNEL_COST products are available */
    int has_log;        /**< otad_kernel_apply_log is available */
    double flops;       /**< floating-point operations of one apply to one column */
} otad_kernel_info;

/** Size and ε of a kernel; zeroed for an invalid one. */
otad_kernel_info otad_kernel_info_of(const otad_tape *tape, otad_kernel k);

/** Gibbs kernel K = exp(−C/ε) of an n×m cost C, differentiable in C (so in the
 * points C was computed from).  K is stored; its gradient to C from all the
 * applies of one backward is formed by blocked matrix products, never one
 * n×m update per apply. */
otad_kernel otad_kernel_gibbs(otad_tape *tape, otad_var cost, double eps);

/** The same for the squared distances between the rows of x (n×d) and y
 * (m×d), differentiable in both, storing K only: C is recomputed where
 * needed and C̄ formed block by block into x̄ and ȳ, so the tape holds one
 * n×m matrix where otad_sqdist + otad_kernel_gibbs hold three (C, K, C̄). */
otad_kernel otad_kernel_gibbs_points(otad_tape *tape, otad_var x, otad_var y, double eps);

/** The Gibbs kernel K_ij = exp(−‖x_i − y_j‖^power/ε) of the rows of x (n×d)
 * and y (m×d), never stored: every product and every gradient computes the
 * entries it needs tile by tile (vectorised exponentials, OpenMP over
 * blocks of rows) and drops them, so the memory is O((n + m)(d + B)) for B
 * columns, where otad_kernel_gibbs_points holds n·m doubles; each product
 * costs n·m exponentials instead of a pass over K.  power 2 is the squared
 * Euclidean cost (the kernel of otad_kernel_gibbs_points), 1 the Euclidean
 * distance (its gradient taken as 0 where two points coincide); any finite
 * power ≥ 1.  Cost products, the log domain and ε-scaling are available;
 * differentiable in x and y.  Refused with a message: points of different
 * dimensions (OTAD_ESHAPE), ε not positive and finite or power below 1
 * (OTAD_EDOMAIN), invalid handles (OTAD_EINVAL). */
otad_kernel otad_kernel_points_online(otad_tape *tape, otad_var x, otad_var y, double eps,
                                      double power);

/** Separable Gaussian kernel on the regular grid of [0,1]^d (d = 1, 2, 3) with
 * shape[a] points along axis a at i/(shape[a] − 1): K = exp(−‖x − y‖²/ε),
 * applied axis by axis.  A value on the grid is a column of ∏ shape[a]
 * entries, axis 0 fastest (a row-major image of width shape[0]).  No
 * parameters.  Refused with a message naming the argument: a NULL shape or
 * d outside 1..3 (OTAD_EINVAL), an axis outside 2..65536 points or more
 * than 2^31 in all (OTAD_EINVAL), ε not positive and finite (OTAD_EDOMAIN). */
otad_kernel otad_kernel_grid(otad_tape *tape, size_t dims, const size_t *shape, double eps);

/* ---- graphs and the heat kernel ---------------------------------------- */

/** An undirected connected graph for heat kernels: vertices 0..n−1, edges
 * given as vertex pairs, each with a Laplacian scale (for grids, 1/h² along
 * the edge's axis).  Holds the sparsity analysis of I − τL_w, done once and
 * read by every kernel built on it (each kernel owns its factorisation):
 * kernels on one graph may run on several tapes and threads at once. */
typedef struct otad_graph otad_graph;

/** ends holds 2·n_edges vertex indices (edge e joins ends[2e] and ends[2e+1]);
 * scale holds n_edges Laplacian scales, or is NULL for 1. */
int otad_graph_new(otad_graph **graph, size_t n_vertices, size_t n_edges, const size_t *ends,
                   const double *scale, otad_error *err);

/**@{*/
/** Grid graphs on [0,1]^d, vertex (x, y[, z]) at index x + nx·(y + ny·z),
 * with spacing 1/(n−1) per axis and scales (n−1)²: w ≡ 1 approximates the
 * continuous heat kernel.  Edges: first every x-edge (x,y)–(x+1,y), index
 * y·(nx−1) + x (per z layer in 3-D), then every y-edge, then every z-edge —
 * the order of the metric-learning reference (Heitz et al. 2020). */
int otad_graph_grid2d(otad_graph **graph, size_t nx, size_t ny, otad_error *err);
int otad_graph_grid3d(otad_graph **graph, size_t nx, size_t ny, size_t nz, otad_error *err);
/**@}*/

/** Number of vertices (0 for graph NULL). */
size_t otad_graph_vertices(const otad_graph *graph);
/** Number of edges (0 for graph NULL). */
size_t otad_graph_edges(const otad_graph *graph);
/** Endpoints of edge e (for regularisers that need neighbouring edges);
 * SIZE_MAX for a NULL graph or an edge it does not have. */
void otad_graph_edge(const otad_graph *graph, size_t e, size_t *i, size_t *j);

/** A grid graph's shape (points per axis) and its number of axes; 0 (and
 * zeros) for a graph made from an edge list. */
size_t otad_graph_grid_shape(const otad_graph *graph, size_t shape[3]);

/**@{*/
/** Edge neighbours, for smoothness priors on edge weights.  By default, on a
 * grid graph the edges of the same orientation next to an edge in that
 * orientation's array (±1 along each axis: up to 4 in 2-D, 6 in 3-D; Heitz
 * et al. 2020, Fig. 2); on a graph from an edge list, the edges sharing an endpoint
 * with it (Σ_v deg v·(deg v − 1) entries in all).  The graph holds them from
 * its creation.  Or the caller's: edge e's neighbours are list[start[e] ..
 * start[e+1]) (start has n_edges + 1 entries; lists are copied, need not be
 * symmetric; not while a tape uses the graph).  edge_neighbours gives edge
 * e's list and its length, borrowed from the graph. */
int otad_graph_set_edge_neighbours(otad_graph *graph, const size_t *start, const size_t *list,
                                   otad_error *err);
int otad_graph_edge_neighbours(const otad_graph *graph, size_t e, const size_t **list,
                               size_t *count, otad_error *err);
/**@}*/

/** (D w)_e = Σ_{e' neighbour of e} (w_e − w_e') for the columns of w
 * (n_edges × B): ‖D w‖² is the smoothness prior f_s of Heitz et al. (2020), eq. (9). */
otad_var otad_edge_differences(otad_tape *tape, otad_graph *graph, otad_var w);

/** Frees the graph and sets *graph to NULL.  Kernels built on it must not be
 * applied, nor their tapes' backward run, after this. */
void otad_graph_free(otad_graph **graph);

/** Heat kernel K = M^(−S), M = I − ε/(4S)·L_w, L_w = W − diag(W·1) with
 * W_ij = scale_e·w_e on edge e = (i, j): S sparse solves with one Cholesky
 * factorisation per evaluation (CHOLMOD, analysis shared by the graph).
 * w (n_edges×1, positive) is a tape value; its gradient is recomputed in
 * backward, never stored per solve.  Symmetric; no cost products. */
otad_kernel otad_kernel_heat(otad_tape *tape, otad_graph *graph, otad_var w, double eps,
                             int steps);

/* ---- sparse SPD solves -------------------------------------------------- */

/** The sparsity pattern of a symmetric positive definite n×n matrix: its lower
 * triangle in compressed columns (col_start[n+1], row[nnz]; the diagonal
 * present in every column), analysed once. */
typedef struct otad_spd_pattern otad_spd_pattern;

/** Check and analyse a pattern (CHOLMOD's ordering and symbolic
 * factorisation); *pattern is NULL on failure: OTAD_EINVAL naming a column
 * or row out of order, OTAD_ENOMEM. */
int otad_spd_pattern_new(otad_spd_pattern **pattern, size_t n, const size_t *col_start,
                         const size_t *row, otad_error *err);
/** Free the pattern and set *pattern to NULL; no solve on it may run after. */
void otad_spd_pattern_free(otad_spd_pattern **pattern);

/** x = A⁻¹b for the N×B columns of b, A given by its nnz lower-triangle
 * values on the pattern (a tape value, nnz×1).  Gradients: b̄ = A⁻¹x̄ and,
 * on the pattern, Ā_ij = −(b̄_i x_j + b̄_j x_i) (−b̄_i x_i on the diagonal). */
otad_var otad_spd_solve(otad_tape *tape, otad_spd_pattern *pattern, otad_var values,
                        otad_var b);

/* ---- losses between histograms ----------------------------------------- */

/**@{*/
/** 1×B, one loss per column of p; q has p's shape or is one column.  Heitz et
 * al. (2020), eq. (10)–(12):
 *   L1 = Σ_i |p_i − q_i|          (gradient sign(p − q), 0 where equal)
 *   L2 = Σ_i (p_i − q_i)²
 *   KL = Σ_i p_i log(p_i/q_i) − p_i + q_i    (p ≥ 0 with 0·log 0 = 0, q > 0)
 * The Sinkhorn losses are in solvers/ (they run Sinkhorn). */
otad_var otad_loss_l1(otad_tape *tape, otad_var p, otad_var q);
otad_var otad_loss_l2(otad_tape *tape, otad_var p, otad_var q);
otad_var otad_loss_kl(otad_tape *tape, otad_var p, otad_var q);
/**@}*/

/* ---- writing a kernel --------------------------------------------------- */

/** Where an apply's vjp adds the kernel's parameter gradients: one buffer
 * per parameter, the parameter's shape, NULL when that parameter needs no
 * gradient in this backward.  Add into them, never assign. */
typedef struct otad_kernel_grads {
    size_t n_params;                       /**< the kernel's parameters */
    double *param[OTAD_KERNEL_MAX_PARAMS]; /**< their gradients, or NULL */
} otad_kernel_grads;

/** One apply y = op(K)·x (or its log-domain form) seen from backward: its
 * input x, output y and the gradient ybar of y.  xbar (x's shape) receives
 * op(K)ᵀ·ybar; NULL when x needs no gradient. */
typedef struct otad_kernel_vjp_args {
    unsigned product;   /**< the apply's product (OTAD_KERNEL_TRANSPOSE, _COST) */
    size_t ncols;       /**< its number of columns */
    const double *x;    /**< its input */
    const double *y;    /**< its output */
    const double *ybar; /**< the output's gradient */
    double *xbar;       /**< where the input's gradient is added, or NULL */
} otad_kernel_vjp_args;

/** Elementwise work between the two products of a pair: entries [first,
 * first + count) of every column of mid, in place.  Called once for each
 * entry, in any order, possibly from several threads for disjoint ranges. */
typedef struct otad_kernel_map {
    /** Map mid's entries [first, first + count) of every column in place. */
    void (*entries)(void *data, size_t first, size_t count, double *mid);
    void *data; /**< passed to entries */
} otad_kernel_map;

/** A kernel implementation: a linear operator with parameters.  Functions
 * get the ctx of the op being run (for otad_alloc, otad_scratch and
 * otad_fail; c->in are the kernel's parameters in setup only) and the
 * kernel's state (state_bytes, zeroed); vjp and vjp_log are called only when
 * x or some parameter wants a gradient.  Optional members may be NULL. */
typedef struct otad_kernel_class {
    const char *name;   /**< prefixes its error messages */
    size_t state_bytes; /**< size of its state, zeroed before setup */
    /** Build the kernel from its parameters (c->in) and config; fill info
     * (rows, cols, eps > 0, has_cost, flops; has_log is set from apply_log). */
    int (*setup)(otad_ctx *c, void *state, const void *config, otad_kernel_info *info);
    /** y ← β·y + op(K)·x on ncols columns (β is 0 or 1). */
    int (*apply)(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                 const double *x, double beta, double *y);
    /** The gradients of one apply: a->xbar += op(K)ᵀ·ybar when not NULL, and
     * each parameter's share into grads.  Needed when the kernel has
     * parameters; NULL: xbar through apply with the product transposed. */
    int (*vjp)(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
               const otad_kernel_grads *grads);
    /** Optional: mid = op(K)·x, then map, then y ← β·y + op(K)ᵀ·mid, on ncols
     * columns (mid has op(K)'s rows) — for a kernel that can read itself
     * once for both products.  NULL: two applies with the map between. */
    int (*apply_pair)(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                      const double *x, const otad_kernel_map *map, double *mid, double beta,
                      double *y);
    /** Optional: add into grads what vjp deferred (a kernel may collect the
     * terms of all its applies and form them at once).  Called once per
     * backward at the kernel's node, after the last apply's vjp, whenever
     * a parameter needed a gradient. */
    int (*finish)(const otad_ctx *c, void *state, const otad_kernel_grads *grads);
    /** Optional: y = log(op(K)·exp(x)), and its gradients (same arguments, x
     * and y in the log domain; required with apply_log). */
    int (*apply_log)(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                     const double *x, double *y);
    /** The gradients of one log apply (see apply_log). */
    int (*vjp_log)(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                   const otad_kernel_grads *grads);
    /** Optional: y = log(op(K_η)·exp(x)) for K_η = exp(−C/η), the kernel of
     * the same cost at another ε, η > 0; product 0 or OTAD_KERNEL_TRANSPOSE.
     * Values only, no gradient: what the early stages of Sinkhorn's
     * ε-scaling apply, whose result only starts the solve at the kernel's
     * own ε (see otad_sinkhorn_opts). */
    int (*apply_log_at)(const otad_ctx *c, void *state, double eta, unsigned product,
                        size_t ncols, const double *x, double *y);
    /** Optional: free outside resources. */
    void (*release)(void *state);
} otad_kernel_class;

/** Record a kernel of class cls on its parameters (at most
 * OTAD_KERNEL_MAX_PARAMS); config is read by setup, during this call only. */
otad_kernel otad_kernel_new(otad_tape *tape, const otad_kernel_class *cls, const void *config,
                            size_t n_params, const otad_var *params);

/* ---- kernels inside other ops -------------------------------------------- */

/** An op that runs many applies inside its own forward and vjp (a fused
 * iteration, which keeps only what its backward needs) takes the kernel's
 * inputs among its own — otad_kernel_inputs writes them, the kernel's node
 * and parameters, and returns their number — and the kernel's handle in its
 * params.  It calls the kernel through otad_kernel_call and, in its vjp,
 * otad_kernel_call_vjp with the grads of otad_kernel_grads_at.  Buffers
 * given to a kernel come from otad_alloc or the op's own otad_scratch (the
 * kernel runs a depth deeper, with its own). */
typedef struct otad_kernel_handle otad_kernel_handle;

/** The most inputs otad_kernel_inputs writes. */
#define OTAD_KERNEL_MAX_INPUTS (1 + OTAD_KERNEL_MAX_PARAMS)

/** Write the kernel's node and parameters to inputs; returns their number
 * (0 with the tape failed). */
size_t otad_kernel_inputs(otad_tape *tape, otad_kernel k, otad_var inputs[OTAD_KERNEL_MAX_INPUTS]);

/** The kernel behind k, owned by its tape; NULL with the tape failed. */
otad_kernel_handle *otad_kernel_handle_of(otad_tape *tape, otad_kernel k);

/** Zeroed for k NULL. */
otad_kernel_info otad_kernel_handle_info(const otad_kernel_handle *k);

/** In the op's vjp: where the kernel's parameter gradients go, the kernel's
 * inputs being the op's inputs from `first` on (none for c or k NULL). */
otad_kernel_grads otad_kernel_grads_at(const otad_ctx *c, const otad_kernel_handle *k,
                                       size_t first);

/** y ← β·y + op(K)·x on ncols columns (β is 0 or 1).  A NULL kernel, x or y,
 * ncols 0, or a product the kernel does not have fails the calling op
 * (OTAD_EINVAL, "kernel call: ..."); c NULL is OTAD_EINVAL. */
int otad_kernel_call(const otad_ctx *c, otad_kernel_handle *k, unsigned product, size_t ncols,
                     const double *x, double beta, double *y);

/** The gradients of one such apply: args->xbar (if not NULL) += op(K)ᵀ·ybar,
 * and the parameters' share into grads. */
int otad_kernel_call_vjp(const otad_ctx *c, otad_kernel_handle *k,
                         const otad_kernel_vjp_args *args, const otad_kernel_grads *grads);

/* ---- closed forms ------------------------------------------------------- */

/** Exact optimal transport on the line for the cost c(x, y) = |x − y|^p,
 * p ≥ 1: points x (n×1) with masses a (n×1), y (m×1) with masses b (m×1),
 * masses finite and ≥ 0, Σa = Σb to 1e-9 relative (b is rescaled to Σa).
 * The cost is convex in x − y, so the monotone (quantile) coupling is
 * optimal: the north-west corner rule on the sorted supports, n + m − 1
 * cells.  1×1: Σ P_ij c(x_i, y_j).  Gradients: x̄_i = Σ_j P_ij ∂c/∂x_i, ȳ
 * likewise; ā = f − mean(f), b̄ = g − mean(g) with f, g the dual potentials
 * of the coupling (f_i + g_j = c_ij on its cells) — centred as POT's emd2
 * does: only changes of a and b that keep the masses equal have a meaning,
 * and along those this is the derivative (where the coupling is locally
 * unique: distinct positions, no partial sum of a equal to one of b). */
otad_var otad_ot_1d(otad_tape *tape, otad_var x, otad_var a, otad_var y, otad_var b, double p);

/** The coupling of otad_ot_1d outside a tape, in the caller's arrays. */
typedef struct otad_plan_1d {
    size_t *row;        /**< n + m − 1 entries: the rows of the staircase's cells, in order */
    size_t *col;        /**< and their columns */
    double *mass;       /**< n + m − 1: P at each cell (0 where partial sums of a and b meet) */
    double *f;          /**< n entries, or NULL: the potentials, not centred: f is 0 at
                           the leftmost x, f_i + g_j = c_ij on every cell and ≤ c_ij
                           elsewhere, Σ a f + Σ b g = cost (b at a's mass) */
    double *g;          /**< m entries, or NULL (see f) */
    size_t cells;       /**< set to n + m − 1 */
    double cost;        /**< set to Σ mass · c */
} otad_plan_1d;

/** The same inputs as otad_ot_1d as arrays; fills plan (nothing on failure). */
int otad_ot_1d_plan(size_t n, const double *x, const double *a, size_t m, const double *y,
                    const double *b, double p, otad_plan_1d *plan, otad_error *err);

/** The squared 2-Wasserstein distance between the Gaussians N(m1, S1) and
 * N(m2, S2), 1×1:
 *     ‖m1 − m2‖² + tr S1 + tr S2 − 2 tr (S1^½ S2 S1^½)^½
 * (the Bures metric on the covariances; it may come out below 0 by rounding
 * when the two are equal).  m1, m2 are d×1; S1, S2 d×d, used as (S + Sᵀ)/2,
 * positive definite (smallest eigenvalue above d·2⁻⁵² times the largest),
 * else OTAD_ENOTPOSDEF.  With M = (S1^½ S2 S1^½)^½ and T = S1^-½ M S1^-½
 * (the optimal map x ↦ m2 + T(x − m1)):  m̄1 = 2(m1 − m2) = −m̄2,
 * S̄1 = I − T, S̄2 = I − T⁻¹ = I − S1^½ M⁻¹ S1^½ (symmetric).  Two symmetric
 * eigendecompositions (LAPACK dsyevd) per evaluation, of S1 and S2 scaled by
 * powers of two to entries near 1 (the scaling is undone exactly on the
 * results), so covariances of any representable size work: 1e308·I as well
 * as 1e-300·I. */
otad_var otad_gaussian_w2(otad_tape *tape, otad_var m1, otad_var S1, otad_var m2, otad_var S2);

/** The map T above into T (d×d, column-major), from S1 and S2 as there:
 * symmetric positive definite with T S1 T = S2, computed whenever it is
 * representable (S1 = 1e308·I and S2 = I give 1e-154·I). */
int otad_gaussian_map(size_t d, const double *S1, const double *S2, double *T, otad_error *err);

#ifdef __cplusplus
}
#endif

#endif
