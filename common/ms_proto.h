/*
 * ms_proto – wire protocol v1 between agent and collector (docs/protocol.md).
 *
 * Every message is one frame: a fixed 12-byte header
 *
 *   0      4        5     6        8               12
 *   | MSOC | version | type | flags | payload length |  payload ...
 *
 * (integers big-endian) followed by `length` payload bytes. The header is
 * validated – magic, version, type, flags, and length against the
 * receiver's cap – before any payload byte is read or anything allocated.
 *
 * Decoders take untrusted bytes and never read outside them; slices they
 * return point into the payload and are borrowed for as long as it lives.
 */
#ifndef MS_PROTO_H
#define MS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ms_buf.h"

#define MS_PROTO_MAGIC		"MSOC"
#define MS_PROTO_VERSION	1
#define MS_PROTO_HDR_LEN	12
/* Default and hard maximum of a frame's payload. */
#define MS_PROTO_MAX_FRAME	(1u << 20)
#define MS_PROTO_MAX_FRAME_HARD	(16u << 20)
/* Longest line and source path one event may carry. */
#define MS_PROTO_MAX_LINE	65536u
#define MS_PROTO_MAX_SOURCE	4096u
/* Per-event overhead in a batch: seq, time, source length, line length. */
#define MS_PROTO_EVENT_OVERHEAD	(8 + 8 + 2 + 4)

enum ms_msg_type {
	MS_MSG_HELLO = 1,	/* agent -> collector, first frame */
	MS_MSG_BATCH = 2,	/* agent -> collector, events */
	MS_MSG_ACK = 3,		/* collector -> agent, highest durably handled seq */
	MS_MSG_HEARTBEAT = 4,	/* both ways, keeps idle sessions checked */
	MS_MSG_ERROR = 5,	/* collector -> agent, sent before closing */
	MS_MSG_HEALTH = 6,	/* agent -> collector, health telemetry (after the first ACK) */
	/* Enrolment (ms_pki.h), only on the collector's enrolment listener. */
	MS_MSG_ENROLL = 32,	/* agent -> collector: token (or client certificate) and CSR */
	MS_MSG_ENROLL_RESULT = 33,	/* collector -> agent: result code and certificate chain */
};

enum ms_proto_rc {
	MS_PROTO_OK = 0,
	MS_PROTO_NEED_MORE = 1,		/* not enough bytes yet */
	MS_PROTO_BAD_MAGIC = -1,
	MS_PROTO_BAD_VERSION = -2,
	MS_PROTO_BAD_TYPE = -3,
	MS_PROTO_TOO_BIG = -4,
	MS_PROTO_BAD_FLAGS = -5,
	MS_PROTO_MALFORMED = -6,	/* payload does not match its type */
};

/* Error codes carried in an ERROR frame. */
enum ms_proto_errcode {
	MS_ERR_PROTOCOL = 1,	/* malformed frame, bad header */
	MS_ERR_VERSION = 2,	/* unsupported version */
	MS_ERR_TYPE = 3,	/* unknown or unexpected message type */
	MS_ERR_TOO_BIG = 4,	/* frame over the collector's cap */
	MS_ERR_SEQUENCE = 5,	/* sequence numbers going backwards in a batch */
	MS_ERR_TIMEOUT = 6,	/* no hello or no traffic in time */
	MS_ERR_REPLACED = 7,	/* a newer session of the same agent took over */
	MS_ERR_SHUTDOWN = 8,	/* collector is stopping */
	MS_ERR_REVOKED = 9,	/* the agent's certificate was revoked (CRL reloaded) */
};

struct ms_frame_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t len;
};

/*
 * Parses a header from buf (avail bytes). Returns MS_PROTO_OK and fills out,
 * MS_PROTO_NEED_MORE when avail < MS_PROTO_HDR_LEN, or a negative
 * ms_proto_rc when the header is invalid or len > max_frame.
 */
int ms_proto_hdr_parse(const uint8_t *buf, size_t avail, uint32_t max_frame,
    struct ms_frame_hdr *out);
/* Writes a header for type with payload length len into out. */
void ms_proto_hdr_write(uint8_t out[MS_PROTO_HDR_LEN], enum ms_msg_type type, uint32_t len);
const char *ms_proto_strerror(int rc);
const char *ms_proto_type_name(int type);

/* --- hello ------------------------------------------------------------ */

/* Hello payload: TLV items (u8 tag, u16 length, value); unknown tags skipped. */
enum ms_hello_tag {
	MS_HELLO_AGENT_VERSION = 1,
	MS_HELLO_HOSTNAME = 2,
	MS_HELLO_OS = 3,
	MS_HELLO_TZ_OFFSET = 4,	/* 4 bytes, signed seconds east of UTC */
	MS_HELLO_BOOT_ID = 5,
};

struct ms_hello {
	char agent_version[32];
	char hostname[256];
	char os[128];
	char boot_id[64];
	int32_t tz_offset_s;
};

