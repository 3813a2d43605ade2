/*
 * capture – the agent's packet source: a live interface or a pcap/pcapng
 * file through libpcap, decoded and tracked by minisoc_net (agent/net),
 * whose JSON events take the same durable path as log lines: agent_accept
 * (spool, then queue), the uplink, acknowledgement.
 *
 * Nothing is lost inside the agent silently: when agent_accept refuses an
 * event (spool full, flood control) the event waits in a bounded pending
 * list and reading stops – a file simply waits, a live capture leaves the
 * packets to the kernel buffer, whose drops pcap_stats counts. Only when
 * the pending list is full (one sweep of ended flows producing more than
 * CAPTURE_PENDING_MAX events) are events dropped, counted as agent_drops.
 *
 * A live capture that fails (interface gone, link down) is closed, logged,
 * counted and opened again every capture.retry_ms; the health report says
 * whether it runs. Opening a live capture needs CAP_NET_RAW: under the
 * systemd unit minisoc-agent-capture.service the agent keeps it (ambient)
 * for the retries; started as root it opens the capture before dropping to
 * agent.user (retries then need the capability, see docs/network.md).
 */
#include <errno.h>
#include <inttypes.h>
#include "net_libpcap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_util.h"
#include "net.h"
#include "spool.h"

/* Events that may wait for the spool; beyond that they are dropped (counted). */
#define CAPTURE_PENDING_MAX	65536
/* Packets read per turn of the event loop (the uplink gets its turn between). */
#define CAPTURE_BATCH		2048
/* Live: how often idle flows are ended and the kernel's counters read. */
#define CAPTURE_TICK_MS		200

struct pending {
	struct pending *next;
	int64_t ts_us;
	size_t len;
	char line[];
};

struct capture {
	struct agent *a;
	pcap_t *pc;
	struct net *net;
	int link;
	bool live;
	bool eof;
	bool stopped;
	bool running;			/* open and reading (live) or not finished (file) */
	char source[4200];		/* "pcap:eth0" or "pcap:/path/file.pcap" */
	struct event *read_ev;		/* live: the capture's fd is readable */
	struct event *work_ev;		/* a turn of reading (file) / after a resume */
	struct event *tick_ev;
	int64_t last_stats_ms;
	int64_t retry_at_ms;
	struct pending *phead, *ptail;
	size_t pn;
	size_t accepted_batch;
	struct capture_stats st;
	struct pcap_stat kernel_base;	/* counters of handles closed before (retries) */
	struct pcap_stat kernel_now;
};

static bool
capture_blocked(const struct capture *c)
{
	return c->pn > 0 || c->stopped || c->a->stopping;
}

/* One event into the spool, or the pending list when the spool says no. */
static void
capture_emit_cb(const char *line, size_t len, int64_t ts_us, void *arg)
{
	struct capture *c = arg;
	struct agent *a = c->a;
	struct pending *p;

	c->st.events++;
	if (c->pn == 0) {
		struct spool_rec r;

		memset(&r, 0, sizeof(r));
		r.seq = a->next_seq;
		r.time_ms = ms_now_ms();
		r.src = c->source;
		r.src_len = strlen(c->source);
		r.line = line;
		r.line_len = len;
		if (agent_accept(a, &r)) {
			c->accepted_batch++;
			return;
		}
	}
	if (c->pn >= CAPTURE_PENDING_MAX || (p = malloc(sizeof(*p) + len)) == NULL) {
		c->st.agent_drops++;
		return;
	}
	p->next = NULL;
	p->ts_us = ts_us;
	p->len = len;
	memcpy(p->line, line, len);
	if (c->ptail)
		c->ptail->next = p;
	else
		c->phead = p;
	c->ptail = p;
	c->pn++;
}

/* Hands waiting events to the spool, oldest first, while it takes them. */
static void
capture_drain(struct capture *c)
{
	struct agent *a = c->a;

	while (c->phead != NULL) {
		struct pending *p = c->phead;
		struct spool_rec r;

		memset(&r, 0, sizeof(r));
		r.seq = a->next_seq;
		r.time_ms = ms_now_ms();
		r.src = c->source;
		r.src_len = strlen(c->source);
		r.line = p->line;
		r.line_len = p->len;
		if (!agent_accept(a, &r))
			break;
		c->accepted_batch++;
		c->phead = p->next;
		if (c->phead == NULL)
			c->ptail = NULL;
		c->pn--;
		free(p);
	}
}

