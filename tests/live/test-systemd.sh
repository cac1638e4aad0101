#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The package under systemd as PID 1: a fresh Debian 12 booted with
# systemd-nspawn, netnslink installed with apt from the .deb of this build.
#
# Boot 1, where nothing mounts bpffs: apt pulls in what the package needs;
# the first `systemctl start`; every CLI feature inside the sandbox (a netns
# made after the start, pid:, an object passed as a descriptor, steering
# real connections); restart, SIGKILL and stop lose nothing and the kernel
# runs the links meanwhile; D-Bus activation; socket activation registering
# its socket for steering; systemd-analyze security; upgrade, remove, purge
# and install again, none of which detaches a link.
# Boot 2, the same root rebooted, where bpffs is mounted early at boot (as
# PID 1 does on a host; in a container it does not): the enabled daemon
# starts at boot; scripts/demo.sh's systemd path; purge, then the pins
# removed by hand as netnslinkd(8) says.
# Each boot: nothing logged at err or worse.
#
# About a minute with the Debian root cached (tests/live/debian-root.sh);
# the first run makes it with debootstrap. apt inside needs the mirror.
# NL_LIVE_DEB=FILE tests that package instead of one made from $NL_BUILD.
# Skipped (77) where it cannot run: not root, no systemd-nspawn, no way to
# make a Debian root, a sanitizer build.

. "$NL_SOURCE/tests/harness/harness.sh"
. "$NL_SOURCE/tests/live/live.sh"
set -o pipefail

MAX_EXPOSURE=2.0
PY=/usr/bin/python3
DROP_OBJ="$NL_BUILD/bpf-gen/live_drop.bpf.o"

# live_cleanup first, then the harness's cleanup (which exits with the
# test's status).
trap 'rc=$?; live_cleanup; (exit $rc); cleanup' EXIT

live_setup
live_package || { finish; exit 1; }
live_extract || { finish; exit 1; }

