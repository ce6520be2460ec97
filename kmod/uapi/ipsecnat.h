/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ipsecnat generic netlink family "ipsecnat", version 1.
 *
 * Per network namespace. Every command needs CAP_NET_ADMIN over the
 * namespace's owning user namespace, dumps included. Attributes are
 * validated strictly: unknown ones are rejected with an extack message.
 * Addresses and SPIs are carried in network byte order, as on the wire.
 *
 * kmod/uapi/ipsecnat.yaml is the source of truth: this file is what the
 * kernel's YNL generator makes of it (tools/net/ynl/ynl-gen-c.py --mode
 * uapi), plus comments, and `make lint` fails when the two differ in
 * anything but comments and white space. Change the YAML first.
 */
#ifndef _UAPI_LINUX_IPSECNAT_H
#define _UAPI_LINUX_IPSECNAT_H

#define IPSECNAT_GENL_NAME	"ipsecnat"
#define IPSECNAT_GENL_VERSION	1

enum ipsecnat_sa_dir {
	IPSECNAT_DIR_OUT,	/* inside host -> peer, keyed (peer, SPI) */
	IPSECNAT_DIR_IN,	/* peer -> public address, keyed (public, peer, SPI) */
	IPSECNAT_DIR_IKE,	/* IKE SA, both ways, keyed (public, peer, initiator
				 * SPI); IPSECNAT_SA_SPI is its first 4 bytes
				 */
};

enum ipsecnat_state {
	IPSECNAT_STATE_PENDING,		/* outbound SA not answered yet; IKE SA
					 * without a responder SPI yet
					 */
	IPSECNAT_STATE_ESTABLISHED,
};

enum ipsecnat_event {
	IPSECNAT_EV_CREATED,	/* new outbound SA (pending until answered) */
	IPSECNAT_EV_LEARNED,	/* inbound SPI learned by the claiming host */
	IPSECNAT_EV_REKEYED,	/* inbound SPI learned by the only host (peer rekey) */
	IPSECNAT_EV_ADDED,	/* added by IPSECNAT_CMD_SA_ADD */
	IPSECNAT_EV_EXPIRED,	/* removed by a timeout */
	IPSECNAT_EV_DELETED,	/* removed by a command or an address change */
	IPSECNAT_EV_HELD,	/* outbound held back: another host is learning */
	IPSECNAT_EV_REFUSED,	/* new SA refused at a cap */
	IPSECNAT_EV_AMBIGUOUS,	/* inbound SPI several hosts could own: dropped */
};

enum ipsecnat_attr {
	IPSECNAT_A_UNSPEC,
	IPSECNAT_A_SA,		/* nest of enum ipsecnat_sa_attr */
	IPSECNAT_A_FILTER,	/* nest of enum ipsecnat_sa_attr: all given must match */
	IPSECNAT_A_STATS,	/* nest of enum ipsecnat_stat, each u64 */
	IPSECNAT_A_SETTINGS,	/* nest of enum ipsecnat_setting, each u32 */
	IPSECNAT_A_COUNT,	/* u32 */
	IPSECNAT_A_EVENT,	/* u8, enum ipsecnat_event */
	IPSECNAT_A_FWD,		/* nest of enum ipsecnat_fwd_attr */
	IPSECNAT_A_REPLACE,	/* flag, sa-add: replace an SA with the same key;
				 * nat-add: replace the interface's rule
				 */
	IPSECNAT_A_NAT,		/* nest of enum ipsecnat_nat_attr */
	__IPSECNAT_A_MAX
};

#define IPSECNAT_A_MAX (__IPSECNAT_A_MAX - 1)

