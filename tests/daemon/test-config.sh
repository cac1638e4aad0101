#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Declarative configuration (../shared/CONTRACT.md, netnslink.conf(5)) with
# the real daemon, bus and kernel: files under the test's own
# --config-root, applied at start, at Reload (and its dry run), at SIGHUP
# and when a netns a [Match] names appears; adds, updates, detaches;
# override and masking; a refused file; links made over D-Bus; real
# steered traffic; source = config:<path> across a SIGKILL; a simulated
# reboot (fresh bpffs, fresh netns); the attach-after-record crash point.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"

CR="$T/config"
ETC="$CR/etc/netnslink/links.d"
RUN="$CR/run/netnslink/links.d"
USR="$CR/usr/lib/netnslink/links.d"
mkdir -p "$ETC" "$RUN" "$USR"
NLD_EXTRA="--config-root=$CR"
OBJ="$TEST_BPF/libtest_progs.bpf.o"

# conf FILE NETNS TYPE NAME PROGRAM [BINDING...]: writes a file; each
# BINDING is "PROTO PREFIX PORT LABEL".
conf() {
        local file=$1 netns=$2 type=$3 name=$4 program=$5 b; shift 5
        {
                printf '[Match]\nNetns=%s\n\n[Link]\nType=%s\nName=%s\nProgram=%s\n' "$netns" "$type" "$name" "$program"
                for b in "$@"; do
                        set -- $b
                        printf '\n[Binding]\nProtocol=%s\nPrefix=%s\nPort=%s\nLabel=%s\n' "$1" "$2" "$3" "$4"
                done
        } > "$file"
}

