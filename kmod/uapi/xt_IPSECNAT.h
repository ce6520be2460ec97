/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * xt_IPSECNAT: iptables target of the ipsecnat module.
 *
 * Only valid in the mangle table's POSTROUTING chain. Translates IPsec
 * traffic (ESP) of inside hosts to a public address and lets everything
 * else continue down the chain.
 */
#ifndef _XT_IPSECNAT_H
#define _XT_IPSECNAT_H

#include <linux/types.h>

enum {
	/* min_addr..max_addr is the public address pool; else masquerade */
	XT_IPSECNAT_F_TO_SOURCE = 1 << 0,
};

#define XT_IPSECNAT_F_ALL	XT_IPSECNAT_F_TO_SOURCE

struct xt_ipsecnat_tginfo {
	__u32	flags;
	__be32	min_addr;	/* network byte order, inclusive */
	__be32	max_addr;
};

#endif /* _XT_IPSECNAT_H */
