#!/usr/bin/env bash
# One instance holding N idle streams for a while: its RSS growth per stream every 15 s (does the memory stay down
# after MemoryTrim?), and where the growth sits by kind of mapping (/proc/PID/smaps before the streams and at the end).
# The streams come from the peers' driver (a page load, then /events, per client), as in BENCHMARKS.md's memory table.
#
#   load-tests/idle-memory.sh APP_DIR [STREAMS [SECONDS]] [-- KEY=VALUE ...]
#   load-tests/idle-memory.sh /tmp/pub 10000 270
#
# APP_DIR is a `dotnet publish` of SseChat.Web; KEY=VALUE after -- are extra environment for the instance (e.g.
# DOTNET_GCgen0MaxBudget=0x1000000). Needs redis-server; PEERS (default ../shared/peers, after `npm ci` there).
# Prints "seconds KiB-per-stream" lines, then the smaps table (load-tests/tools/smaps-by-kind.py).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
app=$(cd "$1" && pwd); shift
streams=${1:-10000}; [ $# -gt 0 ] && shift
seconds=${1:-270}; [ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
peers=$(cd "${PEERS:-$root/../shared/peers}" && pwd)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) redis_port=$(free_port)
work=$(mktemp -d)
ulimit -n "$(ulimit -Hn)"

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
env Redis__Configuration="127.0.0.1:$redis_port" ASPNETCORE_ENVIRONMENT=Production \
  Limits__StreamsPerAddress=100000 Limits__PostBurst=100000 Limits__PostsPerSecond=100000 Limits__AddressPostsPerSecond=1000000 \
  Logging__LogLevel__SseChat.Web.Hosting.MemoryTrim=Debug "$@" \
  dotnet "$app/SseChat.Web.dll" --contentRoot "$app" --urls "http://127.0.0.1:$port" >"$work/instance.log" 2>&1 &
app_pid=$!
driver_pid=""
trap 'kill $driver_pid $app_pid $redis_pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
sleep 1
rss() { awk '/VmRSS/ { print $2 }' "/proc/$app_pid/status"; }
cp "/proc/$app_pid/smaps" "$work/smaps.before"
before=$(rss)

(cd "$peers" && exec node driver.js --mode sse --urls "http://127.0.0.1:$port" --clients "$streams" --rate 1 --seconds 2 \
  --warmup 0 --events-path /events --post-path /messages --page-path / --field text --settle "$((seconds + 30))") \
  >/dev/null 2>"$work/driver.log" &
driver_pid=$!
until grep -q settling "$work/driver.log"; do
  kill -0 "$driver_pid" 2>/dev/null || { cat "$work/driver.log" >&2; exit 1; }
  sleep 0.5
done
start=$(date +%s)
while [ $(( $(date +%s) - start )) -le "$seconds" ]; do
  echo "$(( $(date +%s) - start )) $(( ($(rss) - before) / streams ))"
  sleep 15
done
cp "/proc/$app_pid/smaps" "$work/smaps.after"
python3 "$root/load-tests/tools/smaps-by-kind.py" "$work/smaps.before" "$work/smaps.after" "$streams"
grep -h -A1 'MemoryTrim\[4002\]' "$work/instance.log" | grep -v -e '^--' -e 'MemoryTrim' || true
rm -rf "$work"
