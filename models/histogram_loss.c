/* The data terms models compare histograms with, chosen by name. */
#include <math.h>

#include "models_internal.h"

static const otad_var no_var;

otad_var otadM_histogram_loss(otad_tape *t, otad_histogram_loss loss, otad_kernel k, otad_var p,
                              otad_var q, const otad_sinkhorn_opts *sinkhorn)
{
    switch (loss) {
    case OTAD_LOSS_L2:
        return otad_loss_l2(t, p, q);
    case OTAD_LOSS_KL:
        return otad_loss_kl(t, p, q);
    case OTAD_LOSS_L1:
        return otad_loss_l1(t, p, q);
    case OTAD_LOSS_SINKHORN: /* an unbalanced divergence is built on the KL dual */
        return otad_sinkhorn_divergence(t, k, k, k, p, q, sinkhorn,
                                        sinkhorn && (isfinite(sinkhorn->rho_a) ||
                                                     isfinite(sinkhorn->rho_b))
                                            ? OTAD_SINKHORN_KL_DUAL
                                            : OTAD_SINKHORN_DUAL);
    }
    otad_tape_fail(t, OTAD_EINVAL, "loss: unknown histogram loss %d", (int)loss);
    return no_var;
}
