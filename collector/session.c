/*
 * session – one agent connection on the collector.
 *
 * States: HANDSHAKE (TLS in progress) -> HELLO (waiting for the agent's
 * hello) -> LOADING (reading the agent's last handled seq from Redis,
 * input paused) -> READY (batches flow) -> CLOSING (flushing, then freed).
 *
 * Every frame header is checked before its payload is read: a frame whose
 * length passes the cap closes the session before any of it is buffered.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "collector.h"
#include "connlimit.h"
#include "decode.h"
#include "ms_log.h"
#include "ms_proto.h"
#include "ms_tls.h"
#include "sink.h"

enum session_state { SS_HANDSHAKE, SS_HELLO, SS_LOADING, SS_READY, SS_CLOSING };

struct session {
	struct collector *c;
	struct bufferevent *bev;
	SSL *ssl;			/* owned by bev */
	char peer[64];			/* "ip:port" */
	char agent_id[128];
	struct agent_state *st;
	enum session_state state;
	struct ms_hello hello;
	struct event *timer;
	int64_t last_rx_ms;		/* monotonic */
	int64_t last_tx_ms;
	int64_t closing_ms;		/* when CLOSING began */
	int64_t started_ms;
	bool paused;			/* reading stopped: sink congested or loading */
	bool in_read;			/* re-entrancy guard for the frame loop */
	bool dead;			/* free once the frame loop unwinds */
	bool in_handshake;		/* counted in c->nhandshakes */
	bool addr_counted;		/* ... and for addr (listener_handshake_begin) */
	struct connlimit_addr addr;	/* the peer's address, as the limits key it */
	bool time_capped_logged;	/* event_time_capped said for this session */
	uint64_t events;
	uint64_t acked_sent;
	uint64_t ack_due;		/* confirmed, not yet said: sent by ack_timer */
	/* limits.agent_events_per_s: a token bucket of events, one second deep. */
	double tokens;
	int64_t tokens_ms;
	bool throttled;			/* paused until throttle_timer: over the rate */
	struct event *throttle_timer;
	int64_t throttle_logged_ms;
	int64_t last_ack_ms;
	struct event *ack_timer;
	struct ms_buf out;		/* scratch for outgoing frames */
	TAILQ_ENTRY(session) link;
};

static void session_process(struct session *s);
static int session_tls_ready(struct session *s);

struct session *
session_next(struct session *s)
{
	return TAILQ_NEXT(s, link);
}

bool
session_is_paused(const struct session *s)
{
	return s->paused;
}

/* What a peer may leave unread before it is taken for dead or hostile. */
#define SESSION_MAX_OUTPUT (4u << 20)
/*
 * The input buffer's blocks (libevent's chains) are made this big, so
 * that most frames lie in one block and their pullup copies nothing; a
 * read of one TLS record (16 KiB at most) into a block with less room
 * left would start a block of the record's size. libevent rounds a
 * block with its header up to a power of two: asking for the header's
 * bytes less keeps the allocation at SESSION_READ_CHAIN.
 */
#define SESSION_READ_CHAIN (256u << 10)
#define SESSION_CHAIN_HDR 128
#define SESSION_RECORD_MAX 16384
/*
 * OpenSSL's read-ahead buffer once the peer is authenticated: what one
 * read(2) may take from the socket. The default holds one record (and,
 * as any size short of whole records, leaves a record's last bytes to a
 * read of their own); this holds four of the largest TLS 1.3 records and
 * the alignment gap before the first. Flat out the socket is full and
 * every read that opens the TCP window sends an update, and on loopback
 * the agent's queued sends then run inside our read(2). Bigger is not
 * better: before each record OpenSSL moves the unread rest of its buffer
 * to the front, so each record is copied (k - 1) / 2 times on average
 * with k records a fill (at 256 KiB the copies ate what the fewer
 * updates saved). Released when drained (SSL_MODE_RELEASE_BUFFERS):
 * sessions take turns on one loop, so the allocator hands the same block
 * from one to the next and an idle agent holds none.
 * docs/performance-log.md, "Sixteenth session".
 */
#define SESSION_TLS_READ_BUF \
	(4 * (SSL3_RT_HEADER_LENGTH + SSL3_RT_MAX_TLS13_ENCRYPTED_LENGTH) + SSL3_ALIGN_PAYLOAD - 1)
