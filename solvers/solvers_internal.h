/* Shared by the solvers, not public. */
#ifndef OTAD_SOLVERS_INTERNAL_H
#define OTAD_SOLVERS_INTERNAL_H

#include "solvers.h"

/* One barycenter iteration in the scaling domain, w' = Kᵀ(a / K(b/w)) with
 * b = Π_r w_r^λ_r per barycenter, as one op (barycenter_step.c). */
otad_var otadS_barycenter_step(otad_tape *tape, otad_var w, otad_var inputs, otad_var weights,
                               otad_kernel k);

/* The unbalanced update's translation factor (translation.c), 1×B:
 * (Σ a (u/a)^(−α_a) / Σ b (v/b)^(−α_b))^(1/(α_a + α_b)) per column, v/b the
 * first rows_b rows of rv. */
otad_var otadS_translation(otad_tape *tape, otad_var a, otad_var ru, otad_var b, otad_var rv,
                           size_t rows_b, double alpha_a, double alpha_b);

/* Every field of the options in its range: OTAD_OK, or OTAD_EINVAL with
 * "who: <prefix><field> is …, must be …" in err (a model passes the name of
 * the options it holds as prefix, "sinkhorn."; NULL for none). */
int otadS_check_sinkhorn_opts(const otad_sinkhorn_opts *o, const char *who, const char *prefix,
                              otad_error *err);
int otadS_check_barycenter_opts(const otad_barycenter_opts *o, const char *who,
                                const char *prefix, otad_error *err);

#endif