# Files the checks use inside: the test object, the server, the socket
# activation units (the pattern of netnslinkctl(8)).
mkdir -p "$LIVE_ROOT/root/live"
cp "$LIVE_DEB" "$LIVE_ROOT/root/live/"
cp "$DROP_OBJ" "$NL_SOURCE/tests/live/live-server.py" "$LIVE_ROOT/root/live/"
cp "$NL_SOURCE"/tests/live/units/* "$LIVE_ROOT/etc/systemd/system/"
DEB_INSIDE="/root/live/$(basename "$LIVE_DEB")"

# --- helpers -----------------------------------------------------------------

# links_now: the daemon's links, "ino/type/name=link_id:prog_id", sorted.
links_now() {
        inside netnslinkctl --json=short list | "$PY" -c '
import json, sys
print(" ".join(sorted("%s/%s/%s=%s:%s" % (l["netns_ino"], l["attach_type"], l["name"], l["link_id"], l["prog_id"])
                      for l in json.load(sys.stdin))))'
}

# kernel_runs LINKS: the kernel has every link of LINKS (links_now's form),
# each running the same program (bpftool inside: the kernel's own view).
kernel_runs() {
        local kernel item
        kernel=$(inside bpftool -j link show | "$PY" -c '
import json, sys
print(" ".join("%s:%s" % (l["id"], l["prog_id"]) for l in json.load(sys.stdin) if l.get("type") == "netns"))') || return 1
        [ -n "$1" ] || return 1
        for item in $1; do
                [[ " $kernel " == *" ${item#*=} "* ]] || { echo "not in the kernel: $item"; return 1; }
        done
}

# connect NETNS ADDR PORT: the line a TCP server answers at ADDR:PORT in
# NETNS, or "no answer" (refused, or nothing within 3 s).
connect() {
        inside ip netns exec "$1" timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -n 1 <&3' "$2" "$3" 2>/dev/null ||
                echo "no answer"
}

# socket_of NETNS LINK LABEL: the cookie of the socket registered for
# LABEL, "-" if none.
socket_of() {
        inside netnslinkctl --json=short destinations "$1" "$2" | "$PY" -c '
import json, sys
print(next((str(d.get("socket_cookie") or "-") for d in json.load(sys.stdin) if d["label"] == sys.argv[1]), "none"))' "$3"
}
registered() { [[ "$(socket_of "$@")" =~ ^[1-9][0-9]*$ ]]; }

# check_links DESC: the daemon lists exactly $LINKS, the kernel runs them,
# and a connection is still steered.
check_links() {
        check_eq "$1: the daemon lists the same links (link and program ids)" "$LINKS" "$(links_now)"
        check "$1: the kernel runs every link" kernel_runs "$LINKS"
        check_eq "$1: a connection to 127.0.0.5:80 in live-a is steered" steered-fd "$(connect live-a 127.0.0.5 80)"
}

# service_ok DESC: netnslinkd.service is active, owns its name and has not
# been restarted since NRESTARTS.
service_ok() {
        check_eq "$1: netnslinkd.service is active" active "$(inside systemctl is-active netnslinkd.service)"
        check_eq "$1: it was started once (NRestarts=$NRESTARTS)" "$NRESTARTS" "$(unit_prop netnslinkd.service NRestarts)"
}

# check_no_errors DESC: nothing at err or worse in this boot's journal.
check_no_errors() {
        local errors
        errors=$(journal_errors)
        check_eq "$1: nothing logged at err or worse (journalctl -b -p err)" "" "$errors"
}

# --- boot 1: nothing mounts bpffs ----------------------------------------------

live_boot || { finish; exit 1; }
check_eq "boot 1: nothing mounted bpffs at /sys/fs/bpf" "" "$(inside findmnt -n -t bpf /sys/fs/bpf)"

log "install with apt"
check "apt-get update" inside apt-get -q update
# The root has much of what the package needs already; on a system that
# has nothing (an empty dpkg status), apt must find every dependency in
# Debian 12's archive.
if out=$(inside apt-get install -s -q -o Dir::State::status=/dev/null "$DEB_INSIDE" 2>&1); then
        missing=""
        for p in netnslink $(dpkg-deb -f "$LIVE_DEB" Depends | tr ',' '\n' | awk '{ print $1 }'); do
                grep -q "^Inst $p " <<<"$out" || missing+=" $p"
        done
        check_eq "on an empty system, apt resolves the package's dependencies from the archive" "" "${missing# }"
else
        fail "on an empty system, apt resolves the package's dependencies from the archive" "$(tail -n 20 <<<"$out")"
fi
# A policy-rc.d that forbids starting services, as when an image is built:
# the postinst enables the unit but leaves starting it to the admin.
inside_sh 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
if out=$(inside apt-get install -y -q "$DEB_INSIDE" 2>&1); then
        pass "apt-get install ./$(basename "$LIVE_DEB")"
else
        fail "apt-get install ./$(basename "$LIVE_DEB")" "$(tail -n 20 <<<"$out")"
fi
check_eq "the postinst enabled netnslinkd.service" enabled "$(inside systemctl is-enabled netnslinkd.service)"
check_eq "the policy-rc.d kept the postinst from starting it" inactive "$(inside systemctl is-active netnslinkd.service)"
inside rm /usr/sbin/policy-rc.d

log "the first systemctl start, on a host where nothing was prepared"
check "no pin root yet" inside test ! -e /sys/fs/bpf/netnslinkd
check "systemctl start netnslinkd.service" inside systemctl start netnslinkd.service
NRESTARTS=0
service_ok "first start"
check_eq "netnslinkd-pin-root.service mounted bpffs" "bpf /sys/fs/bpf" \
        "$(inside findmnt -n -o SOURCE,TARGET -t bpf /sys/fs/bpf | xargs)"
check_eq "the pin root is a folder of mode 0700" 700 "$(inside stat -c %a /sys/fs/bpf/netnslinkd)"
check_eq "the unit's first start never failed" "" \
        "$(inside journalctl -b -q --no-pager -u netnslinkd.service -u netnslinkd-pin-root.service | grep -i fail)"

exposure=$(inside systemd-analyze security --no-pager netnslinkd.service 2>&1 |
        sed -n 's/.*Overall exposure level for netnslinkd.service: \([0-9.]*\).*/\1/p')
