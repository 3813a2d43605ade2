/*
 * Unit tests of connlimit: addresses as keys, the per-address token
 * bucket of connections and the table's bound.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_keys),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
