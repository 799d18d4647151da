/* Output shapes shared by many ops (internal to ops/). */
#ifndef OTAD_SHAPE_RULES_H
#define OTAD_SHAPE_RULES_H

#include "ops.h"

/* The shape of the first input: entry-by-entry maps. */
static inline int shape_of_input(const otad_ctx *c, size_t *rows, size_t *cols)
{
    *rows = c->in[0].rows;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

/* 1×1: reductions to a number. */
static inline int shape_scalar(const otad_ctx *c, size_t *rows, size_t *cols)
{
    (void)c;
    *rows = *cols = 1;
    return OTAD_OK;
}

/* 1×B: one number per column of the first input. */
static inline int shape_per_column(const otad_ctx *c, size_t *rows, size_t *cols)
{
    *rows = 1;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

#endif
