/*
 * net_flow – connections and per-source scan counters, and the events
 * they produce.
 *
 * Flow table: buckets of NET_WAYS entries (a 32-bit tag per entry checked
 * first), key = the two endpoints in a fixed order plus the protocol, so
 * both directions find the same entry. A full bucket gives up its least
 * recently seen entry (reported, counted in flows_evicted): the table never
 * grows. A connection ends on RST, on FIN from both sides, or after
 * tcp_idle_us (answered TCP) / attempt_idle_us (the rest) without packets;
 * a closed entry stays linger_us to absorb the last ACKs and
 * retransmissions silently.
 *
 * Scan counters: one entry per source that opens things (TCP SYN, a TCP
 * segment that finds no flow – FIN, NULL, XMAS, ACK, data: a probe –, ICMP
 * echo request, a new UDP flow), in the same kind of table; per window of
 * scan_window_us from its first packet: SYNs, probes, SYN-ACKs and RSTs
 * coming back, echo requests and replies, distinct destination ports (a
 * 64 Ki-bit set: exact) and hosts (exact up to SCAN_HOSTS, then saturated).
 * A window above a floor becomes one "scan" event. Beyond
 * attempts_per_window unanswered attempts (SYNs, probes, UDP flows), a
 * source's further attempts no longer get flow entries and its flows that
 * are not conversations no longer get events: a flood or a full port scan,
 * whatever its flags, costs a handful of events, and the flow table is not
 * flushed by it.
 *
 * Time only moves forward with the packets (or net_tick); every second of
 * it both tables are swept for what ended.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "net_int.h"

#define NET_WAYS	8
#define SCAN_HOSTS	256	/* distinct hosts counted exactly per window */
#define SCAN_FEW	16	/* ports / hosts a reset clears one by one */
#define NET_DSTS	64	/* destinations with failed-attempt counters */
#define SWEEP_US	1000000
#define APP_BURST	32	/* http/dns events of a flow, then ... */
#define APP_EVERY_MS	1000	/* ... one a second at most */

enum flow_hist {
	H_SYN = 1 << 0,		/* orig SYN */
	H_SYNACK = 1 << 1,	/* resp SYN+ACK */
	H_FIN_O = 1 << 2,
	H_FIN_R = 1 << 3,
	H_RST_O = 1 << 4,
	H_RST_R = 1 << 5,
	H_DATA_O = 1 << 6,
	H_DATA_R = 1 << 7,
};

enum flow_service { SVC_NONE = 0, SVC_DNS, SVC_HTTP, SVC_SSL, SVC_SSH };

/* flow.probe: a flow not opened by a SYN (TCP) or any flow of UDP / ICMP */
enum flow_probe {
	P_OPENER_R = 1 << 0,	/* its first packet came from the responder */
	P_ANSWERED = 1 << 1,	/* the other side sent a packet that was not a RST */
	P_PROBE = 1 << 2,	/* TCP without SYN: counted as a probe of its opener */
};

/* flow.grant: whether a flow that is not a conversation gets its events */
enum flow_grant { G_UNDECIDED = 0, G_REPORT, G_FOLD };
static const char *const svc_names[] = { NULL, "dns", "http", "ssl", "ssh" };

struct nkey {
	uint8_t lo[16];
	uint8_t hi[16];
	uint16_t plo;
	uint16_t phi;
	uint8_t proto;
	uint8_t pad[3];
};

#define SSH_BANNER 80

struct flow {
	struct nkey k;
	int64_t first_us;
	int64_t last_us;
	uint64_t bytes[2];	/* payload bytes, [0] from the originator */
	uint32_t pkts[2];
	uint64_t hash;
	uint16_t hist;
	uint8_t orig_lo;	/* the originator is k.lo */
	uint8_t closed;
	uint8_t service;
	uint8_t seen;		/* bit d: direction d carried payload already */
	uint8_t ssh_side;	/* bit d: the banner of direction d is in u.ssh[d] */
	uint8_t ssh_done;
	uint8_t dns_pending;	/* u.dns holds a query not answered yet */
	uint8_t probe;		/* enum flow_probe */
	uint8_t grant;		/* enum flow_grant */
	uint8_t napp;		/* http/dns events so far (saturates) */
	uint32_t app_ms;	/* time of the last one, ms after first_us */
	/* kept last: a new flow clears everything before it only */
	union {
		char ssh[2][SSH_BANNER];	/* SSH: the version banners */
		struct {			/* DNS (port 53 only, never SSH) */
			int64_t ts_us;
			uint16_t id;
			uint16_t qtype;
			uint16_t qclass;
			uint8_t proto;
			/* the query's AA TC RD RA (bits 0-3) and Z (4-6): logged without answer */
			uint8_t hdr;
			char query[2 * SSH_BANNER - 16];
		} dns;
	} u;
};

struct src {
	uint8_t addr[16];
	int64_t start_us;
	int64_t last_us;
	uint32_t syn, syn_ack, rst_in, echo_req, echo_reply, udp;
	uint32_t probes;	/* TCP segments without SYN that opened a flow (or would have) */
	uint32_t answered;	/* probes and UDP flows the other side answered */
	uint32_t probes_answered;	/* of them probes: a conversation seen mid-stream */
	uint32_t nports, nhosts;
	uint32_t attempts_logged, suppressed;
	/*
	 * The first ports and host slots set, so a reset clears just those:
	 * a spoofed flood makes a new source per packet, and clearing 9 KiB
	 * each time would cost more than everything else.
	 */
	uint16_t first_ports[SCAN_FEW];
	uint16_t first_hosts[SCAN_FEW];
	uint32_t hosts[SCAN_HOSTS];	/* hashed addresses, 0 empty */
	uint64_t ports[65536 / 64];
};

