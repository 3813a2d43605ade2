/*
 * ctl_alerts – `minisocctl alerts`: the operators' view of the alert stream.
 *
 *   list (default)   past alerts, newest N matching the filters, oldest first
 *   --follow         new alerts as they are stored (XREAD), or with --group
 *                    through a consumer group (XREADGROUP, XACK after each
 *                    alert is printed, entries of dead consumers reclaimed
 *                    with XAUTOCLAIM): at-least-once for scripts
 *   ack | assign | close | reopen | show ID
 *                    the alert's handling state, kept in the Redis hash
 *                    minisoc:alert:<id> with who and when, every change also
 *                    appended to the stream minisoc:alerts:actions
 *
 * Alerts are read back as JSON (schema in docs/alerts.md) with the YAML
 * parser (JSON is YAML); a document it cannot read is still printed raw.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "ctl.h"
#include "ms_compliance.h"
#include "ms_json.h"
#include "ms_redis.h"
#include "ms_util.h"
#include "ms_yaml.h"

#define EXIT_USAGE 1
#define EXIT_REDIS 2
#define EXIT_NOT_FOUND 3
#define EXIT_STATE 4		/* the alert's status does not allow the change */

#define ACTIONS_STREAM "minisoc:alerts:actions"
#define STATE_PREFIX "minisoc:alert:"
/* Entries read per round trip while scanning the stream. */
#define SCAN_CHUNK 500

static const char *const levels[] = { "informational", "low", "medium", "high", "critical" };

struct aopts {
	char host[256];
	int64_t port;
	const char *sock;
	const char *stream;
	int64_t count;
	bool count_set;
	bool follow;
	bool json;
	bool color;
	int min_level;			/* 0 = any, else 1 + index in levels */
	const char *rule, *system, *source, *agent, *status;
	int64_t since_ms, until_ms;	/* 0 = open */
	const char *group, *consumer;
	int64_t claim_idle_ms;
	const char *by;
};

/* One stream entry as shown. Strings are borrowed from the reply or the tree. */
struct view {
	const char *sid;		/* stream entry id */
	const char *json;
	struct ms_yaml_node **docs;	/* parsed json, or NULL */
	size_t ndocs;
	const char *id, *ts, *level, *title, *rule_id, *rule_name, *agent, *host, *src;
	const char *system, *system_level;
	const char *count;
	char users[256];
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl alerts [list] [OPTIONS]         past alerts (and --follow new ones)\n"
	    "       minisocctl alerts ack ID... [--by NAME] [--note TEXT]\n"
	    "       minisocctl alerts assign ID... --to USER [--by NAME]\n"
	    "       minisocctl alerts close ID... [--by NAME] [--reason TEXT]\n"
	    "       minisocctl alerts reopen ID... [--by NAME]\n"
	    "       minisocctl alerts show ID [--json]\n"
	    "\n"
	    "Connection:\n"
	    "  -r, --redis HOST:PORT   Redis (default 127.0.0.1:6379)\n"
	    "  -s, --socket PATH       Redis unix socket instead\n"
	    "  -k, --stream NAME       alert stream (default minisoc:alerts)\n"
	    "Listing and following:\n"
	    "  -n, --count N           how many matching alerts to list (default 20; 0 = none)\n"
	    "      --since TIME        stored at or after TIME; --until TIME: at or before\n"
	    "                          (RFC 3339 like 2026-11-25T16:00:00Z, or an age: 90s 30m 12h 7d,\n"
	    "                          also written -30m)\n"
	    "  -f, --follow            then keep printing new alerts as they are stored\n"
	    "      --group NAME        follow through the consumer group NAME (created at the\n"
	    "                          stream's end if missing): each alert is acknowledged (XACK)\n"
	    "                          once printed; with --consumer NAME (default host:pid)\n"
	    "      --claim-idle MS     in a group, take over alerts another consumer was given\n"
	    "                          but did not acknowledge within MS (default 60000)\n"
	    "Filters (all must match):\n"
	    "      --severity LEVEL    at least LEVEL: informational low medium high critical\n"
	    "      --rule RULE         rule id or name\n"
	    "      --system ID         information system id (alerts carry it once the register\n"
	    "                          of information systems is configured)\n"
	    "      --source IP         source.ip\n"
	    "      --agent ID          agent.id\n"
	    "      --status STATUS     new, acknowledged, closed, or open (= not closed)\n"
	    "Output:\n"
	    "  -j, --json              one JSON document per line (the alert, plus \"state\"\n"
	    "                          when it was acknowledged, assigned or closed)\n"
	    "      --color WHEN        auto (default: on a terminal, unless NO_COLOR is set),\n"
	    "                          always or never\n"
	    "\n"
	    "Exit status: 0 success, 1 usage error, 2 Redis cannot be read or written or\n"
	    "the output cannot be written (--group: what was not printed stays pending),\n"
	    "3 no such alert (ack/assign/close/reopen/show), 4 the alert's status does not\n"
	    "allow it (ack or close of a closed alert, reopen of one not closed).\n");
}

/* --- time ---------------------------------------------------------------- */

/* RFC 3339 (Z or offset, optional fraction) or an age (90s 30m 12h 7d) -> ms since the epoch. */
static int
parse_when(const char *s, int64_t *out)
{
	char *end;
	long long v;

	/* "-30m" as search --from takes it: the same age. */
	if (s[0] == '-' && s[1] >= '0' && s[1] <= '9')
		s++;
	v = strtoll(s, &end, 10);
	if (end != s && v >= 0 && end[0] && end[1] == '\0' && strchr("smhd", end[0])) {
		int64_t mul = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000 :
		    end[0] == 'h' ? 3600000 : 86400000;
		*out = ms_now_ms() - (int64_t)v * mul;
		return 0;
	}
	/*
	 * The common parser: a day that does not exist (2026-11-31) or an
	 * offset that is no number is refused, not quietly another time.
	 */
	return ms_time_parse(s, out);
}

/* --- Redis ------------------------------------------------------------- */

static redisContext *
connect_redis(const struct aopts *o)
{
	redisContext *rc = o->sock ? redisConnectUnix(o->sock) : redisConnect(o->host, (int)o->port);
	char err[512];

	if (rc == NULL || rc->err) {
		fprintf(stderr, "minisocctl alerts: cannot connect to Redis: %s\n",
		    rc ? rc->errstr : "out of memory");
		if (rc)
			redisFree(rc);
		return NULL;
	}
	if (ms_redis_auth_env(rc, err, sizeof(err)) < 0) {
		fprintf(stderr, "minisocctl alerts: %s\n", err);
		redisFree(rc);
		return NULL;
	}
	return rc;
}

static bool
reply_ok(redisContext *rc, const redisReply *r, const char *what)
{
	if (r != NULL && r->type != REDIS_REPLY_ERROR)
		return true;
	fprintf(stderr, "minisocctl alerts: %s failed: %s\n", what,
	    r ? r->str : rc->errstr);
	return false;
}

/* The value of field name in a stream entry's field list, or NULL. */
static const char *
entry_field(const redisReply *fields, const char *name)
{
	if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i], *v = fields->element[i + 1];
		if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0 &&
		    v->type == REDIS_REPLY_STRING)
			return v->str;
	}
	return NULL;
}

