#!/usr/bin/env python3
"""Writes the seed inputs of Fuzz/tcmu-corpus: whole TCMU maps (mailbox, 1 KiB command ring,
8 KiB data area) laid out as linux/target_core_user.h has them (cdb_off at 24, iovecs at 48)."""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcmu-corpus")


def image(ring=1024, data=8192, entries=(), tail=0):
    b = bytearray(128 + ring + data)
    struct.pack_into("<HHII", b, 0, 2, 3, 128, ring)
    head = tail
    for kind, args in entries:
        if kind == "pad":
            struct.pack_into("<I", b, 128 + head, args)
            head = (head + args) % ring
            continue
        cid, cdb, iovs = args
        base = max(48 + 16 * len(iovs), 112)
        length = (base + len(cdb) + 7) // 8 * 8
        e = 128 + head
        struct.pack_into("<IHBBIII", b, e, length | 1, cid, 0, 0, len(iovs), 0, 0)
        struct.pack_into("<Q", b, e + 24, e + base)
        for i, (o, n) in enumerate(iovs):
            struct.pack_into("<QQ", b, e + 48 + 16 * i, o, n)
        b[e + base:e + base + len(cdb)] = bytes(cdb)
        head = (head + length) % ring
    struct.pack_into("<I", b, 12, head)
    struct.pack_into("<I", b, 64, tail)
    return bytes(b)


d = 128 + 1024
seeds = {
    "read-two-iovecs": image(entries=[("cmd", (1, [0x28, 0, 0, 0, 0, 0, 0, 0, 16, 0], [(d, 4096), (d + 4096, 4096)]))]),
    "inquiry-pad-wrap": image(tail=896, entries=[("cmd", (2, [0x12, 0, 0, 0, 36, 0], [(d, 36)])), ("pad", 8),
                                                 ("cmd", (3, [0x00] * 6, []))]),
    "write16-and-tur": image(entries=[("cmd", (4, [0x8A] + [0] * 12 + [8, 0, 0], [(d, 4096)])), ("cmd", (5, [0] * 6, []))]),
    "variable-length-cdb": image(entries=[("cmd", (6, [0x7F, 0, 0, 0, 0, 0, 0, 24] + [0] * 24, []))]),
}
for name, data in seeds.items():
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