static void
capture_batch_done(struct capture *c)
{
	if (c->accepted_batch > 0) {
		c->accepted_batch = 0;
		agent_events_queued(c->a);
	}
}

static void
capture_pkt_cb(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	struct capture *c = (struct capture *)arg;

	c->st.packets++;
	net_packet(c->net, c->link, (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec, data,
	    h->caplen, h->len);
}

static void
capture_read_kernel_stats(struct capture *c)
{
	struct pcap_stat ps;

	if (c->live && c->pc != NULL && pcap_stats(c->pc, &ps) == 0)
		c->kernel_now = ps;
}

static void
capture_close(struct capture *c)
{
	if (c->read_ev) {
		event_free(c->read_ev);
		c->read_ev = NULL;
	}
	if (c->pc) {
		capture_read_kernel_stats(c);
		c->kernel_base.ps_recv += c->kernel_now.ps_recv;
		c->kernel_base.ps_drop += c->kernel_now.ps_drop;
		c->kernel_base.ps_ifdrop += c->kernel_now.ps_ifdrop;
		memset(&c->kernel_now, 0, sizeof(c->kernel_now));
		pcap_close(c->pc);
		c->pc = NULL;
	}
	c->running = false;
}

static void capture_read_cb(evutil_socket_t fd, short what, void *arg);

/* Opens the live interface or the file of the configuration. 0 or -1 (err). */
static int
capture_open(struct capture *c, char *err, size_t errsz)
{
	const struct agent_conf *cf = &c->a->conf;
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	int rc;

	if (c->live) {
		if ((c->pc = pcap_create(cf->capture_interface, ebuf)) == NULL) {
			snprintf(err, errsz, "%s: %s", cf->capture_interface, ebuf);
			return -1;
		}
		if (pcap_set_snaplen(c->pc, (int)cf->capture_snaplen) != 0 ||
		    pcap_set_promisc(c->pc, cf->capture_promiscuous ? 1 : 0) != 0 ||
		    pcap_set_buffer_size(c->pc, (int)cf->capture_buffer_bytes) != 0 ||
		    pcap_set_timeout(c->pc, 100) != 0 ||
		    pcap_set_tstamp_precision(c->pc, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
			snprintf(err, errsz, "%s: cannot set capture options", cf->capture_interface);
			goto fail;
		}
		if ((rc = pcap_activate(c->pc)) < 0) {
			snprintf(err, errsz, "%s: %s", cf->capture_interface,
			    rc == PCAP_ERROR_PERM_DENIED ? "permission denied (needs CAP_NET_RAW)" :
			    pcap_geterr(c->pc));
			goto fail;
		}
		if (pcap_setnonblock(c->pc, 1, ebuf) < 0) {
			snprintf(err, errsz, "%s: %s", cf->capture_interface, ebuf);
			goto fail;
		}
	} else {
		c->pc = pcap_open_offline_with_tstamp_precision(cf->capture_file,
		    PCAP_TSTAMP_PRECISION_MICRO, ebuf);
		if (c->pc == NULL) {
			snprintf(err, errsz, "%s: %s", cf->capture_file, ebuf);
			return -1;
		}
	}
	if ((c->link = net_link_from_dlt(pcap_datalink(c->pc))) < 0) {
		snprintf(err, errsz, "%s: link type %d is not supported", c->source,
		    pcap_datalink(c->pc));
		goto fail;
	}
	if (cf->capture_filter[0]) {
		if (pcap_compile(c->pc, &prog, cf->capture_filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			snprintf(err, errsz, "capture.filter '%s': %s", cf->capture_filter,
			    pcap_geterr(c->pc));
			goto fail;
		}
		rc = pcap_setfilter(c->pc, &prog);
		pcap_freecode(&prog);
		if (rc < 0) {
			snprintf(err, errsz, "capture.filter: %s", pcap_geterr(c->pc));
			goto fail;
		}
	}
	if (c->live && c->a->base != NULL) {
		int fd = pcap_get_selectable_fd(c->pc);
		if (fd < 0 || (c->read_ev = event_new(c->a->base, fd, EV_READ | EV_PERSIST,
		    capture_read_cb, c)) == NULL || event_add(c->read_ev, NULL) < 0) {
			snprintf(err, errsz, "%s: no selectable descriptor", c->source);
			goto fail;
		}
	}
	c->running = true;
	return 0;
fail:
	if (c->pc) {
		pcap_close(c->pc);
		c->pc = NULL;
	}
	return -1;
}

/* A live capture failed: closed now, opened again after capture.retry_ms. */
static void
capture_failed(struct capture *c, const char *why)
{
	c->st.failures++;
	ms_warn("event=capture_failed source=%s reason=\"%s\" retry_ms=%" PRId64, c->source, why,
	    c->a->conf.capture_retry_ms);
	capture_close(c);
	c->retry_at_ms = ms_mono_ms() + c->a->conf.capture_retry_ms;
}

/* Live: reads what the kernel has, unless events wait for the spool. */
static void
capture_read_live(struct capture *c)
{
	int n;

	if (c->pc == NULL)
		return;
	if (capture_blocked(c)) {
		/* level-triggered: stop watching until capture_resume */
		if (c->read_ev)
			event_del(c->read_ev);
		return;
	}
	n = pcap_dispatch(c->pc, CAPTURE_BATCH, capture_pkt_cb, (u_char *)c);
	capture_batch_done(c);
	if (n == PCAP_ERROR)
		capture_failed(c, pcap_geterr(c->pc));
}

/* File: one batch, then another turn of the loop while there is more. */
static void
capture_read_file(struct capture *c)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int r = 1;

	for (int i = 0; i < CAPTURE_BATCH && !capture_blocked(c); i++) {
		if ((r = pcap_next_ex(c->pc, &h, &data)) != 1)
			break;
		capture_pkt_cb((u_char *)c, h, data);
	}
	if (r == PCAP_ERROR_BREAK || r == PCAP_ERROR) {
		if (r == PCAP_ERROR)
			ms_warn("event=capture_file_damaged source=%s reason=\"%s\"", c->source,
			    pcap_geterr(c->pc));
		/* the end: every flow and window still open is reported */
		net_flush(c->net);
		c->eof = true;
		c->running = false;
		ms_info("event=capture_done source=%s packets=%" PRIu64 " events=%" PRIu64,
		    c->source, c->st.packets, c->st.events);
		pcap_close(c->pc);
		c->pc = NULL;
	}
	capture_batch_done(c);
	if (c->pc != NULL && !capture_blocked(c))
		event_active(c->work_ev, EV_TIMEOUT, 0);
}

static void
capture_read_cb(evutil_socket_t fd, short what, void *arg)
{
	capture_read_live(arg);
}

static void
capture_work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;

	capture_drain(c);
	capture_batch_done(c);
	if (c->pn > 0 || c->stopped)
		return;
	if (c->live) {
		if (c->read_ev)
			event_add(c->read_ev, NULL);
		capture_read_live(c);
	}
	else if (c->pc != NULL)
		capture_read_file(c);
}

static void
capture_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;
	int64_t now = ms_mono_ms();
	char err[512];

	if (c->stopped)
		return;
	/* events refused for any reason (also a failed reservation) are tried again */
	if (c->pn > 0 && c->work_ev != NULL)
		event_active(c->work_ev, EV_TIMEOUT, 0);
	if (!c->live)
		return;
	if (c->pc == NULL) {
		if (now < c->retry_at_ms)
			return;
		if (capture_open(c, err, sizeof(err)) < 0) {
			c->st.failures++;
			c->retry_at_ms = now + c->a->conf.capture_retry_ms;
			ms_warn("event=capture_retry_failed source=%s reason=\"%s\"", c->source, err);
			return;
		}
		c->st.reopens++;
		ms_info("event=capture_reopened source=%s", c->source);
	}
	/* the poll may not wake for a quiet link: read, and end idle flows by the clock */
	capture_read_live(c);
	if (!capture_blocked(c)) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		net_tick(c->net, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec);
		capture_batch_done(c);
	}
	if (now - c->last_stats_ms >= 1000) {
		c->last_stats_ms = now;
		capture_read_kernel_stats(c);
	}
}

