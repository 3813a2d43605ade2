/*
 * decode – turns one raw log line into named fields.
 *
 * Decoders never allocate: every field is a slice borrowed from the line
 * passed in, or – for values that had to be unescaped or decoded (URLs,
 * JSON strings) – from the scratch area inside struct decoded; both are
 * valid as long as the line and the struct are. Every decoder accepts any
 * bytes (untrusted input) and either fills fields or reports that the line
 * is not its format.
 */
#ifndef DECODE_H
#define DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ms_util.h"

/* Longest line a decoder looks at; longer lines are decoded on a prefix. */
#define DECODE_MAX_LINE 65536

enum decode_syslog_fmt {
	DECODE_SYSLOG_NONE = 0,	/* not a syslog line: msg is the whole line */
	DECODE_SYSLOG_3164,	/* "Mmm dd [yyyy ]hh:mm:ss host tag[pid]: msg" */
	DECODE_SYSLOG_5424,	/* "<pri>1 ts host app procid msgid sd msg" */
	DECODE_SYSLOG_RFC3339,	/* rsyslog's default on Debian 12: "ts host tag: msg" */
};

enum decode_sshd_action {
	DECODE_SSHD_NONE = 0,
	DECODE_SSHD_AUTH_FAILURE,	/* "Failed <method> for [invalid user ]U from IP port P" */
	DECODE_SSHD_AUTH_SUCCESS,	/* "Accepted <method> for U from IP port P" */
	DECODE_SSHD_INVALID_USER,	/* "Invalid user U from IP port P" */
};

/* Named fields for rules (Sigma field names: "c-ip", "User", "CommandLine" ...). */
#define DECODE_MAX_FIELDS 64
/* Room for values that are not slices of the line (URL- or hex-decoded). */
#define DECODE_SCRATCH 16384

struct decode_field {
	const char *name;	/* static string owned by the decoder, or a
				   NUL-terminated copy in the scratch area; a
				   name outside the scratch area must never
				   change (the prefilter caches by address) */
	struct ms_str value;	/* slice of the line or of the scratch area */
};

struct decode_auditd_cache;

struct decode_ctx {
	int64_t recv_ms;	/* when the agent read the line (ms since epoch) */
	int32_t tz_offset_s;	/* agent's UTC offset, for timestamps without a zone */
	/*
	 * Optional, borrowed: where auditd records of one event are remembered
	 * so later records get the SYSCALL record's exe, uid ... (NULL: no
	 * enrichment), and the agent the line came from (part of the cache key,
	 * since serials are per host; NULL counts as "").
	 */
	struct decode_auditd_cache *auditd;
	const char *agent_id;
	/*
	 * Latest event time taken (ms since epoch; 0: no cap): a later time,
	 * from the line or from recv_ms, becomes this one and time_capped is
	 * set. The collector sets its own clock plus DECODE_FUTURE_SLACK_MS.
	 */
	int64_t max_time_ms;
};

/*
 * How far ahead of the collector's clock an event's time may be. Clocks of
 * hosts kept by NTP agree to well under a second; the slack stays below
 * the shortest correlation timespan in use (10 s), so a capped event can
 * move a shared window by less than one window.
 */
#define DECODE_FUTURE_SLACK_MS 5000

struct decoded {
	/* syslog header */
	enum decode_syslog_fmt fmt;
	int64_t time_ms;	/* event time from the line, else ctx->recv_ms */
	bool time_from_line;
	bool time_capped;	/* time_ms was later than ctx->max_time_ms: it is that */
	/*
	 * A field holds only the first and last bytes of a value longer than
	 * the fixed slot a decoder keeps it in (decode_auditd: exe, Image,
	 * ParentImage, CommandLine ... over 512 or more bytes).
	 */
	bool values_cut;
	int facility;		/* -1 when the line has no <PRI> */
	int severity;		/* -1 when the line has no <PRI> */
	struct ms_str host;
	struct ms_str app;	/* tag / APP-NAME, e.g. "sshd" */
	struct ms_str pid;	/* procid, may be empty */
	struct ms_str msgid;	/* RFC 5424 only */
	struct ms_str msg;	/* the message after the header (CR/LF stripped) */

	/* sshd authentication fields, when app is sshd */
	enum decode_sshd_action sshd_action;
	struct ms_str user;
	struct ms_str method;	/* "password", "publickey", "none", ... */
	struct ms_str src_ip;	/* IPv4 or IPv6 text, as in the line */
	int src_port;		/* 0 when absent */
	bool invalid_user;
	unsigned repeat;	/* rsyslog "message repeated N times": N, else 1 */

	/*
	 * The Sigma logsource this event satisfies (static strings, NULL when
	 * unknown): product "linux", service "sshd"/"sudo"/"auditd"/..., category
	 * "webserver"/"firewall"/"process_creation"/... Set by the decoders.
	 */
	const char *product;
	const char *service;
	const char *category;

