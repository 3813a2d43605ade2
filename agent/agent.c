/*
 * minisoc-agent – follows log files and ships every line to the collector
 * over mutual TLS, keeping each line until the collector acknowledged it.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_pki.h"
#include "ms_priv.h"
#include "ms_proto.h"
#include "ms_tls.h"
#include "ms_util.h"
#include "spool.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: minisoc-agent -c FILE [-t] [-l LEVEL]\n"
	    "       minisoc-agent enroll --collector HOST:PORT --token TOKEN [-c FILE]\n"
	    "                            (see minisoc-agent enroll --help)\n"
	    "       minisoc-agent state [-c FILE]   print the saved positions and numbers\n"
	    "\n"
	    "Follows log files and sends every line to a minisoc collector over\n"
	    "mutual TLS. A line is kept until the collector acknowledged it.\n"
	    "\n"
	    "  -c, --config FILE     configuration (YAML), required\n"
	    "  -t, --check           check the configuration and certificates, then exit\n"
	    "  -l, --log-level LVL   debug, info, warn or error (overrides the file)\n"
	    "  -V, --version         print the version\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT send what is queued, wait for acknowledgements\n"
	    "(uplink.shutdown_timeout_ms), save positions and exit; SIGUSR1 logs counters.\n"
	    "\n"
	    "Configuration keys:\n");
	agent_conf_usage(out);
	fprintf(out, "\nExit status: 0 on a clean stop, 1 on a configuration or start-up error.\n");
}

static void
stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	ms_warn("event=shutdown_timeout unacked=%zu note=\"kept in the spool, sent at next start\"",
	    a->q.count);
	event_base_loopexit(a->base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	struct timeval tv;

	if (sig == SIGUSR1 || sig == SIGHUP) {
		agent_log_stats(a, sig == SIGHUP ? "sighup" : "sigusr1");
		return;
	}
	if (a->stopping)
		return;
	ms_info("event=shutdown signal=%d unacked=%zu", (int)sig, a->q.count);
	a->stopping = true;
	tail_stop(a->tail);
	capture_stop(a->capture);
	tv.tv_sec = a->conf.shutdown_timeout_ms / 1000;
	tv.tv_usec = (a->conf.shutdown_timeout_ms % 1000) * 1000;
	if ((a->stop_timer = evtimer_new(a->base, stop_timeout_cb, a)) != NULL)
		evtimer_add(a->stop_timer, &tv);
	uplink_kick(a->uplink);
	agent_maybe_exit(a);
}

static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	agent_commit(arg, false);
}

static void
rate_cb(evutil_socket_t fd, short what, void *arg)
{
	agent_rate_resume(arg);
}

static void
stats_cb(evutil_socket_t fd, short what, void *arg)
{
	agent_log_stats(arg, "periodic");
}

/*
 * `minisoc-agent state [-c FILE]`: the state saved in agent.state_dir
 * (docs/operations.md), read without writing; the agent may be running.
 */
