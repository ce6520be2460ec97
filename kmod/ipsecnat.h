/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipsecnat: SPI-aware NAT for ESP. Internal definitions.
 *
 * Model, per network namespace:
 *   flow   (inside host H, peer P) bound to public address A
 *   slot   (P, A): which flows share that pair and which one may learn
 *   host   (H): SA count, for the per-host cap
 *   sa     one SA seen on the wire:
 *            outbound ESP keyed (P, SPI)    -- the peer picked SPI, unique at P
 *            inbound  ESP keyed (A, P, SPI) -- H picked SPI
 *            IKE SA keyed (A, P, initiator SPI), both directions
 *          ESP may be plain or UDP-encapsulated (NAT-T); see udp.c.
 *
 * Learning inbound SPIs is the policy of learn.c; its rules are written
 * there, top to bottom, as README "How learning works" states them.
 */
#ifndef _IPSECNAT_H
#define _IPSECNAT_H

#include <linux/rhashtable.h>
#include <linux/ratelimit.h>
#include <linux/workqueue.h>
#include <linux/percpu.h>
#include <linux/memcontrol.h>
#include <linux/mutex.h>
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/netlink.h>
#include "compat.h"
#include "uapi/xt_IPSECNAT.h"
#include "uapi/ipsecnat.h"

/* Counters, one array per CPU per netns; names in proc.c. */
enum ipsecnat_counter {
	IPSECNAT_C_out_translated,	/* outbound ESP rewritten to A */
	IPSECNAT_C_in_translated,	/* inbound ESP rewritten to H */
	IPSECNAT_C_learned,		/* inbound SPI learned: the only candidate */
	IPSECNAT_C_rekey_peer,		/* inbound SPI learned: the only flow on its slot */
	IPSECNAT_C_held_back,		/* outbound new SA held: another flow's turn */
	IPSECNAT_C_ambiguous,		/* inbound SPI held: owner not certain yet */
	IPSECNAT_C_unknown_spi,		/* inbound SPI, no flow: untouched */
	IPSECNAT_C_local_spi,		/* inbound SPI of a local xfrm state */
	IPSECNAT_C_spi_conflict,	/* outbound SPI owned by another host */
	IPSECNAT_C_cap_netns,		/* refused: per-netns cap */
	IPSECNAT_C_cap_host,		/* refused: per-host cap */
	IPSECNAT_C_no_memory,		/* refused: allocation failed */
	IPSECNAT_C_no_address,		/* refused: no public address */
	IPSECNAT_C_malformed,		/* truncated ESP, SPI 0: dropped */
	IPSECNAT_C_icmp_translated,	/* ICMP errors quoting ESP rewritten */
	IPSECNAT_C_expired,		/* SAs removed by the timeouts */
	IPSECNAT_C_forwarded,		/* inbound SPI given to an ESP forward's server */
	IPSECNAT_C_ike_learned,		/* peer's new IKE SA given to the only host */
	IPSECNAT_C_ike_mismatch,	/* inbound IKE, responder SPI not the SA's: dropped */
	IPSECNAT_C_keepalive_dropped,	/* inbound NAT-keepalive, several hosts: dropped */
	IPSECNAT_C_port_in_use,		/* port not preserved: the gateway uses it */
	IPSECNAT_C_learned_pair,	/* inbound SPI learned: fresh pair with a new outbound SA */
	IPSECNAT_C_learned_ike,		/* inbound SPI learned: the flow in an IKE exchange */
	IPSECNAT_C_ike_paced,		/* host's IKE message held: another flow's exchange first */
	IPSECNAT_C_strangers_full,	/* unknown SPI not noted: the slot's table is full */
	IPSECNAT_C_foreign_iface,	/* unknown SPI from an interface without the address */
	IPSECNAT_C_foreign_zone,	/* packet of a non-default conntrack zone: untouched */
	IPSECNAT_C_local_spi_paced,	/* unknown SPI held: the own-SA check's budget spent */
	IPSECNAT_C_contested,		/* a pair binding undone: another new SPI paired with it */
	IPSECNAT_C_ike_moved,		/* peer's new IKE SA taken by the host that spoke on it */
	IPSECNAT_C_MAX
};