/* While we are not reading (Redis slow, state loading), the agent hears from us this often. */
#define SESSION_PAUSED_HEARTBEAT_MS 5000
/* A closing session that cannot flush is freed after this long. */
#define SESSION_CLOSE_GRACE_MS 5000

static void
session_send(struct session *s)
{
	if (s->out.len && s->bev && s->state != SS_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) > SESSION_MAX_OUTPUT) {
		/* The peer stopped reading; no point queueing more for it. */
		ms_buf_reset(&s->out);
		session_close(s, 0, "peer_not_reading");
		return;
	}
	if (s->out.len && s->bev) {
		bufferevent_write(s->bev, s->out.data, s->out.len);
		s->last_tx_ms = ms_mono_ms();
	}
	ms_buf_reset(&s->out);
}

/* The session no longer counts as an unauthenticated connection. */
static void
session_handshake_done(struct session *s)
{
	if (s->in_handshake) {
		s->in_handshake = false;
		s->c->nhandshakes--;
	}
	if (s->addr_counted) {
		s->addr_counted = false;
		listener_handshake_end(s->c->listener, &s->addr);
	}
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->st && s->st->session == s)
		s->st->session = NULL;
	if (s->st)
		health_session_closed(s->c, s->st);
	session_handshake_done(s);
	if (s->timer)
		event_free(s->timer);
	if (s->ack_timer)
		event_free(s->ack_timer);
	if (s->throttle_timer)
		event_free(s->throttle_timer);
	if (s->bev)
		bufferevent_free(s->bev);	/* frees the SSL and closes the socket */
	TAILQ_REMOVE(&s->c->sessions, s, link);
	s->c->nsessions--;
	if (s->c->stopping && s->c->nsessions == 0 && sink_pending(s->c->sink) == 0)
		event_base_loopexit(s->c->base, NULL);
	ms_buf_fini(&s->out);
	free(s);
}

/* Frees s now, or when the frame loop that is running on it unwinds. */
static void
session_drop(struct session *s)
{
	s->state = SS_CLOSING;
	if (s->st && s->st->session == s)
		s->st->session = NULL;
	if (s->in_read) {
		s->dead = true;
		return;
	}
	session_free(s);
}

static void
close_done_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		ms_debug("event=session_freed peer=%s reason=flushed", s->peer);
		SSL_shutdown(s->ssl);
		session_drop(s);
	}
}

static void
close_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	ms_debug("event=session_freed peer=%s reason=peer_gone", s->peer);
	session_drop(s);
}

static void
session_log_close(const struct session *s, const char *reason)
{
	ms_info("event=session_close peer=%s agent=%s reason=%s events=%llu acked=%llu",
	    s->peer, s->agent_id[0] ? s->agent_id : "-", reason,
	    (unsigned long long)s->events, (unsigned long long)s->acked_sent);
}

void
session_close(struct session *s, int errcode, const char *reason)
{
	if (s->state == SS_CLOSING)
		return;
	session_log_close(s, reason);
	s->state = SS_CLOSING;
	s->closing_ms = ms_mono_ms();
	if (s->timer) {
		/* Every closing session gets its deadline, whatever closed it. */
		struct timeval tv = { 1, 0 };
		evtimer_add(s->timer, &tv);
	}
	if (s->st && s->st->session == s)
		s->st->session = NULL;
	bufferevent_disable(s->bev, EV_READ);
	if (errcode && ms_error_encode(&s->out, (uint16_t)errcode, reason) == 0)
		session_send(s);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		SSL_shutdown(s->ssl);
		session_drop(s);
		return;
	}
	/* Let the output (error frame, last acks) drain, then close. */
	bufferevent_setcb(s->bev, NULL, close_done_cb, close_event_cb, s);
}

/* Closes the session because of bad input from the peer; counted. */
static void
session_reject_or_close(struct session *s, int errcode, const char *reason)
{
	s->c->stats.frames_bad++;
	s->c->stats.frames_bad_code[errcode > 0 && errcode < 16 ? errcode : 0]++;
	ms_warn("event=protocol_error peer=%s agent=%s reason=%s", s->peer,
	    s->agent_id[0] ? s->agent_id : "-", reason);
	session_close(s, errcode, reason);
}

