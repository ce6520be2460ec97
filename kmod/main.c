// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecnat: IPsec-aware NAT. Module set-up, per-netns state, defaults.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include "ipsecnat.h"

/*
 * Defaults for new namespaces (changing them does not touch existing ones).
 * max_sas bounds memory (~200 bytes per SA with its share of flow/slot).
 * pending_window is how long one host may hold a (peer, public address)
 * pair while waiting for its first inbound SPI: a few round trips plus IKE
 * processing, short enough that a second host is held only briefly.
 * established_timeout matches conntrack's generic timeout (600 s); an SA is
 * kept past it anyway while it is its flow's newest and conntrack still
 * tracks the flow.
 */
struct ipsecnat_param {
	unsigned int *value;
	unsigned int max;	/* as the netlink policy allows; 0 is never valid */
};

static int ipsecnat_param_set(const char *val, const struct kernel_param *kp)
{
	const struct ipsecnat_param *p = kp->arg;
	unsigned int v;
	int err;

	err = kstrtouint(val, 0, &v);
	if (err)
		return err;
	if (!v || v > p->max)
		return -ERANGE;
	WRITE_ONCE(*p->value, v);
	return 0;
}

static int ipsecnat_param_get(char *buf, const struct kernel_param *kp)
{
	const struct ipsecnat_param *p = kp->arg;

	return sysfs_emit(buf, "%u\n", READ_ONCE(*p->value));
}

static const struct kernel_param_ops ipsecnat_param_ops = {
	.set = ipsecnat_param_set,
	.get = ipsecnat_param_get,
};

static unsigned int max_sas = 65536;
static struct ipsecnat_param max_sas_param = { &max_sas, 1 << 24 };
module_param_cb(max_sas, &ipsecnat_param_ops, &max_sas_param, 0644);
MODULE_PARM_DESC(max_sas, "SAs per network namespace (default 65536)");

static unsigned int max_sas_per_host = 1024;
static struct ipsecnat_param max_sas_per_host_param = { &max_sas_per_host, 1 << 24 };
module_param_cb(max_sas_per_host, &ipsecnat_param_ops, &max_sas_per_host_param, 0644);
MODULE_PARM_DESC(max_sas_per_host, "SAs per inside host (default 1024)");

static unsigned int pending_window = 5;
static struct ipsecnat_param pending_window_param = { &pending_window, 3600 };
module_param_cb(pending_window, &ipsecnat_param_ops, &pending_window_param, 0644);
MODULE_PARM_DESC(pending_window, "seconds one host's new SA may hold its (peer, address) turn (default 5)");

static unsigned int pending_timeout = 30;
static struct ipsecnat_param pending_timeout_param = { &pending_timeout, 86400 };
module_param_cb(pending_timeout, &ipsecnat_param_ops, &pending_timeout_param, 0644);
MODULE_PARM_DESC(pending_timeout, "idle seconds before an unanswered SA is dropped (default 30)");

static unsigned int established_timeout = 600;
static struct ipsecnat_param established_timeout_param = { &established_timeout, 604800 };
module_param_cb(established_timeout, &ipsecnat_param_ops, &established_timeout_param, 0644);
MODULE_PARM_DESC(established_timeout, "idle seconds before an answered SA is dropped (default 600)");

/* Namespaces other than the initial one may not raise their caps past this. */
unsigned int ipsecnat_default_max_sas(void)
{
	return READ_ONCE(max_sas);
}

unsigned int ipsecnat_net_id __read_mostly;
static bool module_loading;

