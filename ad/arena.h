/* Internal to ad/.  Public symbols are otad_*; those shared between files of
 * the library but not public are otadA_* (arena), otadT_* (tape) and otadV_*
 * (argument checks, args.h, which every layer uses).
 *
 * A chunked bump allocator: the tape's memory.  Chunks are kept across
 * rewinds and resets, so replaying the same allocations after a reset touches
 * the same pages and asks the system for nothing. */
#ifndef OTAD_ARENA_H
#define OTAD_ARENA_H

#include "ad.h"

typedef struct arena_chunk {
    void *raw;            /* as returned by the allocator */
    unsigned char *base;  /* raw aligned to ARENA_ALIGN */
    size_t size;          /* usable bytes from base */
} arena_chunk;

typedef struct arena {
    otad_allocator allocator;
    size_t chunk_bytes;
    arena_chunk *chunks;
    size_t n_chunks, cap_chunks;
    size_t cur, offset;     /* next allocation: chunk cur at offset */
    size_t in_use, peak;    /* bytes from the first chunk to the position, tails included */
    size_t reserved;        /* bytes held from the allocator (chunks and their table) */
    size_t allocations;     /* allocator calls */
} arena;

#define ARENA_ALIGN 64

void otadA_init(arena *a, const otad_allocator *allocator, size_t chunk_bytes);
void otadA_destroy(arena *a);

/* ARENA_ALIGN-aligned memory, or NULL when the allocator fails. */
void *otadA_alloc(arena *a, size_t bytes);

/* Direct allocator calls, counted in the arena's statistics. */
void *otadA_sys_alloc(arena *a, size_t bytes);
void otadA_sys_free(arena *a, void *ptr, size_t bytes);

typedef struct arena_pos {
    size_t chunk, offset, in_use;
} arena_pos;

static inline arena_pos otadA_position(const arena *a)
{
    return (arena_pos){a->cur, a->offset, a->in_use};
}

static inline void otadA_rewind(arena *a, arena_pos p)
{
    a->cur = p.chunk;
    a->offset = p.offset;
    a->in_use = p.in_use;
}

#endif
