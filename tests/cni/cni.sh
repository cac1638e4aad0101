# SPDX-License-Identifier: LGPL-2.1-or-later
# The CNI plugin driven as a runtime drives it, for tests/cni/*.sh, sourced
# after harness.sh: CNI_* variables, the network configuration on stdin,
# the answer on stdout.

PLUGIN="$NL_BUILD/src/cni/netnslink"
# The harness's daemon serves its private socket there.
PRIVATE_SOCKET=${PRIVATE_SOCKET:-$T/private}

# cni COMMAND CONFIG [VAR=VALUE | -VAR]...: the plugin's stdout, for the
# attachment CID/eth0 in netns NS (shell variables), with CONFIG on stdin;
# VAR=VALUE sets a variable, -VAR leaves it out. The exit status is the
# plugin's.
cni() {
        local command=$1 config=$2 a
        shift 2
        local -A vars=([CNI_COMMAND]="$command" [CNI_CONTAINERID]="${CID:-}" [CNI_IFNAME]=eth0
                [CNI_NETNS]="/run/netns/${NS:-}" [CNI_PATH]=/usr/lib/cni)
        for a in "$@"; do
                if [[ $a == -* ]]; then unset "vars[${a#-}]"; else vars[${a%%=*}]=${a#*=}; fi
        done
        local -a assign=()
        for a in "${!vars[@]}"; do assign+=("$a=${vars[$a]}"); done
        env -u CNI_COMMAND -u CNI_CONTAINERID -u CNI_IFNAME -u CNI_NETNS "${assign[@]}" "$PLUGIN" <<<"$config"
}

# cni_code: the "code" of the error object on stdin ("none" if not one).
cni_code() {
        /usr/bin/python3 -c '
import json, sys
try:
    print(json.load(sys.stdin).get("code", "none"))
except Exception as e:
    print("not JSON: %s" % e)'
}

# check_cni_error DESC CODE TEXT COMMAND CONFIG [VAR...]: the plugin fails
# with the spec's error object: exit non-zero, code CODE, and TEXT in its
# msg or details.
check_cni_error() {
        local desc=$1 code=$2 text=$3 out rc=0
        shift 3
        out=$(cni "$@") || rc=$?
        if [ "$rc" -eq 0 ]; then
                fail "$desc" "the plugin succeeded: $out"
        elif [ "$(cni_code <<<"$out")" != "$code" ]; then
                fail "$desc" "expected code $code, exit $rc: $out"
        elif [[ "$out" != *"$text"* ]]; then
                fail "$desc" "expected '$text' in: $out"
        else
                pass "$desc"
        fi
}

# same_json A B: the two JSON texts are the same value.
same_json() {
        /usr/bin/python3 -c 'import json, sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' "$1" "$2"
}

# links_of SOURCE: "TYPE/NAME" of the daemon's links with that source,
# sorted, space-separated (netnslinkctl list, so through the bus).
links_of() {
        "$CTL" --json=short list | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted("%s/%s" % (l["attach_type"], l["name"]) for l in json.load(sys.stdin)
                      if l.get("source") == sys.argv[1])))' "$1"
}

# kernel_links INO: the kernel's netns links in netns INO, "ATTACH_TYPE:PROG_ID"
# sorted (bpftool: the kernel as witness, not the daemon).
kernel_links() {
        bpftool -j link show | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted("%s" % l.get("attach_type") for l in json.load(sys.stdin)
                      if l.get("type") == "netns" and str(l.get("netns_ino")) == sys.argv[1])))' "$1"
}
