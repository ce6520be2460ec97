// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecnat packet path: outbound ESP (from the IPSECNAT target), inbound ESP
 * (PREROUTING hook, before conntrack), and ICMP errors quoting ESP.
 *
 * Outbound ESP keeps its conntrack entry keyed by the inside address: the
 * target gives the entry a null SNAT binding, so MASQUERADE leaves it alone
 * and two inside hosts never clash on the generic (SPI-less) ESP tuple. The
 * address is rewritten here instead. Inbound ESP is rewritten back before
 * conntrack sees it, so conntrack finds the inside host's own entry and
 * "ESTABLISHED,RELATED" rules accept it. ESP in UDP (NAT-T) and IKE come
 * here from udp.c once their SPI is known.
 */
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/udp.h>
#include <linux/netfilter_ipv4.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/esp.h>
#include <net/xfrm.h>
#include <net/checksum.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_conntrack_zones.h>
#include <net/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include "ipsecnat.h"

/* SPI of the ESP header at @off; 0 when truncated (SPI 0 is reserved too). */
__be32 ipsecnat_esp_spi(const struct sk_buff *skb, unsigned int off)
{
	struct ip_esp_hdr _esph;
	const struct ip_esp_hdr *esph;

	esph = skb_header_pointer(skb, off, sizeof(_esph), &_esph);
	return esph ? esph->spi : 0;
}

/*
 * Rewrite the source (@src) or destination address; a UDP datagram's
 * checksum follows its pseudo-header, except that zero (none) stays zero.
 */
static int rewrite_addr(struct sk_buff *skb, bool src, __be32 addr)
{
	unsigned int len = sizeof(struct iphdr);
	bool udp = ip_hdr(skb)->protocol == IPPROTO_UDP && !ipsecnat_later_fragment(ip_hdr(skb));
	struct iphdr *iph;
	struct udphdr *uh;
	__be32 *field;

	if (udp)
		len = ip_hdrlen(skb) + sizeof(*uh);
	if (skb_ensure_writable(skb, len))
		return -ENOMEM;
	iph = ip_hdr(skb);
	field = src ? &iph->saddr : &iph->daddr;
	if (udp) {
		uh = (struct udphdr *)(skb->data + ip_hdrlen(skb));
		/* a GSO skb's partial pseudo-header sum may be 0 */
		if (uh->check || skb->ip_summed == CHECKSUM_PARTIAL) {
			inet_proto_csum_replace4(&uh->check, skb, *field, addr, true);
			if (!uh->check)
				uh->check = CSUM_MANGLED_0;
		}
	}
	csum_replace4(&iph->check, *field, addr);
	*field = addr;
	return 0;
}

/* An ICMP error whose quoted datagram is ESP, plain or in UDP (NAT-T). */
struct icmp_esp {
	unsigned int inner_off;		/* offset of the quoted IP header */
	__be32 inner_saddr;
	__be32 inner_daddr;
	__be32 spi;
};

static bool icmp_esp_parse(const struct sk_buff *skb, struct icmp_esp *q)
{
	unsigned int off = ip_hdrlen(skb);
	struct icmphdr _icmph;
	const struct icmphdr *icmph;
	struct iphdr _inner;
	const struct iphdr *inner;
	struct udphdr _uh;
	const struct udphdr *uh;

	if (ipsecnat_later_fragment(ip_hdr(skb)))
		return false;
	icmph = skb_header_pointer(skb, off, sizeof(_icmph), &_icmph);
	if (!icmph || (icmph->type != ICMP_DEST_UNREACH &&
		       icmph->type != ICMP_TIME_EXCEEDED &&
		       icmph->type != ICMP_PARAMETERPROB))
		return false;
	off += sizeof(_icmph);
	inner = skb_header_pointer(skb, off, sizeof(_inner), &_inner);
	if (!inner || inner->ihl < 5 || ipsecnat_later_fragment(inner))
		return false;
	q->inner_off = off;
	q->inner_saddr = inner->saddr;
	q->inner_daddr = inner->daddr;
	off += inner->ihl * 4;
	switch (inner->protocol) {
	case IPPROTO_ESP:
		break;
	case IPPROTO_UDP:
		/* a router quoting only 8 bytes leaves no SPI: not ours then */
		uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
		if (!uh || (uh->source != htons(IPSECNAT_NATT_PORT) &&
			    uh->dest != htons(IPSECNAT_NATT_PORT)))
			return false;
		off += sizeof(_uh);
		break;
	default:
		return false;
	}
	q->spi = ipsecnat_esp_spi(skb, off);
	return q->spi != 0;
}

