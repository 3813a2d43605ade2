/*
 * uplink – the agent's connection to the collector.
 *
 * DOWN -> CONNECTING (TCP + TLS, collector certificate and name verified)
 * -> HELLO (hello sent, waiting for the first ACK, which says what the
 * collector already handled) -> READY (batches flow, ACKs free the queue).
 * Any error goes back to DOWN and retries with exponential backoff and
 * jitter; every unacknowledged event is sent again on the next connection.
 *
 * Several collectors (conf.collectors, primary first): a failure moves the
 * next attempt to the next collector, round-robin. Each collector of a
 * round is tried after a short delay (about backoff_min_ms); the
 * exponential backoff grows once per full round of failures and is reset by
 * a success. While on another collector than the primary, the primary is
 * probed every failback_ms (TCP + TLS handshake, then a clean close); once
 * it answers, no new batch is sent, and when every sent event is
 * acknowledged (or dead_after_ms passed) the uplink closes and reconnects to
 * the primary.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_proto.h"
#include "ms_tls.h"
#include "ms_util.h"
#include "spool.h"

enum uplink_state { UL_DOWN, UL_CONNECTING, UL_HELLO, UL_READY };

struct uplink {
	struct agent *a;
	SSL_CTX *ctx;
	struct evdns_base *dns;
	struct bufferevent *bev;
	SSL *ssl;
	enum uplink_state state;
	struct event *retry_ev;
	struct event *hb_ev;
	int64_t backoff_ms;
	int64_t last_rx_ms;	/* monotonic */
	int64_t connect_started_ms;
	int64_t last_tx_ms;
	struct ms_buf out;	/* the frame being built */
	char peer[300];		/* the collector in use or being tried */
	/* Failover and fail-back (see the top of this file). */
	size_t cur;		/* index in conf.collectors of peer */
	size_t round_failed;	/* collectors failed since the last success or new round */
	struct event *failback_ev;	/* next probe, or deadline of a pending switch */
	struct bufferevent *probe_bev;	/* TLS probe of the primary, or NULL */
	SSL *probe_ssl;		/* owned by probe_bev */
	bool probe_connected;	/* the probe's handshake finished */
	bool failback_pending;	/* the primary answered: switch when nothing is in flight */
	char primary_name[300];	/* "host:port" of the primary, for logs */
	int64_t health_tx_ms;	/* monotonic, when the last health report went out */
	bool health_sent;	/* on this connection */
	bool health_off;	/* the collector does not know HEALTH frames */
	char write_err[256];	/* why a direct SSL_write failed ("" if none) */
};

/* Plaintext bytes of one TLS record: the most one SSL_write puts in flight. */
#define UPLINK_RECORD 16384

static void uplink_connect(struct uplink *u);

/*
 * tls.pin_sha256: the collector's public key must be one of the pins (on
 * top of the CA and name checks), checked before anything is sent.
 */
static bool
uplink_pin_ok(const struct agent *a, SSL *ssl, char *why, size_t whysz)
{
	char pin[65];

	if (a->conf.npins == 0)
		return true;
	if (ms_tls_peer_pin(ssl, pin) < 0) {
		snprintf(why, whysz, "collector key pin: no peer certificate");
		return false;
	}
	for (size_t i = 0; i < a->conf.npins; i++)
		if (strcmp(pin, a->conf.pins[i]) == 0)
			return true;
	snprintf(why, whysz, "collector key pin mismatch (its key is %s)", pin);
	return false;
}
static void failback_cancel(struct uplink *u);
static void uplink_failback_switch(struct uplink *u);
static void failback_cb(evutil_socket_t fd, short what, void *arg);

/* Writes "host:port" (IPv6 in brackets) of collector i into out. */
static void
uplink_name(const struct uplink *u, size_t i, char *out, size_t outsz)
{
	const struct agent_collector *co = &u->a->conf.collectors[i];
	bool v6 = strchr(co->host, ':') != NULL;

	snprintf(out, outsz, "%s%s%s:%lld", v6 ? "[" : "", co->host, v6 ? "]" : "",
	    (long long)co->port);
}

/* "Equal jitter": half of ms fixed, the other half random. */
static int64_t
uplink_jitter(int64_t ms)
{
	uint32_t r = 0;

	RAND_bytes((unsigned char *)&r, sizeof(r));
	return ms / 2 + (int64_t)(r % (uint32_t)(ms / 2 + 1));
}

