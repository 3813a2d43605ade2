/*
 * decode_line – the decoder dispatcher: one raw line in, header fields,
 * Sigma logsource and named fields out.
 *
 * Order, cheapest reject first:
 *   1. the syslog header (RFC 3164 / 5424 / 3339): a non-syslog line is
 *      rejected on its first bytes, and the call also resets the event and
 *      strips CR/LF, so every path starts from the same NONE state;
 *   2. not syslog and starting with '{': a Zeek-style JSON record with
 *      "_path" (Zeek logs, minisoc network events: product "zeek"), else
 *      a journald JSON record
 *      (journalctl -o json); its MESSAGE then goes through step 4;
 *   3. not syslog: a web access log line (nginx / Apache, common or
 *      combined, with or without a vhost in front);
 *   3a. not syslog and starting with "type=" / "node=": an auditd record
 *      (audit.log); syslog messages of that shape are tried in step 4;
 *   4. syslog or JSON: product "linux", then an audit record in the
 *      message (audisp-syslog, kernel "audit:" lines), or by program: sshd, sudo, su,
 *      cron, user management, systemd-logind, PAM (any program), kernel
 *      firewall lines, nginx/apache access lines sent through syslog.
 *
 * No allocation, no regex; everything below is bounded by the line.
 */
#include "decode.h"
#include "decoders.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

bool
decode_ipv4(const char *p, size_t n, uint8_t *out)
{
	const char *e = p + n;
	uint8_t a[4];

	if (n < 7 || n > 15)
		return false;
	for (int o = 0; o < 4; o++) {
		unsigned v;

		if (p == e || (unsigned)(*p - '0') > 9)
			return false;
		v = (unsigned)(*p++ - '0');
		if (p < e && (unsigned)(*p - '0') <= 9) {
			if (v == 0)
				return false;	/* "0" is an octet, "01" is not */
			v = v * 10 + (unsigned)(*p++ - '0');
			if (p < e && (unsigned)(*p - '0') <= 9) {
				v = v * 10 + (unsigned)(*p++ - '0');
				if (v > 255)
					return false;
			}
		}
		a[o] = (uint8_t)v;
		if (o < 3) {
			if (p == e || *p != '.')
				return false;
			p++;
		}
	}
	if (p != e)
		return false;
	if (out != NULL)
		memcpy(out, a, sizeof(a));
	return true;
}

struct decode_day_memo {
	int64_t year;
	int mon, day;
	int64_t days;
};

static _Thread_local struct decode_day_memo decode_day_last = { .year = INT64_MIN };

int64_t
decode_days(int64_t y, int m, int d)
{
	struct decode_day_memo *c = &decode_day_last;

	if (c->year != y || c->mon != m || c->day != d) {
		c->days = ms_days_from_civil(y, m, d);
		c->year = y;
		c->mon = m;
		c->day = d;
	}
	return c->days;
}

/* The program name without a directory: "/usr/sbin/sshd" → "sshd". */
static struct ms_str
line_basename(struct ms_str app)
{
	for (size_t k = app.len; k > 0; k--)
		if (app.p[k - 1] == '/')
			return ms_str_make(app.p + k, app.len - k);
	return app;
}

/* See decode.h. IPv4 by hand (most), IPv6 by inet_pton on a bounded copy. */
bool
decode_ip(const char *p, size_t len)
{
	char buf[DECODE_IP_MAX];
	unsigned char addr[sizeof(struct in6_addr)];
	const char *pct;
	size_t alen = len;

	if (decode_ipv4(p, len, NULL))
		return true;
	if (len == 0 || len >= sizeof(buf))
		return false;
	if ((pct = memchr(p, '%', len)) != NULL) {
		alen = (size_t)(pct - p);
		if (alen + 1 == len)
			return false;
		for (size_t k = alen + 1; k < len; k++) {
			char c = p[k];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
				return false;
		}
		ms_copy(buf, sizeof(buf), p, alen);
		return inet_pton(AF_INET6, buf, addr) == 1;
	}
	ms_copy(buf, sizeof(buf), p, alen);
	return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

/* Web servers that may send their access log through syslog. */
static bool
line_is_webserver(struct ms_str app)
{
	/* the first byte first: most programs (sshd, sudo, CRON ...) end here */
	if (app.len == 0 || (app.p[0] != 'n' && app.p[0] != 'a' && app.p[0] != 'h'))
		return false;
	return ms_str_eq(app, "nginx") || ms_str_eq(app, "apache2") ||
	    ms_str_eq(app, "httpd") || ms_str_eq(app, "apache") ||
	    ms_str_startswith(app, "nginx_") || ms_str_startswith(app, "apache2_");
}

/* Step 4: a syslog-like event (header decoded) by its program. */
static void
line_decode_app(struct decoded *d, const struct decode_ctx *ctx)
{
	struct ms_str app = line_basename(d->app);

	d->product = "linux";
	if (decode_auditd_maybe(d->msg.p, d->msg.len) && decode_auditd(d, ctx, d->msg.p, d->msg.len))
		return;
	(void)decode_sshd(d);
	if (ms_str_eq(app, "kernel")) {
		(void)decode_fw(d);
		return;
	}
	if (line_is_webserver(app) && d->msg.len > 0 && decode_web(d, d->msg.p, d->msg.len)) {
		d->product = "linux";
		return;
	}
	(void)decode_auth(d);
}

/* decode_line without the cap on the event's time. */
static void
line_decode_any(const char *line, size_t len, const struct decode_ctx *ctx,
    struct decoded *out)
{
	decode_syslog(line, len, ctx, out);
	if (out->fmt != DECODE_SYSLOG_NONE) {
		line_decode_app(out, ctx);
		return;
	}
	/* out->msg is now the whole line, CR/LF stripped and capped */
	if (out->msg.len > 0 && out->msg.p[0] == '{') {
		if (decode_zeek(out))
			return;
		if (decode_json(out))
			line_decode_app(out, ctx);
		return;
	}
	if (decode_auditd_maybe(out->msg.p, out->msg.len) &&
	    decode_auditd(out, ctx, out->msg.p, out->msg.len))
		return;
	(void)decode_web(out, out->msg.p, out->msg.len);
}

/*
 * Decodes line into out: see decode.h and the file comment. Slices in out
 * are borrowed from line or point into out's scratch area. Never fails: a
 * line no decoder knows is returned as decode_syslog returns it.
 */
void
decode_line(const char *line, size_t len, const struct decode_ctx *ctx,
    struct decoded *out)
{
	line_decode_any(line, len, ctx, out);
	/*
	 * Correlation windows are shared by every agent and follow the newest
	 * event time they saw: one event dated in the future (a hostile line,
	 * an agent's wrong clock or time zone) would push a group's window
	 * ahead of every honest event. The collector caps it at its own clock
	 * (plus slack), so the harm is bounded by the slack.
	 */
	out->time_capped = ctx->max_time_ms != 0 && out->time_ms > ctx->max_time_ms;
	if (out->time_capped)
		out->time_ms = ctx->max_time_ms;
}
