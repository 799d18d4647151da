/*
 * The online kernel (otad_kernel_points_online) against POT's lazy solver
 * (ot.bregman.empirical_sinkhorn2 with isLazy=True, NumPy; bench/online_pot.py),
 * both computing K as they go: the transport cost of the entropic plan
 * between n and n points of [0,1]³, uniform weights, ε = 0.01, after
 * L = 10 log-domain updates, value only on both sides (POT's NumPy solver
 * has no gradient; ours with its gradient beside), under the protocol
 * (bench/protocol.h): POT in each configuration, the fastest compared; ours
 * a warm-up and one timed evaluation, POT the faster of two batch sizes
 * after a warm-up.  Beside it, the machine's rate of exponentials
 * (bench_exp_rate, in the same worker) and the time the updates' 2·L·n²
 * exponentials take at that rate.
 *
 *   online_pot [--sizes 5000] [--threads 1,2] [--rounds 3] [--no-reference]
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { L = 10 };
static const double eps = 0.01;

typedef struct problem {
    size_t n;
    const double *y;
} problem;

/* θ = x: W after L log-domain updates, as online_pot.py computes it. */
static otad_var build(otad_tape *t, otad_var theta, void *instance)
{
    const problem *p = instance;
    size_t n = p->n;
    otad_var x = otad_reshape(t, theta, n, 3), w = otad_const_fill(t, n, 1, 1.0 / (double)n);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = L;
    o.log_domain = 1;
    otad_kernel k = otad_kernel_points_online(t, x, otad_const(t, n, 3, p->y), eps, 2);
    return otad_sinkhorn_loss(t, k, w, w, &o, OTAD_SINKHORN_COST);
}

static int worker(size_t n)
{
    double *y = malloc(3 * n * sizeof *y), *theta = malloc(3 * n * sizeof *theta);
    double *grad = malloc(3 * n * sizeof *grad);
    otad_tape *t = NULL;
    if (!y || !theta || !grad || otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    bench_points_in(1, n, 3, theta);
    bench_points_in(2, n, 3, y);
    problem p = {n, y};
    bench_objective o = {build, &p, 3 * n, theta, grad};
    double value, fwd, fwdbwd;
    int rc = bench_time_objective(t, &o, 0, 1, 1, &value, &fwd);
    if (rc == OTAD_OK)
        rc = bench_time_objective(t, &o, 1, 0, 1, &value, &fwdbwd);
    if (rc != OTAD_OK) {
        fprintf(stderr, "online_pot: %s\n", otad_tape_message(t));
        return 1;
    }
    printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"value\": %.17g, \"exp_per_s\": %.6g}\n",
           fwd, fwdbwd, value, bench_exp_rate());
    return 0;
}

static void row(const char *script, size_t n, size_t threads, size_t rounds,
                bench_comparison *c)
{
    char label[64], n_arg[32], config[160];
    snprintf(label, sizeof label, "n = %zu, %zu thread(s)", n, threads);
    snprintf(n_arg, sizeof n_arg, "%zu", n);
    snprintf(config, sizeof config, "{\"n\": %zu, \"iterations\": %d, \"threads\": %zu, "
             "\"repeats\": 1}", n, L, threads);
    char *const ours_argv[] = {(char *)bench_self(), "--worker", n_arg, NULL};
    char *const ref_argv[] = {"/usr/bin/python3", "-B", (char *)script, "--worker", config, NULL};
    bench_side ours = {ours_argv, "fwd", 0}, reference = {ref_argv, "median_s", 0};
    bench_cell_text("%zu", n), bench_cell_text("%zu", threads);
    if (bench_compare(&ours, script ? &reference : NULL, (int)threads, (int)rounds, label,
                      c) != 0) {
        bench_cell_text("failed: %s", c->ours.result);
        bench_row_end();
        return;
    }
    const bench_runs *ref = c->compared >= 0 ? &c->reference[c->compared] : NULL;
    double rate = bench_json_number(c->ours.result, "exp_per_s");
    double ours_value = bench_json_number(c->ours.result, "value");
    double ref_value = ref ? bench_json_number(ref->result, "value") : NAN;
    bench_cell_range("%.3g", bench_runs_min(&c->ours), bench_runs_max(&c->ours));
    bench_cell("%.3g", 2.0 * L * (double)n * (double)n / rate);
    bench_cell("%.3g", bench_json_number(c->ours.result, "fwdbwd"));
    bench_cell_range("%.3g", ref ? bench_runs_min(ref) : NAN, ref ? bench_runs_max(ref) : NAN);
    bench_cell_ratio(c);
    bench_cell("%.1e", fabs(ours_value - ref_value) / fabs(ref_value));
    bench_cell("%.0f", c->ours.peak_mb), bench_cell("%.0f", ref ? ref->peak_mb : NAN);
    bench_cell_range("%.2f", c->load_lo, c->load_hi);
    bench_row_end();
}

int main(int argc, char **argv)
{
    int status;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(strtoul(argv[2], NULL, 10));
    size_t sizes[4] = {5000}, n_sizes = 1, threads[4] = {1, 2}, n_threads = 2, rounds[1] = {3};
    int reference = 1;
    for (int i = 1; i < argc;) { /* these two here, the rest for the shared parser */
        int take = strcmp(argv[i], "--no-reference") == 0 ? 1
                   : strcmp(argv[i], "--sizes") == 0 && i + 1 < argc ? 2 : 0;
        if (!take) {
            i++;
            continue;
        }
        if (take == 1)
            reference = 0;
        else
            n_sizes = bench_parse_list(argv[i + 1], sizes, 4, 100000);
        memmove(argv + i, argv + i + take, (size_t)(argc - i - take + 1) * sizeof *argv);
        argc -= take;
    }
    if (!n_sizes || bench_parse_threads_rounds(argc, argv, threads, &n_threads, rounds) != 0) {
        fprintf(stderr, "usage: %s [--sizes 5000] [--threads 1,2] [--rounds 3] "
                "[--no-reference]\n", argv[0]);
        return 2;
    }
    char script[PATH_MAX], bench_dir[PATH_MAX];
    const char *why = "switched off (--no-reference)";
    bench_repository_path("bench", bench_dir, sizeof bench_dir);
    int have_reference = reference && bench_find_reference(bench_dir, "online_pot.py",
                                                           "ot, numpy", script, sizeof script,
                                                           &why) == 0;
    printf("## The online kernel against POT's lazy solver\n\n");
    bench_print_machine_line();
    printf("W after %d log-domain updates between n and n points of [0,1]³, ε = %g, value "
           "only; \"exp bound\": the updates' 2·L·n² exponentials at the machine's rate; "
           "reference: %s.\n\n", L, eps, have_reference ? "POT (online_pot.py)" : why);
    static const char *const columns[] = {"n", "threads", "value s", "exp bound s",
        "value+gradient s", "POT value s", "ratio", "|ΔW|/W", "peak MB", "POT MB", "load"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    static bench_comparison c[4][4];
    for (size_t ti = 0; ti < n_threads; ti++)
        for (size_t si = 0; si < n_sizes; si++)
            row(have_reference ? script : NULL, sizes[si], threads[ti], rounds[0], &c[si][ti]);
    if (!have_reference)
        return 0;
    printf("\nPOT in each configuration (the fastest is compared):\n\n");
    for (size_t ti = 0; ti < n_threads; ti++)
        for (size_t si = 0; si < n_sizes; si++) {
            char what[64];
            snprintf(what, sizeof what, "n = %zu, %zu thread(s)", sizes[si], threads[ti]);
            bench_print_comparison_note(what, &c[si][ti]);
        }
    return 0;
}
