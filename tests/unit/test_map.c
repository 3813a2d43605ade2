/*
 * Unit tests of ms_map: SipHash-2-4 and -1-3 vectors, map operations, LRU order,
 * iteration, growth, value ownership, inline values and a randomised
 * comparison with a plain model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ms_map.h"

static int freed;

static void
count_free(void *v)
{
	freed++;
	free(v);
}

static int *
ival(int v)
{
	int *p = malloc(sizeof(*p));

	assert_non_null(p);
	*p = v;
	return p;
}

static int
get_int(const struct ms_map *m, const char *key)
{
	int *p = ms_map_get(m, key, strlen(key));

	return p ? *p : -1;
}

static void
test_siphash_vectors(void **state)
{
	/* Reference vectors (key 00..0f, message 00..n-1) from the SipHash paper's test.c. */
	static const uint64_t expect[17] = {
		UINT64_C(0x726fdb47dd0e0e31), UINT64_C(0x74f839c593dc67fd),
		UINT64_C(0x0d6c8009d9a94f5a), UINT64_C(0x85676696d7fb7e2d),
		UINT64_C(0xcf2794e0277187b7), UINT64_C(0x18765564cd99a68d),
		UINT64_C(0xcbc9466e58fee3ce), UINT64_C(0xab0200f58b01d137),
		UINT64_C(0x93f5f5799a932462), UINT64_C(0x9e0082df0ba9e4b0),
		UINT64_C(0x7a5dbbc594ddb9f3), UINT64_C(0xf4b32f46226bada7),
		UINT64_C(0x751e8fbc860ee5fb), UINT64_C(0x14ea5627c0843d90),
		UINT64_C(0xf723ca908e7af2ee), UINT64_C(0xa129ca6149be45e5),
		UINT64_C(0x3f2acc7f57c29bdb),
	};
	uint8_t k[16], msg[17];

	(void)state;
	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)i;
	for (int i = 0; i < 17; i++)
		msg[i] = (uint8_t)i;
	for (size_t n = 0; n < 17; n++)
		if (ms_siphash24(k, msg, n) != expect[n])
			fail_msg("length %zu: got %016llx", n,
			    (unsigned long long)ms_siphash24(k, msg, n));
}

/*
 * SipHash-1-3 under the all-zero key: the values CPython 3.11 gives as
 * hash(bytes) with PYTHONHASHSEED=0 (its string hash is SipHash-1-3 and a
 * zero seed leaves the key zero); lengths 1, 3, 8, 15 and 36 cover the
 * tail-only, one-block, block-and-tail and several-block paths.
 */
static void
test_siphash13_vectors(void **state)
{
	static const struct {
		const char *in;
		uint64_t h;
	} v[] = {
		{ "a", UINT64_C(0x407448d2b89b1813) },
		{ "abc", UINT64_C(0xc03bc3a0042630f2) },
		{ "abcdefgh", UINT64_C(0x3f7b849c0b8e35ea) },
		{ "abcdefghijklmno", UINT64_C(0x1fd27a29b0e9dc7a) },
		{ "abcdefghijklmnopqrstuvwxyz0123456789", UINT64_C(0xfe9ee02c60cec362) },
	};
	const uint8_t k[16] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (ms_siphash13(k, v[i].in, strlen(v[i].in)) != v[i].h)
			fail_msg("\"%s\": got %016llx", v[i].in,
			    (unsigned long long)ms_siphash13(k, v[i].in, strlen(v[i].in)));
}

static void
test_basic(void **state)
{
	struct ms_map *m;

	(void)state;
	freed = 0;
	m = ms_map_new(count_free);
	assert_non_null(m);
	assert_int_equal(ms_map_count(m), 0);
	assert_null(ms_map_get(m, "a", 1));
	assert_int_equal(ms_map_del(m, "a", 1), -1);

	assert_int_equal(ms_map_put(m, "a", 1, ival(1)), 0);
	assert_int_equal(ms_map_put(m, "b", 1, ival(2)), 0);
	assert_int_equal(ms_map_count(m), 2);
	assert_int_equal(get_int(m, "a"), 1);
	assert_int_equal(get_int(m, "b"), 2);
	assert_int_equal(get_int(m, "c"), -1);

	/* Replacing frees the old value. */
	assert_int_equal(ms_map_put(m, "a", 1, ival(10)), 0);
	assert_int_equal(freed, 1);
	assert_int_equal(ms_map_count(m), 2);
	assert_int_equal(get_int(m, "a"), 10);

	assert_int_equal(ms_map_del(m, "a", 1), 0);
	assert_int_equal(freed, 2);
	assert_int_equal(ms_map_count(m), 1);
	assert_int_equal(get_int(m, "a"), -1);
	assert_int_equal(ms_map_del(m, "a", 1), -1);

	ms_map_free(m);
	assert_int_equal(freed, 3);
	ms_map_free(NULL);
}

