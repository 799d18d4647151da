/* The tape: leaves, backward, reset and arena reuse, marks, release. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* y = Σ exp(x) ⊙ c: dy/dx = exp(x) ⊙ c. */
static otad_var small_graph(otad_tape *t, const double *x, double *gx, const double *c)
{
    otad_var px = otad_param(t, 4, 2, x, gx);
    return otad_sum(t, otad_mul(t, otad_exp(t, px), otad_const(t, 4, 2, c)));
}

static void test_gradient_to_caller_buffer(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double *x = random_matrix(1, 4, 2, -1, 1), *c = random_matrix(2, 4, 2, -1, 1), g[8];
    otad_var y = small_graph(t, x, g, c);
    assert_int_equal(otad_backward(t, y), OTAD_OK);
    double expected = 0;
    for (int i = 0; i < 8; i++) {
        assert_close(g[i], exp(x[i]) * c[i], 1e-15);
        expected += exp(x[i]) * c[i];
    }
    assert_close(otad_scalar(t, y), expected, 1e-14);
    /* a second backward gives the same gradient, not twice it */
    assert_int_equal(otad_backward(t, y), OTAD_OK);
    assert_close(g[3], exp(x[3]) * c[3], 1e-15);
    free(x), free(c);
    otad_tape_free(&t);
}

static void test_param_without_buffer_and_unused_param(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[2] = {1, 2}, z[2] = {3, 4}, gz[2] = {9, 9};
    otad_var px = otad_param(t, 2, 1, x, NULL);
    otad_var pz = otad_param(t, 2, 1, z, gz);
    otad_var y = otad_dot(t, px, px);
    assert_int_equal(otad_backward(t, y), OTAD_OK);
    const double *gx = otad_grad(t, px);
    assert_non_null(gx);
    assert_close(gx[0], 2, 0);
    assert_close(gx[1], 4, 0);
    /* no path from y to z: its gradient is zero, written as such */
    assert_null(otad_grad(t, pz));
    assert_close(gz[0], 0, 0);
    assert_close(gz[1], 0, 0);
    otad_tape_free(&t);
}

/* Two leaves over one buffer: the buffer gets the sum of their gradients. */
static void test_params_sharing_a_gradient_buffer(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[2] = {1, 2}, g[2];
    otad_var y = otad_dot(t, otad_param(t, 2, 1, x, g), otad_param(t, 2, 1, x, g));
    assert_int_equal(otad_backward(t, y), OTAD_OK);
    assert_close(g[0], 2, 0);
    assert_close(g[1], 4, 0);
    otad_tape_free(&t);
}

static void test_constants_borrowed_and_copied(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double c[2] = {1, 2};
    otad_var borrowed = otad_const(t, 2, 1, c), copied = otad_const_copy(t, 2, 1, c);
    c[0] = 10;
    assert_close(otad_value_of(t, borrowed).data[0], 10, 0);
    assert_close(otad_value_of(t, copied).data[0], 1, 0);
    otad_var filled = otad_const_fill(t, 3, 2, 0.25);
    assert_close(otad_scalar(t, otad_sum(t, filled)), 1.5, 0);
    assert_tape_ok(t);
    otad_tape_free(&t);
}

static void test_vector_output_seeded(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[3] = {1, 2, 3}, g[3], seed[3] = {1, 10, 100};
    otad_var y = otad_scale(t, otad_param(t, 3, 1, x, g), 2);
    assert_int_equal(otad_backward(t, y), OTAD_ESHAPE);
    assert_string_equal(otad_tape_message(t),
                        "backward: output is 3x1, not a scalar (use otad_backward_seeded)");
    otad_tape_reset(t);
    y = otad_scale(t, otad_param(t, 3, 1, x, g), 2);
    assert_int_equal(otad_backward_seeded(t, y, seed), OTAD_OK);
    assert_close(g[2], 200, 0);
    otad_tape_free(&t);
}

/* x ← x/2 + r, r the node the instance points at */
static int halve_and_add(otad_tape *t, const otad_var *state, const otad_var *params,
                         otad_var *next, void *instance)
{
    (void)params;
    next[0] = otad_add(t, otad_scale(t, state[0], 0.5), *(const otad_var *)instance);
    return otad_tape_status(t);
}

/* The second evaluation of a graph, after a reset, asks the allocator for
 * nothing; so do the thousand after it, and the result does not change. */
