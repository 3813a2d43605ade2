/*
 * Unit tests of the SSH brute-force detector and of alert_to_json. Events
 * are built by hand (struct decoded filled directly), so these tests do
 * not depend on the decoders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "detect.h"
#include "ms_buf.h"

#define T0 INT64_C(1700000000000)	/* 2023-11-14T22:13:20.000Z */
#define SEC INT64_C(1000)
#define MAX_ALERTS 64

struct sink {
	struct alert a[MAX_ALERTS];
	unsigned n;
};

struct ctx {
	struct detector *det;
	struct sink *sk;
};

static void
emit_cb(struct alert *a, void *arg)
{
	struct sink *sk = arg;

	assert_true(sk->n < MAX_ALERTS);
	sk->a[sk->n++] = *a;
}

static struct ms_str
str(const char *s)
{
	return ms_str_make(s, s ? strlen(s) : 0);
}

/* Feeds one event; line NULL builds a realistic sshd line. */
static void
feed_full(struct ctx *c, const char *agent, const char *host, const char *ip,
    const char *user, enum decode_sshd_action act, int64_t t, unsigned repeat,
    const char *line)
{
	char buf[512];
	struct decoded d;
	struct detect_event ev;

	if (line == NULL) {
		snprintf(buf, sizeof(buf), "t=%lld %s sshd[42]: %s password for %s from %s port 22 ssh2",
		    (long long)t, host, act == DECODE_SSHD_AUTH_SUCCESS ? "Accepted" : "Failed",
		    user, ip);
		line = buf;
	}
	memset(&d, 0, sizeof(d));
	d.fmt = DECODE_SYSLOG_RFC3339;
	d.time_ms = t;
	d.time_from_line = true;
	d.facility = d.severity = -1;
	d.host = str(host);
	d.app = str("sshd");
	d.pid = str("42");
	d.msg = str(line);
	d.sshd_action = act;
	d.user = str(user);
	d.method = str("password");
	d.src_ip = str(ip);
	d.src_port = 22;
	d.invalid_user = act == DECODE_SSHD_INVALID_USER;
	d.repeat = repeat;

	memset(&ev, 0, sizeof(ev));
	ev.agent_id = agent;
	ev.host = host;
	ev.source = str("/var/log/auth.log");
	ev.line = str(line);
	ev.seq = 1;
	ev.d = &d;
	c->det->on_event(c->det->state, &ev, emit_cb, c->sk);
}

static void
fail_at(struct ctx *c, const char *ip, const char *user, int64_t t)
{
	feed_full(c, "agent-1", "web1", ip, user, DECODE_SSHD_AUTH_FAILURE, t, 1, NULL);
}

static void
ctx_open(struct ctx *c, const struct bruteforce_conf *conf)
{
	c->det = detect_bruteforce_new(conf);
	assert_non_null(c->det);
	c->sk = calloc(1, sizeof(*c->sk));
	assert_non_null(c->sk);
}

static void
ctx_close(struct ctx *c)
{
	detector_free(c->det);
	free(c->sk);
}

static size_t
tracked(struct ctx *c)
{
	return c->det->tracked(c->det->state);
}

/* ------------------------------------------------------------------ */

static void
test_conf(void **state)
{
	struct bruteforce_conf c;
	struct detector *d;

	(void)state;
	bruteforce_conf_defaults(&c);
	assert_int_equal(c.threshold, 8);
	assert_int_equal(c.window_ms, 120000);
	assert_int_equal(c.quiet_ms, 120000);
	assert_int_equal(c.max_sources, 65536);

	d = detect_bruteforce_new(NULL);
	assert_non_null(d);
	assert_string_equal(d->name, "ssh-bruteforce");
	assert_int_equal(d->tracked(d->state), 0);
	detector_free(d);
	detector_free(NULL);

	c.threshold = 0;
	assert_null(detect_bruteforce_new(&c));
	c.threshold = BRUTEFORCE_MAX_THRESHOLD + 1;
	assert_null(detect_bruteforce_new(&c));
	bruteforce_conf_defaults(&c);
	c.window_ms = -1;
	assert_null(detect_bruteforce_new(&c));
	bruteforce_conf_defaults(&c);
	c.quiet_ms = BRUTEFORCE_MAX_SPAN_MS + 1;
	assert_null(detect_bruteforce_new(&c));
	bruteforce_conf_defaults(&c);
	c.max_sources = 0;
	assert_null(detect_bruteforce_new(&c));
}

static void
test_eight_fire_once(void **state)
{
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	for (int i = 0; i < 7; i++)
		fail_at(&c, "203.0.113.7", "root", T0 + i * 15 * SEC);
	assert_int_equal(c.sk->n, 0);
	fail_at(&c, "203.0.113.7", "root", T0 + 105 * SEC);
	assert_int_equal(c.sk->n, 1);
	assert_int_equal(c.sk->a[0].count, 8);
	/* More failures right after: quiet, still one alert. */
	fail_at(&c, "203.0.113.7", "root", T0 + 110 * SEC);
	fail_at(&c, "203.0.113.7", "root", T0 + 115 * SEC);
	assert_int_equal(c.sk->n, 1);
	assert_int_equal(tracked(&c), 1);
	ctx_close(&c);
}