/* --- one alert --------------------------------------------------------- */

static const char *
scalar_at(const struct ms_yaml_node *root, const char *path)
{
	const struct ms_yaml_node *n = ms_yaml_path(root, path);

	return n && n->type == MS_YAML_SCALAR ? n->str : NULL;
}

static void
view_fini(struct view *v)
{
	if (v->docs)
		ms_yaml_docs_free(v->docs, v->ndocs);
	memset(v, 0, sizeof(*v));
}

/* Fills v from a stream entry [id, [field, value ...]]; false when it is not an alert. */
static bool
view_init(struct view *v, const redisReply *e)
{
	const redisReply *fields;
	const struct ms_yaml_node *root = NULL, *users;
	char err[256];

	memset(v, 0, sizeof(*v));
	if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return false;
	v->sid = e->element[0]->str;
	fields = e->element[1];
	if ((v->json = entry_field(fields, "alert")) == NULL)
		return false;
	if (ms_json_yaml_parse(v->json, strlen(v->json), &v->docs, &v->ndocs, err,
	    sizeof(err)) == 0 &&
	    v->ndocs == 1 && v->docs[0]->type == MS_YAML_MAP)
		root = v->docs[0];
	/* The stream entry's own fields stand in when the document cannot be read. */
	v->rule_id = entry_field(fields, "rule");
	v->level = entry_field(fields, "severity");
	v->agent = entry_field(fields, "agent");
	v->src = entry_field(fields, "src_ip");
	v->system = entry_field(fields, "system");
	if (root == NULL)
		return true;
	v->id = scalar_at(root, "event.id");
	v->ts = scalar_at(root, "@timestamp");
	v->title = scalar_at(root, "rule.title");
	v->rule_name = scalar_at(root, "rule.name");
	if (scalar_at(root, "rule.id"))
		v->rule_id = scalar_at(root, "rule.id");
	if (scalar_at(root, "rule.level"))
		v->level = scalar_at(root, "rule.level");
	if (scalar_at(root, "agent.id"))
		v->agent = scalar_at(root, "agent.id");
	v->host = scalar_at(root, "host.name");
	if (scalar_at(root, "source.ip"))
		v->src = scalar_at(root, "source.ip");
	if (scalar_at(root, "system.id"))
		v->system = scalar_at(root, "system.id");
	v->system_level = scalar_at(root, "system.level");
	v->count = scalar_at(root, "count");
	if ((users = ms_yaml_path(root, "related.user")) != NULL && users->type == MS_YAML_SEQ) {
		size_t o = 0;
		for (size_t i = 0; i < users->n && o + 2 < sizeof(v->users); i++) {
			if (users->items[i]->type != MS_YAML_SCALAR)
				continue;
			o += (size_t)snprintf(v->users + o, sizeof(v->users) - o, "%s%s", o ? "," : "",
			    users->items[i]->str);
			if (o >= sizeof(v->users))
				o = sizeof(v->users) - 1;
		}
	}
	return true;
}

static int
level_rank(const char *l)
{
	for (size_t i = 0; l && i < MS_ARRAY_LEN(levels); i++)
		if (strcmp(l, levels[i]) == 0)
			return (int)i + 1;
	return 0;
}

static bool
eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* The state hash of v (HGETALL reply), NULL when none. */
static const char *
state_get(const redisReply *st, const char *name)
{
	if (st == NULL || st->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < st->elements; i += 2)
		if (st->element[i]->type == REDIS_REPLY_STRING && strcmp(st->element[i]->str, name) == 0)
			return st->element[i + 1]->str;
	return NULL;
}

/* Filters that need only the alert itself. */
static bool
matches(const struct aopts *o, const struct view *v)
{
	if (o->min_level && level_rank(v->level) < o->min_level)
		return false;
	if (o->rule && !eq(o->rule, v->rule_id) && !eq(o->rule, v->rule_name))
		return false;
	if (o->system && !eq(o->system, v->system))
		return false;
	if (o->source && !eq(o->source, v->src))
		return false;
	if (o->agent && !eq(o->agent, v->agent))
		return false;
	return true;
}

static bool
matches_state(const struct aopts *o, const redisReply *st)
{
	const char *s = state_get(st, "status");

	if (o->status == NULL)
		return true;
	if (s == NULL)
		s = "new";
	if (strcmp(o->status, "open") == 0)
		return strcmp(s, "closed") != 0;
	return strcmp(o->status, s) == 0;
}

static const char *
level_color(const char *l)
{
	switch (level_rank(l)) {
	case 5: return "\033[1;97;41m";	/* critical: white on red */
	case 4: return "\033[1;31m";	/* high: bold red */
	case 3: return "\033[33m";	/* medium: yellow */
	case 2: return "\033[36m";	/* low: cyan */
	case 1: return "\033[2m";	/* informational: dim */
	default: return "";
	}
}

static const char *
nz(const char *s)
{
	return s && *s ? s : "-";
}

/*
 * s as it may go to a terminal: an alert's text comes from log lines
 * (a user name an attacker typed at sshd, say), and a control byte in it
 * would move the cursor, clear the screen or forge a line of this list.
 * Control bytes (and C1 controls, U+0080..U+009F) become '?'; s itself
 * when it has none, else a copy in one of a few buffers used in turn (one
 * printf takes several), cut at 1 KiB.
 */
/* A control byte, or the first byte of a C1 control in UTF-8 (U+0080..U+009F: CSI is one). */
static bool
term_ctl(const char *s)
{
	unsigned char c = (unsigned char)s[0], d = (unsigned char)s[1];

	return c < 0x20 || c == 0x7f || (c == 0xc2 && d >= 0x80 && d <= 0x9f);
}

static const char *
term_safe(const char *s)
{
	static char ring[12][1024];
	static unsigned next;
	char *b;
	size_t i, o;

	for (i = 0; s[i] && !term_ctl(s + i); i++)
		;
	if (s[i] == '\0')
		return s;
	b = ring[next++ % MS_ARRAY_LEN(ring)];
	for (i = 0, o = 0; s[i] && o + 1 < sizeof(ring[0]); i++) {
		if (term_ctl(s + i)) {
			b[o++] = '?';
			i += (unsigned char)s[i] == 0xc2;	/* both bytes of a C1 control */
		} else {
			b[o++] = s[i];
		}
	}
	b[o] = '\0';
	return b;
}

/* nz, then term_safe. */
#define NZ(s) term_safe(nz(s))

static void
print_json_with_state(const struct view *v, const redisReply *st)
{
	size_t len = strlen(v->json);

	if (st == NULL || st->type != REDIS_REPLY_ARRAY || st->elements == 0 || len < 2 ||
	    v->json[len - 1] != '}') {
		printf("%s\n", v->json);
		return;
	}
	/* The alert document, with its handling state as one more member. */
	printf("%.*s,\"state\":{", (int)(len - 1), v->json);
	for (size_t i = 0; i + 1 < st->elements; i += 2) {
		const char *vals[2] = { st->element[i]->str, st->element[i + 1]->str };
		printf("%s", i ? "," : "");
		for (int k = 0; k < 2; k++) {
			putchar('"');
			for (const unsigned char *p = (const unsigned char *)vals[k]; *p; p++) {
				if (*p == '"' || *p == '\\')
					printf("\\%c", *p);
				else if (*p < 0x20)
					printf("\\u%04x", *p);
				else
					putchar(*p);
			}
			putchar('"');
			if (k == 0)
				putchar(':');
		}
	}
	printf("}}\n");
}

