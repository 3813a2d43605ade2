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

/* An item kept for comparison with later ones (its rule lives as long as the map's set). */
struct fm_item {
	struct sigma_item *it;	/* NULL: empty, or dead (its rule was freed) */
	uint32_t hash;
	bool dead;		/* a probe goes on past it */
};

struct sigma_fieldmap {
	struct sigma_fieldmap_hot hot;	/* first: read inline (sigma_internal.h) */
	char **names;		/* owned, by id */
	uint32_t *hash;		/* by id */
	size_t n, a;
	uint32_t *slots;	/* open addressing over ids, id+1, 0 = empty */
	size_t nslots;
	/* items seen by _bind, open addressing (NULL it = empty); memo slots */
	struct fm_item *items;
	size_t nitems, nlive, aitems;	/* used (live or dead), live, slots (a power of two) */
	size_t nshared, ashared;
	/* per event: hot.gen, hot.filled */
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
	fm->hot.filled = 0;
	fm->hot.slot = NULL;
	fm->hot.nslot = 0;
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
		fm->hot.gen = 1;
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
	free(fm->items);
	free(fm->hot.sgen);
	free(fm->hot.sval);
	free(fm);
}

/*
 * Shared items. Two items mean the same when they read the same field (or
 * both the message) with the same flags and the same values, compared
 * as compiled: then their result on an event is the same, and the second
 * one evaluated for an event reads the first one's. Items with a regex or
 * a field reference are left out (a regex's flags are in PCRE2's code;
 * neither is common enough to pay for its comparison).
 */
static uint32_t
mix(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* The hash of it's meaning, or 0 when it is not shareable. */
static uint32_t
item_hash(const struct sigma_item *it)
{
	uint32_t h = 2166136261u;
	uint8_t flags = (uint8_t)(it->all | it->neq << 1 | (it->field == NULL) << 2);

	h = mix(h, &flags, 1);
	if (it->field != NULL)
		h = mix(h, &it->fid, sizeof(it->fid));
	h = mix(h, &it->ngroups, sizeof(it->ngroups));
	for (size_t g = 0; g < it->ngroups; g++) {
		h = mix(h, &it->groups[g].nalts, sizeof(it->groups[g].nalts));
		for (size_t a = 0; a < it->groups[g].nalts; a++) {
			const struct sigma_val *v = &it->groups[g].alts[a];
			uint8_t k = (uint8_t)v->kind;

			h = mix(h, &k, 1);
			switch (v->kind) {
			case SIGMA_V_GLOB:
				h = mix(h, v->u.g.text, v->u.g.len);
				break;
			case SIGMA_V_CIDR:
				h = mix(h, v->u.cidr.addr, sizeof(v->u.cidr.addr));
				break;
			case SIGMA_V_NUM:
			case SIGMA_V_NULL:
			case SIGMA_V_EXISTS:
				break;
			case SIGMA_V_RE:
			case SIGMA_V_FIELDREF:
				return 0;
			}
		}
	}
	return h ? h : 1;
}

static bool
val_same(const struct sigma_val *a, const struct sigma_val *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case SIGMA_V_GLOB:
		if (a->u.g.len != b->u.g.len || a->u.g.mode != b->u.g.mode ||
		    a->u.g.cased != b->u.g.cased || (a->u.g.kind == NULL) != (b->u.g.kind == NULL))
			return false;
		if (a->u.g.len == 0)
			return true;
		return memcmp(a->u.g.text, b->u.g.text, a->u.g.len) == 0 &&
		    (a->u.g.kind == NULL || memcmp(a->u.g.kind, b->u.g.kind, a->u.g.len) == 0);
	case SIGMA_V_CIDR:
		return a->u.cidr.af == b->u.cidr.af && a->u.cidr.prefix == b->u.cidr.prefix &&
		    memcmp(a->u.cidr.addr, b->u.cidr.addr, sizeof(a->u.cidr.addr)) == 0;
	case SIGMA_V_NUM:
		/* i too: integers past 2^53 that round to one double differ */
		return a->u.num.op == b->u.num.op && memcmp(&a->u.num.v, &b->u.num.v,
		    sizeof(a->u.num.v)) == 0 && a->u.num.isint == b->u.num.isint &&
		    a->u.num.big == b->u.num.big && (!a->u.num.isint || a->u.num.i == b->u.num.i);
	case SIGMA_V_NULL:
		return true;
	case SIGMA_V_EXISTS:
		return a->u.exists == b->u.exists;
	case SIGMA_V_RE:
	case SIGMA_V_FIELDREF:
		break;
	}
	return false;
}

