#!/usr/bin/env bash
# What this machine and the framework cost before any chat code runs, next to what SseChat costs (BENCHMARKS.md,
# "Floors"). Needs gcc (apt-get install gcc), python3 and the .NET SDK.
#
#   load-tests/floors/floors.sh send [RUNS]
#       CPU per send() of scenario A's shape, 300 loopback streams x 100 frames/s, in C (one frame per send(), then
#       two): the least one write per delivery can cost here.
#   load-tests/floors/floors.sh memory [STREAMS] [--env KEY=VALUE]...
#       RSS per idle SSE stream with STREAMS (default 10,000) open: first a bare Kestrel app (one endpoint, no
#       middleware), then SseChat.Web on its in-process bus (the --env settings go to SseChat.Web only).
# Each measurement prints one JSON line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/artifacts/floors"
mkdir -p "$out"
command -v gcc >/dev/null || { echo "floors.sh: gcc is not installed (apt-get install gcc)" >&2; exit 2; }
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

case "${1:-}" in
  send)
    runs=${2:-3}
    gcc -O2 -Wall -Wextra -o "$out/send-floor" "$here/send-floor.c"
    for batch in 1 2; do
      for _ in $(seq "$runs"); do "$out/send-floor" 300 100 10 "$batch"; done
    done
    ;;
  memory)
    shift
    streams=10000
    if [[ "${1:-}" =~ ^[1-9][0-9]*$ ]]; then streams=$1; shift; fi
    app_env=()
    while [ $# -gt 0 ]; do
      case "$1" in
        --env) app_env+=("$2"); shift 2 ;;
        *) echo "floors.sh: unknown argument $1" >&2; exit 2 ;;
      esac
    done
    gcc -O2 -Wall -Wextra -o "$out/hold-streams" "$here/hold-streams.c"
    dotnet publish "$here/SseChat.KestrelFloor/SseChat.KestrelFloor.csproj" -c Release -o "$out/kestrel" --nologo -v quiet >&2
    dotnet publish "$root/SseChat.Web/SseChat.Web.csproj" -c Release -o "$out/web" --nologo -v quiet >&2
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    (( $(ulimit -n) > streams + 100 )) || { echo "floors.sh: the descriptor limit $(ulimit -n) is too low for $streams streams" >&2; exit 2; }

    server="" holder=""
    cleanup() { for p in $holder $server; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; holder="" server=""; }
    trap cleanup EXIT
    rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
    free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
    measure() { # NAME DIR DLL [ENV...]: start, warm up, RSS, hold the streams, settle, RSS
      local name=$1 dir=$2 dll=$3 port; shift 3
      port=$(free_port)
      (cd "$dir" && exec env "$@" dotnet "$dll" --urls "http://127.0.0.1:$port") >"$out/$name.log" 2>&1 &
      server=$!
      local code
      for _ in $(seq 150); do # the stream answers 200 and stays open: curl's time limit ends it
        code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port/events" || true)
        [ "$code" = 200 ] && break
        sleep 0.2
      done
      [ "$code" = 200 ] || { echo "floors.sh: $name did not answer on port $port (see $out/$name.log)" >&2; exit 1; }
      for _ in $(seq 20); do curl -s -o /dev/null -m 0.3 "http://127.0.0.1:$port/events" || true; done
      sleep 2
      local before after
      before=$(rss "$server")
      "$out/hold-streams" "$port" "$streams" 200 > "$out/hold.out" &
      holder=$!
      for _ in $(seq 600); do grep -q open "$out/hold.out" && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.5; done
      grep -q open "$out/hold.out" || { echo "floors.sh: $name did not hold $streams streams" >&2; exit 1; }
      sleep 10
      after=$(rss "$server")
      awk -v name="$name" -v n="$streams" -v b="$before" -v a="$after" 'BEGIN {
        printf "{\"server\":\"%s\",\"streams\":%d,\"rssBeforeKiB\":%d,\"rssOpenKiB\":%d,\"rssPerStreamKiB\":%.1f}\n", name, n, b, a, (a - b) / n }'
      cleanup
    }
    measure kestrel-floor "$out/kestrel" SseChat.KestrelFloor.dll
    # The limits meant for people are lifted: every stream comes from one address.
    measure ssechat "$out/web" SseChat.Web.dll ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
      Redis__Configuration= Limits__StreamsPerAddress=1000000 Limits__StreamsPerInstance=1000000 "${app_env[@]}"
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