struct ipsecnat_stats {
	u64 c[IPSECNAT_C_MAX];
};

/* Settings of one netns; defaults come from the module parameters. */
struct ipsecnat_settings {
	unsigned int max_sas;		/* per netns */
	unsigned int max_sas_per_host;
	unsigned int pending_window;	/* jiffies a slot claim lasts */
	unsigned int pending_timeout;	/* jiffies an unanswered SA lives idle */
	unsigned int established_timeout; /* jiffies an answered SA lives idle */
};

struct ipsecnat_slot;
struct ipsecnat_host;

#define IPSECNAT_ESP_FRESH	8	/* a new SA's first sequence numbers */
#define IPSECNAT_IKE_PORT	500
#define IPSECNAT_NATT_PORT	4500

/* UDP ports of NAT-T or IKE traffic: the inside host's and the peer's. */
struct ipsecnat_ports {
	__be16 host;
	__be16 peer;
};

struct ipsecnat_flow_key {
	__be32 host;
	__be32 peer;
};

/* Per flow and direction (out, in): the newest SA that carried a packet. */
struct ipsecnat_flow_use {
	unsigned long gen;		/* its creation order */
	unsigned long since;		/* jiffies of its first packet */
};

/* The IKEv2 exchanges that make ESP SAs, paced one flow at a time per slot */
enum ipsecnat_exchange {
	IPSECNAT_EX_UNPACED,		/* IKEv1 Quick Mode */
	IPSECNAT_EX_AUTH,		/* IKE_AUTH: a new IKE SA's first ESP SAs */
	IPSECNAT_EX_CHILD,		/* CREATE_CHILD_SA: ESP SAs or an IKE SA */
};

/*
 * A host's paced IKEv2 message (request, or response to the peer's) held
 * in the gateway while another flow's exchange has the slot's IKE turn
 * (learn.c). Under the netns lock.
 */
struct ipsecnat_ike_hold {
	struct list_head node;		/* in->ike_held, oldest first, while skbs */
	struct sk_buff *skbs;		/* its datagrams (fragments), linked by ->next */
	struct sk_buff *last;
	unsigned int nr_skbs;
	unsigned int bytes;		/* their truesize */
	u64 msg;			/* which message (udp.c names them) */
	enum ipsecnat_exchange ex;	/* of its message */
	bool response;			/* a response to the peer's request */
	unsigned long since;
	bool admitted;			/* goes on the next release, turn or not */
};

/*
 * An inbound SPI nobody has bound yet, noted while its owner is unknown.
 * Only one that shows a live SA (rising sequence numbers) is ever bound.
 */
struct ipsecnat_stranger {
	__be32 peer;
	__be32 spi;
	u32 seq;			/* highest sequence number seen */
	u16 pkts;			/* packets in sequence, capped */
	bool fresh;			/* started with a new SA's sequence numbers */
	bool vouched;			/* was bound: credible whatever its numbers */
	bool local;			/* the gateway's own SA (marked, VTI): not ours */
	bool local_checked;		/* ... asked (ipsecnat_local_spi_any_mark) */
	struct ipsecnat_ports ports;	/* NAT-T ports; 0 for plain ESP */
	unsigned long first;		/* jiffies of its first packet */
	unsigned long last;
	unsigned long quiet_from;	/* its last silence (LEARN_PAIR or more) began ... */
	unsigned long resumed;		/* ... and ended then; 0: none */
	unsigned long checked;		/* last time its owner was looked for */
};

