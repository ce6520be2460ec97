/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probes live here and nowhere else. Floor: Linux 6.1.
 */
#ifndef _IPSECNAT_COMPAT_H
#define _IPSECNAT_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "ipsecnat needs Linux 6.1 or newer"
#endif

#endif /* _IPSECNAT_COMPAT_H */
