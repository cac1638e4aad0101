#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Requests racing on one link name, and refused changes, leave nothing
# half made (issue 15, defect 4): no steer map folder outlives its link or
# its request, a steer link always has the maps its program uses pinned in
# its folder, and a SetBindings that is refused leaves no destination,
# binding, counter or region bit behind.
#
# The races are made to happen, not hoped for: the loader child of a
# builtin:steer load (its pid is in the daemon's debug log) is stopped with
# SIGSTOP while the other requests run, then let go.
source "$NL_SOURCE/tests/harness/harness.sh"

PY=/usr/bin/python3
OBJ="$TEST_BPF/libtest_progs.bpf.o"
FOLDERS="$NL_SOURCE/tests/daemon/steer-folders.py"
TRAFFIC="$NL_SOURCE/tests/steer/steer-traffic.py"

# A steer load can be held in place: while $STOP exists, a loader child
# stops itself (SIGSTOP) with its maps open and its program not loaded yet
# (nl_stop_point), so the races below are forced, never left to timing.
STOP="$T/stop-load"
# No spare steer programs (netnslinkd --steer-spares): every steer Attach
# here loads its own program, the path whose stops this test holds (a
# daemon whose spares are taken takes it too).
NLD_EXTRA=--steer-spares=0
start_bus && mount_pins && start_daemon NETNSLINK_STOP_AT=steer-load NETNSLINK_STOP_FILE="$STOP" || exit 1
A=$(make_netns a)
INO=$(netns_ino "$A")

log_lines() { wc -l < "$T/daemon.log"; }

# hold_load: the next builtin:steer load stops itself once its maps are
# open (before its program is loaded). stop_load FROM [WHAT]: waits for
# that load, started after log line FROM, to stop; sets LOADER to its pid
# and lets later loads run. WHAT: the log's words before the loader's pid
# (an Attach's by default). Fails if no load stopped within 10 s.
LOADER=""
hold_load() { : > "$STOP"; }
stop_load() {
        local from=$1 what=${2:-"Loading builtin:steer in child"} pid="" state
        for _ in $(seq 2000); do
                pid=$(tail -n +"$((from + 1))" "$T/daemon.log" |
                        sed -n "s/.*$what \([0-9]*\).*/\1/p" | head -n 1)
                if [ -n "$pid" ]; then
                        state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
                        [ "$state" = T ] && break
                fi
                sleep 0.005
        done
        rm -f "$STOP"
        [ "$state" = T ] || return 1
        LOADER=$pid
}

# folders_ok DESC: steer-folders.py on netns A, after a round trip (the
# daemon is done with every load that ended before it).
folders_ok() {
        "$CTL" --json=short list "$A" > "$T/links.json"
        check "$1" "$PY" "$FOLDERS" "$PIN_ROOT" "$INO" "$T/links.json"
}

# The object's program is loaded once here: later attaches of it take the
# cache and need no load, so they finish while a steer load is stopped.
check "attach an object link (its program is cached from now on)" "$CTL" attach "$A" sk_lookup warm "$OBJ:sk_pass"

# --- One name, one builtin:steer and one object Attach --------------------------
FROM=$(log_lines)
hold_load
"$CTL" attach "$A" sk_lookup r1 builtin:steer > "$T/r1.out" 2>&1 &
P=$!
if stop_load "$FROM"; then
        check "while the steer load of r1 is stopped, an object Attach of r1 succeeds" \
                "$CTL" attach "$A" sk_lookup r1 "$OBJ:sk_pass"
        kill -CONT "$LOADER"
        wait "$P"
        check "... and the steer Attach, let go, says LinkExists" grep -q org.netnslink1.Error.LinkExists "$T/r1.out"
else
        kill -CONT "$LOADER" 2>/dev/null; wait "$P"
        fail "the steer load of r1 stops itself before it ends"
fi
check_eq "... and leaves no steer folder for r1 (the object link)" "" \
        "$("$CTL" list >/dev/null; ls -d "$PIN_ROOT/$INO/steer/r1" 2>/dev/null)"