static void test_reset_reuses_memory(void **state)
{
    (void)state;
    counting_allocator a;
    counting_allocator_init(&a);
    otad_tape *t = new_counted_tape(&a, 4096);
    double *x = random_matrix(3, 4, 2, -1, 1), *c = random_matrix(4, 4, 2, -1, 1), g[8];
    double big[2000];
    for (int i = 0; i < 2000; i++)
        big[i] = i;

    double first = 0;
    otad_tape_stats after_first, now;
    for (int cycle = 0; cycle <= 1000; cycle++) {
        otad_tape_reset(t);
        otad_var y = small_graph(t, x, g, c);
        /* larger than a chunk: gets a chunk of its own, kept for next time */
        otad_var b = otad_sum(t, otad_const_copy(t, 1000, 2, big));
        y = otad_add(t, y, otad_scale(t, b, 0));
        /* a kernel, whose applies take their workspace from the tape's scratch */
        otad_kernel k = otad_kernel_grid(t, 2, (size_t[]){4, 2}, 0.5);
        otad_var kx = otad_kernel_apply(t, k, 0, otad_const_fill(t, 8, 3, 1));
        y = otad_add(t, y, otad_scale(t, otad_sum(t, kx), 0));
        /* loops that record and drop their steps, which read y unannounced */
        for (int mode = OTAD_CHECKPOINT; mode <= OTAD_IMPLICIT; mode++) {
            otad_loop_opts o;
            otad_loop_opts_init(&o);
            o.mode = (otad_grad_mode)mode;
            o.iterations = 20;
            otad_var *read = otad_tape_alloc(t, sizeof *read), init = otad_const_fill(t, 1, 1, 0);
            *read = y;
            otad_var out;
            assert_int_equal(otad_loop(t, halve_and_add, read, 1, &init, 0, NULL, &o, &out, NULL),
                             OTAD_OK);
            y = otad_add(t, y, otad_scale(t, out, 1e-3));
        }
        assert_int_equal(otad_backward(t, y), OTAD_OK);
        if (cycle == 0) {
            first = otad_scalar(t, y);
            otad_tape_stats_get(t, &after_first);
            continue;
        }
        assert_close(otad_scalar(t, y), first, 0);
        otad_tape_stats_get(t, &now);
        assert_int_equal(now.allocations, after_first.allocations);
        assert_int_equal(now.bytes_reserved, after_first.bytes_reserved);
        assert_int_equal(now.bytes_in_use, after_first.bytes_in_use);
    }
    assert_true(after_first.allocations > 3); /* several chunks were needed */
    assert_int_equal(a.calls, after_first.allocations);
    otad_tape_free(&t);
    assert_int_equal(a.live_blocks, 0);
    assert_int_equal(a.live_bytes, 0);
    free(x), free(c);
}

static void test_mark_and_rewind(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[2] = {0.5, 1.5}, g[2];
    otad_var p = otad_param(t, 2, 1, x, g);
    otad_var e = otad_exp(t, p);
    otad_mark m = otad_tape_mark(t);
    otad_tape_stats before, after;
    otad_tape_stats_get(t, &before);

    for (int round = 0; round < 3; round++) {
        otad_var y = otad_sum(t, otad_mul(t, e, e));
        assert_int_equal(otad_backward(t, y), OTAD_OK);
        assert_close(g[1], 2 * exp(2 * x[1]), 1e-12);
        assert_non_null(otad_grad(t, p));
        /* an op output's gradient is released once the sweep has passed it */
        assert_null(otad_grad(t, e));
        otad_tape_rewind(t, m);
        otad_tape_stats_get(t, &after);
        assert_int_equal(after.nodes, before.nodes);
        assert_int_equal(after.bytes_in_use, before.bytes_in_use);
        /* p's gradient lived past the mark: dropped with it */
        assert_null(otad_grad(t, p));
    }
    /* a mark from before a reset is ignored */
    otad_tape_reset(t);
    p = otad_param(t, 2, 1, x, g);
    otad_tape_rewind(t, m);
    otad_tape_stats_get(t, &after);
    assert_int_equal(after.nodes, 1);
    otad_tape_free(&t);
}

