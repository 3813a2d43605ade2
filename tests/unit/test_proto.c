/* Unit tests of the wire protocol: frames, hello, batches, small messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ms_proto.h"
#include "ms_util.h"

static const uint8_t *
payload_of(const struct ms_buf *b, struct ms_frame_hdr *h)
{
	assert_int_equal(ms_proto_hdr_parse((const uint8_t *)b->data, b->len, MS_PROTO_MAX_FRAME, h),
	    MS_PROTO_OK);
	assert_int_equal(b->len, MS_PROTO_HDR_LEN + h->len);
	return (const uint8_t *)b->data + MS_PROTO_HDR_LEN;
}

static void
test_header_roundtrip(void **state)
{
	uint8_t hdr[MS_PROTO_HDR_LEN];
	struct ms_frame_hdr h;

	ms_proto_hdr_write(hdr, MS_MSG_BATCH, 1234);
	assert_memory_equal(hdr, "MSOC\x01\x02\x00\x00\x00\x00\x04\xd2", 12);
	assert_int_equal(ms_proto_hdr_parse(hdr, sizeof(hdr), MS_PROTO_MAX_FRAME, &h), MS_PROTO_OK);
	assert_int_equal(h.type, MS_MSG_BATCH);
	assert_int_equal(h.len, 1234);
}

static void
test_header_errors(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		uint32_t cap;
		int rc;
	} cases[] = {
		{ "MSOC\x01\x02\x00\x00\x00\x00", 10, 1024, MS_PROTO_NEED_MORE },	/* truncated */
		{ "MS", 2, 1024, MS_PROTO_NEED_MORE },
		{ "XS", 2, 1024, MS_PROTO_BAD_MAGIC },	/* garbage rejected early */
		{ "GET / HTTP/1.1\r\n", 16, 1024, MS_PROTO_BAD_MAGIC },
		{ "MSOC\x02\x02\x00\x00\x00\x00\x00\x01", 12, 1024, MS_PROTO_BAD_VERSION },
		{ "MSOC\x01\x09\x00\x00\x00\x00\x00\x01", 12, 1024, MS_PROTO_BAD_TYPE },
		{ "MSOC\x01\x00\x00\x00\x00\x00\x00\x01", 12, 1024, MS_PROTO_BAD_TYPE },
		{ "MSOC\x01\x07\x00\x00\x00\x00\x00\x01", 12, 1024, MS_PROTO_BAD_TYPE },
		{ "MSOC\x01\x06\x00\x00\x00\x00\x00\x02", 12, 1024, MS_PROTO_OK },	/* health */
		{ "MSOC\x01\x02\x00\x01\x00\x00\x00\x01", 12, 1024, MS_PROTO_BAD_FLAGS },
		{ "MSOC\x01\x02\x00\x00\x00\x00\x04\x01", 12, 1024, MS_PROTO_TOO_BIG },	/* 1025 > cap */
		{ "MSOC\x01\x02\x00\x00\xff\xff\xff\xff", 12, 0xffffffffu, MS_PROTO_TOO_BIG }, /* hard cap */
		{ "MSOC\x01\x02\x00\x00\x00\x00\x04\x00", 12, 1024, MS_PROTO_OK },	/* exactly the cap */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_frame_hdr h;
		int rc = ms_proto_hdr_parse((const uint8_t *)cases[i].bytes, cases[i].len,
		    cases[i].cap, &h);
		if (rc != cases[i].rc)
			fail_msg("case %zu: got %d (%s), want %d", i, rc, ms_proto_strerror(rc),
			    cases[i].rc);
	}
}

