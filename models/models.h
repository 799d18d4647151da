/** @file
 * otad models — inverse problems recorded from solvers and ops, minimised
 * with the L-BFGS driver.  Each model has a problem struct with defaults from
 * its paper (`_init`), a `build` function of the otad_build_fn shape that
 * records its loss on a tape (so it can be gradchecked and reused), and a
 * `fit` that runs L-BFGS and fills a result struct.
 */
#ifndef OTAD_MODELS_H
#define OTAD_MODELS_H

#include "../solvers/solvers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- supports: where histograms live --------------------------------------- */

/** The kinds of support a model's histograms live on. */
typedef enum otad_support_kind {
    OTAD_SUPPORT_GRID = 0, /**< regular grid of [0,1]^d, separable Gaussian kernel */
    OTAD_SUPPORT_GRAPH,    /**< graph with edge weights, heat kernel */
    OTAD_SUPPORT_COST      /**< n points with an n×n cost matrix, dense Gibbs kernel */
} otad_support_kind;

/** A fixed support and its kernel, described so that a model can record the
 * kernel on every tape it builds on.  Fill one with a constructor below. */
typedef struct otad_support {
    otad_support_kind kind;       /**< which of the fields below count */
    double eps;                   /**< ε of the kernel */
    size_t dims;                  /**< GRID: 1 to 3 axes */
    size_t shape[3];              /**< GRID: points per axis */
    otad_graph *graph;            /**< GRAPH: borrowed */
    const double *weights;        /**< GRAPH: one per edge, borrowed; NULL for 1 */
    int steps;                    /**< GRAPH: S */
    size_t points;                /**< COST */
    const double *cost;           /**< COST: points×points, borrowed */
} otad_support;

/** A regular grid of [0,1]^dims, shape points per axis (otad_kernel_grid). */
otad_support otad_support_grid(size_t dims, const size_t *shape, double eps);
/** A graph with edge weights (NULL: 1) and the heat kernel of S steps. */
otad_support otad_support_graph(otad_graph *graph, const double *weights, double eps, int steps);
/** n points with an n×n cost matrix (the dense Gibbs kernel). */
otad_support otad_support_cost(size_t points, const double *cost, double eps);

/** Number of entries of a histogram on the support (0 when malformed). */
size_t otad_support_size(const otad_support *support);

/** Records the support's kernel on tape (the tape fails on a bad support). */
otad_kernel otad_support_kernel(otad_tape *tape, const otad_support *support);

/* ---- losses between a model's histograms and the observed ones ------------- */

/** How a model compares its histograms with the observed ones. */
typedef enum otad_histogram_loss {
    OTAD_LOSS_L2 = 0,  /**< Σ (p − q)² */
    OTAD_LOSS_KL,      /**< Σ p log(p/q) − p + q; needs q > 0 */
    OTAD_LOSS_L1,      /**< Σ |p − q| */
    OTAD_LOSS_SINKHORN /**< debiased Sinkhorn divergence on the support's kernel: its dual value, or
                          Séjourné et al.'s unbalanced one when the model's Sinkhorn options
                          relax a marginal (rho_a, rho_b) */
} otad_histogram_loss;

/* ---- Wasserstein barycentric coordinates (Bonneel, Peyré, Cuturi 2016) ---- */

/** Given a database of S histograms p_1..p_S on one support and T targets q_t,
 * find for each target weights λ_t on the simplex minimising
 *     E(λ_t) = Loss(P_L(λ_t), q_t),
 * P_L(λ) the L-iterate Sinkhorn barycenter of the database with weights λ,
 * λ = softmax(θ).  The T targets are solved together: their barycenters are
 * the columns of one batched barycenter, their losses summed. */
typedef struct otad_barycoords {
    otad_support support;     /**< where the histograms live */
    size_t size;              /**< N: entries of each histogram, the support's size */
    size_t n_histograms;      /**< S ≥ 2 */
    const double *database;   /**< N×S column-major, borrowed; non-negative, equal masses */
    size_t n_targets;         /**< T ≥ 1 */
    const double *targets;    /**< N×T, borrowed; non-negative */
    otad_histogram_loss loss; /**< default OTAD_LOSS_L2 */
    otad_barycenter_opts barycenter; /**< L = 50, scaling domain, UNROLL */
    otad_sinkhorn_opts sinkhorn;     /**< of the Sinkhorn loss: 100 iterations, no mass check */
} otad_barycoords;