struct ipsecnat_flow {
	struct rhash_head node;
	struct ipsecnat_flow_key key;
	__be32 pub;
	unsigned int nr_sas;
	bool dead;			/* unhashed, freed after RCU; under the lock */
	bool in_unpaired;		/* it came first, without a claim; under the lock */
	bool known_out;			/* sent on an SA in use before: no new host */
	bool fwd_unanswered;		/* made by a forward, the server never sent */
	bool out_owed;			/* its newest outbound SA needs an inbound one after it */
	bool ike_prev_settled;		/* none was owed when its IKE burst began */
	unsigned long learn_gen;	/* generation of the newest inbound SA */
	unsigned long out_gen;		/* generation of the newest outbound SA */
	/* its binding as a pair open to contest (learn.c, pair_open()) */
	unsigned long pair_gen;		/* the SA's generation, 0: none open */
	unsigned long pair_at;		/* the evidence: its new SA or exchange */
	unsigned long in_last;		/* jiffies of the last inbound packet, 0: none */
	unsigned long fresh_at;		/* first packet of the newest outbound SA, 0: none */
	bool fresh_woke;		/* ... sent after its host was silent */
	unsigned long ike_at;		/* last child-creating IKE message, 0: none */
	unsigned long ike_out_first;	/* the host's child-creating IKE messages: first ... */
	unsigned long ike_out_last;	/* ... and last of their latest burst, 0: none */
	u64 ike_passed[2];		/* the host's paced request, response let through last */
	struct ipsecnat_ike_hold ike_hold;
	unsigned long multi_until;	/* uses several SAs at once until then, 0: no */
	unsigned int churn;		/* new outbound SAs made ... */
	unsigned long churn_since;	/* ... since then; under the lock */
	unsigned int churn_prev;	/* ... in the window before, if just before */
	unsigned long churn_until;	/* churns SPIs until then, 0: no */
	unsigned long weak_at;		/* its newest weak inbound SA: bound then ... */
	unsigned long weak_gen;		/* ... with this generation; under the lock */
	unsigned long weak_confirmed;	/* generation of the weak SA its host answered */
	/*
	 * Its newest binding as a pair, open to contest for IPSECNAT_PAIR_OPEN
	 * after the evidence it answered (learn.c, contested()). Under the lock;
	 * pair_gen and pair_at also read under RCU.
	 */
	struct ipsecnat_stranger pair_s;	/* the stranger it was */
	unsigned long prev_learn_gen;	/* what undoing it restores */
	unsigned long prev_fresh_at;
	unsigned long prev_ike_at;
	bool prev_unpaired;
	unsigned int nr_ike_unconfirmed;	/* IKE SAs the host has not spoken on */
	unsigned int nr_weak;		/* live inbound SAs bound by elimination */
	unsigned int nr_unconfirmed;	/* unconfirmed inbound SAs learned ... */
	unsigned long unconfirmed_since;	/* ... since then; under the lock */
	__be32 last_spi[3];		/* SPI used last, by enum ipsecnat_dir */
	struct ipsecnat_flow_use use[2];	/* IPSECNAT_OUT, IPSECNAT_IN */
	struct ipsecnat_slot *slot;
	struct ipsecnat_host *hostent;
	struct hlist_node slot_list;	/* slot->flows: RCU, written under the lock */
	struct rcu_head rcu;
};

struct ipsecnat_slot_key {
	__be32 peer;
	__be32 pub;
};

#define IPSECNAT_STRANGERS	16
#define IPSECNAT_GLIMPSES	512	/* per namespace, a power of 2 */

struct ipsecnat_strangers {
	spinlock_t lock;		/* the entries; taken without the netns lock */
	struct ipsecnat_stranger s[IPSECNAT_STRANGERS];
};

/*
 * A turn: the one flow of a slot that may, for a bounded time, be in
 * transition (an unanswered new outbound SA, or a child-creating IKE
 * exchange). Under the netns lock; cleared when the flow dies.
 */
struct ipsecnat_turn {
	struct ipsecnat_flow *flow;
	unsigned long since;
	unsigned long until;		/* its exchange was answered: ends then, 0: not yet */
	bool waiting;			/* another flow was refused meanwhile */
};

#define IPSECNAT_IKE_OPEN	8

struct ipsecnat_ike_open {
	struct ipsecnat_flow *flow;
	unsigned long at;		/* its last exchange went then */
	unsigned int nr;		/* its exchanges not known to have made ESP SAs */
};

struct ipsecnat_slot {
	struct rhash_head node;
	struct ipsecnat_slot_key key;
	unsigned int nr_flows;		/* under the lock, read under RCU */
	struct hlist_head flows;
	struct ipsecnat_turn out_turn;
	struct ipsecnat_turn ike_turn;
	/*
	 * Flows whose CREATE_CHILD_SA exchanges made no ESP SA seen (yet):
	 * one of them owns the peer's new IKE SA (learn.c, rule 4). Under the
	 * lock.
	 */
	struct ipsecnat_ike_open ike_open[IPSECNAT_IKE_OPEN];
	unsigned long ike_open_lost;	/* one found no room then, 0: never */
	unsigned long held_back_at;	/* a new host's first SA last waited for its turn */
	/* allocated with the slot's first stranger: most slots never see one */
	struct ipsecnat_strangers __rcu *strangers;
	struct rcu_head rcu;
};

