/* Shared by the solvers, not public. */
#ifndef OTAD_SOLVERS_INTERNAL_H
#define OTAD_SOLVERS_INTERNAL_H

#include "solvers.h"

/* One barycenter iteration in the scaling domain, w' = Kᵀ(a / K(b/w)) with
 * b = Π_r w_r^λ_r per barycenter, as one op (barycenter_step.c). */
otad_var otadS_barycenter_step(otad_tape *tape, otad_var w, otad_var inputs, otad_var weights,
                               otad_kernel k);

#endif
