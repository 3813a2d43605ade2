/*
 * Fuzz target for the Sigma detection engine: the input is a YAML file of
 * rule documents; every document that loads is matched against events made
 * of slices of the input itself (message, and fields named as the rules
 * in the corpus use them), so both the parser and the matcher see
 * attacker-chosen bytes. A placeholder callback answers %admins% and
 * %user% so |expand paths run too.
 *
 * Differential: each rule is also matched through a set's field map, and
 * a second copy with its shortcuts taken out (one-pass contains lists,
 * regex gates, item length bounds) is matched value by value; any answer
 * that differs aborts. The literal prefilter over the rule must let
 * through every event it matches, on a first scan and on a second one
 * (the field values then come from its memo), and its candidate list
 * must agree. Two field names come in a second spelling too ("C" beside
 * "c"), holding the input's bytes before the slice, as a decoder can emit
 * two spellings with their own values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigma.h"
#include "sigma_internal.h"
#include "sigma_prefilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned fuzz_sigma_sink;
static struct decoded fuzz_sigma_dec;

/* r without the shortcuts sigma_rule.c adds: what they stand for, value by value. */
static void
fuzz_sigma_plain(struct sigma_rule *r)
{
	for (size_t s = 0; s < r->nsearches; s++)
		for (size_t c = 0; c < r->searches[s].nconjs; c++)
			for (size_t i = 0; i < r->searches[s].conjs[c].nitems; i++) {
				r->searches[s].conjs[c].items[i].multi = NULL;
				r->searches[s].conjs[c].items[i].minlen = 0;
			}
	for (struct sigma_val *v = r->re_head; v != NULL; v = v->u.re.next) {
		v->u.re.nfirst = 0;
		v->u.re.nreq = 0;
		v->u.re.firstmap = NULL;
	}
}

static const struct ms_yaml_node *
fuzz_sigma_placeholder_cb(const char *name, void *arg)
{
	const struct ms_yaml_node *ph = arg;

	return ms_yaml_get(ph, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ph_text[] = "admins: [root, admin]\nuser: bob\n";
	static const char *const names[] = { "c", "CommandLine", "a", "b", "ip", "n",
	    "cs-uri-query", "c-ip", "type", "exe" };
	/* A second spelling of two names, holding the bytes before the slice. */
	static const char *const other_spelling[] = { "C", "commandline" };
	struct ms_yaml_node **docs = NULL, **ph = NULL;
	size_t ndocs = 0, nph = 0;
	char err[512];
	char *buf = NULL;
	unsigned sum = 0;

	if (size > (1u << 20))
		return 0;
	if (ms_yaml_parse(ph_text, sizeof(ph_text) - 1, &ph, &nph, err, sizeof(err)) < 0)
		abort();
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		goto out;
	if (size > 0)
		memcpy(buf, data, size);
	if (ms_yaml_parse(buf, size, &docs, &ndocs, err, sizeof(err)) < 0) {
		sum += (unsigned)strlen(err);
		goto out;
	}
	for (size_t i = 0; i < ndocs; i++) {
		struct sigma_rule *r = sigma_rule_parse(docs[i], "fuzz.yml",
		    fuzz_sigma_placeholder_cb, ph[0], err, sizeof(err));
		struct sigma_rule *plain = NULL;
		struct sigma_fieldmap *fm = NULL;
		struct sigma_prefilter *pf = NULL;
		struct sigma_event ev;

		if (r == NULL) {
			/* Every rejection names the file. */
			if (strncmp(err, "fuzz.yml:", 9) != 0)
				abort();
			continue;
		}
		/* The same document again (NULL only when out of memory: no comparison then). */
		if ((plain = sigma_rule_parse(docs[i], "fuzz.yml", fuzz_sigma_placeholder_cb, ph[0],
		    err, sizeof(err))) != NULL)
			fuzz_sigma_plain(plain);
		if ((fm = sigma_fieldmap_new()) != NULL && sigma_fieldmap_bind(fm, r) < 0) {
			sigma_fieldmap_free(fm);
			fm = NULL;
		}
		{
			const struct sigma_rule *rs[1] = { r };
			pf = sigma_prefilter_new(rs, 1);	/* NULL: no filter, nothing to compare */
		}
		sum += (unsigned)strlen(sigma_rule_title(r));
		for (size_t j = 0; j < sigma_rule_ndetection_fields(r); j++)
			sum += (unsigned)strlen(sigma_rule_detection_field(r, j));
		/* Events: the whole input, then shifting slices of it, as every field. */
		for (size_t cut = 0; cut < 4; cut++) {
			size_t off = size * cut / 4, len = size - off;
			memset(&ev, 0, sizeof(ev));
			decode_reset(&fuzz_sigma_dec);
			for (size_t k = 0; k < MS_ARRAY_LEN(names); k++)
				decode_field_add(&fuzz_sigma_dec, names[k], buf + off,
				    len > k ? len - k : 0);
			for (size_t k = 0; k < MS_ARRAY_LEN(other_spelling); k++)
				decode_field_add(&fuzz_sigma_dec, other_spelling[k], buf, off);
			ev.d = &fuzz_sigma_dec;
			ev.message = ms_str_make(buf + off, len);
			{
				bool m = sigma_rule_match(r, &ev);
				if (plain != NULL && sigma_rule_match(plain, &ev) != m)
					abort();
				if (fm != NULL) {
					/* Twice: a new layout, then the same one again. */
					for (int t = 0; t < 2; t++) {
						sigma_fieldmap_next(fm);
						if (sigma_rule_match_fm(r, &ev, fm) != m)
							abort();
					}
				}
				/* The filter never skips a match, scanned fresh or from its memo. */
				for (int t = 0; pf != NULL && t < 2; t++) {
					const size_t *cand;
					size_t nc;

					(void)sigma_prefilter_scan(pf, &ev);
					if (m && !sigma_prefilter_may_match(pf, 0))
						abort();
					/* The candidate list says the same (SIZE_MAX: every rule). */
					nc = sigma_prefilter_candidates(pf, &cand);
					if (nc != SIZE_MAX && (nc > 1 || (nc == 1 && cand[0] != 0) ||
					    (nc == 1) != sigma_prefilter_may_match(pf, 0)))
						abort();
				}
				sum += m;
			}
		}
		memset(&ev, 0, sizeof(ev));
		sum += sigma_rule_match(r, &ev);
		sigma_rule_free(r);
		sigma_rule_free(plain);
		sigma_fieldmap_free(fm);
		sigma_prefilter_free(pf);
	}
out:
	fuzz_sigma_sink = sum;
	free(buf);
	ms_yaml_docs_free(docs, ndocs);
	ms_yaml_docs_free(ph, nph);
	return 0;
}
