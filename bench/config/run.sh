#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/config/run.sh BUILD_DIR: the start-time apply of the declarative
# configuration (issue 16) against one AttachMany of the same links, in the
# daemon tests' sandbox (private mount and pid namespaces, bus, bpffs and
# /run/netns). Builds nothing; run as root.
#
#   NETNS (1000) netns, two links each: sk_lookup "obj" (an object's
#   program) and flow_dissector "flow" (builtin:flow), described by two
#   files whose [Match] is a glob naming them all.
#   1. configured: the daemon starts on an empty bpffs with the files; its
#      log says how long the apply before READY=1 took.
#   2. AttachMany: a fresh bpffs, the daemon without files, one AttachMany
#      of the same 2 x NETNS links, timed by the client.
# Target (issue 16): 1. within 2x of 2.
set -u
if [ $# -lt 1 ] || [ ! -x "$1/src/daemon/netnslinkd" ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi
export NL_BUILD=$(cd "$1" && pwd)
export NL_SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
source "$NL_SOURCE/tests/harness/harness.sh"

NETNS=${NETNS:-1000}
OBJ="$TEST_BPF/libtest_progs.bpf.o"
CR="$T/config"
mkdir -p "$CR/etc/netnslink/links.d"

log "making $NETNS netns"
for i in $(seq "$NETNS"); do ip netns add "bc-$i" || exit 1; NETNS_MADE+=("bc-$i"); done

printf '[Match]\nNetns=bc-*\n[Link]\nType=sk_lookup\nName=obj\nProgram=%s:sk_pass\n' "$OBJ" \
        > "$CR/etc/netnslink/links.d/obj.conf"
printf '[Match]\nNetns=bc-*\n[Link]\nType=flow_dissector\nName=flow\nProgram=builtin:flow\n' \
        > "$CR/etc/netnslink/links.d/flow.conf"

start_bus && mount_pins || exit 1

# 1. The configuration, applied at start.
NLD_EXTRA="--config-root=$CR"
start_daemon || exit 1
# The name is taken before the apply; the first answer comes after it.
N=$("$CTL" --json=short list | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
for _ in $(seq 100); do grep -aq "Configuration: .* attached" "$T/daemon.log" && break; sleep 0.1; done
line=$(grep -a "Configuration: .* attached" "$T/daemon.log" | tail -1)
CONF_MS=$(sed -n 's/.* in \([0-9.]*\) ms$/\1/p' <<<"$line")
log "$line"
[ "$N" -eq $((2 * NETNS)) ] || { echo "expected $((2 * NETNS)) links, found $N" >&2; exit 1; }
stop_daemon

# 2. One AttachMany of the same links, on a fresh bpffs.
umount "$PINS"
mount_pins
NLD_EXTRA="--config-root=$T/none"
start_daemon || exit 1
MANY_MS=$(/usr/bin/python3 - "$NETNS" "$OBJ" <<'EOF'
import sys, time, dbus
n, obj = int(sys.argv[1]), sys.argv[2]
bus = dbus.SystemBus()
mgr = dbus.Interface(bus.get_object("org.netnslink1", "/org/netnslink1"), "org.netnslink1.Manager")
links = []
for i in range(1, n + 1):
    links.append((f"bc-{i}", "sk_lookup", "obj", {"object_path": obj, "program": "sk_pass"}))
    links.append((f"bc-{i}", "flow_dissector", "flow", {"builtin": "flow"}))
t0 = time.monotonic()
mgr.AttachMany(dbus.Array(links, signature="(sssa{sv})"), timeout=600)
print("%.1f" % ((time.monotonic() - t0) * 1000))
EOF
)
N=$("$CTL" --json=short list | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$N" -eq $((2 * NETNS)) ] || { echo "AttachMany: expected $((2 * NETNS)) links, found $N" >&2; exit 1; }

RATIO=$(/usr/bin/python3 -c "print('%.2f' % ($CONF_MS / $MANY_MS))")
printf '%-52s %10s ms\n' "start-time apply, $NETNS netns x 2 links" "$CONF_MS"
printf '%-52s %10s ms\n' "one AttachMany of the same $((2 * NETNS)) links" "$MANY_MS"
printf '%-52s %10s   (target: <= 2)\n' "ratio" "$RATIO"
finish
