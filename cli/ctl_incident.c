/*
 * ctl_incident – minisocctl incident: operators turn alerts into incidents
 * and track them against the reporting deadlines of their framework
 * (profile "incidents": 5 days under the old framework; a serious incident
 * under the new one: notice within 24 h, full report within 72 h).
 *
 * State lives in Redis, in the format agreed with the forwarding side:
 *   minisoc:incident:<id>     hash, field "json" = the incident (below)
 *   minisoc:incidents         sorted set of ids, score = created ms
 *   minisoc:incidents:events  stream, every create/update: field "incident" = JSON
 * Writes of one change go in one MULTI/EXEC. Two operators changing the same
 * incident at once: the last write wins (each change is in the stream).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ms_json.h"
#include "ms_redis.h"
#include "ctl_comp.h"
#include "ms_register.h"
#include "ms_util.h"
#include "ms_yaml.h"

#define INC_KEY_SET "minisoc:incidents"
#define INC_KEY_STREAM "minisoc:incidents:events"
#define INC_KEY_SEQ "minisoc:incidents:seq"

static const char *const severities[] = { "low", "medium", "high", "critical", NULL };
static const char *const statuses[] = { "open", "notified", "reported", "closed", NULL };

static bool
in_set(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

redisContext *
ctl_redis_connect(const char *addr, const char *sock, const char *prog)
{
	char host[256] = "127.0.0.1";
	int64_t port = 6379;
	redisContext *rc;
	char err[512];

	if (addr) {
		const char *colon = strrchr(addr, ':');
		if (colon == NULL || ms_parse_i64(colon + 1, 1, 65535, &port) < 0 ||
		    (size_t)(colon - addr) >= sizeof(host)) {
			fprintf(stderr, "%s: --redis wants HOST:PORT\n", prog);
			return NULL;
		}
		ms_copy(host, sizeof(host), addr, (size_t)(colon - addr));
	}
	rc = sock ? redisConnectUnix(sock) : redisConnect(host, (int)port);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "%s: cannot connect to Redis: %s\n", prog,
		    rc ? rc->errstr : "out of memory");
		if (rc)
			redisFree(rc);
		return NULL;
	}
	if (ms_redis_auth_env(rc, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		redisFree(rc);
		return NULL;
	}
	return rc;
}

int
ctl_scan(redisContext *rc, const char *pattern, ctl_scan_fn fn, void *arg)
{
	char cursor[32] = "0";
	redisReply *r;

	do {
		r = redisCommand(rc, "SCAN %s MATCH %s COUNT 200", cursor, pattern);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			if (r)
				freeReplyObject(r);
			return -1;
		}
		ms_copy(cursor, sizeof(cursor), r->element[0]->str, r->element[0]->len);
		for (size_t i = 0; i < r->element[1]->elements; i++)
			if (r->element[1]->element[i]->type == REDIS_REPLY_STRING)
				fn(rc, r->element[1]->element[i]->str, arg);
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

const char *
ctl_profile_dir(void)
{
	const char *env = getenv("MINISOC_PROFILE_DIR");
	struct stat st;

	if (env && *env)
		return env;
	if (stat("rules/compliance", &st) == 0 && S_ISDIR(st.st_mode))
		return "rules/compliance";
#ifdef MINISOC_PROFILE_DIR
	return MINISOC_PROFILE_DIR;
#else
	return "/usr/local/share/minisoc/compliance";
#endif
}

/* ---- the record ------------------------------------------------------ */

static void
json_time_or_null(struct ms_json *j, const char *key, int64_t ms)
{
	char t[32];

	ms_json_key(j, key);
	if (ms == 0) {
		ms_json_null(j);
		return;
	}
	ms_fmt_time(t, sizeof(t), ms);
	ms_json_str(j, t);
}