/** The defaults of the paper; the support, sizes and data are left empty. */
void otad_barycoords_init(otad_barycoords *problem);

/** OTAD_OK, or the first problem found in the data (message in err): sizes
 * that disagree with the support, S < 2, T < 1, negative or non-finite
 * entries, database histograms of different masses, a target without mass. */
int otad_barycoords_check(const otad_barycoords *problem, otad_error *err);

/** Records the summed loss over the targets from θ (S·T × 1, column t = the
 * S logits of target t).  problem is an otad_barycoords that passed
 * otad_barycoords_check (void * for the otad_build_fn shape). */
otad_var otad_barycoords_build(otad_tape *tape, otad_var theta, void *problem);

/** A fit's weights and the L-BFGS run. */
typedef struct otad_barycoords_result {
    double *weights;        /**< S×T: λ_t in column t, malloc'd; NULL on failure */
    double *target_losses;  /**< T: the loss of each target at λ; NULL on failure */
    otad_lbfgs_result lbfgs;/**< status, message, loss, losses per iteration, evaluations, time */
} otad_barycoords_result;

/** Minimise from λ = uniform (θ = 0), or from the S×T weights in start when
 * not NULL (positive, each column on the simplex as for project).  params NULL: the driver's
 * defaults.  Returns OTAD_OK, or the error that stopped it (message in err,
 * and in result->lbfgs.message when L-BFGS stopped it).  Free the result with
 * otad_barycoords_result_free, whatever the return. */
int otad_barycoords_fit(const otad_barycoords *problem, const double *start,
                        const otad_lbfgs_params *params, otad_barycoords_result *result,
                        otad_error *err);

/** Free the result's arrays. */
void otad_barycoords_result_free(otad_barycoords_result *result);

/** P_L(λ) for the n_cols ≥ 1 weight columns of weights (S×n_cols) into out
 * (N×n_cols): the barycenters the model fits targets with.  Needs the
 * support and the database only (the targets may be unset).  Each weight
 * column must be on the simplex: entries finite and ≥ 0, summing to 1 (to
 * 1e-8), else OTAD_EDOMAIN naming the entry or the column and its sum.  out
 * is written only on success. */
int otad_barycoords_project(const otad_barycoords *problem, const double *weights,
                            size_t n_cols, double *out, otad_error *err);

/* ---- ground metric learning on graphs (Heitz et al. 2020) ------------------ */

/** Frames h_1..h_P of a mass moving on a graph, observed at times t_1 = 0 <
 * … < t_P = 1.  Learn edge weights w = exp(z) > 0 whose displacement
 * interpolations — the Sinkhorn barycenters P_i(w) of (h_1, h_P) with
 * weights (1 − t_i, t_i) under the heat kernel K_w = (I − ε/(4S) L_w)^(−S) —
 * match the interior frames, minimising over z (Heitz et al. 2020, eq. (6)–(9)):
 *     E(z) = α Σ_{i=2..P−1} Loss(P_i(w), h_i) + λ_c ‖w − 1‖² + λ_s ‖D w‖²,
 * D the edge differences of otad_edge_differences (neighbours of the same
 * orientation on grids, the graph's or the caller's lists otherwise).  The
 * P − 2 interior frames are the columns of one batched barycenter. */
typedef struct otad_metric_learning {
    otad_graph *graph;        /**< borrowed: a grid graph or one from an edge list */
    double eps;               /**< ε of the heat kernel; default 4e-2 */
    int steps;                /**< S, solves per kernel apply; default 20 */
    size_t size;              /**< N: entries of each frame, the graph's vertices */
    size_t n_frames;          /**< P ≥ 3 */
    const double *frames;     /**< N×P column-major, borrowed; non-negative, equal masses */
    const double *times;      /**< P times rising from 0 to 1, borrowed; NULL: t_i = i/(P−1) */
    otad_histogram_loss loss; /**< OTAD_LOSS_L2 (default), OTAD_LOSS_KL or OTAD_LOSS_L1 */
    double data_weight;       /**< α; default 0, which means N (the paper's code scales its
                                 loss by the number of entries) */
    double lambda_c;          /**< weight of f_c = ‖w − 1‖²; default 0 */
    double lambda_s;          /**< weight of f_s = ‖D w‖²; default 0.03 */
    otad_barycenter_opts barycenter; /**< L = 50, scaling domain, UNROLL */
} otad_metric_learning;

