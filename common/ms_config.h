/*
 * ms_config – typed configuration from a YAML tree, declared once in a table.
 *
 * Each key names its dotted path, type, default, destination offset in the
 * caller's struct and help text (Fluent Bit style). ms_config_load fills
 * defaults, applies the file, and refuses unknown keys and bad values with
 * a message naming the key and line, so a typo never goes unnoticed.
 */
#ifndef MS_CONFIG_H
#define MS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ms_yaml.h"

enum ms_conf_type {
	MS_CONF_STR,	/* char[size] inline buffer */
	MS_CONF_PATH,	/* like STR; relative paths resolved against the config's folder */
	MS_CONF_INT,	/* int64_t within [min, max] */
	MS_CONF_SIZE,	/* uint64_t, "64MiB" style, within [min, max] */
	MS_CONF_BOOL,	/* bool */
	MS_CONF_NODE,	/* a list or map handled by the caller: stored as const node* */
};

struct ms_conf_key {
	const char *path;	/* "redis.port" */
	enum ms_conf_type type;
	size_t offset;		/* in the destination struct */
	size_t size;		/* buffer size for STR/PATH */
	const char *def;	/* default as text, or NULL for empty / required */
	int64_t min, max;
	const char *help;
};

#define MS_CONF_END { NULL, 0, 0, 0, NULL, 0, 0, NULL }

/*
 * Parses file (at most 1 MiB), fills dst from keys (defaults first). On
 * success returns 0 and, when root is not NULL, hands over the parsed tree
 * (*root, caller frees with ms_yaml_node_free; MS_CONF_NODE pointers point
 * into it). Returns -1 with a message in err.
 */
int ms_config_load(const char *file, const struct ms_conf_key *keys, void *dst,
    struct ms_yaml_node **root, char *err, size_t errsz);
/* Fills dst with the defaults only. */
int ms_config_defaults(const struct ms_conf_key *keys, void *dst, char *err, size_t errsz);
/* Prints the key table (path, default, help) for --help style output. */
void ms_config_print_keys(FILE *out, const struct ms_conf_key *keys);
/*
 * Resolves rel against the folder of file into out (unchanged when rel is
 * absolute). Returns 0, or -1 when it does not fit.
 */
int ms_config_resolve_path(const char *file, const char *rel, char *out, size_t outsz);

#endif
