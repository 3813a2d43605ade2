/*
 * test_net – the packet library (agent/net): header decoding on every link
 * type, length checks on cut and corrupt packets, DNS/TLS/SSH/HTTP parsers,
 * the flow table's events, its bound and the scan counters.
 * Packets are built here byte by byte; the pcap files of the end-to-end
 * tests come from tests/net/pcapgen.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net.h"

/* --- packet builder ----------------------------------------------------- */

struct pb {
	uint8_t b[2048];
	size_t n;
};

static void
put(struct pb *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
put16(struct pb *p, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(p, b, 2);
}

static void
put32(struct pb *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

static void
eth(struct pb *p, uint16_t type)
{
	static const uint8_t macs[12] = { 0x52, 0x54, 0, 1, 2, 3, 0x52, 0x54, 0, 4, 5, 6 };
	put(p, macs, 12);
	put16(p, type);
}

/* IPv4 header for a payload of len bytes. */
static void
ipv4(struct pb *p, uint8_t proto, const char *src, const char *dst, size_t len, uint16_t frag)
{
	unsigned a[4], b[4];
	uint8_t h[20] = { 0x45, 0 };

	assert_int_equal(sscanf(src, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]), 4);
	assert_int_equal(sscanf(dst, "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]), 4);
	h[2] = (uint8_t)((20 + len) >> 8);
	h[3] = (uint8_t)(20 + len);
	h[6] = (uint8_t)(frag >> 8);
	h[7] = (uint8_t)frag;
	h[8] = 64;
	h[9] = proto;
	for (int i = 0; i < 4; i++) {
		h[12 + i] = (uint8_t)a[i];
		h[16 + i] = (uint8_t)b[i];
	}
	put(p, h, 20);
}

static void
tcph(struct pb *p, uint16_t sp, uint16_t dp, uint8_t flags)
{
	put16(p, sp);
	put16(p, dp);
	put32(p, 1);
	put32(p, 0);
	put16(p, (uint16_t)(0x5000 | flags));
	put16(p, 65535);
	put32(p, 0);
}

/* An Ethernet + IPv4 + TCP packet with data. */
static struct pb
tcp4(const char *src, const char *dst, uint16_t sp, uint16_t dp, uint8_t flags, const void *data,
    size_t dlen)
{
	struct pb p = { .n = 0 };

	eth(&p, 0x0800);
	ipv4(&p, NET_TCP, src, dst, 20 + dlen, 0);
	tcph(&p, sp, dp, flags);
	if (dlen)
		put(&p, data, dlen);
	return p;
}

static struct pb
udp4(const char *src, const char *dst, uint16_t sp, uint16_t dp, const void *data, size_t dlen)
{
	struct pb p = { .n = 0 };

	eth(&p, 0x0800);
	ipv4(&p, NET_UDP, src, dst, 8 + dlen, 0);
	put16(&p, sp);
	put16(&p, dp);
	put16(&p, (uint16_t)(8 + dlen));
	put16(&p, 0);
	put(&p, data, dlen);
	return p;
}

/* --- decoding ----------------------------------------------------------- */

static void
test_decode_ether_tcp(void **state)
{
	struct pb p = tcp4("192.0.2.1", "192.0.2.2", 40000, 443, NET_TH_SYN, "abc", 3);
	struct net_pkt k;
	char a[64];

	(void)state;
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_OK);
	assert_int_equal(k.ipv, 4);
	assert_int_equal(k.proto, NET_TCP);
	assert_int_equal(k.sport, 40000);
	assert_int_equal(k.dport, 443);
	assert_int_equal(k.tcp_flags, NET_TH_SYN);
	assert_int_equal(k.payload_len, 3);
	assert_memory_equal(k.payload, "abc", 3);
	net_addr_fmt(k.src, a, sizeof(a));
	assert_string_equal(a, "192.0.2.1");
	/* Ethernet padding after the IP packet is not payload */
	memset(p.b + p.n, 0, 10);
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n + 10, &k), NET_OK);
	assert_int_equal(k.payload_len, 3);
}

static void
test_decode_every_cut(void **state)
{
	struct pb p = tcp4("192.0.2.1", "192.0.2.2", 40000, 80, NET_TH_SYN | NET_TH_ACK, "x", 1);
	struct net_pkt k;

	(void)state;
	/* every prefix shorter than the headers is truncated, never read past */
	for (size_t n = 0; n < 14 + 20 + 20; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, p.b, n);
		assert_int_equal(net_decode(NET_LINK_ETHERNET, copy, n, &k), NET_ERR_TRUNCATED);
		free(copy);
	}
	/* headers complete, payload cut: decoded, with what was captured */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, 54, &k), NET_OK);
	assert_int_equal(k.payload_len, 0);
	assert_int_equal(k.wire_payload, 1);
}

