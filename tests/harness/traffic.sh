# SPDX-License-Identifier: LGPL-2.1-or-later
# Real traffic for the steering tests, sourced after harness.sh: socket
# servers and probes in the netns $TRAFFIC_NS, through
# tests/steer/steer-traffic.py (whose answers name the socket that answered).

PY=/usr/bin/python3
TRAFFIC="$NL_SOURCE/tests/steer/steer-traffic.py"

in_ns() { ip netns exec "$TRAFFIC_NS" "$@"; }
# probe PROTO ADDR PORT...: what answered each target, space-separated.
probe() { in_ns "$PY" "$TRAFFIC" probe "$@"; }
# serve NAME SPEC... [--register ...]: a socket server in the netns, waited for.
serve() {
        local name=$1; shift
        rm -f "$T/ready-$name"
        # Not on our stdout: check's $(...) would wait for the server to end.
        in_ns "$PY" "$TRAFFIC" serve "$T/ready-$name" "$@" >>"$T/serve-$name.log" 2>&1 &
        for _ in $(seq 100); do [ -s "$T/ready-$name" ] && return 0; sleep 0.05; done
        echo "server $name did not start: $(cat "$T/serve-$name.log")" >&2
        return 1
}
server_pid() { cat "$T/ready-$1"; }
# serve runs inside check's $(...): the ready files are what remembers servers.
stop_servers() {
        local f pid
        for f in "$T"/ready-*; do
                [ -e "$f" ] || continue
                pid=$(cat "$f")
                kill "$pid" 2>/dev/null
                while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
                rm -f "$f"
        done
}
# local_prefixes: lo up, 10.50.0.0/16 and fd00:50::/64 local to the netns,
# so that any of their addresses can be connected to and only sk_lookup
# decides which socket answers.
local_prefixes() {
        ip -n "$TRAFFIC_NS" link set lo up &&
        ip -n "$TRAFFIC_NS" route add local 10.50.0.0/16 dev lo table local &&
        ip -n "$TRAFFIC_NS" -6 route add local fd00:50::/64 dev lo table local
}
# dest_field NETNS LINK LABEL PROTO FAMILY KEY: a field or counter of one
# destination of a steer link, "none" if it has no such destination.
dest_field() {
        "$CTL" --json=short destinations "$1" "$2" | "$PY" -c '
import json, sys
for d in json.load(sys.stdin):
    if (d["label"], d["protocol"], d["family"]) == tuple(sys.argv[1:4]):
        print(d[sys.argv[4]]); break
else:
    print("none")' "${@:3}"
}