static void
print_view(const struct aopts *o, const struct view *v, const redisReply *st)
{
	const char *status = state_get(st, "status"), *who = NULL, *assignee;
	char upper[16];
	size_t i;

	if (o->json) {
		print_json_with_state(v, st);
		return;
	}
	for (i = 0; v->level && v->level[i] && i + 1 < sizeof(upper); i++)
		upper[i] = (char)(v->level[i] >= 'a' && v->level[i] <= 'z' ? v->level[i] - 32 :
		    v->level[i]);
	upper[i] = '\0';
	if (status && strcmp(status, "closed") == 0)
		who = state_get(st, "closed_by");
	else if (status && strcmp(status, "acknowledged") == 0)
		who = state_get(st, "acked_by");
	assignee = state_get(st, "assignee");
	printf("%s  %s%-13s%s %s [%s]\n", NZ(v->ts), o->color ? level_color(v->level) : "",
	    term_safe(upper[0] ? upper : "?"), o->color ? "\033[0m" : "",
	    term_safe(v->title ? v->title : v->json), NZ(v->rule_name ? v->rule_name : v->rule_id));
	printf("    id=%s host=%s agent=%s src=%s users=%s count=%s", NZ(v->id), NZ(v->host),
	    NZ(v->agent), NZ(v->src), NZ(v->users), NZ(v->count));
	if (v->system)
		printf(" system=%s level=%s", term_safe(v->system), NZ(v->system_level));
	printf(" status=%s", term_safe(status ? status : "new"));
	if (who)
		printf(" by=%s", term_safe(who));
	if (assignee)
		printf(" assignee=%s", term_safe(assignee));
	printf("\n");
}

/* HGETALL of the state of every view, pipelined; replies[i] NULL when unknown. */
static int
load_states(redisContext *rc, const struct view *vs, size_t n, redisReply **replies)
{
	for (size_t i = 0; i < n; i++) {
		replies[i] = NULL;
		if (vs[i].id && redisAppendCommand(rc, "HGETALL " STATE_PREFIX "%s", vs[i].id) != REDIS_OK)
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		void *r = NULL;
		if (vs[i].id == NULL)
			continue;
		if (redisGetReply(rc, &r) != REDIS_OK)
			return -1;
		replies[i] = r;
	}
	return 0;
}

/* Prints the entries of one reply array (oldest first), filtered. *last gets the last id. */
static int
print_entries(redisContext *rc, const struct aopts *o, const redisReply *entries, char *last,
    size_t lastsz)
{
	size_t n = entries->elements;
	struct view *vs = calloc(n ? n : 1, sizeof(*vs));
	redisReply **st = calloc(n ? n : 1, sizeof(*st));
	int rc_ = 0;

	if (vs == NULL || st == NULL) {
		free(vs);
		free(st);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const redisReply *e = entries->element[i];
		if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
		    e->element[0]->type == REDIS_REPLY_STRING && last)
			ms_copy(last, lastsz, e->element[0]->str, e->element[0]->len);
		if (!view_init(&vs[i], e) || !matches(o, &vs[i]))
			view_fini(&vs[i]);
	}
	if (load_states(rc, vs, n, st) < 0) {
		fprintf(stderr, "minisocctl alerts: reading states failed: %s\n", rc->errstr);
		rc_ = -1;
	}
	for (size_t i = 0; i < n && rc_ == 0; i++)
		if (vs[i].json && matches_state(o, st[i]))
			print_view(o, &vs[i], st[i]);
	for (size_t i = 0; i < n; i++) {
		view_fini(&vs[i]);
		if (st[i])
			freeReplyObject(st[i]);
	}
	free(vs);
	free(st);
	/*
	 * Not printed (a full disk): a group must not acknowledge them nor a
	 * follower move past them; main() says so and exits 2.
	 */
	if (fflush(stdout) != 0 || ferror(stdout))
		rc_ = -1;
	return rc_;
}

/* The stream's counts (XINFO STREAM, Redis 7), for gaps: see gap_check. */
struct counts {
	bool known;
	long long added, length;
};
static redisReply *with_counts(redisContext *rc, const struct aopts *o, struct counts *c,
    redisReply **r_fail, const char *fmt, ...);

/* --- list ---------------------------------------------------------------- */

/*
 * The newest o->count entries that match, between since and until (stream
 * time: when Redis stored them), printed oldest first. Scans backwards in
 * chunks, so filters that match rarely still find their N.
 */
static int
cmd_list(redisContext *rc, const struct aopts *o, char *last, size_t lastsz, long long *ord)
{
	char end[48], start[48];
	redisReply **chunks = NULL;
	size_t nchunks = 0, found = 0;
	int ret = 0;

	snprintf(end, sizeof(end), "%s", "+");
	if (o->until_ms)
		snprintf(end, sizeof(end), "%lld", (long long)o->until_ms);
	snprintf(start, sizeof(start), "%s", "-");
	if (o->since_ms)
		snprintf(start, sizeof(start), "%lld", (long long)o->since_ms);
	/*
	 * Where following starts: after the newest entry now, and how many
	 * were ever added up to it (the follower's position, for gaps).
	 */
	if (last) {
		struct counts c;
		redisReply *fail, *x, *r = with_counts(rc, o, &c, &fail, "XREVRANGE %s + - COUNT 1",
		    o->stream);

		if (r == NULL) {
			reply_ok(rc, fail, "XREVRANGE");
			if (fail)
				freeReplyObject(fail);
			goto redis_fail;
		}
		x = r->element[0];
		if (x->type == REDIS_REPLY_ARRAY && x->elements == 1)
			ms_copy(last, lastsz, x->element[0]->element[0]->str,
			    x->element[0]->element[0]->len);
		else
			/*
			 * Empty (or no stream yet): everything stored from now on.
			 * "$" would be read anew by each XREAD, losing what came
			 * between two of them.
			 */
			ms_copy(last, lastsz, "0-0", 3);
		*ord = c.known ? c.added : -1;
		freeReplyObject(r);
	}
	while (found < (size_t)o->count) {
		redisReply *r = redisCommand(rc, "XREVRANGE %s %s %s COUNT %d", o->stream, end, start,
		    SCAN_CHUNK), **nc;
		size_t keep = 0, got;

		if (!reply_ok(rc, r, "XREVRANGE")) {
			if (r)
				freeReplyObject(r);
			goto redis_fail;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
			freeReplyObject(r);
			break;
		}
		got = r->elements;
		{
			redisReply *oldest = r->element[r->elements - 1];
			/* Next chunk: strictly before the oldest entry of this one. */
			snprintf(end, sizeof(end), "(%s", oldest->element[0]->str);
		}
		/* Keep matching entries newest first in this reply; trim the rest. */
		for (size_t i = 0; i < r->elements; i++) {
			struct view v;
			bool ok = view_init(&v, r->element[i]) && matches(o, &v);

			if (ok && o->status) {
				redisReply *st = v.id ? redisCommand(rc, "HGETALL " STATE_PREFIX "%s", v.id) : NULL;
				ok = matches_state(o, st);
				if (st)
					freeReplyObject(st);
			}
			view_fini(&v);
			if (ok && found < (size_t)o->count) {
				redisReply *tmp = r->element[keep];
				r->element[keep] = r->element[i];
				r->element[i] = tmp;
				keep++;
				found++;
			}
		}
		/* Free what was not kept. */
		for (size_t i = keep; i < r->elements; i++)
			freeReplyObject(r->element[i]);
		r->elements = keep;
		if ((nc = realloc(chunks, (nchunks + 1) * sizeof(*nc))) == NULL) {
			freeReplyObject(r);
			ret = EXIT_REDIS;
			goto out;
		}
		chunks = nc;
		chunks[nchunks++] = r;
		if (got < SCAN_CHUNK)
			break;	/* the start of the range */
	}
	/* Oldest first, like a log. */
	for (size_t c = nchunks; c > 0; c--) {
		redisReply *r = chunks[c - 1];
		/* Reverse in place: entries are newest first. */
		for (size_t i = 0; i < r->elements / 2; i++) {
			redisReply *t = r->element[i];
			r->element[i] = r->element[r->elements - 1 - i];
			r->element[r->elements - 1 - i] = t;
		}
		if (print_entries(rc, o, r, NULL, 0) < 0) {
			ret = EXIT_REDIS;
			break;
		}
	}
out:
	for (size_t c = 0; c < nchunks; c++)
		freeReplyObject(chunks[c]);
	free(chunks);
	return ret;
redis_fail:
	ret = EXIT_REDIS;
	goto out;
}

