#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Load, short: 8 concurrent clients x 300 operations (attach, update, detach
# cycles over 6 netns, builtin:steer and an object fd), while GetLink is
# sampled: every operation succeeds, the daemon's fd count does not grow and
# its RSS grows by at most 4 MiB. GetLink's p99 is printed, not judged here
# (a benchmark figure: bench/daemon/run.sh load judges it).
source "$NL_SOURCE/tests/harness/harness.sh"

CLIENT="$NL_BUILD/bench/daemon/nl-bus-bench"
OBJ="$TEST_BPF/bench_daemon_prog.bpf.o"

start_bus && mount_pins && start_daemon || exit 1
for i in $(seq 6); do make_netns "load$i"; done > "$T/netns"

# Latency is a benchmark figure (bench/daemon/run.sh load judges p99 < 50
# ms on a quiet machine with --max-p99-ms): here it is printed, not judged,
# since ctest may share the machine. Under ASan the quarantine holds freed memory (RSS grows
# by design), so the RSS bound applies to real builds; errors and the fd
# count are checked in both.
LIMITS=(--max-rss-growth-kib=4096)
if grep -q "^NETNSLINK_SANITIZE:BOOL=ON" "$NL_BUILD/CMakeCache.txt" 2>/dev/null; then
        log "sanitizer build: RSS growth is printed, not judged"
        LIMITS=()
fi
"$CLIENT" load --clients=8 --ops="${NL_LOAD_OPS:-300}" --daemon-pid="$DAEMON_PID" \
        "${LIMITS[@]}" "$T/netns" "$OBJ" > "$T/load.out" 2>&1
rc=$?
sed 's/^/# /' "$T/load.out"
check_eq "8 clients x ${NL_LOAD_OPS:-300} operations without an error; no fd growth; RSS +4 MiB at most (real builds)" 0 "$rc"
check "every client finished without errors" test "$(grep -c ', 0 errors' "$T/load.out")" -eq 8
check "the daemon is still up" daemon_alive
check_invariants "afterwards pins, listing and kernel agree, nothing left behind"
check_eq "no link remains" 0 "$("$CTL" --json=short list | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

finish
