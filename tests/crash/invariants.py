#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The invariants of a pin root after a crash and restart, with the kernel
(bpftool) as witness. Used by tests/crash and bench/daemon/crash-anywhere.

  invariants.py PIN_ROOT [--expect FILE] [--netns-dir /run/netns]

Checks, printing one line per problem and exiting 1 if there is any:
  - no batch folder (attach-/detach- pending or commit) remains;
  - every record of a configured link (<root>/configs) names a listed link
    with source config:<that path>, and every such link has one;
  - every pin <root>/<ino>/<type>/<name> names a live link of that netns and
    type (after waiting, within --wait, for the daemon's once-a-second sweep
    to drop the links of netns that are gone);
  - ListLinks("") lists exactly the pinned links, with the kernel's link and
    program ids;
  - every netns link the kernel holds in one of our netns (the inodes of
    --netns-dir and of the pin tree) is pinned: no link without its pin
    (retried for a while: the kernel releases an unreferenced link
    asynchronously);
  - a <ino>/steer/<name> map folder exists exactly for links running
    builtin:steer (a program called steer_lookup that uses maps: a user's
    program of that name has none), and ListLinks says source
    builtin:steer exactly for them;
  - with --expect: a JSON object {"<ino>/<type>/<name>": [allowed...]},
    each allowed state "absent", a program name, "*" (anything), or for a
    link running builtin:steer {"prog": "steer_lookup", "bindings":
    [[protocol, prefix, port, label]...], "sockets": {label: cookie}}: then
    ListBindings must give exactly those bindings, and ListDestinations a
    socket (TCP, IPv4) with exactly that cookie for each label named, and
    none for any other label. Every listed link must be in the file
    (anything else is a leak) and in one of its states. A binding or socket
    that every allowed state has and the daemon does not is lost; one that
    no allowed state has is leaked. Whatever is expected, every destination
    of a steer link counts as many bindings as ListBindings lists for it.
  - with --observed FILE: writes what was seen, {"<ino>/<type>/<name>":
    {"prog": name, and for steer links "bindings" and "sockets" as above}}.
Prints "bindings checked N", "sockets checked N" (of steer links) and a
last line "links checked N".
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import dbus

TYPES = ("sk_lookup", "flow_dissector")
STEER_PROG = "steer_lookup"
BATCH_RE = re.compile(r"^(attach|detach)-(pending|commit)-")


def bpftool_json(*args):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout) if out.stdout.strip() else None


def our_inodes(netns_dir, root):
    inos = set()
    if os.path.isdir(netns_dir):
        for n in os.listdir(netns_dir):
            try:
                inos.add(os.stat(os.path.join(netns_dir, n)).st_ino)
            except OSError:
                pass
    for n in os.listdir(root):
        if n.isdigit():
            inos.add(int(n))
    return inos


def read_pins(root, problems):
    pins = {}
    for d in sorted(os.listdir(root)):
        if BATCH_RE.match(d):
            problems.append(f"batch folder {d} remains")
            continue
        if not d.isdigit():
            continue
        for t in TYPES:
            tdir = os.path.join(root, d, t)
            if not os.path.isdir(tdir):
                continue
            for name in os.listdir(tdir):
                path = os.path.join(tdir, name)
                info = bpftool_json("link", "show", "pinned", path)
                key = f"{d}/{t}/{name}"
                if not info:
                    problems.append(f"pin {key} names no live link")
                    continue
                if info.get("type") != "netns" or info.get("netns_ino") != int(d):
                    problems.append(f"pin {key} names link {info.get('id')} of netns "
                                    f"{info.get('netns_ino')} type {info.get('type')}")
                pins[key] = info
    return pins


def list_links(bus):
    mgr = dbus.Interface(bus.get_object("org.netnslink1", "/org/netnslink1"),
                         "org.netnslink1.Manager")
    links = mgr.ListLinks("", timeout=60)
    return {f"{int(l['netns_ino'])}/{l['attach_type']}/{l['name']}": l for l in links}


