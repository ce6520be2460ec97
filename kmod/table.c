// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecnat binding tables: SAs, flows, slots, hosts and forwards of one
 * netns, and their garbage collector. Who owns an inbound SPI is decided
 * in learn.c; this file only stores what it decides.
 *
 * Readers (the packet path) use RCU only. Every change takes the netns lock;
 * that lock is per namespace and is taken only when state changes (a new SA,
 * a learned SPI, a claim that changes hands), never for a known SA.
 */
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/error-injection.h>
#include <linux/jhash.h>
#include <net/netlink.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_zones.h>
#include "ipsecnat.h"

static const struct rhashtable_params sa_params = {
	.head_offset = offsetof(struct ipsecnat_sa, node),
	.key_offset = offsetof(struct ipsecnat_sa, key),
	.key_len = sizeof_field(struct ipsecnat_sa, key),
	.automatic_shrinking = true,
};

static const struct rhashtable_params flow_params = {
	.head_offset = offsetof(struct ipsecnat_flow, node),
	.key_offset = offsetof(struct ipsecnat_flow, key),
	.key_len = sizeof_field(struct ipsecnat_flow, key),
	.automatic_shrinking = true,
};

static const struct rhashtable_params slot_params = {
	.head_offset = offsetof(struct ipsecnat_slot, node),
	.key_offset = offsetof(struct ipsecnat_slot, key),
	.key_len = sizeof_field(struct ipsecnat_slot, key),
	.automatic_shrinking = true,
};

static const struct rhashtable_params host_params = {
	.head_offset = offsetof(struct ipsecnat_host, node),
	.key_offset = offsetof(struct ipsecnat_host, addr),
	.key_len = sizeof_field(struct ipsecnat_host, addr),
	.automatic_shrinking = true,
};

static const struct rhashtable_params fwd_params = {
	.head_offset = offsetof(struct ipsecnat_fwd, node),
	.key_offset = offsetof(struct ipsecnat_fwd, pub),
	.key_len = sizeof_field(struct ipsecnat_fwd, pub),
	.automatic_shrinking = true,
};

int ipsecnat_tables_init(struct ipsecnat_net *in)
{
	int err, dir;

	for (dir = 0; dir < IPSECNAT_NR_DIRS; dir++) {
		err = rhashtable_init(&in->sas[dir], &sa_params);
		if (err)
			goto err_sas;
	}
	err = rhashtable_init(&in->flows, &flow_params);
	if (err)
		goto err_flows;
	err = rhashtable_init(&in->slots, &slot_params);
	if (err)
		goto err_slots;
	err = rhashtable_init(&in->hosts, &host_params);
	if (err)
		goto err_hosts;
	err = rhashtable_init(&in->fwds, &fwd_params);
	if (err)
		goto err_fwds;
	return 0;

err_fwds:
	rhashtable_destroy(&in->hosts);
err_hosts:
	rhashtable_destroy(&in->slots);
err_slots:
	rhashtable_destroy(&in->flows);
err_flows:
	dir = IPSECNAT_NR_DIRS;
err_sas:
	while (dir--)
		rhashtable_destroy(&in->sas[dir]);
	return err;
}

static void free_entry(void *ptr, void *arg)
{
	kfree(ptr);
}

static void slot_destroy(struct ipsecnat_slot *s);

static void free_slot_entry(void *ptr, void *arg)
{
	slot_destroy(ptr);
}

/* Called after the hooks are gone and an RCU grace period has passed. */
void ipsecnat_tables_destroy(struct ipsecnat_net *in)
{
	int dir;

	for (dir = 0; dir < IPSECNAT_NR_DIRS; dir++)
		rhashtable_free_and_destroy(&in->sas[dir], free_entry, NULL);
	rhashtable_free_and_destroy(&in->flows, free_entry, NULL);
	rhashtable_free_and_destroy(&in->slots, free_slot_entry, NULL);
	rhashtable_free_and_destroy(&in->hosts, free_entry, NULL);
	rhashtable_free_and_destroy(&in->fwds, free_entry, NULL);
}

struct ipsecnat_sa *ipsecnat_sa_lookup(struct ipsecnat_net *in, enum ipsecnat_dir dir,
				       __be32 pub, __be32 peer, __be32 spi)
{
	struct ipsecnat_sa_key key = { .pub = pub, .peer = peer, .spi = spi };

	return rhashtable_lookup(&in->sas[dir], &key, sa_params);
}

struct ipsecnat_sa *ipsecnat_ike_lookup(struct ipsecnat_net *in, __be32 pub, __be32 peer,
					const __be32 *spi_i)
{
	struct ipsecnat_sa_key key = {
		.pub = pub, .peer = peer, .spi = spi_i[0], .spi2 = spi_i[1],
	};

	return rhashtable_lookup(&in->sas[IPSECNAT_IKE], &key, sa_params);
}

