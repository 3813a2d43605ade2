/*
 * sigma_fieldmap – the field names of a set's rules, resolved against an
 * event's fields once per event instead of once per item (see
 * sigma_internal.h).
 *
 * Every distinct name a rule item reads gets an id; names equal but for
 * ASCII case share a class. Resolving an event walks its fields once in
 * order and records, per id, the first field with exactly that name and,
 * per class, the first field whose name matches case-insensitively – which
 * is what decode_field_get returns (exact first, then case-insensitive), so
 * a lookup is two array reads. An event's names are mostly a decoder's
 * static strings: their ids are cached by address (decode.h promises such
 * a name never changes); names in the event's scratch area are looked up
 * by hash each time. All per-event arrays are stamped with a generation
 * number instead of being cleared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode.h"
#include "sigma_internal.h"

#define FM_PCACHE_BITS	9
#define FM_PCACHE	(1u << FM_PCACHE_BITS)	/* address cache entries */
#define FM_NONE		UINT32_MAX

struct sigma_fieldmap {
	char **names;		/* owned, by id */
	uint32_t *hash;		/* exact-name hash, by id */
	uint32_t *cls;		/* class of each id */
	size_t n, a;
	uint32_t *slots;	/* open addressing over ids by exact name, id+1, 0 = empty */
	size_t nslots;
	char **cnames;		/* owned, lower-cased, by class */
	uint32_t *chash;
	size_t nc, ac;
	uint32_t *cslots;	/* open addressing over classes, class+1 */
	size_t ncslots;
	/* per event */
	uint32_t gen, filled;
	uint32_t *ex_gen, *ci_gen;
	const struct ms_str **ex_val, **ci_val;
	struct fm_pc {
		const char *name;
		uint32_t id, cls;	/* FM_NONE, FM_NONE: no rule reads this name */
	} pc[FM_PCACHE];
};

static uint32_t
hash_name(const char *s, bool fold)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (fold ? sigma_lower[(unsigned char)*s] : (unsigned char)*s)) * 16777619u;
	return h;
}

static uint32_t
find_exact(const struct sigma_fieldmap *fm, const char *name, uint32_t h)
{
	if (fm->nslots == 0)
		return FM_NONE;
	for (size_t i = h & (fm->nslots - 1);; i = (i + 1) & (fm->nslots - 1)) {
		uint32_t v = fm->slots[i];
		if (v == 0)
			return FM_NONE;
		if (fm->hash[v - 1] == h && strcmp(fm->names[v - 1], name) == 0)
			return v - 1;
	}
}

static uint32_t
find_class(const struct sigma_fieldmap *fm, const char *name, uint32_t h)
{
	if (fm->ncslots == 0)
		return FM_NONE;
	for (size_t i = h & (fm->ncslots - 1);; i = (i + 1) & (fm->ncslots - 1)) {
		uint32_t v = fm->cslots[i];
		if (v == 0)
			return FM_NONE;
		if (fm->chash[v - 1] == h && strcasecmp(fm->cnames[v - 1], name) == 0)
			return v - 1;
	}
}

/* Rebuilds an open-addressing table of n entries with room for at least want. */
static int
rehash(uint32_t **slots, size_t *nslots, const uint32_t *hash, size_t n, size_t want)
{
	size_t ns = 16;
	uint32_t *t;

	while (ns < want * 2)
		ns *= 2;
	if (ns <= *nslots)
		return 0;
	if ((t = calloc(ns, sizeof(*t))) == NULL)
		return -1;
	for (size_t k = 0; k < n; k++) {
		size_t i = hash[k] & (ns - 1);
		while (t[i] != 0)
			i = (i + 1) & (ns - 1);
		t[i] = (uint32_t)k + 1;
	}
	free(*slots);
	*slots = t;
	*nslots = ns;
	return 0;
}

