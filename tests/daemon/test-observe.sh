#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Seeing what runs (issue 18, items 1 and 2): QueryNetns / `query` lists
# every program at a netns's hooks, the daemon's or another tool's (a bare
# bpf_link_create by tests/daemon/foreign-attach.c, behind the daemon's
# back); `list` warns when another tool's program runs before one of the
# daemon's links; Explain / `explain` runs the live sk_lookup chain with
# BPF_PROG_TEST_RUN, and each answer is checked against where a real
# connection goes (tests/steer/steer-traffic.py names the socket that
# answers), and against the counters it says it moves.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"

FOREIGN="$NL_BUILD/tests/daemon/foreign-attach"
OBJ="$TEST_BPF/libtest_progs.bpf.o"

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
TRAFFIC_NS=$A

# explain_get KEY PROTO SRC DST: a key of the explanation, or of step N
# with KEY as N.KEY.
explain_get() {
        "$CTL" --json=short explain "$A" "$2" "$3" "$4" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
k = sys.argv[1]
if "." in k:
    n, k = k.split(".", 1)
    d = d["steps"][int(n) - 1]
v = d.get(k, "none")
print(str(v).lower() if isinstance(v, bool) else v)' "$1"
}
# explained PROTO SRC DST: "result label" of an explanation.
explained() { echo "$(explain_get result "$@") $(explain_get label "$@")"; }
# query_rows: the netns's programs as "type order prog_name owned name" lines.
query_rows() {
        "$CTL" --json=short query "$A" | "$PY" -c '
import json, sys
for p in json.load(sys.stdin):
    print(p["attach_type"], p["order"], p["prog_name"], str(p["owned"]).lower(), p.get("name", "-"))'
}
# query_first KEY: a key of the first program query lists.
query_first() { "$CTL" --json=short query "$A" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0][sys.argv[1]])' "$1"; }
# counter LABEL PROTO FAMILY KEY: a destination's counter.
counter() { dest_field "$A" s1 "$@"; }
# hits PREFIX PORT: a binding's hits.
hits() {
        "$CTL" --json=short bindings "$A" s1 | "$PY" -c '
import json, sys
print(sum(b["hits"] for b in json.load(sys.stdin) if (b["prefix"], str(b["port"])) == tuple(sys.argv[1:3])))' "$@"
}
# foreign NAME ARGS...: foreign-attach in the background, waited for.
foreign() {
        local name=$1; shift
        "$FOREIGN" "/run/netns/$A" "$T/foreign-$name" "$@" >>"$T/foreign-$name.log" 2>&1 &
        echo $! > "$T/foreign-$name.pid"
        for _ in $(seq 100); do [ -s "$T/foreign-$name" ] && return 0; sleep 0.05; done
        echo "foreign-attach $name did not attach: $(cat "$T/foreign-$name.log")" >&2
        return 1
}
unforeign() { local pid; pid=$(cat "$T/foreign-$1.pid"); kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; }

check "netns $A with lo up and local prefixes" local_prefixes
check "attach builtin:steer as s1" "$CTL" attach "$A" sk_lookup s1 builtin:steer
check "attach builtin:flow as f1" "$CTL" attach "$A" flow_dissector f1 builtin:flow
for b in "tcp 10.50.1.0/24 0 web" "tcp 10.50.1.0/24 443 tls" "tcp 10.50.0.0/17 0 wide" \
         "tcp fd00:50::/64 0 web" "udp 10.50.1.0/24 53 dns" "udp fd00:50::/64 53 dns" "tcp 10.50.2.0/24 0 nosock"; do
        check "bind $b" "$CTL" bind "$A" s1 $b
done
check "servers registered" serve main \
        web4,web,tcp,127.0.0.1,9000 web6,web,tcp,::1,9000 tls4,tls,tcp,127.0.0.1,9443 \
        wide4,wide,tcp,127.0.0.1,9100 dns4,dns,udp,127.0.0.1,9053 dns6,dns,udp,::1,9053 \
        plain,-,tcp,10.50.200.9,7000 plain8080,-,tcp,10.50.200.9,8080 --register "$CTL" "$A" s1