struct ipsecnat_flow *ipsecnat_flow_lookup(struct ipsecnat_net *in, __be32 host, __be32 peer)
{
	struct ipsecnat_flow_key key = { .host = host, .peer = peer };

	return rhashtable_lookup(&in->flows, &key, flow_params);
}

struct ipsecnat_slot *ipsecnat_slot_lookup(struct ipsecnat_net *in, __be32 peer, __be32 pub)
{
	struct ipsecnat_slot_key key = { .peer = peer, .pub = pub };

	return rhashtable_lookup(&in->slots, &key, slot_params);
}

struct ipsecnat_fwd *ipsecnat_fwd_lookup(struct ipsecnat_net *in, __be32 pub)
{
	return rhashtable_lookup(&in->fwds, &pub, fwd_params);
}

/*
 * An outbound SA is answered once its flow learned an inbound SA after it,
 * or if its inbound SA came first (the peer spoke first: see create_out).
 */
bool ipsecnat_sa_answered(const struct ipsecnat_sa *sa)
{
	return sa->paired || READ_ONCE(sa->flow->learn_gen) > sa->gen;
}

/*
 * Pending: an outbound SA not answered yet, an IKE SA whose inside host
 * has not used a responder SPI yet (or, learned from the peer, not spoken
 * on yet), or an inbound SA a forward gave to a
 * server that never answered. Pending SAs live pending_timeout.
 */
bool ipsecnat_sa_pending(const struct ipsecnat_sa *sa)
{
	switch (sa->dir) {
	case IPSECNAT_OUT:
		return !ipsecnat_sa_answered(sa);
	case IPSECNAT_IN:
		return READ_ONCE(sa->flow->fwd_unanswered) || !ipsecnat_in_confirmed(sa);
	case IPSECNAT_IKE:
		return !ipsecnat_ike_spi_r(sa) || READ_ONCE(sa->unconfirmed) ||
		       READ_ONCE(sa->flow->fwd_unanswered);
	}
	return false;
}

/*
 * Table entries are made in softirq, where no task is there to charge:
 * charge them to the memory cgroup of the namespace's maker, so that a
 * container's gateway pays for its own table. Not GFP_ATOMIC: its reserve
 * flag lets a charge pass the cgroup's limit; failures count no_memory.
 */
void *ipsecnat_zalloc(struct ipsecnat_net *in, size_t size)
{
	struct mem_cgroup *old = set_active_memcg(in->memcg);
	void *p = kzalloc(size, GFP_NOWAIT | __GFP_NOWARN | __GFP_ACCOUNT);

	set_active_memcg(old);
	return p;
}

/* the fault-injection test fails it at will (fail_function, debug kernel) */
ALLOW_ERROR_INJECTION(ipsecnat_zalloc, NULL);

static struct ipsecnat_host *host_get(struct ipsecnat_net *in, __be32 addr)
{
	struct ipsecnat_host *h;

	h = rhashtable_lookup(&in->hosts, &addr, host_params);
	if (h)
		return h;
	h = ipsecnat_zalloc(in, sizeof(*h));
	if (!h)
		return NULL;
	h->addr = addr;
	if (rhashtable_insert_fast(&in->hosts, &h->node, host_params)) {
		kfree(h);
		return NULL;
	}
	return h;
}

static void host_put(struct ipsecnat_net *in, struct ipsecnat_host *h)
{
	if (h->nr_sas)
		return;
	rhashtable_remove_fast(&in->hosts, &h->node, host_params);
	kfree_rcu(h, rcu);
}

static struct ipsecnat_slot *slot_get(struct ipsecnat_net *in, __be32 peer, __be32 pub)
{
	struct ipsecnat_slot *s;

	s = ipsecnat_slot_lookup(in, peer, pub);
	if (s)
		return s;
	s = ipsecnat_zalloc(in, sizeof(*s));
	if (!s)
		return NULL;
	s->key.peer = peer;
	s->key.pub = pub;
	if (rhashtable_insert_fast(&in->slots, &s->node, slot_params)) {
		kfree(s);
		return NULL;
	}
	return s;
}

static void slot_destroy(struct ipsecnat_slot *s)
{
	kfree(rcu_access_pointer(s->strangers));
	kfree(s);
}

static void slot_free_rcu(struct rcu_head *head)
{
	slot_destroy(container_of(head, struct ipsecnat_slot, rcu));
}

static void slot_put(struct ipsecnat_net *in, struct ipsecnat_slot *s)
{
	if (s->nr_flows)
		return;
	rhashtable_remove_fast(&in->slots, &s->node, slot_params);
	call_rcu(&s->rcu, slot_free_rcu);
}

