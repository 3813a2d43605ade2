#include "ms_map.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/*
 * Layout, chosen for lookups that mostly miss the CPU caches (thousands of
 * groups per map, one lookup per event):
 *  - slots: open addressing with linear probing; a slot holds the entry's
 *    id and the low 32 bits of its hash (the tag). A probe compares tags in
 *    the slot array, so only an entry whose tag matches is read; the home
 *    slot is tag & mask, so growth and deletion never read entries.
 *  - entries: fixed-size records in chunks of MAP_CHUNK that never move
 *    (keys and values handed out stay put); keys of up to MAP_INLINE_KEY - 1
 *    bytes live in the record, longer ones in their own allocation.
 *  - the LRU list: links by id in a dense array of 8-byte pairs, so moving
 *    an entry to the newest end touches its neighbours' links there and not
 *    their records.
 * Maps made by ms_map_new_inline keep each value right after its entry in
 * the record (one cache miss less per lookup than a pointer to a separate
 * allocation); records are then cache-line aligned.
 * Ids start at 1 (0 = none); ids of removed entries are reused (a free list
 * through lru[].newer), the memory of the records is given back by
 * ms_map_free.
 */
#define MAP_MIN_SLOTS	16
#define MAP_CHUNK_SHIFT	6
#define MAP_CHUNK	(1u << MAP_CHUNK_SHIFT)
#define MAP_INLINE_KEY	36
#define MAP_MAX_ENTRIES	(UINT32_C(1) << 30)
#define MAP_LINE	64
#define MAP_VSIZE_MAX	(1u << 20)
#define MAP_PREFETCH	(4 * MAP_LINE)	/* inline value bytes prefetched */

struct map_slot {
	uint32_t tag;			/* low 32 bits of the hash */
	uint32_t id;			/* 0 = empty */
};

struct map_ent {
	void *val;			/* inline maps: the value right after the entry */
	char *key;			/* inl or owned; klen bytes + NUL */
	size_t klen;
	uint32_t tag;
	char inl[MAP_INLINE_KEY];
};

/* Inline values start right after the entry: keep it a multiple of 16. */
_Static_assert(sizeof(struct map_ent) % 16 == 0, "map_ent size");

struct map_link {
	uint32_t older, newer;
};

struct ms_map {
	struct map_slot *slots;
	size_t mask;			/* slots - 1, slots a power of two */
	size_t count;
	char **chunks;			/* id - 1 = chunk << MAP_CHUNK_SHIFT | index */
	size_t nchunks;
	size_t achunks;			/* room in chunks[] and, times MAP_CHUNK plus one, lru[] */
	size_t stride;			/* bytes per record: entry + inline value */
	size_t vsize;			/* inline value bytes, 0 = values are pointers */
	struct map_link *lru;		/* [id], achunks * MAP_CHUNK + 1 */
	uint32_t used;			/* ids handed out so far (high-water) */
	uint32_t freeids;		/* free list head */
	uint32_t oldest, newest;	/* LRU ends */
	ms_map_free_fn vfree;
	uint8_t sipkey[16];
};

/* --- SipHash-2-4 (Aumasson & Bernstein), straight from the paper ------ */

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND						\
	do {							\
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0;	\
		v0 = ROTL64(v0, 32);				\
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;	\
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;	\
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2;	\
		v2 = ROTL64(v2, 32);				\
	} while (0)

