/*
 * tickfloor – what the kernel's part of an agent's read tick costs on this
 * host at this moment, without any agent: the yardstick beside
 * bench/agent's figure.
 *
 *   tickfloor [-t TICK_US] [-b BYTES] [-s SECONDS] [-d DIR] [-S SYNC_MS]
 *
 * The agent reads its files every agent.read_batch_us (3 ms) under a steady
 * stream: a shorter period costs more wake-ups, a longer one more latency
 * (half a period on average, against the 2 ms p50 goal). Each tick it is
 * woken by a repeating timerfd, reads the timer, reads the new bytes of the
 * log (pread), appends them to its spool (pwrite; fdatasync every
 * spool.sync_ms) and sends them over TCP to the collector, which answers
 * with an acknowledgement every 100 ms. This program does those system
 * calls on BYTES a tick, with no TLS, no line handling and no bookkeeping,
 * in four phases of SECONDS each:
 *
 *   wake    the timer alone (epoll_wait, the timerfd's read)
 *   files   the timer, then a pread of BYTES from a log file and a pwrite
 *           of BYTES to a 16 MiB spool file written round (as the agent's
 *           reused segment is), fdatasync every SYNC_MS
 *   send    the timer, then a write of BYTES to a TCP connection on
 *           loopback, whose other end (a child process, the collector's
 *           stand-in) reads everything and writes 16 bytes back every
 *           100 ms (read here)
 *   all     the timer, the files and the send: an agent's tick
 *
 * It does less than the agent: the agent's spool records and TLS frames
 * are larger than the lines they carry (BYTES is the lines' size), and it
 * also reads inotify and saves its state now and then. So "all" is a floor
 * under the agent's figure, measured in the same minutes: what the agent
 * costs above it is TLS, line handling and its own code. It moves with the
 * host's state as much as the agent does (a wake-up of an idle virtual CPU
 * costs far more than one of a busy CPU).
 *
 * For each phase: the process's CPU (getrusage, user + system: the same
 * counter as /proc/PID/stat) as % of one core over the phase, ticks per
 * second, and the receiver's CPU over the phase. Defaults: 3000 µs, 3600
 * bytes (10,000 lines/s of 120 bytes), 10 s, $TMPDIR or /tmp, 100 ms. One
 * line per phase on stdout:
 *
 *   tickfloor phase=wake tick_us=3000 bytes=3600 seconds=10.00 ticks_per_s=333.3 cpu_pct=0.950 receiver_cpu_pct=0.000
 *
 * Exit 0; 1 on a failed system call (said on stderr); 2 on a bad option.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_SIZE	(16u << 20)	/* the agent's segment size */
#define ACK_EVERY_MS	100		/* the collector's limits.ack_delay_ms */
#define ACK_BYTES	16
#define MAX_TICK_US	INT64_C(10000000)	/* bounds that keep the arithmetic in range */
#define MAX_SYNC_MS	INT64_C(3600000)
#define MAX_SECONDS	86400.0

/* What a tick does besides the timer. */
#define DO_FILES	1
#define DO_SEND		2
static const struct {
	const char *name;
	int what;
} phases[] = { { "wake", 0 }, { "files", DO_FILES }, { "send", DO_SEND },
    { "all", DO_FILES | DO_SEND } };

struct floor {
	int64_t tick_us, sync_ms;
	size_t bytes;
	double seconds;
	char *buf;		/* bytes of 'x' */
	int logfd, spoolfd;
	uint64_t spool_off;
	int sock;		/* to the receiver */
	int ctl, report;	/* the receiver's control and report pipes */
	int ep, tfd;
};

static bool in_child;

static void
die(const char *what)
{
	fprintf(stderr, "tickfloor%s: %s: %s\n", in_child ? " (receiver)" : "", what,
	    strerror(errno));
	if (in_child)
		_exit(1);
	exit(1);
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	    ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* A whole number in [min, max] from s, or exit 2 saying which option. */
static int64_t
opt_int(const char *s, char opt, int64_t min, int64_t max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "tickfloor: -%c wants a whole number from %" PRId64 " to %" PRId64
		    ", not \"%s\"\n", opt, min, max, s);
		exit(2);
	}
	return v;
}

/*
 * The collector's stand-in: reads everything from fd, answers ACK_BYTES
 * every ACK_EVERY_MS while data comes. A byte on ctl_fd asks for its CPU
 * so far (ns), written back on report_fd; ctl_fd closed ends it.
 */
