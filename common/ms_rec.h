/*
 * ms_rec – the pieces of a durable on-disk record both daemons use:
 * little-endian integers, CRC-32 (zlib's) and the check of one framed
 * record:
 *
 *   off size
 *     0    4  magic (4 bytes chosen by the file's owner)
 *     4    4  CRC-32 of bytes 8 .. end of record
 *     8    4  body length n (bytes after this field)
 *    12    n  body
 *
 * A torn or corrupt record is told apart from one still being read, so a
 * scan can cut a file at its last good record (the agent's spool.c uses
 * the same layout with its own magic).
 */
#ifndef MS_REC_H
#define MS_REC_H

#include <stddef.h>
#include <stdint.h>

#define MS_REC_HDR 12

/* Little-endian fields; inline, as records are built and read per event. */
static inline void
ms_put16(char *p, uint16_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)(v >> 8);
}

static inline void
ms_put32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)((v >> (8 * i)) & 0xff);
}

static inline void
ms_put64(char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (char)((v >> (8 * i)) & 0xff);
}

static inline uint16_t
ms_get16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint16_t)(u[0] | (u[1] << 8));
}

static inline uint32_t
ms_get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | ((uint32_t)u[1] << 8) | ((uint32_t)u[2] << 16) |
	    ((uint32_t)u[3] << 24);
}

static inline uint64_t
ms_get64(const char *p)
{
	return (uint64_t)ms_get32(p) | ((uint64_t)ms_get32(p + 4) << 32);
}

uint32_t ms_crc32(const void *p, size_t n);
/*
 * The same CRC-32 a byte at a time, without zlib (ms_crc.c): for readers
 * of old records where speed does not matter (the agent's MSR1 records),
 * so the agent does not load libz.
 */
uint32_t ms_crc32_soft(const void *p, size_t n);
/*
 * CRC-32C (Castagnoli), with the SSE 4.2 instruction where the CPU has it:
 * about five times cheaper than ms_crc32 on short records.
 */
uint32_t ms_crc32c(const void *p, size_t n);
/* The same without the instruction, a byte at a time (what other CPUs use; for tests). */
uint32_t ms_crc32c_soft(const void *p, size_t n);

/* Fills the header of a record of total size len at p (body already at p + 12). */
void ms_rec_seal(char *p, const char magic[4], size_t len);

/*
 * Checks the record at p (avail bytes readable). Returns its total size,
 * 0 when avail holds only part of a plausible one (the header, or less),
 * or -1 when it is corrupt: wrong magic, a length under min_body or over
 * max_body, or (with the whole record in avail) a CRC mismatch.
 */
long long ms_rec_check(const char *p, size_t avail, const char magic[4], size_t min_body,
    size_t max_body);

#endif
