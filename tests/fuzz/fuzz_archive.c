/*
 * Fuzz target: an event archive day file as minisocctl search reads it
 * (archive.c's reader) – torn ends, flipped bits, lengths that lie,
 * frames cut and glued, hostile record text. The bytes become the file;
 * every record read must be whole (its slices inside what was read), the
 * answer one of the documented ones, and the read must end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "fuzz_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads of the records' bytes go here, so that the compiler keeps them. */
static volatile size_t fuzz_archive_sink;

static int
fuzz_archive_record(const struct archive_record *r, void *arg)
{
	size_t *n = arg;

	/* Touch both ends of every slice (ASan finds one outside its buffer). */
	if (r->agent.len)
		fuzz_archive_sink += (unsigned char)r->agent.p[0] + (unsigned char)r->agent.p[r->agent.len - 1];
	if (r->source.len)
		fuzz_archive_sink += (unsigned char)r->source.p[0] +
		    (unsigned char)r->source.p[r->source.len - 1];
	if (r->line.len)
		fuzz_archive_sink += (unsigned char)r->line.p[0] + (unsigned char)r->line.p[r->line.len - 1];
	(*n)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300], err[512];
	uint64_t bad = 0;
	size_t n = 0;
	int rc;

	fuzz_dir_init("fuzz_archive", NULL);
	fuzz_dir_write("S.zst", data, size, path, sizeof(path));
	err[0] = '\0';
	rc = archive_read_file(path, fuzz_archive_record, &n, &bad, err, sizeof(err));
	if (rc != 0 && rc != 1 && rc != 3 && rc != -1)
		abort();	/* 2 is only for a callback that stops */
	if (rc != 0 && err[0] == '\0')
		abort();	/* every other answer says why */
	fuzz_dir_empty();
	return 0;
}