/* A slot a new flow can take without waiting for anyone. */
static bool slot_free(struct ipsecnat_net *in, __be32 peer, __be32 pub)
{
	struct ipsecnat_slot *s = ipsecnat_slot_lookup(in, peer, pub);

	return !s || !s->nr_flows;
}

static bool slot_unclaimed(struct ipsecnat_net *in, __be32 peer, __be32 pub)
{
	struct ipsecnat_slot *s = ipsecnat_slot_lookup(in, peer, pub);

	return !s || !s->out_turn.flow;
}

/*
 * Pick the public address of a new flow from the pool: one no other host
 * uses toward this peer, else one where nobody is learning, else the first.
 * The search starts at a per-host offset so hosts spread over the pool.
 */
static __be32 choose_pub(struct ipsecnat_net *in, __be32 host, __be32 peer,
			 const struct ipsecnat_pool *pool)
{
	u32 lo = ntohl(pool->min_addr), n = ntohl(pool->max_addr) - lo + 1;
	u32 start = jhash_1word((__force u32)host, 0) % n, i;
	__be32 a;

	for (i = 0; i < n; i++) {
		a = htonl(lo + (start + i) % n);
		if (slot_free(in, peer, a))
			return a;
	}
	for (i = 0; i < n; i++) {
		a = htonl(lo + (start + i) % n);
		if (slot_unclaimed(in, peer, a))
			return a;
	}
	return htonl(lo + start);
}

static struct ipsecnat_flow *flow_create(struct ipsecnat_net *in, __be32 host, __be32 peer,
					 __be32 pub, struct ipsecnat_host *hostent)
{
	struct ipsecnat_slot *slot;
	struct ipsecnat_flow *f;

	slot = slot_get(in, peer, pub);
	if (!slot)
		return NULL;
	f = ipsecnat_zalloc(in, sizeof(*f));
	if (!f)
		goto err;
	f->key.host = host;
	f->key.peer = peer;
	f->pub = pub;
	f->slot = slot;
	f->hostent = hostent;
	if (rhashtable_insert_fast(&in->flows, &f->node, flow_params)) {
		kfree(f);
		goto err;
	}
	hlist_add_head_rcu(&f->slot_list, &slot->flows);
	WRITE_ONCE(slot->nr_flows, slot->nr_flows + 1);
	return f;
err:
	slot_put(in, slot);
	return NULL;
}

static void flow_put(struct ipsecnat_net *in, struct ipsecnat_flow *f)
{
	struct ipsecnat_slot *slot = f->slot;

	if (f->nr_sas)
		return;
	/* readers under RCU may still hold it: they check ->dead under the lock */
	f->dead = true;
	ipsecnat_learn_flow_gone(in, f);
	if (f->fwd_unanswered)
		f->hostent->nr_fwd_unanswered--;
	hlist_del_rcu(&f->slot_list);
	WRITE_ONCE(slot->nr_flows, slot->nr_flows - 1);
	rhashtable_remove_fast(&in->flows, &f->node, flow_params);
	kfree_rcu(f, rcu);
	slot_put(in, slot);
}

/*
 * The flow of (host, peer), created on @pub if new; NULL if it is bound to
 * another address or memory ran out. Release with flow_put + host_put.
 */
struct ipsecnat_flow *ipsecnat_flow_get(struct ipsecnat_net *in, __be32 host, __be32 peer,
					__be32 pub)
{
	struct ipsecnat_host *hostent = host_get(in, host);
	struct ipsecnat_flow *f;

	if (!hostent)
		return NULL;
	f = ipsecnat_flow_lookup(in, host, peer);
	if (!f)
		f = flow_create(in, host, peer, pub, hostent);
	if (f && f->pub == pub)
		return f;
	if (f)
		flow_put(in, f);
	host_put(in, hostent);
	return NULL;
}

/* A forward's client was answered: it no longer counts against the server. */
void ipsecnat_fwd_answered(struct ipsecnat_net *in, struct ipsecnat_flow *f)
{
	lockdep_assert_held(&in->lock);
	if (!f->fwd_unanswered || f->dead)
		return;
	WRITE_ONCE(f->fwd_unanswered, false);
	f->hostent->nr_fwd_unanswered--;
}

/* The same, from the packet path. */
void ipsecnat_fwd_client_answered(struct ipsecnat_net *in, struct ipsecnat_flow *f)
{
	spin_lock_bh(&in->lock);
	ipsecnat_fwd_answered(in, f);
	spin_unlock_bh(&in->lock);
}

void ipsecnat_flow_release(struct ipsecnat_net *in, struct ipsecnat_flow *f)
{
	struct ipsecnat_host *h = f->hostent;

	flow_put(in, f);
	host_put(in, h);
}

