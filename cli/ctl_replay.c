/*
 * minisocctl replay – the collector's detection (decoders, the built-in
 * detector, Sigma rules and correlations) over log files, offline. Alerts
 * are printed as JSON lines, exactly as the collector would store them,
 * with ids numbered in order so two runs can be compared.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "detect.h"
#include "net.h"
#include "ms_proto.h"
#include "ms_util.h"
#include "sigma_set.h"

struct replay {
	unsigned alerts;
	struct ms_buf json;
	FILE *out;
};

/*
 * Progress on stderr for log files: a file of yesterday's logs can take a
 * while. On a terminal one line rewritten in place (\r); with --progress
 * one line each time (a script or a log); off with --no-progress.
 */
enum { PROGRESS_OFF, PROGRESS_TTY, PROGRESS_LINES };
#define PROGRESS_EVERY_MS 1000

struct replay_progress {
	int mode;
	int64_t next_ms;
	int64_t start_ms;
};

static void
progress_print(const struct replay_progress *p, const char *path, off_t done, off_t size,
    unsigned long lines, unsigned alerts, bool last)
{
	char pct[64] = "";
	int64_t el = ms_mono_ms() - p->start_ms;

	if (size > 0)
		snprintf(pct, sizeof(pct), "%3d %% (%.1f of %.1f MB), ",
		    (int)(done >= size ? 100 : (double)done * 100.0 / (double)size),
		    (double)done / 1e6, (double)size / 1e6);
	/* On a terminal each line overwrites the last (\r, then erased to its end). */
	fprintf(stderr, "%sminisocctl replay: %s: %s%lu lines, %u alerts, %.1f s%s",
	    p->mode == PROGRESS_TTY ? "\r" : "", path, pct, lines, alerts, (double)el / 1000.0,
	    p->mode != PROGRESS_TTY ? "\n" : last ? "\033[K\n" : "\033[K");
}

static void
replay_emit_cb(struct alert *a, void *arg)
{
	struct replay *r = arg;

	r->alerts++;
	snprintf(a->id, sizeof(a->id), "replay-%06u", r->alerts);
	/* Event time, not the wall clock: the same input gives the same output. */
	a->time_ms = a->last_ms;
	ms_buf_reset(&r->json);
	if (alert_to_json(a, &r->json) == 0)
		fprintf(r->out, "%s\n", r->json.data);
}

static void
replay_usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl replay [--rules PATH] [--placeholders FILE] [--no-builtin]\n"
	    "                         [--agent ID] [--tz-offset SECONDS] [--events FILE]\n"
	    "                         [--progress | --no-progress] FILE...\n"
	    "\n"
	    "Runs the collector's decoders and detection over log files (- for stdin)\n"
	    "and prints every alert as one JSON line. Timestamps without a year or zone\n"
	    "are read as the collector would: year from the file's modification time,\n"
	    "zone from --tz-offset (default: this machine's).\n"
	    "\n"
	    "A pcap or pcapng file (recognised by its header) goes through the agent's\n"
	    "packet decoder and flow tracking first; its network events (conn, dns,\n"
	    "ssl, ssh, http, scan: docs/network.md) are what the rules see, with the\n"
	    "packets' own timestamps as event time.\n"
	    "\n"
	    "  -r, --rules PATH         Sigma rules (file or folder)\n"
	    "  -p, --placeholders FILE  values for |expand placeholders\n"
	    "  -B, --no-builtin         without the built-in SSH brute-force detector\n"
	    "  -a, --agent ID           agent id put in the alerts (default replay)\n"
	    "  -z, --tz-offset SECONDS  the logs' UTC offset\n"
	    "  -e, --events FILE        also write the network events of pcap files there\n"
	    "                           (- for stdout, before the alerts they raise)\n"
	    "  -P, --progress           a progress line on stderr every second and at the\n"
	    "                           end of each log file (share of the file, lines,\n"
	    "                           alerts); on a terminal one line kept up to date\n"
	    "                           is the default\n"
	    "      --no-progress        none, even on a terminal\n"
	    "\n"
	    "Exit status: 0 when every file was read, 1 on usage errors or rejected\n"
	    "rules, 2 when a file cannot be read or the output (or --events) written.\n");
}

