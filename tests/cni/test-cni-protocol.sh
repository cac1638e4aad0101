#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The CNI plugin's protocol (CNI 1.0.0/1.1.0) against the real daemon on its
# private socket: every command's happy path with the kernel as witness
# (bpftool sees the links in the pod's netns; traffic is steered), and every
# error path with the spec's error object and code.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"
source "$NL_SOURCE/tests/cni/cni.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"

start_bus && mount_pins && start_daemon || exit 1
NS=$(make_netns pod)
INO=$(netns_ino "$NS")
CID=0123456789abcdef0123456789abcdef
TRAFFIC_NS=$NS
check "the daemon serves its private socket ($PRIVATE_SOCKET)" test -S "$PRIVATE_SOCKET"
check "pod netns $NS with lo up and local prefixes 10.50.0.0/16, fd00:50::/64" local_prefixes

PREV='{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],"ips":[{"address":"10.50.1.2/24","interface":0}],"dns":{}}'
# config VERSION LINKS [MORE]: a network configuration (MORE: more top-level keys).
config() {
        printf '{"cniVersion":"%s","name":"test-net","type":"netnslink","socket":"%s","links":%s%s}' \
                "$1" "$PRIVATE_SOCKET" "$2" "${3:+,$3}"
}
LINKS='[{"attachType":"flow_dissector","name":"flow","program":"builtin:flow"},
        {"attachType":"sk_lookup","name":"web","program":"builtin:steer",
         "bindings":[{"protocol":"tcp","prefix":"10.50.1.0/24","port":0,"label":"www"},
                     {"protocol":"udp","prefix":"fd00:50::/64","port":53,"label":"dns"}]}]'
CONF=$(config 1.1.0 "$LINKS" "\"prevResult\":$PREV")
SOURCE="cni:$CID/eth0"

# --- VERSION and STATUS --------------------------------------------------------
out=$(cni VERSION '{"cniVersion":"1.0.0"}')
check "VERSION answers in the caller's version, listing 1.0.0 and 1.1.0" \
        same_json '{"cniVersion":"1.0.0","supportedVersions":["1.0.0","1.1.0"]}' "$out"
check_eq "STATUS: the daemon answers (exit 0, nothing printed)" "" "$(cni STATUS "$(config 1.1.0 '[]')")"

# --- ADD -------------------------------------------------------------------------
out=$(cni ADD "$CONF") && rc=0 || rc=$?
check_eq "ADD succeeds" 0 "$rc"
check "ADD prints prevResult unchanged" same_json "$PREV" "$out"
check_eq "the kernel runs a flow_dissector and an sk_lookup link in the pod's netns" \
        "flow_dissector sk_lookup" "$(kernel_links "$INO")"
check_eq "the daemon lists both with source $SOURCE" "flow_dissector/flow sk_lookup/web" "$(links_of "$SOURCE")"
check_eq "the link's program_source says what it runs" builtin:steer \
        "$(ctl_get program_source show "$NS" sk_lookup web)"
check_eq "the steer link has the configured bindings" "tcp 10.50.1.0/24 0 www udp fd00:50::/64 53 dns" \
        "$("$CTL" --json=short bindings "$NS" web | /usr/bin/python3 -c '
import json, sys
print(" ".join("%s %s %s %s" % (b["protocol"], b["prefix"], b["port"], b["label"]) for b in json.load(sys.stdin)))')"
check "a socket registered under www in the pod" serve pod w1,www,tcp,127.0.0.1,9000 --register "$CTL" "$NS" web
check_eq "a connection to any address of 10.50.1.0/24 reaches it" "w1 w1" "$(probe tcp 10.50.1.7 80 10.50.1.200 443)"
check_eq "an address with no binding falls through to the kernel" refused "$(probe tcp 10.50.2.1 80)"
out=$(cni ADD "$(config 1.0.0 '[]')") && rc=0 || rc=$?
check "ADD with no prevResult and no links prints a minimal result of its version" \
        same_json '{"cniVersion":"1.0.0"}' "$out"

# --- CHECK ---------------------------------------------------------------------
check "CHECK: every link there, ours, with its program and bindings" cni CHECK "$CONF"
check "CHECK in cniVersion 1.0.0, with unknown top-level keys" cni CHECK \
        "$(config 1.0.0 "$LINKS" "\"prevResult\":$PREV,\"runtimeConfig\":{},\"args\":{\"cni\":{}},\"x-extra\":1")"
