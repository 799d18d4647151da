/* Shared by the fuzz targets: the check that turns a broken promise into a
 * crash libFuzzer reports, and the input as a file for readers that take a
 * path. */
#ifndef OTAD_FUZZ_H
#define OTAD_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* abort() is what libFuzzer catches; the message says which promise broke. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__,       \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

static char fuzz_dir[4096], fuzz_path[4200];

static inline void fuzz_remove_input(void)
{
    remove(fuzz_path);
    rmdir(fuzz_dir);
}

/* Writes the input to `name` in a directory of this process's own (parallel
 * fuzzers must not share a file), made on first use and removed at exit, and
 * returns its path.  Aborts when it cannot: the run would test nothing. */
static inline const char *fuzz_input_file(const uint8_t *data, size_t size, const char *name)
{
    if (!fuzz_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/otad-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
            perror(fuzz_dir);
            abort();
        }
        snprintf(fuzz_path, sizeof fuzz_path, "%s/%s", fuzz_dir, name);
        atexit(fuzz_remove_input);
    }
    FILE *f = fopen(fuzz_path, "wb");
    int ok = f && fwrite(data, 1, size, f) == size;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        perror(fuzz_path);
        abort();
    }
    return fuzz_path;
}

#endif