/*
 * Rewrite an ICMP error quoting ESP: the outer destination and the quoted
 * source (inbound, @src false), or the outer source and the quoted
 * destination (outbound, @src true), keeping both checksums right.
 */
static int icmp_esp_rewrite(struct sk_buff *skb, const struct icmp_esp *q, bool src,
			    __be32 addr)
{
	unsigned int ihl = ip_hdrlen(skb);
	struct icmphdr *icmph;
	struct iphdr *inner;
	__be32 *field;
	__sum16 old_check;

	if (skb_ensure_writable(skb, q->inner_off + sizeof(*inner)))
		return -ENOMEM;
	icmph = (struct icmphdr *)(skb->data + ihl);
	inner = (struct iphdr *)(skb->data + q->inner_off);
	field = src ? &inner->daddr : &inner->saddr;
	old_check = inner->check;
	csum_replace4(&inner->check, *field, addr);
	inet_proto_csum_replace4(&icmph->checksum, skb, *field, addr, false);
	inet_proto_csum_replace2(&icmph->checksum, skb, (__force __be16)old_check,
				 (__force __be16)inner->check, false);
	*field = addr;
	return rewrite_addr(skb, src, addr);
}

/*
 * A flowtable (nft "flow add", OpenWrt's offload) would forward a
 * translated UDP flow's later packets past this module, untranslated: the
 * fast path takes no entry with a helper extension, so give ours an empty
 * one (before confirmation, the only time extensions can be added).
 */
static bool offload_barred(const struct nf_conn *ct)
{
	return nf_ct_protonum(ct) != IPPROTO_UDP || nfct_help(ct);
}

static void bar_offload(struct nf_conn *ct)
{
	if (!offload_barred(ct))
		nf_ct_helper_ext_add(ct, GFP_ATOMIC);
}

/*
 * Keep MASQUERADE and SNAT rules off this conntrack entry: see top. An entry
 * NATed before the IPSECNAT rule existed has its reply tuple on the public
 * address, where inbound ESP translated to the inside host would no longer
 * find it: retire it, and the host's next packet starts a fresh one.
 */
static void ct_null_snat(struct sk_buff *skb)
{
	struct nf_nat_range2 range = { .flags = NF_NAT_RANGE_MAP_IPS };
	enum ip_conntrack_info ctinfo;
	struct nf_conn *ct;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct)
		return;
	if (nf_ct_is_confirmed(ct)) {
		/* an entry inbound traffic made is barred in ipsecnat_prerouting_ct */
		if (test_bit(IPS_SRC_NAT_BIT, &ct->status) ||
		    (CTINFO2DIR(ctinfo) == IP_CT_DIR_ORIGINAL && !offload_barred(ct)))
			nf_ct_kill(ct);
		return;
	}
	bar_offload(ct);
	/* unconfirmed and already NATed (an nft nat chain ran first): leave it */
	if (nf_nat_initialized(ct, NF_NAT_MANIP_SRC))
		return;
	range.min_addr.ip = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3.ip;
	range.max_addr.ip = range.min_addr.ip;
	nf_nat_setup_info(ct, &range, NF_NAT_MANIP_SRC);
}

/*
 * Translate a packet of a binding: outbound (@out) to the public address
 * @addr, keeping MASQUERADE off its conntrack entry, or inbound to the
 * inside host @addr. NF_DROP if the packet cannot be written.
 */
