#!/bin/bash
# clang-tidy's bug-prone checks (.clang-tidy) over the project's C sources,
# using build/compile_commands.json. Exits non-zero if anything is found.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/compile_commands.json" ] || { echo "run scripts/build.sh $build first" >&2; exit 2; }
files=$(git ls-files 'src/*.c' 'tests/*.c' 'bench/*.c' 'fuzz/*.c' | grep -v '\.bpf\.c$')
out=$(echo "$files" | xargs -P"$(nproc)" -n8 clang-tidy -p "$build" --quiet \
        --extra-arg=-Wno-unknown-warning-option 2>/dev/null | grep -E '^/.*(warning|error):' | sort -u)
if [ -n "$out" ]; then
        echo "$out"
        echo "clang-tidy: $(echo "$out" | wc -l) finding(s)"
        exit 1
fi
echo "clang-tidy: no findings in $(echo "$files" | wc -l) files"