int
capture_check_filter(const char *filter, char *err, size_t errsz)
{
	struct bpf_program prog;
	pcap_t *pc;
	int rc = 0;

	if (filter == NULL || filter[0] == '\0')
		return 0;
	if ((pc = pcap_open_dead(DLT_EN10MB, 65535)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errsz, "capture.filter '%s': %s", filter, pcap_geterr(pc));
		rc = -1;
	} else {
		pcap_freecode(&prog);
	}
	pcap_close(pc);
	return rc;
}

struct capture *
capture_new(struct agent *a, char *err, size_t errsz)
{
	const struct agent_conf *cf = &a->conf;
	struct capture *c;
	struct net_conf nc;
	struct timeval tv = { 0, CAPTURE_TICK_MS * 1000 };

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->a = a;
	c->live = cf->capture_interface[0] != '\0';
	snprintf(c->source, sizeof(c->source), "pcap:%s",
	    c->live ? cf->capture_interface : cf->capture_file);
	net_conf_defaults(&nc);
	nc.flow_max = (uint32_t)cf->capture_flow_max;
	nc.scan_sources = (uint32_t)cf->capture_scan_sources;
	nc.scan_window_us = cf->capture_scan_window_s * 1000000;
	nc.attempts_per_window = (uint32_t)cf->capture_attempts_per_window;
	nc.attempts_per_s = (uint32_t)cf->capture_attempts_per_s;
	if ((c->net = net_new(&nc, capture_emit_cb, c)) == NULL) {
		snprintf(err, errsz, "out of memory (capture.flow_max)");
		goto fail;
	}
	if (a->base != NULL &&
	    ((c->work_ev = event_new(a->base, -1, 0, capture_work_cb, c)) == NULL ||
	    (c->tick_ev = event_new(a->base, -1, EV_PERSIST, capture_tick_cb, c)) == NULL ||
	    evtimer_add(c->tick_ev, &tv) < 0)) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	/* At start a capture that cannot be opened is a configuration error. */
	if (capture_open(c, err, errsz) < 0)
		goto fail;
	ms_info("event=capture_open source=%s link=%d filter=\"%s\" snaplen=%" PRId64
	    " promiscuous=%d", c->source, c->link, cf->capture_filter, cf->capture_snaplen,
	    cf->capture_promiscuous ? 1 : 0);
	return c;
fail:
	capture_free(c);
	return NULL;
}