/* --- follow ---------------------------------------------------------------- */

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/*
 * A reply that means the connection is gone (Redis restarted, the network
 * dropped) or Redis is not ready yet (loading its data after a restart):
 * a follower waits and goes on from where it was, rather than ending –
 * started again, it would begin at the stream's end and never show what
 * was stored meanwhile.
 */
static bool
transient(const redisContext *rc, const redisReply *r)
{
	if (r == NULL)
		return rc->err == REDIS_ERR_IO || rc->err == REDIS_ERR_EOF;
	return r->type == REDIS_REPLY_ERROR && (strncmp(r->str, "LOADING", 7) == 0 ||
	    strncmp(r->str, "BUSY", 4) == 0 || strncmp(r->str, "MASTERDOWN", 10) == 0 ||
	    strncmp(r->str, "TRYAGAIN", 8) == 0);
}

/* A second's pause, cut short by SIGINT/SIGTERM. */
static void
pause_1s(void)
{
	for (int i = 0; i < 10 && !stop_flag; i++)
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
}

/*
 * After a transient failure: connects again (when the connection is gone)
 * every second until it works; false when a signal ended the wait.
 */
static bool
follow_resume(redisContext *rc, const redisReply *r)
{
	bool said = false;

	if (r != NULL) {
		fprintf(stderr, "minisocctl alerts: Redis: %s; trying again\n", r->str);
		pause_1s();
		return !stop_flag;
	}
	while (!stop_flag) {
		if (!said)
			fprintf(stderr, "minisocctl alerts: lost Redis (%s); connecting again every "
			    "second\n", rc->errstr);
		said = true;
		pause_1s();
		if (!stop_flag && redisReconnect(rc) == REDIS_OK) {
			char err[512];

			/* A new connection: signed in again (REDISCLI_AUTH), or said why not. */
			if (ms_redis_auth_env(rc, err, sizeof(err)) < 0) {
				fprintf(stderr, "minisocctl alerts: %s\n", err);
				continue;
			}
			fprintf(stderr, "minisocctl alerts: connected to Redis again\n");
			return true;
		}
	}
	return false;
}

/*
 * Gaps. The stream is trimmed from its oldest end (the collector's
 * redis.stream_maxlen): a reader that falls behind by more than that
 * loses alerts it never saw, and XREAD just goes on at the oldest one
 * left. Redis 7 counts every entry ever added (XINFO STREAM
 * entries-added); entries-added - length were removed, the oldest ones.
 * A reader that knows how many it has gone past (its position, ord)
 * sees a gap when more than that were removed, and says so on stderr
 * ("gap: ..."), so that the operator knows the list is not complete and
 * looks elsewhere (minisocctl search, the collector's log). Older Redis
 * has no such count: nothing is said.
 */

/* entries-added and length of an XINFO STREAM reply (RESP2: a flat list). */
static void
counts_of(const redisReply *r, struct counts *c)
{
	const char *names[2] = { "entries-added", "length" };
	long long *vals[2] = { &c->added, &c->length };
	int found = 0;

	c->known = false;
	if (r == NULL)
		return;
	if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key")) {
		c->added = c->length = 0;	/* no stream yet */
		c->known = true;
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		for (int k = 0; k < 2; k++)
			if (r->element[i]->type == REDIS_REPLY_STRING &&
			    strcmp(r->element[i]->str, names[k]) == 0 &&
			    r->element[i + 1]->type == REDIS_REPLY_INTEGER) {
				*vals[k] = r->element[i + 1]->integer;
				found |= 1 << k;
			}
	c->known = found == 3;
}

/*
 * cmd (with its argument list) and XINFO STREAM in one MULTI/EXEC: what
 * the one returned and the stream's counts at that very moment. The
 * EXEC reply (cmd's reply is its element 0), or NULL with *r_fail the
 * failed reply (or NULL when the connection failed; the caller frees it).
 */
static redisReply *
with_counts(redisContext *rc, const struct aopts *o, struct counts *c, redisReply **r_fail,
    const char *fmt, ...)
{
	redisReply *r = NULL;
	void *rep;
	va_list ap;
	int rv;

	*r_fail = NULL;
	c->known = false;
	va_start(ap, fmt);
	if (redisAppendCommand(rc, "MULTI") != REDIS_OK ||
	    (rv = redisvAppendCommand(rc, fmt, ap)) != REDIS_OK ||
	    redisAppendCommand(rc, "XINFO STREAM %s", o->stream) != REDIS_OK ||
	    redisAppendCommand(rc, "EXEC") != REDIS_OK) {
		va_end(ap);
		return NULL;
	}
	va_end(ap);
	for (int i = 0; i < 4; i++) {
		rep = NULL;
		if (redisGetReply(rc, &rep) != REDIS_OK) {
			if (r)
				freeReplyObject(r);
			return NULL;
		}
		if (i < 3 && ((redisReply *)rep)->type == REDIS_REPLY_ERROR && r == NULL) {
			r = rep;	/* the first failure is the one told */
			continue;
		}
		if (i < 3) {
			freeReplyObject(rep);
			continue;
		}
		if (r != NULL) {
			freeReplyObject(rep);
			*r_fail = r;
			return NULL;
		}
		r = rep;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		*r_fail = r;
		return NULL;
	}
	counts_of(r->element[1], c);
	return r;
}

/*
 * A reader at position *ord (entries ever added that it has gone past)
 * that is about to read on: says the gap when more were removed than
 * that, and moves *ord to the oldest entry left. *ord < 0: not known.
 */
