#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The kernel tier's checks, run inside the guest by
# netnslink-kernel-check.service (systemd is PID 1, netnslink is installed
# from its package). Results go to $OUT/results as TAP lines, ending with
# the plan line "1..N" once every check has run; logs (the daemon's journal,
# the end of dmesg, the verifier's log of a rejected built-in) go to
# $OUT/logs. The host reads both from the disk image after the guest has
# powered off (tests/kernels/run-kernel.sh). Each line is synced as it is
# written, so a guest that hangs half-way still tells how far it got.
set -u
LIB=/usr/local/lib/netnslink-kernel
OUT=/var/lib/netnslink-kernel
RESULTS=$OUT/results
LOGS=$OUT/logs
CTL=netnslinkctl
PY=/usr/bin/python3
TRAFFIC=$LIB/steer-traffic.py
OBJ=$LIB/bpf/kernel_tier.bpf.o
NS=kt
GONE=kt-gone
# kernel_tier.bpf.c's refuse_port drops connections to this port.
REFUSED_PORT=4242
TMP=$(mktemp -d)
N=0

mkdir -p "$OUT"
: >"$RESULTS"
: >"$LOGS"

emit() { printf '%s\n' "$@" | tee -a "$RESULTS"; sync "$RESULTS"; }
log_section() { { printf '\n===== %s\n' "$1"; shift; "$@" 2>&1; } >>"$LOGS"; sync "$LOGS"; }

# result OK DESC [DETAIL...]: one TAP line; a failure's details follow it
# as comments.
result() {
	local ok=$1 desc=$2
	shift 2
	N=$((N + 1))
	if [ "$ok" = 1 ]; then
		emit "ok $N - $desc"
	else
		emit "not ok $N - $desc"
		[ $# -gt 0 ] && emit "$(printf '%s\n' "$@" | sed 's/^/#   /')"
	fi
	return 0
}
# check DESC CMD...: CMD exits 0.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then result 1 "$desc"; else result 0 "$desc" "command: $*" "output: $out"; fi
}
# check_is DESC WANT GOT
check_is() {
	if [ "$2" = "$3" ]; then result 1 "$1"; else result 0 "$1" "expected: $2" "got:      $3"; fi
}
# refused_by_name DESC WANT CMD...: CMD fails and its words contain WANT.
refused_by_name() {
	local desc=$1 want=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		result 0 "$desc" "command: $*" "it succeeded: $out"
	elif [[ "$out" == *"$want"* ]]; then
		result 1 "$desc"
	else
		result 0 "$desc" "command: $*" "expected '$want' in: $out"
	fi
}

