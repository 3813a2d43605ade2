/*
 * Fuzz target: the collector's spool file as found at start (journal.c) –
 * torn writes, flipped bits, lengths that lie, fragments out of order, in
 * this version's format (MSJ2) and an older collector's (MSJ1). The bytes
 * become the file; opening scans and cuts it, then every record left is
 * read back (as many as the scan counted), and one appended after them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_dir.h"
#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads of the records' bytes go here, so that the compiler keeps them. */
static volatile size_t fuzz_journal_sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300], err[256];
	struct journal *j;
	struct journal_rec r;
	uint64_t off = 0, next;
	uint64_t n = 0;
	int rc;

	fuzz_dir_init("fuzz_journal", NULL);
	fuzz_dir_write("sink.journal", data, size, path, sizeof(path));
	if ((j = journal_open(fuzz_dir, 1u << 30, err, sizeof(err))) == NULL)
		return 0;
	while ((rc = journal_read(j, off, &r, &next)) > 0) {
		if (next <= off)
			abort();
		off = next;
		if (rc == 2)
			continue;	/* damage the scan skipped */
		n++;
		/* Touch both ends of every slice. */
		if (r.agent_len)
			fuzz_journal_sink += (unsigned char)r.agent[0] + (unsigned char)r.agent[r.agent_len - 1];
		for (uint32_t i = 0; i < r.ncmds; i++)
			if (r.cmdlen[i])
				fuzz_journal_sink += (unsigned char)r.cmd[i][0] + (unsigned char)r.cmd[i][r.cmdlen[i] - 1];
	}
	if (rc == 0)
		off = next;	/* past the writer's sync marks, not read as records */
	if (rc < 0 || off != journal_size(j) || n != journal_stats(j)->recovered)
		abort();	/* the scan left bytes that do not read back, or counted wrong */
	/* What is appended after the scan reads back where it was put. */
	memset(&r, 0, sizeof(r));
	r.kind = 5;
	r.seq = 77;
	r.ncmds = 1;
	r.cmd[0] = "PING";
	r.cmdlen[0] = 4;
	if (journal_append(j, &r) == 0) {
		if (journal_read(j, off, &r, &next) != 1 || r.seq != 77 || next != journal_size(j) ||
		    r.cmdlen[0] != 4 || memcmp(r.cmd[0], "PING", 4) != 0)
			abort();
	}
	journal_free(j);
	unlink(path);
	return 0;
}
