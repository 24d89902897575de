#!/usr/bin/env bash
# The unit and integration suites as two Vitest runs side by side, one file at a time in each:
# - the host's tests (projects `sandbox*`: the sandbox's own, and the BFF's with sandbox services
#   as processes) make this machine's users, run its Docker daemons and loop mounts, and so never
#   run beside one another;
# - everything else (the BFF in process, the page, the packages) runs beside them.
# The host's run prints as it goes; the other's output follows once it has ended. The exit status
# fails if either run failed, or if a filter matched no test file in either.
# Arguments (file filters, -t ...) go to both runs; with --project, one run does as asked.
# NODE runs Vitest (and so every service the tests start) on another binary.
set -uo pipefail
cd "$(dirname "$0")/.."
node="${NODE:-node}"
vitest=("$node" node_modules/vitest/vitest.mjs run --maxWorkers=1)

for arg in "$@"; do
  case "$arg" in --project | --project=*) exec "${vitest[@]}" "$@" ;; esac
done

logs="$(mktemp -d)"
pids=()
stop() {
  # SIGINT: Vitest then ends its runs as on Ctrl-C, its global teardown (the PostgreSQL server) included.
  pkill -INT -P $$ 2>/dev/null
  wait
  echo "== Stopped; everything else so far:"
  cat "$logs/rest"
  rm -rf "$logs"
  exit 130
}
trap stop INT TERM

# With a filter, one run may have nothing to run; both having nothing is a mistyped filter.
lenient=()
[ "$#" -gt 0 ] && lenient=(--passWithNoTests)
"${vitest[@]}" "${lenient[@]}" --project 'sandbox*' "$@" 2>&1 | tee "$logs/host" &
pids+=($!)
"${vitest[@]}" "${lenient[@]}" --project '!sandbox*' "$@" >"$logs/rest" 2>&1 &
pids+=($!)
wait "${pids[0]}"
host_status=$?
wait "${pids[1]}"
rest_status=$?

echo "== Everything else (the BFF in process, the page, the packages): exit ${rest_status}"
cat "$logs/rest"
echo "== The host's tests (sandbox, and the BFF with sandbox processes): exit ${host_status}"
status=0
[ "$host_status" -eq 0 ] && [ "$rest_status" -eq 0 ] || status=1
if [ "$#" -gt 0 ] && grep -q "No test files found" "$logs/host" && grep -q "No test files found" "$logs/rest"; then
  echo "No test file matched: $*"
  status=1
fi
rm -rf "$logs"
exit "$status"
