/* connlimit – per-source-address state of the listener. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "connlimit.h"
#include "ms_map.h"

/* One source address. */
struct connlimit_entry {
	double tokens;		/* a token bucket of connections */
	int64_t ms;		/* monotonic time of the last refill */
	bool bucket;		/* tokens and ms set (the rate limit saw the address) */
	uint32_t handshakes;	/* in progress; the entry is kept while above 0 */
};

struct connlimit {
	struct ms_map *addrs;	/* address bytes -> struct connlimit_entry (owned) */
	size_t max_addrs;
};

void
connlimit_addr_from(struct connlimit_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->len = sizeof(struct in_addr);
		memcpy(a->bytes, &((const struct sockaddr_in *)sa)->sin_addr, a->len);
	} else if (sa->sa_family == AF_INET6) {
		a->len = sizeof(struct in6_addr);
		memcpy(a->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, a->len);
	}
}

struct connlimit *
connlimit_new(size_t max_addrs)
{
	struct connlimit *cl = NULL;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		goto fail;
	if ((cl->addrs = ms_map_new(free)) == NULL)
		goto fail;
	cl->max_addrs = max_addrs ? max_addrs : 1;
	return cl;

fail:
	connlimit_free(cl);
	return NULL;
}

void
connlimit_free(struct connlimit *cl)
{
	if (cl == NULL)
		return;
	ms_map_free(cl->addrs);
	free(cl);
}

size_t
connlimit_count(const struct connlimit *cl)
{
	return ms_map_count(cl->addrs);
}

/*
 * Makes room for one more address: forgets the least recently seen one
 * without a handshake in progress. Those with one are moved to the most
 * recent end instead – forgetting them would let their address start
 * over – so each is passed over once per round of the table; when every
 * entry holds a handshake the table grows (bounded by limits.max_handshakes).
 */
static void
connlimit_evict(struct connlimit *cl)
{
	size_t tries = ms_map_count(cl->addrs);

	while (ms_map_count(cl->addrs) >= cl->max_addrs && tries-- > 0) {
		const void *key;
		size_t klen;
		struct connlimit_entry *e = ms_map_lru(cl->addrs, &key, &klen);

		if (e->handshakes == 0)
			ms_map_del_lru(cl->addrs);
		else
			ms_map_touch(cl->addrs, key, klen);
	}
}

/* The entry of a (the most recently seen now), made when absent; NULL when out of memory. */
static struct connlimit_entry *
connlimit_entry(struct connlimit *cl, const struct connlimit_addr *a)
{
	struct connlimit_entry *e;

	if ((e = ms_map_touch(cl->addrs, a->bytes, a->len)) != NULL)
		return e;
	connlimit_evict(cl);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if (ms_map_put(cl->addrs, a->bytes, a->len, e) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

bool
connlimit_rate_ok(struct connlimit *cl, const struct connlimit_addr *a, int64_t rate,
    int64_t burst, int64_t now_ms)
{
	struct connlimit_entry *b;

	if (rate <= 0 || a->len == 0)
		return true;
	if ((b = connlimit_entry(cl, a)) == NULL)
		return true;
	if (!b->bucket) {
		b->tokens = (double)burst;
		b->ms = now_ms;
		b->bucket = true;
	}
	b->tokens += (double)(now_ms - b->ms) * (double)rate / 1000.0;
	if (b->tokens > (double)burst)
		b->tokens = (double)burst;
	b->ms = now_ms;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

size_t
connlimit_handshakes(const struct connlimit *cl, const struct connlimit_addr *a)
{
	const struct connlimit_entry *e;

	if (a->len == 0 || (e = ms_map_get(cl->addrs, a->bytes, a->len)) == NULL)
		return 0;
	return e->handshakes;
}

int
connlimit_handshake_begin(struct connlimit *cl, const struct connlimit_addr *a)
{
	struct connlimit_entry *e;

	if (a->len == 0 || (e = connlimit_entry(cl, a)) == NULL)
		return -1;
	e->handshakes++;
	return 0;
}

void
connlimit_handshake_end(struct connlimit *cl, const struct connlimit_addr *a)
{
	struct connlimit_entry *e;

	if (a->len == 0 || (e = ms_map_get(cl->addrs, a->bytes, a->len)) == NULL)
		return;
	/* Kept: its bucket still counts, and the LRU end forgets it in time. */
	if (e->handshakes > 0)
		e->handshakes--;
}
