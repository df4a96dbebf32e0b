#!/usr/bin/env bash
# Runs the .NET load driver against a local cluster it starts itself: one redis-server and N SseChat instances
# (from `dotnet publish` output, each with its own HOME) on free loopback ports. It passes the server pids
# (instances + redis) to the driver for CPU and memory figures, and stops exactly the processes it started.
#
#   load-tests/run-local.sh [--instances N] [--env KEY=VALUE]... [--redis-aof MODE] [--no-build] [--json-out FILE] [--] DRIVER ARGS
#   load-tests/run-local.sh --instances 3 -- --clients 300 --rate 100 --seconds 30
#   load-tests/run-local.sh --instances 3 --redis-aof everysec -- --clients 300 --rate 50 --seconds 30 \
#     --fault redis-restart --fault-at 10 --fault-for 3
#
#   --instances N      SseChat instances (default 3)
#   --env KEY=VALUE    extra environment for every instance, e.g. Chat__StreamQueueCapacity=4096 (repeatable);
#                      the instances log at Warning unless --env Logging__LogLevel__Default=... says otherwise
#   --redis-aof MODE   redis-server keeps an append-only file: --appendonly yes --appendfsync MODE (everysec or
#                      always), so a restart keeps the room logs; default: no AOF (performance runs)
#   --no-build         use the previous publish output in artifacts/load/
#   --web DIR          run the instances from another publish folder of SseChat.Web (e.g. another commit's, for an
#                      interleaved comparison of two builds; implies nothing about the driver, which stays this one)
#   --json-out FILE    append the driver's JSON line to FILE
#   --logs DIR         keep the instances' and redis-server's output (after they stopped) in DIR
# Everything after the options (or after --) goes to the driver; --urls and --pids are filled in here, and with
# --fault also --redis-start (how to start redis-server again: it rewrites its /proc/PID/cmdline, so the driver cannot
# read it). A fault may leave redis-server running under a new pid (the driver started it again): the cleanup also
# shuts down whatever answers on the Redis port this script chose, and resumes a redis-server left paused.
# Exit code: the driver's (0 ok, 1 lost/duplicated/failed, 2 setup failure), or 3 when the cluster did not start.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
instances=3
build=1
web_dir=""
json_out=""
logs_dir=""
redis_aof=""
server_env=()
while [ $# -gt 0 ]; do
  case "$1" in
    --instances) instances=$2; shift 2 ;;
    --env) server_env+=("$2"); shift 2 ;;
    --redis-aof) redis_aof=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --web) web_dir=$2; shift 2 ;;
    --json-out) json_out=$2; shift 2 ;;
    --logs) logs_dir=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[[ "$instances" =~ ^[1-9][0-9]*$ ]] || { echo "run-local.sh: --instances takes a positive number" >&2; exit 2; }
case "$redis_aof" in
  ""|everysec|always) ;;
  *) echo "run-local.sh: --redis-aof takes everysec or always" >&2; exit 2 ;;
esac
fault_run=0
for arg in "$@"; do
  case "$arg" in --fault|--fault=*) fault_run=1 ;; esac
done

web_out="${web_dir:-$root/artifacts/load/web}"
driver_out="$root/artifacts/load/driver"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
if [ "$build" -eq 1 ]; then
  [ -n "$web_dir" ] || dotnet publish "$root/SseChat.Web/SseChat.Web.csproj" -c Release -o "$web_out" --nologo -v quiet >&2
  dotnet publish "$root/load-tests/SseChat.LoadDriver/SseChat.LoadDriver.csproj" -c Release -o "$driver_out" --nologo -v quiet >&2
fi
[ -f "$web_out/SseChat.Web.dll" ] && [ -f "$driver_out/SseChat.LoadDriver.dll" ] \
  || { echo "run-local.sh: no publish output in $root/artifacts/load; run without --no-build" >&2; exit 2; }
redis_bin=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$redis_bin" ] || { echo "run-local.sh: redis-server is not installed (apt-get install redis-server)" >&2; exit 2; }

