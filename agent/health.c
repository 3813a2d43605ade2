/*
 * health – the agent's health telemetry, sent to the collector in HEALTH
 * frames (docs/protocol.md): who this host is, whether its clock is
 * synchronised, how far reading is behind on each followed file, what
 * waits for acknowledgement, the counters, whether the configured
 * anti-malware runs, and free space where the spool and the logs live.
 *
 * Collected on the loop when a report is due (every uplink.health_ms):
 * a few small reads of /proc, one adjtimex, two statvfs and, only when
 * health.antimalware names processes, one bounded walk of /proc.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"
#include "spool.h"
#include "ms_proto.h"
#include "ms_util.h"

/* Processes looked at in one anti-malware scan, at most. */
#define HEALTH_MAX_PROCS 65536

/* A report being built: the pairs point into arena. */
struct health_report {
	struct ms_kv kv[MS_HEALTH_MAX_ITEMS];
	size_t n;
	char *arena;		/* keys and values, NUL-terminated */
	size_t used;
	size_t cap;
	size_t wire;		/* payload bytes the pairs take */
	size_t budget;		/* payload bytes allowed */
	size_t reserve;		/* bytes kept back for pairs still to come */
	struct tail_file_info files[AGENT_MAX_FILES];
};

/*
 * Adds key = printf(fmt, ...) to r. The value has its control bytes
 * replaced and is cut at MS_HEALTH_MAX_VALUE bytes (on a UTF-8 character
 * boundary). Returns 0, or -1 when the report is full (nothing added).
 */
__attribute__((format(printf, 3, 4)))
static int
report_add(struct health_report *r, const char *key, const char *fmt, ...)
{
	/* One byte more than a value may have: where a cut falls is visible. */
	char v[MS_HEALTH_MAX_VALUE + 2];
	size_t kl = strlen(key), vl;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (len < 0 || !ms_health_key_ok(key, kl))
		return -1;
	vl = strlen(v);
	if (vl > MS_HEALTH_MAX_VALUE) {
		/* Cut before the character that v[MAX] belongs to, not inside it. */
		vl = MS_HEALTH_MAX_VALUE;
		while (vl > 0 && ((unsigned char)v[vl] & 0xc0) == 0x80)
			vl--;
		v[vl] = '\0';
	}
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			v[i] = '?';
	if (r->n >= MS_HEALTH_MAX_ITEMS ||
	    r->wire + r->reserve + ms_health_item_size(kl, vl) > r->budget ||
	    r->used + kl + vl + 2 > r->cap)
		return -1;
	r->kv[r->n].key = memcpy(r->arena + r->used, key, kl + 1);
	r->kv[r->n].key_len = kl;
	r->used += kl + 1;
	r->kv[r->n].value = memcpy(r->arena + r->used, v, vl + 1);
	r->kv[r->n].value_len = vl;
	r->used += vl + 1;
	r->wire += ms_health_item_size(kl, vl);
	r->n++;
	return 0;
}

static int
report_u64(struct health_report *r, const char *key, uint64_t v)
{
	return report_add(r, key, "%" PRIu64, v);
}

