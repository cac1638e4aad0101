#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A built-in is known by what the daemon recorded when it loaded it
# (src/lib/builtin-marks.c), never by its program's name: user programs
# called steer_lookup and flow_dissect (tests/lib/bpf/libtest_imposters.bpf.c)
# are not listed as builtin:steer or builtin:flow, and Steering calls on
# them are InvalidArgs, also after a restart, a SIGKILL, and a SIGKILL at
# each step of an Attach or Update of builtin:steer; a real builtin stays
# one through all of it.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
IMP="$TEST_BPF/libtest_imposters.bpf.o"

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
B=$(make_netns b)
INO_A=$(netns_ino "$A")

"$CTL" attach "$A" sk_lookup st builtin:steer >/dev/null
"$CTL" bind "$A" st tcp 10.1.0.0/16 0 www >/dev/null
"$CTL" attach "$A" flow_dissector f builtin:flow >/dev/null
check "attach a user program called steer_lookup" "$CTL" attach "$B" sk_lookup fake "$IMP:steer_lookup"
check "attach a user program called flow_dissect" "$CTL" attach "$B" flow_dissector fakef "$IMP:flow_dissect"
check_eq "the kernel calls it steer_lookup" steer_lookup "$(ctl_get prog_name show "$B" sk_lookup fake)"

# recognised WHEN: every link is what it runs, as the daemon lists it and
# as Steering treats it.
recognised() {
        check_eq "$1: builtin:steer is listed as builtin:steer" builtin:steer "$(ctl_get source show "$A" sk_lookup st)"
        check_eq "$1: ... and keeps its binding" 1 \
                "$("$CTL" --json=short bindings "$A" st | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
        check_eq "$1: builtin:flow is listed as builtin:flow" builtin:flow "$(ctl_get source show "$A" flow_dissector f)"
        check "$1: the user's steer_lookup is not listed as a builtin" \
                bash -c '[[ "$("$@")" != builtin:* ]]' _ ctl_get_source "$B" sk_lookup fake
        check "$1: the user's flow_dissect is not listed as a builtin" \
                bash -c '[[ "$("$@")" != builtin:* ]]' _ ctl_get_source "$B" flow_dissector fakef
        check_fails "$1: a Steering call on the user's steer_lookup is InvalidArgs" \
                "org.freedesktop.DBus.Error.InvalidArgs" "$CTL" bindings "$B" fake
        check_fails "$1: ... saying it is not builtin:steer" "runs program 'steer_lookup', not builtin:steer" \
                "$CTL" bindings "$B" fake
}
# ctl_get_source for bash -c: ctl_get is a function of this shell.
cat >"$T/ctl_get_source" <<EOF
#!/bin/bash
"$CTL" --json=short show "\$@" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["source"])'
EOF
chmod +x "$T/ctl_get_source"
PATH="$T:$PATH"

recognised "while running"
stop_daemon
start_daemon
recognised "after a restart"
kill_daemon
start_daemon
recognised "after a SIGKILL"

# Changing what a link runs changes what it is, across a SIGKILL.
"$CTL" attach "$B" sk_lookup fake2 "$IMP:steer_lookup" >/dev/null
check "update a user's steer_lookup to builtin:steer" "$CTL" update "$B" sk_lookup fake2 builtin:steer
kill_daemon
start_daemon
check_eq "... is builtin:steer after a SIGKILL" builtin:steer "$(ctl_get source show "$B" sk_lookup fake2)"
check "... and takes a binding" "$CTL" bind "$B" fake2 tcp 10.2.0.0/16 0 www
check "update it back to the user's steer_lookup" "$CTL" update "$B" sk_lookup fake2 "$IMP:steer_lookup"
kill_daemon
start_daemon
check "... is not a builtin after a SIGKILL" bash -c '[[ "$(ctl_get_source "$1" sk_lookup fake2)" != builtin:* ]]' _ "$B"
check_fails "... and Steering on it is InvalidArgs" org.freedesktop.DBus.Error.InvalidArgs "$CTL" bindings "$B" fake2
check "... and its steer maps are gone" test ! -e "$PIN_ROOT/$(netns_ino "$B")/steer/fake2"

# A SIGKILL at each step of an Attach and an Update of builtin:steer.
crash_at() {
        kill_daemon
        start_daemon NETNSLINK_CRASH_AT="$1" || return 1
        mgr "${@:2}" >/dev/null 2>&1
        wait_daemon_exit
        check_eq "$1: the daemon died there" 137 "$DAEMON_EXIT"
        start_daemon
}
# consistent WHEN NETNS NAME: a link that exists is builtin:steer exactly
# when the kernel runs the daemon's steer program on it, and Steering works
# on it exactly then.
consistent() {
        local src prog
        "$CTL" show "$2" sk_lookup "$3" >/dev/null 2>&1 || { pass "$1: no link was left"; return; }
        src=$(ctl_get source show "$2" sk_lookup "$3")
        prog=$(bpftool -j prog show id "$(ctl_get prog_id show "$2" sk_lookup "$3")" |
                /usr/bin/python3 -c 'import json,sys; p=json.load(sys.stdin); print("steer" if p.get("map_ids") else "user")')
        if [ "$prog" = steer ]; then
                check_eq "$1: the link running the daemon's steer program is builtin:steer" builtin:steer "$src"
                check "$1: ... and Steering works on it" "$CTL" bindings "$2" "$3"
        else
                check "$1: the link running the user's program is not a builtin ($src)" \
                        bash -c '[[ "$1" != builtin:* ]]' _ "$src"
                check_fails "$1: ... and Steering on it is InvalidArgs" org.freedesktop.DBus.Error.InvalidArgs \
                        "$CTL" bindings "$2" "$3"
        fi
}
for p in attach-after-load attach-after-create attach-after-pin; do
        crash_at "$p" Attach "$A" sk_lookup "c-$p" "{'builtin': <'steer'>}"
        consistent "$p" "$A" "c-$p"
done
for p in update-after-load update-after-swap; do
        "$CTL" attach "$B" sk_lookup "u-$p" "$IMP:steer_lookup" >/dev/null
        crash_at "$p" Update "$B" sk_lookup "u-$p" "{'builtin': <'steer'>}"
        consistent "$p" "$B" "u-$p"
done
recognised "after the crashes"
check_invariants "pins, ListLinks and the kernel agree, and every link is listed as what it runs"

finish