/** The defaults of the paper (2-D grids); graph, sizes and frames left empty. */
void otad_metric_learning_init(otad_metric_learning *problem);

/** OTAD_OK, or the first problem found (message in err): no graph, a size
 * that is not the graph's, ε or S not positive, P < 3, frames with negative
 * or non-finite entries or of different masses, times that do not rise from
 * 0 to 1, a loss other than L2/KL/L1 (KL: frames must be positive),
 * negative λ. */
int otad_metric_learning_check(const otad_metric_learning *problem, otad_error *err);

/** Records E(z) for z = log w (n_edges × 1).  problem is an
 * otad_metric_learning that passed otad_metric_learning_check. */
otad_var otad_metric_learning_build(otad_tape *tape, otad_var z, void *problem);

/** The energy's parts at w. */
typedef struct otad_metric_learning_energy {
    double total;      /**< E */
    double data;       /**< α Σ Loss */
    double smoothness; /**< λ_s f_s */
    double closeness;  /**< λ_c f_c */
} otad_metric_learning_energy;

/** A fit's weights, its reconstructions and the L-BFGS run. */
typedef struct otad_metric_learning_result {
    double *weights;          /**< n_edges: the learned w, malloc'd; NULL on failure */
    double *reconstructions;  /**< N×P: h_1, P_2(w) … P_(P−1)(w), h_P; NULL on failure */
    otad_metric_learning_energy energy; /**< at the learned w */
    otad_lbfgs_result lbfgs;  /**< status, loss per iteration, evaluations, time */
} otad_metric_learning_result;

/** Minimise E from w = 1, or from the positive weights in start when not
 * NULL.  params NULL: the driver's defaults (params->progress reports each
 * iteration).  Returns OTAD_OK or the error that stopped it (message in
 * err).  Free the result with otad_metric_learning_result_free, whatever
 * the return. */
int otad_metric_learning_fit(const otad_metric_learning *problem, const double *start,
                             const otad_lbfgs_params *params,
                             otad_metric_learning_result *result, otad_error *err);

/** Free the result's arrays. */
void otad_metric_learning_result_free(otad_metric_learning_result *result);

/** The displacement interpolation between the first and last frame under
 * the metric w (n_edges, positive; NULL: w = 1) at n_times times in [0, 1],
 * into out (N × n_times), and when energy is not NULL the energy's parts at
 * w.  Without energy it reads only the graph, ε, S, the barycenter options
 * and the first and last frame (n_frames ≥ 2), so it interpolates any pair,
 * and out may be the middle columns of frames.  At t = 0 and 1 the result is
 * the end frame blurred by the kernel (a barycenter with weights (1, 0)), not
 * the frame itself. */
int otad_metric_learning_interpolate(const otad_metric_learning *problem, const double *w,
                                     size_t n_times, const double *times, double *out,
                                     otad_metric_learning_energy *energy, otad_error *err);

/* ---- minimum Kantorovich estimation (Bassetti et al. 2006) ----------------- */

/** Records the model's points (n×d: point i is row i) from θ, and its weights
 * (n×1, non-negative, summing to 1) or an invalid handle for uniform 1/n.
 * Returns OTAD_OK or the tape's status. */
typedef int (*otad_mke_model_fn)(otad_tape *tape, otad_var theta, void *instance,
                                 otad_var *points, otad_var *weights);

/** Minimum Kantorovich estimation: fit a model measure
 * α_θ = Σ_i a_i δ_{x_i(θ)} — fixed samples pushed through a differentiable
 * map f_θ — to data β = Σ_j b_j δ_{y_j} in R^d by
 * minimising over θ a Sinkhorn loss with the squared Euclidean cost:
 *     W(α_θ, β)                                       (debiased = 0), or
 *     W(α_θ, β) − ½ W(α_θ, α_θ) − ½ W(β, β)           (debiased = 1),
 * W the chosen value of L Sinkhorn iterations (W_L of Genevay et al. 2018 by default).
 * W_L is biased: at ε larger than the model's details its minimiser shrinks
 * the model (ellipses to segments); the debiased divergence is not. */