log "systemd-analyze security netnslinkd.service (online): exposure ${exposure:-?}"
check "exposure ${exposure:-?} is at most $MAX_EXPOSURE" \
        awk -v e="${exposure:-99}" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'

check_eq "the private socket is /run/netnslinkd/private, 0600, root's" "srw------- root" \
        "$(inside stat -c '%A %U' /run/netnslinkd/private)"
check "root's netnslinkctl reaches the daemon there (NETNSLINK_ADDRESS)" \
        inside env NETNSLINK_ADDRESS=unix:path=/run/netnslinkd/private netnslinkctl list
# The CNI plugin the package installs, with its default socket.
check "the package's CNI plugin /usr/lib/cni/netnslink finds the daemon (STATUS)" \
        inside_sh 'CNI_COMMAND=STATUS /usr/lib/cni/netnslink <<<"{\"cniVersion\":\"1.1.0\"}"'

log "the CLI inside, against the sandboxed daemon"
check "a netns made after the start (live-a, lo up)" inside_sh 'ip netns add live-a && ip -n live-a link set lo up'
check "monitor runs (a transient service)" inside systemd-run -q --unit=live-monitor \
        -p StandardOutput=file:/root/live/monitor.log netnslinkctl --json=short monitor
wait_inside 5 test -e /root/live/monitor.log
check "attach live-a sk_lookup web builtin:steer" inside netnslinkctl attach live-a sk_lookup web builtin:steer
check "attach live-a flow_dissector flow builtin:flow" inside netnslinkctl attach live-a flow_dissector flow builtin:flow
check "bind live-a web tcp 127.0.0.0/24 0 www" inside netnslinkctl bind live-a web tcp 127.0.0.0/24 0 www
check "bind live-a web tcp 127.0.0.0/24 8080 alt" inside netnslinkctl bind live-a web tcp 127.0.0.0/24 8080 alt
check "a server in live-a registers its socket with --fd" inside systemd-run -q --unit=live-server-fd \
        -p NetworkNamespacePath=/run/netns/live-a \
        /usr/bin/python3 /root/live/live-server.py steered-fd 127.0.0.1 7000 /usr/bin/netnslinkctl live-a web www
check "... and destinations shows it" wait_until 10 registered live-a web www
check_eq "a connection to 127.0.0.5:80 in live-a is steered to it" steered-fd "$(connect live-a 127.0.0.5 80)"
check_eq "... and one to 127.0.0.200:443" steered-fd "$(connect live-a 127.0.0.200 443)"
check "a second server in live-a, not registered" inside systemd-run -q --unit=live-server-pid \
        -p NetworkNamespacePath=/run/netns/live-a /usr/bin/python3 /root/live/live-server.py steered-pid 127.0.0.1 7001
wait_inside 10 ip netns exec live-a bash -c 'exec 3<>/dev/tcp/127.0.0.1/7001'
check_eq "port 8080 (label alt, no socket yet) falls through: nothing listens there" "no answer" \
        "$(connect live-a 127.0.0.9 8080)"
check "register-pid live-a web alt PID (taken with pidfd_getfd)" \
        inside netnslinkctl register-pid live-a web alt "$(unit_prop live-server-pid.service MainPID)"
check_eq "now port 8080 reaches the second server" steered-pid "$(connect live-a 127.0.0.9 8080)"
check "unregister live-a web alt" inside netnslinkctl unregister live-a web alt
check_eq "... and port 8080 falls through again" "no answer" "$(connect live-a 127.0.0.9 8080)"
check "unbind live-a web tcp 127.0.0.0/24 8080" inside netnslinkctl unbind live-a web tcp 127.0.0.0/24 8080
check_eq "... and port 8080 goes to www" steered-fd "$(connect live-a 127.0.0.9 8080)"
inside_sh 'echo "[{\"protocol\":\"tcp\",\"prefix\":\"127.0.0.0/24\",\"port\":0,\"label\":\"www\"}]" >/root/live/bindings.json'
check "load-bindings live-a web (the same binding from a file)" inside netnslinkctl load-bindings live-a web /root/live/bindings.json
check_eq "bindings lists one binding" 1 "$(inside netnslinkctl --json=short bindings live-a web | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# pid: a process alone in a netns no name leads to.
check "a process in a netns of its own (PrivateNetwork=yes)" inside systemd-run -q --unit=live-pid \
        -p PrivateNetwork=yes sleep infinity
