/*
 * bench_journal – the collector spool's cost per record (collector/journal.c):
 * appends of N records of B bytes (one command, as a batch of alerts is one
 * EVAL), a sync every S records, then every record read back, as the replay
 * does. Prints CPU time per record for both halves; run under
 * valgrind --tool=callgrind for instruction counts (stable where CPU time is
 * not). The folder should be on tmpfs (/dev/shm), so that syncs cost no I/O:
 * the figure is the journal's own work.
 *
 *   bench_journal [-n RECORDS] [-b BYTES] [-s SYNC_EVERY] DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long n = 100000, bytes = 4500, every = 20;
	char err[256], *cmd;
	struct journal *j;
	struct journal_rec r;
	uint64_t off = 0, next;
	double t0, t1, t2;
	long got = 0;
	int c, rc;

	while ((c = getopt(argc, argv, "n:b:s:")) != -1) {
		switch (c) {
		case 'n': n = atol(optarg); break;
		case 'b': bytes = atol(optarg); break;
		case 's': every = atol(optarg); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || n <= 0 || bytes <= 0 || every <= 0)
		goto usage;
	if ((cmd = malloc((size_t)bytes)) == NULL)
		return 1;
	for (long i = 0; i < bytes; i++)
		cmd[i] = (char)('a' + i % 26);
	if ((j = journal_open(argv[optind], UINT64_C(1) << 40, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_journal: %s\n", err);
		return 1;
	}
	if (journal_reset(j) < 0)
		return 1;
	memset(&r, 0, sizeof(r));
	r.kind = 7;
	r.agent = "web1";
	r.agent_len = 4;
	r.nalerts = 5;
	r.ncmds = 1;
	r.cmd[0] = cmd;
	r.cmdlen[0] = (size_t)bytes;
	t0 = cpu_s();
	for (long i = 1; i <= n; i++) {
		r.seq = (uint64_t)i;
		if (journal_append(j, &r) < 0 || (i % every == 0 && journal_sync(j) < 0)) {
			fprintf(stderr, "bench_journal: append %ld failed\n", i);
			return 1;
		}
	}
	t1 = cpu_s();
	while ((rc = journal_read(j, off, &r, &next)) > 0) {
		got += rc == 1;
		off = next;
	}
	t2 = cpu_s();
	if (got != n) {
		fprintf(stderr, "bench_journal: %ld records read back of %ld\n", got, n);
		return 1;
	}
	printf("records=%ld bytes=%ld sync_every=%ld file=%llu append_us=%.3f read_us=%.3f\n", n,
	    bytes, every, (unsigned long long)journal_size(j), (t1 - t0) * 1e6 / (double)n,
	    (t2 - t1) * 1e6 / (double)n);
	journal_reset(j);
	journal_free(j);
	free(cmd);
	return 0;
usage:
	fprintf(stderr, "usage: bench_journal [-n RECORDS] [-b BYTES] [-s SYNC_EVERY] DIR\n");
	return 2;
}
