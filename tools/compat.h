/* tools/compat.h - the POSIX calls the tools use, for Windows (MinGW-w64, make
   test-windows). On POSIX it only adds O_BINARY (0) and the aligned allocation pair; on
   Windows each call below maps to its Win32 or CRT equivalent. Include it after the
   system headers. infer.h itself needs none of this (its Windows code is in the header). */
#ifndef TOOLS_COMPAT_H
#define TOOLS_COMPAT_H

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#ifdef _WIN32
#include <direct.h>
#include <fcntl.h>
#include <io.h>
#include <string.h>
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#undef near /* <windows.h> keeps these 16-bit keywords as empty macros; the tools use */
#undef far  /* them as names */

/* pread/pwrite: ReadFile/WriteFile at an explicit offset, so that, as on POSIX, the call
   does not depend on (or race for) a shared file position. At most 1 GiB a call, as the
   callers loop anyway. */
static inline long long compat_pio(int fd, void *buf, size_t n, long long off, int wr) {
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED ov;
    DWORD done = 0;
    BOOL ok;
    if (h == INVALID_HANDLE_VALUE || off < 0) return errno = EBADF, -1;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)((unsigned long long)off & 0xFFFFFFFFu);
    ov.OffsetHigh = (DWORD)((unsigned long long)off >> 32);
    if (n > ((size_t)1 << 30)) n = (size_t)1 << 30;
    ok = wr ? WriteFile(h, buf, (DWORD)n, &done, &ov) : ReadFile(h, buf, (DWORD)n, &done, &ov);
    if (!ok) return !wr && GetLastError() == ERROR_HANDLE_EOF ? 0 : (errno = EIO, -1);
    return (long long)done;
}
#define pread(fd, buf, n, off) compat_pio(fd, buf, n, (long long)(off), 0)
#define pwrite(fd, buf, n, off) compat_pio(fd, (void *)(buf), n, (long long)(off), 1)

#define fsync(fd) _commit(fd)
#define mkdir(dir, mode) _mkdir(dir)

/* realpath: _fullpath resolves "." and ".." (not links, which Windows programs rarely
   meet) and, unlike realpath, does not require the file to exist: check that here. */
static inline char *compat_realpath(const char *path, char *out) {
    if (!_fullpath(out, path, PATH_MAX) /* out holds PATH_MAX, as for realpath */) return NULL;
    if (_access(out, 0) != 0) return errno = ENOENT, (char *)NULL;
    return out;
}
#define realpath(path, out) compat_realpath(path, out)

/* rename: the CRT's refuses to replace an existing file; POSIX rename replaces it in one
   step, which the tools' write-then-rename relies on. */
static inline int compat_rename(const char *from, const char *to) {
    if (MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) return 0;
    errno = GetLastError() == ERROR_ACCESS_DENIED ? EACCES : ENOENT;
    return -1;
}
#define rename(from, to) compat_rename(from, to)

static inline void *compat_aligned_alloc(size_t align, size_t bytes) { return _aligned_malloc(bytes ? bytes : 1, align); }
static inline void compat_aligned_free(void *p) { _aligned_free(p); }

#else /* POSIX */

#ifndef O_BINARY
#define O_BINARY 0 /* Windows opens files in text mode without it */
#endif

static inline void *compat_aligned_alloc(size_t align, size_t bytes) {
    void *p = NULL;
    return posix_memalign(&p, align, bytes ? bytes : 1) == 0 ? p : NULL;
}
static inline void compat_aligned_free(void *p) { free(p); }

#endif
#endif
