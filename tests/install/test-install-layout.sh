#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed tree: every file where systemd, D-Bus, man and bash-completion
# look; the units verify and the daemon's exposure is at most 2.0, and the
# pin root is made before its sandbox needs it; the policy is the
# one the tests' private bus uses; the man pages render without warnings and
# list the same options and commands as --help.

. "$NL_SOURCE/tests/harness/harness.sh"
. "$NL_SOURCE/tests/install/stage.sh"

MAX_EXPOSURE=2.0

stage_install || { finish; exit 1; }

log "files in place"
for f in "$NLD_INSTALLED" "$CTL_INSTALLED" "$CNI_INSTALLED"; do
        check "${f#"$STAGE"} is executable" test -x "$f"
done
for f in "$UNIT" "$PIN_ROOT_UNIT" "$POLICY" "$ACTIVATION" "$COMPLETION" "${MAN_PAGES[@]/#/$STAGE/usr/share/man/}"; do
        check "${f#"$STAGE"} is installed" test -s "$f"
done

log "bus policy"
check "the installed policy is byte-identical to the test harness's ($BUS_POLICY)" cmp "$BUS_POLICY" "$POLICY"
check "the installed policy is well-formed XML" python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$POLICY"

log "D-Bus activation file"
check_eq "activation file names the bus name" "org.netnslink1" "$(sed -n 's/^Name=//p' "$ACTIVATION")"
check_eq "activation file hands over to the unit" "netnslinkd.service" "$(sed -n 's/^SystemdService=//p' "$ACTIVATION")"
check_eq "activation file runs as root" "root" "$(sed -n 's/^User=//p' "$ACTIVATION")"

log "the unit"
unit_value() { sed -n "s/^$1=//p" "${2:-$UNIT}" | tail -n 1; }
check_eq "Type=notify" notify "$(unit_value Type)"
check_eq "BusName=org.netnslink1" org.netnslink1 "$(unit_value BusName)"
check_eq "Restart=on-failure" on-failure "$(unit_value Restart)"
check_eq "ExecStart names the installed daemon" "/usr/sbin/netnslinkd" "$(unit_value ExecStart | cut -d' ' -f1)"
pin_root=$(unit_value ExecStart | sed -n 's/.*--pin-root=\([^ ]*\).*/\1/p')
check_eq "the pin root is the only writable path" "$pin_root" "$(unit_value ReadWritePaths)"
# ReadWritePaths= needs the pin root before the sandbox is set up, which is
# before any command of the unit runs: netnslinkd-pin-root.service makes it.
for key in Requires After; do
        check "netnslinkd.service has $key=netnslinkd-pin-root.service" \
                grep -qE "^$key=(.* )?netnslinkd-pin-root\.service( |$)" "$UNIT"
done
check_eq "netnslinkd-pin-root.service makes that pin root" "/bin/mkdir -p -m 0700 $pin_root" \
        "$(unit_value ExecStart "$PIN_ROOT_UNIT")"
check_eq "netnslinkd-pin-root.service is a oneshot" oneshot "$(unit_value Type "$PIN_ROOT_UNIT")"
check_eq "ProtectSystem=strict" strict "$(unit_value ProtectSystem)"
check_eq "LimitMEMLOCK=infinity" infinity "$(unit_value LimitMEMLOCK)"
check_eq "LimitNOFILE=524288" 524288 "$(unit_value LimitNOFILE)"
# The four capabilities of src/daemon/caps.h, in any order and case.
caps_daemon=$(sed -n 's/^#define NETNSLINKD_CAPS_STRING "\(.*\)"/\1/p' "$NL_SOURCE/src/daemon/caps.h" |
        tr ',' '\n' | tr '[:lower:]' '[:upper:]' | sort | xargs)
for key in CapabilityBoundingSet AmbientCapabilities; do
        check_eq "$key= is the daemon's own set (caps.h)" "$caps_daemon" "$(unit_value "$key" | tr ' ' '\n' | sort | xargs)"
done

# systemd-analyze checks the executables and man pages a unit names; in the
# staged view they are the installed ones.
for u in netnslinkd.service netnslinkd-pin-root.service netnslink-metrics.socket netnslink-metrics@.service; do
        if out=$(in_installed_view systemd-analyze verify "/usr/lib/systemd/system/$u" 2>&1) && [ -z "$out" ]; then
                pass "systemd-analyze verify: the installed $u, its commands and its man pages"
        else
                fail "systemd-analyze verify: the installed $u, its commands and its man pages" "$out"
        fi
done
security=$(in_installed_view systemd-analyze security --offline=true --no-pager \
        /usr/lib/systemd/system/netnslinkd.service 2>&1)
