/*
 * ctl_report – minisocctl report: the compliance report on every system of
 * the register, under one framework's profile, for a period.
 *
 * Automatic requirements are judged from what minisoc sees (Redis: agents'
 * last frames, handled sequence numbers, health reports, event categories
 * seen; the event archive folder for retention); manual ones from the
 * attestations of the register (document reference and expiry: an expired
 * one fails). The same evaluation is rendered as HTML (one self-contained,
 * printable file with inline SVG charts), CSV (the annex table) or JSON
 * (everything). Vietnamese by default, English with --lang en. A telemetry
 * check whose only evidence is dated after the time judged at is unknown
 * (RES_UNKNOWN): Redis keeps only the latest values.
 * docs/compliance.md describes every check and section.
 *
 * --publish also writes one summary per system (status, counts, the
 * failed requirements, when it was judged) into the Redis hash
 * minisoc:systems:compliance, replaced whole, for the dashboard.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "ctl_comp.h"
#include "ms_buf.h"
#include "ms_json.h"
#include "ms_map.h"
#include "ms_pki.h"
#include "ms_register.h"
#include "ms_util.h"
#include "ms_yaml.h"

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define REPORT_MAX (256u << 20)
#define TOP_N 10
/*
 * Telemetry dated up to this much after T still speaks for T: the clocks
 * of the report's host and the collector may differ a little (event times
 * are capped at the collector's clock + 5 s). Later evidence says nothing
 * of T: the check is unknown.
 */
#define SKEW_MS HOUR_MS

/*
 * RES_UNKNOWN: the only evidence is dated after T (Redis keeps the latest
 * telemetry only), so what held at T cannot be told: neither a pass nor a
 * fail. It counts as not passed (a requirement nobody can show met is not
 * met) but is shown as unknown, never as a gap.
 */
enum { RES_NA = 0, RES_PASS, RES_FAIL, RES_UNKNOWN };
enum { CAT_LOGIN, CAT_CONFIG, CAT_ERROR, CAT_N };

/* What Redis says about one agent. */
struct agent_tel {
	int64_t last_seen;	/* 0: never */
	int64_t seq;		/* handled seq, 0: none */
	bool health;		/* a health report is stored */
	int64_t health_ms;	/* its received_ms */
	int clock_synced;	/* 1, 0, -1 unknown */
	int am_total, am_running;
	char am_bad[128];	/* the first anti-malware not running */
	bool capture_running;
	bool capture_seen;
	/*
	 * capture.running 1 – all a minisoc capture agent from before
	 * 2026-11-29 (78b3cb5) reports; read only when no capture.*state
	 * field is there, so a fleet's sensors pass before they are upgraded.
	 */
	bool capture_running_old;
	struct ms_map *seen;	/* category -> int64_t* ms (owned) */
};

struct res {
	int r;
	int64_t ev;		/* evidence time (ms), 0 when none */
	char detail[480];
};

struct sys_ev {
	const struct ms_reg_system *s;
	struct res *res;	/* one per requirement */
	int applicable, passed, unknown;
	int agents, agents_fresh;
	struct ms_retention ret;
	bool has_ret;
};

struct counter {
	struct ms_map *m;	/* key -> int64_t* */
	const char **keys;	/* sorted, after counter_sort */
	int64_t *vals;
	size_t n;
	int64_t total;
};

struct report {
	/* options */
	const char *reg_path, *profile_dir, *framework, *archive_dir, *stream, *out_path;
	bool vi;
	bool publish;		/* --publish */
	enum { FMT_HTML, FMT_CSV, FMT_JSON, FMT_NONE } fmt;
	int64_t from_ms, to_ms, at_ms, now_ms, max_alerts;
	/* inputs */
	struct ms_register *reg;
	struct ms_comp_profile *prof;
	redisContext *rc;
	struct ms_map *tel;	/* agent id -> struct agent_tel* */
	/* results */
	struct sys_ev *sys;
	int by_level[6];
	int dossier[4];
	int plans, impl[3];
	int layer_active[MS_REG_LAYERS], layer_expired[MS_REG_LAYERS];
	int sys_with_agent, assets, assets_with_agent, agents, agents_fresh, compliant;
	int agents_unknown;	/* heard only after T: whether within 24 h before T is not known */
	int sys_unknown;	/* systems with no failed requirement but some unknown */
	int level_n[6];
	int *level_pass;	/* [level * nreqs + req] */
	int *level_unknown;	/* [level * nreqs + req] */
	char **unassigned;
	size_t nunassigned;
	struct incident *inc;
	long ninc;
	int inc_serious, inc_open, inc_overdue, inc_late, inc_on_time;
	struct counter by_type, by_system, by_source;
	int64_t nalerts;
	bool alerts_truncated;
};

/* Both texts take the same arguments when used as formats: GCC checks the English one. */
__attribute__((format_arg(3)))
static const char *
tr(const struct report *r, const char *vi, const char *en)
{
	return r->vi ? vi : en;
}

static const char *
layer_status_label(const struct report *r, enum ms_reg_layer_status s)
{
	return s == MS_REG_LAYER_ACTIVE ? tr(r, "Hoạt động", "Active") :
	    s == MS_REG_LAYER_PARTIAL ? tr(r, "Một phần", "Partial") : tr(r, "Chưa có", "Missing");
}

/*
 * The register's system type as the report says it (Decree 85/2016's
 * classes of information systems); the JSON keeps the register's name.
 */
static const char *
type_label(const struct report *r, const char *type)
{
	if (strcmp(type, "internal") == 0)
		return tr(r, "Phục vụ hoạt động nội bộ", "Internal operations");
	if (strcmp(type, "citizen-facing") == 0)
		return tr(r, "Phục vụ người dân, doanh nghiệp", "Serving citizens and businesses");
	if (strcmp(type, "infrastructure") == 0)
		return tr(r, "Cơ sở hạ tầng thông tin", "Information infrastructure");
	if (strcmp(type, "industrial-control") == 0)
		return tr(r, "Điều khiển công nghiệp", "Industrial control");
	return type;
}

/* The profile's manual requirement id, or NULL. */
static const struct ms_comp_req *
attest_req(const struct report *r, const char *id)
{
	for (size_t q = 0; q < r->prof->nreqs; q++)
		if (r->prof->reqs[q].check == MS_CHECK_MANUAL && strcmp(r->prof->reqs[q].id, id) == 0)
			return &r->prof->reqs[q];
	return NULL;
}

/*
 * An attestation of a requirement the framework does not have as a manual
 * one (a typo, or one of the other framework) attests nothing: said on
 * stderr, and the report marks it, rather than "not attested" alone.
 */
static void
attest_check(const struct report *r)
{
	for (size_t i = 0; i < r->reg->n; i++) {
		const struct ms_reg_system *s = &r->reg->systems[i];

		for (size_t k = 0; k < s->nattest; k++)
			if (attest_req(r, s->attest[k].requirement) == NULL)
				fprintf(stderr, "minisocctl report: warning: system %s attests '%s', which is "
				    "no manual requirement of framework '%s' (a typo? it attests nothing)\n",
				    s->id, s->attest[k].requirement, r->prof->id);
	}
}

/* ---- telemetry -------------------------------------------------------- */

static void
tel_free(void *p)
{
	struct agent_tel *t = p;

	if (t == NULL)
		return;
	ms_map_free(t->seen);
	free(t);
}

static int64_t
reply_i64(redisReply *r)
{
	int64_t v;

	if (r && r->type == REDIS_REPLY_STRING && ms_parse_i64(r->str, 0, INT64_MAX, &v) == 0)
		return v;
	return 0;
}

/* Reads the four keys of one agent; NULL when out of memory. */
static struct agent_tel *
tel_fetch(struct report *r, const char *agent)
{
	struct agent_tel *t = calloc(1, sizeof(*t));
	redisReply *x;

	if (t == NULL || (t->seen = ms_map_new(free)) == NULL) {
		tel_free(t);
		return NULL;
	}
	t->clock_synced = -1;
	redisAppendCommand(r->rc, "HGET minisoc:agents:last_seen %s", agent);
	redisAppendCommand(r->rc, "HGET minisoc:agents:seq %s", agent);
	redisAppendCommand(r->rc, "HGETALL minisoc:agent:%s:health", agent);
	redisAppendCommand(r->rc, "HGETALL minisoc:agent:%s:seen", agent);
	for (int i = 0; i < 4; i++) {
		if (redisGetReply(r->rc, (void **)&x) != REDIS_OK)
			return t;
		if (i == 0)
			t->last_seen = reply_i64(x);
		else if (i == 1)
			t->seq = reply_i64(x);
		else if (x->type == REDIS_REPLY_ARRAY)
			for (size_t k = 0; k + 1 < x->elements; k += 2) {
				const char *f = x->element[k]->str, *v = x->element[k + 1]->str;
				if (f == NULL || v == NULL)
					continue;
				if (i == 3) {
					int64_t *ms = malloc(sizeof(*ms));
					if (ms && (*ms = reply_i64(x->element[k + 1]), 1) &&
					    ms_map_put(t->seen, f, strlen(f), ms) < 0)
						free(ms);
					continue;
				}
				t->health = true;
				if (strcmp(f, "received_ms") == 0)
					t->health_ms = reply_i64(x->element[k + 1]);
				else if (strcmp(f, "clock.synced") == 0)
					t->clock_synced = strcmp(v, "1") == 0;
				else if (strncmp(f, "antimalware.", 12) == 0) {
					t->am_total++;
					if (strcmp(v, "running") == 0)
						t->am_running++;
					else if (t->am_bad[0] == '\0')
						snprintf(t->am_bad, sizeof(t->am_bad), "%.60s=%.40s", f + 12, v);
				} else if (strncmp(f, "capture.", 8) == 0) {
					/*
					 * capture.state or capture.<interface>.state = running
					 * ("capture.state" is 13 bytes: 14 passed it over)
					 */
					size_t fl = strlen(f);
					if (fl >= 13 && strcmp(f + fl - 6, ".state") == 0) {
						t->capture_seen = true;
						t->capture_running = t->capture_running || strcmp(v, "running") == 0;
					} else if (strcmp(f, "capture.running") == 0 && strcmp(v, "1") == 0) {
						t->capture_running_old = true;
					}
				}
			}
		freeReplyObject(x);
	}
	if (!t->capture_seen && t->capture_running_old)
		t->capture_running = true;
	return t;
}

static const struct agent_tel *
tel_get(struct report *r, const char *agent)
{
	struct agent_tel *t = ms_map_get(r->tel, agent, strlen(agent));

	if (t == NULL && (t = tel_fetch(r, agent)) != NULL &&
	    ms_map_put(r->tel, agent, strlen(agent), t) < 0) {
		tel_free(t);
		t = NULL;
	}
	return t;
}

/* ---- checks ----------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void
res_set(struct res *x, int r, const char *fmt, ...)
{
	va_list ap;

	x->r = r;
	va_start(ap, fmt);
	vsnprintf(x->detail, sizeof(x->detail), fmt, ap);
	va_end(ap);
}

/* Keeps the oldest evidence: the check is as fresh as its stalest asset. */
static void
ev_min(struct res *x, int64_t ms)
{
	if (ms > 0 && (x->ev == 0 || ms < x->ev))
		x->ev = ms;
}

static void
fmt_ms(char *out, size_t outsz, int64_t ms)
{
	if (ms <= 0)
		snprintf(out, outsz, "-");
	else
		ms_fmt_time(out, outsz, ms);
}

/* Evidence dated so long after T that it says nothing of what held at T. */
static bool
after_at(const struct report *r, int64_t ms)
{
	return ms > r->at_ms + SKEW_MS;
}

/* The verdict when no asset failed but one (agent) is known only from ms, after T. */
static void
res_unknown(struct report *r, struct res *x, const char *agent, int64_t ms)
{
	char t[32], at[32];

	fmt_ms(t, sizeof(t), ms);
	fmt_ms(at, sizeof(at), r->at_ms);
	res_set(x, RES_UNKNOWN, tr(r, "không xác định tại %s: chỉ có dữ liệu đo mới nhất của %s (%s), "
	    "sau thời điểm đánh giá", "not known as of %s: only the latest telemetry of %s is kept (from %s)"),
	    at, agent, t);
	x->ev = ms;
}

/*
 * agent_reporting, logs_central, clock_synced, antimalware: every asset
 * must pass. An asset whose only telemetry is after T is unknown; the
 * system fails when another asset fails, else it is unknown.
 */
static void
check_assets(struct report *r, const struct ms_reg_system *s, const struct ms_comp_req *q,
    struct res *x)
{
	int64_t fresh = r->at_ms - q->hours * HOUR_MS, unk_ms = 0;
	const char *unk = NULL;	/* the first asset known only after T */
	char t[32];