static int
grow_per_event(struct sigma_fieldmap *fm, size_t a, size_t ac)
{
	uint32_t *g;
	const struct ms_str **v;

	/* Stamps of new entries start at 0, never a live generation (gen starts at 1). */
	a = a ? a : 1;
	ac = ac ? ac : 1;
	if ((g = realloc(fm->ex_gen, a * sizeof(*g))) == NULL)
		return -1;
	memset(g + fm->a, 0, (a - fm->a) * sizeof(*g));	/* a > fm->a or equal */
	fm->ex_gen = g;
	if ((v = realloc(fm->ex_val, a * sizeof(*v))) == NULL)
		return -1;
	fm->ex_val = v;
	if ((g = realloc(fm->ci_gen, ac * sizeof(*g))) == NULL)
		return -1;
	memset(g + fm->ac, 0, (ac - fm->ac) * sizeof(*g));
	fm->ci_gen = g;
	if ((v = realloc(fm->ci_val, ac * sizeof(*v))) == NULL)
		return -1;
	fm->ci_val = v;
	return 0;
}

static uint32_t
class_add(struct sigma_fieldmap *fm, const char *name)
{
	uint32_t h = hash_name(name, true), c = find_class(fm, name, h);
	size_t len;
	char *lc;

	if (c != FM_NONE)
		return c;
	if (fm->nc == fm->ac) {
		size_t na = fm->ac ? fm->ac * 2 : 32;
		char **nn = realloc(fm->cnames, na * sizeof(*nn));
		uint32_t *nh;
		if (nn == NULL)
			return FM_NONE;
		fm->cnames = nn;
		if ((nh = realloc(fm->chash, na * sizeof(*nh))) == NULL)
			return FM_NONE;
		fm->chash = nh;
		if (grow_per_event(fm, fm->a, na) < 0)
			return FM_NONE;
		fm->ac = na;
	}
	if (rehash(&fm->cslots, &fm->ncslots, fm->chash, fm->nc, fm->nc + 1) < 0)
		return FM_NONE;
	len = strlen(name);
	if ((lc = malloc(len + 1)) == NULL)
		return FM_NONE;
	for (size_t i = 0; i <= len; i++)
		lc[i] = (char)sigma_lower[(unsigned char)name[i]];
	fm->cnames[fm->nc] = lc;
	fm->chash[fm->nc] = h;
	{
		size_t i = h & (fm->ncslots - 1);
		while (fm->cslots[i] != 0)
			i = (i + 1) & (fm->ncslots - 1);
		fm->cslots[i] = (uint32_t)fm->nc + 1;
	}
	return (uint32_t)fm->nc++;
}

/* The id of name, added when new; FM_NONE when out of memory. */
static uint32_t
name_add(struct sigma_fieldmap *fm, const char *name)
{
	uint32_t h = hash_name(name, false), id = find_exact(fm, name, h), c;

	if (id != FM_NONE)
		return id;
	if ((c = class_add(fm, name)) == FM_NONE)
		return FM_NONE;
	if (fm->n == fm->a) {
		size_t na = fm->a ? fm->a * 2 : 32;
		char **nn = realloc(fm->names, na * sizeof(*nn));
		uint32_t *nh, *ncl;
		if (nn == NULL)
			return FM_NONE;
		fm->names = nn;
		if ((nh = realloc(fm->hash, na * sizeof(*nh))) == NULL)
			return FM_NONE;
		fm->hash = nh;
		if ((ncl = realloc(fm->cls, na * sizeof(*ncl))) == NULL)
			return FM_NONE;
		fm->cls = ncl;
		if (grow_per_event(fm, na, fm->ac) < 0)
			return FM_NONE;
		fm->a = na;
	}
	if (rehash(&fm->slots, &fm->nslots, fm->hash, fm->n, fm->n + 1) < 0)
		return FM_NONE;
	if ((fm->names[fm->n] = strdup(name)) == NULL)
		return FM_NONE;
	fm->hash[fm->n] = h;
	fm->cls[fm->n] = c;
	{
		size_t i = h & (fm->nslots - 1);
		while (fm->slots[i] != 0)
			i = (i + 1) & (fm->nslots - 1);
		fm->slots[i] = (uint32_t)fm->n + 1;
	}
	/* A new name changes what cached addresses resolve to. */
	memset(fm->pc, 0, sizeof(fm->pc));
	return (uint32_t)fm->n++;
}

struct sigma_fieldmap *
sigma_fieldmap_new(void)
{
	struct sigma_fieldmap *fm = calloc(1, sizeof(*fm));

	if (fm != NULL)
		fm->gen = 1;
	return fm;
}

