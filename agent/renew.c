/*
 * renew – automatic renewal of the agent's certificate.
 *
 * Every tls.renew_check_s the certificate in use is looked at; past two
 * thirds of its lifetime a renewal runs in a thread (the exchange blocks:
 * connect, TLS, Redis on the collector's side) at the primary collector's
 * enrolment port (the next collector of the list after a failure): a new
 * key and CSR, the current certificate as proof. The
 * new files are renamed into place only once complete and checked, so a
 * failed renewal leaves the working certificate alone; it is retried at
 * the next check. On success the uplink reconnects with the new
 * certificate at once (what was not acknowledged is sent again).
 *
 * The thread shares nothing with the loop while it runs: it gets a copy of
 * the job and writes only its result; the loop polls a flag.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_pki.h"
#include "ms_tls.h"
#include "ms_util.h"

/* While a renewal runs, its end is looked for this often. */
#define RENEW_POLL_MS 100

struct renew {
	struct agent *a;
	struct event *timer;
	int64_t not_before, not_after;	/* of the certificate in use */
	bool enrolled;		/* it carries a system URN: the enrolment CA made it */
	bool said_manual;	/* "not renewed automatically" logged */
	pthread_t thread;
	bool running;
	atomic_bool done;
	struct agent_enroll_job job;
	struct agent_enroll_result res;
	int rc;
	size_t target;		/* index in conf.collectors: moves on after a failure */
};

static void
renew_arm(struct renew *r, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(r->timer, &tv);
}

/* Reads notBefore/notAfter of the configured certificate. 0 or -1. */
static int
renew_load(struct renew *r)
{
	char err[512];
	X509 *x = ms_pki_cert_read(r->a->conf.tls_cert, err, sizeof(err));

	if (x == NULL)
		return -1;
	r->not_before = ms_pki_cert_not_before(x);
	r->not_after = ms_pki_cert_not_after(x);
	/*
	 * Only a certificate from enrolment can be renewed there (the collector
	 * renews the certificate on record); one made by hand (deploy/pki.sh,
	 * another CA) would fail every hour.
	 */
	{
		char sys[128];
		r->enrolled = ms_pki_cert_system(x, sys, sizeof(sys)) == 0;
	}
	X509_free(x);
	return 0;
}

static void *
renew_thread(void *arg)
{
	struct renew *r = arg;

	r->rc = agent_enroll_exchange(&r->job, &r->res);
	atomic_store(&r->done, true);
	return NULL;
}

static void
renew_finish(struct renew *r)
{
	struct agent *a = r->a;
	char err[1024], na[40];
	SSL_CTX *ctx;

	pthread_join(r->thread, NULL);
	r->running = false;
	if (r->rc < 0) {
		/* With several collectors, the next try goes to the next one. */
		r->target = (r->target + 1) % (a->conf.ncollectors ? a->conf.ncollectors : 1);
		a->stats.cert_renew_failures++;
		ms_warn("event=cert_renew_failed collector=%s:%lld reason=\"%s\" not_after_s=%lld "
		    "failures=%llu note=\"the current certificate stays; retried in %llds\"",
		    r->job.host, (long long)r->job.port, r->res.msg, (long long)r->not_after,
		    (unsigned long long)a->stats.cert_renew_failures,
		    (long long)a->conf.renew_check_s);
		return;
	}
	if ((ctx = ms_tls_client_ctx_new(a->conf.tls_ca, a->conf.tls_cert, a->conf.tls_key, err,
	    sizeof(err))) == NULL) {
		/* Should not happen (the exchange checked the pair): keep the running context. */
		a->stats.cert_renew_failures++;
		ms_err("event=cert_renew_failed reason=\"%s\"", err);
		return;
	}
	a->stats.cert_renewals++;
	renew_load(r);
	ms_fmt_time(na, sizeof(na), r->not_after * 1000);
	ms_info("event=cert_renewed agent=%s serial=%s not_after=%s renewals=%llu",
	    r->res.agent_id, r->res.serial, na, (unsigned long long)a->stats.cert_renewals);
	uplink_set_ctx(a->uplink, ctx);
}