folders_ok "... nor a load's folder: the steer folders are their links'"

# Unforced, as the review found it: both at once, five times.
for i in 1 2 3 4 5; do
        "$CTL" attach "$A" sk_lookup "n$i" builtin:steer >/dev/null 2>&1 &
        P1=$!
        "$CTL" attach "$A" sk_lookup "n$i" "$OBJ:sk_pass" >/dev/null 2>&1 &
        P2=$!
        wait "$P1" "$P2"
done
folders_ok "five unforced steer/object Attach races leave only their links' folders"

# --- Two builtin:steer Attach of one name share one load ----------------------
FROM=$(log_lines)
hold_load
"$CTL" attach "$A" sk_lookup r2 builtin:steer > "$T/r2a.out" 2>&1 &
P1=$!
stop_load "$FROM" || fail "the steer load of r2 stops itself before it ends"
"$CTL" attach "$A" sk_lookup r2 builtin:steer > "$T/r2b.out" 2>&1 &
P2=$!
sleep 0.3       # the second request reaches the daemon and waits for the load
kill -CONT "$LOADER"
RC1=0; RC2=0
wait "$P1" || RC1=$?
wait "$P2" || RC2=$?
check_eq "of two steer Attach of r2 at once, exactly one succeeds" 1 "$(( (RC1 == 0) + (RC2 == 0) ))"
check "... and the other says LinkExists" grep -q org.netnslink1.Error.LinkExists "$T/r2a.out" "$T/r2b.out"
check "... and r2's Steering works" "$CTL" bindings "$A" r2
folders_ok "... and its maps are the ones its program uses"

# --- Update(steer) racing Detach and Attach(steer) on one name -----------------
check "attach steer link u" "$CTL" attach "$A" sk_lookup u builtin:steer
check "bind on u" "$CTL" bind "$A" u tcp 10.1.0.0/16 0 old
FROM=$(log_lines)
hold_load
"$CTL" update "$A" sk_lookup u builtin:steer > "$T/u-update.out" 2>&1 &
P1=$!
# Stopped once it has opened u's maps, before its program is loaded.
if stop_load "$FROM"; then
        check "while u's Update is loading, Detach u" "$CTL" detach "$A" sk_lookup u
        "$CTL" attach "$A" sk_lookup u builtin:steer > "$T/u-attach.out" 2>&1 &
        P2=$!
        sleep 0.5       # the Attach reaches the daemon (and, before the fix, waited for the same load)
        kill -CONT "$LOADER"
        wait "$P1"
        RC=0; wait "$P2" || RC=$?
        check_eq "... and Attach u again, with builtin:steer: it succeeds" "0" "$RC${RC#0}"
        [ "$RC" = 0 ] || log "$(cat "$T/u-attach.out")"
        check_eq "... and the new u has its own, empty maps (Steering works, no binding of the old u)" \
                "0 bindings listed." "$("$CTL" bindings "$A" u 2>&1 | tail -n 1)"
        check "... to which a binding can be added" "$CTL" bind "$A" u tcp 10.2.0.0/16 0 new
else
        kill -CONT "$LOADER" 2>/dev/null; wait "$P1"
        fail "u's Update load stops itself once it has opened the maps"
fi
folders_ok "... and u's folder holds the maps its program uses, nothing else is left"

