// SPDX-License-Identifier: GPL-2.0
/*
 * iptables extension for the IPSECNAT target (mangle POSTROUTING only).
 *
 *   -j IPSECNAT [--to-source ADDR[-ADDR]] [--preserve-ike] [--preserve-natt]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <xtables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include "xt_IPSECNAT.h"

enum {
	O_TO_SOURCE = 0,
	O_PRESERVE_IKE,
	O_PRESERVE_NATT,
};

static const struct xt_option_entry ipsecnat_opts[] = {
	{ .name = "to-source", .id = O_TO_SOURCE, .type = XTTYPE_STRING },
	{ .name = "preserve-ike", .id = O_PRESERVE_IKE, .type = XTTYPE_NONE },
	{ .name = "preserve-natt", .id = O_PRESERVE_NATT, .type = XTTYPE_NONE },
	XTOPT_TABLEEND,
};

static void ipsecnat_help(void)
{
	printf("IPSECNAT target options (mangle table, POSTROUTING chain):\n"
	       " --to-source ADDR[-ADDR]\n"
	       "				Public address, or pool of addresses, for\n"
	       "				inside hosts' ESP. Default: the outgoing\n"
	       "				interface's address, like MASQUERADE.\n"
	       " --preserve-ike			IKE from inside port 500 leaves from\n"
	       "				public port 500 for every host; replies\n"
	       "				are told apart by IKE SPI.\n"
	       " --preserve-natt		NAT-T (UDP 4500: IKE, ESP in UDP,\n"
	       "				keepalives) leaves from public port 4500\n"
	       "				for every host; told apart by SPI.\n"
	       "Translates ESP per SPI so several inside hosts can use IPsec to\n"
	       "the same peer through one public address; other traffic\n"
	       "continues down the chain untouched.\n");
}

static void parse_addr(const char *s, __be32 *addr)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		xtables_error(PARAMETER_PROBLEM,
			      "IPSECNAT: --to-source: \"%s\" is not an IPv4 address", s);
	*addr = a.s_addr;
}

/* No address of lo..hi (host order) is 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0 and up. */
static bool unicast(uint32_t lo, uint32_t hi)
{
	return lo >= 0x01000000 && hi < 0xe0000000 && (hi < 0x7f000000 || lo > 0x7fffffff);
}

static void ipsecnat_parse(struct xt_option_call *cb)
{
	struct xt_ipsecnat_tginfo *info = cb->data;
	char buf[2 * INET_ADDRSTRLEN + 2], *dash;

	xtables_option_parse(cb);
	switch (cb->entry->id) {
	case O_PRESERVE_IKE:
		info->flags |= XT_IPSECNAT_F_IKE;
		return;
	case O_PRESERVE_NATT:
		info->flags |= XT_IPSECNAT_F_NATT;
		return;
	}
	if (strlen(cb->arg) >= sizeof(buf))
		xtables_error(PARAMETER_PROBLEM,
			      "IPSECNAT: bad --to-source \"%s\"", cb->arg);
	strcpy(buf, cb->arg);
	dash = strchr(buf, '-');
	if (dash)
		*dash++ = '\0';
	parse_addr(buf, &info->min_addr);
	if (dash)
		parse_addr(dash, &info->max_addr);
	else
		info->max_addr = info->min_addr;
	if (ntohl(info->min_addr) > ntohl(info->max_addr))
		xtables_error(PARAMETER_PROBLEM,
			      "IPSECNAT: --to-source range \"%s\" runs backwards (start > end)",
			      cb->arg);
	if (!unicast(ntohl(info->min_addr), ntohl(info->max_addr)))
		xtables_error(PARAMETER_PROBLEM,
			      "IPSECNAT: --to-source \"%s\": 0.0.0.0/8, loopback, multicast and "
			      "broadcast cannot be public addresses",
			      cb->arg);
	if (ntohl(info->max_addr) - ntohl(info->min_addr) >= 65536)
		xtables_error(PARAMETER_PROBLEM,
			      "IPSECNAT: --to-source pool \"%s\" is larger than 65536 addresses",
			      cb->arg);
	info->flags |= XT_IPSECNAT_F_TO_SOURCE;
}

