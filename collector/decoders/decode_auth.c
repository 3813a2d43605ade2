/*
 * decode_auth – named fields and logsource for the programs that write
 * /var/log/auth.log: sshd (from decode_sshd's results), sudo, su, cron,
 * the shadow user-management tools, systemd-logind, and PAM lines of any
 * program.
 *
 * Sigma has no field taxonomy for these services (public rules are keyword
 * searches over the message); the names below are ours, lower case, and
 * shared between programs: "user" is always the account the event is
 * about, "by_user" whoever acted on it, "outcome" "success"/"failure"
 * (sshd also "invalid_user"), "action" a fixed lower-case verb.
 *
 * Most messages are matched against small pattern tables ('%' captures up
 * to the first occurrence of the literal text after it; a capture before
 * the pattern's final literal runs to where that literal ends the message).
 * A message that matches nothing only gets the logsource.
 */
#include "decode.h"
#include "decoders.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define AUTH_MAX_CAPS 4
/* Enough for any unsigned 64-bit value in decimal. */
#define AUTH_UINT_MAX_DIGITS 20


enum auth_kind {
	AUTH_OTHER = 0,
	AUTH_SSHD,
	AUTH_SUDO,
	AUTH_SU,
	AUTH_CRON,
	AUTH_USERMGMT,
	AUTH_LOGIND,
};

/* Program name → Sigma service and which decoder reads its messages. */
struct auth_prog {
	const char *name;
	const char *service;
	enum auth_kind kind;
};

static const struct auth_prog auth_progs[] = {
	{ "sshd", "sshd", AUTH_SSHD },
	{ "sudo", "sudo", AUTH_SUDO },
	{ "su", "su", AUTH_SU },
	{ "su-l", "su", AUTH_SU },
	{ "CRON", "cron", AUTH_CRON },
	{ "cron", "cron", AUTH_CRON },
	{ "CROND", "cron", AUTH_CRON },
	{ "crond", "cron", AUTH_CRON },
	{ "crontab", "cron", AUTH_CRON },
	{ "useradd", "useradd", AUTH_USERMGMT },
	{ "usermod", "usermod", AUTH_USERMGMT },
	{ "userdel", "userdel", AUTH_USERMGMT },
	{ "groupadd", "groupadd", AUTH_USERMGMT },
	{ "groupdel", "groupdel", AUTH_USERMGMT },
	{ "groupmod", "groupmod", AUTH_USERMGMT },
	{ "gpasswd", "gpasswd", AUTH_USERMGMT },
	{ "passwd", "passwd", AUTH_USERMGMT },
	{ "chpasswd", "chpasswd", AUTH_USERMGMT },
	{ "chage", "chage", AUTH_USERMGMT },
	{ "newusers", "newusers", AUTH_USERMGMT },
	{ "systemd-logind", "systemd-logind", AUTH_LOGIND },
	{ "login", "login", AUTH_OTHER },
};

/* One message shape: up to AUTH_MAX_CAPS captures and what they are. */
struct auth_pat {
	const char *pat;
	const char *names[AUTH_MAX_CAPS];	/* field per capture, NULL: not emitted */
	const char *action;			/* NULL: no "action" field */
	const char *outcome;			/* NULL: no "outcome" field */
	const char *reason;			/* NULL: no "reason" field */
	bool kv_last;				/* last capture is PAM "k=v k=v ... user=X" */
};

static const struct auth_pat auth_su_pats[] = {
	{ "(to %) % on %", { "target_user", "user", "tty" }, NULL, "success", NULL, false },
	{ "FAILED SU (to %) % on %", { "target_user", "user", "tty" }, NULL, "failure", NULL, false },
	{ "Successful su for % by %", { "target_user", "user" }, NULL, "success", NULL, false },
	{ "FAILED su for % by %", { "target_user", "user" }, NULL, "failure", NULL, false },
	{ "+ % %:%", { "tty", "user", "target_user" }, NULL, "success", NULL, false },
	{ "- % %:%", { "tty", "user", "target_user" }, NULL, "failure", NULL, false },
};

