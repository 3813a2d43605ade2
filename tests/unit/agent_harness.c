/* agent_harness – see agent_harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "agent_harness.h"
#include "spool.h"

struct agent *
harness_new(const char *dir)
{
	struct agent *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	assert_non_null(a->base = event_base_new());
	a->conf.poll_ms = 1000;
	a->conf.partial_line_ms = 5000;
	a->conf.batch_max_bytes = 512 * 1024;
	a->conf.batch_max_events = 1024;
	a->conf.spool_max_bytes = 64 << 20;
	a->conf.spool_segment_bytes = 1 << 20;
	a->conf.spool_sync_ms = 0;
	snprintf(a->conf.state_dir, sizeof(a->conf.state_dir), "%s/state", dir);
	return a;
}

void
harness_start(struct agent *a)
{
	char err[512];

	assert_non_null(a->state = state_open(a->conf.state_dir, err, sizeof(err)));
	queue_init(&a->q, 100000, 64 << 20);
	assert_int_equal(agent_spool_open(a, err, sizeof(err)), 0);
	assert_non_null(a->tail = tail_new(a, err, sizeof(err)));
	tail_read_all(a->tail);
}

void
harness_stop(struct agent *a)
{
	agent_commit(a, true);
	harness_crash(a);
}

void
harness_crash(struct agent *a)
{
	tail_free(a->tail);
	spool_free(a->spool);
	queue_fini(&a->q);
	state_close(a->state);
	event_base_free(a->base);
	free(a);
}
