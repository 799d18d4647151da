/*
 * Each kernel's apply on N×16 columns, and its backward (to x, and to x and
 * the kernel's parameters), beside this machine's dgemm rate and streaming
 * bandwidth measured by the same program, with 1 and 2 threads:
 *   dense Gibbs n = 4000, grid 128², heat kernel on 50×50 and 32³ grids
 *   with S = 20.
 *
 *   kernels [--threads 1,2]
 */
#include "measure.h"

#include <math.h>

#include "otad.h"

enum { COLS = 16 };

typedef struct setup {
    const char *name;
    otad_tape *tape;
    otad_graph *graph;
    otad_kernel k;
    otad_var x, param;   /* the input, and the kernel's parameter (or invalid) */
    double *xs, *seed, *params, *grad_x;
    size_t n, n_params;
} setup;

/* A kernel on its own tape, with x (and its parameter) as parameters. */
static int make(setup *s, const char *name)
{
    s->name = name;
    otad_tape_new(&s->tape, NULL);
    otad_tape *t = s->tape;
    if (strcmp(name, "dense") == 0) {
        s->n = 4000, s->n_params = s->n * s->n;
        double *pts = malloc(4 * s->n * sizeof *pts);
        otad_rng rng = {1};
        otad_rng_fill(&rng, pts, 4 * s->n, 0, 1);
        otad_var c = otad_sqdist(t, otad_const(t, s->n, 2, pts),
                                 otad_const(t, s->n, 2, pts + 2 * s->n));
        s->params = malloc(s->n_params * sizeof *s->params);
        memcpy(s->params, otad_value_of(t, c).data, s->n_params * sizeof *s->params);
        free(pts);
        otad_tape_reset(t);
    } else if (strcmp(name, "grid") == 0) {
        s->n = 128 * 128;
    } else {
        int cube = strcmp(name, "heat-3d") == 0;
        if ((cube ? otad_graph_grid3d(&s->graph, 32, 32, 32, NULL)
                  : otad_graph_grid2d(&s->graph, 50, 50, NULL)) != OTAD_OK)
            return -1;
        s->n = otad_graph_vertices(s->graph), s->n_params = otad_graph_edges(s->graph);
        s->params = malloc(s->n_params * sizeof *s->params);
        for (size_t e = 0; e < s->n_params; e++)
            s->params[e] = 1;
    }
    s->xs = malloc(s->n * COLS * sizeof *s->xs), s->seed = malloc(s->n * COLS * sizeof *s->seed);
    s->grad_x = malloc(s->n * COLS * sizeof *s->grad_x);
    otad_rng rng = {2};
    otad_rng_fill(&rng, s->xs, s->n * COLS, 0, 1);
    otad_rng_fill(&rng, s->seed, s->n * COLS, 0, 1);
    return 0;
}

/* Record the kernel; its parameter a tape parameter or a constant. */
static void record(setup *s, int param_grad)
{
    otad_tape *t = s->tape;
    otad_tape_reset(t);
    s->x = otad_param(t, s->n, COLS, s->xs, s->grad_x);
    /* the parameter's gradient stays on the tape: no copy to a caller's buffer */
    size_t rows = strcmp(s->name, "dense") == 0 ? s->n : s->n_params, cols = s->n_params / rows;
    if (s->n_params)
        s->param = param_grad ? otad_param(t, rows, cols, s->params, NULL)
                              : otad_const(t, rows, cols, s->params);
    if (strcmp(s->name, "dense") == 0)
        s->k = otad_kernel_gibbs(t, s->param, 0.05);
    else if (strcmp(s->name, "grid") == 0)
        s->k = otad_kernel_grid(t, 2, (size_t[]){128, 128}, 2e-3);
    else
        s->k = otad_kernel_heat(t, s->graph, s->param, 0.04, 20);
}

/* Best of up to 20 runs, stopping after about a second (at least 3 runs):
 * the minimum, because this VM's timings are noisy upwards. */
static int more_runs(int r, double started)
{
    return r < 3 || (r < 20 && now_seconds() - started < 1.0);
}

static double time_apply(setup *s)
{
    double best = 1e300, started = now_seconds();
    for (int r = 0; more_runs(r, started); r++) {
        otad_mark m = otad_tape_mark(s->tape);
        double t0 = now_seconds();
        otad_kernel_apply(s->tape, s->k, 0, s->x);
        best = fmin(best, now_seconds() - t0);
        otad_tape_rewind(s->tape, m);
    }
    return otad_tape_status(s->tape) == OTAD_OK ? best : NAN;
}