static void
test_hello_roundtrip(void **state)
{
	struct ms_buf b;
	struct ms_hello in, out;
	struct ms_frame_hdr h;
	const uint8_t *p;

	memset(&in, 0, sizeof(in));
	snprintf(in.agent_version, sizeof(in.agent_version), "0.1.0");
	snprintf(in.hostname, sizeof(in.hostname), "web1.example");
	snprintf(in.os, sizeof(in.os), "Linux 6.1 x86_64");
	snprintf(in.boot_id, sizeof(in.boot_id), "abc");
	in.tz_offset_s = 7 * 3600;
	ms_buf_init(&b, 4096);
	assert_int_equal(ms_hello_encode(&b, &in), 0);
	p = payload_of(&b, &h);
	assert_int_equal(h.type, MS_MSG_HELLO);
	assert_int_equal(ms_hello_decode(p, h.len, &out), 0);
	assert_string_equal(out.hostname, "web1.example");
	assert_string_equal(out.agent_version, "0.1.0");
	assert_string_equal(out.os, "Linux 6.1 x86_64");
	assert_int_equal(out.tz_offset_s, 7 * 3600);
	ms_buf_fini(&b);
}

static void
test_hello_hostile(void **state)
{
	struct ms_hello out;
	/* Unknown tag 99 skipped; control bytes in the host name replaced. */
	static const uint8_t ok[] = { 99, 0, 2, 'x', 'y', 2, 0, 3, 'a', '\n', 'b' };
	static const uint8_t trunc[] = { 2, 0, 9, 'a' };	/* value longer than payload */
	static const uint8_t half[] = { 2, 0 };			/* TLV header cut */
	static const uint8_t badtz[] = { 4, 0, 2, 0, 1 };	/* tz must be 4 bytes */
	static const uint8_t hugetz[] = { 4, 0, 4, 0x7f, 0xff, 0xff, 0xff };
	uint8_t longname[3 + 1000];

	assert_int_equal(ms_hello_decode(ok, sizeof(ok), &out), 0);
	assert_string_equal(out.hostname, "a?b");
	assert_int_equal(ms_hello_decode(trunc, sizeof(trunc), &out), MS_PROTO_MALFORMED);
	assert_int_equal(ms_hello_decode(half, sizeof(half), &out), MS_PROTO_MALFORMED);
	assert_int_equal(ms_hello_decode(badtz, sizeof(badtz), &out), MS_PROTO_MALFORMED);
	assert_int_equal(ms_hello_decode(hugetz, sizeof(hugetz), &out), MS_PROTO_MALFORMED);
	longname[0] = 2;
	longname[1] = 1000 >> 8;
	longname[2] = 1000 & 0xff;
	memset(longname + 3, 'h', 1000);
	assert_int_equal(ms_hello_decode(longname, sizeof(longname), &out), 0);
	assert_int_equal(strlen(out.hostname), sizeof(out.hostname) - 1);
}

static void
build_batch(struct ms_buf *b, int n, uint64_t first_seq)
{
	size_t start;
	char line[64];

	assert_int_equal(ms_batch_begin(b, &start), 0);
	for (int i = 0; i < n; i++) {
		struct ms_wire_event ev = { .seq = first_seq + (uint64_t)i, .time_ms = 1000 + i,
			.source = "/var/log/auth.log", .source_len = 17, .line = line };
		ev.line_len = (size_t)snprintf(line, sizeof(line), "line %d", i);
		assert_int_equal(ms_batch_add(b, &ev), 0);
	}
	ms_batch_finish(b, start, (uint32_t)n);
}

static void
test_batch_roundtrip(void **state)
{
	struct ms_buf b;
	struct ms_frame_hdr h;
	struct ms_batch_iter it;
	struct ms_wire_event ev;
	uint32_t count;
	const uint8_t *p;
	int n = 0;

	ms_buf_init(&b, MS_PROTO_MAX_FRAME);
	build_batch(&b, 100, 41);
	p = payload_of(&b, &h);
	assert_int_equal(h.type, MS_MSG_BATCH);
	assert_int_equal(ms_batch_open(&it, p, h.len, &count), 0);
	assert_int_equal(count, 100);
	while (ms_batch_next(&it, &ev) == 1) {
		char want[64];
		int wl = snprintf(want, sizeof(want), "line %d", n);
		assert_int_equal(ev.seq, 41 + n);
		assert_int_equal(ev.time_ms, 1000 + n);
		assert_int_equal(ev.source_len, 17);
		assert_memory_equal(ev.source, "/var/log/auth.log", 17);
		assert_int_equal(ev.line_len, wl);
		assert_memory_equal(ev.line, want, (size_t)wl);
		n++;
	}
	assert_int_equal(n, 100);
	ms_buf_fini(&b);
}