/* Caps and allocation of a new SA for @f; under the netns lock. */
struct ipsecnat_sa *ipsecnat_sa_new(struct ipsecnat_net *in, struct ipsecnat_flow *f,
				    enum ipsecnat_dir dir, const struct ipsecnat_sa_key *key,
				    const struct ipsecnat_ports *ports, unsigned int flags)
{
	__be32 peer = key->peer, spi = key->spi;
	struct ipsecnat_sa *sa;

	if (atomic_read(&in->nr_sas) >= in->set.max_sas ||
	    f->hostent->nr_sas >= in->set.max_sas_per_host) {
		ipsecnat_count(in, atomic_read(&in->nr_sas) >= in->set.max_sas ?
			       IPSECNAT_C_cap_netns : IPSECNAT_C_cap_host);
		if (ipsecnat_notify_ratelimit(in))
			ipsecnat_notify(in, IPSECNAT_EV_REFUSED, dir, f->key.host, peer, spi);
		return NULL;
	}
	/* only IKE SAs carry a responder SPI: ESP SAs stay small */
	sa = ipsecnat_zalloc(in, dir == IPSECNAT_IKE ? sizeof(struct ipsecnat_ike) : sizeof(*sa));
	if (!sa)
		goto nomem;
	sa->key = *key;
	if (ports) {
		sa->host_port = ports->host;
		sa->peer_port = ports->peer;
	}
	sa->dir = dir;
	sa->flow = f;
	sa->gen = in->gen + 1;
	sa->created = jiffies;
	sa->lastuse = sa->created;
	/* readers on other CPUs see the SA whole once it is in the table */
	sa->unconfirmed = !!(flags & (IPSECNAT_SA_UNCONFIRMED | IPSECNAT_SA_WEAK));
	sa->weak = !!(flags & IPSECNAT_SA_WEAK);
	/*
	 * An inbound SA learned without this host's claim (peer-first rekey,
	 * a forward, a static SPI) is the pair of its next outbound SA, which
	 * is then answered at once.
	 */
	if (dir == IPSECNAT_OUT)
		sa->paired = f->in_unpaired;
	if (rhashtable_insert_fast(&in->sas[dir], &sa->node, sa_params)) {
		kfree(sa);
		goto nomem;
	}
	in->gen++;
	if (dir == IPSECNAT_OUT) {
		WRITE_ONCE(f->out_owed, !sa->paired);
		f->in_unpaired = false;
		f->nr_unconfirmed = 0;	/* earlier inbound SAs are confirmed now */
		WRITE_ONCE(f->out_gen, sa->gen);
		ipsecnat_fwd_answered(in, f);	/* the server answered its client */
	}
	f->nr_sas++;
	f->hostent->nr_sas++;
	atomic_inc(&in->nr_sas);
	return sa;
nomem:
	ipsecnat_count(in, IPSECNAT_C_no_memory);
	return NULL;
}

static bool sa_del(struct ipsecnat_net *in, struct ipsecnat_sa *sa)
{
	struct ipsecnat_flow *f = sa->flow;
	struct ipsecnat_host *h = f->hostent;

	if (rhashtable_remove_fast(&in->sas[sa->dir], &sa->node, sa_params))
		return false;	/* already gone */
	atomic_dec(&in->nr_sas);
	f->nr_sas--;
	h->nr_sas--;
	if (sa->weak)
		f->nr_weak--;
	if (sa->dir == IPSECNAT_IKE && sa->unconfirmed) {
		f->nr_ike_unconfirmed--;
		WRITE_ONCE(sa->unconfirmed, false);	/* counted out once */
	}
	kfree_rcu(sa, rcu);
	flow_put(in, f);
	host_put(in, h);
	return true;
}

/*
 * The flow of (host, peer) for a new outbound SA, created on an address of
 * @pool if new. NULL (counted) if memory ran out. Under the netns lock;
 * release with flow_release.
 */
struct ipsecnat_flow *ipsecnat_flow_for_out(struct ipsecnat_net *in, __be32 host,
					    __be32 peer, const struct ipsecnat_pool *pool)
{
	struct ipsecnat_host *hostent = host_get(in, host);
	struct ipsecnat_flow *f;
	__be32 pub;

	if (!hostent) {
		ipsecnat_count(in, IPSECNAT_C_no_memory);
		return NULL;
	}
	f = ipsecnat_flow_lookup(in, host, peer);
	if (!f) {
		pub = choose_pub(in, host, peer, pool);
		/* inbound ESP to an address that is only routed here cannot be told from transit */
		if (inet_addr_type(in->net, pub) != RTN_LOCAL) {
			ipsecnat_count(in, IPSECNAT_C_no_address);
			pr_info_ratelimited("IPSECNAT: %pI4 is not an address of this box; assign pool addresses to the WAN interface\n",
					    &pub);
			host_put(in, hostent);
			return NULL;
		}
		f = flow_create(in, host, peer, pub, hostent);
	}
	if (!f) {
		ipsecnat_count(in, IPSECNAT_C_no_memory);
		host_put(in, hostent);
	}
	return f;
}