void
sigma_fieldmap_free(struct sigma_fieldmap *fm)
{
	if (fm == NULL)
		return;
	for (size_t i = 0; i < fm->n; i++)
		free(fm->names[i]);
	for (size_t i = 0; i < fm->nc; i++)
		free(fm->cnames[i]);
	free(fm->names);
	free(fm->hash);
	free(fm->cls);
	free(fm->slots);
	free(fm->cnames);
	free(fm->chash);
	free(fm->cslots);
	free(fm->ex_gen);
	free(fm->ci_gen);
	free(fm->ex_val);
	free(fm->ci_val);
	free(fm);
}

int
sigma_fieldmap_bind(struct sigma_fieldmap *fm, struct sigma_rule *r)
{
	for (size_t s = 0; s < r->nsearches; s++)
		for (size_t c = 0; c < r->searches[s].nconjs; c++) {
			struct sigma_conj *cj = &r->searches[s].conjs[c];
			for (size_t i = 0; i < cj->nitems; i++) {
				struct sigma_item *it = &cj->items[i];
				if (it->field != NULL && (it->fid = name_add(fm, it->field)) == FM_NONE)
					goto fail;
			}
		}
	r->fm = fm;
	return 0;
fail:
	/* Unbound, the rule looks its names up per item: slower, same result. */
	r->fm = NULL;
	return -1;
}

void
sigma_fieldmap_next(struct sigma_fieldmap *fm)
{
	if (++fm->gen == 0) {
		memset(fm->ex_gen, 0, fm->a * sizeof(*fm->ex_gen));
		memset(fm->ci_gen, 0, fm->ac * sizeof(*fm->ci_gen));
		fm->gen = 1;
	}
}

/* Out of line: the loop in fill stays small enough to keep its values in registers. */
__attribute__((noinline)) static void
resolve(struct sigma_fieldmap *fm, const char *name, uint32_t *id, uint32_t *cls)
{
	*id = find_exact(fm, name, hash_name(name, false));
	*cls = *id != FM_NONE ? fm->cls[*id] : find_class(fm, name, hash_name(name, true));
}

__attribute__((noinline)) static void
fill(struct sigma_fieldmap *fm, const struct decoded *d)
{
	const char *s0 = d->scratch, *s1 = s0 + sizeof(d->scratch);
	const struct decode_field *f = d->fields;
	unsigned nf = d->nfields;
	/* Locals: the stores below would otherwise reload every pointer of fm. */
	uint32_t gen = fm->gen, *ex_gen = fm->ex_gen, *ci_gen = fm->ci_gen;
	const struct ms_str **ex_val = fm->ex_val, **ci_val = fm->ci_val;
	struct fm_pc *pc = fm->pc;

	fm->filled = gen;
	for (unsigned i = 0; i < nf; i++) {
		const char *name = f[i].name;
		uint32_t id, cls;
		/* Multiplicative: short static names sit a few bytes apart. */
		size_t h = (size_t)(((uint64_t)(uintptr_t)name * 0x9e3779b97f4a7c15ull) >>
		    (64 - FM_PCACHE_BITS));

		/*
		 * Only addresses outside the scratch area are ever cached, and
		 * such a name never changes (decode.h), so a hit needs no range
		 * check.
		 */
		if (pc[h].name == name) {
			id = pc[h].id;
			cls = pc[h].cls;
		} else {
			resolve(fm, name, &id, &cls);
			if (name < s0 || name >= s1) {
				pc[h].name = name;
				pc[h].id = id;
				pc[h].cls = cls;
			}
		}
		if (cls == FM_NONE)
			continue;
		/* First occurrence wins, as in decode_field_get. */
		if (id != FM_NONE && ex_gen[id] != gen) {
			ex_gen[id] = gen;
			ex_val[id] = &f[i].value;
		}
		if (ci_gen[cls] != gen) {
			ci_gen[cls] = gen;
			ci_val[cls] = &f[i].value;
		}
	}
}

const struct ms_str *
sigma_fieldmap_get(struct sigma_fieldmap *fm, const struct decoded *d, uint32_t id)
{
	uint32_t c;

	if (fm->filled != fm->gen)
		fill(fm, d);
	if (fm->ex_gen[id] == fm->gen)
		return fm->ex_val[id];
	c = fm->cls[id];
	return fm->ci_gen[c] == fm->gen ? fm->ci_val[c] : NULL;
}

size_t
sigma_fieldmap_nnames(const struct sigma_fieldmap *fm)
{
	return fm->n;
}
