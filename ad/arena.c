#include "arena.h"

#include <stdlib.h>
#include <string.h>

static void *system_alloc(void *ctx, size_t bytes)
{
    (void)ctx;
    return malloc(bytes);
}

static void system_free(void *ctx, void *ptr, size_t bytes)
{
    (void)ctx;
    (void)bytes;
    free(ptr);
}

void otadA_init(arena *a, const otad_allocator *allocator, size_t chunk_bytes)
{
    memset(a, 0, sizeof *a);
    if (allocator)
        a->allocator = *allocator;
    else
        a->allocator = (otad_allocator){system_alloc, system_free, NULL};
    a->chunk_bytes = chunk_bytes;
}

void *otadA_sys_alloc(arena *a, size_t bytes)
{
    void *p = a->allocator.alloc(a->allocator.ctx, bytes);
    if (p) {
        a->allocations++;
        a->reserved += bytes;
    }
    return p;
}

void otadA_sys_free(arena *a, void *ptr, size_t bytes)
{
    if (!ptr)
        return;
    a->allocator.free(a->allocator.ctx, ptr, bytes);
    a->reserved -= bytes;
}

void otadA_destroy(arena *a)
{
    for (size_t k = 0; k < a->n_chunks; k++)
        otadA_sys_free(a, a->chunks[k].raw, a->chunks[k].size + ARENA_ALIGN - 1);
    otadA_sys_free(a, a->chunks, a->cap_chunks * sizeof *a->chunks);
    a->chunks = NULL;
    a->n_chunks = a->cap_chunks = a->cur = a->offset = a->in_use = 0;
}

/* A new chunk of at least `bytes` placed at index k, before the chunks that
 * follow: those still serve later allocations of the same replayed sequence. */
static int insert_chunk(arena *a, size_t k, size_t bytes)
{
    if (a->n_chunks == a->cap_chunks) {
        size_t cap = a->cap_chunks ? 2 * a->cap_chunks : 8;
        arena_chunk *grown = otadA_sys_alloc(a, cap * sizeof *grown);
        if (!grown)
            return -1;
        if (a->n_chunks)
            memcpy(grown, a->chunks, a->n_chunks * sizeof *grown);
        otadA_sys_free(a, a->chunks, a->cap_chunks * sizeof *a->chunks);
        a->chunks = grown;
        a->cap_chunks = cap;
    }
    /* Chunks grow with the arena: the tail a chunk leaves unused when the
     * next block does not fit then stays a small part of what is in use
     * (with chunks of a fixed size, blocks of two thirds of it waste half). */
    size_t size = bytes > a->chunk_bytes ? bytes : a->chunk_bytes;
    if (size < a->in_use)
        size = a->in_use;
    void *raw = otadA_sys_alloc(a, size + ARENA_ALIGN - 1);
    if (!raw)
        return -1;
    memmove(a->chunks + k + 1, a->chunks + k, (a->n_chunks - k) * sizeof *a->chunks);
    uintptr_t base = ((uintptr_t)raw + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
    a->chunks[k] = (arena_chunk){raw, (unsigned char *)base, size};
    a->n_chunks++;
    return 0;
}

void *otadA_alloc(arena *a, size_t bytes)
{
    if (bytes > SIZE_MAX - 2 * ARENA_ALIGN)
        return NULL;
    bytes = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (bytes == 0)
        bytes = ARENA_ALIGN;
    size_t advance = bytes;
    if (!(a->cur < a->n_chunks && a->offset + bytes <= a->chunks[a->cur].size)) {
        /* Move on to the next chunk, leaving the current one's tail unused. */
        size_t k = a->offset == 0 ? a->cur : a->cur + 1;
        if (k > a->cur)
            advance += a->chunks[a->cur].size - a->offset;
        if (!(k < a->n_chunks && a->chunks[k].size >= bytes) && insert_chunk(a, k, bytes))
            return NULL;
        a->cur = k;
        a->offset = 0;
    }
    void *p = a->chunks[a->cur].base + a->offset;
    a->offset += bytes;
    a->in_use += advance;
    if (a->in_use > a->peak)
        a->peak = a->in_use;
    return p;
}
