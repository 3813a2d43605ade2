/*
 * net – packets in, Zeek-style JSON events out (library minisoc_net).
 *
 * net_decode   one captured packet → struct net_pkt (link, IP, transport),
 *              every length checked against the captured bytes;
 * net_flow     a bounded table of connections (conn events), the
 *              per-source scan/flood counters (scan events);
 * net_proto    DNS, TLS ClientHello SNI, SSH banners, HTTP request line;
 * net_event    the JSON lines.
 *
 * No allocation per packet: every table is allocated once by net_new.
 * Time is the packets' own (microseconds since the epoch), so a pcap file
 * replays exactly as it was captured; a live capture calls net_tick with the
 * wall clock when no packet comes. Not thread-safe: one struct net per
 * capture thread. See docs/network.md.
 */
#ifndef NET_H
#define NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types we decode (the pcap LINKTYPE_ numbers, as in pcap files). */
#define NET_LINK_NULL		0	/* BSD loopback: 4-byte family in host order */
#define NET_LINK_ETHERNET	1
#define NET_LINK_RAW		101	/* raw IPv4 or IPv6 */
#define NET_LINK_SLL		113	/* Linux cooked capture v1 */
#define NET_LINK_IPV4		228
#define NET_LINK_IPV6		229
#define NET_LINK_SLL2		276	/* Linux cooked capture v2 */

/* Why a packet was not decoded (struct net_stats counts each). */
enum net_err {
	NET_OK = 0,
	NET_ERR_TRUNCATED,	/* a header runs past the captured bytes */
	NET_ERR_MALFORMED,	/* a header contradicts itself (bad version, length) */
	NET_ERR_LINK,		/* a link type we do not decode */
	NET_ERR_NOT_IP,		/* ARP, LLDP ...: not counted as an error */
	NET_ERR_COUNT,
};

/* Transport protocol numbers used below. */
#define NET_TCP		6
#define NET_UDP		17
#define NET_ICMP	1
#define NET_ICMP6	58

/* TCP flags. */
#define NET_TH_FIN	0x01
#define NET_TH_SYN	0x02
#define NET_TH_RST	0x04
#define NET_TH_PSH	0x08
#define NET_TH_ACK	0x10

/* One decoded packet. Pointers borrow the captured bytes. */
struct net_pkt {
	uint8_t src[16];	/* IPv4 as ::ffff:a.b.c.d */
	uint8_t dst[16];
	uint8_t ipv;		/* 4 or 6 */
	uint8_t proto;		/* NET_TCP, NET_UDP, NET_ICMP, NET_ICMP6, other */
	uint8_t tcp_flags;
	uint8_t vlans;		/* VLAN tags stripped */
	bool fragment;		/* a non-first fragment, or a first one: ports unknown / partial */
	uint16_t sport;		/* TCP/UDP ports; ICMP: type in sport, code in dport */
	uint16_t dport;
	uint16_t icmp_id;	/* ICMP echo identifier */
	uint32_t ip_len;	/* IP packet length as the header says (wire bytes) */
	const uint8_t *payload;	/* transport payload, as far as captured */
	uint32_t payload_len;	/* captured payload bytes */
	uint32_t wire_payload;	/* payload bytes the headers announce (may exceed the capture) */
};

/*
 * Decodes one packet of link type link, caplen bytes captured at p.
 * Returns NET_OK and fills *pkt, or the reason it was skipped (pkt then
 * unspecified). Reads nothing outside p[0..caplen).
 */
enum net_err net_decode(int link, const uint8_t *p, size_t caplen, struct net_pkt *pkt);

/* Whether link is a link type net_decode knows. */
bool net_link_supported(int link);

struct net_conf {
	uint32_t flow_max;		/* connections tracked at once (rounded up to 8) */
	int64_t tcp_idle_us;		/* an established connection ends after this silence */
	int64_t attempt_idle_us;	/* an unanswered attempt / UDP / ICMP flow */
	int64_t linger_us;		/* a closed connection absorbs stray packets this long */
	uint32_t scan_sources;		/* sources with scan counters at once */
	int64_t scan_window_us;		/* counter window per source */
	uint32_t scan_min_ports;	/* a window is reported from this many ports ... */
	uint32_t scan_min_hosts;	/* ... or hosts ... */
	uint32_t scan_min_syn;		/* ... or SYNs */
	uint32_t attempts_per_window;	/* unanswered/rejected conn events per source and window */
	uint32_t attempts_per_s;	/* ... and in all, per second of packet time (floods
					   from many sources); the rest count per destination */
};

/* Fills c with the defaults (docs/network.md). */
void net_conf_defaults(struct net_conf *c);

