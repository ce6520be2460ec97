// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecnat: show and steer the ipsecnat module of the current network
 * namespace over generic netlink (family "ipsecnat", uapi/ipsecnat.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <json-c/json.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include "ipsecnat.h"
#include "xt_IPSECNAT.h"

#ifndef IPSECNAT_VERSION
#error "build with make: it passes -DIPSECNAT_VERSION from ../VERSION"
#endif

static bool json;
static bool stats;	/* -s: packet and byte counts in tables */

/* Exit status, as iptables and conntrack: 1 for a failure, 2 for a bad command line. */
#define EXIT_USAGE	2

static void __attribute__((noreturn)) vdie(int status, const char *fmt, va_list ap)
{
	fputs("Error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_FAILURE, fmt, ap);
}

/* A usage error: the command line, not the system, is wrong. */
static void __attribute__((noreturn, format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_USAGE, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ipsecnat [OPTIONS] [show|list] [FILTER]\n"
		"       ipsecnat del FILTER\n"
		"       ipsecnat flush\n"
		"       ipsecnat [-j] stats\n"
		"       ipsecnat [-j] get\n"
		"       ipsecnat set SETTING VALUE [SETTING VALUE]...\n"
		"       ipsecnat add dir { in | out } host ADDR peer ADDR pub ADDR spi SPI [ static ]\n"
		"       ipsecnat export [ --config ]     (SAs, nat rules, forwards, settings: JSON on stdout;\n"
		"                                         --config: no learned SAs, no counts)\n"
		"       ipsecnat [-j] import [ --replace ] { FILE | - }\n"
		"                                        (an export; existing entries skipped or replaced)\n"
		"       ipsecnat [-j] monitor            (timestamped events)\n"
		"       ipsecnat forward { add pub ADDR server ADDR | del pub ADDR | [-j] show }\n"
		"       ipsecnat nat { add dev IFNAME [ to-source ADDR[-ADDR] ] [ preserve-ike ]\n"
		"                      [ preserve-natt ] | del dev IFNAME | [-j] show }\n"
		"                                        (= iptables -t mangle -A POSTROUTING -o IFNAME\n"
		"                                         -j IPSECNAT [--to-source ...] ...; no iptables)\n"
		"       ipsecnat { help | -h | --help | -V | --version }\n"
		"FILTER := [ host ADDR ] [ peer ADDR ] [ pub ADDR ] [ spi SPI ]\n"
		"          [ state { pending | established } ] [ dir { in | out | ike } ]\n"
		"          (show also takes the 16-digit SPI of an ike row)\n"
		"SETTING := { max-sas | max-sas-per-host | pending-window |\n"
		"             pending-timeout | established-timeout }  (timeouts in seconds)\n"
		"OPTIONS := { -j[son] | -s[tats] }: -j prints JSON; -s adds packet and byte\n"
		"           counts to tables.\n"
		"Works in the current network namespace\n"
		"(ip netns exec NAME ipsecnat ...) and needs CAP_NET_ADMIN there.\n"
		"Exit status: 0 success, 1 failure, 2 bad command line.\n");
}

/* Options, spelt as in ip(8): -j, -json, --json. Returns the first other word. */
static char **options(char **argv)
{
	for (; *argv && argv[0][0] == '-'; argv++) {
		const char *o = argv[0][1] == '-' ? argv[0] + 1 : argv[0];

		if (!strcmp(o, "-j") || !strcmp(o, "-json")) {
			json = true;
		} else if (!strcmp(o, "-s") || !strcmp(o, "-stats")) {
			stats = true;
		} else if (!strcmp(o, "-h") || !strcmp(o, "-help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(o, "-V") || !strcmp(o, "-version")) {
			printf("ipsecnat %s\n", IPSECNAT_VERSION);
			exit(0);
		} else {
			bad("unknown option \"%s\"; try \"ipsecnat help\"", *argv);
		}
	}
	return argv;
}

/* ---- netlink plumbing ---- */

struct nl {
	struct mnl_socket *sock;	/* opened by the first request sent */
	unsigned int portid;
	unsigned int seq;
	uint16_t family;
	uint32_t events_group;
	char buf[32768];	/* what libmnl suggests for dumps */
	char req[32768];	/* a request, built before the socket is opened */
};

static struct nlmsghdr *genl_start(void *buf, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = IPSECNAT_GENL_VERSION;
	return nlh;
}

/*
 * A request to the ipsecnat family. talk() opens the socket and resolves
 * the family only when it sends one, so every argument is checked first.
 */
static struct nlmsghdr *msg_start(struct nl *nl, uint16_t flags, uint8_t cmd)
{
	return genl_start(nl->req, 0, flags, cmd);
}

static void nl_open(struct nl *nl);

/* The last error the kernel sent: its extack message, or strerror() */
static char nl_errmsg[256];

/* NLMSG_ERROR: note the kernel's extack message, like iproute2 */
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
	/* the family's permission check says nothing more; settings-set explains its own */
	if (errno == EPERM && !msg)
		die("%s: need CAP_NET_ADMIN in this network namespace", strerror(errno));
	snprintf(nl_errmsg, sizeof(nl_errmsg), "%s", msg ? msg : strerror(errno));
	return MNL_CB_ERROR;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

/*
 * Send a request and run @cb on the replies: 0, or the kernel's -errno with
 * its message in nl_errmsg. A failure of the socket itself is fatal.
 */
static int talk_try(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
	};
	int n;

	if (!nl->sock)
		nl_open(nl);
	nlh->nlmsg_type = nl->family;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		die("netlink send: %s", strerror(errno));
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0)
			die("netlink receive: %s", strerror(errno));
		nl_errmsg[0] = '\0';
		n = mnl_cb_run2(nl->buf, n, nl->seq, nl->portid, cb, data, ctl, NLMSG_MIN_TYPE);
		if (n < 0) {
			if (!nl_errmsg[0])
				die("%s", strerror(errno));
			return -errno;
		}
		if (n == MNL_CB_STOP)
			return 0;
	}
}

static void talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	if (talk_try(nl, nlh, cb, data))
		die("%s", nl_errmsg);
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

static int group_cb(const struct nlattr *grp, void *data)
{
	const struct nlattr *a, *name = NULL, *id = NULL;

	mnl_attr_for_each_nested(a, grp) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME)
			name = a;
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID)
			id = a;
	}
	if (name && id && !strcmp(mnl_attr_get_str(name), IPSECNAT_MCGRP_EVENTS))
		((struct nl *)data)->events_group = mnl_attr_get_u32(id);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl *nl = data;
	const struct nlattr *a = find_attr(nlh, CTRL_ATTR_FAMILY_ID);

	if (a)
		nl->family = mnl_attr_get_u16(a);
	a = find_attr(nlh, CTRL_ATTR_MCAST_GROUPS);
	if (a)
		mnl_attr_parse_nested(a, group_cb, nl);
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
	nlh = genl_start(nl->buf, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY);
	nl->seq = time(NULL);
	nlh->nlmsg_seq = nl->seq;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, IPSECNAT_GENL_NAME);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		die("netlink send: %s", strerror(errno));
	for (;;) {
		int n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));

		if (n < 0)
			die("netlink receive: %s", strerror(errno));
		n = mnl_cb_run(nl->buf, n, nl->seq, nl->portid, family_cb, nl);
		if (n < 0) {
			if (errno == ENOENT)
				die("the ipsecnat module is not loaded; try \"modprobe ipsecnat\"");
			die("resolving the ipsecnat family: %s", strerror(errno));
		}
		if (n == MNL_CB_STOP)
			break;
	}
}

/* ---- command line ---- */

static bool get_addr(const char *s, uint32_t *addr)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*addr = a.s_addr;
	return true;
}

/* A number up to @max: digits only (no sign or blanks), "0x" allowed in base 16. */
static bool get_num(const char *s, int base, uint64_t max, uint64_t *v)
{
	unsigned long long n;
	char *end;

	if (!isxdigit((unsigned char)*s))
		return false;
	errno = 0;
	n = strtoull(s, &end, base);
	if (errno || *end || end == s || n > max)
		return false;
	*v = n;
	return true;
}

static uint32_t parse_addr(const char *what, const char *s)
{
	uint32_t a;

	if (!s)
		bad("\"%s\" needs an address", what);
	if (!get_addr(s, &a))
		bad("invalid %s address \"%s\"", what, s);
	return a;
}

static uint64_t parse_num(const char *what, const char *s, int base, uint64_t max)
{
	uint64_t v;

	if (!s)
		bad("\"%s\" needs a value", what);
	if (!get_num(s, base, max, &v))
		bad("invalid %s \"%s\"", what, s);
	return v;
}