has_link() { "$CTL" show "$1" "$2" "$3" >/dev/null 2>&1; }
no_link() { ! has_link "$@"; }
field() { ctl_get "$4" show "$1" "$2" "$3" 2>/dev/null; }
n_links() { "$CTL" --json=short list | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
bindings() {
        "$CTL" --json=short bindings "$1" "$2" | "$PY" -c '
import json, sys
print(" ".join(sorted("%s:%s:%s:%s" % (b["protocol"], b["prefix"], b["port"], b["label"]) for b in json.load(sys.stdin))))'
}
# reload [--dry-run]: netnslinkctl reload --json=short into $T/reload.json;
# returns its exit status.
reload() { "$CTL" --json=short reload "$@" > "$T/reload.json" 2>"$T/reload.err"; }
# rget KEY: a number, or for errors and changes their count, of the last reload.
rget() {
        "$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(len(v) if isinstance(v, list) else v)' "$T/reload.json" "$1"
}
# rchanges: "action netns type name" of the last reload, sorted, one per line.
rchanges() {
        "$PY" -c '
import json, sys
for c in sorted(json.load(open(sys.argv[1]))["changes"], key=lambda c: (c["action"], c["netns"], c["name"])):
    print(c["action"], c["netns"], c["attach_type"], c["name"])' "$T/reload.json"
}
# wait_for SECONDS CMD...: polls CMD every 20 ms; prints the seconds taken.
wait_for() {
        local limit=$1 start; shift
        start=$(date +%s%N)
        while ! "$@"; do
                [ $(( $(date +%s%N) - start )) -ge $((limit * 1000000000)) ] && { echo fail; return 1; }
                sleep 0.02
        done
        echo $(( ($(date +%s%N) - start) / 1000000 ))
}

start_bus && mount_pins || exit 1
A=$(make_netns a)
B=$(make_netns b)

conf "$ETC/10-web.conf" "$NS_PREFIX-*" sk_lookup web builtin:steer "tcp 10.50.1.0/24 0 www"
conf "$ETC/20-obj.conf" "$A" sk_lookup obj "$OBJ:sk_pass"
conf "$USR/30-flow.conf" "/run/netns/$B" flow_dissector flow builtin:flow

# --- At start ----------------------------------------------------------------
start_daemon || exit 1
check "at start: web in $A" has_link "$A" sk_lookup web
check "at start: web in $B (a glob)" has_link "$B" sk_lookup web
check "at start: obj in $A only" bash -c "'$CTL' show '$A' sk_lookup obj && ! '$CTL' show '$B' sk_lookup obj" 
check "at start: flow in $B (an absolute path, from /usr/lib)" has_link "$B" flow_dissector flow
check_eq "at start: web in $A has the file's binding" "tcp:10.50.1.0/24:0:www" "$(bindings "$A" web)"
check_eq "source is config:<path>" "config:$ETC/10-web.conf" "$(field "$A" sk_lookup web source)"
check_eq "source of an object link from a file is config:<path> too" "config:$ETC/20-obj.conf" \
        "$(field "$A" sk_lookup obj source)"

# --- Links made over D-Bus under other names ------------------------------------
check "attach $A sk_lookup manual over D-Bus" "$CTL" attach "$A" sk_lookup manual "$OBJ:sk_pass2"
check "attach $B sk_lookup dsteer over D-Bus" "$CTL" attach "$B" sk_lookup dsteer builtin:steer
check "bind a binding on dsteer" "$CTL" bind "$B" dsteer tcp 10.60.0.0/16 0 other

# --- Nothing to do; a dry run changes nothing ------------------------------------
check "reload with nothing to do succeeds" reload
check_eq "... and changes nothing" "0 0 0 0 0" "$(rget attached) $(rget updated) $(rget detached) $(rget bindings_changed) $(rget changes)"

PROG_OBJ=$(field "$A" sk_lookup obj prog_id)
conf "$ETC/20-obj.conf" "$A" sk_lookup obj "$OBJ:sk_pass2"
conf "$ETC/40-extra.conf" "$A" sk_lookup extra builtin:steer "udp 10.50.2.0/24 53 dns"
rm "$USR/30-flow.conf"
check "reload --dry-run" reload --dry-run
check_eq "dry run: attach extra, update obj, detach flow, set extra's bindings" \
        "attach $A sk_lookup extra
bindings $A sk_lookup extra
detach $B flow_dissector flow
update $A sk_lookup obj" "$(rchanges)"
check_eq "dry run: counts" "1 1 1 1" "$(rget attached) $(rget updated) $(rget detached) $(rget bindings_changed)"
check_eq "dry run: obj still runs its program" "$PROG_OBJ" "$(field "$A" sk_lookup obj prog_id)"
check "dry run: flow still there" has_link "$B" flow_dissector flow
check "dry run: extra not made" no_link "$A" sk_lookup extra

# --- Reload adds, updates, detaches ----------------------------------------------
check "reload" reload
check_eq "reload: the same changes" "1 1 1 1" "$(rget attached) $(rget updated) $(rget detached) $(rget bindings_changed)"
check_eq "reload: obj now runs sk_pass2" "sk_pass2" "$(field "$A" sk_lookup obj prog_name)"
check_eq "... and is still the file's" "config:$ETC/20-obj.conf" "$(field "$A" sk_lookup obj source)"
check "reload: flow detached (its file is gone)" no_link "$B" flow_dissector flow
check_eq "reload: extra made with its binding" "udp:10.50.2.0/24:53:dns" "$(bindings "$A" extra)"
check "D-Bus link manual untouched" has_link "$A" sk_lookup manual
check_eq "D-Bus link dsteer untouched, with its binding" "tcp:10.60.0.0/16:0:other" "$(bindings "$B" dsteer)"
check_eq "... and its source" "builtin:steer" "$(field "$B" sk_lookup dsteer source)"

# --- SIGHUP --------------------------------------------------------------------
rm "$ETC/40-extra.conf"
kill -HUP "$DAEMON_PID"
check "SIGHUP detaches extra (its file is gone)" wait_for 5 no_link "$A" sk_lookup extra
check "the daemon lives on after SIGHUP" daemon_alive

# --- Override and masking ------------------------------------------------------------
conf "$USR/50-ov.conf" "$A" sk_lookup ovusr "$OBJ:sk_pass"
conf "$RUN/50-ov.conf" "$A" sk_lookup ovrun "$OBJ:sk_pass"
conf "$RUN/60-mask.conf" "$A" sk_lookup masked "$OBJ:sk_pass"
check "reload with files in /run and /usr/lib" reload
check "/run/.../50-ov.conf overrides /usr/lib/.../50-ov.conf: ovrun made" has_link "$A" sk_lookup ovrun
check "... ovusr not" no_link "$A" sk_lookup ovusr
check "60-mask.conf applies before it is masked" has_link "$A" sk_lookup masked
conf "$ETC/50-ov.conf" "$A" sk_lookup ovetc "$OBJ:sk_pass"
ln -s /dev/null "$ETC/60-mask.conf"
check "reload after /etc overrides 50-ov.conf and masks 60-mask.conf" reload
check "/etc/.../50-ov.conf overrides: ovetc made" has_link "$A" sk_lookup ovetc
check "... ovrun, made by the file it overrides, detached" no_link "$A" sk_lookup ovrun
check "a masked name's link is detached" no_link "$A" sk_lookup masked
rm "$ETC/50-ov.conf" "$RUN/50-ov.conf" "$USR/50-ov.conf" "$ETC/60-mask.conf" "$RUN/60-mask.conf"
check "reload after removing them" reload

# --- A refused file stops nothing else ------------------------------------------
conf "$ETC/45-new.conf" "$A" sk_lookup new "$OBJ:sk_pass"
printf '[Match]\nNetns=%s\n\n[Link]\nType=sk_lookup\nName=bad\nColour=blue\nProgram=builtin:steer\n' "$A" > "$ETC/70-bad.conf"
check_fails "netnslinkctl reload exits 1 with a refused file, naming it" "70-bad.conf:7" "$CTL" reload
reload
check_eq "Reload's errors name it once" 1 "$(rget errors)"
check "the error names the file, the line and the key" grep -q "70-bad.conf:7.*Colour" "$T/reload.json"
check "the other files are applied: new made" has_link "$A" sk_lookup new
check "reload prints a table and the refusal on stderr" bash -c "
        '$CTL' reload > '$T/table' 2> '$T/err'; [ \$? -eq 1 ] && grep -q '70-bad.conf:7' '$T/err' &&
        grep -q '^ACTION' '$T/table' && grep -q 'error(s)' '$T/table'"
# A file refused now keeps the links it made: fix it, apply, break it again.
conf "$ETC/70-bad.conf" "$A" sk_lookup bad "$OBJ:sk_pass"
check "reload with 70-bad.conf fixed" reload
check "its link is made" has_link "$A" sk_lookup bad
echo "Junk=1" >> "$ETC/70-bad.conf"
reload
check "a file refused now leaves the links it made" has_link "$A" sk_lookup bad
rm "$ETC/70-bad.conf" "$ETC/45-new.conf"
check "reload after removing them" reload
check "their links go" bash -c "! '$CTL' show '$A' sk_lookup bad && ! '$CTL' show '$A' sk_lookup new"

# --- Two files describing one link: the first by name applies ---------------------
conf "$ETC/25-dup.conf" "$A" sk_lookup obj "$OBJ:sk_pass"
check_fails "a second file describing obj in $A is reported" "described by $ETC/20-obj.conf already" "$CTL" reload
check_eq "... and obj runs the first file's program" "sk_pass2" "$(field "$A" sk_lookup obj prog_name)"
rm "$ETC/25-dup.conf"

# --- A D-Bus change of a configured link is allowed, logged, and undone -----------
check "update the configured obj over D-Bus" "$CTL" update "$A" sk_lookup obj "$OBJ:sk_pass"
check "the daemon logs it" grep -q "Update changes sk_lookup link 'obj'.*20-obj.conf" "$T/daemon.log"
check "bind one more binding on web over D-Bus" "$CTL" bind "$A" web tcp 10.50.3.0/24 0 www
check "the daemon logs it" grep -q "AddBinding changes the bindings of link .web.*10-web.conf" "$T/daemon.log"
check "reload restores the file's state" reload
check_eq "... obj runs sk_pass2 again" "sk_pass2" "$(field "$A" sk_lookup obj prog_name)"
check_eq "... web has exactly the file's binding again" "tcp:10.50.1.0/24:0:www" "$(bindings "$A" web)"
check_eq "... counted as one update and one bindings change" "1 1" "$(rget updated) $(rget bindings_changed)"

# --- A netns made later gets its links within 1 s -------------------------------
C=$(make_netns c)
ms=$(wait_for 1 has_link "$C" sk_lookup web)
check "a netns made later matching the glob gets web within 1 s (${ms} ms)" test "$ms" != fail
check_eq "... with its binding" "tcp:10.50.1.0/24:0:www" "$(bindings "$C" web)"
ip netns add "other$$" && NETNS_MADE+=("other$$")
sleep 0.5
check "a netns no file names gets nothing" no_link "other$$" sk_lookup web

# --- Steered traffic through a configured link -----------------------------------
TRAFFIC_NS=$A
check "netns $A with local prefixes" local_prefixes
check "a server registers its socket for label www" serve main www4,www,tcp,127.0.0.1,9000 plain,-,tcp,10.50.9.9,7000 \
        --register "$CTL" "$A" web
check_eq "TCP to 10.50.1.0/24 reaches the www socket through the configured link" "www4 www4 www4" \
        "$(probe tcp 10.50.1.1 80 10.50.1.77 443 10.50.1.254 8080)"
check_eq "TCP elsewhere falls through to the kernel's lookup" "plain" "$(probe tcp 10.50.9.9 7000)"

# --- The source survives a SIGKILL -------------------------------------------------
check "attach an object program over D-Bus" "$CTL" attach "$B" sk_lookup objd "$OBJ:sk_pass"
SRC_OBJD=$(field "$B" sk_lookup objd source)
check "its source is sha256:...:sk_pass" bash -c "[[ '$SRC_OBJD' == sha256:*:sk_pass ]]"
kill_daemon
start_daemon || exit 1
check_eq "after a SIGKILL: source of web is config:<path>" "config:$ETC/10-web.conf" "$(field "$A" sk_lookup web source)"
check_eq "after a SIGKILL: source of obj is config:<path>" "config:$ETC/20-obj.conf" "$(field "$A" sk_lookup obj source)"
check_eq "after a SIGKILL: the D-Bus object link keeps its source" "$SRC_OBJD" "$(field "$B" sk_lookup objd source)"
check_eq "after a SIGKILL: the D-Bus steer link is not the configuration's" "builtin:steer" \
        "$(field "$B" sk_lookup dsteer source)"
check "after a SIGKILL: reload has nothing to do" reload
check_eq "... nothing changed" "0" "$(rget changes)"
check_invariants "pins, ListLinks and the kernel agree"
stop_servers

# --- The attach-after-record crash point ---------------------------------------------
n_configured() {
        "$CTL" --json=short list | "$PY" -c '
import json, sys
print(sum(1 for l in json.load(sys.stdin) if l["source"].startswith("config:")))'
}
CONFIGURED=$(n_configured)
conf "$ETC/80-crash.conf" "$A" sk_lookup crash "$OBJ:sk_pass"
kill_daemon
start_daemon NETNSLINK_CRASH_AT=attach-after-record >/dev/null 2>&1
wait_daemon_exit
check_eq "with attach-after-record set the daemon dies applying 80-crash.conf at start" 137 "$DAEMON_EXIT"
n_records() { bpftool -j map dump pinned "$PIN_ROOT/configs" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
check_eq "the kill left one record more than the configured links: the dropped link's" \
        "$((CONFIGURED + 1))" "$(n_records)"
start_daemon || exit 1
check "after the restart the link is made" has_link "$A" sk_lookup crash
check_eq "one configured link more" "$((CONFIGURED + 1))" "$(n_configured)"
check_eq "every record is a configured link's: the dropped link's record was pruned" "$((CONFIGURED + 1))" "$(n_records)"
check_invariants "after the crash: pins, ListLinks and the kernel agree"

# --- A reboot, simulated: a fresh bpffs and fresh netns -----------------------------
stop_daemon
umount "$PINS"
for ns in "$A" "$B" "$C"; do ip netns del "$ns"; ip netns add "$ns"; done
mount_pins
start_daemon || exit 1
check "after a reboot: web in $A again" has_link "$A" sk_lookup web
check "after a reboot: web in $C" has_link "$C" sk_lookup web
check_eq "after a reboot: web in $A with its binding" "tcp:10.50.1.0/24:0:www" "$(bindings "$A" web)"
check_eq "after a reboot: obj in $A runs sk_pass2" "sk_pass2" "$(field "$A" sk_lookup obj prog_name)"
check "after a reboot: D-Bus links are gone (nothing described them)" no_link "$A" sk_lookup manual
check_eq "after a reboot: source" "config:$ETC/10-web.conf" "$(field "$B" sk_lookup web source)"
TRAFFIC_NS=$A
check "after a reboot: local prefixes again" local_prefixes
check "after a reboot: the server registers again" serve again www4,www,tcp,127.0.0.1,9000 --register "$CTL" "$A" web
check_eq "after a reboot: traffic is steered" "www4" "$(probe tcp 10.50.1.9 80)"
stop_servers

finish
