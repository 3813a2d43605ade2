/*
 * fwd_msg – what minisoc-forward puts on the wire, as pure functions:
 * the tolerant reading of an alert, the RFC 5424 message in its RFC 5425
 * frame, and the IODEF 2.0 document of an incident.
 */
#include "forward.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ms_util.h"

static const char *const sev_names[] = { "informational", "low", "medium", "high", "critical" };

int
fwd_sev_rank_name(const char *name)
{
	if (name == NULL)
		return FWD_SEV_UNKNOWN;
	for (int i = 0; i <= FWD_SEV_MAX; i++)
		if (strcasecmp(name, sev_names[i]) == 0)
			return i;
	if (strcasecmp(name, "info") == 0)
		return 0;
	return FWD_SEV_UNKNOWN;
}

const char *
fwd_sev_name(int rank)
{
	return rank >= 0 && rank <= FWD_SEV_MAX ? sev_names[rank] : "unknown";
}

int
fwd_sev_rank(const struct ms_jv *v)
{
	if (v == NULL)
		return FWD_SEV_UNKNOWN;
	if (v->type == MS_JV_STR)
		return fwd_sev_rank_name(v->str);
	if (v->type == MS_JV_NUM) {
		/*
		 * A number (ECS event.severity is numeric) is read on the 0-100
		 * scale of Elastic's detection rules: 21 low, 47 medium, 73 high,
		 * 99 critical.
		 */
		if (!(v->num >= 0 && v->num <= 1000))
			return FWD_SEV_UNKNOWN;
		return v->num >= 99 ? 4 : v->num >= 73 ? 3 : v->num >= 47 ? 2 : v->num >= 21 ? 1 : 0;
	}
	return FWD_SEV_UNKNOWN;
}

/*
 * The names each field is read under, the ECS-style name first. This table
 * is the one place to change when the alert JSON changes (but for names_id,
 * which forward.c's incident lookup script reads the same way in Lua).
 */
static const char *const names_id[] = { "id", "event.id", NULL };
static const char *const names_time[] = { "@timestamp", "time", NULL };
/*
 * rule.level first: minisoc's schema 1 (docs/alerts.md) always carries the
 * level's name there, and its numeric event.severity is 1..5, not the 0-100
 * scale read below for other producers.
 */
static const char *const names_sev[] = { "rule.level", "event.severity", "severity", NULL };
static const char *const names_rule_id[] = { "rule.id", NULL };
static const char *const names_rule_name[] = { "rule.name", "rule.title", NULL };
static const char *const names_src_ip[] = { "source.ip", "src_ip", NULL };
static const char *const names_host[] = { "host.name", "agent.host", NULL };
static const char *const names_agent[] = { "agent.id", NULL };
static const char *const names_system[] = { "system.id", NULL };

static const char *
view_str(const struct ms_jv *a, const char *const *names)
{
	const char *s;

	for (; *names; names++)
		if ((s = ms_jv_path_str(a, *names)) != NULL && *s)
			return s;
	return NULL;
}

void
fwd_alert_view(const struct ms_jv *a, struct fwd_alert_view *v)
{
	memset(v, 0, sizeof(*v));
	v->sev = FWD_SEV_UNKNOWN;
	if (a == NULL || a->type != MS_JV_OBJ)
		return;
	v->id = view_str(a, names_id);
	v->time = view_str(a, names_time);
	v->rule_id = view_str(a, names_rule_id);
	v->rule_name = view_str(a, names_rule_name);
	v->src_ip = view_str(a, names_src_ip);
	v->host = view_str(a, names_host);
	v->agent_id = view_str(a, names_agent);
	v->system_id = view_str(a, names_system);
	for (const char *const *n = names_sev; *n && v->sev == FWD_SEV_UNKNOWN; n++)
		v->sev = fwd_sev_rank(ms_jv_path(a, *n));
}

static bool
digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool
fwd_msg_time_ok(const char *s)
{
	size_t i = 19, f = 0;

	if (s == NULL || strnlen(s, 40) < 20 || !digits(s, 4) || s[4] != '-' ||
	    !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) || s[10] != 'T' ||
	    !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
	    !digits(s + 17, 2))
		return false;
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			f++;
		if (f < 1 || f > 6)
			return false;
	}
	if (s[i] == 'Z')
		return s[i + 1] == '\0';
	if ((s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
	    digits(s + i + 4, 2))
		return s[i + 6] == '\0';
	return false;
}

/* A header field: printable US-ASCII without spaces, at most max bytes; else "-". */
static int
put_header_field(struct ms_buf *b, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max + 1) : 0;

	if (n == 0 || n > max)
		return ms_buf_adds(b, "-");
	for (size_t i = 0; i < n; i++)
		if (s[i] < 33 || s[i] > 126)
			return ms_buf_adds(b, "-");
	return ms_buf_add(b, s, n);
}