static uint32_t parse_u32(const char *what, const char *s, int base)
{
	return parse_num(what, s, base, UINT32_MAX);
}

/* What names an SA in a dump (zeroed first: compared with memcmp). */
struct row_key {
	uint64_t spi;		/* ESP SPI, or IKE initiator SPI */
	uint32_t pub, peer;
	uint8_t dir;
	uint8_t used;
};

/*
 * The rows a dump printed. The kernel walks hash tables that may grow or
 * shrink meanwhile, and such a walk may return an SA twice: print it once.
 */
struct row_set {
	struct row_key *keys;
	size_t size, used;	/* size: a power of two, or 0 */
};

/* What show prints and filters beyond the kernel's filter. */
struct show {
	unsigned int rows;
	bool opened;		/* the table header or JSON "[" is out */
	bool ike_spi_set;	/* only the IKE SA with this initiator SPI */
	uint64_t ike_spi;
	struct row_set seen;
};

static size_t row_hash(const struct row_key *k, size_t size)
{
	const unsigned char *b = (const void *)k;
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h & (size - 1);
}

/* Was @k printed already in this dump? Notes it if not. */
static bool row_seen(struct row_set *set, const struct row_key *k)
{
	size_t i;

	if (2 * (set->used + 1) > set->size) {
		struct row_set grown = { .size = set->size ? 2 * set->size : 256 };

		grown.keys = calloc(grown.size, sizeof(*grown.keys));
		if (!grown.keys)
			die("out of memory");
		for (i = 0; i < set->size; i++)
			if (set->keys[i].used)
				row_seen(&grown, &set->keys[i]);
		free(set->keys);
		*set = grown;
	}
	for (i = row_hash(k, set->size); set->keys[i].used; i = (i + 1) & (set->size - 1))
		if (!memcmp(&set->keys[i], k, sizeof(*k)))
			return true;
	set->keys[i] = *k;
	set->used++;
	return false;
}

/*
 * "spi": 8 hex digits for ESP, or (show only) the 16 an ike row shows. The
 * kernel matches an IKE SA by the SPI's first 4 bytes; show_cb the rest.
 */
static void put_spi(struct nlmsghdr *nlh, const char *v, struct show *s)
{
	uint64_t spi = parse_num("spi", v, 16, UINT64_MAX);

	if (strlen(v) - (strncasecmp(v, "0x", 2) ? 0 : 2) <= 8) {
		mnl_attr_put_u32(nlh, IPSECNAT_SA_SPI, htonl(spi));
		return;
	}
	if (!s)
		bad("only \"show\" takes the IKE SPI \"%s\"", v);
	if (spi >> 32)
		mnl_attr_put_u32(nlh, IPSECNAT_SA_SPI, htonl(spi >> 32));
	s->ike_spi = spi;
	s->ike_spi_set = true;
}