typedef struct otad_mke {
    size_t dim;                    /**< d ≥ 1 */
    size_t n_data;                 /**< m ≥ 1 */
    const double *data;            /**< m×d column-major (point j is row j), borrowed */
    const double *data_weights;    /**< m non-negative, scaled to sum 1; NULL: uniform */
    otad_mke_model_fn model;       /**< a ready model below, or the caller's */
    void *model_instance;          /**< passed to model */
    size_t n_params;               /**< entries of θ */
    double eps;                    /**< ε of K = exp(−‖x − y‖²/ε); default 0.01 */
    otad_sinkhorn_value value;     /**< default OTAD_SINKHORN_COST: W_L = ⟨P_L, C⟩; an
                                      unbalanced loss (sinkhorn.rho_a or rho_b finite:
                                      outliers in the data cost at most ρ each, instead of
                                      pulling the model) takes a KL value */
    int debiased;                  /**< default 0; 1 with a KL value: Séjourné et al.'s
                                      unbalanced divergence */
    int free_mass;                 /**< 1: the model's mass m is a parameter too, θ's last
                                      entry log m after the model's n_params (an unbalanced
                                      loss only); default 0: mass 1, the data's */
    otad_sinkhorn_opts sinkhorn;   /**< L = 100, scaling domain, UNROLL; the mode says how
                                      the iterations are differentiated */
    int online;                    /**< 1: kernels computed as they are applied
                                      (otad_kernel_points_online), memory O(n + m) where
                                      a stored kernel takes n·m doubles, each product
                                      slower; default 0: stored (otad_kernel_gibbs_points) */
} otad_mke;

/** The defaults; data and model left empty. */
void otad_mke_init(otad_mke *problem);

/** OTAD_OK, or the first problem found (message in err): no data, a
 * non-finite coordinate, negative or non-finite weights or none positive,
 * no model or no parameters, ε not positive, an unknown value, an
 * unbalanced loss without a KL value, free_mass with a balanced loss. */
int otad_mke_check(const otad_mke *problem, otad_error *err);

/** Records the loss at θ (n_params × 1, one more row with free_mass).
 * problem is an otad_mke that passed otad_mke_check.  With debiased = 1 it
 * records W(β, β) too, which does not depend on θ: fit computes that once
 * instead. */
otad_var otad_mke_build(otad_tape *tape, otad_var theta, void *problem);

/** A fit's θ, the model there and the L-BFGS run. */
typedef struct otad_mke_result {
    double *theta;            /**< n_params (+ 1 with free_mass), the fitted θ, malloc'd; NULL
                                 on failure */
    double *points;           /**< n_model × d at θ, malloc'd */
    double *weights;          /**< n_model at θ, malloc'd */
    size_t n_model;           /**< the model's points */
    otad_lbfgs_result lbfgs;  /**< status, loss per iteration, evaluations, time */
} otad_mke_result;

/** Minimise from θ = start (n_params entries, one more with free_mass).
 * params NULL: the driver's defaults (params->progress reports each
 * iteration).  Returns OTAD_OK or the error that stopped it (message in
 * err).  Free the result with otad_mke_result_free, whatever the return. */
int otad_mke_fit(const otad_mke *problem, const double *start, const otad_lbfgs_params *params,
                 otad_mke_result *result, otad_error *err);

/** Free the result's arrays. */
void otad_mke_result_free(otad_mke_result *result);

/** The model at θ: its number of points n into *n_model, and when not NULL
 * its points (n×d) and weights (n), malloc'd into *points and *weights, and
 * the loss there into *loss. */
int otad_mke_evaluate(const otad_mke *problem, const double *theta, double **points,
                      double **weights, size_t *n_model, double *loss, otad_error *err);

/* Ready models.  Each `otad_mke_use_*` checks its arguments against the
 * problem's data, fills the model's struct (which must outlive the problem's
 * use) and sets problem->model, model_instance and n_params; each
 * `otad_mke_*_model` is the model's otad_mke_model_fn. */

/** k-means as MKE: k atoms with free positions and weights,
 * θ = (positions k×d column-major, then k logits), weights = softmax(logits).
 * As ε → 0 with the transport cost, its minimisers are k-means clusterings. */
