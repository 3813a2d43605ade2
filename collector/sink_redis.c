/*
 * sink_redis – the Redis implementation of the sink (see sink.h).
 *
 * Operations are RESP commands formatted once (op_addv, resp_bulk) and kept
 * until Redis answers, so a reconnect simply sends the unanswered ones
 * again, in order. hiredis answers callbacks in command order; our own
 * in-flight list mirrors that order.
 *
 * The spool (journal.c, spool.dir): while Redis is unreachable, refuses
 * writes, or is behind by redis.max_pending operations, every durable
 * operation (alerts, checkpoints, agent status) is appended to the journal
 * instead of waiting in memory, and an agent's checkpoint is acknowledged
 * once the journal is fsynced (group commit, spool.sync_ms): event intake
 * never waits for Redis. Order is kept by one rule: memory operations
 * that were waiting go into the journal first (those already sent too),
 * and while the journal holds anything, new durable operations go behind
 * it. When Redis is back, the journal is replayed from the first record
 * not confirmed, in order, then emptied; a full journal makes operations
 * wait in memory behind it ("behind"), and only then are agents slowed.
 * Reads and informational writes never enter the journal. Checkpoints
 * only move forward (the script skips a batch whose number Redis already
 * has), so a record replayed twice (a crash after Redis stored it but
 * before the journal was emptied) stores nothing twice.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "collector.h"
#include "journal.h"
#include "ms_log.h"
#include "ms_redis.h"
#include "ms_util.h"
#include "sink.h"

static const char *exec[] = { "EXEC" };
static const size_t execl[] = { 4 };

/*
 * Agent batches (group commit): each batch's alerts (XADD + PUBLISH each),
 * then its checkpoint; all the batches waiting at that moment go in one
 * call. A script runs whole, without other clients in between, and is one
 * unit in the AOF; a command that fails (OOM, WRONGTYPE) stops it there,
 * so a handled number never passes an alert that was not stored: the
 * batches before the failing one are stored with their checkpoints, the
 * failing one and those after it are not checkpointed and are sent again.
 * A handled number only moves forward: a batch whose number Redis already
 * holds was stored before (a replay after a crash, a resend after a lost
 * reply or an error, another collector) and is skipped whole (-1) – unless
 * nobody stored it: an agent's batch carries the range of its numbers
 * ("<last>/<first>"), and the newest 256 ranges stored per agent are kept
 * (sorted set minisoc:agents:ranges:<id>, scored by their last number). A
 * batch below the handled number that no kept range contains was
 * acknowledged from one collector's spool while the agent went on at
 * another, which moved the number past it (bench/chaos/soak.sh -c 2,
 * e2e_failover_spool_late): its alerts are stored then, the number left
 * as it is. Contained, not overlapped: such a batch can also hold lines
 * the other collector stored (resent to it after an acknowledgement the
 * agent did not get) beside lines nobody stored (read after the agent's
 * restart); those it shares arrive twice rather than the others never.
 * KEYS: stream, handled-number hash, the collectors' own numbers. ARGV:
 * maxlen, channel, then per batch agent id, seq ("" for none), n, and n
 * times json, rule, severity, agent, src_ip. Returns per batch its n, or -1
 * when skipped.
 * The collector's alerts outside agent batches (aggregation summaries, its
 * agent-state alerts, a batch's alerts that did not fit in its script) are
 * batches of their own with the id "#<producer>" – never an agent's CN –
 * and a number per collector process (struct sink's producer, seq): their
 * numbers go to KEYS[3], so they too are stored once whatever is sent
 * again (a spool replayed after a crash, a resend after a lost reply).
 * Sent by EVALSHA: SCRIPT LOAD goes first on every connection, so a
 * restarted Redis has it before any batch; a NOSCRIPT (SCRIPT FLUSH on a
 * live connection) is an error like any other: nothing of that call ran,
 * the connection is dropped and everything is sent again after the load.
 * The journal's records carry the text (EVAL): a spool replays on any
 * collector version, and records of this script are sent grouped by
 * EVALSHA all the same.
 */
static const char batch_lua[] =
	"local r = {}\n"
	"local i, last = 3, #ARGV\n"
	"while i <= last do\n"
	"  local id, seq, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])\n"
	"  local b = i + 3\n"
	"  i = b + n * 5\n"
	"  local done = n\n"
	"  local h = KEYS[2]\n"
	"  local lo, rk\n"
	"  local sl = string.find(seq, '/', 1, true)\n"
	"  if sl then\n"
	"    lo = string.sub(seq, sl + 1)\n"
	"    seq = string.sub(seq, 1, sl - 1)\n"
	"    rk = 'minisoc:agents:ranges:' .. id\n"
	"  end\n"
	"  if string.byte(id, 1) == 35 then h = KEYS[3] end\n"
	"  local held = tonumber(redis.call('HGET', h, id) or '0') or 0\n"
	"  if seq ~= '' and held >= tonumber(seq) then\n"
	"    done = -1\n"
	"    if rk then\n"
	"      local o = redis.call('ZRANGEBYSCORE', rk, seq, '+inf', 'LIMIT', 0, 1)\n"
	"      if #o == 0 or tonumber(string.match(o[1], '^%d+')) > tonumber(lo) then\n"
	"        done = n\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"  if done ~= -1 then\n"
	"    for k = b, i - 1, 5 do\n"
	"      redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'alert', ARGV[k],"
	" 'rule', ARGV[k + 1], 'severity', ARGV[k + 2], 'agent', ARGV[k + 3],"
	" 'src_ip', ARGV[k + 4])\n"
	"      redis.call('PUBLISH', ARGV[2], ARGV[k])\n"
	"    end\n"
	"    if seq ~= '' and held < tonumber(seq) then redis.call('HSET', h, id, seq) end\n"
	"    if rk then\n"
	"      redis.call('ZADD', rk, seq, lo .. ':' .. seq)\n"
	"      redis.call('ZREMRANGEBYRANK', rk, 0, -257)\n"
	"    end\n"
	"  end\n"
	"  r[#r + 1] = done\n"
	"end\n"
	"return r\n";
/*
 * The script of the collectors of 26 Nov 2026 that journaled batches by
 * EVALSHA alone (group commit, before the records carried the text): a
 * spool they left holds its SHA and not its text. Redis forgets a script
 * when it restarts, and this collector loads its own, so such a record met
 * NOSCRIPT at every try and the replay never passed it
 * (e2e_spool_upgrade_evalsha). It is sent as EVAL with this text instead
 * (journal_cmd_legacy); the text must stay as it was, byte for byte.
 */
static const char batch_lua_1126[] =
	"local r = {}\n"
	"local i, last = 3, #ARGV\n"
	"while i <= last do\n"
	"  local id, seq, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])\n"
	"  local b = i + 3\n"
	"  i = b + n * 5\n"
	"  local done = n\n"
	"  if seq ~= '' and (tonumber(redis.call('HGET', KEYS[2], id) or '0') or 0) >="
	" tonumber(seq) then\n"
	"    done = -1\n"
	"  else\n"
	"    for k = b, i - 1, 5 do\n"
	"      redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'alert', ARGV[k],"
	" 'rule', ARGV[k + 1], 'severity', ARGV[k + 2], 'agent', ARGV[k + 3],"
	" 'src_ip', ARGV[k + 4])\n"
	"      redis.call('PUBLISH', ARGV[2], ARGV[k])\n"
	"    end\n"
	"    if seq ~= '' then redis.call('HSET', KEYS[2], id, seq) end\n"
	"  end\n"
	"  r[#r + 1] = done\n"
	"end\n"
	"return r\n";
/* Its SHA1, as those records name it. */
#define BATCH_LUA_1126_SHA "3b736c9012d3076a38cb30f8986fc6d59cbf479d"
/* A group stops growing at this many batches or bytes (one script call). */
#define GROUP_MAX_OPS 1024
#define GROUP_MAX_BYTES (4u << 20)
/* A batch's own arguments (its alerts, RESP-encoded) are bounded by the journal's record. */
#define SEG_MAX_BYTES (JOURNAL_MAX_RECORD / 2)

/*
 * OP_INFO is informational: skipped while congested, errors only logged.
 * Every other kind is sent again after an error reply (see sink_reply_cb).
 */
enum sink_op_kind { OP_ALERT, OP_CHECKPOINT, OP_LOAD, OP_INFO, OP_STATE, OP_AGENTS, OP_STATUS,
	OP_BATCH, OP_SNAPSHOT, OP_GROUP, OP_SCRIPT, OP_SEEN };

/* Kinds that must reach Redis (and so may go to the journal). */
static bool
kind_durable(enum sink_op_kind k)
{
	return k == OP_ALERT || k == OP_CHECKPOINT || k == OP_STATE || k == OP_BATCH ||
	    k == OP_GROUP;
}

#define JOFF_NONE UINT64_MAX
/* Journal records in flight at once during a replay (bounds memory). */
#define JOURNAL_INFLIGHT_MAX 256

TAILQ_HEAD(sink_opq, sink_op);

/*
 * OP_BATCH is one agent batch's alerts and its checkpoint (OP_CHECKPOINT:
 * a checkpoint alone) for batch_lua: Redis stores all of it or, on an
 * error, the alerts before the failing one and never the checkpoint; a
 * collector killed between an alert and its checkpoint cannot leave alerts
 * whose events the agent will send again. Its alerts' arguments are
 * RESP-encoded into seg as they come; the command is built when it is
 * sent, as part of an OP_GROUP (the batches waiting at that moment, in
 * order, one EVALSHA), or alone when it goes to the journal. Batches read
 * back from the journal carry their command instead (cmd).
 */
struct sink_op {
	enum sink_op_kind kind;
	char **cmd;			/* owned RESP commands, sent in order */
	size_t *len;
	unsigned ncmds;			/* replies to expect */
	unsigned capcmds;
	unsigned replies;
	unsigned nalerts;		/* OP_BATCH: alerts inside */
	struct ms_buf seg;		/* OP_BATCH / OP_CHECKPOINT in memory: the alerts' arguments */
	struct sink_opq members;	/* OP_GROUP: its batches, in order (owned) */
	unsigned nmembers;
	struct agent_state *st;		/* CHECKPOINT / LOAD / STATUS; lives as long as the collector */
	uint64_t seq;
	uint64_t first;			/* an agent batch: its first event's number (0: unknown) */
	size_t weight;			/* what it adds to npending (0: read back from the journal) */
	uint64_t joff, jnext;		/* its journal record, or JOFF_NONE */
	int64_t sent_us;		/* monotonic, when written to Redis (metrics) */
	TAILQ_ENTRY(sink_op) link;
};

