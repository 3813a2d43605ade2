/*
 * minisocctl replay – the collector's detection (decoders, the built-in
 * detector, Sigma rules and correlations) over log files, offline. Alerts
 * are printed as JSON lines, exactly as the collector would store them,
 * with ids numbered in order so two runs can be compared.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl.h"
#include "detect.h"
#include "ms_proto.h"
#include "ms_util.h"
#include "sigma_set.h"

struct replay {
	unsigned alerts;
	struct ms_buf json;
	FILE *out;
};

static void
replay_emit_cb(const struct alert *a0, void *arg)
{
	struct replay *r = arg;
	struct alert a = *a0;

	r->alerts++;
	snprintf(a.id, sizeof(a.id), "replay-%06u", r->alerts);
	/* Event time, not the wall clock: the same input gives the same output. */
	a.time_ms = a.last_ms;
	ms_buf_reset(&r->json);
	if (alert_to_json(&a, &r->json) == 0)
		fprintf(r->out, "%s\n", r->json.data);
}

static void
replay_usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl replay [--rules PATH] [--placeholders FILE] [--no-builtin]\n"
	    "                         [--agent ID] [--tz-offset SECONDS] FILE...\n"
	    "\n"
	    "Runs the collector's decoders and detection over log files (- for stdin)\n"
	    "and prints every alert as one JSON line. Timestamps without a year or zone\n"
	    "are read as the collector would: year from the file's modification time,\n"
	    "zone from --tz-offset (default: this machine's).\n"
	    "\n"
	    "  -r, --rules PATH         Sigma rules (file or folder)\n"
	    "  -p, --placeholders FILE  values for |expand placeholders\n"
	    "  -B, --no-builtin         without the built-in SSH brute-force detector\n"
	    "  -a, --agent ID           agent id put in the alerts (default replay)\n"
	    "  -z, --tz-offset SECONDS  the logs' UTC offset\n"
	    "\n"
	    "Exit status: 0 when every file was read, 1 on usage errors or rejected\n"
	    "rules, 2 when a file cannot be read.\n");
}

static int
replay_file(const char *path, struct detector *const *dets, size_t ndets, struct decoded *d,
    struct decode_ctx *ctx, const char *agent, struct replay *r, unsigned long *lines)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	struct stat st;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t seq = 0;

	if (f == NULL) {
		fprintf(stderr, "minisocctl replay: %s: cannot open\n", path);
		return -1;
	}
	ctx->recv_ms = (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
	    ? (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 : ms_now_ms();
	while ((n = getline(&buf, &cap, f)) > 0) {
		size_t len = (size_t)n;
		if (len && buf[len - 1] == '\n')
			len--;
		/* The agent ships at most this much of a line. */
		if (len > MS_PROTO_MAX_LINE)
			len = MS_PROTO_MAX_LINE;
		(*lines)++;
		detect_line(dets, ndets, d, ctx, agent, agent, ms_str_make(path, strlen(path)),
		    ms_str_make(buf, len), ++seq, replay_emit_cb, r);
	}
	free(buf);
	if (f != stdin)
		fclose(f);
	return 0;
}

int
ctl_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "placeholders", required_argument, NULL, 'p' },
		{ "no-builtin", no_argument, NULL, 'B' },
		{ "agent", required_argument, NULL, 'a' },
		{ "tz-offset", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules = NULL, *agent = "replay";
	struct sigma_set_opts sopts = { 0, NULL };
	struct detector *dets[2];
	size_t ndets = 0;
	bool builtin = true;
	struct decode_ctx ctx;
	struct decoded *d = NULL;
	struct replay r;
	unsigned long lines = 0;
	time_t now = time(NULL);
	struct tm tm;
	int64_t tz;
	int ch, rc = 0;

	memset(&ctx, 0, sizeof(ctx));
	localtime_r(&now, &tm);
	ctx.tz_offset_s = (int32_t)tm.tm_gmtoff;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:p:Ba:z:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': rules = optarg; break;
		case 'p': sopts.placeholders = optarg; break;
		case 'B': builtin = false; break;
		case 'a': agent = optarg; break;
		case 'z':
			if (ms_parse_i64(optarg, -14 * 3600, 14 * 3600, &tz) < 0) {
				fprintf(stderr, "minisocctl replay: --tz-offset wants seconds\n");
				return 1;
			}
			ctx.tz_offset_s = (int32_t)tz;
			break;
		case 'h': replay_usage(stdout); return 0;
		default: replay_usage(stderr); return 1;
		}
	}
	if (optind >= argc) {
		replay_usage(stderr);
		return 1;
	}
	memset(&r, 0, sizeof(r));
	r.out = stdout;
	ms_buf_init(&r.json, 1 << 20);
	if (builtin) {
		struct bruteforce_conf bfc;
		bruteforce_conf_defaults(&bfc);
		if ((dets[ndets] = detect_bruteforce_new(&bfc)) == NULL)
			goto nomem;
		ndets++;
	}
	if (rules) {
		struct sigma_report rep;
		char err[512];
		struct sigma_set *set;

		sigma_report_init(&rep);
		set = sigma_set_load(rules, &sopts, &rep, err, sizeof(err));
		if (set == NULL) {
			fprintf(stderr, "minisocctl replay: %s\n", err);
			sigma_report_fini(&rep);
			rc = 1;
			goto out;
		}
		if (rep.rejected) {
			fprintf(stderr, "%s", rep.text.data ? rep.text.data : "");
			fprintf(stderr, "minisocctl replay: %zu rejected rule documents\n", rep.rejected);
			rc = 1;
		}
		sigma_report_fini(&rep);
		if ((dets[ndets] = sigma_detector_new(set)) == NULL)
			goto nomem;
		ndets++;
	}
	if ((d = malloc(sizeof(*d))) == NULL ||
	    (ctx.auditd = decode_auditd_cache_new()) == NULL)
		goto nomem;
	ctx.agent_id = agent;
	for (int i = optind; i < argc; i++)
		if (replay_file(argv[i], dets, ndets, d, &ctx, agent, &r, &lines) < 0)
			rc = 2;
	fprintf(stderr, "minisocctl replay: %lu lines, %u alerts\n", lines, r.alerts);
	goto out;
nomem:
	fprintf(stderr, "minisocctl replay: out of memory\n");
	rc = 2;
out:
	for (size_t i = 0; i < ndets; i++)
		detector_free(dets[i]);
	free(d);
	decode_auditd_cache_free(ctx.auditd);
	ms_buf_fini(&r.json);
	return rc;
}