struct ipsecnat_host {
	struct rhash_head node;
	__be32 addr;
	unsigned int nr_sas;
	unsigned int nr_fwd_unanswered;	/* flows of forwards it never answered */
	struct rcu_head rcu;
};

/* One SA table each; values as enum ipsecnat_sa_dir in the uapi. */
enum ipsecnat_dir {
	IPSECNAT_OUT,
	IPSECNAT_IN,
	IPSECNAT_IKE,
	IPSECNAT_NR_DIRS
};

/*
 * Outbound SAs use pub = 0 in their key: (peer, spi) is unique at the peer.
 * ESP SAs have spi2 = 0; IKE SAs hold the 8-byte initiator SPI in spi, spi2.
 */
struct ipsecnat_sa_key {
	__be32 pub;
	__be32 peer;
	__be32 spi;
	__be32 spi2;
};

struct ipsecnat_sa {
	struct rhash_head node;
	struct ipsecnat_sa_key key;
	u8 dir;
	bool is_static;			/* never expires */
	bool paired;			/* outbound, its inbound SA came first */
	bool unconfirmed;		/* inbound or IKE, learned without the host's word */
	bool weak;			/* inbound, bound by elimination alone: learn.c */
	__be16 host_port;		/* UDP ports, host side and peer side; */
	__be16 peer_port;		/* 0 for plain ESP */
	struct ipsecnat_flow *flow;
	unsigned long gen;		/* creation order, see sa_answered */
	unsigned long created;
	unsigned long lastuse;
	atomic64_t packets;
	atomic64_t bytes;
	struct rcu_head rcu;
};

/* An IKE SA also knows the responder SPI, once the inside host used one. */
struct ipsecnat_ike {
	struct ipsecnat_sa sa;
	u64 spi_r;			/* as ipsecnat_ike_spi(); 0 while unknown */
};

static inline struct ipsecnat_ike *ipsecnat_ike(struct ipsecnat_sa *sa)
{
	return container_of(sa, struct ipsecnat_ike, sa);
}

/* The responder SPI of IKE SA @sa; 0 while the inside host used none. */
static inline u64 ipsecnat_ike_spi_r(const struct ipsecnat_sa *sa)
{
	return READ_ONCE(container_of(sa, const struct ipsecnat_ike, sa)->spi_r);
}

/* Seconds @sa has been idle; another CPU may have used it a tick after @now. */
static inline unsigned int ipsecnat_sa_idle(const struct ipsecnat_sa *sa, unsigned long now)
{
	unsigned long lastuse = READ_ONCE(sa->lastuse);

	return time_after(now, lastuse) ? jiffies_to_msecs(now - lastuse) / 1000 : 0;
}

/* An IKE SPI as one number, for showing and comparing. */
static inline u64 ipsecnat_ike_spi(const __be32 *spi)
{
	return (u64)ntohl(spi[0]) << 32 | ntohl(spi[1]);
}

/* ESP forward: unknown inbound SPIs to @pub go to inside server @server. */
struct ipsecnat_fwd {
	struct rhash_head node;
	__be32 pub;
	__be32 server;
	struct ipsecnat_strangers strangers;	/* from peers nobody talks to */
	struct rcu_head rcu;
};

/* Flows a forward made whose server never answered, per server. */
#define IPSECNAT_FWD_UNANSWERED	32

#define IPSECNAT_MAX_FWDS	256

/* nat.c: "iptables -t mangle -A POSTROUTING -o ifname -j IPSECNAT", without iptables */
struct ipsecnat_nat_rule {
	char ifname[IFNAMSIZ];
	struct xt_ipsecnat_tginfo info;
};

#define IPSECNAT_MAX_NAT_RULES	16

/* The rules of a netns: never changed once published, replaced whole. */
struct ipsecnat_nat_rules {
	struct rcu_head rcu;
	unsigned int n;
	struct ipsecnat_nat_rule r[];
};