static void
test_seven_no_fire(void **state)
{
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	for (int i = 0; i < 7; i++)
		fail_at(&c, "203.0.113.7", "root", T0 + i * SEC);
	assert_int_equal(c.sk->n, 0);
	ctx_close(&c);
}

static void
test_window_boundary(void **state)
{
	static const int64_t in[8] = { 0, 10, 20, 30, 40, 50, 60, 120 };
	static const int64_t out[8] = { 0, 17, 34, 51, 68, 85, 102, 121 };
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	/* 8 failures spread over 121 s: no alert. */
	for (int i = 0; i < 8; i++)
		fail_at(&c, "198.51.100.1", "root", T0 + out[i] * SEC);
	assert_int_equal(c.sk->n, 0);
	/* Exactly 120 s between the first and the eighth: fires. */
	for (int i = 0; i < 8; i++)
		fail_at(&c, "198.51.100.2", "root", T0 + in[i] * SEC);
	assert_int_equal(c.sk->n, 1);
	assert_string_equal(c.sk->a[0].src_ip, "198.51.100.2");
	assert_int_equal(c.sk->a[0].first_ms, T0);
	assert_int_equal(c.sk->a[0].last_ms, T0 + 120 * SEC);
	/* One more on the first source slides its window to 17..122 s: 8 in 105 s. */
	fail_at(&c, "198.51.100.1", "root", T0 + 122 * SEC);
	assert_int_equal(c.sk->n, 2);
	assert_int_equal(c.sk->a[1].count, 8);
	assert_int_equal(c.sk->a[1].first_ms, T0 + 17 * SEC);
	ctx_close(&c);
}

static void
test_two_ips(void **state)
{
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	for (int i = 0; i < 8; i++) {
		fail_at(&c, "192.0.2.1", "root", T0 + i * SEC);
		if (i < 7)
			fail_at(&c, "192.0.2.2", "admin", T0 + i * SEC + 500);
	}
	assert_int_equal(c.sk->n, 1);
	assert_string_equal(c.sk->a[0].src_ip, "192.0.2.1");
	assert_int_equal(tracked(&c), 2);
	ctx_close(&c);
}

static void
test_quiet_period(void **state)
{
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	for (int i = 0; i < 8; i++)
		fail_at(&c, "192.0.2.9", "root", T0 + i * 10 * SEC);
	assert_int_equal(c.sk->n, 1);
	assert_int_equal(c.sk->a[0].last_ms, T0 + 70 * SEC);
	/* 9th..16th within the quiet period (until 70 + 120 = 190 s). */
	for (int i = 8; i < 16; i++)
		fail_at(&c, "192.0.2.9", "root", T0 + i * 10 * SEC);
	fail_at(&c, "192.0.2.9", "root", T0 + 189 * SEC);
	assert_int_equal(c.sk->n, 1);
	/* A new burst after the quiet period starts from an empty window. */
	for (int i = 0; i < 7; i++)
		fail_at(&c, "192.0.2.9", "root", T0 + (190 + i * 10) * SEC);
	assert_int_equal(c.sk->n, 1);
	fail_at(&c, "192.0.2.9", "root", T0 + 260 * SEC);
	assert_int_equal(c.sk->n, 2);
	assert_int_equal(c.sk->a[1].count, 8);
	assert_int_equal(c.sk->a[1].first_ms, T0 + 190 * SEC);
	assert_int_equal(c.sk->a[1].last_ms, T0 + 260 * SEC);
	/* A late failure from inside the first quiet period is still ignored. */
	fail_at(&c, "192.0.2.9", "root", T0 + 185 * SEC);
	assert_int_equal(c.sk->n, 2);
	ctx_close(&c);
}

static void
test_repeat_weight(void **state)
{
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	/* 5 + 1 + 1 = 7: nothing; one more single: 8. */
	feed_full(&c, "agent-1", "web1", "192.0.2.10", "root", DECODE_SSHD_AUTH_FAILURE, T0, 5, NULL);
	fail_at(&c, "192.0.2.10", "root", T0 + 1 * SEC);
	fail_at(&c, "192.0.2.10", "root", T0 + 2 * SEC);
	assert_int_equal(c.sk->n, 0);
	fail_at(&c, "192.0.2.10", "root", T0 + 3 * SEC);
	assert_int_equal(c.sk->n, 1);
	assert_int_equal(c.sk->a[0].count, 8);

	/* One line "repeated 8 times" fires alone. */
	feed_full(&c, "agent-1", "web1", "192.0.2.11", "root", DECODE_SSHD_AUTH_FAILURE, T0, 8, NULL);
	assert_int_equal(c.sk->n, 2);
	assert_int_equal(c.sk->a[1].count, 8);
	assert_int_equal(c.sk->a[1].first_ms, T0);
	assert_int_equal(c.sk->a[1].last_ms, T0);
	assert_int_equal(c.sk->a[1].n_samples, 1);

	/* 7 singles then "repeated 5 times": the count is all 12. */
	for (int i = 0; i < 7; i++)
		fail_at(&c, "192.0.2.12", "root", T0 + i * SEC);
	feed_full(&c, "agent-1", "web1", "192.0.2.12", "root", DECODE_SSHD_AUTH_FAILURE,
	    T0 + 7 * SEC, 5, NULL);
	assert_int_equal(c.sk->n, 3);
	assert_int_equal(c.sk->a[2].count, 12);

	/* repeat 0 (a decoder that forgot to set it) counts as 1. */
	for (int i = 0; i < 8; i++)
		feed_full(&c, "agent-1", "web1", "192.0.2.13", "root", DECODE_SSHD_AUTH_FAILURE,
		    T0 + i * SEC, 0, NULL);
	assert_int_equal(c.sk->n, 4);
	assert_int_equal(c.sk->a[3].count, 8);
	ctx_close(&c);
}