unsigned int ipsecnat_translate(struct ipsecnat_net *in, struct sk_buff *skb, bool out,
				__be32 addr)
{
	if (rewrite_addr(skb, out, addr))
		return NF_DROP;
	if (out)
		ct_null_snat(skb);
	ipsecnat_count(in, out ? IPSECNAT_C_out_translated : IPSECNAT_C_in_translated);
	return NF_ACCEPT;
}

bool ipsecnat_in_pool(const struct ipsecnat_pool *pool, __be32 addr)
{
	return ntohl(addr) >= ntohl(pool->min_addr) && ntohl(addr) <= ntohl(pool->max_addr);
}

/* Was outbound ESP's SA in use before (sequence number past a new SA's first)? */
static bool esp_in_use(const struct sk_buff *skb, const struct ipsecnat_ports *ports)
{
	unsigned int off = ip_hdrlen(skb) + (ports ? sizeof(struct udphdr) : 0);
	const struct ip_esp_hdr *esph;
	struct ip_esp_hdr _esph;

	esph = skb_header_pointer(skb, off, sizeof(_esph), &_esph);
	return esph && ntohl(esph->seq_no) > IPSECNAT_ESP_FRESH;
}

/*
 * Outbound ESP SA @spi, plain or in UDP (@ports): translate it, creating
 * its SA under the claim rules if new.
 */
unsigned int ipsecnat_out_esp(struct ipsecnat_net *in, struct sk_buff *skb,
			      const struct xt_ipsecnat_tginfo *info,
			      const struct net_device *out, __be32 spi,
			      const struct ipsecnat_ports *ports)
{
	const struct iphdr *iph = ip_hdr(skb);
	__be32 host = iph->saddr, peer = iph->daddr;
	struct ipsecnat_pool pool;
	struct ipsecnat_sa *sa;

	sa = ipsecnat_sa_lookup(in, IPSECNAT_OUT, 0, peer, spi);
	if (sa) {
		if (host == sa->flow->pub)
			return XT_CONTINUE;	/* an earlier IPSECNAT rule translated it */
		if (sa->flow->key.host != host) {
			ipsecnat_count(in, IPSECNAT_C_spi_conflict);
			return NF_DROP;
		}
	} else {
		if (!ipsecnat_rule_pool(info, out, skb, &pool)) {
			ipsecnat_count(in, IPSECNAT_C_no_address);
			return NF_DROP;
		}
		if (ipsecnat_in_pool(&pool, host))	/* already public */
			return XT_CONTINUE;
		if (ports && ipsecnat_port_in_use(in, skb, &pool))
			return XT_CONTINUE;
		if (ipsecnat_sa_create_out(in, host, peer, spi, ports, esp_in_use(skb, ports),
					   &pool, &sa) !=
		    IPSECNAT_OK)
			return NF_DROP;
	}
	if (ipsecnat_translate(in, skb, true, sa->flow->pub) != NF_ACCEPT)
		return NF_DROP;
	ipsecnat_sa_touch(sa, skb->len);
	return NF_ACCEPT;
}

static unsigned int outbound_esp(struct ipsecnat_net *in, struct sk_buff *skb,
				 const struct xt_ipsecnat_tginfo *info,
				 const struct net_device *out)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct ipsecnat_flow *flow;
	__be32 spi;

	if (ipsecnat_later_fragment(iph)) {
		/* no SPI here; the flow knows the address */
		flow = ipsecnat_flow_lookup(in, iph->saddr, iph->daddr);
		if (!flow)
			return XT_CONTINUE;
		return rewrite_addr(skb, true, flow->pub) ? NF_DROP : NF_ACCEPT;
	}
	spi = ipsecnat_esp_spi(skb, ip_hdrlen(skb));
	if (!spi) {
		ipsecnat_count(in, IPSECNAT_C_malformed);
		return NF_DROP;
	}
	return ipsecnat_out_esp(in, skb, info, out, spi, NULL);
}