/*
 * Failed attempts (S0, REJ) per destination: a flood from many (spoofed)
 * sources shows here, not in any one source's counters.
 */
struct dst {
	uint8_t addr[16];
	bool used;
	int64_t start_us;
	int64_t last_us;
	uint32_t attempts;
	uint32_t suppressed;
	uint32_t nsrcs;
	uint32_t srcs[SCAN_HOSTS];	/* hashed source addresses, 0 empty */
};

struct net {
	struct net_conf c;
	net_emit_fn emit;
	void *arg;
	struct net_stats st;
	uint32_t nbuckets;	/* power of two */
	uint32_t *tags;		/* nbuckets * NET_WAYS, 0 = free */
	struct flow *flows;
	uint32_t nsbuckets;
	uint32_t *stags;
	struct src *srcs;
	struct dst *dsts;	/* NET_DSTS */
	double tokens;		/* global budget of attempt events (attempts_per_s) */
	int64_t tokens_us;
	int64_t now_us;
	int64_t next_sweep_us;
	char line[NET_EVENT_MAX];
};

void
net_conf_defaults(struct net_conf *c)
{
	c->flow_max = 16384;
	c->tcp_idle_us = 300 * 1000000LL;
	c->attempt_idle_us = 30 * 1000000LL;
	c->linger_us = 5 * 1000000LL;
	c->scan_sources = 512;
	c->scan_window_us = 60 * 1000000LL;
	c->scan_min_ports = 20;
	c->scan_min_hosts = 10;
	c->scan_min_syn = 200;
	c->attempts_per_window = 100;
	c->attempts_per_s = 200;
}

static uint32_t
pow2_buckets(uint32_t entries)
{
	uint32_t b = 1;

	while (b * NET_WAYS < entries && b < (1u << 24))
		b <<= 1;
	return b;
}

struct net *
net_new(const struct net_conf *c, net_emit_fn emit, void *arg)
{
	struct net *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	if (c)
		n->c = *c;
	else
		net_conf_defaults(&n->c);
	n->emit = emit;
	n->arg = arg;
	n->nbuckets = pow2_buckets(n->c.flow_max ? n->c.flow_max : 8);
	n->nsbuckets = pow2_buckets(n->c.scan_sources ? n->c.scan_sources : 8);
	n->tags = calloc((size_t)n->nbuckets * NET_WAYS, sizeof(*n->tags));
	n->flows = calloc((size_t)n->nbuckets * NET_WAYS, sizeof(*n->flows));
	n->stags = calloc((size_t)n->nsbuckets * NET_WAYS, sizeof(*n->stags));
	n->srcs = calloc((size_t)n->nsbuckets * NET_WAYS, sizeof(*n->srcs));
	n->dsts = calloc(NET_DSTS, sizeof(*n->dsts));
	n->tokens = (double)n->c.attempts_per_s;
	if (!n->tags || !n->flows || !n->stags || !n->srcs || !n->dsts) {
		net_free(n);
		return NULL;
	}
	return n;
}

void
net_free(struct net *n)
{
	if (n == NULL)
		return;
	free(n->tags);
	free(n->flows);
	free(n->stags);
	free(n->srcs);
	free(n->dsts);
	free(n);
}

const struct net_stats *
net_get_stats(const struct net *n)
{
	return &n->st;
}

/* --- hashing ---------------------------------------------------------- */

static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Keys are whole 8-byte words (16 or 40 bytes): one multiply a word, one final mix. */
static inline uint64_t
hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h = (h << 31) | (h >> 33);
	}
	return mix64(h);
}

static inline uint32_t
tag_of(uint64_t h)
{
	uint32_t t = (uint32_t)(h >> 32);
	return t ? t : 1;
}

/* --- events ----------------------------------------------------------- */

static void
emit_line(struct net *n, struct net_jw *w, int64_t ts_us)
{
	size_t len;

	if (w->trunc)
		n->st.events_truncated++;
	len = net_jw_end(w);
	n->st.events++;
	if (n->emit)
		n->emit(n->line, len, ts_us, n->arg);
}

static void
flow_uid(const struct flow *f, char out[18])
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t v = mix64(f->hash ^ (uint64_t)f->first_us);

	out[0] = 'C';
	for (int i = 1; i < 17; i++) {
		out[i] = digits[v % 62];
		v /= 62;
		if (v == 0)
			v = mix64((uint64_t)i ^ f->hash);
	}
	out[17] = '\0';
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case NET_TCP: return "tcp";
	case NET_UDP: return "udp";
	case NET_ICMP: case NET_ICMP6: return "icmp";
	default: return "unknown_transport";
	}
}

/* Starts an event about flow f with Zeek's uid and id.* fields. */
static void
flow_event_begin(struct net *n, struct net_jw *w, const char *path, const struct flow *f,
    int64_t ts_us)
{
	char uid[18];
	const uint8_t *oh = f->orig_lo ? f->k.lo : f->k.hi, *rh = f->orig_lo ? f->k.hi : f->k.lo;
	uint16_t op = f->orig_lo ? f->k.plo : f->k.phi, rp = f->orig_lo ? f->k.phi : f->k.plo;

	net_jw_begin(w, n->line, sizeof(n->line), path, ts_us);
	flow_uid(f, uid);
	net_jw_cstr(w, "uid", uid);
	net_jw_addr(w, "id.orig_h", oh);
	net_jw_u64(w, "id.orig_p", op);
	net_jw_addr(w, "id.resp_h", rh);
	net_jw_u64(w, "id.resp_p", rp);
}

