#include "ms_proto.h"

#include <string.h>

#include "ms_util.h"

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

int
ms_proto_hdr_parse(const uint8_t *buf, size_t avail, uint32_t max_frame,
    struct ms_frame_hdr *out)
{
	if (avail < MS_PROTO_HDR_LEN) {
		/* Reject a wrong magic as early as its first bytes arrive. */
		if (memcmp(buf, MS_PROTO_MAGIC, avail < 4 ? avail : 4) != 0)
			return MS_PROTO_BAD_MAGIC;
		return MS_PROTO_NEED_MORE;
	}
	if (memcmp(buf, MS_PROTO_MAGIC, 4) != 0)
		return MS_PROTO_BAD_MAGIC;
	out->version = buf[4];
	out->type = buf[5];
	out->flags = get16(buf + 6);
	out->len = get32(buf + 8);
	if (out->version != MS_PROTO_VERSION)
		return MS_PROTO_BAD_VERSION;
	if ((out->type < MS_MSG_HELLO || out->type > MS_MSG_HEALTH) &&
	    out->type != MS_MSG_ENROLL && out->type != MS_MSG_ENROLL_RESULT)
		return MS_PROTO_BAD_TYPE;
	if (out->flags != 0)
		return MS_PROTO_BAD_FLAGS;
	if (max_frame > MS_PROTO_MAX_FRAME_HARD)
		max_frame = MS_PROTO_MAX_FRAME_HARD;
	if (out->len > max_frame)
		return MS_PROTO_TOO_BIG;
	return MS_PROTO_OK;
}

void
ms_proto_hdr_write(uint8_t out[MS_PROTO_HDR_LEN], enum ms_msg_type type, uint32_t len)
{
	memcpy(out, MS_PROTO_MAGIC, 4);
	out[4] = MS_PROTO_VERSION;
	out[5] = (uint8_t)type;
	put16(out + 6, 0);
	put32(out + 8, len);
}

const char *
ms_proto_strerror(int rc)
{
	switch (rc) {
	case MS_PROTO_OK: return "ok";
	case MS_PROTO_NEED_MORE: return "incomplete";
	case MS_PROTO_BAD_MAGIC: return "bad_magic";
	case MS_PROTO_BAD_VERSION: return "unsupported_version";
	case MS_PROTO_BAD_TYPE: return "unknown_type";
	case MS_PROTO_TOO_BIG: return "frame_too_big";
	case MS_PROTO_BAD_FLAGS: return "bad_flags";
	case MS_PROTO_MALFORMED: return "malformed_payload";
	default: return "unknown_error";
	}
}

const char *
ms_proto_type_name(int type)
{
	switch (type) {
	case MS_MSG_HELLO: return "hello";
	case MS_MSG_BATCH: return "batch";
	case MS_MSG_ACK: return "ack";
	case MS_MSG_HEARTBEAT: return "heartbeat";
	case MS_MSG_ERROR: return "error";
	case MS_MSG_HEALTH: return "health";
	case MS_MSG_ENROLL: return "enroll";
	case MS_MSG_ENROLL_RESULT: return "enroll_result";
	default: return "unknown";
	}
}

/* Appends a frame header plus payload in one go. */
static int
frame_add(struct ms_buf *out, enum ms_msg_type type, const uint8_t *payload, size_t len)
{
	uint8_t hdr[MS_PROTO_HDR_LEN];
	size_t mark = out->len;

	if (len > MS_PROTO_MAX_FRAME_HARD)
		return -1;
	ms_proto_hdr_write(hdr, type, (uint32_t)len);
	if (ms_buf_add(out, hdr, sizeof(hdr)) < 0 || ms_buf_add(out, payload, len) < 0) {
		out->len = mark;
		return -1;
	}
	return 0;
}

/* --- hello ------------------------------------------------------------ */

static size_t
tlv_put(uint8_t *p, size_t room, uint8_t tag, const void *v, size_t len)
{
	if (len > 0xffff || room < 3 + len)
		return 0;
	p[0] = tag;
	put16(p + 1, (uint16_t)len);
	memcpy(p + 3, v, len);
	return 3 + len;
}

