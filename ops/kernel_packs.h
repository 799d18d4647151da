/* The packs of a Gibbs kernel's backward (kernel_gibbs.c, kernel_online.c):
 * each apply's vjp queues its rank-one terms ȳxᵀ (xȳᵀ for the transpose), of
 * K̄ or of (K⊙C)‾, and the kernel forms their share of C̄ at once when a pack
 * is full or the backward reaches it, instead of an n×m pass per apply.  The
 * packs are empty between backwards. */
#ifndef OTAD_OPS_KERNEL_PACKS_H
#define OTAD_OPS_KERNEL_PACKS_H

#include <string.h>

#include "ops.h"

typedef struct otadO_pack {
    double *left, *right; /* n×cap and m×cap */
    size_t count;
} otadO_pack;

typedef struct otadO_packs {
    otadO_pack of_k, of_kc; /* terms of K̄ and of (K⊙C)‾ */
    size_t n, m, cap;
} otadO_packs;

/* Packs of cap columns each, from lo to 512 within `budget` bytes for both;
 * allocated with the kernel, as they must outlive the applies' vjps. */
static inline int otadO_packs_new(otad_ctx *c, otadO_packs *p, size_t n, size_t m,
                                  size_t budget, size_t lo)
{
    size_t cap = budget / (2 * sizeof(double) * (n + m));
    cap = cap < lo ? lo : cap > 512 ? 512 : cap;
    double *mem = otad_alloc(c, 2 * cap * (n + m) * sizeof *mem);
    if (!mem)
        return OTAD_ENOMEM;
    double *kc = mem + cap * (n + m);
    *p = (otadO_packs){{mem, mem + cap * n, 0}, {kc, kc + cap * n, 0}, n, m, cap};
    return OTAD_OK;
}

typedef int (*otadO_flush_fn)(const otad_ctx *c, void *kernel, const otad_kernel_grads *grads);

/* Queue one apply's terms; flush, which empties both packs, runs when the
 * apply's pack is full. */
static inline int otadO_packs_collect(otadO_packs *p, const otad_ctx *c, void *kernel,
                                      const otad_kernel_vjp_args *a,
                                      const otad_kernel_grads *grads, otadO_flush_fn flush)
{
    otadO_pack *pack = (a->product & OTAD_KERNEL_COST) ? &p->of_kc : &p->of_k;
    int transpose = a->product & OTAD_KERNEL_TRANSPOSE;
    const double *left = transpose ? a->x : a->ybar, *right = transpose ? a->ybar : a->x;
    for (size_t col = 0; col < a->ncols; col++) {
        if (pack->count == p->cap && flush(c, kernel, grads) != OTAD_OK)
            return OTAD_ENOMEM;
        memcpy(pack->left + pack->count * p->n, left + col * p->n, p->n * sizeof *left);
        memcpy(pack->right + pack->count * p->m, right + col * p->m, p->m * sizeof *right);
        pack->count++;
    }
    return OTAD_OK;
}

#endif
