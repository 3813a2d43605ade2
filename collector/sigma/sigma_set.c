/*
 * sigma_set – loading a rule folder, routing events by logsource, and
 * wiring detection rules to the correlations that reference them.
 */
#include "sigma_set.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "decoders/decoders.h"
#include "ms_log.h"
#include "ms_map.h"
#include "ms_yaml.h"
#include "sigma_internal.h"
#include "sigma_prefilter.h"

#define SET_MAX_FILE	(4u << 20)	/* a rule file larger than this is refused */
#define SET_MAX_FILES	100000
#define SET_MAX_DEPTH	16		/* folder nesting */
#define SET_CHAIN_DEPTH	8		/* correlation of correlation of ... */
#define SET_LS_CACHE	64
#define SET_ARENA_MAX	(4u << 20)	/* chained firings' values, per event */
#define SET_PEND_MAX	65536		/* held feeds of chained correlations, per event */
#define SET_PFIELDS_MAX	(1 << 18)	/* their fields, per event */
#define SET_CHECK_BUDGET (1 << 20)	/* steps of the field checks through chains, per load */
#define SET_MIN_CORR_BYTES (1u << 20)	/* a correlation's share of max_bytes at least */
#define SIGMA_SET_MAX_FILTERS 16	/* filters applied to one rule (SIGMA_MAX_FILTERS) */
#define SET_TWIN_TRIES	64		/* earlier correlations compared with one, for a twin */

/* Who listens to matches of a rule or correlation. */
struct set_listener {
	size_t corr;	/* index into corrs */
	size_t ref;	/* index of the reference inside that correlation */
};

struct set_rule {
	struct sigma_rule *r;
	bool generate;			/* raises its own alerts */
	struct set_listener *ls;	/* correlations fed by this rule */
	size_t nls;
	uint64_t hits;			/* events matched (metrics) */
	char *where;			/* "file:line" of its document (owned) */
	size_t seq;			/* load order among rules and correlations */
	bool referenced, gen_asked;	/* by a correlation; one says generate */
};

/* What a correlation's reference resolved to. */
enum set_tkind { TGT_NONE, TGT_RULE, TGT_CORR, TGT_INERT };

struct set_corr {
	struct sigma_corr *c;
	struct set_listener *ls;	/* correlations fed by this one (chains) */
	size_t nls;
	bool dead;			/* rejected at resolution */
	bool inert;			/* can never fire: what it needs is inert */
	bool generate;			/* raises its own alerts (not a quiet link of a chain) */
	uint64_t hits;			/* times fired (metrics) */
	char *where;			/* "file:line" of its document (owned) */
	char *why;			/* reason it is dead or inert (owned) */
	size_t seq;
	bool referenced, gen_asked;
	enum set_tkind *tk;		/* [nrefs] */
	size_t *ti;			/* [nrefs]: index in rules, corrs or gone */
	size_t *rev;			/* correlations referring to this one (owned) */
	size_t nrev;
	int dfs, height;		/* chain check */
	uint32_t visit;			/* ref_can_carry */
	bool queued;			/* on the resolution worklist */
};

/*
 * A rule or correlation that did not load (rejected, or inert), by name
 * and id: a correlation referring to it gets told why, not "unknown".
 */
struct set_gone {
	char *name, *id, *where;	/* owned; name, id may be NULL */
	bool inert;
};

/* What a name or id stands for while a folder is resolved. */
struct set_name {
	enum set_tkind kind;	/* TGT_RULE, TGT_CORR, or TGT_INERT/TGT_NONE for gone[idx] */
	size_t idx;
};

/*
 * A feed of a correlation of a chain (height > 1), held until the event's
 * feeds of lower correlations are done: then the feeds of each height go
 * in order of event time (then of the events' arrival), so neither the
 * order of documents nor of matches decides what a chain sees. Either a
 * match of one of its rules (direct: the event itself) or a firing of a
 * correlation it references.
 */
struct set_pending {
	size_t corr, ref;	/* the correlation fed and its reference */
	int height;		/* the correlation's: the delivery level */
	int64_t time_ms;
	uint64_t serial;	/* the event it stands for (sigma_event.serial) */
	size_t order;		/* place in the queue, for a stable sort */
	struct ms_str line;	/* the event's line, or a copy in the arena */
	size_t f0, nf;		/* fields: pfields[f0 .. f0 + nf) */
	bool raw;		/* the event's own fields follow */
	bool direct;		/* a rule's match: the event itself, through the field map */
	const char *agent, *host;	/* a window decided at close: its own (arena); NULL: the event's */
};

/*
 * A field of a queued firing. Values are slices of the event being
 * evaluated (group-by values and fields of chained events all come from
 * it), which lives until the queue is empty: never copied.
 */
struct set_pfield {
	const char *name;	/* owned by a correlation or static (decoders) */
	struct ms_str value;
};

/*
 * Rules applicable to one (product, service, category) triple of pointers
 * and syslog-or-not: rule_applies reads the line's format too (service:
 * syslog), and a journald or audit.log line has the triple of a syslog
 * line of the same program.
 */
struct set_route {
	const char *product, *service, *category;
	bool syslog;		/* d->fmt != DECODE_SYSLOG_NONE */
	bool used;
	size_t *idx;
	size_t n;
	struct sigma_prefilter *pf;	/* over idx[]; NULL: every rule runs */
};

/*
 * A Sigma filter document, kept from a first walk over the files so that
 * it applies to rules in any file, before or after its own.
 */
struct set_filter {
	struct ms_yaml_node *doc;	/* owned */
	char *file;			/* owned */
	const char *product, *service, *category;	/* its logsource, in doc; NULL: any */
	const char *title;
	bool any;			/* rules: any (or all, or []) */
	const char **refs;		/* rule ids or names, in doc (owned array) */
	bool *seen, *applies;		/* [nrefs]: a rule of that id or name; of its logsource */
	bool *corr;			/* [nrefs]: a correlation of that id or name */
	size_t nrefs;
	size_t applied;			/* rules it was applied to */
};

struct sigma_set {
	struct set_rule *rules;
	size_t nrules, arules;
	struct set_corr *corrs;
	size_t ncorrs, acorrs;
	struct set_route routes[SET_LS_CACHE];
	struct ms_yaml_node **ph_docs;	/* placeholders file */
	size_t ph_ndocs;
	struct alert alert;		/* scratch for emission */
	bool no_prefilter;		/* sigma_set_prefilter(s, false) */
	struct sigma_fieldmap *fm;	/* rules' field names, bound at load; NULL: per item */
	struct set_gone *gone;
	size_t ngone;
	size_t seq;			/* documents loaded so far */
	struct set_filter *filters;	/* while loading only */
	size_t nfilters;
	/*
	 * Chains: what a correlation fed by another sees is the inner one's
	 * alert as an event whose fields are the inner group-by values; one
	 * per level (allocated only when the set has chains).
	 */
	struct decoded *chain_ev;	/* one, when the set has chains */
	struct set_pending *pend;	/* held feeds of the current event */
	size_t npend, apend;
	struct set_pending *lvl;	/* set_deliver: one height's, sorted */
	size_t alvl;
	int max_height;			/* the longest chain */
	struct set_pfield *pfields;
	size_t npfields, apfields;
	/*
	 * Lines of windows decided at close (their samples change as the
	 * correlation goes on), emptied per event; never moved (events being
	 * fed point into it), SET_ARENA_MAX bytes, allocated with the chains
	 * (pages are only touched as used).
	 */
	char *arena;
	size_t arena_len;
	uint64_t chain_dropped;		/* firings not delivered: arena or queue full */
	uint64_t eval_skipped;		/* events not evaluated: no memory for their route */
	uint64_t serial;		/* events evaluated (sigma_event.serial) */
	uint32_t visit;			/* ref_can_carry's questions asked */
	size_t *matched;		/* [nrules]: rules a repeated line matched */
	size_t stack[SET_CHAIN_DEPTH + 2];	/* corr_height's walk */
};

void
sigma_report_init(struct sigma_report *r)
{
	memset(r, 0, sizeof(*r));
	ms_buf_init(&r->text, 4u << 20);
}

void
sigma_report_fini(struct sigma_report *r)
{
	ms_buf_fini(&r->text);
}

/* --- logsource ------------------------------------------------------- */

/* Services whose lines Sigma's "auth" service (auth.log) covers. */
static const char *const auth_services[] = {
	"sshd", "sudo", "su", "pam", "login", "useradd", "usermod", "userdel", "groupadd",
	"groupdel", "groupmod", "gpasswd", "passwd", "chpasswd", "chage", "newusers",
	"systemd-logind", "cron", NULL,
};

/* What the decoders produce; a rule asking for anything else is inert. */
static const char *const known_products[] = { "linux", "zeek", NULL };
static const char *const known_services[] = {
	"sshd", "sudo", "su", "pam", "login", "useradd", "usermod", "userdel", "groupadd",
	"groupdel", "groupmod", "gpasswd", "passwd", "chpasswd", "chage", "newusers",
	"systemd-logind", "cron", "auth", "syslog", "auditd",
	/* Zeek's logs (decode_zeek: Zeek JSON and the agent's network events) */
	"conn", "dns", "http", "ssl", "ssh", "scan", "x509", "files", "notice", "weird", "smtp",
	"ftp", "rdp", "smb_files", "smb_mapping", "dce_rpc", "kerberos", "ntlm", "dhcp", "snmp",
	"sip", "tunnel", "software", "known_hosts", "known_services", NULL,
};
static const char *const known_categories[] = { "webserver", "firewall", "process_creation", "dns",
	NULL };

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcasecmp(*list, s) == 0)
			return true;
	return false;
}

/* Could any decoded event ever satisfy this rule's logsource? */
static bool
logsource_known(const char *product, const char *service, const char *category)
{
	if (*product && !in_list(known_products, product))
		return false;
	if (*service && !in_list(known_services, service))
		return false;
	if (*category && !in_list(known_categories, category))
		return false;
	/* Web and firewall events are not tied to a service. */
	if (*category && *service)
		return false;
	return *product || *service || *category;
}

/*
 * Whether an event of this logsource can carry field: 1 yes, 0 no, -1 when
 * that cannot be known. Sources whose events carry every key of their
 * records (auditd, and so process_creation and plain "linux"; Zeek) or
 * every line (syslog) are open. The others have fixed names: the auth.log
 * programs (one set for all of them: PAM lines and sshd's summaries go to
 * several), access logs, netfilter lines.
 */
int
sigma_logsource_field(const char *product, const char *service, const char *category,
    const char *field)
{
	if (strcasecmp(product, "zeek") == 0)
		return -1;
	if (*category) {
		if (strcasecmp(category, "webserver") == 0)
			return decode_web_field_known(field);
		if (strcasecmp(category, "firewall") == 0)
			return decode_fw_field_known(field);
		return -1;
	}
	if (*service && (strcasecmp(service, "auth") == 0 || in_list(auth_services, service)))
		return decode_auth_field_known(field);
	return -1;
}

static bool
ls_eq(const char *want, const char *have)
{
	return *want == '\0' || (have != NULL && strcasecmp(want, have) == 0);
}

static bool
rule_applies(const struct sigma_rule *r, const struct decoded *d)
{
	const char *svc = sigma_rule_service(r);

	if (!ls_eq(sigma_rule_product(r), d->product) || !ls_eq(sigma_rule_category(r), d->category))
		return false;
	if (*svc == '\0')
		return true;
	if (d->service && strcasecmp(svc, d->service) == 0)
		return true;
	if (strcasecmp(svc, "auth") == 0)
		return d->service != NULL && in_list(auth_services, d->service);
	if (strcasecmp(svc, "syslog") == 0)
		return d->fmt != DECODE_SYSLOG_NONE;
	return false;
}