/* The backward of ⟨seed, Kx⟩ alone (the apply is recorded once). */
static double time_backward(setup *s)
{
    otad_tape *t = s->tape;
    otad_var y = otad_dot(t, otad_kernel_apply(t, s->k, 0, s->x),
                          otad_const(t, s->n, COLS, s->seed));
    double best = 1e300, started = now_seconds();
    for (int r = 0; more_runs(r, started); r++) {
        double t0 = now_seconds();
        otad_backward(t, y);
        best = fmin(best, now_seconds() - t0);
    }
    return otad_tape_status(t) == OTAD_OK ? best : NAN;
}

static int worker(const char *name)
{
    setup s = {0};
    if (make(&s, name) != 0)
        return 1;
    record(&s, 0);
    double apply = time_apply(&s), backward_x = time_backward(&s), backward_all = NAN;
    otad_kernel_info info = otad_kernel_info_of(s.tape, s.k);
    if (s.n_params) {
        record(&s, 1);
        backward_all = time_backward(&s);
    }
    printf("RESULT {\"apply\": %.6g, \"backward_x\": %.6g, \"backward_all\": %.6g, "
           "\"flops\": %.6g}\n", apply, backward_x, backward_all, info.flops * COLS);
    otad_tape_free(&s.tape);
    otad_graph_free(&s.graph);
    free(s.xs), free(s.seed), free(s.params), free(s.grad_x);
    return isfinite(apply) ? 0 : 1;
}

static int machine(void)
{
    printf("RESULT {\"dgemm_gflops\": %.4g, \"stream_gbs\": %.4g}\n", measured_dgemm_gflops(),
           measured_stream_gbs());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(argv[2]);
    if (argc == 2 && strcmp(argv[1], "--machine") == 0)
        return machine();
    int threads[2] = {1, 2}, n_threads = 2;
    if (argc == 3 && strcmp(argv[1], "--threads") == 0)
        n_threads = sscanf(argv[2], "%d,%d", &threads[0], &threads[1]);
    static const char *const names[] = {"dense", "grid", "heat-2d", "heat-3d"};
    static const char *const what[] = {"dense Gibbs, n = 4000", "grid 128x128",
                                       "heat 50x50, S = 20", "heat 32x32x32, S = 20"};
    printf("Kernel applies on %d columns; backward of <seed, Kx> to x, and to x and the "
           "kernel's parameters.\n", COLS);
    for (int ti = 0; ti < n_threads; ti++) {
        char out[8192];
        double peak;
        char *const margv[] = {argv[0], "--machine", NULL};
        if (run_fresh(margv, threads[ti], NULL, out, sizeof out, &peak) != 0)
            return 1;
        double peak_gflops = json_number(out, "dgemm_gflops");
        printf("\n%d thread%s: machine dgemm %.1f GFLOP/s, streaming read %.1f GB/s\n",
               threads[ti], threads[ti] == 1 ? "" : "s", peak_gflops,
               json_number(out, "stream_gbs"));
        printf("%-24s %10s %9s %8s %12s %8s %14s %8s\n", "kernel", "apply ms", "GFLOP/s",
               "of peak", "bwd x ms", "bwd/fwd", "bwd x+param ms", "bwd/fwd");
        for (int k = 0; k < 4; k++) {
            char *const wargv[] = {argv[0], "--worker", (char *)names[k], NULL};
            if (run_fresh(wargv, threads[ti], NULL, out, sizeof out, &peak) != 0) {
                printf("%-24s failed\n", what[k]);
                continue;
            }
            double apply = json_number(out, "apply"), bx = json_number(out, "backward_x");
            double ball = json_number(out, "backward_all");
            double gflops = json_number(out, "flops") / apply * 1e-9;
            printf("%-24s %10.3f %9.1f %7.0f%% %12.3f %8.2f %14.3f %8.2f\n", what[k],
                   apply * 1e3, gflops, 100 * gflops / peak_gflops, bx * 1e3, bx / apply,
                   ball * 1e3, ball / apply);
            fflush(stdout);
        }
    }
    printf("\nGFLOP/s: the apply's floating-point operations (dense 2nm, grid 2N·Σn_a, heat "
           "4·S·nnz(L) per column) over its time.\nbwd/fwd: backward time over apply time; "
           "targets: at most 2, and the 50x50 heat apply at most 3 ms.\n");
    return 0;
}
