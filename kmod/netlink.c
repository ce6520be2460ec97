// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink control plane: family "ipsecnat" (uapi/ipsecnat.h).
 */
#include <net/genetlink.h>
#include <net/sock.h>
#include "ipsecnat.h"

/* sa-add: an SA as sa-get shows it, but for age, idle and the counts; filters */
static const struct nla_policy sa_policy[IPSECNAT_SA_MAX + 1] = {
	[IPSECNAT_SA_DIR]	= NLA_POLICY_MAX(NLA_U8, IPSECNAT_DIR_IKE),
	[IPSECNAT_SA_HOST]	= { .type = NLA_BE32 },
	[IPSECNAT_SA_PEER]	= { .type = NLA_BE32 },
	[IPSECNAT_SA_PUB]	= { .type = NLA_BE32 },
	[IPSECNAT_SA_SPI]	= { .type = NLA_BE32 },
	[IPSECNAT_SA_STATE]	= NLA_POLICY_MAX(NLA_U8, IPSECNAT_STATE_ESTABLISHED),
	[IPSECNAT_SA_STATIC]	= { .type = NLA_FLAG },
	[IPSECNAT_SA_IKE_SPI_I]	= { .type = NLA_U64 },
	[IPSECNAT_SA_IKE_SPI_R]	= { .type = NLA_U64 },
	[IPSECNAT_SA_HOST_PORT]	= { .type = NLA_BE16 },
	[IPSECNAT_SA_PEER_PORT]	= { .type = NLA_BE16 },
};

static struct netlink_range_validation count_range = { .min = 1, .max = 1 << 24 };
static struct netlink_range_validation window_range = { .min = 1, .max = 3600 };
static struct netlink_range_validation pending_range = { .min = 1, .max = 86400 };
static struct netlink_range_validation established_range = { .min = 1, .max = 604800 };

static const struct nla_policy settings_policy[IPSECNAT_SET_MAX + 1] = {
	[IPSECNAT_SET_MAX_SAS]		= NLA_POLICY_FULL_RANGE(NLA_U32, &count_range),
	[IPSECNAT_SET_MAX_SAS_PER_HOST]	= NLA_POLICY_FULL_RANGE(NLA_U32, &count_range),
	[IPSECNAT_SET_PENDING_WINDOW]	= NLA_POLICY_FULL_RANGE(NLA_U32, &window_range),
	[IPSECNAT_SET_PENDING_TIMEOUT]	= NLA_POLICY_FULL_RANGE(NLA_U32, &pending_range),
	[IPSECNAT_SET_ESTABLISHED_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &established_range),
};

static const struct nla_policy fwd_policy[IPSECNAT_FWD_MAX + 1] = {
	[IPSECNAT_FWD_PUB]	= { .type = NLA_BE32 },
	[IPSECNAT_FWD_SERVER]	= { .type = NLA_BE32 },
};