static void
test_decode_corrupt(void **state)
{
	struct pb p;
	struct net_pkt k;

	(void)state;
	p = tcp4("192.0.2.1", "192.0.2.2", 1, 2, NET_TH_SYN, NULL, 0);
	p.b[14] = 0x55;	/* version 5 */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_MALFORMED);
	p = tcp4("192.0.2.1", "192.0.2.2", 1, 2, NET_TH_SYN, NULL, 0);
	p.b[14] = 0x43;	/* IHL 3 */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_MALFORMED);
	p = tcp4("192.0.2.1", "192.0.2.2", 1, 2, NET_TH_SYN, NULL, 0);
	p.b[16] = 0;
	p.b[17] = 12;	/* total length below the header */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_MALFORMED);
	p = tcp4("192.0.2.1", "192.0.2.2", 1, 2, NET_TH_SYN, NULL, 0);
	p.b[14 + 20 + 12] = 0x20;	/* TCP data offset 2 */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_MALFORMED);
	p = tcp4("192.0.2.1", "192.0.2.2", 1, 2, NET_TH_SYN, NULL, 0);
	p.b[14 + 20 + 12] = 0xF0;	/* TCP data offset 60: past the packet */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_TRUNCATED);
	/* a UDP length past the IP payload: 18 bytes claiming 65,535 */
	p = udp4("192.0.2.1", "192.0.2.2", 53, 4000, "0123456789", 10);
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_OK);
	assert_int_equal(k.wire_payload, 10);
	p.b[14 + 20 + 4] = 0xFF;
	p.b[14 + 20 + 5] = 0xFF;
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_MALFORMED);
	p.b[14 + 20 + 4] = 0;
	p.b[14 + 20 + 5] = 19;	/* one byte more than the IP payload */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_MALFORMED);
	p.b[14 + 20 + 5] = 12;	/* shorter: the rest of the IP payload is not UDP's */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_OK);
	assert_int_equal(k.wire_payload, 4);
	assert_int_equal(k.payload_len, 4);
	/* a first fragment's UDP length is the whole datagram's */
	p = udp4("192.0.2.1", "192.0.2.2", 53, 4000, "0123456789", 10);
	p.b[14 + 6] = 0x20;	/* MF */
	p.b[14 + 20 + 4] = 0x05;
	p.b[14 + 20 + 5] = 0xDC;	/* 1,500 */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_OK);
	assert_true(k.fragment);
	assert_int_equal(k.wire_payload, 1492);
	/* ARP is not IP, and not an error */
	p.n = 0;
	eth(&p, 0x0806);
	put32(&p, 0);
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_NOT_IP);
	assert_int_equal(net_decode(12345, p.b, p.n, &k), NET_ERR_LINK);
}

static void
test_decode_vlan_sll(void **state)
{
	struct pb in = tcp4("192.0.2.1", "192.0.2.2", 1000, 22, NET_TH_SYN, NULL, 0), p;
	const uint8_t *ip = in.b + 14;
	size_t iplen = in.n - 14;
	struct net_pkt k;

	(void)state;
	/* 802.1ad + 802.1Q + 802.1Q */
	p.n = 0;
	eth(&p, 0x88A8);
	put16(&p, 10);
	put16(&p, 0x8100);
	put16(&p, 20);
	put16(&p, 0x8100);
	put16(&p, 30);
	put16(&p, 0x0800);
	put(&p, ip, iplen);
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_OK);
	assert_int_equal(k.vlans, 3);
	assert_int_equal(k.dport, 22);
	/* a tag cut in half */
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, 16, &k), NET_ERR_TRUNCATED);
	/* SLL: 16-byte header, protocol last */
	p.n = 0;
	put16(&p, 0);
	put16(&p, 1);
	put16(&p, 6);
	put(&p, "\x52\x54\0\1\2\3\0\0", 8);
	put16(&p, 0x0800);
	put(&p, ip, iplen);
	assert_int_equal(net_decode(NET_LINK_SLL, p.b, p.n, &k), NET_OK);
	assert_int_equal(k.dport, 22);
	/* SLL2: 20-byte header, protocol first */
	p.n = 0;
	put16(&p, 0x0800);
	put16(&p, 0);
	put32(&p, 2);
	put16(&p, 1);
	put(&p, "\0\6\x52\x54\0\1\2\3\0\0", 10);
	put(&p, ip, iplen);
	assert_int_equal(net_decode(NET_LINK_SLL2, p.b, p.n, &k), NET_OK);
	assert_int_equal(k.dport, 22);
	/* raw IP */
	assert_int_equal(net_decode(NET_LINK_RAW, ip, iplen, &k), NET_OK);
	assert_int_equal(net_decode(NET_LINK_IPV4, ip, iplen, &k), NET_OK);
	assert_int_equal(k.dport, 22);
}

static void
test_decode_ipv6_ext(void **state)
{
	struct pb p = { .n = 0 };
	struct net_pkt k;
	uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char a[64];

	(void)state;
	eth(&p, 0x86DD);
	put32(&p, 6u << 28);
	put16(&p, 8 + 8 + 8 + 20);	/* hop-by-hop, dest opts, fragment (first), TCP */
	p.b[p.n++] = 0;			/* next: hop-by-hop */
	p.b[p.n++] = 64;
	put(&p, addr, 16);
	addr[15] = 2;
	put(&p, addr, 16);
	put(&p, "\x3c\0\1\4\0\0\0\0", 8);	/* HBH → dest opts */
	put(&p, "\x2c\0\1\4\0\0\0\0", 8);	/* dest opts → fragment */
	put(&p, "\x06\0\0\1\0\0\0\7", 8);	/* fragment offset 0, M=1 → TCP */
	tcph(&p, 5555, 22, NET_TH_SYN);
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_OK);
	assert_int_equal(k.ipv, 6);
	assert_true(k.fragment);
	assert_int_equal(k.proto, NET_TCP);
	assert_int_equal(k.dport, 22);
	net_addr_fmt(k.dst, a, sizeof(a));
	assert_string_equal(a, "2001:db8::2");
	/* an extension header claiming more than was captured */
	p.b[14 + 40 + 1] = 200;
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_TRUNCATED);
	/* a chain of more extension headers than we walk */
	p.n = 14 + 40;
	p.b[14 + 4] = 0;
	p.b[14 + 5] = 8 * 12;
	for (int i = 0; i < 12; i++)
		put(&p, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_ERR_MALFORMED);
}

