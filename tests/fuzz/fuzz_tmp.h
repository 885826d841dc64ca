/* tests/fuzz/fuzz_tmp.h - a per-process temporary folder for targets whose reader takes
   a path: the input is written to <dir>/<name> before each call. The folder (under
   /dev/shm when it exists) is removed at exit along with the files listed in it. */
#ifndef FUZZ_TMP_H
#define FUZZ_TMP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[256];
static char fuzz_files[4][300];
static int fuzz_n_files;

static void fuzz_tmp_cleanup(void) {
    int i;
    for (i = 0; i < fuzz_n_files; i++) unlink(fuzz_files[i]);
    if (fuzz_dir[0]) rmdir(fuzz_dir);
}

/* Writes n bytes to <dir>/name, creating the folder on the first call; returns the path
   (static storage) or NULL. */
static const char *fuzz_tmp_write(const char *name, const void *data, size_t n) {
    FILE *f;
    int i;
    char path[300];
    if (!fuzz_dir[0]) {
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/infer-fuzz-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
            fuzz_dir[0] = '\0';
            return NULL;
        }
        atexit(fuzz_tmp_cleanup);
    }
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    for (i = 0; i < fuzz_n_files && strcmp(fuzz_files[i], path) != 0; i++) {}
    if (i == fuzz_n_files) {
        if (fuzz_n_files == 4) return NULL;
        memcpy(fuzz_files[fuzz_n_files++], path, sizeof path);
    }
    f = fopen(path, "wb");
    if (!f) return NULL;
    if (n && fwrite(data, 1, n, f) != n) {
        fclose(f);
        return NULL;
    }
    if (fclose(f) != 0) return NULL;
    return fuzz_files[i];
}

#endif