/* Zeek's conn_state from what the connection showed. */
static const char *
flow_state(const struct flow *f)
{
	uint16_t h = f->hist;

	if (f->k.proto != NET_TCP)
		return f->pkts[1] ? "SF" : "S0";
	if (h & H_SYN) {
		if (!(h & H_SYNACK)) {
			if (h & H_RST_R)
				return "REJ";
			if (h & H_FIN_O)
				return "SH";
			return "S0";
		}
		if (h & H_RST_O)
			return "RSTO";
		if (h & H_RST_R)
			return "RSTR";
		if ((h & H_FIN_O) && (h & H_FIN_R))
			return "SF";
		if (h & H_FIN_O)
			return "S2";
		if (h & H_FIN_R)
			return "S3";
		return "S1";
	}
	if (h & H_SYNACK)
		return "SHR";
	return "OTH";
}

static struct src *src_find(struct net *n, const uint8_t addr[16]);
static struct src *src_get(struct net *n, const uint8_t addr[16], int64_t now);
static void src_port(struct src *s, uint16_t port);
static void src_host(struct src *s, const uint8_t addr[16]);
static void dst_attempt(struct net *n, const uint8_t dst[16], const uint8_t src[16],
    bool suppressed, int64_t now);

/* One attempt event out of the global budget (refilled by packet time). */
static bool
attempt_token(struct net *n)
{
	double rate = (double)n->c.attempts_per_s;

	if (n->c.attempts_per_s == 0)
		return true;
	if (n->now_us > n->tokens_us) {
		n->tokens += (double)(n->now_us - n->tokens_us) * rate / 1e6;
		if (n->tokens > rate)
			n->tokens = rate;
		n->tokens_us = n->now_us;
	}
	if (n->tokens < 1.0)
		return false;
	n->tokens -= 1.0;
	return true;
}

/*
 * Whether f is a conversation: a TCP handshake, or (TCP without SYN, UDP,
 * ICMP) the side that did not open it answered with something else than a
 * RST. Only conversations get their events whatever the budgets.
 */
static bool
flow_conversation(const struct flow *f)
{
	if (f->k.proto == NET_TCP && !(f->probe & P_PROBE))
		return (f->hist & (H_SYN | H_SYNACK)) == (H_SYN | H_SYNACK);
	return (f->probe & P_ANSWERED) != 0;
}

/* The side that sent f's first packet: its address, the other's and the port it went to. */
static void
flow_opener(const struct flow *f, const uint8_t **src, const uint8_t **dst, uint16_t *dport)
{
	bool lo = (f->orig_lo != 0) != ((f->probe & P_OPENER_R) != 0);

	*src = lo ? f->k.lo : f->k.hi;
	*dst = lo ? f->k.hi : f->k.lo;
	*dport = lo ? f->k.phi : f->k.plo;
}

/*
 * Whether the events of f go out. A flow that is not a conversation
 * (S0, REJ, SH, OTH without answer, an unanswered or reply-only UDP flow)
 * is decided once, at its first event: beyond its opener's
 * attempts_per_window, or the global attempts_per_s (many sources), it is
 * folded into the scan events. Every one counts for its destination.
 */
static bool
flow_granted(struct net *n, struct flow *f)
{
	const uint8_t *oa, *ra;
	uint16_t dp;
	struct src *s;
	bool over_src, over_all;

	if (flow_conversation(f))
		return true;
	if (f->grant != G_UNDECIDED)
		return f->grant == G_REPORT;
	flow_opener(f, &oa, &ra, &dp);
	s = src_find(n, oa);
	over_src = s != NULL && s->attempts_logged >= n->c.attempts_per_window;
	over_all = !over_src && !attempt_token(n);
	dst_attempt(n, ra, oa, over_src || over_all, f->last_us);
	if (over_src || over_all) {
		if (over_src)
			s->suppressed++;
		n->st.attempts_suppressed++;
		f->grant = G_FOLD;
		return false;
	}
	if (s != NULL)
		s->attempts_logged++;
	f->grant = G_REPORT;
	return true;
}

/*
 * Whether one more http/dns/ssl event of f may go out: a flow that is not
 * a conversation needs its grant and one more token of the global budget
 * (a spoofed packet costs no more events than a spoofed SYN); any flow gets
 * APP_BURST of them, then one every APP_EVERY_MS. The rest are counted.
 */
static bool
flow_app_ok(struct net *n, struct flow *f, int64_t now)
{
	uint32_t ms = (uint32_t)((now - f->first_us) / 1000);

	if (!flow_granted(n, f) || (!flow_conversation(f) && !attempt_token(n)))
		goto fold;
	if (f->napp < APP_BURST)
		f->napp++;
	else if (ms - f->app_ms < APP_EVERY_MS)
		goto fold;
	f->app_ms = ms;
	return true;
fold:
	n->st.app_suppressed++;
	return false;
}

/* An SSH event from the banners seen (once per connection). */
static void
flow_emit_ssh(struct net *n, struct flow *f, int64_t ts_us)
{
	struct net_jw w;

	if (f->ssh_done || f->ssh_side == 0)
		return;
	f->ssh_done = 1;
	flow_event_begin(n, &w, "ssh", f, ts_us);
	if (f->ssh_side & 1)
		net_jw_cstr(&w, "client", f->u.ssh[0]);
	if (f->ssh_side & 2)
		net_jw_cstr(&w, "server", f->u.ssh[1]);
	emit_line(n, &w, ts_us);
}