static void
test_decode_fragments(void **state)
{
	struct pb p = { .n = 0 };
	struct net_pkt k;

	(void)state;
	eth(&p, 0x0800);
	ipv4(&p, NET_UDP, "192.0.2.1", "192.0.2.2", 16, 0x0004);	/* offset 32 bytes */
	put(&p, "0123456789abcdef", 16);
	assert_int_equal(net_decode(NET_LINK_ETHERNET, p.b, p.n, &k), NET_OK);
	assert_true(k.fragment);
	assert_null(k.payload);
	assert_int_equal(k.sport, 0);
}

/* --- application parsers ------------------------------------------------ */

static size_t
dns_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype, bool resp, uint8_t rcode)
{
	size_t n = 0;

	b[n++] = (uint8_t)(id >> 8);
	b[n++] = (uint8_t)id;
	b[n++] = resp ? 0x81 : 0x01;
	b[n++] = resp ? (uint8_t)(0x80 | rcode) : 0;
	memcpy(b + n, "\0\1\0\0\0\0\0\0", 8);
	n += 8;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		b[n++] = (uint8_t)l;
		memcpy(b + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(qtype >> 8);
	b[n++] = (uint8_t)qtype;
	b[n++] = 0;
	b[n++] = 1;
	return n;
}

static void
test_dns(void **state)
{
	uint8_t b[512];
	struct net_dns d;
	size_t n = dns_query(b, 0xbeef, "Mail.Example.com", 15, true, 0);

	(void)state;
	/* two answers: A by pointer to the question, MX pointing back */
	b[7] = 2;
	memcpy(b + n, "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\xc0\0\2\1", 16);
	n += 16;
	memcpy(b + n, "\xc0\x0c\0\x0f\0\1\0\0\0\x3c\0\4\0\x0a\xc0\x0c", 16);
	n += 16;
	assert_int_equal(net_dns_parse(b, n, &d), 0);
	assert_string_equal(d.query, "Mail.Example.com");
	assert_int_equal(d.qtype, 15);
	assert_string_equal(net_dns_qtype_name(d.qtype), "MX");
	assert_string_equal(net_dns_rcode_name(3), "NXDOMAIN");
	assert_true(d.response);
	assert_int_equal(d.nanswers, 2);
	assert_string_equal(d.answers[0], "192.0.2.1");
	assert_string_equal(d.answers[1], "Mail.Example.com");
	/* every cut of the message is rejected or parsed within bounds */
	for (size_t k = 0; k < n; k++) {
		uint8_t *c = malloc(k ? k : 1);
		assert_non_null(c);
		memcpy(c, b, k);
		(void)net_dns_parse(c, k, &d);
		free(c);
	}
	/* a pointer to itself (a loop) */
	n = dns_query(b, 1, "a.b", 1, true, 0);
	b[12] = 0xc0;
	b[13] = 12;
	assert_int_equal(net_dns_parse(b, n, &d), -1);
	/* two questions: not a message we read */
	n = dns_query(b, 1, "a.b", 1, false, 0);
	b[5] = 2;
	assert_int_equal(net_dns_parse(b, n, &d), -1);
}

/*
 * A question whose name is a chain of labels of wire length len (at most
 * 63 a label), then nrr records of type 99 whose names point at it, then
 * an A record: the review's message, where every record re-read the chain.
 */
static size_t
dns_chain(uint8_t *b, size_t len, unsigned nrr)
{
	size_t n = 12, left = len - 1;

	memcpy(b, "\x12\x34\x81\x80\0\1\0\0\0\0\0\0", 12);
	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;
		b[n++] = (uint8_t)l;
		memset(b + n, 'a', l);
		n += l;
		left -= l + 1;
	}
	b[n++] = 0;
	memcpy(b + n, "\0\1\0\1", 4);
	n += 4;
	for (unsigned i = 0; i < nrr; i++) {
		memcpy(b + n, "\xc0\x0c\0\x63\0\1\0\0\0\x3c\0\0", 12);
		n += 12;
	}
	memcpy(b + n, "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\xc0\0\2\1", 16);
	n += 16;
	b[6] = (uint8_t)((nrr + 1) >> 8);
	b[7] = (uint8_t)(nrr + 1);
	return n;
}

/* A name's 255 bytes, and the work of a message linear in its size. */
static void
test_dns_bounded(void **state)
{
	uint8_t *b = malloc(65536);
	struct net_dns d;
	size_t n;

	(void)state;
	assert_non_null(b);
	/* 255 bytes in wire form is a name, 256 is not (RFC 1035) */
	n = dns_chain(b, 255, 0);
	assert_int_equal(net_dns_parse(b, n, &d), 0);
	assert_int_equal(strlen(d.query), 253);
	assert_int_equal(d.nanswers, 1);
	n = dns_chain(b, 256, 0);
	assert_int_equal(net_dns_parse(b, n, &d), -1);
	/* a few records of a type we do not keep: the A after them is read */
	n = dns_chain(b, 255, 5);
	assert_int_equal(net_dns_parse(b, n, &d), 0);
	assert_int_equal(d.nanswers, 1);
	assert_string_equal(d.answers[0], "192.0.2.1");
	/* 20 of them: 5,652 bytes of names in a 527-byte message, the budget ends it first */
	n = dns_chain(b, 255, 20);
	assert_int_equal(net_dns_parse(b, n, &d), 0);
	assert_int_equal(d.nanswers, 0);
	assert_true(d.walked <= 4 * n + 1024);
	/*
	 * 5,000 such records in 60,287 bytes: the old walk read the chain
	 * 5,001 times (1.3 MB of labels) and found the A; now 64 records at
	 * most are walked, and every message's names cost at most 4 bytes a
	 * message byte plus 1,024
	 */
	n = dns_chain(b, 255, 5000);
	assert_true(n < 65536);
	assert_int_equal(net_dns_parse(b, n, &d), 0);
	assert_int_equal(d.nanswers, 0);
	assert_true(d.walked <= 65 * (255 + 2));
	assert_true(d.walked <= 4 * n + 1024);
	/* the review's 1,489-byte message: within the budget of its size */
	n = dns_chain(b, 255, 100);
	assert_int_equal(net_dns_parse(b, n, &d), 0);
	assert_int_equal(d.nanswers, 0);
	assert_true(d.walked > 0);
	assert_true(d.walked <= 4 * n + 1024);
	free(b);
}

