/*
 * Unit tests of the agent's health telemetry (health.c): a report of an
 * agent following real files in a temporary folder is encoded, decoded
 * with the collector's decoder and checked key by key; the size budget;
 * the anti-malware names in the configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "agent_harness.h"
#include "ms_proto.h"
#include "ms_util.h"

static char dir[] = "/tmp/minisoc-test-health-XXXXXX";

/* A decoded report, as NUL-terminated copies. */
struct report {
	size_t n;
	char key[MS_HEALTH_MAX_ITEMS][MS_HEALTH_MAX_KEY + 1];
	char value[MS_HEALTH_MAX_ITEMS][MS_HEALTH_MAX_VALUE + 1];
	size_t payload_len;
};

static struct report rep;

static void
path_in(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "%s/%s", dir, name);
}

static void
put(const char *name, const char *mode, const char *data)
{
	char p[512];
	FILE *f;

	path_in(p, sizeof(p), name);
	f = fopen(p, mode);
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	fclose(f);
}

/* An agent following dir/<name> for each name, from the beginning. */
static struct agent *
start(const char *const *names, size_t n)
{
	struct agent *a = harness_new(dir);

	a->conf.partial_line_ms = 3600000;	/* an unterminated last line stays unread */
	snprintf(a->hostname, sizeof(a->hostname), "test-host");
	for (size_t i = 0; i < n; i++) {
		path_in(a->files[i].path, sizeof(a->files[i].path), names[i]);
		a->files[i].from_beginning = true;
	}
	a->nfiles = n;
	harness_start(a);
	return a;
}

static void
stop(struct agent *a)
{
	harness_stop(a);
}

/* Encodes a report of a and decodes it into rep with the collector's decoder. */
static void
collect(struct agent *a)
{
	struct ms_buf b;
	struct ms_frame_hdr h;
	struct ms_health_iter it;
	struct ms_kv kv;
	const char *why = NULL;
	uint32_t count;

	memset(&rep, 0, sizeof(rep));
	ms_buf_init(&b, MS_PROTO_MAX_FRAME);
	assert_int_equal(health_encode(a, &b), 0);
	assert_int_equal(ms_proto_hdr_parse((const uint8_t *)b.data, b.len, MS_PROTO_MAX_FRAME, &h),
	    MS_PROTO_OK);
	assert_int_equal(h.type, MS_MSG_HEALTH);
	assert_int_equal(b.len, MS_PROTO_HDR_LEN + h.len);
	if (ms_health_open(&it, (const uint8_t *)b.data + MS_PROTO_HDR_LEN, h.len, &count,
	    &why) != 0)
		fail_msg("the agent's report does not decode: %s", why);
	while (ms_health_next(&it, &kv) == 1) {
		ms_copy(rep.key[rep.n], sizeof(rep.key[0]), kv.key, kv.key_len);
		ms_copy(rep.value[rep.n], sizeof(rep.value[0]), kv.value, kv.value_len);
		rep.n++;
	}
	assert_int_equal(rep.n, count);
	rep.payload_len = h.len;
	ms_buf_fini(&b);
}

static const char *
get(const char *key)
{
	for (size_t i = 0; i < rep.n; i++)
		if (strcmp(rep.key[i], key) == 0)
			return rep.value[i];
	return NULL;
}

static const char *
must(const char *key)
{
	const char *v = get(key);

	if (v == NULL)
		fail_msg("key %s missing from the report", key);
	return v;
}

/* The value of key as a number (it must be one). */
static uint64_t
num(const char *key)
{
	const char *v = must(key);
	int64_t x;

	if (ms_parse_i64(v, 0, INT64_MAX, &x) < 0)
		fail_msg("key %s: \"%s\" is not a number", key, v);
	return (uint64_t)x;
}

