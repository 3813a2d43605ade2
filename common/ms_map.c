#include "ms_map.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MAP_MIN_BUCKETS 16

struct ms_map_entry {
	struct ms_map_entry *chain;	/* next in the bucket */
	struct ms_map_entry *older;	/* LRU list: towards the least recent */
	struct ms_map_entry *newer;
	void *val;
	uint64_t hash;
	size_t klen;
	char key[];			/* klen bytes + NUL */
};

struct ms_map {
	struct ms_map_entry **buckets;
	size_t nbuckets;		/* power of two */
	size_t count;
	struct ms_map_entry *oldest;	/* LRU head */
	struct ms_map_entry *newest;	/* MRU tail */
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

uint64_t
ms_siphash24(const uint8_t k[16], const void *in, size_t len)
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
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	/* The last 0..7 bytes, little-endian, under the length byte. */
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
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

struct ms_map *
ms_map_new(ms_map_free_fn vfree)
{
	struct ms_map *m = NULL;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto fail;
	m->vfree = vfree;
	m->nbuckets = MAP_MIN_BUCKETS;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (m->buckets == NULL)
		goto fail;
	/* Per-map key: knowing one map's layout tells nothing about another's. */
	if (map_random_key(m->sipkey, sizeof(m->sipkey)) < 0)
		goto fail;
	return m;
fail:
	ms_map_free(m);
	return NULL;
}

void
ms_map_free(struct ms_map *m)
{
	struct ms_map_entry *e, *next;

	if (m == NULL)
		return;
	for (e = m->oldest; e != NULL; e = next) {
		next = e->newer;
		if (m->vfree)
			m->vfree(e->val);
		free(e);
	}
	free(m->buckets);
	free(m);
}

static struct ms_map_entry *
map_find(const struct ms_map *m, const void *key, size_t klen, uint64_t h,
    struct ms_map_entry ***linkp)
{
	struct ms_map_entry **link = &m->buckets[h & (m->nbuckets - 1)];

	for (; *link != NULL; link = &(*link)->chain) {
		struct ms_map_entry *e = *link;
		if (e->hash == h && e->klen == klen &&
		    (klen == 0 || memcmp(e->key, key, klen) == 0)) {
			if (linkp)
				*linkp = link;
			return e;
		}
	}
	return NULL;
}

static void
lru_unlink(struct ms_map *m, struct ms_map_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		m->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		m->newest = e->older;
	e->older = e->newer = NULL;
}

static void
lru_push_newest(struct ms_map *m, struct ms_map_entry *e)
{
	e->newer = NULL;
	e->older = m->newest;
	if (m->newest)
		m->newest->newer = e;
	else
		m->oldest = e;
	m->newest = e;
}

/* Doubles the table; on allocation failure keeps the old one (still correct). */
static void
map_grow(struct ms_map *m)
{
	struct ms_map_entry **nb, *e;
	size_t nn;

	if (m->nbuckets > SIZE_MAX / 2 / sizeof(*nb))
		return;
	nn = m->nbuckets * 2;
	nb = calloc(nn, sizeof(*nb));
	if (nb == NULL)
		return;
	for (e = m->oldest; e != NULL; e = e->newer) {
		size_t i = e->hash & (nn - 1);
		e->chain = nb[i];
		nb[i] = e;
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = nn;
}

void *
ms_map_get(const struct ms_map *m, const void *key, size_t klen)
{
	struct ms_map_entry *e;

	e = map_find(m, key, klen, ms_siphash24(m->sipkey, key, klen), NULL);
	return e ? e->val : NULL;
}

void *
ms_map_touch(struct ms_map *m, const void *key, size_t klen)
{
	struct ms_map_entry *e;

	e = map_find(m, key, klen, ms_siphash24(m->sipkey, key, klen), NULL);
	if (e == NULL)
		return NULL;
	if (m->newest != e) {
		lru_unlink(m, e);
		lru_push_newest(m, e);
	}
	return e->val;
}

int
ms_map_put(struct ms_map *m, const void *key, size_t klen, void *val)
{
	uint64_t h = ms_siphash24(m->sipkey, key, klen);
	struct ms_map_entry *e, **bucket;
	void *old;

	e = map_find(m, key, klen, h, NULL);
	if (e != NULL) {
		old = e->val;
		e->val = val;
		if (m->newest != e) {
			lru_unlink(m, e);
			lru_push_newest(m, e);
		}
		if (m->vfree && old != val)
			m->vfree(old);
		return 0;
	}
	if (klen > SIZE_MAX - sizeof(*e) - 1)
		return -1;
	e = malloc(sizeof(*e) + klen + 1);
	if (e == NULL)
		return -1;
	e->val = val;
	e->hash = h;
	e->klen = klen;
	if (klen)
		memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	if (m->count >= m->nbuckets)
		map_grow(m);
	bucket = &m->buckets[h & (m->nbuckets - 1)];
	e->chain = *bucket;
	*bucket = e;
	lru_push_newest(m, e);
	m->count++;
	return 0;
}

static void
map_remove(struct ms_map *m, struct ms_map_entry *e, struct ms_map_entry **link)
{
	*link = e->chain;
	lru_unlink(m, e);
	m->count--;
	if (m->vfree)
		m->vfree(e->val);
	free(e);
}

int
ms_map_del(struct ms_map *m, const void *key, size_t klen)
{
	struct ms_map_entry *e, **link = NULL;

	e = map_find(m, key, klen, ms_siphash24(m->sipkey, key, klen), &link);
	if (e == NULL)
		return -1;
	map_remove(m, e, link);
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
	struct ms_map_entry *e = m->oldest;

	if (e == NULL)
		return NULL;
	if (key)
		*key = e->key;
	if (klen)
		*klen = e->klen;
	return e->val;
}

int
ms_map_del_lru(struct ms_map *m)
{
	struct ms_map_entry *e = m->oldest, **link = NULL;

	if (e == NULL)
		return -1;
	/* Finds the link to e in its bucket (chains are short). */
	if (map_find(m, e->key, e->klen, e->hash, &link) != e)
		return -1;
	map_remove(m, e, link);
	return 0;
}

void
ms_map_iter_init(struct ms_map_iter *it)
{
	it->next = NULL;
	it->started = 0;
}

void *
ms_map_next(const struct ms_map *m, struct ms_map_iter *it,
    const void **key, size_t *klen)
{
	struct ms_map_entry *e;

	if (!it->started) {
		it->started = 1;
		it->next = m->oldest;
	}
	e = it->next;
	if (e == NULL)
		return NULL;
	/* Remember the successor now so the caller may delete e. */
	it->next = e->newer;
	if (key)
		*key = e->key;
	if (klen)
		*klen = e->klen;
	return e->val;
}
