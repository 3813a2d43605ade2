/*
 * agent_core – the glue between tail, queue, uplink and state that the
 * rest of the agent calls back into (kept apart from main so unit tests can
 * link the agent's modules).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_priv.h"
#include "ms_proto.h"
#include "ms_util.h"
#include "spool.h"

/* Positions are saved at most this often (each save is a small fsynced file). */
#define AGENT_SAVE_MS 1000

void
agent_host_facts(struct ms_hello *h)
{
	struct utsname un;
	struct tm tm;
	time_t now = time(NULL);
	FILE *f;

	if (uname(&un) == 0)
		snprintf(h->os, sizeof(h->os), "%.40s %.60s %.20s", un.sysname, un.release, un.machine);
	if (localtime_r(&now, &tm) != NULL)
		h->tz_offset_s = (int32_t)tm.tm_gmtoff;
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "r")) != NULL) {
		if (fgets(h->boot_id, sizeof(h->boot_id), f) != NULL)
			h->boot_id[strcspn(h->boot_id, "\n")] = '\0';
		fclose(f);
	}
}

void
agent_backlog(const struct agent *a, struct agent_backlog *b)
{
	struct spool_stats st = { 0 };

	if (a->spool)
		spool_get_stats(a->spool, &st);
	b->events = a->q.count + st.backlog;
	b->bytes = a->q.bytes;
	b->spool_bytes = st.bytes;
	b->oldest_ms = a->q.head ? a->q.head->time_ms : 0;
}

static int
load_cb(const struct spool_rec *r, void *arg)
{
	struct agent *a = arg;
	struct qevent *e;

	if (queue_full(&a->q))
		return 1;
	if ((e = qevent_new(&a->q, r->seq, r->time_ms, r->src, r->src_len, r->line, r->line_len)) == NULL)
		return 1;	/* short of memory: stays on disk, tried again on the next ack */
	queue_append(&a->q, e);
	return 0;
}

int
agent_spool_open(struct agent *a, char *err, size_t errsz)
{
	struct spool_opts o = {
		.max_bytes = a->conf.spool_max_bytes,
		.segment_bytes = a->conf.spool_segment_bytes,
		.sync = a->conf.spool_sync_ms > 0,
	};
	char dir[4200];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/spool", a->conf.state_dir) >= sizeof(dir)) {
		snprintf(err, errsz, "state_dir too long");
		return -1;
	}
	a->acked_seq = state_acked(a->state);
	a->seq_shift = state_shift(a->state);
	if ((a->spool = spool_open(dir, &o, a->acked_seq, err, errsz)) == NULL)
		return -1;
	/* A failed sync's doubt from before the restart (agent_commit), until acknowledged. */
	spool_set_sync_suspect(a->spool, state_sync_suspect(a->state));
	/* Numbers only grow, even if the state file was lost and the spool was not. */
	a->next_seq = state_first_seq(a->state);
	if (spool_max_seq(a->spool) >= a->next_seq)
		a->next_seq = spool_max_seq(a->spool) + 1;
	a->durable_seq = a->next_seq - 1;
	spool_load(a->spool, load_cb, a);
	return 0;
}

static void
pause_start(struct agent *a)
{
	if (a->paused_since_ms == 0)
		a->paused_since_ms = ms_mono_ms();
}

static void
pause_end(struct agent *a)
{
	if (a->paused_since_ms != 0) {
		a->stats.paused_ms += (uint64_t)(ms_mono_ms() - a->paused_since_ms);
		a->paused_since_ms = 0;
	}
}

/*
 * Flood control: true when one more line may be read now. Tokens refill at
 * max_lines_per_s up to one second's worth; when they run out, reading
 * pauses and a timer resumes it once a batch of lines is allowed again.
 */
static bool
rate_take(struct agent *a)
{
	int64_t rate = a->conf.max_lines_per_s, now;

	if (rate <= 0)
		return true;
	if (a->tokens >= 1.0) {
		a->tokens -= 1.0;
		return true;
	}
	now = ms_mono_ms();
	if (a->tokens_ms == 0)
		a->tokens = (double)rate;	/* a full bucket at start */
	else
		a->tokens += (double)(now - a->tokens_ms) * (double)rate / 1000.0;
	if (a->tokens > (double)rate)
		a->tokens = (double)rate;
	a->tokens_ms = now;
	if (a->tokens >= 1.0) {
		a->tokens -= 1.0;
		return true;
	}
	if (!a->rate_paused) {
		/* Wait for about 10 ms worth of lines (at least one): few wake-ups. */
		int64_t wait = rate >= 100 ? 10 : (1000 + rate - 1) / rate;
		struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };

		a->rate_paused = true;
		a->stats.rate_limited++;
		pause_start(a);
		/* Once a minute at most: a flood would otherwise flood the log too. */
		if (a->rate_logged_ms == 0 || now - a->rate_logged_ms >= 60000) {
			ms_warn("event=rate_limited max_lines_per_s=%" PRId64 " times=%" PRIu64
			    " note=\"reading slowed down, nothing is dropped\"", rate, a->stats.rate_limited);
			a->rate_logged_ms = now;
		}
		if (a->rate_ev)
			evtimer_add(a->rate_ev, &tv);
	}
	return false;
}