/* A checkpoint in the journal, acknowledged once the journal is synced. */
struct sink_unsynced {
	struct agent_state *st;
	uint64_t seq;
};

struct sink {
	struct collector *c;
	redisAsyncContext *ac;
	bool connected;
	bool connecting;
	struct sink_opq pending;	/* not sent yet */
	struct sink_opq inflight;	/* sent, waiting for replies */
	size_t npending;		/* pending + inflight (a batch counts 1 + its alerts) */
	size_t ndurable;		/* ... of which durable kinds (what a stop waits for) */
	struct event *retry;
	int64_t backoff_ms;
	unsigned failures;		/* error replies since the last confirmed op */
	bool was_congested;
	struct sink_op *batch;		/* OP_BATCH being filled (sink_batch_begin), not queued */
	/* The spool on disk; NULL when spool.dir is "". */
	struct journal *j;
	bool spilling;			/* the journal holds records not yet confirmed */
	uint64_t jsent;			/* offset of the next record to send */
	size_t jinflight;		/* journal records sent, not yet confirmed */
	struct sink_opq behind;		/* durable ops that did not fit in the journal: after it */
	struct sink_unsynced *unsynced;	/* checkpoints waiting for the next sync */
	size_t nunsynced, capunsynced;
	struct event *sync_timer;
	struct event *jretry;		/* the replay tries the journal again (a read failed) */
	char sha[2 * SHA_DIGEST_LENGTH + 1];	/* batch_lua's SHA1, hex (EVALSHA) */
	/*
	 * The collector's own alerts (outside agent batches) are numbered
	 * batches of this producer: "#" and 16 random hex digits, new at
	 * every start, and the last number given (see batch_lua).
	 */
	char producer[18];
	uint64_t producer_seq;
	bool use_eval;			/* SCRIPT LOAD refused (renamed, ACL): EVAL with the text */
	struct ms_buf cmdbuf;		/* scratch: a batch's command for the journal */
	struct ms_buf head;		/* the fixed part of batch commands, after "*N CRLF" */
	size_t seg_hint;		/* room a batch's alerts took last time (a batch's first reserve) */
	/* hiredis' event hooks (sink_ev_attach) and the end of a loop pass (kick_cb). */
	struct sink_ev *ev;		/* the connection's events; NULL between connections */
	struct event *kick;		/* active: kick_cb runs before the loop waits again */
	bool flush_due;			/* kick_cb sends what is pending (group commit) */
	bool write_due;			/* kick_cb writes hiredis' output buffer */
	bool in_write;			/* inside kick_cb's redisAsyncHandleWrite */
	/*
	 * Quiet replies (redis.reply_wait_us): while calls are in flight the
	 * connection is not watched for reading; their replies are read when
	 * an agent's data wakes the collector anyway (sink_wake), or when
	 * reply_timer ends the wait. A collector between two arrivals then
	 * wakes once per arrival, not once more for each reply.
	 */
	bool quiet;
	struct event *reply_timer;
	bool woke;			/* sink_wake read in this loop pass (kick_cb clears it) */
};

/*
 * The Redis connection's two events (hiredis' hooks, sink_ev_attach). The
 * read event is persistent: hiredis asks for reads again after every one,
 * which with its own libevent adapter (a one-shot event) cost two
 * epoll_ctl calls per reply. Writes go out directly at the end of the loop
 * pass (kick_cb); the write event is only added when the socket did not
 * take everything, or while connecting.
 */
struct sink_ev {
	struct sink *s;
	redisAsyncContext *ac;
	struct event *rev, *wev;
	bool reading;
};

static void sink_connect(struct sink *s);
static void sink_flush(struct sink *s);
static void sink_flush_soon(struct sink *s);
static void sink_ev_add_read(void *priv);
static void sink_ev_del_read(void *priv);
static void quiet_end(struct sink *s);

static const char *
op_kind_name(enum sink_op_kind k)
{
	switch (k) {
	case OP_ALERT: return "alert";
	case OP_CHECKPOINT: return "checkpoint";
	case OP_LOAD: return "load";
	case OP_INFO: return "info";
	case OP_STATE: return "state";
	case OP_AGENTS: return "load_agents";
	case OP_STATUS: return "load_status";
	case OP_SEEN: return "check_seen";
	case OP_BATCH: return "batch";
	case OP_SNAPSHOT: return "snapshot";
	case OP_GROUP: return "batches";
	case OP_SCRIPT: return "script_load";
	}
	return "?";
}

static void
op_free(struct sink_op *op)
{
	struct sink_op *m;

	if (op == NULL)
		return;
	for (unsigned i = 0; i < op->ncmds; i++)
		redisFreeCommand(op->cmd[i]);
	free(op->cmd);
	free(op->len);
	ms_buf_fini(&op->seg);
	while ((m = TAILQ_FIRST(&op->members)) != NULL) {
		TAILQ_REMOVE(&op->members, m, link);
		op_free(m);
	}
	free(op);
}

static struct sink_op *
op_new(enum sink_op_kind kind)
{
	struct sink_op *op = calloc(1, sizeof(*op));
	if (op) {
		op->kind = kind;
		op->joff = op->jnext = JOFF_NONE;
		ms_buf_init(&op->seg, SEG_MAX_BYTES);
		TAILQ_INIT(&op->members);
	}
	return op;
}

/* Writes v in decimal at p (room for 20 digits); returns the digits written. */
static size_t
put_u64(char *p, uint64_t v)
{
	char t[20];
	size_t n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

/* Appends one RESP bulk string ($len CRLF bytes CRLF) to b. 0 or -1. */
static int
resp_bulk(struct ms_buf *b, const char *p, size_t n)
{
	char *w = ms_buf_room(b, n + 26);
	size_t k = 0;

	if (w == NULL)
		return -1;
	w[k++] = '$';
	k += put_u64(w + k, n);
	w[k++] = '\r';
	w[k++] = '\n';
	memcpy(w + k, p, n);
	k += n;
	w[k++] = '\r';
	w[k++] = '\n';
	ms_buf_commit(b, k);
	return 0;
}

static int
resp_bulk_u64(struct ms_buf *b, uint64_t v)
{
	char d[20];

	return resp_bulk(b, d, put_u64(d, v));
}

/*
 * Appends one command to op (op owns the bytes), RESP-encoded here into
 * one allocation of the right size: the bytes redisFormatCommandArgv
 * gives, without its sprintf per argument and its growing copies (the
 * collector's alerts outside agent batches, summaries, hashes).
 */
static int
op_addv(struct sink_op *op, int argc, const char **argv, const size_t *argvlen)
{
	struct ms_buf b;
	size_t need = 24;
	char *w;
	size_t k = 0;

	if (op->ncmds == op->capcmds) {
		unsigned ncap = op->capcmds ? op->capcmds * 2 : 4;
		char **nc = realloc(op->cmd, ncap * sizeof(*nc));
		size_t *nl;

		if (nc == NULL)
			return -1;
		op->cmd = nc;
		if ((nl = realloc(op->len, ncap * sizeof(*nl))) == NULL)
			return -1;
		op->len = nl;
		op->capcmds = ncap;
	}
	for (int i = 0; i < argc; i++)
		need += argvlen[i] + 26;
	ms_buf_init(&b, SIZE_MAX);
	if ((w = ms_buf_room(&b, need)) == NULL)
		goto fail;
	w[k++] = '*';
	k += put_u64(w + k, (uint64_t)argc);
	w[k++] = '\r';
	w[k++] = '\n';
	ms_buf_commit(&b, k);
	for (int i = 0; i < argc; i++)
		if (resp_bulk(&b, argv[i], argvlen[i]) < 0)
			goto fail;
	op->cmd[op->ncmds] = b.data;
	op->len[op->ncmds] = b.len;
	op->ncmds++;
	return 0;
fail:
	ms_buf_fini(&b);
	return -1;
}

/* Arguments a batch adds to batch_lua's call. */
static size_t
seg_nargs(const struct sink_op *op)
{
	return 3 + 5 * (size_t)op->nalerts;
}

/*
 * Starts the command for batches with nargs arguments of their own in out
 * (emptied first): EVAL with the script's text when text (the journal's
 * records, which so replay on any collector version, whatever script it
 * has loaded) or when Redis refuses SCRIPT LOAD, else EVALSHA; then the
 * keys, maxlen and channel.
 */
static int
cmd_begin(struct sink *s, struct ms_buf *out, size_t nargs, bool text)
{
	const struct collector_conf *cf = &s->c->conf;
	char *w;
	size_t k = 0;

	ms_buf_reset(out);
	if ((w = ms_buf_room(out, 24)) == NULL)
		return -1;
	w[k++] = '*';
	k += put_u64(w + k, 8 + nargs);
	w[k++] = '\r';
	w[k++] = '\n';
	ms_buf_commit(out, k);
	if ((text || s->use_eval ?
	    resp_bulk(out, "EVAL", 4) < 0 || resp_bulk(out, batch_lua, sizeof(batch_lua) - 1) < 0 :
	    resp_bulk(out, "EVALSHA", 7) < 0 || resp_bulk(out, s->sha, strlen(s->sha)) < 0) ||
	    resp_bulk(out, "3", 1) < 0 ||
	    resp_bulk(out, cf->redis_stream, strlen(cf->redis_stream)) < 0 ||
	    resp_bulk(out, "minisoc:agents:seq", 18) < 0 ||
	    resp_bulk(out, "minisoc:sink:seq", 16) < 0 ||
	    resp_bulk_u64(out, (uint64_t)cf->redis_stream_maxlen) < 0 ||
	    resp_bulk(out, cf->redis_channel, strlen(cf->redis_channel)) < 0)
		return -1;
	return 0;
}

/*
 * Appends batch op's arguments: agent id (the producer's for the
 * collector's own alerts), seq ("" for none), n, its alerts'.
 */
static int
cmd_add_seg(const struct sink *s, struct ms_buf *out, const struct sink_op *op)
{
	const char *id = op->st ? op->st->id : op->seq ? s->producer : "";
	int rc;

	rc = resp_bulk(out, id, strlen(id));
	if (rc == 0 && op->st && op->seq && op->first && op->first <= op->seq) {
		char r[48];
		size_t k = put_u64(r, op->seq);

		r[k++] = '/';
		k += put_u64(r + k, op->first);
		rc = resp_bulk(out, r, k);
	} else if (rc == 0) {
		rc = op->seq ? resp_bulk_u64(out, op->seq) : resp_bulk(out, "", 0);
	}
	if (rc == 0)
		rc = resp_bulk_u64(out, op->nalerts);
	if (rc == 0 && op->seg.len)
		rc = ms_buf_add(out, op->seg.data, op->seg.len);
	return rc;
}

/* Whether op is a batch still in memory form (its command built when sent). */
static bool
op_is_seg(const struct sink_op *op)
{
	return (op->kind == OP_BATCH || op->kind == OP_CHECKPOINT) && op->ncmds == 0;
}

/* Gives op the command built in b (b is left empty). */
static int
op_take_cmd(struct sink_op *op, struct ms_buf *b)
{
	if ((op->cmd = malloc(sizeof(*op->cmd))) == NULL ||
	    (op->len = malloc(sizeof(*op->len))) == NULL)
		return -1;
	op->cmd[0] = b->data;
	op->len[0] = b->len;
	op->ncmds = op->capcmds = 1;
	memset(b, 0, sizeof(*b));
	return 0;
}

/* Adds (sign 1) or removes (-1) op's weight from the memory counts. */
static void
weigh(struct sink *s, const struct sink_op *op, int sign)
{
	if (sign > 0) {
		s->npending += op->weight;
		if (kind_durable(op->kind))
			s->ndurable += op->weight;
	} else {
		s->npending -= op->weight;
		if (kind_durable(op->kind))
			s->ndurable -= op->weight;
	}
}

static void
sink_enqueue(struct sink *s, struct sink_op *op)
{
	TAILQ_INSERT_TAIL(&s->pending, op, link);
	/* A batch weighs what it holds: the bound is on alerts waiting, not on operations. */
	op->weight = 1 + op->nalerts;
	weigh(s, op, 1);
	if (sink_congested(s))
		s->was_congested = true;
	if (s->connected)
		sink_flush_soon(s);
}

/*
 * Whether op is a batch with a number (an agent's checkpoint, or the
 * producer's number of the collector's own alerts): skipped when Redis
 * holds it, so it waits for everything before it to be confirmed.
 */
static bool
op_numbered(const struct sink_op *op)
{
	return (op->kind == OP_CHECKPOINT || op->kind == OP_BATCH) && op->seq;
}

/* Whether op moves an agent's handled number (and so acknowledges it). */
static bool
op_checkpoints(const struct sink_op *op)
{
	return (op->kind == OP_CHECKPOINT || op->kind == OP_BATCH) && op->st != NULL && op->seq;
}

static void
sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink *s = arg;
	size_t n = s->nunsynced;

	if (n == 0 || s->j == NULL)
		return;
	if (journal_sync(s->j) < 0) {
		/* Not durable: no ACK. Try again; the disk may come back. */
		struct timeval tv = { 1, 0 };
		evtimer_add(s->sync_timer, &tv);
		return;
	}
	s->nunsynced = 0;
	for (size_t i = 0; i < n; i++) {
		struct agent_state *st = s->unsynced[i].st;
		if (s->unsynced[i].seq > st->durable_seq)
			st->durable_seq = s->unsynced[i].seq;
		if (st->session)
			session_ack(st->session, st->durable_seq);
	}
	if (s->c->stopping)
		collector_maybe_exit(s->c);
}

