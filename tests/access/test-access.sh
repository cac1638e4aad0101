#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Who may change links: a caller that is neither root nor holds CAP_NET_ADMIN
# gets AccessDenied on every mutating method, through the shipped bus policy
# and again with the policy opened up (then the daemon's own check of the
# sender's credentials answers); CAP_NET_ADMIN suffices with the open
# policy; RegisterSocket, given a good socket fd, is refused just the same;
# reading is open to all; object_path is for root only; object fds
# that are no regular file or are huge are refused. And the daemon runs with
# only the capabilities it needs, and says which.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
NETADMIN=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin)
OPEN_POLICY='<policy context="default"><allow send_destination="org.netnslink1"/></policy>'
STEER='{'"'"'builtin'"'"': <'"'"'steer'"'"'>}'

# call_as WHO METHOD ARGS...: a Manager call through gdbus as another user.
call_as() { local -n who=$1; shift; "${who[@]}" gdbus call --system --dest org.netnslink1 --object-path /org/netnslink1 --method "$@"; }

# The (prog_id, link count) state that a refused call must leave alone.
state() { echo "$(ctl_get prog_id show "$A" sk_lookup ro) $("$CTL" --json=short list | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"; }

restart_bus() {
        stop_daemon
        kill "$BUS_PID"; wait "$BUS_PID" 2>/dev/null
        rm -f "$BUS_SOCKET"
        start_bus "" "$1" && start_daemon
}

# The mutating methods, "|" between the method and each gdbus argument;
# $A is a netns, ro a link.
mutating_calls() {
        cat <<EOF
org.netnslink1.Manager.Attach|$A|sk_lookup|x|$STEER
org.netnslink1.Manager.Update|$A|sk_lookup|ro|$STEER
org.netnslink1.Manager.Replace|$A|sk_lookup|ro|$ROPID|$STEER
org.netnslink1.Manager.Detach|$A|sk_lookup|ro
org.netnslink1.Manager.AttachMany|[('$A', 'sk_lookup', 'x', $STEER)]
org.netnslink1.Manager.DetachMany|[('$A', 'sk_lookup', 'ro')]
org.netnslink1.Steering.AddBinding|$A|ro|tcp|127.0.0.1/32|80|web
org.netnslink1.Steering.RemoveBinding|$A|ro|tcp|127.0.0.1/32|80
org.netnslink1.Steering.SetBindings|$A|ro|[('tcp', '127.0.0.1/32', uint16 80, 'web')]
org.netnslink1.Steering.UnregisterSocket|$A|ro|web
EOF
}

# refused WHAT WANT: every mutating method as nobody is AccessDenied, its
# message containing WANT. A method the daemon does not have is a failure:
# the contract names each of them.
refused() {
        local what=$1 want=$2 call out before after
        before=$(state)
        while IFS='|' read -ra call; do
                if out=$(call_as NOBODY "${call[0]}" -- "${call[@]:1}" 2>&1); then
                        fail "$what: ${call[0]} as nobody is refused" "it succeeded: $out"
                elif [[ "$out" == *UnknownMethod* || "$out" == *UnknownInterface* ]]; then
                        fail "$what: ${call[0]} is served by the daemon (the contract names it)" "output: $out"
                elif [[ "$out" == *org.freedesktop.DBus.Error.AccessDenied* && "$out" == *"$want"* ]]; then
                        pass "$what: ${call[0]} as nobody is AccessDenied"
                else
                        fail "$what: ${call[0]} as nobody is AccessDenied ($want)" "output: $out"
                fi
        done < <(mutating_calls)
        # A CLI that fails prints no number: then "before" is malformed and
        # this fails, even if "after" is malformed in the same way.
        after=$(state)
        if [[ "$before" =~ ^[1-9][0-9]*\ [1-9][0-9]*$ && "$before" == "$after" ]]; then
                pass "$what: the refused calls changed nothing"
        else
                fail "$what: the refused calls changed nothing" "expected (prog_id links): $before" "actual:   $after"
        fi
}

# register_as WHO LABEL: RegisterSocket(A, ro, LABEL, fd) as WHO, with a TCP
# socket listening in netns A, so that only the caller's rights can refuse
# it (dbus-python: gdbus cannot pass fds). Prints the error name and message.
register_as() {
        local -n who=$1
        ip netns exec "$A" "${who[@]}" /usr/bin/python3 -c '
import dbus, os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("0.0.0.0", 0))
s.listen(4)
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
st = dbus.Interface(bus.get_object("org.netnslink1", "/org/netnslink1"), "org.netnslink1.Steering")
try:
    st.RegisterSocket(sys.argv[1], "ro", sys.argv[2], dbus.types.UnixFd(s.fileno()))
