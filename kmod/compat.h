/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probes live here and nowhere else, so the rest of the
 * module reads like upstream code. Floor: Linux 6.1 (Debian 12).
 */
#ifndef _IPSECNAT_COMPAT_H
#define _IPSECNAT_COMPAT_H

#include <linux/kconfig.h>
#include <net/genetlink.h>

/*
 * The floor, Linux 6.1 (Debian 12), probed by a feature it brought with it:
 * the generic netlink helpers (GENL_REQ_ATTR_CHECK, 6.0) the control plane
 * is written with. Older kernels are not tested and not supported.
 */
#ifndef GENL_REQ_ATTR_CHECK
#error "ipsecnat needs Linux 6.1 or newer"
#endif

/*
 * The event group shows inside hosts, peers and SPIs: only CAP_NET_ADMIN in
 * the netns may join it. Multicast groups carry their own permission flags
 * since 6.7 (stable 6.1.y and 6.6.y have them too); without them any local
 * user could listen, so such a kernel is refused.
 */
#ifndef GENL_MCAST_CAP_NET_ADMIN
#error "ipsecnat needs GENL_MCAST_CAP_NET_ADMIN (Linux 6.1.66+ or 6.7+)"
#endif

/* udp.c asks udp4_lib_lookup() whether the gateway owns a port itself */
#if !IS_ENABLED(CONFIG_NF_SOCKET_IPV4) && !IS_ENABLED(CONFIG_NF_TPROXY_IPV4)
#error "ipsecnat needs udp4_lib_lookup(): enable CONFIG_NF_SOCKET_IPV4"
#endif

/*
 * Since Linux 6.2 a dump's parsed attributes live in an embedded genl_info
 * (Kbuild greps include/net/genetlink.h and defines the probe).
 */
#ifdef IPSECNAT_HAVE_DUMPIT_GENL_INFO
#define ipsecnat_dumpit_attrs(dinfo)	((dinfo)->info.attrs)
#else
#define ipsecnat_dumpit_attrs(dinfo)	((dinfo)->attrs)
#endif

#endif /* _IPSECNAT_COMPAT_H */