/* A DNS query that got no answer (before the next query, or by the end). */
static void
flow_emit_dns_unanswered(struct net *n, struct flow *f)
{
	struct net_jw w;
	const char *name;

	if (!f->dns_pending)
		return;
	f->dns_pending = 0;
	if (!flow_app_ok(n, f, n->now_us))
		return;
	flow_event_begin(n, &w, "dns", f, f->u.dns.ts_us);
	net_jw_cstr(&w, "proto", proto_name(f->u.dns.proto));
	net_jw_u64(&w, "trans_id", f->u.dns.id);
	net_jw_cstr(&w, "query", f->u.dns.query);
	/*
	 * The query's header as Zeek logs it for a query without answer: a
	 * rule "not Z: 0" (SigmaHQ zeek_dns_susp_zbit_flag) must not fire on
	 * every lost query for want of Z.
	 */
	net_jw_u64(&w, "qclass", f->u.dns.qclass);
	if (f->u.dns.qclass == 1)
		net_jw_cstr(&w, "qclass_name", "C_INTERNET");
	net_jw_u64(&w, "qtype", f->u.dns.qtype);
	if ((name = net_dns_qtype_name(f->u.dns.qtype)) != NULL)
		net_jw_cstr(&w, "qtype_name", name);
	net_jw_bool(&w, "AA", (f->u.dns.hdr & 1) != 0);
	net_jw_bool(&w, "TC", (f->u.dns.hdr & 2) != 0);
	net_jw_bool(&w, "RD", (f->u.dns.hdr & 4) != 0);
	net_jw_bool(&w, "RA", (f->u.dns.hdr & 8) != 0);
	net_jw_u64(&w, "Z", f->u.dns.hdr >> 4);
	emit_line(n, &w, f->u.dns.ts_us);
}

/* The conn event of f (it ended, timed out or was evicted). */
static void
flow_emit_conn(struct net *n, struct flow *f)
{
	struct net_jw w;
	const char *state = flow_state(f);

	if ((f->probe & (P_PROBE | P_ANSWERED)) == P_PROBE) {
		/*
		 * A probe's port and host count once it ended unanswered: a
		 * busy server seen mid-stream (its clients answer) is no scanner.
		 */
		const uint8_t *oa, *ra;
		uint16_t dp;
		struct src *s;

		flow_opener(f, &oa, &ra, &dp);
		s = src_get(n, oa, n->now_us);
		src_port(s, dp);
		src_host(s, ra);
	}
	if (!flow_granted(n, f))
		return;
	if (f->service == SVC_SSH)
		flow_emit_ssh(n, f, f->last_us);
	if (f->service == SVC_DNS)
		flow_emit_dns_unanswered(n, f);
	flow_event_begin(n, &w, "conn", f, f->first_us);
	net_jw_cstr(&w, "proto", proto_name(f->k.proto));
	if (f->service != SVC_NONE)
		net_jw_cstr(&w, "service", svc_names[f->service]);
	net_jw_time(&w, "duration", f->last_us - f->first_us);
	net_jw_u64(&w, "orig_bytes", f->bytes[0]);
	net_jw_u64(&w, "resp_bytes", f->bytes[1]);
	net_jw_cstr(&w, "conn_state", state);
	net_jw_u64(&w, "orig_pkts", f->pkts[0]);
	net_jw_u64(&w, "resp_pkts", f->pkts[1]);
	emit_line(n, &w, f->first_us);
}

/* --- scan counters ---------------------------------------------------- */

static struct src *
src_find(struct net *n, const uint8_t addr[16])
{
	uint64_t h = hash_bytes(addr, 16);
	uint32_t t = tag_of(h), b = (uint32_t)h & (n->nsbuckets - 1);

	for (int i = 0; i < NET_WAYS; i++) {
		size_t k = (size_t)b * NET_WAYS + (size_t)i;
		if (n->stags[k] == t && memcmp(n->srcs[k].addr, addr, 16) == 0)
			return &n->srcs[k];
	}
	return NULL;
}

/* The window of s ended: one scan event when it was above the floor. */
static void
src_report(struct net *n, struct src *s)
{
	struct net_jw w;
	uint32_t unanswered = s->syn > s->syn_ack ? s->syn - s->syn_ack : 0;
	/*
	 * Probes the other side answered are conversations the agent saw
	 * mid-stream (after its start, or once the flow table let them go):
	 * a busy server's 200 of them are no scan.
	 */
	uint32_t probes_unanswered = s->probes > s->probes_answered ?
	    s->probes - s->probes_answered : 0;

	if (s->nports < n->c.scan_min_ports && s->nhosts < n->c.scan_min_hosts &&
	    s->syn < n->c.scan_min_syn && probes_unanswered < n->c.scan_min_syn &&
	    s->suppressed == 0)
		return;
	net_jw_begin(&w, n->line, sizeof(n->line), "scan", s->start_us);
	net_jw_cstr(&w, "scope", "source");
	net_jw_addr(&w, "id.orig_h", s->addr);
	net_jw_time(&w, "duration", s->last_us - s->start_us);
	net_jw_u64(&w, "syn", s->syn);
	net_jw_u64(&w, "syn_ack", s->syn_ack);
	net_jw_u64(&w, "syn_unanswered", unanswered);
	net_jw_u64(&w, "rst_in", s->rst_in);
	net_jw_u64(&w, "probes", s->probes);
	net_jw_u64(&w, "probes_unanswered", probes_unanswered);
	net_jw_u64(&w, "echo_req", s->echo_req);
	net_jw_u64(&w, "echo_reply", s->echo_reply);
	net_jw_u64(&w, "udp_flows", s->udp);
	net_jw_u64(&w, "distinct_ports", s->nports);
	net_jw_u64(&w, "distinct_hosts", s->nhosts);
	net_jw_u64(&w, "attempts_suppressed", s->suppressed);
	emit_line(n, &w, s->start_us);
}

static void
src_reset(struct src *s, int64_t now)
{
	uint8_t addr[16];

	if (s->nports <= SCAN_FEW) {
		for (uint32_t i = 0; i < s->nports; i++)
			s->ports[s->first_ports[i] >> 6] = 0;
	} else {
		memset(s->ports, 0, sizeof(s->ports));
	}
	if (s->nhosts <= SCAN_FEW) {
		for (uint32_t i = 0; i < s->nhosts; i++)
			s->hosts[s->first_hosts[i]] = 0;
	} else {
		memset(s->hosts, 0, sizeof(s->hosts));
	}
	memcpy(addr, s->addr, 16);
	memset(s, 0, offsetof(struct src, first_ports));
	memcpy(s->addr, addr, 16);
	s->start_us = s->last_us = now;
}

