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
	[IPSECNAT_C_foreign_zone] = "foreign_zone",
	[IPSECNAT_C_local_spi_paced] = "local_spi_paced",
	[IPSECNAT_C_contested] = "contested",
	[IPSECNAT_C_ike_moved] = "ike_moved",
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

/*
 * /proc/net/ipsecnat_sas walks the three SA tables with one rhashtable
 * iterator kept across reads, so a big table is read in page-sized pieces,
 * each under RCU only briefly, without restarting the walk.
 */
struct sas_iter {
	struct ipsecnat_net *in;
	struct rhashtable_iter hti;
	int dir;
	bool entered;			/* hti is entered on sas[dir] */
};

static void sas_iter_leave(struct sas_iter *it)
{
	if (it->entered)
		rhashtable_walk_exit(&it->hti);
	it->entered = false;
}

/* Enter and start the walk of table @it->dir; RCU is held after it either way. */
static void sas_iter_enter(struct sas_iter *it)
	__acquires(RCU)
{
	if (it->dir >= IPSECNAT_NR_DIRS) {
		rcu_read_lock();	/* all walked: stop() releases this */
		return;
	}
	rhashtable_walk_enter(&it->in->sas[it->dir], &it->hti);
	it->entered = true;
	rhashtable_walk_start(&it->hti);
}

/* The next SA (or the current one again, @again), walking dir after dir. */
static struct ipsecnat_sa *sas_walk(struct sas_iter *it, bool again)
	__must_hold(RCU)
{
	struct ipsecnat_sa *sa;

	while (it->entered) {
		sa = again ? rhashtable_walk_peek(&it->hti) : rhashtable_walk_next(&it->hti);
		again = false;
		if (IS_ERR(sa) && PTR_ERR(sa) == -EAGAIN)
			continue;	/* resized: the walk goes on */
		if (!IS_ERR_OR_NULL(sa))
			return sa;
		rhashtable_walk_stop(&it->hti);
		sas_iter_leave(it);
		it->dir++;
		sas_iter_enter(it);
	}
	return NULL;
}

static void *sas_seq_start(struct seq_file *seq, loff_t *pos)
	__acquires(RCU)
{
	struct sas_iter *it = seq->private;

	if (!*pos) {
		sas_iter_leave(it);
		it->dir = 0;
		sas_iter_enter(it);
		return sas_walk(it, false);
	}
	if (!it->entered) {
		rcu_read_lock();
		return NULL;
	}
	/* the record the last read could not take comes again */
	rhashtable_walk_start(&it->hti);
	return sas_walk(it, true);
}

static void *sas_seq_next(struct seq_file *seq, void *v, loff_t *pos)
	__must_hold(RCU)
{
	++*pos;
	return sas_walk(seq->private, false);
}

static void sas_seq_stop(struct seq_file *seq, void *v)
	__releases(RCU)
{
	struct sas_iter *it = seq->private;

	if (it->entered)
		rhashtable_walk_stop(&it->hti);
	else
		rcu_read_unlock();
}

static int sas_seq_show(struct seq_file *seq, void *v)
{
	const struct ipsecnat_sa *sa = v;
	const struct ipsecnat_flow *f = sa->flow;
	unsigned long now = jiffies;

	seq_printf(seq, "%s host=%pI4 peer=%pI4 pub=%pI4 ", dir_names[sa->dir],
		   &f->key.host, &f->key.peer, &f->pub);
	if (sa->dir == IPSECNAT_IKE)
		seq_printf(seq, "spi_i=0x%016llx spi_r=0x%016llx ",
			   ipsecnat_ike_spi(&sa->key.spi), ipsecnat_ike_spi_r(sa));
	else
		seq_printf(seq, "spi=0x%08x ", ntohl(sa->key.spi));
	if (READ_ONCE(sa->host_port))
		seq_printf(seq, "ports=%u:%u ", ntohs(READ_ONCE(sa->host_port)),
			   ntohs(READ_ONCE(sa->peer_port)));
	seq_printf(seq, "state=%s age=%u idle=%u packets=%lld bytes=%lld\n",
		   ipsecnat_sa_pending(sa) ? "pending" : "established",
		   jiffies_to_msecs(now - sa->created) / 1000,
		   ipsecnat_sa_idle(sa, now),
		   atomic64_read(&sa->packets), atomic64_read(&sa->bytes));
	return 0;
}

static const struct seq_operations sas_seq_ops = {
	.start = sas_seq_start,
	.next = sas_seq_next,
	.stop = sas_seq_stop,
	.show = sas_seq_show,
};

static int sas_open(struct inode *inode, struct file *file)
{
	struct sas_iter *it = __seq_open_private(file, &sas_seq_ops, sizeof(*it));

	if (!it)
		return -ENOMEM;
	it->in = ipsecnat_pernet(pde_data(inode));
	return 0;
}

/*
 * A reader may close in the middle of a walk: leave it (it is on the
 * table's list). Removing the entry at netns exit runs this for files
 * still open, before the tables go.
 */
static int sas_release(struct inode *inode, struct file *file)
{
	sas_iter_leave(((struct seq_file *)file->private_data)->private);
	return seq_release_private(inode, file);
}

static const struct proc_ops sas_proc_ops = {
	.proc_open = sas_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = sas_release,
};

int ipsecnat_proc_init(struct net *net)
{
	if (!proc_create_net_single("ipsecnat", 0440, net->proc_net, stats_show, NULL))
		return -ENOMEM;
	if (!proc_create_data("ipsecnat_sas", 0440, net->proc_net, &sas_proc_ops, net)) {
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
