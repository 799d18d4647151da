/* The error contract: sticky status, messages, bad arguments, non-finite
 * input, and allocation failure at every allocation point. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static void test_error_is_sticky(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var a = otad_const_fill(t, 3, 1, 1);
    otad_var bad = otad_add(t, a, otad_const_fill(t, 2, 1, 1));
    assert_false(otad_var_valid(bad));
    otad_tape_stats before, after;
    otad_tape_stats_get(t, &before);
    /* later ops do nothing and keep the first message */
    otad_var later = otad_log(t, otad_scale(t, a, -1));
    assert_false(otad_var_valid(later));
    assert_false(otad_var_valid(otad_const_fill(t, 1, 1, 0)));
    otad_tape_stats_get(t, &after);
    assert_int_equal(after.nodes, before.nodes);
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_string_equal(otad_tape_message(t), "add: cannot broadcast 3x1 with 2x1");
    assert_int_equal(otad_backward(t, a), OTAD_ESHAPE);
    /* a build function may record its own failure, once */
    assert_int_equal(otad_tape_fail(t, OTAD_EDOMAIN, "model: %d", 1), OTAD_ESHAPE);
    otad_tape_reset(t);
    assert_int_equal(otad_tape_status(t), OTAD_OK);
    assert_string_equal(otad_tape_message(t), "");
    assert_int_equal(otad_tape_fail(t, OTAD_EDOMAIN, "model: %d histograms", 0), OTAD_EDOMAIN);
    assert_string_equal(otad_tape_message(t), "model: 0 histograms");
    otad_tape_free(&t);
}

static void test_nonfinite_leaves(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[4] = {1, 2, NAN, 4}, g[4];
    assert_false(otad_var_valid(otad_param(t, 2, 2, x, g)));
    assert_int_equal(otad_tape_status(t), OTAD_EDOMAIN);
    assert_string_equal(otad_tape_message(t), "param: entry (0,1) is nan");
    otad_tape_reset(t);
    x[2] = -INFINITY;
    assert_false(otad_var_valid(otad_const(t, 4, 1, x)));
    assert_string_equal(otad_tape_message(t), "const: entry (2,0) is -inf");
    otad_tape_reset(t);
    assert_false(otad_var_valid(otad_const_fill(t, 2, 2, NAN)));
    assert_int_equal(otad_tape_status(t), OTAD_EDOMAIN);
    otad_tape_free(&t);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(otad_tape_new(NULL, NULL), OTAD_EINVAL);
    otad_tape_opts opts;
    otad_tape_opts_init(&opts);
    opts.chunk_bytes = 0;
    otad_tape *t = (otad_tape *)&opts;
    assert_int_equal(otad_tape_new(&t, &opts), OTAD_EINVAL);
    assert_null(t);

    /* NULL tapes are refused, not dereferenced */
    assert_false(otad_var_valid(otad_const_fill(NULL, 1, 1, 0)));
    assert_false(otad_var_valid(otad_exp(NULL, (otad_var){0, 1})));
    assert_int_equal(otad_backward(NULL, (otad_var){0, 1}), OTAD_EINVAL);
    assert_int_equal(otad_tape_status(NULL), OTAD_EINVAL);
    otad_tape_reset(NULL);
    otad_tape_free(NULL);

    t = new_tape();
    double x = 1;
    assert_false(otad_var_valid(otad_param(t, 0, 1, &x, NULL)));
    assert_string_equal(otad_tape_message(t), "param: bad size 0x1");
    otad_tape_reset(t);
    assert_false(otad_var_valid(otad_const(t, 1, 1, NULL)));
    assert_string_equal(otad_tape_message(t), "const: value is NULL");
    otad_tape_reset(t);
    assert_false(otad_var_valid(otad_exp(t, (otad_var){0, 0})));
    assert_int_equal(otad_tape_status(t), OTAD_EINVAL);
    otad_tape_reset(t);
    otad_var c = otad_const_fill(t, 1, 1, 1);
    assert_int_equal(otad_backward_seeded(t, c, NULL), OTAD_EINVAL);
    assert_string_equal(otad_tape_message(t), "backward: seed is NULL");
    otad_tape_free(&t);
}