static const struct auth_pat auth_usermgmt_pats[] = {
	{ "add '%' to group '%'", { "user", "group" }, "user_added_to_group", NULL, NULL, false },
	{ "add '%' to shadow group '%'", { "user", "group" }, "user_added_to_group", NULL, NULL, false },
	{ "delete '%' from group '%'", { "user", "group" }, "user_removed_from_group", NULL, NULL, false },
	{ "delete '%' from shadow group '%'", { "user", "group" }, "user_removed_from_group", NULL, NULL, false },
	{ "user % added by % to group %", { "user", "by_user", "group" }, "user_added_to_group", NULL, NULL, false },
	{ "user % removed by % from group %", { "user", "by_user", "group" }, "user_removed_from_group", NULL, NULL, false },
	{ "members of group % set by % to %", { "group", "by_user", "members" }, "group_members_set", NULL, NULL, false },
	{ "delete user '%'", { "user" }, "user_deleted", NULL, NULL, false },
	{ "removed group '%' owned by '%'", { "group", "user" }, "group_deleted", NULL, NULL, false },
	{ "removed shadow group '%' owned by '%'", { "group", "user" }, "group_deleted", NULL, NULL, false },
	{ "group '%' removed", { "group" }, "group_deleted", NULL, NULL, false },
	{ "group '%' removed from %", { "group" }, "group_deleted", NULL, NULL, false },
	{ "password for '%' changed by '%'", { "user", "by_user" }, "password_changed", "success", NULL, false },
	{ "password changed for %", { "user" }, "password_changed", "success", NULL, false },
	{ "change user '%' password", { "user" }, "password_changed", "success", NULL, false },
	{ "lock user '%' password", { "user" }, "user_locked", NULL, NULL, false },
	{ "unlock user '%' password", { "user" }, "user_unlocked", NULL, NULL, false },
	{ "change user name '%' to '%'", { "user", "new_user" }, "user_renamed", NULL, NULL, false },
	{ "change user '%' shell from '%' to '%'", { "user", "old_value", "shell" }, "user_modified", NULL, NULL, false },
	{ "change user '%' home from '%' to '%'", { "user", "old_value", "home" }, "user_modified", NULL, NULL, false },
	{ "change user '%' UID from '%' to '%'", { "user", "old_value", "uid" }, "user_modified", NULL, NULL, false },
	{ "change user '%' GID from '%' to '%'", { "user", "old_value", "gid" }, "user_modified", NULL, NULL, false },
	{ "change user '%' % from '%' to '%'", { "user", "attribute", "old_value", "new_value" }, "user_modified", NULL, NULL, false },
	{ "failed adding user '%', data deleted", { "user" }, "user_add_failed", "failure", NULL, false },
};

static const struct auth_pat auth_logind_pats[] = {
	{ "New session % of user %.", { "session_id", "user" }, "session_new", NULL, NULL, false },
	{ "Removed session %.", { "session_id" }, "session_removed", NULL, NULL, false },
	{ "Session % logged out. Waiting for processes to exit.", { "session_id" }, "session_logged_out", NULL, NULL, false },
	{ "System is rebooting.", { NULL }, "reboot", NULL, NULL, false },
	{ "System is powering down.", { NULL }, "poweroff", NULL, NULL, false },
};

/* After "pam_<module>(<service>:<type>): ". */
static const struct auth_pat auth_pam_pats[] = {
	{ "authentication failure; %", { NULL }, "auth_failure", "failure", NULL, true },
	{ "session opened for user %(uid=%) by %(uid=%)", { "user", "uid", "by_user" }, "session_opened", "success", NULL, false },
	{ "session opened for user % by %(uid=%)", { "user", "by_user" }, "session_opened", "success", NULL, false },
	{ "session opened for user %", { "user" }, "session_opened", "success", NULL, false },
	{ "session closed for user %", { "user" }, "session_closed", NULL, NULL, false },
	{ "password changed for %", { "user" }, "password_changed", "success", NULL, false },
	{ "check pass; user unknown", { NULL }, "auth_failure", "failure", "user unknown", false },
	{ "Consecutive login failures for user % account temporarily locked", { "user" }, "account_locked", "failure", NULL, false },
};

/* sshd's summary of PAM failures, written without the "pam_x(...)" prefix. */
static const struct auth_pat auth_sshd_pats[] = {
	{ "PAM % more authentication failures; %", { "count" }, "auth_failure", "failure", NULL, true },
	{ "PAM % more authentication failure; %", { "count" }, "auth_failure", "failure", NULL, true },
};