void
incident_judge(const struct incident *inc, int64_t now, struct inc_state *st)
{
	/* A report also counts as the notice. */
	int64_t notice = inc->notified ? inc->notified : inc->reported;

	memset(st, 0, sizeof(*st));
	if (inc->deadline_notice) {
		st->notice_late = notice && notice > inc->deadline_notice;
		st->notice_overdue = !notice && !inc->closed && now > inc->deadline_notice;
	}
	st->report_late = inc->reported && inc->reported > inc->deadline_report;
	st->report_overdue = !inc->reported && !inc->closed && now > inc->deadline_report;
	st->overdue = st->notice_overdue || st->report_overdue;
}

void
incident_to_json(const struct incident *inc, int64_t now, struct ms_json *j)
{
	struct inc_state st;
	char t[32];

	incident_judge(inc, now, &st);
	ms_json_obj_open(j);
	ms_json_key(j, "id");
	ms_json_str(j, inc->id);
	ms_fmt_time(t, sizeof(t), inc->created);
	ms_json_key(j, "created");
	ms_json_str(j, t);
	ms_fmt_time(t, sizeof(t), inc->updated);
	ms_json_key(j, "updated");
	ms_json_str(j, t);
	ms_json_key(j, "severity");
	ms_json_str(j, inc->severity);
	ms_json_key(j, "serious");
	ms_json_bool(j, inc->serious);
	ms_json_key(j, "title");
	ms_json_str(j, inc->title);
	ms_json_key(j, "systems");
	ms_json_arr_open(j);
	for (size_t i = 0; i < inc->nsystems; i++)
		ms_json_str(j, inc->systems[i]);
	ms_json_arr_close(j);
	ms_json_key(j, "alerts");
	ms_json_arr_open(j);
	for (size_t i = 0; i < inc->nalerts; i++)
		ms_json_str(j, inc->alerts[i]);
	ms_json_arr_close(j);
	ms_json_key(j, "status");
	ms_json_str(j, inc->status);
	ms_json_key(j, "notes");
	ms_json_arr_open(j);
	for (size_t i = 0; i < inc->nnotes; i++) {
		ms_json_obj_open(j);
		ms_fmt_time(t, sizeof(t), inc->notes[i].time);
		ms_json_key(j, "time");
		ms_json_str(j, t);
		ms_json_key(j, "who");
		ms_json_str(j, inc->notes[i].who);
		ms_json_key(j, "text");
		ms_json_str(j, inc->notes[i].text);
		ms_json_obj_close(j);
	}
	ms_json_arr_close(j);
	/* Ours, beyond the agreed core. */
	ms_json_key(j, "framework");
	ms_json_str(j, inc->framework);
	json_time_or_null(j, "detected", inc->detected);
	json_time_or_null(j, "deadline_notice", inc->deadline_notice);
	json_time_or_null(j, "deadline_report", inc->deadline_report);
	json_time_or_null(j, "notified", inc->notified);
	json_time_or_null(j, "reported", inc->reported);
	json_time_or_null(j, "closed", inc->closed);
	ms_json_key(j, "overdue");
	ms_json_bool(j, st.overdue);
	ms_json_key(j, "overdue_notice");
	ms_json_bool(j, st.notice_overdue);
	ms_json_key(j, "overdue_report");
	ms_json_bool(j, st.report_overdue);
	ms_json_obj_close(j);
}

static void
copy_str(const struct ms_yaml_node *n, const char *key, char *dst, size_t dstsz)
{
	const struct ms_yaml_node *v = ms_yaml_get(n, key);

	dst[0] = '\0';
	if (v && v->type == MS_YAML_SCALAR && !ms_yaml_is_null(v))
		ms_copy(dst, dstsz, v->str, strnlen(v->str, v->len));
}

static int64_t
get_time(const struct ms_yaml_node *n, const char *key)
{
	const struct ms_yaml_node *v = ms_yaml_get(n, key);
	int64_t ms;

	if (v == NULL || v->type != MS_YAML_SCALAR || ms_time_parse(v->str, &ms) < 0)
		return 0;
	return ms;
}