static void
gap_check(const struct aopts *o, const struct counts *c, long long *ord, const char *after,
    const char *who)
{
	long long removed;

	if (!c->known || *ord < 0)
		return;
	removed = c->added - c->length;
	if (c->added < *ord) {
		/* A stream made anew (Redis lost its data, the key deleted): counted from here. */
		*ord = removed;
		return;
	}
	if (removed <= *ord)
		return;
	fprintf(stderr, "minisocctl alerts: gap: %lld alert(s) stored after %s were trimmed from %s "
	    "before %s read them (redis.stream_maxlen)\n", removed - *ord, after, o->stream, who);
	*ord = removed;
}

/*
 * New entries after last, printed, until a signal. The reads are XREAD
 * with the stream's counts in one MULTI/EXEC (gap_check); when there is
 * nothing new, a blocking XREAD waits for something (what it returns is
 * read again by the next round). A lost connection or a Redis that is
 * loading is waited out, and reading goes on from last.
 */
static int
follow_plain(redisContext *rc, const struct aopts *o, char *last, size_t lastsz, long long ord)
{
	char next[64];

	while (!stop_flag) {
		struct counts c;
		redisReply *fail, *x, *ents = NULL;
		redisReply *r = with_counts(rc, o, &c, &fail, "XREAD COUNT 200 STREAMS %s %s",
		    o->stream, last);

		if (r == NULL) {
			bool go_on;

			if (stop_flag || !transient(rc, fail)) {
				reply_ok(rc, fail, "XREAD");
				if (fail)
					freeReplyObject(fail);
				return stop_flag ? 0 : EXIT_REDIS;
			}
			go_on = follow_resume(rc, fail);
			if (fail)
				freeReplyObject(fail);
			if (!go_on)
				break;
			continue;
		}
		x = r->element[0];
		if (x->type == REDIS_REPLY_ARRAY && x->elements == 1 &&
		    x->element[0]->type == REDIS_REPLY_ARRAY && x->element[0]->elements == 2 &&
		    x->element[0]->element[1]->type == REDIS_REPLY_ARRAY)
			ents = x->element[0]->element[1];
		if (ents == NULL || ents->elements == 0) {
			freeReplyObject(r);
			/* Nothing new: wait for something (read by the next round). */
			r = redisCommand(rc, "XREAD COUNT 1 BLOCK 1000 STREAMS %s %s", o->stream, last);
			if (r != NULL && r->type != REDIS_REPLY_ERROR) {
				freeReplyObject(r);
				continue;
			}
			if (!stop_flag && transient(rc, r)) {
				bool go_on = follow_resume(rc, r);

				if (r)
					freeReplyObject(r);
				if (!go_on)
					break;
				continue;
			}
			reply_ok(rc, r, "XREAD");
			if (r)
				freeReplyObject(r);
			return stop_flag ? 0 : EXIT_REDIS;
		}
		gap_check(o, &c, &ord, last, "this follower");
		/* last moves only once the entries are printed: a failure reads them again. */
		ms_copy(next, sizeof(next), last, strlen(last));
		if (print_entries(rc, o, ents, next, sizeof(next)) < 0) {
			bool go_on = !stop_flag && transient(rc, NULL) && follow_resume(rc, NULL);

			freeReplyObject(r);
			if (go_on)
				continue;
			return stop_flag ? 0 : EXIT_REDIS;
		}
		ms_copy(last, lastsz, next, strlen(next));
		if (ord >= 0)
			ord += (long long)ents->elements;
		freeReplyObject(r);
	}
	return 0;
}

/*
 * Pending entries of this consumer that were trimmed from the stream
 * before it acknowledged them come back as [id, nil] (XREADGROUP from 0):
 * named on stderr, then acknowledged like the others (nothing else can be
 * done with them) – not passed over without a word.
 */
static void
group_say_trimmed(const struct aopts *o, const redisReply *entries)
{
	size_t n = 0;
	const char *first = NULL, *lastid = NULL;

	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *e = entries->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    (e->elements == 2 && e->element[1]->type == REDIS_REPLY_ARRAY))
			continue;
		if (first == NULL)
			first = e->element[0]->str;
		lastid = e->element[0]->str;
		n++;
	}
	if (n)
		fprintf(stderr, "minisocctl alerts: gap: %zu alert(s) given to this consumer (%s .. %s) "
		    "were trimmed from %s before they were acknowledged (redis.stream_maxlen)\n", n,
		    first, lastid, o->stream);
}

/* Prints then acknowledges the entries of a reply array; 0 or -1. */
static int
group_handle(redisContext *rc, const struct aopts *o, const redisReply *entries)
{
	if (entries == NULL || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
		return 0;
	group_say_trimmed(o, entries);
	if (print_entries(rc, o, entries, NULL, 0) < 0)
		return -1;
	/* Printed (and flushed): only now may the group forget them. */
	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *e = entries->element[i];
		redisReply *a;
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		a = redisCommand(rc, "XACK %s %s %s", o->stream, o->group, e->element[0]->str);
		if (!reply_ok(rc, a, "XACK")) {
			if (a)
				freeReplyObject(a);
			return -1;
		}
		freeReplyObject(a);
	}
	return 0;
}

/*
 * The group's position (XINFO GROUPS entries-read, Redis 7) against what
 * was removed from the stream: alerts trimmed before the group was given
 * them are said (gap_check), at start and after a reconnection.
 */
static void
group_gap_check(redisContext *rc, const struct aopts *o)
{
	struct counts c;
	redisReply *fail, *r = with_counts(rc, o, &c, &fail, "XINFO GROUPS %s", o->stream);
	char who[300], pos[64] = "";
	long long ord = -1;

	if (r != NULL && r->element[0]->type == REDIS_REPLY_ARRAY) {
		const redisReply *gs = r->element[0];
		for (size_t i = 0; i < gs->elements; i++) {
			const redisReply *g = gs->element[i];
			if (g->type != REDIS_REPLY_ARRAY || !eq(entry_field(g, "name"), o->group))
				continue;
			for (size_t k = 0; k + 1 < g->elements; k += 2)
				if (g->element[k]->type == REDIS_REPLY_STRING &&
				    strcmp(g->element[k]->str, "entries-read") == 0 &&
				    g->element[k + 1]->type == REDIS_REPLY_INTEGER)
					ord = g->element[k + 1]->integer;
			if (entry_field(g, "last-delivered-id"))
				snprintf(pos, sizeof(pos), "%s", entry_field(g, "last-delivered-id"));
		}
	}
	snprintf(who, sizeof(who), "the group %s", o->group);
	/* entries-read is not known (nil) for a group made on an empty stream: at 0-0 it is 0. */
	if (ord < 0 && strcmp(pos, "0-0") == 0)
		ord = 0;
	if (pos[0])
		gap_check(o, &c, &ord, pos, who);
	if (r)
		freeReplyObject(r);
	if (fail)
		freeReplyObject(fail);
}

#define FOLLOW_AGAIN (-1)

