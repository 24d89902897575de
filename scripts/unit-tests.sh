#!/usr/bin/env bash
# The unit and integration suites as two Vitest runs side by side, one file at a time in each:
# - the host's tests (projects `sandbox*`: the sandbox's own, and the BFF's with sandbox services
#   as processes) make this machine's users, run its Docker daemons and loop mounts, and so never
#   run beside one another;
# - everything else (the BFF in process, the page, the packages) runs beside them.
# Each run's output is printed whole once both have ended; the exit status fails if either did.
# NODE runs Vitest (and so every service the tests start) on another binary; arguments go to both.
set -uo pipefail
cd "$(dirname "$0")/.."
node="${NODE:-node}"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

"$node" node_modules/vitest/vitest.mjs run --passWithNoTests --project 'sandbox*' "$@" >"$logs/host" 2>&1 &
host=$!
"$node" node_modules/vitest/vitest.mjs run --passWithNoTests --project '!sandbox*' "$@" >"$logs/rest" 2>&1 &
rest=$!
wait "$host"
host_status=$?
wait "$rest"
rest_status=$?

echo "== The host's tests (sandbox, and the BFF with sandbox processes): exit ${host_status}"
cat "$logs/host"
echo "== Everything else: exit ${rest_status}"
cat "$logs/rest"
[ "$host_status" -eq 0 ] && [ "$rest_status" -eq 0 ]