static void
test_other_actions_ignored(void **state)
{
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	for (int i = 0; i < 20; i++) {
		feed_full(&c, "agent-1", "web1", "192.0.2.20", "root", DECODE_SSHD_AUTH_SUCCESS,
		    T0 + i * SEC, 1, NULL);
		feed_full(&c, "agent-1", "web1", "192.0.2.20", "nosuch", DECODE_SSHD_INVALID_USER,
		    T0 + i * SEC, 1, "Invalid user nosuch from 192.0.2.20 port 22");
		feed_full(&c, "agent-1", "web1", "192.0.2.20", "", DECODE_SSHD_NONE,
		    T0 + i * SEC, 1, "Connection closed by 192.0.2.20 port 22");
	}
	assert_int_equal(c.sk->n, 0);
	assert_int_equal(tracked(&c), 0);
	/* Failures without a usable source IP are not tracked either. */
	for (int i = 0; i < 10; i++) {
		fail_at(&c, "", "root", T0 + i * SEC);
		fail_at(&c, "1111:2222:3333:4444:5555:6666:7777:8888%a-very-long-zone-name-here",
		    "root", T0 + i * SEC);
	}
	assert_int_equal(c.sk->n, 0);
	assert_int_equal(tracked(&c), 0);
	/* Successes between failures neither count nor reset. */
	for (int i = 0; i < 8; i++) {
		fail_at(&c, "192.0.2.20", "root", T0 + 30 * SEC + i * SEC);
		feed_full(&c, "agent-1", "web1", "192.0.2.20", "root", DECODE_SSHD_AUTH_SUCCESS,
		    T0 + 30 * SEC + i * SEC, 1, NULL);
	}
	assert_int_equal(c.sk->n, 1);
	assert_int_equal(c.sk->a[0].count, 8);
	ctx_close(&c);
}

static void
test_per_agent(void **state)
{
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	for (int i = 0; i < 4; i++) {
		feed_full(&c, "agent-a", "alpha", "192.0.2.30", "root", DECODE_SSHD_AUTH_FAILURE,
		    T0 + i * SEC, 1, NULL);
		feed_full(&c, "agent-b", "beta", "192.0.2.30", "root", DECODE_SSHD_AUTH_FAILURE,
		    T0 + i * SEC, 1, NULL);
	}
	assert_int_equal(c.sk->n, 0);
	assert_int_equal(tracked(&c), 2);
	for (int i = 4; i < 8; i++)
		feed_full(&c, "agent-a", "alpha", "192.0.2.30", "root", DECODE_SSHD_AUTH_FAILURE,
		    T0 + i * SEC, 1, NULL);
	assert_int_equal(c.sk->n, 1);
	assert_string_equal(c.sk->a[0].agent_id, "agent-a");
	assert_string_equal(c.sk->a[0].host, "alpha");
	for (int i = 4; i < 8; i++)
		feed_full(&c, "agent-b", "beta", "192.0.2.30", "root", DECODE_SSHD_AUTH_FAILURE,
		    T0 + i * SEC, 1, NULL);
	assert_int_equal(c.sk->n, 2);
	assert_string_equal(c.sk->a[1].agent_id, "agent-b");
	assert_string_equal(c.sk->a[1].host, "beta");
	assert_int_equal(c.sk->a[1].count, 8);
	ctx_close(&c);
}