in_ns() { ip netns exec "$NS" "$@"; }
probe() { in_ns "$PY" "$TRAFFIC" probe "$@"; }
# serve NAME SPEC... [--register CTL NETNS LINK]: socket server(s) in the
# netns (tests/steer/steer-traffic.py), waited for until they serve.
serve() {
	local name=$1
	shift
	in_ns "$PY" "$TRAFFIC" serve "$TMP/ready-$name" "$@" >"$TMP/serve-$name.log" 2>&1 &
	for _ in $(seq 300); do [ -s "$TMP/ready-$name" ] && return 0; sleep 0.1; done
	cat "$TMP/serve-$name.log"
	return 1
}
daemon_prop() { systemctl show -P "$1" netnslinkd.service; }
# links: the daemon's links as "ino type name link_id prog_id" lines, sorted.
links() {
	"$CTL" --json=short list | "$PY" -c '
import json, sys
for l in sorted(json.load(sys.stdin), key=lambda l: (l["attach_type"], l["name"])):
    print(l["netns_ino"], l["attach_type"], l["name"], l["link_id"], l["prog_id"], l["defunct"])'
}
link_field() { "$CTL" --json=short show "$NS" "$1" "$2" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$3"; }
# kernel_runs LINK_ID PROG_ID: the kernel has that link, running that program.
kernel_runs() {
	[ "$(bpftool -j link show id "$1" 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])')" = "$2" ]
}
all_links_in_kernel() {
	local type name id prog
	while read -r _ type name id prog _; do
		kernel_runs "$id" "$prog" || { echo "link $type/$name id $id with program $prog is not in the kernel"; return 1; }
	done < <(links)
}
traffic() {
	echo "tcp4=$(probe tcp 10.60.1.7 80 10.60.1.200 443) tcp6=$(probe tcp fd00:60::7 80 fd00:60::ab:1 22)" \
		"udp4=$(probe udp 10.60.1.9 53) udp6=$(probe udp fd00:60::9 53) refused=$(probe tcp 127.0.0.1 $REFUSED_PORT)"
}
STEERED="tcp4=web4 web4 tcp6=web6 web6 udp4=dns4 udp6=dns6 refused=refused"
# no_crash: the daemon is active with the same main process as before.
no_crash() {
	[ "$(daemon_prop ActiveState)" = active ] || { echo "netnslinkd is $(daemon_prop ActiveState)"; return 1; }
	[ "$(daemon_prop MainPID)" = "$MAIN_PID" ] || { echo "MainPID $MAIN_PID became $(daemon_prop MainPID)"; return 1; }
}

emit "# kernel $(uname -r)"
emit "# $("$CTL" --version); installed by $(dpkg-query -W -f='${binary:Package} ${Version}' netnslink 2>/dev/null || echo 'cmake --install (no package)')"

# --- The packaged service starts on the first try ----------------------------
# If the package enabled the unit, boot made the first start (this unit is
# ordered after it) and a `systemctl start` now would hide its failure.
STATE=$(daemon_prop ActiveState)
if [ "$STATE" = inactive ]; then
	check "systemctl start netnslinkd (the first start)" systemctl start netnslinkd
else
	check_is "netnslinkd's first start, at boot (the package enabled it)" active "$STATE"
fi
check_is "netnslinkd is active" active "$(daemon_prop ActiveState)"
MAIN_PID=$(daemon_prop MainPID)
# At start the daemon logs what this kernel can do: "Kernel RELEASE: NAME
# yes, NAME no (needs Linux X.Y), ...". Nothing may be called missing that
# a kernel of this version has.
FEATURES=$(journalctl -b -u netnslinkd --no-pager -o cat | sed -n "s/^Kernel $(uname -r): //p" | head -n 1)
features_plausible() {
	local item need have
	have=$(uname -r | cut -d. -f1,2)
	[ -n "$FEATURES" ] || { echo "no 'Kernel $(uname -r): ...' line in the journal"; return 1; }
	while IFS= read -r item; do
		need=$(sed -n 's/.* no (needs Linux \([0-9.]*\))$/\1/p' <<<"$item")
		if [[ "$item" == *" no"* ]] && { [ -z "$need" ] || [ "$(printf '%s\n' "$need" "$have" | sort -V | head -n 1)" = "$need" ]; }; then
			echo "'$item' on Linux $have"
			return 1
		fi
	done < <(sed 's/, /\n/g' <<<"$FEATURES")
}
check "the daemon logs what this kernel can do: ${FEATURES:-nothing}" features_plausible

setup_netns() {
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
		ip -n "$NS" route add local 10.60.0.0/16 dev lo table local &&
		ip -n "$NS" -6 route add local fd00:60::/64 dev lo table local
}
check "netns $NS with lo up and local prefixes 10.60.0.0/16, fd00:60::/64" setup_netns

# --- The built-ins and an object file ------------------------------------------
if out=$("$CTL" attach "$NS" sk_lookup s1 builtin:steer 2>&1); then
	result 1 "attach builtin:steer"
else
	result 0 "attach builtin:steer" "$out"
	# The daemon's message carries the verifier's last lines; the whole log
	# is in the logs, from the same object loaded by bpftool.
	log_section "verifier: bpftool prog loadall steer.bpf.o" bpftool prog loadall "$LIB/bpf/steer.bpf.o" /sys/fs/bpf/kt-steer
fi
if out=$("$CTL" attach "$NS" flow_dissector flow builtin:flow 2>&1); then
	result 1 "attach builtin:flow"
else
	result 0 "attach builtin:flow" "$out"
	log_section "verifier: bpftool prog loadall flow.bpf.o" bpftool prog loadall "$LIB/bpf/flow.bpf.o" /sys/fs/bpf/kt-flow
fi
check "a plain listener on 127.0.0.1:$REFUSED_PORT" serve plain "plain,-,tcp,127.0.0.1,$REFUSED_PORT"
check_is "it answers before the object is attached" plain "$(probe tcp 127.0.0.1 $REFUSED_PORT)"
check "attach an object file (kernel_tier.bpf.o:refuse_port)" "$CTL" attach "$NS" sk_lookup obj "$OBJ:refuse_port"
check_is "the kernel runs the object's program: port $REFUSED_PORT is refused" refused "$(probe tcp 127.0.0.1 $REFUSED_PORT)"

# --- Steered TCP and UDP, IPv4 and IPv6 ------------------------------------------
bind_all() {
	"$CTL" bind "$NS" s1 tcp 10.60.1.0/24 0 web && "$CTL" bind "$NS" s1 tcp fd00:60::/64 0 web &&
		"$CTL" bind "$NS" s1 udp 10.60.1.0/24 53 dns && "$CTL" bind "$NS" s1 udp fd00:60::/64 53 dns
}
check "bind tcp 10.60.1.0/24 and fd00:60::/64 (every port) to web, udp port 53 of both to dns" bind_all
check "servers registered with register --fd" serve main \
	web4,web,tcp,127.0.0.1,9000 web6,web,tcp,::1,9000 dns4,dns,udp,127.0.0.1,9053 dns6,dns,udp,::1,9053 \
	--register "$CTL" "$NS" s1
check_is "TCP/IPv4 to 10.60.1.7:80 and 10.60.1.200:443 reaches web4" "web4 web4" "$(probe tcp 10.60.1.7 80 10.60.1.200 443)"
check_is "TCP/IPv6 to [fd00:60::7]:80 and [fd00:60::ab:1]:22 reaches web6" "web6 web6" "$(probe tcp fd00:60::7 80 fd00:60::ab:1 22)"
check_is "UDP/IPv4 to 10.60.1.9:53 reaches dns4" dns4 "$(probe udp 10.60.1.9 53)"
check_is "UDP/IPv6 to [fd00:60::9]:53 reaches dns6" dns6 "$(probe udp fd00:60::9 53)"
check_is "TCP to an unbound address falls through to the kernel's lookup" refused "$(probe tcp 10.60.9.9 80)"
check "bind tcp 10.60.2.0/24 to bypid" "$CTL" bind "$NS" s1 tcp 10.60.2.0/24 0 bypid
check "a process with a listener that nobody registered" serve pid bypid,-,tcp,127.0.0.3,9100
check "register-pid takes its socket (pidfd_getfd, Linux 5.6)" "$CTL" register-pid "$NS" s1 bypid "$(cat "$TMP/ready-pid")"
check_is "and traffic reaches it" bypid "$(probe tcp 10.60.2.5 80)"

# --- Update and replace (BPF_LINK_UPDATE, BPF_F_REPLACE) ---------------------------
check "update obj to pass_all" "$CTL" update "$NS" sk_lookup obj "$OBJ:pass_all"
check_is "the kernel swapped the program: port $REFUSED_PORT answers again" plain "$(probe tcp 127.0.0.1 $REFUSED_PORT)"
PASS_ID=$(link_field sk_lookup obj prog_id 2>/dev/null)
refused_by_name "replace with a wrong --expect is ProgramMismatch" org.netnslink1.Error.ProgramMismatch \
	"$CTL" replace "$NS" sk_lookup obj --expect=$((PASS_ID + 100000)) "$OBJ:refuse_port"
check "replace with the right --expect" "$CTL" replace "$NS" sk_lookup obj --expect="$PASS_ID" "$OBJ:refuse_port"
check_is "port $REFUSED_PORT is refused again" refused "$(probe tcp 127.0.0.1 $REFUSED_PORT)"

# --- Restarts keep the links ----------------------------------------------------
BEFORE=$(links)
log_section "links before the restarts" echo "$BEFORE"
check "every link the daemon lists is in the kernel, running its program" all_links_in_kernel
check "systemctl stop netnslinkd" systemctl stop netnslinkd
check_is "traffic is steered while the daemon is down" "$STEERED" "$(traffic)"
check "systemctl start netnslinkd" systemctl start netnslinkd
check_is "the same links, link ids and programs after stop and start" "$BEFORE" "$(links)"
OLD_PID=$(daemon_prop MainPID)
check "systemctl restart netnslinkd" systemctl restart netnslinkd
MAIN_PID=$(daemon_prop MainPID)
check "a new daemon process serves ($OLD_PID -> $MAIN_PID)" test "$MAIN_PID" != "$OLD_PID" -a "$MAIN_PID" != 0
check_is "the same links, link ids and programs after the restart" "$BEFORE" "$(links)"
check "the kernel still runs each link with its program" all_links_in_kernel
check_is "traffic is steered after the restart" "$STEERED" "$(traffic)"
check "bindings still listed after the restart" bash -c "'$CTL' bindings '$NS' s1 | grep -q 10.60.1.0/24"

# --- A netns that goes away --------------------------------------------------------
check "attach builtin:flow in netns $GONE" bash -c "ip netns add '$GONE' && '$CTL' attach '$GONE' flow_dissector flow builtin:flow"
GONE_INO=$(stat -L -c %i "/run/netns/$GONE" 2>/dev/null)
GONE_LINK=$(links | awk -v ino="$GONE_INO" '$1 == ino { print $4 }')
# The kernel detaches a netns's links when it dies; the daemon notices
# (LinkDefunct), unpins the link and lists it no more.
dropped_when_gone() {
	ip netns del "$GONE" || return 1
	local end=$((SECONDS + 30))
	while [ $SECONDS -lt $end ]; do
		if ! links | grep -q "^$GONE_INO "; then
			bpftool link show id "$GONE_LINK" >/dev/null 2>&1 || return 0
		fi
		sleep 1
	done
	echo "after 30 s: $(links | grep "^$GONE_INO "); kernel: $(bpftool link show id "$GONE_LINK" 2>&1)"
	return 1
}
check "deleting netns $GONE: the daemon drops its link, the kernel's link ${GONE_LINK:-?} is gone" dropped_when_gone

# --- Features that depend on the kernel -----------------------------------------------
# A feature this kernel lacks must be refused with words that name the
# kernel and the version it needs, and the daemon must live on. A verb this
# netnslinkctl does not have yet is reported as skipped.
gated() {
	local desc=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [[ "$out" == "Unknown command"* ]]; then
		N=$((N + 1))
		emit "ok $N - $desc # SKIP netnslinkctl has no '$2' command yet"
	elif [ $rc -eq 0 ]; then
		result 1 "$desc (works on this kernel)"
	elif [[ "$out" =~ ([Kk]ernel|Linux)[[:space:]]*(version[[:space:]]*)?(>=[[:space:]]*)?[0-9]+\.[0-9]+ ]]; then
		result 1 "$desc (refused, naming the kernel: $out)"
	else
		result 0 "$desc: refused without naming the kernel version it needs" "command: $*" "output: $out"
	fi
}
gated "explain (needs sk_lookup test runs: BPF_PROG_TEST_RUN)" "$CTL" explain "$NS" tcp 10.60.9.1:40000 10.60.1.7:80
gated "query" "$CTL" query "$NS"
gated "metrics" "$CTL" metrics
check "netnslinkd neither crashed nor restarted through all of it" no_crash
check_is "systemd counts no automatic restart of netnslinkd" 0 "$(daemon_prop NRestarts)"
check "the daemon's journal has no crash" bash -c "! journalctl -b -u netnslinkd --no-pager | grep -Ei 'dumped core|code=killed|code=dumped|SIGSEGV|SIGABRT|AddressSanitizer'"

# --- Detach leaves nothing ---------------------------------------------------------------
IDS=$(links | awk '$6 == "False" { print $4 }')
detach_all() {
	"$CTL" detach "$NS" sk_lookup obj && "$CTL" detach "$NS" sk_lookup s1 && "$CTL" detach "$NS" flow_dissector flow
}
check "detach obj, s1 and flow" detach_all
gone_from_kernel() {
	local id
	for id in $IDS; do bpftool link show id "$id" >/dev/null 2>&1 && { echo "link $id is still in the kernel"; return 1; }; done
	return 0
}
check "their kernel links are gone" gone_from_kernel

log_section "netnslinkd's journal" journalctl -b -u netnslinkd --no-pager -o short-monotonic
log_section "bpftool link list" bpftool link list
log_section "dmesg (the end)" bash -c 'dmesg | tail -n 60'
emit "1..$N"
rm -rf "$TMP"
sync