static void
test_batch_cap(void **state)
{
	struct ms_buf b;
	size_t start;
	char big[2000];
	struct ms_wire_event ev = { .seq = 1, .source = "s", .source_len = 1, .line = big,
		.line_len = sizeof(big) };
	int added = 0;

	memset(big, 'x', sizeof(big));
	ms_buf_init(&b, 5000);
	assert_int_equal(ms_batch_begin(&b, &start), 0);
	while (ms_batch_add(&b, &ev) == 0) {
		ev.seq++;
		added++;
	}
	/* The failed add rolled back: the frame stays valid. */
	assert_int_equal(added, 2);
	assert_false(b.toobig);
	ms_batch_finish(&b, start, (uint32_t)added);
	{
		struct ms_frame_hdr h;
		struct ms_batch_iter it;
		uint32_t count;
		const uint8_t *p = payload_of(&b, &h);
		assert_int_equal(ms_batch_open(&it, p, h.len, &count), 0);
		assert_int_equal(count, 2);
	}
	/* A line over the protocol's limit is refused outright. */
	ev.line_len = MS_PROTO_MAX_LINE + 1;
	assert_int_equal(ms_batch_add(&b, &ev), -1);
	ms_buf_fini(&b);
}

static void
test_batch_malformed(void **state)
{
	struct ms_buf b;
	struct ms_frame_hdr h;
	struct ms_batch_iter it;
	uint32_t count;
	uint8_t *p, *copy;
	size_t len;

	ms_buf_init(&b, MS_PROTO_MAX_FRAME);
	build_batch(&b, 3, 10);
	p = (uint8_t *)b.data + MS_PROTO_HDR_LEN;
	len = b.len - MS_PROTO_HDR_LEN;
	(void)h;
	/* Every truncation of a valid batch is rejected. */
	for (size_t cut = 0; cut < len; cut++) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, p, cut);
		if (ms_batch_open(&it, copy, cut, &count) == 0)
			fail_msg("truncated batch of %zu/%zu bytes accepted", cut, len);
		free(copy);
	}
	/* Trailing garbage. */
	copy = malloc(len + 1);
	memcpy(copy, p, len);
	copy[len] = 0;
	assert_int_equal(ms_batch_open(&it, copy, len + 1, &count), MS_PROTO_MALFORMED);
	/* Count larger than what the bytes could hold. */
	memcpy(copy, p, len);
	copy[0] = 0xff;
	assert_int_equal(ms_batch_open(&it, copy, len, &count), MS_PROTO_MALFORMED);
	/* Zero events. */
	memcpy(copy, p, len);
	copy[0] = copy[1] = copy[2] = copy[3] = 0;
	assert_int_equal(ms_batch_open(&it, copy, len, &count), MS_PROTO_MALFORMED);
	/* Sequence numbers going backwards: the 2nd event gets seq 5 (< 10). */
	memcpy(copy, p, len);
	{
		size_t ev1 = 4 + 8 + 8 + 2 + 17 + 4 + 6;	/* first event: "line 0" */
		memset(copy + ev1, 0, 8);
		copy[ev1 + 7] = 5;
	}
	assert_int_equal(ms_batch_open(&it, copy, len, &count), MS_PROTO_MALFORMED);
	/* A line length that points past the end. */
	memcpy(copy, p, len);
	copy[4 + 8 + 8 + 2 + 17] = 0x7f;
	assert_int_equal(ms_batch_open(&it, copy, len, &count), MS_PROTO_MALFORMED);
	free(copy);
	ms_buf_fini(&b);
}

