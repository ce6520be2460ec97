/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probes live here and nowhere else, so the rest of the
 * module reads like upstream code. Floor: Linux 6.1 (Debian 12).
 */
#ifndef _IPSECNAT_COMPAT_H
#define _IPSECNAT_COMPAT_H

#include <linux/kconfig.h>

/* udp.c asks udp4_lib_lookup() whether the gateway owns a port itself */
#if !IS_ENABLED(CONFIG_NF_SOCKET_IPV4) && !IS_ENABLED(CONFIG_NF_TPROXY_IPV4)
#error "ipsecnat needs udp4_lib_lookup(): enable CONFIG_NF_SOCKET_IPV4"
#endif

#endif /* _IPSECNAT_COMPAT_H */