int
incident_parse(const char *json, size_t len, struct incident *inc)
{
	struct ms_yaml_node **docs = NULL, *r, *v;
	size_t ndocs = 0;
	char err[256];

	memset(inc, 0, sizeof(*inc));
	if (ms_json_yaml_parse(json, len, &docs, &ndocs, err, sizeof(err)) < 0 || ndocs != 1 ||
	    (r = docs[0])->type != MS_YAML_MAP) {
		ms_yaml_docs_free(docs, ndocs);
		return -1;
	}
	copy_str(r, "id", inc->id, sizeof(inc->id));
	copy_str(r, "severity", inc->severity, sizeof(inc->severity));
	copy_str(r, "title", inc->title, sizeof(inc->title));
	copy_str(r, "status", inc->status, sizeof(inc->status));
	copy_str(r, "framework", inc->framework, sizeof(inc->framework));
	v = ms_yaml_get(r, "serious");
	inc->serious = v && v->type == MS_YAML_SCALAR && strcmp(v->str, "true") == 0;
	inc->created = get_time(r, "created");
	inc->updated = get_time(r, "updated");
	inc->detected = get_time(r, "detected");
	inc->deadline_notice = get_time(r, "deadline_notice");
	inc->deadline_report = get_time(r, "deadline_report");
	inc->notified = get_time(r, "notified");
	inc->reported = get_time(r, "reported");
	inc->closed = get_time(r, "closed");
	if (inc->detected == 0)
		inc->detected = inc->created;
	if ((v = ms_yaml_get(r, "systems")) && v->type == MS_YAML_SEQ)
		for (size_t i = 0; i < v->n && inc->nsystems < INC_MAX_SYSTEMS; i++)
			if (v->items[i]->type == MS_YAML_SCALAR)
				ms_copy(inc->systems[inc->nsystems++], sizeof(inc->systems[0]),
				    v->items[i]->str, strnlen(v->items[i]->str, v->items[i]->len));
	if ((v = ms_yaml_get(r, "alerts")) && v->type == MS_YAML_SEQ)
		for (size_t i = 0; i < v->n && inc->nalerts < INC_MAX_ALERTS; i++)
			if (v->items[i]->type == MS_YAML_SCALAR)
				ms_copy(inc->alerts[inc->nalerts++], sizeof(inc->alerts[0]),
				    v->items[i]->str, strnlen(v->items[i]->str, v->items[i]->len));
	if ((v = ms_yaml_get(r, "notes")) && v->type == MS_YAML_SEQ)
		for (size_t i = 0; i < v->n && inc->nnotes < INC_MAX_NOTES; i++) {
			struct inc_note *nt = &inc->notes[inc->nnotes];
			if (v->items[i]->type != MS_YAML_MAP)
				continue;
			nt->time = get_time(v->items[i], "time");
			copy_str(v->items[i], "who", nt->who, sizeof(nt->who));
			copy_str(v->items[i], "text", nt->text, sizeof(nt->text));
			inc->nnotes++;
		}
	ms_yaml_docs_free(docs, ndocs);
	return inc->id[0] && inc->created ? 0 : -1;
}

/* ---- Redis ------------------------------------------------------------ */

/*
 * 0, -1 when there is no such incident, -2 when Redis failed or refused the
 * read (said on stderr), -3 when the record is there but not the agreed
 * JSON. An error reply (NOAUTH, WRONGTYPE, LOADING ...) or a garbled
 * record is no unknown incident: saying so would send the operator
 * looking for a typo while the data is unreachable or damaged.
 */
static int
incident_load(redisContext *rc, const char *id, struct incident *inc)
{
	redisReply *r = redisCommand(rc, "HGET minisoc:incident:%s json", id);
	int ret = -1;

	if (r == NULL) {
		fprintf(stderr, "minisocctl incident: Redis: %s\n", rc->errstr);
		return -2;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "minisocctl incident: Redis: %s\n", r->str);
		ret = -2;
	} else if (r->type == REDIS_REPLY_STRING) {
		ret = incident_parse(r->str, r->len, inc) == 0 ? 0 : -3;
	}
	freeReplyObject(r);
	return ret;
}

