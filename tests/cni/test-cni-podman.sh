#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real container runtime runs the plugin: podman (CNI backend, runc) with
# Debian's bridge and host-local plugins, then netnslink, chained, against
# the test's daemon on its private socket; a debootstrapped Debian 12 as the
# container's root. Shown: the pod's netns holds the configured links after
# ADD, a connection inside the pod is steered to a socket the test registers
# from the pod's process, and `podman rm` (DEL) detaches them while the netns
# still lives.
#
# Nothing of the host's podman or CNI state is touched: podman's storage,
# run and temporary folders, runc's state and the IPAM leases are in $T; /var/lib is an
# overlay whose upper layer is in $T, in the test's own mount namespace
# (libcni caches results in /var/lib/cni whatever podman is told); the
# containers' cgroups are under a parent of the test's own, removed at the
# end; and the bridge is made in a netns of the test's, not in the host's.
# Exit 77 only when podman cannot run here at all.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/cni/cni.sh"

need_podman() {
        local p missing=""
        for p in podman runc; do command -v "$p" >/dev/null || missing="$missing $p"; done
        [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || missing="$missing containernetworking-plugins"
        [ -z "$missing" ] && return 0
        log "installing$missing (scripts/install-deps.sh names them)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc \
                containernetworking-plugins >"$T/apt.log" 2>&1 || true
        command -v podman >/dev/null && command -v runc >/dev/null && [ -x /usr/lib/cni/bridge ]
}
if ! need_podman; then
        printf '1..0 # SKIP podman, runc or Debian CNI plugins missing and not installable: %s\n' "$(tail -n 3 "$T/apt.log")"
        exit 77
fi

NET=nlsteer
SUBNET=10.89.7
CTR=nl-cni-pod
HOST_NS=$(make_netns host) || exit 1

# Podman's own state in $T; what else it or libcni writes in /var/lib goes
# to $T/var-lib.
mkdir -p "$T/storage" "$T/runroot" "$T/tmp" "$T/net.d" "$T/cni-bin" "$T/ipam" "$T/var-lib" "$T/var-lib-work"
mount -t overlay netnslink-test-var-lib -o lowerdir=/var/lib,upperdir="$T/var-lib",workdir="$T/var-lib-work" \
        /var/lib || { echo "cannot put an overlay on /var/lib" >&2; exit 1; }
CGROUP_PARENT=netnslink-test-$$
ln -s "$PLUGIN" "$T/cni-bin/netnslink"
cat >"$T/containers.conf" <<EOF
[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni", "$T/cni-bin"]
network_config_dir = "$T/net.d"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
volume_path = "$T/storage/volumes"
static_dir = "$T/storage/libpod"
EOF
cat >"$T/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$T/storage"
runroot = "$T/runroot"
EOF
# pod ARGS...: podman with the test's configuration, in the test's "host"
# netns (where the bridge goes); its mounts stay in this mount namespace,
# so the daemon sees the pod's netns files.
pod() {
        CONTAINERS_CONF="$T/containers.conf" CONTAINERS_STORAGE_CONF="$T/storage.conf" \
                nsenter --net="/run/netns/$HOST_NS" podman --root "$T/storage" --runroot "$T/runroot" \
                --tmpdir "$T/tmp" --network-config-dir "$T/net.d" --runtime runc --runtime-flag "root=$T/runc" \
                --cgroup-manager=cgroupfs --events-backend=file "$@"
}
# Containers go before the harness's cleanup, and their cgroups (the
# host's) with them.
podman_cleanup() {
        local d
        pod rm -f -a -t 0 >/dev/null 2>&1
        [ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
        for d in /sys/fs/cgroup/"$CGROUP_PARENT" /sys/fs/cgroup/*/"$CGROUP_PARENT"; do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        umount /var/lib 2>/dev/null
}
trap 'rc=$?; podman_cleanup; (exit $rc); cleanup' EXIT

if ! out=$(pod info 2>&1); then
        printf '1..0 # SKIP podman cannot run here: %s\n' "$(tail -n 3 <<<"$out")"
        exit 77
fi
ip -n "$HOST_NS" link set lo up

log "a Debian 12 root for the container"
rc=0
"$NL_SOURCE/tests/live/debian-root.sh" extract "$T/root" || rc=$?
[ "$rc" -eq 77 ] && { printf '1..0 # SKIP no Debian root (debootstrap)\n'; exit 77; }
check_eq "tests/live/debian-root.sh extract" 0 "$rc"

start_bus && mount_pins && start_daemon || exit 1
check "the daemon serves its private socket ($PRIVATE_SOCKET)" test -S "$PRIVATE_SOCKET"

cat >"$T/net.d/$NET.conflist" <<EOF
{ "cniVersion": "1.0.0", "name": "$NET",
  "plugins": [
    { "type": "bridge", "bridge": "nlcni0", "isGateway": true, "ipMasq": false,
      "ipam": { "type": "host-local", "dataDir": "$T/ipam",
                "ranges": [[{ "subnet": "$SUBNET.0/24" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "netnslink", "socket": "$PRIVATE_SOCKET",
      "links": [ { "attachType": "flow_dissector", "name": "flow", "program": "builtin:flow" },
                 { "attachType": "sk_lookup", "name": "web", "program": "builtin:steer",
                   "bindings": [ { "protocol": "tcp", "prefix": "$SUBNET.0/24", "port": 80, "label": "www" } ] } ] } ] }
EOF
check "podman knows the network $NET" pod network inspect "$NET"

# The pod's process: a TCP server on 127.0.0.1:9000 that answers "steered";
# nothing listens on port 80.
SERVER='import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9000)); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b"steered\n"); c.close()'
CLIENT='import socket, sys
try:
    c = socket.create_connection((sys.argv[1], 80), timeout=3); print(c.recv(64).decode().strip())
except ConnectionRefusedError:
    print("refused")'

log "podman run (CNI ADD: bridge, host-local, then netnslink)"
# --rootfs is a flag: the first argument after the options is the root.
if ! out=$(pod run -d --name "$CTR" --network "$NET" --cgroup-parent="/$CGROUP_PARENT" \
        --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
        --rootfs "$T/root" /usr/bin/python3 -c "$SERVER" 2>&1); then
        fail "podman run with the chain" "$out" "$(tail -n 20 "$T/daemon.log")"
        finish; exit 1
fi
pass "podman run with the chain"
CID=$(pod inspect --format '{{.Id}}' "$CTR")
SANDBOX=$(pod inspect --format '{{.NetworkSettings.SandboxKey}}' "$CTR")
PID=$(pod inspect --format '{{.State.Pid}}' "$CTR")
IP=$(pod inspect --format "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$CTR")
log "container $CID, netns $SANDBOX, pid $PID, address $IP"
check "the pod's netns is a file the daemon can name ($SANDBOX)" test -e "$SANDBOX"
INO=$(stat -L -c %i "$SANDBOX")
check_eq "the pod has an address of the bridge's subnet" "$SUBNET" "${IP%.*}"
check_eq "the kernel runs a flow_dissector and an sk_lookup link in the pod's netns" \
        "flow_dissector sk_lookup" "$(kernel_links "$INO")"
check_eq "the daemon lists them with source cni:<container id>/eth0" "flow_dissector/flow sk_lookup/web" \
        "$(links_of "cni:$CID/eth0")"
check_eq "the steer link holds the configured binding" "tcp $SUBNET.0/24 80 www" \
        "$("$CTL" --json=short bindings "$SANDBOX" web | /usr/bin/python3 -c '
import json, sys
print(" ".join("%s %s %s %s" % (b["protocol"], b["prefix"], b["port"], b["label"]) for b in json.load(sys.stdin)))')"

# pod_connect: a connection from inside the pod to its address, port 80.
pod_connect() { pod exec "$CTR" /usr/bin/python3 -c "$CLIENT" "$IP" 2>&1; }
for _ in $(seq 50); do ss -N "$SANDBOX" -Htln 2>/dev/null | grep -q 127.0.0.1:9000 && break; sleep 0.1; done
check_eq "before a socket is registered, port 80 of the pod is refused" refused "$(pod_connect)"
check "the pod's listening socket registered under www (register-pid $PID)" \
        "$CTL" register-pid "$SANDBOX" web www "$PID"
check_eq "a connection inside the pod to $IP:80 is steered to it" steered "$(pod_connect)"

log "podman rm (CNI DEL), with the netns held open so that only DEL can detach"
nsenter --net="$SANDBOX" sleep 600 &
HOLDER=$!
holds_pod() { [ "$(readlink "/proc/$HOLDER/ns/net")" = "net:[$INO]" ]; }
for _ in $(seq 100); do holds_pod && break; sleep 0.05; done
check "a process of the test's holds the pod's netns" holds_pod
check "podman rm -f" pod rm -f -t 0 "$CTR"
check "the pod's netns still lives (held)" holds_pod
check_eq "the kernel runs nothing in the pod's netns" "" "$(kernel_links "$INO")"
check_eq "the daemon lists nothing of the attachment" "" "$(links_of "cni:$CID/eth0")"
check "the daemon's log says it detached them (DEL), not that the netns died" \
        grep -q "Detached sk_lookup link 'web'" "$T/daemon.log"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; HOLDER=""

finish
