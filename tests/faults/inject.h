/* Allocation failure on demand, in every allocator the library reaches:
 * a tape's otad_allocator, the library's own malloc/calloc/realloc (linked
 * with -Wl,--wrap), CHOLMOD's (SuiteSparse_config's function pointers) and
 * C++ operator new (the LEMON shim; -Wl,--wrap of its mangled names). */
#ifndef OTAD_TEST_INJECT_H
#define OTAD_TEST_INJECT_H

#include <stddef.h>

#include "otad.h"

typedef enum fault_allocator {
    FAULT_TAPE,
    FAULT_MALLOC,
    FAULT_CHOLMOD,
    FAULT_NEW,
    FAULT_ALLOCATORS
} fault_allocator;

extern const char *const fault_allocator_names[FAULT_ALLOCATORS];

/* Routes CHOLMOD's memory through the counters; once, before anything runs. */
void fault_install(void);

/* Count the calls of every allocator from now on, failing the one numbered
 * fail_at (from 1) of `target` — and every later one when persistent — or
 * none when fail_at is 0. */
void fault_arm(fault_allocator target, size_t fail_at, int persistent);

/* Stop counting and failing (the harness's own allocations pass). */
void fault_disarm(void);

/* Calls counted since the last fault_arm, and distinct call sites (return
 * addresses) seen while armed since the start. */
size_t fault_calls(fault_allocator a);
size_t fault_sites(fault_allocator a);

/* Whether the armed failure happened. */
int fault_fired(void);

/* Called by each allocator before it allocates: 1 when this call must fail. */
int fault_take(fault_allocator a, const void *site);

/* A tape allocator on the counters. */
extern const otad_allocator fault_tape_allocator;

#endif