long
incident_load_range(redisContext *rc, int64_t from_ms, int64_t to_ms, struct incident **out)
{
	redisReply *r = redisCommand(rc, "ZRANGEBYSCORE " INC_KEY_SET " %lld %lld",
	    (long long)from_ms, (long long)to_ms);
	struct incident *v = NULL;
	long n = 0;

	*out = NULL;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		fprintf(stderr, "minisocctl: reading incidents: %s\n",
		    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
		if (r)
			freeReplyObject(r);
		return -1;
	}
	if (r->elements && (v = calloc(r->elements, sizeof(*v))) == NULL) {
		freeReplyObject(r);
		fprintf(stderr, "minisocctl: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING)
			continue;
		if (incident_load(rc, r->element[i]->str, &v[n]) == 0)
			n++;
		else
			fprintf(stderr, "minisocctl: incident %s unreadable, skipped\n", r->element[i]->str);
	}
	freeReplyObject(r);
	*out = v;
	return n;
}

/* Stores inc (hash, set) and appends it to the stream, in one transaction. */
static int
incident_store(redisContext *rc, const struct incident *inc, int64_t now)
{
	struct ms_buf b;
	struct ms_json j;
	redisReply *r;
	int ret = -1;
	char key[96];

	ms_buf_init(&b, 4u << 20);
	ms_json_init(&j, &b);
	incident_to_json(inc, now, &j);
	if (ms_json_finish(&j) < 0) {
		fprintf(stderr, "minisocctl incident: the incident is too large\n");
		goto out;
	}
	snprintf(key, sizeof(key), "minisoc:incident:%s", inc->id);
	redisAppendCommand(rc, "MULTI");
	redisAppendCommand(rc, "HSET %s json %b", key, b.data, b.len);
	redisAppendCommand(rc, "ZADD " INC_KEY_SET " %lld %s", (long long)inc->created, inc->id);
	redisAppendCommand(rc, "XADD " INC_KEY_STREAM " * incident %b", b.data, b.len);
	redisAppendCommand(rc, "EXEC");
	for (int i = 0; i < 5; i++) {
		if (redisGetReply(rc, (void **)&r) != REDIS_OK) {
			fprintf(stderr, "minisocctl incident: Redis: %s\n", rc->errstr);
			goto out;
		}
		if (i == 4 && (r->type != REDIS_REPLY_ARRAY || r->elements != 3)) {
			fprintf(stderr, "minisocctl incident: the write was refused: %s\n",
			    r->type == REDIS_REPLY_ERROR ? r->str : "transaction aborted");
			freeReplyObject(r);
			goto out;
		}
		freeReplyObject(r);
	}
	ret = 0;
out:
	ms_buf_fini(&b);
	return ret;
}

/* ---- the subcommands -------------------------------------------------- */

static void
incident_usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl incident COMMAND [options]\n"
	    "\n"
	    "  new   --title T --severity low|medium|high|critical [--serious]\n"
	    "        [--system SYS]... [--alert ID]... [--note TEXT] [--detected TIME]\n"
	    "        [--framework new|old] [--profile-dir DIR]    prints the new id\n"
	    "        (profiles: $MINISOC_PROFILE_DIR, ./rules/compliance or the installed ones)\n"
	    "  list  [--all] [--overdue] [--json]    open incidents (all: closed too)\n"
	    "  show  ID [--json]\n"
	    "  note  ID TEXT [--status open|notified|reported]\n"
	    "  close ID [--note TEXT]\n"
	    "\n"
	    "Common: -r HOST:PORT | -s SOCKET (Redis, default 127.0.0.1:6379),\n"
	    "        --who NAME (default $USER), --at TIME (judge deadlines as of TIME;\n"
	    "        also the time of the change; RFC 3339 or YYYY-MM-DD; default now).\n"
	    "Deadlines come from the framework's profile (rules/compliance/<framework>.yml,\n"
	    "\"incidents\"): serious under the new framework: notice 24 h, report 72 h;\n"
	    "otherwise 5 days. An incident is overdue while a deadline passed unmet.\n"
	    "\n"
	    "Exit status: 0 ok, 1 usage or unknown incident, 2 Redis or profile error, or\n"
	    "an incident stored but unreadable.\n");
}

