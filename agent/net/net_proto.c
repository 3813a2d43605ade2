/*
 * net_proto – application metadata from the first payload of a flow's
 * direction: DNS messages, the TLS ClientHello's server name, SSH version
 * banners, the HTTP/1.x request head.
 *
 * Only what one packet carries is read (no TCP reassembly): a ClientHello
 * or HTTP head split over segments is not seen. Every parser is bounded by
 * n and treats its input as hostile: compression pointers may only point
 * backwards and are followed at most DNS_MAX_JUMPS times, a name is at most
 * 255 bytes, and a DNS message's work is linear in its size (dns_walk).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>

#include "net.h"

#define DNS_MAX_JUMPS 16

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Dotted quad of a[0..4) into out (16 bytes at least): no printf, it is on every event. */
static void
fmt_ipv4(const uint8_t *a, char *out)
{
	size_t o = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100)
			out[o++] = (char)('0' + v / 100);
		if (v >= 10)
			out[o++] = (char)('0' + v / 10 % 10);
		out[o++] = (char)('0' + v % 10);
		out[o++] = i < 3 ? '.' : '\0';
	}
}

void
net_addr_fmt(const uint8_t a[16], char *out, size_t outsz)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

	if (memcmp(a, mapped, 12) == 0 && outsz >= 16)
		fmt_ipv4(a + 12, out);
	else if (memcmp(a, mapped, 12) == 0 && outsz > 0)
		out[0] = '\0';	/* too small (callers pass 46 bytes) */
	else if (inet_ntop(AF_INET6, a, out, (socklen_t)outsz) == NULL && outsz > 0)
		out[0] = '\0';
}

const char *
net_dns_qtype_name(uint16_t t)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 13: return "HINFO";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 35: return "NAPTR";
	case 43: return "DS";
	case 46: return "RRSIG";
	case 47: return "NSEC";
	case 48: return "DNSKEY";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	case 99: return "SPF";
	case 252: return "AXFR";
	case 251: return "IXFR";
	case 255: return "*";
	case 257: return "CAA";
	default: return NULL;
	}
}

const char *
net_dns_rcode_name(uint16_t r)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	};
	return r < sizeof(names) / sizeof(names[0]) ? names[r] : NULL;
}

/*
 * What one message may cost: its names are read through a budget of bytes
 * (a label's length byte and its text, a pointer's two bytes) of
 * DNS_WALK_PER_BYTE per message byte plus DNS_WALK_FLOOR, so the parse is
 * linear in the message. Without it every record whose name is a 2-byte
 * pointer to a long label chain re-read that chain: 144 ms for one
 * 65,000-byte message (review).
 */
#define DNS_MAX_NAME		255	/* a name's wire form at most (RFC 1035 2.3.4) */
#define DNS_MAX_RECORDS		64	/* records walked per message, whatever their type */
#define DNS_WALK_PER_BYTE	4
#define DNS_WALK_FLOOR		1024

struct dns_walk {
	size_t left;		/* bytes of names still allowed */
	uint32_t walked;	/* bytes of names read */
};

static inline bool
dns_walk_take(struct dns_walk *w, size_t k)
{
	if (k > w->left)
		return false;
	w->left -= k;
	w->walked += (uint32_t)k;
	return true;
}

/*
 * The name at msg[*off] as dotted text into out (outsz > 0; longer names
 * are cut). Moves *off past the name in place. -1 on a bad label or
 * pointer or a name longer than DNS_MAX_NAME, -2 when the walk's budget is
 * spent.
 */
