/*
 * Fuzz target: a rule folder as a whole. Bytes -> one rule file ->
 * sigma_set_load (parse, duplicates, references, inert and rejected
 * propagation, loops, chain depth, field checks) -> a short stream of
 * sshd and firewall lines through the set, so chains and generate run on
 * what resolution let through. Every document must end up counted as
 * loaded, inert or rejected; every inert or rejected one has a line of
 * report text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "detect.h"
#include "sigma_set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct decoded dec;	/* big: static */
static size_t alerts;

static const char *const lines[] = {
	"Nov 25 10:00:00 web1 sshd[1]: Failed password for root from 203.0.113.5 port 1 ssh2",
	"Nov 25 10:00:01 web1 sshd[1]: Failed password for admin from 203.0.113.5 port 2 ssh2",
	"Nov 25 10:00:02 web1 sshd[1]: Failed password for root from 198.51.100.7 port 3 ssh2",
	"Nov 25 10:00:03 web1 sshd[2]: Accepted password for root from 203.0.113.5 port 4 ssh2",
	"Nov 25 10:00:04 fw kernel: [1.0] DROP IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.1 "
	"LEN=60 PROTO=TCP SPT=4000 DPT=22 SYN",
	"Nov 25 10:05:00 web1 sshd[1]: Failed password for root from 203.0.113.5 port 5 ssh2",
	"Nov 25 10:00:05 web1 sshd[1]: message repeated 3 times: [ Failed password for root "
	"from 203.0.113.5 port 6 ssh2]",
};

static void
emit_cb(struct alert *a, void *arg)
{
	(void)arg;
	alerts += a->count + a->n_users + a->nvalues + a->ngroup + strlen(a->rule_id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct sigma_report rep;
	struct sigma_set *s;
	struct detector *det;
	struct decode_ctx ctx;
	char err[256];
	FILE *f;
	size_t listed = 0;

	if (size > 1 << 18)
		return 0;
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz_sigma_set.%d.yml", (int)getpid());
	if ((f = fopen(path, "wb")) == NULL)
		return 0;
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	sigma_report_init(&rep);
	s = sigma_set_load(path, NULL, &rep, err, sizeof(err));
	unlink(path);
	if (s == NULL)
		abort();	/* the file exists: per-document problems go to the report */
	for (size_t i = 0; i < rep.text.len; i++)
		listed += ((const char *)rep.text.data)[i] == '\n';
	/* Every inert or rejected document has its line (a bad file is one). */
	if (listed < rep.inert + rep.rejected)
		abort();
	if ((det = sigma_detector_new(s)) == NULL) {
		sigma_report_fini(&rep);
		return 0;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.recv_ms = INT64_C(1764064800000);
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
			detect_line(&det, 1, &dec, &ctx, "agent", "host", ms_str_make("t", 1),
			    ms_str_make(lines[i], strlen(lines[i])), i + 1, emit_cb, NULL);
	detector_free(det);
	sigma_report_fini(&rep);
	return 0;
}