PID=$(unit_prop live-pid.service MainPID)
check "attach pid:$PID flow_dissector flow builtin:flow" inside netnslinkctl attach "pid:$PID" flow_dissector flow builtin:flow
check_eq "the link is in that process's netns" "$(inside stat -L -c %i "/proc/$PID/ns/net")" \
        "$(inside netnslinkctl --json=short show "pid:$PID" flow_dissector flow | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["netns_ino"])')"

# An object the daemon cannot open itself (ProtectHome=yes hides /root from
# it): the CLI opens the file and passes the descriptor.
check "a listener on 127.0.0.1:4242 in netns live-c" inside_sh 'ip netns add live-c && ip -n live-c link set lo up &&
        systemd-run -q --unit=live-server-4242 -p NetworkNamespacePath=/run/netns/live-c \
                /usr/bin/python3 /root/live/live-server.py port-4242 127.0.0.1 4242'
wait_inside 10 ip netns exec live-c bash -c 'exec 3<>/dev/tcp/127.0.0.1/4242'
check_eq "it answers before any program runs" port-4242 "$(connect live-c 127.0.0.1 4242)"
check "attach live-c sk_lookup drop /root/live/live_drop.bpf.o:drop_4242 (passed as a descriptor)" \
        inside netnslinkctl attach live-c sk_lookup drop /root/live/live_drop.bpf.o:drop_4242
check_eq "now connections to port 4242 are dropped" "no answer" "$(connect live-c 127.0.0.1 4242)"
check "update live-c sk_lookup drop to pass_all" inside netnslinkctl update live-c sk_lookup drop /root/live/live_drop.bpf.o:pass_all
check_eq "... and port 4242 answers again" port-4242 "$(connect live-c 127.0.0.1 4242)"
prog=$(inside netnslinkctl --json=short show live-c sk_lookup drop | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])')
check_fails "replace with a wrong --expect is refused" ProgramMismatch \
        inside netnslinkctl replace live-c sk_lookup drop --expect=$((prog + 100000)) /root/live/live_drop.bpf.o:drop_4242
check "replace live-c sk_lookup drop --expect=$prog drop_4242" \
        inside netnslinkctl replace live-c sk_lookup drop "--expect=$prog" /root/live/live_drop.bpf.o:drop_4242
check_eq "... and port 4242 is dropped again" "no answer" "$(connect live-c 127.0.0.1 4242)"
check_eq "list shows the four links" 4 "$(inside netnslinkctl --json=short list | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check "monitor printed the attach of drop" inside grep -q '"name":"drop"' /root/live/monitor.log
inside systemctl stop live-monitor.service

LINKS=$(links_now)
log "links: $LINKS"

log "restart, SIGKILL, stop: nothing lost, the kernel runs the links meanwhile"
check "systemctl restart netnslinkd.service" inside systemctl restart netnslinkd.service
service_ok "after restart"
check_links "after restart"

pid_before=$(unit_prop netnslinkd.service MainPID)
check "systemctl kill --signal=SIGKILL netnslinkd.service" inside systemctl kill --signal=SIGKILL netnslinkd.service
# Restart= may have brought it back already: what counts is the kernel.
check "just after the SIGKILL: the kernel runs every link" kernel_runs "$LINKS"
check_eq "just after the SIGKILL: a connection to 127.0.0.5:80 in live-a is steered" steered-fd "$(connect live-a 127.0.0.5 80)"
check "Restart= brings it back within 10 s" wait_inside 10 bash -c \
        "[ \"\$(systemctl show -P NRestarts netnslinkd.service)\" = 1 ] && systemctl is-active -q netnslinkd.service"