/* A pcap or pcapng file, by its first four bytes (either byte order). */
static bool
replay_is_pcap(const char *path)
{
	unsigned char m[4];
	FILE *f;
	size_t got;

	if (strcmp(path, "-") == 0 || (f = fopen(path, "rb")) == NULL)
		return false;
	got = fread(m, 1, 4, f);
	fclose(f);
	if (got != 4)
		return false;
	return (m[0] == 0xd4 && m[1] == 0xc3 && m[2] == 0xb2 && m[3] == 0xa1) ||
	    (m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0xc3 && m[3] == 0xd4) ||
	    (m[0] == 0x4d && m[1] == 0x3c && m[2] == 0xb2 && m[3] == 0xa1) ||
	    (m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0x3c && m[3] == 0x4d) ||
	    (m[0] == 0x0a && m[1] == 0x0d && m[2] == 0x0d && m[3] == 0x0a);
}

/* What the network events of one capture go through (see replay_pcap). */
struct replay_net {
	struct detector *const *dets;
	size_t ndets;
	struct decoded *d;
	struct decode_ctx *ctx;
	const char *agent;
	struct ms_str src;
	struct replay *r;
	uint64_t seq;
	FILE *events;	/* --events: every event line too */
	unsigned long *lines;
};

static void
replay_net_cb(const char *line, size_t len, int64_t ts_us, void *arg)
{
	struct replay_net *rn = arg;

	rn->ctx->recv_ms = ts_us / 1000;
	(*rn->lines)++;
	if (rn->events)
		fprintf(rn->events, "%.*s\n", (int)len, line);
	detect_line(rn->dets, rn->ndets, rn->d, rn->ctx, rn->agent, rn->agent, rn->src,
	    ms_str_make(line, len), ++rn->seq, replay_emit_cb, rn->r);
}

/*
 * A capture through the agent's packet decoder and flow tracking (the same
 * library, agent/net), its events through the collector's detection.
 */
static int
replay_pcap(const char *path, struct detector *const *dets, size_t ndets, struct decoded *d,
    struct decode_ctx *ctx, const char *agent, struct replay *r, unsigned long *lines,
    FILE *events)
{
	char err[512], src[4200];
	struct replay_net rn;
	struct net *n;
	const struct net_stats *st;
	int rc;

	snprintf(src, sizeof(src), "pcap:%s", path);
	memset(&rn, 0, sizeof(rn));
	rn.dets = dets;
	rn.ndets = ndets;
	rn.d = d;
	rn.ctx = ctx;
	rn.agent = agent;
	rn.src = ms_str_make(src, strlen(src));
	rn.r = r;
	rn.events = events;
	rn.lines = lines;
	if ((n = net_new(NULL, replay_net_cb, &rn)) == NULL) {
		fprintf(stderr, "minisocctl replay: out of memory\n");
		return -1;
	}
	rc = net_pcap_file(n, path, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "minisocctl replay: %s\n", err);
	net_flush(n);
	st = net_get_stats(n);
	fprintf(stderr, "minisocctl replay: %s: packets=%llu decoded=%llu truncated=%llu "
	    "malformed=%llu not_ip=%llu fragments=%llu flows=%llu flows_evicted=%llu "
	    "attempts_suppressed=%llu app_suppressed=%llu events=%llu\n", path,
	    (unsigned long long)st->packets, (unsigned long long)st->err[NET_OK],
	    (unsigned long long)st->err[NET_ERR_TRUNCATED],
	    (unsigned long long)st->err[NET_ERR_MALFORMED],
	    (unsigned long long)st->err[NET_ERR_NOT_IP], (unsigned long long)st->fragments,
	    (unsigned long long)st->flows, (unsigned long long)st->flows_evicted,
	    (unsigned long long)st->attempts_suppressed, (unsigned long long)st->app_suppressed,
	    (unsigned long long)st->events);
	net_free(n);
	return rc;
}

