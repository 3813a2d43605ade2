/*
 * net_int – internals shared by the files of minisoc_net (not for callers:
 * the contract is net.h).
 */
#ifndef NET_INT_H
#define NET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A JSON line built in a fixed buffer: fields that do not fit are left out
 * (trunc set) and the line stays valid JSON. No allocation.
 */
struct net_jw {
	char *buf;
	size_t len;
	size_t cap;	/* room for the closing brace and NUL is kept back */
	bool trunc;
};

/* Starts {"_path":"path","ts":<seconds.micro> in buf (cap >= 64). */
void net_jw_begin(struct net_jw *w, char *buf, size_t cap, const char *path, int64_t ts_us);
/* ,"key":"value" with value escaped (control and non-ASCII bytes as \u00XX). */
void net_jw_str(struct net_jw *w, const char *key, const void *s, size_t n);
void net_jw_cstr(struct net_jw *w, const char *key, const char *s);
void net_jw_u64(struct net_jw *w, const char *key, uint64_t v);
void net_jw_bool(struct net_jw *w, const char *key, bool v);
/* ,"key":<seconds with 6 decimals> */
void net_jw_time(struct net_jw *w, const char *key, int64_t us);
void net_jw_addr(struct net_jw *w, const char *key, const uint8_t a[16]);
/* ,"key":["a","b"] */
void net_jw_strv(struct net_jw *w, const char *key, const char *const *v, size_t n);
/* Closes the object; returns the length (buf NUL-terminated). */
size_t net_jw_end(struct net_jw *w);

#endif
