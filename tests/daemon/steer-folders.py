#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks who owns the steer map folders of one netns, with the kernel as
witness: steer-folders.py PIN_ROOT NETNS_INO LINKS_JSON

LINKS_JSON is `netnslinkctl --json=short list NETNS`. Passes (exit 0) when
  - no load's folder (steer/new@...) is left;
  - every folder in steer/ is named for a link of the netns that runs
    builtin:steer;
  - every such link has its folder, and the maps pinned there are exactly
    the maps its program uses (bpftool prog show: map_ids), but libbpf's
    internal ones (.rodata), which are never pinned: ten in all.
Otherwise prints each problem and exits 1."""
import json
import os
import subprocess
import sys


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)


def main():
    root, ino, links_file = sys.argv[1:4]
    with open(links_file) as f:
        links = json.load(f)
    steer_dir = os.path.join(root, ino, "steer")
    folders = sorted(os.listdir(steer_dir)) if os.path.isdir(steer_dir) else []
    steer_links = {l["name"]: l for l in links
                   if l["attach_type"] == "sk_lookup" and l["prog_name"] == "steer_lookup"}
    problems = []
    for name in folders:
        if name.startswith("new@"):
            problems.append(f"a load's folder is left: steer/{name}")
        elif name not in steer_links:
            problems.append(f"steer/{name} belongs to no link running builtin:steer")
    for name, link in sorted(steer_links.items()):
        folder = os.path.join(steer_dir, name)
        if not os.path.isdir(folder):
            problems.append(f"steer link {name} has no map folder")
            continue
        prog = bpftool("prog", "show", "id", str(link["prog_id"]))
        uses = set(prog.get("map_ids", [])) if prog else set()
        for i in list(uses):
            m = bpftool("map", "show", "id", str(i))
            if m and "." in m.get("name", ""):
                uses.discard(i)         # libbpf's internal maps are not pinned
        pins = sorted(os.listdir(folder))
        pinned = set()
        for pin in pins:
            m = bpftool("map", "show", "pinned", os.path.join(folder, pin))
            if not m or m["id"] not in uses:
                problems.append(f"steer/{name}/{pin} is not a map of link {name}'s program "
                                f"{link['prog_id']} (it uses {sorted(uses)})")
            else:
                pinned.add(m["id"])
        if uses - pinned:
            problems.append(f"maps {sorted(uses - pinned)} of link {name}'s program are not pinned in steer/{name}")
        # Pin layout 3: the ten maps of layout 2, plus fast, counters and
        # counter_used.
        if len(pins) != 13:
            problems.append(f"steer/{name} holds {len(pins)} pins, not 13: {pins}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