static void
test_eviction(void **state)
{
	struct bruteforce_conf conf;
	struct ctx c;
	char ip[64];
	unsigned seed = 12345;

	(void)state;
	bruteforce_conf_defaults(&conf);
	conf.max_sources = 4;
	ctx_open(&c, &conf);

	/* Oldest-seen is evicted: IP1's 7 failures are forgotten. */
	for (int i = 0; i < 7; i++)
		fail_at(&c, "10.0.0.1", "root", T0 + i * SEC);
	fail_at(&c, "10.0.0.2", "root", T0 + 10 * SEC);
	fail_at(&c, "10.0.0.3", "root", T0 + 11 * SEC);
	fail_at(&c, "10.0.0.4", "root", T0 + 12 * SEC);
	assert_int_equal(tracked(&c), 4);
	fail_at(&c, "10.0.0.5", "root", T0 + 13 * SEC);
	assert_int_equal(tracked(&c), 4);
	fail_at(&c, "10.0.0.1", "root", T0 + 14 * SEC);
	assert_int_equal(c.sk->n, 0);

	/* Least recently seen, not first inserted: IP6 stays when touched. */
	for (int i = 0; i < 6; i++)
		fail_at(&c, "10.0.0.6", "root", T0 + 20 * SEC + i * SEC);
	fail_at(&c, "10.0.0.7", "root", T0 + 30 * SEC);
	fail_at(&c, "10.0.0.8", "root", T0 + 31 * SEC);
	fail_at(&c, "10.0.0.6", "root", T0 + 32 * SEC);		/* 7, now most recent */
	fail_at(&c, "10.0.0.9", "root", T0 + 33 * SEC);		/* evicts 1 */
	fail_at(&c, "10.0.0.10", "root", T0 + 34 * SEC);	/* evicts 7, not 6 */
	assert_int_equal(tracked(&c), 4);
	fail_at(&c, "10.0.0.6", "root", T0 + 35 * SEC);
	assert_int_equal(c.sk->n, 1);
	assert_string_equal(c.sk->a[0].src_ip, "10.0.0.6");
	assert_int_equal(c.sk->a[0].count, 8);

	/* A flood of sources never grows the table past the cap. */
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		snprintf(ip, sizeof(ip), "10.1.%u.%u", (seed >> 16) % 8, (seed >> 8) % 8);
		fail_at(&c, ip, "root", T0 + 40 * SEC + i * 10);
		assert_true(tracked(&c) <= 4);
	}
	assert_int_equal(tracked(&c), 4);
	ctx_close(&c);
}

static void
test_idle_expiry(void **state)
{
	struct ctx c;

	(void)state;
	ctx_open(&c, NULL);
	fail_at(&c, "192.0.2.40", "root", T0);
	feed_full(&c, "agent-2", "other", "192.0.2.40", "root", DECODE_SSHD_AUTH_FAILURE,
	    T0, 1, NULL);
	assert_int_equal(tracked(&c), 2);
	/*
	 * 241 s later (> window + quiet) on agent-1: its idle key at the LRU
	 * tail is dropped; agent-2's key, next in line, is never judged by
	 * agent-1's clock.
	 */
	fail_at(&c, "192.0.2.41", "root", T0 + 241 * SEC);
	assert_int_equal(tracked(&c), 2);
	fail_at(&c, "192.0.2.42", "root", T0 + 242 * SEC);
	fail_at(&c, "192.0.2.43", "root", T0 + 243 * SEC);
	assert_int_equal(tracked(&c), 4);

	/* agent-2's own clock drops it; agent-1's .41 (tail now) stops the scan. */
	feed_full(&c, "agent-2", "other", "192.0.2.44", "root", DECODE_SSHD_AUTH_FAILURE,
	    T0 + 300 * SEC, 1, NULL);
	assert_int_equal(tracked(&c), 4);

	/* An idle key that comes back starts afresh (and its old quiet is gone). */
	for (int i = 0; i < 8; i++)
		fail_at(&c, "192.0.2.45", "root", T0 + 400 * SEC + i * SEC);
	assert_int_equal(c.sk->n, 1);
	for (int i = 0; i < 8; i++)
		fail_at(&c, "192.0.2.45", "root", T0 + 1000 * SEC + i * SEC);
	assert_int_equal(c.sk->n, 2);
	assert_int_equal(c.sk->a[1].first_ms, T0 + 1000 * SEC);
	/* On the way agent-1's idle .41, .42, .43 were dropped; agent-2's .44 stays. */
	assert_int_equal(tracked(&c), 2);
	ctx_close(&c);

	/* "agent-1" is a prefix of "agent-10": still another agent's clock. */
	ctx_open(&c, NULL);
	feed_full(&c, "agent-10", "ten", "192.0.2.46", "root", DECODE_SSHD_AUTH_FAILURE,
	    T0, 1, NULL);
	fail_at(&c, "192.0.2.47", "root", T0 + 300 * SEC);
	assert_int_equal(tracked(&c), 2);
	feed_full(&c, "agent-10", "ten", "192.0.2.48", "root", DECODE_SSHD_AUTH_FAILURE,
	    T0 + 300 * SEC, 1, NULL);
	assert_int_equal(tracked(&c), 2);
	ctx_close(&c);
}