static int __net_init ipsecnat_net_init(struct net *net)
{
	struct ipsecnat_net *in = ipsecnat_pernet(net);
	int err;

	in->net = net;
	/* at module load, modprobe's cgroup is nobody's: no charging then */
	in->memcg = module_loading ? NULL : get_mem_cgroup_from_mm(current->mm);
	spin_lock_init(&in->lock);
	in->glimpse_key = get_random_u32();
	ratelimit_state_init(&in->notify_rs, 5 * HZ, 10);
	in->set.max_sas = READ_ONCE(max_sas);
	in->set.max_sas_per_host = READ_ONCE(max_sas_per_host);
	in->set.pending_window = READ_ONCE(pending_window) * HZ;
	in->set.pending_timeout = READ_ONCE(pending_timeout) * HZ;
	in->set.established_timeout = READ_ONCE(established_timeout) * HZ;
	INIT_DELAYED_WORK(&in->gc_work, ipsecnat_gc_work);
	INIT_LIST_HEAD(&in->ike_held);
	INIT_DELAYED_WORK(&in->ike_release, ipsecnat_ike_release);
	ipsecnat_nat_init(in);

	in->stats = alloc_percpu(struct ipsecnat_stats);
	if (!in->stats) {
		err = -ENOMEM;
		goto err_stats;
	}
	err = ipsecnat_tables_init(in);
	if (err)
		goto err_tables;
	err = ipsecnat_proc_init(net);
	if (err)
		goto err_proc;
	err = ipsecnat_hooks_register(net);
	if (err)
		goto err_hooks;
	queue_delayed_work(system_power_efficient_wq, &in->gc_work, HZ);
	return 0;

err_hooks:
	ipsecnat_proc_exit(net);
err_proc:
	ipsecnat_tables_destroy(in);
err_tables:
	free_percpu(in->stats);
err_stats:
	mem_cgroup_put(in->memcg);
	return err;
}

/*
 * The core waits an RCU grace period between pre_exit and exit: hooks go
 * here, so that no packet is in one when exit frees what it reads (rmmod
 * frees the netns's state right after exit, with the netns still live).
 */
static void __net_exit ipsecnat_net_pre_exit(struct net *net)
{
	struct ipsecnat_net *in = ipsecnat_pernet(net);

	WRITE_ONCE(in->dying, true);
	ipsecnat_nat_pre_exit(in);
	ipsecnat_hooks_unregister(net);
}

static void __net_exit ipsecnat_net_exit(struct net *net)
{
	struct ipsecnat_net *in = ipsecnat_pernet(net);

	ipsecnat_nat_exit(in);
	cancel_delayed_work_sync(&in->gc_work);
	ipsecnat_gc_stop(in);
	ipsecnat_learn_exit(in);
	ipsecnat_proc_exit(net);
	ipsecnat_tables_destroy(in);
	free_percpu(in->stats);
	mem_cgroup_put(in->memcg);
}

static struct pernet_operations ipsecnat_net_ops = {
	.init = ipsecnat_net_init,
	.pre_exit = ipsecnat_net_pre_exit,
	.exit = ipsecnat_net_exit,
	.id = &ipsecnat_net_id,
	.size = sizeof(struct ipsecnat_net),
};

static int __init ipsecnat_init(void)
{
	int err;

	module_loading = true;
	err = register_pernet_subsys(&ipsecnat_net_ops);
	module_loading = false;
	if (err)
		return err;
	err = ipsecnat_genl_init();
	if (err)
		goto err_genl;
	err = ipsecnat_target_init();
	if (err)
		goto err_target;
	return 0;

err_target:
	ipsecnat_genl_exit();
err_genl:
	unregister_pernet_subsys(&ipsecnat_net_ops);
	return err;
}

static void __exit ipsecnat_exit(void)
{
	ipsecnat_target_exit();
	ipsecnat_genl_exit();
	unregister_pernet_subsys(&ipsecnat_net_ops);
	rcu_barrier();
}

module_init(ipsecnat_init);
module_exit(ipsecnat_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("ipsecnat developers");
MODULE_DESCRIPTION("IPsec-aware NAT: SPI-tracking ESP translation for gateways");
MODULE_ALIAS("ipt_IPSECNAT");
MODULE_VERSION("0.2");
