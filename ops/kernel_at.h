/* The log-domain apply of a kernel at another ε, for Sinkhorn's ε-scaling;
 * not public: a value without a gradient. */
#ifndef OTAD_KERNEL_AT_H
#define OTAD_KERNEL_AT_H

#include "ops.h"

/* Whether k's class has apply_log_at. */
int otadK_has_log_at(const otad_tape *tape, otad_kernel k);

/* log(op(K_η)·exp(x)) for K_η = exp(−C/η), through the class's
 * apply_log_at; product 0 or OTAD_KERNEL_TRANSPOSE.  x must need no
 * gradient: the op has no vjp (OTAD_ENOGRAD if backward reaches it). */
otad_var otadK_apply_log_at(otad_tape *tape, otad_kernel k, unsigned product, double eta,
                            otad_var x);

#endif
