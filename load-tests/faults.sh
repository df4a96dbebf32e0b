#!/usr/bin/env bash
# The fault table of BENCHMARKS.md: every fault scenario RUNS times, interleaved (one run of each scenario, then the
# next round), each on a fresh local cluster from run-local.sh: 3 instances, 300 streams (100 per instance), one
# open-loop publisher posting 50 messages/s round-robin over the three, the fault 10 s into posting. Every run's JSON
# line (with its `fault` object) is appended to OUT; `node load-tests/tools/report.js faults OUT` prints the table.
#
#   load-tests/faults.sh [RUNS] [OUT.jsonl] [SCENARIO...]
#   load-tests/faults.sh 10 artifacts/faults.jsonl
#   load-tests/faults.sh 3 /tmp/kill.jsonl redis-kill
#
# Scenarios: restart-0.5 restart-3 restart-15 pause-3 redis-kill instance-kill (default: all). Redis keeps an
# append-only file, fsynced as FAULTS_AOF says (default: everysec, as compose.yaml and scripts/cluster.sh ship it).
# The servers' logs of a run that failed are kept in OUT's folder, under fault-logs/RUN-ID.
# Exit code: 0 when every run passed (nothing acknowledged lost, nothing twice), 1 otherwise.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
out=${2:-$root/artifacts/faults.jsonl}
shift 2 2>/dev/null || shift $#
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(restart-0.5 restart-3 restart-15 pause-3 redis-kill instance-kill)
aof=${FAULTS_AOF:-everysec}
mkdir -p "$(dirname "$out")"

fault_args() { # scenario -> driver fault arguments
  case "$1" in
    restart-*) echo "--fault redis-restart --fault-for ${1#restart-}" ;;
    pause-*) echo "--fault redis-pause --fault-for ${1#pause-}" ;;
    redis-kill) echo "--fault redis-kill --fault-for 3" ;;
    instance-kill) echo "--fault instance-kill --fault-for 0" ;;
    *) echo "faults.sh: unknown scenario $1" >&2; return 2 ;;
  esac
}

# One build for every run.
"$root/load-tests/run-local.sh" --instances 1 -- --clients 1 --rate 1 --seconds 1 >/dev/null 2>&1 \
  || { echo "faults.sh: the build or a first run failed; run load-tests/run-local.sh by hand to see why" >&2; exit 2; }

failed=0
for round in $(seq "$runs"); do
  for scenario in "${scenarios[@]}"; do
    args=$(fault_args "$scenario") || exit 2
    down=$(sed -n 's/.*--fault-for \([0-9.]*\).*/\1/p' <<<"$args")
    # Posting goes on 10 s after the fault ended, so the recovery is measured under load.
    seconds=$(awk -v d="$down" 'BEGIN { printf "%d", 10 + d + 10 }')
    run_id="f${round}x$RANDOM"
    logs="$(dirname "$out")/fault-logs/$run_id"
    echo "faults.sh: round $round/$runs, $scenario, run $run_id (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # shellcheck disable=SC2086 # $args is a list of flags
    if "$root/load-tests/run-local.sh" --no-build --instances 3 --redis-aof "$aof" --json-out "$out" --logs "$logs" \
      --env Logging__LogLevel__SseChat=Information -- \
      --clients 300 --rate 50 --seconds "$seconds" --warmup 5 --drain 30 --fault-at 10 $args --run-id "$run_id" \
      >/dev/null; then
      rm -rf "$logs"
    else
      failed=1
      echo "faults.sh: $scenario round $round FAILED (its JSON line is in $out, the servers' logs in $logs)" >&2
    fi
  done
done
exit "$failed"