/* An inside host's ICMP error about ESP it received leaves as A. */
static unsigned int outbound_icmp(struct ipsecnat_net *in, struct sk_buff *skb)
{
	struct ipsecnat_flow *flow;
	struct icmp_esp q;

	if (!icmp_esp_parse(skb, &q) || q.inner_daddr != ip_hdr(skb)->saddr)
		return XT_CONTINUE;
	flow = ipsecnat_flow_lookup(in, q.inner_daddr, q.inner_saddr);
	if (!flow || !ipsecnat_sa_lookup(in, IPSECNAT_IN, flow->pub, q.inner_saddr, q.spi))
		return XT_CONTINUE;
	if (icmp_esp_rewrite(skb, &q, true, flow->pub))
		return NF_DROP;
	ct_null_snat(skb);
	ipsecnat_count(in, IPSECNAT_C_icmp_translated);
	return NF_ACCEPT;
}

/*
 * The module asks conntrack about flows in the default zone only: packets
 * of other zones (CT zone rules) are left to conntrack's own NAT.
 */
static bool default_zone(const struct sk_buff *skb)
{
	enum ip_conntrack_info ctinfo;
	const struct nf_conn *ct = nf_ct_get(skb, &ctinfo);

	return !ct || nf_ct_zone_id(nf_ct_zone(ct), IP_CT_DIR_ORIGINAL) == NF_CT_DEFAULT_ZONE_ID;
}

unsigned int ipsecnat_outbound(struct net *net, struct sk_buff *skb,
			       const struct xt_ipsecnat_tginfo *info,
			       const struct net_device *out)
{
	struct ipsecnat_net *in = ipsecnat_pernet(net);
	u8 proto;

	/*
	 * The gateway's own IPsec is not ours: locally made packets (no input
	 * interface), and ESP its own xfrm states made of forwarded traffic
	 * (skb_iif survives the transform).
	 */
	if (!skb->skb_iif || (IPCB(skb)->flags & IPSKB_XFRM_TRANSFORMED) ||
	    READ_ONCE(in->dying))
		return XT_CONTINUE;
	proto = ip_hdr(skb)->protocol;
	if (proto != IPPROTO_ESP && proto != IPPROTO_ICMP && proto != IPPROTO_UDP)
		return XT_CONTINUE;
	if (!default_zone(skb)) {
		ipsecnat_count(in, IPSECNAT_C_foreign_zone);
		return XT_CONTINUE;
	}
	switch (proto) {
	case IPPROTO_ESP:
		return outbound_esp(in, skb, info, out);
	case IPPROTO_ICMP:
		return outbound_icmp(in, skb);
	case IPPROTO_UDP:
		if (info->flags & (XT_IPSECNAT_F_IKE | XT_IPSECNAT_F_NATT))
			return ipsecnat_outbound_udp(in, skb, info, out);
	}
	return XT_CONTINUE;
}

/* An unmarked SA of the gateway's own for @spi to @daddr: one hash lookup. */
static bool local_spi(struct net *net, __be32 daddr, __be32 spi)
{
	xfrm_address_t a = { .a4 = daddr };
	struct xfrm_state *x;

	x = xfrm_state_lookup(net, 0, &a, spi, IPPROTO_ESP, AF_INET);
	if (!x)
		return false;
	xfrm_state_put(x);
	return true;
}

#define LOCAL_WALK_BUDGET	BIT(20)	/* xfrm states walked per second and netns */

/*
 * An SA of the gateway's own for @spi to @daddr whatever its mark (VTI,
 * XFRM interfaces). xfrm_state_lookup_byspi() walks every xfrm state of
 * the netns under its lock; learn.c asks once per new stranger, and the
 * walks share a budget of states per second, so a WAN sender spraying new
 * SPIs at a box with many SAs of its own cannot make each one a walk.
 * Over budget: PACED, and the stranger waits for a later packet.
 */
