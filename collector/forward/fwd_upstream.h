/*
 * fwd_upstream – the TLS connection to the national center's receiver.
 *
 * Mutual TLS (our certificate, its name and CA checked), reconnecting with
 * exponential backoff and jitter. RFC 5425 has no application-level
 * acknowledgement, so the strongest sign of delivery a sender can have is
 * the receiver's TCP acknowledging the bytes: a timer watches the socket's
 * send queue (SIOCOUTQ) and, once our output buffer and the kernel's
 * unacknowledged bytes are both empty, reports every send made so far on
 * this connection as acknowledged (acked_cb). A connection whose bytes stay
 * unacknowledged for dead_after_ms is dropped.
 */
#ifndef FWD_UPSTREAM_H
#define FWD_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "forward.h"

struct fwd_upstream;

struct fwd_upstream_cbs {
	void (*ready)(void *arg);			/* connected: send */
	/* The connection is gone; clean = the receiver closed it in order (EOF). */
	void (*lost)(void *arg, bool clean);
	/* Every send numbered below upto on this connection reached the receiver's TCP. */
	void (*acked)(void *arg, uint64_t upto);
	void (*drained)(void *arg);			/* the output buffer emptied */
};

/* A new upstream (not connected yet; fwd_upstream_start), or NULL with err. */
struct fwd_upstream *fwd_upstream_new(struct event_base *base, const struct fwd_conf *c,
    const struct fwd_upstream_cbs *cbs, void *arg, char *err, size_t errsz);
void fwd_upstream_free(struct fwd_upstream *u);
/* Connects now (or keeps the current connection). */
void fwd_upstream_start(struct fwd_upstream *u);
bool fwd_upstream_ready(const struct fwd_upstream *u);
/* Bytes waiting in our output buffer. */
size_t fwd_upstream_queued(const struct fwd_upstream *u);
/* Queues len bytes on the connection; returns its send number, or -1 when not ready. */
int64_t fwd_upstream_send(struct fwd_upstream *u, const void *p, size_t len);
/* Closes with a close_notify and stops reconnecting (shutdown). */
void fwd_upstream_stop(struct fwd_upstream *u);
/* Counters. */
uint64_t fwd_upstream_connects(const struct fwd_upstream *u);
uint64_t fwd_upstream_failures(const struct fwd_upstream *u);

#endif