int
ms_hello_encode(struct ms_buf *out, const struct ms_hello *h)
{
	uint8_t payload[1024], tz[4];
	size_t n = 0;

	put32(tz, (uint32_t)h->tz_offset_s);
	n += tlv_put(payload + n, sizeof(payload) - n, MS_HELLO_AGENT_VERSION,
	    h->agent_version, strnlen(h->agent_version, sizeof(h->agent_version)));
	n += tlv_put(payload + n, sizeof(payload) - n, MS_HELLO_HOSTNAME,
	    h->hostname, strnlen(h->hostname, sizeof(h->hostname)));
	n += tlv_put(payload + n, sizeof(payload) - n, MS_HELLO_OS,
	    h->os, strnlen(h->os, sizeof(h->os)));
	n += tlv_put(payload + n, sizeof(payload) - n, MS_HELLO_BOOT_ID,
	    h->boot_id, strnlen(h->boot_id, sizeof(h->boot_id)));
	n += tlv_put(payload + n, sizeof(payload) - n, MS_HELLO_TZ_OFFSET, tz, 4);
	return frame_add(out, MS_MSG_HELLO, payload, n);
}

/* Copies an untrusted string value, replacing control bytes with '?'. */
static void
hello_str(char *dst, size_t dstsz, const uint8_t *v, size_t len)
{
	size_t n = ms_copy(dst, dstsz, (const char *)v, len);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

int
ms_hello_decode(const uint8_t *p, size_t len, struct ms_hello *h)
{
	const uint8_t *end = p + len;

	memset(h, 0, sizeof(*h));
	while (p < end) {
		uint8_t tag;
		uint16_t vlen;

		if ((size_t)(end - p) < 3)
			return MS_PROTO_MALFORMED;
		tag = p[0];
		vlen = get16(p + 1);
		p += 3;
		if ((size_t)(end - p) < vlen)
			return MS_PROTO_MALFORMED;
		switch (tag) {
		case MS_HELLO_AGENT_VERSION:
			hello_str(h->agent_version, sizeof(h->agent_version), p, vlen);
			break;
		case MS_HELLO_HOSTNAME:
			hello_str(h->hostname, sizeof(h->hostname), p, vlen);
			break;
		case MS_HELLO_OS:
			hello_str(h->os, sizeof(h->os), p, vlen);
			break;
		case MS_HELLO_BOOT_ID:
			hello_str(h->boot_id, sizeof(h->boot_id), p, vlen);
			break;
		case MS_HELLO_TZ_OFFSET:
			if (vlen != 4)
				return MS_PROTO_MALFORMED;
			h->tz_offset_s = (int32_t)get32(p);
			/* Real offsets lie within -12h..+14h. */
			if (h->tz_offset_s < -14 * 3600 || h->tz_offset_s > 14 * 3600)
				return MS_PROTO_MALFORMED;
			break;
		default:
			break;	/* unknown tags are for newer agents: skip */
		}
		p += vlen;
	}
	return 0;
}

/* --- batch ------------------------------------------------------------ */

size_t
ms_batch_event_size(size_t source_len, size_t line_len)
{
	return MS_PROTO_EVENT_OVERHEAD + source_len + line_len;
}

int
ms_batch_begin(struct ms_buf *out, size_t *start)
{
	uint8_t hdr[MS_PROTO_HDR_LEN + 4] = { 0 };

	*start = out->len;
	if (ms_buf_add(out, hdr, sizeof(hdr)) < 0) {
		out->len = *start;
		return -1;
	}
	return 0;
}

int
ms_batch_add(struct ms_buf *out, const struct ms_wire_event *ev)
{
	size_t n = ms_batch_event_size(ev->source_len, ev->line_len);
	uint8_t *p;

	if (ev->source_len > MS_PROTO_MAX_SOURCE || ev->line_len > MS_PROTO_MAX_LINE)
		return -1;
	/*
	 * One reservation for the whole event, written in place: this runs
	 * for every line an agent ships, and four appends cost it a third of
	 * its framing.
	 */
	if ((p = (uint8_t *)ms_buf_room(out, n)) == NULL) {
		/* Nothing was added: the frame built so far stays valid. */
		out->toobig = false;
		return -1;
	}
	put64(p, ev->seq);
	put64(p + 8, (uint64_t)ev->time_ms);
	put16(p + 16, (uint16_t)ev->source_len);
	if (ev->source_len)
		memcpy(p + 18, ev->source, ev->source_len);
	put32(p + 18 + ev->source_len, (uint32_t)ev->line_len);
	if (ev->line_len)
		memcpy(p + 22 + ev->source_len, ev->line, ev->line_len);
	ms_buf_commit(out, n);
	return 0;
}

void
ms_batch_finish(struct ms_buf *out, size_t start, uint32_t count)
{
	uint8_t *p = (uint8_t *)out->data + start;

	ms_proto_hdr_write(p, MS_MSG_BATCH, (uint32_t)(out->len - start - MS_PROTO_HDR_LEN));
	put32(p + MS_PROTO_HDR_LEN, count);
}

int
ms_batch_open(struct ms_batch_iter *it, const uint8_t *p, size_t len, uint32_t *count)
{
	const uint8_t *q, *end = p + len;
	uint32_t n;
	uint64_t last = 0;

	if (len < 4)
		return MS_PROTO_MALFORMED;
	n = get32(p);
	q = p + 4;
	/* Each event takes at least the fixed overhead: bound n before looping. */
	if (n == 0 || n > (len - 4) / MS_PROTO_EVENT_OVERHEAD)
		return MS_PROTO_MALFORMED;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t seq;
		uint16_t sl;
		uint32_t ll;

		if ((size_t)(end - q) < 8 + 8 + 2)
			return MS_PROTO_MALFORMED;
		seq = get64(q);
		sl = get16(q + 16);
		q += 18;
		if (seq == 0 || (i > 0 && seq <= last) || sl > MS_PROTO_MAX_SOURCE ||
		    (size_t)(end - q) < (size_t)sl + 4)
			return MS_PROTO_MALFORMED;
		last = seq;
		q += sl;
		ll = get32(q);
		q += 4;
		if (ll > MS_PROTO_MAX_LINE || (size_t)(end - q) < ll)
			return MS_PROTO_MALFORMED;
		q += ll;
	}
	if (q != end)
		return MS_PROTO_MALFORMED;
	it->p = p + 4;
	it->end = end;
	it->remaining = n;
	*count = n;
	return 0;
}