except dbus.DBusException as e:
    sys.exit(f"{e.get_dbus_name()}: {e.get_dbus_message()}")
# Registered: show the cookie ListDestinations gives while the socket is open.
for d in st.ListDestinations(sys.argv[1], "ro"):
    if d["label"] == sys.argv[2]:
        print("cookie", int(d["socket_cookie"]))' "$A" "$2"
}

# json_filter CODE ARG CLI-ARGS...: what the Python CODE prints from
# netnslinkctl --json=short CLI-ARGS (the JSON on stdin, ARG as
# sys.argv[1]); if the CLI or the parsing fails, a text saying so (never "").
json_filter() {
        local code=$1 arg=$2 out
        shift 2
        out=$("$CTL" --json=short "$@" 2>&1) || { echo "netnslinkctl $1 failed: $out"; return; }
        /usr/bin/python3 -c "$code" "$arg" <<<"$out" 2>&1 || echo "unreadable output of netnslinkctl $1: $out"
}

# sockets_of LABEL: the cookies registered under LABEL on link ro ("" if none).
sockets_of() {
        json_filter '
import json, sys
print(" ".join(str(d["socket_cookie"]) for d in json.load(sys.stdin)
               if d["label"] == sys.argv[1] and d["socket_cookie"]))' "$1" destinations "$A" ro
}

# refused_register WHAT WANT: RegisterSocket with a good socket fd, as
# nobody, is AccessDenied (its message containing WANT) and registers nothing.
refused_register() {
        local what=$1 want=$2 out
        if out=$(register_as NOBODY web 2>&1); then
                fail "$what: org.netnslink1.Steering.RegisterSocket (with a socket fd) as nobody is refused" \
                        "it succeeded: $out"
        elif [[ "$out" == *org.freedesktop.DBus.Error.AccessDenied* && "$out" == *"$want"* ]]; then
                pass "$what: org.netnslink1.Steering.RegisterSocket (with a socket fd) as nobody is AccessDenied"
        else
                fail "$what: org.netnslink1.Steering.RegisterSocket as nobody is AccessDenied ($want)" "output: $out"
        fi
        check_eq "$what: ... and no socket was registered" "" "$(sockets_of web)"
}

# readable WHAT: the read methods answer nobody.
readable() {
        local what=$1 out
        check "$what: GetLink as nobody" call_as NOBODY org.netnslink1.Manager.GetLink "$A" sk_lookup ro
        check "$what: ListLinks as nobody" call_as NOBODY org.netnslink1.Manager.ListLinks ""
        for m in ListBindings ListDestinations; do
                check "$what: $m as nobody" call_as NOBODY "org.netnslink1.Steering.$m" "$A" ro
        done
}

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
check "root attaches a steer link" mgr Attach "$A" sk_lookup ro "$STEER"
ROPID=$(ctl_get prog_id show "$A" sk_lookup ro)

# --- The daemon's own rights -------------------------------------------------
check "the start log names the capabilities kept" \
        grep -q "capabilities kept: cap_bpf,cap_net_admin,cap_sys_admin,cap_sys_ptrace" "$T/daemon.log"
WANT_CAPS=$(printf '%016x' $(( (1 << 12) | (1 << 19) | (1 << 21) | (1 << 39) )))
check_eq "CapEff is cap_net_admin, cap_sys_ptrace, cap_sys_admin, cap_bpf" "$WANT_CAPS" "$(daemon_status CapEff)"
check_eq "CapBnd is the same four" "$WANT_CAPS" "$(daemon_status CapBnd)"
check_eq "CapPrm is the same four" "$WANT_CAPS" "$(daemon_status CapPrm)"
check_eq "CapAmb is empty" 0000000000000000 "$(daemon_status CapAmb)"
log "daemon: CapEff $(capsh --decode="$(daemon_status CapEff)" | cut -d= -f2)"

# --- The shipped policy ------------------------------------------------------
refused "shipped policy" "" 
refused_register "shipped policy" ""
readable "shipped policy"
check_fails "shipped policy: CAP_NET_ADMIN without root is refused by the bus policy" \
        org.freedesktop.DBus.Error.AccessDenied call_as NETADMIN org.netnslink1.Manager.Detach "$A" sk_lookup ro

# --- The policy opened up: the daemon's own check answers --------------------
restart_bus "$OPEN_POLICY" || exit 1
refused "open policy" "needs root or CAP_NET_ADMIN"
refused_register "open policy" "needs root or CAP_NET_ADMIN"
readable "open policy"
# The same call with CAP_NET_ADMIN goes through: the fd passing works, and
# what refused nobody was the right alone.
netadmin_registers() { register_as NETADMIN web | grep -Eq '^cookie [1-9]'; }
check "open policy: nobody with CAP_NET_ADMIN may RegisterSocket" netadmin_registers