static void
print_line(const struct incident *inc, int64_t now)
{
	struct inc_state st;
	char det[32], dl[32];

	incident_judge(inc, now, &st);
	ms_fmt_time(det, sizeof(det), inc->detected);
	ms_fmt_time(dl, sizeof(dl), inc->deadline_notice && !inc->notified && !inc->reported ?
	    inc->deadline_notice : inc->deadline_report);
	printf("%-22s %-8s %-8s %-9s detected %s  due %s%s  %s\n", inc->id, inc->severity,
	    inc->serious ? "serious" : "-", inc->status, det, dl,
	    st.notice_overdue ? "  OVERDUE(notice)" : st.report_overdue ? "  OVERDUE(report)" : "",
	    inc->title);
}

static void
print_full(const struct incident *inc, int64_t now, bool json)
{
	struct ms_buf b;
	struct ms_json j;
	char t[32];

	if (json) {
		ms_buf_init(&b, 4u << 20);
		ms_json_init(&j, &b);
		incident_to_json(inc, now, &j);
		if (ms_json_finish(&j) == 0)
			printf("%s\n", b.data);
		ms_buf_fini(&b);
		return;
	}
	print_line(inc, now);
	printf("  systems:");
	for (size_t i = 0; i < inc->nsystems; i++)
		printf(" %s", inc->systems[i]);
	printf("\n  alerts:");
	for (size_t i = 0; i < inc->nalerts; i++)
		printf(" %s", inc->alerts[i]);
	printf("\n  framework: %s\n", inc->framework);
	for (size_t i = 0; i < inc->nnotes; i++) {
		ms_fmt_time(t, sizeof(t), inc->notes[i].time);
		printf("  %s %s: %s\n", t, inc->notes[i].who, inc->notes[i].text);
	}
}

static int
add_note(struct incident *inc, int64_t now, const char *who, const char *text)
{
	struct inc_note *n;

	if (inc->nnotes >= INC_MAX_NOTES) {
		fprintf(stderr, "minisocctl incident: at most %d notes\n", INC_MAX_NOTES);
		return -1;
	}
	n = &inc->notes[inc->nnotes++];
	n->time = now;
	ms_copy(n->who, sizeof(n->who), who, strlen(who));
	ms_copy(n->text, sizeof(n->text), text, strlen(text));
	return 0;
}

/* Applies a status: the times the deadlines are judged by are set once. */
static void
set_status(struct incident *inc, const char *status, int64_t now)
{
	ms_copy(inc->status, sizeof(inc->status), status, strlen(status));
	if (strcmp(status, "notified") == 0 && !inc->notified)
		inc->notified = now;
	if (strcmp(status, "reported") == 0 && !inc->reported)
		inc->reported = now;
	if (strcmp(status, "closed") == 0 && !inc->closed)
		inc->closed = now;
}

