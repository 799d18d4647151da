/* What the examples share on the command line and when they write files:
 * an option's value, a whole number in a range, the report of a PNG. */
#ifndef OTAD_EXAMPLES_CLI_H
#define OTAD_EXAMPLES_CLI_H

#include <stdio.h>
#include <stdlib.h>

#include "otad.h"

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

#endif