/*
 * The literal prefilter over a route's rules, built with the route (once
 * per logsource triple). Without it every rule of the route runs: slower,
 * same alerts.
 */
static void
route_prefilter(struct sigma_set *s, struct set_route *rt)
{
	const struct sigma_rule **rules = calloc(rt->n, sizeof(*rules));

	if (rules == NULL)
		return;
	for (size_t i = 0; i < rt->n; i++)
		rules[i] = s->rules[rt->idx[i]].r;
	rt->pf = sigma_prefilter_new(rules, rt->n);
	free(rules);
	if (rt->pf == NULL)
		ms_log(MS_LOG_WARN, "sigma prefilter=unavailable rules=%zu reason=\"build failed\"",
		    rt->n);
}

/* The rule indices for d's logsource, computed once per pointer triple and format. */
static const struct set_route *
set_route(struct sigma_set *s, const struct decoded *d)
{
	struct set_route *free_slot = NULL;
	bool syslog = d->fmt != DECODE_SYSLOG_NONE;

	for (size_t i = 0; i < SET_LS_CACHE; i++) {
		struct set_route *rt = &s->routes[i];
		if (!rt->used) {
			if (free_slot == NULL)
				free_slot = rt;
			continue;
		}
		/* Decoders use static strings: pointer equality is enough. */
		if (rt->product == d->product && rt->service == d->service &&
		    rt->category == d->category && rt->syslog == syslog)
			return rt;
	}
	if (free_slot == NULL) {
		/* More triples than slots would mean decoders inventing strings. */
		free_slot = &s->routes[0];
		free(free_slot->idx);
		sigma_prefilter_free(free_slot->pf);
		memset(free_slot, 0, sizeof(*free_slot));
	}
	free_slot->used = true;
	free_slot->product = d->product;
	free_slot->service = d->service;
	free_slot->category = d->category;
	free_slot->syslog = syslog;
	free_slot->idx = calloc(s->nrules ? s->nrules : 1, sizeof(size_t));
	if (free_slot->idx == NULL) {
		free_slot->used = false;
		return NULL;
	}
	for (size_t i = 0; i < s->nrules; i++)
		if (rule_applies(s->rules[i].r, d))
			free_slot->idx[free_slot->n++] = i;
	if (!s->no_prefilter && free_slot->n > 0)
		route_prefilter(s, free_slot);
	return free_slot;
}

/* --- loading --------------------------------------------------------- */

static void
report_line(struct sigma_report *rep, const char *kind, const char *msg)
{
	ms_buf_printf(&rep->text, "%s: %s\n", kind, msg);
}

/*
 * A rule reading a field that no source of its logsource emits could
 * never see it (and a "not" over it would always hold): true with
 * "file:line: reason" in msg.
 */
static bool
rule_unknown_field(const struct sigma_rule *r, const char *file, char *msg, size_t msgsz)
{
	for (size_t i = 0; i < sigma_rule_ndetection_fields(r); i++) {
		const char *f = sigma_rule_detection_field(r, i);

		if (sigma_logsource_field(sigma_rule_product(r), sigma_rule_service(r),
		    sigma_rule_category(r), f) == 0) {
			snprintf(msg, msgsz, "%s:%d: field '%.64s' is not in events of logsource "
			    "product=%s service=%s category=%s (docs/rules.md lists their fields)",
			    file, sigma_rule_detection_field_line(r, i), f, sigma_rule_product(r),
			    sigma_rule_service(r), sigma_rule_category(r));
			return true;
		}
	}
	return false;
}

static const struct ms_yaml_node *
placeholder_cb(const char *name, void *arg)
{
	struct sigma_set *s = arg;

	if (s->ph_ndocs == 0)
		return NULL;
	return ms_yaml_get(s->ph_docs[0], name);
}

static char *
where_dup(const char *file, int line)
{
	char buf[4200];

	snprintf(buf, sizeof(buf), "%s:%d", file, line);
	return strdup(buf);
}

static int
set_add_rule(struct sigma_set *s, struct sigma_rule *r, const char *file, int line)
{
	char *where;

	if (s->nrules == s->arules) {
		size_t na = s->arules ? s->arules * 2 : 64;
		struct set_rule *n = realloc(s->rules, na * sizeof(*n));
		if (n == NULL)
			return -1;
		s->rules = n;
		s->arules = na;
	}
	if ((where = where_dup(file, line)) == NULL)
		return -1;
	memset(&s->rules[s->nrules], 0, sizeof(s->rules[0]));
	/* Unbound (out of memory) the rule still matches, looking names up per item. */
	if (s->fm != NULL)
		(void)sigma_fieldmap_bind(s->fm, r);
	s->rules[s->nrules].r = r;
	s->rules[s->nrules].generate = true;
	s->rules[s->nrules].where = where;
	s->rules[s->nrules].seq = s->seq++;
	s->nrules++;
	return 0;
}

static int
set_add_corr(struct sigma_set *s, struct sigma_corr *c, const char *file, int line)
{
	char *where;

	if (s->ncorrs == s->acorrs) {
		size_t na = s->acorrs ? s->acorrs * 2 : 16;
		struct set_corr *n = realloc(s->corrs, na * sizeof(*n));
		if (n == NULL)
			return -1;
		s->corrs = n;
		s->acorrs = na;
	}
	if ((where = where_dup(file, line)) == NULL)
		return -1;
	memset(&s->corrs[s->ncorrs], 0, sizeof(s->corrs[0]));
	s->corrs[s->ncorrs].c = c;
	s->corrs[s->ncorrs].where = where;
	s->corrs[s->ncorrs].seq = s->seq++;
	s->ncorrs++;
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s ? strdup(s) : NULL;
}

static void
gone_add(struct sigma_set *s, const char *name, const char *id, const char *where, bool inert)
{
	struct set_gone *ng, *g;

	if ((name == NULL || *name == '\0') && (id == NULL || *id == '\0'))
		return;
	if ((ng = realloc(s->gone, (s->ngone + 1) * sizeof(*ng))) == NULL)
		return;
	s->gone = ng;
	g = &ng[s->ngone];
	g->name = dup_or_null(name);
	g->id = dup_or_null(id);
	g->where = strdup(where);
	g->inert = inert;
	if (g->where == NULL || ((name && *name) && g->name == NULL) || ((id && *id) && g->id == NULL)) {
		free(g->name);
		free(g->id);
		free(g->where);
		return;
	}
	s->ngone++;
}

static const char *
doc_scalar(const struct ms_yaml_node *doc, const char *key)
{
	const struct ms_yaml_node *n = ms_yaml_get(doc, key);

	if (n != NULL && n->type == MS_YAML_SCALAR && n->str != NULL &&
	    strlen(n->str) == n->len && n->len <= 256)
		return n->str;
	return NULL;
}

/* A document that did not load: its name and id, when it has them, are remembered. */
static void
gone_doc(struct sigma_set *s, const struct ms_yaml_node *doc, const char *file, bool inert)
{
	char where[4200];

	snprintf(where, sizeof(where), "%s:%d", file, doc->line);
	gone_add(s, doc_scalar(doc, "name"), doc_scalar(doc, "id"), where, inert);
}

struct set_load_arg {
	struct sigma_set *s;
	const struct sigma_set_opts *opts;
	struct sigma_report *rep;
	size_t ffiles;		/* files looked at by the first walk */
};

/* --- Sigma filters ------------------------------------------------------ */

/* A document holding a Sigma filter: filter: where a rule has detection:. */
static bool
doc_is_filter(const struct ms_yaml_node *doc)
{
	return ms_yaml_get(doc, "filter") != NULL && ms_yaml_get(doc, "detection") == NULL &&
	    ms_yaml_get(doc, "correlation") == NULL;
}

static void
filter_fini(struct set_filter *f)
{
	ms_yaml_node_free(f->doc);
	free(f->file);
	free(f->refs);
	free(f->seen);
	free(f->applies);
	free(f->corr);
}

static void
filters_free(struct sigma_set *s)
{
	for (size_t i = 0; i < s->nfilters; i++)
		filter_fini(&s->filters[i]);
	free(s->filters);
	s->filters = NULL;
	s->nfilters = 0;
}

/*
 * Reads a filter document into f (doc still the caller's). 0, or -1 with
 * "file:line: reason" in msg.
 */
static int
filter_read(struct sigma_set *s, struct set_filter *f, const struct ms_yaml_node *doc,
    const char *file, char *msg, size_t msgsz)
{
	const struct ms_yaml_node *ls = ms_yaml_get(doc, "logsource");
	const struct ms_yaml_node *fm = ms_yaml_get(doc, "filter"), *rules;
	char err[1024];

	memset(f, 0, sizeof(*f));
	if ((f->title = doc_scalar(doc, "title")) == NULL) {
		snprintf(msg, msgsz, "%s:%d: a filter needs a title", file, doc->line);
		return -1;
	}
	if (ls == NULL || ls->type != MS_YAML_MAP) {
		snprintf(msg, msgsz, "%s:%d: a filter needs a logsource map", file, doc->line);
		return -1;
	}
	f->product = doc_scalar(ls, "product");
	f->service = doc_scalar(ls, "service");
	f->category = doc_scalar(ls, "category");
	if (fm->type != MS_YAML_MAP) {
		snprintf(msg, msgsz, "%s:%d: filter must be a map", file, fm->line);
		return -1;
	}
	rules = ms_yaml_get(fm, "rules");
	if (rules == NULL || ms_yaml_is_null(rules)) {
		snprintf(msg, msgsz, "%s:%d: filter: rules is required (rule ids or names, or any)",
		    file, fm->line);
		return -1;
	}
	if (rules->type == MS_YAML_SCALAR) {
		if (strcasecmp(rules->str, "any") == 0 || strcasecmp(rules->str, "all") == 0)
			f->any = true;
		else
			f->nrefs = 1;
	} else if (rules->type == MS_YAML_SEQ) {
		f->any = rules->n == 0;
		f->nrefs = rules->n;
	} else {
		snprintf(msg, msgsz, "%s:%d: filter: rules is a rule id or name, a list of them, "
		    "or any", file, rules->line);
		return -1;
	}
	if (f->nrefs > 0) {
		if ((f->refs = calloc(f->nrefs, sizeof(*f->refs))) == NULL ||
		    (f->seen = calloc(f->nrefs, sizeof(*f->seen))) == NULL ||
		    (f->applies = calloc(f->nrefs, sizeof(*f->applies))) == NULL ||
		    (f->corr = calloc(f->nrefs, sizeof(*f->corr))) == NULL) {
			snprintf(msg, msgsz, "%s:%d: out of memory", file, doc->line);
			return -1;
		}
		for (size_t k = 0; k < f->nrefs; k++) {
			const struct ms_yaml_node *it = rules->type == MS_YAML_SEQ ? rules->items[k] : rules;

			if (it->type != MS_YAML_SCALAR || ms_yaml_is_null(it) ||
			    strlen(it->str) != it->len) {
				snprintf(msg, msgsz, "%s:%d: filter: rules lists rule ids or names",
				    file, it->line);
				return -1;
			}
			f->refs[k] = it->str;
		}
	}
	if (sigma_filter_check(fm, file, f->product, f->service, f->category, placeholder_cb, s,
	    err, sizeof(err)) < 0) {
		snprintf(msg, msgsz, "%s", err);
		return -1;
	}
	return 0;
}

/*
 * Whether a file's text may hold a Sigma filter, cheaply, so that the
 * first walk parses only those files: a line that starts with the key
 * filter (plain or quoted, blanks before the colon; after a byte-order
 * mark or "---"), or a document in flow style ({...}, read whole). A rule's
 * filter_main_* searches and its indented filter: search do not count. A
 * filter spelt otherwise ("? filter", escapes in a quoted key) is rejected
 * by the second walk (set_load_file), never silently skipped.
 */
