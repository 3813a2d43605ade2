/*
 * sigma_compat – how much of a public Sigma rule corpus the detection
 * engine loads. For every folder given (searched recursively for *.yml):
 * files, files loaded, files rejected (each with "file:line: reason"),
 * correlation documents (skipped here: sigma_corr parses them).
 *
 *   sigma_compat [-q] MIN_PERCENT FOLDER...
 *
 * Exits 1 when fewer than MIN_PERCENT of the files of any folder load.
 * Files using the Sigma 1 "action: global" multi-document form are
 * reported as rejected (the engine reads Sigma 2 rules).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sigma.h"

#define COMPAT_MAX_FILE (1u << 20)
#define COMPAT_MAX_DEPTH 16

struct tally {
	unsigned files, loaded, rejected, correlations, rules;
	bool quiet;
};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void
check_file(const char *path, struct tally *t)
{
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0;
	char err[600];
	bool ok = true;

	t->files++;
	if (ms_yaml_parse_file(path, COMPAT_MAX_FILE, &docs, &ndocs, err, sizeof(err)) < 0) {
		if (!t->quiet)
			printf("  reject %s\n", err);
		t->rejected++;
		return;
	}
	for (size_t i = 0; i < ndocs && ok; i++) {
		const struct ms_yaml_node *d = docs[i], *act;
		struct sigma_rule *r;

		if (d == NULL || (d->type == MS_YAML_SCALAR && ms_yaml_is_null(d)))
			continue;	/* empty document after a trailing "---" */
		if (ms_yaml_get(d, "correlation") != NULL) {
			t->correlations++;
			continue;
		}
		act = ms_yaml_get(d, "action");
		if (act != NULL && act->type == MS_YAML_SCALAR) {
			if (!t->quiet)
				printf("  reject %s:%d: Sigma 1 'action: %s' documents are not "
				    "supported\n", path, act->line, act->str);
			ok = false;
			break;
		}
		if ((r = sigma_rule_parse(d, path, NULL, NULL, err, sizeof(err))) == NULL) {
			if (!t->quiet)
				printf("  reject %s\n", err);
			ok = false;
			break;
		}
		t->rules++;
		sigma_rule_free(r);
	}
	if (ok)
		t->loaded++;
	else
		t->rejected++;
	ms_yaml_docs_free(docs, ndocs);
}

static int
walk(const char *dir, struct tally *t, int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > COMPAT_MAX_DEPTH)
		return 0;
	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char sub[4096];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
			continue;
		if (stat(sub, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (walk(sub, t, depth + 1) < 0)
				rc = -1;
		} else if (S_ISREG(st.st_mode) && (ends_with(sub, ".yml") || ends_with(sub, ".yaml"))) {
			check_file(sub, t);
		}
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	int64_t min;
	int rc = 0, first = 1;
	bool quiet = false;

	if (argc > 1 && strcmp(argv[1], "-q") == 0) {
		quiet = true;
		first = 2;
	}
	if (argc < first + 2 || ms_parse_i64(argv[first], 0, 100, &min) < 0) {
		fprintf(stderr, "usage: sigma_compat [-q] MIN_PERCENT FOLDER...\n");
		return 2;
	}
	for (int i = first + 1; i < argc; i++) {
		struct tally t;

		memset(&t, 0, sizeof(t));
		t.quiet = quiet;
		printf("%s\n", argv[i]);
		if (walk(argv[i], &t, 0) < 0)
			rc = 1;
		printf("%s: files=%u loaded=%u rejected=%u rules=%u correlations=%u (%.1f%%)\n",
		    argv[i], t.files, t.loaded, t.rejected, t.rules, t.correlations,
		    t.files ? 100.0 * t.loaded / t.files : 0.0);
		if (t.files == 0 || (uint64_t)t.loaded * 100 < (uint64_t)min * t.files)
			rc = 1;
	}
	return rc;
}