	if (s->nassets == 0) {
		res_set(x, RES_FAIL, "%s", tr(r, "không có tài sản nào trong hồ sơ", "no asset registered"));
		return;
	}
	for (size_t i = 0; i < s->nassets; i++) {
		const struct ms_reg_asset *a = &s->assets[i];
		const struct agent_tel *tl;

		if (a->agent == NULL) {
			res_set(x, RES_FAIL, tr(r, "máy %s chưa cài tác tử", "host %s has no agent"), a->host);
			return;
		}
		if ((tl = tel_get(r, a->agent)) == NULL) {
			res_set(x, RES_FAIL, "out of memory");
			return;
		}
		switch (q->check) {
		case MS_CHECK_AGENT_REPORTING:
		case MS_CHECK_LOGS_CENTRAL:
			if (tl->last_seen == 0) {
				res_set(x, RES_FAIL, tr(r, "tác tử %s chưa từng kết nối", "agent %s never heard"),
				    a->agent);
				return;
			}
			/* No event handled even now: none was by T either. */
			if (after_at(r, tl->last_seen) && (q->check == MS_CHECK_AGENT_REPORTING || tl->seq > 0)) {
				if (unk == NULL) {
					unk = a->agent;
					unk_ms = tl->last_seen;
				}
				break;
			}
			if (tl->last_seen < fresh) {
				fmt_ms(t, sizeof(t), tl->last_seen);
				res_set(x, RES_FAIL, tr(r, "tác tử %s im lặng từ %s", "agent %s silent since %s"),
				    a->agent, t);
				x->ev = tl->last_seen;
				return;
			}
			if (q->check == MS_CHECK_LOGS_CENTRAL && tl->seq <= 0) {
				res_set(x, RES_FAIL, tr(r, "chưa nhận được nhật ký nào từ %s",
				    "no log event received from %s"), a->agent);
				return;
			}
			ev_min(x, tl->last_seen);
			break;
		default:
			/* The stored report replaced every earlier one: what it says is of its time. */
			if (tl->health && after_at(r, tl->health_ms)) {
				if (unk == NULL) {
					unk = a->agent;
					unk_ms = tl->health_ms;
				}
				break;
			}
			if (!tl->health || tl->health_ms < fresh) {
				fmt_ms(t, sizeof(t), tl->health_ms);
				res_set(x, RES_FAIL, tr(r, "không có báo cáo sức khỏe mới từ %s (gần nhất %s)",
				    "no recent health report from %s (last %s)"), a->agent, t);
				x->ev = tl->health_ms;
				return;
			}
			if (q->check == MS_CHECK_CLOCK_SYNCED && tl->clock_synced != 1) {
				res_set(x, RES_FAIL, tr(r, "đồng hồ của %s chưa đồng bộ", "clock of %s not synchronised"),
				    a->agent);
				x->ev = tl->health_ms;
				return;
			}
			if (q->check == MS_CHECK_ANTIMALWARE && (tl->am_total == 0 || tl->am_running < tl->am_total)) {
				if (tl->am_total == 0)
					res_set(x, RES_FAIL, tr(r, "%s không báo cáo phần mềm phòng chống mã độc",
					    "%s reports no anti-malware"), a->agent);
				else
					res_set(x, RES_FAIL, tr(r, "%s: %s", "%s: %s"), a->agent, tl->am_bad);
				x->ev = tl->health_ms;
				return;
			}
			ev_min(x, tl->health_ms);
			break;
		}
	}
	if (unk)
		res_unknown(r, x, unk, unk_ms);
	else
		res_set(x, RES_PASS, tr(r, "%zu tài sản đạt", "%zu assets pass"), s->nassets);
}

/*
 * Per category, the latest time each agent saw it: seen when one of them
 * is within [T - days, T + SKEW_MS]; unknown when none is but one is later
 * (an earlier sighting is not kept); else missing (certain: the latest is
 * older than the window, or there is none).
 */
static void
check_events(struct report *r, const struct ms_reg_system *s, const struct ms_comp_req *q,
    struct res *x)
{
	int64_t since = r->at_ms - q->days * DAY_MS, newest[MS_COMP_MAX_CATEGORIES] = { 0 };
	int64_t later[MS_COMP_MAX_CATEGORIES] = { 0 }, unk_ms = 0;
	char missing[256] = "", unknown[256] = "", at[32], t[32];
	size_t o = 0, u = 0;
	bool any_agent = false;

	for (size_t i = 0; i < s->nassets; i++) {
		const struct agent_tel *tl;
		if (s->assets[i].agent == NULL || (tl = tel_get(r, s->assets[i].agent)) == NULL)
			continue;
		any_agent = true;
		for (size_t c = 0; c < q->ncategories; c++) {
			const int64_t *ms = ms_map_get(tl->seen, q->categories[c], strlen(q->categories[c]));
			if (ms == NULL || *ms <= 0)
				continue;
			if (after_at(r, *ms)) {
				if (later[c] == 0 || *ms < later[c])
					later[c] = *ms;
			} else if (*ms > newest[c]) {
				newest[c] = *ms;
			}
		}
	}
	if (!any_agent) {
		res_set(x, RES_FAIL, "%s", tr(r, "không có tác tử", "no agent"));
		return;
	}
	for (size_t c = 0; c < q->ncategories; c++) {
		char *l = missing;
		size_t *n = &o;
		int w;

		if (newest[c] >= since) {
			ev_min(x, newest[c]);
			continue;
		}
		if (later[c]) {
			l = unknown;
			n = &u;
			if (unk_ms == 0 || later[c] < unk_ms)
				unk_ms = later[c];
		}
		w = snprintf(l + *n, sizeof(missing) - *n, "%s%s", *n ? ", " : "", q->categories[c]);
		if (w > 0 && (size_t)w < sizeof(missing) - *n)
			*n += (size_t)w;
	}
	if (o) {
		res_set(x, RES_FAIL, tr(r, "không thấy trong %lld ngày: %s", "not seen in %lld days: %s"),
		    (long long)q->days, missing);
	} else if (u) {
		fmt_ms(at, sizeof(at), r->at_ms);
		fmt_ms(t, sizeof(t), unk_ms);
		res_set(x, RES_UNKNOWN, tr(r, "không xác định tại %s: chỉ có lần thấy gần nhất (từ %s), sau "
		    "thời điểm đánh giá: %s", "not known as of %s: only the latest sighting is kept (from %s): %s"),
		    at, t, unknown);
		x->ev = unk_ms;
	} else {
		res_set(x, RES_PASS, tr(r, "đủ %zu loại sự kiện", "all %zu event types seen"),
		    q->ncategories);
	}
}

/*
 * One sensor: 1 alive at T, 0 not (x says why), -1 its only health report
 * is after T.
 */
static int
sensor_alive(struct report *r, const char *agent, int64_t fresh, struct res *x)
{
	const struct agent_tel *tl = tel_get(r, agent);

	if (tl && tl->health && after_at(r, tl->health_ms))
		return -1;
	if (tl == NULL || !tl->health || tl->health_ms < fresh || !tl->capture_running) {
		res_set(x, RES_FAIL, tr(r, "cảm biến %s không hoạt động", "sensor %s not alive"), agent);
		if (tl)
			x->ev = tl->health_ms;
		return 0;
	}
	ev_min(x, tl->health_ms);
	return 1;
}

static void
check_sensor(struct report *r, const struct ms_reg_system *s, const struct ms_comp_req *q,
    struct res *x)
{
	int64_t fresh = r->at_ms - q->hours * HOUR_MS, unk_ms = 0;
	const char *unk = NULL;
	size_t n = 0;
	int v;

	/* Every sensor of its own, however many. */
	for (size_t i = 0; i < s->nassets; i++) {
		if (!s->assets[i].sensor || s->assets[i].agent == NULL)
			continue;
		n++;
		if ((v = sensor_alive(r, s->assets[i].agent, fresh, x)) == 0)
			return;
		if (v < 0 && unk == NULL) {
			unk = s->assets[i].agent;
			unk_ms = tel_get(r, unk)->health_ms;
		}
	}
	/* No sensor of its own: the data center's shared ones watch it. */
	for (size_t i = 0; n == 0 && i < r->reg->nsensors; i++) {
		if ((v = sensor_alive(r, r->reg->sensors[i], fresh, x)) == 0)
			return;
		if (v < 0 && unk == NULL) {
			unk = r->reg->sensors[i];
			unk_ms = tel_get(r, unk)->health_ms;
		}
	}
	if (n == 0)
		n = r->reg->nsensors;
	if (n == 0)
		res_set(x, RES_FAIL, "%s", tr(r, "không có cảm biến mạng", "no network sensor"));
	else if (unk)
		res_unknown(r, x, unk, unk_ms);
	else
		res_set(x, RES_PASS, tr(r, "%zu cảm biến hoạt động", "%zu sensors alive"), n);
}

static int
collect_days(const char *dir, int64_t **out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;
	int64_t day;

	*out = NULL;
	*n = 0;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (ms_archive_day(e->d_name, &day) < 0)
			continue;
		if (*n == cap) {
			int64_t *p = realloc(*out, (cap ? cap * 2 : 64) * sizeof(*p));
			if (p == NULL)
				break;
			*out = p;
			cap = cap ? cap * 2 : 64;
		}
		(*out)[(*n)++] = day;
	}
	closedir(d);
	return 0;
}

static void
check_retention(struct report *r, struct sys_ev *se, const struct ms_comp_req *q, struct res *x)
{
	const struct ms_reg_system *s = se->s;
	int months = q->months[s->level];
	char dir[4096], a[16], b[16], c[16];
	int64_t *days = NULL;
	size_t n = 0;

	if (months == 0) {
		res_set(x, RES_NA, "%s", tr(r, "cấp độ này không yêu cầu", "not required at this level"));
		return;
	}
	snprintf(dir, sizeof(dir), "%s/%s", r->archive_dir, s->id);
	collect_days(dir, &days, &n);
	ms_retention_judge(days, n, r->at_ms / DAY_MS, months, &se->ret);
	se->has_ret = true;
	free(days);
	ms_date_fmt(a, sizeof(a), se->ret.oldest);
	ms_date_fmt(b, sizeof(b), se->ret.required);
	ms_date_fmt(c, sizeof(c), se->ret.first_missing);
	if (se->ret.oldest != MS_REG_NO_DATE)
		x->ev = se->ret.oldest * DAY_MS;
	if (se->ret.oldest == MS_REG_NO_DATE)
		res_set(x, RES_FAIL, tr(r, "chưa có dữ liệu lưu trữ (cần từ %s, %d tháng)",
		    "nothing archived (needs from %s, %d months)"), b, months);
	else if (se->ret.pass)
		res_set(x, RES_PASS, tr(r, "lưu từ %s (cần từ %s, %d tháng), không thiếu ngày",
		    "kept since %s (needs %s, %d months), no missing day"), a, b, months);
	else if (se->ret.missing)
		res_set(x, RES_FAIL, tr(r, "lưu từ %s (cần từ %s); thiếu %lld ngày, đầu tiên %s",
		    "kept since %s (needs %s); %lld days missing, first %s"), a, b,
		    (long long)se->ret.missing, c);
	else if (se->ret.oldest <= ms_date_add_months(r->now_ms / DAY_MS, -months)) {
		/*
		 * A past T: the collector's retention has deleted, since T, the
		 * days it no longer has to keep (months before today, plus its
		 * margin), so the archive cannot say whether the days before the
		 * oldest one were there at T. A current T never gets here (its
		 * required day is today's minus the months).
		 */
		char at[32];

		fmt_ms(at, sizeof(at), r->at_ms);
		res_set(x, RES_UNKNOWN, tr(r, "không xác định tại %s: lưu từ %s, cần từ %s (%d tháng); "
		    "các ngày trước đó có thể đã bị xoá theo thời hạn lưu trữ sau thời điểm đánh giá",
		    "not known as of %s: kept since %s, needs %s (%d months); older days may have been "
		    "deleted by the archive's retention since"), at, a, b, months);
	} else
		res_set(x, RES_FAIL, tr(r, "chỉ lưu từ %s, cần từ %s (%d tháng)",
		    "kept only since %s, needs %s (%d months)"), a, b, months);
}

static void
check_manual(struct report *r, const struct ms_reg_system *s, const struct ms_comp_req *q,
    struct res *x)
{
	int64_t today = r->at_ms / DAY_MS, until = MS_REG_NO_DATE;
	const char *ref = NULL;
	char d[16];

	if (q->layer) {
		for (int i = 0; i < MS_REG_LAYERS; i++) {
			if (strcmp(q->layer, ms_reg_layer_key(i)) != 0)
				continue;
			if (s->layers[i].status != MS_REG_LAYER_ACTIVE) {
				/* In the report's language, as the layers table says it. */
				res_set(x, RES_FAIL, tr(r, "lớp %d: %s", "layer %d: %s"), i + 1,
				    s->layers[i].status == MS_REG_LAYER_PARTIAL ? tr(r, "một phần", "partial") :
				    tr(r, "chưa có", "missing"));
				return;
			}
			ref = s->layers[i].evidence;
			until = s->layers[i].valid_until;
		}
	} else {
		for (size_t i = 0; i < s->nattest; i++)
			if (strcmp(s->attest[i].requirement, q->id) == 0) {
				ref = s->attest[i].ref;
				until = s->attest[i].valid_until;
			}
	}
	if (ref == NULL) {
		res_set(x, RES_FAIL, "%s", tr(r, "chưa có văn bản xác nhận", "not attested"));
		return;
	}
	ms_date_fmt(d, sizeof(d), until);
	if (until != MS_REG_NO_DATE && until < today) {
		res_set(x, RES_FAIL, tr(r, "%s – hết hiệu lực ngày %s", "%s – expired on %s"), ref, d);
		return;
	}
	if (until != MS_REG_NO_DATE)
		res_set(x, RES_PASS, tr(r, "%s – hiệu lực đến %s", "%s – valid until %s"), ref, d);
	else
		res_set(x, RES_PASS, "%s", ref);
}

