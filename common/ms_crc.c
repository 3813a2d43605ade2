/*
 * ms_crc – the CRCs that need no zlib (see ms_rec.h): CRC-32C with the SSE
 * 4.2 instruction where the CPU has it, and byte-at-a-time CRC-32 and
 * CRC-32C. Apart from ms_rec.c so that a program using only these (the
 * agent) is not linked against libz and does not map it.
 */
#include "ms_rec.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define MS_CRC32C_SSE42 1
#endif

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), a byte at a time. */
static uint32_t crc32c_table[256];
/* CRC-32 (zlib's, reflected polynomial 0xEDB88320), a byte at a time. */
static uint32_t crc32_table[256];
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
		c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
		crc32_table[i] = c;
	}
}

uint32_t
ms_crc32_soft(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t c = 0xFFFFFFFFu;

	while (n--)
		c = crc32_table[(c ^ *b++) & 0xff] ^ (c >> 8);
	return ~c;
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
