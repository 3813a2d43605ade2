/*
 * tickfloor – what the kernel's part of an agent's read tick costs on this
 * host, without any agent: the yardstick beside bench/agent's figure.
 *
 *   tickfloor [-t TICK_US] [-b BYTES] [-s SECONDS] [-d DIR] [-S SYNC_MS]
 *
 * The agent reads its files every agent.read_batch_us (3 ms) under a steady
 * stream: a shorter period costs more wake-ups, a longer one more latency
 * (half a period on average, against the 2 ms p50 goal). Each tick it is
 * woken by a repeating timerfd, reads the timer, reads the new bytes of the
 * log (pread), appends them to its spool (pwrite; fdatasync every
 * spool.sync_ms) and sends them over TCP to the collector, which answers
 * with an acknowledgement every 100 ms. This program does exactly those
 * system calls on the same sizes and periods, with no TLS, no line handling
 * and no bookkeeping, in four phases of SECONDS each:
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
 * For each phase: the process's CPU (getrusage, user + system) as % of one
 * core over the phase, ticks per second, and the receiver's CPU over the
 * phase. "all" is the floor under any agent built this way on this host:
 * what bench/agent measures above it is TLS, line handling and the agent's
 * own code. Defaults: 3000 µs, 3600 bytes (10,000 lines/s of 120 bytes),
 * 10 s, $TMPDIR or /tmp, 100 ms. One line per phase on stdout:
 *
 *   tickfloor phase=wake tick_us=3000 bytes=3600 seconds=10.00 ticks_per_s=333.3 cpu_pct=0.950 receiver_cpu_pct=0.000
 *
 * Exit 0, or 1 on a failed system call (said on stderr).
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

/* The phases, in order: what each tick does besides the timer. */
#define DO_FILES	1
#define DO_SEND		2
static const struct {
	const char *name;
	int what;
} phases[] = { { "wake", 0 }, { "files", DO_FILES }, { "send", DO_SEND },
    { "all", DO_FILES | DO_SEND } };

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
cpu_ns(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	    ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void
die(const char *what)
{
	fprintf(stderr, "tickfloor: %s: %s\n", what, strerror(errno));
	exit(1);
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
		die("receiver epoll");
	ev.data.fd = ctl_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ctl_fd, &ev) < 0)
		die("receiver epoll");
	for (;;) {
		ssize_t n;

		if (epoll_wait(ep, &ev, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("receiver epoll_wait");
		}
		if (ev.data.fd == ctl_fd) {
			int64_t cpu = cpu_ns(RUSAGE_SELF);

			if (read(ctl_fd, buf, 1) <= 0)
				break;
			if (write(report_fd, &cpu, sizeof(cpu)) != (ssize_t)sizeof(cpu))
				die("receiver report");
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		if (mono_ns() - last_ack >= (int64_t)ACK_EVERY_MS * 1000000) {
			if (write(fd, ack, sizeof(ack)) < 0)
				die("receiver write");
			last_ack = mono_ns();
		}
	}
	_exit(0);
}

/* The receiver's CPU so far, in ns. */
static int64_t
receiver_cpu(int ctl, int report)
{
	int64_t cpu = 0;

	if (write(ctl, "?", 1) != 1 || read(report, &cpu, sizeof(cpu)) != (ssize_t)sizeof(cpu))
		die("receiver's CPU");
	return cpu;
}

/* A connected loopback TCP pair: *snd here, the other end in a child. */
static pid_t
start_receiver(int *snd, int *ctl, int *report)
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
		close(c);
		close(p[0]);
		close(q[1]);
		receiver(s, q[0], p[1]);
	}
	close(s);
	close(p[1]);
	close(q[0]);
	*snd = c;
	*ctl = q[1];
	*report = p[0];
	return pid;
}

