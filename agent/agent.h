/*
 * agent – the shared state of minisoc-agent.
 *
 * One libevent loop: tail reads followed files into the queue, uplink ships
 * the queue to the collector over mutual TLS and drops what is
 * acknowledged, state keeps sequence numbers and acknowledged file offsets
 * on disk so a restart resends instead of losing.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "ms_yaml.h"

/* Files followed at once (config entries plus glob matches). */
#define AGENT_MAX_FILES 256
/* Bytes at the head of a file whose hash identifies it with dev and inode. */
#define AGENT_FP_BYTES 1024
/* Collectors in the failover list (collector.* plus collectors:). */
#define AGENT_MAX_COLLECTORS 8

/* One collector the uplink may ship to. */
struct agent_collector {
	char host[256];
	int64_t port;
	char server_name[256];	/* the name its certificate must carry */
};
/* Collector key pins (tls.pin_sha256), at most. */
#define AGENT_MAX_PINS 8

/* Anti-malware process names health telemetry looks for, at most. */
#define AGENT_MAX_ANTIMALWARE 16

struct agent_conf {
	char user[64];
	char state_dir[4096];
	char log_level[16];
	char collector_host[256];
	int64_t collector_port;
	char server_name[256];
	char tls_ca[4096];
	char tls_cert[4096];
	char tls_key[4096];
	bool tls_allow_tls12;
	const struct ms_yaml_node *files;	/* borrowed from the parsed tree */
	int64_t batch_max_events;
	uint64_t batch_max_bytes;
	int64_t queue_max_events;
	uint64_t queue_max_bytes;
	int64_t poll_ms;
	int64_t partial_line_ms;
	int64_t heartbeat_ms;
	int64_t dead_after_ms;
	int64_t backoff_min_ms;
	int64_t backoff_max_ms;
	int64_t shutdown_timeout_ms;
	uint64_t spool_max_bytes;
	uint64_t spool_segment_bytes;
	int64_t spool_sync_ms;
	int64_t max_lines_per_s;
	int64_t rotate_wait_ms;
	int64_t read_batch_us;
	const struct ms_yaml_node *collectors_node;	/* borrowed from the parsed tree */
	int64_t failback_ms;		/* 0: never probe the primary */
	/* The failover list, primary first: collector.* then collectors:. */
	struct agent_collector collectors[AGENT_MAX_COLLECTORS];
	size_t ncollectors;
	int64_t health_ms;
	const struct ms_yaml_node *pins_node;	/* borrowed from the parsed tree */
	char pins[AGENT_MAX_PINS][65];	/* SHA-256 of collector public keys, hex */
	size_t npins;
	const struct ms_yaml_node *antimalware_node;	/* borrowed from the parsed tree */
	/* Process names (as in /proc/<pid>/comm, at most 15 bytes) reported on. */
	char antimalware[AGENT_MAX_ANTIMALWARE][16];
	size_t nantimalware;
	/* Certificate renewal (renew.c): the collector's enroll.port; 0 = off. */
	int64_t renew_port;
	int64_t renew_check_s;
	/* Packet capture (capture.c, docs/network.md): interface or file, or neither. */
	char capture_interface[64];
	char capture_file[4096];
	char capture_filter[1024];
	int64_t capture_snaplen;
	bool capture_promiscuous;
	uint64_t capture_buffer_bytes;
	int64_t capture_retry_ms;
	int64_t capture_flow_max;
	int64_t capture_scan_sources;
	int64_t capture_scan_window_s;
	int64_t capture_attempts_per_window;
	int64_t capture_attempts_per_s;
};

struct agent_file_conf {
	char path[4096];	/* a path, or a glob pattern (see is_glob) */
	bool from_beginning;
	bool is_glob;		/* path has * ? or [: expanded at start and every poll */
};

/*
 * Loads file into c (with the failover list c->collectors, primary first)
 * and the list of files to follow into files/nfiles.
 * *root receives the parsed tree (caller frees with ms_yaml_node_free).
 */
int agent_conf_load(const char *file, struct agent_conf *c, struct agent_file_conf *files,
    size_t *nfiles, struct ms_yaml_node **root, char *err, size_t errsz);
void agent_conf_usage(FILE *out);
/* Prints the failover list of c, primary first (for --check). */
void agent_conf_print_collectors(FILE *out, const struct agent_conf *c);

/* --- queue.c: the oldest unacknowledged events, in memory ------------ */

