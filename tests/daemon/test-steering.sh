#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# org.netnslink1.Steering end to end: the real bus, daemon, kernel and CLI,
# with real TCP (IPv4, IPv6) and UDP traffic in a throwaway netns. Every
# prefix below is made local to the netns (`ip route add local`), so any of
# its addresses can be connected to, and only builtin:steer decides which
# socket answers. Answers name the socket (tests/steer/steer-traffic.py).
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
TRAFFIC_NS=$A
INO=$(stat -L -c %i "/run/netns/$A")
steer() { gdbus call --system --dest org.netnslink1 --object-path /org/netnslink1 \
                --method "org.netnslink1.Steering.$1" -- "${@:2}"; }

# dest_get LABEL PROTO FAMILY KEY: a counter or field of one destination.
dest_get() { dest_field "$A" s1 "$@"; }
n_bindings() { "$CTL" --json=short bindings "$A" "${1:-s1}" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

check "netns $A with lo up and local prefixes 10.50.0.0/16, fd00:50::/64" local_prefixes
check "attach builtin:steer as sk_lookup link s1" "$CTL" attach "$A" sk_lookup s1 builtin:steer

# --- Many addresses and ports reach one socket --------------------------------
check "bind tcp 10.50.1.0/24 port 0 to web" "$CTL" bind "$A" s1 tcp 10.50.1.0/24 0 web
check "bind tcp fd00:50::/64 port 0 to web" "$CTL" bind "$A" s1 tcp fd00:50::/64 0 web
check "bind udp 10.50.1.0/24 port 53 to dns" "$CTL" bind "$A" s1 udp 10.50.1.0/24 53 dns
check "bind udp fd00:50::/64 port 53 to dns" "$CTL" bind "$A" s1 udp fd00:50::/64 53 dns
check "servers registered with --fd" serve main \
        web4,web,tcp,127.0.0.1,9000 web6,web,tcp,::1,9000 dns4,dns,udp,127.0.0.1,9053 dns6,dns,udp,::1,9053 \
        plain,-,tcp,10.50.9.9,7000 \
        --register "$CTL" "$A" s1

targets4=(); targets6=(); want4=(); want6=()
for i in 1 2 3 7 50 99 128 200 254 255; do
        for port in 1 80 443 8080 65535; do
                targets4+=(10.50.1.$i $port); want4+=(web4)
        done
        targets6+=(fd00:50::$i $((i * 100 + 1)) fd00:50::abcd:$i 22); want6+=(web6 web6)
done
check_eq "TCP/IPv4: 50 address:port pairs of 10.50.1.0/24 reach the web socket" "${want4[*]}" "$(probe tcp "${targets4[@]}")"
check_eq "TCP/IPv6: 20 address:port pairs of fd00:50::/64 reach the web6 socket" "${want6[*]}" "$(probe tcp "${targets6[@]}")"
check_eq "UDP/IPv4 and IPv6: port 53 of many addresses reaches the dns sockets" \
        "dns4 dns4 dns4 dns6 dns6 dns6" \
        "$(probe udp 10.50.1.1 53 10.50.1.77 53 10.50.1.254 53 fd00:50::1 53 fd00:50::ffff 53 fd00:50::1:2:3 53)"
check_eq "UDP to a port with no binding falls through (nothing listens there)" timeout "$(probe udp 10.50.1.1 54)"
check_eq "TCP to an unbound address falls through to the kernel's lookup" "plain refused" \
        "$(probe tcp 10.50.9.9 7000 10.50.9.9 7001)"

check_eq "ListBindings lists the four bindings" 4 "$(n_bindings)"
check "bindings prints a table with a legend" bash -c "'$CTL' bindings '$A' s1 | grep -q '^PROTO' && '$CTL' bindings '$A' s1 | grep -q '4 bindings listed'"
check "destinations prints a table with counters" bash -c "'$CTL' destinations '$A' s1 | grep -q 'LOOKUPS'"
gdbus_lists_prefix() { steer ListBindings "$A" s1 | grep -q "'prefix': <'10.50.1.0/24'>"; }
check "ListBindings through gdbus names the prefix" gdbus_lists_prefix
check_eq "ListDestinations carries a socket cookie for web/tcp/ipv4" yes \
        "$([ "$(dest_get web tcp ipv4 socket_cookie)" -gt 0 ] 2>/dev/null && echo yes)"

# --- Counters move as traffic flows -------------------------------------------
L0=$(dest_get web tcp ipv4 lookups)
probe tcp 10.50.1.5 1000 10.50.1.6 1001 10.50.1.7 1002 >/dev/null
L1=$(dest_get web tcp ipv4 lookups)
check_eq "three connections add three lookups to web/tcp/ipv4" 3 "$((L1 - L0))"
H=$("$CTL" --json=short bindings "$A" s1 | "$PY" -c '
import json, sys
print(sum(b["hits"] for b in json.load(sys.stdin) if b["prefix"] == "10.50.1.0/24" and b["protocol"] == "tcp"))')
check "the tcp 10.50.1.0/24 binding counts hits ($H)" test "$H" -ge 53

# --- Precedence, table-driven -------------------------------------------------
check "precedence bindings" bash -c "
        '$CTL' bind '$A' s1 tcp 10.50.2.0/23 0 wide &&
        '$CTL' bind '$A' s1 tcp 10.50.2.0/24 0 narrow &&
        '$CTL' bind '$A' s1 tcp 10.50.2.0/23 80 wideport &&
        '$CTL' bind '$A' s1 tcp 10.50.2.0/24 80 narrowport &&
        '$CTL' bind '$A' s1 tcp 10.50.2.7/32 0 host &&
        '$CTL' bind '$A' s1 tcp 10.50.2.128/25 0 half &&
        '$CTL' bind '$A' s1 tcp fd00:50::100:0/112 0 v6wide &&
        '$CTL' bind '$A' s1 tcp fd00:50::100:0/120 443 v6narrow"
check "precedence servers" serve prec \
        wide,wide,tcp,127.0.0.2,9001 narrow,narrow,tcp,127.0.0.2,9002 wideport,wideport,tcp,127.0.0.2,9003 \
        narrowport,narrowport,tcp,127.0.0.2,9004 host,host,tcp,127.0.0.2,9005 half,half,tcp,127.0.0.2,9008 \
        v6wide,v6wide,tcp,::1,9006 v6narrow,v6narrow,tcp,::1,9007 --register "$CTL" "$A" s1
# address port expected: why
PRECEDENCE=(
        "10.50.3.5   81  wide        /23 port 0 only"
        "10.50.3.5   80  wideport    equal prefix: the specific port beats port 0"
        "10.50.2.5   81  narrow      the /24 with port 0 beats the /23 with port 0"
        "10.50.2.200 80  half        a /25 with port 0 beats a /24 and a /23 with the port"
        "10.50.2.5   80  narrowport  longer prefix and specific port"
        "10.50.2.7   80  host        a /32 with port 0 beats a /24 with the port"
        "10.50.2.7   1   host        a /32 catches every port"
        "fd00:50::100:5  443  v6narrow  IPv6: the /120 with the port"
        "fd00:50::100:5  444  v6wide    IPv6: the /112 with port 0"
        "fd00:50::100:105  443  v6wide  IPv6: outside the /120, inside the /112"
        "fd00:50::200:1  443  web6      IPv6: only the /64"
        "10.50.4.1   80  refused     outside every prefix: falls through"
)
for row in "${PRECEDENCE[@]}"; do
        read -r addr port want why <<<"$row"
        check_eq "precedence: $addr port $port -> $want ($why)" "$want" "$(probe tcp "$addr" "$port")"
done

# --- Fall-through when the label has no socket, and a miss counted -------------
check "bind 10.50.9.0/24 port 7000 to a label with no socket" "$CTL" bind "$A" s1 tcp 10.50.9.0/24 7000 nobody
M0=$(dest_get nobody tcp ipv4 misses)
check_eq "a label with no socket falls through to the kernel's lookup" plain "$(probe tcp 10.50.9.9 7000)"
check_eq "and counts a miss" 1 "$(( $(dest_get nobody tcp ipv4 misses) - M0 ))"
check_eq "destinations shows the label with no socket" "0" "$(dest_get nobody tcp ipv4 socket_cookie)"
check "unbind removes it" "$CTL" unbind "$A" s1 tcp 10.50.9.0/24 7000
check_fails "unbind of a missing binding: InvalidArgs" org.freedesktop.DBus.Error.InvalidArgs \
        "$CTL" unbind "$A" s1 tcp 10.50.9.0/24 7000

# --- A second sk_lookup link in the same netns --------------------------------
check "attach a second builtin:steer link s2" "$CTL" attach "$A" sk_lookup s2 builtin:steer
check "s2 binds a prefix s1 does not know" "$CTL" bind "$A" s2 tcp 10.50.5.0/24 0 other
check "server for s2's label" serve s2 other,other,tcp,127.0.0.3,9100 --register "$CTL" "$A" s2
check_eq "s1 still steers with s2 attached after it" web4 "$(probe tcp 10.50.1.9 80)"
check_eq "s2 steers what s1 lets through" other "$(probe tcp 10.50.5.1 80)"
check_eq "each link has its own bindings" "1" "$(n_bindings s2)"

# --- Register by --fd errors, register-pid, socket activation -----------------
check "bind tcp 10.50.6.0/24 to pidlabel" "$CTL" bind "$A" s1 tcp 10.50.6.0/24 0 pidlabel
check "a process with unregistered sockets" serve pid \
        pid4,-,tcp,127.0.0.4,9200 pidudp,-,udp,127.0.0.4,9201 pid6,-,tcp,::1,9202
check "register-pid picks the process's listening TCP/IPv4 socket" \
        "$CTL" register-pid "$A" s1 pidlabel "$(server_pid pid)"
check_eq "traffic reaches the socket taken from the process" pid4 "$(probe tcp 10.50.6.1 80)"
# A UDP binding of port 0 would catch the replies to the probe's own port.
check "bind udp 10.50.6.0/24 port 5353 to pidlabel too" "$CTL" bind "$A" s1 udp 10.50.6.0/24 5353 pidlabel
check "register-pid now takes the TCP and the UDP socket" "$CTL" register-pid "$A" s1 pidlabel "$(server_pid pid)"
check_eq "UDP reaches the process's UDP socket" pidudp "$(probe udp 10.50.6.1 5353)"
check "a process with two TCP/IPv4 listeners" serve amb amb1,-,tcp,127.0.0.5,9300 amb2,-,tcp,127.0.0.5,9301
check "bind tcp 10.50.7.0/24 to amblabel" "$CTL" bind "$A" s1 tcp 10.50.7.0/24 0 amblabel
check_fails "register-pid with two candidates is ambiguous" Ambiguous \
        "$CTL" register-pid "$A" s1 amblabel "$(server_pid amb)"
check_fails "register-pid of a process with no matching socket" "No listening" \
        "$CTL" register-pid "$A" s1 dns "$(server_pid amb)"
check_fails "register-pid of a missing process" "Cannot open process" \
        "$CTL" register-pid "$A" s1 amblabel 999999999
check "bind tcp 10.50.8.0/24 to act" "$CTL" bind "$A" s1 tcp 10.50.8.0/24 0 act
check "bind tcp fd00:50::8:0/112 to act" "$CTL" bind "$A" s1 tcp fd00:50::8:0/112 0 act
check "register through socket activation (LISTEN_FDS, two sockets)" serve act \
        act4,-,tcp,127.0.0.6,9400 act6,-,tcp,::1,9400 --activate "$CTL" "$A" s1 act
check_eq "both activated sockets serve their family" "act4 act6" "$(probe tcp 10.50.8.1 80 fd00:50::8:1 80)"
check_fails "register with neither --fd nor LISTEN_FDS" LISTEN_FDS "$CTL" register "$A" s1 act

# --- Survives SIGKILL of the daemon and a restart ------------------------------
BEFORE=$("$CTL" --json=short bindings "$A" s1 | "$PY" -c 'import json,sys; print(sorted((b["protocol"],b["prefix"],b["port"],b["label"]) for b in json.load(sys.stdin)))')
COOKIE=$(dest_get web tcp ipv4 socket_cookie)
kill_daemon
check_eq "traffic is steered while the daemon is down" "web4 web6 dns4 narrowport" \
        "$(probe tcp 10.50.1.3 80 fd00:50::3 80)$(echo -n ' ')$(probe udp 10.50.1.3 53)$(echo -n ' ')$(probe tcp 10.50.2.1 80)"
start_daemon
AFTER=$("$CTL" --json=short bindings "$A" s1 | "$PY" -c 'import json,sys; print(sorted((b["protocol"],b["prefix"],b["port"],b["label"]) for b in json.load(sys.stdin)))')
check_eq "bindings survive SIGKILL and restart" "$BEFORE" "$AFTER"
check_eq "the registered socket survives too" "$COOKIE" "$(dest_get web tcp ipv4 socket_cookie)"
check_eq "traffic is steered after the restart" "web4 other" "$(probe tcp 10.50.1.4 80 10.50.5.4 80)"

# --- SetBindings under a constant stream of connections -----------------------
cat > "$T/set-a.json" <<EOF
[
  {"protocol": "tcp", "prefix": "10.50.1.0/24", "port": 0, "label": "web"},
  {"protocol": "tcp", "prefix": "fd00:50::/64", "port": 0, "label": "web"},
  {"protocol": "udp", "prefix": "10.50.1.0/24", "port": 53, "label": "dns"}
]
EOF
cat > "$T/set-b.json" <<EOF
[
  {"protocol": "tcp", "prefix": "10.50.1.0/25", "port": 0, "label": "web"},
  {"protocol": "tcp", "prefix": "10.50.1.0/24", "port": 8080, "label": "web"},
  {"protocol": "tcp", "prefix": "10.50.0.0/16", "port": 0, "label": "dns"},
  {"protocol": "udp", "prefix": "10.50.1.0/24", "port": 53, "label": "dns"},
  {"protocol": "tcp", "prefix": "10.50.1.64/26", "port": 8080, "label": "web"}
]
EOF
check "load-bindings replaces the whole set" "$CTL" load-bindings "$A" s1 "$T/set-a.json"
check_eq "the set is now exactly the file's" 3 "$(n_bindings)"
check_eq "load-bindings of the same set changes nothing" "0 0" \
        "$("$CTL" --json=short load-bindings "$A" s1 "$T/set-a.json" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["added"], d["removed"])')"
check_eq "load-bindings reports added and removed" "4 2" \
        "$("$CTL" --json=short load-bindings "$A" s1 "$T/set-b.json" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["added"], d["removed"])')"
rm -f "$T/stop"
in_ns "$PY" "$TRAFFIC" stream tcp 10.50.1.70 8080 web4 "$T/stop" >"$T/stream.out" 2>"$T/stream.err" &
STREAM=$!
sleep 0.3
FLIPS=0
for _ in $(seq 20); do
        "$CTL" load-bindings "$A" s1 "$T/set-a.json" >/dev/null && FLIPS=$((FLIPS + 1))
        "$CTL" load-bindings "$A" s1 "$T/set-b.json" >/dev/null && FLIPS=$((FLIPS + 1))
done
sleep 0.2
touch "$T/stop"
wait "$STREAM"
read -r OKS BADS < <(sed -e 's/ok=//' -e 's/bad=//' "$T/stream.out")
check_eq "40 SetBindings flips between two sets" 40 "$FLIPS"
check "the stream made connections during the flips (${OKS:-0})" test "${OKS:-0}" -gt 20
check_eq "no connection of the stream was lost or misdirected" 0 "${BADS:-x}"

# --- Bad input: each a named error, nothing changed, the daemon stays up ------
check "restore set a" "$CTL" load-bindings "$A" s1 "$T/set-a.json"
N0=$(n_bindings)
INVALID=org.freedesktop.DBus.Error.InvalidArgs
for bad in 10.50.1.1/24 10.0.0.0/33 fd00::/129 garbage 10.0.0.0 10.0.0.0/ /8 10.0.0.0/8x 300.1.1.0/24 fd00::1/64 ""; do
        check_fails "prefix '$bad' is InvalidArgs" "$INVALID" "$CTL" bind "$A" s1 tcp "$bad" 80 web
done
for bad in sctp TCP "" icmp; do
        check_fails "protocol '$bad' is InvalidArgs" "$INVALID" "$CTL" bind "$A" s1 "$bad" 10.50.0.0/16 80 web
done
for bad in "" "a b" "a/b" "$(printf 'l%.0s' $(seq 65))" "ä" "x:y"; do
        check_fails "label '$bad' is InvalidArgs" "$INVALID" "$CTL" bind "$A" s1 tcp 10.50.0.0/16 80 "$bad"
done
for bad in 65536 99999999999 abc 1.5 +1 ""; do
        check_fails "CLI: port '$bad' is refused" "Invalid port" "$CTL" bind "$A" s1 tcp 10.50.0.0/16 "$bad" web
done
check_fails "link that does not exist: NoSuchLink" org.netnslink1.Error.NoSuchLink \
        "$CTL" bind "$A" s1-missing tcp 10.50.0.0/16 80 web
check_fails "malformed link name: InvalidArgs" "$INVALID" "$CTL" bind "$A" "a.b" tcp 10.50.0.0/16 80 web
check_fails "unknown netns: NoSuchNetns" org.netnslink1.Error.NoSuchNetns \
        "$CTL" bind nope-nope s1 tcp 10.50.0.0/16 80 web
check "attach a non-steer sk_lookup program" "$CTL" attach "$A" sk_lookup plainprog "$TEST_BPF/libtest_progs.bpf.o:sk_pass"
check_fails "a link that is not builtin:steer: InvalidArgs naming it" "not builtin:steer" \
        "$CTL" bind "$A" plainprog tcp 10.50.0.0/16 80 web
check_fails "ListBindings of a non-steer link: InvalidArgs" "$INVALID" "$CTL" bindings "$A" plainprog
check_fails "register --fd of a pipe: InvalidArgs (not a socket)" "not a socket" \
        bash -c "exec 7</dev/null; '$CTL' register '$A' s1 web --fd=7"
check_fails "register --fd of a closed descriptor" "Failed to register" "$CTL" register "$A" s1 web --fd=77
check_fails "register a socket of another netns: InvalidArgs" "network namespace" \
        "$PY" -c "
import socket, subprocess, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
r = subprocess.run(['$CTL', 'register', '$A', 's1', 'web', '--fd=%d' % s.fileno()], pass_fds=(s.fileno(),), capture_output=True, text=True)
sys.stderr.write(r.stderr); sys.exit(r.returncode)"
check_fails "register a TCP socket that is not listening: InvalidArgs" "not listening" \
        in_ns "$PY" -c "
import socket, subprocess, sys
s = socket.socket(); s.bind(('127.0.0.1', 0))
r = subprocess.run(['$CTL', 'register', '$A', 's1', 'web', '--fd=%d' % s.fileno()], pass_fds=(s.fileno(),), capture_output=True, text=True)
sys.stderr.write(r.stderr); sys.exit(r.returncode)"
check_fails "register a UDP socket for a tcp-only label: InvalidArgs" "only tcp" \
        in_ns "$PY" -c "
import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0))
r = subprocess.run(['$CTL', 'register', '$A', 's1', 'web', '--fd=%d' % s.fileno()], pass_fds=(s.fileno(),), capture_output=True, text=True)
sys.stderr.write(r.stderr); sys.exit(r.returncode)"
check_fails "unregister a label with no socket: InvalidArgs" "$INVALID" "$CTL" unregister "$A" s1 nosuchlabel
check_fails "SetBindings with a bad element names it, nothing changed" "Binding 1" \
        steer SetBindings "$A" s1 "[('tcp', '10.50.1.0/24', uint16 0, 'web'), ('tcp', '10.50.1.1/24', uint16 0, 'web')]"