int
ms_batch_next(struct ms_batch_iter *it, struct ms_wire_event *ev)
{
	const uint8_t *q = it->p;

	if (it->remaining == 0)
		return 0;
	ev->seq = get64(q);
	ev->time_ms = (int64_t)get64(q + 8);
	ev->source_len = get16(q + 16);
	ev->source = (const char *)q + 18;
	q += 18 + ev->source_len;
	ev->line_len = get32(q);
	ev->line = (const char *)q + 4;
	it->p = q + 4 + ev->line_len;
	it->remaining--;
	return 1;
}

/* --- small messages --------------------------------------------------- */

int
ms_ack_encode(struct ms_buf *out, uint64_t seq)
{
	uint8_t p[8];
	put64(p, seq);
	return frame_add(out, MS_MSG_ACK, p, sizeof(p));
}

int
ms_ack_decode(const uint8_t *p, size_t len, uint64_t *seq)
{
	if (len != 8)
		return MS_PROTO_MALFORMED;
	*seq = get64(p);
	return 0;
}

int
ms_heartbeat_encode(struct ms_buf *out, int64_t time_ms)
{
	uint8_t p[8];
	put64(p, (uint64_t)time_ms);
	return frame_add(out, MS_MSG_HEARTBEAT, p, sizeof(p));
}

int
ms_heartbeat_decode(const uint8_t *p, size_t len, int64_t *time_ms)
{
	if (len != 8)
		return MS_PROTO_MALFORMED;
	*time_ms = (int64_t)get64(p);
	return 0;
}

int
ms_error_encode(struct ms_buf *out, uint16_t code, const char *reason)
{
	uint8_t p[2 + 256];
	size_t rl = strnlen(reason, 256);

	put16(p, code);
	memcpy(p + 2, reason, rl);
	return frame_add(out, MS_MSG_ERROR, p, 2 + rl);
}

int
ms_error_decode(const uint8_t *p, size_t len, uint16_t *code, char *reasonbuf, size_t reasonsz)
{
	if (len < 2)
		return MS_PROTO_MALFORMED;
	*code = get16(p);
	hello_str(reasonbuf, reasonsz, p + 2, len - 2);
	return 0;
}

/* --- health telemetry -------------------------------------------------- */