# Thousands of streams need thousands of descriptors, in the driver and in each instance (they inherit this).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d /tmp/ssechat-load.XXXXXX)
started=()
redis_port=""
stop_pids() { # SIGTERM, up to 10 s to exit, then SIGKILL
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
redis_shutdown() { # port: SHUTDOWN NOSAVE to whatever redis answers there, then wait (up to 10 s) until it is gone
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
  printf 'SHUTDOWN NOSAVE\r\n' >&3
  exec 3>&-
  for _ in $(seq 100); do redis_answers "$1" || return 0; sleep 0.1; done
}
stop_started() {
  # The instances first (they unsubscribe from redis on the way out), redis-server last (resumed first, in case a
  # redis-pause fault was cut short).
  [ ${#started[@]} -gt 1 ] && stop_pids "${started[@]:1}"
  if [ ${#started[@]} -gt 0 ]; then
    kill -CONT "${started[0]}" 2>/dev/null || true
    stop_pids "${started[0]}"
  fi
  # A redis-server the driver started again after a restart fault has a pid of its own, on the port chosen here.
  [ -n "$redis_port" ] && redis_shutdown "$redis_port"
  started=()
  if [ -n "$logs_dir" ]; then
    mkdir -p "$logs_dir" && cp "$work"/*.log "$work"/*.out "$logs_dir"/ 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_started EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

redis_answers() {
  local reply=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 1 reply <&3 || true
  exec 3>&-
  [[ "$reply" == +PONG* ]]
}

redis_info_field() { # port field: a field of INFO server from whatever redis answers there
  local line value=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'INFO server\r\n' >&3
  while read -r -t 1 line <&3; do
    case "$line" in "$2":*) value=${line#*:}; value=${value%$'\r'}; break ;; esac
  done
  exec 3>&-
  echo "$value"
}

wait_until() { # seconds, description, command...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  echo "run-local.sh: $what did not come up within $seconds s" >&2
  return 1
}

redis_port=$(free_port)
mkdir -p "$work/redis"
redis_args=(--port "$redis_port" --bind 127.0.0.1 --save "" --dir "$work/redis" --daemonize no)
if [ -n "$redis_aof" ]; then
  redis_args+=(--appendonly yes --appendfsync "$redis_aof")
else
  redis_args+=(--appendonly no)
fi
"$redis_bin" "${redis_args[@]}" >"$work/redis.log" 2>&1 &
started+=($!)
redis_pid=$!
# The same command line for a fault run to start redis-server again (its output then goes to a log file of its own).
redis_start=$(printf '%q ' "$redis_bin" "${redis_args[@]}" --logfile "$work/redis-restarted.log")
fault_args=()
[ "$fault_run" -eq 1 ] && fault_args=(--redis-start "$redis_start")
wait_until 15 "redis-server on port $redis_port" redis_answers "$redis_port" || exit 3
# Another program may have taken the port between the choice and the start (another harness on this machine): the
# server that answers must be the one started here, or the run would act on someone else's Redis.
redis_owner=$(redis_info_field "$redis_port" process_id)
[ "$redis_owner" = "$redis_pid" ] || { echo "run-local.sh: port $redis_port answers for redis-server pid ${redis_owner:-?}, not $redis_pid" >&2; exit 3; }

urls=()
pids=()
names=()
prefix="load$(date +%s)"
for i in $(seq "$instances"); do
  port=$(free_port)
  home="$work/home$i"
  mkdir -p "$home"
  # The driver is one client address (and one person) posting for hundreds: the abuse limits, meant for people,
  # are lifted. --env settings come last, so they can also replace these defaults (e.g. the log level).
  names+=("$prefix-$i")
  (
    cd "$web_out"
    exec env HOME="$home" DOTNET_CLI_HOME="$home" ASPNETCORE_ENVIRONMENT=Production Instance__Name="$prefix-$i" \
      Redis__Configuration="127.0.0.1:$redis_port" Redis__KeyPrefix="$prefix" Logging__LogLevel__Default=Warning \
      Limits__PostBurst=100000 Limits__PostsPerSecond=100000 Limits__AddressPostsPerSecond=1000000 \
      Limits__StreamsPerAddress=1000000 Limits__StreamsPerInstance=1000000 \
      "${server_env[@]}" dotnet SseChat.Web.dll --urls "http://127.0.0.1:$port"
  ) >"$work/app$i.log" 2>&1 &
  started+=($!)
  pids+=($!)
  urls+=("http://127.0.0.1:$port")
done
instance_is() { # url name: the instance answering at url has this name (X-SseChat-Instance), so it is ours
  curl -sf -o /dev/null -D - "$1/healthz" | tr -d '\r' | grep -qix "x-ssechat-instance: $2"
}
for i in "${!urls[@]}"; do
  wait_until 30 "SseChat instance $((i + 1)) at ${urls[$i]}" instance_is "${urls[$i]}" "${names[$i]}" || {
    cat "$work/app$((i + 1)).log" >&2
    exit 3
  }
done

url_list=$(IFS=,; echo "${urls[*]}")
pid_list=$(IFS=,; echo "${pids[*]},$redis_pid")
echo "run-local.sh: redis pid $redis_pid port $redis_port${redis_aof:+ (aof $redis_aof)}; instances ${urls[*]} (pids ${pids[*]}); fd limit $(ulimit -n); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

status=0
dotnet "$driver_out/SseChat.LoadDriver.dll" --urls "$url_list" --pids "$pid_list" "${fault_args[@]}" "$@" | tee "$work/driver.out" || status=$?
if [ -n "$json_out" ] && [ -s "$work/driver.out" ]; then
  tail -n 1 "$work/driver.out" >>"$json_out"
fi
if [ "$status" -ne 0 ]; then
  for i in $(seq "$instances"); do
    echo "--- instance $i log (last lines)" >&2
    tail -n 20 "$work/app$i.log" >&2
  done
fi
exit "$status"