static void
evaluate(struct report *r)
{
	size_t nq = r->prof->nreqs;

	for (size_t i = 0; i < r->reg->n; i++) {
		struct sys_ev *se = &r->sys[i];
		const struct ms_reg_system *s = &r->reg->systems[i];
		bool has_agent = false;

		se->s = s;
		r->by_level[s->level]++;
		r->dossier[s->dossier]++;
		r->plans += s->plan_approved;
		r->impl[s->plan_impl]++;
		for (int l = 0; l < MS_REG_LAYERS; l++) {
			r->layer_active[l] += s->layers[l].status == MS_REG_LAYER_ACTIVE;
			r->layer_expired[l] += s->layers[l].status == MS_REG_LAYER_ACTIVE &&
			    s->layers[l].valid_until != MS_REG_NO_DATE &&
			    s->layers[l].valid_until < r->at_ms / DAY_MS;
		}
		for (size_t k = 0; k < s->nassets; k++) {
			const struct agent_tel *tl;
			r->assets++;
			if (s->assets[k].agent == NULL)
				continue;
			has_agent = true;
			r->assets_with_agent++;
			se->agents++;
			if ((tl = tel_get(r, s->assets[k].agent)) == NULL)
				continue;
			/* Heard only after T: neither counted as reporting nor as silent. */
			if (after_at(r, tl->last_seen))
				r->agents_unknown++;
			else if (tl->last_seen >= r->at_ms - 24 * HOUR_MS)
				se->agents_fresh++;
		}
		r->agents += se->agents;
		r->agents_fresh += se->agents_fresh;
		r->sys_with_agent += has_agent;
		r->level_n[s->level]++;
		for (size_t q = 0; q < nq; q++) {
			const struct ms_comp_req *req = &r->prof->reqs[q];
			struct res *x = &se->res[q];

			if (s->level < req->from_level) {
				x->r = RES_NA;
				continue;
			}
			switch (req->check) {
			case MS_CHECK_MANUAL: check_manual(r, s, req, x); break;
			case MS_CHECK_RETENTION: check_retention(r, se, req, x); break;
			case MS_CHECK_EVENTS_SEEN: check_events(r, s, req, x); break;
			case MS_CHECK_SENSOR_ALIVE: check_sensor(r, s, req, x); break;
			default: check_assets(r, s, req, x); break;
			}
			if (x->r != RES_NA) {
				se->applicable++;
				se->passed += x->r == RES_PASS;
				se->unknown += x->r == RES_UNKNOWN;
				r->level_pass[s->level * nq + q] += x->r == RES_PASS;
				r->level_unknown[s->level * nq + q] += x->r == RES_UNKNOWN;
			}
		}
		/* Unknown is not passed: such a system is not compliant, nor does it fail. */
		r->compliant += se->applicable == se->passed;
		r->sys_unknown += se->unknown > 0 && se->passed + se->unknown == se->applicable;
	}
}

/* Agents that sent something but are nobody's asset (nor a shared sensor). */
static void
find_unassigned(struct report *r)
{
	redisReply *x = redisCommand(r->rc, "HKEYS minisoc:agents:last_seen");

	if (x == NULL || x->type != REDIS_REPLY_ARRAY) {
		if (x)
			freeReplyObject(x);
		return;
	}
	if ((r->unassigned = calloc(x->elements + 1, sizeof(char *))) != NULL) {
		for (size_t i = 0; i < x->elements; i++) {
			const char *a = x->element[i]->str;
			bool sensor = false;
			if (a == NULL || ms_register_find_agent(r->reg, a))
				continue;
			for (size_t k = 0; k < r->reg->nsensors; k++)
				sensor = sensor || strcmp(r->reg->sensors[k], a) == 0;
			if (!sensor && (r->unassigned[r->nunassigned] = strdup(a)) != NULL)
				r->nunassigned++;
		}
	}
	freeReplyObject(x);
}

/* ---- monitoring statistics ------------------------------------------- */

/*
 * Ends s (NUL-terminated, len bytes, cut anywhere) at the last complete
 * UTF-8 character: a lead byte whose sequence the cut shortened goes.
 */
static void
utf8_cut(char *s, size_t len)
{
	size_t i = len, need;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && len - i < 3)
		i--;
	if (i == 0 || ((unsigned char)s[i - 1] & 0x80) == 0)
		return;
	/* s[i - 1] leads a sequence of need bytes; len - i + 1 of them are here. */
	need = ((unsigned char)s[i - 1] & 0xe0) == 0xc0 ? 2 : ((unsigned char)s[i - 1] & 0xf0) == 0xe0 ? 3 : 4;
	if (len - i + 1 < need)
		s[i - 1] = '\0';
}

static void
counter_add(struct counter *c, const char *key)
{
	int64_t *v;

	if (key == NULL || *key == '\0')
		key = "-";
	c->total++;
	if ((v = ms_map_get(c->m, key, strlen(key))) != NULL) {
		(*v)++;
		return;
	}
	if ((v = malloc(sizeof(*v))) == NULL)
		return;
	*v = 1;
	if (ms_map_put(c->m, key, strlen(key), v) < 0)
		free(v);
}

static struct counter *sort_ctx;

static int
cmp_count(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int64_t x = sort_ctx->vals[i], y = sort_ctx->vals[j];

	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(sort_ctx->keys[i], sort_ctx->keys[j]);
}

/* Orders the entries by count (then name); keys stay owned by the map. */
static void
counter_sort(struct counter *c)
{
	struct ms_map_iter it;
	const void *k;
	int64_t *v;
	size_t n = ms_map_count(c->m), *idx;
	const char **keys;
	int64_t *vals;

	c->n = 0;
	if (n == 0 || (keys = calloc(n, sizeof(*keys))) == NULL)
		return;
	if ((vals = calloc(n, sizeof(*vals))) == NULL || (idx = calloc(n, sizeof(*idx))) == NULL) {
		free(keys);
		free(vals);
		return;
	}
	ms_map_iter_init(&it);
	while ((v = ms_map_next(c->m, &it, &k, NULL)) != NULL && c->n < n) {
		keys[c->n] = k;
		vals[c->n] = *v;
		idx[c->n] = c->n;
		c->n++;
	}
	c->keys = keys;
	c->vals = vals;
	sort_ctx = c;
	qsort(idx, c->n, sizeof(*idx), cmp_count);
	{
		const char **k2 = calloc(n, sizeof(*k2));
		int64_t *v2 = calloc(n, sizeof(*v2));
		if (k2 && v2) {
			for (size_t i = 0; i < c->n; i++) {
				k2[i] = keys[idx[i]];
				v2[i] = vals[idx[i]];
			}
			free(keys);
			free(vals);
			c->keys = k2;
			c->vals = v2;
		} else {
			free(k2);
			free(v2);
		}
	}
	free(idx);
}

static void
count_alert(struct report *r, const char *json, size_t len)
{
	struct ms_yaml_node **docs = NULL;
	const struct ms_yaml_node *a, *v;
	size_t nd = 0;
	char err[128], type[300];
	const char *sys = NULL;

	if (ms_json_yaml_parse(json, len, &docs, &nd, err, sizeof(err)) < 0 || nd != 1 ||
	    (a = docs[0])->type != MS_YAML_MAP)
		goto out;
	r->nalerts++;
	v = ms_yaml_path(a, "rule.title");
	snprintf(type, sizeof(type), "%.200s", v && v->type == MS_YAML_SCALAR ? v->str : "-");
	/* Cut between characters, not inside one: the HTML must stay UTF-8. */
	utf8_cut(type, strlen(type));
	counter_add(&r->by_type, type);
	if ((v = ms_yaml_path(a, "system.id")) && v->type == MS_YAML_SCALAR) {
		sys = v->str;
	} else if ((v = ms_yaml_path(a, "agent.id")) && v->type == MS_YAML_SCALAR) {
		/* Alerts from before the register was configured: map them now. */
		const struct ms_reg_system *s = ms_register_find_agent(r->reg, v->str);
		sys = s ? s->id : "unassigned";
	}
	counter_add(&r->by_system, sys);
	v = ms_yaml_get(a, "src_ip");
	if (v == NULL)
		v = ms_yaml_path(a, "source.ip");
	counter_add(&r->by_source, v && v->type == MS_YAML_SCALAR ? v->str : NULL);
out:
	ms_yaml_docs_free(docs, nd);
}

/* XRANGE over the period in pages; stream ids are the collector's ms. */
static void
read_alerts(struct report *r)
{
	char start[48];

	snprintf(start, sizeof(start), "%lld-0", (long long)r->from_ms);
	while (r->nalerts < r->max_alerts) {
		redisReply *x = redisCommand(r->rc, "XRANGE %s %s %lld-18446744073709551615 COUNT 1000",
		    r->stream, start, (long long)r->to_ms);
		size_t n;

		if (x == NULL || x->type != REDIS_REPLY_ARRAY || x->elements == 0) {
			if (x)
				freeReplyObject(x);
			return;
		}
		n = x->elements;
		for (size_t i = 0; i < n && r->nalerts < r->max_alerts; i++) {
			redisReply *e = x->element[i];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			for (size_t k = 0; k + 1 < e->element[1]->elements; k += 2)
				if (e->element[1]->element[k]->str &&
				    strcmp(e->element[1]->element[k]->str, "alert") == 0)
					count_alert(r, e->element[1]->element[k + 1]->str,
					    e->element[1]->element[k + 1]->len);
		}
		/* The next page starts after the last id: "(" is exclusive (Redis >= 6.2). */
		snprintf(start, sizeof(start), "(%s", x->element[n - 1]->element[0]->str);
		freeReplyObject(x);
		if (n < 1000)
			return;
	}
	r->alerts_truncated = true;
}

static void
judge_incidents(struct report *r)
{
	for (long i = 0; i < r->ninc; i++) {
		struct inc_state st;
		incident_judge(&r->inc[i], r->at_ms, &st);
		r->inc_serious += r->inc[i].serious;
		r->inc_open += r->inc[i].closed == 0;
		r->inc_overdue += st.overdue;
		r->inc_late += st.notice_late || st.report_late;
		r->inc_on_time += r->inc[i].reported && !st.notice_late && !st.report_late;
	}
}

/* ---- JSON ------------------------------------------------------------- */

static void
jkv_time(struct ms_json *j, const char *k, int64_t ms)
{
	char t[32];

	ms_json_key(j, k);
	if (ms <= 0) {
		ms_json_null(j);
		return;
	}
	ms_fmt_time(t, sizeof(t), ms);
	ms_json_str(j, t);
}

/*
 * {"num":53,"den":69,"pct":"76.81","text":"53/69 = 76.81 %"}, and
 * "unknown": N when unknown >= 0 (a per-level rate: the unknown ones are
 * in den, not passed, and counted apart).
 */
static void
jkv_ratio_of(struct ms_json *j, const char *k, int64_t num, int64_t den, int64_t unknown)
{
	char pct[32], text[96];

	ms_pct(num, den, pct, sizeof(pct));
	snprintf(text, sizeof(text), "%lld/%lld = %s %%", (long long)num, (long long)den, pct);
	ms_json_key(j, k);
	ms_json_obj_open(j);
	ms_json_key(j, "num");
	ms_json_int(j, num);
	ms_json_key(j, "den");
	ms_json_int(j, den);
	ms_json_kv_str(j, "pct", pct);
	ms_json_kv_str(j, "text", text);
	if (unknown >= 0) {
		ms_json_key(j, "unknown");
		ms_json_int(j, unknown);
	}
	ms_json_obj_close(j);
}

static void
jkv_ratio(struct ms_json *j, const char *k, int64_t num, int64_t den)
{
	jkv_ratio_of(j, k, num, den, -1);
}

static void
jkv_rate(struct ms_json *j, const char *k, int64_t num, int64_t den, int64_t unknown)
{
	jkv_ratio_of(j, k, num, den, unknown);
}

static const char *
res_name(int r)
{
	return r == RES_PASS ? "pass" : r == RES_FAIL ? "fail" : r == RES_UNKNOWN ? "unknown" : "n/a";
}

static void
json_counter(struct ms_json *j, const char *k, const struct counter *c)
{
	ms_json_key(j, k);
	ms_json_arr_open(j);
	for (size_t i = 0; i < c->n; i++) {
		ms_json_obj_open(j);
		ms_json_kv_str(j, "name", c->keys[i]);
		ms_json_key(j, "count");
		ms_json_int(j, c->vals[i]);
		ms_json_obj_close(j);
	}
	ms_json_arr_close(j);
}

static void
json_system(struct report *r, struct ms_json *j, const struct sys_ev *se)
{
	const struct ms_reg_system *s = se->s;

	ms_json_obj_open(j);
	ms_json_kv_str(j, "id", s->id);
	ms_json_kv_str(j, "name", s->name);
	ms_json_kv_str(j, "type", s->type);
	ms_json_key(j, "info_classes");
	ms_json_arr_open(j);
	for (size_t i = 0; i < s->ninfo; i++)
		ms_json_str(j, s->info_classes[i]);
	ms_json_arr_close(j);
	ms_json_key(j, "users");
	if (s->users >= 0)
		ms_json_int(j, s->users);
	else
		ms_json_null(j);
	ms_json_key(j, "national_population_db");
	ms_json_bool(j, s->national_db);
	ms_json_kv_str(j, "owner", s->owner);
	ms_json_kv_str(j, "security_unit", s->security_unit);
	ms_json_kv_str(j, "operator", s->operator_name);
	ms_json_kv_str(j, "contact", s->contact);
	ms_json_kv_str(j, "framework", s->framework);
	ms_json_key(j, "level");
	ms_json_int(j, s->level);
	ms_json_kv_str(j, "dossier", ms_reg_dossier_name(s->dossier));
	ms_json_kv_str(j, "decision_number", s->decision_number);
	ms_reg_json_date(j, "decision_date", s->decision_date);
	ms_json_key(j, "plan_approved");
	ms_json_bool(j, s->plan_approved);
	ms_json_kv_str(j, "plan_implementation", ms_reg_impl_name(s->plan_impl));
	ms_reg_json_date(j, "plan_target", s->plan_target);
	ms_reg_json_date(j, "last_assessment", s->assessed);
	ms_json_kv_str(j, "assessor", s->assessor);
	ms_reg_json_date(j, "last_pentest", s->pentest);
	ms_reg_json_layers(j, s, r->at_ms / DAY_MS);
	ms_json_key(j, "attestations");
	ms_json_arr_open(j);
	for (size_t i = 0; i < s->nattest; i++) {
		ms_json_obj_open(j);
		ms_json_kv_str(j, "requirement", s->attest[i].requirement);
		ms_json_kv_str(j, "ref", s->attest[i].ref);
		ms_reg_json_date(j, "valid_until", s->attest[i].valid_until);
		ms_json_key(j, "expired");
		ms_json_bool(j, s->attest[i].valid_until < r->at_ms / DAY_MS);
		ms_json_obj_close(j);
	}
	ms_json_arr_close(j);
	ms_json_key(j, "assets");
	ms_json_arr_open(j);
	for (size_t i = 0; i < s->nassets; i++) {
		const struct agent_tel *tl = s->assets[i].agent ? tel_get(r, s->assets[i].agent) : NULL;
		ms_json_obj_open(j);
		ms_json_kv_str(j, "host", s->assets[i].host);
		ms_json_kv_str(j, "agent", s->assets[i].agent);
		ms_json_key(j, "sensor");
		ms_json_bool(j, s->assets[i].sensor);
		jkv_time(j, "last_seen", tl ? tl->last_seen : 0);
		ms_json_obj_close(j);
	}
	ms_json_arr_close(j);
	ms_json_key(j, "checks");
	ms_json_arr_open(j);
	for (size_t q = 0; q < r->prof->nreqs; q++) {
		const struct res *x = &se->res[q];
		ms_json_obj_open(j);
		ms_json_kv_str(j, "requirement", r->prof->reqs[q].id);
		ms_json_kv_str(j, "kind", r->prof->reqs[q].check == MS_CHECK_MANUAL ? "manual" : "automatic");
		ms_json_kv_str(j, "result", res_name(x->r));
		jkv_time(j, "evidence_time", x->ev);
		ms_json_kv_str(j, "detail", x->detail[0] ? x->detail : NULL);
		ms_json_obj_close(j);
	}
	ms_json_arr_close(j);
	if (se->has_ret) {
		ms_json_key(j, "retention");
		ms_json_obj_open(j);
		ms_reg_json_date(j, "oldest", se->ret.oldest);
		ms_reg_json_date(j, "newest", se->ret.newest);
		ms_reg_json_date(j, "required", se->ret.required);
		ms_json_key(j, "days");
		ms_json_int(j, se->ret.days);
		ms_json_key(j, "missing");
		ms_json_int(j, se->ret.missing);
		ms_reg_json_date(j, "first_missing", se->ret.first_missing);
		ms_json_obj_close(j);
	}
	ms_json_key(j, "gaps");
	ms_json_arr_open(j);
	for (size_t q = 0; q < r->prof->nreqs; q++)
		if (se->res[q].r == RES_FAIL)
			ms_json_str(j, r->prof->reqs[q].id);
	ms_json_arr_close(j);
	/* Neither met nor gaps: the telemetry of T is no longer kept. */
	ms_json_key(j, "unknown");
	ms_json_arr_open(j);
	for (size_t q = 0; q < r->prof->nreqs; q++)
		if (se->res[q].r == RES_UNKNOWN)
			ms_json_str(j, r->prof->reqs[q].id);
	ms_json_arr_close(j);
	jkv_ratio(j, "passed", se->passed, se->applicable);
	ms_json_obj_close(j);
}