check_cni_error "CHECK without prevResult: code 7 naming it" 7 prevResult CHECK "$(config 1.1.0 "$LINKS")"
check "a binding added behind the plugin's back" "$CTL" bind "$NS" web tcp 10.50.3.0/24 0 extra
check_cni_error "CHECK: a binding not configured is code 104" 104 "tcp 10.50.3.0/24 0 extra" CHECK "$CONF"
check "and removed" "$CTL" unbind "$NS" web tcp 10.50.3.0/24 0
check "CHECK passes again" cni CHECK "$CONF"

# A second pod for what CHECK must refuse: another program, a missing link,
# a link someone else made.
NS2=$(make_netns pod2)
CID2=pod2-container
OBJ_LINKS="[{\"attachType\":\"sk_lookup\",\"name\":\"obj\",\"program\":\"$OBJ:sk_pass\"}]"
OBJ_CONF=$(config 1.1.0 "$OBJ_LINKS" "\"prevResult\":$PREV")
check "ADD of an object's program (passed as a descriptor)" cni ADD "$OBJ_CONF" CNI_CONTAINERID=$CID2 \
        CNI_NETNS=/run/netns/$NS2
check "CHECK: the object's program by its content (sha256)" cni CHECK "$OBJ_CONF" CNI_CONTAINERID=$CID2 \
        CNI_NETNS=/run/netns/$NS2
check "the link updated to another program behind the plugin's back" "$CTL" update "$NS2" sk_lookup obj "$OBJ:sk_pass2"
check_cni_error "CHECK: a link running another program is code 102" 102 "runs sha256:" CHECK "$OBJ_CONF" \
        CNI_CONTAINERID=$CID2 CNI_NETNS=/run/netns/$NS2
check "the link detached behind the plugin's back" "$CTL" detach "$NS2" sk_lookup obj
check_cni_error "CHECK: a missing link is code 101" 101 "link 'obj' is missing" CHECK "$OBJ_CONF" \
        CNI_CONTAINERID=$CID2 CNI_NETNS=/run/netns/$NS2
check "a link of that name attached by someone else" "$CTL" attach "$NS2" sk_lookup obj "$OBJ:sk_pass"
check_cni_error "CHECK: a link made by someone else is code 103" 103 "not this attachment's" CHECK "$OBJ_CONF" \
        CNI_CONTAINERID=$CID2 CNI_NETNS=/run/netns/$NS2
check "DEL of pod2 succeeds" cni DEL "$OBJ_CONF" CNI_CONTAINERID=$CID2 CNI_NETNS=/run/netns/$NS2
check_eq "and leaves the link it did not make" sk_lookup "$(kernel_links "$(netns_ino "$NS2")")"

# --- Errors of the configuration and the environment ------------------------------------
BEFORE=$(kernel_links "$INO")
NS3=$(make_netns pod3)
INO3=$(netns_ino "$NS3")
for3=(CNI_CONTAINERID=pod3 CNI_NETNS=/run/netns/$NS3)
check_cni_error "bad JSON: code 6" 6 "Cannot decode" ADD '{"cniVersion": "1.1.0", "links": [' "${for3[@]}"
check_cni_error "not an object: code 6" 6 "not a JSON object" ADD '[1, 2]' "${for3[@]}"
check_cni_error "a duplicate key: code 6" 6 "duplicate" ADD '{"cniVersion":"1.1.0","cniVersion":"1.1.0"}' "${for3[@]}"
check_cni_error "an unknown key in a link: code 7 naming it" 7 "links[1]: unknown key 'bogus'" ADD \
        "$(config 1.1.0 '[{"attachType":"flow_dissector","name":"f","program":"builtin:flow"},
                         {"attachType":"sk_lookup","name":"w","program":"builtin:steer","bogus":1}]')" "${for3[@]}"
check_cni_error "an unknown key in a binding: code 7 naming it" 7 "links[0].bindings[0]: unknown key 'proto'" ADD \
        "$(config 1.1.0 '[{"attachType":"sk_lookup","name":"w","program":"builtin:steer",
                           "bindings":[{"proto":"tcp","prefix":"10.0.0.0/8","port":0,"label":"a"}]}]')" "${for3[@]}"