/* ifname: any NUL-terminated string here; nat_parse says what is wrong with it */
static const struct nla_policy nat_policy[IPSECNAT_NAT_MAX + 1] = {
	[IPSECNAT_NAT_IFNAME]	= { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[IPSECNAT_NAT_MIN_ADDR]	= { .type = NLA_BE32 },
	[IPSECNAT_NAT_MAX_ADDR]	= { .type = NLA_BE32 },
	[IPSECNAT_NAT_FLAGS]	= { .type = NLA_U32 },
};

static const struct nla_policy ipsecnat_policy[IPSECNAT_A_MAX + 1] = {
	[IPSECNAT_A_FWD]	= NLA_POLICY_NESTED(fwd_policy),
	[IPSECNAT_A_FILTER]	= NLA_POLICY_NESTED(sa_policy),
	[IPSECNAT_A_SETTINGS]	= NLA_POLICY_NESTED(settings_policy),
	[IPSECNAT_A_SA]		= NLA_POLICY_NESTED(sa_policy),
	[IPSECNAT_A_REPLACE]	= { .type = NLA_FLAG },
	[IPSECNAT_A_NAT]	= NLA_POLICY_NESTED(nat_policy),
};

static struct genl_family ipsecnat_genl;

/* A filter on SAs: each field given must match. */
struct sa_filter {
	u32 has;		/* bit per enum ipsecnat_sa_attr */
	u8 dir, state;
	__be32 host, peer, pub, spi;
};

static int filter_parse(const struct nlattr *nest, struct sa_filter *f,
			struct netlink_ext_ack *extack)
{
	struct nlattr *tb[IPSECNAT_SA_MAX + 1];
	int err, i;

	memset(f, 0, sizeof(*f));
	if (!nest)
		return 0;
	err = nla_parse_nested(tb, IPSECNAT_SA_MAX, nest, sa_policy, extack);
	if (err)
		return err;
	/* a filter matches on the key, the state and the static flag only */
	for (i = IPSECNAT_SA_IKE_SPI_I; i <= IPSECNAT_SA_PEER_PORT; i++) {
		if (tb[i]) {
			NL_SET_ERR_MSG_ATTR(extack, tb[i], "not a filter attribute");
			return -EINVAL;
		}
	}
	for (i = IPSECNAT_SA_DIR; i <= IPSECNAT_SA_STATIC; i++)
		if (tb[i])
			f->has |= BIT(i);
	if (tb[IPSECNAT_SA_DIR])
		f->dir = nla_get_u8(tb[IPSECNAT_SA_DIR]);
	if (tb[IPSECNAT_SA_STATE])
		f->state = nla_get_u8(tb[IPSECNAT_SA_STATE]);
	if (tb[IPSECNAT_SA_HOST])
		f->host = nla_get_be32(tb[IPSECNAT_SA_HOST]);
	if (tb[IPSECNAT_SA_PEER])
		f->peer = nla_get_be32(tb[IPSECNAT_SA_PEER]);
	if (tb[IPSECNAT_SA_PUB])
		f->pub = nla_get_be32(tb[IPSECNAT_SA_PUB]);
	if (tb[IPSECNAT_SA_SPI]) {
		f->spi = nla_get_be32(tb[IPSECNAT_SA_SPI]);
		if (!f->spi) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IPSECNAT_SA_SPI], "SPI 0 is reserved");
			return -EINVAL;
		}
	}
	return 0;
}

static u8 sa_state(const struct ipsecnat_sa *sa)
{
	return ipsecnat_sa_pending(sa) ? IPSECNAT_STATE_PENDING : IPSECNAT_STATE_ESTABLISHED;
}

/* UDP ports (NAT-T ESP, IKE) and the IKE SPIs, where the SA has them. */
static int sa_fill_udp(struct sk_buff *skb, const struct ipsecnat_sa *sa)
{
	__be16 host_port = READ_ONCE(sa->host_port);

	if (host_port &&
	    (nla_put_be16(skb, IPSECNAT_SA_HOST_PORT, host_port) ||
	     nla_put_be16(skb, IPSECNAT_SA_PEER_PORT, READ_ONCE(sa->peer_port))))
		return -EMSGSIZE;
	if (sa->dir != IPSECNAT_IKE)
		return 0;
	if (nla_put_u64_64bit(skb, IPSECNAT_SA_IKE_SPI_I, ipsecnat_ike_spi(&sa->key.spi),
			      IPSECNAT_SA_PAD) ||
	    nla_put_u64_64bit(skb, IPSECNAT_SA_IKE_SPI_R, ipsecnat_ike_spi_r(sa),
			      IPSECNAT_SA_PAD))
		return -EMSGSIZE;
	return 0;
}

static bool filter_match(const struct sa_filter *f, const struct ipsecnat_sa *sa)
{
	const struct ipsecnat_flow *fl = sa->flow;

	return (!(f->has & BIT(IPSECNAT_SA_DIR)) || f->dir == sa->dir) &&
	       (!(f->has & BIT(IPSECNAT_SA_HOST)) || f->host == fl->key.host) &&
	       (!(f->has & BIT(IPSECNAT_SA_PEER)) || f->peer == fl->key.peer) &&
	       (!(f->has & BIT(IPSECNAT_SA_PUB)) || f->pub == fl->pub) &&
	       (!(f->has & BIT(IPSECNAT_SA_SPI)) || f->spi == sa->key.spi) &&
	       (!(f->has & BIT(IPSECNAT_SA_STATE)) || f->state == sa_state(sa)) &&
	       (!(f->has & BIT(IPSECNAT_SA_STATIC)) || sa->is_static);
}

static bool filter_matches(struct ipsecnat_net *in, const struct ipsecnat_sa *sa,
			   const void *filter)
{
	return filter_match(filter, sa);
}