# --- QueryNetns: the daemon's own ----------------------------------------------
check_eq "query: s1 and f1, both owned" "sk_lookup 0 steer_lookup true s1
flow_dissector 0 flow_dissector true f1" "$(query_rows | sed 's/flow_dissector 0 [a-z_]* true f1/flow_dissector 0 flow_dissector true f1/')"
check "query prints a table with a legend" bash -c "'$CTL' query '$A' | grep -q '^TYPE.*OWNED' && '$CTL' query '$A' | grep -q '2 programs listed'"
check_eq "query's link_id is the link's" "$(ctl_get link_id show "$A" sk_lookup s1)" "$(query_first link_id)"
check_eq "query's prog_tag is the link's" "$(ctl_get prog_tag show "$A" sk_lookup s1)" "$(query_first prog_tag)"
check_fails "query of a netns that does not exist" org.netnslink1.Error.NoSuchNetns "$CTL" query nosuchnetns

# --- Explain with builtin:steer alone, against real traffic ----------------------
# explain_case DESC PROTO SRC DST WANT("result label") BINDING PROBE_ADDR PROBE_PORT PROBE_WANT
explain_case() {
        check_eq "explain $1: result and label" "$5" "$(explained "$2" "$3" "$4")"
        check_eq "explain $1: the binding that matched" "$6" "$(explain_get 1.binding "$2" "$3" "$4")"
        check_eq "explain $1: a real connection agrees" "$9" "$(probe "$2" "$7" "$8")"
}
explain_case "TCP/IPv4 port 0 binding" tcp 10.0.0.1:40000 10.50.1.7:80 "socket web" "tcp 10.50.1.0/24:0" 10.50.1.7 80 web4
explain_case "TCP/IPv4 a specific port over port 0" tcp 10.0.0.1:40000 10.50.1.7:443 "socket tls" "tcp 10.50.1.0/24:443" 10.50.1.7 443 tls4
explain_case "TCP/IPv4 the longest prefix" tcp 10.0.0.1:40000 10.50.3.3:80 "socket wide" "tcp 10.50.0.0/17:0" 10.50.3.3 80 wide4
explain_case "TCP/IPv6" tcp "[fd00::1]:40000" "[fd00:50::9]:22" "socket web" "tcp fd00:50::/64:0" fd00:50::9 22 web6
explain_case "TCP/IPv4-mapped IPv6 is IPv4" tcp "[::ffff:10.0.0.1]:40000" "[::ffff:10.50.1.7]:80" "socket web" "tcp 10.50.1.0/24:0" 10.50.1.7 80 web4
explain_case "UDP/IPv4" udp 10.0.0.1:40000 10.50.1.1:53 "socket dns" "udp 10.50.1.0/24:53" 10.50.1.1 53 dns4
explain_case "UDP/IPv6" udp "[fd00::1]:40000" "[fd00:50::1]:53" "socket dns" "udp fd00:50::/64:53" fd00:50::1 53 dns6
explain_case "a binding without a socket falls through" tcp 10.0.0.1:40000 10.50.2.2:80 "kernel-lookup " "tcp 10.50.2.0/24:0" 10.50.2.2 80 refused
explain_case "no binding: the kernel's own lookup" tcp 10.0.0.1:40000 10.50.200.9:7000 "kernel-lookup " none 10.50.200.9 7000 plain
check_eq "explain: the step is s1's, a pass with a socket" "s1 pass true" \
        "$(explain_get 1.name tcp 10.0.0.1:1 10.50.1.7:80) $(explain_get 1.verdict tcp 10.0.0.1:1 10.50.1.7:80) $(explain_get 1.socket_selected tcp 10.0.0.1:1 10.50.1.7:80)"