/* Appends a complete HELLO frame to out; 0 or -1 (cap). */
int ms_hello_encode(struct ms_buf *out, const struct ms_hello *h);
/* Decodes a HELLO payload; strings are truncated to their fields. 0 or MS_PROTO_MALFORMED. */
int ms_hello_decode(const uint8_t *p, size_t len, struct ms_hello *h);

/* --- batch of events ------------------------------------------------- */

/*
 * Batch payload: u32 count, then count events of
 *   u64 seq | i64 time_ms | u16 source_len | source | u32 line_len | line
 * with seq strictly increasing inside a batch.
 */
struct ms_wire_event {
	uint64_t seq;
	int64_t time_ms;	/* when the agent read the line */
	const char *source;
	size_t source_len;
	const char *line;
	size_t line_len;
};

/* Starts a BATCH frame at the end of out; remember the returned offset. */
int ms_batch_begin(struct ms_buf *out, size_t *start);
/* Appends one event; -1 when it would pass out's cap or limits (nothing added). */
int ms_batch_add(struct ms_buf *out, const struct ms_wire_event *ev);
/* Fills in the header and count of the frame started at start. */
void ms_batch_finish(struct ms_buf *out, size_t start, uint32_t count);
/* Bytes one event takes in a batch. */
size_t ms_batch_event_size(size_t source_len, size_t line_len);

struct ms_batch_iter {
	const uint8_t *p;
	const uint8_t *end;
	uint32_t remaining;
};

/*
 * Validates a whole BATCH payload (counts, lengths, limits, increasing seq)
 * and prepares it for iteration. Returns 0 and the event count, or
 * MS_PROTO_MALFORMED. A batch is accepted or rejected as a whole.
 */
int ms_batch_open(struct ms_batch_iter *it, const uint8_t *p, size_t len, uint32_t *count);
/* Next event of a validated batch: 1 and ev filled, or 0 at the end. */
int ms_batch_next(struct ms_batch_iter *it, struct ms_wire_event *ev);

/* --- small messages ---------------------------------------------------- */

int ms_ack_encode(struct ms_buf *out, uint64_t seq);
int ms_ack_decode(const uint8_t *p, size_t len, uint64_t *seq);
int ms_heartbeat_encode(struct ms_buf *out, int64_t time_ms);
int ms_heartbeat_decode(const uint8_t *p, size_t len, int64_t *time_ms);
int ms_error_encode(struct ms_buf *out, uint16_t code, const char *reason);
/* reason is copied (truncated) into reasonbuf. */
int ms_error_decode(const uint8_t *p, size_t len, uint16_t *code, char *reasonbuf, size_t reasonsz);

/* --- health telemetry ------------------------------------------------- */

/*
 * Health payload: u16 count, then count items of
 *   u8 key_len | key | u16 value_len | value
 * Keys are 1..MS_HEALTH_MAX_KEY bytes of [a-z0-9_.] and unique in a report;
 * values are at most MS_HEALTH_MAX_VALUE bytes without control bytes
 * (< 0x20, 0x7f). The last item ends exactly at the payload's end.
 */
#define MS_HEALTH_MAX_ITEMS	256u
#define MS_HEALTH_MAX_KEY	64u
#define MS_HEALTH_MAX_VALUE	1024u
/* Per-item overhead: the two length fields. */
#define MS_HEALTH_ITEM_OVERHEAD	(1 + 2)
/* The largest payload a valid report can have (about 273 KiB). */
#define MS_HEALTH_MAX_PAYLOAD \
	(2 + MS_HEALTH_MAX_ITEMS * (MS_HEALTH_ITEM_OVERHEAD + MS_HEALTH_MAX_KEY + MS_HEALTH_MAX_VALUE))

/* One key and its value; slices, not NUL-terminated. */
struct ms_kv {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

/* Whether key / value may appear in a report (the rules above). */
bool ms_health_key_ok(const char *key, size_t len);
bool ms_health_value_ok(const char *value, size_t len);
/* Bytes one item takes in a HEALTH payload. */
size_t ms_health_item_size(size_t key_len, size_t value_len);
/*
 * Appends a complete HEALTH frame with kv[0..n) to out. Returns 0, or -1
 * (nothing added) when n, a key or a value breaks the rules above (keys
 * are not checked for duplicates here) or out's cap is reached.
 */
int ms_health_encode(struct ms_buf *out, const struct ms_kv *kv, size_t n);

struct ms_health_iter {
	const uint8_t *p;
	const uint8_t *end;
	uint32_t remaining;
};

/*
 * Validates a whole HEALTH payload – count, every length against what is
 * left before it is used, key and value bytes, unique keys, nothing after
 * the last item – and prepares it for iteration. Returns 0 and the item
 * count, or MS_PROTO_MALFORMED with *why set to a short static reason
 * ("truncated", "too_many_items", "bad_key", ...). A report is accepted or
 * rejected as a whole.
 */
int ms_health_open(struct ms_health_iter *it, const uint8_t *p, size_t len, uint32_t *count,
    const char **why);
/*
 * Next item of a validated report: 1 and kv filled (slices into the
 * payload, borrowed as long as it lives), or 0 at the end.
 */
int ms_health_next(struct ms_health_iter *it, struct ms_kv *kv);

#endif
