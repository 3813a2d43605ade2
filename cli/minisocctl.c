/*
 * minisocctl – the control tool. Subcommands:
 *   alerts        print recent alerts from the Redis stream, optionally follow
 *   rules check   load a rule folder and report loaded / inert / rejected
 *   rules test    run the rule test cases (rules/tests)
 *   replay        run the collector's detection over log files offline
 * (reports, pki and status arrive with their issues)
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "ctl.h"
#include "ms_util.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl COMMAND [options]\n"
	    "\n"
	    "Commands:\n"
	    "  alerts        print recent alerts from Redis (and follow new ones)\n"
	    "  status        the collector's counters and the agents it knows\n"
	    "  rules check   load rules, list what is inert or rejected\n"
	    "  rules test    run the rules' test cases\n"
	    "  replay        run detection over log files offline, alerts as JSON lines\n"
	    "  version       print the version\n"
	    "\n"
	    "minisocctl alerts [-r HOST:PORT | -s SOCKET] [-k STREAM] [-n N] [-f] [--json]\n"
	    "  -r, --redis HOST:PORT   Redis to read from (default 127.0.0.1:6379)\n"
	    "  -s, --socket PATH       Redis unix socket instead\n"
	    "  -k, --stream NAME       stream (default minisoc:alerts)\n"
	    "  -n, --count N           how many recent alerts (default 20; 0 = none)\n"
	    "  -f, --follow            keep printing new alerts as they come\n"
	    "  -j, --json              print each alert's JSON instead of a summary line\n"
	    "\n"
	    "Exit status: 0 on success, 1 on usage errors, 2 when Redis cannot be read.\n");
}

/* The value of field name in a stream entry's field list, or NULL. */
static const redisReply *
entry_field(const redisReply *fields, const char *name)
{
	if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];
		if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
			return fields->element[i + 1];
	}
	return NULL;
}

/*
 * Finds "key":"value" at the top level of our own alert JSON and copies the
 * value (unescaped only for \" and \\). Enough for a summary line; the
 * --json output is the exact document.
 */
static void
json_str(const char *json, const char *key, char *out, size_t outsz)
{
	char pat[64];
	const char *p;
	size_t o = 0;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	if ((p = strstr(json, pat)) == NULL)
		return;
	p += strlen(pat);
	while (*p && *p != '"' && o + 1 < outsz) {
		if (*p == '\\' && p[1])
			p++;
		out[o++] = *p++;
	}
	out[o] = '\0';
}

static long
json_int(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(json, pat)) == NULL)
		return -1;
	return strtol(p + strlen(pat), NULL, 10);
}

static void
print_entry(const redisReply *entry, bool json)
{
	const redisReply *fields, *alert;
	char time[40], title[256], sev[32], host[256], src[64], users[512];
	const char *u;

	if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2)
		return;
	fields = entry->element[1];
	alert = entry_field(fields, "alert");
	if (alert == NULL || alert->type != REDIS_REPLY_STRING)
		return;
	if (json) {
		printf("%s\n", alert->str);
		return;
	}
	json_str(alert->str, "@timestamp", time, sizeof(time));
	json_str(alert->str, "title", title, sizeof(title));
	json_str(alert->str, "level", sev, sizeof(sev));
	json_str(alert->str, "name", host, sizeof(host));
	json_str(alert->str, "ip", src, sizeof(src));
	users[0] = '\0';
	if ((u = strstr(alert->str, "\"related\":{\"user\":[")) != NULL) {
		const char *end = strchr(u, ']');
		u += 19;
		if (end)
			ms_copy(users, sizeof(users), u, (size_t)(end - u));
	}
	printf("%s  %-8s %s\n    host=%s src_ip=%s count=%ld users=%s\n", time, sev, title, host,
	    src, json_int(alert->str, "count"), users);
}

/* Parses -r HOST:PORT into host/port; 0 or -1. */
static int
parse_redis_addr(const char *arg, char *host, size_t hostsz, int64_t *port)
{
	const char *colon = strrchr(arg, ':');

	if (colon == NULL || ms_parse_i64(colon + 1, 1, 65535, port) < 0 ||
	    (size_t)(colon - arg) >= hostsz)
		return -1;
	ms_copy(host, hostsz, arg, (size_t)(colon - arg));
	return 0;
}

static void
print_hash(redisContext *rc, const char *key, const char *indent)
{
	redisReply *r = redisCommand(rc, "HGETALL %s", key);

	if (r && r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i + 1 < r->elements; i += 2)
			printf("%s%-20s %s\n", indent, r->element[i]->str, r->element[i + 1]->str);
	if (r)
		freeReplyObject(r);
}