static int sa_fill(struct sk_buff *skb, const struct ipsecnat_sa *sa, unsigned long now)
{
	const struct ipsecnat_flow *f = sa->flow;
	struct nlattr *nest;

	nest = nla_nest_start(skb, IPSECNAT_A_SA);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u8(skb, IPSECNAT_SA_DIR, sa->dir) ||
	    nla_put_in_addr(skb, IPSECNAT_SA_HOST, f->key.host) ||
	    nla_put_in_addr(skb, IPSECNAT_SA_PEER, f->key.peer) ||
	    nla_put_in_addr(skb, IPSECNAT_SA_PUB, f->pub) ||
	    nla_put_be32(skb, IPSECNAT_SA_SPI, sa->key.spi) ||
	    nla_put_u8(skb, IPSECNAT_SA_STATE, sa_state(sa)) ||
	    nla_put_u32(skb, IPSECNAT_SA_AGE, jiffies_to_msecs(now - sa->created) / 1000) ||
	    nla_put_u32(skb, IPSECNAT_SA_IDLE, ipsecnat_sa_idle(sa, now)) ||
	    nla_put_u64_64bit(skb, IPSECNAT_SA_PACKETS, atomic64_read(&sa->packets),
			      IPSECNAT_SA_PAD) ||
	    nla_put_u64_64bit(skb, IPSECNAT_SA_BYTES, atomic64_read(&sa->bytes),
			      IPSECNAT_SA_PAD) ||
	    (sa->is_static && nla_put_flag(skb, IPSECNAT_SA_STATIC)) ||
	    sa_fill_udp(skb, sa)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Dump state across calls: which table, and the walker over it. */
struct sa_dump {
	struct sa_filter filter;
	int dir;
	bool walking;
	struct rhashtable_iter iter;
};

static int sa_dump_start(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct sa_dump *d;
	int err;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	err = filter_parse(ipsecnat_dumpit_attrs(info)[IPSECNAT_A_FILTER], &d->filter,
			   cb->extack);
	if (err) {
		kfree(d);
		return err;
	}
	cb->args[0] = (long)d;
	return 0;
}

static int sa_dump_done(struct netlink_callback *cb)
{
	struct sa_dump *d = (struct sa_dump *)cb->args[0];

	if (d && d->walking)
		rhashtable_walk_exit(&d->iter);
	kfree(d);
	return 0;
}

static int sa_put_msg(struct sk_buff *skb, struct netlink_callback *cb,
		      const struct ipsecnat_sa *sa)
{
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &ipsecnat_genl, NLM_F_MULTI, IPSECNAT_CMD_SA_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (sa_fill(skb, sa, jiffies)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Walk one table from where the last call stopped; true when the skb is full. */
static bool sa_dump_table(struct sk_buff *skb, struct netlink_callback *cb,
			  struct sa_dump *d)
{
	struct ipsecnat_sa *sa;

	for (;;) {
		/* peek: an entry that does not fit stays first for the next call */
		sa = rhashtable_walk_peek(&d->iter);
		if (IS_ERR(sa)) {
			if (PTR_ERR(sa) == -EAGAIN)
				continue;	/* table resized: restarted */
			return false;
		}
		if (!sa)
			return false;
		if (filter_match(&d->filter, sa) && sa_put_msg(skb, cb, sa))
			return true;
		rhashtable_walk_next(&d->iter);
	}
}

static int sa_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ipsecnat_net *in = ipsecnat_pernet(sock_net(skb->sk));
	struct sa_dump *d = (struct sa_dump *)cb->args[0];
	bool full;

	for (; d->dir < IPSECNAT_NR_DIRS; d->dir++) {
		if (!d->walking) {
			rhashtable_walk_enter(&in->sas[d->dir], &d->iter);
			d->walking = true;
		}
		rhashtable_walk_start(&d->iter);
		full = sa_dump_table(skb, cb, d);
		rhashtable_walk_stop(&d->iter);
		if (full)
			return skb->len;
		rhashtable_walk_exit(&d->iter);
		d->walking = false;
	}
	return 0;
}

/* Reply to @info with one message of @cmd whose attributes @fill puts. */
static int reply(struct genl_info *info, u8 cmd, size_t size,
		 int (*fill)(struct sk_buff *msg, struct ipsecnat_net *in, const void *arg),
		 const void *arg)
{
	struct ipsecnat_net *in = ipsecnat_pernet(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = genlmsg_new(size, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ipsecnat_genl, 0, cmd);
	err = hdr ? fill(msg, in, arg) : -EMSGSIZE;
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int fill_count(struct sk_buff *msg, struct ipsecnat_net *in, const void *count)
{
	return nla_put_u32(msg, IPSECNAT_A_COUNT, *(const unsigned int *)count);
}

static int sa_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipsecnat_net *in = ipsecnat_pernet(genl_info_net(info));
	struct sa_filter f;
	unsigned int n;
	int err;

	err = filter_parse(info->attrs[IPSECNAT_A_FILTER], &f, info->extack);
	if (err)
		return err;
	n = ipsecnat_sweep(in, filter_matches, &f, IPSECNAT_C_MAX);
	return reply(info, IPSECNAT_CMD_SA_DEL, nla_total_size(sizeof(u32)), fill_count, &n);
}

static int fill_stats(struct sk_buff *msg, struct ipsecnat_net *in, const void *unused)
{
	struct ipsecnat_stats sum;
	struct nlattr *nest;
	int i;

	ipsecnat_stats_sum(in, &sum);
	if (nla_put_u32(msg, IPSECNAT_A_COUNT, atomic_read(&in->nr_sas)))
		return -EMSGSIZE;
	nest = nla_nest_start(msg, IPSECNAT_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	/* enum ipsecnat_stat is enum ipsecnat_counter shifted by one, and by two past PAD */
	BUILD_BUG_ON(IPSECNAT_C_port_in_use + 2 != IPSECNAT_STAT_PAD);
	BUILD_BUG_ON(IPSECNAT_C_MAX + 1 != IPSECNAT_STAT_MAX);
	for (i = 0; i < IPSECNAT_C_MAX; i++)
		if (nla_put_u64_64bit(msg, i + 1 + (i + 1 >= IPSECNAT_STAT_PAD), sum.c[i],
				      IPSECNAT_STAT_PAD))
			return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return reply(info, IPSECNAT_CMD_STATS_GET, NLMSG_GOODSIZE, fill_stats, NULL);
}

static int fill_settings(struct sk_buff *msg, struct ipsecnat_net *in, const void *unused)
{
	struct ipsecnat_settings s;
	struct nlattr *nest;

	spin_lock_bh(&in->lock);
	s = in->set;
	spin_unlock_bh(&in->lock);
	nest = nla_nest_start(msg, IPSECNAT_A_SETTINGS);
	if (!nest ||
	    nla_put_u32(msg, IPSECNAT_SET_MAX_SAS, s.max_sas) ||
	    nla_put_u32(msg, IPSECNAT_SET_MAX_SAS_PER_HOST, s.max_sas_per_host) ||
	    nla_put_u32(msg, IPSECNAT_SET_PENDING_WINDOW, s.pending_window / HZ) ||
	    nla_put_u32(msg, IPSECNAT_SET_PENDING_TIMEOUT, s.pending_timeout / HZ) ||
	    nla_put_u32(msg, IPSECNAT_SET_ESTABLISHED_TIMEOUT, s.established_timeout / HZ))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int settings_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return reply(info, IPSECNAT_CMD_SETTINGS_GET, NLMSG_GOODSIZE, fill_settings, NULL);
}

static int settings_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipsecnat_net *in = ipsecnat_pernet(genl_info_net(info));
	struct nlattr *tb[IPSECNAT_SET_MAX + 1];
	struct ipsecnat_settings *s = &in->set;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, IPSECNAT_A_SETTINGS)) {
		NL_SET_ERR_MSG(info->extack, "no settings given");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, IPSECNAT_SET_MAX, info->attrs[IPSECNAT_A_SETTINGS],
			       settings_policy, info->extack);
	if (err)
		return err;
	/* memory is the host's: only its initial namespace may go past the module's caps */
	if (!net_eq(genl_info_net(info), &init_net) &&
	    ((tb[IPSECNAT_SET_MAX_SAS] &&
	      nla_get_u32(tb[IPSECNAT_SET_MAX_SAS]) > ipsecnat_default_max_sas()) ||
	     (tb[IPSECNAT_SET_MAX_SAS_PER_HOST] &&
	      nla_get_u32(tb[IPSECNAT_SET_MAX_SAS_PER_HOST]) > ipsecnat_default_max_sas()))) {
		NL_SET_ERR_MSG(info->extack,
			       "above the module's max_sas: only the initial namespace may raise it");
		return -EPERM;
	}
	spin_lock_bh(&in->lock);
	if (tb[IPSECNAT_SET_MAX_SAS])
		WRITE_ONCE(s->max_sas, nla_get_u32(tb[IPSECNAT_SET_MAX_SAS]));
	if (tb[IPSECNAT_SET_MAX_SAS_PER_HOST])
		WRITE_ONCE(s->max_sas_per_host, nla_get_u32(tb[IPSECNAT_SET_MAX_SAS_PER_HOST]));
	if (tb[IPSECNAT_SET_PENDING_WINDOW])
		WRITE_ONCE(s->pending_window, nla_get_u32(tb[IPSECNAT_SET_PENDING_WINDOW]) * HZ);
	if (tb[IPSECNAT_SET_PENDING_TIMEOUT])
		WRITE_ONCE(s->pending_timeout, nla_get_u32(tb[IPSECNAT_SET_PENDING_TIMEOUT]) * HZ);
	if (tb[IPSECNAT_SET_ESTABLISHED_TIMEOUT])
		WRITE_ONCE(s->established_timeout,
			   nla_get_u32(tb[IPSECNAT_SET_ESTABLISHED_TIMEOUT]) * HZ);
	spin_unlock_bh(&in->lock);
	return 0;
}

/* The attributes of an SA to add into @s; the policy checked their types. */
static int sa_add_parse(const struct nlattr *nest, struct nlattr **tb,
			struct ipsecnat_sa_spec *s, struct netlink_ext_ack *extack)
{
	u8 dir = nla_get_u8(tb[IPSECNAT_SA_DIR]);
	bool ike = dir == IPSECNAT_DIR_IKE;
	u64 spi_i;

	/* ESP SAs are keyed by spi, IKE SAs by ike-spi-i (spi, if given, is its top half) */
	if (!tb[ike ? IPSECNAT_SA_IKE_SPI_I : IPSECNAT_SA_SPI]) {
		NL_SET_ERR_MSG(extack, "an ESP SA needs spi, an IKE SA ike-spi-i");
		NL_SET_ERR_ATTR_MISS(extack, nest,
				     ike ? IPSECNAT_SA_IKE_SPI_I : IPSECNAT_SA_SPI);
		return -EINVAL;
	}
	if (!ike && (tb[IPSECNAT_SA_IKE_SPI_I] || tb[IPSECNAT_SA_IKE_SPI_R])) {
		NL_SET_ERR_MSG_ATTR(extack, tb[IPSECNAT_SA_IKE_SPI_I] ?: tb[IPSECNAT_SA_IKE_SPI_R],
				    "IKE SPIs on an ESP SA");
		return -EINVAL;
	}
	s->dir = dir;
	s->host = nla_get_be32(tb[IPSECNAT_SA_HOST]);
	s->peer = nla_get_be32(tb[IPSECNAT_SA_PEER]);
	s->pub = nla_get_be32(tb[IPSECNAT_SA_PUB]);
	s->established = !tb[IPSECNAT_SA_STATE] ||
			 nla_get_u8(tb[IPSECNAT_SA_STATE]) == IPSECNAT_STATE_ESTABLISHED;
	s->is_static = nla_get_flag(tb[IPSECNAT_SA_STATIC]);
	if (ike) {
		spi_i = nla_get_u64(tb[IPSECNAT_SA_IKE_SPI_I]);
		s->spi[0] = htonl(spi_i >> 32);
		s->spi[1] = htonl((u32)spi_i);
		if (tb[IPSECNAT_SA_IKE_SPI_R])
			s->spi_r = nla_get_u64(tb[IPSECNAT_SA_IKE_SPI_R]);
		if (!spi_i ||
		    (tb[IPSECNAT_SA_SPI] && nla_get_be32(tb[IPSECNAT_SA_SPI]) != s->spi[0])) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IPSECNAT_SA_IKE_SPI_I],
					    "ike-spi-i must not be 0, and spi is its top half");
			return -EINVAL;
		}
		if (s->established && !s->spi_r) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IPSECNAT_SA_STATE],
					    "an established IKE SA needs ike-spi-r");
			return -EINVAL;
		}
	} else {
		s->spi[0] = nla_get_be32(tb[IPSECNAT_SA_SPI]);
	}
	if ((!ike && !s->spi[0]) || !s->host || !s->peer || !s->pub) {
		NL_SET_ERR_MSG(extack, "SPI and addresses must not be 0");
		return -EINVAL;
	}
	/* NAT-T ESP and IKE have both ports, plain ESP neither */
	if (tb[IPSECNAT_SA_HOST_PORT])
		s->ports.host = nla_get_be16(tb[IPSECNAT_SA_HOST_PORT]);
	if (tb[IPSECNAT_SA_PEER_PORT])
		s->ports.peer = nla_get_be16(tb[IPSECNAT_SA_PEER_PORT]);
	if (!tb[IPSECNAT_SA_HOST_PORT] != !tb[IPSECNAT_SA_PEER_PORT] ||
	    (tb[IPSECNAT_SA_HOST_PORT] && (!s->ports.host || !s->ports.peer)) ||
	    (ike && !tb[IPSECNAT_SA_HOST_PORT])) {
		NL_SET_ERR_MSG(extack,
			       "host-port and peer-port: both or neither (an IKE SA needs both), not 0");
		return -EINVAL;
	}
	return 0;
}