static void
test_small_messages(void **state)
{
	struct ms_buf b;
	struct ms_frame_hdr h;
	const uint8_t *p;
	uint64_t seq;
	int64_t t;
	uint16_t code;
	char reason[64];

	ms_buf_init(&b, 4096);
	assert_int_equal(ms_ack_encode(&b, 0x0102030405060708ull), 0);
	p = payload_of(&b, &h);
	assert_int_equal(h.type, MS_MSG_ACK);
	assert_int_equal(ms_ack_decode(p, h.len, &seq), 0);
	assert_true(seq == 0x0102030405060708ull);
	assert_int_equal(ms_ack_decode(p, 7, &seq), MS_PROTO_MALFORMED);
	ms_buf_reset(&b);

	assert_int_equal(ms_heartbeat_encode(&b, -5), 0);
	p = payload_of(&b, &h);
	assert_int_equal(ms_heartbeat_decode(p, h.len, &t), 0);
	assert_int_equal(t, -5);
	ms_buf_reset(&b);

	assert_int_equal(ms_error_encode(&b, MS_ERR_TOO_BIG, "frame_too_big"), 0);
	p = payload_of(&b, &h);
	assert_int_equal(h.type, MS_MSG_ERROR);
	assert_int_equal(ms_error_decode(p, h.len, &code, reason, sizeof(reason)), 0);
	assert_int_equal(code, MS_ERR_TOO_BIG);
	assert_string_equal(reason, "frame_too_big");
	assert_int_equal(ms_error_decode(p, 1, &code, reason, sizeof(reason)), MS_PROTO_MALFORMED);
	ms_buf_fini(&b);
}

/* --- health telemetry ------------------------------------------------- */

static struct ms_kv
kv_make(const char *k, const char *v)
{
	struct ms_kv kv = { k, strlen(k), v, strlen(v) };
	return kv;
}

static void
test_health_roundtrip(void **state)
{
	struct ms_buf b;
	struct ms_frame_hdr h;
	struct ms_health_iter it;
	struct ms_kv got;
	const char *why = NULL;
	uint32_t count;
	const uint8_t *p;
	const struct ms_kv in[] = {
		kv_make("hostname", "web1.example"),
		kv_make("file.0.path", "/var/log/auth log \xc3\xa9"),	/* space, UTF-8 */
		kv_make("empty", ""),
		kv_make("clock.synced", "1"),
	};

	(void)state;
	ms_buf_init(&b, MS_PROTO_MAX_FRAME);
	assert_int_equal(ms_health_encode(&b, in, MS_ARRAY_LEN(in)), 0);
	p = payload_of(&b, &h);
	assert_int_equal(h.type, MS_MSG_HEALTH);
	assert_string_equal(ms_proto_type_name(h.type), "health");
	assert_int_equal(ms_health_open(&it, p, h.len, &count, &why), 0);
	assert_int_equal(count, MS_ARRAY_LEN(in));
	for (size_t i = 0; i < MS_ARRAY_LEN(in); i++) {
		assert_int_equal(ms_health_next(&it, &got), 1);
		assert_int_equal(got.key_len, in[i].key_len);
		assert_memory_equal(got.key, in[i].key, got.key_len);
		assert_int_equal(got.value_len, in[i].value_len);
		if (got.value_len)
			assert_memory_equal(got.value, in[i].value, got.value_len);
	}
	assert_int_equal(ms_health_next(&it, &got), 0);

	/* An empty report is valid. */
	ms_buf_reset(&b);
	assert_int_equal(ms_health_encode(&b, NULL, 0), 0);
	p = payload_of(&b, &h);
	assert_int_equal(h.len, 2);
	assert_int_equal(ms_health_open(&it, p, h.len, &count, &why), 0);
	assert_int_equal(count, 0);
	assert_int_equal(ms_health_next(&it, &got), 0);
	ms_buf_fini(&b);
}

