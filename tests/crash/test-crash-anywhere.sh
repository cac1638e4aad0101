#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crash anywhere, short: 4 clients make a seeded random mix of Attach,
# Update, Replace and Detach over 20 netns, and of AddBinding,
# RemoveBinding, SetBindings, RegisterSocket and UnregisterSocket on the
# links that run builtin:steer, while the daemon is SIGKILLed at random
# moments at least 8 times (netns deleted and re-created now and then), and after
# every restart every call's outcome (programs, bindings, registered
# sockets) and the pin root's invariants are checked
# (bench/daemon/crash-anywhere; the long run is bench/daemon/run.sh BUILD
# crash).
source "$NL_SOURCE/tests/harness/harness.sh"

start_bus && mount_pins || exit 1
export NL_PIN_ROOT="$PIN_ROOT" NL_LOG="$T/daemon.log" NL_NS_PREFIX="$NS_PREFIX"
KILLS=${KILLS:-8}
# Past KILLS only while some kind of call has not succeeded yet (a slow or
# busy machine makes fewer calls between kills).
/usr/bin/python3 "$NL_SOURCE/bench/daemon/crash-anywhere" --kills="$KILLS" --max-kills=$((KILLS * 4)) --seed="${SEED:-8}" \
        --min-wait=0.2 --max-wait=0.8 > "$T/crash.out" 2>&1
rc=$?
sed 's/^/# /' "$T/crash.out"
check_eq "crash anywhere: no call lost, nothing leaked, nothing half-made" 0 "$rc"
check "... over operations that succeeded" grep -q "succeeded [1-9]" "$T/crash.out"
for kind in Attach Update Replace Detach AttachMany DetachMany \
            AddBinding RemoveBinding SetBindings RegisterSocket UnregisterSocket; do
        check "... among them $kind" grep -Eq "^  $kind [0-9]+ \(ok [1-9]" "$T/crash.out"
done
check "... with bindings checked after the restarts" grep -q "^bindings checked [1-9]" "$T/crash.out"
check "... and registered sockets checked" grep -q "^sockets checked [1-9]" "$T/crash.out"
check_eq "... lost 0" "lost 0" "$(grep '^lost ' "$T/crash.out")"
check_eq "... leaked 0" "leaked 0" "$(grep '^leaked ' "$T/crash.out")"
check_eq "... half-made 0 (steer destination counts agree with the bindings)" "half-made 0" \
        "$(grep '^half-made ' "$T/crash.out")"

finish