/* FILTER words into an IPSECNAT_A_FILTER nest; @s is show's (NULL for del) */
static void put_filter(struct nlmsghdr *nlh, char **argv, struct show *s)
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
			put_spi(nlh, v, s);
		else if (!strcmp(k, "state") && v && !strcmp(v, "pending"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_STATE, IPSECNAT_STATE_PENDING);
		else if (!strcmp(k, "state") && v && !strcmp(v, "established"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_STATE, IPSECNAT_STATE_ESTABLISHED);
		else if (!strcmp(k, "dir") && v && !strcmp(v, "in"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_DIR, IPSECNAT_DIR_IN);
		else if (!strcmp(k, "dir") && v && !strcmp(v, "out"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_DIR, IPSECNAT_DIR_OUT);
		else if (!strcmp(k, "dir") && v && !strcmp(v, "ike"))
			mnl_attr_put_u8(nlh, IPSECNAT_SA_DIR, IPSECNAT_DIR_IKE);
		else
			bad("unknown filter \"%s%s%s\"; try \"ipsecnat help\"", k,
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

static const char *const event_names[] = {
	[IPSECNAT_EV_CREATED] = "created",
	[IPSECNAT_EV_LEARNED] = "learned",
	[IPSECNAT_EV_REKEYED] = "rekeyed",
	[IPSECNAT_EV_ADDED] = "added",
	[IPSECNAT_EV_EXPIRED] = "expired",
	[IPSECNAT_EV_DELETED] = "deleted",
	[IPSECNAT_EV_HELD] = "held",
	[IPSECNAT_EV_REFUSED] = "refused",
	[IPSECNAT_EV_AMBIGUOUS] = "ambiguous",
};

static const char *const dir_names[] = {
	[IPSECNAT_DIR_OUT] = "out",
	[IPSECNAT_DIR_IN] = "in",
	[IPSECNAT_DIR_IKE] = "ike",
};

/* The SPI as shown: 8 hex digits for ESP, 16 for IKE's initiator SPI. */
static const char *spi_text(const struct nlattr **tb, char *buf, size_t len)
{
	if (tb[IPSECNAT_SA_IKE_SPI_I])
		snprintf(buf, len, "0x%016llx",
			 (unsigned long long)mnl_attr_get_u64(tb[IPSECNAT_SA_IKE_SPI_I]));
	else
		snprintf(buf, len, "0x%08x", ntohl(u32(tb[IPSECNAT_SA_SPI])));
	return buf;
}

/* UDP ports "host:peer" (NAT-T ESP, IKE), or "-" for plain ESP. */
static const char *ports_text(const struct nlattr **tb, char *buf, size_t len)
{
	if (!tb[IPSECNAT_SA_HOST_PORT] || !tb[IPSECNAT_SA_PEER_PORT])
		return "-";
	snprintf(buf, len, "%u:%u", ntohs(mnl_attr_get_u16(tb[IPSECNAT_SA_HOST_PORT])),
		 ntohs(mnl_attr_get_u16(tb[IPSECNAT_SA_PEER_PORT])));
	return buf;
}

/* The local time, ISO 8601 with milliseconds: 2026-11-26T09:48:01.123+0100 */
static const char *now_text(char *buf, size_t len)
{
	struct timespec ts;
	char zone[8] = "";
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(buf + n, len - n, ".%03ld%s", ts.tv_nsec / 1000000, zone);
	return buf;
}

/*
 * The table header or JSON "[": printed with the first row, or once the dump
 * has succeeded, so that an error leaves nothing on stdout.
 */
static void show_open(struct show *s)
{
	if (s->opened)
		return;
	s->opened = true;
	if (json)
		printf("[");
	else
		printf("%-3s %-15s %-15s %-15s %-18s %-11s %-11s %7s %6s%s\n", "DIR", "HOST",
		       "PEER", "PUBLIC", "SPI", "PORTS", "STATE", "AGE", "IDLE",
		       stats ? "    PACKETS        BYTES" : "");
}

/* Did this dump print the SA of @tb (direction @d) already? Notes it if not. */
static bool row_printed(struct show *s, const struct nlattr **tb, unsigned int d)
{
	struct row_key k;

	memset(&k, 0, sizeof(k));
	k.spi = tb[IPSECNAT_SA_IKE_SPI_I] ? mnl_attr_get_u64(tb[IPSECNAT_SA_IKE_SPI_I]) :
					  u32(tb[IPSECNAT_SA_SPI]);
	k.pub = u32(tb[IPSECNAT_SA_PUB]);
	k.peer = u32(tb[IPSECNAT_SA_PEER]);
	k.dir = d;
	k.used = 1;
	return row_seen(&s->seen, &k);
}

/* One SA as a table row or a JSON object; events carry their time and name first. */
static int show_cb(const struct nlmsghdr *nlh, void *data)
{
	struct show *s = data;
	const struct nlattr *tb[IPSECNAT_SA_MAX + 1] = {};
	char h[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];
	char spi[24], portbuf[16], spi_r[40] = "", now[40];
	const struct nlattr *sa, *ev;
	const char *dir, *state, *ports;
	unsigned int d;

	sa = find_attr(nlh, IPSECNAT_A_SA);
	if (!sa)
		return MNL_CB_OK;
	mnl_attr_parse_nested(sa, sa_attr_cb, tb);
	if (s->ike_spi_set && (!tb[IPSECNAT_SA_IKE_SPI_I] ||
			       mnl_attr_get_u64(tb[IPSECNAT_SA_IKE_SPI_I]) != s->ike_spi))
		return MNL_CB_OK;
	d = tb[IPSECNAT_SA_DIR] ? mnl_attr_get_u8(tb[IPSECNAT_SA_DIR]) : 0;
	dir = d < sizeof(dir_names) / sizeof(dir_names[0]) ? dir_names[d] : "?";
	ports = ports_text(tb, portbuf, sizeof(portbuf));
	spi_text(tb, spi, sizeof(spi));
	if (tb[IPSECNAT_SA_IKE_SPI_R])
		snprintf(spi_r, sizeof(spi_r), json ? ",\"spi_r\":\"0x%016llx\"" : " spi_r 0x%016llx",
			 (unsigned long long)mnl_attr_get_u64(tb[IPSECNAT_SA_IKE_SPI_R]));
	state = tb[IPSECNAT_SA_STATIC] ? "static" : !tb[IPSECNAT_SA_STATE] ? "-" :
		mnl_attr_get_u8(tb[IPSECNAT_SA_STATE]) == IPSECNAT_STATE_ESTABLISHED ?
		"established" : "pending";
	ev = find_attr(nlh, IPSECNAT_A_EVENT);
	if (ev) {
		unsigned int e = mnl_attr_get_u8(ev);
		const char *name = e < sizeof(event_names) / sizeof(event_names[0]) &&
				   event_names[e] ? event_names[e] : "unknown";

		printf(json ? "{\"time\":\"%s\",\"event\":\"%s\",\"sa\":" : "%s [%s] ",
		       now_text(now, sizeof(now)), name);
		s->rows = 0;
	} else {
		if (row_printed(s, tb, d))
			return MNL_CB_OK;
		show_open(s);
	}
	if (json)
		printf("%s{\"dir\":\"%s\",\"host\":\"%s\",\"peer\":\"%s\",\"pub\":\"%s\","
		       "\"spi\":\"%s\"%s,\"ports\":\"%s\",\"state\":\"%s\",\"age\":%u,"
		       "\"idle\":%u,\"packets\":%llu,\"bytes\":%llu}",
		       s->rows ? "," : "", dir, ip(tb[IPSECNAT_SA_HOST], h),
		       ip(tb[IPSECNAT_SA_PEER], p), ip(tb[IPSECNAT_SA_PUB], a),
		       spi, spi_r, ports, state, u32(tb[IPSECNAT_SA_AGE]),
		       u32(tb[IPSECNAT_SA_IDLE]),
		       (unsigned long long)u64(tb[IPSECNAT_SA_PACKETS]),
		       (unsigned long long)u64(tb[IPSECNAT_SA_BYTES]));
	else if (ev)
		printf("%s host %s peer %s pub %s spi %s%s ports %s %s\n", dir,
		       ip(tb[IPSECNAT_SA_HOST], h), ip(tb[IPSECNAT_SA_PEER], p),
		       ip(tb[IPSECNAT_SA_PUB], a), spi, spi_r, ports, state);
	else {
		printf("%-3s %-15s %-15s %-15s %-18s %-11s %-11s %7u %6u",
		       dir, ip(tb[IPSECNAT_SA_HOST], h), ip(tb[IPSECNAT_SA_PEER], p),
		       ip(tb[IPSECNAT_SA_PUB], a), spi, ports, state,
		       u32(tb[IPSECNAT_SA_AGE]), u32(tb[IPSECNAT_SA_IDLE]));
		if (stats)
			printf(" %10llu %12llu", (unsigned long long)u64(tb[IPSECNAT_SA_PACKETS]),
			       (unsigned long long)u64(tb[IPSECNAT_SA_BYTES]));
		printf("\n");
	}
	if (ev) {
		printf(json ? "}\n" : "");
		fflush(stdout);
	} else {
		s->rows++;
	}
	return MNL_CB_OK;
}

static void cmd_show(struct nl *nl, char **argv)
{
	struct nlmsghdr *nlh = msg_start(nl, NLM_F_DUMP, IPSECNAT_CMD_SA_GET);
	struct show s = {};

	put_filter(nlh, argv, &s);
	talk(nl, nlh, show_cb, &s);
	show_open(&s);
	if (json)
		printf("]\n");
	free(s.seen.keys);
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
	struct nlmsghdr *nlh = msg_start(nl, 0, IPSECNAT_CMD_SA_DEL);
	uint32_t n = 0;

	if (!all && !*argv)
		bad("\"del\" needs a filter; \"flush\" deletes everything");
	if (all && *argv)
		bad("\"flush\" takes no arguments");
	if (!all)
		put_filter(nlh, argv, NULL);
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
	[IPSECNAT_STAT_FORWARDED] = "forwarded",
	[IPSECNAT_STAT_IKE_LEARNED] = "ike_learned",
	[IPSECNAT_STAT_IKE_MISMATCH] = "ike_mismatch",
	[IPSECNAT_STAT_KEEPALIVE_DROPPED] = "keepalive_dropped",
	[IPSECNAT_STAT_PORT_IN_USE] = "port_in_use",
	[IPSECNAT_STAT_LEARNED_PAIR] = "learned_pair",
	[IPSECNAT_STAT_LEARNED_IKE] = "learned_ike",
	[IPSECNAT_STAT_IKE_PACED] = "ike_paced",
	[IPSECNAT_STAT_STRANGERS_FULL] = "strangers_full",
	[IPSECNAT_STAT_FOREIGN_IFACE] = "foreign_iface",
	[IPSECNAT_STAT_FOREIGN_ZONE] = "foreign_zone",
	[IPSECNAT_STAT_LOCAL_SPI_PACED] = "local_spi_paced",
	[IPSECNAT_STAT_CONTESTED] = "contested",
	[IPSECNAT_STAT_IKE_MOVED] = "ike_moved",
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
	struct nlmsghdr *nlh = msg_start(nl, 0, IPSECNAT_CMD_SETTINGS_SET);
	struct nlattr *nest;
	unsigned int t;

	if (!*argv)
		bad("\"set\" needs SETTING VALUE; try \"ipsecnat help\"");
	nest = mnl_attr_nest_start(nlh, IPSECNAT_A_SETTINGS);
	for (; *argv; argv += 2) {
		for (t = 1; t <= IPSECNAT_SET_MAX; t++)
			if (!strcmp(argv[0], setting_names[t]))
				break;
		if (t > IPSECNAT_SET_MAX)
			bad("unknown setting \"%s\"; try \"ipsecnat help\"", argv[0]);
		mnl_attr_put_u32(nlh, t, parse_u32(argv[0], argv[1], 10));
		if (!argv[1])
			break;
	}
	mnl_attr_nest_end(nlh, nest);
	talk(nl, nlh, NULL, NULL);
}

/* One SA into an IPSECNAT_CMD_SA_ADD request: what sa-get shows of it. */
struct sa_spec {
	uint8_t dir, state;
	bool is_static;
	uint32_t host, peer, pub, spi;	/* network order; spi: ESP SAs */
	uint64_t spi_i, spi_r;		/* IKE SAs */
	uint16_t host_port, peer_port;	/* network order; 0 for plain ESP */
};

/* 0, or the kernel's -errno (its message in nl_errmsg). */
static int sa_add(struct nl *nl, const struct sa_spec *s, bool replace)
{
	struct nlmsghdr *nlh = msg_start(nl, 0, IPSECNAT_CMD_SA_ADD);
	struct nlattr *nest = mnl_attr_nest_start(nlh, IPSECNAT_A_SA);

	mnl_attr_put_u8(nlh, IPSECNAT_SA_DIR, s->dir);
	mnl_attr_put_u32(nlh, IPSECNAT_SA_HOST, s->host);
	mnl_attr_put_u32(nlh, IPSECNAT_SA_PEER, s->peer);
	mnl_attr_put_u32(nlh, IPSECNAT_SA_PUB, s->pub);
	if (s->dir == IPSECNAT_DIR_IKE) {
		mnl_attr_put_u64(nlh, IPSECNAT_SA_IKE_SPI_I, s->spi_i);
		mnl_attr_put_u64(nlh, IPSECNAT_SA_IKE_SPI_R, s->spi_r);
	} else {
		mnl_attr_put_u32(nlh, IPSECNAT_SA_SPI, s->spi);
	}
	if (s->host_port) {
		mnl_attr_put_u16(nlh, IPSECNAT_SA_HOST_PORT, s->host_port);
		mnl_attr_put_u16(nlh, IPSECNAT_SA_PEER_PORT, s->peer_port);
	}
	mnl_attr_put_u8(nlh, IPSECNAT_SA_STATE, s->state);
	if (s->is_static)
		mnl_attr_put(nlh, IPSECNAT_SA_STATIC, 0, NULL);
	mnl_attr_nest_end(nlh, nest);
	if (replace)
		mnl_attr_put(nlh, IPSECNAT_A_REPLACE, 0, NULL);
	return talk_try(nl, nlh, NULL, NULL);
}

static bool get_dir(const char *s, uint8_t *dir)
{
	if (s && !strcmp(s, "in"))
		*dir = IPSECNAT_DIR_IN;
	else if (s && !strcmp(s, "out"))
		*dir = IPSECNAT_DIR_OUT;
	else
		return false;
	return true;
}

static uint8_t parse_dir(const char *s)
{
	uint8_t dir;

	if (!get_dir(s, &dir))
		bad("dir must be \"in\" or \"out\"");
	return dir;
}

static void cmd_add(struct nl *nl, char **argv)
{
	struct sa_spec s = { .dir = 2, .state = IPSECNAT_STATE_ESTABLISHED };

	for (; *argv; argv++) {
		const char *k = argv[0], *v = argv[1];

		if (!strcmp(k, "static")) {
			s.is_static = true;
			continue;
		}
		if (!strcmp(k, "dir"))
			s.dir = parse_dir(v);
		else if (!strcmp(k, "host"))
			s.host = parse_addr(k, v);
		else if (!strcmp(k, "peer"))
			s.peer = parse_addr(k, v);
		else if (!strcmp(k, "pub"))
			s.pub = parse_addr(k, v);
		else if (!strcmp(k, "spi"))
			s.spi = htonl(parse_u32(k, v, 16));
		else
			bad("unknown argument \"%s\"; try \"ipsecnat help\"", k);
		argv++;
	}
	if (s.dir > IPSECNAT_DIR_IN || !s.host || !s.peer || !s.pub || !s.spi)
		bad("\"add\" needs dir, host, peer, pub and spi");
	if (sa_add(nl, &s, false))
		die("%s", nl_errmsg);
}

/* Print events as they come, like conntrack -E, until interrupted. */
static void cmd_monitor(struct nl *nl, char **argv)
{
	struct show s = {};
	int n;

	if (*argv)
		bad("unexpected argument \"%s\"", *argv);
	nl_open(nl);
	if (!nl->events_group)
		die("the kernel offers no ipsecnat event group");
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &nl->events_group,
				  sizeof(nl->events_group)) < 0) {
		if (errno == EPERM)
			die("%s: need CAP_NET_ADMIN in this network namespace", strerror(errno));
		die("joining the event group: %s", strerror(errno));
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == ENOBUFS) {
				fprintf(stderr, "ipsecnat: events lost (receive buffer full)\n");
				continue;
			}
			die("netlink receive: %s", strerror(errno));
		}
		mnl_cb_run(nl->buf, n, 0, 0, show_cb, &s);
	}
}

static int fwd_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(a) <= IPSECNAT_FWD_MAX)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int fwd_show_cb(const struct nlmsghdr *nlh, void *data)
{
	char p[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN];
	const struct nlattr *a;
	unsigned int n = 0;

	if (json)
		printf("[");
	else
		printf("%-15s %-15s\n", "PUBLIC", "SERVER");
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		const struct nlattr *tb[IPSECNAT_FWD_MAX + 1] = {};

		if (mnl_attr_get_type(a) != IPSECNAT_A_FWD)
			continue;
		mnl_attr_parse_nested(a, fwd_attr_cb, tb);
		ip(tb[IPSECNAT_FWD_PUB], p);
		ip(tb[IPSECNAT_FWD_SERVER], s);
		if (json)
			printf("%s{\"pub\":\"%s\",\"server\":\"%s\"}", n++ ? "," : "", p, s);
		else
			printf("%-15s %-15s\n", p, s);
	}
	if (json)
		printf("]\n");
	return MNL_CB_OK;
}

