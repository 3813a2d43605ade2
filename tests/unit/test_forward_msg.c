/*
 * Unit tests of fwd_msg (minisoc-forward): severity ranks, the tolerant
 * alert view (today's names and the ECS-style ones), RFC 5424 frames, XML
 * escaping and the IODEF document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "forward.h"

static struct ms_jsonr *
parse(const char *s)
{
	char err[128];
	struct ms_jsonr *d = ms_jsonr_parse(s, strlen(s), 10000, err, sizeof(err));

	if (d == NULL)
		fail_msg("parse: %s: %s", err, s);
	return d;
}

static void
test_severity(void **state)
{
	static const struct { const char *json; int rank; } cases[] = {
		{ "\"informational\"", 0 }, { "\"info\"", 0 }, { "\"Low\"", 1 }, { "\"medium\"", 2 },
		{ "\"HIGH\"", 3 }, { "\"critical\"", 4 }, { "\"severe\"", -1 }, { "\"\"", -1 },
		{ "0", 0 }, { "20", 0 }, { "21", 1 }, { "47", 2 }, { "73", 3 }, { "99", 4 },
		{ "100", 4 }, { "-1", -1 }, { "1e9", -1 }, { "true", -1 }, { "null", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_jsonr *d = parse(cases[i].json);
		if (fwd_sev_rank(ms_jsonr_root(d)) != cases[i].rank)
			fail_msg("%s: got %d, want %d", cases[i].json, fwd_sev_rank(ms_jsonr_root(d)),
			    cases[i].rank);
		ms_jsonr_free(d);
	}
	assert_int_equal(fwd_sev_rank(NULL), FWD_SEV_UNKNOWN);
	assert_int_equal(fwd_sev_rank_name("high"), 3);
	assert_int_equal(fwd_sev_rank_name("x"), -1);
	assert_string_equal(fwd_sev_name(4), "critical");
	assert_string_equal(fwd_sev_name(9), "unknown");
}

static void
test_alert_view(void **state)
{
	/* The same alert in today's JSON and in the ECS-style names. */
	static const char *const alerts[] = {
		"{\"id\":\"A1\",\"time\":\"2026-11-25T16:34:47.123Z\",\"rule\":{\"id\":\"r1\","
		"\"title\":\"Rule one\"},\"severity\":\"high\",\"agent\":{\"id\":\"web1\","
		"\"host\":\"web1.local\"},\"src_ip\":\"203.0.113.5\"}",
		"{\"@timestamp\":\"2026-11-25T16:34:47.123Z\",\"event\":{\"id\":\"A1\","
		"\"severity\":\"high\"},\"rule\":{\"id\":\"r1\",\"name\":\"Rule one\"},"
		"\"source\":{\"ip\":\"203.0.113.5\"},\"host\":{\"name\":\"web1.local\"},"
		"\"agent\":{\"id\":\"web1\"},\"system\":{\"id\":\"SYS-1\",\"level\":3}}",
		"{\"@timestamp\":\"2026-11-25T16:34:47.123Z\",\"event.id\":\"A1\",\"event.severity\":73,"
		"\"rule.id\":\"r1\",\"rule.name\":\"Rule one\",\"source.ip\":\"203.0.113.5\","
		"\"host.name\":\"web1.local\",\"agent.id\":\"web1\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++) {
		struct ms_jsonr *d = parse(alerts[i]);
		struct fwd_alert_view v;

		fwd_alert_view(ms_jsonr_root(d), &v);
		assert_string_equal(v.id, "A1");
		assert_string_equal(v.time, "2026-11-25T16:34:47.123Z");
		assert_string_equal(v.rule_id, "r1");
		assert_string_equal(v.rule_name, "Rule one");
		assert_int_equal(v.sev, 3);
		assert_string_equal(v.src_ip, "203.0.113.5");
		assert_string_equal(v.host, "web1.local");
		assert_string_equal(v.agent_id, "web1");
		if (i == 1)
			assert_string_equal(v.system_id, "SYS-1");
		ms_jsonr_free(d);
	}
	{
		struct ms_jsonr *d = parse("[1]");
		struct fwd_alert_view v;
		fwd_alert_view(ms_jsonr_root(d), &v);
		assert_null(v.id);
		assert_int_equal(v.sev, FWD_SEV_UNKNOWN);
		ms_jsonr_free(d);
	}
}

