#include "ms_config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ms_util.h"

#define CONF_MAX_FILE (1u << 20)

static int
conf_set(const struct ms_conf_key *k, void *dst, const char *val, const char *file,
    char *err, size_t errsz)
{
	char *field = (char *)dst + k->offset;
	int64_t iv;
	uint64_t uv;

	switch (k->type) {
	case MS_CONF_STR:
		if (strlen(val) >= k->size) {
			snprintf(err, errsz, "%s: value longer than %zu bytes", k->path, k->size - 1);
			return -1;
		}
		ms_copy(field, k->size, val, strlen(val));
		return 0;
	case MS_CONF_PATH:
		if (*val == '\0') {
			field[0] = '\0';
			return 0;
		}
		if (file ? ms_config_resolve_path(file, val, field, k->size) < 0
		    : ms_copy(field, k->size, val, strlen(val)) != strlen(val)) {
			snprintf(err, errsz, "%s: path too long", k->path);
			return -1;
		}
		return 0;
	case MS_CONF_INT:
		if (ms_parse_i64(val, k->min, k->max, &iv) < 0) {
			snprintf(err, errsz, "%s: expected an integer in [%lld, %lld], got \"%.64s\"",
			    k->path, (long long)k->min, (long long)k->max, val);
			return -1;
		}
		memcpy(field, &iv, sizeof(iv));
		return 0;
	case MS_CONF_SIZE:
		if (ms_parse_size(val, &uv) < 0 || uv < (uint64_t)k->min || uv > (uint64_t)k->max) {
			snprintf(err, errsz, "%s: expected a size in [%lld, %lld] bytes (e.g. 64MiB), got \"%.64s\"",
			    k->path, (long long)k->min, (long long)k->max, val);
			return -1;
		}
		memcpy(field, &uv, sizeof(uv));
		return 0;
	case MS_CONF_BOOL: {
		bool b;
		if (strcasecmp(val, "true") == 0 || strcasecmp(val, "yes") == 0 || strcmp(val, "1") == 0)
			b = true;
		else if (strcasecmp(val, "false") == 0 || strcasecmp(val, "no") == 0 || strcmp(val, "0") == 0)
			b = false;
		else {
			snprintf(err, errsz, "%s: expected true or false, got \"%.64s\"", k->path, val);
			return -1;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	}
	case MS_CONF_NODE:
		return 0;
	}
	return -1;
}

int
ms_config_defaults(const struct ms_conf_key *keys, void *dst, char *err, size_t errsz)
{
	for (const struct ms_conf_key *k = keys; k->path; k++) {
		if (k->type == MS_CONF_NODE) {
			const struct ms_yaml_node *none = NULL;
			memcpy((char *)dst + k->offset, &none, sizeof(none));
			continue;
		}
		if (conf_set(k, dst, k->def ? k->def : "", NULL, err, errsz) < 0 &&
		    k->def != NULL)
			return -1;
	}
	return 0;
}

static const struct ms_conf_key *
conf_find(const struct ms_conf_key *keys, const char *path)
{
	for (const struct ms_conf_key *k = keys; k->path; k++)
		if (strcmp(k->path, path) == 0)
			return k;
	return NULL;
}

/* True when some key lives below prefix (so prefix is a section). */
static bool
conf_is_section(const struct ms_conf_key *keys, const char *prefix)
{
	size_t l = strlen(prefix);
	for (const struct ms_conf_key *k = keys; k->path; k++)
		if (strncmp(k->path, prefix, l) == 0 && k->path[l] == '.')
			return true;
	return false;
}

/* The first key below section prefix (an example for an error message). */
static const char *
conf_first_below(const struct ms_conf_key *keys, const char *prefix)
{
	size_t l = strlen(prefix);
	for (const struct ms_conf_key *k = keys; k->path; k++)
		if (strncmp(k->path, prefix, l) == 0 && k->path[l] == '.')
			return k->path;
	return prefix;
}

static int
conf_walk(const struct ms_yaml_node *n, const char *prefix, const struct ms_conf_key *keys,
    void *dst, const char *file, char *err, size_t errsz)
{
	for (size_t i = 0; i < n->n; i++) {
		const struct ms_yaml_pair *p = &n->pairs[i];
		const struct ms_conf_key *k;
		char path[256];
		char why[400];

		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
		    p->key) >= sizeof(path)) {
			snprintf(err, errsz, "line %d: key path too long", p->value->line);
			return -1;
		}
		if ((k = conf_find(keys, path)) != NULL) {
			if (k->type == MS_CONF_NODE) {
				const struct ms_yaml_node *v = p->value;
				memcpy((char *)dst + k->offset, &v, sizeof(v));
				continue;
			}
			if (p->value->type != MS_YAML_SCALAR) {
				snprintf(err, errsz, "line %d: %s: expected a single value, got a %s",
				    p->value->line, path, ms_yaml_type_name(p->value->type));
				return -1;
			}
			if (conf_set(k, dst, p->value->str, file, why, sizeof(why)) < 0) {
				snprintf(err, errsz, "line %d: %s", p->value->line, why);
				return -1;
			}
			continue;
		}
		if (p->value->type == MS_YAML_MAP && conf_is_section(keys, path)) {
			if (conf_walk(p->value, path, keys, dst, file, err, errsz) < 0)
				return -1;
			continue;
		}
		if (ms_yaml_is_null(p->value) && conf_is_section(keys, path))
			continue;	/* an empty section */
		/* "redis: 6379" is a known section given a value, not an unknown key. */
		if (conf_is_section(keys, path)) {
			snprintf(err, errsz, "line %d: %s is a section: expected its keys on the lines "
			    "below, indented (like %s), got a %s", p->value->line, path,
			    conf_first_below(keys, path), ms_yaml_type_name(p->value->type));
			return -1;
		}
		snprintf(err, errsz, "line %d: unknown key \"%s\"", p->value->line, path);
		return -1;
	}
	return 0;
}

