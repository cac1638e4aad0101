#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the hand-made seed corpus, corpus/<harness>/, from the cases
below. Run it again after changing them: fuzz/make-seeds.py. The BPF
objects for prog-elf are compiled with clang -target bpf.

Findings of the fuzzers are added by hand as corpus/<harness>/crash-*."""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def z(*fields):
    return b"\0".join(f.encode() if isinstance(f, str) else f for f in fields)


# ---- netns-ref: size byte, reference ---------------------------------------
def netns_ref():
    cases = {
        "name": "blue", "pid-1": "pid:1", "pid-self": "pid:%d" % 1, "abs-proc": "/proc/1/ns/net",
        "abs-sandbox-net": "/net", "abs-sandbox-uts": "/uts", "abs-file": "/file", "abs-dir": "/dir",
        "abs-dir-net": "/dir/net", "abs-fifo": "/fifo", "abs-loop": "/loop", "abs-dangling": "/dangling",
        "abs-trailing": "/net/", "dotdot": "/run/netns/../x", "dotdot-name": "..", "dot": ".",
        "dots-ok": "/a/..b/c..", "pid-zero": "pid:0", "pid-lead0": "pid:01", "pid-big": "pid:99999999999999999999",
        "pid-empty": "pid:", "pid-sign": "pid:+1", "relative": "a/b", "space": "bl ue", "newline": "blue\n",
        "empty": "", "ctl": "\x01\x7f\xff",
    }
    for name, ref in cases.items():
        write("netns-ref", name, b"\xff" + ref.encode("latin-1"))
    write("netns-ref", "tight-buffer", b"\x0c" + b"/proc/1/ns/net")
    write("netns-ref", "tight-name", b"\x0f" + b"blue")
    write("netns-ref", "long", b"\xff" + b"/" + b"a" * 4200)
    write("netns-ref", "long-name", b"\xff" + b"n" * 4090)


# ---- names: printable size byte, string -----------------------------------
def names():
    for i, s in enumerate(["sk_lookup", "flow_dissector", "sk_lookup ", "SK_LOOKUP", "flow", "web-1",
                           "a" * 64, "a" * 65, "has.dot", "", "tab\tname", "\x80\xff", "x-_9Z",
                           "\x12\x00\x00\x00rest", "\x11\x00\x00\x00", "-" * 10]):
        write("names", "s%02d" % i, bytes([i * 7 % 256]) + s.encode("latin-1"))


# ---- config-parse: a whole configuration file -------------------------------
def config_parse():
    head = "[Match]\nNetns=blue tenant-*\n[Link]\nType=sk_lookup\nName=web\nProgram=builtin:steer\n"
    cases = [
        head,
        head + "[Binding]\nProtocol=tcp\nPrefix=192.0.2.0/24\nPort=80\nLabel=www\n"
               "[Binding]\nProtocol=udp\nPrefix=2001:db8::/32\nLabel=dns\n",
        "# comment\n; comment\n[Match]\n  Netns=*\n[Link]\nType=flow_dissector\nName=f\nProgram=builtin:flow\n",
        "[Match]\nNetns=/run/netns/a\n[Link]\nType=sk_lookup\nName=o\nProgram=/usr/lib/x.bpf.o:prog\n",
        "\xef\xbb\xbf[Link]\r\nType=sk_lookup\r\nName=w\r\nProgram=builtin:steer\r\n[Match]\r\nNetns=a\r\n",
        "[Match]\nNetns=pid:1\n", "[Links]\n", "Key=before\n", "[Match]\nNetns a\n", "[Match\n",
        head + "[Binding]\nProtocol=tcp\nPrefix=10.0.0.0/8\nLabel=a\n[Binding]\nProtocol=tcp\nPrefix=10.0.0.0/8\nLabel=b\n",
        head + "[Binding]\nPort=65536\n", head + "Name=again\n", "[Match]\nNetns=" + "x" * 300 + "\n",
        "[Match]\nNetns=a\n[Link]\nType=flow_dissector\nName=f\nProgram=builtin:flow\n[Binding]\nLabel=a\n",
        "[Match]\nNetns=/proc/self/ns/net\n", "[Link]\nProgram=/x.o:\n",
    ]
    for i, text in enumerate(cases):
        write("config-parse", "c%02d" % i, text.encode("latin-1"))


# ---- steer-parse: flags, port (2 bytes), protocol, prefix, port text, label --
def steer_parse():
    cases = [
        ("tcp", "127.0.0.0/8", "80", "web"), ("udp", "::1/128", "53", "dns"),
        ("tcp", "0.0.0.0/0", "0", "all"), ("tcp", "::/0", "65535", "a.b-c_d"),
        ("tcp", "10.0.0.1/8", "65536", "x"), ("TCP", "10.0.0.0/33", "-1", ""),
        ("udp", "2001:db8::/32", "00080", "l" * 65), ("sctp", "::ffff:1.2.3.4/128", "8o", "l" * 64),
        ("tcp", "1.2.3.4", "1", "bad label"), ("tcp", "1.2.3.4/", "", "\xff"),
        ("tcp", "1.2.3.4/0032", "99999", "ok"), ("udp", "fe80::1%eth0/128", "1", "ok"),
        ("udp", "1.2.3.4/3a", "1", "ok"), ("tcp", "/8", "1", "ok"), ("tcp", "a" * 50 + "/8", "1", "ok"),
    ]
    for i, (p, pfx, port, label) in enumerate(cases):
        write("steer-parse", "c%02d" % i, bytes([i % 4]) + struct.pack(">H", i * 4099 % 65536) +
              z(p, pfx, port, label.encode("latin-1")))


# ---- bus-message: D-Bus wire format ----------------------------------------
def align(buf, n):
    while len(buf) % n:
        buf.append(0)


def sig_next(sig, i):
    """End index of the single complete type starting at sig[i]."""
    c = sig[i]
    if c == "a":
        return sig_next(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        j = i + 1
        while sig[j] != close:
            j = sig_next(sig, j)
        return j + 1
    return i + 1


def split_sig(sig):
    out, i = [], 0
    while i < len(sig):
        j = sig_next(sig, i)
        out.append(sig[i:j])
        i = j
    return out


ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8, "s": 4, "o": 4,
         "g": 1, "h": 4, "v": 1, "a": 4, "(": 8, "{": 8}
FMT = {"y": "B", "b": "I", "n": "h", "q": "H", "i": "i", "u": "I", "x": "q", "t": "Q", "h": "I"}


def marshal(buf, t, v, e="<"):
    c = t[0]
    align(buf, ALIGN[c])
    if c in FMT:
        buf += struct.pack(e + FMT[c], v)
    elif c in "so":
        b = v.encode() if isinstance(v, str) else v
        buf += struct.pack(e + "I", len(b)) + b + b"\0"
    elif c == "g":
        b = v.encode()
        buf += bytes([len(b)]) + b + b"\0"
    elif c == "v":
        vt, vv = v
        marshal(buf, "g", vt, e)
        marshal(buf, vt, vv, e)
    elif c == "a":
        et = t[1:]
        at = len(buf)
        buf += b"\0\0\0\0"
        align(buf, ALIGN[et[0]])
        start = len(buf)
        for item in v:
            marshal(buf, et, item, e)
        buf[at:at + 4] = struct.pack(e + "I", len(buf) - start)
    elif c in "({":
        align(buf, 8)
        for st, sv in zip(split_sig(t[1:-1]), v):
            marshal(buf, st, sv, e)
    else:
        raise ValueError(t)


def message(member, sig, args, iface="org.netnslink1.Manager", path="/org/netnslink1", serial=1,
            n_fds=0, e="<", mtype=1, flags=0):
    body = bytearray()
    for t, v in zip(split_sig(sig), args):
        marshal(body, t, v, e)
    fields = [(1, ("o", path)), (3, ("s", member))]
    if iface:
        fields.append((2, ("s", iface)))
    if sig:
        fields.append((8, ("g", sig)))
    if n_fds:
        fields.append((9, ("u", n_fds)))
    hdr = bytearray(b"l" if e == "<" else b"B")
    hdr += bytes([mtype, flags, 1])
    hdr += struct.pack(e + "II", len(body), serial)
    marshal(hdr, "a(yv)", fields, e)
    align(hdr, 8)
    return bytes(hdr + body)


def bus_message():
    ref = ["pid:1", "sk_lookup", "web"]
    P = lambda **kv: {k: v for k, v in kv.items()}
    def prog(d):
        return [(k, v) for k, v in d.items()]
    builtin = prog(P(builtin=("s", "steer")))
    fdprog = prog(P(object_fd=("h", 0), program=("s", "dispatch")))
    pathprog = prog(P(object_path=("s", "/nonexistent/x.o"), program=("s", "dispatch")))
    M = "org.netnslink1.Manager"
    cases = {
        "attach-builtin": (0, message("Attach", "sssa{sv}", ref + [builtin])),
        "attach-flow": (0, message("Attach", "sssa{sv}", ["blue", "flow_dissector", "f", prog(P(builtin=("s", "flow")))])),
        "attach-fd": (1, message("Attach", "sssa{sv}", ref + [fdprog], n_fds=1)),
        "attach-fd-devnull": (1 | 1 << 2, message("Attach", "sssa{sv}", ref + [fdprog], n_fds=1)),
        "attach-fd-missing": (0, message("Attach", "sssa{sv}", ref + [fdprog], n_fds=1)),
        "attach-path": (0, message("Attach", "sssa{sv}", ref + [pathprog])),
        "attach-two-sources": (1, message("Attach", "sssa{sv}", ref + [builtin + fdprog], n_fds=1)),
        "attach-unknown-key": (0, message("Attach", "sssa{sv}", ref + [prog(P(colour=("s", "red")))])),
        "attach-wrong-variant": (0, message("Attach", "sssa{sv}", ref + [prog(P(builtin=("u", 7)))])),
        "attach-fd-as-string": (0, message("Attach", "sssa{sv}", ref + [prog(P(object_fd=("s", "3"), program=("s", "p")))])),
        "attach-empty-dict": (0, message("Attach", "sssa{sv}", ref + [[]])),
        "attach-bad-args": (0, message("Attach", "sssa{sv}", ["../x", "xdp", "a.b", builtin])),
        "attach-wrong-sig": (0, message("Attach", "sss", ref)),
        "attach-big-endian": (0, message("Attach", "sssa{sv}", ref + [builtin], e=">")),
        "update": (0, message("Update", "sssa{sv}", ref + [builtin])),
        "replace": (0, message("Replace", "sssua{sv}", ref + [42, builtin])),
        "replace-mismatch": (0, message("Replace", "sssua{sv}", ref + [1, builtin])),
        "detach": (0, message("Detach", "sss", ref)),
        "get-link": (0, message("GetLink", "sss", ref)),
        "list-all": (0, message("ListLinks", "s", [""])),
        "list-one": (0, message("ListLinks", "s", ["/run/netns/blue"])),
        "attach-many": (1, message("AttachMany", "a(sssa{sv})", [[ref + [builtin], ["pid:1", "sk_lookup", "b", fdprog]]], n_fds=1)),
        "attach-many-bad": (0, message("AttachMany", "a(sssa{sv})", [[ref + [builtin], ["", "x", "y", []]]])),
        "detach-many": (0, message("DetachMany", "a(sss)", [[ref, ["blue", "flow_dissector", "f"]]])),
        "get-all": (0, message("GetAll", "s", [M], iface="org.freedesktop.DBus.Properties")),
        "introspect": (0, message("Introspect", "", [], iface="org.freedesktop.DBus.Introspectable")),
        "no-interface": (0, message("GetLink", "sss", ref, iface=None)),
        "two-messages": (0, message("GetLink", "sss", ref) + message("Detach", "sss", ref, serial=2)),
    }
    S = "org.netnslink1.Steering"
    # The fuzzer's own netns, where its one steer link runs.
    tgt = ["/proc/self/ns/net", "s1"]
    cases.update({
        "steer-add": (0, message("AddBinding", "ssssqs", tgt + ["tcp", "127.0.0.0/8", 80, "web"], iface=S)),
        "steer-add-v6": (0, message("AddBinding", "ssssqs", tgt + ["udp", "::1/128", 0, "dns"], iface=S)),
        "steer-add-bad": (0, message("AddBinding", "ssssqs", tgt + ["icmp", "1.2.3.4/33", 1, "a b"], iface=S)),
        "steer-remove": (0, message("RemoveBinding", "ssssq", tgt + ["tcp", "127.0.0.0/8", 80], iface=S)),
        "steer-list": (0, message("ListBindings", "ss", tgt, iface=S)),
        "steer-register": (1 | 3 << 2, message("RegisterSocket", "sssh", tgt + ["web", 0], iface=S, n_fds=1)),
        "steer-register-pipe": (1 | 2 << 2, message("RegisterSocket", "sssh", tgt + ["web", 0], iface=S, n_fds=1)),
        "steer-unregister": (0, message("UnregisterSocket", "sss", tgt + ["web"], iface=S)),
        "steer-destinations": (0, message("ListDestinations", "ss", tgt, iface=S)),
        "steer-set": (0, message("SetBindings", "ssa(ssqs)", tgt + [[["tcp", "10.0.0.0/8", 1, "a"], ["udp", "::/0", 0, "b"], ["tcp", "10.0.0.0/8", 1, "c"]]], iface=S)),
        "steer-set-empty": (0, message("SetBindings", "ssa(ssqs)", tgt + [[]], iface=S)),
        "steer-other-link": (0, message("ListBindings", "ss", ["/proc/self/ns/net", "nosuch"], iface=S)),
        "steer-other-netns": (0, message("ListBindings", "ss", ["pid:1", "s1"], iface=S)),
        "steer-ino-ref": (0, message("ListBindings", "ss", ["ino:1", "s1"], iface=S)),
    })
    for name, (sel, data) in cases.items():
        write("bus-message", name, bytes([sel]) + data)


# ---- prog-elf: flags, program name, object ---------------------------------
BPF_SRC = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
SEC("sk_lookup") int dispatch(struct bpf_sk_lookup *ctx) {
        __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&counts, &k);
        if (v) __sync_fetch_and_add(v, 1);
        return SK_PASS;
}
SEC("flow_dissector") int dissect(struct __sk_buff *skb) { return BPF_OK; }
SEC("socket") int filter(struct __sk_buff *skb) { return 0; }
SEC("sk_lookup") int reject(struct bpf_sk_lookup *ctx) { volatile int x[4]; return x[ctx->local_port & 7]; }
char _license[] SEC("license") = "GPL";
"""

