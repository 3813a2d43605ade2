/*
 * ms_log – one key=value line per notable event.
 *
 * Lines go to stderr (journald picks them up under systemd):
 *   ts=2026-11-25T16:34:47.123Z level=info prog=collector event=accept peer=...
 * Values are written as given by the caller's format; use ms_log_quote() for
 * values that may contain spaces or come from the network.
 */
#ifndef MS_LOG_H
#define MS_LOG_H

#include <stddef.h>

enum ms_log_level { MS_LOG_DEBUG = 0, MS_LOG_INFO, MS_LOG_WARN, MS_LOG_ERR };

/* Sets the program name printed as prog= and the lowest level printed. */
void ms_log_init(const char *prog, enum ms_log_level min);
/* Parses "debug", "info", "warn", "error"; returns -1 on anything else. */
int ms_log_level_parse(const char *s, enum ms_log_level *out);

void ms_log(enum ms_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Writes src (len bytes, untrusted) into dst as a double-quoted value with
 * control characters, quotes and backslashes escaped, truncated to fit.
 * Always NUL-terminates when dstsz > 0. Returns dst.
 */
char *ms_log_quote(char *dst, size_t dstsz, const char *src, size_t len);

#define ms_debug(...) ms_log(MS_LOG_DEBUG, __VA_ARGS__)
#define ms_info(...)  ms_log(MS_LOG_INFO, __VA_ARGS__)
#define ms_warn(...)  ms_log(MS_LOG_WARN, __VA_ARGS__)
#define ms_err(...)   ms_log(MS_LOG_ERR, __VA_ARGS__)

#endif