static int sa_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipsecnat_net *in = ipsecnat_pernet(genl_info_net(info));
	struct nlattr *tb[IPSECNAT_SA_MAX + 1];
	const struct nlattr *nest = info->attrs[IPSECNAT_A_SA];
	static const u8 required[] = {
		IPSECNAT_SA_DIR, IPSECNAT_SA_HOST, IPSECNAT_SA_PEER, IPSECNAT_SA_PUB,
	};
	struct ipsecnat_sa_spec s = {};
	unsigned int i;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, IPSECNAT_A_SA)) {
		NL_SET_ERR_MSG(info->extack, "no SA given");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, IPSECNAT_SA_MAX, nest, sa_policy, info->extack);
	if (err)
		return err;
	for (i = 0; i < ARRAY_SIZE(required); i++) {
		if (!tb[required[i]]) {
			NL_SET_ERR_MSG(info->extack, "SA needs dir, host, peer, pub and spi");
			NL_SET_ERR_ATTR_MISS(info->extack, nest, required[i]);
			return -EINVAL;
		}
	}
	err = sa_add_parse(nest, tb, &s, info->extack);
	if (err)
		return err;
	s.replace = nla_get_flag(info->attrs[IPSECNAT_A_REPLACE]);
	return ipsecnat_sa_add(in, &s, info->extack);
}