static void
test_binary_keys(void **state)
{
	struct ms_map *m;
	const void *k;
	size_t kl;

	(void)state;
	m = ms_map_new(free);
	assert_non_null(m);
	assert_int_equal(ms_map_put(m, "", 0, ival(0)), 0);
	assert_int_equal(ms_map_put(m, "ab", 2, ival(1)), 0);
	assert_int_equal(ms_map_put(m, "ab\0", 3, ival(2)), 0);
	assert_int_equal(ms_map_put(m, "ab\0c", 4, ival(3)), 0);
	assert_int_equal(ms_map_count(m), 4);
	assert_int_equal(*(int *)ms_map_get(m, "", 0), 0);
	assert_int_equal(*(int *)ms_map_get(m, "ab", 2), 1);
	assert_int_equal(*(int *)ms_map_get(m, "ab\0", 3), 2);
	assert_int_equal(*(int *)ms_map_get(m, "ab\0c", 4), 3);
	assert_null(ms_map_get(m, "ab\0d", 4));
	assert_null(ms_map_get(m, "a", 1));
	/* Keys handed back are copies, NUL-terminated after klen. */
	assert_non_null(ms_map_lru(m, &k, &kl));
	assert_int_equal(kl, 0);
	assert_int_equal(((const char *)k)[0], '\0');
	ms_map_free(m);
}

static void
test_lru(void **state)
{
	struct ms_map *m;
	const void *k = NULL;
	size_t kl = 0;

	(void)state;
	freed = 0;
	m = ms_map_new(count_free);
	assert_non_null(m);
	assert_null(ms_map_lru(m, &k, &kl));
	assert_int_equal(ms_map_del_lru(m), -1);
	assert_int_equal(ms_map_put(m, "a", 1, ival(1)), 0);
	assert_int_equal(ms_map_put(m, "b", 1, ival(2)), 0);
	assert_int_equal(ms_map_put(m, "c", 1, ival(3)), 0);
	assert_int_equal(*(int *)ms_map_lru(m, &k, &kl), 1);
	assert_int_equal(kl, 1);
	assert_memory_equal(k, "a", 1);

	/* get leaves the order alone; touch makes the entry the newest. */
	assert_non_null(ms_map_get(m, "a", 1));
	assert_int_equal(*(int *)ms_map_lru(m, NULL, NULL), 1);
	assert_int_equal(*(int *)ms_map_touch(m, "a", 1), 1);
	assert_null(ms_map_touch(m, "zz", 2));
	assert_int_equal(*(int *)ms_map_lru(m, NULL, NULL), 2);	/* b, c, a */
	/* put of an existing key also makes it the newest. */
	assert_int_equal(ms_map_put(m, "b", 1, ival(20)), 0);	/* c, a, b */
	assert_int_equal(*(int *)ms_map_lru(m, NULL, NULL), 3);
	/* Touching the newest changes nothing. */
	assert_non_null(ms_map_touch(m, "b", 1));

	assert_int_equal(ms_map_del_lru(m), 0);
	assert_int_equal(get_int(m, "c"), -1);
	assert_int_equal(ms_map_del_lru(m), 0);
	assert_int_equal(get_int(m, "a"), -1);
	assert_int_equal(*(int *)ms_map_lru(m, NULL, NULL), 20);
	assert_int_equal(ms_map_del_lru(m), 0);
	assert_int_equal(ms_map_count(m), 0);
	assert_int_equal(ms_map_del_lru(m), -1);
	assert_int_equal(freed, 4);
	/* Usable again once empty. */
	assert_int_equal(ms_map_put(m, "d", 1, ival(4)), 0);
	assert_int_equal(*(int *)ms_map_lru(m, NULL, NULL), 4);
	ms_map_free(m);
	assert_int_equal(freed, 5);
}

