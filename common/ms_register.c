#include "ms_register.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_json.h"
#include "ms_map.h"
#include "ms_util.h"
#include "ms_yaml.h"


void
ms_date_civil(int64_t z, int *y, int *m, int *d)
{
	/* H. Hinnant's civil_from_days, the inverse of ms_days_from_civil. */
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int
ms_date_parse(const char *s, int64_t *day)
{
	int y, m, d, yy, mm, dd;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*day = ms_days_from_civil(y, m, d);
	/* 2025-02-30 must not quietly become 2025-03-02. */
	ms_date_civil(*day, &yy, &mm, &dd);
	return yy == y && mm == m && dd == d ? 0 : -1;
}

void
ms_date_fmt(char *dst, size_t dstsz, int64_t day)
{
	int y, m, d;

	if (day == MS_REG_NO_DATE) {
		if (dstsz)
			dst[0] = '\0';
		return;
	}
	ms_date_civil(day, &y, &m, &d);
	snprintf(dst, dstsz, "%04d-%02d-%02d", y, m, d);
}

const char *
ms_reg_dossier_name(enum ms_reg_dossier d)
{
	static const char *const n[] = { "drafting", "submitted", "appraised", "approved" };
	return (unsigned)d < MS_ARRAY_LEN(n) ? n[d] : "?";
}

const char *
ms_reg_impl_name(enum ms_reg_impl i)
{
	static const char *const n[] = { "none", "partial", "full" };
	return (unsigned)i < MS_ARRAY_LEN(n) ? n[i] : "?";
}

const char *
ms_reg_layer_status_name(enum ms_reg_layer_status s)
{
	static const char *const n[] = { "missing", "partial", "active" };
	return (unsigned)s < MS_ARRAY_LEN(n) ? n[s] : "?";
}

/* Index of s in names (n long), or -1. */
static int
enum_index(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static int64_t
get_date(struct ms_yerr *e, const struct ms_yaml_node *map, const char *key, bool required,
    const char *what)
{
	const struct ms_yaml_node *v = ms_yaml_get(map, key);
	int64_t day;

	if (v == NULL || ms_yaml_is_null(v)) {
		if (required)
			ms_yerr_add(e, map->line, "%s: \"%s\" is required", what, key);
		return MS_REG_NO_DATE;
	}
	if (v->type != MS_YAML_SCALAR || ms_date_parse(v->str, &day) < 0) {
		ms_yerr_add(e, v->line, "%s: \"%s\" must be a date YYYY-MM-DD", what, key);
		return MS_REG_NO_DATE;
	}
	return day;
}

static bool
get_bool(struct ms_yerr *e, const struct ms_yaml_node *map, const char *key, bool dflt,
    const char *what)
{
	const struct ms_yaml_node *v = ms_yaml_get(map, key);

	if (v == NULL)
		return dflt;
	if (v->type == MS_YAML_SCALAR && (strcmp(v->str, "true") == 0 || strcmp(v->str, "yes") == 0))
		return true;
	if (v->type == MS_YAML_SCALAR && (strcmp(v->str, "false") == 0 || strcmp(v->str, "no") == 0))
		return false;
	ms_yerr_add(e, v->line, "%s: \"%s\" must be true or false", what, key);
	return dflt;
}

static int
get_enum(struct ms_yerr *e, const struct ms_yaml_node *map, const char *key,
    const char *const *names, size_t n, int dflt, bool required, const char *what)
{
	const struct ms_yaml_node *v = ms_yaml_get(map, key);
	int i;

	if (v == NULL || ms_yaml_is_null(v)) {
		if (required)
			ms_yerr_add(e, map->line, "%s: \"%s\" is required", what, key);
		return dflt;
	}
	if (v->type != MS_YAML_SCALAR || (i = enum_index(v->str, names, n)) < 0) {
		char list[256] = "";
		size_t o = 0;
		for (size_t k = 0; k < n && o < sizeof(list); k++) {
			int w = snprintf(list + o, sizeof(list) - o, "%s%s", k ? ", " : "", names[k]);
			if (w < 0)
				break;
			o += (size_t)w;
		}
		ms_yerr_add(e, v->line, "%s: \"%s\" must be one of: %s", what, key, list);
		return dflt;
	}
	return i;
}

/* Agent ids are certificate CNs: the characters ms_tls accepts, < 128 bytes. */
static bool
agent_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < 128 &&
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@") == n;
}

/* System ids are folder names of the archive: no '/', no leading dot. */
static bool
system_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= 64 && id[0] != '.' &&
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

static const char *const types[] = { "internal", "citizen-facing", "infrastructure",
	"industrial-control" };
static const char *const dossiers[] = { "drafting", "submitted", "appraised", "approved" };
static const char *const impls[] = { "none", "partial", "full" };
static const char *const lstatus[] = { "missing", "partial", "active" };
static const char *const layer_keys[MS_REG_LAYERS] = { "onsite", "monitoring", "inspection",
	"national" };

static void
parse_layers(struct ms_yerr *e, const struct ms_yaml_node *n, struct ms_reg_system *s,
    const char *what)
{
	static const char *const keys[] = { "onsite", "monitoring", "inspection", "national", NULL };
	static const char *const lkeys[] = { "status", "evidence", "valid_until", NULL };

	for (int i = 0; i < MS_REG_LAYERS; i++) {
		s->layers[i].status = MS_REG_LAYER_MISSING;
		s->layers[i].valid_until = MS_REG_NO_DATE;
	}
	if (n == NULL)
		return;
	if (n->type != MS_YAML_MAP) {
		ms_yerr_add(e, n->line, "%s: \"layers\" must be a map (onsite, monitoring, inspection, national)",
		    what);
		return;
	}
	ms_yerr_keys_known(e, n, what, keys);
	for (int i = 0; i < MS_REG_LAYERS; i++) {
		const struct ms_yaml_node *l = ms_yaml_get(n, layer_keys[i]);
		char w[160];

		if (l == NULL)
			continue;
		snprintf(w, sizeof(w), "%s: layers.%s", what, layer_keys[i]);
		if (l->type != MS_YAML_MAP) {
			ms_yerr_add(e, l->line, "%s must be a map", w);
			continue;
		}
		ms_yerr_keys_known(e, l, w, lkeys);
		s->layers[i].status = get_enum(e, l, "status", lstatus, MS_ARRAY_LEN(lstatus),
		    MS_REG_LAYER_MISSING, true, w);
		s->layers[i].evidence = ms_yerr_str(e, l, "evidence", false, w);
		s->layers[i].valid_until = get_date(e, l, "valid_until", false, w);
		if (s->layers[i].status != MS_REG_LAYER_MISSING && (i == 0 || i == 2) &&
		    (s->layers[i].evidence == NULL || s->layers[i].valid_until == MS_REG_NO_DATE))
			ms_yerr_add(e, l->line, "%s: an attested layer needs \"evidence\" and \"valid_until\"", w);
	}
}

static void
parse_assets(struct ms_yerr *e, struct ms_register *r, const struct ms_yaml_node *n,
    struct ms_reg_system *s, const char *what)
{
	static const char *const keys[] = { "host", "agent", "role", NULL };
	static const char *const roles[] = { "server", "sensor" };

	if (n == NULL || ms_yaml_is_null(n))
		return;
	if (n->type != MS_YAML_SEQ) {
		ms_yerr_add(e, n->line, "%s: \"assets\" must be a list", what);
		return;
	}
	if ((s->assets = calloc(n->n ? n->n : 1, sizeof(*s->assets))) == NULL) {
		ms_yerr_add(e, n->line, "out of memory");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ms_yaml_node *a = n->items[i];
		struct ms_reg_asset *as = &s->assets[s->nassets];
		const struct ms_reg_system *other;
		char w[160];

		snprintf(w, sizeof(w), "%s: asset %zu", what, i + 1);
		if (a->type != MS_YAML_MAP) {
			ms_yerr_add(e, a->line, "%s must be a map (host, agent, role)", w);
			continue;
		}
		ms_yerr_keys_known(e, a, w, keys);
		as->host = ms_yerr_str(e, a, "host", true, w);
		as->agent = ms_yerr_str(e, a, "agent", false, w);
		as->sensor = get_enum(e, a, "role", roles, MS_ARRAY_LEN(roles), 0, false, w) == 1;
		s->nassets++;
		if (as->agent == NULL)
			continue;
		if (!agent_id_ok(as->agent)) {
			ms_yerr_add(e, ms_yaml_get(a, "agent")->line,
			    "%s: agent \"%.128s\" is not a certificate CN (letters, digits, . - _ @; < 128 bytes)",
			    w, as->agent);
			continue;
		}
		if ((other = ms_map_get(r->by_agent, as->agent, strlen(as->agent))) != NULL) {
			ms_yerr_add(e, ms_yaml_get(a, "agent")->line,
			    "%s: agent \"%s\" is already an asset of %s (line %d); an agent belongs to one system",
			    w, as->agent, other->id ? other->id : "?", other->line);
			continue;
		}
		/* Systems never move in memory once the array is allocated. */
		if (ms_map_put(r->by_agent, as->agent, strlen(as->agent), s) < 0)
			ms_yerr_add(e, a->line, "out of memory");
	}
}

static void
parse_attest(struct ms_yerr *e, const struct ms_yaml_node *n, struct ms_reg_system *s,
    const char *what)
{
	static const char *const keys[] = { "ref", "valid_until", NULL };

	if (n == NULL || ms_yaml_is_null(n))
		return;
	if (n->type != MS_YAML_MAP) {
		ms_yerr_add(e, n->line, "%s: \"attestations\" must be a map of requirement id -> {ref, valid_until}",
		    what);
		return;
	}
	if ((s->attest = calloc(n->n ? n->n : 1, sizeof(*s->attest))) == NULL) {
		ms_yerr_add(e, n->line, "out of memory");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ms_yaml_node *a = n->pairs[i].value;
		char w[256];

		snprintf(w, sizeof(w), "%.120s: attestations.%.64s", what, n->pairs[i].key);
		if (a->type != MS_YAML_MAP) {
			ms_yerr_add(e, a->line, "%s must be a map (ref, valid_until)", w);
			continue;
		}
		ms_yerr_keys_known(e, a, w, keys);
		s->attest[s->nattest].requirement = n->pairs[i].key;
		s->attest[s->nattest].ref = ms_yerr_str(e, a, "ref", true, w);
		s->attest[s->nattest].valid_until = get_date(e, a, "valid_until", true, w);
		s->nattest++;
	}
}

static void
parse_system(struct ms_yerr *e, struct ms_register *r, const struct ms_yaml_node *n,
    struct ms_reg_system *s)
{
	static const char *const keys[] = { "id", "name", "type", "info_classes", "users",
		"national_population_db", "owner", "security_unit", "operator", "contact",
		"framework", "level", "dossier", "decision", "plan", "assessment", "layers",
		"attestations", "assets", NULL };
	static const char *const dkeys[] = { "number", "date", NULL };
	static const char *const pkeys[] = { "approved", "implementation", "target", NULL };
	static const char *const akeys[] = { "last", "assessor", "pentest", NULL };
	static const char *const frameworks[] = { "old", "new" };
	const struct ms_yaml_node *v;
	const struct ms_reg_system *dup;
	char what[128];
	int64_t lvl;

	s->line = n->line;
	s->users = -1;
	s->decision_date = s->plan_target = s->assessed = s->pentest = MS_REG_NO_DATE;
	if (n->type != MS_YAML_MAP) {
		ms_yerr_add(e, n->line, "a system must be a map");
		return;
	}
	snprintf(what, sizeof(what), "system");
	s->id = ms_yerr_str(e, n, "id", true, what);
	if (s->id) {
		snprintf(what, sizeof(what), "system %.64s", s->id);
		if (!system_id_ok(s->id))
			ms_yerr_add(e, ms_yaml_get(n, "id")->line,
			    "%s: the id may hold letters, digits, . - _ (at most 64, not starting with .)", what);
		else if ((dup = ms_map_get(r->by_id, s->id, strlen(s->id))) != NULL)
			ms_yerr_add(e, ms_yaml_get(n, "id")->line, "%s: duplicate id (first at line %d)", what,
			    dup->line);
		else if (ms_map_put(r->by_id, s->id, strlen(s->id), s) < 0)
			ms_yerr_add(e, n->line, "out of memory");
	}
	ms_yerr_keys_known(e, n, what, keys);
	s->name = ms_yerr_str(e, n, "name", true, what);
	s->type = types[get_enum(e, n, "type", types, MS_ARRAY_LEN(types), 0, true, what)];
	if ((v = ms_yaml_get(n, "info_classes")) != NULL) {
		if (v->type != MS_YAML_SEQ) {
			ms_yerr_add(e, v->line, "%s: \"info_classes\" must be a list", what);
		} else if ((s->info_classes = calloc(v->n ? v->n : 1, sizeof(char *))) != NULL) {
			for (size_t i = 0; i < v->n; i++) {
				if (v->items[i]->type != MS_YAML_SCALAR || v->items[i]->len == 0)
					ms_yerr_add(e, v->items[i]->line, "%s: info_classes: strings only", what);
				else
					s->info_classes[s->ninfo++] = v->items[i]->str;
			}
		}
	}
	if ((v = ms_yaml_get(n, "users")) != NULL &&
	    (v->type != MS_YAML_SCALAR || ms_parse_i64(v->str, 0, INT64_MAX / 2, &s->users) < 0))
		ms_yerr_add(e, v->line, "%s: \"users\" must be a whole number >= 0", what);
	s->national_db = get_bool(e, n, "national_population_db", false, what);
	s->owner = ms_yerr_str(e, n, "owner", true, what);
	s->security_unit = ms_yerr_str(e, n, "security_unit", false, what);
	s->operator_name = ms_yerr_str(e, n, "operator", true, what);
	s->contact = ms_yerr_str(e, n, "contact", false, what);
	s->framework = frameworks[get_enum(e, n, "framework", frameworks, MS_ARRAY_LEN(frameworks),
	    1, true, what)];
	v = ms_yaml_get(n, "level");
	if (v == NULL)
		ms_yerr_add(e, n->line, "%s: \"level\" is required", what);
	else if (v->type != MS_YAML_SCALAR || ms_parse_i64(v->str, 1, 5, &lvl) < 0)
		ms_yerr_add(e, v->line, "%s: \"level\" must be 1 to 5", what);
	else
		s->level = (int)lvl;
	if (s->national_db && s->level && s->level < 3)
		ms_yerr_add(e, v->line, "%s: connected to the national population database: level 3 or higher",
		    what);
	s->dossier = get_enum(e, n, "dossier", dossiers, MS_ARRAY_LEN(dossiers), 0, true, what);
	if ((v = ms_yaml_get(n, "decision")) != NULL && !ms_yaml_is_null(v)) {
		if (v->type != MS_YAML_MAP) {
			ms_yerr_add(e, v->line, "%s: \"decision\" must be a map (number, date)", what);
		} else {
			ms_yerr_keys_known(e, v, what, dkeys);
			s->decision_number = ms_yerr_str(e, v, "number", true, what);
			s->decision_date = get_date(e, v, "date", true, what);
		}
	}
	if (s->dossier == MS_REG_APPROVED && s->decision_number == NULL)
		ms_yerr_add(e, n->line, "%s: an approved level needs \"decision\" (number, date)", what);
	if ((v = ms_yaml_get(n, "plan")) != NULL && !ms_yaml_is_null(v)) {
		if (v->type != MS_YAML_MAP) {
			ms_yerr_add(e, v->line, "%s: \"plan\" must be a map (approved, implementation, target)", what);
		} else {
			ms_yerr_keys_known(e, v, what, pkeys);
			s->plan_approved = get_bool(e, v, "approved", false, what);
			s->plan_impl = get_enum(e, v, "implementation", impls, MS_ARRAY_LEN(impls), 0, false,
			    what);
			s->plan_target = get_date(e, v, "target", false, what);
			if (!s->plan_approved && s->plan_impl != MS_REG_IMPL_NONE)
				ms_yerr_add(e, v->line, "%s: a plan that is not approved cannot be implemented", what);
		}
	}
	if ((v = ms_yaml_get(n, "assessment")) != NULL && !ms_yaml_is_null(v)) {
		if (v->type != MS_YAML_MAP) {
			ms_yerr_add(e, v->line, "%s: \"assessment\" must be a map (last, assessor, pentest)", what);
		} else {
			ms_yerr_keys_known(e, v, what, akeys);
			s->assessed = get_date(e, v, "last", false, what);
			s->assessor = ms_yerr_str(e, v, "assessor", s->assessed != MS_REG_NO_DATE, what);
			s->pentest = get_date(e, v, "pentest", false, what);
		}
	}
	parse_layers(e, ms_yaml_get(n, "layers"), s, what);
	parse_attest(e, ms_yaml_get(n, "attestations"), s, what);
	parse_assets(e, r, ms_yaml_get(n, "assets"), s, what);
}

void
ms_register_free(struct ms_register *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->systems[i].info_classes);
		free(r->systems[i].assets);
		free(r->systems[i].attest);
	}
	free(r->systems);
	free(r->sensors);
	ms_map_free(r->by_agent);
	ms_map_free(r->by_id);
	ms_yaml_docs_free(r->docs, r->ndocs);
	free(r->path);
	free(r);
}