static int fwd_parse(struct genl_info *info, struct nlattr **tb, bool need_server)
{
	int err;

	if (GENL_REQ_ATTR_CHECK(info, IPSECNAT_A_FWD)) {
		NL_SET_ERR_MSG(info->extack, "no forward given");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, IPSECNAT_FWD_MAX, info->attrs[IPSECNAT_A_FWD], fwd_policy,
			       info->extack);
	if (err)
		return err;
	if (!tb[IPSECNAT_FWD_PUB] || !nla_get_be32(tb[IPSECNAT_FWD_PUB]) ||
	    (need_server && (!tb[IPSECNAT_FWD_SERVER] || !nla_get_be32(tb[IPSECNAT_FWD_SERVER])))) {
		NL_SET_ERR_MSG(info->extack, "a forward needs pub (and server to add it)");
		return -EINVAL;
	}
	return 0;
}

static int fwd_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipsecnat_net *in = ipsecnat_pernet(genl_info_net(info));
	struct nlattr *tb[IPSECNAT_FWD_MAX + 1];
	int err;

	err = fwd_parse(info, tb, true);
	if (err)
		return err;
	err = ipsecnat_fwd_add(in, nla_get_be32(tb[IPSECNAT_FWD_PUB]),
			       nla_get_be32(tb[IPSECNAT_FWD_SERVER]));
	if (err == -EEXIST)
		NL_SET_ERR_MSG(info->extack, "this public address already has a forward");
	else if (err == -ENOSPC)
		NL_SET_ERR_MSG(info->extack, "too many forwards");
	return err;
}