static void
test_iterate(void **state)
{
	struct ms_map *m;
	struct ms_map_iter it;
	const void *k;
	size_t kl, n = 0;
	int *v;
	char key[16];

	(void)state;
	m = ms_map_new(free);
	assert_non_null(m);
	ms_map_iter_init(&it);
	assert_null(ms_map_next(m, &it, NULL, NULL));

	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(ms_map_put(m, key, strlen(key), ival(i)), 0);
	}
	/* From least to most recently used, i.e. insertion order here. */
	ms_map_iter_init(&it);
	while ((v = ms_map_next(m, &it, &k, &kl)) != NULL) {
		snprintf(key, sizeof(key), "k%zu", n);
		assert_int_equal(*v, (int)n);
		assert_int_equal(kl, strlen(key));
		assert_memory_equal(k, key, kl);
		n++;
	}
	assert_int_equal(n, 100);
	assert_null(ms_map_next(m, &it, NULL, NULL));

	/* Deleting the entry just returned is allowed: drop the odd ones. */
	ms_map_iter_init(&it);
	while ((v = ms_map_next(m, &it, &k, &kl)) != NULL)
		if (*v % 2)
			assert_int_equal(ms_map_del(m, k, kl), 0);
	assert_int_equal(ms_map_count(m), 50);
	n = 0;
	ms_map_iter_init(&it);
	while ((v = ms_map_next(m, &it, NULL, NULL)) != NULL) {
		assert_int_equal(*v, (int)(2 * n));
		n++;
	}
	assert_int_equal(n, 50);
	ms_map_free(m);
}

static void
test_growth(void **state)
{
	enum { N = 50000 };
	struct ms_map *m;
	char key[32];

	(void)state;
	freed = 0;
	m = ms_map_new(count_free);
	assert_non_null(m);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "agent\x01" "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(ms_map_put(m, key, strlen(key), ival(i)), 0);
	}
	assert_int_equal(ms_map_count(m), N);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "agent\x01" "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(get_int(m, key), i);
	}
	for (int i = 0; i < N; i += 2) {
		snprintf(key, sizeof(key), "agent\x01" "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(ms_map_del(m, key, strlen(key)), 0);
	}
	assert_int_equal(ms_map_count(m), N / 2);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "agent\x01" "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(get_int(m, key), i % 2 ? i : -1);
	}
	/* The LRU survives growth: the oldest left is the first odd one. */
	assert_int_equal(*(int *)ms_map_lru(m, NULL, NULL), 1);
	ms_map_free(m);
	assert_int_equal(freed, N);
}

static void
test_null_values(void **state)
{
	struct ms_map *m;

	(void)state;
	/* Without vfree the map never frees values; NULL values are stored. */
	m = ms_map_new(NULL);
	assert_non_null(m);
	assert_int_equal(ms_map_put(m, "x", 1, NULL), 0);
	assert_int_equal(ms_map_count(m), 1);
	assert_int_equal(ms_map_put(m, "x", 1, (void *)&freed), 0);
	assert_ptr_equal(ms_map_get(m, "x", 1), &freed);
	assert_int_equal(ms_map_del(m, "x", 1), 0);
	assert_int_equal(ms_map_count(m), 0);
	ms_map_free(m);
}


/*
 * Inline values: zeroed on creation, aligned, the same address for the
 * life of the entry (also across growth), vclear called with that address.
 */
static int cleared;
static long cleared_sum;

static void
count_clear(void *v)
{
	cleared++;
	cleared_sum += *(long *)v;
}