static void
test_out_of_order(void **state)
{
	static const int times[8] = { 0, 10, 30, 20, 50, 40, 70, 60 };
	static const char *const users[8] = { "u0", "u10", "u30", "u20", "u50", "u40", "u70", "u60" };
	struct ctx c;
	char line[128];

	(void)state;
	ctx_open(&c, NULL);
	for (int i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "line at %d", times[i]);
		feed_full(&c, "agent-1", "web1", "192.0.2.50", users[i], DECODE_SSHD_AUTH_FAILURE,
		    T0 + times[i] * SEC, 1, line);
	}
	assert_int_equal(c.sk->n, 1);
	assert_int_equal(c.sk->a[0].count, 8);
	assert_int_equal(c.sk->a[0].first_ms, T0);
	assert_int_equal(c.sk->a[0].last_ms, T0 + 70 * SEC);
	/* Users and samples in event-time order, not arrival order. */
	assert_int_equal(c.sk->a[0].n_users, 8);
	assert_string_equal(c.sk->a[0].users[0], "u0");
	assert_string_equal(c.sk->a[0].users[2], "u20");
	assert_string_equal(c.sk->a[0].users[3], "u30");
	assert_string_equal(c.sk->a[0].users[7], "u70");
	assert_int_equal(c.sk->a[0].n_samples, 3);
	assert_string_equal(c.sk->a[0].samples[0], "line at 0");
	assert_string_equal(c.sk->a[0].samples[1], "line at 10");
	assert_string_equal(c.sk->a[0].samples[2], "line at 20");

	/* Older than the newest minus the window: ignored; within it: counted. */
	for (int i = 0; i < 7; i++)
		fail_at(&c, "192.0.2.51", "root", T0 + (200 + i * 10) * SEC);
	fail_at(&c, "192.0.2.51", "root", T0 + 50 * SEC);
	assert_int_equal(c.sk->n, 1);
	fail_at(&c, "192.0.2.51", "root", T0 + 150 * SEC);
	assert_int_equal(c.sk->n, 2);
	assert_int_equal(c.sk->a[1].first_ms, T0 + 150 * SEC);
	assert_int_equal(c.sk->a[1].last_ms, T0 + 260 * SEC);
	ctx_close(&c);
}

static void
test_sample_slots(void **state)
{
	/*
	 * A late failure (50) takes the sample slot of the newest holder
	 * (120); once 50 is pruned its slot is reused by 171. 120 must not
	 * still show that slot, nor must a pruned entry's slot leak.
	 */
	static const int times[] = { 100, 110, 120, 50, 171, 172, 221, 222, 223, 224 };
	struct ctx c;
	char line[64];

	(void)state;
	ctx_open(&c, NULL);
	for (size_t i = 0; i < MS_ARRAY_LEN(times); i++) {
		snprintf(line, sizeof(line), "line %d", times[i]);
		feed_full(&c, "agent-1", "web1", "192.0.2.55", "root", DECODE_SSHD_AUTH_FAILURE,
		    T0 + times[i] * SEC, 1, line);
		assert_int_equal(c.sk->n, i + 1 == MS_ARRAY_LEN(times) ? 1 : 0);
	}
	assert_int_equal(c.sk->a[0].count, 8);
	assert_int_equal(c.sk->a[0].first_ms, T0 + 110 * SEC);
	assert_int_equal(c.sk->a[0].n_samples, 3);
	assert_string_equal(c.sk->a[0].samples[0], "line 110");
	assert_string_equal(c.sk->a[0].samples[1], "line 171");
	assert_string_equal(c.sk->a[0].samples[2], "line 221");
	ctx_close(&c);
}

static void
test_user_slots_reused(void **state)
{
	struct bruteforce_conf conf;
	struct ctx c;
	char u[16];

	(void)state;
	bruteforce_conf_defaults(&conf);
	conf.threshold = 9;
	ctx_open(&c, &conf);
	/* Eight users fill the name slots, then age out of the window... */
	for (int i = 0; i < 8; i++) {
		snprintf(u, sizeof(u), "old%d", i);
		fail_at(&c, "192.0.2.56", u, T0 + i * SEC);
	}
	/* ...so the new users of the next burst get their slots. */
	for (int i = 0; i < 9; i++)
		fail_at(&c, "192.0.2.56", i % 2 ? "new1" : "new0", T0 + (200 + i) * SEC);
	assert_int_equal(c.sk->n, 1);
	assert_int_equal(c.sk->a[0].count, 9);
	assert_int_equal(c.sk->a[0].n_users, 2);
	assert_string_equal(c.sk->a[0].users[0], "new0");
	assert_string_equal(c.sk->a[0].users[1], "new1");
	ctx_close(&c);
}