/*
 * First outbound packet of ESP SA (peer, spi) from @host; @ports are its UDP
 * ports when encapsulated (NAT-T), else NULL; @in_use if its sequence
 * number shows the SA was in use before the gateway saw it. On IPSECNAT_OK *res is the SA
 * to translate with. Runs in softirq context.
 */
enum ipsecnat_result ipsecnat_sa_create_out(struct ipsecnat_net *in, __be32 host,
					    __be32 peer, __be32 spi,
					    const struct ipsecnat_ports *ports, bool in_use,
					    const struct ipsecnat_pool *pool,
					    struct ipsecnat_sa **res)
{
	struct ipsecnat_sa_key key = { .peer = peer, .spi = spi };
	enum ipsecnat_result ret = IPSECNAT_REFUSE;
	struct ipsecnat_flow *f;
	struct ipsecnat_sa *sa;

	spin_lock_bh(&in->lock);
	sa = ipsecnat_sa_lookup(in, IPSECNAT_OUT, 0, peer, spi);
	if (sa) {		/* another CPU was first */
		*res = sa;
		ret = IPSECNAT_OK;
		goto out;
	}
	if (atomic_read(&in->nr_sas) >= in->set.max_sas) {
		ipsecnat_count(in, IPSECNAT_C_cap_netns);
		goto out;
	}
	f = ipsecnat_flow_for_out(in, host, peer, pool);
	if (!f)
		goto out;
	if (!ipsecnat_learn_out_allowed(in, f, in_use)) {
		WRITE_ONCE(f->slot->held_back_at, jiffies ?: 1);
		ipsecnat_count(in, IPSECNAT_C_held_back);
		if (ipsecnat_notify_ratelimit(in))
			ipsecnat_notify(in, IPSECNAT_EV_HELD, IPSECNAT_OUT, host, peer, spi);
		ret = IPSECNAT_HOLD;
	} else {
		ipsecnat_learn_out_started(f);
		sa = ipsecnat_sa_new(in, f, IPSECNAT_OUT, &key, ports, 0);
		if (sa) {
			ipsecnat_learn_out_created(in, f, sa->paired, in_use);
			ipsecnat_notify_sa(in, IPSECNAT_EV_CREATED, sa);
			*res = sa;
			ret = IPSECNAT_OK;
		}
	}
	ipsecnat_flow_release(in, f);	/* frees a flow left without SAs */
out:
	spin_unlock_bh(&in->lock);
	return ret;
}

/*
 * Outbound IKE message of IKE SA @spi_i from @host to @peer: the SA, made on
 * the flow's address if new. IKE needs no claim: the initiator SPI names the
 * SA in both directions. IPSECNAT_REFUSE if another host owns the SPI.
 */
enum ipsecnat_result ipsecnat_ike_create_out(struct ipsecnat_net *in, __be32 host,
					     __be32 peer, const __be32 *spi_i, u64 spi_r,
					     const struct ipsecnat_ports *ports,
					     const struct ipsecnat_pool *pool,
					     struct ipsecnat_sa **res)
{
	struct ipsecnat_sa_key key = { .peer = peer, .spi = spi_i[0], .spi2 = spi_i[1] };
	struct ipsecnat_flow *f;
	struct ipsecnat_sa *sa;

	*res = NULL;
	spin_lock_bh(&in->lock);
	f = ipsecnat_flow_for_out(in, host, peer, pool);
	if (!f)
		goto out;
	key.pub = f->pub;
	sa = ipsecnat_ike_lookup(in, f->pub, peer, spi_i);
	if (sa && sa->flow != f && sa->unconfirmed && spi_r && spi_r == ipsecnat_ike_spi_r(sa)) {
		/*
		 * The peer's new IKE SA went to another host, which never
		 * spoke on it: this host does, sealed, with both SPIs (its
		 * own responder SPI too), so the SA is its own.
		 */
		ipsecnat_count(in, IPSECNAT_C_ike_moved);
		ipsecnat_sa_unlearn(in, sa);
		sa = NULL;
	}
	if (sa && sa->flow != f) {
		ipsecnat_count(in, IPSECNAT_C_spi_conflict);
		sa = NULL;
	} else if (!sa) {
		sa = ipsecnat_sa_new(in, f, IPSECNAT_IKE, &key, ports, 0);
		if (sa) {
			ipsecnat_learn_ike_sa_new(f);
			ipsecnat_notify_sa(in, IPSECNAT_EV_CREATED, sa);
		}
	}
	*res = sa;
	ipsecnat_flow_release(in, f);
out:
	spin_unlock_bh(&in->lock);
	return *res ? IPSECNAT_OK : IPSECNAT_REFUSE;
}