/* ESP forwarding: unknown inbound SPIs to a public address go to a server. */
static void cmd_forward(struct nl *nl, char **argv)
{
	const char *verb;
	uint32_t pub = 0, server = 0;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	uint8_t cmd;

	verb = *argv ? *argv++ : "show";
	if (!strcmp(verb, "show") || !strcmp(verb, "list")) {
		if (*argv)
			bad("unexpected argument \"%s\"", *argv);
		talk(nl, msg_start(nl, 0, IPSECNAT_CMD_FWD_GET), fwd_show_cb, NULL);
		return;
	}
	if (!strcmp(verb, "add"))
		cmd = IPSECNAT_CMD_FWD_ADD;
	else if (!strcmp(verb, "del") || !strcmp(verb, "delete"))
		cmd = IPSECNAT_CMD_FWD_DEL;
	else
		bad("unknown forward command \"%s\"; try \"ipsecnat help\"", verb);
	for (; *argv; argv += 2) {
		if (!strcmp(argv[0], "pub"))
			pub = parse_addr("pub", argv[1]);
		else if (!strcmp(argv[0], "server") && cmd == IPSECNAT_CMD_FWD_ADD)
			server = parse_addr("server", argv[1]);
		else
			bad("unknown argument \"%s\"; try \"ipsecnat help\"", argv[0]);
	}
	if (!pub || (cmd == IPSECNAT_CMD_FWD_ADD && !server))
		bad("\"forward %s\" needs pub%s", verb, cmd == IPSECNAT_CMD_FWD_ADD ? " and server" : "");
	nlh = msg_start(nl, 0, cmd);
	nest = mnl_attr_nest_start(nlh, IPSECNAT_A_FWD);
	mnl_attr_put_u32(nlh, IPSECNAT_FWD_PUB, pub);
	if (server)
		mnl_attr_put_u32(nlh, IPSECNAT_FWD_SERVER, server);
	mnl_attr_nest_end(nlh, nest);
	talk(nl, nlh, NULL, NULL);
}

/* ---- nat rules: the IPSECNAT iptables rule without iptables ---- */

/* The flags a nat rule's JSON object names (besides to_source). */
static const struct {
	uint32_t flag;
	const char *cmd, *key;
} nat_flags[] = {
	{ XT_IPSECNAT_F_IKE, "preserve-ike", "preserve_ike" },
	{ XT_IPSECNAT_F_NATT, "preserve-natt", "preserve_natt" },
};

#define NR_NAT_FLAGS	(sizeof(nat_flags) / sizeof(nat_flags[0]))

struct nat_spec {
	char dev[IF_NAMESIZE];
	uint32_t flags;
	uint32_t min_addr, max_addr;	/* network order, with XT_IPSECNAT_F_TO_SOURCE */
};

/* As the kernel's dev_valid_name(); NULL, or what is wrong. */
static const char *dev_fault(const char *name)
{
	if (!*name)
		return "an empty interface name";
	if (strlen(name) >= IF_NAMESIZE)
		return "longer than 15 characters";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "no interface name";
	for (; *name; name++)
		if (*name == '/' || *name == ':' || isspace((unsigned char)*name))
			return "no interface name ('/', ':' or a blank in it)";
	return NULL;
}

/* to-source ADDR[-ADDR], checked as iptables' --to-source; NULL, or what is wrong. */
static const char *range_fault(const char *s, uint32_t *min, uint32_t *max)
{
	char buf[2 * INET_ADDRSTRLEN + 2], *dash;
	uint32_t lo, hi;

	if (strlen(s) >= sizeof(buf))
		return "no address or range";
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash++ = '\0';
	if (!get_addr(buf, min) || (dash && !get_addr(dash, max)))
		return "no IPv4 address or range ADDR-ADDR";
	if (!dash)
		*max = *min;
	lo = ntohl(*min);
	hi = ntohl(*max);
	if (lo > hi)
		return "the range runs backwards (start > end)";
	/* 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0 and up */
	if (lo < 0x01000000 || hi >= 0xe0000000 || (hi >= 0x7f000000 && lo <= 0x7fffffff))
		return "0.0.0.0/8, loopback, multicast and broadcast cannot be public addresses";
	if (hi - lo >= 65536)
		return "a pool of more than 65536 addresses";
	return NULL;
}

static const char *range_text(const struct nat_spec *r, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	if (!(r->flags & XT_IPSECNAT_F_TO_SOURCE))
		return NULL;
	inet_ntop(AF_INET, &r->min_addr, a, sizeof(a));
	inet_ntop(AF_INET, &r->max_addr, b, sizeof(b));
	if (r->min_addr == r->max_addr)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s-%s", a, b);
	return buf;
}

static int nat_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(a) <= IPSECNAT_NAT_MAX)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

/* One IPSECNAT_A_NAT of a nat-get reply. */
static void nat_from_attr(const struct nlattr *nest, struct nat_spec *r)
{
	const struct nlattr *tb[IPSECNAT_NAT_MAX + 1] = {};

	memset(r, 0, sizeof(*r));
	mnl_attr_parse_nested(nest, nat_attr_cb, tb);
	if (tb[IPSECNAT_NAT_IFNAME])
		snprintf(r->dev, sizeof(r->dev), "%s", mnl_attr_get_str(tb[IPSECNAT_NAT_IFNAME]));
	r->flags = u32(tb[IPSECNAT_NAT_FLAGS]);
	r->min_addr = u32(tb[IPSECNAT_NAT_MIN_ADDR]);
	r->max_addr = u32(tb[IPSECNAT_NAT_MAX_ADDR]);
}

