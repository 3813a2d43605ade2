/* Unit tests of the YAML tree (ms_yaml) and typed configuration (ms_config). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ms_config.h"
#include "ms_yaml.h"

static struct ms_yaml_node *
parse1(const char *text, char *err, size_t errsz)
{
	struct ms_yaml_node **docs = NULL, *root;
	size_t n = 0;

	if (ms_yaml_parse(text, strlen(text), &docs, &n, err, errsz) < 0)
		return NULL;
	assert_int_equal(n, 1);
	root = docs[0];
	free(docs);
	return root;
}

static void
test_tree(void **state)
{
	char err[256];
	struct ms_yaml_node *r = parse1(
	    "title: Test\n"
	    "detection:\n"
	    "  keywords: ['Failed password', \"x\"]\n"
	    "  condition: keywords\n"
	    "n: ~\n"
	    "q: 'null'\n", err, sizeof(err));
	struct ms_yaml_node *k;

	assert_non_null(r);
	assert_int_equal(r->type, MS_YAML_MAP);
	assert_string_equal(ms_yaml_get(r, "title")->str, "Test");
	k = ms_yaml_path(r, "detection.keywords");
	assert_non_null(k);
	assert_int_equal(k->type, MS_YAML_SEQ);
	assert_int_equal(k->n, 2);
	assert_string_equal(k->items[0]->str, "Failed password");
	assert_false(k->items[0]->plain);
	assert_string_equal(ms_yaml_path(r, "detection.condition")->str, "keywords");
	assert_null(ms_yaml_path(r, "detection.nothing"));
	assert_null(ms_yaml_path(r, "title.deeper"));
	assert_true(ms_yaml_is_null(ms_yaml_get(r, "n")));
	assert_false(ms_yaml_is_null(ms_yaml_get(r, "q")));	/* quoted: a string */
	assert_int_equal(ms_yaml_get(r, "title")->line, 1);
	ms_yaml_node_free(r);
}

static void
test_multi_doc(void **state)
{
	char err[256];
	struct ms_yaml_node **docs = NULL;
	size_t n = 0;
	const char *text = "a: 1\n---\nb: 2\n---\n";

	assert_int_equal(ms_yaml_parse(text, strlen(text), &docs, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ms_yaml_get(docs[1], "b")->str, "2");
	assert_true(ms_yaml_is_null(docs[2]));
	ms_yaml_docs_free(docs, n);
}

static void
test_hostile(void **state)
{
	static const struct {
		const char *text;
		const char *err;	/* substring of the error */
	} cases[] = {
		{ "a: &x [1]\nb: *x\n", "aliases" },
		{ "a: 1\na: 2\n", "duplicate key" },
		{ "a: [1, 2\n", "line" },
		{ "? [1]\n: 2\n", "map keys" },
		{ "a:\n\t- b\n", "line" },
	};
	char err[256];
	char *deep;
	size_t d = 200, o = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_yaml_node **docs = NULL;
		size_t n = 0;
		err[0] = '\0';
		if (ms_yaml_parse(cases[i].text, strlen(cases[i].text), &docs, &n, err, sizeof(err)) == 0)
			fail_msg("case %zu accepted", i);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, cases[i].err);
	}
	/* Nesting deeper than the cap. */
	deep = malloc(2 * d + 1);
	for (size_t i = 0; i < d; i++)
		deep[o++] = '[';
	for (size_t i = 0; i < d; i++)
		deep[o++] = ']';
	deep[o] = '\0';
	{
		struct ms_yaml_node **docs = NULL;
		size_t n = 0;
		assert_int_equal(ms_yaml_parse(deep, o, &docs, &n, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "too deep"));
	}
	free(deep);
}

struct demo_conf {
	char name[16];
	char path[256];
	int64_t port;
	uint64_t size;
	bool on;
	const struct ms_yaml_node *list;
};

static const struct ms_conf_key demo_keys[] = {
	{ "a.name", MS_CONF_STR, offsetof(struct demo_conf, name), 16, "dflt", 0, 0, "a name" },
	{ "a.path", MS_CONF_PATH, offsetof(struct demo_conf, path), 256, "", 0, 0, "a path" },
	{ "b.port", MS_CONF_INT, offsetof(struct demo_conf, port), 0, "6514", 1, 65535, "port" },
	{ "b.size", MS_CONF_SIZE, offsetof(struct demo_conf, size), 0, "1MiB", 1, 1 << 30, "size" },
	{ "b.on", MS_CONF_BOOL, offsetof(struct demo_conf, on), 0, "false", 0, 0, "flag" },
	{ "files", MS_CONF_NODE, offsetof(struct demo_conf, list), 0, NULL, 0, 0, "list" },
	MS_CONF_END
};

static int
load_text(const char *text, struct demo_conf *c, struct ms_yaml_node **root, char *err,
    size_t errsz)
{
	char path[] = "/tmp/minisoc-test-conf-XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	memset(c, 0, sizeof(*c));
	rc = ms_config_load(path, demo_keys, c, root, err, errsz);
	unlink(path);
	return rc;
}

static void
test_config(void **state)
{
	struct demo_conf c;
	struct ms_yaml_node *root = NULL;
	char err[512];

	assert_int_equal(load_text("", &c, &root, err, sizeof(err)), 0);
	assert_string_equal(c.name, "dflt");
	assert_int_equal(c.port, 6514);
	assert_true(c.size == 1u << 20);
	assert_false(c.on);
	ms_yaml_node_free(root);

	if (load_text("a:\n  name: x\n  path: rel/f.pem\nb:\n  port: 1\n  size: 64k\n"
	    "  on: yes\nfiles:\n  - /a\n", &c, &root, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.name, "x");
	assert_string_equal(c.path, "/tmp/rel/f.pem");	/* relative to the file's folder */
	assert_int_equal(c.port, 1);
	assert_true(c.size == 65536);
	assert_true(c.on);
	assert_non_null(c.list);
	assert_int_equal(c.list->type, MS_YAML_SEQ);
	ms_yaml_node_free(root);
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{ "b:\n  port: 70000\n", "b.port" },
		{ "b:\n  port: 12ab\n", "b.port" },
		{ "b:\n  prot: 1\n", "unknown key \"b.prot\"" },
		{ "c: 1\n", "unknown key \"c\"" },
		/* A known section given a value is named as a section. */
		{ "b: 6514\n", "line 1: b is a section: expected its keys on the lines below, "
		    "indented (like b.port), got a scalar" },
		{ "a:\n  - x\n", "a is a section" },
		{ "a:\n  name: this-is-far-too-long\n", "a.name" },
		{ "b:\n  size: 12 parsecs\n", "b.size" },
		{ "b:\n  on: maybe\n", "b.on" },
		{ "b:\n  port: [1]\n", "single value" },
		{ "- 1\n", "top level" },
		{ "a: 1\n---\na: 2\n", "one YAML document" },
	};
	struct demo_conf c;
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (load_text(cases[i].text, &c, NULL, err, sizeof(err)) == 0)
			fail_msg("case %zu accepted", i);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, cases[i].err);
	}
	/* A missing file names the file. */
	assert_int_equal(ms_config_load("/nonexistent/x.yml", demo_keys, &c, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.yml"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_multi_doc),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