enum ipsecnat_local ipsecnat_local_spi_any_mark(struct ipsecnat_net *in, __be32 daddr,
						__be32 spi)
{
	unsigned int states = READ_ONCE(in->net->xfrm.state_num);
	unsigned long since = READ_ONCE(in->local_walk_since);
	unsigned long now = jiffies;
	struct xfrm_state *x;
	bool mine;

	if (!states)
		return IPSECNAT_LOCAL_NO;
	/* racy on purpose: CPUs starting a second together only loosen it */
	if (!time_in_range(now, since, since + HZ)) {
		WRITE_ONCE(in->local_walk_since, now);
		atomic_set(&in->local_walk_states, 0);
	}
	if (atomic_read(&in->local_walk_states) >= LOCAL_WALK_BUDGET)
		return IPSECNAT_LOCAL_PACED;
	atomic_add(states, &in->local_walk_states);
	x = xfrm_state_lookup_byspi(in->net, spi, AF_INET);
	if (!x)
		return IPSECNAT_LOCAL_NO;
	mine = x->id.daddr.a4 == daddr && x->id.proto == IPPROTO_ESP;
	xfrm_state_put(x);
	return mine ? IPSECNAT_LOCAL_YES : IPSECNAT_LOCAL_NO;
}

/* ESP sequence number at @off (after the SPI); 0 when truncated. */
static u32 esp_seq(const struct sk_buff *skb, unsigned int off)
{
	struct ip_esp_hdr _esph;
	const struct ip_esp_hdr *esph;

	esph = skb_header_pointer(skb, off, sizeof(_esph), &_esph);
	return esph ? ntohl(esph->seq_no) : 0;
}

/*
 * Inbound ESP SA @spi, plain or in UDP (@ports): back to its inside host,
 * learning the SPI if new.
 */
unsigned int ipsecnat_in_esp(struct ipsecnat_net *in, struct sk_buff *skb, __be32 spi,
			     const struct ipsecnat_ports *ports)
{
	const struct iphdr *iph = ip_hdr(skb);
	__be32 pub = iph->daddr, peer = iph->saddr;
	struct ipsecnat_esp_seen seen;
	enum ipsecnat_result r;
	struct ipsecnat_sa *sa;

	sa = ipsecnat_sa_lookup(in, IPSECNAT_IN, pub, peer, spi);
	if (!sa) {
		/*
		 * Transit ESP, such as inside hosts' own on its way out: a
		 * bound host's is known by its flow, which is cheaper to ask
		 * than the FIB.
		 */
		if (ipsecnat_flow_lookup(in, iph->saddr, iph->daddr) ||
		    inet_addr_type(in->net, pub) != RTN_LOCAL)
			return NF_ACCEPT;
		if (local_spi(in->net, pub, spi)) {
			ipsecnat_count(in, IPSECNAT_C_local_spi);
			return NF_ACCEPT;
		}
		if (ports && ipsecnat_udp_taken(in, skb))
			return NF_ACCEPT;
		seen = (struct ipsecnat_esp_seen) {
			.pub = pub, .peer = peer, .spi = spi, .ports = ports, .dev = skb->dev,
			.seq = esp_seq(skb, ip_hdrlen(skb) + (ports ? sizeof(struct udphdr) : 0)),
		};
		r = ipsecnat_learn_esp(in, &seen, &sa);
		if (r != IPSECNAT_OK)
			return ipsecnat_unlearned(r);
	}
	if (ipsecnat_translate(in, skb, false, sa->flow->key.host) != NF_ACCEPT)
		return NF_DROP;
	ipsecnat_sa_touch(sa, skb->len);
	return NF_ACCEPT;
}

