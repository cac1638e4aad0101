#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Spare builtin:steer programs (netnslinkd --steer-spares, loader.c): loaded
# ahead with maps pinned nowhere; a new steer link takes one and pins its
# maps in its own folder, with no load of its own; the next spare loads
# after. Checked with the kernel as witness: each link's folder holds
# exactly its program's maps (steer-folders.py), its bindings steer
# traffic to a registered socket, a spare nobody took is gone with the
# daemon (SIGKILL included) and leaves no pin, and --steer-spares=0 loads
# per request.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"

FOLDERS="$NL_SOURCE/tests/daemon/steer-folders.py"

# spares_loaded N: waits (10 s) for N "Loaded a spare" lines in the log.
spares_loaded() {
        for _ in $(seq 200); do
                [ "$(grep -c "Loaded a spare builtin:steer" "$T/daemon.log")" -ge "$1" ] && return 0
                sleep 0.05
        done
        return 1
}
spare_ids() { sed -n 's/.*Loaded a spare builtin:steer: program id \([0-9]*\).*/\1/p' "$T/daemon.log"; }
taken_ids() { sed -n 's/.*New steer maps in .*: a spare program, id \([0-9]*\).*/\1/p' "$T/daemon.log"; }

check_fails "--steer-spares refuses a negative number" "expected a number from 0 to 64" "$NLD" --steer-spares=-1
check_fails "... more than 64" "expected a number from 0 to 64" "$NLD" --steer-spares=65
check_fails "... and words" "Invalid --steer-spares 'two'" "$NLD" --steer-spares=two

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
INO=$(netns_ino "$A")
check "two spares load after the start (the default)" spares_loaded 2
read -r -a SPARES <<< "$(spare_ids | tr '\n' ' ')"

FROM=$(wc -l < "$T/daemon.log")
check "an Attach of builtin:steer" "$CTL" attach "$A" sk_lookup s1 builtin:steer
check "... takes a spare" bash -c "tail -n +$((FROM + 1)) '$T/daemon.log' | grep -q 'a spare program, id'"
check "... and loads no program of its own" \
        bash -c "! tail -n +$((FROM + 1)) '$T/daemon.log' | grep -q 'Loading builtin:steer in child'"
check_eq "... its program is the spare loaded last" "${SPARES[1]}" "$(ctl_get prog_id show "$A" sk_lookup s1)"
check_eq "... and the link is listed as builtin:steer" builtin:steer "$(ctl_get source show "$A" sk_lookup s1)"
check "a second Attach takes the other spare" "$CTL" attach "$A" sk_lookup s2 builtin:steer
check "... also a spare (the other, or one loaded since)" \
        bash -c '[[ " $2 " == *" $1 "* ]]' _ "$(ctl_get prog_id show "$A" sk_lookup s2)" "$(spare_ids | tr '\n' ' ')"
check "a third, with none ready, loads its own or takes a new spare" "$CTL" attach "$A" sk_lookup s3 builtin:steer
"$CTL" --json=short list "$A" > "$T/links.json"
check "each link's folder holds exactly its program's maps, and no load's folder is left" \
        "$PY" "$FOLDERS" "$PIN_ROOT" "$INO" "$T/links.json"

# A link made from a spare steers traffic like any other.
TRAFFIC_NS=$A
check "netns $A with lo up and local prefixes" local_prefixes
check "bind on the link made from a spare" "$CTL" bind "$A" s1 tcp 10.50.1.0/24 0 web
check "a server registered on it" serve main web4,web,tcp,127.0.0.1,9000 --register "$CTL" "$A" s1
check_eq "a connection to 10.50.1.7:80 reaches that server" web4 "$(probe tcp 10.50.1.7 80)"
stop_servers

check "the spares are refilled" spares_loaded 4
read -r -a ALL <<< "$(spare_ids | tr '\n' ' ')"
read -r -a TAKEN <<< "$(taken_ids | tr '\n' ' ')"
UNTAKEN=()
for id in "${ALL[@]}"; do [[ " ${TAKEN[*]} " == *" $id "* ]] || UNTAKEN+=("$id"); done
check "... and one at least is not taken" test "${#UNTAKEN[@]}" -ge 1
check "a spare nobody took exists in the kernel while the daemon runs" bpftool prog show id "${UNTAKEN[0]}"
kill_daemon
gone() { for _ in $(seq 100); do bpftool prog show id "$1" >/dev/null 2>&1 || return 0; sleep 0.05; done; return 1; }
for id in "${UNTAKEN[@]}"; do
        check "after SIGKILL, the untaken spare $id is gone from the kernel" gone "$id"
done
check "... and it left nothing in the pin root but the links' own" \
        bash -c '! find "$1" -name "new@*" | grep -q .' _ "$PIN_ROOT"

NLD_EXTRA=--steer-spares=0
start_daemon || exit 1
FROM=$(wc -l < "$T/daemon.log")
check "with --steer-spares=0, an Attach of builtin:steer" "$CTL" attach "$A" sk_lookup s4 builtin:steer
check "... loads its own program" \
        bash -c "tail -n +$((FROM + 1)) '$T/daemon.log' | grep -q 'Loading builtin:steer in child'"
check "... and no spare is loaded" bash -c "! tail -n +$((FROM + 1)) '$T/daemon.log' | grep -q 'a spare'"
check "the links made from spares are still served after the restart" "$CTL" bindings "$A" s1
"$CTL" --json=short list "$A" > "$T/links.json"
check "... and every folder is still exactly its link's" "$PY" "$FOLDERS" "$PIN_ROOT" "$INO" "$T/links.json"
stop_daemon
finish
