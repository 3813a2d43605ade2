/*
 * Fuzz target: YAML documents (configs now, Sigma rule files later) into the
 * ms_yaml tree, then walks every node.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
walk(const struct ms_yaml_node *n)
{
	size_t t = 1;

	if (n->type == MS_YAML_SCALAR)
		return t + n->len + (n->len ? (unsigned char)n->str[n->len - 1] : 0);
	for (size_t i = 0; i < n->n; i++) {
		if (n->type == MS_YAML_MAP) {
			t += strlen(n->pairs[i].key) + walk(n->pairs[i].value);
			t += ms_yaml_get(n, n->pairs[i].key) != NULL;
		} else {
			t += walk(n->items[i]);
		}
	}
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_yaml_node **docs = NULL;
	size_t n = 0;
	char err[256];
	volatile size_t sink = 0;

	if (size > 1 << 20)
		return 0;
	if (ms_yaml_parse((const char *)data, size, &docs, &n, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++) {
			sink += walk(docs[i]);
			sink += ms_yaml_path(docs[i], "detection.condition") != NULL;
			sink += ms_yaml_is_null(docs[i]);
		}
		ms_yaml_docs_free(docs, n);
	} else {
		sink += strlen(err);
	}
	(void)sink;
	return 0;
}