static void
uplink_timer_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/*
 * Whether an event was sent on this connection and is not acknowledged yet.
 * (The one place the uplink looks at how the queue marks what was sent.)
 */
static bool
uplink_in_flight(const struct uplink *u)
{
	return u->a->q.head != u->a->q.unsent;
}

bool
uplink_ready(const struct uplink *u)
{
	return u->state == UL_READY;
}

static void
uplink_drop(struct uplink *u, const char *reason)
{
	size_t n = u->a->conf.ncollectors;
	bool to_primary = u->failback_pending;
	int64_t delay;

	failback_cancel(u);
	if (u->state == UL_READY)
		u->round_failed = 0;	/* it worked: a new round starts here */
	if (u->bev) {
		bufferevent_free(u->bev);
		u->bev = NULL;
		u->ssl = NULL;
	}
	if (u->state == UL_READY || u->state == UL_HELLO)
		ms_warn("event=disconnected collector=%s reason=\"%s\" unacked=%zu", u->peer, reason,
		    u->a->q.count);
	else
		ms_warn("event=connect_failed collector=%s reason=\"%s\"", u->peer, reason);
	if (u->state != UL_READY)
		u->a->stats.connect_failures++;
	u->state = UL_DOWN;
	queue_rewind(&u->a->q);
	if (u->a->stopping) {
		/* Nothing more will be acknowledged: stop now, state keeps the rest. */
		agent_maybe_exit(u->a);
		return;
	}
	if (++u->round_failed < n) {
		/* Collectors of this round not tried yet: the next one soon. */
		delay = uplink_jitter(u->a->conf.backoff_min_ms);
	} else {
		/* Every collector failed once: exponential backoff, per round. */
		u->round_failed = 0;
		u->backoff_ms = u->backoff_ms ? u->backoff_ms * 2 : u->a->conf.backoff_min_ms;
		if (u->backoff_ms > u->a->conf.backoff_max_ms)
			u->backoff_ms = u->a->conf.backoff_max_ms;
		delay = uplink_jitter(u->backoff_ms);
	}
	if (n > 1) {
		char from[sizeof(u->peer)];

		memcpy(from, u->peer, sizeof(from));
		/* A primary that just answered its probe is the best next bet. */
		u->cur = to_primary && u->cur != 0 ? 0 : (u->cur + 1) % n;
		uplink_name(u, u->cur, u->peer, sizeof(u->peer));
		u->a->stats.failovers++;
		ms_warn("event=failover from=%s to=%s delay_ms=%lld", from, u->peer, (long long)delay);
	}
	uplink_timer_ms(u->retry_ev, delay);
}

/*
 * Writes the frame in u->out. While nothing is queued in the bufferevent,
 * the TLS records go straight to the socket: the bufferevent would add its
 * write event, wait for the loop to report the socket writable, write, and
 * remove the event again (two epoll_ctl and one more wake-up per batch,
 * most of what a batch cost at 10,000 lines/s).
 *
 * Whatever the socket does not take goes to the bufferevent, starting with
 * the bytes of the SSL_write that stopped, which OpenSSL wants retried with
 * the same bytes (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them move) and
 * at least as many. That holds because each direct call writes at most
 * UPLINK_RECORD bytes, one TLS record (SSL_MODE_ENABLE_PARTIAL_WRITE: a
 * call returns after each record, so nothing of an earlier record is left
 * pending), and libevent's retry passes the first UPLINK_RECORD bytes of
 * its buffer, which hold the rest in one piece. libevent 2.1 also assumes
 * no SSL_write of its own returns short: a chunk of at most one record
 * cannot, so its max_single_write is pinned to UPLINK_RECORD (uplink_connect).
 * A fatal error is left to the bufferevent as well, whose retry meets it
 * and tears the connection down through uplink_event_cb; its reason is kept
 * here, as libevent clears OpenSSL's error queue before that retry.
 */
