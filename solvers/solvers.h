/** @file
 * otad solvers — algorithms recorded from ops: Sinkhorn, its values and
 * losses, and barycenters.  Every iteration is recorded on the tape, so the
 * result is differentiable in the histograms and in the kernel's parameters
 * (the W_L of Genevay, Peyré and Cuturi 2018: "unrolled" differentiation).
 */
#ifndef OTAD_SOLVERS_H
#define OTAD_SOLVERS_H

#include <signal.h> /**< sig_atomic_t, for otad_lbfgs_params.stop */

#include "../ops/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Sinkhorn ------------------------------------------------------------ */

/** A warm start: the potentials of the last solves, kept across evaluations
 * (it outlives tape resets), from which the next solve of the same problem
 * starts instead of v = 1 — for fits that solve a problem hundreds of times
 * with parameters that move a little between solves.  Used only under
 * IMPLICIT and ENVELOPE, where the gradient does not depend on the start
 * (a start under UNROLL or CHECKPOINT is OTAD_EINVAL).  A solve looks up the
 * potentials of a problem of its sizes (rows, columns, batch) and kind
 * (balanced or not; the three problems of a divergence apart); found, they
 * replace the start from 1 and ε-scaling's stages, and after the solve its
 * potentials replace them.  A start holds a few problems at once (the
 * least recently used is dropped): give each sequence of problems its own.
 * Not for two threads at once. */
typedef struct otad_sinkhorn_start otad_sinkhorn_start;

/** An empty start, or NULL when memory runs out. */
otad_sinkhorn_start *otad_sinkhorn_start_new(void);
/** Free a start (NULL: nothing); no solve may use it after. */
void otad_sinkhorn_start_free(otad_sinkhorn_start *start);
/** Solves since otad_sinkhorn_start_new that found potentials to start from,
 * and that did not (0 for start NULL). */
void otad_sinkhorn_start_counts(const otad_sinkhorn_start *start, long *found, long *missed);

/** A balanced value is defined where Σa = Σb, so its gradient to the weights is
 * unique only along the directions that keep the masses (Σδ = 0): off them,
 * each gradient is defined up to c·1, and tools pick different constants.
 * The convention picks one; values and every other gradient are unchanged.
 *   NATIVE (default): the gradient of these iterations, whose last update is
 *     v's: the plan's columns sum to b, so scaling a leaves the plan as it
 *     is and scaling b scales it; for the cost ⟨∇_a W, a⟩ = 0 and
 *     ⟨∇_b W, b⟩ = W.
 *   POT: the gradient POT's sinkhorn2 computes by differentiating its
 *     iterations, whose last update is u's: ⟨∇_a W, a⟩ = W, ⟨∇_b W, b⟩ = 0,
 *     the same as NATIVE along Σδ = 0.  For the cost at convergence it is
 *     POT's to rounding; the other values get the same rule.
 *   CENTRED: each gradient minus its mean (Σ ∇_a = Σ ∇_b = 0), the
 *     projection POT's emd2 and otad_emd_cost use.
 * An unbalanced value is defined for any masses and has one gradient, so a
 * convention other than NATIVE is refused there. */
typedef enum otad_gradient_convention {
    OTAD_GRADIENT_NATIVE = 0, /**< this iteration's own (see above) */
    OTAD_GRADIENT_POT,        /**< POT's sinkhorn2 */
    OTAD_GRADIENT_CENTRED     /**< mean zero, as POT's emd2 */
} otad_gradient_convention;

/** Sinkhorn's options (otad_sinkhorn_opts_init sets the defaults); a field
 * out of its range (given with each) fails the tape with OTAD_EINVAL, the
 * message naming the field and its range. */
