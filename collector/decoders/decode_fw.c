/*
 * decode_fw – netfilter LOG / NFLOG lines written by the kernel (iptables
 * -j LOG, nftables "log", ufw):
 *
 *   [123.456] [UFW BLOCK] IN=eth0 OUT= MAC=... SRC=1.2.3.4 DST=5.6.7.8 LEN=60
 *   TOS=0x00 PREC=0x00 TTL=52 ID=5555 DF PROTO=TCP SPT=4444 DPT=22
 *   WINDOW=64240 RES=0x00 SYN URGP=0
 *
 * The "[seconds.micro]" printk time is optional (absent from journald and
 * from some rsyslog setups). The log prefix is whatever precedes "IN=".
 * An ICMP error quotes the offending packet in "[SRC=... ]" after the
 * outer one: only the first occurrence of every key counts.
 *
 * Fields (Sigma category firewall): src_ip, dst_ip, src_port, dst_port,
 * protocol (lower case), in_interface, out_interface, tcp_flags ("ACK SYN"),
 * icmp_type, icmp_code, packet_length, log_prefix, action ("block" or
 * "allow" when the prefix says so).
 */
#include "decode.h"
#include "decoders.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Longest PROTO= value we lower-case (names like "ICMPv6", "UDPLITE", numbers). */
#define FW_MAX_PROTO 16


struct fw_key {
	const char *key;	/* "SRC=" */
	size_t len;		/* its length */
	const char *field;	/* "src_ip" */
};

static const struct fw_key fw_keys[] = {
	{ "IN=", 3, "in_interface" }, { "OUT=", 4, "out_interface" },
	{ "SRC=", 4, "src_ip" }, { "DST=", 4, "dst_ip" },
	{ "SPT=", 4, "src_port" }, { "DPT=", 4, "dst_port" },
	{ "TYPE=", 5, "icmp_type" }, { "CODE=", 5, "icmp_code" },
	{ "LEN=", 4, "packet_length" },
};

/* The index in fw_keys of the key t (klen bytes, '=' included), or -1. */
static int
fw_key_of(const char *t, size_t klen)
{
	int k;

	/* By first byte: one candidate (two for 'S' and 'D'), not a walk over the table. */
	switch (t[0]) {
	case 'I': k = 0; break;
	case 'O': k = 1; break;
	case 'S': k = klen > 1 && t[1] == 'P' ? 4 : 2; break;
	case 'D': k = klen > 1 && t[1] == 'P' ? 5 : 3; break;
	case 'T': k = 6; break;
	case 'C': k = 7; break;
	case 'L': k = 8; break;
	default: return -1;
	}
	/* constant lengths (the keys have 3 to 5 bytes): compares of a load, no memcmp call per token */
	if (fw_keys[k].len != klen)
		return -1;
	switch (klen) {
	case 3: return memcmp(fw_keys[k].key, t, 3) == 0 ? k : -1;
	case 4: return memcmp(fw_keys[k].key, t, 4) == 0 ? k : -1;
	case 5: return memcmp(fw_keys[k].key, t, 5) == 0 ? k : -1;
	default: return memcmp(fw_keys[k].key, t, klen) == 0 ? k : -1;
	}
}

static bool
fw_is_flag(const char *p, size_t n)
{
	static const char flags[] = "CWR ECE URG ACK PSH RST SYN FIN ";

	if (n != 3)
		return false;
	for (size_t k = 0; k + 3 < sizeof(flags); k += 4)
		if (memcmp(flags + k, p, 3) == 0)
			return true;
	return false;
}

/* ASCII case-insensitive search for word (lower case) in s. */
static bool
fw_contains_ci(const char *s, size_t n, const char *word)
{
	size_t l = strlen(word);

	for (size_t i = 0; i + l <= n; i++) {
		size_t k = 0;

		/* the first byte alone rejects most positions */
		if ((s[i] | 0x20) != word[0])
			continue;
		while (k < l) {
			char c = s[i + k];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != word[k])
				break;
			k++;
		}
		if (k == l)
			return true;
	}
	return false;
}

/* "block"/"allow" from the words admins and ufw put in LOG prefixes. */
static const char *
fw_action(const char *p, size_t n)
{
	static const char *const block[] = { "block", "drop", "reject", "deny" };
	static const char *const allow[] = { "allow", "accept", "pass" };

	for (size_t k = 0; k < MS_ARRAY_LEN(block); k++)
		if (fw_contains_ci(p, n, block[k]))
			return "block";
	for (size_t k = 0; k < MS_ARRAY_LEN(allow); k++)
		if (fw_contains_ci(p, n, allow[k]))
			return "allow";
	return NULL;
}