/* ---- slices ---------------------------------------------------------- */

static struct ms_str
auth_trim(struct ms_str s)
{
	while (s.len > 0 && s.p[0] == ' ') {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && s.p[s.len - 1] == ' ')
		s.len--;
	return s;
}

/* Offset of the first lit (l bytes) in s at or after from, or s.len. */
static size_t
auth_find(struct ms_str s, size_t from, const char *lit, size_t l)
{
	if (l == 0)
		return from;
	while (from < s.len && s.len - from >= l) {
		const char *c = memchr(s.p + from, lit[0], s.len - from - l + 1);
		if (c == NULL)
			break;
		from = (size_t)(c - s.p);
		/* one byte needs no memcmp; the second byte inline rejects most candidates */
		if (l == 1 || (s.p[from + 1] == lit[1] && memcmp(s.p + from + 2, lit + 2, l - 2) == 0))
			return from;
		from++;
	}
	return s.len;
}

/*
 * ms_str_take for a literal of known length l: the first byte inline, no
 * strlen (the sudo items and the PAM prefix try several per line).
 */
static inline bool
auth_take_n(struct ms_str *s, const char *lit, size_t l)
{
	if (s->len < l || (l > 0 && s->p[0] != lit[0]) || memcmp(s->p, lit, l) != 0)
		return false;
	s->p += l;
	s->len -= l;
	return true;
}

#define AUTH_TAKE(s, lit) auth_take_n((s), lit, sizeof(lit) - 1)

/* Adds a non-empty value (empty is the same as absent to Sigma). */
static void
auth_add(struct decoded *d, const char *name, struct ms_str v)
{
	if (name != NULL && v.len > 0)
		(void)decode_field_add(d, name, v.p, v.len);
}

/* Adds v in decimal, written to the scratch area. */
static void
auth_add_uint(struct decoded *d, const char *name, unsigned long long v)
{
	char tmp[AUTH_UINT_MAX_DIGITS];
	size_t n = 0;
	char *p;

	if (v < 100000) {
		/* a port or a uid: digits straight into scratch, no reversed copy */
		n = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
		if ((p = decode_scratch(d, n)) == NULL)
			return;
		for (size_t k = n; k-- > 0; v /= 10)
			p[k] = (char)('0' + v % 10);
		(void)decode_field_add(d, name, p, n);
		return;
	}
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && n < sizeof(tmp));
	if ((p = decode_scratch(d, n)) == NULL)
		return;
	for (size_t k = 0; k < n; k++)
		p[k] = tmp[n - 1 - k];
	(void)decode_field_add(d, name, p, n);
}

static void
auth_add_lit(struct decoded *d, const char *name, const char *value)
{
	if (value != NULL)
		(void)decode_field_add(d, name, value, strlen(value));
}

/* ---- pattern tables -------------------------------------------------- */

/*
 * Matches all of s against pat (see the file comment). Returns the number
 * of captures, or -1 when s has another shape.
 */
static int
auth_match(struct ms_str s, const char *pat, const uint16_t *lits, struct ms_str cap[AUTH_MAX_CAPS])
{
	const char *p = pat;
	size_t i = 0;
	int nc = 0, nl = 0;

	/* A literal start must be the message's first byte: most patterns of a table fail here. */
	if (*p != '%' && *p != '\0' && (s.len == 0 || s.p[0] != *p))
		return -1;
	while (*p != '\0') {
		size_t ll, at;
		if (*p != '%') {
			ll = lits != NULL ? lits[nl++] : strcspn(p, "%");
			if (s.len - i < ll || memcmp(s.p + i, p, ll) != 0)
				return -1;
			i += ll;
			p += ll;
			continue;
		}
		p++;
		if (nc >= AUTH_MAX_CAPS || *p == '%')
			return -1;
		ll = lits != NULL ? lits[nl++] : strcspn(p, "%");
		if (ll == 0) {
			at = s.len;
		} else if (p[ll] == '\0') {
			if (s.len - i < ll || memcmp(s.p + s.len - ll, p, ll) != 0)
				return -1;
			at = s.len - ll;
		} else {
			at = auth_find(s, i, p, ll);
			if (at == s.len)
				return -1;
		}
		cap[nc++] = ms_str_make(s.p + i, at - i);
		i = at + ll;
		p += ll;
	}
	return i == s.len ? nc : -1;
}