check_fails "AddBinding with a wrong signature" "$INVALID" \
        dbus-send --system --print-reply --dest=org.netnslink1 /org/netnslink1 org.netnslink1.Steering.AddBinding \
        string:"$A" string:s1 string:tcp string:10.0.0.0/8 string:80 string:web
check_eq "after all the bad input the bindings are unchanged" "$N0" "$(n_bindings)"
check_eq "and traffic still flows" web4 "$(probe tcp 10.50.1.200 80)"
for f in '[{"protocol": "tcp", "prefix": "10.0.0.0/8", "port": 80}]|lacks key "label"' \
         '[{"protocol": "tcp", "prefix": "10.0.0.0/8", "port": 80, "label": "x", "extra": 1}]|unknown key "extra"' \
         '[{"protocol": "tcp", "prefix": "10.0.0.0/8", "port": "80", "label": "x"}]|"port" must be a number' \
         '[{"protocol": "tcp", "prefix": "10.0.0.0/8", "port": 70000, "label": "x"}]|from 0 (every port) to 65535' \
         '[{"protocol": "tcp", "prefix": "10.0.0.0/8", "port": 8.5, "label": "x"}]|integer' \
         '{"protocol": "tcp"}|expected an array' \
         '[{"protocol": "tcp",}]|line 1, column 21: string or' \
         '[1, 2|line 1, column 5: '"'"']'"'"' expected near end of file' \
         '[{"a": 1, "a": 2}]|duplicate object key' \
         '[tru]|invalid token near '"'"'tru'"'"'' \
         '[] x|end of file expected' \
         '[{"protocol": "tcp", "prefix": "10.0.0.0/8", "port": 80, "label": "bad label"}]|InvalidArgs'; do
        printf '%s' "${f%|*}" > "$T/bad.json"
        check_fails "load-bindings refuses ${f%|*}" "${f##*|}" "$CTL" load-bindings "$A" s1 "$T/bad.json"
