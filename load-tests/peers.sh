#!/usr/bin/env bash
# SseChat beside the systems people would pick instead, one driver for all (../shared/peers: driver.js, run.sh),
# interleaved: every round runs each system once on a fresh cluster. Appends the driver's JSON lines to OUT_DIR,
# each with the 1-minute load average before the run ("load") and "idle": true / "ladder": true where they apply.
#
#   load-tests/peers.sh APP OUT_DIR [memory] [grid] [heavy] [light] [ladder] [floor]
#     APP       a `dotnet publish` folder of SseChat.Web (e.g. artifacts/load/web after run-local.sh)
#     memory    10,000 idle streams on one instance, 30 s settle        -> OUT_DIR/memory.jsonl
#     grid      3 instances, 300 x 100 and 1,500 x 100 msg/s           -> OUT_DIR/grid.jsonl
#     heavy     3 instances, 1,500 x 100 msg/s: the grid's heavy shape alone, every peer (and BEFORE) -> OUT_DIR/heavy.jsonl
#     light     3 instances, 300 x 100 msg/s: the seed, SseChat and (with BEFORE) the build before it, the light-load
#               target's shape alone, for the many rounds a 5 % difference needs here -> OUT_DIR/light.jsonl
#     ladder    3 instances, 300 clients, rising rate (SseChat, SignalR) -> OUT_DIR/ladder.jsonl; SseChat's clients
#               open a stream the server cut again with its last id, as a browser does (the driver's --sse-resume)
#     floor     3 instances, 300 x 100 msg/s: the seed, SseChat, and the least a chat on SseChat's stack can be
#               (load-tests/floors/SseChat.KestrelFloor --Redis: Kestrel and StackExchange.Redis pub/sub, no chat
#               code, SseChat's runtime settings)                     -> OUT_DIR/floor.jsonl
#   Environment: PEERS (default ../shared/peers, after `npm ci` there), REPS (rounds, default 2), BEFORE (a second
#   publish folder measured as "ssechat-before" in the memory and light parts), RATES (ladder, default "400 800 1200
#   1600 2000"), DRIVERS (driver processes per run, default 1; each JSON line says how many), RESUME (ladder: 0 keeps
#   SseChat's cut streams closed, as the other systems' clients stay; default 1), LADDER_SYSTEMS (the ladder's
#   systems, default "ssechat signalr-redis"; "ssechat ssechat-before" compares two builds with BEFORE), HEAVY_SYSTEMS
#   (the heavy part's systems, default every peer and BEFORE's build).
#   The peers' driver runs with load-tests/peers-driver/driver.patch (a cheaper SSE reader, several processes).
#
# Then: node load-tests/tools/charts.js docs/benchmarks OUT_DIR/*.jsonl
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 3 ] || { sed -n '2,25p' "$0" >&2; exit 2; }
app=$(cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
shift 2
peers=$(cd "${PEERS:-$root/../shared/peers}" && pwd)
# the harness with the cheaper SSE reader and DRIVERS=N (load-tests/peers-driver/prepare.sh), in a scratch copy
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
"$root/load-tests/peers-driver/prepare.sh" "$peers" "$copy" || exit 2
peers=$copy
before=${BEFORE:-}
ulimit -n "$(ulimit -Hn)"
lift="Limits__PostBurst=100000 Limits__PostsPerSecond=100000 Limits__AddressPostsPerSecond=1000000 Limits__StreamsPerAddress=100000"

# one run: SYSTEM OUT_FILE EXTRA_JSON run.sh-arguments... ; SYSTEM is ssechat, ssechat-before or a peer's name
run() {
  local system=$1 file=$2 extra=$3
  shift 3
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$(date +%T) $system $* (load $load)" >&2
  local dir=$app
  [ "$system" = ssechat-before ] && dir=$before
  (
    cd "$peers" || exit 2
    if [ "$system" = kestrel-redis-floor ]; then
      ./run.sh custom --mode sse --health-path / --variant "$system" \
        --server-cmd "env DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 DOTNET_TieredPGO=0 DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 dotnet $copy/floor/SseChat.KestrelFloor.dll --urls http://127.0.0.1:{PORT} --Redis {REDIS}" \
        "$@" -- --events-path /events --post-path /messages --field text --settle "${settle:-1}"
    elif [[ $system == ssechat* ]]; then
      ./run.sh custom --mode sse --health-path / --variant "$system" \
        --server-cmd "env Redis__Configuration={REDIS} ASPNETCORE_ENVIRONMENT=Production $lift dotnet $dir/SseChat.Web.dll --contentRoot $dir --urls http://127.0.0.1:{PORT}" \
        "$@" -- --events-path /events --post-path /messages --page-path / --field text --settle "${settle:-1}" ${resume:+--sse-resume}
    else
      ./run.sh "$system" "$@" -- --settle "${settle:-1}"
    fi
  ) 2>>"$out/runs.err" | grep '^{' | sed "s/^{/{\"load\":$load,\"drivers\":${DRIVERS:-1},${extra}/" >> "$file"
}

systems=(ssechat seed-socketio node-sse signalr-redis)
resume=
for part in "$@"; do
  case $part in
    memory)
      for _ in $(seq "${REPS:-2}"); do
        for s in ssechat ${before:+ssechat-before} "${systems[@]:1}"; do
          settle=30 run "$s" "$out/memory.jsonl" '"idle":true,' --instances 1 --clients 10000 --rate 1 --seconds 2 --warmup 0
        done
      done ;;
    grid)
      for shape in "300 100" "1500 100"; do
        for _ in $(seq "${REPS:-2}"); do
          for s in "${systems[@]}"; do
            run "$s" "$out/grid.jsonl" '' --instances 3 --clients "${shape% *}" --rate "${shape#* }" --seconds 20 --warmup 20
          done
        done
      done ;;
    light)
      for _ in $(seq "${REPS:-2}"); do
        for s in seed-socketio ssechat ${before:+ssechat-before}; do
          run "$s" "$out/light.jsonl" '' --instances 3 --clients 300 --rate 100 --seconds 20 --warmup 20
        done
      done ;;
    heavy)
      for _ in $(seq "${REPS:-2}"); do
        for s in ${HEAVY_SYSTEMS:-${systems[*]} ${before:+ssechat-before}}; do
          run "$s" "$out/heavy.jsonl" '' --instances 3 --clients 1500 --rate 100 --seconds 20 --warmup 20
        done
      done ;;
    ladder)
      for rate in ${RATES:-400 800 1200 1600 2000}; do
        for s in ${LADDER_SYSTEMS:-ssechat signalr-redis}; do
          resume=$([ "${RESUME:-1}" = 1 ] && [[ $s == ssechat* ]] && echo 1)
          run "$s" "$out/ladder.jsonl" "\"ladder\":true,${resume:+\"resume\":true,}" --instances 3 --clients 300 --rate "$rate" --seconds 10 --warmup 15
        done
      done ;;
    floor)
      dotnet publish "$root/load-tests/floors/SseChat.KestrelFloor/SseChat.KestrelFloor.csproj" -c Release -o "$copy/floor" \
        --nologo -v quiet >&2 || exit 2
      for _ in $(seq "${REPS:-2}"); do
        for s in seed-socketio ssechat kestrel-redis-floor; do
          run "$s" "$out/floor.jsonl" '' --instances 3 --clients 300 --rate 100 --seconds 20 --warmup 20
        done
      done ;;
    *) echo "peers.sh: unknown part $part" >&2; exit 2 ;;
  esac
done