while IFS='|' read -r text links; do
        check_cni_error "code 7: $text" 7 "$text" ADD "$(config 1.1.0 "$links")" "${for3[@]}"
done <<'CASES'
links: must be an array|{"a":1}
links[0].attachType: required|[{"name":"w","program":"builtin:steer"}]
links[0].attachType: 'xdp' is neither|[{"attachType":"xdp","name":"w","program":"builtin:steer"}]
links[0].name: 'a.b' is not|[{"attachType":"sk_lookup","name":"a.b","program":"builtin:steer"}]
links[0].program: Built-in program 'flow' is a flow_dissector program, not sk_lookup|[{"attachType":"sk_lookup","name":"w","program":"builtin:flow"}]
links[0].program: No built-in program 'nope' (there are: steer, flow)|[{"attachType":"sk_lookup","name":"w","program":"builtin:nope"}]
links[0].program: 'prog.o:x' is none of|[{"attachType":"sk_lookup","name":"w","program":"prog.o:x"}]
links[0].bindings: only a builtin:steer link|[{"attachType":"flow_dissector","name":"f","program":"builtin:flow","bindings":[{"protocol":"tcp","prefix":"10.0.0.0/8","port":0,"label":"a"}]}]
links[0].bindings[0].port: must be an integer|[{"attachType":"sk_lookup","name":"w","program":"builtin:steer","bindings":[{"protocol":"tcp","prefix":"10.0.0.0/8","port":70000,"label":"a"}]}]
links[0].bindings[0]: Invalid prefix|[{"attachType":"sk_lookup","name":"w","program":"builtin:steer","bindings":[{"protocol":"tcp","prefix":"10.0.0.1/8","port":0,"label":"a"}]}]
links[1].name: sk_lookup link 'w' is links[0] already|[{"attachType":"sk_lookup","name":"w","program":"builtin:steer"},{"attachType":"sk_lookup","name":"w","program":"builtin:steer"}]
CASES
check_cni_error "socket not a string: code 7 naming it" 7 "socket: must be a string" ADD \
        '{"cniVersion":"1.1.0","socket":5,"links":[]}' "${for3[@]}"
check_cni_error "an unreadable object file: code 7 naming the link" 7 "links[0].program: cannot open /nonexistent.o" ADD \
        "$(config 1.1.0 '[{"attachType":"sk_lookup","name":"w","program":"/nonexistent.o:x"}]')" "${for3[@]}"
check_cni_error "cniVersion 0.4.0: code 1" 1 "cniVersion '0.4.0' is not supported" ADD "$(config 0.4.0 '[]')" "${for3[@]}"
check_cni_error "cniVersion 9.9.9: code 1" 1 "not supported" DEL "$(config 9.9.9 '[]')" "${for3[@]}"
check_cni_error "no cniVersion: code 7" 7 "cniVersion: required" ADD '{"links":[]}' "${for3[@]}"
check_cni_error "GC in cniVersion 1.0.0: code 1" 1 "GC needs cniVersion 1.1.0" GC \
        "$(config 1.0.0 '[]' '"cni.dev/valid-attachments":[]')"
check_cni_error "STATUS in cniVersion 1.0.0: code 1" 1 "STATUS needs cniVersion 1.1.0" STATUS "$(config 1.0.0 '[]')"
check_cni_error "GC without cni.dev/valid-attachments: code 7" 7 "cni.dev/valid-attachments: required" GC \
        "$(config 1.1.0 '[]')"
check_cni_error "no CNI_COMMAND: code 4" 4 "CNI_COMMAND is not set" ADD "$CONF" -CNI_COMMAND
check_cni_error "CNI_COMMAND FOO: code 4" 4 "CNI_COMMAND 'FOO'" ADD "$CONF" CNI_COMMAND=FOO
check_cni_error "ADD without CNI_NETNS: code 4" 4 "CNI_NETNS is not set" ADD "$CONF" "${for3[@]}" -CNI_NETNS
check_cni_error "ADD with a relative CNI_NETNS: code 4" 4 "not an absolute path" ADD "$CONF" "${for3[@]}" CNI_NETNS=x
check_cni_error "ADD without CNI_CONTAINERID: code 4" 4 "CNI_CONTAINERID is not set" ADD "$CONF" "${for3[@]}" \
        -CNI_CONTAINERID
