/*
 * minisocctl – the control tool. Subcommands:
 *   alerts        the alert stream: list, follow, filter, ack/assign/close (ctl_alerts.c)
 *   rules check   load a rule folder and report loaded / inert / rejected
 *   rules test    run the rule test cases (rules/tests)
 *   replay        run the collector's detection over log files offline
 *   search        find events in the collector's event archive
 *   incident      incidents and their reporting deadlines (ctl_incident.c)
 *   report        compliance reports on the register (ctl_report.c)
 *   pki           CA, collector certificates, enrolment tokens, revocation (ctl_pki.c)
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "ctl.h"
#include "ctl_comp.h"
#include "ms_util.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl COMMAND [options]\n"
	    "\n"
	    "Commands:\n"
	    "  alerts        list, follow, filter alerts; ack, assign, close them\n"
	    "  status        the collector's counters and the agents it knows\n"
	    "  rules check   load rules, list what is inert or rejected\n"
	    "  rules test    run the rules' test cases\n"
	    "  replay        run detection over log files offline, alerts as JSON lines\n"
	    "  search        find events in the collector's archive (see search --help)\n"
	    "  incident      incidents: new, list, show, note, close (deadlines per framework)\n"
	    "  report        compliance report of the register (HTML, CSV, JSON)\n"
	    "  pki           CA, collector certificates, enrolment tokens, revocation\n"
	    "                (minisocctl pki --help)\n"
	    "  version       print the version (also --version, -V)\n"
	    "\n"
	    "minisocctl alerts --help   lists the options of alerts (filters, time range,\n"
	    "                           --follow, consumer groups, ack/assign/close, --json)\n"
	    "\n"
	    "Exit status: 0 on success, 1 on usage errors, 2 when Redis cannot be read or\n"
	    "the output cannot be written (each command's --help says more). search\n"
	    "answers as grep does: 1 when nothing matched, 2 on usage errors too.\n");
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

/* status: one collector's own counters (ctl_scan over minisoc:collector:stats:*). */
static void
status_collector(redisContext *rc, const char *key, void *arg)
{
	printf("collector %s\n", key + strlen("minisoc:collector:stats:"));
	print_hash(rc, key, "  ");
	(*(int *)arg)++;
}

/* status: one agent (ctl_scan over minisoc:agent:*). */
static void
status_agent(redisContext *rc, const char *key, void *arg)
{
	const char *id = key + strlen("minisoc:agent:");
	redisReply *seq;

	/* minisoc:agent:<id>:health and the like are not agents of their own. */
	if (strchr(id, ':') != NULL)
		return;
	seq = redisCommand(rc, "HGET minisoc:agents:seq %s", id);
	printf("  %s (handled seq %s)\n", id, seq && seq->type == REDIS_REPLY_STRING ? seq->str : "-");
	if (seq)
		freeReplyObject(seq);
	print_hash(rc, key, "    ");
	(*(int *)arg)++;
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
	char host[256] = "127.0.0.1";
	const char *sock = NULL, *addr = NULL;
	int64_t port = 6379;
	redisContext *rc;
	int ch, nagents = 0, ncollectors = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (parse_redis_addr(optarg, host, sizeof(host), &port) < 0) {
				fprintf(stderr, "minisocctl status: --redis wants HOST:PORT\n");
				return 1;
			}
			addr = optarg;
			break;
		case 's': sock = optarg; break;
		case 'h':
			printf("usage: minisocctl status [-r HOST:PORT | -s SOCKET]\n"
			    "The collector's counters (updated every 10 s) and the agents it knows.\n");
			return 0;
		default: return 1;
		}
	}
	if ((rc = ctl_redis_connect(addr, sock, "minisocctl status")) == NULL)
		return 2;
	/*
	 * Each collector's own hash (several share Redis with failover); the
	 * common one, which the last to write it fills, only without them.
	 */
	(void)ctl_scan(rc, "minisoc:collector:stats:*", status_collector, &ncollectors);
	if (ncollectors == 0) {
		printf("collector\n");
		print_hash(rc, "minisoc:collector:stats", "  ");
	}
	printf("agents\n");
	(void)ctl_scan(rc, "minisoc:agent:*", status_agent, &nagents);
	if (nagents == 0)
		printf("  (none yet)\n");
	redisFree(rc);
	return 0;
}

/*
 * What a command printed reached stdout: alerts, events or a token printed
 * once that a full disk or a closed file took are a failure (2), not an
 * exit 0 over a lost or cut answer.
 */
static int
stdout_close(int ret)
{
	int err = 0;

	if (fflush(stdout) != 0)
		err = errno;
	else if (!ferror(stdout))
		return ret;
	fprintf(stderr, "minisocctl: cannot write the output: %s\n",
	    err ? strerror(err) : "write error");
	return ret < 2 ? 2 : ret;
}

static int
run(int argc, char **argv)
{
	static char name[64];
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	/*
	 * getopt names the program by argv[0]: the command's own, so that
	 * "minisocctl alerts: unrecognized option '--bogus'" says whose.
	 */
	cmd = argv[1];
	if (cmd[0] != '-' && strlen(cmd) < 32) {
		snprintf(name, sizeof(name), "minisocctl %s", cmd);
		argv[1] = name;
	}
	if (strcmp(cmd, "alerts") == 0)
		return ctl_alerts(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(cmd, "rules") == 0)
		return ctl_rules(argc - 1, argv + 1);
	if (strcmp(cmd, "replay") == 0)
		return ctl_replay(argc - 1, argv + 1);
	if (strcmp(cmd, "search") == 0)
		return ctl_search(argc - 1, argv + 1);
	if (strcmp(cmd, "incident") == 0)
		return ctl_incident(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return ctl_report(argc - 1, argv + 1);
	if (strcmp(cmd, "pki") == 0)
		return ctl_pki(argc - 1, argv + 1);
	/* -V as the daemons take it too. */
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 ||
	    strcmp(cmd, "-V") == 0) {
		printf("minisocctl %s\n", MINISOC_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "minisocctl: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 1;
}

int
main(int argc, char **argv)
{
	return stdout_close(run(argc, argv));
}
