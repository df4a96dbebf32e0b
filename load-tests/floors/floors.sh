#!/usr/bin/env bash
# What this machine and the framework cost before any chat code runs, next to what SseChat costs (BENCHMARKS.md,
# "Floors"). Needs gcc (apt-get install gcc), python3 and the .NET SDK.
#
#   load-tests/floors/floors.sh send [RUNS]
#       CPU per delivery at scenario A's shape, 300 loopback streams x 100 frames/s, in one process: in C, one frame
#       per send() (the least one write per delivery can cost here), then Kestrel's HTTP/1.1 responses with frames
#       written and flushed by a fan-out loop and no chat code, then the same responses with each frame written as a
#       chunk straight onto the connection (as SseChat's live streams are), then the same loop on Kestrel's transport
#       with no HTTP layer, then on .NET sockets with no Kestrel (the five interleaved), then in C with two frames per
#       send().
#       With liburing-dev installed, also in C with each round's sends batched into one io_uring system call.
#   load-tests/floors/floors.sh memory [STREAMS] [--env KEY=VALUE]...
#       RSS per idle SSE stream with STREAMS (default 10,000) open, from the bottom up: .NET Sockets with no Kestrel,
#       Kestrel's socket transport alone (a connection middleware answers the stream, no HTTP layer), a bare Kestrel
#       app (one endpoint, no middleware), then SseChat.Web on its in-process bus (the --env settings go to
#       SseChat.Web only).
# Each measurement prints one JSON line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/artifacts/floors"
mkdir -p "$out"
command -v gcc >/dev/null || { echo "floors.sh: gcc is not installed (apt-get install gcc)" >&2; exit 2; }
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
await_stream() { # NAME PORT: until /events answers 200 (the stream stays open: curl's time limit ends it)
  local code=""
  for _ in $(seq 150); do
    code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$2/events" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.2
  done
  echo "floors.sh: $1 did not answer on port $2 (see $out/$1.log)" >&2
  exit 1
}

case "${1:-}" in
  send)
    runs=${2:-3}
    uring=()
    if [ -f /usr/include/liburing.h ]; then uring=(-DHAVE_URING); fi
    gcc -O2 -Wall -Wextra "${uring[@]}" -o "$out/send-floor" "$here/send-floor.c" ${uring:+-luring}
    gcc -O2 -Wall -Wextra -o "$out/drain-streams" "$here/drain-streams.c"
    dotnet publish "$here/SseChat.KestrelFloor/SseChat.KestrelFloor.csproj" -c Release -o "$out/kestrel" --nologo -v quiet >&2
    servers=()
    trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
    start_fanout() { # NAME [ARGS...]: a Kestrel floor that writes to every stream 100 times a second; sets port, pid
      local name=$1; shift
      port=$(free_port)
      (cd "$out/kestrel" && exec dotnet SseChat.KestrelFloor.dll --urls "http://127.0.0.1:$port" --FanOutRate 100 "$@") >"$out/$name.log" 2>&1 &
      pid=$!
      servers+=("$pid")
      await_stream "$name" "$port"
    }
    start_fanout kestrel-fanout; http_port=$port http_pid=$pid
    start_fanout chunks-fanout --DirectChunks true; chunks_port=$port chunks_pid=$pid
    start_fanout transport-fanout --TransportOnly true; transport_port=$port transport_pid=$pid
    start_fanout sockets-fanout --SocketsOnly true; sockets_port=$port sockets_pid=$pid
    for _ in $(seq "$runs"); do
      "$out/send-floor" 300 100 10 1
      # The same sends, queued on an io_uring and made with one system call per round (with liburing-dev).
      if [ ${#uring[@]} -gt 0 ]; then "$out/send-floor" 300 100 10 1 uring; fi
      # The first 5 s of each run are not measured (connections, JIT).
      "$out/drain-streams" "$http_port" 300 5 10 "$http_pid" | sed 's/^{/{"server":"kestrel-fanout",/'
      "$out/drain-streams" "$chunks_port" 300 5 10 "$chunks_pid" | sed 's/^{/{"server":"chunks-fanout",/'
      "$out/drain-streams" "$transport_port" 300 5 10 "$transport_pid" | sed 's/^{/{"server":"transport-fanout",/'
      "$out/drain-streams" "$sockets_port" 300 5 10 "$sockets_pid" | sed 's/^{/{"server":"sockets-fanout",/'
    done
    for _ in $(seq "$runs"); do "$out/send-floor" 300 100 10 2; done
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
    measure() { # NAME DIR DLL [ARGS...] [-- ENV...]: start, warm up, RSS, hold the streams, settle, RSS
      local name=$1 dir=$2 dll=$3 port; shift 3
      local args=()
      while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
      [ $# -gt 0 ] && shift
      port=$(free_port)
      (cd "$dir" && exec env "$@" dotnet "$dll" --urls "http://127.0.0.1:$port" "${args[@]}") >"$out/$name.log" 2>&1 &
      server=$!
      await_stream "$name" "$port"
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
    measure sockets-floor "$out/kestrel" SseChat.KestrelFloor.dll --SocketsOnly true
    measure transport-floor "$out/kestrel" SseChat.KestrelFloor.dll --TransportOnly true
    measure kestrel-floor "$out/kestrel" SseChat.KestrelFloor.dll
    # The limits meant for people are lifted: every stream comes from one address.
    measure ssechat "$out/web" SseChat.Web.dll -- ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
      Redis__Configuration= Limits__StreamsPerAddress=1000000 Limits__StreamsPerInstance=1000000 "${app_env[@]}"
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