static void
test_inline_values(void **state)
{
	enum { N = 5000 };
	struct ms_map *m;
	long **addr;
	char key[64];
	long *v;
	const void *k;
	size_t kl;

	(void)state;
	cleared = 0;
	cleared_sum = 0;
	addr = calloc(N, sizeof(*addr));
	assert_non_null(addr);
	m = ms_map_new_inline(3 * sizeof(long), count_clear);
	assert_non_null(m);
	/* ms_map_put is refused on an inline map, ms_map_add on a plain one. */
	assert_int_equal(ms_map_put(m, "x", 1, &cleared), -1);
	assert_int_equal(ms_map_count(m), 0);
	for (int i = 0; i < N; i++) {
		/* every other key longer than what fits in the entry */
		snprintf(key, sizeof(key), i % 2 ? "k%d" : "a-rather-long-key-of-some-forty-bytes-%d", i);
		v = ms_map_add(m, key, strlen(key));
		assert_non_null(v);
		assert_int_equal((uintptr_t)v % _Alignof(max_align_t), 0);
		assert_int_equal(v[0] | v[1] | v[2], 0);
		v[0] = i + 1;
		addr[i] = v;
	}
	assert_int_equal(ms_map_count(m), N);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), i % 2 ? "k%d" : "a-rather-long-key-of-some-forty-bytes-%d", i);
		assert_ptr_equal(ms_map_get(m, key, strlen(key)), addr[i]);
		/* Adding an existing key returns its value unchanged, as the newest. */
		if (i == 0) {
			assert_ptr_equal(ms_map_add(m, key, strlen(key)), addr[0]);
			assert_int_equal(*addr[0], 1);
		}
	}
	/* Entry 0 is now the newest: the oldest is entry 1. */
	assert_ptr_equal(ms_map_lru(m, &k, &kl), addr[1]);
	assert_int_equal(kl, 2);
	assert_memory_equal(k, "k1", 3);
	assert_int_equal(ms_map_del_lru(m), 0);
	assert_int_equal(cleared, 1);
	assert_int_equal(cleared_sum, 2);
	assert_int_equal(ms_map_del(m, "k3", 2), 0);
	assert_int_equal(cleared, 2);
	assert_int_equal(ms_map_del(m, "k3", 2), -1);
	/* A new entry may reuse a removed one's storage: zeroed again. */
	v = ms_map_add(m, "new", 3);
	assert_non_null(v);
	assert_int_equal(v[0] | v[1] | v[2], 0);
	v[0] = 1000000;
	ms_map_free(m);
	assert_int_equal(cleared, N + 1);
	assert_int_equal(cleared_sum, (long)N * (N + 1) / 2 + 1000000);
	free(addr);

	m = ms_map_new(NULL);
	assert_non_null(m);
	assert_null(ms_map_add(m, "x", 1));
	ms_map_free(m);
}

/*
 * Random puts, deletes, touches and evictions against a plain model (an
 * array in LRU order): open addressing with backward-shift deletion must
 * find every key and only those, and keep the exact LRU order.
 */
#define MODEL_KEYS 300

struct model {
	int order[MODEL_KEYS];	/* keys present, least recently used first */
	int n;
	int val[MODEL_KEYS];
};

static void
model_key(char *buf, size_t sz, int k)
{
	/* short and long keys, some differing only in length or after a NUL */
	if (k % 3 == 0)
		snprintf(buf, sz, "%d", k);
	else if (k % 3 == 1)
		snprintf(buf, sz, "src_ip=198.51.100.%d user=some-long-user-name-%d", k, k);
	else
		snprintf(buf, sz, "u%d", k);
}

static int
model_find(const struct model *md, int k)
{
	for (int i = 0; i < md->n; i++)
		if (md->order[i] == k)
			return i;
	return -1;
}

static void
model_remove(struct model *md, int i)
{
	memmove(&md->order[i], &md->order[i + 1], (size_t)(md->n - i - 1) * sizeof(int));
	md->n--;
}

static void
test_model(void **state)
{
	struct model md = { .n = 0 };
	struct ms_map *m;
	uint32_t x = 777;
	char key[128];

	(void)state;
	freed = 0;
	m = ms_map_new(count_free);
	assert_non_null(m);
	for (int step = 0; step < 60000; step++) {
		int k, op, i;

		x = x * 1103515245u + 12345u;
		k = (int)((x >> 8) % MODEL_KEYS);
		op = (int)((x >> 20) % 10);
		model_key(key, sizeof(key), k);
		i = model_find(&md, k);
		if (op < 4) {		/* put */
			assert_int_equal(ms_map_put(m, key, strlen(key), ival(step)), 0);
			if (i >= 0)
				model_remove(&md, i);
			md.order[md.n++] = k;
			md.val[k] = step;
		} else if (op < 7) {	/* delete */
			assert_int_equal(ms_map_del(m, key, strlen(key)), i >= 0 ? 0 : -1);
			if (i >= 0)
				model_remove(&md, i);
		} else if (op < 9) {	/* touch */
			int *v = ms_map_touch(m, key, strlen(key));
			if (i >= 0) {
				assert_non_null(v);
				assert_int_equal(*v, md.val[k]);
				model_remove(&md, i);
				md.order[md.n++] = k;
			} else {
				assert_null(v);
			}
		} else {		/* evict the oldest */
			assert_int_equal(ms_map_del_lru(m), md.n > 0 ? 0 : -1);
			if (md.n > 0)
				model_remove(&md, 0);
		}
		assert_int_equal(ms_map_count(m), md.n);
		if (step % 1000 == 0 || step > 59000) {
			struct ms_map_iter it;
			const void *ik;
			size_t ikl;
			int *v, n = 0;

			/* every key: present with its value or absent */
			for (int j = 0; j < MODEL_KEYS; j++) {
				model_key(key, sizeof(key), j);
				v = ms_map_get(m, key, strlen(key));
				if (model_find(&md, j) >= 0) {
					assert_non_null(v);
					assert_int_equal(*v, md.val[j]);
				} else {
					assert_null(v);
				}
			}
			/* and the LRU order */
			ms_map_iter_init(&it);
			while ((v = ms_map_next(m, &it, &ik, &ikl)) != NULL) {
				assert_true(n < md.n);
				model_key(key, sizeof(key), md.order[n]);
				assert_int_equal(ikl, strlen(key));
				assert_memory_equal(ik, key, ikl + 1);
				n++;
			}
			assert_int_equal(n, md.n);
		}
	}
	ms_map_free(m);
}

