// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecnat over UDP: IKE on port 500 and NAT-T (RFC 3948) on port 4500, for
 * rules that ask to preserve those ports. Every inside host then appears as
 * A:500 or A:4500, as peers that insist on those ports want. As for plain
 * ESP, the host's conntrack entry keeps its inside address (null SNAT) and
 * only the address is rewritten; inbound datagrams are told apart by SPI:
 *
 *   port 500    IKE header: by initiator SPI (the responder SPI, once the
 *               inside host used one, must match too)
 *   port 4500   0xff alone: NAT-keepalive, to the only candidate host
 *               4 zero bytes (non-ESP marker), then IKE as on port 500
 *               anything else: ESP, by SPI, exactly as plain ESP
 *
 * Inbound datagrams nobody here knows are left to the gateway's own
 * sockets and to conntrack (hosts whose ports it remapped) before any
 * learning, so neither ever loses traffic to an inside host.
 */
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/netfilter/x_tables.h>
#include <net/route.h>
#include <net/udp.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_zones.h>
#include "ipsecnat.h"

#define NATT_KEEPALIVE	0xff
#define IKEV1_MAJOR	0x10		/* version byte: major in the high nibble */
#define IKEV2_MAJOR	0x20
#define IKEV1_QUICK_MODE	32
#define IKEV2_IKE_AUTH		35
#define IKEV2_CREATE_CHILD_SA	36
#define IKEV2_F_RESPONSE	0x20
#define IKEV2_F_INITIATOR	0x08
#define IKEV2_PAYLOAD_SK	46
#define IKEV2_PAYLOAD_SKF	53	/* RFC 7383 */

/* RFC 7296 3.1 (the same first 28 bytes as ISAKMP, RFC 2408) */
struct ike_hdr {
	__be32 spi_i[2];
	__be32 spi_r[2];
	u8 next_payload;
	u8 version;
	u8 exchange;
	u8 flags;
	__be32 msgid;
	__be32 length;
};

enum udp_kind {
	UDP_OTHER,
	UDP_IKE,
	UDP_ESP,
	UDP_KEEPALIVE,
};

struct udp_msg {
	struct ipsecnat_ports ports;
	__be32 spi;			/* ESP */
	__be32 spi_i[2];		/* IKE */
	u64 spi_r;			/* IKE, as ipsecnat_ike_spi() */
	bool child;			/* an exchange that creates ESP SAs */
	bool request;			/* IKEv2 paced request */
	bool sealed;			/* IKEv2 encrypted (SK, SKF): only a party can send it */
	enum ipsecnat_exchange ex;	/* paced if not IPSECNAT_EX_UNPACED */
	u64 msg;			/* which message: IKE SA, sender, Message ID */
};

/* What the datagram to or from our @port carries. */
static enum udp_kind udp_parse(const struct sk_buff *skb, __be16 port, struct udp_msg *m)
{
	unsigned int off = ip_hdrlen(skb) + sizeof(struct udphdr);
	const struct ike_hdr *ike;
	struct ike_hdr _ike;
	__be32 _w;
	const __be32 *w;
	u8 _b;
	const u8 *b;

	if (skb->len < off)
		return UDP_OTHER;
	if (port == htons(IPSECNAT_NATT_PORT)) {
		if (skb->len == off + 1) {
			b = skb_header_pointer(skb, off, 1, &_b);
			return b && *b == NATT_KEEPALIVE ? UDP_KEEPALIVE : UDP_OTHER;
		}
		w = skb_header_pointer(skb, off, sizeof(_w), &_w);
		if (!w)
			return UDP_OTHER;
		if (*w) {
			m->spi = *w;
			/* SPI and sequence number at least */
			return skb->len >= off + 8 ? UDP_ESP : UDP_OTHER;
		}
		off += sizeof(_w);
	}
	ike = skb_header_pointer(skb, off, sizeof(_ike), &_ike);
	if (!ike || !(ike->spi_i[0] | ike->spi_i[1]))
		return UDP_OTHER;
	m->spi_i[0] = ike->spi_i[0];
	m->spi_i[1] = ike->spi_i[1];
	m->spi_r = ipsecnat_ike_spi(ike->spi_r);
	switch (ike->version & 0xf0) {
	case IKEV2_MAJOR:
		m->child = ike->exchange == IKEV2_IKE_AUTH ||
			   ike->exchange == IKEV2_CREATE_CHILD_SA;
		/*
		 * Every exchange that makes ESP SAs is paced: a new host's
		 * first SAs starting beside another host's rekey are as
		 * ambiguous as two rekeys.
		 */
		m->ex = ike->exchange == IKEV2_IKE_AUTH ? IPSECNAT_EX_AUTH :
			ike->exchange == IKEV2_CREATE_CHILD_SA ? IPSECNAT_EX_CHILD :
			IPSECNAT_EX_UNPACED;
		m->request = m->ex && !(ike->flags & IKEV2_F_RESPONSE);
		m->sealed = ike->next_payload == IKEV2_PAYLOAD_SK ||
			    ike->next_payload == IKEV2_PAYLOAD_SKF;
		/* retransmits and fragments (RFC 7383) of a message share it */
		m->msg = ((u64)ntohl(ike->spi_i[0]) << 32) ^ ((u64)ntohl(ike->spi_i[1]) << 16) ^
			 ntohl(ike->msgid) ^ (ike->flags & IKEV2_F_INITIATOR ? BIT_ULL(63) : 0) ^
			 (ike->flags & IKEV2_F_RESPONSE ? BIT_ULL(62) : 0);
		m->msg = m->msg ?: 1;	/* 0 is "none" */
		break;
	case IKEV1_MAJOR:
		m->child = ike->exchange == IKEV1_QUICK_MODE;
		break;
	}
	return UDP_IKE;
}

