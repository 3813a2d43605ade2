/*
 * ms_log – one key=value line per notable event.
 *
 * Lines go to stderr (journald picks them up under systemd):
 *   ts=2026-11-25T16:34:47.123Z level=info prog=collector event=accept peer=...
 * Values are written as given by the caller's format; use ms_log_quote() for
 * values that may contain spaces or come from the network. Whatever the
 * values, a line stays one line: control bytes but tab become '?'.
 */
#ifndef MS_LOG_H
#define MS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <event2/event.h>

enum ms_log_level { MS_LOG_DEBUG = 0, MS_LOG_INFO, MS_LOG_WARN, MS_LOG_ERR };

/* Sets the program name printed as prog= and the lowest level printed. */
void ms_log_init(const char *prog, enum ms_log_level min);
/* Parses "debug", "info", "warn", "error"; returns -1 on anything else. */
int ms_log_level_parse(const char *s, enum ms_log_level *out);

/*
 * The command line every minisoc daemon takes: -c/--config FILE (required),
 * -t/--check, -l/--log-level LEVEL, -V/--version, -h/--help.
 *
 * It also blocks SIGHUP and SIGUSR1 (reload, counters) until
 * ms_daemon_signals has installed the daemon's handlers: sent while it
 * starts (rules loading, a spool scanned), they wait instead of killing
 * the process with their default action.
 */
struct ms_daemon_args {
	const char *config;
	const char *level;	/* NULL: the config file's */
	bool check;
};

/*
 * Parses argv into a and starts logging as prog at info (-V prints
 * "minisoc-<prog> <version>"). Returns -1 when the daemon goes on, else
 * its exit status: 0 after -V or -h, 1 on a usage error (usage printed).
 */
int ms_daemon_args(int argc, char **argv, const char *prog, void (*usage)(FILE *),
    struct ms_daemon_args *a);
/*
 * Logging from here on at a's -l level, else conf_level (the config
 * file's), libevent's own messages included ("event=libevent message=...",
 * its warnings and errors as ours, the rest at debug). 0, or -1 after
 * logging the unknown level as a config_error.
 */
int ms_daemon_log_level(const char *prog, const struct ms_daemon_args *a, const char *conf_level);
/*
 * Handlers for the n signals of signums on base (cb gets the signal number
 * as its fd), one event each in sigs[] (the caller frees them), then the
 * signals ms_daemon_args held are let through. 0, or -1 after logging a
 * start_error.
 */
int ms_daemon_signals(struct event_base *base, const int *signums, size_t n,
    event_callback_fn cb, void *arg, struct event **sigs);

/* A line is cut to this many bytes, its newline included. */
#define MS_LOG_LINE_MAX 2048

void ms_log(enum ms_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether lines of lvl are written now: skip building a costly one when not. */
bool ms_log_on(enum ms_log_level lvl);
/*
 * As ms_log with text (len bytes, the part after "prog=... ") already
 * built by the caller, without printf: for a line per item in a busy loop
 * (the collector's per alert). The same prefix, cut, hold and write.
 */
void ms_log_text(enum ms_log_level lvl, const char *text, size_t len);
/*
 * Between ms_log_hold and ms_log_release (nested: the outermost release
 * counts), debug and info lines collect in a buffer and go out in one
 * write, each line whole, at the release or when the buffer is full; a
 * warning or error writes what was held and itself at once. For a busy
 * loop that logs a line per item (the collector: one per alert), one
 * write per batch instead of one per line.
 */
void ms_log_hold(void);
void ms_log_release(void);
/*
 * Lazy mode, for a daemon with a timer of its own (the collector, whose
 * info line per alert otherwise cost a write per agent batch): the
 * outermost ms_log_release leaves the held lines in the buffer until it
 * is half full. They go out, in order, with the next line written outside
 * a hold, with a warning or an error, at ms_log_flush (the caller's timer:
 * while ms_log_pending, a line waits at most that long), or at a normal
 * exit (atexit). A crash loses the lines still held. Off by default;
 * turning it off writes what is held. Not for threads that log at once.
 */
void ms_log_set_lazy(bool on);
/* Whether held lines wait to be written (lazy mode, or inside a hold). */
bool ms_log_pending(void);
/* Writes the held lines now; a no-op when there are none. */
void ms_log_flush(void);

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