/* A rule as JSON, in nat -j show and in export: what import takes back. */
static json_object *nat_json(const struct nat_spec *r)
{
	json_object *o = json_object_new_object();
	char buf[2 * INET_ADDRSTRLEN + 2];
	unsigned int i;

	json_object_object_add(o, "dev", json_object_new_string(r->dev));
	if (range_text(r, buf, sizeof(buf)))
		json_object_object_add(o, "to_source", json_object_new_string(buf));
	for (i = 0; i < NR_NAT_FLAGS; i++)
		json_object_object_add(o, nat_flags[i].key,
				       json_object_new_boolean(!!(r->flags & nat_flags[i].flag)));
	return o;
}

/* nat-get's reply into the array @data */
static int nat_json_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;
	struct nat_spec r;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) != IPSECNAT_A_NAT)
			continue;
		nat_from_attr(a, &r);
		json_object_array_add(data, nat_json(&r));
	}
	return MNL_CB_OK;
}

static int nat_show_cb(const struct nlmsghdr *nlh, void *data)
{
	char buf[2 * INET_ADDRSTRLEN + 2], opts[64];
	const struct nlattr *a;
	struct nat_spec r;
	unsigned int i;

	printf("%-15s %-31s %s\n", "DEV", "TO-SOURCE", "OPTIONS");
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) != IPSECNAT_A_NAT)
			continue;
		nat_from_attr(a, &r);
		opts[0] = '\0';
		for (i = 0; i < NR_NAT_FLAGS; i++)
			if (r.flags & nat_flags[i].flag)
				snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%s%s",
					 opts[0] ? " " : "", nat_flags[i].cmd);
		printf("%-15s %-31s %s\n", r.dev,
		       range_text(&r, buf, sizeof(buf)) ?: "interface-address", opts[0] ? opts : "-");
	}
	return MNL_CB_OK;
}

/* 0, or the kernel's -errno (its message in nl_errmsg). */
static int nat_send(struct nl *nl, uint8_t cmd, const struct nat_spec *r, bool replace)
{
	struct nlmsghdr *nlh = msg_start(nl, 0, cmd);
	struct nlattr *nest = mnl_attr_nest_start(nlh, IPSECNAT_A_NAT);

	mnl_attr_put_strz(nlh, IPSECNAT_NAT_IFNAME, r->dev);
	if (cmd == IPSECNAT_CMD_NAT_ADD) {
		mnl_attr_put_u32(nlh, IPSECNAT_NAT_FLAGS, r->flags);
		if (r->flags & XT_IPSECNAT_F_TO_SOURCE) {
			mnl_attr_put_u32(nlh, IPSECNAT_NAT_MIN_ADDR, r->min_addr);
			mnl_attr_put_u32(nlh, IPSECNAT_NAT_MAX_ADDR, r->max_addr);
		}
	}
	mnl_attr_nest_end(nlh, nest);
	if (replace)
		mnl_attr_put(nlh, IPSECNAT_A_REPLACE, 0, NULL);
	return talk_try(nl, nlh, NULL, NULL);
}

/* nat rules: the IPSECNAT iptables rule of an out interface, without iptables */
static void cmd_nat(struct nl *nl, char **argv)
{
	struct nat_spec r = {};
	const char *verb, *why;
	unsigned int i;
	uint8_t cmd;

	verb = *argv ? *argv++ : "show";
	if (!strcmp(verb, "show") || !strcmp(verb, "list")) {
		json_object *rules;

		if (*argv)
			bad("unexpected argument \"%s\"", *argv);
		if (!json) {
			talk(nl, msg_start(nl, 0, IPSECNAT_CMD_NAT_GET), nat_show_cb, NULL);
			return;
		}
		rules = json_object_new_array();
		talk(nl, msg_start(nl, 0, IPSECNAT_CMD_NAT_GET), nat_json_cb, rules);
		printf("%s\n", json_object_to_json_string_ext(rules, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(rules);
		return;
	}
	if (!strcmp(verb, "add"))
		cmd = IPSECNAT_CMD_NAT_ADD;
	else if (!strcmp(verb, "del") || !strcmp(verb, "delete"))
		cmd = IPSECNAT_CMD_NAT_DEL;
	else
		bad("unknown nat command \"%s\"; try \"ipsecnat help\"", verb);
	for (; *argv; argv++) {
		const char *k = argv[0], *v = argv[1];

		for (i = 0; i < NR_NAT_FLAGS && strcmp(k, nat_flags[i].cmd); i++)
			;
		if (i < NR_NAT_FLAGS && cmd == IPSECNAT_CMD_NAT_ADD) {
			r.flags |= nat_flags[i].flag;
			continue;
		}
		if (!strcmp(k, "dev")) {
			if (!v)
				bad("\"dev\" needs an interface name");
			why = dev_fault(v);
			if (why)
				bad("invalid dev \"%s\": %s", v, why);
			strcpy(r.dev, v);
		} else if (!strcmp(k, "to-source") && cmd == IPSECNAT_CMD_NAT_ADD) {
			if (!v)
				bad("\"to-source\" needs an address or a range ADDR-ADDR");
			why = range_fault(v, &r.min_addr, &r.max_addr);
			if (why)
				bad("invalid to-source \"%s\": %s", v, why);
			r.flags |= XT_IPSECNAT_F_TO_SOURCE;
		} else {
			bad("unknown argument \"%s\"; try \"ipsecnat help\"", k);
		}
		argv++;
	}
	if (!r.dev[0])
		bad("\"nat %s\" needs dev IFNAME", verb);
	if (nat_send(nl, cmd, &r, false))
		die("%s", nl_errmsg);
}

/* ---- export, import: one JSON document with the table, forwards and settings ---- */

#define EXPORT_VERSION	1

/* The ranges the kernel's policy takes, to refuse a bad document before applying any of it */
static const uint32_t setting_max[IPSECNAT_SET_MAX + 1] = {
	[IPSECNAT_SET_MAX_SAS] = 1 << 24,
	[IPSECNAT_SET_MAX_SAS_PER_HOST] = 1 << 24,
	[IPSECNAT_SET_PENDING_WINDOW] = 3600,
	[IPSECNAT_SET_PENDING_TIMEOUT] = 86400,
	[IPSECNAT_SET_ESTABLISHED_TIMEOUT] = 604800,
};

static json_object *json_addr(const struct nlattr *a)
{
	char buf[INET_ADDRSTRLEN];

	return json_object_new_string(ip(a, buf));
}

static json_object *json_hex(unsigned long long v, int digits)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%0*llx", digits, v);
	return json_object_new_string(buf);
}

struct export {
	json_object *sas;
	struct show seen;
	bool config;	/* --config: static SAs only, without age and counts */
};

/* One SA as sa-get has it; age, idle, packets and bytes are for reading only. */
static int export_sa_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IPSECNAT_SA_MAX + 1] = {};
	struct export *e = data;
	const struct nlattr *sa;
	unsigned int d;
	json_object *o;

	sa = find_attr(nlh, IPSECNAT_A_SA);
	if (!sa)
		return MNL_CB_OK;
	mnl_attr_parse_nested(sa, sa_attr_cb, tb);
	d = tb[IPSECNAT_SA_DIR] ? mnl_attr_get_u8(tb[IPSECNAT_SA_DIR]) : 0;
	if (d > IPSECNAT_DIR_IKE || (e->config && !tb[IPSECNAT_SA_STATIC]) ||
	    row_printed(&e->seen, tb, d))
		return MNL_CB_OK;
	o = json_object_new_object();
	json_object_object_add(o, "dir", json_object_new_string(dir_names[d]));
	json_object_object_add(o, "host", json_addr(tb[IPSECNAT_SA_HOST]));
	json_object_object_add(o, "peer", json_addr(tb[IPSECNAT_SA_PEER]));
	json_object_object_add(o, "pub", json_addr(tb[IPSECNAT_SA_PUB]));
	if (tb[IPSECNAT_SA_IKE_SPI_I]) {
		json_object_object_add(o, "spi", json_hex(u64(tb[IPSECNAT_SA_IKE_SPI_I]), 16));
		json_object_object_add(o, "spi_r", json_hex(u64(tb[IPSECNAT_SA_IKE_SPI_R]), 16));
	} else {
		json_object_object_add(o, "spi", json_hex(ntohl(u32(tb[IPSECNAT_SA_SPI])), 8));
	}
	if (tb[IPSECNAT_SA_HOST_PORT] && tb[IPSECNAT_SA_PEER_PORT]) {
		json_object_object_add(o, "host_port", json_object_new_int(
			ntohs(mnl_attr_get_u16(tb[IPSECNAT_SA_HOST_PORT]))));
		json_object_object_add(o, "peer_port", json_object_new_int(
			ntohs(mnl_attr_get_u16(tb[IPSECNAT_SA_PEER_PORT]))));
	}
	json_object_object_add(o, "state", json_object_new_string(
		tb[IPSECNAT_SA_STATE] &&
		mnl_attr_get_u8(tb[IPSECNAT_SA_STATE]) == IPSECNAT_STATE_ESTABLISHED ?
		"established" : "pending"));
	json_object_object_add(o, "static", json_object_new_boolean(!!tb[IPSECNAT_SA_STATIC]));
	if (!e->config) {
		json_object_object_add(o, "age", json_object_new_int64(u32(tb[IPSECNAT_SA_AGE])));
		json_object_object_add(o, "idle", json_object_new_int64(u32(tb[IPSECNAT_SA_IDLE])));
		json_object_object_add(o, "packets",
				       json_object_new_uint64(u64(tb[IPSECNAT_SA_PACKETS])));
		json_object_object_add(o, "bytes", json_object_new_uint64(u64(tb[IPSECNAT_SA_BYTES])));
	}
	json_object_array_add(e->sas, o);
	return MNL_CB_OK;
}

