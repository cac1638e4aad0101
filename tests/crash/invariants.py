#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The invariants of a pin root after a crash and restart, with the kernel
(bpftool) as witness. Used by tests/crash and bench/daemon/crash-anywhere.

  invariants.py PIN_ROOT [--expect FILE] [--netns-dir /run/netns]

Checks, printing one line per problem and exiting 1 if there is any:
  - no batch folder (attach-/detach- pending or commit) remains;
  - every pin <root>/<ino>/<type>/<name> names a live link of that netns and
    type;
  - ListLinks("") lists exactly the pinned links, with the kernel's link and
    program ids;
  - every netns link the kernel holds in one of our netns (the inodes of
    --netns-dir and of the pin tree) is pinned: no link without its pin
    (retried for a while: the kernel releases an unreferenced link
    asynchronously);
  - a <ino>/steer/<name> map folder exists exactly for links running
    builtin:steer;
  - with --expect: a JSON object {"<ino>/<type>/<name>": [allowed...]},
    each allowed state "absent" or a program name; every listed link must
    be in the file (anything else is a leak) and in one of its states.
Prints a last line "links checked N".
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


def list_links():
    bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
    mgr = dbus.Interface(bus.get_object("org.netnslink1", "/org/netnslink1"),
                         "org.netnslink1.Manager")
    links = mgr.ListLinks("", timeout=60)
    bus.close()
    return {f"{int(l['netns_ino'])}/{l['attach_type']}/{l['name']}": l for l in links}


def unpinned_kernel_links(inos, pinned_ids):
    links = bpftool_json("link", "show") or []
    return [l for l in links if l.get("type") == "netns" and l.get("netns_ino") in inos
            and l["id"] not in pinned_ids]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--expect")
    ap.add_argument("--netns-dir", default="/run/netns")
    ap.add_argument("--wait", type=float, default=5.0,
                    help="seconds to wait for the kernel to release unpinned links")
    a = ap.parse_args()
    problems = []

    pins = read_pins(a.root, problems)
    try:
        listed = list_links()
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

    for d in os.listdir(a.root):
        sdir = os.path.join(a.root, d, "steer")
        if d.isdigit() and os.path.isdir(sdir):
            for name in os.listdir(sdir):
                l = listed.get(f"{d}/sk_lookup/{name}")
                if not l or l["prog_name"] != STEER_PROG:
                    problems.append(f"steer maps {d}/steer/{name} without a steer link")
    for k, l in listed.items():
        if l["prog_name"] == STEER_PROG and not os.path.isdir(
                os.path.join(a.root, str(int(l["netns_ino"])), "steer", str(l["name"]))):
            problems.append(f"steer link {k} has no map folder")

    if a.expect:
        with open(a.expect) as f:
            expect = json.load(f)
        for k, allowed in sorted(expect.items()):
            now = str(listed[k]["prog_name"]) if k in listed else "absent"
            if now not in allowed:
                kind = "lost" if now == "absent" else "wrong"
                problems.append(f"{kind}: {k} is {now}, expected one of {allowed}")
        for k in sorted(set(listed) - set(expect)):
            problems.append(f"leaked: {k} is listed but was never attached")

    for p in problems:
        print(p)
    print(f"links checked {len(listed)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