static unsigned int inbound_esp(struct ipsecnat_net *in, struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	__be32 spi;

	if (ipsecnat_later_fragment(iph))
		return NF_ACCEPT;	/* defrag runs first when conntrack is on */
	spi = ipsecnat_esp_spi(skb, ip_hdrlen(skb));
	if (!spi) {
		if (inet_addr_type(in->net, iph->daddr) != RTN_LOCAL)
			return NF_ACCEPT;	/* the target judges outbound ESP */
		ipsecnat_count(in, IPSECNAT_C_malformed);
		return NF_DROP;
	}
	return ipsecnat_in_esp(in, skb, spi, NULL);
}

/* ICMP errors about translated outbound ESP go back to the inside host. */
static unsigned int inbound_icmp(struct ipsecnat_net *in, struct sk_buff *skb)
{
	struct ipsecnat_sa *sa;
	struct icmp_esp q;

	if (!icmp_esp_parse(skb, &q) || q.inner_saddr != ip_hdr(skb)->daddr)
		return NF_ACCEPT;
	sa = ipsecnat_sa_lookup(in, IPSECNAT_OUT, 0, q.inner_daddr, q.spi);
	if (!sa || sa->flow->pub != q.inner_saddr)
		return NF_ACCEPT;
	if (icmp_esp_rewrite(skb, &q, false, sa->flow->key.host))
		return NF_DROP;
	ipsecnat_count(in, IPSECNAT_C_icmp_translated);
	return NF_ACCEPT;
}

static unsigned int ipsecnat_prerouting(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	struct ipsecnat_net *in = ipsecnat_pernet(state->net);

	/* no rule, or nothing bound and nothing to forward: not ours */
	if (!atomic_read(&in->nr_rules) ||
	    (!atomic_read(&in->nr_sas) && !atomic_read(&in->fwds.nelems)) ||
	    READ_ONCE(in->dying))
		return NF_ACCEPT;
	switch (ip_hdr(skb)->protocol) {
	case IPPROTO_ESP:
		return inbound_esp(in, skb);
	case IPPROTO_ICMP:
		return inbound_icmp(in, skb);
	case IPPROTO_UDP:
		return ipsecnat_inbound_udp(in, skb);
	}
	return NF_ACCEPT;
}

/*
 * Inbound IKE or NAT-T that ipsecnat_prerouting translated to an inside
 * host starts its conntrack entry here: bar it from a flowtable, as
 * ct_null_snat does for entries outbound traffic starts.
 */
static unsigned int ipsecnat_prerouting_ct(void *priv, struct sk_buff *skb,
					   const struct nf_hook_state *state)
{
	struct ipsecnat_net *in = ipsecnat_pernet(state->net);
	const struct iphdr *iph = ip_hdr(skb);
	enum ip_conntrack_info ctinfo;
	const struct udphdr *uh;
	struct udphdr _uh;
	struct nf_conn *ct;

	if (iph->protocol != IPPROTO_UDP || !atomic_read(&in->nr_sas))
		return NF_ACCEPT;
	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || nf_ct_is_confirmed(ct) || offload_barred(ct))
		return NF_ACCEPT;
	uh = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_uh), &_uh);
	if (!uh || (uh->dest != htons(IPSECNAT_IKE_PORT) && uh->dest != htons(IPSECNAT_NATT_PORT)))
		return NF_ACCEPT;
	if (ipsecnat_flow_lookup(in, iph->daddr, iph->saddr))
		bar_offload(ct);
	return NF_ACCEPT;
}

static const struct nf_hook_ops ipsecnat_hook_ops[] = {
	{
		/* after defragmentation, before raw and conntrack */
		.hook = ipsecnat_prerouting,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_RAW - 10,
	},
	{
		/* conntrack made the entry of what the hook above translated */
		.hook = ipsecnat_prerouting_ct,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_CONNTRACK + 1,
	},
};

int ipsecnat_hooks_register(struct net *net)
{
	return nf_register_net_hooks(net, ipsecnat_hook_ops, ARRAY_SIZE(ipsecnat_hook_ops));
}

void ipsecnat_hooks_unregister(struct net *net)
{
	nf_unregister_net_hooks(net, ipsecnat_hook_ops, ARRAY_SIZE(ipsecnat_hook_ops));
}