/*
 * A GRO aggregate (rx-udp-gro-forwarding, GRO fraglist) may join several
 * hosts' datagrams of one 4-tuple, P:4500 -> A:4500: it is translated as a
 * whole only if every segment is ESP of the first one's SA; else dropped.
 */
static bool gso_one_sa(const struct sk_buff *skb, enum udp_kind kind, __be32 spi)
{
	unsigned int off = ip_hdrlen(skb) + sizeof(struct udphdr), step;

	if (!skb_is_gso(skb))
		return true;
	step = skb_shinfo(skb)->gso_size;
	if (kind != UDP_ESP || !step)
		return false;
	for (off += step; off < skb->len; off += step)
		if (ipsecnat_esp_spi(skb, off) != spi)
			return false;
	return true;
}

/* Does the rule preserve inside source port @sport? */
static bool preserved(const struct xt_ipsecnat_tginfo *info, __be16 sport)
{
	return (sport == htons(IPSECNAT_IKE_PORT) && (info->flags & XT_IPSECNAT_F_IKE)) ||
	       (sport == htons(IPSECNAT_NATT_PORT) && (info->flags & XT_IPSECNAT_F_NATT));
}

/*
 * Does a socket of the gateway own the public port this outbound datagram
 * would leave from? Then the port is not preserved (conntrack remaps it as
 * usual) and the operator is told. A new flow may get any pool address;
 * daemons bind the wildcard, so the pool's first address stands for all.
 */
bool ipsecnat_port_in_use(struct ipsecnat_net *in, const struct sk_buff *skb,
			  const struct ipsecnat_pool *pool)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct ipsecnat_flow *f = ipsecnat_flow_lookup(in, iph->saddr, iph->daddr);
	__be32 pub = f ? f->pub : pool->min_addr;
	struct udphdr _uh;
	const struct udphdr *uh;
	struct sock *sk;

	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (!uh)
		return false;
	sk = udp4_lib_lookup(in->net, iph->daddr, uh->dest, pub, uh->source, 0);
	if (!sk)
		return false;
	sock_put(sk);
	ipsecnat_count(in, IPSECNAT_C_port_in_use);
	pr_info_ratelimited("IPSECNAT: %pI4:%u is a socket of this gateway; port of %pI4 not preserved\n",
			    &pub, ntohs(uh->source), &iph->saddr);
	return true;
}

/*
 * Is this inbound datagram someone else's: a gateway socket's, or that of
 * an inside host whose port conntrack's own NAT mapped to this one?
 */
bool ipsecnat_udp_taken(struct ipsecnat_net *in, const struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct nf_conntrack_tuple t = {};
	struct nf_conntrack_tuple_hash *h;
	struct udphdr _uh;
	const struct udphdr *uh;
	struct nf_conn *ct;
	struct sock *sk;
	bool taken;

	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (!uh)
		return true;
	sk = udp4_lib_lookup(in->net, iph->saddr, uh->source, iph->daddr, uh->dest,
			     skb->dev ? skb->dev->ifindex : 0);
	if (sk) {
		sock_put(sk);
		return true;
	}
	t.src.l3num = NFPROTO_IPV4;
	t.src.u3.ip = iph->saddr;
	t.src.u.udp.port = uh->source;
	t.dst.u3.ip = iph->daddr;
	t.dst.u.udp.port = uh->dest;
	t.dst.protonum = IPPROTO_UDP;
	h = nf_conntrack_find_get(in->net, &nf_ct_zone_dflt, &t);
	if (!h)
		return false;
	ct = nf_ct_tuplehash_to_ctrack(h);
	taken = NF_CT_DIRECTION(h) == IP_CT_DIR_REPLY && (ct->status & IPS_SRC_NAT);
	nf_ct_put(ct);
	return taken;
}

