#!/bin/sh
# Installs, by Debian 12 package name, everything netnslink needs to build,
# test and run. Idempotent; safe to re-run. The second group serves the
# live tiers: debootstrap and systemd-nspawn (tests/live), qemu (tests/kernels),
# and the .deb package (dpkg-shlibdeps, file). dbus-broker: bench/daemon/run.sh
# measures the control plane through it beside dbus-daemon.
set -eu
PKGS="build-essential cmake pkg-config clang clang-tidy llvm bpftool libbpf-dev
libsystemd-dev libmnl-dev libcap-dev libjansson-dev libinih-dev linux-libc-dev iproute2 dbus
dbus-daemon dbus-broker libglib2.0-bin systemd python3 python3-dbus man-db bash-completion util-linux
procps python3-fusepy prometheus
debootstrap systemd-container qemu-system-x86 dpkg-dev file e2fsprogs zstd cpio"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "netnslink: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
