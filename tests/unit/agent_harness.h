/*
 * agent_harness – an agent without network for unit tests: tail, spool,
 * queue and state in dir/state, driven by the test (tail_poll, queue_ack,
 * agent_commit). Shared by test_agent_tail and test_agent_health.
 */
#ifndef AGENT_HARNESS_H
#define AGENT_HARNESS_H

#include "agent.h"

/*
 * A new agent (caller frees with harness_stop) with test defaults: poll
 * 1 s, state in dir/state, a 64 MiB spool without fsync, a large queue.
 * Returns it before tail_new: the caller sets files and conf, then calls
 * harness_start.
 */
struct agent *harness_new(const char *dir);
/* Opens state, queue, spool and tail, and reads once. */
void harness_start(struct agent *a);
/* Commits positions, frees everything. */
void harness_stop(struct agent *a);
/* Frees everything without committing: what a SIGKILL leaves on disk. */
void harness_crash(struct agent *a);

#endif