/* One run of follow_group until a signal (0), a failure (EXIT_REDIS) or a lost connection (FOLLOW_AGAIN). */
static int
follow_group_run(redisContext *rc, const struct aopts *o, const char *consumer)
{
	char cursor[64] = "0-0";
	redisReply *r;
	int64_t last_claim = 0;

	r = redisCommand(rc, "XGROUP CREATE %s %s $ MKSTREAM", o->stream, o->group);
	if (r == NULL || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0))
		goto fail;
	freeReplyObject(r);
	group_gap_check(rc, o);
	/* First what this consumer was given before and did not acknowledge (a restart). */
	r = redisCommand(rc, "XREADGROUP GROUP %s %s COUNT 1000 STREAMS %s 0", o->group, consumer,
	    o->stream);
	if (!reply_ok(rc, r, "XREADGROUP"))
		goto fail;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    group_handle(rc, o, r->element[0]->element[1]) < 0)
		goto fail;
	freeReplyObject(r);
	r = NULL;
	while (!stop_flag) {
		/* Then what other consumers left unacknowledged for too long. */
		if (ms_mono_ms() - last_claim >= 1000) {
			last_claim = ms_mono_ms();
			do {
				r = redisCommand(rc, "XAUTOCLAIM %s %s %s %lld %s COUNT 200", o->stream,
				    o->group, consumer, (long long)o->claim_idle_ms, cursor);
				if (!reply_ok(rc, r, "XAUTOCLAIM"))
					goto fail;
				if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
					break;
				ms_copy(cursor, sizeof(cursor), r->element[0]->str, r->element[0]->len);
				/* Redis 7: the ids it found trimmed away, dropped from the pending list. */
				if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY &&
				    r->element[2]->elements > 0)
					fprintf(stderr, "minisocctl alerts: gap: %zu alert(s) left "
					    "unacknowledged by another consumer (%s ..) were trimmed from %s "
					    "before they were acknowledged (redis.stream_maxlen)\n",
					    r->element[2]->elements, r->element[2]->element[0]->str,
					    o->stream);
				if (group_handle(rc, o, r->element[1]) < 0)
					goto fail;
				freeReplyObject(r);
				r = NULL;
			} while (strcmp(cursor, "0-0") != 0 && !stop_flag);
			if (r)
				freeReplyObject(r);
			r = NULL;
		}
		r = redisCommand(rc, "XREADGROUP GROUP %s %s COUNT 200 BLOCK 1000 STREAMS %s >",
		    o->group, consumer, o->stream);
		if (!reply_ok(rc, r, "XREADGROUP"))
			goto fail;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
		    group_handle(rc, o, r->element[0]->element[1]) < 0)
			goto fail;
		freeReplyObject(r);
		r = NULL;
	}
	return 0;
fail:
	if (stop_flag) {
		if (r)
			freeReplyObject(r);
		return 0;
	}
	if (transient(rc, r) || (r && r->type != REDIS_REPLY_ERROR && transient(rc, NULL))) {
		bool go_on = follow_resume(rc, r && r->type == REDIS_REPLY_ERROR ? r : NULL);

		if (r)
			freeReplyObject(r);
		return go_on ? FOLLOW_AGAIN : 0;
	}
	if (r && r->type == REDIS_REPLY_ERROR)
		reply_ok(rc, r, "Redis");
	else if (r == NULL)
		reply_ok(rc, NULL, "Redis");
	if (r)
		freeReplyObject(r);
	return EXIT_REDIS;
}

/*
 * Follows through a consumer group; after a lost connection (a Redis
 * restart) it connects again and starts over: the group (made again if
 * Redis lost it), this consumer's pending alerts, then new ones.
 */
static int
follow_group(redisContext *rc, const struct aopts *o)
{
	char consumer[300];
	int ret;

	if (o->consumer)
		snprintf(consumer, sizeof(consumer), "%s", o->consumer);
	else {
		char h[256] = "host";
		gethostname(h, sizeof(h) - 1);
		snprintf(consumer, sizeof(consumer), "%s:%ld", h, (long)getpid());
	}
	while ((ret = follow_group_run(rc, o, consumer)) == FOLLOW_AGAIN)
		;
	return ret;
}

/* --- handling state ---------------------------------------------------------- */

/* Finds alert id in the stream (from its UUIDv7 time on); the entry reply, or NULL. */
static redisReply *
find_alert(redisContext *rc, const struct aopts *o, const char *id, bool *err)
{
	char start[48], pat[96];
	unsigned long long ms = 0;
	size_t scanned = 0;

	*err = false;
	/* A UUIDv7 starts with its 48-bit ms time: the entry was stored at or after it. */
	for (int i = 0, k = 0; id[i] && k < 12; i++) {
		char ch = id[i];
		if (ch == '-')
			continue;
		ms = ms * 16 + (unsigned)(ch >= 'a' ? ch - 'a' + 10 : ch >= 'A' ? ch - 'A' + 10 : ch - '0');
		k++;
	}
	snprintf(start, sizeof(start), "%llu", ms > 1000 ? ms - 1000 : 0);
	snprintf(pat, sizeof(pat), "\"id\":\"%s\"", id);
	while (scanned < 1000000) {
		redisReply *r = redisCommand(rc, "XRANGE %s %s + COUNT %d", o->stream, start, SCAN_CHUNK);
		if (!reply_ok(rc, r, "XRANGE")) {
			*err = true;
			if (r)
				freeReplyObject(r);
			return NULL;
		}
		if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
			freeReplyObject(r);
			return NULL;
		}
		for (size_t i = 0; i < r->elements; i++) {
			const char *json = entry_field(r->element[i]->element[1], "alert");
			if (json && strstr(json, pat)) {
				redisReply *keep = r->element[i];
				r->element[i] = NULL;
				/* freeReplyObject skips NULL elements. */
				freeReplyObject(r);
				return keep;
			}
		}
		scanned += r->elements;
		snprintf(start, sizeof(start), "(%s", r->element[r->elements - 1]->element[0]->str);
		freeReplyObject(r);
	}
	return NULL;
}

static bool
valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n < 8 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f') ||
		    (id[i] >= 'A' && id[i] <= 'F') || id[i] == '-'))
			return false;
	return true;
}

static const char *
who_am_i(void)
{
	const char *u = getenv("SUDO_USER");
	struct passwd *pw;

	if (u && *u)
		return u;
	if ((pw = getpwuid(getuid())) != NULL)
		return pw->pw_name;
	return "unknown";
}

/*
 * WATCHes the state hash key and judges action against the status it
 * holds (none: "new"): ack and close not on a closed alert, reopen only on
 * one. 0 allowed (the key watched), EXIT_STATE refused (said, unwatched),
 * EXIT_REDIS.
 */
