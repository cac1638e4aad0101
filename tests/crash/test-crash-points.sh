#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every crash point of the daemon (NETNSLINK_CRASH_AT, see the top comment
# of src/daemon/manager-ops.c and src/lib/pin-store.c): the call that reaches it
# kills the daemon there, a restart without the variable repairs, and then
# the pins, ListLinks and the kernel agree (tests/crash/invariants.py) and
# every link is where the contract puts it: before the commit point nothing
# of the call remains, after it all of it does.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
EXPECT="$T/expect.json"
declare -A STATE        # "<ino>/<type>/<name>" -> expected program name or "absent"

# prog KIND: the program dictionary (GVariant text) for a kind of program.
prog() {
        case $1 in
        steer) echo "{'builtin': <'steer'>}" ;;
        *) echo "{'object_path': <'$OBJ'>, 'program': <'$1'>}" ;;
        esac
}

# prog_name KIND: the kernel's name of that program.
prog_name() { [ "$1" = steer ] && echo steer_lookup || echo "$1"; }

key() { echo "$(netns_ino "$1")/$2/$3"; }

write_expect() {
        local k sep=""
        { echo "{"; for k in "${!STATE[@]}"; do printf '%s"%s": ["%s"]\n' "$sep" "$k" "${STATE[$k]}"; sep=","; done; echo "}"; } > "$EXPECT"
}

# setup NS TYPE NAME KIND: attaches a link with a healthy daemon.
setup() {
        mgr Attach "$1" "$2" "$3" "$(prog "$4")" >/dev/null || { fail "setup: attach $*"; return 1; }
        STATE[$(key "$1" "$2" "$3")]=$(prog_name "$4")
}

# expect NS TYPE NAME KIND|absent
expect() {
        if [ "$4" = absent ]; then STATE[$(key "$1" "$2" "$3")]=absent; else STATE[$(key "$1" "$2" "$3")]=$(prog_name "$4"); fi
}

# daemon_gone: the daemon has ended (a zombie not yet waited for counts:
# kill -0 still succeeds on one).
daemon_gone() {
        local st
        st=$(ps -o stat= -p "$DAEMON_PID" 2>/dev/null)
        [ -z "$st" ] || [[ "$st" == Z* ]]
}

# crash POINT DESC METHOD ARGS...: restarts the daemon with the crash point
# set, makes the call (which must not succeed: the daemon dies in it), and
# restarts it without. Then call expect for the outcome and verify.
# If the call is answered (it succeeded, or failed with a real error: the
# crash point was not reached) or the daemon is still running 10 s later,
# that fails, and the daemon is killed and restarted without the point
# (instead of waiting for an exit that does not come), and it returns 1.
crash() {
        local point=$1 desc=$2; shift 2
        local out name bad=""
        kill_daemon
        start_daemon NETNSLINK_CRASH_AT="$point" || { fail "$desc: daemon starts with $point"; return 1; }
        # bash reports the SIGKILLed job on stderr: not a failure, keep it quiet
        exec 3>&2 2>/dev/null
        if out=$(mgr "$@" 2>&1); then
                fail "$desc: the call dies at $point" "it succeeded: $out"
                bad=1
        else
                name=$(grep -o 'org\.freedesktop\.DBus\.Error\.[A-Za-z]*' <<<"$out" | head -1)
                case $name in
                org.freedesktop.DBus.Error.NoReply | org.freedesktop.DBus.Error.Disconnected)
                        pass "$desc: the call gets no answer ($name)" ;;
                *)
                        fail "$desc: the call gets no answer (NoReply or Disconnected)" "it was answered: $out"
                        bad=1 ;;
                esac
        fi
        if [ -z "$bad" ]; then
                for _ in $(seq 100); do daemon_gone && break; sleep 0.1; done
                if ! daemon_gone; then
                        fail "$desc: the daemon dies at $point" "it still runs 10 s after the call"
                        bad=1
                fi
        fi
        if [ -n "$bad" ]; then
                kill_daemon
                exec 2>&3 3>&-
                start_daemon || fail "$desc: the daemon restarts"
                return 1
        fi
        wait_daemon_exit
        exec 2>&3 3>&-
        check_eq "$desc: the daemon died of SIGKILL at $point" 137 "$DAEMON_EXIT"
        start_daemon || { fail "$desc: the daemon restarts"; return 1; }
}

# verify DESC: the expected links and the crash invariants.
verify() {
        write_expect
        check_invariants "$1: pins, listing and kernel agree, as the contract says" --expect "$EXPECT"
}

start_bus && mount_pins && start_daemon || exit 1

