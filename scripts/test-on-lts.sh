#!/usr/bin/env bash
# The unit and integration suites on the current LTS lines of Node.js too, with binaries from the
# npm registry's `node` package (nothing to install system-wide). The services' child processes
# (tsx, the crash harnesses) run on the same binary, as process.execPath. The crash harnesses
# and the BFF's restart harness kill fewer times here: what they prove is not about Node's version,
# and `npm test` runs them whole.
set -euo pipefail
cd "$(dirname "$0")/.."
for version in ${LTS_VERSIONS:-24 26}; do
  echo "== The unit and integration suites on Node.js ${version}"
  node_binary="$(npx -y -p "node@${version}" node -e 'process.stdout.write(process.execPath)')"
  # First on the PATH as well, as under npx: anything that runs `node` by name gets this one.
  PATH="$(dirname "$node_binary"):$PATH" CRASH_ITERATIONS=10 DAEMON_CRASH_KILLS=3 RESTART_ITERATIONS=6 \
    NODE="$node_binary" bash scripts/unit-tests.sh
done
