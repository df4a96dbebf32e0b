#!/usr/bin/env bash
# A local SseChat cluster without Docker: redis-server (append-only file), N instances of the published app and
# nginx doing plain round robin on one port, from the same nginx template as compose.yaml.
#   scripts/cluster.sh up [N]    publish, start Redis + N instances + nginx, wait until all answer (N: 3)
#   scripts/cluster.sh up [N] --redis-cluster
#                                the same on a Redis Cluster: 6 redis-server (3 primaries, 1 replica each) on
#                                CLUSTER_REDIS_PORT..+5, each with its cluster bus on port + 10000
#   scripts/cluster.sh up [N] --sentinel
#                                the same on a primary (CLUSTER_REDIS_PORT), a replica (+1) and 3 sentinels (+2..+4)
#                                watching them as "ssechat"
#   scripts/cluster.sh status    what runs, and whether each instance is ready
#   scripts/cluster.sh down      stop what `up` started: the processes recorded in RUN_DIR/pids, nothing else
# Environment (all optional):
#   CLUSTER_PORT          the balancer's port (8080)           CLUSTER_REDIS_PORT   Redis's port (6380)
#   CLUSTER_BASE_PORT     instance i listens on BASE+i-1 (5001) CLUSTER_TIMEOUT     seconds `up` may wait (90)
#   CLUSTER_RUN_DIR       where everything lives (.run/cluster) CLUSTER_CONFIGURATION  build configuration (Release)
#   CLUSTER_NO_BUILD=1    publish the existing build output instead of building again
#   CLUSTER_REDIS_APPENDFSYNC  Redis's appendfsync: everysec (default; a crash of Redis's host can lose up to a
#                         second of acknowledged messages) or always (every acknowledged message is on disk)
#   CLUSTER_ACK_REPLICAS  Redis:AckReplicas of the instances with --redis-cluster or --sentinel (1: a post is
#                         acknowledged once a replica has it, so a killed primary takes no acknowledged message)
# Everything listens on 127.0.0.1. Needs dotnet, redis-server and nginx; it installs nothing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${CLUSTER_RUN_DIR:-$repo/.run/cluster}
lb_port=${CLUSTER_PORT:-8080}
redis_port=${CLUSTER_REDIS_PORT:-6380}
appendfsync=${CLUSTER_REDIS_APPENDFSYNC:-everysec}
base_port=${CLUSTER_BASE_PORT:-5001}
ack_replicas=${CLUSTER_ACK_REPLICAS:-1}
sentinel_service=ssechat
timeout=${CLUSTER_TIMEOUT:-90}
configuration=${CLUSTER_CONFIGURATION:-Release}
pids="$run_dir/pids"
logs="$run_dir/logs"
probe="$repo/deploy/healthcheck.sh"

say() { printf 'cluster: %s\n' "$*"; }
die() {
  printf 'cluster: %s\n' "$*" >&2
  exit 1
}

# "STATE STARTTIME" of a process, from /proc/PID/stat (fields 3 and 22; the name before them may hold spaces).
proc_stat() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  read -ra fields <<<"${stat##*) }"
  echo "${fields[0]} ${fields[19]}"
}

# True while PID is still the process that was started at STARTTIME (a pid reused by another program is not ours);
# a zombie has stopped.
alive() {
  local stat
  stat=$(proc_stat "$1") || return 1
  [ "${stat#* }" = "$2" ] && [ "${stat%% *}" != Z ]
}

# Starts a command detached from this shell (its own log, no terminal), in DIR, and records
# "NAME PID STARTTIME PORT" in the pids file: what `down` may stop, and how to recognise it.
spawn() {
  local name=$1 port=$2 dir=$3
  shift 3
  (cd "$dir" && exec nohup "$@" >"$logs/$name.log" 2>&1 </dev/null) &
  local pid=$!
  local stat
  stat=$(proc_stat "$pid") || die "$name exited at once; see $logs/$name.log"
  echo "$name $pid ${stat#* } $port" >>"$pids"
}

# Something listens on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until "$@" succeeds, checking that every recorded process still runs; fails after the deadline.
wait_for() {
  local what=$1 deadline=$2
  shift 2
  until "$@"; do
    while read -r name pid start _; do
      alive "$pid" "$start" || { tail -n 20 "$logs/$name.log" >&2 || true; die "$name stopped while waiting for $what (log: $logs/$name.log)"; }
    done <"$pids"
    [ "$SECONDS" -lt "$deadline" ] || die "timed out after ${timeout}s waiting for $what (logs: $logs)"
    sleep 0.2
  done
}