done
check_fails "load-bindings of a missing file" "Cannot open" "$CTL" load-bindings "$A" s1 /nonexistent.json
check_eq "after the bad files the bindings are unchanged" "$N0" "$(n_bindings)"
check "the daemon is still up" daemon_alive

# --- Access: nobody may read but not change ----------------------------------
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
check "nobody may ListBindings" "${NOBODY[@]}" "$CTL" bindings "$A" s1
check "nobody may ListDestinations" "${NOBODY[@]}" "$CTL" destinations "$A" s1
check_fails "nobody may not AddBinding" org.freedesktop.DBus.Error.AccessDenied \
        "${NOBODY[@]}" "$CTL" bind "$A" s1 tcp 10.50.0.0/16 80 web
check_fails "nobody may not RemoveBinding" org.freedesktop.DBus.Error.AccessDenied \
        "${NOBODY[@]}" "$CTL" unbind "$A" s1 tcp 10.50.1.0/24 0
check_fails "nobody may not SetBindings" org.freedesktop.DBus.Error.AccessDenied \
        "${NOBODY[@]}" "$CTL" load-bindings "$A" s1 "$T/set-a.json"
check_fails "nobody may not UnregisterSocket" org.freedesktop.DBus.Error.AccessDenied \
        "${NOBODY[@]}" "$CTL" unregister "$A" s1 web