static void print_range(const struct xt_ipsecnat_tginfo *info)
{
	struct in_addr a = { .s_addr = info->min_addr };

	printf("%s", xtables_ipaddr_to_numeric(&a));
	if (info->max_addr != info->min_addr) {
		a.s_addr = info->max_addr;
		printf("-%s", xtables_ipaddr_to_numeric(&a));
	}
}

/*
 * iptables -L. Without --to-source the address is the outgoing interface's:
 * say so, and not as "masquerade" (as up to 0.2), which reads as the
 * MASQUERADE target. Nothing parses this line; iptables-save (below) prints
 * no option for that default.
 */
static void ipsecnat_print(const void *ip, const struct xt_entry_target *target,
			   int numeric)
{
	const struct xt_ipsecnat_tginfo *info = (const void *)target->data;

	printf(" to:");
	if (info->flags & XT_IPSECNAT_F_TO_SOURCE)
		print_range(info);
	else
		printf("interface-address");
	if (info->flags & XT_IPSECNAT_F_IKE)
		printf(" preserve-ike");
	if (info->flags & XT_IPSECNAT_F_NATT)
		printf(" preserve-natt");
}

static void ipsecnat_save(const void *ip, const struct xt_entry_target *target)
{
	const struct xt_ipsecnat_tginfo *info = (const void *)target->data;

	if (info->flags & XT_IPSECNAT_F_TO_SOURCE) {
		printf(" --to-source ");
		print_range(info);
	}
	if (info->flags & XT_IPSECNAT_F_IKE)
		printf(" --preserve-ike");
	if (info->flags & XT_IPSECNAT_F_NATT)
		printf(" --preserve-natt");
}

/*
 * nftables has no IPSECNAT statement, and iptables-translate and
 * iptables-restore-translate turn a rule they cannot translate into a
 * comment and succeed: the translated gateway would be back to the bug
 * without a word. Stop them loudly. nft itself (listing iptables-nft
 * rules) gets no translation, as for any target without one.
 */
/*
 * No nft statement does this: fail, and name the module's own nat rule that
 * does (params->ip is the rule's struct ipt_entry, whose first member is
 * its struct ipt_ip with -o).
 */
static int ipsecnat_xlate(struct xt_xlate *xl, const struct xt_xlate_tg_params *params)
{
	const struct xt_ipsecnat_tginfo *info = (const void *)params->target->data;
	const struct ipt_ip *ip = params->ip;
	struct in_addr lo = { .s_addr = info->min_addr }, hi = { .s_addr = info->max_addr };
	char range[40] = "";

	if (!strstr(xt_params->program_name, "-translate"))
		return 0;
	if (info->flags & XT_IPSECNAT_F_TO_SOURCE) {
		snprintf(range, sizeof(range), " to-source %s", xtables_ipaddr_to_numeric(&lo));
		if (hi.s_addr != lo.s_addr)
			snprintf(range + strlen(range), sizeof(range) - strlen(range), "-%s",
				 xtables_ipaddr_to_numeric(&hi));
	}
	xtables_error(OTHER_PROBLEM,
		      "IPSECNAT has no nftables equivalent: a translated ruleset would lose it.\n"
		      "Use the module's own nat rule beside the nft ruleset instead:\n"
		      "  ipsecnat nat add dev %s%s%s%s\n"
		      "(README \"nftables\"), or keep this rule in iptables.",
		      ip->outiface[0] ? ip->outiface : "IFNAME", range,
		      info->flags & XT_IPSECNAT_F_IKE ? " preserve-ike" : "",
		      info->flags & XT_IPSECNAT_F_NATT ? " preserve-natt" : "");
	return 0;
}

static struct xtables_target ipsecnat_tg_reg = {
	.name		= "IPSECNAT",
	.version	= XTABLES_VERSION,
	.family		= NFPROTO_IPV4,
	.revision	= 0,
	.size		= XT_ALIGN(sizeof(struct xt_ipsecnat_tginfo)),
	.userspacesize	= XT_ALIGN(sizeof(struct xt_ipsecnat_tginfo)),
	.help		= ipsecnat_help,
	.x6_parse	= ipsecnat_parse,
	.x6_options	= ipsecnat_opts,
	.print		= ipsecnat_print,
	.save		= ipsecnat_save,
	.xlate		= ipsecnat_xlate,
};

static void __attribute__((constructor)) ipsecnat_xt_init(void)
{
	xtables_register_target(&ipsecnat_tg_reg);
}