static void
test_report(void **state)
{
	const char *const names[] = { "app.log", "gone.log" };
	struct agent *a;
	char p[512], comm[32] = "";
	FILE *f;

	(void)state;
	put("app.log", "w", "one\ntwo\npartial");
	a = start(names, 2);
	a->stats.rate_limited = 5;
	a->stats.paused_ms = 1234;
	/* This process is running; the other name is not. */
	assert_non_null(f = fopen("/proc/self/comm", "r"));
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	ms_copy(a->conf.antimalware[0], sizeof(a->conf.antimalware[0]), comm, strlen(comm));
	ms_copy(a->conf.antimalware[1], sizeof(a->conf.antimalware[1]), "No-Such-Proc", 12);
	a->conf.nantimalware = 2;
	collect(a);

	assert_true(num("time_ms") > 1700000000000ULL);
	assert_string_equal(must("hostname"), "test-host");
	assert_string_equal(must("os"), "Linux");
	assert_true(strlen(must("kernel")) > 0);
	assert_true(strlen(must("machine")) > 0);
	assert_string_equal(must("version"), MINISOC_VERSION);
	if (access("/proc/sys/kernel/random/boot_id", R_OK) == 0)
		assert_int_equal(strlen(must("boot_id")), 36);
	assert_true(num("uptime_s") >= num("agent_uptime_s"));
	assert_true(num("agent_uptime_s") < 3600);	/* this test just started */
	assert_true(strcmp(must("clock.synced"), "0") == 0 || strcmp(must("clock.synced"), "1") == 0);
	/* Both files, in configuration order. */
	assert_int_equal(num("files"), 2);
	assert_int_equal(num("files_reported"), 2);
	path_in(p, sizeof(p), "app.log");
	assert_string_equal(must("file.0.path"), p);
	assert_int_equal(num("file.0.readable"), 1);
	/* "partial" has no newline yet: read but held, so still behind. */
	assert_int_equal(num("file.0.behind_bytes"), 7);
	path_in(p, sizeof(p), "gone.log");
	assert_string_equal(must("file.1.path"), p);
	assert_int_equal(num("file.1.readable"), 0);
	assert_int_equal(num("file.1.behind_bytes"), 0);
	/* Two lines queued, none acknowledged. */
	assert_int_equal(num("backlog.events"), 2);
	assert_int_equal(num("backlog.bytes"), a->q.bytes);
	assert_true(num("backlog.oldest_age_ms") < 60000);
	assert_int_equal(num("count.lines_read"), 2);
	assert_int_equal(num("count.events_acked"), 0);
	assert_int_equal(num("count.rate_limited"), 5);
	assert_int_equal(num("count.paused_ms"), 1234);
	assert_non_null(get("count.spool_full"));
	assert_non_null(get("count.truncations"));
	/* the spool's disk: nothing failed, nothing corrupt */
	assert_int_equal(num("count.spool_write_errors"), 0);
	assert_int_equal(num("count.spool_corrupt_bytes"), 0);
	{
		char key[64];
		health_antimalware_key(key, sizeof(key), comm);
		assert_string_equal(must(key), "running");
	}
	assert_string_equal(must("antimalware.no_such_proc"),
	    access("/proc/1/comm", R_OK) == 0 ? "missing" : "unknown");
	assert_true(num("disk.state_free_bytes") > 0);
	assert_true(num("disk.log_free_bytes") > 0);

	/* Bytes written since the last read are behind; acknowledged lines leave the backlog. */
	put("app.log", "a", " line\nmore\n");
	queue_ack(&a->q, a->next_seq, NULL, NULL);
	agent_acked(a, a->next_seq - 1);
	collect(a);
	assert_int_equal(num("file.0.behind_bytes"), 7 + 11);
	assert_int_equal(num("backlog.events"), 0);
	assert_int_equal(num("backlog.oldest_age_ms"), 0);
	stop(a);
}