/* Writes op to the journal (op keeps its memory copy). 0 or -1. */
static int
journal_put(struct sink *s, struct sink_op *op)
{
	struct journal_rec r;
	uint64_t off = journal_size(s->j);

	if (op->kind == OP_GROUP) {
		/* Each batch its own record: the journal's records stay per agent batch. */
		struct sink_op *m;

		TAILQ_FOREACH(m, &op->members, link)
			if (journal_put(s, m) < 0)
				return -1;
		op->joff = off;
		op->jnext = journal_size(s->j);
		return 0;
	}
	if (op->ncmds > JOURNAL_MAX_CMDS)
		return -1;
	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)op->kind;
	r.seq = op_numbered(op) || op->kind == OP_SNAPSHOT ? op->seq : 0;
	r.nalerts = op->nalerts;
	r.agent = op->st ? op->st->id : "";
	r.agent_len = strlen(r.agent);
	r.ncmds = op->ncmds;
	for (unsigned i = 0; i < op->ncmds; i++) {
		r.cmd[i] = op->cmd[i];
		r.cmdlen[i] = op->len[i];
	}
	if (op_is_seg(op)) {
		/* The batch alone, as one command. */
		if (cmd_begin(s, &s->cmdbuf, seg_nargs(op), true) < 0 ||
		    cmd_add_seg(s, &s->cmdbuf, op) < 0) {
			ms_buf_reset(&s->cmdbuf);
			return -1;
		}
		r.ncmds = 1;
		r.cmd[0] = s->cmdbuf.data;
		r.cmdlen[0] = s->cmdbuf.len;
	}
	if (journal_append(s->j, &r) < 0)
		return -1;
	op->joff = off;
	op->jnext = journal_size(s->j);
	s->c->stats.spool_records++;
	if (op_checkpoints(op)) {
		if (s->nunsynced == s->capunsynced) {
			size_t ncap = s->capunsynced ? s->capunsynced * 2 : 64;
			struct sink_unsynced *nu = realloc(s->unsynced, ncap * sizeof(*nu));
			if (nu == NULL)
				return 0;	/* stored; acknowledged when Redis confirms it */
			s->unsynced = nu;
			s->capunsynced = ncap;
		}
		s->unsynced[s->nunsynced].st = op->st;
		s->unsynced[s->nunsynced++].seq = op->seq;
		if (!evtimer_pending(s->sync_timer, NULL)) {
			struct timeval tv = { s->c->conf.spool_sync_ms / 1000,
				(suseconds_t)(s->c->conf.spool_sync_ms % 1000) * 1000 };
			evtimer_add(s->sync_timer, &tv);
		}
	}
	return 0;
}

static void
sink_check_drained(struct sink *s)
{
	if (s->was_congested && s->npending <= s->c->conf.redis_max_pending / 2) {
		s->was_congested = false;
		collector_sink_drained(s->c);
	}
}

/*
 * Starts writing durable operations to the journal: first what every agent
 * is known to have handled (so a restart while Redis is away can answer
 * their hellos), then the durable operations already sent (kept in flight:
 * their replies confirm the records), then those waiting, in order. 0, or
 * -1 when the journal cannot take even that (then nothing changed).
 */
static int
spill_start(struct sink *s)
{
	struct ms_map_iter it;
	struct agent_state *st;
	struct sink_op *op, *next;
	const void *k;
	size_t kl;

	if (s->j == NULL)
		return -1;
	if (s->spilling)
		return 0;
	ms_map_iter_init(&it);
	while ((st = ms_map_next(s->c->agents, &it, &k, &kl)) != NULL) {
		struct sink_op snap;

		if (!st->loaded || st->durable_seq == 0)
			continue;
		memset(&snap, 0, sizeof(snap));
		snap.kind = OP_SNAPSHOT;
		snap.st = st;
		snap.seq = st->durable_seq;
		if (journal_put(s, &snap) < 0)
			goto undo;
	}
	TAILQ_FOREACH(op, &s->inflight, link)
		if (kind_durable(op->kind) && op->joff == JOFF_NONE && journal_put(s, op) < 0)
			goto undo;
	s->jsent = journal_size(s->j);
	TAILQ_FOREACH(op, &s->inflight, link)
		if (op->joff != JOFF_NONE)
			s->jinflight++;
	s->spilling = true;
	ms_warn("event=spool_start path=%s reason=%s pending=%zu", journal_path(s->j),
	    s->connected ? "redis_behind" : "redis_unreachable", s->npending);
	for (op = TAILQ_FIRST(&s->pending); op != NULL; op = next) {
		next = TAILQ_NEXT(op, link);
		if (!kind_durable(op->kind))
			continue;
		TAILQ_REMOVE(&s->pending, op, link);
		if (TAILQ_EMPTY(&s->behind) && journal_put(s, op) == 0) {
			weigh(s, op, -1);
			op_free(op);
		} else {
			/* The journal is full: it waits behind it, still in order. */
			TAILQ_INSERT_TAIL(&s->behind, op, link);
		}
	}
	/* The replay goes at Redis' pace: its replies are read as they come. */
	quiet_end(s);
	sink_check_drained(s);
	return 0;
undo:
	/* Nothing of it is relied on yet: start again later from an empty journal. */
	TAILQ_FOREACH(op, &s->inflight, link) {
		struct sink_op *m;

		op->joff = op->jnext = JOFF_NONE;
		TAILQ_FOREACH(m, &op->members, link)
			m->joff = m->jnext = JOFF_NONE;
	}
	s->nunsynced = 0;
	journal_reset(s->j);
	return -1;
}

/* Every record is confirmed: the journal is emptied, what waited behind it follows. */
static void
spill_end(struct sink *s)
{
	struct sink_op *op;

	if (journal_reset(s->j) < 0)
		return;	/* replayed again later: nothing is stored twice */
	/*
	 * Checkpoints still waiting for a sync are in Redis now (acknowledged
	 * as Redis confirmed them) or were lost to damage: never acknowledged
	 * by a sync of the emptied file (after a failed sync they wait here).
	 */
	s->nunsynced = 0;
	s->spilling = false;
	s->jsent = 0;
	ms_info("event=spool_replayed path=%s note=\"everything in it is in Redis\"",
	    journal_path(s->j));
	while ((op = TAILQ_FIRST(&s->behind)) != NULL) {
		TAILQ_REMOVE(&s->behind, op, link);
		TAILQ_INSERT_TAIL(&s->pending, op, link);
	}
	if (s->c->stopping)
		collector_maybe_exit(s->c);
}

/*
 * Where a new operation goes: to Redis through memory while Redis keeps up,
 * to the journal while it does not (or while the journal still holds
 * anything, to keep the order), or behind a full journal.
 */
