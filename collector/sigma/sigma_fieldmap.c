/*
 * sigma_fieldmap – the field names of a set's rules, resolved against an
 * event's fields once per event layout instead of once per item (see
 * sigma_internal.h).
 *
 * Every distinct name a rule item reads gets an id. Decoders name their
 * fields with static strings that never change (decode.h), and events of
 * one kind come with the same names in the same order: the same layout.
 * Where decode_field_get finds a name depends on nothing but the names and
 * their order, so for a layout (its name addresses, compared one by one)
 * the field index it returns for an id is computed once, on first use, and
 * read from a small table for every later event of that layout. An event
 * with a name in its scratch area (a copy whose address another event may
 * reuse with other text) has no layout: its names are looked up as before.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "sigma_internal.h"

#define FM_LAYOUTS	256	/* layouts remembered (a power of two), two per hash */
#define FM_NONE		UINT32_MAX
#define FM_UNKNOWN	(-2)	/* slot not computed yet for this layout */
#define FM_ABSENT	(-1)

struct fm_layout {
	unsigned nf;			/* 0: unused */
	uint32_t used;			/* gen of its last use: the older of two is replaced */
	const char *names[DECODE_MAX_FIELDS];
	int8_t *slot;			/* by id: field index, FM_ABSENT or FM_UNKNOWN */
	size_t nslot;			/* ids it has room for */
};

struct sigma_fieldmap {
	char **names;		/* owned, by id */
	uint32_t *hash;		/* by id */
	size_t n, a;
	uint32_t *slots;	/* open addressing over ids, id+1, 0 = empty */
	size_t nslots;
	/* per event */
	uint32_t gen, filled;
	struct fm_layout *cur;	/* the event's layout; NULL: look names up */
	struct fm_layout layouts[FM_LAYOUTS];
};

static uint32_t
hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static uint32_t
find_name(const struct sigma_fieldmap *fm, const char *name, uint32_t h)
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

static int
rehash(struct sigma_fieldmap *fm, size_t want)
{
	size_t ns = 16;
	uint32_t *t;

	while (ns < want * 2)
		ns *= 2;
	if (ns <= fm->nslots)
		return 0;
	if ((t = calloc(ns, sizeof(*t))) == NULL)
		return -1;
	for (size_t k = 0; k < fm->n; k++) {
		size_t i = fm->hash[k] & (ns - 1);
		while (t[i] != 0)
			i = (i + 1) & (ns - 1);
		t[i] = (uint32_t)k + 1;
	}
	free(fm->slots);
	fm->slots = t;
	fm->nslots = ns;
	return 0;
}

static void
layouts_clear(struct sigma_fieldmap *fm)
{
	for (size_t i = 0; i < FM_LAYOUTS; i++) {
		free(fm->layouts[i].slot);
		fm->layouts[i].slot = NULL;
		fm->layouts[i].nslot = 0;
		fm->layouts[i].nf = 0;
	}
	fm->cur = NULL;
	fm->filled = 0;
}