check_fails "nobody may not RegisterSocket" org.freedesktop.DBus.Error.AccessDenied \
        "${NOBODY[@]}" "$CTL" register "$A" s1 web --fd=0
check_eq "nothing changed for nobody" "$N0" "$(n_bindings)"

# --- Unregister, and a closed socket vanishes ---------------------------------
check "unregister web" "$CTL" unregister "$A" s1 web
check_eq "web's traffic now falls through" refused "$(probe tcp 10.50.1.9 80)"
check_eq "web has no socket" 0 "$(dest_get web tcp ipv4 socket_cookie)"
stop_servers
check_eq "a socket that closed shows as none" 0 "$(dest_get dns udp ipv4 socket_cookie)"
check "detach s1 and s2" bash -c "'$CTL' detach '$A' sk_lookup s1 && '$CTL' detach '$A' sk_lookup s2"
check "the steer map folders are gone" test ! -e "$PIN_ROOT/$INO/steer/s1"
check_fails "Steering on a detached link: NoSuchLink" org.netnslink1.Error.NoSuchLink "$CTL" bindings "$A" s1
check "attach s1 again" "$CTL" attach "$A" sk_lookup s1 builtin:steer
check_eq "the new s1 starts with no bindings (not the old link's maps)" 0 "$(n_bindings)"
check "bind on the new s1" "$CTL" bind "$A" s1 tcp 10.50.1.0/24 0 web
check_eq "the new s1 has exactly that binding" 1 "$(n_bindings)"
check "the binding is in the new link's pinned maps" test -e "$PIN_ROOT/$INO/steer/s1/prefixes"
# The same binding was made on the first s1 too: one line for each.
check_eq "the daemon logs one line per change naming netns, link and binding" 2 \
        "$(grep -c "Steering $A/s1: bound tcp 10.50.1.0/24 port 0 to label 'web'" "$T/daemon.log")"