static void
uplink_write(struct uplink *u)
{
	size_t off = 0;

	if (u->out.len == 0 || u->bev == NULL)
		goto done;
	u->last_tx_ms = ms_mono_ms();
	if (u->ssl && evbuffer_get_length(bufferevent_get_output(u->bev)) == 0) {
		while (off < u->out.len) {
			size_t left = u->out.len - off;
			int n, e;

			ERR_clear_error();
			n = SSL_write(u->ssl, u->out.data + off, (int)(left > UPLINK_RECORD ? UPLINK_RECORD : left));
			if (n > 0) {
				off += (size_t)n;
				continue;
			}
			e = SSL_get_error(u->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				u->a->stats.send_blocked++;
			} else if (u->write_err[0] == '\0') {
				unsigned long le = ERR_peek_last_error();

				if (le != 0)
					ERR_error_string_n(le, u->write_err, sizeof(u->write_err));
				else
					snprintf(u->write_err, sizeof(u->write_err), "%s",
					    errno ? strerror(errno) : "collector closed the connection");
			}
			break;
		}
	}
	if (off < u->out.len)
		bufferevent_write(u->bev, u->out.data + off, u->out.len - off);
done:
	ms_buf_reset(&u->out);
}

/* Builds one batch from the unsent events and writes it. */
static void
uplink_send_batch(struct uplink *u)
{
	struct queue *q = &u->a->q;
	size_t start;
	uint32_t count = 0;
	size_t limit = u->a->conf.batch_max_bytes;
	uint64_t q_last_wire = 0;

	if (q->unsent == NULL)
		return;
	ms_buf_reset(&u->out);
	if (ms_batch_begin(&u->out, &start) < 0)
		return;
	while (q->unsent && count < (uint32_t)u->a->conf.batch_max_events) {
		struct qevent *e = q->unsent;
		struct ms_wire_event we = {
			.seq = e->seq + u->a->seq_shift, .time_ms = e->time_ms,
			.source = e->data, .source_len = e->src_len,
			.line = qevent_line(e), .line_len = e->len,
		};
		/* Always take one event, then stop at the byte budget. */
		if (count > 0 && u->out.len + ms_batch_event_size(we.source_len, we.line_len) > limit)
			break;
		if (ms_batch_add(&u->out, &we) < 0)
			break;
		q->unsent = e->next;
		q_last_wire = we.seq;
		count++;
	}
	if (count == 0) {
		ms_buf_reset(&u->out);
		return;
	}
	ms_batch_finish(&u->out, start, count);
	/* In order: the batch's last number is its highest. */
	if (u->a->sent_max < q_last_wire)
		u->a->sent_max = q_last_wire;
	u->a->stats.events_sent += count;
	u->a->stats.batches_sent++;
	uplink_write(u);
}

void
uplink_kick(struct uplink *u)
{
	/*
	 * Send at once when the socket is idle; while a batch is still being
	 * written, lines pile up and go in the next, larger batch.
	 */
	if (u->state != UL_READY || u->bev == NULL)
		return;
	if (u->failback_pending && !u->a->stopping) {
		/* Nothing new goes out; once all sent is acknowledged, switch. */
		if (!uplink_in_flight(u))
			uplink_failback_switch(u);
		return;
	}
	/* Nothing leaves before it is in the spool file (an agent crash then loses nothing). */
	if (spool_flush(u->a->spool) < 0)
		return;
	/* Direct writes leave the buffer empty: send everything queued now. */
	while (u->bev && u->state == UL_READY && u->a->q.unsent &&
	    evbuffer_get_length(bufferevent_get_output(u->bev)) == 0) {
		const struct qevent *first = u->a->q.unsent;

		uplink_send_batch(u);
		if (u->a->q.unsent == first)
			break;	/* nothing taken (out of memory): the next kick retries */
	}
}

/* Sends a health report (health.c), unless the collector cannot take them. */
static void
uplink_send_health(struct uplink *u)
{
	u->health_tx_ms = ms_mono_ms();
	if (u->health_off || u->state != UL_READY)
		return;
	ms_buf_reset(&u->out);
	if (health_encode(u->a, &u->out) < 0) {
		ms_warn("event=health_failed reason=\"cannot build the report\"");
		return;
	}
	u->health_sent = true;
	uplink_write(u);
}

