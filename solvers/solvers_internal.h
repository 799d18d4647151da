/* Shared by the solvers, not public. */
#ifndef OTAD_SOLVERS_INTERNAL_H
#define OTAD_SOLVERS_INTERNAL_H

#include "solvers.h"

/* otad_barycenter in the scaling domain, UNROLL, as one op that keeps K v
 * and Kᵀu per iteration only. */
otad_var otadS_barycenter_unrolled(otad_tape *tape, otad_kernel k, otad_var inputs,
                                   otad_var weights, int iterations);

#endif
