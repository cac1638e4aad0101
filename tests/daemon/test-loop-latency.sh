#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Nothing one client sends stalls the others (issue 15, defect 3): GetLink
# keeps answering while another client's call runs, each of:
#   - AttachMany of 300 builtin:steer links (each loads in a child; the
#     loop only watches them),
#   - a SetBindings that adds 4,095 labels,
#   - an Attach whose object_fd is a file whose read never ends (FUSE): the
#     read runs in the loader child, and the request fails, naming the
#     object and what happened, once the read timed out.
# The target is p99 < 50 ms on a quiet machine; ctest runs tests side by
# side, so the bound judged here is MAX_P99_MS (250 ms), and the measured
# figure is printed. Then nothing is left: no loader child, no fd more.
#
# The SetBindings is judged by the same bound: it runs off the loop
# (src/daemon/steer-set-job.h), its set written by a thread and the larger
# program its link grows to (4,095 labels need the tier of 4,096
# destinations) loaded by a child; the loop only parses it, moves the link
# to the new maps and answers. On the loop it stalled GetLink 250 to 460 ms
# on a busy 2-core machine: most of it in the kernel (batch writes and
# reads of whole steer maps), the rest the growth's program load.
source "$NL_SOURCE/tests/harness/harness.sh"

MAX_P99_MS=${MAX_P99_MS:-250}
N=${N_STEER:-300}
# NL_BUS_BENCH: a newer sampler, to measure an older build (NL_BUILD).
CLIENT=${NL_BUS_BENCH:-$NL_BUILD/bench/daemon/nl-bus-bench}
OBJ="$TEST_BPF/libtest_progs.bpf.o"
PY=/usr/bin/python3

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
check "attach the probed link" "$CTL" attach "$A" sk_lookup probe "$OBJ:sk_pass"

# latency DESC PID: GetLink of probe, judged, while PID runs.
latency() {
        local out max=$MAX_P99_MS
        out=$("$CLIENT" latency --while-pid="$2" --max-p99-ms="$max" "$A" probe 2>&1)
        local rc=$?
        log "$1: $out"
        if [ $rc = 0 ]; then pass "GetLink p99 under $max ms during $1"; else fail "GetLink p99 under $max ms during $1" "$out"; fi
}
n_children() { pgrep -P "$DAEMON_PID" | wc -l; }
n_fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }

# --- AttachMany of N builtin:steer links ---------------------------------------
"$CLIENT" mknetns lat "$N" > "$T/netns" || fail "make $N netns"
elems=""
while read -r ns; do
        elems+="${elems:+, }('$ns', 'sk_lookup', 'st', {'builtin': <'steer'>})"
done < "$T/netns"
gdbus call --system --timeout=900 --dest org.netnslink1 --object-path /org/netnslink1 \
        --method org.netnslink1.Manager.AttachMany -- "[$elems]" > "$T/many.out" 2>&1 &
MANY=$!
latency "AttachMany of $N builtin:steer links" "$MANY"
RC=0; wait "$MANY" || RC=$?
check_eq "... which attaches them all" "0 $N" "$RC $("$CTL" --json=short list | $PY -c 'import json,sys; print(sum(l["name"] == "st" for l in json.load(sys.stdin)))')"

# --- SetBindings adding 4,095 labels -------------------------------------------
check "attach steer link sb" "$CTL" attach "$A" sk_lookup sb builtin:steer
"$PY" -c '
import json
print(json.dumps([{"protocol": "tcp", "prefix": "10.%d.%d.0/24" % (i // 256, i % 256), "port": 0,
                   "label": "l%d" % i} for i in range(4095)]))' > "$T/labels.json"
"$CTL" load-bindings "$A" sb "$T/labels.json" > "$T/bind.out" 2>&1 &
BIND=$!
latency "a SetBindings adding 4,095 labels" "$BIND"
RC=0; wait "$BIND" || RC=$?
check_eq "... which binds them all" "0 4095" \
        "$RC $("$CTL" --json=short bindings "$A" sb | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# --- An Attach whose object_fd never delivers its bytes ----------------------
check_eq "no loader child is left" 0 "$(n_children)"
FUSE_DIR="$T/fuse"
mkdir -p "$FUSE_DIR"
/usr/bin/python3 "$NL_SOURCE/tests/daemon/stall-fs.py" "$FUSE_DIR" 2>"$T/fuse.log" &
FUSE_PID=$!
for _ in $(seq 100); do [ -f "$FUSE_DIR/obj" ] && break; sleep 0.05; done
if [ -f "$FUSE_DIR/obj" ]; then
        FDS0=$(n_fds)
        "$CTL" attach "$A" sk_lookup stalled "$FUSE_DIR/obj:sk_pass" > "$T/stall.out" 2>&1 &
        STALL=$!
        latency "an Attach whose object_fd (a FUSE file) never delivers its bytes" "$STALL"
        RC=0; wait "$STALL" || RC=$?
        log "$(cat "$T/stall.out")"
        check_eq "... which fails, as InvalidProgram" "1 1" \
                "$((RC != 0)) $(grep -c org.netnslink1.Error.InvalidProgram "$T/stall.out")"
        check "... naming the object and saying its read did not end" \
                grep -q "Reading the object from object_fd ($FUSE_DIR/obj) did not end within" "$T/stall.out"
        check_fails "... and makes no link" NoSuchLink "$CTL" show "$A" sk_lookup stalled
        check_eq "... and leaves no loader child" 0 "$(n_children)"
        check_eq "... and no fd in the daemon (it holds $FDS0)" "$FDS0" "$(n_fds)"
else
        fail "a FUSE file to stall on (python3-fusepy: scripts/install-deps.sh)" "$(cat "$T/fuse.log")"
fi
# Its read thread never returns: only SIGKILL ends it (and the connection,
# failing what still waits on it).
kill -9 "$FUSE_PID" 2>/dev/null; wait "$FUSE_PID" 2>/dev/null
umount -l "$FUSE_DIR" 2>/dev/null

check_eq "no load's folder is left (steer/new@...)" "" "$(find "$PIN_ROOT" -name 'new@*')"
check "the daemon serves on" "$CTL" list "$A"
stop_daemon
finish
