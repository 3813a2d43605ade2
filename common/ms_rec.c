/*
 * ms_rec – framed, CRC-checked records for durable files (see ms_rec.h).
 * The CRCs without zlib are in ms_crc.c: the agent uses only those, so it
 * does not load libz.
 */
#include "ms_rec.h"

#include <string.h>
#include <zlib.h>

uint32_t
ms_crc32(const void *p, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);
	const unsigned char *b = p;

	/* zlib takes a uInt length: feed big buffers in pieces. */
	while (n > 0) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		c = crc32(c, b, k);
		b += k;
		n -= k;
	}
	return (uint32_t)c;
}

void
ms_rec_seal(char *p, const char magic[4], size_t len)
{
	memcpy(p, magic, 4);
	ms_put32(p + 8, (uint32_t)(len - MS_REC_HDR));
	ms_put32(p + 4, ms_crc32(p + 8, len - 8));
}

long long
ms_rec_check(const char *p, size_t avail, const char magic[4], size_t min_body,
    size_t max_body)
{
	uint32_t n;

	if (avail < 4)
		return memcmp(p, magic, avail) == 0 ? 0 : -1;
	if (memcmp(p, magic, 4) != 0)
		return -1;
	if (avail < MS_REC_HDR)
		return 0;
	n = ms_get32(p + 8);
	if (n < min_body || n > max_body)
		return -1;
	if (avail < MS_REC_HDR + (size_t)n)
		return 0;
	if (ms_crc32(p + 8, 4 + (size_t)n) != ms_get32(p + 4))
		return -1;
	return (long long)(MS_REC_HDR + (size_t)n);
}
