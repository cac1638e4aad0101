#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile BPF objects through the real daemon: a program the verifier walks
# to its limit, an object with 3000 programs, the wrong machine, an enormous
# section, and an object truncated at every 64 bytes. Each gets its answer
# (InvalidProgram with a message) in bounded time, the daemon serves other
# clients meanwhile, and it leaks no fd, link or child.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
LIMIT="$TEST_BPF/hostile_verifier_limit.bpf.o"
MANY="$TEST_BPF/hostile_many_progs.bpf.o"

ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
check "a plain link to probe the daemon with" "$CTL" attach "$A" sk_lookup probe "$OBJ:sk_pass"
# 3000 programs in one object: the one asked for is loaded, in bounded time.
START=$(ms_now)
check "an object with 3000 programs: the one named is attached" "$CTL" attach "$A" sk_lookup many "$MANY:p2999"
check "... within 60 s" test $(( $(ms_now) - START )) -lt 60000
check_fails "... and a name it lacks is InvalidProgram" org.netnslink1.Error.InvalidProgram \
        "$CTL" attach "$A" sk_lookup many2 "$MANY:p3000"

FDS_BEFORE=$(daemon_fds)


# The verifier's limit, with another client served meanwhile.
START=$(ms_now)
"$CTL" attach "$A" sk_lookup limit "$LIMIT:verifier_limit" > "$T/limit.out" 2>&1 &
LIMIT_PID=$!
MAX=0 PROBES=0
while kill -0 $LIMIT_PID 2>/dev/null; do
        PROBES=$((PROBES + 1))
        t0=$(ms_now)
        "$CTL" show "$A" sk_lookup probe > /dev/null || MAX=99999
        t1=$(ms_now)
        [ $((t1 - t0)) -gt $MAX ] && MAX=$((t1 - t0))
done
wait $LIMIT_PID
RC=$?
END=$(ms_now)
log "the verifier-limit load took $((END - START)) ms; the slowest of $PROBES GetLink calls meanwhile took $MAX ms"
check_eq "a program that runs the verifier to its limit is refused" 1 "$RC"
check "... as InvalidProgram" grep -q org.netnslink1.Error.InvalidProgram "$T/limit.out"
check "... with the verifier's words" grep -Eq "too large|processed [0-9]+ insns" "$T/limit.out"
check "... within 60 s" test $((END - START)) -lt 60000
check "another client was probed while the load ran ($PROBES GetLink calls)" test "$PROBES" -gt 0
check "other clients were served within 500 ms meanwhile" test "$MAX" -lt 500

# Wrong machine and an enormous section, patched into a good object.
/usr/bin/python3 - "$OBJ" "$T" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
wrong = bytearray(data)
wrong[18:20] = struct.pack("<H", 62)           # e_machine: x86-64, not BPF
open(sys.argv[2] + "/wrong-machine.o", "wb").write(wrong)
huge = bytearray(data)
shoff = struct.unpack_from("<Q", huge, 0x28)[0]
shentsize = struct.unpack_from("<H", huge, 0x3a)[0]
shnum = struct.unpack_from("<H", huge, 0x3c)[0]
for i in range(1, shnum):                       # every section claims 2^46 bytes
    struct.pack_into("<Q", huge, shoff + i * shentsize + 0x20, 1 << 46)
open(sys.argv[2] + "/huge-section.o", "wb").write(huge)
PY
check_fails "an object for the wrong machine is InvalidProgram" org.netnslink1.Error.InvalidProgram \
        "$CTL" attach "$A" sk_lookup bad "$T/wrong-machine.o:sk_pass"
check_fails "an object with enormous sections is InvalidProgram" org.netnslink1.Error.InvalidProgram \
        "$CTL" attach "$A" sk_lookup bad "$T/huge-section.o:sk_pass"

# Truncated at every 64 bytes.
SIZE=$(stat -c %s "$OBJ")
bad=0 n=0
for ((len = 0; len < SIZE; len += 64)); do
        head -c $len "$OBJ" > "$T/cut.o"
        out=$("$CTL" attach "$A" sk_lookup cut "$T/cut.o:sk_pass" 2>&1) && { bad=$((bad + 1)); "$CTL" detach "$A" sk_lookup cut; }
        [[ "$out" == *org.netnslink1.Error.InvalidProgram* ]] || { bad=$((bad + 1)); log "length $len: $out"; }
        n=$((n + 1))
done
check "the object was cut at least once ($n truncations of $SIZE bytes)" test "$n" -gt 0
check_eq "each of $n truncations ($SIZE bytes, every 64) is InvalidProgram" 0 "$bad"

# A file that changes under the daemon: a writer keeps rewriting the object
# in place, whole or cut in half, while it is attached again and again.
# Every attach either loads the whole, good object or is InvalidProgram.
GOOD_TAG=$(ctl_get prog_tag show "$A" sk_lookup probe)
cp "$OBJ" "$T/changing.o"
( while :; do cat "$OBJ" > "$T/changing.o"; head -c 3000 "$OBJ" > "$T/changing.o"; done ) 2>/dev/null &
WRITER=$!
bad=0 ok=0 refused=0
for i in $(seq 40); do
        if out=$("$CTL" --json=short attach "$A" sk_lookup chg "$T/changing.o:sk_pass" 2>&1); then
                tag=$(json_get prog_tag <<< "$out")
                [ "$tag" = "$GOOD_TAG" ] && ok=$((ok + 1)) || { bad=$((bad + 1)); log "attached tag $tag"; }
                "$CTL" detach "$A" sk_lookup chg
        elif [[ "$out" == *org.netnslink1.Error.InvalidProgram* ]]; then
                refused=$((refused + 1))
        else
                bad=$((bad + 1))
                log "unexpected: $out"
        fi
done
kill $WRITER; wait $WRITER 2>/dev/null
log "an object rewritten during 40 attaches: $ok loaded whole, $refused refused as InvalidProgram"
check_eq "an object changing under the daemon is loaded whole or refused, never anything else" 0 "$bad"

check "the daemon is still up" daemon_alive
# A loader child's socket or a request's fds may still be on their way out.
for _ in $(seq 20); do [ "$(daemon_fds)" = "$FDS_BEFORE" ] && break; sleep 0.1; done
check_eq "no fd leaked" "$FDS_BEFORE" "$(daemon_fds)"
check_eq "no loader child left" "" "$(pgrep -P "$DAEMON_PID")"
check_eq "only the good links exist" "many probe" \
        "$("$CTL" --json=short list "$A" | /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(l["name"] for l in json.load(sys.stdin))))')"
finish
