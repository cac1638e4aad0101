#!/bin/bash
# The whole test suite: installs what is needed, builds twice (release, and
# ASan+UBSan) and runs every test through ctest in both builds. Run as root:
# the tests use the real kernel (BPF, netns, bpffs), each in private
# namespaces, and leave nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DNETNSLINK_SANITIZE=ON
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
# The live tiers (systemd-nspawn: label systemd; Debian's kernels under
# qemu: label kernels) install the release build's .deb and test what a
# user runs, so they run once, with the release build; so does the podman
# tier (a real container runtime running the CNI plugin: label podman).
echo "== ctest: sanitizer build (ASan + UBSan), without the live tiers"
ctest --test-dir build-asan --output-on-failure -LE 'systemd|kernels|podman' "$@" || status=1
echo "== ctest: release build, with the live tiers"
ctest --test-dir build --output-on-failure "$@" || status=1
exit $status
