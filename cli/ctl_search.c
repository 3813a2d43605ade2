/*
 * minisocctl search – finds events in the collector's archive (archive.h)
 * by time range, system, agent, text and decoded fields. Lines are decoded
 * again with the collector's own decoders, so a field filter uses the same
 * names as the rules (User, c-ip, CommandLine ...).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "ctl.h"
#include "decode.h"
#include "ms_buf.h"
#include "ms_compliance.h"
#include "ms_json.h"
#include "ms_register.h"
#include "ms_util.h"

#define SEARCH_MAX_WHERE 16
#define SEARCH_MAX_SYSTEMS 128

struct where {
	const char *field;
	const char *pattern;
};

struct search {
	int64_t from_ms, to_ms;	/* [from, to) */
	const char *agent;
	const char *text;
	struct where where[SEARCH_MAX_WHERE];
	size_t nwhere;
	uint64_t limit;		/* 0: no limit */
	bool json;
	bool count_only;
	const char *system;	/* of the file being read */
	struct decoded *d;
	struct ms_buf out;
	uint64_t records, matched, bad, torn, unreadable, unprinted;
};

static void
search_usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl search -A DIR [--system ID]... [--from TIME] [--to TIME]\n"
	    "                         [--agent ID] [--text STRING] [--where FIELD=PATTERN]...\n"
	    "                         [--limit N] [--count] [--json]\n"
	    "\n"
	    "Finds events in the collector's archive (archive.path in its config).\n"
	    "Files are read by system, then day; within a day in arrival order.\n"
	    "\n"
	    "  -A, --archive DIR        the archive folder\n"
	    "  -s, --system ID          only this information system (repeatable)\n"
	    "  -f, --from TIME          events at or after TIME (default: 24 hours ago)\n"
	    "  -t, --to TIME            events before TIME (default: now)\n"
	    "  -a, --agent ID           only events of this agent\n"
	    "  -x, --text STRING        the raw line contains STRING (any case)\n"
	    "  -w, --where FIELD=PAT    a decoded field matches PAT (any case; * and ?\n"
	    "                           wildcards); also host, program, source, agent\n"
	    "  -n, --limit N            stop after N events\n"
	    "  -c, --count              print only the number of matching events\n"
	    "  -j, --json               one JSON object per event, with its decoded fields\n"
	    "\n"
	    "TIME: 2026-11-25, 2026-11-25T08:30[:00][Z|+07:00] (local time without a\n"
	    "zone), now, or relative: -30m, -12h, -7d (30m, 12h, 7d: the same).\n"
	    "\n"
	    "Exit status: 0 when events matched, 1 when none did, 2 on usage errors,\n"
	    "when the archive or one of its files cannot be read whole (what could be\n"
	    "read is printed all the same: a damaged frame is skipped, the frames after\n"
	    "it are searched), an event was too large to print, or the output could not\n"
	    "be written (all said on stderr).\n"
	    "An unfinished file end (a file the collector is writing, or one a machine\n"
	    "crash left) is noted on stderr and does not fail the search.\n");
}

