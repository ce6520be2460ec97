// SPDX-License-Identifier: GPL-2.0
/*
 * Interim per-netns read-out until the netlink control plane exists:
 *   /proc/net/ipsecnat       counters and the SA count
 *   /proc/net/ipsecnat_sas   one line per SA
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include "ipsecnat.h"

const char *const ipsecnat_counter_names[IPSECNAT_C_MAX] = {
	[IPSECNAT_C_out_translated] = "out_translated",
	[IPSECNAT_C_in_translated] = "in_translated",
	[IPSECNAT_C_learned] = "learned",
	[IPSECNAT_C_rekey_peer] = "rekey_peer",
	[IPSECNAT_C_held_back] = "held_back",
	[IPSECNAT_C_ambiguous] = "ambiguous",
	[IPSECNAT_C_unknown_spi] = "unknown_spi",
	[IPSECNAT_C_local_spi] = "local_spi",
	[IPSECNAT_C_spi_conflict] = "spi_conflict",
	[IPSECNAT_C_cap_netns] = "cap_netns",
	[IPSECNAT_C_cap_host] = "cap_host",
	[IPSECNAT_C_no_memory] = "no_memory",
	[IPSECNAT_C_no_address] = "no_address",
	[IPSECNAT_C_malformed] = "malformed",
	[IPSECNAT_C_icmp_translated] = "icmp_translated",
	[IPSECNAT_C_expired] = "expired",
	[IPSECNAT_C_forwarded] = "forwarded",
	[IPSECNAT_C_ike_learned] = "ike_learned",
	[IPSECNAT_C_ike_mismatch] = "ike_mismatch",
	[IPSECNAT_C_keepalive_dropped] = "keepalive_dropped",
	[IPSECNAT_C_port_in_use] = "port_in_use",
	[IPSECNAT_C_learned_pair] = "learned_pair",
	[IPSECNAT_C_learned_ike] = "learned_ike",
	[IPSECNAT_C_ike_paced] = "ike_paced",
	[IPSECNAT_C_strangers_full] = "strangers_full",
	[IPSECNAT_C_foreign_iface] = "foreign_iface",
};

void ipsecnat_stats_sum(struct ipsecnat_net *in, struct ipsecnat_stats *sum)
{
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct ipsecnat_stats *s = per_cpu_ptr(in->stats, cpu);

		for (i = 0; i < IPSECNAT_C_MAX; i++)
			sum->c[i] += READ_ONCE(s->c[i]);
	}
}

static int stats_show(struct seq_file *seq, void *v)
{
	struct ipsecnat_net *in = ipsecnat_pernet(seq_file_single_net(seq));
	struct ipsecnat_stats sum;
	int i;

	ipsecnat_stats_sum(in, &sum);
	seq_printf(seq, "sas %d\n", atomic_read(&in->nr_sas));
	for (i = 0; i < IPSECNAT_C_MAX; i++)
		seq_printf(seq, "%s %llu\n", ipsecnat_counter_names[i], sum.c[i]);
	return 0;
}

static const char *const dir_names[IPSECNAT_NR_DIRS] = {
	[IPSECNAT_OUT] = "out",
	[IPSECNAT_IN] = "in",
	[IPSECNAT_IKE] = "ike",
};

static void sas_show_dir(struct seq_file *seq, struct ipsecnat_net *in, enum ipsecnat_dir dir)
{
	struct rhashtable_iter iter;
	struct ipsecnat_sa *sa;
	unsigned long now = jiffies;

	rhashtable_walk_enter(&in->sas[dir], &iter);
	rhashtable_walk_start(&iter);
	while ((sa = rhashtable_walk_next(&iter)) != NULL) {
		const struct ipsecnat_flow *f;

		if (IS_ERR(sa)) {
			if (PTR_ERR(sa) == -EAGAIN)
				continue;
			break;
		}
		f = sa->flow;
		seq_printf(seq, "%s host=%pI4 peer=%pI4 pub=%pI4 ", dir_names[dir],
			   &f->key.host, &f->key.peer, &f->pub);
		if (dir == IPSECNAT_IKE)
			seq_printf(seq, "spi_i=0x%016llx spi_r=0x%016llx ",
				   ipsecnat_ike_spi(&sa->key.spi),
				   ipsecnat_ike_spi_r(sa));
		else
			seq_printf(seq, "spi=0x%08x ", ntohl(sa->key.spi));
		if (READ_ONCE(sa->host_port))
			seq_printf(seq, "ports=%u:%u ", ntohs(READ_ONCE(sa->host_port)),
				   ntohs(READ_ONCE(sa->peer_port)));
		seq_printf(seq, "state=%s age=%u idle=%u packets=%lld bytes=%lld\n",
			   ipsecnat_sa_pending(sa) ? "pending" : "established",
			   jiffies_to_msecs(now - sa->created) / 1000,
			   jiffies_to_msecs(now - READ_ONCE(sa->lastuse)) / 1000,
			   atomic64_read(&sa->packets), atomic64_read(&sa->bytes));
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
}

static int sas_show(struct seq_file *seq, void *v)
{
	struct ipsecnat_net *in = ipsecnat_pernet(seq_file_single_net(seq));
	int dir;

	for (dir = 0; dir < IPSECNAT_NR_DIRS; dir++)
		sas_show_dir(seq, in, dir);
	return 0;
}

int ipsecnat_proc_init(struct net *net)
{
	if (!proc_create_net_single("ipsecnat", 0440, net->proc_net, stats_show, NULL))
		return -ENOMEM;
	if (!proc_create_net_single("ipsecnat_sas", 0440, net->proc_net, sas_show, NULL)) {
		remove_proc_entry("ipsecnat", net->proc_net);
		return -ENOMEM;
	}
	return 0;
}

void ipsecnat_proc_exit(struct net *net)
{
	remove_proc_entry("ipsecnat_sas", net->proc_net);
	remove_proc_entry("ipsecnat", net->proc_net);
}
