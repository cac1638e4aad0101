# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by tests/upgrade/test-*.sh, after tests/harness/harness.sh and
# traffic.sh.

# start_old_release COMMIT: builds that release's daemon and CLI from git
# history (old-release.sh; exits 77 when this tree has none), starts the
# test's bus and bpffs and that daemon on them, and makes netns A with
# local prefixes for traffic. Sets OLD, OLDCTL, NEW_NLD (today's daemon)
# and A. The old daemon knows no --config-root or --private-socket.
start_old_release() {
        local commit=$1 rc
        OLD=$("$NL_SOURCE/tests/upgrade/old-release.sh" "$NL_SOURCE" "$commit")
        rc=$?
        [ $rc -eq 77 ] && { echo "# SKIP: $commit cannot be built from this tree's history"; exit 77; }
        [ $rc -eq 0 ] || { echo "building release $commit failed" >&2; exit 1; }
        OLDCTL="$OLD/netnslinkctl"
        NEW_NLD=$NLD
        start_bus && mount_pins || exit 1
        NLD="$OLD/netnslinkd" NLD_EXTRA="" NLD_PRIVATE="" start_daemon || exit 1
        A=$(make_netns a)
        TRAFFIC_NS=$A
        check "netns with local prefixes" local_prefixes
}