/*
 * Every event is in the spool (spool.c) first; the queue holds a window of
 * the oldest unacknowledged ones for sending. Events that did not fit are
 * read back from the spool as acknowledgements make room.
 */
struct qchunk;
struct qevent {
	struct qevent *next;
	struct qchunk *chunk;	/* the queue's block holding it (queue.c) */
	uint64_t seq;		/* local number; the wire adds agent.seq_shift */
	int64_t time_ms;	/* when it was read */
	uint32_t src_len;
	uint32_t len;
	char data[];		/* the source path, then the line; not NUL-terminated */
};

static inline const char *
qevent_line(const struct qevent *e)
{
	return e->data + e->src_len;
}

struct queue {
	struct qevent *head;	/* oldest unacknowledged */
	struct qevent *tail;
	struct qevent *unsent;	/* first not yet sent on this connection */
	size_t count;
	size_t bytes;
	size_t max_count;
	size_t max_bytes;
	/*
	 * Events live in blocks of QUEUE_CHUNK bytes, filled in order and
	 * freed whole once every event in them is acknowledged: events come
	 * and go first in, first out, so this costs a pointer bump per line
	 * instead of a malloc and a free (which were a sixth of the agent's
	 * own instructions at 10,000 lines/s).
	 */
	struct qchunk *chunks;	/* oldest block */
	struct qchunk *chunk_tail;	/* the block new events go into */
};

void queue_init(struct queue *q, size_t max_count, size_t max_bytes);
void queue_fini(struct queue *q);
bool queue_full(const struct queue *q);
/*
 * A new event of q holding copies of src and line (NULL: no memory). The
 * caller appends it (queue_append) or gives it back (qevent_discard)
 * before the next qevent_new on q.
 */
struct qevent *qevent_new(struct queue *q, uint64_t seq, int64_t time_ms, const char *src,
    size_t src_len, const char *line, size_t len);
/* Gives back e, the last event qevent_new made and not appended. */
void qevent_discard(struct queue *q, struct qevent *e);
/* Appends e (owned by the queue from now on); numbers must grow. */
void queue_append(struct queue *q, struct qevent *e);
/* Drops events with seq <= seq, calling done(ev, arg) on each first. Returns how many. */
size_t queue_ack(struct queue *q, uint64_t seq, void (*done)(const struct qevent *, void *),
    void *arg);
/* After a reconnect: everything unacknowledged is unsent again. */
void queue_rewind(struct queue *q);

/* --- the agent ------------------------------------------------------- */

struct tail;
struct uplink;
struct capture;
struct agent_state_file;
struct state_pos;

struct agent_stats {
	uint64_t lines_read;
	uint64_t lines_truncated;
	uint64_t lines_unterminated;	/* shipped without a newline (timeout, rotation) */
	uint64_t lines_recovered;	/* read again: their spool records were lost */
	uint64_t events_sent;
	uint64_t events_acked;
	uint64_t batches_sent;
	uint64_t connects;
	uint64_t connect_failures;
	uint64_t rotations;
	uint64_t truncations;		/* by size or by a changed head (fingerprint) */
	uint64_t files_limit;		/* glob matches not followed: AGENT_MAX_FILES reached */
	uint64_t files_refused;		/* symbolic links not followed (not root's nor the agent's) */
	uint64_t nul_bytes_skipped;	/* NUL bytes between lines (a hole after copytruncate) */
	uint64_t read_errors;		/* unreadable blocks of followed files skipped */
	uint64_t reserve_failures;	/* sequence reservation not written: reading paused */
	uint64_t spool_full;		/* times reading paused on a full spool */
	uint64_t spool_errors;		/* spool writes that failed (reading paused, retried) */
	uint64_t rate_limited;		/* times agent.max_lines_per_s paused reading */
	uint64_t paused_ms;		/* total time reading was paused (spool full, rate limit) */
	uint64_t failovers;		/* moved on to the next collector after a failure */
	uint64_t failbacks;		/* switched back to the primary after a probe */
	uint64_t cert_renewals;		/* certificate renewed (renew.c) */
	uint64_t cert_renew_failures;	/* renewal attempts that failed (retried) */
	uint64_t send_blocked;		/* sends the socket did not take at once (collector slow) */
};

