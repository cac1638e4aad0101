#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package, offline: its name, its dependencies (the libraries the
# binaries need, found by dpkg-shlibdeps, plus dbus, systemd and
# init-system-helpers), the same files as `cmake --install`, and what its
# maintainer scripts call, run against stand-ins for systemctl and
# deb-systemd-*. tests/live installs it under systemd for real.

. "$NL_SOURCE/tests/harness/harness.sh"
. "$NL_SOURCE/tests/install/stage.sh"

command -v cpack >/dev/null && command -v dpkg-shlibdeps >/dev/null ||
        { printf '1..0 # SKIP cpack or dpkg-shlibdeps (dpkg-dev) missing\n'; exit 77; }

stage_install || { finish; exit 1; }
if ! cpack -G DEB --config "$NL_BUILD/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1; then
        fail "cpack makes the package" "$(tail -n 20 "$T/cpack.log")"
        finish; exit 1
fi
version=$("$NLD_INSTALLED" --version | awk '{ print $NF }')
DEB="$T/pkg/netnslink_${version}_amd64.deb"
check "the package is netnslink_${version}_amd64.deb" test -s "$DEB"
check_eq "Package, Version, Architecture" "netnslink $version amd64" \
        "$(dpkg-deb -f "$DEB" Package Version Architecture | sed 's/^[A-Za-z]*: //' | xargs)"

log "dependencies"
depends=$(dpkg-deb -f "$DEB" Depends)
log "Depends: $depends"
dep_names=$(tr ',' '\n' <<<"$depends" | sed 's/^ *\([^ ]*\).*/\1/' | sort -u)
for p in dbus systemd init-system-helpers; do
        check "it depends on $p" grep -qx "$p" <<<"$dep_names"
done
# Each library a binary links to comes from a package it depends on.
for lib in $(readelf -d "$NLD_INSTALLED" "$CTL_INSTALLED" "$CNI_INSTALLED" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
        owner=$(dpkg -S "*/$lib" 2>/dev/null | sed -n '1s/:.*//p')
        if [ -n "$owner" ] && grep -qx "$owner" <<<"$dep_names"; then
                pass "$lib: it depends on $owner"
        else
                fail "$lib: it depends on the package that has it" "owner: ${owner:-none found}" "Depends: $depends"
        fi
done

log "contents"
files_of() { (cd "$1" && find . \( -type f -o -type l \) ! -path './DEBIAN/*' | sort); }
dpkg-deb -x "$DEB" "$T/unpacked"
check_eq "the package has the files of cmake --install --prefix /usr" "$(files_of "$STAGE")" "$(files_of "$T/unpacked")"
check "... and the same units" cmp "$UNIT" "$T/unpacked/usr/lib/systemd/system/netnslinkd.service"

log "maintainer scripts"
dpkg-deb -e "$DEB" "$T/control"
for s in postinst prerm postrm; do
        check "$s: mode 0755" test "$(stat -c %a "$T/control/$s")" = 755
        check "$s: sh -n" sh -n "$T/control/$s"
done

# Stand-ins that log their arguments; was-enabled answers $WAS_ENABLED (for
# both units the package enables: netnslinkd.service, netnslink-metrics.socket).
mkdir -p "$T/stubs"
for tool in systemctl deb-systemd-helper deb-systemd-invoke; do
        cat >"$T/stubs/$tool" <<'EOF'
#!/bin/sh
echo "${0##*/} $*" >>"$CALLS"
case "$*" in "--quiet was-enabled "*) exit "$WAS_ENABLED";; esac
exit 0
EOF
        chmod 755 "$T/stubs/$tool"
done
# This test's own /run (a private mount namespace): systemd "runs" when
# /run/systemd/system exists.
mount -t tmpfs -o mode=755 netnslink-test-run /run
# calls SYSTEMD WAS_ENABLED SCRIPT ARG...: what SCRIPT called, one per line.
calls() {
        if [ "$1" = yes ]; then mkdir -p /run/systemd/system; else rm -rf /run/systemd; fi
        : >"$T/calls"
        env -i PATH="$T/stubs:/usr/bin:/bin" CALLS="$T/calls" WAS_ENABLED="$2" sh "$T/control/$3" "${@:4}" ||
                echo "exit status $?"
        cat "$T/calls"
}
check_eq "postinst configure (first install): enable, reload the bus policy, start" \
"deb-systemd-helper unmask netnslinkd.service
deb-systemd-helper --quiet was-enabled netnslinkd.service
deb-systemd-helper enable netnslinkd.service
deb-systemd-helper unmask netnslink-metrics.socket
deb-systemd-helper --quiet was-enabled netnslink-metrics.socket
deb-systemd-helper enable netnslink-metrics.socket
systemctl --system daemon-reload
systemctl --quiet is-active dbus.service
systemctl reload dbus.service
deb-systemd-invoke start netnslinkd.service
deb-systemd-invoke start netnslink-metrics.socket" "$(calls yes 0 postinst configure)"
check_eq "postinst configure OLD (upgrade of a disabled service): keep it disabled, restart (deb-systemd-invoke skips disabled units)" \
"deb-systemd-helper unmask netnslinkd.service
deb-systemd-helper --quiet was-enabled netnslinkd.service
deb-systemd-helper update-state netnslinkd.service
deb-systemd-helper unmask netnslink-metrics.socket
deb-systemd-helper --quiet was-enabled netnslink-metrics.socket
deb-systemd-helper update-state netnslink-metrics.socket
systemctl --system daemon-reload
systemctl --quiet is-active dbus.service
systemctl reload dbus.service
deb-systemd-invoke restart netnslinkd.service
deb-systemd-invoke start netnslink-metrics.socket" "$(calls yes 1 postinst configure 0.0.1)"
check_eq "postinst configure without systemd running (a chroot): enable only" \
"deb-systemd-helper unmask netnslinkd.service
deb-systemd-helper --quiet was-enabled netnslinkd.service
deb-systemd-helper enable netnslinkd.service
deb-systemd-helper unmask netnslink-metrics.socket
deb-systemd-helper --quiet was-enabled netnslink-metrics.socket
deb-systemd-helper enable netnslink-metrics.socket" "$(calls no 0 postinst configure)"
check_eq "prerm remove: stop" "deb-systemd-invoke stop netnslink-metrics.socket
deb-systemd-invoke stop netnslinkd.service" "$(calls yes 0 prerm remove)"
check_eq "prerm upgrade: nothing (postinst restarts)" "" "$(calls yes 0 prerm upgrade 0.1.0)"
check_eq "postrm remove: daemon-reload" "systemctl --system daemon-reload" "$(calls yes 0 postrm remove)"
check_eq "postrm purge: forget the enable state, daemon-reload (tests/live: the pins stay)" \
"deb-systemd-helper purge netnslinkd.service
deb-systemd-helper unmask netnslinkd.service
deb-systemd-helper purge netnslink-metrics.socket
deb-systemd-helper unmask netnslink-metrics.socket
systemctl --system daemon-reload" "$(calls yes 0 postrm purge)"

finish