static int
state_main(int argc, char **argv)
{
	static struct agent_conf conf;
	static struct agent_file_conf files[AGENT_MAX_FILES];
	struct ms_yaml_node *root = NULL;
	const char *config = "/etc/minisoc/agent.yml";
	char err[1024];
	size_t nfiles = 0;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: minisoc-agent state [-c FILE]\n\n"
			    "Prints what the agent saved in agent.state_dir/state: the sequence numbers\n"
			    "reserved and acknowledged and the position of every followed file\n"
			    "(pos DEVICE INODE OFFSET [fp:HASH:LENGTH] PATH), in the text form of the\n"
			    "old state format; when a path holds a control byte (a newline in a file\n"
			    "name), \"minisoc-agent-state 2\", every path's control bytes and\n"
			    "backslashes as \\xHH. Writes nothing; the agent may be running.\n"
			    "Exit status: 0, or 1 when the configuration or the state cannot be read.\n");
			return 0;
		} else {
			fprintf(stderr, "usage: minisoc-agent state [-c FILE]\n");
			return 1;
		}
	}
	if (agent_conf_load(config, &conf, files, &nfiles, &root, err, sizeof(err)) < 0) {
		fprintf(stderr, "minisoc-agent state: %s\n", err);
		goto out;
	}
	if (state_print(conf.state_dir, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "minisoc-agent state: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	ms_yaml_node_free(root);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct agent a;	/* large (file table): keep it off the stack */
	struct ms_yaml_node *root = NULL;
	struct ms_daemon_args args;
	const char *config;
	bool check;
	char err[1024], cn[128], spool_dir[4200];
	const int signums[4] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	struct event *sigs[4] = { NULL }, *stats = NULL;
	struct timeval stats_tv = { 300, 0 };
	int ch, rc = 1;

	if (argc > 1 && strcmp(argv[1], "enroll") == 0) {
		ms_log_init("agent", MS_LOG_WARN);
		return agent_enroll_main(argc - 1, argv + 1);
	}
	if (argc > 1 && strcmp(argv[1], "state") == 0) {
		ms_log_init("agent", MS_LOG_WARN);
		return state_main(argc - 1, argv + 1);
	}
	if ((ch = ms_daemon_args(argc, argv, "agent", usage, &args)) >= 0)
		return ch;
	config = args.config;
	check = args.check;
	if (agent_conf_load(config, &a.conf, a.files, &a.nfiles, &root, err, sizeof(err)) < 0) {
		ms_err("event=config_error reason=\"%s\"", err);
		goto out;
	}
	if (ms_daemon_log_level("agent", &args, a.conf.log_level) < 0)
		goto out;
	/* A renewal interrupted between its two renames is finished first. */
	agent_tls_recover(&a.conf);
	{
		/*
		 * Certificates first: a missing file is a clearer error than a
		 * missing CN. The context is the one the uplink uses (uplink_new
		 * takes it): a second load of the same files would only leave
		 * its garbage in the heap.
		 */
		a.tls_ctx = ms_tls_client_ctx_new(a.conf.tls_ca, a.conf.tls_cert, a.conf.tls_key,
		    err, sizeof(err));
		if (a.tls_ctx == NULL) {
			ms_err("event=config_error reason=\"%s\"", err);
			goto out;
		}
	}
	if (ms_tls_cert_file_cn(a.conf.tls_cert, cn, sizeof(cn)) < 0) {
		ms_err("event=config_error reason=\"%s: no usable subject CN (the agent's identity)\"",
		    a.conf.tls_cert);
		goto out;
	}
	if (capture_check_filter(a.conf.capture_filter, err, sizeof(err)) < 0) {
		ms_err("event=config_error reason=\"%s\"", err);
		goto out;
	}
	if (check) {
		X509 *x = ms_pki_cert_read(a.conf.tls_cert, err, sizeof(err));
		char na[40] = "?", dates[256];
		bool dated;

		if (x != NULL)
			ms_fmt_time(na, sizeof(na), ms_pki_cert_not_after(x) * 1000);
		/*
		 * Still exit 0 (ExecStartPre): the agent runs and spools while it
		 * waits for a new certificate, but it must not be called OK.
		 */
		dated = x != NULL && ms_tls_cert_out_of_date(x, dates, sizeof(dates));
		X509_free(x);
		printf("%s: %s (agent id %s, certificate valid until %s, %zu files%s%s)\n", config,
		    dated ? "configuration OK, certificate NOT valid now" :
		    "configuration and certificates OK", cn, na, a.nfiles,
		    a.conf.capture_interface[0] || a.conf.capture_file[0] ? ", capture " : "",
		    a.conf.capture_interface[0] ? a.conf.capture_interface : a.conf.capture_file);
		if (dated)
			printf("%s: WARNING: %s\n", a.conf.tls_cert, dates);
		agent_conf_print_collectors(stdout, &a.conf);
		rc = 0;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (gethostname(a.hostname, sizeof(a.hostname) - 1) != 0)
		ms_copy(a.hostname, sizeof(a.hostname), cn, strlen(cn));
	/*
	 * The default (coarse) clock: millisecond timers are plenty; the read
	 * coalescing that wants finer has a timerfd of its own (tail.c), and
	 * precise timers would re-program a timerfd at every turn of the loop.
	 */
	a.base = event_base_new();
	if (a.base == NULL) {
		ms_err("event=start_error reason=out_of_memory");
		goto out;
	}
	/*
	 * Signals are caught from here on (handled once the loop runs): a
	 * SIGUSR1 or SIGHUP while a large spool is scanned must not kill the
	 * process with the default action.
	 */
	if (ms_daemon_signals(a.base, signums, MS_ARRAY_LEN(signums), signal_cb, &a, sigs) < 0)
		goto out;
	if ((a.state = state_open(a.conf.state_dir, err, sizeof(err))) == NULL) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	queue_init(&a.q, (size_t)a.conf.queue_max_events, (size_t)a.conf.queue_max_bytes);
	if (agent_spool_open(&a, err, sizeof(err)) < 0) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	if ((a.rate_ev = evtimer_new(a.base, rate_cb, &a)) == NULL) {
		ms_err("event=start_error reason=out_of_memory");
		goto out;
	}
	/* The uplink first: the tail's first read already wants to send. */
	if ((a.uplink = uplink_new(&a, err, sizeof(err))) == NULL ||
	    (a.tail = tail_new(&a, err, sizeof(err))) == NULL ||
	    ((a.renew = renew_new(&a, err, sizeof(err))) == NULL && a.conf.renew_port != 0)) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	/* Lines lost from the spool since its scan (spool_load at open): read again. */
	agent_take_holes(&a);
	/* The capture needs CAP_NET_RAW: opened before root goes. */
	if ((a.conf.capture_interface[0] || a.conf.capture_file[0]) &&
	    (a.capture = capture_new(&a, err, sizeof(err))) == NULL) {
		ms_err("event=start_error reason=\"capture: %s\"", err);
		goto out;
	}
	/* Files open, keys loaded: the state folder goes to the user, then root goes. */
	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", a.conf.state_dir);
	ms_priv_root_said(a.conf.user, "agent.user");
	if (ms_priv_give_dir(a.conf.user, a.conf.state_dir, err, sizeof(err)) < 0 ||
	    ms_priv_give_dir(a.conf.user, spool_dir, err, sizeof(err)) < 0 ||
	    (a.capture != NULL && a.conf.capture_interface[0] ?
	    ms_priv_drop_keep_net_raw(a.conf.user, err, sizeof(err)) :
	    ms_priv_drop(a.conf.user, err, sizeof(err))) < 0) {
		ms_err("event=start_error reason=\"%s\"", err);
		goto out;
	}
	if ((stats = event_new(a.base, -1, EV_PERSIST, stats_cb, &a)) != NULL)
		evtimer_add(stats, &stats_tv);
	{
		/*
		 * Group commit: what was read becomes durable, then positions may
		 * move. The first turn also covers what the spool held at start;
		 * a turn that leaves nothing behind stops it (agent_commit_soon).
		 */
		struct timeval tv = agent_commit_period(&a);
		if ((a.commit_ev = event_new(a.base, -1, EV_PERSIST, commit_cb, &a)) == NULL ||
		    evtimer_add(a.commit_ev, &tv) < 0) {
			ms_err("event=start_error reason=out_of_memory");
			goto out;
		}
	}
	ms_info("event=start version=%s agent=%s host=%s files=%zu followed=%zu first_seq=%" PRIu64,
	    MINISOC_VERSION, cn, a.hostname, a.nfiles, tail_count(a.tail), state_first_seq(a.state));
	tail_read_all(a.tail);
	capture_start(a.capture);
	event_base_dispatch(a.base);
	agent_commit(&a, true);
	agent_log_stats(&a, "exit");
	ms_info("event=stop unacked=%zu", a.q.count);
	rc = 0;
out:
	capture_free(a.capture);
	tail_free(a.tail);
	renew_free(a.renew);
	uplink_free(a.uplink);
	spool_free(a.spool);
	queue_fini(&a.q);
	if (a.commit_ev)
		event_free(a.commit_ev);
	if (a.rate_ev)
		event_free(a.rate_ev);
	state_close(a.state);
	SSL_CTX_free(a.tls_ctx);	/* not taken: start-up failed before the uplink */
	for (size_t i = 0; i < MS_ARRAY_LEN(sigs); i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (stats)
		event_free(stats);
	if (a.stop_timer)
		event_free(a.stop_timer);
	if (a.base)
		event_base_free(a.base);
	ms_yaml_node_free(root);
	return rc;
}