int ipsecnat_fwd_add(struct ipsecnat_net *in, __be32 pub, __be32 server)
{
	struct ipsecnat_fwd *fwd;
	int err;

	fwd = kzalloc(sizeof(*fwd), GFP_KERNEL);
	if (!fwd)
		return -ENOMEM;
	fwd->pub = pub;
	fwd->server = server;
	spin_lock_init(&fwd->strangers.lock);
	spin_lock_bh(&in->lock);
	if (atomic_read(&in->fwds.nelems) >= IPSECNAT_MAX_FWDS)
		err = -ENOSPC;
	else
		err = rhashtable_lookup_insert_fast(&in->fwds, &fwd->node, fwd_params);
	spin_unlock_bh(&in->lock);
	if (err)
		kfree(fwd);
	return err;
}

int ipsecnat_fwd_del(struct ipsecnat_net *in, __be32 pub)
{
	struct ipsecnat_fwd *fwd;
	int err = -ENOENT;

	rcu_read_lock();
	spin_lock_bh(&in->lock);
	fwd = rhashtable_lookup(&in->fwds, &pub, fwd_params);
	if (fwd && !rhashtable_remove_fast(&in->fwds, &fwd->node, fwd_params)) {
		kfree_rcu(fwd, rcu);
		err = 0;
	}
	spin_unlock_bh(&in->lock);
	rcu_read_unlock();
	return err;
}

/*
 * Add one SA by command: a static binding, or one imported from another
 * gateway, in the state given and nothing else: an established outbound SA
 * is answered (paired), a pending one is not; a pending inbound SA is weak
 * (see learn.c: its traffic is no evidence, and only a new outbound SA of
 * its host within LEARN_LATE confirms it); a pending IKE SA with a
 * responder SPI is unconfirmed. An importer adds established inbound SAs,
 * then outbound ones, then pending inbound ones, so that each keeps its
 * state. With @s->replace, an SA with the same key goes first, in the same
 * flow (its learning state stays); refused for the address, it stays.
 */
int ipsecnat_sa_add(struct ipsecnat_net *in, const struct ipsecnat_sa_spec *s,
		    struct netlink_ext_ack *extack)
{
	struct ipsecnat_sa_key key = {
		.pub = s->dir == IPSECNAT_OUT ? 0 : s->pub, .peer = s->peer,
		.spi = s->spi[0], .spi2 = s->spi[1],
	};
	bool unconfirmed = !s->established && s->dir != IPSECNAT_OUT &&
			   (s->dir == IPSECNAT_IN || s->spi_r);
	struct ipsecnat_flow *f;
	struct ipsecnat_sa *sa;
	bool unpaired;
	int err = 0;

	/* the collector would keep a static SA pending for ever */
	if (s->is_static && unconfirmed) {
		NL_SET_ERR_MSG(extack, "a static SA cannot be pending");
		return -EINVAL;
	}
	rcu_read_lock();	/* the lookups; the lock orders the writes */
	spin_lock_bh(&in->lock);
	sa = rhashtable_lookup(&in->sas[s->dir], &key, sa_params);
	if (sa && !s->replace) {
		NL_SET_ERR_MSG(extack, "an SA with this SPI exists");
		err = -EEXIST;
		goto out;
	}
	f = ipsecnat_flow_get(in, s->host, s->peer, s->pub);
	if (!f) {
		NL_SET_ERR_MSG(extack,
			       "host is bound to another public address toward this peer, or no memory");
		err = -EBUSY;
		goto out;
	}
	if (sa) {
		f->nr_sas++;	/* keeps the flow (and its state) if sa was its only SA */
		if (sa_del(in, sa))
			ipsecnat_notify_sa(in, IPSECNAT_EV_DELETED, sa);
		f->nr_sas--;
	}
	unpaired = f->in_unpaired;
	if (s->dir == IPSECNAT_OUT)
		f->in_unpaired = s->established;	/* sa_new pairs it: answered */
	/* a pending inbound SA comes back weak: its host's word may never come */
	sa = ipsecnat_sa_new(in, f, s->dir, &key, s->ports.host ? &s->ports : NULL,
			     !unconfirmed ? 0 : s->dir == IPSECNAT_IN ? IPSECNAT_SA_WEAK :
			     IPSECNAT_SA_UNCONFIRMED);
	if (!sa) {
		f->in_unpaired = unpaired;
		NL_SET_ERR_MSG(extack, "SA table full (max-sas or max-sas-per-host)");
		err = -ENOSPC;
	} else {
		sa->is_static = s->is_static;
		if (s->dir == IPSECNAT_IKE) {
			WRITE_ONCE(ipsecnat_ike(sa)->spi_r, s->spi_r);
			if (unconfirmed)
				f->nr_ike_unconfirmed++;
		} else if (s->dir == IPSECNAT_IN && unconfirmed) {
			f->nr_weak++;	/* as learn.c's bind() makes them */
			f->weak_at = jiffies;
			f->weak_gen = sa->gen;
		} else if (s->dir == IPSECNAT_IN) {
			WRITE_ONCE(f->learn_gen, sa->gen);
			f->in_unpaired = true;
		} else if (s->established) {
			WRITE_ONCE(f->learn_gen, ++in->gen);
		}
		ipsecnat_notify_sa(in, IPSECNAT_EV_ADDED, sa);
	}
	ipsecnat_flow_release(in, f);
out:
	spin_unlock_bh(&in->lock);
	rcu_read_unlock();
	return err;
}

