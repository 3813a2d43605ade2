/* net_libpcap – libpcap loaded on first use (see net_libpcap.h for why). */
#define NET_LIBPCAP_IMPL
#include "net_libpcap.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

struct net_libpcap net_libpcap;

static int load_rc = 1;		/* 1: not tried yet */
static char load_err[256];

/* The names Debian and others give the library, most specific first. */
static const char *const sonames[] = { "libpcap.so.0.8", "libpcap.so.1", "libpcap.so" };

#define SYM(field, name)                                                   \
	do {                                                               \
		*(void **)&net_libpcap.field = dlsym(h, name);             \
		if (net_libpcap.field == NULL) {                           \
			snprintf(load_err, sizeof(load_err), "%s: no %s",  \
			    sonames[i], name);                             \
			goto fail;                                         \
		}                                                          \
	} while (0)

int
net_libpcap_load(char *err, size_t errsz)
{
	void *h = NULL;
	size_t i;

	if (load_rc <= 0)
		goto out;
	for (i = 0; i < sizeof(sonames) / sizeof(sonames[0]) && h == NULL; i++)
		h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(load_err, sizeof(load_err), "cannot load libpcap: %s", dlerror());
		load_rc = -1;
		goto out;
	}
	i--;
	SYM(activate, "pcap_activate");
	SYM(close, "pcap_close");
	SYM(compile, "pcap_compile");
	SYM(create, "pcap_create");
	SYM(datalink, "pcap_datalink");
	SYM(datalink_val_to_name, "pcap_datalink_val_to_name");
	SYM(dispatch, "pcap_dispatch");
	SYM(freecode, "pcap_freecode");
	SYM(get_selectable_fd, "pcap_get_selectable_fd");
	SYM(geterr, "pcap_geterr");
	SYM(loop, "pcap_loop");
	SYM(next_ex, "pcap_next_ex");
	SYM(open_dead, "pcap_open_dead");
	SYM(open_offline_with_tstamp_precision, "pcap_open_offline_with_tstamp_precision");
	SYM(set_buffer_size, "pcap_set_buffer_size");
	SYM(set_promisc, "pcap_set_promisc");
	SYM(set_snaplen, "pcap_set_snaplen");
	SYM(set_timeout, "pcap_set_timeout");
	SYM(set_tstamp_precision, "pcap_set_tstamp_precision");
	SYM(setfilter, "pcap_setfilter");
	SYM(setnonblock, "pcap_setnonblock");
	SYM(stats, "pcap_stats");
	load_rc = 0;
	goto out;
fail:
	/* The library stays mapped (dlclose is not safe with partial use); nothing is called. */
	memset(&net_libpcap, 0, sizeof(net_libpcap));
	load_rc = -1;
out:
	if (load_rc < 0 && err != NULL && errsz > 0)
		snprintf(err, errsz, "%s", load_err);
	return load_rc;
}

pcap_t *
net_libpcap_create(const char *source, char *errbuf)
{
	if (net_libpcap_load(errbuf, PCAP_ERRBUF_SIZE) < 0)
		return NULL;
	return net_libpcap.create(source, errbuf);
}

pcap_t *
net_libpcap_open_offline(const char *path, u_int precision, char *errbuf)
{
	if (net_libpcap_load(errbuf, PCAP_ERRBUF_SIZE) < 0)
		return NULL;
	return net_libpcap.open_offline_with_tstamp_precision(path, precision, errbuf);
}

pcap_t *
net_libpcap_open_dead(int linktype, int snaplen)
{
	if (net_libpcap_load(NULL, 0) < 0)
		return NULL;
	return net_libpcap.open_dead(linktype, snaplen);
}

const char *
net_libpcap_dlt_name(int dlt)
{
	if (net_libpcap_load(NULL, 0) < 0)
		return NULL;
	return net_libpcap.datalink_val_to_name(dlt);
}
