#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generic netlink fuzzer for the ipsecnat family (test namespaces only: it
adds, deletes and changes whatever it hits).

genlfuzz.py [--count N] [--seed S]
Sends N requests with random commands, flags (some dumps), attribute sets,
types, lengths, nesting (up to 4 deep) and values (boundaries of every
policy range, addresses of the test nets, broken lengths), reads every
answer, and prints a summary line. Exit 1 when a request goes unanswered
or the family stops answering a well-formed request."""
import argparse
import collections
import errno
import random
import socket
import struct
import sys

NETLINK_GENERIC, SOL_NETLINK, NETLINK_EXT_ACK = 16, 270, 11
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME = 16, 3, 2
NLA_F_NESTED = 0x8000
CMD_STATS_GET = 3
ADDRS = ["203.0.113.1", "203.0.113.2", "10.0.1.1", "10.0.1.2", "198.51.100.1",
         "0.0.0.0", "255.255.255.255", "127.0.0.1"]


def attr(t, payload, length=None):
    n = 4 + len(payload) if length is None else length
    a = struct.pack("HH", n & 0xffff, t) + payload
    return a + b"\0" * (-len(a) % 4)


class Fuzzer:
    def __init__(self, rnd):
        self.r = rnd
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.settimeout(5)
        self.seq = 0
        self.family = GENL_ID_CTRL
        err, _ = self.request(CTRL_CMD_GETFAMILY, 0,
                              attr(CTRL_ATTR_FAMILY_NAME, b"ipsecnat\0"), keep=True)
        if err:
            sys.exit("genlfuzz: no ipsecnat family (module not loaded?)")
        self.family = struct.unpack_from("H", self.reply, 20 + 4)[0]

    def request(self, cmd, flags, body, keep=False):
        """Send one request; return (errno or 0, replies) once it is answered."""
        self.seq += 1
        genl = struct.pack("BBH", cmd, 1, 0)
        msg = struct.pack("IHHII", 16 + len(genl) + len(body), self.family,
                          NLM_F_REQUEST | NLM_F_ACK | flags, self.seq, 0) + genl + body
        self.s.send(msg)
        replies = 0
        while True:
            try:
                data = self.s.recv(1 << 17)
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                continue        # a big dump overran the buffer: go on
            off = 0
            while off + 16 <= len(data):
                ln, typ, _, seq, _ = struct.unpack_from("IHHII", data, off)
                if ln < 16:
                    break
                if seq == self.seq:
                    if typ == NLMSG_ERROR:
                        err = -struct.unpack_from("i", data, off + 16)[0]
                        return err, replies
                    if typ == NLMSG_DONE:
                        return 0, replies
                    replies += 1
                    if keep:
                        self.reply = data[off:off + ln]
                off += (ln + 3) & ~3

    def value(self):
        r = self.r
        kind = r.randrange(9)
        if kind == 0:
            return b""
        if kind == 1:
            return bytes([r.choice([0, 1, 2, 3, 7, 255])])
        if kind == 2:
            return struct.pack("H", r.choice([0, 1, 500, 4500, 0xffff]))
        if kind == 3:
            return struct.pack("I", r.choice([0, 1, 2, 59, 3600, 3601, 86400, 604800, 604801,
                                              16777216, 16777217, 0x7fffffff, 0xffffffff,
                                              r.getrandbits(32)]))
        if kind == 4:
            return socket.inet_aton(r.choice(ADDRS))
        if kind == 5:
            return struct.pack("Q", r.choice([0, 1, 2 ** 63, 2 ** 64 - 1, r.getrandbits(64)]))
        if kind == 6:
            return bytes(r.getrandbits(8) for _ in range(r.randrange(1, 300)))
        if kind == 7:
            return b"ipsecnat\0"
        return struct.pack(">I", r.choice([0x100, 0x12345678, r.getrandbits(32)]))

    def attrs(self, depth):
        r = self.r
        out = b""
        for _ in range(r.randrange(0, 6)):
            t = r.choice([r.randrange(0, 20), r.randrange(0, 0x4000)])
            if depth < 4 and r.random() < 0.4:
                payload = self.attrs(depth + 1)
                t |= NLA_F_NESTED if r.random() < 0.8 else 0
            else:
                payload = self.value()
            length = None
            if r.random() < 0.05:      # a lying length: short, long, or under 4
                length = r.choice([0, 1, 3, len(payload) + 4 + r.randrange(1, 64),
                                   max(4, len(payload))])
            out += attr(t, payload, length)
        return out

    def one(self):
        r = self.r
        cmd = r.choice([r.randrange(0, 12), r.randrange(0, 256)] + list(range(1, 11)))
        flags = NLM_F_DUMP if r.random() < 0.25 else 0
        body = self.attrs(0)
        if r.random() < 0.03:           # a truncated message
            body = body[:r.randrange(0, len(body) + 1)]
        return self.request(cmd, flags, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    f = Fuzzer(random.Random(a.seed))
    results = collections.Counter()
    for _ in range(a.count):
        try:
            err, _ = f.one()
        except socket.timeout:
            print("genlfuzz: a request went unanswered")
            sys.exit(1)
        results[errno.errorcode.get(err, str(err)) if err else "ok"] += 1
    err, _ = f.request(CMD_STATS_GET, 0, b"")
    summary = " ".join(f"{k}={v}" for k, v in sorted(results.items()))
    print(f"genlfuzz: {a.count} messages (seed {a.seed}): {summary}")
    if err:
        print(f"genlfuzz: the family no longer answers stats: {errno.errorcode.get(err)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