exposure=$(printf '%s\n' "$security" | sed -n 's/.*Overall exposure level for netnslinkd.service: \([0-9.]*\).*/\1/p')
log "systemd-analyze security --offline=true: exposure ${exposure:-?} (at most $MAX_EXPOSURE)"
if [ -n "$exposure" ] && awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'; then
        pass "exposure $exposure is at most $MAX_EXPOSURE"
else
        fail "exposure ${exposure:-?} is at most $MAX_EXPOSURE" "$(printf '%s\n' "$security" | grep '✗')"
fi

log "the metrics units (netnslink-metrics.socket, Accept=yes)"
METRICS_SOCKET="$STAGE/usr/lib/systemd/system/netnslink-metrics.socket"
METRICS_SERVICE="$STAGE/usr/lib/systemd/system/netnslink-metrics@.service"
check_eq "the metrics socket listens on 127.0.0.1:9851" "127.0.0.1:9851" "$(unit_value ListenStream "$METRICS_SOCKET")"
check_eq "the metrics socket accepts each connection" yes "$(unit_value Accept "$METRICS_SOCKET")"
check_eq "the metrics service runs the installed netnslinkctl metrics --http" \
        "/usr/bin/netnslinkctl metrics --http" "$(unit_value ExecStart "$METRICS_SERVICE")"
check_eq "the metrics service keeps no capability" "" "$(unit_value CapabilityBoundingSet "$METRICS_SERVICE")"
# The sandbox of the main unit or tighter: every setting netnslinkd.service
# has, the same, except those the metrics service has no need to loosen.
for key in NoNewPrivileges ProtectSystem ProtectHome PrivateTmp PrivateDevices DevicePolicy ProtectKernelTunables \
        ProtectKernelModules ProtectKernelLogs ProtectControlGroups ProtectClock ProtectHostname ProtectProc \
        ProcSubset UMask PrivateNetwork IPAddressDeny RestrictNamespaces SystemCallErrorNumber \
        SystemCallArchitectures MemoryDenyWriteExecute LockPersonality RestrictRealtime RestrictSUIDSGID RemoveIPC \
        KeyringMode; do
        check_eq "the metrics service has $key= as netnslinkd.service" "$(unit_value "$key")" \
                "$(unit_value "$key" "$METRICS_SERVICE")"
done
check_eq "the metrics service may open only AF_UNIX sockets (the bus)" AF_UNIX \
        "$(unit_value RestrictAddressFamilies "$METRICS_SERVICE")"
security=$(in_installed_view systemd-analyze security --offline=true --no-pager \
        /usr/lib/systemd/system/netnslink-metrics@.service 2>&1)
m_exposure=$(printf '%s\n' "$security" | sed -n 's/.*Overall exposure level for netnslink-metrics@.*service: \([0-9.]*\).*/\1/p')
log "netnslink-metrics@.service exposure ${m_exposure:-?} (netnslinkd.service: ${exposure:-?})"
if [ -n "$m_exposure" ] && [ -n "$exposure" ] && awk -v e="$m_exposure" -v m="$exposure" 'BEGIN { exit !(e <= m) }'; then
        pass "the metrics service's exposure $m_exposure is at most the daemon's $exposure"
else
        fail "the metrics service's exposure ${m_exposure:-?} is at most the daemon's ${exposure:-?}" \
                "$(printf '%s\n' "$security" | grep '✗')"
fi

