#!/bin/bash
# Configures and builds netnslink. BUILD_DIR (default build/) and extra
# cmake arguments may be given: scripts/build.sh build-asan -DNETNSLINK_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