static int fwd_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipsecnat_net *in = ipsecnat_pernet(genl_info_net(info));
	struct nlattr *tb[IPSECNAT_FWD_MAX + 1];
	int err;

	err = fwd_parse(info, tb, false);
	if (err)
		return err;
	err = ipsecnat_fwd_del(in, nla_get_be32(tb[IPSECNAT_FWD_PUB]));
	if (err)
		NL_SET_ERR_MSG(info->extack, "no forward on this public address");
	return err;
}

static int fill_fwds(struct sk_buff *msg, struct ipsecnat_net *in, const void *unused)
{
	struct rhashtable_iter iter;
	struct ipsecnat_fwd *fwd;
	struct nlattr *nest;
	int err = 0;

	rhashtable_walk_enter(&in->fwds, &iter);
	rhashtable_walk_start(&iter);
	while ((fwd = rhashtable_walk_next(&iter)) != NULL) {
		if (IS_ERR(fwd)) {
			if (PTR_ERR(fwd) == -EAGAIN)
				continue;
			break;
		}
		nest = nla_nest_start(msg, IPSECNAT_A_FWD);
		if (!nest || nla_put_in_addr(msg, IPSECNAT_FWD_PUB, fwd->pub) ||
		    nla_put_in_addr(msg, IPSECNAT_FWD_SERVER, fwd->server)) {
			err = -EMSGSIZE;
			break;
		}
		nla_nest_end(msg, nest);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
	return err;
}

static int fwd_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	/* at most IPSECNAT_MAX_FWDS forwards of 20 bytes: one message */
	return reply(info, IPSECNAT_CMD_FWD_GET, IPSECNAT_MAX_FWDS * 24, fill_fwds, NULL);
}