/*
 * Does conntrack still track the flow's traffic of the kind @sa is: ESP
 * between host and peer, or UDP between their ports? NAT-keepalives keep
 * the UDP entry, and so the newest SAs, alive.
 */
static bool flow_tracked(struct ipsecnat_net *in, const struct ipsecnat_sa *sa)
{
	const struct ipsecnat_flow *f = sa->flow;
	struct nf_conntrack_tuple t = {};
	struct nf_conntrack_tuple_hash *h;

	t.src.l3num = NFPROTO_IPV4;
	t.src.u3.ip = f->key.host;
	t.dst.u3.ip = f->key.peer;
	t.dst.protonum = IPPROTO_ESP;
	if (sa->host_port) {
		t.dst.protonum = IPPROTO_UDP;
		t.src.u.udp.port = sa->host_port;
		t.dst.u.udp.port = sa->peer_port;
	}
	t.dst.dir = IP_CT_DIR_ORIGINAL;
	h = nf_conntrack_find_get(in->net, &nf_ct_zone_dflt, &t);
	if (!h)
		return false;
	nf_ct_put(nf_ct_tuplehash_to_ctrack(h));
	return true;
}

static bool sa_expired(struct ipsecnat_net *in, const struct ipsecnat_sa *sa, const void *arg)
{
	unsigned long lastuse = READ_ONCE(sa->lastuse);
	struct ipsecnat_flow *f = sa->flow;

	if (sa->is_static)
		return false;
	/* traffic a WAN sender forges keeps no unconfirmed IKE SA alive */
	if (sa->dir == IPSECNAT_IKE && READ_ONCE(sa->unconfirmed))
		return time_after(jiffies, sa->created + READ_ONCE(in->set.pending_timeout));
	/* ... nor holds one of a forward's places for clients not yet answered */
	if (READ_ONCE(f->fwd_unanswered))
		return time_after(jiffies, sa->created + READ_ONCE(in->set.pending_timeout));
	/* jiffies now, not when the run began: the SA may have been used since */
	if (ipsecnat_sa_pending(sa))
		return time_after(jiffies, lastuse + READ_ONCE(in->set.pending_timeout));
	if (!time_after(jiffies, lastuse + READ_ONCE(in->set.established_timeout)))
		return false;
	if (READ_ONCE(f->last_spi[sa->dir]) != sa->key.spi)
		return true;
	/*
	 * The newest SA of a flow conntrack still tracks stays; the newest
	 * IKE SA also while its flow has ESP SAs: IKE is quiet for hours
	 * between rekeys, and the peer may be the one to start the next.
	 */
	if (sa->dir == IPSECNAT_IKE && READ_ONCE(f->nr_sas) > 1)
		return false;
	return !flow_tracked(in, sa);
}

/*
 * Undo learned inbound SA @sa: learn.c found its binding contested. Under
 * the netns lock; its flow may go with it.
 */
void ipsecnat_sa_unlearn(struct ipsecnat_net *in, struct ipsecnat_sa *sa)
{
	/* still readable: freed after an RCU grace period */
	if (sa_del(in, sa))
		ipsecnat_notify_sa(in, IPSECNAT_EV_DELETED, sa);
}

#define IPSECNAT_SWEEP_BATCH	1024
#define IPSECNAT_SWEEP_PASSES	4

/*
 * Remove one SA met by a walk (under RCU) if @match still picks it under
 * the lock (a packet may have used it since), counting it under @counter
 * (none when IPSECNAT_C_MAX); true if this call removed it.
 */
static bool sweep_one(struct ipsecnat_net *in, struct ipsecnat_sa *sa,
		      ipsecnat_match_fn match, const void *arg,
		      enum ipsecnat_counter counter)
{
	bool gone;

