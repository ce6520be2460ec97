/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probes live here and nowhere else, so the rest of the
 * module reads like upstream code. Floor: Linux 6.1 (Debian 12); nothing
 * the module uses differs between 6.1 and the kernels it was tested on, so
 * there is no probe yet.
 */
#ifndef _IPSECNAT_COMPAT_H
#define _IPSECNAT_COMPAT_H

#endif /* _IPSECNAT_COMPAT_H */