any_alive() {
  [ -f "$pids" ] || return 1
  local name pid start
  while read -r name pid start _; do
    alive "$pid" "$start" && return 0
  done <"$pids"
  return 1
}

find_tool() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; }; }

# Starts one redis-server NAME on PORT with its data in DIR (kept across down/up) and more arguments; waits for PONG.
start_redis() {
  local name=$1 port=$2 dir=$3
  shift 3
  local command=("$redis_server" --port "$port" --bind 127.0.0.1 --appendonly yes --appendfsync "$appendfsync" \
    --dir "$dir" --daemonize no "$@")
  mkdir -p "$dir" "$run_dir/start"
  # How to start it again as it was, in DIR (load-tests/cluster-faults.sh restarts a killed primary with it).
  printf '%q ' "${command[@]}" >"$run_dir/start/$name"
  spawn "$name" "$port" "$dir" "${command[@]}"
  wait_for "$name on port $port" "$deadline" eval '[ "$("$redis_cli" -p "$port" ping 2>/dev/null)" = PONG ]'
}

# 6 nodes with --cluster-enabled, joined by redis-cli --cluster create (3 primaries, a replica each) unless their
# nodes.conf says they were joined before; sets up's Redis:Configuration once cluster_state is ok.
up_redis_cluster() {
  local i port nodes=() dir="$run_dir/redis-cluster"
  [ -f "$dir/ports" ] && [ "$(cat "$dir/ports")" != "$redis_port" ] && rm -rf "$dir" # made on other ports: anew
  for ((i = 0; i < 6; i++)); do
    port=$((redis_port + i))
    nodes+=("127.0.0.1:$port")
    # cluster-node-timeout 2000: a dead primary's replica takes over within a few seconds; the other shards go on
    # serving meanwhile (require-full-coverage no). A primary takes writes only while its replica follows it.
    start_redis "redis$((i + 1))" "$port" "$dir/$port" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 2000 --cluster-require-full-coverage no --min-replicas-to-write 1 --min-replicas-max-lag 10
  done
  if [ ! -f "$dir/ports" ]; then
    "$redis_cli" --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$logs/cluster-create.log" 2>&1 ||
      { tail -n 20 "$logs/cluster-create.log" >&2; die "redis-cli --cluster create failed (log: $logs/cluster-create.log)"; }
    echo "$redis_port" >"$dir/ports"
  fi
  wait_for "the Redis Cluster (cluster_state:ok, every primary's replica in sync)" "$deadline" cluster_ok
  configuration=$(IFS=,; echo "${nodes[*]}")
}

cluster_ok() {
  local i
  for ((i = 0; i < 6; i++)); do
    "$redis_cli" -p $((redis_port + i)) cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    # A primary refuses writes (NOREPLICAS) until its replica has synced and acknowledges: the instances write the
    # Data Protection key ring as they start, so they wait for that, not only for the replica's connection.
    primary_ready $((redis_port + i)) || return 1
  done
}

# A replica, or a primary with the good replicas min-replicas-to-write asks for (it takes writes).
primary_ready() {
  "$redis_cli" -p "$1" info replication 2>/dev/null | tr -d '\r' |
    awk -F: '$1 == "role" { r = $2 } $1 == "min_slaves_good_slaves" { g = $2 } END { exit !(r == "slave" || g >= 1) }'
}

# A primary, a replica of it and 3 sentinels (quorum 2) that promote the replica a few seconds after the primary
# dies; sets up's Redis:Configuration. The roles are set again at each up (the sentinels' files are written anew): a
# replica promoted before the last down becomes the replica again and takes the primary's data.
up_sentinel() {
  local i port sentinels=() dir="$run_dir/sentinel"
  # A primary takes writes only while its replica follows it: a killed primary that comes back is a primary of its
  # own for about 10 s before the sentinels demote it, and would take posts that its demotion then throws away.
  local lone=(--min-replicas-to-write 1 --min-replicas-max-lag 10)
  start_redis redis1 "$redis_port" "$dir/primary" "${lone[@]}"
  start_redis redis2 $((redis_port + 1)) "$dir/replica" "${lone[@]}" --replicaof 127.0.0.1 "$redis_port"
  for ((i = 2; i < 5; i++)); do
    port=$((redis_port + i))
    sentinels+=("127.0.0.1:$port")
    mkdir -p "$dir/sentinel$((i - 1))"
    printf '%s\n' "port $port" "bind 127.0.0.1" "daemonize no" "dir $dir/sentinel$((i - 1))" \
      "sentinel monitor $sentinel_service 127.0.0.1 $redis_port 2" \
      "sentinel down-after-milliseconds $sentinel_service 1000" \
      "sentinel failover-timeout $sentinel_service 5000" >"$dir/sentinel$((i - 1))/sentinel.conf"
    spawn "sentinel$((i - 1))" "$port" "$dir/sentinel$((i - 1))" "$redis_server" "$dir/sentinel$((i - 1))/sentinel.conf" --sentinel
  done
  wait_for "the sentinels to watch the primary" "$deadline" sentinels_ok
  configuration="$(IFS=,; echo "${sentinels[*]}"),serviceName=$sentinel_service"
}

