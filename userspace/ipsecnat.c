// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecnat: show and steer the ipsecnat module of the current network
 * namespace over generic netlink (family "ipsecnat", uapi/ipsecnat.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include "ipsecnat.h"

static bool json;

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("Error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ipsecnat [-j] [show|list] [FILTER]\n"
		"       ipsecnat del FILTER\n"
		"       ipsecnat flush\n"
		"       ipsecnat [-j] stats\n"
		"       ipsecnat [-j] get\n"
		"       ipsecnat set SETTING VALUE [SETTING VALUE]...\n"
		"       ipsecnat help\n"
		"FILTER := [ host ADDR ] [ peer ADDR ] [ pub ADDR ] [ spi SPI ]\n"
		"          [ state { pending | established } ] [ dir { in | out } ]\n"
		"SETTING := { max-sas | max-sas-per-host | pending-window |\n"
		"             pending-timeout | established-timeout }  (timeouts in seconds)\n"
		"-j prints JSON. Works in the current network namespace\n"
		"(ip netns exec NAME ipsecnat ...) and needs CAP_NET_ADMIN there.\n");
}

/* ---- netlink plumbing ---- */

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	uint16_t family;
	char buf[32768];	/* what libmnl suggests for dumps */
};

static struct nlmsghdr *msg_start(struct nl *nl, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = IPSECNAT_GENL_VERSION;
	return nlh;
}

/* NLMSG_ERROR: report the kernel's extack message, like iproute2 */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const char *msg = NULL;
	const struct nlattr *a;
	unsigned int off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return MNL_CB_ERROR;
	if (!err->error)
		return MNL_CB_STOP;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		off = sizeof(*err);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
		mnl_attr_for_each(a, nlh, off)
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
				msg = mnl_attr_get_str(a);
	}
	errno = -err->error;
	if (errno == EPERM)
		die("%s: need CAP_NET_ADMIN in this network namespace", strerror(errno));
	if (msg)
		die("%s", msg);
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

static void talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
	};
	int n;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		die("netlink send: %s", strerror(errno));
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0)
			die("netlink receive: %s", strerror(errno));
		n = mnl_cb_run2(nl->buf, n, nl->seq, nl->portid, cb, data, ctl, NLMSG_MIN_TYPE);
		if (n < 0)
			die("%s", strerror(errno));
		if (n == MNL_CB_STOP)
			return;
	}
}

/* The top-level attribute @type of a generic netlink message, or NULL. */
static const struct nlattr *find_attr(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a = find_attr(nlh, CTRL_ATTR_FAMILY_ID);

	if (a)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static void nl_open(struct nl *nl)
{
	struct nlmsghdr *nlh;
	int one = 1;

	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink socket: %s", strerror(errno));
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = time(NULL);
	nlh = msg_start(nl, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, IPSECNAT_GENL_NAME);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		die("netlink send: %s", strerror(errno));
	for (;;) {
		int n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));

		if (n < 0)
			die("netlink receive: %s", strerror(errno));
		n = mnl_cb_run(nl->buf, n, nl->seq, nl->portid, family_cb, &nl->family);
		if (n < 0) {
			if (errno == ENOENT)
				die("the ipsecnat module is not loaded (modprobe ipsecnat)");
			die("resolving the ipsecnat family: %s", strerror(errno));
		}
		if (n == MNL_CB_STOP)
			break;
	}
}

/* ---- command line ---- */

static uint32_t parse_addr(const char *what, const char *s)
{
	struct in_addr a;

	if (!s)
		die("\"%s\" needs an address", what);
	if (inet_pton(AF_INET, s, &a) != 1)
		die("invalid %s address \"%s\"", what, s);
	return a.s_addr;
}

static uint32_t parse_u32(const char *what, const char *s, int base)
{
	unsigned long v;
	char *end;

	if (!s)
		die("\"%s\" needs a value", what);
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || end == s || v > UINT32_MAX)
		die("invalid %s \"%s\"", what, s);
	return v;
}

