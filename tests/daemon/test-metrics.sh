#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# netnslinkctl metrics (issue 18, item 3): the Prometheus text exposition of
# Manager.Metrics, checked by promtool (Debian's prometheus package) and a strict format
# checker of ours; its counters move with real traffic through a steer link;
# operation counts per method and result; and the HTTP answer of
# `netnslinkctl metrics --http`, on stdin/stdout and through
# systemd-socket-activate as netnslink-metrics.socket runs it (Accept=yes).
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"

CHECK="$NL_SOURCE/tests/harness/check-metrics.py"
start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
TRAFFIC_NS=$A

metrics() { "$CTL" metrics > "$T/metrics.txt" 2>&1; }
well_formed() {
        metrics || return 1
        "$PY" "$CHECK" < "$T/metrics.txt" || return 1
        promtool check metrics < "$T/metrics.txt"
}
# value NAME LABELS-REGEX: the sample's value (0 if absent).
value() {
        metrics
        awk -v n="$1" -v re="$2" '$1 ~ ("^" n "\\{") && $1 ~ re { print $2; f = 1 } END { if (!f) print 0 }' \
                "$T/metrics.txt" | head -n 1
}
# Prometheus's own checker (scripts/install-deps.sh installs it), and ours.
check "promtool is installed (Debian's prometheus package)" command -v promtool

check "metrics with no links is well formed" well_formed
check "the strict checker refuses a sample without TYPE" \
        bash -c "! printf 'netnslink_x 1\n' | '$PY' '$CHECK' >/dev/null"
check "the strict checker refuses a series twice" \
        bash -c "! printf '# HELP netnslink_x_total x\n# TYPE netnslink_x_total counter\nnetnslink_x_total{a=\"1\"} 1\nnetnslink_x_total{a=\"1\"} 2\n' | '$PY' '$CHECK' >/dev/null"

check "netns $A with local prefixes" local_prefixes
check "attach builtin:steer as s1" "$CTL" attach "$A" sk_lookup s1 builtin:steer
check "attach a second steer link s2" "$CTL" attach "$A" sk_lookup s2 builtin:steer
check "bind tcp 10.50.1.0/24 to web" "$CTL" bind "$A" s1 tcp 10.50.1.0/24 0 web
check "bind tcp fd00:50::/64 to web" "$CTL" bind "$A" s1 tcp fd00:50::/64 0 web
check "bind tcp 10.50.2.0/24 to nobody (no socket: misses)" "$CTL" bind "$A" s1 tcp 10.50.2.0/24 0 nobody
check "servers registered" serve main web4,web,tcp,127.0.0.1,9000 web6,web,tcp,::1,9000 \
        --register "$CTL" "$A" s1
check "metrics with steer links is well formed" well_formed
check_eq "links per netns and type: 2 sk_lookup links in $A" 2 "$(value netnslink_links "netns=\"$A\",type=\"sk_lookup\"")"

W='link="s1",label="web",protocol="tcp",family="ipv4"'
L0=$(value netnslink_steer_lookups_total "$W")
H0=$(value netnslink_steer_binding_hits_total 'prefix="10.50.1.0/24"')
M0=$(value netnslink_steer_misses_total 'label="nobody"')
check_eq "three connections reach web" "web4 web4 web4" "$(probe tcp 10.50.1.5 1000 10.50.1.6 1001 10.50.1.7 1002)"
probe tcp 10.50.2.1 80 10.50.2.2 80 >/dev/null
L1=$(value netnslink_steer_lookups_total "$W")
H1=$(value netnslink_steer_binding_hits_total 'prefix="10.50.1.0/24"')
M1=$(value netnslink_steer_misses_total 'label="nobody"')
log "lookups $L0 -> $L1, binding hits $H0 -> $H1, misses of nobody $M0 -> $M1"
check_eq "netnslink_steer_lookups_total of web/tcp/ipv4 moved by 3" 3 "$((L1 - L0))"
check_eq "netnslink_steer_binding_hits_total of 10.50.1.0/24 moved by 3" 3 "$((H1 - H0))"
check_eq "netnslink_steer_misses_total of nobody moved by 2" 2 "$((M1 - M0))"

