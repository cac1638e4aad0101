#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An upgrade from the first release (commit 05ff374), as a host lives it:
# that release's daemon and CLI, built from git history, make links (both
# built-ins and an object file), bindings and a registered socket; its
# daemon is SIGKILLed (traffic goes on being steered); today's daemon is
# SIGKILLed twice in the middle of migrating the pin root, then starts on
# it and must list, steer, change and update all of it, and keep it across
# its own restart.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"
source "$NL_SOURCE/tests/upgrade/upgrade-lib.sh"

FIRST_RELEASE=05ff374
OBJ="$TEST_BPF/libtest_progs.bpf.o"
start_old_release "$FIRST_RELEASE"

# --- what the first release makes -------------------------------------------
check "first release: attach builtin:steer" "$OLDCTL" attach "$A" sk_lookup s1 builtin:steer
check "first release: attach builtin:flow" "$OLDCTL" attach "$A" flow_dissector flow builtin:flow
check "first release: attach an object file" "$OLDCTL" attach "$A" sk_lookup obj "$OBJ:sk_pass"
check "first release: bind tcp v4" "$OLDCTL" bind "$A" s1 tcp 10.50.1.0/24 0 web
check "first release: bind tcp v6" "$OLDCTL" bind "$A" s1 tcp fd00:50::/64 0 web
check "first release: bind udp v4" "$OLDCTL" bind "$A" s1 udp 10.50.1.0/24 53 dns
check "first release: servers registered" serve main \
        web4,web,tcp,127.0.0.1,9000 web6,web,tcp,::1,9000 dns4,dns,udp,127.0.0.1,9053 \
        --register "$OLDCTL" "$A" s1
steered() { probe tcp 10.50.1.7 80 fd00:50::7 443 && probe udp 10.50.1.9 53; }
WANT="web4 web6
dns4"
check_eq "first release steers TCP v4, v6 and UDP" "$WANT" "$(steered)"
ids() {
        local n
        for n in "sk_lookup s1" "flow_dissector flow" "sk_lookup obj"; do
                # shellcheck disable=SC2086
                ctl_get link_id show "$A" $n || echo missing
        done | tr '\n' ' '
}
IDS=$(CTL=$OLDCTL ids)
check "three links with ids: $IDS" grep -Eq '^[0-9]+ [0-9]+ [0-9]+ $' <<<"$IDS"
kill_daemon
check_eq "first release SIGKILLed: still steered" "$WANT" "$(steered)"

# --- today's daemon on the same pins: killed in the migration, then whole -----
# The first release wrote no layout marker (version 1); today's daemon
# records which links run a built-in and writes the marker last, so a
# SIGKILL at either point is redone by the next start.
for point in layout-migrate-midway layout-before-marker; do
        NLD=$NEW_NLD start_daemon NETNSLINK_CRASH_AT=$point >/dev/null 2>&1
        wait_daemon_exit
        check_eq "today's daemon killed at $point (SIGKILL)" 137 "$DAEMON_EXIT"
        check "no layout marker yet after a kill at $point" test ! -e "$PIN_ROOT/layout"
        check_eq "still steered after a kill at $point" "$WANT" "$(steered)"
done
NLD=$NEW_NLD start_daemon || exit 1
check "the migration finished: the layout marker is there" test -e "$PIN_ROOT/layout"
check_eq "today's daemon lists the same links" "$IDS" "$(ids)"
check_eq "it names builtin:steer" "builtin:steer" "$(ctl_get source show "$A" sk_lookup s1)"
check_eq "its bindings: 3" 3 "$("$CTL" --json=short bindings "$A" s1 | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "its destinations hold the sockets" "dns tcp=0 udp=1 web tcp=2 udp=0" "$("$CTL" --json=short destinations "$A" s1 | "$PY" -c '
import json, sys
c = {}
for d in json.load(sys.stdin):
    k = c.setdefault(d["label"], {"tcp": 0, "udp": 0})
    k[d["protocol"]] += 1 if d.get("socket_cookie") else 0
print(" ".join("%s tcp=%d udp=%d" % (l, v["tcp"], v["udp"]) for l, v in sorted(c.items())))')"
check_eq "still steered" "$WANT" "$(steered)"
check "a new binding" "$CTL" bind "$A" s1 tcp 10.50.2.0/24 8080 web
check_eq "is steered" web4 "$(probe tcp 10.50.2.1 8080)"
check "a binding of the first release is removed" "$CTL" unbind "$A" s1 udp 10.50.1.0/24 53
check_eq "and no longer steered" refused "$(probe udp 10.50.1.9 53 | sed 's/timeout/refused/')"
check "the object link is updated" "$CTL" update "$A" sk_lookup obj "$OBJ:sk_pass2"
check_eq "to the new program" sk_pass2 "$(ctl_get prog_name show "$A" sk_lookup obj)"
check "the steer link is updated to today's builtin:steer" "$CTL" update "$A" sk_lookup s1 builtin:steer
check_eq "which steers by the same bindings" "web4 web6" "$(probe tcp 10.50.1.7 80 fd00:50::7 443)"
check "the flow link is updated" "$CTL" update "$A" flow_dissector flow builtin:flow
stop_daemon
start_daemon || exit 1
check_eq "after today's daemon's own restart: the same links" "$IDS" "$(ids)"
check_eq "and steering" "web4 web6 web4" "$(probe tcp 10.50.1.7 80 fd00:50::7 443 10.50.2.1 8080)"
stop_servers
finish