void
agent_rate_resume(struct agent *a)
{
	a->rate_paused = false;
	if (!a->spool_paused)
		pause_end(a);
	if (a->tail && !a->stopping)
		tail_read_all(a->tail);
	capture_resume(a->capture);
}

bool
agent_accept(struct agent *a, const struct spool_rec *r)
{
	bool in_memory = !spool_backlog(a->spool) && !queue_full(&a->q);
	struct qevent *e = NULL;
	int rc;

	if (a->rate_paused || !rate_take(a))
		return false;

	/* A number is used only once it is reserved on disk (cheap: in blocks). */
	if (state_reserve(a->state, r->seq) < 0) {
		a->stats.reserve_failures++;
		return false;
	}
	if (in_memory &&
	    (e = qevent_new(&a->q, r->seq, r->time_ms, r->src, r->src_len, r->line, r->line_len)) == NULL)
		in_memory = false;	/* short of memory: on disk only, loaded later */
	rc = spool_append(a->spool, r, in_memory);
	if (rc != 0) {
		if (e)
			qevent_discard(&a->q, e);
		if (rc > 0 && !a->spool_paused) {
			struct spool_stats st;
			spool_get_stats(a->spool, &st);
			ms_warn("event=spool_full bytes=%" PRIu64 " max=%" PRIu64
			    " note=\"reading paused until the collector acknowledges; nothing is dropped\"",
			    st.bytes, a->conf.spool_max_bytes);
			a->stats.spool_full++;
			a->spool_paused = true;
			pause_start(a);
		} else if (rc < 0) {
			a->stats.spool_errors++;
		}
		return false;
	}
	if (e)
		queue_append(&a->q, e);
	if (a->spool_paused) {
		a->spool_paused = false;
		pause_end(a);
		ms_info("event=spool_resumed");
	}
	a->next_seq = r->seq + 1;
	a->stats.lines_read++;
	agent_commit_soon(a);
	return true;
}

void
agent_events_queued(struct agent *a)
{
	/* The spool's buffer goes to its file before anything is sent (uplink_kick). */
	spool_flush(a->spool);
	if (a->uplink)
		uplink_kick(a->uplink);
}

void
agent_acked(struct agent *a, uint64_t seq)
{
	if (seq <= a->acked_seq)
		return;
	a->acked_seq = seq;
	state_set_acked(a->state, seq);
	if (spool_ack(a->spool, seq))
		agent_room_freed(a);
	/* What a failed sync left in doubt may be the collector's now: lines may become durable. */
	if (a->durable_seq < a->next_seq - 1 && spool_sync_suspect(a->spool) == 0)
		agent_commit_soon(a);
}

/*
 * Holes the backlog's read-back found (a block gone bad since the scan):
 * their lines are read again from their files.
 */
void
agent_take_holes(struct agent *a)
{
	struct spool_file_hole h[8];
	size_t n;

	if (a->tail == NULL)
		return;	/* kept until there is one (agent.c) */
	while ((n = spool_take_holes(a->spool, h, MS_ARRAY_LEN(h))) > 0)
		for (size_t i = 0; i < n; i++)
			tail_add_hole(a->tail, &h[i]);
}

void
agent_room_freed(struct agent *a)
{
	if (spool_load(a->spool, load_cb, a) > 0 && a->uplink)
		uplink_kick(a->uplink);
	agent_take_holes(a);
	/* Reading stopped on a full spool: try again (it says when it goes on). */
	if (a->spool_paused && a->tail && !a->stopping)
		tail_read_all(a->tail);
	if (a->spool_paused && !a->stopping)
		capture_resume(a->capture);
}

struct timeval
agent_commit_period(const struct agent *a)
{
	int64_t ms = a->conf.spool_sync_ms > 0 ? a->conf.spool_sync_ms : 100;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	return tv;
}

void
agent_commit_soon(struct agent *a)
{
	struct timeval tv = agent_commit_period(a);

	if (a->commit_ev == NULL || evtimer_pending(a->commit_ev, NULL))
		return;
	if (evtimer_add(a->commit_ev, &tv) < 0)
		ms_warn("event=commit_timer_failed note=\"committed with the next line accepted, or at exit\"");
}