/* An SD PARAM-VALUE: '"', '\' and ']' escaped, anything not printable ASCII as '?'. */
static int
put_sd_value(struct ms_buf *b, const char *s)
{
	int rc = 0;

	for (; *s; s++) {
		char c = *s;
		if (c == '"' || c == '\\' || c == ']')
			rc |= ms_buf_addc(b, '\\');
		rc |= ms_buf_addc(b, c >= 32 && c <= 126 ? c : '?');
	}
	return rc;
}

int
fwd_msg_syslog(struct ms_buf *out, const struct fwd_syslog_opts *o, const char *msgid,
    int sev, const char *time, int64_t now_ms, const struct fwd_sd_param *sd, size_t nsd,
    const char *msg, size_t msglen)
{
	/* Sigma level -> syslog severity: informational 6 … critical 2. */
	static const int sys_sev[] = { 6, 5, 4, 3, 2 };
	struct ms_buf m;
	char ts[40];
	int prio, rc = -1;
	size_t start = out->len;

	ms_buf_init(&m, out->cap);
	prio = o->facility * 8 + (sev >= 0 && sev <= FWD_SEV_MAX ? sys_sev[sev] : 5);
	if (fwd_msg_time_ok(time))
		ms_copy(ts, sizeof(ts), time, strlen(time));
	else
		ms_fmt_time(ts, sizeof(ts), now_ms);
	if (ms_buf_printf(&m, "<%d>1 %s ", prio, ts) < 0 ||
	    put_header_field(&m, o->hostname, 255) < 0 || ms_buf_addc(&m, ' ') < 0 ||
	    put_header_field(&m, o->app_name, 48) < 0 || ms_buf_adds(&m, " - ") < 0 ||
	    put_header_field(&m, msgid, 32) < 0 || ms_buf_addc(&m, ' ') < 0)
		goto out;
	if (o->sd_id && *o->sd_id) {
		int e = ms_buf_addc(&m, '[') | put_header_field(&m, o->sd_id, 32);
		for (size_t i = 0; i < nsd; i++) {
			if (sd[i].value == NULL)
				continue;
			e |= ms_buf_printf(&m, " %s=\"", sd[i].name) | put_sd_value(&m, sd[i].value) |
			    ms_buf_addc(&m, '"');
		}
		if ((e | ms_buf_addc(&m, ']')) < 0)
			goto out;
	} else if (ms_buf_addc(&m, '-') < 0) {
		goto out;
	}
	if (msglen && (ms_buf_addc(&m, ' ') < 0 ||
	    (o->bom && ms_buf_add(&m, "\xef\xbb\xbf", 3) < 0) || ms_buf_add(&m, msg, msglen) < 0))
		goto out;
	if (ms_buf_printf(out, "%zu ", m.len) < 0 || ms_buf_add(out, m.data, m.len) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		out->len = start;
		out->toobig = false;
		if (out->data)
			out->data[start] = '\0';
	}
	ms_buf_fini(&m);
	return rc;
}

/* Length of a valid UTF-8 sequence at s that XML 1.0 allows, or 0. */
static size_t
xml_utf8(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n = ms_utf8_seq(s, len, &cp);

	if (n == 1)
		return (cp >= 0x20 || cp == '\t' || cp == '\n' || cp == '\r') ? 1 : 0;
	return (n == 0 || cp == 0xfffe || cp == 0xffff) ? 0 : n;
}

