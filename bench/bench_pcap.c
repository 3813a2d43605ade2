/*
 * bench_pcap – packets per second from a pcap file on one core through the
 * agent's packet library: libpcap reading, decoding, flow tracking, scan
 * counters and the JSON events written to a file (default /dev/null).
 * bench/pcap runs it beside `tcpdump -n -r` on the same file.
 *
 *   bench_pcap [-r ROUNDS] [-o EVENTS_FILE] FILE.pcap
 *
 * Prints one line per round: packets, events, seconds, packets/s; then the
 * best round. The file is read once before timing so both programs start
 * from the page cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

struct out {
	FILE *f;
	unsigned long long events, bytes;
};

static void
emit_cb(const char *line, size_t len, int64_t ts_us, void *arg)
{
	struct out *o = arg;

	(void)ts_us;
	o->events++;
	o->bytes += len + 1;
	fwrite(line, 1, len, o->f);
	fputc('\n', o->f);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	const char *outpath = "/dev/null";
	int rounds = 3, ch;
	double best = 0;
	char err[512];

	while ((ch = getopt(argc, argv, "r:o:")) != -1) {
		switch (ch) {
		case 'r': rounds = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'o': outpath = optarg; break;
		default:
			fprintf(stderr, "usage: bench_pcap [-r ROUNDS] [-o EVENTS_FILE] FILE.pcap\n");
			return 1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: bench_pcap [-r ROUNDS] [-o EVENTS_FILE] FILE.pcap\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		struct out o = { NULL, 0, 0 };
		struct net *n;
		const struct net_stats *st;
		double t0, dt, pps;

		if ((o.f = fopen(outpath, "w")) == NULL) {
			perror(outpath);
			return 1;
		}
		setvbuf(o.f, NULL, _IOFBF, 1 << 20);
		if ((n = net_new(NULL, emit_cb, &o)) == NULL) {
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		t0 = now_s();
		if (net_pcap_file(n, argv[optind], err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_pcap: %s\n", err);
			return 1;
		}
		net_flush(n);
		fflush(o.f);
		dt = now_s() - t0;
		st = net_get_stats(n);
		pps = (double)st->packets / dt;
		printf("round %d: packets=%llu events=%llu event_bytes=%llu flows=%llu "
		    "flows_evicted=%llu seconds=%.3f packets_per_s=%.0f\n", r + 1,
		    (unsigned long long)st->packets, o.events, o.bytes,
		    (unsigned long long)st->flows, (unsigned long long)st->flows_evicted, dt, pps);
		if (pps > best)
			best = pps;
		net_free(n);
		fclose(o.f);
	}
	printf("best: packets_per_s=%.0f\n", best);
	return 0;
}