typedef struct otad_sinkhorn_opts {
    int iterations;        /**< L: (u, v) updates, ≥ 1; default 100 */
    double tolerance;      /**< stop early once the marginal error max_col ‖u⊙Kv − a‖₁ is at
                              most this (‖u⊙(Kv)^λ_a − a‖₁ when unbalanced: the residual of
                              u's update), measured every check_every updates; finite, ≥ 0;
                              default 0: exactly L updates */
    int check_every;       /**< ≥ 1; default 10 */
    int log_domain;        /**< 0 (default): scalings u, v; 1: their logs, for ε so small that
                              K v underflows (needs positive histograms) */
    double mass_tolerance; /**< |Σa − Σb| ≤ this·max(Σa, Σb) per column, else OTAD_EDOMAIN;
                              finite, ≥ 0; default 1e-3; 0 turns the check off */
    otad_grad_mode mode;   /**< how the iterations are differentiated (ad/ad.h):
                              UNROLL (default): W_L (Genevay et al. 2018), exact for the L
                                iterations taken, tape memory growing with L;
                              CHECKPOINT: the same gradient in O(√L) memory, one more
                                forward pass in backward;
                              IMPLICIT: the gradient of the converged problem in the memory
                                of one iteration (use with a tolerance or enough iterations);
                              ENVELOPE: Danskin's gradient of the dual value (∇_a = ε log u,
                                ∇_b = ε log v, ∇_C = P), no backward through the iterations;
                                only otad_sinkhorn_dual and otad_sinkhorn_kl_dual are
                                available */
    double adjoint_tolerance; /**< IMPLICIT: the adjoint solve stops at this relative residual
                                 (otad_loop_opts); finite, ≥ 0; default 1e-10 */
    double rho_a;             /**< unbalanced OT: strength of the penalty ρ_a KL(P1 | a) that
                                 replaces the constraint P1 = a; > 0; INFINITY (default)
                                 keeps the constraint; see otad_sinkhorn_solve */
    double rho_b;             /**< the same for ρ_b KL(Pᵀ1 | b) and Pᵀ1 = b */
    /** ε-scaling (Kosowsky, Yuille 1994; Schmitzer 2019): before the updates at the
     * kernel's ε, stages at ε₀, ε₀q, ε₀q², … (those above ε), stage_iterations updates
     * each, every stage starting from the potentials of the one before; the updates at
     * ε start from the last stage's.  Log domain, IMPLICIT or ENVELOPE only: the
     * gradient is the one of the fixed point at ε, which does not depend on where the
     * updates started (under UNROLL it would, so it is refused).  The kernel's class
     * needs apply_log_at (dense, points and grid kernels have it). */
    double eps_start;         /**< ε₀, > the kernel's ε, finite; 0 (default): no ε-scaling */
    double eps_decay;         /**< q, in (0, 1); default 0.5 */
    int stage_iterations;     /**< ≥ 1; default 10 */
    otad_sinkhorn_start *start; /**< warm start, NULL (default): none; see
                                   otad_sinkhorn_start_new */
    otad_gradient_convention convention; /**< the gradient to a and b; balanced problems,
                                            otad_sinkhorn_loss and _divergence only */
} otad_sinkhorn_opts;

/** Set every option to its default. */
void otad_sinkhorn_opts_init(otad_sinkhorn_opts *opts);

/** A solved problem: nodes on the tape. */
typedef struct otad_sinkhorn {
    otad_kernel kernel;    /**< the kernel solved with */
    otad_var a;            /**< the histograms as given */
    otad_var b;            /**< (b: the second marginal's) */
    otad_var u;            /**< the last scalings (log u, log v in the log domain) */
    otad_var v;            /**< (v: the second marginal's) */
    int log_domain;        /**< as in the options */
    otad_grad_mode mode;   /**< as in the options */
    int iterations;        /**< updates done */
    double marginal_error; /**< at the last check (NaN without a tolerance) */
    double rho_a;          /**< as in the options */
    double rho_b;          /**< as in the options */
    otad_var ru;           /**< unbalanced only: u/a (its log in the log domain), e^(f/ε)
                              for the dual potential f; defined where a mass is 0 too */
    otad_var rv;           /**< the same for v/b and g */
} otad_sinkhorn;