check_cni_error "a container id with a slash: code 4" 4 "CNI_CONTAINERID 'a/b'" ADD "$CONF" "${for3[@]}" \
        CNI_CONTAINERID=a/b
check_cni_error "DEL without CNI_IFNAME: code 4" 4 "CNI_IFNAME is not set" DEL "$CONF" "${for3[@]}" -CNI_IFNAME
check_cni_error "an interface name of 16 characters: code 4" 4 "not an interface name" ADD "$CONF" "${for3[@]}" \
        CNI_IFNAME=abcdefghijklmnop
check_cni_error "the daemon refuses a netns that does not exist: code 100 with its error" 100 \
        "org.netnslink1.Error.NoSuchNetns" ADD "$CONF" "${for3[@]}" CNI_NETNS=/run/netns/nosuch
# All or nothing: pod3 already runs a flow dissector, so the batch fails on
# it, and the sk_lookup link before it in the batch is not left behind.
check "a flow_dissector of someone else's in pod3" "$CTL" attach "$NS3" flow_dissector other builtin:flow
check_cni_error "ADD refused by the daemon (TooManyLinks): code 100 naming the element" 100 \
        "org.netnslink1.Error.TooManyLinks" ADD \
        "$(config 1.1.0 '[{"attachType":"sk_lookup","name":"w","program":"builtin:steer"},
                         {"attachType":"flow_dissector","name":"f","program":"builtin:flow"}]')" "${for3[@]}"
check_eq "nothing of the refused ADD stays in pod3 (the kernel's view)" flow_dissector "$(kernel_links "$INO3")"
check_eq "no error path changed the first pod's links" "$BEFORE" "$(kernel_links "$INO")"
check_eq "no link carries pod3's source" "" "$(links_of cni:pod3/eth0)"

# The daemon's own checks of a source, for callers other than the plugin.
check_fails "AttachMany refuses a source that is not cni:ID/IFNAME" org.freedesktop.DBus.Error.InvalidArgs \
        mgr AttachMany "[('$NS3', 'sk_lookup', 'x', {'builtin': <'steer'>, 'source': <'config:/etc/x'>})]"
check_fails "Attach refuses an interface name with a slash" org.freedesktop.DBus.Error.InvalidArgs \
        mgr Attach "$NS3" sk_lookup x "{'builtin': <'steer'>, 'source': <'cni:abc/a/b'>}"
check_fails "Update refuses a source" org.freedesktop.DBus.Error.InvalidArgs \
        mgr Update "$NS3" flow_dissector other "{'builtin': <'flow'>, 'source': <'cni:abc/eth0'>}"
check "Attach takes a valid one" mgr Attach "$NS3" sk_lookup x "{'builtin': <'steer'>, 'source': <'cni:abc/eth0'>}"
check_eq "and lists it as the link's source" cni:abc/eth0 "$(ctl_get source show "$NS3" sk_lookup x)"

# --- The daemon down, killed, restarted ---------------------------------------------------------
kill_daemon
check_cni_error "ADD with the daemon down: code 11 (try again later)" 11 "try again later" ADD "$CONF" "${for3[@]}"
check_cni_error "DEL with the daemon down: code 11" 11 "try again later" DEL "$CONF"
check_cni_error "STATUS with the daemon down: code 50 (cannot serve ADD)" 50 "Cannot reach netnslinkd" STATUS \
        "$(config 1.1.0 '[]')"
check_eq "the kernel keeps running the pod's links meanwhile" "flow_dissector sk_lookup" "$(kernel_links "$INO")"
check_eq "and steering its traffic" w1 "$(probe tcp 10.50.1.9 80)"
start_daemon || exit 1
check_eq "after a SIGKILL and a restart, the links keep source $SOURCE" "flow_dissector/flow sk_lookup/web" \
        "$(links_of "$SOURCE")"
check "CHECK passes after the restart" cni CHECK "$CONF"
check_invariants "pins, records of sources, ListLinks and the kernel agree after the restart"
# SIGKILL between an ADD and its DEL, the DEL after the restart.
NS4=$(make_netns pod4)
INO4=$(netns_ino "$NS4")
check "ADD in pod4" cni ADD "$CONF" CNI_CONTAINERID=pod4 CNI_NETNS=/run/netns/$NS4
kill_daemon
start_daemon || exit 1
check "DEL in pod4 after the daemon was SIGKILLed and restarted" cni DEL "$CONF" CNI_CONTAINERID=pod4 \
        CNI_NETNS=/run/netns/$NS4
