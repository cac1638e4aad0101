#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An upgrade from the previous release (commit b286828, pin layout version
# 2), whose builtin:steer counted binding hits in counters shared between
# CPUs: its daemon and CLI, built from git history, make steer links (one
# grown to a larger tier), bindings, registered sockets and hits; its
# daemon is SIGKILLed. Today's daemon moves each steer link to today's
# program and maps (per-CPU counters) at start, SIGKILLed at each step of
# that move once, and then must list, steer, count and change all of it,
# with the hits of the previous release kept, and keep it across its own
# restart.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"
source "$NL_SOURCE/tests/upgrade/upgrade-lib.sh"

PREVIOUS=b286828
start_old_release "$PREVIOUS"

# hits PREFIX [LINK]: the hits of a link's bindings of PREFIX, summed.
hits() {
        "$CTL" --json=short bindings "$A" "${2:-s1}" | "$PY" -c '
import json, sys
print(sum(b["hits"] for b in json.load(sys.stdin) if b["prefix"] == sys.argv[1]))' "$1"
}
# maps_of LINK: the name, type and size of each map its program uses.
maps_of() {
        bpftool -j prog show id "$(ctl_get prog_id show "$A" sk_lookup "$1")" | "$PY" -c '
import json, subprocess, sys
for m in sorted(json.load(sys.stdin).get("map_ids", [])):
    i = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(m)], capture_output=True,
                                  text=True, check=True).stdout)
    print(i["name"], i["type"], i["max_entries"])'
}

# --- what the previous release makes ------------------------------------------
check "previous release: attach builtin:steer" "$OLDCTL" attach "$A" sk_lookup s1 builtin:steer
check "previous release: attach a second one" "$OLDCTL" attach "$A" sk_lookup big builtin:steer
check "previous release: bind tcp v4" "$OLDCTL" bind "$A" s1 tcp 10.50.1.0/24 0 web
check "previous release: bind tcp v6" "$OLDCTL" bind "$A" s1 tcp fd00:50::/64 0 web
check "previous release: bind udp v4" "$OLDCTL" bind "$A" s1 udp 10.50.1.0/24 53 dns
"$PY" -c '
import json
print(json.dumps([{"protocol": "tcp", "prefix": "10.60.%d.%d/32" % (i // 256, i % 256), "port": 80,
                   "label": "web"} for i in range(3000)] +
                 [{"protocol": "tcp", "prefix": "10.50.2.0/24", "port": 8080, "label": "web"}]))' >"$T/big.json"
check "previous release: 3001 bindings grow the second link" "$OLDCTL" load-bindings "$A" big "$T/big.json"
check "previous release: servers registered" serve main \
        web4,web,tcp,127.0.0.1,9000 web6,web,tcp,::1,9000 dns4,dns,udp,127.0.0.1,9053 \
        --register "$OLDCTL" "$A" s1
check "previous release: a server on the second link" serve big web8,web,tcp,127.0.0.1,9001 \
        --register "$OLDCTL" "$A" big
check_eq "previous release steers by the second link" web8 "$(probe tcp 10.50.2.1 8080)"
steered() { probe tcp 10.50.1.7 80 fd00:50::7 443 && probe udp 10.50.1.9 53; }
WANT="web4 web6
dns4"
check_eq "previous release steers TCP v4, v6 and UDP" "$WANT" "$(steered)"
OLD_HITS=$(hits 10.50.1.0/24)
check "previous release counted hits ($OLD_HITS)" test "$OLD_HITS" -ge 2
OLD_PROG=$(ctl_get prog_id show "$A" sk_lookup s1)
OLD_BIG_PROG=$(ctl_get prog_id show "$A" sk_lookup big)
check_eq "previous release's steer program has no per-CPU counters" "" "$(maps_of s1 | grep '^counters ')"
check "... and counts in shared counters (atomic instructions)" test \
        "$(bpftool prog dump xlated id "$(ctl_get prog_id show "$A" sk_lookup s1)" | grep -c 'lock ')" -gt 0
OLD_TIER_MAPS=$(maps_of big | grep -E '^(prefixes|regions4) ')
ids() {
        local n
        for n in s1 big; do
                ctl_get link_id show "$A" sk_lookup "$n" || echo missing
        done | tr '\n' ' '
}
IDS=$(CTL=$OLDCTL ids)
check "two links with ids: $IDS" grep -Eq '^[0-9]+ [0-9]+ $' <<<"$IDS"
kill_daemon
check_eq "previous release SIGKILLed: still steered" "$WANT" "$(steered)"

# --- today's daemon: killed at each step of moving the links, then whole -----
for point in steer-grow-before-swap steer-grow-after-swap steer-grow-midway-pins; do
        NLD=$NEW_NLD start_daemon NETNSLINK_CRASH_AT=$point >/dev/null 2>&1
        wait_daemon_exit
        check_eq "today's daemon killed at $point while moving a link (SIGKILL)" 137 "$DAEMON_EXIT"
        check_eq "still steered after a kill at $point" "$WANT" "$(steered)"
done
: >"$T/daemon.log"
NLD=$NEW_NLD start_daemon || exit 1
check "the pin root is at layout version 3" test "$(bpftool -j map lookup pinned "$PIN_ROOT/layout" key 0 0 0 0 |
        "$PY" -c 'import json,sys; print(int(json.load(sys.stdin)["value"][0], 16))')" = 3