static bool
item_same(const struct sigma_item *a, const struct sigma_item *b)
{
	if (a->all != b->all || a->neq != b->neq || (a->field == NULL) != (b->field == NULL) ||
	    (a->field != NULL && a->fid != b->fid) || a->ngroups != b->ngroups)
		return false;
	for (size_t g = 0; g < a->ngroups; g++) {
		if (a->groups[g].nalts != b->groups[g].nalts)
			return false;
		for (size_t k = 0; k < a->groups[g].nalts; k++)
			if (!val_same(&a->groups[g].alts[k], &b->groups[g].alts[k]))
				return false;
	}
	return true;
}

static int
items_grow(struct sigma_fieldmap *fm)
{
	size_t na = fm->aitems ? fm->aitems * 2 : 256;
	struct fm_item *t = calloc(na, sizeof(*t));

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < fm->aitems; i++) {
		size_t k;
		if (fm->items[i].it == NULL)
			continue;	/* empty, or dead: dropped */
		for (k = fm->items[i].hash & (na - 1); t[k].it != NULL; k = (k + 1) & (na - 1))
			;
		t[k] = fm->items[i];
	}
	free(fm->items);
	fm->items = t;
	fm->aitems = na;
	fm->nitems = fm->nlive;
	return 0;
}

/* A new memo slot; 0 when out of memory. */
static uint32_t
shared_add(struct sigma_fieldmap *fm)
{
	if (fm->nshared == fm->ashared) {
		size_t na = fm->ashared ? fm->ashared * 2 : 64;
		uint32_t *g;
		uint8_t *v;

		if (na > UINT32_MAX - 1 || (g = realloc(fm->hot.sgen, na * sizeof(*g))) == NULL)
			return 0;
		fm->hot.sgen = g;
		if ((v = realloc(fm->hot.sval, na)) == NULL)
			return 0;
		fm->hot.sval = v;
		fm->ashared = na;
	}
	/* gen is never 0: a fresh slot is not known for any event. */
	fm->hot.sgen[fm->nshared] = 0;
	fm->hot.sval[fm->nshared] = 0;
	return (uint32_t)++fm->nshared;
}

/*
 * Gives it a memo slot when an item of the same meaning was bound before
 * (both get the slot) and remembers it. Out of memory it simply stays
 * unshared: evaluated on its own, same result.
 */
static void
item_share(struct sigma_fieldmap *fm, struct sigma_item *it)
{
	uint32_t h = item_hash(it);
	size_t k;

	it->sid = 0;
	if (h == 0)
		return;
	if ((fm->nitems + 1) * 2 > fm->aitems && items_grow(fm) < 0)
		return;
	/*
	 * Every item goes in (also one of a meaning already there), so a
	 * like item bound later still finds one when the first has gone.
	 */
	for (k = h & (fm->aitems - 1); fm->items[k].it != NULL || fm->items[k].dead;
	    k = (k + 1) & (fm->aitems - 1)) {
		struct sigma_item *o = fm->items[k].it;
		if (it->sid != 0 || o == NULL || fm->items[k].hash != h || !item_same(o, it))
			continue;
		if (o->sid == 0)
			o->sid = shared_add(fm);
		it->sid = o->sid;
	}
	fm->items[k].it = it;
	fm->items[k].hash = h;
	fm->nitems++;
	fm->nlive++;
}