check "explain prints the steps and the result" bash -c "'$CTL' explain '$A' tcp 10.0.0.1:1 10.50.1.7:80 | grep -q '^ *Result: socket' && '$CTL' explain '$A' tcp 10.0.0.1:1 10.50.1.7:80 | grep -q '^1 .*s1 .*pass .*yes .*tcp 10.50.1.0/24:0 .*web'"
check_fails "explain refuses a bad address" org.freedesktop.DBus.Error.InvalidArgs "$CTL" explain "$A" tcp 10.0.0.1 10.50.1.7:80
check_fails "explain refuses mixed families" org.freedesktop.DBus.Error.InvalidArgs "$CTL" explain "$A" tcp "[fd00::1]:1" 10.50.1.7:80
check_fails "explain refuses another protocol" org.freedesktop.DBus.Error.InvalidArgs "$CTL" explain "$A" sctp 10.0.0.1:1 10.50.1.7:80

# --- What Explain moves: exactly one lookup's counters of the link it runs ------
L0=$(counter web tcp ipv4 lookups); M0=$(counter web tcp ipv4 misses); H0=$(hits 10.50.1.0/24 0)
T0=$(counter tls tcp ipv4 lookups); N0=$(counter nosock tcp ipv4 misses)
explain_get result tcp 10.0.0.1:1 10.50.1.7:80 >/dev/null
check_eq "explain moves the matched destination's lookups by one" "$((L0 + 1)) $M0" \
        "$(counter web tcp ipv4 lookups) $(counter web tcp ipv4 misses)"
check_eq "... and the matched binding's hits by one" "$((H0 + 1))" "$(hits 10.50.1.0/24 0)"
check_eq "... and nothing of another destination" "$T0 $N0" "$(counter tls tcp ipv4 lookups) $(counter nosock tcp ipv4 misses)"
explain_get result tcp 10.0.0.1:1 10.50.2.2:80 >/dev/null
check_eq "explain of a binding with no socket counts one miss" "$((N0 + 1))" "$(counter nosock tcp ipv4 misses)"

# --- Another tool's programs ------------------------------------------------------
check_eq "without another tool's program a connection reaches plain8080" plain8080 "$(probe tcp 10.50.200.9 8080)"
check "another tool attaches a program dropping port 8080 (after s1)" foreign drop drop 8080
read -r DROP_LINK DROP_PROG < "$T/foreign-drop"
check_eq "query: the foreign program shows, not owned, after s1" "sk_lookup 0 steer_lookup true s1
sk_lookup 1 foreign_drop false -" "$(query_rows | grep sk_lookup)"
check_eq "query: its program id" "$DROP_PROG" "$("$CTL" --json=short query "$A" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[1]["prog_id"])')"
check_eq "list: no warning while the foreign program runs after our link" "" "$("$CTL" list 2>&1 >/dev/null)"
explain_case "s1's socket wins over a later SK_DROP" tcp 10.0.0.1:40000 10.50.1.7:8080 "socket web" "tcp 10.50.1.0/24:0" 10.50.1.7 8080 web4
# What an operator sees (kept in the test's log).
"$CTL" query "$A" | sed 's/^/# /'
"$CTL" explain "$A" tcp 10.0.0.1:40000 10.50.1.7:8080 | sed 's/^/# /'
check_eq "explain: the foreign step drops and is not named" "drop " \
        "$(explain_get 2.verdict tcp 10.0.0.1:1 10.50.1.7:8080) $(explain_get 2.name tcp 10.0.0.1:1 10.50.1.7:8080)"
check_eq "explain: with no socket selected, the drop drops" "drop " "$(explained tcp 10.0.0.1:40000 10.50.200.9:8080)"
# The kernel answers a TCP lookup an sk_lookup program drops with a reset,
# although plain8080 listens there.
check_eq "... and a real connection is refused, though a socket listens there" refused "$(probe tcp 10.50.200.9 8080)"

check "another tool attaches a program selecting its own socket for TCP port 80" \
        foreign sel select tcp 127.0.0.1 9180 foreign 80