static bool
text_may_hold_filter(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		char quote = 0;

		if (le - p >= 3 && memcmp(p, "---", 3) == 0)
			for (p += 3; p < le && (*p == ' ' || *p == '\t'); p++)
				;
		if (p < le && *p == '{')
			return true;
		if (p < le && (*p == '"' || *p == '\''))
			quote = *p++;
		if (le - p >= 6 && memcmp(p, "filter", 6) == 0) {
			p += 6;
			if (quote != 0 && p < le && *p == quote)
				p++, quote = 0;
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
			if (quote == 0 && p < le && *p == ':')
				return true;
		}
		p = le + 1;
	}
	return false;
}

/* First walk: every filter document of every file, kept in s->filters. */
static void
filter_collect_cb(const char *file, void *arg)
{
	struct set_load_arg *la = arg;
	struct sigma_set *s = la->s;
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0;
	char err[1024], msg[1400];

	char *text;
	size_t len;

	if (la->ffiles++ >= SET_MAX_FILES)
		return;
	/* Only a file that may hold one is parsed here: the others once, by the second walk. */
	if ((text = ms_yaml_read_file(file, SET_MAX_FILE, &len, err, sizeof(err))) == NULL)
		return;	/* said by the second walk */
	if (!text_may_hold_filter(text, len) ||
	    ms_yaml_parse(text, len, &docs, &ndocs, err, sizeof(err)) < 0) {
		free(text);
		return;
	}
	free(text);
	for (size_t i = 0; i < ndocs; i++) {
		struct set_filter f, *nf;

		if (docs[i] == NULL || docs[i]->type != MS_YAML_MAP || !doc_is_filter(docs[i]))
			continue;
		if (filter_read(s, &f, docs[i], file, msg, sizeof(msg)) < 0) {
			la->rep->rejected++;
			report_line(la->rep, "rejected", msg);
			filter_fini(&f);
			continue;
		}
		if (!logsource_known(f.product ? f.product : "", f.service ? f.service : "",
		    f.category ? f.category : "")) {
			la->rep->inert++;
			snprintf(msg, sizeof(msg), "%s:%d: filter logsource product=%s service=%s "
			    "category=%s has no decoder", file, docs[i]->line, f.product ? f.product : "",
			    f.service ? f.service : "", f.category ? f.category : "");
			report_line(la->rep, "inert", msg);
			filter_fini(&f);
			continue;
		}
		if ((f.file = strdup(file)) == NULL ||
		    (nf = realloc(s->filters, (s->nfilters + 1) * sizeof(*nf))) == NULL) {
			la->rep->rejected++;
			report_line(la->rep, "rejected", "out of memory");
			filter_fini(&f);
			continue;
		}
		/* The document is the filter's now. */
		f.doc = docs[i];
		docs[i] = NULL;
		s->filters = nf;
		s->filters[s->nfilters++] = f;
	}
	ms_yaml_docs_free(docs, ndocs);
}

/* A filter's logsource field: unset takes any; set, the rule's must be the same. */
static bool
ls_field_fits(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcasecmp(want, have) == 0);
}

/* Whether f applies to the rule of doc (id, name, logsource); marks its references. */
static bool
filter_applies(struct set_filter *f, const struct ms_yaml_node *doc)
{
	const struct ms_yaml_node *ls = ms_yaml_get(doc, "logsource");
	const char *id = doc_scalar(doc, "id"), *name = doc_scalar(doc, "name");
	bool fits = ls != NULL && ls_field_fits(f->product, doc_scalar(ls, "product")) &&
	    ls_field_fits(f->service, doc_scalar(ls, "service")) &&
	    ls_field_fits(f->category, doc_scalar(ls, "category"));
	bool named = false;

	if (f->any)
		return fits;
	for (size_t k = 0; k < f->nrefs; k++) {
		if ((id == NULL || strcmp(f->refs[k], id) != 0) &&
		    (name == NULL || strcmp(f->refs[k], name) != 0))
			continue;
		f->seen[k] = true;
		f->applies[k] |= fits;
		named = true;
	}
	return named && fits;
}

/* A correlation document: a filter naming it is told to filter its rules. */
static void
filters_mark_corr(struct sigma_set *s, const struct ms_yaml_node *doc)
{
	const char *id = doc_scalar(doc, "id"), *name = doc_scalar(doc, "name");

	for (size_t i = 0; i < s->nfilters; i++)
		for (size_t k = 0; k < s->filters[i].nrefs; k++)
			if ((id != NULL && strcmp(s->filters[i].refs[k], id) == 0) ||
			    (name != NULL && strcmp(s->filters[i].refs[k], name) == 0))
				s->filters[i].corr[k] = true;
}

/*
 * The rule of doc (r: parsed alone, checked) with every filter that
 * applies to it: each is first tried alone, so that one that cannot apply
 * (a field this rule's logsource never carries, too many searches) is
 * said and left out, never taking the rule down with it. Returns the rule
 * to add: r itself, or the filtered one (r then freed).
 */
static struct sigma_rule *
filters_apply(struct sigma_set *s, struct sigma_rule *r, const struct ms_yaml_node *doc,
    const char *file, struct sigma_report *rep)
{
	struct sigma_rule_filter ok[SIGMA_SET_MAX_FILTERS];
	struct set_filter *okf[SIGMA_SET_MAX_FILTERS], *over = NULL;
	size_t nok = 0, nover = 0;
	char err[1024], msg[2600];
	struct sigma_rule *fr;

	for (size_t i = 0; i < s->nfilters; i++) {
		struct set_filter *f = &s->filters[i];
		struct sigma_rule_filter one = { ms_yaml_get(f->doc, "filter"), f->file };

		if (!filter_applies(f, doc))
			continue;
		/* Said once per rule below: 500 filters for any rule are not 484 lines per rule. */
		if (nok == SIGMA_SET_MAX_FILTERS) {
			if (nover++ == 0)
				over = f;
			continue;
		}
		if ((fr = sigma_rule_parse_filtered(doc, file, &one, 1, placeholder_cb, s, err,
		    sizeof(err))) == NULL)
			goto refused;
		/*
		 * Only the filter's fields can be unknown here: the rule's passed
		 * alone. A filter naming this rule is meant for its events; one for
		 * any rule of a broader logsource applies as written (its search
		 * cannot match here), as pySigma applies it: its fields were
		 * checked on its own logsource (filter_read).
		 */
		if (!f->any && rule_unknown_field(fr, f->file, err, sizeof(err))) {
			sigma_rule_free(fr);
			goto refused;
		}
		sigma_rule_free(fr);
		ok[nok] = one;
		okf[nok++] = f;
		continue;
refused:
		rep->rejected++;
		snprintf(msg, sizeof(msg), "%s (filter \"%s\" not applied to rule %s at %s:%d)", err,
		    f->title, sigma_rule_id(r) && *sigma_rule_id(r) ? sigma_rule_id(r) :
		    sigma_rule_title(r), file, doc->line);
		report_line(rep, "rejected", msg);
	}
	if (nover > 0) {
		rep->rejected++;
		snprintf(msg, sizeof(msg), "%s:%d: more than %d filters apply to one rule: this one "
		    "and %zu after it (filter \"%s\" and on not applied to rule %s at %s:%d)",
		    over->file, over->doc->line, SIGMA_SET_MAX_FILTERS, nover - 1, over->title,
		    sigma_rule_id(r) && *sigma_rule_id(r) ? sigma_rule_id(r) : sigma_rule_title(r),
		    file, doc->line);
		report_line(rep, "rejected", msg);
	}
	if (nok == 0)
		return r;
	if ((fr = sigma_rule_parse_filtered(doc, file, ok, nok, placeholder_cb, s, err,
	    sizeof(err))) == NULL) {
		rep->rejected++;
		report_line(rep, "rejected", err);
		return r;
	}
	for (size_t k = 0; k < nok; k++)
		okf[k]->applied++;
	sigma_rule_free(r);
	return fr;
}

/* After the second walk: references that named no rule, or one of another logsource. */
static void
filters_report(struct sigma_set *s, struct sigma_report *rep)
{
	char msg[1400];

	for (size_t i = 0; i < s->nfilters; i++) {
		struct set_filter *f = &s->filters[i];

		for (size_t k = 0; k < f->nrefs; k++) {
			if (f->seen[k] && f->applies[k])
				continue;
			rep->rejected++;
			snprintf(msg, sizeof(msg), "%s:%d: filter \"%s\": %s '%.200s'%s", f->file,
			    f->doc->line, f->title, f->seen[k] ? "not the logsource of rule" :
			    f->corr[k] ? "filters apply to detection rules, not to the correlation" :
			    "no rule has the id or name", f->refs[k], f->corr[k] && !f->seen[k] ?
			    " (filter the rules it counts)" : "");
			report_line(rep, "rejected", msg);
		}
		if (f->applied > 0)
			rep->filters++;
	}
}

static void
set_load_file(struct sigma_set *s, const char *file, const struct sigma_set_opts *opts,
    struct sigma_report *rep)
{
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0, len;
	char err[1024], msg[1400];
	char *text;
	bool scanned;	/* by the first walk, for filters */

