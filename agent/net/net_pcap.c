/*
 * net_pcap – libpcap glue: link types, and a pcap/pcapng file run through
 * a struct net as fast as it can be read (replay, forensics, benchmarks).
 */
#include "net_libpcap.h"
#include <stdio.h>

#include "net.h"

int
net_link_from_dlt(int dlt)
{
	/* DLT_RAW is 12 on Linux, 14 on OpenBSD; files may carry either */
	if (dlt == DLT_RAW || dlt == 12 || dlt == 14)
		return NET_LINK_RAW;
	switch (dlt) {
	case DLT_EN10MB: return NET_LINK_ETHERNET;
	case DLT_NULL: return NET_LINK_NULL;
	case DLT_LINUX_SLL: return NET_LINK_SLL;
	case NET_LINK_SLL2: return NET_LINK_SLL2;	/* DLT_LINUX_SLL2 */
	case NET_LINK_IPV4: return NET_LINK_IPV4;	/* DLT_IPV4 */
	case NET_LINK_IPV6: return NET_LINK_IPV6;	/* DLT_IPV6 */
	default: return -1;
	}
}

struct file_run {
	struct net *n;
	int link;
};

static void
pcap_file_cb(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	struct file_run *rd = (struct file_run *)arg;

	net_packet(rd->n, rd->link, (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec, data,
	    h->caplen, h->len);
}

int
net_pcap_file(struct net *n, const char *path, char *err, size_t errsz)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct file_run rd;
	pcap_t *pc;
	int link, r;

	ebuf[0] = '\0';
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (pc == NULL) {
		snprintf(err, errsz, "%s: %s", path, ebuf);
		return -1;
	}
	link = net_link_from_dlt(pcap_datalink(pc));
	if (link < 0) {
		snprintf(err, errsz, "%s: link type %s is not supported", path,
		    pcap_datalink_val_to_name(pcap_datalink(pc)) ?
		    pcap_datalink_val_to_name(pcap_datalink(pc)) : "?");
		pcap_close(pc);
		return -1;
	}
	rd.n = n;
	rd.link = link;
	/* one call for the whole file: no per-packet call overhead */
	r = pcap_loop(pc, -1, pcap_file_cb, (u_char *)&rd);
	if (r == PCAP_ERROR) {
		/* a file cut short mid-record: what came before counts */
		snprintf(err, errsz, "%s: %s", path, pcap_geterr(pc));
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return 0;
}
