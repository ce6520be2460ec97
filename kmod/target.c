// SPDX-License-Identifier: GPL-2.0
/*
 * The IPSECNAT iptables target (mangle POSTROUTING only) and the address
 * notifier that voids bindings to an address that left the box.
 */
#include <linux/inetdevice.h>
#include <linux/netfilter/x_tables.h>
#include <net/route.h>
#include <net/netfilter/nf_conntrack.h>
#include "ipsecnat.h"

#define IPSECNAT_MAX_POOL	65536

/* The public address(es) a rule offers: its pool, or the out interface's. */
bool ipsecnat_rule_pool(const struct xt_ipsecnat_tginfo *info, const struct net_device *out,
			const struct sk_buff *skb, struct ipsecnat_pool *pool)
{
	const struct rtable *rt;
	__be32 addr;

	if (info->flags & XT_IPSECNAT_F_TO_SOURCE) {
		pool->min_addr = info->min_addr;
		pool->max_addr = info->max_addr;
		return true;
	}
	rt = skb_rtable(skb);
	if (!rt)
		return false;
	addr = inet_select_addr(out, rt_nexthop(rt, ip_hdr(skb)->daddr), RT_SCOPE_UNIVERSE);
	pool->min_addr = addr;
	pool->max_addr = addr;
	return addr != 0;
}

/* A translated packet goes on down the chain (DSCP, CLASSIFY rules after it). */
static unsigned int ipsecnat_tg(struct sk_buff *skb, const struct xt_action_param *par)
{
	unsigned int v = ipsecnat_outbound(xt_net(par), skb, par->targinfo, xt_out(par));

	return v == NF_ACCEPT ? XT_CONTINUE : v;
}

/*
 * The options of a rule, the target's or a nat rule's (nat.c): 0, or why
 * not in @extack (netlink) or, without one (iptables), in the kernel log.
 */
int ipsecnat_rule_check(const struct xt_ipsecnat_tginfo *info, struct netlink_ext_ack *extack)
{
	if (info->flags & ~XT_IPSECNAT_F_ALL) {
		if (!extack)
			pr_info_ratelimited("IPSECNAT: unknown flags %#x\n", info->flags);
		NL_SET_ERR_MSG(extack, "unknown flags");
		return -EINVAL;
	}
	if (info->flags & XT_IPSECNAT_F_TO_SOURCE) {
		u32 lo = ntohl(info->min_addr), hi = ntohl(info->max_addr);

		if (!lo || lo > hi) {
			if (!extack)
				pr_info_ratelimited("IPSECNAT: bad --to-source range %pI4-%pI4\n",
						    &info->min_addr, &info->max_addr);
			NL_SET_ERR_MSG(extack,
				       "bad to-source range: starts at 0.0.0.0 or runs backwards");
			return -EINVAL;
		}
		if (hi - lo >= IPSECNAT_MAX_POOL) {
			if (!extack)
				pr_info_ratelimited("IPSECNAT: --to-source pool larger than %u addresses\n",
						    IPSECNAT_MAX_POOL);
			NL_SET_ERR_MSG(extack, "to-source pool larger than 65536 addresses");
			return -ERANGE;
		}
	}
	return 0;
}

static int ipsecnat_tg_check(const struct xt_tgchk_param *par)
{
	int err;

	err = ipsecnat_rule_check(par->targinfo, NULL);
	if (err)
		return err;
	err = nf_ct_netns_get(par->net, par->family);
	if (!err)
		atomic_inc(&ipsecnat_pernet(par->net)->nr_rules);
	return err;
}

static void ipsecnat_tg_destroy(const struct xt_tgdtor_param *par)
{
	atomic_dec(&ipsecnat_pernet(par->net)->nr_rules);
	nf_ct_netns_put(par->net, par->family);
}

static struct xt_target ipsecnat_tg_reg __read_mostly = {
	.name		= "IPSECNAT",
	.family		= NFPROTO_IPV4,
	.table		= "mangle",
	.hooks		= 1 << NF_INET_POST_ROUTING,
	.target		= ipsecnat_tg,
	.targetsize	= sizeof(struct xt_ipsecnat_tginfo),
	.checkentry	= ipsecnat_tg_check,
	.destroy	= ipsecnat_tg_destroy,
	.me		= THIS_MODULE,
};

static int ipsecnat_inetaddr_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	const struct in_ifaddr *ifa = ptr;
	struct ipsecnat_net *in = ipsecnat_pernet(dev_net(ifa->ifa_dev->dev));

	if (event == NETDEV_DOWN && !READ_ONCE(in->dying))
		ipsecnat_flush_pub(in, ifa->ifa_local);
	return NOTIFY_DONE;
}

static struct notifier_block ipsecnat_inetaddr_nb = {
	.notifier_call = ipsecnat_inetaddr_event,
};

int ipsecnat_target_init(void)
{
	int err;

	err = register_inetaddr_notifier(&ipsecnat_inetaddr_nb);
	if (err)
		return err;
	err = xt_register_target(&ipsecnat_tg_reg);
	if (err)
		unregister_inetaddr_notifier(&ipsecnat_inetaddr_nb);
	return err;
}

void ipsecnat_target_exit(void)
{
	xt_unregister_target(&ipsecnat_tg_reg);
	unregister_inetaddr_notifier(&ipsecnat_inetaddr_nb);
}