static void
test_tls_sni(void **state)
{
	uint8_t b[256];
	size_t n = 0, ext_start, hs_start;
	char sni[256];

	(void)state;
	memcpy(b, "\x16\x03\x01\0\0\x01\0\0\0\x03\x03", 11);
	n = 11;
	hs_start = 5;
	memset(b + n, 0x11, 32);
	n += 32;
	b[n++] = 0;			/* session id */
	memcpy(b + n, "\0\2\x13\x01", 4);	/* suites */
	n += 4;
	memcpy(b + n, "\1\0", 2);	/* compression */
	n += 2;
	ext_start = n;
	n += 2;
	memcpy(b + n, "\0\0\0\x10\0\x0e\0\0\x0b" "example.org", 20);
	n += 20;
	b[ext_start] = 0;
	b[ext_start + 1] = (uint8_t)(n - ext_start - 2);
	b[3] = (uint8_t)((n - 5) >> 8);
	b[4] = (uint8_t)(n - 5);
	b[hs_start + 3] = (uint8_t)(n - 9);
	assert_int_equal(net_tls_sni(b, n, sni, sizeof(sni)), 1);
	assert_string_equal(sni, "example.org");
	/* a short output buffer cuts the name */
	assert_int_equal(net_tls_sni(b, n, sni, 5), 1);
	assert_string_equal(sni, "exam");
	/* split record (more announced than present) */
	assert_int_equal(net_tls_sni(b, n - 1, sni, sizeof(sni)), -1);
	/* an SNI length past the extension */
	b[n - 12] = 0x40;
	assert_int_equal(net_tls_sni(b, n, sni, sizeof(sni)), -1);
}

static void
test_ssh_http(void **state)
{
	struct net_http h;
	const char *req = "POST /login?u=1 HTTP/1.1\r\nhost:  intra.example \r\n"
	    "User-Agent: curl/8.0\r\n\r\nbody";

	(void)state;
	assert_int_equal(net_ssh_banner((const uint8_t *)"SSH-2.0-OpenSSH_9.2\r\n", 21), 19);
	assert_int_equal(net_ssh_banner((const uint8_t *)"SSH-2.0-x\x01y\r\n", 12), 0);
	assert_int_equal(net_ssh_banner((const uint8_t *)"HTTP/1.1 200", 12), 0);
	assert_int_equal(net_http_request((const uint8_t *)req, strlen(req), &h), 0);
	assert_int_equal(h.method_len, 4);
	assert_memory_equal(h.uri, "/login?u=1", h.uri_len);
	assert_int_equal(h.host_len, strlen("intra.example"));
	assert_memory_equal(h.host, "intra.example", h.host_len);
	assert_memory_equal(h.ua, "curl/8.0", h.ua_len);
	assert_int_equal(net_http_request((const uint8_t *)"GET /", 5, &h), -1);
	assert_int_equal(net_http_request((const uint8_t *)"GETX / HTTP/1.1\r\n", 17, &h), -1);
	/*
	 * host as Zeek logs it: without the port, so that a rule's
	 * host|endswith: '.ru' sees a server on port 8080 too
	 */
	for (size_t k = 0; k < 4; k++) {
		static const char *const in[] = { "evil.ru:8080", "[2001:db8::1]:8443",
			"[2001:db8::1]", "evil.ru:" };
		static const char *const want[] = { "evil.ru", "[2001:db8::1]", "[2001:db8::1]",
			"evil.ru" };
		char buf[128];
		int l = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", in[k]);

		assert_int_equal(net_http_request((const uint8_t *)buf, (size_t)l, &h), 0);
		assert_int_equal(h.host_len, strlen(want[k]));
		assert_memory_equal(h.host, want[k], h.host_len);
	}
}

/* --- flows and events --------------------------------------------------- */

struct sink {
	char lines[128][NET_EVENT_MAX];
	int64_t ts[128];
	size_t n;
	size_t total;
	size_t conn, http, dns, scan;	/* every line, kept or not */
	char last_scan[NET_EVENT_MAX];
};

static void
sink_cb(const char *line, size_t len, int64_t ts_us, void *arg)
{
	struct sink *s = arg;

	assert_int_equal(strlen(line), len);
	if (s->n < 128) {
		memcpy(s->lines[s->n], line, len + 1);
		s->ts[s->n] = ts_us;
		s->n++;
	}
	s->total++;
	if (strstr(line, "\"_path\":\"conn\""))
		s->conn++;
	else if (strstr(line, "\"_path\":\"http\""))
		s->http++;
	else if (strstr(line, "\"_path\":\"dns\""))
		s->dns++;
	else if (strstr(line, "\"_path\":\"scan\"")) {
		s->scan++;
		memcpy(s->last_scan, line, len + 1);
	}
}

static const char *
find(const struct sink *s, const char *needle)
{
	for (size_t i = 0; i < s->n; i++)
		if (strstr(s->lines[i], needle))
			return s->lines[i];
	return NULL;
}

static size_t
count(const struct sink *s, const char *needle)
{
	size_t c = 0;

	for (size_t i = 0; i < s->n; i++)
		if (strstr(s->lines[i], needle))
			c++;
	return c;
}

