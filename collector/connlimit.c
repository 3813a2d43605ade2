/* connlimit – per-source-address state of the listener. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "connlimit.h"
#include "ms_map.h"

/* A token bucket of connections for one source address. */
struct connlimit_entry {
	double tokens;
	int64_t ms;		/* monotonic time of the last refill */
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

bool
connlimit_rate_ok(struct connlimit *cl, const struct connlimit_addr *a, int64_t rate,
    int64_t burst, int64_t now_ms)
{
	struct connlimit_entry *b;

	if (rate <= 0 || a->len == 0)
		return true;
	if ((b = ms_map_touch(cl->addrs, a->bytes, a->len)) == NULL) {
		if (ms_map_count(cl->addrs) >= cl->max_addrs)
			ms_map_del_lru(cl->addrs);
		if ((b = malloc(sizeof(*b))) == NULL)
			return true;
		b->tokens = (double)burst;
		b->ms = now_ms;
		if (ms_map_put(cl->addrs, a->bytes, a->len, b) < 0) {
			free(b);
			return true;
		}
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
