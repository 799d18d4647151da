/* Shared by the solvers, not public. */
#ifndef OTAD_SOLVERS_INTERNAL_H
#define OTAD_SOLVERS_INTERNAL_H

#include <time.h>

#include "solvers.h"

/* One barycenter iteration in the scaling domain, w' = Kᵀ(a / K(b/w)) with
 * b = Π_r w_r^λ_r per barycenter, as one op (barycenter_step.c). */
otad_var otadS_barycenter_step(otad_tape *tape, otad_var w, otad_var inputs, otad_var weights,
                               otad_kernel k);

/* The unbalanced update's translation factor (translation.c), 1×B:
 * (A / B)^(1/(α_a + α_b)) per column, A = Σ u ⊙ K v and B = Σ v ⊙ Kᵀu, the
 * products read from the given first rows of their values (the state's
 * K v). */
otad_var otadS_translation(otad_tape *tape, otad_var u, otad_var kv, size_t kv_first_row,
                           otad_var v, otad_var ktu, size_t ktu_first_row, double alpha_a,
                           double alpha_b);

/* The optimisers' clock and their limits: seconds since start, and why a
 * run must stop after its iteration (NULL: it need not). */
static inline double otadS_seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

static inline const char *otadS_stop_reason(double time_limit, const volatile sig_atomic_t *stop,
                                            double seconds)
{
    if (time_limit > 0 && seconds >= time_limit)
        return "stopped: the time limit was reached";
    return stop && *stop ? "stopped: asked to stop" : NULL;
}

/* What a fit saves and resumes from (checkpoint.c; the file's format:
 * solvers.h, otad_lbfgs_params). */
typedef struct otadS_checkpoint {
    size_t n;
    int iterations, evaluations;
    double *theta;   /* n entries */
    size_t n_losses;
    double *losses;
    size_t n_state;  /* the optimiser's own state (Adam's moments), 0 for L-BFGS */
    double *state;
} otadS_checkpoint;

/* Write c to path (through path.tmp, renamed): OTAD_OK, OTAD_EIO or
 * OTAD_ENOMEM, the message starting with who. */
int otadS_checkpoint_write(const char *who, const char *path, const otadS_checkpoint *c,
                           otad_error *err);
/* Read c from path, its arrays malloc'd (otadS_checkpoint_free): OTAD_OK,
 * OTAD_EIO (no such file), OTAD_EFORMAT or OTAD_ENOMEM. */
int otadS_checkpoint_read(const char *who, const char *path, otadS_checkpoint *c,
                          otad_error *err);
void otadS_checkpoint_free(otadS_checkpoint *c);

/* What a warm start tells problems apart by (sinkhorn_start.c). */
typedef struct otadS_start_key {
    size_t rows, cols, batch;
    int role;       /* a divergence's three problems: 0 (a, b), 1 (a, a), 2 (b, b) */
    int unbalanced; /* the potentials are log(u/a), not log u */
} otadS_start_key;

/* The potentials f (rows×batch) and g (cols×batch) kept for key: 1, or 0
 * when there are none.  Counted as found or missed. */
int otadS_start_find(otad_sinkhorn_start *start, const otadS_start_key *key, const double **f,
                     const double **g);
/* Keep f and g for key (copied): OTAD_OK or OTAD_ENOMEM. */
int otadS_start_store(otad_sinkhorn_start *start, const otadS_start_key *key, const double *f,
                      const double *g);

/* otad_sinkhorn_solve as one of a divergence's problems (role as above). */
int otadS_sinkhorn_solve(otad_tape *tape, otad_kernel k, otad_var a, otad_var b,
                         const otad_sinkhorn_opts *opts, int role, otad_sinkhorn *out);

/* Every field of the options in its range: OTAD_OK, or OTAD_EINVAL with
 * "who: <prefix><field> is …, must be …" in err (a model passes the name of
 * the options it holds as prefix, "sinkhorn."; NULL for none). */
int otadS_check_sinkhorn_opts(const otad_sinkhorn_opts *o, const char *who, const char *prefix,
                              otad_error *err);
int otadS_check_barycenter_opts(const otad_barycenter_opts *o, const char *who,
                                const char *prefix, otad_error *err);

#endif
