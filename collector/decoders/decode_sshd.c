/*
 * decode_sshd – OpenSSH authentication messages:
 *
 *   Failed <method> for [invalid user ]<user> from <ip> port <port> ssh2[: <info>]
 *   Accepted <method> for <user> from <ip> port <port> ssh2[: <info>]
 *   Invalid user <user> from <ip>[ port <port>]
 *
 * optionally wrapped by rsyslog as "message repeated N times: [ <msg>]".
 *
 * The user name of an unknown account is chosen by the remote client and
 * may hold spaces and a fake " from <ip> port <port>", so the source is
 * taken from the right: the last " from " followed by a valid address, a
 * port and the fixed end sshd writes. For a known account the name cannot
 * be chosen, but a certificate's key ID (logged after "ssh2: X-CERT fp ID ")
 * can; there the first match carrying that certificate trailer wins.
 */
#include "decode.h"
#include "decoders.h"

#include <string.h>

#define SSHD_MAX_REPEAT_DIGITS 9

/* A parsed " from <ip>[ port <port>]" at some offset of the message. */
struct sshd_src {
	size_t from;		/* offset of the " from " */
	size_t end;		/* offset just past the ip or the port */
	struct ms_str ip;
	int port;
};

/* "sshd", "sshd-session", "sshd-auth", "sshd[...", "/usr/sbin/sshd". */
static bool
sshd_is_program(struct ms_str app)
{
	struct ms_str base = app;

	for (size_t k = app.len; k > 0; k--) {
		if (app.p[k - 1] == '/') {
			base = ms_str_make(app.p + k, app.len - k);
			break;
		}
	}
	return ms_str_eq(base, "sshd") || ms_str_startswith(base, "sshd-") ||
	    ms_str_startswith(base, "sshd[");
}

static bool
sshd_match(const char *s, size_t n, size_t i, const char *lit)
{
	size_t l = strlen(lit);

	return i <= n && n - i >= l && memcmp(s + i, lit, l) == 0;
}

/* 1..5 digits, 1..65535, at s[*i], ending at a space or the end. */
static bool
sshd_port(const char *s, size_t n, size_t *i, int *out)
{
	size_t j = *i;
	int v = 0;

	while (j < n && s[j] >= '0' && s[j] <= '9' && j - *i < 5)
		v = v * 10 + (s[j++] - '0');
	if (j == *i || (j < n && s[j] != ' ') || v < 1 || v > 65535)
		return false;
	*i = j;
	*out = v;
	return true;
}

/*
 * Parses " from <ip>[ port <port>]" at s[k]. need_port: the port must be
 * there. Fills src; false when the text there is anything else.
 */
/* The loops' first test, before calling sshd_src_at at every position. */
#define SSHD_FROM_AT(s, n, k) ((s)[k] == ' ' && (k) + 6 <= (n) && (s)[(k) + 1] == 'f')

static bool
sshd_src_at(const char *s, size_t n, size_t k, bool need_port, struct sshd_src *src)
{
	size_t ip0, j;

	/* Called at every position of the message: the first bytes decide cheaply. */
	if (k + 6 > n || s[k] != ' ' || s[k + 1] != 'f' || !sshd_match(s, n, k, " from "))
		return false;
	ip0 = k + 6;
	/* the address ends at a space, the line's end or DECODE_IP_MAX bytes */
	j = decode_find(s, n - ip0 > DECODE_IP_MAX ? ip0 + DECODE_IP_MAX : n, ip0, ' ');
	if (!decode_ip(s + ip0, j - ip0))
		return false;
	src->from = k;
	src->ip = ms_str_make(s + ip0, j - ip0);
	src->port = 0;
	if (sshd_match(s, n, j, " port ")) {
		j += 6;
		if (!sshd_port(s, n, &j, &src->port))
			return false;
	} else if (need_port) {
		return false;
	}
	src->end = j;
	return true;
}

/* What sshd writes after the port of a Failed/Accepted line: " ssh2[: info]". */
static bool
sshd_auth_trailer_ok(const char *s, size_t n, size_t i)
{
	if (i == n)
		return true;
	if (!sshd_match(s, n, i, " ssh2") && !sshd_match(s, n, i, " ssh1"))
		return false;
	i += 5;
	return i == n || s[i] == ':';
}

/* The trailer is ": <TYPE>-CERT <fp> ID <key id chosen by the client>...". */
static bool
sshd_cert_trailer(const char *s, size_t n, size_t i)
{
	size_t t;

	i += 5;			/* " ssh2" */
	if (!sshd_match(s, n, i, ": "))
		return false;
	t = i + 2;
	while (t < n && s[t] != ' ')
		t++;
	return t - (i + 2) >= 5 && memcmp(s + t - 5, "-CERT", 5) == 0;
}

/*
 * Finds the source of a Failed/Accepted tail s[lo..n): see the file comment
 * for which match wins. Candidates may start at lo, so an empty user name
 * ("invalid user  from") is found too.
 */
static bool
sshd_find_auth_src(const char *s, size_t n, size_t lo, bool client_user,
    struct sshd_src *src)
{
	struct sshd_src c;
	bool found = false;