/* An IKE SA: a new port (IKE moves from 500 to 4500) is noted for show. */
static void ike_touch(struct ipsecnat_sa *sa, const struct ipsecnat_ports *ports,
		      unsigned int len)
{
	if (READ_ONCE(sa->host_port) != ports->host)
		WRITE_ONCE(sa->host_port, ports->host);
	if (READ_ONCE(sa->peer_port) != ports->peer)
		WRITE_ONCE(sa->peer_port, ports->peer);
	ipsecnat_sa_touch(sa, len);
}

static unsigned int out_ike(struct ipsecnat_net *in, struct sk_buff *skb,
			    const struct xt_ipsecnat_tginfo *info,
			    const struct net_device *out, const struct udp_msg *m)
{
	const struct iphdr *iph = ip_hdr(skb);
	__be32 host = iph->saddr, peer = iph->daddr;
	struct ipsecnat_flow *f = ipsecnat_flow_lookup(in, host, peer);
	struct ipsecnat_sa *sa = NULL;
	struct ipsecnat_pool pool;

	if (f)
		sa = ipsecnat_ike_lookup(in, f->pub, peer, m->spi_i);
	else if (ipsecnat_ike_lookup(in, host, peer, m->spi_i))
		return XT_CONTINUE;	/* an earlier IPSECNAT rule translated it */
	/* an unprotected notify (INVALID_IKE_SPI) shows no key: no claim */
	if (sa && sa->flow == f && READ_ONCE(sa->unconfirmed) && m->sealed)
		ipsecnat_learn_ike_confirmed(in, sa);
	if (!sa || sa->flow != f) {
		if (!ipsecnat_rule_pool(info, out, skb, &pool)) {
			ipsecnat_count(in, IPSECNAT_C_no_address);
			return NF_DROP;
		}
		if (ipsecnat_in_pool(&pool, host) || ipsecnat_port_in_use(in, skb, &pool))
			return XT_CONTINUE;
		if (ipsecnat_ike_create_out(in, host, peer, m->spi_i, m->sealed ? m->spi_r : 0,
					    &m->ports, &pool, &sa) != IPSECNAT_OK)
			return NF_DROP;
	}
	/* the responder SPI the host uses is the one the SA has from now on */
	if (m->spi_r && !ipsecnat_ike_spi_r(sa))
		WRITE_ONCE(ipsecnat_ike(sa)->spi_r, m->spi_r);
	if (m->child) {
		switch (ipsecnat_ike_exchange(in, sa->flow, true, m->ex, !m->request, m->msg,
					      skb)) {
		case IPSECNAT_IKE_PASS:
			break;
		case IPSECNAT_IKE_DROP:
			return NF_DROP;
		case IPSECNAT_IKE_HELD:
			return NF_STOLEN;	/* another host's exchange goes first */
		}
	}
	ike_touch(sa, &m->ports, skb->len);
	return ipsecnat_translate(in, skb, true, sa->flow->pub);
}

/*
 * Outbound UDP from an inside host (IPSECNAT target), translated only when
 * the rule preserves its source port.
 */
unsigned int ipsecnat_outbound_udp(struct ipsecnat_net *in, struct sk_buff *skb,
				   const struct xt_ipsecnat_tginfo *info,
				   const struct net_device *out)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct ipsecnat_flow *f;
	struct udp_msg m = {};
	struct udphdr _uh;
	const struct udphdr *uh;
	enum udp_kind kind;

	if (ipsecnat_later_fragment(iph))
		return XT_CONTINUE;	/* conntrack reassembled ours */
	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (!uh || !preserved(info, uh->source))
		return XT_CONTINUE;
	m.ports.host = uh->source;
	m.ports.peer = uh->dest;
	kind = udp_parse(skb, uh->source, &m);
	if (!gso_one_sa(skb, kind, m.spi)) {
		ipsecnat_count(in, IPSECNAT_C_malformed);
		return NF_DROP;
	}
	switch (kind) {
	case UDP_ESP:
		return ipsecnat_out_esp(in, skb, info, out, m.spi, &m.ports);
	case UDP_IKE:
		return out_ike(in, skb, info, out, &m);
	default:
		/*
		 * Keepalives and anything else between a bound host and its
		 * peer share the conntrack entry, so they leave as A too.
		 */
		f = ipsecnat_flow_lookup(in, iph->saddr, iph->daddr);
		return f ? ipsecnat_translate(in, skb, true, f->pub) : XT_CONTINUE;
	}
}