static void
sink_submit(struct sink *s, struct sink_op *op)
{
	if (!kind_durable(op->kind) || s->j == NULL) {
		sink_enqueue(s, op);
		return;
	}
	if (!s->spilling) {
		if ((s->connected && !sink_congested(s)) || spill_start(s) < 0) {
			sink_enqueue(s, op);
			/*
			 * Redis fell behind just now: spool from here on, this one
			 * included, before sessions would be paused for it.
			 */
			if (sink_congested(s) && s->connected)
				spill_start(s);
			return;
		}
	}
	if (TAILQ_EMPTY(&s->behind) && journal_put(s, op) == 0) {
		op_free(op);
		if (s->connected)
			sink_flush(s);
		return;
	}
	TAILQ_INSERT_TAIL(&s->behind, op, link);
	op->weight = 1 + op->nalerts;
	weigh(s, op, 1);
	if (sink_congested(s))
		s->was_congested = true;
}

/*
 * A journal command that is EVALSHA of batch_lua_1126 ("*N", "EVALSHA",
 * its SHA, then the rest) as EVAL with that script's text, the rest as it
 * was: 1 with the new command in *out (malloc'd, NUL-ended) and *outlen;
 * 0 for any other command (sent as written); -1 out of memory.
 */
static int
journal_cmd_legacy(const char *cmd, size_t len, char **out, size_t *outlen)
{
	static const char sha_arg[] = "$7\r\nEVALSHA\r\n$40\r\n" BATCH_LUA_1126_SHA "\r\n";
	const size_t sha_len = sizeof(sha_arg) - 1;
	const char *p = cmd, *end = cmd + len;
	struct ms_buf b;

	if (p == end || *p++ != '*')
		return 0;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return 0;
	p += 2;
	if ((size_t)(end - p) < sha_len || memcmp(p, sha_arg, sha_len) != 0)
		return 0;
	ms_buf_init(&b, SIZE_MAX);
	if (ms_buf_add(&b, cmd, (size_t)(p - cmd)) < 0 || resp_bulk(&b, "EVAL", 4) < 0 ||
	    resp_bulk(&b, batch_lua_1126, sizeof(batch_lua_1126) - 1) < 0 ||
	    ms_buf_add(&b, p + sha_len, (size_t)(end - p) - sha_len) < 0 ||
	    (*out = malloc(b.len + 1)) == NULL) {
		ms_buf_fini(&b);
		return -1;
	}
	memcpy(*out, b.data, b.len);
	(*out)[b.len] = '\0';
	*outlen = b.len;
	ms_buf_fini(&b);
	return 1;
}

/* Rebuilds the operation of a journal record (its agent's state looked up). */
static struct sink_op *
op_from_rec(struct sink *s, const struct journal_rec *r, uint64_t off, uint64_t next)
{
	struct sink_op *op = op_new((enum sink_op_kind)r->kind);
	char id[128];

	if (op == NULL)
		return NULL;
	op->joff = off;
	op->jnext = next;
	op->nalerts = r->nalerts;
	op->seq = r->seq;
	if (r->agent_len) {
		ms_copy(id, sizeof(id), r->agent, r->agent_len);
		op->st = collector_agent(s->c, id);
	}
	if (r->ncmds &&
	    ((op->cmd = calloc(r->ncmds, sizeof(*op->cmd))) == NULL ||
	    (op->len = calloc(r->ncmds, sizeof(*op->len))) == NULL))
		goto fail;
	op->capcmds = r->ncmds;
	for (uint32_t i = 0; i < r->ncmds; i++) {
		int rc = 0;

		if ((r->kind == OP_BATCH || r->kind == OP_CHECKPOINT) &&
		    (rc = journal_cmd_legacy(r->cmd[i], r->cmdlen[i], &op->cmd[i], &op->len[i])) != 0) {
			if (rc < 0)
				goto fail;
			op->ncmds++;
			continue;
		}
		if ((op->cmd[i] = malloc(r->cmdlen[i] + 1)) == NULL)
			goto fail;
		memcpy(op->cmd[i], r->cmd[i], r->cmdlen[i]);
		op->cmd[i][r->cmdlen[i]] = '\0';
		op->len[i] = r->cmdlen[i];
		op->ncmds++;
	}
	return op;
fail:
	op_free(op);
	return NULL;
}

/*
 * At start: what the journal left by the last run says about agents'
 * handled numbers (they are not in Redis yet), and that it must be replayed.
 */
static void
journal_recover(struct sink *s)
{
	struct journal_rec r;
	uint64_t off = 0, next;
	size_t n = 0;
	char id[128];
	int rc;

	while ((rc = journal_read(s->j, off, &r, &next)) > 0) {
		if (rc == 2) {
			/* Damaged: its records are lost (counted and logged by the journal). */
			off = next;
			continue;
		}
		n++;
		if (r.seq && r.agent_len && (r.kind == OP_CHECKPOINT || r.kind == OP_BATCH ||
		    r.kind == OP_SNAPSHOT)) {
			struct agent_state *st;
			ms_copy(id, sizeof(id), r.agent, r.agent_len);
			if ((st = collector_agent(s->c, id)) != NULL) {
				if (r.seq > st->durable_seq)
					st->durable_seq = st->handled_seq = r.seq;
				st->loaded = true;
			}
		}
		off = next;
	}
	if (rc < 0)
		ms_err("event=spool_recover_incomplete path=%s offset=%llu note=\"agents' numbers "
		    "after it are not known: what they send again may be stored twice\"",
		    journal_path(s->j), (unsigned long long)off);
	/* Replayed whenever it holds anything, even if it could not be read through. */
	if (journal_size(s->j) == 0)
		return;
	s->spilling = true;
	s->jsent = 0;
	ms_info("event=spool_recovered path=%s records=%zu bytes=%llu", journal_path(s->j), n,
	    (unsigned long long)journal_size(s->j));
}

/* The reply to HGETALL minisoc:agents:last_seen, as strings for health.c. */
static void
op_agents_done(struct sink *s, redisReply *r)
{
	const char **kv = NULL;
	size_t n = 0;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    (kv = calloc(r->elements, sizeof(*kv))) != NULL) {
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			if (r->element[i]->type != REDIS_REPLY_STRING ||
			    r->element[i + 1]->type != REDIS_REPLY_STRING)
				continue;
			kv[n++] = r->element[i]->str;
			kv[n++] = r->element[i + 1]->str;
		}
	} else if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		ms_err("event=agents_not_loaded reason=out_of_memory");
	}
	health_agents_listed(s->c, kv, n);
	free(kv);
}

static void
op_done(struct sink *s, struct sink_op *op, redisReply *r)
{
	switch (op->kind) {
	case OP_GROUP: {
		/* One reply per batch, in order (batch_lua). */
		struct sink_op *m;
		size_t i = 0;

		TAILQ_FOREACH(m, &op->members, link) {
			redisReply *e = r && r->type == REDIS_REPLY_ARRAY && i < r->elements ?
			    r->element[i] : NULL;
			op_done(s, m, e);
			i++;
		}
		break;
	}
	case OP_SCRIPT: {
		/*
		 * A Redis that refuses SCRIPT LOAD (the command renamed away, an
		 * ACL without it) still runs EVAL: batches then carry the
		 * script's text. Asked again on every connection.
		 */
		bool refused = r != NULL && r->type == REDIS_REPLY_ERROR;

		if (refused != s->use_eval) {
			s->use_eval = refused;
			if (refused)
				ms_warn("event=redis_script_load_refused reason=\"%.200s\" "
				    "note=\"batches are sent by EVAL with the script's text\"", r->str);
			else
				ms_info("event=redis_script_loaded note=\"batches are sent by EVALSHA again\"");
		}
		if (!refused && !(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, s->sha) == 0))
			ms_err("event=redis_script_mismatch sha=%s reply=\"%.64s\"", s->sha,
			    r && r->type == REDIS_REPLY_STRING ? r->str : "?");
		break;
	}
	case OP_ALERT:
		s->c->stats.alerts_written++;
		break;
	case OP_BATCH:
		/* A batch read back from the journal gets its own one-element reply. */
		if (r && r->type == REDIS_REPLY_ARRAY)
			r = r->elements == 1 ? r->element[0] : NULL;
		/* -1: Redis had this checkpoint already, nothing was written again. */
		if (!(r && r->type == REDIS_REPLY_INTEGER && r->integer < 0))
			s->c->stats.alerts_written += op->nalerts;
		if (op->st == NULL)
			break;
		/* FALLTHROUGH */
	case OP_CHECKPOINT:
		if (op->st == NULL)
			break;	/* read back from the journal for an agent we had no memory for */
		if (op->seq > op->st->durable_seq)
			op->st->durable_seq = op->seq;
		if (op->st->session)
			session_ack(op->st->session, op->st->durable_seq);
		break;
	case OP_LOAD: {
		uint64_t v = 0;
		if (r && r->type == REDIS_REPLY_STRING) {
			char *end = NULL;
			unsigned long long x = strtoull(r->str, &end, 10);
			if (end && *end == '\0')
				v = x;
		}
		/*
		 * Checkpoints of this collector in memory went out before this
		 * read (one ordered pipeline), but the spool's records go after
		 * reads, and a batch Redis stored on a connection that dropped
		 * before its reply is not confirmed here: Redis may hold a number
		 * above the confirmed one and below the handled one. It is
		 * durable, but what was handled after it is still on its way
		 * (memory or spool): the handled number never goes back, or the
		 * agent's resend would run through detection again and a batch
		 * ending above the spool's would store its alerts twice. A
		 * number above the handled one is another collector's work.
		 */
		if (!op->st->loaded) {
			op->st->handled_seq = op->st->durable_seq = v;
		} else if (v > op->st->durable_seq) {
			op->st->durable_seq = v;
			if (v > op->st->handled_seq)
				op->st->handled_seq = v;
		}
		op->st->loaded = true;
		if (op->st->session)
			session_loaded(op->st->session);
		break;
	}
	case OP_INFO:
	case OP_STATE:
	case OP_SNAPSHOT:
		break;
	case OP_AGENTS:
		op_agents_done(s, r);
		break;
	case OP_STATUS: {
		const char *v[4] = { NULL, NULL, NULL, NULL };
		if (r && r->type == REDIS_REPLY_ARRAY)
			for (size_t i = 0; i < r->elements && i < 4; i++)
				if (r->element[i]->type == REDIS_REPLY_STRING)
					v[i] = r->element[i]->str;
		health_status_loaded(s->c, op->st, v[0], v[1], v[2], v[3]);
		break;
	}
	case OP_SEEN: {
		const char *v[4] = { NULL, NULL, NULL, NULL };
		if (r && r->type == REDIS_REPLY_ARRAY)
			for (size_t i = 0; i < r->elements && i < 4; i++)
				if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len > 0)
					v[i] = r->element[i]->str;
		health_seen_checked(s->c, op->st, v[0], v[1], v[2], v[3]);
		break;
	}
	}
}