log "man pages"
for page in "${MAN_PAGES[@]}"; do
        f="$STAGE/usr/share/man/$page"
        out=$(MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
        check_eq "man -l $page renders without warnings" "" "$out"
        out=$(groff -man -ww -z "$f" 2>&1)
        check_eq "groff -man -ww $page: no warnings" "" "$out"
done
check "man finds the installed pages by name" in_installed_view man -w netnslinkd netnslinkctl netnslink-cni org.netnslink1

log "the CNI plugin"
check_eq "the installed plugin answers VERSION with the versions it speaks" \
        '{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}' \
        "$(CNI_COMMAND=VERSION "$CNI_INSTALLED" <<<'{"cniVersion":"1.1.0"}')"
# The configuration keys of the contract, each documented in netnslink-cni(8).
cni_page=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$STAGE/usr/share/man/man8/netnslink-cni.8")
for key in type links attachType name program bindings protocol prefix port label socket \
        ADD DEL CHECK STATUS GC VERSION cni.dev/valid-attachments; do
        check "netnslink-cni(8) documents '$key'" grep -qE "^\.B[RI]? $key( |$)|\"$key\"" <<<"$cni_page"
done

# Long options of a --help text, and -h.
help_options() { "$1" --help | grep -oE -- '(--[a-z][a-z-]*|(^| )-h( |,))' | tr -d ' ,' | sort -u; }
# The options the page's OPTIONS section lists (roff: \- is a dash).
man_options() {
        sed -n '/^\.SH OPTIONS/,/^\.SH [^O]/p' "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' |
                grep -oE -- '(--[a-z][a-z-]*|(^| |")-h( |,|"))' | tr -d ' ,"' | sort -u
}
# Commands of netnslinkctl --help: the two-space indented words before "Options:".
help_verbs() { "$1" --help | sed '/^Options:/,$d' | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' | sort -u; }
# Commands of the page: the first word of each .TP tag in COMMANDS.
man_verbs() {
        sed -n '/^\.SH COMMANDS/,/^\.SH [^C]/p' "$1" | awk 'tag { print; tag = 0 } /^\.TP/ { tag = 1 }' |
                sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/^\.[A-Z]* *//' -e 's/"//g' | awk '{ print $1 }' | sort -u
}
compare_lists() {
        local what=$1 a=$2 b=$3
        if [ "$a" = "$b" ]; then
                pass "$what ($(echo $a))"
        else
                fail "$what" "only in --help: $(comm -23 <(echo "$a") <(echo "$b") | xargs)" \
                        "only in the man page: $(comm -13 <(echo "$a") <(echo "$b") | xargs)"
        fi
}
compare_lists "netnslinkd --help and netnslinkd(8) list the same options" \
        "$(help_options "$NLD_INSTALLED")" "$(man_options "$STAGE/usr/share/man/man8/netnslinkd.8")"
compare_lists "netnslinkctl --help and netnslinkctl(8) list the same options" \
        "$(help_options "$CTL_INSTALLED")" "$(man_options "$STAGE/usr/share/man/man8/netnslinkctl.8")"
compare_lists "netnslinkctl --help and netnslinkctl(8) list the same commands" \
        "$(help_verbs "$CTL_INSTALLED")" "$(man_verbs "$STAGE/usr/share/man/man8/netnslinkctl.8")"
# And the commands netnslinkctl really has: an unknown one is refused
# before the bus is needed, a known one is not.
for verb in $(help_verbs "$CTL_INSTALLED"); do
        out=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent "$CTL_INSTALLED" "$verb" 2>&1)
        if [[ "$out" == *"Unknown command"* ]]; then
                fail "netnslinkctl knows '$verb' (listed in --help)" "$out"
        else
                pass "netnslinkctl knows '$verb' (listed in --help)"
        fi
done

# Without a bus, a command's own checks of its arguments still speak first,
# and a command that gets as far as the bus says which address it tried.
ctl_nobus() { DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent "$CTL_INSTALLED" "$@" 2>&1; }
while IFS='|' read -r want args; do
        # shellcheck disable=SC2086  # the arguments are words on purpose
        out=$(ctl_nobus $args) && rc=0 || rc=$?
        if [ "$rc" -ne 0 ] && [[ "$out" == *"$want"* ]]; then
                pass "netnslinkctl $args: says '$want' without a bus"
        else
                fail "netnslinkctl $args: says '$want' without a bus" "exit $rc: $out"
        fi
done <<'CASES'
needs --expect|replace blue sk_lookup web builtin:steer
Invalid program 'nocolon'|attach blue sk_lookup web nocolon
Cannot open BPF object /nonexistent.o|attach blue sk_lookup web /nonexistent.o:prog
Invalid port '99999'|bind blue s1 tcp 10.0.0.0/8 99999 lbl
Invalid PID 'xyz'|register-pid blue s1 l xyz
needs --fd=N|register blue s1 lbl
Failed to connect to the system bus (unix:path=/nonexistent)|attach blue sk_lookup web builtin:steer
Failed to connect to the system bus (unix:path=/nonexistent)|monitor
CASES

# The D-Bus API page names every method, signal and property the daemon's
# introspection data has, and every error of the contract.
api_page="$STAGE/usr/share/man/man5/org.netnslink1.5"
api_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$api_page")
for name in $(grep -oE 'org\.(netnslink1|freedesktop\.DBus)\.Error\.[A-Za-z]+' "$NL_SOURCE/src/lib/error.c" | sort -u); do
        [ "$name" = org.freedesktop.DBus.Error.Failed ] && continue
        check "org.netnslink1(5) documents $name" grep -qF "$name" <<<"$api_text"
done
for member in $(grep -ohE 'SD_BUS_(METHOD|SIGNAL|PROPERTY)[A-Z_]*\("[A-Za-z]+"' "$NL_SOURCE"/src/daemon/bus-*.c |
                sed 's/.*("\(.*\)"/\1/' | sort -u); do
        check "org.netnslink1(5) documents $member" grep -qE "(^|[^A-Za-z])$member[ (]" <<<"$api_text"
done
for key in netns netns_ino attach_type name link_id prog_id prog_name prog_tag pin_path defunct order source program_source; do
        check "org.netnslink1(5) documents link key '$key'" grep -qE "^\.B $key \(" "$api_page"
done

finish
