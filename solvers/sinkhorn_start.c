/* Warm starts: the potentials of past solves, outside any tape. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers_internal.h"

/* Problems a start tells apart: enough for a divergence's three and one
 * more. */
enum { PROBLEMS = 4 };

typedef struct problem {
    otadS_start_key key;
    double *f, *g;      /* key.rows×batch and key.cols×batch potentials */
    unsigned long used; /* when last found or stored: the least recent goes first */
} problem;

struct otad_sinkhorn_start {
    problem problem[PROBLEMS];
    unsigned long clock;
    long found, missed;
};

otad_sinkhorn_start *otad_sinkhorn_start_new(void)
{
    return calloc(1, sizeof(otad_sinkhorn_start));
}

void otad_sinkhorn_start_free(otad_sinkhorn_start *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < PROBLEMS; i++)
        free(s->problem[i].f);
    free(s);
}

void otad_sinkhorn_start_counts(const otad_sinkhorn_start *s, long *found, long *missed)
{
    if (found)
        *found = s ? s->found : 0;
    if (missed)
        *missed = s ? s->missed : 0;
}

static int same_key(const otadS_start_key *a, const otadS_start_key *b)
{
    return a->rows == b->rows && a->cols == b->cols && a->batch == b->batch &&
           a->role == b->role && a->unbalanced == b->unbalanced;
}

static problem *lookup(otad_sinkhorn_start *s, const otadS_start_key *key)
{
    for (size_t i = 0; i < PROBLEMS; i++)
        if (s->problem[i].f && same_key(&s->problem[i].key, key))
            return &s->problem[i];
    return NULL;
}

int otadS_start_find(otad_sinkhorn_start *s, const otadS_start_key *key, const double **f,
                     const double **g)
{
    problem *p = lookup(s, key);
    if (!p) {
        s->missed++;
        return 0;
    }
    p->used = ++s->clock;
    s->found++;
    *f = p->f;
    *g = p->g;
    return 1;
}

int otadS_start_store(otad_sinkhorn_start *s, const otadS_start_key *key, const double *f,
                      const double *g)
{
    problem *p = lookup(s, key);
    size_t nf = key->rows * key->batch, ng = key->cols * key->batch;
    if (!p) {
        p = &s->problem[0];
        for (size_t i = 1; i < PROBLEMS; i++)
            if (s->problem[i].used < p->used)
                p = &s->problem[i];
        double *both = malloc((nf + ng) * sizeof *both);
        if (!both)
            return OTAD_ENOMEM;
        free(p->f);
        *p = (problem){*key, both, both + nf, 0};
    }
    memcpy(p->f, f, nf * sizeof *f);
    memcpy(p->g, g, ng * sizeof *g);
    p->used = ++s->clock;
    return OTAD_OK;
}
