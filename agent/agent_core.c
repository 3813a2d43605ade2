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
#include "ms_proto.h"

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
	b->events = a->q.count;
	b->bytes = a->q.bytes;
	b->oldest_ms = a->q.head ? a->q.head->time_ms : 0;
}

void
agent_events_queued(struct agent *a)
{
	if (a->uplink)
		uplink_kick(a->uplink);
}

void
agent_room_freed(struct agent *a)
{
	if (a->tail && !a->stopping)
		tail_read_all(a->tail);
}

void
agent_log_stats(const struct agent *a, const char *why)
{
	const struct agent_stats *s = &a->stats;

	ms_info("event=stats why=%s queued=%zu queued_bytes=%zu lines_read=%" PRIu64
	    " lines_truncated=%" PRIu64 " lines_unterminated=%" PRIu64 " events_sent=%" PRIu64 " events_acked=%" PRIu64
	    " batches_sent=%" PRIu64 " connects=%" PRIu64 " connect_failures=%" PRIu64
	    " queue_full=%" PRIu64 " rotations=%" PRIu64 " truncations=%" PRIu64
	    " reserve_failures=%" PRIu64 " files_limit=%" PRIu64
	    " failovers=%" PRIu64 " failbacks=%" PRIu64,
	    why, a->q.count, a->q.bytes, s->lines_read, s->lines_truncated, s->lines_unterminated,
	    s->events_sent,
	    s->events_acked, s->batches_sent, s->connects, s->connect_failures, s->queue_full,
	    s->rotations, s->truncations, s->reserve_failures, s->files_limit,
	    s->failovers, s->failbacks);
}

void
agent_maybe_exit(struct agent *a)
{
	if (!a->stopping)
		return;
	if (a->q.count > 0 && a->uplink && uplink_ready(a->uplink))
		return;	/* still waiting for acknowledgements */
	event_base_loopexit(a->base, NULL);
}