	rep->files++;
	if ((text = ms_yaml_read_file(file, SET_MAX_FILE, &len, err, sizeof(err))) == NULL ||
	    ms_yaml_parse(text, len, &docs, &ndocs, err, sizeof(err)) < 0) {
		rep->rejected++;
		snprintf(msg, sizeof(msg), "%s: %s", file, err);
		report_line(rep, "rejected", msg);
		free(text);
		return;
	}
	scanned = text_may_hold_filter(text, len);
	free(text);
	for (size_t i = 0; i < ndocs; i++) {
		const struct ms_yaml_node *doc = docs[i];

		if (ms_yaml_is_null(doc))
			continue;
		if (doc->type != MS_YAML_MAP) {
			rep->rejected++;
			snprintf(msg, sizeof(msg), "%s:%d: a rule is a map", file, doc->line);
			report_line(rep, "rejected", msg);
			continue;
		}
		if (ms_yaml_get(doc, "filter") != NULL) {
			/* Which one it is would be a guess: the rule would alert on what it tunes out. */
			if (!doc_is_filter(doc)) {
				rep->rejected++;
				snprintf(msg, sizeof(msg), "%s:%d: a document is a rule (detection:), a "
				    "correlation (correlation:) or a Sigma filter (filter:), not two of "
				    "them", file, doc->line);
				report_line(rep, "rejected", msg);
			} else if (!scanned) {
				rep->rejected++;
				snprintf(msg, sizeof(msg), "%s:%d: a Sigma filter is read where its "
				    "filter: key starts a line (plain or quoted) or in flow style: this "
				    "one was not applied", file, doc->line);
				report_line(rep, "rejected", msg);
			}
			continue;	/* a filter: read by the first walk */
		}
		if (ms_yaml_get(doc, "correlation") != NULL) {
			struct sigma_corr *c;

			filters_mark_corr(s, doc);
			c = sigma_corr_parse(doc, file, err, sizeof(err));
			if (c == NULL) {
				rep->rejected++;
				report_line(rep, "rejected", err);
				gone_doc(s, doc, file, false);
				continue;
			}
			if (opts && opts->max_groups)
				sigma_corr_set_max_groups(c, opts->max_groups);
			if (set_add_corr(s, c, file, doc->line) < 0) {
				sigma_corr_free(c);
				rep->rejected++;
				report_line(rep, "rejected", "out of memory");
			}
			continue;
		} else {
			struct sigma_rule *r;

			/* A rule a filter names is there, whatever becomes of it below. */
			for (size_t k = 0; k < s->nfilters; k++)
				(void)filter_applies(&s->filters[k], doc);
			r = sigma_rule_parse(doc, file, placeholder_cb, s, err, sizeof(err));
			if (r == NULL) {
				rep->rejected++;
				report_line(rep, "rejected", err);
				gone_doc(s, doc, file, false);
				continue;
			}
			if (!logsource_known(sigma_rule_product(r), sigma_rule_service(r),
			    sigma_rule_category(r))) {
				rep->inert++;
				snprintf(msg, sizeof(msg), "%s:%d: logsource product=%s service=%s "
				    "category=%s has no decoder", file, doc->line, sigma_rule_product(r),
				    sigma_rule_service(r), sigma_rule_category(r));
				report_line(rep, "inert", msg);
				/* It can never match; correlations over it are inert too. */
				gone_doc(s, doc, file, true);
				sigma_rule_free(r);
				continue;
			}
			if (rule_unknown_field(r, file, msg, sizeof(msg))) {
				rep->rejected++;
				report_line(rep, "rejected", msg);
				gone_doc(s, doc, file, false);
				sigma_rule_free(r);
				continue;
			}
			if (s->nfilters > 0)
				r = filters_apply(s, r, doc, file, rep);
			if (set_add_rule(s, r, file, doc->line) < 0) {
				sigma_rule_free(r);
				rep->rejected++;
				report_line(rep, "rejected", "out of memory");
			}
		}
	}
	ms_yaml_docs_free(docs, ndocs);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_rule_file(const char *name)
{
	size_t l = strlen(name);
	return name[0] != '.' && ((l > 4 && strcmp(name + l - 4, ".yml") == 0) ||
	    (l > 5 && strcmp(name + l - 5, ".yaml") == 0));
}

/*
 * 0, or -errno when a folder could not be listed whole (out of memory or
 * file descriptors, a read error, a folder that cannot be opened, folders
 * nested deeper than SET_MAX_DEPTH: a link back up the tree): files would
 * be left out, the caller must know. An entry gone meanwhile is no error.
 */
static int
set_walk(const char *path, int depth, sigma_set_file_fn cb, void *arg)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, a = 0;
	int rc = 0;

	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode)) {
		cb(path, arg);
		return 0;
	}
	if (depth > SET_MAX_DEPTH)
		return -ELOOP;	/* a link back up the tree, most likely */
	if ((dir = opendir(path)) == NULL)
		return -errno;
	for (;;) {
		char sub[4096];
		struct stat sst;

		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			if (errno != 0)
				rc = -errno;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
			continue;
		if (stat(sub, &sst) != 0) {
			if (errno == ENOENT)
				continue;
			rc = -errno;
			break;
		}
		/*
		 * rules/tests holds test cases for minisocctl rules test, and
		 * rules/compliance the framework profiles of the reports: not rules.
		 */
		if (S_ISDIR(sst.st_mode) ? strcmp(de->d_name, "tests") == 0 ||
		    strcmp(de->d_name, "compliance") == 0 : !is_rule_file(de->d_name))
			continue;
		if (n == a) {
			size_t na = a ? a * 2 : 64;
			char **nn = realloc(names, na * sizeof(*nn));
			if (nn == NULL) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
			a = na;
		}
		if ((names[n] = strdup(sub)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(dir);
	/* Name order: the same folder always loads the same way. */
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = set_walk(names[i], depth + 1, cb, arg);
		free(names[i]);
	}
	free(names);
	return rc;
}

int
sigma_set_walk(const char *path, sigma_set_file_fn cb, void *arg)
{
	return set_walk(path, 0, cb, arg);
}

static void
set_load_cb(const char *file, void *arg)
{
	struct set_load_arg *la = arg;

	if (la->rep->files < SET_MAX_FILES)
		set_load_file(la->s, file, la->opts, la->rep);
}

/* --- resolution: names, duplicates, references, chains ------------- */

static const char *
rule_key(const struct sigma_rule *r, int which)
{
	return which == 0 ? sigma_rule_name(r) : sigma_rule_id(r);
}

static const char *
corr_key(const struct sigma_corr *c, int which)
{
	return which == 0 ? sigma_corr_name(c) : sigma_corr_id(c);
}

static void
corr_kill(struct set_corr *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks sc rejected with "file:line: reason" (the first reason given wins). */
static void
corr_kill(struct set_corr *sc, const char *fmt, ...)
{
	char msg[1400];
	va_list ap;

	if (sc->dead || sc->inert)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sc->dead = true;
	sc->why = strdup(msg);
}

static struct set_name *
name_get(struct ms_map *m, const char *key)
{
	return ms_map_get(m, key, strlen(key));
}

/* key -> (kind, idx) unless taken; false when out of memory. */
static bool
name_put(struct ms_map *m, const char *key, enum set_tkind kind, size_t idx)
{
	struct set_name *n;

	if (key == NULL || *key == '\0' || name_get(m, key) != NULL)
		return true;
	if ((n = ms_map_add(m, key, strlen(key))) == NULL)
		return false;
	n->kind = kind;
	n->idx = idx;
	return true;
}

/*
 * Names and ids are how correlations and tests refer to rules: one
 * meaning each. In load order, a document giving a name or id that an
 * earlier loaded document holds is rejected (naming that one): a rule is
 * removed, a correlation marked dead. Then every name and id of what
 * stays, and of what did not load, goes into the returned map (NULL when
 * out of memory: then nothing resolves, every correlation is rejected).
 */
static struct ms_map *
set_names(struct sigma_set *s, struct sigma_report *rep)
{
	struct ms_map *m = ms_map_new_inline(sizeof(struct set_name), NULL);
	size_t ri = 0, ci = 0, j;
	bool *drop;
	char msg[1400];

	if (m == NULL || (drop = calloc(s->nrules ? s->nrules : 1, sizeof(*drop))) == NULL) {
		ms_map_free(m);
		return NULL;
	}
	/* The two arrays are each in load order: merged by seq. */
	while (ri < s->nrules || ci < s->ncorrs) {
		bool corr = ri == s->nrules || (ci < s->ncorrs && s->corrs[ci].seq < s->rules[ri].seq);
		size_t idx = corr ? ci++ : ri++;
		const char *key[2], *where = corr ? s->corrs[idx].where : s->rules[idx].where;
		const struct set_name *taken = NULL;
		const char *tkey = NULL;

		for (int w = 0; w < 2; w++)
			key[w] = corr ? corr_key(s->corrs[idx].c, w) : rule_key(s->rules[idx].r, w);
		for (int w = 0; w < 2 && taken == NULL; w++)
			if (*key[w] && (taken = name_get(m, key[w])) != NULL)
				tkey = key[w];
		if (taken != NULL) {
			const char *first = taken->kind == TGT_CORR ? s->corrs[taken->idx].where :
			    s->rules[taken->idx].where;

			if (corr) {
				corr_kill(&s->corrs[idx], "%s: name or id '%.256s' is already used by %s",
				    where, tkey, first);
			} else {
				drop[idx] = true;
				snprintf(msg, sizeof(msg), "%s: name or id '%.256s' is already used by %s",
				    where, tkey, first);
				report_line(rep, "rejected", msg);
				rep->rejected++;
			}
			continue;
		}
		for (int w = 0; w < 2; w++)
			if (!name_put(m, key[w], corr ? TGT_CORR : TGT_RULE, idx))
				goto oom;
	}
	/* Dropped rules leave (routes are built later, from what stays). */
	j = 0;
	for (size_t i = 0; i < s->nrules; i++) {
		if (drop[i]) {
			const struct sigma_rule *r = s->rules[i].r;
			/* Its other name or id, if not taken, now refers to a rejected rule. */
			gone_add(s, sigma_rule_name(r), sigma_rule_id(r), s->rules[i].where, false);
			sigma_rule_free(s->rules[i].r);
			free(s->rules[i].where);
			continue;
		}
		s->rules[j++] = s->rules[i];
	}
	s->nrules = j;
	free(drop);
	/* Indices moved: the map is rebuilt from what stays, then what is gone. */
	ms_map_free(m);
	if ((m = ms_map_new_inline(sizeof(struct set_name), NULL)) == NULL)
		return NULL;
	for (size_t i = 0; i < s->nrules; i++)
		for (int w = 0; w < 2; w++)
			if (!name_put(m, rule_key(s->rules[i].r, w), TGT_RULE, i))
				goto oom2;
	for (size_t i = 0; i < s->ncorrs; i++)
		for (int w = 0; w < 2; w++)
			if (!s->corrs[i].dead && !name_put(m, corr_key(s->corrs[i].c, w), TGT_CORR, i))
				goto oom2;
	for (size_t i = 0; i < s->ncorrs; i++)
		for (int w = 0; w < 2; w++)
			if (s->corrs[i].dead)
				(void)name_put(m, corr_key(s->corrs[i].c, w), TGT_CORR, i);
	for (size_t i = 0; i < s->ngone; i++) {
		enum set_tkind k = s->gone[i].inert ? TGT_INERT : TGT_NONE;
		if (!name_put(m, s->gone[i].name, k, i) || !name_put(m, s->gone[i].id, k, i))
			goto oom2;
	}
	return m;
oom:
	free(drop);
oom2:
	ms_map_free(m);
	return NULL;
}

/*
 * Could an event fed by a reference to (tk, ti) carry field? A rule: its
 * logsource's fields. A live correlation: its group-by values and – when
 * it fires on an event of its window (not when a later event closes the
 * window) – that event's fields: whatever the references beneath it
 * could carry. Each correlation is looked at once per question (visit),
 * and the whole load has a budget of steps: past it the answer is yes
 * (nothing rejected unchecked is lost; a folder that needs that many is
 * logged).
 */
static bool
ref_can_carry(struct sigma_set *s, enum set_tkind tk, size_t ti, const char *field,
    uint32_t visit, size_t *budget)
{
	struct set_corr *in;

	if (tk == TGT_RULE) {
		const struct sigma_rule *r = s->rules[ti].r;
		return sigma_logsource_field(sigma_rule_product(r), sigma_rule_service(r),
		    sigma_rule_category(r), field) != 0;
	}
	if (tk != TGT_CORR)
		return false;	/* inert: carries nothing */
	in = &s->corrs[ti];
	if (in->dead || in->tk == NULL)
		return true;	/* rejected anyway: nothing to add */
	if (in->inert || in->visit == visit)
		return false;
	if (*budget == 0)
		return true;
	(*budget)--;
	in->visit = visit;
	for (size_t gi = 0; gi < sigma_corr_ngroup(in->c); gi++)
		if (strcmp(sigma_corr_group(in->c, gi), field) == 0)
			return true;
	if (sigma_corr_at_close(in->c))
		return false;
	for (size_t k = 0; k < sigma_corr_nrefs(in->c); k++)
		if (ref_can_carry(s, in->tk[k], in->ti[k], field, visit, budget))
			return true;
	return false;
}

static void
corr_check_field(struct sigma_set *s, struct set_corr *sc, size_t k, const char *what,
    const char *field, int line, size_t *budget)
{
	const char *file = sigma_corr_file(sc->c);

	/* Inert references never feed it: nothing to check. */
	if (sc->tk[k] == TGT_INERT || (sc->tk[k] == TGT_CORR && s->corrs[sc->ti[k]].inert))
		return;
	if (ref_can_carry(s, sc->tk[k], sc->ti[k], field, ++s->visit, budget))
		return;
	/* An error in the rule itself outranks "inert" (which its other references made it). */
	if (sc->inert) {
		sc->inert = false;
		free(sc->why);
		sc->why = NULL;
	}
	if (sc->tk[k] == TGT_RULE) {
		const struct sigma_rule *r = s->rules[sc->ti[k]].r;

		corr_kill(sc, "%s:%d: %s field '%.64s' is not in events of rule '%.128s' "
		    "(logsource product=%s service=%s category=%s; docs/rules.md lists "
		    "their fields)", file, line, what, field, sigma_corr_ref(sc->c, k),
		    sigma_rule_product(r), sigma_rule_service(r), sigma_rule_category(r));
	} else {
		corr_kill(sc, "%s:%d: %s field '%.64s' is neither a group-by field of "
		    "correlation '%.128s' nor in events of the rules beneath it", file, line, what,
		    field, sigma_corr_ref(sc->c, k));
	}
}

/*
 * First pass over one correlation: each reference to a rule, a
 * correlation, or something inert; aliases keyed by name matched.
 */
static void
corr_link(struct sigma_set *s, struct ms_map *names, size_t ci)
{
	struct set_corr *sc = &s->corrs[ci];
	struct sigma_corr *c = sc->c;
	size_t nrefs = sigma_corr_nrefs(c);
	const char *file = sigma_corr_file(c);
	const char **nm, **ids;
	char err[1400];

	sc->tk = calloc(nrefs, sizeof(*sc->tk));
	sc->ti = calloc(nrefs, sizeof(*sc->ti));
	nm = calloc(nrefs, sizeof(*nm));
	ids = calloc(nrefs, sizeof(*ids));
	if (sc->tk == NULL || sc->ti == NULL || nm == NULL || ids == NULL || names == NULL) {
		corr_kill(sc, "%s: out of memory", sc->where);
		goto done;
	}
	for (size_t k = 0; k < nrefs; k++) {
		const char *ref = sigma_corr_ref(c, k);
		int line = sigma_corr_ref_line(c, k);
		const struct set_name *n = name_get(names, ref);
		const struct set_gone *g;

		if (n == NULL) {
			corr_kill(sc, "%s:%d: rules: unknown rule '%.128s' (no rule or correlation "
			    "has that name or id)", file, line, ref);
			continue;
		}
		sc->tk[k] = n->kind;
		sc->ti[k] = n->idx;
		switch (n->kind) {
		case TGT_RULE:
			nm[k] = sigma_rule_name(s->rules[n->idx].r);
			ids[k] = sigma_rule_id(s->rules[n->idx].r);
			break;
		case TGT_CORR:
			if (n->idx == ci) {
				corr_kill(sc, "%s:%d: rules: '%.128s' is this correlation itself",
				    file, line, ref);
				continue;
			}
			nm[k] = sigma_corr_name(s->corrs[n->idx].c);
			ids[k] = sigma_corr_id(s->corrs[n->idx].c);
			break;
		case TGT_INERT:
			g = &s->gone[n->idx];
			nm[k] = g->name;
			ids[k] = g->id;
			break;
		case TGT_NONE:
			g = &s->gone[n->idx];
			corr_kill(sc, "%s:%d: rules: '%.128s' was rejected (%s)", file, line, ref,
			    g->where);
			continue;
		}
		/* The same rule listed by name and by id would count its matches twice. */
		for (size_t j = 0; j < k; j++)
			if (sc->tk[j] == sc->tk[k] && sc->ti[j] == sc->ti[k])
				corr_kill(sc, "%s:%d: rules: '%.128s' and '%.128s' are the same rule",
				    file, line, sigma_corr_ref(c, j), ref);
	}
	if (!sc->dead && sigma_corr_resolve_aliases(c, nm, ids, err, sizeof(err)) < 0)
		corr_kill(sc, "%s", err);
done:
	free(nm);
	free(ids);
}

/* group-by, alias and value_count fields against what the references carry. */
static void
corr_check_fields(struct sigma_set *s, struct set_corr *sc, size_t *budget)
{
	const struct sigma_corr *c = sc->c;

	for (size_t k = 0; k < sigma_corr_nrefs(c) && !sc->dead; k++) {
		for (size_t gi = 0; gi < sigma_corr_ngroup(c); gi++)
			corr_check_field(s, sc, k, "group-by", sigma_corr_group_field(c, gi, k),
			    sigma_corr_group_line(c, gi, k), budget);
		if (sigma_corr_value_field(c) != NULL)
			corr_check_field(s, sc, k, "condition", sigma_corr_value_field(c),
			    sigma_corr_value_field_line(c), budget);
	}
}

/*
 * Longest chain of correlations from ci down to rules (1: it feeds on
 * rules only); -1 when it loops back (the members of the loop are
 * rejected), -2 past SET_CHAIN_DEPTH (level bounds the recursion whatever
 * the folder holds). s->stack holds the walk.
 */
static int
corr_height(struct sigma_set *s, size_t ci, int level)
{
	struct set_corr *sc = &s->corrs[ci];
	int h = 1;

	if (sc->dfs == 2)
		return sc->height;
	if (sc->dfs == 1) {
		int p = level - 2;

		/* The loop is the walk from ci's place on the stack to here. */
		while (p > 0 && s->stack[p] != ci)
			p--;
		for (int i = p; i <= level - 2; i++)
			corr_kill(&s->corrs[s->stack[i]], "%s: correlation '%.128s': its chain of "
			    "correlations loops back to itself (through '%.128s')",
			    s->corrs[s->stack[i]].where, sigma_corr_title(s->corrs[s->stack[i]].c),
			    sigma_corr_title(s->corrs[s->stack[i < level - 2 ? i + 1 : p]].c));
		return -1;
	}
	if (level > SET_CHAIN_DEPTH)
		return -2;
	sc->dfs = 1;
	s->stack[level - 1] = ci;
	for (size_t k = 0; k < sigma_corr_nrefs(sc->c); k++) {
		int r;

		if (sc->tk[k] != TGT_CORR || s->corrs[sc->ti[k]].dead || s->corrs[sc->ti[k]].inert)
			continue;
		if ((r = corr_height(s, sc->ti[k], level + 1)) < 0)
			return r;	/* dfs stays 1: the caller clears the walk */
		if (r + 1 > h)
			h = r + 1;
	}
	if (h > SET_CHAIN_DEPTH)
		return -2;
	sc->dfs = 2;
	sc->height = h;
	return h;
}

static void
work_push(struct sigma_set *s, size_t **wl, size_t *n, size_t ci)
{
	if (s->corrs[ci].queued)
		return;
	s->corrs[ci].queued = true;
	(*wl)[(*n)++] = ci;	/* at most ncorrs: queued is never cleared */
}

/*
 * sc from its references: rejected when one is a rejected correlation,
 * inert when too few of them can ever match.
 */
static void
corr_reassess(struct sigma_set *s, struct set_corr *sc)
{
	size_t live = 0, nrefs = sigma_corr_nrefs(sc->c);
	const char *inert_ref = NULL;
	char msg[1400];

	if (sc->dead || sc->inert)
		return;
	for (size_t k = 0; k < nrefs && !sc->dead; k++) {
		const struct set_corr *u = sc->tk[k] == TGT_CORR ? &s->corrs[sc->ti[k]] : NULL;

		if (u != NULL && u->dead)
			corr_kill(sc, "%s:%d: rules: correlation '%.128s' was rejected (%s)",
			    sigma_corr_file(sc->c), sigma_corr_ref_line(sc->c, k),
			    sigma_corr_ref(sc->c, k), u->where);
		else if (sc->tk[k] == TGT_INERT || (u != NULL && u->inert))
			inert_ref = inert_ref ? inert_ref : sigma_corr_ref(sc->c, k);
		else
			live++;
	}
	if (sc->dead || live >= sigma_corr_min_refs(sc->c))
		return;
	snprintf(msg, sizeof(msg), "%s: correlation '%.128s' can never fire: '%.128s' is inert",
	    sc->where, sigma_corr_title(sc->c), inert_ref);
	sc->inert = true;
	sc->why = strdup(msg);
}

/* From every correlation on the worklist to those referring to it. */
static void
set_propagate(struct sigma_set *s, size_t **wl, size_t *n, size_t *done)
{
	while (*done < *n) {
		const struct set_corr *t = &s->corrs[(*wl)[(*done)++]];

		for (size_t i = 0; i < t->nrev; i++) {
			struct set_corr *sc = &s->corrs[t->rev[i]];

			corr_reassess(s, sc);
			if (sc->dead || sc->inert)
				work_push(s, wl, n, t->rev[i]);
		}
	}
}

/*
 * Until nothing changes: rejections and inertness spread to what refers
 * to them; loops and chains deeper than SET_CHAIN_DEPTH are rejected.
 * Linear in the folder but for the walks, which go SET_CHAIN_DEPTH deep
 * at most from each correlation.
 */
static void
set_settle(struct sigma_set *s)
{
	size_t *wl = calloc(s->ncorrs ? s->ncorrs : 1, sizeof(*wl)), n = 0, done = 0;
	bool killed = true;

	if (wl == NULL) {
		for (size_t ci = 0; ci < s->ncorrs; ci++)
			corr_kill(&s->corrs[ci], "%s: out of memory", s->corrs[ci].where);
		return;
	}
	for (size_t ci = 0; ci < s->ncorrs; ci++) {
		corr_reassess(s, &s->corrs[ci]);
		if (s->corrs[ci].dead || s->corrs[ci].inert)
			work_push(s, &wl, &n, ci);
	}
	set_propagate(s, &wl, &n, &done);
	while (killed) {
		killed = false;
		for (size_t ci = 0; ci < s->ncorrs; ci++)
			s->corrs[ci].dfs = 0;
		for (size_t ci = 0; ci < s->ncorrs; ci++) {
			struct set_corr *sc = &s->corrs[ci];
			int h;

			if (sc->dead || sc->inert || (h = corr_height(s, ci, 1)) > 0)
				continue;
			if (h == -2)
				corr_kill(sc, "%s: correlation '%.128s': chain of correlations deeper "
				    "than %d", sc->where, sigma_corr_title(sc->c), SET_CHAIN_DEPTH);
			killed = true;
			/* The walk's own marks, never finished: cleared for the next walks. */
			for (size_t k = 0; k < s->ncorrs && k < SET_CHAIN_DEPTH + 2; k++)
				if (s->corrs[s->stack[k]].dfs == 1)
					s->corrs[s->stack[k]].dfs = 0;
		}
		for (size_t ci = 0; ci < s->ncorrs; ci++)
			if (s->corrs[ci].dead || s->corrs[ci].inert)
				work_push(s, &wl, &n, ci);
		set_propagate(s, &wl, &n, &done);
	}
	free(wl);
}

static int
listener_add(struct set_listener **ls, size_t *n, size_t corr, size_t ref)
{
	struct set_listener *nl = realloc(*ls, (*n + 1) * sizeof(**ls));

	if (nl == NULL)
		return -1;
	nl[*n].corr = corr;
	nl[*n].ref = ref;
	*ls = nl;
	(*n)++;
	return 0;
}

/*
 * An earlier live correlation that counts the same windows as correlation
 * c from the same rules (sigma_corr_same), SIZE_MAX when none: a quiet copy
 * made for a chain (ssh_bruteforce_stage of ssh_bruteforce) then fires
 * with it instead of being fed each match again. Rules only (a reference
 * to a correlation is fed through the chain's deferrals). The candidates
 * are among the first SET_TWIN_TRIES correlations fed by c's first rule
 * (twins are not fed), those fed by it as their first reference: a folder
 * of many correlations over one rule costs no quadratic load; one that
 * finds no twin is fed on its own, as before.
 *
 * A twin's alert comes right after the earlier one's. Fed on its own it
 * would come after every correlation fed by the same rules in between: a
 * twin that raises alerts of its own (generate, set_generate) is taken
 * only when the earlier one is the last fed by each of its rules so far,
 * so that the alerts of one event keep the order of the rule files. (A
 * quiet one only feeds its chain, after the event's own feeds.)
 */
static size_t
twin_find(const struct sigma_set *s, size_t c)
{
	const struct set_corr *sc = &s->corrs[c];
	size_t n = sigma_corr_nrefs(sc->c);
	const struct set_rule *first;

	if (n == 0)
		return SIZE_MAX;
	for (size_t k = 0; k < n; k++)
		if (sc->tk[k] != TGT_RULE)
			return SIZE_MAX;
	first = &s->rules[sc->ti[0]];
	for (size_t i = 0; i < first->nls && i < SET_TWIN_TRIES; i++) {
		size_t o = first->ls[i].corr;
		const struct set_corr *oc = &s->corrs[o];
		bool same;

		if (first->ls[i].ref != 0 || o == c)
			continue;
		same = sigma_corr_nrefs(oc->c) == n;
		for (size_t k = 0; same && k < n; k++)
			same = oc->tk[k] == TGT_RULE && oc->ti[k] == sc->ti[k];
		for (size_t k = 0; same && sc->generate && k < n; k++) {
			const struct set_rule *r = &s->rules[sc->ti[k]];
			same = r->nls > 0 && r->ls[r->nls - 1].corr == o;
		}
		if (same && sigma_corr_same(oc->c, sc->c))
			return o;
	}
	return SIZE_MAX;
}

/*
 * Generate flags (set_resolve): a rule or correlation referenced by
 * correlations is a building block, quiet unless one of them says
 * generate: true (the spec: only the correlation is generated by
 * default) – counting the correlations that loaded or are inert; one
 * that was rejected leaves its rules as they would be without it.
 */
static void
set_generate(struct sigma_set *s)
{
	for (size_t c = 0; c < s->ncorrs; c++) {
		const struct set_corr *sc = &s->corrs[c];

		if (sc->dead)
			continue;
		for (size_t k = 0; k < sigma_corr_nrefs(sc->c); k++) {
			bool *ref = NULL, *gen = NULL;

			if (sc->tk[k] == TGT_RULE) {
				ref = &s->rules[sc->ti[k]].referenced;
				gen = &s->rules[sc->ti[k]].gen_asked;
			} else if (sc->tk[k] == TGT_CORR) {
				ref = &s->corrs[sc->ti[k]].referenced;
				gen = &s->corrs[sc->ti[k]].gen_asked;
			}
			if (ref != NULL) {
				*ref = true;
				*gen |= sigma_corr_generate(sc->c);
			}
		}
	}
	for (size_t i = 0; i < s->nrules; i++)
		s->rules[i].generate = !s->rules[i].referenced || s->rules[i].gen_asked;
	for (size_t i = 0; i < s->ncorrs; i++)
		s->corrs[i].generate = !s->corrs[i].referenced || s->corrs[i].gen_asked;
}

/*
 * Wires correlations to what they reference. Every correlation ends up
 * live, inert (listed) or rejected (listed with file:line). -1 when memory
 * ran out where a correlation would be counted live but not work (a
 * listener, the chains' event): the set must not be used then.
 */
static int
set_resolve(struct sigma_set *s, struct sigma_report *rep)
{
	struct ms_map *names = set_names(s, rep);
	size_t budget = SET_CHECK_BUDGET;
	int height = 1;

	for (size_t c = 0; c < s->ncorrs; c++)
		if (!s->corrs[c].dead)
			corr_link(s, names, c);
	ms_map_free(names);
	/* Who refers to whom (dead ones included: rejection spreads through them). */
	for (size_t c = 0; c < s->ncorrs; c++) {
		struct set_corr *sc = &s->corrs[c];

		for (size_t k = 0; sc->tk != NULL && k < sigma_corr_nrefs(sc->c); k++) {
			struct set_corr *t;
			size_t *nr;

			if (sc->tk[k] != TGT_CORR || sc->ti[k] == c)
				continue;
			t = &s->corrs[sc->ti[k]];
			if ((nr = realloc(t->rev, (t->nrev + 1) * sizeof(*nr))) == NULL) {
				corr_kill(sc, "%s: out of memory", sc->where);
				continue;
			}
			t->rev = nr;
			t->rev[t->nrev++] = c;
		}
	}
	/* A correlation with no tk (dead before linking) must not be walked. */
	for (size_t c = 0; c < s->ncorrs; c++)
		if (s->corrs[c].tk == NULL && !s->corrs[c].dead)
			corr_kill(&s->corrs[c], "%s: out of memory", s->corrs[c].where);
	/*
	 * Fields once what is inert is known (an inert correlation beneath
	 * carries nothing); what that rejects spreads like the rest.
	 */
	set_settle(s);
	for (size_t c = 0; c < s->ncorrs; c++)
		if (!s->corrs[c].dead)
			corr_check_fields(s, &s->corrs[c], &budget);
	if (budget == 0)
		ms_log(MS_LOG_WARN, "sigma field_checks=partial reason=\"chains of correlations too "
		    "many to check\" steps=%d", SET_CHECK_BUDGET);
	set_settle(s);
	/* Before the listeners: whether a twin would raise alerts of its own (twin_find). */
	set_generate(s);
	for (size_t c = 0; c < s->ncorrs; c++) {
		struct set_corr *sc = &s->corrs[c];

		if (sc->dead || sc->inert) {
			report_line(rep, sc->dead ? "rejected" : "inert",
			    sc->why ? sc->why : "out of memory");
			if (sc->dead)
				rep->rejected++;
			else
				rep->inert++;
			continue;
		}
		rep->correlations++;
		/* set_settle's last walk measured every live correlation. */
		if (sc->height > height)
			height = sc->height;
		/* Unbound (out of memory) it still counts, looking names up per feed. */
		if (s->fm != NULL)
			(void)sigma_corr_bind(sc->c, s->fm);
		{
			size_t t = twin_find(s, c);

			/* Out of memory: fed on its own, as any other. */
			if (t != SIZE_MAX && sigma_corr_twin(s->corrs[t].c, sc->c) == 0)
				continue;
		}
		for (size_t k = 0; k < sigma_corr_nrefs(sc->c); k++) {
			int rc = 0;

			if (sc->tk[k] == TGT_RULE) {
				struct set_rule *sr = &s->rules[sc->ti[k]];
				rc = listener_add(&sr->ls, &sr->nls, c, k);
			} else if (sc->tk[k] == TGT_CORR) {
				rc = listener_add(&s->corrs[sc->ti[k]].ls, &s->corrs[sc->ti[k]].nls, c, k);
			}
			if (rc < 0)
				return -1;
		}
	}
	s->max_height = height;
	if (height > 1 && ((s->chain_ev = calloc(1, sizeof(*s->chain_ev))) == NULL ||
	    (s->arena = malloc(SET_ARENA_MAX)) == NULL))
		return -1;
	rep->rules = s->nrules;
	if ((s->matched = calloc(s->nrules ? s->nrules : 1, sizeof(*s->matched))) == NULL)
		return -1;
	return 0;
}

struct sigma_set *
sigma_set_load(const char *path, const struct sigma_set_opts *opts, struct sigma_report *rep,
    char *err, size_t errsz)
{
	struct sigma_set *s;
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->fm = sigma_fieldmap_new()) == NULL) {
		snprintf(err, errsz, "out of memory");
		free(s);
		return NULL;
	}
	if (opts && opts->placeholders && *opts->placeholders &&
	    ms_yaml_parse_file(opts->placeholders, SET_MAX_FILE, &s->ph_docs, &s->ph_ndocs, err,
	    errsz) < 0) {
		sigma_set_free(s);
		return NULL;
	}
	{
		struct set_load_arg la = { s, opts, rep, 0 };
		int rc = sigma_set_walk(path, filter_collect_cb, &la);

		if (rc >= 0)
			rc = sigma_set_walk(path, set_load_cb, &la);
		if (rc < 0) {
			snprintf(err, errsz, "%s: cannot list the rule files: %s", path, strerror(-rc));
			sigma_set_free(s);
			return NULL;
		}
		filters_report(s, rep);
		filters_free(s);
	}
	if (set_resolve(s, rep) < 0) {
		snprintf(err, errsz, "out of memory wiring rules to correlations");
		sigma_set_free(s);
		return NULL;
	}
	/*
	 * The groups' bytes, shared evenly: one correlation sprayed with
	 * group-by values (IPv6 sources, padded paths) takes only its share,
	 * and the others keep their windows.
	 */
	if (s->ncorrs) {
		size_t share = (opts && opts->max_bytes ? opts->max_bytes :
		    SIGMA_SET_DEFAULT_MAX_BYTES) / s->ncorrs;

		if (share < SET_MIN_CORR_BYTES)
			share = SET_MIN_CORR_BYTES;
		for (size_t i = 0; i < s->ncorrs; i++)
			sigma_corr_set_max_bytes(s->corrs[i].c, share);
	}
	return s;
}