struct ipsecnat_net {
	struct net *net;
	struct mem_cgroup *memcg;	/* of the namespace's maker: charged for entries */
	spinlock_t lock;		/* serialises all table writes */
	struct rhashtable sas[IPSECNAT_NR_DIRS];
	struct rhashtable flows;
	struct rhashtable slots;
	struct rhashtable hosts;
	struct rhashtable fwds;
	atomic_t nr_sas;
	unsigned long gen;		/* under lock */
	struct ipsecnat_settings set;
	struct ipsecnat_stats __percpu *stats;
	struct ratelimit_state notify_rs;	/* held/refused/ambiguous events */
	/* peers an inside host without a flow ran IKE with, and when: learn.c */
	struct ipsecnat_newcomer {
		__be32 peer;
		unsigned long at;
	} newcomers[64];
	/* first packets of strangers that found no room, and a key: learn.c */
	u64 glimpse[IPSECNAT_GLIMPSES];
	u32 glimpse_key;
	atomic_t nr_rules;		/* IPSECNAT and nat rules; none: the hook is idle */
	struct ipsecnat_nat_rules __rcu *nat;	/* NULL: none, and no POSTROUTING hook */
	struct mutex nat_lock;		/* changes of nat */
	unsigned long local_walk_since;	/* ipsecnat_local_spi_any_mark's budget: */
	atomic_t local_walk_states;	/* xfrm states walked since then */
	struct delayed_work gc_work;
	struct list_head ike_held;	/* flows whose IKE message waits: learn.c */
	unsigned int nr_held;		/* ... how many; under lock */
	unsigned int held_bytes;	/* ... their memory; under lock */
	struct delayed_work ike_release;
	struct rhashtable_iter gc_iter;	/* where the collector goes on */
	int gc_dir;
	bool gc_walking;
	bool dying;
};

extern unsigned int ipsecnat_net_id;
unsigned int ipsecnat_default_max_sas(void);

static inline struct ipsecnat_net *ipsecnat_pernet(struct net *net)
{
	return net_generic(net, ipsecnat_net_id);
}

static inline void ipsecnat_count(struct ipsecnat_net *in, enum ipsecnat_counter c)
{
	this_cpu_inc(in->stats->c[c]);
}

/* Events that a flood could repeat are limited per namespace. */
static inline bool ipsecnat_notify_ratelimit(struct ipsecnat_net *in)
{
	return __ratelimit(&in->notify_rs);
}

void ipsecnat_stats_sum(struct ipsecnat_net *in, struct ipsecnat_stats *sum);
extern const char *const ipsecnat_counter_names[IPSECNAT_C_MAX];

/* table.c: storage of SAs, flows, slots, hosts and forwards; GC */
void *ipsecnat_zalloc(struct ipsecnat_net *in, size_t size);
int ipsecnat_tables_init(struct ipsecnat_net *in);
void ipsecnat_tables_destroy(struct ipsecnat_net *in);
struct ipsecnat_sa *ipsecnat_sa_lookup(struct ipsecnat_net *in, enum ipsecnat_dir dir,
				       __be32 pub, __be32 peer, __be32 spi);
struct ipsecnat_sa *ipsecnat_ike_lookup(struct ipsecnat_net *in, __be32 pub, __be32 peer,
					const __be32 *spi_i);
struct ipsecnat_flow *ipsecnat_flow_lookup(struct ipsecnat_net *in, __be32 host, __be32 peer);
struct ipsecnat_slot *ipsecnat_slot_lookup(struct ipsecnat_net *in, __be32 peer, __be32 pub);
struct ipsecnat_fwd *ipsecnat_fwd_lookup(struct ipsecnat_net *in, __be32 pub);
bool ipsecnat_sa_answered(const struct ipsecnat_sa *sa);
bool ipsecnat_sa_pending(const struct ipsecnat_sa *sa);

/* Outcome of creating or learning an SA. */
enum ipsecnat_result {
	IPSECNAT_OK,
	IPSECNAT_HOLD,		/* drop this packet, try again later */
	IPSECNAT_REFUSE,	/* drop, counted */
	IPSECNAT_PASS,		/* not ours: leave the packet alone */
};

