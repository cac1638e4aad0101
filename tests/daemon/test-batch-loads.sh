#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# AttachMany of many programs no one loaded before: each is loaded in a
# child while the request waits, and the request runs again when a load
# ends. However many there are (more than the 16 re-runs a request whose
# program keeps changing is allowed, more than the 64 idle programs the
# cache keeps), one call attaches them all. A file that changes at every
# load is attached from one of its versions: a request that waited for a
# load keeps what it loaded (program-slots.h), so it never loads again.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
PY=/usr/bin/python3

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
B=$(make_netns b)

# objects N PREFIX: N copies of the test object, each with bytes of its own
# appended (past the ELF's end: libbpf reads the same programs, the cache
# sees other content).
objects() {
        for i in $(seq "$1"); do
                cp "$OBJ" "$T/$2$i.o" && printf '%s-%d' "$2" "$i" >>"$T/$2$i.o"
        done
}
# attach_many NETNS PREFIX N: one AttachMany of links PREFIX1..N, each
# naming its own object by path.
attach_many() {
        local elems="" i
        for i in $(seq "$3"); do
                elems+="${elems:+, }('$1', 'sk_lookup', '$2$i', {'object_path': <'$T/$2$i.o'>, 'program': <'sk_pass'>})"
        done
        # 64 loads take a while in a sanitizer build on a busy machine
        gdbus call --system --timeout=600 --dest org.netnslink1 --object-path /org/netnslink1 \
                --method org.netnslink1.Manager.AttachMany -- "[$elems]"
}
n_links() { "$CTL" --json=short list "$1" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
n_progs() { "$CTL" --json=short list "$1" | $PY -c 'import json,sys; print(len({l["prog_id"] for l in json.load(sys.stdin)}))'; }

objects 20 u
check "AttachMany of 20 distinct uncached programs succeeds" attach_many "$A" u 20
check_eq "... attaching 20 links" 20 "$(n_links "$A")"
check_eq "... running 20 programs" 20 "$(n_progs "$A")"

objects 64 v
check "AttachMany of 64 more, past the cache's 64 idle programs, succeeds" attach_many "$B" v 64
check_eq "... attaching 64 links" 64 "$(n_links "$B")"
check_eq "... running 64 programs" 64 "$(n_progs "$B")"

# A file rewritten while it is loaded: every load finds other content.
C=$(make_netns c)
objects 1 w
# The writer runs without forks, ahead of the daemon (nice -10): each
# load takes milliseconds, in which it rewrites the file many times.
$PY -c '
import os, sys, time
os.nice(-10)
data = open(sys.argv[1], "rb").read()
i = 0
while True:
    with open(sys.argv[2] + ".tmp", "wb") as f:
        f.write(data + b"w-%d" % i)
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    i += 1
    time.sleep(0.0002)' "$OBJ" "$T/w1.o" &
WRITER=$!
out=$(attach_many "$C" w 1 2>&1)
rc=$?
kill $WRITER; wait $WRITER 2>/dev/null
check_eq "a program whose file changes at every load is attached, from one version of it" "0 1" \
        "$rc $(n_links "$C")"
[ "$rc" = 0 ] || log "$out"
check "the daemon serves on" "$CTL" list

finish