struct agent {
	struct event_base *base;
	struct agent_conf conf;
	struct agent_file_conf files[AGENT_MAX_FILES];
	size_t nfiles;
	char hostname[256];
	struct queue q;
	struct spool *spool;
	uint64_t next_seq;	/* local number of the next line read */
	uint64_t seq_shift;	/* added to local numbers on the wire (see uplink.c) */
	/*
	 * Highest wire number this life has sent, or renumbered above (a
	 * collector's number at or below it can be an ACK: uplink_on_ack).
	 */
	uint64_t sent_max;
	uint64_t durable_seq;	/* every local number up to this is durable in the spool */
	uint64_t acked_seq;	/* ... and acknowledged up to this one */
	bool spool_paused;	/* reading stopped on a full spool, not yet resumed */
	int64_t last_save_ms;
	/* Flood control: a token bucket of lines (agent.max_lines_per_s). */
	double tokens;
	int64_t tokens_ms;	/* monotonic time of the last refill */
	bool rate_paused;
	int64_t rate_logged_ms;
	int64_t paused_since_ms;	/* when reading paused (spool or rate), 0 when not */
	struct event *rate_ev;	/* resumes reading after a rate pause */
	struct event *commit_ev;	/* every spool.sync_ms while there is work (agent_commit_soon) */
	struct tail *tail;
	struct uplink *uplink;
	struct renew *renew;	/* NULL when tls.renew_port is 0 */
	struct capture *capture;	/* NULL when capture.* is not configured */
	struct agent_state_file *state;
	/* The client context made from tls.* at start; uplink_new takes it (NULL: makes its own). */
	SSL_CTX *tls_ctx;
	struct agent_stats stats;
	bool stopping;
	struct event *stop_timer;
};

struct spool_rec;
/*
 * Takes one line read: into the spool, and into the queue when there is
 * room and no backlog. The record's seq is a->next_seq, which moves on.
 * false when it was not taken (spool full or failing): reading pauses.
 */
bool agent_accept(struct agent *a, const struct spool_rec *r);
/* The rate-limit timer fired: reading goes on. */
void agent_rate_resume(struct agent *a);
/* Called when events were accepted: writes them to the spool, lets the uplink send them. */
void agent_events_queued(struct agent *a);
/* Hands the holes spool_load found to tail (tail_add_hole); after each spool_load. */
void agent_take_holes(struct agent *a);
/* The collector acknowledged up to local number seq (from uplink.c). */
void agent_acked(struct agent *a, uint64_t seq);
/* Called when acknowledgements freed room: loads backlog, lets the tail read again. */
void agent_room_freed(struct agent *a);
/*
 * Makes every accepted line durable (spool_sync), then lets the tail
 * commit and, when save or a second has passed, save positions. 0 or -1.
 */
int agent_commit(struct agent *a, bool save);
/*
 * Work for the group commit is waiting (a line accepted, a position
 * changed): starts its timer, which stops when a commit leaves nothing
 * behind, so that an agent at rest is not woken spool.sync_ms apart.
 */
void agent_commit_soon(struct agent *a);
/* The group commit's period: spool.sync_ms (100 ms when 0, which only turns fdatasync off). */
struct timeval agent_commit_period(const struct agent *a);
/* Opens the spool (state_dir/spool), loads what it holds, sets next_seq. 0 or -1. */
int agent_spool_open(struct agent *a, char *err, size_t errsz);
/* Called when the queue is empty during shutdown. */
void agent_maybe_exit(struct agent *a);
void agent_log_stats(const struct agent *a, const char *why);
/* Events read but not yet acknowledged by the collector (health telemetry). */
struct agent_backlog {
	uint64_t events;
	uint64_t bytes;		/* of the ones in memory */
	uint64_t spool_bytes;	/* the spool's size on disk */
	int64_t oldest_ms;	/* when the oldest of them was read; 0 when none */
};
void agent_backlog(const struct agent *a, struct agent_backlog *b);
struct ms_hello;
/* Fills the OS, boot id and UTC offset of this host into h. */
void agent_host_facts(struct ms_hello *h);

/* --- tail.c ---------------------------------------------------------- */
struct tail *tail_new(struct agent *a, char *err, size_t errsz);
void tail_free(struct tail *t);
/* Reads every file as far as the queue allows. */
void tail_read_all(struct tail *t);
/*
 * Lines of an open file whose spool records were lost while the agent ran
 * (spool_take_holes): read again from the file and appended flagged
 * SPOOL_REC_RECOVERED. A file no longer open: said, and lost.
 */