/* Verdict for inbound traffic whose SA was not learned: left alone or dropped. */
static inline unsigned int ipsecnat_unlearned(enum ipsecnat_result r)
{
	return r == IPSECNAT_PASS ? NF_ACCEPT : NF_DROP;
}

struct ipsecnat_pool {
	__be32 min_addr;
	__be32 max_addr;
};

/* Internal to table.c and learn.c; all under the netns lock. */
struct ipsecnat_flow *ipsecnat_flow_for_out(struct ipsecnat_net *in, __be32 host,
					    __be32 peer, const struct ipsecnat_pool *pool);
struct ipsecnat_flow *ipsecnat_flow_get(struct ipsecnat_net *in, __be32 host, __be32 peer,
					__be32 pub);
void ipsecnat_flow_release(struct ipsecnat_net *in, struct ipsecnat_flow *f);
void ipsecnat_fwd_answered(struct ipsecnat_net *in, struct ipsecnat_flow *f);
void ipsecnat_fwd_client_answered(struct ipsecnat_net *in, struct ipsecnat_flow *f);
/* ipsecnat_sa_new() flags: how a learned inbound or IKE SA starts out */
enum {
	IPSECNAT_SA_UNCONFIRMED = 1,	/* learned without the host's word */
	IPSECNAT_SA_WEAK = 2,		/* unconfirmed, bound by elimination alone */
};

struct ipsecnat_sa *ipsecnat_sa_new(struct ipsecnat_net *in, struct ipsecnat_flow *f,
				    enum ipsecnat_dir dir, const struct ipsecnat_sa_key *key,
				    const struct ipsecnat_ports *ports, unsigned int flags);

void ipsecnat_sa_unlearn(struct ipsecnat_net *in, struct ipsecnat_sa *sa);
enum ipsecnat_result ipsecnat_sa_create_out(struct ipsecnat_net *in, __be32 host,
					    __be32 peer, __be32 spi,
					    const struct ipsecnat_ports *ports, bool in_use,
					    const struct ipsecnat_pool *pool,
					    struct ipsecnat_sa **res);
enum ipsecnat_result ipsecnat_ike_create_out(struct ipsecnat_net *in, __be32 host,
					     __be32 peer, const __be32 *spi_i, u64 spi_r,
					     const struct ipsecnat_ports *ports,
					     const struct ipsecnat_pool *pool,
					     struct ipsecnat_sa **res);
typedef bool (*ipsecnat_match_fn)(struct ipsecnat_net *in, const struct ipsecnat_sa *sa,
				  const void *arg);
unsigned int ipsecnat_sweep(struct ipsecnat_net *in, ipsecnat_match_fn match,
			    const void *arg, enum ipsecnat_counter counter);
void ipsecnat_flush_pub(struct ipsecnat_net *in, __be32 pub);
void ipsecnat_gc_work(struct work_struct *work);
void ipsecnat_gc_stop(struct ipsecnat_net *in);

/* learn.c: whose inbound SPI is it (README "How learning works") */

/* An inbound ESP packet nobody has bound: its SPI, sequence number, ports. */
struct ipsecnat_esp_seen {
	__be32 pub, peer, spi;
	u32 seq;
	const struct ipsecnat_ports *ports;	/* NULL for plain ESP */
	const struct net_device *dev;		/* where it arrived */
};

enum ipsecnat_result ipsecnat_learn_esp(struct ipsecnat_net *in,
					const struct ipsecnat_esp_seen *p,
					struct ipsecnat_sa **res);
enum ipsecnat_result ipsecnat_learn_ike(struct ipsecnat_net *in, const struct sk_buff *skb,
					const __be32 *spi_i, u64 spi_r,
					const struct ipsecnat_ports *ports,
					struct ipsecnat_sa **res);
bool ipsecnat_learn_out_allowed(struct ipsecnat_net *in, struct ipsecnat_flow *f, bool in_use);
void ipsecnat_learn_out_started(struct ipsecnat_flow *f);
void ipsecnat_learn_out_created(struct ipsecnat_net *in, struct ipsecnat_flow *f,
				bool paired, bool in_use);