def netns_paths(netns_dir):
    """inode -> a path in netns_dir naming that netns now."""
    paths = {}
    if os.path.isdir(netns_dir):
        for n in sorted(os.listdir(netns_dir)):
            try:
                paths.setdefault(os.stat(os.path.join(netns_dir, n)).st_ino, os.path.join(netns_dir, n))
            except OSError:
                pass
    return paths


def steer_state(bus, path, name, problems, key):
    """(bindings, sockets, stray) of a steer link: a set of (protocol,
    prefix, port, label), {label: cookie} of the TCP/IPv4 destinations with
    a socket, and the other destinations with a socket; None if unknown."""
    steering = dbus.Interface(bus.get_object("org.netnslink1", "/org/netnslink1"),
                              "org.netnslink1.Steering")
    try:
        bl = steering.ListBindings(path, name, timeout=60)
        dl = steering.ListDestinations(path, name, timeout=60)
    except dbus.DBusException as ex:
        problems.append(f"{key}: ListBindings/ListDestinations failed: {ex.get_dbus_name()}: "
                        f"{ex.get_dbus_message()}")
        return None
    bindings = {(str(b["protocol"]), str(b["prefix"]), int(b["port"]), str(b["label"])) for b in bl}
    # Each destination counts the bindings that point at it; a count that
    # is not the number listed is a change half made (and a destination
    # whose count falls to 0 is freed under the bindings still using it).
    count = {}
    for b in bl:
        d = (str(b["label"]), str(b["protocol"]), str(b["family"]))
        count[d] = count.get(d, 0) + 1
    for d in dl:
        label, proto, fam = str(d["label"]), str(d["protocol"]), str(d["family"])
        n = count.pop((label, proto, fam), 0)
        if int(d["bindings"]) != n:
            problems.append(f"half-made: {key}: destination {label} {proto}/{fam} counts "
                            f"{int(d['bindings'])} binding(s), ListBindings lists {n}")
    for (label, proto, fam), n in sorted(count.items()):
        problems.append(f"half-made: {key}: {n} binding(s) point at destination '{label}' {proto}/{fam}, "
                        f"which ListDestinations does not list")
    sockets, stray = {}, []
    for d in dl:
        cookie = int(d["socket_cookie"])
        if not cookie:
            continue
        if (str(d["protocol"]), str(d["family"])) == ("tcp", "ipv4") and str(d["label"]) not in sockets:
            sockets[str(d["label"])] = cookie
        else:
            stray.append(f"{d['label']} {d['protocol']}/{d['family']} cookie {cookie}")
    return bindings, sockets, stray


def fmt_binding(b):
    return f"{b[0]} {b[1]} port {b[2]} -> {b[3]}"


def check_steer(key, alts, actual, problems):
    """actual (bindings, sockets, stray) against the allowed steer states
    alts, each {"bindings": [...], "sockets": {...}}."""
    bindings, sockets, stray = actual
    for d in stray:
        problems.append(f"leaked: {key}: a socket of destination {d}, which was never registered")
    want = [({tuple(b) for b in a["bindings"]}, {l: int(c) for l, c in a["sockets"].items()}) for a in alts]
    if any(b == bindings and s == sockets for b, s in want):
        return
    n0 = len(problems)
    must = set.intersection(*(b for b, _ in want))
    may = set.union(*(b for b, _ in want))
    may_keys = {b[:3] for b in may}
    have_keys = {b[:3]: b[3] for b in bindings}
    for b in sorted(must - bindings):
        if b[:3] in have_keys:
            problems.append(f"wrong: {key}: binding {fmt_binding(b)} is bound to label {have_keys[b[:3]]}")
        else:
            problems.append(f"lost: {key}: binding {fmt_binding(b)}")
    for b in sorted(bindings - may):
        if b[:3] not in may_keys:
            problems.append(f"leaked: {key}: binding {fmt_binding(b)}, which was never added")
        elif b[:3] not in {m[:3] for m in must}:
            problems.append(f"wrong: {key}: binding {fmt_binding(b)} has a label it never had")
    must_s = set.intersection(*({(l, c) for l, c in s.items()} for _, s in want))
    may_s = set.union(*({(l, c) for l, c in s.items()} for _, s in want))
    for l, c in sorted(must_s):
        if sockets.get(l) is None:
            problems.append(f"lost: {key}: socket of label {l} (cookie {c}), still open, is not registered")
        elif sockets[l] != c:
            problems.append(f"wrong: {key}: label {l} has socket cookie {sockets[l]}, expected {c}")
    for l, c in sorted(sockets.items()):
        if (l, c) not in may_s and l not in {m[0] for m in must_s}:
            problems.append(f"leaked: {key}: label {l} has socket cookie {c}, never registered there "
                            f"or closed since")
    if len(problems) == n0:
        problems.append(f"wrong: {key}: bindings {sorted(bindings)} and sockets {sockets} match none "
                        f"of the {len(want)} possible states")