	/* candidates are spaces: the scans go from space to space */
	if (client_user) {
		for (size_t e = n; (e = decode_rfind(s, lo, e, ' ')) > lo; e--) {
			size_t k = e - 1;
			if (!SSHD_FROM_AT(s, n, k))
				continue;
			if (sshd_src_at(s, n, k, true, &c) &&
			    sshd_auth_trailer_ok(s, n, c.end)) {
				*src = c;
				return true;
			}
		}
		return false;
	}
	for (size_t k = lo; (k = decode_find(s, n, k, ' ')) < n; k++) {
		if (!SSHD_FROM_AT(s, n, k) || !sshd_src_at(s, n, k, true, &c) ||
		    !sshd_auth_trailer_ok(s, n, c.end))
			continue;
		*src = c;
		found = true;
		if (sshd_cert_trailer(s, n, c.end))
			break;
	}
	return found;
}

/* "Invalid user" lines end with the source: " from <ip>[ port <port>]". */
static bool
sshd_find_tail_src(const char *s, size_t n, size_t lo, struct sshd_src *src)
{
	struct sshd_src c;

	for (size_t e = n; (e = decode_rfind(s, lo, e, ' ')) > lo; e--) {
		size_t k = e - 1;
		if (SSHD_FROM_AT(s, n, k) && sshd_src_at(s, n, k, false, &c) && c.end == n) {
			*src = c;
			return true;
		}
	}
	return false;
}

/* "message repeated N times: [ inner]" → inner and N. */
bool
decode_unwrap_repeat(struct ms_str *m, unsigned *repeat)
{
	struct ms_str s = *m;
	unsigned v = 0;
	size_t cnt = 0;

	/* the first byte first: this runs for every sshd and auth.log line */
	if (s.len == 0 || s.p[0] != 'm' || !ms_str_take(&s, "message repeated "))
		return false;
	while (s.len > 0 && s.p[0] >= '0' && s.p[0] <= '9') {
		if (++cnt > SSHD_MAX_REPEAT_DIGITS)
			return false;
		v = v * 10 + (unsigned)(s.p[0] - '0');
		s.p++;
		s.len--;
	}
	if (cnt == 0 || v == 0 || !ms_str_take(&s, " times: [") ||
	    s.len == 0 || s.p[s.len - 1] != ']')
		return false;
	s.len--;
	(void)ms_str_take(&s, " ");	/* rsyslog keeps the message's leading space */
	*m = s;
	*repeat = v;
	return true;
}

/*
 * Decodes d->msg when d->app is an sshd program; see decode.h. Returns 1
 * and fills the sshd fields (slices borrowed from d->msg's line) when an
 * authentication message is recognised; else 0 with the sshd fields reset
 * (action NONE, empty slices, port 0, repeat 1).
 */
int
decode_sshd(struct decoded *d)
{
	struct ms_str m = d->msg, method, user;
	struct sshd_src src;
	enum decode_sshd_action action;
	unsigned repeat = 1;
	bool invalid = false;
	size_t ustart, lo;
	const char *s;
	size_t n;

	d->sshd_action = DECODE_SSHD_NONE;
	d->user = ms_str_make(d->msg.p, 0);
	d->method = d->user;
	d->src_ip = d->user;
	d->src_port = 0;
	d->invalid_user = false;
	d->repeat = 1;

	if (m.p == NULL || !sshd_is_program(d->app))
		return 0;
	(void)decode_unwrap_repeat(&m, &repeat);
	s = m.p;
	n = m.len;
	method = ms_str_make(s, 0);

	if (sshd_match(s, n, 0, "Invalid user ")) {
		action = DECODE_SSHD_INVALID_USER;
		invalid = true;
		ustart = 13;
	} else {
		size_t j;
		if (sshd_match(s, n, 0, "Failed ")) {
			action = DECODE_SSHD_AUTH_FAILURE;
			j = 7;
		} else if (sshd_match(s, n, 0, "Accepted ")) {
			action = DECODE_SSHD_AUTH_SUCCESS;
			j = 9;
		} else {
			return 0;
		}
		ustart = j;
		while (j < n && s[j] != ' ')
			j++;
		if (j == ustart || !sshd_match(s, n, j, " for "))
			return 0;
		method = ms_str_make(s + ustart, j - ustart);
		ustart = j + 5;
		if (sshd_match(s, n, ustart, "invalid user ")) {
			invalid = true;
			ustart += 13;
		}
	}
	/*
	 * Start one byte early, on the space that ends "user ", so that
	 * "invalid user from 1.2.3.4" (an empty name) also matches.
	 */
	lo = ustart - 1;
	if (action == DECODE_SSHD_INVALID_USER) {
		if (!sshd_find_tail_src(s, n, lo, &src))
			return 0;
	} else if (!sshd_find_auth_src(s, n, lo, invalid, &src)) {
		return 0;
	}
	user = ms_str_make(s + ustart, src.from > ustart ? src.from - ustart : 0);

	d->sshd_action = action;
	d->user = user;
	d->method = method;
	d->src_ip = src.ip;
	d->src_port = src.port;
	d->invalid_user = invalid;
	d->repeat = repeat;
	return 1;
}

/* Static lower-case name of a, "unknown" when out of range. */
const char *
decode_sshd_action_name(enum decode_sshd_action a)
{
	switch (a) {
	case DECODE_SSHD_NONE:
		return "none";
	case DECODE_SSHD_AUTH_FAILURE:
		return "auth_failure";
	case DECODE_SSHD_AUTH_SUCCESS:
		return "auth_success";
	case DECODE_SSHD_INVALID_USER:
		return "invalid_user";
	}
	return "unknown";
}