/*
 * PAM's "logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root":
 * values end at a space, except user=, always last, which takes the rest.
 */
static void
auth_pam_kv(struct decoded *d, struct ms_str s)
{
	static const char *const keys[] = { "logname", "uid", "euid", "tty", "ruser", "rhost" };
	size_t i = 0;

	while (i < s.len) {
		size_t k0, eq, v0;
		struct ms_str key, val;

		while (i < s.len && s.p[i] == ' ')
			i++;
		k0 = i;
		while (i < s.len && s.p[i] != '=' && s.p[i] != ' ')
			i++;
		if (i >= s.len || s.p[i] != '=')
			continue;	/* a word without '=': skipped */
		eq = i;
		key = ms_str_make(s.p + k0, eq - k0);
		v0 = eq + 1;
		if (ms_str_eq(key, "user")) {
			auth_add(d, "user", auth_trim(ms_str_make(s.p + v0, s.len - v0)));
			return;
		}
		i = v0;
		while (i < s.len && s.p[i] != ' ')
			i++;
		val = ms_str_make(s.p + v0, i - v0);
		for (size_t k = 0; k < MS_ARRAY_LEN(keys); k++)
			if (ms_str_eq(key, keys[k]))
				auth_add(d, keys[k], val);
	}
}

/*
 * A table pattern's literal runs' lengths in the order auth_match meets
 * them, and its strings' lengths: worked out once (auth_tables_compile),
 * so matching a line calls no strcspn or strlen per pattern.
 */
struct auth_cpat {
	bool ok;			/* lit[] holds every run (else strcspn) */
	uint16_t lit[AUTH_MAX_CAPS + 1];
	size_t action_len, outcome_len, reason_len;
};

struct auth_table {
	const struct auth_pat *pats;
	struct auth_cpat *c;		/* c[k] is pats[k]'s */
	size_t n;
};

/* A file-scope compound literal is static: one auth_cpat per pattern. */
#define AUTH_TABLE(t) { t, (struct auth_cpat[MS_ARRAY_LEN(t)]){ { 0 } }, MS_ARRAY_LEN(t) }

enum { AUTH_T_SU, AUTH_T_USERMGMT, AUTH_T_LOGIND, AUTH_T_PAM, AUTH_T_SSHD, AUTH_T_N };

static struct auth_table auth_tables[AUTH_T_N] = {
	[AUTH_T_SU] = AUTH_TABLE(auth_su_pats),
	[AUTH_T_USERMGMT] = AUTH_TABLE(auth_usermgmt_pats),
	[AUTH_T_LOGIND] = AUTH_TABLE(auth_logind_pats),
	[AUTH_T_PAM] = AUTH_TABLE(auth_pam_pats),
	[AUTH_T_SSHD] = AUTH_TABLE(auth_sshd_pats),
};

static pthread_once_t auth_tables_once = PTHREAD_ONCE_INIT;

bool
decode_auth_field_known(const char *name)
{
	/* named in the code below (sshd, sudo, cron, PAM items, user management) */
	static const char *const fixed[] = {
		"user", "src_ip", "src_port", "auth_method", "outcome", "action", "reason",
		"pam_module", "pam_service", "pam_type", "logname", "uid", "euid", "tty",
		"ruser", "rhost", "CommandLine", "Image", "pwd", "target_user", "target_group",
		"group", "gid", "home", "shell", "new_user", "attribute", "old_value",
		"new_value", "by_user", "members", "session_id",
	};

	for (size_t i = 0; i < MS_ARRAY_LEN(fixed); i++)
		if (strcasecmp(fixed[i], name) == 0)
			return true;
	for (size_t t = 0; t < AUTH_T_N; t++)
		for (size_t k = 0; k < auth_tables[t].n; k++)
			for (size_t c = 0; c < AUTH_MAX_CAPS; c++) {
				const char *f = auth_tables[t].pats[k].names[c];
				if (f != NULL && strcasecmp(f, name) == 0)
					return true;
			}
	return false;
}