static void
sink_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct sink *s = ac->data;
	redisReply *r = reply;
	struct sink_op *op = privdata;

	/* NULL reply: the connection is going away; the disconnect callback requeues. */
	if (r == NULL || s == NULL)
		return;
	if (op != TAILQ_FIRST(&s->inflight)) {
		ms_err("event=redis_reply_mismatch reason=\"reply for an unexpected operation\"");
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		s->c->stats.redis_errors++;
		ms_warn("event=redis_error kind=%s reason=\"%.200s\"", op_kind_name(op->kind), r->str);
		/* SCRIPT LOAD refused (op_done switches to EVAL); nothing was to be stored. */
		if (op->kind != OP_INFO && op->kind != OP_SCRIPT) {
			if (++s->failures % 10 == 0)
				ms_err("event=redis_refuses kind=%s failures=%u reason=\"%.200s\" "
				    "note=\"nothing after it is acknowledged until Redis accepts it\"",
				    op_kind_name(op->kind), s->failures, r->str);
			/*
			 * Not stored (OOM, LOADING, MISCONF, READONLY ...): nothing after
			 * it may be confirmed either, or an ACK would cover a lost alert.
			 * Dropping the connection here discards the replies already read
			 * and requeues every operation in flight, this one first; the
			 * retry comes after the usual backoff.
			 */
			redisAsyncFree(ac);
			return;
		}
	}
	if (++op->replies < op->ncmds)
		return;
	TAILQ_REMOVE(&s->inflight, op, link);
	if (op->kind == OP_GROUP) {
		struct sink_op *m;

		TAILQ_FOREACH(m, &op->members, link)
			weigh(s, m, -1);
	} else {
		weigh(s, op, -1);
	}
	if (op->joff != JOFF_NONE) {
		s->jinflight--;
		if (op->kind == OP_GROUP) {
			struct sink_op *m;

			TAILQ_FOREACH(m, &op->members, link)
				if (m->weight == 0)
					s->c->stats.spool_replayed++;
		} else if (op->weight == 0) {
			s->c->stats.spool_replayed++;
		}
	}
	/*
	 * Only a stored durable operation says Redis takes writes again:
	 * SCRIPT LOAD (sent first on every connection) and reads succeed on
	 * a Redis that refuses writes (OOM, MISCONF), which must stay on the
	 * growing backoff and reach event=redis_refuses.
	 */
	if (kind_durable(op->kind) && r->type != REDIS_REPLY_ERROR) {
		s->backoff_ms = 0;
		s->failures = 0;
	}
	metrics_redis_rtt(s->c, ms_mono_us() - op->sent_us);
	op_done(s, op, r);
	op_free(op);
	/* A checkpoint may be waiting for exactly this; journal records for room. */
	sink_flush(s);
	sink_check_drained(s);
	if (sink_pending(s) == 0 && s->c->stopping)
		collector_maybe_exit(s->c);
}

/* Sends op (moved to the in-flight list); false when the context is going away. */
static bool
op_send(struct sink *s, struct sink_op *op)
{
	TAILQ_INSERT_TAIL(&s->inflight, op, link);
	op->replies = 0;
	op->sent_us = ms_mono_us();
	/* One callback per command; all carry op, the last one completes it. */
	for (unsigned i = 0; i < op->ncmds; i++) {
		if (redisAsyncFormattedCommand(s->ac, sink_reply_cb, op, op->cmd[i],
		    op->len[i]) != REDIS_OK) {
			/* The context is going away; its disconnect requeues us. */
			return false;
		}
	}
	return true;
}

/*
 * The arguments of batch record r of its own (agent id, seq, n, alerts)
 * when its command is this script's EVAL as journal_put writes it:
 * 0 with *seg, *segl, or -1 (another script's record, an older shape,
 * an EVALSHA record of the 26 Nov format: replayed alone as written).
 */
static int
rec_seg(struct sink *s, const struct journal_rec *r, const char **seg, size_t *segl)
{
	const char *p, *end;
	uint64_t nargs = 0;

	if (r->ncmds != 1 || r->cmdlen[0] < 4 || r->cmd[0][0] != '*')
		return -1;
	if (s->head.len == 0) {
		if (cmd_begin(s, &s->head, 0, true) < 0 || s->head.len < 4)
			return -1;
		/* Without its "*7\r\n". */
		memmove(s->head.data, s->head.data + 4, s->head.len - 4);
		s->head.len -= 4;
	}
	p = r->cmd[0] + 1;
	end = r->cmd[0] + r->cmdlen[0];
	while (p < end && *p >= '0' && *p <= '9' && nargs < 1000000000)
		nargs = nargs * 10 + (uint64_t)(*p++ - '0');
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return -1;
	p += 2;
	if ((size_t)(end - p) < s->head.len || memcmp(p, s->head.data, s->head.len) != 0 ||
	    nargs != 8 + 3 + 5 * (uint64_t)r->nalerts)
		return -1;
	*seg = p + s->head.len;
	*segl = (size_t)(end - *seg);
	return 0;
}

/*
 * Replays the batch records at the journal's send point in one call, as
 * group_take does for memory: consecutive records of this script, one
 * without a checkpoint last (agents' snapshots in between are passed
 * over). NULL when the first record cannot be grouped (another script's
 * or an older record) or out of memory: it then goes alone.
 */
static struct sink_op *
journal_group(struct sink *s)
{
	struct journal_rec r;
	struct sink_op *g, *m;
	struct ms_buf b, cmd;
	uint64_t off = s->jsent, next;
	size_t nargs = 0;
	unsigned n = 0;
	char id[128];

	if ((g = op_new(OP_GROUP)) == NULL)
		return NULL;
	ms_buf_init(&b, SIZE_MAX);
	ms_buf_init(&cmd, SIZE_MAX);
	while (n < GROUP_MAX_OPS && b.len < GROUP_MAX_BYTES && off < journal_size(s->j) &&
	    journal_read(s->j, off, &r, &next) == 1) {
		const char *seg;
		size_t segl;

		if (r.kind == OP_SNAPSHOT) {
			off = next;
			continue;
		}
		if ((r.kind != OP_BATCH && r.kind != OP_CHECKPOINT) || rec_seg(s, &r, &seg, &segl) < 0)
			break;
		if ((m = op_new((enum sink_op_kind)r.kind)) == NULL || ms_buf_add(&b, seg, segl) < 0) {
			op_free(m);
			goto fail;
		}
		m->joff = off;
		m->jnext = next;
		m->nalerts = r.nalerts;
		m->seq = r.seq;
		if (r.agent_len) {
			ms_copy(id, sizeof(id), r.agent, r.agent_len);
			m->st = collector_agent(s->c, id);
		}
		TAILQ_INSERT_TAIL(&g->members, m, link);
		n++;
		nargs += 3 + 5 * (size_t)r.nalerts;
		off = next;
		if (r.seq == 0)
			break;
	}
	if (n == 0 || cmd_begin(s, &cmd, nargs, false) < 0 || ms_buf_add(&cmd, b.data, b.len) < 0 ||
	    op_take_cmd(g, &cmd) < 0)
		goto fail;
	ms_buf_fini(&b);
	g->nmembers = n;
	g->joff = s->jsent;
	g->jnext = off;
	s->jsent = off;
	return g;
fail:
	ms_buf_fini(&b);
	ms_buf_fini(&cmd);
	op_free(g);
	return NULL;
}

/*
 * The journal's next record: 1 sent (or skipped), 0 nothing to do now, -1
 * the context is going away.
 */
static int
flush_journal(struct sink *s)
{
	struct journal_rec r;
	struct sink_op *op;
	uint64_t next;
	int rc;

	if (s->jsent >= journal_size(s->j)) {
		if (s->jinflight == 0)
			spill_end(s);
		return s->spilling ? 0 : 1;
	}
	if (s->jinflight >= JOURNAL_INFLIGHT_MAX)
		return 0;
	if ((rc = journal_read(s->j, s->jsent, &r, &next)) == 0) {
		s->jsent = journal_size(s->j);	/* only the writer's sync marks were left */
		return 1;
	}
	if (rc < 0) {
		/* Logged; tried again in a second (a disk path failing over), or at the next reply. */
		struct timeval tv = { 1, 0 };

		if (!evtimer_pending(s->jretry, NULL))
			evtimer_add(s->jretry, &tv);
		return 0;
	}
	if (rc == 2 || r.kind == OP_SNAPSHOT || r.ncmds == 0) {
		/* rc 2: a damaged record, skipped (counted and logged by the journal). */
		s->jsent = next;
		return 1;
	}
	/* The same rule as for memory operations (see sink_flush). */
	if ((r.kind == OP_CHECKPOINT || (r.kind == OP_BATCH && r.seq)) &&
	    !TAILQ_EMPTY(&s->inflight))
		return 0;
	if ((r.kind == OP_CHECKPOINT || r.kind == OP_BATCH) && (op = journal_group(s)) != NULL) {
		s->jinflight++;
		return op_send(s, op) ? 1 : -1;
	}
	/* journal_group read on: r's pointers may be stale. */
	if ((r.kind == OP_CHECKPOINT || r.kind == OP_BATCH) &&
	    journal_read(s->j, s->jsent, &r, &next) != 1)
		return 0;
	if ((op = op_from_rec(s, &r, s->jsent, next)) == NULL)
		return 0;
	s->jsent = next;
	s->jinflight++;
	return op_send(s, op) ? 1 : -1;
}

/*
 * Takes the batches at the head of pending, in order, into one OP_GROUP
 * with its EVALSHA command. A batch without a checkpoint ends the group:
 * were a later batch to fail, it would be sent again and its alerts,
 * stored already, stored twice. NULL when out of memory (nothing taken).
 */