void
sigma_set_free(struct sigma_set *s)
{
	if (s == NULL)
		return;
	filters_free(s);
	for (size_t i = 0; i < s->nrules; i++) {
		sigma_rule_free(s->rules[i].r);
		free(s->rules[i].ls);
		free(s->rules[i].where);
	}
	for (size_t i = 0; i < s->ncorrs; i++) {
		sigma_corr_free(s->corrs[i].c);
		free(s->corrs[i].ls);
		free(s->corrs[i].where);
		free(s->corrs[i].why);
		free(s->corrs[i].tk);
		free(s->corrs[i].ti);
		free(s->corrs[i].rev);
	}
	for (size_t i = 0; i < s->ngone; i++) {
		free(s->gone[i].name);
		free(s->gone[i].id);
		free(s->gone[i].where);
	}
	free(s->gone);
	free(s->chain_ev);
	free(s->pend);
	free(s->lvl);
	free(s->pfields);
	free(s->matched);
	free(s->arena);
	for (size_t i = 0; i < SET_LS_CACHE; i++) {
		free(s->routes[i].idx);
		sigma_prefilter_free(s->routes[i].pf);
	}
	free(s->rules);
	free(s->corrs);
	sigma_fieldmap_free(s->fm);
	ms_yaml_docs_free(s->ph_docs, s->ph_ndocs);
	free(s);
}