/** Sinkhorn's iterations (Cuturi 2013), batched over columns:
 *     v = 1;  repeat L times { u = a / (K v);  v = b / (Kᵀ u) }
 * a is n×1 or n×B, b is m×1 or m×B for K n×m; u is n×B, v is m×B; the plan
 * is P = diag(u) K diag(v).  Masses must be non-negative (positive in the
 * log domain), no column of a or b may sum to 0, and a column's masses must
 * be equal (mass_tolerance) unless a marginal is relaxed.
 *
 * With ρ_a or ρ_b finite, the problem is unbalanced (Frogner et al. 2015;
 * Chizat, Peyré, Schmitzer, Vialard 2018; Séjourné et al. 2019):
 *     min_P ⟨P, C⟩ + ε KL(P | a⊗b) + ρ_a KL(P1 | a) + ρ_b KL(Pᵀ1 | b),
 * KL(p | q) = Σ p log(p/q) − Σ p + Σ q the generalised KL, C = −ε log K (so
 * any kernel has it); a penalty with ρ = ∞ is the constraint.  The
 * updates become
 *     u = a ⊙ (K v)^(−λ_a),  v = b ⊙ (Kᵀu)^(−λ_b),  λ = ρ/(ρ + ε),
 * the balanced ones where ρ = ∞, each followed by the potentials' best
 * translation (f + τ, g − τ) in closed form (Séjourné, Vialard, Peyré 2022),
 * without which the updates would take some ρ/ε steps to settle the total
 * mass.  POT's sinkhorn_unbalanced (0.8) iterates
 * u = (a / K v)^λ instead: its entropy term is ε Σ P (log P − 1), and given
 * the cost C − ε (log a ⊕ log b) it solves this problem.
 *
 * Returns OTAD_OK or the tape's status; a K v or Kᵀu that underflows to 0
 * is reported (then use the log domain), never turned into NaN. */
int otad_sinkhorn_solve(otad_tape *tape, otad_kernel k, otad_var a, otad_var b,
                        const otad_sinkhorn_opts *opts, otad_sinkhorn *out);

/** Values of a solved problem, 1×B, with P = diag(u) K diag(v):
 *   cost:     ⟨P, C⟩                       W_L of Genevay et al. (needs a kernel with a cost)
 *   dual:     ε (aᵀ log u + bᵀ log v)      (0·log 0 = 0)
 *   entropic: ⟨P, C⟩ − ε E(P), E(P) = −Σ P log P, computed as
 *             ε (⟨P1, log u⟩ + ⟨Pᵀ1, log v⟩), so any kernel has it
 * s NULL fails the tape with OTAD_EINVAL; so does dual for an unbalanced
 * problem, whose dual is kl_dual. */
otad_var otad_sinkhorn_cost(otad_tape *tape, const otad_sinkhorn *s);
/** The dual value (see otad_sinkhorn_cost). */
otad_var otad_sinkhorn_dual(otad_tape *tape, const otad_sinkhorn *s);
/** The entropic value (see otad_sinkhorn_cost). */
otad_var otad_sinkhorn_entropic(otad_tape *tape, const otad_sinkhorn *s);

/** The values of the problem with ε KL(P | a⊗b) (see otad_sinkhorn_solve),
 * balanced or not, 1×B:
 *   kl_primal: ⟨P, C⟩ + ε KL(P | a⊗b) + ρ_a KL(P1 | a) + ρ_b KL(Pᵀ1 | b),
 *              a term with ρ = ∞ left out; computed as
 *              ε ⟨P1, log(u/a)⟩ + ε ⟨Pᵀ1, log(v/b)⟩ − ε m(P) + ε m(a) m(b) + …
 *   kl_dual:   Σ_i a_i ρ_a (1 − e^(−f_i/ρ_a)) + Σ_j b_j ρ_b (1 − e^(−g_j/ρ_b))
 *              − ε (m(P) − m(a) m(b)),  f = ε log(u/a), g = ε log(v/b),
 *              a_i f_i where ρ_a = ∞ (and b_j g_j where ρ_b = ∞),
 * m(·) a total mass.  At the solution both are the same number; under
 * ENVELOPE kl_dual has Danskin's gradient (f and g held), as dual has. */
otad_var otad_sinkhorn_kl_primal(otad_tape *tape, const otad_sinkhorn *s);
/** The KL dual value (see otad_sinkhorn_kl_primal). */
otad_var otad_sinkhorn_kl_dual(otad_tape *tape, const otad_sinkhorn *s);

/** Which value otad_sinkhorn_loss and otad_sinkhorn_divergence return. */
typedef enum otad_sinkhorn_value {
    OTAD_SINKHORN_COST = 0,  /**< otad_sinkhorn_cost */
    OTAD_SINKHORN_DUAL,      /**< otad_sinkhorn_dual */
    OTAD_SINKHORN_ENTROPIC,  /**< otad_sinkhorn_entropic */
    OTAD_SINKHORN_KL_PRIMAL, /**< otad_sinkhorn_kl_primal */
    OTAD_SINKHORN_KL_DUAL    /**< otad_sinkhorn_kl_dual */
} otad_sinkhorn_value;

