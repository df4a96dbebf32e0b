#!/usr/bin/env bash
# Interleaved runs of several variants of the same load, for figures stated as medians with their range and compared
# as ratios: every round runs each variant once (in turn, the order reversed every other round, so neither always
# goes first on a machine that warms up or gets busier), each on a fresh cluster from run-local.sh. Each run's JSON
# line carries its variant's name (`label`) and is appended to OUT.
#
#   load-tests/compare.sh RUNS OUT.jsonl NAME 'RUN-LOCAL OPTIONS' [NAME 'RUN-LOCAL OPTIONS']... -- DRIVER ARGS
#   load-tests/compare.sh 4 artifacts/aof.jsonl everysec '--redis-aof everysec' always '--redis-aof always' \
#     -- --clients 300 --rate 100 --seconds 20 --warmup 20
#
# The options of a variant go to run-local.sh (e.g. --redis-aof always, --env Chat__StreamFlushDelay=0); the driver
# arguments after -- are the same for all. `node load-tests/tools/report.js compare OUT.jsonl` prints the medians.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 5 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
runs=$1
out=$2
shift 2
names=()
variants=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [ $# -ge 2 ] || { echo "compare.sh: variant $1 has no options (give '' for none)" >&2; exit 2; }
  names+=("$1")
  variants+=("$2")
  shift 2
done
[ "${1:-}" = "--" ] || { echo "compare.sh: the driver arguments follow --" >&2; exit 2; }
shift
mkdir -p "$(dirname "$out")"

"$root/load-tests/run-local.sh" --instances 1 -- --clients 1 --rate 1 --seconds 1 >/dev/null 2>&1 \
  || { echo "compare.sh: the build or a first run failed; run load-tests/run-local.sh by hand to see why" >&2; exit 2; }

status=0
for round in $(seq "$runs"); do
  order=$(seq 0 $((${#names[@]} - 1)))
  [ $((round % 2)) -eq 0 ] && order=$(echo "$order" | tac)
  for i in $order; do
    echo "compare.sh: round $round/$runs, ${names[$i]} (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # shellcheck disable=SC2086 # a variant's options are a list of words
    "$root/load-tests/run-local.sh" --no-build ${variants[$i]} --json-out "$out" -- "$@" --label "${names[$i]}" >/dev/null \
      || status=1
  done
done
exit "$status"