static void
test_time_ok(void **state)
{
	static const char *const good[] = { "2026-11-25T16:34:47Z", "2026-11-25T16:34:47.123Z",
		"2026-11-25T16:34:47.123456+07:00", "2026-11-25T16:34:47-05:30" };
	static const char *const bad[] = { "", "2026-11-25 16:34:47Z", "2026-11-25T16:34:47",
		"2026-11-25T16:34:47.1234567Z", "2026-11-25T16:34:47.Z", "2026-11-25T16:34:47Zx",
		"2026-11-25T16:34:47+0700", "Nov 25 16:34:47", "2026-1a-25T16:34:47Z" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(fwd_msg_time_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fwd_msg_time_ok(bad[i]))
			fail_msg("accepted %s", bad[i]);
	assert_false(fwd_msg_time_ok(NULL));
}

static void
test_syslog_frame(void **state)
{
	struct fwd_syslog_opts o = { "soc1", "minisoc", 13, "minisoc@32473", true };
	const struct fwd_sd_param sd[] = { { "id", "a\"b\\c]d" }, { "skip", NULL },
		{ "host", "h\xc3\xa9" } };
	struct ms_buf b;
	const char *want = "<107>1 2026-11-25T16:34:47.123Z soc1 minisoc - alert "
	    "[minisoc@32473 id=\"a\\\"b\\\\c\\]d\" host=\"h??\"] \xef\xbb\xbf{\"x\":1}";
	char frame[512];

	(void)state;
	ms_buf_init(&b, 4096);
	assert_int_equal(fwd_msg_syslog(&b, &o, "alert", 3, "2026-11-25T16:34:47.123Z", 0, sd, 3,
	    "{\"x\":1}", 7), 0);
	snprintf(frame, sizeof(frame), "%zu %s", strlen(want), want);
	assert_string_equal(b.data, frame);

	/* No SD, severity unknown (notice), a bad time (now), a bad host name ("-"). */
	ms_buf_reset(&b);
	o.sd_id = "";
	o.hostname = "with space";
	o.bom = false;
	assert_int_equal(fwd_msg_syslog(&b, &o, "incident", -1, "yesterday", 0, NULL, 0, "m", 1), 0);
	assert_string_equal(b.data, "56 <109>1 1970-01-01T00:00:00.000Z - minisoc - incident - m");
	/* Critical with facility 0; an empty message has no MSG part. */
	ms_buf_reset(&b);
	o.facility = 0;
	assert_int_equal(fwd_msg_syslog(&b, &o, "alert", 4, NULL, 0, NULL, 0, "", 0), 0);
	assert_string_equal(b.data, "49 <2>1 1970-01-01T00:00:00.000Z - minisoc - alert -");
	ms_buf_fini(&b);

	/* Over the cap: -1, and what was in the buffer stays. */
	ms_buf_init(&b, 64);
	assert_int_equal(ms_buf_adds(&b, "keep"), 0);
	{
		char big[100];
		memset(big, 'x', sizeof(big));
		assert_int_equal(fwd_msg_syslog(&b, &o, "alert", 3, NULL, 0, NULL, 0, big, sizeof(big)), -1);
	}
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "keep");
	assert_false(b.toobig);
	ms_buf_fini(&b);
}

static void
test_xml_escape(void **state)
{
	struct ms_buf b;

	(void)state;
	ms_buf_init(&b, 1024);
	{
		static const char in[] = "<a href=\"x\">&'\x01\t\xff\xc3\xa9\xef\xbf\xbe";
		assert_int_equal(fwd_xml_escape(&b, in, sizeof(in) - 1), 0);
	}
	assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\xef\xbf\xbd\t\xef\xbf\xbd"
	    "\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ms_buf_fini(&b);
}

static void
test_uuid7(void **state)
{
	(void)state;
	assert_int_equal(fwd_uuid7_ms("01a214ea-b65d-7d70-94fd-0d92f6a064a7"), 0x01a214eab65dLL);
	assert_int_equal(fwd_uuid7_ms("01a214ea-b65d-4d70-94fd-0d92f6a064a7"), -1);	/* v4 */
	assert_int_equal(fwd_uuid7_ms("01a214ea-b65d-7d70-94fd-0d92f6a064a"), -1);
	assert_int_equal(fwd_uuid7_ms("01a214ea-b65d-7d70-94fd-0d92f6a064ag"), -1);
	assert_int_equal(fwd_uuid7_ms(NULL), -1);
}