/** Solve and return one value (1×B): the Sinkhorn loss. */
otad_var otad_sinkhorn_loss(otad_tape *tape, otad_kernel k, otad_var a, otad_var b,
                            const otad_sinkhorn_opts *opts, otad_sinkhorn_value value);

/** The debiased Sinkhorn divergence (Genevay, Peyré, Cuturi 2018; Feydy et
 * al. 2019):
 *     W̄(a, b) = W(a, b) − ½ W(a, a) − ½ W(b, b),
 * with kernels between the supports of a and b, a and a, b and b (the same
 * kernel three times on a common grid or graph).  1×B.  For the KL values,
 * balanced or not, the unbalanced divergence of Séjourné et al. (2019):
 *     W̄(a, b) + (ε/2) (m(a) − m(b))²,
 * ≥ 0 and 0 at a = b; an unbalanced problem has no other. */
otad_var otad_sinkhorn_divergence(otad_tape *tape, otad_kernel k_ab, otad_kernel k_aa,
                                  otad_kernel k_bb, otad_var a, otad_var b,
                                  const otad_sinkhorn_opts *opts, otad_sinkhorn_value value);

/* ---- barycenters --------------------------------------------------------- */

/** Options, refused as Sinkhorn's are when out of range. */
typedef struct otad_barycenter_opts {
    int iterations;       /**< L, ≥ 1; default 50 */
    int log_domain;       /**< 0 or 1, as for Sinkhorn; 1 needs positive inputs */
    otad_grad_mode mode;  /**< UNROLL (default), CHECKPOINT or IMPLICIT, as for Sinkhorn;
                             IMPLICIT needs weight columns that sum to 1 (then the
                             iteration has a fixed point): a column summing elsewhere,
                             by more than 1e-8, is OTAD_EDOMAIN (a softmax's pass) */
    double adjoint_tolerance; /**< IMPLICIT, as for Sinkhorn (finite, ≥ 0); default 1e-10 */
    double rho;           /**< unbalanced barycenters: the strength ρ of the KL penalties that
                             replace both marginal constraints of every plan; > 0;
                             INFINITY (default): balanced.  See otad_barycenter */
} otad_barycenter_opts;

/** Set every option to its default. */
void otad_barycenter_opts_init(otad_barycenter_opts *opts);

/** Heitz et al. (2020), Algorithm 1, batched: F barycenters of the same R histograms.
 * inputs is n×R (one histogram per column), weights R×F (column f weighs
 * barycenter f; usually on the simplex); the result is m×F for K n×m:
 *     v_r = 1;  repeat L times { u_r = a_r / (K v_r);
 *                                b = Π_r (Kᵀu_r)^λ_r;  v_r = b / (Kᵀu_r) }
 * With opts->rho finite, the unbalanced barycenter of Chizat, Peyré,
 * Schmitzer and Vialard (2018): min_b Σ_r λ_r W(a_r, b), W the transport
 * with penalties ρ KL(P1 | a_r) and ρ KL(Pᵀ1 | b) for its marginals and
 * entropy ε Σ P (log P − 1) (POT's barycenter_unbalanced), whose updates
 * take powers θ = ρ/(ρ + ε):
 *     u_r = (a_r / K v_r)^θ,  b = (Σ_r λ_r (Kᵀu_r)^(1−θ))^(1/(1−θ)),
 *     v_r = (b / Kᵀu_r)^θ,
 * the balanced ones as ρ → ∞; the inputs may then have different masses
 * and the barycenter's mass is free.
 * Differentiable in the inputs, the weights and the kernel's parameters. */
otad_var otad_barycenter(otad_tape *tape, otad_kernel k, otad_var inputs, otad_var weights,
                         const otad_barycenter_opts *opts);

/* ---- exact OT --------------------------------------------------------------- */