static void
renew_start(struct renew *r)
{
	const struct agent_conf *c = &r->a->conf;
	struct agent_enroll_job *j = &r->job;
	/* A collector's host (the primary first), at its enrolment port. */
	const struct agent_collector *col = &c->collectors[r->target < c->ncollectors ? r->target : 0];

	memset(j, 0, sizeof(*j));
	ms_copy(j->host, sizeof(j->host), col->host, strlen(col->host));
	j->port = c->renew_port;
	ms_copy(j->server_name, sizeof(j->server_name), col->server_name, strlen(col->server_name));
	ms_copy(j->ca, sizeof(j->ca), c->tls_ca, strlen(c->tls_ca));
	ms_copy(j->cert, sizeof(j->cert), c->tls_cert, strlen(c->tls_cert));
	ms_copy(j->key, sizeof(j->key), c->tls_key, strlen(c->tls_key));
	ms_copy(j->hostname, sizeof(j->hostname), r->a->hostname, strlen(r->a->hostname));
	if (!ms_pki_id_ok(j->hostname))
		j->hostname[0] = '\0';
	j->allow_tls12 = c->tls_allow_tls12;
	/* Short: a stopping agent waits for the thread. */
	j->timeout_ms = 10000;
	atomic_store(&r->done, false);
	if (pthread_create(&r->thread, NULL, renew_thread, r) != 0) {
		r->a->stats.cert_renew_failures++;
		ms_warn("event=cert_renew_failed reason=\"cannot start a thread\"");
		return;
	}
	r->running = true;
	ms_info("event=cert_renewing collector=%s:%lld not_after_s=%lld", j->host,
	    (long long)j->port, (long long)r->not_after);
}

static void
renew_cb(evutil_socket_t fd, short what, void *arg)
{
	struct renew *r = arg;
	int64_t now = (int64_t)time(NULL);

	if (r->running) {
		if (!atomic_load(&r->done)) {
			renew_arm(r, RENEW_POLL_MS);
			return;
		}
		renew_finish(r);
	} else if (!r->enrolled && r->not_after > r->not_before) {
		if (!r->said_manual)
			ms_info("event=cert_not_enrolled file=%s not_after_s=%lld note=\"not from "
			    "minisoc-agent enroll: not renewed automatically; replace it before it "
			    "expires\"", r->a->conf.tls_cert, (long long)r->not_after);
		r->said_manual = true;
	} else if (!r->a->stopping && r->not_after > r->not_before &&
	    now >= r->not_before + (r->not_after - r->not_before) * 2 / 3) {
		renew_start(r);
		if (r->running) {
			renew_arm(r, RENEW_POLL_MS);
			return;
		}
	}
	renew_arm(r, r->a->conf.renew_check_s * 1000);
}

struct renew *
renew_new(struct agent *a, char *err, size_t errsz)
{
	struct renew *r;

	if (a->conf.renew_port == 0)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->timer = evtimer_new(a->base, renew_cb, r)) ==
	    NULL) {
		free(r);
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	r->a = a;
	if (renew_load(r) < 0) {
		r->not_before = r->not_after = -1;
		ms_warn("event=cert_unreadable file=%s note=\"no automatic renewal\"", a->conf.tls_cert);
	}
	/* The first look soon after start: an agent that was off for long may be due. */
	renew_arm(r, 1000);
	return r;
}

void
renew_free(struct renew *r)
{
	if (r == NULL)
		return;
	if (r->running)
		pthread_join(r->thread, NULL);	/* bounded by the exchange's timeouts */
	event_free(r->timer);
	free(r);
}

int64_t
renew_not_after(const struct renew *r)
{
	return r->not_after;
}
