/*
 * ms_map – a hash map from byte-string keys to pointers, with LRU order.
 *
 * Keys are often attacker-controlled (source IPs, user names), so buckets
 * are chosen with SipHash-1-3 under a random 128-bit key drawn from the
 * kernel for every map: colliding keys cannot be precomputed. Open
 * addressing with linear probing; the table doubles when it is 3/4 full,
 * so probe runs stay short.
 *
 * Every entry is also on a doubly-linked list (by entry id) in order of use
 * (ms_map_put and ms_map_touch make it the most recently used), which gives
 * O(1) eviction of the least recently used entry for callers that cap the
 * map's size. The map itself has no size cap: the caller enforces it
 * (check ms_map_count, then ms_map_del_lru).
 *
 * Ownership: the map copies keys. It owns the values it holds only in the
 * sense that it calls the vfree function given to ms_map_new (if any) when
 * an entry is replaced, deleted or the map is freed. Pointers returned by
 * the lookups, and keys handed back, are borrowed until the entry is
 * removed (entries never move, also when the map grows). At most 2^30
 * entries; the memory of removed entries is reused and given back by
 * ms_map_free.
 *
 * Not thread-safe; one map belongs to one thread.
 */
#ifndef MS_MAP_H
#define MS_MAP_H

#include <stddef.h>
#include <stdint.h>

struct ms_map;

typedef void (*ms_map_free_fn)(void *val);

/* Iteration cursor, from least to most recently used; see ms_map_next. */
struct ms_map_iter {
	uint32_t next;		/* entry id, 0 = end */
	int started;
};

/*
 * SipHash-2-4 of in (len bytes) under the 16-byte key k. Exposed for tests
 * and for callers that need a keyed hash of their own.
 */
uint64_t ms_siphash24(const uint8_t k[16], const void *in, size_t len);

/* SipHash-1-3 (one compression, three finalisation rounds), as the map uses. */
uint64_t ms_siphash13(const uint8_t k[16], const void *in, size_t len);

/*
 * Returns a new empty map, or NULL when out of memory or when no random
 * key could be read from the kernel. vfree (may be NULL) is called on
 * values leaving the map. Caller owns the map (ms_map_free).
 */
struct ms_map *ms_map_new(ms_map_free_fn vfree);

/*
 * As ms_map_new, but each value is vsize bytes (at most 1 MiB; 0 is taken
 * as 1) kept inside the map's own record for its entry, next to the key:
 * a lookup then reads one record instead of an entry and a separate
 * allocation. Values are created with ms_map_add (ms_map_put fails on
 * such a map); every lookup returns the value's address, aligned for any
 * type and stable until the entry is removed. vclear (may be NULL) is
 * called with that address when a value leaves the map, to release what
 * the value owns – the storage itself is the map's.
 */
struct ms_map *ms_map_new_inline(size_t vsize, ms_map_free_fn vclear);

/* Frees every entry (calling vfree on each value) and the map; NULL is a no-op. */
void ms_map_free(struct ms_map *m);

/* Returns the value stored under key (borrowed), or NULL. Order unchanged. */
void *ms_map_get(const struct ms_map *m, const void *key, size_t klen);

/* As ms_map_get, and makes the entry the most recently used. */
void *ms_map_touch(struct ms_map *m, const void *key, size_t klen);

/*
 * Stores val under key (copied) as the most recently used entry. An
 * existing value under the same key is replaced and passed to vfree.
 * Returns 0 and takes ownership of val, or -1 when out of memory (val
 * stays the caller's, the map is unchanged). A NULL val is allowed but
 * then ms_map_get cannot tell it from a missing key.
 */
int ms_map_put(struct ms_map *m, const void *key, size_t klen, void *val);

/*
 * Inline maps (ms_map_new_inline) only: makes key (copied) the most
 * recently used entry and returns its value's address – a new value
 * zeroed when key was absent, else the existing one unchanged. NULL when
 * out of memory or when m is not an inline map.
 */
void *ms_map_add(struct ms_map *m, const void *key, size_t klen);

/*
 * The same lookups with the key's hash computed once by the caller, for
 * a lookup followed by an insert (ms_map_touch_h or ms_map_get_h
 * missing, then ms_map_add_h). h must be ms_map_hash(m, key, klen) of
 * this map (each map has its own hash key); it stays valid while the map
 * lives, across growth and deletions.
 */
uint32_t ms_map_hash(const struct ms_map *m, const void *key, size_t klen);
void *ms_map_get_h(const struct ms_map *m, const void *key, size_t klen, uint32_t h);
void *ms_map_touch_h(struct ms_map *m, const void *key, size_t klen, uint32_t h);
void *ms_map_add_h(struct ms_map *m, const void *key, size_t klen, uint32_t h);

/* Removes key, passing its value to vfree. 0, or -1 when absent. */
int ms_map_del(struct ms_map *m, const void *key, size_t klen);

/* Number of entries. */
size_t ms_map_count(const struct ms_map *m);

/*
 * Returns the least recently used entry's value (borrowed) and, when key
 * and klen are not NULL, its key (borrowed, NUL-terminated after klen
 * bytes) – or NULL when the map is empty.
 */
void *ms_map_lru(const struct ms_map *m, const void **key, size_t *klen);

/* Removes the least recently used entry (vfree on its value). 0, or -1 when empty. */
int ms_map_del_lru(struct ms_map *m);

/* Starts an iteration; see ms_map_next. */
void ms_map_iter_init(struct ms_map_iter *it);

/*
 * Returns the next value from least to most recently used (and its key as
 * in ms_map_lru), or NULL at the end. The entry just returned may be
 * deleted before the next call; other changes to the map end the
 * iteration's validity (touch, put and deleting other entries).
 */
void *ms_map_next(const struct ms_map *m, struct ms_map_iter *it,
    const void **key, size_t *klen);

#endif