static void
session_ack_now(struct session *s)
{
	if (s->ack_due <= s->acked_sent && s->acked_sent != 0)
		return;
	if (ms_ack_encode(&s->out, s->ack_due) == 0)
		session_send(s);
	s->acked_sent = s->ack_due;
	s->last_ack_ms = ms_mono_ms();
}

static void
session_ack_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->state == SS_READY || s->state == SS_LOADING)
		session_ack_now(s);
}

void
session_ack(struct session *s, uint64_t seq)
{
	if (s->state != SS_READY && s->state != SS_LOADING)
		return;
	if (seq <= s->acked_sent && s->acked_sent != 0)
		return;
	/*
	 * Coalesced: at most one ACK per limits.ack_delay_ms per session. The
	 * agent needs them only to free memory and spool, and each one wakes
	 * it; the first after a quiet spell goes at once.
	 */
	if (seq > s->ack_due)
		s->ack_due = seq;
	if (s->c->conf.ack_delay_ms > 0 && s->ack_timer &&
	    ms_mono_ms() - s->last_ack_ms < s->c->conf.ack_delay_ms) {
		if (!evtimer_pending(s->ack_timer, NULL)) {
			int64_t wait = s->last_ack_ms + s->c->conf.ack_delay_ms - ms_mono_ms();
			struct timeval tv = { 0, (suseconds_t)(wait > 0 ? wait : 0) * 1000 };
			evtimer_add(s->ack_timer, &tv);
		}
		return;
	}
	session_ack_now(s);
}

static void
session_pause(struct session *s)
{
	if (!s->paused) {
		s->paused = true;
		bufferevent_disable(s->bev, EV_READ);
	}
}

void
session_pause_for_shutdown(struct session *s)
{
	if (s->state == SS_CLOSING)
		return;
	session_pause(s);
}

void
session_resume(struct session *s)
{
	if (s->state == SS_CLOSING || s->state == SS_LOADING || !s->paused || s->c->stopping ||
	    s->throttled)
		return;
	s->paused = false;
	bufferevent_enable(s->bev, EV_READ);
	/* Frames already buffered will not raise another read event. */
	session_process(s);
}

void
session_loaded(struct session *s)
{
	if (s->state != SS_LOADING)
		return;
	s->state = SS_READY;
	ms_info("event=hello peer=%s agent=%s host=%s version=%s handled_seq=%llu",
	    s->peer, s->agent_id, s->hello.hostname, s->hello.agent_version,
	    (unsigned long long)s->st->durable_seq);
	/* Tells the agent where it stands: it drops what is already handled. */
	if (ms_ack_encode(&s->out, s->st->durable_seq) == 0)
		session_send(s);
	s->acked_sent = s->st->durable_seq;
	session_resume(s);
}

/*
 * Keeps only what a host name or a version holds ("?" for the rest): the
 * agent says them and they go into log lines (host=..., version=...), so a
 * space, '=' or '"' would add fields of the agent's choosing – another
 * agent=, another peer=.
 */
static void
hello_field_clean(char *v)
{
	for (; *v; v++)
		if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
		    *v == '.' || *v == '-' || *v == '_' || *v == '+' || *v == '~'))
			*v = '?';
}

