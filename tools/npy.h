/* tools/npy.h - numpy .npy files: a strict reader and an atomic writer.
   Used by infer-run, infer-bench and the tests; not part of the library.

   Format (numpy's NEP 1): the magic "\x93NUMPY", a major and a minor version byte
   (1.0, 2.0 or 3.0), the header length (u16 little-endian in v1, u32 in v2/v3), then
   a header that is a Python dict literal, e.g.
       {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
   padded with spaces to a multiple of 64 bytes and ending in '\n'; the data follow,
   dense, in C order.

   Dtypes: little-endian f16 f32 f64 i8 i16 i32 i64 u8 u16 u32 u64 bool. Everything in a
   file is hostile input: the header is parsed by a strict grammar within its stated
   length (the three keys exactly once, nothing else), every dim is checked, the data
   size is computed with overflow checks and must equal what the file holds. Fortran
   order, big-endian data and other dtypes are refused with a message naming the file
   and the problem. A failing call returns 0 and writes that message to err. */
#ifndef INFER_TOOLS_NPY_H
#define INFER_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "../infer.h"

#define NPY_MAX_HEADER_BYTES 65536 /* numpy's own reader stops at 10000 by default */
#define NPY_MAX_PATH 1024

typedef struct npy_header {
    infer_dtype dtype;
    int n_dims;                   /* 0 for a scalar */
    int64_t dims[INFER_MAX_DIMS];
    size_t data_offset;           /* bytes before the data: magic, length, header */
    size_t data_bytes;            /* elements x element size */
    size_t item_bytes;            /* one slice along axis 0 (the whole array for a scalar) */
} npy_header;

/* Parses the header from the first n bytes of a file named path (for messages).
   Fails if n is shorter than the header says; does not look at the data. */
int npy_parse_header(const char *path, const void *bytes, size_t n, npy_header *h, char *err, size_t err_bytes);

/* -- reading -- */

/* An open .npy file, for reading items (slices along axis 0) without loading it all. */
typedef struct npy_file {
    int fd;                       /* -1 when closed */
    npy_header h;
    char path[NPY_MAX_PATH];
} npy_file;

/* Opens path and reads its header; the file's size must be data_offset + data_bytes. */
int npy_open(const char *path, npy_file *f, char *err, size_t err_bytes);
/* Reads items [first, first + count) along axis 0 into dst (count x h.item_bytes). */
int npy_read_items(npy_file *f, size_t first, size_t count, void *dst, char *err, size_t err_bytes);
void npy_close(npy_file *f); /* accepts a closed file */

/* Reads a whole file; *data is malloc'd (free it), NULL for an empty array. */
int npy_load(const char *path, npy_header *h, void **data, char *err, size_t err_bytes);

/* -- writing -- */

/* Formats a v1 header (v2 when it would not fit in 65535 bytes) padded to a multiple of
   64 bytes. Returns its length, or 0 if it does not fit in cap or the dtype has no numpy
   equivalent; buf NULL and cap 0 ask for the length only. */
size_t npy_format_header(infer_dtype dtype, int n_dims, const int64_t *dims, char *buf, size_t cap);

/* A file being written under a temporary name in the same folder, then committed by
   fsync + rename, so that `path` is either absent, the old file, or complete. Items may
   be put in any order (pwrite at their offset). */
typedef struct npy_writer {
    int fd;                       /* -1 when closed */
    npy_header h;
    char path[NPY_MAX_PATH], tmp[NPY_MAX_PATH];
} npy_writer;

/* Creates tmp (replacing it) sized for the whole array, with the header written.
   keep = 1: if tmp already holds this very header and size (a run that was killed),
   reopen it with its contents and set *kept = 1. kept may be NULL. */
int npy_writer_open(npy_writer *w, const char *path, const char *tmp, infer_dtype dtype, int n_dims,
                    const int64_t *dims, int keep, int *kept, char *err, size_t err_bytes);
/* Writes items [first, first + count) from src (count x h.item_bytes). */
int npy_writer_put(npy_writer *w, size_t first, size_t count, const void *src, char *err, size_t err_bytes);
int npy_writer_sync(npy_writer *w, char *err, size_t err_bytes); /* fsync the data so far */
/* fsync, close, rename tmp to path, fsync the folder. On failure tmp is removed. */
int npy_writer_commit(npy_writer *w, char *err, size_t err_bytes);
void npy_writer_abandon(npy_writer *w); /* close and remove tmp; accepts a closed writer */

/* Writes a whole array atomically (npy_writer with tmp "<path>.<pid>.tmp"). */
int npy_save(const char *path, infer_dtype dtype, int n_dims, const int64_t *dims, const void *data,
             char *err, size_t err_bytes);

#endif