static int
state_allows(redisContext *rc, const char *key, const char *action, const char *id)
{
	redisReply *r = redisCommand(rc, "WATCH %s", key);
	const char *cur = "new", *by = "?", *at = "?";
	bool closed, refuse;

	if (!reply_ok(rc, r, "WATCH")) {
		if (r)
			freeReplyObject(r);
		return EXIT_REDIS;
	}
	freeReplyObject(r);
	r = redisCommand(rc, "HMGET %s status closed_by closed_at", key);
	if (!reply_ok(rc, r, "HMGET") || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		if (r)
			freeReplyObject(r);
		return EXIT_REDIS;
	}
	if (r->element[0]->type == REDIS_REPLY_STRING)
		cur = r->element[0]->str;
	if (r->element[1]->type == REDIS_REPLY_STRING)
		by = r->element[1]->str;
	if (r->element[2]->type == REDIS_REPLY_STRING)
		at = r->element[2]->str;
	closed = strcmp(cur, "closed") == 0;
	refuse = strcmp(action, "reopen") == 0 ? !closed :
	    (strcmp(action, "ack") == 0 || strcmp(action, "close") == 0) && closed;
	if (refuse) {
		if (closed)
			fprintf(stderr, "minisocctl alerts %s: %s is closed (by %s at %s)%s\n", action, id,
			    term_safe(by), term_safe(at), strcmp(action, "ack") == 0 ?
			    ": reopen it first" : "");
		else
			fprintf(stderr, "minisocctl alerts reopen: %s is not closed (status %s)\n", id,
			    term_safe(cur));
	}
	freeReplyObject(r);
	if (refuse) {
		r = redisCommand(rc, "UNWATCH");
		if (r)
			freeReplyObject(r);
		return EXIT_STATE;
	}
	return 0;
}

/* Under MULTI: see below. */
static int state_write(redisContext *rc, const char *key, const char *action, const char *id,
    const char *who, const char *now, const char *value, const char **argv, size_t n);

/*
 * Changes the state of alert id: action ack|assign|close|reopen, value the
 * assignee, note or reason. One MULTI/EXEC: the hash and the audit stream.
 */
static int
set_state(redisContext *rc, const struct aopts *o, const char *action, const char *id,
    const char *value)
{
	char key[160], now[40], who[128];
	const char *status = NULL;
	const char *argv[24];
	size_t n = 0;
	redisReply *r;
	bool err;
	int ret = 0;

	if (!valid_id(id)) {
		fprintf(stderr, "minisocctl alerts %s: \"%s\" is not an alert id\n", action, id);
		return EXIT_USAGE;
	}
	if ((r = find_alert(rc, o, id, &err)) == NULL) {
		if (!err)
			fprintf(stderr, "minisocctl alerts %s: no alert %s in %s\n", action, id, o->stream);
		return err ? EXIT_REDIS : EXIT_NOT_FOUND;
	}
	freeReplyObject(r);
	snprintf(key, sizeof(key), STATE_PREFIX "%s", id);
	ms_fmt_time(now, sizeof(now), ms_now_ms());
	snprintf(who, sizeof(who), "%s", o->by ? o->by : who_am_i());
	argv[n++] = "HSET";
	argv[n++] = key;
	if (strcmp(action, "ack") == 0) {
		status = "acknowledged";
		argv[n++] = "acked_by";
		argv[n++] = who;
		argv[n++] = "acked_at";
		argv[n++] = now;
		if (value) {
			argv[n++] = "note";
			argv[n++] = value;
		}
	} else if (strcmp(action, "assign") == 0) {
		argv[n++] = "assignee";
		argv[n++] = value;
		argv[n++] = "assigned_by";
		argv[n++] = who;
		argv[n++] = "assigned_at";
		argv[n++] = now;
	} else if (strcmp(action, "close") == 0) {
		status = "closed";
		argv[n++] = "closed_by";
		argv[n++] = who;
		argv[n++] = "closed_at";
		argv[n++] = now;
		if (value) {
			argv[n++] = "reason";
			argv[n++] = value;
		}
	} else {
		status = "acknowledged";
		argv[n++] = "reopened_by";
		argv[n++] = who;
		argv[n++] = "reopened_at";
		argv[n++] = now;
	}
	if (status) {
		argv[n++] = "status";
		argv[n++] = status;
	}
	argv[n++] = "updated_by";
	argv[n++] = who;
	argv[n++] = "updated_at";
	argv[n++] = now;
	/*
	 * The change is judged on the status as it is, and made only if no one
	 * changed it meanwhile (WATCH): two operators acting on one alert from
	 * their own lists must not undo each other – an ack from a stale list
	 * reopened an alert someone had closed. Tried again when it moved.
	 */
	for (int tries = 0;; tries++) {
		if ((ret = state_allows(rc, key, action, id)) != 0)
			return ret;
		r = redisCommand(rc, "MULTI");
		if (!reply_ok(rc, r, "MULTI"))
			goto fail;
		freeReplyObject(r);
		if ((ret = state_write(rc, key, action, id, who, now, value, argv, n)) < 0)
			return EXIT_REDIS;
		if (ret == 0)
			break;
		if (tries == 4) {
			fprintf(stderr, "minisocctl alerts %s: %s keeps changing (other operators); "
			    "not done, try again\n", action, id);
			return EXIT_STATE;
		}
	}
	printf("%s %s: %s by %s at %s%s%s\n", id, action,
	    status ? status : "assigned", who, now, value ? " – " : "", value ? value : "");
	return 0;
fail:
	if (r)
		freeReplyObject(r);
	if ((r = redisCommand(rc, "UNWATCH")) != NULL)
		freeReplyObject(r);
	return EXIT_REDIS;
}

/*
 * Under MULTI: the status change argv[0..n) and its entry in the actions
 * stream, then EXEC. 0 done, 1 the alert's state changed since WATCH
 * (nothing written), -1 a Redis error (said).
 */
static int
state_write(redisContext *rc, const char *key, const char *action, const char *id,
    const char *who, const char *now, const char *value, const char **argv, size_t n)
{
	redisReply *r;

	/* A status stays "new" until someone acknowledges or closes; assigning alone keeps it. */
	if (strcmp(action, "assign") == 0) {
		r = redisCommand(rc, "HSETNX %s status new", key);
		if (!reply_ok(rc, r, "HSETNX"))
			goto fail;
		freeReplyObject(r);
	}
	r = redisCommandArgv(rc, (int)n, argv, NULL);
	if (!reply_ok(rc, r, "HSET"))
		goto fail;
	freeReplyObject(r);
	r = redisCommand(rc, "XADD " ACTIONS_STREAM " MAXLEN ~ 1000000 * alert %s action %s by %s "
	    "at %s value %s", id, action, who, now, value ? value : "");
	if (!reply_ok(rc, r, "XADD"))
		goto fail;
	freeReplyObject(r);
	r = redisCommand(rc, "EXEC");
	if (r != NULL && r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return 1;	/* WATCH: someone changed it */
	}
	if (!reply_ok(rc, r, "EXEC") || r->type != REDIS_REPLY_ARRAY)
		goto fail;
	freeReplyObject(r);
	return 0;
fail:
	if (r)
		freeReplyObject(r);
	r = redisCommand(rc, "DISCARD");
	if (r)
		freeReplyObject(r);
	return -1;
}

static int
cmd_show(redisContext *rc, const struct aopts *o, const char *id)
{
	redisReply *e, arr;
	redisReply *elems[1];
	bool err;
	int ret;

	if (!valid_id(id)) {
		fprintf(stderr, "minisocctl alerts show: \"%s\" is not an alert id\n", id);
		return EXIT_USAGE;
	}
	if ((e = find_alert(rc, o, id, &err)) == NULL) {
		if (!err)
			fprintf(stderr, "minisocctl alerts show: no alert %s in %s\n", id, o->stream);
		return err ? EXIT_REDIS : EXIT_NOT_FOUND;
	}
	memset(&arr, 0, sizeof(arr));
	arr.type = REDIS_REPLY_ARRAY;
	arr.elements = 1;
	elems[0] = e;
	arr.element = elems;
	ret = print_entries(rc, o, &arr, NULL, 0) < 0 ? EXIT_REDIS : 0;
	freeReplyObject(e);
	return ret;
}