/*
 * A nat rule from IPSECNAT_A_NAT: the interface name, and to add one, the
 * target's options (ipsecnat_nat_add checks them as the target does).
 */
static int nat_parse(struct genl_info *info, struct ipsecnat_nat_rule *rule, bool add)
{
	const struct nlattr *nest = info->attrs[IPSECNAT_A_NAT];
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[IPSECNAT_NAT_MAX + 1];
	bool pool;
	int err;

	memset(rule, 0, sizeof(*rule));
	if (GENL_REQ_ATTR_CHECK(info, IPSECNAT_A_NAT)) {
		NL_SET_ERR_MSG(extack, "no nat rule given");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, IPSECNAT_NAT_MAX, nest, nat_policy, extack);
	if (err)
		return err;
	if (!tb[IPSECNAT_NAT_IFNAME]) {
		NL_SET_ERR_MSG(extack, "a nat rule needs ifname");
		NL_SET_ERR_ATTR_MISS(extack, nest, IPSECNAT_NAT_IFNAME);
		return -EINVAL;
	}
	if (nla_strscpy(rule->ifname, tb[IPSECNAT_NAT_IFNAME], IFNAMSIZ) < 0) {
		NL_SET_ERR_MSG_ATTR(extack, tb[IPSECNAT_NAT_IFNAME],
				    "ifname longer than 15 characters");
		return -EINVAL;
	}
	if (!dev_valid_name(rule->ifname)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[IPSECNAT_NAT_IFNAME], "ifname is no interface name");
		return -EINVAL;
	}
	if (!add) {
		if (tb[IPSECNAT_NAT_FLAGS] || tb[IPSECNAT_NAT_MIN_ADDR] ||
		    tb[IPSECNAT_NAT_MAX_ADDR]) {
			NL_SET_ERR_MSG(extack, "nat-del takes ifname only");
			return -EINVAL;
		}
		return 0;
	}
	if (tb[IPSECNAT_NAT_FLAGS])
		rule->info.flags = nla_get_u32(tb[IPSECNAT_NAT_FLAGS]);
	pool = rule->info.flags & XT_IPSECNAT_F_TO_SOURCE;
	if (!tb[IPSECNAT_NAT_MIN_ADDR] != !pool || !tb[IPSECNAT_NAT_MAX_ADDR] != !pool) {
		NL_SET_ERR_MSG(extack,
			       "min-addr and max-addr go with the to-source flag, and only with it");
		return -EINVAL;
	}
	if (pool) {
		rule->info.min_addr = nla_get_be32(tb[IPSECNAT_NAT_MIN_ADDR]);
		rule->info.max_addr = nla_get_be32(tb[IPSECNAT_NAT_MAX_ADDR]);
	}
	return 0;
}

static int nat_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipsecnat_net *in = ipsecnat_pernet(genl_info_net(info));
	struct ipsecnat_nat_rule rule;
	int err;

	err = nat_parse(info, &rule, true);
	if (err)
		return err;
	return ipsecnat_nat_add(in, &rule, nla_get_flag(info->attrs[IPSECNAT_A_REPLACE]),
				info->extack);
}

static int nat_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ipsecnat_net *in = ipsecnat_pernet(genl_info_net(info));
	struct ipsecnat_nat_rule rule;
	int err;

	err = nat_parse(info, &rule, false);
	if (err)
		return err;
	err = ipsecnat_nat_del(in, rule.ifname);
	if (err == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "no nat rule on this interface");
	return err;
}

static int fill_nats(struct sk_buff *msg, struct ipsecnat_net *in, const void *unused)
{
	struct ipsecnat_nat_rule rules[IPSECNAT_MAX_NAT_RULES];
	const struct xt_ipsecnat_tginfo *t;
	unsigned int i, n;
	struct nlattr *nest;

	n = ipsecnat_nat_get(in, rules);
	for (i = 0; i < n; i++) {
		t = &rules[i].info;
		nest = nla_nest_start(msg, IPSECNAT_A_NAT);
		if (!nest || nla_put_string(msg, IPSECNAT_NAT_IFNAME, rules[i].ifname) ||
		    nla_put_u32(msg, IPSECNAT_NAT_FLAGS, t->flags) ||
		    ((t->flags & XT_IPSECNAT_F_TO_SOURCE) &&
		     (nla_put_in_addr(msg, IPSECNAT_NAT_MIN_ADDR, t->min_addr) ||
		      nla_put_in_addr(msg, IPSECNAT_NAT_MAX_ADDR, t->max_addr))))
			return -EMSGSIZE;
		nla_nest_end(msg, nest);
	}
	return 0;
}

