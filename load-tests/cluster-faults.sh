#!/usr/bin/env bash
# The primary-kill rows of the fault table: `scripts/cluster.sh up 3 --redis-cluster` (or --sentinel), then RUNS runs
# of the load driver with --fault primary-kill, each killing (SIGKILL) the primary that holds the driver's room now
# and starting it again after --fault-for (it rejoins as a replica); one JSON line per run appended to OUT. Between
# runs it waits until the room's primary has a replica again. At the end: cluster.sh down, and the servers the
# driver started again (their pids are in the JSON) are stopped too.
#   load-tests/cluster-faults.sh --redis-cluster 10 load-tests/results/DATE-faults-cluster.jsonl [driver options]
#   load-tests/cluster-faults.sh --sentinel 10 load-tests/results/DATE-faults-sentinel.jsonl [driver options]
# Driver defaults here: 60 streams, 40 msg/s, fault at 3 s for 3 s, 14 s of posting (24 s with Sentinel, which makes
# the old primary a replica about 10 s after it is back: until then no replica confirms a post). The instances run
# with Redis:AckReplicas=1 (cluster.sh's default for these variants). Uses cluster.sh's CLUSTER_* settings
# (CLUSTER_RUN_DIR defaults to .run/cluster-faults here).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
runs=${2:-}
out=${3:-}
[[ $mode == --redis-cluster || $mode == --sentinel ]] && [[ $runs =~ ^[1-9][0-9]*$ ]] && [ -n "$out" ] || {
  sed -n '2,12p' "$0" >&2
  exit 2
}
shift 3
export CLUSTER_RUN_DIR=${CLUSTER_RUN_DIR:-$root/.run/cluster-faults}
run_dir=$CLUSTER_RUN_DIR
redis_port=${CLUSTER_REDIS_PORT:-6380}
key="ssechat:{lobby}:log" # the driver posts to the lobby (Redis:KeyPrefix "ssechat")
restarted=()

finish() {
  bash "$root/scripts/cluster.sh" down || true
  local pid
  for pid in "${restarted[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${restarted[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
}

# The port of the primary that holds the driver's room now.
primary_port() {
  if [ "$mode" = --redis-cluster ]; then
    local slot
    slot=$(redis-cli -p "$redis_port" cluster keyslot "$key")
    redis-cli -p "$redis_port" cluster nodes | awk -v slot="$slot" '$3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) { n = split($i, r, "-"); if (n == 1) r[2] = r[1]; if (slot >= r[1] && slot <= r[2]) { split($2, a, "[:@]"); print a[2] } } }'
  else
    redis-cli -p $((redis_port + 2)) sentinel get-master-addr-by-name ssechat | tail -n 1
  fi
}

# True once the room's primary has a replica connected and (on a cluster) every node says the cluster is ok.
settled() {
  local port
  port=$(primary_port) && [ -n "$port" ] || return 1
  redis-cli -p "$port" info replication | grep -q '^connected_slaves:1' || return 1
  [ "$mode" = --sentinel ] || redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok'
}

wait_settled() {
  local deadline=$((SECONDS + 60))
  until settled; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "cluster-faults: the room's primary has no replica after 60 s" >&2; return 1; }
    sleep 0.5
  done
}

# One driver posts and opens every stream from one address: the instances (which inherit this) lift their abuse limits.
export Limits__PostBurst=100000 Limits__PostsPerSecond=100000 Limits__AddressPostsPerSecond=1000000 \
  Limits__StreamsPerAddress=1000000 Limits__StreamsPerInstance=1000000
bash "$root/scripts/cluster.sh" up 3 "$mode"
trap finish EXIT
driver_out="$run_dir/driver"
dotnet publish "$root/load-tests/SseChat.LoadDriver/SseChat.LoadDriver.csproj" -c Release -o "$driver_out" --nologo -v quiet >&2

label="Redis Cluster"
seconds=14
if [ "$mode" = --sentinel ]; then
  label="Sentinel"
  seconds=24
fi
mkdir -p "$(dirname "$out")"
urls=() pids=()
while read -r name pid _ port; do
  [[ $name == chat* ]] && urls+=("http://127.0.0.1:$port") && pids+=("$pid")
done <"$run_dir/pids"

for ((run = 1; run <= runs; run++)); do
  wait_settled
  port=$(primary_port)
  # The primary's pid: the one cluster.sh recorded, or the one the driver started again in an earlier run.
  pid=$(awk -v port="$port" '$4 == port { print $2 }' "$run_dir/pids")
  kill -0 "$pid" 2>/dev/null || pid=$(cat "$run_dir/restarted-$port")
  name=$(awk -v port="$port" '$4 == port { print $1 }' "$run_dir/pids")
  echo "cluster-faults: run $run of $runs: killing the primary on port $port (pid $pid)" >&2
  line=$(cd "$run_dir" && dotnet "$driver_out/SseChat.LoadDriver.dll" --urls "$(IFS=,; echo "${urls[*]}")" \
    --pids "$(IFS=,; echo "${pids[*]}"),$pid" --clients 60 --rate 40 --seconds "$seconds" --drain 8 \
    --fault primary-kill --fault-at 3 --fault-for 3 --label "$label" --redis-start "$(cat "$run_dir/start/$name")" "$@" |
    tee /dev/stderr | tail -n 1) || true
  new_pid=$(jq -r '.fault.newRedisPid // empty' <<<"$line")
  [ -n "$new_pid" ] && restarted+=("$new_pid") && echo "$new_pid" >"$run_dir/restarted-$port"
  jq -c . <<<"$line" >>"$out"
done