/* FILTER words into an IPSECNAT_A_FILTER nest */
static void put_filter(struct nlmsghdr *nlh, char **argv)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, IPSECNAT_A_FILTER);

	for (; *argv; argv += 2) {
		const char *k = argv[0], *v = argv[1];

		if (!strcmp(k, "host"))
			mnl_attr_put_u32(nlh, IPSECNAT_SA_HOST, parse_addr(k, v));
		else if (!strcmp(k, "peer"))
			mnl_attr_put_u32(nlh, IPSECNAT_SA_PEER, parse_addr(k, v));
		else if (!strcmp(k, "pub"))
			mnl_attr_put_u32(nlh, IPSECNAT_SA_PUB, parse_addr(k, v));
		else if (!strcmp(k, "spi"))
			mnl_attr_put_u32(nlh, IPSECNAT_SA_SPI, htonl(parse_u32(k, v, 16)));
		else if (!strcmp(k, "state") && v && !strcmp(v, "pending"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_STATE, IPSECNAT_STATE_PENDING);
		else if (!strcmp(k, "state") && v && !strcmp(v, "established"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_STATE, IPSECNAT_STATE_ESTABLISHED);
		else if (!strcmp(k, "dir") && v && !strcmp(v, "in"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_DIR, IPSECNAT_DIR_IN);
		else if (!strcmp(k, "dir") && v && !strcmp(v, "out"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_DIR, IPSECNAT_DIR_OUT);
		else
			die("unknown filter \"%s%s%s\"; try \"ipsecnat help\"", k,
			    v ? " " : "", v ? v : "");
		if (!v)
			break;
	}
	mnl_attr_nest_end(nlh, nest);
}

/* ---- show ---- */

struct sa_row {
	const struct nlattr *tb[IPSECNAT_SA_MAX + 1];
};

static int sa_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(a) <= IPSECNAT_SA_MAX)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static const char *ip(const struct nlattr *a, char *buf)
{
	uint32_t v = a ? mnl_attr_get_u32(a) : 0;

	return inet_ntop(AF_INET, &v, buf, INET_ADDRSTRLEN);
}

static uint64_t u64(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

static uint32_t u32(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

static int show_cb(const struct nlmsghdr *nlh, void *data)
{
	unsigned int *rows = data;
	const struct nlattr *tb[IPSECNAT_SA_MAX + 1] = {};
	char h[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];
	const struct nlattr *sa;
	const char *dir, *state;

	sa = find_attr(nlh, IPSECNAT_A_SA);
	if (!sa)
		return MNL_CB_OK;
	mnl_attr_parse_nested(sa, sa_attr_cb, tb);
	dir = tb[IPSECNAT_SA_DIR] && mnl_attr_get_u8(tb[IPSECNAT_SA_DIR]) == IPSECNAT_DIR_IN ?
		"in" : "out";
	state = tb[IPSECNAT_SA_STATE] &&
		mnl_attr_get_u8(tb[IPSECNAT_SA_STATE]) == IPSECNAT_STATE_ESTABLISHED ?
		"established" : "pending";
	if (json)
		printf("%s{\"dir\":\"%s\",\"host\":\"%s\",\"peer\":\"%s\",\"pub\":\"%s\","
		       "\"spi\":\"0x%08x\",\"state\":\"%s\",\"age\":%u,\"idle\":%u,"
		       "\"packets\":%llu,\"bytes\":%llu}",
		       *rows ? "," : "", dir, ip(tb[IPSECNAT_SA_HOST], h),
		       ip(tb[IPSECNAT_SA_PEER], p), ip(tb[IPSECNAT_SA_PUB], a),
		       ntohl(u32(tb[IPSECNAT_SA_SPI])), state, u32(tb[IPSECNAT_SA_AGE]),
		       u32(tb[IPSECNAT_SA_IDLE]),
		       (unsigned long long)u64(tb[IPSECNAT_SA_PACKETS]),
		       (unsigned long long)u64(tb[IPSECNAT_SA_BYTES]));
	else
		printf("%-3s %-15s %-15s %-15s 0x%08x %-11s %7u %6u %10llu %12llu\n",
		       dir, ip(tb[IPSECNAT_SA_HOST], h), ip(tb[IPSECNAT_SA_PEER], p),
		       ip(tb[IPSECNAT_SA_PUB], a), ntohl(u32(tb[IPSECNAT_SA_SPI])), state,
		       u32(tb[IPSECNAT_SA_AGE]), u32(tb[IPSECNAT_SA_IDLE]),
		       (unsigned long long)u64(tb[IPSECNAT_SA_PACKETS]),
		       (unsigned long long)u64(tb[IPSECNAT_SA_BYTES]));
	(*rows)++;
	return MNL_CB_OK;
}

static void cmd_show(struct nl *nl, char **argv)
{
	struct nlmsghdr *nlh = msg_start(nl, nl->family, NLM_F_DUMP, IPSECNAT_CMD_SA_GET);
	unsigned int rows = 0;

	put_filter(nlh, argv);
	if (json)
		printf("[");
	else
		printf("%-3s %-15s %-15s %-15s %-10s %-11s %7s %6s %10s %12s\n", "DIR", "HOST",
		       "PEER", "PUBLIC", "SPI", "STATE", "AGE", "IDLE", "PACKETS", "BYTES");
	talk(nl, nlh, show_cb, &rows);
	if (json)
		printf("]\n");
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a = find_attr(nlh, IPSECNAT_A_COUNT);

	if (a)
		*(uint32_t *)data = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static void cmd_del(struct nl *nl, char **argv, bool all)
{
	struct nlmsghdr *nlh = msg_start(nl, nl->family, 0, IPSECNAT_CMD_SA_DEL);
	uint32_t n = 0;

	if (!all && !*argv)
		die("\"del\" needs a filter; \"flush\" deletes everything");
	if (all && *argv)
		die("\"flush\" takes no arguments");
	if (!all)
		put_filter(nlh, argv);
	talk(nl, nlh, count_cb, &n);
	if (json)
		printf("{\"deleted\":%u}\n", n);
	else
		printf("deleted %u SA%s\n", n, n == 1 ? "" : "s");
}

/* ---- stats, settings ---- */

static const char *const stat_names[IPSECNAT_STAT_MAX + 1] = {
	[IPSECNAT_STAT_OUT_TRANSLATED] = "out_translated",
	[IPSECNAT_STAT_IN_TRANSLATED] = "in_translated",
	[IPSECNAT_STAT_LEARNED] = "learned",
	[IPSECNAT_STAT_REKEY_PEER] = "rekey_peer",
	[IPSECNAT_STAT_HELD_BACK] = "held_back",
	[IPSECNAT_STAT_AMBIGUOUS] = "ambiguous",
	[IPSECNAT_STAT_UNKNOWN_SPI] = "unknown_spi",
	[IPSECNAT_STAT_LOCAL_SPI] = "local_spi",
	[IPSECNAT_STAT_SPI_CONFLICT] = "spi_conflict",
	[IPSECNAT_STAT_CAP_NETNS] = "cap_netns",
	[IPSECNAT_STAT_CAP_HOST] = "cap_host",
	[IPSECNAT_STAT_NO_MEMORY] = "no_memory",
	[IPSECNAT_STAT_NO_ADDRESS] = "no_address",
	[IPSECNAT_STAT_MALFORMED] = "malformed",
	[IPSECNAT_STAT_ICMP_TRANSLATED] = "icmp_translated",
	[IPSECNAT_STAT_EXPIRED] = "expired",
};

static const char *const setting_names[IPSECNAT_SET_MAX + 1] = {
	[IPSECNAT_SET_MAX_SAS] = "max-sas",
	[IPSECNAT_SET_MAX_SAS_PER_HOST] = "max-sas-per-host",
	[IPSECNAT_SET_PENDING_WINDOW] = "pending-window",
	[IPSECNAT_SET_PENDING_TIMEOUT] = "pending-timeout",
	[IPSECNAT_SET_ESTABLISHED_TIMEOUT] = "established-timeout",
};

/* Print a nest of numbered values as "name value" lines or a JSON object. */
struct nest_print {
	const char *const *names;
	unsigned int max;
	unsigned int n;
};

static int nest_print_cb(const struct nlattr *a, void *data)
{
	struct nest_print *np = data;
	unsigned int t = mnl_attr_get_type(a);
	unsigned long long v;

	if (t > np->max || !np->names[t])
		return MNL_CB_OK;
	v = mnl_attr_get_payload_len(a) == 8 ? mnl_attr_get_u64(a) : mnl_attr_get_u32(a);
	if (json)
		printf("%s\"%s\":%llu", np->n++ ? "," : "", np->names[t], v);
	else
		printf("%-20s %llu\n", np->names[t], v);
	return MNL_CB_OK;
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nest_print np = { stat_names, IPSECNAT_STAT_MAX, 1 };
	const struct nlattr *a;
	uint32_t sas = 0;

	a = find_attr(nlh, IPSECNAT_A_COUNT);
	if (a)
		sas = mnl_attr_get_u32(a);
	if (json)
		printf("{\"sas\":%u", sas);
	else
		printf("%-20s %u\n", "sas", sas);
	a = find_attr(nlh, IPSECNAT_A_STATS);
	if (a)
		mnl_attr_parse_nested(a, nest_print_cb, &np);
	if (json)
		printf("}\n");
	return MNL_CB_OK;
}

static int settings_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nest_print np = { setting_names, IPSECNAT_SET_MAX, 0 };
	const struct nlattr *a;

	a = find_attr(nlh, IPSECNAT_A_SETTINGS);
	if (json)
		printf("{");
	if (a)
		mnl_attr_parse_nested(a, nest_print_cb, &np);
	if (json)
		printf("}\n");
	return MNL_CB_OK;
}

static void cmd_set(struct nl *nl, char **argv)
{
	struct nlmsghdr *nlh = msg_start(nl, nl->family, 0, IPSECNAT_CMD_SETTINGS_SET);
	struct nlattr *nest;
	unsigned int t;

	if (!*argv)
		die("\"set\" needs SETTING VALUE; try \"ipsecnat help\"");
	nest = mnl_attr_nest_start(nlh, IPSECNAT_A_SETTINGS);
	for (; *argv; argv += 2) {
		for (t = 1; t <= IPSECNAT_SET_MAX; t++)
			if (!strcmp(argv[0], setting_names[t]))
				break;
		if (t > IPSECNAT_SET_MAX)
			die("unknown setting \"%s\"; try \"ipsecnat help\"", argv[0]);
		mnl_attr_put_u32(nlh, t, parse_u32(argv[0], argv[1], 10));
		if (!argv[1])
			break;
	}
	mnl_attr_nest_end(nlh, nest);
	talk(nl, nlh, NULL, NULL);
}

static void cmd_simple(struct nl *nl, char **argv, uint8_t cmd, mnl_cb_t cb)
{
	if (*argv)
		die("unexpected argument \"%s\"", *argv);
	talk(nl, msg_start(nl, nl->family, 0, cmd), cb, NULL);
}

int main(int argc, char **argv)
{
	static struct nl nl;
	const char *cmd;

	for (argv++; *argv && argv[0][0] == '-'; argv++) {
		if (!strcmp(*argv, "-j") || !strcmp(*argv, "-json"))
			json = true;
		else if (!strcmp(*argv, "-h") || !strcmp(*argv, "-help")) {
			usage(stdout);
			return 0;
		} else {
			die("unknown option \"%s\"; try \"ipsecnat help\"", *argv);
		}
	}
	cmd = *argv ? *argv++ : "show";
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	nl_open(&nl);
	if (!strcmp(cmd, "show") || !strcmp(cmd, "list") || !strcmp(cmd, "ls"))
		cmd_show(&nl, argv);
	else if (!strcmp(cmd, "del") || !strcmp(cmd, "delete"))
		cmd_del(&nl, argv, false);
	else if (!strcmp(cmd, "flush"))
		cmd_del(&nl, argv, true);
	else if (!strcmp(cmd, "stats"))
		cmd_simple(&nl, argv, IPSECNAT_CMD_STATS_GET, stats_cb);
	else if (!strcmp(cmd, "get"))
		cmd_simple(&nl, argv, IPSECNAT_CMD_SETTINGS_GET, settings_cb);
	else if (!strcmp(cmd, "set"))
		cmd_set(&nl, argv);
	else
		die("unknown command \"%s\"; try \"ipsecnat help\"", cmd);
	mnl_socket_close(nl.sock);
	return 0;
}