static struct sink_op *
group_take(struct sink *s)
{
	struct sink_op *g, *op;
	struct ms_buf b;
	size_t nargs = 0, bytes = 0;
	unsigned n = 0;

	for (op = TAILQ_FIRST(&s->pending); op != NULL && op_is_seg(op); op = TAILQ_NEXT(op, link)) {
		if (n && (n >= GROUP_MAX_OPS || bytes + op->seg.len > GROUP_MAX_BYTES))
			break;
		n++;
		nargs += seg_nargs(op);
		bytes += op->seg.len + 64;
		if (op->seq == 0)
			break;
	}
	if ((g = op_new(OP_GROUP)) == NULL)
		return NULL;
	ms_buf_init(&b, SIZE_MAX);
	/* Its size known (the script's text in case, the keys, the batches): one allocation, no regrowth. */
	if (ms_buf_room(&b, bytes + sizeof(batch_lua) + strlen(s->c->conf.redis_stream) +
	    strlen(s->c->conf.redis_channel) + 256) == NULL ||
	    cmd_begin(s, &b, nargs, false) < 0)
		goto fail;
	op = TAILQ_FIRST(&s->pending);
	for (unsigned i = 0; i < n; i++, op = TAILQ_NEXT(op, link))
		if (cmd_add_seg(s, &b, op) < 0)
			goto fail;
	if (op_take_cmd(g, &b) < 0)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		op = TAILQ_FIRST(&s->pending);
		TAILQ_REMOVE(&s->pending, op, link);
		TAILQ_INSERT_TAIL(&g->members, op, link);
	}
	g->nmembers = n;
	return g;
fail:
	ms_buf_fini(&b);
	op_free(g);
	return NULL;
}

static void
sink_flush(struct sink *s)
{
	struct sink_op *op;

	while (s->connected) {
		if ((op = TAILQ_FIRST(&s->pending)) == NULL) {
			/* Reads and informational writes first, then the journal in order. */
			if (s->spilling) {
				int rc = flush_journal(s);
				if (rc == 1)
					continue;
			}
			break;
		}
		/*
		 * Redis runs a pipeline whole: a checkpoint sent behind an alert
		 * that then fails would still move the agent's handled number past
		 * it. So a checkpoint goes out only once everything before it is
		 * confirmed, together with every batch waiting then (group commit:
		 * one round trip for all of them, however many agents sent). A
		 * batch without a checkpoint waits too: sent behind a call that
		 * then fails, it would be sent again with that call's batches and
		 * its alerts stored twice (nothing of it is skipped by number).
		 */
		if ((op->kind == OP_CHECKPOINT || op->kind == OP_BATCH) && !TAILQ_EMPTY(&s->inflight))
			break;
		if (op_is_seg(op)) {
			if ((op = group_take(s)) == NULL)
				break;	/* out of memory: tried again at the next reply or batch */
		} else {
			TAILQ_REMOVE(&s->pending, op, link);
		}
		if (!op_send(s, op))
			return;
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	sink_connect(arg);
}

static void
jretry_cb(evutil_socket_t fd, short what, void *arg)
{
	sink_flush(arg);
}

static void
sink_schedule_retry(struct sink *s)
{
	struct timeval tv;

	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 100;
	if (s->backoff_ms > 5000)
		s->backoff_ms = 5000;
	tv.tv_sec = s->backoff_ms / 1000;
	tv.tv_usec = (s->backoff_ms % 1000) * 1000;
	evtimer_add(s->retry, &tv);
}

/*
 * Moves in-flight operations back to the front of pending, keeping order;
 * those the journal holds are dropped, and the journal is sent again from
 * the first of them.
 */
static void
sink_requeue(struct sink *s)
{
	struct sink_op *op;

	while ((op = TAILQ_LAST(&s->inflight, sink_opq)) != NULL) {
		struct sink_op *m;

		TAILQ_REMOVE(&s->inflight, op, link);
		if (op->kind == OP_SCRIPT) {
			op_free(op);	/* loaded again on the next connection */
			continue;
		}
		if (op->joff != JOFF_NONE) {
			s->jsent = op->joff;
			s->jinflight--;
			if (op->kind == OP_GROUP)
				TAILQ_FOREACH(m, &op->members, link)
					weigh(s, m, -1);
			else
				weigh(s, op, -1);
			op_free(op);
			continue;
		}
		if (op->kind == OP_GROUP) {
			/* Back to single batches: the next group is formed anew. */
			while ((m = TAILQ_LAST(&op->members, sink_opq)) != NULL) {
				TAILQ_REMOVE(&op->members, m, link);
				TAILQ_INSERT_HEAD(&s->pending, m, link);
			}
			op_free(op);
			continue;
		}
		TAILQ_INSERT_HEAD(&s->pending, op, link);
	}
}

/*
 * SCRIPT LOAD batch_lua, first on every connection: a Redis restarted (or
 * failed over) since has no script cache. An error reply drops the
 * connection like any refused durable write, and connecting again loads it.
 */
static void
script_load(struct sink *s)
{
	struct sink_op *op = op_new(OP_SCRIPT);
	const char *argv[] = { "SCRIPT", "LOAD", batch_lua };
	size_t argl[] = { 6, 4, sizeof(batch_lua) - 1 };

	if (op == NULL || op_addv(op, 3, argv, argl) < 0) {
		op_free(op);
		return;	/* its EVALSHA then gets NOSCRIPT: connecting again retries */
	}
	op_send(s, op);
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct sink *s = ac->data;

	if (s == NULL)
		return;
	s->connecting = false;
	if (status != REDIS_OK) {
		ms_warn("event=redis_connect_failed reason=\"%.200s\" retry_ms=%lld",
		    ac->errstr, (long long)(s->backoff_ms ? s->backoff_ms * 2 : 100));
		s->ac = NULL;	/* hiredis frees the context after this callback */
		sink_schedule_retry(s);
		return;
	}
	s->connected = true;
	/* The backoff is reset by the first confirmed operation, not by connecting:
	 * a Redis that accepts connections but refuses writes is retried slowly. */
	s->c->stats.redis_reconnects++;
	ms_info("event=redis_connected pending=%zu script_sha=%s", s->npending, s->sha);
	script_load(s);
	sink_flush(s);
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct sink *s = ac->data;

	if (s == NULL)
		return;
	s->connected = false;
	s->connecting = false;
	s->ac = NULL;
	sink_requeue(s);
	if (status != REDIS_OK)
		ms_warn("event=redis_disconnected reason=\"%.200s\" pending=%zu", ac->errstr,
		    s->npending);
	/* What waits for Redis goes to disk, and agents are acknowledged from there. */
	if (!TAILQ_EMPTY(&s->pending))
		spill_start(s);
	sink_check_drained(s);
	sink_schedule_retry(s);
}

/*
 * A read in flight that a session or the start waits for (an agent's
 * handled number, the script load, the agents' list or status): its reply
 * is read as it comes, quiet or not.
 */
static bool
inflight_awaited(const struct sink *s)
{
	const struct sink_op *op;

	TAILQ_FOREACH(op, &s->inflight, link)
		if (op->kind == OP_LOAD || op->kind == OP_SCRIPT || op->kind == OP_AGENTS ||
		    op->kind == OP_STATUS || op->kind == OP_SEEN)
			return true;
	return false;
}

/*
 * Whether the replies in flight may wait: only ACKs wait for them. Not
 * when work is queued behind them (batches waiting for the checkpoint
 * rule, the spool's records, a full spool's backlog): a Redis that is
 * behind, or a replay, is drained at Redis' pace, not the wait's.
 */
static bool
quiet_ok(const struct sink *s)
{
	return !TAILQ_EMPTY(&s->inflight) && TAILQ_EMPTY(&s->pending) &&
	    TAILQ_EMPTY(&s->behind) && !s->spilling && !inflight_awaited(s);
}

/* Watches the connection for replies again. */
static void
quiet_end(struct sink *s)
{
	if (!s->quiet)
		return;
	s->quiet = false;
	evtimer_del(s->reply_timer);
	if (s->ev != NULL)
		sink_ev_add_read(s->ev);
}

/*
 * Calls are in flight: their replies wait for the next wake-up, at most
 * reply_wait_us after the latest call (then read as they come).
 */
static void
quiet_begin(struct sink *s)
{
	int64_t us = s->c->conf.redis_reply_wait_us;
	struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };

	if (us == 0 || s->ev == NULL || !s->connected || s->reply_timer == NULL)
		return;
	if (!s->quiet) {
		s->quiet = true;
		sink_ev_del_read(s->ev);
	}
	evtimer_add(s->reply_timer, &tv);
}

static void
reply_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	/* Nothing woke the collector: the replies are read as they come. */
	quiet_end(arg);
}

/* Writes hiredis' output buffer now when a command was queued since; true when it did. */
static bool
sink_write_now(struct sink *s)
{
	if (!s->write_due)
		return false;
	s->write_due = false;
	if (s->ac == NULL || !s->connected)
		return false;
	s->in_write = true;
	/* May drop the connection (disconnect_cb; s->ac is NULL then). */
	redisAsyncHandleWrite(s->ac);
	s->in_write = false;
	return true;
}

/*
 * The end of the loop pass: what the sessions read in this pass went into
 * pending, and goes out now in one call (group commit across every agent
 * whose data arrived together, however the reads fell); then hiredis'
 * output buffer is written directly, without waiting for the socket's
 * write readiness (a send buffer with room is the rule).
 */
static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink *s = arg;
	bool wrote;

	s->woke = false;
	if (s->flush_due) {
		s->flush_due = false;
		if (s->connected)
			sink_flush(s);
	}
	wrote = sink_write_now(s);
	if (!quiet_ok(s))
		quiet_end(s);
	else if (wrote || !s->quiet)
		quiet_begin(s);
}

static void
sink_kick(struct sink *s)
{
	if (s->kick != NULL)
		event_active(s->kick, EV_TIMEOUT, 0);
}

/* Sends pending operations at the end of this loop pass (at once without the kick event). */
static void
sink_flush_soon(struct sink *s)
{
	if (s->kick == NULL) {
		sink_flush(s);
		return;
	}
	s->flush_due = true;
	sink_kick(s);
}

void
sink_wake(struct sink *s)
{
	/* Once per loop pass: several sessions may be read in one. */
	if (s == NULL || !s->quiet || s->ac == NULL || s->woke)
		return;
	s->woke = true;
	sink_kick(s);
	/*
	 * What Redis answered so far (nothing yet: the read finds none). Its
	 * callbacks acknowledge agents and send the next group, so the new
	 * batches of this pass can go at its end.
	 */
	redisAsyncHandleRead(s->ac);
	sink_write_now(s);
}

static void
sink_ev_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_ev *e = arg;

	redisAsyncHandleRead(e->ac);
}

