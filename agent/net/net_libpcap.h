/*
 * net_libpcap – libpcap, loaded when first used (dlopen) instead of linked.
 *
 * libpcap on Debian pulls in libdbus, libsystemd, libgcrypt, liblzma,
 * libzstd, liblz4 … – about 1 MiB of resident pages in every process that
 * links it, including an agent that only follows log files (its idle goal
 * is 8 MiB). Loaded on demand, only an agent with a capture source (and
 * minisocctl replaying a capture) pays for it.
 *
 * Include this instead of <pcap/pcap.h>: the pcap_* calls used in the tree
 * become calls through a table filled by dlopen/dlsym. The constructors
 * (pcap_create, pcap_open_offline_with_tstamp_precision, pcap_open_dead)
 * and pcap_datalink_val_to_name load the library first and fail like
 * libpcap does (NULL, with the reason in errbuf where there is one) when it
 * cannot be loaded; every other call needs a pcap_t, so it comes after.
 */
#ifndef NET_LIBPCAP_H
#define NET_LIBPCAP_H

#include <stddef.h>

#include <pcap/pcap.h>

struct net_libpcap {
	__typeof__(pcap_activate) *activate;
	__typeof__(pcap_close) *close;
	__typeof__(pcap_compile) *compile;
	__typeof__(pcap_create) *create;
	__typeof__(pcap_datalink) *datalink;
	__typeof__(pcap_datalink_val_to_name) *datalink_val_to_name;
	__typeof__(pcap_dispatch) *dispatch;
	__typeof__(pcap_freecode) *freecode;
	__typeof__(pcap_get_selectable_fd) *get_selectable_fd;
	__typeof__(pcap_geterr) *geterr;
	__typeof__(pcap_loop) *loop;
	__typeof__(pcap_next_ex) *next_ex;
	__typeof__(pcap_open_dead) *open_dead;
	__typeof__(pcap_open_offline_with_tstamp_precision) *open_offline_with_tstamp_precision;
	__typeof__(pcap_set_buffer_size) *set_buffer_size;
	__typeof__(pcap_set_promisc) *set_promisc;
	__typeof__(pcap_set_snaplen) *set_snaplen;
	__typeof__(pcap_set_timeout) *set_timeout;
	__typeof__(pcap_set_tstamp_precision) *set_tstamp_precision;
	__typeof__(pcap_setfilter) *setfilter;
	__typeof__(pcap_setnonblock) *setnonblock;
	__typeof__(pcap_stats) *stats;
};

/* Filled by net_libpcap_load; valid once it returned 0. */
extern struct net_libpcap net_libpcap;

/* Loads libpcap once (later calls return the first result). 0, or -1 with a reason in err. */
int net_libpcap_load(char *err, size_t errsz);

pcap_t *net_libpcap_create(const char *source, char *errbuf);
pcap_t *net_libpcap_open_offline(const char *path, u_int precision, char *errbuf);
pcap_t *net_libpcap_open_dead(int linktype, int snaplen);
const char *net_libpcap_dlt_name(int dlt);

#ifndef NET_LIBPCAP_IMPL
#define pcap_activate (*net_libpcap.activate)
#define pcap_close (*net_libpcap.close)
#define pcap_compile (*net_libpcap.compile)
#define pcap_create net_libpcap_create
#define pcap_datalink (*net_libpcap.datalink)
#define pcap_datalink_val_to_name net_libpcap_dlt_name
#define pcap_dispatch (*net_libpcap.dispatch)
#define pcap_freecode (*net_libpcap.freecode)
#define pcap_get_selectable_fd (*net_libpcap.get_selectable_fd)
#define pcap_geterr (*net_libpcap.geterr)
#define pcap_loop (*net_libpcap.loop)
#define pcap_next_ex (*net_libpcap.next_ex)
#define pcap_open_dead net_libpcap_open_dead
#define pcap_open_offline_with_tstamp_precision net_libpcap_open_offline
#define pcap_set_buffer_size (*net_libpcap.set_buffer_size)
#define pcap_set_promisc (*net_libpcap.set_promisc)
#define pcap_set_snaplen (*net_libpcap.set_snaplen)
#define pcap_set_timeout (*net_libpcap.set_timeout)
#define pcap_set_tstamp_precision (*net_libpcap.set_tstamp_precision)
#define pcap_setfilter (*net_libpcap.setfilter)
#define pcap_setnonblock (*net_libpcap.setnonblock)
#define pcap_stats (*net_libpcap.stats)
#endif

#endif
