/*
 * test_sigma_util.h – Sigma helpers shared by the unit tests (header only;
 * include after cmocka.h).
 */
#ifndef TEST_SIGMA_UTIL_H
#define TEST_SIGMA_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_yaml.h"
#include "sigma.h"

/*
 * A rule of product linux whose detection: block is detection (YAML);
 * fails the test when it does not parse. Caller frees it (sigma_rule_free).
 */
static inline struct sigma_rule *
test_rule_from(const char *detection)
{
	static const char header[] = "title: t\nlogsource:\n  product: linux\ndetection:\n";
	struct ms_yaml_node **docs = NULL;
	size_t n = 0, len = strlen(header) + strlen(detection);
	char *doc = malloc(len + 1), err[256];
	struct sigma_rule *r;

	assert_non_null(doc);
	snprintf(doc, len + 1, "%s%s", header, detection);
	assert_int_equal(ms_yaml_parse(doc, len, &docs, &n, err, sizeof(err)), 0);
	r = sigma_rule_parse(docs[0], "t.yml", NULL, NULL, err, sizeof(err));
	ms_yaml_docs_free(docs, n);
	free(doc);
	if (r == NULL)
		fail_msg("rejected: %s", err);
	return r;
}

#endif