static void
sink_ev_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_ev *e = arg;
	struct sink *s = e->s;

	s->in_write = true;
	redisAsyncHandleWrite(e->ac);
	s->in_write = false;
}

static void
sink_ev_add_read(void *priv)
{
	struct sink_ev *e = priv;

	/* Quiet: hiredis asks again after every read and write; reading resumes in quiet_end. */
	if (!e->reading && !e->s->quiet && event_add(e->rev, NULL) == 0)
		e->reading = true;
}

static void
sink_ev_del_read(void *priv)
{
	struct sink_ev *e = priv;

	if (e->reading) {
		event_del(e->rev);
		e->reading = false;
	}
}

static void
sink_ev_add_write(void *priv)
{
	struct sink_ev *e = priv;
	struct sink *s = e->s;

	/*
	 * A command was queued: written at the end of this pass. While
	 * connecting (the write readiness says the connection is up), or when
	 * the socket did not take it all, the write event waits for room.
	 */
	if ((e->ac->c.flags & REDIS_CONNECTED) && !s->in_write && s->kick != NULL) {
		s->write_due = true;
		sink_kick(s);
		return;
	}
	event_add(e->wev, NULL);
}

static void
sink_ev_del_write(void *priv)
{
	struct sink_ev *e = priv;

	event_del(e->wev);
}

static void
sink_ev_cleanup(void *priv)
{
	struct sink_ev *e = priv;

	if (e->s->ev == e)
		e->s->ev = NULL;
	event_free(e->rev);
	event_free(e->wev);
	free(e);
}

