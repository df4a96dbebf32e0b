#!/usr/bin/env bash
# Beside a peers.sh run (start it first, or right after): for each of the next N runs of the peers harness, Redis's
# INFO commandstats and its user and system CPU over WINDOW seconds (default 10), starting SETTLE seconds (default
# 30: past the warm-up) after that run's redis-server appeared. Appends them to OUT.
#   load-tests/tools/redis-commandstats.sh N OUT
#   e.g. REPS=1 load-tests/peers.sh APP DIR light & load-tests/tools/redis-commandstats.sh 2 stats.txt
# commandstats' usec is wall time inside each command; a script's nested calls also count under their own names.
set -u
[ $# -eq 2 ] || { sed -n '2,7p' "$0" >&2; exit 2; }
n=$1 out=$2 pid="" settle=${SETTLE:-30} window=${WINDOW:-10}
cpu() { redis-cli -p "$1" INFO cpu | tr -d '\r' | grep -E '^used_cpu_(sys|user):' | tr '\n' ' '; }
for r in $(seq "$n"); do
  prev=$pid port=""
  for _ in $(seq 300); do
    line=$(ss -ltnpH 2>/dev/null | grep '"redis-server"' | head -1)
    pid=$(grep -o 'pid=[0-9]*' <<<"$line")
    port=$(awk '{print $4}' <<<"$line" | sed 's/.*://')
    [ -n "$port" ] && [ "$pid" != "$prev" ] && break
    port=""
    sleep 1
  done
  [ -n "$port" ] || { echo "redis-commandstats.sh: no new redis-server within 300 s" >&2; exit 1; }
  echo "=== run $r port $port $(date +%T)" >> "$out"
  sleep "$settle"
  redis-cli -p "$port" CONFIG RESETSTAT > /dev/null
  before=$(cpu "$port")
  sleep "$window"
  after=$(cpu "$port")
  redis-cli -p "$port" INFO commandstats | tr -d '\r' >> "$out"
  { echo "cpu_before $before"; echo "cpu_after $after"; } >> "$out"
  redis-cli -p "$port" INFO stats | tr -d '\r' | grep -E 'total_commands|total_net_(input|output)_bytes' >> "$out"
done
