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
 * Learning rule: an inbound SPI nobody knows goes to the slot's pending
 * flow (the one flow whose newest outbound SA is still unanswered), else to
 * the only flow on the slot (peer-initiated rekey), else nowhere. A second
 * flow with an unanswered SA on a claimed slot is held back (dropped and
 * counted) until the first is answered or its pending window passes, so the
 * gateway never has to guess between two hosts.
 */
#ifndef _IPSECNAT_H
#define _IPSECNAT_H

#include <linux/rhashtable.h>
#include <linux/workqueue.h>
#include <linux/percpu.h>
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
	IPSECNAT_C_learned,		/* inbound SPI learned (pending flow) */
	IPSECNAT_C_rekey_peer,		/* inbound SPI learned (only flow) */
	IPSECNAT_C_held_back,		/* outbound held: slot claimed */
	IPSECNAT_C_ambiguous,		/* inbound SPI, several flows: dropped */
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

struct ipsecnat_flow_key {
	__be32 host;
	__be32 peer;
};

struct ipsecnat_flow {
	struct rhash_head node;
	struct ipsecnat_flow_key key;
	__be32 pub;
	unsigned int nr_sas;
	unsigned long learn_gen;	/* generation of the newest inbound SA */
	bool in_unpaired;		/* it came first, without a claim; under the lock */
	__be32 last_spi[3];		/* SPI used last, by enum ipsecnat_dir */
	struct ipsecnat_slot *slot;
	struct ipsecnat_host *hostent;
	struct hlist_node slot_list;	/* slot->flows, under the netns lock */
	struct rcu_head rcu;
};

struct ipsecnat_slot_key {
	__be32 peer;
	__be32 pub;
};

struct ipsecnat_slot {
	struct rhash_head node;
	struct ipsecnat_slot_key key;
	struct ipsecnat_flow __rcu *pending;
	unsigned long pending_since;
	unsigned long last_hold;	/* jiffies another flow was held */
	struct ipsecnat_flow *yielded;	/* owner whose claim ran out ... */
	unsigned long yield_until;	/* ... waits until then */
	unsigned int nr_flows;
	struct hlist_head flows;
	struct ipsecnat_flow *ike_rekey;	/* last flow with a CREATE_CHILD_SA ... */
	unsigned long ike_rekey_since;		/* ... then */
	bool ike_rekey_many;			/* another one did too, in the window */
	struct rcu_head rcu;
};

struct ipsecnat_host {
	struct rhash_head node;
	__be32 addr;
	unsigned int nr_sas;
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
	struct rcu_head rcu;
};

#define IPSECNAT_MAX_FWDS	256

struct ipsecnat_net {
	struct net *net;
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
	struct delayed_work gc_work;
	struct rhashtable_iter gc_iter;	/* where the collector goes on */
	int gc_dir;
	bool gc_walking;
	bool dying;
};

extern unsigned int ipsecnat_net_id;

static inline struct ipsecnat_net *ipsecnat_pernet(struct net *net)
{
	return net_generic(net, ipsecnat_net_id);
}

static inline void ipsecnat_count(struct ipsecnat_net *in, enum ipsecnat_counter c)
{
	this_cpu_inc(in->stats->c[c]);
}

void ipsecnat_stats_sum(struct ipsecnat_net *in, struct ipsecnat_stats *sum);
extern const char *const ipsecnat_counter_names[IPSECNAT_C_MAX];

/* table.c */
int ipsecnat_tables_init(struct ipsecnat_net *in);
void ipsecnat_tables_destroy(struct ipsecnat_net *in);
struct ipsecnat_sa *ipsecnat_sa_lookup(struct ipsecnat_net *in, enum ipsecnat_dir dir,
				       __be32 pub, __be32 peer, __be32 spi);
struct ipsecnat_sa *ipsecnat_ike_lookup(struct ipsecnat_net *in, __be32 pub, __be32 peer,
					const __be32 *spi_i);
struct ipsecnat_flow *ipsecnat_flow_lookup(struct ipsecnat_net *in, __be32 host, __be32 peer);
bool ipsecnat_sa_answered(const struct ipsecnat_sa *sa);
bool ipsecnat_sa_pending(const struct ipsecnat_sa *sa);
bool ipsecnat_claim(struct ipsecnat_net *in, struct ipsecnat_flow *flow);

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

#define IPSECNAT_IKE_PORT	500
#define IPSECNAT_NATT_PORT	4500

/* UDP ports of NAT-T or IKE traffic: the inside host's and the peer's. */
struct ipsecnat_ports {
	__be16 host;
	__be16 peer;
};

enum ipsecnat_result ipsecnat_sa_create_out(struct ipsecnat_net *in, __be32 host,
					    __be32 peer, __be32 spi,
					    const struct ipsecnat_ports *ports,
					    const struct ipsecnat_pool *pool,
					    struct ipsecnat_sa **res);
enum ipsecnat_result ipsecnat_sa_learn_in(struct ipsecnat_net *in, __be32 pub,
					  __be32 peer, __be32 spi,
					  const struct ipsecnat_ports *ports,
					  struct ipsecnat_sa **res);
enum ipsecnat_result ipsecnat_ike_create_out(struct ipsecnat_net *in, __be32 host,
					     __be32 peer, const __be32 *spi_i,
					     const struct ipsecnat_ports *ports,
					     const struct ipsecnat_pool *pool,
					     struct ipsecnat_sa **res);
enum ipsecnat_result ipsecnat_ike_learn_in(struct ipsecnat_net *in, __be32 pub,
					   __be32 peer, const __be32 *spi_i, u64 spi_r,
					   const struct ipsecnat_ports *ports,
					   struct ipsecnat_sa **res);
__be32 ipsecnat_slot_only_host(struct ipsecnat_net *in, __be32 peer, __be32 pub);
void ipsecnat_ike_rekey_seen(struct ipsecnat_net *in, struct ipsecnat_flow *f);
typedef bool (*ipsecnat_match_fn)(struct ipsecnat_net *in, const struct ipsecnat_sa *sa,
				  const void *arg);
unsigned int ipsecnat_sweep(struct ipsecnat_net *in, ipsecnat_match_fn match,
			    const void *arg, enum ipsecnat_counter counter);
void ipsecnat_flush_pub(struct ipsecnat_net *in, __be32 pub);
void ipsecnat_gc_work(struct work_struct *work);
void ipsecnat_gc_stop(struct ipsecnat_net *in);

static inline void ipsecnat_sa_touch(struct ipsecnat_sa *sa, unsigned int len)
{
	unsigned long now = jiffies;

	if (READ_ONCE(sa->lastuse) != now)
		WRITE_ONCE(sa->lastuse, now);
	if (READ_ONCE(sa->flow->last_spi[sa->dir]) != sa->key.spi)
		WRITE_ONCE(sa->flow->last_spi[sa->dir], sa->key.spi);
	atomic64_inc(&sa->packets);
	atomic64_add(len, &sa->bytes);
}

/* packet.c */
static inline bool ipsecnat_later_fragment(const struct iphdr *iph)
{
	return iph->frag_off & htons(IP_OFFSET);
}

__be32 ipsecnat_esp_spi(const struct sk_buff *skb, unsigned int off);
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

int ipsecnat_fwd_add(struct ipsecnat_net *in, __be32 pub, __be32 server);
int ipsecnat_fwd_del(struct ipsecnat_net *in, __be32 pub);
int ipsecnat_sa_add(struct ipsecnat_net *in, enum ipsecnat_dir dir, __be32 host,
		    __be32 peer, __be32 pub, __be32 spi, bool established, bool is_static,
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
