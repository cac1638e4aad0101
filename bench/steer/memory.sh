#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/steer/memory.sh BUILD_DIR: the kernel memory of one builtin:steer
# link (its program and every map it uses, as bpftool reports memlock),
# idle and then holding 10,000 bindings, through the real daemon in the
# tests' sandbox. Target (issue 15): an idle steer link at most 512 KiB,
# growing with what it holds. A link's maps are sized by a tier
# (src/lib/steer-abi.h): an idle link has the smallest, and the daemon
# moves it to a larger one when its bindings need the room (steer.h,
# growth). Exits 1 if the idle link is over the target.
set -u
[ $# -ge 1 ] && [ -x "$1/src/daemon/netnslinkd" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
export NL_BUILD=$(cd "$1" && pwd)
export NL_SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
source "$NL_SOURCE/tests/harness/harness.sh"

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns mem)

# memlock of the link's program and of each map it uses, one line each.
link_memory() {
        local prog
        prog=$("$CTL" --json=short show "$A" sk_lookup "$1" | json_get prog_id)
        bpftool -j prog show id "$prog" | /usr/bin/python3 -c '
import json, subprocess, sys
p = json.load(sys.stdin)
rows = [("program " + p["name"], p.get("bytes_memlock", 0))]
for m in p.get("map_ids", []):
    info = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(m)],
                                     capture_output=True, text=True, check=True).stdout)
    rows.append(("map " + info["name"], info.get("bytes_memlock", 0)))
for name, b in sorted(rows, key=lambda r: -r[1]):
    print("  %-22s %10.1f KiB" % (name, b / 1024))
print("  %-22s %10.1f KiB" % ("total", sum(b for _, b in rows) / 1024))
with open(sys.argv[1], "w") as f:
    print(sum(b for _, b in rows) // 1024, file=f)' "$T/total"
}

"$CTL" attach "$A" sk_lookup idle builtin:steer >/dev/null || exit 1
echo "== an idle builtin:steer link (no bindings, no sockets)"
link_memory idle
IDLE=$(cat "$T/total")
/usr/bin/python3 -c '
import json, random
random.seed(1)
out = []
for i in range(10000):
    out.append({"protocol": "tcp", "prefix": "10.%d.%d.0/24" % (i // 256, i % 256),
                "port": random.randint(0, 65535), "label": "l%d" % (i % 64)})
print(json.dumps(out))' > "$T/bindings.json"
"$CTL" load-bindings "$A" idle "$T/bindings.json" >/dev/null || exit 1
echo "== the same link holding 10,000 bindings over 64 labels"
link_memory idle
finish >/dev/null
echo "idle: $IDLE KiB (target: at most 512 KiB); with 10,000 bindings: $(cat "$T/total") KiB"
[ "$IDLE" -le 512 ]