# --- A storm on two names: three clients, every kind of change ----------------
storm() {
        local i name op out
        for i in $(seq 25); do
                name=z$((RANDOM % 2))
                op=$((RANDOM % 6))
                case $op in
                0) out=$("$CTL" attach "$A" sk_lookup "$name" builtin:steer 2>&1) ;;
                1) out=$("$CTL" attach "$A" sk_lookup "$name" "$OBJ:sk_pass" 2>&1) ;;
                2) out=$("$CTL" update "$A" sk_lookup "$name" builtin:steer 2>&1) ;;
                3) out=$("$CTL" update "$A" sk_lookup "$name" "$OBJ:sk_pass2" 2>&1) ;;
                4) out=$("$CTL" detach "$A" sk_lookup "$name" 2>&1) ;;
                5) out=$("$CTL" bind "$A" "$name" tcp "10.9.$((RANDOM % 250)).0/24" 0 l$((RANDOM % 4)) 2>&1) ;;
                esac
                # Losing a race is LinkExists, NoSuchLink, or a bind on a
                # link that is not steer; anything else is a defect.
                case $out in
                *Error.Failed* | *InvalidProgram* | *"No steer map folder"* | *"Not a steer link"*)
                        echo "op $op on $name: $out" ;;
                esac
        done
}
storm > "$T/storm1" 2>&1 & S1=$!
storm > "$T/storm2" 2>&1 & S2=$!
storm > "$T/storm3" 2>&1 & S3=$!
wait "$S1" "$S2" "$S3"
check_eq "a storm of 75 racing changes on two names: no request fails for a reason but the race" "" \
        "$(cat "$T/storm1" "$T/storm2" "$T/storm3")"
folders_ok "... and every steer folder is its link's, with its program's maps"
for name in z0 z1; do
        if "$CTL" --json=short show "$A" sk_lookup "$name" 2>/dev/null | grep -q steer_lookup; then
                check "... and Steering on $name works" "$CTL" bindings "$A" "$name"
        fi
done

# --- SetBindings: all or nothing ----------------------------------------------
setup_routes() {
        ip -n "$A" link set lo up && ip -n "$A" route add local 10.50.0.0/16 dev lo table local
}
check "lo up and 10.50.0.0/16 local in $A" setup_routes
check "attach steer link sb" "$CTL" attach "$A" sk_lookup sb builtin:steer
cat > "$T/base.json" <<EOF
[
  {"protocol": "tcp", "prefix": "10.50.1.0/24", "port": 0, "label": "web"},
  {"protocol": "udp", "prefix": "10.50.1.0/24", "port": 53, "label": "dns"},
  {"protocol": "tcp", "prefix": "fd00:50::/64", "port": 443, "label": "web"}
]
EOF
check "SetBindings of three bindings" "$CTL" load-bindings "$A" sb "$T/base.json"
# A lookup that matches but finds no socket: a hit and a miss counted.
misses() {
        "$CTL" --json=short destinations "$A" sb | "$PY" -c '
import json, sys
print(sum(d["misses"] for d in json.load(sys.stdin) if d["label"] == "web" and d["protocol"] == "tcp"))'
}
probe_counts() {
        local m0 m1
        m0=$(misses)
        ip netns exec "$A" "$PY" "$TRAFFIC" probe tcp 10.50.1.7 80 >/dev/null
        m1=$(misses)
        [ "$((m1 - m0))" = 1 ]
}
check "a lookup that matches web, which has no socket, counts a miss" probe_counts
# Everything a refused call could leave: bindings with hit counters,
# destinations with their counters, the entries of every map (array
# entries: those not all zero).
MAPS="$PIN_ROOT/$INO/steer/sb"
snapshot() {
        "$CTL" --json=short bindings "$A" sb
        "$CTL" --json=short destinations "$A" sb
        for map in prefixes ports dest_ids dests regions4 regions6 portlens; do
                printf '%s ' "$map"
                bpftool -j map dump pinned "$MAPS/$map" | "$PY" -c '
import hashlib, json, sys
kept = [(e["key"], e["value"]) for e in json.load(sys.stdin) if any(int(x, 16) for x in e["value"])]
print(len(kept), hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16])'
        done
}
BEFORE=$(snapshot)
check "the snapshot holds the miss" grep -q '"misses":1' <<<"$BEFORE"