int
ms_config_load(const char *file, const struct ms_conf_key *keys, void *dst,
    struct ms_yaml_node **root, char *err, size_t errsz)
{
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0;
	char why[512];
	int rc = -1;

	if (root)
		*root = NULL;
	if (ms_config_defaults(keys, dst, err, errsz) < 0)
		return -1;
	if (ms_yaml_parse_file(file, CONF_MAX_FILE, &docs, &ndocs, err, errsz) < 0)
		return -1;
	if (ndocs == 0)
		return 0;	/* an empty file means all defaults */
	if (ndocs != 1) {
		snprintf(err, errsz, "%s: expected exactly one YAML document, found %zu", file, ndocs);
		goto fail;
	}
	if (ms_yaml_is_null(docs[0])) {
		rc = 0;		/* an empty file means all defaults */
		goto done;
	}
	if (docs[0]->type != MS_YAML_MAP) {
		snprintf(err, errsz, "%s: the top level must be a map of sections", file);
		goto fail;
	}
	if (conf_walk(docs[0], "", keys, dst, file, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%s: %s", file, why);
		goto fail;
	}
	rc = 0;
done:
	if (root) {
		*root = docs[0];
		docs[0] = NULL;
	}
fail:
	ms_yaml_docs_free(docs, ndocs);
	return rc;
}

void
ms_config_print_keys(FILE *out, const struct ms_conf_key *keys)
{
	for (const struct ms_conf_key *k = keys; k->path; k++)
		fprintf(out, "  %-34s %s%s%s%s\n", k->path, k->help ? k->help : "",
		    k->def && *k->def ? " (default: " : "", k->def && *k->def ? k->def : "",
		    k->def && *k->def ? ")" : "");
}

int
ms_config_resolve_path(const char *file, const char *rel, char *out, size_t outsz)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash;
	size_t dl;

	if (rel[0] == '/') {
		if (strlen(rel) >= outsz)
			return -1;
		ms_copy(out, outsz, rel, strlen(rel));
		return 0;
	}
	/*
	 * Relative to the config file's folder, made absolute: daemons change
	 * directory, and saved state must name a file the same way every run.
	 */
	slash = strrchr(file, '/');
	if (slash == NULL) {
		ms_copy(dir, sizeof(dir), ".", 1);
	} else {
		dl = (size_t)(slash - file);
		if (dl >= sizeof(dir))
			return -1;
		ms_copy(dir, sizeof(dir), file, dl ? dl : 1);
	}
	if (realpath(dir, real) == NULL)
		return -1;
	if ((size_t)snprintf(out, outsz, "%s/%s", strcmp(real, "/") == 0 ? "" : real, rel) >= outsz)
		return -1;
	return 0;
}
