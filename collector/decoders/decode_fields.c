/* decode_fields – the named-field table of a decoded event. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "decode.h"

void
decode_reset(struct decoded *d)
{
	/* Everything up to the big arrays; they are only valid up to the counters. */
	memset(d, 0, offsetof(struct decoded, fields));
}

int
decode_field_add(struct decoded *d, const char *name, const char *p, size_t len)
{
	if (d->nfields >= DECODE_MAX_FIELDS)
		return -1;
	d->fields[d->nfields].name = name;
	d->fields[d->nfields].value = ms_str_make(p, len);
	d->nfields++;
	return 0;
}

const struct ms_str *
decode_field_get(const struct decoded *d, const char *name)
{
	for (unsigned i = 0; i < d->nfields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i].value;
	for (unsigned i = 0; i < d->nfields; i++)
		if (strcasecmp(d->fields[i].name, name) == 0)
			return &d->fields[i].value;
	return NULL;
}

char *
decode_scratch(struct decoded *d, size_t len)
{
	char *p;

	if (len > DECODE_SCRATCH - d->scratch_used)
		return NULL;
	p = d->scratch + d->scratch_used;
	d->scratch_used += len;
	return p;
}