/* The runs auth_match's walk over pat meets; ok false when it would stop early. */
static void
auth_compile(const char *pat, struct auth_cpat *c)
{
	const char *p = pat;
	int nl = 0, nc = 0;

	c->ok = false;
	while (*p != '\0') {
		size_t ll;

		if (*p == '%') {
			p++;
			if (nc++ >= AUTH_MAX_CAPS || *p == '%')
				return;
		}
		ll = strcspn(p, "%");
		if (nl >= AUTH_MAX_CAPS + 1 || ll > UINT16_MAX)
			return;
		c->lit[nl++] = (uint16_t)ll;
		p += ll;
	}
	c->ok = true;
}

static void
auth_tables_compile(void)
{
	for (int t = 0; t < AUTH_T_N; t++)
		for (size_t k = 0; k < auth_tables[t].n; k++) {
			const struct auth_pat *pt = &auth_tables[t].pats[k];
			struct auth_cpat *c = &auth_tables[t].c[k];

			auth_compile(pt->pat, c);
			c->action_len = pt->action != NULL ? strlen(pt->action) : 0;
			c->outcome_len = pt->outcome != NULL ? strlen(pt->outcome) : 0;
			c->reason_len = pt->reason != NULL ? strlen(pt->reason) : 0;
		}
}

/* First pattern of table tab that matches msg: its fields. Returns 1 or 0. */
static int
auth_apply(struct decoded *d, struct ms_str msg, int tab)
{
	const struct auth_table *tb = &auth_tables[tab];
	struct ms_str cap[AUTH_MAX_CAPS];

	(void)pthread_once(&auth_tables_once, auth_tables_compile);
	for (size_t t = 0; t < tb->n; t++) {
		const struct auth_pat *pt = &tb->pats[t];
		const struct auth_cpat *c = &tb->c[t];
		int nc = auth_match(msg, pt->pat, c->ok ? c->lit : NULL, cap);

		if (nc < 0)
			continue;
		for (int k = 0; k < nc; k++) {
			if (pt->kv_last && k == nc - 1)
				auth_pam_kv(d, cap[k]);
			else
				auth_add(d, pt->names[k], cap[k]);
		}
		if (pt->action != NULL)
			(void)decode_field_add(d, "action", pt->action, c->action_len);
		if (pt->outcome != NULL)
			(void)decode_field_add(d, "outcome", pt->outcome, c->outcome_len);
		if (pt->reason != NULL)
			(void)decode_field_add(d, "reason", pt->reason, c->reason_len);
		return 1;
	}
	return 0;
}

/* ---- programs -------------------------------------------------------- */

/* "pam_unix(sshd:auth): ..." → module, service, type, then the message. */
static int
auth_pam(struct decoded *d, struct ms_str msg)
{
	size_t lp, colon, rp;
	struct ms_str rest;

	lp = auth_find(msg, 0, "(", 1);
	colon = auth_find(msg, lp, ":", 1);
	rp = auth_find(msg, colon, ")", 1);
	if (rp == msg.len || lp <= 4)
		return 0;
	for (size_t k = 4; k < lp; k++) {
		char c = msg.p[k];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	auth_add(d, "pam_module", ms_str_make(msg.p, lp));
	auth_add(d, "pam_service", ms_str_make(msg.p + lp + 1, colon - lp - 1));
	auth_add(d, "pam_type", ms_str_make(msg.p + colon + 1, rp - colon - 1));
	rest = ms_str_make(msg.p + rp + 1, msg.len - rp - 1);
	(void)AUTH_TAKE(&rest, ":");
	(void)AUTH_TAKE(&rest, " ");
	(void)auth_apply(d, rest, AUTH_T_PAM);
	return 1;
}

/* Is s (len bytes) an IPv4 or IPv6 address? */
static bool
auth_is_ip(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 16];
	unsigned char bin[16];
	size_t l = len;

	if (decode_ipv4(s, len, NULL))
		return true;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* A link-local zone ("fe80::1%eth0") is part of what sshd prints. */
	for (size_t k = 0; k < len; k++)
		if (buf[k] == '%') {
			buf[k] = '\0';
			l = k;
			break;
		}
	(void)l;
	return inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1;
}

/*
 * sshd lines other than authentication results ("Connection closed by ...",
 * "Disconnecting ...", "Did not receive identification string from ...",
 * "maximum authentication attempts exceeded ...", "User x from ... not
 * allowed ..."): the peer's address and port, from the LAST "<address> port
 * <n>" (a user name printed before it cannot fake it), or "from <address>";
 * and the user where the line names one. Returns 1 when an address was found.
 */
