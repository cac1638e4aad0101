#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed bash completion, loaded the way bash-completion loads it (by
# command name, from XDG_DATA_DIRS), driven in a bash subprocess: verbs,
# options, netns names, attach types, programs, and link names and labels
# asked of a real daemon on a private bus that uses the installed policy.

. "$NL_SOURCE/tests/harness/harness.sh"
. "$NL_SOURCE/tests/install/stage.sh"

stage_install || { finish; exit 1; }

# complete_line [USER] LINE: prints the completions bash would offer at the
# end of LINE, one per line, sorted. If the bash that runs the completion
# fails or writes anything to stderr (a completion function that dies leaves
# COMPREPLY empty, which must not pass for "nothing offered"), it prints
# what it got and that stderr, and returns 1.
complete_line() {
        local as=() out err rc=0
        if [ $# -gt 1 ]; then as=(setpriv --reuid="$1" --regid="$1" --clear-groups); shift; fi
        out=$("${as[@]}" env -i PATH="$STAGE/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin" XDG_DATA_DIRS="$STAGE/usr/share" \
                DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" LINE="$1" \
                bash --norc --noprofile -c '
. /usr/share/bash-completion/bash_completion
__load_completion netnslinkctl || { echo "LOAD FAILED"; exit 1; }
COMP_LINE=$LINE COMP_POINT=${#LINE}
read -ra COMP_WORDS <<<"$LINE"
[[ $LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
cur=${COMP_WORDS[COMP_CWORD]}
$(complete -p netnslinkctl | sed -n "s/.* -F \([^ ]*\) .*/\1/p") netnslinkctl "${cur##*[=:]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf "%s\n" "${COMPREPLY[@]}"' 2>"$T/complete.err") || rc=$?
        err=$(cat "$T/complete.err")
        sort <<<"$out"
        if [ $rc -ne 0 ] || [ -n "$err" ]; then
                printf 'completion bash exited %d; its stderr: %s\n' "$rc" "$err"
                return 1
        fi
}

# fail_with DESC TEXT: fail, with each non-empty line of TEXT as a comment.
fail_with() { local lines; mapfile -t lines < <(grep -v '^$' <<<"$2"); fail "$1" "${lines[@]}"; }

# check_completes DESC LINE EXPECTED...: the completions are exactly EXPECTED.
check_completes() {
        local desc=$1 line=$2; shift 2
        local got want
        got=$(complete_line "$line") || { fail_with "$desc: '$line'" "$got"; return 0; }
        got=$(xargs <<<"$got")
        want=$(printf '%s\n' "$@" | sort | xargs)
        check_eq "$desc: '$line'" "$want" "$got"
}

# check_offers DESC LINE WORD...: the completions include every WORD.
check_offers() {
        local desc=$1 line=$2; shift 2
        local got w missing=()
        got=$(complete_line "$line") || { fail_with "$desc: '$line'" "$got"; return 0; }
        for w in "$@"; do grep -qxF -- "$w" <<<"$got" || missing+=("$w"); done
        if [ ${#missing[@]} -eq 0 ]; then pass "$desc: '$line'"; else fail "$desc: '$line'" "missing: ${missing[*]}" "got: $(xargs <<<"$got")"; fi
}

log "loading"
out=$(env -i XDG_DATA_DIRS="$STAGE/usr/share" bash --norc --noprofile -c \
        '. /usr/share/bash-completion/bash_completion; __load_completion netnslinkctl; complete -p netnslinkctl' 2>&1)
check_eq "bash-completion loads the installed file by command name" "complete -F _netnslinkctl netnslinkctl" "$out"

log "verbs and options (no daemon needed)"
mapfile -t verbs < <("$CTL_INSTALLED" --help | sed '/^Options:/,$d' | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p')
check_completes "every command of --help" "netnslinkctl " "${verbs[@]}"
check_completes "commands by prefix" "netnslinkctl reg" register register-pid
check_completes "commands after an option" "netnslinkctl --json=short d" destinations detach
mapfile -t opts < <("$CTL_INSTALLED" --help | sed -n '/^Options:/,$p' | grep -oE -- '--[a-z][a-z-]*=?')
check_completes "every option of --help" "netnslinkctl --" "${opts[@]}"
check_completes "--json= modes" "netnslinkctl --json=" short pretty
check_completes "--json= modes by prefix" "netnslinkctl --json=p" pretty
check_completes "--json MODE as a separate word" "netnslinkctl --json " short pretty
check_completes "attach types" "netnslinkctl show blue " flow_dissector sk_lookup
check_completes "protocols" "netnslinkctl bind blue web " tcp udp
check_completes "built-in programs after the colon" "netnslinkctl attach blue sk_lookup web builtin:" flow steer
check_offers "programs: built-ins and files" "netnslinkctl attach blue sk_lookup web " builtin:steer builtin:flow
check_completes "nothing past the last argument" "netnslinkctl show blue sk_lookup web "
check_completes "monitor takes no argument" "netnslinkctl monitor "

log "netns names from /run/netns"
ns1=$(make_netns red)
ns2=$(make_netns green)
check_offers "netns names and pid:" "netnslinkctl list " "$ns1" "$ns2" pid:
check_completes "netns names by prefix" "netnslinkctl list ${ns1%-red}-g" "$ns2"
check_offers "pid: completes process ids" "netnslinkctl list pid:" "$$"

log "link names and labels from the daemon"
# The daemon is not running yet: nothing is offered, nothing printed, fast.
start=$(date +%s)
check_completes "no daemon: no link names" "netnslinkctl show $ns1 sk_lookup "
check "no daemon: completion returns within 3 s" test $(($(date +%s) - start)) -le 3

start_bus "$POLICY"
mount_pins
start_daemon
check "attach web (sk_lookup, builtin:steer)" "$CTL" attach "$ns1" sk_lookup web builtin:steer
check "attach extra (sk_lookup, builtin:steer)" "$CTL" attach "$ns1" sk_lookup extra builtin:steer
check "attach other (sk_lookup, a program from a file)" "$CTL" attach "$ns1" sk_lookup other "$TEST_BPF/libtest_progs.bpf.o:sk_pass"
check "attach flow (flow_dissector)" "$CTL" attach "$ns1" flow_dissector flow builtin:flow
check "bind a label" "$CTL" bind "$ns1" web tcp 127.0.0.0/24 0 site
check_completes "sk_lookup link names" "netnslinkctl show $ns1 sk_lookup " extra other web
check_completes "flow_dissector link names" "netnslinkctl detach $ns1 flow_dissector " flow
check_completes "link names by prefix" "netnslinkctl update $ns1 sk_lookup w" web
check_completes "builtin:steer links only, for steering commands" "netnslinkctl bindings $ns1 " extra web
check_completes "labels of a steer link" "netnslinkctl unregister $ns1 web " site
check_completes "no links in another netns" "netnslinkctl show $ns2 sk_lookup "
# A non-root user gets link names too: the policy lets everyone read.
if got=$(complete_line 65534 "netnslinkctl show $ns1 sk_lookup "); then
        check_eq "as nobody: sk_lookup link names" "extra other web" "$(xargs <<<"$got")"
else
        fail_with "as nobody: sk_lookup link names" "$got"
fi

finish