# --- Attach ------------------------------------------------------------------
N=$(make_netns attach)
crash attach-after-load "Attach killed after load" Attach "$N" sk_lookup al "$(prog steer)"
expect "$N" sk_lookup al absent; verify "Attach killed after load leaves nothing (no steer maps either)"
crash attach-after-create "Attach killed after link_create" Attach "$N" sk_lookup ac "$(prog steer)"
expect "$N" sk_lookup ac absent; verify "Attach killed before its pin leaves nothing"
crash attach-after-create "Attach of a flow_dissector killed after link_create" Attach "$N" flow_dissector fc "$(prog flow_ok)"
expect "$N" flow_dissector fc absent; verify "flow_dissector Attach killed before its pin leaves nothing"
check "... and the netns's one flow_dissector slot is free again" mgr Attach "$N" flow_dissector f1 "$(prog flow_ok)"
expect "$N" flow_dissector f1 flow_ok
crash attach-after-pin "Attach killed after its pin" Attach "$N" sk_lookup ap "$(prog steer)"
expect "$N" sk_lookup ap steer; verify "Attach killed after its pin leaves the link, with its steer maps"
check "... and the link is served: Update works" mgr Update "$N" sk_lookup ap "$(prog sk_pass)"
expect "$N" sk_lookup ap sk_pass

# --- Update and Replace ------------------------------------------------------
N=$(make_netns update)
setup "$N" sk_lookup u1 sk_pass
setup "$N" sk_lookup u2 sk_pass
setup "$N" sk_lookup u3 steer
setup "$N" sk_lookup r1 sk_pass
setup "$N" sk_lookup r2 sk_pass
crash update-after-load "Update killed after load" Update "$N" sk_lookup u1 "$(prog steer)"
expect "$N" sk_lookup u1 sk_pass; verify "Update killed before the swap keeps the old program and no steer maps"
crash update-after-swap "Update to steer killed after the swap" Update "$N" sk_lookup u2 "$(prog steer)"
expect "$N" sk_lookup u2 steer; verify "Update killed after the swap shows the new program, with its maps"
crash update-after-swap "Update from steer killed after the swap" Update "$N" sk_lookup u3 "$(prog sk_pass2)"
expect "$N" sk_lookup u3 sk_pass2; verify "Update away from steer killed after the swap: new program, old maps removed"
PID=$(ctl_get prog_id show "$N" sk_lookup r1)
crash update-after-load "Replace killed after load" Replace "$N" sk_lookup r1 "$PID" "$(prog sk_pass2)"
expect "$N" sk_lookup r1 sk_pass; verify "Replace killed before the swap keeps the old program"
PID=$(ctl_get prog_id show "$N" sk_lookup r2)
crash update-after-swap "Replace killed after the swap" Replace "$N" sk_lookup r2 "$PID" "$(prog sk_pass2)"
expect "$N" sk_lookup r2 sk_pass2; verify "Replace killed after the swap shows the new program"

# --- Detach ------------------------------------------------------------------
N=$(make_netns detach)
setup "$N" sk_lookup d1 steer
setup "$N" flow_dissector d2 flow_ok
crash detach-after-unpin "Detach killed after the unpin" Detach "$N" sk_lookup d1
expect "$N" sk_lookup d1 absent; verify "Detach killed after the unpin: the link and its maps are gone"
crash detach-after-unpin "Detach of a flow_dissector killed after the unpin" Detach "$N" flow_dissector d2
expect "$N" flow_dissector d2 absent; verify "flow_dissector Detach killed after the unpin: gone"