enum ipsecnat_ike_verdict {
	IPSECNAT_IKE_PASS,
	IPSECNAT_IKE_DROP,		/* a datagram of a message held already */
	IPSECNAT_IKE_HELD,		/* stolen: sent when the turn is free */
};

enum ipsecnat_ike_verdict ipsecnat_ike_exchange(struct ipsecnat_net *in, struct ipsecnat_flow *f,
						bool out, enum ipsecnat_exchange ex,
						bool response, u64 msg, struct sk_buff *skb);
void ipsecnat_ike_release(struct work_struct *work);
void ipsecnat_learn_exit(struct ipsecnat_net *in);
void ipsecnat_ike_evidence(struct ipsecnat_net *in, const struct sk_buff *skb,
			   const __be32 *spi_i);
void ipsecnat_learn_ike_sa_new(struct ipsecnat_flow *f);
void ipsecnat_learn_ike_confirmed(struct ipsecnat_net *in, struct ipsecnat_sa *sa);
void ipsecnat_learn_flow_gone(struct ipsecnat_net *in, struct ipsecnat_flow *f);
struct ipsecnat_flow *ipsecnat_slot_only_flow(const struct ipsecnat_slot *slot);
void ipsecnat_flow_switch(struct ipsecnat_flow *f, const struct ipsecnat_sa *sa,
			  unsigned long now);

/*
 * An inbound SA learned without the host's own new outbound SA is
 * unconfirmed until the host sends on an outbound SA made after it; one
 * bound by elimination alone (weak) only if that came soon after it
 * (ipsecnat_learn_out_created).
 */
static inline bool ipsecnat_in_confirmed(const struct ipsecnat_sa *sa)
{
	if (!sa->unconfirmed)
		return true;
	if (sa->weak)
		return READ_ONCE(sa->flow->weak_confirmed) == sa->gen;
	return READ_ONCE(sa->flow->out_gen) > sa->gen;
}

/* A pair binding stays open to contest this long after its evidence (learn.c). */
#define IPSECNAT_PAIR_OPEN	(4 * HZ)

/*
 * Is inbound @sa its flow's pair binding, still open to contest? Its
 * traffic is then no evidence: a forged SPI that won the pair must not
 * rule its host out of the real one.
 */
static inline bool ipsecnat_pair_open(const struct ipsecnat_sa *sa, unsigned long now)
{
	const struct ipsecnat_flow *f = sa->flow;
	unsigned long at;

	if (READ_ONCE(f->pair_gen) != sa->gen)
		return false;
	at = READ_ONCE(f->pair_at);
	return time_in_range(now, at, at + IPSECNAT_PAIR_OPEN);
}

static inline void ipsecnat_sa_touch(struct ipsecnat_sa *sa, unsigned int len)
{
	struct ipsecnat_flow *f = sa->flow;
	unsigned long now = jiffies;

	if (READ_ONCE(sa->lastuse) != now)
		WRITE_ONCE(sa->lastuse, now);
	/*
	 * Only traffic on confirmed SAs not open to contest is evidence for
	 * learning and decides which SA is the flow's newest. 0 means
	 * "never": a packet exactly at jiffies 0 counts one tick later.
	 */
	if (sa->dir == IPSECNAT_IN ? !ipsecnat_in_confirmed(sa) || ipsecnat_pair_open(sa, now) :
	    sa->dir == IPSECNAT_IKE && READ_ONCE(sa->unconfirmed))
		goto count;
	if (sa->dir == IPSECNAT_IN && READ_ONCE(f->in_last) != (now ?: 1))
		WRITE_ONCE(f->in_last, now ?: 1);
	if (READ_ONCE(f->last_spi[sa->dir]) != sa->key.spi)
		ipsecnat_flow_switch(f, sa, now);
count:
	atomic64_inc(&sa->packets);
	atomic64_add(len, &sa->bytes);
}

/* packet.c */
static inline bool ipsecnat_later_fragment(const struct iphdr *iph)
{
	return iph->frag_off & htons(IP_OFFSET);
}

__be32 ipsecnat_esp_spi(const struct sk_buff *skb, unsigned int off);
enum ipsecnat_local {
	IPSECNAT_LOCAL_NO,
	IPSECNAT_LOCAL_YES,
	IPSECNAT_LOCAL_PACED,		/* not asked: ask on a later packet */
};