NRESTARTS=1
service_ok "after SIGKILL"
check "... as a new process" test "$(unit_prop netnslinkd.service MainPID)" != "$pid_before"
check_links "after SIGKILL"

check "systemctl stop netnslinkd.service" inside systemctl stop netnslinkd.service
check_eq "stopped" inactive "$(inside systemctl is-active netnslinkd.service)"
check "while stopped: the kernel runs every link" kernel_runs "$LINKS"
check_eq "while stopped: connections are steered" steered-fd "$(connect live-a 127.0.0.5 80)"
check_eq "while stopped: port 4242 in live-c is dropped" "no answer" "$(connect live-c 127.0.0.1 4242)"

log "D-Bus activation"
reply=$(inside busctl call --json=short org.netnslink1 /org/netnslink1 org.netnslink1.Manager ListLinks s "" 2>&1)
check_eq "a call to org.netnslink1 while stopped started netnslinkd.service" active \
        "$(inside systemctl is-active netnslinkd.service)"
check_eq "... and its answer lists the four links" 4 \
        "$("$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["data"][0]))' <<<"$reply" 2>&1)"
NRESTARTS=0    # a start by activation is a new start
service_ok "after activation"
check_links "after activation"

log "socket activation: systemd's socket, registered for steering"
check "netns live-s with lo up, steer link web, a binding for label www" inside_sh '
        ip netns add live-s && ip -n live-s link set lo up &&
        netnslinkctl attach live-s sk_lookup web builtin:steer &&
        netnslinkctl bind live-s web tcp 127.0.0.0/24 0 www'
check "systemctl start live-web.socket (it pulls in live-web-register.service)" inside systemctl start live-web.socket
check "live-web-register.service registered the socket (LISTEN_FDS)" wait_until 10 registered live-s web www
check_eq "... and ended well" "success 0" \
        "$(unit_prop live-web-register.service Result) $(unit_prop live-web-register.service ExecMainStatus)"
check_eq "the server has not started yet" inactive "$(inside systemctl is-active live-web.service)"
check_eq "a connection to 127.0.0.77:443 in live-s is steered to the socket-activated server" socket-activated \
        "$(connect live-s 127.0.0.77 443)"
check_eq "... which that connection started" active "$(inside systemctl is-active live-web.service)"
check_eq "... and so is one to 127.0.0.1:22" socket-activated "$(connect live-s 127.0.0.1 22)"
check "systemctl stop live-web.socket live-web.service" inside systemctl stop live-web.socket live-web.service
check_eq "the socket's ExecStopPost unregistered it" "-" "$(socket_of live-s web www)"
check "detach live-s sk_lookup web" inside netnslinkctl detach live-s sk_lookup web
LINKS=$(links_now)

log "upgrade, remove, purge, install again: no link is detached"
pid_before=$(unit_prop netnslinkd.service MainPID)
check "apt-get install --reinstall (the upgrade path of the maintainer scripts)" \
        inside apt-get install -y -q --reinstall "$DEB_INSIDE"
check "the postinst restarted the daemon" test "$(unit_prop netnslinkd.service MainPID)" != "$pid_before"
service_ok "after the upgrade"
check_links "after the upgrade"
check "apt-get remove netnslink" inside apt-get remove -y -q netnslink
check_eq "the prerm stopped the daemon" inactive "$(inside systemctl is-active netnslinkd.service)"
check "after remove: the kernel runs every link" kernel_runs "$LINKS"
check_eq "after remove: connections are steered" steered-fd "$(connect live-a 127.0.0.5 80)"
check "apt-get purge netnslink" inside apt-get purge -y -q netnslink
check "after purge: the enable state is gone" inside test ! -e /etc/systemd/system/multi-user.target.wants/netnslinkd.service
check "after purge: the pins are still there" inside test -d /sys/fs/bpf/netnslinkd/"$(inside stat -L -c %i /run/netns/live-a)"
check "after purge: the kernel runs every link" kernel_runs "$LINKS"
check "apt-get install ./$(basename "$LIVE_DEB") again" inside apt-get install -y -q "$DEB_INSIDE"
check_eq "the postinst enabled netnslinkd.service again" enabled "$(inside systemctl is-enabled netnslinkd.service)"
NRESTARTS=0
service_ok "installed again (started by the postinst)"
check_links "installed again"

