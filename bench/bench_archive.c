/*
 * bench_archive – what the event archive costs the collector's loop per
 * event: N events (the lines of the given files, repeated, stamped so no
 * two are equal) through archive_add, flushed every B events as the
 * collector does after each batch, at the given zstd levels. Prints
 * CPU-seconds per million events (getrusage: user + system, so write(2)
 * counts) and the compression ratio.
 *
 *   bench_archive [-n EVENTS] [-b BATCH] [-l LEVEL,...] -d DIR FILE...
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "archive.h"
#include "ms_log.h"

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	    ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	long n = 1000000, batch = 256;
	const char *levels = "1", *dir = NULL;
	char **lines = NULL, *buf = NULL, lvl[256];
	size_t nlines = 0, cap = 0, bcap = 0;
	ssize_t len;
	int ch;

	while ((ch = getopt(argc, argv, "n:b:l:d:")) != -1) {
		switch (ch) {
		case 'n': n = atol(optarg); break;
		case 'b': batch = atol(optarg); break;
		case 'l': levels = optarg; break;
		case 'd': dir = optarg; break;
		default: goto usage;
		}
	}
	if (dir == NULL || optind == argc || n <= 0 || batch <= 0)
		goto usage;
	for (int i = optind; i < argc; i++) {
		FILE *f = fopen(argv[i], "r");
		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		while ((len = getline(&buf, &bcap, f)) > 0) {
			if (buf[len - 1] == '\n')
				buf[--len] = '\0';
			if (nlines == cap && (lines = realloc(lines, (cap = cap ? 2 * cap : 1024) *
			    sizeof(*lines))) == NULL)
				return 1;
			lines[nlines++] = strdup(buf);
		}
		fclose(f);
	}
	if (nlines == 0)
		goto usage;
	ms_log_init("bench_archive", MS_LOG_WARN);
	snprintf(lvl, sizeof(lvl), "%s", levels);
	printf("events=%ld batch=%ld distinct_lines=%zu\n", n, batch, nlines);
	/* The loop's own cost (making the lines), taken off every figure. */
	double base;
	{
		static char line[70000];
		volatile size_t sink = 0;
		double t0 = cpu_s();
		for (long i = 0; i < n; i++)
			sink += (size_t)snprintf(line, sizeof(line), "%s seq=%ld",
			    lines[(size_t)i % nlines], i);
		base = cpu_s() - t0;
		printf("loop alone: %.3f CPU-s per million (subtracted)\n", base * 1e6 / (double)n);
	}
	for (char *save = NULL, *l = strtok_r(lvl, ",", &save); l; l = strtok_r(NULL, ",", &save)) {
		char err[256], sub[4096], line[70000];
		struct archive *a;
		double t0, t1;
		int64_t now = ms_now_ms();
		const struct archive_stats *st;

		snprintf(sub, sizeof(sub), "%s/level%s", dir, l);
		if ((a = archive_new(sub, atoi(l), 64 << 20, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		t0 = cpu_s();
		for (long i = 0; i < n; i++) {
			const char *s = lines[(size_t)i % nlines];
			int k = snprintf(line, sizeof(line), "%s seq=%ld", s, i);
			archive_add(a, "SYS-01", now + i / 1000, "web1", (uint64_t)i,
			    ms_str_make("/var/log/auth.log", 17), ms_str_make(line, (size_t)k));
			if ((i + 1) % batch == 0)
				archive_flush(a);
		}
		archive_sync(a);
		t1 = cpu_s();
		st = archive_get_stats(a);
		printf("level=%s cpu_s_per_million=%.3f bytes_in=%llu bytes_out=%llu ratio=%.2f\n", l,
		    (t1 - t0 - base) * 1e6 / (double)n, (unsigned long long)st->bytes_in,
		    (unsigned long long)st->bytes_out, (double)st->bytes_in / (double)st->bytes_out);
		archive_free(a);
	}
	return 0;
usage:
	fprintf(stderr, "usage: bench_archive [-n EVENTS] [-b BATCH] [-l LEVEL,...] -d DIR FILE...\n");
	return 2;
}
