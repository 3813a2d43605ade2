/*
 * sink – where alerts go, and where the collector's progress is made
 * durable. The Redis implementation (sink_redis.c) talks to redis-server
 * through hiredis' async API on the collector's event loop.
 *
 * Every operation is queued in order. Alerts are written with XADD to the
 * stream and PUBLISHed on the live channel; a checkpoint records an
 * agent's handled sequence number (HSET) and, because Redis answers in
 * order, its reply proves every alert queued before it is stored – only
 * then is the agent acknowledged. A batch's alerts and its checkpoint form
 * one transaction (sink_batch_begin). While Redis is away or behind,
 * durable operations go to the spool on disk (spool.dir, journal.c) and a
 * checkpoint is acknowledged once it is fsynced there; the spool is
 * replayed in order when Redis is back (see sink_redis.c). Without a
 * spool, operations wait in memory (bounded) and are sent again on
 * reconnect: at-least-once.
 */
#ifndef SINK_H
#define SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct collector;
struct agent_state;
struct alert;

struct sink *sink_redis_new(struct collector *c, char *err, size_t errsz);
/*
 * Opens the spool on disk (spool.dir; nothing when ""), as the collector's
 * own user, before any session's work: reads back what a previous run left
 * (agents' handled numbers, operations to replay). 0, or -1 with err.
 */
int sink_spool_open(struct sink *s, char *err, size_t errsz);
void sink_free(struct sink *s);

/* Queues one alert (json is copied). 0, or -1 when out of memory. */
int sink_alert(struct sink *s, const struct alert *a, const char *json, size_t len);
/*
 * Queues a checkpoint of st at seq, for the batch of its events first..seq
 * (first: the batch's first event not handled before; 0 when unknown).
 * When Redis confirms it, st->durable_seq is raised and st's live session
 * (if any) is acknowledged.
 */
int sink_checkpoint(struct sink *s, struct agent_state *st, uint64_t first, uint64_t seq);
/*
 * An agent batch: alerts queued between sink_batch_begin and the batch's
 * sink_checkpoint (or sink_batch_end) are written with the checkpoint in
 * one Redis transaction, so they are stored together or not at all (a
 * collector killed in between leaves neither, and the agent's resend
 * raises them once). 0, or -1 when out of memory.
 */
int sink_batch_begin(struct sink *s);
int sink_batch_end(struct sink *s);
/* Reads st's handled seq back from Redis; then session_loaded(st->session). */
int sink_load(struct sink *s, struct agent_state *st);
/*
 * Records facts for operators (an agent's hello, the collector's counters):
 * HSET key k1 v1 ... with nkv strings (pairs, at most 128). Informational:
 * skipped while the sink is congested, errors only logged.
 */
int sink_hset(struct sink *s, const char *key, const char *const *kv, size_t nkv);
/*
 * As sink_hset, for state the collector reads back after a restart (an
 * agent's status): never skipped while congested, and a write Redis
 * refuses is sent again like an alert.
 */
int sink_hset_state(struct sink *s, const char *key, const char *const *kv, size_t nkv);
/*
 * Replaces the hash key by the nkv strings kv (field, value, ...; kvlen[i]
 * bytes each, copied) at once: MULTI, DEL, HSET, EXEC (nkv 0: the key is
 * deleted). Informational like sink_hset: returns 1 and queues nothing
 * while the sink is congested, 0 when queued, -1 when out of memory or nkv
 * is odd.
 */
int sink_hreplace(struct sink *s, const char *key, const char *const *kv, const size_t *kvlen,
    size_t nkv);
/* Reads minisoc:agents:last_seen back; then health_agents_listed(). */
int sink_load_agents(struct sink *s);
/* Reads st's status back from minisoc:agent:<id>; then health_status_loaded(). */
int sink_load_status(struct sink *s, struct agent_state *st);
/*
 * Reads st's shared last frame and status and, silent by them too (now -
 * the later of its last frame and floor_ms >= need_ms, extra_ms more when
 * another collector heard it later), claims that silence for need_ms in
 * the same step, unless another collector did; then health_seen_checked().
 */
int sink_check_seen(struct sink *s, struct agent_state *st, int64_t now, int64_t floor_ms,
    int64_t need_ms, int64_t extra_ms);
/*
 * An agent's data was read (the collector is awake): Redis' replies left
 * unread meanwhile (redis.reply_wait_us) are read now, before the new
 * batches are handled.
 */
void sink_wake(struct sink *s);
/* True while too many operations wait: sessions must stop reading. */
bool sink_congested(const struct sink *s);
/*
 * Durable operations (alerts, checkpoints, states) neither confirmed by
 * Redis nor durable in the spool: those waiting in memory, and spooled
 * checkpoints not yet synced. Reads and informational writes do not count.
 */
size_t sink_pending(const struct sink *s);
/* True when a spool on disk is configured (spool.dir). */
bool sink_has_spool(const struct sink *s);
/* True while the spool on disk holds operations Redis has not confirmed. */
bool sink_spooling(const struct sink *s);
/* Size of the spool file now. */
uint64_t sink_spool_bytes(const struct sink *s);
/*
 * Bytes of the spool lost to damage: cut at start (a torn or unproven
 * tail), skipped (damage between good records), read as zeros after the
 * disk failed them. Zeros without a spool.
 */
void sink_spool_losses(const struct sink *s, uint64_t *cut, uint64_t *skipped,
    uint64_t *unreadable);
bool sink_connected(const struct sink *s);

#endif