void
sigma_fieldmap_forget(struct sigma_fieldmap *fm, const struct sigma_rule *r)
{
	for (size_t s = 0; s < r->nsearches; s++)
		for (size_t c = 0; c < r->searches[s].nconjs; c++)
			for (size_t i = 0; i < r->searches[s].conjs[c].nitems; i++) {
				const struct sigma_item *it = &r->searches[s].conjs[c].items[i];
				uint32_t h = item_hash(it);

				if (h == 0 || fm->aitems == 0)
					continue;
				for (size_t k = h & (fm->aitems - 1); fm->items[k].it != NULL ||
				    fm->items[k].dead; k = (k + 1) & (fm->aitems - 1))
					if (fm->items[k].it == it) {
						/* Its memo slot stays with the others that have it. */
						fm->items[k].it = NULL;
						fm->items[k].dead = true;
						fm->nlive--;
						break;
					}
			}
}

int
sigma_fieldmap_bind(struct sigma_fieldmap *fm, struct sigma_rule *r)
{
	/* Bound once per map: a rule bound again (or moved) is first forgotten. */
	if (r->fm != NULL)
		sigma_fieldmap_forget(r->fm, r);
	r->fm = NULL;
	for (size_t s = 0; s < r->nsearches; s++)
		for (size_t c = 0; c < r->searches[s].nconjs; c++) {
			struct sigma_conj *cj = &r->searches[s].conjs[c];
			for (size_t i = 0; i < cj->nitems; i++) {
				struct sigma_item *it = &cj->items[i];
				if (it->field != NULL && (it->fid = name_add(fm, it->field)) == FM_NONE)
					goto fail;
			}
		}
	/* Field ids first: items compare by them. */
	for (size_t s = 0; s < r->nsearches; s++)
		for (size_t c = 0; c < r->searches[s].nconjs; c++)
			for (size_t i = 0; i < r->searches[s].conjs[c].nitems; i++)
				item_share(fm, &r->searches[s].conjs[c].items[i]);
	r->fm = fm;
	return 0;
fail:
	/* Unbound, the rule looks its names up per item: slower, same result. */
	r->fm = NULL;
	return -1;
}

size_t
sigma_fieldmap_nshared(const struct sigma_fieldmap *fm)
{
	return fm->nshared;
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
	if (++fm->hot.gen == 0) {
		fm->hot.gen = 1;
		/* Wrapped: no memo of 2^32 events ago may pass for this event's. */
		if (fm->nshared > 0)
			memset(fm->hot.sgen, 0, fm->nshared * sizeof(*fm->hot.sgen));
		fm->hot.filled = 0;
	}
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
				l[w].used = fm->hot.gen;
				return &l[w];
			}
		}
	for (unsigned i = 0; i < nf; i++)
		if (d->fields[i].name >= s0 && d->fields[i].name < s1)
			return NULL;
	/* the way used longer ago (gens wrap: compared by distance) */
	if (fm->hot.gen - l[1].used > fm->hot.gen - l[0].used)
		l++;
	l->used = fm->hot.gen;
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

/*
 * Everything sigma_fieldmap_get (inline) does not answer itself: the first
 * lookup of an event (its layout), a slot not computed yet, an event
 * without a layout, an id past the layout's table.
 */
const struct ms_str *
sigma_fieldmap_get_slow(struct sigma_fieldmap *fm, const struct decoded *d, uint32_t id)
{
	struct fm_layout *l;
	int s;

	if (fm->hot.filled != fm->hot.gen) {
		fm->hot.filled = fm->hot.gen;
		fm->cur = layout_of(fm, d);
		fm->hot.slot = fm->cur != NULL ? fm->cur->slot : NULL;
		fm->hot.nslot = fm->cur != NULL ? fm->cur->nslot : 0;
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