struct ms_register *
ms_register_parse(const char *name, const char *data, size_t len, char *err, size_t errsz)
{
	static const char *const keys[] = { "province", "organisation", "sensors", "systems", NULL };
	struct ms_yerr e;

	ms_yerr_init(&e, name, err, errsz);
	struct ms_register *r = NULL;
	const struct ms_yaml_node *root, *list, *v;
	char why[512];

	if (errsz)
		err[0] = '\0';
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->path = strdup(name)) == NULL ||
	    (r->by_agent = ms_map_new(NULL)) == NULL || (r->by_id = ms_map_new(NULL)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		goto fail;
	}
	if (ms_yaml_parse(data, len, &r->docs, &r->ndocs, why, sizeof(why)) < 0) {
		/* ms_yaml says "line L col C: reason"; we say "file:L: reason (col C)". */
		int line = 0, col = 0, off = 0;
		if (sscanf(why, "line %d col %d: %n", &line, &col, &off) == 2 && off > 0)
			snprintf(err, errsz, "%s:%d: %s (column %d)", name, line, why + off, col);
		else
			snprintf(err, errsz, "%s:0: %s", name, why);
		goto fail;
	}
	if (r->ndocs != 1 || (root = r->docs[0])->type != MS_YAML_MAP) {
		snprintf(err, errsz, "%s:1: the register is one YAML map (province, organisation, "
		    "sensors, systems)", name);
		goto fail;
	}
	ms_yerr_keys_known(&e, root, "register", keys);
	r->province = ms_yerr_str(&e, root, "province", false, "register");
	r->organisation = ms_yerr_str(&e, root, "organisation", false, "register");
	if ((v = ms_yaml_get(root, "sensors")) != NULL && !ms_yaml_is_null(v)) {
		if (v->type != MS_YAML_SEQ || (r->sensors = calloc(v->n + 1, sizeof(char *))) == NULL) {
			ms_yerr_add(&e, v->line, "register: \"sensors\" must be a list of agent ids");
		} else {
			for (size_t i = 0; i < v->n; i++) {
				if (v->items[i]->type != MS_YAML_SCALAR || !agent_id_ok(v->items[i]->str))
					ms_yerr_add(&e, v->items[i]->line, "register: sensors: not an agent id");
				else
					r->sensors[r->nsensors++] = v->items[i]->str;
			}
		}
	}
	list = ms_yaml_get(root, "systems");
	if (list == NULL || list->type != MS_YAML_SEQ) {
		ms_yerr_add(&e, list ? list->line : root->line, "register: \"systems\" must be a list");
		goto done;
	}
	if ((r->systems = calloc(list->n ? list->n : 1, sizeof(*r->systems))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		goto fail;
	}
	for (size_t i = 0; i < list->n; i++)
		parse_system(&e, r, list->items[i], &r->systems[r->n++]);
done:
	if (e.n > 0) {
		if (e.n > 1 && e.used + 64 < e.sz)
			snprintf(err + e.used, errsz - e.used, "\n%s: %u problems", name, e.n);
		goto fail;
	}
	return r;
fail:
	ms_register_free(r);
	return NULL;
}