struct net_stats {
	uint64_t packets;
	uint64_t bytes;			/* captured bytes */
	uint64_t err[NET_ERR_COUNT];	/* by enum net_err (NET_OK: decoded) */
	uint64_t fragments;		/* IP fragments (counted, not reassembled) */
	uint64_t flows;			/* connections created */
	uint64_t flows_evicted;		/* pushed out of a full table before their end */
	uint64_t flows_active;
	uint64_t sources_evicted;	/* scan counters pushed out of a full table */
	uint64_t attempts_suppressed;	/* conn events folded into a scan event */
	uint64_t app_suppressed;	/* http/dns/ssl events withheld (a flow's cap, the budget) */
	uint64_t events;		/* JSON lines emitted */
	uint64_t events_truncated;	/* lines cut at NET_EVENT_MAX */
	uint64_t proto_errors;		/* DNS/TLS/SSH/HTTP payloads that did not parse */
};

/* Longest event line. */
#define NET_EVENT_MAX 4096

/*
 * Receives one event: line (len bytes, no newline, NUL-terminated, borrowed
 * until the callback returns) and its time (µs since the epoch).
 */
typedef void (*net_emit_fn)(const char *line, size_t len, int64_t ts_us, void *arg);

struct net;

/* A tracker with conf c (NULL: defaults); NULL when out of memory. Owns its tables. */
struct net *net_new(const struct net_conf *c, net_emit_fn emit, void *arg);
void net_free(struct net *n);

/*
 * One captured packet: decoded, counted, tracked; events go to emit before
 * this returns. ts_us is the capture time, wirelen the length on the wire.
 */
void net_packet(struct net *n, int link, int64_t ts_us, const uint8_t *p, size_t caplen,
    uint32_t wirelen);
/* Time moved to now_us without packets (live capture): ends idle flows and windows. */
void net_tick(struct net *n, int64_t now_us);
/* End of input: every connection and window still open is reported. */
void net_flush(struct net *n);
const struct net_stats *net_get_stats(const struct net *n);

/* --- net_pcap.c: libpcap glue ------------------------------------------ */

/* The NET_LINK_ type of a libpcap DLT_ value, or -1 when we do not decode it. */
int net_link_from_dlt(int dlt);
/*
 * Runs every packet of the pcap or pcapng file at path through n (no
 * flush: the caller decides). 0, or -1 with a message in err when the file
 * cannot be opened, has a link type we do not decode, or is cut short (the
 * packets before the damage were processed).
 */
int net_pcap_file(struct net *n, const char *path, char *err, size_t errsz);

/* --- net_proto.c: application metadata (exposed for tests and fuzzing) --- */

#define NET_DNS_MAX_ANSWERS 8

struct net_dns {
	char query[256];	/* dotted, lower case as sent */
	uint16_t qtype;
	uint16_t rcode;
	bool response;
	bool aa, tc, rd, ra;	/* header flags */
	uint8_t z;		/* the reserved Z bits (Zeek's "Z") */
	uint16_t qclass;
	uint16_t id;
	unsigned nanswers;
	char answers[NET_DNS_MAX_ANSWERS][128];	/* A/AAAA text, CNAME/PTR/NS/MX names */
	uint32_t walked;	/* bytes of names read: the parse's work (tests) */
};

/*
 * Parses one DNS message (no TCP length prefix). 0, or -1 when it is not
 * one (a name over 255 bytes is malformed). At most 64 answer records are
 * walked and at most 4 bytes of names per message byte (+ 1,024) read:
 * past either the rest is left, the answers so far kept.
 */
int net_dns_parse(const uint8_t *p, size_t n, struct net_dns *out);
const char *net_dns_qtype_name(uint16_t t);	/* "A", "AAAA", ... or NULL */
const char *net_dns_rcode_name(uint16_t r);	/* "NOERROR", "NXDOMAIN", ... or NULL */
/*
 * The server name of a TLS ClientHello record at p (first bytes of a
 * client's stream) into out (outsz >= 1). 1 found, 0 a ClientHello without
 * SNI, -1 not a (complete) ClientHello.
 */
int net_tls_sni(const uint8_t *p, size_t n, char *out, size_t outsz);
/* "SSH-2.0-..." banner line at p: its length without CR/LF, or 0 when not one. */
size_t net_ssh_banner(const uint8_t *p, size_t n);

struct net_http {
	const uint8_t *method, *uri, *host, *ua;
	size_t method_len, uri_len, host_len, ua_len;
};
/* An HTTP/1.x request head at p: 0 and the slices, or -1 when it is not one. */
int net_http_request(const uint8_t *p, size_t n, struct net_http *out);

/* Text of a 16-byte address (IPv4-mapped as dotted quad) into out (>= 46 bytes). */
void net_addr_fmt(const uint8_t a[16], char *out, size_t outsz);

#endif
