/*
 * Unit tests of connlimit: addresses as keys, the per-address token
 * bucket of connections, handshakes in progress per address and the
 * table's bound (never forgetting an address that holds a handshake).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "connlimit.h"

/* The key of a numeric IPv4 or IPv6 address. */
static struct connlimit_addr
addr(const char *ip)
{
	struct sockaddr_storage ss;
	struct connlimit_addr a;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	}
	connlimit_addr_from(&a, (struct sockaddr *)&ss);
	return a;
}

static void
test_addr_keys(void **state)
{
	struct connlimit_addr a = addr("192.0.2.1"), b = addr("2001:db8::1");
	struct sockaddr_storage ss;

	assert_int_equal(a.len, 4);
	assert_memory_equal(a.bytes, "\xc0\x00\x02\x01", 4);
	assert_int_equal(b.len, 16);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	connlimit_addr_from(&a, (struct sockaddr *)&ss);
	assert_int_equal(a.len, 0);
}

static void
test_rate(void **state)
{
	struct connlimit *cl = connlimit_new(16);
	struct connlimit_addr a = addr("192.0.2.1"), b = addr("192.0.2.2"), v6 = addr("2001:db8::1");
	int64_t t = 1000;

	assert_non_null(cl);
	/* A burst of 3, then refused, at 2 per second. */
	for (int i = 0; i < 3; i++)
		assert_true(connlimit_rate_ok(cl, &a, 2, 3, t));
	assert_false(connlimit_rate_ok(cl, &a, 2, 3, t));
	/* Other addresses have buckets of their own. */
	assert_true(connlimit_rate_ok(cl, &b, 2, 3, t));
	assert_true(connlimit_rate_ok(cl, &v6, 2, 3, t));
	/* Half a second: one token back, not two. */
	assert_true(connlimit_rate_ok(cl, &a, 2, 3, t + 500));
	assert_false(connlimit_rate_ok(cl, &a, 2, 3, t + 500));
	/* Long quiet: full again, never more than the burst. */
	for (int i = 0; i < 3; i++)
		assert_true(connlimit_rate_ok(cl, &a, 2, 3, t + 60000));
	assert_false(connlimit_rate_ok(cl, &a, 2, 3, t + 60000));
	/* No limit: nothing tracked for it. */
	assert_true(connlimit_rate_ok(cl, &a, 0, 3, t + 60000));
	assert_int_equal(connlimit_count(cl), 3);
	connlimit_free(cl);
	connlimit_free(NULL);
}

static void
test_bounded(void **state)
{
	struct connlimit *cl = connlimit_new(4);
	struct connlimit_addr a = addr("192.0.2.1");
	char ip[32];

	assert_non_null(cl);
	assert_true(connlimit_rate_ok(cl, &a, 1, 1, 0));
	assert_false(connlimit_rate_ok(cl, &a, 1, 1, 0));
	for (int i = 0; i < 100; i++) {
		struct connlimit_addr o;

		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		o = addr(ip);
		assert_true(connlimit_rate_ok(cl, &o, 1, 1, 0));
		assert_true(connlimit_count(cl) <= 4);
	}
	/* Forgotten, least recently seen first: its bucket starts full again. */
	assert_true(connlimit_rate_ok(cl, &a, 1, 1, 0));
	connlimit_free(cl);
}

static void
test_handshakes(void **state)
{
	struct connlimit *cl = connlimit_new(16);
	struct connlimit_addr a = addr("192.0.2.1"), b = addr("2001:db8::1"),
	    b2 = addr("2001:db8::2"), none = { 0 };

	assert_non_null(cl);
	assert_int_equal(connlimit_handshakes(cl, &a), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(connlimit_handshake_begin(cl, &a), 0);
	assert_int_equal(connlimit_handshake_begin(cl, &b), 0);
	assert_int_equal(connlimit_handshakes(cl, &a), 3);
	/* One IPv6 address is not its /64. */
	assert_int_equal(connlimit_handshakes(cl, &b), 1);
	assert_int_equal(connlimit_handshakes(cl, &b2), 0);
	/* Done, failed, timed out: the same end, down to 0 and no further. */
	for (int i = 0; i < 3; i++)
		connlimit_handshake_end(cl, &a);
	assert_int_equal(connlimit_handshakes(cl, &a), 0);
	connlimit_handshake_end(cl, &a);
	assert_int_equal(connlimit_handshakes(cl, &a), 0);
	assert_int_equal(connlimit_handshake_begin(cl, &a), 0);
	assert_int_equal(connlimit_handshakes(cl, &a), 1);
	/* Not tracked: nothing to end; a family the limits do not know is not counted. */
	connlimit_handshake_end(cl, &b2);
	assert_int_equal(connlimit_handshake_begin(cl, &none), -1);
	assert_int_equal(connlimit_handshakes(cl, &none), 0);
	/* The rate limit and the handshakes share the address's entry. */
	assert_true(connlimit_rate_ok(cl, &a, 1, 1, 0));
	assert_false(connlimit_rate_ok(cl, &a, 1, 1, 0));
	assert_int_equal(connlimit_handshakes(cl, &a), 1);
	assert_int_equal(connlimit_count(cl), 2);
	connlimit_free(cl);
}

/* An address holding a handshake is never forgotten; its count would start over. */
static void
test_handshakes_kept(void **state)
{
	struct connlimit *cl = connlimit_new(4);
	struct connlimit_addr held[3], o;
	char ip[32];

	assert_non_null(cl);
	for (int i = 0; i < 3; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		held[i] = addr(ip);
		assert_int_equal(connlimit_handshake_begin(cl, &held[i]), 0);
	}
	/* A stream of other addresses through the one free place. */
	for (int i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		o = addr(ip);
		assert_true(connlimit_rate_ok(cl, &o, 1, 1, 0));
		assert_true(connlimit_count(cl) <= 4);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(connlimit_handshakes(cl, &held[i]), 1);
	/* Every place held: the table grows by the addresses holding handshakes only. */
	for (int i = 0; i < 3; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i);
		o = addr(ip);
		assert_int_equal(connlimit_handshake_begin(cl, &o), 0);
	}
	assert_int_equal(connlimit_count(cl), 6);
	/* Once over, they may go again: the table comes back to its bound. */
	for (int i = 0; i < 3; i++)
		connlimit_handshake_end(cl, &held[i]);
	for (int i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		o = addr(ip);
		assert_true(connlimit_rate_ok(cl, &o, 1, 1, 0));
	}
	assert_int_equal(connlimit_count(cl), 4);
	for (int i = 0; i < 3; i++)
		assert_int_equal(connlimit_handshakes(cl, &held[i]), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i);
		o = addr(ip);
		assert_int_equal(connlimit_handshakes(cl, &o), 1);
	}
	connlimit_free(cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_keys),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_handshakes_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