static void
handle_hello(struct session *s, const uint8_t *p, size_t len)
{
	struct collector *c = s->c;
	struct agent_state *st;
	char tz[16];

	if (ms_hello_decode(p, len, &s->hello) != 0) {
		session_reject_or_close(s, MS_ERR_PROTOCOL, "malformed_hello");
		return;
	}
	hello_field_clean(s->hello.hostname);
	hello_field_clean(s->hello.agent_version);
	if ((st = collector_agent(c, s->agent_id)) == NULL) {
		session_close(s, MS_ERR_SHUTDOWN, "out_of_memory");
		return;
	}
	if (st->session && st->session != s) {
		ms_warn("event=session_replaced agent=%s old_peer=%s new_peer=%s",
		    s->agent_id, st->session->peer, s->peer);
		session_close(st->session, MS_ERR_REPLACED, "replaced_by_new_session");
	}
	st->session = s;
	s->st = st;
	if (s->hello.hostname[0])
		ms_copy(st->host, sizeof(st->host), s->hello.hostname, strlen(s->hello.hostname));
	snprintf(tz, sizeof(tz), "%d", (int)s->hello.tz_offset_s);
	{
		const char *kv[] = { "hostname", s->hello.hostname, "version",
			s->hello.agent_version, "os", s->hello.os, "tz_offset", tz,
			"peer", s->peer };
		char key[192];
		snprintf(key, sizeof(key), "minisoc:agent:%s", s->agent_id);
		sink_hset(c->sink, key, kv, MS_ARRAY_LEN(kv));
	}
	registry_hello(c, st);
	s->state = SS_LOADING;
	session_pause(s);
	/*
	 * Read the handled number again at every hello, even when known: since
	 * the last session here, the agent may have shipped to another collector
	 * sharing this Redis (failover), which moved it on. While Redis is
	 * unreachable, a number this collector knows (an earlier session, or its
	 * spool after a restart) is the answer: checkpoints go to the spool then,
	 * and agents are not kept waiting for Redis.
	 */
	if (st->loaded && !sink_connected(c->sink) && sink_has_spool(c->sink)) {
		session_loaded(s);
		return;
	}
	if (sink_load(c->sink, st) < 0)
		session_close(s, MS_ERR_SHUTDOWN, "out_of_memory");
}

int
session_recheck_revoked(struct session *s, SSL_CTX *ctx)
{
	if (s->state == SS_HANDSHAKE || s->state == SS_CLOSING || s->ssl == NULL ||
	    !ms_tls_peer_revoked(ctx, s->ssl))
		return 0;
	s->c->stats.tls_fail[TLS_FAIL_REVOKED]++;
	ms_warn("event=session_revoked peer=%s agent=%s note=\"certificate revoked by the CRL just loaded\"",
	    s->peer, s->agent_id);
	session_close(s, MS_ERR_REVOKED, "certificate_revoked");
	return 1;
}

static void
session_throttle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	s->throttled = false;
	session_resume(s);
}

/*
 * limits.agent_events_per_s: an agent over its rate is not read from until
 * its bucket is back to zero (TCP pushes back; the agent keeps the events
 * in its spool). Nothing is dropped, and the other sessions go on.
 */
static void
session_charge(struct session *s, uint32_t events)
{
	struct collector *c = s->c;
	int64_t rate = c->conf.agent_events_per_s, now;

	if (rate <= 0 || events == 0)
		return;
	now = ms_mono_ms();
	if (s->tokens_ms == 0)
		s->tokens = (double)rate;
	else
		s->tokens += (double)(now - s->tokens_ms) * (double)rate / 1000.0;
	if (s->tokens > (double)rate)
		s->tokens = (double)rate;
	s->tokens_ms = now;
	s->tokens -= (double)events;
	if (s->tokens >= 0)
		return;
	{
		int64_t wait = (int64_t)(-s->tokens * 1000.0 / (double)rate) + 1;
		struct timeval tv = { wait / 1000, (suseconds_t)(wait % 1000) * 1000 };

		c->stats.sessions_throttled++;
		if (now - s->throttle_logged_ms >= 60000) {
			ms_warn("event=agent_throttled agent=%s peer=%s max_events_per_s=%lld "
			    "note=\"reading paused, nothing dropped\"", s->agent_id, s->peer,
			    (long long)rate);
			s->throttle_logged_ms = now;
		}
		s->throttled = true;
		session_pause(s);
		evtimer_add(s->throttle_timer, &tv);
	}
}