/* TIME as described in the usage; -1 when it is none of those. */
static int64_t
parse_time(const char *s, int64_t now)
{
	struct tm tm;
	char *end;
	long v;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, used;

	if (strcmp(s, "now") == 0)
		return now;
	/* An age, "-30m"; "30m" as alerts --since takes it is the same. */
	v = strtol(s + (s[0] == '-'), &end, 10);
	if (s[0] == '-' || (end != s && *end != '\0' && end[1] == '\0' && strchr("smhd", *end))) {
		int64_t unit;

		if (end == s + (s[0] == '-') || v < 0 || *end == '\0' || end[1] != '\0')
			return -1;
		switch (*end) {
		case 's': unit = 1000; break;
		case 'm': unit = 60000; break;
		case 'h': unit = 3600000; break;
		case 'd': unit = 86400000; break;
		default: return -1;
		}
		/* Before 1970 (or beyond int64 ms): no archive time; never an overflow. */
		if (v > now / unit)
			return -1;
		return now - v * unit;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
		return -1;
	{
		char date[11];
		int64_t day;

		/* A day that does not exist (2026-11-31) is a typo, not the next month's first. */
		memcpy(date, s, 10);
		date[10] = '\0';
		if (ms_date_parse(date, &day) < 0)
			return -1;
	}
	s += used;
	if (*s == 'T' || *s == ' ') {
		if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		s += 1 + n;
		if (*s == ':') {
			if (sscanf(s + 1, "%2d%n", &sec, &n) != 1)
				return -1;
			s += 1 + n;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (*s == '\0') {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = sec;
		tm.tm_isdst = -1;
		return (int64_t)mktime(&tm) * 1000;
	}
	{
		int64_t t = (ms_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000;
		int oh, om;

		if (strcmp(s, "Z") == 0)
			return t;
		if ((s[0] == '+' || s[0] == '-') && sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) == 2 &&
		    s[1 + n] == '\0')
			return t - (s[0] == '+' ? 1 : -1) * (oh * 3600 + om * 60) * 1000LL;
	}
	return -1;
}

/* Case-insensitive glob: * any run, ? one byte. */
static bool
glob_match(const char *pat, const char *s, size_t len)
{
	size_t i = 0, star_p = (size_t)-1, star_i = 0, p = 0;

	while (i < len) {
		if (pat[p] == '*') {
			star_p = ++p;
			star_i = i;
		} else if (pat[p] && (pat[p] == '?' ||
		    (unsigned char)(pat[p] | 0x20) == (unsigned char)(s[i] | 0x20) ||
		    pat[p] == s[i])) {
			p++;
			i++;
		} else if (star_p != (size_t)-1) {
			p = star_p;
			i = ++star_i;
		} else {
			return false;
		}
	}
	while (pat[p] == '*')
		p++;
	return pat[p] == '\0';
}

static bool
contains_nocase(struct ms_str hay, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return true;
	for (size_t i = 0; i + n <= hay.len; i++)
		if (strncasecmp(hay.p + i, needle, n) == 0)
			return true;
	return false;
}

static struct ms_str
pseudo_field(const struct search *q, const struct archive_record *r, const char *name)
{
	if (strcmp(name, "host") == 0)
		return q->d->host;
	if (strcmp(name, "program") == 0 || strcmp(name, "app") == 0)
		return q->d->app;
	if (strcmp(name, "source") == 0)
		return r->source;
	if (strcmp(name, "agent") == 0)
		return r->agent;
	{
		const struct ms_str *v = decode_field_get(q->d, name);
		return v ? *v : MS_STR_NULL;
	}
}

/*
 * Writes v for a terminal: a line comes from whatever an agent sent, and a
 * newline in it would forge a result line, an escape sequence move the
 * cursor or retitle the window, a NUL hide what follows. Control bytes
 * (C0, DEL, and C1 controls as UTF-8, U+0080..U+009F: CSI is one) are
 * shown as \xHH; --json has the exact bytes.
 */
static void
put_term(struct ms_str v)
{
	size_t i = 0, start = 0;

	while (i < v.len) {
		unsigned char c = (unsigned char)v.p[i];
		size_t n = c < 0x20 && c != '\t' ? 1 : c == 0x7f ? 1 :
		    c == 0xc2 && i + 1 < v.len && (unsigned char)v.p[i + 1] >= 0x80 &&
		    (unsigned char)v.p[i + 1] <= 0x9f ? 2 : 0;

		if (n == 0) {
			i++;
			continue;
		}
		fwrite(v.p + start, 1, i - start, stdout);
		for (size_t k = 0; k < n; k++)
			printf("\\x%02x", (unsigned char)v.p[i + k]);
		i += n;
		start = i;
	}
	fwrite(v.p + start, 1, v.len - start, stdout);
}

static void
print_record(struct search *q, const struct archive_record *r)
{
	char t[32];

	ms_fmt_time(t, sizeof(t), r->time_ms);
	if (!q->json) {
		printf("%s %s ", t, q->system);
		put_term(r->agent);
		putchar(' ');
		put_term(r->source);
		fputs(" | ", stdout);
		put_term(r->line);
		putchar('\n');
		return;
	}
	{
		struct ms_json j;

		ms_buf_reset(&q->out);
		ms_json_init(&j, &q->out);
		ms_json_obj_open(&j);
		ms_json_key(&j, "time");
		ms_json_str(&j, t);
		ms_json_key(&j, "system");
		ms_json_str(&j, q->system);
		ms_json_key(&j, "agent");
		ms_json_strn(&j, r->agent.p, r->agent.len);
		ms_json_key(&j, "seq");
		ms_json_int(&j, (int64_t)r->seq);
		ms_json_key(&j, "source");
		ms_json_strn(&j, r->source.p, r->source.len);
		ms_json_key(&j, "line");
		ms_json_strn(&j, r->line.p, r->line.len);
		if (q->d->nfields) {
			ms_json_key(&j, "fields");
			ms_json_obj_open(&j);
			for (unsigned i = 0; i < q->d->nfields && i < DECODE_MAX_FIELDS; i++) {
				bool dup = false;
				for (unsigned k = 0; k < i && !dup; k++)
					dup = strcmp(q->d->fields[k].name, q->d->fields[i].name) == 0;
				if (dup)
					continue;
				ms_json_key(&j, q->d->fields[i].name);
				ms_json_strn(&j, q->d->fields[i].value.p, q->d->fields[i].value.len);
			}
			ms_json_obj_close(&j);
		}
		ms_json_obj_close(&j);
		if (ms_json_finish(&j) == 0) {
			printf("%s\n", q->out.data);
		} else {
			/* Never counted and left out without a word. */
			q->unprinted++;
			fprintf(stderr, "minisocctl search: %s agent %.*s seq %llu: too large for "
			    "--json, not printed\n", t, (int)r->agent.len, r->agent.p,
			    (unsigned long long)r->seq);
		}
	}
}

static int
search_record(const struct archive_record *r, void *arg)
{
	struct search *q = arg;
	bool decoded = false;

	q->records++;
	if (r->time_ms < q->from_ms || r->time_ms >= q->to_ms)
		return 0;
	if (q->agent && !ms_str_eq(r->agent, q->agent))
		return 0;
	if (q->text && !contains_nocase(r->line, q->text))
		return 0;
	if (q->nwhere || q->json) {
		struct decode_ctx ctx = { .recv_ms = r->time_ms };
		decode_line(r->line.p, r->line.len, &ctx, q->d);
		decoded = true;
	}
	for (size_t i = 0; i < q->nwhere; i++) {
		struct ms_str v = pseudo_field(q, r, q->where[i].field);
		if (v.p == NULL || !glob_match(q->where[i].pattern, v.p, v.len))
			return 0;
	}
	(void)decoded;
	q->matched++;
	if (!q->count_only)
		print_record(q, r);
	return q->limit && q->matched >= q->limit;
}

struct dayfile {
	char name[300];
	int64_t day;
	long run;
};

static int
dayfile_cmp(const void *a, const void *b)
{
	const struct dayfile *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->run < y->run ? -1 : x->run > y->run;
}

/* Reads the day files of one system folder in [from, to]. 0, 1 (stopped: limit) or -1. */
static int
search_system(struct search *q, const char *dir, const char *system)
{
	char path[8192];
	struct dayfile *files = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;
	/* A file's day is local; a day either side covers any zone. */
	int64_t lo = q->from_ms / 86400000 - 1, hi = q->to_ms / 86400000 + 1;

	snprintf(path, sizeof(path), "%s/%s", dir, system);
	if ((d = opendir(path)) == NULL) {
		/* No folder: nothing archived for it (yet) – or a mistyped id; said either way. */
		if (errno == ENOENT && access(dir, R_OK | X_OK) == 0) {
			fprintf(stderr, "minisocctl search: note: no events archived for system %s "
			    "(no folder %s)\n", system, path);
			return 0;
		}
		fprintf(stderr, "minisocctl search: %s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		int64_t day = -1;
		size_t len = strlen(de->d_name);
		char *end;

		if (ms_archive_day(de->d_name, &day) < 0 || day < lo || day > hi || len < 15 || strcmp(de->d_name + len - 4, ".zst") != 0 ||
		    len >= sizeof(files->name))
			continue;
		if (n == cap) {
			struct dayfile *p = realloc(files, (cap = cap ? 2 * cap : 64) * sizeof(*p));
			if (p == NULL) {
				rc = -1;
				goto out;
			}
			files = p;
		}
		memcpy(files[n].name, de->d_name, len + 1);
		files[n].day = day;
		files[n].run = strtol(de->d_name + 11, &end, 10);
		n++;
	}
	if (n > 1)
		qsort(files, n, sizeof(*files), dayfile_cmp);
	q->system = system;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char err[512];
		int r;

		snprintf(path, sizeof(path), "%s/%s/%s", dir, system, files[i].name);
		r = archive_read_file(path, search_record, q, &q->bad, err, sizeof(err));
		if (r == 2) {
			rc = 1;
		} else if (r == 1) {
			q->torn++;
			fprintf(stderr, "minisocctl search: note: %s\n", err);
		} else if (r == 3) {
			/* The other frames were searched; the damaged ones' events are missing. */
			q->unreadable++;
			fprintf(stderr, "minisocctl search: %s\n", err);
		} else if (r < 0) {
			q->unreadable++;
			fprintf(stderr, "minisocctl search: %s\n", err);
		}
	}
out:
	closedir(d);
	free(files);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ctl_search(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "archive", required_argument, NULL, 'A' },
		{ "system", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "agent", required_argument, NULL, 'a' },
		{ "text", required_argument, NULL, 'x' },
		{ "where", required_argument, NULL, 'w' },
		{ "limit", required_argument, NULL, 'n' },
		{ "count", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct search q;
	const char *dir = NULL, *from = NULL, *to = NULL;
	char *given[SEARCH_MAX_SYSTEMS], **systems = given;
	size_t nsys = 0, cap = 0;
	bool all_systems = false;
	int64_t now = ms_now_ms(), lim;
	int ch, rc = 2;
	DIR *d = NULL;

	memset(&q, 0, sizeof(q));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "A:s:f:t:a:x:w:n:cjh", opts, NULL)) != -1) {
		switch (ch) {
		case 'A': dir = optarg; break;
		case 's':
			if (nsys == SEARCH_MAX_SYSTEMS || !archive_system_ok(optarg)) {
				fprintf(stderr, "minisocctl search: bad or too many --system: %s\n", optarg);
				return 2;
			}
			given[nsys++] = optarg;
			break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'a': q.agent = optarg; break;
		case 'x': q.text = optarg; break;
		case 'w': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg || q.nwhere == SEARCH_MAX_WHERE) {
				fprintf(stderr, "minisocctl search: --where wants FIELD=PATTERN\n");
				return 2;
			}
			*eq = '\0';
			q.where[q.nwhere].field = optarg;
			q.where[q.nwhere++].pattern = eq + 1;
			break;
		}
		case 'n':
			if (ms_parse_i64(optarg, 1, INT64_MAX, &lim) < 0) {
				fprintf(stderr, "minisocctl search: bad --limit %s\n", optarg);
				return 2;
			}
			q.limit = (uint64_t)lim;
			break;
		case 'c': q.count_only = true; break;
		case 'j': q.json = true; break;
		case 'h': search_usage(stdout); return 0;
		default: search_usage(stderr); return 2;
		}
	}
	if (dir == NULL || optind != argc) {
		search_usage(stderr);
		return 2;
	}
	q.from_ms = from ? parse_time(from, now) : now - 86400000LL;
	q.to_ms = to ? parse_time(to, now) : now + 1;
	if (q.from_ms < 0 || q.to_ms < 0) {
		fprintf(stderr, "minisocctl search: bad time %s\n",
		    q.from_ms < 0 ? from : to);
		return 2;
	}
	if ((q.d = malloc(sizeof(*q.d))) == NULL)
		return 2;
	/*
	 * One event's JSON: its line and decoded fields (the web decoder
	 * holds the URI three times), each control byte six bytes as \u00XX:
	 * a 64 KiB line of them takes over 1.5 MiB. Far more than any
	 * agent's event; a bigger one is reported, not dropped.
	 */
	ms_buf_init(&q.out, 64u << 20);
	all_systems = nsys == 0;
	if (all_systems) {
		struct dirent *de;
		if ((d = opendir(dir)) == NULL) {
			fprintf(stderr, "minisocctl search: %s: cannot read the archive\n", dir);
			goto out;
		}
		/*
		 * Every folder (a register holds any number of systems); copies:
		 * readdir may reuse its buffer. A folder left out would be a
		 * search that silently misses events.
		 */
		systems = NULL;
		while ((de = readdir(d)) != NULL) {
			if (!archive_system_ok(de->d_name) || de->d_type == DT_REG)
				continue;
			if (nsys == cap) {
				char **p = realloc(systems, (cap = cap ? 2 * cap : 64) * sizeof(*p));
				if (p == NULL)
					goto nomem;
				systems = p;
			}
			if ((systems[nsys] = strdup(de->d_name)) == NULL)
				goto nomem;
			nsys++;
		}
		if (nsys > 1)
			qsort(systems, nsys, sizeof(systems[0]), name_cmp);
	}
	rc = 0;
	for (size_t i = 0; i < nsys; i++) {
		int r = search_system(&q, dir, systems[i]);
		if (r < 0)
			rc = 2;
		if (r == 1)
			break;
	}
	if (q.count_only)
		printf("%llu\n", (unsigned long long)q.matched);
	fprintf(stderr, "minisocctl search: %llu of %llu events matched in %zu system(s)%s%s%s\n",
	    (unsigned long long)q.matched, (unsigned long long)q.records, nsys,
	    q.torn ? "; some files end unfinished (see above)" : "",
	    q.bad ? "; malformed records skipped" : "",
	    q.unreadable ? "; some files could not be read whole (see above)" : "");
	/*
	 * A file that could not be read (damaged, no permission) may hold
	 * matching events: "nothing matched" (1) or a complete result (0)
	 * would be a false answer.
	 */
	if (q.unprinted || q.unreadable)
		rc = 2;
	else if (rc == 0 && q.matched == 0)
		rc = 1;
	goto out;
nomem:
	fprintf(stderr, "minisocctl search: out of memory\n");
	rc = 2;
out:
	if (d)
		closedir(d);
	for (size_t i = 0; all_systems && i < nsys; i++)
		free(systems[i]);
	if (all_systems)
		free(systems);
	free(q.d);
	ms_buf_fini(&q.out);
	return rc;
}
