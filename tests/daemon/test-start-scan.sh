#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A start-up scan that cannot read the whole pin root must not serve, and
# must not tidy: the links it missed would lose their steer maps as left
# overs while the kernel keeps running them. Two ways to miss links: a
# folder the daemon may not open (chmod 000: the daemon drops
# CAP_DAC_OVERRIDE, so root's bypass does not apply to it), and too few
# file descriptors for the links there are (the daemon holds one per link).
# Each time the daemon exits 1 naming the folder or pin and the error, and
# nothing under the root changes; with the cause gone, it starts and
# serves every link with its bindings.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
PY=/usr/bin/python3

start_bus && mount_pins && start_daemon || exit 1

# tree: every pin and map under the root, to compare before and after.
tree() { (cd "$PIN_ROOT" && find . | sort); }
n_bindings() { "$CTL" --json=short bindings "$1" "$2" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
n_links() { "$CTL" --json=short list | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# refused DESC CMD...: the daemon, run by CMD, exits 1 within 20 s; its
# output goes to $T/refused.log.
refused() {
        local desc=$1 rc=0; shift
        DAEMON_LOG=$T/refused.log
        timeout 20 "$@" "$NLD" --pin-root="$PIN_ROOT" --log-level=debug >"$DAEMON_LOG" 2>&1 || rc=$?
        check_eq "$desc: the daemon exits with status 1" 1 "$rc"
}

# --- A folder the daemon may not open ------------------------------------------
A=$(make_netns a)
INO=$(netns_ino "$A")
"$CTL" attach "$A" sk_lookup st builtin:steer >/dev/null
"$CTL" attach "$A" sk_lookup p "$OBJ:sk_pass" >/dev/null
"$CTL" bind "$A" st tcp 10.1.0.0/16 0 www >/dev/null
"$CTL" bind "$A" st udp 10.2.0.0/16 53 dns >/dev/null
stop_daemon
BEFORE=$(tree)
chmod 000 "$PIN_ROOT/$INO/sk_lookup"
refused "sk_lookup folder of mode 000"
check "... naming the folder and the error" \
        grep -q "Refusing to start: Cannot read folder $PIN_ROOT/$INO/sk_lookup: Permission denied" "$T/refused.log"
check_eq "... and it never said Ready" "" "$(grep Ready "$T/refused.log")"
chmod 700 "$PIN_ROOT/$INO/sk_lookup"
check_eq "... and changed nothing under the root" "$BEFORE" "$(tree)"
start_daemon
check_eq "with the folder readable again, both links are served" "p st" \
        "$("$CTL" --json=short list "$A" | "$PY" -c 'import json,sys; print(" ".join(sorted(l["name"] for l in json.load(sys.stdin))))')"
check_eq "... and the steer link kept its bindings" 2 "$(n_bindings "$A" st)"
check_eq "... and runs builtin:steer" "builtin:steer" "$(ctl_get source show "$A" sk_lookup st)"

# --- Out of file descriptors ----------------------------------------------------
# 249 links in 4 netns, a steer link with a binding in the middle of each:
# whichever netns the scan reads last, it runs out of fds in it.
declare -a NS
for j in 1 2 3 4; do
        NS[$j]=$(make_netns "fd$j")
        count=$((j == 4 ? 57 : 64))
        elems=""
        for i in $(seq "$count"); do
                if [ "$i" = 30 ]; then prog="{'builtin': <'steer'>}"
                else prog="{'object_path': <'$OBJ'>, 'program': <'sk_pass'>}"; fi
                elems+="${elems:+, }('${NS[$j]}', 'sk_lookup', 'l$i', $prog)"
        done
        mgr AttachMany "[$elems]" >/dev/null || fail "AttachMany of $count links in ${NS[$j]}"
        "$CTL" bind "${NS[$j]}" l30 tcp "10.$j.0.0/16" 0 "web$j" >/dev/null
done
check_eq "251 links (249 new)" 251 "$(n_links)"
stop_daemon
BEFORE=$(tree)
refused "at most 200 open files for 249 links" prlimit --nofile=200:200 --
check "... naming what it could not read and the error" \
        grep -qE "Refusing to start: Cannot read (folder|pin|the program of link) $PIN_ROOT/.*: Too many open files" \
        "$T/refused.log"
check "... and saying which limit to raise" grep -q "LimitNOFILE" "$T/refused.log"
check_eq "... and it never said Ready" "" "$(grep Ready "$T/refused.log")"
check_eq "... and changed nothing under the root" "$BEFORE" "$(tree)"
start_daemon
check_eq "with the limit raised, all 251 links are served" 251 "$(n_links)"
lost=""
for j in 1 2 3 4; do
        [ "$(n_bindings "${NS[$j]}" l30)" = 1 ] || lost+=" ${NS[$j]}/l30"
done
check_eq "... and each steer link kept its binding" "" "$lost"
check_invariants "pins, ListLinks and the kernel agree"

# --- What is not a link of ours is ignored, and the log says what it is --------
"$CTL" attach "$A" flow_dissector f "$OBJ:flow_ok" >/dev/null
INO1=$(netns_ino "${NS[1]}")
stop_daemon
mv "$PIN_ROOT/$INO/flow_dissector/f" "$PIN_ROOT/$INO/sk_lookup/f"
mv "$PIN_ROOT/$INO1/sk_lookup/l1" "$PIN_ROOT/$INO/sk_lookup/l1"
bpftool map create "$PIN_ROOT/$INO/sk_lookup/amap" type array key 4 value 4 entries 1 name amap
mkdir "$PIN_ROOT/$INO/sk_lookup/afolder"
: >"$T/daemon.log"
start_daemon
for want in "$INO/sk_lookup/f: a flow_dissector link, in the sk_lookup folder" \
            "$INO/sk_lookup/l1: a link of netns $INO1, in the folder of netns $INO" \
            "$INO/sk_lookup/amap: a pinned BPF object that is not a link" \
            "$INO/sk_lookup/afolder: a folder, not a pin"; do
        check "the log says: Ignoring ...$want" grep -qF "Ignoring $PIN_ROOT/$want" "$T/daemon.log"
done
check_eq "... and no line gives an errno for a reason" "" \
        "$(grep Ignoring "$T/daemon.log" | grep -E 'medium type|cross-device|Invalid argument')"
stop_daemon
rm -r "$PIN_ROOT/$INO/sk_lookup/f" "$PIN_ROOT/$INO/sk_lookup/l1" "$PIN_ROOT/$INO/sk_lookup/amap" \
        "$PIN_ROOT/$INO/sk_lookup/afolder"

finish