static void
feed(struct net *n, int64_t ts, struct pb p)
{
	net_packet(n, NET_LINK_ETHERNET, ts, p.b, p.n, (uint32_t)p.n);
}

static void
test_flow_tcp_session(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net *n = net_new(NULL, sink_cb, s);
	const char *c, *a = "10.0.0.1", *b = "10.0.0.2";
	int64_t t = 1700000000000000LL;

	(void)state;
	assert_non_null(n);
	feed(n, t, tcp4(a, b, 40000, 80, NET_TH_SYN, NULL, 0));
	feed(n, t + 1000, tcp4(b, a, 80, 40000, NET_TH_SYN | NET_TH_ACK, NULL, 0));
	feed(n, t + 2000, tcp4(a, b, 40000, 80, NET_TH_ACK, NULL, 0));
	feed(n, t + 3000, tcp4(a, b, 40000, 80, NET_TH_ACK | NET_TH_PSH,
	    "GET /x\"y HTTP/1.0\r\nHost: h\r\n\r\n", 30));
	feed(n, t + 4000, tcp4(b, a, 80, 40000, NET_TH_ACK | NET_TH_PSH, "HTTP/1.0 200 OK\r\n", 17));
	feed(n, t + 5000, tcp4(a, b, 40000, 80, NET_TH_ACK | NET_TH_FIN, NULL, 0));
	assert_int_equal(count(s, "\"_path\":\"conn\""), 0);
	feed(n, t + 2500000, tcp4(b, a, 80, 40000, NET_TH_ACK | NET_TH_FIN, NULL, 0));
	/* closed: the last ACK is absorbed, no second conn event */
	feed(n, t + 2600000, tcp4(a, b, 40000, 80, NET_TH_ACK, NULL, 0));
	net_flush(n);
	c = find(s, "\"_path\":\"http\"");
	assert_non_null(c);
	assert_non_null(strstr(c, "\"uri\":\"/x\\\"y\""));
	assert_non_null(strstr(c, "\"host\":\"h\""));
	assert_int_equal(count(s, "\"_path\":\"conn\""), 1);
	c = find(s, "\"_path\":\"conn\"");
	assert_non_null(strstr(c, "\"ts\":1700000000.000000"));
	assert_non_null(strstr(c, "\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":40000,"
	    "\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":80"));
	assert_non_null(strstr(c, "\"service\":\"http\""));
	assert_non_null(strstr(c, "\"duration\":2.500000"));
	assert_non_null(strstr(c, "\"orig_bytes\":30,\"resp_bytes\":17,\"conn_state\":\"SF\","
	    "\"orig_pkts\":4,\"resp_pkts\":3"));	/* up to the close */
	assert_int_equal(net_get_stats(n)->flows, 1);
	net_free(n);
	free(s);
}

static void
test_flow_states(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net *n = net_new(NULL, sink_cb, s);
	int64_t t = 1700000000000000LL;

	(void)state;
	/* rejected */
	feed(n, t, tcp4("10.0.0.1", "10.0.0.2", 1000, 25, NET_TH_SYN, NULL, 0));
	feed(n, t + 1, tcp4("10.0.0.2", "10.0.0.1", 25, 1000, NET_TH_RST | NET_TH_ACK, NULL, 0));
	/* no answer, ends by timeout (30 s) */
	feed(n, t + 2, tcp4("10.0.0.1", "10.0.0.3", 1001, 25, NET_TH_SYN, NULL, 0));
	/* established and reset by the originator */
	feed(n, t + 3, tcp4("10.0.0.1", "10.0.0.4", 1002, 25, NET_TH_SYN, NULL, 0));
	feed(n, t + 4, tcp4("10.0.0.4", "10.0.0.1", 25, 1002, NET_TH_SYN | NET_TH_ACK, NULL, 0));
	feed(n, t + 5, tcp4("10.0.0.1", "10.0.0.4", 1002, 25, NET_TH_RST, NULL, 0));
	assert_non_null(find(s, "\"conn_state\":\"REJ\""));
	assert_non_null(find(s, "\"conn_state\":\"RSTO\""));
	assert_null(find(s, "\"conn_state\":\"S0\""));
	/* time passes (another packet 31 s later): the attempt is over */
	feed(n, t + 31000000, udp4("10.0.0.9", "10.0.0.8", 5000, 6000, "x", 1));
	assert_non_null(find(s, "\"conn_state\":\"S0\""));
	net_flush(n);
	assert_non_null(find(s, "\"proto\":\"udp\",\"duration\":0.000000,\"orig_bytes\":1"));
	net_free(n);
	free(s);
}

/*
 * A DNS query that got no answer: its event carries the query's header as
 * Zeek logs it (qclass, the flags, Z). Without Z a public rule such as
 * SigmaHQ zeek_dns_susp_zbit_flag ("not Z: 0") fires on every lost query.
 */
static void
test_dns_unanswered_fields(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net *n = net_new(NULL, sink_cb, s);
	int64_t t = 1700000000000000LL;
	uint8_t q[128];
	size_t ql = dns_query(q, 0x4646, "lost.example.com", 1, false, 0);
	const char *e;

	(void)state;
	feed(n, t, udp4("10.0.0.1", "10.0.0.53", 33100, 53, q, ql));
	net_flush(n);
	e = find(s, "\"_path\":\"dns\"");
	assert_non_null(e);
	assert_null(strstr(e, "\"rcode\""));
	assert_non_null(strstr(e, "\"qclass\":1,\"qclass_name\":\"C_INTERNET\""));
	assert_non_null(strstr(e, "\"AA\":false,\"TC\":false,\"RD\":true,\"RA\":false,\"Z\":0"));
	net_free(n);
	free(s);
}

static void
test_flow_bounded(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net_conf c;
	struct net *n;
	int64_t t = 1700000000000000LL;
	char src[32];

	(void)state;
	net_conf_defaults(&c);
	c.flow_max = 8;	/* one bucket */
	n = net_new(&c, sink_cb, s);
	/* 20 established connections from different clients: 12 pushed out */
	for (int i = 0; i < 20; i++) {
		snprintf(src, sizeof(src), "10.1.0.%d", i + 1);
		feed(n, t + i * 10, tcp4(src, "10.0.0.2", 1000, 443, NET_TH_SYN, NULL, 0));
		feed(n, t + i * 10 + 1, tcp4("10.0.0.2", src, 443, 1000, NET_TH_SYN | NET_TH_ACK,
		    NULL, 0));
	}
	assert_int_equal(net_get_stats(n)->flows_evicted, 12);
	assert_int_equal(net_get_stats(n)->flows_active, 8);
	/* the oldest went first, reported as what they were */
	assert_non_null(strstr(s->lines[0], "\"id.orig_h\":\"10.1.0.1\""));
	assert_non_null(strstr(s->lines[0], "\"conn_state\":\"S1\""));
	net_flush(n);
	assert_int_equal(count(s, "\"_path\":\"conn\""), 20);
	net_free(n);
	free(s);
}

static void
test_scan_summary(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net *n = net_new(NULL, sink_cb, s);
	int64_t t = 1700000000000000LL;
	const char *e;

	(void)state;
	for (int port = 1; port <= 1000; port++) {
		feed(n, t, tcp4("203.0.113.5", "10.0.0.2", 40000, (uint16_t)port, NET_TH_SYN, NULL, 0));
		feed(n, t + 1, tcp4("10.0.0.2", "203.0.113.5", (uint16_t)port, 40000,
		    NET_TH_RST | NET_TH_ACK, NULL, 0));
		t += 100;
	}
	net_flush(n);
	/* 100 conn events, the other 900 attempts folded into one scan event */
	assert_int_equal(count(s, "\"_path\":\"conn\""), 100);
	assert_int_equal(s->total, 101);
	assert_int_equal(net_get_stats(n)->attempts_suppressed, 900);
	e = find(s, "\"_path\":\"scan\"");
	assert_non_null(e);
	assert_non_null(strstr(e, "\"id.orig_h\":\"203.0.113.5\""));
	assert_non_null(strstr(e, "\"syn\":1000,\"syn_ack\":0,\"syn_unanswered\":1000,\"rst_in\":1000"));
	assert_non_null(strstr(e, "\"distinct_ports\":1000,\"distinct_hosts\":1"));
	assert_non_null(strstr(e, "\"attempts_suppressed\":900"));
	/* the flow table saw only the tracked attempts */
	assert_int_equal(net_get_stats(n)->flows, 100);
	net_free(n);
	free(s);
}

/* Counter sets are cleared between windows, whether big (memset) or small (one by one). */
static void
test_scan_windows_reset(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net_conf c;
	struct net *n;
	int64_t t = 1700000000000000LL;
	char dst[32];

	(void)state;
	net_conf_defaults(&c);
	c.scan_window_us = 10 * 1000000LL;
	n = net_new(&c, sink_cb, s);
	/* window 1: 300 ports; window 2: 5 ports and 12 hosts; window 3: 25 ports */
	for (int p = 0; p < 300; p++)
		feed(n, t, tcp4("203.0.113.9", "10.0.0.2", 40000, (uint16_t)(1000 + p), NET_TH_SYN, NULL, 0));
	t += 11 * 1000000LL;
	for (int h = 0; h < 12; h++) {
		snprintf(dst, sizeof(dst), "10.0.1.%d", h + 1);
		feed(n, t, tcp4("203.0.113.9", dst, 40000, (uint16_t)(1000 + h % 5), NET_TH_SYN, NULL, 0));
	}
	t += 11 * 1000000LL;
	for (int p = 0; p < 25; p++)
		feed(n, t, tcp4("203.0.113.9", "10.0.0.2", 40000, (uint16_t)(1000 + p), NET_TH_SYN, NULL, 0));
	net_flush(n);
	assert_int_equal(count(s, "\"_path\":\"scan\",\"ts\":1700000000.000000,\"scope\":\"source\""), 1);
	assert_non_null(find(s, "\"distinct_ports\":300,\"distinct_hosts\":1,"));
	assert_non_null(find(s, "\"distinct_ports\":5,\"distinct_hosts\":12,"));
	assert_non_null(find(s, "\"distinct_ports\":25,\"distinct_hosts\":1,"));
	net_free(n);
	free(s);
}

/* Many sources, one target: the global budget holds the conn events. */
static void
test_flood_many_sources(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net_conf c;
	struct net *n;
	int64_t t = 1700000000000000LL;
	char src[32];
	const char *e;

	(void)state;
	net_conf_defaults(&c);
	c.attempts_per_s = 10;
	n = net_new(&c, sink_cb, s);
	for (int i = 0; i < 300; i++) {
		snprintf(src, sizeof(src), "10.9.%d.%d", i / 200, i % 200 + 1);
		feed(n, t + i, tcp4(src, "10.0.0.80", 5000, 80, NET_TH_SYN, NULL, 0));
	}
	net_flush(n);
	assert_int_equal(count(s, "\"_path\":\"conn\""), 10);
	assert_int_equal(net_get_stats(n)->attempts_suppressed, 290);
	e = find(s, "\"scope\":\"target\"");
	assert_non_null(e);
	assert_non_null(strstr(e, "\"id.resp_h\":\"10.0.0.80\""));
	assert_non_null(strstr(e, "\"attempts\":300,\"attempts_suppressed\":290,\"distinct_sources\":256"));
	net_free(n);
	free(s);
}

/*
 * FIN, XMAS, NULL and ACK scans of 1000 ports, answered by RSTs or not: the
 * same as a SYN scan – one scan event, 100 conn events, 100 flows.
 */
static void
test_scan_probes(void **state)
{
	static const struct {
		uint8_t flags;
		bool rst;
	} scans[] = {
		{ NET_TH_FIN, true }, { NET_TH_FIN, false },
		{ NET_TH_FIN | NET_TH_PSH | 0x20, true },	/* XMAS: FIN, PSH, URG */
		{ 0, true }, { NET_TH_ACK, true }, { NET_TH_ACK, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
		struct sink *s = calloc(1, sizeof(*s));
		struct net *n = net_new(NULL, sink_cb, s);
		int64_t t = 1700000000000000LL;
		const char *e;

		for (int port = 1; port <= 1000; port++) {
			feed(n, t, tcp4("203.0.113.5", "10.0.0.2", 40000, (uint16_t)port, scans[i].flags,
			    NULL, 0));
			if (scans[i].rst)
				feed(n, t + 1, tcp4("10.0.0.2", "203.0.113.5", (uint16_t)port, 40000,
				    NET_TH_RST | NET_TH_ACK, NULL, 0));
			t += 100;
		}
		net_flush(n);
		assert_int_equal(s->scan, 1);
		assert_int_equal(s->conn, 100);
		assert_int_equal(net_get_stats(n)->flows, 100);
		assert_int_equal(net_get_stats(n)->attempts_suppressed, 900);
		e = find(s, "\"_path\":\"scan\"");
		assert_non_null(e);
		assert_non_null(strstr(e, "\"scope\":\"source\",\"id.orig_h\":\"203.0.113.5\""));
		assert_non_null(strstr(e, "\"probes\":1000,"));
		assert_non_null(strstr(e, "\"distinct_ports\":1000,\"distinct_hosts\":1"));
		net_free(n);
		free(s);
	}
}

/*
 * 5,000 spoofed packets in a second, whatever their flags, or DNS answers
 * nobody asked for: within the budget of a SYN flood (200 a second, a
 * second's worth at once: 400 events and the target's summary), also once
 * their flows ended.
 */
static void
test_flood_any_flags(void **state)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t dns[64];
	size_t dl = dns_query(dns, 0x1234, "www.example.com", 1, true, 0);

	(void)state;
	memcpy(dns + dl, "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\1\2\3\4", 16);
	dns[7] = 1;
	dl += 16;
	for (int kind = 0; kind < 5; kind++) {
		struct sink *s = calloc(1, sizeof(*s));
		struct net *n = net_new(NULL, sink_cb, s);
		int64_t t = 1700000000000000LL;
		uint32_t r = 1;
		char src[32];

		for (int i = 0; i < 5000; i++) {
			uint16_t sp;

			r = r * 1103515245u + 12345u;
			snprintf(src, sizeof(src), "10.%u.%u.%u", (r >> 24) & 0xff, (r >> 16) & 0xff,
			    ((r >> 8) & 0xfe) + 1);
			sp = (uint16_t)(1024 + (r & 0x7fff));
			switch (kind) {
			case 0:
				feed(n, t, tcp4(src, "10.0.0.80", sp, 80, NET_TH_FIN, NULL, 0));
				break;
			case 1:
				feed(n, t, tcp4(src, "10.0.0.80", sp, 80, NET_TH_SYN | NET_TH_FIN, NULL, 0));
				break;
			case 2:
				feed(n, t, tcp4(src, "10.0.0.80", sp, 80, NET_TH_ACK | NET_TH_PSH, get,
				    sizeof(get) - 1));
				break;
			case 3:
				feed(n, t, tcp4(src, "10.0.0.80", sp, 80, 0, NULL, 0));
				break;
			default:
				feed(n, t, udp4(src, "10.0.0.80", 53, sp, dns, dl));
				break;
			}
			t += 200;
		}
		/* a minute passes: every flow ends by time, as it would live */
		for (int k = 0; k < 61; k++)
			net_tick(n, t + k * 1000000LL);
		net_flush(n);
		assert_true(s->total <= 401);
		assert_true(s->conn + s->http + s->dns <= 400);
		assert_int_equal(s->scan, 1);
		assert_non_null(strstr(s->last_scan, "\"scope\":\"target\",\"id.resp_h\":\"10.0.0.80\""));
		assert_non_null(strstr(s->last_scan, "\"attempts\":5000,"));
		net_free(n);
		free(s);
	}
}

/* HTTP events of one flow: the first 32, then one a second; the rest counted. */
static void
test_http_per_flow(void **state)
{
	static const char get[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	struct sink *s = calloc(1, sizeof(*s));
	struct net *n = net_new(NULL, sink_cb, s);
	const char *a = "10.0.0.1", *b = "10.0.0.2";
	int64_t t = 1700000000000000LL;

	(void)state;
	feed(n, t, tcp4(a, b, 40000, 80, NET_TH_SYN, NULL, 0));
	feed(n, t + 100, tcp4(b, a, 80, 40000, NET_TH_SYN | NET_TH_ACK, NULL, 0));
	for (int i = 0; i < 5000; i++)
		feed(n, t + 200 + i * 150, tcp4(a, b, 40000, 80, NET_TH_ACK | NET_TH_PSH, get,
		    sizeof(get) - 1));
	assert_int_equal(s->http, 32);
	assert_int_equal(net_get_stats(n)->app_suppressed, 5000 - 32);
	/* a beacon on a kept-alive connection: one a second still goes out */
	for (int i = 0; i < 3; i++)
		feed(n, t + (int64_t)(2 + i) * 1000000, tcp4(a, b, 40000, 80, NET_TH_ACK | NET_TH_PSH,
		    get, sizeof(get) - 1));
	assert_int_equal(s->http, 35);
	/* the same without a handshake and without answer: no more */
	for (int i = 0; i < 5000; i++)
		feed(n, t + 200 + i * 150, tcp4(a, b, 40001, 80, NET_TH_ACK | NET_TH_PSH, get,
		    sizeof(get) - 1));
	assert_int_equal(s->http, 35 + 32);
	net_flush(n);
	assert_int_equal(s->conn, 2);
	net_free(n);
	free(s);
}

/*
 * What stays: a server seen mid-stream with 150 clients (its segments open
 * the flows, the clients answer) is no scanner and every connection is
 * reported; a DNS answer to a query we saw gives its event.
 */
static void
test_midstream_not_probe(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net_conf c;
	struct net *n;
	int64_t t = 1700000000000000LL;
	uint8_t q[64], r[64];
	size_t ql = dns_query(q, 7, "a.example", 1, false, 0);
	size_t rl = dns_query(r, 7, "a.example", 1, true, 0);
	char dst[32];

	(void)state;
	net_conf_defaults(&c);
	c.attempts_per_s = 10;	/* a small budget: conversations do not need it */
	n = net_new(&c, sink_cb, s);
	/* more than scan_min_syn (200): answered probes are no scan */
	for (int i = 0; i < 250; i++) {
		snprintf(dst, sizeof(dst), "10.2.%d.%d", i / 100, i % 100 + 1);
		feed(n, t + i * 10, tcp4("10.0.0.2", dst, 443, (uint16_t)(50000 + i),
		    NET_TH_ACK | NET_TH_PSH, "data", 4));
		feed(n, t + i * 10 + 5, tcp4(dst, "10.0.0.2", (uint16_t)(50000 + i), 443, NET_TH_ACK,
		    NULL, 0));
	}
	for (int i = 0; i < 20; i++) {
		feed(n, t + 2000 + i * 10, udp4("10.0.0.5", "10.0.0.53", (uint16_t)(30000 + i), 53, q, ql));
		feed(n, t + 2005 + i * 10, udp4("10.0.0.53", "10.0.0.5", 53, (uint16_t)(30000 + i), r, rl));
	}
	net_flush(n);
	assert_int_equal(s->scan, 0);
	assert_int_equal(s->conn, 270);
	assert_int_equal(s->dns, 20);
	assert_int_equal(net_get_stats(n)->attempts_suppressed, 0);
	net_free(n);
	free(s);
}

static void
test_event_escaping(void **state)
{
	struct sink *s = calloc(1, sizeof(*s));
	struct net *n = net_new(NULL, sink_cb, s);
	int64_t t = 1700000000000000LL;
	const char *e;
	char req[1500];

	(void)state;
	/* control and non-ASCII bytes come out as \u00XX */
	memcpy(req, "GET / HTTP/1.1\r\nUser-Agent: \x01\xff", 30);
	memset(req + 30, 'A', 100);
	memcpy(req + 130, "\r\n\r\n", 4);
	feed(n, t, tcp4("10.0.0.1", "10.0.0.2", 5000, 8080, NET_TH_SYN, NULL, 0));
	feed(n, t + 1, tcp4("10.0.0.1", "10.0.0.2", 5000, 8080, NET_TH_ACK | NET_TH_PSH, req, 134));
	e = find(s, "\"_path\":\"http\"");
	assert_non_null(e);
	assert_non_null(strstr(e, "\"user_agent\":\"\\u0001\\u00ffAAA"));
	assert_int_equal(net_get_stats(n)->events_truncated, 0);
	/* a header that escapes to more than a line holds: left out, the line stays JSON */
	memset(req + 28, 1, sizeof(req) - 32);
	memcpy(req + sizeof(req) - 4, "\r\n\r\n", 4);
	feed(n, t + 2, tcp4("10.0.0.1", "10.0.0.3", 5001, 8080, NET_TH_SYN, NULL, 0));
	feed(n, t + 3, tcp4("10.0.0.1", "10.0.0.3", 5001, 8080, NET_TH_ACK | NET_TH_PSH, req,
	    sizeof(req)));
	assert_int_equal(net_get_stats(n)->events_truncated, 1);
	e = s->lines[s->n - 1];
	assert_non_null(strstr(e, "\"id.resp_h\":\"10.0.0.3\""));
	assert_null(strstr(e, "user_agent"));
	assert_true(strlen(e) < NET_EVENT_MAX);
	assert_int_equal(e[strlen(e) - 1], '}');
	net_free(n);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_ether_tcp),
		cmocka_unit_test(test_decode_every_cut),
		cmocka_unit_test(test_decode_corrupt),
		cmocka_unit_test(test_decode_vlan_sll),
		cmocka_unit_test(test_decode_ipv6_ext),
		cmocka_unit_test(test_decode_fragments),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_dns_bounded),
		cmocka_unit_test(test_dns_unanswered_fields),
		cmocka_unit_test(test_tls_sni),
		cmocka_unit_test(test_ssh_http),
		cmocka_unit_test(test_flow_tcp_session),
		cmocka_unit_test(test_flow_states),
		cmocka_unit_test(test_flow_bounded),
		cmocka_unit_test(test_scan_summary),
		cmocka_unit_test(test_scan_windows_reset),
		cmocka_unit_test(test_flood_many_sources),
		cmocka_unit_test(test_scan_probes),
		cmocka_unit_test(test_flood_any_flags),
		cmocka_unit_test(test_http_per_flow),
		cmocka_unit_test(test_midstream_not_probe),
		cmocka_unit_test(test_event_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