/* The limits themselves pass; one past any of them does not. */
static void
test_health_limits(void **state)
{
	static struct ms_kv many[MS_HEALTH_MAX_ITEMS + 1];
	static char keys[MS_HEALTH_MAX_ITEMS + 1][16];
	char big[MS_HEALTH_MAX_VALUE + 2], key[MS_HEALTH_MAX_KEY + 2];
	struct ms_buf b;
	struct ms_frame_hdr h;
	struct ms_health_iter it;
	const char *why;
	uint32_t count;
	const uint8_t *p;
	size_t want = 2;
	struct ms_kv one;

	(void)state;
	memset(big, 'v', sizeof(big));
	big[MS_HEALTH_MAX_VALUE] = '\0';
	memset(key, 'k', sizeof(key));
	key[MS_HEALTH_MAX_KEY] = '\0';
	for (size_t i = 0; i < MS_HEALTH_MAX_ITEMS + 1; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		many[i] = kv_make(keys[i], big);
	}
	many[0] = kv_make(key, big);
	for (size_t i = 0; i < MS_HEALTH_MAX_ITEMS; i++)
		want += ms_health_item_size(many[i].key_len, many[i].value_len);
	ms_buf_init(&b, MS_PROTO_MAX_FRAME);
	assert_int_equal(ms_health_encode(&b, many, MS_HEALTH_MAX_ITEMS), 0);
	p = payload_of(&b, &h);
	assert_int_equal(h.len, want);
	assert_true(h.len <= MS_HEALTH_MAX_PAYLOAD);
	assert_int_equal(ms_health_open(&it, p, h.len, &count, &why), 0);
	assert_int_equal(count, MS_HEALTH_MAX_ITEMS);

	/* The encoder refuses what the decoder would, and adds nothing. */
	ms_buf_reset(&b);
	assert_int_equal(ms_health_encode(&b, many, MS_HEALTH_MAX_ITEMS + 1), -1);
	assert_int_equal(b.len, 0);
	big[MS_HEALTH_MAX_VALUE] = 'v';
	big[MS_HEALTH_MAX_VALUE + 1] = '\0';
	one = kv_make("k", big);
	assert_int_equal(ms_health_encode(&b, &one, 1), -1);
	key[MS_HEALTH_MAX_KEY] = 'k';
	key[MS_HEALTH_MAX_KEY + 1] = '\0';
	one = kv_make(key, "v");
	assert_int_equal(ms_health_encode(&b, &one, 1), -1);
	one = kv_make("", "v");
	assert_int_equal(ms_health_encode(&b, &one, 1), -1);
	one = kv_make("Upper", "v");
	assert_int_equal(ms_health_encode(&b, &one, 1), -1);
	one = kv_make("k", "line\nbreak");
	assert_int_equal(ms_health_encode(&b, &one, 1), -1);
	assert_int_equal(b.len, 0);
	/* A cap too small: rolled back. */
	{
		struct ms_buf small;
		ms_buf_init(&small, 20);
		one = kv_make("hostname", "a-rather-long-host-name");
		assert_int_equal(ms_health_encode(&small, &one, 1), -1);
		assert_int_equal(small.len, 0);
		ms_buf_fini(&small);
	}
	ms_buf_fini(&b);
}

