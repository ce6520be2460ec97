#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send crafted ESP packets through a raw socket (test traffic only).

espsend.py DST [--count N] [--spi SPI|random] [--len BYTES] [--ip-options]
  --len is the ESP length after the IP header (SPI + sequence + payload);
  below 8 it sends truncated ESP.
"""
import argparse
import os
import socket
import struct

IPPROTO_ESP = 50


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dst")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--spi", default="random")
    ap.add_argument("--len", type=int, default=64)
    ap.add_argument("--ip-options", action="store_true")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ESP)
    if a.ip_options:
        # four NOPs ... EOL: a valid, harmless IP option area
        s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x01\x01\x01\x00")
    for seq in range(1, a.count + 1):
        if a.spi == "random":
            spi = struct.unpack("!I", os.urandom(4))[0] | 0x100
        else:
            spi = int(a.spi, 0)
        pkt = struct.pack("!II", spi, seq) + os.urandom(max(a.len - 8, 0))
        s.sendto(pkt[: a.len], (a.dst, 0))


if __name__ == "__main__":
    main()
