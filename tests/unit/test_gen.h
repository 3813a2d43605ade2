/*
 * test_gen.h – random-input helpers shared by the unit tests (header
 * only). Each test keeps its own generator and passes it in, so its draws,
 * and so its inputs, stay what they were.
 */
#ifndef TEST_GEN_H
#define TEST_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * xorshift64*: the next value of the generator whose state is *state
 * (not 0). Deterministic, so a failing input reproduces.
 */
static inline uint64_t
test_gen_next(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * UINT64_C(0x2545f4914f6cdd1d);
}

/*
 * Up to maxk-1 pieces drawn from bits[0..nbits) with rnd, back to back into
 * b (cap > 0, NUL-terminated); returns the length.
 */
static inline size_t
test_gen_pieces(char *b, size_t cap, const char *const *bits, size_t nbits, unsigned maxk,
    unsigned (*rnd)(unsigned))
{
	size_t n = 0, k = rnd(maxk);

	for (size_t i = 0; i < k; i++) {
		const char *p = bits[rnd((unsigned)nbits)];
		size_t l = strlen(p);
		if (n + l >= cap)
			break;
		memcpy(b + n, p, l);
		n += l;
	}
	b[n] = '\0';
	return n;
}

#endif