static void
test_alert_content(void **state)
{
	static const char *const users[8] = {
		"root", "admin", "root", "test", "oracle", "admin", "ubuntu", "pi"
	};
	struct bruteforce_conf conf;
	struct ctx c;
	char line[128], longline[1200], longuser[101];
	const struct alert *a;

	(void)state;
	ctx_open(&c, NULL);
	for (int i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "sample %d user %s", i, users[i]);
		feed_full(&c, "agent-1", "web1.example.org", "2001:db8::1", users[i],
		    DECODE_SSHD_AUTH_FAILURE, T0 + i * 7 * SEC + 123, 1, line);
	}
	assert_int_equal(c.sk->n, 1);
	a = &c.sk->a[0];
	assert_string_equal(a->id, "");
	assert_int_equal(a->time_ms, 0);
	assert_string_equal(a->rule_id, "minisoc-ssh-bruteforce");
	assert_string_equal(a->rule_title,
	    "SSH brute force: repeated authentication failures from one source");
	assert_string_equal(a->severity, "high");
	assert_string_equal(a->agent_id, "agent-1");
	assert_string_equal(a->host, "web1.example.org");
	assert_string_equal(a->src_ip, "2001:db8::1");
	assert_int_equal(a->count, 8);
	assert_int_equal(a->first_ms, T0 + 123);
	assert_int_equal(a->last_ms, T0 + 49 * SEC + 123);
	assert_int_equal(a->n_users, 6);
	assert_string_equal(a->users[0], "root");
	assert_string_equal(a->users[1], "admin");
	assert_string_equal(a->users[2], "test");
	assert_string_equal(a->users[3], "oracle");
	assert_string_equal(a->users[4], "ubuntu");
	assert_string_equal(a->users[5], "pi");
	assert_int_equal(a->n_samples, 3);
	assert_string_equal(a->samples[0], "sample 0 user root");
	assert_string_equal(a->samples[1], "sample 1 user admin");
	assert_string_equal(a->samples[2], "sample 2 user root");
	ctx_close(&c);

	/* More distinct users than the alert holds; long users and lines are cut. */
	bruteforce_conf_defaults(&conf);
	conf.threshold = 12;
	ctx_open(&c, &conf);
	memset(longline, 'L', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	memset(longuser, 'u', sizeof(longuser) - 1);
	longuser[sizeof(longuser) - 1] = '\0';
	feed_full(&c, "agent-1", "web1", "192.0.2.60", longuser, DECODE_SSHD_AUTH_FAILURE,
	    T0, 1, longline);
	for (int i = 1; i < 12; i++) {
		char u[16];
		snprintf(u, sizeof(u), "user%02d", i);
		fail_at(&c, "192.0.2.60", u, T0 + i * SEC);
	}
	assert_int_equal(c.sk->n, 1);
	a = &c.sk->a[0];
	assert_int_equal(a->count, 12);
	assert_int_equal(a->n_users, ALERT_MAX_USERS);
	assert_int_equal(strlen(a->users[0]), ALERT_USER_MAX - 1);
	assert_int_equal(strncmp(a->users[0], longuser, ALERT_USER_MAX - 1), 0);
	assert_string_equal(a->users[1], "user01");
	assert_string_equal(a->users[7], "user07");
	assert_int_equal(strlen(a->samples[0]), ALERT_SAMPLE_MAX - 1);
	assert_int_equal(strncmp(a->samples[0], longline, ALERT_SAMPLE_MAX - 1), 0);
	ctx_close(&c);
}

static void
test_alert_json_exact(void **state)
{
	/* Quotes, backslash, control characters, invalid UTF-8, valid UTF-8. */
	static const char hostile[] =
	    "Failed password for \"x\\\" \x01\x1f\n\r\t from 192.0.2.70 bad:\xff\xc3( ok:\xc3\xa9";
	static const char expect[] =
	    "{\"@timestamp\":\"2023-11-14T22:15:00.042Z\",\"schema\":1,"
	    "\"event\":{\"id\":\"a-1\",\"kind\":\"alert\",\"severity\":4,"
	    "\"start\":\"2023-11-14T22:13:20.000Z\",\"end\":\"2023-11-14T22:13:27.000Z\"},"
	    "\"rule\":{\"id\":\"minisoc-ssh-bruteforce\","
	    "\"title\":\"SSH brute force: repeated authentication failures from one source\","
	    "\"level\":\"high\"},\"agent\":{\"id\":\"agent-1\"},\"host\":{\"name\":\"web\\\"1\"},"
	    "\"source\":{\"ip\":\"192.0.2.70\"},\"user\":{\"name\":\"root\"},"
	    "\"related\":{\"user\":[\"root\",\"x\\\"y\"]},\"count\":8,"
	    "\"samples\":[\"Failed password for \\\"x\\\\\\\" \\u0001\\u001f\\n\\r\\t from 192.0.2.70"
	    " bad:\xef\xbf\xbd\xef\xbf\xbd( ok:\xc3\xa9\",\"plain 1\",\"plain 2\"]}";
	struct ctx c;
	struct alert a;
	struct ms_buf out;

	(void)state;
	ctx_open(&c, NULL);
	feed_full(&c, "agent-1", "web\"1", "192.0.2.70", "root", DECODE_SSHD_AUTH_FAILURE,
	    T0, 1, hostile);
	feed_full(&c, "agent-1", "web\"1", "192.0.2.70", "x\"y", DECODE_SSHD_AUTH_FAILURE,
	    T0 + SEC, 1, "plain 1");
	for (int i = 2; i < 8; i++)
		feed_full(&c, "agent-1", "web\"1", "192.0.2.70", "root", DECODE_SSHD_AUTH_FAILURE,
		    T0 + i * SEC, 1, i == 2 ? "plain 2" : "plain n");
	assert_int_equal(c.sk->n, 1);
	a = c.sk->a[0];
	/* What the collector fills when it emits. */
	ms_copy(a.id, sizeof(a.id), "a-1", 3);
	a.time_ms = T0 + 100 * SEC + 42;

	ms_buf_init(&out, 1 << 16);
	assert_int_equal(alert_to_json(&a, &out), 0);
	assert_string_equal(out.data, expect);
	assert_int_equal(out.len, strlen(expect));

	/* Appends; a cap too small gives -1. */
	assert_int_equal(alert_to_json(&a, &out), 0);
	assert_int_equal(out.len, 2 * strlen(expect));
	ms_buf_fini(&out);
	ms_buf_init(&out, 100);
	assert_int_equal(alert_to_json(&a, &out), -1);
	assert_true(out.toobig);
	ms_buf_fini(&out);
	ms_buf_init(&out, strlen(expect));
	assert_int_equal(alert_to_json(&a, &out), 0);
	ms_buf_fini(&out);
	ms_buf_init(&out, strlen(expect) - 1);
	assert_int_equal(alert_to_json(&a, &out), -1);
	ms_buf_fini(&out);
	ctx_close(&c);
}

