#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# contrib/kubernetes, offline: every manifest parses and names only the
# paths and capabilities the daemon really uses, the ConfigMap's files pass
# the build's `netnslinkctl verify`, and the Containerfile installs the
# package and runs the daemon's installed binary (check-kubernetes.py says
# how each is found out). Then the checker is shown to refuse manifests
# changed in the ways this test exists to catch: each change must make a
# named check fail.
#
# Needs no daemon, bus or netns, so it does not source the harness; it
# prints TAP lines of its own and exits non-zero on any failure.

set -u
: "${NL_BUILD:?NL_BUILD must name the build folder}"
: "${NL_SOURCE:?NL_SOURCE must name the source folder}"

PY=/usr/bin/python3
CHECK="$NL_SOURCE/tests/contrib/check-kubernetes.py"
K8S="$NL_SOURCE/contrib/kubernetes"
T=$(mktemp -d /tmp/nlk8sXXXXXX)
trap 'rm -rf "$T"' EXIT
N=0
FAILED=0

say() {
        N=$((N + 1))
        if [ "$1" = ok ]; then printf 'ok %d - %s\n' "$N" "$2"; else
                FAILED=$((FAILED + 1)); printf 'not ok %d - %s\n' "$N" "$2"
                shift 2; [ $# -gt 0 ] && printf '#   %s\n' "$@"
        fi
        return 0
}

finish() {
        printf '%d passed, %d failed\n' "$((N - FAILED))" "$FAILED"
        [ "$FAILED" -eq 0 ]
        exit
}

if ! "$PY" -c 'import yaml' 2>/dev/null; then
        say fail "python3-yaml is installed (scripts/install-deps.sh)"
        finish
fi

STAGE="$T/stage"
if DESTDIR="$STAGE" cmake --install "$NL_BUILD" --prefix /usr >"$T/install.log" 2>&1; then
        say ok "cmake --install --prefix /usr into a staging DESTDIR"
else
        say fail "cmake --install --prefix /usr into a staging DESTDIR" "$(tail -n 20 "$T/install.log")"
        finish
fi

# The manifests as they are: every check passes.
"$PY" "$CHECK" "$K8S" "$NL_SOURCE" "$NL_BUILD" "$STAGE" "$((N + 1))" >"$T/real.out" 2>&1
rc=$?
cat "$T/real.out"
N=$((N + $(grep -c '^\(not \)\?ok ' "$T/real.out")))
FAILED=$((FAILED + $(grep -c '^not ok ' "$T/real.out")))
if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$T/real.out"; then
        say fail "check-kubernetes.py ran to its end" "exit $rc"
fi

# mutant DESC FILE SED_SCRIPT EXPECTED [CHECK]: a copy of the manifests with
# FILE changed by SED_SCRIPT must fail the check whose line contains
# EXPECTED; for the unchanged manifests, a line containing CHECK (default:
# EXPECTED) must say ok, so that the refusal is the change's doing.
mutant() {
        local desc=$1 file=$2 script=$3 want=$4 base=${5:-$4} dir
        if ! grep -F -- "$base" "$T/real.out" | grep -q '^ok '; then
                say fail "$desc: the check '$base' passes on the manifests as they are" \
                        "$(grep -F -- "$base" "$T/real.out" || echo "no line names it")"
                return
        fi
        dir=$(mktemp -d "$T/mutantXXXXXX")
        cp -r "$K8S/." "$dir/"
        sed -i -e "$script" "$dir/$file"
        if cmp -s "$K8S/$file" "$dir/$file"; then
                say fail "$desc: the change applies to $file" "sed: $script"
                return
        fi
        "$PY" "$CHECK" "$dir" "$NL_SOURCE" "$NL_BUILD" "$STAGE" >"$dir.out" 2>&1
        rc=$?
        if [ "$rc" -ne 0 ] && grep -F -- "$want" "$dir.out" | grep -q '^not ok '; then
                say ok "$desc: refused ($(grep '^not ok ' "$dir.out" | grep -F -m1 -- "$want" | sed 's/^not ok [0-9]* - //'))"
        else
                say fail "$desc: refused by the check '$want'" "exit $rc" \
                        "$(grep -F -- "$want" "$dir.out" || echo "no line names it")"
        fi
}

# The node's system bus, commented out in daemonset.yaml, may be mounted:
# uncommented, it is a path the daemon uses and breaks no other check.
dir=$(mktemp -d "$T/variantXXXXXX")
cp -r "$K8S/." "$dir/"
sed -i -e '/# - name: system-bus/,/# *\(mountPath: \/run\/dbus\|type: Directory\)$/s/# //' "$dir/daemonset.yaml"
"$PY" "$CHECK" "$dir" "$NL_SOURCE" "$NL_BUILD" "$STAGE" >"$dir.out" 2>&1
new_failures=$(comm -23 <(sed -n 's/^not ok [0-9]* - //p' "$dir.out" | sort) <(sed -n 's/^not ok [0-9]* - //p' "$T/real.out" | sort))
if grep -q '^ok .* hostPath /run/dbus is a path the daemon uses' "$dir.out" && [ -z "$new_failures" ]; then
        say ok "the optional system bus mount, uncommented, passes too"
else
        say fail "the optional system bus mount, uncommented, passes too" "$(grep -F /run/dbus "$dir.out" || echo "no line names /run/dbus")" "$new_failures"
fi

mutant "a capability the daemon drops (NET_RAW)" daemonset.yaml \
        's/"SYS_PTRACE"\]/"SYS_PTRACE", "NET_RAW"]/' "the daemon gets exactly the capabilities"
mutant "a capability the daemon keeps left out (SYS_PTRACE)" daemonset.yaml \
        's/, "SYS_PTRACE"\]/]/' "the daemon gets exactly the capabilities"
mutant "the node's /sys instead of its bpffs" daemonset.yaml \
        's|path: /sys/fs/bpf$|path: /sys|' "hostPath /sys is a path the daemon uses" \
        "hostPath /sys/fs/bpf is a path the daemon uses"
mutant "the node's /var/lib/kubelet instead of /run/netns" daemonset.yaml \
        's|path: /run/netns$|path: /var/lib/kubelet|' "hostPath /var/lib/kubelet is a path the daemon uses" \
        "hostPath /run/netns is a path the daemon uses"
mutant "privileged: true" daemonset.yaml \
        '/runAsUser: 0/a\            privileged: true' "netnslinkd: not privileged"
mutant "another pin root than the package's" daemonset.yaml \
        's|--pin-root=/sys/fs/bpf/netnslinkd|--pin-root=/sys/fs/bpf/elsewhere|' "the pin root is the package's"
mutant "an option netnslinkd does not have" daemonset.yaml \
        's|--pin-root=|--pin-path=|' "netnslinkd knows --pin-path" "netnslinkd knows --pin-root"
mutant "the plugin installed under another name" daemonset.yaml \
        's|/host/opt/cni/bin/netnslink$|/host/opt/cni/bin/netnslink-plugin|' "puts it at /host/opt/cni/bin/netnslink"
mutant "a configuration file the daemon refuses" configmap.yaml \
        's/Type=flow_dissector/Type=flow-dissector/' "netnslinkctl verify accepts"
mutant "a ConfigMap key the daemon does not read" configmap.yaml \
        's/^  web.conf: |$/  web.ini: |/' "ConfigMap key web.ini is a name the daemon reads" \
        "ConfigMap key web.conf is a name the daemon reads"
mutant "an ENTRYPOINT the package does not install" Containerfile \
        's|ENTRYPOINT \["/usr/sbin/netnslinkd"\]|ENTRYPOINT ["/usr/bin/netnslinkd"]|' "its ENTRYPOINT"
mutant "an image not built on Debian 12" Containerfile \
        's|^FROM debian:bookworm-slim|FROM debian:trixie-slim|' "it builds FROM Debian 12"
mutant "the plugin pointed at another socket" examples/chained.conflist \
        's|"/run/netnslinkd/private"|"/run/netnslinkd.sock"|' "its socket is the daemon's private socket"

finish