static int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char host[256] = "127.0.0.1", cursor[32] = "0";
	const char *sock = NULL;
	int64_t port = 6379;
	redisContext *rc;
	redisReply *r;
	int ch, nagents = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (parse_redis_addr(optarg, host, sizeof(host), &port) < 0) {
				fprintf(stderr, "minisocctl status: --redis wants HOST:PORT\n");
				return 1;
			}
			break;
		case 's': sock = optarg; break;
		case 'h':
			printf("usage: minisocctl status [-r HOST:PORT | -s SOCKET]\n"
			    "The collector's counters (updated every 10 s) and the agents it knows.\n");
			return 0;
		default: return 1;
		}
	}
	rc = sock ? redisConnectUnix(sock) : redisConnect(host, (int)port);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "minisocctl status: cannot connect to Redis: %s\n",
		    rc ? rc->errstr : "out of memory");
		if (rc)
			redisFree(rc);
		return 2;
	}
	printf("collector\n");
	print_hash(rc, "minisoc:collector:stats", "  ");
	printf("agents\n");
	do {
		r = redisCommand(rc, "SCAN %s MATCH minisoc:agent:* COUNT 200", cursor);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r)
				freeReplyObject(r);
			break;
		}
		ms_copy(cursor, sizeof(cursor), r->element[0]->str, r->element[0]->len);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const char *key = r->element[1]->element[i]->str;
			redisReply *seq;

			/* minisoc:agent:<id>:health and the like are not agents of their own. */
			if (strchr(key + strlen("minisoc:agent:"), ':') != NULL)
				continue;
			seq = redisCommand(rc, "HGET minisoc:agents:seq %s", key + strlen("minisoc:agent:"));
			printf("  %s (handled seq %s)\n", key + strlen("minisoc:agent:"),
			    seq && seq->type == REDIS_REPLY_STRING ? seq->str : "-");
			if (seq)
				freeReplyObject(seq);
			print_hash(rc, key, "    ");
			nagents++;
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	if (nagents == 0)
		printf("  (none yet)\n");
	redisFree(rc);
	return 0;
}

static int
cmd_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "stream", required_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char host[256] = "127.0.0.1", last[64] = "$";
	const char *sock = NULL, *stream = "minisoc:alerts";
	int64_t port = 6379, count = 20;
	bool follow = false, json = false;
	redisContext *rc = NULL;
	redisReply *r = NULL;
	int ch, ret = 2;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:s:k:n:fjh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (parse_redis_addr(optarg, host, sizeof(host), &port) < 0) {
				fprintf(stderr, "minisocctl alerts: --redis wants HOST:PORT\n");
				return 1;
			}
			break;
		case 's': sock = optarg; break;
		case 'k': stream = optarg; break;
		case 'n':
			if (ms_parse_i64(optarg, 0, 100000, &count) < 0) {
				fprintf(stderr, "minisocctl alerts: --count wants 0..100000\n");
				return 1;
			}
			break;
		case 'f': follow = true; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	rc = sock ? redisConnectUnix(sock) : redisConnect(host, (int)port);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "minisocctl alerts: cannot connect to Redis: %s\n",
		    rc ? rc->errstr : "out of memory");
		goto out;
	}
	if (count > 0) {
		r = redisCommand(rc, "XREVRANGE %s + - COUNT %lld", stream, (long long)count);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
			fprintf(stderr, "minisocctl alerts: XREVRANGE failed: %s\n",
			    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
			goto out;
		}
		/* Oldest first, like a log. */
		for (size_t i = r->elements; i > 0; i--)
			print_entry(r->element[i - 1], json);
		if (r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY &&
		    r->element[0]->elements == 2 && r->element[0]->element[0]->type == REDIS_REPLY_STRING)
			ms_copy(last, sizeof(last), r->element[0]->element[0]->str,
			    r->element[0]->element[0]->len);
		freeReplyObject(r);
		r = NULL;
		fflush(stdout);
	}
	while (follow) {
		redisReply *streams;

		r = redisCommand(rc, "XREAD BLOCK 0 STREAMS %s %s", stream, last);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "minisocctl alerts: XREAD failed: %s\n", r ? r->str : rc->errstr);
			goto out;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
		    (streams = r->element[0])->type == REDIS_REPLY_ARRAY && streams->elements == 2) {
			redisReply *entries = streams->element[1];
			for (size_t i = 0; i < entries->elements; i++) {
				redisReply *e = entries->element[i];
				print_entry(e, json);
				if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
				    e->element[0]->type == REDIS_REPLY_STRING)
					ms_copy(last, sizeof(last), e->element[0]->str, e->element[0]->len);
			}
			fflush(stdout);
		}
		freeReplyObject(r);
		r = NULL;
	}
	ret = 0;
out:
	if (r)
		freeReplyObject(r);
	if (rc)
		redisFree(rc);
	return ret;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "alerts") == 0)
		return cmd_alerts(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "rules") == 0)
		return ctl_rules(argc - 1, argv + 1);
	if (strcmp(argv[1], "replay") == 0)
		return ctl_replay(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("minisocctl %s\n", MINISOC_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "minisocctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 1;
}