	/*
	 * Named fields for rule matching. Everything above is reset for every
	 * line; only the counters below are, not the arrays (kept last so a
	 * reset stays cheap). syslog_reset (decode_syslog.c) sets each member
	 * by name: a new member needs a line there too.
	 */
	unsigned nfields;
	size_t scratch_used;
	uint64_t names;		/* decode_name_bit of every field's name (or more) */
	struct decode_field fields[DECODE_MAX_FIELDS];
	char scratch[DECODE_SCRATCH];
};

/*
 * Clears every field of d before a line is decoded (cheap: no big memset;
 * inline, so the fixed-size clear is a few stores rather than a call).
 */
static inline void
decode_reset(struct decoded *d)
{
	/* Everything up to the big arrays; they are only valid up to the counters. */
	memset(d, 0, offsetof(struct decoded, fields));
}

/*
 * Adds field name (a static string) with value p/len (a slice that lives as
 * long as the line, or memory from decode_scratch). Returns 0, or -1 when
 * the field table is full (the field is dropped, counted by the caller).
 */
/*
 * One of 64 bits for a field name, the same for names that differ only in
 * ASCII case (from the first two bytes, or the first and the NUL): a
 * lookup of a name whose bit is not in d->names ends without reading the
 * fields. Alerts and correlations look up names most events lack.
 */
static inline uint64_t
decode_name_bit(const char *name)
{
	unsigned a = (unsigned char)name[0] | 0x20u;
	unsigned b = name[0] != '\0' ? (unsigned char)name[1] | 0x20u : 0;

	return UINT64_C(1) << ((a * 7u + b) & 63u);
}

/*
 * decode_field_add with the name's decode_name_bit given (bit must be
 * exactly that): for decoders that keep names in a table with their bits,
 * so the bit is not worked out again for every field of every line.
 */
static inline int
decode_field_add_bit(struct decoded *d, const char *name, uint64_t bit, const char *p, size_t len)
{
	if (d->nfields >= DECODE_MAX_FIELDS)
		return -1;
	d->names |= bit;
	d->fields[d->nfields].name = name;
	d->fields[d->nfields].value = ms_str_make(p, len);
	d->nfields++;
	return 0;
}

static inline int
decode_field_add(struct decoded *d, const char *name, const char *p, size_t len)
{
	/* inline: every decoded event adds about ten fields, and a call cost more than this */
	return decode_field_add_bit(d, name, decode_name_bit(name), p, len);
}

/* The value of field name (exact match first, then ASCII case-insensitive), or NULL. */
const struct ms_str *decode_field_get(const struct decoded *d, const char *name);

/* Reserves len bytes of d's scratch area; NULL when it is exhausted. */
char *decode_scratch(struct decoded *d, size_t len);

/*
 * Decodes the syslog header of line (len bytes, any content) into out.
 * Always succeeds: a line that is no known syslog format is returned with
 * fmt DECODE_SYSLOG_NONE, msg = the whole line, time_ms = ctx->recv_ms.
 * Trailing CR and LF are stripped. Lines longer than DECODE_MAX_LINE are
 * decoded on their first DECODE_MAX_LINE bytes.
 */
void decode_syslog(const char *line, size_t len, const struct decode_ctx *ctx,
    struct decoded *out);

/*
 * When d->app is an sshd program ("sshd", "sshd-session", ...), decodes
 * d->msg into the sshd fields. Returns 1 when an authentication message was
 * recognised, 0 otherwise (fields left as NONE/empty).
 */
int decode_sshd(struct decoded *d);

/*
 * The auditd enrichment cache: fixed size (9.0 MiB: 1,024 events, 32 sets
 * of 32 by agent, an agent holding at most half of its set; and 4,096
 * processes for the parent fields, 512 buckets of 8, an agent holding at
 * most half of a bucket), allocated once; caller owns it. NULL when out
 * of memory. _free(NULL) is a no-op. Not thread-safe: one per decoding
 * thread.
 */
struct decode_auditd_cache *decode_auditd_cache_new(void);
void decode_auditd_cache_free(struct decode_auditd_cache *c);

/* Convenience: decode_syslog then decode_sshd. */
void decode_line(const char *line, size_t len, const struct decode_ctx *ctx,
    struct decoded *out);

const char *decode_sshd_action_name(enum decode_sshd_action a);

/*
 * Is p/n a dotted-quad IPv4 address exactly as inet_pton(AF_INET) reads
 * it (four decimal octets <= 255, no leading zeros, nothing else)? Fills
 * out (may be NULL) in network order. Any bytes, no NUL needed: the
 * decoders and rules check every address, and a copy plus inet_pton cost
 * several times more.
 */
bool decode_ipv4(const char *p, size_t n, uint8_t *out);

/*
 * Is p/n an IPv4 or IPv6 address as inet_pton reads it (shorter than
 * DECODE_IP_MAX)? An IPv6 zone ("fe80::1%eth0", as getnameinfo writes
 * link-local peers) is allowed when it is a plain interface name. Any
 * bytes, no NUL needed.
 */
#define DECODE_IP_MAX 64
bool decode_ip(const char *p, size_t n);

#endif