struct ms_register *
ms_register_load(const char *path, char *err, size_t errsz)
{
	char why[256];
	size_t n;
	char *data = ms_yaml_read_file(path, MS_REG_MAX_SIZE, &n, why, sizeof(why));
	struct ms_register *r;

	if (data == NULL) {
		snprintf(err, errsz, "%s:0: %s", path, why);
		return NULL;
	}
	r = ms_register_parse(path, data, n, err, errsz);
	free(data);
	return r;
}

const struct ms_reg_system *
ms_register_find_agent(const struct ms_register *r, const char *agent)
{
	if (r == NULL || agent == NULL)
		return NULL;
	return ms_map_get(r->by_agent, agent, strlen(agent));
}

const struct ms_reg_system *
ms_register_find(const struct ms_register *r, const char *id)
{
	if (r == NULL || id == NULL)
		return NULL;
	return ms_map_get(r->by_id, id, strlen(id));
}

const char *
ms_reg_layer_key(int l)
{
	return l >= 0 && l < MS_REG_LAYERS ? layer_keys[l] : "";
}

void
ms_reg_json_layers(struct ms_json *j, const struct ms_reg_system *s, int64_t today)
{
	ms_json_key(j, "layers");
	ms_json_obj_open(j);
	for (int l = 0; l < MS_REG_LAYERS; l++) {
		ms_json_key(j, layer_keys[l]);
		ms_json_obj_open(j);
		ms_json_kv_str(j, "status", ms_reg_layer_status_name(s->layers[l].status));
		ms_json_kv_str(j, "evidence", s->layers[l].evidence);
		ms_reg_json_date(j, "valid_until", s->layers[l].valid_until);
		if (today >= 0) {
			ms_json_key(j, "expired");
			ms_json_bool(j, s->layers[l].valid_until != MS_REG_NO_DATE &&
			    s->layers[l].valid_until < today);
		}
		ms_json_obj_close(j);
	}
	ms_json_obj_close(j);
}

