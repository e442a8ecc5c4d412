#!/usr/bin/env bash
# The README's main command: installs what is missing, builds the package and the demo, and
# serves it on http://127.0.0.1:${PORT:-8080}/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-pkg.sh
bash scripts/build-demo.sh
exec node scripts/serve.mjs www/dist "${PORT:-8080}"
