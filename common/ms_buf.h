/*
 * ms_buf – a growable byte buffer with a hard cap (curl's dynbuf idea).
 * Once an append would pass the cap the buffer is marked too big, further
 * appends fail, and the caller reports the error instead of growing.
 */
#ifndef MS_BUF_H
#define MS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ms_buf {
	char *data;		/* owned; NUL-terminated when len > 0 */
	size_t len;
	size_t alloc;
	size_t cap;		/* never grows past this many bytes */
	bool toobig;
};

void ms_buf_init(struct ms_buf *b, size_t cap);
void ms_buf_fini(struct ms_buf *b);
/* Empties the buffer, keeps the allocation, clears toobig. */
void ms_buf_reset(struct ms_buf *b);
/* Appends len bytes; 0, or -1 (and toobig set) when past the cap / no memory. */
int ms_buf_add(struct ms_buf *b, const void *p, size_t len);
int ms_buf_adds(struct ms_buf *b, const char *s);
int ms_buf_addc(struct ms_buf *b, char c);
/*
 * Room for up to n more bytes written in place: returns where they go (then
 * ms_buf_commit with the number written), or NULL (and toobig set) when
 * past the cap / no memory. Saves a copy for callers that build in place.
 */
char *ms_buf_room(struct ms_buf *b, size_t n);
/* Counts n bytes written at ms_buf_room's pointer (n <= what was asked). */
void ms_buf_commit(struct ms_buf *b, size_t n);
int ms_buf_printf(struct ms_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
