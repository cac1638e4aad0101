#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Drift behind the daemon's back is seen, told and, where it can be,
# mended (issue 15, defect 6): links detached with bpftool (first or not
# first in their netns, or alone in it), pins and steer map pins removed by
# hand, a removed pin just before a stop, and the pin root unmounted and
# mounted again. Each is checked through the link dictionary's "drift", the
# LinkDrifted signal, the log, and the kernel and bpffs as witnesses.
source "$NL_SOURCE/tests/harness/harness.sh"

PY=/usr/bin/python3
OBJ="$TEST_BPF/libtest_progs.bpf.o"

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
B=$(make_netns b)
INO=$(netns_ino "$A")

"$CTL" --json=short monitor > "$T/monitor.json" 2>/dev/null &
MON=$!
sleep 0.5

# wait_for DESC CMD...: CMD succeeds within 5 s (the daemon looks every second).
wait_for() {
        local desc=$1; shift
        for _ in $(seq 50); do
                if "$@" >/dev/null 2>&1; then pass "$desc"; return 0; fi
                sleep 0.1
        done
        fail "$desc" "command: $*" "still failing after 5 s: $("$@" 2>&1 | tail -n 3)"
}
field() { ctl_get "$1" show "$2" sk_lookup "$3"; }
field_is() { [ "$(field "$2" "$3" "$4" 2>/dev/null)" = "$1" ]; }
# signals NAME FIELD...: the monitor's NAME signals, each as its FIELDs.
signals() {
        local name=$1; shift
        "$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    s = json.loads(line)
    if s["signal"] == sys.argv[2]:
        print(" ".join(str(s["link"].get(k)) for k in sys.argv[3:]))' "$T/monitor.json" "$name" "$@"
}
orders() { for n in "$@"; do field order "$A" "$n"; done | tr '\n' ' ' | sed 's/ $//'; }
# drifts NAME...: each link's drift as show prints it ("-": none).
drifts() { for n in "$@"; do "$CTL" show "$A" sk_lookup "$n" | sed -n 's/^ *Drift: //p'; done | tr '\n' ' ' | sed 's/ $//'; }
not_listed() {
        "$CTL" --json=short list | "$PY" -c 'import json,sys; sys.exit(any(l["name"] == sys.argv[1] for l in json.load(sys.stdin)))' "$1"
}

for n in l1 l2 l3 l4; do
        check "attach $n in $A" "$CTL" attach "$A" sk_lookup "$n" "$OBJ:sk_pass"
done
L1=$(field link_id "$A" l1)
L2=$(field link_id "$A" l2)

# --- Detached with bpftool, not the first of its netns -------------------------
check "bpftool link detach of l2 (link $L2), the second of four" bpftool link detach id "$L2"
# What the daemon goes by: the kernel says netns_ino 0 for a detached link
# just as for a link whose netns died (checked on this kernel).
check_eq "the kernel reports the detached link with netns_ino 0" 0 \
        "$(bpftool -j link show id "$L2" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["netns_ino"])')"
wait_for "within 5 s l2 is listed with drift 'detached'" field_is detached drift "$A" l2
check_eq "... and is not reported defunct (its netns lives)" False "$(field defunct "$A" l2)"
check_eq "... while l1, l3, l4 stay without drift" "- - -" "$(drifts l1 l3 l4)"
check_eq "... and the run order of the others closes up: l1 l3 l4 at 0 1 2" "0 1 2" "$(orders l1 l3 l4)"
check_eq "... and the kernel runs exactly those three" 3 \
        "$(bpftool -j link show | "$PY" -c 'import json,sys; print(sum(1 for l in json.load(sys.stdin) if l.get("netns_ino") == '"$INO"'))')"
check_eq "LinkDrifted said so: drift detached, not repaired" "l2 detached False" "$(signals LinkDrifted name drift repaired)"
check_eq "no LinkDefunct was sent" "" "$(signals LinkDefunct name)"
check "the log names it" grep -q "link 'l2' in netns $A .* was detached behind the daemon's back" "$T/daemon.log"
check "list shows the DRIFT column" bash -c "'$CTL' list '$A' | grep -E '^$A +sk_lookup +l2 .* detached$'"
check_fails "Update of l2 is refused, naming the drift" "detached behind the daemon's back" \
        "$CTL" update "$A" sk_lookup l2 "$OBJ:sk_pass2"