/* --- options ---------------------------------------------------------------- */

enum {
	OPT_SINCE = 256, OPT_UNTIL, OPT_SEVERITY, OPT_RULE, OPT_SYSTEM, OPT_SOURCE, OPT_AGENT,
	OPT_STATUS, OPT_GROUP, OPT_CONSUMER, OPT_CLAIM, OPT_COLOR, OPT_BY, OPT_TO, OPT_NOTE,
};

int
ctl_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "stream", required_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "severity", required_argument, NULL, OPT_SEVERITY },
		{ "rule", required_argument, NULL, OPT_RULE },
		{ "system", required_argument, NULL, OPT_SYSTEM },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "status", required_argument, NULL, OPT_STATUS },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "consumer", required_argument, NULL, OPT_CONSUMER },
		{ "claim-idle", required_argument, NULL, OPT_CLAIM },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "colour", required_argument, NULL, OPT_COLOR },
		{ "by", required_argument, NULL, OPT_BY },
		{ "to", required_argument, NULL, OPT_TO },
		{ "note", required_argument, NULL, OPT_NOTE },
		{ "reason", required_argument, NULL, OPT_NOTE },
		{ NULL, 0, NULL, 0 },
	};
	struct aopts o;
	const char *action = "list", *color = "auto", *to = NULL, *note = NULL;
	char last[64] = "$";
	long long ord = -1;
	redisContext *rc = NULL;
	int ch, ret = 0;

	memset(&o, 0, sizeof(o));
	snprintf(o.host, sizeof(o.host), "127.0.0.1");
	o.port = 6379;
	o.stream = "minisoc:alerts";
	o.count = 20;
	o.claim_idle_ms = 60000;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:s:k:n:fjh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': {
			const char *colon = strrchr(optarg, ':');
			if (colon == NULL || ms_parse_i64(colon + 1, 1, 65535, &o.port) < 0 ||
			    (size_t)(colon - optarg) >= sizeof(o.host)) {
				fprintf(stderr, "minisocctl alerts: --redis wants HOST:PORT\n");
				return EXIT_USAGE;
			}
			ms_copy(o.host, sizeof(o.host), optarg, (size_t)(colon - optarg));
			break;
		}
		case 's': o.sock = optarg; break;
		case 'k': o.stream = optarg; break;
		case 'n':
			if (ms_parse_i64(optarg, 0, 100000, &o.count) < 0) {
				fprintf(stderr, "minisocctl alerts: --count wants 0..100000\n");
				return EXIT_USAGE;
			}
			o.count_set = true;
			break;
		case 'f': o.follow = true; break;
		case 'j': o.json = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (parse_when(optarg, ch == OPT_SINCE ? &o.since_ms : &o.until_ms) < 0) {
				fprintf(stderr, "minisocctl alerts: %s: \"%s\" is neither RFC 3339 time nor "
				    "an age like 30m\n", ch == OPT_SINCE ? "--since" : "--until", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_SEVERITY:
			if ((o.min_level = level_rank(optarg)) == 0) {
				fprintf(stderr, "minisocctl alerts: --severity wants informational, low, "
				    "medium, high or critical\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_RULE: o.rule = optarg; break;
		case OPT_SYSTEM: o.system = optarg; break;
		case OPT_SOURCE: o.source = optarg; break;
		case OPT_AGENT: o.agent = optarg; break;
		case OPT_STATUS:
			if (strcmp(optarg, "new") != 0 && strcmp(optarg, "acknowledged") != 0 &&
			    strcmp(optarg, "closed") != 0 && strcmp(optarg, "open") != 0) {
				fprintf(stderr, "minisocctl alerts: --status wants new, acknowledged, "
				    "closed or open\n");
				return EXIT_USAGE;
			}
			o.status = optarg;
			break;
		case OPT_GROUP: o.group = optarg; break;
		case OPT_CONSUMER: o.consumer = optarg; break;
		case OPT_CLAIM:
			if (ms_parse_i64(optarg, 0, INT64_MAX / 2, &o.claim_idle_ms) < 0) {
				fprintf(stderr, "minisocctl alerts: --claim-idle wants milliseconds\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "always") != 0 &&
			    strcmp(optarg, "never") != 0) {
				fprintf(stderr, "minisocctl alerts: --color wants auto, always or never\n");
				return EXIT_USAGE;
			}
			color = optarg;
			break;
		case OPT_BY: o.by = optarg; break;
		case OPT_TO: to = optarg; break;
		case OPT_NOTE: note = optarg; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	/* Options may come before or after the action (getopt moves the words to the end). */
	if (optind < argc) {
		action = argv[optind++];
		if (strcmp(action, "list") != 0 && strcmp(action, "ack") != 0 &&
		    strcmp(action, "assign") != 0 && strcmp(action, "close") != 0 &&
		    strcmp(action, "reopen") != 0 && strcmp(action, "show") != 0) {
			fprintf(stderr, "minisocctl alerts: unknown action \"%s\"\n", action);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (strcmp(color, "always") == 0)
		o.color = true;
	else if (strcmp(color, "auto") == 0)
		o.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
		    !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
	if (o.group && !o.follow) {
		fprintf(stderr, "minisocctl alerts: --group goes with --follow\n");
		return EXIT_USAGE;
	}
	if (strcmp(action, "list") != 0) {
		if (optind >= argc || (strcmp(action, "show") == 0 && optind + 1 != argc)) {
			fprintf(stderr, "minisocctl alerts %s: which alert? (its id, event.id)\n", action);
			return EXIT_USAGE;
		}
		if (strcmp(action, "assign") == 0 && (to == NULL || *to == '\0')) {
			fprintf(stderr, "minisocctl alerts assign: --to USER is required\n");
			return EXIT_USAGE;
		}
	} else if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((rc = connect_redis(&o)) == NULL)
		return EXIT_REDIS;
	/* Ids are stored lower case (UUIDs as the collector writes them); one typed in upper case is the same. */
	for (int i = optind; strcmp(action, "list") != 0 && i < argc; i++)
		for (char *p = argv[i]; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	if (strcmp(action, "show") == 0) {
		ret = cmd_show(rc, &o, argv[optind]);
	} else if (strcmp(action, "list") != 0) {
		for (int i = optind; i < argc && ret != EXIT_REDIS; i++) {
			int r = set_state(rc, &o, action, argv[i],
			    strcmp(action, "assign") == 0 ? to : note);
			if (r > ret)
				ret = r;
		}
	} else {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		if (o.group == NULL && (o.count > 0 || o.follow) &&
		    (ret = cmd_list(rc, &o, last, sizeof(last), &ord)) == 0 && o.follow)
			ret = follow_plain(rc, &o, last, sizeof(last), ord);
		else if (o.group)
			ret = follow_group(rc, &o);
	}
	redisFree(rc);
	return ret;
}