/** Exact OT's options (otad_emd_opts_init sets the defaults). */
typedef struct otad_emd_opts {
    double mass_tolerance; /**< |Σa − Σb| ≤ this·max(Σa, Σb), else OTAD_EDOMAIN; b is then
                              scaled to a's mass; finite, ≥ 0 (else OTAD_EINVAL); default
                              1e-9 */
} otad_emd_opts;

/** Set every option to its default. */
void otad_emd_opts_init(otad_emd_opts *opts);

/** An optimal plan as triplets (row[k], col[k], mass[k]), sorted by row then
 * column, and optimal dual potentials: f_i + g_j ≤ C_ij for every pair, with
 * equality where the plan has mass, and Σ a_i f_i = Σ b_j g_j = cost/2. */
typedef struct otad_emd_result {
    double cost;           /**< Σ_k mass[k]·C(row[k], col[k]) */
    size_t n;              /**< a's entries */
    size_t m;              /**< b's entries */
    size_t nonzeros;       /**< at most n + m − 1 (a basic solution) */
    size_t *row;           /**< nonzeros entries: each triplet's row, */
    size_t *col;           /**< column */
    double *mass;          /**< and mass */
    double *f;             /**< n potentials */
    double *g;             /**< m potentials */
} otad_emd_result;

/** Exact discrete OT between a (n) and b (m), both ≥ 0 with equal masses, for
 * the cost C (n×m, column-major, finite): min ⟨P, C⟩ over P ≥ 0 with P1 = a,
 * Pᵀ1 = b, by LEMON's network simplex in double precision (n·m < 2^31).
 * res's arrays are malloc'd (otad_emd_result_free).  Returns OTAD_OK, or an
 * error with err's message naming the problem (res is then empty). */
int otad_emd(size_t n, size_t m, const double *a, const double *b, const double *cost,
             const otad_emd_opts *opts, otad_emd_result *res, otad_error *err);

/** Free res's arrays and empty it. */
void otad_emd_result_free(otad_emd_result *res);

/** The same as an op: the exact cost (1×1) of a (n×1), b (m×1) and C (n×m).
 * Gradients: to C the plan; to a and b the potentials centred to mean zero
 * (f − mean f, g − mean g), as POT's emd2 does: the projection on the
 * histograms' tangent space {Σ δ = 0}, where the gradient is unique when the
 * problem is nondegenerate (the plan has n + m − 1 nonzeros).  Perturb a and b
 * only along masses that stay equal (through a softmax, say). */
otad_var otad_emd_cost(otad_tape *tape, otad_var a, otad_var b, otad_var cost,
                       const otad_emd_opts *opts);

/* ---- shortest paths ---------------------------------------------------------- */

/** All-pairs shortest-path distances on the undirected graph with vertices
 * 0..n−1 and edges (ends[2e], ends[2e+1]) of lengths[e] > 0 (igraph's
 * Dijkstra): dist is n×n, column-major, symmetric — a ground cost for exact
 * or entropic OT on a graph.  A graph that is not connected is OTAD_EDOMAIN.
 * Not for two threads at once: igraph, as packaged, is not thread-safe. */
int otad_shortest_paths(size_t n, size_t n_edges, const size_t *ends, const double *lengths,
                        double *dist, otad_error *err);

/* ---- L-BFGS ---------------------------------------------------------------- */

/** Where a minimisation stands, after each iteration: the iterate θ and its
 * gradient (n entries each, valid during the call only, to save or plot). */
typedef struct otad_lbfgs_progress {
    int iteration;       /**< iterations done, from 1 */
    int evaluations;     /**< evaluations of the objective so far */
    double loss;         /**< at θ */
    double grad_norm;    /**< ‖∇‖ at θ */
    double step;         /**< the line search's step */
    double seconds;      /**< since the call started */
    size_t n;            /**< θ's entries */
    const double *theta; /**< the iterate */
    const double *grad;  /**< its gradient */
} otad_lbfgs_progress;

/** Called after each iteration; a nonzero return stops the minimisation. */
typedef int (*otad_lbfgs_progress_fn)(const otad_lbfgs_progress *progress, void *instance);

/** A progress callback that prints one line per iteration to the FILE * given
 * as instance (stdout when NULL), and flushes it, so that a log sent to a
 * file holds every iteration finished even if the run is killed; progress
 * NULL prints nothing and returns OTAD_EINVAL (which stops a minimisation). */
