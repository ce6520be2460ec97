// SPDX-License-Identifier: GPL-2.0
/*
 * nat rules (ipsecnat nat add): the module's own POSTROUTING hook doing
 * what "iptables -t mangle -A POSTROUTING -o IFNAME -j IPSECNAT [options]"
 * does, for gateways without iptables. nft's "flush ruleset" leaves them.
 *
 * A netns's rules, at most one per out interface name, are an array that
 * is never changed once published (RCU): a change publishes a new one under
 * in->nat_lock. The hook is registered only while the netns has a rule,
 * and each rule holds conntrack and counts in nr_rules as an iptables rule
 * with the target does.
 */
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter/x_tables.h>
#include <net/netfilter/nf_conntrack.h>
#include "ipsecnat.h"

/* As iptables -o: the name, or with a trailing '+' every name it starts. */
static bool nat_match(const char *rule, const char *name)
{
	size_t len = strlen(rule);

	if (len && rule[len - 1] == '+')
		return !strncmp(rule, name, len - 1);
	return !strcmp(rule, name);
}

static unsigned int ipsecnat_nat_hook(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	const struct ipsecnat_nat_rules *rules;
	const struct net_device *out = state->out;
	unsigned int i, v;

	rules = rcu_dereference(ipsecnat_pernet(state->net)->nat);
	if (!rules || !out)
		return NF_ACCEPT;
	/* as a chain of such iptables rules: each that matches, until one drops or steals */
	for (i = 0; i < rules->n; i++) {
		if (!nat_match(rules->r[i].ifname, out->name))
			continue;
		v = ipsecnat_outbound(state->net, skb, &rules->r[i].info, out);
		if (v != NF_ACCEPT && v != XT_CONTINUE)
			return v;
	}
	return NF_ACCEPT;
}

static const struct nf_hook_ops ipsecnat_nat_ops = {
	.hook		= ipsecnat_nat_hook,
	.pf		= NFPROTO_IPV4,
	.hooknum	= NF_INET_POST_ROUTING,
	/* just after iptables' mangle table, where the target runs; before srcnat */
	.priority	= NF_IP_PRI_MANGLE + 1,
};

static struct ipsecnat_nat_rules *nat_rules(struct ipsecnat_net *in)
{
	return rcu_dereference_protected(in->nat, lockdep_is_held(&in->nat_lock));
}