# --- AttachMany --------------------------------------------------------------
# three elements over two netns: a steer link, an object link, a flow dissector
many() { echo "[('$1', 'sk_lookup', 'm1', $(prog steer)), ('$2', 'sk_lookup', 'm2', $(prog sk_pass)), ('$2', 'flow_dissector', 'm3', $(prog flow_ok))]"; }
many_expect() {
        if [ "$3" = absent ]; then
                expect "$1" sk_lookup m1 absent; expect "$2" sk_lookup m2 absent; expect "$2" flow_dissector m3 absent
        else
                expect "$1" sk_lookup m1 steer; expect "$2" sk_lookup m2 sk_pass; expect "$2" flow_dissector m3 flow_ok
        fi
}
for pt in attach-many-before-commit:absent batch-midway:absent batch-before-commit:absent batch-after-commit:all; do
        point=${pt%%:*} outcome=${pt##*:}
        N1=$(make_netns "am-$point-1"); N2=$(make_netns "am-$point-2")
        crash "$point" "AttachMany killed at $point" AttachMany "$(many "$N1" "$N2")"
        many_expect "$N1" "$N2" "$outcome"
        verify "AttachMany killed at $point leaves $([ "$outcome" = all ] && echo 'all of its links' || echo 'none of its links')"
        if [ "$outcome" = absent ]; then
                check "... and the same AttachMany succeeds afterwards" mgr AttachMany "$(many "$N1" "$N2")"
                many_expect "$N1" "$N2" all
                verify "... and its links are all there"
        fi
done

# --- DetachMany --------------------------------------------------------------
dmany() { echo "[('$1', 'sk_lookup', 'm1'), ('$2', 'sk_lookup', 'm2'), ('$2', 'flow_dissector', 'm3')]"; }
for pt in detach-many-before-commit:all batch-before-commit:all batch-after-commit:absent batch-midway:absent batch-before-cleanup:absent; do
        point=${pt%%:*} outcome=${pt##*:}
        N1=$(make_netns "dm-$point-1"); N2=$(make_netns "dm-$point-2")
        # Set up one by one: batch crash points must not fire in the setup.
        setup "$N1" sk_lookup m1 steer && setup "$N2" sk_lookup m2 sk_pass && setup "$N2" flow_dissector m3 flow_ok
        crash "$point" "DetachMany killed at $point" DetachMany "$(dmany "$N1" "$N2")"
        many_expect "$N1" "$N2" "$outcome"
        verify "DetachMany killed at $point leaves $([ "$outcome" = all ] && echo 'all of its links' || echo 'none of its links')"
        if [ "$outcome" = all ]; then
                check "... and the same DetachMany succeeds afterwards" mgr DetachMany "$(dmany "$N1" "$N2")"
                many_expect "$N1" "$N2" absent
                verify "... and its links are all gone"
        fi
done

# --- Configuration files (Manager.Reload) ---------------------------------------
# crash_reload POINT DESC CMD...: restarts the daemon with the crash point
# set, runs CMD (which writes or removes files: written before, the start's
# own apply would meet the point), and a Reload that must die there; then
# restarts it without, and that start applies the files again: what the
# kill left is judged by the records (invariants.py) and the start-up log.
crash_reload() {
        local point=$1 desc=$2 out; shift 2
        kill_daemon
        start_daemon NETNSLINK_CRASH_AT="$point" || { fail "$desc: daemon starts with $point"; return 1; }
        "$@"
        exec 3>&2 2>/dev/null
        if out=$(mgr Reload false 2>&1); then
                exec 2>&3 3>&-
                fail "$desc: the Reload dies at $point" "it was answered: $out"
                kill_daemon
                start_daemon
                return 1
        fi
        wait_daemon_exit
        exec 2>&3 3>&-
        check_eq "$desc: the daemon died of SIGKILL at $point" 137 "$DAEMON_EXIT"
        start_daemon || fail "$desc: the daemon restarts"
}
CR="$T/config"
mkdir -p "$CR/etc/netnslink/links.d"
NLD_EXTRA="--config-root=$CR"
N=$(make_netns config)
cfg() {
        local name
        for name in "$@"; do
                printf '[Match]\nNetns=%s\n[Link]\nType=sk_lookup\nName=%s\nProgram=%s\n' "$N" "${name%%=*}" \
                        "${name#*=}" > "$CR/etc/netnslink/links.d/${name%%=*}.conf"
        done
}
crash_reload attach-after-record "Reload killed after a link's record, before its pin" cfg c1=builtin:steer
expect "$N" sk_lookup c1 steer; verify "Reload killed before the pin: the restart drops the record, applies again"
check "... the record of the dropped link was pruned" grep -q "Dropped the records of 1 configured link" "$T/daemon.log"
crash_reload batch-before-commit "Reload killed before its batch's commit" cfg "c2=$OBJ:sk_pass"
expect "$N" sk_lookup c2 sk_pass; verify "Reload killed before the commit: undone, then applied again at start"
crash_reload batch-midway "Reload's batch killed midway" cfg c3=builtin:steer "c4=$OBJ:sk_pass"
expect "$N" sk_lookup c3 steer; expect "$N" sk_lookup c4 sk_pass
verify "Reload's batch killed midway: undone, records pruned, applied again at start"
crash_reload detach-many-before-commit "Reload's detach killed before its commit" \
        rm "$CR/etc/netnslink/links.d/c1.conf"
expect "$N" sk_lookup c1 absent; verify "... the restart's apply detaches it"
check_eq "every configured link lists its file" \
        "config:$CR/etc/netnslink/links.d/c2.conf config:$CR/etc/netnslink/links.d/c3.conf" \
        "$(ctl_get source show "$N" sk_lookup c2) $(ctl_get source show "$N" sk_lookup c3)"

check "the start-up log reports repaired batches" grep -q "Repaired .* pin(s) of batches interrupted" "$T/daemon.log"

finish
