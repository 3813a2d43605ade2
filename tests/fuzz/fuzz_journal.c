/*
 * Fuzz target: the collector's spool file as found at start (journal.c) –
 * torn writes, flipped bits, lengths that lie. The bytes become the file;
 * opening scans and cuts it, then every record left is read back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "ms_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static void
cleanup(void)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300], err[256];
	struct journal *j;
	struct journal_rec r;
	uint64_t off = 0, next;
	volatile size_t sink = 0;
	FILE *f;

	if (dir[0] == '\0') {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/fuzz_journal.XXXXXX", t ? t : "/tmp");
		if (mkdtemp(dir) == NULL)
			abort();
		ms_log_init("fuzz", MS_LOG_ERR);
		atexit(cleanup);
	}
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if ((j = journal_open(dir, 1u << 30, err, sizeof(err))) == NULL)
		return 0;
	while (journal_read(j, off, &r, &next) == 1) {
		/* Touch both ends of every slice. */
		if (r.agent_len)
			sink += (unsigned char)r.agent[0] + (unsigned char)r.agent[r.agent_len - 1];
		for (uint32_t i = 0; i < r.ncmds; i++)
			if (r.cmdlen[i])
				sink += (unsigned char)r.cmd[i][0] + (unsigned char)r.cmd[i][r.cmdlen[i] - 1];
		if (next <= off)
			abort();
		off = next;
	}
	if (off != journal_size(j))
		abort();	/* the scan left bytes that do not read back */
	journal_free(j);
	unlink(path);
	return 0;
}
