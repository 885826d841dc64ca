/* tools/cli.h - small helpers the command-line tools share: clocks, peak memory,
   number and dim parsing, dims as text. Not part of the library. */
#ifndef INFER_TOOLS_CLI_H
#define INFER_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "../infer.h"

double cli_now(void);                /* seconds on a monotonic clock */
size_t cli_peak_rss_bytes(void);     /* the process's peak resident memory, 0 if unknown */
int cli_n_cores(void);               /* online cores, at least 1 */

/* The tools' log callback (infer_session_options.log): the library prints nothing itself.
   Prints warnings, and info/debug when the environment has INFER_LOG=info or debug, to
   stderr as "infer: warning: ..."; errors are left to the tool, which prints the
   status message once. cli_log_install sets log and log_user in o. */
void cli_log(void *user, infer_log_level level, const char *message);
void cli_log_install(infer_session_options *o);

/* Parses a whole decimal integer in [lo, hi]; 1 on success. */
int cli_parse_int(const char *s, long long lo, long long hi, long long *out);
/* Parses "NAME=VALUE" (VALUE >= 0) into dim; name points into s. 1 on success. */
int cli_parse_dim(char *s, infer_dim *dim);
/* Parses f32, tf32, f16 or bf16 into an infer_precision; 1 on success. */
int cli_parse_precision(const char *s, int *out);
/* Parses a comma-separated list of up to max floats; returns the count, 0 on error. */
int cli_parse_floats(const char *s, float *out, int max);

/* "[batch, 3, 224, 224]" from an info's dims (symbolic names where they have them) into
   buf[cap]; returns buf. */
char *cli_format_dims(const infer_tensor_info *info, char *buf, size_t cap);
/* "[1797, 10]" from plain dims. */
char *cli_format_shape(int n_dims, const int64_t *dims, char *buf, size_t cap);
/* "12.3 MiB" style, into buf[cap]; returns buf. */
char *cli_format_bytes(double bytes, char *buf, size_t cap);

#endif