/*
 * seq is a wire number: local numbers plus the agent's seq_shift. When the
 * collector has handled numbers this agent never gave out, its state was
 * lost (reinstall, wiped state_dir) and local numbering started over: the
 * shift grows so that the oldest unacknowledged event goes out just above
 * the collector's number, or every new line would be taken for a
 * duplicate. The shift is saved before anything is sent with it.
 *
 * Numbers below next_seq count as given out: after a power cut the
 * spool can have lost records the collector had already handled (sent
 * before the group commit), and their numbers are then acknowledged as
 * usual. That a number from an earlier life of the agent is not below
 * next_seq is the numbering's doing: it starts from the clock
 * (state_open), above anything an earlier life gave out – unless that
 * life ran ahead of the clock (quick restarts each start a reserved block
 * ahead) and the state folder was then wiped, or the folder was restored
 * from a backup with the clock set back. So a number at or above this
 * life's first that this life never sent is not taken as an
 * acknowledgement either: no collector can have handled it from us.
 */
static void
uplink_on_ack(struct uplink *u, uint64_t seq)
{
	struct agent *a = u->a;
	uint64_t first = a->q.head ? a->q.head->seq : a->next_seq;
	uint64_t life_first = state_first_seq(a->state) + a->seq_shift;
	size_t n = 0;

	if (seq >= a->next_seq + a->seq_shift || (seq >= life_first && seq > a->sent_max)) {
		ms_warn("event=seq_behind_collector collector_handled=%llu next_seq=%llu "
		    "note=\"state lost? numbering continues above the collector's\"",
		    (unsigned long long)seq, (unsigned long long)(a->next_seq + a->seq_shift));
		if (state_set_shift(a->state, seq + 1 - first) < 0) {
			uplink_drop(u, "cannot save the sequence shift on disk");
			return;
		}
		a->seq_shift = seq + 1 - first;
		/* Every number from now on is above seq: the same answer again acknowledges nothing. */
		if (a->sent_max < seq)
			a->sent_max = seq;
		queue_rewind(&a->q);	/* anything sent with the old numbers goes again */
	} else if (seq >= a->seq_shift) {
		n = queue_ack(&a->q, seq - a->seq_shift, NULL, NULL);
		agent_acked(a, seq - a->seq_shift);
	}
	a->stats.events_acked += n;
	if (u->state == UL_HELLO) {
		u->state = UL_READY;
		/* The connect timeout is done; a collector slowing us down is no error. */
		bufferevent_set_timeouts(u->bev, NULL, NULL);
		u->backoff_ms = 0;
		a->stats.connects++;
		ms_info("event=connected collector=%s collector_handled=%llu resending=%zu",
		    u->peer, (unsigned long long)seq, a->q.count);
		queue_rewind(&a->q);
		u->health_sent = false;
		uplink_send_health(u);
	}
	if (n)
		agent_room_freed(a);
	uplink_kick(u);
	if (a->stopping && a->q.count == 0 && !spool_backlog(a->spool))
		agent_maybe_exit(a);
}

static void
uplink_read_cb(struct bufferevent *bev, void *arg)
{
	struct uplink *u = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (u->bev) {
		struct ms_frame_hdr h;
		size_t avail = evbuffer_get_length(in);
		unsigned char *p;
		uint64_t seq;
		int64_t t;
		uint16_t code = 0;
		char reason[300];
		int rc;

		if (avail == 0)
			return;
		p = evbuffer_pullup(in, avail < MS_PROTO_HDR_LEN ? (ssize_t)avail : MS_PROTO_HDR_LEN);
		rc = ms_proto_hdr_parse(p, avail, 65536, &h);
		if (rc == MS_PROTO_NEED_MORE)
			return;
		if (rc != MS_PROTO_OK) {
			uplink_drop(u, ms_proto_strerror(rc));
			return;
		}
		if (avail < MS_PROTO_HDR_LEN + (size_t)h.len)
			return;
		p = evbuffer_pullup(in, (ssize_t)(MS_PROTO_HDR_LEN + h.len));
		u->last_rx_ms = ms_mono_ms();
		switch (h.type) {
		case MS_MSG_ACK:
			if (ms_ack_decode(p + MS_PROTO_HDR_LEN, h.len, &seq) != 0) {
				uplink_drop(u, "malformed ack");
				return;
			}
			evbuffer_drain(in, MS_PROTO_HDR_LEN + h.len);
			uplink_on_ack(u, seq);
			break;
		case MS_MSG_HEARTBEAT:
			if (ms_heartbeat_decode(p + MS_PROTO_HDR_LEN, h.len, &t) != 0) {
				uplink_drop(u, "malformed heartbeat");
				return;
			}
			evbuffer_drain(in, MS_PROTO_HDR_LEN + h.len);
			break;
		case MS_MSG_ERROR:
			if (ms_error_decode(p + MS_PROTO_HDR_LEN, h.len, &code, reason,
			    sizeof(reason)) != 0)
				snprintf(reason, sizeof(reason), "malformed error frame");
			ms_warn("event=collector_error code=%u reason=\"%s\"", code, reason);
			if (code == MS_ERR_TYPE && u->health_sent && strcmp(reason, "unknown_type") == 0) {
				/* A collector older than HEALTH frames: keep delivering without them. */
				u->health_off = true;
				ms_warn("event=health_disabled collector=%s reason=\"the collector does not "
				    "know health reports\" note=\"until the agent restarts\"", u->peer);
			}
			uplink_drop(u, reason);
			return;
		default:
			uplink_drop(u, "unexpected message type");
			return;
		}
	}
}