/* Not for this box (transit), or someone else's here. */
static bool not_ours(struct ipsecnat_net *in, const struct sk_buff *skb)
{
	return inet_addr_type(in->net, ip_hdr(skb)->daddr) != RTN_LOCAL ||
	       ipsecnat_udp_taken(in, skb);
}

static unsigned int in_ike(struct ipsecnat_net *in, struct sk_buff *skb,
			   const struct udp_msg *m)
{
	const struct iphdr *iph = ip_hdr(skb);
	enum ipsecnat_result r;
	struct ipsecnat_sa *sa;
	u64 spi_r;

	sa = ipsecnat_ike_lookup(in, iph->daddr, iph->saddr, m->spi_i);
	if (sa) {
		spi_r = ipsecnat_ike_spi_r(sa);
		if (spi_r && m->spi_r && spi_r != m->spi_r) {
			ipsecnat_count(in, IPSECNAT_C_ike_mismatch);
			return NF_DROP;
		}
		/* a forward's client that echoes the server's SPI saw its reply */
		if (spi_r && m->spi_r == spi_r && READ_ONCE(sa->flow->fwd_unanswered))
			ipsecnat_fwd_client_answered(in, sa->flow);
	} else {
		if (not_ours(in, skb)) {
			/* an inside host's IKE on its way out, ports not ours */
			if (m->child)
				ipsecnat_ike_evidence(in, skb, m->spi_i);
			return NF_ACCEPT;
		}
		r = ipsecnat_learn_ike(in, skb, m->spi_i, m->spi_r, &m->ports, &sa);
		if (r != IPSECNAT_OK)
			return ipsecnat_unlearned(r);
	}
	/* the peer's side of an exchange, on an IKE SA the host spoke on */
	if (m->child && !READ_ONCE(sa->unconfirmed))
		ipsecnat_ike_exchange(in, sa->flow, false, m->ex, !m->request, m->msg, NULL);
	ike_touch(sa, &m->ports, skb->len);
	return ipsecnat_translate(in, skb, false, sa->flow->key.host);
}

/* A keepalive names no SA: only a slot with a single host can take it. */
static unsigned int in_keepalive(struct ipsecnat_net *in, struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct ipsecnat_slot *slot;
	struct ipsecnat_flow *f = NULL;

	if (not_ours(in, skb))
		return NF_ACCEPT;
	slot = ipsecnat_slot_lookup(in, iph->saddr, iph->daddr);
	if (slot)
		f = ipsecnat_slot_only_flow(slot);
	if (!f) {
		ipsecnat_count(in, IPSECNAT_C_keepalive_dropped);
		return NF_DROP;
	}
	return ipsecnat_translate(in, skb, false, f->key.host);
}

/* Inbound UDP to port 500 or 4500 (PREROUTING, before conntrack). */
unsigned int ipsecnat_inbound_udp(struct ipsecnat_net *in, struct sk_buff *skb)
{
	enum udp_kind kind;
	struct udp_msg m = {};
	struct udphdr _uh;
	const struct udphdr *uh;

	if (ipsecnat_later_fragment(ip_hdr(skb)))
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (!uh || (uh->dest != htons(IPSECNAT_IKE_PORT) &&
		    uh->dest != htons(IPSECNAT_NATT_PORT)))
		return NF_ACCEPT;
	m.ports.host = uh->dest;
	m.ports.peer = uh->source;
	kind = udp_parse(skb, uh->dest, &m);
	if (!gso_one_sa(skb, kind, m.spi)) {
		/* mixed ESP to our address is dropped, the rest left alone */
		if (kind != UDP_ESP || inet_addr_type(in->net, ip_hdr(skb)->daddr) != RTN_LOCAL)
			return NF_ACCEPT;
		ipsecnat_count(in, IPSECNAT_C_malformed);
		return NF_DROP;
	}
	switch (kind) {
	case UDP_ESP:
		return ipsecnat_in_esp(in, skb, m.spi, &m.ports);
	case UDP_IKE:
		return in_ike(in, skb, &m);
	case UDP_KEEPALIVE:
		return in_keepalive(in, skb);
	default:
		return NF_ACCEPT;
	}
}