static int nat_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	/* at most IPSECNAT_MAX_NAT_RULES rules of 48 bytes: one message */
	return reply(info, IPSECNAT_CMD_NAT_GET, IPSECNAT_MAX_NAT_RULES * 64, fill_nats, NULL);
}

static const struct genl_ops ipsecnat_genl_ops[] = {
	{
		.cmd	= IPSECNAT_CMD_SA_GET,
		.start	= sa_dump_start,
		.dumpit	= sa_dump,
		.done	= sa_dump_done,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_SA_DEL,
		.doit	= sa_del_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_STATS_GET,
		.doit	= stats_get_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_SETTINGS_GET,
		.doit	= settings_get_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_SETTINGS_SET,
		.doit	= settings_set_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_SA_ADD,
		.doit	= sa_add_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_FWD_ADD,
		.doit	= fwd_add_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_FWD_DEL,
		.doit	= fwd_del_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_FWD_GET,
		.doit	= fwd_get_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_NAT_ADD,
		.doit	= nat_add_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_NAT_DEL,
		.doit	= nat_del_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPSECNAT_CMD_NAT_GET,
		.doit	= nat_get_doit,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group ipsecnat_mcgrps[] = {
	{ .name = IPSECNAT_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family ipsecnat_genl __ro_after_init = {
	.name		= IPSECNAT_GENL_NAME,
	.version	= IPSECNAT_GENL_VERSION,
	.maxattr	= IPSECNAT_A_MAX,
	.policy		= ipsecnat_policy,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.ops		= ipsecnat_genl_ops,
	.n_ops		= ARRAY_SIZE(ipsecnat_genl_ops),
	.mcgrps		= ipsecnat_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(ipsecnat_mcgrps),
};
MODULE_ALIAS_GENL_FAMILY(IPSECNAT_GENL_NAME);

/* Events go out only while someone listens; callers may hold the netns lock. */
static struct sk_buff *event_start(struct ipsecnat_net *in, u8 event, void **hdr)
{
	struct sk_buff *msg;

	if (!genl_has_listeners(&ipsecnat_genl, in->net, 0))
		return NULL;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &ipsecnat_genl, 0, IPSECNAT_CMD_EVENT);
	if (!*hdr || nla_put_u8(msg, IPSECNAT_A_EVENT, event)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void event_send(struct ipsecnat_net *in, struct sk_buff *msg, void *hdr)
{
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&ipsecnat_genl, in->net, msg, 0, 0, GFP_ATOMIC);
}

void ipsecnat_notify_sa(struct ipsecnat_net *in, u8 event, const struct ipsecnat_sa *sa)
{
	struct sk_buff *msg;
	void *hdr;

	msg = event_start(in, event, &hdr);
	if (!msg)
		return;
	if (sa_fill(msg, sa, jiffies)) {
		nlmsg_free(msg);
		return;
	}
	event_send(in, msg, hdr);
}

/* An event about a packet that has no SA (held, refused, ambiguous). */
void ipsecnat_notify(struct ipsecnat_net *in, u8 event, u8 dir, __be32 host, __be32 peer,
		     __be32 spi)
{
	struct sk_buff *msg;
	struct nlattr *nest;
	void *hdr;

	msg = event_start(in, event, &hdr);
	if (!msg)
		return;
	nest = nla_nest_start(msg, IPSECNAT_A_SA);
	if (!nest || nla_put_u8(msg, IPSECNAT_SA_DIR, dir) ||
	    (host && nla_put_in_addr(msg, IPSECNAT_SA_HOST, host)) ||
	    nla_put_in_addr(msg, IPSECNAT_SA_PEER, peer) ||
	    nla_put_be32(msg, IPSECNAT_SA_SPI, spi)) {
		nlmsg_free(msg);
		return;
	}
	nla_nest_end(msg, nest);
	event_send(in, msg, hdr);
}

int ipsecnat_genl_init(void)
{
	return genl_register_family(&ipsecnat_genl);
}

void ipsecnat_genl_exit(void)
{
	genl_unregister_family(&ipsecnat_genl);
}
