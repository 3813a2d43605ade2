#include "ms_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ms_buf_init(struct ms_buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	/* Keeps cap + 1 and the doubling in buf_reserve from wrapping around. */
	b->cap = cap > SIZE_MAX / 2 ? SIZE_MAX / 2 : cap;
}

void
ms_buf_fini(struct ms_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void
ms_buf_reset(struct ms_buf *b)
{
	b->len = 0;
	b->toobig = false;
	if (b->data)
		b->data[0] = '\0';
}

static int
buf_reserve(struct ms_buf *b, size_t extra)
{
	size_t need, na;
	char *nd;

	if (b->toobig)
		return -1;
	/* +1 for the terminating NUL, which is not counted against the cap. */
	if (extra > b->cap || b->len > b->cap - extra) {
		b->toobig = true;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	na = b->alloc ? b->alloc : 64;
	while (na < need)
		na *= 2;
	if (na > b->cap + 1)
		na = b->cap + 1;
	nd = realloc(b->data, na);
	if (nd == NULL) {
		b->toobig = true;
		return -1;
	}
	b->data = nd;
	b->alloc = na;
	return 0;
}

int
ms_buf_add(struct ms_buf *b, const void *p, size_t len)
{
	if (buf_reserve(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
ms_buf_adds(struct ms_buf *b, const char *s)
{
	return ms_buf_add(b, s, strlen(s));
}

int
ms_buf_addc(struct ms_buf *b, char c)
{
	return ms_buf_add(b, &c, 1);
}

char *
ms_buf_room(struct ms_buf *b, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return NULL;
	return b->data + b->len;
}

void
ms_buf_commit(struct ms_buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

int
ms_buf_printf(struct ms_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return ms_buf_add(b, small, (size_t)n);
	if (buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}
