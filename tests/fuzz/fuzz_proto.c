/*
 * Fuzz target: everything the collector does with bytes from an agent
 * before and after authentication – frame headers, hello, batches, acks,
 * heartbeats, errors, health reports – on a stream of frames as it arrives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	volatile unsigned sink = 0;

	while (size > 0) {
		struct ms_frame_hdr h;
		const uint8_t *p;
		int rc = ms_proto_hdr_parse(data, size, 65536, &h);

		if (rc != MS_PROTO_OK || size < MS_PROTO_HDR_LEN + (size_t)h.len)
			break;
		p = data + MS_PROTO_HDR_LEN;
		switch (h.type) {
		case MS_MSG_HELLO: {
			struct ms_hello hello;
			if (ms_hello_decode(p, h.len, &hello) == 0)
				sink += (unsigned)strlen(hello.hostname) + (unsigned)strlen(hello.os);
			break;
		}
		case MS_MSG_BATCH: {
			struct ms_batch_iter it;
			struct ms_wire_event ev;
			uint32_t count;
			if (ms_batch_open(&it, p, h.len, &count) == 0) {
				while (ms_batch_next(&it, &ev) == 1) {
					/* Touch both ends of every slice. */
					if (ev.line_len)
						sink += (unsigned char)ev.line[0] + (unsigned char)ev.line[ev.line_len - 1];
					if (ev.source_len)
						sink += (unsigned char)ev.source[ev.source_len - 1];
				}
			}
			break;
		}
		case MS_MSG_ACK: {
			uint64_t seq;
			if (ms_ack_decode(p, h.len, &seq) == 0)
				sink += (unsigned)seq;
			break;
		}
		case MS_MSG_HEARTBEAT: {
			int64_t t;
			if (ms_heartbeat_decode(p, h.len, &t) == 0)
				sink += (unsigned)t;
			break;
		}
		case MS_MSG_HEALTH: {
			struct ms_health_iter it;
			struct ms_kv kv;
			const char *why;
			uint32_t count;
			if (ms_health_open(&it, p, h.len, &count, &why) == 0) {
				while (ms_health_next(&it, &kv) == 1) {
					sink += (unsigned char)kv.key[0] + (unsigned char)kv.key[kv.key_len - 1];
					if (kv.value_len)
						sink += (unsigned char)kv.value[0] +
						    (unsigned char)kv.value[kv.value_len - 1];
				}
			} else {
				sink += (unsigned)strlen(why);
			}
			break;
		}
		case MS_MSG_ERROR: {
			uint16_t code;
			char reason[128];
			if (ms_error_decode(p, h.len, &code, reason, sizeof(reason)) == 0)
				sink += code + (unsigned)strlen(reason);
			break;
		}
		}
		data += MS_PROTO_HDR_LEN + h.len;
		size -= MS_PROTO_HDR_LEN + h.len;
	}
	(void)sink;
	return 0;
}