/* The counters of source addr at time now (a new window when the last one ended). */
static struct src *
src_get(struct net *n, const uint8_t addr[16], int64_t now)
{
	uint64_t h = hash_bytes(addr, 16);
	uint32_t t = tag_of(h), b = (uint32_t)h & (n->nsbuckets - 1);
	size_t base = (size_t)b * NET_WAYS, victim = base;
	struct src *s;

	for (int i = 0; i < NET_WAYS; i++) {
		size_t k = base + (size_t)i;
		if (n->stags[k] == t && memcmp(n->srcs[k].addr, addr, 16) == 0) {
			s = &n->srcs[k];
			if (now - s->start_us >= n->c.scan_window_us) {
				src_report(n, s);
				src_reset(s, now);
			}
			if (now > s->last_us)
				s->last_us = now;
			return s;
		}
		if (n->stags[victim] != 0 &&
		    (n->stags[k] == 0 || n->srcs[k].last_us < n->srcs[victim].last_us))
			victim = k;
	}
	s = &n->srcs[victim];
	if (n->stags[victim] != 0) {
		n->st.sources_evicted++;
		src_report(n, s);
	}
	n->stags[victim] = t;
	memcpy(s->addr, addr, 16);
	src_reset(s, now);
	return s;
}

static void
src_port(struct src *s, uint16_t port)
{
	uint64_t bit = 1ULL << (port & 63);

	if (!(s->ports[port >> 6] & bit)) {
		s->ports[port >> 6] |= bit;
		if (s->nports < SCAN_FEW)
			s->first_ports[s->nports] = port;
		s->nports++;
	}
}

static void
src_host(struct src *s, const uint8_t addr[16])
{
	uint32_t h = (uint32_t)hash_bytes(addr, 16) | 1;

	if (s->nhosts >= SCAN_HOSTS)
		return;
	for (uint32_t i = 0, k = h & (SCAN_HOSTS - 1); i < SCAN_HOSTS;
	    i++, k = (k + 1) & (SCAN_HOSTS - 1)) {
		if (s->hosts[k] == h)
			return;
		if (s->hosts[k] == 0) {
			s->hosts[k] = h;
			if (s->nhosts < SCAN_FEW)
				s->first_hosts[s->nhosts] = (uint16_t)k;
			s->nhosts++;
			return;
		}
	}
}

/*
 * Too many unanswered attempts (SYNs, probes, UDP flows) this window: no
 * more flow entries for this source.
 */
static bool
src_over(const struct net *n, const struct src *s)
{
	uint32_t tried = s->syn + s->probes + s->udp, got = s->syn_ack + s->answered;

	return tried > got && tried - got > n->c.attempts_per_window;
}

/* --- failed attempts per destination ----------------------------------- */

static void
dst_report(struct net *n, struct dst *d)
{
	struct net_jw w;

	if (d->attempts >= n->c.scan_min_syn || d->suppressed > 0) {
		net_jw_begin(&w, n->line, sizeof(n->line), "scan", d->start_us);
		net_jw_cstr(&w, "scope", "target");
		net_jw_addr(&w, "id.resp_h", d->addr);
		net_jw_time(&w, "duration", d->last_us - d->start_us);
		net_jw_u64(&w, "attempts", d->attempts);
		net_jw_u64(&w, "attempts_suppressed", d->suppressed);
		net_jw_u64(&w, "distinct_sources", d->nsrcs);
		emit_line(n, &w, d->start_us);
	}
	d->used = false;
}

static void
dst_attempt(struct net *n, const uint8_t dst[16], const uint8_t src[16], bool suppressed,
    int64_t now)
{
	struct dst *d = NULL, *victim = &n->dsts[0];
	uint32_t h;

	for (int i = 0; i < NET_DSTS; i++) {
		struct dst *e = &n->dsts[i];
		if (e->used && memcmp(e->addr, dst, 16) == 0) {
			d = e;
			break;
		}
		if (victim->used && (!e->used || e->last_us < victim->last_us))
			victim = e;
	}
	if (d != NULL && now - d->start_us >= n->c.scan_window_us)
		dst_report(n, d);	/* its window ended: a new one */
	if (d == NULL || !d->used) {
		if (d == NULL) {
			d = victim;
			if (d->used)
				dst_report(n, d);
		}
		memset(d, 0, sizeof(*d));
		memcpy(d->addr, dst, 16);
		d->used = true;
		d->start_us = now;
	}
	if (now > d->last_us)
		d->last_us = now;
	d->attempts++;
	if (suppressed)
		d->suppressed++;
	if (d->nsrcs >= SCAN_HOSTS)
		return;
	h = (uint32_t)hash_bytes(src, 16) | 1;
	for (uint32_t i = 0, k = h & (SCAN_HOSTS - 1); i < SCAN_HOSTS;
	    i++, k = (k + 1) & (SCAN_HOSTS - 1)) {
		if (d->srcs[k] == h)
			return;
		if (d->srcs[k] == 0) {
			d->srcs[k] = h;
			d->nsrcs++;
			return;
		}
	}
}

/* --- flows ------------------------------------------------------------ */

static void
flow_free_slot(struct net *n, size_t k)
{
	n->tags[k] = 0;
	n->st.flows_active--;
}

/* Ends flow k: its events (unless already closed), then the slot is free. */
static void
flow_end(struct net *n, size_t k)
{
	if (!n->flows[k].closed)
		flow_emit_conn(n, &n->flows[k]);
	flow_free_slot(n, k);
}

