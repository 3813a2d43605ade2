/*
 * test_decode_util.h – helpers shared by the decoder unit tests (header
 * only; include after <cmocka.h> and "decode.h").
 */
#ifndef TEST_DECODE_UTIL_H
#define TEST_DECODE_UTIL_H

#include <stdlib.h>
#include <string.h>

/*
 * A copy of s in a buffer of exactly n bytes (no NUL after it), so that
 * ASan catches a decoder reading past the line. Caller frees.
 */
static inline char *
dup_exact(const char *s, size_t n)
{
	char *p = malloc(n > 0 ? n : 1);

	assert_non_null(p);
	if (n > 0)
		memcpy(p, s, n);
	return p;
}

/*
 * cmocka fixtures: *state is a struct decoded (too big for the stack of a
 * test), freed after the test whatever it asserted.
 */
static inline int
decoded_setup(void **state)
{
	*state = malloc(sizeof(struct decoded));
	return *state != NULL ? 0 : -1;
}

static inline int
decoded_teardown(void **state)
{
	free(*state);
	return 0;
}

/* The value of the field named exactly name, or NULL. */
static inline const struct ms_str *
field_exact(const struct decoded *d, const char *name)
{
	for (unsigned i = 0; i < d->nfields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i].value;
	return NULL;
}

static inline void
expect_field(const struct decoded *d, const char *name, const char *value)
{
	const struct ms_str *v = field_exact(d, name);

	if (v == NULL)
		fail_msg("field %s missing", name);
	if (!ms_str_eq(*v, value))
		fail_msg("field %s = \"%.*s\", want \"%s\"", name, (int)v->len, v->p, value);
}

static inline void
expect_no_field(const struct decoded *d, const char *name)
{
	if (field_exact(d, name) != NULL)
		fail_msg("field %s present", name);
}

#endif