static int export_fwd_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		const struct nlattr *tb[IPSECNAT_FWD_MAX + 1] = {};
		json_object *o;

		if (mnl_attr_get_type(a) != IPSECNAT_A_FWD)
			continue;
		mnl_attr_parse_nested(a, fwd_attr_cb, tb);
		o = json_object_new_object();
		json_object_object_add(o, "pub", json_addr(tb[IPSECNAT_FWD_PUB]));
		json_object_object_add(o, "server", json_addr(tb[IPSECNAT_FWD_SERVER]));
		json_object_array_add(data, o);
	}
	return MNL_CB_OK;
}

static int export_setting_cb(const struct nlattr *a, void *data)
{
	unsigned int t = mnl_attr_get_type(a);

	if (t <= IPSECNAT_SET_MAX && setting_names[t])
		json_object_object_add(data, setting_names[t],
				       json_object_new_int64(mnl_attr_get_u32(a)));
	return MNL_CB_OK;
}

static int export_settings_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a = find_attr(nlh, IPSECNAT_A_SETTINGS);

	if (a)
		mnl_attr_parse_nested(a, export_setting_cb, data);
	return MNL_CB_OK;
}

/* A JSON string field of an export's entry, "" if it has none. */
static const char *entry_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* An address field as a number, for the order of --config's entries. */
static uint32_t entry_addr(json_object *o, const char *key)
{
	uint32_t a = 0;

	inet_pton(AF_INET, entry_str(o, key), &a);
	return ntohl(a);
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

/* --config's forwards: by public address */
static int fwd_cmp(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;

	return cmp_u32(entry_addr(x, "pub"), entry_addr(y, "pub"));
}

/* --config's SAs: by direction, host, peer, public address and SPI */
static int sa_cmp(const void *a, const void *b)
{
	static const char *const keys[] = { "host", "peer", "pub" };
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	unsigned int i;
	int c;

	c = strcmp(entry_str(x, "dir"), entry_str(y, "dir"));
	for (i = 0; !c && i < sizeof(keys) / sizeof(keys[0]); i++)
		c = cmp_u32(entry_addr(x, keys[i]), entry_addr(y, keys[i]));
	/* SPIs of one direction have as many digits: as text, in number order */
	return c ?: strcmp(entry_str(x, "spi"), entry_str(y, "spi"));
}

/*
 * Everything import needs to make another namespace's module the same; with
 * --config only what is configured (settings, nat rules, forwards, static
 * SAs), in a stable order and without what changes by itself (age, counts):
 * a file to restore at boot.
 */
static void cmd_export(struct nl *nl, char **argv)
{
	json_object *root = json_object_new_object(), *settings = json_object_new_object();
	json_object *fwds = json_object_new_array(), *nats = json_object_new_array();
	struct export e = { .sas = json_object_new_array() };

	for (; *argv; argv++) {
		if (strcmp(*argv, "--config") && strcmp(*argv, "-config"))
			bad("unknown export argument \"%s\"; try \"ipsecnat help\"", *argv);
		e.config = true;
	}
	talk(nl, msg_start(nl, 0, IPSECNAT_CMD_SETTINGS_GET), export_settings_cb, settings);
	talk(nl, msg_start(nl, 0, IPSECNAT_CMD_NAT_GET), nat_json_cb, nats);
	talk(nl, msg_start(nl, 0, IPSECNAT_CMD_FWD_GET), export_fwd_cb, fwds);
	talk(nl, msg_start(nl, NLM_F_DUMP, IPSECNAT_CMD_SA_GET), export_sa_cb, &e);
	if (e.config) {
		/* nat rules keep the kernel's order: it is the rules' own */
		json_object_array_sort(fwds, fwd_cmp);
		json_object_array_sort(e.sas, sa_cmp);
	}
	json_object_object_add(root, "version", json_object_new_int(EXPORT_VERSION));
	json_object_object_add(root, "settings", settings);
	json_object_object_add(root, "nat", nats);
	json_object_object_add(root, "forwards", fwds);
	json_object_object_add(root, "sas", e.sas);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	free(e.seen.seen.keys);
}

/* A document import read and checked whole, before it changes anything. */
struct import {
	const char *file;
	struct sa_spec *sas;
	size_t nr_sas;
	uint32_t (*fwds)[2];	/* pub, server */
	size_t nr_fwds;
	struct nat_spec *nats;
	size_t nr_nats;
	uint32_t settings[IPSECNAT_SET_MAX + 1];	/* 0: not given */
};

/* A bad document: which entry, which field, and exit 2. */
static void __attribute__((noreturn, format(printf, 3, 4)))
doc_bad(const struct import *im, const char *where, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bad("%s: %s: %s", im->file, where, msg);
}

/* Every key of @o must be one of @keys (NULL-terminated). */
static void doc_keys(const struct import *im, json_object *o, const char *where,
		     const char *const *keys)
{
	const char *const *k;

	json_object_object_foreach(o, key, val) {
		(void)val;
		for (k = keys; *k && strcmp(*k, key); k++)
			;
		if (!*k)
			doc_bad(im, where, "unknown field \"%s\"", key);
	}
}

static json_object *doc_get(const struct import *im, json_object *o, const char *where,
			    const char *key, enum json_type type, bool required)
{
	static const char *const type_names[] = {
		[json_type_boolean] = "true or false", [json_type_int] = "an integer",
		[json_type_object] = "an object", [json_type_array] = "an array",
		[json_type_string] = "a string",
	};
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			doc_bad(im, where, "\"%s\" is missing", key);
		return NULL;
	}
	if (!json_object_is_type(v, type))
		doc_bad(im, where, "\"%s\" must be %s", key, type_names[type]);
	return v;
}

static const char *doc_str(const struct import *im, json_object *o, const char *where,
			   const char *key, bool required)
{
	json_object *v = doc_get(im, o, where, key, json_type_string, required);

	return v ? json_object_get_string(v) : NULL;
}

/* An integer field in [min, max]; false if absent. */
static bool doc_int(const struct import *im, json_object *o, const char *where, const char *key,
		    int64_t min, int64_t max, int64_t *out)
{
	json_object *v = doc_get(im, o, where, key, json_type_int, false);
	int64_t n;

	if (!v)
		return false;
	n = json_object_get_int64(v);
	if (n < min || n > max)
		doc_bad(im, where, "\"%s\" must be between %lld and %lld", key,
			(long long)min, (long long)max);
	*out = n;
	return true;
}

static uint32_t doc_addr(const struct import *im, json_object *o, const char *where,
			 const char *key)
{
	const char *v = doc_str(im, o, where, key, true);
	uint32_t a;

	if (!get_addr(v, &a) || !a)
		doc_bad(im, where, "\"%s\": \"%s\" is no IPv4 address", key, v);
	return a;
}