int otad_lbfgs_print_progress(const otad_lbfgs_progress *progress, void *file);

/** Parameters, with the ranges libLBFGS documents (lbfgs.h); one outside its
 * range stops otad_lbfgs before it starts, OTAD_EINVAL with a message naming
 * it and its range.
 *
 * Long runs.  A minimisation stops after the iteration that ends past
 * time_limit, or during which *stop became nonzero: a flag the application
 * sets from a signal handler it installs (for Ctrl-C) or from another
 * thread; the library installs no handler.  Stopped, as when it ends any
 * other way, theta holds the best point seen.  With checkpoint set, the
 * driver writes the iterate, the loss history and the counts to that file
 * every checkpoint_every iterations and the best point when it ends (to a
 * temporary file renamed over it, so a run killed while writing leaves the
 * previous one); a later call with resume set to that file continues from
 * it: θ is the file's (theta's entries are not read), and the iterations,
 * evaluations and losses before it count as the new call's, max_iterations
 * included.  L-BFGS's memory of past steps is not kept: the resumed fit
 * builds it again, so its path differs from an uninterrupted one's.
 *
 * The checkpoint file is text: a line "otad-checkpoint 1", lines
 * "iterations K" and "evaluations E", then three lists, each a line
 * "name count" and one number a line: "theta" (N), "losses" (L-BFGS's
 * K + 1, the loss before the first iteration and after each; a stochastic
 * run's K, each step's) and "state" (the optimiser's own: none for L-BFGS,
 * see otad_stochastic); numbers as C99 hexadecimal floats (%a), exact. */
typedef struct otad_lbfgs_params {
    int max_iterations;          /**< ≥ 0; default 100; 0: no limit */
    int memory;                  /**< corrections kept, 1 to 1000; default 10 */
    double gradient_tolerance;   /**< stop once ‖g‖ ≤ this·max(1, ‖θ‖); finite, ≥ 0;
                                    default 1e-8 */
    int past;                    /**< with relative_decrease: compare the loss with the one
                                    `past` iterations before; ≥ 0; default 0 (off) */
    double relative_decrease;    /**< stop once the loss fell by less than this (relative)
                                    over `past` iterations; finite, ≥ 0; default 1e-10 */
    int max_linesearch;          /**< evaluations per line search, ≥ 1; default 40 */
    otad_lbfgs_progress_fn progress; /**< default NULL */
    void *progress_instance;     /**< passed to progress */
    const otad_tape_opts *tape_opts; /**< of the driver's tape; NULL: defaults */
    double time_limit;           /**< seconds of this call; finite, ≥ 0; default 0: none */
    const volatile sig_atomic_t *stop; /**< see above; default NULL */
    const char *checkpoint;      /**< file to write; default NULL: none */
    int checkpoint_every;        /**< iterations, ≥ 1; default 10 */
    const char *resume;          /**< checkpoint file to continue from; default NULL */
} otad_lbfgs_params;

/** Set every parameter to its default. */
void otad_lbfgs_params_init(otad_lbfgs_params *params);

/** How a minimisation went. */
typedef struct otad_lbfgs_result {
    int status;            /**< OTAD_OK, or the otad error that stopped it (message) */
    int lbfgs_status;      /**< libLBFGS's return code */
    const char *lbfgs_message; /**< the same in words */
    char message[256];     /**< the otad error's message, "" when OK */
    double loss;           /**< at the best point seen, which is in theta on return */
    int iterations;        /**< iterations done (a resumed run's included) */
    int evaluations;       /**< evaluations of the objective */
    double seconds;        /**< of this call */
    double *losses;        /**< the loss before the first iteration and after each (at the
                              iterate, not the best point): iterations + 1 entries,
                              malloc'd; otad_lbfgs_result_free */
} otad_lbfgs_result;

/** Minimise the objective recorded by build over θ ∈ R^n from theta, with
 * libLBFGS (backtracking line search with the strong Wolfe conditions).  Each
 * evaluation resets the driver's tape, records build on it with θ as a
 * parameter, and runs backward.  An evaluation that fails softly (a
 * non-finite value: OTAD_ERANGE, OTAD_EDOMAIN, OTAD_ENOTPOSDEF) counts as +∞,
 * so that the line search shortens the step; any other failure stops the
 * minimisation with that error.  On success theta holds the best point seen;
 * on failure it is unchanged.  build and theta must not be NULL, n is 1 to
 * 2^30, theta finite (else OTAD_EDOMAIN), params as above (NULL: defaults);
 * result NULL is OTAD_EINVAL without a message. */