static void
receiver(int fd, int ctl_fd, int report_fd)
{
	char buf[65536], ack[ACK_BYTES] = { 0 };
	int64_t last_ack = mono_ns();
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll");
	ev.data.fd = ctl_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ctl_fd, &ev) < 0)
		die("epoll");
	for (;;) {
		ssize_t n;

		if (epoll_wait(ep, &ev, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		if (ev.data.fd == ctl_fd) {
			int64_t cpu = cpu_ns();

			if (read(ctl_fd, buf, 1) <= 0)
				break;
			if (write(report_fd, &cpu, sizeof(cpu)) != (ssize_t)sizeof(cpu))
				die("report");
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		if (mono_ns() - last_ack >= (int64_t)ACK_EVERY_MS * 1000000) {
			if (write(fd, ack, sizeof(ack)) < 0)
				die("write");
			last_ack = mono_ns();
		}
	}
	_exit(0);
}

/* The receiver's CPU so far, in ns. */
static int64_t
receiver_cpu(const struct floor *fl)
{
	int64_t cpu = 0;

	if (write(fl->ctl, "?", 1) != 1 ||
	    read(fl->report, &cpu, sizeof(cpu)) != (ssize_t)sizeof(cpu))
		die("the receiver's CPU (the receiver failed)");
	return cpu;
}

/* A connected loopback TCP pair: fl->sock here, the other end in a child. */
static pid_t
start_receiver(struct floor *fl)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int l, c, s, p[2], q[2], one = 1;
	pid_t pid;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &sl) < 0)
		die("listen");
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (s = accept(l, NULL, NULL)) < 0)
		die("connect");
	close(l);
	/* As both ends of the agent's connection are set. */
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (pipe(p) < 0 || pipe(q) < 0)
		die("pipe");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		in_child = true;
		close(c);
		close(p[0]);
		close(q[1]);
		receiver(s, q[0], p[1]);
	}
	close(s);
	close(p[1]);
	close(q[0]);
	fl->sock = c;
	fl->ctl = q[1];
	fl->report = p[0];
	return pid;
}

/* One tick's work besides the timer. */
static void
tick_work(struct floor *fl, int what, int64_t *last_sync)
{
	if (what & DO_FILES) {
		if (pread(fl->logfd, fl->buf, fl->bytes, 0) < 0)
			die("pread");
		if (fl->spool_off + fl->bytes > SPOOL_SIZE)
			fl->spool_off = 0;
		if (pwrite(fl->spoolfd, fl->buf, fl->bytes, (off_t)fl->spool_off) !=
		    (ssize_t)fl->bytes)
			die("pwrite");
		fl->spool_off += fl->bytes;
		if (mono_ns() - *last_sync >= fl->sync_ms * 1000000) {
			if (fdatasync(fl->spoolfd) < 0)
				die("fdatasync");
			*last_sync = mono_ns();
		}
	}
	if (what & DO_SEND) {
		for (size_t off = 0; off < fl->bytes; ) {
			ssize_t w = write(fl->sock, fl->buf + off, fl->bytes - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				die("write");
			off += (size_t)w;
		}
	}
}

/* Runs phase ph for fl->seconds and prints its line. */
static void
phase_run(struct floor *fl, size_t ph)
{
	int what = phases[ph].what;
	struct itimerspec its = {
		{ (time_t)(fl->tick_us / 1000000), (long)(fl->tick_us % 1000000) * 1000 },
		{ (time_t)(fl->tick_us / 1000000), (long)(fl->tick_us % 1000000) * 1000 },
	}, off = { { 0, 0 }, { 0, 0 } };
	int64_t r0 = receiver_cpu(fl);
	int64_t t0 = mono_ns(), c0 = cpu_ns(), end = t0 + (int64_t)(fl->seconds * 1e9);
	int64_t last_sync = t0, now;
	uint64_t ticks = 0;
	double wall;

	if (timerfd_settime(fl->tfd, 0, &its, NULL) < 0)
		die("timerfd_settime");
	while ((now = mono_ns()) < end) {
		struct epoll_event evs[2];
		/* No later than the phase's end, whatever the tick (rounded up). */
		int n = epoll_wait(fl->ep, evs, 2, (int)((end - now + 999999) / 1000000));

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			char ack[256];
			uint64_t exp;
			ssize_t r;

			if (evs[i].data.fd == fl->sock) {
				if ((r = read(fl->sock, ack, sizeof(ack))) == 0) {
					fprintf(stderr, "tickfloor: the receiver closed the connection\n");
					exit(1);
				}
				if (r < 0 && errno != EAGAIN && errno != EINTR)
					die("read ack");
				continue;
			}
			if (read(fl->tfd, &exp, sizeof(exp)) < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;	/* no expiry: not a tick */
				die("read timer");
			}
			ticks++;
			tick_work(fl, what, &last_sync);
		}
	}
	timerfd_settime(fl->tfd, 0, &off, NULL);
	wall = (double)(now - t0) / 1e9;
	printf("tickfloor phase=%s tick_us=%" PRId64 " bytes=%zu seconds=%.2f ticks_per_s=%.1f "
	    "cpu_pct=%.3f receiver_cpu_pct=%.3f\n", phases[ph].name, fl->tick_us, fl->bytes, wall,
	    (double)ticks / wall, 100.0 * (double)(cpu_ns() - c0) / 1e9 / wall,
	    100.0 * (double)(receiver_cpu(fl) - r0) / 1e9 / wall);
	fflush(stdout);
}

