#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A client that sends its authentication, BEGIN and its first call in one
write, as libdbus and GDBus may: pipelined-call.py SOCKET [CALLS]

Sends AUTH EXTERNAL (uid 0), BEGIN and CALLS (default 1) Peer.Ping calls
on /org/netnslink1 in a single sendall, then waits up to 5 s for one reply
to each. Exit 0 when every call was answered, 1 (saying what came) if not.
"""
import socket
import struct
import sys


def pad(buf, n):
    return buf + b"\0" * (-len(buf) % n)


def ping(serial):
    """A Peer.Ping method call, marshalled by hand (little-endian)."""
    m = bytearray(b"l\1\0\1" + struct.pack("<II", 0, serial) + b"\0\0\0\0")
    for code, sig, value in ((1, b"o", b"/org/netnslink1"), (2, b"s", b"org.freedesktop.DBus.Peer"),
                             (3, b"s", b"Ping")):
        m += b"\0" * (-len(m) % 8)          # each field is a struct: 8-aligned
        m += bytes([code, 1]) + sig + b"\0"
        m += b"\0" * (-len(m) % 4)          # the string's length: 4-aligned
        m += struct.pack("<I", len(value)) + value + b"\0"
    m[12:16] = struct.pack("<I", len(m) - 16)
    m += b"\0" * (-len(m) % 8)              # the (empty) body starts 8-aligned
    return bytes(m)


def main():
    path, calls = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(b"\0AUTH EXTERNAL 30\r\nBEGIN\r\n" + b"".join(ping(i + 1) for i in range(calls)))
    got = b""
    try:
        while True:
            if got.startswith(b"OK ") and b"\r\n" in got:
                rest = got.split(b"\r\n", 1)[1]
                replies = 0
                while len(rest) >= 16:
                    body, _, fields = struct.unpack("<III", rest[4:16])
                    size = len(pad(b"x" * (16 + fields), 8)) + body
                    if len(rest) < size:
                        break
                    if rest[1] != 2:
                        sys.exit("a reply of type %d, not a method return: %r" % (rest[1], rest[:size]))
                    replies += 1
                    rest = rest[size:]
                if replies == calls:
                    return 0
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    sys.exit("%d call(s) sent with BEGIN: no answer to all within 5 s; got %r" % (calls, got))


if __name__ == "__main__":
    sys.exit(main())
