#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send crafted ESP packets through a raw socket (test traffic only).

espsend.py DST [--count N] [--spi SPI|random] [--per-spi N] [--len BYTES]
               [--ip-options] [--src ADDR|PREFIX] [--rate PPS]
  --per-spi N sends N packets on each random SPI, sequence numbers 1..N
  (1: every packet looks like a new SA's first; 2 or more: a live new SA,
  credible to the gateway); without it sequence numbers count all packets.
  --len is the ESP length after the IP header (SPI + sequence + payload);
  below 8 it sends truncated ESP.
  --src forges the source address (IP_HDRINCL); a prefix such as
  198.51.100.128/26 picks a random address of it for every packet.
  --rate paces the packets (per second); --count 0 sends until stopped.
  Stopped by SIGTERM or done, it prints what it sent when --rate is given.
"""
import argparse
import ipaddress
import os
import random
import signal
import socket
import struct
import sys
import time

IPPROTO_ESP = 50


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dst")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--spi", default="random")
    ap.add_argument("--per-spi", type=int, default=0)
    ap.add_argument("--len", type=int, default=64)
    ap.add_argument("--ip-options", action="store_true")
    ap.add_argument("--src")
    ap.add_argument("--rate", type=float, default=0)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ESP)
    srcnet = None
    if a.src:
        if a.ip_options:
            ap.error("--src and --ip-options do not mix")
        srcnet = ipaddress.ip_network(a.src, strict=False)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    if a.ip_options:
        # four NOPs ... EOL: a valid, harmless IP option area
        s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x01\x01\x01\x00")
    dst = socket.inet_aton(a.dst)
    sent = 0
    start = time.monotonic()

    def summary(*_):
        if a.rate:
            dur = time.monotonic() - start
            print(f"# espsend {a.src or ''}->{a.dst}: {sent} packets in {dur:.1f} s "
                  f"({sent / max(dur, 0.001):.0f}/s)", flush=True)
        if _:
            sys.exit(0)

    signal.signal(signal.SIGTERM, summary)
    seq = 0
    while a.count == 0 or seq < a.count:
        seq += 1
        if a.rate:
            delay = start + (seq - 1) / a.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        esp_seq = seq
        if a.spi == "random":
            if a.per_spi:
                esp_seq = (seq - 1) % a.per_spi + 1
            if not a.per_spi or esp_seq == 1:
                spi = struct.unpack("!I", os.urandom(4))[0] | 0x100
        else:
            spi = int(a.spi, 0)
        pkt = (struct.pack("!II", spi, esp_seq) + os.urandom(max(a.len - 8, 0)))[: a.len]
        if srcnet is not None:
            if srcnet.num_addresses > 2:
                src = srcnet[random.randrange(1, srcnet.num_addresses - 1)]
            else:
                src = srcnet.network_address
            # the kernel fills in the checksum and the id; total length too
            pkt = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(pkt), 0, 0, 64,
                              IPPROTO_ESP, 0, src.packed, dst) + pkt
        try:
            s.sendto(pkt, (a.dst, 0))
        except OSError:
            if not a.rate:
                raise
            continue	# a full queue under a flood: drop, keep the pace
        sent += 1
    summary()


if __name__ == "__main__":
    main()