sentinels_ok() {
  local i
  for ((i = 2; i < 5; i++)); do
    # Each sentinel sees the replica and the other two (quorum needs them).
    "$redis_cli" -p $((redis_port + i)) sentinel master "$sentinel_service" 2>/dev/null |
      awk 'p == "num-slaves" { r = $0 } p == "num-other-sentinels" { o = $0 } { p = $0 } END { exit !(r == 1 && o == 2) }' || return 1
  done
  "$redis_cli" -p "$redis_port" info replication 2>/dev/null | grep -q '^connected_slaves:1' || return 1
  primary_ready "$redis_port"
}

up() {
  local count=3 mode=single arg
  for arg in "$@"; do
    case "$arg" in
      --redis-cluster) mode=cluster ;;
      --sentinel) mode=sentinel ;;
      *) [[ $arg =~ ^[1-9][0-9]?$ ]] || die "usage: cluster.sh up [N] [--redis-cluster | --sentinel]   (N: 1 to 99 instances)"
        count=$arg ;;
    esac
  done
  any_alive && die "already up (scripts/cluster.sh status); stop it first with scripts/cluster.sh down"

  local missing=() dotnet redis_server redis_cli nginx
  dotnet=$(find_tool dotnet) || missing+=("dotnet (the .NET 10 SDK)")
  redis_server=$(find_tool redis-server) || missing+=("redis-server (apt-get install redis-server)")
  redis_cli=$(find_tool redis-cli) || missing+=("redis-cli (apt-get install redis-tools)")
  nginx=$(find_tool nginx) || missing+=("nginx (apt-get install nginx)")
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]}"

  local ports=("$lb_port" "$redis_port") i
  for ((i = 0; i < count; i++)); do ports+=($((base_port + i))); done
  case "$mode" in
    cluster) for ((i = 0; i < 6; i++)); do ports+=($((redis_port + i)) $((redis_port + i + 10000))); done ;;
    sentinel) for ((i = 1; i < 5; i++)); do ports+=($((redis_port + i))); done ;;
  esac
  for i in "${ports[@]}"; do
    listening "$i" && die "port $i is in use (set CLUSTER_PORT, CLUSTER_REDIS_PORT or CLUSTER_BASE_PORT)"
  done

  # The Redis data (append-only file) outlives a down/up; the rest is made anew.
  local app="$run_dir/app" nginx_dir="$run_dir/nginx"
  rm -rf "$app" "$nginx_dir" "$logs" "$run_dir/home" "$run_dir/start" "$pids"
  mkdir -p "$app" "$nginx_dir/logs" "$nginx_dir/tmp" "$logs" "$run_dir/redis"
  : >"$pids"
  trap 'say "up failed: stopping what it started"; down >&2' EXIT

  local build=()
  [ "${CLUSTER_NO_BUILD:-0}" = 1 ] && build=(--no-build)
  say "publishing SseChat.Web ($configuration) to $app"
  "$dotnet" publish "$repo/SseChat.Web/SseChat.Web.csproj" -c "$configuration" -o "$app" "${build[@]}" --nologo \
    >"$logs/publish.log" 2>&1 || { tail -n 30 "$logs/publish.log" >&2; die "dotnet publish failed (log: $logs/publish.log)"; }

  local deadline=$((SECONDS + timeout)) configuration settings=()
  case "$mode" in
    single)
      start_redis redis "$redis_port" "$run_dir/redis"
      configuration="127.0.0.1:$redis_port"
      ;;
    cluster) up_redis_cluster ;;
    sentinel) up_sentinel ;;
  esac
  [ "$mode" = single ] || settings=(Redis__AckReplicas="$ack_replicas")

  local upstreams=() port
  for ((i = 1; i <= count; i++)); do
    port=$((base_port + i - 1))
    upstreams+=("127.0.0.1:$port")
    mkdir -p "$run_dir/home/chat$i"
    # Each instance has its own HOME, as a separate host would: only the key ring in Redis is shared.
    spawn "chat$i" "$port" "$app" env HOME="$run_dir/home/chat$i" ASPNETCORE_ENVIRONMENT=Production \
      Redis__Configuration="$configuration" "${settings[@]}" Instance__Name="chat$i" \
      "$dotnet" SseChat.Web.dll --urls "http://127.0.0.1:$port"
  done

  local conf="$nginx_dir/nginx.conf"
  "$repo/deploy/nginx/render.sh" --standalone "$(IFS=,; echo "${upstreams[*]}")" "127.0.0.1:$lb_port" >"$conf"
  local nginx_args=(-p "$nginx_dir/" -c "$conf" -e "$nginx_dir/logs/error.log")
  "$nginx" -t -q "${nginx_args[@]}" || die "nginx rejected $conf"
  spawn nginx "$lb_port" "$nginx_dir" "$nginx" "${nginx_args[@]}" -g "daemon off;"

  for ((i = 1; i <= count; i++)); do
    port=$((base_port + i - 1))
    wait_for "chat$i to be ready (http://127.0.0.1:$port/readyz)" "$deadline" bash "$probe" /readyz "$port"
  done
  wait_for "the balancer (http://127.0.0.1:$lb_port/healthz)" "$deadline" bash "$probe" /healthz "$lb_port"
  trap - EXIT

  say "up: $count instances on ports $base_port-$((base_port + count - 1)), Redis ($mode) from $redis_port, logs in $logs"
  say "open   http://127.0.0.1:$lb_port/"
  say "watch  curl -N http://127.0.0.1:$lb_port/events"
  say "stop   scripts/cluster.sh down"
}