check "Update of l3 still works" "$CTL" update "$A" sk_lookup l3 "$OBJ:sk_pass2"
check "Detach of l2 cleans up" "$CTL" detach "$A" sk_lookup l2
check "... its pin is gone" test ! -e "$PIN_ROOT/$INO/sk_lookup/l2"

# --- Detached with bpftool, the first of its netns ----------------------------
check "bpftool link detach of l1 (link $L1), the first" bpftool link detach id "$L1"
wait_for "within 5 s l1 is listed with drift 'detached'" field_is detached drift "$A" l1
check_eq "... not dropped as defunct: no LinkDefunct" "" "$(signals LinkDefunct name)"
check_eq "... and l3, l4 run at 0 1" "0 1" "$(orders l3 l4)"
check "... and are served as before" "$CTL" update "$A" sk_lookup l4 "$OBJ:sk_pass2"

# --- The only link of its netns -----------------------------------------------
check "attach b1, alone in $B" "$CTL" attach "$B" sk_lookup b1 "$OBJ:sk_pass"
check "bpftool link detach of b1" bpftool link detach id "$(field link_id "$B" b1)"
wait_for "within 5 s b1 is listed with drift 'detached' (the netns file still names its netns)" \
        field_is detached drift "$B" b1
check_eq "... and no LinkDefunct" "" "$(signals LinkDefunct name)"
# Its netns goes: now it is defunct.
del_netns "$B"
wait_for "when its netns goes, b1 is dropped" not_listed b1
check_eq "... with LinkDefunct" "b1" "$(signals LinkDefunct name)"

# --- A pin removed by hand ----------------------------------------------------
L3=$(field link_id "$A" l3)
rm "$PIN_ROOT/$INO/sk_lookup/l3"
wait_for "within 5 s the removed pin of l3 is made again" test -e "$PIN_ROOT/$INO/sk_lookup/l3"
check_eq "... and it is l3's link" "$L3" \
        "$(bpftool -j link show pinned "$PIN_ROOT/$INO/sk_lookup/l3" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
check_eq "... LinkDrifted: drift unpinned, repaired" "l3 unpinned True" \
        "$(signals LinkDrifted name drift repaired | grep '^l3')"
check_eq "... and l3 reads no drift now" "" "$(field drift "$A" l3)"
check "... and the log says it was pinned again" grep -q "The pin of sk_lookup link 'l3' in netns $A was removed" "$T/daemon.log"

# --- Steer map pins removed by hand -------------------------------------------
check "attach steer link s" "$CTL" attach "$A" sk_lookup s builtin:steer
check "bind on s" "$CTL" bind "$A" s tcp 10.7.0.0/16 0 web
rm -r "$PIN_ROOT/$INO/steer/s"
wait_for "within 5 s s's removed map folder is pinned again from its program" \
        test -e "$PIN_ROOT/$INO/steer/s/prefixes"
check_eq "... with all thirteen maps (pin layout 3)" 13 "$(ls "$PIN_ROOT/$INO/steer/s" | wc -l)"
check_eq "... the very maps: the binding is still there" "tcp 10.7.0.0/16 0 web" \
        "$("$CTL" --json=short bindings "$A" s | "$PY" -c 'import json,sys; print(*("%s %s %s %s" % (b["protocol"], b["prefix"], b["port"], b["label"]) for b in json.load(sys.stdin)))')"
rm "$PIN_ROOT/$INO/steer/s/dests"
wait_for "one map pin removed: within 5 s it is pinned again" test -e "$PIN_ROOT/$INO/steer/s/dests"
check "... and Steering works on" "$CTL" bind "$A" s tcp 10.8.0.0/16 0 web