struct spool_file_hole;
void tail_add_hole(struct tail *t, const struct spool_file_hole *h);
/* Every line read so far is durable in the spool: their positions may be saved. */
void tail_durable(struct tail *t);
/* Whether positions changed since the last tail_save. */
bool tail_dirty(const struct tail *t);
/* Stops watching (shutdown). */
void tail_stop(struct tail *t);
/* Writes the acknowledged positions through the state file. */
int tail_save(struct tail *t);
/*
 * What the poll timer does, callable directly (tests): checks every file for
 * rotation, truncation, a changed head and unfinished lines, expands globs
 * again, drops finished files, reads.
 */
void tail_poll(struct tail *t);
/* How many files are followed now. */
size_t tail_count(const struct tail *t);
/* What the health telemetry reports about one followed file. */
struct tail_file_info {
	const char *path;	/* borrowed: valid until the tail runs again */
	bool open;		/* opened and readable */
	uint64_t offset;	/* bytes read (the next line starts here) */
	uint64_t size;		/* size now (0 when not open) */
};
/* Fills out[0..max) with the followed files; returns how many. */
size_t tail_info(const struct tail *t, struct tail_file_info *out, size_t max);
/* 64-bit FNV-1a of p[0..n): the fingerprint of a file's head. */
uint64_t tail_fingerprint(const void *p, size_t n);
/*
 * Whether a saved position still names the file that has identity (dev,
 * ino) and whose first bytes are head[0..headlen) (up to AGENT_FP_BYTES):
 * same device and inode and, when the position has a fingerprint, the same
 * hash of its first fp_len bytes. A reused inode fails the last test.
 */
bool tail_same_file(const struct state_pos *pos, uint64_t dev, uint64_t ino, const char *head,
    size_t headlen);

/* --- capture.c: packets → network events (agent/net) ---------------- */

struct capture_stats {
	const char *source;		/* "pcap:eth0", borrowed */
	bool live;
	bool running;			/* open and reading / file not finished */
	uint64_t packets;		/* handed to us by libpcap */
	uint64_t events;		/* network events produced */
	uint64_t agent_drops;		/* events dropped here (pending list full, shutdown) */
	uint64_t failures;		/* the capture failed or could not be reopened */
	uint64_t reopens;
	size_t pending;			/* events waiting for the spool */
	uint64_t kernel_received;	/* pcap_stats: ps_recv */
	uint64_t kernel_drops;		/* ps_drop: the kernel buffer was full */
	uint64_t if_drops;		/* ps_ifdrop: dropped by the interface */
	uint64_t decode_errors;		/* truncated or malformed packets */
	uint64_t fragments;
	uint64_t flows_active;
	uint64_t flows_evicted;
	uint64_t attempts_suppressed;
	uint64_t app_suppressed;	/* http/dns/ssl events withheld */
};

/*
 * Opens the capture of a->conf (capture.interface or capture.file; call
 * before dropping privileges). NULL with a message in err.
 */
struct capture *capture_new(struct agent *a, char *err, size_t errsz);
void capture_free(struct capture *c);
/* Whether filter compiles (BPF, for --check, on an Ethernet link). 0, or -1 with err. */
int capture_check_filter(const char *filter, char *err, size_t errsz);
/* Starts reading (a file: as fast as the spool takes its events). */
void capture_start(struct capture *c);
/* The spool or flood control let events in again: waiting events go, reading goes on. */
void capture_resume(struct capture *c);
/* Shutdown: closes the capture, reports open flows. */
void capture_stop(struct capture *c);
void capture_get_stats(const struct capture *c, struct capture_stats *out);

/* --- uplink.c -------------------------------------------------------- */
struct uplink *uplink_new(struct agent *a, char *err, size_t errsz);
void uplink_free(struct uplink *u);
/* Sends queued events if the connection is ready and idle. */
void uplink_kick(struct uplink *u);
bool uplink_ready(const struct uplink *u);

/*
 * Makes the next connections use ctx (owned from now on): the session in
 * progress is closed and a new one opened at once (certificate renewed).
 */
void uplink_set_ctx(struct uplink *u, SSL_CTX *ctx);