enum ipsecnat_sa_attr {
	IPSECNAT_SA_UNSPEC,
	IPSECNAT_SA_DIR,	/* u8, enum ipsecnat_sa_dir */
	IPSECNAT_SA_HOST,	/* be32, inside host */
	IPSECNAT_SA_PEER,	/* be32 */
	IPSECNAT_SA_PUB,	/* be32, public address */
	IPSECNAT_SA_SPI,	/* be32, as on the wire; 0 is invalid */
	IPSECNAT_SA_STATE,	/* u8, enum ipsecnat_state */
	IPSECNAT_SA_AGE,	/* u32, seconds since created */
	IPSECNAT_SA_IDLE,	/* u32, seconds since last packet */
	IPSECNAT_SA_PACKETS,	/* u64 */
	IPSECNAT_SA_BYTES,	/* u64 */
	IPSECNAT_SA_PAD,
	IPSECNAT_SA_STATIC,	/* flag: never expires (static binding) */
	IPSECNAT_SA_IKE_SPI_I,	/* u64, IKE SAs: initiator SPI (as a big-endian number) */
	IPSECNAT_SA_IKE_SPI_R,	/* u64, IKE SAs: responder SPI; 0 until the host used one */
	IPSECNAT_SA_HOST_PORT,	/* be16, UDP port of the host and of the public side */
	IPSECNAT_SA_PEER_PORT,	/* be16, UDP port of the peer; both absent for plain ESP */
	/* sa-add takes every attribute but age, idle, packets and bytes;
	 * filters take neither the IKE SPIs nor the ports
	 */
	__IPSECNAT_SA_MAX
};

#define IPSECNAT_SA_MAX (__IPSECNAT_SA_MAX - 1)

enum ipsecnat_fwd_attr {
	IPSECNAT_FWD_UNSPEC,
	IPSECNAT_FWD_PUB,	/* be32 */
	IPSECNAT_FWD_SERVER,	/* be32, inside server */
	__IPSECNAT_FWD_MAX
};

#define IPSECNAT_FWD_MAX (__IPSECNAT_FWD_MAX - 1)

/* A nat rule: "iptables -t mangle -A POSTROUTING -o IFNAME -j IPSECNAT" without iptables */
enum ipsecnat_nat_attr {
	IPSECNAT_NAT_UNSPEC,
	IPSECNAT_NAT_IFNAME,	/* string, out interface (at most 15 characters) */
	IPSECNAT_NAT_MIN_ADDR,	/* be32, pool (--to-source), with XT_IPSECNAT_F_TO_SOURCE */
	IPSECNAT_NAT_MAX_ADDR,	/* be32, inclusive */
	IPSECNAT_NAT_FLAGS,	/* u32, XT_IPSECNAT_F_* of xt_IPSECNAT.h */
	__IPSECNAT_NAT_MAX
};

#define IPSECNAT_NAT_MAX (__IPSECNAT_NAT_MAX - 1)

enum ipsecnat_stat {
	IPSECNAT_STAT_UNSPEC,
	IPSECNAT_STAT_OUT_TRANSLATED,
	IPSECNAT_STAT_IN_TRANSLATED,
	IPSECNAT_STAT_LEARNED,
	IPSECNAT_STAT_REKEY_PEER,
	IPSECNAT_STAT_HELD_BACK,
	IPSECNAT_STAT_AMBIGUOUS,
	IPSECNAT_STAT_UNKNOWN_SPI,
	IPSECNAT_STAT_LOCAL_SPI,
	IPSECNAT_STAT_SPI_CONFLICT,
	IPSECNAT_STAT_CAP_NETNS,
	IPSECNAT_STAT_CAP_HOST,
	IPSECNAT_STAT_NO_MEMORY,
	IPSECNAT_STAT_NO_ADDRESS,
	IPSECNAT_STAT_MALFORMED,
	IPSECNAT_STAT_ICMP_TRANSLATED,
	IPSECNAT_STAT_EXPIRED,
	IPSECNAT_STAT_FORWARDED,
	IPSECNAT_STAT_IKE_LEARNED,
	IPSECNAT_STAT_IKE_MISMATCH,
	IPSECNAT_STAT_KEEPALIVE_DROPPED,
	IPSECNAT_STAT_PORT_IN_USE,
	IPSECNAT_STAT_PAD,
	IPSECNAT_STAT_LEARNED_PAIR,	/* added after PAD: the numbers above are fixed */
	IPSECNAT_STAT_LEARNED_IKE,
	IPSECNAT_STAT_IKE_PACED,
	IPSECNAT_STAT_STRANGERS_FULL,
	IPSECNAT_STAT_FOREIGN_IFACE,
	IPSECNAT_STAT_FOREIGN_ZONE,
	IPSECNAT_STAT_LOCAL_SPI_PACED,
	IPSECNAT_STAT_CONTESTED,
	IPSECNAT_STAT_IKE_MOVED,
	__IPSECNAT_STAT_MAX
};