int
agent_commit(struct agent *a, bool save)
{
	uint64_t durable = a->next_seq - 1;
	int synced = spool_sync(a->spool);

	/*
	 * The doubt a failed sync leaves (below) is saved at once, so that a
	 * restart keeps it: the new run would otherwise trust what it reads
	 * back from the spool. Cleared the same way once acknowledged.
	 */
	(void)state_set_sync_suspect(a->state, spool_sync_suspect(a->spool));
	if (synced < 0)
		return -1;
	/*
	 * A sync failed since lines were last made durable: the records
	 * written before it may be lost even though this sync succeeded
	 * (spool_sync_suspect). Read positions stay where they were until the
	 * collector has acknowledged those records (agent_acked), so a stop
	 * or a power cut meanwhile reads their lines again from the files.
	 */
	if (spool_sync_suspect(a->spool) == 0) {
		a->durable_seq = durable;
		tail_durable(a->tail);
	}
	if (tail_dirty(a->tail) || save) {
		if (!save && ms_mono_ms() - a->last_save_ms < AGENT_SAVE_MS)
			return 0;	/* the timer runs on: the positions are saved later */
		a->last_save_ms = ms_mono_ms();
		if (tail_save(a->tail) < 0)
			return -1;
	}
	/*
	 * Positions on disk (just saved, or unchanged since) cover every line
	 * up to durable_seq: their records may go once acknowledged.
	 */
	if (spool_covered(a->spool, a->durable_seq))
		agent_room_freed(a);
	/*
	 * Nothing left for a later commit (every line read is durable, its
	 * position saved, and agent_room_freed read no more): the timer stops
	 * until agent_commit_soon. At rest, each wake-up spool.sync_ms apart
	 * cost more than all the agent's other timers together.
	 */
	if (!save && a->commit_ev != NULL && !tail_dirty(a->tail) &&
	    (a->durable_seq == a->next_seq - 1 || spool_sync_suspect(a->spool) != 0))
		event_del(a->commit_ev);	/* suspect: agent_acked starts it again */
	return 0;
}

void
agent_log_stats(const struct agent *a, const char *why)
{
	const struct agent_stats *s = &a->stats;
	struct spool_stats sp = { 0 };

	if (a->spool)
		spool_get_stats(a->spool, &sp);

	ms_info("event=stats why=%s queued=%zu queued_bytes=%zu lines_read=%" PRIu64
	    " lines_truncated=%" PRIu64 " lines_unterminated=%" PRIu64 " lines_recovered=%" PRIu64
	    " events_sent=%" PRIu64 " events_acked=%" PRIu64
	    " batches_sent=%" PRIu64 " connects=%" PRIu64 " connect_failures=%" PRIu64
	    " rotations=%" PRIu64 " truncations=%" PRIu64
	    " reserve_failures=%" PRIu64 " files_limit=%" PRIu64 " files_refused=%" PRIu64
	    " nul_bytes_skipped=%" PRIu64 " read_errors=%" PRIu64 " spool_bytes=%" PRIu64
	    " spool_segments=%" PRIu32 " spool_backlog=%" PRIu64 " spool_full=%" PRIu64
	    " spool_errors=%" PRIu64 " spool_corrupt_bytes=%" PRIu64 " rate_limited=%" PRIu64
	    " paused_ms=%" PRIu64 " failovers=%" PRIu64 " failbacks=%" PRIu64
	    " send_blocked=%" PRIu64 " spool_reused=%" PRIu64 " spool_write_errors=%" PRIu64,
	    why, a->q.count, a->q.bytes, s->lines_read, s->lines_truncated, s->lines_unterminated,
	    s->lines_recovered, s->events_sent,
	    s->events_acked, s->batches_sent, s->connects, s->connect_failures,
	    s->rotations, s->truncations, s->reserve_failures, s->files_limit, s->files_refused,
	    s->nul_bytes_skipped, s->read_errors, sp.bytes, sp.segments,
	    sp.backlog, s->spool_full, s->spool_errors, sp.corrupt_bytes, s->rate_limited,
	    s->paused_ms, s->failovers, s->failbacks, s->send_blocked, sp.reused, sp.write_errors);
}

void
agent_maybe_exit(struct agent *a)
{
	if (!a->stopping)
		return;
	if ((a->q.count > 0 || spool_backlog(a->spool)) && a->uplink && uplink_ready(a->uplink))
		return;	/* still waiting for acknowledgements */
	event_base_loopexit(a->base, NULL);
}