check_eq "the kernel runs nothing in pod4" "" "$(kernel_links "$INO4")"

# --- DEL: idempotent, and a success when the netns is gone --------------------------------------
W=$(ctl_get link_id show "$NS" sk_lookup web)
check "DEL of the first pod" cni DEL "$CONF"
check "the kernel dropped its sk_lookup link (id $W)" bash -c "! bpftool link show id $W"
check_eq "the kernel runs nothing in the pod's netns" "" "$(kernel_links "$INO")"
check_eq "the daemon lists nothing of the attachment" "" "$(links_of "$SOURCE")"
check_eq "traffic falls through again" refused "$(probe tcp 10.50.1.7 80)"
check "DEL again: a success (idempotent)" cni DEL "$CONF"
check "DEL without CNI_NETNS: a success" cni DEL "$CONF" -CNI_NETNS

NS5=$(make_netns pod5)
INO5=$(netns_ino "$NS5")
for5=(CNI_CONTAINERID=pod5 CNI_NETNS=/run/netns/$NS5)
check "ADD in pod5" cni ADD "$CONF" "${for5[@]}"
check "pod5's netns deleted" del_netns "$NS5"
check "DEL of pod5 whose netns is gone: a success" cni DEL "$CONF" "${for5[@]}"
# A netns whose path is gone but which lives on (a process in it): DEL
# still finds its links by their source and detaches them.
NS6=$(make_netns pod6)
INO6=$(netns_ino "$NS6")
check "ADD in pod6" cni ADD "$CONF" CNI_CONTAINERID=pod6 CNI_NETNS=/run/netns/$NS6
ip netns exec "$NS6" sleep 600 &
HOLDER=$!
holds_pod6() { [ "$(readlink "/proc/$HOLDER/ns/net")" = "net:[$INO6]" ]; }
for _ in $(seq 100); do holds_pod6 && break; sleep 0.05; done
check "a process holds pod6's netns" holds_pod6
check "pod6's netns unmounted from /run/netns while a process holds it" del_netns "$NS6"
check_eq "its links run on" "flow_dissector sk_lookup" "$(kernel_links "$INO6")"
check "DEL of pod6 (its path gone)" cni DEL "$CONF" CNI_CONTAINERID=pod6 CNI_NETNS=/run/netns/$NS6
check_eq "the kernel runs nothing in pod6's living netns" "" "$(kernel_links "$INO6")"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null

# --- GC ------------------------------------------------------------------------------------------
NSA=$(make_netns poda); NSB=$(make_netns podb)
INOA=$(netns_ino "$NSA"); INOB=$(netns_ino "$NSB")
check "ADD in poda" cni ADD "$CONF" CNI_CONTAINERID=poda CNI_NETNS=/run/netns/$NSA
check "ADD in podb" cni ADD "$CONF" CNI_CONTAINERID=podb CNI_NETNS=/run/netns/$NSB
check "a link of podb's made by hand (no source)" "$CTL" attach "$NSB" sk_lookup manual builtin:steer
check "a link of another network's in podb (a name this one does not use)" \
        cni ADD "$(config 1.1.0 '[{"attachType":"sk_lookup","name":"other","program":"builtin:steer"}]')" \
        CNI_CONTAINERID=podb CNI_IFNAME=eth1 CNI_NETNS=/run/netns/$NSB
check "GC with only poda/eth0 valid" cni GC \
        "$(config 1.1.0 "$LINKS" '"cni.dev/valid-attachments":[{"containerID":"poda","ifname":"eth0"}]')"
check_eq "poda keeps its links" "flow_dissector sk_lookup" "$(kernel_links "$INOA")"
check_eq "podb keeps only the hand-made link and the other network's" "manual other" \
        "$("$CTL" --json=short list "$NSB" | /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(l["name"] for l in json.load(sys.stdin))))')"
check_eq "the kernel agrees: two sk_lookup links in podb" "sk_lookup sk_lookup" "$(kernel_links "$INOB")"
check "GC with nothing valid" cni GC "$(config 1.1.0 "$LINKS" '"cni.dev/valid-attachments":[]')"
check_eq "poda's links are gone" "" "$(kernel_links "$INOA")"

check_invariants "pins, records of sources, ListLinks and the kernel agree at the end"
stop_servers
finish