/* Whether flow f is over at time now. */
static bool
flow_expired(const struct net *n, const struct flow *f, int64_t now)
{
	int64_t idle = now - f->last_us;

	if (f->closed)
		return idle >= n->c.linger_us;
	if (f->k.proto == NET_TCP && (f->hist & H_SYNACK))
		return idle >= n->c.tcp_idle_us;
	return idle >= n->c.attempt_idle_us;
}

static void
sweep(struct net *n, int64_t now, bool all)
{
	size_t nf = (size_t)n->nbuckets * NET_WAYS, ns = (size_t)n->nsbuckets * NET_WAYS;

	for (size_t k = 0; k < nf; k++)
		if (n->tags[k] && (all || flow_expired(n, &n->flows[k], now)))
			flow_end(n, k);
	for (size_t k = 0; k < ns; k++) {
		struct src *s = &n->srcs[k];
		if (n->stags[k] && (all || now - s->start_us >= n->c.scan_window_us)) {
			src_report(n, s);
			n->stags[k] = 0;
		}
	}
	for (size_t k = 0; k < NET_DSTS; k++)
		if (n->dsts[k].used && (all || now - n->dsts[k].start_us >= n->c.scan_window_us))
			dst_report(n, &n->dsts[k]);
}

static void
advance(struct net *n, int64_t now)
{
	if (now > n->now_us)
		n->now_us = now;
	if (n->next_sweep_us == 0)
		n->next_sweep_us = n->now_us + SWEEP_US;
	if (n->now_us >= n->next_sweep_us) {
		sweep(n, n->now_us, false);
		n->next_sweep_us = n->now_us + SWEEP_US;
	}
}

void
net_tick(struct net *n, int64_t now_us)
{
	advance(n, now_us);
}

void
net_flush(struct net *n)
{
	sweep(n, n->now_us, true);
}

static void
key_make(const struct net_pkt *p, struct nkey *k, bool *sender_lo)
{
	int c = memcmp(p->src, p->dst, 16);
	uint16_t sp = p->sport, dp = p->dport;

	if (p->proto == NET_ICMP || p->proto == NET_ICMP6) {
		/* an echo and its reply are one flow: key on the identifier */
		sp = dp = p->icmp_id;
	}
	memset(k, 0, sizeof(*k));
	k->proto = p->proto;
	*sender_lo = c < 0 || (c == 0 && sp <= dp);
	if (*sender_lo) {
		memcpy(k->lo, p->src, 16);
		memcpy(k->hi, p->dst, 16);
		k->plo = sp;
		k->phi = dp;
	} else {
		memcpy(k->lo, p->dst, 16);
		memcpy(k->hi, p->src, 16);
		k->plo = dp;
		k->phi = sp;
	}
}

/*
 * The flow of packet p, or a new one (NULL when p opens nothing we track).
 * *dir: 0 when p comes from the originator.
 */
static struct flow *
flow_get(struct net *n, const struct net_pkt *p, int64_t now, int *dir, bool may_create,
    bool sender_orig)
{
	struct nkey k;
	bool sender_lo;
	uint64_t h;
	uint32_t t;
	size_t base, victim;
	struct flow *f;

	key_make(p, &k, &sender_lo);
	h = hash_bytes(&k, sizeof(k));
	t = tag_of(h);
	base = (size_t)((uint32_t)h & (n->nbuckets - 1)) * NET_WAYS;
	victim = base;
	for (int i = 0; i < NET_WAYS; i++) {
		size_t s = base + (size_t)i;
		if (n->tags[s] == t && memcmp(&n->flows[s].k, &k, sizeof(k)) == 0) {
			f = &n->flows[s];
			/* a new SYN on a closed connection's ports: a new connection */
			if (f->closed && (p->tcp_flags & (NET_TH_SYN | NET_TH_ACK)) == NET_TH_SYN &&
			    may_create) {
				flow_free_slot(n, s);
				victim = s;
				goto create;
			}
			*dir = (sender_lo == (f->orig_lo != 0)) ? 0 : 1;
			return f;
		}
		if (n->tags[victim] != 0 &&
		    (n->tags[s] == 0 || n->flows[s].last_us < n->flows[victim].last_us))
			victim = s;
	}
	if (!may_create)
		return NULL;
	if (n->tags[victim] != 0) {
		if (!n->flows[victim].closed)
			n->st.flows_evicted++;
		flow_end(n, victim);
	}
create:
	f = &n->flows[victim];
	memset(f, 0, offsetof(struct flow, u));
	f->k = k;
	f->hash = h;
	f->first_us = f->last_us = now;
	f->orig_lo = sender_orig ? sender_lo : !sender_lo;
	n->tags[victim] = t;
	n->st.flows++;
	n->st.flows_active++;
	*dir = sender_orig ? 0 : 1;
	return f;
}

