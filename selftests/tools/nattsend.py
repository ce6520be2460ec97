#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one NAT-T datagram from port 4500 to DST port 4500 through a raw
socket, so it works next to an IKE daemon that holds port 4500.

nattsend.py DST [PAYLOAD_HEX]   default payload ff: a NAT-keepalive
"""
import socket
import struct
import sys

NATT_PORT = 4500


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    payload = bytes.fromhex(sys.argv[2] if len(sys.argv) > 2 else "ff")
    # checksum 0: none, as RFC 3948 allows over IPv4
    udp = struct.pack("!HHHH", NATT_PORT, NATT_PORT, 8 + len(payload), 0) + payload
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP) as s:
        s.sendto(udp, (sys.argv[1], 0))


if __name__ == "__main__":
    main()