static void
uplink_write_cb(struct bufferevent *bev, void *arg)
{
	/* The output drained: send what piled up meanwhile. */
	uplink_kick(arg);
}

static void
uplink_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct uplink *u = arg;
	struct ms_hello h;
	char why[512];
	int one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		if (!uplink_pin_ok(u->a, u->ssl, why, sizeof(why))) {
			uplink_drop(u, why);
			return;
		}
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(&h, 0, sizeof(h));
		ms_copy(h.agent_version, sizeof(h.agent_version), MINISOC_VERSION,
		    strlen(MINISOC_VERSION));
		ms_copy(h.hostname, sizeof(h.hostname), u->a->hostname, strlen(u->a->hostname));
		agent_host_facts(&h);
		if (ms_hello_encode(&u->out, &h) < 0) {
			uplink_drop(u, "cannot encode hello");
			return;
		}
		uplink_write(u);
		u->state = UL_HELLO;
		u->last_rx_ms = ms_mono_ms();
		if (u->cur != 0 && u->failback_ev)
			uplink_timer_ms(u->failback_ev, u->a->conf.failback_ms);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		long vr = u->ssl ? SSL_get_verify_result(u->ssl) : X509_V_OK;
		int dnserr = bufferevent_socket_get_dns_error(bev);

		unsigned long more;

		/* The last error is the most specific one. */
		while ((more = bufferevent_get_openssl_error(bev)) != 0)
			e = more;
		if (dnserr)
			snprintf(why, sizeof(why), "cannot resolve: %s", evutil_gai_strerror(dnserr));
		else if (u->write_err[0])
			snprintf(why, sizeof(why), "%s", u->write_err);
		else if (vr != X509_V_OK)
			snprintf(why, sizeof(why), "collector certificate: %s",
			    X509_verify_cert_error_string(vr));
		else if (e && ERR_GET_LIB(e) != 0)
			ERR_error_string_n(e, why, sizeof(why));
		else if (u->state == UL_HELLO && u->ctx != NULL && SSL_CTX_get0_certificate(u->ctx) &&
		    ms_tls_cert_out_of_date(SSL_CTX_get0_certificate(u->ctx), why, sizeof(why)))
			;	/* the collector refused it for its dates: say so, not "which CA?" */
		else if (u->state == UL_HELLO)
			snprintf(why, sizeof(why), "collector closed the connection before accepting "
			    "this agent (is its certificate signed by the collector's CA?)");
		else if ((what & BEV_EVENT_EOF) || EVUTIL_SOCKET_ERROR() == 0)
			snprintf(why, sizeof(why), "collector closed the connection");
		else
			snprintf(why, sizeof(why), "%s",
			    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		uplink_drop(u, why);
	}
}

