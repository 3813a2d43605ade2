/* decode_fields – the named-field table of a decoded event. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "decode.h"

const struct ms_str *
decode_field_get(const struct decoded *d, const char *name)
{
	unsigned char c0 = (unsigned char)name[0], l0 = c0 >= 'A' && c0 <= 'Z' ? c0 + 32 : c0;

	/* not one field can have that name, in any case */
	if ((d->names & decode_name_bit(name)) == 0)
		return NULL;
	/* First bytes first: most names differ there, and calls cost more than that. */
	for (unsigned i = 0; i < d->nfields; i++)
		if ((unsigned char)d->fields[i].name[0] == c0 && strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i].value;
	for (unsigned i = 0; i < d->nfields; i++) {
		unsigned char f0 = (unsigned char)d->fields[i].name[0];
		if ((f0 >= 'A' && f0 <= 'Z' ? f0 + 32 : f0) == l0 &&
		    strcasecmp(d->fields[i].name, name) == 0)
			return &d->fields[i].value;
	}
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