/* The log file and the spool file, unlinked at once (nothing left behind). */
static void
open_files(struct floor *fl, const char *dir)
{
	char logp[4096], spoolp[4096];

	if ((size_t)snprintf(logp, sizeof(logp), "%s/tickfloor-log.%d", dir, (int)getpid()) >=
	    sizeof(logp) ||
	    (size_t)snprintf(spoolp, sizeof(spoolp), "%s/tickfloor-spool.%d", dir,
	    (int)getpid()) >= sizeof(spoolp)) {
		fprintf(stderr, "tickfloor: -d: path too long\n");
		exit(2);
	}
	if ((fl->logfd = open(logp, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		die(logp);
	unlink(logp);
	if ((fl->spoolfd = open(spoolp, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		die(spoolp);
	unlink(spoolp);
	/* The log's bytes are in the page cache, as a log just written is. */
	if (pwrite(fl->logfd, fl->buf, fl->bytes, 0) != (ssize_t)fl->bytes)
		die("write log");
	/* A segment already allocated and cached, as the agent's reused one is. */
	for (uint64_t off = 0; off < SPOOL_SIZE; off += fl->bytes)
		if (pwrite(fl->spoolfd, fl->buf, fl->bytes, (off_t)off) != (ssize_t)fl->bytes)
			die("write spool");
	if (fdatasync(fl->spoolfd) < 0)
		die("fdatasync");
}

int
main(int argc, char **argv)
{
	struct floor fl = { .tick_us = 3000, .sync_ms = 100, .bytes = 3600, .seconds = 10 };
	struct epoll_event ev;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *end;
	int opt;
	pid_t pid;

	while ((opt = getopt(argc, argv, "t:b:s:d:S:h")) != -1) {
		switch (opt) {
		case 't': fl.tick_us = opt_int(optarg, 't', 1, MAX_TICK_US); break;
		case 'b': fl.bytes = (size_t)opt_int(optarg, 'b', 1, SPOOL_SIZE); break;
		case 'S': fl.sync_ms = opt_int(optarg, 'S', 1, MAX_SYNC_MS); break;
		case 'd': dir = optarg; break;
		case 's':
			errno = 0;
			fl.seconds = strtod(optarg, &end);
			/* written so that NaN fails too */
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(fl.seconds > 0 && fl.seconds <= MAX_SECONDS)) {
				fprintf(stderr, "tickfloor: -s wants seconds above 0, at most %.0f\n",
				    MAX_SECONDS);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: tickfloor [-t TICK_US] [-b BYTES] [-s SECONDS] "
			    "[-d DIR] [-S SYNC_MS]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if ((fl.buf = malloc(fl.bytes)) == NULL)
		die("malloc");
	memset(fl.buf, 'x', fl.bytes);
	open_files(&fl, dir);
	pid = start_receiver(&fl);
	if ((fl.ep = epoll_create1(0)) < 0 ||
	    (fl.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		die("epoll/timerfd");
	/* Edge-triggered, as the agent's (tail.c): one wake-up per expiry. */
	ev.events = EPOLLIN | EPOLLET;
	ev.data.fd = fl.tfd;
	if (epoll_ctl(fl.ep, EPOLL_CTL_ADD, fl.tfd, &ev) < 0)
		die("epoll_ctl timer");
	ev.events = EPOLLIN;
	ev.data.fd = fl.sock;
	if (epoll_ctl(fl.ep, EPOLL_CTL_ADD, fl.sock, &ev) < 0)
		die("epoll_ctl socket");
	for (size_t ph = 0; ph < sizeof(phases) / sizeof(phases[0]); ph++)
		phase_run(&fl, ph);
	close(fl.ctl);
	shutdown(fl.sock, SHUT_WR);
	waitpid(pid, NULL, 0);
	free(fl.buf);
	return 0;
}
