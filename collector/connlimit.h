/*
 * connlimit – what the listener keeps per source address: a token bucket
 * of new connections (limits.connect_rate_per_ip, bursts of
 * limits.connect_burst_per_ip) and how many of its connections are still
 * in the TLS handshake (limits.max_handshakes_per_ip).
 *
 * An address is its 4 (IPv4) or 16 (IPv6) bytes, as accepted: an IPv6
 * host is one address, not its /64. At most max_addrs addresses are
 * tracked; the least recently seen is forgotten first (its bucket starts
 * full again when it comes back) – never one with a handshake in
 * progress, so the table may pass max_addrs by the addresses holding
 * handshakes, themselves bounded by limits.max_handshakes.
 *
 * Not thread-safe; one table belongs to the collector's loop.
 */
#ifndef CONNLIMIT_H
#define CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct connlimit;

/* A source address as the table keys it. */
struct connlimit_addr {
	uint8_t len;		/* 4 or 16; 0: another family, never limited */
	uint8_t bytes[16];
};

/* Fills a from sa (AF_INET, AF_INET6; any other family gives len 0). */
void connlimit_addr_from(struct connlimit_addr *a, const struct sockaddr *sa);

/* Returns a new empty table, or NULL when out of memory. Caller owns it (connlimit_free). */
struct connlimit *connlimit_new(size_t max_addrs);

/* Frees the table; NULL is a no-op. */
void connlimit_free(struct connlimit *cl);

/*
 * Whether one more connection from a at now_ms (monotonic) is within rate
 * per second, bursts up to burst; takes a token when it is. rate <= 0 is
 * no limit. Out of memory: true (a refusal must be earned).
 */
bool connlimit_rate_ok(struct connlimit *cl, const struct connlimit_addr *a, int64_t rate,
    int64_t burst, int64_t now_ms);

/* Handshakes in progress from a now (0 for an address not tracked). */
size_t connlimit_handshakes(const struct connlimit *cl, const struct connlimit_addr *a);

/*
 * One more handshake in progress from a. Returns 0, or -1 when it is not
 * counted (out of memory, or an address of len 0): the caller then does
 * not call connlimit_handshake_end for it.
 */
int connlimit_handshake_begin(struct connlimit *cl, const struct connlimit_addr *a);

/* A handshake counted by connlimit_handshake_begin is over (done, failed or timed out). */
void connlimit_handshake_end(struct connlimit *cl, const struct connlimit_addr *a);

/* Addresses tracked now. */
size_t connlimit_count(const struct connlimit *cl);

#endif