static int
cmd_new(redisContext *rc, struct incident *inc, int64_t now, const char *who, const char *note,
    const char *profile_dir)
{
	char err[2048], day[16];
	struct ms_comp_profile *p;
	redisReply *r;
	int y, m, d;

	if ((p = ms_comp_profile_find(profile_dir, inc->framework, err, sizeof(err))) == NULL) {
		fprintf(stderr, "minisocctl incident: %s\n", err);
		return 2;
	}
	ms_comp_deadlines(p, inc->serious, inc->detected, &inc->deadline_notice,
	    &inc->deadline_report);
	ms_comp_profile_free(p);
	if ((r = redisCommand(rc, "INCR " INC_KEY_SEQ)) == NULL || r->type != REDIS_REPLY_INTEGER) {
		fprintf(stderr, "minisocctl incident: Redis: %s\n",
		    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
		if (r)
			freeReplyObject(r);
		return 2;
	}
	ms_date_civil(now / 86400000, &y, &m, &d);
	snprintf(day, sizeof(day), "%04d%02d%02d", y, m, d);
	snprintf(inc->id, sizeof(inc->id), "INC-%s-%04lld", day, (long long)r->integer);
	freeReplyObject(r);
	inc->created = inc->updated = now;
	ms_copy(inc->status, sizeof(inc->status), "open", 4);
	if (note && add_note(inc, now, who, note) < 0)
		return 1;
	if (incident_store(rc, inc, now) < 0)
		return 2;
	printf("%s\n", inc->id);
	return 0;
}

int
ctl_incident(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "title", required_argument, NULL, 't' },
		{ "severity", required_argument, NULL, 'S' },
		{ "serious", no_argument, NULL, 'X' },
		{ "system", required_argument, NULL, 'y' },
		{ "alert", required_argument, NULL, 'a' },
		{ "note", required_argument, NULL, 'n' },
		{ "status", required_argument, NULL, 'u' },
		{ "detected", required_argument, NULL, 'd' },
		{ "framework", required_argument, NULL, 'F' },
		{ "profile-dir", required_argument, NULL, 'P' },
		{ "who", required_argument, NULL, 'w' },
		{ "at", required_argument, NULL, 'T' },
		{ "all", no_argument, NULL, 'A' },
		{ "overdue", no_argument, NULL, 'O' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *addr = NULL, *sock = NULL, *note = NULL, *status = NULL;
	const char *profile_dir = ctl_profile_dir(), *who = getenv("USER");
	struct incident *inc = NULL, *all = NULL;
	redisContext *rc = NULL;
	const char *cmd;
	bool list_all = false, only_overdue = false, json = false;
	int64_t now = ms_now_ms();
	int ch, ret = 1;
	long n;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		incident_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	if ((inc = calloc(1, sizeof(*inc))) == NULL)
		return 2;
	ms_copy(inc->framework, sizeof(inc->framework), "new", 3);
	if (who == NULL || *who == '\0')
		who = "operator";
	/* Options may come before or after the command: getopt moves the operands last. */
	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': addr = optarg; break;
		case 's': sock = optarg; break;
		case 't':
			/* Refused, not cut: cut, a Vietnamese title could end inside a character. */
			if (strlen(optarg) >= sizeof(inc->title)) {
				fprintf(stderr, "minisocctl incident: --title is longer than %zu bytes\n",
				    sizeof(inc->title) - 1);
				goto out;
			}
			ms_copy(inc->title, sizeof(inc->title), optarg, strlen(optarg));
			break;
		case 'S':
			if (!in_set(optarg, severities)) {
				fprintf(stderr, "minisocctl incident: --severity: low, medium, high or critical\n");
				goto out;
			}
			ms_copy(inc->severity, sizeof(inc->severity), optarg, strlen(optarg));
			break;
		case 'X': inc->serious = true; break;
		case 'y':
			if (inc->nsystems >= INC_MAX_SYSTEMS || strlen(optarg) >= sizeof(inc->systems[0])) {
				fprintf(stderr, "minisocctl incident: too many or too long --system\n");
				goto out;
			}
			ms_copy(inc->systems[inc->nsystems++], sizeof(inc->systems[0]), optarg, strlen(optarg));
			break;
		case 'a':
			if (inc->nalerts >= INC_MAX_ALERTS || strlen(optarg) >= sizeof(inc->alerts[0])) {
				fprintf(stderr, "minisocctl incident: too many or too long --alert\n");
				goto out;
			}
			ms_copy(inc->alerts[inc->nalerts++], sizeof(inc->alerts[0]), optarg, strlen(optarg));
			break;
		case 'n': note = optarg; break;
		case 'u':
			if (!in_set(optarg, statuses) || strcmp(optarg, "closed") == 0) {
				fprintf(stderr, "minisocctl incident: --status: open, notified or reported "
				    "(close with \"incident close\")\n");
				goto out;
			}
			status = optarg;
			break;
		case 'd':
			if (ms_time_parse(optarg, &inc->detected) < 0) {
				fprintf(stderr, "minisocctl incident: --detected wants RFC 3339 or YYYY-MM-DD\n");
				goto out;
			}
			break;
		case 'F': ms_copy(inc->framework, sizeof(inc->framework), optarg, strlen(optarg)); break;
		case 'P': profile_dir = optarg; break;
		case 'w': who = optarg; break;
		case 'T':
			if (ms_time_parse(optarg, &now) < 0) {
				fprintf(stderr, "minisocctl incident: --at wants RFC 3339 or YYYY-MM-DD\n");
				goto out;
			}
			break;
		case 'A': list_all = true; break;
		case 'O': only_overdue = true; break;
		case 'j': json = true; break;
		case 'h': incident_usage(stdout); ret = 0; goto out;
		default: incident_usage(stderr); goto out;
		}
	}
	if (optind >= argc) {
		incident_usage(stderr);
		goto out;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "new") == 0) {
		if (inc->title[0] == '\0' || inc->severity[0] == '\0' || optind != argc) {
			fprintf(stderr, "minisocctl incident new: --title and --severity are required\n");
			goto out;
		}
		if (inc->detected == 0)
			inc->detected = now;
		if ((rc = ctl_redis_connect(addr, sock, "minisocctl incident")) == NULL) {
			ret = 2;
			goto out;
		}
		ret = cmd_new(rc, inc, now, who, note, profile_dir);
		goto out;
	}
	if (strcmp(cmd, "list") == 0) {
		if ((rc = ctl_redis_connect(addr, sock, "minisocctl incident")) == NULL ||
		    (n = incident_load_range(rc, 0, INT64_MAX / 4, &all)) < 0) {
			ret = 2;
			goto out;
		}
		for (long i = 0; i < n; i++) {
			struct inc_state st;
			incident_judge(&all[i], now, &st);
			if ((!list_all && all[i].closed) || (only_overdue && !st.overdue))
				continue;
			if (json)
				print_full(&all[i], now, true);
			else
				print_line(&all[i], now);
		}
		ret = 0;
		goto out;
	}
	if (strcmp(cmd, "show") == 0 || strcmp(cmd, "note") == 0 || strcmp(cmd, "close") == 0) {
		const char *id = optind < argc ? argv[optind] : NULL;
		const char *text = optind + 1 < argc ? argv[optind + 1] : NULL;
		int rl;

		if (id == NULL || (strcmp(cmd, "note") == 0 && text == NULL && status == NULL) ||
		    optind + (strcmp(cmd, "note") == 0 ? 2 : 1) < argc) {
			incident_usage(stderr);
			goto out;
		}
		if ((rc = ctl_redis_connect(addr, sock, "minisocctl incident")) == NULL) {
			ret = 2;
			goto out;
		}
		if ((rl = incident_load(rc, id, inc)) < 0) {
			if (rl == -1)
				fprintf(stderr, "minisocctl incident: no incident %s\n", id);
			if (rl == -3)
				fprintf(stderr, "minisocctl incident: incident %s is stored but unreadable "
				    "(minisoc:incident:%s json is not the agreed JSON); nothing changed\n",
				    id, id);
			ret = rl == -1 ? 1 : 2;
			goto out;
		}
		if (strcmp(cmd, "show") == 0) {
			print_full(inc, now, json);
			ret = 0;
			goto out;
		}
		if (strcmp(cmd, "close") == 0) {
			text = note;
			status = "closed";
		}
		if (text && add_note(inc, now, who, text) < 0)
			goto out;
		if (status)
			set_status(inc, status, now);
		inc->updated = now;
		ret = incident_store(rc, inc, now) < 0 ? 2 : 0;
		if (ret == 0)
			print_line(inc, now);
		goto out;
	}
	fprintf(stderr, "minisocctl incident: unknown command \"%s\"\n", cmd);
	incident_usage(stderr);
out:
	free(all);
	free(inc);
	if (rc)
		redisFree(rc);
	return ret;
}