static void
test_iodef(void **state)
{
	struct ms_jsonr *inc = parse("{\"id\":\"INC-1\",\"created\":\"2026-11-25T16:40:00Z\","
	    "\"updated\":\"2026-11-25T16:41:00Z\",\"severity\":\"critical\",\"serious\":true,"
	    "\"title\":\"<b>&amp;\",\"systems\":[\"SYS-1\"],\"alerts\":[\"A1\",\"A2\",\"A3\"],"
	    "\"status\":\"closed\",\"notes\":[{\"time\":\"t\",\"who\":\"op\",\"text\":\"x<y\"}]}");
	struct ms_jsonr *a1 = parse("{\"id\":\"A1\",\"time\":\"2026-11-25T16:34:47.123Z\","
	    "\"rule\":{\"id\":\"r1\",\"title\":\"SSH\"},\"severity\":\"high\","
	    "\"agent\":{\"id\":\"web1\",\"host\":\"web1\"},\"src_ip\":\"2001:db8::1\"}");
	struct ms_jsonr *a2 = parse("{\"id\":\"A2\",\"src_ip\":\"1.2.3.4<x>\",\"agent\":{\"host\":\"h\"}}");
	const struct ms_jv *alerts[3] = { ms_jsonr_root(a1), ms_jsonr_root(a2), NULL };
	struct fwd_iodef_opts o = { "soc.example.vn", "vi", "SOC & co", "soc@example.vn", 64 };
	struct ms_buf b;

	(void)state;
	ms_buf_init(&b, 65536);
	assert_int_equal(fwd_iodef(&b, &o, ms_jsonr_root(inc), alerts, 3, 0), 0);
	assert_non_null(strstr(b.data, "<IODEF-Document version=\"2.00\" xml:lang=\"vi\" "
	    "xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\">"));
	assert_non_null(strstr(b.data, "<Incident purpose=\"reporting\" status=\"resolved\">"));
	assert_non_null(strstr(b.data, "<IncidentID name=\"soc.example.vn\">INC-1</IncidentID>"));
	assert_non_null(strstr(b.data, "<GenerationTime>1970-01-01T00:00:00.000Z</GenerationTime>"));
	assert_non_null(strstr(b.data, "<Description>&lt;b&gt;&amp;amp;</Description>"));
	assert_non_null(strstr(b.data, "<Description>t op: x&lt;y</Description>"));
	assert_non_null(strstr(b.data, "<SystemImpact severity=\"high\" type=\"unknown\"/>"));
	assert_non_null(strstr(b.data, "<ContactName>SOC &amp; co</ContactName>"));
	assert_non_null(strstr(b.data, "<Address category=\"ipv6-addr\">2001:db8::1</Address>"));
	assert_null(strstr(b.data, "1.2.3.4"));	/* not an address: left out */
	assert_non_null(strstr(b.data, "<Name>h</Name>"));
	assert_non_null(strstr(b.data, "meaning=\"alert-id\">A3</AdditionalData>"));
	assert_non_null(strstr(b.data, "meaning=\"information-system\">SYS-1</AdditionalData>"));
	{
		size_t n = 0;
		for (const char *p = b.data; (p = strstr(p, "<EventData>")) != NULL; p++)
			n++;
		assert_int_equal(n, 3);
	}
	/* At most max_alerts EventData. */
	ms_buf_reset(&b);
	o.max_alerts = 1;
	assert_int_equal(fwd_iodef(&b, &o, ms_jsonr_root(inc), alerts, 3, 0), 0);
	assert_non_null(strstr(b.data, "<EventData>"));
	assert_null(strstr(strstr(b.data, "<EventData>") + 1, "<EventData>"));
	/* Too big for the buffer: -1 and nothing added. */
	ms_buf_fini(&b);
	ms_buf_init(&b, 200);
	assert_int_equal(fwd_iodef(&b, &o, ms_jsonr_root(inc), alerts, 3, 0), -1);
	assert_int_equal(b.len, 0);
	ms_buf_fini(&b);
	ms_jsonr_free(inc);
	/* No id: refused. */
	inc = parse("{\"title\":\"x\"}");
	ms_buf_init(&b, 4096);
	assert_int_equal(fwd_iodef(&b, &o, ms_jsonr_root(inc), NULL, 0, 0), -1);
	ms_buf_fini(&b);
	ms_jsonr_free(inc);
	ms_jsonr_free(a1);
	ms_jsonr_free(a2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_alert_view),
		cmocka_unit_test(test_time_ok),
		cmocka_unit_test(test_syslog_frame),
		cmocka_unit_test(test_xml_escape),
		cmocka_unit_test(test_uuid7),
		cmocka_unit_test(test_iodef),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