void
capture_start(struct capture *c)
{
	if (c != NULL && c->work_ev != NULL)
		event_active(c->work_ev, EV_TIMEOUT, 0);
}

void
capture_resume(struct capture *c)
{
	if (c == NULL || c->stopped)
		return;
	if (c->work_ev != NULL)
		event_active(c->work_ev, EV_TIMEOUT, 0);
}

void
capture_stop(struct capture *c)
{
	if (c == NULL || c->stopped)
		return;
	c->stopped = true;
	capture_close(c);
	/* what is still open goes out now, as far as the spool takes it */
	net_flush(c->net);
	capture_batch_done(c);
	if (c->pn > 0) {
		ms_warn("event=capture_stop_pending events=%zu note=\"not spooled at shutdown\"",
		    c->pn);
		c->st.agent_drops += c->pn;
	}
}

void
capture_free(struct capture *c)
{
	if (c == NULL)
		return;
	capture_close(c);
	while (c->phead) {
		struct pending *p = c->phead;
		c->phead = p->next;
		free(p);
	}
	if (c->work_ev)
		event_free(c->work_ev);
	if (c->tick_ev)
		event_free(c->tick_ev);
	net_free(c->net);
	free(c);
}

void
capture_get_stats(const struct capture *c, struct capture_stats *out)
{
	const struct net_stats *ns = net_get_stats(c->net);

	*out = c->st;
	out->source = c->source;
	out->running = c->running;
	out->live = c->live;
	out->pending = c->pn;
	out->kernel_received = c->kernel_base.ps_recv + c->kernel_now.ps_recv;
	out->kernel_drops = c->kernel_base.ps_drop + c->kernel_now.ps_drop;
	out->if_drops = c->kernel_base.ps_ifdrop + c->kernel_now.ps_ifdrop;
	out->decode_errors = ns->err[NET_ERR_TRUNCATED] + ns->err[NET_ERR_MALFORMED];
	out->fragments = ns->fragments;
	out->flows_active = ns->flows_active;
	out->flows_evicted = ns->flows_evicted;
	out->attempts_suppressed = ns->attempts_suppressed;
	out->app_suppressed = ns->app_suppressed;
}
