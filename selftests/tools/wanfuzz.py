#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""WAN fuzzer (test traffic only): random and malformed IPsec-related packets
through a raw socket, with a forged source address.

wanfuzz.py DST --src ADDR [--count N] [--rate PPS] [--seed S]
Each packet is one of: ESP (random SPI, sequence number, length, truncated),
ESP in UDP 4500 (random SPI, non-ESP marker, keepalive, truncated), IKE on
UDP 500 or 4500 (random SPIs, version, exchange, flags, lengths), ICMP
errors quoting ESP or ESP in UDP (random quoted bytes, short quotes), IP
fragments of any of these (random offsets, more-fragments), and IP options.
Prints what it sent by kind."""
import argparse
import collections
import random
import socket
import struct
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


class Fuzz:
    def __init__(self, rnd, src, dst):
        self.r, self.src, self.dst = rnd, socket.inet_aton(src), socket.inet_aton(dst)

    def blob(self, lo, hi):
        return bytes(self.r.getrandbits(8) for _ in range(self.r.randrange(lo, hi)))

    def spi(self):
        return self.r.choice([0, 1, 0xff, 0x100, 0xffffffff, self.r.getrandbits(32)])

    def esp(self):
        body = struct.pack("!II", self.spi(), self.r.choice([0, 1, 2, 7, 9, 2 ** 31,
                                                             self.r.getrandbits(32)]))
        return 50, (body + self.blob(0, 200))[: self.r.choice([0, 3, 4, 7, 8, 300])]

    def ike(self):
        r = self.r
        hdr = struct.pack("!QQBBBBII", r.getrandbits(64) if r.random() < 0.9 else 0,
                          r.choice([0, r.getrandbits(64)]), r.randrange(256),
                          r.choice([0x10, 0x20, 0x30, r.randrange(256)]),
                          r.choice([34, 35, 36, 37, 32, 2, r.randrange(256)]),
                          r.choice([0x08, 0x20, 0x28, r.randrange(256)]),
                          r.getrandbits(32), r.choice([28, 0, 0xffffffff, r.getrandbits(32)]))
        return (hdr + self.blob(0, 100))[: r.choice([4, 12, 27, 28, 400])]

    def udp(self):
        r = self.r
        kind = r.randrange(5)
        sport = r.choice([500, 4500, r.randrange(65536)])
        if kind == 0:
            dport, payload = 4500, struct.pack("!I", self.spi()) + self.blob(0, 200)
        elif kind == 1:
            dport, payload = 4500, b"\xff"
        elif kind == 2:
            dport, payload = 4500, b"\0\0\0\0" + self.ike()
        elif kind == 3:
            dport, payload = 500, self.ike()
        else:
            dport, payload = r.choice([500, 4500]), self.blob(0, 8)
        length = 8 + len(payload)
        if r.random() < 0.05:
            length = r.choice([0, 7, length + 50])
        return 17, struct.pack("!HHHH", sport, dport, length & 0xffff,
                               r.choice([0, r.getrandbits(16)])) + payload

    def icmp(self):
        r = self.r
        proto, inner = (50, self.esp()[1]) if r.random() < 0.5 else self.udp()
        quoted = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(inner), 0, 0, 64, proto, 0,
                             r.choice([self.dst, self.src, socket.inet_aton("10.0.1.1")]),
                             self.src) + inner
        quoted = quoted[: r.choice([8, 20, 24, 28, 36, len(quoted)])]
        body = struct.pack("!BBHHH", r.choice([3, 11, 12, 0]), r.choice([4, 3, 1, 0]), 0, 0,
                           r.choice([1400, 0, 68])) + quoted
        return 1, body[:2] + struct.pack("!H", csum(body)) + body[4:]

    def packet(self):
        r = self.r
        kind = r.choice(["esp", "udp", "icmp"])
        proto, payload = self.esp() if kind == "esp" else self.udp() if kind == "udp" \
            else self.icmp()
        options, frag = b"", 0
        if r.random() < 0.1:
            options = bytes([r.choice([1, 7, 68, 130, 148])]) + self.blob(1, 12)
            options += b"\0" * (-len(options) % 4)
            kind += "+options"
        if r.random() < 0.1:
            frag = (0x2000 if r.random() < 0.5 else 0) | r.randrange(0, 200)
            kind += "+fragment"
        ihl = 5 + len(options) // 4
        hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload),
                          r.getrandbits(16), frag, 64, proto, 0, self.src, self.dst) + options
        return kind, hdr + payload


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dst")
    ap.add_argument("--src", required=True)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    f = Fuzz(random.Random(a.seed), a.src, a.dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sent, start = collections.Counter(), time.monotonic()
    for n in range(a.count):
        delay = start + n / a.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        kind, pkt = f.packet()
        try:
            s.sendto(pkt, (a.dst, 0))
            sent[kind] += 1
        except OSError:
            sent["refused-by-sender"] += 1
    print(f"wanfuzz: {a.count} packets (seed {a.seed}): " +
          " ".join(f"{k}={v}" for k, v in sorted(sent.items())))


if __name__ == "__main__":
    main()