/*
 * The calls with a caller's hash (ms_map_hash, then ms_map_get_h,
 * ms_map_touch_h or ms_map_add_h) behave as the plain ones: two
 * inline maps fed the same random operations, one each way, hold the same
 * keys, values and LRU order; a hash taken before the map grows and
 * entries are evicted still finds its key afterwards.
 */
static void
test_hashed_calls(void **state)
{
	struct ms_map *a = ms_map_new_inline(sizeof(long), NULL);
	struct ms_map *b = ms_map_new_inline(sizeof(long), NULL);
	uint32_t x = 4242, early;
	char key[128];
	long *va, *vb;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	model_key(key, sizeof(key), 7);
	early = ms_map_hash(b, key, strlen(key));
	for (int step = 0; step < 40000; step++) {
		int k, op;
		uint32_t h;

		x = x * 1103515245u + 12345u;
		k = (int)((x >> 8) % MODEL_KEYS);
		op = (int)((x >> 20) % 10);
		model_key(key, sizeof(key), k);
		h = ms_map_hash(b, key, strlen(key));
		if (op < 5) {		/* touch, else evict down to 200 and add: a group_get */
			va = ms_map_touch(a, key, strlen(key));
			assert_ptr_equal(ms_map_get_h(b, key, strlen(key), h), ms_map_get(b, key,
			    strlen(key)));
			vb = ms_map_touch_h(b, key, strlen(key), h);
			if (va == NULL) {
				assert_null(vb);
				while (ms_map_count(a) >= 200)
					assert_int_equal(ms_map_del_lru(a), 0);
				while (ms_map_count(b) >= 200)
					assert_int_equal(ms_map_del_lru(b), 0);
				va = ms_map_add(a, key, strlen(key));
				vb = ms_map_add_h(b, key, strlen(key), h);
				assert_non_null(va);
				assert_non_null(vb);
				*va = *vb = step;
			}
			assert_non_null(vb);
			assert_int_equal(*va, *vb);
		} else if (op < 8) {	/* add (existing or new) */
			va = ms_map_add(a, key, strlen(key));
			vb = ms_map_add_h(b, key, strlen(key), h);
			assert_int_equal(*va, *vb);
			*va = *vb = *va + 1;
		} else {
			assert_int_equal(ms_map_del(a, key, strlen(key)), ms_map_del(b, key, strlen(key)));
		}
		assert_int_equal(ms_map_count(a), ms_map_count(b));
	}
	{
		struct ms_map_iter ia, ib;
		const void *ka, *kb;
		size_t la, lb;

		ms_map_iter_init(&ia);
		ms_map_iter_init(&ib);
		while ((va = ms_map_next(a, &ia, &ka, &la)) != NULL) {
			vb = ms_map_next(b, &ib, &kb, &lb);
			assert_non_null(vb);
			assert_int_equal(la, lb);
			assert_memory_equal(ka, kb, la);
			assert_int_equal(*va, *vb);
		}
		assert_null(ms_map_next(b, &ib, NULL, NULL));
	}
	/* growth from 16 slots and many evictions later, the early hash still finds key 7 */
	model_key(key, sizeof(key), 7);
	vb = ms_map_add_h(b, key, strlen(key), early);
	assert_non_null(vb);
	assert_ptr_equal(ms_map_get(b, key, strlen(key)), vb);
	assert_ptr_equal(ms_map_touch_h(b, key, strlen(key), early), vb);
	ms_map_free(a);
	ms_map_free(b);
}

