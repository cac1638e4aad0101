#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Steering's answers say what is, not what was asked or what an errno is:
#  - SetBindings' total counts a binding named twice once;
#  - a registered TCP listener that was shut down (shutdown(2) SHUT_RDWR):
#    the kernel keeps it in the link's sockmap until it is closed, no
#    longer listening, so it takes no connection. ListDestinations says so
#    (socket_state not-listening, has_socket false, the cookie still the
#    kernel's), and lookups that match it fall through to the kernel's own
#    lookup, counted as misses, not errors; listening again makes it
#    steered again, closing it removes it;
#  - a registered UDP socket connected since: the same, state connected.
source "$NL_SOURCE/tests/harness/harness.sh"

PY=/usr/bin/python3

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
in_ns() { ip netns exec "$A" "$@"; }
steer() { gdbus call --system --dest org.netnslink1 --object-path /org/netnslink1 \
                --method "org.netnslink1.Steering.$1" -- "${@:2}"; }

setup() {
        ip -n "$A" link set lo up && ip -n "$A" route add local 10.50.0.0/16 dev lo table local
}
check "netns $A with lo up and 10.50.0.0/16 local" setup
check "attach builtin:steer" "$CTL" attach "$A" sk_lookup s1 builtin:steer

# --- SetBindings' total ------------------------------------------------------
check_eq "SetBindings naming a binding three times counts it once in total" "2 2" \
        "$(steer SetBindings "$A" s1 "[('tcp', '10.50.1.0/24', uint16 0, 'web'), ('tcp', '10.50.1.0/24', uint16 0, 'web'),
                                     ('udp', '10.50.2.0/24', uint16 53, 'dns'), ('tcp', '10.50.1.0/24', uint16 0, 'web')]" |
           grep -o "'added': <uint32 [0-9]*>\|'total': <uint32 [0-9]*>" | grep -o '[0-9]*>' | tr -d '>' | tr '\n' ' ' | sed 's/ $//')"
check_eq "... as ListBindings does" 2 \
        "$("$CTL" --json=short bindings "$A" s1 | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# --- Sockets that stay registered but take nothing ------------------------------
# A server in the netns, driven through a FIFO: it registers a TCP listener
# (web) and a UDP socket (dns), then does what it is told; each step's end
# is written to $T/step. A plain listener on 10.50.1.1:80 answers whatever
# the steer link lets fall through.
mkfifo "$T/cmd"
cat >"$T/server.py" <<'EOF'
import os, socket, subprocess, sys, threading
ctl, ns, step = sys.argv[1], sys.argv[2], sys.argv[3]

def answer(sock, word):
    while True:
        try:
            c, _ = sock.accept()
        except OSError:
            return
        c.sendall(word)
        c.close()

def done(what):
    with open(step + ".tmp", "w") as f:
        f.write(what)
    os.rename(step + ".tmp", step)

plain = socket.socket(); plain.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
plain.bind(("10.50.1.1", 80)); plain.listen()
threading.Thread(target=answer, args=(plain, b"plain"), daemon=True).start()
web = socket.socket(); web.bind(("127.0.0.1", 9000)); web.listen()
threading.Thread(target=answer, args=(web, b"steered"), daemon=True).start()
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); dns.bind(("127.0.0.1", 9053))
for label, s in (("web", web), ("dns", dns)):
    subprocess.run([ctl, "register", ns, "s1", label, "--fd=%d" % s.fileno()], pass_fds=[s.fileno()], check=True)
done("registered")
for line in open(sys.argv[4]):
    cmd = line.strip()
    if cmd == "shutdown":
        web.shutdown(socket.SHUT_RDWR)
    elif cmd == "listen":
        web.listen()
        threading.Thread(target=answer, args=(web, b"steered"), daemon=True).start()
    elif cmd == "close":
        # shutdown first: a thread blocked in accept() holds the socket
        # open past close() until it returns
        web.shutdown(socket.SHUT_RDWR)
        web.close()
    elif cmd == "connect":
        dns.connect(("127.0.0.1", 9))
    done(cmd)
EOF
in_ns "$PY" "$T/server.py" "$CTL" "$A" "$T/step" "$T/cmd" >"$T/server.log" 2>&1 &
SERVER=$!
exec 7>"$T/cmd"
wait_step() { for _ in $(seq 100); do [ "$(cat "$T/step" 2>/dev/null)" = "$1" ] && return 0; sleep 0.05; done; return 1; }
do_step() { echo "$1" >&7; wait_step "$1"; }
check "the server registered its sockets" wait_step registered

# probe: what answers a connection to 10.50.1.1:80.
probe() {
        in_ns "$PY" -c '
import socket
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("10.50.1.1", 80)); print(s.recv(16).decode() or "closed")
except OSError as e:
    print(type(e).__name__)'
}
# dest KEY...: fields of the web destination, space-separated.
dest() {
        "$CTL" --json=short destinations "$A" s1 | $PY -c '
import json, sys
for d in json.load(sys.stdin):
    if d["label"] == sys.argv[1]:
        print(" ".join(str(d[k]) for k in sys.argv[2:]))' "$@"
}

check_eq "a listening socket is steered to" steered "$(probe)"
check_eq "... and listed as listening" "listening True" "$(dest web socket_state has_socket)"
COOKIE=$(dest web socket_cookie)

check "shut the listener down (SHUT_RDWR), keeping its fd open" do_step shutdown
check_eq "the kernel keeps it in the sockmap: the same cookie is listed" "$COOKIE" "$(dest web socket_cookie)"
check_eq "... as not listening, and not as a socket of the destination" "not-listening False" \
        "$(dest web socket_state has_socket)"
check "netnslinkctl destinations shows the state" bash -c '"$1" destinations "$2" s1 | grep -q "not-listening"' _ "$CTL" "$A"
read -r LOOKUPS MISSES ERRORS <<<"$(dest web lookups misses errors)"
check_eq "a connection falls through to the kernel's lookup" plain "$(probe)"
check_eq "... counted as a miss, not an error" "$((LOOKUPS + 1)) $((MISSES + 1)) $ERRORS" "$(dest web lookups misses errors)"

check "listen on it again" do_step listen
check_eq "... and it is steered to again" steered "$(probe)"
check_eq "... listed as listening" "listening True" "$(dest web socket_state has_socket)"

check "connect the registered UDP socket" do_step connect
check_eq "a connected UDP socket is listed as connected, not as a socket of the destination" "connected False" \
        "$(dest dns socket_state has_socket)"

check "close the listener" do_step close
check_eq "once closed the kernel drops it: no socket, no state" "0 False" "$(dest web socket_cookie has_socket)"
check_eq "... and a connection falls through" plain "$(probe)"

exec 7>&-
wait $SERVER
check_invariants "pins, ListLinks and the kernel agree"

finish