static int
auth_sshd_other(struct decoded *d, struct ms_str msg)
{
#define AUTH_LIT(s) { s, sizeof(s) - 1 }
	static const struct { const char *p; size_t len; } user_after[] = {
		AUTH_LIT("Disconnecting invalid user "), AUTH_LIT("Disconnecting authenticating user "),
		AUTH_LIT("Connection closed by invalid user "),
		AUTH_LIT("Connection closed by authenticating user "),
		AUTH_LIT("Disconnected from invalid user "),
		AUTH_LIT("Disconnected from authenticating user "), AUTH_LIT("Disconnected from user "),
		AUTH_LIT("maximum authentication attempts exceeded for invalid user "),
		AUTH_LIT("maximum authentication attempts exceeded for "), AUTH_LIT("User "),
	};
#undef AUTH_LIT
	struct ms_str ip = MS_STR_NULL, port = MS_STR_NULL, user = MS_STR_NULL, um = msg;

	/*
	 * sshd logs some of these through its error() ("error: maximum
	 * authentication attempts exceeded for root from ..."): the user
	 * prefixes follow that level.
	 */
	if (ms_str_startswith(um, "error: "))
		um = ms_str_make(um.p + 7, um.len - 7);
	/* sshd's own addresses, not a peer's. */
	if (ms_str_startswith(msg, "Server listening on "))
		return 0;
	/* from space to space: only a space can start " port " */
	for (size_t k = 0; (k = decode_find(msg.p, msg.len, k, ' ')) + 6 <= msg.len; k++) {
		size_t b = k, e = k + 6, pe;
		if (msg.p[k + 1] != 'p' || memcmp(msg.p + k, " port ", 6) != 0)
			continue;
		while (b > 0 && msg.p[b - 1] != ' ')
			b--;
		for (pe = e; pe < msg.len && pe - e < 5 && msg.p[pe] >= '0' && msg.p[pe] <= '9'; pe++)
			;
		if (pe > e && auth_is_ip(msg.p + b, k - b)) {
			ip = ms_str_make(msg.p + b, k - b);
			port = ms_str_make(msg.p + e, pe - e);
		}
	}
	if (ip.p == NULL) {
		for (size_t k = 0; (k = decode_find(msg.p, msg.len, k, ' ')) + 6 <= msg.len; k++) {
			size_t e = k + 6, te;
			if (msg.p[k + 1] != 'f' || memcmp(msg.p + k, " from ", 6) != 0)
				continue;
			for (te = e; te < msg.len && msg.p[te] != ' ' && msg.p[te] != ':'; te++)
				;
			if (auth_is_ip(msg.p + e, te - e))
				ip = ms_str_make(msg.p + e, te - e);
		}
	}
	for (size_t k = 0; k < MS_ARRAY_LEN(user_after); k++) {
		size_t pl = user_after[k].len, ue;
		/* the first byte inline: most prefixes differ there */
		if (um.len <= pl || um.p[0] != user_after[k].p[0] ||
		    memcmp(um.p, user_after[k].p, pl) != 0)
			continue;
		for (ue = pl; ue < um.len && um.p[ue] != ' '; ue++)
			;
		user = ms_str_make(um.p + pl, ue - pl);
		break;
	}
	if (user.len)
		auth_add(d, "user", user);
	if (ip.p == NULL)
		return 0;
	auth_add(d, "src_ip", ip);
	if (port.len)
		auth_add(d, "src_port", port);
	return 1;
}

/* decode_sshd already read the message: its results as named fields. */
static int
auth_sshd(struct decoded *d, struct ms_str msg)
{
	const char *outcome = NULL;

	switch (d->sshd_action) {
	case DECODE_SSHD_AUTH_FAILURE:
		outcome = "failure";
		break;
	case DECODE_SSHD_AUTH_SUCCESS:
		outcome = "success";
		break;
	case DECODE_SSHD_INVALID_USER:
		outcome = "invalid_user";
		break;
	case DECODE_SSHD_NONE:
		if (auth_apply(d, msg, AUTH_T_SSHD))
			return 1;
		return auth_sshd_other(d, msg);
	}
	auth_add(d, "user", d->user);
	auth_add(d, "src_ip", d->src_ip);
	if (d->src_port > 0)
		auth_add_uint(d, "src_port", (unsigned long long)d->src_port);
	auth_add(d, "auth_method", d->method);
	auth_add_lit(d, "outcome", outcome);
	return 1;
}

