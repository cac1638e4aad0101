#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer harnesses (clang, -DNETNSLINK_FUZZ=ON, ASan+UBSan) in
# their own build folder and runs each for a set time, starting from the
# committed seeds (fuzz/corpus/<harness>/) and a work corpus that grows
# between runs (fuzz/corpus-work/<harness>/, not committed). Prints, per
# harness: executions, new corpus entries, findings. A finding is saved in
# fuzz/corpus-work/<harness>-findings/; after the fix, commit it as a seed.
#
#   fuzz/run-fuzzers.sh [-t SECONDS] [-j PARALLEL] [-b BUILD_DIR] [HARNESS...]
#
# -t   seconds per harness (default 60, or $FUZZ_TIME)
# -j   harnesses run at the same time (default 1, or $FUZZ_JOBS)
# -b   build folder (default build-fuzz, or $FUZZ_BUILD_DIR)
# Runs as root: the pin-tree, bus-message and prog-elf harnesses need BPF
# and private mount/network namespaces. Exit status 1 if anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."

time_per=${FUZZ_TIME:-60}
jobs=${FUZZ_JOBS:-1}
build=${FUZZ_BUILD_DIR:-build-fuzz}
while getopts "t:j:b:h" opt; do
        case $opt in
        t) time_per=$OPTARG ;;
        j) jobs=$OPTARG ;;
        b) build=$OPTARG ;;
        *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
        esac
done
shift $((OPTIND - 1))

all=$(sed -n 's/^set(FUZZ_HARNESSES \(.*\))$/\1/p' fuzz/CMakeLists.txt)
harnesses=${*:-$all}

echo "== Building the fuzzers in $build/ (clang, NETNSLINK_FUZZ=ON)"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DNETNSLINK_FUZZ=ON -DBUILD_TESTING=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for h in $harnesses; do targets+=(--target "fuzz-$h"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=fuzz/corpus-work
mkdir -p "$work"

# Runs one harness for time_per seconds in total; after a finding it starts
# again (libFuzzer stops at the first) until the time is used up.
run_one() {
        local h=$1 bin=$build/fuzz/fuzz-$1 corpus=$work/$1 found=$work/$1-findings
        local log=$work/$1.log end=$(( $(date +%s) + time_per )) left runs=0
        mkdir -p "$corpus" "$found"
        : >"$log"
        while left=$(( end - $(date +%s) )) && (( left > 0 && runs < 50 )); do
                runs=$((runs + 1))
                # -timeout: one input that takes longer is a finding (a hang).
                nice -n 10 "$bin" -max_total_time="$left" -print_final_stats=1 -timeout=30 \
                        -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$found/" \
                        "$corpus" "fuzz/corpus/$h" >>"$log" 2>&1 || true
        done
        local execs new findings
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
        new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | awk '{s+=$1} END {print s+0}')
        findings=$(find "$found" -type f | wc -l)
        printf '%s %s %s %s\n' "$h" "$execs" "$new" "$findings" >"$work/$h.result"
}

echo "== Running each harness for ${time_per}s ($jobs at a time; logs in $work/)"
running=0
for h in $harnesses; do
        run_one "$h" &
        running=$((running + 1))
        if (( running >= jobs )); then
                wait -n || true
                running=$((running - 1))
        fi
done
wait

status=0
printf '\n%-14s %12s %10s %12s %9s\n' harness executions exec/s new-entries findings
for h in $harnesses; do
        read -r _ execs new findings <"$work/$h.result"
        printf '%-14s %12s %10s %12s %9s\n' "$h" "$execs" $((execs / time_per)) "$new" "$findings"
        if (( findings > 0 )); then
                status=1
                find "$work/$h-findings" -type f | sed 's/^/    /'
        fi
done
exit $status