/* Reads the first line of a small file into buf; 0 or -1. */
static int
read_line(const char *path, char *buf, size_t bufsz)
{
	FILE *f = fopen(path, "re");
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fgets(buf, (int)bufsz, f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* Seconds since boot (/proc/uptime), or -1. */
static double
host_uptime_s(void)
{
	char buf[128], *end = NULL;
	double v;

	if (read_line("/proc/uptime", buf, sizeof(buf)) < 0)
		return -1;
	v = strtod(buf, &end);
	return end == buf || v < 0 ? -1 : v;
}

/*
 * Seconds since this process started: boot-relative start time from
 * /proc/self/stat (field 22, clock ticks), so nothing has to be
 * remembered at start. -1 when unknown.
 */
static double
agent_uptime_s(double host_uptime)
{
	char buf[1024], *p, *end;
	unsigned long long start;
	long ticks = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	if (host_uptime < 0 || ticks <= 0 || (f = fopen("/proc/self/stat", "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and ')': fields start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	for (int field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		p += strcspn(p, " ");
	}
	start = strtoull(p, &end, 10);
	if (end == p)
		return -1;
	return host_uptime - (double)start / (double)ticks;
}

static void
report_clock(struct health_report *r)
{
	struct timex tx;
	int rc;

	memset(&tx, 0, sizeof(tx));	/* modes 0: read only, no privilege needed */
	rc = adjtimex(&tx);
	report_add(r, "clock.synced", "%d",
	    rc != -1 && rc != TIME_ERROR && (tx.status & STA_UNSYNC) == 0);
	if (rc == -1)
		return;
	report_add(r, "clock.esterror_us", "%ld", (long)tx.esterror);
	report_add(r, "clock.maxerror_us", "%ld", (long)tx.maxerror);
}

void
health_antimalware_key(char *out, size_t outsz, const char *name)
{
	size_t n;

	snprintf(out, outsz, "antimalware.%s", name);
	n = strlen(out);
	for (size_t i = strlen("antimalware."); i < n; i++) {
		unsigned char ch = (unsigned char)tolower((unsigned char)out[i]);
		out[i] = (char)((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ?
		    ch : '_');
	}
}

/*
 * Which configured process names run now: one walk of /proc, reading each
 * process's comm, stopping when all were found or after HEALTH_MAX_PROCS.
 */
static void
report_antimalware(struct health_report *r, const struct agent_conf *c)
{
	bool found[AGENT_MAX_ANTIMALWARE] = { false };
	size_t nfound = 0, seen = 0;
	/* With hidepid, other users' processes are invisible: "missing" would lie. */
	bool can_see = access("/proc/1/comm", R_OK) == 0;
	struct dirent *de;
	DIR *d;

	if (c->nantimalware == 0)
		return;
	if ((d = opendir("/proc")) != NULL) {
		while (nfound < c->nantimalware && seen < HEALTH_MAX_PROCS &&
		    (de = readdir(d)) != NULL) {
			char path[64], comm[32];

			if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
			    strspn(de->d_name, "0123456789") != strlen(de->d_name))
				continue;
			seen++;
			snprintf(path, sizeof(path), "/proc/%.20s/comm", de->d_name);
			if (read_line(path, comm, sizeof(comm)) < 0)
				continue;	/* gone meanwhile, or hidden */
			for (size_t i = 0; i < c->nantimalware; i++) {
				if (!found[i] && strcmp(comm, c->antimalware[i]) == 0) {
					found[i] = true;
					nfound++;
				}
			}
		}
		closedir(d);
	}
	for (size_t i = 0; i < c->nantimalware; i++) {
		char key[MS_HEALTH_MAX_KEY + 1];

		health_antimalware_key(key, sizeof(key), c->antimalware[i]);
		report_add(r, key, "%s", found[i] ? "running" : can_see ? "missing" : "unknown");
	}
}

/* Free bytes for unprivileged users on the file system holding dir. */
static void
report_free(struct health_report *r, const char *key, const char *dir)
{
	struct statvfs sv;

	if (dir[0] && statvfs(dir, &sv) == 0)
		report_u64(r, key, (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize);
}

/* The folder of path into out ("." when it has none). */
static void
folder_of(char *out, size_t outsz, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		ms_copy(out, outsz, ".", 1);
	else
		ms_copy(out, outsz, path, slash == path ? 1 : (size_t)(slash - path));
}

static void
report_counters(struct health_report *r, const struct agent_stats *s)
{
	const struct {
		const char *key;
		uint64_t v;
	} c[] = {
		{ "count.lines_read", s->lines_read },
		{ "count.lines_truncated", s->lines_truncated },
		{ "count.lines_unterminated", s->lines_unterminated },
		{ "count.lines_recovered", s->lines_recovered },
		{ "count.events_sent", s->events_sent },
		{ "count.events_acked", s->events_acked },
		{ "count.batches_sent", s->batches_sent },
		{ "count.connects", s->connects },
		{ "count.connect_failures", s->connect_failures },
		{ "count.spool_full", s->spool_full },
		{ "count.spool_errors", s->spool_errors },
		{ "count.failovers", s->failovers },
		{ "count.failbacks", s->failbacks },
		{ "count.rotations", s->rotations },
		{ "count.truncations", s->truncations },
		{ "count.files_limit", s->files_limit },
		{ "count.files_refused", s->files_refused },
		{ "count.nul_bytes_skipped", s->nul_bytes_skipped },
		{ "count.read_errors", s->read_errors },
		{ "count.reserve_failures", s->reserve_failures },
		{ "count.rate_limited", s->rate_limited },
		{ "count.paused_ms", s->paused_ms },
		{ "count.cert_renewals", s->cert_renewals },
		{ "count.cert_renew_failures", s->cert_renew_failures },
		{ "count.send_blocked", s->send_blocked },
	};

	for (size_t i = 0; i < MS_ARRAY_LEN(c); i++)
		report_u64(r, c[i].key, c[i].v);
}

/* The packet capture: kernel and agent drops, failures (docs/network.md). */
static void
report_capture(struct health_report *r, const struct capture *c)
{
	struct capture_stats s;

	capture_get_stats(c, &s);
	report_add(r, "capture.source", "%s", s.source);
	report_u64(r, "capture.running", s.running ? 1 : 0);
	/* What the compliance report's sensor_alive check reads (docs/compliance.md). */
	report_add(r, "capture.state", "%s", s.running ? "running" : "stopped");
	report_u64(r, "capture.packets", s.packets);
	report_u64(r, "capture.events", s.events);
	report_u64(r, "capture.kernel_received", s.kernel_received);
	report_u64(r, "capture.kernel_drops", s.kernel_drops);
	report_u64(r, "capture.if_drops", s.if_drops);
	report_u64(r, "capture.agent_drops", s.agent_drops);
	report_u64(r, "capture.pending", s.pending);
	report_u64(r, "capture.failures", s.failures);
	report_u64(r, "capture.reopens", s.reopens);
	report_u64(r, "capture.decode_errors", s.decode_errors);
	report_u64(r, "capture.fragments", s.fragments);
	report_u64(r, "capture.flows_active", s.flows_active);
	report_u64(r, "capture.flows_evicted", s.flows_evicted);
	report_u64(r, "capture.attempts_suppressed", s.attempts_suppressed);
	report_u64(r, "capture.app_suppressed", s.app_suppressed);
}

/*
 * The followed files, last: when they do not all fit in the report, the
 * first ones are described and files_reported says how many.
 */
static void
report_files(struct health_report *r, size_t nfiles)
{
	size_t done = 0;

	report_u64(r, "files", nfiles);
	/* Room for files_reported, whatever comes before it. */
	r->reserve = ms_health_item_size(strlen("files_reported"), 3);
	for (size_t i = 0; i < nfiles; i++) {
		const struct tail_file_info *f = &r->files[i];
		size_t n = r->n, used = r->used, wire = r->wire;
		char k[3][MS_HEALTH_MAX_KEY + 1];

		snprintf(k[0], sizeof(k[0]), "file.%zu.path", i);
		snprintf(k[1], sizeof(k[1]), "file.%zu.readable", i);
		snprintf(k[2], sizeof(k[2]), "file.%zu.behind_bytes", i);
		if (r->n + 3 >= MS_HEALTH_MAX_ITEMS ||
		    report_add(r, k[0], "%s", f->path) < 0 ||
		    report_add(r, k[1], "%d", f->open ? 1 : 0) < 0 ||
		    report_u64(r, k[2], f->open && f->size > f->offset ? f->size - f->offset : 0) < 0) {
			/* All three or none. */
			r->n = n;
			r->used = used;
			r->wire = wire;
			break;
		}
		done++;
	}
	r->reserve = 0;
	report_u64(r, "files_reported", done);
}

int
health_encode(const struct agent *a, struct ms_buf *out)
{
	struct health_report *r = NULL;
	struct agent_backlog b;
	struct utsname un;
	struct ms_hello facts;
	char dir[4096];
	double up;
	size_t nfiles = 0;
	int64_t now = ms_now_ms();
	int rc = -1;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto fail;
	r->budget = MS_HEALTH_MAX_PAYLOAD;
	if (a->conf.batch_max_bytes > MS_PROTO_HDR_LEN &&
	    a->conf.batch_max_bytes - MS_PROTO_HDR_LEN < r->budget)
		r->budget = a->conf.batch_max_bytes - MS_PROTO_HDR_LEN;
	/* Keys and values take at most the payload, plus two NULs a pair. */
	r->cap = r->budget + 2 * MS_HEALTH_MAX_ITEMS;
	if ((r->arena = malloc(r->cap)) == NULL)
		goto fail;
	if (a->tail)
		nfiles = tail_info(a->tail, r->files, MS_ARRAY_LEN(r->files));

	report_add(r, "time_ms", "%" PRId64, now);
	report_add(r, "hostname", "%s", a->hostname);
	if (uname(&un) == 0) {
		report_add(r, "os", "%s", un.sysname);
		report_add(r, "kernel", "%s", un.release);
		report_add(r, "machine", "%s", un.machine);
	}
	report_add(r, "version", "%s", MINISOC_VERSION);
	memset(&facts, 0, sizeof(facts));
	agent_host_facts(&facts);
	if (facts.boot_id[0])
		report_add(r, "boot_id", "%s", facts.boot_id);
	if ((up = host_uptime_s()) >= 0) {
		double mine = agent_uptime_s(up);

		report_u64(r, "uptime_s", (uint64_t)up);
		if (mine >= 0)
			report_u64(r, "agent_uptime_s", (uint64_t)mine);
	}
	report_clock(r);
	agent_backlog(a, &b);
	report_u64(r, "backlog.events", b.events);
	report_u64(r, "backlog.bytes", b.bytes);
	report_u64(r, "backlog.spool_bytes", b.spool_bytes);
	report_u64(r, "backlog.oldest_age_ms",
	    b.oldest_ms > 0 && now > b.oldest_ms ? (uint64_t)(now - b.oldest_ms) : 0);
	report_counters(r, &a->stats);
	if (a->spool != NULL) {
		struct spool_stats sp;

		/* A failing disk under the spool: failed writes and syncs, bytes that did not check. */
		spool_get_stats(a->spool, &sp);
		report_u64(r, "count.spool_write_errors", sp.write_errors);
		report_u64(r, "count.spool_corrupt_bytes", sp.corrupt_bytes);
	}
	if (a->renew && renew_not_after(a->renew) > 0) {
		char na[40];

		ms_fmt_time(na, sizeof(na), renew_not_after(a->renew) * 1000);
		report_add(r, "cert.not_after", "%s", na);
	}
	if (a->capture)
		report_capture(r, a->capture);
	report_antimalware(r, &a->conf);
	report_free(r, "disk.state_free_bytes", a->conf.state_dir);
	dir[0] = '\0';
	if (nfiles > 0)
		folder_of(dir, sizeof(dir), r->files[0].path);
	else if (a->nfiles > 0)
		folder_of(dir, sizeof(dir), a->files[0].path);
	report_free(r, "disk.log_free_bytes", dir);
	report_files(r, nfiles);

	if (ms_health_encode(out, r->kv, r->n) < 0)
		goto fail;
	rc = 0;
fail:
	if (r)
		free(r->arena);
	free(r);
	return rc;
}