check_eq "today's daemon lists the same links" "$IDS" "$(ids)"
check_eq "s1 is builtin:steer" "builtin:steer" "$(ctl_get source show "$A" sk_lookup s1)"
check_eq "big is builtin:steer" "builtin:steer" "$(ctl_get source show "$A" sk_lookup big)"
NEW_PROG=$(ctl_get prog_id show "$A" sk_lookup s1)
check "s1 runs today's program now ($OLD_PROG -> $NEW_PROG)" test "$NEW_PROG" != "$OLD_PROG"
check "big too" test "$(ctl_get prog_id show "$A" sk_lookup big)" != "$OLD_BIG_PROG"
check_eq "... whose hit counters are per CPU" "counters percpu_array" "$(maps_of s1 | awk '$1 == "counters" { print $1, $2 }')"
check_eq "... with no atomic instruction (no counter shared between CPUs)" 0 \
        "$(bpftool prog dump xlated id "$NEW_PROG" | grep -c 'lock ')"
check_eq "big keeps its tier's map sizes" "$OLD_TIER_MAPS" "$(maps_of big | grep -E '^(prefixes|regions4) ')"
check_eq "s1's bindings: 3" 3 "$("$CTL" --json=short bindings "$A" s1 | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "big's bindings: 3001" 3001 "$("$CTL" --json=short bindings "$A" big | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "its destinations hold the sockets" "dns tcp=0 udp=1 web tcp=2 udp=0" "$("$CTL" --json=short destinations "$A" s1 | "$PY" -c '
import json, sys
c = {}
for d in json.load(sys.stdin):
    k = c.setdefault(d["label"], {"tcp": 0, "udp": 0})
    k[d["protocol"]] += 1 if d.get("socket_cookie") else 0
print(" ".join("%s tcp=%d udp=%d" % (l, v["tcp"], v["udp"]) for l, v in sorted(c.items())))')"
MOVED_HITS=$(hits 10.50.1.0/24)
check "the previous release's hits are kept ($OLD_HITS -> $MOVED_HITS)" test "$MOVED_HITS" -ge "$OLD_HITS"
check_eq "still steered" "$WANT" "$(steered)"
check_eq "so is the second link" web8 "$(probe tcp 10.50.2.1 8080)"
check_eq "... and counted, per CPU, on top of them" "$((MOVED_HITS + 2))" "$(hits 10.50.1.0/24)"
check "a new binding" "$CTL" bind "$A" s1 tcp 10.50.3.0/24 8080 web
check_eq "is steered" web4 "$(probe tcp 10.50.3.1 8080)"
check_eq "and counts its hit" 1 "$(hits 10.50.3.0/24)"
check "a binding of the previous release is removed" "$CTL" unbind "$A" s1 udp 10.50.1.0/24 53
check_eq "and no longer steered" refused "$(probe udp 10.50.1.9 53 | sed 's/timeout/refused/')"
check "SetBindings on the moved big link" "$CTL" load-bindings "$A" big "$T/big.json"
check_eq "big's kept binding still steers" web8 "$(probe tcp 10.50.2.1 8080)"
check "the steer link is updated to today's builtin:steer" "$CTL" update "$A" sk_lookup s1 builtin:steer
check_eq "which steers by the same bindings" "web4 web6" "$(probe tcp 10.50.1.7 80 fd00:50::7 443)"
stop_daemon
start_daemon || exit 1
check_eq "after today's daemon's own restart: the same links" "$IDS" "$(ids)"
check_eq "and steering" "web4 web6 web4" "$(probe tcp 10.50.1.7 80 fd00:50::7 443 10.50.3.1 8080)"
check "and nothing left to move" bash -c '! grep -q "moved to this release" "$1"' _ "$T/daemon.log"
stop_servers
finish