/* A report never passes batch.max_bytes: files that do not fit are left out. */
static void
test_budget(void **state)
{
	static const char *names[40];
	static char buf[40][128];
	struct agent *a;
	size_t reported;

	(void)state;
	for (size_t i = 0; i < 40; i++) {
		snprintf(buf[i], sizeof(buf[i]), "a-rather-long-file-name-for-the-budget-%02zu.log", i);
		put(buf[i], "w", "x\n");
		names[i] = buf[i];
	}
	a = start(names, 40);
	collect(a);
	assert_int_equal(num("files"), 40);
	assert_int_equal(num("files_reported"), 40);
	assert_non_null(get("file.39.path"));

	a->conf.batch_max_bytes = 2048;
	collect(a);
	assert_true(rep.payload_len + MS_PROTO_HDR_LEN <= 2048);
	assert_int_equal(num("files"), 40);
	reported = num("files_reported");
	assert_true(reported > 0 && reported < 40);
	/* Each reported file has all three keys, the next one none. */
	for (size_t i = 0; i <= reported; i++) {
		char k[64];
		snprintf(k, sizeof(k), "file.%zu.path", i);
		assert_true((get(k) != NULL) == (i < reported));
		snprintf(k, sizeof(k), "file.%zu.behind_bytes", i);
		assert_true((get(k) != NULL) == (i < reported));
	}
	/* The fixed keys came first and are all there. */
	assert_non_null(get("hostname"));
	assert_non_null(get("count.paused_ms"));
	stop(a);
}

/* Paths with control bytes are reported with '?' (the decoder refuses control bytes). */
static void
test_control_bytes(void **state)
{
	const char *const names[] = { "new\nline.log" };
	struct agent *a;
	char p[512];

	(void)state;
	put(names[0], "w", "x\n");
	a = start(names, 1);
	collect(a);
	path_in(p, sizeof(p), "new?line.log");
	assert_string_equal(must("file.0.path"), p);
	stop(a);
}

static void
test_antimalware_key(void **state)
{
	char k[64];

	(void)state;
	health_antimalware_key(k, sizeof(k), "Falcon-Sensor");
	assert_string_equal(k, "antimalware.falcon_sensor");
	health_antimalware_key(k, sizeof(k), "clamd");
	assert_string_equal(k, "antimalware.clamd");
	health_antimalware_key(k, sizeof(k), "a b.c_d");
	assert_string_equal(k, "antimalware.a_b.c_d");
	health_antimalware_key(k, 16, "abcdefghijk");	/* cut, still terminated */
	assert_string_equal(k, "antimalware.abc");
}

/* Writes a minimal agent config with the given health section and loads it. */
static int
load_conf(const char *health, struct agent_conf *c, char *err, size_t errsz)
{
	static struct agent_file_conf files[AGENT_MAX_FILES];
	struct ms_yaml_node *root = NULL;
	size_t nfiles;
	char text[1024], p[512];
	int rc;

	snprintf(text, sizeof(text),
	    "collector:\n  host: 127.0.0.1\n"
	    "tls:\n  ca: ca.crt\n  cert: a.crt\n  key: a.key\n"
	    "files:\n  - /var/log/auth.log\n%s", health);
	put("agent.yml", "w", text);
	path_in(p, sizeof(p), "agent.yml");
	rc = agent_conf_load(p, c, files, &nfiles, &root, err, errsz);
	ms_yaml_node_free(root);
	return rc;
}

static void
test_conf(void **state)
{
	static struct agent_conf c;
	char err[512];

	(void)state;
	assert_int_equal(load_conf("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.nantimalware, 0);
	assert_int_equal(c.health_ms, 60000);
	assert_int_equal(load_conf("uplink:\n  health_ms: 300\nhealth:\n  antimalware: [clamd, "
	    "falcon-sensor]\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.health_ms, 300);
	assert_int_equal(c.nantimalware, 2);
	assert_string_equal(c.antimalware[0], "clamd");
	assert_string_equal(c.antimalware[1], "falcon-sensor");
	/* Refused: longer than the kernel keeps, not a list, same key twice, too small interval. */
	assert_int_equal(load_conf("health:\n  antimalware: [a-name-of-16-byte]\n", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "1 to 15 bytes"));
	assert_int_equal(load_conf("health:\n  antimalware: clamd\n", &c, err, sizeof(err)), -1);
	assert_int_equal(load_conf("health:\n  antimalware: [Clamd, clamd]\n", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "same key"));
	assert_int_equal(load_conf("health:\n  antimalware: [a/b]\n", &c, err, sizeof(err)), -1);
	assert_int_equal(load_conf("uplink:\n  health_ms: 99\n", &c, err, sizeof(err)), -1);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_control_bytes),
		cmocka_unit_test(test_antimalware_key),
		cmocka_unit_test(test_conf),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
