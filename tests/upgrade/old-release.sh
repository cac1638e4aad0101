#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# old-release.sh SOURCE COMMIT: builds netnslinkd and netnslinkctl of an
# earlier release from SOURCE's git history (git archive, no checkout: the
# working tree is never touched), once, and prints the folder that holds
# both. Cached in $NETNSLINK_TEST_CACHE (default /var/cache/netnslink-tests)
# by commit. Exit 77 when SOURCE has no such history (a tarball of the tree).
set -euo pipefail
src=$1 commit=$2
CACHE=${NETNSLINK_TEST_CACHE:-/var/cache/netnslink-tests}
out="$CACHE/release-$commit"
if [ -x "$out/netnslinkd" ] && [ -x "$out/netnslinkctl" ]; then
	echo "$out"
	exit 0
fi
if ! git -C "$src" cat-file -e "$commit^{commit}" 2>/dev/null; then
	echo "old-release: $src has no commit $commit (not a git clone with history)" >&2
	exit 77
fi
mkdir -p "$CACHE"
exec 9>"$CACHE/.release-$commit.lock"
flock 9
[ -x "$out/netnslinkd" ] && { echo "$out"; exit 0; }
work=$(mktemp -d "$CACHE/release-build-XXXXXX")
trap 'rm -rf "$work"' EXIT
git -C "$src" archive "$commit" | tar -x -C "$work"
{
	cmake -S "$work" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF &&
	cmake --build "$work/build" -j"$(nproc)" --target netnslinkd netnslinkctl
} >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
mkdir -p "$out.tmp"
cp "$work/build/src/daemon/netnslinkd" "$work/build/src/ctl/netnslinkctl" "$out.tmp/"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out"
