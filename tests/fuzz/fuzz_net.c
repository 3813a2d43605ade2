/*
 * Fuzz target: the packet library (agent/net) on hostile packets. The
 * input is a sequence of records [link type: 1 byte][length: 2 bytes BE]
 * [packet], fed through net_decode, a small flow table (so eviction,
 * scan counters and the DNS/TLS/SSH/HTTP parsers all run on it) and the
 * application parsers directly. The seeds (tests/fuzz/corpus/fuzz_net) are
 * written by tests/net/pcapgen.py --seeds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[] = {
	NET_LINK_ETHERNET, NET_LINK_SLL, NET_LINK_SLL2, NET_LINK_RAW, NET_LINK_NULL,
	NET_LINK_IPV4, NET_LINK_IPV6,
};

static void
sink_cb(const char *line, size_t len, int64_t ts_us, void *arg)
{
	volatile size_t *s = arg;

	/* the line must be a NUL-terminated JSON object */
	if (len == 0 || line[0] != '{' || line[len - 1] != '}' || line[len] != '\0')
		abort();
	*s += len + (size_t)(ts_us & 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	volatile size_t sink = 0;
	struct net_conf c;
	struct net *n;
	int64_t ts = 1700000000000000LL;

	net_conf_defaults(&c);
	c.flow_max = 16;
	c.scan_sources = 8;
	c.attempts_per_window = 4;
	if ((n = net_new(&c, sink_cb, (void *)&sink)) == NULL)
		return 0;
	while (size >= 3) {
		int link = links[data[0] % (sizeof(links) / sizeof(links[0]))];
		size_t len = (size_t)((data[1] << 8) | data[2]);
		uint8_t *pkt;
		struct net_pkt k;
		struct net_dns d;
		struct net_http h;
		char sni[64];

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		/* an exact-size copy, so ASan sees any read past the end */
		if ((pkt = malloc(len ? len : 1)) == NULL)
			break;
		memcpy(pkt, data, len);
		if (net_decode(link, pkt, len, &k) == NET_OK && k.payload != NULL)
			sink += k.payload_len;
		net_packet(n, link, ts, pkt, len, (uint32_t)len);
		/* time jumps of up to a minute: windows and timeouts end mid-input */
		ts += (len ? (int64_t)(pkt[0] & 0x3F) * 1000000 : 0) + 1;
		(void)net_dns_parse(pkt, len, &d);
		(void)net_tls_sni(pkt, len, sni, sizeof(sni));
		(void)net_ssh_banner(pkt, len);
		(void)net_http_request(pkt, len, &h);
		free(pkt);
		data += len;
		size -= len;
	}
	net_flush(n);
	net_free(n);
	return 0;
}