enum ipsecnat_local ipsecnat_local_spi_any_mark(struct ipsecnat_net *in, __be32 daddr,
						__be32 spi);
unsigned int ipsecnat_translate(struct ipsecnat_net *in, struct sk_buff *skb, bool out,
				__be32 addr);
bool ipsecnat_in_pool(const struct ipsecnat_pool *pool, __be32 addr);
unsigned int ipsecnat_out_esp(struct ipsecnat_net *in, struct sk_buff *skb,
			      const struct xt_ipsecnat_tginfo *info,
			      const struct net_device *out, __be32 spi,
			      const struct ipsecnat_ports *ports);
unsigned int ipsecnat_in_esp(struct ipsecnat_net *in, struct sk_buff *skb, __be32 spi,
			     const struct ipsecnat_ports *ports);
unsigned int ipsecnat_outbound(struct net *net, struct sk_buff *skb,
			       const struct xt_ipsecnat_tginfo *info,
			       const struct net_device *out);
bool ipsecnat_rule_pool(const struct xt_ipsecnat_tginfo *info, const struct net_device *out,
			const struct sk_buff *skb, struct ipsecnat_pool *pool);
int ipsecnat_hooks_register(struct net *net);
void ipsecnat_hooks_unregister(struct net *net);

/* udp.c */
unsigned int ipsecnat_outbound_udp(struct ipsecnat_net *in, struct sk_buff *skb,
				   const struct xt_ipsecnat_tginfo *info,
				   const struct net_device *out);
unsigned int ipsecnat_inbound_udp(struct ipsecnat_net *in, struct sk_buff *skb);
bool ipsecnat_port_in_use(struct ipsecnat_net *in, const struct sk_buff *skb,
			  const struct ipsecnat_pool *pool);
bool ipsecnat_udp_taken(struct ipsecnat_net *in, const struct sk_buff *skb);

/* target.c */
int ipsecnat_target_init(void);
void ipsecnat_target_exit(void);
int ipsecnat_rule_check(const struct xt_ipsecnat_tginfo *info, struct netlink_ext_ack *extack);

/* nat.c */
void ipsecnat_nat_init(struct ipsecnat_net *in);
void ipsecnat_nat_pre_exit(struct ipsecnat_net *in);
void ipsecnat_nat_exit(struct ipsecnat_net *in);
int ipsecnat_nat_add(struct ipsecnat_net *in, const struct ipsecnat_nat_rule *rule, bool replace,
		     struct netlink_ext_ack *extack);
int ipsecnat_nat_del(struct ipsecnat_net *in, const char *ifname);
unsigned int ipsecnat_nat_get(struct ipsecnat_net *in,
			      struct ipsecnat_nat_rule rules[IPSECNAT_MAX_NAT_RULES]);

int ipsecnat_fwd_add(struct ipsecnat_net *in, __be32 pub, __be32 server);
int ipsecnat_fwd_del(struct ipsecnat_net *in, __be32 pub);
/* An SA to add by command (sa-add): a static binding, or an imported one. */
struct ipsecnat_sa_spec {
	enum ipsecnat_dir dir;
	__be32 host, peer, pub;
	__be32 spi[2];			/* ESP: spi[0]; IKE: the initiator SPI */
	u64 spi_r;			/* IKE: responder SPI, 0 while unknown */
	struct ipsecnat_ports ports;	/* 0 for plain ESP */
	bool established;
	bool is_static;
	bool replace;			/* replace an SA with the same key */
};

int ipsecnat_sa_add(struct ipsecnat_net *in, const struct ipsecnat_sa_spec *s,
		    struct netlink_ext_ack *extack);

/* netlink.c */
int ipsecnat_genl_init(void);
void ipsecnat_genl_exit(void);
void ipsecnat_notify_sa(struct ipsecnat_net *in, u8 event, const struct ipsecnat_sa *sa);
void ipsecnat_notify(struct ipsecnat_net *in, u8 event, u8 dir, __be32 host, __be32 peer,
		     __be32 spi);

/* proc.c */
int ipsecnat_proc_init(struct net *net);
void ipsecnat_proc_exit(struct net *net);

#endif /* _IPSECNAT_H */
