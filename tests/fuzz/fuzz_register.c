/*
 * Fuzz target: the register of information systems and framework profiles
 * (ms_register, ms_compliance): any bytes either load or give
 * "file:line: reason" errors, and a loaded register answers lookups.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_compliance.h"
#include "ms_register.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[2048];
	struct ms_register *r;
	struct ms_comp_profile *p;
	volatile size_t sink = 0;

	if (size > 1 << 20)
		return 0;
	if ((r = ms_register_parse("fuzz.yml", (const char *)data, size, err, sizeof(err))) != NULL) {
		for (size_t i = 0; i < r->n; i++) {
			sink += ms_register_find(r, r->systems[i].id) == &r->systems[i];
			for (size_t k = 0; k < r->systems[i].nassets; k++)
				sink += ms_register_find_agent(r, r->systems[i].assets[k].agent) != NULL;
		}
		ms_register_free(r);
	} else {
		sink += strncmp(err, "fuzz.yml:", 9) == 0 ? 1 : (abort(), 0);
	}
	if ((p = ms_comp_profile_parse("fuzz.yml", (const char *)data, size, err, sizeof(err))) != NULL) {
		sink += p->nreqs;
		ms_comp_profile_free(p);
	}
	(void)sink;
	return 0;
}
