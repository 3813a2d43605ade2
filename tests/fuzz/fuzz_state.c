/*
 * Fuzz target: the agent's state file (agent/state.c) as found at start.
 * The input is the file: the old format's text alone, or the slotted
 * format ("MSSTATE2" slots, each with its CRC and generation). Its paths
 * are file names, which anyone who can create a file in a followed folder
 * chooses (a newline, an "acked" line of its own: version 2's escapes).
 * Opening parses it; when it loads, its positions are saved again (version
 * 1 or 2, as the paths ask) and loaded back, and must come back the same:
 * what the parser takes, the writer writes so that it reads back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "fuzz_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct state_pos pos[AGENT_MAX_FILES];

static bool
same_pos(const struct state_pos *a, const struct state_pos *b)
{
	return strcmp(a->path, b->path) == 0 && a->dev == b->dev && a->ino == b->ino &&
	    a->offset == b->offset && a->has_fp == b->has_fp &&
	    (!a->has_fp || (a->fp == b->fp && a->fp_len == b->fp_len));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_state_file *s;
	char path[600], err[512];
	uint64_t acked;
	size_t n;

	/* /dev/shm when there is one: every input is written, opened and synced */
	fuzz_dir_init("fuzz_state", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL);
	fuzz_dir_write("state", data, size, path, sizeof(path));
	if ((s = state_open(fuzz_dir, err, sizeof(err))) != NULL) {
		n = state_count(s);
		if (n > AGENT_MAX_FILES)
			abort();
		for (size_t i = 0; i < n; i++) {
			const struct state_pos *p = state_get(s, i);
			/* a path is a C string inside its field: its NUL within */
			if (memchr(p->path, '\0', sizeof(p->path)) == NULL)
				abort();
			pos[i] = *p;
		}
		acked = state_acked(s);
		if (state_save(s, pos, n) != 0)
			abort();	/* nothing on this file system makes a save fail */
		state_close(s);
		if ((s = state_open(fuzz_dir, err, sizeof(err))) == NULL)
			abort();	/* what was saved must load */
		if (state_count(s) != n || state_acked(s) != acked)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!same_pos(state_get(s, i), &pos[i]))
				abort();
		state_close(s);
	}
	fuzz_dir_empty();
	return 0;
}
