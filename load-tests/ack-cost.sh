#!/usr/bin/env bash
# What Redis:AckReplicas=1 costs on the local Redis Cluster: for each rate, runs with AckReplicas 0 and 1 interleaved
# (PAIRS of each), every run on a fresh `scripts/cluster.sh up 3 --redis-cluster`; one JSON line per run (label
# "ack=0" / "ack=1") appended to OUT. The pids passed are the instances' and the room's primary's.
#   load-tests/ack-cost.sh OUT.jsonl [PAIRS (2)] [RATES ("200 800")] [driver options]
# Driver defaults here: 300 streams, 20 s of posting after 10 s of warm-up. Uses cluster.sh's CLUSTER_* settings
# (CLUSTER_RUN_DIR defaults to .run/ack-cost here).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: load-tests/ack-cost.sh OUT.jsonl [PAIRS] [RATES] [driver options]}
pairs=${2:-2}
rates=${3:-200 800}
shift $(($# < 3 ? $# : 3))
export CLUSTER_RUN_DIR=${CLUSTER_RUN_DIR:-$root/.run/ack-cost}
export Limits__PostBurst=100000 Limits__PostsPerSecond=100000 Limits__AddressPostsPerSecond=1000000 \
  Limits__StreamsPerAddress=1000000 Limits__StreamsPerInstance=1000000
run_dir=$CLUSTER_RUN_DIR
redis_port=${CLUSTER_REDIS_PORT:-6380}
trap 'bash "$root/scripts/cluster.sh" down >/dev/null 2>&1 || true' EXIT
driver_out="$run_dir/driver"
dotnet publish "$root/load-tests/SseChat.LoadDriver/SseChat.LoadDriver.csproj" -c Release -o "$driver_out" --nologo -v quiet >&2
mkdir -p "$(dirname "$out")"

for ((pair = 1; pair <= pairs; pair++)); do
  for rate in $rates; do
    for ack in 0 1; do
      CLUSTER_ACK_REPLICAS=$ack bash "$root/scripts/cluster.sh" up 3 --redis-cluster >&2
      slot=$(redis-cli -p "$redis_port" cluster keyslot 'ssechat:{lobby}:log')
      primary=$(redis-cli -p "$redis_port" cluster nodes | awk -v slot="$slot" '$3 ~ /master/ {
        for (i = 9; i <= NF; i++) { n = split($i, r, "-"); if (n == 1) r[2] = r[1]; if (slot >= r[1] && slot <= r[2]) { split($2, a, "[:@]"); print a[2] } } }')
      urls=() pids=()
      while read -r name pid _ port; do
        [[ $name == chat* ]] && urls+=("http://127.0.0.1:$port") && pids+=("$pid")
        [ "$port" = "$primary" ] && primary_pid=$pid
      done <"$run_dir/pids"
      echo "ack-cost: pair $pair, rate $rate, ack=$ack (room's primary on $primary)" >&2
      dotnet "$driver_out/SseChat.LoadDriver.dll" --urls "$(IFS=,; echo "${urls[*]}")" --pids "$(IFS=,; echo "${pids[*]}"),$primary_pid" \
        --clients 300 --rate "$rate" --seconds 20 --warmup 10 --label "ack=$ack" "$@" | tail -n 1 | jq -c . >>"$out" || true
      bash "$root/scripts/cluster.sh" down >&2
    done
  done
done