# Stops the recorded processes whose name matches PATTERN: SIGTERM, then SIGKILL for those still running after
# a grace period. Only a pid with the recorded start time is signalled.
stop_matching() {
  local pattern=$1 grace=$2 name pid start signal deadline
  for signal in TERM KILL; do
    while read -r name pid start _; do
      [[ $name == $pattern ]] && alive "$pid" "$start" && kill "-$signal" "$pid" 2>/dev/null || true
    done <"$pids"
    deadline=$((SECONDS + grace))
    while [ "$SECONDS" -lt "$deadline" ]; do
      local running=0
      while read -r name pid start _; do
        [[ $name == $pattern ]] && alive "$pid" "$start" && running=1
      done <"$pids"
      [ "$running" = 1 ] || return 0
      sleep 0.2
    done
    [ "$signal" = KILL ] || say "some of $pattern did not stop within ${grace}s: killing them"
  done
  return 0
}

down() {
  if [ ! -f "$pids" ]; then
    say "not up (no $pids)"
    return 0
  fi
  # The balancer first (no new requests), then the instances (their last "left" notices still reach Redis),
  # then Redis.
  stop_matching nginx 10
  stop_matching 'chat*' 15
  stop_matching 'sentinel*' 10 # before the servers, so that no failover starts while they stop
  stop_matching 'redis*' 10
  local name pid start left=()
  while read -r name pid start _; do
    alive "$pid" "$start" && left+=("$name(pid $pid)")
  done <"$pids"
  [ ${#left[@]} -eq 0 ] || die "still running: ${left[*]}"
  rm -f "$pids"
  say "down"
}

status() {
  if [ ! -f "$pids" ]; then
    say "not up (no $pids)"
    return 1
  fi
  local name pid start port state healthy=0
  while read -r name pid start port; do
    if ! alive "$pid" "$start"; then
      state="stopped"
      healthy=1
    elif [[ $name == chat* ]]; then
      if bash "$probe" /readyz "$port"; then state="ready"; else state="running, not ready"; healthy=1; fi
    else
      state="running"
    fi
    printf '%-6s pid %-7s port %-5s %s\n' "$name" "$pid" "$port" "$state"
  done <"$pids"
  say "balancer: http://127.0.0.1:$lb_port/   stream: curl -N http://127.0.0.1:$lb_port/events"
  return "$healthy"
}

case "${1:-}" in
  up)
    shift
    up "$@"
    ;;
  down) down ;;
  status) status ;;
  *)
    sed -n '2,19p' "$0" >&2
    exit 2
    ;;
esac
