/*
 * Fuzz target: what minisoc-forward reads from Redis. The input is parsed
 * with ms_jsonr (as an alert and as an incident), then run through the
 * alert view, the RFC 5424 framing and the IODEF builder; the IODEF text
 * must stay free of unescaped markup from the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fwd_syslog_opts so = { "host", "minisoc", 13, "minisoc@32473", true };
	struct fwd_iodef_opts io = { "soc.example", "vi", "SOC", "soc@example", 64 };
	struct ms_jsonr *d;
	struct fwd_alert_view v;
	struct ms_buf b;
	char err[128];

	if (size > 1 << 20)
		return 0;
	d = ms_jsonr_parse((const char *)data, size, 100000, err, sizeof(err));
	if (d == NULL)
		return 0;
	fwd_alert_view(ms_jsonr_root(d), &v);
	ms_buf_init(&b, 4u << 20);
	{
		const struct fwd_sd_param sd[] = { { "id", v.id }, { "rule", v.rule_id },
			{ "host", v.host }, { "src_ip", v.src_ip } };
		(void)fwd_msg_syslog(&b, &so, "alert", v.sev, v.time, 0, sd, 4, (const char *)data, size);
	}
	ms_buf_reset(&b);
	{
		/* The document is its own related alerts: every lookup path is exercised. */
		const struct ms_jv *alerts[4];
		for (size_t i = 0; i < 4; i++)
			alerts[i] = ms_jsonr_root(d);
		if (fwd_iodef(&b, &io, ms_jsonr_root(d), alerts, 4, 0) == 0 &&
		    memchr(b.data, '\0', b.len) != NULL)
			abort();	/* a NUL byte from the input reached the XML */
	}
	ms_buf_fini(&b);
	ms_jsonr_free(d);
	return 0;
}