check "open policy: nobody with CAP_NET_ADMIN may Attach" call_as NETADMIN org.netnslink1.Manager.Attach "$A" sk_lookup na "$STEER"
check "... Update" call_as NETADMIN org.netnslink1.Manager.Update "$A" sk_lookup na "{'builtin': <'steer'>}"
NAPID=$(ctl_get prog_id show "$A" sk_lookup na)
check "... Replace" call_as NETADMIN org.netnslink1.Manager.Replace "$A" sk_lookup na "$NAPID" "$STEER"
NAPID=$(ctl_get prog_id show "$A" sk_lookup na)
check "... after which na has a program id ('$NAPID')" test "$NAPID" -gt 0
check "... AttachMany" call_as NETADMIN org.netnslink1.Manager.AttachMany "[('$A', 'sk_lookup', 'nb', $STEER)]"
check "... DetachMany" call_as NETADMIN org.netnslink1.Manager.DetachMany "[('$A', 'sk_lookup', 'nb')]"
check_fails "... but object_path is for root only" org.freedesktop.DBus.Error.AccessDenied \
        call_as NETADMIN org.netnslink1.Manager.Update "$A" sk_lookup na "{'object_path': <'$OBJ'>, 'program': <'sk_pass'>}"
check_fails "... also in AttachMany" org.freedesktop.DBus.Error.AccessDenied \
        call_as NETADMIN org.netnslink1.Manager.AttachMany "[('$A', 'sk_lookup', 'nc', {'object_path': <'$OBJ'>, 'program': <'sk_pass'>})]"
check_fails "... also in Replace" org.freedesktop.DBus.Error.AccessDenied \
        call_as NETADMIN org.netnslink1.Manager.Replace "$A" sk_lookup na "$NAPID" "{'object_path': <'$OBJ'>, 'program': <'sk_pass'>}"
check_eq "... and the refused object_path left the link's program alone" "$NAPID" "$(ctl_get prog_id show "$A" sk_lookup na)"

# Object fds: fd_attach WHO NAME passes our fd 3 as object_fd (dbus-python;
# busctl of systemd 252 cannot send fds). A readable object works; a pipe, a
# folder, a device, an empty and a huge sparse file are InvalidProgram.
fd_attach() {
        local -n who=$1
        "${who[@]}" /usr/bin/python3 -c '
import dbus, os, sys
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
m = dbus.Interface(bus.get_object("org.netnslink1", "/org/netnslink1"), "org.netnslink1.Manager")
try:
    m.Attach(sys.argv[1], "sk_lookup", sys.argv[2], {"object_fd": dbus.types.UnixFd(3), "program": "sk_pass"})
except dbus.DBusException as e:
    sys.exit(f"{e.get_dbus_name()}: {e.get_dbus_message()}")' "$A" "$2"
}
cp "$OBJ" "$T/obj.o"; chmod 644 "$T/obj.o"
check "... an object fd from CAP_NET_ADMIN works" fd_attach NETADMIN nfd 3<"$T/obj.o"
check_fails "an object fd that is a pipe: InvalidProgram" org.netnslink1.Error.InvalidProgram \
        fd_attach NETADMIN p1 3< <(cat "$T/obj.o")
check_fails "an object fd that is a folder: InvalidProgram" org.netnslink1.Error.InvalidProgram fd_attach NETADMIN p2 3<"$T"
check_fails "an object fd that is a device: InvalidProgram" org.netnslink1.Error.InvalidProgram fd_attach NETADMIN p3 3</dev/zero
truncate -s 100M "$T/huge.o"; chmod 644 "$T/huge.o"
T0=$(date +%s%N)
check_fails "a huge sparse object fd (100 MiB): InvalidProgram" org.netnslink1.Error.InvalidProgram fd_attach NETADMIN p4 3<"$T/huge.o"
check "... answered within 1 s" test $(( ($(date +%s%N) - T0) / 1000000 )) -lt 1000
truncate -s 65M "$T/huge2.o"; chmod 644 "$T/huge2.o"
check_fails "a 65 MiB object fd: InvalidProgram" org.netnslink1.Error.InvalidProgram fd_attach NETADMIN p5 3<"$T/huge2.o"
: > "$T/empty.o"
check_fails "an empty object fd: InvalidProgram" org.netnslink1.Error.InvalidProgram fd_attach NETADMIN p6 3<"$T/empty.o"
# refused_links: the links p1..p9 in A ("" if none).
refused_links() {
        json_filter '
import json, re, sys
print(" ".join(l["name"] for l in json.load(sys.stdin) if re.fullmatch(sys.argv[1], l["name"])))' "p[0-9]" list "$A"
}
check_eq "none of the refused objects left a link" "" "$(refused_links)"
check "the daemon is still up" daemon_alive

finish