	spin_lock_bh(&in->lock);
	gone = match(in, sa, arg) && sa_del(in, sa);
	if (gone) {
		/* still readable: freed after an RCU grace period */
		ipsecnat_notify_sa(in, counter == IPSECNAT_C_expired ?
				   IPSECNAT_EV_EXPIRED : IPSECNAT_EV_DELETED, sa);
		if (counter < IPSECNAT_C_MAX)
			ipsecnat_count(in, counter);
	}
	spin_unlock_bh(&in->lock);
	return gone;
}

/*
 * Walk @iter, removing what @match picks, for at most @budget SAs;
 * returns false while the table has more to walk.
 */
static bool sweep_walk(struct ipsecnat_net *in, struct rhashtable_iter *iter,
		       ipsecnat_match_fn match, const void *arg,
		       enum ipsecnat_counter counter, unsigned int *budget, unsigned int *n)
{
	struct ipsecnat_sa *sa;
	bool done = false, gone = false;

	rhashtable_walk_start(iter);
	/*
	 * Never stop right after removing the SA the walk stands on: resumed
	 * from an SA no longer there, it would skip that SA's bucket mates.
	 */
	while (*budget || gone) {
		sa = rhashtable_walk_next(iter);
		if (IS_ERR(sa) && PTR_ERR(sa) == -EAGAIN)
			continue;	/* table resized: walk goes on */
		if (IS_ERR_OR_NULL(sa)) {
			done = true;
			break;
		}
		if (*budget)
			(*budget)--;
		gone = match(in, sa, arg) && sweep_one(in, sa, match, arg, counter);
		if (gone)
			(*n)++;
	}
	rhashtable_walk_stop(iter);
	return done;
}

/*
 * Remove the SAs @match picks from every table, in batches that each hold
 * RCU only briefly; process context.
 */
unsigned int ipsecnat_sweep(struct ipsecnat_net *in, ipsecnat_match_fn match,
			    const void *arg, enum ipsecnat_counter counter)
{
	struct rhashtable_iter iter;
	unsigned int n = 0, pass, passes = 0, budget;
	bool done;
	int dir;

	/*
	 * SAs the packet path or GC removes under the walk may still make it
	 * skip a few: walk again until a pass removes nothing (bounded:
	 * traffic may make new SAs that match all along).
	 */
	do {
		pass = 0;
		for (dir = 0; dir < IPSECNAT_NR_DIRS; dir++) {
			rhashtable_walk_enter(&in->sas[dir], &iter);
			do {
				budget = IPSECNAT_SWEEP_BATCH;
				done = sweep_walk(in, &iter, match, arg, counter, &budget, &pass);
				cond_resched();
			} while (!done);
			rhashtable_walk_exit(&iter);
		}
		n += pass;
	} while (pass && ++passes < IPSECNAT_SWEEP_PASSES);
	return n;
}

/*
 * The garbage collector looks at IPSECNAT_GC_BATCH SAs per run and goes on
 * from there in the next, so a big table costs many short runs instead of
 * one long walk holding RCU; a full pass starts once a second.
 */
#define IPSECNAT_GC_BATCH	2048

void ipsecnat_gc_work(struct work_struct *work)
{
	struct ipsecnat_net *in = container_of(to_delayed_work(work),
					       struct ipsecnat_net, gc_work);
	unsigned int budget = IPSECNAT_GC_BATCH, n = 0;
	unsigned long delay = 1;

	while (budget) {
		if (!in->gc_walking) {
			rhashtable_walk_enter(&in->sas[in->gc_dir], &in->gc_iter);
			in->gc_walking = true;
		}
		if (!sweep_walk(in, &in->gc_iter, sa_expired, NULL, IPSECNAT_C_expired,
				&budget, &n))
			break;
		rhashtable_walk_exit(&in->gc_iter);
		in->gc_walking = false;
		if (++in->gc_dir == IPSECNAT_NR_DIRS) {
			in->gc_dir = 0;
			delay = HZ;	/* pass complete */
			break;
		}
	}
	if (!READ_ONCE(in->dying))
		queue_delayed_work(system_power_efficient_wq, &in->gc_work, delay);
}

/* Netns teardown, after the work is cancelled and before the tables go. */
void ipsecnat_gc_stop(struct ipsecnat_net *in)
{
	if (in->gc_walking)
		rhashtable_walk_exit(&in->gc_iter);
	in->gc_walking = false;
}

static bool sa_on_pub(struct ipsecnat_net *in, const struct ipsecnat_sa *sa, const void *pub)
{
	return sa->flow->pub == *(const __be32 *)pub;
}

/* An address left the box: bindings to it are void (as MASQUERADE does). */
void ipsecnat_flush_pub(struct ipsecnat_net *in, __be32 pub)
{
	ipsecnat_sweep(in, sa_on_pub, &pub, IPSECNAT_C_MAX);
}
