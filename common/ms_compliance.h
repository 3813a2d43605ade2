/*
 * ms_compliance – framework profiles (rules/compliance/<id>.yml) and the pure
 * arithmetic of compliance reports: percentages rounded half-up, retention
 * from the days present in an event archive, incident deadlines.
 *
 * A profile lists a framework's requirements, each from a level up, either
 * automatic (a named check with its thresholds: hours, days, months per
 * level, event categories) or manual (attested by a document reference
 * with an expiry, in the register). Every threshold is data: nothing of a
 * framework is written in code. See docs/compliance.md.
 *
 * Strings are borrowed from the YAML tree the profile owns.
 */
#ifndef MS_COMPLIANCE_H
#define MS_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_COMP_MAX_CATEGORIES 8
#define MS_COMP_MAX_LEVEL 5

enum ms_comp_check {
	MS_CHECK_MANUAL = 0,	/* kind: manual – an attestation, no check */
	MS_CHECK_AGENT_REPORTING,	/* every asset's agent heard within `hours` */
	MS_CHECK_LOGS_CENTRAL,	/* every asset's agent delivered events (handled seq > 0), heard within `hours` */
	MS_CHECK_RETENTION,	/* archive: oldest day <= end - months[level], no missing day since */
	MS_CHECK_CLOCK_SYNCED,	/* every asset's health: clock.synced = 1, report within `hours` */
	MS_CHECK_ANTIMALWARE,	/* every asset's health: each antimalware.* = running, report within `hours` */
	MS_CHECK_EVENTS_SEEN,	/* each of `categories` seen on an asset within `days` */
	MS_CHECK_SENSOR_ALIVE,	/* a network sensor's capture.* running, report within `hours` */
	MS_CHECK_N
};

struct ms_comp_req {
	const char *id;
	const char *title_vi, *title_en;
	const char *basis;		/* legal basis, may be NULL */
	int from_level;			/* 1..5 */
	enum ms_comp_check check;
	int64_t hours;			/* freshness, checks that read health or last_seen */
	int64_t days;			/* events_seen window */
	int months[MS_COMP_MAX_LEVEL + 1];	/* retention per level (index 1..5); 0 = none */
	const char *categories[MS_COMP_MAX_CATEGORIES];
	size_t ncategories;
	const char *layer;		/* manual: attested by this layer of the record, or NULL */
};

struct ms_comp_profile {
	const char *id;			/* "old", "new" */
	const char *title_vi, *title_en;
	const char **legal;		/* owned array of borrowed strings */
	size_t nlegal;
	const char *note_vi, *note_en;
	/* Incident reporting deadlines, hours after detection. */
	int64_t report_hours;		/* any incident */
	int64_t serious_notice_hours;	/* serious: first notice; 0 = none */
	int64_t serious_report_hours;	/* serious: full report */
	struct ms_comp_req *reqs;	/* owned array, file order */
	size_t nreqs;
	/* private */
	struct ms_yaml_node **docs;
	size_t ndocs;
};

/* Loads a profile file; NULL with "file:line: reason" lines in err. Caller owns it. */
struct ms_comp_profile *ms_comp_profile_load(const char *path, char *err, size_t errsz);
struct ms_comp_profile *ms_comp_profile_parse(const char *name, const char *data, size_t len,
    char *err, size_t errsz);
/* Loads dir/<id>.yml and checks that its id is id. */
struct ms_comp_profile *ms_comp_profile_find(const char *dir, const char *id, char *err,
    size_t errsz);
void ms_comp_profile_free(struct ms_comp_profile *p);

const char *ms_comp_check_name(enum ms_comp_check c);

/*
 * num/den as a percentage with two decimals, rounded half-up with integer
 * arithmetic only: 53/69 -> "76.81". den 0 gives "-". out holds >= 16 bytes.
 * Returns the value in hundredths of a percent (7681), or -1 for den 0.
 */
int64_t ms_pct(int64_t num, int64_t den, char *out, size_t outsz);

/* day + months calendar months (may be negative); the day is clamped to the month's length. */
int64_t ms_date_add_months(int64_t day, int months);

struct ms_retention {
	int64_t oldest;		/* oldest day present, MS_REG_NO_DATE when none */
	int64_t newest;
	int64_t required;	/* the oldest day the level needs: end - months */
	int64_t missing;	/* days missing between oldest and end (end itself excused) */
	int64_t first_missing;	/* the earliest of them, MS_REG_NO_DATE when none */
	int64_t days;		/* days present */
	bool pass;
};

/*
 * Judges retention from the days present in a system's archive folder
 * (days, n long, any order, duplicates allowed), as of the day end: passes
 * when the oldest day is on or before end - months and no day is missing
 * since. The end day itself may be missing (it is still being written).
 */
void ms_retention_judge(const int64_t *days, size_t n, int64_t end, int months,
    struct ms_retention *out);

/*
 * The day of an archive file name "YYYY-MM-DD.<anything>" ("2026-11-25.jsonl.gz");
 * 0 and *day, or -1 for any other name.
 */
int ms_archive_day(const char *name, int64_t *day);

/* Incident deadlines (ms since the epoch) for a detection time, per profile. */
void ms_comp_deadlines(const struct ms_comp_profile *p, bool serious, int64_t detected_ms,
    int64_t *notice_ms, int64_t *report_ms);

/*
 * Parses a time: RFC 3339 ("2026-11-25T16:34:47Z", fractions and +07:00
 * offsets allowed) or a date ("2026-11-25", midnight UTC) into ms since the
 * epoch; 0, or -1 for anything else.
 */
int ms_time_parse(const char *s, int64_t *ms);

#endif