int otad_lbfgs(otad_build_fn build, void *instance, size_t n, double *theta,
               const otad_lbfgs_params *params, otad_lbfgs_result *result);

/** Free result's losses. */
void otad_lbfgs_result_free(otad_lbfgs_result *result);

/* ---- stochastic optimisers ------------------------------------------------ */

/** Records the loss (1×1) at θ (n×1) on the data of step `step` (0, 1, …):
 * a mini-batch the function draws, for instance from a generator seeded by
 * the step, so that a resumed run draws the same batches. */
typedef otad_var (*otad_step_build_fn)(otad_tape *tape, otad_var theta, int step,
                                       void *instance);

/** A stochastic optimiser. */
typedef enum otad_stochastic_method {
    OTAD_ADAM, /**< Kingma and Ba (2015), with the bias corrections */
    OTAD_SGD   /**< v ← momentum·v + g, θ ← θ − rate·v */
} otad_stochastic_method;

/** Parameters; one out of range stops otad_stochastic before it starts,
 * OTAD_EINVAL with a message naming it.  progress, time_limit, stop,
 * checkpoint and resume as otad_lbfgs_params's, per step instead of per
 * iteration: the callback's grad_norm is the step's mini-batch gradient's,
 * its step the learning rate, its theta the point after the step; the
 * checkpoint's state is Adam's two moments (2n numbers) or SGD's velocity
 * (n), so that a resumed run continues exactly where the saved one was. */
typedef struct otad_stochastic_params {
    otad_stochastic_method method; /**< default OTAD_ADAM */
    int steps;                     /**< ≥ 1; default 1000; those before a resume count */
    double learning_rate;          /**< > 0; default 1e-3 */
    double beta1;                  /**< Adam's averaging of the gradient, in [0, 1);
                                      default 0.9 */
    double beta2;                  /**< and of its square; default 0.999 */
    double epsilon;                /**< Adam's, > 0; default 1e-8 */
    double momentum;               /**< SGD's, in [0, 1); default 0.9 */
    otad_lbfgs_progress_fn progress; /**< after each step; default NULL */
    void *progress_instance;       /**< passed to progress */
    double time_limit;             /**< seconds of this call; ≥ 0; default 0: none */
    const volatile sig_atomic_t *stop; /**< as otad_lbfgs_params's; default NULL */
    const char *checkpoint;        /**< default NULL */
    int checkpoint_every;          /**< steps, ≥ 1; default 100 */
    const char *resume;            /**< default NULL */
    const otad_tape_opts *tape_opts; /**< of the tape; NULL: defaults */
} otad_stochastic_params;

/** Set every parameter to its default. */
void otad_stochastic_params_init(otad_stochastic_params *params);

/** How a stochastic minimisation went. */
typedef struct otad_stochastic_result {
    int status;          /**< OTAD_OK, or the error that stopped it (message) */
    char message[256];   /**< the error's message, "" when OK */
    const char *stopped; /**< why it ended, in words */
    int steps;           /**< taken, a resumed run's included */
    double seconds;      /**< of this call */
    double *losses;      /**< each step's mini-batch loss, steps entries, malloc'd;
                            otad_stochastic_result_free */
} otad_stochastic_result;

/** Minimise over θ ∈ R^n from theta: each step resets one tape, records
 * build at θ for that step, runs backward and moves θ.  On success theta
 * holds the last point (with noisy mini-batch losses there is no best point
 * to keep); a step that fails stops the run with its error, theta
 * unchanged (a checkpoint keeps the way there).  build and theta must not
 * be NULL, n 1 to 2^30, theta finite (unless resuming); result NULL is
 * OTAD_EINVAL. */
int otad_stochastic(otad_step_build_fn build, void *instance, size_t n, double *theta,
                    const otad_stochastic_params *params, otad_stochastic_result *result);

/** Free result's losses. */
void otad_stochastic_result_free(otad_stochastic_result *result);

#ifdef __cplusplus
}
#endif

#endif