static void
test_alert_json_unterminated(void **state)
{
	struct alert a;
	struct ms_buf out;

	(void)state;
	/* Garbage in every fixed field, no NULs: bounded, valid JSON. */
	memset(&a, 'A', sizeof(a));
	a.tags = NULL;
	a.ntags = 0;
	a.event = NULL;
	a.group_names = NULL;
	a.group_values = NULL;
	a.ngroup = 0;
	a.values_field = NULL;
	a.values = NULL;
	a.nvalues = 0;
	a.system_id = NULL;
	a.system_level = 0;
	a.rule_id = NULL;
	a.rule_name = NULL;
	a.rule_title = "t";
	a.severity = "low";
	a.n_users = 1000;
	a.n_samples = 1000;
	a.count = 1;
	a.time_ms = a.first_ms = a.last_ms = 0;
	ms_buf_init(&out, 1 << 16);
	assert_int_equal(alert_to_json(&a, &out), 0);
	assert_non_null(strstr(out.data, "\"rule\":{\"id\":null,\"title\":\"t\",\"level\":\"low\"}"));
	assert_true(out.len > ALERT_MAX_SAMPLES * ALERT_SAMPLE_MAX);
	assert_true(out.len < 4 * ALERT_MAX_SAMPLES * ALERT_SAMPLE_MAX);
	ms_buf_fini(&out);
}

static void
test_alert_json_threat(void **state)
{
	static const char *const tags[] = { "attack.credential_access", "attack.t1110.001",
		"attack.g0016", "attack.T1078", "cve.2023-1234" };
	struct alert a;
	struct ms_buf out;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.rule_id = "r";
	a.rule_title = "t";
	a.severity = "critical";
	a.tags = tags;
	a.ntags = MS_ARRAY_LEN(tags);
	a.count = 3;
	a.aggregated = 3;
	a.aggregate_window_ms = 60000;
	ms_copy(a.aggregate_of, sizeof(a.aggregate_of), "first", 5);
	ms_buf_init(&out, 1 << 16);
	assert_int_equal(alert_to_json(&a, &out), 0);
	assert_non_null(strstr(out.data, "\"severity\":5,"));
	/* No source.ip, no user when there are none. */
	assert_null(strstr(out.data, "\"source\""));
	assert_null(strstr(out.data, "\"user\""));
	assert_non_null(strstr(out.data, "\"aggregate\":{\"alerts\":3,\"window_s\":60,"
	    "\"first_id\":\"first\"}"));
	assert_non_null(strstr(out.data, "\"threat\":{\"framework\":\"MITRE ATT&CK\","
	    "\"technique\":{\"id\":[\"T1110.001\",\"T1078\"]},"
	    "\"tactic\":{\"name\":[\"credential-access\"]}},\"tags\":["));
	assert_int_equal(alert_severity_num("informational"), 1);
	assert_int_equal(alert_severity_num("bogus"), 0);
	assert_int_equal(alert_severity_num(NULL), 0);
	ms_buf_fini(&out);
}

/*
 * "fields": each name once, with its first value, in order; names that
 * share length, first and last byte (the duplicate filter's key) but
 * differ are all kept; a value at the sample cap and one with every kind
 * of special byte come out whole and escaped.
 */
