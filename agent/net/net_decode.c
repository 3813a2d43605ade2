/*
 * net_decode – link, network and transport headers of one captured packet.
 *
 * Links: Ethernet (any number of 802.1Q / 802.1ad tags, up to
 * NET_MAX_VLANS), Linux cooked capture v1 and v2, raw IP, BSD loopback.
 * IPv4 (options skipped; fragments counted, their transport header read
 * only from the first one) and IPv6 (hop-by-hop, routing, destination
 * options, fragment and AH headers walked, at most NET_MAX_EXT of them).
 * TCP, UDP, ICMP and ICMPv6 headers.
 *
 * Every read is preceded by a check against the captured length; the IP
 * payload is bounded by the header's own length too (Ethernet padding is
 * not payload). Nothing is copied: payload points into the packet.
 */
#include <string.h>

#include "net.h"

#define NET_MAX_VLANS	8
#define NET_MAX_EXT	8

#define ETH_IPV4	0x0800
#define ETH_IPV6	0x86DD
#define ETH_VLAN	0x8100
#define ETH_QINQ	0x88A8
#define ETH_QINQ_OLD	0x9100

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

bool
net_link_supported(int link)
{
	switch (link) {
	case NET_LINK_NULL: case NET_LINK_ETHERNET: case NET_LINK_RAW: case NET_LINK_SLL:
	case NET_LINK_IPV4: case NET_LINK_IPV6: case NET_LINK_SLL2:
		return true;
	default:
		return false;
	}
}

/* Transport header at p (n bytes of IP payload within the capture). */
static enum net_err
decode_l4(const uint8_t *p, size_t n, size_t wire, struct net_pkt *pkt)
{
	size_t hl;

	switch (pkt->proto) {
	case NET_TCP:
		if (n < 20)
			return NET_ERR_TRUNCATED;
		hl = (size_t)(p[12] >> 4) * 4;
		if (hl < 20)
			return NET_ERR_MALFORMED;
		if (hl > n)
			return NET_ERR_TRUNCATED;
		pkt->sport = rd16(p);
		pkt->dport = rd16(p + 2);
		pkt->tcp_flags = p[13];
		pkt->payload = p + hl;
		pkt->payload_len = (uint32_t)(n - hl);
		pkt->wire_payload = (uint32_t)(wire > hl ? wire - hl : 0);
		return NET_OK;
	case NET_UDP:
		if (n < 8)
			return NET_ERR_TRUNCATED;
		pkt->sport = rd16(p);
		pkt->dport = rd16(p + 2);
		hl = rd16(p + 4);
		/*
		 * The UDP length cannot exceed the IP payload it travels in, or
		 * a 60-byte packet could claim 65,527 bytes. A first fragment
		 * is the exception: its UDP length is the whole datagram's.
		 */
		if (hl < 8 || (hl > wire && !pkt->fragment))
			return NET_ERR_MALFORMED;
		pkt->payload = p + 8;
		/* the UDP length bounds the payload; a shorter capture is what we have */
		pkt->payload_len = (uint32_t)((hl < n ? hl : n) - 8);
		pkt->wire_payload = (uint32_t)(hl - 8);
		return NET_OK;
	case NET_ICMP:
	case NET_ICMP6:
		if (n < 8)
			return NET_ERR_TRUNCATED;
		pkt->sport = p[0];
		pkt->dport = p[1];
		pkt->icmp_id = rd16(p + 4);
		pkt->payload = p + 8;
		pkt->payload_len = (uint32_t)(n - 8);
		pkt->wire_payload = (uint32_t)(wire > 8 ? wire - 8 : 0);
		return NET_OK;
	default:
		pkt->payload = p;
		pkt->payload_len = (uint32_t)n;
		pkt->wire_payload = (uint32_t)wire;
		return NET_OK;
	}
}

static enum net_err
decode_ipv4(const uint8_t *p, size_t n, struct net_pkt *pkt)
{
	size_t hl, tot;
	uint16_t frag;

	if (n < 20)
		return NET_ERR_TRUNCATED;
	if ((p[0] >> 4) != 4)
		return NET_ERR_MALFORMED;
	hl = (size_t)(p[0] & 0x0F) * 4;
	tot = rd16(p + 2);
	if (hl < 20 || tot < hl)
		return NET_ERR_MALFORMED;
	if (hl > n)
		return NET_ERR_TRUNCATED;
	pkt->ipv = 4;
	pkt->proto = p[9];
	pkt->ip_len = (uint32_t)tot;
	memset(pkt->src, 0, 10);
	pkt->src[10] = pkt->src[11] = 0xFF;
	memcpy(pkt->src + 12, p + 12, 4);
	memset(pkt->dst, 0, 10);
	pkt->dst[10] = pkt->dst[11] = 0xFF;
	memcpy(pkt->dst + 12, p + 16, 4);
	frag = rd16(p + 6);
	if (frag & 0x3FFF) {	/* MF set or a fragment offset */
		pkt->fragment = true;
		if (frag & 0x1FFF) {	/* not the first: no transport header */
			pkt->payload = NULL;
			pkt->payload_len = 0;
			return NET_OK;
		}
	}
	if (tot < n)
		n = tot;	/* link padding is not payload */
	return decode_l4(p + hl, n - hl, tot - hl, pkt);
}

