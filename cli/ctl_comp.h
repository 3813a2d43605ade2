/*
 * ctl_comp – what the compliance subcommands of minisocctl share
 * (ctl_incident.c, ctl_report.c): the Redis connection and the incident
 * record (docs/compliance.md, "Incidents").
 */
#ifndef CTL_COMP_H
#define CTL_COMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "ms_compliance.h"
#include "ms_json.h"

#define INC_MAX_SYSTEMS 64
#define INC_MAX_ALERTS 128
#define INC_MAX_NOTES 64
#define INC_ID_MAX 40

struct inc_note {
	int64_t time;
	char who[64];
	char text[1024];
};

/* One incident as stored in minisoc:incident:<id> (field json). Large: heap only. */
struct incident {
	char id[INC_ID_MAX];
	int64_t created, updated, detected;
	int64_t notified, reported, closed;	/* 0 when not (yet) */
	int64_t deadline_notice;		/* 0: none (not serious, or the framework has none) */
	int64_t deadline_report;
	char severity[16];
	bool serious;
	char title[512];
	char framework[16];
	char status[16];			/* open, notified, reported, closed */
	char systems[INC_MAX_SYSTEMS][65];
	size_t nsystems;
	char alerts[INC_MAX_ALERTS][64];
	size_t nalerts;
	struct inc_note notes[INC_MAX_NOTES];
	size_t nnotes;
};

/* Where an incident stands against its deadlines at a time. */
struct inc_state {
	bool notice_overdue;	/* notice due, not given, deadline passed */
	bool report_overdue;
	bool notice_late;	/* given after its deadline */
	bool report_late;
	bool overdue;		/* either overdue now */
};

/*
 * Connects to Redis at addr ("HOST:PORT") or the unix socket sock (when not
 * NULL); NULL with a message on stderr naming prog.
 */
redisContext *ctl_redis_connect(const char *addr, const char *sock, const char *prog);
/*
 * Calls fn(rc, key, arg) for every key matching pattern (SCAN, COUNT 200:
 * a large keyspace is walked without blocking Redis). 0, or -1 when a
 * SCAN failed (the keys seen before it were given).
 */
typedef void (*ctl_scan_fn)(redisContext *rc, const char *key, void *arg);
int ctl_scan(redisContext *rc, const char *pattern, ctl_scan_fn fn, void *arg);

/*
 * Where the framework profiles are when --profile-dir is not given:
 * $MINISOC_PROFILE_DIR, else ./rules/compliance (a source tree), else the
 * installed folder.
 */
const char *ctl_profile_dir(void);

/* Parses a stored incident (our own JSON); 0, or -1 when it is not one. */
int incident_parse(const char *json, size_t len, struct incident *inc);
/* Writes inc as a JSON object into j, with overdue judged at now. */
void incident_to_json(const struct incident *inc, int64_t now, struct ms_json *j);
void incident_judge(const struct incident *inc, int64_t now, struct inc_state *st);
/*
 * Reads every incident created in [from_ms, to_ms] (ZRANGEBYSCORE of
 * minisoc:incidents) into a new array (*out, caller frees). Returns the
 * count, or -1 on a Redis error (message on stderr).
 */
long incident_load_range(redisContext *rc, int64_t from_ms, int64_t to_ms,
    struct incident **out);

#endif
