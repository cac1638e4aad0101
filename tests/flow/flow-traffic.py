#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Real traffic for the builtin:flow veth test.

  flow-traffic.py serve PORT READY-FILE   TCP and UDP echo on every address
  flow-traffic.py check PORT ADDRESS...   ICMP echo, a TCP stream and a UDP
                                          round trip to each address

There is no ping on the test machines, so ICMP echo is done here on a raw
socket; the kernel on the other side answers it.
"""
import os
import select
import socket
import struct
import sys
import threading
import time

TIMEOUT = 3.0
TCP_BYTES = 256 * 1024


def serve(port, ready_file):
    tcp = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    tcp.bind(("::", port))
    tcp.listen(16)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp.bind(("::", port))

    def echo(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    with open(ready_file, "w") as f:
        f.write("ready\n")
    while True:
        readable, _, _ = select.select([tcp, udp], [], [])
        if tcp in readable:
            conn, _ = tcp.accept()
            threading.Thread(target=echo, args=(conn,), daemon=True).start()
        if udp in readable:
            data, peer = udp.recvfrom(65536)
            udp.sendto(data, peer)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def icmp_echo(addr):
    v6 = ":" in addr
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        req_type, rep_type = 128, 129
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        req_type, rep_type = 8, 0
    ident = os.getpid() & 0xFFFF
    payload = b"netnslink-flow" * 4
    with s:
        s.settimeout(TIMEOUT)
        for seq in range(1, 4):
            hdr = struct.pack("!BBHHH", req_type, 0, 0, ident, seq)
            # The kernel fills the ICMPv6 checksum (it covers a pseudo header).
            csum = 0 if v6 else checksum(hdr + payload)
            s.sendto(struct.pack("!BBHHH", req_type, 0, csum, ident, seq) + payload, (addr, 0))
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    break
                if not v6:
                    data = data[(data[0] & 0xF) * 4:]  # raw IPv4 sockets get the IP header
                if len(data) >= 8:
                    t, _, _, i, q = struct.unpack("!BBHHH", data[:8])
                    if t == rep_type and i == ident and q == seq:
                        return True
    return False


def tcp_stream(addr, port):
    data = bytes(range(256)) * (TCP_BYTES // 256)
    with socket.create_connection((addr, port), timeout=TIMEOUT) as s:
        back = bytearray()

        def reader():
            while len(back) < len(data):
                chunk = s.recv(65536)
                if not chunk:
                    return
                back.extend(chunk)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        t.join(TIMEOUT * 3)
        return bytes(back) == data


def udp_round_trip(addr, port):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT)
        for _ in range(3):
            s.sendto(b"netnslink-flow-udp", (addr, port))
            try:
                if s.recv(4096) == b"netnslink-flow-udp":
                    return True
            except socket.timeout:
                pass
    return False


def check(port, addrs):
    failed = 0
    for addr in addrs:
        for name, fn in (("icmp echo", lambda: icmp_echo(addr)),
                         ("tcp %d KiB" % (TCP_BYTES // 1024), lambda: tcp_stream(addr, port)),
                         ("udp", lambda: udp_round_trip(addr, port))):
            try:
                ok = fn()
            except OSError as e:
                ok = False
                name += " (%s)" % e
            print("%s %s to %s" % ("ok  " if ok else "FAIL", name, addr), flush=True)
            failed += not ok
    return 1 if failed else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "check":
        sys.exit(check(int(sys.argv[2]), sys.argv[3:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
