// SPDX-License-Identifier: GPL-2.0
/*
 * espgen: send ESP packets as fast as one core can, for the benchmark.
 *
 *   espgen DST SECONDS [NSPI [SPI_BASE [PAYLOAD [udp]]]]
 *
 * Cycles through SPIs SPI_BASE .. SPI_BASE+NSPI-1 (default 1, 0x10000000),
 * PAYLOAD bytes after the 8-byte ESP header (default 64). Prints the
 * number of packets sent. Raw IP socket and sendmmsg in batches of 64;
 * with "udp", ESP in UDP (NAT-T) from port 4500 to DST port 4500.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64
#define NATT_PORT 4500

/* A UDP socket on port 4500, as an IKE daemon's NAT-T socket. */
static int natt_socket(struct sockaddr_in *dst)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(NATT_PORT) };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		return -1;
	dst->sin_port = htons(NATT_PORT);
	return fd;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static unsigned char buf[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	unsigned long long sent = 0;
	uint32_t nspi, base, seq = 0, next = 0;
	unsigned int payload, len, i;
	double end;
	int fd, n;

	if (argc < 3 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: espgen DST SECONDS [NSPI [SPI_BASE [PAYLOAD [udp]]]]\n");
		return 2;
	}
	nspi = argc > 3 ? strtoul(argv[3], NULL, 0) : 1;
	base = argc > 4 ? strtoul(argv[4], NULL, 0) : 0x10000000;
	payload = argc > 5 ? strtoul(argv[5], NULL, 0) : 64;
	if (!nspi || payload > sizeof(buf[0]) - 8) {
		fprintf(stderr, "espgen: bad NSPI or PAYLOAD\n");
		return 2;
	}
	len = 8 + payload;
	if (argc > 6 && !strcmp(argv[6], "udp"))
		fd = natt_socket(&dst);
	else
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ESP);
	if (fd < 0) {
		perror("espgen: socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
	}
	end = now() + strtod(argv[2], NULL);
	while (now() < end) {
		for (i = 0; i < BATCH; i++) {
			uint32_t spi = htonl(base + next), s = htonl(++seq);

			next = next + 1 == nspi ? 0 : next + 1;
			memcpy(buf[i], &spi, 4);
			memcpy(buf[i] + 4, &s, 4);
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += n;
	}
	printf("%llu\n", sent);
	return 0;
}