check_no_errors "boot 1"
inside systemctl stop live-server-fd.service live-server-pid.service live-server-4242.service live-pid.service
check "boot 1: systemctl poweroff ends the container" live_poweroff 60

# --- boot 2: PID 1 mounts bpffs ------------------------------------------------

# bpffs mounted early at boot, before netnslinkd, as PID 1 does on a host
# (systemd refuses a mount unit for this API file system, and does not
# mount it in a container).
cat >"$LIVE_ROOT/etc/systemd/system/live-bpffs.service" <<'EOF'
[Unit]
DefaultDependencies=no
Before=sysinit.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/mount -t bpf -o mode=0700 bpf /sys/fs/bpf
[Install]
WantedBy=sysinit.target
EOF
ln -s ../live-bpffs.service "$LIVE_ROOT/etc/systemd/system/sysinit.target.wants/live-bpffs.service"
# The configuration (netnslink.conf(5)): a steer link in netns live-c, which
# a unit makes at boot, and a server that registers its socket at start.
# Nothing calls the daemon to make the link.
mkdir -p "$LIVE_ROOT/etc/netnslink/links.d"
cat >"$LIVE_ROOT/etc/netnslink/links.d/live-web.conf" <<'EOF'
[Match]
Netns=live-c

[Link]
Type=sk_lookup
Name=web
Program=builtin:steer

[Binding]
Protocol=tcp
Prefix=127.0.0.0/24
Port=80
Label=www
EOF
cat >"$LIVE_ROOT/etc/systemd/system/live-cnetns.service" <<'EOF'
[Unit]
Description=live tier: netns live-c, made at boot
Before=netnslinkd.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'ip netns add live-c && ip -n live-c link set lo up'
[Install]
WantedBy=multi-user.target
EOF
cat >"$LIVE_ROOT/etc/systemd/system/live-cserver.service" <<'EOF'
[Unit]
Description=live tier: a server in live-c that registers its socket at start
Requires=live-cnetns.service
After=live-cnetns.service netnslinkd.service
[Service]
NetworkNamespacePath=/run/netns/live-c
ExecStart=/usr/bin/python3 /root/live/live-server.py config-steered 127.0.0.1 7200 /usr/bin/netnslinkctl live-c web www
[Install]
WantedBy=multi-user.target
EOF
for u in live-cnetns.service live-cserver.service; do
        ln -s "../$u" "$LIVE_ROOT/etc/systemd/system/multi-user.target.wants/$u"
done
# The source tree and the build, for scripts/demo.sh.
binds=(--bind-ro="$NL_SOURCE")
[[ "$NL_BUILD/" == "$NL_SOURCE/"* ]] || binds+=(--bind-ro="$NL_BUILD")
live_boot "${binds[@]}" || { finish; exit 1; }
check_eq "boot 2: bpffs was mounted early at boot (live-bpffs.service)" active "$(inside systemctl is-active live-bpffs.service)"
check_eq "boot 2: the enabled daemon started at boot" active "$(inside systemctl is-active netnslinkd.service)"
NRESTARTS=0
service_ok "boot 2"
check_eq "boot 2: one bpffs at /sys/fs/bpf (netnslinkd-pin-root.service mounted none)" 1 \
        "$(inside findmnt -n -t bpf /sys/fs/bpf | wc -l)"
check "boot 2: the pin root is there again" inside test -d /sys/fs/bpf/netnslinkd

log "boot 2: the configuration made its link, with nothing calling the daemon"
cfg_link() {
        inside netnslinkctl --json=short list | "$PY" -c '
import json, sys
print(" ".join(sorted("%s/%s=%s" % (l["name"], l["attach_type"], l.get("source", "")) for l in json.load(sys.stdin))))'
}
check_eq "boot 2: the one link is the configured one (a reboot takes bpffs and every netns)" \
        "web/sk_lookup=config:/etc/netnslink/links.d/live-web.conf" "$(cfg_link)"