/* DNS over UDP or TCP (2-byte length first): a dns event per response. */
static void
proto_dns(struct net *n, struct flow *f, const struct net_pkt *p, int64_t now)
{
	struct net_dns d;
	const uint8_t *m = p->payload;
	size_t len = p->payload_len;
	struct net_jw w;
	const char *ans[NET_DNS_MAX_ANSWERS];
	const char *name;
	size_t ql;

	if (p->proto == NET_TCP) {
		if (len < 2 || (size_t)((m[0] << 8) | m[1]) > len - 2)
			return;	/* a message split over segments is not reassembled */
		len = (size_t)((m[0] << 8) | m[1]);
		m += 2;
	}
	if (net_dns_parse(m, len, &d) < 0) {
		n->st.proto_errors++;
		return;
	}
	f->service = SVC_DNS;
	if (!d.response) {
		/* remembered until its answer; the one before it had none */
		flow_emit_dns_unanswered(n, f);
		f->dns_pending = 1;
		f->u.dns.ts_us = now;
		f->u.dns.id = d.id;
		f->u.dns.qtype = d.qtype;
		f->u.dns.qclass = d.qclass;
		f->u.dns.proto = p->proto;
		f->u.dns.hdr = (uint8_t)(d.aa | d.tc << 1 | d.rd << 2 | d.ra << 3 | (d.z & 7) << 4);
		ql = strlen(d.query);
		if (ql >= sizeof(f->u.dns.query))
			ql = sizeof(f->u.dns.query) - 1;	/* a very long name is cut */
		memcpy(f->u.dns.query, d.query, ql);
		f->u.dns.query[ql] = '\0';
		return;
	}
	if (f->dns_pending && f->u.dns.id == d.id)
		f->dns_pending = 0;
	if (!flow_app_ok(n, f, now))
		return;
	flow_event_begin(n, &w, "dns", f, now);
	net_jw_cstr(&w, "proto", proto_name(p->proto));
	net_jw_u64(&w, "trans_id", d.id);
	net_jw_cstr(&w, "query", d.query);
	net_jw_u64(&w, "qclass", d.qclass);
	if (d.qclass == 1)
		net_jw_cstr(&w, "qclass_name", "C_INTERNET");
	net_jw_u64(&w, "qtype", d.qtype);
	if ((name = net_dns_qtype_name(d.qtype)) != NULL)
		net_jw_cstr(&w, "qtype_name", name);
	net_jw_u64(&w, "rcode", d.rcode);
	if ((name = net_dns_rcode_name(d.rcode)) != NULL)
		net_jw_cstr(&w, "rcode_name", name);
	for (unsigned i = 0; i < d.nanswers; i++)
		ans[i] = d.answers[i];
	net_jw_bool(&w, "AA", d.aa);
	net_jw_bool(&w, "TC", d.tc);
	net_jw_bool(&w, "RD", d.rd);
	net_jw_bool(&w, "RA", d.ra);
	net_jw_u64(&w, "Z", d.z);
	if (d.nanswers)
		net_jw_strv(&w, "answers", ans, d.nanswers);
	emit_line(n, &w, now);
}

/* The first payload of a TCP direction: TLS, SSH, HTTP. */
static void
proto_tcp(struct net *n, struct flow *f, const struct net_pkt *p, int dir, int64_t now)
{
	const uint8_t *m = p->payload;
	size_t len = p->payload_len, bl;
	struct net_jw w;

	if (len == 0)
		return;
	if (f->k.plo == 53 || f->k.phi == 53) {
		proto_dns(n, f, p, now);
		return;
	}
	if ((bl = net_ssh_banner(m, len)) > 0) {
		if (!(f->ssh_side & (1 << dir))) {
			if (bl >= SSH_BANNER)
				bl = SSH_BANNER - 1;
			memcpy(f->u.ssh[dir], m, bl);
			f->u.ssh[dir][bl] = '\0';
			f->ssh_side |= (uint8_t)(1 << dir);
			f->service = SVC_SSH;
			if (f->ssh_side == 3 && flow_granted(n, f))
				flow_emit_ssh(n, f, now);
		}
		return;
	}
	if (dir != 0 || f->service == SVC_SSH || f->service == SVC_SSL)
		return;
	if (m[0] == 22 && !(f->seen & 1)) {
		char sni[256];
		int r = net_tls_sni(m, len, sni, sizeof(sni));
		if (r < 0) {
			n->st.proto_errors++;
			return;
		}
		f->service = SVC_SSL;
		if (!flow_app_ok(n, f, now))
			return;
		flow_event_begin(n, &w, "ssl", f, now);
		if (r == 1)
			net_jw_cstr(&w, "server_name", sni);
		emit_line(n, &w, now);
		return;
	}
	if (m[0] >= 'A' && m[0] <= 'Z') {
		struct net_http h;
		if (net_http_request(m, len, &h) < 0)
			return;
		f->service = SVC_HTTP;
		if (!flow_app_ok(n, f, now))
			return;
		flow_event_begin(n, &w, "http", f, now);
		net_jw_str(&w, "method", h.method, h.method_len);
		if (h.host)
			net_jw_str(&w, "host", h.host, h.host_len);
		net_jw_str(&w, "uri", h.uri, h.uri_len);
		if (h.ua)
			net_jw_str(&w, "user_agent", h.ua, h.ua_len);
		emit_line(n, &w, now);
	}
}

/*
 * A packet from direction dir of f, which was not opened by a SYN: the
 * first that is not from its opener and not a RST makes it a conversation.
 */
static void
flow_answer(struct net *n, struct flow *f, int dir, bool rst)
{
	const uint8_t *oa, *ra;
	uint16_t dp;
	struct src *s;

	if ((f->probe & P_ANSWERED) || rst || dir == ((f->probe & P_OPENER_R) ? 1 : 0))
		return;
	f->probe |= P_ANSWERED;
	flow_opener(f, &oa, &ra, &dp);
	if (f->k.proto != NET_ICMP && f->k.proto != NET_ICMP6 &&
	    (s = src_find(n, oa)) != NULL) {
		s->answered++;
		if (f->probe & P_PROBE)
			s->probes_answered++;
	}
}

/*
 * A new attempt of source s (a probe or a UDP flow): counted; false when s
 * is over its allowance (no flow entry then; its port and host count now).
 */
static bool
src_attempt(struct net *n, struct src *s, const struct net_pkt *p)
{
	if (!src_over(n, s))
		return true;
	s->suppressed++;
	n->st.attempts_suppressed++;
	src_port(s, p->dport);
	src_host(s, p->dst);
	return false;
}

