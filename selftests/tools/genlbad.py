#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raw generic netlink client: sends malformed, oversized and unknown
attributes to the ipsecnat family and checks each is refused with an
errno and an extack message. Exit 0 when all are refused properly."""
import errno
import os
import socket
import struct
import sys

NETLINK_GENERIC, SOL_NETLINK, NETLINK_EXT_ACK = 16, 270, 11
NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 1, 4, 2
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 16, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLMSGERR_ATTR_MSG = 1
# uapi/ipsecnat.h
CMD_SA_DEL, CMD_STATS_GET, CMD_SETTINGS_SET = 2, 3, 5
A_FILTER, A_SETTINGS, A_COUNT = 2, 4, 5
SA_SPI, SA_STATE = 5, 6
SET_MAX_SAS, SET_PENDING_WINDOW = 1, 3
NLA_F_NESTED = 0x8000


def attr(t, payload):
    a = struct.pack("HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def nest(t, *attrs):
    return attr(t | NLA_F_NESTED, b"".join(attrs))


class Genl:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.seq = 1
        self.family = GENL_ID_CTRL
        reply = self.request(CTRL_CMD_GETFAMILY, attr(CTRL_ATTR_FAMILY_NAME, b"ipsecnat\0"))
        self.family = struct.unpack_from("H", reply, 20 + 4)[0]

    def request(self, cmd, body, family=None):
        """Send; return the first reply payload, or raise (errno, message)."""
        self.seq += 1
        genl = struct.pack("BBH", cmd, 1, 0)
        n = 16 + len(genl) + len(body)
        msg = struct.pack("IHHII", n, family or self.family, NLM_F_REQUEST | NLM_F_ACK,
                          self.seq, 0) + genl + body
        self.s.send(msg)
        reply = None
        while True:
            data = self.s.recv(65536)
            off = 0
            while off < len(data):
                ln, typ, flags, seq, _ = struct.unpack_from("IHHII", data, off)
                if typ == NLMSG_ERROR:
                    err = -struct.unpack_from("i", data, off + 16)[0]
                    if err == 0:
                        return reply
                    text = ""
                    if flags & NLM_F_ACK_TLVS:
                        p = off + 20 + (16 if flags & NLM_F_CAPPED else
                                        struct.unpack_from("I", data, off + 20)[0])
                        while p + 4 <= off + ln:
                            alen, atyp = struct.unpack_from("HH", data, p)
                            if alen < 4:
                                break
                            if atyp == NLMSGERR_ATTR_MSG:
                                text = data[p + 4:p + alen].rstrip(b"\0").decode()
                            p += (alen + 3) & ~3
                    raise OSError(err, text)
                reply = data[off + 16:off + ln]
                off += (ln + 3) & ~3


def main():
    g = Genl()
    g.request(CMD_STATS_GET, b"")  # a well-formed request works
    u32 = lambda v: struct.pack("I", v)
    cases = [
        ("unknown top-level attribute", CMD_STATS_GET, attr(77, u32(1))),
        ("unknown nested attribute", CMD_SETTINGS_SET, nest(A_SETTINGS, attr(40, u32(1)))),
        ("max-sas 0, out of range", CMD_SETTINGS_SET, nest(A_SETTINGS, attr(SET_MAX_SAS, u32(0)))),
        ("pending-window 100000, out of range", CMD_SETTINGS_SET,
         nest(A_SETTINGS, attr(SET_PENDING_WINDOW, u32(100000)))),
        ("oversized u32 (8 bytes)", CMD_SETTINGS_SET,
         nest(A_SETTINGS, attr(SET_MAX_SAS, struct.pack("Q", 5)))),
        ("truncated SPI (2 bytes)", CMD_SA_DEL, nest(A_FILTER, attr(SA_SPI, b"\1\2"))),
        ("SPI 0", CMD_SA_DEL, nest(A_FILTER, attr(SA_SPI, u32(0)))),
        ("state 7", CMD_SA_DEL, nest(A_FILTER, attr(SA_STATE, b"\7"))),
        ("settings missing", CMD_SETTINGS_SET, b""),
        ("attribute longer than the message", CMD_STATS_GET,
         struct.pack("HH", 200, A_COUNT) + u32(1)),
    ]
    bad = 0
    for name, cmd, body in cases:
        try:
            g.request(cmd, body)
            print(f"NOT REFUSED: {name}")
            bad += 1
        except OSError as e:
            print(f"refused: {name}: {errno.errorcode.get(e.errno, e.errno)}: {e.strerror!r}")
            if e.errno not in (errno.EINVAL, errno.ERANGE) or not e.strerror:
                print("  expected EINVAL or ERANGE with a message")
                bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