static int
render_json(struct report *r, struct ms_buf *b)
{
	struct ms_json j;
	size_t nq = r->prof->nreqs;

	ms_json_init(&j, b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "scope");
	ms_json_obj_open(&j);
	ms_json_kv_str(&j, "province", r->reg->province);
	ms_json_kv_str(&j, "organisation", r->reg->organisation);
	ms_json_kv_str(&j, "register", r->reg_path);
	ms_json_kv_str(&j, "framework", r->prof->id);
	ms_json_kv_str(&j, "framework_title", tr(r, r->prof->title_vi, r->prof->title_en));
	ms_json_key(&j, "legal");
	ms_json_arr_open(&j);
	for (size_t i = 0; i < r->prof->nlegal; i++)
		ms_json_str(&j, r->prof->legal[i]);
	ms_json_arr_close(&j);
	ms_json_kv_str(&j, "note", r->prof->note_vi ? tr(r, r->prof->note_vi, r->prof->note_en) : NULL);
	jkv_time(&j, "from", r->from_ms);
	jkv_time(&j, "to", r->to_ms);
	jkv_time(&j, "evaluated_at", r->at_ms);
	jkv_time(&j, "generated", r->now_ms);
	ms_json_kv_str(&j, "lang", r->vi ? "vi" : "en");
	ms_json_obj_close(&j);

	ms_json_key(&j, "summary");
	ms_json_obj_open(&j);
	ms_json_key(&j, "systems");
	ms_json_int(&j, (int64_t)r->reg->n);
	ms_json_key(&j, "by_level");
	ms_json_obj_open(&j);
	for (int l = 1; l <= 5; l++) {
		char k[4];
		snprintf(k, sizeof(k), "%d", l);
		ms_json_key(&j, k);
		ms_json_int(&j, r->by_level[l]);
	}
	ms_json_obj_close(&j);
	ms_json_key(&j, "dossier");
	ms_json_obj_open(&j);
	for (int d = 0; d < 4; d++) {
		ms_json_key(&j, ms_reg_dossier_name(d));
		ms_json_int(&j, r->dossier[d]);
	}
	ms_json_obj_close(&j);
	jkv_ratio(&j, "level_approved", r->dossier[MS_REG_APPROVED], (int64_t)r->reg->n);
	jkv_ratio(&j, "plan_approved", r->plans, (int64_t)r->reg->n);
	jkv_ratio(&j, "plan_fully_implemented", r->impl[MS_REG_IMPL_FULL], (int64_t)r->reg->n);
	ms_json_key(&j, "layers");
	ms_json_obj_open(&j);
	for (int l = 0; l < MS_REG_LAYERS; l++) {
		ms_json_key(&j, ms_reg_layer_key(l));
		ms_json_obj_open(&j);
		jkv_ratio(&j, "active", r->layer_active[l], (int64_t)r->reg->n);
		ms_json_key(&j, "expired");
		ms_json_int(&j, r->layer_expired[l]);
		ms_json_obj_close(&j);
	}
	ms_json_obj_close(&j);
	ms_json_key(&j, "coverage");
	ms_json_obj_open(&j);
	jkv_ratio(&j, "systems_with_agent", r->sys_with_agent, (int64_t)r->reg->n);
	jkv_ratio(&j, "assets_with_agent", r->assets_with_agent, r->assets);
	jkv_ratio(&j, "agents_reporting_24h", r->agents_fresh, r->agents);
	ms_json_key(&j, "agents_unknown_24h");
	ms_json_int(&j, r->agents_unknown);
	ms_json_key(&j, "unassigned_agents");
	ms_json_arr_open(&j);
	for (size_t i = 0; i < r->nunassigned; i++)
		ms_json_str(&j, r->unassigned[i]);
	ms_json_arr_close(&j);
	ms_json_obj_close(&j);
	jkv_ratio(&j, "systems_compliant", r->compliant, (int64_t)r->reg->n);
	ms_json_key(&j, "systems_unknown");
	ms_json_int(&j, r->sys_unknown);
	ms_json_key(&j, "incidents");
	ms_json_obj_open(&j);
	ms_json_key(&j, "total");
	ms_json_int(&j, r->ninc);
	ms_json_key(&j, "serious");
	ms_json_int(&j, r->inc_serious);
	ms_json_key(&j, "open");
	ms_json_int(&j, r->inc_open);
	ms_json_key(&j, "overdue");
	ms_json_int(&j, r->inc_overdue);
	ms_json_key(&j, "late");
	ms_json_int(&j, r->inc_late);
	ms_json_key(&j, "reported_on_time");
	ms_json_int(&j, r->inc_on_time);
	ms_json_obj_close(&j);
	ms_json_obj_close(&j);

	ms_json_key(&j, "requirements");
	ms_json_arr_open(&j);
	for (size_t q = 0; q < nq; q++) {
		const struct ms_comp_req *req = &r->prof->reqs[q];
		ms_json_obj_open(&j);
		ms_json_kv_str(&j, "id", req->id);
		ms_json_kv_str(&j, "title", tr(r, req->title_vi, req->title_en));
		ms_json_kv_str(&j, "basis", req->basis);
		ms_json_key(&j, "from_level");
		ms_json_int(&j, req->from_level);
		ms_json_kv_str(&j, "kind", req->check == MS_CHECK_MANUAL ? "manual" : "automatic");
		ms_json_kv_str(&j, "check", ms_comp_check_name(req->check));
		ms_json_obj_close(&j);
	}
	ms_json_arr_close(&j);

	ms_json_key(&j, "levels");
	ms_json_arr_open(&j);
	for (int l = 5; l >= 1; l--) {
		if (r->level_n[l] == 0)
			continue;
		ms_json_obj_open(&j);
		ms_json_key(&j, "level");
		ms_json_int(&j, l);
		ms_json_key(&j, "systems");
		ms_json_int(&j, r->level_n[l]);
		ms_json_key(&j, "requirements");
		ms_json_obj_open(&j);
		for (size_t q = 0; q < nq; q++) {
			int64_t na = 0;
			if (r->prof->reqs[q].from_level > l)
				continue;
			/* Systems for which the level itself asks nothing (months 0) are not counted. */
			for (size_t i = 0; i < r->reg->n; i++)
				na += r->sys[i].s->level == l && r->sys[i].res[q].r == RES_NA;
			jkv_rate(&j, r->prof->reqs[q].id, r->level_pass[l * nq + q], r->level_n[l] - na,
			    r->level_unknown[l * nq + q]);
		}
		ms_json_obj_close(&j);
		ms_json_obj_close(&j);
	}
	ms_json_arr_close(&j);

	ms_json_key(&j, "systems");
	ms_json_arr_open(&j);
	for (size_t i = 0; i < r->reg->n; i++)
		json_system(r, &j, &r->sys[i]);
	ms_json_arr_close(&j);

	ms_json_key(&j, "incidents");
	ms_json_arr_open(&j);
	for (long i = 0; i < r->ninc; i++)
		incident_to_json(&r->inc[i], r->at_ms, &j);
	ms_json_arr_close(&j);

	ms_json_key(&j, "monitoring");
	ms_json_obj_open(&j);
	ms_json_key(&j, "alerts");
	ms_json_int(&j, r->nalerts);
	ms_json_key(&j, "truncated");
	ms_json_bool(&j, r->alerts_truncated);
	json_counter(&j, "by_type", &r->by_type);
	json_counter(&j, "by_system", &r->by_system);
	json_counter(&j, "by_source", &r->by_source);
	ms_json_obj_close(&j);
	ms_json_obj_close(&j);
	if (ms_json_finish(&j) < 0)
		return -1;
	return ms_buf_addc(b, '\n');
}

/* ---- CSV: the annex table -------------------------------------------- */

/*
 * One CSV cell, quoted (RFC 4180). A spreadsheet opening the annex takes a
 * cell that starts with = + - @ (or a tab or CR before them) for a formula,
 * quoted or not: such a cell gets a ' first, which the spreadsheet shows as
 * text (OWASP "CSV injection"). No value of ours starts so by itself.
 */
static void
csv_field(struct ms_buf *b, const char *s, bool last)
{
	ms_buf_addc(b, '"');
	if (s && *s && strchr("=+-@\t\r", *s))
		ms_buf_addc(b, '\'');
	for (; s && *s; s++) {
		if (*s == '"')
			ms_buf_addc(b, '"');
		ms_buf_addc(b, *s);
	}
	ms_buf_adds(b, last ? "\"\r\n" : "\",");
}

static const char *
yes_no(const struct report *r, bool v)
{
	return v ? tr(r, "Có", "Yes") : tr(r, "Không", "No");
}

static const char *
impl_label(const struct report *r, enum ms_reg_impl i)
{
	return i == MS_REG_IMPL_FULL ? tr(r, "Đầy đủ", "Full") :
	    i == MS_REG_IMPL_PARTIAL ? tr(r, "Một phần", "Partial") : tr(r, "Chưa triển khai", "None");
}

static const char *
dossier_label(const struct report *r, enum ms_reg_dossier d)
{
	switch (d) {
	case MS_REG_DRAFTING: return tr(r, "Đang xây dựng", "Drafting");
	case MS_REG_SUBMITTED: return tr(r, "Đã trình", "Submitted");
	case MS_REG_APPRAISED: return tr(r, "Đã thẩm định", "Appraised");
	case MS_REG_APPROVED: return tr(r, "Đã phê duyệt", "Approved");
	}
	return "?";
}

/* A verdict as the report says it (CSV and HTML). */
static const char *
res_label(const struct report *r, int res)
{
	switch (res) {
	case RES_PASS: return tr(r, "Đạt", "Pass");
	case RES_FAIL: return tr(r, "Không đạt", "Fail");
	case RES_UNKNOWN: return tr(r, "Không xác định", "Not known");
	}
	return tr(r, "Không áp dụng", "N/A");
}

/* One annex row's cells (shared by CSV and HTML); strings point into bufs. */
static size_t
annex_row(const struct report *r, const struct ms_reg_system *s, const char **cells,
    char bufs[4][32])
{
	size_t n = 0;

	cells[n++] = s->id;
	cells[n++] = s->name;
	cells[n++] = s->owner;
	cells[n++] = s->operator_name;
	snprintf(bufs[0], 32, "%d", s->level);
	cells[n++] = bufs[0];
	cells[n++] = dossier_label(r, s->dossier);
	cells[n++] = s->decision_number ? s->decision_number : "";
	ms_date_fmt(bufs[1], 32, s->decision_date);
	cells[n++] = bufs[1];
	cells[n++] = yes_no(r, s->plan_approved);
	cells[n++] = impl_label(r, s->plan_impl);
	ms_date_fmt(bufs[2], 32, s->assessed);
	cells[n++] = bufs[2];
	cells[n++] = s->assessor ? s->assessor : "";
	cells[n++] = s->framework;
	return n;
}

static const char *const annex_vi[] = { "Mã", "Tên hệ thống", "Chủ quản", "Đơn vị vận hành",
	"Cấp độ", "Hồ sơ cấp độ", "Số quyết định", "Ngày quyết định", "Phương án được phê duyệt",
	"Triển khai phương án", "Đánh giá độc lập gần nhất", "Đơn vị đánh giá", "Khung pháp lý" };
static const char *const annex_en[] = { "Id", "System", "Owner", "Operator", "Level",
	"Level dossier", "Decision number", "Decision date", "Plan approved", "Plan implementation",
	"Last independent assessment", "Assessor", "Framework" };

/*
 * The annex's columns, then one per requirement of the profile (its title)
 * with the system's verdict: Đạt, Không đạt, Không xác định, Không áp dụng.
 */