static void
track_tcp(struct net *n, const struct net_pkt *p, int64_t now)
{
	uint8_t fl = p->tcp_flags;
	bool syn = (fl & (NET_TH_SYN | NET_TH_ACK)) == NET_TH_SYN;
	bool synack = (fl & (NET_TH_SYN | NET_TH_ACK)) == (NET_TH_SYN | NET_TH_ACK);
	bool create = true, sender_orig = true, probe = false;
	struct flow *f = NULL;
	int dir;

	if (syn) {
		struct src *s = src_get(n, p->src, now);
		s->syn++;
		src_port(s, p->dport);
		src_host(s, p->dst);
		if (src_over(n, s)) {
			create = false;
			s->suppressed++;
			n->st.attempts_suppressed++;
		}
	} else if (synack || (fl & NET_TH_RST)) {
		struct src *s = src_find(n, p->dst);
		if (s != NULL) {
			if (synack)
				s->syn_ack++;
			else
				s->rst_in++;
		}
		/*
		 * Answers to attempts we did not track open nothing (nor count
		 * as attempts of who sends them: a scanner would spend its
		 * target's allowance).
		 */
		create = false;
	} else if ((f = flow_get(n, p, now, &dir, false, true)) == NULL) {
		/*
		 * FIN, NULL, XMAS, ACK, data without a SYN seen: a probe of its
		 * sender, the same attempt as a SYN – or a conversation seen
		 * mid-stream, once the other side answers. Mid-stream, the side
		 * with the lower port is probably the server.
		 */
		struct src *s = src_get(n, p->src, now);
		s->probes++;
		if (!src_attempt(n, s, p))
			return;
		probe = true;
		sender_orig = p->sport >= p->dport;
	}
	if (f == NULL) {
		f = flow_get(n, p, now, &dir, create, sender_orig);
		if (f == NULL)
			return;
		if (probe)
			f->probe = (uint8_t)(P_PROBE | (dir ? P_OPENER_R : 0));
	}
	if (f->probe & P_PROBE)
		flow_answer(n, f, dir, (fl & NET_TH_RST) != 0);
	f->last_us = now;
	f->pkts[dir]++;
	f->bytes[dir] += p->wire_payload;
	if (f->closed)
		return;
	if (syn && dir == 0)
		f->hist |= H_SYN;
	if (synack && dir == 1)
		f->hist |= H_SYNACK;
	if (fl & NET_TH_FIN)
		f->hist |= dir ? H_FIN_R : H_FIN_O;
	if (p->payload_len) {
		f->hist |= dir ? H_DATA_R : H_DATA_O;
		proto_tcp(n, f, p, dir, now);
		f->seen |= (uint8_t)(1 << dir);
	}
	if (fl & NET_TH_RST) {
		f->hist |= dir ? H_RST_R : H_RST_O;
		flow_emit_conn(n, f);
		f->closed = 1;
	} else if ((f->hist & (H_FIN_O | H_FIN_R)) == (H_FIN_O | H_FIN_R)) {
		flow_emit_conn(n, f);
		f->closed = 1;
	}
}

static void
track_other(struct net *n, const struct net_pkt *p, int64_t now)
{
	bool sender_orig = true, create = true;
	struct flow *f;
	int dir;

	if (p->proto == NET_UDP) {
		/* a reply from a well-known port opens nothing under the server's name */
		sender_orig = !(p->sport < 1024 && p->dport >= 1024);
	} else if (p->proto == NET_ICMP || p->proto == NET_ICMP6) {
		bool req = p->proto == NET_ICMP ? p->sport == 8 : p->sport == 128;
		bool rep = p->proto == NET_ICMP ? p->sport == 0 : p->sport == 129;
		if (req) {
			struct src *s = src_get(n, p->src, now);
			s->echo_req++;
			src_host(s, p->dst);
		} else if (rep) {
			struct src *s = src_find(n, p->dst);
			if (s != NULL)
				s->echo_reply++;
			sender_orig = false;
		} else {
			/* errors, neighbour discovery ...: counted, no flow */
			create = false;
		}
	}
	f = flow_get(n, p, now, &dir, false, sender_orig);
	if (f == NULL) {
		if (!create)
			return;
		if (p->proto == NET_UDP) {
			/* a new UDP flow: an attempt of its sender until answered */
			struct src *s = src_get(n, p->src, now);
			s->udp++;
			src_port(s, p->dport);
			src_host(s, p->dst);
			if (src_over(n, s)) {
				s->suppressed++;
				n->st.attempts_suppressed++;
				return;
			}
		}
		f = flow_get(n, p, now, &dir, true, sender_orig);
		f->probe = dir ? P_OPENER_R : 0;
	}
	flow_answer(n, f, dir, false);
	f->last_us = now;
	f->pkts[dir]++;
	f->bytes[dir] += p->wire_payload;
	if (p->proto == NET_UDP && p->payload_len && (p->sport == 53 || p->dport == 53 ||
	    p->sport == 5353 || p->dport == 5353))
		proto_dns(n, f, p, now);
}

void
net_packet(struct net *n, int link, int64_t ts_us, const uint8_t *data, size_t caplen,
    uint32_t wirelen)
{
	struct net_pkt p;
	enum net_err e;

	(void)wirelen;
	n->st.packets++;
	n->st.bytes += caplen;
	advance(n, ts_us);
	e = net_decode(link, data, caplen, &p);
	n->st.err[e]++;
	if (e != NET_OK)
		return;
	if (p.fragment) {
		n->st.fragments++;
		if (p.payload == NULL)
			return;
	}
	/* packet time only moves forward for the tables (out-of-order captures) */
	ts_us = n->now_us;
	if (p.proto == NET_TCP)
		track_tcp(n, &p, ts_us);
	else
		track_other(n, &p, ts_us);
}