/* @new (NULL: none) replaces the rules; the hook is there while there are some. */
static int nat_publish(struct ipsecnat_net *in, struct ipsecnat_nat_rules *new)
{
	struct ipsecnat_nat_rules *old = nat_rules(in);
	int err;

	if (!old && new) {
		err = nf_register_net_hook(in->net, &ipsecnat_nat_ops);
		if (err)
			return err;
	}
	rcu_assign_pointer(in->nat, new);
	/* packets still in the hook read @old, freed after them (kfree_rcu) */
	if (old && !new)
		nf_unregister_net_hook(in->net, &ipsecnat_nat_ops);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

/* Index of @ifname's rule in @rules (NULL: none), or their number if it has none. */
static unsigned int nat_find(const struct ipsecnat_nat_rules *rules, const char *ifname)
{
	unsigned int i, n = rules ? rules->n : 0;

	for (i = 0; i < n && strcmp(rules->r[i].ifname, ifname); i++)
		;
	return i;
}

int ipsecnat_nat_add(struct ipsecnat_net *in, const struct ipsecnat_nat_rule *rule, bool replace,
		     struct netlink_ext_ack *extack)
{
	struct ipsecnat_nat_rules *old, *new;
	unsigned int i, n;
	int err;

	err = ipsecnat_rule_check(&rule->info, extack);
	if (err)
		return err;
	mutex_lock(&in->nat_lock);
	old = nat_rules(in);
	n = old ? old->n : 0;
	i = nat_find(old, rule->ifname);
	if (i < n && !replace) {
		NL_SET_ERR_MSG(extack, "this interface has a nat rule already");
		err = -EEXIST;
		goto out;
	}
	if (i == IPSECNAT_MAX_NAT_RULES) {
		NL_SET_ERR_MSG(extack, "too many nat rules (at most 16, one per interface)");
		err = -ENOSPC;
		goto out;
	}
	new = kmalloc(struct_size(new, r, max(n, i + 1)), GFP_KERNEL_ACCOUNT);
	if (!new) {
		err = -ENOMEM;
		goto out;
	}
	new->n = max(n, i + 1);
	if (n)
		memcpy(new->r, old->r, n * sizeof(new->r[0]));
	new->r[i] = *rule;
	if (i == n) {
		err = nf_ct_netns_get(in->net, NFPROTO_IPV4);
		if (err) {
			kfree(new);
			goto out;
		}
		/* before the hook can bind: the PREROUTING hook must see replies */
		atomic_inc(&in->nr_rules);
	}
	err = nat_publish(in, new);
	if (err) {
		if (i == n) {
			atomic_dec(&in->nr_rules);
			nf_ct_netns_put(in->net, NFPROTO_IPV4);
		}
		kfree(new);
	}
out:
	mutex_unlock(&in->nat_lock);
	return err;
}

int ipsecnat_nat_del(struct ipsecnat_net *in, const char *ifname)
{
	struct ipsecnat_nat_rules *old, *new = NULL;
	unsigned int i, n;
	int err = 0;

	mutex_lock(&in->nat_lock);
	old = nat_rules(in);
	n = old ? old->n : 0;
	i = nat_find(old, ifname);
	if (i == n) {
		err = -ENOENT;
		goto out;
	}
	if (n > 1) {
		new = kmalloc(struct_size(new, r, n - 1), GFP_KERNEL_ACCOUNT);
		if (!new) {
			err = -ENOMEM;
			goto out;
		}
		new->n = n - 1;
		memcpy(new->r, old->r, i * sizeof(new->r[0]));
		memcpy(new->r + i, old->r + i + 1, (n - 1 - i) * sizeof(new->r[0]));
	}
	WARN_ON_ONCE(nat_publish(in, new));	/* only registering fails */
	/* the other rules still hold conntrack: no packet in the hook can miss it */
	atomic_dec(&in->nr_rules);
	nf_ct_netns_put(in->net, NFPROTO_IPV4);
out:
	mutex_unlock(&in->nat_lock);
	return err;
}

/* A copy of the rules; how many. */
unsigned int ipsecnat_nat_get(struct ipsecnat_net *in,
			      struct ipsecnat_nat_rule rules[IPSECNAT_MAX_NAT_RULES])
{
	const struct ipsecnat_nat_rules *r;
	unsigned int n;

	rcu_read_lock();
	r = rcu_dereference(in->nat);
	n = r ? r->n : 0;
	if (n)
		memcpy(rules, r->r, n * sizeof(r->r[0]));
	rcu_read_unlock();
	return n;
}

void ipsecnat_nat_init(struct ipsecnat_net *in)
{
	mutex_init(&in->nat_lock);
	RCU_INIT_POINTER(in->nat, NULL);
}

/*
 * The netns goes: first its hook (pre_exit: the core then waits a grace
 * period, so no packet is in the hook when exit frees the netns's state) ...
 */
void ipsecnat_nat_pre_exit(struct ipsecnat_net *in)
{
	mutex_lock(&in->nat_lock);
	if (nat_rules(in))
		nf_unregister_net_hook(in->net, &ipsecnat_nat_ops);
	mutex_unlock(&in->nat_lock);
}

/* ... then its rules and their hold on conntrack. */
void ipsecnat_nat_exit(struct ipsecnat_net *in)
{
	struct ipsecnat_nat_rules *rules;
	unsigned int i;

	mutex_lock(&in->nat_lock);
	rules = nat_rules(in);
	RCU_INIT_POINTER(in->nat, NULL);
	for (i = 0; rules && i < rules->n; i++) {
		atomic_dec(&in->nr_rules);
		nf_ct_netns_put(in->net, NFPROTO_IPV4);
	}
	kfree(rules);	/* no reader: the hook went a grace period ago */
	mutex_unlock(&in->nat_lock);
	mutex_destroy(&in->nat_lock);
}