# --- Bindings given with the Attach (program key "bindings") --------------------
B1="[('tcp', '10.50.3.0/24', uint16 0, 'web'), ('udp', '10.50.3.0/24', uint16 53, 'dns')]"
check "Attach with its first bindings" \
        mgr Attach "$A" sk_lookup s3 "{'builtin': <'steer'>, 'bindings': <$B1>}"
check_eq "... the link holds them" 2 "$(n_bindings s3)"
check "... and they steer: a server registered on web answers 10.50.3.9:80" \
        serve s3 web4,web,tcp,127.0.0.1,9003 --register "$CTL" "$A" s3
check_eq "... as the probe sees it" web4 "$(probe tcp 10.50.3.9 80)"
stop_servers
check "AttachMany with bindings for one element, none for the other" \
        mgr AttachMany "[('$A', 'sk_lookup', 's4', {'builtin': <'steer'>, 'bindings': <[('tcp', '10.50.4.0/24', uint16 80, 'web')]>}), ('$A', 'sk_lookup', 's5', {'builtin': <'steer'>})]"
check_eq "... the first holds its binding" 1 "$(n_bindings s4)"
check_eq "... the second none" 0 "$(n_bindings s5)"
check_fails "bindings with builtin:flow are refused" "goes with builtin:steer only" \
        mgr Attach "$A" flow_dissector f9 "{'builtin': <'flow'>, 'bindings': <$B1>}"
