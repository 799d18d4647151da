/*
 * otad ops — differentiable operations recorded on a tape.
 *
 * Every function records one op and returns its node, or an invalid handle
 * when the tape has failed (then otad_tape_status/otad_tape_message say why:
 * messages start with the op's name).  Values are column-major; columns are
 * the batch dimension.
 */
#ifndef OTAD_OPS_H
#define OTAD_OPS_H

#include "../ad/ad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- elementwise -------------------------------------------------------- */

/* a ∘ b entry by entry.  Shapes broadcast per dimension: each of a and b has
 * the output's rows or 1 row, and its columns or 1 column — so a scalar (1×1),
 * a column (N×1) or a row (1×B) combines with an N×B value.  Gradients of a
 * broadcast operand are summed over the dimensions it was repeated along. */
otad_var otad_add(otad_tape *tape, otad_var a, otad_var b);
otad_var otad_sub(otad_tape *tape, otad_var a, otad_var b);
otad_var otad_mul(otad_tape *tape, otad_var a, otad_var b);
otad_var otad_div(otad_tape *tape, otad_var a, otad_var b);  /* b must have no zero */

otad_var otad_scale(otad_tape *tape, otad_var x, double alpha);   /* αx */
otad_var otad_exp(otad_tape *tape, otad_var x);
otad_var otad_log(otad_tape *tape, otad_var x);                   /* x > 0 */
/* x^p; x ≥ 0 unless p is an integer, and x ≠ 0 when p < 0. */
otad_var otad_pow(otad_tape *tape, otad_var x, double p);

/* ---- reductions ----------------------------------------------------------- */

otad_var otad_sum(otad_tape *tape, otad_var x);        /* 1×1: all entries */
otad_var otad_sum_cols(otad_tape *tape, otad_var x);   /* 1×B: each column */
otad_var otad_dot(otad_tape *tape, otad_var a, otad_var b); /* 1×1: Σ a_ij b_ij, same shapes */

/* Per column, stable for any finite input (the column maximum is shifted out). */
otad_var otad_softmax(otad_tape *tape, otad_var x);    /* N×B */
otad_var otad_logsumexp(otad_tape *tape, otad_var x);  /* 1×B */

/* ---- linear algebra ----------------------------------------------------- */

/* op(a)·op(b) through cblas_dgemm, op(x) = xᵀ when its flag is set. */
otad_var otad_matmul(otad_tape *tape, otad_var a, int transpose_a, otad_var b, int transpose_b);

/* ---- arranging values --------------------------------------------------- */

/* Side by side (same rows) or one above the other (same columns). */
otad_var otad_hcat(otad_tape *tape, size_t n, const otad_var *xs);
otad_var otad_vcat(otad_tape *tape, size_t n, const otad_var *xs);

/* The block of rows [row, row+rows) and columns [col, col+cols) of x. */
otad_var otad_slice(otad_tape *tape, otad_var x, size_t row, size_t rows, size_t col, size_t cols);

/* Columns [first, first+count) of x. */
otad_var otad_cols(otad_tape *tape, otad_var x, size_t first, size_t count);

/* The same entries in column-major order as a rows×cols value. */
otad_var otad_reshape(otad_tape *tape, otad_var x, size_t rows, size_t cols);

#ifdef __cplusplus
}
#endif

#endif
