// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
static int __init ipsecnat_init(void) { return 0; }
static void __exit ipsecnat_exit(void) { }
module_init(ipsecnat_init);
module_exit(ipsecnat_exit);
MODULE_LICENSE("GPL");