static void
uplink_connect(struct uplink *u)
{
	struct agent *a = u->a;
	SSL *ssl = NULL;

	if (u->state != UL_DOWN || a->stopping)
		return;
	if ((ssl = SSL_new(u->ctx)) == NULL ||
	    ms_tls_client_set_peer_name(ssl, a->conf.collectors[u->cur].server_name) < 0) {
		SSL_free(ssl);
		u->state = UL_CONNECTING;
		uplink_drop(u, "TLS setup failed");
		return;
	}
	u->bev = bufferevent_openssl_socket_new(a->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (u->bev == NULL) {
		SSL_free(ssl);
		u->state = UL_CONNECTING;
		uplink_drop(u, "out of memory");
		return;
	}
	u->ssl = ssl;
	/* uplink_write hands what the socket did not take to the bufferevent (see there). */
	SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	bufferevent_set_max_single_write(u->bev, UPLINK_RECORD);
	u->write_err[0] = '\0';
	u->state = UL_CONNECTING;
	bufferevent_openssl_set_allow_dirty_shutdown(u->bev, 1);
	bufferevent_setcb(u->bev, uplink_read_cb, uplink_write_cb, uplink_event_cb, u);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	{
		/*
		 * Connect, handshake and hello must make progress: a collector that
		 * accepts and then says nothing must not hold us. While it loads our
		 * state it sends heartbeats, which count as progress. READY clears it.
		 */
		struct timeval tv = { 10, 0 };
		bufferevent_set_timeouts(u->bev, &tv, &tv);
	}
	u->connect_started_ms = ms_mono_ms();
	if (bufferevent_socket_connect_hostname(u->bev, u->dns, AF_UNSPEC,
	    a->conf.collectors[u->cur].host, (int)a->conf.collectors[u->cur].port) < 0) {
		uplink_drop(u, "connect failed");
		return;
	}
	ms_debug("event=connecting collector=%s", u->peer);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	uplink_connect(arg);
}

static void
hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *u = arg;
	int64_t now = ms_mono_ms();

	if (u->state == UL_DOWN)
		return;
	if (u->state == UL_CONNECTING) {
		if (now - u->connect_started_ms > u->a->conf.dead_after_ms)
			uplink_drop(u, "connect or TLS handshake did not finish");
		return;
	}
	if (now - u->last_rx_ms > u->a->conf.dead_after_ms) {
		uplink_drop(u, "no answer from the collector");
		return;
	}
	if (u->state == UL_READY && now - u->health_tx_ms >= u->a->conf.health_ms)
		uplink_send_health(u);
	if (u->state == UL_READY && now - u->last_tx_ms >= u->a->conf.heartbeat_ms &&
	    ms_heartbeat_encode(&u->out, ms_now_ms()) == 0)
		uplink_write(u);
}

/* --- fail-back: probing the primary while on another collector ------- */

/* Stops a probe and a pending switch; the timer is armed again at the next connect. */
static void
failback_cancel(struct uplink *u)
{
	if (u->probe_bev) {
		bufferevent_free(u->probe_bev);
		u->probe_bev = NULL;
		u->probe_ssl = NULL;
	}
	u->failback_pending = false;
	if (u->failback_ev)
		evtimer_del(u->failback_ev);
}

/*
 * Closes the connection to the current collector on purpose and connects
 * to the primary right away. Unacknowledged events (none, unless the
 * deadline forced the switch) are resent there.
 */
static void
uplink_failback_switch(struct uplink *u)
{
	ms_info("event=failback from=%s to=%s unacked=%zu in_flight=%s", u->peer, u->primary_name,
	    u->a->q.count, uplink_in_flight(u) ? "yes" : "no");
	u->a->stats.failbacks++;
	failback_cancel(u);
	if (u->bev) {
		/* A close_notify, unless it would cut into a frame still being written. */
		if (u->ssl && evbuffer_get_length(bufferevent_get_output(u->bev)) == 0)
			SSL_shutdown(u->ssl);
		bufferevent_free(u->bev);
		u->bev = NULL;
		u->ssl = NULL;
	}
	u->state = UL_DOWN;
	queue_rewind(&u->a->q);
	u->cur = 0;
	memcpy(u->peer, u->primary_name, sizeof(u->peer));
	u->round_failed = 0;
	u->backoff_ms = 0;
	/* From the loop, not from here: this may run inside the old connection's callbacks. */
	uplink_timer_ms(u->retry_ev, 0);
}