void
sigma_set_prefilter(struct sigma_set *s, bool on)
{
	s->no_prefilter = !on;
}

size_t
sigma_set_count(const struct sigma_set *s)
{
	return s->nrules + s->ncorrs;
}

const char *
sigma_set_key(const struct sigma_set *s, size_t i)
{
	if (i < s->nrules) {
		const struct sigma_rule *r = s->rules[i].r;
		return *sigma_rule_name(r) ? sigma_rule_name(r) : sigma_rule_id(r);
	}
	i -= s->nrules;
	if (i < s->ncorrs && !s->corrs[i].dead && !s->corrs[i].inert) {
		const struct sigma_corr *c = s->corrs[i].c;
		/* Not the title: titles are not unique, keys label metrics. */
		return *sigma_corr_name(c) ? sigma_corr_name(c) : sigma_corr_id(c);
	}
	return "";
}

int
sigma_set_reset(struct sigma_set *s)
{
	int rc = 0;

	for (size_t i = 0; i < s->ncorrs; i++)
		if (sigma_corr_reset(s->corrs[i].c) < 0)
			rc = -1;
	return rc;
}

bool
sigma_set_alerts(const struct sigma_set *s, size_t i)
{
	if (i < s->nrules)
		return s->rules[i].generate;
	i -= s->nrules;
	return i < s->ncorrs && !s->corrs[i].dead && !s->corrs[i].inert && s->corrs[i].generate;
}

uint64_t
sigma_set_hits(const struct sigma_set *s, size_t i)
{
	if (i < s->nrules)
		return s->rules[i].hits;
	i -= s->nrules;
	return i < s->ncorrs ? s->corrs[i].hits : 0;
}

uint64_t
sigma_set_eval_skipped(const struct sigma_set *s)
{
	return s->eval_skipped;
}

uint64_t
sigma_set_groups_bytes(const struct sigma_set *s)
{
	uint64_t n = 0;

	for (size_t i = 0; s && i < s->ncorrs; i++)
		n += sigma_corr_bytes(s->corrs[i].c);
	return n;
}

