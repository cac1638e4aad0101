#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The versioned pin layout (src/lib/pin-layout.c): a new root gets the
# marker; a root of the first release's layout (pins, no marker, no record
# of built-in programs) is migrated in place, SIGKILLed mid-migration
# included, its links listed, steered and updatable; a newer version, or a
# marker that is not one, is refused at start with nothing touched.
#
# The first release's layout is made by removing what version 2 added
# (<root>/layout and <root>/builtins) from a root today's daemon filled:
# everything else under the root is laid out as the first release did.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
IMP="$TEST_BPF/libtest_imposters.bpf.o"
PY=/usr/bin/python3

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)

layout_version() {
        bpftool -j map lookup pinned "$PIN_ROOT/layout" key 0 0 0 0 |
                $PY -c 'import json,sys; print(int.from_bytes(bytes(int(x, 16) for x in json.load(sys.stdin)["value"]), "little"))'
}
tree() { (cd "$PIN_ROOT" && find . | sort); }
n_bindings() { "$CTL" --json=short bindings "$A" "$1" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
source_of() { ctl_get source show "$A" "$1" "$2"; }
# run_daemon ENV...: the daemon in the foreground, for a start that must
# end by itself; status in $RC, output in $T/run.log.
run_daemon() {
        RC=0
        env "$@" timeout 20 "$NLD" --pin-root="$PIN_ROOT" --log-level=debug >"$T/run.log" 2>&1 || RC=$?
}

# --- A new root -------------------------------------------------------------
check_eq "a new pin root gets layout version 3" 3 "$(layout_version)"
check "... and a record of built-in programs" test -e "$PIN_ROOT/builtins"

"$CTL" attach "$A" sk_lookup st builtin:steer >/dev/null
"$CTL" bind "$A" st tcp 10.1.0.0/16 0 www >/dev/null
"$CTL" bind "$A" st udp 10.2.0.0/16 53 dns >/dev/null
"$CTL" attach "$A" flow_dissector f builtin:flow >/dev/null
"$CTL" attach "$A" sk_lookup p "$OBJ:sk_pass" >/dev/null
"$CTL" attach "$A" sk_lookup fake "$IMP:steer_lookup" >/dev/null
IDS=$("$CTL" --json=short list | $PY -c 'import json,sys; print(sorted((l["name"], l["link_id"], l["prog_id"]) for l in json.load(sys.stdin)))')
stop_daemon

# migrated WHEN: the first release's links, as today's daemon serves them.
migrated() {
        check_eq "$1: the root has layout version 3" 3 "$(layout_version)"
        check_eq "$1: every link is listed with its ids" "$IDS" \
                "$("$CTL" --json=short list | $PY -c 'import json,sys; print(sorted((l["name"], l["link_id"], l["prog_id"]) for l in json.load(sys.stdin)))')"
        check_eq "$1: the steer link is builtin:steer" builtin:steer "$(source_of sk_lookup st)"
        check_eq "$1: ... with its bindings" 2 "$(n_bindings st)"
        check_eq "$1: the flow link is builtin:flow" builtin:flow "$(source_of flow_dissector f)"
        check "$1: the object's link is not a builtin" bash -c '[[ "$1" != builtin:* ]]' _ "$(source_of sk_lookup p)"
        check "$1: a user's program called steer_lookup is not builtin:steer" \
                bash -c '[[ "$1" != builtin:* ]]' _ "$(source_of sk_lookup fake)"
        check_fails "$1: ... and Steering on it is InvalidArgs" org.freedesktop.DBus.Error.InvalidArgs \
                "$CTL" bindings "$A" fake
}

# --- The first release's layout, migrated: killed half way, then whole ------------
rm "$PIN_ROOT/layout" "$PIN_ROOT/builtins"
for point in layout-migrate-midway layout-before-marker; do
        run_daemon NETNSLINK_CRASH_AT="$point"
        check_eq "$point: a migration killed there ends the daemon" 137 "$RC"
        check "$point: ... with no marker written" test ! -e "$PIN_ROOT/layout"
done
: >"$T/daemon.log"
start_daemon
check "the first release's root is migrated at start, and the log says so" \
        grep -q "Updated pin root $PIN_ROOT from layout version 1 to 3: 2 link(s) recorded as running a built-in" \
        "$T/daemon.log"
migrated "after the migration"
check "the steer link can be updated" "$CTL" update "$A" sk_lookup st builtin:steer
check_eq "... and keeps its bindings" 2 "$(n_bindings st)"
check "... and takes another" "$CTL" bind "$A" st tcp 10.3.0.0/16 80 web
"$CTL" unbind "$A" st tcp 10.3.0.0/16 80 >/dev/null
IDS=$("$CTL" --json=short list | $PY -c 'import json,sys; print(sorted((l["name"], l["link_id"], l["prog_id"]) for l in json.load(sys.stdin)))')
kill_daemon
start_daemon
migrated "after a SIGKILL of the migrated daemon"
check_invariants "pins, ListLinks and the kernel agree"

# --- A newer layout, and a marker that is not one, are refused ------------------
stop_daemon
bpftool map update pinned "$PIN_ROOT/layout" key 0 0 0 0 value 99 0 0 0
BEFORE=$(tree)
run_daemon
check_eq "a root of layout version 99: the daemon exits with status 1" 1 "$RC"
check "... naming both versions" \
        grep -q "Pin root $PIN_ROOT has layout version 99, newer than version 3, the newest this netnslinkd knows" \
        "$T/run.log"
check_eq "... before it read or changed anything" "" "$(grep -E 'Found|Repaired|Removing|Updated|Ready' "$T/run.log")"
check_eq "... and nothing under the root changed" "$BEFORE" "$(tree)"
check "... and its links keep running" kernel_link_exists "$(echo "$IDS" | $PY -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read())[0][1])')"

rm "$PIN_ROOT/layout"
bpftool map create "$PIN_ROOT/layout" type hash key 4 value 4 entries 1 name notamarker
run_daemon
check_eq "a root whose marker is not one: the daemon exits with status 1" 1 "$RC"
check "... saying so" grep -q "$PIN_ROOT/layout is not a pin layout marker" "$T/run.log"
rm "$PIN_ROOT/layout"
bpftool map create "$PIN_ROOT/layout" type array key 4 value 4 entries 1 name nl_layout
bpftool map update pinned "$PIN_ROOT/layout" key 0 0 0 0 value 2 0 0 0
start_daemon
migrated "with the marker back at version 2"

finish