/* The probe is over: ok tells whether the primary took a whole handshake. */
static void
probe_end(struct uplink *u, bool ok, const char *why)
{
	if (u->probe_bev) {
		bufferevent_free(u->probe_bev);
		u->probe_bev = NULL;
		u->probe_ssl = NULL;
	}
	if (u->state != UL_READY || u->cur == 0 || u->a->stopping)
		return;
	if (!ok) {
		ms_debug("event=failback_probe collector=%s result=failed reason=\"%s\"",
		    u->primary_name, why);
		uplink_timer_ms(u->failback_ev, u->a->conf.failback_ms);
		return;
	}
	ms_info("event=failback_probe collector=%s result=ok in_flight=%s", u->primary_name,
	    uplink_in_flight(u) ? "yes" : "no");
	u->failback_pending = true;
	/* Acknowledgements get this long; then the switch happens anyway. */
	uplink_timer_ms(u->failback_ev, u->a->conf.dead_after_ms);
	uplink_kick(u);
}

static void
probe_read_cb(struct bufferevent *bev, void *arg)
{
	/* A collector says nothing before the hello; ignore whatever comes. */
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
probe_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct uplink *u = arg;
	unsigned long e, refused = 0;
	long vr;
	char why[512];

	if (what & BEV_EVENT_CONNECTED) {
		/*
		 * Our side of the handshake is done. Say goodbye; the collector
		 * closes in turn, or, in TLS 1.3 only now, refuses our certificate
		 * with an alert.
		 */
		if (!uplink_pin_ok(u->a, u->probe_ssl, why, sizeof(why))) {
			probe_end(u, false, why);
			return;
		}
		u->probe_connected = true;
		SSL_shutdown(u->probe_ssl);
		return;
	}
	if (!(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)))
		return;
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET)
			refused = e;	/* an alert from the collector */
	vr = SSL_get_verify_result(u->probe_ssl);
	if (refused) {
		ERR_error_string_n(refused, why, sizeof(why));
	} else if (vr != X509_V_OK) {
		snprintf(why, sizeof(why), "collector certificate: %s", X509_verify_cert_error_string(vr));
	} else if (what & BEV_EVENT_TIMEOUT) {
		snprintf(why, sizeof(why), "no answer in time");
	} else if (!u->probe_connected) {
		snprintf(why, sizeof(why), "%s", bufferevent_socket_get_dns_error(bev)
		    ? evutil_gai_strerror(bufferevent_socket_get_dns_error(bev))
		    : (what & BEV_EVENT_EOF) || EVUTIL_SOCKET_ERROR() == 0 ? "connection closed"
		    : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	} else {
		/* Handshake done and a plain close after our close_notify: it is back. */
		probe_end(u, true, NULL);
		return;
	}
	probe_end(u, false, why);
}

/* Starts a probe of the primary: TCP + TLS handshake, then a clean close. */
static int
probe_start(struct uplink *u)
{
	const struct agent_collector *p = &u->a->conf.collectors[0];
	SSL *ssl = NULL;
	struct timeval tv = { .tv_sec = u->a->conf.dead_after_ms / 1000,
		.tv_usec = (u->a->conf.dead_after_ms % 1000) * 1000 };

	if ((ssl = SSL_new(u->ctx)) == NULL || ms_tls_client_set_peer_name(ssl, p->server_name) < 0)
		goto fail;
	u->probe_bev = bufferevent_openssl_socket_new(u->a->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (u->probe_bev == NULL)
		goto fail;
	u->probe_ssl = ssl;
	u->probe_connected = false;
	bufferevent_openssl_set_allow_dirty_shutdown(u->probe_bev, 1);
	bufferevent_setcb(u->probe_bev, probe_read_cb, NULL, probe_event_cb, u);
	bufferevent_enable(u->probe_bev, EV_READ | EV_WRITE);
	/* A probe that makes no progress for dead_after_ms has failed. */
	bufferevent_set_timeouts(u->probe_bev, &tv, &tv);
	ms_debug("event=failback_probe collector=%s", u->primary_name);
	if (bufferevent_socket_connect_hostname(u->probe_bev, u->dns, AF_UNSPEC, p->host,
	    (int)p->port) < 0)
		probe_end(u, false, "connect failed");
	return 0;
fail:
	SSL_free(ssl);
	return -1;
}

static void
failback_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *u = arg;

	if (u->cur == 0 || u->state == UL_DOWN || u->a->stopping)
		return;
	if (u->failback_pending) {
		/* Acknowledgements did not come in time: switch anyway, resend. */
		uplink_failback_switch(u);
		return;
	}
	if (u->state != UL_READY || u->probe_bev != NULL || probe_start(u) < 0)
		uplink_timer_ms(u->failback_ev, u->a->conf.failback_ms);
}

