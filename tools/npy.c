/* tools/npy.c - numpy .npy reader and writer (see npy.h). */
#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"

static int npy__fail(char *err, size_t err_bytes, const char *fmt, ...) {
    va_list ap;
    if (err && err_bytes) {
        va_start(ap, fmt);
        vsnprintf(err, err_bytes, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* -- dtypes: numpy's descr without the byte-order character -- */

static const struct {
    const char *code;
    infer_dtype dtype;
} npy__types[] = {
    {"f2", INFER_DTYPE_F16}, {"f4", INFER_DTYPE_F32}, {"f8", INFER_DTYPE_F64}, {"i1", INFER_DTYPE_I8},
    {"i2", INFER_DTYPE_I16}, {"i4", INFER_DTYPE_I32}, {"i8", INFER_DTYPE_I64}, {"u1", INFER_DTYPE_U8},
    {"u2", INFER_DTYPE_U16}, {"u4", INFER_DTYPE_U32}, {"u8", INFER_DTYPE_U64}, {"b1", INFER_DTYPE_BOOL},
};
#define NPY__N_TYPES (sizeof npy__types / sizeof npy__types[0])

static int npy__descr(const char *path, const char *descr, infer_dtype *out, char *err, size_t err_bytes) {
    size_t i;
    char order = descr[0];
    for (i = 0; i < NPY__N_TYPES; i++) {
        if (order == '\0' || strcmp(descr + 1, npy__types[i].code) != 0) continue;
        /* one-byte types have no byte order: numpy writes '|', accept any */
        if (infer_dtype_bytes(npy__types[i].dtype) == 1 ? strchr("|<>=", order) != NULL : order == '<') {
            *out = npy__types[i].dtype;
            return 1;
        }
        if (order == '>')
            return npy__fail(err, err_bytes, "%s: big-endian data ('%s') is not supported; save it little-endian "
                             "(arr.astype('<%s'))", path, descr, descr + 1);
        return npy__fail(err, err_bytes, "%s: dtype '%s' has byte order '%c'; only little-endian '<' is supported",
                         path, descr, order);
    }
    return npy__fail(err, err_bytes, "%s: dtype '%s' is not supported (f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, "
                     "little-endian)", path, descr);
}

static const char *npy__code(infer_dtype t) {
    size_t i;
    for (i = 0; i < NPY__N_TYPES; i++)
        if (npy__types[i].dtype == t) return npy__types[i].code;
    return NULL;
}

/* -- the header: a Python dict literal, parsed within [p, end) -- */

typedef struct npy__cur {
    const char *p, *end;
} npy__cur;

static void npy__ws(npy__cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int npy__eat(npy__cur *c, char ch) {
    npy__ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string of printable ASCII without escapes, into out[cap]. */
static int npy__string(npy__cur *c, char *out, size_t cap) {
    char q;
    size_t n = 0;
    npy__ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    q = *c->p++;
    while (c->p < c->end && *c->p != q) {
        if (*c->p < 0x20 || *c->p > 0x7E || *c->p == '\\' || n + 1 >= cap) return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    out[n] = '\0';
    return 1;
}

static int npy__word(npy__cur *c, const char *w) {
    size_t n = strlen(w);
    npy__ws(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

/* A non-negative decimal integer (Python 2's 'L' suffix allowed), at most 2^62. */
static int npy__int(npy__cur *c, int64_t *v) {
    int64_t x = 0;
    const char *start;
    npy__ws(c);
    start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        int digit = *c->p++ - '0';
        if (x > (((int64_t)1 << 62) - digit) / 10) return 0;
        x = x * 10 + digit;
    }
    if (c->p == start || (c->p - start > 1 && *start == '0')) return 0;
    if (c->p < c->end && *c->p == 'L') c->p++;
    *v = x;
    return 1;
}

/* '(' [int (',' int)* [',']] ')'; a one-element tuple needs its comma, as in Python. */
static int npy__shape(const char *path, npy__cur *c, npy_header *h, char *err, size_t err_bytes) {
    int n = 0, comma = 0;
    if (!npy__eat(c, '(')) return npy__fail(err, err_bytes, "%s: header: 'shape' is not a tuple", path);
    while (!npy__eat(c, ')')) {
        if (n > 0 && !comma) return npy__fail(err, err_bytes, "%s: header: 'shape' is malformed", path);
        if (n == INFER_MAX_DIMS)
            return npy__fail(err, err_bytes, "%s: header: more than %d dims", path, INFER_MAX_DIMS);
        if (!npy__int(c, &h->dims[n]))
            return npy__fail(err, err_bytes, "%s: header: dim %d of 'shape' is not an integer in [0, 2^62]", path, n);
        n++;
        comma = npy__eat(c, ',');
    }
    if (n == 1 && !comma) return npy__fail(err, err_bytes, "%s: header: 'shape' is malformed", path);
    h->n_dims = n;
    return 1;
}

static int npy__dict(const char *path, npy__cur *c, npy_header *h, char *err, size_t err_bytes) {
    char key[32], descr[32];
    int seen_descr = 0, seen_order = 0, seen_shape = 0, fortran = 0;
    if (!npy__eat(c, '{')) return npy__fail(err, err_bytes, "%s: header is not a dict", path);
    while (!npy__eat(c, '}')) {
        if (!npy__string(c, key, sizeof key) || !npy__eat(c, ':'))
            return npy__fail(err, err_bytes, "%s: header: expected a quoted key and ':'", path);
        if (!strcmp(key, "descr") && !seen_descr) {
            seen_descr = 1;
            if (!npy__string(c, descr, sizeof descr))
                return npy__fail(err, err_bytes, "%s: header: 'descr' is not a simple dtype string (structured "
                                 "arrays are not supported)", path);
        } else if (!strcmp(key, "fortran_order") && !seen_order) {
            seen_order = 1;
            if (npy__word(c, "True")) fortran = 1;
            else if (!npy__word(c, "False"))
                return npy__fail(err, err_bytes, "%s: header: 'fortran_order' is not True or False", path);
        } else if (!strcmp(key, "shape") && !seen_shape) {
            seen_shape = 1;
            if (!npy__shape(path, c, h, err, err_bytes)) return 0;
        } else {
            return npy__fail(err, err_bytes, "%s: header: unexpected or repeated key '%s'", path, key);
        }
        if (!npy__eat(c, ',')) {
            if (!npy__eat(c, '}')) return npy__fail(err, err_bytes, "%s: header: expected ',' or '}'", path);
            break;
        }
    }
    npy__ws(c);
    if (c->p != c->end) return npy__fail(err, err_bytes, "%s: header: unexpected bytes after the dict", path);
    if (!seen_descr || !seen_order || !seen_shape)
        return npy__fail(err, err_bytes, "%s: header lacks '%s'", path,
                         !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
    if (!npy__descr(path, descr, &h->dtype, err, err_bytes)) return 0;
    if (fortran)
        return npy__fail(err, err_bytes, "%s: Fortran-order arrays are not supported; save a C-order array "
                         "(np.ascontiguousarray)", path);
    return 1;
}

/* The bytes before the data as the fixed prefix states them (magic, version and
   length checked), or 0 with a message. n may be as short as the prefix. */
static size_t npy__prefix(const char *path, const uint8_t *b, size_t n, char *err, size_t err_bytes) {
    size_t pre, len;
    if (n < 8 || memcmp(b, "\x93NUMPY", 6) != 0) return npy__fail(err, err_bytes, "%s: not a .npy file (bad magic)", path);
    if (b[6] < 1 || b[6] > 3 || b[7] != 0)
        return npy__fail(err, err_bytes, "%s: .npy version %u.%u is not supported (1.0, 2.0, 3.0)", path, b[6], b[7]);
    pre = b[6] == 1 ? 10 : 12;
    if (n < pre) return npy__fail(err, err_bytes, "%s: truncated .npy header (%zu bytes)", path, n);
    len = b[6] == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                    : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (len > NPY_MAX_HEADER_BYTES)
        return npy__fail(err, err_bytes, "%s: .npy header of %zu bytes is over the limit of %d", path, len,
                         NPY_MAX_HEADER_BYTES);
    return pre + len;
}

int npy_parse_header(const char *path, const void *bytes, size_t n, npy_header *h, char *err, size_t err_bytes) {
    const uint8_t *b = (const uint8_t *)bytes;
    size_t total, i, item = 1, elsize;
    npy__cur c;
    memset(h, 0, sizeof *h);
    if (!(total = npy__prefix(path, b, n, err, err_bytes))) return 0;
    if (total > n)
        return npy__fail(err, err_bytes, "%s: truncated .npy header (%zu bytes; the header needs %zu)", path, n, total);
    c.p = (const char *)b + (b[6] == 1 ? 10 : 12);
    c.end = (const char *)b + total;
    if (!npy__dict(path, &c, h, err, err_bytes)) return 0;
    /* item = product of dims[1:], data = dims[0] x item, both in bytes, overflow-checked */
    elsize = infer_dtype_bytes(h->dtype);
    item = elsize;
    for (i = 1; i < (size_t)h->n_dims; i++) {
        size_t d = (size_t)h->dims[i];
        if (d && item > SIZE_MAX / d) return npy__fail(err, err_bytes, "%s: shape overflows at dim %zu", path, i);
        item *= d;
    }
    h->item_bytes = item;
    h->data_bytes = item;
    if (h->n_dims > 0) {
        size_t d0 = (size_t)h->dims[0];
        if (d0 && item > SIZE_MAX / d0) return npy__fail(err, err_bytes, "%s: shape overflows at dim 0", path);
        h->data_bytes = item * d0;
    }
    h->data_offset = total;
    return 1;
}

/* -- reading -- */

static int npy__pread(int fd, void *dst, size_t n, size_t off, const char *path, char *err, size_t err_bytes) {
    uint8_t *p = (uint8_t *)dst;
    while (n) {
        ssize_t r = pread(fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return npy__fail(err, err_bytes, "%s: read: %s", path, strerror(errno));
        if (r == 0) return npy__fail(err, err_bytes, "%s: file is shorter than its header says (truncated)", path);
        p += r;
        n -= (size_t)r;
        off += (size_t)r;
    }
    return 1;
}

int npy_open(const char *path, npy_file *f, char *err, size_t err_bytes) {
    uint8_t head[12], *buf = NULL;
    struct stat st;
    size_t need, have;
    ssize_t r;
    int ok = 0;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (strlen(path) >= sizeof f->path) return npy__fail(err, err_bytes, "%s: path too long", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->fd = open(path, O_RDONLY | O_BINARY);
    if (f->fd < 0) {
        int e = errno;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) /* Windows cannot open() a folder */
            return npy__fail(err, err_bytes, "%s: is a folder", path);
        return npy__fail(err, err_bytes, "%s: %s", path, strerror(e));
    }
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        npy__fail(err, err_bytes, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a folder" : "not a regular file");
        goto done;
    }
    have = (size_t)st.st_size;
    do r = pread(f->fd, head, sizeof head, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        npy__fail(err, err_bytes, "%s: read: %s", path, strerror(errno));
        goto done;
    }
    if (!(need = npy__prefix(path, head, (size_t)r, err, err_bytes))) goto done;
    if (need > have) {
        npy__fail(err, err_bytes, "%s: truncated .npy header (%zu bytes; the header needs %zu)", path, have, need);
        goto done;
    }
    if (!(buf = (uint8_t *)malloc(need))) {
        npy__fail(err, err_bytes, "%s: out of memory", path);
        goto done;
    }
    if (!npy__pread(f->fd, buf, need, 0, path, err, err_bytes) || !npy_parse_header(path, buf, need, &f->h, err, err_bytes))
        goto done;
    if (have - f->h.data_offset < f->h.data_bytes) {
        npy__fail(err, err_bytes, "%s: truncated: the file has %zu bytes; its header says %zu + %zu", path, have,
                  f->h.data_offset, f->h.data_bytes);
        goto done;
    }
    if (have - f->h.data_offset > f->h.data_bytes) {
        npy__fail(err, err_bytes, "%s: %zu stray bytes after the data", path, have - f->h.data_offset - f->h.data_bytes);
        goto done;
    }
    ok = 1;
done:
    free(buf);
    if (!ok) npy_close(f);
    return ok;
}

int npy_read_items(npy_file *f, size_t first, size_t count, void *dst, char *err, size_t err_bytes) {
    size_t n_items = f->h.n_dims ? (size_t)f->h.dims[0] : 1;
    if (f->fd < 0) return npy__fail(err, err_bytes, "%s: not open", f->path);
    if (first > n_items || count > n_items - first)
        return npy__fail(err, err_bytes, "%s: items %zu..%zu out of range (%zu items)", f->path, first, first + count,
                         n_items);
    return npy__pread(f->fd, dst, count * f->h.item_bytes, f->h.data_offset + first * f->h.item_bytes, f->path, err,
                      err_bytes);
}

void npy_close(npy_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

int npy_load(const char *path, npy_header *h, void **data, char *err, size_t err_bytes) {
    npy_file f;
    *data = NULL;
    if (!npy_open(path, &f, err, err_bytes)) return 0;
    *h = f.h;
    if (f.h.data_bytes) {
        if (!(*data = malloc(f.h.data_bytes))) {
            npy_close(&f);
            return npy__fail(err, err_bytes, "%s: out of memory for %zu bytes", path, f.h.data_bytes);
        }
        if (!npy__pread(f.fd, *data, f.h.data_bytes, f.h.data_offset, path, err, err_bytes)) {
            free(*data);
            *data = NULL;
            npy_close(&f);
            return 0;
        }
    }
    npy_close(&f);
    return 1;
}

/* -- writing -- */

size_t npy_format_header(infer_dtype dtype, int n_dims, const int64_t *dims, char *buf, size_t cap) {
    char dict[64 + 24 * INFER_MAX_DIMS];
    const char *code = npy__code(dtype);
    size_t n, pre, total;
    int i;
    if (!code || n_dims < 0 || n_dims > INFER_MAX_DIMS) return 0;
    /* as numpy writes it: "(3, 4)", "(5,)", "()" */
    n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                         infer_dtype_bytes(dtype) == 1 ? '|' : '<', code);
    for (i = 0; i < n_dims; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", n_dims == 1 ? "," : "");
    pre = n + 1 + 10 > 65535 ? 12 : 10; /* never in practice: the dict is < 300 bytes */
    total = (pre + n + 1 + 63) / 64 * 64;  /* + '\n', padded to 64 */
    if (!buf) return total;
    if (cap < total) return 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = pre == 10 ? 1 : 2;
    buf[7] = 0;
    buf[8] = (char)((total - pre) & 0xFF);
    buf[9] = (char)((total - pre) >> 8 & 0xFF);
    if (pre == 12) {
        buf[10] = (char)((total - pre) >> 16 & 0xFF);
        buf[11] = (char)((total - pre) >> 24 & 0xFF);
    }
    memcpy(buf + pre, dict, n);
    memset(buf + pre + n, ' ', total - pre - n - 1);
    buf[total - 1] = '\n';
    return total;
}

static int npy__pwrite(int fd, const void *src, size_t n, size_t off, const char *path, char *err, size_t err_bytes) {
    const uint8_t *p = (const uint8_t *)src;
    while (n) {
        ssize_t r = pwrite(fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return npy__fail(err, err_bytes, "%s: write: %s", path, r < 0 ? strerror(errno) : "no progress");
        p += r;
        n -= (size_t)r;
        off += (size_t)r;
    }
    return 1;
}

/* Tries to reopen a temporary file left by a killed run; 1 if it holds exactly want. */
static int npy__reopen(npy_writer *w, const npy_header *want) {
    npy_file f;
    if (!npy_open(w->tmp, &f, NULL, 0)) return 0;
    if (f.h.dtype != want->dtype || f.h.n_dims != want->n_dims || f.h.data_offset != want->data_offset ||
        memcmp(f.h.dims, want->dims, sizeof(int64_t) * (size_t)want->n_dims) != 0) {
        npy_close(&f);
        return 0;
    }
    npy_close(&f);
    w->fd = open(w->tmp, O_RDWR | O_BINARY);
    return w->fd >= 0;
}

int npy_writer_open(npy_writer *w, const char *path, const char *tmp, infer_dtype dtype, int n_dims,
                    const int64_t *dims, int keep, int *kept, char *err, size_t err_bytes) {
    char *head = NULL;
    size_t hb;
    int ok = 0;
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (kept) *kept = 0;
    if (strlen(path) >= sizeof w->path || strlen(tmp) >= sizeof w->tmp)
        return npy__fail(err, err_bytes, "%s: path too long", path);
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->tmp, sizeof w->tmp, "%s", tmp);
    hb = npy_format_header(dtype, n_dims, dims, NULL, 0);
    if (!hb) return npy__fail(err, err_bytes, "%s: dtype %s cannot be saved as .npy", path, infer_dtype_name(dtype));
    if (!(head = (char *)malloc(hb))) return npy__fail(err, err_bytes, "%s: out of memory", path);
    npy_format_header(dtype, n_dims, dims, head, hb);
    if (!npy_parse_header(path, head, hb, &w->h, err, err_bytes)) goto done; /* sizes, overflow-checked */
    if (keep && npy__reopen(w, &w->h)) {
        if (kept) *kept = 1;
        ok = 1;
        goto done;
    }
    w->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_BINARY, 0666);
    if (w->fd < 0) {
        npy__fail(err, err_bytes, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if (!npy__pwrite(w->fd, head, hb, 0, tmp, err, err_bytes)) goto done;
    if (ftruncate(w->fd, (off_t)(hb + w->h.data_bytes)) != 0) {
        npy__fail(err, err_bytes, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    ok = 1;
done:
    free(head);
    if (!ok) npy_writer_abandon(w);
    return ok;
}

int npy_writer_put(npy_writer *w, size_t first, size_t count, const void *src, char *err, size_t err_bytes) {
    size_t n_items = w->h.n_dims ? (size_t)w->h.dims[0] : 1;
    if (w->fd < 0) return npy__fail(err, err_bytes, "%s: not open", w->tmp);
    if (first > n_items || count > n_items - first)
        return npy__fail(err, err_bytes, "%s: items %zu..%zu out of range (%zu items)", w->tmp, first, first + count,
                         n_items);
    return npy__pwrite(w->fd, src, count * w->h.item_bytes, w->h.data_offset + first * w->h.item_bytes, w->tmp, err,
                       err_bytes);
}

int npy_writer_sync(npy_writer *w, char *err, size_t err_bytes) {
    if (w->fd < 0 || fsync(w->fd) != 0) return npy__fail(err, err_bytes, "%s: fsync: %s", w->tmp, strerror(errno));
    return 1;
}

/* The folder part of path ("." when it has none), for fsync after a rename. */
static void npy__sync_dir(const char *path) {
    char dir[NPY_MAX_PATH];
    const char *slash = strrchr(path, '/');
    int fd;
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on a folder */
        close(fd);
    }
}

int npy_writer_commit(npy_writer *w, char *err, size_t err_bytes) {
    if (!npy_writer_sync(w, err, err_bytes)) goto fail;
    if (close(w->fd) != 0) {
        w->fd = -1;
        npy__fail(err, err_bytes, "%s: close: %s", w->tmp, strerror(errno));
        goto fail;
    }
    w->fd = -1;
    if (rename(w->tmp, w->path) != 0) {
        npy__fail(err, err_bytes, "%s: rename to %s: %s", w->tmp, w->path, strerror(errno));
        goto fail;
    }
    npy__sync_dir(w->path);
    return 1;
fail:
    npy_writer_abandon(w);
    return 0;
}

void npy_writer_abandon(npy_writer *w) {
    if (w->fd >= 0) close(w->fd);
    if (w->tmp[0]) unlink(w->tmp);
    w->fd = -1;
    w->tmp[0] = '\0';
}

int npy_save(const char *path, infer_dtype dtype, int n_dims, const int64_t *dims, const void *data, char *err,
             size_t err_bytes) {
    char tmp[NPY_MAX_PATH];
    npy_writer w;
    size_t n_items;
    if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp)
        return npy__fail(err, err_bytes, "%s: path too long", path);
    if (!npy_writer_open(&w, path, tmp, dtype, n_dims, dims, 0, NULL, err, err_bytes)) return 0;
    n_items = n_dims ? (size_t)dims[0] : 1;
    if (w.h.data_bytes && !npy_writer_put(&w, 0, n_items, data, err, err_bytes)) {
        npy_writer_abandon(&w);
        return 0;
    }
    return npy_writer_commit(&w, err, err_bytes);
}