static void doc_sa(const struct import *im, json_object *o, const char *where, struct sa_spec *s)
{
	static const char *const keys[] = {
		"dir", "host", "peer", "pub", "spi", "spi_r", "host_port", "peer_port", "state",
		"static", "age", "idle", "packets", "bytes", NULL,
	};
	static const char *const counts[] = { "age", "idle", "packets", "bytes" };
	const char *dir, *state, *spi;
	int64_t hp, pp, n;
	json_object *v;
	uint64_t num;
	unsigned int i;
	bool ike;

	if (!json_object_is_type(o, json_type_object))
		doc_bad(im, where, "an SA must be an object");
	doc_keys(im, o, where, keys);
	dir = doc_str(im, o, where, "dir", true);
	if (!strcmp(dir, "ike"))
		s->dir = IPSECNAT_DIR_IKE;
	else if (!get_dir(dir, &s->dir))
		doc_bad(im, where, "\"dir\" must be \"in\", \"out\" or \"ike\", not \"%s\"", dir);
	ike = s->dir == IPSECNAT_DIR_IKE;
	s->host = doc_addr(im, o, where, "host");
	s->peer = doc_addr(im, o, where, "peer");
	s->pub = doc_addr(im, o, where, "pub");
	spi = doc_str(im, o, where, "spi", true);
	if (!get_num(spi, 16, ike ? UINT64_MAX : UINT32_MAX, &num) || !num)
		doc_bad(im, where, "\"spi\": \"%s\" is no %s SPI", spi, ike ? "IKE" : "ESP");
	if (ike)
		s->spi_i = num;
	else
		s->spi = htonl(num);
	spi = doc_str(im, o, where, "spi_r", false);
	if (spi && !ike)
		doc_bad(im, where, "\"spi_r\" on an ESP SA");
	if (spi && !get_num(spi, 16, UINT64_MAX, &s->spi_r))
		doc_bad(im, where, "\"spi_r\": \"%s\" is no IKE SPI", spi);
	if (doc_int(im, o, where, "host_port", 1, 65535, &hp) !=
	    doc_int(im, o, where, "peer_port", 1, 65535, &pp))
		doc_bad(im, where, "\"host_port\" and \"peer_port\" go together");
	if (json_object_object_get_ex(o, "host_port", NULL)) {
		s->host_port = htons(hp);
		s->peer_port = htons(pp);
	} else if (ike) {
		doc_bad(im, where, "an IKE SA needs \"host_port\" and \"peer_port\"");
	}
	state = doc_str(im, o, where, "state", true);
	if (!strcmp(state, "established"))
		s->state = IPSECNAT_STATE_ESTABLISHED;
	else if (!strcmp(state, "pending"))
		s->state = IPSECNAT_STATE_PENDING;
	else
		doc_bad(im, where, "\"state\" must be \"pending\" or \"established\", not \"%s\"",
			state);
	if (ike && s->state == IPSECNAT_STATE_ESTABLISHED && !s->spi_r)
		doc_bad(im, where, "an established IKE SA needs \"spi_r\"");
	v = doc_get(im, o, where, "static", json_type_boolean, false);
	s->is_static = v && json_object_get_boolean(v);
	/* read only: checked, not imported */
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		doc_int(im, o, where, counts[i], 0, INT64_MAX, &n);
}

static void doc_nat(const struct import *im, json_object *o, const char *where,
		    struct nat_spec *r)
{
	static const char *const keys[] = {
		"dev", "to_source", "preserve_ike", "preserve_natt", NULL,
	};
	const char *v, *why;
	json_object *b;
	unsigned int i;

	if (!json_object_is_type(o, json_type_object))
		doc_bad(im, where, "a nat rule must be an object");
	doc_keys(im, o, where, keys);
	v = doc_str(im, o, where, "dev", true);
	why = dev_fault(v);
	if (why)
		doc_bad(im, where, "\"dev\": \"%s\" is %s", v, why);
	strcpy(r->dev, v);
	v = doc_str(im, o, where, "to_source", false);
	if (v) {
		why = range_fault(v, &r->min_addr, &r->max_addr);
		if (why)
			doc_bad(im, where, "\"to_source\": \"%s\": %s", v, why);
		r->flags |= XT_IPSECNAT_F_TO_SOURCE;
	}
	for (i = 0; i < NR_NAT_FLAGS; i++) {
		b = doc_get(im, o, where, nat_flags[i].key, json_type_boolean, false);
		if (b && json_object_get_boolean(b))
			r->flags |= nat_flags[i].flag;
	}
}

/* Check the whole document into @im; exit 2 at the first fault. */
static void doc_read(struct import *im, json_object *root)
{
	static const char *const top_keys[] = {
		"version", "settings", "nat", "forwards", "sas", NULL,
	};
	static const char *const fwd_keys[] = { "pub", "server", NULL };
	json_object *sec;
	char where[48];
	int64_t n;
	size_t i, j;

	if (!json_object_is_type(root, json_type_object))
		doc_bad(im, "top level", "not an ipsecnat export (an object with \"version\": %d)",
			EXPORT_VERSION);
	doc_keys(im, root, "top level", top_keys);
	sec = doc_get(im, root, "top level", "version", json_type_int, true);
	if (json_object_get_int64(sec) != EXPORT_VERSION)
		doc_bad(im, "top level", "\"version\" %s: this ipsecnat reads version %d",
			json_object_get_string(sec), EXPORT_VERSION);
	sec = doc_get(im, root, "top level", "settings", json_type_object, false);
	if (sec) {
		json_object_object_foreach(sec, key, val) {
			unsigned int t;

			(void)val;
			for (t = 1; t <= IPSECNAT_SET_MAX && strcmp(key, setting_names[t]); t++)
				;
			if (t > IPSECNAT_SET_MAX)
				doc_bad(im, "settings", "unknown setting \"%s\"", key);
			doc_int(im, sec, "settings", key, 1, setting_max[t], &n);
			im->settings[t] = n;
		}
	}
	sec = doc_get(im, root, "top level", "nat", json_type_array, false);
	im->nr_nats = sec ? json_object_array_length(sec) : 0;
	im->nats = calloc(im->nr_nats + 1, sizeof(*im->nats));
	if (!im->nats)
		die("out of memory");
	for (i = 0; i < im->nr_nats; i++) {
		snprintf(where, sizeof(where), "nat[%zu]", i);
		doc_nat(im, json_object_array_get_idx(sec, i), where, &im->nats[i]);
		for (j = 0; j < i; j++)
			if (!strcmp(im->nats[j].dev, im->nats[i].dev))
				doc_bad(im, where, "a second rule for dev \"%s\"", im->nats[i].dev);
	}
	sec = doc_get(im, root, "top level", "forwards", json_type_array, false);
	im->nr_fwds = sec ? json_object_array_length(sec) : 0;
	im->fwds = calloc(im->nr_fwds + 1, sizeof(*im->fwds));
	for (i = 0; i < im->nr_fwds; i++) {
		json_object *o = json_object_array_get_idx(sec, i);

		snprintf(where, sizeof(where), "forwards[%zu]", i);
		if (!json_object_is_type(o, json_type_object))
			doc_bad(im, where, "a forward must be an object");
		doc_keys(im, o, where, fwd_keys);
		im->fwds[i][0] = doc_addr(im, o, where, "pub");
		im->fwds[i][1] = doc_addr(im, o, where, "server");
	}
	sec = doc_get(im, root, "top level", "sas", json_type_array, false);
	im->nr_sas = sec ? json_object_array_length(sec) : 0;
	im->sas = calloc(im->nr_sas + 1, sizeof(*im->sas));
	if (!im->sas || !im->fwds)
		die("out of memory");
	for (i = 0; i < im->nr_sas; i++) {
		snprintf(where, sizeof(where), "sas[%zu]", i);
		doc_sa(im, json_object_array_get_idx(sec, i), where, &im->sas[i]);
	}
}