MIN_SRC = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("sk_lookup") int pass(struct bpf_sk_lookup *ctx) { return SK_PASS; }
char _license[] SEC("license") = "GPL";
"""


def compile_bpf(src, debug):
    with tempfile.TemporaryDirectory() as d:
        c, o = os.path.join(d, "p.bpf.c"), os.path.join(d, "p.bpf.o")
        open(c, "w").write(src)
        # -g for BTF (libbpf needs it for .maps); without debug, the DWARF
        # is stripped again and only .BTF stays.
        subprocess.run(["clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", c, "-o", o],
                       check=True)
        if not debug:
            subprocess.run(["llvm-strip", "-g", o], check=True)
        return open(o, "rb").read()


def prog_elf():
    full = compile_bpf(BPF_SRC, False)
    btf = compile_bpf(MIN_SRC, True)
    small = compile_bpf(MIN_SRC, False)
    cases = {
        "sk-lookup": (0, "dispatch", full), "sk-lookup-cached": (2, "dispatch", full),
        "flow": (1, "dissect", full), "wrong-type": (1, "dispatch", full), "socket-filter": (0, "filter", full),
        "verifier-reject": (0, "reject", full), "no-such-prog": (0, "nosuch", full),
        "empty-name": (0, "", full), "min-btf": (2, "pass", btf), "min": (0, "pass", small),
        "truncated-half": (0, "pass", small[:len(small) // 2]), "truncated-header": (0, "pass", small[:63]),
        "elf-header-only": (0, "pass", small[:64]), "not-elf": (0, "pass", b"#!/bin/sh\n" * 10),
    }
    # A section header table pointing past the end.
    bad = bytearray(small)
    struct.pack_into("<Q", bad, 0x28, len(small) * 4)
    cases["bad-shoff"] = (0, "pass", bytes(bad))
    for name, (flags, prog, obj) in cases.items():
        write("prog-elf", name, bytes([flags]) + prog.encode() + b"\0" + obj)


# ---- pin-tree: ops (op byte, path, [target]) -------------------------------
MKDIR, SK_A, SK_B, FLOW, DEFUNCT, MAP, PROG, LINK, JOURNAL = range(9)


def ops(*items):
    out = b""
    for it in items:
        out += bytes([it[0]]) + it[1].encode() + b"\0"
        if it[0] == LINK:
            out += it[2].encode() + b"\0"
        elif it[0] == JOURNAL:
            # entries: (pick, name); pick < 128 names one of our links by id
            out += bytes([len(it[2]) - 1])
            for pick, name in it[2]:
                out += bytes([pick]) + name.encode() + b"\0"
    return out


def pin_tree():
    cases = {
        "one-link": [(SK_A, "@/sk_lookup/web")],
        "all-kinds": [(SK_A, "@/sk_lookup/a"), (SK_B, "@/sk_lookup/b"), (FLOW, "@/flow_dissector/f"),
                      (DEFUNCT, "@/sk_lookup/gone"), (MAP, "@/sk_lookup/map"), (PROG, "@/sk_lookup/prog")],
        "wrong-type": [(FLOW, "@/sk_lookup/f"), (SK_A, "@/flow_dissector/s")],
        "wrong-netns": [(SK_A, "12345/sk_lookup/elsewhere")],
        "bad-names": [(SK_A, "@/sk_lookup/" + "x" * 65), (MKDIR, "@/sk_lookup/dir"), (SK_B, "0/sk_lookup/zero"),
                      (SK_B, "007/sk_lookup/lead"), (MKDIR, "notanumber")],
        "steer-maps": [(SK_A, "@/sk_lookup/s1"), (MKDIR, "@/steer/s1"), (MAP, "@/steer/s1/bindings")],
        "attach-pending": [(SK_A, "attach-pending-0123456789abcdef/@/sk_lookup/web")],
        "attach-commit": [(SK_A, "attach-commit--0123456789abcdef/@/sk_lookup/web")],
        "detach-pending": [(SK_A, "detach-pending-0123456789abcdef/@/sk_lookup/web")],
        "detach-commit": [(SK_B, "detach-commit--0123456789abcdef/@/sk_lookup/web")],
        "commit-clash": [(SK_A, "@/sk_lookup/web"), (SK_B, "attach-commit--1/@/sk_lookup/web")],
        "pending-dir-in-pin": [(MKDIR, "attach-pending-1/@/sk_lookup/web"), (MAP, "attach-pending-1/@/sk_lookup/web/m")],
        "commit-dir-in-pin": [(MKDIR, "attach-commit--1/@/sk_lookup/web"), (MAP, "attach-commit--1/@/sk_lookup/web/m")],
        "batch-file": [(MAP, "attach-pending-2"), (MAP, "detach-commit--2")],
        "symlink-root": [(SK_A, "@/sk_lookup/web"), (LINK, "attach-pending-3", "@")],
        "symlink-loop": [(MKDIR, "@"), (LINK, "@/sk_lookup", "sk_lookup")],
        "symlink-netns": [(SK_A, "@/sk_lookup/web"), (LINK, "99/sk_lookup", "x"), (LINK, "98", "detach-commit--4")],
        "symlink-pin": [(MKDIR, "@/sk_lookup"), (LINK, "@/sk_lookup/l", "web")],
        # journals of batches a crash cut: an attach to undo, a detach to finish
        "journal-attach": [(SK_A, "@/sk_lookup/web"), (SK_B, "@/sk_lookup/api"),
                           (JOURNAL, "attach-pending-5", [(0, "web"), (1, "api"), (200, "none")])],
        "journal-detach": [(SK_A, "@/sk_lookup/web"), (FLOW, "@/flow_dissector/f"),
                           (JOURNAL, "detach-commit--6", [(0, "web"), (2, "f"), (4, "web")])],
        "journal-mismatch": [(SK_A, "@/sk_lookup/web"), (JOURNAL, "attach-pending-7", [(1, "web"), (0, "x" * 70)])],
        "journal-wrong-op": [(SK_A, "@/sk_lookup/web"), (JOURNAL, "attach-commit--8", [(0, "web")]),
                             (JOURNAL, "detach-pending-9", [(0, "web")])],
    }
    for name, items in cases.items():
        write("pin-tree", name, ops(*items))


def main():
    netns_ref()
    names()
    steer_parse()
    config_parse()
    bus_message()
    prog_elf()
    pin_tree()


if __name__ == "__main__":
    sys.exit(main())