#define IPSECNAT_STAT_MAX (__IPSECNAT_STAT_MAX - 1)

enum ipsecnat_setting {
	IPSECNAT_SET_UNSPEC,
	IPSECNAT_SET_MAX_SAS,			/* u32, 1..16777216 */
	IPSECNAT_SET_MAX_SAS_PER_HOST,		/* u32, 1..16777216 */
	IPSECNAT_SET_PENDING_WINDOW,		/* u32 seconds, 1..3600 */
	IPSECNAT_SET_PENDING_TIMEOUT,		/* u32 seconds, 1..86400 */
	IPSECNAT_SET_ESTABLISHED_TIMEOUT,	/* u32 seconds, 1..604800 */
	__IPSECNAT_SET_MAX
};

#define IPSECNAT_SET_MAX (__IPSECNAT_SET_MAX - 1)

enum ipsecnat_cmd {
	IPSECNAT_CMD_UNSPEC,
	/* dump SAs; optional IPSECNAT_A_FILTER; replies carry IPSECNAT_A_SA */
	IPSECNAT_CMD_SA_GET,
	/* delete SAs matching IPSECNAT_A_FILTER (all without one: flush);
	 * the reply carries IPSECNAT_A_COUNT, the number deleted
	 */
	IPSECNAT_CMD_SA_DEL,
	/* counters: reply carries IPSECNAT_A_STATS and IPSECNAT_A_COUNT (SAs) */
	IPSECNAT_CMD_STATS_GET,
	/* settings: reply carries IPSECNAT_A_SETTINGS */
	IPSECNAT_CMD_SETTINGS_GET,
	/* change the settings present in IPSECNAT_A_SETTINGS */
	IPSECNAT_CMD_SETTINGS_SET,
	/* add one SA from IPSECNAT_A_SA (dir, host, peer, pub, spi, or for IKE
	 * ike-spi-i and both ports; state, static, ports, ike-spi-r optional),
	 * in exactly the state given: a static binding, or an imported one.
	 * EEXIST if the key is taken, unless IPSECNAT_A_REPLACE replaces that SA.
	 */
	IPSECNAT_CMD_SA_ADD,
	/* multicast on group "events": IPSECNAT_A_EVENT and IPSECNAT_A_SA */
	IPSECNAT_CMD_EVENT,
	/* ESP forward from IPSECNAT_A_FWD (pub, server): inbound ESP to pub
	 * with an SPI no inside host can own goes to server
	 */
	IPSECNAT_CMD_FWD_ADD,
	IPSECNAT_CMD_FWD_DEL,	/* IPSECNAT_A_FWD with pub */
	IPSECNAT_CMD_FWD_GET,	/* reply: one IPSECNAT_A_FWD per forward */
	/* nat rule from IPSECNAT_A_NAT (ifname; flags, min-addr, max-addr as
	 * the iptables target's options): EEXIST if ifname has one, unless
	 * IPSECNAT_A_REPLACE replaces it; ENOSPC past 16 rules
	 */
	IPSECNAT_CMD_NAT_ADD,
	IPSECNAT_CMD_NAT_DEL,	/* IPSECNAT_A_NAT with ifname; ENOENT if none */
	IPSECNAT_CMD_NAT_GET,	/* reply: one IPSECNAT_A_NAT per rule */
	__IPSECNAT_CMD_MAX
};

#define IPSECNAT_CMD_MAX (__IPSECNAT_CMD_MAX - 1)

#define IPSECNAT_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_IPSECNAT_H */