/* sudo's "KEY=value" item names and the fields they become. */
static void
auth_sudo_item(struct decoded *d, struct ms_str item)
{
#define AUTH_KEY(k, f) { k, sizeof(k) - 1, f }
	static const struct { const char *key; size_t len; const char *field; } keys[] = {
		AUTH_KEY("TTY=", "tty"), AUTH_KEY("PWD=", "pwd"), AUTH_KEY("USER=", "target_user"),
		AUTH_KEY("GROUP=", "target_group"),
	};
#undef AUTH_KEY

	for (size_t k = 0; k < MS_ARRAY_LEN(keys); k++)
		if (auth_take_n(&item, keys[k].key, keys[k].len)) {
			auth_add(d, keys[k].field, item);
			return;
		}
}

static bool
auth_sudo_is_item(struct ms_str s)
{
#define AUTH_KEY(k) { k, sizeof(k) - 1 }
	static const struct { const char *key; size_t len; } keys[] = {
		AUTH_KEY("TTY="), AUTH_KEY("PWD="), AUTH_KEY("USER="), AUTH_KEY("GROUP="),
		AUTH_KEY("TSID="), AUTH_KEY("ENV="), AUTH_KEY("COMMAND="), AUTH_KEY("CHROOT="),
		AUTH_KEY("CWD="),
	};
#undef AUTH_KEY

	for (size_t k = 0; k < MS_ARRAY_LEN(keys); k++) {
		struct ms_str t = s;
		if (auth_take_n(&t, keys[k].key, keys[k].len))
			return true;
	}
	return false;
}

/*
 * "alice : [reason ; ]TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash".
 * Items are read left to right; COMMAND= is last and takes the rest (its
 * arguments may hold " ; "). A reason before the items is a failure.
 */
static int
auth_sudo(struct decoded *d, struct ms_str msg)
{
	size_t sep = auth_find(msg, 0, " : ", 3);
	struct ms_str user, rest, reason = ms_str_make(msg.p, 0);

	if (sep == msg.len || sep == 0)
		return 0;
	user = ms_str_make(msg.p, sep);
	if (auth_find(user, 0, " ", 1) != user.len)
		return 0;
	rest = ms_str_make(msg.p + sep + 3, msg.len - sep - 3);
	if (!auth_sudo_is_item(rest)) {
		size_t e = auth_find(rest, 0, " ; ", 3);
		reason = ms_str_make(rest.p, e);
		rest = e == rest.len ? ms_str_make(rest.p + e, 0) :
		    ms_str_make(rest.p + e + 3, rest.len - e - 3);
	}
	auth_add(d, "user", user);
	while (rest.len > 0) {
		size_t e;
		if (AUTH_TAKE(&rest, "COMMAND=")) {
			size_t sp = auth_find(rest, 0, " ", 1);
			auth_add(d, "CommandLine", rest);
			auth_add(d, "Image", ms_str_make(rest.p, sp));
			break;
		}
		e = auth_find(rest, 0, " ; ", 3);
		auth_sudo_item(d, ms_str_make(rest.p, e));
		if (e == rest.len)
			break;
		rest = ms_str_make(rest.p + e + 3, rest.len - e - 3);
	}
	if (reason.len > 0) {
		auth_add(d, "reason", reason);
		auth_add_lit(d, "outcome", "failure");
	} else {
		auth_add_lit(d, "outcome", "success");
	}
	return 1;
}

/* "(user) VERB (arg)": VERB as "action", CMD's arg as "CommandLine". */
static int
auth_cron(struct decoded *d, struct ms_str msg)
{
	struct ms_str cap[AUTH_MAX_CAPS];

	if (auth_match(msg, "(%) % (%)", NULL, cap) != 3)
		return 0;
	/* "(CRON) INFO (...)" is the daemon about itself, not a user */
	if (!ms_str_eq(cap[0], "CRON"))
		auth_add(d, "user", cap[0]);
	auth_add(d, "action", cap[1]);
	if (ms_str_eq(cap[1], "CMD"))
		auth_add(d, "CommandLine", cap[2]);
	return 1;
}

