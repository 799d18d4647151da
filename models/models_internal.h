/* Shared by the models, not public. */
#ifndef OTAD_MODELS_INTERNAL_H
#define OTAD_MODELS_INTERNAL_H

#include "../ad/args.h"
#include "../solvers/solvers_internal.h"
#include "models.h"

/* Loss (1×B) between the columns of p and q by name; k is the support's
 * kernel (for the Sinkhorn loss). */
otad_var otadM_histogram_loss(otad_tape *tape, otad_histogram_loss loss, otad_kernel k,
                              otad_var p, otad_var q, const otad_sinkhorn_opts *sinkhorn);

/* The arguments of a ready model's record function (mke atoms, ellipses,
 * mlp): its instance (named what), the outputs, and θ with the model's
 * n_params entries.  The tape fails naming the first bad one (who: "mke
 * atoms"). */
int otadM_check_model(otad_tape *tape, const char *who, const char *what, const void *instance,
                      size_t n_params, otad_var theta, const otad_var *points,
                      const otad_var *weights);

#endif