def unpinned_kernel_links(inos, pinned_ids):
    links = bpftool_json("link", "show") or []
    return [l for l in links if l.get("type") == "netns" and l.get("netns_ino") in inos
            and l["id"] not in pinned_ids]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--expect")
    ap.add_argument("--observed")
    ap.add_argument("--netns-dir", default="/run/netns")
    ap.add_argument("--wait", type=float, default=5.0,
                    help="seconds to wait for the kernel to release unpinned links")
    a = ap.parse_args()
    problems = []

    # A link whose netns is gone (deleted while the daemon ran, or just
    # before it started) is dropped by the daemon's sweep, once a second;
    # the kernel may also take a moment to destroy a deleted netns. Wait
    # for that (within --wait) before judging.
    named = set(netns_paths(a.netns_dir))
    deadline = time.monotonic() + a.wait
    while True:
        problems = []
        pins = read_pins(a.root, problems)
        going = [k for k, p in pins.items()
                 if p.get("netns_ino") == 0 or (named and p.get("netns_ino") not in named)]
        if not going or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
    try:
        listed = list_links(bus)
    except dbus.DBusException as ex:
        print(f"ListLinks failed: {ex.get_dbus_name()}: {ex}")
        return 1

    for k in sorted(set(pins) - set(listed)):
        problems.append(f"pin {k} is not listed")
    for k in sorted(set(listed) - set(pins)):
        problems.append(f"listed link {k} has no pin")
    for k in sorted(set(pins) & set(listed)):
        l, p = listed[k], pins[k]
        if int(l["link_id"]) != p["id"] or int(l["prog_id"]) != p["prog_id"]:
            problems.append(f"{k}: listed link {int(l['link_id'])} prog {int(l['prog_id'])}, "
                            f"kernel link {p['id']} prog {p['prog_id']}")
        if l["pin_path"] != os.path.join(a.root, k):
            problems.append(f"{k}: listed pin_path {l['pin_path']}")

    inos = our_inodes(a.netns_dir, a.root)
    pinned_ids = {p["id"] for p in pins.values()}
    deadline = time.monotonic() + a.wait
    while True:
        stray = unpinned_kernel_links(inos, pinned_ids)
        if not stray or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for l in stray:
        problems.append(f"kernel link {l['id']} (netns {l['netns_ino']}, prog {l['prog_id']}) has no pin")

    steer_ids = {p["id"] for p in bpftool_json("prog", "show") or []
                 if p.get("name") == STEER_PROG and p.get("map_ids")}

    def is_steer(l):
        return int(l["prog_id"]) in steer_ids

    for d in os.listdir(a.root):
        sdir = os.path.join(a.root, d, "steer")
        if d.isdigit() and os.path.isdir(sdir):
            for name in os.listdir(sdir):
                l = listed.get(f"{d}/sk_lookup/{name}")
                if not l or not is_steer(l):
                    problems.append(f"steer maps {d}/steer/{name} without a steer link")
    def listed_steer(l):
        """Whether the listing says l runs builtin:steer. A link a
        configuration file made lists source config:<path>: the file
        says, by its Program= (unreadable: as the kernel says). A link
        made with a cni: source says by its program_source."""
        src = str(l.get("source", ""))
        if src.startswith("cni:"):
            return l.get("program_source") == "builtin:steer"
        if not src.startswith("config:"):
            return src == "builtin:steer"
        try:
            with open(src[len("config:"):]) as f:
                progs = [x.split("=", 1)[1].strip() for x in f if x.strip().startswith("Program=")]
        except OSError:
            return is_steer(l)
        return progs[-1:] == ["builtin:steer"]

    # The record of configured links (<root>/configs, link id -> file, or
    # the cni: source its maker gave it): after a start, one per link listed
    # as config:<path>, with that path, or as cni:..., with that source.
    records = {}
    if os.path.exists(os.path.join(a.root, "configs")):
        for e in bpftool_json("map", "dump", "pinned", os.path.join(a.root, "configs")) or []:
            key = e.get("key")
            val = e.get("value")
            if isinstance(key, list):
                key = int.from_bytes(bytes(int(x, 16) for x in key), "little")
                val = bytes(int(x, 16) for x in val).split(b"\0", 1)[0].decode()
            records[int(key)] = val
    by_id = {int(l["link_id"]): (k, l) for k, l in listed.items()}
    for lid, path in sorted(records.items()):
        want = path if path.startswith("cni:") else "config:" + path
        if lid not in by_id:
            problems.append(f"record of configured link {lid} ({path}) names no listed link")
        elif by_id[lid][1].get("source") != want:
            problems.append(f"{by_id[lid][0]}: recorded as made by {path}, listed with source "
                            f"'{by_id[lid][1].get('source')}'")
    for k, l in listed.items():
        if str(l.get("source", "")).startswith(("config:", "cni:")) and int(l["link_id"]) not in records:
            problems.append(f"{k} is listed with source '{l['source']}' but has no record")

    for k, l in listed.items():
        if is_steer(l) != listed_steer(l):
            problems.append(f"{k} runs {'builtin:steer' if is_steer(l) else 'program ' + str(l['prog_name'])}"
                            f" but is listed with source '{l.get('source', '')}'")
        if is_steer(l) and not os.path.isdir(
                os.path.join(a.root, str(int(l["netns_ino"])), "steer", str(l["name"]))):
            problems.append(f"steer link {k} has no map folder")

    # The bindings and sockets of every steer link, asked by a path that
    # names its netns now (a link of a netns gone is a problem above).
    paths = netns_paths(a.netns_dir)
    steer = {}
    for k, l in sorted(listed.items()):
        ino = int(l["netns_ino"])
        if is_steer(l) and ino in paths:
            st = steer_state(bus, paths[ino], str(l["name"]), problems, k)
            if st:
                steer[k] = st
    bus.close()

    if a.expect:
        with open(a.expect) as f:
            expect = json.load(f)
        for k, allowed in sorted(expect.items()):
            if "*" in allowed:
                continue
            now = str(listed[k]["prog_name"]) if k in listed else "absent"
            progs = [x if isinstance(x, str) else x["prog"] for x in allowed]
            if now not in progs:
                kind = "lost" if now == "absent" else "wrong"
                problems.append(f"{kind}: {k} is {now}, expected one of {sorted(set(progs))}")
                continue
            alts = [x for x in allowed if isinstance(x, dict) and x["prog"] == now]
            if now == STEER_PROG and alts and "steer_lookup" not in allowed:
                if k in steer:
                    check_steer(k, alts, steer[k], problems)
                elif not any(p.startswith(f"{k}:") for p in problems):
                    problems.append(f"{k}: a steer link whose bindings could not be read")
        for k in sorted(set(listed) - set(expect)):
            problems.append(f"leaked: {k} is listed but was never attached")

    if a.observed:
        seen = {}
        for k, l in listed.items():
            seen[k] = {"prog": str(l["prog_name"])}
            if k in steer:
                seen[k]["bindings"] = sorted([list(b) for b in steer[k][0]])
                seen[k]["sockets"] = steer[k][1]
        with open(a.observed, "w") as f:
            json.dump(seen, f)

    for p in problems:
        print(p)
    print(f"bindings checked {sum(len(s[0]) for s in steer.values())}")
    print(f"sockets checked {sum(len(s[1]) for s in steer.values())}")
    print(f"links checked {len(listed)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