/* --- enroll.c / renew.c: enrolment and certificate renewal ------------- */
/* One enrolment or renewal exchange with the collector's enrolment listener. */
struct agent_enroll_job {
	char host[256];
	int64_t port;
	char server_name[256];	/* the collector's certificate must carry it */
	char token[65];		/* the secret; "" for a renewal */
	char ca_pin[65];	/* enrolment: SHA-256 of the CA's public key */
	char ca[4096];		/* tls.ca: written at enrolment, trusted at renewal */
	char cert[4096];	/* tls.cert: replaced on success */
	char key[4096];		/* tls.key: replaced on success */
	char hostname[256];
	bool allow_tls12;
	int timeout_ms;
};
struct agent_enroll_result {
	int code;		/* ms_enroll_code from the collector; -1 when it never answered */
	char msg[512];
	char agent_id[72];
	char serial[80];
	int64_t not_after;	/* seconds since the epoch */
};
/*
 * Blocking: makes a key and CSR, asks, checks the answer, writes key,
 * certificate (and CA at enrolment) in place. 0, or -1 with res->msg; the
 * files in place are untouched on failure. Thread-safe (no logging).
 */
int agent_enroll_exchange(const struct agent_enroll_job *j, struct agent_enroll_result *res);
/* `minisoc-agent enroll ...`; returns the exit status. */
int agent_enroll_main(int argc, char **argv);
/* Finishes a renewal a crash interrupted between its two renames. 1 when it did. */
int agent_tls_recover(const struct agent_conf *c);
struct renew *renew_new(struct agent *a, char *err, size_t errsz);
void renew_free(struct renew *r);
/* notAfter of the certificate in use (seconds since the epoch), or -1. */
int64_t renew_not_after(const struct renew *r);

/* --- health.c: telemetry for the collector ------------------------- */
struct ms_buf;
/*
 * Appends a complete HEALTH frame describing this agent now to out
 * (docs/protocol.md; at most conf.batch_max_bytes long: followed files that
 * do not fit are left out). Returns 0, or -1 (no memory, out's cap) with
 * out unchanged.
 */
int health_encode(const struct agent *a, struct ms_buf *out);
/* The report key of anti-malware process name: "antimalware." + name in lower case, '_' for [^a-z0-9_.]. */
void health_antimalware_key(char *out, size_t outsz, const char *name);

/* --- state.c: sequence numbers and positions on disk ----------------- */

struct state_pos {
	char path[4096];
	uint64_t dev;
	uint64_t ino;
	uint64_t offset;
	bool has_fp;		/* false for lines written before fingerprints */
	uint32_t fp_len;	/* the fingerprint covers the first fp_len bytes */
	uint64_t fp;
};

/*
 * Opens (creating) dir/state. The next sequence number handed out is above
 * anything used before, even after a crash: numbers are reserved in blocks
 * written to disk before use.
 */
struct agent_state_file *state_open(const char *dir, char *err, size_t errsz);
void state_close(struct agent_state_file *s);
/* The first sequence number this run may use. */
uint64_t state_first_seq(const struct agent_state_file *s);
/* The highest local number acknowledged, as last saved (written by state_save). */
uint64_t state_acked(const struct agent_state_file *s);
void state_set_acked(struct agent_state_file *s, uint64_t acked);
/* What is added to local numbers on the wire; state_set_shift writes it at once. */
uint64_t state_shift(const struct agent_state_file *s);
int state_set_shift(struct agent_state_file *s, uint64_t shift);
/*
 * The doubt a failed spool sync left (spool_sync_suspect), kept across
 * restarts; state_set_sync_suspect writes it at once (0 or -1, logged
 * once while failing). 0: none.
 */
uint64_t state_sync_suspect(const struct agent_state_file *s);
int state_set_sync_suspect(struct agent_state_file *s, uint64_t seq);
/* Makes sure seq is covered by an on-disk reservation; 0 or -1. */
int state_reserve(struct agent_state_file *s, uint64_t seq);
/* The saved position of path, or NULL. */
const struct state_pos *state_find(const struct agent_state_file *s, const char *path);
/* The i-th saved position (i < state_count), borrowed until the next state_save. */
size_t state_count(const struct agent_state_file *s);
const struct state_pos *state_get(const struct agent_state_file *s, size_t i);
/* Replaces the saved positions with pos[0..n) and writes them (a crash leaves the old or the new). */
int state_save(struct agent_state_file *s, const struct state_pos *pos, size_t n);
/*
 * Prints the state saved in dir (the text of the newest whole copy, in the
 * old format's form: version 2, paths escaped, when a path holds a control
 * byte) to out, writing nothing: 0, or -1 with err.
 */
int state_print(const char *dir, FILE *out, char *err, size_t errsz);

#endif
