/*
 * ms_yaml – YAML documents as a small tree, parsed with libyaml.
 *
 * Used for configs now and Sigma rules later. Input is untrusted: depth,
 * node count and scalar size are capped, aliases are refused (no "billion
 * laughs"), and every error names the line and column.
 */
#ifndef MS_YAML_H
#define MS_YAML_H

#include <stdbool.h>
#include <stddef.h>

#define MS_YAML_MAX_DEPTH	64
#define MS_YAML_MAX_NODES	200000
#define MS_YAML_MAX_SCALAR	(1u << 20)

enum ms_yaml_type { MS_YAML_SCALAR, MS_YAML_MAP, MS_YAML_SEQ };

struct ms_yaml_node;

struct ms_yaml_pair {
	char *key;			/* owned, NUL-terminated */
	struct ms_yaml_node *value;	/* owned */
};

struct ms_yaml_node {
	enum ms_yaml_type type;
	int line;			/* 1-based, for error messages */
	int col;
	/* SCALAR */
	char *str;			/* owned, NUL-terminated (may contain NULs before len) */
	size_t len;
	bool plain;			/* unquoted: "null", "true", "~" keep their meaning */
	/* MAP: pairs in document order; SEQ: items */
	struct ms_yaml_pair *pairs;
	struct ms_yaml_node **items;
	size_t n;
	size_t alloc;
};

/*
 * Parses every document in data (len bytes) into *docs (an owned array of
 * owned roots, *ndocs long; free with ms_yaml_docs_free). Returns 0, or -1
 * with "line L col C: reason" in err.
 */
int ms_yaml_parse(const char *data, size_t len, struct ms_yaml_node ***docs,
    size_t *ndocs, char *err, size_t errsz);
/*
 * Reads the whole file at path, at most maxsize bytes, into a new buffer
 * (caller frees; NUL-terminated, *len without it). NULL with the reason in
 * err (the system's, "read error", "larger than N bytes", "out of memory");
 * callers say which file in their own format.
 */
char *ms_yaml_read_file(const char *path, size_t maxsize, size_t *len, char *err, size_t errsz);
/* Reads path (at most maxsize bytes) and parses it; errors start with the path. */
int ms_yaml_parse_file(const char *path, size_t maxsize, struct ms_yaml_node ***docs,
    size_t *ndocs, char *err, size_t errsz);
void ms_yaml_docs_free(struct ms_yaml_node **docs, size_t ndocs);
void ms_yaml_node_free(struct ms_yaml_node *n);

/* The value under key in a MAP, or NULL (also when n is not a map). */
struct ms_yaml_node *ms_yaml_get(const struct ms_yaml_node *n, const char *key);
/* Follows a dotted path of map keys ("redis.port"); NULL when absent. */
struct ms_yaml_node *ms_yaml_path(const struct ms_yaml_node *n, const char *path);
/* True for a plain scalar spelling null: "", "~", "null", "Null", "NULL". */
bool ms_yaml_is_null(const struct ms_yaml_node *n);
const char *ms_yaml_type_name(enum ms_yaml_type t);

/*
 * Every problem of a document as its own "file:line: reason" line, for
 * loaders that report them all instead of the first (register, profiles).
 * buf (sz bytes, borrowed) receives the lines, cut when full; n counts all.
 */
struct ms_yerr {
	const char *file;
	char *buf;
	size_t sz, used;
	unsigned n;
};

void ms_yerr_init(struct ms_yerr *e, const char *file, char *buf, size_t sz);
void ms_yerr_add(struct ms_yerr *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Every key of map must be one of keys (NULL-terminated): typos are errors. */
void ms_yerr_keys_known(struct ms_yerr *e, const struct ms_yaml_node *map, const char *what,
    const char *const *keys);
/*
 * The non-empty scalar string under key (NULL or null count as absent:
 * an error when required), or NULL.
 */
const char *ms_yerr_str(struct ms_yerr *e, const struct ms_yaml_node *map, const char *key,
    bool required, const char *what);

#endif
