#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sockets and traffic for the Steering daemon tests (tests/daemon/test-steering.sh).

  serve READY SPEC... [--register CTL NETNS LINK] [--activate CTL NETNS LINK LABEL]
      Opens one socket per SPEC = NAME,LABEL,PROTO,ADDR,PORT[,dual] (TCP listening
      or UDP bound) and answers every connection or datagram with NAME. With
      --register, each socket whose LABEL is not "-" is registered through
      `CTL register NETNS LINK LABEL --fd=N`; with --activate, all of them at once
      through `CTL register NETNS LINK LABEL` given as LISTEN_FDS (socket
      activation). Writes its pid to READY when serving.
  probe PROTO ADDR PORT [ADDR PORT...]
      Prints, per target, the NAME that answered, "refused" or "timeout".
  stream PROTO ADDR PORT NAME STOPFILE
      Connects again and again until STOPFILE exists; prints "ok=N bad=M" where
      bad counts answers other than NAME, refusals and timeouts.
"""
import os
import selectors
import socket
import subprocess
import sys
import time


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def open_socket(proto, addr, port, dual):
    fam = family_of(addr)
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual else 1)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(512)
    return s


def run_ctl(args, pass_fds=()):
    r = subprocess.run(args, pass_fds=pass_fds, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write("%s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
        sys.exit(1)


def activate(ctl, netns, link, label, socks):
    """Runs `ctl register` the way systemd would start a socket-activated
    service: the sockets at fds 3.., LISTEN_FDS and LISTEN_PID set."""
    pid = os.fork()
    if pid == 0:
        try:
            high = [os.dup(s.fileno()) for s in socks]
            high = [os.dup2(fd, 100 + i) or 100 + i for i, fd in enumerate(high)]
            for i, fd in enumerate(high):
                os.dup2(fd, 3 + i, inheritable=True)
            for fd in high:
                os.close(fd)
            os.closerange(3 + len(socks), 100)
            env = dict(os.environ, LISTEN_FDS=str(len(socks)), LISTEN_PID=str(os.getpid()))
            os.execve(ctl, [ctl, "register", netns, link, label], env)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write("socket-activated register failed\n")
        sys.exit(1)


def serve(argv):
    ready, rest = argv[0], argv[1:]
    register = activation = None
    specs = []
    i = 0
    while i < len(rest):
        if rest[i] == "--register":
            register = rest[i + 1:i + 4]
            i += 4
        elif rest[i] == "--activate":
            activation = rest[i + 1:i + 5]
            i += 5
        else:
            specs.append(rest[i].split(","))
            i += 1
    sel = selectors.DefaultSelector()
    socks = []
    for spec in specs:
        name, label, proto, addr, port = spec[:5]
        s = open_socket(proto, addr, port, len(spec) > 5 and spec[5] == "dual")
        socks.append((name, label, proto, s))
        sel.register(s, selectors.EVENT_READ, (name, proto))
    if register:
        ctl, netns, link = register
        for name, label, proto, s in socks:
            if label != "-":
                run_ctl([ctl, "register", netns, link, label, "--fd=%d" % s.fileno()], (s.fileno(),))
    if activation:
        ctl, netns, link, label = activation
        activate(ctl, netns, link, label, [s for _, _, _, s in socks])
    with open(ready + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(ready + ".tmp", ready)
    while True:
        for key, _ in sel.select():
            name, proto = key.data
            try:
                if proto == "tcp":
                    c, _ = key.fileobj.accept()
                    c.sendall(name.encode() + b"\n")
                    c.close()
                else:
                    _, peer = key.fileobj.recvfrom(64)
                    key.fileobj.sendto(name.encode(), peer)
            except OSError:
                pass


def _ask_tcp(s, addr, port):
    s.connect((addr, port))
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(64)
        if not chunk:
            break
        data += chunk
    return data.decode().strip() or "closed"


def _ask_udp(s, addr, port):
    s.sendto(b"ping", (addr, port))
    data, _ = s.recvfrom(64)
    return data.decode()


def probe_one(proto, addr, port, timeout=1.0):
    tcp = proto == "tcp"
    s = socket.socket(family_of(addr), socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        return (_ask_tcp if tcp else _ask_udp)(s, addr, int(port))
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()


def probe(argv):
    proto, targets = argv[0], argv[1:]
    out = []
    for i in range(0, len(targets), 2):
        out.append(probe_one(proto, targets[i], targets[i + 1]))
    print(" ".join(out))


def stream(argv):
    proto, addr, port, name, stop = argv
    ok = bad = 0
    while not os.path.exists(stop):
        got = probe_one(proto, addr, port, timeout=2.0)
        if got == name:
            ok += 1
        else:
            bad += 1
            sys.stderr.write("stream: got %s\n" % got)
    print("ok=%d bad=%d" % (ok, bad))


if __name__ == "__main__":
    {"serve": serve, "probe": probe, "stream": stream}[sys.argv[1]](sys.argv[2:])