static void
handle_batch(struct session *s, const uint8_t *p, size_t len)
{
	struct collector *c = s->c;
	struct agent_state *st = s->st;
	struct ms_batch_iter it;
	struct ms_wire_event we;
	struct decode_ctx dctx = { 0 };
	uint32_t count;
	uint64_t before = st->handled_seq;
	uint64_t first = 0;	/* the batch's first event not handled before */
	/* One clock read per batch: a batch is handled within a few ms. */
	int64_t now = ms_now_ms();

	if (ms_batch_open(&it, p, len, &count) != 0) {
		session_reject_or_close(s, MS_ERR_PROTOCOL, "malformed_batch");
		return;
	}
	c->stats.batches_in++;
	session_charge(s, count);
	dctx.tz_offset_s = s->hello.tz_offset_s;
	dctx.max_time_ms = now + DECODE_FUTURE_SLACK_MS;
	if (sink_batch_begin(c->sink) < 0) {
		session_close(s, MS_ERR_SHUTDOWN, "out_of_memory");
		return;
	}
	while (ms_batch_next(&it, &we) == 1) {
		c->stats.events_in++;
		st->events_in++;
		s->events++;
		if (we.seq <= st->handled_seq) {
			c->stats.events_dup++;
			st->events_dup++;
			continue;
		}
		dctx.recv_ms = we.time_ms;
		collector_detect_line(c, &dctx, s->agent_id,
		    s->hello.hostname[0] ? s->hello.hostname : s->agent_id,
		    ms_str_make(we.source, we.source_len), ms_str_make(we.line, we.line_len), we.seq);
		if (c->decoded->time_capped && !s->time_capped_logged) {
			/* once a session: a host with a wrong clock sends every line so */
			s->time_capped_logged = true;
			ms_warn("event=event_time_capped peer=%s agent=%s seq=%llu note=\"an event "
			    "dated more than %d s ahead of the collector's clock is taken as dated "
			    "then; check that host's clock (counted in events_time_capped)\"", s->peer,
			    s->agent_id, (unsigned long long)we.seq, DECODE_FUTURE_SLACK_MS / 1000);
		}
		collector_archive_event(c, st, we.time_ms, we.seq,
		    ms_str_make(we.source, we.source_len), ms_str_make(we.line, we.line_len));
		registry_seen(c, st, c->decoded, now);
		if (first == 0)
			first = we.seq;
		st->handled_seq = we.seq;
	}
	if (st->handled_seq > before) {
		/* In the archive file before the agent may hear it is handled. */
		collector_archive_flush(c);
		if (sink_checkpoint(c->sink, st, first, st->handled_seq) < 0 ||
		    sink_batch_end(c->sink) < 0)
			session_close(s, MS_ERR_SHUTDOWN, "out_of_memory");
		return;
	}
	if (sink_batch_end(c->sink) < 0) {
		session_close(s, MS_ERR_SHUTDOWN, "out_of_memory");
		return;
	}
	if (st->handled_seq == st->durable_seq) {
		/* Only duplicates: they are handled already, say so at once, even if
		 * this number was acknowledged before (the agent may have missed it). */
		if (ms_ack_encode(&s->out, st->durable_seq) == 0)
			session_send(s);
	}
}

static void
handle_frame(struct session *s, const struct ms_frame_hdr *h, const uint8_t *p)
{
	int64_t t;

	s->c->stats.frames_in++;
	switch (h->type) {
	case MS_MSG_HELLO:
		if (s->state != SS_HELLO) {
			session_reject_or_close(s, MS_ERR_TYPE, "unexpected_hello");
			return;
		}
		handle_hello(s, p, h->len);
		return;
	case MS_MSG_BATCH:
		if (s->state != SS_READY) {
			session_reject_or_close(s, MS_ERR_TYPE, "batch_before_hello");
			return;
		}
		/* The batch's log lines (one per alert) in one write, or with later ones. */
		ms_log_hold();
		handle_batch(s, p, h->len);
		ms_log_release();
		collector_log_later(s->c);
		return;
	case MS_MSG_HEALTH:
		if (s->state != SS_READY) {
			session_reject_or_close(s, MS_ERR_TYPE, "health_before_hello");
			return;
		}
		/* A malformed report is counted and ignored there: the session stays. */
		health_report(s->c, s->st, s->peer, p, h->len);
		return;
	case MS_MSG_HEARTBEAT:
		if (ms_heartbeat_decode(p, h->len, &t) != 0) {
			session_reject_or_close(s, MS_ERR_PROTOCOL, "malformed_heartbeat");
			return;
		}
		if (ms_heartbeat_encode(&s->out, ms_now_ms()) == 0)
			session_send(s);
		return;
	default:
		/* ACK and ERROR only flow from collector to agent. */
		session_reject_or_close(s, MS_ERR_TYPE, "unexpected_message_type");
		return;
	}
}