uint64_t
sigma_set_chain_dropped(const struct sigma_set *s)
{
	return s->chain_dropped;
}

int
sigma_set_evicted(const struct sigma_set *s, size_t i, uint64_t *out)
{
	if (i < s->nrules || i - s->nrules >= s->ncorrs)
		return -1;
	*out = sigma_corr_evicted(s->corrs[i - s->nrules].c);
	return 0;
}

size_t
sigma_set_groups(const struct sigma_set *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->ncorrs; i++)
		n += sigma_corr_groups(s->corrs[i].c);
	return n;
}

/* --- evaluation ------------------------------------------------------ */

/* Names under which decoders put a source address or a user, in preference order. */
static const char *const ip_fields[] = { "src_ip", "c-ip", "rhost", "SourceIp", "addr",
	"id.orig_h", NULL };
static const char *const user_fields[] = { "user", "User", "cs-username", "acct", NULL };

/*
 * The alert's source address from p/n when it is one (IPv4 or IPv6 text):
 * the fields above are whatever a log line says (an auditd addr="..." or a
 * PAM rhost= may hold spaces, newlines, escape sequences or a host name),
 * and the address goes to the log, the stream's src_ip field and
 * terminals as it is. Returns whether it was taken.
 */
static bool
alert_src_ip(struct alert *a, const char *p, size_t n)
{
	_Static_assert(sizeof(a->src_ip) >= DECODE_IP_MAX, "every address decode_ip takes fits");
	if (!decode_ip(p, n))
		return false;
	memcpy(a->src_ip, p, n);
	a->src_ip[n] = '\0';
	return true;
}

static void
alert_base(struct alert *a, const struct detect_event *ev)
{
	const char *host = ev->host ? ev->host : "";
	const char *agent = ev->agent_id ? ev->agent_id : "";

	alert_reset(a);
	ms_copy(a->agent_id, sizeof(a->agent_id), agent, strlen(agent));
	ms_copy(a->host, sizeof(a->host), host, strlen(host));
	for (const char *const *f = ip_fields; *f; f++) {
		const struct ms_str *v = decode_field_get(ev->d, *f);
		if (v && alert_src_ip(a, v->p, v->len))
			break;
	}
}

struct eval_ctx {
	struct sigma_set *s;
	const struct detect_event *dev;
	const struct sigma_event *sev;
	detect_emit_fn emit;
	void *arg;
	const char *tags[64];
};

static bool
is_user_field(const char *name)
{
	for (const char *const *f = user_fields; *f; f++)
		if (strcmp(name, *f) == 0)
			return true;
	return false;
}

/* Copies p/len into the arena (fixed: the copy stays put); NULL when full. */
static const char *
arena_put(struct sigma_set *s, const char *p, size_t len)
{
	char *q = s->arena + s->arena_len;

	if (len > SET_ARENA_MAX - s->arena_len)
		return NULL;
	if (len > 0)
		memcpy(q, p, len);
	s->arena_len += len;
	return q;
}

static bool
pfield_add(struct sigma_set *s, const char *name, const char *p, size_t len)
{
	struct set_pfield *f;

	if (s->npfields == s->apfields) {
		size_t na = s->apfields ? s->apfields * 2 : 64;
		if (na > SET_PFIELDS_MAX || (f = realloc(s->pfields, na * sizeof(*f))) == NULL)
			return false;
		s->pfields = f;
		s->apfields = na;
	}
	f = &s->pfields[s->npfields++];
	f->name = name;
	f->value = ms_str_make(p, p ? len : 0);
	return true;
}

/*
 * Correlation ci fired (ca): queues, for the correlations listening to
 * it, the event they are to see – dated at the last event of what fired,
 * with the group-by values as fields and, when an event in the window
 * completed it (not a window closed by a later event), that event's own
 * fields after them (a name in both: the group-by value wins), so an
 * outer group-by may read what the inner one did not group by. Its line
 * is the completing line, or the window's latest sample. raw is the event
 * being evaluated.
 */
/* A free slot of the queue, or NULL (counted) when full. */
static struct set_pending *
pend_new(struct sigma_set *s)
{
	struct set_pending *p;

	if (s->npend == s->apend) {
		size_t na = s->apend ? s->apend * 2 : 16;
		if (na > SET_PEND_MAX || (p = realloc(s->pend, na * sizeof(*p))) == NULL)
			return NULL;
		s->pend = p;
		s->apend = na;
	}
	p = &s->pend[s->npend];
	memset(p, 0, sizeof(*p));
	p->order = s->npend;
	return p;
}

static void
chain_drop(struct sigma_set *s, size_t n)
{
	bool first = s->chain_dropped == 0;

	s->chain_dropped += n;
	if (first && n > 0)
		ms_log(MS_LOG_WARN, "sigma chain=dropped reason=\"one event set off too many feeds "
		    "of chained correlations\" max_feeds=%d max_fields=%d max_bytes=%u", SET_PEND_MAX,
		    SET_PFIELDS_MAX, SET_ARENA_MAX);
}

/* A match of a rule by ev for listener l, a correlation of a chain: held. */
static void __attribute__((noinline, cold))
set_defer_direct(struct sigma_set *s, const struct set_listener *l, const struct sigma_event *ev)
{
	struct set_pending *p = pend_new(s);

	if (p == NULL) {
		chain_drop(s, 1);
		return;
	}
	p->corr = l->corr;
	p->ref = l->ref;
	p->height = s->corrs[l->corr].height;
	p->time_ms = ev->time_ms;
	p->serial = ev->serial;
	p->line = ev->line;
	p->direct = true;
	s->npend++;
}

/*
 * Correlation ci fired (ca): queues, for each correlation listening to
 * it, the event it is to see – dated at the last event of what fired,
 * standing for that event (a window decided at close: its own last
 * event, not the one that closed it), with the group-by values as fields
 * and, when an event in the window completed it, that event's own fields
 * after them (a name in both: the group-by value wins), so an outer
 * group-by may read what the inner one did not group by. Its line is the
 * completing line, or the window's latest sample. raw is the event being
 * evaluated.
 */
static void
set_defer(struct sigma_set *s, size_t ci, const struct sigma_corr_alert *ca,
    const struct sigma_event *raw)
{
	const struct set_corr *sc = &s->corrs[ci];
	size_t f0 = s->npfields, mark = s->arena_len, p0 = s->npend;
	const struct decoded *d = ca->last ? ca->last->d : NULL;
	/* Decided at close (agent_id given): ca->last is another window's event. */
	bool live = ca->agent_id == NULL && ca->last && ca->last->time_ms >= ca->first_ms &&
	    ca->last->time_ms <= ca->last_ms;
	/* The event itself (or one of a repeated line's N, which share its fields). */
	bool israw = live && ca->last->d == raw->d;
	struct ms_str line = ca->line.p ? ca->line : ms_str_make("", 0);
	uint64_t serial = live ? ca->last->serial : ca->last_serial;
	const char *agent = NULL, *host = NULL;

	if (serial == 0)
		serial = ++s->serial;	/* not known: an event of its own */
	if (!live || ca->line.p != ca->last->line.p) {
		/* A sample line: in the correlation's buffer, which the next feed may change. */
		if ((line.p = arena_put(s, line.p, line.len)) == NULL)
			goto full;
	}
	for (size_t i = 0; i < ca->ngroup; i++) {
		struct ms_str v = ca->group_values[i];

		/* At close the values may be in a group that is forgotten right after. */
		if (ca->agent_id != NULL && (v.p = arena_put(s, v.p, v.len)) == NULL)
			goto full;
		if (!pfield_add(s, ca->group_names[i], v.p, v.len))
			goto full;
	}
	if (ca->agent_id != NULL) {
		/* Whose window it was, NUL included: the outer correlation's event's origin. */
		const char *h = ca->host ? ca->host : "";

		if ((agent = arena_put(s, ca->agent_id, strlen(ca->agent_id) + 1)) == NULL ||
		    (host = arena_put(s, h, strlen(h) + 1)) == NULL)
			goto full;
	}
	/* A chained event's fields (the raw event's are added when delivered). */
	for (unsigned i = 0; live && !israw && d != NULL && i < d->nfields; i++) {
		if (s->npfields - f0 >= DECODE_MAX_FIELDS)
			break;
		if (!pfield_add(s, d->fields[i].name, d->fields[i].value.p, d->fields[i].value.len))
			goto full;
	}
	for (size_t i = 0; i < sc->nls; i++) {
		struct set_pending *p = pend_new(s);

		if (p == NULL)
			goto full;
		p->corr = sc->ls[i].corr;
		p->ref = sc->ls[i].ref;
		p->height = s->corrs[p->corr].height;
		p->time_ms = ca->last_ms;
		p->serial = serial;
		p->line = line;
		p->f0 = f0;
		p->nf = s->npfields - f0;
		p->raw = israw;
		p->agent = agent;
		p->host = host;
		s->npend++;
	}
	return;
full:
	s->npend = p0;
	s->npfields = f0;
	s->arena_len = mark;
	chain_drop(s, sc->nls);	/* one feed per listener */
}

static void corr_emit_cb(const struct sigma_corr_alert *ca, void *arg);