static void
test_alert_json_fields(void **state)
{
	static const char *const names[] = { "user", "src_ip", "user", "uxxr", "uyyr", "src_ip",
		"a", "a", "b", "msg", "long" };
	static const char *const values[] = { "root", "192.0.2.1", "second", "u1", "u2", "x",
		"first a", "second a", "q\"\\\x01\n\xc3\xa9\xff", NULL, NULL };
	/* "uxxr" and "uyyr" share length, first and last byte with "user". */
	static const char pre[] = "\"fields\":{\"user\":\"root\",\"src_ip\":\"192.0.2.1\","
	    "\"uxxr\":\"u1\",\"uyyr\":\"u2\",\"a\":\"first a\","
	    "\"b\":\"q\\\"\\\\\\u0001\\n\xc3\xa9\xef\xbf\xbd\",\"msg\":\"\",\"long\":\"";
	static char longv[ALERT_SAMPLE_MAX];
	struct decoded *d = calloc(1, sizeof(*d));
	struct alert a;
	struct ms_buf out;
	const char *f;

	(void)state;
	assert_non_null(d);
	memset(longv, 'v', sizeof(longv) - 1);
	for (size_t i = 0; i < MS_ARRAY_LEN(names); i++) {
		const char *v = values[i] ? values[i] : i == 9 ? "" : longv;
		d->fields[i].name = names[i];
		d->fields[i].value.p = v;
		d->fields[i].value.len = strlen(v);
	}
	d->nfields = MS_ARRAY_LEN(names);
	memset(&a, 0, sizeof(a));
	a.rule_id = "r";
	a.rule_title = "t";
	a.severity = "low";
	a.count = 1;
	a.event = d;
	ms_buf_init(&out, 1 << 16);
	assert_int_equal(alert_to_json(&a, &out), 0);
	assert_non_null(f = strstr(out.data, "\"fields\":"));
	assert_int_equal(strncmp(f, pre, sizeof(pre) - 1), 0);
	assert_int_equal(strlen(f), sizeof(pre) - 1 + ALERT_SAMPLE_MAX - 1 + 3);
	assert_int_equal(strspn(f + sizeof(pre) - 1, "v"), ALERT_SAMPLE_MAX - 1);
	assert_string_equal(f + sizeof(pre) - 1 + ALERT_SAMPLE_MAX - 1, "\"}}");

	/* The same name 64 times (DECODE_MAX_FIELDS): one key. */
	for (size_t i = 0; i < DECODE_MAX_FIELDS; i++) {
		d->fields[i].name = "dup";
		d->fields[i].value.p = i ? "later" : "once";
		d->fields[i].value.len = i ? 5 : 4;
	}
	d->nfields = DECODE_MAX_FIELDS;
	ms_buf_reset(&out);
	assert_int_equal(alert_to_json(&a, &out), 0);
	assert_non_null(strstr(out.data, "\"fields\":{\"dup\":\"once\"}}"));
	ms_buf_fini(&out);
	free(d);
}

/*
 * alert_reset: every field as memset to 0 would leave it but the text
 * arrays, whose first byte is cleared; the JSON of a reset alert is that
 * of a zeroed one.
 */
static void
test_alert_reset(void **state)
{
	struct alert *a = malloc(sizeof(*a)), *z = calloc(1, sizeof(*z));
	struct ms_buf ja, jz;

	(void)state;
	assert_non_null(a);
	assert_non_null(z);
	memset(a, 0xa5, sizeof(*a));
	alert_reset(a);
	assert_int_equal(a->agent_id[0], 0);
	assert_int_equal(a->host[0], 0);
	assert_int_equal(a->users[0][0], 0);
	assert_int_equal(a->samples[0][0], 0);
	/* Everything outside the text arrays: zero, byte for byte. */
	assert_memory_equal(a, z, offsetof(struct alert, agent_id));
	assert_memory_equal(a->src_ip, z->src_ip, sizeof(a->src_ip));
	assert_int_equal(a->n_users, 0);
	assert_int_equal(a->n_samples, 0);
	assert_memory_equal(&a->n_samples, &z->n_samples,
	    sizeof(*a) - offsetof(struct alert, n_samples));
	assert_null(a->tags);
	assert_null(a->event);
	assert_null(a->system_id);
	a->rule_id = z->rule_id = "r";
	a->rule_title = z->rule_title = "t";
	a->severity = z->severity = "low";
	ms_buf_init(&ja, 1 << 16);
	ms_buf_init(&jz, 1 << 16);
	assert_int_equal(alert_to_json(a, &ja), 0);
	assert_int_equal(alert_to_json(z, &jz), 0);
	assert_string_equal(ja.data, jz.data);
	ms_buf_fini(&ja);
	ms_buf_fini(&jz);
	free(a);
	free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_eight_fire_once),
		cmocka_unit_test(test_seven_no_fire),
		cmocka_unit_test(test_window_boundary),
		cmocka_unit_test(test_two_ips),
		cmocka_unit_test(test_quiet_period),
		cmocka_unit_test(test_repeat_weight),
		cmocka_unit_test(test_other_actions_ignored),
		cmocka_unit_test(test_per_agent),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_sample_slots),
		cmocka_unit_test(test_user_slots_reused),
		cmocka_unit_test(test_alert_content),
		cmocka_unit_test(test_alert_json_exact),
		cmocka_unit_test(test_alert_json_unterminated),
		cmocka_unit_test(test_alert_json_threat),
		cmocka_unit_test(test_alert_json_fields),
		cmocka_unit_test(test_alert_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