static enum net_err
decode_ipv6(const uint8_t *p, size_t n, struct net_pkt *pkt)
{
	size_t off = 40, plen;
	uint8_t nh;

	if (n < 40)
		return NET_ERR_TRUNCATED;
	if ((p[0] >> 4) != 6)
		return NET_ERR_MALFORMED;
	plen = rd16(p + 4);
	pkt->ipv = 6;
	pkt->ip_len = (uint32_t)(plen + 40);
	memcpy(pkt->src, p + 8, 16);
	memcpy(pkt->dst, p + 24, 16);
	if (plen + 40 < n)
		n = plen + 40;	/* link padding; jumbograms (plen 0) use the capture */
	nh = p[6];
	for (int i = 0; ; i++) {
		size_t el;

		switch (nh) {
		case 0: case 43: case 60:	/* hop-by-hop, routing, destination options */
			if (n - off < 8)
				return NET_ERR_TRUNCATED;
			el = ((size_t)p[off + 1] + 1) * 8;
			break;
		case 51:			/* AH: length in 4-byte units, minus 2 */
			if (n - off < 8)
				return NET_ERR_TRUNCATED;
			el = ((size_t)p[off + 1] + 2) * 4;
			break;
		case 44:			/* fragment */
			if (n - off < 8)
				return NET_ERR_TRUNCATED;
			el = 8;
			pkt->fragment = true;
			if (rd16(p + off + 2) & 0xFFF8) {	/* offset: not the first */
				pkt->proto = p[off];
				pkt->payload = NULL;
				pkt->payload_len = 0;
				return NET_OK;
			}
			break;
		default:
			pkt->proto = nh;
			return decode_l4(p + off, n - off, plen + 40 > off ? plen + 40 - off : 0, pkt);
		}
		if (i >= NET_MAX_EXT)
			return NET_ERR_MALFORMED;
		if (el > n - off)
			return NET_ERR_TRUNCATED;
		nh = p[off];
		off += el;
	}
}

static enum net_err
decode_ether_type(uint16_t type, const uint8_t *p, size_t n, struct net_pkt *pkt)
{
	if (type == ETH_IPV4)
		return decode_ipv4(p, n, pkt);
	if (type == ETH_IPV6)
		return decode_ipv6(p, n, pkt);
	return NET_ERR_NOT_IP;
}

/* Raw IP: the version nibble says which. */
static enum net_err
decode_raw(const uint8_t *p, size_t n, struct net_pkt *pkt)
{
	if (n < 1)
		return NET_ERR_TRUNCATED;
	if ((p[0] >> 4) == 4)
		return decode_ipv4(p, n, pkt);
	if ((p[0] >> 4) == 6)
		return decode_ipv6(p, n, pkt);
	return NET_ERR_MALFORMED;
}

enum net_err
net_decode(int link, const uint8_t *p, size_t n, struct net_pkt *pkt)
{
	uint16_t type;
	size_t off;

	memset(pkt, 0, sizeof(*pkt));
	switch (link) {
	case NET_LINK_ETHERNET:
		if (n < 14)
			return NET_ERR_TRUNCATED;
		type = rd16(p + 12);
		off = 14;
		while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
			if (pkt->vlans == NET_MAX_VLANS)
				return NET_ERR_MALFORMED;
			if (n - off < 4)
				return NET_ERR_TRUNCATED;
			type = rd16(p + off + 2);
			off += 4;
			pkt->vlans++;
		}
		return decode_ether_type(type, p + off, n - off, pkt);
	case NET_LINK_SLL:
		if (n < 16)
			return NET_ERR_TRUNCATED;
		return decode_ether_type(rd16(p + 14), p + 16, n - 16, pkt);
	case NET_LINK_SLL2:
		if (n < 20)
			return NET_ERR_TRUNCATED;
		return decode_ether_type(rd16(p), p + 20, n - 20, pkt);
	case NET_LINK_NULL: {
		uint32_t fam;
		if (n < 4)
			return NET_ERR_TRUNCATED;
		memcpy(&fam, p, 4);
		if (fam == 2)
			return decode_ipv4(p + 4, n - 4, pkt);
		/* AF_INET6 differs between BSDs: 24, 28, 30 */
		if (fam == 24 || fam == 28 || fam == 30)
			return decode_ipv6(p + 4, n - 4, pkt);
		return NET_ERR_NOT_IP;
	}
	case NET_LINK_RAW:
		return decode_raw(p, n, pkt);
	case NET_LINK_IPV4:
		return decode_ipv4(p, n, pkt);
	case NET_LINK_IPV6:
		return decode_ipv6(p, n, pkt);
	default:
		return NET_ERR_LINK;
	}
}