static int
pend_cmp(const void *a, const void *b)
{
	const struct set_pending *x = a, *y = b;

	if (x->time_ms != y->time_ms)
		return x->time_ms < y->time_ms ? -1 : 1;
	if (x->serial != y->serial)
		return x->serial < y->serial ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Feeds the held feeds, height by height (a correlation of height h is
 * fed only by rules and lower ones, so all of its feeds are queued when
 * its turn comes); those of one height in order of event time, then of
 * the events' arrival. Firings queue feeds of higher heights.
 */
static void
set_deliver(struct eval_ctx *x)
{
	struct sigma_set *s = x->s;

	for (int h = 2; h <= s->max_height && s->npend > 0; h++) {
		size_t n = 0;

		/* Copies: feeding queues more, and may move s->pend. */
		if (s->alvl < s->npend) {
			struct set_pending *nl = realloc(s->lvl, s->npend * sizeof(*nl));
			if (nl == NULL) {
				size_t left = 0;
				for (size_t i = 0; i < s->npend; i++)
					left += s->pend[i].height >= h;
				chain_drop(s, left);
				break;
			}
			s->lvl = nl;
			s->alvl = s->npend;
		}
		for (size_t i = 0; i < s->npend; i++)
			if (s->pend[i].height == h)
				s->lvl[n++] = s->pend[i];
		qsort(s->lvl, n, sizeof(*s->lvl), pend_cmp);
		for (size_t i = 0; i < n; i++) {
			struct set_pending p = s->lvl[i];
			struct sigma_event ev;

			if (p.direct) {
				ev = *x->sev;
				ev.serial = p.serial;
				sigma_corr_feed_fm(s->corrs[p.corr].c, p.ref, &ev, s->fm, corr_emit_cb, x);
				continue;
			}
			decode_reset(s->chain_ev);
			for (size_t k = 0; k < p.nf; k++) {
				const struct set_pfield *f = &s->pfields[p.f0 + k];
				(void)decode_field_add(s->chain_ev, f->name, f->value.p, f->value.len);
			}
			for (unsigned k = 0; p.raw && k < x->dev->d->nfields; k++)
				if (decode_field_add(s->chain_ev, x->dev->d->fields[k].name,
				    x->dev->d->fields[k].value.p, x->dev->d->fields[k].value.len) < 0)
					break;
			s->chain_ev->time_ms = p.time_ms;
			s->chain_ev->repeat = 1;
			memset(&ev, 0, sizeof(ev));
			ev.d = s->chain_ev;
			ev.time_ms = p.time_ms;
			ev.agent_id = p.agent ? p.agent : x->sev->agent_id;
			ev.host = p.agent ? p.host : x->sev->host;
			ev.serial = p.serial;
			ev.line_id = x->sev->line_id;
			ev.line = p.line;
			sigma_corr_feed_fm(s->corrs[p.corr].c, p.ref, &ev, NULL, corr_emit_cb, x);
		}
	}
	s->npend = 0;
	s->npfields = 0;
	s->arena_len = 0;
}

/*
 * A correlation fired: its alert (unless it is a quiet link of a chain),
 * then, as one event, to the correlations listening to it.
 */
static void
corr_emit_cb(const struct sigma_corr_alert *ca, void *arg)
{
	struct eval_ctx *x = arg;
	struct alert *a = &x->s->alert;
	const struct sigma_corr *c = ca->corr;
	struct set_corr *sc = NULL;
	size_t nt;

	for (size_t i = 0; i < x->s->ncorrs && sc == NULL; i++)
		if (x->s->corrs[i].c == c)
			sc = &x->s->corrs[i];
	if (sc == NULL)
		return;
	sc->hits++;
	if (sc->generate) {
		const char *vf = sigma_corr_value_field(c);
		const char *agent = ca->agent_id, *host = ca->host;

		/* Fed through a chain by a window decided at close: that window's origin. */
		if (agent == NULL && ca->last != NULL && ca->last->agent_id != NULL &&
		    ca->last->agent_id != x->sev->agent_id) {
			agent = ca->last->agent_id;
			host = ca->last->host;
		}
		alert_base(a, x->dev);
		if (agent != NULL) {
			/* Not the deciding event's: whose window it was. */
			ms_copy(a->agent_id, sizeof(a->agent_id), agent, strlen(agent));
			ms_copy(a->host, sizeof(a->host), host ? host : "", host ? strlen(host) : 0);
		}
		/*
		 * A source only from the group-by: the deciding event's is one of
		 * the window's, and a distributed attack (five addresses at one
		 * account) named its last address as the attacker.
		 */
		a->src_ip[0] = '\0';
		/* Like a rule without id: the name, else the title. */
		a->rule_id = *sigma_corr_id(c) ? sigma_corr_id(c) :
		    *sigma_corr_name(c) ? sigma_corr_name(c) : sigma_corr_title(c);
		a->rule_name = sigma_corr_name(c);
		a->rule_title = sigma_corr_title(c);
		a->severity = *sigma_corr_level(c) ? sigma_corr_level(c) : "medium";
		a->count = ca->count > UINT32_MAX ? UINT32_MAX : (unsigned)ca->count;
		a->first_ms = ca->first_ms;
		a->last_ms = ca->last_ms;
		for (size_t i = 0; i < ca->nsamples && i < ALERT_MAX_SAMPLES; i++)
			ms_copy(a->samples[a->n_samples++], ALERT_SAMPLE_MAX, ca->samples[i],
			    strlen(ca->samples[i]));
		/*
		 * A group-by on a user field is the alert's user (as one on an
		 * address is its source): a burst of one user's failures names
		 * the user in user.name, not only in group.
		 */
		for (size_t i = 0; i < ca->ngroup && a->n_users < ALERT_MAX_USERS; i++)
			if (is_user_field(ca->group_names[i]) && ca->group_values[i].len > 0)
				ms_copy(a->users[a->n_users++], ALERT_USER_MAX, ca->group_values[i].p,
				    ca->group_values[i].len);
		/* Distinct values counted are users only when the field holds users. */
		for (size_t i = 0; vf && is_user_field(vf) && i < ca->nvalues &&
		    a->n_users < ALERT_MAX_USERS; i++)
			ms_copy(a->users[a->n_users++], ALERT_USER_MAX, ca->values[i],
			    strlen(ca->values[i]));
		a->values_field = ca->nvalues ? vf : NULL;
		a->values = ca->values;
		a->nvalues = ca->nvalues;
		for (size_t i = 0; i < ca->ngroup; i++) {
			/* A group-by on an address is the alert's source. */
			for (const char *const *f = ip_fields; *f; f++)
				if (strcmp(ca->group_names[i], *f) == 0)
					(void)alert_src_ip(a, ca->group_values[i].p,
					    ca->group_values[i].len);
		}
		a->group_names = ca->group_names;
		a->group_values = ca->group_values;
		a->ngroup = ca->ngroup;
		nt = sigma_corr_ntags(c) < MS_ARRAY_LEN(x->tags) ? sigma_corr_ntags(c) :
		    MS_ARRAY_LEN(x->tags);
		for (size_t i = 0; i < nt; i++)
			x->tags[i] = sigma_corr_tag(c, i);
		a->tags = x->tags;
		a->ntags = nt;
		x->emit(a, x->arg);
	}
	/* Chains: for the correlations listening to this one, after the event's own feeds. */
	if (sc->nls && x->s->chain_ev != NULL)
		set_defer(x->s, (size_t)(sc - x->s->corrs), ca, x->sev);
}

/* A "message repeated N times" line stands for N events (bounded). */
#define SET_MAX_REPEAT 1000

/*
 * A match of a rule by ev, for the correlations it feeds: now, or held
 * for a correlation of a chain (set_deliver).
 */
static void
feed_listeners(struct eval_ctx *x, const struct set_listener *ls, size_t n,
    const struct sigma_event *ev, struct sigma_fieldmap *fm)
{
	for (size_t i = 0; i < n; i++) {
		if (x->s->corrs[ls[i].corr].height > 1 && x->s->chain_ev != NULL)
			set_defer_direct(x->s, &ls[i], ev);
		else
			sigma_corr_feed_fm(x->s->corrs[ls[i].corr].c, ls[i].ref, ev, fm, corr_emit_cb, x);
	}
}

static void
rule_alert(struct eval_ctx *x, const struct sigma_rule *r)
{
	struct alert *a = &x->s->alert;
	const struct detect_event *ev = x->dev;
	size_t nt;

	alert_base(a, ev);
	a->rule_id = *sigma_rule_id(r) ? sigma_rule_id(r) : sigma_rule_title(r);
	a->rule_name = sigma_rule_name(r);
	a->rule_title = sigma_rule_title(r);
	a->severity = *sigma_rule_level(r) ? sigma_rule_level(r) : "medium";
	a->count = 1;
	a->first_ms = a->last_ms = ev->d->time_ms;
	ms_copy(a->samples[0], ALERT_SAMPLE_MAX, ev->line.p, ev->line.len);
	a->n_samples = 1;
	for (const char *const *f = user_fields; *f; f++) {
		const struct ms_str *v = decode_field_get(ev->d, *f);
		if (v && v->len) {
			ms_copy(a->users[0], ALERT_USER_MAX, v->p, v->len);
			a->n_users = 1;
			break;
		}
	}
	nt = sigma_rule_ntags(r) < MS_ARRAY_LEN(x->tags) ? sigma_rule_ntags(r) : MS_ARRAY_LEN(x->tags);
	for (size_t i = 0; i < nt; i++)
		x->tags[i] = sigma_rule_tag(r, i);
	a->tags = x->tags;
	a->ntags = nt;
	a->event = ev->d;
	x->emit(a, x->arg);
}

void
sigma_set_eval(struct sigma_set *s, const struct detect_event *ev, detect_emit_fn emit, void *arg)
{
	const struct set_route *rt;
	struct sigma_prefilter *pf;
	struct sigma_event sev;
	struct eval_ctx x;
	const size_t *cand = NULL;
	size_t ncand = SIZE_MAX, nmatched = 0;
	unsigned repeat;

	if (s->nrules == 0)
		return;
	if ((rt = set_route(s, ev->d)) == NULL) {
		/* Out of memory: counted (metrics), logged once; the next event tries again. */
		if (s->eval_skipped++ == 0)
			ms_log(MS_LOG_ERR, "sigma event=eval_skipped reason=\"out of memory building "
			    "a logsource's rule list\" note=\"counted in minisoc_rule_events_skipped_total\"");
		return;
	}
	sev.d = ev->d;
	sev.message = ev->d->msg;
	sev.time_ms = ev->d->time_ms;
	sev.agent_id = ev->agent_id;
	sev.host = ev->host;
	sev.line = ev->line;
	/* A "message repeated N times" line is N events: N serials. */
	repeat = ev->d->repeat > 1 ? (ev->d->repeat < SET_MAX_REPEAT ? ev->d->repeat :
	    SET_MAX_REPEAT) : 1;
	sev.serial = s->serial + 1;
	/* The line: its first event's serial, shared by its N events and what they set off. */
	sev.line_id = sev.serial;
	s->serial += repeat;
	/* Field by field: tags[] is filled before use, no need to clear it per event. */
	x.s = s;
	x.dev = ev;
	x.sev = &sev;
	x.emit = emit;
	x.arg = arg;
	if (s->fm != NULL)
		sigma_fieldmap_next(s->fm);
	pf = s->no_prefilter ? NULL : rt->pf;
	if (pf != NULL) {
		(void)sigma_prefilter_scan(pf, &sev);
		ncand = sigma_prefilter_candidates(pf, &cand);	/* SIZE_MAX: all may match */
	}
	for (size_t k = 0, n = ncand == SIZE_MAX ? rt->n : ncand; k < n; k++) {
		/* Only the candidates, in rule order, so alerts come out as without the filter. */
		size_t i = ncand == SIZE_MAX ? k : cand[k];
		struct set_rule *sr = &s->rules[rt->idx[i]];
		if (!sigma_rule_match_fm(sr->r, &sev, s->fm))
			continue;
		sr->hits++;
		if (sr->generate)
			rule_alert(&x, sr->r);
		if (sr->nls == 0)
			continue;
		if (repeat == 1 || s->matched == NULL)
			feed_listeners(&x, sr->ls, sr->nls, &sev, s->fm);
		else
			s->matched[nmatched++] = rt->idx[i];	/* each rule once: < nrules */
	}
	/*
	 * A "message repeated N times" line is N events, one after the other:
	 * each fed to every correlation its rules feed before the next.
	 */
	for (unsigned k = 0; k < repeat && nmatched > 0; k++) {
		struct sigma_event one = sev;

		one.serial = sev.serial + k;
		for (size_t j = 0; j < nmatched; j++)
			feed_listeners(&x, s->rules[s->matched[j]].ls, s->rules[s->matched[j]].nls, &one,
			    s->fm);
	}
	if (s->npend > 0)
		set_deliver(&x);
}

/* --- as a detector --------------------------------------------------- */

static void
sigma_detector_on_event(void *state, const struct detect_event *ev, detect_emit_fn emit, void *arg)
{
	struct sigma_set **sp = state;
	if (*sp)
		sigma_set_eval(*sp, ev, emit, arg);
}

static void
sigma_detector_free_state(void *state)
{
	struct sigma_set **sp = state;
	if (sp == NULL)
		return;
	sigma_set_free(*sp);
	free(sp);
}

static size_t
sigma_detector_tracked(void *state)
{
	struct sigma_set **sp = state;
	return *sp ? sigma_set_groups(*sp) : 0;
}

struct detector *
sigma_detector_new(struct sigma_set *s)
{
	struct detector *d = calloc(1, sizeof(*d));
	struct sigma_set **sp = calloc(1, sizeof(*sp));

	if (d == NULL || sp == NULL) {
		free(d);
		free(sp);
		sigma_set_free(s);
		return NULL;
	}
	*sp = s;
	d->name = "sigma";
	d->state = sp;
	d->on_event = sigma_detector_on_event;
	d->free = sigma_detector_free_state;
	d->tracked = sigma_detector_tracked;
	return d;
}

const struct sigma_set *
sigma_detector_set(const struct detector *d)
{
	struct sigma_set *const *sp = d->state;

	return *sp;
}

void
sigma_detector_swap(struct detector *d, struct sigma_set *s)
{
	struct sigma_set **sp = d->state;

	sigma_set_free(*sp);
	*sp = s;
}