void
uplink_set_ctx(struct uplink *u, SSL_CTX *ctx)
{
	SSL_CTX_free(u->ctx);	/* live SSL objects hold their own reference */
	u->ctx = ctx;
	if (u->a->conf.tls_allow_tls12)
		ms_tls_ctx_allow_tls12(u->ctx);
	if (u->bev == NULL || u->state == UL_DOWN || u->a->stopping)
		return;
	failback_cancel(u);
	/* A clean close and a new session, same collector: what was not acknowledged goes again. */
	if (u->ssl && u->state != UL_CONNECTING)
		SSL_shutdown(u->ssl);
	bufferevent_free(u->bev);
	u->bev = NULL;
	u->ssl = NULL;
	ms_info("event=reconnect collector=%s reason=certificate_renewed unacked=%zu", u->peer,
	    u->a->q.count);
	u->state = UL_DOWN;
	queue_rewind(&u->a->q);
	uplink_timer_ms(u->retry_ev, 0);
}

struct uplink *
uplink_new(struct agent *a, char *err, size_t errsz)
{
	struct uplink *u = calloc(1, sizeof(*u));
	struct timeval tv;

	if (u == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	u->a = a;
	ms_buf_init(&u->out, MS_PROTO_MAX_FRAME);
	uplink_name(u, 0, u->peer, sizeof(u->peer));
	uplink_name(u, 0, u->primary_name, sizeof(u->primary_name));
	/* The context main made to check the files, if any: loading them twice costs memory. */
	u->ctx = a->tls_ctx;
	a->tls_ctx = NULL;
	if (u->ctx == NULL && (u->ctx = ms_tls_client_ctx_new(a->conf.tls_ca, a->conf.tls_cert,
	    a->conf.tls_key, err, errsz)) == NULL)
		goto fail;
	if (a->conf.tls_allow_tls12 && ms_tls_ctx_allow_tls12(u->ctx) < 0) {
		snprintf(err, errsz, "cannot allow TLS 1.2");
		goto fail;
	}
	u->dns = evdns_base_new(a->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (u->dns == NULL)
		u->dns = evdns_base_new(a->base, 0);	/* no resolv.conf: /etc/hosts and literals */
	if ((u->retry_ev = evtimer_new(a->base, retry_cb, u)) == NULL ||
	    (u->hb_ev = event_new(a->base, -1, EV_PERSIST, hb_cb, u)) == NULL ||
	    (a->conf.ncollectors > 1 && a->conf.failback_ms > 0 &&
	    (u->failback_ev = evtimer_new(a->base, failback_cb, u)) == NULL)) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	{
		/*
		 * Often enough for the configured heartbeat, health reports and
		 * dead-peer check (1 s at the defaults): with a fixed 1 s tick,
		 * intervals below 1 s acted as 1 s, and a dead_after_ms of about
		 * 1 s took a live but idle collector for dead.
		 */
		int64_t tick = a->conf.heartbeat_ms;
		if (a->conf.health_ms < tick)
			tick = a->conf.health_ms;
		if (a->conf.dead_after_ms < tick)
			tick = a->conf.dead_after_ms;
		tick /= 4;
		tick = tick < 25 ? 25 : tick > 1000 ? 1000 : tick;
		tv.tv_sec = tick / 1000;
		tv.tv_usec = (tick % 1000) * 1000;
	}
	evtimer_add(u->hb_ev, &tv);
	uplink_connect(u);
	return u;
fail:
	uplink_free(u);
	return NULL;
}

void
uplink_free(struct uplink *u)
{
	if (u == NULL)
		return;
	if (u->bev) {
		/* A close_notify tells the collector this end was on purpose. */
		if (u->ssl && u->state != UL_CONNECTING)
			SSL_shutdown(u->ssl);
		bufferevent_free(u->bev);
	}
	if (u->probe_bev)
		bufferevent_free(u->probe_bev);
	if (u->failback_ev)
		event_free(u->failback_ev);
	if (u->retry_ev)
		event_free(u->retry_ev);
	if (u->hb_ev)
		event_free(u->hb_ev);
	if (u->dns)
		evdns_base_free(u->dns, 0);
	SSL_CTX_free(u->ctx);
	ms_buf_fini(&u->out);
	free(u);
}