static int
render_csv(struct report *r, struct ms_buf *b)
{
	size_t nq = r->prof->nreqs;

	/* A BOM, so spreadsheet programs read the Vietnamese as UTF-8. */
	ms_buf_adds(b, "\xEF\xBB\xBF");
	for (size_t i = 0; i < MS_ARRAY_LEN(annex_vi); i++)
		csv_field(b, r->vi ? annex_vi[i] : annex_en[i], i + 1 == MS_ARRAY_LEN(annex_vi) && nq == 0);
	for (size_t q = 0; q < nq; q++)
		csv_field(b, tr(r, r->prof->reqs[q].title_vi, r->prof->reqs[q].title_en), q + 1 == nq);
	for (size_t i = 0; i < r->reg->n; i++) {
		const char *cells[16];
		char bufs[4][32];
		size_t n = annex_row(r, &r->reg->systems[i], cells, bufs);
		for (size_t k = 0; k < n; k++)
			csv_field(b, cells[k], k + 1 == n && nq == 0);
		for (size_t q = 0; q < nq; q++)
			csv_field(b, res_label(r, r->sys[i].res[q].r), q + 1 == nq);
	}
	return b->toobig ? -1 : 0;
}

/* ---- HTML ------------------------------------------------------------- */

/* Appends s with & < > " ' escaped: every string of the report is data. */
static void
h(struct ms_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': ms_buf_adds(b, "&amp;"); break;
		case '<': ms_buf_adds(b, "&lt;"); break;
		case '>': ms_buf_adds(b, "&gt;"); break;
		case '"': ms_buf_adds(b, "&quot;"); break;
		case '\'': ms_buf_adds(b, "&#39;"); break;
		default: ms_buf_addc(b, *s); break;
		}
	}
}

static void
h_ratio(struct ms_buf *b, int64_t num, int64_t den)
{
	char pct[32];

	ms_pct(num, den, pct, sizeof(pct));
	ms_buf_printf(b, "%lld/%lld = %s %%", (long long)num, (long long)den, pct);
}

static void
h_date(struct ms_buf *b, int64_t day)
{
	char d[16];

	ms_date_fmt(d, sizeof(d), day);
	h(b, d[0] ? d : "–");
}

static void
h_time(struct ms_buf *b, int64_t ms)
{
	char t[32];

	if (ms <= 0) {
		ms_buf_adds(b, "–");
		return;
	}
	ms_fmt_time(t, sizeof(t), ms);
	/* 2026-11-25 16:34 UTC: minutes are enough on paper. */
	t[16] = '\0';
	t[10] = ' ';
	ms_buf_printf(b, "%s UTC", t);
}

/*
 * A horizontal bar chart as inline SVG: one row per label, the bar's length
 * vals[i]/max, and a text at its end (texts[i], or the value).
 */
static void
svg_bars(struct ms_buf *b, const char *title, const char *const *labels, const int64_t *vals,
    const char *const *texts, size_t n, int64_t max)
{
	const int lw = 230, bw = 330, rh = 20, w = lw + bw + 150;
	int hgt = (int)n * rh + 28;

	if (max <= 0)
		max = 1;
	ms_buf_printf(b, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>", w, hgt, w, hgt);
	h(b, title);
	ms_buf_printf(b, "</title><text x=\"0\" y=\"14\" class=\"ct\">");
	h(b, title);
	ms_buf_adds(b, "</text>");
	for (size_t i = 0; i < n; i++) {
		int y = 24 + (int)i * rh;
		int len = (int)(vals[i] * bw / max);
		char lab[160];
		size_t l = 0, chars = 0;

		/* Long labels are cut after 36 characters (not bytes); the table has them whole. */
		while (labels[i][l]) {
			/* At most 36 characters, and never past 120 bytes inside one. */
			if (((unsigned char)labels[i][l] & 0xc0) != 0x80 && (++chars > 36 || l >= 120))
				break;
			l++;
		}
		snprintf(lab, sizeof(lab), "%.*s%s", (int)l, labels[i], labels[i][l] ? "…" : "");
		ms_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"cl\" text-anchor=\"end\">", lw - 6, y + 13);
		h(b, lab);
		ms_buf_printf(b, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"bar\"/>"
		    "<text x=\"%d\" y=\"%d\" class=\"cv\">", lw, y + 3, len > 0 ? len : 1, rh - 6,
		    lw + (len > 0 ? len : 1) + 6, y + 13);
		if (texts)
			h(b, texts[i]);
		else
			ms_buf_printf(b, "%lld", (long long)vals[i]);
		ms_buf_adds(b, "</text>");
	}
	ms_buf_adds(b, "</svg>\n");
}

static const char css[] =
    "body{font-family:'DejaVu Sans','Noto Sans',Arial,sans-serif;font-size:10.5pt;color:#111;"
    "margin:2em auto;max-width:1100px;padding:0 1em}"
    "h1{font-size:17pt;margin:0 0 .3em}h2{font-size:14pt;border-bottom:2px solid #234;"
    "margin-top:1.6em;padding-bottom:.2em}h3{font-size:11.5pt;margin:1.2em 0 .4em}"
    "table{border-collapse:collapse;margin:.4em 0 .8em;width:100%}"
    "th,td{border:1px solid #aab;padding:3px 6px;text-align:left;vertical-align:top}"
    "th{background:#e8ecf3}td.n{text-align:right;white-space:nowrap}"
    ".pass{color:#0a6b2d;font-weight:bold}.fail{color:#b00020;font-weight:bold}.na{color:#777}"
    ".unknown{color:#8a5a00;font-style:italic}"
    ".kpi{font-size:12pt;font-weight:bold}.muted{color:#555;font-size:9pt}"
    ".chart{display:block;margin:.5em 0}.chart .bar{fill:#3a6ea5}.chart text{font-size:11px;"
    "font-family:inherit}.chart .ct{font-weight:bold;font-size:12px}"
    ".system{border-top:1px solid #ccd;padding-top:.3em}"
    "@page{size:A4;margin:14mm}"
    "@media print{body{margin:0;max-width:none;font-size:9.5pt}h2{break-before:page}"
    "h2.first{break-before:auto}.system,table tr,.chart{break-inside:avoid}"
    "thead{display:table-header-group}a{color:inherit;text-decoration:none}}";

static void
html_res(struct report *r, struct ms_buf *b, int res)
{
	ms_buf_printf(b, "<td class=\"%s\">", res == RES_PASS ? "pass" : res == RES_FAIL ? "fail" :
	    res == RES_UNKNOWN ? "unknown" : "na");
	h(b, res_label(r, res));
	ms_buf_adds(b, "</td>");
}

/* What each verdict means, above the systems' tables. */
static void
html_legend(struct report *r, struct ms_buf *b)
{
	static const int res[] = { RES_PASS, RES_FAIL, RES_UNKNOWN, RES_NA };
	const char *vi[] = { "đáp ứng tại thời điểm đánh giá", "không đáp ứng",
		"hệ thống chỉ lưu dữ liệu đo mới nhất và dữ liệu đó ghi nhận sau thời điểm đánh giá, "
		"nên không kết luận được đạt hay không đạt (tính là chưa đạt)", "cấp độ này không yêu cầu" };
	const char *en[] = { "met as of the evaluation time", "not met",
		"only the latest telemetry is kept and it is dated after the evaluation time, so neither "
		"a pass nor a fail can be stated (counted as not passed)", "not required at this level" };

	ms_buf_printf(b, "<p class=\"legend\"><b>%s</b>: ", tr(r, "Kết quả", "Results"));
	for (size_t i = 0; i < MS_ARRAY_LEN(res); i++) {
		ms_buf_printf(b, "%s<span class=\"%s\">", i ? "; " : "", res[i] == RES_PASS ? "pass" :
		    res[i] == RES_FAIL ? "fail" : res[i] == RES_UNKNOWN ? "unknown" : "na");
		h(b, res_label(r, res[i]));
		ms_buf_adds(b, "</span> – ");
		h(b, r->vi ? vi[i] : en[i]);
	}
	ms_buf_adds(b, ".</p>\n");
}

static void
html_kv(struct ms_buf *b, const char *k, const char *v)
{
	ms_buf_adds(b, "<tr><th>");
	h(b, k);
	ms_buf_adds(b, "</th><td>");
	h(b, v && *v ? v : "–");
	ms_buf_adds(b, "</td></tr>");
}

static void
html_kv_ratio(struct ms_buf *b, const char *k, int64_t num, int64_t den)
{
	ms_buf_adds(b, "<tr><th>");
	h(b, k);
	ms_buf_adds(b, "</th><td class=\"n\">");
	h_ratio(b, num, den);
	ms_buf_adds(b, "</td></tr>");
}

static const char *
layer_label(const struct report *r, int l)
{
	static const char *const vi[] = { "Lớp 1 – Lực lượng tại chỗ", "Lớp 2 – Giám sát, bảo vệ chuyên nghiệp",
		"Lớp 3 – Kiểm tra, đánh giá độc lập", "Lớp 4 – Kết nối hệ thống giám sát quốc gia" };
	static const char *const en[] = { "Layer 1 – On-site force", "Layer 2 – Professional monitoring",
		"Layer 3 – Independent inspection", "Layer 4 – National monitoring connection" };
	return r->vi ? vi[l] : en[l];
}

static void
html_system(struct report *r, struct ms_buf *b, const struct sys_ev *se)
{
	const struct ms_reg_system *s = se->s;
	char lv[16], users[32], d[16];
	bool gaps = false;

	ms_buf_printf(b, "<div class=\"system\" id=\"%s\"><h3>", s->id);
	h(b, s->id);
	ms_buf_adds(b, " – ");
	h(b, s->name);
	ms_buf_printf(b, " (%s %d)</h3>\n<table>", tr(r, "cấp độ", "level"), s->level);
	html_kv(b, tr(r, "Loại hệ thống", "Type"), type_label(r, s->type));
	snprintf(users, sizeof(users), "%lld", (long long)s->users);
	html_kv(b, tr(r, "Số người dùng", "Users"), s->users >= 0 ? users : NULL);
	html_kv(b, tr(r, "Kết nối CSDL quốc gia về dân cư", "Connected to the national population database"),
	    yes_no(r, s->national_db));
	html_kv(b, tr(r, "Chủ quản", "Owner"), s->owner);
	html_kv(b, tr(r, "Đơn vị chuyên trách ATTT", "Security unit"), s->security_unit);
	html_kv(b, tr(r, "Đơn vị vận hành", "Operator"), s->operator_name);
	html_kv(b, tr(r, "Liên hệ", "Contact"), s->contact);
	snprintf(lv, sizeof(lv), "%d (%s)", s->level, s->framework);
	html_kv(b, tr(r, "Cấp độ (khung pháp lý)", "Level (framework)"), lv);
	html_kv(b, tr(r, "Hồ sơ cấp độ", "Level dossier"), dossier_label(r, s->dossier));
	ms_buf_adds(b, "<tr><th>");
	h(b, tr(r, "Quyết định phê duyệt", "Decision"));
	ms_buf_adds(b, "</th><td>");
	h(b, s->decision_number ? s->decision_number : "–");
	ms_buf_adds(b, ", ");
	h_date(b, s->decision_date);
	ms_buf_adds(b, "</td></tr>");
	html_kv(b, tr(r, "Phương án được phê duyệt", "Protection plan approved"), yes_no(r, s->plan_approved));
	html_kv(b, tr(r, "Triển khai phương án", "Plan implementation"), impl_label(r, s->plan_impl));
	ms_date_fmt(d, sizeof(d), s->assessed);
	html_kv(b, tr(r, "Đánh giá độc lập gần nhất", "Last independent assessment"), d);
	html_kv(b, tr(r, "Đơn vị đánh giá", "Assessor"), s->assessor);
	ms_date_fmt(d, sizeof(d), s->pentest);
	html_kv(b, tr(r, "Kiểm thử xâm nhập gần nhất", "Last penetration test"), d);
	ms_buf_adds(b, "<tr><th>");
	h(b, tr(r, "Tài sản (máy chủ / tác tử)", "Assets (host / agent)"));
	ms_buf_adds(b, "</th><td>");
	for (size_t i = 0; i < s->nassets; i++) {
		if (i)
			ms_buf_adds(b, "; ");
		h(b, s->assets[i].host);
		ms_buf_adds(b, " / ");
		h(b, s->assets[i].agent ? s->assets[i].agent : tr(r, "chưa có tác tử", "no agent"));
	}
	ms_buf_adds(b, "</td></tr></table>\n");

	ms_buf_printf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
	    tr(r, "Yêu cầu", "Requirement"), tr(r, "Loại", "Kind"), tr(r, "Kết quả", "Result"),
	    tr(r, "Thời điểm bằng chứng", "Evidence time"), tr(r, "Chi tiết", "Detail"));
	for (size_t q = 0; q < r->prof->nreqs; q++) {
		const struct ms_comp_req *req = &r->prof->reqs[q];
		const struct res *x = &se->res[q];
		if (s->level < req->from_level)
			continue;
		ms_buf_adds(b, "<tr><td>");
		h(b, tr(r, req->title_vi, req->title_en));
		ms_buf_adds(b, "</td><td>");
		h(b, req->check == MS_CHECK_MANUAL ? tr(r, "xác nhận", "attested") : tr(r, "tự động", "automatic"));
		ms_buf_adds(b, "</td>");
		html_res(r, b, x->r);
		ms_buf_adds(b, "<td class=\"n\">");
		h_time(b, x->ev);
		ms_buf_adds(b, "</td><td>");
		h(b, x->detail);
		ms_buf_adds(b, "</td></tr>");
	}
	ms_buf_adds(b, "</tbody></table>\n");

	ms_buf_printf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
	    tr(r, "Xác nhận", "Attestation"), tr(r, "Trạng thái", "Status"),
	    tr(r, "Văn bản", "Document"), tr(r, "Hiệu lực đến", "Valid until"));
	for (int l = 0; l < MS_REG_LAYERS; l++) {
		bool expired = s->layers[l].valid_until != MS_REG_NO_DATE &&
		    s->layers[l].valid_until < r->at_ms / DAY_MS;
		ms_buf_adds(b, "<tr><td>");
		h(b, layer_label(r, l));
		ms_buf_adds(b, "</td><td>");
		h(b, layer_status_label(r, s->layers[l].status));
		ms_buf_adds(b, "</td><td>");
		h(b, s->layers[l].evidence ? s->layers[l].evidence : "–");
		ms_buf_printf(b, "</td><td class=\"n%s\">", expired ? " fail" : "");
		h_date(b, s->layers[l].valid_until);
		if (expired)
			h(b, tr(r, " (hết hiệu lực)", " (expired)"));
		ms_buf_adds(b, "</td></tr>");
	}
	for (size_t i = 0; i < s->nattest; i++) {
		bool expired = s->attest[i].valid_until < r->at_ms / DAY_MS;
		const struct ms_comp_req *req = attest_req(r, s->attest[i].requirement);

		ms_buf_adds(b, "<tr><td>");
		h(b, s->attest[i].requirement);
		ms_buf_adds(b, " – ");
		if (req != NULL) {
			h(b, tr(r, req->title_vi, req->title_en));
		} else {
			ms_buf_adds(b, "<span class=\"fail\">");
			h(b, tr(r, "không có trong khung: không xác nhận gì", "not in the framework: attests nothing"));
			ms_buf_adds(b, "</span>");
		}
		ms_buf_adds(b, "</td><td>–</td><td>");
		h(b, s->attest[i].ref);
		ms_buf_printf(b, "</td><td class=\"n%s\">", expired ? " fail" : "");
		h_date(b, s->attest[i].valid_until);
		if (expired)
			h(b, tr(r, " (hết hiệu lực)", " (expired)"));
		ms_buf_adds(b, "</td></tr>");
	}
	ms_buf_adds(b, "</tbody></table>\n<p><b>");
	h(b, tr(r, "Tồn tại cần khắc phục", "Open gaps"));
	ms_buf_adds(b, ":</b> ");
	for (size_t q = 0; q < r->prof->nreqs; q++) {
		if (se->res[q].r != RES_FAIL)
			continue;
		if (gaps)
			ms_buf_adds(b, "; ");
		h(b, tr(r, r->prof->reqs[q].title_vi, r->prof->reqs[q].title_en));
		gaps = true;
	}
	if (!gaps)
		h(b, tr(r, "không có", "none"));
	ms_buf_adds(b, "</p>");
	if (se->unknown) {
		bool first = true;
		ms_buf_adds(b, "<p class=\"unknown\"><b>");
		h(b, tr(r, "Không xác định được tại thời điểm đánh giá", "Not known as of the evaluation time"));
		ms_buf_adds(b, ":</b> ");
		for (size_t q = 0; q < r->prof->nreqs; q++) {
			if (se->res[q].r != RES_UNKNOWN)
				continue;
			if (!first)
				ms_buf_adds(b, "; ");
			h(b, tr(r, r->prof->reqs[q].title_vi, r->prof->reqs[q].title_en));
			first = false;
		}
		ms_buf_adds(b, "</p>");
	}
	ms_buf_adds(b, "</div>\n");
}