/* PROTO= value in lower case (scratch), as Sigma values are written. */
static void
fw_add_proto(struct decoded *d, const char *p, size_t n)
{
	char *o;

	if (n == 0 || n > FW_MAX_PROTO || (o = decode_scratch(d, n)) == NULL)
		return;
	for (size_t k = 0; k < n; k++)
		o[k] = (p[k] >= 'A' && p[k] <= 'Z') ? (char)(p[k] - 'A' + 'a') : p[k];
	(void)decode_field_add(d, "protocol", o, n);
}

/* Offset of " IN=" or a leading "IN=" in s, or n. */
static size_t
fw_find_in(const char *s, size_t n)
{
	if (n >= 3 && memcmp(s, "IN=", 3) == 0)
		return 0;
	for (size_t i = 0; i + 4 <= n; i++)
		if (s[i] == ' ' && memcmp(s + i, " IN=", 4) == 0)
			return i + 1;
	return n;
}

/*
 * Decodes d->msg as a netfilter log line. Returns 1 and sets category
 * "firewall" and the fields (slices of the line, protocol in scratch) when
 * it has IN= and SRC=; 0 and leaves d untouched otherwise.
 */
int
decode_fw(struct decoded *d)
{
	const char *s = d->msg.p;
	size_t n = d->msg.len, i = 0, in, pre_end;
	bool seen[MS_ARRAY_LEN(fw_keys)] = { false };
	bool seen_proto = false;
	size_t flags_lo = 0, flags_hi = 0;
	const char *act;

	if (s == NULL || n < 8)
		return 0;
	/* "[ 1234.567890] " printk time */
	if (s[0] == '[') {
		size_t j = 1;
		while (j < n && (s[j] == ' ' || s[j] == '.' || (s[j] >= '0' && s[j] <= '9')))
			j++;
		if (j < n && s[j] == ']') {
			i = j + 1;
			while (i < n && s[i] == ' ')
				i++;
		}
	}
	in = i + fw_find_in(s + i, n - i);
	if (in == n)
		return 0;
	{
		/* SRC= must be there too: IN= alone is any kernel message */
		bool src = false;
		/* from space to space: a memcmp call at every byte cost more than the decoding */
		for (size_t k = decode_find(s, n, in, ' '); n - k >= 5 && !src;
		    k = decode_find(s, n, k + 1, ' '))
			src = s[k + 1] == 'S' && memcmp(s + k, " SRC=", 5) == 0;
		if (!src)
			return 0;
	}
	d->category = "firewall";
	pre_end = in;
	while (pre_end > i && s[pre_end - 1] == ' ')
		pre_end--;
	if (pre_end > i) {
		(void)decode_field_add(d, "log_prefix", s + i, pre_end - i);
		if ((act = fw_action(s + i, pre_end - i)) != NULL)
			(void)decode_field_add(d, "action", act, strlen(act));
	}

	for (i = in; i < n;) {
		size_t t0 = i, eq;

		/* The token's first '=' (or its end), then its end. */
		i = decode_find_kv(s, n, i, &eq);
		if (fw_is_flag(s + t0, i - t0)) {
			if (flags_hi == 0)
				flags_lo = t0;
			if (flags_hi == 0 || flags_hi + 1 == t0)
				flags_hi = i;
		}
		if (eq < i && s[t0] != '[') {
			size_t klen = eq + 1 - t0;
			const char *v = s + eq + 1;
			size_t vlen = i - eq - 1;
			if (klen == 6 && memcmp(s + t0, "PROTO=", 6) == 0 && !seen_proto) {
				seen_proto = true;
				fw_add_proto(d, v, vlen);
			}
			int k = fw_key_of(s + t0, klen);

			if (k >= 0 && !seen[k]) {
				seen[k] = true;
				if (vlen > 0)
					(void)decode_field_add(d, fw_keys[k].field, v, vlen);
			}
		}
		/* the quoted packet of an ICMP error: its keys are not ours */
		if (s[t0] == '[')
			break;
		while (i < n && s[i] == ' ')
			i++;
	}
	if (flags_hi > flags_lo)
		(void)decode_field_add(d, "tcp_flags", s + flags_lo, flags_hi - flags_lo);
	return 1;
}

bool
decode_fw_field_known(const char *name)
{
	static const char *const more[] = { "log_prefix", "action", "protocol", "tcp_flags" };

	for (size_t i = 0; i < MS_ARRAY_LEN(fw_keys); i++)
		if (strcasecmp(fw_keys[i].field, name) == 0)
			return true;
	for (size_t i = 0; i < MS_ARRAY_LEN(more); i++)
		if (strcasecmp(more[i], name) == 0)
			return true;
	return false;
}