# --- A pin removed just before a stop -----------------------------------------
L4=$(field link_id "$A" l4)
rm "$PIN_ROOT/$INO/sk_lookup/l4"
stop_daemon
check "a pin removed right before a stop is made again by the stop" test -e "$PIN_ROOT/$INO/sk_lookup/l4"
check "... so the kernel keeps running link $L4" kernel_link_exists "$L4"
kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null
start_daemon
"$CTL" --json=short monitor > "$T/monitor.json" 2>/dev/null &
MON=$!
sleep 0.5
check_eq "... and the next daemon finds it" "$L4" "$(field link_id "$A" l4)"

# --- The pin root unmounted, and mounted again -------------------------------
S=$(field link_id "$A" s)
# Lazily: the daemon holds the pin root open (its lock, src/lib/pin-lock.c),
# so a plain umount is refused with EBUSY; -l takes the mount out of the
# tree all the same, as an admin's `umount -l` or a container's teardown do.
check "the pin root is unmounted" umount -l "$PINS"
check_fails "with the pin root unmounted, Attach is refused" "not on a BPF file system" \
        "$CTL" attach "$A" sk_lookup new builtin:steer
check_eq "... and writes nothing to the file system beneath" "" "$(find "$PINS" -mindepth 1 2>&1)"
check_fails "... and so are Detach" "not on a BPF file system" "$CTL" detach "$A" sk_lookup l3
check_fails "... and Steering changes" "not on a BPF file system" "$CTL" bind "$A" s tcp 10.9.0.0/16 0 web
check "... and the log says why" grep -q "The pin root $PIN_ROOT is not on a BPF file system any more" "$T/daemon.log"
wait_for "... and every link reads drift 'unpinned' with no pin path" \
        bash -c "[ \"\$('$CTL' --json=short show '$A' sk_lookup l3)\" != \"\" ] && '$CTL' --json=short show '$A' sk_lookup l3 | grep -q '\"pin_path\":\"\",.*\"drift\":\"unpinned\"'"
check "... while the kernel keeps running them" kernel_link_exists "$S"
check "... and LinkDrifted told it" bash -c "[ \"\$(grep -c '\"signal\":\"LinkDrifted\".*\"drift\":\"unpinned\".*\"repaired\":false' '$T/monitor.json')\" -ge 3 ]"
mount_pins
wait_for "mounted again, within 5 s every link is pinned in it" test -e "$PIN_ROOT/$INO/sk_lookup/l3"
check "... l4 too" test -e "$PIN_ROOT/$INO/sk_lookup/l4"
wait_for "... and s's steer maps" test -e "$PIN_ROOT/$INO/steer/s/prefixes"
check_eq "... and no link reads drift" "- - -" "$(drifts l3 l4 s)"
check_eq "... and s keeps its bindings" 2 \
        "$("$CTL" --json=short bindings "$A" s | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check "... and changes are taken again" "$CTL" attach "$A" sk_lookup new builtin:steer
check "... and Steering changes" "$CTL" bind "$A" s tcp 10.9.0.0/16 0 web
check "the log says it is back" grep -q "The pin root $PIN_ROOT is on a BPF file system again" "$T/daemon.log"
BEFORE=$("$CTL" --json=short list | "$PY" -c 'import json,sys; print(sorted((l["name"], l["link_id"]) for l in json.load(sys.stdin)))')
kill_daemon
start_daemon
check_eq "after a SIGKILL and a restart, the next daemon finds every link in the new bpffs" "$BEFORE" \
        "$("$CTL" --json=short list | "$PY" -c 'import json,sys; print(sorted((l["name"], l["link_id"]) for l in json.load(sys.stdin)))')"
check_eq "... and s's bindings" 3 \
        "$("$CTL" --json=short bindings "$A" s | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
kill_daemon
rm "$PIN_ROOT/$INO/steer/s/prefixes"
start_daemon
check "a steer map pin removed while the daemon was down is pinned again at start" \
        test -e "$PIN_ROOT/$INO/steer/s/prefixes"
check_eq "... and s's bindings are there" 3 \
        "$("$CTL" --json=short bindings "$A" s | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"

kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null
finish
