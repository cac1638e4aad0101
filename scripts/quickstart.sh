#!/bin/bash
# The README's first command: installs the Debian packages netnslink needs,
# builds it, and runs the demo (the daemon, two namespaces, steering and
# flow dissection, a restart that loses nothing). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== Installing Debian packages (scripts/install-deps.sh)"
scripts/install-deps.sh
echo "== Building (build/)"
scripts/build.sh build
echo "== Running the demo (scripts/demo.sh)"
exec scripts/demo.sh build
