/*
 * decoders – the program- and format-specific decoders behind decode_line
 * (decode_line.c dispatches). Internal to the decoders; the contract for
 * everyone else is decode.h. Every value they set is a slice of the line
 * or memory from decode_scratch(d).
 */
#ifndef DECODERS_H
#define DECODERS_H

#include <stdbool.h>
#include <stddef.h>

#include "decode.h"

/*
 * Sets d->service and the named fields for an auth.log program (d->app)
 * from d->msg; run after decode_sshd. Returns 1 when the message was
 * recognised, 0 otherwise (the service is still set for a known program).
 */
int decode_auth(struct decoded *d);

/*
 * Decodes d->msg as a netfilter log line. Returns 1 and sets category
 * "firewall" and its fields when it has IN= and SRC=; 0 and leaves d
 * untouched otherwise.
 */
int decode_fw(struct decoded *d);

/*
 * Decodes s/n (the whole line, or the message of a syslog line) as an
 * access log line. Returns 1 and sets category "webserver", the event time
 * and the fields; 0 with d untouched otherwise.
 */
int decode_web(struct decoded *d, const char *s, size_t n);

/*
 * Decodes d->msg (a whole non-syslog line) as a journald JSON record.
 * Returns 1 and replaces the header fields and msg; 0 with d untouched when
 * the line is no such object or has no MESSAGE.
 */
int decode_json(struct decoded *d);

/*
 * Decodes d->msg (a whole non-syslog line) as a Zeek JSON log record or a
 * minisoc network event (an object with "_path"). Returns 1 and sets
 * product "zeek", service = _path, the event time from ts and one field per
 * member; 0 with d untouched otherwise.
 */
int decode_zeek(struct decoded *d);

/*
 * Decodes s/n (the whole line, or the message of a syslog line) as one
 * Linux audit record ("type=T msg=audit(S.M:SERIAL): k=v ..."). Returns 1
 * and sets product "linux", service "auditd" (EXECVE: category
 * "process_creation"), the event time and the fields; 0 with d untouched
 * otherwise. With ctx->auditd set, remembers SYSCALL records there and
 * enriches later records of the same event (see decode_auditd.c).
 */
int decode_auditd(struct decoded *d, const struct decode_ctx *ctx, const char *s, size_t n);

/*
 * rsyslog's "message repeated N times: [ msg]": when *m is one, replaces it
 * with the inner msg, sets *repeat to N and returns true; otherwise leaves
 * both alone and returns false.
 */
bool decode_unwrap_repeat(struct ms_str *m, unsigned *repeat);

#endif