static int
replay_file(const char *path, struct detector *const *dets, size_t ndets, struct decoded *d,
    struct decode_ctx *ctx, const char *agent, struct replay *r, unsigned long *lines,
    struct replay_progress *pg)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	struct stat st;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t seq = 0;
	unsigned long flines = 0;
	off_t size = 0;
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "minisocctl replay: %s: cannot open\n", path);
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
		ctx->recv_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		size = st.st_size;
	} else {
		ctx->recv_ms = ms_now_ms();
	}
	pg->start_ms = ms_mono_ms();
	pg->next_ms = pg->start_ms + PROGRESS_EVERY_MS;
	while ((n = getline(&buf, &cap, f)) > 0) {
		size_t len = (size_t)n;

		/* The clock read once every 4,096 lines: about a millisecond apart. */
		if (++flines % 4096 == 0 && pg->mode != PROGRESS_OFF &&
		    ms_mono_ms() >= pg->next_ms) {
			progress_print(pg, path, ftello(f), size, flines, r->alerts, false);
			pg->next_ms = ms_mono_ms() + PROGRESS_EVERY_MS;
		}
		if (len && buf[len - 1] == '\n')
			len--;
		/* The agent ships at most this much of a line. */
		if (len > MS_PROTO_MAX_LINE)
			len = MS_PROTO_MAX_LINE;
		(*lines)++;
		detect_line(dets, ndets, d, ctx, agent, agent, ms_str_make(path, strlen(path)),
		    ms_str_make(buf, len), ++seq, replay_emit_cb, r);
	}
	/* A read error (a folder opens, then reads EISDIR) is no file read to its end. */
	if (ferror(f)) {
		fprintf(stderr, "minisocctl replay: %s: cannot read: %s\n", path, strerror(errno));
		rc = -1;
	} else if (pg->mode != PROGRESS_OFF) {
		progress_print(pg, path, ftello(f), size, flines, r->alerts, true);
	}
	free(buf);
	if (f != stdin)
		fclose(f);
	return rc;
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
		{ "events", required_argument, NULL, 'e' },
		{ "progress", no_argument, NULL, 'P' },
		{ "no-progress", no_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules = NULL, *agent = "replay", *events_path = NULL;
	FILE *events = NULL;
	struct sigma_set_opts sopts = { 0, NULL, 0 };
	struct detector *dets[2];
	size_t ndets = 0;
	bool builtin = true;
	struct decode_ctx ctx;
	struct decoded *d = NULL;
	struct replay r;
	struct replay_progress pg = { isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_OFF, 0, 0 };
	unsigned long lines = 0;
	time_t now = time(NULL);
	struct tm tm;
	int64_t tz;
	int ch, rc = 0;

	memset(&ctx, 0, sizeof(ctx));
	localtime_r(&now, &tm);
	ctx.tz_offset_s = (int32_t)tm.tm_gmtoff;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:p:Ba:z:e:Ph", opts, NULL)) != -1) {
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
		case 'e': events_path = optarg; break;
		case 'P': pg.mode = PROGRESS_LINES; break;
		case 'Q': pg.mode = PROGRESS_OFF; break;
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
	if (events_path != NULL) {
		events = strcmp(events_path, "-") == 0 ? stdout : fopen(events_path, "w");
		if (events == NULL) {
			fprintf(stderr, "minisocctl replay: %s: cannot write\n", events_path);
			rc = 2;
			goto out;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (replay_is_pcap(argv[i])) {
			if (replay_pcap(argv[i], dets, ndets, d, &ctx, agent, &r, &lines, events) < 0)
				rc = 2;
		} else if (replay_file(argv[i], dets, ndets, d, &ctx, agent, &r, &lines, &pg) < 0) {
			rc = 2;
		}
	}
	fprintf(stderr, "minisocctl replay: %lu lines, %u alerts\n", lines, r.alerts);
	/* Events lost to a full disk are no complete --events file. */
	if (events != NULL && events != stdout) {
		bool bad = ferror(events) != 0;

		if (fclose(events) != 0 || bad) {
			fprintf(stderr, "minisocctl replay: %s: cannot write\n", events_path);
			rc = 2;
		}
		events = NULL;
	}
	goto out;
nomem:
	fprintf(stderr, "minisocctl replay: out of memory\n");
	rc = 2;
out:
	if (events != NULL && events != stdout)
		fclose(events);
	for (size_t i = 0; i < ndets; i++)
		detector_free(dets[i]);
	free(d);
	decode_auditd_cache_free(ctx.auditd);
	ms_buf_fini(&r.json);
	return rc;
}