static void
html_counter(struct report *r, struct ms_buf *b, const char *title, const char *col,
    const struct counter *c)
{
	const char *labels[TOP_N];
	int64_t vals[TOP_N];
	size_t n = c->n < TOP_N ? c->n : TOP_N;

	ms_buf_adds(b, "<h3>");
	h(b, title);
	ms_buf_adds(b, "</h3>\n");
	if (n == 0) {
		ms_buf_printf(b, "<p>%s</p>\n", tr(r, "Không có cảnh báo.", "No alert."));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		labels[i] = c->keys[i];
		vals[i] = c->vals[i];
	}
	svg_bars(b, title, labels, vals, NULL, n, vals[0]);
	ms_buf_printf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%%</th></tr></thead><tbody>", col,
	    tr(r, "Số cảnh báo", "Alerts"));
	for (size_t i = 0; i < n; i++) {
		char pct[32];
		ms_pct(c->vals[i], c->total, pct, sizeof(pct));
		ms_buf_adds(b, "<tr><td>");
		h(b, c->keys[i]);
		ms_buf_printf(b, "</td><td class=\"n\">%lld</td><td class=\"n\">%s %%</td></tr>",
		    (long long)c->vals[i], pct);
	}
	ms_buf_adds(b, "</tbody></table>\n");
}

static void
html_incidents(struct report *r, struct ms_buf *b)
{
	if (r->ninc == 0) {
		ms_buf_printf(b, "<p>%s</p>\n", tr(r, "Không có sự cố trong kỳ báo cáo.",
		    "No incident in the period."));
		return;
	}
	ms_buf_printf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
	    "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
	    tr(r, "Mã", "Id"), tr(r, "Sự cố", "Incident"), tr(r, "Mức độ", "Severity"),
	    tr(r, "Hệ thống", "Systems"), tr(r, "Phát hiện", "Detected"),
	    tr(r, "Hạn thông báo / đã thông báo", "Notice due / given"),
	    tr(r, "Hạn báo cáo / đã báo cáo", "Report due / given"), tr(r, "Trạng thái", "Status"),
	    tr(r, "Đánh giá", "Assessment"));
	for (long i = 0; i < r->ninc; i++) {
		const struct incident *in = &r->inc[i];
		struct inc_state st;
		const char *verdict;

		incident_judge(in, r->at_ms, &st);
		verdict = st.overdue ? tr(r, "Quá hạn", "Overdue") :
		    (st.notice_late || st.report_late) ? tr(r, "Báo cáo trễ hạn", "Late") :
		    in->reported ? tr(r, "Đúng hạn", "On time") : tr(r, "Trong hạn", "Within deadline");
		ms_buf_adds(b, "<tr><td>");
		h(b, in->id);
		ms_buf_adds(b, "</td><td>");
		h(b, in->title);
		ms_buf_adds(b, "</td><td>");
		h(b, in->severity);
		if (in->serious)
			h(b, tr(r, " (nghiêm trọng)", " (serious)"));
		ms_buf_adds(b, "</td><td>");
		for (size_t k = 0; k < in->nsystems; k++) {
			if (k)
				ms_buf_adds(b, ", ");
			h(b, in->systems[k]);
		}
		ms_buf_adds(b, "</td><td class=\"n\">");
		h_time(b, in->detected);
		ms_buf_adds(b, "</td><td class=\"n\">");
		h_time(b, in->deadline_notice);
		ms_buf_adds(b, "<br>");
		h_time(b, in->notified ? in->notified : in->reported);
		ms_buf_adds(b, "</td><td class=\"n\">");
		h_time(b, in->deadline_report);
		ms_buf_adds(b, "<br>");
		h_time(b, in->reported);
		ms_buf_adds(b, "</td><td>");
		h(b, in->status);
		ms_buf_printf(b, "</td><td class=\"%s\">", st.overdue || st.notice_late || st.report_late ?
		    "fail" : "pass");
		h(b, verdict);
		ms_buf_adds(b, "</td></tr>");
	}
	ms_buf_adds(b, "</tbody></table>\n");
}