/* Installs the hooks above on ac (as redisLibeventAttach would). 0 or -1. */
static int
sink_ev_attach(struct sink *s, redisAsyncContext *ac)
{
	struct sink_ev *e;

	if (ac->ev.data != NULL || (e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	e->s = s;
	e->ac = ac;
	if ((e->rev = event_new(s->c->base, ac->c.fd, EV_READ | EV_PERSIST, sink_ev_read_cb, e)) ==
	    NULL || (e->wev = event_new(s->c->base, ac->c.fd, EV_WRITE, sink_ev_write_cb, e)) == NULL) {
		if (e->rev)
			event_free(e->rev);
		free(e);
		return -1;
	}
	ac->ev.data = e;
	ac->ev.addRead = sink_ev_add_read;
	ac->ev.delRead = sink_ev_del_read;
	ac->ev.addWrite = sink_ev_add_write;
	ac->ev.delWrite = sink_ev_del_write;
	ac->ev.cleanup = sink_ev_cleanup;
	s->ev = e;
	s->quiet = false;
	if (s->reply_timer != NULL)
		evtimer_del(s->reply_timer);
	/* As hiredis' adapter: reading at once, and the write readiness ends the connect. */
	sink_ev_add_read(e);
	event_add(e->wev, NULL);
	return 0;
}

static void
sink_connect(struct sink *s)
{
	const struct collector_conf *cf = &s->c->conf;
	redisAsyncContext *ac;

	if (s->connected || s->connecting)
		return;
	if (cf->redis_unix[0])
		ac = redisAsyncConnectUnix(cf->redis_unix);
	else
		ac = redisAsyncConnect(cf->redis_host, (int)cf->redis_port);
	if (ac == NULL || ac->err) {
		ms_warn("event=redis_connect_failed reason=\"%.200s\"", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		sink_schedule_retry(s);
		return;
	}
	ac->data = s;
	if (sink_ev_attach(s, ac) < 0) {
		redisAsyncFree(ac);
		sink_schedule_retry(s);
		return;
	}
	/* AUTH before anything else (the script load, the agents' state). */
	if (ms_redis_auth_async(ac, cf->redis_user, cf->redis_password) < 0) {
		redisAsyncFree(ac);
		sink_schedule_retry(s);
		return;
	}
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	s->ac = ac;
	s->connecting = true;
}

struct sink *
sink_redis_new(struct collector *c, char *err, size_t errsz)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	s->c = c;
	{
		unsigned char md[SHA_DIGEST_LENGTH];
		static const char hex[] = "0123456789abcdef";

		SHA1((const unsigned char *)batch_lua, sizeof(batch_lua) - 1, md);
		for (size_t i = 0; i < sizeof(md); i++) {
			s->sha[2 * i] = hex[md[i] >> 4];
			s->sha[2 * i + 1] = hex[md[i] & 15];
		}
	}
	{
		unsigned char rnd[8];
		static const char hex[] = "0123456789abcdef";

		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			snprintf(err, errsz, "no random bytes for the producer id");
			free(s);
			return NULL;
		}
		s->producer[0] = '#';
		for (size_t i = 0; i < sizeof(rnd); i++) {
			s->producer[1 + 2 * i] = hex[rnd[i] >> 4];
			s->producer[2 + 2 * i] = hex[rnd[i] & 15];
		}
		s->producer[1 + 2 * sizeof(rnd)] = '\0';
	}
	ms_buf_init(&s->cmdbuf, SIZE_MAX);
	ms_buf_init(&s->head, SIZE_MAX);
	TAILQ_INIT(&s->pending);
	TAILQ_INIT(&s->inflight);
	TAILQ_INIT(&s->behind);
	if ((s->retry = evtimer_new(c->base, retry_cb, s)) == NULL ||
	    (s->sync_timer = evtimer_new(c->base, sync_cb, s)) == NULL ||
	    (s->jretry = evtimer_new(c->base, jretry_cb, s)) == NULL ||
	    (s->kick = event_new(c->base, -1, 0, kick_cb, s)) == NULL ||
	    (s->reply_timer = evtimer_new(c->base, reply_timer_cb, s)) == NULL) {
		snprintf(err, errsz, "cannot create timer");
		sink_free(s);
		return NULL;
	}
	sink_connect(s);
	return s;
}

int
sink_spool_open(struct sink *s, char *err, size_t errsz)
{
	if (s->c->conf.spool_dir[0] == '\0' || s->j != NULL)
		return 0;
	if ((s->j = journal_open(s->c->conf.spool_dir, s->c->conf.spool_max_bytes, err,
	    errsz)) == NULL)
		return -1;
	journal_recover(s);
	if (s->connected)
		sink_flush(s);
	return 0;
}

void
sink_free(struct sink *s)
{
	struct sink_op *op;

	if (s == NULL)
		return;
	if (s->ac) {
		/* Detach first: the callbacks must not touch a freed sink. */
		s->ac->data = NULL;
		redisAsyncFree(s->ac);
	}
	sink_requeue(s);
	while ((op = TAILQ_FIRST(&s->pending)) != NULL) {
		TAILQ_REMOVE(&s->pending, op, link);
		op_free(op);
	}
	while ((op = TAILQ_FIRST(&s->behind)) != NULL) {
		TAILQ_REMOVE(&s->behind, op, link);
		op_free(op);
	}
	op_free(s->batch);
	if (s->retry)
		event_free(s->retry);
	if (s->sync_timer)
		event_free(s->sync_timer);
	if (s->jretry)
		event_free(s->jretry);
	if (s->kick)
		event_free(s->kick);
	if (s->reply_timer)
		event_free(s->reply_timer);
	/* Checkpoints written but not yet synced: make them durable on the way out. */
	if (s->j && s->nunsynced)
		journal_sync(s->j);
	journal_free(s->j);
	free(s->unsynced);
	ms_buf_fini(&s->cmdbuf);
	ms_buf_fini(&s->head);
	free(s);
}

int
sink_alert(struct sink *s, const struct alert *a, const char *json, size_t len)
{
	struct sink_op *op;

	if (s->batch != NULL) {
		/* Inside an agent batch: it goes with the batch's checkpoint. */
		size_t mark;

		op = s->batch;
		mark = op->seg.len;
		/*
		 * A batch's first alert: room for what the last batch's alerts took
		 * (an agent's batches are alike), at least a few of this size, rather
		 * than doubling from 64 bytes with a copy each time.
		 */
		if (op->seg.alloc == 0)
			(void)ms_buf_room(&op->seg, s->seg_hint > 4 * (len + 256) ? s->seg_hint :
			    4 * (len + 256));	/* out of memory: see below */
		if (resp_bulk(&op->seg, json, len) < 0 ||
		    resp_bulk(&op->seg, a->rule_id, strlen(a->rule_id)) < 0 ||
		    resp_bulk(&op->seg, a->severity, strlen(a->severity)) < 0 ||
		    resp_bulk(&op->seg, a->agent_id, strnlen(a->agent_id, sizeof(a->agent_id))) < 0 ||
		    resp_bulk(&op->seg, a->src_ip, strnlen(a->src_ip, sizeof(a->src_ip))) < 0) {
			/*
			 * The batch's script is full (SEG_MAX_BYTES): this alert goes as
			 * an operation of its own, queued before the batch, whose
			 * checkpoint so still waits for it. A crash between the two
			 * can store it twice when the agent sends the batch again;
			 * dropping it would lose it.
			 */
			op->seg.len = mark;
			op->seg.toobig = false;
			s->c->stats.alerts_unbatched++;
		} else {
			op->nalerts++;
			return 0;
		}
	}
	/*
	 * Outside an agent batch: a batch of its own, numbered by this
	 * producer, so that a replay or a resend stores it once (batch_lua).
	 */
	if ((op = op_new(OP_BATCH)) == NULL)
		return -1;
	if (resp_bulk(&op->seg, json, len) < 0 ||
	    resp_bulk(&op->seg, a->rule_id, strlen(a->rule_id)) < 0 ||
	    resp_bulk(&op->seg, a->severity, strlen(a->severity)) < 0 ||
	    resp_bulk(&op->seg, a->agent_id, strnlen(a->agent_id, sizeof(a->agent_id))) < 0 ||
	    resp_bulk(&op->seg, a->src_ip, strnlen(a->src_ip, sizeof(a->src_ip))) < 0) {
		op_free(op);
		return -1;
	}
	op->nalerts = 1;
	op->seq = ++s->producer_seq;
	sink_submit(s, op);
	return 0;
}

/* The next batch's first reserve: a quarter more than op's alerts took, at most SEG_HINT_MAX. */
#define SEG_HINT_MAX (256u * 1024)

static void
sink_seg_hint(struct sink *s, const struct sink_op *op)
{
	size_t n = op->seg.len + op->seg.len / 4;

	s->seg_hint = n < SEG_HINT_MAX ? n : SEG_HINT_MAX;
}

int
sink_checkpoint(struct sink *s, struct agent_state *st, uint64_t first, uint64_t seq)
{
	struct sink_op *op;

	if (s->batch != NULL && s->batch->nalerts > 0) {
		/* The batch's alerts and this checkpoint: one script. */
		op = s->batch;
		s->batch = NULL;
		sink_seg_hint(s, op);
	} else if ((op = op_new(OP_CHECKPOINT)) == NULL) {
		/* The same script without alerts: the handled number only moves forward. */
		return -1;
	}
	op->st = st;
	op->seq = seq;
	op->first = first;
	sink_submit(s, op);
	return 0;
}

int
sink_batch_begin(struct sink *s)
{
	if (s->batch == NULL && (s->batch = op_new(OP_BATCH)) == NULL)
		return -1;
	return 0;
}

int
sink_batch_end(struct sink *s)
{
	struct sink_op *op = s->batch;

	s->batch = NULL;
	if (op == NULL)
		return 0;	/* closed by its checkpoint */
	if (op->nalerts == 0) {
		op_free(op);
		return 0;
	}
	/* Alerts without a checkpoint (the batch held only old numbers): still stored whole. */
	sink_seg_hint(s, op);
	sink_submit(s, op);
	return 0;
}

int
sink_load(struct sink *s, struct agent_state *st)
{
	struct sink_op *op = op_new(OP_LOAD);
	const char *argv[] = { "HGET", "minisoc:agents:seq", st->id };
	size_t argl[3];

	if (op == NULL)
		return -1;
	for (int i = 0; i < 3; i++)
		argl[i] = strlen(argv[i]);
	if (op_addv(op, 3, argv, argl) < 0) {
		op_free(op);
		return -1;
	}
	op->st = st;
	sink_enqueue(s, op);
	return 0;
}

static int
hset_op(struct sink *s, enum sink_op_kind kind, const char *key, const char *const *kv,
    size_t nkv)
{
	const char *argv[2 + 128];
	size_t argl[2 + 128];
	struct sink_op *op;

	if (nkv > 128 || nkv % 2)
		return -1;
	if ((op = op_new(kind)) == NULL)
		return -1;
	argv[0] = "HSET";
	argv[1] = key;
	for (size_t i = 0; i < nkv; i++)
		argv[2 + i] = kv[i];
	for (size_t i = 0; i < 2 + nkv; i++)
		argl[i] = strlen(argv[i]);
	if (op_addv(op, (int)(2 + nkv), argv, argl) < 0) {
		op_free(op);
		return -1;
	}
	sink_submit(s, op);
	return 0;
}

/*
 * Informational writes are skipped once half of redis.max_pending waits:
 * while Redis is away they would pile up in memory (durable work goes to
 * the spool) until agents were slowed for their sake.
 */
static bool
info_skip(const struct sink *s)
{
	return sink_congested(s) || (s->j && s->npending >= s->c->conf.redis_max_pending / 2);
}

int
sink_hset(struct sink *s, const char *key, const char *const *kv, size_t nkv)
{
	/* Informational only: never let it add to a backlog. */
	if (info_skip(s))
		return nkv > 128 || nkv % 2 ? -1 : 0;
	return hset_op(s, OP_INFO, key, kv, nkv);
}

int
sink_hset_state(struct sink *s, const char *key, const char *const *kv, size_t nkv)
{
	return hset_op(s, OP_STATE, key, kv, nkv);
}

int
sink_hreplace(struct sink *s, const char *key, const char *const *kv, const size_t *kvlen,
    size_t nkv)
{
	const char *multi[] = { "MULTI" };
	const size_t multil[] = { 5 };
	const char *del[] = { "DEL", key };
	size_t dell[] = { 3, strlen(key) };
	const char **argv = NULL;
	size_t *argl = NULL;
	struct sink_op *op = NULL;
	int rc = -1;

	if (nkv % 2)
		return -1;
	if (info_skip(s))
		return 1;
	if ((op = op_new(OP_INFO)) == NULL || (argv = calloc(2 + nkv, sizeof(*argv))) == NULL ||
	    (argl = calloc(2 + nkv, sizeof(*argl))) == NULL)
		goto fail;
	argv[0] = "HSET";
	argl[0] = 4;
	argv[1] = key;
	argl[1] = strlen(key);
	if (nkv) {
		memcpy(argv + 2, kv, nkv * sizeof(*argv));
		memcpy(argl + 2, kvlen, nkv * sizeof(*argl));
	}
	/* A transaction: readers never see half a report, or none while it is replaced. */
	if (op_addv(op, 1, multi, multil) < 0 || op_addv(op, 2, del, dell) < 0 ||
	    (nkv && op_addv(op, (int)(2 + nkv), argv, argl) < 0) || op_addv(op, 1, exec, execl) < 0)
		goto fail;
	sink_enqueue(s, op);
	op = NULL;
	rc = 0;
fail:
	op_free(op);
	free(argv);
	free(argl);
	return rc;
}

int
sink_load_agents(struct sink *s)
{
	struct sink_op *op = op_new(OP_AGENTS);
	const char *argv[] = { "HGETALL", "minisoc:agents:last_seen" };
	size_t argl[] = { 7, strlen(argv[1]) };

	if (op == NULL)
		return -1;
	if (op_addv(op, 2, argv, argl) < 0) {
		op_free(op);
		return -1;
	}
	sink_enqueue(s, op);
	return 0;
}

int
sink_load_status(struct sink *s, struct agent_state *st)
{
	struct sink_op *op = op_new(OP_STATUS);
	char key[192];
	const char *argv[] = { "HMGET", key, "status", "status_since_ms", "hostname", "peer" };
	size_t argl[MS_ARRAY_LEN(argv)];

	if (op == NULL)
		return -1;
	snprintf(key, sizeof(key), "minisoc:agent:%s", st->id);
	for (size_t i = 0; i < MS_ARRAY_LEN(argv); i++)
		argl[i] = strlen(argv[i]);
	if (op_addv(op, (int)MS_ARRAY_LEN(argv), argv, argl) < 0) {
		op_free(op);
		return -1;
	}
	op->st = st;
	sink_enqueue(s, op);
	return 0;
}

/*
 * One round trip: the keys are written by every collector of the
 * deployment. KEYS: minisoc:agents:last_seen, minisoc:agent:<id>, its
 * silence claim minisoc:agent:<id>:silent_claim. ARGV: id, now, this
 * collector's last frame of the agent, the time its silence counts from at
 * the earliest here (heard since, unread since), the silence, the
 * allowance for a frame heard elsewhere (ms). Returns the shared last
 * frame, status and status_since_ms, and a verdict: the script judges as
 * health_seen_checked would ("taken": set silent after its last frame
 * already; "heard": not silent) and, silent, claims that silence for one
 * silence period ("claimed": this collector alerts and sets the status;
 * "wait": another collector claimed it, judged again at the next tick).
 * With a read alone, two collectors judging one silence at once both read
 * "online" before either had written "silent", and both alerted
 * (e2e_silent_standby, their ticks 1 ms apart); Redis runs one script at a
 * time. The claim expires: if its collector dies before its alert is
 * stored, another (or it, restarted) claims and alerts once the period is
 * over – at least once, as before.
 */
static const char seen_lua[] =
	"local seen = redis.call('HGET', KEYS[1], ARGV[1]) or ''\n"
	"local s = redis.call('HMGET', KEYS[2], 'status', 'status_since_ms')\n"
	"local status, since = s[1] or '', s[2] or ''\n"
	"local last, need = tonumber(ARGV[3]), tonumber(ARGV[5])\n"
	"local v = tonumber(seen)\n"
	"if v and v > last then last = v; need = need + tonumber(ARGV[6]) end\n"
	"local vs = tonumber(since)\n"
	"if status == 'silent' and vs and vs >= last then return {seen, status, since, 'taken'} end\n"
	"local ref = last\n"
	"if tonumber(ARGV[4]) > ref then ref = tonumber(ARGV[4]) end\n"
	"if tonumber(ARGV[2]) - ref < need then return {seen, status, since, 'heard'} end\n"
	"if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[5]) then\n"
	"  return {seen, status, since, 'claimed'}\n"
	"end\n"
	"return {seen, status, since, 'wait'}\n";

int
sink_check_seen(struct sink *s, struct agent_state *st, int64_t now, int64_t floor_ms,
    int64_t need_ms, int64_t extra_ms)
{
	struct sink_op *op = op_new(OP_SEEN);
	char key[192], claim[208], a[5][24];
	const int64_t n[5] = { now, st->last_seen_ms, floor_ms, need_ms, extra_ms };
	const char *argv[] = { "EVAL", seen_lua, "3", "minisoc:agents:last_seen", key, claim, st->id,
		a[0], a[1], a[2], a[3], a[4] };
	size_t argl[MS_ARRAY_LEN(argv)];

	if (op == NULL)
		return -1;
	snprintf(key, sizeof(key), "minisoc:agent:%s", st->id);
	snprintf(claim, sizeof(claim), "minisoc:agent:%s:silent_claim", st->id);
	for (size_t i = 0; i < MS_ARRAY_LEN(n); i++)
		snprintf(a[i], sizeof(a[i]), "%" PRId64, n[i]);
	for (size_t i = 0; i < MS_ARRAY_LEN(argv); i++)
		argl[i] = strlen(argv[i]);
	if (op_addv(op, (int)MS_ARRAY_LEN(argv), argv, argl) < 0) {
		op_free(op);
		return -1;
	}
	op->st = st;
	sink_enqueue(s, op);
	return 0;
}

bool
sink_congested(const struct sink *s)
{
	return s->npending >= s->c->conf.redis_max_pending;
}

size_t
sink_pending(const struct sink *s)
{
	return s->ndurable + s->nunsynced;
}

bool
sink_has_spool(const struct sink *s)
{
	return s->j != NULL;
}

bool
sink_spooling(const struct sink *s)
{
	return s->spilling;
}

uint64_t
sink_spool_bytes(const struct sink *s)
{
	return s->j ? journal_size(s->j) : 0;
}

void
sink_spool_losses(const struct sink *s, uint64_t *cut, uint64_t *skipped, uint64_t *unreadable)
{
	const struct journal_stats *st = s->j ? journal_stats(s->j) : NULL;

	*cut = st ? st->corrupt_bytes : 0;
	*skipped = st ? st->damaged_bytes : 0;
	*unreadable = st ? st->unreadable_bytes : 0;
}

bool
sink_connected(const struct sink *s)
{
	return s->connected;
}
