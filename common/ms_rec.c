/* ms_rec – framed, CRC-checked records for durable files (see ms_rec.h). */
#include "ms_rec.h"

#include <stdbool.h>
#include <string.h>
#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define MS_CRC32C_SSE42 1
#endif

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

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), a byte at a time. */
static uint32_t crc32c_table[256];
static bool crc32c_hw;

/* Before main: no thread can see the table half-built. */
__attribute__((constructor)) static void
crc32c_init(void)
{
#ifdef MS_CRC32C_SSE42
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
		crc32c_table[i] = c;
	}
}

static uint32_t
crc32c_soft(uint32_t c, const unsigned char *b, size_t n)
{
	while (n--)
		c = crc32c_table[(c ^ *b++) & 0xff] ^ (c >> 8);
	return c;
}

uint32_t
ms_crc32c_soft(const void *p, size_t n)
{
	return ~crc32c_soft(0xFFFFFFFFu, p, n);
}

#ifdef MS_CRC32C_SSE42
/* The SSE 4.2 instruction: 8 bytes per step, several times zlib's CRC-32. */
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t c, const unsigned char *b, size_t n)
{
	uint64_t c64 = c;

	while (n >= 8) {
		uint64_t v;

		memcpy(&v, b, 8);
		c64 = _mm_crc32_u64(c64, v);
		b += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n--)
		c = _mm_crc32_u8(c, *b++);
	return c;
}
#endif

uint32_t
ms_crc32c(const void *p, size_t n)
{
#ifdef MS_CRC32C_SSE42
	if (crc32c_hw)
		return ~crc32c_sse42(0xFFFFFFFFu, p, n);
#endif
	return ~crc32c_soft(0xFFFFFFFFu, p, n);
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