static uint64_t
load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* SipHash with c compression and d finalisation rounds (inlined per use). */
static inline uint64_t
siphash_cd(const uint8_t k[16], const void *in, size_t len, int c, int d)
{
	const uint8_t *p = in;
	uint64_t k0 = load_le64(k), k1 = load_le64(k + 8);
	uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t left = len & 7;
	const uint8_t *end = p + (len - left);

	for (; p != end; p += 8) {
		m = load_le64(p);
		v3 ^= m;
		for (int r = 0; r < c; r++)
			SIPROUND;
		v0 ^= m;
	}
	/*
	 * The last 0..7 bytes, little-endian, under the length byte; past 8
	 * bytes of input, the last 8 loaded at once and shifted down.
	 */
	if (left > 0 && len >= 8) {
		b |= load_le64(p + left - 8) >> (8 * (8 - left));
	} else {
		for (size_t i = 0; i < left; i++)
			b |= (uint64_t)p[i] << (8 * i);
	}
	v3 ^= b;
	for (int r = 0; r < c; r++)
		SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (int r = 0; r < d; r++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
ms_siphash24(const uint8_t k[16], const void *in, size_t len)
{
	return siphash_cd(k, in, len, 2, 4);
}

uint64_t
ms_siphash13(const uint8_t k[16], const void *in, size_t len)
{
	return siphash_cd(k, in, len, 1, 3);
}

/* --- the map ---------------------------------------------------------- */

static int
map_random_key(uint8_t *k, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(k + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

static inline struct map_ent *
map_ent(const struct ms_map *m, uint32_t id)
{
	return (struct map_ent *)(m->chunks[(id - 1) >> MAP_CHUNK_SHIFT] +
	    ((id - 1) & (MAP_CHUNK - 1)) * m->stride);
}

static struct ms_map *
map_new(size_t vsize, ms_map_free_fn vfree)
{
	struct ms_map *m = NULL;

	if (vsize > MAP_VSIZE_MAX)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto fail;
	m->vfree = vfree;
	m->vsize = vsize;
	m->stride = sizeof(struct map_ent);
	if (vsize > 0)
		m->stride = (sizeof(struct map_ent) + vsize + MAP_LINE - 1) / MAP_LINE * MAP_LINE;
	m->mask = MAP_MIN_SLOTS - 1;
	m->slots = calloc(MAP_MIN_SLOTS, sizeof(*m->slots));
	if (m->slots == NULL)
		goto fail;
	/* Per-map key: knowing one map's layout tells nothing about another's. */
	if (map_random_key(m->sipkey, sizeof(m->sipkey)) < 0)
		goto fail;
	return m;
fail:
	ms_map_free(m);
	return NULL;
}

struct ms_map *
ms_map_new(ms_map_free_fn vfree)
{
	return map_new(0, vfree);
}

struct ms_map *
ms_map_new_inline(size_t vsize, ms_map_free_fn vclear)
{
	return map_new(vsize ? vsize : 1, vclear);
}

static void
ent_clear(struct map_ent *e)
{
	if (e->key != e->inl)
		free(e->key);
	e->key = NULL;
	e->val = NULL;
}

void
ms_map_free(struct ms_map *m)
{
	uint32_t id, next;

	if (m == NULL)
		return;
	for (id = m->oldest; id != 0; id = next) {
		struct map_ent *e = map_ent(m, id);

		next = m->lru[id].newer;
		if (m->vfree)
			m->vfree(e->val);
		ent_clear(e);
	}
	for (size_t i = 0; i < m->nchunks; i++)
		free(m->chunks[i]);
	free(m->chunks);
	free(m->lru);
	free(m->slots);
	free(m);
}

/*
 * SipHash-1-3, as in CPython and Rust's HashMap: the keyed hash against
 * flooding with chosen keys at about 60 % of SipHash-2-4's cost (a
 * lookup per event and correlation hashes a short key each time).
 */
static uint32_t
map_hash(const struct ms_map *m, const void *key, size_t klen)
{
	return (uint32_t)siphash_cd(m->sipkey, key, klen, 1, 3);
}

/*
 * Inline maps: asks for the value's first cache lines while the entry's
 * own line is still on its way (the key compare waits for it anyway), so
 * a caller reading its value finds it in flight instead of waiting for
 * each line in turn. A tag match is nearly always the entry looked for.
 */
static inline void
map_prefetch_value(const struct ms_map *m, const struct map_ent *e)
{
	const char *v = (const char *)e + sizeof(*e);
	size_t n = m->stride - sizeof(*e);

	if (n > MAP_PREFETCH)
		n = MAP_PREFETCH;
	for (size_t off = 0; off < n; off += MAP_LINE)
		__builtin_prefetch(v + off, 1);
}

/*
 * Returns the slot index holding key, or SIZE_MAX. With lru (the caller
 * makes the entry the newest next), the entry's LRU links are asked for
 * along with its record: their line and the neighbours' it names would
 * otherwise be waited for one after the other.
 */
static inline size_t
map_find_lru(const struct ms_map *m, const void *key, size_t klen, uint32_t tag, bool lru)
{
	for (size_t i = tag & m->mask;; i = (i + 1) & m->mask) {
		const struct map_slot *s = &m->slots[i];
		const struct map_ent *e;

		if (s->id == 0)
			return SIZE_MAX;
		if (s->tag != tag)
			continue;
		e = map_ent(m, s->id);
		if (lru)
			__builtin_prefetch(&m->lru[s->id], 1);
		if (m->vsize > 0)
			map_prefetch_value(m, e);
		if (e->klen == klen && (klen == 0 || memcmp(e->key, key, klen) == 0))
			return i;
	}
}

static size_t
map_find(const struct ms_map *m, const void *key, size_t klen, uint32_t tag)
{
	return map_find_lru(m, key, klen, tag, false);
}

/* The slot index holding id (which must be in the map). */
static size_t
map_slot_of(const struct ms_map *m, uint32_t id, uint32_t tag)
{
	size_t i = tag & m->mask;

	while (m->slots[i].id != id)
		i = (i + 1) & m->mask;
	return i;
}

static void
lru_unlink(struct ms_map *m, uint32_t id)
{
	struct map_link *l = &m->lru[id];

	if (l->older)
		m->lru[l->older].newer = l->newer;
	else
		m->oldest = l->newer;
	if (l->newer)
		m->lru[l->newer].older = l->older;
	else
		m->newest = l->older;
	l->older = l->newer = 0;
}

static void
lru_push_newest(struct ms_map *m, uint32_t id)
{
	m->lru[id].newer = 0;
	m->lru[id].older = m->newest;
	if (m->newest)
		m->lru[m->newest].newer = id;
	else
		m->oldest = id;
	m->newest = id;
}

static void
lru_make_newest(struct ms_map *m, uint32_t id)
{
	if (m->newest != id) {
		lru_unlink(m, id);
		lru_push_newest(m, id);
	}
}

/* Places (tag, id) in the first free slot of its probe sequence. */
static void
slot_insert(struct map_slot *slots, size_t mask, uint32_t tag, uint32_t id)
{
	size_t i = tag & mask;

	while (slots[i].id != 0)
		i = (i + 1) & mask;
	slots[i].tag = tag;
	slots[i].id = id;
}

/*
 * Doubles the slot array (kept at most 3/4 full so probes stay short);
 * -1 when out of memory. Reads only the slots: the home of an entry is
 * its tag & mask.
 */
static int
map_grow(struct ms_map *m)
{
	struct map_slot *ns;
	size_t n = m->mask + 1, nn;

	if (n > UINT32_MAX || n > SIZE_MAX / 2 / sizeof(*ns))
		return -1;
	nn = n * 2;
	if ((ns = calloc(nn, sizeof(*ns))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (m->slots[i].id != 0)
			slot_insert(ns, nn - 1, m->slots[i].tag, m->slots[i].id);
	free(m->slots);
	m->slots = ns;
	m->mask = nn - 1;
	return 0;
}

/* A free entry id (its record uninitialised), or 0 when out of memory. */
static uint32_t
id_alloc(struct ms_map *m)
{
	uint32_t id;

	if (m->freeids != 0) {
		id = m->freeids;
		m->freeids = m->lru[id].newer;
		return id;
	}
	if (m->used >= MAP_MAX_ENTRIES)
		return 0;
	if (m->used == m->nchunks * MAP_CHUNK) {
		char *chunk;

		if (m->nchunks == m->achunks) {
			/*
			 * Doubling: the link array of a map of 65,536 groups is
			 * 512 KiB, copied 1,024 times over when it grew by a chunk.
			 */
			size_t na = m->achunks ? m->achunks * 2 : 1;
			size_t links = na * MAP_CHUNK + 1;
			char **nc;
			struct map_link *nl;

			if ((nc = realloc(m->chunks, na * sizeof(*nc))) == NULL)
				return 0;
			m->chunks = nc;
			if ((nl = realloc(m->lru, links * sizeof(*nl))) == NULL)
				return 0;
			m->lru = nl;
			if (m->achunks == 0)
				m->lru[0].older = m->lru[0].newer = 0;
			m->achunks = na;
		}
		if (m->vsize > 0)
			chunk = aligned_alloc(MAP_LINE, MAP_CHUNK * m->stride);
		else
			chunk = malloc(MAP_CHUNK * m->stride);
		if (chunk == NULL)
			return 0;
		m->chunks[m->nchunks++] = chunk;
	}
	return ++m->used;
}

static void
id_release(struct ms_map *m, uint32_t id)
{
	m->lru[id].older = 0;
	m->lru[id].newer = m->freeids;
	m->freeids = id;
}

/*
 * Adds key (absent, with hash tag) as the newest entry; its val is left to
 * the caller. NULL when out of memory.
 */
static struct map_ent *
map_insert(struct ms_map *m, const void *key, size_t klen, uint32_t tag)
{
	struct map_ent *e;
	uint32_t id;
	char *kp = NULL;

	if ((m->count + 1) * 4 > (m->mask + 1) * 3 && map_grow(m) < 0)
		return NULL;
	if (klen >= MAP_INLINE_KEY) {
		if (klen == SIZE_MAX || (kp = malloc(klen + 1)) == NULL)
			return NULL;
	}
	if ((id = id_alloc(m)) == 0) {
		free(kp);
		return NULL;
	}
	e = map_ent(m, id);
	e->key = kp ? kp : e->inl;
	if (klen)
		memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	e->klen = klen;
	e->tag = tag;
	slot_insert(m->slots, m->mask, tag, id);
	lru_push_newest(m, id);
	m->count++;
	return e;
}

void *
ms_map_get(const struct ms_map *m, const void *key, size_t klen)
{
	size_t i = map_find(m, key, klen, map_hash(m, key, klen));

	return i == SIZE_MAX ? NULL : map_ent(m, m->slots[i].id)->val;
}

uint32_t
ms_map_hash(const struct ms_map *m, const void *key, size_t klen)
{
	return map_hash(m, key, klen);
}

void *
ms_map_get_h(const struct ms_map *m, const void *key, size_t klen, uint32_t h)
{
	size_t i = map_find(m, key, klen, h);

	return i == SIZE_MAX ? NULL : map_ent(m, m->slots[i].id)->val;
}

void *
ms_map_touch(struct ms_map *m, const void *key, size_t klen)
{
	return ms_map_touch_h(m, key, klen, map_hash(m, key, klen));
}

void *
ms_map_touch_h(struct ms_map *m, const void *key, size_t klen, uint32_t h)
{
	size_t i = map_find_lru(m, key, klen, h, true);
	uint32_t id;

	if (i == SIZE_MAX)
		return NULL;
	id = m->slots[i].id;
	lru_make_newest(m, id);
	return map_ent(m, id)->val;
}

int
ms_map_put(struct ms_map *m, const void *key, size_t klen, void *val)
{
	uint32_t tag, id;
	size_t i;
	struct map_ent *e;

	if (m->vsize > 0)
		return -1;
	tag = map_hash(m, key, klen);
	i = map_find_lru(m, key, klen, tag, true);
	if (i != SIZE_MAX) {
		void *old;

		id = m->slots[i].id;
		e = map_ent(m, id);
		old = e->val;
		e->val = val;
		lru_make_newest(m, id);
		if (m->vfree && old != val)
			m->vfree(old);
		return 0;
	}
	if ((e = map_insert(m, key, klen, tag)) == NULL)
		return -1;
	e->val = val;
	return 0;
}

void *
ms_map_add(struct ms_map *m, const void *key, size_t klen)
{
	if (m->vsize == 0)
		return NULL;
	return ms_map_add_h(m, key, klen, map_hash(m, key, klen));
}

void *
ms_map_add_h(struct ms_map *m, const void *key, size_t klen, uint32_t tag)
{
	uint32_t id;
	size_t i;
	struct map_ent *e;

	if (m->vsize == 0)
		return NULL;
	if ((i = map_find_lru(m, key, klen, tag, true)) != SIZE_MAX) {
		id = m->slots[i].id;
		lru_make_newest(m, id);
		return map_ent(m, id)->val;
	}
	if ((e = map_insert(m, key, klen, tag)) == NULL)
		return NULL;
	e->val = (char *)e + sizeof(*e);
	memset(e->val, 0, m->vsize);
	return e->val;
}

/*
 * Empties slot i by backward shifting: each later slot of the probe run
 * moves up when its home lies cyclically at or before the hole, so no
 * lookup ever meets a gap before its entry (no tombstones).
 */
static void
slot_delete(struct ms_map *m, size_t i)
{
	size_t j = i;

	for (;;) {
		j = (j + 1) & m->mask;
		if (m->slots[j].id == 0)
			break;
		if (((j - (m->slots[j].tag & m->mask)) & m->mask) >= ((j - i) & m->mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].id = 0;
	m->slots[i].tag = 0;
}

static void
map_remove(struct ms_map *m, size_t slot)
{
	uint32_t id = m->slots[slot].id;
	struct map_ent *e = map_ent(m, id);
	void *val = e->val;

	slot_delete(m, slot);
	lru_unlink(m, id);
	ent_clear(e);
	id_release(m, id);
	m->count--;
	if (m->vfree)
		m->vfree(val);
}

int
ms_map_del(struct ms_map *m, const void *key, size_t klen)
{
	size_t i = map_find(m, key, klen, map_hash(m, key, klen));

	if (i == SIZE_MAX)
		return -1;
	map_remove(m, i);
	return 0;
}

size_t
ms_map_count(const struct ms_map *m)
{
	return m->count;
}

void *
ms_map_lru(const struct ms_map *m, const void **key, size_t *klen)
{
	const struct map_ent *e;

	if (m->oldest == 0)
		return NULL;
	e = map_ent(m, m->oldest);
	if (key)
		*key = e->key;
	if (klen)
		*klen = e->klen;
	return e->val;
}

int
ms_map_del_lru(struct ms_map *m)
{
	if (m->oldest == 0)
		return -1;
	map_remove(m, map_slot_of(m, m->oldest, map_ent(m, m->oldest)->tag));
	return 0;
}

void
ms_map_iter_init(struct ms_map_iter *it)
{
	it->next = 0;
	it->started = 0;
}

void *
ms_map_next(const struct ms_map *m, struct ms_map_iter *it,
    const void **key, size_t *klen)
{
	const struct map_ent *e;
	uint32_t id;

	if (!it->started) {
		it->started = 1;
		it->next = m->oldest;
	}
	id = it->next;
	if (id == 0)
		return NULL;
	/* Remember the successor now so the caller may delete this entry. */
	it->next = m->lru[id].newer;
	e = map_ent(m, id);
	if (key)
		*key = e->key;
	if (klen)
		*klen = e->klen;
	return e->val;
}