static int
render_html(struct report *r, struct ms_buf *b)
{
	size_t nq = r->prof->nreqs;
	const char **lv_labels, **lv_tp;
	int64_t *lv_vals;
	char (*lv_texts)[64];
	char from[32], to[32];
	const char *title = tr(r, "Báo cáo tình hình bảo đảm an toàn hệ thống thông tin theo cấp độ",
	    "Report on the security of information systems by level");

	ms_date_fmt(from, sizeof(from), r->from_ms / DAY_MS);
	ms_date_fmt(to, sizeof(to), r->to_ms / DAY_MS);
	ms_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\"><title>", r->vi ? "vi" : "en");
	h(b, title);
	ms_buf_printf(b, "</title><style>%s</style></head><body>\n<h1>", css);
	h(b, title);
	ms_buf_adds(b, "</h1>\n<p class=\"muted\">");
	h(b, r->reg->province);
	ms_buf_adds(b, " – ");
	h(b, r->reg->organisation);
	/* Days in UTC: say so, a reader in Vietnam is at UTC+7 (time review). */
	ms_buf_printf(b, " – %s %s – %s (UTC)</p>\n", tr(r, "kỳ báo cáo", "period"), from, to);

	/* 1. Scope */
	ms_buf_printf(b, "<section id=\"scope\"><h2 class=\"first\">1. %s</h2><table>",
	    tr(r, "Phạm vi báo cáo", "Scope"));
	html_kv(b, tr(r, "Tỉnh", "Province"), r->reg->province);
	html_kv(b, tr(r, "Đơn vị báo cáo", "Reporting organisation"), r->reg->organisation);
	{
		char period[80];
		snprintf(period, sizeof(period), "%s – %s (UTC)", from, to);
		html_kv(b, tr(r, "Kỳ báo cáo", "Period"), period);
	}
	html_kv(b, tr(r, "Khung pháp lý", "Framework"), tr(r, r->prof->title_vi, r->prof->title_en));
	ms_buf_adds(b, "<tr><th>");
	h(b, tr(r, "Căn cứ", "Legal basis"));
	ms_buf_adds(b, "</th><td>");
	for (size_t i = 0; i < r->prof->nlegal; i++) {
		if (i)
			ms_buf_adds(b, "; ");
		h(b, r->prof->legal[i]);
	}
	ms_buf_adds(b, "</td></tr>");
	if (r->prof->note_vi)
		html_kv(b, tr(r, "Ghi chú", "Note"), tr(r, r->prof->note_vi, r->prof->note_en));
	ms_buf_adds(b, "<tr><th>");
	h(b, tr(r, "Đánh giá tại thời điểm", "Evaluated as of"));
	ms_buf_adds(b, "</th><td>");
	h_time(b, r->at_ms);
	ms_buf_adds(b, "</td></tr><tr><th>");
	h(b, tr(r, "Số hệ thống thông tin", "Information systems"));
	ms_buf_printf(b, "</th><td>%zu</td></tr></table></section>\n", r->reg->n);

	/* 2. Province summary */
	ms_buf_printf(b, "<section id=\"summary\"><h2>2. %s</h2>\n<p class=\"kpi\">",
	    tr(r, "Tổng hợp toàn tỉnh", "Province summary"));
	ms_buf_printf(b, "%s: %zu (", tr(r, "Tổng số hệ thống thông tin", "Information systems"), r->reg->n);
	for (int l = 5, first = 1; l >= 1; l--) {
		if (r->by_level[l] == 0)
			continue;
		ms_buf_printf(b, "%s%s %d: %d", first ? "" : ", ", tr(r, "cấp độ", "level"), l, r->by_level[l]);
		first = 0;
	}
	ms_buf_adds(b, ")</p>\n");
	{
		const char *labels[5];
		int64_t vals[5];
		char lab[5][32];
		size_t n = 0;
		for (int l = 5; l >= 1; l--) {
			if (r->by_level[l] == 0)
				continue;
			snprintf(lab[n], sizeof(lab[n]), "%s %d", tr(r, "Cấp độ", "Level"), l);
			labels[n] = lab[n];
			vals[n++] = r->by_level[l];
		}
		svg_bars(b, tr(r, "Hệ thống thông tin theo cấp độ", "Systems by level"), labels, vals, NULL,
		    n, (int64_t)r->reg->n);
	}
	ms_buf_adds(b, "<table>");
	html_kv_ratio(b, tr(r, "Hồ sơ cấp độ đã được phê duyệt", "Level approved"),
	    r->dossier[MS_REG_APPROVED], (int64_t)r->reg->n);
	html_kv_ratio(b, tr(r, "Phương án bảo đảm ATTT theo cấp độ được phê duyệt", "Protection plan approved"),
	    r->plans, (int64_t)r->reg->n);
	html_kv_ratio(b, tr(r, "Phương án được triển khai đầy đủ", "Plan fully implemented"),
	    r->impl[MS_REG_IMPL_FULL], (int64_t)r->reg->n);
	html_kv_ratio(b, tr(r, "Hệ thống có tác tử giám sát", "Systems with a monitoring agent"),
	    r->sys_with_agent, (int64_t)r->reg->n);
	html_kv_ratio(b, tr(r, "Tài sản có tác tử giám sát", "Assets with an agent"), r->assets_with_agent,
	    r->assets);
	html_kv_ratio(b, tr(r, "Tác tử báo cáo trong 24 giờ", "Agents reporting within 24 h"),
	    r->agents_fresh, r->agents);
	if (r->agents_unknown) {
		char v[32];
		snprintf(v, sizeof(v), "%d", r->agents_unknown);
		html_kv(b, tr(r, "Tác tử không xác định được (chỉ có dữ liệu sau thời điểm đánh giá)",
		    "Agents not known (heard only after the evaluation time)"), v);
	}
	html_kv_ratio(b, tr(r, "Hệ thống đáp ứng đầy đủ yêu cầu", "Systems meeting every requirement"),
	    r->compliant, (int64_t)r->reg->n);
	if (r->sys_unknown) {
		char v[32];
		snprintf(v, sizeof(v), "%d", r->sys_unknown);
		html_kv(b, tr(r, "Hệ thống không có yêu cầu không đạt nhưng có yêu cầu không xác định được",
		    "Systems with no failed requirement but some not known"), v);
	}
	ms_buf_adds(b, "</table>\n");
	{
		const char *labels[MS_REG_LAYERS];
		int64_t vals[MS_REG_LAYERS];
		char texts[MS_REG_LAYERS][64], pct[32];
		const char *tp[MS_REG_LAYERS];
		ms_buf_printf(b, "<h3>%s</h3>\n", tr(r, "Mô hình bảo vệ 4 lớp", "The 4-layer model"));
		for (int l = 0; l < MS_REG_LAYERS; l++) {
			labels[l] = layer_label(r, l);
			vals[l] = r->layer_active[l];
			ms_pct(r->layer_active[l], (int64_t)r->reg->n, pct, sizeof(pct));
			snprintf(texts[l], sizeof(texts[l]), "%d/%zu = %s %%", r->layer_active[l], r->reg->n, pct);
			tp[l] = texts[l];
		}
		svg_bars(b, tr(r, "Hệ thống có lớp bảo vệ hoạt động", "Systems with the layer active"),
		    labels, vals, tp, MS_REG_LAYERS, (int64_t)r->reg->n);
		ms_buf_printf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
		    tr(r, "Lớp", "Layer"), tr(r, "Hoạt động", "Active"),
		    tr(r, "Xác nhận hết hiệu lực", "Attestation expired"));
		for (int l = 0; l < MS_REG_LAYERS; l++) {
			ms_buf_adds(b, "<tr><td>");
			h(b, layer_label(r, l));
			ms_buf_adds(b, "</td><td class=\"n\">");
			h_ratio(b, r->layer_active[l], (int64_t)r->reg->n);
			ms_buf_printf(b, "</td><td class=\"n\">%d</td></tr>", r->layer_expired[l]);
		}
		ms_buf_adds(b, "</tbody></table>\n");
	}
	ms_buf_printf(b, "<h3>%s</h3><table>", tr(r, "Sự cố", "Incidents"));
	{
		char v[32];
		snprintf(v, sizeof(v), "%ld", r->ninc);
		html_kv(b, tr(r, "Số sự cố trong kỳ", "Incidents in the period"), v);
		snprintf(v, sizeof(v), "%d", r->inc_serious);
		html_kv(b, tr(r, "Sự cố nghiêm trọng", "Serious"), v);
		snprintf(v, sizeof(v), "%d", r->inc_overdue);
		html_kv(b, tr(r, "Quá hạn báo cáo", "Overdue"), v);
		snprintf(v, sizeof(v), "%d", r->inc_late);
		html_kv(b, tr(r, "Báo cáo trễ hạn", "Reported late"), v);
	}
	ms_buf_adds(b, "</table>\n");
	if (r->nunassigned) {
		ms_buf_printf(b, "<p><b>%s</b>: ", tr(r, "Tác tử chưa gắn với hệ thống nào",
		    "Agents not assigned to any system"));
		for (size_t i = 0; i < r->nunassigned; i++) {
			if (i)
				ms_buf_adds(b, ", ");
			h(b, r->unassigned[i]);
		}
		ms_buf_adds(b, "</p>\n");
	}
	ms_buf_adds(b, "</section>\n");

	/* 3. Per level */
	ms_buf_printf(b, "<section id=\"levels\"><h2>3. %s</h2>\n",
	    tr(r, "Tỷ lệ đáp ứng yêu cầu theo cấp độ", "Pass rate of each requirement by level"));
	ms_buf_printf(b, "<p class=\"muted\">%s</p>\n", tr(r, "Yêu cầu không xác định được tại thời điểm "
	    "đánh giá được tính là chưa đạt (có trong mẫu số, không có trong tử số) và được đếm riêng ở cột "
	    "“Không xác định”.", "A requirement that cannot be judged as of the evaluation time counts as "
	    "not passed (in the denominator, not in the numerator) and is counted apart in the “Not known” "
	    "column."));
	/* Every requirement of the profile, however many: arrays of nq. */
	lv_labels = calloc(nq + 1, sizeof(*lv_labels));
	lv_vals = calloc(nq + 1, sizeof(*lv_vals));
	lv_texts = calloc(nq + 1, 64);
	lv_tp = calloc(nq + 1, sizeof(*lv_tp));
	if (lv_labels == NULL || lv_vals == NULL || lv_texts == NULL || lv_tp == NULL) {
		free(lv_labels);
		free(lv_vals);
		free(lv_texts);
		free(lv_tp);
		return -1;
	}
	for (int l = 5; l >= 1; l--) {
		char pct[32];
		size_t n = 0;

		if (r->level_n[l] == 0)
			continue;
		ms_buf_printf(b, "<h3>%s %d (%d %s)</h3>\n", tr(r, "Cấp độ", "Level"), l, r->level_n[l],
		    tr(r, "hệ thống", "systems"));
		ms_buf_printf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
		    tr(r, "Yêu cầu", "Requirement"), tr(r, "Căn cứ", "Basis"), tr(r, "Loại", "Kind"),
		    tr(r, "Đạt", "Pass"), tr(r, "Không xác định", "Not known"));
		for (size_t q = 0; q < nq; q++) {
			const struct ms_comp_req *req = &r->prof->reqs[q];
			int64_t na = 0, den;
			int unk = r->level_unknown[l * nq + q];
			if (req->from_level > l)
				continue;
			for (size_t i = 0; i < r->reg->n; i++)
				na += r->sys[i].s->level == l && r->sys[i].res[q].r == RES_NA;
			den = r->level_n[l] - na;
			ms_buf_adds(b, "<tr><td>");
			h(b, tr(r, req->title_vi, req->title_en));
			ms_buf_adds(b, "</td><td>");
			h(b, req->basis ? req->basis : "–");
			ms_buf_adds(b, "</td><td>");
			h(b, req->check == MS_CHECK_MANUAL ? tr(r, "xác nhận", "attested") : tr(r, "tự động", "automatic"));
			ms_buf_adds(b, "</td><td class=\"n\">");
			h_ratio(b, r->level_pass[l * nq + q], den);
			ms_buf_printf(b, "</td><td class=\"n%s\">%d</td></tr>", unk ? " unknown" : "", unk);
			lv_labels[n] = req->id;
			lv_vals[n] = den > 0 ? r->level_pass[l * nq + q] * 10000 / den : 0;
			ms_pct(r->level_pass[l * nq + q], den, pct, sizeof(pct));
			snprintf(lv_texts[n], 64, "%d/%lld = %s %%", r->level_pass[l * nq + q], (long long)den, pct);
			lv_tp[n] = lv_texts[n];
			n++;
		}
		ms_buf_adds(b, "</tbody></table>\n");
		{
			char t[96];
			snprintf(t, sizeof(t), "%s %d", tr(r, "Tỷ lệ đạt – cấp độ", "Pass rate – level"), l);
			svg_bars(b, t, lv_labels, lv_vals, lv_tp, n, 10000);
		}
	}
	free(lv_labels);
	free(lv_vals);
	free(lv_texts);
	free(lv_tp);
	ms_buf_adds(b, "</section>\n");

	/* 4. Per system */
	ms_buf_printf(b, "<section id=\"systems\"><h2>4. %s</h2>\n",
	    tr(r, "Chi tiết từng hệ thống thông tin", "Each information system"));
	html_legend(r, b);
	for (size_t i = 0; i < r->reg->n; i++)
		html_system(r, b, &r->sys[i]);
	ms_buf_adds(b, "</section>\n");

	/* 5. Incidents */
	ms_buf_printf(b, "<section id=\"incidents\"><h2>5. %s</h2>\n",
	    tr(r, "Sự cố và thời hạn báo cáo", "Incidents against reporting deadlines"));
	{
		char buf[256];
		snprintf(buf, sizeof(buf), tr(r, "Thời hạn theo khung pháp lý: báo cáo trong %lld giờ; "
		    "sự cố nghiêm trọng: thông báo trong %lld giờ, báo cáo đầy đủ trong %lld giờ.",
		    "Deadlines of the framework: report within %lld h; serious incident: notice within "
		    "%lld h, full report within %lld h."), (long long)r->prof->report_hours,
		    (long long)r->prof->serious_notice_hours, (long long)r->prof->serious_report_hours);
		ms_buf_adds(b, "<p>");
		h(b, buf);
		ms_buf_adds(b, "</p>\n");
	}
	html_incidents(r, b);
	ms_buf_adds(b, "</section>\n");

	/* 6. Monitoring statistics */
	ms_buf_printf(b, "<section id=\"monitoring\"><h2>6. %s</h2>\n<p>%s: %lld%s</p>\n",
	    tr(r, "Thống kê giám sát", "Monitoring statistics"),
	    tr(r, "Tổng số cảnh báo trong kỳ", "Alerts in the period"), (long long)r->nalerts,
	    r->alerts_truncated ? tr(r, " (đã giới hạn)", " (capped)") : "");
	html_counter(r, b, tr(r, "Cảnh báo theo loại", "Alerts by type"), tr(r, "Loại", "Type"), &r->by_type);
	html_counter(r, b, tr(r, "Cảnh báo theo hệ thống", "Alerts by system"), tr(r, "Hệ thống", "System"),
	    &r->by_system);
	html_counter(r, b, tr(r, "Cảnh báo theo nguồn", "Alerts by source"), tr(r, "Địa chỉ nguồn", "Source address"),
	    &r->by_source);
	ms_buf_adds(b, "</section>\n");

	/* 7. Annex */
	ms_buf_printf(b, "<section id=\"annex\"><h2>7. %s</h2>\n<table><thead><tr>",
	    tr(r, "Phụ lục: danh mục hệ thống thông tin", "Annex: register of information systems"));
	for (size_t i = 0; i < MS_ARRAY_LEN(annex_vi); i++) {
		ms_buf_adds(b, "<th>");
		h(b, r->vi ? annex_vi[i] : annex_en[i]);
		ms_buf_adds(b, "</th>");
	}
	ms_buf_adds(b, "</tr></thead><tbody>");
	for (size_t i = 0; i < r->reg->n; i++) {
		const char *cells[16];
		char bufs[4][32];
		size_t n = annex_row(r, &r->reg->systems[i], cells, bufs);
		ms_buf_adds(b, "<tr>");
		for (size_t k = 0; k < n; k++) {
			ms_buf_adds(b, "<td>");
			h(b, cells[k]);
			ms_buf_adds(b, "</td>");
		}
		ms_buf_adds(b, "</tr>");
	}
	ms_buf_adds(b, "</tbody></table></section>\n");
	ms_buf_printf(b, "<p class=\"muted\">minisoc %s – ", MINISOC_VERSION);
	h_time(b, r->now_ms);
	ms_buf_adds(b, "</p>\n</body></html>\n");
	return b->toobig ? -1 : 0;
}

/* ---- publishing (--publish) ------------------------------------------ */

#define COMPLIANCE_KEY "minisoc:systems:compliance"

/*
 * pass: every requirement that applies passes; fail: some fail and none
 * passes; partial: some pass, some fail; unknown: none fails but some
 * cannot be judged as of T (only later telemetry is kept); n/a: nothing
 * applies at the system's level. Without unknown ones, as before.
 */
static const char *
sys_status(const struct sys_ev *se)
{
	int failed = se->applicable - se->passed - se->unknown;

	if (se->applicable == 0)
		return "n/a";
	if (se->passed == se->applicable)
		return "pass";
	if (failed == 0)
		return "unknown";
	return se->passed == 0 ? "fail" : "partial";
}

/* The requirements of one verdict: id, title, detail. */
static void
json_reqs(struct report *r, struct ms_json *j, const char *k, const struct sys_ev *se, int res)
{
	ms_json_key(j, k);
	ms_json_arr_open(j);
	for (size_t q = 0; q < r->prof->nreqs; q++) {
		const struct res *x = &se->res[q];
		if (x->r != res)
			continue;
		ms_json_obj_open(j);
		ms_json_kv_str(j, "id", r->prof->reqs[q].id);
		ms_json_kv_str(j, "title", tr(r, r->prof->reqs[q].title_vi, r->prof->reqs[q].title_en));
		ms_json_kv_str(j, "detail", x->detail[0] ? x->detail : NULL);
		ms_json_obj_close(j);
	}
	ms_json_arr_close(j);
}

/* The summary of one system, as minisoc:systems:compliance holds it. */
static void
json_summary(struct report *r, struct ms_json *j, const struct sys_ev *se)
{
	ms_json_obj_open(j);
	ms_json_kv_str(j, "id", se->s->id);
	ms_json_kv_str(j, "status", sys_status(se));
	ms_json_key(j, "passed");
	ms_json_int(j, se->passed);
	ms_json_key(j, "failed");
	ms_json_int(j, se->applicable - se->passed - se->unknown);
	ms_json_key(j, "unknown");
	ms_json_int(j, se->unknown);
	ms_json_key(j, "total");
	ms_json_int(j, se->applicable);
	ms_json_kv_str(j, "framework", r->prof->id);
	ms_json_key(j, "level");
	ms_json_int(j, se->s->level);
	jkv_time(j, "as_of", r->at_ms);
	ms_json_key(j, "as_of_ms");
	ms_json_int(j, r->at_ms);
	jkv_time(j, "published", r->now_ms);
	ms_json_key(j, "agents");
	ms_json_int(j, se->agents);
	ms_json_key(j, "agents_reporting_24h");
	ms_json_int(j, se->agents_fresh);
	json_reqs(r, j, "failed_requirements", se, RES_FAIL);
	json_reqs(r, j, "unknown_requirements", se, RES_UNKNOWN);
	ms_json_obj_close(j);
}

/*
 * Replaces minisoc:systems:compliance by one summary per system of the
 * register in one transaction (MULTI, DEL, HSET, EXEC): a system removed
 * from the register leaves the hash at the next run. 0, or -1 (said on
 * stderr).
 */