check_fails "a bad binding is refused, named" "Key 'bindings': Binding 0: Invalid prefix '10.50.3.0/33'" \
        mgr Attach "$A" sk_lookup s6 "{'builtin': <'steer'>, 'bindings': <[('tcp', '10.50.3.0/33', uint16 0, 'web')]>}"
check_fails "... and no link was made for it" NoSuchLink "$CTL" show "$A" sk_lookup s6
check_fails "a bad binding in one element refuses the whole AttachMany" "Element 1: Key 'bindings'" \
        mgr AttachMany "[('$A', 'sk_lookup', 's7', {'builtin': <'steer'>}), ('$A', 'sk_lookup', 's8', {'builtin': <'steer'>, 'bindings': <[('sctp', '10.0.0.0/8', uint16 0, 'x')]>})]"
check_fails "... and made neither link" NoSuchLink "$CTL" show "$A" sk_lookup s7
MANY=$(for i in $(seq 17); do printf "('tcp', '10.50.5.%d/32', uint16 80, 'web'), " "$i"; done)
check_fails "more than 16 bindings with an Attach are refused, saying to use SetBindings" \
        "At most 16 bindings go with an Attach; set more with SetBindings" \
        mgr Attach "$A" sk_lookup s9 "{'builtin': <'steer'>, 'bindings': <[${MANY%, }]>}"
check_fails "Update takes no bindings" "Key 'bindings' is for Attach and AttachMany only" \
        mgr Update "$A" sk_lookup s3 "{'builtin': <'steer'>, 'bindings': <$B1>}"
check_eq "... and s3 keeps its own" 2 "$(n_bindings s3)"
finish