static void test_strerror_names_every_code(void **state)
{
    (void)state;
    for (int code = OTAD_OK; code >= OTAD_ECHECK; code--) {
        const char *s = otad_strerror(code);
        assert_non_null(s);
        assert_int_equal(strncmp(s, "OTAD_", 5), 0);
        for (int other = OTAD_OK; other > code; other--)
            assert_string_not_equal(s, otad_strerror(other));
    }
    assert_string_equal(otad_strerror(12345), "unknown otad error code");
}

/* ---- allocation failure ------------------------------------------------- */

/* A graph with many allocation points: chunks from 4 KiB, thousands of nodes
 * (the node array grows), a 9-input concat (the argument arrays grow). */
static int build_and_differentiate(otad_tape *t, const double *x, double *g, double *value)
{
    otad_var p = otad_param(t, 40, 3, x, g);
    otad_var h = p;
    for (int i = 0; i < 1000; i++)
        h = otad_exp(t, otad_scale(t, h, 0.01 / (1 + i % 2)));
    otad_var parts[9];
    for (int i = 0; i < 9; i++)
        parts[i] = otad_cols(t, h, (size_t)i % 3, 1);
    otad_var wide = otad_hcat(t, 9, parts);
    otad_var gram = otad_matmul(t, wide, 1, wide, 0);
    otad_var y = otad_sum(t, otad_logsumexp(t, otad_softmax(t, gram)));
    int rc = otad_backward(t, y);
    *value = otad_scalar(t, y);
    return rc;
}

static void test_allocation_failure_everywhere(void **state)
{
    (void)state;
    double *x = random_matrix(1, 40, 3, -1, 1), g[120], g_ref[120], value, value_ref;
    counting_allocator a;
    counting_allocator_init(&a);
    otad_tape *t = new_counted_tape(&a, 4096);
    assert_int_equal(build_and_differentiate(t, x, g_ref, &value_ref), OTAD_OK);
    otad_tape_free(&t);
    size_t points = a.calls;
    print_message("%zu allocation points\n", points);
    assert_true(points > 20);

    for (size_t k = 0; k < points; k++) {
        counting_allocator_init(&a);
        a.fail_at = k;
        otad_tape_opts opts;
        otad_tape_opts_init(&opts);
        opts.allocator = &a.allocator;
        opts.chunk_bytes = 4096;
        t = NULL;
        int rc = otad_tape_new(&t, &opts);
        if (rc == OTAD_OK) {
            memset(g, 0, sizeof g);
            rc = build_and_differentiate(t, x, g, &value);
            if (rc != OTAD_ENOMEM)
                fail_msg("allocation %zu of %zu failed, the build returned %d: %s", k, points,
                         rc, otad_tape_message(t));
            if (!strstr(otad_tape_message(t), "out of memory"))
                fail_msg("allocation %zu: message \"%s\"", k, otad_tape_message(t));
            /* the caller's gradient buffer is untouched */
            for (int i = 0; i < 120; i++)
                assert_close(g[i], 0, 0);
            /* after a reset the tape works again */
            a.fail_at = SIZE_MAX;
            otad_tape_reset(t);
            assert_int_equal(build_and_differentiate(t, x, g, &value), OTAD_OK);
            assert_close(value, value_ref, 0);
            assert_memory_equal(g, g_ref, sizeof g);
            otad_tape_free(&t);
        } else {
            assert_int_equal(rc, OTAD_ENOMEM);
            assert_null(t);
        }
        assert_int_equal(a.live_blocks, 0);
        assert_int_equal(a.live_bytes, 0);
    }
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_nonfinite_leaves),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_strerror_names_every_code),
        cmocka_unit_test(test_allocation_failure_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
