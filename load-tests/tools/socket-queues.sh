#!/usr/bin/env bash
# Where a backlog sits while a benchmark runs: once a second, one line of
#   Redis's output buffers for its sharded-pub/sub subscribers (CLIENT LIST omem of clients with ssub > 0),
#   bytes Redis sent that the instances have not read (Recv-Q of their sockets to Redis),
#   bytes the instances wrote to their clients that the kernel still holds (Send-Q of the instances' sockets),
#   bytes that reached the clients and wait to be read (Recv-Q of the clients' sockets).
#
#   load-tests/tools/socket-queues.sh REDIS_PORT INSTANCE_PORTS OUT      e.g. 6391 7101,7102,7103 queues.txt
# Runs until killed. Reads `ss` and `redis-cli` only.
set -u
[ $# -eq 3 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
redis=$1 ports=$2 out=$3
: >"$out"
while sleep 1; do
  omem=$(redis-cli -p "$redis" client list 2>/dev/null | grep -E 'ssub=[1-9]' | grep -oE 'omem=[0-9]+' | cut -d= -f2 | paste -sd+ | bc)
  queues=$(ss -tnH state established | awk -v ports="$ports" -v redis="$redis" '
    BEGIN { n = split(ports, p, ","); for (i = 1; i <= n; i++) mine[p[i]] = 1 }
    { nl = split($3, l, ":"); nr = split($4, r, ":")
      if (l[nl] in mine) sendq += $2; if (r[nr] in mine) clientq += $1; if (r[nr] == redis) redisq += $1 }
    END { printf "instances_from_redis=%d instances_to_clients=%d clients_unread=%d", redisq, sendq, clientq }')
  echo "$(date +%T) redis_subscriber_buffers=${omem:-0} $queues" >>"$out"
done
