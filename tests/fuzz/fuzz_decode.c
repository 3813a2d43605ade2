/*
 * Fuzz target for collector/decoders: decode_line() on any bytes.
 *
 * The input is copied to a heap buffer of exactly size bytes so ASan
 * reports any read past the line, and every returned slice is checked to
 * lie inside that buffer and then read byte by byte, so a slice with a
 * wrong length is caught even when the decoder itself never touched it.
 * The auditd record cache lives across inputs, as in the collector, so
 * records of earlier inputs enrich later ones (and fill and wrap the cache).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the byte sums alive so the reads are not optimised away. */
static volatile unsigned fuzz_decode_sink;

static bool
fuzz_decode_inside(struct ms_str s, const char *lo, size_t len)
{
	uintptr_t b = (uintptr_t)lo, p = (uintptr_t)s.p;

	return s.p != NULL && p >= b && s.len <= len && p - b <= len - s.len;
}

/* s must lie in the line or in the used part of d's scratch area. */
static unsigned
fuzz_decode_touch(struct ms_str s, const char *buf, size_t len, const struct decoded *d)
{
	unsigned sum = 0;

	if (!fuzz_decode_inside(s, buf, len) &&
	    !fuzz_decode_inside(s, d->scratch, d->scratch_used))
		abort();
	for (size_t i = 0; i < s.len; i++)
		sum += (unsigned char)s.p[i];
	return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 2025-11-25T16:34:50Z read by an agent at UTC+7; times capped 5 s on, as the collector does */
	static struct decode_ctx ctx = { INT64_C(1764088490000), 25200, NULL, NULL,
	    INT64_C(1764088495000) };
	struct decoded d;
	char *buf = malloc(size > 0 ? size : 1);
	unsigned sum = 0;

	if (buf == NULL)
		return 0;
	if (ctx.auditd == NULL && (ctx.auditd = decode_auditd_cache_new()) == NULL)
		abort();
	/*
	 * 64 agents by the input's last byte: the same serials from each are
	 * different events, and the cache's sets and per-agent limits are
	 * shared, filled and taken back among them
	 */
	static const char *const agents[64] = { "agent-a", "agent-b", "a2", "a3", "a4", "a5",
		"a6", "a7", "a8", "a9", "a10", "a11", "a12", "a13", "a14", "a15", "a16", "a17",
		"a18", "a19", "a20", "a21", "a22", "a23", "a24", "a25", "a26", "a27", "a28", "a29",
		"a30", "a31", "a32", "a33", "a34", "a35", "a36", "a37", "a38", "a39", "a40", "a41",
		"a42", "a43", "a44", "a45", "a46", "a47", "a48", "a49", "a50", "a51", "a52", "a53",
		"a54", "a55", "a56", "a57", "a58", "a59", "a60", "a61", "a62", "a63" };
	ctx.agent_id = agents[size > 0 ? data[size - 1] % 64 : 0];
	if (size > 0)
		memcpy(buf, data, size);
	decode_line(buf, size, &ctx, &d);

	sum += fuzz_decode_touch(d.host, buf, size, &d);
	sum += fuzz_decode_touch(d.app, buf, size, &d);
	sum += fuzz_decode_touch(d.pid, buf, size, &d);
	sum += fuzz_decode_touch(d.msgid, buf, size, &d);
	sum += fuzz_decode_touch(d.msg, buf, size, &d);
	sum += fuzz_decode_touch(d.user, buf, size, &d);
	sum += fuzz_decode_touch(d.method, buf, size, &d);
	sum += fuzz_decode_touch(d.src_ip, buf, size, &d);
	sum += (unsigned)strlen(decode_sshd_action_name(d.sshd_action));

	/* Lines nothing decoded: the whole line, receive time, no PRI. */
	if (d.fmt == DECODE_SYSLOG_NONE && d.product == NULL && d.category == NULL &&
	    (d.msg.p != buf || d.time_ms != ctx.recv_ms || d.facility != -1))
		abort();
	if (!d.time_from_line && d.time_ms != ctx.recv_ms)
		abort();
	/* never later than the cap; at it exactly when capped */
	if (d.time_ms > ctx.max_time_ms || (d.time_capped && d.time_ms != ctx.max_time_ms))
		abort();
	if (d.nfields > DECODE_MAX_FIELDS || d.scratch_used > DECODE_SCRATCH)
		abort();
	for (unsigned i = 0; i < d.nfields; i++) {
		if (d.fields[i].name == NULL)
			abort();
		sum += (unsigned)strlen(d.fields[i].name);
		/* every name is found, and the first field of that name wins */
		{
			const struct ms_str *v = decode_field_get(&d, d.fields[i].name);
			unsigned first = 0;

			while (strcmp(d.fields[first].name, d.fields[i].name) != 0)
				first++;
			if (v != &d.fields[first].value)
				abort();
		}
		/* values are slices of the line, of scratch, or static strings */
		for (size_t k = 0; k < d.fields[i].value.len; k++)
			sum += (unsigned char)d.fields[i].value.p[k];
	}
	if (d.msg.len > DECODE_MAX_LINE || d.repeat < 1 || d.src_port < 0 ||
	    d.src_port > 65535)
		abort();
	if (d.sshd_action != DECODE_SSHD_NONE && d.src_ip.len == 0)
		abort();

	fuzz_decode_sink += sum;
	free(buf);
	return 0;
}