static int
publish(struct report *r)
{
	const char *multi[] = { "MULTI" }, *exec_[] = { "EXEC" }, *del[] = { "DEL", COMPLIANCE_KEY };
	size_t n = r->reg->n, *end = NULL, *argl = NULL;
	const char **argv = NULL;
	struct ms_buf b;
	struct ms_json j;
	redisReply *x;
	int rc = -1, bad = 0;

	ms_buf_init(&b, REPORT_MAX);
	if ((end = calloc(n + 1, sizeof(*end))) == NULL ||
	    (argv = calloc(2 * n + 2, sizeof(*argv))) == NULL ||
	    (argl = calloc(2 * n + 2, sizeof(*argl))) == NULL) {
		fprintf(stderr, "minisocctl report: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ms_json_init(&j, &b);
		json_summary(r, &j, &r->sys[i]);
		if (ms_json_finish(&j) < 0 || b.toobig) {
			fprintf(stderr, "minisocctl report: the summaries are larger than %u bytes\n",
			    REPORT_MAX);
			goto out;
		}
		end[i] = b.len;
	}
	/* The buffer no longer moves: point into it. */
	argv[0] = "HSET";
	argl[0] = strlen(argv[0]);
	argv[1] = COMPLIANCE_KEY;
	argl[1] = strlen(argv[1]);
	for (size_t i = 0; i < n; i++) {
		size_t start = i ? end[i - 1] : 0;
		argv[2 + 2 * i] = r->reg->systems[i].id;
		argl[2 + 2 * i] = strlen(r->reg->systems[i].id);
		argv[3 + 2 * i] = b.data + start;
		argl[3 + 2 * i] = end[i] - start;
	}
	redisAppendCommandArgv(r->rc, 1, multi, NULL);
	redisAppendCommandArgv(r->rc, 2, del, NULL);
	if (n)
		redisAppendCommandArgv(r->rc, (int)(2 + 2 * n), argv, argl);
	redisAppendCommandArgv(r->rc, 1, exec_, NULL);
	for (int i = 0; i < (n ? 4 : 3); i++) {
		if (redisGetReply(r->rc, (void **)&x) != REDIS_OK) {
			fprintf(stderr, "minisocctl report: Redis: %s\n", r->rc->errstr);
			goto out;
		}
		/* EXEC answers an array of the queued commands' replies; nil when aborted. */
		if (x->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "minisocctl report: Redis refused the summaries: %.200s\n", x->str);
			bad = 1;
		} else if (i == (n ? 3 : 2)) {
			if (x->type != REDIS_REPLY_ARRAY)
				bad = 1;
			for (size_t k = 0; x->type == REDIS_REPLY_ARRAY && k < x->elements; k++)
				if (x->element[k]->type == REDIS_REPLY_ERROR) {
					fprintf(stderr, "minisocctl report: Redis: %.200s\n", x->element[k]->str);
					bad = 1;
				}
		}
		freeReplyObject(x);
	}
	if (bad)
		goto out;
	fprintf(stderr, "minisocctl report: published %zu systems to %s (framework %s)\n", n,
	    COMPLIANCE_KEY, r->prof->id);
	rc = 0;
out:
	free(end);
	free(argv);
	free(argl);
	ms_buf_fini(&b);
	return rc;
}

/* ---- the command ------------------------------------------------------ */

static void
report_usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl report --register FILE [options]\n"
	    "\n"
	    "The compliance report on every information system of the register.\n"
	    "\n"
	    "  --register FILE        the register (YAML, docs/compliance.md), required\n"
	    "  --profile-dir DIR      framework profiles (default $MINISOC_PROFILE_DIR, else\n"
	    "                         ./rules/compliance, else the installed ones)\n"
	    "  --framework ID         new or old (a profile DIR/ID.yml; default new)\n"
	    "  --from DATE            start of the period (default: 30 days before --to)\n"
	    "  --to DATE              end of the period, inclusive (default today, UTC)\n"
	    "  --at TIME              judge the checks as of TIME (default: now, or the end of --to\n"
	    "                         when that is earlier); RFC 3339 or YYYY-MM-DD. Redis keeps only\n"
	    "                         the latest telemetry: a check whose only evidence is dated\n"
	    "                         more than 1 h after TIME is \"unknown\" (không xác định), neither\n"
	    "                         pass nor fail; it counts as not passed in the rates\n"
	    "  --lang vi|en           language (default vi)\n"
	    "  --format html|csv|json html: one printable file with charts; csv: the annex table\n"
	    "                         and each requirement's verdict per system;\n"
	    "                         json: everything (default html); none: no report (with --publish)\n"
	    "  -o, --output FILE      write there (default stdout); a file is replaced only\n"
	    "                         once the new report is whole (a full disk leaves\n"
	    "                         the old one as it was)\n"
	    "  --archive DIR          the event archive, <DIR>/<system id>/<YYYY-MM-DD>.* files\n"
	    "                         (default /var/lib/minisoc-collector/archive, where\n"
	    "                         the collector's unit lets it write, docs/archive.md)\n"
	    "  -r, --redis HOST:PORT  Redis (default 127.0.0.1:6379); -s, --socket PATH instead\n"
	    "  -k, --stream NAME      alert stream (default minisoc:alerts)\n"
	    "  --max-alerts N         alerts read for the statistics at most (default 1000000)\n"
	    "  --publish              also write each system's compliance status into the Redis\n"
	    "                         hash minisoc:systems:compliance (replaced whole) for the\n"
	    "                         dashboard\n"
	    "\n"
	    "Exit status: 0 written, 1 usage, register or profile error, 2 Redis or output error.\n");
}

static int
date_opt(const char *s, int64_t *ms)
{
	return ms_time_parse(s, ms);
}

/*
 * Whether -o PATH is written by replacing it (a regular file, or none yet)
 * rather than opened in place (/dev/stdout, a pipe, a terminal).
 */
static bool
report_replaces(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return errno == ENOENT;
	return S_ISREG(st.st_mode);
}

int
ctl_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "register", required_argument, NULL, 'R' },
		{ "profile-dir", required_argument, NULL, 'P' },
		{ "framework", required_argument, NULL, 'F' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "at", required_argument, NULL, 'T' },
		{ "lang", required_argument, NULL, 'L' },
		{ "format", required_argument, NULL, 'M' },
		{ "output", required_argument, NULL, 'o' },
		{ "archive", required_argument, NULL, 'A' },
		{ "redis", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "stream", required_argument, NULL, 'k' },
		{ "max-alerts", required_argument, NULL, 'X' },
		{ "publish", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report r;
	const char *addr = NULL, *sock = NULL;
	char err[8192];
	struct ms_buf b;
	int64_t from = -1, to = -1, at = -1;
	int ch, ret = 1, rc;
	FILE *out = NULL;

	memset(&r, 0, sizeof(r));
	r.profile_dir = ctl_profile_dir();
	r.framework = "new";
	r.archive_dir = "/var/lib/minisoc-collector/archive";
	r.stream = "minisoc:alerts";
	r.vi = true;
	r.fmt = FMT_HTML;
	r.max_alerts = 1000000;
	r.now_ms = ms_now_ms();
	ms_buf_init(&b, REPORT_MAX);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:r:s:k:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'R': r.reg_path = optarg; break;
		case 'P': r.profile_dir = optarg; break;
		case 'F': r.framework = optarg; break;
		case 'f':
		case 't':
		case 'T':
			if (date_opt(optarg, ch == 'f' ? &from : ch == 't' ? &to : &at) < 0) {
				fprintf(stderr, "minisocctl report: --%s wants YYYY-MM-DD or RFC 3339\n",
				    ch == 'f' ? "from" : ch == 't' ? "to" : "at");
				goto out;
			}
			break;
		case 'L':
			if (strcmp(optarg, "vi") != 0 && strcmp(optarg, "en") != 0) {
				fprintf(stderr, "minisocctl report: --lang vi or en\n");
				goto out;
			}
			r.vi = strcmp(optarg, "vi") == 0;
			break;
		case 'M':
			if (strcmp(optarg, "html") == 0)
				r.fmt = FMT_HTML;
			else if (strcmp(optarg, "csv") == 0)
				r.fmt = FMT_CSV;
			else if (strcmp(optarg, "json") == 0)
				r.fmt = FMT_JSON;
			else if (strcmp(optarg, "none") == 0)
				r.fmt = FMT_NONE;
			else {
				fprintf(stderr, "minisocctl report: --format html, csv, json or none\n");
				goto out;
			}
			break;
		case 'o': r.out_path = optarg; break;
		case 'A': r.archive_dir = optarg; break;
		case 'r': addr = optarg; break;
		case 's': sock = optarg; break;
		case 'k': r.stream = optarg; break;
		case 'X':
			if (ms_parse_i64(optarg, 0, INT64_MAX / 2, &r.max_alerts) < 0) {
				fprintf(stderr, "minisocctl report: --max-alerts wants a number\n");
				goto out;
			}
			break;
		case 'U': r.publish = true; break;
		case 'h': report_usage(stdout); ret = 0; goto out;
		default: report_usage(stderr); goto out;
		}
	}
	if (r.reg_path == NULL || optind != argc) {
		report_usage(stderr);
		goto out;
	}
	if (r.fmt == FMT_NONE && !r.publish) {
		fprintf(stderr, "minisocctl report: --format none only with --publish\n");
		goto out;
	}
	/* The period: whole days, UTC; --to is inclusive. */
	if (to < 0)
		to = r.now_ms / DAY_MS * DAY_MS;
	r.to_ms = to / DAY_MS * DAY_MS + DAY_MS - 1;
	r.from_ms = from >= 0 ? from / DAY_MS * DAY_MS : r.to_ms + 1 - 30 * DAY_MS;
	r.at_ms = at >= 0 ? at : (r.now_ms < r.to_ms ? r.now_ms : r.to_ms);
	if (r.from_ms > r.to_ms) {
		fprintf(stderr, "minisocctl report: --from is after --to\n");
		goto out;
	}
	/* Named as every other error of this command: a cron mail mixes several. */
	if ((r.reg = ms_register_load(r.reg_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "minisocctl report: %s\n", err);
		goto out;
	}
	if ((r.prof = ms_comp_profile_find(r.profile_dir, r.framework, err, sizeof(err))) == NULL) {
		fprintf(stderr, "minisocctl report: %s\n", err);
		goto out;
	}
	attest_check(&r);
	ret = 2;
	if ((r.rc = ctl_redis_connect(addr, sock, "minisocctl report")) == NULL)
		goto out;
	if ((r.tel = ms_map_new(tel_free)) == NULL || (r.by_type.m = ms_map_new(free)) == NULL ||
	    (r.by_system.m = ms_map_new(free)) == NULL || (r.by_source.m = ms_map_new(free)) == NULL ||
	    (r.sys = calloc(r.reg->n + 1, sizeof(*r.sys))) == NULL ||
	    (r.level_pass = calloc(6 * (r.prof->nreqs + 1), sizeof(int))) == NULL ||
	    (r.level_unknown = calloc(6 * (r.prof->nreqs + 1), sizeof(int))) == NULL) {
		fprintf(stderr, "minisocctl report: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < r.reg->n; i++)
		if ((r.sys[i].res = calloc(r.prof->nreqs, sizeof(struct res))) == NULL) {
			fprintf(stderr, "minisocctl report: out of memory\n");
			goto out;
		}
	evaluate(&r);
	if (r.rc->err) {
		fprintf(stderr, "minisocctl report: Redis: %s\n", r.rc->errstr);
		goto out;
	}
	/* Judged on complete telemetry only: a broken connection fails above. */
	if (r.publish && publish(&r) < 0)
		goto out;
	if (r.fmt == FMT_NONE) {
		/* Only the statuses were asked for: no incidents, alerts or rendering. */
		ret = 0;
		goto out;
	}
	find_unassigned(&r);
	if ((r.ninc = incident_load_range(r.rc, r.from_ms, r.to_ms, &r.inc)) < 0)
		goto out;
	judge_incidents(&r);
	read_alerts(&r);
	if (r.rc->err) {
		fprintf(stderr, "minisocctl report: Redis: %s\n", r.rc->errstr);
		goto out;
	}
	counter_sort(&r.by_type);
	counter_sort(&r.by_system);
	counter_sort(&r.by_source);
	rc = r.fmt == FMT_JSON ? render_json(&r, &b) : r.fmt == FMT_CSV ? render_csv(&r, &b) :
	    render_html(&r, &b);
	if (rc < 0 || b.toobig) {
		fprintf(stderr, "minisocctl report: the report is larger than %u bytes\n", REPORT_MAX);
		goto out;
	}
	if (r.out_path != NULL && report_replaces(r.out_path)) {
		/*
		 * A new file beside it, renamed over it once whole: a full disk or
		 * an error leaves last month's report as it was, never a cut one.
		 */
		mode_t um = umask(0);

		umask(um);
		if (ms_pki_file_write(r.out_path, b.data, b.len, (int)(0666 & ~um), err,
		    sizeof(err)) < 0) {
			fprintf(stderr, "minisocctl report: %s\n", err);
			goto out;
		}
		ret = 0;
		goto out;
	}
	out = r.out_path ? fopen(r.out_path, "wb") : stdout;
	{
		/* The reason too: a folder that does not exist, a full disk, no permission. */
		int werr = out == NULL ? errno : 0;

		errno = 0;
		if (out != NULL && fwrite(b.data, 1, b.len, out) != b.len)
			werr = errno ? errno : EIO;
		if (out != NULL && out != stdout && fclose(out) != 0 && werr == 0)
			werr = errno;
		if (out == stdout && fflush(out) != 0 && werr == 0)
			werr = errno;
		out = NULL;
		if (werr != 0) {
			fprintf(stderr, "minisocctl report: cannot write %s: %s\n",
			    r.out_path ? r.out_path : "stdout", strerror(werr));
			clearerr(stdout);	/* said: not again by main() */
			goto out;
		}
	}
	ret = 0;
out:
	if (r.sys)
		for (size_t i = 0; i < r.reg->n; i++)
			free(r.sys[i].res);
	free(r.sys);
	free(r.level_pass);
	free(r.level_unknown);
	for (size_t i = 0; i < r.nunassigned; i++)
		free(r.unassigned[i]);
	free(r.unassigned);
	free(r.inc);
	ms_map_free(r.tel);
	free(r.by_type.keys);
	free(r.by_type.vals);
	free(r.by_system.keys);
	free(r.by_system.vals);
	free(r.by_source.keys);
	free(r.by_source.vals);
	ms_map_free(r.by_type.m);
	ms_map_free(r.by_system.m);
	ms_map_free(r.by_source.m);
	if (r.rc)
		redisFree(r.rc);
	ms_comp_profile_free(r.prof);
	ms_register_free(r.reg);
	ms_buf_fini(&b);
	return ret;
}
