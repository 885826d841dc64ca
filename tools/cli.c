/* tools/cli.c - helpers shared by the command-line tools (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <psapi.h>
#else
#include <sys/resource.h>
#include <unistd.h>
#endif

double cli_now(void) {
#ifdef _WIN32
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double)t.QuadPart / (double)f.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
}

/* Linux: VmHWM, the high-water mark of this program's own address space. ru_maxrss would
   also count the parent's resident memory at fork (the kernel carries it over exec), so a
   tool started from a large process (a Python script) would report the parent's size. */
size_t cli_peak_rss_bytes(void) {
#ifdef _WIN32
    PROCESS_MEMORY_COUNTERS pm;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pm, sizeof pm)) return 0;
    return (size_t)pm.PeakWorkingSetSize;
#else
    struct rusage ru;
#ifdef __linux__
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        unsigned long long kib = 0;
        int found = 0;
        while (!found && fgets(line, sizeof line, f)) found = sscanf(line, "VmHWM: %llu kB", &kib) == 1;
        fclose(f);
        if (found) return (size_t)kib * 1024;
    }
#endif
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
#ifdef __APPLE__
    return (size_t)ru.ru_maxrss; /* bytes on macOS */
#else
    return (size_t)ru.ru_maxrss * 1024; /* KiB on Linux and the BSDs */
#endif
#endif
}

int cli_n_cores(void) {
#ifdef _WIN32
    SYSTEM_INFO si;
    long n;
    GetSystemInfo(&si);
    n = (long)si.dwNumberOfProcessors;
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}

static int cli_log_max = -1;
void cli_log(void *user, infer_log_level level, const char *message) {
    static const char *const names[] = {"", "error", "warning", "info", "debug"};
    (void)user;
    if (cli_log_max < 0) {
        const char *e = getenv("INFER_LOG");
        cli_log_max = !e ? INFER_LOG_WARN : !strcmp(e, "debug") ? INFER_LOG_DEBUG : !strcmp(e, "info") ? INFER_LOG_INFO
                                                                                                      : INFER_LOG_WARN;
    }
    if (level == INFER_LOG_ERROR || (int)level > cli_log_max || level < INFER_LOG_ERROR || level > INFER_LOG_DEBUG) return;
    fprintf(stderr, "infer: %s: %s\n", names[level], message);
}
void cli_log_install(infer_session_options *o) {
    o->log = cli_log;
    o->log_user = NULL;
}

int cli_parse_int(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    long long v;
    if (!s || !*s) return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int cli_parse_dim(char *s, infer_dim *dim) {
    char *eq = strchr(s, '=');
    long long v;
    if (!eq || eq == s || !cli_parse_int(eq + 1, 0, (long long)1 << 40, &v)) return 0;
    *eq = '\0';
    dim->name = s;
    dim->value = v;
    return 1;
}

int cli_parse_precision(const char *s, int *out) {
    static const char *const names[] = {"f32", "tf32", "f16", "bf16"}; /* infer_precision's order */
    int i;
    for (i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = INFER_PRECISION_F32 + i;
            return 1;
        }
    return 0;
}

int cli_parse_floats(const char *s, float *out, int max) {
    int n = 0;
    while (*s) {
        char *end;
        double v;
        if (n == max) return 0;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || (*end && *end != ',')) return 0;
        out[n++] = (float)v;
        s = *end ? end + 1 : end;
        if (*end && !*s) return 0; /* a trailing comma */
    }
    return n;
}

char *cli_format_dims(const infer_tensor_info *info, char *buf, size_t cap) {
    size_t n = 0;
    int i;
    if (info->n_dims < 0) {
        snprintf(buf, cap, "[?]");
        return buf;
    }
    n += (size_t)snprintf(buf, cap, "[");
    for (i = 0; i < info->n_dims && n < cap; i++) {
        if (info->dim_names[i])
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", info->dim_names[i]);
        else if (info->dims[i] < 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s?", i ? ", " : "");
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)info->dims[i]);
    }
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

char *cli_format_shape(int n_dims, const int64_t *dims, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    int i;
    for (i = 0; i < n_dims && n < cap; i++) n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

char *cli_format_bytes(double bytes, char *buf, size_t cap) {
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
    if (u == 0) snprintf(buf, cap, "%.0f bytes", bytes);
    else snprintf(buf, cap, "%.1f %s", bytes, units[u]);
    return buf;
}