"$PY" -c '
import json
print(json.dumps([{"protocol": "tcp", "prefix": "10.%d.%d.0/24" % (i // 256, i % 256), "port": 0,
                   "label": "many%d" % i} for i in range(4096)]))' > "$T/labels.json"
check_fails "SetBindings with 4096 labels: refused (at most 4095 destinations)" "Too many destinations" \
        "$CTL" load-bindings "$A" sb "$T/labels.json"
check_eq "... and nothing of it remains: bindings, counters, destinations, map entries, region bits" \
        "$BEFORE" "$(snapshot)"
check_fails "... a second time: refused the same way" "Too many destinations" \
        "$CTL" load-bindings "$A" sb "$T/labels.json"
check "... and a new label still binds (no orphan destination took its place)" \
        "$CTL" bind "$A" sb tcp 10.60.0.0/16 0 fresh
check "... and goes again" "$CTL" unbind "$A" sb tcp 10.60.0.0/16 0
# (RemoveBinding keeps its region bits: a stale bit costs a probe.)
BEFORE=$(snapshot)

# More entries than the prefix map holds (262144, both generations),
# through python-dbus: the CLI's JSON reader is not made for 20 MB.
set_bindings_big() {
        "$PY" - "$A" sb 262145 <<'EOF2'
import sys
import dbus
netns, link, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
steering = dbus.Interface(dbus.SystemBus().get_object("org.netnslink1", "/org/netnslink1"),
                          "org.netnslink1.Steering")
bindings = dbus.Array([("tcp", "10.%d.%d.%d/32" % (i >> 16, (i >> 8) & 255, i & 255), dbus.UInt16(0), "big")
                       for i in range(n)], signature="(ssqs)")
try:
    steering.SetBindings(netns, link, bindings, timeout=600)
except dbus.exceptions.DBusException as e:
    sys.exit("%s: %s" % (e.get_dbus_name(), e.get_dbus_message()))
EOF2
}
check_fails "SetBindings of 262145 bindings: refused as too many (E2BIG)" "Too many bindings" set_bindings_big
check_eq "... and nothing of it remains: no label 'big', no entry, no region bit" "$BEFORE" "$(snapshot)"
check "... and the link's bindings still steer: a lookup counts on them" probe_counts
check "a SetBindings that fits still works" "$CTL" load-bindings "$A" sb "$T/base.json"

# --- A SetBindings under way: the link takes no other change -------------------
# It runs off the loop (steer-set-job.h): 200 labels need a larger tier
# than a new link's (128 destinations), whose program loads in a child,
# held here while the other calls run.
check "attach steer link gs" "$CTL" attach "$A" sk_lookup gs builtin:steer
"$PY" -c '
import json
print(json.dumps([{"protocol": "tcp", "prefix": "10.70.%d.0/24" % i, "port": 0, "label": "g%d" % i}
                  for i in range(200)]))' > "$T/grow.json"
FROM=$(log_lines)
hold_load
"$CTL" load-bindings "$A" gs "$T/grow.json" > "$T/grow.out" 2>&1 &
P1=$!
if stop_load "$FROM" "for a SetBindings; the program loads in process"; then
        BUSY="being changed by a SetBindings not answered yet"
        check_fails "while gs's SetBindings grows it: an AddBinding on gs is refused, saying why" "$BUSY" \
                "$CTL" bind "$A" gs tcp 10.71.0.0/16 0 x
        check_fails "... and so is another SetBindings" "$BUSY" "$CTL" load-bindings "$A" gs "$T/base.json"
        check_eq "... its bindings are read meanwhile (none yet)" "0 bindings listed." \
                "$("$CTL" bindings "$A" gs 2>&1 | tail -n 1)"
        check "... and another link takes changes" "$CTL" bind "$A" sb tcp 10.72.0.0/16 0 other
        kill -CONT "$LOADER"
        RC=0; wait "$P1" || RC=$?
        [ "$RC" = 0 ] || log "$(cat "$T/grow.out")"
        check_eq "... let go, the SetBindings binds all 200" "0 200" \
                "$RC $("$CTL" --json=short bindings "$A" gs | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
        check "... and gs takes changes again" "$CTL" bind "$A" gs tcp 10.71.0.0/16 0 x
else
        kill -CONT "$LOADER" 2>/dev/null; wait "$P1"
        fail "gs's growth load stops itself once it has opened the maps" "$(cat "$T/grow.out")"
fi

finish