/* The id of name, added when new; FM_NONE when out of memory. */
static uint32_t
name_add(struct sigma_fieldmap *fm, const char *name)
{
	uint32_t h = hash_name(name), id = find_name(fm, name, h);

	if (id != FM_NONE)
		return id;
	if (fm->n == fm->a) {
		size_t na = fm->a ? fm->a * 2 : 32;
		char **nn = realloc(fm->names, na * sizeof(*nn));
		uint32_t *nh;
		if (nn == NULL)
			return FM_NONE;
		fm->names = nn;
		if ((nh = realloc(fm->hash, na * sizeof(*nh))) == NULL)
			return FM_NONE;
		fm->hash = nh;
		fm->a = na;
	}
	if (rehash(fm, fm->n + 1) < 0 || (fm->names[fm->n] = strdup(name)) == NULL)
		return FM_NONE;
	fm->hash[fm->n] = h;
	{
		size_t i = h & (fm->nslots - 1);
		while (fm->slots[i] != 0)
			i = (i + 1) & (fm->nslots - 1);
		fm->slots[i] = (uint32_t)fm->n + 1;
	}
	/* Layout tables are sized by the ids there were. */
	layouts_clear(fm);
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
	layouts_clear(fm);
	for (size_t i = 0; i < fm->n; i++)
		free(fm->names[i]);
	free(fm->names);
	free(fm->hash);
	free(fm->slots);
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

uint32_t
sigma_fieldmap_id(struct sigma_fieldmap *fm, const char *name)
{
	return name_add(fm, name);
}

void
sigma_fieldmap_next(struct sigma_fieldmap *fm)
{
	/* filled == gen only after a lookup of this event; 0 is never a gen. */
	if (++fm->gen == 0)
		fm->gen = 1;
}

/*
 * d's layout, found or made; NULL when d has a name in its scratch area (or
 * out of memory). Once per event, out of line: sigma_fieldmap_get, called
 * for every item, stays a few instructions.
 */
__attribute__((noinline)) static struct fm_layout *
layout_of(struct sigma_fieldmap *fm, const struct decoded *d)
{
	const char *s0 = d->scratch, *s1 = s0 + sizeof(d->scratch);
	unsigned nf = d->nfields;
	uint64_t h = nf;
	struct fm_layout *l;

	if (nf > DECODE_MAX_FIELDS)
		return NULL;
	/* Count, first and last name: kinds of events differ there. */
	if (nf > 0)
		h = (h ^ (uintptr_t)d->fields[0].name ^ ((uint64_t)(uintptr_t)d->fields[nf - 1].name << 7)) *
		    0x9e3779b97f4a7c15ull;
	/*
	 * Two layouts per hash: a few dozen kinds of events in 256 places
	 * collide often enough (it depends on where the names are loaded),
	 * and two kinds taking turns in one place would rebuild it every event.
	 */
	l = &fm->layouts[(h >> 32) & (FM_LAYOUTS - 2)];
	for (int w = 0; w < 2; w++)
		if (l[w].nf == nf && l[w].slot != NULL) {
			unsigned i = 0;
			while (i < nf && l[w].names[i] == d->fields[i].name)
				i++;
			/* The stored names are never in a scratch area: equal addresses are static names. */
			if (i == nf) {
				l[w].used = fm->gen;
				return &l[w];
			}
		}
	for (unsigned i = 0; i < nf; i++)
		if (d->fields[i].name >= s0 && d->fields[i].name < s1)
			return NULL;
	/* the way used longer ago (gens wrap: compared by distance) */
	if (fm->gen - l[1].used > fm->gen - l[0].used)
		l++;
	l->used = fm->gen;
	if (l->nslot < fm->n) {
		int8_t *t = realloc(l->slot, fm->n ? fm->n : 1);
		if (t == NULL)
			return NULL;
		l->slot = t;
		l->nslot = fm->n;
	}
	if (l->slot == NULL && (l->slot = malloc(1)) == NULL)
		return NULL;
	memset(l->slot, FM_UNKNOWN, l->nslot);
	for (unsigned i = 0; i < nf; i++)
		l->names[i] = d->fields[i].name;
	l->nf = nf;
	return l;
}

/* First lookup of id for layout l: decode_field_get, and where it found it, for next time. */
__attribute__((noinline)) static const struct ms_str *
slot_fill(struct sigma_fieldmap *fm, struct fm_layout *l, const struct decoded *d, uint32_t id)
{
	const struct ms_str *v = decode_field_get(d, fm->names[id]);

	/* value is a member of d->fields[i]: its index, the same for every event of l. */
	l->slot[id] = v == NULL ? FM_ABSENT : (int8_t)(((const char *)v - (const char *)d->fields) /
	    (ptrdiff_t)sizeof(d->fields[0]));
	return v;
}

const struct ms_str *
sigma_fieldmap_get(struct sigma_fieldmap *fm, const struct decoded *d, uint32_t id)
{
	struct fm_layout *l;
	int s;

	if (fm->filled != fm->gen) {
		fm->filled = fm->gen;
		fm->cur = layout_of(fm, d);
	}
	if ((l = fm->cur) == NULL || id >= l->nslot)
		return decode_field_get(d, fm->names[id]);
	if ((s = l->slot[id]) == FM_UNKNOWN)
		return slot_fill(fm, l, d, id);
	return s == FM_ABSENT ? NULL : &d->fields[s].value;
}

size_t
sigma_fieldmap_nnames(const struct sigma_fieldmap *fm)
{
	return fm->n;
}