bool
ms_health_key_ok(const char *key, size_t len)
{
	if (len == 0 || len > MS_HEALTH_MAX_KEY)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = key[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

bool
ms_health_value_ok(const char *value, size_t len)
{
	if (len > MS_HEALTH_MAX_VALUE)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return false;
	return true;
}

size_t
ms_health_item_size(size_t key_len, size_t value_len)
{
	return MS_HEALTH_ITEM_OVERHEAD + key_len + value_len;
}

int
ms_health_encode(struct ms_buf *out, const struct ms_kv *kv, size_t n)
{
	uint8_t hdr[MS_PROTO_HDR_LEN], cnt[2], vl[2];
	size_t mark = out->len, len = 2;

	if (n > MS_HEALTH_MAX_ITEMS)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!ms_health_key_ok(kv[i].key, kv[i].key_len) ||
		    !ms_health_value_ok(kv[i].value, kv[i].value_len))
			return -1;
		len += ms_health_item_size(kv[i].key_len, kv[i].value_len);
	}
	ms_proto_hdr_write(hdr, MS_MSG_HEALTH, (uint32_t)len);
	put16(cnt, (uint16_t)n);
	if (ms_buf_add(out, hdr, sizeof(hdr)) < 0 || ms_buf_add(out, cnt, sizeof(cnt)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		uint8_t kl = (uint8_t)kv[i].key_len;

		put16(vl, (uint16_t)kv[i].value_len);
		if (ms_buf_add(out, &kl, 1) < 0 || ms_buf_add(out, kv[i].key, kv[i].key_len) < 0 ||
		    ms_buf_add(out, vl, sizeof(vl)) < 0 ||
		    ms_buf_add(out, kv[i].value, kv[i].value_len) < 0)
			goto fail;
	}
	return 0;
fail:
	/* Roll back so what out held before stays valid. */
	out->len = mark;
	out->toobig = false;
	return -1;
}

int
ms_health_open(struct ms_health_iter *it, const uint8_t *p, size_t len, uint32_t *count,
    const char **why)
{
	const uint8_t *q, *end = p + len;
	const uint8_t *keys[MS_HEALTH_MAX_ITEMS];
	uint32_t n;

	*why = "ok";
	if (len < 2) {
		*why = "truncated";
		return MS_PROTO_MALFORMED;
	}
	n = get16(p);
	q = p + 2;
	if (n > MS_HEALTH_MAX_ITEMS) {
		*why = "too_many_items";
		return MS_PROTO_MALFORMED;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint8_t kl;
		uint16_t vl;

		if (end - q < 1) {
			*why = "truncated";
			return MS_PROTO_MALFORMED;
		}
		kl = q[0];
		if (kl == 0 || kl > MS_HEALTH_MAX_KEY) {
			*why = "bad_key_length";
			return MS_PROTO_MALFORMED;
		}
		/* The key and the value's length field must both be there. */
		if ((size_t)(end - q) < 1 + (size_t)kl + 2) {
			*why = "truncated";
			return MS_PROTO_MALFORMED;
		}
		if (!ms_health_key_ok((const char *)q + 1, kl)) {
			*why = "bad_key";
			return MS_PROTO_MALFORMED;
		}
		/* Unique keys: at most 256 of at most 64 bytes, a plain scan is enough. */
		for (uint32_t k = 0; k < i; k++) {
			if (keys[k][0] == kl && memcmp(keys[k] + 1, q + 1, kl) == 0) {
				*why = "duplicate_key";
				return MS_PROTO_MALFORMED;
			}
		}
		keys[i] = q;
		q += 1 + kl;
		vl = get16(q);
		q += 2;
		if (vl > MS_HEALTH_MAX_VALUE) {
			*why = "bad_value_length";
			return MS_PROTO_MALFORMED;
		}
		if ((size_t)(end - q) < vl) {
			*why = "truncated";
			return MS_PROTO_MALFORMED;
		}
		if (!ms_health_value_ok((const char *)q, vl)) {
			*why = "bad_value";
			return MS_PROTO_MALFORMED;
		}
		q += vl;
	}
	if (q != end) {
		*why = "trailing_bytes";
		return MS_PROTO_MALFORMED;
	}
	it->p = p + 2;
	it->end = end;
	it->remaining = n;
	*count = n;
	return 0;
}

int
ms_health_next(struct ms_health_iter *it, struct ms_kv *kv)
{
	const uint8_t *q = it->p;

	if (it->remaining == 0)
		return 0;
	kv->key_len = q[0];
	kv->key = (const char *)q + 1;
	q += 1 + kv->key_len;
	kv->value_len = get16(q);
	kv->value = (const char *)q + 2;
	it->p = q + 2 + kv->value_len;
	it->remaining--;
	return 1;
}