check_eq "boot 2: its binding is the file's" "tcp 127.0.0.0/24 80 www" \
        "$(inside netnslinkctl --json=short bindings live-c web | "$PY" -c '
import json, sys
print(" ".join("%s %s %s %s" % (b["protocol"], b["prefix"], b["port"], b["label"]) for b in json.load(sys.stdin)))')"
check "boot 2: live-cserver.service registered its socket at start" wait_until 10 registered live-c web www
check_eq "boot 2: a connection to 127.0.0.88:80 in live-c is steered to it" config-steered \
        "$(connect live-c 127.0.0.88 80)"
check "boot 2: a second binding in the file" inside_sh \
        'printf "[Binding]\nProtocol=tcp\nPrefix=127.0.1.0/24\nPort=0\nLabel=www\n" >> /etc/netnslink/links.d/live-web.conf'
check "boot 2: netnslinkctl verify takes the files" inside netnslinkctl verify
check "boot 2: systemctl reload netnslinkd" inside systemctl reload netnslinkd
steered_again() { [ "$(connect live-c 127.0.1.9 8080)" = config-steered ]; }
check "boot 2: ... applied it (127.0.1.9:8080 in live-c is steered)" wait_until 5 steered_again
check_eq "boot 2: ... without a restart" "0 active" \
        "$(unit_prop netnslinkd.service NRestarts) $(inside systemctl is-active netnslinkd.service)"

log "boot 2: metrics over HTTP (netnslink-metrics.socket)"
check_eq "boot 2: netnslink-metrics.socket is listening" active "$(inside systemctl is-active netnslink-metrics.socket)"
metrics_http=$(inside "$PY" -c '
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9851/metrics", timeout=5).read().decode())' 2>&1)
if grep -q '^netnslink_steer_lookups_total{.*link="web".*} [1-9]' <<<"$metrics_http"; then
        pass "boot 2: GET /metrics answers with the steer link's lookups"
else
        fail "boot 2: GET /metrics answers with the steer link's lookups" "answer: $(head -c 800 <<<"$metrics_http")" \
                "journal: $(inside journalctl -b -q -n 20 -u 'netnslink-metrics@*' 2>&1)"
fi
inside systemctl stop live-cserver.service
check "boot 2: the file removed, systemctl reload netnslinkd" inside_sh \
        'rm /etc/netnslink/links.d/live-web.conf && systemctl reload netnslinkd'
no_links() { [ -z "$(links_now)" ]; }
check "boot 2: ... detached the link the file made" wait_until 5 no_links

log "scripts/demo.sh, systemd path"
if out=$(inside "$NL_SOURCE/scripts/demo.sh" "$NL_BUILD" 2>&1); then
        pass "scripts/demo.sh runs under systemd"
else
        fail "scripts/demo.sh runs under systemd" "$(tail -n 30 <<<"$out")"
fi
check "the demo ran as netnslinkd.service" grep -q 'Starting the daemon (systemd)' <<<"$out"
check_eq "the demo's connections were answered (6 answers: 5 steered, 1 direct)" 6 "$(grep -c 'hello from pid' <<<"$out")"
check_eq "the demo left no link" "" "$(links_now)"

log "purge, and the pins removed by hand as netnslinkd(8) says"
check "a link to remove" inside_sh 'ip netns add live-p && netnslinkctl attach live-p flow_dissector flow builtin:flow'
LINKS=$(links_now)
check "apt-get purge netnslink" inside apt-get purge -y -q netnslink
check "after purge: the kernel runs the link" kernel_runs "$LINKS"
check "rm -r /sys/fs/bpf/netnslinkd" inside rm -r /sys/fs/bpf/netnslinkd
link_id=${LINKS##*=}
link_id=${link_id%%:*}
check "... detached it (link $link_id is gone from the kernel)" wait_inside 5 bash -c "! bpftool link show id $link_id"
check_no_errors "boot 2"
check "boot 2: systemctl poweroff ends the container" live_poweroff 60

finish