/* Hand-made payloads: every way a report can be wrong, with its reason. */
static void
test_health_malformed(void **state)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
		const char *why;	/* NULL: valid */
	} cases[] = {
		{ "valid", "\x00\x01\x01k\x00\x01v", 7, NULL },
		{ "empty payload", "", 0, "truncated" },
		{ "half a count", "\x00", 1, "truncated" },
		{ "count without items", "\x00\x01", 2, "truncated" },
		{ "count lie", "\x00\x02\x01k\x00\x01v", 7, "truncated" },
		{ "too many items", "\x01\x01", 2, "too_many_items" },
		{ "count 0xffff", "\xff\xff", 2, "too_many_items" },
		{ "zero key length", "\x00\x01\x00\x00\x01v", 6, "bad_key_length" },
		{ "key length 65", "\x00\x01\x41", 3, "bad_key_length" },
		{ "key past the end", "\x00\x01\x05ke", 5, "truncated" },
		{ "no value length", "\x00\x01\x01k", 4, "truncated" },
		{ "half a value length", "\x00\x01\x01k\x00", 5, "truncated" },
		{ "upper-case key", "\x00\x01\x01K\x00\x00", 6, "bad_key" },
		{ "key with a space", "\x00\x01\x02k \x00\x00", 7, "bad_key" },
		{ "key with a NUL", "\x00\x01\x02k\x00\x00\x00", 7, "bad_key" },
		{ "key with a dash", "\x00\x01\x02k-\x00\x00", 7, "bad_key" },
		{ "value length 1025", "\x00\x01\x01k\x04\x01", 6, "bad_value_length" },
		{ "value past the end", "\x00\x01\x01k\x00\x05vv", 8, "truncated" },
		{ "value with a newline", "\x00\x01\x01k\x00\x02v\n", 8, "bad_value" },
		{ "value with a NUL", "\x00\x01\x01k\x00\x02v\x00", 8, "bad_value" },
		{ "value with DEL", "\x00\x01\x01k\x00\x01\x7f", 7, "bad_value" },
		{ "value with ESC", "\x00\x01\x01k\x00\x01\x1b", 7, "bad_value" },
		{ "duplicate key", "\x00\x02\x01k\x00\x00\x01k\x00\x00", 10, "duplicate_key" },
		{ "prefix is not a duplicate", "\x00\x02\x01k\x00\x00\x02kk\x00\x00", 11, NULL },
		{ "trailing byte", "\x00\x01\x01k\x00\x01vX", 8, "trailing_bytes" },
		{ "trailing after zero items", "\x00\x00\x00", 3, "trailing_bytes" },
		{ "UTF-8 and high bytes pass", "\x00\x01\x01k\x00\x03\xc3\xa9\xff", 9, NULL },
	};

	(void)state;
	for (size_t i = 0; i < MS_ARRAY_LEN(cases); i++) {
		struct ms_health_iter it;
		const char *why = NULL;
		uint32_t count = 0;
		/* A copy of exactly len bytes, so ASan sees any read past it. */
		uint8_t *copy = malloc(cases[i].len ? cases[i].len : 1);
		int rc;

		memcpy(copy, cases[i].bytes, cases[i].len);
		rc = ms_health_open(&it, copy, cases[i].len, &count, &why);
		free(copy);
		if (cases[i].why == NULL && rc != 0)
			fail_msg("case \"%s\": rejected (%s)", cases[i].name, why);
		if (cases[i].why != NULL && (rc != MS_PROTO_MALFORMED || strcmp(why, cases[i].why) != 0))
			fail_msg("case \"%s\": got rc %d why %s, want %s", cases[i].name, rc,
			    why ? why : "-", cases[i].why);
	}
}

/* Every truncation of a valid report is rejected, never read past. */
static void
test_health_truncations(void **state)
{
	struct ms_buf b;
	struct ms_frame_hdr h;
	struct ms_health_iter it;
	const char *why;
	uint32_t count;
	const uint8_t *p;
	const struct ms_kv in[] = {
		kv_make("hostname", "web1"), kv_make("kernel", "6.1.0-18-amd64"),
		kv_make("count.lines_read", "12345"),
	};

	(void)state;
	ms_buf_init(&b, 4096);
	assert_int_equal(ms_health_encode(&b, in, MS_ARRAY_LEN(in)), 0);
	p = payload_of(&b, &h);
	for (size_t cut = 0; cut < h.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, p, cut);
		if (ms_health_open(&it, copy, cut, &count, &why) == 0)
			fail_msg("truncated report of %zu/%u bytes accepted", cut, h.len);
		free(copy);
	}
	ms_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_hello_hostile),
		cmocka_unit_test(test_batch_roundtrip),
		cmocka_unit_test(test_batch_cap),
		cmocka_unit_test(test_batch_malformed),
		cmocka_unit_test(test_small_messages),
		cmocka_unit_test(test_health_roundtrip),
		cmocka_unit_test(test_health_limits),
		cmocka_unit_test(test_health_malformed),
		cmocka_unit_test(test_health_truncations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