static int
proto_errcode(int rc)
{
	switch (rc) {
	case MS_PROTO_BAD_VERSION: return MS_ERR_VERSION;
	case MS_PROTO_BAD_TYPE: return MS_ERR_TYPE;
	case MS_PROTO_TOO_BIG: return MS_ERR_TOO_BIG;
	default: return MS_ERR_PROTOCOL;
	}
}

/*
 * Makes sure the input buffer's last block has room for a whole record,
 * starting a block of SESSION_READ_CHAIN when it has not (the little
 * left in the old one stays unused): libevent's next read and
 * session_tls_drain's then go into a big block. Only for a session that
 * is reading and has a frame begun: an empty buffer, or a session paused
 * (Redis congested, throttled, its state loading) or closing, keeps no
 * block it does not fill (a frame that begins in an empty buffer may be
 * copied once by its pullup).
 */
static void
session_input_room(const struct session *s, struct evbuffer *in)
{
	struct evbuffer_iovec v;

	if (s->state != SS_READY || s->paused || evbuffer_get_length(in) == 0)
		return;
	/*
	 * Reserved, not committed, so nothing is added: this tells the last
	 * block's room (a block exists, the buffer holds data; when it is
	 * exactly full libevent makes a small one, which the expand reuses).
	 */
	if (evbuffer_reserve_space(in, 1, &v, 1) == 1 && v.iov_len >= SESSION_RECORD_MAX)
		return;
	(void)evbuffer_expand(in, SESSION_READ_CHAIN - SESSION_CHAIN_HDR);
}

/*
 * Sessions read with OpenSSL's read-ahead: one read(2) fills its buffer
 * (SESSION_TLS_READ_BUF) with what the socket holds, where it took two
 * per record (header, then body). libevent 2.1's bufferevent_openssl only
 * goes on reading while SSL_pending() – the rest of the record being
 * read – is non-zero, so bytes of the next record already taken from the
 * socket would wait for its next readiness, which may never come (an
 * agent waiting for the ACK of what it sent). This moves them into the
 * input buffer, below limit bytes; returns the bytes moved. A TLS error
 * here (a forged record) closes the session as libevent would.
 */
static size_t
session_tls_drain(struct session *s, struct evbuffer *in, size_t limit)
{
	size_t moved = 0;

	while (SSL_has_pending(s->ssl) && evbuffer_get_length(in) < limit) {
		struct evbuffer_iovec v;
		int r, e;

		session_input_room(s, in);
		if (evbuffer_reserve_space(in, SESSION_RECORD_MAX, &v, 1) < 1)
			break;
		ERR_clear_error();
		r = SSL_read(s->ssl, v.iov_base, (int)(v.iov_len < INT_MAX ? v.iov_len : INT_MAX));
		if (r > 0) {
			v.iov_len = (size_t)r;
			evbuffer_commit_space(in, &v, 1);
			moved += (size_t)r;
			continue;
		}
		/* Not committed: the reserved space stays unused. */
		e = SSL_get_error(s->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			session_log_close(s, e == SSL_ERROR_ZERO_RETURN ? "peer_closed" :
			    e == SSL_ERROR_SYSCALL ? "connection_error" : "tls_error");
			session_drop(s);
			return 0;
		}
		break;	/* a partial record: the socket will be readable again */
	}
	return moved;
}