/*
 * A capped inline map fed mostly new keys (a scan from random sources, as
 * the correlation groups see it): every insert past the cap evicts the
 * least recently used entry. Checked against a model: which value each
 * eviction clears, in order, with touches and deletions in between; the
 * record an eviction frees is the next insert's, and values of several
 * cache lines stay intact; the survivors keep their values and order.
 */
#define CAP_KEYS	400
#define CAP_VSIZE	300

static long cap_cleared[64];
static int cap_ncleared;

static void
cap_clear(void *v)
{
	const long *p = v;

	/* the first and last word of the value: all of it stayed intact */
	assert_int_equal(p[0], p[CAP_VSIZE / sizeof(long) - 1]);
	/* ms_map_free clears the survivors too: only the last ones are kept */
	cap_cleared[cap_ncleared++ % (int)(sizeof(cap_cleared) / sizeof(cap_cleared[0]))] = p[0];
}

static void
test_capped_stream(void **state)
{
	static long order[CAP_KEYS + 1];	/* model: stamps, oldest first */
	struct ms_map *m = ms_map_new_inline(CAP_VSIZE, cap_clear);
	uint32_t x = 99;
	long next = 1;
	int n = 0;
	char key[64];

	(void)state;
	assert_non_null(m);
	for (int step = 0; step < 40000; step++) {
		int op, i;
		long *v;

		x = x * 1103515245u + 12345u;
		op = (int)((x >> 20) % 10);
		if (op < 7 || n == 0) {		/* a new key, the oldest evicted at the cap */
			long stamp = next++;

			cap_ncleared = 0;
			while (ms_map_count(m) >= CAP_KEYS && ms_map_del_lru(m) == 0)
				;
			if (n >= CAP_KEYS) {
				assert_int_equal(cap_ncleared, 1);
				assert_int_equal(cap_cleared[0], order[0]);
				memmove(order, order + 1, (size_t)(n - 1) * sizeof(order[0]));
				n--;
			} else {
				assert_int_equal(cap_ncleared, 0);
			}
			snprintf(key, sizeof(key), "198.51.%ld.%ld", stamp / 256, stamp % 256);
			v = ms_map_add(m, key, strlen(key));
			assert_non_null(v);
			v[0] = v[CAP_VSIZE / sizeof(long) - 1] = stamp;
			order[n++] = stamp;
		} else {
			/* an older key: touched (op 7, 8) or deleted (op 9) */
			long stamp;

			i = (int)((x >> 8) % (uint32_t)(n < 8 ? n : 8));
			if ((x >> 4) & 1)
				i = n - 1 - i;
			stamp = order[i];
			snprintf(key, sizeof(key), "198.51.%ld.%ld", stamp / 256, stamp % 256);
			if (op < 9) {
				v = ms_map_touch(m, key, strlen(key));
				assert_non_null(v);
				assert_int_equal(v[0], stamp);
				memmove(order + i, order + i + 1, (size_t)(n - i - 1) * sizeof(order[0]));
				order[n - 1] = stamp;
			} else {
				cap_ncleared = 0;
				assert_int_equal(ms_map_del(m, key, strlen(key)), 0);
				assert_int_equal(cap_ncleared, 1);
				assert_int_equal(cap_cleared[0], stamp);
				memmove(order + i, order + i + 1, (size_t)(n - i - 1) * sizeof(order[0]));
				n--;
			}
		}
		assert_int_equal(ms_map_count(m), n);
	}
	/* the survivors, oldest first, with their values */
	{
		struct ms_map_iter it;
		const long *v;
		int j = 0;

		ms_map_iter_init(&it);
		while ((v = ms_map_next(m, &it, NULL, NULL)) != NULL) {
			assert_true(j < n);
			assert_int_equal(v[0], order[j]);
			j++;
		}
		assert_int_equal(j, n);
	}
	assert_true(next > 20000);
	cap_ncleared = 0;
	ms_map_free(m);
	assert_int_equal(cap_ncleared, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_siphash13_vectors),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_binary_keys),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_iterate),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_null_values),
		cmocka_unit_test(test_inline_values),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_hashed_calls),
		cmocka_unit_test(test_capped_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