typedef struct otad_mke_atoms {
    size_t k;   /**< atoms */
    size_t dim; /**< d, the data's */
} otad_mke_atoms;

/** Use k atoms as problem's model. */
int otad_mke_use_atoms(otad_mke *problem, otad_mke_atoms *atoms, size_t k, otad_error *err);
/** The atoms' points and weights at θ. */
int otad_mke_atoms_model(otad_tape *tape, otad_var theta, void *atoms, otad_var *points,
                         otad_var *weights);
/** A start: k data points chosen by k-means++ seeding (deterministic in
 * seed), equal weights.  theta has n_params entries (any argument NULL:
 * nothing is written). */
void otad_mke_atoms_start(const otad_mke *problem, const otad_mke_atoms *atoms, uint64_t seed,
                          double *theta);

/** K uniform ellipses in the plane (Genevay et al. 2018): x_{k,j} = m_k + A_k z_j over
 * fixed samples z_j of the unit disk, θ = (m_k (2), A_k row-major (4)) for
 * k = 0..K−1, each ellipse with weight 1/K spread evenly on its samples.
 * The points are ellipse by ellipse: the n_samples of ellipse 0 first.
 * A_k is identifiable only up to a rotation of the disk: compare A_k A_kᵀ. */
typedef struct otad_mke_ellipses {
    size_t count;              /**< K */
    size_t n_samples;          /**< z_j per ellipse */
    const double *samples;     /**< n_samples × 2 column-major, borrowed */
} otad_mke_ellipses;

/** Use count ellipses over the samples (n_samples × 2) as problem's model
 * (the data must be 2-D). */
int otad_mke_use_ellipses(otad_mke *problem, otad_mke_ellipses *ellipses, size_t count,
                          size_t n_samples, const double *samples, otad_error *err);
/** The ellipses' points and weights at θ. */
int otad_mke_ellipses_model(otad_tape *tape, otad_var theta, void *ellipses, otad_var *points,
                            otad_var *weights);
/** n points spread evenly over the unit disk (a Vogel spiral: radius
 * √((j + ½)/n), angle j·π(3 − √5)), n×2 column-major (z NULL: nothing). */
void otad_disk_samples(size_t n, double *z);
/** Semi-axes of the ellipse of one parameter block (m, A row-major):
 * the square roots of the eigenvalues of A Aᵀ, larger first; NaN for a NULL
 * or non-finite block. */
void otad_ellipse_semi_axes(const double *block, double axes[2]);

/** The most layers of otad_mke_mlp. */
#define OTAD_MKE_MLP_MAX_LAYERS 8

/** A generator (Genevay et al. 2018): a perceptron f_θ from a latent
 * space to R^d with tanh hidden layers and a linear output, applied to fixed
 * latent samples.  θ holds, layer after layer, the weights (in×out
 * column-major: h ← tanh(h W + b), h a row) and the biases (out). */
typedef struct otad_mke_mlp {
    size_t n_layers;           /**< hidden layers + the output layer */
    size_t width[OTAD_MKE_MLP_MAX_LAYERS + 1]; /**< latent dim, hidden widths, d */
    size_t n_samples;          /**< latent samples */
    const double *samples;     /**< n_samples × latent dim column-major, borrowed */
} otad_mke_mlp;

/** Use a perceptron as problem's model; hidden: n_hidden widths
 * (0 < n_hidden < OTAD_MKE_MLP_MAX_LAYERS). */
int otad_mke_use_mlp(otad_mke *problem, otad_mke_mlp *mlp, size_t latent_dim,
                     size_t n_hidden, const size_t *hidden, size_t n_samples,
                     const double *samples, otad_error *err);
/** The perceptron's points at θ (uniform weights). */
int otad_mke_mlp_model(otad_tape *tape, otad_var theta, void *mlp, otad_var *points,
                       otad_var *weights);
/** A start: weights uniform in ±√(6/(in + out)) (Glorot), deterministic in
 * seed, biases 0 (mlp or theta NULL: nothing is written). */
void otad_mke_mlp_start(const otad_mke_mlp *mlp, uint64_t seed, double *theta);

#ifdef __cplusplus
}
#endif

#endif