static int
dns_name(const uint8_t *msg, size_t n, size_t *off, char *out, size_t outsz,
    struct dns_walk *w)
{
	size_t pos = *off, o = 0, end = 0, wire = 0;
	int jumps = 0;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (pos >= n)
			return -1;
		l = msg[pos];
		if ((l & 0xC0) == 0xC0) {
			size_t target;
			if (pos + 1 >= n || ++jumps > DNS_MAX_JUMPS)
				return -1;
			if (!dns_walk_take(w, 2))
				return -2;
			target = ((size_t)(l & 0x3F) << 8) | msg[pos + 1];
			if (target >= pos)	/* only backwards: no loops */
				return -1;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		if (l & 0xC0)
			return -1;
		if (l == 0) {
			if (!jumped)
				end = pos + 1;
			break;
		}
		if (l > n - pos - 1)
			return -1;
		/* this label and the root's byte still within 255 */
		wire += 1 + (size_t)l;
		if (wire + 1 > DNS_MAX_NAME)
			return -1;
		if (!dns_walk_take(w, 1 + (size_t)l))
			return -2;
		if (o > 0 && o + 1 < outsz)
			out[o++] = '.';
		for (size_t k = 0; k < l; k++) {
			uint8_t c = msg[pos + 1 + k];
			if (o + 1 < outsz)
				out[o++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
		}
		pos += 1 + (size_t)l;
	}
	out[o] = '\0';
	*off = end;
	return 0;
}

int
net_dns_parse(const uint8_t *p, size_t n, struct net_dns *d)
{
	size_t off = 12;
	unsigned qd, an;
	struct dns_walk w = { .left = DNS_WALK_PER_BYTE * n + DNS_WALK_FLOOR };
	int r;

	memset(d, 0, sizeof(*d));
	if (n < 12)
		return -1;
	d->id = rd16(p);
	d->response = (p[2] & 0x80) != 0;
	if (((p[2] >> 3) & 0x0F) > 2)	/* opcode: query, iquery, status */
		return -1;
	d->rcode = p[3] & 0x0F;
	d->aa = (p[2] & 0x04) != 0;
	d->tc = (p[2] & 0x02) != 0;
	d->rd = (p[2] & 0x01) != 0;
	d->ra = (p[3] & 0x80) != 0;
	d->z = (uint8_t)((p[3] >> 4) & 0x07);
	qd = rd16(p + 4);
	an = rd16(p + 6);
	if (qd != 1)	/* every real query carries exactly one question */
		return -1;
	r = dns_name(p, n, &off, d->query, sizeof(d->query), &w);
	d->walked = w.walked;
	if (r < 0 || n - off < 4)
		return -1;
	d->qtype = rd16(p + off);
	d->qclass = rd16(p + off + 2);
	off += 4;
	/*
	 * Every record walked counts, answers we keep or not: past
	 * DNS_MAX_RECORDS or the walk's budget the rest is not read (the
	 * answers so far are kept). Authority and additional records are never
	 * walked.
	 */
	if (an > DNS_MAX_RECORDS)
		an = DNS_MAX_RECORDS;
	for (unsigned i = 0; i < an && d->nanswers < NET_DNS_MAX_ANSWERS; i++) {
		char name[256];
		uint16_t type, rdlen;
		char *out = d->answers[d->nanswers];
		size_t rd;

		r = dns_name(p, n, &off, name, sizeof(name), &w);
		if (r == -2)
			break;
		if (r < 0 || n - off < 10)
			goto fail;
		type = rd16(p + off);
		rdlen = rd16(p + off + 8);
		off += 10;
		if (rdlen > n - off)
			goto fail;
		rd = off;
		off += rdlen;
		if (type == 1 && rdlen == 4) {
			fmt_ipv4(p + rd, out);
		} else if (type == 28 && rdlen == 16) {
			net_addr_fmt(p + rd, out, 128);
		} else if (type == 5 || type == 12 || type == 2 || (type == 15 && rdlen > 2)) {
			size_t o2 = type == 15 ? rd + 2 : rd;
			r = dns_name(p, rd + rdlen, &o2, out, 128, &w);
			if (r == -2)
				break;
			if (r < 0)
				continue;
		} else if (type == 16 && rdlen > 1) {
			/* TXT: the first character-string */
			size_t l = p[rd] < rdlen - 1 ? p[rd] : rdlen - 1u, o = 0;
			for (size_t k = 0; k < l && o + 1 < 128; k++) {
				uint8_t c = p[rd + 1 + k];
				out[o++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
			}
			out[o] = '\0';
		} else {
			continue;
		}
		d->nanswers++;
	}
	d->walked = w.walked;
	return 0;
fail:
	d->walked = w.walked;
	return -1;
}

int
net_tls_sni(const uint8_t *p, size_t n, char *out, size_t outsz)
{
	size_t rec, off, end, l;

	out[0] = '\0';
	/* record: handshake (22), version 3.x, length; handshake: ClientHello (1) */
	if (n < 9 || p[0] != 22 || p[1] != 3 || p[5] != 1)
		return -1;
	rec = rd16(p + 3);
	if (rec > n - 5)
		return -1;	/* split over segments: not reassembled */
	end = 5 + rec;
	off = 9 + 2 + 32;	/* handshake header, client version, random */
	if (off + 1 > end)
		return -1;
	off += 1 + p[off];	/* session id */
	if (off + 2 > end)
		return -1;
	off += 2 + rd16(p + off);	/* cipher suites */
	if (off + 1 > end)
		return -1;
	off += 1 + p[off];	/* compression methods */
	if (off == end)
		return 0;	/* no extensions */
	if (off + 2 > end)
		return -1;
	l = rd16(p + off);
	off += 2;
	if (l > end - off)
		return -1;
	end = off + l;
	while (end - off >= 4) {
		uint16_t type = rd16(p + off), el = rd16(p + off + 2);
		off += 4;
		if (el > end - off)
			return -1;
		if (type == 0) {	/* server_name: list length, type 0, name length, name */
			size_t s = off, se = off + el, nl;
			if (se - s < 5 || p[s + 2] != 0)
				return -1;
			nl = rd16(p + s + 3);
			if (nl > se - s - 5)
				return -1;
			for (size_t k = 0; k < nl && k + 1 < outsz; k++) {
				uint8_t c = p[s + 5 + k];
				out[k] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
				out[k + 1] = '\0';
			}
			return 1;
		}
		off += el;
	}
	return 0;
}

size_t
net_ssh_banner(const uint8_t *p, size_t n)
{
	size_t l = 0;

	if (n < 8 || memcmp(p, "SSH-", 4) != 0)
		return 0;
	/* RFC 4253: at most 255 bytes including CR LF */
	while (l < n && l < 253 && p[l] != '\r' && p[l] != '\n') {
		if (p[l] < 0x20 || p[l] >= 0x7F)
			return 0;
		l++;
	}
	return l;
}

/* Slice of the header value named name (lower case, with ':') in head[0..n). */
static void
http_header(const uint8_t *p, size_t n, const char *name, const uint8_t **v, size_t *vl)
{
	size_t nl = strlen(name), i = 0;

	while (i < n) {
		size_t e = i;
		while (e < n && p[e] != '\n')
			e++;
		if (e - i > nl) {
			size_t k;
			for (k = 0; k < nl; k++) {
				uint8_t c = p[i + k];
				if (c >= 'A' && c <= 'Z')
					c = (uint8_t)(c + 32);
				if (c != (uint8_t)name[k])
					break;
			}
			if (k == nl) {
				size_t s = i + nl, t = e;
				while (s < t && (p[s] == ' ' || p[s] == '\t'))
					s++;
				while (t > s && (p[t - 1] == '\r' || p[t - 1] == ' '))
					t--;
				*v = p + s;
				*vl = t - s;
				return;
			}
		}
		if (e == i || (e == i + 1 && p[i] == '\r'))
			return;	/* end of the head */
		i = e + 1;
	}
}

int
net_http_request(const uint8_t *p, size_t n, struct net_http *h)
{
	static const char *const methods[] = {
		"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ",
		"CONNECT ", "TRACE ", "PROPFIND ",
	};
	size_t m = 0, e, u;

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t l = strlen(methods[i]);
		if (n > l && memcmp(p, methods[i], l) == 0) {
			m = l - 1;
			break;
		}
	}
	if (m == 0)
		return -1;
	e = m + 1;
	u = e;
	while (e < n && p[e] != ' ' && p[e] != '\r' && p[e] != '\n')
		e++;
	if (e == u || e + 9 > n || memcmp(p + e, " HTTP/1.", 8) != 0)
		return -1;
	h->method = p;
	h->method_len = m;
	h->uri = p + u;
	h->uri_len = e - u;
	http_header(p, n, "host:", &h->host, &h->host_len);
	http_header(p, n, "user-agent:", &h->ua, &h->ua_len);
	/*
	 * host without its port, as Zeek logs it: public rules read the name
	 * (host|endswith: '.ru'), which a server on port 8080 must not hide.
	 * Only a last ":digits" after a name or a "[v6]" goes; a bare IPv6
	 * address (more than one ':') is left as it is.
	 */
	if (h->host != NULL) {
		size_t l = h->host_len, c = l, colons = 0;
		while (c > 0 && h->host[c - 1] >= '0' && h->host[c - 1] <= '9')
			c--;
		for (size_t k = 0; k < l; k++)
			colons += h->host[k] == ':';
		if (c > 1 && h->host[c - 1] == ':' && (colons == 1 || h->host[c - 2] == ']'))
			h->host_len = c - 1;
	}
	return 0;
}