/* The whole file as one JSON value, strictly (RFC 8259), white space around it. */
static json_object *doc_parse(const char *file, const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error err;
	json_object *root;
	size_t end;

	if (!tok)
		die("out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!root && err == json_tokener_continue)
		bad("%s: not JSON: the document ends early", file);
	if (!root)
		bad("%s: not JSON: %s at byte %zu", file, json_tokener_error_desc(err), end);
	while (end < len && isspace((unsigned char)text[end]))
		end++;
	if (end < len)
		bad("%s: not JSON: more after the document at byte %zu", file, end);
	json_tokener_free(tok);
	return root;
}

/*
 * The order that gives every SA its state (see ipsecnat_sa_add in
 * kmod/table.c): established inbound SAs, outbound SAs established then
 * pending, pending inbound SAs, IKE SAs.
 */
static unsigned int sa_rank(const struct sa_spec *s)
{
	bool est = s->state == IPSECNAT_STATE_ESTABLISHED;

	switch (s->dir) {
	case IPSECNAT_DIR_IN:
		return est ? 0 : 3;
	case IPSECNAT_DIR_OUT:
		return est ? 1 : 2;
	}
	return 4;
}

static const char *sa_name(const struct sa_spec *s, char *buf, size_t len)
{
	char h[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &s->host, h, sizeof(h));
	inet_ntop(AF_INET, &s->peer, p, sizeof(p));
	inet_ntop(AF_INET, &s->pub, a, sizeof(a));
	if (s->dir == IPSECNAT_DIR_IKE)
		snprintf(buf, len, "ike host %s peer %s pub %s spi 0x%016llx", h, p, a,
			 (unsigned long long)s->spi_i);
	else
		snprintf(buf, len, "%s host %s peer %s pub %s spi 0x%08x", dir_names[s->dir], h,
			 p, a, ntohl(s->spi));
	return buf;
}

struct import_count {
	unsigned int added, replaced, skipped, failed;
};

/* One entry's outcome; with --replace an existing one goes first. */
static void import_result(struct import_count *c, int err, bool replaced, const char *what,
			  size_t i, const char *name)
{
	if (!err && replaced) {
		c->replaced++;
	} else if (!err) {
		c->added++;
	} else if (err == -EEXIST) {
		c->skipped++;
	} else {
		fprintf(stderr, "Error: %s[%zu] (%s): %s\n", what, i, name, nl_errmsg);
		c->failed++;
	}
}

static void import_apply(struct nl *nl, const struct import *im, bool replace,
			 struct import_count *c, unsigned int *nr_settings)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	unsigned int t, rank;
	char name[128];
	bool repl;
	size_t i;
	int err;

	/* settings first: max-sas may have to grow for the SAs */
	nlh = msg_start(nl, 0, IPSECNAT_CMD_SETTINGS_SET);
	nest = mnl_attr_nest_start(nlh, IPSECNAT_A_SETTINGS);
	for (t = 1; t <= IPSECNAT_SET_MAX; t++)
		if (im->settings[t]) {
			mnl_attr_put_u32(nlh, t, im->settings[t]);
			(*nr_settings)++;
		}
	mnl_attr_nest_end(nlh, nest);
	if (*nr_settings && talk_try(nl, nlh, NULL, NULL)) {
		fprintf(stderr, "Error: settings: %s\n", nl_errmsg);
		c->failed++;
		*nr_settings = 0;
	}
	for (i = 0; i < im->nr_nats; i++) {
		repl = false;
		err = nat_send(nl, IPSECNAT_CMD_NAT_ADD, &im->nats[i], false);
		if (err == -EEXIST && replace) {
			repl = true;
			err = nat_send(nl, IPSECNAT_CMD_NAT_ADD, &im->nats[i], true);
		}
		snprintf(name, sizeof(name), "dev %s", im->nats[i].dev);
		import_result(c, err, repl, "nat", i, name);
	}
	for (i = 0; i < im->nr_fwds; i++) {
		char p[INET_ADDRSTRLEN], sv[INET_ADDRSTRLEN];

		for (repl = false;; repl = true) {
			nlh = msg_start(nl, 0, IPSECNAT_CMD_FWD_ADD);
			nest = mnl_attr_nest_start(nlh, IPSECNAT_A_FWD);
			mnl_attr_put_u32(nlh, IPSECNAT_FWD_PUB, im->fwds[i][0]);
			mnl_attr_put_u32(nlh, IPSECNAT_FWD_SERVER, im->fwds[i][1]);
			mnl_attr_nest_end(nlh, nest);
			err = talk_try(nl, nlh, NULL, NULL);
			if (err != -EEXIST || !replace || repl)
				break;
			nlh = msg_start(nl, 0, IPSECNAT_CMD_FWD_DEL);
			nest = mnl_attr_nest_start(nlh, IPSECNAT_A_FWD);
			mnl_attr_put_u32(nlh, IPSECNAT_FWD_PUB, im->fwds[i][0]);
			mnl_attr_nest_end(nlh, nest);
			talk_try(nl, nlh, NULL, NULL);
		}
		snprintf(name, sizeof(name), "pub %s server %s",
			 inet_ntop(AF_INET, &im->fwds[i][0], p, sizeof(p)),
			 inet_ntop(AF_INET, &im->fwds[i][1], sv, sizeof(sv)));
		import_result(c, err, repl, "forwards", i, name);
	}
	for (rank = 0; rank <= 4; rank++) {
		for (i = 0; i < im->nr_sas; i++) {
			if (sa_rank(&im->sas[i]) != rank)
				continue;
			repl = false;
			err = sa_add(nl, &im->sas[i], false);
			if (err == -EEXIST && replace) {
				repl = true;
				err = sa_add(nl, &im->sas[i], true);
			}
			import_result(c, err, repl, "sas", i,
				      sa_name(&im->sas[i], name, sizeof(name)));
		}
	}
}

/*
 * Import what "ipsecnat export" wrote, in any JSON layout: the whole
 * document is checked first (exit 2 if bad, nothing applied); then
 * settings, forwards and SAs are added. An entry that exists is skipped,
 * or replaced with --replace; a kernel error on one entry is reported and
 * the others are still added (exit 1).
 */
static int cmd_import(struct nl *nl, char **argv)
{
	struct import_count c = {};
	struct import im = {};
	unsigned int nr_settings = 0;
	bool replace = false;
	char *text = NULL;
	json_object *root;
	size_t size = 0, len = 0, n;
	FILE *f;

	for (; *argv && argv[0][0] == '-' && argv[0][1]; argv++) {
		if (strcmp(*argv, "--replace") && strcmp(*argv, "-replace"))
			bad("unknown import option \"%s\"; try \"ipsecnat help\"", *argv);
		replace = true;
	}
	if (!argv[0] || argv[1])
		bad("\"import\" needs one FILE (or - for stdin)");
	im.file = strcmp(argv[0], "-") ? argv[0] : "stdin";
	f = strcmp(argv[0], "-") ? fopen(argv[0], "r") : stdin;
	if (!f)
		die("%s: %s", argv[0], strerror(errno));
	for (;;) {
		char *more;

		if (len == size) {
			size = size ? 2 * size : 65536;
			more = realloc(text, size);
			if (!more)
				die("out of memory");
			text = more;
		}
		n = fread(text + len, 1, size - len, f);
		len += n;
		if (!n)
			break;
	}
	if (ferror(f))
		die("%s: cannot read", argv[0]);
	if (f != stdin)
		fclose(f);
	if (memchr(text, '\0', len))
		bad("%s: not JSON: a NUL byte", im.file);
	root = doc_parse(im.file, text, len);
	doc_read(&im, root);
	import_apply(nl, &im, replace, &c, &nr_settings);
	if (json)
		printf("{\"added\":%u,\"replaced\":%u,\"skipped\":%u,\"failed\":%u,\"settings\":%u}\n",
		       c.added, c.replaced, c.skipped, c.failed, nr_settings);
	else
		printf("import: %u added, %u replaced, %u skipped (already there), %u failed; "
		       "%u settings set\n", c.added, c.replaced, c.skipped, c.failed, nr_settings);
	json_object_put(root);
	free(im.sas);
	free(im.nats);
	free(im.fwds);
	free(text);
	return c.failed ? EXIT_FAILURE : 0;
}

/*
 * With -j, stdout is one JSON document: it is kept in memory and written
 * only once the command has succeeded, so that an error (die() exits
 * without it) never leaves part of one, even in the middle of a dump.
 * (glibc lets stdout be assigned.) monitor prints an object per event.
 */
static FILE *held_stdout;
static char *held_text;
static size_t held_len;

static void hold_stdout(void)
{
	held_stdout = stdout;
	stdout = open_memstream(&held_text, &held_len);
	if (!stdout)
		die("%s", strerror(errno));
}

static void release_stdout(void)
{
	if (!held_stdout)
		return;
	fclose(stdout);
	stdout = held_stdout;
	fwrite(held_text, 1, held_len, stdout);
	free(held_text);
}

static void cmd_simple(struct nl *nl, char **argv, uint8_t cmd, mnl_cb_t cb)
{
	if (*argv)
		bad("unexpected argument \"%s\"", *argv);
	talk(nl, msg_start(nl, 0, cmd), cb, NULL);
}

int main(int argc, char **argv)
{
	static struct nl nl;
	const char *cmd;
	int status = 0;

	argv = options(argv + 1);
	cmd = *argv ? *argv++ : "show";
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "export"))
		json = true;	/* JSON only, held until complete */
	if (!strcmp(cmd, "forward") || !strcmp(cmd, "nat"))
		argv = options(argv);	/* "forward -j show", as the usage has it */
	if (json && strcmp(cmd, "monitor"))
		hold_stdout();
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
	else if (!strcmp(cmd, "add"))
		cmd_add(&nl, argv);
	else if (!strcmp(cmd, "export"))
		cmd_export(&nl, argv);
	else if (!strcmp(cmd, "import"))
		status = cmd_import(&nl, argv);
	else if (!strcmp(cmd, "monitor"))
		cmd_monitor(&nl, argv);
	else if (!strcmp(cmd, "forward"))
		cmd_forward(&nl, argv);
	else if (!strcmp(cmd, "nat"))
		cmd_nat(&nl, argv);
	else
		bad("unknown command \"%s\"; try \"ipsecnat help\"", cmd);
	if (nl.sock)
		mnl_socket_close(nl.sock);
	release_stdout();
	return status;
}
