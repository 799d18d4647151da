/* The counters behind tests/faults/inject.h, and the wrapped C allocators. */
#include "inject.h"

#include <pthread.h>
#include <stdlib.h>

#include <SuiteSparse_config.h>

const char *const fault_allocator_names[FAULT_ALLOCATORS] = {"tape", "malloc", "CHOLMOD",
                                                             "new"};

#define MAX_SITES 4096

static struct {
    pthread_mutex_t lock;
    int armed;
    fault_allocator target;
    size_t fail_at, fired;
    int persistent;
    size_t calls[FAULT_ALLOCATORS];
    const void *sites[FAULT_ALLOCATORS][MAX_SITES];
    size_t n_sites[FAULT_ALLOCATORS];
} state = {.lock = PTHREAD_MUTEX_INITIALIZER};

void fault_arm(fault_allocator target, size_t fail_at, int persistent)
{
    pthread_mutex_lock(&state.lock);
    state.armed = 1;
    state.persistent = persistent;
    state.target = target;
    state.fail_at = fail_at;
    state.fired = 0;
    for (int a = 0; a < FAULT_ALLOCATORS; a++)
        state.calls[a] = 0;
    pthread_mutex_unlock(&state.lock);
}

void fault_disarm(void)
{
    pthread_mutex_lock(&state.lock);
    state.armed = 0;
    pthread_mutex_unlock(&state.lock);
}

size_t fault_calls(fault_allocator a)
{
    return state.calls[a];
}

size_t fault_sites(fault_allocator a)
{
    return state.n_sites[a];
}

int fault_fired(void)
{
    return state.fired != 0;
}

static void note_site(fault_allocator a, const void *site)
{
    for (size_t k = 0; k < state.n_sites[a]; k++)
        if (state.sites[a][k] == site)
            return;
    if (state.n_sites[a] < MAX_SITES)
        state.sites[a][state.n_sites[a]++] = site;
}

int fault_take(fault_allocator a, const void *site)
{
    pthread_mutex_lock(&state.lock);
    int fail = 0;
    if (state.armed) {
        note_site(a, site);
        size_t call = ++state.calls[a];
        fail = a == state.target && state.fail_at &&
               (call == state.fail_at || (state.persistent && call > state.fail_at));
        state.fired += (size_t)fail;
    }
    pthread_mutex_unlock(&state.lock);
    return fail;
}

/* ---- the library's C allocators (-Wl,--wrap=malloc,...) ----------------- */

void *__real_malloc(size_t bytes);
void *__real_calloc(size_t count, size_t bytes);
void *__real_realloc(void *ptr, size_t bytes);
void *__wrap_malloc(size_t bytes);
void *__wrap_calloc(size_t count, size_t bytes);
void *__wrap_realloc(void *ptr, size_t bytes);

void *__wrap_malloc(size_t bytes)
{
    return fault_take(FAULT_MALLOC, __builtin_return_address(0)) ? NULL : __real_malloc(bytes);
}

void *__wrap_calloc(size_t count, size_t bytes)
{
    return fault_take(FAULT_MALLOC, __builtin_return_address(0)) ? NULL
                                                                  : __real_calloc(count, bytes);
}

void *__wrap_realloc(void *ptr, size_t bytes)
{
    return fault_take(FAULT_MALLOC, __builtin_return_address(0)) ? NULL
                                                                  : __real_realloc(ptr, bytes);
}

/* ---- CHOLMOD's ------------------------------------------------------------ */

static void *cholmod_malloc_hook(size_t bytes)
{
    return fault_take(FAULT_CHOLMOD, __builtin_return_address(0)) ? NULL : __real_malloc(bytes);
}

static void *cholmod_calloc_hook(size_t count, size_t bytes)
{
    return fault_take(FAULT_CHOLMOD, __builtin_return_address(0)) ? NULL
                                                                   : __real_calloc(count, bytes);
}

static void *cholmod_realloc_hook(void *ptr, size_t bytes)
{
    return fault_take(FAULT_CHOLMOD, __builtin_return_address(0)) ? NULL
                                                                   : __real_realloc(ptr, bytes);
}

void fault_install(void)
{
    SuiteSparse_config.malloc_func = cholmod_malloc_hook;
    SuiteSparse_config.calloc_func = cholmod_calloc_hook;
    SuiteSparse_config.realloc_func = cholmod_realloc_hook;
    SuiteSparse_config.free_func = free;
}

/* ---- a tape's ------------------------------------------------------------- */

static void *tape_alloc(void *ctx, size_t bytes)
{
    (void)ctx;
    return fault_take(FAULT_TAPE, __builtin_return_address(0)) ? NULL : __real_malloc(bytes);
}

static void tape_free(void *ctx, void *ptr, size_t bytes)
{
    (void)ctx, (void)bytes;
    free(ptr);
}

const otad_allocator fault_tape_allocator = {tape_alloc, tape_free, NULL};