static void test_stale_handle(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var old = otad_const_fill(t, 2, 2, 1);
    otad_tape_reset(t);
    otad_const_fill(t, 2, 2, 1);
    assert_false(otad_var_valid(otad_exp(t, old)));
    assert_int_equal(otad_tape_status(t), OTAD_EINVAL);
    assert_string_equal(otad_tape_message(t), "exp: input 0 is not a node of this tape "
                                              "(invalid, or recorded before a reset)");
    assert_null(otad_value_of(t, old).data);
    assert_true(isnan(otad_scalar(t, old)));

    /* a handle of another tape */
    otad_tape *other = new_tape();
    otad_tape_reset(t);
    otad_var foreign = otad_const_fill(other, 2, 2, 1);
    otad_const_fill(t, 2, 2, 1);
    assert_false(otad_var_valid(otad_exp(t, foreign)));
    assert_int_equal(otad_tape_status(t), OTAD_EINVAL);
    otad_tape_free(&other);
    otad_tape_free(&t);
}

/* ---- an op holding an outside resource ---------------------------------- */

typedef struct resource_state {
    int *handle; /* malloc'd in forward, freed in release */
} resource_state;

static int resource_count;

static int same_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    *rows = c->in[0].rows;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

static int resource_forward(otad_ctx *c)
{
    resource_state *s = c->saved;
    s->handle = malloc(sizeof *s->handle);
    if (!s->handle)
        return otad_fail(c, OTAD_ENOMEM, "no memory");
    resource_count++;
    memcpy(c->out.data, c->in[0].data, c->out.rows * c->out.cols * sizeof(double));
    if (c->in[0].data[0] < 0)
        return otad_fail(c, OTAD_EDOMAIN, "negative first entry");
    return OTAD_OK;
}

static void resource_release(otad_ctx *c)
{
    resource_state *s = c->saved;
    free(s->handle);
    s->handle = NULL;
    resource_count--;
}

static const otad_op op_resource = {.name = "resource", .arity = 1,
                                    .saved_bytes = sizeof(resource_state), .shape = same_shape,
                                    .forward = resource_forward, .release = resource_release};

static void test_release_always_called(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var x = otad_const_fill(t, 2, 1, 1);
    for (int i = 0; i < 5; i++)
        x = otad_apply(t, &op_resource, NULL, 1, &x);
    assert_int_equal(resource_count, 5);
    otad_mark m = otad_tape_mark(t);
    otad_apply(t, &op_resource, NULL, 1, &x);
    otad_apply(t, &op_resource, NULL, 1, &x);
    assert_int_equal(resource_count, 7);
    otad_tape_rewind(t, m);
    assert_int_equal(resource_count, 5);
    otad_tape_reset(t);
    assert_int_equal(resource_count, 0);

    /* released when forward fails after acquiring */
    otad_var neg = otad_const_fill(t, 2, 1, -1);
    assert_false(otad_var_valid(otad_apply(t, &op_resource, NULL, 1, &neg)));
    assert_int_equal(resource_count, 0);
    assert_string_equal(otad_tape_message(t), "resource: negative first entry");
    otad_tape_reset(t);

    x = otad_const_fill(t, 2, 1, 1);
    otad_apply(t, &op_resource, NULL, 1, &x);
    otad_tape_free(&t);
    assert_int_equal(resource_count, 0);
    assert_null(t);
}

/* The op has no vjp: fine until a gradient through it is asked. */
static void test_missing_vjp_only_when_asked(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[2] = {1, 2}, g[2];
    otad_var c = otad_apply(t, &op_resource, NULL, 1, (otad_var[]){otad_const_fill(t, 2, 1, 1)});
    otad_var p = otad_param(t, 2, 1, x, g);
    otad_var y = otad_dot(t, c, p);
    assert_int_equal(otad_backward(t, y), OTAD_OK); /* the resource op needs no gradient */
    assert_close(g[0], 1, 0);
    y = otad_sum(t, otad_apply(t, &op_resource, NULL, 1, &p));
    assert_int_equal(otad_backward(t, y), OTAD_ENOGRAD);
    assert_string_equal(otad_tape_message(t), "resource: no vjp, cannot differentiate");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_to_caller_buffer),
        cmocka_unit_test(test_param_without_buffer_and_unused_param),
        cmocka_unit_test(test_params_sharing_a_gradient_buffer),
        cmocka_unit_test(test_constants_borrowed_and_copied),
        cmocka_unit_test(test_vector_output_seeded),
        cmocka_unit_test(test_reset_reuses_memory),
        cmocka_unit_test(test_mark_and_rewind),
        cmocka_unit_test(test_stale_handle),
        cmocka_unit_test(test_release_always_called),
        cmocka_unit_test(test_missing_vjp_only_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
