#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Netns death as it happens (issue 18, item 4): the daemon gives each netns
# it holds links in an nsid in its own netns and hears RTM_DELNSID when the
# kernel tears one down, so LinkDefunct comes within 500 ms of `ip netns
# del` (the kernel itself takes ~150-200 ms), over 5 tries, not at the next
# periodic look (every second). The daemon's debug log must say that the
# nsid told it, so that a lucky poll cannot pass. A netns the daemon only
# learns of at start gets an id too; one deleted while the daemon was down
# is still dropped at start by the scan.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
TRIES=5
LIMIT_MS=500

start_bus && mount_pins && start_daemon || exit 1

# Each LinkDefunct, stamped the moment the monitor prints it.
stamp() {
        while IFS= read -r line; do
                case $line in *LinkDefunct*) echo "$(date +%s%N) $line" >> "$T/defunct";; esac
        done
}
monitor() {
        "$CTL" --json=short monitor 2>/dev/null > >(stamp) &
        MON=$!
        sleep 0.5
}
touch "$T/defunct"
monitor

defunct_count() { wc -l < "$T/defunct"; }

# log_count TEXT: how many lines of the daemon's log have TEXT (a netns
# inode comes back often: each try counts the lines it adds).
log_count() { grep -c -- "$1" "$T/daemon.log"; }

worst=0
for i in $(seq $TRIES); do
        NS=$(make_netns "try$i")
        INO=$(netns_ino "$NS")
        given=$(log_count "(ino $INO) has nsid")
        torn=$(log_count "Netns $INO (nsid [0-9]*) is being torn down")
        check "try $i: attach in $NS" "$CTL" attach "$NS" sk_lookup l "$OBJ:sk_pass"
        check_eq "try $i: the netns got an nsid in the daemon's netns" $((given + 1)) "$(log_count "(ino $INO) has nsid")"
        before=$(defunct_count)
        t0=$(date +%s%N)
        ip netns del "$NS"
        for _ in $(seq 300); do [ "$(defunct_count)" -gt "$before" ] && break; sleep 0.01; done
        if [ "$(defunct_count)" -le "$before" ]; then
                fail "try $i: LinkDefunct after ip netns del" "none within 3 s"
                continue
        fi
        t1=$(tail -n 1 "$T/defunct" | cut -d' ' -f1)
        ms=$(( (t1 - t0) / 1000000 ))
        log "try $i: LinkDefunct $ms ms after ip netns del"
        [ "$ms" -gt "$worst" ] && worst=$ms
        check "try $i: LinkDefunct names the link of $NS" \
                grep -q "\"ino:$INO\"\|$NS" <(tail -n 1 "$T/defunct")
        check "try $i: LinkDefunct within $LIMIT_MS ms (was $ms ms)" test "$ms" -le "$LIMIT_MS"
        check_eq "try $i: the daemon heard RTM_DELNSID for netns $INO" $((torn + 1)) \
                "$(log_count "Netns $INO (nsid [0-9]*) is being torn down")"
done
log "worst LinkDefunct latency over $TRIES tries: $worst ms"

# A netns known only from the pins at start gets an id too.
NS=$(make_netns restart)
INO=$(netns_ino "$NS")
check "attach in $NS" "$CTL" attach "$NS" sk_lookup l "$OBJ:sk_pass"
stop_daemon
start_daemon || exit 1
check "after a restart the netns of a pinned link got an nsid" \
        bash -c "sed -n '/starting; capabilities/h; //!H; \${x;p}' '$T/daemon.log' | grep -q '(ino $INO) has nsid'"
before=$(defunct_count)
kill "$MON" 2>/dev/null
monitor
t0=$(date +%s%N)
ip netns del "$NS"
for _ in $(seq 300); do [ "$(defunct_count)" -gt "$before" ] && break; sleep 0.01; done
t1=$(tail -n 1 "$T/defunct" | cut -d' ' -f1)
ms=$(( (t1 - t0) / 1000000 ))
log "after restart: LinkDefunct $ms ms after ip netns del"
check "after a restart: LinkDefunct within $LIMIT_MS ms (was $ms ms)" test "$ms" -le "$LIMIT_MS"

check "the daemon is alive" daemon_alive
kill "$MON" 2>/dev/null
wait "$MON" 2>/dev/null
finish