/* Handles every complete frame in the input buffer, unless paused. */
static void
session_process(struct session *s)
{
	struct evbuffer *in;
	/* As the read watermark: a whole frame and what follows it. */
	size_t limit = (size_t)s->c->conf.max_frame + 65536;

	if (s->in_read || s->bev == NULL)
		return;
	/* Deferred callbacks may deliver data before the "connected" event. */
	if (s->state == SS_HANDSHAKE && session_tls_ready(s) < 0)
		return;
	in = bufferevent_get_input(s->bev);
	s->in_read = true;
	while (s->state != SS_CLOSING && !s->paused) {
		struct ms_frame_hdr h;
		size_t avail = evbuffer_get_length(in);
		unsigned char *hp;
		int rc;

		if (avail == 0) {
			if (session_tls_drain(s, in, limit) > 0)
				continue;
			break;
		}
		hp = evbuffer_pullup(in, avail < MS_PROTO_HDR_LEN ? (ssize_t)avail : MS_PROTO_HDR_LEN);
		rc = ms_proto_hdr_parse(hp, avail, (uint32_t)s->c->conf.max_frame, &h);
		if (rc == MS_PROTO_NEED_MORE) {
			if (session_tls_drain(s, in, limit) > 0)
				continue;
			break;
		}
		if (rc != MS_PROTO_OK) {
			session_reject_or_close(s, proto_errcode(rc), ms_proto_strerror(rc));
			break;
		}
		if (avail < MS_PROTO_HDR_LEN + (size_t)h.len) {
			/* the read watermark bounds what we buffer */
			if (session_tls_drain(s, in, limit) > 0)
				continue;
			break;
		}
		hp = evbuffer_pullup(in, (ssize_t)(MS_PROTO_HDR_LEN + h.len));
		if (hp == NULL) {
			session_close(s, MS_ERR_SHUTDOWN, "out_of_memory");
			break;
		}
		s->last_rx_ms = ms_mono_ms();
		handle_frame(s, &h, hp + MS_PROTO_HDR_LEN);
		if (s->state == SS_CLOSING)
			break;
		/* Any frame is a sign of life of the agent (once it said who it is). */
		if (s->st)
			health_seen(s->c, s->st, s->peer);
		evbuffer_drain(in, MS_PROTO_HDR_LEN + h.len);
		if (sink_congested(s->c->sink))
			session_pause(s);
	}
	s->in_read = false;
	if (s->dead) {
		session_free(s);
		return;
	}
	/* libevent's next read: into a big block too. */
	if (s->bev != NULL)
		session_input_room(s, in);
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	/* Redis' replies that came meanwhile first: the new batches can go at the end of this pass. */
	sink_wake(s->c->sink);
	session_process(s);
}

const char *const tls_fail_names[TLS_FAIL_N] = {
	"expired", "unknown_ca", "purpose", "revoked", "no_cert", "bad_identity", "timeout",
	"closed", "other",
};

static void
count_tls_failure(struct session *s, enum tls_fail_reason r, const char *why)
{
	s->c->stats.tls_failures++;
	s->c->stats.tls_fail[r]++;
	ms_warn("event=tls_refused peer=%s cause=%s reason=\"%s\"", s->peer, tls_fail_names[r], why);
}

/* What a verification result means for operators. */
static enum tls_fail_reason
tls_verify_reason(long vr)
{
	switch (vr) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLS_FAIL_EXPIRED;
	case X509_V_ERR_INVALID_PURPOSE:
		return TLS_FAIL_PURPOSE;
	case X509_V_ERR_CERT_REVOKED:
		return TLS_FAIL_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return TLS_FAIL_UNKNOWN_CA;
	default:
		return TLS_FAIL_OTHER;
	}
}

static void
log_tls_failure(struct session *s, short what)
{
	char why[512];
	unsigned long e = bufferevent_get_openssl_error(s->bev);
	long vr = SSL_get_verify_result(s->ssl);
	enum tls_fail_reason r;

	if (vr != X509_V_OK) {
		snprintf(why, sizeof(why), "certificate: %s", X509_verify_cert_error_string(vr));
		r = tls_verify_reason(vr);
	} else if (e) {
		ERR_error_string_n(e, why, sizeof(why));
		r = ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ? TLS_FAIL_NO_CERT :
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING ? TLS_FAIL_CLOSED :
		    TLS_FAIL_OTHER;
	} else {
		snprintf(why, sizeof(why), "%s", (what & BEV_EVENT_EOF) ? "peer closed during handshake"
		    : "socket error during handshake");
		r = TLS_FAIL_CLOSED;
	}
	count_tls_failure(s, r, why);
}

