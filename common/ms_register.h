/*
 * ms_register – the register of information systems (docs/compliance.md).
 *
 * One YAML file holds one record per information system: identity, actors,
 * framework and security level, dossier and protection plan, independent
 * assessment, the four layers of Directive 14/CT-TTg with their evidence
 * and expiry, and the assets (hosts and the agent ids of their
 * certificates). Every record is validated when the file is loaded; every
 * problem is reported as "file:line: reason" (all of them, not only the
 * first), and a register with any problem is refused as a whole.
 *
 * The loaded register answers "which system does agent X belong to" in
 * O(1) for the collector, which tags every alert with system id and level.
 *
 * Dates are days since 1970-01-01 (ms_days_from_civil), MS_REG_NO_DATE when
 * absent. Strings are borrowed from the YAML tree the register owns, valid
 * until ms_register_free.
 */
#ifndef MS_REGISTER_H
#define MS_REGISTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_REG_NO_DATE INT64_MIN
#define MS_REG_MAX_SIZE (16u << 20)	/* largest register file read */
#define MS_REG_LAYERS 4

enum ms_reg_dossier { MS_REG_DRAFTING, MS_REG_SUBMITTED, MS_REG_APPRAISED, MS_REG_APPROVED };
enum ms_reg_impl { MS_REG_IMPL_NONE, MS_REG_IMPL_PARTIAL, MS_REG_IMPL_FULL };
enum ms_reg_layer_status { MS_REG_LAYER_MISSING, MS_REG_LAYER_PARTIAL, MS_REG_LAYER_ACTIVE };

/* One of the four layers: 1 on-site force, 2 monitoring (SOC), 3 independent
 * inspection, 4 connection to the national monitoring system. */
struct ms_reg_layer {
	enum ms_reg_layer_status status;
	const char *evidence;		/* document reference, or NULL */
	int64_t valid_until;		/* day, or MS_REG_NO_DATE */
};

struct ms_reg_asset {
	const char *host;
	const char *agent;		/* agent id (certificate CN), or NULL: no agent */
	bool sensor;			/* a network sensor (role: sensor) */
};

/* A manual requirement attested by a document (requirement id of the profile). */
struct ms_reg_attest {
	const char *requirement;
	const char *ref;
	int64_t valid_until;
};

struct ms_reg_system {
	const char *id, *name, *type;	/* type: internal, citizen-facing, infrastructure, industrial-control */
	const char **info_classes;	/* owned array of borrowed strings */
	size_t ninfo;
	int64_t users;			/* -1 when not given */
	bool national_db;		/* connects to the national population database */
	const char *owner, *security_unit, *operator_name, *contact;
	const char *framework;		/* "old" or "new" */
	int level;			/* 1..5 */
	enum ms_reg_dossier dossier;
	const char *decision_number;	/* NULL when none yet */
	int64_t decision_date;
	bool plan_approved;
	enum ms_reg_impl plan_impl;
	int64_t plan_target;
	int64_t assessed;		/* last independent assessment */
	const char *assessor;
	int64_t pentest;
	struct ms_reg_layer layers[MS_REG_LAYERS];
	struct ms_reg_asset *assets;	/* owned array */
	size_t nassets;
	struct ms_reg_attest *attest;	/* owned array */
	size_t nattest;
	int line;			/* where the record starts */
};

struct ms_register {
	char *path;			/* owned copy */
	const char *province;		/* may be NULL */
	const char *organisation;	/* may be NULL */
	struct ms_reg_system *systems;	/* owned array, file order */
	size_t n;
	const char **sensors;		/* shared network sensors (agent ids), owned array */
	size_t nsensors;
	/* private */
	struct ms_yaml_node **docs;
	size_t ndocs;
	struct ms_map *by_agent;	/* agent id -> struct ms_reg_system* */
	struct ms_map *by_id;		/* system id -> struct ms_reg_system* */
};

/*
 * Loads and validates the register at path. Returns a new register (caller
 * owns it: ms_register_free), or NULL with every problem in err, one
 * "file:line: reason" per line (cut when err is full).
 */
struct ms_register *ms_register_load(const char *path, char *err, size_t errsz);
/* As ms_register_load on data (len bytes); name is used in the messages. */
struct ms_register *ms_register_parse(const char *name, const char *data, size_t len, char *err,
    size_t errsz);
void ms_register_free(struct ms_register *r);

/* The system agent belongs to (borrowed), or NULL when it is unassigned. */
const struct ms_reg_system *ms_register_find_agent(const struct ms_register *r,
    const char *agent);
/* "k": "YYYY-MM-DD", or "k": null for MS_REG_NO_DATE. */
struct ms_json;
void ms_reg_json_date(struct ms_json *j, const char *k, int64_t day);
/* The register's key of layer l (0..MS_REG_LAYERS-1): "onsite", "monitoring" ... */
const char *ms_reg_layer_key(int l);
/*
 * "layers": { "<key>": { status, evidence, valid_until[, expired] }, ... }
 * for s; "expired" (valid_until before today, a day number) only when
 * today >= 0.
 */
void ms_reg_json_layers(struct ms_json *j, const struct ms_reg_system *s, int64_t today);
/* The system with id (borrowed), or NULL. */
const struct ms_reg_system *ms_register_find(const struct ms_register *r, const char *id);

struct ms_json;
/*
 * Writes s as one JSON object to j: the record the collector publishes in
 * the Redis hash minisoc:systems (docs/compliance.md, "Systems in
 * Redis"): identity, framework and level, dossier, plan, the four layers
 * with status and expiry, and the counts and ids of its agents. Strings
 * are escaped by ms_json; nothing of s is kept.
 */
void ms_register_system_json(struct ms_json *j, const struct ms_reg_system *s);

/* Names for display and JSON: "approved", "partial", "active" ... */
const char *ms_reg_dossier_name(enum ms_reg_dossier d);
const char *ms_reg_impl_name(enum ms_reg_impl i);
const char *ms_reg_layer_status_name(enum ms_reg_layer_status s);

/* Parses a strict YYYY-MM-DD into days since the epoch; 0 or -1. */
int ms_date_parse(const char *s, int64_t *day);
/* Formats a day as YYYY-MM-DD (11 bytes); "" for MS_REG_NO_DATE. */
void ms_date_fmt(char *dst, size_t dstsz, int64_t day);
/* The civil date of a day since the epoch. */
void ms_date_civil(int64_t day, int *y, int *m, int *d);

#endif
