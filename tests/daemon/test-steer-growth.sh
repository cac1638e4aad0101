#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A builtin:steer link grows with what it holds (steer.h, growth): an idle
# link has the smallest maps; SetBindings that need more room move it to a
# larger tier (a new program and maps, swapped in with bpf_link_update),
# with traffic steered before, after and all through the change. A
# SIGKILL at each step of a growth leaves a link that the next start
# mends: its pins are the maps it runs, and it steers.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"

start_bus && mount_pins && start_daemon || exit 1

# max_entries NETNS LINK MAP: the size of one of a steer link's pinned maps.
max_entries() {
        bpftool -j map show pinned "$PIN_ROOT/$(netns_ino "$1")/steer/$2/$3" |
                "$PY" -c 'import json, sys; print(json.load(sys.stdin)["max_entries"])'
}
# pins_agree NETNS LINK: the link's folder pins exactly the maps its program
# runs (libbpf's .rodata aside), and no growth is left half done.
pins_agree() {
        local dir="$PIN_ROOT/$(netns_ino "$1")/steer/$2" prog
        prog=$(ctl_get prog_id show "$1" sk_lookup "$2")
        [ ! -e "$dir/grow" ] || return 1
        "$PY" - "$dir" "$prog" <<'EOF'
import json, os, subprocess, sys
d, prog = sys.argv[1], sys.argv[2]
def bt(*a):
    return json.loads(subprocess.run(["bpftool", "-j", *a], capture_output=True, text=True, check=True).stdout)
want = {}
for m in bt("prog", "show", "id", prog)["map_ids"]:
    info = bt("map", "show", "id", str(m))
    if "." not in info["name"]:
        want[info["name"]] = m
have = {n: bt("map", "show", "pinned", os.path.join(d, n))["id"] for n in os.listdir(d)}
sys.exit(0 if want == have else 1)
EOF
}
# bindings_file N FILE: the three bindings that traffic checks use, and N
# random ones elsewhere (10.64.0.0/10, never probed) over 40 labels.
bindings_file() {
        "$PY" - "$1" >"$2" <<'EOF'
import json, random, sys
random.seed(int(sys.argv[1]))
out = [{"protocol": "tcp", "prefix": "10.50.1.0/24", "port": 0, "label": "web"},
       {"protocol": "tcp", "prefix": "fd00:50::/64", "port": 0, "label": "web"},
       {"protocol": "udp", "prefix": "10.50.1.0/24", "port": 53, "label": "dns"}]
seen = set()
while len(out) < 3 + int(sys.argv[1]):
    p = "10.%d.%d.%d/32" % (random.randint(64, 127), random.randint(0, 255), random.randint(0, 255))
    port = random.randint(1, 65535)
    if (p, port) in seen:
        continue
    seen.add((p, port))
    out.append({"protocol": random.choice(["tcp", "udp"]), "prefix": p, "port": port,
                "label": "l%d" % (len(out) % 40)})
print(json.dumps(out))
EOF
}
n_bindings() { "$CTL" --json=short bindings "$1" "$2" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
steered() { probe tcp 10.50.1.7 80 10.50.1.8 8080 fd00:50::7 443 && probe udp 10.50.1.9 53; }
WANT="web4 web4 web6
dns4"

# setup NETNS LINK: a netns whose link s1 steers the three bindings to servers.
setup() {
        TRAFFIC_NS=$1
        check "$1: local prefixes" local_prefixes
        check "$1: attach builtin:steer" "$CTL" attach "$1" sk_lookup "$2" builtin:steer
        check_eq "$1: an idle link has the smallest maps (prefixes)" 1024 "$(max_entries "$1" "$2" prefixes)"
        check_eq "$1: and the coarsest regions" 1024 "$(max_entries "$1" "$2" regions4)"
        bindings_file 0 "$T/b0.json"
        check "$1: three bindings" "$CTL" load-bindings "$1" "$2" "$T/b0.json"
        check "$1: servers registered" serve "main-$1" \
                web4,web,tcp,127.0.0.1,9000 web6,web,tcp,::1,9000 dns4,dns,udp,127.0.0.1,9053 \
                --register "$CTL" "$1" "$2"
        check_eq "$1: steered on the smallest maps" "$WANT" "$(steered)"
}

# --- growth under traffic -----------------------------------------------------
A=$(make_netns a)
setup "$A" s1
PROG0=$(ctl_get prog_id show "$A" sk_lookup s1)
# Every growth changes the link's program: watchers hear a LinkUpdated, as
# from an Update, with the new prog_id.
"$CTL" --json=short monitor > "$T/monitor.json" 2>/dev/null &
MON=$!
sleep 0.5
UPDATES=""
# updates: the prog_id of each LinkUpdated of s1 the monitor saw, in order.
updates() {
        "$PY" -c '
import json, sys
print(" ".join(str(s["link"]["prog_id"]) for s in map(json.loads, open(sys.argv[1]))
               if s["signal"] == "LinkUpdated" and s["link"]["name"] == "s1"))' "$T/monitor.json"
}
# updates_are WANT: the monitor has seen exactly those, within 2 s.
updates_are() {
        for _ in $(seq 20); do
                [ "$(updates)" = "$1" ] && return 0
                sleep 0.1
        done
        log "LinkUpdated of s1 with prog_ids '$(updates)', wanted '$1'"
        return 1
}

# watch: connections to a bound address, over and over, until $T/stop; each
# answer on a line of $T/watch (anything but web4 is a misdirected lookup).
watch() {
        rm -f "$T/stop" "$T/watch"
        (while [ ! -e "$T/stop" ]; do probe tcp 10.50.1.7 80 10.50.1.7 81 10.50.1.200 443 10.50.1.9 22 | tr ' ' '\n'; done \
                >"$T/watch" 2>&1) &
        WATCH_PID=$!
        for _ in $(seq 100); do [ -s "$T/watch" ] && return 0; sleep 0.05; done
}
unwatch() {
        touch "$T/stop"
        wait "$WATCH_PID"
}
watched_ok() {
        local n bad
        n=$(grep -c . "$T/watch")
        bad=$(grep -vc '^web4$' "$T/watch")
        log "$n connections during the change, $bad not to web4"
        [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
}

grow() {
        local n=$1 prefixes=$2
        bindings_file "$n" "$T/b$n.json"
        watch
        check "SetBindings of $n + 3 bindings" "$CTL" load-bindings "$A" s1 "$T/b$n.json"
        sleep 0.3
        unwatch
        check "every connection during the growth to $prefixes reached web4" watched_ok
        check_eq "the link grew: prefixes holds $prefixes" "$prefixes" "$(max_entries "$A" s1 prefixes)"
        check_eq "it holds the $n + 3 bindings" $((n + 3)) "$(n_bindings "$A" s1)"
        check_eq "steered after the growth to $prefixes" "$WANT" "$(steered)"
        check "its pins are the maps it runs, no growth left over" pins_agree "$A" s1
        UPDATES="${UPDATES:+$UPDATES }$(ctl_get prog_id show "$A" sk_lookup s1)"
        check "one LinkUpdated told the growth to $prefixes, with the new prog_id" updates_are "$UPDATES"
}
hits() {
        "$CTL" --json=short bindings "$A" s1 | "$PY" -c '
import json, sys
print(sum(b["hits"] for b in json.load(sys.stdin) if b["prefix"] == "10.50.1.0/24" and b["protocol"] == "tcp"))'
}
H0=$(hits)
grow 3000 16384
H1=$(hits)
check "hit counters carried over ($H0 then $H1)" test "$H1" -gt "$H0"
grow 20000 65536
check_eq "regions by /16 now" 65536 "$(max_entries "$A" s1 regions4)"
PROG2=$(ctl_get prog_id show "$A" sk_lookup s1)
check "a new program runs the link ($PROG0 then $PROG2)" test "$PROG2" != "$PROG0"
check_eq "it is still builtin:steer" builtin:steer "$(ctl_get source show "$A" sk_lookup s1)"
check "the sockets stay registered" bash -c "'$CTL' --json=short destinations '$A' s1 | grep -q socket_cookie"
check "a smaller set needs no growth" "$CTL" load-bindings "$A" s1 "$T/b3000.json"
check_eq "and keeps the maps" 65536 "$(max_entries "$A" s1 prefixes)"
check "AddBinding" "$CTL" bind "$A" s1 tcp 10.50.2.0/24 8080 web
check_eq "is steered" web4 "$(probe tcp 10.50.2.1 8080)"
check "Update to builtin:steer keeps the grown maps" "$CTL" update "$A" sk_lookup s1 builtin:steer
check_eq "the same size" 65536 "$(max_entries "$A" s1 prefixes)"
check_eq "and steers" "$WANT" "$(steered)"
kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null
stop_daemon
start_daemon || exit 1
check_eq "after a restart: builtin:steer" builtin:steer "$(ctl_get source show "$A" sk_lookup s1)"
check_eq "its bindings" 3004 "$(n_bindings "$A" s1)"
check_eq "and steering" "$WANT web4" "$(steered) $(probe tcp 10.50.2.1 8080)"

# --- a SIGKILL at each step of a growth --------------------------------------
# grow_killed POINT N DESC: SetBindings of N + 3 bindings, which grows the
# link, killed at POINT; the next start must leave a coherent link.
grow_killed() {
        local point=$1 n=$2
        bindings_file "$n" "$T/b$n.json"
        kill_daemon
        start_daemon NETNSLINK_CRASH_AT="$point" || return 1
        exec 3>&2 2>/dev/null
        "$CTL" load-bindings "$B" c1 "$T/b$n.json" >/dev/null 2>&1
        wait_daemon_exit
        exec 2>&3 3>&-
        check_eq "$3: killed at $point (SIGKILL)" 137 "$DAEMON_EXIT"
        check_eq "$3: still steered with no daemon" "$WANT" "$(steered)"
        start_daemon || exit 1
        check "$3: after the next start, its pins are the maps it runs" pins_agree "$B" c1
        check_invariants "$3: pins, ListLinks and the kernel agree"
        check_eq "$3: and it steers" "$WANT" "$(steered)"
}
B=$(make_netns b)
setup "$B" c1
grow_killed steer-grow-before-swap 3000 "killed before the swap"
check_eq "the link kept its old maps" 1024 "$(max_entries "$B" c1 prefixes)"
check_eq "and its 3 bindings" 3 "$(n_bindings "$B" c1)"
grow_killed steer-grow-after-swap 3000 "killed after the swap"
check_eq "the link runs the larger maps" 16384 "$(max_entries "$B" c1 prefixes)"
check_eq "with the bindings it had" 3 "$(n_bindings "$B" c1)"
grow_killed steer-grow-midway-pins 20000 "killed with half the pins moved"
check_eq "the link runs the larger maps" 65536 "$(max_entries "$B" c1 prefixes)"
check_eq "with the bindings it had" 3 "$(n_bindings "$B" c1)"
check "a SetBindings after all that" "$CTL" load-bindings "$B" c1 "$T/b3000.json"
check_eq "holds its bindings" 3003 "$(n_bindings "$B" c1)"
check_eq "and steers" "$WANT" "$(steered)"

stop_servers
finish
