#!/bin/bash
# clang-tidy's bug-prone checks (.clang-tidy) over the project's C sources,
# using build/compile_commands.json. Exits non-zero if anything is found, and
# also if it could not look: no clang-tidy, no compile database, no source
# files, or a clang-tidy run that failed (a file it could not parse, a crash).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
build=${1:-build}
command -v clang-tidy >/dev/null || { echo "clang-tidy: not found on PATH" >&2; exit 2; }
[ -f "$build/compile_commands.json" ] || { echo "run scripts/build.sh $build first" >&2; exit 2; }
# The tracked files of a checkout; in an unpacked tarball, what is there.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        mapfile -t files < <(git ls-files 'src/*.c' 'tests/*.c' 'bench/*.c' 'fuzz/*.c' | grep -v '\.bpf\.c$')
else
        mapfile -t files < <(find src tests bench fuzz -name '*.c' ! -name '*.bpf.c' | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "clang-tidy: no C sources found in $PWD" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Both streams to the log: clang-tidy says why a run failed on stderr.
# xargs exits 123 if any run exited non-zero, and 124-127 if it could not run one.
printf '%s\n' "${files[@]}" | xargs -d '\n' -P"$(nproc)" -n8 clang-tidy -p "$build" --quiet \
        --extra-arg=-Wno-unknown-warning-option >"$log" 2>&1
rc=$?
out=$(grep -E '^/.*(warning|error):' "$log" | sort -u)
if [ -n "$out" ]; then
        echo "$out"
        echo "clang-tidy: $(echo "$out" | wc -l) finding(s)"
fi
if [ $rc -ne 0 ]; then
        # What the runs said, without the counts of suppressed warnings.
        grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Use -system-headers' "$log" | tail -n 50
        echo "clang-tidy: a run failed (xargs exit status $rc)"
        exit 1
fi
[ -z "$out" ] || exit 1
echo "clang-tidy: no findings in ${#files[@]} files"