A0=$(value netnslink_operations_total 'method="Attach",result="ok"')
E0=$(value netnslink_operations_total 'method="Attach",result="error"')
check "attach s3" "$CTL" attach "$A" sk_lookup s3 builtin:steer
check_fails "attach s3 again fails" LinkExists "$CTL" attach "$A" sk_lookup s3 builtin:steer
check_eq "operations: Attach ok moved by 1" 1 "$(( $(value netnslink_operations_total 'method="Attach",result="ok"') - A0 ))"
check_eq "operations: Attach error moved by 1" 1 "$(( $(value netnslink_operations_total 'method="Attach",result="error"') - E0 ))"

# A netns with no process in it (A has the servers), deleted.
B=$(make_netns b)
defunct() { metrics; awk '$1 == "netnslink_links_defunct_total" { print $2 }' "$T/metrics.txt"; }
check "attach two links in $B" bash -c "'$CTL' attach '$B' sk_lookup b1 builtin:steer && '$CTL' attach '$B' sk_lookup b2 builtin:steer"
D0=$(defunct)
check_eq "netnslink_links counts them" 2 "$(value netnslink_links "netns=\"$B\",type=\"sk_lookup\"")"
ip netns del "$B"
for _ in $(seq 50); do [ "$(value netnslink_links "netns=\"$B\"")" = 0 ] && break; sleep 0.1; done
D1=$(defunct)
log "defunct: $D0 -> $D1"
check_eq "netnslink_links_defunct_total counts the 2 links of the deleted netns" 2 "$((D1 - D0))"
check "metrics after the netns died is well formed" well_formed

# --- HTTP ---------------------------------------------------------------------
http() { printf '%b' "$1" | "$CTL" metrics --http; }
check "GET /metrics answers 200 with the exposition" \
        bash -c "printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' | '$CTL' metrics --http > '$T/http.txt'; head -n 1 '$T/http.txt' | grep -q '^HTTP/1.1 200 OK' && grep -q '^Content-Type: text/plain; version=0.0.4' '$T/http.txt' && grep -q '^netnslink_links_defunct_total ' '$T/http.txt'"
check "GET /metrics: the body is well formed" bash -c "sed '1,/^\r\$/d' '$T/http.txt' | '$PY' '$CHECK'"
check "GET /other answers 404" bash -c "printf 'GET /other HTTP/1.1\r\n\r\n' | '$CTL' metrics --http | head -n 1 | grep -q '^HTTP/1.1 404 '"
check "POST /metrics answers 405 with Allow" bash -c "printf 'POST /metrics HTTP/1.1\r\n\r\n' | '$CTL' metrics --http > '$T/post.txt'; head -n 1 '$T/post.txt' | grep -q '^HTTP/1.1 405 ' && grep -q '^Allow: GET, HEAD' '$T/post.txt'"
check "garbage answers 400" bash -c "printf 'hello\r\n\r\n' | '$CTL' metrics --http | head -n 1 | grep -q '^HTTP/1.1 400 '"

# As netnslink-metrics.socket runs it: a connection per instance, on stdin/stdout.
PORT=$((20000 + RANDOM % 20000))
systemd-socket-activate -l "127.0.0.1:$PORT" --inetd -E DBUS_SYSTEM_BUS_ADDRESS -a "$CTL" metrics --http >"$T/activate.log" 2>&1 &
ACT=$!
get() {
        "$PY" - "$PORT" "$1" <<'PYEOF'
import socket, sys
for _ in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5); break
    except OSError:
        import time; time.sleep(0.1)
s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % sys.argv[2]).encode())
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
sys.stdout.write(data.decode())
PYEOF
}
check "socket-activated GET /metrics answers 200" bash -c "$(declare -f get); PORT=$PORT PY=$PY; get /metrics | head -n 1 | grep -q '200 OK'"
check "socket-activated: a second connection is served too, 404 for /" bash -c "$(declare -f get); PORT=$PORT PY=$PY; get / | head -n 1 | grep -q '404'"
log "systemd-socket-activate: $(tr '\n' ' ' < "$T/activate.log")"
kill "$ACT" 2>/dev/null
wait "$ACT" 2>/dev/null
finish