check_eq "explain: the later selection wins; its socket is no registered label" "socket " \
        "$(explained tcp 10.0.0.1:40000 10.50.1.7:80)"
check_eq "explain: three steps, the last one selects" "3 pass true" \
        "$("$CTL" --json=short explain "$A" tcp 10.0.0.1:1 10.50.1.7:80 | "$PY" -c 'import json,sys; s=json.load(sys.stdin)["steps"]; print(len(s), s[2]["verdict"], str(s[2]["socket_selected"]).lower())')"
check_eq "... and a real connection reaches that socket" foreign "$(probe tcp 10.50.1.7 80)"
check_eq "explain: TCP port 443 is still s1's" "socket tls" "$(explained tcp 10.0.0.1:40000 10.50.1.7:443)"

# A steer link after the selecting program: in the kernel it sees the
# socket chosen (ctx->sk) and steps aside; a test run cannot show it that
# socket, so Explain knows builtin:steer does so, and does not run it.
check "attach builtin:steer as s3, after the foreign programs" "$CTL" attach "$A" sk_lookup s3 builtin:steer
check "bind tcp 10.50.1.0/24 80 to late on s3" "$CTL" bind "$A" s3 tcp 10.50.1.0/24 80 late
check "a server for late, registered on s3" serve late late4,late,tcp,127.0.0.1,9280 --register "$CTL" "$A" s3
check_eq "explain: s3 steps aside, the foreign socket still wins" "socket  true false" \
        "$("$CTL" --json=short explain "$A" tcp 10.0.0.1:1 10.50.1.7:80 | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
s = d["steps"][3]
print(d["result"], d["label"], str(s["stepped_aside"]).lower(), str(s["socket_selected"]).lower())')"
check_eq "... as a real connection shows" foreign "$(probe tcp 10.50.1.7 80)"
check_eq "explain: port 81 is s1's (s3 binds port 80 only)" "socket web" \
        "$(explained tcp 10.0.0.1:1 10.50.1.7:81)"
LATE0=$("$CTL" --json=short destinations "$A" s3 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["lookups"])')
explain_get result tcp 10.0.0.1:1 10.50.1.7:80 >/dev/null
check_eq "a step that stepped aside moved no counter" "$LATE0" \
        "$("$CTL" --json=short destinations "$A" s3 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["lookups"])')"

check "attach a daemon link s2 after the foreign programs" "$CTL" attach "$A" sk_lookup s2 "$OBJ:sk_pass"
check_eq "query: s2 owned, in fifth place" "sk_lookup 4 sk_pass true s2" "$(query_rows | grep ' s2$')"
LIST_OUT=$("$CTL" list 2>/dev/null)
LIST_ERR=$("$CTL" list 2>&1 >/dev/null)
check_eq "list: one warning line on stderr" 1 "$(printf '%s\n' "$LIST_ERR" | grep -c .)"
check "list: the warning names the foreign program and our link" \
        bash -c "printf '%s' '$LIST_ERR' | grep -q 'program $DROP_PROG (foreign_drop) runs before link s3'"
check_eq "list: stdout is the same table as ever (no warning in it)" 0 "$(printf '%s\n' "$LIST_OUT" | grep -c -i warning)"
check_eq "list --json: stdout stays JSON" 4 "$("$CTL" --json=short list 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"

check "the foreign programs go" bash -c "$(declare -f unforeign); T=$T; unforeign drop; unforeign sel"
check_eq "query: only the daemon's again" "sk_lookup 0 steer_lookup true s1
sk_lookup 1 steer_lookup true s3
sk_lookup 2 sk_pass true s2" "$(query_rows | grep sk_lookup)"
check_eq "list: no warning any more" "" "$("$CTL" list 2>&1 >/dev/null)"

# --- Open to every caller, as GetLink ---------------------------------------------
check "QueryNetns as nobody" setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" query "$A"
check "Explain as nobody" setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" explain "$A" tcp 10.0.0.1:1 10.50.1.7:80

stop_servers
finish