int
main(int argc, char **argv)
{
	int64_t tick_us = 3000, sync_ms = 100;
	size_t bytes = 3600;
	double seconds = 10;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char logp[4096], spoolp[4096], *buf;
	int opt, logfd, spoolfd, sock, ctl, report, ep, tfd;
	uint64_t spool_off = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "t:b:s:d:S:h")) != -1) {
		switch (opt) {
		case 't': tick_us = strtoll(optarg, NULL, 10); break;
		case 'b': bytes = strtoull(optarg, NULL, 10); break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'd': dir = optarg; break;
		case 'S': sync_ms = strtoll(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: tickfloor [-t TICK_US] [-b BYTES] [-s SECONDS] "
			    "[-d DIR] [-S SYNC_MS]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (tick_us <= 0 || bytes == 0 || bytes > SPOOL_SIZE || seconds <= 0 || sync_ms <= 0) {
		fprintf(stderr, "tickfloor: -t, -b, -s and -S must be positive (-b at most %u)\n",
		    SPOOL_SIZE);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((buf = malloc(bytes)) == NULL)
		die("malloc");
	memset(buf, 'x', bytes);
	snprintf(logp, sizeof(logp), "%s/tickfloor-log.%d", dir, (int)getpid());
	snprintf(spoolp, sizeof(spoolp), "%s/tickfloor-spool.%d", dir, (int)getpid());
	if ((logfd = open(logp, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    (spoolfd = open(spoolp, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		die("open");
	/* The log's bytes are in the page cache, as a log just written is. */
	if (pwrite(logfd, buf, bytes, 0) != (ssize_t)bytes)
		die("write log");
	/* A segment already allocated and cached, as the agent's reused one is. */
	for (uint64_t off = 0; off < SPOOL_SIZE; off += bytes)
		if (pwrite(spoolfd, buf, bytes, (off_t)off) != (ssize_t)bytes)
			die("write spool");
	if (fdatasync(spoolfd) < 0)
		die("fdatasync");
	pid = start_receiver(&sock, &ctl, &report);
	if ((ep = epoll_create1(0)) < 0 ||
	    (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		die("epoll/timerfd");
	{
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = tfd };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0)
			die("epoll_ctl timer");
		ev.events = EPOLLIN;
		ev.data.fd = sock;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sock, &ev) < 0)
			die("epoll_ctl socket");
	}
	for (size_t ph = 0; ph < sizeof(phases) / sizeof(phases[0]); ph++) {
		int what = phases[ph].what;
		struct itimerspec its = {
			{ (time_t)(tick_us / 1000000), (long)(tick_us % 1000000) * 1000 },
			{ (time_t)(tick_us / 1000000), (long)(tick_us % 1000000) * 1000 },
		};
		int64_t r0 = receiver_cpu(ctl, report);
		int64_t t0 = mono_ns(), c0 = cpu_ns(RUSAGE_SELF), end = t0 + (int64_t)(seconds * 1e9);
		int64_t last_sync = t0, now = t0;
		uint64_t ticks = 0;

		if (timerfd_settime(tfd, 0, &its, NULL) < 0)
			die("timerfd_settime");
		while ((now = mono_ns()) < end) {
			struct epoll_event evs[2];
			int n = epoll_wait(ep, evs, 2, -1);

			if (n < 0 && errno != EINTR)
				die("epoll_wait");
			for (int i = 0; i < n; i++) {
				if (evs[i].data.fd == sock) {
					char ack[256];
					ssize_t r = read(sock, ack, sizeof(ack));

					if (r == 0) {
						fprintf(stderr, "tickfloor: the receiver closed the connection\n");
						return 1;
					}
					if (r < 0 && errno != EAGAIN && errno != EINTR)
						die("read ack");
					continue;
				}
				uint64_t exp;
				if (read(tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
					die("read timer");
				ticks++;
				if (what & DO_FILES) {
					if (pread(logfd, buf, bytes, 0) < 0)
						die("pread");
					if (spool_off + bytes > SPOOL_SIZE)
						spool_off = 0;
					if (pwrite(spoolfd, buf, bytes, (off_t)spool_off) != (ssize_t)bytes)
						die("pwrite");
					spool_off += bytes;
					if (mono_ns() - last_sync >= sync_ms * 1000000) {
						if (fdatasync(spoolfd) < 0)
							die("fdatasync");
						last_sync = mono_ns();
					}
				}
				if (!(what & DO_SEND))
					continue;
				for (size_t off = 0; off < bytes; ) {
					ssize_t w = write(sock, buf + off, bytes - off);
					if (w < 0 && errno == EINTR)
						continue;
					if (w <= 0)
						die("write");
					off += (size_t)w;
				}
			}
		}
		{
			struct itimerspec off = { { 0, 0 }, { 0, 0 } };
			double wall = (double)(now - t0) / 1e9;
			double cpu = (double)(cpu_ns(RUSAGE_SELF) - c0) / 1e9;
			int64_t rcpu;

			timerfd_settime(tfd, 0, &off, NULL);
			rcpu = receiver_cpu(ctl, report) - r0;
			printf("tickfloor phase=%s tick_us=%" PRId64 " bytes=%zu seconds=%.2f "
			    "ticks_per_s=%.1f cpu_pct=%.3f receiver_cpu_pct=%.3f\n", phases[ph].name,
			    tick_us, bytes, wall, (double)ticks / wall, 100.0 * cpu / wall,
			    100.0 * (double)rcpu / 1e9 / wall);
			fflush(stdout);
		}
	}
	close(ctl);
	shutdown(sock, SHUT_WR);
	waitpid(pid, NULL, 0);
	unlink(logp);
	unlink(spoolp);
	free(buf);
	return 0;
}
