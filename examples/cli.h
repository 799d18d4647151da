/* What the examples share on the command line and when they write files:
 * an option's value, a whole number in a range, the report of a PNG, and
 * the options of long fits. */
#ifndef OTAD_EXAMPLES_CLI_H
#define OTAD_EXAMPLES_CLI_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otad.h"
#include "plot/plot.h"

/* The value after the option at argv[*i] (moving *i onto it), or NULL with
 * a message when there is none. */
static inline const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s needs a value (see --help)\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* value as a whole number from lo to hi into *out: 0, or 1 with a message
 * naming the option. */
static inline int parse_long(const char *name, const char *value, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (*end || end == value || v < lo || v > hi) {
        fprintf(stderr, "%s %s: give a whole number from %ld to %ld\n", name, value, lo, hi);
        return 1;
    }
    *out = v;
    return 0;
}

/* Reports a file written (rc OTAD_OK, returns 0) or why not (returns 1). */
static inline int written(const char *path, int rc, const otad_error *err)
{
    if (rc != OTAD_OK) {
        fprintf(stderr, "%s: %s\n", path, err->message);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

/* ---- long fits: checkpoints, resuming, Ctrl-C ---------------------------- */

/* --checkpoint FILE writes a fit's state to FILE as it runs (the drivers'
 * checkpoint_every: 10 L-BFGS iterations, 100 stochastic steps) and at its
 * end; --resume FILE continues the fit FILE holds.  An example with several
 * fits gives each its own file, FILE.<name>.  Ctrl-C stops a fit after its
 * iteration, keeping where it got (and its checkpoint). */
typedef struct long_fit {
    const char *checkpoint, *resume;
    char checkpoint_path[512], resume_path[512];
} long_fit;

#define LONG_FIT_USAGE                                                                  \
    "  --checkpoint FILE  save each fit's state as it runs and at its end\n"          \
    "  --resume FILE      continue the fits saved with --checkpoint FILE\n"            \
    "  Ctrl-C stops a fit after its iteration, keeping where it got.\n"

static inline volatile sig_atomic_t *long_fit_interrupted(void)
{
    static volatile sig_atomic_t interrupted;
    return &interrupted;
}

static inline void long_fit_on_interrupt(int signal)
{
    (void)signal;
    *long_fit_interrupted() = 1;
}

/* argv[*i] as a long-fit option: 1 when it is one (its value taken), 0 when
 * it is not, -1 when its value is missing. */
static inline int long_fit_option(int argc, char **argv, int *i, long_fit *f)
{
    const char **to = strcmp(argv[*i], "--checkpoint") == 0 ? &f->checkpoint
                      : strcmp(argv[*i], "--resume") == 0   ? &f->resume
                                                            : NULL;
    if (!to)
        return 0;
    return (*to = option_value(argc, argv, i)) ? 1 : -1;
}

/* The files of the fit called name (NULL: the example's only fit) into
 * *checkpoint and *resume (NULL when not asked for), and the Ctrl-C flag,
 * set from then on, into *stop. */
static inline void long_fit_files(long_fit *f, const char *name, const char **checkpoint,
                                  const char **resume, const volatile sig_atomic_t **stop)
{
    signal(SIGINT, long_fit_on_interrupt);
    *stop = long_fit_interrupted();
    const char *dot = name ? "." : "", *suffix = name ? name : "";
    if (f->checkpoint) {
        snprintf(f->checkpoint_path, sizeof f->checkpoint_path, "%s%s%s", f->checkpoint, dot,
                 suffix);
        *checkpoint = f->checkpoint_path;
    }
    if (f->resume) {
        snprintf(f->resume_path, sizeof f->resume_path, "%s%s%s", f->resume, dot, suffix);
        *resume = f->resume_path;
    }
}

static inline void long_fit_params(long_fit *f, const char *name, otad_lbfgs_params *params)
{
    long_fit_files(f, name, &params->checkpoint, &params->resume, &params->stop);
}

/* The line that ends a fit.  A resumed fit's counts include the run it
 * continues and its seconds do not, so it gets no time per evaluation. */
static inline void long_fit_report(const char *name, const otad_lbfgs_result *r,
                                   const long_fit *f)
{
    printf("%s: %s; %d iterations, %d evaluations, %.1f s", name, r->lbfgs_message,
           r->iterations, r->evaluations, r->seconds);
    if (f->resume)
        printf(" since resuming\n");
    else
        printf(" (%.3f s per evaluation)\n", r->seconds / (r->evaluations ? r->evaluations : 1));
}

#endif