/* The handshake is done: take the identity from the verified certificate. */
static int
session_tls_ready(struct session *s)
{
	if (s->state != SS_HANDSHAKE)
		return 0;
	session_handshake_done(s);
	if (ms_tls_peer_id(s->ssl, s->agent_id, sizeof(s->agent_id)) < 0) {
		count_tls_failure(s, TLS_FAIL_BAD_ID, "certificate has no usable CN");
		s->agent_id[0] = '\0';
		session_close(s, 0, "bad_identity");
		return -1;
	}
	s->state = SS_HELLO;
	/* Taken at the buffer's next allocation (it is released when drained). */
	SSL_set_default_read_buffer_len(s->ssl, SESSION_TLS_READ_BUF);
	s->c->stats.sessions_accepted++;
	ms_debug("event=tls_ok peer=%s agent=%s", s->peer, s->agent_id);
	return 0;
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* The hello may have come with the handshake's last records (read-ahead). */
		if (session_tls_ready(s) == 0)
			session_process(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (s->state == SS_HANDSHAKE) {
			log_tls_failure(s, what);
			session_drop(s);
			return;
		}
		/* The connection is gone: nothing left to flush. */
		if (s->state != SS_CLOSING)
			session_log_close(s, (what & BEV_EVENT_EOF) ? "peer_closed" : "connection_error");
		session_drop(s);
	}
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int64_t now = ms_mono_ms();
	const struct collector_conf *cf = &s->c->conf;
	struct timeval tv = { 1, 0 };

	if (s->state == SS_CLOSING) {
		if (now - s->closing_ms > SESSION_CLOSE_GRACE_MS) {
			ms_info("event=session_freed peer=%s reason=close_timeout", s->peer);
			session_drop(s);
			return;
		}
		evtimer_add(s->timer, &tv);
		return;
	}
	if ((s->paused || s->state == SS_LOADING) &&
	    now - s->last_tx_ms > SESSION_PAUSED_HEARTBEAT_MS &&
	    ms_heartbeat_encode(&s->out, ms_now_ms()) == 0)
		session_send(s);
	if ((s->state == SS_HANDSHAKE || s->state == SS_HELLO) &&
	    now - s->started_ms > cf->handshake_timeout_ms) {
		if (s->state == SS_HANDSHAKE) {
			count_tls_failure(s, TLS_FAIL_TIMEOUT, "handshake timeout");
			session_drop(s);
		} else {
			session_reject_or_close(s, MS_ERR_TIMEOUT, "hello_timeout");
		}
		return;
	}
	if (s->state == SS_READY && !s->paused && now - s->last_rx_ms > cf->idle_timeout_ms) {
		session_close(s, MS_ERR_TIMEOUT, "idle_timeout");
		return;
	}
	evtimer_add(s->timer, &tv);
}

struct session *
session_new(struct collector *c, int fd, const char *peer, const struct connlimit_addr *addr)
{
	struct session *s = NULL;
	SSL *ssl = NULL;
	struct timeval tv = { 1, 0 };

	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto fail;
	s->c = c;
	TAILQ_INSERT_TAIL(&c->sessions, s, link);
	c->nsessions++;
	c->nhandshakes++;
	s->in_handshake = true;
	s->addr = *addr;
	s->addr_counted = listener_handshake_begin(c->listener, &s->addr) == 0;
	ms_copy(s->peer, sizeof(s->peer), peer, strlen(peer));
	ms_buf_init(&s->out, MS_PROTO_MAX_FRAME);
	s->started_ms = s->last_rx_ms = ms_mono_ms();
	if ((ssl = SSL_new(c->ssl_ctx)) == NULL)
		goto fail;
	s->bev = bufferevent_openssl_socket_new(c->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL)
		goto fail;
	fd = -1;
	s->ssl = ssl;
	ssl = NULL;
	/* Close without a close_notify from the peer is still an end of stream. */
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, session_read_cb, NULL, session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, (size_t)c->conf.max_frame + 65536);
	SSL_set_read_ahead(s->ssl, 1);
	SSL_set_mode(s->ssl, SSL_MODE_RELEASE_BUFFERS);
	if ((s->timer = evtimer_new(c->base, session_timer_cb, s)) == NULL ||
	    (s->ack_timer = evtimer_new(c->base, session_ack_timer_cb, s)) == NULL ||
	    (s->throttle_timer = evtimer_new(c->base, session_throttle_cb, s)) == NULL)
		goto fail;
	evtimer_add(s->timer, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	return s;

fail:
	SSL_free(ssl);
	if (fd >= 0)
		evutil_closesocket(fd);
	if (s)
		session_free(s);
	return NULL;
}