void
ms_reg_json_date(struct ms_json *j, const char *k, int64_t day)
{
	char d[16];

	ms_json_key(j, k);
	if (day == MS_REG_NO_DATE) {
		ms_json_null(j);
		return;
	}
	ms_date_fmt(d, sizeof(d), day);
	ms_json_str(j, d);
}

void
ms_register_system_json(struct ms_json *j, const struct ms_reg_system *s)
{
	size_t agents = 0;

	ms_json_obj_open(j);
	ms_json_kv_str(j, "id", s->id);
	ms_json_kv_str(j, "name", s->name);
	ms_json_kv_str(j, "type", s->type);
	ms_json_kv_str(j, "owner", s->owner);
	ms_json_kv_str(j, "security_unit", s->security_unit);
	ms_json_kv_str(j, "operator", s->operator_name);
	ms_json_kv_str(j, "framework", s->framework);
	ms_json_key(j, "level");
	ms_json_int(j, s->level);
	ms_json_kv_str(j, "dossier", ms_reg_dossier_name(s->dossier));
	ms_json_key(j, "decision");
	if (s->decision_number) {
		ms_json_obj_open(j);
		ms_json_kv_str(j, "number", s->decision_number);
		ms_reg_json_date(j, "date", s->decision_date);
		ms_json_obj_close(j);
	} else {
		ms_json_null(j);
	}
	ms_json_key(j, "plan");
	ms_json_obj_open(j);
	ms_json_key(j, "approved");
	ms_json_bool(j, s->plan_approved);
	ms_json_kv_str(j, "implementation", ms_reg_impl_name(s->plan_impl));
	ms_reg_json_date(j, "target", s->plan_target);
	ms_json_obj_close(j);
	ms_reg_json_date(j, "last_assessment", s->assessed);
	ms_reg_json_layers(j, s, -1);
	ms_json_key(j, "assets");
	ms_json_int(j, (int64_t)s->nassets);
	/* The ids let a reader count the system's agents that are online. */
	ms_json_key(j, "agent_ids");
	ms_json_arr_open(j);
	for (size_t i = 0; i < s->nassets; i++)
		if (s->assets[i].agent) {
			ms_json_str(j, s->assets[i].agent);
			agents++;
		}
	ms_json_arr_close(j);
	ms_json_key(j, "agents");
	ms_json_int(j, (int64_t)agents);
	ms_json_obj_close(j);
}
