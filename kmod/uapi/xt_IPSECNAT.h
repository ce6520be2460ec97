/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * xt_IPSECNAT: iptables target of the ipsecnat module.
 *
 * Only valid in the mangle table's POSTROUTING chain. Translates IPsec
 * traffic (ESP, and with the flags below IKE and NAT-T on their standard
 * ports) of inside hosts to a public address and lets everything else
 * continue down the chain.
 */
#ifndef _XT_IPSECNAT_H
#define _XT_IPSECNAT_H

#include <linux/types.h>

enum {
	/* min_addr..max_addr is the public address pool; else masquerade */
	XT_IPSECNAT_F_TO_SOURCE = 1 << 0,
	/* IKE from inside port 500 keeps port 500 (--preserve-ike) */
	XT_IPSECNAT_F_IKE = 1 << 1,
	/* NAT-T from inside port 4500 keeps port 4500 (--preserve-natt) */
	XT_IPSECNAT_F_NATT = 1 << 2,
};

#define XT_IPSECNAT_F_ALL	(XT_IPSECNAT_F_TO_SOURCE | XT_IPSECNAT_F_IKE | \
				 XT_IPSECNAT_F_NATT)

struct xt_ipsecnat_tginfo {
	__u32	flags;
	__be32	min_addr;	/* network byte order, inclusive */
	__be32	max_addr;
};

#endif /* _XT_IPSECNAT_H */
