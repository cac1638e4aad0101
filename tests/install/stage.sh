# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by tests/install/test-*.sh after tests/harness/harness.sh: installs
# the build into a staging folder, as a package build would, and names the
# installed files.

STAGE="$T/stage"
UNIT="$STAGE/usr/lib/systemd/system/netnslinkd.service"
PIN_ROOT_UNIT="$STAGE/usr/lib/systemd/system/netnslinkd-pin-root.service"
POLICY="$STAGE/usr/share/dbus-1/system.d/org.netnslink1.conf"
ACTIVATION="$STAGE/usr/share/dbus-1/system-services/org.netnslink1.service"
COMPLETION="$STAGE/usr/share/bash-completion/completions/netnslinkctl"
MAN_PAGES=(man8/netnslinkd.8 man8/netnslinkctl.8 man8/netnslink-cni.8 man5/org.netnslink1.5 man5/netnslink.conf.5)
NLD_INSTALLED="$STAGE/usr/sbin/netnslinkd"
CTL_INSTALLED="$STAGE/usr/bin/netnslinkctl"
# Where runtimes look for CNI plugins (Debian's containernetworking-plugins too).
CNI_INSTALLED="$STAGE/usr/lib/cni/netnslink"

stage_install() {
        if ! DESTDIR="$STAGE" cmake --install "$NL_BUILD" --prefix /usr >"$T/install.log" 2>&1; then
                fail "cmake --install into a staging DESTDIR" "$(cat "$T/install.log")"
                return 1
        fi
        pass "cmake --install --prefix /usr into a staging DESTDIR"
}

# in_installed_view CMD...: runs CMD in a private mount namespace where /usr
# is the staged files over the host's, so that paths in the unit
# (/usr/sbin/netnslinkd, man pages, dbus.socket) resolve as after a real
# install, and nothing of the host changes.
in_installed_view() {
        unshare --mount --propagation private sh -c \
                'mount -t overlay netnslink-stage -o lowerdir="$0/usr":/usr /usr && exec "$@"' "$STAGE" "$@"
}