int
fwd_xml_escape(struct ms_buf *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	int rc = 0;

	for (size_t i = 0; i < len;) {
		size_t n = xml_utf8(s + i, len - i);

		if (n == 0) {
			rc |= ms_buf_add(out, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		switch (s[i]) {
		case '&': rc |= ms_buf_adds(out, "&amp;"); break;
		case '<': rc |= ms_buf_adds(out, "&lt;"); break;
		case '>': rc |= ms_buf_adds(out, "&gt;"); break;
		case '"': rc |= ms_buf_adds(out, "&quot;"); break;
		case '\'': rc |= ms_buf_adds(out, "&apos;"); break;
		default: rc |= ms_buf_add(out, s + i, n);
		}
		i += n;
	}
	return rc;
}

static int
xml_elem(struct ms_buf *b, const char *indent, const char *name, const char *text)
{
	if (text == NULL)
		return 0;
	return ms_buf_printf(b, "%s<%s>", indent, name) | fwd_xml_escape(b, text, strlen(text)) |
	    ms_buf_printf(b, "</%s>\n", name);
}

/* A DATETIME element, only when the value is one (xs:dateTime). */
static int
xml_time(struct ms_buf *b, const char *indent, const char *name, const char *t)
{
	return fwd_msg_time_ok(t) ? xml_elem(b, indent, name, t) : 0;
}

static int
xml_additional(struct ms_buf *b, const char *indent, const char *meaning, const char *text)
{
	if (text == NULL)
		return 0;
	return ms_buf_printf(b, "%s<AdditionalData dtype=\"string\" meaning=\"%s\">", indent,
	    meaning) | fwd_xml_escape(b, text, strlen(text)) | ms_buf_adds(b, "</AdditionalData>\n");
}

size_t
fwd_incident_alert_ids(const struct ms_jv *inc, const char **ids, size_t max)
{
	const struct ms_jv *arr = ms_jv_get(inc, "alerts");
	size_t n = 0;

	if (arr == NULL || arr->type != MS_JV_ARR)
		return 0;
	for (const struct ms_jv *c = arr->child; c && n < max; c = c->next)
		if (c->type == MS_JV_STR && c->len > 0 && strlen(c->str) == c->len)
			ids[n++] = c->str;
	return n;
}

int64_t
fwd_uuid7_ms(const char *s)
{
	int64_t ms = 0;
	int nd = 0;

	if (s == NULL || strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[14] != '7' ||
	    s[18] != '-' || s[23] != '-')
		return -1;
	for (size_t i = 0; i < 36; i++) {
		int h;
		if (i == 8 || i == 13 || i == 18 || i == 23)
			continue;
		if ((h = ms_hexval(s[i])) < 0)
			return -1;
		if (nd < 12)
			ms = ms * 16 + h;
		nd++;
	}
	return ms;
}

/* Source and target of one alert, as an IODEF Flow. */
static int
iodef_flow(struct ms_buf *b, const struct fwd_alert_view *v)
{
	unsigned char ip[16];
	int rc = 0;
	bool src = v->src_ip && (inet_pton(AF_INET, v->src_ip, ip) == 1 ||
	    inet_pton(AF_INET6, v->src_ip, ip) == 1);

	if (!src && v->host == NULL)
		return 0;
	rc |= ms_buf_adds(b, "      <Flow>\n");
	if (src)
		rc |= ms_buf_printf(b, "        <System category=\"source\">\n          <Node>\n"
		    "            <Address category=\"%s\">%s</Address>\n          </Node>\n"
		    "        </System>\n", strchr(v->src_ip, ':') ? "ipv6-addr" : "ipv4-addr",
		    v->src_ip);
	if (v->host) {
		rc |= ms_buf_adds(b, "        <System category=\"target\">\n          <Node>\n"
		    "            <DomainData system-status=\"unknown\" domain-status=\"unknown\">\n");
		rc |= xml_elem(b, "              ", "Name", v->host);
		rc |= ms_buf_adds(b, "            </DomainData>\n          </Node>\n");
		rc |= xml_elem(b, "          ", "AssetID", v->agent_id);
		rc |= xml_elem(b, "          ", "AssetID", v->system_id);
		rc |= ms_buf_adds(b, "        </System>\n");
	}
	rc |= ms_buf_adds(b, "      </Flow>\n");
	return rc;
}

int
fwd_iodef(struct ms_buf *out, const struct fwd_iodef_opts *o, const struct ms_jv *inc,
    const struct ms_jv *const *alerts, size_t nalerts, int64_t now_ms)
{
	static const struct { const char *ours, *iodef; } statuses[] = {
		{ "open", "new" }, { "notified", "in-progress" }, { "reported", "in-progress" },
		{ "closed", "resolved" },
	};
	const char *id = ms_jv_path_str(inc, "id"), *status = NULL, *st, *ids[256];
	const struct ms_jv *sev = ms_jv_get(inc, "severity"), *serious, *arr;
	size_t start = out->len, nids;
	int rc = 0, rank = fwd_sev_rank(sev);
	char now[40];

	if (id == NULL || *id == '\0')
		return -1;
	if ((st = ms_jv_path_str(inc, "status")) != NULL)
		for (size_t i = 0; i < MS_ARRAY_LEN(statuses); i++)
			if (strcmp(st, statuses[i].ours) == 0)
				status = statuses[i].iodef;
	ms_fmt_time(now, sizeof(now), now_ms);
	rc |= ms_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<IODEF-Document version=\"2.00\" xml:lang=\"");
	rc |= fwd_xml_escape(out, o->lang, strlen(o->lang));
	rc |= ms_buf_adds(out, "\" xmlns=\"urn:ietf:params:xml:ns:iodef-2.0\">\n"
	    "  <Incident purpose=\"reporting\"");
	if (status)
		rc |= ms_buf_printf(out, " status=\"%s\"", status);
	rc |= ms_buf_adds(out, ">\n    <IncidentID name=\"");
	rc |= fwd_xml_escape(out, o->name, strlen(o->name));
	rc |= ms_buf_adds(out, "\">");
	rc |= fwd_xml_escape(out, id, strlen(id));
	rc |= ms_buf_adds(out, "</IncidentID>\n");
	rc |= xml_time(out, "    ", "DetectTime", ms_jv_path_str(inc, "created"));
	rc |= xml_time(out, "    ", "ReportTime", ms_jv_path_str(inc, "updated"));
	rc |= xml_elem(out, "    ", "GenerationTime", now);
	rc |= xml_elem(out, "    ", "Description", ms_jv_path_str(inc, "title"));
	/* Operators' notes, oldest first, as further descriptions. */
	if ((arr = ms_jv_get(inc, "notes")) != NULL && arr->type == MS_JV_ARR) {
		for (const struct ms_jv *n = arr->child; n; n = n->next) {
			const char *t = ms_jv_path_str(n, "time"), *who = ms_jv_path_str(n, "who"),
			    *text = ms_jv_path_str(n, "text");
			if (text == NULL)
				continue;
			rc |= ms_buf_adds(out, "    <Description>");
			if (t)
				rc |= fwd_xml_escape(out, t, strlen(t)) | ms_buf_addc(out, ' ');
			if (who)
				rc |= fwd_xml_escape(out, who, strlen(who)) | ms_buf_adds(out, ": ");
			rc |= fwd_xml_escape(out, text, strlen(text));
			rc |= ms_buf_adds(out, "</Description>\n");
		}
	}
	/* IODEF knows low, medium and high: critical is high (and the exact level is below). */
	rc |= ms_buf_printf(out, "    <Assessment occurrence=\"actual\">\n"
	    "      <SystemImpact severity=\"%s\" type=\"unknown\"/>\n    </Assessment>\n",
	    rank >= 3 ? "high" : rank == 2 ? "medium" : "low");
	rc |= ms_buf_adds(out, "    <Contact role=\"creator\" type=\"organization\">\n");
	rc |= xml_elem(out, "      ", "ContactName", o->contact_name);
	if (o->contact_email && *o->contact_email) {
		rc |= ms_buf_adds(out, "      <Email>\n");
		rc |= xml_elem(out, "        ", "EmailTo", o->contact_email);
		rc |= ms_buf_adds(out, "      </Email>\n");
	}
	rc |= ms_buf_adds(out, "    </Contact>\n");
	nids = fwd_incident_alert_ids(inc, ids, MS_ARRAY_LEN(ids));
	if (nids > o->max_alerts)
		nids = o->max_alerts;
	for (size_t i = 0; i < nids; i++) {
		struct fwd_alert_view v;

		fwd_alert_view(i < nalerts ? alerts[i] : NULL, &v);
		rc |= ms_buf_adds(out, "    <EventData>\n");
		if (v.rule_name || v.rule_id)
			rc |= xml_elem(out, "      ", "Description", v.rule_name ? v.rule_name : v.rule_id);
		else
			rc |= xml_elem(out, "      ", "Description",
			    "alert not found in the SOC's store (only its id is known)");
		rc |= xml_time(out, "      ", "DetectTime", v.time);
		rc |= iodef_flow(out, &v);
		rc |= xml_additional(out, "      ", "alert-id", ids[i]);
		rc |= xml_additional(out, "      ", "rule-id", v.rule_id);
		if (v.sev != FWD_SEV_UNKNOWN)
			rc |= xml_additional(out, "      ", "alert-severity", fwd_sev_name(v.sev));
		rc |= ms_buf_adds(out, "    </EventData>\n");
	}
	if (rank != FWD_SEV_UNKNOWN)
		rc |= xml_additional(out, "    ", "severity", fwd_sev_name(rank));
	if ((serious = ms_jv_get(inc, "serious")) != NULL && serious->type == MS_JV_BOOL)
		rc |= xml_additional(out, "    ", "serious", serious->b ? "true" : "false");
	if ((arr = ms_jv_get(inc, "systems")) != NULL && arr->type == MS_JV_ARR)
		for (const struct ms_jv *s = arr->child; s; s = s->next)
			if (s->type == MS_JV_STR)
				rc |= xml_additional(out, "    ", "information-system", s->str);
	rc |= xml_additional(out, "    ", "status", st);
	rc |= ms_buf_adds(out, "  </Incident>\n</IODEF-Document>\n");
	if (rc < 0 || out->toobig) {
		out->len = start;
		out->toobig = false;
		if (out->data)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}