/* "name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0". */
static void
auth_comma_kv(struct decoded *d, struct ms_str s, const char *name_field)
{
	static const struct { const char *key, *field; } keys[] = {
		{ "UID=", "uid" }, { "GID=", "gid" }, { "home=", "home" },
		{ "shell=", "shell" }, { "from=", "tty" },
	};

	while (s.len > 0) {
		size_t e = auth_find(s, 0, ", ", 2);
		struct ms_str item = ms_str_make(s.p, e);

		if (AUTH_TAKE(&item, "name=")) {
			auth_add(d, name_field, item);
		} else {
			for (size_t k = 0; k < MS_ARRAY_LEN(keys); k++)
				if (ms_str_take(&item, keys[k].key)) {
					auth_add(d, keys[k].field, item);
					break;
				}
		}
		if (e == s.len)
			break;
		s = ms_str_make(s.p + e + 2, s.len - e - 2);
	}
}

static int
auth_usermgmt(struct decoded *d, struct ms_str msg)
{
	struct ms_str rest = msg, cap[AUTH_MAX_CAPS];

	if (AUTH_TAKE(&rest, "new user: ")) {
		auth_comma_kv(d, rest, "user");
		auth_add_lit(d, "action", "user_added");
		return 1;
	}
	if (AUTH_TAKE(&rest, "new group: ")) {
		auth_comma_kv(d, rest, "group");
		auth_add_lit(d, "action", "group_added");
		return 1;
	}
	if (auth_match(msg, "group added to %: %", NULL, cap) == 2) {
		auth_comma_kv(d, cap[1], "group");
		auth_add_lit(d, "action", "group_added");
		return 1;
	}
	return auth_apply(d, msg, AUTH_T_USERMGMT);
}

/* rsyslog's "message repeated N times: [ msg]" → msg, and N in d->repeat. */
static struct ms_str
auth_unwrap_repeat(struct decoded *d, struct ms_str m)
{
	unsigned n;

	if (decode_unwrap_repeat(&m, &n))
		d->repeat = n;
	return m;
}

static const struct auth_prog *
auth_find_prog(struct ms_str app)
{
	for (size_t k = app.len; k > 0; k--)
		if (app.p[k - 1] == '/') {
			app = ms_str_make(app.p + k, app.len - k);
			break;
		}
	if (ms_str_startswith(app, "sshd-"))
		return &auth_progs[0];
	/* the first byte inline: ms_str_eq's strlen and memcmp calls per entry cost more */
	for (size_t k = 0; k < MS_ARRAY_LEN(auth_progs); k++)
		if (app.len > 0 && app.p[0] == auth_progs[k].name[0] && ms_str_eq(app, auth_progs[k].name))
			return &auth_progs[k];
	return NULL;
}

/*
 * Sets d->service and the named fields for an auth.log program (d->app)
 * from d->msg; run after decode_sshd. Returns 1 when the message was
 * recognised, 0 otherwise (the service is still set for a known program).
 * Values are slices of the line or scratch memory of d.
 */
int
decode_auth(struct decoded *d)
{
	const struct auth_prog *prog;
	struct ms_str msg;

	if (d->msg.p == NULL)
		return 0;
	prog = d->app.p != NULL ? auth_find_prog(d->app) : NULL;
	msg = d->msg;
	if (prog != NULL) {
		d->service = prog->service;
		/* decode_sshd unwraps and counts repeats of its own lines */
		if (prog->kind != AUTH_SSHD)
			msg = auth_unwrap_repeat(d, msg);
	}
	msg = auth_trim(msg);
	if (ms_str_startswith(msg, "pam_")) {
		/* PAM speaks for programs we do not know too (vsftpd, dovecot ...). */
		if (prog == NULL)
			d->service = "pam";
		return auth_pam(d, msg);
	}
	if (prog == NULL)
		return 0;
	switch (prog->kind) {
	case AUTH_SSHD:
		return auth_sshd(d, msg);
	case AUTH_SUDO:
		return auth_sudo(d, msg);
	case AUTH_SU:
		return auth_apply(d, msg, AUTH_T_SU);
	case AUTH_CRON:
		return auth_cron(d, msg);
	case AUTH_USERMGMT:
		return auth_usermgmt(d, msg);
	case AUTH_LOGIND:
		return auth_apply(d, msg, AUTH_T_LOGIND);
	case AUTH_OTHER:
		break;
	}
	return 0;
}
